//! Table tests: every action and every load-time validation error, with cases ported from
//! Prometheus' `model/relabel/relabel_test.go` and `scrape/target_test.go` (as YAML data), plus
//! the Go-semantics corners (empty values, `$1x`, case mapping, anchoring).

use promsd_actors::model::LabelSet;

use super::*;

/// Rules from YAML list items written one per line (indentation is ignored).
fn rules(yaml: &str) -> Vec<RelabelConfig> {
    let yaml: Vec<&str> = yaml.lines().map(str::trim_start).collect();
    let yaml = yaml.join("\n");
    serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("rules {yaml}: {e}"))
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

/// (description, input, rules, expected output or `None` when dropped).
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    Option<&'static [(&'static str, &'static str)]>,
);

const CASES: &[Case] = &[
    (
        "replace with ${1} twice",
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}",
        Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")]),
    ),
    (
        "chained replaces over joined sources",
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: 'b${1}${2}m'}
         - {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, replacement: '$1$2$2$3'}",
        Some(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")]),
    ),
    (
        "drop stops the chain",
        &[("a", "foo")],
        "- {source_labels: [a], regex: '.*o.*', action: drop}
         - {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1-ch$1'}",
        None,
    ),
    (
        "replace with a middle group",
        &[("a", "abc")],
        "- {source_labels: [a], regex: '.*(b).*', target_label: d}",
        Some(&[("a", "abc"), ("d", "b")]),
    ),
    (
        "drop with other labels present",
        &[("a", "foo"), ("b", "bar")],
        "- {source_labels: [a], regex: '.*o.*', action: drop}",
        None,
    ),
    (
        "drop without a match keeps",
        &[("a", "foo")],
        "- {source_labels: [a], regex: no-match, action: drop}",
        Some(&[("a", "foo")]),
    ),
    (
        "drop regex is anchored: f|o does not match foo",
        &[("a", "foo")],
        "- {source_labels: [a], regex: 'f|o', action: drop}",
        Some(&[("a", "foo")]),
    ),
    (
        "keep without a match drops",
        &[("a", "foo")],
        "- {source_labels: [a], regex: no-match, action: keep}",
        None,
    ),
    (
        "keep with a match keeps",
        &[("a", "foo")],
        "- {source_labels: [a], regex: 'f.*', action: keep}",
        Some(&[("a", "foo")]),
    ),
    (
        "no replacement without a match",
        &[("a", "boo")],
        "- {source_labels: [a], regex: f, target_label: b, replacement: bar}",
        Some(&[("a", "boo")]),
    ),
    (
        "blank replacement deletes the target label",
        &[("a", "foo"), ("f", "baz")],
        "- {source_labels: [a], regex: '(f).*', target_label: '$1', replacement: '$2'}",
        Some(&[("a", "foo")]),
    ),
    (
        "hashmod of a value",
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [c], target_label: d, action: hashmod, modulus: 1000}",
        Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")]),
    ),
    (
        "hashmod of a value with a newline",
        &[("a", "foo\nbar")],
        "- {source_labels: [a], target_label: b, action: hashmod, modulus: 1000}",
        Some(&[("a", "foo\nbar"), ("b", "734")]),
    ),
    (
        "labelmap with a prefix in the replacement",
        &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
        "- {regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}",
        Some(&[("a", "foo"), ("b1", "bar"), ("b2", "baz"), ("bar_b1", "bar"), ("bar_b2", "baz")]),
    ),
    (
        "labelmap of meta labels",
        &[("a", "foo"), ("__meta_my_bar", "aaa"), ("__meta_my_baz", "bbb"), ("__meta_other", "ccc")],
        "- {regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}",
        Some(&[
            ("a", "foo"),
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("__meta_other", "ccc"),
            ("my_bar", "aaa"),
            ("my_baz", "bbb"),
        ]),
    ),
    (
        "target label from a group",
        &[("a", "some-name-value")],
        "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', target_label: '${1}'}",
        Some(&[("a", "some-name-value"), ("name", "value")]),
    ),
    (
        "replacement from a missing group is empty: nothing set",
        &[("a", "some-name-value")],
        "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', target_label: '${1}'}",
        Some(&[("a", "some-name-value")]),
    ),
    (
        "target label from a missing group is empty: rule skipped",
        &[("a", "some-name-0")],
        "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}'}
         - {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}'}
         - {source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', target_label: '${3}'}",
        Some(&[("a", "some-name-0")]),
    ),
    (
        "real-life tag parsing",
        &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
        "- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', replacement: '${1}', target_label: __metrics_path__}
         - {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', replacement: '${1}', target_label: job}
         - {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', replacement: '${2}', target_label: '${1}'}",
        Some(&[
            ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
            ("__metrics_path__", "/secret"),
            ("job", "some-job"),
            ("foo", "bar"),
        ]),
    ),
    (
        "prometheus issue 12283: labeldrop then replace then keep",
        &[
            ("__meta_kubernetes_pod_container_port_name", "foo"),
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
        ],
        "- {regex: '^__meta_kubernetes_pod_container_port_name$', action: labeldrop}
         - {source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: '(.+)', replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name}
         - {source_labels: [__meta_kubernetes_pod_container_port_name], regex: '^metrics$', action: keep}",
        Some(&[
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
            ("__meta_kubernetes_pod_container_port_name", "metrics"),
        ]),
    ),
    (
        "labelkeep",
        &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
        "- {regex: '(b.*)', action: labelkeep}",
        Some(&[("b1", "bar"), ("b2", "baz")]),
    ),
    (
        "labeldrop",
        &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
        "- {regex: '(b.*)', action: labeldrop}",
        Some(&[("a", "foo")]),
    ),
    (
        "uppercase and lowercase",
        &[("foo", "bAr123Foo")],
        "- {source_labels: [foo], action: uppercase, target_label: foo_uppercase}
         - {source_labels: [foo], action: lowercase, target_label: foo_lowercase}",
        Some(&[("foo", "bAr123Foo"), ("foo_lowercase", "bar123foo"), ("foo_uppercase", "BAR123FOO")]),
    ),
    (
        "case mapping is Go's simple mapping",
        &[("v", "Straße İ")],
        "- {source_labels: [v], action: uppercase, target_label: up}
         - {source_labels: [v], action: lowercase, target_label: low}",
        Some(&[("v", "Straße İ"), ("up", "STRAßE İ"), ("low", "straße i")]),
    ),
    (
        "lowercase of an empty value deletes the target",
        &[("t", "x")],
        "- {source_labels: [missing], action: lowercase, target_label: t}",
        Some(&[]),
    ),
    (
        "keepequal keeps on equal",
        &[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")],
        "- {source_labels: [__tmp_port], action: keepequal, target_label: __port1}",
        Some(&[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")]),
    ),
    (
        "dropequal drops on equal",
        &[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")],
        "- {source_labels: [__tmp_port], action: dropequal, target_label: __port1}",
        None,
    ),
    (
        "dropequal keeps on different",
        &[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")],
        "- {source_labels: [__tmp_port], action: dropequal, target_label: __port2}",
        Some(&[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")]),
    ),
    (
        "keepequal drops on different",
        &[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")],
        "- {source_labels: [__tmp_port], action: keepequal, target_label: __port2}",
        None,
    ),
    (
        "keepequal: a missing label equals an empty value",
        &[("a", "1")],
        "- {source_labels: [missing], action: keepequal, target_label: also_missing}",
        Some(&[("a", "1")]),
    ),
    (
        "dot matches a newline (3.x)",
        &[("a", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a], regex: 'line1.*line2', target_label: d, replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("d", "match")]),
    ),
    (
        "UTF-8 source and target label names",
        &[("utf-8.label", "line1\nline2")],
        "- {source_labels: [utf-8.label], regex: 'line1.*line2', target_label: 'utf-8.target', replacement: 'match'}",
        Some(&[("utf-8.label", "line1\nline2"), ("utf-8.target", "match")]),
    ),
    (
        "UTF-8 source label name",
        &[("utf-8.label", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [utf-8.label], regex: 'line1.*line2', target_label: d, replacement: 'match${1}'}",
        Some(&[("utf-8.label", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("d", "match")]),
    ),
    (
        "UTF-8 target label name",
        &[("a", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a], regex: 'line1.*line2', target_label: utf-8.label, replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("utf-8.label", "match")]),
    ),
    (
        "UTF-8 target label name with a reference to a missing group",
        &[("a", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a], regex: 'line1.*line2', target_label: 'utf-8.label${1}', replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("utf-8.label", "match")]),
    ),
    (
        "target and replacement with $1, ${1}, $name and ${name}",
        &[("a", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', replacement: 'val_${second}'}
         - {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', replacement: 'val_$second'}",
        Some(&[
            ("a", "line1\nline2"),
            ("b", "bar"),
            ("c", "baz"),
            ("label1_line1", "val_line2"),
            ("label2_line1", "val_line2"),
        ]),
    ),
    (
        "__type__ from the metric name (a $ inside the anchored regex)",
        &[("__name__", "http_requests_total")],
        "- {source_labels: [__name__], regex: '.*_total$', target_label: __type__, replacement: counter}",
        Some(&[("__name__", "http_requests_total"), ("__type__", "counter")]),
    ),
    (
        "__unit__ from the metric name",
        &[("__name__", "disk_usage_bytes")],
        "- {source_labels: [__name__], regex: '.*_bytes$', target_label: __unit__, replacement: bytes}",
        Some(&[("__name__", "disk_usage_bytes"), ("__unit__", "bytes")]),
    ),
    (
        "static label pair without sources (the fast path)",
        &[("job", "foo")],
        "- {replacement: wwwwww, target_label: wwwwww}
         - {source_labels: [something], target_label: with_source_labels, replacement: value}
         - {replacement: dropped, target_label: '${0}'}
         - {replacement: '${0}', target_label: dropped}",
        Some(&[("job", "foo"), ("wwwwww", "wwwwww"), ("with_source_labels", "value")]),
    ),
    (
        "empty replacement on an empty value deletes via the fast path",
        &[("a", "x"), ("t", "old")],
        "- {target_label: t, replacement: ''}",
        Some(&[("a", "x")]),
    ),
    (
        "$1x names group 1x, which does not exist",
        &[("a", "v")],
        "- {source_labels: [a], regex: '(v)', target_label: b, replacement: '$1x'}
         - {source_labels: [a], regex: '(v)', target_label: c, replacement: '${1}x'}
         - {source_labels: [a], regex: '(v)', target_label: d, replacement: '$$1 $'}",
        Some(&[("a", "v"), ("c", "vx"), ("d", "$1 $")]),
    ),
    (
        "named groups in replacement",
        &[("a", "k=v")],
        "- {source_labels: [a], regex: '(?P<key>[^=]+)=(?<val>.*)', target_label: '$key', replacement: '${val}!'}",
        Some(&[("a", "k=v"), ("k", "v!")]),
    ),
    (
        "\\d is ASCII: Arabic-Indic digits do not match",
        &[("a", "٣")],
        "- {source_labels: [a], regex: '\\d+', action: drop}",
        Some(&[("a", "٣")]),
    ),
    (
        "empty regex matches only the empty value",
        &[("a", "x")],
        "- {source_labels: [missing], regex: '', target_label: empty_matched, replacement: yes}
         - {source_labels: [a], regex: '', target_label: x_matched, replacement: yes}",
        Some(&[("a", "x"), ("empty_matched", "yes")]),
    ),
    (
        "null regex is the empty regex",
        &[("a", "x")],
        "- {source_labels: [a], regex: null, action: keep}",
        None,
    ),
    (
        "separator joins several sources, missing ones empty",
        &[("a", "1"), ("c", "3")],
        "- {source_labels: [a, b, c], separator: '/', regex: '1//3', action: keep}",
        Some(&[("a", "1"), ("c", "3")]),
    ),
    (
        "labelmap sees the labels as they were when it started",
        &[("a", "1"), ("x_a", "2")],
        "- {regex: '(.*)', replacement: 'x_$1', action: labelmap}",
        Some(&[("a", "1"), ("x_a", "1"), ("x_x_a", "2")]),
    ),
    (
        "action names are case-insensitive",
        &[("a", "1")],
        "- {source_labels: [a], regex: '1', action: Drop}",
        None,
    ),
];

#[test]
fn every_case_relabels_as_prometheus() {
    for (name, input, yaml, expected) in CASES {
        let got = relabel(&rules(yaml), &labels(input));
        match expected {
            Some(out) => assert_eq!(got.as_ref().ok(), Some(&labels(out)), "{name}"),
            None => assert!(got.is_err(), "{name}: expected a drop, got {got:?}"),
        }
    }
}

#[test]
fn every_action_is_covered_by_a_case() {
    for action in Action::ALL {
        assert!(
            CASES
                .iter()
                .any(|(_, _, yaml, _)| rules(yaml).iter().any(|r| r.action() == action)),
            "{action} has no case"
        );
    }
}

#[test]
fn dropped_names_the_rule() {
    let rs = rules(
        "- {target_label: a, replacement: x}
         - {source_labels: [a], regex: x, action: drop}",
    );
    assert_eq!(relabel(&rs, &labels(&[])), Err(Dropped { rule: 1 }));
}

#[test]
fn steps_show_each_rule_and_stop_at_the_drop() {
    let rs = rules(
        "- {target_label: a, replacement: x}
         - {target_label: b, replacement: y}
         - {source_labels: [b], regex: y, action: drop}
         - {target_label: c, replacement: z}",
    );
    let steps = relabel_steps(&rs, &labels(&[]));
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0].labels, Some(labels(&[("a", "x")])));
    assert_eq!(steps[1].labels, Some(labels(&[("a", "x"), ("b", "y")])));
    assert_eq!(
        steps[2],
        Step {
            rule: 2,
            labels: None
        }
    );
}

/// (rule YAML, Prometheus' error message).
const INVALID: &[(&str, &str)] = &[
    ("{action: null}", "relabel action cannot be empty"),
    ("{action: ''}", r#"unknown relabel action """#),
    ("{action: foo}", r#"unknown relabel action "foo""#),
    (
        "{action: hashmod, target_label: t}",
        "relabel configuration for hashmod requires non-zero modulus",
    ),
    (
        "{}",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "{action: replace}",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "{action: lowercase}",
        "relabel configuration for lowercase action requires 'target_label' value",
    ),
    (
        "{action: uppercase}",
        "relabel configuration for uppercase action requires 'target_label' value",
    ),
    (
        "{action: keepequal}",
        "relabel configuration for keepequal action requires 'target_label' value",
    ),
    (
        "{action: dropequal}",
        "relabel configuration for dropequal action requires 'target_label' value",
    ),
    (
        "{action: hashmod, modulus: 2}",
        "relabel configuration for hashmod action requires 'target_label' value",
    ),
    (
        "{action: lowercase, target_label: t, replacement: x}",
        "'replacement' can not be set for lowercase action",
    ),
    (
        "{action: uppercase, target_label: t, replacement: ''}",
        "'replacement' can not be set for uppercase action",
    ),
    (
        "{action: keepequal, target_label: t, regex: '(.*)'}",
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "{action: dropequal, target_label: t, separator: ','}",
        "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "{action: dropequal, target_label: t, modulus: 3}",
        "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "{action: labeldrop, source_labels: []}",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelkeep, target_label: x}",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelkeep, replacement: x}",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "{action: labeldrop, separator: x}",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelmap, replacement: ''}",
        r#""" is invalid 'replacement' for labelmap action"#,
    ),
    ("{source_labels: ['']}", r#""" is not a valid label name"#),
    (
        "{regex: '(a', target_label: t}",
        "error parsing regexp: missing closing ): `^(?s:(a)$`",
    ),
    (
        "{regex: 'a(?=b)', target_label: t}",
        "error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
    ),
    (
        "{regex: '(a)\\1', target_label: t}",
        "error parsing regexp: invalid escape sequence: `\\1`",
    ),
    ("{unknown: 1, target_label: t}", "unknown field `unknown`"),
];

#[test]
fn invalid_rules_fail_with_prometheus_messages() {
    for (yaml, message) in INVALID {
        let err = serde_yaml::from_str::<RelabelConfig>(yaml)
            .map(|r| format!("accepted: {r:?}"))
            .unwrap_err_or_string();
        assert!(
            err.contains(message),
            "{yaml}: got {err:?}, want {message:?}"
        );
    }
}

trait UnwrapErrOrString {
    fn unwrap_err_or_string(self) -> String;
}
impl UnwrapErrOrString for Result<String, serde_yaml::Error> {
    fn unwrap_err_or_string(self) -> String {
        match self {
            Ok(accepted) => accepted,
            Err(e) => e.to_string(),
        }
    }
}

#[test]
fn a_null_rule_is_refused() {
    let err = serde_yaml::from_str::<Vec<RelabelConfig>>("- \n").unwrap_err();
    assert!(err
        .to_string()
        .contains("empty or null target relabeling rule in scrape config"));
}

#[test]
fn legacy_validation_is_stricter() {
    let cases = [
        (
            "{action: lowercase, target_label: '${3}'}",
            Some(r#""${3}" is invalid 'target_label' for lowercase action"#),
        ),
        (
            "{action: replace, target_label: 'a.b'}",
            Some(r#""a.b" is invalid 'target_label' for replace action"#),
        ),
        (
            "{action: replace, target_label: '-${1}'}",
            Some(r#""-${1}" is invalid 'target_label' for replace action"#),
        ),
        ("{action: replace, target_label: 'x_${1}_y'}", None),
        (
            "{action: labelmap, regex: '__meta_(.+)', replacement: '${1}'}",
            None,
        ),
        (
            "{action: labelmap, regex: '__meta_(.+)', replacement: 'a-$1'}",
            Some(r#""a-$1" is invalid 'replacement' for labelmap action"#),
        ),
        (
            "{action: hashmod, modulus: 2, target_label: 'a b'}",
            Some(r#""a b" is invalid 'target_label' for hashmod action"#),
        ),
    ];
    for (yaml, want) in cases {
        let mut rule: RelabelConfig =
            serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(
            rule.validate(NameValidation::Legacy).err().as_deref(),
            want,
            "{yaml}"
        );
    }
}

/// Rules Prometheus' `TestRelabelValidate` accepts, and under which schemes.
#[test]
fn valid_rules_are_accepted_under_their_schemes() {
    use NameValidation::{Legacy, Utf8};
    let cases: &[(&str, &[NameValidation])] = &[
        // With UTF-8 names `${3}` is a valid target (it expands to a name at run time).
        ("{action: lowercase, target_label: '${3}'}", &[Utf8]),
        (
            "{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}'}",
            &[Utf8, Legacy],
        ),
        (
            "{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '0${3}'}",
            &[Utf8],
        ),
        (
            "{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '-${3}'}",
            &[Utf8],
        ),
        (
            "{regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)', action: labelmap, replacement: '$1'}",
            &[Utf8, Legacy],
        ),
        (
            "{regex: '__meta_(.+)', action: labelmap, replacement: '${1}'}",
            &[Utf8, Legacy],
        ),
    ];
    for (yaml, schemes) in cases {
        let rule: RelabelConfig =
            serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        for scheme in [Utf8, Legacy] {
            let got = rule.clone().validate(scheme);
            assert_eq!(
                got.is_ok(),
                schemes.contains(&scheme),
                "{yaml} {scheme:?}: {got:?}"
            );
        }
    }
    // Under the legacy scheme `0${3}` and `-${3}` fail with the target message.
    let mut rule: RelabelConfig =
        serde_yaml::from_str("{source_labels: [a], target_label: '0${3}'}").unwrap();
    assert_eq!(
        rule.validate(Legacy).unwrap_err(),
        r#""0${3}" is invalid 'target_label' for replace action"#
    );
}

#[test]
fn legacy_target_templates_match_prometheus_table() {
    for (s, valid) in [
        ("-label", false),
        ("label", true),
        ("label${1}", true),
        ("${1}label", true),
        ("${1}", true),
        ("${", false),
        ("$", false),
        ("${}", false),
        ("foo${", false),
        ("$1", true),
        ("asd$2asd", true),
        ("-foo${1}bar-", false),
        ("bar.foo${1}bar", false),
        ("_${1}_", true),
        ("foo${bar}foo", true),
    ] {
        let yaml = format!("{{action: replace, target_label: '{s}'}}");
        let mut rule: RelabelConfig = match serde_yaml::from_str(&yaml) {
            Ok(r) => r,
            Err(e) => panic!("{s} under UTF-8: {e}"),
        };
        assert_eq!(rule.validate(NameValidation::Legacy).is_ok(), valid, "{s}");
    }
}

#[test]
fn legacy_scheme_skips_invalid_expanded_targets() {
    let mut rs = rules("- {source_labels: [a], regex: '(.*)', target_label: 'x_${1}'}");
    let out = relabel(&rs, &labels(&[("a", "b.c")])).unwrap();
    assert_eq!(
        out.get("x_b.c"),
        Some("b.c"),
        "UTF-8 names are valid in 3.x"
    );
    rs[0].validate(NameValidation::Legacy).unwrap();
    let out = relabel(&rs, &labels(&[("a", "b.c")])).unwrap();
    assert_eq!(
        out,
        labels(&[("a", "b.c")]),
        "legacy: invalid target, rule skipped"
    );
}

#[test]
fn serializes_in_prometheus_shape() {
    for yaml in [
        "source_labels:\n- __meta_kubernetes_pod_annotation_prometheus_io_port\nseparator: ;\nregex: \\d+\ntarget_label: __meta_kubernetes_pod_container_port_number\nreplacement: $1\naction: replace\n",
        "source_labels:\n- a\nseparator: ;\ntarget_label: b\nreplacement: $1\naction: keepequal\n",
        "separator: ;\nregex: (.*)\ntarget_label: b\nreplacement: $1\naction: replace\n",
        "source_labels:\n- namespace\n- k8s_app\nseparator: ''\nregex: ''\ntarget_label: target_cluster\nreplacement: ''\naction: replace\n",
        "source_labels:\n- a\nseparator: ;\nmodulus: 8\ntarget_label: b\nreplacement: $1\naction: hashmod\n",
    ] {
        let rule: RelabelConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(serde_yaml::to_string(&rule).unwrap(), yaml);
    }
}

/// Prometheus' `TestConfig_UnmarshalThenMarshal` inputs, verbatim: what we write reads back as
/// the same rule, explicit empty `separator`/`regex`/`replacement` included (prometheus#18652).
/// (Our YAML writer's layout differs from go-yaml's: block lists and `''`; the values do not.)
#[test]
fn prometheus_round_trip_inputs_survive_a_round_trip() {
    for yaml in [
        "source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]\nseparator: ;\nregex: \\\\d+\ntarget_label: __meta_kubernetes_pod_container_port_number\nreplacement: $1\naction: replace\n",
        "source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]\nseparator: ;\ntarget_label: __meta_kubernetes_pod_container_port_number\nreplacement: $1\naction: keepequal\n",
        "source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]\nseparator: ;\nregex: (.*)\ntarget_label: __meta_kubernetes_pod_container_port_number\nreplacement: $1\naction: replace\n",
        "source_labels: [namespace, k8s_app]\nseparator: \"\"\nregex: \"\"\ntarget_label: target_cluster\nreplacement: \"\"\naction: replace\n",
        // A null regex is the empty regex, written as such.
        "target_label: t\nregex:\n",
    ] {
        let rule: RelabelConfig = serde_yaml::from_str(yaml).unwrap();
        let written = serde_yaml::to_string(&rule).unwrap();
        let again: RelabelConfig = serde_yaml::from_str(&written).unwrap();
        assert_eq!(again, rule, "{yaml} -> {written}");
        assert_eq!(again.regex().as_str(), rule.regex().as_str(), "{yaml}");
        assert_eq!(
            written.contains("regex:"),
            yaml.contains("regex:"),
            "{yaml} -> {written}"
        );
    }
    let explicit: RelabelConfig = serde_yaml::from_str(
        "{source_labels: [a, b], separator: '', regex: '', target_label: t, replacement: ''}",
    )
    .unwrap();
    assert_eq!(
        (
            explicit.separator(),
            explicit.regex().as_str(),
            explicit.replacement()
        ),
        ("", "", "")
    );
}

/// JSON as Prometheus' `encoding/json` writes a rule (the `relabel_steps` API): `regex` is
/// always present, its text without the anchors (`TestRegexp_JSONUnmarshalThenMarshal`).
#[test]
fn json_is_go_encoding_json_shape() {
    let defaulted: RelabelConfig = serde_yaml::from_str("{target_label: x}").unwrap();
    assert_eq!(
        defaulted.to_json(),
        serde_json::json!({"separator": ";", "regex": "(.*)", "target_label": "x",
                           "replacement": "$1", "action": "replace"})
    );
    for regex in ["", "foo", ".*foo.*"] {
        let rule: RelabelConfig = serde_yaml::from_str(&format!(
            "{{separator: '', regex: '{regex}', replacement: '', target_label: t}}"
        ))
        .unwrap();
        assert_eq!(
            rule.to_json(),
            serde_json::json!({"separator": "", "regex": regex, "target_label": "t",
                               "replacement": "", "action": "replace"})
        );
    }
    let hashmod: RelabelConfig =
        serde_yaml::from_str("{source_labels: [a], modulus: 8, target_label: b, action: hashmod}")
            .unwrap();
    assert_eq!(
        hashmod.to_json(),
        serde_json::json!({"source_labels": ["a"], "separator": ";", "regex": "(.*)",
                           "modulus": 8, "target_label": "b", "replacement": "$1",
                           "action": "hashmod"})
    );
}

#[test]
fn non_string_scalars_are_read_as_text() {
    let rule: RelabelConfig =
        serde_yaml::from_str("{target_label: t, replacement: 1.50, separator: 0}").unwrap();
    assert_eq!(rule.replacement(), "1.50");
    assert_eq!(rule.separator(), "0");
    let rule: RelabelConfig = serde_yaml::from_str("{target_label: t, separator: null}").unwrap();
    assert_eq!(rule.separator(), "");
}

// Target population (Prometheus' scrape/target_test.go TestPopulateLabels, 3.x).

fn job(relabel: &str) -> ScrapeParams {
    let mut p = ScrapeParams::new("job");
    p.scrape_interval = crate::common::Duration::from_secs(1);
    p.scrape_timeout = crate::common::Duration::from_secs(1);
    if !relabel.is_empty() {
        p.relabel_configs = rules(relabel);
    }
    p
}

fn populate(
    params: &ScrapeParams,
    target: &[(&str, &str)],
    group: &[(&str, &str)],
) -> PopulatedTarget {
    Populator::new(params).populate(&labels(target), &labels(group), &mut LabelBuilder::new())
}

const HIST: [(&str, &str); 3] = [
    ("__convert_classic_histograms_to_nhcb__", "false"),
    ("__always_scrape_classic_histograms__", "false"),
    ("__scrape_native_histograms__", "false"),
];

fn with_hist(pairs: &[(&'static str, &'static str)]) -> LabelSet {
    labels(&[pairs, &HIST[..]].concat())
}

#[test]
fn populate_fills_defaults_and_instance() {
    let got = populate(
        &job(""),
        &[("__address__", "1.2.3.4:1000"), ("custom", "value")],
        &[],
    );
    assert_eq!(
        got.discovered,
        with_hist(&[
            ("__address__", "1.2.3.4:1000"),
            ("__scheme__", "http"),
            ("__metrics_path__", "/metrics"),
            ("__scrape_interval__", "1s"),
            ("__scrape_timeout__", "1s"),
            ("job", "job"),
            ("custom", "value"),
        ])
    );
    assert_eq!(
        got.result,
        Ok(with_hist(&[
            ("__address__", "1.2.3.4:1000"),
            ("instance", "1.2.3.4:1000"),
            ("__scheme__", "http"),
            ("__metrics_path__", "/metrics"),
            ("__scrape_interval__", "1s"),
            ("__scrape_timeout__", "1s"),
            ("job", "job"),
            ("custom", "value"),
        ]))
    );
}

#[test]
fn populate_keeps_target_values_over_defaults_and_adds_no_port() {
    let target = [
        ("__address__", "1.2.3.4"),
        ("__scheme__", "https"),
        ("__metrics_path__", "/custom"),
        ("__scrape_interval__", "2s"),
        ("__scrape_timeout__", "2s"),
        ("job", "custom-job"),
        ("instance", "custom-instance"),
    ];
    let got = populate(&job(""), &target, &[]);
    assert_eq!(got.result, Ok(with_hist(&target)));
}

#[test]
fn populate_target_labels_win_over_group_and_empty_hides() {
    let got = populate(
        &job(""),
        &[("__address__", "a:1"), ("x", "target"), ("hidden", "")],
        &[
            ("x", "group"),
            ("y", "group"),
            ("hidden", "group"),
            ("__address__", "g:1"),
        ],
    );
    let d = got.discovered;
    assert_eq!(
        (d.get("x"), d.get("y"), d.get("hidden")),
        (Some("target"), Some("group"), None)
    );
    assert_eq!(d.get("__address__"), Some("a:1"));
}

#[test]
fn populate_params_only_where_unset() {
    let mut p = job("");
    p.params
        .insert("module".into(), vec!["http_2xx".into(), "ignored".into()]);
    p.params.insert("target".into(), vec!["default".into()]);
    p.params.insert("empty".into(), vec![]);
    let got = populate(
        &p,
        &[("__address__", "a:1"), ("__param_target", "mine")],
        &[],
    );
    let d = &got.discovered;
    assert_eq!(d.get("__param_module"), Some("http_2xx"));
    assert_eq!(d.get("__param_target"), Some("mine"));
    assert_eq!(d.get("__param_empty"), None);
}

#[test]
fn populate_removes_meta_labels_but_keeps_other_internal_ones() {
    let got = populate(
        &job(""),
        &[("__address__", "a:1"), ("__meta_x", "1"), ("__tmp_y", "2")],
        &[],
    );
    let out = got.result.unwrap();
    assert_eq!((out.get("__meta_x"), out.get("__tmp_y")), (None, Some("2")));
    assert_eq!(got.discovered.get("__meta_x"), Some("1"));
}

#[test]
fn populate_errors_with_prometheus_messages() {
    let invalid = |p: &ScrapeParams, t: &[(&str, &str)]| match populate(p, t, &[]).result {
        Err(NotScraped::Invalid(m)) => m,
        other => panic!("expected an error, got {other:?}"),
    };
    let addr = [("__address__", "a:1")];
    assert_eq!(invalid(&job(""), &[("custom", "x")]), "no address");
    assert_eq!(invalid(&job(""), &[("__address__", "")]), "no address");
    assert_eq!(
        invalid(&job(""), &[("__address__", "http://a:1/x")]),
        r#""http://a:1/x" is not a valid hostname"#
    );
    for (label, value, msg) in [
        (
            "__scrape_interval__",
            "2notseconds",
            r#"error parsing scrape interval: unknown unit "notseconds" in duration "2notseconds""#,
        ),
        ("__scrape_interval__", "0s", "scrape interval cannot be 0"),
        (
            "__scrape_interval__",
            "1h1h",
            r#"error parsing scrape interval: not a valid duration string: "1h1h""#,
        ),
        (
            "__scrape_timeout__",
            "2notseconds",
            r#"error parsing scrape timeout: unknown unit "notseconds" in duration "2notseconds""#,
        ),
        ("__scrape_timeout__", "0s", "scrape timeout cannot be 0"),
        (
            "__scrape_timeout__",
            "2s",
            r#"scrape timeout cannot be greater than scrape interval ("2s" > "1s")"#,
        ),
        (
            "__scrape_native_histograms__",
            "yes",
            r#"error parsing scrape native histograms: strconv.ParseBool: parsing "yes": invalid syntax"#,
        ),
        (
            "__always_scrape_classic_histograms__",
            "x",
            r#"error parsing always scrape classic histograms: strconv.ParseBool: parsing "x": invalid syntax"#,
        ),
        (
            "__convert_classic_histograms_to_nhcb__",
            "2",
            r#"error parsing convert classic histograms to nhcb: strconv.ParseBool: parsing "2": invalid syntax"#,
        ),
    ] {
        assert_eq!(
            invalid(&job(""), &[addr[0], (label, value)]),
            msg,
            "{label}={value}"
        );
    }
    // An interval removed by relabeling is an empty duration.
    assert_eq!(
        invalid(
            &job("- {regex: __scrape_interval__, action: labeldrop}"),
            &addr
        ),
        "error parsing scrape interval: empty duration string"
    );
}

#[test]
fn populate_reports_the_dropping_rule_and_true_discovered_labels() {
    let p = job("- {target_label: added, replacement: x}
         - {source_labels: [__address__], regex: 'drop.*', action: drop}");
    let got = populate(&p, &[("__address__", "drop:1")], &[]);
    assert_eq!(got.result, Err(NotScraped::Dropped(Dropped { rule: 1 })));
    assert_eq!(got.discovered.get("added"), None);
}

#[test]
fn populate_relabeling_may_supply_the_address() {
    let p = job("- {source_labels: [host, port], separator: ':', target_label: __address__}");
    let got = populate(&p, &[("host", "h"), ("port", "9")], &[]);
    let out = got.result.unwrap();
    assert_eq!(
        (out.get("__address__"), out.get("instance")),
        (Some("h:9"), Some("h:9"))
    );
}

/// Prometheus' `TestPopulateLabels` entries that succeed, exactly: the job uses `https`, 1s/1s.
/// (target, relabel rules, convert_classic_histograms_to_nhcb, final labels, discovered labels).
#[test]
fn populate_matches_prometheus_table() {
    type Pairs = &'static [(&'static str, &'static str)];
    const JOB: Pairs = &[
        ("__scheme__", "https"),
        ("__metrics_path__", "/metrics"),
        ("job", "job"),
        ("__scrape_interval__", "1s"),
        ("__scrape_timeout__", "1s"),
        ("__always_scrape_classic_histograms__", "false"),
        ("__scrape_native_histograms__", "false"),
    ];
    const NHCB_FALSE: Pairs = &[("__convert_classic_histograms_to_nhcb__", "false")];
    const NHCB_TRUE: Pairs = &[("__convert_classic_histograms_to_nhcb__", "true")];
    const FROM_CUSTOM: &str =
        "- {action: replace, regex: '(.*)', source_labels: [custom], replacement: '${1}', target_label: __address__}";
    const NHCB_ON: &str = "- {action: replace, regex: 'false', source_labels: [__convert_classic_histograms_to_nhcb__], replacement: 'true', target_label: __convert_classic_histograms_to_nhcb__}";
    /// (name, target, rules, nhcb, final labels in parts, discovered labels in parts).
    type PopulateCase = (
        &'static str,
        Pairs,
        &'static str,
        bool,
        &'static [Pairs],
        &'static [Pairs],
    );
    let cases: &[PopulateCase] = &[
        (
            "regular population",
            &[("__address__", "1.2.3.4:1000"), ("custom", "value")],
            "",
            false,
            &[
                JOB,
                NHCB_FALSE,
                &[
                    ("__address__", "1.2.3.4:1000"),
                    ("instance", "1.2.3.4:1000"),
                    ("custom", "value"),
                ],
            ],
            &[
                JOB,
                NHCB_FALSE,
                &[("__address__", "1.2.3.4:1000"), ("custom", "value")],
            ],
        ),
        (
            "target overrides job labels, no port added",
            &[
                ("__address__", "1.2.3.4"),
                ("__scheme__", "http"),
                ("__metrics_path__", "/custom"),
                ("job", "custom-job"),
                ("__scrape_interval__", "2s"),
                ("__scrape_timeout__", "2s"),
            ],
            "",
            false,
            &[
                NHCB_FALSE,
                &[
                    ("__address__", "1.2.3.4"),
                    ("instance", "1.2.3.4"),
                    ("__scheme__", "http"),
                    ("__metrics_path__", "/custom"),
                    ("job", "custom-job"),
                    ("__scrape_interval__", "2s"),
                    ("__scrape_timeout__", "2s"),
                    ("__always_scrape_classic_histograms__", "false"),
                    ("__scrape_native_histograms__", "false"),
                ],
            ],
            &[
                NHCB_FALSE,
                &[
                    ("__address__", "1.2.3.4"),
                    ("__scheme__", "http"),
                    ("__metrics_path__", "/custom"),
                    ("job", "custom-job"),
                    ("__scrape_interval__", "2s"),
                    ("__scrape_timeout__", "2s"),
                    ("__always_scrape_classic_histograms__", "false"),
                    ("__scrape_native_histograms__", "false"),
                ],
            ],
        ),
        (
            "own instance label, IPv6 address without port",
            &[("__address__", "[::1]"), ("instance", "custom-instance")],
            "",
            false,
            &[
                JOB,
                NHCB_FALSE,
                &[("__address__", "[::1]"), ("instance", "custom-instance")],
            ],
            &[
                JOB,
                NHCB_FALSE,
                &[("__address__", "[::1]"), ("instance", "custom-instance")],
            ],
        ),
        (
            "address added by relabeling",
            &[("custom", "host:1234")],
            FROM_CUSTOM,
            false,
            &[
                JOB,
                NHCB_FALSE,
                &[
                    ("__address__", "host:1234"),
                    ("instance", "host:1234"),
                    ("custom", "host:1234"),
                ],
            ],
            &[JOB, NHCB_FALSE, &[("custom", "host:1234")]],
        ),
        (
            "no default port",
            &[("__address__", "1.2.3.4")],
            "",
            false,
            &[
                JOB,
                NHCB_FALSE,
                &[("__address__", "1.2.3.4"), ("instance", "1.2.3.4")],
            ],
            &[JOB, NHCB_FALSE, &[("__address__", "1.2.3.4")]],
        ),
        (
            "the https port stays",
            &[("__address__", "1.2.3.4:443")],
            "",
            false,
            &[
                JOB,
                NHCB_FALSE,
                &[("__address__", "1.2.3.4:443"), ("instance", "1.2.3.4:443")],
            ],
            &[JOB, NHCB_FALSE, &[("__address__", "1.2.3.4:443")]],
        ),
        (
            "convert_classic_histograms_to_nhcb from the job",
            &[("__address__", "1.2.3.4:1000")],
            "",
            true,
            &[
                JOB,
                NHCB_TRUE,
                &[
                    ("__address__", "1.2.3.4:1000"),
                    ("instance", "1.2.3.4:1000"),
                ],
            ],
            &[JOB, NHCB_TRUE, &[("__address__", "1.2.3.4:1000")]],
        ),
        (
            "convert_classic_histograms_to_nhcb set by relabeling",
            &[("__address__", "1.2.3.4:1000")],
            NHCB_ON,
            false,
            &[
                JOB,
                NHCB_TRUE,
                &[
                    ("__address__", "1.2.3.4:1000"),
                    ("instance", "1.2.3.4:1000"),
                ],
            ],
            &[JOB, NHCB_FALSE, &[("__address__", "1.2.3.4:1000")]],
        ),
    ];
    for (name, target, relabel, nhcb, result, discovered) in cases {
        let mut p = job(relabel);
        p.job_name = "job".into();
        p.scheme = "https".into();
        p.convert_classic_histograms_to_nhcb = *nhcb;
        let got = populate(&p, target, &[]);
        assert_eq!(got.result, Ok(labels(&result.concat())), "{name}");
        assert_eq!(got.discovered, labels(&discovered.concat()), "{name}");
        // The lazily recomputed discovered labels agree.
        let mut lb = LabelBuilder::new();
        Populator::new(&p).discovered_labels(&labels(target), &labels(&[]), &mut lb);
        assert_eq!(lb.take_label_set(), got.discovered, "{name}");
    }
    // The http port stays too.
    let got = populate(&job(""), &[("__address__", "1.2.3.4:80")], &[]);
    assert_eq!(got.result.unwrap().get("instance"), Some("1.2.3.4:80"));
    // An invalid boolean.
    let got = populate(
        &job(""),
        &[
            ("__address__", "1.2.3.4:1000"),
            ("__convert_classic_histograms_to_nhcb__", "maybe"),
        ],
        &[],
    );
    assert_eq!(
        got.result,
        Err(NotScraped::Invalid(
            r#"error parsing convert classic histograms to nhcb: strconv.ParseBool: parsing "maybe": invalid syntax"#.into()
        ))
    );
}

/// `TargetsFromGroup`'s message for a target without an address, and
/// `TestTargetsFromGroupWithLabelKeepDrop`: `labelkeep`/`labeldrop` see `__address__` too.
#[test]
fn group_errors_name_the_instance_and_group() {
    let no_address =
        |p: &ScrapeParams| match populate(p, &[("__address__", "localhost:9090")], &[]).result {
            Err(NotScraped::Invalid(m)) => group_error_message(0, "", &m),
            other => panic!("expected an error, got {other:?}"),
        };
    assert_eq!(
        group_error_message(0, "", "no address"),
        "instance 0 in group : no address"
    );
    assert!(
        populate(&job(""), &[("__address__", "localhost:9090")], &[])
            .result
            .is_ok()
    );
    assert_eq!(
        no_address(&job("- {regex: foo, action: labelkeep}")),
        "instance 0 in group : no address"
    );
    assert_eq!(
        no_address(&job("- {regex: __address__, action: labeldrop}")),
        "instance 0 in group : no address"
    );
}

#[test]
fn go_durations_parse_like_prometheus() {
    assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
    assert_eq!(parse_go_duration("0"), Ok(0));
    assert_eq!(
        parse_go_duration("5"),
        Err(r#"not a valid duration string: "5""#.into())
    );
    assert!(parse_go_duration("1y1w1d1h1m1s1ms").is_ok());
    assert_eq!(
        parse_go_duration("300y"),
        Err("duration out of range".into())
    );
}

#[test]
fn name_based_rules_stay_right_across_many_targets_on_one_builder() {
    // One builder carries its caches from target to target: many distinct names (more than the
    // cache holds), two labelmap rules with different outputs, a general-regex labeldrop.
    let rs = rules(
        r"- {regex: 'l_(\d+)', replacement: 'a_$1', action: labelmap}
          - {regex: 'l_(\d+)', replacement: 'b_$1', action: labelmap}
          - {regex: '[ab]_\d*[05]', action: labeldrop}",
    );
    let mut lb = LabelBuilder::new();
    for i in 0..20_000 {
        let name = format!("l_{i}");
        lb.reset(&labels(&[(name.as_str(), "v")]));
        process(&rs, &mut lb).unwrap();
        let out = lb.take_label_set();
        let dropped = i % 5 == 0;
        assert_eq!(out.get(&format!("a_{i}")), (!dropped).then_some("v"), "{i}");
        assert_eq!(out.get(&format!("b_{i}")), (!dropped).then_some("v"), "{i}");
        assert_eq!(out.len(), if dropped { 1 } else { 3 }, "{i}");
    }
}

#[test]
fn populate_empty_values_leave_room_for_job_defaults() {
    let got = populate(
        &job(""),
        &[("__address__", "a:1"), ("job", "")],
        &[("__scheme__", ""), ("job", "from-group")],
    );
    let d = got.discovered;
    assert_eq!(
        (d.get("job"), d.get("__scheme__")),
        (Some("job"), Some("http"))
    );
}

#[test]
fn scrape_labels_equal_populate_results() {
    let p = job("- {source_labels: [__address__], regex: 'x:1', action: drop}");
    let populator = Populator::new(&p);
    let mut lb = LabelBuilder::new();
    for t in [
        &[("__address__", "a:1")][..],
        &[("__address__", "x:1")],
        &[("y", "1")],
    ] {
        let t = labels(t);
        let g = labels(&[("g", "1")]);
        assert_eq!(
            populator.scrape_labels(&t, &g, &mut lb),
            populator.populate(&t, &g, &mut lb).result
        );
    }
}

mod reused_builder {
    //! A builder reused from target to target remembers positions and name-rule decisions from
    //! the previous targets; whatever the sequence of targets, each must come out exactly as it
    //! does on a fresh builder.
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "__address__",
        "__meta_a",
        "__meta_label_app",
        "__meta_label_tier",
        "__tmp",
        "app",
        "env",
        "zone",
    ];
    const VALUES: &[&str] = &["", "a", "b:1", "true", "x;y"];

    fn target() -> impl Strategy<Value = LabelSet> {
        proptest::collection::vec((0..NAMES.len(), 0..VALUES.len()), 0..7).prop_map(|pairs| {
            LabelSet::from_pairs(pairs.into_iter().map(|(n, v)| (NAMES[n], VALUES[v])))
        })
    }

    const CHAIN: &str = r"- {source_labels: [__meta_a], regex: 'x;y', action: drop}
        - {regex: '__meta_label_(.+)', action: labelmap}
        - {source_labels: [__address__, env], regex: '([^:]+)(?::\d+)?;(.*)', replacement: '$1:$2', target_label: __address__}
        - {source_labels: [app], target_label: zone}
        - {source_labels: [__address__], modulus: 3, target_label: __tmp, action: hashmod}
        - {source_labels: [__tmp], regex: '[01]', action: keep}
        - {regex: '__tmp|tier', action: labeldrop}
        - {regex: '(__|a|e|z).*', action: labelkeep}
        - {regex: 'e(n)v', action: labeldrop}";

    proptest! {
        #[test]
        fn each_target_relabels_as_on_a_fresh_builder(
            targets in proptest::collection::vec(target(), 1..40),
        ) {
            let chain = rules(CHAIN);
            let mut lb = LabelBuilder::new();
            for t in &targets {
                lb.reset(t);
                let reused = process(&chain, &mut lb).map(|()| lb.take_label_set());
                prop_assert_eq!(reused, relabel(&chain, t), "{:?}", t);
            }
        }
    }
}

#[test]
fn an_unvalidated_hashmod_without_modulus_leaves_the_target_alone() {
    // Only the config loader reads rules unvalidated, and it validates every one; should a rule
    // escape that, applying it must not divide by zero.
    let rule: super::Unvalidated =
        serde_yaml::from_str("{source_labels: [a], target_label: h, action: hashmod}").unwrap();
    let target = labels(&[("a", "x")]);
    assert_eq!(relabel(&[rule.0], &target), Ok(target.clone()));
}
