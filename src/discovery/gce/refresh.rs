//! One GCE refresh: `instances.list`, every page, into one group (Prometheus' `refresh`), on
//! the kit's polling.

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, TargetGroup};

use super::api;
use super::auth::{self, Credential};
use super::targets::{self, Context};
use super::GceSdConfig;
use crate::common::http_config::HttpClientConfig;
pub use crate::discovery::kit::path_escape;
pub use crate::discovery::kit::query_escape;
use crate::discovery::kit::{self, ApiClient, ApiError};

/// The Compute API's base (compute/v1).
const BASE: &str = "https://compute.googleapis.com/compute/v1/";

/// The discoverer of one config.
pub fn discoverer(ctx: &BuildContext, config: Arc<GceSdConfig>) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let state = Arc::new(State {
        config,
        built: tokio::sync::OnceCell::new(),
    });
    kit::poll(ctx, "gce", interval, move || {
        let state = state.clone();
        async move { state.refresh().await }
    })
}

struct Clients {
    api: ApiClient,
    credential: Credential,
}

struct State {
    config: Arc<GceSdConfig>,
    built: tokio::sync::OnceCell<Arc<Clients>>,
}

impl State {
    async fn clients(&self) -> Result<Arc<Clients>, String> {
        let timeout = Some(self.config.refresh_interval.as_std());
        self.built
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let source = auth::find_default()?;
                    let api = ApiClient::from_env(timeout)?;
                    let metadata = ApiClient::new(&HttpClientConfig::default(), timeout)?;
                    Ok(Arc::new(Clients {
                        credential: Credential::new(source, api.clone(), metadata),
                        api,
                    }))
                })
                .await
                .map_err(|e| format!("setting up the GCE client panicked: {e}"))?
            })
            .await
            .cloned()
            .map_err(|e: String| format!("error setting up communication with GCE service: {e}"))
    }

    async fn refresh(&self) -> Result<Vec<TargetGroup>, String> {
        let clients = self.clients().await?;
        let c = &self.config;
        let instances = kit::collect_pages(String::new(), |token| {
            let clients = clients.clone();
            async move {
                let page = list_page(&clients, c, &token).await?;
                let next = (!page.next_page_token.is_empty()).then_some(page.next_page_token);
                Ok((page.items.into_iter().flatten().collect::<Vec<_>>(), next))
            }
        })
        .await
        .map_err(|e| format!("error retrieving refresh targets from gce: {e}"))?;
        let ctx = Context {
            project: c.project.clone(),
            zone: c.zone.clone(),
            port: c.port,
            tag_separator: c.tag_separator.clone(),
        };
        Ok(vec![targets::group(&ctx, &instances)])
    }
}

/// The `instances.list` URL of one page: the query keys sorted as Go's `url.Values.Encode`.
pub fn list_url(c: &GceSdConfig, page_token: &str) -> String {
    let mut query = String::from("alt=json");
    if !c.filter.is_empty() {
        query.push_str("&filter=");
        query.push_str(&query_escape(&c.filter));
    }
    if !page_token.is_empty() {
        query.push_str("&pageToken=");
        query.push_str(&query_escape(page_token));
    }
    query.push_str("&prettyPrint=false");
    format!(
        "{BASE}projects/{}/zones/{}/instances?{query}",
        path_escape(&c.project),
        path_escape(&c.zone)
    )
}

/// One page, with the token; a 401 renews the token and asks once more.
async fn list_page(
    clients: &Clients,
    c: &GceSdConfig,
    page_token: &str,
) -> Result<api::InstanceList, ApiError> {
    let url = list_url(c, page_token);
    let mut renew = false;
    loop {
        let token = clients.credential.token(renew).await?;
        let result = clients
            .api
            .get(url.as_str())
            .header("User-Agent", "google-api-go-client/0.5")
            .bearer(&token)
            .fetch_json()
            .await;
        match result {
            Err(e) if !renew && e.status() == Some(reqwest::StatusCode::UNAUTHORIZED) => {
                renew = true;
            }
            other => return other,
        }
    }
}
