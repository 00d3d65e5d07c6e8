//! The `promsd` binary: parses the command line and hands it to `promsd::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ExitCode::from(promsd::cli::run(promsd::cli::Cli::parse()))
}
