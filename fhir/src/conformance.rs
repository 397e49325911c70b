//! Package sets and the conformance index: StructureDefinitions (snapshots),
//! ValueSets and CodeSystems of a named set of FHIR packages, indexed by canonical
//! URL.
//!
//! Canonical URLs collide between the Japanese IGs (JP-CLINS and the stand-alone
//! eReferral IG both define `JP_Composition_eReferral`, with different rules), so
//! definitions are always loaded as a *set* of packages ([`PackageSet`]); within a
//! set a later package overrides an earlier one for the same URL and version.
//!
//! Loading is lenient: the shipped definitions contain empty strings (`"min": ""`,
//! `"short": ""`) and the odd wrong type; such values are treated as absent and
//! counted in [`Conformance::issues`], never a reason to reject a package.
//! Sets are pins (`name#version` of each package, [`PackageSet`]): kakehashi's
//! defaults ([`DEFAULT_PINS`]) or the site's. The caller resolves pins to
//! packages (the CLI reads them from the package cache); this module only indexes
//! what it is given.

use crate::package::{Package, PackageRef};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The FHIR R4 base package every set starts with (added first when a pin list
/// does not name it).
pub const BASE_PACKAGE: &str = "hl7.fhir.r4.core";
/// Its version.
pub const BASE_VERSION: &str = "4.0.1";

/// The R4 base definitions built into kakehashi as [`BASE_PACKAGE`]
/// [`BASE_VERSION`]: a subset of `hl7.fhir.r4.examples` 4.0.1 (CC0; see
/// `vendor/fhir-profiles/r4-core/SOURCE.md`), the one package not taken from the
/// package cache.
pub const BUILT_IN_R4: &[u8] =
    include_bytes!("../../vendor/fhir-profiles/r4-core/hl7.fhir.r4.examples-4.0.1-subset.tgz");

/// The element types of the R4 base resources and data types (read once from
/// [`BUILT_IN_R4`]), for FHIRPath evaluation outside the validator (the SQL on
/// FHIR views). Empty if the built-in package cannot be read, which its own test
/// rules out.
pub fn r4_element_types() -> &'static crate::fhirpath::ElementTypes {
    static TYPES: OnceLock<crate::fhirpath::ElementTypes> = OnceLock::new();
    TYPES.get_or_init(|| match Package::from_tgz(BUILT_IN_R4) {
        Ok(p) => crate::fhirpath::ElementTypes::from_packages([&p]),
        Err(_) => crate::fhirpath::ElementTypes::default(),
    })
}

/// The sets kakehashi validates against when a site pins none: `(name, what it
/// is for, packages in load order)`. A site's `[packages.sets]` replaces a set
/// of the same name.
pub const DEFAULT_PINS: &[(&str, &str, &[&str])] = &[
    (
        "clins",
        "JP Core 1.1.2-clins + JP-CLINS 1.10.0, the IG in force (eReferral, eDischargeSummary, ePCS, CLINS bundles)",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2-clins",
            "jp-eCSCLINS.r4#1.10.0",
        ],
    ),
    (
        "clins-1.5.2",
        "JP Core 1.1.2-url + JP-CLINS 1.5.2, the previous IG (still selectable by pin)",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2-url",
            "jp-eCSCLINS.r4#1.5.2",
        ],
    ),
    (
        "jpcore",
        "JP Core 1.1.2 (OID variant)",
        &["hl7.fhir.r4.core#4.0.1", "jp-core.r4#1.1.2"],
    ),
    (
        "ereferral",
        "JP Core 1.1.2 + the stand-alone eReferral IG",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2",
            "jp-eReferral.r4#1.0.0-temp",
        ],
    ),
    (
        "edischarge",
        "JP Core 1.1.2 + the stand-alone eDischargeSummary IG",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2",
            "jp-eDischargeSummary.r4#1.0.0-temp",
        ],
    ),
    (
        "echeckup",
        "JP Core 1.1.2-clins + eCheckupReport 1.5.0, the IG in force (健康診断結果報告書)",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2-clins",
            "jp-eCheckupReport.r4#1.5.0",
        ],
    ),
    (
        "echeckup-1.1.3",
        "JP Core 1.1.2-clins + eCheckupReport 1.1.3, the previous IG (still selectable by pin)",
        &[
            "hl7.fhir.r4.core#4.0.1",
            "jp-core.r4#1.1.2-clins",
            "jp-eCheckupReport.r4#1.1.3",
        ],
    ),
    ("base", "FHIR R4 4.0.1 only", &["hl7.fhir.r4.core#4.0.1"]),
];

