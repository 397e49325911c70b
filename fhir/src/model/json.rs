//! FHIR JSON in and out.
//!
//! **Writer** ([`to_vec`]): byte-deterministic. Elements come in the order of the
//! FHIR specification (fhirbolt sorts them, `always_sort`), whatever order the
//! value was built or read in; two-space indentation (serde_json's pretty
//! printer), no trailing whitespace, `": "` after keys; decimals keep their text
//! (fhirbolt holds them as strings and serde_json's `arbitrary_precision`
//! writes them verbatim: `1.50` stays `1.50`, never `1.5`; the one rewrite is
//! serde_json's exponent form, `1.0e2` is written `1.0e+2`); non-ASCII is
//! written as UTF-8, never `\u` escaped; one final newline.
//!
//! **Reader** ([`read`], [`read_as`]): a first streaming pass checks the JSON
//! syntax and rejects an element given twice in one object (fhirbolt's element
//! tree would keep the last one silently), both with byte offset, line and
//! element path; then fhirbolt's strict mode, which rejects elements the R4
//! model does not define. It checks the model only (element
//! names, JSON types, required `Extension.url` …), not primitive formats,
//! cardinality, profiles or invariants: that is [`crate::validate`]'s job.
//! fhirbolt also reads a single value where the model has an array
//! (`"given": "x"` becomes `["x"]`); the writer always writes the array, and the
//! validator reports the shape (V006) on the original bytes.
//! Failures are one `V1xx` diagnostic ([`super::codes`]). Syntax errors carry the
//! byte offset and line. fhirbolt reads a [`Resource`] through an intermediate
//! element tree, so its model errors carry no position; the reader narrows them
//! to the innermost failing resource (`Bundle.entry[3].resource`,
//! `….contained[0]`) and, for a named element that occurs once there, to that
//! element (`Location::element`).

use diagnostics::{Diagnostic, Excerpt, Location, Phi};
use fhirbolt::serde::{DeserializationConfig, DeserializationMode, SerializationConfig};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

use super::codes;
use super::{FromResource, Resource};

fn strict() -> Option<DeserializationConfig> {
    Some(DeserializationConfig {
        mode: DeserializationMode::Strict,
    })
}

/// Writes `resource` as deterministic FHIR JSON with a final newline (wrap a
/// resource struct with [`super::IntoResource::into_resource`]).
///
/// Not generic on purpose: fhirbolt's serde code is generic over the serializer,
/// so it is compiled (about a minute) in whichever crate instantiates it; with
/// one concrete signature that happens once, here, not again in every caller. Fails (`V109`) only for values
/// fhirbolt cannot write: an `Invalid` choice value, or a decimal whose text is
/// not a JSON number (`"1."`, `"+1"`, `".5"`: normalise source numbers first).
pub fn to_vec(resource: &Resource) -> Result<Vec<u8>, Box<Diagnostic>> {
    let config = SerializationConfig { always_sort: true };
    match fhirbolt::json::to_vec_pretty(resource, Some(config)) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            Ok(bytes)
        }
        Err(e) => Err(Box::new(
            Diagnostic::new(
                &codes::NOT_WRITABLE,
                "the resource holds a value FHIR JSON cannot express",
            )
            .excerpt(Excerpt::text(e.to_string())),
        )),
    }
}

/// The JSON value of `resource`, built straight from the model (no text in
/// between): the same elements, order and decimal texts as [`to_vec`] writes,
/// so `value_bytes(&to_value(r)?)` is byte for byte `to_vec(&r)?` (tested).
/// For callers that need both the value (to validate it) and the bytes.
pub fn to_value(resource: Resource) -> Result<Value, Box<Diagnostic>> {
    let config = SerializationConfig { always_sort: true };
    fhirbolt::json::to_json_value(resource, Some(config)).map_err(|e| {
        Box::new(
            Diagnostic::new(
                &codes::NOT_WRITABLE,
                "the resource holds a value FHIR JSON cannot express",
            )
            .excerpt(Excerpt::text(e.to_string())),
        )
    })
}

/// Writes a JSON value as [`to_vec`] writes a resource: two-space indentation,
/// keys in the value's order, one final newline.
pub fn value_bytes(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4096);
    // Writing a `Value` into a Vec cannot fail: its keys are strings and the
    // writer is infallible.
    if serde_json::to_writer_pretty(&mut bytes, value).is_err() {
        bytes.clear();
    }
    bytes.push(b'\n');
    bytes
}

/// Reads FHIR JSON bytes into a given resource struct, e.g. `read_as::<Patient>`.
/// Another resourceType is a `V106`.
///
/// (It reads a [`Resource`] and unwraps it: fhirbolt's direct typed read
/// rejects integer-valued decimals such as `"value": 1`.)
pub fn read_as<T: FromResource>(bytes: &[u8]) -> Result<T, Box<Diagnostic>> {
    let r = read(bytes)?;
    T::from_resource(r).map_err(|_| {
        Box::new(
            Diagnostic::new(
                &codes::UNKNOWN_RESOURCE_TYPE,
                format!("expected a {} resource", T::RESOURCE_TYPE),
            )
            .at(Location::default().element("resourceType")),
        )
    })
}

