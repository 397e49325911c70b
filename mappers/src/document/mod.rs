//! Clinical document bundles (JP-CLINS `document` Bundles): the shared core and
//! the 診療情報提供書 (eReferral) builder. Pure: no I/O, no clock; every fullUrl is
//! a UUID v5 of the document key and the entry's source key.
//!
//! The core, shared by every kind:
//!
//! - [`request`]: the document request (TOML) → [`request::DocumentRequest`];
//! - [`Sources`]: one patient's current SS-MIX2 records (what
//!   [`crate::assemble::assemble`] gives), the structured side of a document;
//! - [`Doc`]: one document being built — its key (`機関番号^年^document_id`, also
//!   Bundle.identifier), the Patient fullUrl, the entries in bundle order, the
//!   lineage of each entry, the accounting of source records and the diagnostics;
//!   [`Doc::patient`], [`Doc::organization`], [`Doc::practitioner`],
//!   [`Doc::encounter`] add the request's parties; [`Doc::condition`],
//!   [`Doc::allergy`], [`Doc::observation`], [`Doc::medication`] add a source
//!   record when its mapper submits it (else count it as withheld);
//!   [`Doc::attachment`] adds a PDF; [`Doc::add`] adds any other resource a kind
//!   builds itself; [`Doc::left_out`] counts a record a kind leaves out;
//! - [`section`] / [`empty_section`] / [`narrative`]: Composition sections with
//!   XHTML text (`status` `additional`, as the profiles fix it);
//! - [`DocType`] + [`Doc::finish`]: the Composition (type, title, category, event,
//!   version extension, identifier, author, custodian) first, then the entries, in
//!   a Bundle of type `document` with identifier and timestamp.
//!
//! A kind's builder ([`referral::build`]) decides which sections exist and which
//! records go where; see its module for the eReferral rules.

pub mod codes;
pub mod discharge;
#[cfg(test)]
mod fixtures;
pub mod referral;
pub mod request;
pub mod summary;
#[cfg(test)]
mod tests;

use crate::assemble::Assembled;
use crate::bundle;
use crate::config::SiteConfig;
use crate::record::{
    AllergyRecord, ConditionRecord, Lineage, MedicationRecord, ObservationRecord, PatientRecord,
    Submission,
};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, Phi};
use fhir::model::types::{
    Address, Attachment, ContactPoint, Extension, HumanName, Identifier, Meta, Narrative,
    Reference, Xhtml,
};
use fhir::model::{
    Bundle, Composition, CompositionSection, DocumentReference, Encounter, Organization,
    Practitioner, build, id, resources,
};
use request::{DocumentRequest, EncounterSpec, Person};

/// JP_Patient_eCS.
pub const PATIENT_PROFILE: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS";
/// JP_Organization_eCS.
pub const ORGANIZATION_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS";
/// JP_Practitioner_eCS.
pub const PRACTITIONER_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Practitioner_eCS";
/// JP_Encounter_eCS.
pub const ENCOUNTER_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Encounter_eCS";
/// JP_DocumentReference_eCS.
pub const DOCUMENT_REFERENCE_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_DocumentReference_eCS";
/// The CodeSystem of section codes.
pub const SECTION_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/document-section";
/// doc-typecodes.
pub const DOC_TYPE_SYSTEM: &str = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes";
/// doc-subtypecodes.
pub const DOC_SUBTYPE_SYSTEM: &str = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-subtypecodes";
/// Bundle.identifier system.
pub const BUNDLE_ID_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/bundle-identifier";
const RESOURCE_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier";
const INSTITUTION_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no";
/// JP Core 医療機関内の職員番号: this prefix + the 10-digit institution number.
const STAFF_ID_PREFIX: &str = "urn:oid:1.2.392.100495.20.3.41.1";
const VERSION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber";
const REPRESENTATION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
const DEPARTMENT_EXT: &str =
    "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department";
