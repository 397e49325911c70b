//! Evaluation of a parsed expression over `serde_json::Value` resources.

use super::parser::{BinOp, Expr};
use super::types::ElementTypes;
use super::value::{FastGet, Item, Node, PRIMITIVES, Scalar, parse_datetime};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A collection (FHIRPath's only value kind).
pub type Collection<'a> = Vec<Item<'a>>;

/// Why an expression could not be evaluated (never a silent pass).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

type R<'a> = Result<Collection<'a>, EvalError>;

fn fail<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

/// Resolves references for `resolve()` (a Bundle's entries, contained resources).
pub trait Resolver<'a> {
    /// The resource `reference` points to, if known.
    fn resolve(&self, reference: &str) -> Option<&'a Value>;
}

/// Answers `memberOf()`: whether a code is in a value set.
pub trait Terminology {
    /// `Some(true/false)` when the value set `canonical` can be expanded here,
    /// `None` when it cannot (the expression is then not evaluable, never passed).
    /// `system` is `None` for a bare `code`, which is a member when any system of
    /// the expansion holds it.
    fn member_of(&self, canonical: &str, system: Option<&str>, code: &str) -> Option<bool>;
}

/// The environment: `%resource`, `%rootResource`, `%context`, a resolver and a
/// terminology.
#[derive(Clone, Copy, Default)]
pub struct Env<'a> {
    /// `%resource`.
    pub resource: Option<&'a Value>,
    /// `%rootResource` (the Bundle or the containing resource).
    pub root_resource: Option<&'a Value>,
    /// For `resolve()`.
    pub resolver: Option<&'a dyn Resolver<'a>>,
    /// For `memberOf()`.
    pub terminology: Option<&'a dyn Terminology>,
    /// The types of elements reached by name (none: only resources and choice
    /// elements are typed).
    pub types: Option<&'a ElementTypes>,
}

/// Functions the evaluator implements (anything else is "not evaluable").
pub const FUNCTIONS: &[&str] = &[
    "empty",
    "exists",
    "all",
    "allTrue",
    "anyTrue",
    "allFalse",
    "anyFalse",
    "subsetOf",
    "supersetOf",
    "count",
    "distinct",
    "isDistinct",
    "where",
    "select",
    "repeat",
    "ofType",
    "single",
    "first",
    "last",
    "tail",
    "skip",
    "take",
    "intersect",
    "exclude",
    "union",
    "combine",
    "iif",
    "toString",
    "toInteger",
    "toDecimal",
    "toBoolean",
    "convertsToString",
    "convertsToInteger",
    "convertsToDecimal",
    "convertsToBoolean",
    "indexOf",
    "substring",
    "startsWith",
    "endsWith",
    "contains",
    "upper",
    "lower",
    "replace",
    "matches",
    "replaceMatches",
    "length",
    "trim",
    "abs",
    "not",
    "hasValue",
    "children",
    "descendants",
    "extension",
    "resolve",
    "memberOf",
    "is",
    "as",
    "trace",
    "htmlChecks",
    "join",
    "getResourceKey",
    "getReferenceKey",
    "lowBoundary",
    "highBoundary",
];

/// Pre-compiled regular expressions of `matches`/`replaceMatches` literal arguments.
pub type Regexes = HashMap<String, regex::Regex>;

pub(crate) struct Ctx<'a, 'e> {
    pub env: Env<'a>,
    pub context: Item<'a>,
    pub regexes: &'e Regexes,
    /// Caller-defined variables (`%name`): SQL on FHIR constants, `%rowIndex`.
    pub vars: &'e [(&'e str, Item<'a>)],
}

#[derive(Clone)]
pub(crate) struct Focus<'a> {
    this: Option<Item<'a>>,
    index: Option<usize>,
}

fn type_of_suffix(suffix: &str) -> Option<String> {
    let mut c = suffix.chars();
    let first = c.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    let lower: String = first.to_ascii_lowercase().to_string() + c.as_str();
    if PRIMITIVES.contains(&lower.as_str()) {
        Some(lower)
    } else {
        Some(suffix.to_owned())
    }
}

fn push_values<'a>(
    out: &mut Collection<'a>,
    v: &'a Value,
    ext: Option<&'a Value>,
    ty: Option<&'a str>,
) {
    match v {
        Value::Array(a) => {
            let exts = ext.and_then(Value::as_array);
            for (i, x) in a.iter().enumerate() {
                let e = exts.and_then(|e| e.get(i)).filter(|e| !e.is_null());
                if x.is_null() && e.is_none() {
                    continue;
                }
                out.push(Item::Node(Node {
                    value: x,
                    ext: e,
                    ty: node_ty(x, ty),
                }));
            }
        }
        _ => out.push(Item::Node(Node {
            value: v,
            ext: ext.filter(|e| !e.is_null()),
            ty: node_ty(v, ty),
        })),
    }
}

fn node_ty<'a>(v: &'a Value, ty: Option<&'a str>) -> Option<&'a str> {
    v.fget("resourceType").and_then(Value::as_str).or(ty)
}

/// Children named `name` of a node (choice types `value[x]` included), typed
/// by `types` when it knows the element.
fn member<'a>(out: &mut Collection<'a>, n: &Node<'a>, name: &str, types: Option<&'a ElementTypes>) {
    let obj = match n.value {
        Value::Object(o) => o,
        // a primitive: only its `_x` companion has children (id, extension)
        _ => match n.ext {
            Some(Value::Object(o)) => o,
            _ => return,
        },
    };
    let ty = || {
        n.ty.zip(types)
            .and_then(|(parent, t)| t.child(parent, name))
    };
    if let Some(v) = obj.fget(name) {
        let ext = underscored(obj, name);
        push_values(out, v, ext, ty());
        return;
    }
    if let Some(ext) = underscored(obj, name) {
        // an element with only its extension part
        push_values(out, &NULL, Some(ext), ty());
        return;
    }
    // choice type
    for (k, v) in obj {
        if let Some(suffix) = k.strip_prefix(name)
            && let Some(ty) = type_of_suffix(suffix)
        {
            let ext = underscored(obj, k);
            // the type name must live as long as the data: use the key's suffix
            let ty_ref: &'a str = if ty == suffix {
                k.get(name.len()..).unwrap_or("")
            } else {
                intern_primitive(&ty)
            };
            push_values(out, v, ext, Some(ty_ref));
        }
    }
}

