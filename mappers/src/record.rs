//! The intermediate, FHIR-shaped records the mappers produce: typed values plus
//! lineage (source file, segment, field; table id@version#row for every coding a
//! table produced). The FHIR builders turn them into JP-CLINS resources.

/// A coding, with the table row that produced it (none when it came from the source
/// or from a fixed rule).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Coding {
    /// System URI.
    pub system: String,
    /// Code.
    pub code: String,
    /// Display.
    pub display: String,
    /// `table@version#row` when a mapping table produced the coding.
    pub table_row: Option<String>,
    /// True when the row was not approved (only with `tables.allow_unreviewed`).
    pub draft: bool,
}

impl Coding {
    /// A coding taken from the source or a fixed rule.
    pub fn new(system: &str, code: &str, display: &str) -> Coding {
        Coding {
            system: system.into(),
            code: code.into(),
            display: display.into(),
            ..Coding::default()
        }
    }
}

/// A codeable concept.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Concept {
    /// Codings, in the order the profile slices expect.
    pub coding: Vec<Coding>,
    /// Text (the name as entered).
    pub text: String,
}

impl Concept {
    /// The first coding of a system.
    pub fn coding_of(&self, system: &str) -> Option<&Coding> {
        self.coding.iter().find(|c| c.system == system)
    }
}

/// Where an element of a record came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lineage {
    /// FHIR element (e.g. `Condition.code`).
    pub element: &'static str,
    /// Source file, as given.
    pub file: String,
    /// Segment id and 1-based position in the file (`PRB#3`).
    pub segment: String,
    /// Field path (`PRB-3`, `PID-5[2]`).
    pub field: String,
}

/// Whether a record goes to JP-CLINS, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    /// Submitted.
    Submit,
    /// Kept (NDJSON, lineage, worklists) but not submitted; the reason is stable text.
    Withheld(&'static str),
}

/// `meta.tag` codes of `http://jpfhir.jp/fhir/clins/CodeSystem/JP_ehrshrs_indication`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tag {
    /// 長期保存.
    Lts,
    /// 未告知.
    Uninformed,
    /// 未提供.
    Undelivered,
}

impl Tag {
    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Tag::Lts => "LTS",
            Tag::Uninformed => "UNINFORMED",
            Tag::Undelivered => "UNDELIVERED",
        }
    }
}

/// JP_Patient_eCS material.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PatientRecord {
    /// Local patient id (the policy's choice of folder or PID-3).
    pub local_id: String,
    /// 被保険者個人識別子 `保険者番号8:記号:番号:枝番` (or the 生活保護 form), when known.
    pub member_id: Option<MemberId>,
    /// Names: kanji (IDE) first, then kana (SYL).
    pub names: Vec<Name>,
    /// `male` / `female` / `other` / `unknown`.
    pub gender: Option<String>,
    /// FHIR date.
    pub birth_date: Option<String>,
    /// Address.
    pub address: Option<Address>,
    /// Submitted or why not.
    pub submission: Option<Submission>,
    /// Lineage of each element.
    pub lineage: Vec<Lineage>,
}

/// The 被保険者個人識別子.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberId {
    /// Identifier system.
    pub system: String,
    /// Value.
    pub value: String,
}

/// A HumanName with its ISO 21090 representation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// `IDE` (漢字) or `SYL` (カナ).
    pub representation: &'static str,
    /// Family name.
    pub family: String,
    /// Given name.
    pub given: String,
    /// `family given` (half-width space, R1113).
    pub text: String,
}

/// An address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// Postal code.
    pub postal_code: String,
    /// Full address text.
    pub text: String,
}

