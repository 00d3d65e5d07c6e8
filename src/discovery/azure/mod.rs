//! Azure SD (`azure_sd_configs`): the virtual machines of a subscription (or of one resource
//! group), plain and in scale sets, read from Azure Resource Manager as Prometheus'
//! `discovery/azure` does.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 5m): list the VMs (`virtualMachines`, every `nextLink`
//!   page), the scale sets, and each scale set's VMs, then read each VM's network interfaces
//!   one by one (a scale-set VM's through the scale-set API), with their public IP addresses
//!   (`$expand=IPConfigurations/PublicIPAddress`). The api-versions are those of the Go SDK
//!   Prometheus 3.14 builds with: compute `2024-03-01` (armcompute v5.7.0), network
//!   `2023-05-01` and `2018-10-01` for scale-set NICs (armnetwork v4.3.0).
//! - A VM is a target once its primary network interface has a private IP: `__address__` is
//!   that IP and `port`. A VM whose interface answers 404, or whose interface has no
//!   `primary` flag (deallocated), is left out; any other failure fails the whole refresh
//!   (the last good state stands). Labels: see [`targets`]. One group, source empty.
//! - Network interfaces are cached by ID for 10 to 13 refresh intervals (LRU of 5000), as
//!   Prometheus does: `prometheus_sd_azure_cache_hit_total` counts the hits,
//!   `prometheus_sd_azure_failures_total` the failed refreshes.
//! - `environment` picks the cloud (`AzurePublicCloud`, `AzureChinaCloud`,
//!   `AzureUSGovernmentCloud`, ... case-insensitive): its Resource Manager endpoint, login
//!   endpoint and token audience. An unknown name fails each refresh.
//! - `authentication_method`:
//!   - `OAuth` (default): client credentials (`tenant_id`, `client_id`, `client_secret`) posted
//!     to `<login>/<tenant>/oauth2/v2.0/token`, scope `<audience>/.default`.
//!   - `ManagedIdentity`: the managed identity endpoint the environment names, as azidentity
//!     finds it: App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), Azure Machine
//!     Learning (`MSI_ENDPOINT` + `MSI_SECRET`), Cloud Shell (`MSI_ENDPOINT`), else the
//!     instance metadata service (169.254.169.254, or
//!     `AZURE_POD_IDENTITY_AUTHORITY_HOST`); `client_id` picks a user-assigned identity.
//!   - `WorkloadIdentity`: the federated token in `AZURE_FEDERATED_TOKEN_FILE` exchanged as a
//!     client assertion (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`).
//!   - `SDK`: azidentity's default chain: environment client secret (`AZURE_TENANT_ID`,
//!     `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), then workload identity, then managed
//!     identity; `tenant_id` overrides `AZURE_TENANT_ID`.
//! - The HTTP client settings apply to the Resource Manager requests; a token from Azure
//!   always wins over an `Authorization` the settings would add.
//! - Config validation and its messages are Prometheus' own.
//!
//! # Where promsd differs
//! - Token requests go through the same HTTP client settings (`proxy_url`, `tls_config`, ...)
//!   as the Resource Manager requests, without their authentication; Prometheus sends them
//!   through Go's default client (environment proxy, system CAs). A user behind a proxy sets
//!   it once.
//! - The token endpoint is called directly; MSAL's instance and tenant discovery requests
//!   are not made (their answers only name the same endpoint for Azure's clouds).
//! - A token is reused until 5 minutes before it expires; a 401 from Resource Manager drops it
//!   and the request is tried once more with a new one.
//! - The SDK chain does not run the Azure CLI or Azure Developer CLI; managed identity does not
//!   speak Azure Arc's or Service Fabric's variants.
//! - A VM whose labels cannot be built because an API object lacks a field Prometheus
//!   dereferences (Go would panic) gets that field's zero value.
//! - Tags whose names sanitize to the same label: the last key in byte order wins (Prometheus
//!   picks one at random).
//! - Network interfaces are read 32 at a time (Prometheus starts one goroutine per VM at
//!   once); targets come in the order of the VM lists.
//! - Managed identity endpoints are reached with the environment's proxy settings, as
//!   azidentity's default client does; the ARM HTTP settings do not apply to them.
//! - A `refresh_interval` of zero or below is a config error.

