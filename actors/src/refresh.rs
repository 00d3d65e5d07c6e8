//! The refresh helper: turns a poll function into a [`Discoverer`], as Prometheus'
//! `discovery/refresh` does for poll-based mechanisms (HTTP, DNS, cloud APIs), but sending only
//! what changed.
//!
//! The first successful refresh is sent as the full state. After that each result is compared
//! with the last one sent, and only changed groups and removals go out; an identical result
//! sends nothing. A failed refresh sends an error item (the last good state stands), counts
//! `prometheus_sd_refresh_failures_total`, and is retried with capped exponential backoff
//! before the next regular interval. Sources the refresh function could not determine this
//! time keep their last state.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::discoverer::{BuildContext, Discoverer, DiscoveryError, Update};
use crate::model::{Str, TargetGroup};

/// What one call of a refresh function found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The source of truth is unchanged since the last call (same body, same ETag): no work.
    Unchanged,
    /// The groups that exist now; `undetermined` names sources that could not be read this
    /// time and keep whatever state they had.
    Groups {
        /// The groups found (complete for every source not listed in `undetermined`).
        groups: Vec<TargetGroup>,
        /// Sources whose state is unknown this time; they keep their last state.
        undetermined: Vec<Str>,
    },
}

impl Refreshed {
    /// Every group was determined.
    pub fn all(groups: Vec<TargetGroup>) -> Self {
        Refreshed::Groups {
            groups,
            undetermined: Vec::new(),
        }
    }
}

/// Timing of a refreshing discoverer.
#[derive(Clone, Copy, Debug)]
pub struct RefreshSchedule {
    /// Time between two successful refreshes.
    pub interval: Duration,
    /// Delay before the first retry after a failure; doubles per failure, capped at `interval`.
    pub first_retry: Duration,
}

impl RefreshSchedule {
    /// A schedule that refreshes every `interval`; a failure is retried after 1 s (or `interval`
    /// if shorter), the delay doubling per failure.
    pub fn every(interval: Duration) -> Self {
        RefreshSchedule {
            interval,
            first_retry: Duration::from_secs(1).min(interval),
        }
    }
}

struct State<F> {
    refresh: F,
    mechanism: &'static str,
    ctx: BuildContext,
    schedule: RefreshSchedule,
    last_sent: HashMap<Str, TargetGroup>,
    sent_once: bool,
    next_delay: Option<Duration>,
    retry_delay: Duration,
}

/// A discoverer that calls `refresh` at once, then every `schedule.interval`.
pub fn refresh_discoverer<F, Fut>(
    ctx: &BuildContext,
    mechanism: &'static str,
    schedule: RefreshSchedule,
    refresh: F,
) -> Discoverer
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Refreshed, DiscoveryError>> + Send + 'static,
{
    let state = State {
        refresh,
        mechanism,
        ctx: ctx.clone(),
        schedule,
        last_sent: HashMap::new(),
        sent_once: false,
        next_delay: None,
        retry_delay: schedule.first_retry,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(delay) = st.next_delay.take() {
                tokio::time::sleep(delay).await;
            }
            let started = Instant::now();
            let result = (st.refresh)().await;
            st.ctx.refresh_metrics.observe_duration(
                st.mechanism,
                &st.ctx.config_name,
                started.elapsed().as_secs_f64(),
            );
            match result {
                Err(err) => {
                    st.ctx
                        .refresh_metrics
                        .record_failure(st.mechanism, &st.ctx.config_name);
                    tracing::error!(provider = %st.ctx.provider, error = %err, "unable to refresh target groups");
                    st.next_delay = Some(st.retry_delay.min(st.schedule.interval));
                    st.retry_delay = (st.retry_delay * 2).min(st.schedule.interval);
                    return Some((Err(err), st));
                }
                Ok(found) => {
                    st.next_delay = Some(st.schedule.interval);
                    st.retry_delay = st.schedule.first_retry;
                    if let Some(update) = st.compare(found) {
                        return Some((Ok(update), st));
                    }
                }
            }
        }
    })
    .boxed()
}

