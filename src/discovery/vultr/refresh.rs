//! The requests, on the kit: every page of instances, cursor by cursor.

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, TargetGroup};

use super::api::{Instance, InstanceList};
use super::targets::group;
use super::{VultrSdConfig, ENDPOINT};
use crate::discovery::kit::{self, ApiError, LazyClient};

/// Prometheus' page size.
const PER_PAGE: u32 = 100;

struct Settings {
    client: LazyClient,
    port: u64,
    endpoint: String,
}

pub(super) fn discoverer(ctx: &BuildContext, config: &VultrSdConfig) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let settings = Arc::new(Settings {
        // As in Prometheus, one request may take at most the refresh interval.
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        // Go's `strconv.FormatUint(uint64(port), 10)`.
        port: config.port as u64,
        endpoint: ENDPOINT.to_owned(),
    });
    kit::poll(ctx, "vultr", interval, move || {
        let settings = settings.clone();
        async move { settings.refresh().await.map(|group| vec![group]) }
    })
}

impl Settings {
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let instances = self.instances().await?;
        let port = self.port;
        tokio::task::spawn_blocking(move || group(&instances, port))
            .await
            .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
    }

    /// Prometheus' `listInstances`: `per_page=100`, then the `meta.links.next` cursor until
    /// it is empty.
    async fn instances(&self) -> Result<Vec<Instance>, ApiError> {
        let client = self.client.get().await?;
        kit::collect_pages(String::new(), |cursor| {
            // govultr's `query.Values(ListOptions).Encode()`: keys sorted, Go's escaping.
            let query = if cursor.is_empty() {
                format!("per_page={PER_PAGE}")
            } else {
                format!("cursor={}&per_page={PER_PAGE}", go_query_escape(&cursor))
            };
            let request = client
                .get(format!("{}/v2/instances?{query}", self.endpoint))
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            async move {
                let response = request.send_raw().await?;
                // govultr accepts 200 to 204 only; Prometheus then wants any 2xx.
                let status = response.status.as_u16();
                if !(200..=204).contains(&status) {
                    return Err(response.into_status_error());
                }
                let page: InstanceList = response.json().await?;
                let next = page.meta.links.next;
                Ok((page.instances, (!next.is_empty()).then_some(next)))
            }
        })
        .await
    }
}

/// Go's `url.QueryEscape`: every byte but `[A-Za-z0-9-_.~]` percent-encoded, space as `+`.
pub(super) fn go_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
