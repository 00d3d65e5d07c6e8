//! Nomad's service registration API as Nomad's Go client (`github.com/hashicorp/nomad/api`)
//! reads it: `GET /v1/services` lists stubs per namespace, `GET /v1/service/<name>` the
//! registrations of one service. Unknown fields are ignored and `null` reads as zero.

pub use crate::discovery::kit::path_escape;
use serde::{Deserialize, Deserializer};

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One entry of `/v1/services`: a namespace and its services.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceRegistrationListStub {
    #[serde(rename = "Services", default, deserialize_with = "nullable")]
    pub services: Vec<ServiceRegistrationStub>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServiceRegistrationStub {
    #[serde(rename = "ServiceName", default, deserialize_with = "nullable")]
    pub service_name: String,
}

/// One entry of `/v1/service/<name>`.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceRegistration {
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "ServiceName", default, deserialize_with = "nullable")]
    pub service_name: String,
    #[serde(rename = "Namespace", default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(rename = "NodeID", default, deserialize_with = "nullable")]
    pub node_id: String,
    #[serde(rename = "Datacenter", default, deserialize_with = "nullable")]
    pub datacenter: String,
    #[serde(rename = "Tags", default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(rename = "Address", default, deserialize_with = "nullable")]
    pub address: String,
    #[serde(rename = "Port", default, deserialize_with = "nullable")]
    pub port: i64,
}
