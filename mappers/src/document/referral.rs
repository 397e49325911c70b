//! 診療情報提供書: a request and one patient's current SS-MIX2 records →
//! `JP_Bundle_eReferral` (JP-CLINS 1.5.2, the `clins` package set), in the shape
//! of the package's own example (`Bundle-CLINS-Referral-Example-01`).
//!
//! | section | from |
//! |---|---|
//! | 920 紹介元情報 | the site Organization (作成機関 = 紹介元) and the author Practitioner |
//! | 910 紹介先情報 | `referral.destination` Organization and its doctor |
//! | 300 構造情報 › 950 紹介目的 | `referral.purpose` (text), the purpose Encounter when `[encounter]` gives a class |
//! | › 340 傷病名・主訴 | current Conditions (not ended) + `narrative.chief_complaint`; emptyReason `unavailable` when neither |
//! | › 360 現病歴 | `narrative.present_illness` (required in the request) |
//! | › 370 既往歴 | ended Conditions (within 5 years of the issue date) + `narrative.past_history` |
//! | › 510 アレルギー・不耐性反応 | AllergyIntolerances |
//! | › 550 家族歴, 610 身体所見, 640 社会歴, 330 臨床経過, 420 診療方針指示 | the narrative keys of the same name |
//! | › 520 感染症情報 | infection lab results in `[sources]` |
//! | › 620 検査結果 | other submitted lab results in `[sources]` |
//! | › 430 投薬指示 | prescription lines ordered in `[sources]` |
//! | 220 備考・連絡情報 | `narrative.remarks` |
//! | 230 PDF | `[[attachments]]` as DocumentReferences with the file inline |
//!
//! Optional sections with nothing to say are left out; the three required
//! sub-sections are always present. Records the mappers withhold stay out and are
//! counted with their reason ([`super::Tally`]).

use super::request::{DocumentRequest, Kind};
use super::{Doc, DocType, DocumentBundle, Sources, codes, empty_section, section};
use crate::config::SiteConfig;
use crate::record::LabKind;
use diagnostics::{Diagnostic, Diagnostics, Location};
use fhir::model::build;
use fhir::model::types::Reference;

/// What the eReferral fixes.
pub const DOC_TYPE: DocType = DocType {
    bundle_profile: "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral",
    composition_profile: "http://jpfhir.jp/fhir/eReferral/StructureDefinition/JP_Composition_eReferral",
    type_code: "57133-1",
    title: "診療情報提供書",
    event_text: "診療情報提供書発行",
};

/// An attachment with the bytes the CLI read.
pub type AttachmentBytes<'a> = (&'a super::request::Attachment, &'a [u8]);

fn refs(urls: &[String]) -> Vec<Reference> {
    urls.iter().map(|u| build::reference_to(u)).collect()
}

