//! Differential test of relabeling and target population against the real Prometheus:
//! `promtool check service-discovery CONFIG JOB` on a corpus of configs (static targets with
//! labels, rules covering every action, hashmod, labelmap and regex corners), compared with what
//! `promsd::relabel::Populator` computes for the same target groups.
//!
//! The oracle is the Debian `promtool` 2.42; promsd follows Prometheus 3.x. Every place where
//! the two differ is neutralized in one place, [`neutralize_for_promtool_2_42`], or kept out of
//! the corpus (see [`CORPUS_RULES`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use promsd::common::Duration;
use promsd::relabel::{LabelBuilder, NotScraped, Populator, RelabelConfig, ScrapeParams};
use promsd_actors::model::{labels_map, LabelSet, TargetGroup};
use serde::Deserialize;

const PROMTOOL: &str = "/usr/bin/promtool";

/// What the corpus avoids because promtool 2.42 and Prometheus 3.x disagree on it:
/// - addresses without a port (2.42 adds `:80`/`:443`, 3.x adds none): every address is
///   `host:port`, also after relabeling;
/// - `.` on values with a newline (2.42 anchors with `^(?:…)$`, 3.x with `^(?s:…)$`);
/// - UTF-8 label names (2.42 accepts only legacy names);
/// - target labels named `__param_<p>` for a job's params (2.42 overwrites them, 3.x keeps);
/// - several SD configs in one job (promtool 2.42 panics): one `static_configs` per job.
#[allow(dead_code)]
const CORPUS_RULES: () = ();

/// The differences that remain visible in the output, listed once:
/// - 3.x adds `__convert_classic_histograms_to_nhcb__`, `__always_scrape_classic_histograms__`
///   and `__scrape_native_histograms__` to every target: removed from ours;
/// - 2.42 prints a failed target as `"error": {}` with empty label sets: such targets compare
///   by the fact that they failed;
/// - 2.42 may show labels added by relabeling in `discoveredLabels` (it reuses the label slice):
///   tolerated in [`discovered_matches`].
fn neutralize_for_promtool_2_42(labels: &LabelSet) -> BTreeMap<String, String> {
    let mut map = labels_map(labels);
    for name in [
        "__convert_classic_histograms_to_nhcb__",
        "__always_scrape_classic_histograms__",
        "__scrape_native_histograms__",
    ] {
        map.remove(name);
    }
    map
}

/// One target's outcome, comparable between the two implementations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Scraped {
        discovered: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    },
    Dropped {
        discovered: BTreeMap<String, String>,
    },
    Failed,
}

#[derive(Deserialize)]
struct PromtoolResult {
    #[serde(rename = "discoveredLabels")]
    discovered: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl From<PromtoolResult> for Outcome {
    fn from(r: PromtoolResult) -> Self {
        if r.error.is_some() {
            Outcome::Failed
        } else if r.labels.is_empty() {
            Outcome::Dropped {
                discovered: r.discovered,
            }
        } else {
            Outcome::Scraped {
                discovered: r.discovered,
                labels: r.labels,
            }
        }
    }
}

/// The parts of `prometheus.yml` this test reads itself (the config loader is another room).
#[derive(Deserialize)]
struct Config {
    scrape_configs: Vec<Job>,
}

#[derive(Deserialize)]
struct Job {
    job_name: String,
    scrape_interval: Duration,
    scrape_timeout: Duration,
    #[serde(default)]
    metrics_path: Option<String>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, Vec<String>>,
    static_configs: Vec<TargetGroup>,
    #[serde(default)]
    relabel_configs: Vec<RelabelConfig>,
}

fn ours(job: &Job) -> BTreeSet<Outcome> {
    let mut params = ScrapeParams::new(job.job_name.clone());
    params.scrape_interval = job.scrape_interval;
    params.scrape_timeout = job.scrape_timeout;
    if let Some(p) = &job.metrics_path {
        params.metrics_path = p.clone();
    }
    if let Some(s) = &job.scheme {
        params.scheme = s.clone();
    }
    params.params = job.params.clone();
    params.relabel_configs = job.relabel_configs.clone();
    let populator = Populator::new(&params);
    let mut lb = LabelBuilder::new();
    job.static_configs
        .iter()
        .flat_map(|g| populator.targets_from_group(g, &mut lb))
        .map(|t| {
            let discovered = neutralize_for_promtool_2_42(&t.discovered);
            match t.result {
                Ok(labels) => Outcome::Scraped {
                    discovered,
                    labels: neutralize_for_promtool_2_42(&labels),
                },
                Err(NotScraped::Dropped(_)) => Outcome::Dropped { discovered },
                Err(NotScraped::Invalid(_)) => Outcome::Failed,
            }
        })
        .collect()
}

/// `promsd check service-discovery`'s outcomes, read as promtool's are.
fn promsd_cli(config: &Path, job: &str) -> BTreeSet<Outcome> {
    let output = Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args(["check", "service-discovery"])
        .arg(config)
        .arg(job)
        .output()
        .expect("promsd runs");
    assert!(output.status.success(), "promsd failed for job {job}");
    let results: Vec<PromtoolResult> = serde_json::from_slice(&output.stdout).unwrap();
    results
        .into_iter()
        .map(|r| {
            let strip = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
                m.into_iter()
                    .filter(|(k, _)| {
                        ![
                            "__convert_classic_histograms_to_nhcb__",
                            "__always_scrape_classic_histograms__",
                            "__scrape_native_histograms__",
                        ]
                        .contains(&k.as_str())
                    })
                    .collect()
            };
            Outcome::from(PromtoolResult {
                discovered: strip(r.discovered),
                labels: strip(r.labels),
                error: r.error,
            })
        })
        .collect()
}

