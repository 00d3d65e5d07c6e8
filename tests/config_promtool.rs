//! Cross-check with the real `promtool check config --syntax-only` (Prometheus 2.42, Debian's
//! `prometheus` package): for every config of the corpus, promsd accepts exactly what
//! promtool accepts, apart from the differences listed in [`DIFFERENCES`]. Fails, never
//! skips, when promtool is missing.

mod config_support;

use std::path::Path;
use std::process::Command;

use config_support::{corpus, short, unimplemented_mechanisms};
use promsd::config::Config;

/// Every known difference between promsd (following Prometheus 3.x) and promtool 2.42, in one
/// place. Besides these files, a config using a mechanism promsd does not implement yet is
/// rejected by promsd and may be accepted by promtool (see `unimplemented_mechanisms`).
const DIFFERENCES: &[(&str, &str)] = &[
    // Mechanisms and keys of 3.x that promtool 2.42 does not know.
    (
        "valid/prometheus_conf_good.yml",
        "Prometheus 3.14's own conf.good.yml: keys and mechanisms after 2.42",
    ),
    (
        "valid/aws_every_key.yml",
        "aws_sd_configs and new EC2/Lightsail keys arrived after 2.42",
    ),
    (
        "valid/azure_every_key.yml",
        "Azure keys added after 2.42 (authentication methods, HTTP settings)",
    ),
    (
        "valid/docker_sd.yml",
        "Docker SD keys added after 2.42 (match_first_network, HTTP settings)",
    ),
    ("valid/kuma_sd.yml", "Kuma SD keys added after 2.42"),
    (
        "valid/openstack_sd.yml",
        "OpenStack SD keys added after 2.42",
    ),
    (
        "valid/small_clouds_every_key.yml",
        "Hetzner/DigitalOcean/Linode/Vultr keys added after 2.42",
    ),
    // 3.x rejects what 2.42 accepted.
    (
        "invalid/azure_bearertoken_basicauth.yml",
        "3.x checks Azure's HTTP settings; 2.42 did not",
    ),
    (
        "invalid/ec2_token_file.yml",
        "3.x rejects HTTP auth on EC2 SD; 2.42 did not",
    ),
    (
        "invalid/lightsail_token_file.yml",
        "3.x rejects HTTP auth on Lightsail SD; 2.42 did not",
    ),
    (
        "invalid/puppetdb_token_file.yml",
        "3.x checks PuppetDB's HTTP settings; 2.42 did not",
    ),
    (
        "invalid/uyuni_token_file.yml",
        "3.x checks Uyuni's HTTP settings; 2.42 did not",
    ),
    // promsd's own rule: Prometheus accepts an interval of 0, then spins or panics.
    (
        "invalid/azure_zero_refresh_interval.yml",
        "a zero refresh_interval is a config error in promsd",
    ),
    (
        "invalid/docker_sd_zero_refresh_interval.yml",
        "a zero refresh_interval is a config error in promsd",
    ),
    (
        "invalid/ec2_zero_refresh_interval.yml",
        "a zero refresh_interval is a config error in promsd",
    ),
    (
        "valid/global_3x.yml",
        "global keys added after 2.42 (scrape_protocols, limits, name validation, ...)",
    ),
    (
        "valid/scrape_3x.yml",
        "scrape keys added after 2.42 (scrape_protocols, http_headers, no_proxy, ...)",
    ),
    (
        "valid/scrape_config_files.yml",
        "scrape_config_files arrived in 2.43",
    ),
    (
        "valid/http_every_key.yml",
        "HTTP keys added after 2.42 (*_ref, JWT bearer oauth2, username_file, ...)",
    ),
    (
        "valid/http_basic_auth_file.yml",
        "inline tls_config ca/cert/key arrived after 2.42",
    ),
    (
        "valid/utf8_external_labels.yml",
        "3.x accepts UTF-8 label names; 2.42 only legacy ones",
    ),
    (
        "valid/utf8_relabel_target_label.yml",
        "3.x accepts UTF-8 label names; 2.42 only legacy ones",
    ),
    (
        "invalid/alertmanager_api_v1.yml",
        "3.x dropped Alertmanager API v1; 2.42 still accepts it",
    ),
    (
        "invalid/remote_write_queue_backoff.yml",
        "remote write queue_config checks arrived after 2.42",
    ),
    (
        "invalid/remote_write_queue_capacity.yml",
        "remote write queue_config checks arrived after 2.42",
    ),
    (
        "invalid/remote_write_queue_shards.yml",
        "remote write queue_config checks arrived after 2.42",
    ),
    (
        "valid/kuma_sd.yml",
        "Debian builds promtool 2.42 without Kuma SD (kuma_sd_configs is an unknown field)",
    ),
    (
        "valid/checked_sections_3x.yml",
        "storage.tsdb.retention, chunk_encoding, otlp and protobuf_message arrived after 2.42",
    ),
];

/// promtool's verdict on `file`, and what it printed on stdout when it accepted it.
fn promtool(file: &Path) -> Option<String> {
    let out = Command::new("promtool")
        .args(["check", "config", "--syntax-only"])
        .arg(file)
        .output()
        .expect("promtool must be installed (Debian package `prometheus`) for this test");
    match out.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Some(1) => None,
        other => panic!(
            "promtool exited with {other:?} on {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// What `promsd check config` prints on stdout for `file`.
fn promsd_stdout(file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args(["check", "config"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn promsd_accepts_what_promtool_accepts() {
    let mut disagreements = Vec::new();
    let mut listed_but_agreeing = Vec::new();
    let mut files = corpus("valid");
    files.extend(corpus("invalid"));
    for file in files {
        let name = short(&file);
        let ours = Config::load_file(&file);
        let promtool_said = promtool(&file);
        let theirs = promtool_said.is_some();
        let differs = ours.is_ok() != theirs;
        let listed = DIFFERENCES.iter().any(|(f, _)| *f == name);
        let unimplemented = !unimplemented_mechanisms(&file).is_empty();
        if let (Some(said), Ok(_)) = (&promtool_said, &ours) {
            assert_eq!(
                &promsd_stdout(&file),
                said,
                "{name}: output differs from promtool's"
            );
        }
        if listed && !differs {
            listed_but_agreeing.push(name);
        } else if differs && !listed && !(unimplemented && theirs) {
            disagreements.push(format!(
                "{name}: promtool {}, promsd {}",
                if theirs { "accepts" } else { "rejects" },
                match ours {
                    Ok(_) => "accepts".to_owned(),
                    Err(e) => format!("rejects: {e}"),
                }
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "undocumented differences with promtool:\n{}",
        disagreements.join("\n")
    );
    assert!(
        listed_but_agreeing.is_empty(),
        "listed as differences but promtool agrees (update DIFFERENCES): {listed_but_agreeing:?}"
    );
}
