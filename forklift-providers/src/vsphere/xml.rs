//! A small XML element tree over quick-xml, enough for vim25 SOAP responses.
//!
//! vim25 replies are deeply polymorphic (`xsi:type` on nearly every value), which makes
//! serde mapping awkward; a plain tree with typed accessors keeps the conversion code
//! readable and lets every missing field surface as `None` instead of a parse failure.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Deepest element nesting accepted; vim25 replies stay far below it.
pub const MAX_DEPTH: usize = 512;

/// Most elements one document may hold. A page of 100 VMs with their whole `config` holds
/// about 150,000; with [`MAX_DOCUMENT_ATTRIBUTES`] the cap keeps the tree of a hostile answer
/// (a stream of `<a/>`) to a few hundred MiB however its bytes are spent.
pub const MAX_ELEMENTS: usize = 500_000;

/// Most attributes one element may carry; vim25 elements carry one or two (`xsi:type`,
/// `type`).
pub const MAX_ATTRIBUTES: usize = 64;

/// Most attributes one document may hold (two per element at [`MAX_ELEMENTS`]).
pub const MAX_DOCUMENT_ATTRIBUTES: usize = 2 * MAX_ELEMENTS;

/// One XML element: its local name, attributes, text content and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Local name (namespace prefix dropped).
    pub name: String,
    /// Attributes as (qualified name, unescaped value).
    pub attrs: Vec<(String, String)>,
    /// Concatenated, unescaped text content of this element (not of its children).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Node>,
}

/// Why a document could not be read as XML.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// The document is not well-formed.
    #[error("Malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset where the reader stopped.
        position: u64,
        /// What the reader reported.
        message: String,
    },
    /// The document nests elements deeper than the reader accepts.
    #[error("XML nests deeper than {MAX_DEPTH} elements")]
    TooDeep,
    /// The document holds more elements than the reader accepts.
    #[error("XML holds more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    /// An element carries more attributes than the reader accepts.
    #[error("an XML element carries more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    /// The document holds more attributes than the reader accepts.
    #[error("XML holds more than {MAX_DOCUMENT_ATTRIBUTES} attributes")]
    TooManyDocumentAttributes,
    /// The document has no root element.
    #[error("XML document has no root element")]
    Empty,
}

impl Node {
    /// First child with the given local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Removes the first child with the given local name and returns it (no copy).
    pub fn take_child(&mut self, name: &str) -> Option<Node> {
        let index = self.children.iter().position(|c| c.name == name)?;
        Some(self.children.remove(index))
    }

    /// All children with the given local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follows a path of local names, taking the first match at each step.
    pub fn path(&self, names: &[&str]) -> Option<&Node> {
        names.iter().try_fold(self, |node, name| node.child(name))
    }

    /// Text of the child with the given name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Value of the attribute with the given qualified name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `xsi:type` of the element (any prefix bound to it), without its own prefix.
    pub fn xsi_type(&self) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.ends_with(":type"))
            .map(|(_, v)| v.rsplit(':').next().unwrap_or(v))
    }

    /// Parses the text as a number or boolean.
    pub fn parse<T: std::str::FromStr>(&self) -> Option<T> {
        self.text.trim().parse().ok()
    }

    /// Text of a child parsed as `T`.
    pub fn child_parse<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.child(name).and_then(Node::parse)
    }

    /// Text of a child as xsd:boolean (`true`/`1`).
    pub fn child_bool(&self, name: &str) -> Option<bool> {
        self.child(name)
            .map(|c| matches!(c.text.trim(), "true" | "1"))
    }

    /// Depth-first search for the first descendant (or self) with the given local name.
    pub fn find(&self, name: &str) -> Option<&Node> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Parses a whole document into its root element.