/// Reads FHIR JSON bytes into a [`Resource`] in strict mode.
pub fn read(bytes: &[u8]) -> Result<Resource, Box<Diagnostic>> {
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let bad_len = e.error_len().unwrap_or(bytes.len() - at).min(4);
        let (line, _) = line_of(bytes, at);
        return Err(Box::new(
            Diagnostic::new(
                &codes::NOT_UTF8,
                "the bytes are not UTF-8 (FHIR JSON is always UTF-8)",
            )
            .at(Location::default().byte(at as u64).line(line))
            .excerpt(
                // The bytes may sit in any text, a name included.
                Excerpt::bytes(bytes.get(at..at + bad_len).unwrap_or(&[]))
                    .with_phi(Some(Phi::Other)),
            ),
        ));
    }
    check_structure(bytes)?;
    match fhirbolt::json::from_slice::<Resource>(bytes, strict()) {
        Ok(v) => Ok(v),
        Err(e) => Err(Box::new(diagnose(bytes, &e))),
    }
}

/// 1-based line of byte `at`, and the byte offset where that line starts.
fn line_of(bytes: &[u8], at: usize) -> (u32, usize) {
    let head = bytes.get(..at).unwrap_or(bytes);
    let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (u32::try_from(line).unwrap_or(u32::MAX), start)
}

/// Byte offset of serde_json's (line, column) position (column counts bytes).
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    if line > 1 {
        let mut seen = 1;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                seen += 1;
                if seen == line {
                    start = i + 1;
                    break;
                }
            }
        }
    }
    (start + column.saturating_sub(1)).min(bytes.len())
}

/// What kind of model error serde reported, from serde's own (stable) message
/// prefixes, and the element name it names if any.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Unknown(String),
    Duplicate(String),
    Missing(String),
    ResourceType,
    WrongType,
    Other,
}

fn backticked(msg: &str) -> Option<String> {
    let rest = msg.split_once('`')?.1;
    Some(rest.split_once('`')?.0.to_owned())
}

fn kind_of(msg: &str) -> Kind {
    if msg.contains("expected valid resourceType") || msg.contains("expected a resource") {
        Kind::ResourceType
    } else if msg.starts_with("unknown field") {
        backticked(msg).map_or(Kind::Other, Kind::Unknown)
    } else if msg.starts_with("duplicate field") {
        backticked(msg).map_or(Kind::Other, Kind::Duplicate)
    } else if msg.starts_with("missing field") {
        backticked(msg).map_or(Kind::Other, Kind::Missing)
    } else if ["invalid type", "invalid value", "Parse"]
        .iter()
        .any(|p| msg.starts_with(p))
        || msg.contains("did not match any variant")
    {
        Kind::WrongType
    } else {
        Kind::Other
    }
}

/// serde_json appends " at line L column C" to messages; strip it.
fn bare_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) if e.line() > 0 => full.get(..i).unwrap_or(&full).to_owned(),
        _ => full,
    }
}

fn diagnose(bytes: &[u8], e: &serde_json::Error) -> Diagnostic {
    use serde_json::error::Category;
    let msg = bare_message(e);
    let at = offset_of(bytes, e.line(), e.column());
    let (line, _) = line_of(bytes, at);
    let positioned = Location::default().byte(at as u64).line(line);
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            Diagnostic::new(&codes::SYNTAX, format!("not well-formed JSON: {msg}")).at(positioned)
        }
        Category::Data => {
            let kind = kind_of(&msg);
            // A streamed read (a resource struct) fails right where the problem is;
            // a `Resource` read goes through fhirbolt's element tree first and
            // fails at the end of the resource, so the position is not told.
            let value: Option<Value> = serde_json::from_slice(bytes).ok();
            let mut kind = kind;
            // fhirbolt reads a primitive as `{value: …}`: a string where an object
            // belongs surfaces as an unknown `value` that the input never wrote.
            if kind == Kind::Unknown("value".to_owned())
                && !value.as_ref().is_some_and(|v| has_key(v, "value"))
            {
                kind = Kind::WrongType;
            }
            let element = value.as_ref().and_then(|v| locate(v, &kind));
            let mut loc = Location::default();
            if let Some(el) = element {
                loc = loc.element(el);
            }
            let (code, text) = match &kind {
                Kind::Unknown(k) => (
                    &codes::UNKNOWN_ELEMENT,
                    format!("`{k}` is not an element of FHIR R4 here"),
                ),
                Kind::Duplicate(k) => (
                    &codes::DUPLICATE_ELEMENT,
                    format!("`{k}` is given twice in one object"),
                ),
                Kind::Missing(k) => (
                    &codes::MISSING_ELEMENT,
                    format!("`{k}` is required by the FHIR R4 model"),
                ),
                Kind::ResourceType => (
                    &codes::UNKNOWN_RESOURCE_TYPE,
                    "resourceType is missing or not an R4 resource type".to_owned(),
                ),
                Kind::WrongType => (
                    &codes::WRONG_TYPE,
                    "a value has the wrong JSON type for its element".to_owned(),
                ),
                Kind::Other => (
                    &codes::NOT_IN_MODEL,
                    "the JSON does not fit the FHIR R4 model".to_owned(),
                ),
            };
            let d = Diagnostic::new(code, text).at(loc);
            match kind {
                // serde's text quotes the offending value: it may be PHI.
                Kind::WrongType | Kind::Other => d.excerpt(Excerpt::phi_text(msg, Phi::Other)),
                _ => d,
            }
        }
    }
}

