//! Uyuni SD (`uyuni_sd_configs`): the monitoring endpoints of systems managed by Uyuni (or SUSE
//! Manager), read over its XML-RPC API as Prometheus' `discovery/uyuni` reads them.
//!
//! # Semantics (Prometheus')
//! - The API is `<server>/rpc/api` (the server URL's path joined with `/rpc/api`), called with
//!   POSTs of XML-RPC (see [`xmlrpc`]) through the common HTTP client settings; cookies set by
//!   an answer go with the later calls of the same refresh.
//! - Every `refresh_interval` (default 1m): `auth.login(username, password, 600)` when there is
//!   no token or it is 5 minutes old (a token lives 10 minutes); then
//!   `system.listSystemGroupsForSystemsWithEntitlement(token, entitlement)` (default
//!   `monitoring_entitled`), `system.monitoring.listEndpoints(token, [system ids])` and
//!   `system.getNetworkForSystems(token, [system ids])`, system ids as XML-RPC integers. A
//!   failed call fails the refresh and forces a new login at the next one. Errors carry
//!   Prometheus' prefixes (`unable to login to Uyuni API: `, ...) and the Go client's messages
//!   (`request error: bad status code - 500`, `Fault(<code>): <string>`).
//! - All endpoints are targets of one group whose source is the API URL; see [`targets`].
//! - Config checks, in order and with Prometheus' messages: server, server URL, username,
//!   password, then the HTTP client settings.
//!
//! # Where promsd differs
//! - System ids are sent in the order of the groups answer (Prometheus sends them in Go's
//!   random map order).
//! - A `refresh_interval` of zero is a config error (Prometheus would crash).
//! - Failures keep the last good state; the engine's refresh helper retries with capped backoff.

pub mod targets;
pub mod xmlrpc;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, LabelSet, TargetGroup,
};
use serde::{Deserialize, Serialize, Serializer};

use super::kit::{self, ApiError, LazyClient};
use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};
use xmlrpc::{Param, Value};

/// How long a token lives (Prometheus' `tokenDuration`); a new one is asked at half of it.
const TOKEN_DURATION: StdDuration = StdDuration::from_secs(600);

