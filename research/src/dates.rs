//! FHIR date, dateTime and instant values: shifting by whole days, generalising a
//! birth date.

use fhir::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Whether `s` is a FHIR date or dateTime with at least a full day
/// (`YYYY-MM-DD`, optionally `T…`).
pub fn is_full_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' && is_time_part(&b[10..]))
}

fn is_time_part(b: &[u8]) -> bool {
    // T hh:mm[:ss[.fff]][zone]: only the characters of a time.
    b.len() >= 3
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b':' | b'.' | b'+' | b'-' | b'Z'))
}

fn num(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// `s` shifted by `days` (the time of day and zone kept), or `None` when `s` is
/// not a full date or not a real calendar day.
pub fn shift(s: &str, days: i64) -> Option<String> {
    if !is_full_date(s) {
        return None;
    }
    let (y, m, d) = (num(s.get(..4)?)?, num(s.get(5..7)?)?, num(s.get(8..10)?)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (y2, m2, d2) = civil_from_days(days_from_civil(y, m, d) + days);
    if !(0..=9999).contains(&y2) {
        return None;
    }
    Some(format!("{y2:04}-{m2:02}-{d2:02}{}", s.get(10..)?))
}

/// How much of a birth date is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BirthPrecision {
    /// `YYYY-MM`.
    YearMonth,
    /// `YYYY`.
    Year,
}

impl BirthPrecision {
    /// Its name in options and the record.
    pub fn as_str(self) -> &'static str {
        match self {
            BirthPrecision::YearMonth => "year-month",
            BirthPrecision::Year => "year",
        }
    }

    /// `s` cut to this precision (a value already coarser is kept as it is).
    pub fn apply(self, s: &str) -> String {
        let n = match self {
            BirthPrecision::YearMonth => 7,
            BirthPrecision::Year => 4,
        };
        s.get(..n).unwrap_or(s).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_across_months_years_and_leap_days() {
        assert_eq!(shift("2024-02-28", 1).as_deref(), Some("2024-02-29"));
        assert_eq!(shift("2023-02-28", 1).as_deref(), Some("2023-03-01"));
        assert_eq!(shift("2024-01-01", -1).as_deref(), Some("2023-12-31"));
        assert_eq!(
            shift("2011-12-19T15:00:00+09:00", 180).as_deref(),
            Some("2012-06-16T15:00:00+09:00")
        );
        assert_eq!(shift("2011-12", 3), None);
        assert_eq!(shift("2011-13-01", 3), None);
        assert_eq!(shift("2011-02-30", 3), None);
        assert_eq!(shift("0000000001", 3), None);
        for d in [-180, -1, 1, 180] {
            let s = shift("1999-12-31T23:59:59Z", d).unwrap_or_default();
            assert_eq!(shift(&s, -d).as_deref(), Some("1999-12-31T23:59:59Z"));
        }
    }

    #[test]
    fn birth_precision() {
        assert_eq!(BirthPrecision::YearMonth.apply("1948-04-05"), "1948-04");
        assert_eq!(BirthPrecision::Year.apply("1948-04-05"), "1948");
        assert_eq!(BirthPrecision::YearMonth.apply("1948"), "1948");
    }
}