/// Kills the child on drop, so a failing test leaves no process behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn promtool(config: &Path, job: &str) -> BTreeSet<Outcome> {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: install the Debian package `prometheus` (this test never skips)"
    );
    let child = Command::new(PROMTOOL)
        .args(["check", "service-discovery", "--timeout=2s"])
        .arg(config)
        .arg(job)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    let mut guard = ChildGuard(child);
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("promtool wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "promtool did not finish within 60s"
        );
        std::thread::sleep(StdDuration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    guard
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    guard
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "promtool failed for job {job}: {err}");
    let results: Vec<PromtoolResult> = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("promtool output for {job}: {e}\n{out}"));
    results.into_iter().map(Outcome::from).collect()
}

/// Whether promtool's discovered labels are ours. promtool 2.42 prints the discovered labels from
/// a slice that relabeling then rewrote in place, so for a scraped target it may show, in the
/// same number of slots, labels of the final set instead of some of ours: tolerated, as long as
/// every label it shows is one of ours or one of the final ones.
fn discovered_matches(
    promtool: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
    final_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    if promtool == ours {
        return true;
    }
    let Some(final_labels) = final_labels else {
        return false;
    };
    promtool.len() == ours.len()
        && promtool
            .iter()
            .all(|(k, v)| ours.get(k) == Some(v) || final_labels.get(k) == Some(v))
}

fn differences(
    job: &str,
    promtool: &BTreeSet<Outcome>,
    ours: &BTreeSet<Outcome>,
) -> Option<String> {
    // promtool removes duplicate results; so does a set.
    let mut unmatched_ours: Vec<&Outcome> = Vec::new();
    let mut remaining: Vec<&Outcome> = promtool.iter().collect();
    for o in ours {
        let pos = remaining.iter().position(|p| match (p, o) {
            (Outcome::Failed, Outcome::Failed) => true,
            (Outcome::Dropped { discovered: pd }, Outcome::Dropped { discovered: od }) => {
                discovered_matches(pd, od, None)
            }
            (
                Outcome::Scraped {
                    discovered: pd,
                    labels: pl,
                },
                Outcome::Scraped {
                    discovered: od,
                    labels: ol,
                },
            ) => pl == ol && discovered_matches(pd, od, Some(ol)),
            _ => false,
        });
        match pos {
            Some(i) => {
                remaining.remove(i);
            }
            None => unmatched_ours.push(o),
        }
    }
    (!unmatched_ours.is_empty() || !remaining.is_empty()).then(|| {
        format!("job {job}: ours not in promtool's output:\n{unmatched_ours:#?}\npromtool's not in ours:\n{remaining:#?}")
    })
}

