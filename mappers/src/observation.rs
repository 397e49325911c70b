//! Observation ← OML-11 (OUL^R22): SPM (specimen, collection time), OBR (order
//! number, report time), ORC (department), OBX (one result each).
//!
//! - code: the local coding `<local>_<specimen>` (CLINS LocalCode system) first —
//!   the local code is OBX-3's alternate triplet when its system is local (`99…`),
//!   else OBX-3.1 as sent; the specimen part is SPM-4's local code (alternate
//!   triplet) when sent, else SPM-4.1. Then the standard coding: the CLINS
//!   CoreLabo / InfectionLabo set coding when the JLAC10 code (sent as `JC10`, or
//!   from the tables keyed by local code + local specimen) belongs to a set, the
//!   JLAC10 general coding otherwise, else the uncoded `99999999999999999`.
//! - value by OBX-2: NM → Quantity; SN with `<`, `<=`, `>`, `>=` → Quantity with
//!   comparator (other SN shapes → string); ST/TX/FT → string; CWE/CE → concept.
//! - OBX-6 unit (a numeric result without one is submitted unitless and noted,
//!   M057: ratios such as PT-INR have none), OBX-7 range `low-high` (its bounds
//!   take the result's unit, as JP-CLINS 1.10 requires), OBX-8 interpretation (HL7 0078),
//!   OBX-11 status, effective = SPM-17 else OBR-7 else OBX-14, issued = OBR-22.
//! - scope per `policy.lab_scope`; results outside it are withheld (M051).
//! - performer: the ordering doctor, ORC-12 (else OBR-16), as a contained
//!   JP_Practitioner. When the pinned package requires a performer (JP-CLINS
//!   1.10's R9017O / R9019O, [`crate::LabSets::performer_required`]), a result
//!   whose order names nobody is withheld (M055): a performer is never made up.
//! - LTS (長期保存) tag per `policy.lts`; where the pinned package allows it on
//!   the designated infection results only (JP-CLINS 1.10's R6031,
//!   [`crate::LabSets::lts_infection_only`]), other results go untagged.

use crate::config::LabScope;
use crate::record::{
    Coding, Concept, LabKind, ObservationRecord, Prescriber, Range, Submission, Tag, Value,
};
use crate::{Context, Cwe, Findings, Input, codes, cwe, cwe_alt, uri};
use diagnostics::{Diagnostic, Excerpt};
use parsers::hl7::Segment;

/// The uncoded lab code.
pub const UNCODED: &str = "99999999999999999";

#[derive(Default, Clone)]
struct Group {
    specimen_local: String,
    specimen: Option<Coding>,
    collected: Option<String>,
    order_no: String,
    requested: Option<String>,
    issued: Option<String>,
    department: Option<Coding>,
    /// ORC-12 ordering provider, with where it was read.
    orc_orderer: Option<(Prescriber, String)>,
    /// OBR-16 ordering provider, with where it was read.
    obr_orderer: Option<(Prescriber, String)>,
    /// The ORC, to locate a missing orderer.
    orc_at: Option<diagnostics::Location>,
}

