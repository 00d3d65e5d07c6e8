//! Who promsd is to AWS and where: credentials (the Go SDK's default chain), the region, STS
//! AssumeRole, and the SigV4 signature of each request (the `aws-sigv4` crate).
//!
//! Credentials, in the order the Go SDK v2 resolves them for Prometheus:
//! 1. `access_key` + `secret_key` from the config (both set);
//! 2. a `profile` set in the config: that profile of the shared files;
//! 3. the environment: `AWS_ACCESS_KEY_ID` (or `AWS_ACCESS_KEY`), `AWS_SECRET_ACCESS_KEY` (or
//!    `AWS_SECRET_KEY`), `AWS_SESSION_TOKEN`;
//! 4. the shared files: `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`) then
//!    `AWS_CONFIG_FILE` (default `~/.aws/config`), profile `AWS_PROFILE` or `default`;
//! 5. ECS container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` /
//!    `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`);
//! 6. the instance profile from the instance metadata service (IMDSv2), whose address is
//!    `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`), off when
//!    `AWS_EC2_METADATA_DISABLED=true`.
//!
//! With `role_arn`, those credentials call STS `AssumeRole` (with `external_id`), and the
//! temporary credentials it returns sign the requests, renewed 5 minutes before they expire.
//!
//! The region: the config's `region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the
//! shared config file's `region` of `AWS_PROFILE` (or `default`), else the instance metadata
//! service's `placement/region`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde::Deserialize;
use tokio::sync::Mutex;

use futures::future::BoxFuture;

use crate::discovery::kit::{ApiClient, SignRequest, Signer};

/// A set of AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// One INI file of the shared configuration: section name -> key -> value.
type Ini = HashMap<String, HashMap<String, String>>;

fn parse_ini(text: &str) -> Ini {
    let mut out: Ini = HashMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_owned();
            out.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        if let (Some(section), Some((key, value))) = (&section, line.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    out
}

fn read_ini(path: Option<PathBuf>) -> Ini {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse_ini(&t))
        .unwrap_or_default()
}

fn credentials_file() -> Ini {
    read_ini(
        env("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".aws/credentials"))),
    )
}

fn config_file() -> Ini {
    read_ini(
        env("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".aws/config"))),
    )
}

/// The keys of `profile` in the shared files (credentials file first, as the SDK merges them).
fn profile_keys(profile: &str) -> Option<HashMap<String, String>> {
    let creds = credentials_file();
    let config = config_file();
    let config_section = if profile == "default" {
        config
            .get("default")
            .or_else(|| config.get("profile default"))
    } else {
        config.get(&format!("profile {profile}"))
    };
    match (creds.get(profile), config_section) {
        (None, None) => None,
        (a, b) => {
            let mut keys = b.cloned().unwrap_or_default();
            keys.extend(a.cloned().unwrap_or_default());
            Some(keys)
        }
    }
}

fn static_from_keys(keys: &HashMap<String, String>) -> Option<Credentials> {
    let id = keys.get("aws_access_key_id").filter(|v| !v.is_empty())?;
    let secret = keys
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())?;
    Some(Credentials {
        access_key_id: id.clone(),
        secret_access_key: secret.clone(),
        session_token: keys
            .get("aws_session_token")
            .filter(|v| !v.is_empty())
            .cloned(),
        expires: None,
    })
}

fn env_credentials() -> Option<Credentials> {
    let id = env("AWS_ACCESS_KEY_ID").or_else(|| env("AWS_ACCESS_KEY"))?;
    let secret = env("AWS_SECRET_ACCESS_KEY").or_else(|| env("AWS_SECRET_KEY"))?;
    Some(Credentials {
        access_key_id: id,
        secret_access_key: secret,
        session_token: env("AWS_SESSION_TOKEN"),
        expires: None,
    })
}

/// The region when the config has none (see the module documentation).
pub async fn resolve_region(configured: &str, timeout: Duration) -> Result<String, String> {
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    let found = async {
        if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
            return Ok(region);
        }
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        if let Some(region) = profile_keys(&profile)
            .and_then(|k| k.get("region").cloned())
            .filter(|r| !r.is_empty())
        {
            return Ok(region);
        }
        let imds = Imds::from_env(timeout)?;
        let region = imds
            .get("/latest/meta-data/placement/region")
            .await
            .map_err(|e| format!("failed to get region from IMDS: {e}"))?;
        if region.trim().is_empty() {
            return Err("region not found in AWS config or IMDS".to_owned());
        }
        Ok(region.trim().to_owned())
    }
    .await;
    found.map_err(|e| format!("could not determine AWS region: {e}"))
}

