//! The pseudonymisation of one resource or Bundle (FHIR JSON, in place), by the
//! rules of [`RULES`], and the tallies the processing record reports.

use crate::dates::{self, BirthPrecision};
use crate::key::Key;
use crate::optout::OptOut;
use crate::patients::{Patients, target_id};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One processing rule: what it touches and what it does (the record lists them
/// with their counts).
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Short id, the key of its count.
    pub id: &'static str,
    /// `deleted`, `replaced`, `generalised`, `shifted`, `excluded`.
    pub action: &'static str,
    /// The elements it applies to.
    pub elements: &'static str,
}

/// Every rule, in the order the record lists them.
pub const RULES: &[Rule] = &[
    Rule {
        id: "opt-out",
        action: "excluded",
        elements: "every resource of a patient on the opt-out list: their Patient copies, every resource referring to them, every Bundle holding them",
    },
    Rule {
        id: "name",
        action: "deleted",
        elements: "every HumanName: Patient.name, Practitioner.name, RelatedPerson.name, contained Practitioners' names (any `name` that is not a plain string)",
    },
    Rule {
        id: "telecom",
        action: "deleted",
        elements: "every ContactPoint (`telecom`: phone, e-mail), of patients, staff and organisations",
    },
    Rule {
        id: "address",
        action: "generalised",
        elements: "every Address: only `state` (the prefecture; taken from the start of `text`, `city` or `line` when absent), `country`, `use` and `type` kept; postal code, city, district, lines and text deleted",
    },
    Rule {
        id: "contact-photo",
        action: "deleted",
        elements: "`contact` (next of kin, organisation contacts) and `photo`, wherever they are",
    },
    Rule {
        id: "patient-identifier",
        action: "deleted",
        elements: "Patient.identifier: the hospital's patient id (カルテ番号), JP_Insurance_memberID (保険者番号:記号:番号:枝番) and every other identifier of the patient (個人識別符号); the Patient's id is its pseudonym",
    },
    Rule {
        id: "insurance",
        action: "deleted",
        elements: "Coverage.subscriberId, Coverage.identifier, Coverage.dependent, Coverage.class; extensions on the insured person's 記号 / 番号 / 枝番 (URL containing `InsuredPerson`)",
    },
    Rule {
        id: "reference-display",
        action: "deleted",
        elements: "Reference.display (the names of doctors, patients, places), except on Specimen, Medication, Substance and Device references",
    },
    Rule {
        id: "free-text",
        action: "deleted",
        elements: "narrative (`text`, `div`), `note`, `comment`, `description`, `*String` and `*Markdown` values (valueString, onsetString …), attachment `data` and `url`, a CodeableConcept's `text` when it has no coding (typed by a person); kept with --keep-free-text",
    },
    Rule {
        id: "meta",
        action: "deleted",
        elements: "meta.versionId, meta.source",
    },
    Rule {
        id: "id",
        action: "replaced",
        elements: "every id (resources, contained resources, elements): HMAC-SHA256 under the release key, as a UUID (version 8); every copy of a Patient gets the patient's pseudonym",
    },
    Rule {
        id: "reference",
        action: "replaced",
        elements: "every Reference.reference (`Type/id`, `urn:uuid:…`, `#contained`): the pseudonym of the id it names, so references still resolve",
    },
    Rule {
        id: "fullUrl",
        action: "replaced",
        elements: "every Bundle.entry.fullUrl: `urn:uuid:` + the pseudonym of its UUID",
    },
    Rule {
        id: "identifier",
        action: "replaced",
        elements: "every remaining Identifier.value (order and result numbers, bundle and document identifiers, staff ids, institution and insurer numbers): HMAC-SHA256 of system and value, as a UUID; the system is kept",
    },
    Rule {
        id: "birthDate",
        action: "generalised",
        elements: "Patient.birthDate cut to year-month (or year, --birth-date year), after the date shift when there is one",
    },
    Rule {
        id: "date-shift",
        action: "shifted",
        elements: "with --shift-dates: every full date, dateTime and instant of a patient's resources (and of Bundles holding them) moved by the patient's offset, ±1–180 days from HMAC-SHA256 of the patient under the key; partial dates (year, year-month) kept",
    },
];

/// Options of the transform.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Shift a patient's dates by a keyed offset.
    pub shift_dates: bool,
    /// Precision of birth dates.
    pub birth: BirthPrecision,
    /// Keep free text (narrative, notes, comments, …).
    pub keep_free_text: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            shift_dates: false,
            birth: BirthPrecision::YearMonth,
            keep_free_text: false,
        }
    }
}

