//! Condition ← PPR-01 (PPR^ZD1) PRB + ZPR.
//!
//! Rules (standards.md §1.6, §4.4):
//! - code: PRB-3 (MEDIS 病名管理番号 `MDCDX2`, or a local `99…` code translated by the
//!   tables), the crosswalk's exCode / レセ電 / ICD-10 codings, PRB-10 ICD-10 as sent,
//!   ZPR-5 exCode; text = PRB-17 (the name as entered) or PRB-3.2. 未コード化傷病名
//!   `20084317`, and a local code no table maps, become the all-9 keyNumber
//!   `99999999` (JP-CLINS's uncoded rule) next to the codes as sent.
//! - modifiers: ZPR-1/ZPR-4 prefix, ZPR-3/ZPR-6 postfix (MEDIS 修飾語管理番号 / 交換用コード).
//! - verificationStatus: PRB-1 `DE` → `entered-in-error` (withheld); a non-empty
//!   PRB-13, or a name containing 疑い, → `unconfirmed` (withheld: CLINS takes no 疑い).
//! - clinicalStatus from 転帰 PRB-14 (HL7 0241; an inferred mapping): F 治癒 and S
//!   後遺症 → resolved, D 死亡 → inactive, N/R/W → active, U → unknown, empty → active.
//!   abatementDateTime (PRB-9, else PRB-15) only when not active.
//! - onset PRB-16 (required by CLINS: withheld without one), recordedDate PRB-7,
//!   principal when PRB-18.1 = `1` (JHSD0007 主病名).
//! - 保険病名 by the site's `policy.claim_only` rule (withheld); tags per
//!   `policy.disclosure` (default: UNINFORMED on every Condition) and `policy.lts`.

use crate::config::FieldRule;
use crate::record::{Coding, Concept, ConditionRecord, Submission, Tag};
use crate::{Context, Findings, Input, codes, cwe, uri};
use diagnostics::{Diagnostic, Excerpt};
use parsers::hl7::Segment;

/// The MEDIS 病名管理番号 of 未コード化傷病名 (NHO rule).
pub const UNCODED_KEY: &str = "20084317";
/// JP-CLINS's keyNumber for uncoded names (all 9s, same length as 病名管理番号).
pub const ALL_NINE_KEY: &str = "99999999";

