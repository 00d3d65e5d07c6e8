//! Captures what `promsd --version` and `promsd_build_info` report about the build, as
//! Prometheus' release tooling (promu) passes them to `prometheus/common/version` by `-ldflags`:
//! the git revision and branch, the build user and date, the compiler version and the target.
//! Anything unknown (no git, e.g. a source tarball; no `rustc --version`) is "unknown".
//! `PROMSD_BUILD_*` variables override each value (packagers building outside git), and
//! `SOURCE_DATE_EPOCH` fixes the build date for reproducible builds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let git_dirs = git(&["rev-parse", "--git-dir", "--git-common-dir"]);
    let revision = value("PROMSD_BUILD_REVISION", || git(&["rev-parse", "HEAD"]));
    let branch = value("PROMSD_BUILD_BRANCH", || {
        git(&["rev-parse", "--abbrev-ref", "HEAD"])
    });
    let user = value("PROMSD_BUILD_USER", build_user);
    let date = value("PROMSD_BUILD_DATE", build_date);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rust_version = run(Command::new(rustc).arg("--version"))
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned));
    let target = std::env::var("TARGET").ok();
    // The enabled cargo features (the discovery mechanisms), in place of Go's build tags.
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .filter(|f| f != "DEFAULT")
        .map(|f| {
            let f = f.to_lowercase().replace('_', "-");
            f.strip_prefix("sd-").map(str::to_owned).unwrap_or(f)
        })
        .collect();
    features.sort();
    let tags = (!features.is_empty()).then(|| features.join(","));

    for (key, v) in [
        ("PROMSD_REVISION", revision),
        ("PROMSD_BRANCH", branch),
        ("PROMSD_BUILD_USER", user),
        ("PROMSD_BUILD_DATE", date),
        ("PROMSD_RUST_VERSION", rust_version),
        ("PROMSD_TARGET", target),
        ("PROMSD_TAGS", tags),
    ] {
        println!(
            "cargo:rustc-env={key}={}",
            v.unwrap_or_else(|| "unknown".to_owned())
        );
    }

    // Run again when HEAD moves (a commit, a checkout), not on every source change: the
    // build date is the date of the first build of a revision.
    println!("cargo:rerun-if-changed=build.rs");
    for key in [
        "PROMSD_BUILD_REVISION",
        "PROMSD_BUILD_BRANCH",
        "PROMSD_BUILD_USER",
        "PROMSD_BUILD_DATE",
        "SOURCE_DATE_EPOCH",
    ] {
        println!("cargo:rerun-if-env-changed={key}");
    }
    if let Some(dirs) = git_dirs {
        let mut dirs = dirs.lines().map(PathBuf::from);
        let (git_dir, common_dir) = (dirs.next(), dirs.next());
        if let Some(git_dir) = &git_dir {
            watch(&git_dir.join("HEAD"));
        }
        if let Some(common_dir) = common_dir.or(git_dir) {
            watch(&common_dir.join("packed-refs"));
            if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch(&common_dir.join(head));
            }
        }
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// An override from the environment, else the computed value.
fn value(key: &str, compute: impl FnOnce() -> Option<String>) -> Option<String> {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(compute)
}

fn git(args: &[&str]) -> Option<String> {
    run(Command::new("git").args(args))
}

/// The command's trimmed standard output when it succeeds with some.
fn run(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// `user@host`, as promu's `{{user}}@{{host}}`.
fn build_user() -> Option<String> {
    let user = std::env::var("USER")
        .ok()
        .or_else(|| run(Command::new("id").arg("-un")))?;
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| run(&mut Command::new("hostname")))?;
    Some(format!("{user}@{host}"))
}

/// `YYYYMMDD-HH:MM:SS` in UTC (promu's `{{date "20060102-15:04:05"}}`), now or at
/// `SOURCE_DATE_EPOCH`.
fn build_date() -> Option<String> {
    // Set but empty (a Docker ARG nobody passed) counts as unset.
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .filter(|e| !e.trim().is_empty());
    let secs = match epoch {
        Some(epoch) => epoch.trim().parse::<i64>().ok()?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64,
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}{m:02}{d:02}-{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
