//! The OVHcloud API's answers, as go-ovh decodes them into Prometheus' structs (a missing or
//! `null` field is Go's zero value).

use serde::{Deserialize, Deserializer};

fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /vps/<name>`'s `model`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VpsModel {
    #[serde(rename = "maximumAdditionnalIp", deserialize_with = "zero")]
    pub maximum_additional_ip: i64,
    #[serde(deserialize_with = "zero")]
    pub offer: String,
    #[serde(deserialize_with = "zero")]
    pub datacenter: Vec<String>,
    #[serde(deserialize_with = "zero")]
    pub vcore: i64,
    #[serde(deserialize_with = "zero")]
    pub version: String,
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub disk: i64,
    #[serde(deserialize_with = "zero")]
    pub memory: i64,
}

/// `GET /vps/<name>`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Vps {
    #[serde(deserialize_with = "zero")]
    pub zone: String,
    #[serde(deserialize_with = "zero")]
    pub model: VpsModel,
    #[serde(deserialize_with = "zero")]
    pub display_name: String,
    #[serde(deserialize_with = "zero")]
    pub cluster: String,
    #[serde(deserialize_with = "zero")]
    pub state: String,
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub netboot_mode: String,
    #[serde(deserialize_with = "zero")]
    pub memory_limit: i64,
    #[serde(deserialize_with = "zero")]
    pub offer_type: String,
    #[serde(deserialize_with = "zero")]
    pub vcore: i64,
}

/// `GET /dedicated/server/<name>`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DedicatedServer {
    #[serde(deserialize_with = "zero")]
    pub state: String,
    #[serde(deserialize_with = "zero")]
    pub commercial_range: String,
    #[serde(deserialize_with = "zero")]
    pub link_speed: i64,
    #[serde(deserialize_with = "zero")]
    pub rack: String,
    #[serde(deserialize_with = "zero")]
    pub no_intervention: bool,
    #[serde(deserialize_with = "zero")]
    pub os: String,
    #[serde(deserialize_with = "zero")]
    pub support_level: String,
    #[serde(deserialize_with = "zero")]
    pub server_id: i64,
    #[serde(deserialize_with = "zero")]
    pub reverse: String,
    #[serde(deserialize_with = "zero")]
    pub datacenter: String,
    #[serde(deserialize_with = "zero")]
    pub name: String,
}

/// A server's details.
#[derive(Clone, Debug)]
pub enum Server {
    Vps(Vps),
    Dedicated(DedicatedServer),
}
