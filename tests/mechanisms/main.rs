//! The discovery mechanisms against real servers or fixtures of their APIs, one module each,
//! in one test binary.

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "sd-kuma")]
mod kuma;
#[cfg(feature = "sd-zookeeper")]
mod zookeeper;
