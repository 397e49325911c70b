//! AllergyIntolerance ← ADT-61 IAM and AL1 (ADT-00, OMP-01, OMP-12).
//!
//! - category: IAM-2 / AL1-2 (HL7 0127) through the `v2-0127` table.
//! - code: the allergen as sent is translated by the tables: a J-FAGY target is
//!   used as is; a YJ target (HOT9 → YJ) is translated again and its J-FAGY `YCM`
//!   row used when one exists. Without a J-FAGY code the dummy `D9M000000000`
//!   (drug), `D9F000000000` (food) or `D9N000000000` (other) is sent with the
//!   allergen's name as text (M041); the code as sent is kept as a second coding.
//!   The dummy's domain comes from the mapped category, else from the 0127 code
//!   itself (DA drug, FA food, anything else other).
//! - severity IAM-4 / AL1-4 (HL7 0128 table), reaction IAM-5 / AL1-5 text, onset
//!   IAM-11 (or IAM-12 text), recordedDate IAM-13 / AL1-6.
//! - criticality per `policy.allergy_criticality`.
//! - IAM-6 action `D` / `X`: entered-in-error and withheld (the ledger deletes).

use crate::config::Criticality;
use crate::record::{AllergyRecord, Coding, Submission, Tag};
use crate::{Context, Cwe, Findings, Input, codes, cwe, uri};
use diagnostics::{Diagnostic, Excerpt};
use parsers::hl7::Segment;

