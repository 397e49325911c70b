//! 患者サマリー (療養計画書): a request's care plan and one patient's current
//! SS-MIX2 conditions → `JP_Bundle_ePCS`, the patient summary JP-CLINS added to the
//! two documents (`JP_Composition_ePCS`: one section 422 計画サマリー holding the
//! care plan, 1..1, and the conditions it addresses, 1..*).
//!
//! | entry | from |
//! |---|---|
//! | Composition | type 56447-6 計画書, title 患者サマリー（療養計画書）, the visit (`[encounter]`, required), authors: the doctor and the site |
//! | Patient, Practitioner, Organization, Encounter | the storage's ADT-00; the request's author, site and visit |
//! | CarePlan (JP_CarePlan_ePCS) | `summary.plan` (description), `summary.category` (default followup-plan), period `summary.start` (default the issue date) → `summary.next_review`, `summary.goals` (contained Goals), `[summary.advice]` (one activity per area: 食事, 運動, 喫煙, その他), `addresses` the conditions |
//! | Condition (JP_Condition_eCS) | `summary.conditions`: `"current"` (every condition not ended) or a list of codes (any coding of the condition: MEDIS 病名交換用コード, ICD-10, the local code) |
//!
//! The document is handed to the patient, so:
//! - a condition tagged 未告知 (UNINFORMED) or 未提供 (UNDELIVERED) never appears;
//!   when the request names one by code it is left out with a warning (`M322`);
//! - records the mappers withhold (suspected, claim-only, incomplete) stay out,
//!   counted with their reason;
//! - when no condition remains, no document is written (`M320`), never one with a
//!   hollow section; a code the request names that no current condition carries
//!   is an error (`M321`), not a silent omission.
//!
//! Without a disclosure source (`[policy.disclosure]`), every condition is
//! UNINFORMED, so no patient summary can be written: the safe default.

use super::request::{ADVICE_AREAS, ConditionChoice, DocumentRequest, Kind};
use super::{Doc, DocType, DocumentBundle, Sources, codes, section};
use crate::config::SiteConfig;
use crate::record::{ConditionRecord, Tag};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, Phi};
use fhir::model::types::Reference;
use fhir::model::{CarePlan, Resource, build, resources};

/// What the ePCS fixes.
pub const DOC_TYPE: DocType = DocType {
    bundle_profile: "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_ePCS",
    composition_profile: "http://jpfhir.jp/fhir/ePCS/StructureDefinition/JP_Composition_ePCS",
    type_code: "56447-6",
    title: "計画書",
    // The profile forbids event (0..0).
    event_text: "",
};

/// JP_Composition_ePCS's fixed title (the type's display is 計画書).
pub const TITLE: &str = "患者サマリー（療養計画書）";
/// JP_CarePlan_ePCS.
pub const CARE_PLAN_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_CarePlan_ePCS";
/// CarePlan categories.
pub const CARE_PLAN_CATEGORY_SYSTEM: &str = "http://jpfhir.jp/fhir/CarePlan/CodeSystem/category";

fn refs(urls: &[String]) -> Vec<Reference> {
    urls.iter().map(|u| build::reference_to(u)).collect()
}

/// The condition's name as the source gives it.
fn condition_name(c: &ConditionRecord) -> &str {
    if c.code.text.is_empty() {
        c.code.coding.first().map_or("", |x| x.display.as_str())
    } else {
        &c.code.text
    }
}

