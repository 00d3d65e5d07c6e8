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
    /// The job that first asked for the provider.
    pub config: String,
}

/// The `mechanism` and `config` labels of refresh metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MechanismLabels {
    /// The mechanism, as in `<mechanism>_sd_configs`.
    pub mechanism: String,
    /// The job that first asked for the provider.
    pub config: String,
}

/// The `name` (manager) and `config` (job) labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamedConfig {
    name: String,
    config: String,
}

/// The `name` (manager), `mechanism` and `config` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamedMechanism {
    name: String,
    mechanism: String,
    config: String,
}

/// The `name` label alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Named {
    name: String,
}

/// The metric families every manager of a process shares, each series labelled by the
/// manager's `name`: registered once, so that two managers (`scrape` and `notify`) never
/// print a family twice.
#[derive(Clone, Debug, Default)]
struct ManagerFamilies {
    failed_configs: Family<Named, Gauge>,
    discovered_targets: Family<NamedConfig, Gauge>,
    received_updates: Family<Named, Counter>,
    sent_updates: Family<Named, Counter>,
    delayed_updates: Family<Named, Counter>,
    last_update: Family<NamedConfig, Gauge<f64, AtomicU64>>,
    provider_restarts: Family<NamedMechanism, Counter>,
}

/// Metrics of one [`ManagerActor`](crate::ManagerActor), labelled `name="<manager>"`.
#[derive(Clone, Debug, Default)]
pub struct ManagerMetrics {
    name: String,
    families: ManagerFamilies,
    /// `prometheus_sd_failed_configs`: configs whose discoverer could not be built.
    pub failed_configs: Gauge,
    /// `prometheus_sd_received_updates_total`: updates received from providers.
    pub received_updates: Counter,
    /// `prometheus_sd_updates_total`: snapshots sent to subscribers.
    pub sent_updates: Counter,
    /// `prometheus_sd_updates_delayed_total`: snapshots held back because the subscriber was busy.
    pub delayed_updates: Counter,
}

impl ManagerMetrics {
    /// Metrics of one manager named `manager`, registered in `registry`. For several managers
    /// in one registry use [`ManagerMetrics::register_managers`].
    pub fn register(manager: &str, registry: &mut Registry) -> Self {
        Self::register_managers(&[manager], registry)
            .pop()
            .expect("one manager")
    }

    /// Metrics of several managers (`scrape`, `notify`) sharing one registry: each family is
    /// registered once and each manager's series carry its `name`.
    pub fn register_managers(managers: &[&str], registry: &mut Registry) -> Vec<Self> {
        let f = ManagerFamilies::default();
        registry.register(
            "prometheus_sd_failed_configs",
            "Current number of service discovery configurations that failed to load.",
            f.failed_configs.clone(),
        );
        registry.register(
            "prometheus_sd_discovered_targets",
            "Current number of discovered targets.",
            f.discovered_targets.clone(),
        );
        registry.register(
            "prometheus_sd_received_updates",
            "Total number of update events received from the SD providers.",
            f.received_updates.clone(),
        );
        registry.register(
            "prometheus_sd_updates_delayed",
            "Total number of update events that couldn't be sent immediately.",
            f.delayed_updates.clone(),
        );
        registry.register(
            "prometheus_sd_updates",
            "Total number of update events sent to the SD consumers.",
            f.sent_updates.clone(),
        );
        registry.register_with_unit(
            "prometheus_sd_last_update_timestamp",
            "Timestamp of the last update sent to the SD consumers.",
            Unit::Seconds,
            f.last_update.clone(),
        );
        registry.register(
            "promsd_sd_provider_restarts",
            "Total number of discoverers restarted after they panicked.",
            f.provider_restarts.clone(),
        );
        managers
            .iter()
            .map(|manager| {
                let named = Named {
                    name: (*manager).to_owned(),
                };
                ManagerMetrics {
                    name: (*manager).to_owned(),
                    failed_configs: f.failed_configs.get_or_create(&named).clone(),
                    received_updates: f.received_updates.get_or_create(&named).clone(),
                    sent_updates: f.sent_updates.get_or_create(&named).clone(),
                    delayed_updates: f.delayed_updates.get_or_create(&named).clone(),
                    families: f.clone(),
                }
            })
            .collect()
    }

    fn named(&self, config: &str) -> NamedConfig {
        NamedConfig {
            name: self.name.clone(),
            config: config.to_owned(),
        }
    }

    /// `prometheus_sd_discovered_targets{config}` of a job.
    pub fn discovered_targets(&self, job: &str) -> Gauge {
        self.families
            .discovered_targets
            .get_or_create(&self.named(job))
            .clone()
    }

    /// `prometheus_sd_last_update_timestamp_seconds{config}` of a job.
    pub fn last_update(&self, job: &str) -> Gauge<f64, AtomicU64> {
        self.families
            .last_update
            .get_or_create(&self.named(job))
            .clone()
    }

    fn restart_labels(&self, mechanism: &str, config: &str) -> NamedMechanism {
        NamedMechanism {
            name: self.name.clone(),
            mechanism: mechanism.to_owned(),
            config: config.to_owned(),
        }
    }

    /// `promsd_sd_provider_restarts_total{mechanism,config}`: discoverers restarted after a panic.
    pub fn provider_restarts(&self, mechanism: &str, config: &str) -> Counter {
        self.families
            .provider_restarts
            .get_or_create(&self.restart_labels(mechanism, config))
            .clone()
    }

    /// Removes the restart series of a stopped provider.
    pub(crate) fn remove_restarts(&self, mechanism: &str, config: &str) {
        self.families
            .provider_restarts
            .remove(&self.restart_labels(mechanism, config));
    }

    /// Removes every series of a job that is no longer configured.
    pub(crate) fn remove_job(&self, job: &str) {
        let label = self.named(job);
        self.families.discovered_targets.remove(&label);
        self.families.last_update.remove(&label);
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