/// A quasi-identifier whose FHIRPath does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiError {
    /// The quasi-identifier's name.
    pub name: String,
    /// Its expression as given.
    pub path: String,
    /// Why it does not compile.
    pub reason: String,
}

impl std::fmt::Display for QuasiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "quasi-identifier {} = {}: {}",
            self.name, self.path, self.reason
        )
    }
}

impl std::error::Error for QuasiError {}

/// A quasi-identifier of the risk report: a name and a FHIRPath on the released Patient.
pub struct Quasi {
    /// Its name (`birth`, `sex`, `prefecture`, or the user's).
    pub name: String,
    /// The FHIRPath expression.
    pub expression: fhir::fhirpath::Expression,
}

impl Quasi {
    /// `name` = `path`.
    pub fn new(name: &str, path: &str) -> Result<Quasi, QuasiError> {
        let expression = fhir::fhirpath::Expression::compile(path);
        if let Some(e) = expression.not_evaluable() {
            return Err(QuasiError {
                name: name.to_owned(),
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
        Ok(Quasi {
            name: name.to_owned(),
            expression,
        })
    }

    /// The defaults: birth year-month, sex, prefecture.
    pub fn defaults() -> Vec<Quasi> {
        [
            ("birth", "birthDate"),
            ("sex", "gender"),
            ("prefecture", "address.state.first()"),
        ]
        .iter()
        .filter_map(|(n, p)| Quasi::new(n, p).ok())
        .collect()
    }
}

/// One released person: what the risk report needs.
#[derive(Clone, Debug, Default)]
pub struct Released {
    /// Quasi-identifier values (first released Patient copy), `None` when absent.
    pub qi: Option<Vec<Option<String>>>,
    /// Resources of theirs released (each resource once).
    pub records: u64,
}

/// Counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Persons in the input.
    pub patients_in: u64,
    /// Persons the opt-out list names.
    pub patients_opted_out: u64,
    /// Persons released.
    pub patients_out: u64,
    /// Opt-out entries that named nobody in the input.
    pub opt_out_unmatched: u64,
    /// Opt-out entries.
    pub opt_out_entries: u64,
    /// Resources read (Bundle entries included, copies included).
    pub resources_in: u64,
    /// Resources excluded (opt-out).
    pub resources_excluded: u64,
    /// Bundles excluded whole (opt-out).
    pub bundles_excluded: u64,
    /// Resources handed on (copies included).
    pub resources_out: u64,
}

/// The pseudonymiser of one release: key, options, the input's persons.
pub struct Pseudonymiser<'k> {
    key: &'k Key,
    opts: Options,
    patients: Patients,
    pseudonyms: Vec<String>,
    offsets: Vec<i64>,
    opted_out: Vec<bool>,
    released: Vec<Released>,
    quasi: Vec<Quasi>,
    seen: views::source::Seen,
    tally: BTreeMap<&'static str, u64>,
    counts: Counts,
}

const NOT_SHIFTED: &[&str] = &[
    "code",
    "system",
    "url",
    "version",
    "id",
    "reference",
    "fullUrl",
];
const DISPLAY_KEPT: &[&str] = &["Specimen", "Medication", "Substance", "Device"];

impl<'k> Pseudonymiser<'k> {
    /// For an input whose persons the first pass found.
    pub fn new(
        key: &'k Key,
        opts: Options,
        patients: Patients,
        opt_out: Option<&OptOut>,
        quasi: Vec<Quasi>,
    ) -> Pseudonymiser<'k> {
        let pseudonyms = patients
            .people
            .iter()
            .map(|p| key.uuid("patient", &[p.identity.as_bytes()]))
            .collect();
        let offsets = patients
            .people
            .iter()
            .map(|p| key.offset_days("date-shift", &[p.identity.as_bytes()]))
            .collect();
        let (opted_out, unmatched) = match opt_out {
            Some(l) => patients.opted_out(l),
            None => (vec![false; patients.people.len()], 0),
        };
        let n = patients.people.len() as u64;
        let out = opted_out.iter().filter(|o| **o).count() as u64;
        let counts = Counts {
            patients_in: n,
            patients_opted_out: out,
            patients_out: n - out,
            opt_out_unmatched: unmatched as u64,
            opt_out_entries: opt_out.map_or(0, |l| l.entries as u64),
            ..Counts::default()
        };
        let released = vec![Released::default(); patients.people.len()];
        Pseudonymiser {
            key,
            opts,
            patients,
            pseudonyms,
            offsets,
            opted_out,
            released,
            quasi,
            seen: views::source::Seen::default(),
            tally: BTreeMap::new(),
            counts,
        }
    }

