//! Every discovery mechanism against a fixture of its real API, one module each.

#[cfg(feature = "sd-aws")]
mod aws;
