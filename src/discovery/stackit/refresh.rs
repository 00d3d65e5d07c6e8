//! One STACKIT refresh on the kit: the project's servers with `details=true`.

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryError, TargetGroup};

use super::keyflow::{self, KeyFlow};
use super::targets::{group, ServerList};
use super::StackitSdConfig;
use crate::discovery::kit::{self, ApiError, LazyClient};

struct State {
    config: StackitSdConfig,
    client: LazyClient,
    /// The key flow (and its kept tokens), when a service account key is configured.
    auth: Option<KeyFlow>,
}

/// The discoverer; as Prometheus' `newServerDiscovery`, the authentication is set up here, so
/// a missing or bad key fails the discoverer's creation.
pub(super) fn discoverer(
    ctx: &BuildContext,
    config: &StackitSdConfig,
) -> Result<Discoverer, DiscoveryError> {
    let interval = config.refresh_interval.as_std();
    let auth =
        if config.service_account_key.is_empty() && config.service_account_key_path.is_empty() {
            None
        } else {
            Some(
                KeyFlow::setup(config, &keyflow::process_env)
                    .map_err(|e| DiscoveryError::new(format!("setting up authentication: {e}")))?,
            )
        };
    let state = Arc::new(State {
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        config: config.clone(),
        auth,
    });
    Ok(kit::poll(ctx, "stackit", interval, move || {
        let state = state.clone();
        async move { state.refresh().await.map(|g| vec![g]) }
    }))
}

/// The list URL: the endpoint (or the region's), its path joined with
/// `v1/projects/<project>/servers`, its query plus `details=true`, keys sorted (Go's
/// `url.Values.Encode`).
pub fn servers_url(config: &StackitSdConfig) -> Result<String, String> {
    let endpoint = if config.endpoint.is_empty() {
        format!("https://iaas.api.{}.stackit.cloud", config.region)
    } else {
        config.endpoint.clone()
    };
    let mut url = url::Url::parse(&endpoint)
        .map_err(|e| format!("invalid API endpoint URL {endpoint}: {e}"))?;
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}/v1/projects/{}/servers", config.project));
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "details")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.push(("details".into(), "true".into()));
    query.sort_by(|a, b| a.0.cmp(&b.0));
    url.set_query(None);
    url.query_pairs_mut().extend_pairs(&query);
    Ok(url.to_string())
}

impl State {
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let c = &self.config;
        let url = servers_url(c)?;
        let client = self.client.get().await?;
        let mut request = client.get(url).header("Accept", "application/json");
        if let Some(flow) = &self.auth {
            request = request.bearer(&flow.access_token(client).await?);
        }
        let response = request
            .send_raw()
            .await
            .map_err(|e| ApiError::Other(format!("sending request: {e}")))?;
        if response.status.as_u16() != 200 {
            return Err(ApiError::Other(format!(
                "unexpected status code {}: {}",
                response.status.as_u16(),
                String::from_utf8_lossy(&response.body)
            )));
        }
        let list: Option<ServerList> = response
            .json()
            .await
            .map_err(|e| ApiError::Other(format!("decoding response: {e}")))?;
        let servers = list.and_then(|l| l.items).unwrap_or_default();
        let (project, port) = (c.project.clone(), c.port as u64);
        tokio::task::spawn_blocking(move || group(&servers, &project, port))
            .await
            .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
    }
}
