//! What the config tests share: the corpus under `tests/config/` and how to read its
//! `# expect:` headers.

#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};

/// The corpus directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config")
}

/// The `*.yml` files directly in `tests/config/<kind>` (`valid` or `invalid`), sorted.
pub fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "corpus {kind} is nearly empty");
    files
}

/// The expected `line:column: message` of an invalid config, from its first line
/// `# expect: ...`.
pub fn expectation(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} has no `# expect:` first line", file.display()))
        .to_owned()
}

/// The mechanisms a config uses (`<name>_sd_configs` keys) that promsd does not implement yet.
pub fn unimplemented_mechanisms(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .filter_map(|l| l.trim_start().split_once("_sd_configs:").map(|(k, _)| k))
        .filter(|name| {
            promsd::discovery::PROMETHEUS_MECHANISMS.contains(name)
                && !promsd::discovery::IMPLEMENTED.contains(name)
        })
        .map(str::to_owned)
        .collect()
}

/// A corpus path relative to the corpus directory, e.g. `valid/minimal.yml`.
pub fn short(file: &Path) -> String {
    file.strip_prefix(corpus_dir())
        .unwrap_or(file)
        .display()
        .to_string()
}
