//! What changed between two versions of a FHIR IG package: its profiles
//! (StructureDefinitions, compared element by element on their snapshots), value
//! sets and code systems, the other resources it carries, and its own metadata
//! (name, version, dependencies, the ImplementationGuide's `dependsOn`).
//!
//! [`diff`] reads both packages leniently, as JSON values: empty strings count as
//! absent, odd types are tolerated, and a file that is not a JSON resource becomes
//! a note in [`PackageDiff::notes`], never a panic.
//!
//! Snapshots are compared with three rules that keep the report to what a site
//! has to act on:
//! - an element that appears only because the snapshot generator expanded (or
//!   stopped expanding) a data type — `Condition.clinicalStatus.coding.display`
//!   under an unchanged `coding` — is compared with the unconstrained element it
//!   stands for (cardinality of its `base`, no mustSupport, no fixed or pattern
//!   value, and without what the differential sets). Only a real difference is
//!   reported (`0..1 → 1..1`); pure expansions are counted
//!   ([`ProfileDiff::snapshot_only`]).
//! - slices are real elements: a slice added or removed is reported once, its
//!   children only where they constrain something.
//! - a change a profile inherits from a base profile of the same package (the same
//!   change at the same element id) is marked
//!   ([`ElementChange::inherited_from`]) and folded in the Markdown.
//!
//! Documentation is not a change: `short`, `definition`, `comment`,
//! `requirements`, an invariant's `human`, and bindings of `example` strength
//! (which bind nothing). Elements whose only difference is there are counted
//! ([`ProfileDiff::documentation_changes`]).
//!
//! Output is deterministic: everything is sorted (profiles by URL, elements in
//! snapshot order, invariants by key), and the same input gives the same bytes.

use crate::conformance::{Binding, Slicing, TypeRef};
use crate::package::Package;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

mod render;
#[cfg(test)]
mod tests;

/// Before and after of one property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<T> {
    /// Value in the old package.
    pub old: T,
    /// Value in the new package.
    pub new: T,
}

impl<T: PartialEq> Change<T> {
    /// True when old and new differ.
    pub fn differs(&self) -> bool {
        self.old != self.new
    }
}

/// Whether a resource is new, gone, or present in both packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Presence {
    /// Only in the new package.
    Added,
    /// Only in the old package.
    Removed,
    /// In both, with differences.
    Changed,
}

impl Presence {
    /// `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Added => "added",
            Presence::Removed => "removed",
            Presence::Changed => "changed",
        }
    }
}

/// What the package says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageFacts {
    /// `package.json` name.
    pub name: String,
    /// `package.json` version.
    pub version: String,
    /// `package.json` dependencies (package → version).
    pub dependencies: BTreeMap<String, String>,
    /// `version` of the ImplementationGuide resource, if the package has one.
    pub ig_version: Option<String>,
    /// `dependsOn` of the ImplementationGuide resource (packageId → version).
    pub ig_depends_on: BTreeMap<String, String>,
    /// Number of resources per resource type.
    pub resources: BTreeMap<String, usize>,
}

/// One package-level difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageChange {
    /// What changed: `name`, `version`, `dependency <package>`,
    /// `ImplementationGuide version`, `ImplementationGuide dependsOn <packageId>`.
    pub subject: String,
    /// Old and new value (`None`: absent); dependsOn values read `packageId#version`.
    pub change: Change<Option<String>>,
}

/// An invariant (`ElementDefinition.constraint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invariant {
    /// Key, e.g. `bdl-1`.
    pub key: String,
    /// `error` or `warning`, as given.
    pub severity: String,
    /// Human description (documentation: a change here alone is not reported).
    pub human: String,
    /// FHIRPath expression, in full.
    pub expression: String,
}

/// One reported difference of one element.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementChangeKind {
    /// A new slice (or an element with no counterpart at all).
    Added {
        /// `min..max`.
        cardinality: String,
        /// Its types.
        types: Vec<TypeRef>,
    },
    /// A slice (or element) that is gone.
    Removed {
        /// `min..max` it had.
        cardinality: String,
    },
    /// `min..max` changed.
    Cardinality(Change<String>),
    /// Type codes, profiles or target profiles changed (each list sorted).
    Types(Change<Vec<TypeRef>>),
    /// `fixed[x]`: type suffix and value.
    Fixed(Change<Option<(String, Value)>>),
    /// `pattern[x]`: type suffix and value.
    Pattern(Change<Option<(String, Value)>>),
    /// Binding strength or value set (`example` bindings count as absent).
    Binding(Change<Option<Binding>>),
    /// Slicing discriminators, rules or ordering.
    Slicing(Change<Option<Slicing>>),
    /// `mustSupport`.
    MustSupport(Change<bool>),
    /// An invariant key that is new.
    InvariantAdded(Invariant),
    /// An invariant key that is gone.
    InvariantRemoved(Invariant),
    /// An invariant whose expression or severity changed.
    InvariantChanged {
        /// Key.
        key: String,
        /// Severity before and after.
        severity: Change<String>,
        /// Expression before and after.
        expression: Change<String>,
    },
}

