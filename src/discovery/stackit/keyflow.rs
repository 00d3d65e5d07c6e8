//! stackit-sdk-go's key flow (core v0.26.0, `auth.KeyAuth` + `clients.KeyFlow`), as Prometheus
//! sets it up: where the keys come from, the token endpoint, and the access token kept until
//! shortly before it expires.
//!
//! - Set up once, when the discoverer is created (Go: `newServerDiscovery`), and only when
//!   `service_account_key` or `service_account_key_path` is configured (else `NoAuth`).
//! - Service account key: `service_account_key`, else the file `service_account_key_path`.
//! - Private key (`getKey`): `private_key`; else the file `private_key_path`; else
//!   `STACKIT_PRIVATE_KEY_PATH` (a file) or `STACKIT_PRIVATE_KEY`; else the credentials file
//!   (`credentials_file_path`, else `STACKIT_CREDENTIALS_PATH`, else
//!   `$HOME/.stackit/credentials.json`) with its `STACKIT_PRIVATE_KEY_PATH` or
//!   `STACKIT_PRIVATE_KEY`; when none yields a key, the service account key's own
//!   `credentials.privateKey`.
//! - Token endpoint: `STACKIT_TOKEN_BASEURL`, else the key's `credentials.tokenEndpoint`, else
//!   `https://service-account.api.stackit.cloud/token`.
//! - A JWT (RS512, `kid`; `aud`, `exp` one hour, `iat`, `iss`, `jti`, `sub`) is exchanged
//!   (`assertion=…&grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token
//!   and a refresh token. The access token is reused until 5 s before its `exp`; then, while
//!   the refresh token is valid, `grant_type=refresh_token` renews it, else a new JWT.
//!
//! Where promsd differs: an access or refresh token that is not a JWT with `exp` counts as
//! expired (the SDK fails the request with "parse token"), and the key's `sub` is not checked
//! to be a UUID.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA512};
use serde::Deserialize;
use serde_json::{json, Value};

use super::StackitSdConfig;
use crate::common::jwt::pem_block;
use crate::discovery::kit::{ApiClient, ApiError};

/// stackit-sdk-go's default token endpoint.
pub const TOKEN_URL: &str = "https://service-account.api.stackit.cloud/token";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `defaultTokenExpirationLeeway`: a token this close to its `exp` is renewed.
const LEEWAY_SECS: u64 = 5;

/// The fields of a service account key's `credentials` the flow uses.
#[derive(Debug, Default, Clone)]
pub struct KeyCredentials {
    pub aud: String,
    pub iss: String,
    pub kid: String,
    pub sub: String,
    pub private_key: Option<String>,
    pub token_endpoint: String,
}

/// The tokens kept between refreshes.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// What the next request needs.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// The kept access token is still valid.
    Cached(String),
    /// Renew with the (valid) refresh token.
    Refresh(String),
    /// Ask with a new self-signed JWT.
    Assertion,
}

pub struct KeyFlow {
    key: KeyCredentials,
    rsa: RsaKeyPair,
    token_url: String,
    tokens: Mutex<Tokens>,
}

/// The environment the SDK reads (a closure, so tests need not change the process').
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment; empty counts as unset, as every SDK check treats it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Go's text for an `os.ReadFile` failure.
fn read_error(path: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    let text = match e.kind() {
        NotFound => "no such file or directory".to_owned(),
        PermissionDenied => "permission denied".to_owned(),
        IsADirectory => return format!("read {path}: is a directory"),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    };
    format!("open {path}: {text}")
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| read_error(path, &e))
}

