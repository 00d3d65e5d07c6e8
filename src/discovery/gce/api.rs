//! The Compute Engine API's JSON (`compute/v1` `InstanceList`) as the discovery reads it,
//! the token endpoints' answers, and credentials files. `null` anywhere reads as absent.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of `instances.list`.
#[derive(Debug, Default, Deserialize)]
pub struct InstanceList {
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<Option<Instance>>,
    #[serde(rename = "nextPageToken", default, deserialize_with = "nullable")]
    pub next_page_token: String,
}

/// An instance: only what the labels use.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Instance {
    /// A uint64 written as a JSON string (Google's `,string` encoding); a number is read too.
    #[serde(default, deserialize_with = "uint64")]
    pub id: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub zone: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(rename = "machineType", default, deserialize_with = "nullable")]
    pub machine_type: String,
    #[serde(rename = "networkInterfaces", default, deserialize_with = "nullable")]
    pub network_interfaces: Vec<Option<NetworkInterface>>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

fn uint64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(0),
        Some(Raw::Number(n)) => Ok(n),
        Some(Raw::Text(t)) => t.parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct NetworkInterface {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub network: String,
    #[serde(default, deserialize_with = "nullable")]
    pub subnetwork: String,
    #[serde(rename = "networkIP", default, deserialize_with = "nullable")]
    pub network_ip: String,
    #[serde(rename = "accessConfigs", default, deserialize_with = "nullable")]
    pub access_configs: Vec<Option<AccessConfig>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct AccessConfig {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(rename = "natIP", default, deserialize_with = "nullable")]
    pub nat_ip: String,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Tags {
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<Option<MetadataItem>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MetadataItem {
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    /// Absent or `null`: the item is left out, as Prometheus does with a nil value.
    #[serde(default)]
    pub value: Option<String>,
}

/// A token endpoint's or the metadata server's answer.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// A credentials file (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file).
#[derive(Debug, Default, Deserialize)]
pub struct CredentialsFile {
    #[serde(rename = "type", default)]
    pub kind: String,
    // service_account
    #[serde(default)]
    pub client_email: String,
    #[serde(default)]
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: String,
    #[serde(default)]
    pub token_uri: String,
    // authorized_user
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub refresh_token: String,
}