/// A named set of packages validated together, each pinned to one exact version,
/// in load order (a later package overrides an earlier one on URL collisions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSet {
    /// Name used on the command line (`--ig clins`) and in the site configuration.
    pub name: String,
    /// Packages in load order; the base package first.
    pub packages: Vec<PackageRef>,
}

/// Why a list of pins is not a package set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// A pin is not `NAME#VERSION`.
    BadPin {
        /// The set.
        set: String,
        /// Why.
        reason: String,
    },
    /// One set names two versions of one package.
    TwoVersions {
        /// The set.
        set: String,
        /// The package.
        package: String,
        /// The first version named.
        first: String,
        /// The other version named.
        second: String,
    },
    /// No set of that name, neither pinned by the site nor built in.
    Unknown {
        /// The name asked for.
        set: String,
        /// The names there are.
        known: Vec<String>,
    },
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::BadPin { set, reason } => write!(f, "package set {set}: {reason}"),
            SetError::TwoVersions {
                set,
                package,
                first,
                second,
            } => write!(
                f,
                "package set {set} names two versions of {package} ({first} and {second}); a set pins one version of each package"
            ),
            SetError::Unknown { set, known } => write!(
                f,
                "unknown package set '{set}' (known: {}; or give NAME#VERSION,…)",
                known.join(", ")
            ),
        }
    }
}

impl std::error::Error for SetError {}

impl PackageSet {
    /// A set from `NAME#VERSION` pins in load order. The base package
    /// (`hl7.fhir.r4.core#4.0.1`) is put first when the pins do not name it; two
    /// versions of one package are an error (an exact repeat is dropped).
    pub fn from_pins<S: AsRef<str>>(name: &str, pins: &[S]) -> Result<PackageSet, SetError> {
        let mut packages: Vec<PackageRef> = Vec::new();
        for pin in pins {
            let r = PackageRef::parse(pin.as_ref().trim()).map_err(|e| SetError::BadPin {
                set: name.to_owned(),
                reason: e.to_string(),
            })?;
            if let Some(prev) = packages.iter().find(|p| p.name == r.name) {
                if prev.version != r.version {
                    return Err(SetError::TwoVersions {
                        set: name.to_owned(),
                        package: r.name,
                        first: prev.version.clone(),
                        second: r.version,
                    });
                }
                continue;
            }
            packages.push(r);
        }
        if !packages.iter().any(|p| p.name == BASE_PACKAGE) {
            packages.insert(
                0,
                PackageRef {
                    name: BASE_PACKAGE.to_owned(),
                    version: BASE_VERSION.to_owned(),
                },
            );
        }
        Ok(PackageSet {
            name: name.to_owned(),
            packages,
        })
    }

    /// The packages as `name#version` joined by `, ` (what a run says it
    /// validated under, and what the ledger remembers per unit).
    pub fn describe(&self) -> String {
        self.packages
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The built-in sets ([`DEFAULT_PINS`]), in order.
pub fn default_sets() -> Vec<PackageSet> {
    DEFAULT_PINS
        .iter()
        .filter_map(|(name, _, pins)| PackageSet::from_pins(name, pins).ok())
        .collect()
}

/// What a built-in set is for (`None` for a set only a site pins).
pub fn set_summary(name: &str) -> Option<&'static str> {
    DEFAULT_PINS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, s, _)| *s)
}

/// The set `name` among `sets`; or, when `name` holds `#`, the explicit set of
/// the comma-separated `NAME#VERSION` pins it lists.
pub fn resolve_set(sets: &[PackageSet], name: &str) -> Result<PackageSet, SetError> {
    if name.contains('#') {
        let pins: Vec<&str> = name.split(',').filter(|p| !p.trim().is_empty()).collect();
        return PackageSet::from_pins(name, &pins);
    }
    sets.iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| SetError::Unknown {
            set: name.to_owned(),
            known: sets.iter().map(|s| s.name.clone()).collect(),
        })
}

