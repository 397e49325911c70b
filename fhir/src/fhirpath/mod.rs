//! A FHIRPath (N1) evaluator over `serde_json::Value` resources, for the
//! invariants of the loaded profiles.
//!
//! FHIR semantics: every value is a collection; empty propagates; choice elements
//! are reached by their base name (`value` finds `valueQuantity`, typed
//! `Quantity`, so `value.ofType(Quantity)` works); primitives keep their `_name`
//! companion, so `birthDate.extension` and `hasValue()` behave as in FHIR.
//!
//! An expression that does not parse, or calls a function the evaluator does not
//! implement, compiles to a [`Expression`] whose [`Expression::not_evaluable`]
//! says why; evaluating it returns an error. It never passes silently.
//!
//! ```
//! use fhir::fhirpath::{Expression, Verdict, Env};
//! let obs: serde_json::Value = serde_json::from_str(
//!     r#"{"resourceType":"Observation","valueQuantity":{"value":3,"unit":"mg"}}"#).unwrap();
//! let e = Expression::compile("value.ofType(Quantity).value > 2");
//! assert_eq!(e.check(&obs, None, Env::default()), Verdict::Pass);
//! let bad = Expression::compile("value.frobnicate()");
//! assert!(bad.not_evaluable().is_some());
//! ```

mod eval;
mod parser;
mod types;
mod value;

pub(crate) use eval::underscored;
pub use eval::{Collection, Env, EvalError, FUNCTIONS, Resolver, Terminology};
pub use parser::{BinOp, Expr, ParseError, parse};
pub use types::ElementTypes;
pub(crate) use value::FastGet;
pub use value::{DateTime, Item, Node, PRIMITIVES, parse_datetime};

use std::collections::BTreeSet;

/// A compiled expression (or the reason it cannot be evaluated).
#[derive(Clone, Debug)]
pub struct Expression {
    source: String,
    ast: Result<Expr, String>,
    regexes: eval::Regexes,
}

/// The outcome of an invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// True, or empty (an invariant on absent data holds).
    Pass,
    /// False (or a non-true item).
    Fail,
    /// The expression could not be evaluated: why.
    NotEvaluable(String),
}

/// Functions called by `e` that the evaluator does not implement, in name order.
pub fn unsupported_functions(e: &Expr) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(e, &mut |x| {
        if let Expr::Call(_, name, _) = x
            && !FUNCTIONS.contains(&name.as_str())
        {
            out.insert(name.clone());
        }
    });
    out
}

/// Variables (`%name`) that `e` reads, in name order (built-in ones included).
pub fn variables(e: &Expr) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(e, &mut |x| {
        if let Expr::Var(v) = x {
            out.insert(v.clone());
        }
    });
    out
}

/// Variables the evaluator defines itself (`%resource`, `%ucum` …); callers add
/// others through [`Expression::evaluate_with`].
pub const BUILTIN_VARIABLES: &[&str] = &[
    "resource",
    "rootResource",
    "context",
    "ucum",
    "sct",
    "loinc",
];

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Member(Some(b), _) | Expr::Neg(_, b) | Expr::TypeOp(_, b, _) => walk(b, f),
        Expr::Call(b, _, args) => {
            if let Some(b) = b {
                walk(b, f);
            }
            for a in args {
                walk(a, f);
            }
        }
        Expr::Indexer(a, b) | Expr::Bin(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        _ => {}
    }
}

impl Expression {
    /// Parses and checks `source`; never fails (see [`Expression::not_evaluable`]).
    pub fn compile(source: &str) -> Expression {
        let mut regexes = eval::Regexes::new();
        let ast = match parse(source) {
            Err(e) => Err(format!("does not parse: {e}")),
            Ok(ast) => {
                let unknown = unsupported_functions(&ast);
                let mut bad_regex = None;
                walk(&ast, &mut |x| {
                    if let Expr::Call(_, name, args) = x
                        && (name == "matches" || name == "replaceMatches")
                        && let Some(Expr::Str(p)) = args.first()
                    {
                        match regex::Regex::new(p) {
                            Ok(r) => {
                                regexes.insert(p.clone(), r);
                            }
                            Err(e) => bad_regex = Some(format!("bad regular expression: {e}")),
                        }
                    }
                });
                if !unknown.is_empty() {
                    let list: Vec<_> = unknown.into_iter().map(|f| format!("{f}()")).collect();
                    Err(format!("unsupported function {}", list.join(", ")))
                } else if let Some(b) = bad_regex {
                    Err(b)
                } else {
                    Ok(ast)
                }
            }
        };
        Expression {
            source: source.to_owned(),
            ast,
            regexes,
        }
    }

