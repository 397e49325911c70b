//! ViewDefinitions read from JSON into a compiled [`View`]. Every rule of SQL on
//! FHIR v2 a definition breaks is a diagnostic located by file and JSON path
//! (`select[0].column[2].type`); a definition with any error is not run.

use crate::codes;
use diagnostics::{Diagnostic, Location};
use fhir::fhirpath::{BUILTIN_VARIABLES, Expression, Item, PRIMITIVES, variables};
use serde_json::{Map, Value};

/// The variable SQL on FHIR adds: the index of the row's focus in its `forEach`.
pub(crate) const ROW_INDEX: &str = "rowIndex";

/// How a column's values are stored (from its FHIR type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `boolean`.
    Bool,
    /// `integer`, `positiveInt`, `unsignedInt`, `integer64` (64-bit).
    Int,
    /// `decimal` (the CSV keeps the text as written; Parquet holds a double).
    Dec,
    /// Every other primitive (strings, codes, ids, URIs, dates and times as their
    /// ISO text), and columns without a type.
    Text,
}

impl Kind {
    fn of(fhir_type: &str) -> Option<Kind> {
        Some(match fhir_type {
            "boolean" => Kind::Bool,
            "integer" | "positiveInt" | "unsignedInt" | "integer64" => Kind::Int,
            "decimal" => Kind::Dec,
            t if PRIMITIVES.contains(&t) => Kind::Text,
            _ => return None,
        })
    }
}

/// One output column: what the data dictionary says about it.
#[derive(Clone, Debug)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The FHIRPath that gives it (relative to its `forEach` focus, if any); the
    /// branches of a `unionAll` joined by ` | `.
    pub path: String,
    /// The declared FHIR type (`None` when the view gives none).
    pub fhir_type: Option<String>,
    /// Storage kind.
    pub kind: Kind,
    /// A list of values rather than one.
    pub collection: bool,
    /// What the column means (the view's `description`).
    pub description: Option<String>,
    /// The code system its codes come from (the column's `system` tag).
    pub system: Option<String>,
    /// The `forEach` / `forEachOrNull` / `repeat` paths the column is nested in.
    pub context: Vec<String>,
}

/// A column as evaluated: its expression and how its values are checked.
#[derive(Clone, Debug)]
pub(crate) struct ColumnExpr {
    pub name: String,
    pub expr: Expression,
    pub declared: Option<Kind>,
    pub collection: bool,
}

/// A `select` node.
#[derive(Clone, Debug, Default)]
pub(crate) struct Select {
    pub columns: Vec<ColumnExpr>,
    /// `forEach` (false) or `forEachOrNull` (true).
    pub for_each: Option<(Expression, bool)>,
    pub repeat: Vec<Expression>,
    pub select: Vec<Select>,
    pub union_all: Vec<Select>,
    /// Columns this node gives (its own, nested selects', the union's).
    pub width: usize,
}

/// A compiled ViewDefinition.
#[derive(Clone, Debug)]
pub struct View {
    /// The table name (`ViewDefinition.name`).
    pub name: String,
    /// The resource type it reads.
    pub resource: String,
    /// `ViewDefinition.title`.
    pub title: Option<String>,
    /// `ViewDefinition.description`.
    pub description: Option<String>,
    /// Where it was read from (as given).
    pub file: String,
    /// The output columns, in order.
    pub columns: Vec<Column>,
    /// The `where` paths (text), for the dictionary.
    pub filters: Vec<String>,
    pub(crate) constants: Vec<(String, Item<'static>)>,
    pub(crate) wheres: Vec<Expression>,
    pub(crate) root: Select,
}

struct Reader<'f> {
    file: &'f str,
    diags: Vec<Diagnostic>,
    constants: Vec<String>,
}

