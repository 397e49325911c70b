//! HL7 v2 dates and times (`DT`, `TS`/`DTM`) → FHIR `date` / `dateTime`. Pure:
//! a time without an offset gets the site's configured offset, never the clock's.

/// True for a real calendar date `YYYYMMDD`.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1800 && (1..=days).contains(&d)
}

/// True for `+hh:mm` / `-hh:mm`.
pub fn valid_offset(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
        && s.get(1..3)
            .and_then(|h| h.parse::<u32>().ok())
            .is_some_and(|h| h <= 14)
        && s.get(4..6)
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m < 60)
}

/// A converted time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Converted {
    /// Empty source.
    Empty,
    /// The FHIR value (`2011`, `2011-12`, `2011-12-19`, or `2011-12-19T15:00:00+09:00`).
    Value(String),
    /// Not an HL7 time.
    Malformed,
}

/// HL7 TS/DT (`YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`) → FHIR dateTime. Times
/// without an offset get `tz` (`+09:00`). Seconds default to `00` when minutes
/// are given; an hour without minutes is kept to the minute (`:00`).
pub fn to_fhir(ts: &str, tz: &str) -> Converted {
    let ts = ts.trim();
    if ts.is_empty() {
        return Converted::Empty;
    }
    let (body, offset) = match ts.find(['+', '-']) {
        Some(i) => (ts.get(..i).unwrap_or(""), Some(ts.get(i..).unwrap_or(""))),
        None => (ts, None),
    };
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if !main.bytes().all(|b| b.is_ascii_digit())
        || frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Converted::Malformed;
    }
    if frac.is_some() && main.len() != 14 {
        // Fractions belong to seconds only.
        return Converted::Malformed;
    }
    let g = |r: std::ops::Range<usize>| main.get(r).unwrap_or("");
    let offset = match offset {
        None => tz.to_owned(),
        Some(o) => {
            let b = o.as_bytes();
            if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
                return Converted::Malformed;
            }
            format!("{}:{}", o.get(..3).unwrap_or(""), o.get(3..).unwrap_or(""))
        }
    };
    match main.len() {
        4 => Converted::Value(main.to_owned()),
        6 => {
            let m = g(4..6).parse::<u32>().unwrap_or(0);
            if (1..=12).contains(&m) {
                Converted::Value(format!("{}-{}", g(0..4), g(4..6)))
            } else {
                Converted::Malformed
            }
        }
        8 | 10 | 12 | 14 => {
            if !valid_date(g(0..8)) {
                return Converted::Malformed;
            }
            let date = format!("{}-{}-{}", g(0..4), g(4..6), g(6..8));
            if main.len() == 8 {
                return Converted::Value(date);
            }
            let h = g(8..10);
            let mi = if main.len() >= 12 { g(10..12) } else { "00" };
            let s = if main.len() >= 14 { g(12..14) } else { "00" };
            let ok = h.parse::<u32>().is_ok_and(|h| h < 24)
                && mi.parse::<u32>().is_ok_and(|m| m < 60)
                && s.parse::<u32>().is_ok_and(|s| s < 60);
            if !ok || !valid_offset(&offset) {
                return Converted::Malformed;
            }
            let frac = match frac {
                Some(f) if main.len() == 14 => {
                    // FHIR allows any precision; keep at most milliseconds.
                    let f = f.get(..f.len().min(3)).unwrap_or("");
                    format!(".{f}")
                }
                _ => String::new(),
            };
            Converted::Value(format!("{date}T{h}:{mi}:{s}{frac}{offset}"))
        }
        _ => Converted::Malformed,
    }
}

/// The `YYYYMMDD` prefix of an HL7 date for comparisons, if it is a full date.
pub fn day(ts: &str) -> Option<&str> {
    let d = ts.get(..8)?;
    valid_date(d).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_the_sample_shapes() {
        let v = |s| to_fhir(s, "+09:00");
        assert_eq!(v("19480405"), Converted::Value("1948-04-05".into()));
        assert_eq!(
            v("201112191500"),
            Converted::Value("2011-12-19T15:00:00+09:00".into())
        );
        assert_eq!(
            v("20111220224447.3399"),
            Converted::Value("2011-12-20T22:44:47.339+09:00".into())
        );
        assert_eq!(v("199601"), Converted::Value("1996-01".into()));
        assert_eq!(
            v("2011121915"),
            Converted::Value("2011-12-19T15:00:00+09:00".into())
        );
        assert_eq!(
            v("20111219150000+0000"),
            Converted::Value("2011-12-19T15:00:00+00:00".into())
        );
        assert_eq!(v(""), Converted::Empty);
        for bad in [
            "2011021",
            "20110230",
            "小学校",
            "201112192500",
            "20111219-09",
            "2011.5",
        ] {
            assert_eq!(v(bad), Converted::Malformed, "{bad}");
        }
    }

    #[test]
    fn dates_and_offsets() {
        assert!(valid_date("20000229"));
        assert!(!valid_date("19000229"));
        assert!(!valid_date("2000022"));
        assert!(valid_offset("+09:00"));
        assert!(!valid_offset("+0900"));
        assert_eq!(day("201112191500"), Some("20111219"));
        assert_eq!(day("2011"), None);
    }
}
