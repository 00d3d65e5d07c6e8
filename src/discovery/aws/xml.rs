//! The XML of the Query protocol services (EC2, RDS, ElastiCache, STS) as serde reads it.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// An EC2 list: `<fooSet><item>...</item>...</fooSet>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Items<T> {
    #[serde(rename = "item", default = "Vec::new")]
    pub item: Vec<T>,
}

/// A Query list of the AWS-wide style: `<Foos><member>...</member></Foos>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Members<T> {
    #[serde(rename = "member", default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Items<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.item.iter()
    }
}

/// Decodes an XML answer; an error names the operation.
pub fn decode<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, String> {
    quick_xml::de::from_reader(body)
        .map_err(|e| format!("operation {operation}: decoding the answer: {e}"))
}

/// An element's text, which may be empty: present-but-empty is `Some("")`, as the Go SDK
/// decodes it (quick-xml reads an empty `Option<String>` as `None`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Text {
    #[serde(rename = "$text", default)]
    pub value: String,
}

/// `deserialize_with` for an `Option<String>` field whose empty element means `Some("")`.
pub fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(d)?.map(|t| t.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct R {
        #[serde(default, deserialize_with = "opt_text")]
        a: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        b: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        c: Option<String>,
        #[serde(default, deserialize_with = "opt_text")]
        d: Option<String>,
    }

    #[test]
    fn empty_elements_are_empty_strings() {
        let r: R = quick_xml::de::from_str("<R><a></a><b/><c>x &amp; y</c></R>").unwrap();
        assert_eq!(r.a.as_deref(), Some(""));
        assert_eq!(r.b.as_deref(), Some(""));
        assert_eq!(r.c.as_deref(), Some("x & y"));
        assert_eq!(r.d, None);
    }
}

/// An XML element read as a tree, for answers whose many optional fields become labels one
/// by one (RDS, ElastiCache): the element name without namespace, its text, its children.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The node at a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }

    /// The text of the child at `path`, if that child exists (empty or not).
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|n| n.text.as_str())
    }

    /// The members of the list at `path` (every child, whatever its element name).
    pub fn list(&self, path: &[&str]) -> &[Node] {
        self.at(path).map(|n| n.children.as_slice()).unwrap_or(&[])
    }
}

/// Reads an XML document into its root [`Node`].
pub fn tree(operation: &str, body: &[u8]) -> Result<Node, String> {
    use quick_xml::events::Event;
    let fail = |e: String| format!("operation {operation}: decoding the answer: {e}");
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut buf = Vec::new();
    let local = |name: &str| {
        let name = name.to_owned();
        match name.split_once(':') {
            Some((_, local)) => local.to_owned(),
            None => name,
        }
    };
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| fail(e.to_string()))?
        {
            Event::Start(e) => stack.push(Node {
                name: local(e.name().as_ref()),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: local(e.name().as_ref()),
                    ..Node::default()
                };
                stack.last_mut().expect("root").children.push(node);
            }
            Event::Text(t) => {
                stack.last_mut().expect("root").text.push_str(&t);
            }
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let ch = match name {
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "amp" => "&".to_owned(),
                    "apos" => "'".to_owned(),
                    "quot" => "\"".to_owned(),
                    other => match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => format!("&{other};"),
                    },
                };
                stack.last_mut().expect("root").text.push_str(&ch);
            }
            Event::CData(t) => {
                stack.last_mut().expect("root").text.push_str(&t);
            }
            Event::End(_) => {
                let node = stack.pop().expect("balanced");
                let Some(parent) = stack.last_mut() else {
                    return Err(fail("unbalanced end tag".into()));
                };
                parent.children.push(node);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let mut root = stack.pop().ok_or_else(|| fail("empty document".into()))?;
    if !stack.is_empty() {
        return Err(fail("unclosed element".into()));
    }
    // Element texts of leaf nodes only matter; whitespace around children is layout.
    fn trim(node: &mut Node) {
        if !node.children.is_empty() {
            node.text.clear();
        }
        node.children.iter_mut().for_each(trim);
    }
    trim(&mut root);
    root.children
        .into_iter()
        .next()
        .ok_or_else(|| fail("no root element".into()))
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    #[test]
    fn reads_a_query_answer() {
        let node = tree(
            "x",
            b"<?xml version=\"1.0\"?>\n<R xmlns=\"u\"><A>1 &amp; 2</A>\n  <L><member><K>a</K></member><member><K/></member></L><E></E></R>",
        )
        .unwrap();
        assert_eq!(node.name, "R");
        assert_eq!(node.text_at(&["A"]), Some("1 & 2"));
        assert_eq!(node.list(&["L"]).len(), 2);
        assert_eq!(node.list(&["L"])[1].text_at(&["K"]), Some(""));
        assert_eq!(node.text_at(&["E"]), Some(""));
        assert_eq!(node.text_at(&["Z"]), None);
    }
}
