//! The answers of Triton's discovery endpoints (Joyent's `triton-cmon`), the fields Prometheus
//! reads; unknown fields are ignored and `null` reads as zero.

use serde::{Deserialize, Deserializer};

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `/v<version>/discover`.
#[derive(Debug, Default, Deserialize)]
pub struct DiscoveryResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Container {
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub server_uuid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vm_alias: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vm_brand: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vm_image_uuid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vm_uuid: String,
}

/// `/v<version>/gz/discover`.
#[derive(Debug, Default, Deserialize)]
pub struct ComputeNodeDiscoveryResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub cns: Vec<ComputeNode>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ComputeNode {
    #[serde(default, deserialize_with = "nullable")]
    pub server_uuid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub server_hostname: String,
}