    /// Counts so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// How often each rule applied (rule id → count).
    pub fn tally(&self) -> &BTreeMap<&'static str, u64> {
        &self.tally
    }

    /// The released persons (in input order, opted-out ones left out).
    pub fn released(&self) -> Vec<&Released> {
        self.released
            .iter()
            .zip(&self.opted_out)
            .filter(|(_, o)| !**o)
            .map(|(r, _)| r)
            .collect()
    }

    /// The quasi-identifiers' names.
    pub fn quasi_names(&self) -> Vec<&str> {
        self.quasi.iter().map(|q| q.name.as_str()).collect()
    }

    fn persons_referenced(&self, v: &Value, out: &mut Vec<usize>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "reference"
                        && let Some(p) = x
                            .as_str()
                            .and_then(target_id)
                            .and_then(|id| self.patients.person_of(id))
                    {
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    } else {
                        self.persons_referenced(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.persons_referenced(x, out)),
            _ => {}
        }
    }

    fn persons_of_resource(&self, v: &Value) -> Vec<usize> {
        let mut out = Vec::new();
        if v.get("resourceType").and_then(Value::as_str) == Some("Patient")
            && let Some(p) = v
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| self.patients.person_of(id))
        {
            out.push(p);
        }
        self.persons_referenced(v, &mut out);
        out
    }

    fn count_resources(v: &Value) -> u64 {
        if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            v.get("entry").and_then(Value::as_array).map_or(0, |e| {
                e.iter().filter(|e| e.get("resource").is_some()).count()
            }) as u64
        } else {
            1
        }
    }

    /// Pseudonymises `v` in place: a resource read on its own (an NDJSON line, a
    /// JSON file) or a Bundle. `false` when it is excluded (an opted-out patient's;
    /// then `v` is left as read and must not be used).
    pub fn process(&mut self, v: &mut Value) -> bool {
        let n = Self::count_resources(v);
        self.counts.resources_in += n;
        let is_bundle = v.get("resourceType").and_then(Value::as_str) == Some("Bundle");
        let persons = if is_bundle {
            let mut ps = Vec::new();
            for e in v
                .get("entry")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let Some(r) = e.get("resource") else { continue };
                if r.get("resourceType").and_then(Value::as_str) == Some("Patient") {
                    let id = r
                        .get("id")
                        .and_then(Value::as_str)
                        .or_else(|| e.get("fullUrl").and_then(Value::as_str).and_then(target_id));
                    if let Some(p) = id.and_then(|id| self.patients.person_of(id))
                        && !ps.contains(&p)
                    {
                        ps.push(p);
                    }
                }
            }
            if ps.is_empty() {
                self.persons_referenced(v, &mut ps);
            }
            ps
        } else {
            self.persons_of_resource(v)
        };
        if persons.iter().any(|p| self.opted_out[*p]) {
            self.counts.resources_excluded += n;
            *self.tally.entry("opt-out").or_default() += n;
            if is_bundle {
                self.counts.bundles_excluded += 1;
            }
            return false;
        }
        let shift = if self.opts.shift_dates {
            persons.first().map(|p| self.offsets[*p])
        } else {
            None
        };
        let mut w = Walker {
            key: self.key,
            patients: &self.patients,
            pseudonyms: &self.pseudonyms,
            opts: self.opts,
            shift,
            tally: &mut self.tally,
        };
        if let Value::Object(m) = v {
            w.object(m, "");
        }
        self.counts.resources_out += n;
        // the risk report: records per person (one per resource), quasi-identifiers
        if is_bundle {
            views::source::fill_ids(v);
            let list: Vec<&Value> = views::source::bundle_resources(v)
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            for r in list {
                self.note_released(r, persons.first().copied());
            }
        } else {
            let first = persons.first().copied();
            let r: &Value = v;
            self.note_released(r, first);
        }
        true
    }

    fn note_released(&mut self, r: &Value, person: Option<usize>) {
        let Some(p) = person else { return };
        if self.seen.admit(r) == views::source::Admit::Duplicate {
            return;
        }
        self.released[p].records += 1;
        if self.released[p].qi.is_none()
            && r.get("resourceType").and_then(Value::as_str) == Some("Patient")
        {
            let vals = self
                .quasi
                .iter()
                .map(|q| {
                    q.expression
                        .evaluate(r, None, fhir::fhirpath::Env::default())
                        .ok()
                        .and_then(|c| c.first().and_then(|i| i.to_text()))
                })
                .collect();
            self.released[p].qi = Some(vals);
        }
    }
}

