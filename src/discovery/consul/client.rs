//! Interim HTTP client for Consul SD: a reqwest client built from the common HTTP settings that
//! Consul SD needs, until the shared client built from `common::http_config` exists; then this
//! file goes away.
//!
//! Supported: `basic_auth` (values or files), `authorization` (credentials or file, also from
//! `bearer_token`), `tls_config` (`ca`/`ca_file`, `cert`/`cert_file` with `key`/`key_file`,
//! `insecure_skip_verify`, `min_version`/`max_version`), `proxy_url` with `no_proxy`,
//! `proxy_from_environment`, `follow_redirects` and `http_headers`. Files named by credentials
//! and headers are read at each request, as Prometheus does, so rotated secrets are picked up.
//! Everything else (`oauth2`, secret references `*_ref`, `tls_config.server_name`,
//! `proxy_connect_header`) is refused by [`check`] with an error naming the setting. HTTP/2 is
//! not offered (`enable_http2` has no effect): Consul's HTTP API speaks HTTP/1.1.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{redirect, Certificate, Identity, NoProxy, Proxy, RequestBuilder};

use crate::common::http_config::{HttpClientConfig, TlsVersion};
use crate::common::Secret;

/// A value given inline or read from a file at each use.
#[derive(Clone, Debug)]
enum Credential {
    Inline(Secret),
    File(String),
}

impl Credential {
    fn new(inline: &Secret, file: &str) -> Self {
        if file.is_empty() {
            Credential::Inline(inline.clone())
        } else {
            Credential::File(file.to_owned())
        }
    }

    async fn fetch(&self) -> Result<Secret, String> {
        match self {
            Credential::Inline(s) => Ok(s.clone()),
            Credential::File(path) => tokio::fs::read_to_string(path)
                .await
                .map(|s| Secret::new(s.trim()))
                .map_err(|e| format!("unable to read {path}: {e}")),
        }
    }
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Basic {
        username: Credential,
        password: Credential,
    },
    Header {
        kind: String,
        credentials: Credential,
    },
}

/// A reqwest client and what each request needs added.
#[derive(Clone, Debug)]
pub(super) struct HttpClient {
    client: reqwest::Client,
    auth: Auth,
    headers: Vec<(HeaderName, Vec<Credential>)>,
}

/// Refuses the settings this interim client does not implement, without I/O.
pub(super) fn check(c: &HttpClientConfig) -> Result<(), String> {
    let unsupported = |what: &str| Err(format!("consul SD in promsd does not support {what} yet"));
    if c.oauth2.is_some() {
        return unsupported("oauth2");
    }
    if let Some(b) = &c.basic_auth {
        if !b.username_ref.is_empty() || !b.password_ref.is_empty() {
            return unsupported("basic_auth secret references (username_ref, password_ref)");
        }
    }
    if let Some(a) = &c.authorization {
        if !a.credentials_ref.is_empty() {
            return unsupported("authorization.credentials_ref");
        }
    }
    let t = &c.tls_config;
    if !t.ca_ref.is_empty() || !t.cert_ref.is_empty() || !t.key_ref.is_empty() {
        return unsupported("tls_config secret references (ca_ref, cert_ref, key_ref)");
    }
    if !t.server_name.is_empty() {
        return unsupported("tls_config.server_name");
    }
    if !c.proxy.proxy_connect_header.is_empty() {
        return unsupported("proxy_connect_header");
    }
    for name in c.http_headers.iter().flat_map(|h| h.keys()) {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid HTTP header name {name:?}"))?;
    }
    Ok(())
}

fn tls_version(v: TlsVersion) -> reqwest::tls::Version {
    match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    }
}

fn read_pem(inline: &str, file: &str, what: &str) -> Result<Option<Vec<u8>>, String> {
    if !inline.is_empty() {
        return Ok(Some(inline.as_bytes().to_vec()));
    }
    if file.is_empty() {
        return Ok(None);
    }
    std::fs::read(file)
        .map(Some)
        .map_err(|e| format!("unable to read {what} {file}: {e}"))
}

impl HttpClient {
    /// Builds the client; reads the TLS files, so call it off the engine's thread.
    pub(super) fn build(c: &HttpClientConfig, timeout: Duration) -> Result<Self, String> {
        check(c)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("promsd/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .pool_idle_timeout(timeout * 2)
            .redirect(if c.follow_redirects {
                redirect::Policy::limited(10)
            } else {
                redirect::Policy::none()
            });
        let t = &c.tls_config;
        if let Some(ca) = read_pem(&t.ca, &t.ca_file, "CA file")? {
            for cert in Certificate::from_pem_bundle(&ca)
                .map_err(|e| format!("unable to use specified CA cert: {e}"))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let cert = read_pem(&t.cert, &t.cert_file, "client certificate")?;
        let key = read_pem(t.key.expose(), &t.key_file, "client key")?;
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let identity = Identity::from_pem(&cert)
                .map_err(|e| format!("unable to use specified client cert and key: {e}"))?;
            builder = builder.identity(identity);
        }
        builder = builder.danger_accept_invalid_certs(t.insecure_skip_verify);
        if let Some(v) = t.min_version {
            builder = builder.min_tls_version(tls_version(v));
        }
        if let Some(v) = t.max_version {
            builder = builder.max_tls_version(tls_version(v));
        }
        let p = &c.proxy;
        if !p.proxy_url.is_empty() {
            let proxy = Proxy::all(&p.proxy_url)
                .map_err(|e| format!("invalid proxy_url: {e}"))?
                .no_proxy(NoProxy::from_string(&p.no_proxy));
            builder = builder.proxy(proxy);
        } else if !p.proxy_from_environment {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| e.to_string())?;

        let auth = if let Some(b) = &c.basic_auth {
            Auth::Basic {
                username: Credential::new(&Secret::new(b.username.clone()), &b.username_file),
                password: Credential::new(&b.password, &b.password_file),
            }
        } else if let Some(a) = &c.authorization {
            Auth::Header {
                kind: a.kind.clone(),
                credentials: Credential::new(&a.credentials, &a.credentials_file),
            }
        } else {
            Auth::None
        };
        let mut headers = Vec::new();
        for (name, h) in c.http_headers.iter().flatten() {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid HTTP header name {name:?}"))?;
            let values = h
                .values
                .iter()
                .map(|v| Credential::Inline(Secret::new(v.clone())))
                .chain(h.secrets.iter().cloned().map(Credential::Inline))
                .chain(h.files.iter().map(|f| Credential::File(f.clone())))
                .collect();
            headers.push((name, values));
        }
        Ok(HttpClient {
            client,
            auth,
            headers,
        })
    }

    /// A GET request with authentication and configured headers.
    pub(super) async fn get(&self, url: reqwest::Url) -> Result<RequestBuilder, String> {
        let mut request = self.client.get(url);
        match &self.auth {
            Auth::None => {}
            Auth::Basic { username, password } => {
                let username = username.fetch().await?;
                let password = password.fetch().await?;
                request = request.basic_auth(username.expose(), Some(password.expose()));
            }
            Auth::Header { kind, credentials } => {
                let credentials = credentials.fetch().await?;
                let mut value = HeaderValue::from_str(&format!("{kind} {}", credentials.expose()))
                    .map_err(|_| "authorization credentials are not a valid header value")?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
        }
        for (name, values) in &self.headers {
            for v in values {
                let v = v.fetch().await?;
                let mut value = HeaderValue::from_str(v.expose())
                    .map_err(|_| format!("header {name} has a value that is not valid"))?;
                value.set_sensitive(true);
                request = request.header(name, value);
            }
        }
        Ok(request)
    }
}