/// The corpus: one job per theme, static targets tagged so that each rule picks its targets.
const CORPUS: &str = r#"
scrape_configs:
  - job_name: replace
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["web-1:80", "web-22:8080", "api-3:9090", "db:5432", "x-web-1:80"]
        labels: {env: prod, team: core}
      - targets: ["cache-7:6379"]
        labels: {env: "", team: cache}
    relabel_configs:
      - {source_labels: [__address__], regex: '(\w+)-(\d+):(\d+)', target_label: kind, replacement: '$1'}
      - {source_labels: [__address__], regex: '(?P<name>\w+)-(?P<num>\d+):\d+', target_label: 'n_${name}', replacement: '${num}'}
      - {source_labels: [__address__], regex: '(\w+)-.*', target_label: suffix, replacement: '$1x'}
      - {source_labels: [__address__], regex: '(\w+)-.*', target_label: braced, replacement: '${1}x'}
      - {source_labels: [__address__], regex: '(\w+)-.*', target_label: dollars, replacement: '$$1 and $'}
      - {source_labels: [__address__], regex: '(\w+)-(x)?.*', target_label: missing_group, replacement: '[$2][$3]'}
      - {source_labels: [env, team], separator: '/', target_label: env_team}
      - {source_labels: [env, team], regex: '/cache', target_label: no_env, replacement: 'true'}
      - {source_labels: [nonexistent], target_label: team, replacement: ''}
      - {target_label: static, replacement: 'value'}
      - {source_labels: [__address__], regex: 'web-1:80', target_label: matched_exactly, replacement: 'yes'}
      - {source_labels: [__address__], regex: 'web', target_label: unanchored, replacement: 'wrong'}
      - {source_labels: [__address__], regex: '.*:(\d{4,})', target_label: high_port, replacement: '$1'}
      - {source_labels: [__address__], regex: '(.+):(\d+)', target_label: __address__, replacement: '$1.example:$2'}

  - job_name: keep_drop
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["a-1:1", "a-2:2", "b-1:3", "b-2:4", "c:5", "A-9:6", "d:7"]
        labels: {zone: eu}
    relabel_configs:
      - {source_labels: [__address__], regex: 'c:5', action: drop}
      - {source_labels: [__address__], regex: '(a|b|A)-\d:\d', action: keep}
      - {source_labels: [__address__], regex: '(?i)a-9:6', action: drop}
      - {source_labels: [zone, __address__], separator: '@', regex: 'eu@b-2:4', action: drop}
      - {source_labels: [missing], regex: '', action: keep}
      - {source_labels: [missing], regex: '.+', action: drop}

  - job_name: equal
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["h1:9100"]
        labels: {port: "9100", other: "9100"}
      - targets: ["h2:9100"]
        labels: {port: "9200", other: "9100"}
      - targets: ["h3:9100"]
        labels: {port: "9300", other: "9300"}
    relabel_configs:
      - {source_labels: [port], target_label: other, action: keepequal}
      - {source_labels: [__address__], regex: '[^:]+:(\d+)', target_label: __tmp_port}
      - {source_labels: [port], target_label: __tmp_port, action: dropequal}

  - job_name: hashmod
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["n0:1", "n1:1", "n2:1", "n3:1", "n4:1", "n5:1", "n6:1", "n7:1", "n8:1", "n9:1",
                  "n10:1", "n11:1", "n12:1", "n13:1", "n14:1", "n15:1", "n16:1", "n17:1", "n18:1", "n19:1"]
        labels: {shard_key: "k"}
    relabel_configs:
      - {source_labels: [__address__], target_label: __tmp_hash, modulus: 7, action: hashmod}
      - {source_labels: [__address__, shard_key], separator: '|', target_label: big_hash, modulus: 18446744073709551615, action: hashmod}
      - {source_labels: [__address__], target_label: hash2, modulus: 2, action: hashmod}
      - {source_labels: [__tmp_hash], regex: '[0-4]', action: keep}
      - {source_labels: [__tmp_hash], target_label: shard}
      - {regex: '__tmp_.*', action: labeldrop}

  - job_name: labelmap
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["10.0.0.1:8080"]
        labels:
          __meta_kubernetes_namespace: web
          __meta_kubernetes_pod_name: web-abc
          __meta_kubernetes_pod_label_app: frontend
          __meta_kubernetes_pod_label_tier: edge
          __meta_kubernetes_pod_labelpresent_app: "true"
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true"
          __meta_kubernetes_pod_annotation_prometheus_io_param_module: http_2xx
      - targets: ["10.0.0.2:8080"]
        labels:
          __meta_kubernetes_namespace: kube-system
          __meta_kubernetes_pod_name: dns-xyz
          __meta_kubernetes_pod_label_app: dns
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: "false"
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: 'true', action: keep}
      - {regex: '__meta_kubernetes_pod_label_(.+)', action: labelmap}
      - {regex: '__meta_kubernetes_pod_label_(.+)', replacement: 'k8s_${1}', action: labelmap}
      - {regex: '__meta_kubernetes_pod_annotation_prometheus_io_param_(.+)', replacement: '__param_$1', action: labelmap}
      - {regex: '__meta_kubernetes_(namespace|pod_name)', replacement: 'meta_$1', action: labelmap}
      - {regex: '__meta_kubernetes_pod_(label)present_(.*)', replacement: 'has_$2_$1', action: labelmap}
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {regex: 'k8s_tier|meta_pod_name', action: labeldrop}
      - {regex: '__.*|job|instance|app|tier|k8s_.+|meta_.+|namespace|has_.*', action: labelkeep}

  - job_name: case
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["Host-A:1"]
        labels: {name: "MiXeD Case", word: "straße", turkish: "İstanbul", greek: "ΣΑΣ ᾳ"}
      - targets: ["host-b:1"]
        labels: {name: "lower", word: "ǆ ǅ Ǆ"}
    relabel_configs:
      - {source_labels: [name], target_label: name_lower, action: lowercase}
      - {source_labels: [name], target_label: name_upper, action: uppercase}
      - {source_labels: [word], target_label: word_upper, action: uppercase}
      - {source_labels: [word], target_label: word_lower, action: lowercase}
      - {source_labels: [turkish], target_label: turkish_lower, action: lowercase}
      - {source_labels: [turkish], target_label: turkish_upper, action: uppercase}
      - {source_labels: [greek], target_label: greek_lower, action: lowercase}
      - {source_labels: [greek], target_label: greek_upper, action: uppercase}
      - {source_labels: [__address__], target_label: addr_upper, action: uppercase}
      - {source_labels: [missing], target_label: name, action: lowercase}
      - {source_labels: [name_upper, word], separator: '+', target_label: joined_lower, action: lowercase}

  - job_name: regex_corners
    scrape_interval: 30s
    scrape_timeout: 10s
    static_configs:
      - targets: ["t1:1"]
        labels: {v: "abc"}
      - targets: ["t2:1"]
        labels: {v: "héllo wörld"}
      - targets: ["t3:1"]
        labels: {v: "a.b*c"}
      - targets: ["t4:1"]
        labels: {v: "٣٤ 12"}
      - targets: ["t5:1"]
        labels: {v: "AbC-aBc"}
      - targets: ["t6:1"]
        labels: {v: "aaa"}
      - targets: ["t7:1"]
        labels: {v: "x{2}y"}
      - targets: ["t8:1"]
        labels: {v: "tab\there"}
      - targets: ["t9:1"]
        labels: {v: "٣٤"}
      - targets: ["t10:1"]
        labels: {v: "héllo"}
      - targets: ["t11:1"]
        labels: {v: "a\u00a0b"}
      - targets: ["t12:1"]
        labels: {v: "ſK"}
    relabel_configs:
      - {source_labels: [v], regex: '\w+', target_label: is_word, replacement: 'yes'}
      - {source_labels: [v], regex: '(\w+) (\w+)', target_label: two_words, replacement: '$2,$1'}
      - {source_labels: [v], regex: '(\pL+) (\pL+)', target_label: two_letter_runs, replacement: '$2,$1'}
      - {source_labels: [v], regex: '.*\b(\w+)\b.*', target_label: last_ascii_word, replacement: '$1'}
      - {source_labels: [v], regex: '(\d+)', target_label: digits, replacement: '$1'}
      - {source_labels: [v], regex: '.*?(\d+)', target_label: trailing_digits, replacement: '$1'}
      - {source_labels: [v], regex: '\QA.b*c\E|\Qa.b*c\E', target_label: quoted, replacement: 'yes'}
      - {source_labels: [v], regex: '(?i)(abc)-(ABC)', target_label: folded, replacement: '$2$1'}
      - {source_labels: [v], regex: '(a*)(a*)', target_label: greedy, replacement: '[$1][$2]'}
      - {source_labels: [v], regex: '(a*?)(a*)', target_label: lazy, replacement: '[$1][$2]'}
      - {source_labels: [v], regex: '(?U)(a*)(a*)', target_label: ungreedy, replacement: '[$1][$2]'}
      - {source_labels: [v], regex: 'a{2,3}', target_label: counted, replacement: 'yes'}
      - {source_labels: [v], regex: 'x\{2\}y|x{2}y', target_label: literal_braces, replacement: 'yes'}
      - {source_labels: [v], regex: 'x{2}y', target_label: counted_braces, replacement: 'yes'}
      - {source_labels: [v], regex: '[[:alpha:]]+', target_label: posix_alpha, replacement: 'yes'}
      - {source_labels: [v], regex: '[^[:space:]]*\t[[:alpha:]]+', target_label: posix_space, replacement: 'yes'}
      - {source_labels: [v], regex: '\x61\141[\x{62}c]', target_label: escapes, replacement: 'yes'}
      - {source_labels: [v], regex: '(h)(é)llo.*', target_label: unicode_literal, replacement: '$2$1'}
      - {source_labels: [v], regex: '[a-c]+|aaa', target_label: alternation_first, replacement: '${0}'}
      - {source_labels: [v], regex: '()', target_label: empty_group, replacement: 'x$1x'}
      - {source_labels: [v], regex: '(b)|abc', target_label: group_not_taken, replacement: '<$1>'}
      - {source_labels: [v], regex: '(?:a|ab)(c|bcd)(d*)', target_label: leftmost_first, replacement: '$1/$2'}
      - {source_labels: [v], regex: '\S+\s\S+', target_label: perl_space, replacement: 'yes'}
      - {source_labels: [v], regex: '\D+', target_label: non_digits, replacement: 'yes'}
      - {source_labels: [v], regex: '[\d ]+|[٣٤ 0-9]+', target_label: class_mix, replacement: '$0'}
      - {source_labels: [v], regex: '(?i)sk', target_label: folded_ascii, replacement: 'yes'}
      - {source_labels: [v], regex: '(?i)[^s][^k]', target_label: folded_negated, replacement: 'yes'}
      - {source_labels: [v], regex: '(?i)\W+', target_label: folded_non_word, replacement: 'yes'}

  - job_name: population
    scrape_interval: 1m
    scrape_timeout: 15s
    metrics_path: /probe
    scheme: https
    params:
      module: [http_2xx, ignored]
      extra: [e]
    static_configs:
      - targets: ["plain:443"]
        labels: {group_label: g, shared: from_group}
      - targets: ["override:8443"]
        labels:
          __scheme__: http
          __metrics_path__: /other
          job: custom_job
          instance: custom_instance
          shared: from_group
      - targets: ["bad:1", "noaddr:1", "slash:1", "timeout:1", "interval:1", "zero:1", "meta:1"]
        labels: {kind: errors}
    relabel_configs:
      - {source_labels: [__address__], regex: 'noaddr:1', target_label: __address__, replacement: ''}
      - {source_labels: [__address__], regex: 'slash:1', target_label: __address__, replacement: 'http://slash:1/x'}
      - {source_labels: [__address__], regex: 'timeout:1', target_label: __scrape_timeout__, replacement: '2m'}
      - {source_labels: [__address__], regex: 'interval:1', target_label: __scrape_interval__, replacement: '1x'}
      - {source_labels: [__address__], regex: 'zero:1', target_label: __scrape_interval__, replacement: '0s'}
      - {source_labels: [__address__], regex: 'meta:1', target_label: __meta_extra, replacement: 'gone'}
      - {source_labels: [__address__], regex: 'meta:1', target_label: __tmp_kept, replacement: 'kept'}
      - {source_labels: [__address__], regex: 'bad:1', target_label: __param_module, replacement: 'changed'}
