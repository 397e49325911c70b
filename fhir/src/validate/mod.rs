//! The validation engine: a resource or a whole Bundle against the base R4
//! definitions, the resource's declared `meta.profile`s and any requested profile
//! of the loaded [`Conformance`] set.
//!
//! Checked: JSON shape, unknown elements, cardinality (slices included), primitive
//! formats with calendar checks, choice types, fixed and pattern values, every
//! invariant (not evaluable → warning with its key), slicing (value, pattern,
//! type, exists and — by declared `meta.profile` — profile discriminators; closed
//! and ordered rules), extension contexts (`StructureDefinition.context`),
//! required bindings to value sets expandable from the loaded packages (codings
//! under bindings that cannot be expanded go to an attached [`CodeSystemOracle`]),
//! and references (`urn:uuid` fullUrls and `#contained`, resolved through hash
//! maps built once per Bundle: O(n)). The document and collection rules of the
//! base Bundle (bdl-7 unique fullUrls, bdl-9 identifier, bdl-10 timestamp, bdl-11
//! Composition first) are base invariants and run as such.
//!
//! Locations are FHIRPath-style element paths (`Bundle.entry[2].resource.code`);
//! offending values go into PHI-tagged excerpts, never into messages. The paths
//! are built lazily (a chain of segments on the stack, rendered only for a
//! finding), children are matched to JSON keys through per-element name maps,
//! and definitions, compiled invariants and expansions are cached per validator.

pub mod codes;
mod primitive;

use crate::conformance::{Conformance, ElementDefinition, Max, StructureDefinition};
use crate::errata::{Effect, Errata, Erratum, StrictPack, StrictRule};
use crate::fhirpath::{Env, Expression, FastGet, Node, PRIMITIVES, Resolver, Terminology, Verdict};
use diagnostics::{Code, Diagnostic, Excerpt, Location, Phi, Severity};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast non-cryptographic hasher (the Fx function of rustc) for the validator's
/// internal keys: addresses, fingerprints and the packages' own strings. Keys that
/// come from the input (fullUrls, paths) keep the default DoS-resistant hasher.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;
type FxSet<K> = HashSet<K, BuildHasherDefault<Fx>>;
use std::rc::Rc;
use std::sync::Arc;

/// One finding of the validator.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// Stable code.
    pub code: &'static Code,
    /// Severity.
    pub severity: Severity,
    /// Element path (`Bundle.entry[2].resource.code`).
    pub expression: String,
    /// What is wrong; names the profile and element path where relevant; no input text.
    pub message: String,
    /// The offending value, if useful (tagged as personal data: masked by default).
    pub excerpt: Option<Excerpt>,
    /// The erratum that downgraded this finding, if one did.
    pub errata: Option<String>,
}

impl Issue {
    /// As a shared diagnostic (the element path goes into the location).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::new(self.code, self.message.clone())
            .severity(self.severity)
            .at(Location::default().element(self.expression.clone()));
        if let Some(e) = &self.excerpt {
            d = d.excerpt(e.clone());
        }
        d
    }
}

/// What validating one resource (or Bundle) found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Findings in the order found.
    pub issues: Vec<Issue>,
    /// Invariants evaluated.
    pub invariants_evaluated: usize,
    /// Invariants that could not be evaluated (each also a V012 warning).
    pub invariants_not_evaluable: usize,
    /// Resources validated (the Bundle and its entries, contained ones included).
    pub resources: usize,
    /// Ids of the errata that changed a finding of this report.
    pub errata_applied: BTreeSet<String>,
    /// Package versions, errata file and strict pack used (see [`Validator::provenance`]).
    pub provenance: String,
}

impl Report {
    /// True when no issue has error severity.
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// The applied errata ids, comma-separated, or `none`.
    pub fn errata_list(&self) -> String {
        if self.errata_applied.is_empty() {
            "none".into()
        } else {
            self.errata_applied
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// The findings as a FHIR OperationOutcome (JSON).
    pub fn operation_outcome(&self) -> Value {
        let issues: Vec<Value> = self
            .issues
            .iter()
            .map(|i| {
                let mut issue = json!({
                    "severity": match i.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                        Severity::Info => "information",
                    },
                    "code": match i.code.id {
                        "V003" | "V004" | "V005" | "V006" | "V018" | "V019" | "V020" => "structure",
                        "V007" | "V022" => "value",
                        "V010" | "V011" | "V012" => "invariant",
                        "V014" | "V015" => "code-invalid",
                        "V013" => "not-supported",
                        _ => "processing",
                    },
                    "details": {"coding": [{"system": "https://github.com/kakehashi/diagnostics", "code": i.code.id}]},

                    "diagnostics": i.message,
                    "expression": [i.expression],
                });
                if let (Some(e), Some(o)) = (&i.errata, issue.as_object_mut()) {
                    // which erratum downgraded the finding (FHIR forbids empty arrays: only when set)
                    o.insert(
                        "extension".into(),
                        json!([{"url": "https://github.com/kakehashi/errata", "valueString": e}]),
                    );
                }
                issue
            })
            .collect();
        let mut issues = issues;
        if issues.is_empty() {
            issues.push(json!({"severity": "information", "code": "informational", "diagnostics": "no issues"}));
        }
        // which packages and errata the verdict rests on
        issues.push(json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": format!("{}; errata applied here: {}", self.provenance, self.errata_list()),
        }));
        let mut oo = Map::new();
        oo.insert("resourceType".into(), json!("OperationOutcome"));
        oo.insert("issue".into(), Value::Array(issues));
        Value::Object(oo)
    }
}

/// See [`Validator::slice_fixed`].
type SliceFixedCache = FxMap<(usize, usize, usize), Rc<SliceFixed>>;

/// Compiled relative paths and the values fixed there (`None`: no fixed values).
type SliceFixed = Option<Vec<(Rc<Expression>, Value)>>;

/// (definition, slice, discriminator) → the definition and element fixing the path.
type SliceTargets<'c> = FxMap<(usize, usize, usize), Option<(&'c Arc<StructureDefinition>, usize)>>;

/// (system, code) pairs of an expanded value set.
type Expansion = HashSet<(String, String)>;

/// JSON entries found for the child definitions: position in the children list,
/// key, value, `_key` part, choice suffix.
type Found<'a> = Vec<(
    usize,
    &'a str,
    &'a Value,
    Option<&'a Value>,
    Option<&'a str>,
)>;

/// Per-StructureDefinition lookup: children of each element id.
struct SdIndex {
    by_id: FxMap<String, usize>,
    /// Per element index: its children that are not slices (`None`: the snapshot
    /// does not expand it).
    defs: Vec<Option<Rc<Vec<usize>>>>,
    /// Per element index: the slices of the element (same parent, `id:name`).
    slices: Vec<Rc<Vec<usize>>>,
    /// Per element index: where the last segment of its path starts.
    name_at: Vec<usize>,
    /// Per element index: its children (`defs`) by JSON name, for matching keys.
    kid_names: Vec<Option<Rc<KidNames>>>,
}

/// The children of one element by name: exact names and choice prefixes
/// (`value[x]` → `value`), each with its position in the children list.
#[derive(Default)]
struct KidNames {
    exact: FxMap<String, usize>,
    /// The entries of `exact` in definition order, scanned when they are few.
    list: Vec<(String, usize)>,
    choices: Vec<(String, usize)>,
}

impl KidNames {
    /// The child a JSON key (without `_`) belongs to and its choice suffix: the
    /// first child in definition order whose name is the key or whose choice
    /// prefix starts it (followed by an upper-case type name).
    fn find<'k>(&self, key: &'k str) -> Option<(usize, Option<&'k str>)> {
        let exact = if self.list.len() <= 12 {
            self.list.iter().find(|(n, _)| n == key).map(|(_, d)| *d)
        } else {
            self.exact.get(key).copied()
        };
        for (prefix, di) in &self.choices {
            if exact.is_some_and(|e| e <= *di) {
                break;
            }
            if let Some(suffix) = key.strip_prefix(prefix.as_str())
                && suffix.starts_with(|c: char| c.is_ascii_uppercase())
            {
                return Some((*di, Some(suffix)));
            }
        }
        exact.map(|e| (e, None))
    }
}

impl SdIndex {
    /// The last segment of element `k`'s path (`valueQuantity` → `value[x]`).
    fn name<'s>(&self, sd: &'s StructureDefinition, k: usize) -> &'s str {
        let p = &sd.elements[k].path;
        p.get(self.name_at.get(k).copied().unwrap_or(0)..)
            .unwrap_or(p)
    }
}

/// An element path (`Bundle.entry[2].resource.code`) kept as a chain of segments
/// on the stack: rendered only when a finding is reported, since most elements
/// never are.
#[derive(Clone, Copy)]
enum Path<'p> {
    /// The start (a resource type, `Bundle`, `$`) or a path already rendered.
    Root(&'p str),
    /// `parent.name`.
    Child(&'p Path<'p>, &'p str),
    /// `parent.name[i]`.
    Item(&'p Path<'p>, &'p str, usize),
    /// `parent:name` (a slice).
    Slice(&'p Path<'p>, &'p str),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::with_capacity(64);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Path::Root(r) => out.push_str(r),
            Path::Child(p, n) => {
                p.write(out);
                out.push('.');
                out.push_str(n);
            }
            Path::Item(p, n, i) => {
                p.write(out);
                out.push('.');
                out.push_str(n);
                let _ = write!(out, "[{i}]"); // writing to a String cannot fail
            }
            Path::Slice(p, n) => {
                p.write(out);
                out.push(':');
                out.push_str(n);
            }
        }
    }

    /// The rendered path contains `.contained[` (the node is inside a contained resource).
    fn in_contained(&self) -> bool {
        match self {
            Path::Root(r) => r.contains(".contained["),
            Path::Child(p, _) | Path::Slice(p, _) => p.in_contained(),
            Path::Item(p, n, _) => *n == "contained" || p.in_contained(),
        }
    }
}

fn parent_id(id: &str) -> Option<&str> {
    // the last '.' that is not inside a slice name (slice names rarely hold dots)
    let i = id.rfind('.')?;
    id.get(..i)
}

fn last_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// What a code-system registry says about a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validity {
    /// The code is in the system.
    Valid,
    /// The code cannot be in the system: why (no input text).
    Invalid(String),
    /// The registry cannot tell (e.g. the shape fits but no master is loaded).
    Unknown,
}

