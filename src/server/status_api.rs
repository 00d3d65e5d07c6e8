//! What promsd says about itself: `GET /api/v1/status/config` (the running config as YAML,
//! secrets masked) and `GET /api/v1/status/sd` (every job's counts and readiness, and every
//! provider's mechanism, state, targets, last update, last error and restarts).
//!
//! The config and its relabel rules are known to the config and relabel rooms, not to the
//! server: the daemon hands the server a [`RunningConfig`] for each config it applies, through a
//! [`ConfigSlot`]. Until one is set, the endpoints that need it answer 503 `unavailable`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use actix_web::{web, HttpResponse};
use promsd_actors::{LabelSet, ProviderStatus};
use serde::Serialize;

use super::AppState;

/// One relabel rule's effect on a target, as Prometheus' `relabel_steps` reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RelabelStep {
    /// The rule as Prometheus prints it (`action`, `source_labels`, `separator`, `regex`,
    /// `modulus`, `target_label`, `replacement`), defaults filled in.
    pub rule: serde_json::Value,
    /// The labels after this rule and every rule before it; empty once the target is dropped.
    pub output: LabelSet,
    /// Whether the target is still kept after this rule.
    pub keep: bool,
}

/// What the server may ask about the config the daemon is running.
pub trait RunningConfig: Send + Sync + 'static {
    /// The config as YAML, every secret replaced by `<secret>`.
    fn masked_yaml(&self) -> String;

    /// The effect of each of `job`'s `relabel_configs` on a target whose discovered labels are
    /// `discovered`: step `i` is the result of rules `0..=i`. `None` if the job is unknown.
    fn relabel_steps(&self, job: &str, discovered: &LabelSet) -> Option<Vec<RelabelStep>>;

    /// The loaded config itself, for `POST /api/v1/diff` (a candidate is compared with it).
    /// `None` where the running config is a stand-in.
    fn config(&self) -> Option<&crate::config::Config> {
        None
    }
}

/// Where the daemon puts the [`RunningConfig`] of each config it applies.
#[derive(Clone, Default)]
pub struct ConfigSlot(Arc<RwLock<Option<Arc<dyn RunningConfig>>>>);

impl ConfigSlot {
    pub fn set(&self, config: Arc<dyn RunningConfig>) {
        *self.0.write().expect("config slot poisoned") = Some(config);
    }

    pub fn current(&self) -> Option<Arc<dyn RunningConfig>> {
        self.0.read().expect("config slot poisoned").clone()
    }
}

/// A 503 in Prometheus' error shape, for what promsd cannot answer yet.
pub(crate) fn unavailable(message: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(serde_json::json!({
        "status": "error",
        "errorType": "unavailable",
        "error": message,
    }))
}

/// `GET /api/v1/status/config`.
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    match state.config.current() {
        Some(config) => HttpResponse::Ok().json(serde_json::json!({
            "status": "success",
            "data": { "yaml": config.masked_yaml() },
        })),
        None => unavailable("no config has been loaded"),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobStatus<'a> {
    name: &'a str,
    active_targets: usize,
    dropped_targets: usize,
    /// Every provider of the job delivered its first state.
    ready: bool,
    providers: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderReport<'a> {
    name: &'a str,
    mechanism: &'a str,
    jobs: &'a [promsd_actors::Str],
    /// `running`, `restarting` (after a panic, with backoff) or `ended` (state kept).
    state: &'static str,
    groups: usize,
    targets: usize,
    delivered: bool,
    last_update: Option<String>,
    last_error: Option<&'a str>,
    last_error_time: Option<String>,
    errors: u64,
    restarts: u64,
}

/// RFC 3339 in UTC, to the millisecond, as Go prints `time.Time` in JSON.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let at = time::OffsetDateTime::from(time);
    at.replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `GET /api/v1/status/sd`.
pub async fn service_discovery(state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<ProviderStatus> = match state.discovery.send(promsd_actors::GetStatus).await
    {
        Ok(providers) => providers,
        Err(e) => return unavailable(&format!("discovery manager unavailable: {e}")),
    };
    let view = state.view.latest();
    let mut providers_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for provider in &providers {
        for job in &provider.jobs {
            providers_of.entry(job).or_default().push(&provider.name);
        }
    }
    let jobs: Vec<JobStatus> = view
        .jobs
        .iter()
        .map(|(name, job)| JobStatus {
            name,
            active_targets: job.results.kept,
            dropped_targets: job.results.dropped,
            ready: job.results.ready,
            providers: providers_of.remove(&**name).unwrap_or_default(),
        })
        .collect();
    let notify_providers: Vec<ProviderStatus> =
        match state.notify_discovery.send(promsd_actors::GetStatus).await {
            Ok(providers) => providers,
            Err(e) => return unavailable(&format!("notify discovery manager unavailable: {e}")),
        };
    let report = |p: &'_ ProviderStatus| -> serde_json::Value {
        serde_json::to_value(ProviderReport {
            name: &p.name,
            mechanism: p.mechanism,
            jobs: &p.jobs,
            state: p.state.as_str(),
            groups: p.groups,
            targets: p.targets,
            delivered: p.delivered,
            last_update: p.last_update.map(rfc3339),
            last_error: p.last_error.as_ref().map(|e| e.message()),
            last_error_time: p.last_error_at.map(rfc3339),
            errors: p.errors,
            restarts: p.restarts,
        })
        .unwrap_or_default()
    };
    let reports: Vec<serde_json::Value> = providers.iter().map(report).collect();
    // The `notify` manager's providers (Alertmanager discovery), by set (`config-N`).
    let notify: Vec<serde_json::Value> = notify_providers.iter().map(report).collect();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "success",
        "data": { "jobs": jobs, "providers": reports, "alertmanagerProviders": notify },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_millisecond() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_150_999);
        assert_eq!(
            rfc3339(t),
            "2023-11-14T22:13:20.15Z",
            "Go trims trailing zeros"
        );
    }
}