fn sql_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl Reader<'_> {
    fn err(&mut self, code: &'static diagnostics::Code, at: &str, msg: impl Into<String>) {
        let loc = Location::default().file(self.file);
        let loc = if at.is_empty() { loc } else { loc.element(at) };
        self.diags.push(Diagnostic::new(code, msg).at(loc));
    }

    fn compile(&mut self, at: &str, v: Option<&Value>) -> Option<Expression> {
        let Some(text) = v.and_then(Value::as_str) else {
            self.err(&codes::VIEW_MALFORMED, at, "expected a FHIRPath string");
            return None;
        };
        let e = Expression::compile(text);
        if let Some(why) = e.not_evaluable() {
            self.err(&codes::VIEW_MALFORMED, at, format!("FHIRPath: {why}"));
            return None;
        }
        if let Some(ast) = e.ast() {
            for var in variables(ast) {
                if !BUILTIN_VARIABLES.contains(&var.as_str())
                    && var != ROW_INDEX
                    && !self.constants.contains(&var)
                {
                    self.err(
                        &codes::VIEW_MALFORMED,
                        at,
                        format!("%{var} is neither a constant of the view nor a FHIRPath variable"),
                    );
                    return None;
                }
            }
        }
        Some(e)
    }

    fn array<'v>(&mut self, at: &str, v: Option<&'v Value>) -> &'v [Value] {
        match v {
            None => &[],
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.err(&codes::VIEW_MALFORMED, at, "expected an array");
                &[]
            }
        }
    }

    fn text(&mut self, at: &str, v: Option<&Value>) -> Option<String> {
        match v {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(&codes::VIEW_MALFORMED, at, "expected a string");
                None
            }
        }
    }

    fn select(
        &mut self,
        at: &str,
        v: &Value,
        context: &[String],
        schema: &mut Vec<Column>,
    ) -> Select {
        let mut s = Select::default();
        let Some(o) = v.as_object() else {
            self.err(&codes::VIEW_MALFORMED, at, "a select must be an object");
            return s;
        };
        let mut ctx = context.to_vec();
        match (o.get("forEach"), o.get("forEachOrNull")) {
            (Some(_), Some(_)) => self.err(
                &codes::VIEW_MALFORMED,
                at,
                "a select has both forEach and forEachOrNull",
            ),
            (Some(p), None) | (None, Some(p)) => {
                let or_null = o.contains_key("forEachOrNull");
                let key = if or_null { "forEachOrNull" } else { "forEach" };
                if let Some(e) = self.compile(&format!("{at}.{key}"), Some(p)) {
                    ctx.push(e.source().to_owned());
                    s.for_each = Some((e, or_null));
                }
            }
            (None, None) => {}
        }
        for (i, p) in self
            .array(&format!("{at}.repeat"), o.get("repeat"))
            .iter()
            .enumerate()
        {
            if let Some(e) = self.compile(&format!("{at}.repeat[{i}]"), Some(p)) {
                s.repeat.push(e);
            }
        }
        if !s.repeat.is_empty() {
            if s.for_each.is_some() {
                self.err(
                    &codes::VIEW_MALFORMED,
                    at,
                    "a select has both forEach and repeat",
                );
            }
            let paths: Vec<&str> = s.repeat.iter().map(Expression::source).collect();
            ctx.push(format!("repeat({})", paths.join(", ")));
        }
        let start = schema.len();
        for (i, c) in self
            .array(&format!("{at}.column"), o.get("column"))
            .iter()
            .enumerate()
        {
            let cat = format!("{at}.column[{i}]");
            if let Some((ce, col)) = self.column(&cat, c, &ctx) {
                s.columns.push(ce);
                schema.push(col);
            }
        }
        for (i, c) in self
            .array(&format!("{at}.select"), o.get("select"))
            .iter()
            .enumerate()
        {
            let child = self.select(&format!("{at}.select[{i}]"), c, &ctx, schema);
            s.select.push(child);
        }
        let branches = self.array(&format!("{at}.unionAll"), o.get("unionAll"));
        let mut first: Option<Vec<Column>> = None;
        for (i, b) in branches.iter().enumerate() {
            let bat = format!("{at}.unionAll[{i}]");
            let mut cols = Vec::new();
            let child = self.select(&bat, b, &ctx, &mut cols);
            s.union_all.push(child);
            match first.as_mut() {
                None => first = Some(cols),
                Some(f) => {
                    let names = |c: &[Column]| -> Vec<(String, Option<String>)> {
                        c.iter()
                            .map(|x| (x.name.clone(), x.fhir_type.clone()))
                            .collect()
                    };
                    if names(f) != names(&cols) {
                        self.err(
                            &codes::VIEW_MALFORMED,
                            &bat,
                            "unionAll branches must give the same columns (names and types, in order)",
                        );
                    } else {
                        for (a, b) in f.iter_mut().zip(cols) {
                            if !a.path.split(" | ").any(|p| p == b.path) {
                                a.path = format!("{} | {}", a.path, b.path);
                            }
                        }
                    }
                }
            }
        }
        if let Some(f) = first {
            schema.extend(f);
        }
        s.width = schema.len() - start;
        s
    }

    fn column(&mut self, at: &str, v: &Value, ctx: &[String]) -> Option<(ColumnExpr, Column)> {
        let Some(o) = v.as_object() else {
            self.err(&codes::VIEW_MALFORMED, at, "a column must be an object");
            return None;
        };
        let name = self.text(&format!("{at}.name"), o.get("name"));
        let name = match name {
            Some(n) if sql_name(&n) => n,
            Some(_) => {
                self.err(
                    &codes::VIEW_MALFORMED,
                    &format!("{at}.name"),
                    "a column name is a letter followed by letters, digits and _",
                );
                return None;
            }
            None => {
                self.err(&codes::VIEW_MALFORMED, at, "a column needs a name");
                return None;
            }
        };
        let expr = self.compile(&format!("{at}.path"), o.get("path"))?;
        let fhir_type = self.text(&format!("{at}.type"), o.get("type"));
        let declared = match &fhir_type {
            None => None,
            Some(t) => match Kind::of(t) {
                Some(k) => Some(k),
                None => {
                    self.err(
                        &codes::UNKNOWN_COLUMN_TYPE,
                        &format!("{at}.type"),
                        format!("column {name}: not a FHIR primitive type"),
                    );
                    return None;
                }
            },
        };
        let collection = match o.get("collection") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.err(
                    &codes::VIEW_MALFORMED,
                    &format!("{at}.collection"),
                    "collection must be true or false",
                );
                return None;
            }
        };
        let description = self.text(&format!("{at}.description"), o.get("description"));
        let mut system = None;
        for (i, t) in self
            .array(&format!("{at}.tag"), o.get("tag"))
            .iter()
            .enumerate()
        {
            if t.get("name").and_then(Value::as_str) == Some("system") {
                system = self.text(&format!("{at}.tag[{i}].value"), t.get("value"));
            }
        }
        let col = Column {
            name: name.clone(),
            path: expr.source().to_owned(),
            fhir_type,
            kind: declared.unwrap_or(Kind::Text),
            collection,
            description,
            system,
            context: ctx.to_vec(),
        };
        let ce = ColumnExpr {
            name,
            expr,
            declared,
            collection,
        };
        Some((ce, col))
    }

    fn constant(&mut self, at: &str, v: &Value) -> Option<(String, Item<'static>)> {
        let o = v.as_object()?;
        let name = self.text(&format!("{at}.name"), o.get("name"))?;
        let Some((key, val)) = o.iter().find(|(k, _)| k.starts_with("value")) else {
            self.err(
                &codes::VIEW_MALFORMED,
                at,
                format!("constant {name} has no value[x]"),
            );
            return None;
        };
        let item = match (key.as_str(), val) {
            ("valueBoolean", Value::Bool(b)) => Item::Bool(*b),
            (
                "valueInteger" | "valueInteger64" | "valuePositiveInt" | "valueUnsignedInt",
                Value::Number(n),
            ) if n.as_i64().is_some() => Item::Int(n.as_i64().unwrap_or(0)),
            ("valueDecimal", Value::Number(n)) => {
                Item::Dec(n.as_f64().unwrap_or(0.0), n.to_string())
            }
            ("valueDate" | "valueDateTime" | "valueInstant", Value::String(s)) => {
                Item::Date(s.clone())
            }
            ("valueTime", Value::String(s)) => Item::Date(format!("T{s}")),
            (_, Value::String(s)) => Item::Str(s.clone()),
            _ => {
                self.err(
                    &codes::VIEW_MALFORMED,
                    &format!("{at}.{key}"),
                    format!("constant {name}: {key} of the wrong JSON type"),
                );
                return None;
            }
        };
        Some((name, item))
    }
}

