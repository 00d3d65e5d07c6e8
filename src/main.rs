//! The `promsd` binary: parses the command line and hands it to `promsd::cli`.

use std::process::ExitCode;

use clap::Parser;

/// See the note on `tikv-jemallocator` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ExitCode::from(promsd::cli::run(promsd::cli::Cli::parse()))
}
