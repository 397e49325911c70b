//! 退院時サマリー: a request, one patient's current SS-MIX2 records and the
//! patient's inpatient stays ([`crate::admission`]) → `JP_Bundle_eDischargeSummary`
//! (JP-CLINS 1.5.2, the `clins` package set).
//!
//! The stay: `discharge.admission` names it by its admission date or time
//! (`2011-11-20`, `2011-11-20T16:00`); without it, the latest discharged stay. It
//! must exist (`M360`), be unambiguous (`M362`) and be discharged (`M361`). The
//! Composition's event period is the stay (admission → discharge, both required
//! by the profile, which forbids event.code); its encounter is the stay's
//! Encounter (JP_Encounter_eCS: class from PV1-2 through the site's `v2-0004`
//! table, period, beds from PV1-3 of the admission and transfers with their
//! periods, the attending doctor from PV1-7).
//!
//! | section | from |
//! |---|---|
//! | 300 構造情報 › 322 入院時詳細 | the stay Encounter; text: admission time, bed, department, doctor |
//! | › 342 入院時診断 | Conditions active on the admission day (onset on or before it, not ended before it) |
//! | › 510 アレルギー・不耐性反応 | AllergyIntolerances (when any) |
//! | › 352 主訴 | `narrative.chief_complaint` |
//! | › 312 入院理由 | `narrative.admission_reason` |
//! | › 362 現病歴 | `narrative.present_illness` |
//! | › 372 既往歴 | `narrative.past_history` and Conditions ended before the admission (5-year window) |
//! | › 432 入院時服薬 | prescriptions ordered before the admission whose period covers the admission day |
//! | › 642 社会歴 / 552 家族歴 | `narrative.social_history` / `narrative.family_history` |
//! | › 333 入院中経過 | `narrative.hospital_course` (required) as text and as a DocumentReference (LOINC 8648-8, text/plain) |
//! | › 324 退院時詳細 | the stay Encounter; text: discharge time, bed, department, transfers |
//! | › 344 退院時診断 | Conditions active during the stay (onset on or before discharge, not ended before admission); at least one is required |
//! | › 444 退院時投薬指示 | prescriptions ordered during the stay whose period reaches the discharge day |
//! | › 424 退院時方針指示 | `narrative.discharge_plan` |
//! | › 623 入院中検査結果 | lab results collected during the stay (when any) |
//! | 230 PDF | `[[attachments]]` |
//!
//! A required section with no source says so: emptyReason `unavailable` and the
//! text 「記載なし（情報源なし）」 (R4 cmp-1 wants text, entries or sub-sections);
//! nothing is made up. 1.5.2's own section value set lacks the discharge-summary
//! section codes: the validator's errata (JP-E001) accept them, and the run says so.

use super::request::{Attachment, DocumentRequest, Kind, Person};
use super::{Doc, DocType, DocumentBundle, Sources, section};
use crate::admission::{Bed, Stay};
use crate::codes;
use crate::config::SiteConfig;
use crate::record::{ConditionRecord, MedicationRecord};
use diagnostics::{Diagnostic, Diagnostics, Location};
use fhir::model::build;
use fhir::model::types::Reference;
use fhir::model::{CompositionSection, Encounter, resources};

/// What the eDischargeSummary fixes.
pub const DOC_TYPE: DocType = DocType {
    bundle_profile: "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary",
    composition_profile: "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Composition_eDischargeSummary",
    type_code: "18842-5",
    title: "退院時サマリー",
    // The profile forbids event.code (0..0); the event is the stay's period.
    event_text: "",
};

/// The text of a required section that has no source.
pub const NO_SOURCE_TEXT: &str = "記載なし（情報源なし）";

/// An attachment with the bytes the CLI read.
pub type AttachmentBytes<'a> = super::referral::AttachmentBytes<'a>;

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";

fn refs(urls: &[String]) -> Vec<Reference> {
    urls.iter().map(|u| build::reference_to(u)).collect()
}