/// Compares package versions numerically part by part (`1.10.0 > 1.9.2`), text
/// parts by text, so `1.5.2` < `1.6.0`.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split =
        |s: &str| -> Vec<String> { s.split(['.', '-']).map(str::to_owned).collect::<Vec<_>>() };
    let (pa, pb) = (split(a), split(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            _ => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

/// `max` of an element: a number or `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Max {
    /// At most this many.
    N(u32),
    /// `*`.
    Unbounded,
}

impl Max {
    /// True when `n` repetitions exceed this maximum.
    pub fn exceeded_by(self, n: usize) -> bool {
        match self {
            Max::N(m) => n > m as usize,
            Max::Unbounded => false,
        }
    }
}

/// One allowed type of an element.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    /// Type code (`string`, `Reference`, `Patient`, or a FHIRPath system type URL).
    pub code: String,
    /// Profiles the value must conform to.
    pub profiles: Vec<String>,
    /// For references: allowed target profiles.
    pub target_profiles: Vec<String>,
}

/// An invariant (`ElementDefinition.constraint`).
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// Key, e.g. `ele-1`.
    pub key: String,
    /// `error` or `warning` (as given).
    pub severity: String,
    /// Human description.
    pub human: String,
    /// FHIRPath expression (empty when the definition gives none).
    pub expression: String,
    /// Hash of key and expression: the same invariant met through a base
    /// definition and a profile has the same fingerprint.
    pub fingerprint: u64,
}

/// A terminology binding.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// `required`, `extensible`, `preferred` or `example`.
    pub strength: String,
    /// Canonical of the value set (may carry `|version`).
    pub value_set: String,
}

/// How an element is sliced.
#[derive(Clone, Debug, PartialEq)]
pub struct Slicing {
    /// `(type, path)` discriminators.
    pub discriminators: Vec<(String, String)>,
    /// `closed`, `open` or `openAtEnd`.
    pub rules: String,
    /// Slices must appear in order.
    pub ordered: bool,
}

/// The parts of an `ElementDefinition` the validator uses.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementDefinition {
    /// `id` (`Patient.identifier:insurance.value`).
    pub id: String,
    /// `path` (`Patient.identifier.value`).
    pub path: String,
    /// `sliceName`, if this element defines a slice.
    pub slice_name: Option<String>,
    /// Minimum cardinality.
    pub min: u32,
    /// Maximum cardinality.
    pub max: Max,
    /// Maximum cardinality of the base element (decides JSON array or single value).
    pub base_max: Max,
    /// Allowed types.
    pub types: Vec<TypeRef>,
    /// `contentReference` (`#Bundle.link`), for recursive elements.
    pub content_reference: Option<String>,
    /// `fixed[x]`: the type suffix and the value.
    pub fixed: Option<(String, Value)>,
    /// `pattern[x]`: the type suffix and the value.
    pub pattern: Option<(String, Value)>,
    /// Invariants.
    pub constraints: Vec<Constraint>,
    /// Binding.
    pub binding: Option<Binding>,
    /// Slicing.
    pub slicing: Option<Slicing>,
    /// `maxLength`.
    pub max_length: Option<u32>,
}

/// A StructureDefinition with its snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct StructureDefinition {
    /// Canonical URL.
    pub url: String,
    /// Business version (may be empty).
    pub version: String,
    /// Computer name.
    pub name: String,
    /// `primitive-type`, `complex-type`, `resource` or `logical`.
    pub kind: String,
    /// The type constrained or defined (`Patient`, `Extension`).
    pub type_name: String,
    /// Abstract types cannot be instantiated.
    pub is_abstract: bool,
    /// `specialization` (a base type) or `constraint` (a profile).
    pub derivation: String,
    /// Parent definition.
    pub base_definition: String,
    /// Snapshot elements in order.
    pub elements: Vec<ElementDefinition>,
    /// Index of the package (in [`Conformance::packages`]) it came from.
    pub package: usize,
    /// Where an extension definition may be used (`StructureDefinition.context`):
    /// (type, expression) pairs such as (`element`, `Patient.name`) or
    /// (`extension`, its parent extension's URL). Empty for other definitions.
    pub contexts: Vec<(String, String)>,
}

