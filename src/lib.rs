//! promsd: Prometheus-compatible service discovery as a daemon, and as a library.
//!
//! # Layout
//! - `embed`: the library's front door: a `prometheus.yml` into the engine's jobs, discovered
//!   groups into final labels as the daemon computes them.
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

// The daemon's part (feature `daemon`, on by default): command line, HTTP server, logging.
#[cfg(feature = "daemon")]
pub mod cli;
pub mod common;
pub mod config;
#[cfg(feature = "daemon")]
pub mod daemon;
#[cfg(feature = "daemon")]
pub mod diff;
pub mod discovery;
pub mod embed;
#[cfg(feature = "daemon")]
pub mod logging;
#[cfg(feature = "daemon")]
pub mod notify;
pub mod plan;
pub mod relabel;
#[cfg(feature = "daemon")]
pub mod server;
pub mod shard;
#[cfg(feature = "daemon")]
pub mod version;