impl ElementChangeKind {
    /// Short name used in JSON (`cardinality`, `invariantAdded`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ElementChangeKind::Added { .. } => "added",
            ElementChangeKind::Removed { .. } => "removed",
            ElementChangeKind::Cardinality(_) => "cardinality",
            ElementChangeKind::Types(_) => "type",
            ElementChangeKind::Fixed(_) => "fixed",
            ElementChangeKind::Pattern(_) => "pattern",
            ElementChangeKind::Binding(_) => "binding",
            ElementChangeKind::Slicing(_) => "slicing",
            ElementChangeKind::MustSupport(_) => "mustSupport",
            ElementChangeKind::InvariantAdded(_) => "invariantAdded",
            ElementChangeKind::InvariantRemoved(_) => "invariantRemoved",
            ElementChangeKind::InvariantChanged { .. } => "invariantChanged",
        }
    }
}

/// One difference of one element of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementChange {
    /// Element id (`Bundle.entry:patient.resource`), or its path when the
    /// definition gives no id.
    pub element: String,
    /// What changed.
    pub kind: ElementChangeKind,
    /// Canonical URL of the base profile (in the same package) that has the same
    /// change at the same element, when there is one.
    pub inherited_from: Option<String>,
}

/// Differences of one StructureDefinition.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileDiff {
    /// Canonical URL.
    pub url: String,
    /// `name` (or `id`) of the newer definition.
    pub name: String,
    /// The type it constrains or defines (`type`).
    pub type_name: String,
    /// Added, removed, or changed.
    pub presence: Presence,
    /// `version` (empty when absent, or on the side it does not exist).
    pub version: Change<String>,
    /// `baseDefinition`.
    pub base_definition: Change<String>,
    /// `status`.
    pub status: Change<String>,
    /// Element differences (empty for added and removed definitions), in
    /// snapshot order.
    pub elements: Vec<ElementChange>,
    /// Elements whose only difference is documentation text.
    pub documentation_changes: usize,
    /// Elements that only appear in or vanish from the snapshot (a data type
    /// expanded or not) without constraining anything.
    pub snapshot_only: usize,
    /// True when the elements were compared on differentials (a package without
    /// snapshots).
    pub differential_only: bool,
}

impl ProfileDiff {
    /// True when anything reportable changed (documentation and snapshot-only
    /// expansions do not count).
    pub fn has_changes(&self) -> bool {
        self.presence != Presence::Changed
            || self.version.differs()
            || self.base_definition.differs()
            || self.status.differs()
            || !self.elements.is_empty()
    }

    /// True when the only change is the definition's version.
    pub fn version_only(&self) -> bool {
        self.presence == Presence::Changed
            && self.version.differs()
            && !self.base_definition.differs()
            && !self.status.differs()
            && self.elements.is_empty()
    }
}

/// Differences of one ValueSet or CodeSystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminologyDiff {
    /// `ValueSet` or `CodeSystem`.
    pub resource_type: String,
    /// Canonical URL.
    pub url: String,
    /// `name` (or `id`).
    pub name: String,
    /// Added, removed, or changed.
    pub presence: Presence,
    /// `version` (empty when absent).
    pub version: Change<String>,
    /// CodeSystem: codes only in the new version (sorted).
    pub concepts_added: Vec<String>,
    /// CodeSystem: codes only in the old version (sorted).
    pub concepts_removed: Vec<String>,
    /// ValueSet: compose entries only in the new version (sorted), each
    /// `system#code`, `system (all codes)`, `system: filter property op value`,
    /// `valueSet url`, prefixed `exclude ` for excludes; systems carry
    /// `|version` when the compose pins one.
    pub compose_added: Vec<String>,
    /// ValueSet: compose entries only in the old version (sorted).
    pub compose_removed: Vec<String>,
}

impl TerminologyDiff {
    /// True when codes or compose entries changed.
    pub fn content_changed(&self) -> bool {
        !(self.concepts_added.is_empty()
            && self.concepts_removed.is_empty()
            && self.compose_added.is_empty()
            && self.compose_removed.is_empty())
    }

    /// True when anything reportable changed (always for added and removed).
    pub fn has_changes(&self) -> bool {
        self.presence != Presence::Changed || self.version.differs() || self.content_changed()
    }

    /// True when the only change is the version.
    pub fn version_only(&self) -> bool {
        self.presence == Presence::Changed && self.version.differs() && !self.content_changed()
    }
}

