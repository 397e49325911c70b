//! Calendar arithmetic for the generator: proleptic Gregorian dates as day
//! numbers, and the timestamp formats SS-MIX2 uses.

/// A calendar date, stored as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(i64);

impl Date {
    /// The date `y-m-d` (month 1–12, day 1–31; not range-checked beyond that).
    pub fn ymd(y: i64, m: u32, d: u32) -> Date {
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    /// (year, month, day).
    pub fn parts(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    }

    /// `days` later (earlier when negative).
    pub fn plus(self, days: i64) -> Date {
        Date(self.0 + days)
    }

    /// Days from `other` to `self`.
    pub fn since(self, other: Date) -> i64 {
        self.0 - other.0
    }

    /// `YYYYMMDD`.
    pub fn yyyymmdd(self) -> String {
        let (y, m, d) = self.parts();
        format!("{y:04}{m:02}{d:02}")
    }

    /// A time on this date.
    pub fn at(self, hour: u32, minute: u32, second: u32, milli: u32) -> Stamp {
        Stamp {
            date: self,
            hour,
            minute,
            second,
            milli,
        }
    }
}

/// A date and time of day, to the millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// The date.
    pub date: Date,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
    /// 0–59.
    pub second: u32,
    /// 0–999.
    pub milli: u32,
}

impl Stamp {
    /// `YYYYMMDDHHMM`.
    pub fn ts12(self) -> String {
        format!("{}{:02}{:02}", self.date.yyyymmdd(), self.hour, self.minute)
    }

    /// `YYYYMMDDHHMMSS`.
    pub fn ts14(self) -> String {
        format!("{}{:02}", self.ts12(), self.second)
    }

    /// `YYYYMMDDHHMMSSfff`, the file name's 発生日時.
    pub fn ts17(self) -> String {
        format!("{}{:03}", self.ts14(), self.milli)
    }

    /// `YYYYMMDDHHMMSS.fff`, as in MSH-7.
    pub fn msh7(self) -> String {
        format!("{}.{:03}", self.ts14(), self.milli)
    }

    /// `minutes` later.
    pub fn plus_minutes(self, minutes: i64) -> Stamp {
        let total = i64::from(self.hour) * 60 + i64::from(self.minute) + minutes;
        let days = total.div_euclid(24 * 60);
        let rest = total.rem_euclid(24 * 60);
        Stamp {
            date: self.date.plus(days),
            hour: (rest / 60) as u32,
            minute: (rest % 60) as u32,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_leap_years_and_centuries() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1900, 3, 1),
            (2024, 12, 31),
            (1948, 4, 5),
        ] {
            assert_eq!(Date::ymd(y, m, d).parts(), (y, m, d));
        }
        assert_eq!(Date::ymd(2024, 2, 28).plus(1).yyyymmdd(), "20240229");
        assert_eq!(Date::ymd(2023, 2, 28).plus(1).yyyymmdd(), "20230301");
        assert_eq!(Date::ymd(1970, 1, 1), Date(0));
    }

    #[test]
    fn stamps_format_and_roll_over() {
        let s = Date::ymd(2011, 12, 20).at(22, 44, 47, 339);
        assert_eq!(s.ts17(), "20111220224447339");
        assert_eq!(s.msh7(), "20111220224447.339");
        assert_eq!(s.plus_minutes(90).ts12(), "201112210014");
    }
}
