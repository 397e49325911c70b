//! What the pinned eCheckupReport package requires where its versions differ,
//! read from the package the CLI hands over (its StructureDefinitions, CodeSystems
//! and ValueSets), never from a version number.
//!
//! | rule | read from | 1.1.3 | 1.5.0 |
//! |---|---|---|---|
//! | Bundle profile | the StructureDefinition named `JP_Bundle_eCheckupGeneral` | `…/eCheckup/…` | `…/clins/…` |
//! | Patient profile | that Bundle's `bundle-entry-JP-Patient…` invariant | `JP_Patient_eCS` (eCS) | `JP_Patient_eCheckupGeneral` (clins) |
//! | Bundle.identifier | `Bundle.identifier.system` fixed / pattern; the R2152 invariant | `documentInstance-identifier`, `機関番号-年-番号` | `clins/bundle-identifier`, `機関番号^年^番号` |
//! | name parts | the Patient / Practitioner profile's `name.family` min | required | optional (`text` required) |
//! | what the 受診者 must have | the Patient profile's min of `address` (+ `text`), `gender`, `birthDate` | | |
//! | an unnamed doctor | `Bundle.entry:practitioner` min and `Practitioner.name` min | | |
//! | section codes and displays | the Composition's section slices (`patternCodeableConcept`, closed slicing) | 01990 特定健診任意追加項目セクション | 01990 任意追加項目セクション |
//! | group codes | the `observationGroup-codes` CodeSystem | 貧血 2A000 | 貧血 2A020 |
//! | group member relationship | `hasMember.extension` slices of `JP_ObservationGroup_eCheckupGeneral` (min ≥ 1) | none | `observatioGroupRelationship` COMP / RSON |
//! | insurer number system | `JP_OrganizationInsurer_eCheckupGeneral` `identifier:insurerNumber.system` | `urn:oid:1.2.392.100495.20.3.61` | `…/mhlw/IdSystem/InsurerNumber` |
//! | organization type | `JP_Organization_eCheckupGeneral` `type` binding | organization-type `prov` | report-organization-code `exec-org` / `doc-org` |
//! | report category | `Composition.category.coding` binding and the displays of the package | 10, 40, 90 | 10, 41–44, 60, 70, 80, 99 |

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The Bundle profile's name in every eCheckupReport package.
const BUNDLE_NAME: &str = "JP_Bundle_eCheckupGeneral";
/// The profiles whose URLs did not change between versions.
pub(crate) const COMPOSITION_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Composition_eCheckupGeneral";
pub(crate) const PRACTITIONER_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Practitioner_eCheckupGeneral";
pub(crate) const ORGANIZATION_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Organization_eCheckupGeneral";
pub(crate) const INSURER_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_OrganizationInsurer_eCheckupGeneral";
pub(crate) const GROUP_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_ObservationGroup_eCheckupGeneral";
const GROUP_SYSTEM: &str = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/observationGroup-codes";
const SECTION_SYSTEM: &str = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/section-code";
/// The clins bundle identifier system: its value is `機関番号^年^番号` (R2152).
pub const CLINS_BUNDLE_ID: &str = "http://jpfhir.jp/fhir/clins/bundle-identifier";
/// The JP-CLINS document identifier rule (`医療機関番号10桁^西暦4桁^ID`).
const R2152: &str = "R2152";
/// The codes `JP_Organization_eCheckupGeneral` may bind Organization.type to
/// (report-organization-code): 実施機関, 報告作成機関.
const EXEC_ORG: &str = "exec-org";
const DOC_ORG: &str = "doc-org";

/// A coding the package defines: system, code, display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coded {
    /// Code system URL.
    pub system: String,
    /// Code.
    pub code: String,
    /// Display, when the package gives one.
    pub display: Option<String>,
}