/// The element path of a model error: the innermost nested resource that fails
/// on its own, then the named element if it occurs exactly once in it.
fn locate(root: &Value, kind: &Kind) -> Option<String> {
    let rt = root.get("resourceType").and_then(Value::as_str);
    let Some(rt) = rt else {
        return Some("resourceType".to_owned());
    };
    let (path, res) = innermost(root, rt.to_owned());
    let named = match kind {
        Kind::Unknown(k) | Kind::Duplicate(k) => k,
        Kind::ResourceType => return Some(format!("{path}.resourceType")),
        Kind::Missing(_) | Kind::WrongType | Kind::Other => return Some(path),
    };
    let mut hits = Vec::new();
    find_key(res, &path, named, &mut hits);
    if hits.len() == 1 {
        hits.pop()
    } else {
        Some(path)
    }
}

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k == key || has_key(v, key)),
        Value::Array(a) => a.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

/// Nested resources of `res`: `(path suffix, value)`.
fn nested(res: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(entries) = res.get("entry").and_then(Value::as_array) {
        for (i, e) in entries.iter().enumerate() {
            if let Some(r) = e.get("resource") {
                out.push((format!(".entry[{i}].resource"), r));
            }
        }
    }
    if let Some(cs) = res.get("contained").and_then(Value::as_array) {
        for (i, r) in cs.iter().enumerate() {
            out.push((format!(".contained[{i}]"), r));
        }
    }
    out
}

fn innermost(res: &Value, path: String) -> (String, &Value) {
    for (suffix, sub) in nested(res) {
        // Through bytes and the one `from_slice` instantiation (see `to_vec`).
        let fails = serde_json::to_vec(sub).map_or(true, |b| {
            fhirbolt::json::from_slice::<Resource>(&b, strict()).is_err()
        });
        if fails {
            return innermost(sub, format!("{path}{suffix}"));
        }
    }
    (path, res)
}

/// Paths of every `key` in `v`, not descending into nested resources.
fn find_key(v: &Value, path: &str, key: &str, hits: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, sub) in map {
                let p = format!("{path}.{k}");
                if k == key {
                    hits.push(p.clone());
                }
                if k == "contained" || (k == "resource" && path.ends_with(']')) {
                    continue;
                }
                find_key(sub, &p, key, hits);
            }
        }
        Value::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                find_key(sub, &format!("{path}[{i}]"), key, hits);
            }
        }
        _ => {}
    }
}

/// The streaming pass: JSON syntax and duplicate keys, with positions.
fn check_structure(bytes: &[u8]) -> Result<(), Box<Diagnostic>> {
    let mut path = Vec::new();
    let mut dup = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        path: &mut path,
        dup: &mut dup,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    let Err(e) = walked else {
        return Ok(());
    };
    let mut at = offset_of(bytes, e.line(), e.column());
    if dup.is_some() {
        // serde_json stops on the key's closing quote; point at its opening one.
        at = bytes
            .get(..at)
            .and_then(|h| h.iter().rposition(|&b| b == b'"'))
            .unwrap_or(at);
    }
    let (line, _) = line_of(bytes, at);
    let loc = Location::default().byte(at as u64).line(line);
    Err(Box::new(match dup {
        Some((key, segs)) => {
            // The path's root is the resourceType, when the JSON is otherwise whole.
            let root = serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v.get("resourceType")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "Resource".to_owned());
            Diagnostic::new(
                &codes::DUPLICATE_ELEMENT,
                format!("`{key}` is given twice in one object"),
            )
            .at(loc.element(format!("{root}{segs}")))
        }
        None => Diagnostic::new(
            &codes::SYNTAX,
            format!("not well-formed JSON: {}", bare_message(&e)),
        )
        .at(loc),
    }))
}

enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Walks any JSON value, keeping the path, and fails on the first duplicate key.
struct Walk<'a> {
    path: &'a mut Vec<Seg>,
    dup: &'a mut Option<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Seg::Index(i));
            let more = seq.next_element_seed(Walk {
                path: self.path,
                dup: self.dup,
            })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                self.path.push(Seg::Key(key.clone()));
                *self.dup = Some((key, render(self.path)));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            self.path.push(Seg::Key(key));
            map.next_value_seed(Walk {
                path: self.path,
                dup: self.dup,
            })?;
            self.path.pop();
        }
        Ok(())
    }
}
