//! One refresh: authenticate with Keystone, find the services in the catalog, read every page
//! the role needs, build the group. Requests and pagination as gophercloud makes them.

use std::sync::Mutex;

use promsd_actors::TargetGroup;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::api::{
    next_link, FloatingIp, FloatingIpPage, HypervisorPage, ListenerPage, LoadBalancerPage,
    PortPage, ServerPage, TokenResponse, VersionsDocument,
};
use super::keystone::{self, AuthOptions, IdentityVersion};
use super::{targets, OpenstackSdConfig, Role};
use crate::common::http_config::HttpClientConfig;
use crate::discovery::kit::{collect_pages, ApiClient, ApiError, LazyClient};

/// The discoverer's state between refreshes: the config and its client.
pub struct Refresher {
    config: OpenstackSdConfig,
    client: LazyClient,
}

impl Refresher {
    pub fn new(config: OpenstackSdConfig) -> Self {
        // Prometheus' OpenStack transport has only `tls_config`; the environment's proxy
        // settings are honoured as Go's default transport does.
        let mut http = HttpClientConfig {
            tls_config: config.tls_config.clone(),
            ..HttpClientConfig::default()
        };
        http.proxy.proxy_from_environment = true;
        // As in Prometheus, one request may take at most the refresh interval.
        let client = LazyClient::from_config(http, Some(config.refresh_interval.as_std()));
        Refresher { config, client }
    }

    pub async fn refresh(&self) -> Result<Vec<TargetGroup>, ApiError> {
        let client = self.client.get().await?;
        let options = AuthOptions::of(&self.config)?;
        let session = Session::open(client, options)
            .await
            .map_err(|e| ApiError::Other(format!("could not authenticate to OpenStack: {e}")))?;
        let region = &self.config.region;
        let availability = &self.config.availability;
        let port = self.config.port;
        let endpoint = |service_type: &str, what: &str| {
            keystone::endpoint_url(&session.catalog, service_type, availability, region).map_err(
                |e| ApiError::Other(format!("could not create OpenStack {what} session: {e}")),
            )
        };
        let targets = match self.config.role {
            Role::Hypervisor => {
                let compute = endpoint("compute", "compute")?;
                let hypervisors = session
                    .list(
                        format!("{compute}os-hypervisors/detail"),
                        |p: HypervisorPage| (p.hypervisors, p.hypervisors_links),
                    )
                    .await?;
                targets::hypervisor_targets(&hypervisors, port)?
            }
            Role::Instance => {
                let compute = endpoint("compute", "compute")?;
                let network = endpoint("network", "network")?;
                let ports = session
                    .list(format!("{network}v2.0/ports"), |p: PortPage| {
                        (p.ports, p.ports_links)
                    })
                    .await
                    .map_err(|e| ApiError::Other(format!("failed to list all ports: {e}")))?;
                let floating_ips = session.floating_ips(&network).await?;
                let floating = targets::FloatingIps::new(&ports, &floating_ips);
                let query = if self.config.all_tenants {
                    "?all_tenants=true"
                } else {
                    ""
                };
                let servers = session
                    .list(
                        format!("{compute}servers/detail{query}"),
                        |p: ServerPage| (p.servers, p.servers_links),
                    )
                    .await?;
                targets::instance_targets(&servers, &floating, port, &mut Default::default())
            }
            Role::LoadBalancer => {
                let lb = endpoint("load-balancer", "load balancer")?;
                let network = endpoint("network", "network")?;
                // gophercloud drops a version the catalog's URL already carries.
                let lb = format!("{}v2.0/", lb.replace("v2.0/", ""));
                let loadbalancers = session
                    .list(format!("{lb}lbaas/loadbalancers"), |p: LoadBalancerPage| {
                        (p.loadbalancers, p.loadbalancers_links)
                    })
                    .await
                    .map_err(|e| ApiError::Other(format!("failed to list load balancers: {e}")))?;
                let listeners = session
                    .list(format!("{lb}lbaas/listeners"), |p: ListenerPage| {
                        (p.listeners, p.listeners_links)
                    })
                    .await
                    .map_err(|e| ApiError::Other(format!("failed to list all listeners: {e}")))?;
                let floating_ips = session
                    .floating_ips(&network)
                    .await
                    .map_err(|e| ApiError::Other(format!("failed to list floating IPs: {e}")))?;
                targets::loadbalancer_targets(&loadbalancers, &listeners, &floating_ips)
            }
        };
        Ok(vec![TargetGroup::new(
            format!("OS_{region}"),
            targets,
            Default::default(),
        )])
    }
}

