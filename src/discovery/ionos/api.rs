//! What IONOS Cloud's API v6 answers to `GET /datacenters/{id}/servers?depth=3`, as on the
//! wire (only the fields read). Fields are optional as the SDK's pointers are: `null` or
//! absent is "not set".

use serde::Deserialize;

/// A collection of servers (one page).
#[derive(Debug, Default, Deserialize)]
pub struct Servers {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub items: Option<Vec<Server>>,
    #[serde(default, rename = "_links")]
    pub links: Option<Links>,
}

/// The pagination links of a collection.
#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Server {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub properties: Option<ServerProperties>,
    #[serde(default)]
    pub entities: Option<ServerEntities>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProperties {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub vm_state: Option<String>,
    #[serde(default)]
    pub cpu_family: Option<String>,
    #[serde(default, rename = "type")]
    pub server_type: Option<String>,
    #[serde(default)]
    pub boot_cdrom: Option<ResourceReference>,
    #[serde(default)]
    pub boot_volume: Option<ResourceReference>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResourceReference {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerEntities {
    #[serde(default)]
    pub nics: Option<Nics>,
    #[serde(default)]
    pub volumes: Option<Volumes>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Nics {
    #[serde(default)]
    pub items: Option<Vec<Nic>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Nic {
    #[serde(default)]
    pub properties: Option<NicProperties>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NicProperties {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ips: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Volumes {
    #[serde(default)]
    pub items: Option<Vec<Volume>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Volume {
    #[serde(default)]
    pub properties: Option<VolumeProperties>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VolumeProperties {
    #[serde(default)]
    pub image: Option<String>,
}
