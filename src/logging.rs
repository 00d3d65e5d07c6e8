//! Logging for the CLI and the daemon: tracing with Prometheus' flags `--log.level`
//! (debug, info, warn, error) and `--log.format` (logfmt, json), to standard error.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// Installs the global subscriber. Unknown levels or formats are rejected with a message.
pub fn init(level: &str, format: &str) -> Result<(), String> {
    let level: LevelFilter = match level {
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        other => return Err(format!("unrecognized log level {other:?}")),
    };
    let registry = tracing_subscriber::registry().with(level);
    let result = match format {
        "logfmt" => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        "json" => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        other => return Err(format!("unrecognized log format {other:?}")),
    };
    result.map_err(|e| e.to_string())
}