/// Added, removed and changed resources of one other type, by canonical URL or,
/// for resources without one, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherDiff {
    /// Only in the new package (sorted).
    pub added: Vec<String>,
    /// Only in the old package (sorted).
    pub removed: Vec<String>,
    /// In both, with any difference in content (sorted).
    pub changed: Vec<String>,
}

/// Resource counts of one resource type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Resources in the old package.
    pub old: usize,
    /// Resources in the new package.
    pub new: usize,
    /// Only in the new package.
    pub added: usize,
    /// Only in the old package.
    pub removed: usize,
    /// In both, with reported differences.
    pub changed: usize,
    /// In both, without reported differences.
    pub unchanged: usize,
}

/// What changed between two versions of a package.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageDiff {
    /// What the old package says about itself.
    pub old: PackageFacts,
    /// What the new package says about itself.
    pub new: PackageFacts,
    /// Name, version, dependency and ImplementationGuide changes.
    pub package: Vec<PackageChange>,
    /// StructureDefinitions added, removed, or with reported changes, by URL.
    pub profiles: Vec<ProfileDiff>,
    /// URLs of StructureDefinitions whose only differences are documentation text.
    pub documentation_only: Vec<String>,
    /// ValueSets and CodeSystems added, removed or changed, by type then URL.
    pub terminology: Vec<TerminologyDiff>,
    /// Other resources, by resource type.
    pub others: BTreeMap<String, OtherDiff>,
    /// Counts per resource type (for the summary table).
    pub counts: BTreeMap<String, Counts>,
    /// Files that could not be read as resources, duplicate URLs and similar
    /// oddities (not differences).
    pub notes: Vec<String>,
}

/// Compares two versions of a package.
pub fn diff(old: &Package, new: &Package) -> PackageDiff {
    let mut notes = Vec::new();
    let o = Loaded::read(old, "old", &mut notes);
    let n = Loaded::read(new, "new", &mut notes);
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for (ty, c) in &o.facts.resources {
        counts.entry(ty.clone()).or_default().old = *c;
    }
    for (ty, c) in &n.facts.resources {
        counts.entry(ty.clone()).or_default().new = *c;
    }

    let package = package_changes(&o.facts, &n.facts);

    // StructureDefinitions.
    let mut profiles = Vec::new();
    let mut documentation_only = Vec::new();
    let mut without_snapshot = Vec::new();
    for url in union_keys(&o.sds, &n.sds) {
        let d = profile_diff(&url, o.sds.get(&url), n.sds.get(&url), &mut notes);
        if d.differential_only {
            without_snapshot.push(d.name.clone());
        }
        let c = counts.entry("StructureDefinition".into()).or_default();
        tally(c, d.presence, d.has_changes());
        if d.has_changes() {
            profiles.push(d);
        } else if d.documentation_changes > 0 {
            documentation_only.push(url);
        }
    }
    fold_inherited(&mut profiles);
    if !without_snapshot.is_empty() {
        notes.push(format!(
            "{} StructureDefinitions lack a snapshot in one package or both; their \
             differentials were compared instead (what each changes relative to its base): {}",
            without_snapshot.len(),
            without_snapshot.join(", ")
        ));
    }

    // ValueSets and CodeSystems.
    let mut terminology = Vec::new();
    for key in union_keys(&o.terms, &n.terms) {
        let d = terminology_diff(&key.0, &key.1, o.terms.get(&key), n.terms.get(&key));
        let changed = d.has_changes();
        tally(
            counts.entry(key.0.clone()).or_default(),
            d.presence,
            changed,
        );
        if changed {
            terminology.push(d);
        }
    }

    // Everything else.
    let mut others: BTreeMap<String, OtherDiff> = BTreeMap::new();
    for key in union_keys(&o.others, &n.others) {
        let (ty, id) = key.clone();
        let entry = others.entry(ty.clone()).or_default();
        let (presence, changed) = match (o.others.get(&key), n.others.get(&key)) {
            (None, _) => {
                entry.added.push(id);
                (Presence::Added, true)
            }
            (_, None) => {
                entry.removed.push(id);
                (Presence::Removed, true)
            }
            (Some(a), Some(b)) => {
                let changed = a != b;
                if changed {
                    entry.changed.push(id);
                }
                (Presence::Changed, changed)
            }
        };
        tally(counts.entry(ty).or_default(), presence, changed);
    }
    others.retain(|_, d| !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty()));

    PackageDiff {
        old: o.facts,
        new: n.facts,
        package,
        profiles,
        documentation_only,
        terminology,
        others,
        counts,
        notes,
    }
}

fn tally(c: &mut Counts, presence: Presence, changed: bool) {
    match presence {
        Presence::Added => c.added += 1,
        Presence::Removed => c.removed += 1,
        Presence::Changed if changed => c.changed += 1,
        Presence::Changed => c.unchanged += 1,
    }
}

