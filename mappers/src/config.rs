//! Site configuration (`kakehashi.toml`), parsed from a string (the CLI reads the
//! file). Every setting is read by its dotted key; a missing or malformed setting is
//! an `M00x` diagnostic naming the key, and an unknown key is an error too (a typo
//! must not silently fall back to a default).
//!
//! ```
//! let cfg = mappers::config::SiteConfig::parse(r#"
//! [site]
//! institution_number = "2213456789"
//! name = "demo"
//! "#).unwrap();
//! assert_eq!(cfg.institution_number, "2213456789");
//! // No disclosure source declared: the safe default (tag UNINFORMED) applies.
//! assert!(cfg.policy.disclosure.is_default());
//! ```
//!
//! Defaults (each documented on its field): the storage folder's patient id wins
//! over PID-3; no as-of date (the CLI must give one); no 保険病名 rule; every
//! Condition tagged UNINFORMED; no LTS tag; drug allergies get criticality `high`;
//! only the JP-CLINS core (43 items) and infection results are submitted.

// The private readers return a bare Diagnostic (one per run at most); `parse` boxes it.
#![allow(clippy::result_large_err)]

use crate::codes;
use diagnostics::{Diagnostic, Excerpt, Location};
use std::collections::BTreeMap;
use toml::{Table, Value};

/// A parsed site configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConfig {
    /// `site.institution_number`: 保険医療機関番号, 10 digits (都道府県2 + 点数表1 + 医療機関コード7, R1021).
    pub institution_number: String,
    /// `site.name`: the site key of local code systems (`urn:kakehashi:local:<name>:<v2 name>`).
    pub site: String,
    /// `site.timezone`: offset given to source times without one (default `+09:00`).
    pub timezone: String,
    /// `[departments]`: local department code (as sent, e.g. ORC-17.1) → SS-MIX2 診療科.
    pub departments: BTreeMap<String, Department>,
    /// `tables.files`: mapping tables to load (paths relative to the configuration file).
    pub tables: Vec<String>,
    /// `tables.allow_unreviewed`: also use unreviewed/suggested rows (results marked draft; default false).
    pub allow_unreviewed: bool,
    /// `[policy]`.
    pub policy: Policy,
    /// `[packages]`: the FHIR package sets the site validates and submits under.
    pub packages: Packages,
}

/// `[packages]`: which FHIR packages, at which versions, the site submits under,
/// and where missing ones may be installed from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Packages {
    /// `packages.sources`: where a pinned package missing from the cache may be
    /// installed from, in order: folders of package files (relative to the
    /// configuration file) or package registry / publisher URLs (`https://…`).
    pub sources: Vec<String>,
    /// `[packages.sets]`: set name → `NAME#VERSION` pins in load order. A set named
    /// here replaces kakehashi's built-in set of that name
    /// (`fhir::conformance::DEFAULT_PINS`); the others stay as built in.
    pub sets: Vec<fhir::conformance::PackageSet>,
}

impl Packages {
    /// The sets in force: the site's, then the built-in ones it does not replace.
    pub fn effective_sets(&self) -> Vec<fhir::conformance::PackageSet> {
        let mut out = self.sets.clone();
        for d in fhir::conformance::default_sets() {
            if !out.iter().any(|s| s.name == d.name) {
                out.push(d);
            }
        }
        out
    }
}

/// An SS-MIX2 診療科 (`http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    /// 2-digit SS-MIX2 code.
    pub code: String,
    /// Display (also the department extension's text).
    pub display: String,
}

/// Which patient id wins when the storage folder and PID-3 disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatientIdSource {
    /// The folder (default): SS-MIX2 files the message under this id, and every
    /// other message of the patient is filed there too; PID-3 is reported (M010).
    Folder,
    /// PID-3.1 (for storages whose folders were built from another key).
    Pid3,
}

/// A rule over one source field: it matches when the field's value is one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRule {
    /// Segment id (e.g. `PRB`).
    pub segment: String,
    /// Field number.
    pub field: u32,
    /// Component (0 = whole field).
    pub component: u32,
    /// Values that match.
    pub values: Vec<String>,
}

impl FieldRule {
    /// The rule's path, e.g. `PRB-25.1`.
    pub fn path(&self) -> String {
        if self.component == 0 {
            format!("{}-{}", self.segment, self.field)
        } else {
            format!("{}-{}.{}", self.segment, self.field, self.component)
        }
    }
}

