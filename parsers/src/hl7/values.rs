//! The forms of HL7 primitive values kakehashi checks, as nom grammars:
//! NM (number), DT (date) and TS/DTM (time stamp).

use nom::{
    IResult, Parser,
    bytes::complete::{take_while_m_n, take_while1},
    character::complete::{char, one_of},
    combinator::{all_consuming, opt, recognize, verify},
    sequence::preceded,
};

fn digits(n: usize) -> impl FnMut(&str) -> IResult<&str, u32> {
    move |i| {
        take_while_m_n(n, n, |c: char| c.is_ascii_digit())
            .map_res(str::parse::<u32>)
            .parse(i)
    }
}

/// Days in month `m` of year `y` (0 for a month outside 1–12): the one calendar
/// table of the parsers crate.
pub(crate) fn days_in(y: u32, m: u32) -> u32 {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// `YYYY[MM[DD]]` with a valid month and day; returns (year, month, day) with
/// absent parts as 0.
fn date(i: &str) -> IResult<&str, (u32, u32, u32)> {
    let (i, y) = digits(4).parse(i)?;
    let (i, md) = opt((verify(digits(2), |m| (1..=12).contains(m)), opt(digits(2)))).parse(i)?;
    let (m, d) = match md {
        None => (0, 0),
        Some((m, None)) => (m, 0),
        Some((m, Some(d))) => (m, d),
    };
    if md.is_some_and(|(_, d)| d.is_some()) && !(1..=days_in(y, m)).contains(&d) {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((i, (y, m, d)))
}

/// `HH[MM[SS[.S{1,4}]]]` with a valid clock.
fn time(i: &str) -> IResult<&str, ()> {
    let (i, _) = verify(digits(2), |h| *h < 24).parse(i)?;
    let (i, _) = opt((
        verify(digits(2), |m| *m < 60),
        opt((
            verify(digits(2), |s| *s < 60),
            opt(preceded(
                char('.'),
                take_while_m_n(1, 4, |c: char| c.is_ascii_digit()),
            )),
        )),
    ))
    .parse(i)?;
    Ok((i, ()))
}

/// `+ZZZZ` / `-ZZZZ`.
fn zone(i: &str) -> IResult<&str, ()> {
    let (i, _) = (one_of("+-"), digits(4)).parse(i)?;
    Ok((i, ()))
}

/// NM: optional sign, digits with at most one decimal point (spaces around allowed).
pub fn is_nm(v: &str) -> bool {
    let number = recognize((
        opt(one_of("+-")),
        nom::branch::alt((
            recognize((
                take_while1(|c: char| c.is_ascii_digit()),
                opt((char('.'), opt(take_while1(|c: char| c.is_ascii_digit())))),
            )),
            recognize((char('.'), take_while1(|c: char| c.is_ascii_digit()))),
        )),
    ));
    let r: IResult<&str, &str> = all_consuming(number).parse(v.trim());
    r.is_ok()
}

/// DT: `YYYY[MM[DD]]`, calendar-valid.
pub fn is_dt(v: &str) -> bool {
    all_consuming(date).parse(v).is_ok()
}

/// TS / DTM: `YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ]`, calendar- and clock-valid;
/// a time needs a full date.
pub fn is_ts(v: &str) -> bool {
    let ts = |i| -> IResult<&str, ()> {
        let (i, (_, m, d)) = date(i)?;
        let (i, _) = if m > 0 && d > 0 {
            opt(time).parse(i)?
        } else {
            (i, None)
        };
        let (i, _) = opt(zone).parse(i)?;
        Ok((i, ()))
    };
    all_consuming(ts).parse(v).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["7.2", "-1", " 12 ", "+0.5", ".5", "3."] {
            assert!(is_nm(ok), "{ok}");
        }
        for bad in ["ccc", "1.2.3", "番号", "", "-", "1e3"] {
            assert!(!is_nm(bad), "{bad}");
        }
    }

    #[test]
    fn dates_and_time_stamps() {
        for ok in [
            "20111220224447.3399",
            "201112191500",
            "20110701",
            "2011",
            "201107",
            "20111220+0900",
            "20240229",
        ] {
            assert!(is_ts(ok), "{ok}");
        }
        for bad in [
            "20230230",
            "2011122",
            "20111220256000",
            "20111301",
            "20230229",
            "2011-07-01",
            "20111220.5",
            "2011+09",
        ] {
            assert!(!is_ts(bad), "{bad}");
        }
        assert!(is_dt("20091201") && is_dt("2009") && !is_dt("20090231") && !is_dt("2009120112"));
    }
}