/// Reads a ViewDefinition from parsed JSON; `file` names it in diagnostics.
/// Returns the view, or every rule it breaks.
pub fn compile(file: &str, json: &Value) -> Result<View, Vec<Diagnostic>> {
    let mut r = Reader {
        file,
        diags: Vec::new(),
        constants: Vec::new(),
    };
    let empty = Map::new();
    let o = match json.as_object() {
        Some(o) => o,
        None => {
            r.err(
                &codes::VIEW_UNREADABLE,
                "",
                "a ViewDefinition is a JSON object",
            );
            &empty
        }
    };
    if let Some(t) = o.get("resourceType").and_then(Value::as_str)
        && t != "ViewDefinition"
    {
        r.err(
            &codes::VIEW_UNREADABLE,
            "resourceType",
            "resourceType is not ViewDefinition",
        );
    }
    let resource = r.text("resource", o.get("resource"));
    let resource = match resource {
        Some(t) if t.starts_with(|c: char| c.is_ascii_uppercase()) && sql_name(&t) => t,
        Some(_) => {
            r.err(
                &codes::VIEW_MALFORMED,
                "resource",
                "not a FHIR resource type",
            );
            String::new()
        }
        None => {
            r.err(
                &codes::VIEW_MALFORMED,
                "",
                "a ViewDefinition needs a resource",
            );
            String::new()
        }
    };
    let name = match r.text("name", o.get("name")) {
        Some(n) if sql_name(&n) => n,
        Some(_) => {
            r.err(
                &codes::VIEW_MALFORMED,
                "name",
                "a view name is a letter followed by letters, digits and _",
            );
            String::new()
        }
        // the conformance tests' views have no name: the resource type stands in
        None => resource.to_lowercase(),
    };
    let mut constants = Vec::new();
    for (i, c) in r.array("constant", o.get("constant")).iter().enumerate() {
        if let Some(k) = r.constant(&format!("constant[{i}]"), c) {
            r.constants.push(k.0.clone());
            constants.push(k);
        } else if !c.is_object() {
            r.err(
                &codes::VIEW_MALFORMED,
                &format!("constant[{i}]"),
                "a constant is an object",
            );
        }
    }
    let mut wheres = Vec::new();
    let mut filters = Vec::new();
    for (i, w) in r.array("where", o.get("where")).iter().enumerate() {
        if let Some(e) = r.compile(&format!("where[{i}].path"), w.get("path")) {
            filters.push(e.source().to_owned());
            wheres.push(e);
        }
    }
    let selects = r.array("select", o.get("select"));
    if selects.is_empty() && json.is_object() {
        r.err(
            &codes::VIEW_MALFORMED,
            "select",
            "a ViewDefinition needs a select",
        );
    }
    let mut columns = Vec::new();
    let mut root = Select::default();
    for (i, s) in selects.iter().enumerate() {
        let child = r.select(&format!("select[{i}]"), s, &[], &mut columns);
        root.select.push(child);
    }
    root.width = columns.len();
    let mut seen = std::collections::BTreeSet::new();
    for c in &columns {
        if !seen.insert(c.name.clone()) {
            r.err(
                &codes::VIEW_MALFORMED,
                "select",
                format!("column name {} is used twice", c.name),
            );
        }
    }
    let title = r.text("title", o.get("title"));
    let description = r.text("description", o.get("description"));
    if !r.diags.is_empty() {
        return Err(r.diags);
    }
    Ok(View {
        name,
        resource,
        title,
        description,
        file: file.to_owned(),
        columns,
        filters,
        constants,
        wheres,
        root,
    })
}

/// Reads a ViewDefinition from bytes (JSON); see [`compile`].
pub fn read(file: &str, bytes: &[u8]) -> Result<View, Vec<Diagnostic>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => compile(file, &v),
        Err(e) => Err(vec![
            Diagnostic::new(&codes::VIEW_UNREADABLE, format!("not JSON: {e}")).at(
                Location::default()
                    .file(file)
                    .line(u32::try_from(e.line()).unwrap_or(u32::MAX)),
            ),
        ]),
    }
}