/// Maps every OBX of an OUL^R22 message.
pub fn map(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Vec<ObservationRecord> {
    let class = crate::encounter_class(ctx, input, sink);
    let mut g = Group::default();
    let mut out = Vec::new();
    for seg in input.message.segments() {
        match seg.id() {
            "SPM" => {
                g = Group::default();
                let primary = cwe(&seg, 4);
                let alt = cwe_alt(&seg, 4);
                g.specimen_local = if !alt.code.is_empty() && alt.name.starts_with("99") {
                    alt.code.clone()
                } else {
                    primary.code.clone()
                };
                if primary.name == "JC10" && primary.code.len() == 3 {
                    g.specimen = Some(Coding::new(uri::SPECIMEN, &primary.code, &primary.text));
                } else if !g.specimen_local.is_empty() {
                    let sys = crate::source_system(ctx, input, &seg, 4, &primary, sink);
                    let t = crate::translate(
                        ctx,
                        input,
                        &seg,
                        (4, 1),
                        &sys,
                        &primary.code,
                        "",
                        &primary.text,
                        true,
                        sink,
                    );
                    g.specimen = t.targets.into_iter().find(|c| c.system == uri::SPECIMEN);
                }
                g.collected = crate::time(ctx, input, &seg, 17, 0, sink);
            }
            "OBR" => {
                g.obr_orderer = crate::xcn_person(&seg, 16)
                    .map(|p| (p, format!("{}#{}", seg.id(), seg.number())));
                g.order_no = seg.value(2, 1).trim().to_owned();
                g.requested = crate::time(ctx, input, &seg, 7, 0, sink);
                g.issued = crate::time(ctx, input, &seg, 22, 0, sink);
            }
            "ORC" => {
                g.orc_orderer = crate::xcn_person(&seg, 12)
                    .map(|p| (p, format!("{}#{}", seg.id(), seg.number())));
                g.orc_at = Some(input.at(&seg, 12, 0));
                g.department = crate::department(ctx, seg.value(17, 1).trim());
                if g.order_no.is_empty() {
                    g.order_no = seg.value(2, 1).trim().to_owned();
                }
            }
            "OBX" => {
                let mut o = one(ctx, input, &seg, &g, sink);
                o.encounter_class = class.clone();
                crate::require_encounter_and_department(
                    &mut o.submission,
                    o.department.as_ref(),
                    class.as_ref(),
                    seg.location().file(input.file),
                    sink,
                );
                out.push(o);
            }
            _ => {}
        }
    }
    if out.is_empty() {
        sink.push(
            Diagnostic::new(&codes::WRONG_MESSAGE, "no OBX segment; no lab result")
                .at(diagnostics::Location::default().file(input.file)),
        );
    }
    out
}

fn is_jlac10(c: &Cwe) -> bool {
    c.name == "JC10" && c.code.len() == 17 && c.code.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn one(
    ctx: &Context<'_>,
    input: &Input<'_>,
    obx: &Segment<'_>,
    g: &Group,
    sink: &mut Findings,
) -> ObservationRecord {
    let primary = cwe(obx, 3);
    let alt = cwe_alt(obx, 3);
    let (local, local_name, local_comp) = if !alt.code.is_empty() && alt.name.starts_with("99") {
        (alt.clone(), alt.name.clone(), 4)
    } else if primary.name.starts_with("99") || !is_jlac10(&primary) {
        (primary.clone(), primary.name.clone(), 1)
    } else {
        (primary.clone(), String::new(), 1)
    };
    let text = if primary.text.is_empty() {
        alt.text.clone()
    } else {
        primary.text.clone()
    };
    let mut code = Concept {
        text: text.clone(),
        ..Concept::default()
    };
    if !local.code.is_empty() {
        let local_code = if g.specimen_local.is_empty() {
            local.code.clone()
        } else {
            format!("{}_{}", local.code, g.specimen_local)
        };
        code.coding
            .push(Coding::new(uri::LAB_LOCAL, &local_code, &text));
    }
    let mut lineage = vec![input.lineage("Observation.code", obx, "OBX-3")];

    // JLAC10: as sent, else through the site table.
    let mut jlac10: Option<Coding> = None;
    if is_jlac10(&primary) {
        jlac10 = Some(Coding::new(uri::JLAC10, &primary.code, &primary.text));
    } else if is_jlac10(&alt) {
        jlac10 = Some(Coding::new(uri::JLAC10, &alt.code, &alt.text));
    }
    if jlac10.is_none() && !local_name.is_empty() {
        let sys = terminologies::system::local_uri(&ctx.config.site, &local_name);
        let t = crate::translate(
            ctx,
            input,
            obx,
            (3, local_comp),
            &sys,
            &local.code,
            &g.specimen_local,
            &local.text,
            true,
            sink,
        );
        jlac10 = t.targets.into_iter().find(|c| c.system == uri::JLAC10);
    }
    let kind = match &jlac10 {
        Some(j) => match ctx.lab_sets.lookup(&j.code) {
            Some((kind, mut set)) => {
                set.table_row = j.table_row.clone();
                code.coding.push(set);
                kind
            }
            None => {
                code.coding.push(j.clone());
                LabKind::General
            }
        },
        None => {
            code.coding.push(Coding::new(
                uri::LAB_UNCODED,
                UNCODED,
                "未標準化コード項目(JLAC)",
            ));
            LabKind::Uncoded
        }
    };

    let value = value(ctx, input, obx, sink);
    if value.is_some() {
        lineage.push(input.lineage("Observation.value[x]", obx, "OBX-5"));
    }
    let range_text = obx.value(7, 0).trim().to_owned();
    let range = (!range_text.is_empty()).then(|| parse_range(&range_text));
    if range
        .as_ref()
        .is_some_and(|r| r.low.is_none() && r.high.is_none())
    {
        sink.push(
            Diagnostic::new(&codes::BAD_RANGE, "reference range kept as text")
                .at(input.at(obx, 7, 0))
                .excerpt(Excerpt::text(range_text.clone())),
        );
    }
    if range.is_some() {
        lineage.push(input.lineage("Observation.referenceRange", obx, "OBX-7"));
    }
    let flag = cwe(obx, 8);
    let interpretation =
        (!flag.code.is_empty()).then(|| Coding::new(uri::HL7_0078, &flag.code, &flag.text));
    let status = match obx.value(11, 0).trim() {
        "F" => "final",
        "C" => "corrected",
        "P" | "R" | "S" | "I" => "preliminary",
        "X" => "cancelled",
        // Order detail (OML-01 orders carry OBX with no result).
        "O" => "registered",
        "D" | "W" => "entered-in-error",
        _ => "unknown",
    };
    let effective = g
        .collected
        .clone()
        .or_else(|| g.requested.clone())
        .or_else(|| crate::time(ctx, input, obx, 14, 0, sink));

    let orderer = g.orc_orderer.clone().or_else(|| g.obr_orderer.clone());
    if let Some((_, segment)) = &orderer {
        let field = if segment.starts_with("ORC") {
            "ORC-12"
        } else {
            "OBR-16"
        };
        lineage.push(crate::record::Lineage {
            element: "Observation.performer",
            file: input.file.to_owned(),
            segment: segment.clone(),
            field: field.to_owned(),
        });
    }
    let in_scope = matches!(kind, LabKind::Core | LabKind::Infection)
        || ctx.config.policy.lab_scope == LabScope::All;
    let submission = if local.code.is_empty() {
        // Nothing to code it with: JP-CLINS 1.10 requires the local code (R6021) and
        // every version a coding; never made up.
        sink.push(
            Diagnostic::new(&codes::NO_LAB_CODE, "OBX-3 names no code").at(input.at(obx, 3, 0)),
        );
        Submission::Withheld("no code in OBX-3")
    } else if status == "entered-in-error" {
        sink.push(
            Diagnostic::new(
                &codes::DELETED,
                "OBX-11 D/W: the result is entered-in-error",
            )
            .at(input.at(obx, 11, 0)),
        );
        Submission::Withheld("deleted at the source (OBX-11)")
    } else if status == "registered" || status == "cancelled" {
        Submission::Withheld("no result (OBX-11 O or X)")
    } else if !in_scope {
        sink.push(
            Diagnostic::new(
                &codes::OUT_OF_SCOPE,
                "not a JP-CLINS core or infection item (policy.lab_scope = clins-sets)",
            )
            .at(input.at(obx, 3, 1))
            .excerpt(Excerpt::text(primary.code.clone())),
        );
        Submission::Withheld("outside the lab scope")
    } else if effective.is_none() {
        sink.push(
            Diagnostic::new(&codes::NO_EFFECTIVE, "no SPM-17, OBR-7 or OBX-14 time")
                .at(obx.location().file(input.file)),
        );
        Submission::Withheld("no effective time")
    } else if orderer.is_none() && ctx.lab_sets.performer_required {
        let at = g
            .orc_at
            .clone()
            .unwrap_or_else(|| obx.location().file(input.file));
        sink.push(Diagnostic::new(
            &codes::NO_ORDERER,
            "no ordering doctor in ORC-12 or OBR-16: the pinned JP-CLINS requires every result to name its performer (R9017O)",
        ).at(at));
        Submission::Withheld("no ordering doctor (ORC-12 / OBR-16)")
    } else {
        Submission::Submit
    };
    if submission == Submission::Submit
        && let Some(Value::Quantity { unit, .. }) = &value
        && unit.is_empty()
    {
        sink.push(
            Diagnostic::new(&codes::NO_RESULT_UNIT, "numeric result without a unit")
                .at(input.at(obx, 6, 0)),
        );
    }
    let mut tags = Vec::new();
    let lts_allowed = !ctx.lab_sets.lts_infection_only || kind == LabKind::Infection;
    if lts_allowed
        && ctx
            .config
            .policy
            .lts
            .resource_types
            .iter()
            .any(|t| t == "Observation")
    {
        tags.push(Tag::Lts);
    }
    ObservationRecord {
        order_no: g.order_no.clone(),
        set_id: obx.value(1, 0).trim().to_owned(),
        code,
        kind,
        value,
        range,
        interpretation,
        specimen: g.specimen.clone(),
        effective,
        issued: g.issued.clone(),
        status,
        department: g.department.clone(),
        encounter_class: None,
        orderer: orderer.map(|(p, _)| p),
        tags,
        submission: Some(submission),
        lineage,
    }
}

/// True for a plain decimal (`7.2`, `-1`, `.5`).
pub fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut dot = false;
    let mut digits = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' if !dot => dot = true,
            _ => return false,
        }
    }
    digits > 0
}

