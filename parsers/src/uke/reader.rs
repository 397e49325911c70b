//! Physical format: lines (CR LF, LF tolerated), the 0x1A end mark, comma fields,
//! Shift_JIS (CP932) decoding with vendor-extension flags, or UTF-8 with a warning.

use super::codes;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location};
use encoding_rs::SHIFT_JIS;

/// The character encoding of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Shift_JIS, decoded as CP932.
    ShiftJis,
    /// UTF-8 (an export; not the standard form).
    Utf8,
}

/// One record: its position, the decoded text of the whole line and field spans.
///
/// A [`Reader`] refills the same `Record`, so its buffers are reused record after record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number.
    pub line: u32,
    /// Byte offset of the line in the file.
    pub byte: u64,
    /// Receipt the record belongs to (1-based), `None` outside receipts (IR, GO).
    pub receipt: Option<u32>,
    text: String,
    /// Per field: (start, end) in `text`, byte offset in the raw line.
    spans: Vec<(u32, u32, u32)>,
}

impl Record {
    /// Number of fields (column 1, the record id, included).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the record has no field (never after a successful read).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The record id (column 1).
    pub fn id(&self) -> &str {
        self.field(1).unwrap_or("")
    }

    /// Decoded text of a column (1-based).
    pub fn field(&self, column: usize) -> Option<&str> {
        let &(s, e, _) = self.spans.get(column.checked_sub(1)?)?;
        self.text.get(s as usize..e as usize)
    }

    /// Byte offset of a column in the file.
    pub fn field_byte(&self, column: usize) -> Option<u64> {
        let &(_, _, b) = self.spans.get(column.checked_sub(1)?)?;
        Some(self.byte + u64::from(b))
    }

    /// Iterates over the decoded fields.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.spans
            .iter()
            .map(|&(s, e, _)| self.text.get(s as usize..e as usize).unwrap_or(""))
    }

    /// The whole decoded line (fields joined by commas).
    pub fn text(&self) -> &str {
        &self.text
    }

    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.receipt = None;
    }
}

/// Reads records one by one from the bytes of a file.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    encoding: Encoding,
    done: bool,
}

/// Length in Shift_JIS bytes of a decoded character.
#[inline]
pub fn sjis_len(c: char) -> usize {
    if c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c) {
        1
    } else {
        2
    }
}

/// True for a CP932 double-byte code outside JIS X 0208 (NEC row 13, NEC-selected and IBM
/// extensions, user-defined area, unassigned rows).
fn vendor_extension(lead: u8, trail: u8) -> bool {
    matches!(lead, 0x85..=0x87 | 0xED..=0xFC)
        || (lead == 0x88 && trail < 0x9F)
        || (lead == 0xEA && trail > 0xA4)
}

