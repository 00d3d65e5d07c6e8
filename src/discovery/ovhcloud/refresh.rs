//! One OVHcloud refresh on the kit: the server clock (`/auth/time`), the list of names, then
//! each server's details and IPs, every request signed as go-ovh signs it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use promsd_actors::{BuildContext, Discoverer, TargetGroup};
use serde::de::DeserializeOwned;

use super::api::{DedicatedServer, Server, Vps};
use super::targets::{group, parse_ip_list};
use super::{endpoint_url, OvhcloudSdConfig, Service};
use crate::discovery::kit::query_escape;
use crate::discovery::kit::{self, ApiClient, ApiError, LazyClient};

/// go-ovh's `DefaultTimeout`.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Details fetched at once (Prometheus fetches them one by one; the order is kept).
const CONCURRENCY: usize = 8;

pub(super) fn discoverer(ctx: &BuildContext, config: &OvhcloudSdConfig) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let state = Arc::new(State {
        config: config.clone(),
        client: LazyClient::new(|| ApiClient::from_env(Some(TIMEOUT))),
    });
    kit::poll(ctx, "ovhcloud", interval, move || {
        let state = state.clone();
        async move { state.refresh().await.map(|g| vec![g]) }
    })
}

struct State {
    config: OvhcloudSdConfig,
    client: LazyClient,
}

/// A go-ovh client of one refresh: base URL, credentials and the clock offset.
pub struct Session<'a> {
    api: &'a ApiClient,
    base: String,
    config: &'a OvhcloudSdConfig,
    /// Local clock minus server clock, in nanoseconds.
    delta_ns: i128,
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// go-ovh's signature: `$1$` + hex(sha1(secret+consumer+method+target+body+timestamp)).
pub fn signature(
    secret: &str,
    consumer: &str,
    method: &str,
    target: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let text = format!("{secret}+{consumer}+{method}+{target}+{body}+{timestamp}");
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes());
    let mut out = String::from("$1$");
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Go's `path.Join(prefix, url.QueryEscape(name), rest...)` for a clean absolute `prefix`:
/// the escaped name may only be empty, `.` or `..` to need cleaning.
pub fn server_path(prefix: &str, name: &str, rest: &str) -> String {
    let escaped = query_escape(name);
    let mut path = match escaped.as_str() {
        "" | "." => prefix.to_owned(),
        ".." => match prefix.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(i) => prefix[..i].to_owned(),
        },
        _ => format!("{prefix}/{escaped}"),
    };
    if !rest.is_empty() {
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(rest);
    }
    path
}

impl<'a> Session<'a> {
    /// go-ovh's `getTarget`.
    fn target(&self, path: &str) -> String {
        if self.base.ends_with("/1.0") && (path.starts_with("/v1/") || path.starts_with("/v2/")) {
            return format!("{}{path}", &self.base[..self.base.len() - 4]);
        }
        format!("{}{path}", self.base)
    }

    /// A new client's first step: `GET /auth/time`, unsigned.
    async fn start(
        api: &'a ApiClient,
        config: &'a OvhcloudSdConfig,
    ) -> Result<Session<'a>, ApiError> {
        let base = endpoint_url(&config.endpoint)?;
        let mut session = Session {
            api,
            base,
            config,
            delta_ns: 0,
        };
        let response = api
            .get(session.target("/auth/time"))
            .header("X-Ovh-Application", &config.application_key)
            .header("Accept", "application/json")
            .send()
            .await?;
        // go-ovh leaves the timestamp at 0 when the body is empty.
        let server: i64 = if response.body.is_empty() {
            0
        } else {
            serde_json::from_slice(&response.body)
                .map_err(|e| ApiError::Other(format!("decoding /auth/time: {e}")))?
        };
        session.delta_ns = now_ns() - i128::from(server) * 1_000_000_000;
        Ok(session)
    }

    /// A signed GET, decoded as go-ovh does (an empty body is the zero value).
    async fn get<T: DeserializeOwned + Default + Send + 'static>(
        &self,
        path: &str,
    ) -> Result<T, ApiError> {
        let target = self.target(path);
        let timestamp = (now_ns() - self.delta_ns).div_euclid(1_000_000_000) as i64;
        let c = self.config;
        let sig = signature(
            c.application_secret.expose(),
            c.consumer_key.expose(),
            "GET",
            &target,
            "",
            timestamp,
        );
        let response = self
            .api
            .get(target)
            .header("X-Ovh-Application", &c.application_key)
            .header("Accept", "application/json")
            .header("X-Ovh-Timestamp", timestamp.to_string())
            .header("X-Ovh-Consumer", c.consumer_key.expose())
            .header("X-Ovh-Signature", sig)
            .send()
            .await?;
        if response.body.is_empty() {
            return Ok(T::default());
        }
        response.json().await
    }

    async fn server(&self, service: Service, name: &str) -> Result<(Server, Vec<IpAddr>), String> {
        let prefix = match service {
            Service::Vps => "/vps",
            Service::DedicatedServer => "/dedicated/server",
        };
        let details = server_path(prefix, name, "");
        let server = match service {
            Service::Vps => {
                Server::Vps(self.get::<Vps>(&details).await.map_err(|e| e.to_string())?)
            }
            Service::DedicatedServer => Server::Dedicated(
                self.get::<DedicatedServer>(&details)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
        };
        let ips: Vec<String> = self
            .get(&server_path(prefix, name, "ips"))
            .await
            .map_err(|e| e.to_string())?;
        Ok((server, parse_ip_list(&ips)?))
    }
}

impl State {
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let api = self.client.get().await?;
        let session = Session::start(api, &self.config).await?;
        let service = self.config.service;
        let list = match service {
            Service::Vps => "/vps",
            Service::DedicatedServer => "/dedicated/server",
        };
        let names: Vec<String> = session.get(list).await?;
        let session = &session;
        let found: Vec<_> = futures::stream::iter(names)
            .map(|name| async move {
                let result = session.server(service, &name).await;
                if let Err(e) = &result {
                    tracing::warn!(
                        "ovhcloud_{}: Could not get details of {name}: {e}",
                        service.as_str()
                    );
                }
                result.ok()
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let servers: Vec<_> = found.into_iter().flatten().collect();
        tokio::task::spawn_blocking(move || group(service, &servers))
            .await
            .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
    }
}
