//! OpenStack SD (`openstack_sd_configs`): hypervisors, instances or load balancers of one
//! OpenStack region, read again every `refresh_interval`, as Prometheus' `discovery/openstack`
//! (gophercloud v2) does.
//!
//! # Semantics (Prometheus')
//! - Every refresh authenticates anew with Keystone: the identity endpoint's version document
//!   (`GET` of the endpoint without its version path) picks the highest stable version, unless
//!   the endpoint already ends in `/v3/` or `/v2.0/`; then `POST <v3>/auth/tokens` with the
//!   password or application credential (and a project or domain scope), as gophercloud's
//!   `AuthOptions` builds it. The token is the answer's `X-Subject-Token` header; every later
//!   call carries it as `X-Auth-Token`. Without `identity_endpoint`, the `OS_*` environment
//!   variables give the credentials (gophercloud's `AuthOptionsFromEnv`).
//! - Service endpoints come from the token's catalog: the first endpoint of the first entry of
//!   the service type (`compute`, `network`, `load-balancer`) whose interface is `availability`
//!   and whose region (or region id) is `region`. Network and load-balancer paths sit under
//!   `<endpoint>v2.0/`.
//! - `hypervisor`: `GET <compute>/os-hypervisors/detail`; one target per hypervisor at
//!   `host_ip:port`.
//! - `instance`: `GET <network>v2.0/ports` and `v2.0/floatingips` (the floating IPs whose port
//!   belongs to a device), then `GET <compute>/servers/detail` (`?all_tenants=true` when
//!   `all_tenants`); one target per fixed address of every server, `addr:port`, with the
//!   floating IP mapped to that (server, address) as `__meta_openstack_public_ip`; addresses
//!   that are themselves floating IPs are skipped.
//! - `loadbalancer`: `GET <lb>v2.0/lbaas/loadbalancers`, `v2.0/lbaas/listeners` and
//!   `<network>v2.0/floatingips`; one target per load balancer with a `PROMETHEUS` listener, at
//!   `vip_address:<listener port>`.
//! - Every list follows the `<resource>_links` `next` link until an empty page or no link.
//! - One group, source `OS_<region>`. Labels: see [`targets`].
//! - Config validation and its messages are Prometheus' own; `port` defaults to 80,
//!   `availability` to `public`, `refresh_interval` to 60s. Only `tls_config` of the HTTP
//!   settings exists; a request may take at most `refresh_interval`.
//!
//! # Where promsd differs
//! - Keystone v2 (`/v2.0/tokens`) is not spoken: an identity service offering only v2.0 is a
//!   refresh error (Keystone removed v2 in the Queens release, 2018).
//! - A `401` from a service within a refresh authenticates once more and retries that request
//!   (gophercloud does so only with `AllowReauth`, which Prometheus leaves off).
//! - TOTP passcodes (`OS_PASSCODE`) are not read from the environment.
//! - Proxies and CAs: `HTTPS_PROXY`, `NO_PROXY` and `SSL_CERT_FILE` from the environment are
//!   honoured, as Go's default transport does (Prometheus' OpenStack transport has no proxy).
//! - Addresses of a server are listed in the order of the API's JSON (Go's map order is
//!   random).
//! - A `refresh_interval` of zero or below is a config error.

pub mod api;
mod keystone;
mod refresh;
pub mod targets;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::http_config::{yaml11_bool, TlsConfig};
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// What an OpenStack SD config discovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Hypervisor,
    Instance,
    #[serde(rename = "loadbalancer")]
    LoadBalancer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hypervisor => "hypervisor",
            Role::Instance => "instance",
            Role::LoadBalancer => "loadbalancer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `role` as written: empty is "missing" (checked after the rest), anything else must be a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct RawRole(Option<Role>);

impl<'de> Deserialize<'de> for RawRole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(RawRole(match s.as_str() {
            "" => None,
            "hypervisor" => Some(Role::Hypervisor),
            "instance" => Some(Role::Instance),
            "loadbalancer" => Some(Role::LoadBalancer),
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "unknown OpenStack SD role {s:?}"
                )))
            }
        }))
    }
}

