//! Azure Resource Manager's JSON as the discovery reads it (compute `2024-03-01`, network
//! `2023-05-01`): only the fields Prometheus uses. `null` anywhere reads as absent.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of a list (`value` + `nextLink`).
#[derive(Debug, Default, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct Page<T> {
    #[serde(default, deserialize_with = "nullable")]
    pub value: Vec<Option<T>>,
    #[serde(rename = "nextLink", default)]
    pub next_link: Option<String>,
}

/// A virtual machine, or a scale set's VM (which also has `instanceId`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VirtualMachine {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(rename = "instanceId", default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    pub properties: Option<VmProperties>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VmProperties {
    #[serde(rename = "storageProfile", default)]
    pub storage_profile: Option<StorageProfile>,
    #[serde(rename = "networkProfile", default)]
    pub network_profile: Option<NetworkProfile>,
    #[serde(rename = "osProfile", default)]
    pub os_profile: Option<OsProfile>,
    #[serde(rename = "hardwareProfile", default)]
    pub hardware_profile: Option<HardwareProfile>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct StorageProfile {
    #[serde(rename = "osDisk", default)]
    pub os_disk: Option<OsDisk>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct OsDisk {
    #[serde(rename = "osType", default)]
    pub os_type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct NetworkProfile {
    #[serde(rename = "networkInterfaces", default, deserialize_with = "nullable")]
    pub network_interfaces: Vec<Option<NetworkInterfaceReference>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct NetworkInterfaceReference {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct OsProfile {
    #[serde(rename = "computerName", default)]
    pub computer_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct HardwareProfile {
    #[serde(rename = "vmSize", default)]
    pub vm_size: Option<String>,
}

/// A virtual machine scale set (only its ID and name are used).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ScaleSet {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A network interface, with its IP configurations' public IPs expanded.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Interface {
    #[serde(default)]
    pub properties: Option<InterfaceProperties>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct InterfaceProperties {
    #[serde(default)]
    pub primary: Option<bool>,
    #[serde(rename = "ipConfigurations", default, deserialize_with = "nullable")]
    pub ip_configurations: Vec<Option<IpConfiguration>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct IpConfiguration {
    #[serde(default)]
    pub properties: Option<IpConfigurationProperties>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct IpConfigurationProperties {
    #[serde(rename = "privateIPAddress", default)]
    pub private_ip_address: Option<String>,
    #[serde(rename = "publicIPAddress", default)]
    pub public_ip_address: Option<PublicIpAddress>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PublicIpAddress {
    #[serde(default)]
    pub properties: Option<PublicIpAddressProperties>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PublicIpAddressProperties {
    #[serde(rename = "ipAddress", default)]
    pub ip_address: Option<String>,
}

/// A token endpoint's answer (Entra ID, managed identity endpoints). Managed identity
/// endpoints write the numbers as strings.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_in: Option<i64>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_on: Option<i64>,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Number(n)) => Some(n),
        Some(Raw::Float(f)) => Some(f as i64),
        Some(Raw::Text(t)) => t.trim().parse().ok(),
    })
}

/// Entra ID's error answer, for messages.
#[derive(Debug, Default, Deserialize)]
pub struct TokenError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}
