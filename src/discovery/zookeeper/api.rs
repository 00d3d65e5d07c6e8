//! The members' JSON as it is stored in the znodes, read as Go's `encoding/json` reads it into
//! Prometheus' `serversetMember` and `nerveMember` structs.
//!
//! Go's rules, kept here: keys match the field names case-insensitively (folding `ſ` to `s` and
//! the Kelvin sign to `k`, as Go does); unknown keys are ignored; `null` leaves a field as it
//! was (and resets a map); a repeated key decodes again into the same field, so a repeated
//! object merges; an `int` takes only an integer literal that fits 64 bits (`8080.0`, `"8080"`
//! and `1e3` are errors); a string takes only a string; a top-level `null` is a member of zero
//! values; bytes that are not UTF-8 read as U+FFFD; anything after the value is an error.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// A serverset member (Twitter's `ServiceInstance` as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServersetMember {
    pub service_endpoint: Endpoint,
    /// `None` when absent or `null` (Go's nil map).
    pub additional_endpoints: Option<BTreeMap<String, Endpoint>>,
    pub status: String,
    pub shard: i64,
}

/// One endpoint of a serverset member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: i64,
}

/// A Nerve member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NerveMember {
    pub host: String,
    pub port: i64,
    pub name: String,
}

/// Decodes a serverset member from a znode's data.
pub fn parse_serverset(data: &[u8]) -> Result<ServersetMember, String> {
    decode(data)
}

/// Decodes a Nerve member from a znode's data.
pub fn parse_nerve(data: &[u8]) -> Result<NerveMember, String> {
    decode(data)
}

fn decode<T: GoStruct>(data: &[u8]) -> Result<T, String> {
    let data = go_utf8(data);
    let mut value = T::default();
    let mut de = serde_json::Deserializer::from_slice(&data);
    InPlace(&mut value)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())?;
    Ok(value)
}

/// Go's key folding for struct fields: ASCII case, `ſ` as `s`, the Kelvin sign as `k`.
fn fold(key: &str) -> Cow<'_, str> {
    if key.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return Cow::Borrowed(key);
    }
    Cow::Owned(
        key.chars()
            .map(|c| match c {
                '\u{17F}' => 's',
                '\u{212A}' => 'k',
                c => c.to_ascii_lowercase(),
            })
            .collect(),
    )
}

/// A Go struct decoded field by field into an existing value.
trait GoStruct: Default {
    const NAME: &'static str;
    /// Decodes the value of `key` (already folded) into its field; unknown keys are skipped.
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

impl GoStruct for ServersetMember {
    const NAME: &'static str = "serverset member";
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "serviceendpoint" => map.next_value_seed(InPlace(&mut self.service_endpoint)),
            "additionalendpoints" => {
                map.next_value_seed(EndpointMap(&mut self.additional_endpoints))
            }
            "status" => map.next_value_seed(GoString(&mut self.status)),
            "shard" => map.next_value_seed(GoInt(&mut self.shard)),
            _ => map.next_value::<IgnoredAny>().map(drop),
        }
    }
}

impl GoStruct for Endpoint {
    const NAME: &'static str = "serverset endpoint";
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "host" => map.next_value_seed(GoString(&mut self.host)),
            "port" => map.next_value_seed(GoInt(&mut self.port)),
            _ => map.next_value::<IgnoredAny>().map(drop),
        }
    }
}

impl GoStruct for NerveMember {
    const NAME: &'static str = "nerve member";
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "host" => map.next_value_seed(GoString(&mut self.host)),
            "port" => map.next_value_seed(GoInt(&mut self.port)),
            "name" => map.next_value_seed(GoString(&mut self.name)),
            _ => map.next_value::<IgnoredAny>().map(drop),
        }
    }
}

/// Decodes a JSON object into an existing struct value (`null` leaves it as it is).
struct InPlace<'a, T>(&'a mut T);

impl<'de, T: GoStruct> DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: GoStruct> Visitor<'de> for InPlace<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} (a JSON object)", T::NAME)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            self.0.field(&fold(&key), &mut map)?;
        }
        Ok(())
    }
}

/// `map[string]serversetEndpoint`: `null` makes it nil; each entry is decoded into a zero
/// endpoint and replaces an earlier entry of the same key.
struct EndpointMap<'a>(&'a mut Option<BTreeMap<String, Endpoint>>);

impl<'de> DeserializeSeed<'de> for EndpointMap<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EndpointMap<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of endpoints (a JSON object)")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let endpoints = self.0.get_or_insert_with(BTreeMap::new);
        while let Some(key) = map.next_key::<String>()? {
            let mut endpoint = Endpoint::default();
            map.next_value_seed(InPlace(&mut endpoint))?;
            endpoints.insert(key, endpoint);
        }
        Ok(())
    }
}

/// A Go `string` field: a JSON string, or `null` (unchanged).
struct GoString<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for GoString<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GoString<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        v.clone_into(self.0);
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        *self.0 = v;
        Ok(())
    }
}

/// A Go `int` field: an integer literal that fits 64 bits, or `null` (unchanged).
struct GoInt<'a>(&'a mut i64);

impl<'de> DeserializeSeed<'de> for GoInt<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GoInt<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        *self.0 = v;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        *self.0 = i64::try_from(v)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"an integer of 64 bits"))?;
        Ok(())
    }
}

/// The data as Go's `encoding/json` reads it: each byte that is not part of valid UTF-8
/// becomes U+FFFD (inside strings Go replaces them; elsewhere they stay syntax errors).
fn go_utf8(data: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(data).is_ok() {
        return Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    for chunk in data.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for _ in chunk.invalid() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
    Cow::Owned(out)
}