impl<'a> Reader<'a> {
    /// A reader over a whole file; reports file-level findings (encoding, end mark) into `diags`.
    pub fn new(bytes: &'a [u8], diags: &mut Diagnostics) -> Reader<'a> {
        let mut bytes = bytes;
        let mut encoding = Encoding::ShiftJis;
        if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
            bytes = rest;
            encoding = Encoding::Utf8;
        } else if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
            encoding = Encoding::Utf8;
        }
        if encoding == Encoding::Utf8 {
            diags.push(
                Diagnostic::new(
                    &codes::UTF8_FILE,
                    "file is UTF-8; UKE files are Shift_JIS; read as UTF-8",
                )
                .at(Location::default().byte(0)),
            );
        }
        if bytes.is_empty() {
            diags.push(Diagnostic::new(&codes::EMPTY_FILE, "file is empty"));
        }
        // The end mark: 0x1A after the final CR LF; anything after it is reported.
        let body_end = match bytes.iter().position(|&b| b == 0x1A) {
            Some(p) => {
                if p + 1 < bytes.len() {
                    diags.push(
                        Diagnostic::new(
                            &codes::AFTER_EOF_MARK,
                            format!(
                                "{} bytes after the 0x1A end mark are ignored",
                                bytes.len() - p - 1
                            ),
                        )
                        .at(Location::default().byte(p as u64 + 1))
                        .excerpt(Excerpt::bytes(
                            bytes[p + 1..bytes.len().min(p + 17)].to_vec(),
                        )),
                    );
                }
                p
            }
            None => {
                if !bytes.is_empty() {
                    diags.push(
                        Diagnostic::new(
                            &codes::NO_EOF_MARK,
                            "file does not end with the 0x1A end mark (truncated?)",
                        )
                        .at(Location::default().byte(bytes.len() as u64)),
                    );
                }
                bytes.len()
            }
        };
        Reader {
            bytes: &bytes[..body_end],
            pos: 0,
            line: 0,
            encoding,
            done: false,
        }
    }

    /// The encoding detected.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Bytes of the file body (before the end mark).
    pub fn body_len(&self) -> usize {
        self.bytes.len()
    }

    /// Reads the next non-empty record into `rec`; false at the end. Empty lines are reported and skipped.
    pub fn read(&mut self, rec: &mut Record, diags: &mut Diagnostics) -> bool {
        loop {
            if self.done || self.pos >= self.bytes.len() {
                self.done = true;
                return false;
            }
            let start = self.pos;
            let rest = &self.bytes[start..];
            self.line += 1;
            let (content_end, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if i > 0 && rest[i - 1] == b'\r' {
                        (i - 1, i + 1)
                    } else {
                        diags.push(
                            Diagnostic::new(&codes::LF_ONLY, "record ends with LF, not CR LF")
                                .at(Location::default().line(self.line).byte((start + i) as u64)),
                        );
                        (i, i + 1)
                    }
                }
                None => {
                    let mut end = rest.len();
                    if end > 0 && rest[end - 1] == b'\r' {
                        end -= 1;
                    } else {
                        diags.push(
                            Diagnostic::new(
                                &codes::NO_FINAL_NEWLINE,
                                "last record has no CR LF (truncated file?)",
                            )
                            .at(Location::default()
                                .line(self.line)
                                .byte((start + rest.len()) as u64)),
                        );
                    }
                    (end, rest.len())
                }
            };
            self.pos = start + next;
            let raw = &rest[..content_end];
            if raw.is_empty() {
                diags.push(
                    Diagnostic::new(&codes::EMPTY_LINE, "empty line skipped")
                        .at(Location::default().line(self.line).byte(start as u64)),
                );
                continue;
            }
            rec.clear();
            rec.line = self.line;
            rec.byte = start as u64;
            self.decode(raw, rec, diags);
            return true;
        }
    }

    fn decode(&self, raw: &[u8], rec: &mut Record, diags: &mut Diagnostics) {
        // Fast path: a printable-ASCII line is the same text in both encodings; one copy,
        // fields found by their commas (text offsets equal byte offsets).
        if raw.iter().all(|&b| (0x20..0x7F).contains(&b))
            && let Ok(text) = std::str::from_utf8(raw)
        {
            rec.text.push_str(text);
            let mut start = 0u32;
            for (i, &b) in raw.iter().enumerate() {
                if b == b',' {
                    rec.spans.push((start, i as u32, start));
                    start = i as u32 + 1;
                }
            }
            rec.spans.push((start, raw.len() as u32, start));
            return;
        }
        let mut fstart = 0usize;
        let n = raw.len();
        for i in 0..=n {
            if i < n && raw[i] != b',' {
                continue;
            }
            let field = &raw[fstart..i];
            if !rec.spans.is_empty() {
                rec.text.push(',');
            }
            let s = rec.text.len();
            self.decode_field(field, rec, fstart, diags);
            rec.spans
                .push((s as u32, rec.text.len() as u32, fstart as u32));
            fstart = i + 1;
        }
    }

    fn decode_field(&self, field: &[u8], rec: &mut Record, offset: usize, diags: &mut Diagnostics) {
        let column = rec.spans.len() + 1;
        let loc = |rec: &Record, at: usize| {
            let id = rec_id(rec, column, field);
            Location::default()
                .line(rec.line)
                .byte(rec.byte + at as u64)
                .record(id.clone(), rec.line)
                .field(diagnostics::FieldPath::new(id, column as u32))
        };
        if field.iter().any(|&b| b < 0x20 || b == 0x7F)
            && let Some(p) = field.iter().position(|&b| b < 0x20 || b == 0x7F)
        {
            diags.push(
                Diagnostic::new(
                    &codes::CONTROL_CHAR,
                    format!("control character in column {column}"),
                )
                .at(loc(rec, offset + p))
                .excerpt(Excerpt::bytes(vec![field[p]])),
            );
        }
        if field.is_ascii() {
            // ASCII is the same in both encodings; always valid UTF-8.
            rec.text.push_str(std::str::from_utf8(field).unwrap_or(""));
            return;
        }
        match self.encoding {
            Encoding::Utf8 => {
                let mut rest = field;
                let mut at = offset;
                loop {
                    match std::str::from_utf8(rest) {
                        Ok(s) => {
                            rec.text.push_str(&crate::text::fold_jis_variants(s));
                            break;
                        }
                        Err(e) => {
                            let (good, bad) = rest.split_at(e.valid_up_to());
                            let good = std::str::from_utf8(good).unwrap_or("");
                            rec.text.push_str(&crate::text::fold_jis_variants(good));
                            let n = e.error_len().unwrap_or(bad.len()).max(1).min(bad.len());
                            diags.push(
                                Diagnostic::new(
                                    &codes::UNDECODABLE,
                                    format!("invalid UTF-8 in column {column}; replaced by U+FFFD"),
                                )
                                .at(loc(rec, at + e.valid_up_to()))
                                .excerpt(Excerpt::bytes(bad[..n].to_vec())),
                            );
                            rec.text.push('\u{FFFD}');
                            at += e.valid_up_to() + n;
                            rest = &bad[n..];
                        }
                    }
                }
            }
            Encoding::ShiftJis => {
                // Walk the bytes: flag vendor extensions and undecodable sequences, decode the rest.
                let mut i = 0;
                let mut good_from = 0;
                while i < field.len() {
                    let b = field[i];
                    let double = matches!(b, 0x81..=0x9F | 0xE0..=0xFC);
                    if double {
                        let t = field.get(i + 1).copied();
                        let valid_trail = t.is_some_and(|t| matches!(t, 0x40..=0x7E | 0x80..=0xFC));
                        if !valid_trail {
                            self.push_decoded(
                                &field[good_from..i],
                                rec,
                                diags,
                                column,
                                offset + good_from,
                            );
                            let bad = field[i..(i + 2).min(field.len())].to_vec();
                            diags.push(
                                Diagnostic::new(
                                    &codes::UNDECODABLE,
                                    format!(
                                        "invalid Shift_JIS in column {column}; replaced by U+FFFD"
                                    ),
                                )
                                .at(loc(rec, offset + i))
                                .excerpt(Excerpt::bytes(bad)),
                            );
                            rec.text.push('\u{FFFD}');
                            i += 1;
                            good_from = i;
                            continue;
                        }
                        let t = t.unwrap_or(0);
                        if vendor_extension(b, t) {
                            diags.push(
                                Diagnostic::new(&codes::VENDOR_EXTENSION, format!("CP932 vendor-extension or user-defined character in column {column}"))
                                    .at(loc(rec, offset + i))
                                    .excerpt(Excerpt::bytes(vec![b, t])),
                            );
                            // Decode it on its own: unmapped codes become U+FFFD next to an error.
                            self.push_decoded(
                                &field[good_from..i],
                                rec,
                                diags,
                                column,
                                offset + good_from,
                            );
                            let mut one = String::new();
                            let had_errors = decode_sjis_into(&field[i..i + 2], &mut one);
                            let cow = crate::text::fold_jis_variants(&one);
                            if had_errors {
                                diags.push(
                                    Diagnostic::new(&codes::UNDECODABLE, format!("unmapped Shift_JIS code in column {column}; replaced by U+FFFD"))
                                        .at(loc(rec, offset + i))
                                        .excerpt(Excerpt::bytes(vec![b, t])),
                                );
                            }
                            rec.text.push_str(&cow);
                            i += 2;
                            good_from = i;
                            continue;
                        }
                        i += 2;
                    } else if b >= 0x80 && !(0xA1..=0xDF).contains(&b) {
                        self.push_decoded(
                            &field[good_from..i],
                            rec,
                            diags,
                            column,
                            offset + good_from,
                        );
                        diags.push(
                            Diagnostic::new(
                                &codes::UNDECODABLE,
                                format!(
                                    "invalid Shift_JIS byte in column {column}; replaced by U+FFFD"
                                ),
                            )
                            .at(loc(rec, offset + i))
                            .excerpt(Excerpt::bytes(vec![b])),
                        );
                        rec.text.push('\u{FFFD}');
                        i += 1;
                        good_from = i;
                    } else {
                        i += 1;
                    }
                }
                self.push_decoded(&field[good_from..], rec, diags, column, offset + good_from);
            }
        }
    }

    fn push_decoded(
        &self,
        bytes: &[u8],
        rec: &mut Record,
        diags: &mut Diagnostics,
        column: usize,
        at: usize,
    ) {
        if bytes.is_empty() {
            return;
        }
        // Decode straight into the record's buffer (no BOM sniffing: a field may start with EF BB).
        let start = rec.text.len();
        let had_errors = decode_sjis_into(bytes, &mut rec.text);
        if had_errors {
            diags.push(
                Diagnostic::new(
                    &codes::UNDECODABLE,
                    format!("unassigned Shift_JIS code in column {column}; replaced by U+FFFD"),
                )
                .at(Location::default()
                    .line(rec.line)
                    .byte(rec.byte + at as u64)
                    .record(rec.id().to_owned(), rec.line))
                .excerpt(Excerpt::bytes(bytes.to_vec())),
            );
        }
        if let Some(tail) = rec.text.get(start..)
            && let std::borrow::Cow::Owned(folded) = crate::text::fold_jis_variants(tail)
        {
            rec.text.truncate(start);
            rec.text.push_str(&folded);
        }
    }
}

/// Decodes Shift_JIS (CP932) bytes onto the end of `out`, without BOM handling; unmapped codes
/// become U+FFFD. Returns true when any did.
fn decode_sjis_into(bytes: &[u8], out: &mut String) -> bool {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut rest = bytes;
    let mut any_errors = false;
    loop {
        let need = decoder
            .max_utf8_buffer_length(rest.len())
            .unwrap_or(rest.len() * 3 + 16);
        out.reserve(need);
        let (result, read, had_errors) = decoder.decode_to_string(rest, out, true);
        any_errors |= had_errors;
        rest = rest.get(read..).unwrap_or(&[]);
        if result == encoding_rs::CoderResult::InputEmpty {
            return any_errors;
        }
    }
}

/// The record id for a location while column 1 is being decoded.
fn rec_id(rec: &Record, column: usize, field: &[u8]) -> String {
    if column == 1 {
        String::from_utf8_lossy(field).into_owned()
    } else {
        rec.id().to_owned()
    }
}
