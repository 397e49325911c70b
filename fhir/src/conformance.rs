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
//! A package the set does not know by file name is selected by its
//! `package.json` name and version, so a newer package dropped into the folder is
//! picked up without code changes (the highest version wins when several match).

use crate::package::Package;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One package a set needs: the vendored folder it lives in and, when the folder
/// holds several variants, the exact `package.json` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    /// Folder under `vendor/fhir-profiles/`.
    pub folder: &'static str,
    /// Exact version (e.g. `1.1.2-url`); `None` takes the newest package of the folder.
    pub version: Option<&'static str>,
}

impl PackageSpec {
    /// Orders `.tgz` file names so the one most likely to hold this spec comes
    /// first (its name ends in `-{version}.tgz`); callers read in this order and
    /// may stop at the first package whose `package.json` version matches.
    pub fn order_files(&self, names: &mut [String]) {
        if let Some(v) = self.version {
            let suffix = format!("-{v}.tgz");
            names.sort_by_key(|n| (!n.ends_with(&suffix), n.clone()));
        } else {
            names.sort();
        }
    }
}

/// A named set of packages validated together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageSet {
    /// Name used on the command line (`--ig clins`).
    pub name: &'static str,
    /// What the set is for, in one line.
    pub summary: &'static str,
    /// Packages in load order (later ones override earlier ones on URL collisions).
    pub packages: &'static [PackageSpec],
}

const R4: PackageSpec = PackageSpec {
    folder: "r4-core",
    version: None,
};

/// Every named set, `clins` first (the default).
pub const PACKAGE_SETS: &[PackageSet] = &[
    PackageSet {
        name: "clins",
        summary: "JP Core 1.1.2-url + JP-CLINS 1.5.2 (eReferral, eDischargeSummary, ePCS, CLINS bundles)",
        packages: &[
            R4,
            PackageSpec {
                folder: "jp-core",
                version: Some("1.1.2-url"),
            },
            PackageSpec {
                folder: "jp-clins",
                version: None,
            },
        ],
    },
    PackageSet {
        name: "jpcore",
        summary: "JP Core 1.1.2 (OID variant)",
        packages: &[
            R4,
            PackageSpec {
                folder: "jp-core",
                version: Some("1.1.2"),
            },
        ],
    },
    PackageSet {
        name: "ereferral",
        summary: "JP Core 1.1.2 + the stand-alone eReferral IG",
        packages: &[
            R4,
            PackageSpec {
                folder: "jp-core",
                version: Some("1.1.2"),
            },
            PackageSpec {
                folder: "ereferral",
                version: None,
            },
        ],
    },
    PackageSet {
        name: "edischarge",
        summary: "JP Core 1.1.2 + the stand-alone eDischargeSummary IG",
        packages: &[
            R4,
            PackageSpec {
                folder: "jp-core",
                version: Some("1.1.2"),
            },
            PackageSpec {
                folder: "edischarge",
                version: None,
            },
        ],
    },
    PackageSet {
        name: "echeckup",
        summary: "JP Core 1.1.2-clins + eCheckupReport",
        packages: &[
            R4,
            PackageSpec {
                folder: "jp-core",
                version: Some("1.1.2-clins"),
            },
            PackageSpec {
                folder: "echeckup",
                version: None,
            },
        ],
    },
    PackageSet {
        name: "base",
        summary: "FHIR R4 4.0.1 only",
        packages: &[R4],
    },
];

/// The set called `name`.
pub fn package_set(name: &str) -> Option<&'static PackageSet> {
    PACKAGE_SETS.iter().find(|s| s.name == name)
}

impl PackageSet {
    /// Folders the caller must read (`.tgz` files in each), deduplicated, in order.
    pub fn folders(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for p in self.packages {
            if !out.contains(&p.folder) {
                out.push(p.folder);
            }
        }
        out
    }

    /// Picks, for each spec, the package it names among `candidates`
    /// (`(folder, package)` pairs the caller read). Returns the packages in load
    /// order, or the first spec nothing matched.
    pub fn select<'p>(
        &self,
        candidates: &'p [(String, Package)],
    ) -> Result<Vec<&'p Package>, PackageSpec> {
        let mut out = Vec::new();
        for spec in self.packages {
            let mut best: Option<&Package> = None;
            for (folder, p) in candidates {
                if folder != spec.folder {
                    continue;
                }
                match spec.version {
                    Some(v) if p.version != v => continue,
                    Some(_) => {
                        best = Some(p);
                        break;
                    }
                    None => {
                        if best.is_none_or(|b| version_cmp(&p.version, &b.version).is_gt()) {
                            best = Some(p);
                        }
                    }
                }
            }
            out.push(best.ok_or(*spec)?);
        }
        Ok(out)
    }
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

    pub(crate) fn vendor_root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/fhir-profiles")
    }

    /// Reads every `.tgz` of the set's folders (test helper; the CLI does the same).
    pub(crate) fn candidates(set: &PackageSet) -> Vec<(String, Package)> {
        let mut out = Vec::new();
        for folder in set.folders() {
            let dir = vendor_root().join(folder);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
                .collect();
            files.sort();
            for f in files {
                let p = Package::from_tgz(&std::fs::read(&f).unwrap()).unwrap();
                out.push((folder.to_owned(), p));
            }
        }
        out
    }

    pub(crate) fn load_set(name: &str) -> Conformance {
        let set = package_set(name).unwrap();
        let c = candidates(set);
        let pkgs = set.select(&c).unwrap();
        Conformance::load(&pkgs)
    }

    #[test]
    fn every_set_resolves_its_packages() {
        for set in PACKAGE_SETS {
            let c = candidates(set);
            let pkgs = set
                .select(&c)
                .unwrap_or_else(|s| panic!("{}: {s:?}", set.name));
            assert_eq!(pkgs.len(), set.packages.len());
            assert_eq!(pkgs[0].name, "hl7.fhir.r4.examples");
        }
        let set = package_set("clins").unwrap();
        let c = candidates(set);
        let pkgs = set.select(&c).unwrap();
        assert_eq!(pkgs[1].version, "1.1.2-url");
        assert_eq!(pkgs[2].name, "jp-eCSCLINS.r4");
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
        assert!(b.package_list().contains("jp-core.r4@1.1.2-url"));
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
