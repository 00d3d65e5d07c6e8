//! What `promsd --version` and the `promsd_build_info` metric say about the build, as
//! Prometheus' `prometheus/common/version` does for every Prometheus binary: the version, the
//! git revision and branch, the build user and date (captured by `build.rs`; "unknown" when
//! built outside git), and, in place of Go's version, the Rust compiler's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = env!("PROMSD_REVISION");
pub const BRANCH: &str = env!("PROMSD_BRANCH");
pub const BUILD_USER: &str = env!("PROMSD_BUILD_USER");
pub const BUILD_DATE: &str = env!("PROMSD_BUILD_DATE");
pub const RUST_VERSION: &str = env!("PROMSD_RUST_VERSION");
/// The target triple the binary was built for.
pub const TARGET: &str = env!("PROMSD_TARGET");

/// `os/arch`, as Go's `GOOS/GOARCH` in Prometheus' `platform:` line.
pub fn platform() -> String {
    format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The enabled cargo features (the discovery mechanisms, `sd-` dropped), in place of Go's
/// build tags.
pub const TAGS: &str = env!("PROMSD_TAGS");

/// `promsd --version`: Prometheus' `version.Print("prometheus")` layout.
pub fn print(program: &str) -> String {
    format!(
        "{program}, version {VERSION} (branch: {BRANCH}, revision: {REVISION})\n  \
         build user:       {BUILD_USER}\n  \
         build date:       {BUILD_DATE}\n  \
         rust version:     {RUST_VERSION}\n  \
         platform:         {platform}\n  \
         tags:             {TAGS}",
        platform = platform(),
    )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildInfoLabels {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    rustversion: &'static str,
}

/// `promsd_build_info{version, revision, branch, rustversion} 1`, as Prometheus'
/// `prometheus_build_info` (with `goversion`).
pub fn register_build_info(registry: &mut Registry) {
    let family = Family::<BuildInfoLabels, Gauge>::default();
    family
        .get_or_create(&BuildInfoLabels {
            version: VERSION,
            revision: REVISION,
            branch: BRANCH,
            rustversion: RUST_VERSION,
        })
        .set(1);
    registry.register(
        "promsd_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, and rustversion from which promsd was built.",
        family,
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn print_has_prometheus_layout() {
        let text = super::print("promsd");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[0].starts_with(&format!("promsd, version {}", super::VERSION)));
        for (line, key) in lines[1..].iter().zip([
            "build user:",
            "build date:",
            "rust version:",
            "platform:",
            "tags:",
        ]) {
            assert!(line.starts_with(&format!("  {key}")), "{line}");
        }
    }
}