/// Maps every IAM and AL1 of a message.
pub fn map(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Vec<AllergyRecord> {
    input
        .message
        .segments()
        .filter(|s| s.id() == "IAM" || s.id() == "AL1")
        .map(|s| one(ctx, input, &s, sink))
        .collect()
}

fn one(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    sink: &mut Findings,
) -> AllergyRecord {
    let iam = seg.id() == "IAM";
    let mut a = AllergyRecord {
        set_id: seg.value(1, 0).trim().to_owned(),
        verification: "confirmed",
        clinical_status: Some("active"),
        ..AllergyRecord::default()
    };
    let id = seg.id();

    // Category.
    let cat = cwe(seg, 2);
    if !cat.code.is_empty() {
        let t = crate::translate(
            ctx,
            input,
            seg,
            (2, 1),
            "http://terminology.hl7.org/CodeSystem/v2-0127",
            &cat.code,
            "",
            &cat.text,
            false,
            sink,
        );
        match t.targets.into_iter().next() {
            Some(c) => {
                a.category = Some(c);
                a.lineage.push(input.lineage(
                    "AllergyIntolerance.category",
                    seg,
                    &format!("{id}-2"),
                ));
            }
            None => sink.push(
                Diagnostic::new(
                    &codes::UNKNOWN_CATEGORY,
                    "allergen category has no approved FHIR category; category left out",
                )
                .at(input.at(seg, 2, 1))
                .excerpt(Excerpt::text(cat.code.clone())),
            ),
        }
    }
    let domain = match a.category.as_ref().map(|c| c.code.as_str()) {
        Some("medication") => 'M',
        Some("food") => 'F',
        Some(_) => 'N',
        None => match cat.code.as_str() {
            "DA" => 'M',
            "FA" => 'F',
            _ => 'N',
        },
    };

    // Code.
    let sent = cwe(seg, 3);
    a.code.text = sent.text.clone();
    a.source_key = if sent.code.is_empty() {
        format!("text:{}", sent.text)
    } else {
        format!("{}|{}", sent.name, sent.code)
    };
    a.lineage
        .push(input.lineage("AllergyIntolerance.code", seg, &format!("{id}-3")));
    let jfagy = allergen(ctx, input, seg, &sent, sink);
    match jfagy {
        Some(c) => a.code.coding.push(c),
        None => {
            let (system, code) = match domain {
                'M' => (uri::JFAGY_MEDICATION, "D9M000000000"),
                'F' => (uri::JFAGY_FOOD, "D9F000000000"),
                _ => (uri::JFAGY_NONFOOD, "D9N000000000"),
            };
            sink.push(
                Diagnostic::new(
                    &codes::DUMMY_ALLERGEN,
                    format!("dummy code {code} with the allergen text"),
                )
                .at(input.at(seg, 3, 1)),
            );
            // JP_AllergyIntolerance_eCS requires a display even on the dummy
            // (its notes say none is needed): the allergen's name as entered.
            a.code.coding.push(Coding::new(system, code, &sent.text));
        }
    }
    if !sent.code.is_empty() {
        let (system, _) =
            terminologies::system::source_uri_for_v2(&sent.name, &sent.code, &ctx.config.site);
        a.code
            .coding
            .push(Coding::new(&system, &sent.code, &sent.text));
    }

    // Severity and reaction.
    let sev = cwe(seg, 4);
    if !sev.code.is_empty() {
        let t = crate::translate(
            ctx,
            input,
            seg,
            (4, 1),
            "http://terminology.hl7.org/CodeSystem/v2-0128",
            &sev.code,
            "",
            &sev.text,
            true,
            sink,
        );
        if let Some(c) = t.targets.into_iter().next() {
            a.severity = Some(c);
            a.lineage.push(input.lineage(
                "AllergyIntolerance.reaction.severity",
                seg,
                &format!("{id}-4"),
            ));
        }
    }
    let reaction = seg.value(5, 0).trim().to_owned();
    if !reaction.is_empty() {
        a.reaction = Some(reaction);
        a.lineage.push(input.lineage(
            "AllergyIntolerance.reaction.manifestation",
            seg,
            &format!("{id}-5"),
        ));
    }
    a.criticality = match ctx.config.policy.criticality {
        Criticality::DrugHigh => (domain == 'M').then_some("high"),
        Criticality::FromSeverity => match sev.code.as_str() {
            "SV" => Some("high"),
            "MI" | "MO" => Some("low"),
            _ => None,
        },
        Criticality::Unassessed => Some("unable-to-assess"),
    };

    // Dates.
    if iam {
        a.onset = crate::time(ctx, input, seg, 11, 0, sink);
        let t = seg.value(12, 0).trim().to_owned();
        if a.onset.is_none() && !t.is_empty() {
            a.onset_text = Some(t);
        }
        a.recorded = crate::time(ctx, input, seg, 13, 0, sink);
    } else {
        a.recorded = crate::time(ctx, input, seg, 6, 0, sink);
    }

    // Action.
    let action = if iam {
        seg.value(6, 1).trim().to_owned()
    } else {
        String::new()
    };
    if action == "D" || action == "X" {
        a.verification = "entered-in-error";
        a.clinical_status = None;
        a.submission = Some(Submission::Withheld("deleted at the source (IAM-6 D/X)"));
        sink.push(
            Diagnostic::new(
                &codes::DELETED,
                "IAM-6 D/X: the allergy is entered-in-error",
            )
            .at(input.at(seg, 6, 1)),
        );
    } else {
        a.submission = Some(Submission::Submit);
    }
    if ctx
        .config
        .policy
        .lts
        .resource_types
        .iter()
        .any(|t| t == "AllergyIntolerance")
    {
        a.tags.push(Tag::Lts);
    }
    a
}

fn is_jfagy(system: &str) -> bool {
    [
        uri::JFAGY_FOOD,
        uri::JFAGY_NONFOOD,
        uri::JFAGY_YCM,
        uri::JFAGY_GCM,
        uri::JFAGY_MEDICATION,
    ]
    .contains(&system)
}

/// The J-FAGY coding of an allergen, through the tables (HOT9 → YJ → YCM).
fn allergen(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    sent: &Cwe,
    sink: &mut Findings,
) -> Option<Coding> {
    if sent.code.is_empty() {
        sink.push(
            Diagnostic::new(&codes::BAD_CODE, "allergen has no code").at(input.at(seg, 3, 1)),
        );
        return None;
    }
    let system = crate::source_system(ctx, input, seg, 3, sent, sink);
    if is_jfagy(&system) {
        return Some(Coding::new(&system, &sent.code, &sent.text));
    }
    let t = crate::translate(
        ctx,
        input,
        seg,
        (3, 1),
        &system,
        &sent.code,
        "",
        &sent.text,
        true,
        sink,
    );
    if let Some(c) = t.targets.iter().find(|c| is_jfagy(&c.system)) {
        return Some(c.clone());
    }
    let yj = t.targets.iter().find(|c| c.system == uri::YJ)?;
    let t2 = crate::translate(
        ctx,
        input,
        seg,
        (3, 1),
        uri::YJ,
        &yj.code,
        "",
        &yj.display,
        true,
        sink,
    );
    t2.targets.into_iter().find(|c| is_jfagy(&c.system))
}
