//! Property tests: random label sets through random valid rule chains never panic and keep the
//! label-set invariants; any pattern either compiles or fails with Go's error shape, never with
//! a translation the `regex` crate rejects; and a few hundred such patterns are accepted or
//! rejected, with the same error, as Go's `regexp` does (the real `promtool` is the oracle).

use promsd::relabel::{
    relabel, relabel_steps, LabelBuilder, NotScraped, Populator, Regexp, RelabelConfig,
    ScrapeParams,
};
use promsd_actors::model::LabelSet;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "__address__",
    "__meta_a",
    "__meta_b_c",
    "job",
    "instance",
    "a",
    "b",
    "__tmp_x",
    "__scrape_interval__",
    "__scrape_timeout__",
    "x.y",
    "é",
];

const PATTERNS: &[&str] = &[
    "(.*)",
    ".*",
    "(.+)",
    "",
    "a",
    "a|b",
    "__meta_(.+)",
    "__meta_(.*)",
    "(a*)(b*)",
    "(?i)A(.)",
    r"(\w+):(\d+)",
    r"\d+",
    r"[[:alpha:]]+",
    r"\pL*",
    "(?P<n>.)(.*)",
    "b)|(c",
    "x{0,2}",
    "^$",
    r"\b",
    "(?s:.)+",
    r"[^a]",
    "(?U)(a+)(a*)",
    r"\Q.*\E",
];

/// Characters random patterns are made of: the regexp syntax and a few letters and digits.
const PATTERN_CHARS: &str = r"[\\()\[\]{}|*+?.^$:PpdDwWsSbBAzQE<>=!,0-9a-cik-nsuUx\-#& é-]{0,12}";

const TEMPLATES: &[&str] = &[
    "$1", "${1}", "$2", "$1x", "$$", "$", "x_$1", "${n}", "", "static", "${0}", "a$1b$2",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-c:0-9]{0,6}",
        "\\PC{0,5}",
        Just("10.0.0.1:80".to_owned()),
        Just("1s".to_owned()),
        Just("a/b".to_owned()),
    ]
}

fn label_set() -> impl Strategy<Value = LabelSet> {
    prop::collection::vec((prop::sample::select(NAMES), value()), 0..10)
        .prop_map(LabelSet::from_pairs)
}

