//! `--web.config.file`: TLS, basic authentication and response headers for every endpoint, in
//! the format of Prometheus' exporter-toolkit (`web/tls_config.go`, `web/handler.go`), which
//! Prometheus' own `--web.config.file` reads:
//!
//! ```yaml
//! tls_server_config:            # TLS when cert(_file) and key(_file) are given
//!   cert_file: server.pem       # relative paths: against the web config file's directory
//!   key_file: server.key
//!   client_ca_file: ca.pem
//!   client_auth_type: RequireAndVerifyClientCert
//!   min_version: TLS12          # TLS12 or TLS13 (rustls has nothing older)
//!   max_version: TLS13
//! http_server_config:
//!   headers: {X-Frame-Options: deny}   # only the headers exporter-toolkit allows
//! basic_auth_users:
//!   alice: $2y$10$...          # bcrypt hashes
//! ```
//!
//! As in exporter-toolkit: the file is read again for every request (users and headers change
//! without a restart) and the certificate and key for every TLS handshake; a file that no longer
//! parses answers 500; bcrypt comparisons run one at a time and their results are cached (by
//! user, hash and password, up to 100 entries), so a client that authenticates on every scrape
//! costs one bcrypt per password; an unknown user is compared against a fixed hash so that
//! timing does not tell users apart; a failed authentication is a 401 with
//! `WWW-Authenticate: Basic`. Unknown keys are errors.
//!
//! Where promsd differs: whether TLS is on, the client CA and `client_auth_type` are read at
//! start (a change needs a restart); `cipher_suites`,
//! `curve_preferences`, `client_allowed_sans`, `rate_limit` and `http2` are not supported and
//! refused at start with an error naming them; `min_version` below TLS12 likewise.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use base64::Engine;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use serde::Deserialize;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default)]
    pub tls_server_config: TlsServerConfig,
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub client_ca: String,
    #[serde(default)]
    pub cert_file: String,
    #[serde(default)]
    pub key_file: String,
    #[serde(default)]
    pub client_auth_type: String,
    #[serde(default)]
    pub client_ca_file: String,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    /// Go's default is true; it has no meaning for rustls, which always prefers its own order.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The headers exporter-toolkit lets a web config set, with their allowed values (none: any).
const EXTRA_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

impl WebConfig {
    /// Reads and checks the file, with exporter-toolkit's messages; relative TLS paths are
    /// resolved against the file's directory.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read web config {}: {e}", path.display()))?;
        let mut config: WebConfig = if text.trim().is_empty() {
            WebConfig::default()
        } else {
            serde_yaml::from_str(&text)
                .map_err(|e| format!("web config {}: {e}", path.display()))?
        };
        for (name, value) in &config.http_server_config.headers {
            let Some((_, allowed)) = EXTRA_HEADERS.iter().find(|(n, _)| n == name) else {
                return Err(format!("HTTP header {name:?} can not be configured"));
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "invalid value for {name}. Expected one of: {allowed:?}, but got: {value:?}"
                ));
            }
        }
        for hash in config.basic_auth_users.values() {
            hash.parse::<bcrypt::HashParts>()
                .map_err(|e| format!("invalid bcrypt hash in basic_auth_users: {e}"))?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = &mut config.tls_server_config;
        for file in [
            &mut tls.cert_file,
            &mut tls.key_file,
            &mut tls.client_ca_file,
        ] {
            if !file.is_empty() && Path::new(file.as_str()).is_relative() {
                *file = dir.join(&*file).to_string_lossy().into_owned();
            }
        }
        Ok(config)
    }
}

impl TlsServerConfig {
    /// Whether any TLS key is set (exporter-toolkit's `IsEnabled`).
    pub fn is_enabled(&self) -> bool {
        !(self.cert.is_empty()
            && self.cert_file.is_empty()
            && self.key.is_empty()
            && self.key_file.is_empty()
            && self.client_ca.is_empty()
            && self.client_ca_file.is_empty()
            && self.client_auth_type.is_empty())
    }

