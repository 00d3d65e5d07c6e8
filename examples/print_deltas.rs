//! A subscriber actor that prints what changed in each `SyncTargets` it receives, fed by a
//! poll-based discoverer (the engine's refresh helper) whose targets change on every refresh.
//! Exits after a few updates.
//!
//! Run: `cargo run --example print_deltas`

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use promsd_actors::{
    refresh_discoverer, ApplyConfig, BuildContext, Delta, Discoverer, DiscoveryConfig,
    DiscoveryError, JobDelta, LabelSet, ManagerActor, ManagerOptions, RefreshSchedule, Refreshed,
    Subscribe, SyncTargets, TargetGroup, ADDRESS_LABEL,
};

/// A made-up mechanism: every refresh moves one of three groups to a new port.
#[derive(Debug)]
struct RotatingPorts;

impl DiscoveryConfig for RotatingPorts {
    fn mechanism(&self) -> &'static str {
        "rotating"
    }

    fn identity(&self) -> String {
        "rotating".to_owned()
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let round = Arc::new(AtomicU64::new(0));
        Ok(refresh_discoverer(
            ctx,
            "rotating",
            RefreshSchedule::every(Duration::from_millis(300)),
            move || {
                let n = round.fetch_add(1, Ordering::Relaxed);
                let groups = (0..3)
                    .map(|g| {
                        let port = if g == n % 3 { 9000 + n } else { 9000 };
                        TargetGroup::new(
                            format!("group-{g}"),
                            vec![LabelSet::from_address(format!("host-{g}:{port}"))],
                            LabelSet::new(),
                        )
                    })
                    .collect();
                futures::future::ready(Ok(Refreshed::all(groups)))
            },
        ))
    }
}

struct DeltaPrinter {
    received: usize,
}

impl Actor for DeltaPrinter {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for DeltaPrinter {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        self.received += 1;
        println!(
            "update {} — {} targets in total",
            self.received,
            msg.snapshot.target_count()
        );
        match &*msg.delta {
            Delta::Full => println!("  full state"),
            Delta::Changes { jobs, removed_jobs } => {
                for (job, delta) in jobs {
                    match delta {
                        JobDelta::Reset => println!("  {job}: new"),
                        JobDelta::Groups { changed, removed } => {
                            for (key, group) in changed {
                                let addresses: Vec<&str> = group
                                    .targets
                                    .iter()
                                    .filter_map(|t| t.get(ADDRESS_LABEL))
                                    .collect();
                                println!(
                                    "  {job}: {} {} -> {addresses:?}",
                                    key.provider, key.source
                                );
                            }
                            for key in removed {
                                println!("  {job}: {} {} removed", key.provider, key.source);
                            }
                        }
                    }
                }
                for job in removed_jobs {
                    println!("  {job}: removed");
                }
            }
        }
        if self.received == 5 {
            System::current().stop();
        }
    }
}

fn main() {
    let system = System::new();
    let subscription = system.block_on(async {
        let manager = ManagerActor::new(ManagerOptions {
            interval: Duration::from_millis(200),
            ..ManagerOptions::default()
        })
        .start();
        // The subscription keeps the printer alive and subscribed while it is held.
        let subscription = manager
            .send(Subscribe(DeltaPrinter { received: 0 }.start().recipient()))
            .await
            .expect("manager running");
        let jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = [(
            "demo".to_owned(),
            vec![Arc::new(RotatingPorts) as Arc<dyn DiscoveryConfig>],
        )]
        .into();
        manager.do_send(ApplyConfig { jobs });
        subscription
    });
    system.run().expect("actix system");
    drop(subscription);
}
