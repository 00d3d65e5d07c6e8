//! The kit's API client: requests built, signed, sent and checked the same way for every
//! mechanism, on top of `common::http_client` (which applies Prometheus' client settings).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::common::http_client::{describe_error, ClientOptions, HttpClient};
use crate::common::http_config::HttpClientConfig;

/// The largest response body read unless a request says otherwise.
pub const DEFAULT_BODY_LIMIT: u64 = 100 * 1024 * 1024;

/// Why [`read_body`] read no body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The body (as announced by `Content-Length`, or as read so far) is over the limit.
    TooLarge,
    /// The connection failed while reading.
    Read(String),
}

/// Reads a response's whole body, but never more than `limit` bytes: an announced length over
/// it fails before reading, a streamed body as soon as it passes it. Every mechanism's
/// responses are read through here (the kit's requests, HTTP SD, Consul), so that no server
/// can make promsd hold an unbounded body.
pub async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|l| l > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(describe_error(&e)))?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a request failed.
#[derive(Clone, Debug)]
pub enum ApiError {
    /// No answer: connection, TLS, proxy, timeout. `request` is `<METHOD> <url>` (password
    /// redacted); `cause` is the transport's own message, for mechanisms whose Prometheus
    /// message carries no request.
    Transport { request: String, cause: String },
    /// An answer with a status outside 2xx; `body` holds its start, for the message.
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        body: String,
    },
    /// A body larger than the request's limit.
    TooLarge { url: String, limit: u64 },
    /// A body that does not decode.
    Decode { url: String, message: String },
    /// Anything else a mechanism reports (a signer's failure, a missing field, ...).
    Other(String),
}

