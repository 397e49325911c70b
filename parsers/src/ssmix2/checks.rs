//! Content checks of one SS-MIX2 message file: header conventions, message type vs
//! data type, PID-3 and care date vs the file name, segment grammar, typed values.

use super::{FileName, care_date_field, codes, data_type, grammar};
use crate::hl7::values::{is_dt, is_nm, is_ts};
use crate::hl7::{Hl7File, Message, Segment, phi_of};
use diagnostics::{Diagnostic, Diagnostics, Excerpt};

/// Runs every content check on a parsed file; `name` is its SS-MIX2 file name
/// when it has one.
pub fn check_message(file: &Hl7File, name: Option<&FileName>) -> Diagnostics {
    let mut d = Diagnostics::default();
    if file.messages().len() > 1 {
        let second = file.messages().nth(1).and_then(|m| m.segments().next());
        let mut diag = Diagnostic::new(
            &codes::SEVERAL_MESSAGES,
            format!("{} messages in one file", file.messages().len()),
        );
        if let Some(s) = second {
            diag = diag.at(s.location());
        }
        d.push(diag);
    }
    for m in file.messages() {
        check_one(m, name, &mut d);
    }
    d
}

fn check_one(m: Message<'_>, name: Option<&FileName>, d: &mut Diagnostics) {
    let Some(msh) = m.segment("MSH") else {
        return;
    };
    // MSH-9.
    let message_type = m.message_type();
    match &message_type {
        None => d.push(
            Diagnostic::new(
                &codes::NO_MESSAGE_TYPE,
                "MSH-9 needs a message code and a trigger event",
            )
            .at(msh.field_location(9, 0))
            .excerpt(Excerpt::text(msh.get(9, 0))),
        ),
        Some(t) => {
            if let Some(dt) = name.and_then(|n| data_type(&n.data_type))
                && !dt.message_types.contains(&t.as_str())
            {
                d.push(
                    Diagnostic::new(
                        &codes::MESSAGE_TYPE_MISMATCH,
                        format!(
                            "message type {t} is not one of {} for data type {}",
                            dt.message_types.join(", "),
                            dt.code
                        ),
                    )
                    .at(msh.field_location(9, 0)),
                );
            }
        }
    }
    // MSH-12, MSH-18, MSH-20.
    if msh.get(12, 1) != "2.5" {
        d.push(
            Diagnostic::new(&codes::VERSION, "MSH-12 should be 2.5")
                .at(msh.field_location(12, 0))
                .excerpt(Excerpt::text(msh.get(12, 0))),
        );
    }
    check_charset(
        &msh,
        18,
        &["~ISO IR87", "ISO IR87"],
        &["~ISOIR87", "ISOIR87"],
        d,
    );
    check_charset(&msh, 20, &["ISO 2022-1994"], &["ISO2022-1994"], d);
    // PID-3 vs file name.
    match m.segment("PID") {
        None => d.push(Diagnostic::new(&codes::NO_PID, "no PID segment").at(msh.location())),
        Some(pid) => {
            if let Some(n) = name {
                let id = pid.value(3, 1);
                if id != n.patient_id {
                    d.push(
                        Diagnostic::new(
                            &codes::PATIENT_ID_MISMATCH,
                            format!(
                                "PID-3 patient id '{id}' differs from the file name's '{}'",
                                n.patient_id
                            ),
                        )
                        .at(pid.field_location(3, 1)),
                    );
                }
            }
        }
    }
    // Care date.
    if let Some(t) = &message_type {
        check_care_date(m, t, name, d);
    }
    // Grammar.
    if let Some(t) = &message_type {
        match grammar::for_message_type(t) {
            None => d.push(
                Diagnostic::new(&codes::NO_GRAMMAR, format!("no SS-MIX2 grammar for {t}"))
                    .at(msh.field_location(9, 0)),
            ),
            Some(g) => {
                let segs: Vec<Segment<'_>> = m.segments().collect();
                match g.check(segs.iter().map(|s| s.id())) {
                    Ok(()) => {}
                    Err(grammar::Deviation::Unexpected(i)) => d.push(
                        Diagnostic::new(
                            &codes::GRAMMAR,
                            format!(
                                "{} is not allowed after {} in {t}",
                                segs[i].id(),
                                segs.get(i.wrapping_sub(1)).map_or("the start", |s| s.id())
                            ),
                        )
                        .at(segs[i].location()),
                    ),
                    Err(grammar::Deviation::Incomplete) => d.push(
                        Diagnostic::new(
                            &codes::GRAMMAR,
                            format!("message ends before the {t} grammar is complete"),
                        )
                        .at(segs.last().map_or_else(|| msh.location(), |s| s.location())),
                    ),
                }
            }
        }
    }
    // Typed values.
    for s in m.segments() {
        check_values(&s, d);
    }
}

