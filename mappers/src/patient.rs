//! Patient ← PID (+ IN1) of any SS-MIX2 message (ADT-00 carries the full set).
//!
//! **Which patient id wins.** By default the storage folder's id (the SS-MIX2
//! key every message of the patient is filed under); PID-3.1 is compared and a
//! disagreement is a warning (M010). `policy.patient_id = "pid3"` makes PID-3.1 win.
//!
//! **被保険者個人識別子** `保険者番号8:記号:番号:枝番`: from the IN1 valid on the as-of
//! date (IN1-12 ≤ as-of ≤ IN1-13; the latest IN1-12 among several); IN1-3 保険者番号,
//! 6-digit 国保 numbers zero-padded to 8; IN1-10 記号, IN1-11 番号; 枝番 is not
//! carried by IN1 (receipts' SN supply it later) and is left empty. An IN1 whose
//! plan type (IN1-2.1) the site lists in `policy.self_pay_plan_types`, or that has
//! no 保険者番号, is 自費: the patient is withheld with a reason (M014).
//! PPR-01's ZI1 (JAHIS 保険情報) has the same layout for these fields and is read
//! the same way when a message carries no IN1.

use crate::record::{Address, MemberId, Name, PatientRecord, Submission};
use crate::{Context, Findings, Input, codes, config::PatientIdSource, time, uri};
use diagnostics::{Diagnostic, Excerpt, Phi};
use parsers::hl7::Segment;