impl<F> State<F> {
    /// Records `found` as the last state sent and returns what must be sent for it, if anything.
    fn compare(&mut self, found: Refreshed) -> Option<Update> {
        let Refreshed::Groups {
            groups,
            undetermined,
        } = found
        else {
            return None;
        };
        let mut now: HashMap<Str, TargetGroup> = HashMap::with_capacity(groups.len());
        for group in groups {
            if group.targets.is_empty() {
                now.remove(&group.source);
            } else {
                now.insert(group.source.clone(), group);
            }
        }
        for source in undetermined {
            if let Some(kept) = self.last_sent.get(&source).cloned() {
                now.insert(source, kept);
            }
        }
        if !self.sent_once {
            self.sent_once = true;
            let mut all: Vec<TargetGroup> = now.values().cloned().collect();
            all.sort_by(|a, b| a.source.cmp(&b.source));
            self.last_sent = now;
            return Some(Update::Full(all));
        }
        let mut changed: Vec<TargetGroup> = now
            .iter()
            .filter(|(source, group)| self.last_sent.get(*source) != Some(*group))
            .map(|(_, group)| group.clone())
            .collect();
        changed.extend(
            self.last_sent
                .keys()
                .filter(|source| !now.contains_key(*source))
                .map(|source| TargetGroup::removal(source.clone())),
        );
        self.last_sent = now;
        if changed.is_empty() {
            return None;
        }
        changed.sort_by(|a, b| a.source.cmp(&b.source));
        Some(Update::Changed(changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RefreshMetrics;
    use crate::model::LabelSet;
    use std::sync::{Arc, Mutex};

    fn group(source: &str, addrs: &[&str]) -> TargetGroup {
        TargetGroup::new(
            source,
            addrs.iter().map(|a| LabelSet::from_address(*a)).collect(),
            LabelSet::new(),
        )
    }

    fn ctx() -> BuildContext {
        BuildContext {
            provider: "test/0".into(),
            config_name: "job".into(),
            refresh_metrics: RefreshMetrics::default(),
        }
    }

    /// A refresh function that plays a script of results, one per call.
    fn scripted(
        script: Vec<Result<Refreshed, DiscoveryError>>,
    ) -> impl FnMut() -> futures::future::Ready<Result<Refreshed, DiscoveryError>> {
        let script = Arc::new(Mutex::new(script.into_iter()));
        move || {
            futures::future::ready(
                script
                    .lock()
                    .unwrap()
                    .next()
                    .unwrap_or(Ok(Refreshed::Unchanged)),
            )
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sends_full_then_only_changes_and_removals() {
        let ctx = ctx();
        let mut d = refresh_discoverer(
            &ctx,
            "test",
            RefreshSchedule::every(Duration::from_secs(30)),
            scripted(vec![
                Ok(Refreshed::all(vec![
                    group("a", &["1:1"]),
                    group("b", &["2:2"]),
                ])),
                Ok(Refreshed::all(vec![
                    group("a", &["1:1"]),
                    group("b", &["2:2"]),
                ])),
                Ok(Refreshed::all(vec![group("a", &["1:9"])])),
            ]),
        );
        assert_eq!(
            d.next().await.unwrap().unwrap(),
            Update::Full(vec![group("a", &["1:1"]), group("b", &["2:2"])])
        );
        // The identical second result sends nothing; the third changes a and removes b.
        assert_eq!(
            d.next().await.unwrap().unwrap(),
            Update::Changed(vec![group("a", &["1:9"]), TargetGroup::removal("b")])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failure_keeps_state_counts_and_retries_before_interval() {
        let ctx = ctx();
        let start = tokio::time::Instant::now();
        let mut d = refresh_discoverer(
            &ctx,
            "test",
            RefreshSchedule::every(Duration::from_secs(60)),
            scripted(vec![
                Ok(Refreshed::all(vec![group("a", &["1:1"])])),
                Err(DiscoveryError::new("boom")),
                Err(DiscoveryError::new("boom")),
                Ok(Refreshed::all(vec![group("a", &["1:2"])])),
            ]),
        );
        assert!(d.next().await.unwrap().is_ok());
        assert_eq!(d.next().await.unwrap().unwrap_err().message(), "boom");
        assert_eq!(d.next().await.unwrap().unwrap_err().message(), "boom");
        assert_eq!(
            d.next().await.unwrap().unwrap(),
            Update::Changed(vec![group("a", &["1:2"])])
        );
        // 60 s interval, then retries after 1 s and 2 s.
        assert_eq!(start.elapsed(), Duration::from_secs(63));
        assert_eq!(ctx.refresh_metrics.failures("test", "job"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn undetermined_sources_keep_their_state() {
        let ctx = ctx();
        let mut d = refresh_discoverer(
            &ctx,
            "test",
            RefreshSchedule::every(Duration::from_secs(5)),
            scripted(vec![
                Ok(Refreshed::all(vec![
                    group("a", &["1:1"]),
                    group("b", &["2:2"]),
                ])),
                Ok(Refreshed::Groups {
                    groups: vec![group("a", &["1:3"])],
                    undetermined: vec!["b".into()],
                }),
                Ok(Refreshed::all(vec![group("a", &["1:3"])])),
            ]),
        );
        d.next().await.unwrap().unwrap();
        assert_eq!(
            d.next().await.unwrap().unwrap(),
            Update::Changed(vec![group("a", &["1:3"])])
        );
        assert_eq!(
            d.next().await.unwrap().unwrap(),
            Update::Changed(vec![TargetGroup::removal("b")])
        );
    }
}
