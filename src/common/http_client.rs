//! The HTTP client every HTTP-based mechanism uses, built once from [`HttpClientConfig`]:
//! TLS (CA, client certificate, verification, versions), proxy, redirects, and per-request
//! authentication (basic auth, `authorization`, OAuth2 client credentials) and `http_headers`.
//!
//! As in Prometheus, credentials given as files (`password_file`, `credentials_file`, header
//! `files`, ...) are read at each request, trimmed of surrounding whitespace, so rotated
//! secrets are picked up without a reload.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, USER_AGENT};

use super::http_config::{HttpClientConfig, OAuth2, ProxyConfig, TlsConfig};
use super::Secret;

/// What promsd calls itself in `User-Agent`.
pub const USER_AGENT_VALUE: &str = concat!("promsd/", env!("CARGO_PKG_VERSION"));

/// A secret given inline or as a file read at each use.
#[derive(Clone, Debug)]
enum SecretSource {
    Inline(Secret),
    File(PathBuf),
}

impl SecretSource {
    fn pick(inline: &Secret, file: &str) -> Option<SecretSource> {
        if !file.is_empty() {
            Some(SecretSource::File(PathBuf::from(file)))
        } else if !inline.is_empty() {
            Some(SecretSource::Inline(inline.clone()))
        } else {
            None
        }
    }

    fn fetch(&self) -> Result<String, String> {
        match self {
            SecretSource::Inline(s) => Ok(s.expose().to_owned()),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| format!("unable to read {}: {e}", path.display())),
        }
    }
}

#[derive(Debug)]
enum Auth {
    None,
    Basic {
        username: Option<SecretSource>,
        password: Option<SecretSource>,
    },
    Header {
        kind: String,
        credentials: Option<SecretSource>,
    },
    OAuth2(Box<OAuth2Tokens>),
}

/// OAuth2 client credentials: a token fetched from `token_url` and reused until it expires.
#[derive(Debug)]
struct OAuth2Tokens {
    config: OAuth2,
    client: reqwest::Client,
    cached: Mutex<Option<(String, Instant)>>,
}

impl OAuth2Tokens {
    async fn token(&self) -> Result<String, String> {
        if let Some((token, expires)) = &*self.cached.lock().expect("token cache poisoned") {
            if Instant::now() < *expires {
                return Ok(token.clone());
            }
        }
        let secret =
            SecretSource::pick(&self.config.client_secret, &self.config.client_secret_file)
                .map(|s| s.fetch())
                .transpose()?
                .unwrap_or_default();
        let mut form: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into())];
        if !self.config.scopes.is_empty() {
            form.push(("scope".into(), self.config.scopes.join(" ")));
        }
        form.extend(
            self.config
                .endpoint_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let response = self
            .client
            .post(&self.config.token_url)
            .basic_auth(&self.config.client_id, Some(secret))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("oauth2 token request: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "oauth2 token request: server returned HTTP status {}",
                response.status()
            ));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("oauth2 token response: {e}"))?;
        let body: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|e| format!("oauth2 token response: {e}"))?;
        // Refresh a little before the server's expiry, as golang.org/x/oauth2 does (10 s).
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600))
            .saturating_sub(Duration::from_secs(10));
        *self.cached.lock().expect("token cache poisoned") =
            Some((body.access_token.clone(), Instant::now() + lifetime));
        Ok(body.access_token)
    }
}

/// One configured header of `http_headers`: fixed values, secrets and files.
#[derive(Debug)]
struct ExtraHeader {
    name: HeaderName,
    values: Vec<SecretSource>,
}

/// An HTTP client with Prometheus' client settings applied.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    auth: Auth,
    headers: Vec<ExtraHeader>,
}

fn apply_proxy(
    builder: reqwest::ClientBuilder,
    proxy: &ProxyConfig,
) -> Result<reqwest::ClientBuilder, String> {
    if proxy.proxy_from_environment {
        // reqwest reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY itself.
        return Ok(builder);
    }
    let builder = builder.no_proxy();
    if proxy.proxy_url.is_empty() {
        return Ok(builder);
    }
    let mut p =
        reqwest::Proxy::all(&proxy.proxy_url).map_err(|e| format!("invalid proxy_url: {e}"))?;
    if !proxy.no_proxy.is_empty() {
        p = p.no_proxy(reqwest::NoProxy::from_string(&proxy.no_proxy));
    }
    if let Some(auth) = proxy
        .proxy_connect_header
        .get("Proxy-Authorization")
        .and_then(|v| v.first())
    {
        let value = HeaderValue::from_str(auth.expose())
            .map_err(|e| format!("invalid proxy_connect_header: {e}"))?;
        p = p.custom_http_auth(value);
    }
    Ok(builder.proxy(p))
}

fn base_builder(
    tls: &TlsConfig,
    proxy: &ProxyConfig,
    follow_redirects: bool,
    http2: bool,
    timeout: Option<Duration>,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(if follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        })
        .pool_idle_timeout(Duration::from_secs(300))
        .use_preconfigured_tls(super::tls::client_config(tls, http2)?);
    if !http2 {
        builder = builder.http1_only();
    }
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    apply_proxy(builder, proxy)
}

/// How a client reaches its server, beyond Prometheus' settings.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Bounds each whole request.
    pub timeout: Option<Duration>,
    /// Speak HTTP over this unix socket instead of TCP (Docker's `unix:///var/run/docker.sock`).
    pub unix_socket: Option<PathBuf>,
}

