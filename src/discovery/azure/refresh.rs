//! One Azure refresh: list the machines, read their network interfaces, build the targets
//! (Prometheus' `refreshAzureClient`), on the kit's polling.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use promsd_actors::{BuildContext, Discoverer, LabelSet, TargetGroup};
use serde::de::DeserializeOwned;

use super::api;
use super::auth::{self, Cloud, Credential, Source};
use super::resource_id;
use super::targets::{self, Machine, Step};
use super::{AzureSdConfig, CACHE_HITS, FAILURES};
pub use crate::discovery::kit::path_escape;
pub use crate::discovery::kit::query_escape;
use crate::discovery::kit::{self, ApiClient, ApiError};

/// api-version of the compute requests (armcompute v5.7.0).
const COMPUTE_API: &str = "2024-03-01";
/// api-version of network interface requests (armnetwork v4.3.0).
const NETWORK_API: &str = "2023-05-01";
/// api-version of scale-set VM network interface requests (armnetwork v4.3.0).
const SCALE_SET_NETWORK_API: &str = "2018-10-01";
/// `$expand` of network interface requests: their public IPs.
const EXPAND: &str = "IPConfigurations/PublicIPAddress";
/// Network interfaces read at once (Prometheus reads every VM's at once).
const CONCURRENCY: usize = 32;
/// Network interfaces cached (Prometheus' LRU capacity).
const CACHE_CAPACITY: usize = 5000;

/// The list URL of a compute collection (`virtualMachines`, `virtualMachineScaleSets`) of
/// the subscription (already escaped), or of `group` when set.
pub fn collection_url(rm: &str, subscription: &str, group: &str, kind: &str) -> String {
    if group.is_empty() {
        format!("{rm}/subscriptions/{subscription}/providers/Microsoft.Compute/{kind}?api-version={COMPUTE_API}")
    } else {
        format!(
            "{rm}/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.Compute/{kind}?api-version={COMPUTE_API}",
            path_escape(group)
        )
    }
}

/// The discoverer of one config.
pub fn discoverer(ctx: &BuildContext, config: Arc<AzureSdConfig>) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let state = Arc::new(State {
        built: tokio::sync::OnceCell::new(),
        cache: Mutex::new(NicCache::default()),
        config,
    });
    kit::poll(ctx, "azure", interval, move || {
        let state = state.clone();
        async move {
            let result = state.refresh().await;
            if result.is_err() {
                FAILURES.inc();
            }
            result
        }
    })
}

struct Clients {
    arm: ApiClient,
    credential: Credential,
    cloud: Cloud,
}

impl Clients {
    /// Prometheus' `createAzureClient`: the cloud, the credential and the HTTP clients.
    fn build(config: &AzureSdConfig) -> Result<Clients, String> {
        let cloud = auth::cloud_from_name(&config.environment)?;
        let timeout = Some(config.refresh_interval.as_std());
        let arm = ApiClient::new(&config.http_client_config, timeout)?;
        let mut login = config.http_client_config.clone();
        login.basic_auth = None;
        login.authorization = None;
        login.oauth2 = None;
        login.bearer_token = Default::default();
        login.bearer_token_file = String::new();
        login.http_headers = None;
        let login = ApiClient::new(&login, timeout)?;
        let local = ApiClient::from_env(timeout)?;
        let source = match config.authentication_method.as_str() {
            super::AUTH_OAUTH => Source::ClientSecret {
                tenant: config.tenant_id.clone(),
                client_id: config.client_id.clone(),
                secret: config.client_secret.clone(),
            },
            super::AUTH_MANAGED_IDENTITY => Source::ManagedIdentity {
                client_id: (!config.client_id.is_empty()).then(|| config.client_id.clone()),
            },
            super::AUTH_WORKLOAD_IDENTITY => auth::workload_identity(None)?,
            _ => auth::sdk_chain(&config.tenant_id),
        };
        Ok(Clients {
            arm,
            credential: Credential::new(source, cloud.clone(), login, local),
            cloud,
        })
    }
}

struct State {
    config: Arc<AzureSdConfig>,
    built: tokio::sync::OnceCell<Arc<Clients>>,
    cache: Mutex<NicCache>,
}

/// Network interfaces by ID, least recently used first out, each until its expiry.
#[derive(Default)]
struct NicCache {
    entries: HashMap<String, (Arc<api::Interface>, Instant, u64)>,
    by_use: BTreeMap<u64, String>,
    tick: u64,
}

impl NicCache {
    fn get(&mut self, id: &str) -> Option<Arc<api::Interface>> {
        let now = Instant::now();
        let (nic, expires, used) = self.entries.get_mut(id)?;
        if *expires <= now {
            let used = *used;
            self.entries.remove(id);
            self.by_use.remove(&used);
            return None;
        }
        self.tick += 1;
        self.by_use.remove(used);
        *used = self.tick;
        self.by_use.insert(self.tick, id.to_owned());
        Some(nic.clone())
    }