const DEPARTMENT_SYSTEM: &str = "http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// One patient's current records from the storage (the structured sources).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The patient (current ADT-00), if any.
    pub patient: Option<PatientRecord>,
    /// Conditions, in unit order.
    pub conditions: Vec<ConditionRecord>,
    /// Allergies, in unit order.
    pub allergies: Vec<AllergyRecord>,
    /// Lab results, in unit order.
    pub observations: Vec<ObservationRecord>,
    /// Prescription lines (current versions), in order.
    pub medications: Vec<MedicationRecord>,
    /// Inpatient stays from ADT-22/42/52 ([`crate::admission::stays`]), in
    /// admission order (discharge summaries).
    pub stays: Vec<crate::admission::Stay>,
    /// The discharge summary's section codes as the pinned package's
    /// JP_Composition_eDischargeSummary fixes them ([`SectionCodes::from_package`];
    /// JP-CLINS 1.10 corrected 362 / 372 / 552 / 642 to 360 / 370 / 550 / 640).
    pub discharge_sections: SectionCodes,
}

/// The section codes a document profile fixes, by slice name
/// (`presentIllnessSection` → `360`), read from the package: the package, not a
/// version number, says which code a section carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionCodes {
    by_slice: std::collections::BTreeMap<String, String>,
}

impl SectionCodes {
    /// The fixed `code.coding.code` of each sub-section slice of the profile
    /// `profile_url` in `pkg` (empty when the package lacks the profile).
    pub fn from_package(pkg: &fhir::package::Package, profile_url: &str) -> SectionCodes {
        let mut by_slice = std::collections::BTreeMap::new();
        let needle = format!("\"{profile_url}\"");
        for (path, bytes) in pkg.json_resources() {
            if !path.contains("StructureDefinition")
                || !bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                continue;
            };
            if v.get("url").and_then(|u| u.as_str()) != Some(profile_url) {
                continue;
            }
            let elements = v
                .pointer("/snapshot/element")
                .and_then(|e| e.as_array())
                .cloned()
                .unwrap_or_default();
            for e in elements {
                let Some(id) = e.get("id").and_then(|i| i.as_str()) else {
                    continue;
                };
                let Some(rest) = id.strip_suffix(".code.coding.code") else {
                    continue;
                };
                let Some(slice) = rest.rsplit(".section:").next().filter(|s| !s.contains('.'))
                else {
                    continue;
                };
                if let Some(code) = e.get("fixedCode").and_then(|c| c.as_str()) {
                    by_slice.insert(slice.to_owned(), code.to_owned());
                }
            }
        }
        SectionCodes { by_slice }
    }

    /// The code of `slice`, else `fallback` (a table read from no package).
    pub fn code<'a>(&'a self, slice: &str, fallback: &'a str) -> &'a str {
        self.by_slice.get(slice).map_or(fallback, String::as_str)
    }
}

impl Sources {
    /// The records of an assembled patient.
    pub fn from_assembled(a: &Assembled) -> Sources {
        let mut s = Sources {
            patient: a.patient.clone(),
            ..Default::default()
        };
        for u in &a.units {
            s.conditions.extend(u.conditions.iter().cloned());
            s.allergies.extend(u.allergies.iter().cloned());
            s.observations.extend(u.observations.iter().cloned());
        }
        s.medications = a.medications.iter().map(|(_, m)| m.clone()).collect();
        s
    }
}

/// What a kind fixes in its Composition and Bundle.
#[derive(Clone, Copy, Debug)]
pub struct DocType {
    /// Bundle profile (written with `|1`, as the package examples do).
    pub bundle_profile: &'static str,
    /// Composition profile (written with `|1`).
    pub composition_profile: &'static str,
    /// doc-typecodes code (`57133-1` 診療情報提供書, `18842-5` 退院時サマリー).
    pub type_code: &'static str,
    /// Its display, also the title.
    pub title: &'static str,
    /// Composition.event.code.text.
    pub event_text: &'static str,
}

/// One source record's fate in a document (the accounting lines).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tally {
    /// Resource type.
    pub resource: &'static str,
    /// `included (section 340)`, `withheld: …`, `outside the period` ….
    pub outcome: String,
}

/// One entry's lineage: its fullUrl, resource type and source locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryLineage {
    /// The entry's fullUrl.
    pub full_url: String,
    /// Resource type.
    pub resource: &'static str,
    /// Where it came from (empty for resources built from the request).
    pub lineage: Vec<Lineage>,
    /// Table rows used (`table@version#row`).
    pub rows: Vec<String>,
    /// `request` for resources built from the request, else `storage`.
    pub origin: &'static str,
}