impl ApiError {
    /// The server asked us to slow down (429, or a 503 that APIs use for throttling). The
    /// refresh helper backs off after every failure; this only says why.
    pub fn is_throttled(&self) -> bool {
        matches!(self, ApiError::Status { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS)
    }

    /// The status of an answer outside 2xx.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport { request, cause } => write!(f, "{request}: {cause}"),
            ApiError::Other(m) => f.write_str(m),
            ApiError::Status {
                method,
                url,
                status,
                body,
            } => {
                write!(f, "{method} {url}: server returned HTTP status {status}")?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            ApiError::TooLarge { url, limit } => {
                write!(
                    f,
                    "response body from {url} exceeds the limit of {limit} bytes"
                )
            }
            ApiError::Decode { url, message } => {
                write!(f, "decoding the answer of {url}: {message}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

impl From<String> for ApiError {
    fn from(message: String) -> Self {
        ApiError::Other(message)
    }
}

impl From<&str> for ApiError {
    fn from(message: &str) -> Self {
        ApiError::Other(message.to_owned())
    }
}

/// An HTTP client for one mechanism instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: HttpClient,
}

impl ApiClient {
    /// A client with Prometheus' HTTP settings (already validated). `timeout` bounds each
    /// whole request.
    pub fn new(config: &HttpClientConfig, timeout: Option<Duration>) -> Result<Self, String> {
        Ok(ApiClient {
            http: HttpClient::new(config, timeout)?,
        })
    }

    /// A client that speaks HTTP over the unix socket at `socket` (URLs then name only the
    /// path; their host is ignored).
    pub fn new_unix(
        config: &HttpClientConfig,
        timeout: Option<Duration>,
        socket: impl Into<PathBuf>,
    ) -> Result<Self, String> {
        Ok(ApiClient {
            http: HttpClient::with_options(
                config,
                &ClientOptions {
                    timeout,
                    unix_socket: Some(socket.into()),
                },
            )?,
        })
    }

    /// A client for mechanisms without HTTP settings in Prometheus: proxy from `HTTPS_PROXY`
    /// / `HTTP_PROXY` / `NO_PROXY`, roots from the system (`SSL_CERT_FILE`), as Go's default
    /// transport.
    pub fn from_env(timeout: Option<Duration>) -> Result<Self, String> {
        Ok(ApiClient {
            http: HttpClient::from_env(timeout)?,
        })
    }

    /// A GET request.
    pub fn get(&self, url: impl Into<String>) -> ApiRequest {
        self.request(Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl Into<String>) -> ApiRequest {
        self.request(Method::POST, url)
    }

    /// A request of any method.
    pub fn request(&self, method: Method, url: impl Into<String>) -> ApiRequest {
        ApiRequest {
            client: self.clone(),
            method,
            url: url.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            limit: DEFAULT_BODY_LIMIT,
            signer: None,
        }
    }
}

/// What a [`Signer`] sees and may change: the request as it will be sent (query included in
/// `url`), with the configured headers already in `headers`.
#[derive(Debug)]
pub struct SignRequest {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Signs a request just before it is sent (SigV4, OCI, OVH, token flows): adds or changes
/// headers, may rewrite the URL.
pub trait Signer: Send + Sync {
    fn sign<'a>(&'a self, request: &'a mut SignRequest) -> BoxFuture<'a, Result<(), String>>;
}

/// A request being built; [`ApiRequest::send`] sends it.
#[must_use = "a request does nothing until sent"]
pub struct ApiRequest {
    client: ApiClient,
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Bytes>,
    limit: u64,
    signer: Option<Arc<dyn Signer>>,
}

impl ApiRequest {
    /// Appends query parameters (in this order, after any in the URL).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        self
    }

    /// Sets a header (replacing one of the same name, the configured ones included).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        match (
            HeaderName::from_bytes(name.as_ref().as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            (Ok(name), Ok(mut value)) => {
                if name == AUTHORIZATION {
                    value.set_sensitive(true);
                }
                self.headers.insert(name, value);
            }
            _ => tracing::warn!(header = name.as_ref(), "invalid header left out"),
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// `Authorization: Basic ...`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {encoded}"))
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.body(bytes, "application/json")
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        self.body(encoded, "application/x-www-form-urlencoded")
    }

    /// A raw body with its content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = Some(body.into());
        if let Ok(v) = HeaderValue::from_str(content_type) {
            self.headers.insert(CONTENT_TYPE, v);
        }
        self
    }

    /// The largest body accepted (default [`DEFAULT_BODY_LIMIT`]).
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// Signs the request just before sending it.
    pub fn sign(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The URL with the query appended.
    fn full_url(&self) -> Result<url::Url, ApiError> {
        let mut url = url::Url::parse(&self.url)
            .map_err(|e| ApiError::Other(format!("invalid URL {:?}: {e}", self.url)))?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        Ok(url)
    }

    /// Sends the request and reads the whole answer. A status outside 2xx is an error.
    pub async fn send(self) -> Result<ApiResponse, ApiError> {
        let response = self.send_raw().await?;
        if !response.status.is_success() {
            return Err(response.into_status_error());
        }
        Ok(response)
    }

    /// Sends the request and reads the answer whatever its status (for APIs whose non-2xx
    /// answers carry meaning, such as 304).
    pub async fn send_raw(self) -> Result<ApiResponse, ApiError> {
        let url = self.full_url()?;
        let mut headers = HeaderMap::new();
        let builder = self
            .client
            .http
            .request(self.method.clone(), url.as_str())
            .await
            .map_err(ApiError::Other)?;
        // The configured headers travel inside the builder; the request's own replace them.
        let mut request = builder
            .build()
            .map_err(|e| ApiError::Other(describe_error(&e)))?;
        headers.extend(request.headers().clone());
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        let body = self.body.clone().unwrap_or_default();
        let (method, url, headers, body) = match &self.signer {
            Some(signer) => {
                let mut sign = SignRequest {
                    method: self.method.clone(),
                    url,
                    headers,
                    body,
                };
                signer.sign(&mut sign).await.map_err(ApiError::Other)?;
                (sign.method, sign.url, sign.headers, sign.body)
            }
            None => (self.method.clone(), url, headers, body),
        };
        *request.method_mut() = method.clone();
        *request.url_mut() = url.clone();
        *request.headers_mut() = headers;
        if self.body.is_some() || !body.is_empty() {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        let display_url = crate::common::http_config::redact_url(url.as_str());
        let response =
            self.client
                .http
                .execute(request)
                .await
                .map_err(|cause| ApiError::Transport {
                    request: format!("{method} {display_url}"),
                    cause,
                })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = match read_body(response, self.limit).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(ApiError::TooLarge {
                    url: display_url,
                    limit: self.limit,
                })
            }
            Err(BodyError::Read(e)) => {
                return Err(ApiError::Transport {
                    request: format!("{method} {display_url}"),
                    cause: e,
                })
            }
        };
        Ok(ApiResponse {
            method,
            url: display_url,
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    /// Sends the request and decodes its JSON answer on the blocking pool.
    pub async fn fetch_json<T: DeserializeOwned + Send + 'static>(self) -> Result<T, ApiError> {
        self.send().await?.json().await
    }

    /// Sends the request and decodes its XML answer on the blocking pool.
    pub async fn fetch_xml<T: DeserializeOwned + Send + 'static>(self) -> Result<T, ApiError> {
        self.send().await?.xml().await
    }
}

/// A whole answer.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    pub method: Method,
    /// The URL asked, its password (if any) redacted.
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiResponse {
    /// The error for a status outside 2xx, with the start of the body.
    pub fn into_status_error(self) -> ApiError {
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(512)])
            .trim()
            .to_owned();
        ApiError::Status {
            method: self.method,
            url: self.url,
            status: self.status,
            body: text,
        }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes the body as JSON on the blocking pool.
    pub async fn json<T: DeserializeOwned + Send + 'static>(self) -> Result<T, ApiError> {
        let url = self.url;
        let body = self.body;
        decode_blocking(url, move || {
            serde_json::from_slice(&body).map_err(|e| e.to_string())
        })
        .await
    }

    /// Decodes the body as XML (quick-xml's serde) on the blocking pool.
    pub async fn xml<T: DeserializeOwned + Send + 'static>(self) -> Result<T, ApiError> {
        let url = self.url;
        let body = self.body;
        decode_blocking(url, move || {
            let text = std::str::from_utf8(&body).map_err(|e| e.to_string())?;
            quick_xml::de::from_str(text).map_err(|e| e.to_string())
        })
        .await
    }
}

async fn decode_blocking<T: Send + 'static>(
    url: String,
    decode: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(decode).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(ApiError::Decode { url, message }),
        Err(e) => Err(ApiError::Decode {
            url,
            message: format!("decoding panicked: {e}"),
        }),
    }
}

