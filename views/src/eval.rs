//! Evaluating a [`View`] on one resource: the rows it gives (SQL on FHIR v2,
//! "process a view": `where`, nested `select` as a cross join, `forEach` /
//! `forEachOrNull` / `repeat` focus, `unionAll` as a concatenation).

use crate::view::{ColumnExpr, Kind, ROW_INDEX, Select, View};
use fhir::fhirpath::{Collection, Env, Item, Node, Resolver};
use serde_json::Value;

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal, as its text.
    Dec(String),
    /// Text (strings, codes, dates …).
    Text(String),
    /// The values of a `collection` column.
    List(Vec<Cell>),
}

impl Cell {
    /// The cell as JSON (decimals as numbers with their text).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::Dec(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone())),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::List(l) => Value::Array(l.iter().map(Cell::to_json).collect()),
        }
    }
}

/// A row: one cell per column of the view, in column order.
pub type Row = Vec<Cell>;

/// Why a view could not be evaluated on a resource (its rows are not written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotEvaluable {
    /// The path that failed (a column's, a `where`'s, a `forEach`'s).
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

impl std::fmt::Display for NotEvaluable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for NotEvaluable {}

struct Run<'a, 'v> {
    view: &'v View,
    env: Env<'a>,
}

fn failed(path: &str, reason: impl Into<String>) -> NotEvaluable {
    NotEvaluable {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The rows `view` gives for `resource` (none when it is of another type or a
/// `where` excludes it). `root` is the Bundle holding it, if any, and `resolver`
/// resolves its references (`urn:uuid:` fullUrls) for `getReferenceKey()`.
pub fn rows<'a>(
    view: &View,
    resource: &'a Value,
    root: Option<&'a Value>,
    resolver: Option<&'a dyn Resolver<'a>>,
) -> Result<Vec<Row>, NotEvaluable> {
    if resource.get("resourceType").and_then(Value::as_str) != Some(view.resource.as_str()) {
        return Ok(Vec::new());
    }
    let run = Run {
        view,
        env: Env {
            resource: Some(resource),
            root_resource: root.or(Some(resource)),
            resolver,
            terminology: None,
            // `birthDate` is a date, `Quantity.value` a decimal: the R4 base types
            types: Some(fhir::conformance::r4_element_types()),
        },
    };
    let node = Item::Node(Node {
        value: resource,
        ext: None,
        ty: resource.get("resourceType").and_then(Value::as_str),
    });
    for w in &view.wheres {
        let r = run.eval(w, &node, 0)?;
        match r.as_slice() {
            [] => return Ok(Vec::new()),
            [one] => match one.as_bool() {
                Some(true) => {}
                Some(false) => return Ok(Vec::new()),
                None => {
                    return Err(failed(
                        w.source(),
                        "where gives a value that is not boolean",
                    ));
                }
            },
            _ => return Err(failed(w.source(), "where gives more than one value")),
        }
    }
    run.select(&view.root, Some(&node), 0)
}

impl<'a, 'v> Run<'a, 'v> {
    fn eval(
        &self,
        e: &fhir::fhirpath::Expression,
        focus: &Item<'a>,
        row_index: usize,
    ) -> Result<Collection<'a>, NotEvaluable> {
        e.evaluate_with(focus.clone(), self.env, &self.vars(row_index))
            .map_err(|x| failed(e.source(), x.0))
    }

    /// The view's constants and `%rowIndex`.
    fn vars(&self, row_index: usize) -> Vec<(&'v str, Item<'a>)> {
        let mut vars = Vec::with_capacity(self.view.constants.len() + 1);
        vars.extend(
            self.view
                .constants
                .iter()
                .map(|(n, i)| (n.as_str(), i.clone())),
        );
        vars.push((ROW_INDEX, Item::Int(row_index as i64)));
        vars
    }

    fn select(
        &self,
        s: &Select,
        focus: Option<&Item<'a>>,
        index: usize,
    ) -> Result<Vec<Row>, NotEvaluable> {
        let foci: Vec<(Option<Item<'a>>, usize)> = match focus {
            None => vec![(None, 0)],
            Some(n) => {
                if let Some((e, or_null)) = &s.for_each {
                    let c = self.eval(e, n, index)?;
                    if c.is_empty() && *or_null {
                        vec![(None, 0)]
                    } else {
                        c.into_iter()
                            .enumerate()
                            .map(|(i, x)| (Some(x), i))
                            .collect()
                    }
                } else if !s.repeat.is_empty() {
                    let mut all = Vec::new();
                    self.repeat(&s.repeat, n, index, &mut all, 0)?;
                    all.into_iter()
                        .enumerate()
                        .map(|(i, x)| (Some(x), i))
                        .collect()
                } else {
                    vec![(Some(n.clone()), index)]
                }
            }
        };
        let mut out = Vec::new();
        for (f, i) in foci {
            let mut base = Vec::with_capacity(s.width);
            for c in &s.columns {
                base.push(match &f {
                    None => self.null_column(c, i)?,
                    Some(x) => self.column(c, x, i)?,
                });
            }
            let mut partial = vec![base];
            for child in &s.select {
                let r = self.select(child, f.as_ref(), i)?;
                partial = product(partial, &r);
            }
            if !s.union_all.is_empty() {
                let mut u = Vec::new();
                if f.is_none() {
                    // a null focus gives one row of nulls, not one per branch
                    u.extend(self.select(&s.union_all[0], None, i)?);
                } else {
                    for b in &s.union_all {
                        u.extend(self.select(b, f.as_ref(), i)?);
                    }
                }
                partial = product(partial, &u);
            }
            out.extend(partial);
        }
        Ok(out)
    }

    fn repeat(
        &self,
        paths: &[fhir::fhirpath::Expression],
        node: &Item<'a>,
        index: usize,
        out: &mut Vec<Item<'a>>,
        depth: usize,
    ) -> Result<(), NotEvaluable> {
        if depth > 1000 {
            return Err(failed(paths[0].source(), "repeat nests deeper than 1000"));
        }
        for p in paths {
            for child in self.eval(p, node, index)? {
                out.push(child.clone());
                self.repeat(paths, &child, index, out, depth + 1)?;
            }
        }
        Ok(())
    }

    fn column(&self, c: &ColumnExpr, focus: &Item<'a>, i: usize) -> Result<Cell, NotEvaluable> {
        let r = self.eval(&c.expr, focus, i)?;
        self.cell_of(c, r)
    }

    /// A column of the null row of an empty `forEachOrNull`: evaluated on no input
    /// at all, so paths give null and `%rowIndex` is 0, as the suite's
    /// "%rowIndex with forEachOrNull" wants; a result with nothing in it is null
    /// (also for a collection column).
    fn null_column(&self, c: &ColumnExpr, i: usize) -> Result<Cell, NotEvaluable> {
        let context = match self.env.resource {
            Some(r) => Item::Node(Node {
                value: r,
                ext: None,
                ty: r.get("resourceType").and_then(Value::as_str),
            }),
            None => return Ok(Cell::Null),
        };
        let r = c
            .expr
            .evaluate_on_nothing(context, self.env, &self.vars(i))
            .map_err(|x| failed(c.expr.source(), x.0))?;
        if r.is_empty() {
            return Ok(Cell::Null);
        }
        self.cell_of(c, r)
    }

    fn cell_of(&self, c: &ColumnExpr, r: Collection<'a>) -> Result<Cell, NotEvaluable> {
        let one = |x: &Item<'_>| {
            cell(x, c.declared)
                .map_err(|why| failed(c.expr.source(), format!("column {}: {why}", c.name)))
        };
        if c.collection {
            return Ok(Cell::List(r.iter().map(one).collect::<Result<_, _>>()?));
        }
        match r.as_slice() {
            [] => Ok(Cell::Null),
            [x] => one(x),
            _ => Err(failed(
                c.expr.source(),
                format!(
                    "column {} gives {} values and is not a collection",
                    c.name,
                    r.len()
                ),
            )),
        }
    }
}