/// The day (`YYYY-MM-DD`) of a FHIR date or dateTime.
fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (proleptic Gregorian), if it is one.
fn day_number(d: &str) -> Option<i64> {
    let y: i64 = d.get(..4)?.parse().ok()?;
    let m: i64 = d.get(5..7)?.parse().ok()?;
    let dd: i64 = d.get(8..10)?.parse().ok()?;
    Some(fhir::calendar::days_from_civil(y, m, dd))
}

/// The last day a prescription line covers (day number): TQ1-8 end, else
/// start + days − 1; `None` when the source gives neither.
fn last_day(m: &MedicationRecord) -> Option<i64> {
    if let Some(end) = m.end.as_deref() {
        return day_number(day(end));
    }
    let start = day_number(day(m.start.as_deref().or(m.authored_on.as_deref())?))?;
    let days: i64 = m.days.as_deref()?.trim().parse().ok()?;
    Some(start + days.max(1) - 1)
}

/// A required section with nothing from the sources: emptyReason `unavailable`
/// and a text that says so.
fn no_source(code: &str, display: &str, title: &str) -> CompositionSection {
    CompositionSection {
        empty_reason: Some(Box::new(build::concept(
            EMPTY_REASON,
            "unavailable",
            Some("Unavailable"),
        ))),
        ..section(code, display, title, Some(NO_SOURCE_TEXT), Vec::new())
    }
}

/// The entries of a section and one line of text for each (the name as the
/// source gives it).
#[derive(Default)]
struct Listed {
    urls: Vec<String>,
    lines: Vec<String>,
}

impl Listed {
    fn push(&mut self, url: String, line: String) {
        self.urls.push(url);
        self.lines.push(line);
    }
}

/// A section from narrative text and entries (the text: the narrative, then one
/// line per entry); `required` sections without either become [`no_source`],
/// optional ones are left out (`None`).
fn text_section(
    (code, display, title): (&str, &str, &str),
    text: Option<&str>,
    entries: &Listed,
    required: bool,
) -> Option<CompositionSection> {
    let text = text.filter(|t| !t.trim().is_empty());
    if text.is_none() && entries.urls.is_empty() {
        return required.then(|| no_source(code, display, title));
    }
    let mut all: Vec<&str> = text.into_iter().collect();
    all.extend(entries.lines.iter().map(String::as_str));
    let joined = all.join("\n");
    Some(section(
        code,
        display,
        title,
        Some(&joined),
        refs(&entries.urls),
    ))
}

/// A lab result's line: name, value and unit as sent.
fn lab_line(o: &crate::record::ObservationRecord) -> String {
    let value = match &o.value {
        Some(crate::record::Value::Quantity {
            value,
            comparator,
            unit,
        }) => format!("{}{value} {unit}", comparator.as_deref().unwrap_or("")),
        Some(crate::record::Value::String(s)) => s.clone(),
        Some(crate::record::Value::Concept(c)) => c.text.clone(),
        None => String::new(),
    };
    let when = o.effective.as_deref().map(day).unwrap_or_default();
    format!("{} {}: {}", when, o.code.text, value.trim())
}

fn bed_text(b: Option<&Bed>) -> String {
    b.map(Bed::text).unwrap_or_default()
}

/// Whether a condition was active on `d` (a day): begun by then and not ended before.
fn active_on(c: &ConditionRecord, from: &str, to: &str) -> bool {
    let began = c.onset.as_deref().or(c.recorded.as_deref());
    let ended = c.abatement.as_deref();
    began.is_some_and(|b| day(b) <= to) && ended.is_none_or(|e| day(e) >= from)
}