/// One `openstack_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOpenstackSdConfig")]
pub struct OpenstackSdConfig {
    /// Keystone's URL (`https://keystone:5000/` or `.../v3/`); empty: `OS_AUTH_URL` and the
    /// other `OS_*` variables give every credential.
    pub identity_endpoint: String,
    pub username: String,
    pub userid: String,
    pub password: Secret,
    pub project_name: String,
    pub project_id: String,
    pub domain_name: String,
    pub domain_id: String,
    pub application_credential_name: String,
    pub application_credential_id: String,
    pub application_credential_secret: Secret,
    pub role: Role,
    pub region: String,
    pub refresh_interval: Duration,
    /// The port of hypervisor and instance targets (default 80).
    pub port: i64,
    /// Lists the servers of every project (`all_tenants=true`, an admin's right).
    pub all_tenants: bool,
    pub tls_config: TlsConfig,
    /// The catalog interface: `public` (default), `internal` or `admin`.
    pub availability: String,
}

fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The config as written; missing keys take Prometheus' defaults, `null` Go's zero value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpenstackSdConfig {
    #[serde(default, deserialize_with = "zero")]
    identity_endpoint: String,
    #[serde(default, deserialize_with = "zero")]
    username: String,
    #[serde(default, deserialize_with = "zero")]
    userid: String,
    #[serde(default, deserialize_with = "zero")]
    password: Secret,
    #[serde(default, deserialize_with = "zero")]
    project_name: String,
    #[serde(default, deserialize_with = "zero")]
    project_id: String,
    #[serde(default, deserialize_with = "zero")]
    domain_name: String,
    #[serde(default, deserialize_with = "zero")]
    domain_id: String,
    #[serde(default, deserialize_with = "zero")]
    application_credential_name: String,
    #[serde(default, deserialize_with = "zero")]
    application_credential_id: String,
    #[serde(default, deserialize_with = "zero")]
    application_credential_secret: Secret,
    #[serde(default)]
    role: RawRole,
    #[serde(default, deserialize_with = "zero")]
    region: String,
    #[serde(default = "default_refresh_interval", deserialize_with = "zero")]
    refresh_interval: Duration,
    #[serde(default = "default_port", deserialize_with = "zero")]
    port: i64,
    #[serde(default, deserialize_with = "yaml11_bool")]
    all_tenants: bool,
    #[serde(default, deserialize_with = "zero")]
    tls_config: TlsConfig,
    #[serde(default = "default_availability", deserialize_with = "zero")]
    availability: String,
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_port() -> i64 {
    80
}

fn default_availability() -> String {
    "public".into()
}

impl TryFrom<RawOpenstackSdConfig> for OpenstackSdConfig {
    type Error = String;

    /// Prometheus' checks, in its order and with its messages.
    fn try_from(raw: RawOpenstackSdConfig) -> Result<Self, String> {
        raw.tls_config.validate().map_err(|e| e.message)?;
        match raw.availability.as_str() {
            "public" | "internal" | "admin" => {}
            other => {
                return Err(format!(
                    "unknown availability {other}, must be one of admin, internal or public"
                ))
            }
        }
        let role = raw
            .role
            .0
            .ok_or("role missing (one of: instance, hypervisor, loadbalancer)")?;
        if raw.region.is_empty() {
            return Err("openstack SD configuration requires a region".into());
        }
        crate::discovery::kit::check_interval("refresh_interval", raw.refresh_interval)?;
        Ok(OpenstackSdConfig {
            identity_endpoint: raw.identity_endpoint,
            username: raw.username,
            userid: raw.userid,
            password: raw.password,
            project_name: raw.project_name,
            project_id: raw.project_id,
            domain_name: raw.domain_name,
            domain_id: raw.domain_id,
            application_credential_name: raw.application_credential_name,
            application_credential_id: raw.application_credential_id,
            application_credential_secret: raw.application_credential_secret,
            role,
            region: raw.region,
            refresh_interval: raw.refresh_interval,
            port: raw.port,
            all_tenants: raw.all_tenants,
            tls_config: raw.tls_config,
            availability: raw.availability,
        })
    }
}

impl DiscoveryConfig for OpenstackSdConfig {
    fn mechanism(&self) -> &'static str {
        "openstack"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let refresher = Arc::new(refresh::Refresher::new(self.clone()));
        Ok(crate::discovery::kit::poll(
            ctx,
            "openstack",
            self.refresh_interval.as_std(),
            move || {
                let refresher = refresher.clone();
                async move { refresher.refresh().await }
            },
        ))
    }
}

impl SdConfig for OpenstackSdConfig {
    fn resolve_paths(&mut self, dir: &std::path::Path) {
        self.tls_config.resolve_paths(dir);
    }
}
