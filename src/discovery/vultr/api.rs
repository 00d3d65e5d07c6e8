//! Vultr's API v2 as it is on the wire (govultr's types, the fields Prometheus reads): the
//! instance list `GET /v2/instances`, paginated by the cursor in `meta.links.next`. A `null`
//! reads as Go's zero value; unknown fields are ignored.

use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of instances (govultr's `instancesBase`).
#[derive(Debug, Default, Deserialize)]
pub struct InstanceList {
    #[serde(default, deserialize_with = "nullable")]
    pub instances: Vec<Instance>,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
}

/// The cursors of the neighbouring pages; `next` is empty on the last page.
#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default, deserialize_with = "nullable")]
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Instance {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ram: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub disk: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub plan: String,
    #[serde(default, deserialize_with = "nullable")]
    pub main_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vcpu_count: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_bandwidth: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub server_status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub v6_main_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub label: String,
    #[serde(default, deserialize_with = "nullable")]
    pub internal_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os_id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub features: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}
