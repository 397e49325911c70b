//! A small RFC 4180 reader for decoded text: any one-character delimiter, optional
//! quoting (`"` doubled inside quotes), CRLF or LF record ends. Records keep their
//! 1-based line and byte offset (in the decoded text) for diagnostics.

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// 1-based line where the record starts.
    pub line: u32,
    /// Byte offset of the record in the text.
    pub offset: usize,
    /// Fields.
    pub fields: Vec<String>,
}

/// Why a record is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line of the record.
    pub line: u32,
    /// Byte offset of the record.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits text into records. Blank lines are skipped. A quote that is never
/// closed makes the rest of the text one malformed record.
pub fn records(text: &str, delimiter: char, quote: Option<char>) -> (Vec<Record>, Vec<Malformed>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut line: u32 = 1;
    while chars.peek().is_some() {
        let start_line = line;
        let offset = chars.peek().map(|(i, _)| *i).unwrap_or(0);
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut in_quotes = false;
        let mut was_quoted = false;
        let mut ended = false;
        while let Some((_, c)) = chars.next() {
            if in_quotes {
                if Some(c) == quote {
                    if chars.peek().map(|(_, n)| *n) == quote {
                        field.push(c);
                        chars.next();
                    } else {
                        in_quotes = false;
                    }
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                continue;
            }
            if Some(c) == quote && field.is_empty() && !was_quoted {
                in_quotes = true;
                was_quoted = true;
            } else if c == delimiter {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            } else if c == '\r' && chars.peek().map(|(_, n)| *n) == Some('\n') {
                // CR of CRLF
            } else if c == '\n' {
                line += 1;
                ended = true;
                break;
            } else {
                field.push(c);
            }
        }
        if in_quotes {
            bad.push(Malformed {
                line: start_line,
                offset,
                message: "quoted field is never closed".into(),
            });
            break;
        }
        let _ = ended;
        fields.push(field);
        if fields.len() == 1 && fields[0].is_empty() && !was_quoted {
            continue; // blank line
        }
        out.push(Record {
            line: start_line,
            offset,
            fields,
        });
    }
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_and_crlf() {
        let (r, b) = records("a,\"b,c\",\"d\"\"e\"\r\n\r\nx,y,\n", ',', Some('"'));
        assert!(b.is_empty());
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].fields, ["a", "b,c", "d\"e"]);
        assert_eq!((r[1].line, r[1].offset), (3, 18));
        assert_eq!(r[1].fields, ["x", "y", ""]);
    }

    #[test]
    fn unclosed_quote_is_reported() {
        let (r, b) = records("a\n\"b,c\n", ',', Some('"'));
        assert_eq!(r.len(), 1);
        assert_eq!(b[0].line, 2);
    }

    #[test]
    fn tabs_without_quotes() {
        let (r, _) = records("a\t\"b\tc\n", '\t', None);
        assert_eq!(r[0].fields, ["a", "\"b", "c"]);
    }
}