static NULL: Value = Value::Null;

/// `obj["_" + name]` without allocating for names of usual length.
pub(crate) fn underscored<'m>(
    obj: &'m serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'m Value> {
    let mut buf = [0u8; 64];
    let n = name.len();
    if n < buf.len() {
        buf[0] = b'_';
        buf[1..=n].copy_from_slice(name.as_bytes());
        if let Ok(k) = std::str::from_utf8(&buf[..=n]) {
            return obj.fget(k);
        }
    }
    obj.get(&format!("_{name}"))
}

fn intern_primitive(t: &str) -> &'static str {
    PRIMITIVES
        .iter()
        .find(|p| **p == t)
        .copied()
        .unwrap_or("string")
}

fn children<'a>(out: &mut Collection<'a>, n: &Node<'a>) {
    let obj = match n.value {
        Value::Object(o) => o,
        _ => match n.ext {
            Some(Value::Object(o)) => o,
            _ => return,
        },
    };
    for (k, v) in obj {
        if k == "resourceType" {
            continue;
        }
        if let Some(base) = k.strip_prefix('_') {
            if obj.fget(base).is_none() {
                push_values(out, &NULL, Some(v), None);
            }
            continue;
        }
        let ext = underscored(obj, k);
        push_values(out, v, ext, None);
    }
}

fn singleton_bool(c: &Collection<'_>, what: &str) -> Result<Option<bool>, EvalError> {
    match c.len() {
        0 => Ok(None),
        1 => Ok(Some(c[0].as_bool().unwrap_or(true))),
        _ => fail(format!(
            "{what}: expected a single boolean, got {} items",
            c.len()
        )),
    }
}

fn singleton_str<'c>(c: &'c Collection<'_>, what: &str) -> Result<Option<&'c str>, EvalError> {
    match c.len() {
        0 => Ok(None),
        1 => match c[0].as_str() {
            Some(s) => Ok(Some(s)),
            None => fail(format!("{what}: not a string")),
        },
        _ => fail(format!(
            "{what}: expected a single string, got {} items",
            c.len()
        )),
    }
}

fn b<'a>(x: Option<bool>) -> Collection<'a> {
    match x {
        Some(v) => vec![Item::Bool(v)],
        None => Vec::new(),
    }
}

/// Equality of two items (`=`); `None` when not comparable.
fn item_eq(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    if let (Item::Node(x), Item::Node(y)) = (a, b)
        && (x.value.is_object() || y.value.is_object())
    {
        return Some(x.value == y.value);
    }
    scalar_eq(a.scalar()?, b.scalar()?)
}

/// Equality of two scalars (`=`); `None` when not comparable.
fn scalar_eq(a: Scalar<'_>, b: Scalar<'_>) -> Option<bool> {
    match (a, b) {
        (Scalar::Str(x), Scalar::Str(y)) => Some(x == y),
        (Scalar::Date(x), Scalar::Str(y))
        | (Scalar::Str(x), Scalar::Date(y))
        | (Scalar::Date(x), Scalar::Date(y)) => {
            let (p, q) = (parse_datetime(x)?, parse_datetime(y)?);
            p.compare(&q).map(|o| o == Ordering::Equal)
        }
        (Scalar::Num(x), Scalar::Num(y)) => Some(x == y),
        (Scalar::Bool(x), Scalar::Bool(y)) => Some(x == y),
        (Scalar::Quantity(x, u), Scalar::Quantity(y, v)) => Some(x == y && u == v),
        _ => Some(false),
    }
}

fn coll_eq(a: &Collection<'_>, b: &Collection<'_>) -> Option<bool> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.len() != b.len() {
        return Some(false);
    }
    let mut all = true;
    for (x, y) in a.iter().zip(b) {
        match item_eq(x, y) {
            Some(true) => {}
            Some(false) => all = false,
            None => return None,
        }
    }
    Some(all)
}

fn equiv(a: &Item<'_>, b: &Item<'_>) -> bool {
    match (a.scalar(), b.scalar()) {
        (Some(Scalar::Str(x)), Some(Scalar::Str(y))) => {
            let norm = |s: &str| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            };
            norm(x) == norm(y)
        }
        _ => item_eq(a, b).unwrap_or(false),
    }
}

fn compare(a: &Item<'_>, b: &Item<'_>) -> Result<Option<Ordering>, EvalError> {
    let (Some(x), Some(y)) = (a.scalar(), b.scalar()) else {
        return fail("comparison of non-primitive values");
    };
    Ok(match (x, y) {
        (Scalar::Num(p), Scalar::Num(q)) => p.partial_cmp(&q),
        (Scalar::Quantity(p, u), Scalar::Quantity(q, v)) => {
            if u == v {
                p.partial_cmp(&q)
            } else {
                None
            }
        }
        (Scalar::Quantity(p, _), Scalar::Num(q)) | (Scalar::Num(p), Scalar::Quantity(q, _)) => {
            p.partial_cmp(&q)
        }
        (Scalar::Str(p) | Scalar::Date(p), Scalar::Str(q) | Scalar::Date(q)) => {
            match (parse_datetime(p), parse_datetime(q)) {
                (Some(d), Some(e)) => d.compare(&e),
                _ => Some(p.cmp(q)),
            }
        }
        _ => return fail("comparison of values of different types"),
    })
}

fn type_name(t: &str) -> &str {
    t.rsplit('.').next().unwrap_or(t)
}

/// Does the item have FHIR or System type `t`?
fn is_type(item: &Item<'_>, t: &str) -> bool {
    let t = type_name(t);
    match item {
        Item::Node(n) => {
            if let Some(ty) = n.ty {
                return ty == t
                    || (t == "Resource" || t == "DomainResource")
                        && n.value.fget("resourceType").is_some()
                    || (ty == "SimpleQuantity" || ty == "Age" || ty == "Duration")
                        && t == "Quantity"
                    || primitive_is(ty, t);
            }
            match n.value {
                Value::String(_) => matches!(t, "String" | "string"),
                Value::Bool(_) => matches!(t, "Boolean" | "boolean"),
                Value::Number(x) => {
                    matches!(t, "Decimal" | "decimal")
                        || x.is_i64() && matches!(t, "Integer" | "integer")
                }
                _ => false,
            }
        }
        Item::Bool(_) => t == "Boolean",
        Item::Str(_) => t == "String",
        Item::Int(_) => t == "Integer",
        Item::Dec(..) => t == "Decimal",
        Item::Date(d) => {
            if d.starts_with('T') {
                t == "Time"
            } else if d.contains('T') {
                t == "DateTime"
            } else {
                t == "Date" || t == "DateTime"
            }
        }
        Item::Quantity(..) => t == "Quantity",
    }
}

