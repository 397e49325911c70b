//! Records → JP-CLINS FHIR resources (fhirbolt R4 types) and JP_Bundle_CLINS.
//!
//! Slice 1: the lab-report unit (Patient first, then its Observations). Every
//! fullUrl is a UUID v5 derived from the unit's identity and the entry's source
//! key (`fhir::model::id::urn_uuid`), so the same input gives the same bytes.

use crate::record::{
    AllergyRecord, Coding, Concept, ConditionRecord, ObservationRecord, PatientRecord, Submission,
    Value,
};
use crate::unit::UnitKey;
use crate::{config::SiteConfig, uri};
use fhir::model::types::{CodeableConcept, Extension, HumanName, Identifier, Meta, Reference};
use fhir::model::{
    AllergyIntolerance, Bundle, Condition, Encounter, IntoResource, Observation, Patient, build,
    id, resources,
};

const PATIENT_PROFILE: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS";
const ALLERGY_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_AllergyIntolerance_eCS";
const CONDITION_PROFILE: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS";
const DIAGNOSIS_TYPE_EXT: &str =
    "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_DiagnosisType";
const PREFIX_EXT: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePrefixModifier";
const POSTFIX_EXT: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePostfixModifier";
const OBSERVATION_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_LabResult_eCS";
const BUNDLE_PROFILE: &str = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS";
const INSTITUTION_EXT: &str =
    "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber";
const DEPARTMENT_EXT: &str =
    "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department";
const INSTITUTION_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no";
const RESOURCE_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier";
const REPRESENTATION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
const BUNDLE_TYPE_TAG: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS";
const INDICATION_TAG: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_ehrshrs_indication";

/// The Patient entry's fullUrl in the bundle `ident` (UUID v5 of the identifier).
pub fn patient_url(ident: &str) -> String {
    id::urn_uuid(&[ident.as_bytes(), b"Patient"])
}

/// A Condition's fullUrl in the bundle `ident` (its problem id).
pub fn condition_url(ident: &str, c: &ConditionRecord) -> String {
    id::urn_uuid(&[ident.as_bytes(), c.problem_id.as_bytes()])
}

/// The fullUrl of the `i`-th allergy of the bundle `ident`.
pub fn allergy_url(ident: &str, i: usize, a: &AllergyRecord) -> String {
    let n = i.to_string();
    id::urn_uuid(&[ident.as_bytes(), n.as_bytes(), a.set_id.as_bytes()])
}

/// The fullUrl of the `i`-th Observation of the bundle `ident` (order number,
/// position and OBX-1: OBX set ids restart in every OBR group).
pub fn observation_url(ident: &str, i: usize, o: &ObservationRecord) -> String {
    let n = i.to_string();
    id::urn_uuid(&[
        ident.as_bytes(),
        o.order_no.as_bytes(),
        n.as_bytes(),
        o.set_id.as_bytes(),
    ])
}

fn coding(c: &Coding) -> fhir::model::types::Coding {
    build::coding(
        &c.system,
        &c.code,
        (!c.display.is_empty()).then_some(c.display.as_str()),
    )
}

fn concept(c: &Concept) -> CodeableConcept {
    build::codeable_concept(
        c.coding.iter().map(coding).collect(),
        (!c.text.is_empty()).then_some(c.text.as_str()),
    )
}

fn institution(cfg: &SiteConfig) -> Extension {
    build::extension_value_identifier(
        INSTITUTION_EXT,
        build::identifier(INSTITUTION_ID, &cfg.institution_number),
    )
}

fn department(d: &Coding) -> Extension {
    build::extension_value_codeable_concept(
        DEPARTMENT_EXT,
        build::codeable_concept(vec![coding(d)], Some(&d.display)),
    )
}