/// The rules of one eCheckupReport package (see the module table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// `name#version` of the package read (for messages).
    pub package: String,
    /// Bundle profile URL.
    pub bundle_profile: String,
    /// Patient profile the Bundle demands.
    pub patient_profile: String,
    /// Bundle.identifier.system.
    pub bundle_identifier_system: String,
    /// The Bundle identifier is `機関番号^年^番号` (R2152), else `機関番号-年-番号`.
    pub caret_identifier: bool,
    /// The Patient profile requires family and given name (an unsplit name cannot be written).
    pub patient_name_parts_required: bool,
    /// The Practitioner profile requires family and given name.
    pub practitioner_name_parts_required: bool,
    /// The Practitioner profile requires a name.
    pub practitioner_name_required: bool,
    /// The Bundle requires a Practitioner entry.
    pub practitioner_required: bool,
    /// Patient elements the profile requires (`address`, `address.text`, `gender`, `birthDate`).
    pub patient_required: BTreeSet<String>,
    /// Composition section codes (section-code) → display, from the section slices' patterns.
    pub sections: BTreeMap<String, Option<String>>,
    /// observationGroup-codes: (code, display), in the package's order.
    pub group_codes: Vec<(String, String)>,
    /// The hasMember extension a group must carry: (URL, allowed codes).
    pub group_relationship: Option<(String, BTreeSet<String>)>,
    /// The insurer number's identifier system.
    pub insurer_system: String,
    /// Organization.type codings for (実施機関, 報告作成機関), when the profile binds them.
    pub organization_types: Option<(Coded, Coded)>,
    /// Report categories (報告区分) the Composition accepts as (system, code), when
    /// the package says.
    pub report_categories: Option<BTreeSet<(String, String)>>,
    /// Displays the package gives: (system, code) → display.
    pub displays: BTreeMap<(String, String), String>,
}

struct Sd {
    url: String,
    name: String,
    elements: Vec<Value>,
}

impl Sd {
    fn element(&self, id: &str) -> Option<&Value> {
        self.elements
            .iter()
            .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
    }

