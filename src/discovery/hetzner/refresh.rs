//! The requests of each role, on the kit: a refresh reads every page and builds the one group.

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, TargetGroup};
use serde::de::DeserializeOwned;

use super::api::{Meta, Network, NetworkList, RobotEntry, Server, ServerList};
use super::targets::{hcloud_group, robot_group};
use super::{HetznerSdConfig, Role, HCLOUD_ENDPOINT, ROBOT_ENDPOINT};
use crate::discovery::kit::{self, ApiError, LazyClient};

/// hcloud-go's page size for `AllWithOpts`, which Prometheus keeps.
const PER_PAGE: u32 = 50;

/// What one discoverer needs.
struct Settings {
    client: LazyClient,
    role: Role,
    port: u64,
    label_selector: String,
    hcloud_endpoint: String,
    robot_endpoint: String,
}

pub(super) fn discoverer(ctx: &BuildContext, config: &HetznerSdConfig, role: Role) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let settings = Arc::new(Settings {
        // As in Prometheus, one request may take at most the refresh interval.
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        role,
        // Go's `strconv.FormatUint(uint64(port), 10)`.
        port: config.port as u64,
        label_selector: config.label_selector.clone(),
        hcloud_endpoint: HCLOUD_ENDPOINT.to_owned(),
        robot_endpoint: ROBOT_ENDPOINT.to_owned(),
    });
    kit::poll(ctx, "hetzner", interval, move || {
        let settings = settings.clone();
        async move { settings.refresh().await.map(|group| vec![group]) }
    })
}

impl Settings {
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        match self.role {
            Role::Hcloud => {
                let servers: Vec<Server> = self
                    .all_pages("servers", |body: ServerList| {
                        (body.servers, next_page(&body.meta))
                    })
                    .await?;
                let networks: Vec<Network> = self
                    .all_pages("networks", |body: NetworkList| {
                        (body.networks, next_page(&body.meta))
                    })
                    .await?;
                let port = self.port;
                blocking(move || hcloud_group(&servers, &networks, port)).await
            }
            Role::Robot => {
                let client = self.client.get().await?;
                let response = client
                    .get(format!("{}/server", self.robot_endpoint))
                    .send_raw()
                    .await?;
                if !response.status.is_success() {
                    return Err(ApiError::Other(format!(
                        "non 2xx status '{}' response during hetzner service discovery with role robot",
                        response.status.as_u16()
                    )));
                }
                let entries: Vec<RobotEntry> = response.json().await?;
                let port = self.port;
                blocking(move || robot_group(&entries, port)).await
            }
        }
    }

    /// Every page of a Cloud API list (`servers` or `networks`), as hcloud-go's `iterPages`:
    /// from page 1, then `meta.pagination.next_page` until it is 0 or absent.
    async fn all_pages<L, T>(
        &self,
        resource: &str,
        split: fn(L) -> (Vec<T>, i64),
    ) -> Result<Vec<T>, ApiError>
    where
        L: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let client = self.client.get().await?;
        kit::collect_pages(1_i64, |page| {
            // hcloud-go's `ListOpts.Values().Encode()`: keys sorted, Go's query escaping.
            let mut query = Vec::new();
            if !self.label_selector.is_empty() && resource == "servers" {
                query.push(format!(
                    "label_selector={}",
                    go_query_escape(&self.label_selector)
                ));
            }
            query.push(format!("page={page}"));
            query.push(format!("per_page={PER_PAGE}"));
            let url = format!("{}/{resource}?{}", self.hcloud_endpoint, query.join("&"));
            let request = client.get(url).header("Accept", "application/json");
            async move {
                let response = request.send().await?;
                // hcloud-go reads the pagination only from a JSON answer.
                let is_json = response
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("application/json"))
                    && !response.body.is_empty();
                let (items, next) = split(response.json::<L>().await?);
                let next = if is_json { next } else { 0 };
                Ok((items, (next != 0).then_some(next)))
            }
        })
        .await
    }
}

fn next_page(meta: &Meta) -> i64 {
    meta.pagination.as_ref().map_or(0, |p| p.next_page)
}

/// Runs target building on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
}

/// Go's `url.QueryEscape`: every byte but `[A-Za-z0-9-_.~]` percent-encoded, space as `+`.
pub fn go_query_escape(s: &str) -> String {
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
