//! Getting started: plain tokio (axum, hyper, tonic, ...), no actix in sight.
//!
//! [`Engine`](promsd_actors::Engine) runs the engine on a thread of its own and hands out a
//! `tokio::sync::watch` of snapshots and a `futures::Stream` of snapshots with deltas, as
//! kube-runtime hands out a store and a watcher stream. Applying the jobs of a reloaded file
//! keeps the providers whose config did not change.
//!
//! ```
//! use futures::StreamExt;
//! use promsd_actors::{Delta, Engine, ManagerOptions};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let loaded = promsd::embed::load_str(
//!         "scrape_configs: [{job_name: node, static_configs: [{targets: ['10.0.0.1:9100']}]}]",
//!         "prometheus.yml".as_ref(),
//!         ".".as_ref(),
//!     )?;
//!     let engine = Engine::start(ManagerOptions::default())?;
//!     let mut updates = engine.updates().await?; // snapshots with deltas, from now on
//!     engine.apply(loaded.jobs()).await?;
//!
//!     // The watch: wait until every job has answered (bound it with a timeout in real code).
//!     let snapshot = engine.ready().await?;
//!     let targets = loaded.final_targets(&snapshot);
//!     assert_eq!(targets["node"][0].get("instance"), Some("10.0.0.1:9100"));
//!
//!     // The stream: the first item is the whole state, later ones say what changed.
//!     let first = updates.next().await.unwrap();
//!     assert_eq!(*first.delta, Delta::Full);
//!
//!     // An axum handler would hold `engine.snapshots()` (a `watch::Receiver`) in its state and
//!     // `borrow()` the newest snapshot per request.
//!     let snapshots = engine.snapshots();
//!     assert_eq!(snapshots.borrow().job_count(), 1);
//!     engine.shutdown().await;
//!     Ok(())
//! }
//! ```
