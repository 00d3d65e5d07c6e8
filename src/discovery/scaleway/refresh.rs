//! One refresh: every page the role needs, as scaleway-sdk-go's `WithAllPages` reads them.

use promsd_actors::TargetGroup;

use super::api::{
    BaremetalOffers, BaremetalOses, BaremetalServers, InstanceServers, IpamIps, Page,
};
use super::{targets, Role, ScalewaySdConfig};
use crate::discovery::kit::{ApiClient, ApiError, LazyClient, MAX_PAGES};

/// The discoverer's state between refreshes: the config and its client.
pub struct Refresher {
    config: ScalewaySdConfig,
    client: LazyClient,
}

impl Refresher {
    pub fn new(config: ScalewaySdConfig) -> Self {
        // As in Prometheus, one request may take at most the refresh interval.
        let client = LazyClient::from_config(
            config.http_client_config.clone(),
            Some(config.refresh_interval.as_std()),
        );
        Refresher { config, client }
    }

    pub async fn refresh(&self) -> Result<Vec<TargetGroup>, ApiError> {
        let client = self.client.get().await?;
        let c = &self.config;
        let zone = &c.zone;
        let mut filters: Vec<(String, String)> = Vec::new();
        if !c.name_filter.is_empty() {
            filters.push(("name".into(), c.name_filter.clone()));
        }
        let targets = match c.role() {
            Role::Instance => {
                if !c.tags_filter.is_empty() {
                    filters.push(("tags".into(), c.tags_filter.join(",")));
                }
                let servers: Vec<_> = self
                    .all_pages::<InstanceServers>(
                        client,
                        &format!("/instance/v1/zones/{zone}/servers"),
                        filters,
                    )
                    .await?;
                let mut nic_ips = std::collections::HashMap::new();
                for (region, nics) in targets::ipam_lookups(&servers)? {
                    let mut query: Vec<(String, String)> = nics
                        .into_iter()
                        .map(|id| ("resource_ids".to_owned(), id))
                        .collect();
                    query.push(("resource_types".into(), "instance_private_nic".into()));
                    let ips = self
                        .all_pages::<IpamIps>(
                            client,
                            &format!("/ipam/v1/regions/{region}/ips"),
                            query,
                        )
                        .await?;
                    nic_ips.extend(targets::private_nic_ips(&ips));
                }
                targets::instance_targets(&servers, &nic_ips, c.port)?
            }
            Role::Baremetal => {
                for tag in &c.tags_filter {
                    filters.push(("tags".into(), tag.clone()));
                }
                let servers = self
                    .all_pages::<BaremetalServers>(
                        client,
                        &format!("/baremetal/v1/zones/{zone}/servers"),
                        filters,
                    )
                    .await?;
                let offers = self
                    .all_pages::<BaremetalOffers>(
                        client,
                        &format!("/baremetal/v1/zones/{zone}/offers"),
                        Vec::new(),
                    )
                    .await?;
                let oses = self
                    .all_pages::<BaremetalOses>(
                        client,
                        &format!("/baremetal/v1/zones/{zone}/os"),
                        Vec::new(),
                    )
                    .await?;
                targets::baremetal_targets(&servers, &offers, &oses, c.port)?
            }
        };
        Ok(vec![TargetGroup::new(
            "scaleway",
            targets,
            Default::default(),
        )])
    }

    /// Every page of a list: `page=1, 2, ...` up to the count the first page announces
    /// (`total_count`, or the `X-Total-Count` header), an empty page ending it early. The
    /// query is sorted by name, as Go's `url.Values.Encode` writes it.
    async fn all_pages<P>(
        &self,
        client: &ApiClient,
        path: &str,
        query: Vec<(String, String)>,
    ) -> Result<Vec<P::Item>, ApiError>
    where
        P: Page + serde::de::DeserializeOwned,
    {
        let url = format!("{}{path}", self.config.api_url);
        let mut items = Vec::new();
        let mut page_count: Option<u64> = None;
        let mut page: u64 = 1;
        while page_count.is_none_or(|count| page <= count) {
            if page as usize > MAX_PAGES {
                return Err(ApiError::Other(format!(
                    "more than {MAX_PAGES} pages: the API does not stop paginating"
                )));
            }
            let mut pairs = query.clone();
            pairs.push(("page".into(), page.to_string()));
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let answer = client
                .get(url.as_str())
                .query(&pairs)
                .header("X-Auth-Token", self.secret_key().await?)
                .send()
                .await?;
            let header_total = answer
                .header("X-Total-Count")
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        ApiError::Other(format!("could not parse X-Total-Count header {v:?}"))
                    })
                })
                .transpose()?;
            let body: P = answer.json().await?;
            let total = header_total.unwrap_or(body.total_count());
            let (size, page_items) = body.into_items();
            items.extend(page_items);
            if size == 0 {
                break;
            }
            if page_count.is_none() {
                let size = size as u64;
                page_count = Some(total.div_ceil(size));
            }
            page += 1;
        }
        Ok(items)
    }

    /// The secret key: the configured one, or the file's content, trimmed, read now.
    async fn secret_key(&self) -> Result<String, ApiError> {
        let c = &self.config;
        if c.secret_key_file.is_empty() {
            return Ok(c.secret_key.expose().to_owned());
        }
        tokio::fs::read_to_string(&c.secret_key_file)
            .await
            .map(|s| s.trim().to_owned())
            .map_err(|e| {
                ApiError::Other(format!(
                    "unable to read auth token file {}: {e}",
                    c.secret_key_file
                ))
            })
    }
}