/// Is the FHIR primitive type `ty` the type `t` by specialization (`code` is a
/// `string`, `positiveInt` an `integer`, `url` a `uri`), or by the System type
/// its value has (`String` for a `code`, as for an untyped string)?
fn primitive_is(ty: &str, t: &str) -> bool {
    let family = match ty {
        "code" | "id" | "markdown" => "string",
        "url" | "canonical" | "oid" | "uuid" => "uri",
        "positiveInt" | "unsignedInt" => "integer",
        other => other,
    };
    let system = match family {
        "string" | "uri" | "base64Binary" => "String",
        "boolean" => "Boolean",
        "integer" => "Integer",
        "decimal" => "Decimal",
        "date" => "Date",
        "dateTime" | "instant" => "DateTime",
        "time" => "Time",
        _ => return false,
    };
    family == t || system == t
}

fn type_arg(e: &Expr) -> Result<String, EvalError> {
    match e {
        Expr::Member(None, n) => Ok(n.clone()),
        Expr::Member(Some(_), n) => Ok(n.clone()),
        _ => fail("expected a type name"),
    }
}

/// A key under which equal items collide (`=` semantics for strings, numbers,
/// booleans and JSON objects; date/times by their text).
fn hash_key(i: &Item<'_>) -> Option<String> {
    if let Item::Node(n) = i
        && (n.value.is_object() || n.value.is_array())
    {
        return Some(format!("j:{}", n.value));
    }
    Some(match i.scalar()? {
        Scalar::Str(s) | Scalar::Date(s) => format!("s:{s}"),
        Scalar::Num(x) => format!("n:{}", x.to_bits()),
        Scalar::Bool(b) => format!("b:{b}"),
        Scalar::Quantity(x, u) => format!("q:{}:{u}", x.to_bits()),
    })
}

/// Removes duplicates in O(n) (items without a key fall back to pairwise `=`).
fn distinct<'a>(c: Collection<'a>) -> Collection<'a> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Collection<'a> = Vec::new();
    let mut unkeyed: Collection<'a> = Vec::new();
    for x in c {
        match hash_key(&x) {
            Some(k) => {
                if seen.insert(k) {
                    out.push(x);
                }
            }
            None => {
                if !unkeyed.iter().any(|y| item_eq(&x, y) == Some(true)) {
                    unkeyed.push(x.clone());
                    out.push(x);
                }
            }
        }
    }
    out
}

fn contains_item(c: &Collection<'_>, x: &Item<'_>) -> bool {
    c.iter().any(|y| item_eq(x, y) == Some(true))
}

/// Character-based substring (FHIRPath indexes characters, not bytes).
fn char_substring(s: &str, start: i64, len: Option<i64>) -> Option<String> {
    let n = s.chars().count() as i64;
    if start < 0 || start >= n {
        return None;
    }
    let take = match len {
        Some(l) if l < 0 => 0,
        Some(l) => l,
        None => n,
    };
    Some(s.chars().skip(start as usize).take(take as usize).collect())
}

fn char_index_of(s: &str, sub: &str) -> i64 {
    match s.find(sub) {
        Some(byte) => s.get(..byte).map_or(-1, |x| x.chars().count() as i64),
        None => -1,
    }
}

fn html_ok(n: &Item<'_>) -> bool {
    match n.as_str() {
        Some(s) => {
            let t = s.trim_start();
            t.starts_with("<div")
                && t.contains("http://www.w3.org/1999/xhtml")
                && !t.contains("<script")
        }
        None => false,
    }
}

