//! 特定健診 CDA XML records ([`parsers::checkup::CheckupDocument`]) → an eCheckup
//! document Bundle (`JP_Bundle_eCheckupGeneral`) under the pinned eCheckupReport
//! package. Pure: no I/O, no clock; every id is a UUID v5 of the document key and
//! the entry's source key, so the fullUrls are the same under every pin.
//!
//! Where eCheckupReport versions differ (1.1.3 → 1.5.0: the Bundle and Patient
//! profile URLs, the bundle identifier, optional name parts, section displays,
//! group codes and the group members' relationship, the insurer number system,
//! organization types), the rule is read from the package the CLI hands over
//! ([`Rules::from_package`], table in [`rules`]), never from its version number.
//!
//! What goes where:
//!
//! | CDA | FHIR |
//! |---|---|
//! | `effectiveTime` (文書発行日; else `author/time`) | Bundle.timestamp, meta.lastUpdated (`T00:00:00+09:00`), Composition.date |
//! | `code` 報告区分 (`1.2.392.200119.6.1001`) | Composition.category, system `urn:oid:2.16.840.1.113883.2.2.1.6.1001` (the IG's system for the same codes) |
//! | `serviceEvent/code` (`…6.1002`), `serviceEvent/effectiveTime` (実施日) | Composition.event.code / .period, Encounter.period, Observation.effectiveDateTime |
//! | 保険者番号 6.101 + 記号 6.204 + 番号 6.205 + 枝番 6.211 | Patient.identifier `JP_Insurance_memberID` = `保険者番号(8桁):記号:番号:枝番`; insurer Organization (the system its profile fixes) |
//! | 受診券 (`participant HLD`) | Coverage (`JP_CoverageService_eCheckupGeneral`): type `urn:oid:1.2.392.200119.6.208`, subscriberId 整理番号, period.end 有効期限, payor insurer |
//! | 作成機関 / 実施機関 | Organization (`JP_Organization_eCheckupGeneral`), 機関番号 as `insurance-medical-institution-no`, type `doc-org` / `exec-org` where the profile binds report-organization-code (else `prov`); Composition.author/custodian, Encounter.serviceProvider |
//! | `observation/author/…/assignedPerson/name`, or the ST value of a 医師の氏名 item (9N516, 9N526 … 9N596) | Practitioner, Composition.author, Observation.performer |
//! | no doctor named: the document's `author/assignedAuthor` (id nullFlavor NI) | a Practitioner without a name (M220), Composition.author, where the package requires the entry but not the name |
//! | `entry/observation` | Observation (`JP_Observation_eCheckupGeneral`), code `urn:oid:1.2.392.200119.6.1005` |
//! | `code nullFlavor="NA"` + `entryRelationship` | Observation (`JP_ObservationGroup_eCheckupGeneral`) with hasMember (each with the `observatioGroupRelationship` extension = the entryRelationship typeCode, COMP / RSON, where the package requires it); code from the package's `observationGroup-codes` by the members' first 5 characters |
//!
//! Values: PQ → valueQuantity (UCUM system, the unit as code; a leading "." gets a
//! "0"); CD/CO → valueCodeableConcept `urn:oid:<codeSystem>`; ST → valueString; a
//! PQ followed by the 入力範囲外 CD (`2.16.840.1.113883.5.83` L/H) → comparator
//! `<=`/`>=`. 未実施 (`negationInd`) → no value, dataAbsentReason `not-performed`
//! (text 未実施); 測定不能 (`nullFlavor` on the value) → dataAbsentReason by null
//! flavor (NI/UNK → `unknown`, …; text 測定不能). Status stays `final`, which
//! both versions accept (1.1.3 fixes it; 1.5.0 still fixes it on the group), so
//! absence is carried by dataAbsentReason alone.
//!
//! Sections, the split rule: the CDA has one 01010 section for 検査 and 問診 alike;
//! an item goes to **01012 問診** when its item code starts with `9N7` or `9N8`
//! (the 質問票 items 9N701–9N808 and 咀嚼 9N872, exactly the 01012 entries of the
//! package example), otherwise to **01011 検査** (measurements, labs, メタボ判定
//! 9N501, 保健指導レベル 9N506, 医師の診断 9N511…). A group goes where its first
//! member goes. The CDA's 01990 (追加項目) becomes 01990 任意追加項目. The section
//! slicing is closed and by pattern, so code and display are the package's.
//!
//! Names: the カナ氏名 is split into family and given name at its first space
//! (ASCII or U+3000); `text` joins them with one ASCII space. A name sent without
//! one (ORCA and most systems remove it) is never split by guess: a dictionary
//! split would put a guessed name on a record that reaches the patient's insurer.
//! Where the pinned Patient profile takes `text` without the parts
//! (eCheckupReport 1.5.0's `JP_Patient_eCheckupGeneral`), the whole name goes into
//! `text` alone (M218, information). Where it requires both parts (1.1.3's
//! `JP_Patient_eCS`), the whole name stays in `family` and `text`, `given` stays
//! empty, M202 says so, and validation quarantines the document. Doctors' names
//! follow their Practitioner profile the same way.
//!
//! What the pinned Patient profile requires and the file lacks (an address and its
//! text, gender, birth date) is a located M219 naming the element and profile;
//! nothing is filled in, and validation quarantines the document.

pub mod codes;
pub mod rules;
#[cfg(test)]
mod tests;

pub use rules::Rules;

use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, Phi};
use fhir::model::types::{
    Address, CodeableConcept, ContactPoint, HumanName, Meta, Quantity, Reference,
};
use fhir::model::{
    Bundle, Composition, Coverage, Encounter, Observation, Organization, Patient, Practitioner,
    build, id, resources,
};
use parsers::checkup::{self as src, CheckupDocument, Value};

