//! promsd: Prometheus-compatible service discovery as a daemon.
//!
//! # Layout
//! - `common`: value types every room shares (durations, secrets, HTTP client settings).
//! - `daemon`: `promsd run`, the engine, pipeline and HTTP server wired together.
//! - `discovery`: one module per mechanism and the registry of `*_sd_configs` keys.
//! - `relabel`: relabel rules and target population, exactly as Prometheus.
//! - `shard`: assignment of targets to scrapers (rendezvous hashing).
//! - `server`: the HTTP server, the targets pipeline and the file SD output.

pub mod common;
pub mod daemon;
pub mod discovery;
pub mod logging;
pub mod relabel;
pub mod server;
pub mod shard;
