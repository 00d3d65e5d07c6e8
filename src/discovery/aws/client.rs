//! One AWS service as the Go SDK calls it: its endpoint, its signing name, and the three wire
//! protocols the discoverers use (Query: form POST with XML answers; JSON 1.1: POST with
//! `X-Amz-Target`; REST-JSON: GET on resource paths).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;

use super::auth::{self, AwsError, CredentialsProvider};
use crate::discovery::kit::ApiClient;

/// The service's endpoint: the config's `endpoint`, else `AWS_ENDPOINT_URL_<SERVICE>`, else
/// `AWS_ENDPOINT_URL`, else `https://<service>.<region>.amazonaws.com` (`.com.cn` in China).
/// Without a trailing slash.
pub fn service_endpoint(configured: &str, service_id: &str, region: &str) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let url = if !configured.is_empty() {
        configured.to_owned()
    } else if let Some(url) = env(&format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_ascii_uppercase()
    ))
    .or_else(|| env("AWS_ENDPOINT_URL"))
    {
        url
    } else {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{service_id}.{region}.{suffix}")
    };
    url.trim_end_matches('/').to_owned()
}

/// A client of one AWS service for one discoverer.
#[derive(Clone)]
pub struct ServiceClient {
    pub http: ApiClient,
    pub creds: Arc<CredentialsProvider>,
    pub region: String,
    pub endpoint: String,
    /// SigV4 signing name (`ec2`, `kafka`, ...).
    pub signing_name: &'static str,
}

impl ServiceClient {
    pub fn new(
        http: ApiClient,
        creds: Arc<CredentialsProvider>,
        region: &str,
        configured_endpoint: &str,
        service_id: &str,
        signing_name: &'static str,
    ) -> Self {
        ServiceClient {
            http,
            creds,
            region: region.to_owned(),
            endpoint: service_endpoint(configured_endpoint, service_id, region),
            signing_name,
        }
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        content_type: &str,
        body: Bytes,
        extra: &[(&str, &str)],
    ) -> Result<Bytes, AwsError> {
        let creds = self.creds.get().await.map_err(AwsError::other)?;
        let result = auth::send_signed(
            &self.http,
            method,
            url,
            content_type,
            body,
            &creds,
            &self.region,
            self.signing_name,
            extra,
        )
        .await;
        if let Err(e) = &result {
            if e.is_auth() {
                self.creds.reset().await;
            }
        }
        result
    }

    /// A Query protocol call: `Action`, `Version` and `params` as a form body.
    pub async fn query(
        &self,
        action: &str,
        version: &str,
        mut params: Vec<(&str, String)>,
    ) -> Result<Bytes, AwsError> {
        params.push(("Action", action.to_owned()));
        params.push(("Version", version.to_owned()));
        let body = auth::encode_form(&params);
        self.send(
            Method::POST,
            &format!("{}/", self.endpoint),
            auth::QUERY_CONTENT_TYPE,
            Bytes::from(body),
            &[],
        )
        .await
    }

    /// A JSON 1.1 call: `target` (`Lightsail_20161128.GetInstances`) and its input.
    pub async fn json(&self, target: &str, input: &serde_json::Value) -> Result<Bytes, AwsError> {
        let body = serde_json::to_vec(input).map_err(|e| AwsError::other(e.to_string()))?;
        self.send(
            Method::POST,
            &format!("{}/", self.endpoint),
            "application/x-amz-json-1.1",
            Bytes::from(body),
            &[("x-amz-target", target)],
        )
        .await
    }

    /// A REST-JSON GET of `path` (already escaped) with `query` parameters.
    pub async fn rest_get(&self, path: &str, query: &[(&str, String)]) -> Result<Bytes, AwsError> {
        let mut url = format!("{}{path}", self.endpoint);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&auth::encode_form(query));
        }
        self.send(Method::GET, &url, "", Bytes::new(), &[]).await
    }
}

/// smithy-go's `EscapePath` of one path segment (a cluster ARN in MSK's paths): everything
/// but unreserved bytes escaped, `/` and `:` included.
pub fn path_escape(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How long one whole AWS request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
