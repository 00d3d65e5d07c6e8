//! One Outscale refresh on the kit: `ReadVms`, page by page, SigV4-signed (service `oapi`).

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, TargetGroup};

use super::targets::{group, ReadVms};
use super::OutscaleSdConfig;
use crate::discovery::aws::auth::{Credentials, SigV4};
use crate::discovery::kit::{self, ApiError, LazyClient};

/// osc-sdk-go's signing defaults (Prometheus sets neither).
const SIGNING_REGION: &str = "eu-west-2";
const SIGNING_SERVICE: &str = "oapi";

struct State {
    config: OutscaleSdConfig,
    client: LazyClient,
}

pub(super) fn discoverer(ctx: &BuildContext, config: &OutscaleSdConfig) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let state = Arc::new(State {
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        config: config.clone(),
    });
    kit::poll(ctx, "outscale", interval, move || {
        let state = state.clone();
        async move { state.refresh().await.map(|g| vec![g]) }
    })
}

/// osc-sdk-go's body: `json.Encoder.Encode` of `ReadVmsRequest` (a trailing newline).
pub fn request_body(token: Option<&str>) -> String {
    match token {
        None => "{}\n".to_owned(),
        Some(t) => format!("{}\n", serde_json::json!({ "NextPageToken": t })),
    }
}

impl State {
    async fn secret(&self) -> Result<String, ApiError> {
        let c = &self.config;
        if c.secret_key_file.is_empty() {
            return Ok(c.secret_key.expose().to_owned());
        }
        let path = c.secret_key_file.clone();
        let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(&path))
            .await
            .map_err(|e| ApiError::Other(e.to_string()))?;
        read.map(|s| s.trim().to_owned()).map_err(|e| {
            ApiError::Other(format!(
                "unable to read outscale secret key file {}: {e}",
                c.secret_key_file
            ))
        })
    }

    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let secret = self.secret().await?;
        let client = self.client.get().await?;
        let signer = Arc::new(SigV4 {
            creds: Credentials {
                access_key_id: self.config.access_key.clone(),
                secret_access_key: secret,
                session_token: None,
                expires: None,
            },
            region: SIGNING_REGION.into(),
            service: SIGNING_SERVICE.into(),
        });
        let url = format!("{}/ReadVms", self.config.endpoint);
        let vms = kit::collect_pages(None::<String>, |token| {
            let request = client
                .post(url.clone())
                .body(request_body(token.as_deref()), "application/json")
                .header("Accept", "application/json")
                .sign(signer.clone());
            async move {
                let page: ReadVms = request
                    .fetch_json()
                    .await
                    .map_err(|e| ApiError::Other(format!("outscale ReadVms: {e}")))?;
                let next = page.next_page_token.filter(|t| !t.is_empty());
                Ok((page.vms.unwrap_or_default(), next.map(Some)))
            }
        })
        .await?;
        let (region, port) = (self.config.region.clone(), self.config.port);
        tokio::task::spawn_blocking(move || group(&vms, &region, port))
            .await
            .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
    }
}
