//! An actix-web server that embeds the discovery engine with real mechanisms: it loads a
//! `prometheus.yml` (`promsd::embed::load`), runs its jobs' discovery in a `ManagerActor` inside
//! the server's own actix system, keeps the newest snapshot through a subscriber actor, and
//! serves:
//! - `GET /discovered`: the snapshot in its lossless JSON form: every group with each target's
//!   own labels (Kubernetes, Consul, Docker and the cloud mechanisms put their `__meta_*`
//!   labels on targets, which Prometheus' group shape would lose);
//! - `GET /targets`: every job's kept targets with their final labels, relabeled as
//!   `promsd run` does.
//!
//! Run: `cargo run --example embedded_server -- examples/prometheus.yml 127.0.0.1:9098` then
//! `curl -s localhost:9098/targets` and `curl -s localhost:9098/discovered`.

use std::sync::Arc;

use actix::prelude::*;
use actix_web::{web, App, HttpResponse, HttpServer};
use promsd::embed::Loaded;
use promsd_actors::{ApplyConfig, ManagerActor, ManagerOptions, Snapshot, Subscribe, SyncTargets};
use tokio::sync::watch;

/// Keeps the newest snapshot where the HTTP handlers can read it.
struct LatestSnapshot(watch::Sender<Arc<Snapshot>>);

impl Actor for LatestSnapshot {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for LatestSnapshot {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        self.0.send_replace(msg.snapshot);
    }
}

struct State {
    loaded: Loaded,
    latest: watch::Receiver<Arc<Snapshot>>,
}

/// Everything discovered, losslessly (`Snapshot`'s `Serialize`).
async fn discovered(state: web::Data<State>) -> HttpResponse {
    let snapshot = state.latest.borrow().clone();
    HttpResponse::Ok().json(&*snapshot)
}

/// Final labels of every kept target, by job.
async fn targets(state: web::Data<State>) -> HttpResponse {
    let snapshot = state.latest.borrow().clone();
    HttpResponse::Ok().json(state.loaded.final_targets(&snapshot))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let config = args
        .next()
        .unwrap_or_else(|| "examples/prometheus.yml".to_owned());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9098".to_owned());
    let loaded = promsd::embed::load(&config).map_err(std::io::Error::other)?;

    let manager = ManagerActor::new(ManagerOptions::default()).start();
    let (tx, latest) = watch::channel(Arc::new(Snapshot::default()));
    // The subscription keeps the subscriber alive and subscribed while it is held.
    let _subscription = manager
        .send(Subscribe(LatestSnapshot(tx).start().recipient()))
        .await
        .expect("manager running");
    let outcome = manager
        .send(ApplyConfig {
            jobs: loaded.jobs(),
        })
        .await
        .expect("manager running");
    for (job, mechanism, error) in &outcome.failed {
        eprintln!("job {job}: cannot start {mechanism} discovery: {error}");
    }

    println!("serving http://{listen}/targets and http://{listen}/discovered from {config}");
    let state = web::Data::new(State { loaded, latest });
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/targets", web::get().to(targets))
            .route("/discovered", web::get().to(discovered))
    })
    .bind(&listen)?
    .run()
    .await
}
