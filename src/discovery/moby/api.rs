//! The Docker Engine API's JSON as the lists Prometheus reads answer it (`/containers/json`,
//! `/networks`, `/services`, `/tasks`, `/nodes`), decoded as Go's `encoding/json` decodes it
//! into the moby API types: a missing or `null` field is its zero value, unknown fields are
//! ignored, IP addresses must parse (`netip.Addr`, `netip.Prefix`) or the whole answer is
//! rejected. Only the fields Prometheus reads are kept.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

type Labels = BTreeMap<String, String>;

/// Decodes a body with Go's leniency for bytes that are not UTF-8 (read as U+FFFD).
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// A list answer: `null` is an empty list, as Go decodes it into a nil slice.
pub fn decode_list<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, String> {
    Ok(decode::<Option<Vec<T>>>(body)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Addresses

/// Go's `netip.Addr` as text: empty (or `null`) is the zero address, which is not valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Addr(pub Option<IpAddr>);

impl fmt::Display for Addr {
    /// `netip.Addr.String()` for a valid address (the zone, if any, is not kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("invalid IP"),
        }
    }
}

/// `netip.ParseAddr`, zones dropped (Docker never sends one).
fn parse_ip(text: &str) -> Result<IpAddr, String> {
    let bare = match text.split_once('%') {
        Some((ip, zone)) if ip.contains(':') && !zone.is_empty() => ip,
        _ => text,
    };
    bare.parse::<IpAddr>()
        .map_err(|_| format!("ParseAddr({text:?}): unable to parse IP"))
}

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Addr(None)),
            Some(text) if text.is_empty() => Ok(Addr(None)),
            Some(text) => parse_ip(&text)
                .map(|ip| Addr(Some(ip)))
                .map_err(de::Error::custom),
        }
    }
}

/// Go's `netip.Prefix` as text (`10.0.0.2/24`): empty (or `null`) is the zero prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefix(pub Option<(IpAddr, u8)>);

impl Prefix {
    /// What `net.ParseCIDR(p.String())` gives Prometheus: the address (an IPv4-mapped IPv6
    /// address written as IPv4, as `net.IP.String()` does), or its error for the zero prefix.
    pub fn ip(&self) -> Result<String, String> {
        match self.0 {
            Some((IpAddr::V6(v6), _)) => match v6.to_ipv4_mapped() {
                Some(v4) => Ok(v4.to_string()),
                None => Ok(v6.to_string()),
            },
            Some((ip, _)) => Ok(ip.to_string()),
            None => Err(
                "error while parsing address invalid Prefix: invalid CIDR address: invalid Prefix"
                    .to_owned(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(Prefix(None));
        };
        if text.is_empty() {
            return Ok(Prefix(None));
        }
        let (ip, bits) = text
            .rsplit_once('/')
            .ok_or_else(|| de::Error::custom(format!("netip.ParsePrefix({text:?}): no '/'")))?;
        if ip.contains('%') {
            return Err(de::Error::custom(format!(
                "netip.ParsePrefix({text:?}): IPv6 zones cannot be present in a prefix"
            )));
        }
        let ip = parse_ip(ip).map_err(de::Error::custom)?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match bits.parse::<u8>() {
            Ok(b) if b <= max && (bits == "0" || !bits.starts_with('0')) => b,
            _ => {
                return Err(de::Error::custom(format!(
                    "netip.ParsePrefix({text:?}): bad bits after slash: {bits:?}"
                )))
            }
        };
        Ok(Prefix(Some((ip, bits))))
    }
}

// ---------------------------------------------------------------------------------------------
// Containers and networks (`/containers/json`, `/networks`)

/// One entry of `/containers/json` (`container.Summary`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Container {
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Names", deserialize_with = "nullable")]
    pub names: Vec<String>,
    #[serde(rename = "Image", deserialize_with = "nullable")]
    pub image: String,
    #[serde(rename = "ImageID", deserialize_with = "nullable")]
    pub image_id: String,
    #[serde(rename = "Ports", deserialize_with = "nullable")]
    pub ports: Vec<PortSummary>,
    #[serde(rename = "Labels", deserialize_with = "nullable")]
    pub labels: Labels,
    #[serde(rename = "HostConfig", deserialize_with = "nullable")]
    pub host_config: HostConfig,
    #[serde(rename = "NetworkSettings", deserialize_with = "nullable")]
    pub network_settings: NetworkSettings,
}

/// `container.Summary.HostConfig`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostConfig {
    #[serde(rename = "NetworkMode", deserialize_with = "nullable")]
    pub network_mode: String,
}

