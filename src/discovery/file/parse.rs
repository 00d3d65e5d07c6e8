//! Reading one file SD file (a JSON or YAML list of target groups) straight into the engine's
//! model, with Prometheus' rules and without an intermediate document tree.
//!
//! Prometheus decodes JSON with `encoding/json` (unknown group keys rejected, a repeated key
//! keeps its last value, `null` reads as empty) and YAML with `yaml.UnmarshalStrict` (unknown
//! keys and repeated keys rejected, scalars taken as their text). A `null` group is an error
//! ("nil target group item found"), label names must be valid (3.x: non-empty UTF-8), and every
//! group gets `__meta_filepath` set to the file's path, replacing any such label in the file.
//! Group `i` of file `f` has source `f:i`.
//!
//! Errors carry the line and column serde reports, so a log names the file and the spot.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use promsd_actors::{LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The label Prometheus' file SD adds to every group: the path of the file it came from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// How a file is decoded, chosen by its extension (case-insensitive, as Prometheus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    pub(crate) fn of(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.')?.1;
        if ext.contains('/') {
            return None;
        }
        match ext.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "yml" | "yaml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// Why a file's content is not a list of target groups, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) message: String,
    /// 1-based line and column of the error, when the decoder knows them.
    pub(crate) position: Option<(usize, usize)>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        let position = (e.line() > 0).then(|| (e.line(), e.column()));
        ParseError {
            message: e.to_string(),
            position,
        }
    }
}

impl From<serde_yaml::Error> for ParseError {
    fn from(e: serde_yaml::Error) -> Self {
        ParseError {
            position: e.location().map(|l| (l.line(), l.column())),
            message: e.to_string(),
        }
    }
}

/// Decodes `content` as the target groups of the file at `path`.
pub(crate) fn parse_groups(
    content: &[u8],
    format: Format,
    path: &str,
) -> Result<Vec<TargetGroup>, ParseError> {
    parse_groups_from(content, format, path, FILEPATH_LABEL)
}

/// Decodes `content` as target groups that came from `origin` (a file's path, HTTP SD's
/// URL): group `i` gets the source `origin:i` and the label `origin_label` = `origin`,
/// replacing any such label in the content. Prometheus' HTTP SD reads its body with the
/// same `json.Unmarshal` into `[]*targetgroup.Group` as file SD reads a JSON file.
pub(crate) fn parse_groups_from(
    content: &[u8],
    format: Format,
    origin: &str,
    origin_label: &str,
) -> Result<Vec<TargetGroup>, ParseError> {
    let path = origin;
    let ctx = Ctx {
        strict: format == Format::Yaml,
        address: Name::new(ADDRESS_LABEL),
        filepath_name: Name::new(origin_label),
        filepath: Arc::from(path),
    };
    let groups = match format {
        Format::Json => {
            let content = go_utf8(content);
            let mut de = serde_json::Deserializer::from_slice(&content);
            let groups = ListSeed(&ctx).deserialize(&mut de)?;
            de.end()?;
            groups
        }
        // go-yaml reads the first document of a stream and ignores the rest.
        Format::Yaml => match serde_yaml::Deserializer::from_slice(content).next() {
            Some(document) => ListSeed(&ctx).deserialize(document)?,
            None => Vec::new(),
        },
    };
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, mut g)| {
            g.source = source(path, i);
            g
        })
        .collect())
}

/// The content as Go's `encoding/json` reads it: each byte that is not part of valid UTF-8
/// becomes U+FFFD (Go replaces them inside strings; outside strings they stay syntax errors).
/// serde_json would reject the whole document instead. Valid content is borrowed as is.
fn go_utf8(content: &[u8]) -> Cow<'_, [u8]> {
    let mut rest = match std::str::from_utf8(content) {
        Ok(_) => return Cow::Borrowed(content),
        Err(_) => content,
    };
    let mut out = Vec::with_capacity(content.len() + 16);
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.as_bytes());
                return Cow::Owned(out);
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(valid);
                // Go's decoder gives up on one byte at a time.
                let invalid = e.error_len().unwrap_or(after.len());
                for _ in 0..invalid {
                    out.extend_from_slice(
                        char::REPLACEMENT_CHARACTER
                            .encode_utf8(&mut [0; 4])
                            .as_bytes(),
                    );
                }
                rest = &after[invalid..];
            }
        }
    }
}

