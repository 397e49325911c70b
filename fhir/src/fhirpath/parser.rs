//! Tokenizer and precedence-climbing parser for FHIRPath (N1, the version R4 uses).
//!
//! Hand-written rather than built on nom: the grammar is a small operator table,
//! and error positions (byte offsets into the expression) come for free.

use std::fmt;

/// A parse error: what was wrong and the byte offset in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub message: String,
    /// Byte offset in the expression.
    pub at: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.at)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A `backtick`-delimited identifier (never a keyword).
    Quoted(String),
    Str(String),
    Num(String),
    /// `@2020-01-01`, `@2020-01-01T10:00`, `@T10:00`.
    DateLit(String),
    Var(String),
    Special(&'static str),
    Sym(&'static str),
}

fn err<T>(message: impl Into<String>, at: usize) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        at,
    })
}

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            match src.get(i + 2..).unwrap_or("").find("*/") {
                Some(e) => i = i + 2 + e + 2,
                None => return err("unterminated comment", i),
            }
            continue;
        }
        if c == b'\'' || c == b'`' {
            let (s, next) = read_quoted(src, i, c)?;
            i = next;
            out.push((
                if c == b'`' {
                    Tok::Quoted(s)
                } else {
                    Tok::Str(s)
                },
                start,
            ));
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push((Tok::Num(src.get(start..i).unwrap_or("").to_owned()), start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((
                Tok::Ident(src.get(start..i).unwrap_or("").to_owned()),
                start,
            ));
            continue;
        }
        if c == b'@' {
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || matches!(b[i], b'-' | b':' | b'.' | b'+' | b'Z'))
            {
                i += 1;
            }
            out.push((
                Tok::DateLit(src.get(start + 1..i).unwrap_or("").to_owned()),
                start,
            ));
            continue;
        }
        if c == b'%' {
            i += 1;
            if i < b.len() && (b[i] == b'`' || b[i] == b'\'') {
                let (s, next) = read_quoted(src, i, b[i])?;
                i = next;
                out.push((Tok::Var(s), start));
            } else {
                let s0 = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    i += 1;
                }
                if s0 == i {
                    return err("empty variable name", start);
                }
                out.push((Tok::Var(src.get(s0..i).unwrap_or("").to_owned()), start));
            }
            continue;
        }
        if c == b'$' {
            i += 1;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let t = match src.get(start..i).unwrap_or("") {
                "$this" => "$this",
                "$index" => "$index",
                "$total" => "$total",
                other => return err(format!("unknown special variable {other}"), start),
            };
            out.push((Tok::Special(t), start));
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let sym2 = ["<=", ">=", "!=", "!~"].into_iter().find(|s| *s == two);
        if let Some(s) = sym2 {
            out.push((Tok::Sym(s), start));
            i += 2;
            continue;
        }
        let sym = match c {
            b'.' => ".",
            b'[' => "[",
            b']' => "]",
            b'(' => "(",
            b')' => ")",
            b'{' => "{",
            b'}' => "}",
            b',' => ",",
            b'+' => "+",
            b'-' => "-",
            b'*' => "*",
            b'/' => "/",
            b'&' => "&",
            b'|' => "|",
            b'=' => "=",
            b'~' => "~",
            b'<' => "<",
            b'>' => ">",
            _ => {
                let ch = src.get(i..).and_then(|x| x.chars().next()).unwrap_or('?');
                return err(format!("unexpected character {ch:?}"), i);
            }
        };
        out.push((Tok::Sym(sym), start));
        i += 1;
    }
    Ok(out)
}