/// Name and version of a loaded package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageId {
    /// `package.json` name.
    pub name: String,
    /// `package.json` version.
    pub version: String,
}

/// Something odd but tolerated while loading (an empty string, a wrong type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadIssue {
    /// `name@version`.
    pub package: String,
    /// File inside the package.
    pub file: String,
    /// What was tolerated (no input text).
    pub message: String,
}

/// The conformance resources of a package set, indexed by canonical URL.
#[derive(Debug, Default)]
pub struct Conformance {
    /// Loaded packages in load order.
    pub packages: Vec<PackageId>,
    sds: Vec<Lazy<StructureDefinition>>,
    sd_by_url: HashMap<String, Vec<usize>>,
    terminology: Vec<Lazy<Value>>,
    vs_by_url: HashMap<String, Vec<usize>>,
    cs_by_url: HashMap<String, Vec<usize>>,
    issues: Mutex<Vec<LoadIssue>>,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn strs(v: &Value, k: &str) -> Vec<String> {
    match v.get(k) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(x)) if !x.is_empty() => vec![x.clone()],
        _ => Vec::new(),
    }
}

fn nonempty(x: String) -> Option<String> {
    (!x.is_empty()).then_some(x)
}

/// Splits `url|version`.
pub fn split_canonical(canonical: &str) -> (&str, Option<&str>) {
    match canonical.split_once('|') {
        Some((u, v)) => (u, Some(v)),
        None => (canonical, None),
    }
}

impl Conformance {
    /// Indexes the conformance resources of `packages` (in load order).
    pub fn load(packages: &[&Package]) -> Conformance {
        let mut c = Conformance::default();
        for p in packages {
            c.add_package(p);
        }
        c
    }

    /// Adds one package (overriding earlier definitions of the same URL and version).
    pub fn add_package(&mut self, p: &Package) {
        let pkg_index = self.packages.len();
        self.packages.push(PackageId {
            name: p.name.clone(),
            version: p.version.clone(),
        });
        let pkg_label = format!("{}@{}", p.name, p.version);
        for (path, bytes) in p.json_resources() {
            // Cheap pre-filter: only conformance resources are parsed.
            let head = &bytes[..bytes.len().min(400)];
            let conformance = [
                &b"\"StructureDefinition\""[..],
                b"\"ValueSet\"",
                b"\"CodeSystem\"",
            ]
            .iter()
            .any(|k| contains(head, k));
            if !conformance && contains(head, b"resourceType") {
                continue;
            }
            // Only resourceType, url and version are read now; the rest on first use.
            let head: Head = match serde_json::from_slice(bytes) {
                Ok(h) => h,
                Err(e) => {
                    self.push_issue(LoadIssue {
                        package: pkg_label.clone(),
                        file: path.to_owned(),
                        message: format!("not JSON, skipped: {e}"),
                    });
                    continue;
                }
            };
            let text =
                |v: &Option<Value>| v.as_ref().and_then(Value::as_str).unwrap_or("").to_owned();
            let url = text(&head.url);
            if url.is_empty() {
                continue;
            }
            match head.resource_type.as_str() {
                "StructureDefinition" => {
                    let i = self.sds.len();
                    self.sds.push(Lazy::new(
                        bytes,
                        text(&head.version),
                        pkg_index,
                        &pkg_label,
                        path,
                    ));
                    self.sd_by_url.entry(url).or_default().push(i);
                }
                "ValueSet" | "CodeSystem" => {
                    let i = self.terminology.len();
                    self.terminology.push(Lazy::new(
                        bytes,
                        text(&head.version),
                        pkg_index,
                        &pkg_label,
                        path,
                    ));
                    let map = if head.resource_type == "ValueSet" {
                        &mut self.vs_by_url
                    } else {
                        &mut self.cs_by_url
                    };
                    map.entry(url).or_default().push(i);
                }
                _ => {}
            }
        }
    }

    fn push_issue(&self, i: LoadIssue) {
        if let Ok(mut v) = self.issues.lock() {
            v.push(i);
        }
    }

