//! The few Go standard-library behaviours that Prometheus' messages and actions rely on:
//! `%q` quoting (`strconv.Quote`) and `strings.ToLower`/`ToUpper` (per-rune simple case
//! mapping, unlike Rust's full mapping: Go upper-cases `ß` to `ß`, not `SS`).

use std::fmt::Write;
use std::sync::LazyLock;

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    static PRINT: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\A[\p{L}\p{M}\p{N}\p{P}\p{S}]\z").expect("valid"));
    let mut buf = [0u8; 4];
    PRINT.is_match(c.encode_utf8(&mut buf))
}

/// Go's `strconv.Quote` (the `%q` verb on a string).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.ToLower` for one rune.
fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        // Only U+0130 (İ) lower-cases to more than one rune; its simple mapping is `i`.
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

/// Go's `unicode.ToUpper` for one rune.
fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        // Runes whose full upper case is several runes (ß, ŉ, ligatures, Greek with
        // ypogegrammeni, ...). Their simple mapping is themselves, except the lower-case Greek
        // letters with ypogegrammeni, which map to the title-case forms.
        _ => match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => {
                char::from_u32(c as u32 + 8).expect("in range")
            }
            0x1FB3 => '\u{1FBC}',
            0x1FC3 => '\u{1FCC}',
            0x1FF3 => '\u{1FFC}',
            _ => c,
        },
    }
}

/// Go's `strings.ToLower`.
pub fn to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().map(simple_lower).collect()
}

/// Go's `strings.ToUpper`.
pub fn to_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars().map(simple_upper).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_go() {
        assert_eq!(quote("a/b"), r#""a/b""#);
        assert_eq!(quote("é\"\\"), r#""é\"\\""#);
        assert_eq!(quote("\n\t\u{1}\u{7f}"), r#""\n\t\x01\x7f""#);
        assert_eq!(quote("\u{a0}\u{200b}\u{e000}"), r#""\u00a0\u200b\ue000""#);
        assert_eq!(quote("\u{f0000}"), r#""\U000f0000""#);
    }

    #[test]
    fn case_mapping_like_go() {
        assert_eq!(to_upper("straße"), "STRAßE");
        assert_eq!(to_upper("ﬁ"), "ﬁ");
        assert_eq!(to_upper("ᾳ"), "ᾼ");
        assert_eq!(to_lower("İSTANBUL"), "istanbul");
        assert_eq!(to_lower("ΣΑΣ"), "σασ");
        assert_eq!(to_upper("ǆ"), "Ǆ");
        assert_eq!(to_lower("Kelvin\u{212A}"), "kelvink");
    }
}
