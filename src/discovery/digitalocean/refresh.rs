//! The requests of each role, on the kit: a refresh reads every page and builds the group.

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, TargetGroup};

use super::api::{Database, DatabaseList, Droplet, DropletList, Links};
use super::targets::{databases_group, droplets_group};
use super::{DigitalOceanSdConfig, Role, ENDPOINT};
use crate::discovery::kit::{self, ApiError, LazyClient};

/// Prometheus' page size for database clusters.
const DATABASES_PER_PAGE: u32 = 100;

struct Settings {
    client: LazyClient,
    role: Role,
    port: u64,
    endpoint: String,
}

pub(super) fn discoverer(
    ctx: &BuildContext,
    config: &DigitalOceanSdConfig,
    role: Role,
) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let settings = Arc::new(Settings {
        // As in Prometheus, one request may take at most the refresh interval.
        client: LazyClient::from_config(config.http_client_config.clone(), Some(interval)),
        role,
        // Go's `strconv.FormatUint(uint64(port), 10)`.
        port: config.port as u64,
        endpoint: ENDPOINT.to_owned(),
    });
    kit::poll(ctx, "digitalocean", interval, move || {
        let settings = settings.clone();
        async move { settings.refresh().await.map(|group| vec![group]) }
    })
}

impl Settings {
    async fn refresh(&self) -> Result<TargetGroup, ApiError> {
        let port = self.port;
        match self.role {
            Role::Droplets => {
                let droplets = self.droplets().await?;
                blocking(move || droplets_group(&droplets, port)).await
            }
            Role::Databases => {
                let databases = self.databases().await?;
                blocking(move || databases_group(&databases, port)).await
            }
        }
    }

    /// Prometheus' `listDroplets` with godo's `Links`.
    async fn droplets(&self) -> Result<Vec<Droplet>, ApiError> {
        let client = self.client.get().await?;
        kit::collect_pages(0_i64, |page| {
            // godo's `addOptions`: page 0 is left out.
            let url = if page == 0 {
                format!("{}/v2/droplets", self.endpoint)
            } else {
                format!("{}/v2/droplets?page={page}", self.endpoint)
            };
            let request = client.get(url).header("Accept", "application/json");
            async move {
                let list: DropletList = request.fetch_json().await.map_err(|e| {
                    ApiError::Other(format!("error while listing droplets page {page}: {e}"))
                })?;
                let next = match &list.links {
                    Some(links) => next_page(links)?,
                    None => None,
                };
                Ok((list.droplets, next))
            }
        })
        .await
    }

    /// Prometheus' `listClusters`: pages from 1 until an empty one.
    async fn databases(&self) -> Result<Vec<Database>, ApiError> {
        let client = self.client.get().await?;
        kit::collect_pages(1_i64, |page| {
            let url = format!(
                "{}/v2/databases?page={page}&per_page={DATABASES_PER_PAGE}",
                self.endpoint
            );
            let request = client.get(url).header("Accept", "application/json");
            async move {
                let list: DatabaseList = request.fetch_json().await.map_err(|e| {
                    ApiError::Other(format!(
                        "error while listing database clusters page {page}: {e}"
                    ))
                })?;
                if list.databases.is_empty() {
                    return Ok((Vec::new(), None));
                }
                Ok((list.databases, Some(page + 1)))
            }
        })
        .await
    }
}

/// The next page after one whose links are `links`, as godo's `IsLastPage` and `CurrentPage`
/// tell it; `None` on the last page.
pub(super) fn next_page(links: &Links) -> Result<Option<i64>, ApiError> {
    let Some(pages) = &links.pages else {
        return Ok(None);
    };
    if pages.next.is_empty() {
        return Ok(None);
    }
    let current = if pages.prev.is_empty() {
        1
    } else {
        page_of_url(&pages.prev)? + 1
    };
    Ok(Some(current + 1))
}

/// godo's `pageForURL`: the `page` query parameter of a link.
fn page_of_url(link: &str) -> Result<i64, ApiError> {
    let parsed = if link.starts_with('/') {
        url::Url::parse("http://base").and_then(|base| base.join(link))
    } else {
        url::Url::parse(link)
    }
    .map_err(|e| ApiError::Other(format!("parse {link:?}: {e}")))?;
    let page = parsed
        .query_pairs()
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    page.parse::<i64>()
        .map_err(|_| ApiError::Other(format!("strconv.Atoi: parsing {page:?}: invalid syntax")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Other(format!("building targets panicked: {e}")))
}