/// One `uyuni_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct UyuniSdConfig {
    /// The Uyuni server's URL (`/rpc/api` is joined to its path).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub server: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub username: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub password: Secret,
    /// The entitlement systems must have (default `monitoring_entitled`).
    #[serde(default = "default_entitlement", deserialize_with = "null_as_zero")]
    pub entitlement: String,
    /// Joins the group names in `__meta_uyuni_groups` (default `,`).
    #[serde(default = "default_separator", deserialize_with = "null_as_zero")]
    pub separator: String,
    /// How often the systems are read (default 1m).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(UyuniSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_entitlement() -> String {
    "monitoring_entitled".into()
}
fn default_separator() -> String {
    ",".into()
}
fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages.
fn validate(c: &mut UyuniSdConfig) -> Result<(), String> {
    if c.server.is_empty() {
        return Err("Uyuni SD configuration requires server host".into());
    }
    // Go's url.Parse accepts nearly anything; what it rejects the url crate rejects too, but
    // a relative reference (`server`) it accepts.
    match url::Url::parse(&c.server) {
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {}
        Err(e) => return Err(format!("Uyuni Server URL is not valid: {e}")),
    }
    if c.username.is_empty() {
        return Err("Uyuni SD configuration requires a username".into());
    }
    if c.password.is_empty() {
        return Err("Uyuni SD configuration requires a password".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

/// The API URL: the server URL with `/rpc/api` joined to its path (Go's `path.Join`).
pub fn api_url(server: &str) -> String {
    let (rest, fragment) = match server.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (server, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (prefix, path) = match rest.split_once("://") {
        Some((scheme, after)) => match after.find('/') {
            Some(i) => (format!("{scheme}://{}", &after[..i]), &after[i..]),
            None => (format!("{scheme}://{after}"), ""),
        },
        None => (String::new(), rest),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').chain(["rpc", "api"]) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let rooted = !prefix.is_empty() || path.starts_with('/');
    let mut url = format!(
        "{prefix}{}{}",
        if rooted { "/" } else { "" },
        segments.join("/")
    );
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

impl Serialize for UyuniSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            server: &'a str,
            username: &'a str,
            password: &'a Secret,
            entitlement: &'a str,
            separator: &'a str,
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            server: &self.server,
            username: &self.username,
            password: &self.password,
            entitlement: &self.entitlement,
            separator: &self.separator,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for UyuniSdConfig {
    fn mechanism(&self) -> &'static str {
        "uyuni"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let source = Arc::new(Source {
            client: LazyClient::from_config(self.http_client_config.clone(), None),
            url: api_url(&self.server),
            username: self.username.clone(),
            password: self.password.clone(),
            entitlement: self.entitlement.clone(),
            separator: self.separator.clone(),
            token: Mutex::new(None),
        });
        Ok(kit::poll(
            ctx,
            "uyuni",
            self.refresh_interval.as_std(),
            move || {
                let source = source.clone();
                async move { source.refresh().await }
            },
        ))
    }
}

/// What a refresh needs, and the session token kept between refreshes.
struct Source {
    client: LazyClient,
    url: String,
    username: String,
    password: Secret,
    entitlement: String,
    separator: String,
    /// The token and when to ask for a new one.
    token: Mutex<Option<(String, Instant)>>,
}

/// One refresh's calls, with the cookies its answers set (kolo/xmlrpc's per-client jar).
struct Session<'a> {
    source: &'a Source,
    cookies: Vec<(String, String)>,
}

impl Session<'_> {
    async fn call(&mut self, method: &str, params: &[Param<'_>]) -> Result<Value, ApiError> {
        let body = xmlrpc::method_call(method, params);
        let mut request = self
            .source
            .client
            .get()
            .await?
            .post(self.source.url.as_str())
            .body(body, "text/xml");
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header("Cookie", cookie);
        }
        let response = request.send_raw().await?;
        for set in response.headers.get_all("set-cookie") {
            let Some((name, value)) = set
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            self.cookies.retain(|(n, _)| *n != name);
            self.cookies.push((name, value));
        }
        if !response.status.is_success() {
            return Err(ApiError::Other(format!(
                "request error: bad status code - {}",
                response.status.as_u16()
            )));
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        tokio::task::spawn_blocking(move || xmlrpc::response(&text))
            .await
            .map_err(|e| ApiError::Other(format!("decoding panicked: {e}")))?
            .map_err(ApiError::Other)
    }
}

fn prefixed(prefix: &str) -> impl Fn(ApiError) -> ApiError + '_ {
    move |e| ApiError::Other(format!("{prefix}: {e}"))
}

impl Source {
    async fn refresh(self: Arc<Self>) -> Result<Vec<TargetGroup>, ApiError> {
        let mut session = Session {
            source: &self,
            cookies: Vec::new(),
        };
        let cached = self
            .token
            .lock()
            .expect("poisoned")
            .clone()
            .filter(|(_, renew_at)| Instant::now() < *renew_at);
        let token = match cached {
            Some((token, _)) => token,
            None => {
                let answer = session
                    .call(
                        "auth.login",
                        &[
                            Param::Str(&self.username),
                            Param::Str(self.password.expose()),
                            Param::Int(TOKEN_DURATION.as_secs() as i64),
                        ],
                    )
                    .await
                    .map_err(prefixed("unable to login to Uyuni API"))?;
                let token = answer
                    .as_str()
                    .map_err(|e| ApiError::Other(format!("unable to login to Uyuni API: {e}")))?
                    .to_owned();
                *self.token.lock().expect("poisoned") =
                    Some((token.clone(), Instant::now() + TOKEN_DURATION / 2));
                token
            }
        };
        match self.targets(&mut session, &token).await {
            Ok(targets) => Ok(vec![TargetGroup::new(
                self.url.as_str(),
                targets,
                LabelSet::new(),
            )]),
            Err(e) => {
                // Force the renewal of the token at the next refresh.
                *self.token.lock().expect("poisoned") = None;
                Err(e)
            }
        }
    }

    async fn targets(
        &self,
        session: &mut Session<'_>,
        token: &str,
    ) -> Result<Vec<LabelSet>, ApiError> {
        let groups_prefix =
            "unable to get the managed system groups information of monitored clients";
        let answer = session
            .call(
                "system.listSystemGroupsForSystemsWithEntitlement",
                &[Param::Str(token), Param::Str(&self.entitlement)],
            )
            .await
            .map_err(prefixed(groups_prefix))?;
        let (ids, groups) =
            decode_groups(&answer).map_err(|e| ApiError::Other(format!("{groups_prefix}: {e}")))?;

        let endpoints_prefix = "unable to get endpoints information";
        let answer = session
            .call(
                "system.monitoring.listEndpoints",
                &[Param::Str(token), Param::Ints(&ids)],
            )
            .await
            .map_err(prefixed(endpoints_prefix))?;
        let endpoints = decode_endpoints(&answer)
            .map_err(|e| ApiError::Other(format!("{endpoints_prefix}: {e}")))?;

        let network_prefix = "unable to get the systems network information";
        let answer = session
            .call(
                "system.getNetworkForSystems",
                &[Param::Str(token), Param::Ints(&ids)],
            )
            .await
            .map_err(prefixed(network_prefix))?;
        let networks = decode_networks(&answer)
            .map_err(|e| ApiError::Other(format!("{network_prefix}: {e}")))?;

        Ok(targets::targets(
            &endpoints,
            &groups,
            &networks,
            &self.separator,
        ))
    }
}

/// Each system's group names, by system id.
pub type GroupsBySystem = HashMap<i64, Vec<String>>;

/// `system.listSystemGroupsForSystemsWithEntitlement`: the system ids (in answer order, each
/// once) and each system's group names.
pub fn decode_groups(answer: &Value) -> Result<(Vec<i64>, GroupsBySystem), String> {
    let mut ids = Vec::new();
    let mut groups = HashMap::new();
    for system in answer.as_array()? {
        let id = system.member("id")?.as_int()?;
        let names = system
            .member("system_groups")?
            .as_array()?
            .iter()
            .map(|g| {
                g.member("id")?.as_int()?;
                g.member("name")?.as_str().map(str::to_owned)
            })
            .collect::<Result<Vec<String>, String>>()?;
        if groups.insert(id, names).is_none() {
            ids.push(id);
        }
    }
    Ok((ids, groups))
}

/// `system.monitoring.listEndpoints`.
pub fn decode_endpoints(answer: &Value) -> Result<Vec<targets::Endpoint>, String> {
    answer
        .as_array()?
        .iter()
        .map(|e| {
            Ok(targets::Endpoint {
                system_id: e.member("system_id")?.as_int()?,
                endpoint_name: e.member("endpoint_name")?.as_str()?.to_owned(),
                port: e.member("port")?.as_int()?,
                path: e.member("path")?.as_str()?.to_owned(),
                module: e.member("module")?.as_str()?.to_owned(),
                exporter_name: e.member("exporter_name")?.as_str()?.to_owned(),
                tls_enabled: e.member("tls_enabled")?.as_bool()?,
            })
        })
        .collect()
}

/// `system.getNetworkForSystems`, by system id.
pub fn decode_networks(answer: &Value) -> Result<HashMap<i64, targets::Network>, String> {
    let mut networks = HashMap::new();
    for n in answer.as_array()? {
        n.member("ip")?.as_str()?;
        networks.insert(
            n.member("system_id")?.as_int()?,
            targets::Network {
                hostname: n.member("hostname")?.as_str()?.to_owned(),
                primary_fqdn: n.member("primary_fqdn")?.as_str()?.to_owned(),
            },
        );
    }
    Ok(networks)
}

impl SdConfig for UyuniSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests;