/// JP_Condition_eCS material.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConditionRecord {
    /// PRB-4 problem instance id.
    pub problem_id: String,
    /// PRB-1 action code (AD, UP, DE).
    pub action: String,
    /// code: keyNumber, exCode, receipt, ICD-10 codings + the name as text.
    pub code: Concept,
    /// Prefix modifiers (ZPR-1/ZPR-4).
    pub prefix_modifiers: Vec<Concept>,
    /// Postfix modifiers (ZPR-3/ZPR-6).
    pub postfix_modifiers: Vec<Concept>,
    /// `confirmed` / `unconfirmed` / `entered-in-error`.
    pub verification: &'static str,
    /// clinicalStatus from 転帰 (`active`, `resolved`, `remission`, `inactive`, `unknown`).
    pub clinical_status: Option<&'static str>,
    /// 転帰 as sent (HL7 0241).
    pub outcome: Option<Coding>,
    /// onsetDateTime.
    pub onset: Option<String>,
    /// abatementDateTime.
    pub abatement: Option<String>,
    /// recordedDate.
    pub recorded: Option<String>,
    /// 主病名.
    pub principal: bool,
    /// meta.tag.
    pub tags: Vec<Tag>,
    /// Department (SS-MIX2 診療科) when the message names one.
    pub department: Option<Coding>,
    /// Class of the contained Encounter (v3 ActCode AMB / IMP / EMER) when mapped.
    pub encounter_class: Option<Coding>,
    /// Submitted or why not.
    pub submission: Option<Submission>,
    /// Lineage.
    pub lineage: Vec<Lineage>,
}

impl ConditionRecord {
    /// Ended: an abatement, or a 転帰 that is not active (inactive, resolved,
    /// remission). Documents file ended conditions as history, and a care plan
    /// addresses only those that have not ended.
    pub fn has_ended(&self) -> bool {
        self.abatement.is_some()
            || matches!(
                self.clinical_status,
                Some("inactive" | "resolved" | "remission")
            )
    }
}

/// JP_AllergyIntolerance_eCS material.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AllergyRecord {
    /// IAM-1 / AL1-1 set id.
    pub set_id: String,
    /// The allergen as sent (`<v2 system>|<code>`, or `text:<name>` when uncoded):
    /// the identity under which allergies from several messages are merged.
    pub source_key: String,
    /// `medication` / `food` / `environment` / `biologic`.
    pub category: Option<Coding>,
    /// code: J-FAGY coding (or the dummy) + the allergen as sent (kept as a local coding) + text.
    pub code: Concept,
    /// Reaction severity (`mild` / `moderate` / `severe`).
    pub severity: Option<Coding>,
    /// Reaction text.
    pub reaction: Option<String>,
    /// `low` / `high` / `unable-to-assess`.
    pub criticality: Option<&'static str>,
    /// clinicalStatus (`active`, `inactive`, …); `None` when entered-in-error.
    pub clinical_status: Option<&'static str>,
    /// verificationStatus.
    pub verification: &'static str,
    /// onsetDateTime.
    pub onset: Option<String>,
    /// onsetString (IAM-12 text).
    pub onset_text: Option<String>,
    /// recordedDate.
    pub recorded: Option<String>,
    /// meta.tag.
    pub tags: Vec<Tag>,
    /// Submitted or why not.
    pub submission: Option<Submission>,
    /// Lineage.
    pub lineage: Vec<Lineage>,
}

/// Observation value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// valueQuantity (the number as written, exact).
    Quantity {
        /// Decimal text.
        value: String,
        /// `<`, `<=`, `>=`, `>`.
        comparator: Option<String>,
        /// Unit text.
        unit: String,
    },
    /// valueString.
    String(String),
    /// valueCodeableConcept.
    Concept(Concept),
}

/// A reference range.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Range {
    /// Low (decimal text).
    pub low: Option<String>,
    /// High (decimal text).
    pub high: Option<String>,
    /// As sent.
    pub text: String,
}

/// Which JP-CLINS lab category the result belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabKind {
    /// One of the 43 core items.
    Core,
    /// An infection item.
    Infection,
    /// Another JLAC10 result.
    General,
    /// No standard code.
    Uncoded,
}