/// A built document.
#[derive(Debug)]
pub struct DocumentBundle {
    /// The Bundle (validate it before writing).
    pub bundle: Bundle,
    /// Bundle.identifier (`機関番号^年^document_id`).
    pub identifier: String,
    /// Lineage of every entry, in bundle order (the Composition excluded).
    pub lineage: Vec<EntryLineage>,
    /// Every source record with its fate, in source order.
    pub tally: Vec<Tally>,
    /// Mapping diagnostics.
    pub diagnostics: Diagnostics,
}

impl DocumentBundle {
    /// The Composition (the first entry), for what one document type sets after
    /// the shared core built it.
    pub(crate) fn composition_mut(&mut self) -> Option<&mut Composition> {
        match self.bundle.entry.first_mut()?.resource.as_mut()? {
            fhir::model::Resource::Composition(c) => Some(&mut **c),
            _ => None,
        }
    }
}

/// A document being built.
pub struct Doc<'a> {
    /// The request.
    pub request: &'a DocumentRequest,
    /// The site.
    pub config: &'a SiteConfig,
    /// `機関番号^年^document_id`: Bundle.identifier and the key of every fullUrl.
    pub key: String,
    /// The Patient's fullUrl.
    pub patient_url: String,
    /// `meta.lastUpdated` of every resource: the issue time.
    pub last_updated: String,
    /// Entries after the Composition, in bundle order.
    pub entries: Vec<resources::BundleEntry>,
    /// Lineage of the entries.
    pub lineage: Vec<EntryLineage>,
    /// Accounting of source records.
    pub tally: Vec<Tally>,
    /// Diagnostics.
    pub diagnostics: Diagnostics,
}