use rules::{
    COMPOSITION_PROFILE, GROUP_PROFILE, INSURER_PROFILE, ORGANIZATION_PROFILE, PRACTITIONER_PROFILE,
};
const ENCOUNTER_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Encounter_eCheckupGeneral";
const COVERAGE_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_CoverageService_eCheckupGeneral";
const OBSERVATION_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Observation_eCheckupGeneral";

const RESOURCE_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier";
const INSTITUTION_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no";
const MEMBER_ID: &str = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";
const VERSION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber";
const REPRESENTATION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
const SECTION_SYSTEM: &str = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/section-code";
const CATEGORY_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS";
/// 報告区分's system in FHIR (the IG's system for the CDA's `1.2.392.200119.6.1001`).
const CATEGORY_REPORT: &str = "urn:oid:2.16.840.1.113883.2.2.1.6.1001";
const GROUP_SYSTEM: &str = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/observationGroup-codes";
const UCUM: &str = "http://unitsofmeasure.org";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
const ORG_TYPE: &str = "http://terminology.hl7.org/CodeSystem/organization-type";
/// The OID of the 入力範囲外 CD value (HL7 v3 ObservationInterpretation).
const RANGE_FLAG_OID: &str = "2.16.840.1.113883.5.83";

/// Group codes of eCheckupReport 1.1.3's `observationGroup-codes` CodeSystem
/// (fragment), used when the package read has no such CodeSystem.
const GROUP_CODES: &[(&str, &str)] = &[
    ("2A000", "貧血検査"),
    ("9A110", "心電図検査"),
    ("9N201", "胸部X線直接・がん検診"),
    ("9N206", "胸部X線直接・一般健診"),
    ("9N216", "胸部X線間接・がん検診"),
    ("9N221", "胸部X線間接・一般健診"),
    ("9N251", "胸部CT直接・がん検診"),
    ("9N252", "胸部CT直接・一般健診"),
    ("9N256", "上部消化管検査"),
    ("9E100", "眼底検査"),
    ("3C015", "血清クレアチニン検査"),
    ("9P500", "胸部エックス線検査"),
    ("7A030", "喀痰検査"),
    ("9N281", "マンモグラフィー検査"),
    ("9P542", "胃エックス線検査"),
    ("9P544", "胃内視鏡検査"),
    ("7A021", "頸部細胞診検査"),
    ("1B040", "便潜血検査"),
    ("9Z507", "骨粗鬆症DXA 検査"),
    ("9Z531", "骨粗鬆症エックス線検査"),
    ("9Z536", "骨粗鬆症CT 検査"),
    ("9Z541", "骨粗鬆症超音波検査"),
];

/// 医師・歯科医師の氏名 items (特定健診項目コード); their ST value names a Practitioner.
const DOCTOR_NAME_ITEMS: &[&str] = &[
    "9N516000000000049",
    "9N526000000000049",
    "9N536000000000049",
    "9N546000000000049",
    "9N576000000000049",
    "9N586000000000049",
    "9N596000000000049",
];

/// The result of mapping one document.
#[derive(Debug)]
pub struct CheckupBundle {
    /// The document Bundle (validate it before writing).
    pub bundle: Bundle,
    /// The document key (`機関番号-年-8桁`), Bundle.identifier and Composition.identifier.
    pub identifier: String,
    /// Observations written (groups and members included).
    pub observations: usize,
    /// Mapping diagnostics, located by the CDA element path.
    pub diagnostics: Diagnostics,
}

fn at(o: &src::Observation) -> Location {
    Location::default()
        .byte(o.byte)
        .line(o.line)
        .element(o.path.clone())
}

fn iso_date(d: &str) -> String {
    match (d.get(0..4), d.get(4..6), d.get(6..8)) {
        (Some(y), Some(m), Some(dd)) => format!("{y}-{m}-{dd}"),
        _ => d.to_owned(),
    }
}

fn oid_uri(oid: &str) -> String {
    if oid.starts_with("urn:") || oid.starts_with("http") {
        oid.to_owned()
    } else {
        format!("urn:oid:{oid}")
    }
}

fn meta(profile: &str, last_updated: Option<&str>) -> Option<Box<Meta>> {
    Some(Box::new(Meta {
        last_updated: last_updated.map(Into::into),
        ..build::meta_with_profile(&[profile])
    }))
}

/// A decimal as FHIR (JSON) writes it: no "+", no leading zeros, and a leading
/// "." gets a "0" (ORCA's rule for the CDA). Input is an XML Schema decimal
/// (`parsers::checkup::is_decimal`).
fn decimal(v: &str) -> String {
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    match frac {
        Some(f) if !f.is_empty() => format!("{sign}{int}.{f}"),
        _ => format!("{sign}{int}"),
    }
}

fn quantity(p: &src::Pq) -> Quantity {
    match &p.unit {
        Some(u) => build::quantity(&decimal(&p.value), u, Some(UCUM), Some(u)),
        None => Quantity {
            value: Some(decimal(&p.value).as_str().into()),
            ..Default::default()
        },
    }
}

/// Family and given name split at the first space (ASCII or U+3000); the text
/// joins them with one ASCII space.
fn split_name(name: &str) -> (String, Option<String>) {
    let t = name.trim();
    match t.split_once([' ', '\u{3000}']) {
        Some((f, g)) if !f.trim().is_empty() && !g.trim().is_empty() => {
            (f.trim().to_owned(), Some(g.trim().to_owned()))
        }
        _ => (t.to_owned(), None),
    }
}

