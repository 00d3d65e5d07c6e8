//! xDS over REST/JSON as Kuma's control plane speaks it for monitoring assignments (MADS): the
//! `DiscoveryRequest` Prometheus posts, and the `DiscoveryResponse` it reads, decoded with the
//! rules of Go's `protojson` (`DiscardUnknown`, a type registry of `DiscoveryRequest`,
//! `DiscoveryResponse` and `MonitoringAssignment` only).
//!
//! protojson's rules kept here: a field is named by its proto name (`version_info`) or its JSON
//! name (`versionInfo`), exactly; unknown fields are ignored; a field given twice (under either
//! name) is an error; `null` is the field's default; a string field takes only a string, a map
//! only an object of strings, a repeated field only an array (of non-null elements). An `Any`
//! names its type in `@type` (required unless the object is empty), resolved by the part after
//! the last `/`; a type outside the registry is an error.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use std::fmt;

/// The type of the resources Kuma's MADS serves.
pub const MONITORING_ASSIGNMENT_TYPE_URL: &str =
    "type.googleapis.com/kuma.observability.v1.MonitoringAssignment";
/// The resource type in the endpoint's path (`/v3/discovery:monitoringassignments`).
pub const MONITORING_ASSIGNMENT_RESOURCE: &str = "monitoringassignments";

const MONITORING_ASSIGNMENT: &str = "kuma.observability.v1.MonitoringAssignment";
const DISCOVERY_REQUEST: &str = "envoy.service.discovery.v3.DiscoveryRequest";
const DISCOVERY_RESPONSE: &str = "envoy.service.discovery.v3.DiscoveryResponse";

/// The `DiscoveryRequest` as Prometheus marshals it (`protojson` with proto names: fields in
/// declaration order, empty ones left out).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DiscoveryRequest<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub version_info: &'a str,
    pub node: Node<'a>,
    pub type_url: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub response_nonce: &'a str,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Node<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub id: &'a str,
}

/// A `DiscoveryResponse`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryResponse {
    pub version_info: String,
    pub resources: Vec<Resource>,
    pub type_url: String,
    pub nonce: String,
}

/// One resource (an `Any`): a monitoring assignment, or another type of the registry (which
/// the parser rejects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    Assignment(MonitoringAssignment),
    /// Any other message the registry knows, by its full name (`""` for an empty `Any`).
    Other(String),
}

/// `kuma.observability.v1.MonitoringAssignment`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitoringAssignment {
    pub mesh: String,
    pub service: String,
    pub targets: Vec<Target>,
    /// In document order; later keys replace earlier ones.
    pub labels: Vec<(String, String)>,
}

/// `kuma.observability.v1.MonitoringAssignment.Target`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub scheme: String,
    pub address: String,
    pub metrics_path: String,
    pub labels: Vec<(String, String)>,
}

/// Decodes a `DiscoveryResponse` body.
pub fn parse_response(body: &[u8]) -> Result<DiscoveryResponse, String> {
    let json: Json = serde_json::from_slice(body).map_err(|e| format!("proto: {e}"))?;
    let fields = message(&json, "DiscoveryResponse")?;
    let mut response = DiscoveryResponse::default();
    for (name, value) in fields {
        match name {
            "version_info" => response.version_info = string(value, name)?,
            "resources" => {
                response.resources = list(value, name)?
                    .iter()
                    .map(resource)
                    .collect::<Result<_, _>>()?
            }
            "type_url" => response.type_url = string(value, name)?,
            "nonce" => response.nonce = string(value, name)?,
            _ => {}
        }
    }
    Ok(response)
}

/// The fields of a message object under their proto names; unknown fields dropped; a field
/// named twice is an error.
fn message<'a>(json: &'a Json, what: &str) -> Result<Vec<(&'a str, &'a Json)>, String> {
    let Json::Object(entries) = json else {
        return Err(format!(
            "proto: unexpected token {}, want an object for {what}",
            json.kind()
        ));
    };
    let mut seen: Vec<&str> = Vec::with_capacity(entries.len());
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let Some(name) = proto_name(what, key) else {
            continue;
        };
        if seen.contains(&name) {
            return Err(format!("proto: duplicate field {key:?}"));
        }
        seen.push(name);
        out.push((name, value));
    }
    Ok(out)
}

