//! The `promsd` command line: its subcommands and what each prints. `main.rs` only dispatches.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// Exit code of a subcommand that is not implemented yet.
pub const NOT_IMPLEMENTED: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "promsd",
    version,
    about = "Prometheus-compatible service discovery as a daemon"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check configuration files and discovery, like `promtool check`.
    #[command(subcommand)]
    Check(Check),
    /// Run the daemon.
    Run(Run),
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
pub struct CheckServiceDiscovery {
    pub config: PathBuf,
    pub job: String,
}

#[derive(Debug, Args)]
pub struct Run {
    /// The Prometheus configuration file.
    #[arg(long = "config.file", default_value = "prometheus.yml")]
    pub config_file: PathBuf,
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

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(Check::Config(args)) => {
            check_config(&args, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Command::Check(Check::ServiceDiscovery(_)) | Command::Run(_) => {
            eprintln!("not implemented yet");
            NOT_IMPLEMENTED
        }
    }
}
