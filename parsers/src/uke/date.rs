//! Receipt dates: era form (`GYYMMDD` / `GYYMM`, 年号区分 1 明治 … 5 令和) and Western form
//! (`YYYYMMDD` / `YYYYMM`), converted to ISO 8601.

use std::fmt;

/// A calendar date or year-month read from a receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReceiptDate {
    /// Western year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31, or 0 for a year-month.
    pub day: u8,
}

impl fmt::Display for ReceiptDate {
    /// ISO form: `2019-01-09` or `2019-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.day == 0 {
            write!(f, "{:04}-{:02}", self.year, self.month)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

/// The Japanese eras of 別表 年号区分.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 1 明治 (1868-01-25 – 1912-07-29).
    Meiji,
    /// 2 大正 (1912-07-30 – 1926-12-24).
    Taisho,
    /// 3 昭和 (1926-12-25 – 1989-01-07).
    Showa,
    /// 4 平成 (1989-01-08 – 2019-04-30).
    Heisei,
    /// 5 令和 (2019-05-01 –).
    Reiwa,
}

impl Era {
    /// The era of a 年号区分 digit.
    pub fn from_digit(d: u8) -> Option<Era> {
        Some(match d {
            b'1' => Era::Meiji,
            b'2' => Era::Taisho,
            b'3' => Era::Showa,
            b'4' => Era::Heisei,
            b'5' => Era::Reiwa,
            _ => return None,
        })
    }

    /// Japanese name.
    pub fn name(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// Western year of 元年 minus one.
    fn offset(self) -> u16 {
        match self {
            Era::Meiji => 1867,
            Era::Taisho => 1911,
            Era::Showa => 1925,
            Era::Heisei => 1988,
            Era::Reiwa => 2018,
        }
    }

    /// First and last day (inclusive, as (y, m, d)); `None` end = ongoing.
    fn span(self) -> (Ymd, Option<Ymd>) {
        match self {
            Era::Meiji => ((1868, 1, 25), Some((1912, 7, 29))),
            Era::Taisho => ((1912, 7, 30), Some((1926, 12, 24))),
            Era::Showa => ((1926, 12, 25), Some((1989, 1, 7))),
            Era::Heisei => ((1989, 1, 8), Some((2019, 4, 30))),
            Era::Reiwa => ((2019, 5, 1), None),
        }
    }
}

/// (year, month, day).
type Ymd = (u16, u8, u8);

/// Which way a date is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateForm {
    /// `GYYMMDD` / `GYYMM`.
    Era,
    /// `YYYYMMDD` / `YYYYMM`.
    Western,
}

/// Why a date could not be taken as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateProblem {
    /// Not digits, or a width that is neither form.
    Unreadable,
    /// Unknown era digit, month 0/13+, day beyond the month.
    Impossible,
    /// A valid calendar date outside its era (e.g. 平成31-05-01); the date is still returned.
    OutsideEra(ReceiptDate),
}

fn num(b: &[u8]) -> Option<u16> {
    let mut n: u16 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u16::from(c - b'0');
    }
    Some(n)
}

/// Reads a date (`with_day`) or year-month in either form, decided by width
/// (7/5 = era, 8/6 = Western). Returns the form and the date.
pub fn parse(
    s: &str,
    with_day: bool,
) -> Result<(DateForm, ReceiptDate), (Option<DateForm>, DateProblem)> {
    let b = s.as_bytes();
    let (era_w, west_w) = if with_day { (7, 8) } else { (5, 6) };
    if b.iter().any(|c| !c.is_ascii_digit()) {
        return Err((None, DateProblem::Unreadable));
    }
    let (form, year, era, rest) = if b.len() == era_w {
        let Some(era) = Era::from_digit(b[0]) else {
            return Err((Some(DateForm::Era), DateProblem::Impossible));
        };
        let yy = num(&b[1..3]).unwrap_or(0);
        if yy == 0 {
            return Err((Some(DateForm::Era), DateProblem::Impossible));
        }
        (DateForm::Era, era.offset() + yy, Some(era), &b[3..])
    } else if b.len() == west_w {
        let y = num(&b[0..4]).unwrap_or(0);
        if y == 0 {
            return Err((Some(DateForm::Western), DateProblem::Impossible));
        }
        (DateForm::Western, y, None, &b[4..])
    } else {
        return Err((None, DateProblem::Unreadable));
    };
    let month = num(&rest[0..2]).unwrap_or(0) as u8;
    let day = if with_day {
        num(&rest[2..4]).unwrap_or(0) as u8
    } else {
        0
    };
    if !(1..=12).contains(&month)
        || (with_day
            && (day == 0
                || u32::from(day) > crate::hl7::values::days_in(u32::from(year), u32::from(month))))
    {
        return Err((Some(form), DateProblem::Impossible));
    }
    let date = ReceiptDate { year, month, day };
    if let Some(era) = era {
        let (start, end) = era.span();
        // For a year-month, the month must overlap the era.
        let key = (year, month, if with_day { day } else { 31 });
        let key_end = (year, month, if with_day { day } else { 1 });
        let before = key < start;
        let after = end.is_some_and(|e| key_end > e);
        if before || after {
            return Err((Some(form), DateProblem::OutsideEra(date)));
        }
    }
    Ok((form, date))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str, day: bool) -> String {
        match parse(s, day) {
            Ok((_, d)) => d.to_string(),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn eras_convert() {
        assert_eq!(ok("4310109", true), "2019-01-09");
        assert_eq!(ok("4070208", true), "1995-02-08");
        assert_eq!(ok("43101", false), "2019-01");
        assert_eq!(ok("5010501", true), "2019-05-01");
        assert_eq!(ok("3640107", true), "1989-01-07");
        assert_eq!(ok("2150101", true), "1926-01-01");
        assert_eq!(ok("1450101", true), "1912-01-01");
        assert_eq!(ok("20230228", true), "2023-02-28");
        assert_eq!(ok("202302", false), "2023-02");
    }

    #[test]
    fn impossible_and_outside_era_dates() {
        assert!(matches!(
            parse("20230230", true),
            Err((_, DateProblem::Impossible))
        ));
        assert!(matches!(
            parse("20231301", true),
            Err((_, DateProblem::Impossible))
        ));
        assert!(matches!(
            parse("6010101", true),
            Err((_, DateProblem::Impossible))
        ));
        assert!(matches!(
            parse("4000101", true),
            Err((_, DateProblem::Impossible))
        ));
        assert!(matches!(
            parse("4310501", true),
            Err((_, DateProblem::OutsideEra(_)))
        ));
        assert!(matches!(
            parse("43105", false),
            Err((_, DateProblem::OutsideEra(_)))
        ));
        assert!(parse("43104", false).is_ok());
        assert!(matches!(
            parse("50104", false),
            Err((_, DateProblem::OutsideEra(_)))
        ));
        assert!(parse("50105", false).is_ok());
        assert!(parse("2023021", true).is_err());
        assert!(matches!(
            parse("2023a228", true),
            Err((_, DateProblem::Unreadable))
        ));
        assert_eq!(ok("20240229", true), "2024-02-29");
        assert!(matches!(
            parse("19000229", true),
            Err((_, DateProblem::Impossible))
        ));
    }
}