struct Walker<'a> {
    key: &'a Key,
    patients: &'a Patients,
    pseudonyms: &'a [String],
    opts: Options,
    shift: Option<i64>,
    tally: &'a mut BTreeMap<&'static str, u64>,
}

fn is_identifier_key(k: &str) -> bool {
    k == "identifier" || k.ends_with("Identifier") || k == "requisition"
}

fn is_free_text_key(k: &str, v: &Value) -> bool {
    matches!(k, "note" | "comment" | "div")
        || k == "description" && v.is_string()
        || k == "text" && v.is_object()
        || (k.starts_with(|c: char| c.is_ascii_lowercase())
            && (k.ends_with("String") || k.ends_with("Markdown")))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

impl Walker<'_> {
    fn count(&mut self, rule: &'static str) {
        *self.tally.entry(rule).or_default() += 1;
    }

    fn id(&self, x: &str) -> String {
        match self.patients.person_of(x) {
            Some(p) => self.pseudonyms[p].clone(),
            None => self.key.uuid("id", &[x.as_bytes()]),
        }
    }

    fn reference(&self, r: &str) -> String {
        if let Some(local) = r.strip_prefix('#') {
            return if local.is_empty() {
                r.to_owned()
            } else {
                format!("#{}", self.id(local))
            };
        }
        if let Some(u) = r.strip_prefix("urn:uuid:") {
            return format!("urn:uuid:{}", self.id(u));
        }
        if let Some(id) = target_id(r) {
            let core = r.find("/_history/").and_then(|i| r.get(..i)).unwrap_or(r);
            let ty = core.rsplit('/').nth(1).unwrap_or("");
            return format!("{ty}/{}", self.id(id));
        }
        format!("urn:uuid:{}", self.key.uuid("reference", &[r.as_bytes()]))
    }

    fn identifier(&mut self, i: &mut Map<String, Value>) {
        let system = i
            .get("system")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(Value::String(v)) = i.get_mut("value") {
            *v = self
                .key
                .uuid("identifier", &[system.as_bytes(), v.as_bytes()]);
            self.count("identifier");
        }
        self.object(i, "identifier");
    }

    fn address(&mut self, a: &mut Map<String, Value>) {
        let state = a
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let mut texts: Vec<&str> = Vec::new();
                for k in ["text", "city", "district"] {
                    if let Some(s) = a.get(k).and_then(Value::as_str) {
                        texts.push(s);
                    }
                }
                if let Some(l) = a.get("line").and_then(Value::as_array) {
                    texts.extend(l.iter().filter_map(Value::as_str));
                }
                texts.into_iter().find_map(crate::prefecture::of)
            });
        let kept: Map<String, Value> = ["use", "type", "country"]
            .iter()
            .filter_map(|k| a.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        *a = kept;
        if let Some(s) = state {
            a.insert("state".into(), Value::String(s));
        }
        self.count("address");
    }

    fn resource_rules(&mut self, m: &mut Map<String, Value>, ty: &str) {
        let drop: &[(&str, &'static str)] = match ty {
            "Patient" => &[("identifier", "patient-identifier")],
            "Coverage" => &[
                ("subscriberId", "insurance"),
                ("identifier", "insurance"),
                ("dependent", "insurance"),
                ("class", "insurance"),
            ],
            _ => &[],
        };
        for (k, rule) in drop {
            if m.remove(*k).is_some() {
                self.count(rule);
            }
        }
        if let Some(Value::Object(meta)) = m.get_mut("meta") {
            let mut n = 0;
            for k in ["versionId", "source"] {
                n += u64::from(meta.remove(k).is_some());
            }
            if n > 0 {
                *self.tally.entry("meta").or_default() += n;
            }
        }
    }

    /// A CodeableConcept holding only text (and extensions): typed by a person.
    fn text_only_concept(m: &Map<String, Value>, parent: &str) -> bool {
        m.get("text").is_some_and(Value::is_string)
            && !m.contains_key("coding")
            && m.keys()
                .all(|k| matches!(k.as_str(), "text" | "extension" | "id"))
            && !matches!(
                parent,
                "referenceRange" | "dosageInstruction" | "dosage" | "address" | "name"
            )
    }

    fn object(&mut self, m: &mut Map<String, Value>, parent: &str) {
        let ty = m
            .get("resourceType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(t) = &ty {
            self.resource_rules(m, t);
        }
        let keep_text = self.opts.keep_free_text;
        if !keep_text && Self::text_only_concept(m, parent) {
            m.remove("text");
            self.count("free-text");
        }
        let is_reference = m.get("reference").is_some_and(Value::is_string)
            || (m.contains_key("display")
                && !m.contains_key("system")
                && !m.contains_key("code")
                && m.keys().all(|k| {
                    matches!(
                        k.as_str(),
                        "display" | "identifier" | "type" | "extension" | "id"
                    )
                }));
        let attachment = parent == "attachment" || parent.ends_with("Attachment");
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            let Some(mut v) = m.remove(&k) else { continue };
            let keep = self.element(&k, &mut v, m, parent, is_reference, attachment);
            if keep && !is_empty(&v) {
                m.insert(k, v);
            }
        }
        if ty.as_deref() == Some("Patient")
            && let Some(Value::String(b)) = m.get_mut("birthDate")
        {
            *b = self.opts.birth.apply(b);
            self.count("birthDate");
        }
    }

    /// One element `k` of an object (`rest` is the object without it). `false`: drop it.
    fn element(
        &mut self,
        k: &str,
        v: &mut Value,
        rest: &Map<String, Value>,
        _parent: &str,
        is_reference: bool,
        attachment: bool,
    ) -> bool {
        let keep_text = self.opts.keep_free_text;
        match k {
            "resourceType" => return true,
            "id" => {
                if let Value::String(s) = v {
                    *s = self.id(s);
                    self.count("id");
                }
                return true;
            }
            "reference" => {
                if let Value::String(s) = v {
                    *s = self.reference(s);
                    self.count("reference");
                }
                return true;
            }
            "fullUrl" => {
                if let Value::String(s) = v {
                    *s = self.reference(s);
                    self.count("fullUrl");
                }
                return true;
            }
            "telecom" => {
                self.count("telecom");
                return false;
            }
            "contact" | "photo" => {
                self.count("contact-photo");
                return false;
            }
            "name" if v.is_object() || v.is_array() => {
                self.count("name");
                return false;
            }
            "display" if is_reference => {
                let ty = rest.get("type").and_then(Value::as_str).unwrap_or("");
                let target_ty = rest
                    .get("reference")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').nth(1))
                    .unwrap_or("");
                if !(DISPLAY_KEPT.contains(&ty) || DISPLAY_KEPT.contains(&target_ty)) {
                    self.count("reference-display");
                    return false;
                }
                return true;
            }
            "data" | "url" if attachment && !keep_text => {
                self.count("free-text");
                return false;
            }
            _ => {}
        }
        if !keep_text && is_free_text_key(k, v) {
            self.count("free-text");
            return false;
        }
        if k == "address" {
            match v {
                Value::Object(a) => self.address(a),
                Value::Array(list) => {
                    for a in list.iter_mut() {
                        if let Value::Object(a) = a {
                            self.address(a);
                        }
                    }
                    list.retain(|a| !is_empty(a));
                }
                _ => {}
            }
            return true;
        }
        if k == "extension" || k == "modifierExtension" {
            if let Value::Array(list) = v {
                let before = list.len();
                list.retain(|e| {
                    !e.get("url")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.contains("InsuredPerson"))
                });
                for _ in list.len()..before {
                    self.count("insurance");
                }
                for e in list.iter_mut() {
                    if let Value::Object(e) = e {
                        self.object(e, k);
                    }
                }
                // an extension left with its url only lost its value (free text)
                list.retain(|e| e.as_object().is_some_and(|m| m.keys().any(|k| k != "url")));
            }
            return true;
        }
        if is_identifier_key(k) {
            match v {
                Value::Object(i) => self.identifier(i),
                Value::Array(list) => {
                    for i in list.iter_mut() {
                        if let Value::Object(i) = i {
                            self.identifier(i);
                        }
                    }
                    list.retain(|i| !is_empty(i));
                }
                _ => {}
            }
            return true;
        }
        self.value(k, v);
        true
    }

    fn value(&mut self, k: &str, v: &mut Value) {
        match v {
            Value::Object(m) => self.object(m, k),
            Value::Array(list) => {
                for x in list.iter_mut() {
                    self.value(k, x);
                }
                list.retain(|x| !is_empty(x));
            }
            Value::String(s) => {
                if let Some(d) = self.shift
                    && !NOT_SHIFTED.contains(&k)
                    && let Some(t) = dates::shift(s, d)
                {
                    *s = t;
                    self.count("date-shift");
                }
            }
            _ => {}
        }
    }
}
