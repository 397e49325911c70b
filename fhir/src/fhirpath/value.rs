//! The items a FHIRPath collection holds, and date/time comparison.

use crate::calendar::days_from_civil;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Objects with at most this many keys are searched by a scan: FHIR objects are
/// small, and a scan of a few keys (compared by length first) is cheaper than
/// the SipHash of serde_json's `preserve_order` map on every look-up.
const SCAN_MAX: usize = 8;

/// Field look-up on JSON objects, by a scan for small objects (same result as
/// `get`).
pub(crate) trait FastGet {
    /// The value under `key` (`None` when absent or not an object).
    fn fget(&self, key: &str) -> Option<&Value>;
}

impl FastGet for Map<String, Value> {
    #[inline]
    fn fget(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCAN_MAX {
            self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
        } else {
            self.get(key)
        }
    }
}

impl FastGet for Value {
    #[inline]
    fn fget(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(o) => o.fget(key),
            _ => None,
        }
    }
}

/// A node of the resource being evaluated (a JSON value with its FHIR typing).
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    /// The JSON value (`Null` for a primitive that only has an `_element`).
    pub value: &'a Value,
    /// The `_name` companion of a primitive (its `id` and `extension`).
    pub ext: Option<&'a Value>,
    /// The FHIR type when known (from a choice suffix, `resourceType` or the
    /// caller): `dateTime`, `Quantity`, `Patient`.
    pub ty: Option<&'a str>,
}

/// One item of a collection.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A node of the input.
    Node(Node<'a>),
    /// `System.Boolean`.
    Bool(bool),
    /// `System.String`.
    Str(String),
    /// `System.Integer`.
    Int(i64),
    /// `System.Decimal`: the value and its text as written.
    Dec(f64, String),
    /// `System.Date` / `DateTime` / `Time` literal (text without `@`).
    Date(String),
    /// `System.Quantity`: value text and unit.
    Quantity(f64, String),
}

/// FHIR primitive type names.
pub const PRIMITIVES: &[&str] = &[
    "boolean",
    "integer",
    "string",
    "decimal",
    "uri",
    "url",
    "canonical",
    "base64Binary",
    "instant",
    "date",
    "dateTime",
    "time",
    "code",
    "oid",
    "id",
    "markdown",
    "unsignedInt",
    "positiveInt",
    "uuid",
    "xhtml",
];

/// The primitive scalar an item stands for, used by comparison and equality.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'x> {
    /// Boolean.
    Bool(bool),
    /// Text (strings, codes, uris, dates in nodes).
    Str(&'x str),
    /// Number.
    Num(f64),
    /// A date/time literal.
    Date(&'x str),
    /// Quantity value and unit.
    Quantity(f64, &'x str),
}

impl<'a> Item<'a> {
    /// The item as a scalar when it is one (a node holding a primitive, or a literal).
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Item::Bool(b) => Scalar::Bool(*b),
            Item::Str(s) => Scalar::Str(s),
            Item::Int(i) => Scalar::Num(*i as f64),
            Item::Dec(f, _) => Scalar::Num(*f),
            Item::Date(d) => Scalar::Date(d),
            Item::Quantity(v, u) => Scalar::Quantity(*v, u),
            Item::Node(n) => match n.value {
                Value::Bool(b) => Scalar::Bool(*b),
                Value::String(s) => Scalar::Str(s),
                Value::Number(x) => Scalar::Num(x.as_f64()?),
                Value::Object(o) => {
                    // Quantity-like node
                    let v = o.fget("value")?.as_f64()?;
                    let unit = o
                        .fget("code")
                        .or_else(|| o.fget("unit"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    Scalar::Quantity(v, unit)
                }
                _ => return None,
            },
        })
    }

    /// The item as text, if it is a string-like primitive.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::Str(s) => Some(s),
            Item::Node(Node {
                value: Value::String(s),
                ..
            }) => Some(s),
            _ => None,
        }
    }

    /// The item as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Item::Bool(b) => Some(*b),
            Item::Node(Node {
                value: Value::Bool(b),
                ..
            }) => Some(*b),
            _ => None,
        }
    }

    /// The item as an integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Item::Int(i) => Some(*i),
            Item::Node(Node {
                value: Value::Number(n),
                ..
            }) => n.as_i64(),
            _ => None,
        }
    }

    /// The item converted to a string (`toString()`), keeping decimal text.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Item::Bool(b) => b.to_string(),
            Item::Str(s) | Item::Date(s) => s.clone(),
            Item::Int(i) => i.to_string(),
            Item::Dec(_, t) => t.clone(),
            Item::Quantity(v, u) => format!("{v} '{u}'"),
            Item::Node(n) => match n.value {
                Value::Bool(b) => b.to_string(),
                Value::String(s) => s.clone(),
                // the JSON text: exact with serde_json's arbitrary_precision
                Value::Number(x) => x.to_string(),
                _ => return None,
            },
        })
    }

    /// The JSON value when the item is a node.
    pub fn node(&self) -> Option<&Node<'a>> {
        match self {
            Item::Node(n) => Some(n),
            _ => None,
        }
    }
}