impl<'a, 'e> Ctx<'a, 'e> {
    pub(crate) fn eval(&self, e: &Expr, input: &Collection<'a>, focus: &Focus<'a>) -> R<'a> {
        match e {
            Expr::Empty => Ok(Vec::new()),
            Expr::Bool(x) => Ok(vec![Item::Bool(*x)]),
            Expr::Str(s) => Ok(vec![Item::Str(s.clone())]),
            Expr::Num(n) => Ok(vec![if n.contains('.') {
                Item::Dec(n.parse().unwrap_or(0.0), n.clone())
            } else {
                match n.parse() {
                    Ok(i) => Item::Int(i),
                    Err(_) => return fail("integer literal out of range"),
                }
            }]),
            Expr::DateLit(d) => Ok(vec![Item::Date(d.clone())]),
            Expr::Quantity(v, u) => Ok(vec![Item::Quantity(v.parse().unwrap_or(0.0), u.clone())]),
            Expr::This => Ok(focus.this.clone().into_iter().collect()),
            Expr::Index => Ok(focus
                .index
                .map(|i| Item::Int(i as i64))
                .into_iter()
                .collect()),
            Expr::Total => fail("$total (aggregate) is not supported"),
            Expr::Var(v) => self.var(v),
            Expr::Member(None, name) => {
                // a leading type name selects the focus when it is of that type
                let mut out = Vec::new();
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    let typed: Collection<'a> =
                        input.iter().filter(|i| is_type(i, name)).cloned().collect();
                    if !typed.is_empty() {
                        return Ok(typed);
                    }
                }
                for i in input {
                    if let Item::Node(n) = i {
                        member(&mut out, n, name, self.env.types);
                    }
                }
                Ok(out)
            }
            Expr::Member(Some(base), name) => {
                let c = self.eval(base, input, focus)?;
                let mut out = Vec::new();
                for i in &c {
                    if let Item::Node(n) = i {
                        member(&mut out, n, name, self.env.types);
                    }
                }
                Ok(out)
            }
            Expr::Indexer(base, idx) => {
                let c = self.eval(base, input, focus)?;
                let i = self.eval(idx, input, focus)?;
                match i.first().and_then(Item::as_int) {
                    Some(k) if k >= 0 => Ok(c.into_iter().nth(k as usize).into_iter().collect()),
                    Some(_) => Ok(Vec::new()),
                    None if i.is_empty() => Ok(Vec::new()),
                    None => fail("index is not an integer"),
                }
            }
            Expr::Neg(neg, inner) => {
                let c = self.eval(inner, input, focus)?;
                if !neg {
                    return Ok(c);
                }
                c.into_iter()
                    .map(|i| match i.scalar() {
                        Some(Scalar::Num(x)) => Ok(match i {
                            Item::Int(k) => Item::Int(-k),
                            _ => Item::Dec(-x, format!("-{}", i.to_text().unwrap_or_default())),
                        }),
                        Some(Scalar::Quantity(x, u)) => Ok(Item::Quantity(-x, u.to_owned())),
                        _ => fail("unary minus on a non-number"),
                    })
                    .collect()
            }
            Expr::TypeOp(is, inner, t) => {
                let c = self.eval(inner, input, focus)?;
                if *is {
                    match c.len() {
                        0 => Ok(Vec::new()),
                        1 => Ok(vec![Item::Bool(is_type(&c[0], t))]),
                        _ => fail("'is' on more than one item"),
                    }
                } else {
                    Ok(c.into_iter().filter(|i| is_type(i, t)).collect())
                }
            }
            Expr::Bin(op, l, r) => self.binary(*op, l, r, input, focus),
            Expr::Call(base, name, args) => {
                let c = match base {
                    Some(b) => self.eval(b, input, focus)?,
                    None => input.clone(),
                };
                self.call(name, args, c, input, focus)
            }
        }
    }

    fn var(&self, v: &str) -> R<'a> {
        let node = |x: Option<&'a Value>| -> Collection<'a> {
            x.map(|v| {
                Item::Node(Node {
                    value: v,
                    ext: None,
                    ty: v.fget("resourceType").and_then(Value::as_str),
                })
            })
            .into_iter()
            .collect()
        };
        match v {
            "resource" => Ok(node(self.env.resource)),
            "rootResource" => Ok(node(self.env.root_resource.or(self.env.resource))),
            "context" => Ok(vec![self.context.clone()]),
            "ucum" => Ok(vec![Item::Str("http://unitsofmeasure.org".into())]),
            "sct" => Ok(vec![Item::Str("http://snomed.info/sct".into())]),
            "loinc" => Ok(vec![Item::Str("http://loinc.org".into())]),
            other => match self.vars.iter().find(|(n, _)| *n == other) {
                Some((_, item)) => Ok(vec![item.clone()]),
                None => fail(format!("unknown variable %{other}")),
            },
        }
    }

    fn binary(
        &self,
        op: BinOp,
        l: &Expr,
        r: &Expr,
        input: &Collection<'a>,
        focus: &Focus<'a>,
    ) -> R<'a> {
        let a = self.eval(l, input, focus)?;
        // short-circuit where three-valued logic allows it
        match op {
            BinOp::And => {
                let x = singleton_bool(&a, "and")?;
                if x == Some(false) {
                    return Ok(b(Some(false)));
                }
                let y = singleton_bool(&self.eval(r, input, focus)?, "and")?;
                return Ok(b(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }));
            }
            BinOp::Or => {
                let x = singleton_bool(&a, "or")?;
                if x == Some(true) {
                    return Ok(b(Some(true)));
                }
                let y = singleton_bool(&self.eval(r, input, focus)?, "or")?;
                return Ok(b(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }));
            }
            BinOp::Implies => {
                let x = singleton_bool(&a, "implies")?;
                if x == Some(false) {
                    return Ok(b(Some(true)));
                }
                let y = singleton_bool(&self.eval(r, input, focus)?, "implies")?;
                return Ok(b(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(true), Some(false)) => Some(false),
                    _ => None,
                }));
            }
            _ => {}
        }
        // `x = 'literal'` / `x != 'literal'` without materialising the literal
        // (the same result as coll_eq against a one-string collection)
        if let (BinOp::Eq | BinOp::Ne, Expr::Str(lit)) = (op, r) {
            let eq = match a.len() {
                0 => None,
                1 => a[0]
                    .scalar()
                    .and_then(|x| scalar_eq(x, Scalar::Str(lit.as_str()))),
                _ => Some(false),
            };
            return Ok(b(if op == BinOp::Eq { eq } else { eq.map(|x| !x) }));
        }
        let c = self.eval(r, input, focus)?;
        match op {
            BinOp::Xor => {
                let x = singleton_bool(&a, "xor")?;
                let y = singleton_bool(&c, "xor")?;
                Ok(b(match (x, y) {
                    (Some(p), Some(q)) => Some(p != q),
                    _ => None,
                }))
            }
            BinOp::Union => {
                let mut all = a;
                all.extend(c);
                Ok(distinct(all))
            }
            BinOp::Eq => Ok(b(coll_eq(&a, &c))),
            BinOp::Ne => Ok(b(coll_eq(&a, &c).map(|x| !x))),
            BinOp::Equiv | BinOp::NotEquiv => {
                let eq = if a.is_empty() && c.is_empty() {
                    true
                } else if a.len() != c.len() {
                    false
                } else {
                    a.iter().all(|x| c.iter().any(|y| equiv(x, y)))
                };
                Ok(vec![Item::Bool(if op == BinOp::Equiv { eq } else { !eq })])
            }
            BinOp::In | BinOp::Contains => {
                let (needle, hay) = if op == BinOp::In { (&a, &c) } else { (&c, &a) };
                match needle.len() {
                    0 => Ok(Vec::new()),
                    1 => Ok(vec![Item::Bool(contains_item(hay, &needle[0]))]),
                    _ => fail("membership test of more than one item"),
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if a.is_empty() || c.is_empty() {
                    return Ok(Vec::new());
                }
                if a.len() > 1 || c.len() > 1 {
                    return fail("comparison of more than one item");
                }
                let o = compare(&a[0], &c[0])?;
                Ok(b(o.map(|o| match op {
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::Le => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })))
            }
            BinOp::Concat => {
                let s = |x: &Collection<'_>| -> Result<String, EvalError> {
                    match x.len() {
                        0 => Ok(String::new()),
                        1 => x[0]
                            .to_text()
                            .ok_or_else(|| EvalError("& on a non-primitive".into())),
                        _ => fail("& on more than one item"),
                    }
                };
                Ok(vec![Item::Str(s(&a)? + &s(&c)?)])
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod => {
                if a.is_empty() || c.is_empty() {
                    return Ok(Vec::new());
                }
                if a.len() > 1 || c.len() > 1 {
                    return fail("arithmetic on more than one item");
                }
                arith(op, &a[0], &c[0])
            }
            BinOp::And | BinOp::Or | BinOp::Implies => Ok(Vec::new()),
        }
    }

    fn with_each<F>(&self, c: &Collection<'a>, arg: &Expr, mut f: F) -> Result<(), EvalError>
    where
        F: FnMut(&Item<'a>, Collection<'a>) -> Result<bool, EvalError>,
    {
        // one input buffer for every item
        let mut one: Collection<'a> = Vec::with_capacity(1);
        for (i, item) in c.iter().enumerate() {
            let focus = Focus {
                this: Some(item.clone()),
                index: Some(i),
            };
            one.clear();
            one.push(item.clone());
            let r = self.eval(arg, &one, &focus)?;
            if !f(item, r)? {
                break;
            }
        }
        Ok(())
    }

    /// A string argument (a literal is borrowed, not evaluated).
    fn arg_str<'x>(
        &self,
        args: &'x [Expr],
        i: usize,
        input: &Collection<'a>,
        focus: &Focus<'a>,
        what: &str,
    ) -> Result<Option<Cow<'x, str>>, EvalError> {
        let Some(e) = args.get(i) else {
            return fail(format!("{what}: missing argument"));
        };
        if let Expr::Str(lit) = e {
            return Ok(Some(Cow::Borrowed(lit.as_str())));
        }
        let c = self.eval(e, input, focus)?;
        Ok(singleton_str(&c, what)?.map(|s| Cow::Owned(s.to_owned())))
    }

    fn arg_int(
        &self,
        args: &[Expr],
        i: usize,
        input: &Collection<'a>,
        focus: &Focus<'a>,
        what: &str,
    ) -> Result<Option<i64>, EvalError> {
        let Some(e) = args.get(i) else {
            return fail(format!("{what}: missing argument"));
        };
        let c = self.eval(e, input, focus)?;
        match c.len() {
            0 => Ok(None),
            1 => match c[0].as_int() {
                Some(k) => Ok(Some(k)),
                None => fail(format!("{what}: argument is not an integer")),
            },
            _ => fail(format!("{what}: argument has more than one item")),
        }
    }

    /// The compiled pattern: borrowed when precompiled (a clone would start with an
    /// empty lazy-DFA cache on every call).
    fn regex(&self, pattern: &str) -> Result<std::borrow::Cow<'e, regex::Regex>, EvalError> {
        if let Some(r) = self.regexes.get(pattern) {
            return Ok(std::borrow::Cow::Borrowed(r));
        }
        regex::Regex::new(pattern)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| EvalError(format!("bad regular expression: {e}")))
    }

    fn call(
        &self,
        name: &str,
        args: &[Expr],
        c: Collection<'a>,
        input: &Collection<'a>,
        focus: &Focus<'a>,
    ) -> R<'a> {
        let nargs = args.len();
        Ok(match (name, nargs) {
            ("empty", 0) => vec![Item::Bool(c.is_empty())],
            ("exists", 0) => vec![Item::Bool(!c.is_empty())],
            ("exists", 1) => {
                let mut found = false;
                self.with_each(&c, &args[0], |_, r| {
                    if singleton_bool(&r, "exists")? == Some(true) {
                        found = true;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                vec![Item::Bool(found)]
            }
            ("all", 1) => {
                let mut all = true;
                self.with_each(&c, &args[0], |_, r| {
                    if singleton_bool(&r, "all")? != Some(true) {
                        all = false;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                vec![Item::Bool(all)]
            }
            ("allTrue", 0) => vec![Item::Bool(c.iter().all(|i| i.as_bool() == Some(true)))],
            ("anyTrue", 0) => vec![Item::Bool(c.iter().any(|i| i.as_bool() == Some(true)))],
            ("allFalse", 0) => vec![Item::Bool(c.iter().all(|i| i.as_bool() == Some(false)))],
            ("anyFalse", 0) => vec![Item::Bool(c.iter().any(|i| i.as_bool() == Some(false)))],
            ("subsetOf" | "supersetOf", 1) => {
                let other = self.eval(&args[0], input, focus)?;
                let (small, big) = if name == "subsetOf" {
                    (&c, &other)
                } else {
                    (&other, &c)
                };
                vec![Item::Bool(small.iter().all(|x| contains_item(big, x)))]
            }
            ("count", 0) => vec![Item::Int(c.len() as i64)],
            ("distinct", 0) => distinct(c),
            ("isDistinct", 0) => {
                let n = c.len();
                vec![Item::Bool(distinct(c).len() == n)]
            }
            ("where", 1) => {
                let mut out = Vec::new();
                self.with_each(&c, &args[0], |item, r| {
                    if singleton_bool(&r, "where")? == Some(true) {
                        out.push(item.clone());
                    }
                    Ok(true)
                })?;
                out
            }
            ("select", 1) => {
                let mut out = Vec::new();
                self.with_each(&c, &args[0], |_, r| {
                    out.extend(r);
                    Ok(true)
                })?;
                out
            }
            ("repeat", 1) => {
                let mut out: Collection<'a> = Vec::new();
                let mut frontier = c;
                let mut rounds = 0;
                while !frontier.is_empty() {
                    rounds += 1;
                    if rounds > 10_000 {
                        return fail("repeat: too deep");
                    }
                    let mut next = Vec::new();
                    self.with_each(&frontier, &args[0], |_, r| {
                        next.extend(r);
                        Ok(true)
                    })?;
                    out.extend(next.iter().cloned());
                    frontier = next;
                }
                out
            }
            ("ofType", 1) => {
                let t = type_arg(&args[0])?;
                c.into_iter().filter(|i| is_type(i, &t)).collect()
            }
            ("is", 1) => {
                let t = type_arg(&args[0])?;
                match c.len() {
                    0 => Vec::new(),
                    1 => vec![Item::Bool(is_type(&c[0], &t))],
                    _ => return fail("is() on more than one item"),
                }
            }
            ("as", 1) => {
                let t = type_arg(&args[0])?;
                c.into_iter().filter(|i| is_type(i, &t)).collect()
            }
            ("single", 0) => match c.len() {
                0 | 1 => c,
                _ => return fail("single() on more than one item"),
            },
            ("first", 0) => c.into_iter().take(1).collect(),
            ("last", 0) => c.into_iter().last().into_iter().collect(),
            ("tail", 0) => c.into_iter().skip(1).collect(),
            ("skip" | "take", 1) => {
                let n = self
                    .arg_int(args, 0, input, focus, name)?
                    .unwrap_or(0)
                    .max(0) as usize;
                if name == "skip" {
                    c.into_iter().skip(n).collect()
                } else {
                    c.into_iter().take(n).collect()
                }
            }
            ("intersect", 1) => {
                let other = self.eval(&args[0], input, focus)?;
                distinct(c.into_iter().filter(|x| contains_item(&other, x)).collect())
            }
            ("exclude", 1) => {
                let other = self.eval(&args[0], input, focus)?;
                c.into_iter()
                    .filter(|x| !contains_item(&other, x))
                    .collect()
            }
            ("union", 1) => {
                let mut all = c;
                all.extend(self.eval(&args[0], input, focus)?);
                distinct(all)
            }
            ("combine", 1) => {
                let mut all = c;
                all.extend(self.eval(&args[0], input, focus)?);
                all
            }
            ("iif", 2 | 3) => {
                let cond = singleton_bool(&self.eval(&args[0], &c, focus)?, "iif")?;
                if cond == Some(true) {
                    self.eval(&args[1], input, focus)?
                } else if let Some(e) = args.get(2) {
                    self.eval(e, input, focus)?
                } else {
                    Vec::new()
                }
            }
            ("toString", 0) => match c.len() {
                0 => Vec::new(),
                1 => c[0].to_text().map(Item::Str).into_iter().collect(),
                _ => return fail("toString() on more than one item"),
            },
            ("toInteger" | "convertsToInteger", 0) => {
                let v = match c.first() {
                    None => return Ok(Vec::new()),
                    Some(i) => i
                        .as_int()
                        .or_else(|| i.as_str().and_then(|s| s.parse().ok())),
                };
                if name == "toInteger" {
                    v.map(Item::Int).into_iter().collect()
                } else {
                    vec![Item::Bool(v.is_some())]
                }
            }
            ("toDecimal" | "convertsToDecimal", 0) => {
                let v = match c.first() {
                    None => return Ok(Vec::new()),
                    Some(i) => match i.scalar() {
                        Some(Scalar::Num(x)) => Some((x, i.to_text().unwrap_or_default())),
                        Some(Scalar::Str(s)) => s.parse::<f64>().ok().map(|x| (x, s.to_owned())),
                        _ => None,
                    },
                };
                if name == "toDecimal" {
                    v.map(|(x, t)| Item::Dec(x, t)).into_iter().collect()
                } else {
                    vec![Item::Bool(v.is_some())]
                }
            }
            ("toBoolean" | "convertsToBoolean", 0) => {
                let v = match c.first() {
                    None => return Ok(Vec::new()),
                    Some(i) => i.as_bool().or_else(|| match i.as_str() {
                        Some("true") => Some(true),
                        Some("false") => Some(false),
                        _ => None,
                    }),
                };
                if name == "toBoolean" {
                    v.map(Item::Bool).into_iter().collect()
                } else {
                    vec![Item::Bool(v.is_some())]
                }
            }
            ("convertsToString", 0) => match c.first() {
                None => Vec::new(),
                Some(i) => vec![Item::Bool(i.to_text().is_some())],
            },
            ("indexOf", 1) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let Some(sub) = self.arg_str(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                vec![Item::Int(char_index_of(s, &sub))]
            }
            ("substring", 1 | 2) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let Some(start) = self.arg_int(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                let len = if nargs == 2 {
                    self.arg_int(args, 1, input, focus, name)?
                } else {
                    None
                };
                char_substring(s, start, len)
                    .map(Item::Str)
                    .into_iter()
                    .collect()
            }
            ("startsWith" | "endsWith" | "contains", 1) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let Some(p) = self.arg_str(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                vec![Item::Bool(match name {
                    "startsWith" => s.starts_with(&*p),
                    "endsWith" => s.ends_with(&*p),
                    _ => s.contains(&*p),
                })]
            }
            ("upper" | "lower" | "trim" | "length", 0) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                vec![match name {
                    "upper" => Item::Str(s.to_uppercase()),
                    "lower" => Item::Str(s.to_lowercase()),
                    "trim" => Item::Str(s.trim().to_owned()),
                    _ => Item::Int(s.chars().count() as i64),
                }]
            }
            ("replace", 2) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let (Some(p), Some(r)) = (
                    self.arg_str(args, 0, input, focus, name)?,
                    self.arg_str(args, 1, input, focus, name)?,
                ) else {
                    return Ok(Vec::new());
                };
                vec![Item::Str(s.replace(&*p, &r))]
            }
            ("matches", 1) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let Some(p) = self.arg_str(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                vec![Item::Bool(self.regex(&p)?.is_match(s))]
            }
            ("replaceMatches", 2) => {
                let Some(s) = singleton_str(&c, name)? else {
                    return Ok(Vec::new());
                };
                let (Some(p), Some(r)) = (
                    self.arg_str(args, 0, input, focus, name)?,
                    self.arg_str(args, 1, input, focus, name)?,
                ) else {
                    return Ok(Vec::new());
                };
                vec![Item::Str(self.regex(&p)?.replace_all(s, &*r).into_owned())]
            }
            ("abs", 0) => match c.first() {
                None => Vec::new(),
                Some(Item::Int(i)) => vec![Item::Int(i.abs())],
                Some(i) => match i.scalar() {
                    Some(Scalar::Num(x)) => vec![Item::Dec(x.abs(), x.abs().to_string())],
                    _ => return fail("abs() on a non-number"),
                },
            },
            ("not", 0) => b(singleton_bool(&c, "not")?.map(|x| !x)),
            ("hasValue", 0) => vec![Item::Bool(
                c.len() == 1
                    && match &c[0] {
                        Item::Node(n) => {
                            !n.value.is_null() && !n.value.is_object() && !n.value.is_array()
                        }
                        _ => true,
                    },
            )],
            ("children", 0) => {
                let mut out = Vec::new();
                for i in &c {
                    if let Item::Node(n) = i {
                        children(&mut out, n);
                    }
                }
                out
            }
            ("descendants", 0) => {
                let mut out = Vec::new();
                let mut frontier = c;
                while !frontier.is_empty() {
                    let mut next = Vec::new();
                    for i in &frontier {
                        if let Item::Node(n) = i {
                            children(&mut next, n);
                        }
                    }
                    out.extend(next.iter().cloned());
                    frontier = next;
                }
                out
            }
            ("extension", 1) => {
                let Some(url) = self.arg_str(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                let mut exts = Vec::new();
                for i in &c {
                    if let Item::Node(n) = i {
                        member(&mut exts, n, "extension", self.env.types);
                    }
                }
                exts.into_iter()
                    .filter(|e| {
                        e.node()
                            .and_then(|n| n.value.fget("url"))
                            .and_then(Value::as_str)
                            == Some(&*url)
                    })
                    .collect()
            }
            ("resolve", 0) => {
                let Some(res) = self.env.resolver else {
                    return fail("resolve(): no resolver in this context");
                };
                let mut out = Vec::new();
                for i in &c {
                    let r = match i {
                        Item::Node(n) if n.value.is_object() => {
                            n.value.fget("reference").and_then(Value::as_str)
                        }
                        other => other.as_str(),
                    };
                    if let Some(target) = r.and_then(|r| res.resolve(r)) {
                        out.push(Item::Node(Node {
                            value: target,
                            ext: None,
                            ty: target.fget("resourceType").and_then(Value::as_str),
                        }));
                    }
                }
                out
            }
            ("memberOf", 1) => {
                let Some(url) = self.arg_str(args, 0, input, focus, name)? else {
                    return Ok(Vec::new());
                };
                if c.is_empty() {
                    return Ok(Vec::new());
                }
                if c.len() > 1 {
                    return fail("memberOf(): input has more than one item");
                }
                let Some(terms) = self.env.terminology else {
                    return fail("memberOf(): no terminology in this context");
                };
                let unknown = || {
                    EvalError(format!(
                        "memberOf(): value set {url} cannot be expanded here"
                    ))
                };
                // A Coding, a CodeableConcept (any of its codings) or a bare code.
                let codings: Vec<(Option<&str>, &str)> = match &c[0] {
                    Item::Node(n) if n.value.is_object() => {
                        let one = |v: &'a Value| {
                            v.fget("code")
                                .and_then(Value::as_str)
                                .map(|code| (v.fget("system").and_then(Value::as_str), code))
                        };
                        match n.value.fget("coding").and_then(Value::as_array) {
                            Some(list) => list.iter().filter_map(one).collect(),
                            None => one(n.value).into_iter().collect(),
                        }
                    }
                    other => other
                        .as_str()
                        .map(|code| (None, code))
                        .into_iter()
                        .collect(),
                };
                let mut member = false;
                for (system, code) in codings {
                    if terms.member_of(&url, system, code).ok_or_else(unknown)? {
                        member = true;
                        break;
                    }
                }
                vec![Item::Bool(member)]
            }
            ("trace", 1 | 2) => c,
            ("join", 0 | 1) => {
                let sep = match nargs {
                    0 => Cow::Borrowed(""),
                    _ => self
                        .arg_str(args, 0, input, focus, name)?
                        .unwrap_or(Cow::Borrowed("")),
                };
                let mut parts = Vec::with_capacity(c.len());
                for i in &c {
                    match i.as_str() {
                        Some(s) => parts.push(s),
                        None => return fail("join(): an item is not a string"),
                    }
                }
                vec![Item::Str(parts.join(sep.as_ref()))]
            }
            ("getResourceKey", 0) => {
                let mut out = Vec::new();
                for i in &c {
                    if let Item::Node(n) = i
                        && let Some(ty) = n.value.fget("resourceType").and_then(Value::as_str)
                        && let Some(id) = n.value.fget("id").and_then(Value::as_str)
                    {
                        out.push(Item::Str(format!("{ty}/{id}")));
                    }
                }
                out
            }
            ("getReferenceKey", 0 | 1) => {
                let want = match args.first() {
                    Some(a) => Some(type_arg(a)?),
                    None => None,
                };
                let mut out = Vec::new();
                for i in &c {
                    if let Item::Node(n) = i
                        && let Some(key) = reference_key(n.value, self.env.resolver)
                        && want
                            .as_deref()
                            .is_none_or(|w| key.split('/').next() == Some(w))
                    {
                        out.push(Item::Str(key));
                    }
                }
                out
            }
            ("lowBoundary" | "highBoundary", 0 | 1) => {
                let precision = match nargs {
                    0 => None,
                    _ => self.arg_int(args, 0, input, focus, name)?,
                };
                match c.len() {
                    0 => Vec::new(),
                    1 => boundary(&c[0], name == "highBoundary", precision)
                        .into_iter()
                        .collect(),
                    _ => return fail(format!("{name}() on more than one item")),
                }
            }
            ("htmlChecks", 0) => vec![Item::Bool(c.len() == 1 && html_ok(&c[0]))],
            _ => {
                if FUNCTIONS.contains(&name) {
                    return fail(format!("{name}() with {nargs} arguments is not supported"));
                }
                return fail(format!("unknown function {name}()"));
            }
        })
    }
}

/// The key `getReferenceKey()` gives a Reference: `Type/id` of a relative or
/// absolute literal reference (a version suffix dropped); for a `urn:uuid:` one,
/// the type and id of the resource the resolver finds (a Bundle entry), else its
/// `type` and the UUID. `None` when the reference names no resource this way
/// (`getResourceKey()` gives `Type/id`, so the two join).
fn reference_key<'a>(reference: &Value, resolver: Option<&dyn Resolver<'a>>) -> Option<String> {
    let r = reference.fget("reference").and_then(Value::as_str)?;
    if let Some(uuid) = r.strip_prefix("urn:uuid:") {
        if let Some(target) = resolver.and_then(|x| x.resolve(r))
            && let (Some(ty), Some(id)) = (
                target.fget("resourceType").and_then(Value::as_str),
                target.fget("id").and_then(Value::as_str),
            )
        {
            return Some(format!("{ty}/{id}"));
        }
        let ty = reference.fget("type").and_then(Value::as_str)?;
        return Some(format!("{ty}/{uuid}"));
    }
    let r = match r.find("/_history/") {
        Some(i) => r.get(..i)?,
        None => r,
    };
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    if id.is_empty() || !ty.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    Some(format!("{ty}/{id}"))
}

/// `lowBoundary()` / `highBoundary()` of a decimal or a date/time (FHIRPath
/// 3.0 draft): the least / greatest value the item's precision admits, at
/// `precision` digits (decimals, default 8) or to the millisecond (date/times,
/// with the widest time-zone offset when the value has none). `None` for other
/// items or a precision beyond the limits.
fn boundary<'a>(item: &Item<'a>, high: bool, precision: Option<i64>) -> Option<Item<'a>> {
    let kind = match item {
        Item::Date(t) if t.starts_with('T') => "time",
        Item::Date(t) if t.contains('T') => "dateTime",
        Item::Date(_) => "date",
        Item::Node(n) => n.ty.unwrap_or(""),
        _ => "",
    };
    if matches!(kind, "date" | "dateTime" | "instant" | "time") {
        let text = item.to_text()?;
        return date_boundary(&text, kind, high).map(Item::Date);
    }
    let text = match item {
        Item::Dec(_, t) => t.clone(),
        Item::Node(Node {
            value: Value::Number(n),
            ..
        }) if kind != "integer" => n.to_string(),
        _ => return None,
    };
    let out = decimal_boundary(&text, high, precision.unwrap_or(8))?;
    let f = out.parse().ok()?;
    Some(Item::Dec(f, out))
}