/// A name as the profile takes it; true when it was split into family and given
/// name. An unsplit name goes into `text` alone when the profile does not require
/// the parts (`parts_required` false); otherwise into `family` (and `text`), which
/// the profile then rejects for the missing given name. No split is ever guessed.
fn human_name(
    name: &str,
    representation: &str,
    official: bool,
    parts_required: bool,
) -> (HumanName, bool) {
    let (family, given) = split_name(name);
    let text = match &given {
        Some(g) => format!("{family} {g}"),
        None => family.clone(),
    };
    let split = given.is_some();
    (
        HumanName {
            extension: vec![build::extension_value_code(
                REPRESENTATION_EXT,
                representation,
            )],
            r#use: official.then(|| "official".into()),
            text: Some(text.as_str().into()),
            family: (split || parts_required).then(|| family.as_str().into()),
            given: given.map(|g| vec![g.as_str().into()]).unwrap_or_default(),
            ..Default::default()
        },
        split,
    )
}

fn address(postal: Option<&str>, text: Option<&str>) -> Option<Address> {
    if postal.is_none() && text.is_none() {
        return None;
    }
    Some(Address {
        text: text.map(Into::into),
        postal_code: postal.map(Into::into),
        ..Default::default()
    })
}

/// Observation.category by item code (following the package example: body
/// measurements, vital signs, laboratory, judgements as survey, 質問票 as
/// social-history, the rest — 既往歴, 症状, 医師の診断 — as exam).
fn category(code: &str) -> (&'static str, &'static str) {
    let p5 = code.get(..5).unwrap_or(code);
    let p3 = code.get(..3).unwrap_or(code);
    match (p3, p5) {
        ("9N7" | "9N8", _) => ("social-history", "生活背景"),
        (_, "9N501" | "9N506") => ("survey", "評価"),
        (_, "9N001" | "9N006" | "9N011" | "9N016" | "9N021") => ("body-measurement", "身体計測"),
        ("9A7", _) | (_, "9N121") => ("vital-signs", "バイタルサイン"),
        (_, "9N141") => ("laboratory", "検体検査"),
        _ if code.starts_with(|c: char| ('1'..='8').contains(&c)) => ("laboratory", "検体検査"),
        _ => ("exam", "検査"),
    }
}

/// The eCheckup section of an item of the CDA's 01010 section (the split rule).
fn questionnaire(code: &str) -> bool {
    code.starts_with("9N7") || code.starts_with("9N8")
}

/// The observationGroup code of a group: the first member whose item code starts
/// with a group code (its first five characters); the 貧血 group (its code is 2A000
/// in eCheckupReport 1.1.3, 2A020 in 1.5.0) also by any 2A0 member.
fn group_code(o: &src::Observation, rules: &Rules) -> Option<(String, String)> {
    let codes: Vec<(String, String)> = if rules.group_codes.is_empty() {
        GROUP_CODES
            .iter()
            .map(|(c, d)| ((*c).to_owned(), (*d).to_owned()))
            .collect()
    } else {
        rules.group_codes.clone()
    };
    for (_, m) in &o.members {
        let Some(c) = m.item_code() else { continue };
        let p5 = c.get(..5).unwrap_or(c);
        if let Some(g) = codes.iter().find(|(g, _)| g == p5) {
            return Some(g.clone());
        }
    }
    let anaemia = o
        .members
        .iter()
        .any(|(_, m)| m.item_code().is_some_and(|c| c.starts_with("2A0")));
    if anaemia {
        return codes.iter().find(|(g, _)| g.starts_with("2A0")).cloned();
    }
    None
}

/// The 受診券 Coverage: its fullUrl, the resource, and an insurer entry (fullUrl,
/// number) when its payor is not the 受診者's insurer.
type VoucherCoverage = (String, Coverage, Option<(String, String)>);

struct Ctx<'a> {
    rules: &'a Rules,
    doc_key: String,
    patient_url: String,
    effective: Option<String>,
    last_updated: Option<String>,
    doctors: Vec<(String, String)>, // (name, fullUrl)
    d: Diagnostics,
    entries: Vec<resources::BundleEntry>,
    count: usize,
    _doc: &'a CheckupDocument,
}

impl Ctx<'_> {
    fn url(&self, parts: &[&[u8]]) -> String {
        let mut all: Vec<&[u8]> = vec![self.doc_key.as_bytes()];
        all.extend_from_slice(parts);
        id::urn_uuid(&all)
    }

    fn doctor(&mut self, name: &str) -> String {
        if let Some((_, u)) = self.doctors.iter().find(|(n, _)| n == name) {
            return u.clone();
        }
        let url = self.url(&[b"Practitioner", name.as_bytes()]);
        self.doctors.push((name.to_owned(), url.clone()));
        url
    }
}