/// The instance metadata service (IMDSv2: a session token first, then reads).
struct Imds {
    base: String,
    client: reqwest::Client,
}

impl Imds {
    fn from_env(timeout: Duration) -> Result<Imds, String> {
        if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err("access disabled to EC2 IMDS via client option, or \"AWS_EC2_METADATA_DISABLED\" environment variable".to_owned());
        }
        let base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| "http://169.254.169.254".to_owned());
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Imds {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    async fn get(&self, path: &str) -> Result<String, String> {
        let token = self
            .client
            .put(format!("{}/latest/api/token", self.base))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
            .send()
            .await
            .map_err(|e| crate::common::http_client::describe_error(&e))?;
        let mut request = self.client.get(format!("{}{path}", self.base));
        match token.status().as_u16() {
            200..=299 => {
                let token = token.text().await.map_err(|e| e.to_string())?;
                request = request.header("X-aws-ec2-metadata-token", token);
            }
            // IMDSv1 fallback, as the SDK does when the token API is missing or refused.
            403 => return Err("IMDS token request forbidden (403)".to_owned()),
            _ => {}
        }
        let response = request
            .send()
            .await
            .map_err(|e| crate::common::http_client::describe_error(&e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("IMDS {path}: HTTP {status}"));
        }
        Ok(body)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

impl JsonCredentials {
    fn into_credentials(self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id,
            secret_access_key: self.secret_access_key,
            session_token: self.token.filter(|t| !t.is_empty()),
            expires: self.expiration.as_deref().and_then(parse_iso8601),
        }
    }
}

fn parse_iso8601(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// Where the base credentials come from.
#[derive(Clone, Debug)]
enum Source {
    Static(Credentials),
    Container,
    Instance,
}

/// The credentials every request of one discoverer is signed with: resolved once, renewed
/// when temporary ones come near their end.
pub struct CredentialsProvider {
    source: Source,
    role: Option<AssumeRole>,
    cached: Mutex<Option<Credentials>>,
    timeout: Duration,
}

/// STS AssumeRole settings.
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: String,
    pub region: String,
    pub sts: ApiClient,
}

impl CredentialsProvider {
    /// Picks the source as the SDK's default chain does; `role` wraps it in AssumeRole.
    pub fn new(
        access_key: &str,
        secret_key: &str,
        profile: &str,
        role: Option<AssumeRole>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let source = if !access_key.is_empty() && !secret_key.is_empty() {
            Source::Static(Credentials {
                access_key_id: access_key.to_owned(),
                secret_access_key: secret_key.to_owned(),
                session_token: None,
                expires: None,
            })
        } else if !profile.is_empty() {
            let keys = profile_keys(profile)
                .ok_or_else(|| format!("failed to get shared config profile, {profile}"))?;
            match static_from_keys(&keys) {
                Some(c) => Source::Static(c),
                None => default_source_without_env(),
            }
        } else if let Some(c) = env_credentials() {
            Source::Static(c)
        } else {
            let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
            match profile_keys(&profile) {
                Some(keys) => match static_from_keys(&keys) {
                    Some(c) => Source::Static(c),
                    None => default_source_without_env(),
                },
                None if profile != "default" => {
                    return Err(format!("failed to get shared config profile, {profile}"))
                }
                None => default_source_without_env(),
            }
        };
        Ok(CredentialsProvider {
            source,
            role,
            cached: Mutex::new(None),
            timeout,
        })
    }

    /// Credentials valid for at least a few more minutes.
    pub async fn get(&self) -> Result<Credentials, String> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = &*cached {
            let fresh = c.expires.is_none_or(|t| {
                t.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > Duration::from_secs(300))
            });
            if fresh {
                return Ok(c.clone());
            }
        }
        let base = match &self.source {
            Source::Static(c) => c.clone(),
            Source::Container => container_credentials(self.timeout).await?,
            Source::Instance => instance_credentials(self.timeout).await?,
        };
        let creds = match &self.role {
            None => base,
            Some(role) => assume_role(role, &base).await?,
        };
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// Forgets cached credentials (after the service refused them).
    pub async fn reset(&self) {
        *self.cached.lock().await = None;
    }
}

fn default_source_without_env() -> Source {
    if env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        Source::Container
    } else {
        Source::Instance
    }
}