fn decimal_boundary(text: &str, high: bool, precision: i64) -> Option<String> {
    if !(0..=28).contains(&precision) {
        return None;
    }
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // exact integer arithmetic at `scale` decimals: value ± half a unit in the last place
    let p = precision as u32;
    let given = u32::try_from(frac.len()).ok()?;
    let scale = (given + 1).max(p);
    let mut v: i128 = format!("{int}{frac}").parse().ok()?;
    v = v.checked_mul(10i128.checked_pow(scale - given)?)?;
    if neg {
        v = -v;
    }
    let half = 5 * 10i128.checked_pow(scale - given - 1)?;
    let r = if high { v + half } else { v - half };
    // truncate towards the boundary's side to `p` decimals
    let cut = 10i128.checked_pow(scale - p)?;
    let r = if high {
        r.div_euclid(cut) + i128::from(r.rem_euclid(cut) != 0)
    } else {
        r.div_euclid(cut)
    };
    let sign = if r < 0 { "-" } else { "" };
    let a = r.unsigned_abs();
    let unit = 10u128.pow(p);
    Some(if p == 0 {
        format!("{sign}{a}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            a / unit,
            a % unit,
            width = p as usize
        )
    })
}

/// Boundaries of a date (`date`), date/time (`dateTime`, `instant`) or `time`:
/// missing components filled with their least or greatest value, a missing offset
/// with the widest one.
fn date_boundary(text: &str, kind: &str, high: bool) -> Option<String> {
    let t = text.strip_prefix('@').unwrap_or(text);
    let pick = |lo: &'static str, hi: &'static str| if high { hi } else { lo };
    let clock = |tm: &str| -> Option<String> {
        let mut c = tm.split(':');
        let hh = c
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(pick("00", "23"));
        let mm = c.next().unwrap_or(pick("00", "59"));
        let (ss, ms) = match c.next() {
            Some(s) => match s.split_once('.') {
                Some((a, f)) => (a, format!("{f:0<3}").get(..3)?.to_owned()),
                None => (s, pick("000", "999").to_owned()),
            },
            None => (pick("00", "59"), pick("000", "999").to_owned()),
        };
        Some(format!("{hh}:{mm}:{ss}.{ms}"))
    };
    if kind == "time" {
        return clock(t.strip_prefix('T').unwrap_or(t));
    }
    let (date, time) = match t.split_once('T') {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: Option<i64> = it.next().map(str::parse).transpose().ok()?;
    let d: Option<i64> = it.next().map(str::parse).transpose().ok()?;
    let m = m.unwrap_or(if high { 12 } else { 1 });
    let last_day = match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    };
    let d = d.unwrap_or(if high { last_day } else { 1 });
    let day = format!("{y:04}-{m:02}-{d:02}");
    if kind == "date" {
        return Some(day);
    }
    let (tm, tz) = match time {
        None => ("", None),
        Some(tm) => {
            if let Some(c) = tm.strip_suffix('Z') {
                (c, Some("Z"))
            } else if let Some(i) = tm.rfind(['+', '-']) {
                (tm.get(..i)?, tm.get(i..))
            } else {
                (tm, None)
            }
        }
    };
    // without an offset the value may be in any zone: the widest one
    let tz = tz.unwrap_or(pick("+14:00", "-12:00"));
    Some(format!("{day}T{}{tz}", clock(tm)?))
}