fn product(left: Vec<Row>, right: &[Row]) -> Vec<Row> {
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            let mut row = l.clone();
            row.extend(r.iter().cloned());
            out.push(row);
        }
    }
    out
}

/// An item as a cell of a column of kind `declared` (`None`: as it comes).
fn cell(item: &Item<'_>, declared: Option<Kind>) -> Result<Cell, String> {
    let natural = match item {
        Item::Bool(b) => Cell::Bool(*b),
        Item::Int(i) => Cell::Int(*i),
        Item::Dec(_, t) => Cell::Dec(t.clone()),
        Item::Str(s) | Item::Date(s) => Cell::Text(s.clone()),
        Item::Quantity(..) => return Err("a quantity is not a primitive value".into()),
        Item::Node(n) => match n.value {
            Value::Bool(b) => Cell::Bool(*b),
            Value::String(s) => Cell::Text(s.clone()),
            Value::Number(x) => match x.as_i64() {
                Some(i) if n.ty != Some("decimal") => Cell::Int(i),
                _ => Cell::Dec(x.to_string()),
            },
            Value::Null => Cell::Null,
            _ => {
                return Err(format!(
                    "gives a {} element, not a primitive value",
                    n.ty.unwrap_or("complex")
                ));
            }
        },
    };
    let Some(kind) = declared else {
        return Ok(natural);
    };
    Ok(match (kind, natural) {
        (_, Cell::Null) => Cell::Null,
        (Kind::Bool, c @ Cell::Bool(_)) | (Kind::Int, c @ Cell::Int(_)) => c,
        (Kind::Dec, Cell::Int(i)) => Cell::Dec(i.to_string()),
        (Kind::Dec, c @ Cell::Dec(_)) => c,
        (Kind::Text, Cell::Text(s)) => Cell::Text(s),
        (Kind::Text, Cell::Bool(b)) => Cell::Text(b.to_string()),
        (Kind::Text, Cell::Int(i)) => Cell::Text(i.to_string()),
        (Kind::Text, Cell::Dec(t)) => Cell::Text(t),
        (k, c) => {
            return Err(format!(
                "{} does not fit the column's type ({})",
                match c {
                    Cell::Bool(_) => "a boolean",
                    Cell::Int(_) => "an integer",
                    Cell::Dec(_) => "a decimal",
                    _ => "a text value",
                },
                match k {
                    Kind::Bool => "boolean",
                    Kind::Int => "integer",
                    Kind::Dec => "decimal",
                    Kind::Text => "text",
                }
            ));
        }
    })
}