/// A JSON object's member as Go's `encoding/json` finds it: the exact name, else any name
/// equal ignoring case.
fn member<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    let object = v.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn text(v: &Value, name: &str) -> String {
    member(v, name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The credentials file's (`$HOME/.stackit/credentials.json` by default) variables.
fn credentials_file(path: &str, env: Env) -> Result<Value, String> {
    let path = if !path.is_empty() {
        PathBuf::from(path)
    } else if let Some(custom) = env("STACKIT_CREDENTIALS_PATH") {
        PathBuf::from(custom)
    } else {
        let home = env("HOME").ok_or("getting home directory: $HOME is not defined")?;
        Path::new(&home).join(".stackit/credentials.json")
    };
    let shown = path.display().to_string();
    let raw = read(&shown).map_err(|e| format!("opening file: {e}"))?;
    serde_json::from_str(&raw).map_err(|e| format!("unmarshalling credentials: {e}"))
}

/// The SDK's `getKey` for the private key: configuration, environment, credentials file.
fn private_key(config: &StackitSdConfig, env: Env) -> Result<String, String> {
    if !config.private_key.is_empty() {
        return Ok(config.private_key.expose().to_owned());
    }
    let path = if !config.private_key_path.is_empty() {
        config.private_key_path.clone()
    } else {
        match (env("STACKIT_PRIVATE_KEY_PATH"), env("STACKIT_PRIVATE_KEY")) {
            (Some(path), _) => path,
            (None, Some(key)) => return Ok(key),
            (None, None) => {
                let file = credentials_file(&config.credentials_file_path, env)
                    .map_err(|e| format!("reading from credentials file: {e}"))?;
                let path = text(&file, "STACKIT_PRIVATE_KEY_PATH");
                if path.is_empty() {
                    let key = text(&file, "STACKIT_PRIVATE_KEY");
                    if key.is_empty() {
                        return Err("neither key nor path is provided in the configuration, environment variable, or credentials file: private key is empty or not set".into());
                    }
                    return Ok(key);
                }
                path
            }
        }
    };
    let key = read(&path).map_err(|e| format!("reading key from file path: {e}"))?;
    if key.is_empty() {
        return Err("key path points to an empty file".into());
    }
    Ok(key)
}

/// The `exp` claim of a JWT, if it is one.
fn jwt_exp(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?,
    )
    .ok()?;
    claims["exp"].as_f64().map(|e| e as u64)
}

/// `tokenExpired`: empty, or within the leeway of its `exp` (or not a JWT, see the module).
pub fn expired(token: &str, now: u64) -> bool {
    token.is_empty() || jwt_exp(token).is_none_or(|exp| now + LEEWAY_SECS > exp)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl KeyFlow {
    /// `auth.SetupAuth` for a configured service account key; the error as Prometheus words
    /// it after "setting up authentication: ".
    pub fn setup(config: &StackitSdConfig, env: Env) -> Result<KeyFlow, String> {
        let key_json = if !config.service_account_key.is_empty() {
            config.service_account_key.expose().to_owned()
        } else {
            let path = &config.service_account_key_path;
            let key = read(path)
                .map_err(|e| format!("reading key from file path: {e}"))
                .and_then(|k| {
                    if k.is_empty() {
                        Err("key path points to an empty file".to_owned())
                    } else {
                        Ok(k)
                    }
                })
                .map_err(|e| {
                    format!("configuring key authentication: configuring key authentication: service account key could not be found: {e}")
                })?;
            key
        };
        let key: Value = serde_json::from_str(&key_json).map_err(|e| {
            let suffix = if key_json.starts_with("-----BEGIN") {
                " - it seems like the provided service account key is in PEM format. Please provide it in JSON format."
            } else {
                ""
            };
            format!("configuring key authentication: unmarshalling service account key: {e}{suffix}")
        })?;
        let c = member(&key, "credentials").cloned().unwrap_or(Value::Null);
        let credentials = KeyCredentials {
            aud: text(&c, "aud"),
            iss: text(&c, "iss"),
            kid: text(&c, "kid"),
            sub: text(&c, "sub").to_ascii_lowercase(),
            private_key: member(&c, "privateKey")
                .and_then(Value::as_str)
                .map(str::to_owned),
            token_endpoint: text(&c, "tokenEndpoint"),
        };
        let pem = match private_key(config, env) {
            Ok(pem) => pem,
            Err(e) => match credentials.private_key.clone().filter(|k| !k.is_empty()) {
                Some(own) => own,
                None => return Err(format!("configuring key authentication: configuring key authentication: private key is not part of the service account key and could not be found: {e}")),
            },
        };
        let token_url = env("STACKIT_TOKEN_BASEURL")
            .or_else(|| Some(credentials.token_endpoint.clone()).filter(|u| !u.is_empty()))
            .unwrap_or_else(|| TOKEN_URL.to_owned());
        let init = |e: &str| {
            format!("configuring key authentication: error initializing client: parse private key from PEM file: {e}")
        };
        let (label, der) = pem_block(&pem)
            .ok_or_else(|| init("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key"))?;
        let rsa = if label == "RSA PRIVATE KEY" {
            RsaKeyPair::from_der(&der)
        } else {
            RsaKeyPair::from_pkcs8(&der)
        }
        .map_err(|e| init(&e.to_string()))?;
        Ok(KeyFlow {
            key: credentials,
            rsa,
            token_url,
            tokens: Mutex::new(Tokens::default()),
        })
    }

    /// The token endpoint in use.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The self-signed JWT: header `alg` RS512, `kid`, `typ`; claims `aud`, `exp` (one hour),
    /// `iat`, `iss`, `jti`, `sub`.
    pub fn assertion(&self, now: u64) -> Result<String, String> {
        let c = &self.key;
        let jti = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u16(..0x1000),
            0x8000 | fastrand::u16(..0x4000),
            fastrand::u64(..1 << 48)
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = json!({"alg": "RS512", "kid": c.kid, "typ": "JWT"});
        let claims = json!({"aud": c.aud, "exp": now + 3600, "iat": now, "iss": c.iss, "jti": jti, "sub": c.sub});
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut sig = vec![0; self.rsa.public().modulus_len()];
        self.rsa
            .sign(
                &RSA_PKCS1_SHA512,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|e| format!("signing JWT: {e}"))?;
        Ok(format!("{input}.{}", b64.encode(sig)))
    }

    /// What the next request needs at `now` (`GetAccessToken` / `recreateAccessToken`).
    pub fn next(tokens: &Tokens, now: u64) -> Next {
        if !expired(&tokens.access, now) {
            Next::Cached(tokens.access.clone())
        } else if !expired(&tokens.refresh, now) {
            Next::Refresh(tokens.refresh.clone())
        } else {
            Next::Assertion
        }
    }

    /// The access token for the next request: the kept one, or a new one from the token
    /// endpoint.
    pub async fn access_token(&self, client: &ApiClient) -> Result<String, ApiError> {
        let now = unix_now();
        let current = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let form: Vec<(&str, String)> = match Self::next(&current, now) {
            Next::Cached(token) => return Ok(token),
            Next::Refresh(refresh) => vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh),
            ],
            Next::Assertion => vec![
                ("assertion", self.assertion(now)?),
                ("grant_type", GRANT.into()),
            ],
        };
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            access_token: String,
            #[serde(default)]
            refresh_token: String,
        }
        let fail = |e: String| ApiError::Other(format!("get new access token: {e}"));
        let response = client
            .post(self.token_url.as_str())
            .form(&form)
            .send_raw()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if response.status.as_u16() != 200 {
            let body = String::from_utf8_lossy(&response.body).into_owned();
            let mut e = format!(", status code {}, Body: {body}\n", response.status.as_u16());
            if regex_kid_not_found(&body) {
                e = format!("check if your configured key is valid and if the token endpoint is configured correct: {e}");
            }
            return Err(fail(e));
        }
        let answer: Answer = serde_json::from_slice(&response.body)
            .map_err(|e| fail(format!("unmarshal token response: {e}")))?;
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner()) = Tokens {
            access: answer.access_token.clone(),
            refresh: answer.refresh_token,
        };
        Ok(answer.access_token)
    }
}

/// The SDK's `Key with kid .*? was not found` check on a refused token request.
fn regex_kid_not_found(body: &str) -> bool {
    body.find("Key with kid ")
        .is_some_and(|i| body[i..].contains(" was not found"))
}
