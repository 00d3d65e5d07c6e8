//! Getting started: driving real discovery from an integration test.
//!
//! A test writes real files (or runs a real server), loads a `prometheus.yml` that points at
//! them, and waits for conditions with a deadline, never by sleeping:
//! - [`Engine::snapshots`](promsd_actors::Engine::snapshots)' `wait_for` for targets;
//! - `promsd_actors::testing::wait_for_status` (the engine crate's `testing` feature) for a
//!   provider's status, e.g. an error recorded;
//! - `promsd_actors::testing` also has a discoverer fed by a channel and a recording subscriber,
//!   to test what consumes the engine without any mechanism.
//!
//! ```
//! # #[tokio::main] async fn main() {
//! use std::time::Duration;
//! use promsd_actors::testing::wait_for_status;
//! use promsd_actors::{Engine, ManagerOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let targets = dir.path().join("targets.json");
//! std::fs::write(&targets, r#"[{"targets": ["10.0.0.1:9100"]}]"#).unwrap();
//! let yaml = "scrape_configs: [{job_name: files, file_sd_configs: [{files: [targets.json]}]}]";
//! let loaded = promsd::embed::load_str(yaml, &dir.path().join("prometheus.yml"), dir.path()).unwrap();
//!
//! let engine = Engine::start(ManagerOptions {
//!     interval: Duration::from_millis(50), // quick broadcasts for a test
//!     ..ManagerOptions::default()
//! })
//! .unwrap();
//! engine.apply(loaded.jobs()).await.unwrap();
//! let deadline = Duration::from_secs(30);
//!
//! // The targets arrive:
//! let snapshot = tokio::time::timeout(deadline, engine.ready()).await.unwrap().unwrap();
//! assert_eq!(loaded.final_targets(&snapshot)["files"].len(), 1);
//!
//! // A broken file is an error recorded on the provider; the last good state stands:
//! std::fs::write(&targets, "not json").unwrap();
//! let statuses = wait_for_status(engine.manager(), deadline, |s| s[0].last_error.is_some())
//!     .await
//!     .unwrap();
//! assert!(statuses[0].last_error.as_ref().unwrap().message().contains("targets.json"));
//! assert_eq!(engine.snapshot().target_count(), 1);
//! engine.shutdown().await;
//! # }
//! ```