/// The source of group `index` of the file at `path`.
pub(crate) fn source(path: &str, index: usize) -> Str {
    Arc::from(format!("{path}:{index}"))
}

struct Ctx {
    /// YAML's strict mode: repeated keys are errors (JSON keeps the last).
    strict: bool,
    address: Name,
    filepath_name: Name,
    filepath: Str,
}

/// The whole file: a list of groups, or nothing (`null`, an empty YAML document).
struct ListSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<TargetGroup>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<TargetGroup>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of target groups")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut groups = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(group) = seq.next_element_seed(GroupSeed(self.0))? {
            groups.push(group);
        }
        Ok(groups)
    }
}

/// One group: `{targets: [...], labels: {...}}`.
struct GroupSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for GroupSeed<'_> {
    type Value = TargetGroup;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Targets,
    Labels,
    /// YAML's merge key `<<`.
    Merge,
}

const FIELDS: &[&str] = &["targets", "labels"];

/// A group's key. YAML (go-yaml) matches keys exactly; Go's `encoding/json` also takes a
/// key that equals a field's name but for case (`"Targets"`, `"LABELS"`), folding as Go does
/// (so `ſ` reads as `s` and the Kelvin sign as `k`).
struct FieldSeed {
    strict: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        let key = <Cow<'de, str> as de::Deserialize>::deserialize(d)?;
        let folded: Cow<'_, str> = if self.strict {
            Cow::Borrowed(&*key)
        } else {
            Cow::Owned(
                key.chars()
                    .map(|c| match c {
                        '\u{17F}' => 's',
                        '\u{212A}' => 'k',
                        c => c.to_ascii_lowercase(),
                    })
                    .collect(),
            )
        };
        match &*folded {
            "<<" if self.strict => Ok(Field::Merge),
            "targets" => Ok(Field::Targets),
            "labels" => Ok(Field::Labels),
            _ => Err(de::Error::unknown_field(&key, FIELDS)),
        }
    }
}

impl<'de> Visitor<'de> for GroupSeed<'_> {
    type Value = TargetGroup;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a target group (a map with `targets` and `labels`)")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom("nil target group item found"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let Fields { targets, labels } = group_fields(ctx, map)?;
        let mut labels = labels.unwrap_or_default();
        match labels.iter_mut().find(|(n, _)| *n == ctx.filepath_name) {
            Some(pair) => pair.1 = ctx.filepath.clone(),
            None => labels.push((ctx.filepath_name.clone(), ctx.filepath.clone())),
        }
        labels.sort_unstable_by_key(|a| a.0.clone());
        Ok(TargetGroup {
            source: ctx.filepath.clone(),
            targets: targets.unwrap_or_default(),
            labels: LabelSet::from_sorted(labels),
        })
    }
}

/// The fields of a group as read so far.
#[derive(Default)]
struct Fields {
    targets: Option<Vec<LabelSet>>,
    labels: Option<Vec<(Name, Str)>>,
}

/// Reads a group's keys. A YAML merge key (`<<: *base`, or a list of such) sets the fields
/// its mappings hold, as go-yaml decodes a merge into the struct being filled: where a field
/// is set twice, the later wins (an explicit key even when repeated next to a merge; strict
/// mode rejects a key repeated explicitly).
fn group_fields<'de, A: MapAccess<'de>>(ctx: &Ctx, mut map: A) -> Result<Fields, A::Error> {
    let mut fields = Fields::default();
    let mut seen = [false; 2];
    while let Some(field) = map.next_key_seed(FieldSeed { strict: ctx.strict })? {
        match field {
            Field::Merge => {
                for merged in map.next_value_seed(MergeSeed(GroupFieldsReader(ctx)))? {
                    if merged.targets.is_some() {
                        fields.targets = merged.targets;
                    }
                    if merged.labels.is_some() {
                        fields.labels = merged.labels;
                    }
                }
                continue;
            }
            Field::Targets | Field::Labels => {}
        }
        if seen[field as usize] && ctx.strict {
            let name = FIELDS[field as usize];
            return Err(de::Error::custom(format!(
                "mapping key {name:?} already defined"
            )));
        }
        seen[field as usize] = true;
        match field {
            Field::Targets => fields.targets = Some(map.next_value_seed(TargetsSeed(ctx))?),
            Field::Labels => fields.labels = Some(map.next_value_seed(LabelsSeed(ctx))?),
            Field::Merge => unreachable!("handled above"),
        }
    }
    Ok(fields)
}

