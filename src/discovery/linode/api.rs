//! Linode's API v4 as it is on the wire (linodego's types, the fields Prometheus reads): every
//! list is a page `{data, page, pages, results}`. A `null` reads as Go's zero value; unknown
//! fields are ignored.

use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of a list (linodego's `paginatedResponse`).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable")]
    pub data: Vec<T>,
    #[serde(default, deserialize_with = "nullable")]
    pub pages: i64,
}

/// `GET /linode/instances`.
#[derive(Debug, Default, Deserialize)]
pub struct Instance {
    #[serde(default, deserialize_with = "nullable")]
    pub id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub label: String,
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable", rename = "type")]
    pub kind: String,
    /// Addresses; linodego parses each as a `net.IP` (an unparsable one fails the page).
    #[serde(default, deserialize_with = "nullable")]
    pub ipv4: Vec<Option<String>>,
    /// The SLAAC address with its prefix (`2600:3c03::f03c:92ff:fe1a:1382/128`).
    #[serde(default, deserialize_with = "nullable")]
    pub ipv6: String,
    #[serde(default, deserialize_with = "nullable")]
    pub image: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub specs: Specs,
    #[serde(default, deserialize_with = "nullable")]
    pub backups: Backups,
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisor: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

/// Sizes in MiB (disk, memory, transfer).
#[derive(Debug, Default, Deserialize)]
pub struct Specs {
    #[serde(default, deserialize_with = "nullable")]
    pub disk: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub memory: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub vcpus: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub transfer: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub gpus: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct Backups {
    #[serde(default, deserialize_with = "nullable")]
    pub enabled: bool,
}

/// `GET /networking/ips`: one address of any instance.
#[derive(Debug, Default, Deserialize)]
pub struct IpAddress {
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub public: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub rdns: String,
}

/// `GET /networking/ipv6/ranges`.
#[derive(Debug, Default, Deserialize)]
pub struct Ipv6Range {
    #[serde(default, deserialize_with = "nullable")]
    pub range: String,
    #[serde(default, deserialize_with = "nullable")]
    pub prefix: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub route_target: String,
}

/// `GET /account/events`: only whether there are any matters.
#[derive(Debug, Default, Deserialize)]
pub struct Event {}