"#;

#[test]
fn populate_agrees_with_promtool_check_service_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, CORPUS).unwrap();
    let config: Config = serde_yaml::from_str(CORPUS).expect("corpus parses");
    assert!(config.scrape_configs.len() >= 8);

    // promtool waits for its full --timeout per job: run the jobs side by side.
    let handles: Vec<_> = config
        .scrape_configs
        .iter()
        .map(|job| {
            let path = path.clone();
            let name = job.job_name.clone();
            std::thread::spawn(move || (name.clone(), promtool(&path, &name)))
        })
        .collect();
    let theirs: BTreeMap<String, BTreeSet<Outcome>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut failures = Vec::new();
    for job in &config.scrape_configs {
        let ours = ours(job);
        let promtool = &theirs[&job.job_name];
        assert!(!ours.is_empty(), "job {} has targets", job.job_name);
        failures.extend(differences(&job.job_name, promtool, &ours));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The CLI prints what promtool prints: dropped targets as `"labels": {}` without error,
    // real errors as errors.
    let mut failures = Vec::new();
    for job in &config.scrape_configs {
        let ours = promsd_cli(&path, &job.job_name);
        failures.extend(differences(&job.job_name, &theirs[&job.job_name], &ours));
    }
    assert!(failures.is_empty(), "CLI: {}", failures.join("\n"));

    // The corpus exercises what it claims: every action, drops, failures and scraped targets.
    let all: Vec<&RelabelConfig> = config
        .scrape_configs
        .iter()
        .flat_map(|j| &j.relabel_configs)
        .collect();
    for action in promsd::relabel::Action::ALL {
        assert!(
            all.iter().any(|r| r.action() == action),
            "corpus lacks {action}"
        );
    }
    let outcomes: Vec<Outcome> = config.scrape_configs.iter().flat_map(ours).collect();
    assert!(outcomes.iter().any(|o| matches!(o, Outcome::Failed)));
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Dropped { .. })));
    assert!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Scraped { .. }))
            .count()
            > 20
    );
}