/// Reads one mapping into a value: what a merge key's mappings are read with.
trait MapReader<'de>: Copy {
    type Out;
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
    fn expecting(self) -> &'static str;
}

/// Reads a group's fields.
#[derive(Clone, Copy)]
struct GroupFieldsReader<'c>(&'c Ctx);

impl<'de> MapReader<'de> for GroupFieldsReader<'_> {
    type Out = Fields;
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Fields, A::Error> {
        group_fields(self.0, map)
    }
    fn expecting(self) -> &'static str {
        "a target group to merge"
    }
}

/// Reads a label map.
#[derive(Clone, Copy)]
struct LabelsReader<'c>(&'c Ctx);

impl<'de> MapReader<'de> for LabelsReader<'_> {
    type Out = Vec<(Name, Str)>;
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error> {
        LabelsSeed(self.0).visit_map(map)
    }
    fn expecting(self) -> &'static str {
        "labels to merge"
    }
}

/// The value of a YAML merge key: a mapping, or a list of mappings. The list comes back
/// last-first: go-yaml applies it backwards, so that the earlier mappings win.
struct MergeSeed<R>(R);

impl<'de, R: MapReader<'de>> DeserializeSeed<'de> for MergeSeed<R> {
    type Value = Vec<R::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: MapReader<'de>> Visitor<'de> for MergeSeed<R> {
    type Value = Vec<R::Out>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} (a mapping or a list of mappings)",
            self.0.expecting()
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(vec![self.0.read(map)?])
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(one) = seq.next_element_seed(OneMap(self.0))? {
            out.push(one);
        }
        out.reverse();
        Ok(out)
    }
}

/// One mapping of a merge list.
struct OneMap<R>(R);

impl<'de, R: MapReader<'de>> DeserializeSeed<'de> for OneMap<R> {
    type Value = R::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, R: MapReader<'de>> Visitor<'de> for OneMap<R> {
    type Value = R::Out;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.expecting())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.read(map)
    }
}

/// `targets`: a list of addresses, each becoming a target with only `__address__`.
struct TargetsSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for TargetsSeed<'_> {
    type Value = Vec<LabelSet>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TargetsSeed<'_> {
    type Value = Vec<LabelSet>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of target addresses")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut targets = Vec::with_capacity(seq.size_hint().unwrap_or(8));
        while let Some(address) = seq.next_element_seed(ValueSeed)? {
            targets.push(LabelSet::from_sorted(vec![(
                self.0.address.clone(),
                address,
            )]));
        }
        // Held as long as the group is: no room to spare.
        targets.shrink_to_fit();
        Ok(targets)
    }
}

/// `labels`: a map of valid label names to string values.
struct LabelsSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for LabelsSeed<'_> {
    type Value = Vec<(Name, Str)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for LabelsSeed<'_> {
    type Value = Vec<(Name, Str)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of label names to label values")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs: Vec<(Name, Str)> = Vec::with_capacity(map.size_hint().unwrap_or(4) + 1);
        let strict = self.0.strict;
        let set = |pairs: &mut Vec<(Name, Str)>, name: Name, value: Str| match pairs
            .iter_mut()
            .find(|(n, _)| *n == name)
        {
            Some(_) if strict => Err(de::Error::custom(format!(
                "mapping key {:?} already defined",
                &*name
            ))),
            Some(pair) => {
                pair.1 = value;
                Ok(())
            }
            None => {
                pairs.push((name, value));
                Ok(())
            }
        };
        while let Some(name) = map.next_key_seed(NameSeed)? {
            // YAML's merge key: go-yaml sets the merged labels into the same map, so in strict
            // mode a label both merged and written out is an error, as a repeated one is.
            if strict && &*name == "<<" {
                for merged in map.next_value_seed(MergeSeed(LabelsReader(self.0)))? {
                    for (name, value) in merged {
                        set(&mut pairs, name, value)?;
                    }
                }
                continue;
            }
            let value = map.next_value_seed(ValueSeed)?;
            set(&mut pairs, name, value)?;
        }
        Ok(pairs)
    }
}