/// Maps one checkup document under the rules of the pinned eCheckupReport package
/// ([`Rules::from_package`]). Always returns a Bundle; what could not be mapped is
/// in the diagnostics, and the CLI's validation decides whether it is written.
pub fn map(doc: &CheckupDocument, rules: &Rules) -> CheckupBundle {
    let mut d = Diagnostics::default();
    let author = doc.author_org.clone().unwrap_or_default();
    let institution = author.number.clone().unwrap_or_default();
    if author.number.is_none() {
        d.push(
            Diagnostic::new(
                &codes::NO_AUTHOR_ORGANIZATION,
                "作成機関 or its 機関番号 is missing",
            )
            .at(Location::default().element("/ClinicalDocument/author")),
        );
    }
    let p = &doc.person;
    let doc_date = doc
        .document_date
        .clone()
        .or_else(|| doc.author_time.clone());
    if doc_date.is_none() {
        d.push(
            Diagnostic::new(
                &codes::NO_DOCUMENT_DATE,
                "checkup has no document date; the bundle has no timestamp",
            )
            .at(Location::default().element("/ClinicalDocument/effectiveTime")),
        );
    }
    if doc.performed.is_none() {
        d.push(
            Diagnostic::new(&codes::NO_PERFORMED_DATE, "checkup has no 実施日")
                .at(Location::default()
                    .element("/ClinicalDocument/documentationOf/serviceEvent/effectiveTime")),
        );
    }
    // The document key: who (insurer + insured), where (機関), when (実施日), what (program).
    let program = doc.program.as_ref().map(|c| c.code.as_str()).unwrap_or("");
    let key_parts: Vec<&str> = vec![
        institution.as_str(),
        p.insurer_number.as_deref().unwrap_or(""),
        p.insured_symbol.as_deref().unwrap_or(""),
        p.insured_number.as_deref().unwrap_or(""),
        p.insured_branch.as_deref().unwrap_or(""),
        doc.performed.as_deref().unwrap_or(""),
        program,
    ];
    let key_bytes: Vec<&[u8]> = key_parts.iter().map(|s| s.as_bytes()).collect();
    let uuid = id::uuid(&key_bytes);
    // 施設内8桁: eight decimal digits derived from the key (the CDA carries no
    // document number: its id is nullFlavor NI).
    let hex8 = uuid.replace('-', "");
    let n = u64::from_str_radix(hex8.get(..12).unwrap_or("0"), 16).unwrap_or(0) % 100_000_000;
    let year = doc_date
        .as_deref()
        .and_then(|x| x.get(..4))
        .unwrap_or("0000");
    // The Composition's identifier is `機関番号-年-番号` (resourceInstance-identifier);
    // the Bundle's is the same or, under R2152, `機関番号^年^番号` (the year of issue:
    // R2152 accepts 2020-2039 only, and the validator's finding quarantines others).
    let composition_identifier = format!("{institution}-{year}-{n:08}");
    let identifier = if rules.caret_identifier {
        format!("{institution}^{year}^{n:08}")
    } else {
        composition_identifier.clone()
    };
    let timestamp = doc_date
        .as_deref()
        .map(|x| format!("{}T00:00:00+09:00", iso_date(x)));
    let mut cx = Ctx {
        rules,
        doc_key: uuid.clone(),
        patient_url: String::new(),
        effective: doc.performed.as_deref().map(iso_date),
        last_updated: timestamp.clone(),
        doctors: Vec::new(),
        d,
        entries: Vec::new(),
        count: 0,
        _doc: doc,
    };
    cx.patient_url = cx.url(&[b"Patient"]);
    let lu = cx.last_updated.clone();
    let lu = lu.as_deref();

    // Patient.
    let mut identifier_list = Vec::new();
    let mut insurer_url: Option<String> = None;
    match &p.insurer_number {
        Some(ins) => {
            let ins8 = if ins.len() < 8 && ins.bytes().all(|b| b.is_ascii_digit()) {
                format!("{ins:0>8}")
            } else {
                ins.clone()
            };
            let member = format!(
                "{ins8}:{}:{}:{}",
                p.insured_symbol.as_deref().unwrap_or(""),
                p.insured_number.as_deref().unwrap_or(""),
                p.insured_branch.as_deref().unwrap_or("")
            );
            identifier_list.push(build::identifier(MEMBER_ID, &member));
            insurer_url = Some(cx.url(&[b"Insurer", ins.as_bytes()]));
        }
        None => cx.d.push(
            Diagnostic::new(
                &codes::NO_INSURER,
                "no 保険者番号: no insurer Organization, Coverage or insurance member identifier",
            )
            .at(Location::default().element("/ClinicalDocument/recordTarget/patientRole")),
        ),
    }
    let mut names = Vec::new();
    if let Some(n) = &p.name {
        let parts_required = rules.patient_name_parts_required;
        let (hn, split) = human_name(n, "SYL", true, parts_required);
        if !split {
            let x = if parts_required {
                Diagnostic::new(
                    &codes::NAME_NOT_SPLIT,
                    "patient name has no space between family and given name; given name left empty",
                )
            } else {
                Diagnostic::new(
                    &codes::NAME_AS_TEXT,
                    "patient name has no space between family and given name; written as text only",
                )
            };
            cx.d.push(
                x.at(Location::default()
                    .element("/ClinicalDocument/recordTarget/patientRole/patient/name"))
                    .excerpt(Excerpt::phi_text(n.clone(), Phi::Name)),
            );
        }
        names.push(hn);
    }
    // What the pinned Patient profile requires and the file lacks: a located
    // finding naming the rule; nothing is filled in (validation quarantines it).
    let required = |el: &str| rules.patient_required.contains(el);
    let role = "/ClinicalDocument/recordTarget/patientRole";
    let mut lacking: Vec<(&str, String)> = Vec::new();
    if required("address") && p.address.is_none() && p.postal_code.is_none() {
        lacking.push(("Patient.address", format!("{role}/addr")));
    } else if required("address.text") && p.address.is_none() {
        lacking.push(("Patient.address.text", format!("{role}/addr")));
    }
    if required("gender") && p.gender.is_none() {
        lacking.push((
            "Patient.gender",
            format!("{role}/patient/administrativeGenderCode"),
        ));
    }
    if required("birthDate") && p.birth_date.is_none() {
        lacking.push(("Patient.birthDate", format!("{role}/patient/birthTime")));
    }
    for (element, at) in lacking {
        cx.d.push(
            Diagnostic::new(
                &codes::PATIENT_LACKS_REQUIRED,
                format!(
                    "受診者 lacks what {} requires ({element}, min 1, {}); nothing is filled in and the bundle is quarantined",
                    rules.patient_profile, rules.package
                ),
            )
            .at(Location::default().element(at)),
        );
    }
    let gender = match p.gender.as_deref() {
        Some("1") => Some("male"),
        Some("2") => Some("female"),
        Some(other) => {
            cx.d.push(
                Diagnostic::new(&codes::BAD_GENDER, "gender code is not 1 or 2")
                    .at(Location::default().element(
                        "/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode/@code",
                    ))
                    .excerpt(Excerpt::text(other)),
            );
            None
        }
        None => None,
    };
    let patient = Patient {
        meta: meta(&rules.patient_profile, lu),
        identifier: identifier_list,
        name: names,
        gender: gender.map(Into::into),
        birth_date: p.birth_date.as_deref().map(|b| iso_date(b).as_str().into()),
        address: address(p.postal_code.as_deref(), p.address.as_deref())
            .into_iter()
            .collect(),
        ..Default::default()
    };

    // Organizations.
    let author_url = cx.url(&[b"Organization", institution.as_bytes()]);
    let performer = doc.performer_org.clone();
    let performer_url = match &performer {
        Some(po) if po.number.is_some() && po.number != author.number => Some(cx.url(&[
            b"Organization",
            po.number.as_deref().unwrap_or("").as_bytes(),
        ])),
        _ => None,
    };
    let provider_url = performer_url.clone().unwrap_or_else(|| author_url.clone());
    // The author is also the 実施機関 when no other one is named.
    let author_res = organization(&author, lu, rules, performer_url.is_none(), true);

    // Encounter.
    let encounter_url = cx.url(&[b"Encounter"]);
    let period = build::period(cx.effective.as_deref(), cx.effective.as_deref());
    let encounter = Encounter {
        meta: meta(ENCOUNTER_PROFILE, lu),
        status: "finished".into(),
        class: Box::new(build::coding(
            "http://jpfhir.jp/fhir/eCheckup/CodeSystem/encounter-category",
            "checkup",
            Some("健診"),
        )),
        period: Some(Box::new(period.clone())),
        service_provider: Some(Box::new(build::reference_to(&provider_url))),
        ..Default::default()
    };

    // Coverage (受診券).
    let mut coverage: Option<VoucherCoverage> = None;
    if let Some(v) = &doc.voucher {
        let payor_ins = v.insurer.clone().or_else(|| p.insurer_number.clone());
        match (&v.number, &payor_ins) {
            (Some(num), Some(ins)) => {
                if let (Some(a), Some(b)) = (&v.insurer, &p.insurer_number)
                    && a != b
                {
                    cx.d.push(
                        Diagnostic::new(
                            &codes::VOUCHER_INSURER_DIFFERS,
                            "受診券 insurer differs from the 受診者's 保険者番号",
                        )
                        .at(Location::default().element("/ClinicalDocument/participant"))
                        .excerpt(Excerpt::phi_text(
                            format!("{a} / {b}"),
                            Phi::InsuranceNumber,
                        )),
                    );
                }
                let payor_url = cx.url(&[b"Insurer", ins.as_bytes()]);
                let extra_insurer = (Some(&payor_url) != insurer_url.as_ref())
                    .then(|| (payor_url.clone(), ins.clone()));
                let url = cx.url(&[b"Coverage", num.as_bytes()]);
                let cov = Coverage {
                    meta: meta(COVERAGE_PROFILE, lu),
                    status: "active".into(),
                    r#type: v
                        .kind
                        .as_deref()
                        .map(|k| Box::new(build::concept("urn:oid:1.2.392.200119.6.208", k, None))),
                    subscriber_id: Some(num.as_str().into()),
                    beneficiary: Box::new(build::reference_to(&cx.patient_url)),
                    period: v
                        .expiry
                        .as_deref()
                        .map(|e| Box::new(build::period(None, Some(&iso_date(e))))),
                    payor: vec![build::reference_to(&payor_url)],
                    ..Default::default()
                };
                coverage = Some((url, cov, extra_insurer));
            }
            _ => cx.d.push(
                Diagnostic::new(
                    &codes::VOUCHER_INCOMPLETE,
                    "受診券 has no 整理番号 or no insurer: no Coverage",
                )
                .at(Location::default().element("/ClinicalDocument/participant")),
            ),
        }
    }

    // Observations, by section.
    let mut sec_exam: Vec<Reference> = Vec::new();
    let mut sec_quest: Vec<Reference> = Vec::new();
    let mut sec_extra: Vec<Reference> = Vec::new();
    for s in &doc.sections {
        let code = s.code.as_ref().map(|c| c.code.as_str());
        let known = s.code.as_ref().is_some_and(|c| {
            c.system.as_deref() == Some(src::SECTION_CODE_SYSTEM)
                && (c.code == "01010" || c.code == "01990")
        });
        if !known {
            cx.d.push(
                Diagnostic::new(
                    &codes::SECTION_PLACED_BY_RULE,
                    "CDA section is not 01010 or 01990; its items are placed by the split rule",
                )
                .at(Location::default().element(s.path.clone())),
            );
        }
        for o in &s.observations {
            let Some(url) = observation(&mut cx, o) else {
                continue;
            };
            let first = if o.is_group() {
                o.members.iter().find_map(|(_, m)| m.item_code())
            } else {
                o.item_code()
            }
            .unwrap_or("");
            let r = build::reference_to(&url);
            if known && code == Some("01990") {
                sec_extra.push(r);
            } else if questionnaire(first) {
                sec_quest.push(r);
            } else {
                sec_exam.push(r);
            }
        }
    }
    // No doctor named: the document's author (the CDA's assignedAuthor, whose id
    // is nullFlavor NI) is written as a Practitioner without a name when the
    // package requires a Practitioner entry but not its name; otherwise none is
    // written and validation decides.
    let mut unnamed_author: Option<String> = None;
    if cx.doctors.is_empty() {
        let at = Location::default().element("/ClinicalDocument/component/structuredBody");
        if rules.practitioner_required && !rules.practitioner_name_required {
            unnamed_author = Some(cx.url(&[b"Practitioner"]));
            cx.d.push(
                Diagnostic::new(
                    &codes::PRACTITIONER_UNNAMED,
                    "no doctor is named (observation/author or a 医師の氏名 item): the report's author is a Practitioner without a name",
                )
                .at(at),
            );
        } else {
            cx.d.push(
                Diagnostic::new(
                    &codes::NO_PRACTITIONER,
                    "no doctor is named (observation/author or a 医師の氏名 item): no Practitioner",
                )
                .at(at),
            );
        }
    }

    // Composition.
    let composition_url = cx.url(&[b"Composition"]);
    let mut section = Vec::new();
    // Codes and displays as the package's section slices fix them (closed slicing
    // by pattern: the display must match too); the 1.1.3 text where it gives none.
    for (code, display, title, refs) in [
        ("01011", "特定健診検査結果セクション", "検査結果", sec_exam),
        ("01012", "特定健診問診結果セクション", "問診結果", sec_quest),
        (
            "01990",
            "特定健診任意追加項目セクション",
            "任意追加項目",
            sec_extra,
        ),
    ] {
        if refs.is_empty() {
            continue;
        }
        let display = match rules.sections.get(code) {
            Some(d) => d.as_deref(),
            None => Some(display),
        };
        section.push(resources::CompositionSection {
            title: Some(title.into()),
            code: Some(Box::new(build::concept(SECTION_SYSTEM, code, display))),
            entry: refs,
            ..Default::default()
        });
    }
    let category = doc.report_category.as_ref().map(|c| {
        let known = match &rules.report_categories {
            Some(set) => set.contains(&(CATEGORY_REPORT.to_owned(), c.code.clone())),
            None => matches!(c.code.as_str(), "10" | "40" | "90"),
        };
        let display = rules
            .display(CATEGORY_REPORT, &c.code)
            .or(match c.code.as_str() {
                "10" => Some("特定健診"),
                "40" => Some("健診結果報告"),
                "90" => Some("その他検診"),
                _ => None,
            });
        if !known {
            cx.d.push(
                Diagnostic::new(
                    &codes::REPORT_CATEGORY,
                    format!(
                        "報告区分 is not in the report categories {} accepts",
                        rules.package
                    ),
                )
                .at(Location::default().element("/ClinicalDocument/code/@code"))
                .excerpt(Excerpt::text(c.code.clone())),
            );
        }
        build::concept(CATEGORY_REPORT, &c.code, display)
    });
    let mut authors: Vec<Reference> = cx
        .doctors
        .iter()
        .map(|(_, u)| build::reference_to(u))
        .collect();
    if let Some(u) = &unnamed_author {
        authors.push(build::reference_to(u));
    }
    authors.push(build::reference_to(&author_url));
    let program_system = doc
        .program
        .as_ref()
        .map(|c| oid_uri(c.system.as_deref().unwrap_or("1.2.392.200119.6.1002")))
        .unwrap_or_default();
    let program_display = rules.display(&program_system, program).or(match program {
        "010" => Some("特定健診"),
        "020" => Some("広域連合保健事業"),
        "030" => Some("事業者健診"),
        _ => None,
    });
    let composition = Composition {
        meta: meta(COMPOSITION_PROFILE, lu),
        extension: vec![build::extension_value_string(VERSION_EXT, "1")],
        identifier: Some(Box::new(build::identifier(
            RESOURCE_ID,
            &composition_identifier,
        ))),
        status: "final".into(),
        r#type: Box::new(build::concept(
            "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes",
            "53576-5",
            Some("検診・健診報告書"),
        )),
        category: category.into_iter().collect(),
        subject: Some(Box::new(build::reference_to(&cx.patient_url))),
        encounter: Some(Box::new(build::reference_to(&encounter_url))),
        date: doc_date
            .as_deref()
            .map(iso_date)
            .unwrap_or_default()
            .as_str()
            .into(),
        author: authors,
        title: "健康診断結果報告書".into(),
        custodian: Some(Box::new(build::reference_to(&author_url))),
        event: vec![resources::CompositionEvent {
            code: doc
                .program
                .as_ref()
                .map(|c| build::concept(&program_system, &c.code, program_display))
                .into_iter()
                .collect(),
            period: Some(Box::new(period)),
            detail: vec![build::reference_to(&encounter_url)],
            ..Default::default()
        }],
        section,
        ..Default::default()
    };

    // Assemble in the package example's order.
    let mut entry = vec![
        build::bundle_entry(&composition_url, composition),
        build::bundle_entry(&cx.patient_url.clone(), patient),
    ];
    for (name, url) in cx.doctors.clone() {
        let parts_required = rules.practitioner_name_parts_required;
        let (hn, split) = human_name(&name, "IDE", false, parts_required);
        if !split {
            let x = if parts_required {
                Diagnostic::new(
                    &codes::NAME_NOT_SPLIT,
                    "doctor name has no space between family and given name; given name left empty",
                )
            } else {
                Diagnostic::new(
                    &codes::NAME_AS_TEXT,
                    "doctor name has no space between family and given name; written as text only",
                )
            };
            cx.d.push(
                x.at(Location::default().element("/ClinicalDocument/component/structuredBody"))
                    .excerpt(Excerpt::phi_text(name.clone(), Phi::Name)),
            );
        }
        entry.push(build::bundle_entry(
            &url,
            Practitioner {
                meta: meta(PRACTITIONER_PROFILE, lu),
                name: vec![hn],
                ..Default::default()
            },
        ));
    }
    if let Some(url) = &unnamed_author {
        entry.push(build::bundle_entry(
            url,
            Practitioner {
                meta: meta(PRACTITIONER_PROFILE, lu),
                ..Default::default()
            },
        ));
    }
    entry.push(build::bundle_entry(&author_url, author_res));
    if let (Some(po), Some(url)) = (&performer, &performer_url) {
        entry.push(build::bundle_entry(
            url,
            organization(po, lu, rules, true, false),
        ));
    }
    entry.push(build::bundle_entry(&encounter_url, encounter));
    if let (Some(url), Some(ins)) = (&insurer_url, &p.insurer_number) {
        entry.push(build::bundle_entry(url, insurer(ins, lu, rules)));
    }
    if let Some((url, cov, extra)) = coverage {
        if let Some((iurl, ins)) = extra {
            entry.push(build::bundle_entry(&iurl, insurer(&ins, lu, rules)));
        }
        entry.push(build::bundle_entry(&url, cov));
    }
    entry.append(&mut cx.entries);
    let bundle = Bundle {
        meta: meta(&rules.bundle_profile, lu),
        identifier: Some(Box::new(build::identifier(
            &rules.bundle_identifier_system,
            &identifier,
        ))),
        r#type: "document".into(),
        timestamp: timestamp.as_deref().map(Into::into),
        entry,
        ..Default::default()
    };
    CheckupBundle {
        bundle,
        identifier,
        observations: cx.count,
        diagnostics: cx.d,
    }
}

