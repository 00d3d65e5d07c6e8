//! Docker SD (`docker_sd_configs`) and Docker Swarm SD (`dockerswarm_sd_configs`): targets from
//! a Docker Engine's API, as Prometheus' `discovery/moby` finds them.
//!
//! # Semantics (Prometheus')
//! - Both poll the daemon every `refresh_interval` (default 1m) and give one group, source
//!   `Docker` or `DockerSwarm`, holding every target; each request may take at most
//!   `refresh_interval`.
//! - `host` names the daemon: `unix:///var/run/docker.sock`, `tcp://host:2375`,
//!   `http(s)://host:port` (see [`client`] for what each means, the API version negotiation
//!   and the HTTP settings that apply).
//! - `filters` (`[{name, values}]`) go to the list call as Docker's JSON `filters` parameter:
//!   `/containers/json` for Docker; `/services`, `/tasks` or `/nodes` for the swarm roles (the
//!   tasks role lists services and nodes unfiltered for their labels). Networks are listed
//!   unfiltered for their labels.
//! - Docker: one target per container, network and TCP port (see [`docker`]); `port`
//!   (default 80) for containers without a TCP port, `host_networking_host` (default
//!   `localhost`) for containers on the host's network, `match_first_network` (default true)
//!   keeps one network per container.
//! - Docker Swarm: `role` is `services`, `tasks` or `nodes` (see [`swarm`]); `port` (default
//!   80) where no published port applies.
//! - Validation and its messages are Prometheus': `host missing`, `host`'s URL parse, the
//!   swarm role, then the HTTP settings. A `host` the Go client cannot use (no `://`, `npipe`)
//!   loads, and the discoverer fails to start.
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus' ticker would panic).
//! - Failures keep the last good state and are retried with capped backoff before the next
//!   interval (the kit's poll).
//! - Where two Docker labels sanitize to the same label name, the last key in byte order wins
//!   (Prometheus picks one at random); containers' networks are walked in name order
//!   (Prometheus' order is random, the targets are the same).
//! - A `container:<id>` network mode cycle is followed at most once around (Prometheus loops).
//! - IPv6 zones in addresses are dropped; Docker does not send them.
//! - Over `http(s)`, the User-Agent is promsd's, as for every mechanism; over unix sockets and
//!   TCP it is the Go client's, as Prometheus sends it.
//! - Redirects are followed over unix sockets and TCP too (the Go client returns a redirect
//!   as the answer, whose body then fails to decode); `http(s)` follows them as Prometheus.
//! - An `http(s)` host with a path uses it as a prefix of API paths (the Go client would dial
//!   `host:port/path` and fail).
//! - An unknown key inside a `filters` entry is reported in `config.plain` (Prometheus says
//!   `moby.Filter`): the config loader names Go types by position.
//! - Metrics: Prometheus has none of its own for these mechanisms; the engine's
//!   `prometheus_sd_refresh_*` series cover them.

pub mod api;
pub mod client;
pub mod docker;
pub mod swarm;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration as StdDuration;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, Name, TargetGroup};
use serde::{Deserialize, Serialize, Serializer};
use tokio::sync::OnceCell;

use super::kit;
use super::SdConfig;
use crate::common::http_config::{yaml11_bool, HttpClientConfig};
use crate::common::secret::identity_of;
use crate::common::Duration;
use client::{DockerClient, Transport};

static ADDRESS: LazyLock<Name> = LazyLock::new(|| Name::new(promsd_actors::ADDRESS_LABEL));

pub use crate::discovery::kit::join_host_port;
use crate::discovery::kit::null_as_zero;
pub use crate::discovery::kit::sanitize_label_name as sanitize;

/// One entry of `filters`: a filter term and its values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default, deserialize_with = "null_as_zero")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub values: Vec<String>,
}

/// `filters` as the Go client's `filters.Args`: values by term (a term without values is
/// left out); `None` when nothing is left.
fn filters_param(filters: &[Filter]) -> Option<String> {
    let mut terms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in filters {
        if !f.values.is_empty() {
            terms
                .entry(f.name.clone())
                .or_default()
                .extend(f.values.iter().cloned());
        }
    }
    client::encode_filters(&terms)
}

