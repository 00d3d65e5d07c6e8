//! Marathon's `/v2/apps/?embed=apps.tasks` answer, the fields Prometheus reads. As with Go's
//! `encoding/json`, unknown fields are ignored and `null` reads as the zero value.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
pub struct AppList {
    #[serde(default, deserialize_with = "nullable")]
    pub apps: Vec<App>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tasks: Vec<Task>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub container: Container,
    #[serde(default, deserialize_with = "nullable")]
    pub port_definitions: Vec<PortDefinition>,
    #[serde(default, deserialize_with = "nullable")]
    pub networks: Vec<Network>,
    #[serde(default, deserialize_with = "nullable")]
    pub require_ports: bool,
}

impl App {
    /// The app runs in a container network (its first network's mode is `container`).
    pub fn is_container_net(&self) -> bool {
        self.networks.first().is_some_and(|n| n.mode == "container")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub ip_addresses: Vec<IpAddress>,
}

#[derive(Debug, Default, Deserialize)]
pub struct IpAddress {
    #[serde(rename = "ipAddress", default, deserialize_with = "nullable")]
    pub address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub container_port: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub host_port: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerContainer {
    #[serde(default, deserialize_with = "nullable")]
    pub image: String,
    #[serde(default, deserialize_with = "nullable")]
    pub port_mappings: Vec<PortMapping>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, deserialize_with = "nullable")]
    pub docker: DockerContainer,
    #[serde(default, deserialize_with = "nullable")]
    pub port_mappings: Vec<PortMapping>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PortDefinition {
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub port: u32,
}

#[derive(Debug, Default, Deserialize)]
pub struct Network {
    #[serde(default, deserialize_with = "nullable")]
    pub mode: String,
}