/// An Organization: its type is the package's 実施機関 / 報告作成機関 codes when
/// the profile binds them (one coding each, as the package example does), else
/// organization-type `prov`.
fn organization(
    o: &src::Organization,
    lu: Option<&str>,
    rules: &Rules,
    executes: bool,
    reports: bool,
) -> Organization {
    let r#type = match &rules.organization_types {
        Some((exec, doc)) => [(executes, exec), (reports, doc)]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| build::concept(&c.system, &c.code, c.display.as_deref()))
            .collect(),
        None => vec![build::concept(ORG_TYPE, "prov", None)],
    };
    Organization {
        meta: meta(ORGANIZATION_PROFILE, lu),
        identifier: o
            .number
            .iter()
            .map(|n| build::identifier(INSTITUTION_ID, n))
            .collect(),
        r#type,
        name: o.name.as_deref().map(Into::into),
        telecom: o
            .telecom
            .iter()
            .map(|t| ContactPoint {
                system: Some("phone".into()),
                value: Some(t.strip_prefix("tel:").unwrap_or(t).into()),
                ..Default::default()
            })
            .collect(),
        address: address(o.postal_code.as_deref(), o.address.as_deref())
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

fn insurer(number: &str, lu: Option<&str>, rules: &Rules) -> Organization {
    Organization {
        meta: meta(INSURER_PROFILE, lu),
        identifier: vec![build::identifier(&rules.insurer_system, number)],
        r#type: vec![build::concept(ORG_TYPE, "ins", None)],
        ..Default::default()
    }
}

fn absent(code: &str, text: &str) -> CodeableConcept {
    let display = match code {
        "not-performed" => "Not Performed",
        "unknown" => "Unknown",
        "asked-unknown" => "Asked But Unknown",
        "temp-unknown" => "Temporarily Unknown",
        "not-asked" => "Not Asked",
        "masked" => "Masked",
        "not-applicable" => "Not Applicable",
        "not-a-number" => "Not a Number (NaN)",
        "negative-infinity" => "Negative Infinity (NINF)",
        "positive-infinity" => "Positive Infinity (PINF)",
        _ => "Error",
    };
    build::codeable_concept(vec![build::coding(ABSENT, code, Some(display))], Some(text))
}

/// HL7 v3 NullFlavor → data-absent-reason (the R4 data-absent-reason CodeSystem's own comments).
fn null_flavor_reason(nf: &str) -> &'static str {
    match nf {
        "ASKU" => "asked-unknown",
        "NAV" => "temp-unknown",
        "NASK" => "not-asked",
        "MSK" => "masked",
        "NA" => "not-applicable",
        "NaN" => "not-a-number",
        "NINF" => "negative-infinity",
        "PINF" => "positive-infinity",
        _ => "unknown", // NI, UNK, OTH, …
    }
}