fn union_keys<K: Ord + Clone, V>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> Vec<K> {
    a.keys()
        .chain(b.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------
// Reading a package

/// The resources of one package, parsed and keyed.
struct Loaded {
    facts: PackageFacts,
    /// StructureDefinitions by canonical URL.
    sds: BTreeMap<String, Value>,
    /// ValueSets and CodeSystems by (type, URL).
    terms: BTreeMap<(String, String), Value>,
    /// Other resources by (type, URL or id).
    others: BTreeMap<(String, String), Value>,
}

impl Loaded {
    fn read(p: &Package, side: &str, notes: &mut Vec<String>) -> Loaded {
        let label = format!("{side} {}@{}", p.name, p.version);
        let mut facts = PackageFacts {
            name: p.name.clone(),
            version: p.version.clone(),
            ..PackageFacts::default()
        };
        if let Some(bytes) = p.files.get("package/package.json") {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => {
                    if let Some(Value::Object(deps)) = v.get("dependencies") {
                        for (k, ver) in deps {
                            facts
                                .dependencies
                                .insert(k.clone(), scalar(ver).unwrap_or_default());
                        }
                    }
                }
                Err(e) => notes.push(format!("{label}: package/package.json: not JSON ({e})")),
            }
        }
        let mut loaded = Loaded {
            facts,
            sds: BTreeMap::new(),
            terms: BTreeMap::new(),
            others: BTreeMap::new(),
        };
        for (path, bytes) in p.json_resources() {
            let v: Value = match serde_json::from_slice(bytes) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    notes.push(format!("{label}: {path}: not a JSON object, skipped"));
                    continue;
                }
                Err(e) => {
                    notes.push(format!("{label}: {path}: not JSON, skipped ({e})"));
                    continue;
                }
            };
            let Some(ty) = text(&v, "resourceType") else {
                notes.push(format!("{label}: {path}: no resourceType, skipped"));
                continue;
            };
            *loaded.facts.resources.entry(ty.clone()).or_default() += 1;
            let url = text(&v, "url");
            let key = url
                .clone()
                .or_else(|| text(&v, "id"))
                .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_owned());
            if ty == "ImplementationGuide" && loaded.facts.ig_version.is_none() {
                loaded.facts.ig_version = text(&v, "version");
                if let Some(Value::Array(deps)) = v.get("dependsOn") {
                    for d in deps {
                        let id = text(d, "packageId")
                            .or_else(|| text(d, "uri"))
                            .unwrap_or_default();
                        loaded
                            .facts
                            .ig_depends_on
                            .insert(id, text(d, "version").unwrap_or_default());
                    }
                }
            }
            let duplicate = match ty.as_str() {
                "StructureDefinition" => insert_new(&mut loaded.sds, key.clone(), v),
                "ValueSet" | "CodeSystem" => {
                    insert_new(&mut loaded.terms, (ty.clone(), key.clone()), v)
                }
                _ => insert_new(&mut loaded.others, (ty.clone(), key.clone()), v),
            };
            if duplicate {
                notes.push(format!(
                    "{label}: {path}: second {ty} {key}, ignored (the first file is compared)"
                ));
            }
        }
        loaded
    }
}

/// Inserts unless the key is taken; true when it was (a duplicate).
fn insert_new<K: Ord>(map: &mut BTreeMap<K, Value>, key: K, v: Value) -> bool {
    match map.entry(key) {
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(v);
            false
        }
        std::collections::btree_map::Entry::Occupied(_) => true,
    }
}

/// A non-empty string (numbers and booleans written as text).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(scalar)
}

fn uint(v: &Value, k: &str) -> Option<u64> {
    match v.get(k)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(v: &Value, k: &str) -> Option<bool> {
    match v.get(k)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

fn texts(v: &Value, k: &str) -> Vec<String> {
    match v.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(x) => scalar(x).into_iter().collect(),
        None => Vec::new(),
    }
}

fn array<'v>(v: &'v Value, k: &str) -> &'v [Value] {
    match v.get(k) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

// ---------------------------------------------------------------------------
// Package level

fn package_changes(o: &PackageFacts, n: &PackageFacts) -> Vec<PackageChange> {
    let mut out = Vec::new();
    let mut push = |subject: String, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(PackageChange {
                subject,
                change: Change { old, new },
            });
        }
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    push("name".into(), some(&o.name), some(&n.name));
    push("version".into(), some(&o.version), some(&n.version));
    for k in union_keys(&o.dependencies, &n.dependencies) {
        push(
            format!("dependency {k}"),
            o.dependencies.get(&k).cloned(),
            n.dependencies.get(&k).cloned(),
        );
    }
    push(
        "ImplementationGuide version".into(),
        o.ig_version.clone(),
        n.ig_version.clone(),
    );
    for k in union_keys(&o.ig_depends_on, &n.ig_depends_on) {
        let dep = |m: &BTreeMap<String, String>| m.get(&k).map(|v| format!("{k}#{v}"));
        push(
            format!("ImplementationGuide dependsOn {k}"),
            dep(&o.ig_depends_on),
            dep(&n.ig_depends_on),
        );
    }
    out
}