    /// Tolerated oddities met so far (definitions are parsed on first use).
    pub fn issues(&self) -> Vec<LoadIssue> {
        self.issues.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn sd_at(&self, i: usize) -> Option<&Arc<StructureDefinition>> {
        let l = self.sds.get(i)?;
        l.cell
            .get_or_init(|| {
                let v: Value = match serde_json::from_slice(&l.bytes) {
                    Ok(v) => v,
                    Err(e) => {
                        self.push_issue(LoadIssue {
                            package: l.label.clone(),
                            file: l.file.clone(),
                            message: format!("not JSON, skipped: {e}"),
                        });
                        return None;
                    }
                };
                let mut issues = Vec::new();
                let sd = SdParser {
                    issues: &mut issues,
                }
                .parse_sd(&v, l.package, &l.label, &l.file);
                for i in issues {
                    self.push_issue(i);
                }
                Some(Arc::new(sd))
            })
            .as_ref()
    }

    fn term_at(&self, i: usize) -> Option<&Value> {
        let l = self.terminology.get(i)?;
        l.cell
            .get_or_init(|| serde_json::from_slice(&l.bytes).ok().map(Arc::new))
            .as_deref()
    }

    fn pick<'a, T>(
        &self,
        map: &HashMap<String, Vec<usize>>,
        canonical: &str,
        version_of: impl Fn(usize) -> &'a str,
        get: impl Fn(usize) -> Option<T>,
    ) -> Option<T> {
        let (url, version) = split_canonical(canonical);
        let idx = map.get(url)?;
        let i = match version {
            Some(v) => *idx.iter().rev().find(|&&i| version_of(i) == v)?,
            None => *idx.last()?,
        };
        get(i)
    }

    /// The StructureDefinition with canonical `url` (optionally `url|version`;
    /// without a version, the one loaded last).
    pub fn structure_definition(&self, canonical: &str) -> Option<&Arc<StructureDefinition>> {
        let (url, version) = split_canonical(canonical);
        let idx = self.sd_by_url.get(url)?;
        let i = match version {
            Some(v) => *idx.iter().rev().find(|&&i| self.sds[i].version == v)?,
            None => *idx.last()?,
        };
        self.sd_at(i)
    }

    /// The base definition of a type by its code (`Patient`, `string`).
    pub fn type_definition(&self, code: &str) -> Option<&Arc<StructureDefinition>> {
        if code.starts_with("http") {
            return self.structure_definition(code);
        }
        self.structure_definition(&format!("http://hl7.org/fhir/StructureDefinition/{code}"))
    }

    /// The ValueSet with this canonical.
    pub fn value_set(&self, canonical: &str) -> Option<&Value> {
        self.pick(
            &self.vs_by_url,
            canonical,
            |i| self.terminology[i].version.as_str(),
            |i| self.term_at(i),
        )
    }

    /// The CodeSystem with this canonical.
    pub fn code_system(&self, canonical: &str) -> Option<&Value> {
        self.pick(
            &self.cs_by_url,
            canonical,
            |i| self.terminology[i].version.as_str(),
            |i| self.term_at(i),
        )
    }

    /// Every StructureDefinition in load order (overridden ones included).
    pub fn structure_definitions(&self) -> impl Iterator<Item = &Arc<StructureDefinition>> {
        (0..self.sds.len()).filter_map(|i| self.sd_at(i))
    }

    /// Numbers of (StructureDefinitions, ValueSets, CodeSystems) loaded.
    pub fn counts(&self) -> (usize, usize, usize) {
        let vs: usize = self.vs_by_url.values().map(Vec::len).sum();
        let cs: usize = self.cs_by_url.values().map(Vec::len).sum();
        (self.sds.len(), vs, cs)
    }

