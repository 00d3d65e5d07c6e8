//! The requests, on the kit: event polling between full refreshes, and the three paginated
//! lists of a full refresh.

use std::sync::{Arc, Mutex};

use promsd_actors::{BuildContext, Discoverer, TargetGroup};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::api::{Event, Instance, IpAddress, Ipv6Range, Page};
use super::targets::{check_addresses, group};
use super::{LinodeSdConfig, FAILURES};
use crate::discovery::kit::{self, ApiClient, ApiError, LazyClient};

/// Prometheus' page size for the three lists.
const PAGE_SIZE: u32 = 500;
/// Prometheus' page size for events (one page only).
const EVENTS_PAGE_SIZE: u32 = 25;
/// Polls without events after which Prometheus refreshes anyway.
const MAX_QUIET_POLLS: u32 = 10;

struct Settings {
    client: LazyClient,
    base_url: String,
    port: u64,
    region: String,
    tag_separator: String,
    state: Mutex<State>,
}

/// What Prometheus' `Discovery` remembers between refreshes.
struct State {
    last: Option<TargetGroup>,
    last_refresh: OffsetDateTime,
    poll_count: u32,
    event_polling: bool,
}

pub(super) fn discoverer(ctx: &BuildContext, config: &LinodeSdConfig) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let settings = Arc::new(Settings {
        // As in Prometheus, one request may take at most the refresh interval.
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        base_url: base_url(
            std::env::var("LINODE_URL").ok().as_deref(),
            std::env::var("LINODE_API_VERSION").ok().as_deref(),
        ),
        // Go's `strconv.FormatUint(uint64(port), 10)`.
        port: config.port as u64,
        region: config.region.clone(),
        tag_separator: config.tag_separator.clone(),
        state: Mutex::new(State {
            last: None,
            last_refresh: OffsetDateTime::now_utc(),
            poll_count: 0,
            event_polling: true,
        }),
    });
    kit::poll(ctx, "linode", interval, move || {
        let settings = settings.clone();
        async move { settings.refresh().await.map(|group| vec![group]) }
    })
}

/// linodego's base URL: `https://api.linode.com/v4`, or what `LINODE_URL` (its `SetBaseURL`:
/// scheme, host and path) and `LINODE_API_VERSION` say.
pub(super) fn base_url(env_url: Option<&str>, env_version: Option<&str>) -> String {
    let (mut proto, mut host) = ("https".to_owned(), "api.linode.com".to_owned());
    if let Some(url) = env_url {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        if !scheme.is_empty() {
            proto = scheme.to_owned();
        }
        host = rest.trim_end_matches('/').to_owned();
    }
    let version = env_version.unwrap_or("v4");
    format!("{proto}://{host}/{version}")
}

/// Go's `Time.Format("2006-01-02T15:04:05")`.
fn linode_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl Settings {
    /// Prometheus' `Discovery.refresh`.
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let started = OffsetDateTime::now_utc();
        let (polling, since) = {
            let state = self.state.lock().expect("poisoned");
            (
                state.last.is_some() && state.event_polling,
                state.last_refresh,
            )
        };
        let client = self.client.get().await?;
        let mut needs_refresh = true;
        if polling {
            let filter = format!("{{\"created\": {{\"+gte\": \"{}\"}}}}", linode_time(since));
            let events = client
                .get(format!(
                    "{}/account/events?page=1&page_size={EVENTS_PAGE_SIZE}",
                    self.base_url
                ))
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .header("X-Filter", filter)
                .fetch_json::<Page<Event>>()
                .await;
            let mut state = self.state.lock().expect("poisoned");
            match events {
                // A token without `events:read_only`: full refreshes from now on.
                Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                    state.event_polling = false
                }
                Err(e) => return Err(e),
                Ok(events) => {
                    state.poll_count += 1;
                    if events.data.is_empty() && state.poll_count < MAX_QUIET_POLLS {
                        needs_refresh = false;
                    }
                }
            }
        }
        if needs_refresh {
            let group = self.refresh_data(client).await.inspect_err(|_| {
                FAILURES.inc();
            })?;
            let mut state = self.state.lock().expect("poisoned");
            state.poll_count = 0;
            state.last = Some(group);
        }
        let mut state = self.state.lock().expect("poisoned");
        state.last_refresh = started;
        Ok(state.last.clone().unwrap_or_default())
    }

    /// Prometheus' `refreshData`: instances, addresses and IPv6 ranges, every page.
    async fn refresh_data(&self, client: &ApiClient) -> Result<TargetGroup, ApiError> {
        let instances: Vec<Instance> = self.all_pages(client, "linode/instances").await?;
        check_addresses(&instances).map_err(ApiError::Other)?;
        let ips: Vec<IpAddress> = self.all_pages(client, "networking/ips").await?;
        let ranges: Vec<Ipv6Range> = self.all_pages(client, "networking/ipv6/ranges").await?;
        let (port, separator) = (self.port, self.tag_separator.clone());
        tokio::task::spawn_blocking(move || group(&instances, &ips, &ranges, port, &separator))
            .await
            .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
    }

    /// linodego's `getPaginatedResults`: page 1, then up to the `pages` the answers state.
    async fn all_pages<T>(&self, client: &ApiClient, endpoint: &str) -> Result<Vec<T>, ApiError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        kit::collect_pages(1_i64, |page| {
            let mut request = client
                .get(format!(
                    "{}/{endpoint}?page={page}&page_size={PAGE_SIZE}",
                    self.base_url
                ))
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if !self.region.is_empty() {
                request =
                    request.header("X-Filter", format!("{{\"region\": \"{}\"}}", self.region));
            }
            async move {
                let answer: Page<T> = request.fetch_json().await?;
                Ok((answer.data, (page < answer.pages).then_some(page + 1)))
            }
        })
        .await
    }
}