/// JP_Patient_eCS.
pub fn patient(p: &PatientRecord, cfg: &SiteConfig, last_updated: &str) -> Patient {
    let mut identifier: Vec<Identifier> = Vec::new();
    if let Some(m) = &p.member_id {
        identifier.push(build::identifier(&m.system, &m.value));
    }
    identifier.push(build::identifier(
        &format!("{}{}", uri::LOCAL_PATIENT_ID_PREFIX, cfg.institution_number),
        &p.local_id,
    ));
    let name = p
        .names
        .iter()
        .map(|n| HumanName {
            extension: vec![build::extension_value_code(
                REPRESENTATION_EXT,
                n.representation,
            )],
            r#use: Some("official".into()),
            text: Some(n.text.as_str().into()),
            family: (!n.family.is_empty()).then(|| n.family.as_str().into()),
            given: if n.given.is_empty() {
                Vec::new()
            } else {
                vec![n.given.as_str().into()]
            },
            ..Default::default()
        })
        .collect();
    Patient {
        meta: Some(Box::new(Meta {
            last_updated: Some(last_updated.into()),
            ..build::meta_with_profile(&[PATIENT_PROFILE])
        })),
        identifier,
        name,
        gender: p.gender.as_deref().map(Into::into),
        birth_date: p.birth_date.as_deref().map(Into::into),
        address: p
            .address
            .iter()
            .map(|a| fhir::model::types::Address {
                text: Some(a.text.as_str().into()),
                postal_code: (!a.postal_code.is_empty()).then(|| a.postal_code.as_str().into()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The contained JP_Encounter, when the class is known: no class is ever guessed.
/// Conditions and Observations without one are withheld by their mappers (R9013C,
/// R9013O); an AllergyIntolerance is sent without an Encounter.
pub(crate) fn encounter(class: Option<&Coding>) -> Option<fhir::model::Resource> {
    let class = coding(class?);
    let e = Encounter {
        id: Some("encounter".into()),
        meta: Some(Box::new(build::meta_with_profile(&[
            "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Encounter",
        ]))),
        status: "finished".into(),
        class: Box::new(class),
        ..Default::default()
    };
    Some(e.into_resource())
}

/// `#encounter` when the contained Encounter exists.
fn encounter_ref(class: Option<&Coding>) -> Option<Box<Reference>> {
    class.map(|_| Box::new(build::reference_to("#encounter")))
}

/// The InstitutionNumber extension, plus the Department extension when the record
/// has a mapped department (R9011, R9014).
pub(crate) fn site_extensions(cfg: &SiteConfig, dept: Option<&Coding>) -> Vec<Extension> {
    let mut extension = vec![institution(cfg)];
    if let Some(d) = dept {
        extension.push(department(d));
    }
    extension
}

/// JP_Observation_LabResult_eCS; `None` unless the record is submitted.
pub fn observation(
    o: &ObservationRecord,
    cfg: &SiteConfig,
    patient_url: &str,
    last_updated: &str,
) -> Option<Observation> {
    if o.submission != Some(Submission::Submit) {
        return None;
    }
    let extension = site_extensions(cfg, o.department.as_ref());
    let tags: Vec<_> = o
        .tags
        .iter()
        .map(|t| build::coding(INDICATION_TAG, t.code(), None))
        .collect();
    let value = o.value.as_ref().map(|v| match v {
        Value::Quantity {
            value,
            comparator,
            unit,
        } => resources::ObservationValue::Quantity(Box::new(fhir::model::types::Quantity {
            comparator: comparator.as_deref().map(Into::into),
            ..build::quantity(value, unit, None, None)
        })),
        Value::String(s) => resources::ObservationValue::String(s.as_str().into()),
        Value::Concept(c) => resources::ObservationValue::CodeableConcept(Box::new(concept(c))),
    });
    let reference_range = o
        .range
        .iter()
        .map(|r| resources::ObservationReferenceRange {
            low: r
                .low
                .as_deref()
                .map(|v| Box::new(build::quantity(v, unit_of(o), None, None))),
            high: r
                .high
                .as_deref()
                .map(|v| Box::new(build::quantity(v, unit_of(o), None, None))),
            text: Some(r.text.as_str().into()),
            ..Default::default()
        })
        .collect();
    let specimen = o.specimen.as_ref().map(|s| {
        Box::new(Reference {
            r#type: Some("Specimen".into()),
            display: Some(s.display.as_str().into()),
            ..Default::default()
        })
    });
    let mut contained: Vec<_> = encounter(o.encounter_class.as_ref()).into_iter().collect();
    // The ordering doctor (JP-CLINS 1.10 requires performer + a contained
    // JP_Practitioner, R9017O / R9019O; 1.5.2 allows them).
    let performer = o.orderer.as_ref().map(|p| {
        contained.push(crate::medication::practitioner(p, cfg, "performer").into_resource());
        Box::new(Reference {
            reference: Some("#performer".into()),
            r#type: Some("Practitioner".into()),
            display: (!p.name.is_empty()).then(|| p.name.as_str().into()),
            ..Default::default()
        })
    });
    Some(Observation {
        meta: Some(Box::new(Meta {
            last_updated: Some(last_updated.into()),
            ..build::meta_with_profile_and_tags(&[OBSERVATION_PROFILE], tags)
        })),
        contained,
        extension,
        identifier: vec![build::identifier(
            RESOURCE_ID,
            &format!("{}_{}", o.order_no, o.set_id),
        )],
        status: o.status.into(),
        category: vec![build::concept(
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS",
            "laboratory",
            Some("検体検査"),
        )],
        code: Box::new(concept(&o.code)),
        subject: Some(Box::new(build::reference_to(patient_url))),
        encounter: encounter_ref(o.encounter_class.as_ref()),
        effective: o
            .effective
            .as_deref()
            .map(|e| resources::ObservationEffective::DateTime(e.into())),
        issued: o.issued.as_deref().map(Into::into),
        performer: performer.into_iter().map(|r| *r).collect(),
        value,
        interpretation: o
            .interpretation
            .iter()
            .map(|c| build::codeable_concept(vec![coding(c)], None))
            .collect(),
        specimen,
        reference_range,
        ..Default::default()
    })
}

fn unit_of(o: &ObservationRecord) -> &str {
    match &o.value {
        Some(Value::Quantity { unit, .. }) => unit,
        _ => "",
    }
}

/// JP_Bundle_CLINS for one lab report: the Patient, then every submitted
/// Observation. `timestamp` is the unit's time (from the source, with
/// milliseconds and offset); `year` the identifier's year (the ledger keeps the first).
pub fn lab_report(
    cfg: &SiteConfig,
    unit: &UnitKey,
    year: u16,
    timestamp: &str,
    patient_rec: &PatientRecord,
    observations: &[ObservationRecord],
) -> Bundle {
    unit_bundle(
        cfg,
        unit,
        year,
        timestamp,
        patient_rec,
        |ident, patient_url, entry| {
            for (i, o) in observations.iter().enumerate() {
                if let Some(obs) = observation(o, cfg, patient_url, timestamp) {
                    entry.push(build::bundle_entry(&observation_url(ident, i, o), obs));
                }
            }
        },
    )
}

/// JP_Condition_eCS; `None` unless the record is submitted.
pub fn condition(
    c: &ConditionRecord,
    cfg: &SiteConfig,
    patient_url: &str,
    last_updated: &str,
) -> Option<Condition> {
    if c.submission != Some(Submission::Submit) {
        return None;
    }
    let mut extension = site_extensions(cfg, c.department.as_ref());
    if c.principal {
        extension.push(build::extension_value_codeable_concept(
            DIAGNOSIS_TYPE_EXT,
            build::concept(
                "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                "principal",
                Some("Principal Diagnosis"),
            ),
        ));
    }
    for m in &c.prefix_modifiers {
        extension.push(build::extension_value_codeable_concept(
            PREFIX_EXT,
            concept(m),
        ));
    }
    for m in &c.postfix_modifiers {
        extension.push(build::extension_value_codeable_concept(
            POSTFIX_EXT,
            concept(m),
        ));
    }
    let tags: Vec<_> = c
        .tags
        .iter()
        .map(|t| build::coding(INDICATION_TAG, t.code(), None))
        .collect();
    Some(Condition {
        meta: Some(Box::new(Meta {
            last_updated: Some(last_updated.into()),
            ..build::meta_with_profile_and_tags(&[CONDITION_PROFILE], tags)
        })),
        contained: encounter(c.encounter_class.as_ref()).into_iter().collect(),
        extension,
        identifier: vec![build::identifier(RESOURCE_ID, &c.problem_id)],
        clinical_status: c.clinical_status.map(|s| {
            Box::new(build::status_concept(
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
                s,
            ))
        }),
        verification_status: Some(Box::new(build::status_concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            c.verification,
        ))),
        category: vec![build::concept(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            "encounter-diagnosis",
            Some("Encounter Diagnosis"),
        )],
        code: Some(Box::new(concept(&c.code))),
        subject: Box::new(build::reference_to(patient_url)),
        encounter: encounter_ref(c.encounter_class.as_ref()),
        onset: c
            .onset
            .as_deref()
            .map(|d| resources::ConditionOnset::DateTime(d.into())),
        abatement: c
            .abatement
            .as_deref()
            .map(|d| resources::ConditionAbatement::DateTime(d.into())),
        recorded_date: c.recorded.as_deref().map(Into::into),
        ..Default::default()
    })
}

/// JP_Bundle_CLINS for a patient's conditions (current and ended within 5 years
/// of `as_of`, `YYYYMMDD`): the Patient, then every submitted Condition.
pub fn conditions(
    cfg: &SiteConfig,
    unit: &UnitKey,
    year: u16,
    timestamp: &str,
    as_of: &str,
    patient_rec: &PatientRecord,
    records: &[ConditionRecord],
) -> Bundle {
    unit_bundle(
        cfg,
        unit,
        year,
        timestamp,
        patient_rec,
        |ident, patient_url, entry| {
            for c in records
                .iter()
                .filter(|c| crate::condition::in_reporting_window(c, as_of))
            {
                if let Some(r) = condition(c, cfg, patient_url, timestamp) {
                    entry.push(build::bundle_entry(&condition_url(ident, c), r));
                }
            }
        },
    )
}

/// A unit's JP_Bundle_CLINS: the Patient first, then the entries `add` pushes
/// (given the bundle identifier and the Patient's fullUrl).
fn unit_bundle(
    cfg: &SiteConfig,
    unit: &UnitKey,
    year: u16,
    timestamp: &str,
    patient_rec: &PatientRecord,
    add: impl FnOnce(&str, &str, &mut Vec<resources::BundleEntry>),
) -> Bundle {
    let ident = unit.bundle_identifier(&cfg.institution_number, year);
    let patient_url = patient_url(&ident);
    let mut entry = vec![build::bundle_entry(
        &patient_url,
        patient(patient_rec, cfg, timestamp),
    )];
    add(&ident, &patient_url, &mut entry);
    wrap(unit, &ident, timestamp, entry)
}

fn wrap(
    unit: &UnitKey,
    ident: &str,
    timestamp: &str,
    entry: Vec<resources::BundleEntry>,
) -> Bundle {
    Bundle {
        meta: Some(Box::new(Meta {
            last_updated: Some(timestamp.into()),
            ..build::meta_with_profile_and_tags(
                &[&format!("{BUNDLE_PROFILE}|1")],
                vec![build::coding(BUNDLE_TYPE_TAG, unit.resource_type(), None)],
            )
        })),
        identifier: Some(Box::new(build::identifier(
            "http://jpfhir.jp/fhir/clins/bundle-identifier",
            ident,
        ))),
        r#type: "collection".into(),
        timestamp: Some(timestamp.into()),
        entry,
        ..Default::default()
    }
}

/// JP_AllergyIntolerance_eCS; `None` unless the record is submitted.
pub fn allergy(
    a: &AllergyRecord,
    cfg: &SiteConfig,
    patient_url: &str,
    last_updated: &str,
) -> Option<AllergyIntolerance> {
    if a.submission != Some(Submission::Submit) {
        return None;
    }
    let tags: Vec<_> = a
        .tags
        .iter()
        .map(|t| build::coding(INDICATION_TAG, t.code(), None))
        .collect();
    // reaction.manifestation is 1..*: a reaction is sent when its text is known.
    let reaction = a
        .reaction
        .iter()
        .map(|text| resources::AllergyIntoleranceReaction {
            manifestation: vec![build::text_concept(text)],
            severity: a.severity.as_ref().map(|s| s.code.as_str().into()),
            ..Default::default()
        })
        .collect();
    Some(AllergyIntolerance {
        meta: Some(Box::new(Meta {
            last_updated: Some(last_updated.into()),
            ..build::meta_with_profile_and_tags(&[ALLERGY_PROFILE], tags)
        })),
        // No Encounter: the message that carried the allergy (ADT-61, ADT-00) says
        // nothing about the encounter it was recorded in, and CLINS does not require one.
        contained: Vec::new(),
        extension: vec![institution(cfg)],
        identifier: vec![build::identifier(RESOURCE_ID, &a.set_id)],
        clinical_status: a.clinical_status.map(|s| {
            Box::new(build::status_concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                s,
            ))
        }),
        verification_status: Some(Box::new(build::status_concept(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            a.verification,
        ))),
        category: a.category.iter().map(|c| c.code.as_str().into()).collect(),
        criticality: a.criticality.map(Into::into),
        code: Some(Box::new(concept(&a.code))),
        patient: Box::new(build::reference_to(patient_url)),
        encounter: None,
        onset: match (&a.onset, &a.onset_text) {
            (Some(d), _) => Some(resources::AllergyIntoleranceOnset::DateTime(
                d.as_str().into(),
            )),
            (None, Some(t)) => Some(resources::AllergyIntoleranceOnset::String(
                t.as_str().into(),
            )),
            _ => None,
        },
        recorded_date: a.recorded.as_deref().map(Into::into),
        reaction,
        ..Default::default()
    })
}

/// JP_Bundle_CLINS for a patient's allergies (drug and other together).
pub fn allergies(
    cfg: &SiteConfig,
    unit: &UnitKey,
    year: u16,
    timestamp: &str,
    patient_rec: &PatientRecord,
    records: &[AllergyRecord],
) -> Bundle {
    unit_bundle(
        cfg,
        unit,
        year,
        timestamp,
        patient_rec,
        |ident, patient_url, entry| {
            for (i, a) in records.iter().enumerate() {
                if let Some(r) = allergy(a, cfg, patient_url, timestamp) {
                    entry.push(build::bundle_entry(&allergy_url(ident, i, a), r));
                }
            }
        },
    )
}