    /// `name@version` of every package, joined by `, ` (for reports).
    pub fn package_list(&self) -> String {
        self.packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct SdParser<'x> {
    issues: &'x mut Vec<LoadIssue>,
}

impl SdParser<'_> {
    fn parse_sd(
        &mut self,
        v: &Value,
        package: usize,
        label: &str,
        file: &str,
    ) -> StructureDefinition {
        let mut elements = Vec::new();
        let snapshot = v
            .get("snapshot")
            .and_then(|x| x.get("element"))
            .and_then(Value::as_array);
        if snapshot.is_none() {
            self.issues.push(LoadIssue {
                package: label.to_owned(),
                file: file.to_owned(),
                message: "StructureDefinition without snapshot".to_owned(),
            });
        }
        for e in snapshot.into_iter().flatten() {
            elements.push(self.parse_element(e, label, file));
        }
        StructureDefinition {
            url: s(v, "url"),
            version: s(v, "version"),
            name: s(v, "name"),
            kind: s(v, "kind"),
            type_name: s(v, "type"),
            is_abstract: v.get("abstract").and_then(Value::as_bool).unwrap_or(false),
            derivation: s(v, "derivation"),
            base_definition: s(v, "baseDefinition"),
            elements,
            package,
            contexts: v
                .get("context")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| (s(c, "type"), s(c, "expression")))
                .filter(|(t, e)| !t.is_empty() && !e.is_empty())
                .collect(),
        }
    }

    fn parse_element(&mut self, e: &Value, label: &str, file: &str) -> ElementDefinition {
        let path = s(e, "path");
        let mut tolerate = |what: &str| {
            self.issues.push(LoadIssue {
                package: label.to_owned(),
                file: file.to_owned(),
                message: format!("{path}: {what} tolerated"),
            });
        };
        let min = match e.get("min") {
            None => 0,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            Some(Value::String(x)) => {
                tolerate("string min");
                x.parse().unwrap_or(0)
            }
            Some(_) => {
                tolerate("non-numeric min");
                0
            }
        };
        let max = match e.get("max").and_then(Value::as_str) {
            Some("*") => Max::Unbounded,
            Some(x) => match x.parse() {
                Ok(n) => Max::N(n),
                Err(_) => {
                    tolerate("unreadable max");
                    Max::Unbounded
                }
            },
            None => Max::Unbounded,
        };
        let base_max = match e
            .get("base")
            .and_then(|b| b.get("max"))
            .and_then(Value::as_str)
        {
            Some("*") => Max::Unbounded,
            Some(x) => x.parse().map(Max::N).unwrap_or(max),
            None => max,
        };
        let types = e
            .get("type")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let code = s(t, "code");
                (!code.is_empty()).then(|| TypeRef {
                    code,
                    profiles: strs(t, "profile"),
                    target_profiles: strs(t, "targetProfile"),
                })
            })
            .collect();
        let mut fixed = None;
        let mut pattern = None;
        if let Some(obj) = e.as_object() {
            for (k, val) in obj {
                if let Some(t) = k.strip_prefix("fixed") {
                    fixed = Some((t.to_owned(), val.clone()));
                } else if let Some(t) = k.strip_prefix("pattern") {
                    pattern = Some((t.to_owned(), val.clone()));
                }
            }
        }
        let constraints = e
            .get("constraint")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                use std::hash::{Hash, Hasher};
                let key = s(c, "key");
                let expression = s(c, "expression");
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (&key, &expression).hash(&mut h);
                Constraint {
                    key,
                    severity: s(c, "severity"),
                    human: s(c, "human"),
                    expression,
                    fingerprint: h.finish(),
                }
            })
            .collect();
        let binding = e.get("binding").and_then(|b| {
            let vs = s(b, "valueSet");
            (!vs.is_empty()).then(|| Binding {
                strength: s(b, "strength"),
                value_set: vs,
            })
        });
        let slicing = e.get("slicing").map(|sl| Slicing {
            discriminators: sl
                .get("discriminator")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| (s(d, "type"), s(d, "path")))
                .collect(),
            rules: s(sl, "rules"),
            ordered: sl.get("ordered").and_then(Value::as_bool).unwrap_or(false),
        });
        ElementDefinition {
            id: s(e, "id"),
            path: path.clone(),
            slice_name: nonempty(s(e, "sliceName")),
            min,
            max,
            base_max,
            types,
            content_reference: nonempty(s(e, "contentReference")),
            fixed,
            pattern,
            constraints,
            binding,
            slicing,
            max_length: e
                .get("maxLength")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
        }
    }
}

/// The few fields read eagerly from every conformance resource.
#[derive(serde::Deserialize)]
struct Head {
    #[serde(rename = "resourceType", default)]
    resource_type: String,
    #[serde(default)]
    url: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
}

/// A resource kept as bytes and parsed on first use.
#[derive(Debug)]
struct Lazy<T> {
    bytes: Arc<[u8]>,
    version: String,
    package: usize,
    label: String,
    file: String,
    cell: OnceLock<Option<Arc<T>>>,
}