/// Where UNINFORMED (未告知) / UNDELIVERED (未提供) come from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Disclosure {
    /// `policy.disclosure.uninformed`: field rule marking 未告知.
    pub uninformed: Option<FieldRule>,
    /// `policy.disclosure.undelivered`: field rule marking 未提供.
    pub undelivered: Option<FieldRule>,
    /// `policy.disclosure.uninformed_ids`: PRB-4 problem ids declared 未告知.
    pub uninformed_ids: Vec<String>,
    /// `policy.disclosure.undelivered_ids`: PRB-4 problem ids declared 未提供.
    pub undelivered_ids: Vec<String>,
}

impl Disclosure {
    /// True when the site declared no source: every Condition is tagged UNINFORMED
    /// (the safe default), and the run report says so first.
    pub fn is_default(&self) -> bool {
        self.uninformed.is_none()
            && self.undelivered.is_none()
            && self.uninformed_ids.is_empty()
            && self.undelivered_ids.is_empty()
    }
}

/// Criticality policy for AllergyIntolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criticality {
    /// `drug-high` (default): drug allergies `high` (R2011 expects it), others unset.
    DrugHigh,
    /// `from-severity`: IAM-4 SV → `high`, MI/MO → `low`, else unset.
    FromSeverity,
    /// `unassessed`: `unable-to-assess` everywhere.
    Unassessed,
}

/// Which lab results are submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabScope {
    /// `clins-sets` (default): the 43 core items and the infection items only.
    ClinsSets,
    /// `all`: every result (others carry JLAC10 general or the uncoded coding).
    All,
}

/// How receipt カルテ番号 (RE-14) and storage patient ids are compared when
/// receipts are linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KarteZeros {
    /// `strip` (default): leading zeros do not count (`0000001234` = `1234`): the
    /// receipt computer and the storage often pad the same number differently.
    Strip,
    /// `keep`: leading zeros are part of the number (a site whose numbers `0012`
    /// and `12` are different patients).
    Keep,
}

/// LTS (長期保存) tagging.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Lts {
    /// `policy.lts`: resource types tagged LTS (`Condition`, `AllergyIntolerance`, `Observation`).
    /// Where the pinned JP-CLINS allows LTS on the designated infection results only
    /// (1.10's R6031), `Observation` tags those and no other result.
    pub resource_types: Vec<String>,
}

/// Mapping policies (`[policy]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `policy.patient_id`: `folder` (default) or `pid3`.
    pub patient_id: PatientIdSource,
    /// `policy.as_of`: `YYYY-MM-DD`, stored `YYYYMMDD` (the CLI's `--as-of` overrides).
    pub as_of: Option<String>,
    /// `policy.self_pay_plan_types`: IN1-2.1 (JHSD0001) codes that mean 自費.
    pub self_pay_plan_types: Vec<String>,
    /// `policy.claim_only`: field rule marking 保険病名 (none by default).
    pub claim_only: Option<FieldRule>,
    /// `[policy.disclosure]`.
    pub disclosure: Disclosure,
    /// `policy.lts`.
    pub lts: Lts,
    /// `policy.allergy_criticality`.
    pub criticality: Criticality,
    /// `policy.lab_scope`.
    pub lab_scope: LabScope,
    /// `policy.karte_zeros`.
    pub karte_zeros: KarteZeros,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            patient_id: PatientIdSource::Folder,
            as_of: None,
            self_pay_plan_types: Vec::new(),
            claim_only: None,
            disclosure: Disclosure::default(),
            lts: Lts::default(),
            criticality: Criticality::DrugHigh,
            lab_scope: LabScope::ClinsSets,
            karte_zeros: KarteZeros::Strip,
        }
    }
}

/// Why a 医療機関番号 does not follow R1021.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstitutionNumberError {
    /// Not 10 ASCII digits.
    NotTenDigits,
    /// The 都道府県 (digits 1–2) is not 00–49.
    Prefecture,
    /// The 点数表 (digit 3) is not 1, 2 or 3.
    FeeSchedule,
}

impl std::fmt::Display for InstitutionNumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InstitutionNumberError::NotTenDigits => "must be 10 ASCII digits",
            InstitutionNumberError::Prefecture => "都道府県 (digits 1–2) must be 00–49",
            InstitutionNumberError::FeeSchedule => "点数表 (digit 3) must be 1, 2 or 3",
        })
    }
}