/// A known field's proto name, from its proto or JSON name.
fn proto_name(message: &str, key: &str) -> Option<&'static str> {
    let fields: &'static [(&'static str, &'static str)] = match message {
        "DiscoveryResponse" => &[
            ("version_info", "versionInfo"),
            ("resources", "resources"),
            ("canary", "canary"),
            ("type_url", "typeUrl"),
            ("nonce", "nonce"),
            ("control_plane", "controlPlane"),
            ("resource_errors", "resourceErrors"),
        ],
        "MonitoringAssignment" => &[
            ("mesh", "mesh"),
            ("service", "service"),
            ("targets", "targets"),
            ("labels", "labels"),
        ],
        "Target" => &[
            ("name", "name"),
            ("scheme", "scheme"),
            ("address", "address"),
            ("metrics_path", "metricsPath"),
            ("labels", "labels"),
        ],
        _ => &[],
    };
    fields
        .iter()
        .find(|(proto, json)| key == *proto || key == *json)
        .map(|(proto, _)| *proto)
}

fn string(value: &Json, field: &str) -> Result<String, String> {
    match value {
        Json::Null => Ok(String::new()),
        Json::String(s) => Ok(s.clone()),
        other => Err(format!(
            "proto: invalid value for string field {field}: {}",
            other.kind()
        )),
    }
}

fn list<'a>(value: &'a Json, field: &str) -> Result<&'a [Json], String> {
    match value {
        Json::Null => Ok(&[]),
        Json::Array(items) => {
            if items.iter().any(|i| matches!(i, Json::Null)) {
                return Err(format!("proto: unexpected token null in list {field}"));
            }
            Ok(items)
        }
        other => Err(format!(
            "proto: invalid value for list field {field}: {}",
            other.kind()
        )),
    }
}

fn string_map(value: &Json, field: &str) -> Result<Vec<(String, String)>, String> {
    match value {
        Json::Null => Ok(Vec::new()),
        Json::Object(entries) => {
            let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let Json::String(v) = value else {
                    return Err(format!(
                        "proto: invalid value for map field {field}: {}",
                        value.kind()
                    ));
                };
                if out.iter().any(|(k, _)| k == key) {
                    return Err(format!("proto: duplicate map key {key:?}"));
                }
                out.push((key.clone(), v.clone()));
            }
            Ok(out)
        }
        other => Err(format!(
            "proto: invalid value for map field {field}: {}",
            other.kind()
        )),
    }
}

/// An `Any`: its `@type` resolved in the registry, the rest decoded as that message.
fn resource(json: &Json) -> Result<Resource, String> {
    let Json::Object(entries) = json else {
        return Err(format!(
            "proto: unexpected token {}, want an object for google.protobuf.Any",
            json.kind()
        ));
    };
    if entries.is_empty() {
        return Ok(Resource::Other(String::new()));
    }
    let mut types = entries.iter().filter(|(k, _)| k == "@type");
    let type_url = match (types.next(), types.next()) {
        (None, _) => return Err("proto: missing \"@type\" field".into()),
        (Some(_), Some(_)) => return Err("proto: duplicate \"@type\" field".into()),
        (Some((_, Json::String(url))), None) => url,
        (Some((_, other)), None) => {
            return Err(format!("proto: invalid @type value: {}", other.kind()))
        }
    };
    let name = type_url.rsplit('/').next().unwrap_or_default();
    match name {
        MONITORING_ASSIGNMENT => {}
        DISCOVERY_REQUEST | DISCOVERY_RESPONSE => return Ok(Resource::Other(name.to_owned())),
        _ => return Err(format!("proto: unable to resolve {type_url:?}: not found")),
    }
    let rest = Json::Object(
        entries
            .iter()
            .filter(|(k, _)| k != "@type")
            .cloned()
            .collect(),
    );
    let mut assignment = MonitoringAssignment::default();
    for (name, value) in message(&rest, "MonitoringAssignment")? {
        match name {
            "mesh" => assignment.mesh = string(value, name)?,
            "service" => assignment.service = string(value, name)?,
            "labels" => assignment.labels = string_map(value, name)?,
            "targets" => {
                assignment.targets = list(value, name)?
                    .iter()
                    .map(target)
                    .collect::<Result<_, _>>()?
            }
            _ => {}
        }
    }
    Ok(Resource::Assignment(assignment))
}

fn target(json: &Json) -> Result<Target, String> {
    let mut target = Target::default();
    for (name, value) in message(json, "Target")? {
        match name {
            "name" => target.name = string(value, name)?,
            "scheme" => target.scheme = string(value, name)?,
            "address" => target.address = string(value, name)?,
            "metrics_path" => target.metrics_path = string(value, name)?,
            "labels" => target.labels = string_map(value, name)?,
            _ => {}
        }
    }
    Ok(target)
}

/// A JSON value that keeps its objects' keys in order, repeated ones included (protojson
/// rejects repeated fields; `serde_json::Value` would keep only one).
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Number => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> de::Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Bool)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}
