//! Secrets from the configuration never show: not in `promsd check config` output (success or
//! failure), not in the loaded config's Debug form, not in its YAML form.

mod config_support;

use std::process::Command;

use promsd::config::Config;

/// Every secret value in the corpus starts with this.
const MARK: &str = "s3cr3t";

fn check_config(files: &[&std::path::Path]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args(["check", "config"])
        .args(files)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn loaded_configs_never_show_secrets() {
    let mut seen = 0;
    let mut shown_hidden = 0;
    for file in config_support::corpus("valid") {
        let text = std::fs::read_to_string(&file).unwrap();
        if !text.contains(MARK) {
            continue;
        }
        seen += 1;
        let Ok(config) = Config::load_file(&file) else {
            continue;
        };
        let debug = format!("{config:?}");
        let yaml = config.to_yaml();
        assert!(
            !debug.contains(MARK),
            "{}: Debug shows a secret",
            file.display()
        );
        assert!(
            !yaml.contains(MARK),
            "{}: YAML shows a secret",
            file.display()
        );
        shown_hidden += usize::from(yaml.contains("<secret>"));
        let output = check_config(&[&file]);
        assert!(!output.contains(MARK), "{output}");
    }
    assert!(seen >= 4, "the corpus should hold configs with secrets");
    assert!(
        shown_hidden >= 4,
        "secrets are kept and printed as <secret>"
    );
}

#[test]
fn errors_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password: s3cr3t-1, password_file: f}\n",
        "scrape_configs:\n- job_name: a\n  bearer_token: s3cr3t-2\n  bearer_token_file: f\n",
        "scrape_configs:\n- job_name: a\n  authorization: {type: Basic, credentials: s3cr3t-3}\n",
        "scrape_configs:\n- job_name: a\n  proxy_url: 'http://u:s3cr3t-4@[::1:3128'\n",
        "scrape_configs:\n- job_name: a\n  oauth2: {client_id: c, client_secret: s3cr3t-5}\n",
        "scrape_configs:\n- job_name: a\n  tls_config: {key: s3cr3t-6}\n",
        "scrape_configs:\n- job_name: a\n  http_headers: {Authorization: {secrets: [s3cr3t-7]}}\n",
        "scrape_configs:\n- job_name: a\n  bearer_token: s3cr3t-8\n  unknown: 1\n",
    ];
    for (i, yaml) in cases.iter().enumerate() {
        let file = dir.path().join(format!("{i}.yml"));
        std::fs::write(&file, yaml).unwrap();
        let err = Config::load_file(&file).expect_err(yaml);
        assert!(!format!("{err} {err:?}").contains(MARK), "{err}");
        let output = check_config(&[&file]);
        assert!(output.contains("FAILED"), "{output}");
        assert!(!output.contains(MARK), "{output}");
    }
}
