//! Mappers: pure functions from parsed records and mapping tables to FHIR resources
//! and diagnostics. No I/O, no clock, no randomness: the same input gives the same
//! output, and every emitted coding traces back to the table row that produced it.
//!
//! Layers:
//! - [`config`]: the site configuration (`kakehashi.toml`) and its policies;
//! - [`patient`], [`condition`], [`allergy`], [`observation`], [`medication`]: one parsed SS-MIX2
//!   message → intermediate, FHIR-shaped [`record`]s with lineage, plus
//!   diagnostics (`M…`, [`codes`]) and worklist entries for unmapped codes;
//! - [`message`]: one message → every record it carries, by data type (or why none);
//! - [`assemble`]: one patient's messages → current versions → submission units;
//! - [`unit`](mod@unit): submission units and their R2152 bundle identifier;
//! - [`bundle`]: records → JP_Patient_eCS, JP_Condition_eCS,
//!   JP_AllergyIntolerance_eCS, JP_Observation_LabResult_eCS (fhirbolt R4 types)
//!   and JP_Bundle_CLINS with UUID v5 fullUrls;
//! - [`receipt`]: UKE receipts → links to storage patients, 枝番 / identifier patches, record fates;
//! - [`admission`]: ADT-22/42/52 → inpatient stays (admission, transfers, discharge);
//! - [`time`]: HL7 times → FHIR times with the site's offset;
//! - [`checkup`]: 特定健診 CDA XML records → the eCheckup document Bundle;
//! - [`document`]: document requests + SS-MIX2 records → clinical document Bundles
//!   (診療情報提供書 eReferral; the shared core for 退院時サマリー).
//!
//! ```
//! use mappers::{config::SiteConfig, Context, Input, LabSets, Findings};
//! use parsers::hl7::Hl7File;
//! use terminologies::lookup::Index;
//! let cfg = SiteConfig::parse("[site]\ninstitution_number = \"2213456789\"\nname = \"demo\"\n").unwrap();
//! let index = Index::new(&[]);
//! let sets = LabSets::default();
//! let ctx = Context { config: &cfg, terms: &index, lab_sets: &sets, as_of: "20111231" };
//! let f = Hl7File::parse_str("MSH|^~\\&|||||||ADT^A08|1|P|2.5\rPID|1||42^^^^PI||山田^太郎^^^^^L^I||19650415|F\r");
//! let msg = f.messages().next().unwrap();
//! let mut sink = Findings::default();
//! let p = mappers::patient::map(&ctx, &Input { file: "a", folder_patient_id: "42", message: msg }, &mut sink).unwrap();
//! assert_eq!(p.birth_date.as_deref(), Some("1965-04-15"));
//! // No table maps HL7 0001 `F` here: no gender is invented; it is reported.
//! assert_eq!(p.gender, None);
//! assert!(sink.diagnostics.iter().any(|d| d.code.id == "M020"));
//! ```

#![deny(missing_docs)]

pub mod admission;
pub mod allergy;
pub mod assemble;
pub mod bundle;
pub mod checkup;
pub mod codes;
pub mod condition;
pub mod config;
pub mod document;
pub mod medication;
pub mod message;
pub mod observation;
pub mod patient;
pub mod receipt;
pub mod record;
pub mod time;
pub mod unit;
pub mod uri;

use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location};
use parsers::hl7::{Message, Segment};
use record::{Coding, Lineage};
use std::collections::HashMap;
use terminologies::lookup::{Options, Query, Terminology, Worklist};

/// What every mapper reads: the site configuration, the tables, the lab sets and
/// the as-of date (`YYYYMMDD`, from the CLI or `policy.as_of`; never the clock).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Site configuration.
    pub config: &'a config::SiteConfig,
    /// Mapping tables.
    pub terms: &'a dyn Terminology,
    /// The JP-CLINS CoreLabo / InfectionLabo JLAC10 sets.
    pub lab_sets: &'a LabSets,
    /// As-of date `YYYYMMDD`.
    pub as_of: &'a str,
}

/// One message to map.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The file, as given (locations and lineage).
    pub file: &'a str,
    /// The patient id of the storage folder (or file name), empty if unknown.
    pub folder_patient_id: &'a str,
    /// The parsed message.
    pub message: Message<'a>,
}

/// Where mappers report: diagnostics and the worklist of unmapped keys.
#[derive(Debug, Default)]
pub struct Findings {
    /// Diagnostics, in input order.
    pub diagnostics: Diagnostics,
    /// Unmapped keys.
    pub worklist: Worklist,
}

