//! One config change used by the `promsd diff` tests, the diff API's and the page's preview:
//! a relabel rule changed in `node` (file SD over `targets.json`), `legacy` removed, `fresh` added.
#![allow(dead_code)]

/// `targets.json` beside both configs.
pub const TARGETS: &str = r#"[{"targets": ["a:1", "c:1"], "labels": {"env": "prod"}}, {"targets": ["b:1"], "labels": {"env": "staging"}}]"#;

/// The config before the change.
pub const OLD: &str = "scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets.json]}]
    relabel_configs:
      - {source_labels: [env], regex: staging, action: drop}
  - job_name: legacy
    static_configs: [{targets: ['old:1']}]
";

/// The config after the change.
pub const NEW: &str = "scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets.json]}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'c:1', target_label: team, replacement: x}
  - job_name: fresh
    static_configs: [{targets: ['new:1']}]
";
