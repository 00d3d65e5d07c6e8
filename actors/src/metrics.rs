//! The engine's metrics, under Prometheus' own names so that dashboards built for Prometheus'
//! discovery work on promsd unchanged.
//!
//! Manager metrics carry a constant label `name` (`scrape`, `notify`) per manager, as in
//! Prometheus 3.x. Refresh metrics are shared by every manager of the process and labelled by
//! `mechanism` and `config` (the job that started the provider). prometheus-client appends
//! `_total` and unit suffixes itself, so base names are registered.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The `config` label: a job name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConfigLabel {
    pub config: String,
}

/// The `mechanism` and `config` labels of refresh metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MechanismLabels {
    pub mechanism: String,
    pub config: String,
}

/// Metrics of one [`ManagerActor`](crate::ManagerActor).
#[derive(Clone, Debug, Default)]
pub struct ManagerMetrics {
    /// `prometheus_sd_failed_configs`: configs whose discoverer could not be built.
    pub failed_configs: Gauge,
    /// `prometheus_sd_discovered_targets{config}`: targets per job.
    pub discovered_targets: Family<ConfigLabel, Gauge>,
    /// `prometheus_sd_received_updates_total`: updates received from providers.
    pub received_updates: Counter,
    /// `prometheus_sd_updates_total`: snapshots sent to subscribers.
    pub sent_updates: Counter,
    /// `prometheus_sd_updates_delayed_total`: snapshots held back because the subscriber was busy.
    pub delayed_updates: Counter,
    /// `prometheus_sd_last_update_timestamp_seconds{config}`: when a job's targets were last sent.
    pub last_update: Family<ConfigLabel, Gauge<f64, AtomicU64>>,
    /// `promsd_sd_provider_restarts_total{mechanism,config}`: discoverers restarted after a panic.
    pub provider_restarts: Family<MechanismLabels, Counter>,
}

impl ManagerMetrics {
    /// Metrics registered in `registry` with the constant label `name="<manager>"`.
    pub fn register(manager: &str, registry: &mut Registry) -> Self {
        let m = ManagerMetrics::default();
        let reg = registry.sub_registry_with_label(("name".into(), manager.to_owned().into()));
        reg.register(
            "prometheus_sd_failed_configs",
            "Current number of service discovery configurations that failed to load.",
            m.failed_configs.clone(),
        );
        reg.register(
            "prometheus_sd_discovered_targets",
            "Current number of discovered targets.",
            m.discovered_targets.clone(),
        );
        reg.register(
            "prometheus_sd_received_updates",
            "Total number of update events received from the SD providers.",
            m.received_updates.clone(),
        );
        reg.register(
            "prometheus_sd_updates_delayed",
            "Total number of update events that couldn't be sent immediately.",
            m.delayed_updates.clone(),
        );
        reg.register(
            "prometheus_sd_updates",
            "Total number of update events sent to the SD consumers.",
            m.sent_updates.clone(),
        );
        reg.register_with_unit(
            "prometheus_sd_last_update_timestamp",
            "Timestamp of the last update sent to the SD consumers.",
            Unit::Seconds,
            m.last_update.clone(),
        );
        reg.register(
            "promsd_sd_provider_restarts",
            "Total number of discoverers restarted after they panicked.",
            m.provider_restarts.clone(),
        );
        m
    }

    /// Removes every series of a job that is no longer configured.
    pub(crate) fn remove_job(&self, job: &str) {
        let label = ConfigLabel {
            config: job.to_owned(),
        };
        self.discovered_targets.remove(&label);
        self.last_update.remove(&label);
    }
}

/// `prometheus_sd_refresh_*`: shared by every manager and every refreshing discoverer.
#[derive(Clone, Debug)]
pub struct RefreshMetrics {
    inner: Arc<RefreshFamilies>,
}

#[derive(Debug)]
struct RefreshFamilies {
    failures: Family<MechanismLabels, Counter>,
    duration: Family<MechanismLabels, Histogram, fn() -> Histogram>,
}

fn refresh_histogram() -> Histogram {
    Histogram::new([0.01, 0.1, 1.0, 10.0])
}

impl Default for RefreshMetrics {
    fn default() -> Self {
        RefreshMetrics {
            inner: Arc::new(RefreshFamilies {
                failures: Family::default(),
                duration: Family::new_with_constructor(refresh_histogram),
            }),
        }
    }
}

impl RefreshMetrics {
    /// Refresh metrics registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = RefreshMetrics::default();
        registry.register(
            "prometheus_sd_refresh_failures",
            "Number of refresh failures for the given SD mechanism.",
            m.inner.failures.clone(),
        );
        registry.register_with_unit(
            "prometheus_sd_refresh_duration",
            "The duration of a refresh in seconds for the given SD mechanism.",
            Unit::Seconds,
            m.inner.duration.clone(),
        );
        m
    }

    fn labels(mechanism: &str, config: &str) -> MechanismLabels {
        MechanismLabels {
            mechanism: mechanism.to_owned(),
            config: config.to_owned(),
        }
    }

    /// Counts one failed refresh.
    pub fn record_failure(&self, mechanism: &str, config: &str) {
        self.inner
            .failures
            .get_or_create(&Self::labels(mechanism, config))
            .inc();
    }

    /// Records how long one refresh took.
    pub fn observe_duration(&self, mechanism: &str, config: &str, seconds: f64) {
        self.inner
            .duration
            .get_or_create(&Self::labels(mechanism, config))
            .observe(seconds);
    }

    /// The failure count so far (for tests and the status API).
    pub fn failures(&self, mechanism: &str, config: &str) -> u64 {
        self.inner
            .failures
            .get_or_create(&Self::labels(mechanism, config))
            .get()
    }

    /// Removes the series of a provider that stopped.
    pub(crate) fn remove(&self, mechanism: &str, config: &str) {
        let labels = Self::labels(mechanism, config);
        self.inner.failures.remove(&labels);
        self.inner.duration.remove(&labels);
    }
}
