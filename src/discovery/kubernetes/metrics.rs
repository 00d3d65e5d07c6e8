//! Kubernetes SD's own metrics, shared by every Kubernetes SD config of the process, as in
//! Prometheus' `discovery/kubernetes/metrics.go`:
//! `prometheus_sd_kubernetes_events_total{role,event}` (events handled, per role and
//! add/update/delete) and `prometheus_sd_kubernetes_failures_total` (failed list and watch
//! requests; counted once per shared watch).

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub role: &'static str,
    pub event: &'static str,
}

static EVENTS: LazyLock<Family<EventLabels, Counter>> = LazyLock::new(|| {
    let family = Family::<EventLabels, Counter>::default();
    // Every series exists from the start, as Prometheus initialises them.
    for role in [
        "endpointslice",
        "endpoints",
        "node",
        "pod",
        "service",
        "ingress",
    ] {
        for event in ["add", "delete", "update"] {
            drop(family.get_or_create(&EventLabels { role, event }));
        }
    }
    family
});
static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers the Kubernetes SD metrics. Call once per registry.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_kubernetes_events",
        "The number of Kubernetes events handled.",
        EVENTS.clone(),
    );
    registry.register(
        "prometheus_sd_kubernetes_failures",
        "The number of failed WATCH/LIST requests.",
        FAILURES.clone(),
    );
}

pub(crate) fn record_event(role: &'static str, event: &'static str) {
    EVENTS.get_or_create(&EventLabels { role, event }).inc();
}

pub(crate) fn record_failure() {
    FAILURES.inc();
}

/// `prometheus_sd_kubernetes_failures_total` so far.
pub fn failures_total() -> u64 {
    FAILURES.get()
}

/// `prometheus_sd_kubernetes_events_total{role,event}` so far.
pub fn events_total(role: &'static str, event: &'static str) -> u64 {
    EVENTS.get_or_create(&EventLabels { role, event }).get()
}