/// The key of JP_Bundle_CLINS's rule that every Observation names a performer.
const PERFORMER_RULE: &str = "\"observation-needs-performer\"";
/// JP_Bundle_CLINS's invariant key for R6031 (LTS only on infection results).
const LTS_RULE: &str = "\"check-LTS-MemberOf-infectionLabo\"";

/// The ordering person of an XCN field (ORC-12, OBR-16): staff id (XCN-1), name
/// (XCN-2 family, XCN-3 given) and its representation (XCN-15); `None` when the
/// field names nobody.
pub(crate) fn xcn_person(seg: &Segment<'_>, field: u32) -> Option<record::Prescriber> {
    let id = seg.value(field, 1).trim().to_owned();
    let name = [seg.value(field, 2), seg.value(field, 3)]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let representation = match seg.value(field, 15).trim() {
        "I" => Some("IDE"),
        "P" => Some("SYL"),
        _ => None,
    };
    (!id.is_empty() || !name.is_empty()).then_some(record::Prescriber {
        id,
        name,
        representation,
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The JP-CLINS lab sets: JLAC10 17-digit code → (set system, FHIR識別名 display).
#[derive(Clone, Debug, Default)]
pub struct LabSets {
    core: HashMap<String, String>,
    infection: HashMap<String, String>,
    /// Versions of the sets loaded (`system|version`), for the run report.
    pub versions: Vec<String>,
    /// The package's JP_Bundle_CLINS requires every Observation to name a
    /// performer and contain a JP_Practitioner (R9017O / R9019O, JP-CLINS 1.10;
    /// not in 1.5.2): a result without an ordering doctor is then withheld (M055).
    pub performer_required: bool,
    /// The package's JP_Bundle_CLINS allows the LTS (長期保存) tag only on the
    /// designated infection results (R6031, JP-CLINS 1.10; not in 1.5.2): a site's
    /// `policy.lts = ["Observation"]` then tags infection results only.
    pub lts_infection_only: bool,
}

impl LabSets {
    /// Builds the sets from the package's CodeSystem JSON (CoreLabo, InfectionLabo);
    /// the CLI reads the bytes. Unreadable input is reported and contributes nothing.
    pub fn from_codesystems(core: &[u8], infection: &[u8]) -> (LabSets, Diagnostics) {
        let mut sets = LabSets::default();
        let mut diags = Diagnostics::default();
        sets.add(core, false, &mut diags);
        sets.add(infection, true, &mut diags);
        (sets, diags)
    }

    fn add(&mut self, bytes: &[u8], infection: bool, diags: &mut Diagnostics) {
        let (m, d) = terminologies::master::from_codesystem_json(bytes);
        diags.extend(d);
        if let Some(m) = m {
            self.versions.push(format!("{}|{}", m.system, m.version));
            let target = if infection {
                &mut self.infection
            } else {
                &mut self.core
            };
            for (code, display) in m.codes {
                // Group codes (ALB, HBs-AG-RESULT…) are not JLAC10 codes; children are 17 characters.
                if code.len() == 17 {
                    target.insert(code, display);
                }
            }
        }
        self.versions.sort();
    }

    /// Builds the sets from a loaded JP-CLINS package (the JLAC10 CoreLabo and
    /// InfectionLabo CodeSystems, found by URL). A missing set is reported (M061)
    /// and stays empty: its results are then not recognised as set items.
    pub fn from_package(pkg: &fhir::package::Package) -> (LabSets, Diagnostics) {
        let mut sets = LabSets::default();
        let mut diags = Diagnostics::default();
        for (url, infection) in [(uri::CORE_LABO, false), (uri::INFECTION_LABO, true)] {
            let found = pkg.json_resources().find(|(path, bytes)| {
                path.contains("CodeSystem")
                    && serde_json::from_slice::<serde_json::Value>(bytes)
                        .ok()
                        .is_some_and(|v| v.get("url").and_then(|u| u.as_str()) == Some(url))
            });
            match found {
                Some((_, bytes)) => sets.add(bytes, infection, &mut diags),
                None => diags.push(
                    Diagnostic::new(&codes::NO_LAB_SET, "the package lacks a JP-CLINS lab set")
                        .excerpt(Excerpt::text(url)),
                ),
            }
        }
        // The rules are read from the package, not from its version number.
        let bundle_has = |rule: &str| {
            pkg.json_resources().any(|(path, bytes)| {
                path.contains("StructureDefinition")
                    && contains(bytes, uri::BUNDLE_CLINS)
                    && contains(bytes, rule)
            })
        };
        sets.performer_required = bundle_has(PERFORMER_RULE);
        sets.lts_infection_only = bundle_has(LTS_RULE);
        (sets, diags)
    }

    /// Number of JLAC10 codes in the (core, infection) sets.
    pub fn len(&self) -> (usize, usize) {
        (self.core.len(), self.infection.len())
    }

    /// Adds one entry (tests, fixtures).
    pub fn insert(&mut self, infection: bool, jlac10: &str, display: &str) {
        let t = if infection {
            &mut self.infection
        } else {
            &mut self.core
        };
        t.insert(jlac10.into(), display.into());
    }

    /// The CLINS set coding for a JLAC10 code, if it belongs to a set.
    pub fn lookup(&self, jlac10: &str) -> Option<(record::LabKind, Coding)> {
        if let Some(d) = self.core.get(jlac10) {
            return Some((
                record::LabKind::Core,
                Coding::new(uri::CORE_LABO, jlac10, d),
            ));
        }
        self.infection.get(jlac10).map(|d| {
            (
                record::LabKind::Infection,
                Coding::new(uri::INFECTION_LABO, jlac10, d),
            )
        })
    }
}

impl Input<'_> {
    /// Location of a field (component 0 = whole field) with the file set.
    pub fn at(&self, seg: &Segment<'_>, field: u32, comp: u32) -> Location {
        seg.field_location(field, comp).file(self.file)
    }

    /// Lineage of an element taken from a field.
    pub fn lineage(&self, element: &'static str, seg: &Segment<'_>, field: &str) -> Lineage {
        Lineage {
            element,
            file: self.file.to_owned(),
            segment: format!("{}#{}", seg.id(), seg.number()),
            field: field.to_owned(),
        }
    }
}

impl Findings {
    /// Reports a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }
}

/// Converts an HL7 time field; malformed values are reported (M017) and dropped.
pub(crate) fn time(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    field: u32,
    comp: u32,
    sink: &mut Findings,
) -> Option<String> {
    let raw = seg.value(field, comp);
    match time::to_fhir(&raw, &ctx.config.timezone) {
        time::Converted::Empty => None,
        time::Converted::Value(v) => Some(v),
        time::Converted::Malformed => {
            let phi = parsers::hl7::phi_of(seg.id(), field);
            sink.push(
                Diagnostic::new(
                    &codes::BAD_DATE,
                    "not an HL7 date/time; the element is left out",
                )
                .at(input.at(seg, field, comp))
                .excerpt(Excerpt::text(raw.into_owned()).with_phi(phi)),
            );
            None
        }
    }
}

/// A CWE as sent: code, text, v2 coding-system name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cwe {
    pub code: String,
    pub text: String,
    pub name: String,
}

/// Reads a CWE's first triplet (`code^text^system`).
pub(crate) fn cwe(seg: &Segment<'_>, field: u32) -> Cwe {
    Cwe {
        code: seg.value(field, 1).trim().to_owned(),
        text: seg.value(field, 2).trim().to_owned(),
        name: seg.value(field, 3).trim().to_owned(),
    }
}

/// Reads a CWE's alternate triplet (components 4–6).
pub(crate) fn cwe_alt(seg: &Segment<'_>, field: u32) -> Cwe {
    Cwe {
        code: seg.value(field, 4).trim().to_owned(),
        text: seg.value(field, 5).trim().to_owned(),
        name: seg.value(field, 6).trim().to_owned(),
    }
}

/// The outcome of translating one source key.
pub(crate) struct Translated {
    /// Targets (with table rows).
    pub targets: Vec<Coding>,
}

/// Translates `code` of `source_system`; when nothing maps, reports M020 at
/// `at` (field, component) and adds the key to the worklist (unless a reviewer said "no match").
#[allow(clippy::too_many_arguments)]
pub(crate) fn translate(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    at: (u32, u32),
    source_system: &str,
    code: &str,
    specimen: &str,
    display: &str,
    report_unmapped: bool,
    sink: &mut Findings,
) -> Translated {
    let q = Query {
        system: source_system,
        code,
        specimen,
        ..Query::default()
    };
    let opts = Options {
        allow_unreviewed: ctx.config.allow_unreviewed,
    };
    let r = ctx.terms.translate(&q, opts);
    let mut targets = Vec::new();
    for t in r.targets() {
        if t.draft {
            sink.push(
                Diagnostic::new(
                    &codes::DRAFT_MAPPING,
                    format!("target from an unreviewed row ({})", t.lineage()),
                )
                .at(input.at(seg, at.0, at.1))
                .excerpt(Excerpt::text(t.code)),
            );
        }
        targets.push(Coding {
            system: t.system.to_owned(),
            code: t.code.to_owned(),
            display: t.display.to_owned(),
            table_row: Some(t.lineage()),
            draft: t.draft,
        });
    }
    if targets.is_empty() && report_unmapped && !r.is_known_unmatched() {
        let mut key = code.to_owned();
        if !specimen.is_empty() {
            key.push_str(&format!(" specimen={specimen}"));
        }
        let message = if r.pending > 0 {
            format!(
                "only unreviewed rows map this code of {source_system} (tables.allow_unreviewed is off)"
            )
        } else {
            format!("no approved mapping for a code of {source_system}")
        };
        sink.push(
            Diagnostic::new(&codes::UNMAPPED, message)
                .at(input.at(seg, at.0, at.1))
                .excerpt(Excerpt::text(key)),
        );
        sink.worklist.add(&q, display);
    }
    Translated { targets }
}

/// The source system URI of a CWE (reports unknown names / bad shapes).
pub(crate) fn source_system(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    field: u32,
    c: &Cwe,
    sink: &mut Findings,
) -> String {
    let (uri, d) = terminologies::system::source_uri_for_v2(&c.name, &c.code, &ctx.config.site);
    if let Some(d) = d {
        sink.push(d.at(input.at(seg, field, 3)));
    }
    uri
}

/// The encounter class (v3 ActCode) of a message: PV1-2 (HL7 0004) through the
/// `v2-0004` table, else ORC-29 (HL7 0482 order type) through a `v2-0482` table.
/// Unmapped keys go on the worklist; no class is guessed.
pub(crate) fn encounter_class(
    ctx: &Context<'_>,
    input: &Input<'_>,
    sink: &mut Findings,
) -> Option<Coding> {
    let candidates = [
        ("PV1", 2, "http://terminology.hl7.org/CodeSystem/v2-0004"),
        ("ORC", 29, "http://terminology.hl7.org/CodeSystem/v2-0482"),
    ];
    for (id, field, system) in candidates {
        let Some(seg) = input.message.segment(id) else {
            continue;
        };
        let code = seg.value(field, 1).trim().to_owned();
        if code.is_empty() {
            continue;
        }
        let text = seg.value(field, 2).trim().to_owned();
        let t = translate(
            ctx,
            input,
            &seg,
            (field, 1),
            system,
            &code,
            "",
            &text,
            true,
            sink,
        );
        return t.targets.into_iter().next();
    }
    None
}

/// R9013C/R9013O and R9014: a Condition or Observation is submitted only with a
/// contained Encounter (whose class must be mapped, never guessed) and a mapped
/// department. A record that would otherwise be submitted is withheld, and said
/// why at `at` (the record's segment).
pub(crate) fn require_encounter_and_department(
    submission: &mut Option<record::Submission>,
    department: Option<&Coding>,
    class: Option<&Coding>,
    at: Location,
    sink: &mut Findings,
) {
    if *submission != Some(record::Submission::Submit) {
        return;
    }
    if class.is_none() {
        *submission = Some(record::Submission::Withheld("no encounter class (R9013)"));
        sink.push(
            Diagnostic::new(
                &codes::NO_ENCOUNTER_CLASS,
                "PV1-2 and ORC-29 give no mapped class: the contained Encounter cannot be built",
            )
            .at(at),
        );
    } else if department.is_none() {
        *submission = Some(record::Submission::Withheld("no mapped department (R9014)"));
        sink.push(
            Diagnostic::new(
                &codes::NO_DEPARTMENT,
                "ORC-17 names no department the site maps",
            )
            .at(at),
        );
    }
}

/// The department coding for a local department code, if the site maps it.
pub(crate) fn department(ctx: &Context<'_>, local: &str) -> Option<Coding> {
    ctx.config
        .department(local)
        .map(|d| Coding::new(uri::DEPARTMENT, &d.code, &d.display))
}

#[cfg(test)]
pub(crate) use testkit::shared;

#[cfg(test)]
mod tests;