pub mod api;
mod auth;
mod refresh;
pub mod resource_id;
pub mod targets;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Serialize, Serializer};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// `authentication_method` values.
pub const AUTH_OAUTH: &str = "OAuth";
pub const AUTH_SDK: &str = "SDK";
pub const AUTH_MANAGED_IDENTITY: &str = "ManagedIdentity";
pub const AUTH_WORKLOAD_IDENTITY: &str = "WorkloadIdentity";

/// One `azure_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct AzureSdConfig {
    /// The cloud: `AzurePublicCloud` (default), `AzureChinaCloud`, `AzureUSGovernmentCloud`...
    #[serde(default = "default_environment", deserialize_with = "null_as_zero")]
    pub environment: String,
    /// Port of `__address__` (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// The subscription whose VMs are listed.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub subscription_id: String,
    /// Directory (tenant) of the OAuth client; also `__meta_azure_tenant_id`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub tenant_id: String,
    /// OAuth client, or user-assigned managed identity.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub client_id: String,
    /// OAuth client secret.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub client_secret: Secret,
    /// Time between two refreshes (default 5m).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// `OAuth` (default), `ManagedIdentity`, `WorkloadIdentity` or `SDK`.
    #[serde(default = "default_auth", deserialize_with = "null_as_zero")]
    pub authentication_method: String,
    /// Only the VMs and scale sets of this resource group, when set.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub resource_group: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(AzureSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_environment() -> String {
    "AzurePublicCloud".to_owned()
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_auth() -> String {
    AUTH_OAUTH.to_owned()
}

use crate::discovery::kit::null_as_zero;

impl Default for AzureSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        AzureSdConfig {
            environment: default_environment(),
            port: default_port(),
            subscription_id: String::new(),
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            refresh_interval: default_refresh_interval(),
            authentication_method: default_auth(),
            resource_group: String::new(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

fn require(value: &str, name: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("azure SD configuration requires a {name}"));
    }
    Ok(())
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, with its messages and in its order.
fn validate(c: &mut AzureSdConfig) -> Result<(), String> {
    require(&c.subscription_id, "subscription_id")?;
    if c.authentication_method == AUTH_OAUTH {
        require(&c.tenant_id, "tenant_id")?;
        require(&c.client_id, "client_id")?;
        require(c.client_secret.expose(), "client_secret")?;
    }
    if ![
        AUTH_OAUTH,
        AUTH_MANAGED_IDENTITY,
        AUTH_SDK,
        AUTH_WORKLOAD_IDENTITY,
    ]
    .contains(&c.authentication_method.as_str())
    {
        return Err(format!(
            "unknown authentication_type {:?}. Supported types are {:?}, {:?}, {:?} or {:?}",
            c.authentication_method,
            AUTH_OAUTH,
            AUTH_MANAGED_IDENTITY,
            AUTH_SDK,
            AUTH_WORKLOAD_IDENTITY
        ));
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for AzureSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            environment: &'a str,
            port: i64,
            subscription_id: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            tenant_id: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            client_id: &'a str,
            #[serde(skip_serializing_if = "Secret::is_empty")]
            client_secret: &'a Secret,
            refresh_interval: Duration,
            authentication_method: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            resource_group: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            environment: &self.environment,
            port: self.port,
            subscription_id: &self.subscription_id,
            tenant_id: &self.tenant_id,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            refresh_interval: self.refresh_interval,
            authentication_method: &self.authentication_method,
            resource_group: &self.resource_group,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for AzureSdConfig {
    fn mechanism(&self) -> &'static str {
        "azure"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        Ok(refresh::discoverer(ctx, Arc::new(self.clone())))
    }
}

impl SdConfig for AzureSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics

static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);
static CACHE_HITS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers `prometheus_sd_azure_failures_total` and `prometheus_sd_azure_cache_hit_total`,
/// shared by every Azure provider of the process as in Prometheus. Call once per registry.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_azure_failures",
        "Number of Azure service discovery refresh failures.",
        FAILURES.clone(),
    );
    registry.register(
        "prometheus_sd_azure_cache_hit",
        "Number of cache hit during refresh.",
        CACHE_HITS.clone(),
    );
}

#[cfg(test)]
mod tests;
