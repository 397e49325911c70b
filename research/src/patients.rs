//! The patients of an input, found in a first pass over every file: each Patient
//! copy (the NDJSON one, one per unit Bundle, one per document) is tied to one
//! person by its identifiers, so every copy gets the same pseudonym, the same date
//! offset and the same opt-out decision.
//!
//! A person is keyed by the first of: the hospital's patient id (an identifier
//! whose system is `urn:oid:1.2.392.100495.20.3.51.…`, JP Core's 患者ID), the
//! insurance identifier (`JP_Insurance_memberID`), any other identifier, the
//! resource's own id.

use crate::optout::{OptOut, fold};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// JP Core's patient id system prefix (`1.2.392.100495.20.3.51.1<医療機関コード>`).
pub const LOCAL_ID_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.51.";

/// One person: what identifies them (never written anywhere).
#[derive(Clone, Debug, Default)]
pub struct Person {
    /// The key the person's pseudonym and date offset derive from.
    pub identity: String,
    /// Local patient ids seen on the person's copies.
    pub local_ids: BTreeSet<String>,
    /// Insurance identifiers seen on the person's copies.
    pub insurance: BTreeSet<String>,
    /// Patient resource copies read.
    pub copies: u64,
}

/// Every person of the input and the ids their Patient copies carry.
#[derive(Clone, Debug, Default)]
pub struct Patients {
    by_ref: HashMap<String, usize>,
    by_identity: HashMap<String, usize>,
    /// The persons, in the order first read.
    pub people: Vec<Person>,
}

/// The logical id a reference points at (`Patient/x`, `…/Patient/x/_history/2`,
/// `urn:uuid:x`): `x`.
pub fn target_id(reference: &str) -> Option<&str> {
    if let Some(u) = reference.strip_prefix("urn:uuid:") {
        return Some(u);
    }
    let core = match reference.find("/_history/") {
        Some(i) => reference.get(..i)?,
        None => reference,
    };
    let mut it = core.rsplit('/');
    let id = it.next()?;
    let ty = it.next()?;
    (ty.starts_with(|c: char| c.is_ascii_uppercase()) && !id.is_empty()).then_some(id)
}

fn identity(p: &Value) -> (String, Vec<String>, Vec<String>) {
    let mut locals = Vec::new();
    let mut insurance = Vec::new();
    let mut other = None;
    for i in p
        .get("identifier")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let system = i.get("system").and_then(Value::as_str).unwrap_or("");
        let Some(value) = i.get("value").and_then(Value::as_str) else {
            continue;
        };
        if system.starts_with(LOCAL_ID_SYSTEM) {
            locals.push(format!("local\u{0}{system}\u{0}{}", fold(value)));
        } else if system.ends_with("JP_Insurance_memberID") {
            insurance.push(fold(value));
        } else if other.is_none() {
            other = Some(format!("other\u{0}{system}\u{0}{value}"));
        }
    }
    let key = locals
        .first()
        .cloned()
        .or_else(|| insurance.first().map(|i| format!("insurance\u{0}{i}")))
        .or(other)
        .unwrap_or_else(|| {
            format!(
                "resource\u{0}{}",
                p.get("id").and_then(Value::as_str).unwrap_or("")
            )
        });
    let locals = locals
        .iter()
        .filter_map(|l| l.rsplit('\u{0}').next().map(str::to_owned))
        .collect();
    (key, locals, insurance)
}

impl Patients {
    fn add(&mut self, patient: &Value, id: Option<&str>) {
        let (key, locals, insurance) = identity(patient);
        let n = self.people.len();
        let i = *self.by_identity.entry(key.clone()).or_insert(n);
        if i == n {
            self.people.push(Person {
                identity: key,
                ..Person::default()
            });
        }
        let p = &mut self.people[i];
        p.copies += 1;
        p.local_ids.extend(locals);
        p.insurance.extend(insurance);
        if let Some(id) = id {
            self.by_ref.insert(id.to_owned(), i);
        }
    }

    /// Notes the Patients of one resource read on its own (an NDJSON line) or of
    /// a Bundle (its entries; an entry without id is known by its fullUrl's UUID).
    pub fn observe(&mut self, v: &Value) {
        match v.get("resourceType").and_then(Value::as_str) {
            Some("Patient") => self.add(v, v.get("id").and_then(Value::as_str)),
            Some("Bundle") => {
                for e in v
                    .get("entry")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let Some(r) = e.get("resource") else { continue };
                    if r.get("resourceType").and_then(Value::as_str) != Some("Patient") {
                        continue;
                    }
                    let url = e.get("fullUrl").and_then(Value::as_str);
                    let id = r
                        .get("id")
                        .and_then(Value::as_str)
                        .or_else(|| url.and_then(target_id));
                    self.add(r, id);
                    // the fullUrl names the copy too when the resource also has an id
                    if let Some(u) = url.and_then(target_id)
                        && let Some(&i) = id.and_then(|id| self.by_ref.get(id))
                    {
                        self.by_ref.insert(u.to_owned(), i);
                    }
                }
            }
            _ => {}
        }
    }

    /// The person a logical id (a Patient's id or fullUrl UUID) belongs to.
    pub fn person_of(&self, id: &str) -> Option<usize> {
        self.by_ref.get(id).copied()
    }

    /// Per person, whether the opt-out list names them; and how many of the list's
    /// entries named nobody in the input.
    pub fn opted_out(&self, list: &OptOut) -> (Vec<bool>, usize) {
        let flags = self
            .people
            .iter()
            .map(|p| {
                list.matches(
                    p.local_ids.iter().map(String::as_str),
                    p.insurance.iter().map(String::as_str),
                )
            })
            .collect();
        let unmatched = list.unmatched(
            self.people
                .iter()
                .flat_map(|p| p.local_ids.iter().map(String::as_str)),
            self.people
                .iter()
                .flat_map(|p| p.insurance.iter().map(String::as_str)),
        );
        (flags, unmatched)
    }
}