/// Maps the PID (and IN1 segments) of a message. `None` when there is no PID (M060).
pub fn map(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Option<PatientRecord> {
    let msg = input.message;
    let Some(pid) = msg.segment("PID") else {
        sink.push(
            Diagnostic::new(&codes::WRONG_MESSAGE, "no PID segment; no patient")
                .at(diagnostics::Location::default().file(input.file)),
        );
        return None;
    };
    let mut p = PatientRecord::default();

    // Local id.
    let pid3 = pid.value(3, 1).trim().to_owned();
    let folder = input.folder_patient_id;
    p.local_id = match ctx.config.policy.patient_id {
        PatientIdSource::Folder if !folder.is_empty() => folder.to_owned(),
        _ => pid3.clone(),
    };
    if !folder.is_empty() && !pid3.is_empty() && folder != pid3 {
        let winner = match ctx.config.policy.patient_id {
            PatientIdSource::Folder => "the folder's id is used (policy.patient_id = folder)",
            PatientIdSource::Pid3 => "PID-3 is used (policy.patient_id = pid3)",
        };
        sink.push(
            Diagnostic::new(
                &codes::PATIENT_ID_MISMATCH,
                format!("PID-3 differs from the folder's patient id; {winner}"),
            )
            .at(input.at(&pid, 3, 1))
            .excerpt(Excerpt::text(pid3.clone())),
        );
    }
    let id_field = if p.local_id == folder && !folder.is_empty() {
        "folder"
    } else {
        "PID-3.1"
    };
    p.lineage
        .push(input.lineage("Patient.identifier", &pid, id_field));

    names(input, &pid, &mut p, sink);

    // Gender via the HL7 0001 table.
    let g = pid.value(8, 0).trim().to_owned();
    if !g.is_empty() {
        let t = crate::translate(
            ctx,
            input,
            &pid,
            (8, 1),
            "http://terminology.hl7.org/CodeSystem/v2-0001",
            &g,
            "",
            "",
            true,
            sink,
        );
        if let Some(c) = t.targets.first() {
            p.gender = Some(c.code.clone());
            p.lineage
                .push(input.lineage("Patient.gender", &pid, "PID-8"));
        }
    }
    // birthDate is a date: a time of birth, when sent, is dropped.
    p.birth_date = crate::time(ctx, input, &pid, 7, 0, sink)
        .map(|d| d.split('T').next().unwrap_or_default().to_owned());
    if p.birth_date.is_some() {
        p.lineage
            .push(input.lineage("Patient.birthDate", &pid, "PID-7"));
    }
    let zip = pid.value(11, 5).trim().to_owned();
    let text = pid.value(11, 8).trim().to_owned();
    if !text.is_empty() {
        p.address = Some(Address {
            postal_code: zip,
            text,
        });
        p.lineage
            .push(input.lineage("Patient.address", &pid, "PID-11"));
    }
    for (missing, what) in [
        (p.gender.is_none(), "gender"),
        (p.birth_date.is_none(), "birth date"),
        (p.address.is_none(), "address"),
        (p.names.is_empty(), "name"),
    ] {
        if missing {
            sink.push(
                Diagnostic::new(
                    &codes::MISSING_DEMOGRAPHIC,
                    format!("patient has no {what}"),
                )
                .at(pid.location().file(input.file)),
            );
        }
    }

    insurance(ctx, input, &mut p, sink);
    if p.submission.is_none() {
        p.submission = Some(Submission::Submit);
    }
    Some(p)
}

/// Removes full-width spaces inside a name part (R1113) and trims it.
fn clean(s: &str) -> (String, bool) {
    let t: String = s.chars().filter(|&c| c != '\u{3000}').collect();
    let t = t.trim().to_owned();
    let changed = t != s;
    (t, changed)
}

fn names(input: &Input<'_>, pid: &Segment<'_>, p: &mut PatientRecord, sink: &mut Findings) {
    let Some(f) = pid.field(5) else { return };
    let mut seen_ide = false;
    let mut seen_syl = false;
    for (i, rep) in f.reps().enumerate() {
        let comp = |k| {
            rep.comp(k)
                .map(|c| c.value().into_owned())
                .unwrap_or_default()
        };
        // Type and representation codes one component off (S022 in the reader):
        // which of 漢字 and カナ this is cannot be told, so the name is not used.
        if parsers::ssmix2::xpn_shift(&rep).is_some() {
            sink.push(
                Diagnostic::new(
                    &codes::NAME_CODES_SHIFTED,
                    format!(
                        "PID-5[{}]: XPN-7/XPN-8 one component off; not used as the kanji or the kana name",
                        i + 1
                    ),
                )
                .at(pid.rep_location(5, i as u32 + 1).file(input.file)),
            );
            continue;
        }
        let repr = match comp(8).as_str() {
            "I" => "IDE",
            "P" => "SYL",
            // SS-MIX2 sends 漢字 first, カナ second; an unmarked name is taken by position.
            "" if i == 0 => "IDE",
            "" if i == 1 => "SYL",
            _ => continue,
        };
        let (family, c1) = clean(&comp(1));
        let (given, c2) = clean(&comp(2));
        if family.is_empty() && given.is_empty() {
            continue;
        }
        if c1 || c2 {
            sink.push(
                Diagnostic::new(
                    &codes::NAME_NORMALISED,
                    "full-width spaces removed from a name part (R1113)",
                )
                .at(input.at(pid, 5, 1))
                .excerpt(Excerpt::phi_text(rep.value().into_owned(), Phi::Name)),
            );
        }
        let text = match (family.is_empty(), given.is_empty()) {
            (false, false) => format!("{family} {given}"),
            (false, true) => family.clone(),
            _ => given.clone(),
        };
        if repr == "IDE" {
            if seen_ide {
                continue;
            }
            seen_ide = true;
        } else {
            if seen_syl {
                continue;
            }
            seen_syl = true;
        }
        p.names.push(Name {
            representation: repr,
            family,
            given,
            text,
        });
        p.lineage
            .push(input.lineage("Patient.name", pid, &format!("PID-5[{}]", i + 1)));
    }
    // Kanji first, then kana.
    p.names.sort_by_key(|n| n.representation != "IDE");
    if seen_ide != seen_syl {
        sink.push(
            Diagnostic::new(
                &codes::NAME_NORMALISED,
                if seen_ide {
                    "no kana (SYL) name in PID-5"
                } else {
                    "no kanji (IDE) name in PID-5"
                },
            )
            .at(input.at(pid, 5, 0)),
        );
    }
}

fn insurance(ctx: &Context<'_>, input: &Input<'_>, p: &mut PatientRecord, sink: &mut Findings) {
    let as_of = ctx.as_of;
    let mut in1s: Vec<Segment<'_>> = input
        .message
        .segments()
        .filter(|s| s.id() == "IN1")
        .collect();
    if in1s.is_empty() {
        in1s = input
            .message
            .segments()
            .filter(|s| s.id() == "ZI1")
            .collect();
    }
    if in1s.is_empty() {
        // Messages other than ADT-00 seldom carry IN1; the caller merges patients.
        return;
    }
    let mut best: Option<(String, Segment<'_>)> = None;
    for s in &in1s {
        let from = s.value(12, 0);
        let to = s.value(13, 0);
        let from_day = time::day(&from).unwrap_or("");
        let to_day = time::day(&to).unwrap_or("");
        let valid = (from.is_empty() || (!from_day.is_empty() && from_day <= as_of))
            && (to.is_empty() || (!to_day.is_empty() && as_of <= to_day));
        if valid && best.as_ref().is_none_or(|(b, _)| from_day >= b.as_str()) {
            best = Some((from_day.to_owned(), *s));
        }
    }
    let Some((_, in1)) = best else {
        sink.push(
            Diagnostic::new(
                &codes::NO_VALID_INSURANCE,
                format!("none of {} IN1 segments is valid on {as_of}", in1s.len()),
            )
            .at(input.at(&in1s[0], 12, 0)),
        );
        p.submission = Some(Submission::Withheld("no insurance valid on the as-of date"));
        return;
    };
    let plan = in1.value(2, 1).trim().to_owned();
    let insurer = in1.value(3, 0).trim().to_owned();
    if insurer.is_empty() || ctx.config.policy.self_pay_plan_types.contains(&plan) {
        sink.push(
            Diagnostic::new(
                &codes::SELF_PAY,
                "self-pay (自費) patient: withheld from JP-CLINS",
            )
            .at(input.at(&in1, 2, 1))
            .excerpt(Excerpt::text(plan)),
        );
        p.submission = Some(Submission::Withheld(
            "self-pay (自費): no 被保険者個人識別子",
        ));
        return;
    }
    // 生活保護: IN1-3 holds the 公費負担者番号 (8 digits, 法別番号 12), which is no
    // 保険者番号. JP-CLINS (1.5.2, 1.10 R1012) requires exactly one
    // JP_Insurance_memberID, and making one from the 公費 number would submit the
    // patient under an identity that is not theirs: withheld, said why.
    if insurer.len() == 8
        && insurer.starts_with("12")
        && insurer.bytes().all(|b| b.is_ascii_digit())
    {
        sink.push(
            Diagnostic::new(
                &codes::PUBLIC_ASSISTANCE,
                "IN1-3 is a 生活保護 公費負担者番号 (法別番号 12), not an insurer number: no \
                 JP_Insurance_memberID can be given (R1012 requires exactly one)",
            )
            .at(input.at(&in1, 3, 0))
            .excerpt(Excerpt::phi_text(insurer, Phi::InsuranceNumber)),
        );
        p.submission = Some(Submission::Withheld(
            "生活保護 (公費 only): no 被保険者個人識別子 (R1012)",
        ));
        return;
    }
    let ins8 = match insurer.len() {
        8 if insurer.bytes().all(|b| b.is_ascii_digit()) => insurer.clone(),
        6 if insurer.bytes().all(|b| b.is_ascii_digit()) => format!("00{insurer}"),
        _ => {
            sink.push(
                Diagnostic::new(
                    &codes::INSURER_NUMBER_SHAPE,
                    "insurer number (field 3) is not 6 or 8 digits; no 被保険者個人識別子",
                )
                .at(input.at(&in1, 3, 0))
                .excerpt(Excerpt::phi_text(insurer, Phi::InsuranceNumber)),
            );
            p.submission = Some(Submission::Withheld("insurer number is malformed"));
            return;
        }
    };
    let (symbol, _) = clean(&in1.value(10, 0));
    let (number, _) = clean(&in1.value(11, 0));
    if symbol.is_empty() && number.is_empty() {
        sink.push(
            Diagnostic::new(
                &codes::EMPTY_SYMBOL_NUMBER,
                "記号 (field 10) and 番号 (field 11) are empty; the identifier carries the insurer only",
            )
            .at(input.at(&in1, 10, 0)),
        );
    }
    p.member_id = Some(MemberId {
        system: uri::INSURANCE_MEMBER_ID.to_owned(),
        value: format!("{ins8}:{symbol}:{number}:"),
    });
    p.lineage.push(input.lineage(
        "Patient.identifier",
        &in1,
        &format!("{0}-3,{0}-10,{0}-11", in1.id()),
    ));
}