impl std::error::Error for InstitutionNumberError {}

/// R1021: `^[0-4][0-9][1-3][0-9]{7}$` (都道府県 01–47 in practice; 点数表 1 医科, 3 歯科…).
pub fn check_institution_number(s: &str) -> Result<(), InstitutionNumberError> {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return Err(InstitutionNumberError::NotTenDigits);
    }
    if !(b'0'..=b'4').contains(&b[0]) {
        return Err(InstitutionNumberError::Prefecture);
    }
    if !(b'1'..=b'3').contains(&b[2]) {
        return Err(InstitutionNumberError::FeeSchedule);
    }
    Ok(())
}

impl SiteConfig {
    /// Parses a configuration; the error names the offending key.
    pub fn parse(text: &str) -> Result<SiteConfig, Box<Diagnostic>> {
        let root: Table = toml::from_str(text).map_err(|e| {
            let mut d = Diagnostic::new(&codes::CONFIG_SYNTAX, e.message().to_owned());
            if let Some(span) = e.span() {
                let line = text
                    .get(..span.start)
                    .map(|s| s.matches('\n').count() as u32 + 1)
                    .unwrap_or(1);
                d = d.at(Location::default().byte(span.start as u64).line(line));
            }
            Box::new(d)
        })?;
        let r = Reader;
        r.config(&root).map_err(Box::new)
    }

    /// Lines the run report prints first (policies a reader must know about).
    pub fn report_notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.policy.disclosure.is_default() {
            v.push(
                "every Condition is tagged UNINFORMED (未告知): the site declares no disclosure source \
                 ([policy.disclosure] in kakehashi.toml); this is the safe default"
                    .to_owned(),
            );
        }
        if self.policy.claim_only.is_none() {
            v.push(
                "no 保険病名 rule (policy.claim_only): every confirmed Condition is submitted"
                    .to_owned(),
            );
        }
        v
    }

    /// The department for a local code.
    pub fn department(&self, local: &str) -> Option<&Department> {
        self.departments.get(local)
    }
}

struct Reader;

type R<T> = Result<T, Diagnostic>;

fn missing(key: &str) -> Diagnostic {
    Diagnostic::new(&codes::CONFIG_MISSING, format!("missing setting `{key}`"))
}

fn bad(key: &str, why: &str) -> Diagnostic {
    Diagnostic::new(&codes::CONFIG_BAD_VALUE, format!("setting `{key}`: {why}"))
}

fn unknown_keys(t: &Table, prefix: &str, known: &[&str]) -> R<()> {
    for k in t.keys() {
        if !known.contains(&k.as_str()) {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            return Err(Diagnostic::new(
                &codes::CONFIG_UNKNOWN_KEY,
                format!("unknown setting `{key}` (known here: {})", known.join(", ")),
            ));
        }
    }
    Ok(())
}

fn table<'t>(t: &'t Table, key: &str, full: &str) -> R<Option<&'t Table>> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Table(x)) => Ok(Some(x)),
        Some(_) => Err(bad(full, "must be a table")),
    }
}

fn string(t: &Table, key: &str, full: &str) -> R<Option<String>> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(full, "must be a string")),
    }
}

fn strings(t: &Table, key: &str, full: &str) -> R<Vec<String>> {
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad(full, "must be a list of strings")),
            })
            .collect(),
        Some(_) => Err(bad(full, "must be a list of strings")),
    }
}

fn boolean(t: &Table, key: &str, full: &str) -> R<Option<bool>> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(full, "must be true or false")),
    }
}

fn one_of<T: Copy>(t: &Table, key: &str, full: &str, choices: &[(&str, T)], default: T) -> R<T> {
    let Some(s) = string(t, key, full)? else {
        return Ok(default);
    };
    choices
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            bad(full, &format!("must be one of {}", names.join(", "))).excerpt(Excerpt::text(s))
        })
}

/// Parses `SEG-F` or `SEG-F.C`.
fn field_path(s: &str) -> Option<(String, u32, u32)> {
    let (seg, rest) = s.split_once('-')?;
    if seg.len() != 3
        || !seg
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return None;
    }
    let (f, c) = match rest.split_once('.') {
        Some((f, c)) => (f, c.parse::<u32>().ok().filter(|c| *c > 0)?),
        None => (rest, 0),
    };
    let f = f.parse::<u32>().ok().filter(|f| *f > 0)?;
    Some((seg.to_owned(), f, c))
}