/// JP_Observation_LabResult_eCS material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservationRecord {
    /// OBR-2 placer order number (the lab report's unit key).
    pub order_no: String,
    /// OBX-1 set id.
    pub set_id: String,
    /// code: local `<local>_<specimen>`, then the CLINS set / JLAC10 / uncoded coding.
    pub code: Concept,
    /// Category of the code.
    pub kind: LabKind,
    /// `value[x]`.
    pub value: Option<Value>,
    /// referenceRange.
    pub range: Option<Range>,
    /// interpretation (HL7 0078 code as sent).
    pub interpretation: Option<Coding>,
    /// Specimen: JLAC10 material coding (display-only reference in CLINS).
    pub specimen: Option<Coding>,
    /// effectiveDateTime (collection time).
    pub effective: Option<String>,
    /// issued (report time).
    pub issued: Option<String>,
    /// `final`, `preliminary`, `corrected`, `cancelled`…
    pub status: &'static str,
    /// Department (ORC-17) when mapped.
    pub department: Option<Coding>,
    /// Class of the contained Encounter (v3 ActCode) when mapped.
    pub encounter_class: Option<Coding>,
    /// The ordering doctor (ORC-12, else OBR-16): performer, a contained JP_Practitioner.
    pub orderer: Option<Prescriber>,
    /// meta.tag.
    pub tags: Vec<Tag>,
    /// Submitted or why not.
    pub submission: Option<Submission>,
    /// Lineage.
    pub lineage: Vec<Lineage>,
}

/// An amount with a MERIT-9 unit.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MedQuantity {
    /// Decimal text, as sent (normalised `.5` → `0.5`).
    pub value: String,
    /// Unit text (as sent, else the table's display).
    pub unit: String,
    /// Unit system (MERIT-9).
    pub system: String,
    /// Unit code.
    pub code: String,
    /// `table@version#row` when a table mapped a local unit.
    pub table_row: Option<String>,
}

/// A prescriber or ordering doctor (ORC-12 / OBR-16 XCN; staff, not patient data).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Prescriber {
    /// XCN-1 staff id.
    pub id: String,
    /// `family given` (XCN-2, XCN-3; half-width space).
    pub name: String,
    /// `IDE` / `SYL` from XCN-15 (HL7 0465 `I` / `P`), when sent.
    pub representation: Option<&'static str>,
}

/// JP_MedicationRequest_eCS material: one prescribed drug line (RXE) of an
/// OMP-01 order. Not submitted to JP-CLINS as a bundle (its bundle tag allows
/// none); `submission` says whether a conforming resource can be built for the
/// documents and the NDJSON export, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MedicationRecord {
    /// ORC-2 placer order number.
    pub order_no: String,
    /// ORC-4 RP number (依頼者グループ番号).
    pub rp_number: String,
    /// Position of the line among the RXEs of the same order and RP (1-based).
    pub order_in_rp: u32,
    /// RXE-15 処方箋番号.
    pub prescription_no: Option<String>,
    /// ORC-1 order control (NW, CA, …).
    pub order_control: String,
    /// authoredOn (RXE-32, else ORC-9).
    pub authored_on: Option<String>,
    /// medicationCodeableConcept: YJ / 一般名 (from tables) or NOCODED, then the code as sent; text = the name.
    pub medication: Concept,
    /// timing.code: 電子処方箋用法 (from tables) or the CLINS dummy, the JAMI code as sent; text = the usage text.
    pub usage: Concept,
    /// Dosage.text, assembled from the source's usage text and amounts.
    pub dosage_text: String,
    /// RXE-3 + RXE-5 dose per administration.
    pub dose: Option<MedQuantity>,
    /// RXE-4 maximum dose, when it differs from RXE-3 (kept in the text only).
    pub dose_max: Option<String>,
    /// doseAndRate.type (製剤量) when the unit makes it certain.
    pub dose_type: Option<Coding>,
    /// RXE-19 daily dose.
    pub daily_dose: Option<MedQuantity>,
    /// RXE-10 + RXE-11 total dispensed.
    pub dispense: Option<MedQuantity>,
    /// TQ1-6 days.
    pub days: Option<String>,
    /// TQ1-7 start.
    pub start: Option<String>,
    /// TQ1-8 end.
    pub end: Option<String>,
    /// RXR-1 route when mapped.
    pub route: Option<Concept>,
    /// RXE-21 MERIT-9 処方区分.
    pub category: Vec<Coding>,
    /// ORC-12 prescriber (staff, not patient data).
    pub prescriber: Option<Prescriber>,
    /// Department (ORC-17) when mapped.
    pub department: Option<Coding>,
    /// Class of the contained Encounter (v3 ActCode) when mapped.
    pub encounter_class: Option<Coding>,
    /// meta.tag.
    pub tags: Vec<Tag>,
    /// Exportable or why not.
    pub submission: Option<Submission>,
    /// Lineage.
    pub lineage: Vec<Lineage>,
}
