//! FHIR resources from what `convert` and the document commands wrote: NDJSON
//! lines and Bundle files (their entries' resources), and the rule that keeps one
//! copy of a resource read twice.
//!
//! Deduplication: two copies are the same resource when they have the same type
//! and id, or the same type and the same non-empty list of identifiers
//! (system|value): `convert` writes each resource once to NDJSON (with an id, the
//! patient as `Patient/<id>`) and again inside its Bundle (no id, a `urn:uuid:`
//! fullUrl, a Patient copy per Bundle with the same identifiers). A Bundle entry
//! without an id takes its fullUrl's UUID as id, as `convert`'s NDJSON does. The
//! first copy read wins, so the order of reading decides, and it is fixed: the
//! `--from` folders in the order given, in each the NDJSON files by name (lines in
//! order), then the Bundle files by name (entries in order). Later copies are
//! counted and skipped. Only 128-bit hashes of the keys are kept, so memory grows
//! by a few dozen bytes per distinct resource.

use fhir::fhirpath::Resolver;
use serde_json::Value;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// What [`Seen::admit`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// First copy: use it.
    New,
    /// A copy of a resource read before: skip.
    Duplicate,
    /// No id and no identifier: used as read (it cannot be matched).
    Unkeyed,
}

/// The resources read so far (128-bit hashes of their keys only).
///
/// The keys are spread over 16 sets by their first four bits: each set grows
/// on its own, so growing never holds a whole old and new table at once (one
/// set of all keys peaked at 1.5 times its size while rehashing, the biggest
/// allocation of an export), and a lookup stays one probe.
#[derive(Debug)]
pub struct Seen {
    parts: Vec<HashSet<(u64, u64), BuildHasherDefault<PreHashed>>>,
}

/// Sets a [`Seen`] spreads its keys over.
const PARTS: usize = 16;

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            parts: (0..PARTS).map(|_| HashSet::default()).collect(),
        }
    }
}

/// The hasher of keys that are hashes already: their bits, mixed no further.
#[derive(Debug, Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

fn key_hash(parts: &[&str]) -> (u64, u64) {
    let h = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        parts.hash(&mut h);
        h.finish()
    };
    (h(0), h(1))
}

impl Seen {
    /// Decides whether `resource` is used (and remembers it).
    pub fn admit(&mut self, resource: &Value) -> Admit {
        let ty = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut keys = Vec::with_capacity(2);
        if let Some(id) = resource.get("id").and_then(Value::as_str) {
            keys.push(key_hash(&[ty, "id", id]));
        }
        let ids: Vec<&str> = resource
            .get("identifier")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .flat_map(|i| {
                [
                    i.get("system").and_then(Value::as_str).unwrap_or(""),
                    i.get("value").and_then(Value::as_str).unwrap_or(""),
                ]
            })
            .collect();
        if !ids.is_empty() {
            let mut parts = vec![ty, "identifier"];
            parts.extend(ids);
            keys.push(key_hash(&parts));
        }
        if keys.is_empty() {
            return Admit::Unkeyed;
        }
        let part = |k: &(u64, u64)| (k.0 >> 60) as usize % PARTS;
        if keys.iter().any(|k| self.parts[part(k)].contains(k)) {
            return Admit::Duplicate;
        }
        for k in keys {
            self.parts[part(&k)].insert(k);
        }
        Admit::New
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.parts.iter().map(HashSet::len).sum()
    }

    /// Nothing remembered yet.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(HashSet::is_empty)
    }
}

/// A Bundle's entries by fullUrl, to resolve its `urn:uuid:` references.
pub struct BundleIndex<'a> {
    by_url: HashMap<&'a str, &'a Value>,
}

impl<'a> BundleIndex<'a> {
    /// Indexes `bundle`'s entries.
    pub fn new(bundle: &'a Value) -> BundleIndex<'a> {
        let mut by_url = HashMap::new();
        for e in entries(bundle) {
            if let (Some(u), Some(r)) =
                (e.get("fullUrl").and_then(Value::as_str), e.get("resource"))
            {
                by_url.insert(u, r);
            }
        }
        BundleIndex { by_url }
    }
}

impl<'a> Resolver<'a> for BundleIndex<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        self.by_url.get(reference).copied()
    }
}

fn entries(bundle: &Value) -> &[Value] {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Gives every entry's resource without an id the UUID of its `urn:uuid:`
/// fullUrl as id (what `convert` does for NDJSON).
pub fn fill_ids(bundle: &mut Value) {
    let Some(list) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return;
    };
    for e in list {
        let uuid = e
            .get("fullUrl")
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("urn:uuid:"))
            .map(str::to_owned);
        if let (Some(uuid), Some(Value::Object(r))) = (uuid, e.get_mut("resource"))
            && !r.contains_key("id")
        {
            r.insert("id".into(), Value::String(uuid));
        }
    }
}

/// The resources a Bundle holds, with their place (`entry[3]`), in order.
pub fn bundle_resources(bundle: &Value) -> Vec<(String, &Value)> {
    entries(bundle)
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.get("resource").map(|r| (format!("entry[{i}]"), r)))
        .collect()
}

/// Whether a parsed value is a FHIR resource (an object with a `resourceType`).
pub fn is_resource(v: &Value) -> bool {
    v.get("resourceType").and_then(Value::as_str).is_some()
}
