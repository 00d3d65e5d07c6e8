//! The two Hetzner APIs as they are on the wire: the Cloud API's server and network lists
//! (`https://api.hetzner.cloud/v1`, hcloud-go's schema) and the Robot webservice's server list
//! (`https://robot-ws.your-server.de/server`). Only the fields Prometheus reads; a `null`
//! reads as Go's zero value, unknown fields are ignored, as Go's `encoding/json` does.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /servers`: one page of servers.
#[derive(Debug, Default, Deserialize)]
pub struct ServerList {
    #[serde(default, deserialize_with = "nullable")]
    pub servers: Vec<Server>,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// `GET /networks`: one page of networks.
#[derive(Debug, Default, Deserialize)]
pub struct NetworkList {
    #[serde(default, deserialize_with = "nullable")]
    pub networks: Vec<Network>,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// The `meta` of every Cloud API list answer (hcloud-go's `schema.Meta`).
#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    /// The next page's number; `null` (0) on the last page.
    #[serde(default, deserialize_with = "nullable")]
    pub next_page: i64,
}

/// A Cloud server (hcloud-go's `schema.Server`, the fields Prometheus reads).
#[derive(Debug, Default, Deserialize)]
pub struct Server {
    #[serde(default, deserialize_with = "nullable")]
    pub id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub public_net: PublicNet,
    #[serde(default, deserialize_with = "nullable")]
    pub private_net: Vec<PrivateNet>,
    #[serde(default, deserialize_with = "nullable")]
    pub server_type: ServerType,
    #[serde(default, deserialize_with = "nullable")]
    pub location: Location,
    #[serde(default)]
    pub image: Option<Image>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PublicNet {
    #[serde(default, deserialize_with = "nullable")]
    pub ipv4: PublicIp,
    #[serde(default, deserialize_with = "nullable")]
    pub ipv6: PublicIp,
}

/// `public_net.ipv4` (an address) or `public_net.ipv6` (a network, `2001:db8::/64`).
#[derive(Debug, Default, Deserialize)]
pub struct PublicIp {
    #[serde(default, deserialize_with = "nullable")]
    pub ip: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PrivateNet {
    #[serde(default, deserialize_with = "nullable")]
    pub network: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub ip: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerType {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cores: i64,
    /// Gigabytes, a float on the wire (`0.5`); Prometheus prints its integer part.
    #[serde(default, deserialize_with = "nullable")]
    pub memory: f32,
    #[serde(default, deserialize_with = "nullable")]
    pub disk: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_type: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Location {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub network_zone: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Image {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os_flavor: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os_version: String,
}

/// A Cloud network: its id and name name the `private_ipv4_<network>` labels.
#[derive(Debug, Default, Deserialize)]
pub struct Network {
    #[serde(default, deserialize_with = "nullable")]
    pub id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// One entry of the Robot's `GET /server` list.
#[derive(Debug, Default, Deserialize)]
pub struct RobotEntry {
    #[serde(default, deserialize_with = "nullable")]
    pub server: RobotServer,
}

#[derive(Debug, Default, Deserialize)]
pub struct RobotServer {
    #[serde(default, deserialize_with = "nullable")]
    pub server_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub server_number: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub server_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub dc: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub product: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cancelled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub subnet: Vec<RobotSubnet>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RobotSubnet {
    #[serde(default, deserialize_with = "nullable")]
    pub ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mask: String,
}