fn read_quoted(src: &str, start: usize, q: u8) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = src.get(start + 1..).unwrap_or("").char_indices();
    while let Some((off, ch)) = chars.next() {
        let pos = start + 1 + off;
        if ch as u32 == q as u32 {
            return Ok((out, pos + 1));
        }
        if ch == '\\' {
            let Some((_, e)) = chars.next() else {
                return err("unterminated escape", pos);
            };
            match e {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(c) => out.push(c),
                        None => return err("bad \\u escape", pos),
                    }
                }
                // \' \" \` \\ \/ and, leniently, any other escaped character: the
                // character itself (regex escapes such as \\s arrive as `\s`).
                other => {
                    if !matches!(other, '\'' | '"' | '`' | '\\' | '/') {
                        out.push('\\');
                    }
                    out.push(other);
                }
            }
            continue;
        }
        out.push(ch);
    }
    err("unterminated string", start)
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `div`
    IntDiv,
    /// `mod`
    Mod,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `&`
    Concat,
    /// `|`
    Union,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=`
    Eq,
    /// `~`
    Equiv,
    /// `!=`
    Ne,
    /// `!~`
    NotEquiv,
    /// `in`
    In,
    /// `contains`
    Contains,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `implies`
    Implies,
}

/// A parsed FHIRPath expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// `{}`
    Empty,
    /// `true` / `false`
    Bool(bool),
    /// `'text'`
    Str(String),
    /// Integer or decimal literal, as written.
    Num(String),
    /// `@…` date, date-time or time literal (without the `@`).
    DateLit(String),
    /// `4 'mg'` or `4 days`.
    Quantity(String, String),
    /// `$this`
    This,
    /// `$index`
    Index,
    /// `$total`
    Total,
    /// `%name`
    Var(String),
    /// A member name applied to the input (`None`: the focus).
    Member(Option<Box<Expr>>, String),
    /// A function call on the input (`None`: the focus).
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    /// `x[i]`
    Indexer(Box<Expr>, Box<Expr>),
    /// Unary `-` (`true`) or `+` (`false`).
    Neg(bool, Box<Expr>),
    /// Binary operator.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `x is T` (`true`) or `x as T` (`false`).
    TypeOp(bool, Box<Expr>, String),
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    len: usize,
}

const CALENDAR_UNITS: &[&str] = &[
    "year",
    "years",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "second",
    "seconds",
    "millisecond",
    "milliseconds",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |t| t.1)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            err(format!("expected '{s}'"), self.at())
        }
    }

    /// The binary operator at the cursor and its precedence (higher binds tighter).
    fn peek_op(&self) -> Option<(BinOp, u8)> {
        let op = match self.peek()? {
            Tok::Sym(s) => match *s {
                "*" => (BinOp::Mul, 9),
                "/" => (BinOp::Div, 9),
                "+" => (BinOp::Add, 8),
                "-" => (BinOp::Sub, 8),
                "&" => (BinOp::Concat, 8),
                "|" => (BinOp::Union, 6),
                "<" => (BinOp::Lt, 5),
                "<=" => (BinOp::Le, 5),
                ">" => (BinOp::Gt, 5),
                ">=" => (BinOp::Ge, 5),
                "=" => (BinOp::Eq, 4),
                "~" => (BinOp::Equiv, 4),
                "!=" => (BinOp::Ne, 4),
                "!~" => (BinOp::NotEquiv, 4),
                _ => return None,
            },
            Tok::Ident(s) => match s.as_str() {
                "div" => (BinOp::IntDiv, 9),
                "mod" => (BinOp::Mod, 9),
                "in" => (BinOp::In, 3),
                "contains" => (BinOp::Contains, 3),
                "and" => (BinOp::And, 2),
                "or" => (BinOp::Or, 1),
                "xor" => (BinOp::Xor, 1),
                "implies" => (BinOp::Implies, 0),
                _ => return None,
            },
            _ => return None,
        };
        Some(op)
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            // `is` / `as` (precedence 7)
            if let Some(Tok::Ident(k)) = self.peek()
                && (k == "is" || k == "as")
                && min_prec <= 7
            {
                let is = k == "is";
                self.pos += 1;
                let t = self.type_spec()?;
                lhs = Expr::TypeOp(is, Box::new(lhs), t);
                continue;
            }
            let Some((op, prec)) = self.peek_op() else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(prec + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn type_spec(&mut self) -> Result<String, ParseError> {
        let mut name = self.ident()?;
        while self.eat_sym(".") {
            name = self.ident()?;
        }
        Ok(name)
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => err("expected an identifier", self.at()),
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(true, Box::new(self.unary()?)));
        }
        if self.eat_sym("+") {
            return Ok(Expr::Neg(false, Box::new(self.unary()?)));
        }
        let mut e = self.term()?;
        loop {
            if self.eat_sym(".") {
                let at = self.at();
                let name = self.ident()?;
                if self.eat_sym("(") {
                    let args = self.args()?;
                    e = Expr::Call(Some(Box::new(e)), name, args);
                } else {
                    let _ = at;
                    e = Expr::Member(Some(Box::new(e)), name);
                }
            } else if self.eat_sym("[") {
                let i = self.expr(0)?;
                self.expect_sym("]")?;
                e = Expr::Indexer(Box::new(e), Box::new(i));
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn args(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        if self.eat_sym(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            if self.eat_sym(")") {
                return Ok(args);
            }
            self.expect_sym(",")?;
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        let Some(t) = self.peek().cloned() else {
            return err("unexpected end of expression", at);
        };
        self.pos += 1;
        Ok(match t {
            Tok::Sym("(") => {
                let e = self.expr(0)?;
                self.expect_sym(")")?;
                e
            }
            Tok::Sym("{") => {
                self.expect_sym("}")?;
                Expr::Empty
            }
            Tok::Str(s) => Expr::Str(s),
            Tok::Num(n) => {
                // quantity literal: number followed by a unit string or calendar word
                match self.peek().cloned() {
                    Some(Tok::Str(u)) => {
                        self.pos += 1;
                        Expr::Quantity(n, u)
                    }
                    Some(Tok::Ident(u)) if CALENDAR_UNITS.contains(&u.as_str()) => {
                        self.pos += 1;
                        Expr::Quantity(n, u)
                    }
                    _ => Expr::Num(n),
                }
            }
            Tok::DateLit(d) => Expr::DateLit(d),
            Tok::Var(v) => Expr::Var(v),
            Tok::Special("$this") => Expr::This,
            Tok::Special("$index") => Expr::Index,
            Tok::Special(_) => Expr::Total,
            Tok::Ident(s) if s == "true" => Expr::Bool(true),
            Tok::Ident(s) if s == "false" => Expr::Bool(false),
            Tok::Ident(s) | Tok::Quoted(s) => {
                if self.eat_sym("(") {
                    let args = self.args()?;
                    Expr::Call(None, s, args)
                } else {
                    Expr::Member(None, s)
                }
            }
            Tok::Sym(s) => return err(format!("unexpected '{s}'"), at),
        })
    }
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        len: src.len(),
    };
    let e = p.expr(0)?;
    if p.pos < p.toks.len() {
        return err("unexpected text after the expression", p.at());
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let e = parse("a or b and c = 1 + 2 * 3").unwrap();
        let s = format!("{e:?}");
        assert!(s.starts_with("Bin(Or"), "{s}");
        let e = parse("a implies b or c").unwrap();
        assert!(format!("{e:?}").starts_with("Bin(Implies"));
        let e = parse("x is Quantity and y").unwrap();
        assert!(format!("{e:?}").starts_with("Bin(And, TypeOp(true"));
    }

    #[test]
    fn literals_and_errors() {
        assert!(matches!(parse("'a\\'b'").unwrap(), Expr::Str(s) if s == "a'b"));
        assert!(matches!(parse("4 'mg'").unwrap(), Expr::Quantity(..)));
        assert!(matches!(
            parse("@2020-01-01T10:00:00Z").unwrap(),
            Expr::DateLit(_)
        ));
        assert!(matches!(parse("text.`div`").unwrap(), Expr::Member(_, d) if d == "div"));
        assert_eq!(parse("a.").unwrap_err().at, 2);
        assert!(parse("a b").is_err());
        assert!(parse("'open").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a # b").is_err());
    }
}
