//! promsd: Prometheus-compatible service discovery as a daemon.
//!
//! # Layout
//! - `cli`: the command line (`check config`, `check service-discovery`, `run`).
//! - `common`: value types every room shares (durations, secrets, HTTP client settings and client).
//! - `config`: the `prometheus.yml` model and loader, with positioned errors.
//! - `daemon`: `promsd run`, the engine, pipeline and HTTP server wired together.
//! - `diff`: `promsd diff`, what a config change does to the targets.
//! - `discovery`: one module per mechanism and the registry of `*_sd_configs` keys.
//! - `notify`: Alertmanager discovery, as Prometheus' notifier reads its discovery manager.
//! - `plan`: from a loaded config to the engine's jobs and each job's relabeling pipeline.
//! - `relabel`: relabel rules and target population, exactly as Prometheus.
//! - `shard`: assignment of targets to scrapers (jump consistent hash).
//! - `server`: the HTTP server, the targets pipeline and the file SD output.
//! - `version`: what `promsd --version` and `promsd_build_info` say about the build.

pub mod cli;
pub mod common;
pub mod config;
pub mod daemon;
pub mod diff;
pub mod discovery;
pub mod logging;
pub mod notify;
pub mod plan;
pub mod relabel;
pub mod server;
pub mod shard;
pub mod version;