impl<T> Lazy<T> {
    fn new(bytes: &[u8], version: String, package: usize, label: &str, file: &str) -> Lazy<T> {
        Lazy {
            bytes: Arc::from(bytes),
            version,
            package,
            label: label.to_owned(),
            file: file.to_owned(),
            cell: OnceLock::new(),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The folder of IG packages beside the repository (`../shared/fhir-profiles`).
    pub(crate) fn shared_profiles() -> std::path::PathBuf {
        crate::shared("fhir-profiles")
    }

    /// The package file of a default pin (test helper: the CLI reads the cache).
    pub(crate) fn package_file(r: &PackageRef) -> std::path::PathBuf {
        let rel = match (r.name.as_str(), r.version.as_str()) {
            ("hl7.fhir.r4.core", "4.0.1") => {
                return testkit::repository()
                    .join("vendor/fhir-profiles/r4-core/hl7.fhir.r4.examples-4.0.1-subset.tgz");
            }
            ("jp-core.r4", v) => format!("jp-core/jp-core.r4-{v}.tgz"),
            ("jp-eCSCLINS.r4", "1.5.2") => "jp-clins/jp-clins.r4-1.5.2-snap.tgz".to_owned(),
            ("jp-eCSCLINS.r4", v) => format!("jp-clins/jp-eCSCLINS.r4-{v}-snap.tgz"),
            ("jp-eReferral.r4", _) => "ereferral/jp-eReferral.r4.tgz".to_owned(),
            ("jp-eDischargeSummary.r4", _) => "edischarge/jp-eDischargeSummary.r4.tgz".to_owned(),
            ("jp-eCheckupReport.r4", "1.1.3") => "echeckup/jp-eCheckupReport.r4.tgz".to_owned(),
            ("jp-eCheckupReport.r4", v) => format!("echeckup/jp-eCheckupReport.r4-{v}-snap.tgz"),
            _ => panic!("no test file for {r}"),
        };
        shared_profiles().join(rel)
    }

    /// The packages of a set, read from their files (test helper).
    pub(crate) fn packages(set: &PackageSet) -> Vec<Package> {
        set.packages
            .iter()
            .map(|r| {
                let f = package_file(r);
                let mut p = Package::from_tgz(
                    &std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())),
                )
                .unwrap();
                // known by the pin's name, as the CLI's package cache names it
                if r.name != BASE_PACKAGE {
                    p.version = r.version.clone();
                }
                p
            })
            .collect()
    }

    pub(crate) fn load_set(name: &str) -> Conformance {
        let set = resolve_set(&default_sets(), name).unwrap();
        let pkgs = packages(&set);
        let refs: Vec<&Package> = pkgs.iter().collect();
        Conformance::load(&refs)
    }

    #[test]
    fn every_default_set_has_its_packages() {
        assert_eq!(default_sets().len(), DEFAULT_PINS.len());
        for set in default_sets() {
            let pkgs = packages(&set);
            assert_eq!(pkgs.len(), set.packages.len());
            assert_eq!(pkgs[0].name, "hl7.fhir.r4.examples");
            for (p, r) in pkgs.iter().zip(&set.packages).skip(1) {
                assert_eq!(p.name, r.name, "{}", set.name);
            }
        }
        let set = resolve_set(&default_sets(), "clins").unwrap();
        assert_eq!(
            set.describe(),
            "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0"
        );
        let set = resolve_set(&default_sets(), "clins-1.5.2").unwrap();
        assert_eq!(
            set.describe(),
            "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-url, jp-eCSCLINS.r4#1.5.2"
        );
        // eCheckupReport 1.5.0's ImplementationGuide depends on JP Core 1.1.2-clins
        let set = resolve_set(&default_sets(), "echeckup").unwrap();
        assert_eq!(
            set.describe(),
            "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCheckupReport.r4#1.5.0"
        );
        let pkgs = packages(&set);
        assert!(
            pkgs[2]
                .ig_depends_on()
                .iter()
                .any(|d| d.to_string() == "jp-core.r4#1.1.2-clins"),
            "{:?}",
            pkgs[2].ig_depends_on()
        );
        let set = resolve_set(&default_sets(), "echeckup-1.1.3").unwrap();
        assert_eq!(
            set.describe(),
            "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCheckupReport.r4#1.1.3"
        );
    }