    fn insert(&mut self, id: &str, nic: Arc<api::Interface>, ttl: Duration) {
        self.tick += 1;
        if let Some((_, _, used)) = self.entries.remove(id) {
            self.by_use.remove(&used);
        }
        while self.entries.len() >= CACHE_CAPACITY {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.entries
            .insert(id.to_owned(), (nic, Instant::now() + ttl, self.tick));
        self.by_use.insert(self.tick, id.to_owned());
    }
}

impl State {
    async fn clients(&self) -> Result<Arc<Clients>, String> {
        let config = self.config.clone();
        self.built
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || Clients::build(&config))
                    .await
                    .map_err(|e| format!("building the Azure client panicked: {e}"))?
                    .map(Arc::new)
            })
            .await
            .cloned()
            .map_err(|e| format!("could not create Azure client: {e}"))
    }

    async fn refresh(&self) -> Result<Vec<TargetGroup>, String> {
        let clients = self.clients().await?;
        let arm = Arm {
            clients: &clients,
            subscription: path_escape(&self.config.subscription_id),
        };
        let group = &self.config.resource_group;
        let mut machines: Vec<Machine> = arm
            .list::<api::VirtualMachine>(&arm.collection(group, "virtualMachines"))
            .await
            .map_err(|e| {
                format!("could not get virtual machines: could not list virtual machines: {e}")
            })?
            .into_iter()
            .map(|vm| targets::machine(vm, ""))
            .collect();
        tracing::debug!(
            count = machines.len(),
            "found virtual machines during Azure discovery"
        );
        let scale_sets = arm
            .list::<api::ScaleSet>(&arm.collection(group, "virtualMachineScaleSets"))
            .await
            .map_err(|e| {
                format!("could not get virtual machine scale sets: could not list virtual machine scale sets: {e}")
            })?;
        for scale_set in scale_sets {
            let vms = arm
                .scale_set_vms(&scale_set)
                .await
                .map_err(|e| format!("could not get virtual machine scale set vms: {e}"))?;
            machines.extend(vms);
        }

        let ctx = targets::Context {
            subscription_id: self.config.subscription_id.as_str().into(),
            tenant_id: self.config.tenant_id.as_str().into(),
            port: self.config.port,
        };
        let work: Vec<_> = machines
            .iter()
            .map(|m| self.machine_labels(&arm, &ctx, m))
            .collect();
        let labels: Vec<Option<LabelSet>> = stream::iter(work)
            .buffered(CONCURRENCY)
            .try_collect()
            .await
            .map_err(|e| format!("unable to complete Azure service discovery: {e}"))?;
        let targets: Vec<LabelSet> = labels.into_iter().flatten().collect();
        Ok(vec![TargetGroup::new("", targets, LabelSet::new())])
    }

    /// Prometheus' `vmToLabelSet`: `None` for a VM that is no target.
    async fn machine_labels(
        &self,
        arm: &Arm<'_>,
        ctx: &targets::Context,
        m: &Machine,
    ) -> Result<Option<LabelSet>, String> {
        let id = resource_id::parse(&m.id).map_err(|e| format!("invalid ID '{}': {e}", m.id))?;
        let mut pending = targets::start(ctx, m, &id.resource_group);
        for nic_id in &m.network_interfaces {
            let cached = self.cache.lock().expect("cache poisoned").get(nic_id);
            let nic = match cached {
                Some(nic) => {
                    CACHE_HITS.inc();
                    nic
                }
                None => match arm.interface(nic_id, m).await? {
                    Some(nic) => {
                        let nic = Arc::new(nic);
                        self.cache.lock().expect("cache poisoned").insert(
                            nic_id,
                            nic.clone(),
                            self.cache_ttl(nic_id),
                        );
                        nic
                    }
                    None => {
                        tracing::warn!(name = %nic_id, "network interface does not exist");
                        return Ok(None);
                    }
                },
            };
            match targets::interface(ctx, &mut pending, &m.name, &nic)? {
                Step::Next => {}
                Step::Skip => {
                    tracing::debug!(machine = %m.name, "skipping deallocated virtual machine");
                    return Ok(None);
                }
                Step::Target(labels) => return Ok(Some(labels)),
            }
        }
        Ok(None)
    }

    /// 10 refresh intervals plus a random part of up to 3 more, in whole seconds (Prometheus'
    /// `addToCache`).
    fn cache_ttl(&self, nic_id: &str) -> Duration {
        let interval = self.config.refresh_interval.as_std();
        let spread = (interval * 3).as_secs();
        let random = if spread == 0 {
            0
        } else {
            let seed = xxhash_rust::xxh3::xxh3_64_with_seed(
                nic_id.as_bytes(),
                Instant::now().elapsed().as_nanos() as u64 ^ std::process::id() as u64,
            ) ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos() as u64;
            seed % spread
        };
        interval * 10 + Duration::from_secs(random)
    }
}

/// Resource Manager requests of one refresh.
struct Arm<'a> {
    clients: &'a Clients,
    subscription: String,
}

