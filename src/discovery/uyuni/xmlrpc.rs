//! XML-RPC as the Go client Prometheus uses (`github.com/kolo/xmlrpc`) writes and reads it.
//!
//! Calls: `<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>M</methodName>
//! <params><param><value>...</value></param>...</params></methodCall>` on one line, strings
//! escaped as Go's `xml.Escape`, Go `int`s as `<int>`, slices as `<array><data>`.
//! Answers: a `<fault>` anywhere is the error `Fault(<code>): <string>`; otherwise the first
//! `<value>` of the document is the result, typed by its child (`int`/`i4`/`i8`, `string`,
//! `boolean`, `double`, `dateTime.iso8601`, `base64`, `array`, `struct`) or, untyped, its
//! trimmed text as a string.

use crate::discovery::xml_tree::{self, Element};

/// A call's parameter.
pub enum Param<'a> {
    Str(&'a str),
    Int(i64),
    Ints(&'a [i64]),
}

/// Go's `xml.Escape` (`EscapeText`): the five specials as `&lt;`-style or numeric references,
/// tab and line ends as numeric references, characters outside XML's range as U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The body of a call.
pub fn method_call(method: &str, params: &[Param<'_>]) -> String {
    let mut body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>{method}</methodName><params>"#
    );
    for param in params {
        body.push_str("<param>");
        match param {
            Param::Str(s) => {
                body.push_str(&format!("<value><string>{}</string></value>", escape(s)))
            }
            Param::Int(i) => body.push_str(&format!("<value><int>{i}</int></value>")),
            Param::Ints(ints) => {
                body.push_str("<value><array><data>");
                for i in *ints {
                    body.push_str(&format!("<value><int>{i}</int></value>"));
                }
                body.push_str("</data></array></value>");
            }
        }
        body.push_str("</param>");
    }
    body.push_str("</params></methodCall>");
    body
}

/// A decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `<value/>` or an empty typed value: Go leaves the destination at its zero value.
    Nil,
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            Value::Double(_) => "float64",
            Value::Array(_) => "slice",
            Value::Struct(_) => "struct",
        }
    }

    fn mismatch(&self, want: &str) -> String {
        format!(
            "error: type mismatch - can't unmarshal {} to {want}",
            self.kind()
        )
    }

    pub fn as_int(&self) -> Result<i64, String> {
        match self {
            Value::Nil => Ok(0),
            Value::Int(i) => Ok(*i),
            other => Err(other.mismatch("int")),
        }
    }

    pub fn as_str(&self) -> Result<&str, String> {
        match self {
            Value::Nil => Ok(""),
            Value::Str(s) => Ok(s),
            other => Err(other.mismatch("string")),
        }
    }

    pub fn as_bool(&self) -> Result<bool, String> {
        match self {
            Value::Nil => Ok(false),
            Value::Bool(b) => Ok(*b),
            other => Err(other.mismatch("bool")),
        }
    }

    pub fn as_array(&self) -> Result<&[Value], String> {
        match self {
            Value::Nil => Ok(&[]),
            Value::Array(items) => Ok(items),
            other => Err(other.mismatch("slice")),
        }
    }

    /// The member `name` of a struct (`Nil` when absent, as Go leaves the field alone).
    pub fn member(&self, name: &str) -> Result<&Value, String> {
        match self {
            Value::Nil => Ok(&Value::Nil),
            Value::Struct(members) => Ok(members
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map_or(&Value::Nil, |(_, v)| v)),
            other => Err(other.mismatch("struct")),
        }
    }
}

fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "strconv.ParseBool: parsing {other:?}: invalid syntax"
        )),
    }
}

/// Decodes a `<value>` element.
pub fn value(e: &Element) -> Result<Value, String> {
    let Some(typed) = e.children.first() else {
        let text = e.text.trim();
        return Ok(if text.is_empty() {
            Value::Nil
        } else {
            Value::Str(text.to_owned())
        });
    };
    let text = typed.text.as_str();
    Ok(match typed.name.as_str() {
        "struct" => {
            let mut members = Vec::new();
            for member in &typed.children {
                if member.name != "member" {
                    return Err("invalid xml".into());
                }
                let name = match member.children.first() {
                    Some(n) if n.name == "name" => n.text.clone(),
                    _ => return Err("invalid xml".into()),
                };
                let v = match member.children.iter().find(|c| c.name == "value") {
                    Some(v) => value(v)?,
                    None => Value::Nil,
                };
                members.push((name, v));
            }
            Value::Struct(members)
        }
        "array" => {
            let mut items = Vec::new();
            for data in &typed.children {
                if data.name != "data" {
                    return Err("invalid xml".into());
                }
                for v in &data.children {
                    if v.name != "value" {
                        return Err("invalid xml".into());
                    }
                    items.push(value(v)?);
                }
            }
            Value::Array(items)
        }
        _ if text.is_empty() => Value::Nil,
        "int" | "i4" | "i8" => Value::Int(
            text.parse()
                .map_err(|_| format!("strconv.ParseInt: parsing {text:?}: invalid syntax"))?,
        ),
        "string" | "base64" | "dateTime.iso8601" => Value::Str(text.to_owned()),
        "boolean" => Value::Bool(go_bool(text)?),
        "double" => Value::Double(
            text.parse()
                .map_err(|_| format!("strconv.ParseFloat: parsing {text:?}: invalid syntax"))?,
        ),
        _ => return Err("unsupported type".into()),
    })
}

fn first_value(e: &Element) -> Option<&Element> {
    if e.name == "value" {
        return Some(e);
    }
    e.children.iter().find_map(first_value)
}

/// Decodes an answer: its fault as an error, or its first value.
pub fn response(doc: &str) -> Result<Value, String> {
    let root = xml_tree::parse(doc)?;
    let fault = doc
        .find("<fault>")
        .is_some_and(|start| doc[start + 7..].contains("</fault>"));
    let first = first_value(&root).ok_or("EOF")?;
    let result = value(first)?;
    if fault {
        let code = result.member("faultCode")?.as_int()?;
        let message = result.member("faultString")?.as_str()?;
        return Err(format!("Fault({code}): {message}"));
    }
    Ok(result)
}
