//! A small element tree over quick-xml events, with namespaces resolved, byte
//! offsets and XPath-like element paths (`/ClinicalDocument/component/…/entry[3]`).

use super::codes;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location};
use quick_xml::events::{BytesStart, Event};

/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Deepest element nesting accepted (an hc08 document needs about 15; the tree
/// is walked recursively, so a hostile depth must not reach the stack limit).
const MAX_DEPTH: usize = 128;

/// One element.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub local: String,
    pub ns: String,
    /// (namespace or "", local name, value); `xmlns` declarations excluded.
    pub attrs: Vec<(String, String, String)>,
    pub children: Vec<Node>,
    /// Character data directly inside this element (mixed content concatenated).
    pub text: String,
    /// Byte offset of the `<` of the start tag.
    pub byte: u64,
    /// Path from the root, same-named siblings indexed from 1 when there are several.
    pub path: String,
}

impl Node {
    /// The unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, l, _)| ns.is_empty() && l == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// The attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, l, _)| n == ns && l == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// Child elements named `local` in namespace `ns`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.local == local)
    }

    /// The first child named `local` in namespace `ns`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.ns == ns && c.local == local)
    }

    /// Follows a chain of child names in one namespace.
    pub fn descend(&self, ns: &str, names: &[&str]) -> Option<&Node> {
        let mut cur = self;
        for n in names {
            cur = cur.child(ns, n)?;
        }
        Some(cur)
    }
}

fn malformed(byte: u64, message: String, line_of: &dyn Fn(u64) -> u32) -> Diagnostic {
    Diagnostic::new(&codes::MALFORMED, message)
        .at(Location::default().byte(byte).line(line_of(byte)))
}

fn split_qname(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

fn resolve<'a>(scopes: &'a [Vec<(String, String)>], prefix: &str) -> Option<&'a str> {
    for scope in scopes.iter().rev() {
        for (p, uri) in scope.iter().rev() {
            if p == prefix {
                return Some(uri);
            }
        }
    }
    match prefix {
        "" => Some(""),
        "xml" => Some("http://www.w3.org/XML/1998/namespace"),
        _ => None,
    }
}

/// Builds the element tree of `text` (already checked to be UTF-8). `None` (with a
/// K002 diagnostic) when the document is not well-formed.
pub(crate) fn parse(text: &str, line_of: &dyn Fn(u64) -> u32, d: &mut Diagnostics) -> Option<Node> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut scopes: Vec<Vec<(String, String)>> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                d.push(malformed(
                    at,
                    format!("XML error: {e}; the document is not read"),
                    line_of,
                ));
                return None;
            }
        };
        match ev {
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        d.push(
                            Diagnostic::new(
                                &codes::DECLARED_ENCODING,
                                "the XML declaration names an encoding other than UTF-8; the document is not read",
                            )
                            .at(Location::default().byte(pos).line(line_of(pos)))
                            .excerpt(Excerpt::text(enc)),
                        );
                        return None;
                    }
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    d.push(malformed(
                        pos,
                        "content after the root element; the document is not read".into(),
                        line_of,
                    ));
                    return None;
                }
                let node = match start_node(e, pos, &mut scopes) {
                    Ok(n) => n,
                    Err(msg) => {
                        d.push(malformed(pos, msg, line_of));
                        return None;
                    }
                };
                if stack.len() >= MAX_DEPTH {
                    d.push(malformed(
                        pos,
                        format!(
                            "elements nested deeper than {MAX_DEPTH}; the document is not read"
                        ),
                        line_of,
                    ));
                    return None;
                }
                if matches!(ev, Event::Empty(_)) {
                    scopes.pop();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => root = Some(node),
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                scopes.pop();
                let Some(node) = stack.pop() else {
                    d.push(malformed(
                        pos,
                        "end tag without a start tag".into(),
                        line_of,
                    ));
                    return None;
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&s);
                } else if !s.trim().is_empty() {
                    d.push(malformed(
                        pos,
                        "text outside the root element; the document is not read".into(),
                        line_of,
                    ));
                    return None;
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let ch = match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                let Some(ch) = ch else {
                    d.push(
                        malformed(
                            pos,
                            "undefined entity reference; the document is not read".into(),
                            line_of,
                        )
                        .excerpt(Excerpt::text(format!("&{name};"))),
                    );
                    return None;
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push(ch);
                }
            }
            Event::DocType(_) => {
                d.push(malformed(
                    pos,
                    "DOCTYPE declarations are not allowed in hc08 files; the document is not read"
                        .into(),
                    line_of,
                ));
                return None;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        let at = text.len() as u64;
        d.push(malformed(
            at,
            format!(
                "the document ends inside element <{}> (truncated?); the document is not read",
                open.local
            ),
            line_of,
        ));
        return None;
    }
    let Some(mut root) = root else {
        d.push(malformed(0, "no root element".into(), line_of));
        return None;
    };
    root.path = format!("/{}", root.local);
    assign_paths(&mut root);
    Some(root)
}

fn start_node(
    e: &BytesStart<'_>,
    pos: u64,
    scopes: &mut Vec<Vec<(String, String)>>,
) -> Result<Node, String> {
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut scope: Vec<(String, String)> = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}; the document is not read"))?;
        let key: &str = AsRef::<str>::as_ref(&a.key);
        let key = key.to_owned();
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad attribute value: {e}; the document is not read"))?
            .into_owned();
        if key == "xmlns" {
            scope.push((String::new(), v));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            scope.push((p.to_owned(), v));
        } else {
            raw.push((key, v));
        }
    }
    scopes.push(scope);
    let name = e.name();
    let qname: &str = AsRef::<str>::as_ref(&name);
    let (prefix, local) = split_qname(qname);
    let ns = resolve(scopes, prefix)
        .ok_or_else(|| format!("undeclared namespace prefix '{prefix}'; the document is not read"))?
        .to_owned();
    let mut attrs = Vec::with_capacity(raw.len());
    for (k, v) in raw {
        let (p, l) = split_qname(&k);
        let ans = if p.is_empty() {
            String::new()
        } else {
            resolve(scopes, p)
                .ok_or_else(|| {
                    format!("undeclared namespace prefix '{p}'; the document is not read")
                })?
                .to_owned()
        };
        attrs.push((ans, l.to_owned(), v));
    }
    Ok(Node {
        local: local.to_owned(),
        ns,
        attrs,
        byte: pos,
        ..Default::default()
    })
}

fn assign_paths(node: &mut Node) {
    let names: Vec<String> = node.children.iter().map(|c| c.local.clone()).collect();
    let mut seen: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let base = node.path.clone();
    for (i, child) in node.children.iter_mut().enumerate() {
        let name = names[i].as_str();
        let total = names.iter().filter(|n| *n == name).count();
        let k = seen.entry(name).or_insert(0);
        *k += 1;
        child.path = if total > 1 {
            format!("{base}/{name}[{k}]")
        } else {
            format!("{base}/{name}")
        };
        assign_paths(child);
    }
}