pub fn parse(document: &str) -> Result<Node, XmlError> {
    let mut reader = Reader::from_str(document);
    let mut stack: Vec<Node> = Vec::new();
    let mut elements = 0usize;
    let mut attributes = 0usize;
    let mut count = |node: &Node| {
        elements += 1;
        attributes += node.attrs.len();
        if elements > MAX_ELEMENTS {
            Err(XmlError::TooManyElements)
        } else if attributes > MAX_DOCUMENT_ATTRIBUTES {
            Err(XmlError::TooManyDocumentAttributes)
        } else {
            Ok(())
        }
    };
    let malformed = |reader: &Reader<&[u8]>, message: String| XmlError::Malformed {
        position: reader.buffer_position(),
        message,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(&reader, e.to_string()))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let node = element(&reader, &start)?;
                count(&node)?;
                stack.push(node);
            }
            Event::Empty(start) => {
                let node = element(&reader, &start)?;
                count(&node)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| malformed(&reader, "unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    let decoded = text
                        .xml_content()
                        .map_err(|e| malformed(&reader, e.to_string()))?;
                    top.text.push_str(&decoded);
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    let decoded = data
                        .decode()
                        .map_err(|e| malformed(&reader, e.to_string()))?;
                    top.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(top) = stack.last_mut() {
                    let resolved = match reference
                        .resolve_char_ref()
                        .map_err(|e| malformed(&reader, e.to_string()))?
                    {
                        Some(c) => c.to_string(),
                        None => {
                            let name = reference
                                .decode()
                                .map_err(|e| malformed(&reader, e.to_string()))?;
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| {
                                    malformed(&reader, format!("unknown entity &{name};"))
                                })?
                                .to_string()
                        }
                    };
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => {
                return Err(if stack.is_empty() {
                    XmlError::Empty
                } else {
                    malformed(&reader, "unexpected end of document".into())
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

fn element(
    reader: &Reader<&[u8]>,
    start: &quick_xml::events::BytesStart<'_>,
) -> Result<Node, XmlError> {
    let malformed = |message: String| XmlError::Malformed {
        position: reader.buffer_position(),
        message,
    };
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    // Sized exactly: the tree of a large answer holds hundreds of thousands of these.
    let mut attrs = Vec::with_capacity(start.attributes().count().min(MAX_ATTRIBUTES + 1));
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(e.to_string()))?;
        if attrs.len() >= MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes);
        }
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|e| malformed(e.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Node {
        name,
        attrs,
        ..Node::default()
    })
}

/// Escapes text for an XML element or attribute value.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_polymorphic_values_and_entities() {
        let doc = r#"<?xml version="1.0"?><a xmlns:xsi="x"><b xsi:type="xsd:string">x &amp; y&#33;</b>
            <c type="VirtualMachine">vm-1</c><c/></a>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "a");
        let b = root.child("b").unwrap();
        assert_eq!(b.text, "x & y!");
        assert_eq!(b.xsi_type(), Some("string"));
        assert_eq!(root.children_named("c").count(), 2);
        assert_eq!(
            root.child("c").unwrap().attr("type"),
            Some("VirtualMachine")
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(parse("").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse(&"<a>".repeat(MAX_DEPTH + 1)).is_err());
    }

    #[test]
    fn element_and_attribute_counts_are_capped() {
        let at_limit = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(parse(&at_limit).unwrap().children.len(), MAX_ELEMENTS - 1);
        let over = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        assert!(matches!(parse(&over), Err(XmlError::TooManyElements)));
        let attrs = |n: usize| {
            let list: String = (0..n).map(|i| format!(" a{i}=\"\"")).collect();
            format!("<r{list}/>")
        };
        assert_eq!(
            parse(&attrs(MAX_ATTRIBUTES)).unwrap().attrs.len(),
            MAX_ATTRIBUTES
        );
        assert!(matches!(
            parse(&attrs(MAX_ATTRIBUTES + 1)),
            Err(XmlError::TooManyAttributes)
        ));
        let per_element = MAX_ATTRIBUTES / 2;
        let element = attrs(per_element).replacen("<r", "<a", 1);
        let count = MAX_DOCUMENT_ATTRIBUTES / per_element;
        let at_limit = format!("<r>{}</r>", element.repeat(count));
        assert_eq!(parse(&at_limit).unwrap().children.len(), count);
        let over = format!("<r>{}</r>", element.repeat(count + 1));
        assert!(matches!(
            parse(&over),
            Err(XmlError::TooManyDocumentAttributes)
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in ".{0,200}") {
            let _ = parse(&input);
        }
    }
}
