//! The `promsd` command line: its subcommands and what each prints. `main.rs` only dispatches.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "promsd",
    about = "Prometheus-compatible service discovery as a daemon",
    disable_version_flag = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print version information (as Prometheus' `--version`).
    #[arg(long, short = 'V')]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check configuration files and discovery, like `promtool check`.
    #[command(subcommand)]
    Check(Check),
    /// Run the daemon.
    Run(Run),
    /// Show what changing OLD to NEW does to the targets (exit 0: no difference, 1: some, 2: error).
    Diff(Diff),
}

#[derive(Debug, Subcommand)]
pub enum Check {
    /// Check that Prometheus configuration files are valid.
    Config(CheckConfig),
    /// Run the discovery of one job and print its targets as promtool does.
    ServiceDiscovery(CheckServiceDiscovery),
}

#[derive(Debug, Args)]
pub struct CheckConfig {
    /// Accepted for compatibility with promtool: promsd never opens the files a config refers
    /// to (other than `scrape_config_files`).
    #[arg(long)]
    pub syntax_only: bool,
    /// The configuration files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Diff {
    /// The running configuration.
    pub old: PathBuf,
    /// The candidate configuration.
    pub new: PathBuf,
    /// Compare only these jobs (repeatable); all jobs of both configs by default.
    #[arg(long = "job")]
    pub jobs: Vec<String>,
    /// `text` (a summary per job) or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// How long to wait for a mechanism that never answers.
    #[arg(long, default_value = "30s")]
    pub timeout: crate::common::Duration,
}

#[derive(Debug, Args)]
pub struct CheckServiceDiscovery {
    /// The Prometheus configuration file.
    pub config: PathBuf,
    /// The job whose targets to discover.
    pub job: String,
    /// How long to wait for a mechanism that never answers (promsd returns as soon as every
    /// provider of the job has delivered its first state).
    #[arg(long, default_value = "30s")]
    pub timeout: crate::common::Duration,
}

#[derive(Debug, Args)]
pub struct Run {
    /// The Prometheus configuration file.
    #[arg(long = "config.file", default_value = "prometheus.yml")]
    pub config_file: PathBuf,
    /// Where to serve HTTP SD, the API, metrics and the web page (`:9099` = every interface).
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9099")]
    pub listen_address: String,
    /// TLS, basic authentication and response headers for every endpoint, in Prometheus'
    /// exporter-toolkit format (`tls_server_config`, `basic_auth_users`, `http_server_config`).
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Allow `POST`/`PUT /-/reload` (without it: 403, as in Prometheus; SIGHUP always reloads).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// Allow `POST /api/v1/diff` (a candidate config makes promsd read files and call servers).
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,
    /// Write each job's targets as a file SD file into this directory.
    #[arg(long = "output.file-sd.dir")]
    pub file_sd_dir: Option<PathBuf>,
    /// With `--output.file-sd.dir`: write each job as this many shard files instead of one.
    #[arg(long = "output.file-sd.shards", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::shard::MAX_SHARDS)))]
    pub file_sd_shards: Option<u32>,
    /// Minimum time between two target updates after the first (Prometheus' is 5s).
    #[arg(long = "discovery.update-interval", default_value = "5s")]
    pub update_interval: crate::common::Duration,
    /// `/-/ready` answers ready after this even if a mechanism has not answered yet.
    #[arg(long = "web.ready-timeout", default_value = "30s")]
    pub ready_timeout: crate::common::Duration,
    /// Warm start: keep the last good discovered state in this file and serve it at start
    /// until discovery answers again.
    #[arg(long = "storage.state-file")]
    pub state_file: Option<PathBuf>,
    /// Only log messages at this level or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Log format: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

/// `promsd run`: the daemon, until SIGTERM or SIGINT.
pub fn run_daemon(args: &Run) -> u8 {
    if let Err(e) = crate::logging::init(&args.log_level, &args.log_format) {
        eprintln!("promsd: {e}");
        return 2;
    }
    let listen_address = match args.listen_address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => args.listen_address.clone(),
    };
    let options = crate::daemon::RunOptions {
        config_file: args.config_file.clone(),
        listen_address,
        file_sd_dir: args.file_sd_dir.clone(),
        file_sd_shards: args.file_sd_shards,
        sd_interval: args.update_interval.as_std(),
        ready_timeout: args.ready_timeout.as_std(),
        state_file: args.state_file.clone(),
        web_config_file: args.web_config_file.clone(),
        enable_lifecycle: args.enable_lifecycle,
        enable_admin_api: args.enable_admin_api,
    };
    let planner: crate::daemon::Planner =
        std::sync::Arc::new(|path: &std::path::Path| crate::plan::plan_file(path));
    match crate::daemon::run(options, planner, crate::discovery::register_metrics) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "promsd stopped");
            eprintln!("promsd: {e}");
            1
        }
    }
}

