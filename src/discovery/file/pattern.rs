//! File SD patterns with Go's semantics: which files a `files` entry names, and how their paths
//! are spelled.
//!
//! Prometheus expands each pattern with Go's `filepath.Glob` and labels every group with the
//! path exactly as `Glob` returns it (the pattern itself when it has no wildcard, otherwise the
//! directory joined with the entry name and cleaned). Sources and `__meta_filepath` must agree
//! with Prometheus, so this module reproduces `filepath.Match`, `Glob` and `Clean` for Unix
//! paths rather than borrowing a Rust glob crate with different rules (`[!a]`, `**`, escapes).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Why a pattern cannot be matched: Go's `filepath.ErrBadPattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadPattern;

impl std::fmt::Display for BadPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("syntax error in pattern")
    }
}

/// One `files` entry, split the way Go's `Glob` splits it.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    /// The entry as configured (after path resolution).
    raw: String,
    /// The directory part as `Glob` reads it (`.` when there is none), without trailing slash.
    dir: String,
    /// The last path component (the part matched against directory entries).
    file: String,
    /// The directory part itself contains wildcards: it is expanded before matching.
    dir_has_meta: bool,
}

/// Whether `s` contains a character `Match` treats specially.
fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Go's `filepath.Split`: everything up to and including the last `/`, and the rest.
fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => path.split_at(i + 1),
        None => ("", path),
    }
}

/// Go's `cleanGlobPath`: the directory `Glob` lists for a split directory part.
fn clean_glob_dir(dir: &str) -> String {
    match dir {
        "" => ".".to_owned(),
        "/" => "/".to_owned(),
        _ => dir[..dir.len() - 1].to_owned(),
    }
}

impl Pattern {
    pub(crate) fn new(raw: &str) -> Self {
        let (dir, file) = split(raw);
        Pattern {
            raw: raw.to_owned(),
            dir: clean_glob_dir(dir),
            file: file.to_owned(),
            dir_has_meta: has_meta(dir),
        }
    }

    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    /// The path a matching directory entry is known by (`Glob`'s spelling).
    fn key_in(&self, dir: &str, name: &str) -> String {
        if has_meta(&self.raw) {
            clean(&format!("{dir}/{name}"))
        } else {
            self.raw.clone()
        }
    }

    /// The directories whose entries this pattern matches: the ones to watch.
    pub(crate) fn dirs(&self) -> Result<Vec<String>, BadPattern> {
        if !self.dir_has_meta {
            return Ok(vec![self.dir.clone()]);
        }
        if self.dir == self.raw {
            return Err(BadPattern);
        }
        // Only directories are of use; `glob` below skips anything else.
        Ok(Pattern::new(&self.dir).expand()?.files)
    }

    /// The paths matching this pattern now, as Go's `Glob` spells and orders them. Directories
    /// that could not be read for a reason other than not existing are reported apart, so that
    /// the files under them are not taken for deleted.
    pub(crate) fn expand(&self) -> Result<Expansion, BadPattern> {
        let mut out = Expansion::default();
        if !has_meta(&self.raw) {
            match std::fs::symlink_metadata(&self.raw) {
                Ok(_) => out.files.push(self.raw.clone()),
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    out.unreadable_dirs.push(self.dir.clone())
                }
                Err(_) => {}
            }
            return Ok(out);
        }
        for dir in self.dirs()? {
            self.glob_dir(&dir, &mut out)?;
        }
        Ok(out)
    }

    fn glob_dir(&self, dir: &str, out: &mut Expansion) -> Result<(), BadPattern> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound && e.kind() != io::ErrorKind::NotADirectory {
                    out.unreadable_dirs.push(dir.to_owned());
                }
                return Ok(());
            }
        };
        let mut names: Vec<String> = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => match entry.file_name().into_string() {
                    Ok(name) => names.push(name),
                    Err(name) => tracing::warn!(
                        dir,
                        name = ?name,
                        "file SD skips a file name that is not valid UTF-8"
                    ),
                },
                Err(_) => {
                    out.unreadable_dirs.push(dir.to_owned());
                    return Ok(());
                }
            }
        }
        names.sort_unstable();
        for name in names {
            if go_match(&self.file, &name)? {
                out.files.push(self.key_in(dir, &name));
            }
        }
        Ok(())
    }

    /// The key of `path` (a directory entry reported by the watcher) if this pattern matches
    /// it. Pure: looks at the path only, never at the file system.
    pub(crate) fn key_for(&self, path: &Path) -> Option<String> {
        let name = path.file_name()?.to_str()?;
        let parent = path.parent()?;
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if self.dir_has_meta {
            let parent = parent.to_str()?;
            let dir_pattern = clean(&self.dir);
            let dir_matches = go_match(&dir_pattern, &clean(parent)).unwrap_or(false);
            return (dir_matches && go_match(&self.file, name).unwrap_or(false))
                .then(|| self.key_in(&clean(parent), name));
        }
        if parent != Path::new(&self.dir) || !go_match(&self.file, name).unwrap_or(false) {
            return None;
        }
        Some(self.key_in(&self.dir, name))
    }
}