    /// The parsed expression, when it compiled.
    pub fn ast(&self) -> Option<&Expr> {
        self.ast.as_ref().ok()
    }

    /// The expression text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Why the expression cannot be evaluated, if it cannot.
    pub fn not_evaluable(&self) -> Option<&str> {
        self.ast.as_ref().err().map(String::as_str)
    }

    /// Evaluates with `context` as the focus (`%context`, `$this`); `ty` is its
    /// FHIR type when the caller knows it (needed for `is`/`ofType` on it).
    pub fn evaluate<'a>(
        &self,
        context: &'a serde_json::Value,
        ty: Option<&'a str>,
        env: Env<'a>,
    ) -> Result<Collection<'a>, EvalError> {
        self.evaluate_node(
            Node {
                value: context,
                ext: None,
                ty: ty.or_else(|| context.fget("resourceType").and_then(|v| v.as_str())),
            },
            env,
        )
    }

    /// Like [`Expression::evaluate`], from a node (a primitive with its `_name` part).
    pub fn evaluate_node<'a>(
        &self,
        node: Node<'a>,
        env: Env<'a>,
    ) -> Result<Collection<'a>, EvalError> {
        self.evaluate_with(Item::Node(node), env, &[])
    }

    /// Evaluates with `item` as the focus and caller-defined variables (`%name`,
    /// e.g. SQL on FHIR constants and `%rowIndex`) besides the built-in ones.
    pub fn evaluate_with<'a>(
        &self,
        item: Item<'a>,
        env: Env<'a>,
        vars: &[(&str, Item<'a>)],
    ) -> Result<Collection<'a>, EvalError> {
        let (input, focus) = eval::root_focus(item.clone());
        self.run(item, &input, &focus, env, vars)
    }

    /// Like [`Expression::evaluate_with`] on an empty input collection (no
    /// `$this`; `%context` is `context`): what a SQL on FHIR column sees in the
    /// null row of an empty `forEachOrNull`, where paths give nothing and
    /// variables such as `%rowIndex` still have their value.
    pub fn evaluate_on_nothing<'a>(
        &self,
        context: Item<'a>,
        env: Env<'a>,
        vars: &[(&str, Item<'a>)],
    ) -> Result<Collection<'a>, EvalError> {
        let (input, focus) = eval::empty_focus();
        self.run(context, &input, &focus, env, vars)
    }

    /// Evaluates on `input` with `focus` as `$this` and `context` as `%context`.
    fn run<'a>(
        &self,
        context: Item<'a>,
        input: &Collection<'a>,
        focus: &eval::Focus<'a>,
        env: Env<'a>,
        vars: &[(&str, Item<'a>)],
    ) -> Result<Collection<'a>, EvalError> {
        let ast = self.ast.as_ref().map_err(|e| EvalError(e.clone()))?;
        let ctx = eval::Ctx {
            env,
            context,
            regexes: &self.regexes,
            vars,
        };
        ctx.eval(ast, input, focus)
    }

    /// Evaluates as an invariant: passes when the result is empty or all `true`.
    pub fn check<'a>(
        &self,
        context: &'a serde_json::Value,
        ty: Option<&'a str>,
        env: Env<'a>,
    ) -> Verdict {
        verdict(self.evaluate(context, ty, env))
    }

    /// [`Expression::check`] from a node.
    pub fn check_node<'a>(&self, node: Node<'a>, env: Env<'a>) -> Verdict {
        verdict(self.evaluate_node(node, env))
    }
}

fn verdict(r: Result<Collection<'_>, EvalError>) -> Verdict {
    match r {
        Err(EvalError(e)) => Verdict::NotEvaluable(e),
        Ok(c) => {
            if c.iter().all(|i| i.as_bool() == Some(true)) {
                Verdict::Pass
            } else {
                Verdict::Fail
            }
        }
    }
}

#[cfg(test)]
mod tests;
