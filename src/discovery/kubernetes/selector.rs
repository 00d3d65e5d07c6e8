//! Syntax checks of `selectors[].label` and `selectors[].field`, as Prometheus makes them with
//! client-go's `labels.Parse` and `fields.ParseSelector` before any request. The selectors
//! themselves are sent to the API server as written.

/// Checks a field selector: comma-separated `key=value`, `key==value` or `key!=value` terms
/// (a `\` escapes `,`, `=`, `!` and `\`). The message is client-go's.
pub fn check_field_selector(selector: &str) -> Result<(), String> {
    for part in split_unescaped(selector, ',') {
        if part.is_empty() {
            continue;
        }
        let Some((_, _, rhs)) = split_field_term(part) else {
            return Err(format!(
                "invalid selector: '{selector}'; can't understand '{part}'"
            ));
        };
        unescape_field_value(rhs).map_err(|e| format!("invalid selector: '{selector}'; {e}"))?;
    }
    Ok(())
}

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// `lhs op rhs` at the first unescaped operator (`!=`, `==`, `=`).
fn split_field_term(term: &str) -> Option<(&str, &str, &str)> {
    let bytes = term.as_bytes();
    let mut escaped = false;
    for i in 0..bytes.len() {
        if escaped {
            escaped = false;
            continue;
        }
        if bytes[i] == b'\\' {
            escaped = true;
            continue;
        }
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

fn unescape_field_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                _ => return Err(format!("invalid field selector value: {s:?}")),
            },
            ',' | '=' => return Err(format!("invalid field selector value: {s:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Checks a label selector: comma-separated requirements `key`, `!key`, `key=value`,
/// `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>1`, `key<1`, with keys
/// and values as Kubernetes labels allow.
pub fn check_label_selector(selector: &str) -> Result<(), String> {
    let mut rest = selector.trim();
    if rest.is_empty() {
        return Ok(());
    }
    loop {
        let (requirement, after) = next_requirement(rest);
        check_requirement(requirement.trim())
            .map_err(|e| format!("unable to parse requirement: {e}"))?;
        match after {
            Some(after) => rest = after,
            None => return Ok(()),
        }
    }
}

/// The next comma-separated requirement (commas inside parentheses belong to a set).
fn next_requirement(s: &str) -> (&str, Option<&str>) {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return (&s[..i], Some(&s[i + 1..])),
            _ => {}
        }
    }
    (s, None)
}

fn check_requirement(r: &str) -> Result<(), String> {
    if let Some(key) = r.strip_prefix('!') {
        return check_key(key.trim());
    }
    for op in ["!=", "==", "=", ">", "<"] {
        if let Some(i) = r.find(op) {
            let (key, value) = (r[..i].trim(), r[i + op.len()..].trim());
            check_key(key)?;
            if op == ">" || op == "<" {
                return value.parse::<i64>().map(|_| ()).map_err(|_| {
                    format!("for '{op}' operator, the value must be an integer: {value:?}")
                });
            }
            return check_value(value);
        }
    }
    let mut words = r.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    match words.next().map(str::trim_start) {
        None => check_key(key),
        Some(rest) => {
            let set = rest
                .strip_prefix("notin")
                .or_else(|| rest.strip_prefix("in"))
                .ok_or_else(|| format!("found '{rest}', expected: in, notin, =, ==, !=, gt, lt"))?
                .trim();
            check_key(key)?;
            let inner = set
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| format!("found '{set}', expected: '('"))?;
            inner.split(',').try_for_each(|v| check_value(v.trim()))
        }
    }
}

/// A qualified name: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
fn check_key(key: &str) -> Result<(), String> {
    let name = match key.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty()
                || prefix.len() > 253
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            {
                return Err(format!(
                    "invalid label key {key:?}: prefix must be a DNS subdomain"
                ));
            }
            name
        }
        None => key,
    };
    if name.is_empty() || !is_label_word(name) {
        return Err(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_word(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {value:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

fn is_label_word(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors_as_client_go() {
        assert!(check_field_selector("").is_ok());
        assert!(check_field_selector("metadata.status=Running").is_ok());
        assert!(check_field_selector("spec.nodeName==a,metadata.name!=b").is_ok());
        assert_eq!(
            check_field_selector("metadata.status-Running").unwrap_err(),
            "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'"
        );
    }

    #[test]
    fn label_selectors() {
        for ok in [
            "",
            "foo=bar",
            "foo in (bar,baz)",
            "foo notin (bar, baz), !x",
            "app.kubernetes.io/name==web,tier!=db",
            "x>3",
            "present",
        ] {
            assert!(check_label_selector(ok).is_ok(), "{ok}");
        }
        for bad in ["foo=b@r", "=x", "foo in bar", "x<y", "-a=b"] {
            assert!(check_label_selector(bad).is_err(), "{bad}");
        }
    }
}