/// `container.NetworkSettingsSummary`: the container's endpoints by network name (an endpoint
/// may be `null`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NetworkSettings {
    #[serde(rename = "Networks", deserialize_with = "nullable")]
    pub networks: BTreeMap<String, Option<EndpointSettings>>,
}

/// `network.EndpointSettings`, the fields Prometheus reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndpointSettings {
    #[serde(rename = "NetworkID", deserialize_with = "nullable")]
    pub network_id: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: Addr,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: Addr,
}

/// `container.PortSummary`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortSummary {
    #[serde(rename = "IP")]
    pub ip: Addr,
    #[serde(rename = "PrivatePort", deserialize_with = "nullable")]
    pub private_port: u16,
    #[serde(rename = "PublicPort", deserialize_with = "nullable")]
    pub public_port: u16,
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub kind: String,
}

/// One entry of `/networks` (`network.Summary`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Scope", deserialize_with = "nullable")]
    pub scope: String,
    #[serde(rename = "Internal", deserialize_with = "nullable")]
    pub internal: bool,
    #[serde(rename = "Ingress", deserialize_with = "nullable")]
    pub ingress: bool,
    #[serde(rename = "Labels", deserialize_with = "nullable")]
    pub labels: Labels,
}

// ---------------------------------------------------------------------------------------------
// Swarm (`/services`, `/tasks`, `/nodes`)

/// One entry of `/services` (`swarm.Service`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Spec", deserialize_with = "nullable")]
    pub spec: ServiceSpec,
    #[serde(rename = "Endpoint", deserialize_with = "nullable")]
    pub endpoint: Endpoint,
    #[serde(rename = "UpdateStatus")]
    pub update_status: Option<UpdateStatus>,
}

/// `swarm.ServiceSpec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceSpec {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Labels", deserialize_with = "nullable")]
    pub labels: Labels,
    #[serde(rename = "TaskTemplate", deserialize_with = "nullable")]
    pub task_template: TaskSpec,
    #[serde(rename = "Mode", deserialize_with = "nullable")]
    pub mode: ServiceMode,
}

/// `swarm.ServiceMode`: which of its pointers is set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceMode {
    #[serde(rename = "Replicated")]
    pub replicated: Option<IgnoredAny>,
    #[serde(rename = "Global")]
    pub global: Option<IgnoredAny>,
}

/// `swarm.UpdateStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateStatus {
    #[serde(rename = "State", deserialize_with = "nullable")]
    pub state: String,
}

/// `swarm.TaskSpec`: only its container part.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskSpec {
    #[serde(rename = "ContainerSpec")]
    pub container_spec: Option<ContainerSpec>,
}

/// `swarm.ContainerSpec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerSpec {
    #[serde(rename = "Image", deserialize_with = "nullable")]
    pub image: String,
    #[serde(rename = "Labels", deserialize_with = "nullable")]
    pub labels: Labels,
    #[serde(rename = "Hostname", deserialize_with = "nullable")]
    pub hostname: String,
}

/// `swarm.Endpoint`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    #[serde(rename = "Ports", deserialize_with = "nullable")]
    pub ports: Vec<PortConfig>,
    #[serde(rename = "VirtualIPs", deserialize_with = "nullable")]
    pub virtual_ips: Vec<VirtualIp>,
}

/// `swarm.PortConfig`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortConfig {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Protocol", deserialize_with = "nullable")]
    pub protocol: String,
    #[serde(rename = "TargetPort", deserialize_with = "nullable")]
    pub target_port: u32,
    #[serde(rename = "PublishedPort", deserialize_with = "nullable")]
    pub published_port: u32,
    #[serde(rename = "PublishMode", deserialize_with = "nullable")]
    pub publish_mode: String,
}

