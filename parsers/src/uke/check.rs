//! Field checks against a layout: counts, lengths in Shift_JIS bytes, modes, dates.

use super::codes;
use super::date::{self, DateForm, DateProblem};
use super::layout::{Col, Mode, Spec};
use super::reader::{Record, sjis_len};
use diagnostics::{Code, Diagnostic, Diagnostics, Excerpt, FieldPath, Location};

/// Location of a column of a record.
pub fn col_loc(rec: &Record, column: usize, name: Option<&'static str>) -> Location {
    let mut fp = FieldPath::new(rec.id(), column as u32);
    if let Some(n) = name {
        fp = fp.named(n);
    }
    Location::default()
        .line(rec.line)
        .byte(rec.field_byte(column).unwrap_or(rec.byte))
        .record(rec.id(), rec.line)
        .field(fp)
}

/// Location of a whole record.
pub fn rec_loc(rec: &Record) -> Location {
    Location::default()
        .line(rec.line)
        .byte(rec.byte)
        .record(rec.id(), rec.line)
}

fn excerpt(col: &Col, text: &str) -> Excerpt {
    match col.phi {
        Some(k) => Excerpt::phi_text(text, k),
        None => Excerpt::text(text),
    }
}

/// Checks a record against its layout; `form` is the date form of the file, if known.
pub fn check_record(rec: &Record, spec: &Spec, form: Option<DateForm>, diags: &mut Diagnostics) {
    let n = rec.len();
    if n < spec.min {
        diags.push(
            Diagnostic::new(
                &codes::TOO_FEW_FIELDS,
                format!(
                    "{} record has {n} fields; its layout has {}",
                    spec.id,
                    spec.cols.len()
                ),
            )
            .at(rec_loc(rec)),
        );
    } else if n > spec.cols.len() && !spec.open {
        diags.push(
            Diagnostic::new(
                &codes::TOO_MANY_FIELDS,
                format!(
                    "{} record has {n} fields; its layout has {}",
                    spec.id,
                    spec.cols.len()
                ),
            )
            .at(col_loc(rec, spec.cols.len() + 1, None)),
        );
    }
    for (i, text) in rec.fields().enumerate().skip(1) {
        let column = i + 1;
        if let Some(col) = spec.col(column) {
            check_field(rec, column, col, text, form, diags);
        }
    }
}

fn push(
    diags: &mut Diagnostics,
    code: &'static Code,
    msg: String,
    rec: &Record,
    column: usize,
    col: &Col,
    text: &str,
) {
    diags.push(
        Diagnostic::new(code, msg)
            .at(col_loc(rec, column, Some(col.name)))
            .excerpt(excerpt(col, text)),
    );
}

