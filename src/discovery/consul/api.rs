//! The three Consul HTTP API calls Consul SD makes, with the query parameters and headers of
//! Consul's Go client (`github.com/hashicorp/consul/api`), which Prometheus uses:
//! `/v1/agent/self` (the agent's datacenter), `/v1/catalog/services` and
//! `/v1/health/service/<name>`, the last two as blocking queries.
//!
//! Common to every call: `dc`, `ns` and `partition` when configured, and the token as
//! `X-Consul-Token`. Blocking queries add `index` (when not 0), `wait` (`<ms>ms`), `stale`
//! (when `allow_stale`), `node-meta` (`key:value`, one per pair) and `filter`; the health call
//! adds one `tag` per configured tag. A non-200 answer is the error
//! `Unexpected response code: <code> (<body>)`, as the Go client words it; a missing or
//! unparsable `X-Consul-Index` reads as 0, as the Go client ignores it. A body is read up to
//! the kit's limit (`kit::DEFAULT_BODY_LIMIT`, 100 MiB) and no further, answers and errors alike.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use reqwest::Url;
use tokio::time::Instant;

use super::{
    count_rpc_failure, observe_rpc, ConsulSdConfig, RpcLabels, SERVICES_CALL, SERVICE_CALL,
};
use crate::common::Secret;
use crate::discovery::kit::{ApiClient, ApiError};

/// The longest part of an error answer's body kept in the error message.
const MAX_ERROR_BODY: usize = 1024;

/// What a blocking query answered.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    /// `X-Consul-Index`, 0 when absent.
    pub index: u64,
    pub body: Bytes,
}

/// Where and how to ask Consul.
#[derive(Debug)]
pub(super) struct Api {
    http: ApiClient,
    base: Url,
    path_prefix: String,
    token: Secret,
    common: Vec<(&'static str, String)>,
    wait: Duration,
    allow_stale: bool,
    node_meta: Vec<String>,
    tags: Vec<String>,
    filter: String,
    health_filter: String,
}

/// `scheme://server/`, handling a scheme written in `server` as Consul's Go client does.
pub(super) fn base_url(server: &str, scheme: &str) -> Result<Url, String> {
    let (scheme, address) = match server.split_once("://") {
        // The Go client never turns https back into http.
        Some(("http", rest)) => (scheme, rest),
        Some(("https", rest)) => ("https", rest),
        Some(("unix", _)) => return Err("consul SD in promsd does not support unix sockets".into()),
        Some((other, _)) => return Err(format!("Unknown protocol scheme: {other}")),
        None => (scheme, server),
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("unsupported protocol scheme {scheme:?}"));
    }
    Url::parse(&format!("{scheme}://{address}/"))
        .map_err(|e| format!("invalid consul server address {server:?}: {e}"))
}

impl Api {
    /// Builds the API client; reads TLS files, so call it off the engine's thread.
    pub(super) fn new(c: &ConsulSdConfig, base: Url) -> Result<Self, String> {
        let http = ApiClient::new(
            &c.http_client_config,
            Some(c.watch_timeout + Duration::from_secs(15)),
        )?;
        let mut common = Vec::new();
        for (key, value) in [
            ("dc", &c.datacenter),
            ("ns", &c.namespace),
            ("partition", &c.partition),
        ] {
            if !value.is_empty() {
                common.push((key, value.clone()));
            }
        }
        Ok(Api {
            http,
            base,
            path_prefix: c.path_prefix.clone(),
            token: c.token.clone(),
            common,
            wait: c.watch_timeout,
            allow_stale: c.allow_stale,
            node_meta: c
                .node_meta
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect(),
            tags: c.tags.clone(),
            filter: c.filter.clone(),
            health_filter: c.health_filter.clone(),
        })
    }