fn rule() -> impl Strategy<Value = Option<RelabelConfig>> {
    (
        prop::sample::select(
            &[
                "replace",
                "keep",
                "drop",
                "keepequal",
                "dropequal",
                "hashmod",
                "labelmap",
                "labeldrop",
                "labelkeep",
                "lowercase",
                "uppercase",
            ][..],
        ),
        prop::collection::vec(prop::sample::select(NAMES), 0..3),
        prop::option::of(prop::sample::select(PATTERNS)),
        prop::option::of(prop::sample::select(&[";", "", ":", "/"][..])),
        prop::option::of(prop_oneof![
            prop::sample::select(NAMES).prop_map(str::to_owned),
            prop::sample::select(TEMPLATES).prop_map(str::to_owned),
        ]),
        prop::option::of(prop::sample::select(TEMPLATES)),
        prop::option::of(1u64..50),
    )
        .prop_map(
            |(action, sources, regex, separator, target, replacement, modulus)| {
                let mut yaml = format!("action: {action}\n");
                if !sources.is_empty() {
                    yaml += &format!(
                        "source_labels: {}\n",
                        serde_json::to_string(&sources).unwrap()
                    );
                }
                let quoted = |s: &str| serde_json::to_string(s).unwrap();
                if let Some(r) = regex {
                    yaml += &format!("regex: {}\n", quoted(r));
                }
                if let Some(s) = separator {
                    yaml += &format!("separator: {}\n", quoted(s));
                }
                if let Some(t) = target {
                    yaml += &format!("target_label: {}\n", quoted(&t));
                }
                if let Some(r) = replacement {
                    yaml += &format!("replacement: {}\n", quoted(r));
                }
                if let Some(m) = modulus {
                    yaml += &format!("modulus: {m}\n");
                }
                serde_yaml::from_str::<RelabelConfig>(&yaml).ok()
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<RelabelConfig>> {
    prop::collection::vec(rule(), 0..12).prop_map(|rs| rs.into_iter().flatten().collect())
}

fn assert_well_formed(set: &LabelSet) {
    let pairs = set.pairs();
    assert!(
        pairs.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted, unique: {set:?}"
    );
    assert!(
        pairs.iter().all(|(_, v)| !v.is_empty()),
        "no empty value: {set:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_chains_never_panic(labels in label_set(), rules in rules()) {
        let result = relabel(&rules, &labels);
        let steps = relabel_steps(&rules, &labels);
        match &result {
            Ok(out) => {
                assert_well_formed(out);
                prop_assert_eq!(steps.len(), rules.len());
                if let Some(last) = steps.last() {
                    prop_assert_eq!(last.labels.as_ref(), Some(out));
                }
            }
            Err(dropped) => {
                prop_assert_eq!(steps.len(), dropped.rule + 1);
                prop_assert!(steps.last().unwrap().labels.is_none());
            }
        }

        let mut params = ScrapeParams::new("job");
        params.relabel_configs = rules.clone();
        let target = Populator::new(&params).populate(&labels, &LabelSet::new(), &mut LabelBuilder::new());
        assert_well_formed(&target.discovered);
        match &target.result {
            Ok(out) => {
                assert_well_formed(out);
                prop_assert!(out.get("__address__").is_some_and(|a| !a.contains('/')));
                prop_assert!(out.get("instance").is_some());
                prop_assert!(out.iter().all(|(n, _)| !n.starts_with("__meta_")));
            }
            Err(NotScraped::Dropped(d)) => prop_assert!(d.rule < rules.len()),
            Err(NotScraped::Invalid(msg)) => prop_assert!(!msg.is_empty()),
        }
    }

    #[test]
    fn any_pattern_compiles_or_fails_with_a_go_shaped_error(pattern in PATTERN_CHARS) {
        match Regexp::new(&pattern) {
            Ok(re) => {
                prop_assert_eq!(re.as_str(), pattern.as_str());
                let _ = re.is_match("abc");
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("error parsing regexp: "), "{}", msg);
                prop_assert!(!msg.contains("internal error"), "{}: {}", pattern, msg);
            }
        }
    }
}

/// Go's verdict on each pattern: `None` if it compiles, else its error code (the part of
/// `error parsing regexp: <code>: `<expr>`` that does not depend on how the pattern is anchored).
/// One `promtool check config` run checks a config file per pattern.
fn go_verdicts(patterns: &[String]) -> Vec<Option<String>> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<std::path::PathBuf> = patterns
        .iter()
        .enumerate()
        .map(|(i, pattern)| {
            let path = dir.path().join(format!("p{i}.yml"));
            let config = format!(
                "scrape_configs:\n- job_name: j\n  static_configs: [{{targets: ['a:1']}}]\n  relabel_configs:\n  - source_labels: [a]\n    regex: {}\n    target_label: b\n",
                serde_json::to_string(pattern).unwrap()
            );
            std::fs::write(&path, config).unwrap();
            path
        })
        .collect();
    let output = std::process::Command::new("/usr/bin/promtool")
        .args(["check", "config", "--syntax-only"])
        .args(&files)
        .output()
        .expect("promtool runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    files
        .iter()
        .map(|file| {
            let prefix = format!("  FAILED: parsing YAML file {}: ", file.display());
            let line = stderr.lines().find(|l| l.starts_with(&prefix))?;
            Some(error_code(&line[prefix.len()..]))
        })
        .collect()
}

/// `missing closing )` of `error parsing regexp: missing closing ): `^(?:a()$``.
fn error_code(message: &str) -> String {
    let message = message
        .strip_prefix("error parsing regexp: ")
        .unwrap_or(message);
    message
        .rsplit_once(": `")
        .map_or(message, |(code, _)| code)
        .to_owned()
}

#[test]
fn random_patterns_compile_or_fail_as_go_does() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::string::string_regex(PATTERN_CHARS).unwrap();
    let mut patterns: Vec<String> = (0..400)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    patterns.extend(PATTERNS.iter().map(|p| p.to_string()));
    let go = go_verdicts(&patterns);
    let rejected_by_go = go.iter().filter(|v| v.is_some()).count();
    assert!(
        rejected_by_go > 20 && rejected_by_go < patterns.len() - 20,
        "the sample holds patterns Go accepts and patterns it rejects: {rejected_by_go} rejected"
    );
    let mut differences = Vec::new();
    for (pattern, go) in patterns.iter().zip(go) {
        let ours = Regexp::new(pattern)
            .err()
            .map(|e| error_code(&e.to_string()));
        if ours != go {
            differences.push(format!("{pattern:?}: ours {ours:?}, Go {go:?}"));
        }
    }
    let agree = patterns.len() - differences.len();
    assert!(
        differences.is_empty(),
        "{} of {} patterns differ ({agree} agree):\n{}",
        differences.len(),
        patterns.len(),
        differences.join("\n")
    );
}
