//! The Consul discoverer: a catalog watch and one watch per service, each a loop of blocking
//! queries, merged into one stream of updates.
//!
//! Each watch is its own stream ([`blocking_watch`]): it waits until its next query is due
//! (`refresh_interval` after the previous one started), asks with the last index, and yields only
//! news: the first answer, an answer whose index moved (or that has no index), or an error.
//! An index that went backwards is used once and then reset to 0, as Consul's documentation
//! asks. A failure is retried with capped exponential backoff. Parsing runs on the blocking pool.
//!
//! [`discoverer`] owns the watches: the catalog's answers start and stop service watches (kept
//! in a `StreamMap` by name, so that dropping one cancels its query), and service answers become
//! groups. The full state goes out once every watched service has answered; after that each
//! change goes out alone, and services gone from the catalog go out as removals.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use promsd_actors::{Discoverer, DiscoveryError, LabelSet, Str, TargetGroup, Update};
use reqwest::Url;
use tokio::time::Instant;
use tokio_stream::StreamMap;

use super::api::{self, Api};
use super::targets::{self, ServiceEntry};
use super::{count_rpc_failure, ConsulSdConfig, MAX_RETRY_DELAY};

/// What the discoverer needs from the config, checked when the discoverer is built.
#[derive(Debug)]
pub(super) struct Settings {
    config: ConsulSdConfig,
    base: Url,
    refresh: Duration,
}

impl Settings {
    /// Checks what can be checked without I/O.
    pub(super) fn new(config: &ConsulSdConfig) -> Result<Self, DiscoveryError> {
        let base = api::base_url(&config.server, &config.scheme).map_err(DiscoveryError::new)?;
        Ok(Settings {
            config: config.clone(),
            base,
            refresh: config.refresh_interval.as_std(),
        })
    }

    /// Prometheus watches the catalog unless it is told exactly which services to watch.
    fn uses_catalog(&self) -> bool {
        let c = &self.config;
        c.services.is_empty() || !c.tags.is_empty() || !c.filter.is_empty()
    }

    /// Prometheus' `shouldWatch`: the name is configured (or none is), and every configured
    /// tag is among the service's tags.
    fn should_watch(&self, name: &str, tags: &[String]) -> bool {
        let c = &self.config;
        (c.services.is_empty() || c.services.iter().any(|s| s == name))
            && c.tags.iter().all(|wanted| tags.contains(wanted))
    }
}

/// Capped exponential backoff: `min(1s, refresh_interval)`, doubling up to 15 s.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    first: Duration,
    next: Duration,
}

impl Backoff {
    fn new(refresh: Duration) -> Self {
        let first = refresh.min(Duration::from_secs(1));
        Backoff { first, next: first }
    }

    fn delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_RETRY_DELAY.max(self.first));
        delay
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The index to wait on after an answer with index `got`: Consul's documentation asks to start
/// over from 0 when an index goes backwards (after a snapshot restore, a leader change, ...).
pub(super) fn next_wait_index(previous: u64, got: u64) -> u64 {
    if got < previous {
        0
    } else {
        got
    }
}

type Watch<T> = BoxStream<'static, Result<T, String>>;

struct WatchState<F, P> {
    fetch: F,
    parse: P,
    refresh: Duration,
    index: u64,
    answered: bool,
    next_start: Instant,
    backoff: Backoff,
}

