//! A small XML element tree over quick-xml, read the way Go's `encoding/xml` sees a document:
//! local names (namespace prefixes dropped), character data with entities resolved and line
//! ends normalized, and each element's raw inner XML (Go's `,innerxml`). Only the first root
//! element is read; what follows it is ignored, as `xml.Decoder.Decode` does.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// One element of the tree.
#[derive(Debug, Default)]
pub struct Element {
    /// The local name (`a` for `<x:a>`).
    pub name: String,
    /// Attributes by local name, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// The character data directly inside this element (not in its children), unescaped.
    pub text: String,
    pub children: Vec<Element>,
    /// Where the raw XML between the start and end tags is in the document.
    pub inner: Range<usize>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn open(start: &BytesStart<'_>, at: usize) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        attrs.push((local(attr.key.as_ref()), value.into_owned()));
    }
    Ok(Element {
        name: local(start.name().as_ref()),
        attrs,
        inner: at..at,
        ..Element::default()
    })
}

/// Parses the first element of `doc` and everything inside it.
pub fn parse(doc: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(doc);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| format!("XML syntax error at byte {}: {e}", reader.error_position()))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => stack.push(open(&start, after)?),
            Event::Empty(start) => {
                let element = open(&start, after)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::End(_) => {
                let mut element = stack
                    .pop()
                    .ok_or("XML syntax error: unexpected end element")?;
                element.inner.end = before;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                if reference.is_char_ref() {
                    match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => top.text.push(c),
                        None => return Err("XML syntax error: invalid character entity".into()),
                    }
                } else {
                    let name = reference.xml10_content();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(value) => top.text.push_str(value),
                        None => {
                            return Err(format!(
                                "XML syntax error: invalid character entity &{name};"
                            ))
                        }
                    }
                }
            }
            Event::Eof => return Err("unexpected EOF".into()),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_attributes_and_inner_xml() {
        let doc = r#"<?xml version="1.0"?><r a="1&amp;2"><x:b>t &lt;<![CDATA[<c>]]>&#65;</x:b><m><k>v &amp; w</k></m><e/></r> trailing"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "r");
        assert_eq!(root.attr("a"), Some("1&2"));
        assert_eq!(root.children[0].name, "b");
        assert_eq!(root.children[0].text, "t <<c>A");
        let k = &root.children[1].children[0];
        assert_eq!(&doc[k.inner.clone()], "v &amp; w");
        assert_eq!(&doc[root.children[1].inner.clone()], "<k>v &amp; w</k>");
        assert_eq!(root.children[2].name, "e");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
    }
}
