//! What Scaleway's Instance, IPAM and Elastic Metal APIs answer, as on the wire (only the
//! fields read). `null` reads as the zero value, as in Go.

use serde::{Deserialize, Deserializer};

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A page of a list: its items and the total count.
pub trait Page: Send + 'static {
    type Item;
    fn total_count(&self) -> u64;
    /// The page's size (null entries included, as the SDK counts them) and its items.
    fn into_items(self) -> (usize, Vec<Self::Item>);
}

macro_rules! page {
    ($name:ident, $field:ident, $item:ty) => {
        #[derive(Debug, Default, Deserialize)]
        pub struct $name {
            #[serde(default, deserialize_with = "nullable")]
            pub total_count: u64,
            #[serde(default, deserialize_with = "nullable")]
            pub $field: Vec<Option<$item>>,
        }

        impl Page for $name {
            type Item = $item;
            fn total_count(&self) -> u64 {
                self.total_count
            }
            fn into_items(self) -> (usize, Vec<$item>) {
                // The SDK keeps null entries as nil pointers; they count in the page size but
                // carry nothing.
                (
                    self.$field.len(),
                    self.$field.into_iter().flatten().collect(),
                )
            }
        }
    };
}

page!(InstanceServers, servers, InstanceServer);
page!(IpamIps, ips, IpamIp);
page!(BaremetalServers, servers, BaremetalServer);
page!(BaremetalOffers, offers, Offer);
page!(BaremetalOses, os, Os);

// ----- Instance ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct InstanceServer {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub organization: String,
    #[serde(default, deserialize_with = "nullable")]
    pub project: String,
    #[serde(default, deserialize_with = "nullable")]
    pub commercial_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub state: String,
    #[serde(default, deserialize_with = "nullable")]
    pub boot_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub zone: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub image: Option<Image>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub security_group: Option<SecurityGroup>,
    #[serde(default, deserialize_with = "nullable")]
    pub public_ips: Vec<Option<ServerIp>>,
    /// Deprecated by Scaleway, still read by Prometheus.
    #[serde(default)]
    pub ipv6: Option<ServerIpv6>,
    /// Deprecated by Scaleway, still read by Prometheus.
    #[serde(default)]
    pub public_ip: Option<ServerIp>,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub private_nics: Vec<Option<PrivateNic>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Image {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub arch: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Location {
    #[serde(default, deserialize_with = "nullable")]
    pub cluster_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub hypervisor_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub node_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SecurityGroup {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerIp {
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    /// `inet` or `inet6` (absent on old answers).
    #[serde(default, deserialize_with = "nullable")]
    pub family: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerIpv6 {
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PrivateNic {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
}

// ----- IPAM ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct IpamIp {
    /// A CIDR: `10.0.0.7/32`.
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub is_ipv6: bool,
    #[serde(default)]
    pub resource: Option<IpamResource>,
}

#[derive(Debug, Default, Deserialize)]
pub struct IpamResource {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
}

// ----- Elastic Metal -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct BaremetalServer {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub zone: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub project_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub offer_id: String,
    #[serde(default)]
    pub install: Option<Install>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub ips: Vec<Option<BaremetalIp>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Install {
    #[serde(default, deserialize_with = "nullable")]
    pub os_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BaremetalIp {
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    /// `IPv4` or `IPv6`; empty reads as `IPv4` (the SDK's enum default).
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Offer {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Os {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
}
