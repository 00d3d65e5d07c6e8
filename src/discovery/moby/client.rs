//! A Docker Engine API client as Prometheus uses the Go one (`github.com/moby/moby/client`
//! v0.5.1): the daemon reached over the transport its `host` names, the API version negotiated
//! with `/_ping` before the first request, list filters encoded as that client encodes them.
//!
//! - `unix:///path`: HTTP over the unix socket (`Host: api.moby.localhost`), without
//!   Prometheus' HTTP settings (Prometheus passes them only for `http`/`https`).
//! - `http://` and `https://`: Prometheus' HTTP settings (auth, TLS, proxy, headers).
//! - `tcp://` (or any other scheme but `npipe`): plain HTTP over TCP, proxy from the
//!   environment, without Prometheus' HTTP settings; a path after the address is a prefix of
//!   every API path, as the Go client has it.
//! - Version negotiation: `HEAD /_ping` (then `GET /_ping` if that fails); the daemon's
//!   `Api-Version` header, capped at [`MAX_API_VERSION`], becomes the path prefix
//!   (`/v1.40/containers/json`); without the header, [`MAX_API_VERSION`]. A daemon below
//!   [`MIN_API_VERSION`] or a failed ping leaves negotiation for the next request, which meanwhile
//!   uses [`MAX_API_VERSION`]. Once negotiated, the version is kept for the client's life.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;

use super::api;
use crate::common::http_config::HttpClientConfig;
pub use crate::discovery::kit::query_escape;
use crate::discovery::kit::{ApiClient, ApiError};

/// The highest API version the Go client speaks (`client.MaxAPIVersion`).
pub const MAX_API_VERSION: (u32, u32) = (1, 55);
/// The lowest API version the Go client negotiates (`client.MinAPIVersion`).
pub const MIN_API_VERSION: (u32, u32) = (1, 40);

/// The host name sent over a unix socket (`client.DummyHost`).
const DUMMY_HOST: &str = "api.moby.localhost";

/// The longest unix socket path (`sizeof(sockaddr_un.sun_path)` on Linux).
const MAX_UNIX_SOCKET_PATH: usize = 108;

/// The User-Agent of the Go client where Prometheus does not set its own (unix, tcp).
fn moby_user_agent() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("moby-client/v0.5.1 {}/{arch}", std::env::consts::OS)
}

/// Where and how the daemon is reached, from a config's `host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTP over a unix socket at this path.
    Unix(String),
    /// HTTP(S) with Prometheus' HTTP client settings: the base URL (`https://host:port`).
    Http(String),
    /// Plain HTTP over TCP with the environment's proxy: the base URL.
    Tcp(String),
}

impl Transport {
    /// `client.WithHost` (`ParseHostURL` and the transport's checks), with its messages.
    pub fn parse(host: &str) -> Result<Transport, String> {
        let (proto, addr) = match host.split_once("://") {
            Some((proto, addr)) if !addr.is_empty() => (proto, addr),
            _ => return Err(format!("unable to parse docker host `{host}`")),
        };
        match proto {
            "unix" => {
                if addr.len() > MAX_UNIX_SOCKET_PATH {
                    return Err(format!("unix socket path {addr:?} is too long"));
                }
                Ok(Transport::Unix(addr.to_owned()))
            }
            "npipe" => Err("protocol not available".to_owned()),
            "http" | "https" => Ok(Transport::Http(format!(
                "{proto}://{}",
                addr.trim_end_matches('/')
            ))),
            "tcp" => {
                let parsed = url::Url::parse(&format!("http://{addr}"))
                    .map_err(|e| format!("parse \"tcp://{addr}\": {e}"))?;
                let authority = &addr[..addr.find('/').unwrap_or(addr.len())];
                let path = parsed.path().trim_end_matches('/');
                Ok(Transport::Tcp(format!("http://{authority}{path}")))
            }
            // Any other scheme is TCP for the Go client, spoken as plain HTTP.
            _ => Ok(Transport::Tcp(format!(
                "http://{}",
                addr.trim_end_matches('/')
            ))),
        }
    }
}

/// `filters.Args` as the Go client sends it: `{"term":{"value":true,...},...}` with keys in
/// byte order and strings escaped as Go's `encoding/json` does; `None` without any value.
pub fn encode_filters(filters: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let terms: BTreeMap<&str, std::collections::BTreeSet<&str>> = filters
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    if terms.is_empty() {
        return None;
    }
    let mut out = String::from("{");
    for (i, (term, values)) in terms.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_json_string(&mut out, term);
        out.push_str(":{");
        for (j, value) in values.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            go_json_string(&mut out, value);
            out.push_str(":true");
        }
        out.push('}');
    }
    out.push('}');
    Some(out)
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe: `<`, `>`, `&` escaped).
fn go_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `parseAPIVersion`: `<major>.<minor>`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A client for one discoverer: its transport and its negotiated API version.
pub struct DockerClient {
    api: ApiClient,
    base: String,
    user_agent: Option<String>,
    /// The negotiated version, once negotiation succeeded.
    version: Mutex<Option<(u32, u32)>>,
}

