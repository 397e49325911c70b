//! Content checks of one SS-MIX2 message file: header conventions, message type vs
//! data type, PID-3 and care date vs the file name, segment grammar, typed values.

use super::{FileName, care_date_field, codes, data_type, grammar};
use crate::hl7::values::{is_dt, is_nm, is_ts};
use crate::hl7::{Hl7File, Message, Rep, Segment, phi_of};
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
                let ids: Vec<&str> = segs.iter().map(|s| s.id()).collect();
                match g.check(ids.iter().copied()) {
                    Ok(()) => {}
                    Err(grammar::Deviation::Unexpected(i)) => {
                        // Name the segment whose absence is the fault when one
                        // inserted before this one would make the order valid.
                        let missing = g.missing_before(&ids, i);
                        let here = ids.get(i).copied().unwrap_or_default();
                        let prev = ids.get(i.wrapping_sub(1)).copied().unwrap_or("the start");
                        let message = match missing.as_slice() {
                            [] => format!("{here} is not allowed after {prev} in {t}"),
                            [one] => format!(
                                "{one} is missing before {here} (after {prev}): {t} requires it there"
                            ),
                            several => format!(
                                "one of {} is missing before {here} (after {prev}): {t} requires one there",
                                several.join(", ")
                            ),
                        };
                        let mut diag = Diagnostic::new(&codes::GRAMMAR, message);
                        if let Some(s) = segs.get(i) {
                            diag = diag.at(s.location());
                        }
                        d.push(diag);
                    }
                    Err(grammar::Deviation::Incomplete) => {
                        let missing = g.missing_before(&ids, ids.len());
                        let message = match missing.as_slice() {
                            [] => format!("message ends before the {t} grammar is complete"),
                            several => format!(
                                "message ends before the {t} grammar is complete: {} is missing at the end",
                                several.join(" or ")
                            ),
                        };
                        d.push(
                            Diagnostic::new(&codes::GRAMMAR, message)
                                .at(segs.last().map_or_else(|| msh.location(), |s| s.location())),
                        );
                    }
                }
            }
        }
    }
    // Typed values.
    for s in m.segments() {
        check_values(&s, d);
        check_names(&s, d);
    }
}

/// Where the name type code (XPN-7) and name representation code (XPN-8) of a
/// person name were found, when they sit one component off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XpnShift {
    /// Written in XPN-6 / XPN-7 (one component early).
    Early,
    /// Written in XPN-8 / XPN-9 (one component late).
    Late,
}

/// HL7 table 0200 name types (XPN-7).
const NAME_TYPES: &[&str] = &[
    "A", "B", "BAD", "C", "D", "I", "K", "L", "M", "N", "NAV", "NB", "P", "R", "S", "T", "TEMP",
    "U",
];
/// HL7 table 4000 name representations (XPN-8): I 漢字, P カナ, A alphabetic.
const REPRESENTATIONS: &[&str] = &["I", "P", "A"];

/// Tells whether one repetition of an XPN field has its name type and name
/// representation codes one component off (e.g. `山田^太郎^^^^L^I`, or
/// `山田^太郎^^^^^^L^I`). A repetition whose XPN-8 holds a representation code is
/// never shifted; both codes must be present for a shift to be named.
pub fn xpn_shift(rep: &Rep<'_>) -> Option<XpnShift> {
    let comp = |k: u32| {
        rep.comp(k)
            .map_or(String::new(), |c| c.value().trim().to_owned())
    };
    let (c6, c7, c8, c9) = (comp(6), comp(7), comp(8), comp(9));
    if REPRESENTATIONS.contains(&c8.as_str()) {
        return None;
    }
    if c8.is_empty() && REPRESENTATIONS.contains(&c7.as_str()) && NAME_TYPES.contains(&c6.as_str())
    {
        return Some(XpnShift::Early);
    }
    if NAME_TYPES.contains(&c8.as_str()) && REPRESENTATIONS.contains(&c9.as_str()) {
        return Some(XpnShift::Late);
    }
    None
}

/// The XPN (person name) fields of the segments SS-MIX2 uses.
fn is_xpn(seg: &str, field: u32) -> bool {
    matches!(
        (seg, field),
        ("PID", 5 | 6 | 9) | ("NK1", 2 | 30) | ("IN1" | "ZI1", 16) | ("GT1", 3)
    )
}

/// XPN-7 / XPN-8 one component off: the kanji (I) and kana (P) names can no
/// longer be told apart, so this is reported at the repetition (S022).
fn check_names(s: &Segment<'_>, d: &mut Diagnostics) {
    let id = s.id();
    for n in 1..=s.field_count() {
        if !is_xpn(id, n) {
            continue;
        }
        let Some(field) = s.field(n) else { continue };
        for (ri, rep) in field.reps().enumerate() {
            let Some(shift) = xpn_shift(&rep) else {
                continue;
            };
            let (at, off) = match shift {
                XpnShift::Early => ("XPN-6/XPN-7", "one component early"),
                XpnShift::Late => ("XPN-8/XPN-9", "one component late"),
            };
            d.push(
                Diagnostic::new(
                    &codes::XPN_SHIFTED,
                    format!(
                        "{id}-{n}: name type and representation codes are in {at}, {off}; \
                         the representation (XPN-8: I kanji, P kana) is not read from them"
                    ),
                )
                .at(s.rep_location(n, ri as u32 + 1))
                .excerpt(Excerpt::text(rep.raw()).with_phi(phi_of(id, n))),
            );
        }
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