    fn load_key(&self) -> Result<Arc<CertifiedKey>, String> {
        let cert = if self.cert_file.is_empty() {
            self.cert.as_bytes().to_vec()
        } else {
            std::fs::read(&self.cert_file)
                .map_err(|e| format!("failed to read cert_file ({}): {e}", self.cert_file))?
        };
        let key = if self.key_file.is_empty() {
            self.key.as_bytes().to_vec()
        } else {
            std::fs::read(&self.key_file)
                .map_err(|e| format!("failed to read key_file ({}): {e}", self.key_file))?
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("failed to load X509KeyPair: {e}"))?;
        if chain.is_empty() {
            return Err("failed to load X509KeyPair: no certificate in cert".into());
        }
        let key = PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| format!("failed to load X509KeyPair: {e}"))?;
        let signing = crate::common::tls::provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("failed to load X509KeyPair: {e}"))?;
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }

    /// The server's rustls config, or an error naming what is wrong (exporter-toolkit's
    /// `ConfigToTLSConfig` checks, in its order).
    pub fn server_config(&self, web_config_path: &Path) -> Result<rustls::ServerConfig, String> {
        if self.cert.is_empty() && self.cert_file.is_empty() {
            return Err("missing one of cert or cert_file".into());
        }
        if self.key.is_empty() && self.key_file.is_empty() {
            return Err("missing one of key or key_file".into());
        }
        self.load_key()?;
        let versions = tls_versions(self.min_version.as_deref(), self.max_version.as_deref())?;
        let ca = if !self.client_ca_file.is_empty() {
            Some(std::fs::read(&self.client_ca_file).map_err(|e| {
                format!(
                    "failed to read client_ca_file ({}): {e}",
                    self.client_ca_file
                )
            })?)
        } else if !self.client_ca.is_empty() {
            Some(self.client_ca.as_bytes().to_vec())
        } else {
            None
        };
        let provider = crate::common::tls::provider();
        let roots = || -> Result<Arc<rustls::RootCertStore>, String> {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_deref().unwrap_or_default()) {
                let cert = cert.map_err(|e| format!("client CA: {e}"))?;
                roots.add(cert).map_err(|e| format!("client CA: {e}"))?;
            }
            Ok(Arc::new(roots))
        };
        let verifier = match self.client_auth_type.as_str() {
            "" | "NoClientCert" => {
                if ca.is_some() {
                    return Err(
                        "client CA's have been configured without a Client Auth Policy".into(),
                    );
                }
                None
            }
            "RequireAndVerifyClientCert" => Some(
                WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone())
                    .build()
                    .map_err(|e| format!("client CA: {e}"))?,
            ),
            "VerifyClientCertIfGiven" => Some(
                WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone())
                    .allow_unauthenticated()
                    .build()
                    .map_err(|e| format!("client CA: {e}"))?,
            ),
            // Go's: a certificate asked for (or required) but not verified.
            "RequestClientCert" => Some(Arc::new(AnyClientCert {
                provider: provider.clone(),
                mandatory: false,
            }) as Arc<dyn ClientCertVerifier>),
            "RequireAnyClientCert" | "RequireClientCert" => Some(Arc::new(AnyClientCert {
                provider: provider.clone(),
                mandatory: true,
            })
                as Arc<dyn ClientCertVerifier>),
            other => return Err(format!("invalid ClientAuth: {other}")),
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?;
        let builder = match verifier {
            Some(verifier) => builder.with_client_cert_verifier(verifier),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(Reloading {
            web_config_path: web_config_path.to_owned(),
            at_start: self.clone(),
        }));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn tls_versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |v: &str| match v {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!(
            "TLS version {v} is not supported by promsd (rustls)"
        )),
        other => Err(format!("unknown TLS version: {other}")),
    };
    let min = min.map(rank).transpose()?.unwrap_or(12);
    let max = max.map(rank).transpose()?.unwrap_or(13);
    let mut versions = Vec::new();
    if min <= 12 && max >= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if min <= 13 && max >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err("min_version is above max_version".into());
    }
    Ok(versions)
}

/// Go's `RequestClientCert` / `RequireAnyClientCert`: the client's certificate is asked for
/// (and, if mandatory, required) but not checked against any CA; the handshake signature made
/// with its key is still verified.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
    mandatory: bool,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Reads the certificate and key again for every handshake, from the web config as it is now
/// (as exporter-toolkit's `GetConfigForClient`); a handshake fails while they do not load.
#[derive(Debug)]
struct Reloading {
    web_config_path: PathBuf,
    at_start: TlsServerConfig,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let tls = match WebConfig::load(&self.web_config_path) {
            Ok(config) => config.tls_server_config,
            Err(error) => {
                tracing::error!(%error, "cannot read the web config for a TLS handshake");
                return None;
            }
        };
        let tls = if tls.is_enabled() {
            tls
        } else {
            self.at_start.clone()
        };
        tls.load_key()
            .inspect_err(|error| tracing::error!(%error, "cannot load the TLS certificate"))
            .ok()
    }
}

/// What the middleware needs: the file, and exporter-toolkit's authentication cache.
pub struct WebSecurity {
    path: PathBuf,
    cache: Mutex<HashMap<u128, bool>>,
    /// Only one bcrypt comparison at a time: they are CPU-heavy by design.
    bcrypt: Mutex<()>,
}

/// exporter-toolkit's cache size.
const CACHE_SIZE: usize = 100;

/// bcrypt of "fakepassword": compared against for unknown users (exporter-toolkit's).
const FAKE_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// A per-process key, so that the cache holds no usable digest of a password.
static CACHE_SEED: LazyLock<u64> = LazyLock::new(|| {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
});

impl WebSecurity {
    pub fn new(path: PathBuf) -> Self {
        WebSecurity {
            path,
            cache: Mutex::new(HashMap::new()),
            bcrypt: Mutex::new(()),
        }
    }