/// Code systems the validator cannot expand from the packages (JP masters:
/// JLAC10, YJ codes, ICD-10 …), checked by an outside registry. The `fhir` crate
/// depends on no terminology crate: the CLI attaches an implementation backed by
/// `terminologies` (code shapes and loaded masters) with
/// [`Validator::with_code_systems`].
pub trait CodeSystemOracle {
    /// The registry has rules for this system URI.
    fn knows(&self, system: &str) -> bool;
    /// The verdict on `code` in `system`.
    fn check(&self, system: &str, code: &str) -> Validity;
    /// One line naming the registry (for the report's provenance).
    fn describe(&self) -> String;
}

/// The validator over one conformance set. Caches per-definition indexes,
/// compiled invariants and value set expansions across calls.
pub struct Validator<'c> {
    conf: &'c Conformance,
    index: RefCell<FxMap<usize, Rc<SdIndex>>>,
    invariant_exprs: RefCell<FxMap<u64, Rc<Expression>>>,
    exprs: RefCell<FxMap<String, Rc<Expression>>>,
    /// (definition, slice element, discriminator index) → fixed/pattern values on the
    /// slice's descendants under that path, with the compiled relative path.
    slice_fixed: RefCell<SliceFixedCache>,
    expansions: RefCell<FxMap<String, Option<Rc<Expansion>>>>,
    errata: Vec<Erratum>,
    errata_file: Option<(String, String)>,
    strict: Vec<(StrictRule, Rc<Expression>)>,
    strict_pack: Option<String>,
    /// [`Validator::provenance`], computed once (reset by the builder methods).
    provenance: std::cell::OnceCell<String>,
    /// Definitions by canonical URL or type code (memo of the conformance look-ups).
    sd_memo: RefCell<FxMap<String, Option<&'c Arc<StructureDefinition>>>>,
    type_memo: RefCell<FxMap<String, Option<&'c Arc<StructureDefinition>>>>,
    code_systems: Option<&'c dyn CodeSystemOracle>,
    /// See [`Validator::slice_target`].
    slice_targets: RefCell<SliceTargets<'c>>,
}

struct BundleIndex<'a> {
    by_url: HashMap<&'a str, &'a Value>,
    by_type_id: HashMap<(&'a str, &'a str), &'a Value>,
}

impl<'a> BundleIndex<'a> {
    fn get(&self, reference: &str) -> Option<&'a Value> {
        if let Some(v) = self.by_url.get(reference) {
            return Some(v);
        }
        let mut parts = reference.rsplitn(3, '/');
        let (id, ty) = (parts.next()?, parts.next()?);
        self.by_type_id.get(&(ty, id)).copied()
    }
}

impl Terminology for Validator<'_> {
    fn member_of(&self, canonical: &str, system: Option<&str>, code: &str) -> Option<bool> {
        let expansion = self.expand(canonical)?;
        Some(match system {
            Some(system) => expansion.contains(&(system.to_owned(), code.to_owned())),
            None => expansion.iter().any(|(_, c)| c == code),
        })
    }
}

impl<'a> Resolver<'a> for BundleIndex<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        self.get(reference)
    }
}

struct Run<'a> {
    report: Report,
    done_constraints: FxSet<(usize, usize, u64)>,
    /// Emptied `done_constraints` sets kept for reuse.
    spare_sets: Vec<FxSet<(usize, usize, u64)>>,
    done_resources: FxSet<usize>,
    done_profiles: FxSet<(usize, usize)>,
    seen: HashSet<String>,
    bundle: Option<&'a BundleIndex<'a>>,
    unchecked_vs: BTreeSet<String>,
}

#[derive(Clone, Copy)]
struct Scope<'a> {
    resource: &'a Value,
    root: &'a Value,
}

fn ptr(v: &Value) -> usize {
    v as *const Value as usize
}

fn is_primitive(code: &str) -> bool {
    PRIMITIVES.contains(&code) || code.starts_with("http://hl7.org/fhirpath/System.")
}

fn excerpt(v: &Value) -> Excerpt {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Excerpt::phi_text(text, Phi::Other)
}

/// `pattern` is contained in `value` (objects: every pattern key matches;
/// arrays: every pattern item matches some value item).
fn pattern_matches(pattern: &Value, value: &Value) -> bool {
    match (pattern, value) {
        (Value::Object(p), Value::Object(v)) => p
            .iter()
            .all(|(k, pv)| v.fget(k).is_some_and(|vv| pattern_matches(pv, vv))),
        (Value::Array(p), Value::Array(v)) => p
            .iter()
            .all(|pi| v.iter().any(|vi| pattern_matches(pi, vi))),
        (p, Value::Array(v)) => v.iter().any(|vi| pattern_matches(p, vi)),
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (p, v) => p == v,
    }
}

impl<'c> Validator<'c> {
    /// The FHIRPath environment of an expression evaluated in `scope`: its
    /// resource and root, the bundle as resolver, this validator as terminology
    /// (no element-type model: the walk types the profile's own elements).
    fn env<'a>(&'a self, bundle: Option<&'a BundleIndex<'a>>, scope: Scope<'a>) -> Env<'a> {
        Env {
            resource: Some(scope.resource),
            root_resource: Some(scope.root),
            resolver: bundle.map(|b| b as &dyn Resolver<'a>),
            terminology: Some(self),
            types: None,
        }
    }

    /// A validator over `conf`.
    pub fn new(conf: &'c Conformance) -> Validator<'c> {
        Validator {
            conf,
            index: RefCell::new(FxMap::default()),
            invariant_exprs: RefCell::new(FxMap::default()),
            exprs: RefCell::new(FxMap::default()),
            slice_fixed: RefCell::new(FxMap::default()),
            expansions: RefCell::new(FxMap::default()),
            errata: Vec::new(),
            errata_file: None,
            strict: Vec::new(),
            strict_pack: None,
            provenance: std::cell::OnceCell::new(),
            sd_memo: RefCell::new(FxMap::default()),
            type_memo: RefCell::new(FxMap::default()),
            code_systems: None,
            slice_targets: RefCell::new(FxMap::default()),
        }
    }

    /// Applies the entries of `errata` whose package (at its version) is loaded.
    pub fn with_errata(mut self, errata: &Errata) -> Validator<'c> {
        self.errata = errata.active(self.conf);
        self.errata_file = Some((errata.version.clone(), errata.title.clone()));
        self.provenance = std::cell::OnceCell::new();
        self
    }

    /// Checks codings under required and extensible bindings whose value set cannot
    /// be expanded from the packages against `oracle` (V029).
    pub fn with_code_systems(mut self, oracle: &'c dyn CodeSystemOracle) -> Validator<'c> {
        self.code_systems = Some(oracle);
        self.provenance = std::cell::OnceCell::new();
        self
    }

    /// Adds the rules of a strict pack (evaluated as warnings, V025).
    pub fn with_strict(mut self, pack: &StrictPack) -> Validator<'c> {
        self.strict = pack
            .rules
            .iter()
            .map(|r| (r.clone(), Rc::new(Expression::compile(&r.expression))))
            .collect();
        self.strict_pack = Some(format!("{} v{}", pack.title, pack.pack_version));
        self.provenance = std::cell::OnceCell::new();
        self
    }

    /// One line naming the package versions, the errata file (version and active
    /// entries) and the strict pack this validator applies.
    pub fn provenance(&self) -> String {
        let errata = match &self.errata_file {
            None => "errata: none".to_owned(),
            Some((v, title)) => {
                let ids: Vec<&str> = self.errata.iter().map(|e| e.id.as_str()).collect();
                format!(
                    "errata: {title} v{v} (active: {})",
                    if ids.is_empty() {
                        "none".to_owned()
                    } else {
                        ids.join(", ")
                    }
                )
            }
        };
        let strict = match &self.strict_pack {
            None => String::new(),
            Some(p) => format!("; strict: {p}"),
        };
        let registry = match self.code_systems {
            None => String::new(),
            Some(o) => format!("; code systems: {}", o.describe()),
        };
        format!(
            "packages: {}; {errata}{strict}{registry}",
            self.conf.package_list()
        )
    }

    fn provenance_once(&self) -> &str {
        self.provenance.get_or_init(|| self.provenance())
    }

    /// Validates JSON bytes (a resource or a Bundle) against its declared
    /// profiles and `profiles`.
    pub fn validate_json(&self, bytes: &[u8], profiles: &[String]) -> Report {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => self.validate(&v, profiles),
            Err(e) => {
                let mut r = Report {
                    provenance: self.provenance_once().to_owned(),
                    ..Report::default()
                };
                r.issues.push(Issue {
                    code: &codes::NOT_JSON,
                    severity: codes::NOT_JSON.severity,
                    expression: format!("line {} column {}", e.line(), e.column()),
                    message: format!("not valid JSON ({})", classify(&e)),
                    excerpt: None,
                    errata: None,
                });
                r
            }
        }
    }

    /// Validates a parsed resource (or Bundle).
    pub fn validate(&self, res: &Value, profiles: &[String]) -> Report {
        let bidx = index_bundle(res);
        let mut run = Run {
            report: Report::default(),
            done_constraints: FxSet::default(),
            spare_sets: Vec::new(),
            done_resources: FxSet::default(),
            done_profiles: FxSet::default(),
            seen: HashSet::new(),
            bundle: None,
            unchecked_vs: BTreeSet::new(),
        };
        let Some(rt) = res.fget("resourceType").and_then(Value::as_str) else {
            self.issue(
                &mut run,
                &codes::NOT_JSON,
                &Path::Root("$"),
                "not a FHIR resource: no resourceType",
                None,
            );
            return run.report;
        };
        if rt == "Bundle" {
            run.bundle = Some(&bidx);
        }
        self.resource(
            &mut run,
            res,
            &Path::Root(rt),
            profiles,
            Scope {
                resource: res,
                root: res,
            },
        );
        self.references(&mut run, res, rt);
        run.report.provenance = self.provenance_once().to_owned();
        for vs in std::mem::take(&mut run.unchecked_vs) {
            self.issue(
                &mut run,
                &codes::BINDING_UNCHECKED,
                &Path::Root(rt),
                &format!("required value set {vs} cannot be expanded from the loaded packages; codes bound to it were not checked"),
                None,
            );
        }
        run.report
    }

    fn issue(
        &self,
        run: &mut Run<'_>,
        code: &'static Code,
        path: &Path<'_>,
        msg: &str,
        ex: Option<Excerpt>,
    ) {
        self.issue_as(run, code, code.severity, None, path, msg, ex);
    }