/// Go's `url.Parse` errors that `host` can run into.
fn check_url(host: &str) -> Result<(), String> {
    if host.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {host:?}: net/url: invalid control character in URL"
        ));
    }
    if host.starts_with(':') {
        return Err(format!("parse {host:?}: missing protocol scheme"));
    }
    Ok(())
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_host_networking_host() -> String {
    "localhost".to_owned()
}

fn default_true() -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// docker_sd_configs

/// One `docker_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct DockerSdConfig {
    /// The daemon: `unix:///var/run/docker.sock`, `tcp://host:2375`, `http(s)://host:port`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub host: String,
    /// The port of containers without a TCP port (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// Filters of the container list.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub filters: Vec<Filter>,
    /// The address of containers in `host` network mode (default `localhost`).
    #[serde(
        default = "default_host_networking_host",
        deserialize_with = "null_as_zero"
    )]
    pub host_networking_host: String,
    /// Time between two refreshes, and the longest a request may take (default 1m).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// Keep only the first network (by name) of a container on several (default true).
    #[serde(default = "default_true", deserialize_with = "yaml11_bool")]
    pub match_first_network: bool,
    /// The common HTTP client settings, read inline (used for `http(s)` hosts only).
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(DockerSdConfig, http_client_config: HttpClientConfig, finish = validate_docker);

/// Prometheus' `DockerSDConfig.UnmarshalYAML` checks, in its order, with its messages.
fn validate_docker(c: &mut DockerSdConfig) -> Result<(), String> {
    if c.host.is_empty() {
        return Err("host missing".into());
    }
    check_url(&c.host)?;
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for DockerSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            host: &'a str,
            port: i64,
            filters: &'a [Filter],
            host_networking_host: &'a str,
            refresh_interval: Duration,
            match_first_network: bool,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            host: &self.host,
            port: self.port,
            filters: &self.filters,
            host_networking_host: &self.host_networking_host,
            refresh_interval: self.refresh_interval,
            match_first_network: self.match_first_network,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

/// One config's discoverer state: the client, built on first refresh.
struct Daemon {
    transport: Transport,
    http: HttpClientConfig,
    timeout: StdDuration,
    filters: Option<String>,
    client: OnceCell<Arc<DockerClient>>,
}

impl Daemon {
    fn new(
        host: &str,
        http: &HttpClientConfig,
        interval: StdDuration,
        filters: &[Filter],
    ) -> Result<Self, DiscoveryError> {
        Ok(Daemon {
            transport: Transport::parse(host).map_err(DiscoveryError::new)?,
            http: http.clone(),
            timeout: interval,
            filters: filters_param(filters),
            client: OnceCell::new(),
        })
    }

    async fn client(&self) -> Result<Arc<DockerClient>, String> {
        self.client
            .get_or_try_init(|| async {
                let (transport, http, timeout) =
                    (self.transport.clone(), self.http.clone(), self.timeout);
                tokio::task::spawn_blocking(move || DockerClient::new(&transport, &http, timeout))
                    .await
                    .map_err(|e| format!("building the client panicked: {e}"))?
                    .map(Arc::new)
            })
            .await
            .cloned()
    }
}

impl DockerSdConfig {
    fn options(&self) -> docker::DockerOptions {
        docker::DockerOptions {
            port: self.port,
            host_networking_host: self.host_networking_host.clone(),
            match_first_network: self.match_first_network,
        }
    }
}

impl DiscoveryConfig for DockerSdConfig {
    fn mechanism(&self) -> &'static str {
        "docker"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let interval = self.refresh_interval.as_std();
        let daemon = Arc::new(Daemon::new(
            &self.host,
            &self.http_client_config,
            interval,
            &self.filters,
        )?);
        let options = Arc::new(self.options());
        Ok(kit::poll(ctx, "docker", interval, move || {
            let (daemon, options) = (daemon.clone(), options.clone());
            async move { refresh_docker(&daemon, &options).await }
        }))
    }
}

