//! The XML of the Query protocol services (EC2, RDS, ElastiCache, STS) as serde reads it.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// An EC2 list: `<fooSet><item>...</item>...</fooSet>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Items<T> {
    #[serde(rename = "item", default = "Vec::new")]
    pub item: Vec<T>,
}

/// A Query list of the AWS-wide style: `<Foos><member>...</member></Foos>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Members<T> {
    #[serde(rename = "member", default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Items<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.item.iter()
    }
}

/// Decodes an XML answer; an error names the operation.
pub fn decode<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, String> {
    quick_xml::de::from_reader(body)
        .map_err(|e| format!("operation {operation}: decoding the answer: {e}"))
}

/// An element's text, which may be empty: present-but-empty is `Some("")`, as the Go SDK
/// decodes it (quick-xml reads an empty `Option<String>` as `None`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Text {
    #[serde(rename = "$text", default)]
    pub value: String,
}

/// `deserialize_with` for an `Option<String>` field whose empty element means `Some("")`.
pub fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(d)?.map(|t| t.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct R {
        #[serde(default, deserialize_with = "opt_text")]
        a: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        b: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        c: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        d: Option<String>,
    }

    #[test]
    fn empty_elements_are_empty_strings() {
        let r: R = quick_xml::de::from_str("<R><a></a><b/><c>x &amp; y</c></R>").unwrap();
        assert_eq!(r.a.as_deref(), Some(""));
        assert_eq!(r.b.as_deref(), Some(""));
        assert_eq!(r.c.as_deref(), Some("x & y"));
        assert_eq!(r.d, None);
    }
}
