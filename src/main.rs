//! The `promsd` binary: parses the command line and hands it to `promsd::cli`.

use std::process::ExitCode;

use clap::Parser;

/// See the note on `tikv-jemallocator` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings (still overridden by `_RJEM_MALLOC_CONF`): freed pages go back to the
/// system within a second, by a background thread, instead of staying resident for 10 s after
/// a burst such as a large file SD change (until the next allocation looks at them).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000\0";

fn main() -> ExitCode {
    ExitCode::from(promsd::cli::run(promsd::cli::Cli::parse()))
}