async fn container_credentials(timeout: Duration) -> Result<Credentials, String> {
    let url = match env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        Some(rel) => format!("http://169.254.170.2{rel}"),
        None => env("AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap_or_default(),
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(&url);
    let token = match env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => std::fs::read_to_string(file).ok(),
        None => env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    if let Some(token) = token {
        request = request.header("Authorization", token.trim());
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("failed to refresh cached credentials, {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "failed to refresh cached credentials, container credentials: HTTP {}",
            response.status()
        ));
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice::<JsonCredentials>(&body)
        .map(JsonCredentials::into_credentials)
        .map_err(|e| format!("failed to refresh cached credentials, {e}"))
}

async fn instance_credentials(timeout: Duration) -> Result<Credentials, String> {
    let failed =
        |e: String| format!("failed to refresh cached credentials, no EC2 IMDS role found, {e}");
    let imds = Imds::from_env(timeout).map_err(failed)?;
    let roles = imds
        .get("/latest/meta-data/iam/security-credentials/")
        .await
        .map_err(failed)?;
    let role = roles
        .lines()
        .next()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| failed("empty role list".to_owned()))?;
    let body = imds
        .get(&format!(
            "/latest/meta-data/iam/security-credentials/{role}"
        ))
        .await
        .map_err(failed)?;
    serde_json::from_str::<JsonCredentials>(&body)
        .map(JsonCredentials::into_credentials)
        .map_err(|e| failed(e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    assume_role_result: AssumeRoleResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResult {
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

/// STS AssumeRole (Query protocol), signed with the base credentials.
async fn assume_role(role: &AssumeRole, base: &Credentials) -> Result<Credentials, String> {
    let session = format!(
        "aws-go-sdk-{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let mut params = vec![
        ("Action", "AssumeRole".to_owned()),
        ("RoleArn", role.role_arn.clone()),
        ("RoleSessionName", session),
        ("Version", "2011-06-15".to_owned()),
    ];
    if !role.external_id.is_empty() {
        params.push(("ExternalId", role.external_id.clone()));
    }
    let body = encode_form(&params);
    let url = super::client::service_endpoint("", "sts", &role.region);
    let response = send_signed(
        &role.sts,
        Method::POST,
        &format!("{url}/"),
        QUERY_CONTENT_TYPE,
        body.into_bytes().into(),
        base,
        &role.region,
        "sts",
        &[],
    )
    .await
    .map_err(|e| {
        format!("failed to refresh cached credentials, operation error STS: AssumeRole, {e}")
    })?;
    let parsed: AssumeRoleResponse = quick_xml::de::from_reader(&response[..])
        .map_err(|e| format!("failed to refresh cached credentials, STS answer: {e}"))?;
    let c = parsed.assume_role_result.credentials;
    Ok(Credentials {
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: Some(c.session_token),
        expires: parse_iso8601(&c.expiration),
    })
}

/// Content type of the Query protocol's form bodies, as the Go SDK sends it.
pub const QUERY_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// `url.Values.Encode()`: keys sorted, `+` for spaces.
pub fn encode_form(params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        query_escape(k, &mut out);
        out.push('=');
        query_escape(v, &mut out);
    }
    out
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
pub fn query_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// The kit's [`Signer`] for AWS: SigV4 over `host`, `content-type`, `x-amz-target` and
/// `x-amz-security-token` (the configured headers, user agent and `http_headers`, travel
/// unsigned, as the Go SDK adds them after signing); its `Authorization` replaces any other.
pub struct SigV4 {
    pub creds: Credentials,
    pub region: String,
    pub service: String,
}

impl Signer for SigV4 {
    fn sign<'a>(&'a self, request: &'a mut SignRequest) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let host = match (request.url.host_str(), request.url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => return Err(format!("no host in {}", request.url)),
            };
            if let Some(token) = &self.creds.session_token {
                request.headers.insert(
                    "x-amz-security-token",
                    HeaderValue::from_str(token).map_err(|e| e.to_string())?,
                );
            }
            let mut to_sign: Vec<(String, String)> = vec![("host".into(), host)];
            for name in ["content-type", "x-amz-target", "x-amz-security-token"] {
                if let Some(v) = request.headers.get(name).and_then(|v| v.to_str().ok()) {
                    to_sign.push((name.into(), v.to_owned()));
                }
            }
            let pairs: Vec<(&str, &str)> = to_sign
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let signed = sign(
                request.method.as_str(),
                request.url.as_str(),
                &pairs,
                &request.body,
                &self.creds,
                &self.region,
                &self.service,
            )?;
            for (name, value) in signed {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
                let value = HeaderValue::from_str(&value).map_err(|e| e.to_string())?;
                request.headers.insert(name, value);
            }
            Ok(())
        })
    }
}

