//! Google's default credentials, as golang.org/x/oauth2/google finds and uses them, for the
//! `https://www.googleapis.com/auth/compute.readonly` scope.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use tokio::sync::Mutex;

use super::api::{CredentialsFile, TokenResponse};
use crate::common::jwt::pem_block;
use crate::discovery::kit::{ApiClient, ApiError};

/// The scope Prometheus asks for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/compute.readonly";
/// Google's token endpoint, when a credentials file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The metadata server's address on GCE.
const METADATA_IP: &str = "169.254.169.254";

/// Where tokens come from.
pub enum Source {
    ServiceAccount {
        email: String,
        key: Box<RsaKeyPair>,
        key_id: String,
        token_uri: String,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        token_uri: String,
    },
    /// The metadata server at `host` (`host:port`).
    Metadata { host: String },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Google's default chain (`FindDefaultCredentials`): blocking (reads files).
pub fn find_default() -> Result<Source, String> {
    if let Some(path) = env("GOOGLE_APPLICATION_CREDENTIALS") {
        return read_file(&path).map_err(|e| {
            format!("google: error getting credentials using GOOGLE_APPLICATION_CREDENTIALS environment variable: {e}")
        });
    }
    let well_known = match env("CLOUDSDK_CONFIG") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(env("HOME").unwrap_or_default()).join(".config/gcloud"),
    }
    .join("application_default_credentials.json");
    if well_known.exists() {
        return read_file(&well_known.to_string_lossy()).map_err(|e| {
            format!(
                "google: error getting credentials using well-known file ({}): {e}",
                well_known.display()
            )
        });
    }
    if let Some(host) = env("GCE_METADATA_HOST") {
        return Ok(Source::Metadata { host });
    }
    let product = std::fs::read_to_string("/sys/class/dmi/id/product_name").unwrap_or_default();
    if product.trim().starts_with("Google") {
        return Ok(Source::Metadata {
            host: METADATA_IP.to_owned(),
        });
    }
    Err("google: could not find default credentials. See https://cloud.google.com/docs/authentication/external/set-up-adc for more information".into())
}

fn read_file(path: &str) -> Result<Source, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("open {path}: {e}"))?;
    let file: CredentialsFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let token_uri = if file.token_uri.is_empty() {
        DEFAULT_TOKEN_URI.to_owned()
    } else {
        file.token_uri.clone()
    };
    match file.kind.as_str() {
        "service_account" => Ok(Source::ServiceAccount {
            key: Box::new(parse_key(&file.private_key)?),
            email: file.client_email,
            key_id: file.private_key_id,
            token_uri,
        }),
        "authorized_user" => Ok(Source::AuthorizedUser {
            client_id: file.client_id,
            client_secret: file.client_secret,
            refresh_token: file.refresh_token,
            token_uri,
        }),
        "" => Err("missing 'type' field in credentials".into()),
        other => Err(format!("unknown credential type: {other:?}")),
    }
}

/// An RSA private key in PEM, PKCS#8 (`PRIVATE KEY`, what Google issues) or PKCS#1
/// (`RSA PRIVATE KEY`), as x/oauth2's `ParseKey` accepts.
pub fn parse_key(pem: &str) -> Result<RsaKeyPair, String> {
    let invalid = || "private key should be a PEM or plain PKCS1 or PKCS8; parse error".to_owned();
    let (label, der) = pem_block(pem).ok_or_else(invalid)?;
    let key = if label == "RSA PRIVATE KEY" {
        RsaKeyPair::from_der(&der)
    } else {
        RsaKeyPair::from_pkcs8(&der)
    };
    key.map_err(|e| format!("private key is invalid: {e}"))
}

/// The signed assertion of x/oauth2's `jwt.Config` (`jws.Encode`): header `alg`, `typ`, `kid`;
/// claims `iss`, `scope`, `aud`, `exp`, `iat` with `iat` 10 seconds in the past and `exp` an
/// hour after it.
pub fn assertion(
    key: &RsaKeyPair,
    key_id: &str,
    email: &str,
    aud: &str,
    now: u64,
) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // Field order as Go's encoding of jws.Header.
    let header = if key_id.is_empty() {
        r#"{"alg":"RS256","typ":"JWT"}"#.to_owned()
    } else {
        format!(
            r#"{{"alg":"RS256","typ":"JWT","kid":{}}}"#,
            serde_json::Value::from(key_id)
        )
    };
    let iat = now.saturating_sub(10);
    // Field order as Go's encoding of jws.ClaimSet.
    let claims = format!(
        r#"{{"iss":{},"scope":{},"aud":{},"exp":{},"iat":{}}}"#,
        serde_json::Value::from(email),
        serde_json::Value::from(SCOPE),
        serde_json::Value::from(aud),
        iat + 3600,
        iat
    );
    let signing_input = format!("{}.{}", b64.encode(header), b64.encode(claims));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the JWT failed".to_owned())?;
    Ok(format!("{signing_input}.{}", b64.encode(signature)))
}

/// A token source with its cache.
pub struct Credential {
    source: Source,
    /// Token endpoints (through the environment's proxy).
    client: ApiClient,
    /// The metadata server, reached directly.
    metadata_client: ApiClient,
    cached: Mutex<Option<(String, Instant)>>,
}

/// How long before its expiry a token is replaced (x/oauth2's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

impl Credential {
    pub fn new(source: Source, client: ApiClient, metadata_client: ApiClient) -> Self {
        Credential {
            source,
            client,
            metadata_client,
            cached: Mutex::new(None),
        }
    }

    /// A valid token; `renew` drops the cached one first (after a 401).
    pub async fn token(&self, renew: bool) -> Result<String, ApiError> {
        let mut cached = self.cached.lock().await;
        if renew {
            *cached = None;
        }
        if let Some((token, expires)) = &*cached {
            if Instant::now() + EXPIRY_DELTA < *expires {
                return Ok(token.clone());
            }
        }
        let answer = self.fetch().await?;
        if answer.access_token.is_empty() {
            return Err(ApiError::Other(
                "oauth2: server response missing access_token".into(),
            ));
        }
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600).max(0) as u64);
        *cached = Some((answer.access_token.clone(), Instant::now() + lifetime));
        Ok(answer.access_token)
    }

    async fn fetch(&self) -> Result<TokenResponse, ApiError> {
        match &self.source {
            Source::ServiceAccount {
                email,
                key,
                key_id,
                token_uri,
            } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                let jwt = assertion(key, key_id, email, token_uri, now)?;
                self.client
                    .post(token_uri.as_str())
                    .form(&[
                        ("assertion", jwt.as_str()),
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ])
                    .fetch_json()
                    .await
            }
            Source::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
            } => {
                self.client
                    .post(token_uri.as_str())
                    .form(&[
                        ("client_id", client_id.as_str()),
                        ("client_secret", client_secret.as_str()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh_token.as_str()),
                    ])
                    .fetch_json()
                    .await
            }
            Source::Metadata { host } => {
                let answer: TokenResponse = self
                    .metadata_client
                    .get(format!(
                        "http://{host}/computeMetadata/v1/instance/service-accounts/default/token?scopes={}",
                        super::refresh::query_escape(SCOPE)
                    ))
                    .header("Metadata-Flavor", "Google")
                    .header("User-Agent", "gcloud-golang/0.1")
                    .fetch_json()
                    .await?;
                if answer.expires_in.unwrap_or(0) == 0 || answer.access_token.is_empty() {
                    return Err(ApiError::Other(
                        "oauth2/google: incomplete token received from metadata".into(),
                    ));
                }
                Ok(answer)
            }
        }
    }
}