/// Builds the eReferral. `Err` (with `M303`/`M304`/`M309`/`M310`) when no document
/// can be built: no patient, a withheld patient, or a request of another kind.
pub fn build(
    req: &DocumentRequest,
    config: &SiteConfig,
    src: &Sources,
    attachments: &[AttachmentBytes<'_>],
) -> Result<DocumentBundle, Diagnostics> {
    let mut doc = Doc::new(req, config);
    let referral = match (req.kind, &req.referral) {
        (Kind::Referral, Some(r)) => r,
        _ => {
            return Err(doc.kind_mismatch("a referral"));
        }
    };
    for (i, (a, bytes)) in attachments.iter().enumerate() {
        if !bytes.starts_with(b"%PDF-") {
            doc.diagnostics.push(
                Diagnostic::new(
                    &codes::ATTACHMENT_NOT_PDF,
                    format!("`attachments[{i}].path` is not a PDF file"),
                )
                .at(Location::default().element(format!("attachments[{i}].path")))
                .excerpt(diagnostics::Excerpt::text(a.path.clone())),
            );
        }
    }
    if doc.diagnostics.has_errors() || !doc.patient(src.patient.as_ref()) {
        return Err(doc.diagnostics);
    }
    let n = req.narrative.clone();
    let as_of: String = req
        .issue_date()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();

    // Encounters: the visit (Composition.encounter) and the purpose (section 950).
    let (visit, purpose_enc) = match &req.encounter {
        Some(e) => (
            Some(doc.encounter(e, "visit", None)),
            Some(doc.encounter(
                &super::request::EncounterSpec {
                    start: None,
                    end: None,
                    id: None,
                    ..e.clone()
                },
                "purpose",
                Some(&referral.purpose),
            )),
        ),
        None => (None, None),
    };
    // People, then organisations.
    let site = &req.author.organization;
    let author = doc.practitioner(&req.author.person, "author", &site.institution_number);
    let to_doctor = referral.doctor.as_ref().map(|p| {
        doc.practitioner(
            p,
            "referral.destination.doctor",
            &referral.destination.institution_number,
        )
    });
    let site_url = doc.organization(site);
    let dest_url = doc.organization(&referral.destination);

    // Conditions: current ones → 340, ended ones in the 5-year window → 370.
    let (mut current, mut past) = (Vec::new(), Vec::new());
    for c in &src.conditions {
        if !crate::condition::in_reporting_window(c, &as_of) {
            doc.left_out(
                "Condition",
                "left out: ended more than 5 years before the issue date",
            );
            continue;
        }
        let ended = c.has_ended();
        let sec = if ended { "370" } else { "340" };
        if let Some(u) = doc.condition(c, sec) {
            if ended { past.push(u) } else { current.push(u) }
        }
    }
    let mut allergies = Vec::new();
    for (i, a) in src.allergies.iter().enumerate() {
        if let Some(u) = doc.allergy(i, a, "510") {
            allergies.push(u);
        }
    }
    let (mut infection, mut labs) = (Vec::new(), Vec::new());
    let period_given = req.sources.from.is_some() || req.sources.to.is_some();
    for (i, o) in src.observations.iter().enumerate() {
        match o.effective.as_deref() {
            Some(e) if !req.sources.contains(e) => {
                doc.left_out("Observation", "left out: outside the [sources] period");
                continue;
            }
            None if period_given => {
                doc.left_out(
                    "Observation",
                    "left out: no effective time to place in the [sources] period",
                );
                continue;
            }
            _ => {}
        }
        let inf = o.kind == LabKind::Infection;
        if let Some(u) = doc.observation(i, o, if inf { "520" } else { "620" }) {
            if inf { infection.push(u) } else { labs.push(u) }
        }
    }
    let mut meds = Vec::new();
    for m in &src.medications {
        match m.authored_on.as_deref().or(m.start.as_deref()) {
            Some(d) if !req.sources.contains(d) => {
                doc.left_out(
                    "MedicationRequest",
                    "left out: outside the [sources] period",
                );
                continue;
            }
            None if period_given => {
                doc.left_out(
                    "MedicationRequest",
                    "left out: no order date to place in the [sources] period",
                );
                continue;
            }
            _ => {}
        }
        if let Some(u) = doc.medication(m, "430") {
            meds.push(u);
        }
    }
    let mut pdfs = Vec::new();
    for (i, (a, bytes)) in attachments.iter().enumerate() {
        pdfs.push(doc.attachment(i, a, bytes, ("57133-1", "Referral note")));
    }

    // Sections.
    let from_entries = vec![site_url.clone(), author.clone()];
    let mut to_entries = vec![dest_url];
    to_entries.extend(to_doctor);
    let dest = &referral.destination;
    let mut to_text = dest.name.clone();
    if let Some(d) = &dest.department {
        to_text.push(' ');
        to_text.push_str(&d.display);
    }
    if let Some(p) = &referral.doctor {
        to_text.push(' ');
        to_text.push_str(&p.name);
        to_text.push_str(" 先生");
    }
    let mut sub = vec![section(
        "950",
        "紹介目的セクション",
        "紹介目的",
        Some(&referral.purpose),
        purpose_enc.iter().map(|u| build::reference_to(u)).collect(),
    )];
    if current.is_empty() && n.chief_complaint.is_none() {
        doc.diagnostics.push(
            Diagnostic::new(
                &codes::SECTION_EMPTY,
                "section 340 傷病名・主訴: no current condition and no narrative.chief_complaint",
            )
            .at(Location::default().element("narrative.chief_complaint")),
        );
        sub.push(empty_section(
            "340",
            "傷病名・主訴セクション",
            "傷病名・主訴",
        ));
    } else {
        sub.push(section(
            "340",
            "傷病名・主訴セクション",
            "傷病名・主訴",
            n.chief_complaint.as_deref(),
            refs(&current),
        ));
    }
    sub.push(section(
        "360",
        "現病歴セクション",
        "現病歴",
        n.present_illness.as_deref(),
        Vec::new(),
    ));
    let optional = |code: &str, display: &str, title: &str, text: Option<&str>, e: &[String]| {
        (text.is_some_and(|t| !t.trim().is_empty()) || !e.is_empty())
            .then(|| section(code, display, title, text, refs(e)))
    };
    sub.extend(optional(
        "370",
        "既往歴セクション",
        "既往歴",
        n.past_history.as_deref(),
        &past,
    ));
    sub.extend(optional(
        "510",
        "アレルギー・不耐性反応セクション",
        "アレルギー・不耐性反応",
        None,
        &allergies,
    ));
    sub.extend(optional(
        "550",
        "家族歴セクション",
        "家族歴",
        n.family_history.as_deref(),
        &[],
    ));
    sub.extend(optional(
        "610",
        "身体所見セクション",
        "身体所見",
        n.physical_findings.as_deref(),
        &[],
    ));
    sub.extend(optional(
        "640",
        "社会歴・生活習慣セクション",
        "社会歴・生活習慣",
        n.social_history.as_deref(),
        &[],
    ));
    sub.extend(optional(
        "520",
        "感染症情報セクション",
        "感染症情報",
        None,
        &infection,
    ));
    sub.extend(optional(
        "620",
        "検査結果セクション",
        "検査結果",
        None,
        &labs,
    ));
    sub.extend(optional(
        "430",
        "投薬指示セクション",
        "投薬指示",
        None,
        &meds,
    ));
    sub.extend(optional(
        "330",
        "臨床経過セクション",
        "臨床経過",
        n.clinical_course.as_deref(),
        &[],
    ));
    sub.extend(optional(
        "420",
        "診療方針指示セクション",
        "診療方針指示",
        n.treatment_plan.as_deref(),
        &[],
    ));
    let mut structured = section("300", "構造情報セクション", "構造情報", None, Vec::new());
    structured.section = sub;
    let mut sections = vec![
        section(
            "920",
            "紹介元情報セクション",
            "紹介元情報",
            Some(&site.name),
            refs(&from_entries),
        ),
        section(
            "910",
            "紹介先情報セクション",
            "紹介先情報",
            Some(&to_text),
            refs(&to_entries),
        ),
        structured,
    ];
    sections.extend(optional(
        "220",
        "備考・連絡情報セクション",
        "備考・連絡情報",
        n.remarks.as_deref(),
        &[],
    ));
    if !pdfs.is_empty() {
        sections.push(section("230", "PDFセクション", "PDF", None, refs(&pdfs)));
    }
    let authors = [author, site_url.clone()];
    Ok(doc.finish(&DOC_TYPE, visit.as_deref(), &authors, &site_url, sections))
}
