//! Go's string helpers that mechanisms share when they build addresses, labels and URLs as
//! Prometheus does: `net.JoinHostPort`, `strutil.SanitizeLabelName`, `url.PathEscape` and
//! `url.QueryEscape`. One copy each, instead of one per mechanism room.

use std::fmt::Display;

/// Go's `net.JoinHostPort`: `host:port`, the host in brackets when it holds a colon (IPv6).
pub fn join_host_port(host: &str, port: impl Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes
/// `_` (one per character, not per byte).
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Go's `url.PathEscape`: a path segment, with everything but the unreserved characters and
/// `$&+:=@` percent-encoded (`/`, `;`, `,` and `?` are escaped: they mean something between
/// segments).
pub fn path_escape(s: &str) -> String {
    escape(
        s,
        |c| c.is_ascii_alphanumeric() || b"-_.~$&+:=@".contains(&c),
        false,
    )
}

/// Go's `url.QueryEscape`: everything but the unreserved characters percent-encoded, a space
/// as `+`.
pub fn query_escape(s: &str) -> String {
    escape(
        s,
        |c| c.is_ascii_alphanumeric() || b"-_.~".contains(&c),
        true,
    )
}

fn escape(s: &str, keep: impl Fn(u8) -> bool, space_plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else if space_plus && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_as_go() {
        assert_eq!(join_host_port("::1", 9), "[::1]:9");
        assert_eq!(join_host_port("host", "80"), "host:80");
    }

    #[test]
    fn sanitizes_per_character() {
        assert_eq!(sanitize_label_name("a-b.c/dé_9"), "a_b_c_d__9");
    }

    #[test]
    fn escapes_as_go() {
        // Expected values from Go's net/url (encodePathSegment, encodeQueryComponent).
        assert_eq!(
            path_escape("a b/c;d,e?f$&+:=@~"),
            "a%20b%2Fc%3Bd%2Ce%3Ff$&+:=@~"
        );
        assert_eq!(query_escape("a b*$/"), "a+b%2A%24%2F");
        assert_eq!(query_escape("é"), "%C3%A9");
    }
}
