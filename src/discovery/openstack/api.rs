//! What Keystone, Nova, Neutron and Octavia answer, as on the wire (only the fields read).
//!
//! Go's `encoding/json` reads `null` as the zero value and ignores unknown fields; so do these
//! types (`nullable`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A JSON value that may be `null` (Go decodes it as the zero value).
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `{"href": ..., "rel": ...}` of `*_links` and of the version document.
#[derive(Debug, Default, Deserialize)]
pub struct Link {
    #[serde(default, deserialize_with = "nullable")]
    pub href: String,
    #[serde(default, deserialize_with = "nullable")]
    pub rel: String,
}

/// The `next` link of a page, if any (gophercloud's `ExtractNextURL`).
pub fn next_link(links: &[Link]) -> Option<&str> {
    links
        .iter()
        .find(|l| l.rel == "next")
        .map(|l| l.href.as_str())
}

// ----- Keystone ------------------------------------------------------------------------------

/// The identity endpoint's version document (`GET /`).
#[derive(Debug, Default, Deserialize)]
pub struct VersionsDocument {
    #[serde(default, deserialize_with = "nullable")]
    pub versions: Versions,
}

#[derive(Debug, Default, Deserialize)]
pub struct Versions {
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<Version>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Version {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub links: Vec<Link>,
}

/// The body of `POST /v3/auth/tokens`' answer.
#[derive(Debug, Default, Deserialize)]
pub struct TokenResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub token: Token,
}

#[derive(Debug, Default, Deserialize)]
pub struct Token {
    #[serde(default, deserialize_with = "nullable")]
    pub catalog: Vec<CatalogEntry>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CatalogEntry {
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub service_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Endpoint {
    #[serde(default, deserialize_with = "nullable")]
    pub interface: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub url: String,
}

// ----- Nova ----------------------------------------------------------------------------------

/// A page of `GET /os-hypervisors/detail`.
#[derive(Debug, Default, Deserialize)]
pub struct HypervisorPage {
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisors: Vec<Hypervisor>,
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisors_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Hypervisor {
    /// A number before microversion 2.53, a UUID string since.
    #[serde(default)]
    pub id: Value,
    #[serde(default, deserialize_with = "nullable")]
    pub host_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisor_hostname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub state: String,
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisor_type: String,
}

/// A page of `GET /servers/detail`.
#[derive(Debug, Default, Deserialize)]
pub struct ServerPage {
    #[serde(default, deserialize_with = "nullable")]
    pub servers: Vec<Server>,
    #[serde(default, deserialize_with = "nullable")]
    pub servers_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Server {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tenant_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user_id: String,
    /// `{"id": ...}` before microversion 2.47, `{"original_name": ...}` since.
    #[serde(default, deserialize_with = "nullable")]
    pub flavor: BTreeMap<String, Value>,
    /// `{"id": ...}`, or `""` for a server booted from a volume.
    #[serde(default)]
    pub image: Value,
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: BTreeMap<String, String>,
    /// Pool name to addresses, in the order of the JSON object.
    #[serde(default, deserialize_with = "ordered_map")]
    pub addresses: Vec<(String, Value)>,
}

/// A JSON object as its entries in document order (`null` is empty).
fn ordered_map<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Value)>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, Value)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Value>()? {
                // A repeated key keeps its first place and its last value, as a Go map would.
                match out.iter_mut().find(|(key, _)| *key == k) {
                    Some(entry) => entry.1 = v,
                    None => out.push((k, v)),
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

// ----- Neutron -------------------------------------------------------------------------------

/// A page of `GET /v2.0/ports`.
#[derive(Debug, Default, Deserialize)]
pub struct PortPage {
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<Port>,
    #[serde(default, deserialize_with = "nullable")]
    pub ports_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Port {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub device_id: String,
}

/// A page of `GET /v2.0/floatingips`.
#[derive(Debug, Default, Deserialize)]
pub struct FloatingIpPage {
    #[serde(default, deserialize_with = "nullable")]
    pub floatingips: Vec<FloatingIp>,
    #[serde(default, deserialize_with = "nullable")]
    pub floatingips_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FloatingIp {
    #[serde(default, deserialize_with = "nullable")]
    pub floating_ip_address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub port_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub fixed_ip_address: String,
}

// ----- Octavia -------------------------------------------------------------------------------

/// A page of `GET /v2.0/lbaas/loadbalancers`.
#[derive(Debug, Default, Deserialize)]
pub struct LoadBalancerPage {
    #[serde(default, deserialize_with = "nullable")]
    pub loadbalancers: Vec<LoadBalancer>,
    #[serde(default, deserialize_with = "nullable")]
    pub loadbalancers_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoadBalancer {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub operating_status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub provisioning_status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub availability_zone: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vip_address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vip_port_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub provider: String,
    #[serde(default, deserialize_with = "nullable")]
    pub project_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
}

/// A page of `GET /v2.0/lbaas/listeners`.
#[derive(Debug, Default, Deserialize)]
pub struct ListenerPage {
    #[serde(default, deserialize_with = "nullable")]
    pub listeners: Vec<Listener>,
    #[serde(default, deserialize_with = "nullable")]
    pub listeners_links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Listener {
    #[serde(default, deserialize_with = "nullable")]
    pub protocol: String,
    #[serde(default, deserialize_with = "nullable")]
    pub protocol_port: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub loadbalancers: Vec<LoadBalancerRef>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoadBalancerRef {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
}