/// Checks one field.
pub fn check_field(
    rec: &Record,
    column: usize,
    col: &Col,
    text: &str,
    form: Option<DateForm>,
    diags: &mut Diagnostics,
) {
    if text.is_empty() || col.mode == Mode::Any {
        return;
    }
    let bytes: usize = if text.is_ascii() {
        text.len()
    } else {
        text.chars().map(sjis_len).sum()
    };
    let name = col.name;
    if col.max > 0 {
        if col.fixed && bytes != col.max {
            push(
                diags,
                &codes::FIXED_LENGTH,
                format!("{name} is {bytes} bytes; fixed length is {}", col.max),
                rec,
                column,
                col,
                text,
            );
        } else if bytes > col.max && !matches!(col.mode, Mode::Date | Mode::YearMonth) {
            push(
                diags,
                &codes::FIELD_TOO_LONG,
                format!("{name} is {bytes} bytes; maximum is {}", col.max),
                rec,
                column,
                col,
                text,
            );
        }
    }
    match col.mode {
        Mode::Digits => {
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                push(
                    diags,
                    &codes::NOT_DIGITS,
                    format!("{name} must be half-width digits"),
                    rec,
                    column,
                    col,
                    text,
                );
            }
        }
        Mode::Alnum => {
            if !text.is_ascii() && text.chars().any(|c| sjis_len(c) == 2) {
                push(
                    diags,
                    &codes::FULLWIDTH_IN_ALNUM,
                    format!("{name} is 英数 but holds a full-width character"),
                    rec,
                    column,
                    col,
                    text,
                );
            }
        }
        Mode::Kanji => kanji(rec, column, col, text, diags),
        Mode::AlnumOrKanji => {
            if !text.is_ascii() {
                let half = text.chars().any(|c| sjis_len(c) == 1);
                let full = text.chars().any(|c| sjis_len(c) == 2);
                if half && full {
                    if text.chars().any(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)) {
                        push(
                            diags,
                            &codes::HALFWIDTH_KANA_IN_KANJI,
                            format!("{name} mixes half-width kana into 漢字 text"),
                            rec,
                            column,
                            col,
                            text,
                        );
                    } else {
                        push(
                            diags,
                            &codes::MIXED_MODES,
                            format!("{name} mixes half-width and full-width characters"),
                            rec,
                            column,
                            col,
                            text,
                        );
                    }
                }
            }
        }
        Mode::Repeat { unit, count } => {
            let chars = text.chars().count();
            if !chars.is_multiple_of(unit) {
                push(
                    diags,
                    &codes::REPEAT_UNIT,
                    format!("{name} has {chars} characters, not a multiple of {unit}"),
                    rec,
                    column,
                    col,
                    text,
                );
            } else if chars / unit > count {
                push(
                    diags,
                    &codes::FIELD_TOO_LONG,
                    format!("{name} has {} codes; maximum is {count}", chars / unit),
                    rec,
                    column,
                    col,
                    text,
                );
            }
            if !text.is_ascii() {
                push(
                    diags,
                    &codes::FULLWIDTH_IN_ALNUM,
                    format!("{name} is 英数 but holds a full-width character"),
                    rec,
                    column,
                    col,
                    text,
                );
            }
        }
        Mode::Date | Mode::YearMonth => {
            let with_day = col.mode == Mode::Date;
            match date::parse(text, with_day) {
                Ok((f, _)) => form_mismatch(rec, column, col, text, f, form, diags),
                Err((f, problem)) => {
                    if let Some(f) = f {
                        form_mismatch(rec, column, col, text, f, form, diags);
                    }
                    // Messages never show the value: a birth date is PHI and stays in the excerpt.
                    let (code, msg) = match problem {
                        DateProblem::Unreadable if with_day => (
                            &codes::BAD_DATE,
                            format!("{name} is not a date in GYYMMDD/YYYYMMDD form"),
                        ),
                        DateProblem::Unreadable => (
                            &codes::BAD_DATE,
                            format!("{name} is not a year-month in GYYMM/YYYYMM form"),
                        ),
                        DateProblem::Impossible => (
                            &codes::IMPOSSIBLE_DATE,
                            format!("{name} is not a real date"),
                        ),
                        DateProblem::OutsideEra(_) => (
                            &codes::DATE_OUTSIDE_ERA,
                            format!("{name} is a real date but outside the era it names"),
                        ),
                    };
                    push(diags, code, msg, rec, column, col, text);
                }
            }
        }
        Mode::Any => {}
    }
}

fn form_mismatch(
    rec: &Record,
    column: usize,
    col: &Col,
    text: &str,
    f: DateForm,
    form: Option<DateForm>,
    diags: &mut Diagnostics,
) {
    if let Some(expected) = form
        && expected != f
    {
        let (got, want) = match f {
            DateForm::Era => ("era form", "Western form"),
            DateForm::Western => ("Western form", "era form"),
        };
        push(
            diags,
            &codes::DATE_FORM_MISMATCH,
            format!("{} is in {got}; the file uses {want}", col.name),
            rec,
            column,
            col,
            text,
        );
    }
}

fn kanji(rec: &Record, column: usize, col: &Col, text: &str, diags: &mut Diagnostics) {
    if text.chars().any(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)) {
        push(
            diags,
            &codes::HALFWIDTH_KANA_IN_KANJI,
            format!("{} is 漢字 but holds half-width kana", col.name),
            rec,
            column,
            col,
            text,
        );
    } else if text.chars().any(|c| c.is_ascii()) {
        push(
            diags,
            &codes::HALFWIDTH_IN_KANJI,
            format!("{} is 漢字 but holds a half-width character", col.name),
            rec,
            column,
            col,
            text,
        );
    }
}