/// A loop of blocking queries that yields parsed news and errors.
fn blocking_watch<T, F, Fut, P>(refresh: Duration, fetch: F, parse: P) -> Watch<T>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<api::Answer, String>> + Send,
    P: Fn(Bytes) -> Result<T, String> + Clone + Send + 'static,
{
    let state = WatchState {
        fetch,
        parse,
        refresh,
        index: 0,
        answered: false,
        next_start: Instant::now(),
        backoff: Backoff::new(refresh),
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            tokio::time::sleep_until(st.next_start).await;
            let started = Instant::now();
            let answer = match (st.fetch)(st.index).await {
                Ok(answer) => answer,
                Err(e) => {
                    st.next_start = Instant::now() + st.backoff.delay();
                    return Some((Err(e), st));
                }
            };
            st.next_start = (started + st.refresh).max(Instant::now());
            // The same index means the wait ran out without a change; without an index, only
            // the content can tell.
            if st.answered && answer.index != 0 && answer.index == st.index {
                st.backoff.reset();
                continue;
            }
            let parse = st.parse.clone();
            let body = answer.body;
            let parsed = match tokio::task::spawn_blocking(move || parse(body)).await {
                Ok(parsed) => parsed,
                Err(e) => Err(format!("parsing the answer failed: {e}")),
            };
            match parsed {
                Ok(value) => {
                    st.backoff.reset();
                    st.answered = true;
                    st.index = next_wait_index(st.index, answer.index);
                    return Some((Ok(value), st));
                }
                Err(e) => {
                    count_rpc_failure();
                    st.next_start = Instant::now() + st.backoff.delay();
                    return Some((Err(e), st));
                }
            }
        }
    })
    .boxed()
}

enum Event {
    Catalog(Result<BTreeMap<String, Vec<String>>, String>),
    Service(String, Result<TargetGroup, String>),
}

/// The running discovery.
struct Run {
    settings: Arc<Settings>,
    provider: Str,
    api: Option<Arc<Api>>,
    datacenter: Option<String>,
    setup_backoff: Backoff,
    next_setup: Instant,
    catalog: Option<Watch<BTreeMap<String, Vec<String>>>>,
    catalog_answered: bool,
    watches: StreamMap<String, Watch<TargetGroup>>,
    /// Services whose first answer the full state still waits for.
    pending: HashSet<String>,
    /// The last group of each watched service (possibly without targets).
    groups: HashMap<String, TargetGroup>,
    full_sent: bool,
}

/// The discoverer of one Consul SD config.
pub(super) fn discoverer(settings: Arc<Settings>, provider: Str) -> Discoverer {
    let run = Run {
        setup_backoff: Backoff::new(settings.refresh),
        settings,
        provider,
        api: None,
        datacenter: None,
        next_setup: Instant::now(),
        catalog: None,
        catalog_answered: false,
        watches: StreamMap::new(),
        pending: HashSet::new(),
        groups: HashMap::new(),
        full_sent: false,
    };
    futures::stream::unfold(run, |mut run| async move {
        let item = run.next_item().await;
        Some((item, run))
    })
    .boxed()
}

impl Run {
    async fn next_item(&mut self) -> Result<Update, DiscoveryError> {
        loop {
            if self.datacenter.is_none() {
                self.setup().await?;
                self.start_watches();
                continue;
            }
            let Run {
                catalog, watches, ..
            } = self;
            let catalog_next = async {
                match catalog.as_mut() {
                    Some(c) => c.next().await,
                    None => futures::future::pending().await,
                }
            };
            let event = tokio::select! {
                Some(answer) = catalog_next => Event::Catalog(answer),
                Some((name, answer)) = watches.next(), if !watches.is_empty() => {
                    Event::Service(name, answer)
                }
                else => futures::future::pending().await,
            };
            if let Some(item) = self.handle(event) {
                return item;
            }
        }
    }

    /// Builds the API client and learns the datacenter, retrying with backoff.
    async fn setup(&mut self) -> Result<(), DiscoveryError> {
        tokio::time::sleep_until(self.next_setup).await;
        let result = self.try_setup().await;
        match &result {
            Ok(()) => self.setup_backoff.reset(),
            Err(e) => {
                tracing::error!(provider = %self.provider, error = %e, "consul SD could not start");
                self.next_setup = Instant::now() + self.setup_backoff.delay();
            }
        }
        result
    }