    /// Whether `authorization` (the header's value) names a user of `users` with the right
    /// password.
    fn authenticate(&self, users: &BTreeMap<String, String>, authorization: &str) -> bool {
        let Some((user, pass)) = basic_credentials(authorization) else {
            return false;
        };
        let known = users.get(&user);
        let hash = known.map_or(FAKE_HASH, String::as_str);
        let key = {
            let mut material = Vec::new();
            for part in [user.as_bytes(), hash.as_bytes(), pass.as_bytes()] {
                material.extend_from_slice(&(part.len() as u64).to_le_bytes());
                material.extend_from_slice(part);
            }
            xxhash_rust::xxh3::xxh3_128_with_seed(&material, *CACHE_SEED)
        };
        if let Some(ok) = self.cache.lock().expect("auth cache poisoned").get(&key) {
            return *ok && known.is_some();
        }
        let ok = {
            let _one_at_a_time = self.bcrypt.lock().expect("bcrypt lock poisoned");
            bcrypt::verify(&pass, hash).unwrap_or(false)
        } && known.is_some();
        let mut cache = self.cache.lock().expect("auth cache poisoned");
        if cache.len() >= CACHE_SIZE {
            if let Some(evict) = cache.keys().next().copied() {
                cache.remove(&evict);
            }
        }
        cache.insert(key, ok);
        ok
    }
}

/// The user and password of a `Basic` authorization header.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// The middleware every route goes through when `--web.config.file` is given.
/// Without a web config, requests pass through untouched.
pub async fn middleware(
    security: Option<Arc<WebSecurity>>,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let Some(security) = security else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let path = security.path.clone();
    let config = match actix_web::web::block(move || WebConfig::load(&path)).await {
        Ok(Ok(config)) => config,
        Ok(Err(error)) => {
            tracing::error!(%error, "Unable to parse configuration");
            return Ok(request
                .into_response(HttpResponse::InternalServerError().body("Internal Server Error\n"))
                .map_into_right_body());
        }
        Err(e) => return Err(e.into()),
    };
    let headers: Vec<(HeaderName, HeaderValue)> = config
        .http_server_config
        .headers
        .iter()
        .filter_map(|(n, v)| {
            Some((
                HeaderName::from_bytes(n.as_bytes()).ok()?,
                HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect();
    let with_headers = |mut response: ServiceResponse<EitherBody<_, BoxBody>>| {
        for (name, value) in &headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    };
    if !config.basic_auth_users.is_empty() {
        let authorization = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ok = match authorization {
            None => false,
            Some(authorization) => {
                let security = security.clone();
                let users = config.basic_auth_users.clone();
                actix_web::web::block(move || security.authenticate(&users, &authorization)).await?
            }
        };
        if !ok {
            let response = HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Basic"))
                .content_type("text/plain; charset=utf-8")
                .body("Unauthorized\n");
            return Ok(with_headers(
                request.into_response(response).map_into_right_body(),
            ));
        }
    }
    let response = next.call(request).await?;
    Ok(with_headers(response.map_into_left_body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        WebConfig::load(&path)
    }

    #[test]
    fn checks_as_exporter_toolkit() {
        assert!(load("").unwrap().basic_auth_users.is_empty());
        assert_eq!(
            load("http_server_config: {headers: {Server: x}}\n").unwrap_err(),
            "HTTP header \"Server\" can not be configured"
        );
        assert!(
            load("http_server_config: {headers: {X-Frame-Options: allow}}\n")
                .unwrap_err()
                .starts_with("invalid value for X-Frame-Options. Expected one of:")
        );
        assert!(load("basic_auth_users: {a: notahash}\n").is_err());
        assert!(load("tls_server_config: {certfile: x}\n")
            .unwrap_err()
            .contains("unknown field `certfile`"));
        let c = load("tls_server_config: {cert_file: c.pem, key_file: /abs/k.pem}\n").unwrap();
        assert!(c.tls_server_config.cert_file.ends_with("/c.pem"));
        assert!(Path::new(&c.tls_server_config.cert_file).is_absolute());
        assert_eq!(c.tls_server_config.key_file, "/abs/k.pem");
        let missing_key = TlsServerConfig {
            cert_file: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            missing_key.server_config(Path::new("w")).unwrap_err(),
            "missing one of key or key_file"
        );
    }

    #[test]
    fn basic_auth_is_checked_and_cached() {
        // bcrypt cost 4 of "wonderland".
        let users: BTreeMap<String, String> = [(
            "alice".to_owned(),
            "$2y$04$aFHtZVLiJVPja1Ora0Dqb.ZGO6k33WvhWLDFxG2DZ8RILL4zI2h6q".to_owned(),
        )]
        .into();
        let security = WebSecurity::new(PathBuf::from("unused"));
        let header = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        assert!(security.authenticate(&users, &header("alice", "wonderland")));
        assert!(security.authenticate(&users, &header("alice", "wonderland")));
        assert!(!security.authenticate(&users, &header("alice", "wrong")));
        assert!(!security.authenticate(&users, &header("mallory", "wonderland")));
        assert!(!security.authenticate(&users, "Bearer x"));
        assert_eq!(security.cache.lock().unwrap().len(), 3);
    }
}