fn field_rule(t: &Table, key: &str, full: &str) -> R<Option<FieldRule>> {
    let Some(r) = table(t, key, full)? else {
        return Ok(None);
    };
    unknown_keys(r, full, &["field", "values"])?;
    let fkey = format!("{full}.field");
    let path = string(r, "field", &fkey)?.ok_or_else(|| missing(&fkey))?;
    let (segment, field, component) = field_path(&path).ok_or_else(|| {
        bad(&fkey, "must be a field path like PRB-25.1").excerpt(Excerpt::text(path.clone()))
    })?;
    let vkey = format!("{full}.values");
    if !r.contains_key("values") {
        return Err(missing(&vkey));
    }
    let values = strings(r, "values", &vkey)?;
    if values.is_empty() {
        return Err(bad(&vkey, "must list at least one value"));
    }
    Ok(Some(FieldRule {
        segment,
        field,
        component,
        values,
    }))
}

/// `YYYY-MM-DD` → `YYYYMMDD` with a real calendar date.
pub fn parse_iso_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = format!("{}{}{}", s.get(..4)?, s.get(5..7)?, s.get(8..10)?);
    crate::time::valid_date(&digits).then_some(digits)
}

impl Reader {
    fn config(&self, root: &Table) -> R<SiteConfig> {
        unknown_keys(
            root,
            "",
            &["site", "departments", "tables", "policy", "packages"],
        )?;
        let site = table(root, "site", "site")?.ok_or_else(|| missing("site"))?;
        unknown_keys(site, "site", &["institution_number", "name", "timezone"])?;
        let inst = string(site, "institution_number", "site.institution_number")?
            .ok_or_else(|| missing("site.institution_number"))?;
        check_institution_number(&inst).map_err(|why| {
            bad("site.institution_number", &why.to_string()).excerpt(Excerpt::text(inst.clone()))
        })?;
        let name = string(site, "name", "site.name")?.ok_or_else(|| missing("site.name"))?;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "site.name",
                "must be non-empty ASCII letters, digits, - or _",
            )
            .excerpt(Excerpt::text(name)));
        }
        let timezone =
            string(site, "timezone", "site.timezone")?.unwrap_or_else(|| "+09:00".to_owned());
        if !crate::time::valid_offset(&timezone) {
            return Err(bad("site.timezone", "must be an offset like +09:00")
                .excerpt(Excerpt::text(timezone)));
        }

        let mut departments = BTreeMap::new();
        if let Some(d) = table(root, "departments", "departments")? {
            for (local, v) in d {
                let key = format!("departments.{local}");
                let Value::Table(e) = v else {
                    return Err(bad(&key, "must be a table { code, display }"));
                };
                unknown_keys(e, &key, &["code", "display"])?;
                let ckey = format!("{key}.code");
                let code = string(e, "code", &ckey)?.ok_or_else(|| missing(&ckey))?;
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(&ckey, "must be a 2-digit SS-MIX2 診療科 code")
                        .excerpt(Excerpt::text(code)));
                }
                let dkey = format!("{key}.display");
                let display = string(e, "display", &dkey)?.ok_or_else(|| missing(&dkey))?;
                if display.is_empty() {
                    return Err(bad(
                        &dkey,
                        "must not be empty (the department text is mandatory, R9014)",
                    ));
                }
                departments.insert(local.clone(), Department { code, display });
            }
        }

        let (tables, allow_unreviewed) = match table(root, "tables", "tables")? {
            Some(t) => {
                unknown_keys(t, "tables", &["files", "allow_unreviewed"])?;
                (
                    strings(t, "files", "tables.files")?,
                    boolean(t, "allow_unreviewed", "tables.allow_unreviewed")?.unwrap_or(false),
                )
            }
            None => (Vec::new(), false),
        };

        let policy = match table(root, "policy", "policy")? {
            Some(p) => self.policy(p)?,
            None => Policy::default(),
        };
        let packages = self.packages(root)?;
        Ok(SiteConfig {
            institution_number: inst,
            site: name,
            timezone,
            departments,
            tables,
            allow_unreviewed,
            policy,
            packages,
        })
    }

    fn packages(&self, root: &Table) -> R<Packages> {
        let Some(p) = table(root, "packages", "packages")? else {
            return Ok(Packages::default());
        };
        unknown_keys(p, "packages", &["sources", "sets"])?;
        let sources = strings(p, "sources", "packages.sources")?;
        if let Some(s) = sources.iter().find(|s| s.trim().is_empty()) {
            return Err(bad("packages.sources", "must not hold an empty entry")
                .excerpt(Excerpt::text(s.clone())));
        }
        let mut sets = Vec::new();
        if let Some(t) = table(p, "sets", "packages.sets")? {
            for name in t.keys() {
                let key = format!("packages.sets.{name}");
                if name.is_empty() || name.contains('#') || name.contains(',') {
                    return Err(bad(&key, "a set name cannot be empty or hold # or ,"));
                }
                let pins = strings(t, name, &key)?;
                if pins.is_empty() {
                    return Err(bad(&key, "must list at least one NAME#VERSION"));
                }
                let set = fhir::conformance::PackageSet::from_pins(name, &pins)
                    .map_err(|e| bad(&key, &e.to_string()))?;
                sets.push(set);
            }
        }
        Ok(Packages { sources, sets })
    }

    fn policy(&self, p: &Table) -> R<Policy> {
        unknown_keys(
            p,
            "policy",
            &[
                "patient_id",
                "as_of",
                "self_pay_plan_types",
                "claim_only",
                "disclosure",
                "lts",
                "allergy_criticality",
                "lab_scope",
                "karte_zeros",
            ],
        )?;
        let d = Policy::default();
        let patient_id = one_of(
            p,
            "patient_id",
            "policy.patient_id",
            &[
                ("folder", PatientIdSource::Folder),
                ("pid3", PatientIdSource::Pid3),
            ],
            d.patient_id,
        )?;
        let as_of = match string(p, "as_of", "policy.as_of")? {
            None => None,
            Some(s) => Some(parse_iso_date(&s).ok_or_else(|| {
                bad("policy.as_of", "must be a date YYYY-MM-DD").excerpt(Excerpt::text(s))
            })?),
        };
        let self_pay_plan_types = strings(p, "self_pay_plan_types", "policy.self_pay_plan_types")?;
        let claim_only = field_rule(p, "claim_only", "policy.claim_only")?;
        let disclosure = match table(p, "disclosure", "policy.disclosure")? {
            None => Disclosure::default(),
            Some(t) => {
                unknown_keys(
                    t,
                    "policy.disclosure",
                    &[
                        "uninformed",
                        "undelivered",
                        "uninformed_ids",
                        "undelivered_ids",
                    ],
                )?;
                Disclosure {
                    uninformed: field_rule(t, "uninformed", "policy.disclosure.uninformed")?,
                    undelivered: field_rule(t, "undelivered", "policy.disclosure.undelivered")?,
                    uninformed_ids: strings(
                        t,
                        "uninformed_ids",
                        "policy.disclosure.uninformed_ids",
                    )?,
                    undelivered_ids: strings(
                        t,
                        "undelivered_ids",
                        "policy.disclosure.undelivered_ids",
                    )?,
                }
            }
        };
        let lts = Lts {
            resource_types: strings(p, "lts", "policy.lts")?,
        };
        for t in &lts.resource_types {
            if !["Condition", "AllergyIntolerance", "Observation"].contains(&t.as_str()) {
                return Err(bad(
                    "policy.lts",
                    "entries must be Condition, AllergyIntolerance or Observation",
                )
                .excerpt(Excerpt::text(t.clone())));
            }
        }
        let criticality = one_of(
            p,
            "allergy_criticality",
            "policy.allergy_criticality",
            &[
                ("drug-high", Criticality::DrugHigh),
                ("from-severity", Criticality::FromSeverity),
                ("unassessed", Criticality::Unassessed),
            ],
            d.criticality,
        )?;
        let lab_scope = one_of(
            p,
            "lab_scope",
            "policy.lab_scope",
            &[("clins-sets", LabScope::ClinsSets), ("all", LabScope::All)],
            d.lab_scope,
        )?;
        let karte_zeros = one_of(
            p,
            "karte_zeros",
            "policy.karte_zeros",
            &[("strip", KarteZeros::Strip), ("keep", KarteZeros::Keep)],
            d.karte_zeros,
        )?;
        Ok(Policy {
            patient_id,
            as_of,
            self_pay_plan_types,
            claim_only,
            disclosure,
            lts,
            criticality,
            lab_scope,
            karte_zeros,
        })
    }
}

#[cfg(test)]
mod tests;