    /// An issue with a severity other than its code's (an erratum downgraded it).
    #[allow(clippy::too_many_arguments)]
    fn issue_as(
        &self,
        run: &mut Run<'_>,
        code: &'static Code,
        severity: Severity,
        errata: Option<&Erratum>,
        path: &Path<'_>,
        msg: &str,
        ex: Option<Excerpt>,
    ) {
        let path = path.render();
        // The same finding reached through the base definition and a profile is
        // reported once (invariants are keyed by their message, which names the key).
        let key = match code.id {
            "V010" | "V011" | "V012" | "V025" => format!("{}|{path}|{msg}", code.id),
            _ => format!("{}|{path}", code.id),
        };
        if !run.seen.insert(key) {
            return;
        }
        let (message, errata) = match errata {
            Some(e) => {
                run.report.errata_applied.insert(e.id.clone());
                (
                    format!(
                        "{msg} [downgraded by erratum {} of {}@{}: package defect]",
                        e.id, e.package, e.version
                    ),
                    Some(e.id.clone()),
                )
            }
            None => (msg.to_owned(), None),
        };
        run.report.issues.push(Issue {
            code,
            severity,
            expression: path,
            message,
            excerpt: ex,
            errata,
        });
    }

    fn sd_index(&self, sd: &StructureDefinition) -> Rc<SdIndex> {
        // definitions live as long as the Conformance: their address identifies them
        let key = sd as *const StructureDefinition as usize;
        if let Some(i) = self.index.borrow().get(&key) {
            return i.clone();
        }
        let mut children: FxMap<String, Vec<usize>> = FxMap::default();
        let mut by_id = FxMap::default();
        for (i, e) in sd.elements.iter().enumerate() {
            by_id.insert(e.id.clone(), i);
            if let Some(p) = parent_id(&e.id) {
                children.entry(p.to_owned()).or_default().push(i);
            }
        }
        let defs: Vec<Option<Rc<Vec<usize>>>> = sd
            .elements
            .iter()
            .map(|e| {
                children.get(&e.id).map(|kids| {
                    Rc::new(
                        kids.iter()
                            .copied()
                            .filter(|&k| sd.elements[k].slice_name.is_none())
                            .collect(),
                    )
                })
            })
            .collect();
        let slices = sd
            .elements
            .iter()
            .map(|e| {
                let prefix = format!("{}:", e.id);
                Rc::new(
                    parent_id(&e.id)
                        .and_then(|p| children.get(p))
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&k| {
                            sd.elements[k]
                                .id
                                .strip_prefix(&prefix)
                                .is_some_and(|rest| !rest.contains(['/', '.', ':']))
                        })
                        .collect(),
                )
            })
            .collect();
        let name_at = sd
            .elements
            .iter()
            .map(|e| e.path.len() - last_name(&e.path).len())
            .collect();
        let kid_names = defs
            .iter()
            .map(|d| {
                d.as_ref().map(|kids| {
                    let mut names = KidNames::default();
                    for (di, &k) in kids.iter().enumerate() {
                        let name = last_name(&sd.elements[k].path);
                        if !names.exact.contains_key(name) {
                            names.exact.insert(name.to_owned(), di);
                            names.list.push((name.to_owned(), di));
                        }
                        if let Some(prefix) = name.strip_suffix("[x]") {
                            names.choices.push((prefix.to_owned(), di));
                        }
                    }
                    Rc::new(names)
                })
            })
            .collect();
        let idx = Rc::new(SdIndex {
            name_at,
            by_id,
            defs,
            slices,
            kid_names,
        });
        self.index.borrow_mut().insert(key, idx.clone());
        idx
    }

    fn expression(&self, src: &str) -> Rc<Expression> {
        if let Some(e) = self.exprs.borrow().get(src) {
            return e.clone();
        }
        let e = Rc::new(Expression::compile(src));
        self.exprs.borrow_mut().insert(src.to_owned(), e.clone());
        e
    }

    fn invariant_expression(&self, fingerprint: u64, src: &str) -> Rc<Expression> {
        if let Some(e) = self.invariant_exprs.borrow().get(&fingerprint) {
            return e.clone();
        }
        let e = self.expression(src);
        self.invariant_exprs
            .borrow_mut()
            .insert(fingerprint, e.clone());
        e
    }

    fn profile(&self, canonical: &str) -> Option<&'c Arc<StructureDefinition>> {
        if let Some(sd) = self.sd_memo.borrow().get(canonical) {
            return *sd;
        }
        let sd = self.conf.structure_definition(canonical).or_else(|| {
            self.conf
                .structure_definition(canonical.split('|').next().unwrap_or(canonical))
        });
        self.sd_memo.borrow_mut().insert(canonical.to_owned(), sd);
        sd
    }

    /// [`Conformance::type_definition`], memoised.
    fn type_definition(&self, code: &str) -> Option<&'c Arc<StructureDefinition>> {
        if let Some(sd) = self.type_memo.borrow().get(code) {
            return *sd;
        }
        let sd = self.conf.type_definition(code);
        self.type_memo.borrow_mut().insert(code.to_owned(), sd);
        sd
    }

    fn resource<'a>(
        &'a self,
        run: &mut Run<'a>,
        res: &'a Value,
        path: &Path<'_>,
        extra: &[String],
        scope: Scope<'a>,
    ) where
        'c: 'a,
    {
        if run.done_resources.insert(ptr(res)) {
            run.report.resources += 1;
        }
        let Some(obj) = res.as_object() else {
            self.issue(
                run,
                &codes::WRONG_SHAPE,
                path,
                "a resource must be a JSON object",
                None,
            );
            return;
        };
        let rt = obj
            .fget("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let base = self.type_definition(rt).filter(|sd| sd.kind == "resource");
        let Some(base) = base else {
            if codes::R4_RESOURCE_TYPES.contains(&rt) {
                self.issue(
                    run,
                    &codes::RESOURCE_NOT_VALIDATED,
                    path,
                    "no definition of this R4 resource type is loaded; it was not validated",
                    Some(Excerpt::text(rt)),
                );
                return;
            }
            self.issue(
                run,
                &codes::UNKNOWN_RESOURCE_TYPE,
                path,
                "resourceType is missing or not a resource type of the loaded packages",
                Some(Excerpt::text(rt)),
            );
            return;
        };
        let mut sds: Vec<&Arc<StructureDefinition>> = vec![base];
        let declared = obj
            .fget("meta")
            .and_then(|m| m.fget("profile"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        for url in declared.chain(extra.iter().map(String::as_str)) {
            match self.profile(url) {
                Some(sd) if sd.type_name == rt => {
                    if !sds.iter().any(|s| Arc::ptr_eq(s, sd)) {
                        sds.push(sd);
                    }
                }
                Some(_) => self.issue(
                    run,
                    &codes::PROFILE_NOT_LOADED,
                    path,
                    &format!("profile {url} is for another resource type; not applied"),
                    None,
                ),
                None => self.issue(
                    run,
                    &codes::PROFILE_NOT_LOADED,
                    path,
                    &format!("profile {url} is not in the loaded package set; not applied"),
                    None,
                ),
            }
        }
        let node = Node {
            value: res,
            ext: None,
            ty: Some(base.type_name.as_str()),
        };
        // Invariants reached twice (through the base definition and a profile) run
        // once: the set of those done is per resource, so it stays small and hot
        // whatever the Bundle's size (the enclosing resource's set is put back after).
        // (the sets are recycled: a fresh one would grow and rehash for every resource)
        let fresh = run.spare_sets.pop().unwrap_or_default();
        let outer = std::mem::replace(&mut run.done_constraints, fresh);
        for sd in sds {
            if run
                .done_profiles
                .insert((ptr(res), Arc::as_ptr(sd) as usize))
            {
                self.element(run, node, sd, 0, path, scope);
                self.strict_rules(run, node, sd, path, scope);
            }
        }
        let mut used = std::mem::replace(&mut run.done_constraints, outer);
        used.clear();
        run.spare_sets.push(used);
    }

    /// The strict pack's rules of profile `sd` (warnings, V025).
    fn strict_rules<'a>(
        &'a self,
        run: &mut Run<'a>,
        node: Node<'a>,
        sd: &StructureDefinition,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) {
        for (rule, e) in &self.strict {
            if !same_canonical(&rule.profile, &sd.url) {
                continue;
            }
            let env = self.env(run.bundle, scope);
            run.report.invariants_evaluated += 1;
            match e.check_node(node, env) {
                Verdict::Pass => {}
                Verdict::Fail => self.issue(
                    run,
                    &codes::STRICT_RULE,
                    path,
                    &format!(
                        "strict rule {} failed: {} ({}; not attached in the package; expression {})",
                        rule.id, rule.human, sd.url, rule.source
                    ),
                    None,
                ),
                Verdict::NotEvaluable(why) => {
                    run.report.invariants_not_evaluable += 1;
                    self.issue(
                        run,
                        &codes::INVARIANT_NOT_EVALUABLE,
                        path,
                        &format!("strict rule {} could not be evaluated: {why}", rule.id),
                        None,
                    );
                }
            }
        }
    }

    /// Validates `node` against element `ei` of `sd` (its invariants and children).
    fn element<'a>(
        &'a self,
        run: &mut Run<'a>,
        node: Node<'a>,
        sd: &'c Arc<StructureDefinition>,
        ei: usize,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) where
        'c: 'a,
    {
        let Some(ed) = sd.elements.get(ei) else {
            return;
        };
        self.invariants(run, node, sd, ed, path, scope);
        let idx = self.sd_index(sd);
        let mut kids_of = ei;
        let mut kids = idx.defs.get(ei).cloned().flatten();
        let kid_sd = sd;
        let kid_idx = idx.clone();
        if kids.is_none()
            && let Some(cr) = &ed.content_reference
        {
            let target = cr.trim_start_matches('#');
            if let Some(&t) = idx.by_id.get(target) {
                kids_of = t;
                kids = idx.defs.get(t).cloned().flatten();
            }
        }
        if kids.is_none() {
            // not expanded in this snapshot: continue in the type's definition
            if let Some(tsd) = self.type_sd_for(node, ed) {
                if !Arc::ptr_eq(tsd, sd) || ei != 0 {
                    self.element(run, node, tsd, 0, path, scope);
                }
                return;
            }
            return;
        }
        let (Some(defs), Some(names)) = (kids, kid_idx.kid_names.get(kids_of).cloned().flatten())
        else {
            return;
        };
        let obj = match node.value {
            Value::Object(o) => Some(o),
            _ => None,
        };
        let ext_obj = node.ext.and_then(Value::as_object);
        let Some(obj) = obj.or(ext_obj) else {
            return;
        };
        // match JSON keys to child definitions (by position in `defs`)
        // (one flat list sorted by definition, stably: JSON order within a definition;
        // a Vec per definition cost an allocation per key)
        let mut keyed: Found<'a> = Vec::with_capacity(obj.len());
        for (key, v) in obj {
            if key == "resourceType" || key == "fhir_comments" {
                continue;
            }
            let (base_key, is_ext) = match key.strip_prefix('_') {
                Some(b) => (b, true),
                None => (key.as_str(), false),
            };
            if is_ext && obj.fget(base_key).is_some() {
                continue; // handled with its value
            }
            let found = names.find(base_key);
            let Some((d, choice)) = found else {
                self.issue(
                    run,
                    &codes::UNKNOWN_ELEMENT,
                    &Path::Child(path, key),
                    &format!("element is not defined by {}", kid_sd.url),
                    None,
                );
                continue;
            };
            let (val, ext) = if is_ext {
                (&NULL, Some(v))
            } else {
                (v, crate::fhirpath::underscored(obj, key))
            };
            keyed.push((d, base_key, val, ext, choice));
        }
        keyed.sort_by_key(|f| f.0);
        let mut cursor = 0;
        // buffers reused for every child definition
        let mut items: Vec<(Node<'a>, Path<'_>, Option<&'a str>)> = Vec::new();
        let mut typed: Vec<(Node<'a>, Path<'_>)> = Vec::new();
        for (di, &d) in defs.iter().enumerate() {
            let ced = &kid_sd.elements[d];
            let name = kid_idx.name(kid_sd, d);
            let start = cursor;
            while cursor < keyed.len() && keyed[cursor].0 == di {
                cursor += 1;
            }
            let entries = keyed.get(start..cursor).unwrap_or_default();
            items.clear();
            typed.clear();
            if entries.len() > 1 {
                self.issue(
                    run,
                    &codes::BAD_CHOICE_TYPE,
                    &Path::Child(path, name),
                    "a choice element appears with more than one type",
                    None,
                );
            }
            for &(_, key, val, ext, choice) in entries {
                let repeating = ced.base_max != Max::N(1);
                match (val, repeating) {
                    (Value::Array(a), true) => {
                        if a.is_empty() {
                            self.issue(
                                run,
                                &codes::EMPTY_VALUE,
                                &Path::Child(path, key),
                                "empty array",
                                None,
                            );
                        }
                        let exts = ext.and_then(Value::as_array);
                        for (i, x) in a.iter().enumerate() {
                            let e = exts.and_then(|e| e.get(i)).filter(|e| !e.is_null());
                            if x.is_null() && e.is_none() {
                                self.issue(
                                    run,
                                    &codes::EMPTY_VALUE,
                                    &Path::Item(path, key, i),
                                    "null in an array",
                                    None,
                                );
                                continue;
                            }
                            items.push((
                                Node {
                                    value: x,
                                    ext: e,
                                    ty: None,
                                },
                                Path::Item(path, key, i),
                                choice,
                            ));
                        }
                    }
                    (Value::Null, _) if ext.is_some() => {
                        // only the _element part (extensions of a primitive)
                        match ext {
                            Some(Value::Array(a)) => {
                                for (i, e) in a.iter().enumerate() {
                                    if !e.is_null() {
                                        items.push((
                                            Node {
                                                value: &NULL,
                                                ext: Some(e),
                                                ty: None,
                                            },
                                            Path::Item(path, key, i),
                                            choice,
                                        ));
                                    }
                                }
                            }
                            e => items.push((
                                Node {
                                    value: &NULL,
                                    ext: e,
                                    ty: None,
                                },
                                Path::Child(path, key),
                                choice,
                            )),
                        }
                    }
                    (Value::Array(_), false) => {
                        self.issue(
                            run,
                            &codes::WRONG_SHAPE,
                            &Path::Child(path, key),
                            "an array where the element does not repeat",
                            None,
                        );
                    }
                    (_, true) => {
                        self.issue(
                            run,
                            &codes::WRONG_SHAPE,
                            &Path::Child(path, key),
                            "a single value where the element repeats (must be an array)",
                            None,
                        );
                        items.push((
                            Node {
                                value: val,
                                ext,
                                ty: None,
                            },
                            Path::Child(path, key),
                            choice,
                        ));
                    }
                    (_, false) => items.push((
                        Node {
                            value: val,
                            ext,
                            ty: None,
                        },
                        Path::Child(path, key),
                        choice,
                    )),
                }
            }
            let n = items.len();
            if (n as u64) < u64::from(ced.min) {
                self.issue(
                    run,
                    &codes::TOO_FEW,
                    &Path::Child(path, name),
                    &format!(
                        "{} requires at least {} (found {n}) in {}",
                        ced.id, ced.min, kid_sd.url
                    ),
                    None,
                );
            }
            if ced.max.exceeded_by(n) {
                self.issue(
                    run,
                    &codes::TOO_MANY,
                    &Path::Child(path, name),
                    &format!(
                        "{} allows at most {} (found {n}) in {}",
                        ced.id,
                        max_text(ced.max),
                        kid_sd.url
                    ),
                    None,
                );
            }
            for (mut item, ipath, choice) in items.drain(..) {
                let ty = match &choice {
                    Some(suffix) => {
                        let t = ced
                            .types
                            .iter()
                            .find(|t| type_matches_suffix(&t.code, suffix));
                        match t {
                            Some(t) => Some(t.code.as_str()),
                            None => {
                                self.issue(
                                    run,
                                    &codes::BAD_CHOICE_TYPE,
                                    &ipath,
                                    &format!("type {suffix} is not allowed for {}", ced.id),
                                    None,
                                );
                                continue;
                            }
                        }
                    }
                    None => ced.types.first().map(|t| t.code.as_str()),
                };
                item.ty = ty;
                self.value(run, item, kid_sd, d, &ipath, scope);
                typed.push((item, ipath));
            }
            if name == "extension" || name == "modifierExtension" {
                for (item, ipath) in &typed {
                    self.extension_context(run, item.value, node, sd, ed, ipath, scope);
                }
            }
            if ced.slicing.is_some() {
                self.slices(
                    run,
                    &typed,
                    kid_sd,
                    &kid_idx,
                    d,
                    &Path::Child(path, name),
                    scope,
                );
            }
        }
    }

    fn type_sd_for(
        &self,
        node: Node<'_>,
        ed: &ElementDefinition,
    ) -> Option<&'c Arc<StructureDefinition>> {
        let code = node
            .ty
            .or_else(|| ed.types.first().map(|t| t.code.as_str()))?;
        if is_primitive(code) {
            return None;
        }
        if code == "Extension"
            && let Some(url) = node.value.fget("url").and_then(Value::as_str)
            && let Some(sd) = self.profile(url)
        {
            return Some(sd);
        }
        let t = ed.types.iter().find(|t| t.code == code);
        if let Some(p) = t.and_then(|t| t.profiles.first())
            && let Some(sd) = self.profile(p)
        {
            return Some(sd);
        }
        self.type_definition(code)
    }

    fn value<'a>(
        &'a self,
        run: &mut Run<'a>,
        node: Node<'a>,
        sd: &'c Arc<StructureDefinition>,
        ei: usize,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) where
        'c: 'a,
    {
        let ed = &sd.elements[ei];
        let ty = node.ty.unwrap_or("");
        // fixed / pattern
        if let Some((_, f)) = &ed.fixed
            && !node.value.is_null()
            && !fixed_eq(f, node.value)
        {
            self.issue(
                run,
                &codes::FIXED_MISMATCH,
                path,
                &format!(
                    "{} must have the fixed value {} ({})",
                    ed.id,
                    compact(f),
                    sd.url
                ),
                Some(excerpt(node.value)),
            );
        }
        if let Some((_, p)) = &ed.pattern
            && !node.value.is_null()
            && !pattern_matches(p, node.value)
        {
            self.issue(
                run,
                &codes::PATTERN_MISMATCH,
                path,
                &format!(
                    "{} must match the pattern {} ({})",
                    ed.id,
                    compact(p),
                    sd.url
                ),
                Some(excerpt(node.value)),
            );
        }
        if is_primitive(ty) || (ty.is_empty() && !node.value.is_object()) {
            let pty = ty.rsplit('.').next().unwrap_or(ty);
            let pty = match pty {
                "String" => "string",
                "Boolean" => "boolean",
                "Integer" => "integer",
                "Decimal" => "decimal",
                "Date" => "date",
                "DateTime" => "dateTime",
                "Time" => "time",
                other => other,
            };
            if !node.value.is_null() {
                if let Err(why) = primitive::check(pty, node.value) {
                    let code = if why == primitive::PrimitiveError::Empty {
                        &codes::EMPTY_VALUE
                    } else {
                        &codes::BAD_PRIMITIVE
                    };
                    self.issue(
                        run,
                        code,
                        path,
                        &format!("{why} ({})", ed.id),
                        Some(excerpt(node.value)),
                    );
                }
                if let (Some(ml), Some(s)) = (ed.max_length, node.value.as_str())
                    && s.chars().count() > ml as usize
                {
                    self.issue(
                        run,
                        &codes::TOO_LONG,
                        path,
                        &format!("{} allows at most {ml} characters", ed.id),
                        None,
                    );
                }
                if pty == "code" {
                    self.binding(run, node.value, sd, ed, path, ty);
                }
            }
            self.invariants(run, node, sd, ed, path, scope);
            if let Some(ext) = node.ext
                && let Some(Value::Array(exts)) = ext.fget("extension")
            {
                let Some(esd) = self.type_definition("Extension") else {
                    return;
                };
                for (i, e) in exts.iter().enumerate() {
                    let en = Node {
                        value: e,
                        ext: None,
                        ty: Some("Extension"),
                    };
                    let ipath = Path::Item(path, "extension", i);
                    self.extension_context(run, e, node, sd, ed, &ipath, scope);
                    let sd2 = self.type_sd_for(en, &esd.elements[0]).unwrap_or(esd);
                    self.element(run, en, sd2, 0, &ipath, scope);
                }
            }
            return;
        }
        let Some(obj) = node.value.as_object() else {
            self.issue(
                run,
                &codes::WRONG_SHAPE,
                path,
                &format!("{} ({ty}) must be a JSON object", ed.id),
                None,
            );
            return;
        };
        if obj.is_empty() {
            self.issue(run, &codes::EMPTY_VALUE, path, "empty object", None);
            return;
        }
        if ty == "Coding" || ty == "CodeableConcept" {
            self.binding(run, node.value, sd, ed, path, ty);
        }
        if ty == "Reference" {
            self.reference_target(run, node.value, ed, path, scope);
        }
        let is_resource = ty == "Resource"
            || self
                .type_definition(ty)
                .is_some_and(|t| t.kind == "resource");
        if is_resource {
            let profiles: Vec<String> = ed
                .types
                .iter()
                .flat_map(|t| t.profiles.iter().cloned())
                .collect();
            let inner_scope = Scope {
                resource: node.value,
                root: if path.in_contained() {
                    scope.root
                } else {
                    node.value
                },
            };
            let rt = node
                .value
                .fget("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("");
            // Several profiles on one type are alternatives: the resource must conform to
            // one. Prefer those it declares; otherwise try each and keep the best fit.
            let profiles: Vec<String> = profiles
                .into_iter()
                .filter(|p| self.profile(p).is_none_or(|sd| sd.type_name == rt))
                .collect();
            let declared = declared_profiles(node.value);
            let chosen: Vec<String> = if profiles.len() <= 1 {
                profiles
            } else {
                let hit: Vec<String> = profiles
                    .iter()
                    .filter(|p| declared.iter().any(|d| same_canonical(d, p)))
                    .cloned()
                    .collect();
                if !hit.is_empty() {
                    hit.into_iter().take(1).collect()
                } else {
                    let mut best: Option<(usize, String)> = None;
                    for p in &profiles {
                        let mut trial = Run {
                            report: Report::default(),
                            done_constraints: FxSet::default(),
                            spare_sets: Vec::new(),
                            done_resources: FxSet::default(),
                            done_profiles: FxSet::default(),
                            seen: HashSet::new(),
                            bundle: run.bundle,
                            unchecked_vs: BTreeSet::new(),
                        };
                        self.resource(
                            &mut trial,
                            node.value,
                            path,
                            std::slice::from_ref(p),
                            inner_scope,
                        );
                        let errs = trial
                            .report
                            .issues
                            .iter()
                            .filter(|i| i.severity == Severity::Error)
                            .count();
                        if best.as_ref().is_none_or(|(e, _)| errs < *e) {
                            best = Some((errs, p.clone()));
                        }
                    }
                    best.into_iter().map(|(_, p)| p).collect()
                }
            };
            self.resource(run, node.value, path, &chosen, inner_scope);
            return;
        }
        self.element(run, node, sd, ei, path, scope);
    }

    /// An extension whose definition (found by its `url`) lists contexts must be
    /// used on one of them: `element` contexts name a type (or an ancestor type)
    /// of the element holding it, or its path; `extension` contexts the URL of the
    /// extension holding it; `fhirpath` contexts an expression evaluated on the
    /// enclosing resource whose result must include the holding element (an
    /// expression that cannot be evaluated allows the use and says so, V030). A
    /// resource path seen from inside a data type's definition cannot be judged
    /// there and is allowed.
    #[allow(clippy::too_many_arguments)]
    fn extension_context<'a>(
        &'a self,
        run: &mut Run<'a>,
        ext: &Value,
        parent: Node<'_>,
        sd: &StructureDefinition,
        ed: &ElementDefinition,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) {
        let Some(url) = ext.fget("url").and_then(Value::as_str) else {
            return;
        };
        let Some(esd) = self.profile(url) else {
            return;
        };
        if esd.contexts.is_empty() || esd.type_name != "Extension" {
            return;
        }
        let own_type = parent
            .ty
            .or_else(|| ed.types.first().map(|t| t.code.as_str()));
        let full_path = sd.kind == "resource";
        // fhirpath contexts: the holding element is among the nodes the expression
        // selects in the enclosing resource (`None`: the expression cannot be evaluated)
        let not_evaluable: RefCell<Vec<(String, String)>> = RefCell::new(Vec::new());
        let in_fhirpath_context = |expr: &str| -> bool {
            let env = self.env(run.bundle, scope);
            match self.expression(expr).evaluate(scope.resource, None, env) {
                Ok(nodes) => nodes.iter().any(|i| {
                    i.node().is_some_and(|n| {
                        (!parent.value.is_null() && std::ptr::eq(n.value, parent.value))
                            || n.ext
                                .zip(parent.ext)
                                .is_some_and(|(a, b)| std::ptr::eq(a, b))
                    })
                }),
                Err(e) => {
                    not_evaluable.borrow_mut().push((expr.to_owned(), e.0));
                    true
                }
            }
        };
        // `types`: the holding element's type and its ancestors (HumanName, Element),
        // looked up only when a cheaper test does not decide
        let allowed_with = |types: Option<&[&str]>| {
            esd.contexts.iter().any(|(kind, expr)| match kind.as_str() {
                "element" => {
                    let expr = expr.as_str();
                    let expr = expr.strip_suffix(".extension").unwrap_or(expr);
                    expr == "Element"
                        || expr == "Base"
                        || own_type == Some(expr)
                        || types.is_some_and(|t| t.contains(&expr))
                        || expr == ed.path
                        || expr == ed.id
                        || (expr.contains('.')
                            && !full_path
                            && !expr.starts_with(&format!("{}.", sd.type_name)))
                }
                "extension" => {
                    parent.value.fget("url").and_then(Value::as_str) == Some(expr.as_str())
                        || expr == "Extension"
                            && (own_type == Some("Extension")
                                || types.is_some_and(|t| t.contains(&"Extension")))
                }
                // evaluated once (the first pass, without the ancestor types)
                "fhirpath" => types.is_none() && in_fhirpath_context(expr),
                _ => true,
            })
        };
        let allowed = allowed_with(None) || {
            let mut types: Vec<&str> = Vec::new();
            let mut next = own_type.and_then(|t| {
                types.push(t);
                self.type_definition(t)
            });
            for _ in 0..12 {
                let Some(t) = next else { break };
                types.push(t.type_name.as_str());
                next = self.profile(&t.base_definition);
            }
            allowed_with(Some(&types))
        };
        for (expr, why) in not_evaluable.take() {
            self.issue(
                run,
                &codes::EXTENSION_CONTEXT_NOT_EVALUABLE,
                path,
                &format!(
                    "extension {}: context expression {expr} could not be evaluated ({why}); the use was allowed",
                    esd.url
                ),
                None,
            );
        }
        if !allowed {
            let list: Vec<&str> = esd.contexts.iter().map(|(_, e)| e.as_str()).collect();
            self.issue(
                run,
                &codes::EXTENSION_CONTEXT,
                path,
                &format!(
                    "extension {} may be used on {} only, not on {} ({})",
                    esd.url,
                    list.join(" | "),
                    ed.path,
                    sd.url
                ),
                None,
            );
        }
    }

    /// A reference resolved in the Bundle or among contained resources must point
    /// to a resource type its element allows (via `targetProfile`).
    fn reference_target(
        &self,
        run: &mut Run<'_>,
        v: &Value,
        ed: &ElementDefinition,
        path: &Path<'_>,
        scope: Scope<'_>,
    ) {
        let Some(r) = v.fget("reference").and_then(Value::as_str) else {
            return;
        };
        let targets: Vec<&str> = ed
            .types
            .iter()
            .filter(|t| t.code == "Reference")
            .flat_map(|t| t.target_profiles.iter().map(String::as_str))
            .collect();
        if targets.is_empty() {
            return;
        }
        let target = if let Some(id) = r.strip_prefix('#') {
            scope
                .root
                .fget("contained")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.fget("id").and_then(Value::as_str) == Some(id))
                })
        } else {
            run.bundle.and_then(|b| b.get(r))
        };
        let Some(rt) = target
            .and_then(|t| t.fget("resourceType"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let mut allowed = Vec::new();
        for t in &targets {
            match self.profile(t) {
                Some(sd) => {
                    if sd.type_name == rt
                        || sd.type_name == "Resource"
                        || sd.type_name == "DomainResource"
                    {
                        return;
                    }
                    allowed.push(sd.type_name.clone());
                }
                None => return, // a target profile we do not have: cannot judge
            }
        }
        allowed.sort();
        allowed.dedup();
        self.issue(
            run,
            &codes::BAD_REFERENCE_TARGET,
            &Path::Child(path, "reference"),
            &format!(
                "{} may refer to {} only; the target is a {rt}",
                ed.id,
                allowed.join(" | ")
            ),
            None,
        );
    }

    fn invariants<'a>(
        &'a self,
        run: &mut Run<'a>,
        node: Node<'a>,
        sd: &'c Arc<StructureDefinition>,
        ed: &ElementDefinition,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) where
        'c: 'a,
    {
        for c in &ed.constraints {
            if c.expression.is_empty() {
                continue;
            }
            let key = (ptr(node.value), node.ext.map_or(0, ptr), c.fingerprint);
            if !run.done_constraints.insert(key) {
                continue;
            }
            let env = self.env(run.bundle, scope);
            run.report.invariants_evaluated += 1;
            let verdict = if c.key == "ele-1" && c.expression == ELE_1 {
                // evaluated natively (it is on every element): a value, or a child other than id
                if ele_1_holds(node) {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            } else if c.key == "dom-3" && c.expression == DOM_3 {
                // natively: it walks the whole resource once per contained resource
                if dom_3_holds(node.value, scope.resource) {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            } else {
                self.invariant_expression(c.fingerprint, &c.expression)
                    .check_node(node, env)
            };
            match verdict {
                Verdict::Pass => {}
                Verdict::Fail => {
                    let code = if c.severity == "error" {
                        &codes::INVARIANT_FAILED
                    } else {
                        &codes::INVARIANT_WARNING
                    };
                    let human = if c.human.is_empty() {
                        &c.expression
                    } else {
                        &c.human
                    };
                    let msg = format!("invariant {} failed: {human} ({})", c.key, sd.url);
                    match self.invariant_erratum(&sd.url, &c.key, node, env) {
                        Some((er, sev)) => {
                            self.issue_as(run, code, sev, Some(er), path, &msg, None)
                        }
                        None => self.issue(run, code, path, &msg, None),
                    }
                }
                Verdict::NotEvaluable(why) => {
                    run.report.invariants_not_evaluable += 1;
                    self.issue(
                        run,
                        &codes::INVARIANT_NOT_EVALUABLE,
                        path,
                        &format!(
                            "invariant {} could not be evaluated: {why} ({})",
                            c.key, sd.url
                        ),
                        None,
                    );
                }
            }
        }
    }

    /// The active erratum that downgrades a failure of invariant `key` of
    /// `profile`, and the severity it leaves.
    fn invariant_erratum<'a>(
        &self,
        profile: &str,
        key: &str,
        node: Node<'a>,
        env: Env<'a>,
    ) -> Option<(&Erratum, Severity)> {
        for e in &self.errata {
            if e.constraint.as_deref() != Some(key)
                || e.profile.as_deref().is_some_and(|p| p != profile)
            {
                continue;
            }
            match &e.effect {
                Effect::Warning => return Some((e, Severity::Warning)),
                Effect::Info => return Some((e, Severity::Info)),
                Effect::Replace { find, with } => {
                    let Some(c) = self
                        .profile(profile)
                        .into_iter()
                        .flat_map(|sd| sd.elements.iter())
                        .flat_map(|ed| ed.constraints.iter())
                        .find(|c| c.key == key)
                    else {
                        continue;
                    };
                    let fixed = self.expression(&c.expression.replace(find.as_str(), with));
                    if fixed.check_node(node, env) == Verdict::Pass {
                        return Some((e, Severity::Info));
                    }
                }
                Effect::AllowCodes { .. } => {}
            }
        }
        None
    }

    /// The active erratum that accepts the codes of `v` for `value_set`, if all its
    /// codings outside the expansion are codes the erratum allows.
    fn binding_erratum(
        &self,
        profile: &str,
        value_set: &str,
        v: &Value,
        ty: &str,
        exp: &Expansion,
    ) -> Option<(&Erratum, Severity)> {
        for e in &self.errata {
            if e.value_set.as_deref() != Some(value_set)
                || e.profile.as_deref().is_some_and(|p| p != profile)
            {
                continue;
            }
            match &e.effect {
                Effect::Warning => return Some((e, Severity::Warning)),
                Effect::Info => return Some((e, Severity::Info)),
                Effect::AllowCodes { system, codes } => {
                    let mut extended = exp.clone();
                    extended.extend(codes.iter().map(|c| (system.clone(), c.clone())));
                    let ok = match ty {
                        "Coding" => coding_in(v, &extended),
                        "CodeableConcept" => v
                            .fget("coding")
                            .and_then(Value::as_array)
                            .is_some_and(|cs| cs.iter().any(|c| coding_in(c, &extended))),
                        _ => v
                            .as_str()
                            .is_some_and(|code| extended.iter().any(|(_, c)| c == code)),
                    };
                    if ok {
                        return Some((e, Severity::Info));
                    }
                }
                Effect::Replace { .. } => {}
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn binding(
        &self,
        run: &mut Run<'_>,
        v: &Value,
        sd: &StructureDefinition,
        ed: &ElementDefinition,
        path: &Path<'_>,
        ty: &str,
    ) {
        let Some(b) = &ed.binding else {
            return;
        };
        let required = b.strength == "required";
        if !required && (b.strength != "extensible" || self.code_systems.is_none()) {
            return;
        }
        let Some(exp) = self.expand(&b.value_set) else {
            if required {
                run.unchecked_vs.insert(b.value_set.clone());
            }
            self.registry_check(run, v, sd, ed, path, ty, required);
            return;
        };
        if !required {
            return; // extensible, expandable: other codes are allowed
        }
        let ok = match ty {
            "Coding" => coding_in(v, &exp),
            "CodeableConcept" => match v.fget("coding").and_then(Value::as_array) {
                Some(cs) => cs.iter().any(|c| coding_in(c, &exp)),
                None => true,
            },
            _ => match v.as_str() {
                Some(code) => exp.iter().any(|(_, c)| c == code),
                None => true,
            },
        };
        if !ok {
            let msg = format!(
                "code is not in the required value set {} ({} in {})",
                b.value_set, ed.id, sd.url
            );
            match self.binding_erratum(&sd.url, &b.value_set, v, ty, &exp) {
                Some((er, sev)) => self.issue_as(
                    run,
                    &codes::NOT_IN_VALUE_SET,
                    sev,
                    Some(er),
                    path,
                    &msg,
                    Some(excerpt(v)),
                ),
                None => self.issue(run, &codes::NOT_IN_VALUE_SET, path, &msg, Some(excerpt(v))),
            }
        }
    }

    /// Codings under a binding whose value set cannot be expanded, checked against
    /// the code-system registry when one is attached and knows their system: a
    /// code the registry rejects is V029 (an error under a required binding, a
    /// warning under an extensible one). Membership of the value set itself stays
    /// unchecked (V015).
    #[allow(clippy::too_many_arguments)]
    fn registry_check(
        &self,
        run: &mut Run<'_>,
        v: &Value,
        sd: &StructureDefinition,
        ed: &ElementDefinition,
        path: &Path<'_>,
        ty: &str,
        required: bool,
    ) {
        let Some(oracle) = self.code_systems else {
            return;
        };
        let codings: Vec<&Value> = match ty {
            "Coding" => vec![v],
            "CodeableConcept" => v
                .fget("coding")
                .and_then(Value::as_array)
                .map(|cs| cs.iter().collect())
                .unwrap_or_default(),
            _ => return, // a bare code has no system
        };
        for (i, c) in codings.iter().enumerate() {
            let (Some(system), Some(code)) = (
                c.fget("system").and_then(Value::as_str),
                c.fget("code").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !oracle.knows(system) {
                continue;
            }
            if let Validity::Invalid(why) = oracle.check(system, code) {
                let at = Path::Item(path, "coding", i);
                let at = if ty == "Coding" { path } else { &at };
                let msg = format!(
                    "code is not valid in {system}: {why} ({} in {}, {} binding)",
                    ed.id,
                    sd.url,
                    if required { "required" } else { "extensible" }
                );
                let severity = if required {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                self.issue_as(
                    run,
                    &codes::INVALID_IN_CODE_SYSTEM,
                    severity,
                    None,
                    at,
                    &msg,
                    Some(Excerpt::phi_text(code, Phi::Other)),
                );
            }
        }
    }

    /// (system, code) pairs of a value set, when it can be expanded offline.
    fn expand(&self, canonical: &str) -> Option<Rc<Expansion>> {
        if let Some(e) = self.expansions.borrow().get(canonical) {
            return e.clone();
        }
        let mut seen = HashSet::new();
        let r = self.expand_inner(canonical, &mut seen).map(Rc::new);
        self.expansions
            .borrow_mut()
            .insert(canonical.to_owned(), r.clone());
        r
    }

    fn expand_inner(
        &self,
        canonical: &str,
        seen: &mut HashSet<String>,
    ) -> Option<HashSet<(String, String)>> {
        if !seen.insert(canonical.to_owned()) {
            return None;
        }
        let vs = self.conf.value_set(canonical).or_else(|| {
            self.conf
                .value_set(canonical.split('|').next().unwrap_or(canonical))
        })?;
        let mut out = HashSet::new();
        if let Some(contains) = vs
            .fget("expansion")
            .and_then(|e| e.fget("contains"))
            .and_then(Value::as_array)
        {
            collect_contains(contains, &mut out);
            return Some(out);
        }
        let compose = vs.fget("compose")?;
        for inc in compose
            .fget("include")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(self.expand_include(inc, seen)?);
        }
        for exc in compose
            .fget("exclude")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for x in self.expand_include(exc, seen)? {
                out.remove(&x);
            }
        }
        Some(out)
    }

    fn expand_include(
        &self,
        inc: &Value,
        seen: &mut HashSet<String>,
    ) -> Option<HashSet<(String, String)>> {
        let system = inc.fget("system").and_then(Value::as_str);
        if let Some(filters) = inc.fget("filter") {
            // hierarchy filters over a complete code system; anything else cannot be
            // expanded offline
            if inc.fget("concept").is_some() || inc.fget("valueSet").is_some() {
                return None;
            }
            let system = system?;
            let cs = self.conf.code_system(system)?;
            if cs.fget("content").and_then(Value::as_str) != Some("complete") {
                return None;
            }
            let concepts = cs.fget("concept").and_then(Value::as_array)?;
            let mut set: Option<HashSet<(String, String)>> = None;
            for f in filters.as_array()? {
                let prop = f.fget("property").and_then(Value::as_str)?;
                let op = f.fget("op").and_then(Value::as_str)?;
                let value = f.fget("value").and_then(Value::as_str)?;
                if prop != "concept" || !matches!(op, "is-a" | "descendent-of") {
                    return None;
                }
                let root = find_concept(concepts, value)?;
                let mut s = HashSet::new();
                if op == "is-a" {
                    s.insert((system.to_owned(), value.to_owned()));
                }
                if let Some(sub) = root.fget("concept").and_then(Value::as_array) {
                    collect_concepts(system, sub, &mut s);
                }
                set = Some(match set {
                    None => s,
                    Some(prev) => prev.intersection(&s).cloned().collect(),
                });
            }
            return set;
        }
        let mut set: Option<HashSet<(String, String)>> = None;
        if let Some(system) = system {
            let mut s = HashSet::new();
            if let Some(concepts) = inc.fget("concept").and_then(Value::as_array) {
                for c in concepts {
                    if let Some(code) = c.fget("code").and_then(Value::as_str) {
                        s.insert((system.to_owned(), code.to_owned()));
                    }
                }
            } else {
                let cs = self.conf.code_system(system)?;
                if cs
                    .fget("content")
                    .and_then(Value::as_str)
                    .is_some_and(|c| c != "complete")
                {
                    return None;
                }
                collect_concepts(
                    system,
                    cs.fget("concept").and_then(Value::as_array)?,
                    &mut s,
                );
            }
            set = Some(s);
        }
        for vs in inc
            .fget("valueSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let other = self.expand_inner(vs.as_str()?, seen)?;
            set = Some(match set {
                None => other,
                Some(s) => s.intersection(&other).cloned().collect(),
            });
        }
        set
    }

    #[allow(clippy::too_many_arguments)]
    fn slices<'a>(
        &'a self,
        run: &mut Run<'a>,
        items: &[(Node<'a>, Path<'_>)],
        sd: &'c Arc<StructureDefinition>,
        idx: &SdIndex,
        base: usize,
        path: &Path<'_>,
        scope: Scope<'a>,
    ) where
        'c: 'a,
    {
        let bed = &sd.elements[base];
        let Some(slicing) = &bed.slicing else {
            return;
        };
        let Some(slices) = idx.slices.get(base).cloned() else {
            return;
        };
        if slices.is_empty() {
            return;
        }
        let mut counts = vec![0usize; slices.len()];
        let mut undetermined = false;
        let env = self.env(run.bundle, scope);
        // ordered slicing: the highest slice seen so far, and whether an item that
        // matches no slice has been seen (openAtEnd: those come last)
        let mut last_slice: Option<usize> = None;
        let mut unmatched_seen = false;
        for (item, ipath) in items {
            let mut matched = None;
            let mut values_cache = vec![None; slicing.discriminators.len()];
            for (si, &s) in slices.iter().enumerate() {
                match self.slice_matches(
                    *item,
                    env,
                    sd,
                    idx,
                    s,
                    &slicing.discriminators,
                    &mut values_cache,
                ) {
                    Some(true) => {
                        matched = Some(si);
                        break;
                    }
                    Some(false) => {}
                    None => undetermined = true,
                }
            }
            if slicing.ordered && !undetermined {
                match matched {
                    Some(si) if last_slice.is_some_and(|l| si < l) => self.issue(
                        run,
                        &codes::SLICE_OUT_OF_ORDER,
                        ipath,
                        &format!(
                            "slice {} comes after a later slice of {} (ordered) in {}",
                            sd.elements[slices[si]].id, bed.id, sd.url
                        ),
                        None,
                    ),
                    Some(_) if unmatched_seen && slicing.rules == "openAtEnd" => self.issue(
                        run,
                        &codes::SLICE_OUT_OF_ORDER,
                        ipath,
                        &format!(
                            "a sliced item after an item of no slice of {} (openAtEnd) in {}",
                            bed.id, sd.url
                        ),
                        None,
                    ),
                    Some(_) => {}
                    None => unmatched_seen = true,
                }
                if let Some(si) = matched {
                    last_slice = Some(last_slice.map_or(si, |l| l.max(si)));
                }
            }
            match matched {
                Some(si) => {
                    counts[si] += 1;
                    let s = slices[si];
                    let mut it = *item;
                    if let Some(t) = sd.elements[s].types.first()
                        && it.value.fget("resourceType").is_none()
                        && sd.elements[s].types.len() == 1
                    {
                        it.ty = Some(t.code.as_str());
                    }
                    self.value(run, it, sd, s, ipath, scope);
                }
                None => {
                    if slicing.rules == "closed" && !undetermined {
                        self.issue(
                            run,
                            &codes::NO_SLICE,
                            ipath,
                            &format!("matches no slice of {} (closed) in {}", bed.id, sd.url),
                            None,
                        );
                    }
                }
            }
        }
        if undetermined {
            return;
        }
        for (si, &s) in slices.iter().enumerate() {
            let sed = &sd.elements[s];
            let name = sed.slice_name.as_deref().unwrap_or("");
            if (counts[si] as u64) < u64::from(sed.min) {
                self.issue(
                    run,
                    &codes::TOO_FEW,
                    &Path::Slice(path, name),
                    &format!(
                        "slice {} requires at least {} (found {}) in {}",
                        sed.id, sed.min, counts[si], sd.url
                    ),
                    None,
                );
            }
            if sed.max.exceeded_by(counts[si]) {
                self.issue(
                    run,
                    &codes::TOO_MANY,
                    &Path::Slice(path, name),
                    &format!(
                        "slice {} allows at most {} (found {}) in {}",
                        sed.id,
                        max_text(sed.max),
                        counts[si],
                        sd.url
                    ),
                    None,
                );
            }
        }
    }

    /// Fixed / pattern values on the descendants of slice `s` under `dpath`, with
    /// their paths relative to it compiled (`None`: there are none). Cached.
    /// Keyed by (definition, slice, discriminator index): `dpath` is that
    /// discriminator's path.
    fn slice_fixed(
        &self,
        sd: &StructureDefinition,
        s: usize,
        di: usize,
        dpath: &str,
    ) -> Rc<SliceFixed> {
        let key = (sd as *const StructureDefinition as usize, s, di);
        if let Some(v) = self.slice_fixed.borrow().get(&key) {
            return v.clone();
        }
        let sed = &sd.elements[s];
        let base_id = format!("{}.{}", sed.id, if dpath == "$this" { "" } else { dpath });
        let base_id = base_id.trim_end_matches('.');
        let mut out = Vec::new();
        for de in &sd.elements {
            let Some(rel) = de
                .id
                .strip_prefix(base_id)
                .and_then(|r| r.strip_prefix('.'))
            else {
                continue;
            };
            if rel.contains(':') {
                continue;
            }
            let Some((_, w)) = de.fixed.as_ref().or(de.pattern.as_ref()) else {
                continue;
            };
            out.push((self.expression(&rel.replace("[x]", "")), w.clone()));
        }
        let v = Rc::new(if out.is_empty() { None } else { Some(out) });
        self.slice_fixed.borrow_mut().insert(key, v.clone());
        v
    }

    /// The element that fixes discriminator `di` (at `dpath`) of slice `s`: in
    /// `sd`, or in the slice's type profile. Cached per (definition, slice,
    /// discriminator).
    fn slice_target(
        &self,
        sd: &'c Arc<StructureDefinition>,
        idx: &SdIndex,
        s: usize,
        di: usize,
        dpath: &str,
    ) -> Option<(&'c Arc<StructureDefinition>, usize)> {
        let key = (Arc::as_ptr(sd) as usize, s, di);
        if let Some(t) = self.slice_targets.borrow().get(&key) {
            return *t;
        }
        let sed = &sd.elements[s];
        let t = if dpath == "$this" || dpath == "resolve()" {
            Some((sd, s))
        } else {
            let id = format!(
                "{}.{}",
                sed.id,
                dpath
                    .replace(".resolve()", "")
                    .trim_end_matches("resolve()")
            );
            match idx.by_id.get(&id) {
                Some(&k) => Some((sd, k)),
                None => sed
                    .types
                    .first()
                    .and_then(|t| t.profiles.first())
                    .and_then(|p| self.profile(p))
                    .and_then(|psd| {
                        let pid = format!("{}.{}", psd.type_name, dpath);
                        psd.elements
                            .iter()
                            .position(|e| e.id == pid)
                            .map(|k| (psd, k))
                    }),
            }
        };
        self.slice_targets.borrow_mut().insert(key, t);
        t
    }

    /// Does `item` belong to slice element `s`? `None` when it cannot be decided.
    #[allow(clippy::too_many_arguments)]
    fn slice_matches<'a>(
        &'a self,
        item: Node<'a>,
        env: Env<'a>,
        sd: &'c Arc<StructureDefinition>,
        idx: &SdIndex,
        s: usize,
        discriminators: &[(String, String)],
        values_cache: &mut [Option<Option<Vec<&'a Value>>>],
    ) -> Option<bool> {
        if discriminators.is_empty() {
            return None;
        }
        let sed = &sd.elements[s];
        for (di, (dtype, dpath)) in discriminators.iter().enumerate() {
            let dpath = dpath.as_str();
            // the element (in this SD or in the slice's type profile) that fixes the path
            let target_ed: Option<(&ElementDefinition, &Arc<StructureDefinition>)> = self
                .slice_target(sd, idx, s, di, dpath)
                .and_then(|(tsd, k)| tsd.elements.get(k).map(|e| (e, tsd)));
            // the item's values at the path: the same for every slice, computed once
            let slot = values_cache.get_mut(di)?;
            if slot.is_none() {
                *slot = Some(if dpath == "$this" {
                    Some(vec![item.value])
                } else {
                    let e = self.expression(dpath);
                    e.evaluate_node(item, env)
                        .ok()
                        .map(|c| c.iter().filter_map(|i| i.node().map(|n| n.value)).collect())
                });
            }
            let Some(Some(values)) = slot.as_ref() else {
                return None;
            };
            let values: &[&Value] = values;
            match dtype.as_str() {
                "value" | "pattern" => {
                    let (ted, _) = target_ed?;
                    let want = ted.fixed.as_ref().or(ted.pattern.as_ref()).map(|x| &x.1);
                    let want = match want {
                        Some(w) => w,
                        None => {
                            // extension slices: the url is fixed in the extension profile
                            if dpath == "url"
                                && let Some(p) = sed.types.first().and_then(|t| t.profiles.first())
                            {
                                if !values.iter().any(|v| v.as_str() == Some(p.as_str())) {
                                    return Some(false);
                                }
                                continue;
                            }
                            // fixed values on the slice's descendants decide
                            let fixed = self.slice_fixed(sd, s, di, dpath);
                            let Some(fixed) = fixed.as_ref() else {
                                return None;
                            };
                            for (e, w) in fixed {
                                let mut found = false;
                                for v in values {
                                    let n = Node {
                                        value: v,
                                        ext: None,
                                        ty: None,
                                    };
                                    if let Ok(c) = e.evaluate_node(n, env)
                                        && c.iter().any(|i| {
                                            i.node().is_some_and(|n| pattern_matches(w, n.value))
                                        })
                                    {
                                        found = true;
                                    }
                                }
                                if !found {
                                    return Some(false);
                                }
                            }
                            continue;
                        }
                    };
                    if !values.iter().any(|v| pattern_matches(want, v)) {
                        return Some(false);
                    }
                }
                "exists" => {
                    let (ted, _) = target_ed?;
                    let must = ted.min > 0;
                    let must_not = ted.max == Max::N(0);
                    if (must && values.is_empty()) || (must_not && !values.is_empty()) {
                        return Some(false);
                    }
                    if !must && !must_not {
                        return None;
                    }
                }
                "type" => {
                    let types: Vec<&str> = match target_ed {
                        Some((ted, _)) => ted.types.iter().map(|t| t.code.as_str()).collect(),
                        None => return None,
                    };
                    let actual: Vec<&str> = values
                        .iter()
                        .filter_map(|v| v.fget("resourceType").and_then(Value::as_str))
                        .collect();
                    if actual.is_empty() || !actual.iter().any(|a| types.contains(a)) {
                        return Some(false);
                    }
                }
                "profile" => {
                    let (ted, _) = target_ed?;
                    let wanted: Vec<&str> = ted
                        .types
                        .iter()
                        .flat_map(|t| {
                            if dpath.ends_with("resolve()") {
                                &t.target_profiles
                            } else {
                                &t.profiles
                            }
                            .iter()
                            .map(String::as_str)
                        })
                        .collect();
                    if wanted.is_empty() {
                        return None;
                    }
                    let declared = values.iter().any(|v| {
                        v.fget("meta")
                            .and_then(|m| m.fget("profile"))
                            .and_then(Value::as_array)
                            .is_some_and(|ps| {
                                ps.iter().filter_map(Value::as_str).any(|p| {
                                    let p = p.split('|').next().unwrap_or(p);
                                    wanted.iter().any(|w| w.split('|').next() == Some(p))
                                })
                            })
                    });
                    if !declared {
                        return Some(false);
                    }
                }
                _ => return None,
            }
        }
        Some(true)
    }

    /// `urn:uuid` and `#id` references must resolve (one pass, hash lookups).
    fn references(&self, run: &mut Run<'_>, root: &Value, rt: &str) {
        // a document's Composition (its first entry) must have every reference resolved
        // in the Bundle (the document is self-contained)
        let document_composition = rt == "Bundle"
            && root.fget("type").and_then(Value::as_str) == Some("document")
            && root
                .pointer("/entry/0/resource/resourceType")
                .and_then(Value::as_str)
                == Some("Composition");
        let start = run.report.issues.len();
        if rt == "Bundle" {
            let bundle = Path::Root("Bundle");
            for (i, e) in root
                .fget("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(r) = e.fget("resource") {
                    let entry = Path::Item(&bundle, "entry", i);
                    let walk = RefWalk {
                        container: Some(r),
                        in_contained: false,
                        in_composition: document_composition && i == 0,
                    };
                    self.reference_walk(run, r, &Path::Child(&entry, "resource"), walk);
                }
            }
        } else {
            let walk = RefWalk {
                container: Some(root),
                in_contained: false,
                in_composition: false,
            };
            self.reference_walk(run, root, &Path::Root(rt), walk);
        }
        // deterministic order: the reference findings sorted by path
        let start = run.report.issues[start..]
            .iter()
            .position(|i| matches!(i.code.id, "V016" | "V017" | "V021" | "V026"))
            .map_or(run.report.issues.len(), |p| start + p);
        run.report.issues[start..].sort_by(|a, b| a.expression.cmp(&b.expression));
    }

    /// The walk of [`Validator::references`] below `v` (at `path`).
    fn reference_walk<'v>(
        &self,
        run: &mut Run<'_>,
        v: &'v Value,
        path: &Path<'_>,
        walk: RefWalk<'v>,
    ) {
        match v {
            Value::Object(o) => {
                let mut walk = walk;
                if o.fget("resourceType").is_some() && !walk.in_contained {
                    walk.container = Some(v);
                }
                if let Some(Value::String(r)) = o.fget("reference") {
                    self.reference(run, r, path, walk);
                }
                for (k, x) in o {
                    match x {
                        Value::Object(_) => {
                            self.reference_walk(run, x, &Path::Child(path, k), walk)
                        }
                        Value::Array(a) => {
                            let inner = RefWalk {
                                in_contained: walk.in_contained || k == "contained",
                                ..walk
                            };
                            for (i, y) in a.iter().enumerate() {
                                if y.is_object() || y.is_array() {
                                    self.reference_walk(run, y, &Path::Item(path, k, i), inner);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Value::Array(a) => {
                // an array directly in an array (not FHIR, but walked all the same)
                let rendered = path.render();
                for (i, y) in a.iter().enumerate() {
                    if y.is_object() || y.is_array() {
                        let item = format!("{rendered}[{i}]");
                        self.reference_walk(run, y, &Path::Root(&item), walk);
                    }
                }
            }
            _ => {}
        }
    }

    /// One `reference` string found at `path` (the element holding it).
    fn reference(&self, run: &mut Run<'_>, r: &str, path: &Path<'_>, walk: RefWalk<'_>) {
        let bundle = run.bundle;
        let rpath = Path::Child(path, "reference");
        if let Some(id) = r.strip_prefix('#') {
            let ok = id.is_empty()
                || walk
                    .container
                    .and_then(|c| c.fget("contained"))
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.fget("id").and_then(Value::as_str) == Some(id))
                    });
            if !ok {
                self.issue(
                    run,
                    &codes::UNRESOLVED_CONTAINED,
                    &rpath,
                    "no contained resource has this id",
                    Some(Excerpt::text(r)),
                );
            }
        } else if walk.in_composition
            && !r.starts_with("urn:uuid:")
            && !r.starts_with("urn:oid:")
            && bundle.as_ref().is_some_and(|b| b.get(r).is_none())
        {
            self.issue(
                run,
                &codes::DOCUMENT_REFERENCE_UNRESOLVED,
                &rpath,
                "a reference of the document's Composition does not resolve in the Bundle",
                Some(Excerpt::text(r)),
            );
        } else if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
            let ok = bundle.as_ref().is_none_or(|b| b.by_url.contains_key(r));
            if !ok {
                self.issue(
                    run,
                    &codes::UNRESOLVED_REFERENCE,
                    &rpath,
                    "no Bundle entry has this fullUrl",
                    Some(Excerpt::text(r)),
                );
            }
        } else if let Some(b) = &bundle
            && b.get(r).is_none()
            && !r.contains("://")
        {
            self.issue(
                run,
                &codes::REFERENCE_NOT_IN_BUNDLE,
                &rpath,
                "relative reference to no Bundle entry",
                Some(Excerpt::text(r)),
            );
        }
    }
}

/// What the reference walk carries down: the resource whose `contained` a `#id`
/// resolves in, whether the walk is inside a contained resource, and whether it
/// is inside a document's Composition.
#[derive(Clone, Copy)]
struct RefWalk<'v> {
    container: Option<&'v Value>,
    in_contained: bool,
    in_composition: bool,
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

static NULL: Value = Value::Null;

/// The R4 text of invariant ele-1.
const ELE_1: &str = "hasValue() or (children().count() > id.count())";

/// The R4 text of invariant dom-3.
const DOM_3: &str = "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()";

/// dom-3 in one walk: every contained resource with an id is referred to (`#id`)
/// from somewhere in `resource`, or itself refers to its container (`#`). Any
/// string value counts as a reference/canonical/uri/url (the JSON carries no types):
/// a string element holding exactly `#id` would pass where the typed rule fails.
fn dom_3_holds(node: &Value, resource: &Value) -> bool {
    let Some(cs) = node.fget("contained").and_then(Value::as_array) else {
        return true;
    };
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) if s.starts_with('#') => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    strings(resource, &mut refs);
    cs.iter().all(|c| {
        let Some(id) = c.fget("id").and_then(Value::as_str) else {
            return true;
        };
        if refs.iter().any(|r| r.get(1..) == Some(id)) {
            return true;
        }
        let mut own = Vec::new();
        strings(c, &mut own);
        own.contains(&"#")
    })
}

/// `hasValue() or (children().count() > id.count())` without building collections.
fn ele_1_holds(n: Node<'_>) -> bool {
    let has_value = !n.value.is_null() && !n.value.is_object() && !n.value.is_array();
    if has_value {
        return true;
    }
    let non_id_child = |v: &Value| match v {
        Value::Object(o) => o.iter().any(|(k, x)| {
            k != "id"
                && k != "resourceType"
                && !x.is_null()
                && !(x.as_array().is_some_and(|a| a.is_empty()))
        }),
        _ => false,
    };
    non_id_child(n.value) || n.ext.is_some_and(non_id_child)
}

fn declared_profiles(res: &Value) -> Vec<&str> {
    res.fget("meta")
        .and_then(|m| m.fget("profile"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn same_canonical(a: &str, b: &str) -> bool {
    a.split('|').next() == b.split('|').next()
}

fn fixed_eq(f: &Value, v: &Value) -> bool {
    match (f, v) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| fixed_eq(x, y)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| fixed_eq(x, y))
        }
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        _ => f == v,
    }
}

fn max_text(m: Max) -> String {
    match m {
        Max::N(n) => n.to_string(),
        Max::Unbounded => "*".into(),
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        s.chars().take(117).collect::<String>() + "..."
    } else {
        s
    }
}

fn type_matches_suffix(code: &str, suffix: &str) -> bool {
    let mut c = code.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str() == suffix,
        None => false,
    }
}

