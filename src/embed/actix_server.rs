//! Getting started: the engine inside an actix-web server.
//!
//! The engine's [`ManagerActor`](promsd_actors::ManagerActor) runs in the server's own actix
//! system. A subscriber actor keeps the newest snapshot where handlers read it; the
//! [`Subscription`](promsd_actors::Subscription) it gets back keeps it subscribed (and alive)
//! while it is held. Handlers turn the snapshot into final labels with
//! [`Loaded::final_targets`](super::Loaded::final_targets), or serve it as is: a
//! [`Snapshot`](promsd_actors::Snapshot) serializes losslessly (every target's own labels).
//! `examples/embedded_server.rs` is the same, serving a real `prometheus.yml` on a socket.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use actix::prelude::*;
//! use actix_web::{test, web, App, HttpResponse};
//! use promsd::embed::Loaded;
//! use promsd_actors::{ApplyConfig, ManagerActor, ManagerOptions, Snapshot, Subscribe, SyncTargets};
//! use tokio::sync::watch;
//!
//! /// Keeps the newest snapshot for the handlers.
//! struct Latest(watch::Sender<Arc<Snapshot>>);
//! impl Actor for Latest {
//!     type Context = Context<Self>;
//! }
//! impl Handler<SyncTargets> for Latest {
//!     type Result = ();
//!     fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
//!         self.0.send_replace(msg.snapshot);
//!     }
//! }
//!
//! struct State {
//!     loaded: Loaded,
//!     latest: watch::Receiver<Arc<Snapshot>>,
//! }
//!
//! /// Every job's kept targets with their final labels.
//! async fn targets(state: web::Data<State>) -> HttpResponse {
//!     let snapshot = state.latest.borrow().clone();
//!     HttpResponse::Ok().json(state.loaded.final_targets(&snapshot))
//! }
//!
//! #[actix_web::main]
//! async fn main() {
//!     let loaded = promsd::embed::load_str(
//!         "scrape_configs: [{job_name: node, static_configs: [{targets: ['10.0.0.1:9100']}]}]",
//!         "prometheus.yml".as_ref(),
//!         ".".as_ref(),
//!     )
//!     .unwrap();
//!     let manager = ManagerActor::new(ManagerOptions::default()).start();
//!     let (tx, mut latest) = watch::channel(Arc::new(Snapshot::default()));
//!     // Keep the subscription as long as the server runs: dropping it unsubscribes.
//!     let _subscription = manager
//!         .send(Subscribe(Latest(tx).start().recipient()))
//!         .await
//!         .unwrap();
//!     manager.send(ApplyConfig { jobs: loaded.jobs() }).await.unwrap();
//!
//!     let state = web::Data::new(State { loaded, latest: latest.clone() });
//!     let app = test::init_service(
//!         App::new().app_data(state).route("/targets", web::get().to(targets)),
//!     )
//!     .await;
//!     // (A real server: `HttpServer::new(...).bind(...)?.run().await`.) Wait for discovery:
//!     let found = latest.wait_for(|s| s.target_count() > 0);
//!     tokio::time::timeout(Duration::from_secs(30), found).await.unwrap().unwrap();
//!     let body: serde_json::Value =
//!         test::call_and_read_body_json(&app, test::TestRequest::get().uri("/targets").to_request())
//!             .await;
//!     assert_eq!(body["node"][0]["instance"], "10.0.0.1:9100");
//!     assert_eq!(body["node"][0]["job"], "node");
//! }
//! ```