/// Maps every PRB (with its ZPR) of a PPR-01 message.
pub fn map(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Vec<ConditionRecord> {
    let segs: Vec<Segment<'_>> = input.message.segments().collect();
    let department = input
        .message
        .segment("ORC")
        .and_then(|orc| crate::department(ctx, orc.value(17, 1).trim()));
    let class = crate::encounter_class(ctx, input, sink);
    let mut out = Vec::new();
    let mut i = 0;
    let mut default_reported = false;
    while i < segs.len() {
        if segs[i].id() != "PRB" {
            i += 1;
            continue;
        }
        let prb = segs[i];
        let zpr = segs.get(i + 1).copied().filter(|s| s.id() == "ZPR");
        let mut c = one(ctx, input, &prb, zpr.as_ref(), sink);
        c.department = department.clone();
        c.encounter_class = class.clone();
        crate::require_encounter_and_department(
            &mut c.submission,
            department.as_ref(),
            class.as_ref(),
            prb.location().file(input.file),
            sink,
        );
        if ctx.config.policy.disclosure.is_default() && !default_reported {
            sink.push(
                Diagnostic::new(
                    &codes::DEFAULT_UNINFORMED,
                    "no disclosure source declared ([policy.disclosure]); Conditions are tagged UNINFORMED",
                )
                .at(prb.location().file(input.file)),
            );
            default_reported = true;
        }
        out.push(c);
        i += if zpr.is_some() { 2 } else { 1 };
    }
    if out.is_empty() {
        sink.push(
            Diagnostic::new(&codes::WRONG_MESSAGE, "no PRB segment; no condition")
                .at(diagnostics::Location::default().file(input.file)),
        );
    }
    out
}

fn rule_matches(
    rule: &FieldRule,
    prb: &Segment<'_>,
    zpr: Option<&Segment<'_>>,
    input: &Input<'_>,
) -> bool {
    let seg = match rule.segment.as_str() {
        "PRB" => Some(*prb),
        "ZPR" => zpr.copied(),
        other => input.message.segment(other),
    };
    seg.is_some_and(|s| {
        let v = s.value(rule.field, rule.component);
        rule.values.iter().any(|x| x == v.trim())
    })
}

fn one(
    ctx: &Context<'_>,
    input: &Input<'_>,
    prb: &Segment<'_>,
    zpr: Option<&Segment<'_>>,
    sink: &mut Findings,
) -> ConditionRecord {
    let mut c = ConditionRecord {
        problem_id: prb.value(4, 1).trim().to_owned(),
        action: prb.value(1, 1).trim().to_owned(),
        verification: "confirmed",
        ..ConditionRecord::default()
    };
    c.lineage
        .push(input.lineage("Condition.identifier", prb, "PRB-4"));

    // code
    let sent = cwe(prb, 3);
    let entered = prb.value(17, 0).trim().to_owned();
    c.code.text = if entered.is_empty() {
        sent.text.clone()
    } else {
        entered
    };
    c.lineage
        .push(input.lineage("Condition.code", prb, "PRB-3"));
    if sent.code.is_empty() {
        sink.push(
            Diagnostic::new(
                &codes::BAD_CODE,
                "PRB-3 has no code; the name is sent as uncoded",
            )
            .at(input.at(prb, 3, 1)),
        );
        c.code.coding.push(Coding::new(
            uri::MEDIS_KEY,
            ALL_NINE_KEY,
            "未コード化傷病名",
        ));
    } else {
        let system = crate::source_system(ctx, input, prb, 3, &sent, sink);
        let is_medis = system == uri::MEDIS_KEY;
        let t = crate::translate(
            ctx,
            input,
            prb,
            (3, 1),
            &system,
            &sent.code,
            "",
            &sent.text,
            !is_medis,
            sink,
        );
        if is_medis {
            if sent.code == UNCODED_KEY {
                sink.push(
                    Diagnostic::new(
                        &codes::UNCODED_DISEASE,
                        "未コード化傷病名 20084317: keyNumber 99999999 with the name as text",
                    )
                    .at(input.at(prb, 3, 1)),
                );
                c.code.coding.push(Coding::new(
                    uri::MEDIS_KEY,
                    ALL_NINE_KEY,
                    "未コード化傷病名",
                ));
            } else {
                c.code
                    .coding
                    .push(Coding::new(uri::MEDIS_KEY, &sent.code, &sent.text));
            }
        } else {
            // A local code: keep it, then the table's standard codes.
            c.code
                .coding
                .push(Coding::new(&system, &sent.code, &sent.text));
            if !t.targets.iter().any(|x| x.system == uri::MEDIS_KEY) {
                c.code.coding.push(Coding::new(
                    uri::MEDIS_KEY,
                    ALL_NINE_KEY,
                    "未コード化傷病名",
                ));
            }
        }
        for target in t.targets {
            if !c
                .code
                .coding
                .iter()
                .any(|x| x.system == target.system && x.code == target.code)
            {
                c.code.coding.push(target);
            }
        }
    }
    // PRB-10 ICD-10 as sent.
    let icd = cwe(prb, 10);
    if !icd.code.is_empty() && icd.name == "I10" {
        match c.code.coding.iter_mut().find(|x| x.system == uri::ICD10) {
            Some(x) if x.code == icd.code => {}
            _ => c.code.coding.push(Coding::new(uri::ICD10, &icd.code, "")),
        }
        c.lineage
            .push(input.lineage("Condition.code", prb, "PRB-10"));
    }
    if let Some(z) = zpr {
        let ex = cwe(z, 5);
        if !ex.code.is_empty()
            && !c
                .code
                .coding
                .iter()
                .any(|x| x.system == uri::MEDIS_EX && x.code == ex.code)
        {
            c.code
                .coding
                .push(Coding::new(uri::MEDIS_EX, &ex.code, &ex.text));
            c.lineage.push(input.lineage("Condition.code", z, "ZPR-5"));
        }
        c.prefix_modifiers = modifiers(z, 1, 4);
        c.postfix_modifiers = modifiers(z, 3, 6);
        if !c.prefix_modifiers.is_empty() {
            c.lineage
                .push(input.lineage("Condition.extension:prefix", z, "ZPR-1,ZPR-4"));
        }
        if !c.postfix_modifiers.is_empty() {
            c.lineage
                .push(input.lineage("Condition.extension:postfix", z, "ZPR-3,ZPR-6"));
        }
    }
    order_codings(&mut c.code);
    // JP_Condition_eCS requires a display on every coding; a code the source sent
    // without its text (e.g. `E785^^I10` in PRB-10) is shown with the disease name
    // as entered, which is what the code stands for in this record.
    for coding in &mut c.code.coding {
        if coding.display.is_empty() {
            coding.display = c.code.text.clone();
        }
    }

    // Times.
    c.onset = crate::time(ctx, input, prb, 16, 0, sink);
    c.recorded = crate::time(ctx, input, prb, 7, 0, sink);
    let outcome = cwe(prb, 14);
    c.clinical_status = Some(match outcome.code.as_str() {
        "F" | "S" => "resolved",
        "D" => "inactive",
        "U" => "unknown",
        _ => "active",
    });
    if !outcome.code.is_empty() {
        c.outcome = Some(Coding::new(uri::HL7_0241, &outcome.code, &outcome.text));
        c.lineage
            .push(input.lineage("Condition.clinicalStatus", prb, "PRB-14"));
    }
    if matches!(c.clinical_status, Some("resolved" | "inactive")) {
        c.abatement = crate::time(ctx, input, prb, 9, 0, sink)
            .or_else(|| crate::time(ctx, input, prb, 15, 0, sink));
    }
    c.principal = prb.value(18, 1).trim() == "1";

    // Verification and submission.
    let confirmation = prb.value(13, 1).trim().to_owned();
    let policy = &ctx.config.policy;
    if c.action == "DE" {
        c.verification = "entered-in-error";
        c.clinical_status = None;
        c.submission = Some(Submission::Withheld("deleted at the source (PRB-1 DE)"));
        sink.push(
            Diagnostic::new(
                &codes::DELETED,
                "PRB-1 DE: the condition is entered-in-error",
            )
            .at(input.at(prb, 1, 1)),
        );
    } else if !confirmation.is_empty() || c.code.text.contains("疑い") {
        c.verification = "unconfirmed";
        c.submission = Some(Submission::Withheld("suspected (疑い)"));
        sink.push(
            Diagnostic::new(
                &codes::SUSPECTED,
                "suspected diagnosis: unconfirmed, withheld",
            )
            .at(input.at(prb, 13, 1))
            .excerpt(Excerpt::text(confirmation)),
        );
    } else if policy
        .claim_only
        .as_ref()
        .is_some_and(|r| rule_matches(r, prb, zpr, input))
    {
        c.submission = Some(Submission::Withheld("claim-only (保険病名)"));
        sink.push(
            Diagnostic::new(
                &codes::CLAIM_ONLY,
                "marked 保険病名 by policy.claim_only; withheld",
            )
            .at(prb.location().file(input.file)),
        );
    } else if c.onset.is_none() {
        c.submission = Some(Submission::Withheld("no onset date (R9013C)"));
        sink.push(
            Diagnostic::new(
                &codes::NO_ONSET,
                "PRB-16 onset is empty; JP-CLINS requires it",
            )
            .at(input.at(prb, 16, 0)),
        );
    } else {
        c.submission = Some(Submission::Submit);
    }

    // Tags.
    let d = &policy.disclosure;
    if d.is_default()
        || d.uninformed
            .as_ref()
            .is_some_and(|r| rule_matches(r, prb, zpr, input))
        || d.uninformed_ids.contains(&c.problem_id)
    {
        c.tags.push(Tag::Uninformed);
    }
    if d.undelivered
        .as_ref()
        .is_some_and(|r| rule_matches(r, prb, zpr, input))
        || d.undelivered_ids.contains(&c.problem_id)
    {
        c.tags.push(Tag::Undelivered);
    }
    if policy.lts.resource_types.iter().any(|t| t == "Condition") {
        c.tags.push(Tag::Lts);
    }
    c.tags.sort();
    c
}

/// JP-CLINS's reporting unit for conditions: current ones, and ended ones whose
/// abatement (or, without one, whose 転帰 date) lies within 5 years before the
/// as-of date (`YYYYMMDD`). Conditions with no date to judge by are kept.
pub fn in_reporting_window(c: &ConditionRecord, as_of: &str) -> bool {
    if matches!(c.clinical_status, Some("active") | Some("unknown") | None) {
        return true;
    }
    let Some(end) = c.abatement.as_deref() else {
        return true;
    };
    let end: String = end.chars().filter(char::is_ascii_digit).take(8).collect();
    let (Some(y), Some(rest)) = (
        as_of.get(..4).and_then(|y| y.parse::<u32>().ok()),
        as_of.get(4..8),
    ) else {
        return true;
    };
    // 5 years back, same month and day (29 Feb falls back to 28 Feb by string order).
    let from = format!("{:04}{rest}", y.saturating_sub(5));
    end.len() < 8 || end.as_str() >= from.as_str()
}

/// Slices in profile order: keyNumber, exCode, receipt, ICD-10, then local codings.
fn order_codings(code: &mut Concept) {
    let rank = |s: &str| match s {
        uri::MEDIS_KEY => 1,
        uri::MEDIS_EX => 2,
        uri::RECEIPT_DISEASE => 3,
        uri::ICD10 => 4,
        _ => 9,
    };
    code.coding.sort_by_key(|c| rank(&c.system));
}

fn modifiers(z: &Segment<'_>, key_field: u32, ex_field: u32) -> Vec<Concept> {
    let reps = |f: u32| -> Vec<(String, String)> {
        z.field(f)
            .map(|f| {
                f.reps()
                    .map(|r| {
                        let g = |k| {
                            r.comp(k)
                                .map(|c| c.value().trim().to_owned())
                                .unwrap_or_default()
                        };
                        (g(1), g(2))
                    })
                    .filter(|(c, _)| !c.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let keys = reps(key_field);
    let exs = reps(ex_field);
    let n = keys.len().max(exs.len());
    (0..n)
        .map(|i| {
            let mut m = Concept::default();
            if let Some((code, display)) = keys.get(i) {
                m.coding
                    .push(Coding::new(uri::MEDIS_MOD_KEY, code, display));
                m.text = display.clone();
            }
            if let Some((code, display)) = exs.get(i) {
                m.coding.push(Coding::new(uri::MEDIS_MOD_EX, code, display));
                if m.text.is_empty() {
                    m.text = display.clone();
                }
            }
            m
        })
        .collect()
}
