//! Formats of the FHIR R4 primitive types, with calendar checks (2023-02-30 is
//! not a date).

use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

struct Formats {
    date: Regex,
    date_time: Regex,
    instant: Regex,
    time: Regex,
    code: Regex,
    id: Regex,
    oid: Regex,
    uuid: Regex,
    base64: Regex,
}

fn formats() -> &'static Formats {
    static F: OnceLock<Formats> = OnceLock::new();
    F.get_or_init(|| {
        // The patterns are constants that the unit tests compile: failure is impossible.
        #[allow(clippy::expect_used)]
        let r = |p: &str| Regex::new(p).expect("constant pattern");
        const DATE: &str = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?";
        const TIME: &str = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?";
        const TZ: &str = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))";
        Formats {
            date: r(&format!("^{DATE}$")),
            date_time: r(&format!("^{DATE}(T{TIME}{TZ})?$")),
            instant: r(&format!(
                r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{TIME}{TZ}$"
            )),
            time: r(&format!("^{TIME}$")),
            code: r(r"^[^\s]+( [^\s]+)*$"),
            id: r(r"^[A-Za-z0-9\-\.]{1,64}$"),
            oid: r(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$"),
            uuid: r(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
            base64: r(r"^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$"),
        }
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// True when the day of a `YYYY-MM-DD…` value exists in its month.
fn calendar_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 {
        return true;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    match (n(0..4), n(5..7), n(8..10)) {
        (Some(y), Some(m), Some(d)) => d <= days_in_month(y, m),
        _ => false,
    }
}

/// Why a JSON value is not of its primitive type (no input text in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrimitiveError {
    /// An empty string (FHIR has no empty values).
    Empty,
    /// The type is a string type and the value is not a JSON string.
    NotString(String),
    /// A string that does not have the type's format.
    Malformed(String),
    /// A `boolean` that is not JSON true or false.
    NotBoolean,
    /// An integer type whose value is not a JSON integer.
    NotInteger(String),
    /// An integer type whose value is outside 32 bits.
    OutOfRange(String),
    /// A `positiveInt` below 1.
    NotPositive,
    /// A negative `unsignedInt`.
    Negative,
    /// A `decimal` that is not a JSON number.
    NotNumber,
    /// A `uri`, `url` or `canonical` with white space in it.
    Whitespace(String),
    /// A `string` or `markdown` of white space only.
    Blank,
    /// A date whose day does not exist in its month (2023-02-30).
    NoSuchDay,
}

impl std::fmt::Display for PrimitiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrimitiveError::Empty => write!(f, "empty string"),
            PrimitiveError::NotString(ty) => write!(f, "{ty} must be a JSON string"),
            PrimitiveError::Malformed(ty) => write!(f, "not a valid {ty}"),
            PrimitiveError::NotBoolean => write!(f, "boolean must be JSON true or false"),
            PrimitiveError::NotInteger(ty) => write!(f, "{ty} must be a JSON integer"),
            PrimitiveError::OutOfRange(ty) => write!(f, "{ty} out of range"),
            PrimitiveError::NotPositive => write!(f, "positiveInt must be at least 1"),
            PrimitiveError::Negative => write!(f, "unsignedInt must not be negative"),
            PrimitiveError::NotNumber => write!(f, "decimal must be a JSON number"),
            PrimitiveError::Whitespace(ty) => write!(f, "{ty} contains whitespace"),
            PrimitiveError::Blank => write!(f, "string has no non-whitespace content"),
            PrimitiveError::NoSuchDay => write!(f, "day does not exist in its month"),
        }
    }
}

impl std::error::Error for PrimitiveError {}

