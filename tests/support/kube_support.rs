//! Shared helpers of the Kubernetes SD integration tests: a driver for a discoverer built from
//! YAML, and label-set helpers.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use promsd::discovery::kubernetes::KubernetesSdConfig;
use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, RefreshMetrics, TargetGroup, Update,
};

/// How long a test waits for one item before failing.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A config from YAML (one `kubernetes_sd_configs` entry).
pub fn config(yaml: &str) -> KubernetesSdConfig {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("bad test config: {e}\n{yaml}"))
}

/// Starts the discoverer of a config.
pub fn discoverer(config: &KubernetesSdConfig) -> Discoverer {
    let ctx = BuildContext {
        provider: "kubernetes/0".into(),
        config_name: "test".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    config.build(&ctx).expect("discoverer builds")
}

/// The next item, failing the test after [`DEADLINE`].
pub async fn next_item(d: &mut Discoverer) -> Result<Update, DiscoveryError> {
    tokio::time::timeout(DEADLINE, d.next())
        .await
        .expect("no item from the discoverer in time")
        .expect("discoverer ended")
}

/// The next update, skipping error items (returned alongside).
pub async fn next_update(d: &mut Discoverer) -> (Update, Vec<DiscoveryError>) {
    let mut errors = Vec::new();
    loop {
        match next_item(d).await {
            Ok(u) => return (u, errors),
            Err(e) => errors.push(e),
        }
    }
}

/// The next full state (updates before it fail the test).
pub async fn next_full(d: &mut Discoverer) -> Vec<TargetGroup> {
    match next_update(d).await.0 {
        Update::Full(g) => g,
        other => panic!("expected a full state, got {other:?}"),
    }
}

/// The next changed groups (a full state fails the test).
pub async fn next_changed(d: &mut Discoverer) -> Vec<TargetGroup> {
    match next_update(d).await.0 {
        Update::Changed(g) => g,
        other => panic!("expected changed groups, got {other:?}"),
    }
}

/// The group with `source`.
pub fn group<'a>(groups: &'a [TargetGroup], source: &str) -> &'a TargetGroup {
    groups
        .iter()
        .find(|g| &*g.source == source)
        .unwrap_or_else(|| {
            let sources: Vec<&str> = groups.iter().map(|g| &*g.source).collect();
            panic!("no group {source}; have {sources:?}")
        })
}

pub type Map = BTreeMap<String, String>;

/// A literal label map.
pub fn map(pairs: &[(&str, &str)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The group's labels.
pub fn group_labels(g: &TargetGroup) -> Map {
    g.labels
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Every target's own labels, sorted by address then by the whole map.
pub fn target_labels(g: &TargetGroup) -> Vec<Map> {
    let mut out: Vec<Map> = g
        .targets
        .iter()
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// Sorts literal target maps the way [`target_labels`] does.
pub fn sorted(mut targets: Vec<Map>) -> Vec<Map> {
    targets.sort();
    targets
}

/// Waits until `f` holds, polling, failing after [`DEADLINE`].
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
