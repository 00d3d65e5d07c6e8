//! The targets Prometheus makes of PuppetDB resources: one group (source
//! `<url>/pdb/query/v4?query=<query>`) with one target per resource:
//! - `__address__`: `<certname>:<port>`;
//! - `__meta_puppetdb_query`, `_certname`, `_resource`, `_type`, `_title`, `_exported`
//!   (`true`/`false`), `_file`, `_environment`; `_tags` (`,a,b,`) when there are tags;
//! - with `include_parameters`, `__meta_puppetdb_parameter_<name>` per parameter, printed as Go
//!   prints the decoded JSON (see [`parameter_labels`]).

use promsd_actors::{LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
use serde_json::{Map, Value};

use super::api::Resource;
use crate::discovery::kit::join_host_port;
use crate::discovery::kit::sanitize_label_name;

/// The one group of an answer.
pub fn group(
    source: &str,
    query: &str,
    port: i64,
    include_parameters: bool,
    resources: &[Resource],
) -> TargetGroup {
    let query: Str = Str::from(query);
    let targets = resources
        .iter()
        .map(|r| {
            let mut labels: Vec<(Name, Str)> = Vec::with_capacity(12);
            let mut put =
                |name: &str, value: &str| labels.push((Name::new(name), Str::from(value)));
            put("__meta_puppetdb_certname", &r.certname);
            put("__meta_puppetdb_resource", &r.resource);
            put("__meta_puppetdb_type", &r.kind);
            put("__meta_puppetdb_title", &r.title);
            put(
                "__meta_puppetdb_exported",
                if r.exported { "true" } else { "false" },
            );
            put("__meta_puppetdb_file", &r.file);
            put("__meta_puppetdb_environment", &r.environment);
            // Go prints the port as an unsigned number.
            put(ADDRESS_LABEL, &join_host_port(&r.certname, port as u64));
            if !r.tags.is_empty() {
                put("__meta_puppetdb_tags", &format!(",{},", r.tags.join(",")));
            }
            if include_parameters {
                for (name, value) in parameter_labels(&r.parameters) {
                    put(&format!("__meta_puppetdb_parameter_{name}"), &value);
                }
            }
            labels.push((Name::new("__meta_puppetdb_query"), query.clone()));
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(source, targets, LabelSet::new())
}

/// Prometheus' `Parameters.toLabels`: strings as they are, booleans `true`/`false`, numbers as
/// Go's `FormatFloat(f, 'g', -1, 64)`, arrays as their elements so printed joined by `,` (an
/// element that is itself an array, an object or null prints empty), objects flattened into
/// `<name>_<key>` labels; empty values, empty arrays and nulls give no label. Names are
/// sanitized (`[^a-zA-Z0-9_]` to `_`).
pub fn parameter_labels(parameters: &Map<String, Value>) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    for (key, value) in parameters {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
            Value::Array(items) => {
                if items.is_empty() {
                    continue;
                }
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
                        _ => String::new(),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }
            Value::Object(sub) => {
                let prefix = sanitize_label_name(&format!("{key}_"));
                for (name, value) in parameter_labels(sub) {
                    labels.push((format!("{prefix}{name}"), value));
                }
                continue;
            }
            Value::Null => continue,
        };
        if text.is_empty() {
            continue;
        }
        labels.push((sanitize_label_name(key), text));
    }
    labels
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that read back as `f`, in
/// `%e` form (`1e+06`, `1.5e-07`) when the exponent is below -4 or at least 6.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1;
    let n = digits.len() as i32;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}", "0".repeat((point - n) as usize))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}