/// What a pattern matched at one moment.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    pub(crate) files: Vec<String>,
    /// Directories that exist but could not be listed: their known files are kept.
    pub(crate) unreadable_dirs: Vec<String>,
}

/// Expands every pattern; a path named by two patterns appears once.
pub(crate) fn expand_all(patterns: &[Pattern]) -> (BTreeSet<String>, Vec<String>) {
    let mut files = BTreeSet::new();
    let mut unreadable = Vec::new();
    for pattern in patterns {
        match pattern.expand() {
            Ok(found) => {
                files.extend(found.files);
                unreadable.extend(found.unreadable_dirs);
            }
            Err(e) => tracing::error!(glob = pattern.raw(), error = %e, "error expanding glob"),
        }
    }
    (files, unreadable)
}

/// The directories to watch for all patterns (Prometheus watches each pattern's directory).
pub(crate) fn watch_dirs(patterns: &[Pattern]) -> BTreeSet<PathBuf> {
    patterns
        .iter()
        .filter_map(|p| p.dirs().ok())
        .flatten()
        .map(PathBuf::from)
        .collect()
}

/// Go's `filepath.Match` on Unix: `*` and `?` never match `/`; `[...]` classes with `^`
/// negation and ranges; `\` escapes. The whole name must match.
pub(crate) fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains('/'));
        }
        match match_chunk(chunk, name)? {
            Some(t) if t.is_empty() || !pattern.is_empty() => {
                name = t;
                continue;
            }
            _ => {}
        }
        if star {
            for (i, c) in name.char_indices() {
                if c == '/' {
                    break;
                }
                // Skip this character (whole, so slices stay on char boundaries).
                let after = &name[i + c.len_utf8()..];
                if let Some(t) = match_chunk(chunk, after)? {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'chunks;
                }
            }
        }
        // Before saying no, make sure the rest of the pattern is well formed, as Go does.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            check_chunk(chunk)?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off a run of stars and the chunk of single-character terms that follows it.
fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let trimmed = pattern.trim_start_matches('*');
    let star = trimmed.len() != pattern.len();
    let bytes = trimmed.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &trimmed[..i], &trimmed[i..])
}

/// Checks that a chunk is well formed (Go reports `ErrBadPattern` even for names that fail).
fn check_chunk(chunk: &str) -> Result<(), BadPattern> {
    let mut rest = chunk;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '[' => {
                rest = rest.strip_prefix('^').unwrap_or(rest);
                let mut ranges = 0;
                loop {
                    if ranges > 0 {
                        if let Some(after) = rest.strip_prefix(']') {
                            rest = after;
                            break;
                        }
                    }
                    let (_, after) = class_char(rest)?;
                    rest = after;
                    if let Some(after) = rest.strip_prefix('-') {
                        let (_, after) = class_char(after)?;
                        rest = after;
                    }
                    ranges += 1;
                }
            }
            '\\' => {
                let Some(e) = rest.chars().next() else {
                    return Err(BadPattern);
                };
                rest = &rest[e.len_utf8()..];
            }
            _ => {}
        }
    }
    Ok(())
}

/// Matches `chunk` at the start of `s`: the rest of `s` on success, `None` on a mismatch.
fn match_chunk<'s>(chunk: &str, s: &'s str) -> Result<Option<&'s str>, BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    while let Some(p) = chunk.chars().next() {
        let Some(c) = s.chars().next() else {
            check_chunk(chunk)?;
            return Ok(None);
        };
        chunk = &chunk[p.len_utf8()..];
        match p {
            '[' => {
                s = &s[c.len_utf8()..];
                let negated = chunk.starts_with('^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if ranges > 0 {
                        if let Some(after) = chunk.strip_prefix(']') {
                            chunk = after;
                            break;
                        }
                    }
                    let (lo, after) = class_char(chunk)?;
                    chunk = after;
                    let mut hi = lo;
                    if let Some(after) = chunk.strip_prefix('-') {
                        let (h, after) = class_char(after)?;
                        hi = h;
                        chunk = after;
                    }
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    check_chunk(chunk)?;
                    return Ok(None);
                }
            }
            '?' => {
                if c == '/' {
                    check_chunk(chunk)?;
                    return Ok(None);
                }
                s = &s[c.len_utf8()..];
            }
            _ => {
                let literal = if p == '\\' {
                    let Some(e) = chunk.chars().next() else {
                        return Err(BadPattern);
                    };
                    chunk = &chunk[e.len_utf8()..];
                    e
                } else {
                    p
                };
                if literal != c {
                    check_chunk(chunk)?;
                    return Ok(None);
                }
                s = &s[c.len_utf8()..];
            }
        }
    }
    Ok(Some(s))
}