impl HttpClient {
    /// Builds a client from validated settings (`HttpClientConfig::validate` already ran, so
    /// `bearer_token` lives in `authorization`). `timeout` bounds each whole request.
    pub fn new(config: &HttpClientConfig, timeout: Option<Duration>) -> Result<Self, String> {
        Self::with_options(
            config,
            &ClientOptions {
                timeout,
                ..ClientOptions::default()
            },
        )
    }

    /// A client for a mechanism without HTTP settings in Prometheus (GCE, OpenStack, ...): as
    /// Go's default transport, it takes its proxy from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
    /// and its roots from the system (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
    pub fn from_env(timeout: Option<Duration>) -> Result<Self, String> {
        let mut config = HttpClientConfig::default();
        config.proxy.proxy_from_environment = true;
        Self::new(&config, timeout)
    }

    /// [`HttpClient::new`] with the transport options of [`ClientOptions`].
    pub fn with_options(
        config: &HttpClientConfig,
        options: &ClientOptions,
    ) -> Result<Self, String> {
        let timeout = options.timeout;
        let mut builder = base_builder(
            &config.tls_config,
            &config.proxy,
            config.follow_redirects,
            config.enable_http2,
            timeout,
        )?;
        if let Some(path) = &options.unix_socket {
            builder = builder.unix_socket(path.as_path());
        }
        let client = builder.build().map_err(|e| describe_error(&e))?;
        let auth = if let Some(b) = &config.basic_auth {
            Auth::Basic {
                username: SecretSource::pick(&Secret::new(b.username.clone()), &b.username_file),
                password: SecretSource::pick(&b.password, &b.password_file),
            }
        } else if let Some(a) = &config.authorization {
            Auth::Header {
                kind: if a.kind.is_empty() {
                    "Bearer".to_owned()
                } else {
                    a.kind.clone()
                },
                credentials: SecretSource::pick(&a.credentials, &a.credentials_file),
            }
        } else if !config.bearer_token.is_empty() || !config.bearer_token_file.is_empty() {
            Auth::Header {
                kind: "Bearer".to_owned(),
                credentials: SecretSource::pick(&config.bearer_token, &config.bearer_token_file),
            }
        } else if let Some(o) = &config.oauth2 {
            let token_client = base_builder(&o.tls_config, &o.proxy, true, true, timeout)?
                .build()
                .map_err(|e| e.to_string())?;
            Auth::OAuth2(Box::new(OAuth2Tokens {
                config: o.clone(),
                client: token_client,
                cached: Mutex::new(None),
            }))
        } else {
            Auth::None
        };
        let mut headers = Vec::new();
        for (name, header) in config.http_headers.iter().flatten() {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("invalid header name {name:?}: {e}"))?;
            let values = header
                .values
                .iter()
                .map(|v| SecretSource::Inline(Secret::new(v.clone())))
                .chain(
                    header
                        .secrets
                        .iter()
                        .map(|s| SecretSource::Inline(s.clone())),
                )
                .chain(
                    header
                        .files
                        .iter()
                        .map(|f| SecretSource::File(PathBuf::from(f))),
                )
                .collect();
            headers.push(ExtraHeader { name, values });
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                auth,
                headers,
            }),
        })
    }

    /// The headers every request carries: user agent, authentication, `http_headers`.
    async fn headers(&self) -> Result<HeaderMap, String> {
        let mut map = HeaderMap::new();
        map.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        let authorization = match &self.inner.auth {
            Auth::None => None,
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let user = username
                    .as_ref()
                    .map(SecretSource::fetch)
                    .transpose()?
                    .unwrap_or_default();
                let pass = password
                    .as_ref()
                    .map(SecretSource::fetch)
                    .transpose()?
                    .unwrap_or_default();
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
                ))
            }
            Auth::Header { kind, credentials } => {
                let creds = credentials
                    .as_ref()
                    .map(SecretSource::fetch)
                    .transpose()?
                    .unwrap_or_default();
                Some(format!("{kind} {creds}"))
            }
            Auth::OAuth2(tokens) => Some(format!("Bearer {}", tokens.token().await?)),
        };
        if let Some(value) = authorization {
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| "credentials are not a valid header value".to_owned())?;
            value.set_sensitive(true);
            map.insert(AUTHORIZATION, value);
        }
        for header in &self.inner.headers {
            for source in &header.values {
                let value = HeaderValue::from_str(&source.fetch()?)
                    .map_err(|_| format!("header {} has an invalid value", header.name))?;
                map.append(header.name.clone(), value);
            }
        }
        Ok(map)
    }

    /// A request with every configured header; the caller adds its own and sends it.
    pub async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let headers = self.headers().await?;
        Ok(self.inner.client.request(method, url).headers(headers))
    }

    /// Sends a request built from [`HttpClient::request`].
    pub async fn execute(&self, request: reqwest::Request) -> Result<reqwest::Response, String> {
        self.inner
            .client
            .execute(request)
            .await
            .map_err(|e| describe_error(&e))
    }

    /// A GET request with every configured header, plus `extra`.
    pub async fn get(&self, url: &str, extra: HeaderMap) -> Result<reqwest::Response, String> {
        let mut headers = self.headers().await?;
        headers.extend(extra);
        self.inner
            .client
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| describe_error(&e))
    }
}

/// reqwest's error with its causes, which hold the useful part (refused, timed out, TLS...).
pub fn describe_error(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