/// Checks a JSON value against primitive type `ty`; `Err` says what is wrong
/// (no input text).
pub fn check(ty: &str, v: &Value) -> Result<(), PrimitiveError> {
    let f = formats();
    let text = |re: Option<&Regex>, what: &str| -> Result<(), PrimitiveError> {
        match v {
            Value::String(s) if s.is_empty() => Err(PrimitiveError::Empty),
            Value::String(s) => match re {
                Some(re) if !re.is_match(s) => Err(PrimitiveError::Malformed(what.to_owned())),
                _ => Ok(()),
            },
            _ => Err(PrimitiveError::NotString(what.to_owned())),
        }
    };
    match ty {
        "boolean" => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(PrimitiveError::NotBoolean),
        },
        "integer" | "positiveInt" | "unsignedInt" => {
            let Some(n) = v.as_i64().filter(|_| v.is_number()) else {
                return Err(PrimitiveError::NotInteger(ty.to_owned()));
            };
            if !(i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&n) {
                return Err(PrimitiveError::OutOfRange(ty.to_owned()));
            }
            match ty {
                "positiveInt" if n < 1 => Err(PrimitiveError::NotPositive),
                "unsignedInt" if n < 0 => Err(PrimitiveError::Negative),
                _ => Ok(()),
            }
        }
        "decimal" => match v {
            Value::Number(_) => Ok(()),
            _ => Err(PrimitiveError::NotNumber),
        },
        "date" => text(Some(&f.date), "date").and_then(|_| cal(v)),
        "dateTime" => text(Some(&f.date_time), "dateTime").and_then(|_| cal(v)),
        "instant" => text(Some(&f.instant), "instant").and_then(|_| cal(v)),
        "time" => text(Some(&f.time), "time"),
        "code" => text(Some(&f.code), "code"),
        "id" => text(Some(&f.id), "id"),
        "oid" => text(Some(&f.oid), "oid"),
        "uuid" => text(Some(&f.uuid), "uuid"),
        "base64Binary" => text(Some(&f.base64), "base64Binary"),
        "uri" | "url" | "canonical" => text(None, ty).and_then(|_| match v.as_str() {
            Some(s) if s.chars().any(char::is_whitespace) => {
                Err(PrimitiveError::Whitespace(ty.to_owned()))
            }
            _ => Ok(()),
        }),
        "string" | "markdown" => text(None, ty).and_then(|_| match v.as_str() {
            Some(s) if s.trim().is_empty() => Err(PrimitiveError::Blank),
            _ => Ok(()),
        }),
        _ => text(None, ty),
    }
}

fn cal(v: &Value) -> Result<(), PrimitiveError> {
    match v.as_str() {
        Some(s) if !calendar_ok(s) => Err(PrimitiveError::NoSuchDay),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        assert!(check("date", &json!("2023-02-28")).is_ok());
        assert!(check("date", &json!("2024-02-29")).is_ok());
        assert!(check("date", &json!("2023-02-30")).is_err());
        assert!(check("date", &json!("2023-02-29")).is_err());
        assert!(check("date", &json!("1900-02-29")).is_err());
        assert!(check("date", &json!("2000-02-29")).is_ok());
        assert!(check("date", &json!("2023-13")).is_err());
        assert!(check("date", &json!("2023")).is_ok());
        assert!(check("dateTime", &json!("2023-04-31T10:00:00+09:00")).is_err());
        assert!(check("dateTime", &json!("2023-04-30T10:00:00+09:00")).is_ok());
        assert!(check("dateTime", &json!("2023-04-30T10:00:00")).is_err());
        assert!(check("instant", &json!("2023-04-30")).is_err());
        assert!(check("date", &json!(20230101)).is_err());
        assert!(check("date", &json!("")).is_err());
    }

    #[test]
    fn others() {
        assert!(check("boolean", &json!("true")).is_err());
        assert!(check("positiveInt", &json!(0)).is_err());
        assert!(check("unsignedInt", &json!(0)).is_ok());
        assert!(check("integer", &json!(1.5)).is_err());
        assert!(check("decimal", &json!(1.5)).is_ok());
        assert!(check("code", &json!("a  b")).is_err());
        assert!(check("id", &json!("a_b")).is_err());
        assert!(check("uri", &json!("urn:oid:1.2")).is_ok());
        assert!(check("uri", &json!("a b")).is_err());
        assert!(check("oid", &json!("urn:oid:1.2.392")).is_ok());
        assert!(check("string", &json!("   ")).is_err());
    }
}
