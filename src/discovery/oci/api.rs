//! The OCI API objects this mechanism reads (JSON, camelCase as the REST API and the Go SDK's
//! `core` / `identity` packages name them), and the hosts and paths it asks.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The API version path prefix of the Core Services and Identity APIs.
pub const API_VERSION: &str = "/20160918";

/// The page size Prometheus asks for every list.
pub const LIMIT: &str = "100";

/// The second-level domain of a region's realm (the SDK's `regionRealm` + `realm` tables, for
/// the realms listed here); any other region takes the commercial realm's.
pub fn realm_domain(region: &str) -> &'static str {
    match region {
        "us-langley-1" | "us-luke-1" | "us-gov-ashburn-1" | "us-gov-chicago-1"
        | "us-gov-phoenix-1" => "oraclegovcloud.com",
        "uk-gov-london-1" | "uk-gov-cardiff-1" => "oraclegovcloud.uk",
        "ap-chiyoda-1" | "ap-ibaraki-1" => "oraclecloud8.com",
        "eu-frankfurt-2" | "eu-madrid-2" => "oraclecloud.eu",
        _ => "oraclecloud.com",
    }
}

/// `https://iaas.{region}.{secondLevelDomain}`: compute and virtual network.
pub fn iaas_endpoint(region: &str) -> String {
    let region = region.to_lowercase();
    format!("https://iaas.{region}.{}", realm_domain(&region))
}

/// `https://identity.{region}.oci.{secondLevelDomain}`: the SDK's identity client template.
pub fn identity_endpoint(region: &str) -> String {
    let region = region.to_lowercase();
    format!("https://identity.{region}.oci.{}", realm_domain(&region))
}

/// `identity.Compartment` (the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compartment {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub lifecycle_state: String,
}

/// `core.Instance` (the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub lifecycle_state: String,
    #[serde(default)]
    pub shape: Option<String>,
    #[serde(default)]
    pub availability_domain: Option<String>,
    #[serde(default)]
    pub fault_domain: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub compartment_id: Option<String>,
    #[serde(default)]
    pub image_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub freeform_tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub defined_tags: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

/// `core.VnicAttachment` (the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnicAttachment {
    #[serde(default)]
    pub vnic_id: Option<String>,
    #[serde(default)]
    pub lifecycle_state: String,
}

/// `core.Vnic` (the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vnic {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub is_primary: Option<bool>,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub public_ip: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ipv6_addresses: Vec<String>,
    #[serde(default)]
    pub hostname_label: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