    async fn try_setup(&mut self) -> Result<(), DiscoveryError> {
        let api = match &self.api {
            Some(api) => api.clone(),
            None => {
                let settings = self.settings.clone();
                let api = tokio::task::spawn_blocking(move || {
                    Api::new(&settings.config, settings.base.clone())
                })
                .await
                .map_err(DiscoveryError::new)?
                .map_err(DiscoveryError::new)?;
                let api = Arc::new(api);
                self.api = Some(api.clone());
                api
            }
        };
        let configured = &self.settings.config.datacenter;
        self.datacenter = Some(if configured.is_empty() {
            api.agent_datacenter().await.map_err(|e| {
                DiscoveryError::new(format!("error retrieving datacenter name: {e}"))
            })?
        } else {
            configured.clone()
        });
        Ok(())
    }

    fn start_watches(&mut self) {
        let api = self.api.clone().expect("set up");
        if self.settings.uses_catalog() {
            self.catalog = Some(blocking_watch(
                self.settings.refresh,
                move |index| {
                    let api = api.clone();
                    async move { api.catalog_services(index).await }
                },
                |body: Bytes| api::parse_services(&body),
            ));
        } else {
            let names: BTreeSet<String> = self.settings.config.services.iter().cloned().collect();
            for name in names {
                self.watch_service(name);
            }
        }
    }

    fn watch_service(&mut self, name: String) {
        let api = self.api.clone().expect("set up");
        let labels: LabelSet =
            targets::group_labels(&name, self.datacenter.as_deref().unwrap_or_default());
        let separator: Arc<str> = Arc::from(self.settings.config.tag_separator.as_str());
        let service: Arc<str> = Arc::from(name.as_str());
        let fetch_service = service.clone();
        let watch = blocking_watch(
            self.settings.refresh,
            move |index| {
                let api = api.clone();
                let service = fetch_service.clone();
                async move { api.health_service(&service, index).await }
            },
            move |body: Bytes| {
                let entries: Vec<ServiceEntry> = serde_json::from_slice(&body)
                    .map_err(|e| format!("invalid service instances: {e}"))?;
                Ok(targets::service_group(
                    &service,
                    labels.clone(),
                    &entries,
                    &separator,
                ))
            },
        );
        if !self.full_sent {
            self.pending.insert(name.clone());
        }
        self.watches.insert(name, watch);
    }

    fn handle(&mut self, event: Event) -> Option<Result<Update, DiscoveryError>> {
        match event {
            Event::Catalog(Err(e)) => {
                tracing::error!(provider = %self.provider, error = %e, "Error refreshing service list");
                Some(Err(DiscoveryError::new(format!(
                    "error refreshing service list: {e}"
                ))))
            }
            Event::Catalog(Ok(services)) => self.catalog_changed(services),
            Event::Service(name, Err(e)) => {
                tracing::error!(provider = %self.provider, service = %name, error = %e, "Error refreshing service");
                Some(Err(DiscoveryError::new(format!(
                    "error refreshing service {name:?}: {e}"
                ))))
            }
            Event::Service(name, Ok(group)) => self.service_changed(name, group),
        }
    }

    fn catalog_changed(
        &mut self,
        services: BTreeMap<String, Vec<String>>,
    ) -> Option<Result<Update, DiscoveryError>> {
        self.catalog_answered = true;
        let wanted: BTreeSet<&String> = services
            .iter()
            .filter(|(name, tags)| self.settings.should_watch(name, tags))
            .map(|(name, _)| name)
            .collect();
        let gone: Vec<String> = self
            .watches
            .keys()
            .filter(|name| !wanted.contains(name))
            .cloned()
            .collect();
        for name in wanted {
            if !self.watches.contains_key(name) {
                self.watch_service(name.clone());
            }
        }
        let mut removals = Vec::new();
        for name in gone {
            self.watches.remove(&name);
            self.pending.remove(&name);
            if let Some(group) = self.groups.remove(&name) {
                if self.full_sent && !group.targets.is_empty() {
                    removals.push(TargetGroup::removal(name));
                }
            }
        }
        if !self.full_sent {
            return self.full_if_complete();
        }
        (!removals.is_empty()).then_some(Ok(Update::Changed(removals)))
    }