/// `swarm.EndpointVirtualIP`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct VirtualIp {
    #[serde(rename = "NetworkID", deserialize_with = "nullable")]
    pub network_id: String,
    #[serde(rename = "Addr")]
    pub addr: Prefix,
}

/// One entry of `/tasks` (`swarm.Task`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Task {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Spec", deserialize_with = "nullable")]
    pub spec: TaskSpec,
    #[serde(rename = "ServiceID", deserialize_with = "nullable")]
    pub service_id: String,
    #[serde(rename = "Slot", deserialize_with = "nullable")]
    pub slot: i64,
    #[serde(rename = "NodeID", deserialize_with = "nullable")]
    pub node_id: String,
    #[serde(rename = "Status", deserialize_with = "nullable")]
    pub status: TaskStatus,
    #[serde(rename = "DesiredState", deserialize_with = "nullable")]
    pub desired_state: String,
    #[serde(rename = "NetworksAttachments", deserialize_with = "nullable")]
    pub networks_attachments: Vec<NetworkAttachment>,
}

/// `swarm.TaskStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskStatus {
    #[serde(rename = "State", deserialize_with = "nullable")]
    pub state: String,
    #[serde(rename = "ContainerStatus")]
    pub container_status: Option<ContainerStatus>,
    #[serde(rename = "PortStatus", deserialize_with = "nullable")]
    pub port_status: PortStatus,
}

/// `swarm.ContainerStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerStatus {
    #[serde(rename = "ContainerID", deserialize_with = "nullable")]
    pub container_id: String,
}

/// `swarm.PortStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortStatus {
    #[serde(rename = "Ports", deserialize_with = "nullable")]
    pub ports: Vec<PortConfig>,
}

/// `swarm.NetworkAttachment`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NetworkAttachment {
    #[serde(rename = "Network", deserialize_with = "nullable")]
    pub network: SwarmNetwork,
    #[serde(rename = "Addresses", deserialize_with = "nullable")]
    pub addresses: Vec<Prefix>,
}

/// `swarm.Network`: its ID.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SwarmNetwork {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub id: String,
}

/// One entry of `/nodes` (`swarm.Node`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Spec", deserialize_with = "nullable")]
    pub spec: NodeSpec,
    #[serde(rename = "Description", deserialize_with = "nullable")]
    pub description: NodeDescription,
    #[serde(rename = "Status", deserialize_with = "nullable")]
    pub status: NodeStatus,
    #[serde(rename = "ManagerStatus")]
    pub manager_status: Option<ManagerStatus>,
}

/// `swarm.NodeSpec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeSpec {
    #[serde(rename = "Labels", deserialize_with = "nullable")]
    pub labels: Labels,
    #[serde(rename = "Role", deserialize_with = "nullable")]
    pub role: String,
    #[serde(rename = "Availability", deserialize_with = "nullable")]
    pub availability: String,
}

/// `swarm.NodeDescription`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeDescription {
    #[serde(rename = "Hostname", deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(rename = "Platform", deserialize_with = "nullable")]
    pub platform: Platform,
    #[serde(rename = "Engine", deserialize_with = "nullable")]
    pub engine: Engine,
}

/// `swarm.Platform`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Platform {
    #[serde(rename = "Architecture", deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(rename = "OS", deserialize_with = "nullable")]
    pub os: String,
}

/// `swarm.EngineDescription`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Engine {
    #[serde(rename = "EngineVersion", deserialize_with = "nullable")]
    pub engine_version: String,
}

/// `swarm.NodeStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeStatus {
    #[serde(rename = "State", deserialize_with = "nullable")]
    pub state: String,
    #[serde(rename = "Addr", deserialize_with = "nullable")]
    pub addr: String,
}

/// `swarm.ManagerStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManagerStatus {
    #[serde(rename = "Leader", deserialize_with = "nullable")]
    pub leader: bool,
    #[serde(rename = "Reachability", deserialize_with = "nullable")]
    pub reachability: String,
    #[serde(rename = "Addr", deserialize_with = "nullable")]
    pub addr: String,
}