type Build = Box<dyn Fn() -> Result<ApiClient, String> + Send + Sync>;

/// A client built on first use, on the blocking pool (reading CA files and keys), never on
/// the engine's thread. A failed build is retried at the next use.
pub struct LazyClient {
    build: Arc<Build>,
    client: tokio::sync::OnceCell<ApiClient>,
}

impl LazyClient {
    pub fn new(build: impl Fn() -> Result<ApiClient, String> + Send + Sync + 'static) -> Self {
        LazyClient {
            build: Arc::new(Box::new(build)),
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// Prometheus' HTTP settings, built on first use.
    pub fn from_config(config: HttpClientConfig, timeout: Option<Duration>) -> Self {
        Self::new(move || ApiClient::new(&config, timeout))
    }

    /// The client, built now if it was not yet.
    pub async fn get(&self) -> Result<&ApiClient, ApiError> {
        self.client
            .get_or_try_init(|| async {
                let build = self.build.clone();
                tokio::task::spawn_blocking(move || build())
                    .await
                    .map_err(|e| {
                        ApiError::Other(format!("building the HTTP client panicked: {e}"))
                    })?
                    .map_err(ApiError::Other)
            })
            .await
    }
}

impl fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyClient")
            .field("built", &self.client.initialized())
            .finish()
    }
}