impl SdConfig for DockerSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

async fn refresh_docker(
    daemon: &Daemon,
    options: &docker::DockerOptions,
) -> Result<Vec<TargetGroup>, String> {
    let client = daemon.client().await?;
    let containers: Vec<api::Container> = client
        .list("/containers/json", daemon.filters.as_deref())
        .await
        .map_err(|e| format!("error while listing containers: {e}"))?;
    let networks: Vec<api::Network> = client
        .list("/networks", None)
        .await
        .map_err(|e| format!("error while computing network labels: {e}"))?;
    let options = options.clone();
    let group =
        tokio::task::spawn_blocking(move || docker::docker_group(&containers, &networks, &options))
            .await
            .map_err(|e| format!("building targets panicked: {e}"))?;
    Ok(vec![group])
}

// ---------------------------------------------------------------------------------------------
// dockerswarm_sd_configs

/// The role of a Docker Swarm SD config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Services,
    Tasks,
    Nodes,
}

/// One `dockerswarm_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct DockerSwarmSdConfig {
    /// The daemon: `unix:///var/run/docker.sock`, `tcp://host:2375`, `http(s)://host:port`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub host: String,
    /// `services`, `tasks` or `nodes` (as written; checked after reading).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub role: String,
    /// The port where no published port applies (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// Filters of the role's list.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub filters: Vec<Filter>,
    /// Time between two refreshes, and the longest a request may take (default 1m).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// The common HTTP client settings, read inline (used for `http(s)` hosts only).
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(DockerSwarmSdConfig, http_client_config: HttpClientConfig, finish = validate_swarm);