/// Signs and sends one request; a non-2xx answer is an error carrying AWS's error code.
#[allow(clippy::too_many_arguments)]
pub async fn send_signed(
    client: &ApiClient,
    method: Method,
    url: &str,
    content_type: &str,
    body: bytes::Bytes,
    creds: &Credentials,
    region: &str,
    service: &str,
    extra: &[(&str, &str)],
) -> Result<bytes::Bytes, AwsError> {
    let mut request = client.request(method.clone(), url);
    if !content_type.is_empty() || method == Method::POST {
        request = request.body(body, content_type);
    }
    for (name, value) in extra {
        request = request.header(name, value);
    }
    let signer = Arc::new(SigV4 {
        creds: creds.clone(),
        region: region.to_owned(),
        service: service.to_owned(),
    });
    let response = request
        .sign(signer)
        .send_raw()
        .await
        .map_err(|e| AwsError::other(e.to_string()))?;
    if response.status.is_success() {
        return Ok(response.body);
    }
    Err(AwsError::from_response(
        response.status.as_u16(),
        &response.body,
    ))
}

/// SigV4 headers (`x-amz-date`, `authorization`, ...) for a request with `headers`.
pub fn sign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    creds: &Credentials,
    region: &str,
    service: &str,
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "promsd",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect())
}

/// An AWS API error: its code (`RequestLimitExceeded`, `AuthFailure`, ...) when the answer
/// carried one.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn other(message: impl Into<String>) -> Self {
        AwsError {
            status: None,
            code: String::new(),
            message: message.into(),
        }
    }

    /// Reads the error of a Query (XML) or JSON protocol answer.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let (code, message) = if text.trim_start().starts_with('<') {
            (xml_tag(&text, "Code"), xml_tag(&text, "Message"))
        } else {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let code = v
                .get("__type")
                .or_else(|| v.get("code"))
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .rsplit('#')
                .next()
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("")
                .to_owned();
            let message = v
                .get("message")
                .or_else(|| v.get("Message"))
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_owned();
            (code, message)
        };
        AwsError {
            status: Some(status),
            code,
            message,
        }
    }

    /// The credentials were refused: drop them, as Prometheus drops its client.
    pub fn is_auth(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AuthFailure" | "UnauthorizedOperation" | "ExpiredToken" | "ExpiredTokenException"
        )
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "https response error StatusCode: {status}, api error {}: {}",
                self.code, self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

fn xml_tag(text: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    text.find(&open)
        .and_then(|start| {
            let rest = &text[start + open.len()..];
            rest.find(&close).map(|end| rest[..end].to_owned())
        })
        .unwrap_or_default()
}

/// Builds the HTTP client of a discoverer (Prometheus' HTTP client settings) and the
/// credentials provider, both off the engine's thread.
pub fn client_and_credentials(
    settings: &super::Settings,
    region: &str,
    timeout: Duration,
) -> Result<(ApiClient, Arc<CredentialsProvider>), String> {
    let client = ApiClient::new(&settings.http_client_config, Some(timeout))?;
    let role = (!settings.role_arn.is_empty()).then(|| AssumeRole {
        role_arn: settings.role_arn.clone(),
        external_id: settings.external_id.clone(),
        region: region.to_owned(),
        sts: client.clone(),
    });
    let provider = CredentialsProvider::new(
        &settings.access_key,
        settings.secret_key.expose(),
        &settings.profile,
        role,
        timeout,
    )
    .map_err(|e| format!("could not create aws config: {e}"))?;
    Ok((client, Arc::new(provider)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_is_sorted_and_plus_encoded() {
        let body = encode_form(&[
            ("Version", "2016-11-15".into()),
            ("Action", "DescribeInstances".into()),
            ("Filter.1.Value.1", "a b/c".into()),
        ]);
        assert_eq!(
            body,
            "Action=DescribeInstances&Filter.1.Value.1=a+b%2Fc&Version=2016-11-15"
        );
    }

    #[test]
    fn query_and_json_errors() {
        let e = AwsError::from_response(
            503,
            b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>",
        );
        assert_eq!(e.code, "RequestLimitExceeded");
        let e = AwsError::from_response(
            400,
            br#"{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}"#,
        );
        assert_eq!(e.code, "ThrottlingException");
        assert_eq!(e.message, "Rate exceeded");
    }

    #[test]
    fn ini_profiles() {
        let ini = parse_ini("[default]\naws_access_key_id = A\n[profile x]\nregion=eu-west-1\n");
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile x"]["region"], "eu-west-1");
    }
}