fn coding_in(c: &Value, exp: &HashSet<(String, String)>) -> bool {
    let code = c.fget("code").and_then(Value::as_str);
    let system = c.fget("system").and_then(Value::as_str);
    match (system, code) {
        (Some(s), Some(k)) => exp.contains(&(s.to_owned(), k.to_owned())),
        (None, Some(k)) => exp.iter().any(|(_, c)| c == k),
        _ => true,
    }
}

fn collect_contains(cs: &[Value], out: &mut HashSet<(String, String)>) {
    for c in cs {
        if let (Some(s), Some(k)) = (
            c.fget("system").and_then(Value::as_str),
            c.fget("code").and_then(Value::as_str),
        ) {
            out.insert((s.to_owned(), k.to_owned()));
        }
        if let Some(sub) = c.fget("contains").and_then(Value::as_array) {
            collect_contains(sub, out);
        }
    }
}

fn find_concept<'v>(cs: &'v [Value], code: &str) -> Option<&'v Value> {
    for c in cs {
        if c.fget("code").and_then(Value::as_str) == Some(code) {
            return Some(c);
        }
        if let Some(found) = c
            .fget("concept")
            .and_then(Value::as_array)
            .and_then(|sub| find_concept(sub, code))
        {
            return Some(found);
        }
    }
    None
}

fn collect_concepts(system: &str, cs: &[Value], out: &mut HashSet<(String, String)>) {
    for c in cs {
        if let Some(k) = c.fget("code").and_then(Value::as_str) {
            out.insert((system.to_owned(), k.to_owned()));
        }
        if let Some(sub) = c.fget("concept").and_then(Value::as_array) {
            collect_concepts(system, sub, out);
        }
    }
}

fn index_bundle(b: &Value) -> BundleIndex<'_> {
    let mut by_url = HashMap::new();
    let mut by_type_id = HashMap::new();
    for e in b
        .fget("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(r) = e.fget("resource") else {
            continue;
        };
        if let Some(u) = e.fget("fullUrl").and_then(Value::as_str) {
            by_url.insert(u, r);
        }
        if let (Some(t), Some(id)) = (
            r.fget("resourceType").and_then(Value::as_str),
            r.fget("id").and_then(Value::as_str),
        ) {
            by_type_id.insert((t, id), r);
        }
    }
    BundleIndex { by_url, by_type_id }
}

#[cfg(test)]
mod tests;
