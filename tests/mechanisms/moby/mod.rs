//! Docker SD and Docker Swarm SD (`discovery/moby`).
//!
//! - `tables`: Prometheus' own tests (`docker_test.go`, `services_test.go`, `tasks_test.go`,
//!   `nodes_test.go`): their testdata, their expected label sets (in `expected/`, one JSON file
//!   per upstream test, the tables as they are), against promsd's target functions and, through
//!   the [`fixture`] daemon (a port of upstream's `mock_test.go`), against the discoverer.
//! - `wire`: transports (unix socket, `tcp://`, `http://` with auth), API version negotiation,
//!   filters as the daemon receives them, a failing and an unresponsive daemon.
//! - `cli`: one case per mechanism and role through `promsd check service-discovery` from a
//!   prometheus.yml.

mod cli;
mod fixture;
mod tables;
mod wire;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use promsd_actors::{BuildContext, DiscoveryConfig, LabelSet, RefreshMetrics, TargetGroup, Update};

/// Every wait in these tests is bounded by this generous deadline.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A label set as a plain map.
pub type Labels = BTreeMap<String, String>;

/// The expected label sets of upstream test `name` (`expected/<name>.json`), in its order.
pub fn expected(name: &str) -> Vec<Labels> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/moby/expected")
        .join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

pub fn to_map(set: &LabelSet) -> Labels {
    set.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Sorted by `__address__`, as upstream's Docker tests compare.
pub fn by_address(mut sets: Vec<Labels>) -> Vec<Labels> {
    sets.sort_by(|a, b| a["__address__"].cmp(&b["__address__"]));
    sets
}

/// Asserts two lists of label sets are equal, naming the first difference.
pub fn assert_sets(got: &[Labels], want: &[Labels], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of targets");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: target {i}");
    }
}

pub fn docker_config(yaml: &str) -> Arc<dyn DiscoveryConfig> {
    let c: promsd::discovery::moby::DockerSdConfig = serde_yaml::from_str(yaml).unwrap();
    Arc::new(c)
}

pub fn swarm_config(yaml: &str) -> Arc<dyn DiscoveryConfig> {
    let c: promsd::discovery::moby::DockerSwarmSdConfig = serde_yaml::from_str(yaml).unwrap();
    Arc::new(c)
}

/// A discoverer of `config`, driven by its own task; its items arrive on the channel.
pub struct Running {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<Update, String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    pub fn start(config: &Arc<dyn DiscoveryConfig>) -> Running {
        let ctx = BuildContext {
            provider: format!("{}/0", config.mechanism()).into(),
            config_name: "job".into(),
            refresh_metrics: RefreshMetrics::default(),
        };
        let mut discoverer = config.build(&ctx).unwrap();
        let (tx, items) = tokio::sync::mpsc::unbounded_channel();
        let task = actix_rt::spawn(async move {
            while let Some(item) = discoverer.next().await {
                if tx.send(item.map_err(|e| e.to_string())).is_err() {
                    return;
                }
            }
        });
        Running { items, task }
    }

    pub async fn next(&mut self) -> Result<Update, String> {
        match tokio::time::timeout(DEADLINE, self.items.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("the discoverer ended"),
            Err(_) => panic!("no item within {DEADLINE:?}"),
        }
    }

    /// The first good state's groups.
    pub async fn first_groups(&mut self) -> Vec<TargetGroup> {
        match self.next().await {
            Ok(update) => update.groups().to_vec(),
            Err(e) => panic!("refresh failed: {e}"),
        }
    }
}

/// The one group's targets of a first refresh of `config`, with its source checked.
pub async fn refresh_once(config: &Arc<dyn DiscoveryConfig>, source: &str) -> Vec<Labels> {
    let mut running = Running::start(config);
    let groups = running.first_groups().await;
    assert_eq!(groups.len(), 1, "one group");
    assert_eq!(&*groups[0].source, source);
    assert!(groups[0].labels.is_empty());
    groups[0].targets.iter().map(to_map).collect()
}
