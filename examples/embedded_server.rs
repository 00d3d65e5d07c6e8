//! An actix-web server that embeds the discovery engine: it runs a `ManagerActor` inside its own
//! actix system, keeps the latest snapshot through a subscriber actor, and serves the current
//! targets as JSON at `GET /targets`.
//!
//! Run: `cargo run --example embedded_server -- 127.0.0.1:9099` then
//! `curl -s localhost:9099/targets`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use actix_web::{web, App, HttpResponse, HttpServer};
use promsd::discovery::static_sd::StaticConfig;
use promsd_actors::{
    ApplyConfig, DiscoveryConfig, LabelSet, ManagerActor, ManagerOptions, Snapshot, Subscribe,
    SyncTargets, TargetGroup,
};

/// Keeps the newest snapshot where the HTTP handlers can read it.
struct LatestSnapshot(Arc<RwLock<Arc<Snapshot>>>);

impl Actor for LatestSnapshot {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for LatestSnapshot {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        *self.0.write().unwrap() = msg.snapshot;
    }
}

async fn targets(latest: web::Data<Arc<RwLock<Arc<Snapshot>>>>) -> HttpResponse {
    let snapshot = latest.read().unwrap().clone();
    let body: BTreeMap<&str, Vec<&TargetGroup>> = snapshot
        .jobs()
        .map(|(job, targets)| (&**job, targets.groups().map(|(_, g)| &**g).collect()))
        .collect();
    HttpResponse::Ok().json(body)
}

fn demo_jobs() -> ApplyConfig {
    let node = StaticConfig::new(vec![TargetGroup::new(
        "",
        vec![
            LabelSet::from_address("localhost:9100"),
            LabelSet::from_address("localhost:9101"),
        ],
        LabelSet::from_pairs([("env", "demo")]),
    )]);
    let promsd = StaticConfig::new(vec![TargetGroup::new(
        "",
        vec![LabelSet::from_address("localhost:9099")],
        LabelSet::new(),
    )]);
    let jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = [
        (
            "node".to_owned(),
            vec![Arc::new(node) as Arc<dyn DiscoveryConfig>],
        ),
        (
            "promsd".to_owned(),
            vec![Arc::new(promsd) as Arc<dyn DiscoveryConfig>],
        ),
    ]
    .into();
    ApplyConfig { jobs }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9099".to_owned());
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(500),
        ..ManagerOptions::default()
    })
    .start();
    let latest = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
    let keeper = LatestSnapshot(latest.clone()).start();
    let _subscription1 = manager
        .send(Subscribe(keeper.clone().recipient()))
        .await
        .expect("manager running");
    manager.send(demo_jobs()).await.expect("manager running");
    println!("serving discovered targets on http://{listen}/targets");
    let data = web::Data::new(latest);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/targets", web::get().to(targets))
    })
    .bind(&listen)?
    .run()
    .await?;
    drop(keeper);
    Ok(())
}