/// `promsd check config FILE...`: promtool's output, one block per file; 0 if all are valid,
/// 1 otherwise.
pub fn check_config(args: &CheckConfig, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let mut failed = false;
    for file in &args.files {
        let _ = writeln!(out, "Checking {}", file.display());
        match Config::load_file(file) {
            Ok(_) => {
                let _ = writeln!(
                    out,
                    " SUCCESS: {} is valid prometheus config file syntax",
                    file.display()
                );
            }
            Err(e) => {
                let _ = writeln!(err, "  FAILED: {e}");
                failed = true;
            }
        }
        let _ = writeln!(out);
    }
    u8::from(failed)
}

/// One entry of `check service-discovery`'s output, in promtool's shape.
#[derive(serde::Serialize, PartialEq)]
struct SdCheckResult {
    #[serde(rename = "discoveredLabels")]
    discovered_labels: promsd_actors::LabelSet,
    labels: promsd_actors::LabelSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Go's `encoding/json` escapes these inside strings; so do we, to print the same bytes.
fn go_json_escapes(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `promsd check service-discovery CONFIG JOB`: runs the job's discovery through the engine
/// until every provider has delivered its first state (or `--timeout`), then prints each
/// target's discovered and final labels as promtool does. Differences from promtool 2.42, on
/// purpose: `discoveredLabels` are the true labels before relabeling, a target's error is a
/// string, and targets are listed in a stable order.
pub fn check_service_discovery(
    args: &CheckServiceDiscovery,
    out: &mut impl Write,
    err: &mut impl Write,
) -> u8 {
    let config = match Config::load_file(&args.config) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "Cannot load config {e}");
            return 1;
        }
    };
    let Some(scrape) = config.scrape_config(&args.job) else {
        let _ = writeln!(err, "Job {} not found. Select one of:", args.job);
        for s in &config.scrape_configs {
            let _ = writeln!(err, "\t{}", s.job_name());
        }
        return 1;
    };
    let snapshot =
        crate::plan::discover_once(&args.job, scrape.discovery.clone(), args.timeout.as_std());
    let populator = crate::relabel::Populator::new(&crate::plan::scrape_params(scrape));
    // promtool collects the job's groups by source string across all its discoverers, and
    // lists each distinct result once per source (`cmd/promtool/sd.go`, getSDCheckResult).
    let mut by_source: std::collections::BTreeMap<&str, Vec<&promsd_actors::TargetGroup>> =
        std::collections::BTreeMap::new();
    if let Some(job) = snapshot.job(&args.job) {
        for (_, group) in job.groups() {
            by_source.entry(&group.source).or_default().push(group);
        }
    }
    let mut results: Vec<SdCheckResult> = Vec::new();
    for groups in by_source.values() {
        let start = results.len();
        for group in groups {
            for populated in crate::plan::populate_group(&populator, group) {
                let (labels, error) = match populated.result {
                    Ok(labels) => (labels, None),
                    // A target dropped by relabeling has no labels and no error, as promtool
                    // 3.x prints it (PopulateLabels returns none for a drop).
                    Err(crate::relabel::NotScraped::Dropped(_)) => {
                        (promsd_actors::LabelSet::new(), None)
                    }
                    Err(e) => (promsd_actors::LabelSet::new(), Some(e.to_string())),
                };
                let result = SdCheckResult {
                    discovered_labels: populated.discovered,
                    labels,
                    error,
                };
                if !results[start..].contains(&result) {
                    results.push(result);
                }
            }
        }
    }
    match serde_json::to_string_pretty(&results) {
        Ok(json) => {
            let _ = write!(out, "{}", go_json_escapes(json));
            0
        }
        Err(e) => {
            let _ = write!(err, "Could not marshal result json: {e}");
            1
        }
    }
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let command = match cli.command {
        _ if cli.version => {
            println!("{}", crate::version::print("promsd"));
            return 0;
        }
        Some(command) => command,
        None => {
            let help = <Cli as clap::CommandFactory>::command().render_help();
            eprintln!("{help}");
            return 2;
        }
    };
    match command {
        Command::Check(Check::Config(args)) => {
            check_config(&args, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Command::Check(Check::ServiceDiscovery(args)) => {
            // Discovery errors (refused, TLS, auth) go to standard error as promtool logs
            // them; the JSON on standard output stays clean.
            let _ = crate::logging::init("warn", "logfmt");
            check_service_discovery(&args, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Command::Run(args) => run_daemon(&args),
        Command::Diff(args) => {
            let _ = crate::logging::init("warn", "logfmt");
            crate::diff::run(
                &args.old,
                &args.new,
                &args.jobs,
                args.format == "json",
                args.timeout.as_std(),
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )
        }
    }
}
