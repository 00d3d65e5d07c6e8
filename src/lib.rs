//! promsd: Prometheus-compatible service discovery as a daemon.
//!
//! # Layout
//! - `common`: value types every room shares (durations, secrets, HTTP client settings).
//! - `discovery`: one module per mechanism and the registry of `*_sd_configs` keys.
//! - `relabel`: relabel rules and target population, exactly as Prometheus.

pub mod cli;
pub mod common;
pub mod config;
pub mod discovery;
pub mod relabel;