    /// The URL of `path` with `params`, keys sorted as Go's `url.Values.Encode` does.
    fn url(&self, path: &str, params: BTreeMap<&str, Vec<String>>) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.path_prefix));
        if !params.is_empty() {
            let mut query = url.query_pairs_mut();
            for (key, values) in &params {
                for value in values {
                    query.append_pair(key, value);
                }
            }
        }
        url
    }

    fn params(&self) -> BTreeMap<&'static str, Vec<String>> {
        self.common
            .iter()
            .map(|(k, v)| (*k, vec![v.clone()]))
            .collect()
    }

    fn blocking_params(&self, index: u64, filter: &str) -> BTreeMap<&'static str, Vec<String>> {
        let mut params = self.params();
        if self.allow_stale {
            params.insert("stale", vec![String::new()]);
        }
        if index != 0 {
            params.insert("index", vec![index.to_string()]);
        }
        params.insert("wait", vec![format!("{}ms", self.wait.as_millis())]);
        if !filter.is_empty() {
            params.insert("filter", vec![filter.to_owned()]);
        }
        if !self.node_meta.is_empty() {
            params.insert("node-meta", self.node_meta.clone());
        }
        params
    }

    async fn get(&self, url: Url) -> Result<Answer, String> {
        let mut request = self.http.get(url.as_str());
        if !self.token.is_empty() {
            HeaderValue::from_str(self.token.expose())
                .map_err(|_| "the consul SD token is not a valid header value".to_owned())?;
            request = request.header("X-Consul-Token", self.token.expose());
        }
        // Consul has no body size setting in Prometheus: the kit's default limit holds, for
        // answers and errors alike.
        let response = match request.send_raw().await {
            Ok(response) => response,
            Err(ApiError::Transport { cause, .. }) => return Err(cause),
            Err(e) => return Err(e.to_string()),
        };
        let index = response
            .header("X-Consul-Index")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let body = response.body;
        if response.status != reqwest::StatusCode::OK {
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]);
            return Err(format!(
                "Unexpected response code: {} ({})",
                response.status.as_u16(),
                text.trim()
            ));
        }
        Ok(Answer { index, body })
    }

    /// A blocking query, timed and counted under `call`.
    async fn blocking(&self, url: Url, call: &RpcLabels) -> Result<Answer, String> {
        let started = Instant::now();
        let result = self.get(url).await;
        observe_rpc(call, started.elapsed().as_secs_f64());
        if result.is_err() {
            count_rpc_failure();
        }
        result
    }

    /// The agent's datacenter (`Config.Datacenter` of `/v1/agent/self`).
    pub(super) async fn agent_datacenter(&self) -> Result<String, String> {
        let url = self.url("/v1/agent/self", self.params());
        let answer = self.get(url).await.inspect_err(|_| count_rpc_failure())?;
        let info: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
        match &info["Config"]["Datacenter"] {
            serde_json::Value::String(dc) => Ok(dc.clone()),
            serde_json::Value::Null => {
                Err("invalid value '<nil>' for Config.Datacenter".to_owned())
            }
            other => Err(format!("invalid value '{other}' for Config.Datacenter")),
        }
    }

    /// `/v1/catalog/services`, waiting for a change after `index`.
    pub(super) async fn catalog_services(&self, index: u64) -> Result<Answer, String> {
        let url = self.url(
            "/v1/catalog/services",
            self.blocking_params(index, &self.filter),
        );
        self.blocking(url, &SERVICES_CALL).await
    }

    /// `/v1/health/service/<name>`, waiting for a change after `index`.
    pub(super) async fn health_service(&self, name: &str, index: u64) -> Result<Answer, String> {
        let mut params = self.blocking_params(index, &self.health_filter);
        if !self.tags.is_empty() {
            params.insert("tag", self.tags.clone());
        }
        let url = self.url(&format!("/v1/health/service/{name}"), params);
        self.blocking(url, &SERVICE_CALL).await
    }
}

/// The catalog's answer: service name → tags.
pub(super) fn parse_services(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let services: BTreeMap<String, Option<Vec<String>>> =
        serde_json::from_slice(body).map_err(|e| format!("invalid service list: {e}"))?;
    Ok(services
        .into_iter()
        .map(|(name, tags)| (name, tags.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_scheme_prefix_as_consul_client() {
        let url = |server: &str, scheme: &str| base_url(server, scheme).map(|u| u.to_string());
        assert_eq!(
            url("localhost:8500", "http").unwrap(),
            "http://localhost:8500/"
        );
        assert_eq!(url("https://c:8501", "http").unwrap(), "https://c:8501/");
        assert_eq!(url("http://c:8501", "https").unwrap(), "https://c:8501/");
        assert_eq!(url("[::1]:8500", "http").unwrap(), "http://[::1]:8500/");
        assert_eq!(
            url("ftp://c", "http").unwrap_err(),
            "Unknown protocol scheme: ftp"
        );
        assert_eq!(
            url("c:8500", "gopher").unwrap_err(),
            "unsupported protocol scheme \"gopher\""
        );
    }

    #[test]
    fn query_parameters_as_go_client() {
        let config: ConsulSdConfig = serde_yaml::from_str(
            "server: c:8500\npath_prefix: /consul\ndatacenter: dc1\nnamespace: ns1\ntags: [a, b]\nnode_meta: {rack: r1, az: z}\nfilter: 'Service == \"x\"'\nhealth_filter: 'Checks.Status == \"passing\"'\n",
        )
        .unwrap();
        let api = Api::new(&config, base_url(&config.server, &config.scheme).unwrap()).unwrap();
        let url = api.url("/v1/catalog/services", api.blocking_params(7, &api.filter));
        assert_eq!(
            url.as_str(),
            "http://c:8500/consul/v1/catalog/services?dc=dc1&filter=Service+%3D%3D+%22x%22&index=7&node-meta=az%3Az&node-meta=rack%3Ar1&ns=ns1&stale=&wait=120000ms"
        );
        let mut params = api.blocking_params(0, &api.health_filter);
        params.insert("tag", api.tags.clone());
        let url = api.url("/v1/health/service/my web", params);
        assert_eq!(
            url.as_str(),
            "http://c:8500/consul/v1/health/service/my%20web?dc=dc1&filter=Checks.Status+%3D%3D+%22passing%22&node-meta=az%3Az&node-meta=rack%3Ar1&ns=ns1&stale=&tag=a&tag=b&wait=120000ms"
        );
    }
}