fn arith<'a>(op: BinOp, a: &Item<'a>, c: &Item<'a>) -> R<'a> {
    if op == BinOp::Add
        && let (Some(x), Some(y)) = (a.as_str(), c.as_str())
    {
        return Ok(vec![Item::Str(format!("{x}{y}"))]);
    }
    if let (Some(x), Some(y)) = (a.as_int(), c.as_int())
        && !matches!(op, BinOp::Div)
    {
        let v = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::IntDiv => x.checked_div(y),
            _ => x.checked_rem(y),
        };
        return Ok(v.map(Item::Int).into_iter().collect());
    }
    let (Some(Scalar::Num(x)), Some(Scalar::Num(y))) = (a.scalar(), c.scalar()) else {
        return fail("arithmetic on non-numbers (dates and quantities are not supported)");
    };
    let v = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y == 0.0 {
                return Ok(Vec::new());
            }
            x / y
        }
        BinOp::IntDiv => {
            if y == 0.0 {
                return Ok(Vec::new());
            }
            return Ok(vec![Item::Int((x / y).trunc() as i64)]);
        }
        _ => {
            if y == 0.0 {
                return Ok(Vec::new());
            }
            x % y
        }
    };
    Ok(vec![Item::Dec(v, v.to_string())])
}

/// No input at all: an empty collection and no `$this`.
pub(crate) fn empty_focus<'a>() -> (Collection<'a>, Focus<'a>) {
    (
        Vec::new(),
        Focus {
            this: None,
            index: None,
        },
    )
}

pub(crate) fn root_focus<'a>(item: Item<'a>) -> (Collection<'a>, Focus<'a>) {
    (
        vec![item.clone()],
        Focus {
            this: Some(item),
            index: None,
        },
    )
}
