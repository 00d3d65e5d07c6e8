//! Value types every room of promsd shares: Prometheus durations, secrets, Go's YAML shapes
//! (inline keys, YAML 1.1 booleans), the HTTP client settings (TLS, proxy and OAuth2 each in its
//! own module, composed by `http_config`) and the client built from them.

pub mod duration;
pub mod http_client;
pub mod http_config;
pub mod inline;
pub mod jwt;
pub mod oauth2_config;
pub mod proxy_config;
pub mod secret;
pub mod tls;
pub mod tls_config;
pub mod yaml11;

pub use duration::Duration;
pub use secret::Secret;