/// Builds the patient summary. `Err` (with `M303`/`M304`/`M310`/`M320`/`M321`)
/// when no document can be built.
pub fn build(
    req: &DocumentRequest,
    config: &SiteConfig,
    src: &Sources,
) -> Result<DocumentBundle, Diagnostics> {
    let mut doc = Doc::new(req, config);
    let (summary, visit) = match (req.kind, &req.summary, &req.encounter) {
        (Kind::Summary, Some(s), Some(e)) => (s, e),
        _ => {
            return Err(doc.kind_mismatch("a patient summary"));
        }
    };
    if !doc.patient(src.patient.as_ref()) {
        return Err(doc.diagnostics);
    }
    let site = &req.author.organization;
    let author = doc.practitioner(&req.author.person, "author", &site.institution_number);
    let site_url = doc.organization(site);
    let encounter_url = doc.encounter(visit, "visit", None);

    // The conditions the plan addresses: chosen, then told of, then submitted.
    let named: &[String] = match &summary.conditions {
        ConditionChoice::Codes(c) => c,
        ConditionChoice::Current => &[],
    };
    let mut found = vec![false; named.len()];
    let mut chosen: Vec<&ConditionRecord> = Vec::new();
    for c in &src.conditions {
        if c.has_ended() {
            doc.left_out(
                "Condition",
                "left out: ended (a care plan addresses current conditions)",
            );
            continue;
        }
        if !named.is_empty() {
            let hits: Vec<usize> = named
                .iter()
                .enumerate()
                .filter(|(_, n)| c.code.coding.iter().any(|x| &x.code == *n))
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() {
                doc.left_out("Condition", "left out: not named in `summary.conditions`");
                continue;
            }
            for i in hits {
                found[i] = true;
            }
        }
        chosen.push(c);
    }
    for (code, seen) in named.iter().zip(&found) {
        if !seen {
            doc.diagnostics.push(
                Diagnostic::new(
                    &codes::SUMMARY_UNKNOWN_CONDITION,
                    "no current condition of the patient carries this code",
                )
                .at(Location::default().element("summary.conditions"))
                .excerpt(Excerpt::phi_text(code.clone(), Phi::Other)),
            );
        }
    }
    let mut addressed = Vec::new();
    let mut lines = Vec::new();
    for c in chosen {
        let not_told = if c.tags.contains(&Tag::Uninformed) {
            Some("withheld: 未告知 (UNINFORMED) — never in a patient summary")
        } else if c.tags.contains(&Tag::Undelivered) {
            Some("withheld: 未提供 (UNDELIVERED) — never in a patient summary")
        } else {
            None
        };
        if let Some(why) = not_told {
            doc.left_out("Condition", why);
            if !named.is_empty() {
                doc.diagnostics.push(
                    Diagnostic::new(
                        &codes::SUMMARY_CONDITION_NOT_TOLD,
                        "a condition named in `summary.conditions` is 未告知 or 未提供; left out",
                    )
                    .at(Location::default().element("summary.conditions"))
                    .excerpt(Excerpt::phi_text(
                        c.code
                            .coding
                            .iter()
                            .map(|x| x.code.as_str())
                            .find(|x| named.iter().any(|n| n == x))
                            .unwrap_or_default()
                            .to_owned(),
                        Phi::Other,
                    )),
                );
            }
            continue;
        }
        if let Some(u) = doc.condition(c, "422") {
            addressed.push(u);
            lines.push(format!("・{}", condition_name(c)));
        }
    }
    if doc.diagnostics.has_errors() {
        return Err(doc.diagnostics);
    }
    if addressed.is_empty() {
        doc.diagnostics.push(
            Diagnostic::new(
                &codes::SUMMARY_NO_CONDITION,
                "the plan addresses no condition the patient was told of (未告知, 未提供, ended, withheld or none): no document",
            )
            .at(Location::default().element("summary.conditions")),
        );
        return Err(doc.diagnostics);
    }

    // The care plan.
    let created = req.issue_date().to_owned();
    let start = summary.start.clone().unwrap_or_else(|| created.clone());
    let goals: Vec<Resource> = summary
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            Resource::Goal(Box::new(resources::Goal {
                id: Some(format!("goal{}", i + 1).into()),
                lifecycle_status: "active".into(),
                description: Box::new(build::text_concept(g)),
                subject: Box::new(build::reference_to(&doc.patient_url)),
                ..Default::default()
            }))
        })
        .collect();
    let activity = summary
        .advice
        .iter()
        .map(|(key, text)| {
            let label = ADVICE_AREAS
                .iter()
                .find(|(k, _)| k == key)
                .map_or(*key, |(_, l)| l);
            resources::CarePlanActivity {
                detail: Some(resources::CarePlanActivityDetail {
                    code: Some(Box::new(build::text_concept(label))),
                    status: "in-progress".into(),
                    description: Some(text.as_str().into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let plan = CarePlan {
        meta: super::meta(CARE_PLAN_PROFILE, &doc.last_updated),
        contained: goals,
        identifier: vec![build::identifier(
            super::RESOURCE_ID,
            &format!(
                "{}-{}-{}-careplan",
                config.institution_number,
                req.issue_year(),
                req.document_id
            ),
        )],
        status: "active".into(),
        intent: "plan".into(),
        category: vec![build::concept(
            CARE_PLAN_CATEGORY_SYSTEM,
            &summary.category.code,
            Some(&summary.category.display),
        )],
        title: Some("療養計画".into()),
        description: Some(summary.plan.as_str().into()),
        subject: Box::new(build::reference_to(&doc.patient_url)),
        period: Some(Box::new(build::period(
            Some(&start),
            summary.next_review.as_deref(),
        ))),
        created: Some(created.as_str().into()),
        addresses: refs(&addressed),
        goal: (1..=summary.goals.len())
            .map(|i| build::reference_to(&format!("#goal{i}")))
            .collect(),
        activity,
        ..Default::default()
    };
    let plan_url = doc.url(&[b"CarePlan"]);
    doc.add(&plan_url, plan, "CarePlan", Vec::new(), Vec::new());

    // Section 422: the plan and the conditions, as the patient reads them.
    let mut text = vec![
        summary.plan.clone(),
        String::new(),
        "対象となる病気:".to_owned(),
    ];
    text.extend(lines);
    if !summary.goals.is_empty() {
        text.push(String::new());
        text.push("目標:".to_owned());
        text.extend(summary.goals.iter().map(|g| format!("・{g}")));
    }
    for (key, advice) in &summary.advice {
        let label = ADVICE_AREAS
            .iter()
            .find(|(k, _)| k == key)
            .map_or(*key, |(_, l)| l);
        text.push(format!("{label}: {advice}"));
    }
    if let Some(r) = &summary.next_review {
        text.push(format!("次回見直し: {r}"));
    }
    let mut entries = vec![plan_url];
    entries.extend(addressed);
    let sections = vec![section(
        "422",
        "計画サマリーセクション",
        "計画サマリー",
        Some(&text.join("\n")),
        refs(&entries),
    )];
    let mut out = doc.finish(
        &DOC_TYPE,
        Some(&encounter_url),
        &[author, site_url.clone()],
        &site_url,
        sections,
    );
    // The profile fixes the title and forbids custodian and event (0..0).
    if let Some(c) = out.composition_mut() {
        c.title = TITLE.into();
        c.custodian = None;
        c.event = Vec::new();
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
