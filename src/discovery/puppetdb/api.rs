//! PuppetDB's `/pdb/query/v4` answer for a resources query, as Prometheus' Go structs read it
//! (unknown fields ignored, `null` as zero), and the request body Prometheus sends.

use serde::{Deserialize, Deserializer};

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One resource of the answer.
#[derive(Debug, Default, Deserialize)]
pub struct Resource {
    #[serde(default, deserialize_with = "nullable")]
    pub certname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub resource: String,
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub title: String,
    #[serde(default, deserialize_with = "nullable")]
    pub exported: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub file: String,
    #[serde(default, deserialize_with = "nullable")]
    pub environment: String,
    #[serde(default, deserialize_with = "nullable")]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// The body Prometheus posts: `{"query":"<query>"}` as Go's `json.Marshal` writes it (`<`,
/// `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX`).
pub fn request_body(query: &str) -> String {
    let json = serde_json::json!({ "query": query }).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}