/// One possibly escaped character of a class; a class may not end here.
fn class_char(chunk: &str) -> Result<(char, &str), BadPattern> {
    let mut rest = chunk;
    match rest.chars().next() {
        None | Some('-') | Some(']') => return Err(BadPattern),
        Some('\\') => rest = &rest[1..],
        Some(_) => {}
    }
    let c = rest.chars().next().ok_or(BadPattern)?;
    let rest = &rest[c.len_utf8()..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((c, rest))
}

/// Go's `filepath.Clean` for Unix paths: the shortest lexically equivalent path.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Prometheus' `config.JoinDir`: a relative path is joined to `dir` (and cleaned).
pub(crate) fn join_dir(dir: &str, path: &str) -> String {
    if path.is_empty() || path.starts_with('/') {
        return path.to_owned();
    }
    if dir.is_empty() {
        return clean(path);
    }
    clean(&format!("{dir}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_follows_go_filepath_match() {
        // Cases from Go's own match_test.go table, on Unix.
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("[x-]", "-", Err(BadPattern)),
            ("[x-]", "z", Err(BadPattern)),
            ("[-x]", "x", Err(BadPattern)),
            ("[-x]", "-", Err(BadPattern)),
            ("[-x]", "a", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("a[", "x", Err(BadPattern)),
            ("a/b[", "x", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(
                &go_match(pattern, name),
                want,
                "Match({pattern:?}, {name:?})"
            );
        }
    }

    #[test]
    fn clean_follows_go_filepath_clean() {
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("/../abc", "/abc"),
        ];
        for (path, want) in cases {
            assert_eq!(clean(path), want, "Clean({path:?})");
        }
    }

    #[test]
    fn join_dir_keeps_absolute_paths_and_cleans_joined_ones() {
        assert_eq!(join_dir("/etc/prom", "/abs/x.json"), "/abs/x.json");
        assert_eq!(join_dir("/etc/prom", "sd/*.json"), "/etc/prom/sd/*.json");
        assert_eq!(join_dir("/etc/prom", "./sd/../x.yml"), "/etc/prom/x.yml");
        assert_eq!(join_dir("", "x.yml"), "x.yml");
    }

    #[test]
    fn keys_are_spelled_as_go_glob_returns_them() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap();
        for name in ["b.json", "a.json", "c.yml", ".hidden.json"] {
            std::fs::write(dir.path().join(name), "[]").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/d.json"), "[]").unwrap();

        // A wildcard pattern: directory joined with the entry, cleaned, sorted by name; `*`
        // matches a leading dot as in Go.
        let p = Pattern::new(&format!("{base}/./*.json"));
        let found = p.expand().unwrap();
        assert_eq!(
            found.files,
            [".hidden.json", "a.json", "b.json"].map(|n| format!("{base}/{n}"))
        );
        assert_eq!(
            p.key_for(&dir.path().join("a.json")),
            Some(format!("{base}/a.json"))
        );
        assert_eq!(p.key_for(&dir.path().join("c.yml")), None);
        assert_eq!(p.key_for(&dir.path().join("sub/d.json")), None);

        // A literal pattern is its own key, spelled as configured.
        let literal = Pattern::new(&format!("{base}/./a.json"));
        assert_eq!(
            literal.expand().unwrap().files,
            [format!("{base}/./a.json")]
        );
        assert_eq!(
            literal.key_for(&dir.path().join("a.json")),
            Some(format!("{base}/./a.json"))
        );

        // A wildcard in a directory component expands the directories first.
        let nested = Pattern::new(&format!("{base}/s?b/*.json"));
        assert_eq!(
            nested.expand().unwrap().files,
            [format!("{base}/sub/d.json")]
        );
        assert_eq!(nested.dirs().unwrap(), [format!("{base}/sub")]);
        assert_eq!(
            nested.key_for(&dir.path().join("sub/d.json")),
            Some(format!("{base}/sub/d.json"))
        );

        // A missing directory matches nothing and is not an error.
        let missing = Pattern::new(&format!("{base}/nope/*.json"));
        assert!(missing.expand().unwrap().files.is_empty());
    }
}