/// Builds the eDischargeSummary for the stay the request names (among `src.stays`).
pub fn build(
    req: &DocumentRequest,
    config: &SiteConfig,
    src: &Sources,
    attachments: &[AttachmentBytes<'_>],
) -> Result<DocumentBundle, Diagnostics> {
    let mut doc = Doc::new(req, config);
    let discharge = match (req.kind, &req.discharge) {
        (Kind::Discharge, Some(d)) => d,
        _ => {
            return Err(doc.kind_mismatch("a discharge summary"));
        }
    };
    let stay = match crate::admission::select(&src.stays, discharge.admission.as_deref()) {
        Ok(s) => s,
        Err(d) => {
            let mut d = *d;
            if d.location.element.is_none() && d.location.file.is_none() {
                d.location = Location::default().element("discharge.admission");
            }
            doc.diagnostics.push(d);
            return Err(doc.diagnostics);
        }
    };
    let Some(discharged) = stay.discharged() else {
        // select() returns discharged stays only.
        return Err(doc.diagnostics);
    };
    let discharged = discharged.to_owned();
    let admitted = stay.admitted().to_owned();
    let (from, to) = (day(&admitted).to_owned(), day(&discharged).to_owned());
    let Some(class) = stay.class().cloned() else {
        doc.diagnostics.push(
            Diagnostic::new(
                &codes::STAY_NO_CLASS,
                "PV1-2 of the stay's messages maps to no encounter class (v2-0004 table)",
            )
            .at(stay.admission.at.clone()),
        );
        return Err(doc.diagnostics);
    };
    let Some(course) = req
        .narrative
        .hospital_course
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    else {
        doc.diagnostics.push(
            Diagnostic::new(
                &codes::NO_HOSPITAL_COURSE,
                "missing `narrative.hospital_course`: 333 入院中経過 needs it (no source holds it)",
            )
            .at(Location::default().element("narrative.hospital_course")),
        );
        return Err(doc.diagnostics);
    };
    if !doc.patient(src.patient.as_ref()) {
        return Err(doc.diagnostics);
    }
    let n = req.narrative.clone();
    // Parts of the request this document has no place for: said, not dropped.
    let unused = [
        ("encounter", req.encounter.is_some()),
        (
            "sources",
            req.sources.from.is_some() || req.sources.to.is_some(),
        ),
        ("narrative.physical_findings", n.physical_findings.is_some()),
        ("narrative.clinical_course", n.clinical_course.is_some()),
        ("narrative.treatment_plan", n.treatment_plan.is_some()),
        ("narrative.remarks", n.remarks.is_some()),
    ];
    for (key, given) in unused {
        if given {
            doc.diagnostics.push(
                Diagnostic::new(
                    &codes::DISCHARGE_UNUSED_PART,
                    format!("`{key}` is not used by a discharge summary"),
                )
                .at(Location::default().element(key)),
            );
        }
    }
    let as_of: String = from.chars().filter(char::is_ascii_digit).collect();

    // People and organisations.
    let site = &req.author.organization;
    let author = doc.practitioner(&req.author.person, "author", &site.institution_number);
    let attending = stay.last_attending().map(|a| {
        doc.practitioner(
            &Person {
                name: a.name.clone(),
                kana: None,
                id: (!a.id.is_empty()).then(|| a.id.clone()),
            },
            "PV1-7",
            &site.institution_number,
        )
    });
    let site_url = doc.organization(site);

    // The stay Encounter.
    let encounter_url = doc.url(&[b"Encounter", b"stay", admitted.as_bytes()]);
    let encounter = stay_encounter(&doc, stay, &class, attending.as_deref(), &discharged);
    let lineage = stay
        .events()
        .map(|e| crate::record::Lineage {
            element: "Encounter",
            file: e.file.clone(),
            segment: e
                .at
                .segment
                .as_ref()
                .map(|s| format!("{}#{}", s.id, s.index))
                .unwrap_or_default(),
            field: e.at.field.as_ref().map(|f| f.path()).unwrap_or_default(),
        })
        .collect();
    doc.add(&encounter_url, encounter, "Encounter", lineage, Vec::new());

    // Conditions.
    let (mut on_admission, mut on_discharge, mut past) =
        (Listed::default(), Listed::default(), Listed::default());
    for c in &src.conditions {
        let during = active_on(c, &from, &to);
        let ended_before = c
            .abatement
            .as_deref()
            .is_some_and(|e| day(e) < from.as_str());
        if during {
            let sec = if active_on(c, &from, &from) {
                "342, 344"
            } else {
                "344"
            };
            if let Some(u) = doc.condition(c, sec) {
                if active_on(c, &from, &from) {
                    on_admission.push(u.clone(), c.code.text.clone());
                }
                on_discharge.push(u, c.code.text.clone());
            }
        } else if ended_before && crate::condition::in_reporting_window(c, &as_of) {
            if let Some(u) = doc.condition(c, "372") {
                past.push(u, c.code.text.clone());
            }
        } else {
            doc.left_out(
                "Condition",
                if ended_before {
                    "left out: ended more than 5 years before the admission"
                } else {
                    "left out: begun after the discharge"
                },
            );
        }
    }
    if on_discharge.urls.is_empty() {
        doc.diagnostics.push(
            Diagnostic::new(
                &codes::NO_STAY_CONDITION,
                format!(
                    "no submittable Condition was active between {from} and {to}: 344 退院時診断 needs one"
                ),
            )
            .at(stay.admission.at.clone()),
        );
        return Err(doc.diagnostics);
    }
    let mut allergies = Listed::default();
    for (i, a) in src.allergies.iter().enumerate() {
        if let Some(u) = doc.allergy(i, a, "510") {
            allergies.push(u, a.code.text.clone());
        }
    }
    let mut labs = Listed::default();
    for (i, o) in src.observations.iter().enumerate() {
        match o.effective.as_deref() {
            Some(e) if day(e) >= from.as_str() && day(e) <= to.as_str() => {
                if let Some(u) = doc.observation(i, o, "623") {
                    labs.push(u, lab_line(o));
                }
            }
            Some(_) => doc.left_out("Observation", "left out: collected outside the stay"),
            None => doc.left_out(
                "Observation",
                "left out: no collection time to place in the stay",
            ),
        }
    }
    let (Some(from_n), Some(to_n)) = (day_number(&from), day_number(&to)) else {
        return Err(doc.diagnostics);
    };
    let (mut meds_in, mut meds_out) = (Listed::default(), Listed::default());
    for m in &src.medications {
        let ordered = m
            .authored_on
            .as_deref()
            .or(m.start.as_deref())
            .and_then(|d| day_number(day(d)));
        let started = m
            .start
            .as_deref()
            .or(m.authored_on.as_deref())
            .and_then(|d| day_number(day(d)));
        let last = last_day(m);
        let (Some(ordered), Some(started)) = (ordered, started) else {
            doc.left_out(
                "MedicationRequest",
                "left out: no order date to place in the stay",
            );
            continue;
        };
        let at_admission =
            ordered < from_n && started <= from_n && last.is_some_and(|l| l >= from_n);
        let at_discharge = ordered >= from_n && ordered <= to_n && last.is_some_and(|l| l >= to_n);
        match (at_admission, at_discharge) {
            (true, _) => {
                if let Some(u) = doc.medication(m, "432") {
                    meds_in.push(u, med_line(m));
                }
            }
            (false, true) => {
                if let Some(u) = doc.medication(m, "444") {
                    meds_out.push(u, med_line(m));
                }
            }
            _ => doc.left_out(
                "MedicationRequest",
                if ordered < from_n {
                    "left out: ended before the admission"
                } else if ordered > to_n {
                    "left out: ordered after the discharge"
                } else {
                    "left out: ended before the discharge (inpatient use)"
                },
            ),
        }
    }
    let course_doc = doc.attachment(
        0,
        &Attachment {
            path: "narrative.hospital_course".into(),
            title: "入院中経過".into(),
            content_type: "text/plain;charset=utf-8".into(),
        },
        course.as_bytes(),
        ("8648-8", "Hospital course Narrative"),
    );
    let mut pdfs = Vec::new();
    for (i, (a, bytes)) in attachments.iter().enumerate() {
        pdfs.push(doc.attachment(i + 1, a, bytes, ("18842-5", "Discharge summary")));
    }

    // Texts of the encounter sections.
    let dept = |d: Option<&crate::record::Coding>| d.map(|c| c.display.clone()).unwrap_or_default();
    let mut admission_text = format!("入院日時: {admitted}");
    for (label, v) in [
        ("病床", bed_text(stay.admission.bed.as_ref())),
        ("診療科", dept(stay.admission.department.as_ref())),
        (
            "担当医",
            stay.admission
                .attending
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
        ),
    ] {
        if !v.is_empty() {
            admission_text.push_str(&format!("\n{label}: {v}"));
        }
    }
    let mut discharge_text = format!("退院日時: {discharged}");
    for t in &stay.transfers {
        let b = bed_text(t.bed.as_ref());
        if !b.is_empty() {
            discharge_text.push_str(&format!("\n転棟・転科 {}: {b}", t.time));
        }
    }
    for (label, v) in [
        ("病床", bed_text(stay.last_bed())),
        ("診療科", dept(stay.last_department())),
    ] {
        if !v.is_empty() {
            discharge_text.push_str(&format!("\n{label}: {v}"));
        }
    }

    let enc = std::slice::from_ref(&encounter_url);
    let mut subs: Vec<CompositionSection> = Vec::new();
    subs.push(section(
        "322",
        "入院時詳細セクション",
        "入院時詳細",
        Some(&admission_text),
        refs(enc),
    ));
    subs.extend(text_section(
        ("342", "入院時診断セクション", "入院時診断"),
        None,
        &on_admission,
        true,
    ));
    subs.extend(text_section(
        (
            "510",
            "アレルギー・不耐性反応セクション",
            "アレルギー・不耐性反応",
        ),
        None,
        &allergies,
        false,
    ));
    subs.extend(text_section(
        ("352", "主訴セクション", "主訴"),
        n.chief_complaint.as_deref(),
        &Listed::default(),
        true,
    ));
    subs.extend(text_section(
        ("312", "入院理由セクション", "入院理由"),
        n.admission_reason.as_deref(),
        &Listed::default(),
        true,
    ));
    subs.extend(text_section(
        (
            src.discharge_sections.code("presentIllnessSection", "362"),
            "現病歴セクション",
            "現病歴",
        ),
        n.present_illness.as_deref(),
        &Listed::default(),
        true,
    ));
    subs.extend(text_section(
        (
            src.discharge_sections.code("pastIllnessSection", "372"),
            "既往歴セクション",
            "既往歴",
        ),
        n.past_history.as_deref(),
        &past,
        false,
    ));
    subs.extend(text_section(
        ("432", "入院時服薬セクション", "入院時服薬"),
        None,
        &meds_in,
        false,
    ));
    subs.extend(text_section(
        (
            src.discharge_sections.code("socialHistorySection", "642"),
            "社会歴・生活習慣セクション",
            "社会歴・生活習慣",
        ),
        n.social_history.as_deref(),
        &Listed::default(),
        false,
    ));
    subs.extend(text_section(
        (
            src.discharge_sections.code("familiyHistorySection", "552"),
            "家族歴セクション",
            "家族歴",
        ),
        n.family_history.as_deref(),
        &Listed::default(),
        false,
    ));
    subs.push(section(
        "333",
        "入院中経過セクション",
        "入院中経過",
        Some(course),
        refs(&[course_doc]),
    ));
    subs.push(section(
        "324",
        "退院時詳細セクション",
        "退院時詳細",
        Some(&discharge_text),
        refs(enc),
    ));
    subs.extend(text_section(
        ("344", "退院時診断セクション", "退院時診断"),
        None,
        &on_discharge,
        true,
    ));
    subs.extend(text_section(
        ("444", "退院時投薬指示セクション", "退院時投薬指示"),
        None,
        &meds_out,
        true,
    ));
    subs.extend(text_section(
        ("424", "退院時方針指示セクション", "退院時方針指示"),
        n.discharge_plan.as_deref(),
        &Listed::default(),
        true,
    ));
    subs.extend(text_section(
        ("623", "入院中検査結果セクション", "入院中検査結果"),
        None,
        &labs,
        false,
    ));
    let mut structured = section("300", "構造情報セクション", "構造情報", None, Vec::new());
    // The profile forbids text on 300 (0..0); its sub-sections meet cmp-1.
    structured.section = subs;
    let mut sections = vec![structured];
    if !pdfs.is_empty() {
        sections.push(section(
            "230",
            "PDFセクション",
            "PDF",
            Some("PDF"),
            refs(&pdfs),
        ));
    }

    let mut authors = vec![author];
    authors.push(site_url.clone());
    let mut out = doc.finish(
        &DOC_TYPE,
        Some(&encounter_url),
        &authors,
        &site_url,
        sections,
    );
    // The event is the stay: start and end, no code (0..0 in the profile).
    if let Some(c) = out.composition_mut() {
        c.event = vec![resources::CompositionEvent {
            period: Some(Box::new(build::period(Some(&admitted), Some(&discharged)))),
            ..Default::default()
        }];
        c.category = vec![build::concept(
            super::DOC_SUBTYPE_SYSTEM,
            "DISCHARGE",
            Some("退院時文書"),
        )];
    }
    Ok(out)
}

/// A prescription line's text: the drug as printed and the dosage text.
fn med_line(m: &MedicationRecord) -> String {
    format!("{} {}", m.medication.text, m.dosage_text)
        .trim()
        .to_owned()
}

/// The stay's Encounter (JP_Encounter_eCS).
fn stay_encounter(
    doc: &Doc<'_>,
    stay: &Stay,
    class: &crate::record::Coding,
    attending: Option<&str>,
    discharged: &str,
) -> Encounter {
    // Beds with their periods: admission, then each transfer, until the discharge.
    // When the discharge names another bed, the move to it was not sent: the bed
    // before it gets no end, and the discharge bed (whose start is unknown, and
    // JP_Encounter_eCS requires location.period.start) is only in 324's text.
    let events: Vec<_> = stay
        .events()
        .filter(|e| e.kind != crate::admission::EventKind::Discharge)
        .collect();
    let last_bed = events.iter().rev().find_map(|e| e.bed.as_ref());
    let discharge_bed = stay
        .discharge
        .as_ref()
        .and_then(|d| d.bed.as_ref())
        .filter(|b| Some(*b) != last_bed);
    let place = |bed: &Bed, start: &str, end: Option<&str>| resources::EncounterLocation {
        location: Box::new(Reference {
            display: Some(bed.text().as_str().into()),
            ..Default::default()
        }),
        status: Some("completed".into()),
        period: Some(Box::new(build::period(Some(start), end))),
        ..Default::default()
    };
    let mut location = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(bed) = e.bed.as_ref() else { continue };
        let end = match events.get(i + 1) {
            Some(next) => Some(next.time.as_str()),
            None if discharge_bed.is_none() => Some(discharged),
            None => None,
        };
        location.push(place(bed, &e.time, end));
    }
    Encounter {
        meta: super::meta(super::ENCOUNTER_PROFILE, &doc.last_updated),
        status: "finished".into(),
        class: Box::new(build::coding(ACT_CODE, &class.code, Some(&class.display))),
        subject: Some(Box::new(build::reference_to(&doc.patient_url))),
        participant: attending
            .map(|a| resources::EncounterParticipant {
                r#type: vec![build::concept(PARTICIPATION, "ATND", Some("attender"))],
                individual: Some(Box::new(build::reference_to(a))),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        period: Some(Box::new(build::period(
            Some(stay.admitted()),
            Some(discharged),
        ))),
        location,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
