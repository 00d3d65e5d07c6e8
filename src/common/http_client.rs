//! The HTTP client every HTTP-based mechanism uses, built once from [`HttpClientConfig`]:
//! TLS (CA, client certificate, verification, versions), proxy, redirects, and per-request
//! authentication (basic auth, `authorization`, OAuth2 client credentials or JWT-bearer grant)
//! and `http_headers`.
//!
//! As in Prometheus, credentials given as files (`password_file`, `credentials_file`, header
//! `files`, ...) are read at each request, trimmed of surrounding whitespace, so rotated
//! secrets are picked up without a reload.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, USER_AGENT};

use std::collections::BTreeMap;

use super::http_config::{HttpClientConfig, OAuth2, ProxyConfig, TlsConfig};
use super::oauth2_config::GRANT_TYPE_JWT_BEARER;
use super::{jwt, Secret};

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

/// OAuth2: a token fetched from `token_url` (client credentials, or the JWT-bearer grant of
/// RFC 7523 as prometheus/common's `JwtGrantTypeConfig`) and reused until it expires or the
/// client secret (or key) read at each request changes, as golang.org/x/oauth2's
/// `ReuseTokenSource` under prometheus/common's `oauth2RoundTripper`.
#[derive(Debug)]
struct OAuth2Tokens {
    config: OAuth2,
    client: reqwest::Client,
    cached: Mutex<Option<CachedToken>>,
}

#[derive(Debug)]
struct CachedToken {
    /// The client secret (or private key) the token was fetched with.
    credential: String,
    token: String,
    /// `None`: the server gave no `expires_in`, the token never expires.
    refresh_at: Option<Instant>,
}

/// How long before its expiry a token is replaced (x/oauth2's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

impl OAuth2Tokens {
    fn jwt_bearer(&self) -> bool {
        self.config.grant_type == GRANT_TYPE_JWT_BEARER
    }

    async fn token(&self) -> Result<String, String> {
        let c = &self.config;
        let credential = if self.jwt_bearer() {
            SecretSource::pick(&c.client_certificate_key, &c.client_certificate_key_file)
        } else {
            SecretSource::pick(&c.client_secret, &c.client_secret_file)
        }
        .map(|s| s.fetch())
        .transpose()
        .map_err(|e| format!("unable to read oauth2 client secret: {e}"))?
        .unwrap_or_default();
        if let Some(cached) = &*self.cached.lock().expect("token cache poisoned") {
            let fresh = cached.refresh_at.is_none_or(|at| Instant::now() < at);
            if cached.credential == credential && fresh {
                return Ok(cached.token.clone());
            }
        }
        let request = if self.jwt_bearer() {
            let form = jwt_bearer_form(c, &credential)?;
            self.client.post(&c.token_url).form(&form)
        } else {
            let mut form: Vec<(String, String)> =
                vec![("grant_type".into(), "client_credentials".into())];
            if !c.scopes.is_empty() {
                form.push(("scope".into(), c.scopes.join(" ")));
            }
            form.extend(
                c.endpoint_params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            self.client
                .post(&c.token_url)
                .basic_auth(&c.client_id, Some(&credential))
                .form(&form)
        };
        let response = request
            .send()
            .await
            .map_err(|e| format!("oauth2 token request: {}", describe_error(&e)))?;
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
            expires_in: Option<i64>,
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("oauth2 token response: {e}"))?;
        let body: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|e| format!("oauth2 token response: {e}"))?;
        // No (or a zero) `expires_in`: the token is kept until the credential changes, as x/oauth2
        // keeps a token with no expiry.
        let refresh_at = body
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| Instant::now() + Duration::from_secs(s as u64).saturating_sub(EXPIRY_DELTA));
        *self.cached.lock().expect("token cache poisoned") = Some(CachedToken {
            credential,
            token: body.access_token.clone(),
            refresh_at,
        });
        Ok(body.access_token)
    }
}

/// The token request of the JWT-bearer grant (prometheus/common's `jwtSource.Token`): an
/// assertion signed with the client's RSA key, with claims `iss` (`iss`, else `client_id`),
/// `sub` (`client_id`), `aud` (`audience`, else `token_url`), `jti`, `iat`, `exp` (10
/// minutes), `scope` (when `scopes` are set) and then the configured `claims`, which win.
fn jwt_bearer_form(c: &OAuth2, key_pem: &str) -> Result<Vec<(String, String)>, String> {
    use serde_json::Value;
    let key = jwt::rsa_key_from_pem(key_pem)?;
    let algorithm = jwt::RsAlgorithm::from_name_or_rs256(&c.signature_algorithm);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let scopes = c.scopes.join(" ");
    let iss = if c.iss.is_empty() {
        &c.client_id
    } else {
        &c.iss
    };
    let aud = if c.audience.is_empty() {
        &c.token_url
    } else {
        &c.audience
    };
    let mut claims: BTreeMap<String, Value> = BTreeMap::from([
        ("iss".to_owned(), Value::from(iss.as_str())),
        ("sub".to_owned(), Value::from(c.client_id.as_str())),
        ("jti".to_owned(), Value::from(jwt::uuid_v4()?)),
        ("aud".to_owned(), Value::from(aud.as_str())),
        ("iat".to_owned(), Value::from(now)),
        ("exp".to_owned(), Value::from(now + 600)),
    ]);
    if !scopes.is_empty() {
        claims.insert("scope".to_owned(), Value::from(scopes.as_str()));
    }
    for (name, value) in &c.claims {
        let value =
            serde_json::to_value(value).map_err(|e| format!("oauth2 claim {name:?}: {e}"))?;
        claims.insert(name.clone(), value);
    }
    let mut header = BTreeMap::from([
        ("alg", Value::from(algorithm.name())),
        ("typ", Value::from("JWT")),
    ]);
    if !c.client_certificate_key_id.is_empty() {
        header.insert("kid", Value::from(c.client_certificate_key_id.as_str()));
    }
    let assertion = jwt::sign(algorithm, &key, &header, &claims)?;
    let mut form: BTreeMap<String, String> = BTreeMap::from([
        ("grant_type".to_owned(), GRANT_TYPE_JWT_BEARER.to_owned()),
        ("assertion".to_owned(), assertion),
    ]);
    if !scopes.is_empty() {
        form.insert("scope".to_owned(), scopes);
    }
    for (k, v) in &c.endpoint_params {
        // grant_type may be overridden, for token servers that want another name.
        if form.contains_key(k) && k != "grant_type" {
            return Err(format!("oauth2: cannot overwrite parameter {k:?}"));
        }
        form.insert(k.clone(), v.clone());
    }
    Ok(form.into_iter().collect())
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
        if let Some(error) = config.secret_ref_error() {
            return Err(error);
        }
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