impl Arm<'_> {
    /// A compute collection of the subscription, or of `group` when set.
    fn collection(&self, group: &str, kind: &str) -> String {
        collection_url(
            self.clients.cloud.resource_manager,
            &self.subscription,
            group,
            kind,
        )
    }

    /// A GET with the token; a 401 renews the token and tries once more.
    async fn get<T: DeserializeOwned + Send + 'static>(&self, url: &str) -> Result<T, ApiError> {
        let mut renew = false;
        loop {
            let token = self.clients.credential.token(renew).await?;
            let result = self
                .clients
                .arm
                .get(url)
                .header("Accept", "application/json")
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

    /// Every item of a list, following `nextLink`.
    async fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        first: &str,
    ) -> Result<Vec<T>, ApiError> {
        kit::collect_pages(first.to_owned(), |url| async move {
            let page: api::Page<T> = self.get(&url).await?;
            let next = page.next_link.filter(|l| !l.is_empty());
            Ok((page.value.into_iter().flatten().collect(), next))
        })
        .await
    }

    /// Prometheus' `getScaleSetVMs`.
    async fn scale_set_vms(&self, scale_set: &api::ScaleSet) -> Result<Vec<Machine>, String> {
        let id = scale_set.id.as_deref().unwrap_or_default();
        let name = scale_set.name.as_deref().unwrap_or_default();
        let parsed = resource_id::parse(id)
            .map_err(|e| format!("could not parse scale set ID: invalid ID '{id}': {e}"))?;
        let list_error = |e: &dyn std::fmt::Display| {
            format!("could not list virtual machine scale set vms: {e}")
        };
        if parsed.resource_group.is_empty() {
            return Err(list_error(&"parameter resourceGroupName cannot be empty"));
        }
        if name.is_empty() {
            return Err(list_error(
                &"parameter virtualMachineScaleSetName cannot be empty",
            ));
        }
        let url = format!(
            "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}/virtualMachines?api-version={COMPUTE_API}",
            self.clients.cloud.resource_manager,
            self.subscription,
            path_escape(&parsed.resource_group),
            path_escape(name)
        );
        Ok(self
            .list::<api::VirtualMachine>(&url)
            .await
            .map_err(|e| list_error(&e))?
            .into_iter()
            .map(|vm| targets::machine(vm, name))
            .collect())
    }

    /// A VM's network interface (through the scale-set API for a scale-set VM); `None` on 404.
    async fn interface(&self, nic_id: &str, m: &Machine) -> Result<Option<api::Interface>, String> {
        let r = resource_id::parse(nic_id).map_err(|e| {
            format!("could not parse network interface ID: invalid ID '{nic_id}': {e}")
        })?;
        let failed = |e: &dyn std::fmt::Display| {
            format!("failed to retrieve Interface {nic_id} with error: {e}")
        };
        let rm = self.clients.cloud.resource_manager;
        let query = format!("%24expand={}", query_escape(EXPAND));
        let mut missing = None;
        if r.resource_group.is_empty() {
            missing = Some("resourceGroupName");
        }
        let url = if m.scale_set.is_empty() {
            if missing.is_none() && r.name.is_empty() {
                missing = Some("networkInterfaceName");
            }
            format!(
                "{rm}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}?{query}&api-version={NETWORK_API}",
                self.subscription,
                path_escape(&r.resource_group),
                path_escape(&r.name)
            )
        } else {
            if missing.is_none() && m.instance_id.is_empty() {
                missing = Some("virtualmachineIndex");
            }
            if missing.is_none() && r.name.is_empty() {
                missing = Some("networkInterfaceName");
            }
            format!(
                "{rm}/subscriptions/{}/resourceGroups/{}/providers/microsoft.Compute/virtualMachineScaleSets/{}/virtualMachines/{}/networkInterfaces/{}?{query}&api-version={SCALE_SET_NETWORK_API}",
                self.subscription,
                path_escape(&r.resource_group),
                path_escape(&m.scale_set),
                path_escape(&m.instance_id),
                path_escape(&r.name)
            )
        };
        if let Some(parameter) = missing {
            return Err(failed(&format!("parameter {parameter} cannot be empty")));
        }
        match self.get::<api::Interface>(&url).await {
            Ok(nic) => Ok(Some(nic)),
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(failed(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_urls() {
        assert_eq!(
            collection_url("https://management.azure.com", "s", "", "virtualMachines"),
            "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/virtualMachines?api-version=2024-03-01"
        );
        assert_eq!(
            collection_url("https://management.chinacloudapi.cn", "s", "My Group", "virtualMachineScaleSets"),
            "https://management.chinacloudapi.cn/subscriptions/s/resourceGroups/My%20Group/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2024-03-01"
        );
    }

    #[test]
    fn escapes_as_go() {
        assert_eq!(path_escape("{resourceGroup}"), "%7BresourceGroup%7D");
        assert_eq!(
            path_escape("a b/c;d,e?f$&+:=@~"),
            "a%20b%2Fc%3Bd%2Ce%3Ff$&+:=@~"
        );
        assert_eq!(
            query_escape("IPConfigurations/PublicIPAddress"),
            "IPConfigurations%2FPublicIPAddress"
        );
        assert_eq!(query_escape("a b*$"), "a+b%2A%24");
    }
}