/// Maps one observation (and a group's members); returns its fullUrl.
fn observation(cx: &mut Ctx<'_>, o: &src::Observation) -> Option<String> {
    if o.is_group() {
        let mut members = Vec::new();
        for (type_code, m) in &o.members {
            if let Some(u) = observation(cx, m) {
                let mut r = build::reference_to(&u);
                // The relationship (the CDA's entryRelationship typeCode, COMP or
                // RSON) where the package's group profile requires it; a typeCode
                // outside its codes is carried as sent, for validation to judge.
                if let Some((url, _)) = &cx.rules.group_relationship {
                    r.extension
                        .push(build::extension_value_code(url, type_code));
                }
                members.push(r);
            }
        }
        let code = match group_code(o, cx.rules) {
            Some((c, disp)) => build::concept(GROUP_SYSTEM, &c, Some(&disp)),
            None => {
                cx.d.push(
                    Diagnostic::new(
                        &codes::GROUP_CODE_UNKNOWN,
                        "一連検査グループ matches no observationGroup code",
                    )
                    .at(at(o)),
                );
                build::text_concept("一連検査グループ")
            }
        };
        let url = cx.url(&[b"Observation", o.path.as_bytes()]);
        let res = Observation {
            meta: meta(GROUP_PROFILE, cx.last_updated.as_deref()),
            status: "final".into(),
            code: Box::new(code),
            subject: Some(Box::new(build::reference_to(&cx.patient_url))),
            effective: cx
                .effective
                .as_deref()
                .map(|e| resources::ObservationEffective::DateTime(e.into())),
            has_member: members,
            ..Default::default()
        };
        cx.entries.push(build::bundle_entry(&url, res));
        cx.count += 1;
        return Some(url);
    }
    let Some(code) = &o.code else {
        cx.d.push(
            Diagnostic::new(
                &codes::NO_ITEM_CODE,
                "observation has no item code and is not mapped",
            )
            .at(at(o)),
        );
        return None;
    };
    let mut value = None;
    let mut absent_reason = None;
    if o.not_performed {
        absent_reason = Some(absent("not-performed", "未実施"));
    } else {
        let mut rest = o.values.iter();
        match rest.next() {
            None => {
                cx.d.push(
                    Diagnostic::new(
                        &codes::NO_VALUE,
                        "observation has no value and is not marked 未実施 or 測定不能",
                    )
                    .at(at(o)),
                );
                absent_reason = Some(absent("unknown", "値なし"));
            }
            Some(Value::Absent { null_flavor, .. }) => {
                absent_reason = Some(absent(null_flavor_reason(null_flavor), "測定不能"));
            }
            Some(Value::Pq(pq)) => {
                let mut q = quantity(pq);
                if pq.unit.is_none() {
                    cx.d.push(Diagnostic::new(&codes::NO_UNIT, "PQ value has no unit").at(at(o)));
                }
                // 入力範囲外: the CD L/H that follows the PQ.
                if let Some(Value::Coded { code: flag, .. }) = o.values.get(1)
                    && flag.system.as_deref() == Some(RANGE_FLAG_OID)
                    && (flag.code == "L" || flag.code == "H")
                {
                    rest.next();
                    q.comparator = Some(if flag.code == "L" { "<=" } else { ">=" }.into());
                    cx.d.push(
                        Diagnostic::new(
                            &codes::OUT_OF_INPUT_RANGE,
                            "result outside the input range: sent with a comparator",
                        )
                        .at(at(o)),
                    );
                }
                value = Some(resources::ObservationValue::Quantity(Box::new(q)));
            }
            Some(Value::Coded { code: c, .. }) => {
                value = Some(match &c.system {
                    Some(sys) => resources::ObservationValue::CodeableConcept(Box::new(
                        build::concept(&oid_uri(sys), &c.code, c.display.as_deref()),
                    )),
                    None => {
                        cx.d.push(
                            Diagnostic::new(
                                &codes::NO_ANSWER_SYSTEM,
                                "coded answer has no code system; sent as text",
                            )
                            .at(at(o)),
                        );
                        resources::ObservationValue::CodeableConcept(Box::new(build::text_concept(
                            &c.code,
                        )))
                    }
                });
            }
            Some(Value::Text(t)) => {
                value = Some(resources::ObservationValue::String(t.as_str().into()));
            }
        }
        if rest.next().is_some() {
            cx.d.push(
                Diagnostic::new(
                    &codes::EXTRA_VALUE,
                    "observation has more values than one; the extra ones are not mapped",
                )
                .at(at(o)),
            );
        }
    }
    // The doctor is named in observation/author (ORCA's form) or, in some files, as
    // a 医師の氏名 item (9N516, 9N526 … 9N596) whose ST value is the name.
    let named = match (&o.author_name, o.values.first()) {
        (Some(n), _) => Some(n.as_str()),
        (None, Some(Value::Text(t))) if DOCTOR_NAME_ITEMS.contains(&code.code.as_str()) => {
            Some(t.as_str())
        }
        _ => None,
    };
    let performer: Vec<Reference> = match named {
        Some(n) => vec![build::reference_to(&cx.doctor(n))],
        None => Vec::new(),
    };
    let (cat, cat_display) = category(&code.code);
    let url = cx.url(&[b"Observation", o.path.as_bytes()]);
    let res = Observation {
        meta: meta(OBSERVATION_PROFILE, cx.last_updated.as_deref()),
        status: "final".into(),
        category: vec![build::concept(CATEGORY_SYSTEM, cat, Some(cat_display))],
        code: Box::new(build::concept(
            &oid_uri(code.system.as_deref().unwrap_or(src::ITEM_CODE_SYSTEM)),
            &code.code,
            code.display.as_deref(),
        )),
        subject: Some(Box::new(build::reference_to(&cx.patient_url))),
        effective: cx
            .effective
            .as_deref()
            .map(|e| resources::ObservationEffective::DateTime(e.into())),
        performer,
        value,
        data_absent_reason: absent_reason.map(Box::new),
        interpretation: o
            .interpretation
            .iter()
            .map(|i| build::concept(INTERPRETATION, i, None))
            .collect(),
        method: o.method.as_ref().map(|m| {
            Box::new(build::concept(
                &oid_uri(m.system.as_deref().unwrap_or(src::METHOD_CODE_SYSTEM)),
                &m.code,
                m.display.as_deref(),
            ))
        }),
        reference_range: o
            .range
            .iter()
            .map(|r| resources::ObservationReferenceRange {
                low: r.low.as_ref().map(|q| Box::new(quantity(q))),
                high: r.high.as_ref().map(|q| Box::new(quantity(q))),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    cx.entries.push(build::bundle_entry(&url, res));
    cx.count += 1;
    Some(url)
}