/// Normalises a decimal for FHIR (`.5` → `0.5`, `+3` → `3`); the digits are kept exactly.
pub(crate) fn decimal(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let rest = if rest.starts_with('.') {
        format!("0{rest}")
    } else {
        rest.to_owned()
    };
    let rest = rest.strip_suffix('.').map(str::to_owned).unwrap_or(rest);
    format!("{sign}{rest}")
}

fn unit(obx: &Segment<'_>) -> String {
    let u = obx.value(6, 1).trim().to_owned();
    if u.is_empty() {
        obx.value(6, 2).trim().to_owned()
    } else {
        u
    }
}

fn value(
    ctx: &Context<'_>,
    input: &Input<'_>,
    obx: &Segment<'_>,
    sink: &mut Findings,
) -> Option<Value> {
    let vt = obx.value(2, 0).trim().to_owned();
    let raw = obx.value(5, 0).trim().to_owned();
    if raw.is_empty() {
        return None;
    }
    match vt.as_str() {
        "NM" => {
            if is_decimal(&raw) {
                Some(Value::Quantity {
                    value: decimal(&raw),
                    comparator: None,
                    unit: unit(obx),
                })
            } else {
                sink.push(
                    Diagnostic::new(
                        &codes::BAD_NUMBER,
                        "NM result is not a number; kept as text",
                    )
                    .at(input.at(obx, 5, 0))
                    .excerpt(Excerpt::text(raw.clone())),
                );
                Some(Value::String(raw))
            }
        }
        "SN" => {
            let cmp = obx.value(5, 1).trim().to_owned();
            let n1 = obx.value(5, 2).trim().to_owned();
            let sep = obx.value(5, 3).trim().to_owned();
            let n2 = obx.value(5, 4).trim().to_owned();
            let comparator = match cmp.as_str() {
                "" | "=" => Some(None),
                "<" | "<=" | ">" | ">=" => Some(Some(cmp.clone())),
                _ => None,
            };
            match comparator {
                Some(comparator) if sep.is_empty() && n2.is_empty() && is_decimal(&n1) => {
                    Some(Value::Quantity {
                        value: decimal(&n1),
                        comparator,
                        unit: unit(obx),
                    })
                }
                _ => {
                    // Ranges, ratios, qualitative text: components joined by spaces (NHO convention).
                    let parts: Vec<String> = [cmp, n1, sep, n2]
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .collect();
                    Some(Value::String(parts.join(" ")))
                }
            }
        }
        "ST" | "TX" | "FT" => Some(Value::String(raw)),
        "CWE" | "CE" => {
            let c = cwe(obx, 5);
            let mut concept = Concept {
                text: if c.text.is_empty() {
                    c.code.clone()
                } else {
                    c.text.clone()
                },
                ..Concept::default()
            };
            if !c.code.is_empty() && !c.name.is_empty() {
                let (system, _) =
                    terminologies::system::source_uri_for_v2(&c.name, &c.code, &ctx.config.site);
                concept.coding.push(Coding::new(&system, &c.code, &c.text));
            }
            Some(Value::Concept(concept))
        }
        _ => {
            sink.push(
                Diagnostic::new(
                    &codes::UNKNOWN_VALUE_TYPE,
                    "value type not converted; kept as text",
                )
                .at(input.at(obx, 2, 0))
                .excerpt(Excerpt::text(vt)),
            );
            Some(Value::String(raw))
        }
    }
}