    fn service_changed(
        &mut self,
        name: String,
        group: TargetGroup,
    ) -> Option<Result<Update, DiscoveryError>> {
        if !self.full_sent {
            self.pending.remove(&name);
            self.groups.insert(name, group);
            return self.full_if_complete();
        }
        let previous = self.groups.insert(name, group.clone());
        let had_targets = previous.as_ref().is_some_and(|g| !g.targets.is_empty());
        if previous.as_ref() == Some(&group) || (group.targets.is_empty() && !had_targets) {
            return None;
        }
        Some(Ok(Update::Changed(vec![group])))
    }

    /// The full state, once the catalog (if watched) and every watched service have answered.
    fn full_if_complete(&mut self) -> Option<Result<Update, DiscoveryError>> {
        let catalog_ready = self.catalog.is_none() || self.catalog_answered;
        if !catalog_ready || !self.pending.is_empty() {
            return None;
        }
        self.full_sent = true;
        let mut groups: Vec<TargetGroup> = self
            .groups
            .values()
            .filter(|g| !g.targets.is_empty())
            .cloned()
            .collect();
        groups.sort_by(|a, b| a.source.cmp(&b.source));
        Some(Ok(Update::Full(groups)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_going_backwards_resets_to_zero() {
        assert_eq!(next_wait_index(0, 5), 5);
        assert_eq!(next_wait_index(5, 5), 5);
        assert_eq!(next_wait_index(5, 9), 9);
        assert_eq!(next_wait_index(100, 7), 0);
    }

    #[test]
    fn backoff_doubles_up_to_fifteen_seconds() {
        let mut b = Backoff::new(Duration::from_secs(30));
        let delays: Vec<u64> = (0..7).map(|_| b.delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 15, 15, 15]);
        b.reset();
        assert_eq!(b.delay(), Duration::from_secs(1));
        let mut fast = Backoff::new(Duration::from_millis(100));
        assert_eq!(fast.delay(), Duration::from_millis(100));
        assert_eq!(fast.delay(), Duration::from_millis(200));
    }

    fn settings(yaml: &str) -> Settings {
        let config: ConsulSdConfig = serde_yaml::from_str(yaml).unwrap();
        Settings::new(&config).unwrap()
    }

    #[test]
    fn catalog_is_watched_unless_services_are_exact() {
        assert!(settings("{}").uses_catalog());
        assert!(!settings("services: [a]").uses_catalog());
        assert!(settings("services: [a]\ntags: [t]").uses_catalog());
        assert!(settings("services: [a]\nfilter: 'x'").uses_catalog());
        assert!(!settings("services: [a]\nhealth_filter: 'x'").uses_catalog());
    }

    /// The cases of Prometheus' `TestConfiguredServiceWithTags` and neighbours.
    #[test]
    fn should_watch_as_prometheus() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = settings("services: [configuredServiceName]");
        assert!(s.should_watch("configuredServiceName", &tags(&[""])));
        assert!(!s.should_watch("nonConfiguredServiceName", &tags(&[""])));
        let s = settings("services: [configuredServiceName]\ntags: [http, v1]");
        for (name, t, want) in [
            ("configuredServiceName", &[""][..], false),
            ("configuredServiceName", &["http", "v1"][..], true),
            ("nonConfiguredServiceName", &[""][..], false),
            ("nonConfiguredServiceName", &["http, v1"][..], false),
            ("configuredServiceName", &["http", "v1", "foo"][..], true),
            ("configuredServiceName", &["http", "v1", "v1"][..], true),
        ] {
            assert_eq!(s.should_watch(name, &tags(t)), want, "{name} {t:?}");
        }
        assert!(settings("{}").should_watch("nonConfiguredServiceName", &tags(&[""])));
    }
}