// ---------------------------------------------------------------------------
// StructureDefinitions

/// The compared parts of one ElementDefinition.
#[derive(Clone, Debug, PartialEq)]
struct El {
    key: String,
    min: Option<u64>,
    max: Option<String>,
    base_min: Option<u64>,
    base_max: Option<String>,
    types: Vec<TypeRef>,
    content_reference: Option<String>,
    fixed: Option<(String, Value)>,
    pattern: Option<(String, Value)>,
    /// Binding other than `example` strength (an example binding is documentation).
    binding: Option<Binding>,
    slicing: Option<Slicing>,
    must_support: bool,
    /// key → (invariant, source)
    invariants: BTreeMap<String, (Invariant, Option<String>)>,
    /// short, definition, comment, requirements, example binding.
    docs: [Option<String>; 5],
}

fn cardinality(min: Option<u64>, max: &Option<String>) -> String {
    format!(
        "{}..{}",
        min.map_or_else(|| "?".to_owned(), |m| m.to_string()),
        max.as_deref().unwrap_or("?")
    )
}

impl El {
    fn parse(e: &Value) -> Option<El> {
        let key = text(e, "id").or_else(|| text(e, "path"))?;
        let base = e.get("base").unwrap_or(&Value::Null);
        let mut types: Vec<TypeRef> = array(e, "type")
            .iter()
            .map(|t| {
                let mut profiles = texts(t, "profile");
                let mut target_profiles = texts(t, "targetProfile");
                profiles.sort();
                target_profiles.sort();
                TypeRef {
                    code: text(t, "code").unwrap_or_default(),
                    profiles,
                    target_profiles,
                }
            })
            .collect();
        types.sort_by(|a, b| {
            (&a.code, &a.profiles, &a.target_profiles).cmp(&(
                &b.code,
                &b.profiles,
                &b.target_profiles,
            ))
        });
        let choice = |prefix: &str| -> Option<(String, Value)> {
            let obj = e.as_object()?;
            obj.iter().find_map(|(k, v)| {
                let suffix = k.strip_prefix(prefix)?;
                let empty = matches!(v, Value::Null) || v.as_str() == Some("");
                (suffix.starts_with(|c: char| c.is_ascii_uppercase()) && !empty)
                    .then(|| (suffix.to_owned(), v.clone()))
            })
        };
        let binding = e.get("binding").and_then(|b| {
            let strength = text(b, "strength").unwrap_or_default();
            let value_set = text(b, "valueSet")
                .or_else(|| text(b, "valueSetUri"))
                .or_else(|| {
                    b.get("valueSetReference")
                        .and_then(|r| text(r, "reference"))
                })
                .unwrap_or_default();
            (!strength.is_empty() || !value_set.is_empty()).then_some(Binding {
                strength,
                value_set,
            })
        });
        let (binding, example_binding) = match binding {
            Some(b) if b.strength == "example" => (None, Some(b.value_set)),
            b => (b, None),
        };
        let slicing = e.get("slicing").map(|s| Slicing {
            discriminators: array(s, "discriminator")
                .iter()
                .map(|d| {
                    (
                        text(d, "type").unwrap_or_default(),
                        text(d, "path").unwrap_or_default(),
                    )
                })
                .collect(),
            rules: text(s, "rules").unwrap_or_default(),
            ordered: boolean(s, "ordered").unwrap_or(false),
        });
        let mut invariants = BTreeMap::new();
        for c in array(e, "constraint") {
            let Some(k) = text(c, "key") else { continue };
            invariants.entry(k.clone()).or_insert((
                Invariant {
                    key: k,
                    severity: text(c, "severity").unwrap_or_default(),
                    human: text(c, "human").unwrap_or_default(),
                    expression: text(c, "expression").unwrap_or_default(),
                },
                text(c, "source"),
            ));
        }
        Some(El {
            key,
            min: uint(e, "min"),
            max: text(e, "max"),
            base_min: uint(base, "min"),
            base_max: text(base, "max"),
            types,
            content_reference: text(e, "contentReference"),
            fixed: choice("fixed"),
            pattern: choice("pattern"),
            binding,
            slicing,
            must_support: boolean(e, "mustSupport").unwrap_or(false),
            invariants,
            docs: [
                text(e, "short"),
                text(e, "definition"),
                text(e, "comment"),
                text(e, "requirements"),
                example_binding,
            ],
        })
    }

    fn cardinality(&self) -> String {
        cardinality(self.min, &self.max)
    }

