//! HL7 escape sequences: `\F\ \S\ \T\ \R\ \E\ \Xhh…\` (and the ones kept as text).

use super::Delimiters;
use std::borrow::Cow;

/// What an escape sequence body (the text between two escape characters) means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    /// Stands for a character (`\F\` → the field separator …).
    Char(char),
    /// `\Xhh…\` with the decoded text (ASCII bytes only).
    Hex(String),
    /// Formatting (`\H\`, `\N\`, `\.br\` …): kept as text, no diagnostic.
    Formatting,
    /// Not interpreted (`\Zxx\`, `\Cxxyy\`, `\Mxxyyzz\`, unknown, non-ASCII hex).
    Unknown,
}

pub(crate) fn classify(body: &str, d: &Delimiters) -> Escape {
    match body {
        "F" => Escape::Char(d.field as char),
        "S" => Escape::Char(d.component as char),
        "T" => Escape::Char(d.subcomponent as char),
        "R" => Escape::Char(d.repetition as char),
        "E" => Escape::Char(d.escape),
        "H" | "N" => Escape::Formatting,
        _ if body.starts_with('.') => Escape::Formatting,
        _ => match body.strip_prefix('X') {
            Some(hex) if !hex.is_empty() && hex.len() % 2 == 0 => {
                let mut out = String::new();
                let bytes = hex.as_bytes();
                for pair in bytes.chunks_exact(2) {
                    let h = std::str::from_utf8(pair)
                        .ok()
                        .and_then(|p| u8::from_str_radix(p, 16).ok());
                    match h {
                        Some(b) if b.is_ascii() => out.push(b as char),
                        _ => return Escape::Unknown,
                    }
                }
                Escape::Hex(out)
            }
            _ => Escape::Unknown,
        },
    }
}

/// Replaces escape sequences by what they stand for. Sequences that are not
/// interpreted (formatting, unknown, unterminated) are kept as written.
pub fn unescape<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let esc = d.escape;
    if esc == '\0' || !raw.contains(esc) {
        return Cow::Borrowed(raw);
    }
    let n = esc.len_utf8();
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find(esc) {
        out.push_str(rest.get(..pos).unwrap_or_default());
        let after = rest.get(pos + n..).unwrap_or_default();
        match after.find(esc) {
            Some(end) => {
                let body = after.get(..end).unwrap_or_default();
                match classify(body, d) {
                    Escape::Char(c) => out.push(c),
                    Escape::Hex(s) => out.push_str(&s),
                    Escape::Formatting | Escape::Unknown => {
                        out.push(esc);
                        out.push_str(body);
                        out.push(esc);
                    }
                }
                rest = after.get(end + n..).unwrap_or_default();
            }
            None => {
                // Unterminated: keep the rest as written.
                out.push(esc);
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Escapes a value so that it can be written between delimiters.
pub fn escape<'a>(value: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let special = |c: char| {
        c.is_ascii_control() && c != '\t'
            || c == d.escape
            || c.is_ascii()
                && [d.field, d.component, d.repetition, d.subcomponent].contains(&(c as u8))
    };
    if !value.chars().any(special) {
        return Cow::Borrowed(value);
    }
    let e = d.escape;
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        let code = match c as u32 {
            _ if c == d.escape => Some('E'),
            x if x == u32::from(d.field) => Some('F'),
            x if x == u32::from(d.component) => Some('S'),
            x if x == u32::from(d.repetition) => Some('R'),
            x if x == u32::from(d.subcomponent) => Some('T'),
            _ => None,
        };
        match code {
            Some(k) => {
                out.push(e);
                out.push(k);
                out.push(e);
            }
            None if c.is_ascii_control() && c != '\t' => {
                // Line breaks and framing bytes travel as hex escapes.
                out.push(e);
                out.push_str(&format!("X{:02X}", c as u32));
                out.push(e);
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_escapes() {
        let d = Delimiters::default();
        assert_eq!(unescape(r"a\F\b\S\c\T\d\R\e\E\f", &d), "a|b^c&d~e\\f");
        assert_eq!(unescape(r"\X414243\", &d), "ABC");
        assert_eq!(unescape(r"x\.br\y", &d), r"x\.br\y");
        assert_eq!(unescape(r"x\Zfoo\y", &d), r"x\Zfoo\y");
        assert_eq!(unescape(r"open\F", &d), r"open\F");
        assert!(matches!(unescape("plain", &d), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_inverts_unescape() {
        let d = Delimiters::default();
        for v in ["a|b^c&d~e\\f", "患者|太郎", "", "\\\\"] {
            assert_eq!(unescape(&escape(v, &d), &d), v);
        }
    }
}