/// Prometheus' `DockerSwarmSDConfig.UnmarshalYAML` checks, in its order, with its messages.
fn validate_swarm(c: &mut DockerSwarmSdConfig) -> Result<(), String> {
    if c.host.is_empty() {
        return Err("host missing".into());
    }
    check_url(&c.host)?;
    match c.role.as_str() {
        "services" | "nodes" | "tasks" => {}
        "" => return Err("role missing (one of: tasks, services, nodes)".into()),
        other => {
            return Err(format!(
                "invalid role {other}, expected tasks, services, or nodes"
            ))
        }
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl DockerSwarmSdConfig {
    /// The validated role.
    pub fn role(&self) -> Role {
        match self.role.as_str() {
            "services" => Role::Services,
            "tasks" => Role::Tasks,
            _ => Role::Nodes,
        }
    }
}

impl Serialize for DockerSwarmSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            host: &'a str,
            role: &'a str,
            port: i64,
            filters: &'a [Filter],
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            host: &self.host,
            role: &self.role,
            port: self.port,
            filters: &self.filters,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for DockerSwarmSdConfig {
    fn mechanism(&self) -> &'static str {
        "dockerswarm"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let interval = self.refresh_interval.as_std();
        let daemon = Arc::new(Daemon::new(
            &self.host,
            &self.http_client_config,
            interval,
            &self.filters,
        )?);
        let (role, port) = (self.role(), self.port);
        Ok(kit::poll(ctx, "dockerswarm", interval, move || {
            let daemon = daemon.clone();
            async move { refresh_swarm(&daemon, role, port).await }
        }))
    }
}

impl SdConfig for DockerSwarmSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

async fn refresh_swarm(daemon: &Daemon, role: Role, port: i64) -> Result<Vec<TargetGroup>, String> {
    let client = daemon.client().await?;
    let filters = daemon.filters.as_deref();
    let group = match role {
        Role::Services => {
            let services: Vec<api::Service> = client
                .list("/services", filters)
                .await
                .map_err(|e| format!("error while listing swarm services: {e}"))?;
            let networks: Vec<api::Network> = client
                .list("/networks", None)
                .await
                .map_err(|e| format!("error while computing swarm network labels: {e}"))?;
            tokio::task::spawn_blocking(move || swarm::services_group(&services, &networks, port))
                .await
                .map_err(|e| format!("building targets panicked: {e}"))??
        }
        Role::Tasks => {
            let tasks: Vec<api::Task> = client
                .list("/tasks", filters)
                .await
                .map_err(|e| format!("error while listing swarm services: {e}"))?;
            let services: Vec<api::Service> = client
                .list("/services", None)
                .await
                .map_err(|e| format!("error while computing services labels and ports: {e}"))?;
            let nodes: Vec<api::Node> = client.list("/nodes", None).await.map_err(|e| {
                format!("error while computing nodes labels and ports: error while listing swarm nodes: {e}")
            })?;
            let networks: Vec<api::Network> = client
                .list("/networks", None)
                .await
                .map_err(|e| format!("error while computing swarm network labels: {e}"))?;
            tokio::task::spawn_blocking(move || {
                swarm::tasks_group(&tasks, &services, &nodes, &networks, port)
            })
            .await
            .map_err(|e| format!("building targets panicked: {e}"))??
        }
        Role::Nodes => {
            let nodes: Vec<api::Node> = client
                .list("/nodes", filters)
                .await
                .map_err(|e| format!("error while listing swarm nodes: {e}"))?;
            swarm::nodes_group(&nodes, port)
        }
    };
    Ok(vec![group])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(yaml: &str) -> Result<DockerSdConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    fn swarm(yaml: &str) -> Result<DockerSwarmSdConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_as_prometheus() {
        let c = docker("host: unix:///var/run/docker.sock\n").unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.host_networking_host, "localhost");
        assert!(c.match_first_network);
        assert!(c.filters.is_empty());
        assert_eq!(c.refresh_interval, Duration::from_secs(60));
        let s = swarm("host: http://127.0.0.1:2375\nrole: nodes\n").unwrap();
        assert_eq!((s.port, s.role()), (80, Role::Nodes));
        assert_eq!(s.refresh_interval, Duration::from_secs(60));
    }

    #[test]
    fn validation_messages_as_prometheus() {
        for (yaml, message) in [
            ("port: 1\n", "host missing"),
            ("host: ':x'\n", "missing protocol scheme"),
            (
                "host: unix:///a\nrefresh_interval: 0s\n",
                "refresh_interval must be greater than 0",
            ),
            ("host: unix:///a\nfiltres: []\n", "unknown field `filtres`"),
            (
                "host: unix:///a\nfilters: [{name: a, value: [b]}]\n",
                "unknown field `value`",
            ),
            (
                "host: http://a\nbearer_token: x\nbearer_token_file: y\n",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
        ] {
            let err = docker(yaml).unwrap_err();
            assert!(err.contains(message), "{yaml:?}: {err}");
        }
        for (yaml, message) in [
            ("role: nodes\n", "host missing"),
            (
                "host: http://a\n",
                "role missing (one of: tasks, services, nodes)",
            ),
            (
                "host: http://a\nrole: pods\n",
                "invalid role pods, expected tasks, services, or nodes",
            ),
        ] {
            let err = swarm(yaml).unwrap_err();
            assert!(err.contains(message), "{yaml:?}: {err}");
        }
    }

    #[test]
    fn filters_merge_by_term_and_skip_empty_ones() {
        let c = swarm(
            "host: http://a\nrole: tasks\nfilters:\n- name: label\n  values: [b, a]\n- name: x\n- name: label\n  values: [c]\n",
        )
        .unwrap();
        assert_eq!(
            filters_param(&c.filters).unwrap(),
            r#"{"label":{"a":true,"b":true,"c":true}}"#
        );
    }

    #[test]
    fn sanitize_and_join_as_go() {
        assert_eq!(
            sanitize("com.docker.compose-project/é"),
            "com_docker_compose_project__"
        );
        assert_eq!(join_host_port("fc00::2", "80"), "[fc00::2]:80");
        assert_eq!(join_host_port("", "80"), ":80");
    }
}