/// The XHTML narrative of free text: `<div xmlns=…>` with the text escaped and
/// line breaks as `<br/>` (the text's own characters are kept as written).
pub fn narrative(text: &str) -> Narrative {
    let mut div = format!("<div xmlns=\"{XHTML_NS}\">");
    let lines: Vec<&str> = text.trim().lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            div.push_str("<br/>");
        }
        for ch in line.chars() {
            match ch {
                '&' => div.push_str("&amp;"),
                '<' => div.push_str("&lt;"),
                '>' => div.push_str("&gt;"),
                '"' => div.push_str("&quot;"),
                c if c.is_control() && c != '\t' => {}
                c => div.push(c),
            }
        }
    }
    div.push_str("</div>");
    Narrative {
        status: "additional".into(),
        div: Xhtml {
            value: div,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A section with its code (`document-section`), title, optional text and entries.
pub fn section(
    code: &str,
    display: &str,
    title: &str,
    text: Option<&str>,
    entry: Vec<Reference>,
) -> CompositionSection {
    CompositionSection {
        title: Some(title.into()),
        code: Some(Box::new(build::concept(
            SECTION_SYSTEM,
            code,
            Some(display),
        ))),
        text: text
            .filter(|t| !t.trim().is_empty())
            .map(|t| Box::new(narrative(t))),
        entry,
        ..Default::default()
    }
}

/// A required section with nothing to say: no text, no entry, emptyReason
/// `unavailable` (list-empty-reason).
pub fn empty_section(code: &str, display: &str, title: &str) -> CompositionSection {
    CompositionSection {
        empty_reason: Some(Box::new(build::concept(
            EMPTY_REASON,
            "unavailable",
            Some("Unavailable"),
        ))),
        ..section(code, display, title, None, Vec::new())
    }
}

fn meta(profile: &str, last_updated: &str) -> Option<Box<Meta>> {
    Some(Box::new(Meta {
        last_updated: Some(last_updated.into()),
        ..build::meta_with_profile(&[profile])
    }))
}

/// Family and given name split at the first space (ASCII or U+3000).
fn split_name(name: &str) -> (String, Option<String>) {
    let t = name.trim();
    match t.split_once([' ', '\u{3000}']) {
        Some((f, g)) if !f.trim().is_empty() && !g.trim().is_empty() => {
            (f.trim().to_owned(), Some(g.trim().to_owned()))
        }
        _ => (t.to_owned(), None),
    }
}

fn department_ext(d: &request::CodeDisplay) -> Extension {
    build::extension_value_codeable_concept(
        DEPARTMENT_EXT,
        build::concept(DEPARTMENT_SYSTEM, &d.code, Some(&d.display)),
    )
}

impl<'a> Doc<'a> {
    /// Starts a document: the key, the Patient fullUrl and the issue time.
    pub fn new(request: &'a DocumentRequest, config: &'a SiteConfig) -> Doc<'a> {
        let key = format!(
            "{}^{}^{}",
            config.institution_number,
            request.issue_year(),
            request.document_id
        );
        let patient_url = bundle::patient_url(&key);
        Doc {
            request,
            config,
            key,
            patient_url,
            last_updated: request.issued.clone(),
            entries: Vec::new(),
            lineage: Vec::new(),
            tally: Vec::new(),
            diagnostics: Diagnostics::default(),
        }
    }

    /// No document: the request is of another kind than `what` (`M310` at `kind`).
    pub fn kind_mismatch(mut self, what: &str) -> Diagnostics {
        self.diagnostics.push(
            Diagnostic::new(
                &codes::KIND_MISMATCH,
                format!(
                    "the request is a {} request, not {what}",
                    self.request.kind.as_str()
                ),
            )
            .at(Location::default().element("kind")),
        );
        self.diagnostics
    }

    /// A fullUrl derived from the document key and `parts`.
    pub fn url(&self, parts: &[&[u8]]) -> String {
        let mut all: Vec<&[u8]> = vec![self.key.as_bytes()];
        all.extend_from_slice(parts);
        id::urn_uuid(&all)
    }

    fn count(&mut self, resource: &'static str, outcome: impl Into<String>) {
        self.tally.push(Tally {
            resource,
            outcome: outcome.into(),
        });
    }

    /// Adds an entry (in bundle order) with its lineage (empty: built from the
    /// request) and the table rows it used.
    pub fn add(
        &mut self,
        url: &str,
        resource: impl fhir::model::IntoResource,
        kind: &'static str,
        lineage: Vec<Lineage>,
        rows: Vec<String>,
    ) {
        self.entries.push(build::bundle_entry(url, resource));
        self.lineage.push(EntryLineage {
            full_url: url.to_owned(),
            resource: kind,
            origin: if lineage.is_empty() {
                "request"
            } else {
                "storage"
            },
            lineage,
            rows,
        });
    }

    /// Adds the Patient (JP_Patient_eCS) from the storage; `false` (with `M303` /
    /// `M304`) when there is no current, submittable patient record.
    pub fn patient(&mut self, p: Option<&PatientRecord>) -> bool {
        let Some(p) = p else {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::UNKNOWN_PATIENT,
                    "no current ADT-00 for the requested patient in the storage",
                )
                .at(Location::default().element("patient"))
                .excerpt(Excerpt::phi_text(self.request.patient.clone(), Phi::Other)),
            );
            return false;
        };
        if let Some(Submission::Withheld(reason)) = &p.submission {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::PATIENT_WITHHELD,
                    format!("patient record withheld: {reason}"),
                )
                .at(Location::default().element("patient")),
            );
            return false;
        }
        let r = bundle::patient(p, self.config, &self.last_updated);
        let url = self.patient_url.clone();
        self.add(&url, r, "Patient", p.lineage.clone(), Vec::new());
        self.count("Patient", "included (Composition.subject)");
        true
    }

    /// An Organization (JP_Organization_eCS) from the request; returns its fullUrl.
    /// The same institution number gives the same entry (added once).
    pub fn organization(&mut self, o: &request::Organization) -> String {
        let url = self.url(&[
            b"Organization",
            o.institution_number.as_bytes(),
            o.department
                .as_ref()
                .map(|d| d.code.as_bytes())
                .unwrap_or_default(),
        ]);
        if self.lineage.iter().any(|l| l.full_url == url) {
            return url;
        }
        let r = Organization {
            meta: meta(ORGANIZATION_PROFILE, &self.last_updated),
            extension: o.department.iter().map(department_ext).collect(),
            identifier: vec![build::identifier(INSTITUTION_ID, &o.institution_number)],
            r#type: vec![build::concept(
                "http://terminology.hl7.org/CodeSystem/organization-type",
                "prov",
                None,
            )],
            name: Some(o.name.as_str().into()),
            telecom: o
                .phone
                .iter()
                .map(|p| ContactPoint {
                    system: Some("phone".into()),
                    value: Some(p.as_str().into()),
                    ..Default::default()
                })
                .collect(),
            address: match (&o.address, &o.postal_code) {
                (Some(text), postal) => vec![Address {
                    text: Some(text.as_str().into()),
                    postal_code: postal.as_deref().map(Into::into),
                    country: Some("JP".into()),
                    ..Default::default()
                }],
                // address.text is 1..1 when an address is sent: a postcode alone is not sent.
                (None, _) => Vec::new(),
            },
            ..Default::default()
        };
        self.add(&url, r, "Organization", Vec::new(), Vec::new());
        url
    }

    /// A Practitioner (JP_Practitioner_eCS) from the request; `key` names the
    /// request field (for diagnostics); `institution` scopes the staff id.
    pub fn practitioner(&mut self, p: &Person, key: &str, institution: &str) -> String {
        let url = self.url(&[b"Practitioner", key.as_bytes(), p.name.as_bytes()]);
        let mut name = Vec::new();
        for (text, repr) in [(Some(&p.name), "IDE"), (p.kana.as_ref(), "SYL")] {
            let Some(text) = text else { continue };
            let (family, given) = split_name(text);
            if given.is_none() {
                self.diagnostics.push(
                    Diagnostic::new(
                        &codes::NAME_NOT_SPLIT,
                        "name has no space between family and given name",
                    )
                    .at(Location::default().element(key.to_owned()))
                    .excerpt(Excerpt::phi_text(text.clone(), Phi::Name)),
                );
            }
            let text = match &given {
                Some(g) => format!("{family} {g}"),
                None => family.clone(),
            };
            name.push(HumanName {
                extension: vec![build::extension_value_code(REPRESENTATION_EXT, repr)],
                r#use: Some("official".into()),
                text: Some(text.as_str().into()),
                family: Some(family.as_str().into()),
                given: given.map(|g| vec![g.as_str().into()]).unwrap_or_default(),
                ..Default::default()
            });
        }
        let identifier: Vec<Identifier> =
            p.id.iter()
                .map(|i| build::identifier(&format!("{STAFF_ID_PREFIX}{institution}"), i))
                .collect();
        let r = Practitioner {
            meta: meta(PRACTITIONER_PROFILE, &self.last_updated),
            identifier,
            name,
            ..Default::default()
        };
        self.add(&url, r, "Practitioner", Vec::new(), Vec::new());
        url
    }

    /// An Encounter (JP_Encounter_eCS) from the request's `[encounter]`, with
    /// `reason` as reasonCode text when given; `role` keeps the fullUrls of
    /// several Encounters apart (`visit`, `purpose`).
    pub fn encounter(&mut self, e: &EncounterSpec, role: &str, reason: Option<&str>) -> String {
        let url = self.url(&[b"Encounter", role.as_bytes()]);
        let display = request::ENCOUNTER_CLASSES
            .iter()
            .find(|(k, _)| *k == e.class)
            .map(|(_, d)| *d)
            .unwrap_or_default();
        let class = build::coding(ACT_CODE, &e.class, Some(display));
        let r = Encounter {
            meta: meta(ENCOUNTER_PROFILE, &self.last_updated),
            identifier: e
                .id
                .iter()
                .map(|i| build::identifier(RESOURCE_ID, i))
                .collect(),
            status: "finished".into(),
            class: Box::new(class),
            period: e
                .start
                .as_deref()
                .map(|s| Box::new(build::period(Some(s), e.end.as_deref()))),
            reason_code: reason.map(build::text_concept).into_iter().collect(),
            ..Default::default()
        };
        self.add(&url, r, "Encounter", Vec::new(), Vec::new());
        url
    }

    /// Adds a Condition when its mapper submits it; its fullUrl, or `None`
    /// (counted as withheld).
    pub fn condition(&mut self, c: &ConditionRecord, section: &str) -> Option<String> {
        let Some(r) = bundle::condition(c, self.config, &self.patient_url, &self.last_updated)
        else {
            self.withheld("Condition", &c.submission);
            return None;
        };
        let url = self.url(&[b"Condition", c.problem_id.as_bytes()]);
        let rows = table_rows(
            c.code
                .coding
                .iter()
                .chain(c.department.iter())
                .chain(c.encounter_class.iter())
                .chain(c.outcome.iter()),
        );
        self.add(&url, r, "Condition", c.lineage.clone(), rows);
        self.count("Condition", format!("included (section {section})"));
        Some(url)
    }

    /// Adds an AllergyIntolerance when its mapper submits it (`i`: its position).
    pub fn allergy(&mut self, i: usize, a: &AllergyRecord, section: &str) -> Option<String> {
        let Some(r) = bundle::allergy(a, self.config, &self.patient_url, &self.last_updated) else {
            self.withheld("AllergyIntolerance", &a.submission);
            return None;
        };
        let n = i.to_string();
        let url = self.url(&[b"AllergyIntolerance", n.as_bytes(), a.set_id.as_bytes()]);
        let rows = table_rows(
            a.code
                .coding
                .iter()
                .chain(a.category.iter())
                .chain(a.severity.iter()),
        );
        self.add(&url, r, "AllergyIntolerance", a.lineage.clone(), rows);
        self.count(
            "AllergyIntolerance",
            format!("included (section {section})"),
        );
        Some(url)
    }

    /// Adds a lab Observation when its mapper submits it (`i`: its position).
    pub fn observation(
        &mut self,
        i: usize,
        o: &ObservationRecord,
        section: &str,
    ) -> Option<String> {
        let Some(r) = bundle::observation(o, self.config, &self.patient_url, &self.last_updated)
        else {
            self.withheld("Observation", &o.submission);
            return None;
        };
        let n = i.to_string();
        let url = self.url(&[
            b"Observation",
            o.order_no.as_bytes(),
            n.as_bytes(),
            o.set_id.as_bytes(),
        ]);
        let rows = table_rows(
            o.code
                .coding
                .iter()
                .chain(o.interpretation.iter())
                .chain(o.specimen.iter())
                .chain(o.department.iter()),
        );
        self.add(&url, r, "Observation", o.lineage.clone(), rows);
        self.count("Observation", format!("included (section {section})"));
        Some(url)
    }

    /// Adds a MedicationRequest when its mapper exports it.
    pub fn medication(&mut self, m: &MedicationRecord, section: &str) -> Option<String> {
        let lu = self.last_updated.clone();
        let Some(r) = crate::medication::resource(m, self.config, &self.patient_url, &lu) else {
            self.withheld("MedicationRequest", &m.submission);
            return None;
        };
        let url = crate::medication::full_url(&self.key, m);
        self.add(&url, r, "MedicationRequest", m.lineage.clone(), Vec::new());
        self.count("MedicationRequest", format!("included (section {section})"));
        Some(url)
    }

    /// Adds an attachment as a DocumentReference (JP_DocumentReference_eCS) with
    /// the file inline (`content.attachment.data`, base64); `i` is its position.
    pub fn attachment(
        &mut self,
        i: usize,
        a: &request::Attachment,
        bytes: &[u8],
        loinc: (&str, &str),
    ) -> String {
        let n = i.to_string();
        let url = self.url(&[b"DocumentReference", n.as_bytes(), a.path.as_bytes()]);
        let r = DocumentReference {
            meta: meta(DOCUMENT_REFERENCE_PROFILE, &self.last_updated),
            status: "current".into(),
            r#type: Some(Box::new(build::concept(
                "http://loinc.org",
                loinc.0,
                Some(loinc.1),
            ))),
            subject: Some(Box::new(build::reference_to(&self.patient_url))),
            date: Some(self.last_updated.as_str().into()),
            description: Some(a.title.as_str().into()),
            content: vec![resources::DocumentReferenceContent {
                attachment: Box::new(Attachment {
                    content_type: Some(a.content_type.as_str().into()),
                    data: Some(base64(bytes).as_str().into()),
                    title: Some(a.title.as_str().into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        self.add(&url, r, "DocumentReference", Vec::new(), Vec::new());
        url
    }

    fn withheld(&mut self, kind: &'static str, s: &Option<Submission>) {
        let why = match s {
            Some(Submission::Withheld(r)) => format!("withheld: {r}"),
            _ => "withheld: not decided by the mapper".to_owned(),
        };
        self.count(kind, why);
    }

    /// Counts a record left out for a reason the builder states.
    pub fn left_out(&mut self, kind: &'static str, why: &str) {
        self.count(kind, why.to_owned());
    }

    /// The Composition (first entry) and the document Bundle. `encounter`: the
    /// Composition's encounter; `authors`: Practitioner then Organization fullUrls;
    /// `custodian`: the site's Organization.
    pub fn finish(
        self,
        t: &DocType,
        encounter: Option<&str>,
        authors: &[String],
        custodian: &str,
        section: Vec<CompositionSection>,
    ) -> DocumentBundle {
        let r = self.request;
        let composition = Composition {
            meta: meta(&format!("{}|1", t.composition_profile), &self.last_updated),
            extension: vec![build::extension_value_string(VERSION_EXT, &r.version)],
            identifier: Some(Box::new(build::identifier(
                RESOURCE_ID,
                &format!(
                    "{}-{}-{}",
                    self.config.institution_number,
                    r.issue_year(),
                    r.document_id
                ),
            ))),
            status: "final".into(),
            r#type: Box::new(build::concept(DOC_TYPE_SYSTEM, t.type_code, Some(t.title))),
            category: vec![build::concept(
                DOC_SUBTYPE_SYSTEM,
                &r.category.code,
                Some(&r.category.display),
            )],
            subject: Some(Box::new(build::reference_to(&self.patient_url))),
            encounter: encounter.map(|e| Box::new(build::reference_to(e))),
            date: r.issued.as_str().into(),
            author: authors.iter().map(|a| build::reference_to(a)).collect(),
            title: t.title.into(),
            custodian: Some(Box::new(build::reference_to(custodian))),
            event: vec![resources::CompositionEvent {
                code: vec![build::text_concept(t.event_text)],
                period: Some(Box::new(build::period(Some(r.issue_date()), None))),
                ..Default::default()
            }],
            section,
            ..Default::default()
        };
        let composition_url = self.url(&[b"Composition"]);
        let mut entry = vec![build::bundle_entry(&composition_url, composition)];
        entry.extend(self.entries);
        let bundle = Bundle {
            meta: Some(Box::new(Meta {
                last_updated: Some(self.last_updated.as_str().into()),
                ..build::meta_with_profile(&[&format!("{}|1", t.bundle_profile)])
            })),
            identifier: Some(Box::new(build::identifier(BUNDLE_ID_SYSTEM, &self.key))),
            r#type: "document".into(),
            timestamp: Some(self.last_updated.as_str().into()),
            entry,
            ..Default::default()
        };
        DocumentBundle {
            bundle,
            identifier: self.key,
            lineage: self.lineage,
            tally: self.tally,
            diagnostics: self.diagnostics,
        }
    }
}

/// Builds the document the request asks for: the one entry point the CLI calls.
/// `Err` holds the diagnostics when no document can be built.
///
/// The discharge summary builder plugs in here (`Kind::Discharge`); until it
/// lands, a discharge request answers `M309`.
pub fn build(
    req: &DocumentRequest,
    config: &SiteConfig,
    src: &Sources,
    attachments: &[referral::AttachmentBytes<'_>],
) -> Result<DocumentBundle, Diagnostics> {
    match req.kind {
        request::Kind::Referral => referral::build(req, config, src, attachments),
        request::Kind::Discharge => discharge::build(req, config, src, attachments),
        request::Kind::Summary => summary::build(req, config, src),
    }
}

fn table_rows<'a>(codings: impl Iterator<Item = &'a crate::record::Coding>) -> Vec<String> {
    let mut v: Vec<String> = codings.filter_map(|c| c.table_row.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