/// `low-high`, `low～high`, `<=high`, `>=low`; anything else is text only.
pub fn parse_range(s: &str) -> Range {
    let mut r = Range {
        text: s.to_owned(),
        ..Range::default()
    };
    for sep in ['-', '～', '~'] {
        // Split at a separator that is not a leading sign.
        if let Some((i, _)) = s.char_indices().skip(1).find(|(_, c)| *c == sep) {
            let (a, b) = (
                s.get(..i).unwrap_or("").trim(),
                s.get(i + sep.len_utf8()..).unwrap_or("").trim(),
            );
            let (a_ok, b_ok) = (is_decimal(a), is_decimal(b));
            if (a_ok || a.is_empty()) && (b_ok || b.is_empty()) && (a_ok || b_ok) {
                r.low = a_ok.then(|| decimal(a));
                r.high = b_ok.then(|| decimal(b));
                return r;
            }
        }
    }
    if let Some(h) = s.strip_prefix("<=").or_else(|| s.strip_prefix('<'))
        && is_decimal(h.trim())
    {
        r.high = Some(decimal(h.trim()));
    } else if let Some(l) = s.strip_prefix(">=").or_else(|| s.strip_prefix('>'))
        && is_decimal(l.trim())
    {
        r.low = Some(decimal(l.trim()));
    }
    r
}