/// Parsed date/time: components present (year, month, day, hour, minute, second
/// as milliseconds) and the time-zone offset in minutes.
#[derive(Clone, Debug, PartialEq)]
pub struct DateTime {
    parts: Vec<i64>,
    tz: Option<i64>,
    time_only: bool,
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]` or `Thh:mm:ss` / `hh:mm:ss`.
pub fn parse_datetime(s: &str) -> Option<DateTime> {
    let s = s.strip_prefix('@').unwrap_or(s);
    if let Some(t) = s.strip_prefix('T') {
        return parse_time(t).map(|mut p| {
            p.time_only = true;
            p
        });
    }
    if s.len() >= 3 && s.as_bytes().get(2) == Some(&b':') {
        return parse_time(s).map(|mut p| {
            p.time_only = true;
            p
        });
    }
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = Vec::new();
    let mut it = date.split('-');
    let y = it.next()?;
    if y.len() != 4 {
        return None;
    }
    parts.push(num(y)?);
    for p in it {
        if p.len() != 2 {
            return None;
        }
        parts.push(num(p)?);
    }
    if parts.len() > 3 {
        return None;
    }
    let mut tz = None;
    if let Some(t) = time {
        if t.is_empty() {
            return Some(DateTime {
                parts,
                tz: None,
                time_only: false,
            });
        }
        if parts.len() != 3 {
            return None;
        }
        let tp = parse_time(t)?;
        parts.extend(tp.parts);
        tz = tp.tz;
    }
    Some(DateTime {
        parts,
        tz,
        time_only: false,
    })
}

fn parse_time(t: &str) -> Option<DateTime> {
    let (clock, tz) = if let Some(c) = t.strip_suffix('Z') {
        (c, Some(0))
    } else if let Some(i) = t.rfind(['+', '-']) {
        let (c, z) = t.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = z.get(1..)?.split_once(':')?;
        (c, Some(sign * (num(h)? * 60 + num(m)?)))
    } else {
        (t, None)
    };
    let mut parts = Vec::new();
    let mut it = clock.split(':');
    parts.push(num(it.next()?)?);
    if let Some(m) = it.next() {
        parts.push(num(m)?);
    }
    if let Some(sec) = it.next() {
        let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
        let mut ms = num(whole)? * 1000;
        if !frac.is_empty() {
            let f3: String = frac.chars().chain("000".chars()).take(3).collect();
            ms += num(&f3)?;
        }
        parts.push(ms);
    }
    if it.next().is_some() {
        return None;
    }
    Some(DateTime {
        parts,
        tz,
        time_only: false,
    })
}

impl DateTime {
    /// Instant in milliseconds when the value has a full time (and a zone, or
    /// both sides lack one).
    fn normalized(&self) -> Vec<i64> {
        if self.time_only || self.parts.len() < 5 {
            return self.parts.clone();
        }
        let p = &self.parts;
        let sec = p.get(5).copied().unwrap_or(0);
        let mins =
            days_from_civil(p[0], p[1], p[2]) * 1440 + p[3] * 60 + p[4] - self.tz.unwrap_or(0);
        vec![mins * 60_000 + sec]
    }

    /// Compares two date/times; `None` when the precisions make it uncertain.
    pub fn compare(&self, other: &DateTime) -> Option<Ordering> {
        if self.time_only != other.time_only {
            return None;
        }
        let full = |d: &DateTime| !d.time_only && d.parts.len() >= 5;
        if full(self) && full(other) {
            if self.tz.is_some() != other.tz.is_some() {
                return None;
            }
            let a = self.normalized();
            let b = other.normalized();
            // seconds present on one side only: compare at minute precision
            if self.parts.len() != other.parts.len() {
                let (x, y) = (a[0] / 60_000, b[0] / 60_000);
                return if x == y { None } else { Some(x.cmp(&y)) };
            }
            return Some(a.cmp(&b));
        }
        let n = self.parts.len().min(other.parts.len());
        for i in 0..n {
            match self.parts[i].cmp(&other.parts[i]) {
                Ordering::Equal => {}
                o => return Some(o),
            }
        }
        if self.parts.len() == other.parts.len() {
            Some(Ordering::Equal)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_with_precision_and_zones() {
        let p = |s| parse_datetime(s).unwrap();
        assert_eq!(
            p("2020-01-02").compare(&p("2020-01-03")),
            Some(Ordering::Less)
        );
        assert_eq!(p("2020-01").compare(&p("2020-01-03")), None);
        assert_eq!(p("2019").compare(&p("2020-01-03")), Some(Ordering::Less));
        assert_eq!(
            p("2020-01-01T10:00:00+09:00").compare(&p("2020-01-01T01:00:00Z")),
            Some(Ordering::Equal)
        );
        assert_eq!(
            p("2020-01-01T10:00:00.5+09:00").compare(&p("2020-01-01T10:00:00+09:00")),
            Some(Ordering::Greater)
        );
        assert!(parse_datetime("2020-1-01").is_none());
        assert!(parse_datetime("abc").is_none());
        assert!(parse_datetime("T10:00").is_some());
    }
}