/// An authenticated session: the token (renewed on a 401) and the catalog it came with.
struct Session<'a> {
    client: &'a ApiClient,
    options: AuthOptions,
    token: Mutex<String>,
    catalog: Vec<super::api::CatalogEntry>,
}

impl<'a> Session<'a> {
    async fn open(client: &'a ApiClient, options: AuthOptions) -> Result<Session<'a>, ApiError> {
        let (token, catalog) = authenticate(client, &options).await?;
        Ok(Session {
            client,
            options,
            token: Mutex::new(token),
            catalog,
        })
    }

    /// GET with the token; a 401 authenticates once more and tries again.
    async fn get_json<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &str,
    ) -> Result<T, ApiError> {
        let token = self.token.lock().expect("poisoned").clone();
        match self.get_with(url, &token).await {
            Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                let (token, _) = authenticate(self.client, &self.options).await?;
                *self.token.lock().expect("poisoned") = token.clone();
                self.get_with(url, &token).await
            }
            other => other,
        }
    }

    async fn get_with<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &str,
        token: &str,
    ) -> Result<T, ApiError> {
        self.client
            .get(url)
            .header("Accept", "application/json")
            .header("X-Auth-Token", token)
            .fetch_json()
            .await
    }

    /// Every page of a list, following `<resource>_links` until an empty page or no `next`.
    async fn list<P, T>(
        &self,
        first: String,
        split: impl Fn(P) -> (Vec<T>, Vec<super::api::Link>),
    ) -> Result<Vec<T>, ApiError>
    where
        P: DeserializeOwned + Send + 'static,
    {
        let split = &split;
        collect_pages(first, |url: String| async move {
            let page: P = self.get_json(&url).await?;
            let (items, links) = split(page);
            if items.is_empty() {
                return Ok((items, None));
            }
            let next = next_link(&links).map(str::to_owned);
            Ok((items, next))
        })
        .await
    }

    async fn floating_ips(&self, network: &str) -> Result<Vec<FloatingIp>, ApiError> {
        self.list(format!("{network}v2.0/floatingips"), |p: FloatingIpPage| {
            (p.floatingips, p.floatingips_links)
        })
        .await
    }
}

/// gophercloud's `openstack.Authenticate` for Keystone v3: the version choice, then the token
/// request. Returns the token and the catalog.
async fn authenticate(
    client: &ApiClient,
    options: &AuthOptions,
) -> Result<(String, Vec<super::api::CatalogEntry>), ApiError> {
    let (version, endpoint) = match keystone::version_of_endpoint(&options.identity_endpoint) {
        Some(found) => found,
        None => {
            let base = keystone::base_endpoint(&options.identity_endpoint)?;
            let answer = client
                .get(base.as_str())
                .header("Accept", "application/json")
                .send_raw()
                .await?;
            // Keystone answers its version document with 300 Multiple Choices.
            if answer.status != StatusCode::OK && answer.status != StatusCode::MULTIPLE_CHOICES {
                return Err(answer.into_status_error());
            }
            let doc: VersionsDocument = answer.json().await?;
            keystone::choose_version(&options.identity_endpoint, &base, &doc)?
        }
    };
    if version == IdentityVersion::V2 {
        return Err(ApiError::Other(format!(
            "identity service at {endpoint} offers only Keystone v2.0, which promsd does not speak"
        )));
    }
    let body = options.token_request()?;
    let answer = client
        .post(format!("{endpoint}auth/tokens"))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await?;
    let token = answer
        .header("X-Subject-Token")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::Other(format!(
                "Keystone's answer at {endpoint}auth/tokens has no X-Subject-Token"
            ))
        })?;
    let parsed: TokenResponse = answer.json().await?;
    Ok((token, parsed.token.catalog))
}