    #[test]
    fn pins_are_checked() {
        // the base goes first when not named; an exact repeat is dropped
        let s = PackageSet::from_pins("x", &["jp-core.r4#1.1.2", "jp-core.r4#1.1.2"]).unwrap();
        assert_eq!(s.describe(), "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2");
        // two versions of one package in one set
        let e =
            PackageSet::from_pins("x", &["jp-core.r4#1.1.2", "jp-core.r4#1.1.2-url"]).unwrap_err();
        assert!(matches!(e, SetError::TwoVersions { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("two versions of jp-core.r4 (1.1.2 and 1.1.2-url)"),
            "{e}"
        );
        for bad in [
            "jp-core.r4",
            "#1.0",
            "a#",
            "a#b#c",
            "../x#1",
            "a#1/2",
            "a b#1",
        ] {
            assert!(
                matches!(
                    PackageSet::from_pins("x", &[bad]),
                    Err(SetError::BadPin { .. })
                ),
                "{bad}"
            );
        }
        // explicit pins on the command line, and unknown names
        let s = resolve_set(
            &default_sets(),
            "jp-core.r4#1.1.2-clins,jp-eCSCLINS.r4#1.10.0",
        )
        .unwrap();
        assert_eq!(s.packages.len(), 3);
        let e = resolve_set(&default_sets(), "nope").unwrap_err();
        assert!(
            e.to_string().contains("known: clins, clins-1.5.2, jpcore"),
            "{e}"
        );
    }

    #[test]
    fn clins_index_finds_profiles_and_base_types() {
        let c = load_set("clins");
        let sd = c
            .structure_definition(
                "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS",
            )
            .unwrap();
        assert_eq!(sd.type_name, "MedicationRequest");
        assert!(
            sd.elements
                .iter()
                .any(|e| e.constraints.iter().any(|k| k.human.starts_with("R3010")))
        );
        let pat = c.type_definition("Patient").unwrap();
        assert_eq!(pat.derivation, "specialization");
        assert!(c.type_definition("dateTime").is_some());
        assert!(
            c.value_set("http://hl7.org/fhir/ValueSet/administrative-gender")
                .is_some()
        );
        assert!(
            c.code_system("http://hl7.org/fhir/administrative-gender")
                .is_some()
        );
        // versioned canonical
        let v = format!("{}|{}", pat.url, pat.version);
        assert!(c.structure_definition(&v).is_some());
        assert!(
            c.structure_definition(&format!("{}|0.0.0", pat.url))
                .is_none()
        );
    }

    #[test]
    fn sets_differ_on_colliding_urls() {
        let a = load_set("ereferral");
        let b = load_set("clins");
        assert_ne!(a.package_list(), b.package_list());
        assert!(b.package_list().contains("jp-core.r4@1.1.2-clins"));
        assert!(
            load_set("clins-1.5.2")
                .package_list()
                .contains("jp-core.r4@1.1.2-url")
        );
    }

    #[test]
    fn version_ordering() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("1.10.0", "1.9.2"), Greater);
        assert_eq!(version_cmp("1.5.2", "1.6.0"), Less);
        assert_eq!(version_cmp("4.0.1", "4.0.1"), Equal);
    }

    #[test]
    fn lenient_on_empty_strings() {
        let mut files = std::collections::BTreeMap::new();
        files.insert(
            "package/StructureDefinition-x.json".to_owned(),
            br#"{"resourceType":"StructureDefinition","url":"http://x/sd","type":"Patient",
               "snapshot":{"element":[{"path":"Patient","min":"","max":"","short":""}]}}"#
                .to_vec(),
        );
        files.insert("package/bad.json".to_owned(), b"{not json".to_vec());
        let p = Package {
            name: "t".into(),
            version: "1".into(),
            files,
        };
        let c = Conformance::load(&[&p]);
        let sd = c.structure_definition("http://x/sd").unwrap();
        assert_eq!(sd.elements[0].min, 0);
        assert_eq!(sd.elements[0].max, Max::Unbounded);
        assert_eq!(c.issues().len(), 3, "{:?}", c.issues());
    }
}
