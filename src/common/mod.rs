//! Value types every room of promsd shares: Prometheus durations, secrets, and (later) the
//! HTTP client settings and the client built from them.

pub mod duration;
pub mod http_client;
pub mod http_config;
pub mod secret;
pub mod tls;

pub use duration::Duration;
pub use secret::Secret;