/// A label name: valid as Prometheus 3.x judges (non-empty UTF-8), interned.
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Name;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let name = ValueSeed.deserialize(d)?;
        if name.is_empty() {
            return Err(de::Error::custom(format!(
                "{:?} is not a valid label name",
                &*name
            )));
        }
        Ok(Name::new(&name))
    }
}

/// A string; `null` reads as empty and YAML scalars as their text, as in Prometheus.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Arc::from(""))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Arc::from(""))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Arc::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promsd_actors::model::labels_map;

    const PATH: &str = "/sd/targets.json";

    fn parse(content: &str, format: Format) -> Result<Vec<TargetGroup>, ParseError> {
        parse_groups(content.as_bytes(), format, PATH)
    }

    fn addresses(group: &TargetGroup) -> Vec<&str> {
        group
            .targets
            .iter()
            .map(|t| t.get(ADDRESS_LABEL).unwrap())
            .collect()
    }

    #[test]
    fn json_groups_get_sources_and_filepath_label() {
        let groups = parse(
            r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod", "__meta_filepath": "x"}},
                {"targets": ["c:3"]}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(&*groups[0].source, "/sd/targets.json:0");
        assert_eq!(&*groups[1].source, "/sd/targets.json:1");
        assert_eq!(addresses(&groups[0]), ["a:1", "b:2"]);
        assert_eq!(
            labels_map(&groups[0].labels),
            [("__meta_filepath", PATH), ("env", "prod")]
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect()
        );
        assert_eq!(groups[1].labels.get(FILEPATH_LABEL), Some(PATH));
        // Names are interned: one copy serves every group.
        assert_eq!(
            groups[0].labels.pairs()[0].0.addr(),
            groups[1].labels.pairs()[0].0.addr()
        );
    }

    #[test]
    fn json_follows_go_encoding_json() {
        // null file, null targets and labels, null strings: empty.
        assert!(parse("null", Format::Json).unwrap().is_empty());
        let g = parse(
            r#"[{"targets": null, "labels": null}, {"targets": [null], "labels": {"a": null}}]"#,
            Format::Json,
        )
        .unwrap();
        assert!(g[0].targets.is_empty());
        assert_eq!(addresses(&g[1]), [""]);
        assert_eq!(g[1].labels.get("a"), Some(""));
        // A repeated key keeps its last value.
        let g = parse(
            r#"[{"targets": ["x:1"], "targets": ["y:1"], "labels": {"a": "1", "a": "2"}}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(addresses(&g[0]), ["y:1"]);
        assert_eq!(g[0].labels.get("a"), Some("2"));
        // Keys match case-insensitively, as Go's encoding/json matches struct fields (the
        // last of two spellings wins); YAML keys match exactly.
        let g = parse(
            r#"[{"Targets": ["x:1"], "TARGETS": ["y:1"], "LaBeLs": {"a": "1"}},
                {"targetſ": ["z:1"], "labels": {"A": "2"}}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(addresses(&g[0]), ["y:1"]);
        assert_eq!(g[0].labels.get("a"), Some("1"));
        assert_eq!(addresses(&g[1]), ["z:1"]);
        assert_eq!(g[1].labels.get("A"), Some("2"));
        assert!(parse("- Targets: [a:1]\n", Format::Yaml)
            .unwrap_err()
            .message
            .contains("unknown field `Targets`"));
        // Bytes that are not UTF-8 read as U+FFFD, one per byte, as in Go.
        let g = parse_groups(
            b"[{\"targets\": [\"a\xff:1\"], \"labels\": {\"k\": \"\xe2\x82A\"}}]",
            Format::Json,
            PATH,
        )
        .unwrap();
        assert_eq!(addresses(&g[0]), ["a\u{FFFD}:1"]);
        assert_eq!(g[0].labels.get("k"), Some("\u{FFFD}\u{FFFD}A"));
        assert!(parse_groups(b"[\xff]", Format::Json, PATH).is_err());
        // UTF-8 label names are valid in 3.x.
        let g = parse(
            r#"[{"targets": [], "labels": {"ünïcode.name": "v"}}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(g[0].labels.get("ünïcode.name"), Some("v"));
    }

    #[test]
    fn json_errors_name_the_problem_and_position() {
        let cases = [
            ("", "EOF while parsing"),
            (r#"[{"targets": ["a:1"]"#, "EOF while parsing"),
            ("[null]", "nil target group item found"),
            (r#"[{"targets": [], "extra": 1}]"#, "unknown field `extra`"),
            (
                r#"[{"targets": [], "labels": {"": "v"}}]"#,
                r#""" is not a valid label name"#,
            ),
            (r#"[{"targets": [1]}]"#, "invalid type: integer `1`"),
            (r#"{"targets": []}"#, "invalid type: map"),
            ("[] trailing", "trailing characters"),
        ];
        for (content, want) in cases {
            let err = parse(content, Format::Json).unwrap_err();
            assert!(err.message.contains(want), "{content:?}: {err}");
            assert!(err.position.is_some(), "{content:?}: no position");
        }
        let err = parse("[\n  {\"targets\": [],\n   \"bad\": 1}]", Format::Json).unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(3));
    }

    #[test]
    fn yaml_follows_go_yaml_strict() {
        let g = parse(
            "- targets: ['a:1', 8080]\n  labels:\n    port: 9100\n    up: true\n    empty:\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(addresses(&g[0]), ["a:1", "8080"]);
        assert_eq!(g[0].labels.get("port"), Some("9100"));
        assert_eq!(g[0].labels.get("up"), Some("true"));
        assert_eq!(g[0].labels.get("empty"), Some(""));
        // Only the first document of a stream counts, as in go-yaml.
        let g = parse("- targets: [a:1]\n---\n- targets: [b:1]\n", Format::Yaml).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(addresses(&g[0]), ["a:1"]);
        assert!(parse("---\n", Format::Yaml).unwrap().is_empty());
        // Merge keys, in groups and in labels.
        let g = parse(
            "- targets: [a:1]\n  labels: &common {env: prod, team: db}\n\
             - <<: {labels: *common}\n  targets: [b:1]\n\
             - targets: [c:1]\n  labels: {<<: [*common, {zone: z}], extra: x}\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(addresses(&g[1]), ["b:1"]);
        assert_eq!(g[1].labels.get("team"), Some("db"));
        assert_eq!(g[2].labels.get("env"), Some("prod"));
        assert_eq!(g[2].labels.get("zone"), Some("z"));
        assert_eq!(g[2].labels.get("extra"), Some("x"));
        // go-yaml's strict mode: a label merged and also written out, or merged twice, is a
        // repeated key.
        assert!(parse(
            "- targets: [a]\n  labels: &c {env: prod}\n- targets: [b]\n  labels: {<<: [*c, {env: dev}]}\n",
            Format::Yaml
        )
        .is_err());
        assert!(parse(
            "- targets: [a]\n  labels: &c {env: prod}\n- targets: [b]\n  labels: {<<: *c, env: dev}\n",
            Format::Yaml
        )
        .unwrap_err()
        .message
        .contains("\"env\" already defined"));
        // JSON has no merge key.
        assert!(parse(r#"[{"<<": {"targets": ["a"]}}]"#, Format::Json).is_err());
        // An empty document is an empty list.
        assert!(parse("", Format::Yaml).unwrap().is_empty());
        assert!(parse("# nothing\n", Format::Yaml).unwrap().is_empty());

        let cases = [
            ("- targets: [a:1]\n  extra: 1\n", "unknown field `extra`"),
            (
                "- targets: [a:1]\n  targets: [b:1]\n",
                "\"targets\" already defined",
            ),
            ("- labels: {a: 1, a: 2}\n", "\"a\" already defined"),
            ("- null\n", "nil target group item found"),
            ("- targets: ['a:1'\n", "did not find expected"),
            ("- labels: {'': x}\n", r#""" is not a valid label name"#),
            ("targets: []\n", "invalid type: map"),
        ];
        for (content, want) in cases {
            let err = parse(content, Format::Yaml).unwrap_err();
            assert!(err.message.contains(want), "{content:?}: {err}");
            assert!(err.position.is_some(), "{content:?}: no position");
        }
    }

    #[test]
    fn format_follows_the_extension_case_insensitively() {
        assert_eq!(Format::of("/a/b.json"), Some(Format::Json));
        assert_eq!(Format::of("/a/b.JSON"), Some(Format::Json));
        assert_eq!(Format::of("b.yml"), Some(Format::Yaml));
        assert_eq!(Format::of("b.YAML"), Some(Format::Yaml));
        assert_eq!(Format::of("/a.json/b"), None);
        assert_eq!(Format::of("/a/b.txt"), None);
    }
}