fn check_charset(
    msh: &Segment<'_>,
    field: u32,
    standard: &[&str],
    variants: &[&str],
    d: &mut Diagnostics,
) {
    let v = msh.field(field).map_or("", |f| f.raw());
    if standard.contains(&v) {
        return;
    }
    let (code, msg) = if variants.contains(&v) {
        (
            &codes::CHARSET_VARIANT,
            format!("MSH-{field} spelling variant accepted"),
        )
    } else {
        (
            &codes::CHARSET_DECLARATION,
            format!("MSH-{field} should be '{}'", standard[0]),
        )
    };
    d.push(
        Diagnostic::new(code, msg)
            .at(msh.field_location(field, 0))
            .excerpt(Excerpt::text(v)),
    );
}

fn check_care_date(
    m: Message<'_>,
    message_type: &str,
    name: Option<&FileName>,
    d: &mut Diagnostics,
) {
    let field = match name.and_then(|n| data_type(&n.data_type)) {
        Some(dt) => dt.care_date,
        None => care_date_field(message_type),
    };
    let Some(name) = name else { return };
    let Some((seg_id, n)) = field else {
        return;
    };
    let Some(expected) = name.care_date.as_deref() else {
        // Filed under '-' although the data type has a care date: the folder rule
        // says undecided dates use the order date, so a '-' is worth a look.
        d.push(Diagnostic::new(
            &codes::CARE_DATE_MISMATCH,
            format!("file is filed under '-' but {seg_id}-{n} carries the care date"),
        ));
        return;
    };
    for s in m.segments().filter(|s| s.id() == seg_id) {
        let v = s.get(n, 1);
        let date = v.get(..8).unwrap_or(v);
        if date != expected {
            d.push(
                Diagnostic::new(
                    &codes::CARE_DATE_MISMATCH,
                    format!("{seg_id}-{n} date '{date}' differs from the file name's care date '{expected}'"),
                )
                .at(s.field_location(n, 1)),
            );
        }
    }
}

/// HL7 data type of fields kakehashi checks for form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Nm,
    Dt,
    Ts,
}

fn field_type(seg: &str, field: u32) -> Option<Ty> {
    use Ty::*;
    Some(match (seg, field) {
        ("MSH", 7) => Ts,
        ("MSH", 13) => Nm,
        ("EVN", 2 | 6) => Ts,
        ("PID", 7 | 33) => Ts,
        ("PV1", 44 | 45) => Ts,
        ("PV2", 8 | 9) => Ts,
        ("ORC", 9 | 15) => Ts,
        ("RXA", 3 | 4) => Ts,
        ("RXA", 6) => Nm,
        ("RXE", 3 | 4 | 10) => Nm,
        ("TQ1", 7 | 8) => Ts,
        ("SPM", 17) => Ts,
        ("OBR", 7 | 8 | 22) => Ts,
        ("OBX", 14 | 19) => Ts,
        ("PRB", 2 | 7 | 9 | 16) => Ts,
        ("IAM", 11) => Dt,
        ("IAM", 13) => Ts,
        ("IN1" | "ZI1", 12 | 13) => Dt,
        _ => return None,
    })
}

fn check_values(s: &Segment<'_>, d: &mut Diagnostics) {
    let id = s.id();
    for n in 1..=s.field_count() {
        let ty = match (id, n) {
            ("OBX", 5) if s.get(2, 1) == "NM" => Some(Ty::Nm),
            ("TQ1", 2) => {
                // CQ: quantity^units; the quantity is NM.
                check_one_value(s, n, 1, Ty::Nm, d);
                None
            }
            _ => field_type(id, n),
        };
        if let Some(ty) = ty {
            check_one_value(s, n, 1, ty, d);
        }
    }
}

fn check_one_value(s: &Segment<'_>, n: u32, comp: u32, ty: Ty, d: &mut Diagnostics) {
    let Some(field) = s.field(n) else { return };
    for (ri, rep) in field.reps().enumerate() {
        let Some(c) = rep.comp(comp) else { continue };
        let v = c.raw();
        if v.is_empty() || v == "\"\"" {
            continue;
        }
        let ok = match ty {
            Ty::Nm => is_nm(v),
            Ty::Dt => is_dt(v),
            Ty::Ts => is_ts(v),
        };
        if !ok {
            let kind = match ty {
                Ty::Nm => "a number (NM)",
                Ty::Dt => "a date (DT)",
                Ty::Ts => "a time stamp (TS)",
            };
            let mut loc = s.field_location(n, comp);
            if let Some(f) = loc.field.as_mut() {
                f.repetition = ri as u32 + 1;
            }
            d.push(
                Diagnostic::new(
                    &codes::BAD_VALUE,
                    format!("{id}-{n} should be {kind}", id = s.id()),
                )
                .at(loc)
                .excerpt(Excerpt::text(v).with_phi(phi_of(s.id(), n))),
            );
        }
    }
}
