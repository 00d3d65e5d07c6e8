//! Whatever YAML it is given, the config loader answers (a config or an error) and never
//! panics: random text, random token soups built from config keys and YAML syntax, and
//! random edits of the corpus.

mod config_support;

use std::path::Path;

use promsd::config::Config;
use proptest::prelude::*;

fn load(text: &str) {
    let _ = Config::load_str(text, Path::new("fuzz.yml"), Path::new("/tmp"));
}

const TOKENS: &[&str] = &[
    "global:",
    "scrape_configs:",
    "alerting:",
    "alertmanagers:",
    "scrape_config_files:",
    "rule_files:",
    "- job_name: a",
    "job_name:",
    "static_configs:",
    "targets:",
    "labels:",
    "- targets: ['a:1']",
    "scrape_interval: 5s",
    "scrape_timeout: 10s",
    "relabel_configs:",
    "tls_config:",
    "basic_auth:",
    "oauth2:",
    "authorization:",
    "bearer_token: x",
    "file_sd_configs:",
    "consul_sd_configs:",
    "http_headers:",
    "proxy_url:",
    "params:",
    "external_labels:",
    "- ",
    "  ",
    "    ",
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a",
    "*a",
    "<<: *a",
    "!!str",
    "!!map",
    "~",
    "null",
    "''",
    "\"",
    "'",
    "#",
    "|",
    ">",
    "?",
    "---",
    "...",
    "\t",
    "1",
    "-1",
    "0x10",
    "1e3",
    "true",
    "yes",
    "15s",
    "1h30m",
    "http://h/x",
    "\u{feff}",
    "é",
    "%",
    "@",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::collection::vec(prop::sample::select(TOKENS), 0..6).prop_map(|t| t.join(" ")),
        0..30,
    )
    .prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in ".{0,400}") {
        load(&text);
    }

    #[test]
    fn token_soup_never_panics(text in soup()) {
        load(&text);
    }

    #[test]
    fn edited_corpus_never_panics(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, prop::sample::select(TOKENS)), 1..8),
    ) {
        let mut files = config_support::corpus("valid");
        files.extend(config_support::corpus("invalid"));
        let mut text = std::fs::read_to_string(pick.get(&files)).unwrap();
        for (at, cut, token) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            let mut end = (i + cut).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(i..end, token);
        }
        load(&text);
    }
}