impl DockerClient {
    /// Builds the client (reads CA files and keys: call it off the engine's thread).
    pub fn new(
        transport: &Transport,
        http: &HttpClientConfig,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (api, base, user_agent) = match transport {
            Transport::Unix(path) => (
                ApiClient::new_unix(&HttpClientConfig::default(), Some(timeout), path.as_str())?,
                format!("http://{DUMMY_HOST}"),
                Some(moby_user_agent()),
            ),
            Transport::Http(base) => (ApiClient::new(http, Some(timeout))?, base.clone(), None),
            Transport::Tcp(base) => (
                ApiClient::from_env(Some(timeout))?,
                base.clone(),
                Some(moby_user_agent()),
            ),
        };
        Ok(DockerClient {
            api,
            base,
            user_agent,
            version: Mutex::new(None),
        })
    }

    fn request(&self, method: Method, path_and_query: &str) -> crate::discovery::kit::ApiRequest {
        let request = self
            .api
            .request(method, format!("{}{path_and_query}", self.base));
        match &self.user_agent {
            Some(ua) => request.header("User-Agent", ua),
            None => request,
        }
    }

    /// `Ping` with negotiation: the daemon's API version, if it answered.
    async fn ping(&self) -> Result<Option<String>, ApiError> {
        let answer = match self.request(Method::HEAD, "/_ping").send().await {
            Ok(answer) if answer.status == reqwest::StatusCode::OK => answer,
            // HEAD failed or answered something else: GET, whose error counts.
            _ => self.request(Method::GET, "/_ping").send().await?,
        };
        Ok(answer
            .header("Api-Version")
            .filter(|v| !v.is_empty())
            .map(str::to_owned))
    }

    /// The version prefix of API paths, negotiating it first if needed.
    async fn version(&self) -> (u32, u32) {
        if let Some(v) = *self.version.lock().expect("poisoned") {
            return v;
        }
        let negotiated = match self.ping().await {
            Ok(None) => Some(MAX_API_VERSION),
            Ok(Some(text)) => match parse_version(&text) {
                Some(v) if v >= MIN_API_VERSION => Some(v.min(MAX_API_VERSION)),
                _ => None,
            },
            Err(_) => None,
        };
        if let Some(v) = negotiated {
            *self.version.lock().expect("poisoned") = Some(v);
        }
        negotiated.unwrap_or(MAX_API_VERSION)
    }

    /// `GET /v<version><path>` with the filters, if any, decoded as a JSON list.
    pub async fn list<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        filters: Option<&str>,
    ) -> Result<Vec<T>, String> {
        let (major, minor) = self.version().await;
        let mut target = format!("/v{major}.{minor}{path}");
        if let Some(filters) = filters {
            target.push_str("?filters=");
            target.push_str(&query_escape(filters));
        }
        let answer = self
            .request(Method::GET, &target)
            .send()
            .await
            .map_err(daemon_error)?;
        let url = answer.url.clone();
        let body = answer.body;
        tokio::task::spawn_blocking(move || api::decode_list::<T>(&body))
            .await
            .map_err(|e| format!("decoding panicked: {e}"))?
            .map_err(|e| format!("decoding the answer of {url}: {e}"))
    }
}

/// An error answer as the Go client words it (`Error response from daemon: <message>`), with
/// the request for context.
fn daemon_error(e: ApiError) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorResponse {
        message: String,
    }
    match &e {
        ApiError::Status {
            method, url, body, ..
        } => match serde_json::from_str::<ErrorResponse>(body) {
            Ok(r) if !r.message.is_empty() => {
                format!(
                    "{method} {url}: Error response from daemon: {}",
                    r.message.trim()
                )
            }
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_encoded_as_the_go_client_does() {
        let mut f = BTreeMap::new();
        f.insert(
            "name".to_owned(),
            vec!["mon_node-exporter".to_owned(), "mon_grafana".to_owned()],
        );
        let encoded = encode_filters(&f).unwrap();
        assert_eq!(
            encoded,
            r#"{"name":{"mon_grafana":true,"mon_node-exporter":true}}"#
        );
        assert_eq!(
            query_escape(&encoded),
            "%7B%22name%22%3A%7B%22mon_grafana%22%3Atrue%2C%22mon_node-exporter%22%3Atrue%7D%7D"
        );
        f.insert("label".to_owned(), vec!["a<b&c>\"\u{1}".to_owned()]);
        f.insert("empty".to_owned(), vec![]);
        assert_eq!(
            encode_filters(&f).unwrap(),
            r#"{"label":{"a\u003cb\u0026c\u003e\"\u0001":true},"name":{"mon_grafana":true,"mon_node-exporter":true}}"#
        );
        assert_eq!(encode_filters(&BTreeMap::new()), None);
        assert_eq!(query_escape("a b*~"), "a+b%2A~");
    }

    #[test]
    fn hosts_name_their_transport() {
        assert_eq!(
            Transport::parse("unix:///var/run/docker.sock"),
            Ok(Transport::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            Transport::parse("tcp://127.0.0.1:2375"),
            Ok(Transport::Tcp("http://127.0.0.1:2375".into()))
        );
        assert_eq!(
            Transport::parse("tcp://127.0.0.1:2375/base/"),
            Ok(Transport::Tcp("http://127.0.0.1:2375/base".into()))
        );
        assert_eq!(
            Transport::parse("https://docker:2376"),
            Ok(Transport::Http("https://docker:2376".into()))
        );
        assert_eq!(
            Transport::parse("localhost:2375"),
            Err("unable to parse docker host `localhost:2375`".into())
        );
        assert!(Transport::parse(&format!("unix:///{}", "a".repeat(120))).is_err());
    }
}
