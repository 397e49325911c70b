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

/// Checks a JSON value against primitive type `ty`; `Err` says what is wrong
/// (no input text).
pub fn check(ty: &str, v: &Value) -> Result<(), String> {
    let f = formats();
    let text = |re: Option<&Regex>, what: &str| -> Result<(), String> {
        match v {
            Value::String(s) if s.is_empty() => Err("empty string".to_owned()),
            Value::String(s) => match re {
                Some(re) if !re.is_match(s) => Err(format!("not a valid {what}")),
                _ => Ok(()),
            },
            _ => Err(format!("{what} must be a JSON string")),
        }
    };
    match ty {
        "boolean" => match v {
            Value::Bool(_) => Ok(()),
            _ => Err("boolean must be JSON true or false".into()),
        },
        "integer" | "positiveInt" | "unsignedInt" => {
            let Some(n) = v.as_i64().filter(|_| v.is_number()) else {
                return Err(format!("{ty} must be a JSON integer"));
            };
            if !(i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&n) {
                return Err(format!("{ty} out of range"));
            }
            match ty {
                "positiveInt" if n < 1 => Err("positiveInt must be at least 1".into()),
                "unsignedInt" if n < 0 => Err("unsignedInt must not be negative".into()),
                _ => Ok(()),
            }
        }
        "decimal" => match v {
            Value::Number(_) => Ok(()),
            _ => Err("decimal must be a JSON number".into()),
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
                Err(format!("{ty} contains whitespace"))
            }
            _ => Ok(()),
        }),
        "string" | "markdown" => text(None, ty).and_then(|_| match v.as_str() {
            Some(s) if s.trim().is_empty() => Err("string has no non-whitespace content".into()),
            _ => Ok(()),
        }),
        _ => text(None, ty),
    }
}

fn cal(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if !calendar_ok(s) => Err("day does not exist in its month".into()),
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