    /// The unconstrained element this one stands for when it only exists in one
    /// snapshot: the cardinality of its base, no mustSupport, no fixed or pattern
    /// value, and without what the profile's differential sets on it.
    fn implicit(&self, differential: Option<&Value>) -> El {
        let mut b = self.clone();
        b.min = self.base_min.or(self.min);
        b.max = self.base_max.clone().or_else(|| self.max.clone());
        b.must_support = false;
        b.fixed = None;
        b.pattern = None;
        if let Some(d) = differential {
            if d.get("binding").is_some() {
                b.binding = None;
            }
            if d.get("slicing").is_some() {
                b.slicing = None;
            }
            if d.get("type").is_some() {
                for t in &mut b.types {
                    t.profiles.clear();
                    t.target_profiles.clear();
                }
            }
            for c in array(d, "constraint") {
                if let Some(k) = text(c, "key") {
                    b.invariants.remove(&k);
                }
            }
        }
        // Invariants a profile defines (not the core specification's) are the
        // profile's own.
        b.invariants.retain(|_, (_, source)| {
            source
                .as_deref()
                .is_none_or(|s| s.starts_with("http://hl7.org/fhir/"))
        });
        b
    }
}

/// Changes from `a` to `b` (without documentation).
fn compare(a: &El, b: &El) -> Vec<ElementChangeKind> {
    let mut out = Vec::new();
    let (ca, cb) = (a.cardinality(), b.cardinality());
    if ca != cb {
        out.push(ElementChangeKind::Cardinality(Change { old: ca, new: cb }));
    }
    // An element given by `contentReference` has no types of its own.
    let by_reference = (a.types.is_empty() && a.content_reference.is_some())
        || (b.types.is_empty() && b.content_reference.is_some());
    if a.types != b.types && !by_reference {
        out.push(ElementChangeKind::Types(Change {
            old: a.types.clone(),
            new: b.types.clone(),
        }));
    }
    if a.fixed != b.fixed {
        out.push(ElementChangeKind::Fixed(Change {
            old: a.fixed.clone(),
            new: b.fixed.clone(),
        }));
    }
    if a.pattern != b.pattern {
        out.push(ElementChangeKind::Pattern(Change {
            old: a.pattern.clone(),
            new: b.pattern.clone(),
        }));
    }
    if a.binding != b.binding {
        out.push(ElementChangeKind::Binding(Change {
            old: a.binding.clone(),
            new: b.binding.clone(),
        }));
    }
    if a.slicing != b.slicing {
        out.push(ElementChangeKind::Slicing(Change {
            old: a.slicing.clone(),
            new: b.slicing.clone(),
        }));
    }
    if a.must_support != b.must_support {
        out.push(ElementChangeKind::MustSupport(Change {
            old: a.must_support,
            new: b.must_support,
        }));
    }
    for k in union_keys(&a.invariants, &b.invariants) {
        match (a.invariants.get(&k), b.invariants.get(&k)) {
            (None, Some((i, _))) => out.push(ElementChangeKind::InvariantAdded(i.clone())),
            (Some((i, _)), None) => out.push(ElementChangeKind::InvariantRemoved(i.clone())),
            (Some((x, _)), Some((y, _)))
                if x.severity != y.severity || x.expression != y.expression =>
            {
                out.push(ElementChangeKind::InvariantChanged {
                    key: k,
                    severity: Change {
                        old: x.severity.clone(),
                        new: y.severity.clone(),
                    },
                    expression: Change {
                        old: x.expression.clone(),
                        new: y.expression.clone(),
                    },
                });
            }
            _ => {}
        }
    }
    out
}

fn docs_differ(a: &El, b: &El) -> bool {
    a.docs != b.docs
        || a.invariants.len() != b.invariants.len()
        || a.invariants
            .iter()
            .any(|(k, (i, _))| b.invariants.get(k).is_none_or(|(j, _)| i.human != j.human))
}

/// The element id one level up (`A.b:s.c` → `A.b:s`), if any.
fn parent(key: &str) -> Option<&str> {
    key.rsplit_once('.').map(|(p, _)| p)
}

/// True when the id's last part names a slice (`A.b:s`).
fn is_slice(key: &str) -> bool {
    key.rsplit('.')
        .next()
        .is_some_and(|last| last.contains(':'))
}

/// The elements of a definition: the snapshot, or the differential when
/// `differential` is set.
struct Elements {
    list: Vec<El>,
    index: BTreeMap<String, usize>,
    differential: BTreeMap<String, Value>,
}