    fn min(&self, id: &str) -> u64 {
        self.element(id)
            .and_then(|e| e.get("min"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn str_at(&self, id: &str, keys: &[&str]) -> Option<String> {
        let e = self.element(id)?;
        keys.iter()
            .find_map(|k| e.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
    }

    fn constraints(&self) -> impl Iterator<Item = &Value> {
        self.elements
            .first()
            .and_then(|e| e.get("constraint"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }
}

fn strip_version(url: &str) -> &str {
    url.split('|').next().unwrap_or(url)
}

/// The first quoted `http…` URL of a FHIRPath expression.
fn quoted_url(expr: &str) -> Option<String> {
    expr.split('\'')
        .skip(1)
        .step_by(2)
        .find(|s| s.starts_with("http"))
        .map(str::to_owned)
}

impl Rules {
    /// Reads the rules from an eCheckupReport package. What the package does not
    /// say keeps the value kakehashi wrote before it read packages (eCheckupReport
    /// 1.1.3's), so a package missing a resource changes nothing silently: the
    /// validator, loaded with the same package, still judges the result.
    pub fn from_package(pkg: &fhir::package::Package) -> Rules {
        let mut sds: Vec<Sd> = Vec::new();
        let mut code_systems: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
        let mut value_sets: BTreeMap<String, Value> = BTreeMap::new();
        let mut displays = BTreeMap::new();
        for (_, bytes) in pkg.json_resources() {
            let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
                continue;
            };
            let url = v
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match v.get("resourceType").and_then(Value::as_str) {
                Some("StructureDefinition") => sds.push(Sd {
                    name: v
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    elements: v
                        .pointer("/snapshot/element")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    url,
                }),
                Some("CodeSystem") => {
                    let mut codes = Vec::new();
                    collect_concepts(v.get("concept"), &mut codes);
                    for (c, d) in &codes {
                        if let Some(d) = d {
                            displays.insert((url.clone(), c.clone()), d.clone());
                        }
                    }
                    code_systems.insert(url, codes);
                }
                Some("ValueSet") => {
                    for inc in v
                        .pointer("/compose/include")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let system = inc.get("system").and_then(Value::as_str).unwrap_or("");
                        for c in inc
                            .get("concept")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let (Some(code), Some(d)) = (
                                c.get("code").and_then(Value::as_str),
                                c.get("display").and_then(Value::as_str),
                            ) {
                                // A CodeSystem's own display wins.
                                displays
                                    .entry((system.to_owned(), code.to_owned()))
                                    .or_insert_with(|| d.to_owned());
                            }
                        }
                    }
                    value_sets.insert(url, v);
                }
                _ => {}
            }
        }
        let sd = |url: &str| sds.iter().find(|s| s.url == url);
        // The (system, code) pairs of the value set bound at element `id` of `d`.
        let bound_codes = |d: &Sd, id: &str| -> Option<BTreeSet<(String, String)>> {
            let vs = d.element(id)?.pointer("/binding/valueSet")?.as_str()?;
            let mut codes = BTreeSet::new();
            expand(strip_version(vs), &value_sets, &code_systems, &mut codes, 0);
            Some(codes)
        };
        let mut r = Rules {
            package: format!("{}#{}", pkg.name, pkg.version),
            displays,
            ..Rules::default()
        };

        // Bundle.
        let bundle = sds.iter().find(|s| {
            s.name == BUNDLE_NAME
                && s.elements
                    .first()
                    .and_then(|e| e.get("path"))
                    .and_then(Value::as_str)
                    == Some("Bundle")
        });
        r.bundle_profile = bundle.map_or_else(
            || {
                "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Bundle_eCheckupGeneral"
                    .into()
            },
            |b| b.url.clone(),
        );
        r.patient_profile = bundle
            .and_then(|b| {
                b.constraints()
                    .filter(|c| {
                        c.get("key")
                            .and_then(Value::as_str)
                            .is_some_and(|k| k.starts_with("bundle-entry-JP-Patient"))
                    })
                    .find_map(|c| {
                        c.get("expression")
                            .and_then(Value::as_str)
                            .and_then(quoted_url)
                    })
            })
            .unwrap_or_else(|| {
                "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS".into()
            });
        r.bundle_identifier_system = bundle
            .and_then(|b| b.str_at("Bundle.identifier.system", &["fixedUri", "patternUri"]))
            .unwrap_or_else(|| {
                "http://jpfhir.jp/fhir/core/IdSystem/documentInstance-identifier".into()
            });
        r.caret_identifier = bundle.is_some_and(|b| {
            b.constraints().any(|c| {
                c.get("human")
                    .and_then(Value::as_str)
                    .is_some_and(|h| h.starts_with(R2152))
            })
        });
        r.practitioner_required = bundle.is_none_or(|b| b.min("Bundle.entry:practitioner") >= 1);

        // Patient.
        let patient = sd(&r.patient_profile);
        r.patient_name_parts_required = patient
            .is_none_or(|p| p.min("Patient.name.family") >= 1 || p.min("Patient.name.given") >= 1);
        for el in ["address", "address.text", "gender", "birthDate"] {
            if patient.is_some_and(|p| p.min(&format!("Patient.{el}")) >= 1) {
                r.patient_required.insert(el.to_owned());
            }
        }

        // Practitioner.
        let practitioner = sd(PRACTITIONER_PROFILE);
        r.practitioner_name_required = practitioner.is_none_or(|p| p.min("Practitioner.name") >= 1);
        r.practitioner_name_parts_required = practitioner.is_some_and(|p| {
            p.min("Practitioner.name.family") >= 1 || p.min("Practitioner.name.given") >= 1
        });

        // Composition: sections and report categories.
        if let Some(c) = sd(COMPOSITION_PROFILE) {
            for e in &c.elements {
                let id = e.get("id").and_then(Value::as_str).unwrap_or("");
                let Some(rest) = id.strip_prefix("Composition.section:") else {
                    continue;
                };
                if !rest.ends_with(".code") || rest.matches('.').count() != 1 {
                    continue;
                }
                for coding in e
                    .pointer("/patternCodeableConcept/coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if coding.get("system").and_then(Value::as_str) == Some(SECTION_SYSTEM)
                        && let Some(code) = coding.get("code").and_then(Value::as_str)
                    {
                        r.sections.insert(
                            code.to_owned(),
                            coding
                                .get("display")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        );
                    }
                }
            }
            r.report_categories =
                bound_codes(c, "Composition.category.coding").filter(|codes| !codes.is_empty());
        }

        // Groups.
        r.group_codes = code_systems
            .get(GROUP_SYSTEM)
            .map(|cs| {
                cs.iter()
                    .map(|(c, d)| (c.clone(), d.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(g) = sd(GROUP_PROFILE) {
            let slice = g.elements.iter().find(|e| {
                e.get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.strip_prefix("Observation.hasMember.extension:"))
                    .is_some_and(|slice| !slice.contains('.'))
                    && e.get("min").and_then(Value::as_u64).unwrap_or(0) >= 1
            });
            let ext_url = slice
                .and_then(|e| e.pointer("/type/0/profile/0"))
                .and_then(Value::as_str)
                .map(|u| strip_version(u).to_owned());
            if let Some(url) = ext_url {
                let codes = sd(&url)
                    .and_then(|x| bound_codes(x, "Extension.value[x]"))
                    .map(|codes| codes.into_iter().map(|(_, c)| c).collect())
                    .unwrap_or_default();
                r.group_relationship = Some((url, codes));
            }
        }

        // Organizations.
        r.insurer_system = sd(INSURER_PROFILE)
            .and_then(|o| {
                o.str_at(
                    "Organization.identifier:insurerNumber.system",
                    &["fixedUri", "patternUri"],
                )
            })
            .unwrap_or_else(|| "urn:oid:1.2.392.100495.20.3.61".into());
        r.organization_types = sd(ORGANIZATION_PROFILE)
            .and_then(|o| bound_codes(o, "Organization.type"))
            .and_then(|codes| {
                let find = |code: &str| {
                    codes.iter().find(|(_, c)| c == code).map(|(s, c)| Coded {
                        system: s.clone(),
                        code: c.clone(),
                        display: r.displays.get(&(s.clone(), c.clone())).cloned(),
                    })
                };
                Some((find(EXEC_ORG)?, find(DOC_ORG)?))
            });
        r
    }

    /// The display the package gives a code, if any.
    pub fn display(&self, system: &str, code: &str) -> Option<&str> {
        self.displays
            .get(&(system.to_owned(), code.to_owned()))
            .map(String::as_str)
    }
}

fn collect_concepts(concepts: Option<&Value>, out: &mut Vec<(String, Option<String>)>) {
    for c in concepts.and_then(Value::as_array).into_iter().flatten() {
        if let Some(code) = c.get("code").and_then(Value::as_str) {
            out.push((
                code.to_owned(),
                c.get("display").and_then(Value::as_str).map(str::to_owned),
            ));
        }
        collect_concepts(c.get("concept"), out);
    }
}

/// The (system, code) pairs of a ValueSet with an extensional compose (concept
/// lists, whole code systems of the package, included value sets).
fn expand(
    url: &str,
    value_sets: &BTreeMap<String, Value>,
    code_systems: &BTreeMap<String, Vec<(String, Option<String>)>>,
    out: &mut BTreeSet<(String, String)>,
    depth: u8,
) {
    let Some(vs) = value_sets.get(url) else {
        return;
    };
    if depth > 4 {
        return;
    }
    for inc in vs
        .pointer("/compose/include")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for inner in inc
            .get("valueSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            expand(
                strip_version(inner),
                value_sets,
                code_systems,
                out,
                depth + 1,
            );
        }
        let Some(system) = inc.get("system").and_then(Value::as_str) else {
            continue;
        };
        match inc.get("concept").and_then(Value::as_array) {
            Some(cs) => {
                for c in cs {
                    if let Some(code) = c.get("code").and_then(Value::as_str) {
                        out.insert((system.to_owned(), code.to_owned()));
                    }
                }
            }
            None if inc.get("filter").is_none() => {
                for (code, _) in code_systems.get(system).into_iter().flatten() {
                    out.insert((system.to_owned(), code.clone()));
                }
            }
            None => {}
        }
    }
}