impl Elements {
    fn read(sd: &Value, from_differential: bool, what: &str, notes: &mut Vec<String>) -> Elements {
        let source = if from_differential {
            "differential"
        } else {
            "snapshot"
        };
        let mut list = Vec::new();
        let mut index = BTreeMap::new();
        let elements = sd
            .get(source)
            .map(|s| array(s, "element"))
            .unwrap_or_default();
        for e in elements {
            match El::parse(e) {
                Some(el) => {
                    if index.contains_key(&el.key) {
                        notes.push(format!(
                            "{what}: element {} appears twice in the {source}; the first is compared",
                            el.key
                        ));
                        continue;
                    }
                    index.insert(el.key.clone(), list.len());
                    list.push(el);
                }
                None => notes.push(format!(
                    "{what}: a {source} element without id or path, skipped"
                )),
            }
        }
        let mut differential = BTreeMap::new();
        if let Some(d) = sd.get("differential") {
            for e in array(d, "element") {
                if let Some(k) = text(e, "id").or_else(|| text(e, "path")) {
                    differential.entry(k).or_insert_with(|| e.clone());
                }
            }
        }
        Elements {
            list,
            index,
            differential,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Walks up from `key` (exclusive): true when the first ancestor that is a
    /// slice missing from `other` comes before any ancestor present in `other`
    /// (the element belongs to a slice that only one side has).
    fn inside_lone_slice(&self, key: &str, other: &Elements) -> bool {
        let mut k = parent(key);
        while let Some(p) = k {
            if other.has(p) {
                return false;
            }
            if is_slice(p) && self.has(p) {
                return true;
            }
            k = parent(p);
        }
        false
    }
}

/// Where an element goes in the report: (index in the new snapshot, 0 for an
/// element the new snapshot has or 1 for one only the old has, old index).
type SortKey = (usize, usize, usize);

fn has_snapshot(sd: &Value) -> bool {
    sd.get("snapshot")
        .is_some_and(|s| !array(s, "element").is_empty())
}

fn profile_diff(
    url: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    notes: &mut Vec<String>,
) -> ProfileDiff {
    let field = |sd: Option<&Value>, k: &str| sd.and_then(|v| text(v, k)).unwrap_or_default();
    let change = |k: &str| Change {
        old: field(old, k),
        new: field(new, k),
    };
    let latest = new.or(old);
    let name = latest
        .and_then(|v| text(v, "name").or_else(|| text(v, "id")))
        .unwrap_or_else(|| url.rsplit('/').next().unwrap_or(url).to_owned());
    let mut d = ProfileDiff {
        url: url.to_owned(),
        name,
        type_name: latest.and_then(|v| text(v, "type")).unwrap_or_default(),
        presence: match (old, new) {
            (None, _) => Presence::Added,
            (_, None) => Presence::Removed,
            _ => Presence::Changed,
        },
        version: change("version"),
        base_definition: change("baseDefinition"),
        status: change("status"),
        elements: Vec::new(),
        documentation_changes: 0,
        snapshot_only: 0,
        differential_only: false,
    };
    let (Some(old), Some(new)) = (old, new) else {
        return d;
    };
    let from_differential = !(has_snapshot(old) && has_snapshot(new));
    d.differential_only = from_differential;
    let o = Elements::read(old, from_differential, &format!("old {url}"), notes);
    let n = Elements::read(new, from_differential, &format!("new {url}"), notes);

    // Snapshot order: the new elements in order, each old-only element after the
    // last element before it that the new snapshot still has.
    let mut order: Vec<(SortKey, Option<&El>, Option<&El>)> = Vec::new();
    for (i, e) in n.list.iter().enumerate() {
        let old_el = o.index.get(&e.key).and_then(|&j| o.list.get(j));
        order.push(((i, 0, 0), old_el, Some(e)));
    }
    let mut anchor = 0usize;
    for (j, e) in o.list.iter().enumerate() {
        match n.index.get(&e.key) {
            Some(&i) => anchor = i,
            None => order.push(((anchor, 1, j), Some(e), None)),
        }
    }
    order.sort_by_key(|(k, _, _)| *k);

    for (_, a, b) in order {
        let mut push = |kinds: Vec<ElementChangeKind>, key: &str| {
            d.elements
                .extend(kinds.into_iter().map(|kind| ElementChange {
                    element: key.to_owned(),
                    kind,
                    inherited_from: None,
                }));
        };
        match (a, b) {
            (Some(a), Some(b)) => {
                let kinds = compare(a, b);
                if kinds.is_empty() && docs_differ(a, b) {
                    d.documentation_changes += 1;
                }
                push(kinds, &b.key);
            }
            (None, Some(b)) => {
                let orphan = parent(&b.key).is_none_or(|p| !n.has(p) && !o.has(p));
                let implicit = b.implicit(n.differential.get(&b.key));
                let mut kinds = compare(&implicit, b);
                if is_slice(&b.key) || orphan {
                    kinds.retain(|k| {
                        !matches!(
                            k,
                            ElementChangeKind::Cardinality(_) | ElementChangeKind::Types(_)
                        )
                    });
                    kinds.insert(
                        0,
                        ElementChangeKind::Added {
                            cardinality: b.cardinality(),
                            types: b.types.clone(),
                        },
                    );
                } else if kinds.is_empty() {
                    d.snapshot_only += 1;
                }
                push(kinds, &b.key);
            }
            (Some(a), None) => {
                if o.inside_lone_slice(&a.key, &n) {
                    continue;
                }
                let orphan = parent(&a.key).is_none_or(|p| !n.has(p) && !o.has(p));
                if is_slice(&a.key) || orphan {
                    push(
                        vec![ElementChangeKind::Removed {
                            cardinality: a.cardinality(),
                        }],
                        &a.key,
                    );
                } else {
                    let kinds = compare(a, &a.implicit(o.differential.get(&a.key)));
                    if kinds.is_empty() {
                        d.snapshot_only += 1;
                    }
                    push(kinds, &a.key);
                }
            }
            (None, None) => {}
        }
    }
    d
}

/// Marks changes a profile shares with its base profile (same element, same
/// change) when the base is in the diff too.
fn fold_inherited(profiles: &mut [ProfileDiff]) {
    let by_url: BTreeMap<String, BTreeMap<String, Vec<ElementChangeKind>>> = profiles
        .iter()
        .map(|p| {
            let mut m: BTreeMap<String, Vec<ElementChangeKind>> = BTreeMap::new();
            for c in &p.elements {
                m.entry(c.element.clone()).or_default().push(c.kind.clone());
            }
            (p.url.clone(), m)
        })
        .collect();
    for p in profiles.iter_mut() {
        let base = &p.base_definition;
        if p.presence != Presence::Changed || base.differs() || base.new == p.url {
            continue;
        }
        let Some(base_changes) = by_url.get(&base.new) else {
            continue;
        };
        for c in &mut p.elements {
            if base_changes
                .get(&c.element)
                .is_some_and(|ks| ks.contains(&c.kind))
            {
                c.inherited_from = Some(base.new.clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// ValueSets and CodeSystems

fn concepts(v: &Value, out: &mut BTreeSet<String>) {
    for c in array(v, "concept") {
        if let Some(code) = text(c, "code") {
            out.insert(code);
        }
        concepts(c, out);
    }
}

fn compose_entries(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(compose) = v.get("compose") else {
        return out;
    };
    for (part, prefix) in [("include", ""), ("exclude", "exclude ")] {
        for inc in array(compose, part) {
            let mut system = text(inc, "system").unwrap_or_default();
            if let Some(ver) = text(inc, "version") {
                system = format!("{system}|{ver}");
            }
            for vs in texts(inc, "valueSet") {
                out.insert(format!("{prefix}valueSet {vs}"));
            }
            let codes = array(inc, "concept");
            let filters = array(inc, "filter");
            for c in codes {
                if let Some(code) = text(c, "code") {
                    out.insert(format!("{prefix}{system}#{code}"));
                }
            }
            for f in filters {
                out.insert(format!(
                    "{prefix}{system}: filter {} {} {}",
                    text(f, "property").unwrap_or_default(),
                    text(f, "op").unwrap_or_default(),
                    text(f, "value").unwrap_or_default()
                ));
            }
            if codes.is_empty() && filters.is_empty() && !system.is_empty() {
                out.insert(format!("{prefix}{system} (all codes)"));
            }
        }
    }
    out
}

fn set_diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        b.difference(a).cloned().collect(),
        a.difference(b).cloned().collect(),
    )
}

fn terminology_diff(
    resource_type: &str,
    url: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> TerminologyDiff {
    let field = |sd: Option<&Value>, k: &str| sd.and_then(|v| text(v, k)).unwrap_or_default();
    let latest = new.or(old);
    let mut d = TerminologyDiff {
        resource_type: resource_type.to_owned(),
        url: url.to_owned(),
        name: latest
            .and_then(|v| text(v, "name").or_else(|| text(v, "id")))
            .unwrap_or_default(),
        presence: match (old, new) {
            (None, _) => Presence::Added,
            (_, None) => Presence::Removed,
            _ => Presence::Changed,
        },
        version: Change {
            old: field(old, "version"),
            new: field(new, "version"),
        },
        concepts_added: Vec::new(),
        concepts_removed: Vec::new(),
        compose_added: Vec::new(),
        compose_removed: Vec::new(),
    };
    if let (Some(a), Some(b)) = (old, new) {
        let (mut ca, mut cb) = (BTreeSet::new(), BTreeSet::new());
        concepts(a, &mut ca);
        concepts(b, &mut cb);
        (d.concepts_added, d.concepts_removed) = set_diff(&ca, &cb);
        (d.compose_added, d.compose_removed) = set_diff(&compose_entries(a), &compose_entries(b));
    }
    d
}
