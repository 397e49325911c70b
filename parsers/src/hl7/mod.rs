//! HL7 v2.5 messages: delimiters, segments, fields, repetitions, components,
//! sub-components and escape sequences, with byte-precise locations.
//!
//! [`Hl7File::parse`] takes the raw bytes of a file (ISO-2022-JP, tolerating CP932
//! and UTF-8 leakage), decodes them with [`crate::text::iso2022jp`] and splits the
//! text; [`Hl7File::parse_str`] takes text that is already decoded. Either way the
//! result indexes every field, repetition, component and sub-component in flat
//! arrays (one pass, no per-value allocation) and keeps the diagnostics found.
//! The tokenizer is a byte loop over a delimiter class table (the hot path); the
//! small grammars inside values (NM, DT, TS) are nom parsers in [`values`].
//!
//! Tolerated, with a diagnostic where it matters: CR, LF or CR LF terminators,
//! a leading 0x0B and trailing 0x1C (MLLP framing, accepted silently at the ends),
//! blank lines, a BOM, several MSH in one input, segments before the first MSH,
//! unusable delimiters (defaults assumed), malformed escape sequences, a yen sign
//! (U+00A5 or the full-width U+FFE5) as the escape character in MSH-2. A line
//! inside a message that does not start with a segment id (a segment broken across
//! lines) is reported and not read: joining it would guess the field numbers.
//!
//! ```
//! use parsers::hl7::Hl7File;
//! let f = Hl7File::parse(b"MSH|^~\\&|A||||||ADT^A08\rPID|1||123^^^^PI||Yamada^Taro~\\F\\x\r\x1c");
//! let m = f.messages().next().unwrap();
//! assert_eq!(m.message_type().as_deref(), Some("ADT^A08"));
//! let pid = m.segment("PID").unwrap();
//! assert_eq!(pid.get(3, 1), "123");
//! assert_eq!(pid.field(5).unwrap().rep(2).unwrap().comp(1).unwrap().value(), "|x");
//! assert!(f.diagnostics.is_empty());
//! ```

pub mod codes;
mod escape;
pub mod values;
mod write;

pub use escape::{escape, unescape};
pub use write::{MessageTree, SegmentTree};

use crate::text::iso2022jp::{self, IssueKind, OffsetMap};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location, Phi};
use std::borrow::Cow;
use std::ops::Range;

/// The five HL7 delimiters of a message (ASCII bytes; the escape character is a
/// `char`, `'\0'` when absent, since a yen sign may stand in for the backslash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), `|`.
    pub field: u8,
    /// Component separator, `^`.
    pub component: u8,
    /// Repetition separator, `~`.
    pub repetition: u8,
    /// Escape character, `\`; `'\0'` when MSH-2 has none; a yen sign (U+00A5 or
    /// the full-width U+FFE5) when MSH-2 names one (see [`is_yen`]).
    pub escape: char,
    /// Sub-component separator, `&`.
    pub subcomponent: u8,
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: '\\',
            subcomponent: b'&',
        }
    }
}

/// True for the yen signs Japanese systems write where HL7 has the backslash:
/// U+00A5 (¥, UTF-8 files) and U+FFE5 (￥, JIS X 0208 0x216F in ISO-2022-JP files).
pub fn is_yen(c: char) -> bool {
    c == '\u{A5}' || c == '\u{FFE5}'
}

impl Delimiters {
    /// MSH-2 as written: component, repetition, escape, sub-component.
    pub fn encoding_characters(&self) -> String {
        [
            self.component as char,
            self.repetition as char,
            self.escape,
            self.subcomponent as char,
        ]
        .iter()
        .filter(|&&c| c != '\0')
        .collect()
    }

    /// The escape character's UTF-8 bytes (empty when there is none).
    fn escape_bytes(&self) -> EscBytes {
        let mut buf = [0u8; 4];
        let len = if self.escape == '\0' {
            0
        } else {
            self.escape.encode_utf8(&mut buf).len()
        };
        EscBytes { buf, len }
    }
}

/// The escape character as UTF-8 bytes (one byte, or two/three for a yen sign).
#[derive(Clone, Copy)]
struct EscBytes {
    buf: [u8; 4],
    len: usize,
}

impl EscBytes {
    fn get(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
    /// Lead byte of a multi-byte escape (0 for an ASCII one: never a lead byte).
    fn lead(&self) -> u8 {
        if self.len > 1 { self.buf[0] } else { 0 }
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    start: u32,
    end: u32,
    first: u32,
    count: u32,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Clone, Debug)]
struct SegData {
    start: u32,
    end: u32,
    fields: Range<u32>,
    line: u32,
}

#[derive(Clone, Debug)]
struct MsgData {
    segments: Range<u32>,
    delimiters: Delimiters,
}

/// A parsed file (or text): its messages, segments and the diagnostics found.
#[derive(Clone, Debug)]
pub struct Hl7File {
    text: String,
    map: OffsetMap,
    messages: Vec<MsgData>,
    segments: Vec<SegData>,
    fields: Vec<Node>,
    reps: Vec<Node>,
    comps: Vec<Node>,
    subs: Vec<Span>,
    /// Everything reported while decoding and parsing, in input order per stage.
    pub diagnostics: Diagnostics,
}

fn slice(text: &str, start: u32, end: u32) -> &str {
    text.get(start as usize..end as usize).unwrap_or_default()
}

/// Like [`slice`], with `end` moved back to a character boundary (for excerpts cut
/// at a byte count).
fn slice_floor(text: &str, start: u32, end: u32) -> &str {
    let mut e = (end as usize).min(text.len());
    while e > start as usize && !text.is_char_boundary(e) {
        e -= 1;
    }
    text.get(start as usize..e).unwrap_or_default()
}

const CLASS_NONE: u8 = 0;
const CLASS_FIELD: u8 = 1;
const CLASS_COMP: u8 = 2;
const CLASS_REP: u8 = 3;
const CLASS_SUB: u8 = 4;
const CLASS_ESC: u8 = 5;

impl Hl7File {
    /// Decodes ISO-2022-JP bytes (see [`crate::text::iso2022jp`]) and parses them.
    pub fn parse(raw: &[u8]) -> Hl7File {
        let decoded = iso2022jp::decode(raw);
        let mut file = Hl7File::from_text(decoded.text, decoded.map);
        // Tolerated departures (warnings and infos) are reported once per kind and
        // file: the first place, with the count. A file written in UTF-8 or CP932
        // would otherwise give one warning per non-ASCII run. Errors stay one per
        // place: each names the bytes it could not decode.
        let mut decode_diags: Vec<Diagnostic> = Vec::new();
        let mut firsts: Vec<(IssueKind, usize, usize)> = Vec::new();
        for issue in &decoded.issues {
            if issue.kind.is_tolerated() {
                if let Some(first) = firsts.iter_mut().find(|f| f.0 == issue.kind) {
                    first.2 += 1;
                    continue;
                }
                firsts.push((issue.kind, decode_diags.len(), 1));
            }
            decode_diags.push(file.decode_diagnostic(issue));
        }
        for (_, at, count) in firsts {
            if count > 1
                && let Some(d) = decode_diags.get_mut(at)
            {
                d.message = format!(
                    "{} (first of {count} places in this file; the others are not listed)",
                    d.message
                );
            }
        }
        // Decoding comes first in the input's story: report its findings first.
        let parse_diags = std::mem::take(&mut file.diagnostics);
        file.diagnostics.extend(decode_diags);
        file.diagnostics.extend(parse_diags);
        file
    }

    /// Parses text that is already decoded (UTF-8 input, benchmarks). Byte
    /// offsets in diagnostics are offsets in this text.
    pub fn parse_str(text: &str) -> Hl7File {
        Hl7File::from_text(text.to_owned(), OffsetMap::identity())
    }

    fn from_text(text: String, map: OffsetMap) -> Hl7File {
        let mut f = Hl7File {
            text: String::new(),
            map,
            messages: Vec::new(),
            segments: Vec::new(),
            fields: Vec::new(),
            reps: Vec::new(),
            comps: Vec::new(),
            subs: Vec::new(),
            diagnostics: Diagnostics::default(),
        };
        f.split(&text);
        f.text = text;
        f
    }

    /// The decoded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset in the raw input of a byte offset in the decoded text.
    pub fn raw_offset(&self, text_offset: usize) -> usize {
        self.map.raw(text_offset)
    }

    /// The messages, in input order.
    pub fn messages(&self) -> impl ExactSizeIterator<Item = Message<'_>> {
        (0..self.messages.len()).map(move |idx| Message { file: self, idx })
    }

    /// Number of segments in messages (segments outside any message excluded).
    pub fn segment_count(&self) -> usize {
        self.messages.iter().map(|m| m.segments.len()).sum()
    }

    fn location_at(&self, text_offset: u32, line: u32) -> Location {
        Location::default()
            .byte(self.map.raw(text_offset as usize) as u64)
            .line(line)
    }

    // ---- splitting -------------------------------------------------------------

    fn split(&mut self, text: &str) {
        let bytes = text.as_bytes();
        // Trim MLLP framing and trailing whitespace at the ends (accepted silently).
        let mut lo = 0usize;
        if text.starts_with('\u{FEFF}') {
            lo = 3;
        }
        while lo < bytes.len() && bytes[lo] == 0x0B {
            lo += 1;
        }
        let mut hi = bytes.len();
        while hi > lo && matches!(bytes[hi - 1], 0x1C | b'\r' | b'\n' | 0x0B) {
            hi -= 1;
        }
        let mut line_no: u32 = 1;
        // Lines before `lo` (none: framing holds no line breaks) are not counted.
        let mut pos = lo;
        let mut saw_lf = false;
        let mut blank = 0u32;
        let mut blank_at: Option<(u32, u32)> = None;
        let mut current: Option<MsgData> = None;
        let mut outside: Vec<(u32, u32)> = Vec::new();
        while pos < hi {
            // Find the end of the line.
            let end = memchr::memchr2(b'\r', b'\n', &bytes[pos..hi]).map_or(hi, |n| pos + n);
            let next = if end < hi {
                if bytes[end] == b'\r' && end + 1 < hi && bytes[end + 1] == b'\n' {
                    saw_lf = true;
                    end + 2
                } else {
                    if bytes[end] == b'\n' {
                        saw_lf = true;
                    }
                    end + 1
                }
            } else {
                hi
            };
            let line = (pos as u32, end as u32);
            let this_line = line_no;
            line_no += 1;
            pos = next;
            // Framing bytes inside the text: report and skip them.
            let (mut s, mut e) = (line.0 as usize, line.1 as usize);
            while s < e && matches!(bytes[s], 0x0B | 0x1C) {
                self.diagnostics.push(
                    Diagnostic::new(&codes::STRAY_FRAMING, "framing byte skipped")
                        .at(self.location_at(s as u32, this_line))
                        .excerpt(Excerpt::bytes(vec![bytes[s]])),
                );
                s += 1;
            }
            while e > s && matches!(bytes[e - 1], 0x0B | 0x1C) {
                self.diagnostics.push(
                    Diagnostic::new(&codes::STRAY_FRAMING, "framing byte skipped")
                        .at(self.location_at((e - 1) as u32, this_line))
                        .excerpt(Excerpt::bytes(vec![bytes[e - 1]])),
                );
                e -= 1;
            }
            if text.get(s..e).is_none_or(|l| l.trim().is_empty()) {
                blank += 1;
                blank_at.get_or_insert((s as u32, this_line));
                continue;
            }
            let (s, e) = (s as u32, e as u32);
            if bytes.get(s as usize..s as usize + 3) == Some(b"MSH") {
                if let Some(m) = current.take() {
                    self.messages.push(m);
                }
                let delimiters = self.msh_delimiters(text, s, e, this_line);
                current = Some(MsgData {
                    segments: self.segments.len() as u32..self.segments.len() as u32,
                    delimiters,
                });
            }
            if let Some(m) = current.as_ref()
                && bytes.get(s as usize..s as usize + 3) != Some(b"MSH")
                && !starts_with_segment_id(&bytes[s as usize..e as usize], m.delimiters.field)
            {
                self.not_a_segment(text, s, e, this_line);
                continue;
            }
            match current.as_mut() {
                Some(m) => {
                    let d = m.delimiters;
                    self.push_segment(text, s, e, this_line, &d);
                    m.segments.end = self.segments.len() as u32;
                }
                None => outside.push((s, this_line)),
            }
        }
        if let Some(m) = current.take() {
            self.messages.push(m);
        }
        if let Some((first, line)) = outside.first().copied() {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::OUTSIDE_MESSAGE,
                    format!(
                        "{} segment(s) before the first MSH are not part of any message",
                        outside.len()
                    ),
                )
                .at(self.location_at(first, line)),
            );
        }
        if saw_lf {
            self.diagnostics.push(Diagnostic::new(
                &codes::LF_TERMINATORS,
                "segments end with LF or CR LF; read as segment terminators",
            ));
        }
        if let Some((at, line)) = blank_at {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::BLANK_LINES,
                    format!("{blank} blank line(s) skipped"),
                )
                .at(self.location_at(at, line)),
            );
        }
        if self.messages.is_empty() && outside.is_empty() {
            self.diagnostics.push(Diagnostic::new(
                &codes::EMPTY,
                "the input holds no HL7 segment",
            ));
        }
    }

    /// Reports a line inside a message that does not start with a segment id: most
    /// often the rest of the segment before it, broken across lines. It is not
    /// joined to that segment (whether the break replaced a separator or was
    /// inserted cannot be told, so the field numbers would be a guess) and not read.
    fn not_a_segment(&mut self, text: &str, s: u32, e: u32, line: u32) {
        let after = self.segments.last().map(|seg| {
            let f = self.fields[seg.fields.start as usize];
            (slice(text, f.start, f.end).to_owned(), self.segments.len())
        });
        let message = match after {
            Some((id, n)) => format!(
                "line {line} does not start with a segment id; it follows {id} (segment {n}) \
                 and may be its rest, broken across lines: not joined, not read"
            ),
            None => format!("line {line} does not start with a segment id; not read"),
        };
        self.diagnostics.push(
            Diagnostic::new(&codes::NOT_A_SEGMENT, message)
                .at(self.location_at(s, line))
                .excerpt(
                    Excerpt::text(slice_floor(text, s, e.min(s + 24))).with_phi(Some(Phi::Other)),
                ),
        );
    }

    /// Reads MSH-1 and MSH-2.
    fn msh_delimiters(&mut self, text: &str, s: u32, e: u32, line: u32) -> Delimiters {
        let b = text.as_bytes();
        let seg = &b[s as usize..e as usize];
        let fs = seg.get(3).copied();
        let mut d = Delimiters::default();
        let ok_char = |c: u8| c.is_ascii_punctuation();
        let Some(fs) = fs.filter(|&c| ok_char(c)) else {
            self.diagnostics.push(
                Diagnostic::new(&codes::BAD_DELIMITERS, "MSH-1 (field separator) is missing").at(
                    self.location_at(s, line)
                        .segment("MSH", self.segments.len() as u32 + 1)
                        .field(FieldPath::new("MSH", 1)),
                ),
            );
            return d;
        };
        d.field = fs;
        let enc_len = seg[4..].iter().take_while(|&&c| c != fs).count() as u32;
        // MSH-2 ends at an ASCII byte (or the line end), so this is a char boundary.
        let enc_text = slice(text, s + 4, s + 4 + enc_len);
        let enc: Vec<char> = enc_text.chars().collect();
        // A yen sign is tolerated as the escape character (the third one) only.
        let yen_escape = enc.get(2).copied().filter(|&c| is_yen(c));
        let distinct = {
            let mut all = enc.clone();
            all.push(fs as char);
            all.sort_unstable();
            all.windows(2).all(|w| w[0] != w[1])
        };
        let usable = enc
            .iter()
            .enumerate()
            .all(|(i, &c)| c.is_ascii_punctuation() || (i == 2 && yen_escape.is_some()));
        if enc.len() < 2 || enc.len() > 4 || !usable || !distinct {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::BAD_DELIMITERS,
                    "MSH-2 (encoding characters) must be 2 to 4 distinct punctuation characters",
                )
                .at(self
                    .location_at(s + 4, line)
                    .segment("MSH", self.segments.len() as u32 + 1)
                    .field(FieldPath::new("MSH", 2)))
                .excerpt(Excerpt::text(enc_text)),
            );
            return Delimiters {
                field: fs,
                ..Delimiters::default()
            };
        }
        // Every char but a yen escape is ASCII punctuation (checked above).
        let ascii = |c: Option<&char>| c.map_or(0, |&c| u8::try_from(c).unwrap_or(0));
        d.component = ascii(enc.first());
        d.repetition = ascii(enc.get(1));
        d.escape = enc.get(2).copied().unwrap_or('\0');
        d.subcomponent = ascii(enc.get(3));
        if let Some(yen) = yen_escape {
            let what = if yen == '\u{A5}' {
                "U+00A5"
            } else {
                "full-width U+FFE5 (JIS X 0208 0x216F)"
            };
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::YEN_ESCAPE,
                    format!(
                        "MSH-2 names the yen sign ({what}) as the escape character; read as the escape character"
                    ),
                )
                .at(self
                    .location_at(s + 4, line)
                    .segment("MSH", self.segments.len() as u32 + 1)
                    .field(FieldPath::new("MSH", 2)))
                .excerpt(Excerpt::text(enc_text)),
            );
        }
        let as_default = Delimiters {
            escape: if yen_escape.is_some() { '\\' } else { d.escape },
            ..d
        };
        if as_default != Delimiters::default() {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::NONSTANDARD_DELIMITERS,
                    "message uses non-default delimiters",
                )
                .at(self
                    .location_at(s, line)
                    .segment("MSH", self.segments.len() as u32 + 1)
                    .field(FieldPath::new("MSH", 2))),
            );
        }
        d
    }

    fn push_segment(&mut self, text: &str, s: u32, e: u32, line: u32, d: &Delimiters) {
        let seg_no = self.segments.len() as u32 + 1;
        let b = text.as_bytes();
        let first_field = self.fields.len() as u32;
        let mut class = [CLASS_NONE; 128];
        class[usize::from(d.field & 0x7F)] = CLASS_FIELD;
        class[usize::from(d.component & 0x7F)] = CLASS_COMP;
        class[usize::from(d.repetition & 0x7F)] = CLASS_REP;
        if d.subcomponent != 0 {
            class[usize::from(d.subcomponent & 0x7F)] = CLASS_SUB;
        }
        if d.escape.is_ascii() && d.escape != '\0' {
            class[d.escape as usize & 0x7F] = CLASS_ESC;
        }
        // Segment id: up to the first field separator.
        let id_end = b[s as usize..e as usize]
            .iter()
            .position(|&c| c == d.field)
            .map_or(e, |p| s + p as u32);
        let id = slice(text, s, id_end);
        let is_msh = id == "MSH";
        if !(id.len() == 3
            && id
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::BAD_SEGMENT_ID,
                    "segment id must be three upper-case letters or digits",
                )
                .at(self.location_at(s, line).segment(id, seg_no))
                .excerpt(Excerpt::text(id).with_phi(Some(Phi::Other))),
            );
        }
        // Field 0: the segment id.
        self.push_leaf_field(s, id_end);
        let mut p = id_end;
        if is_msh && id_end < e {
            // MSH-1: the field separator itself; MSH-2: the encoding characters.
            self.push_leaf_field(id_end, id_end + 1);
            let enc_start = id_end + 1;
            let enc_end = b[enc_start as usize..e as usize]
                .iter()
                .position(|&c| c == d.field)
                .map_or(e, |q| enc_start + q as u32);
            self.push_leaf_field(enc_start, enc_end);
            p = enc_end;
        }
        // Remaining fields: each starts after a field separator at `p`.
        while p < e {
            p = self.push_field(text, &class, p + 1, e, line, id, seg_no, d);
        }
        self.segments.push(SegData {
            start: s,
            end: e,
            fields: first_field..self.fields.len() as u32,
            line,
        });
    }

    fn push_leaf_field(&mut self, start: u32, end: u32) {
        let sub = self.subs.len() as u32;
        self.subs.push(Span { start, end });
        let comp = self.comps.len() as u32;
        self.comps.push(Node {
            start,
            end,
            first: sub,
            count: 1,
        });
        let rep = self.reps.len() as u32;
        self.reps.push(Node {
            start,
            end,
            first: comp,
            count: 1,
        });
        self.fields.push(Node {
            start,
            end,
            first: rep,
            count: 1,
        });
    }

    /// Splits one field starting at `start`; returns the position of the field
    /// separator that ends it (or `end`).
    #[allow(clippy::too_many_arguments)]
    fn push_field(
        &mut self,
        text: &str,
        class: &[u8; 128],
        start: u32,
        end: u32,
        line: u32,
        seg_id: &str,
        seg_no: u32,
        d: &Delimiters,
    ) -> u32 {
        let b = text.as_bytes();
        let esc = d.escape_bytes();
        let esc_lead = esc.lead();
        let field_no = self.fields.len() as u32 - self.segments_fields_start();
        let (mut r_start, mut c_start, mut s_start) = (start, start, start);
        let field_idx = self.fields.len();
        self.fields.push(Node {
            start,
            end: start,
            first: self.reps.len() as u32,
            count: 0,
        });
        let mut rep_first_comp = self.comps.len() as u32;
        let mut comp_first_sub = self.subs.len() as u32;
        let (mut rep_no, mut comp_no, mut sub_no) = (1u32, 1u32, 1u32);
        let mut i = start;
        let mut stop = end;
        while i < end {
            let c = b[i as usize];
            let k = if c < 0x80 {
                class[usize::from(c)]
            } else if c == esc_lead && b[i as usize..].starts_with(esc.get()) {
                // A yen sign named as the escape character in MSH-2.
                CLASS_ESC
            } else {
                CLASS_NONE
            };
            match k {
                CLASS_NONE => {
                    if c < 0x20 && c != b'\t' {
                        self.diagnostics.push(
                            Diagnostic::new(&codes::CONTROL_CHARACTER, "control character")
                                .at(self
                                    .location_at(i, line)
                                    .segment(seg_id, seg_no)
                                    .field(field_path(seg_id, field_no, rep_no, comp_no, sub_no)))
                                .excerpt(Excerpt::bytes(vec![c])),
                        );
                    }
                    i += 1;
                }
                CLASS_ESC => {
                    i = self.check_escape(text, i, end, line, seg_id, seg_no, d, || {
                        field_path(seg_id, field_no, rep_no, comp_no, sub_no)
                    });
                }
                CLASS_SUB => {
                    self.subs.push(Span {
                        start: s_start,
                        end: i,
                    });
                    s_start = i + 1;
                    sub_no += 1;
                    i += 1;
                }
                CLASS_COMP | CLASS_REP => {
                    self.subs.push(Span {
                        start: s_start,
                        end: i,
                    });
                    self.comps.push(Node {
                        start: c_start,
                        end: i,
                        first: comp_first_sub,
                        count: self.subs.len() as u32 - comp_first_sub,
                    });
                    comp_first_sub = self.subs.len() as u32;
                    if k == CLASS_REP {
                        self.reps.push(Node {
                            start: r_start,
                            end: i,
                            first: rep_first_comp,
                            count: self.comps.len() as u32 - rep_first_comp,
                        });
                        rep_first_comp = self.comps.len() as u32;
                        r_start = i + 1;
                        rep_no += 1;
                        comp_no = 1;
                    } else {
                        comp_no += 1;
                    }
                    c_start = i + 1;
                    s_start = i + 1;
                    sub_no = 1;
                    i += 1;
                }
                _ => {
                    // CLASS_FIELD: the field ends here.
                    stop = i;
                    break;
                }
            }
        }
        self.subs.push(Span {
            start: s_start,
            end: stop,
        });
        self.comps.push(Node {
            start: c_start,
            end: stop,
            first: comp_first_sub,
            count: self.subs.len() as u32 - comp_first_sub,
        });
        self.reps.push(Node {
            start: r_start,
            end: stop,
            first: rep_first_comp,
            count: self.comps.len() as u32 - rep_first_comp,
        });
        let f = &mut self.fields[field_idx];
        f.end = stop;
        f.count = self.reps.len() as u32 - f.first;
        stop
    }

    fn segments_fields_start(&self) -> u32 {
        // Fields of the segment being built start after the last finished segment.
        self.segments.last().map_or(0, |s| s.fields.end)
    }

    /// Validates the escape sequence starting at `i`; returns the position after it.
    #[allow(clippy::too_many_arguments)]
    fn check_escape(
        &mut self,
        text: &str,
        i: u32,
        end: u32,
        line: u32,
        seg_id: &str,
        seg_no: u32,
        d: &Delimiters,
        path: impl Fn() -> FieldPath,
    ) -> u32 {
        let b = text.as_bytes();
        let esc = d.escape_bytes();
        let esc_len = esc.len.max(1) as u32;
        let mut j = i + esc_len;
        while j < end {
            let c = b[j as usize];
            if b[j as usize..].starts_with(esc.get()) {
                break;
            }
            if c == d.field || c == d.component || c == d.repetition || c == d.subcomponent {
                j = end;
                break;
            }
            j += 1;
        }
        let phi = phi_of(seg_id, path().field);
        if j >= end {
            self.diagnostics.push(
                Diagnostic::new(
                    &codes::UNTERMINATED_ESCAPE,
                    "escape character without a closing escape character",
                )
                .at(self
                    .location_at(i, line)
                    .segment(seg_id, seg_no)
                    .field(path()))
                .excerpt(Excerpt::text(slice_floor(text, i, end.min(i + 16))).with_phi(phi)),
            );
            return i + esc_len;
        }
        let body = slice(text, i + esc_len, j);
        if escape::classify(body, d) == escape::Escape::Unknown {
            self.diagnostics.push(
                Diagnostic::new(&codes::UNKNOWN_ESCAPE, "escape sequence kept as written")
                    .at(self
                        .location_at(i, line)
                        .segment(seg_id, seg_no)
                        .field(path()))
                    .excerpt(Excerpt::text(slice(text, i, j + esc_len))),
            );
        }
        j + esc_len
    }

    // ---- decode issues → diagnostics ----------------------------------------------

    fn decode_diagnostic(&self, issue: &iso2022jp::Issue) -> Diagnostic {
        let (code, message) = match issue.kind {
            IssueKind::Undecodable => (&codes::UNDECODABLE, "bytes cannot be decoded"),
            IssueKind::EscapeLeftOpen => (
                &codes::ESCAPE_LEFT_OPEN,
                "JIS X 0208 run not closed before end of line",
            ),
            IssueKind::TruncatedCharacter => (
                &codes::TRUNCATED_CHARACTER,
                "JIS X 0208 character cut in half",
            ),
            IssueKind::UnsupportedEscape => {
                (&codes::UNSUPPORTED_ESCAPE, "unsupported escape sequence")
            }
            IssueKind::Cp932Leak => (&codes::CP932_LEAK, "Shift_JIS (CP932) bytes decoded"),
            IssueKind::Utf8Leak => (&codes::UTF8_LEAK, "UTF-8 bytes decoded"),
            IssueKind::HalfWidthKatakana => {
                (&codes::HALFWIDTH_KATAKANA, "half-width katakana escape")
            }
            IssueKind::JisRoman => (&codes::JIS_ROMAN, "JIS-Roman escape read as ASCII"),
            IssueKind::VendorExtension => (
                &codes::VENDOR_EXTENSION,
                "vendor-extension character outside JIS X 0208",
            ),
            IssueKind::Bom => (&codes::BOM, "byte-order mark"),
        };
        let mut loc = Location::default().byte(issue.raw_offset as u64);
        let mut phi = None;
        if let Some((seg_idx, path)) = self.path_at(issue.text_offset as u32) {
            let seg = &self.segments[seg_idx];
            let id = slice(&self.text, self.fields[seg.fields.start as usize].start, {
                self.fields[seg.fields.start as usize].end
            });
            phi = phi_of(id, path.field);
            loc = loc
                .line(seg.line)
                .segment(id, seg_idx as u32 + 1)
                .field(path);
        }
        Diagnostic::new(code, message)
            .at(loc)
            .excerpt(Excerpt::bytes(issue.bytes.clone()).with_phi(phi))
    }

    /// The segment (index) and field path containing a text offset.
    fn path_at(&self, off: u32) -> Option<(usize, FieldPath)> {
        let si = self.segments.partition_point(|s| s.start <= off);
        let seg_idx = si.checked_sub(1)?;
        let seg = &self.segments[seg_idx];
        if off > seg.end {
            return None;
        }
        let fields = &self.fields[seg.fields.start as usize..seg.fields.end as usize];
        let id = slice(&self.text, fields[0].start, fields[0].end);
        let fi = fields.partition_point(|f| f.start <= off).checked_sub(1)?;
        let f = fields[fi];
        let mut path = FieldPath::new(id, fi as u32);
        let reps = &self.reps[f.first as usize..(f.first + f.count) as usize];
        let ri = reps.partition_point(|r| r.start <= off).saturating_sub(1);
        if let Some(r) = reps.get(ri) {
            if f.count > 1 {
                path = path.rep(ri as u32 + 1);
            }
            let comps = &self.comps[r.first as usize..(r.first + r.count) as usize];
            let ci = comps.partition_point(|c| c.start <= off).saturating_sub(1);
            if r.count > 1 {
                path = path.comp(ci as u32 + 1);
            }
            if let Some(c) = comps.get(ci).filter(|c| c.count > 1) {
                let subs = &self.subs[c.first as usize..(c.first + c.count) as usize];
                let sj = subs.partition_point(|s| s.start <= off).saturating_sub(1);
                path = path.comp(ci as u32 + 1).sub(sj as u32 + 1);
            }
        }
        Some((seg_idx, path))
    }
}

/// True when a line starts with a segment id: `[A-Z][A-Z0-9]{2}` followed by the
/// field separator or the end of the line.
fn starts_with_segment_id(line: &[u8], field: u8) -> bool {
    match line {
        [a, b, c, rest @ ..] => {
            a.is_ascii_uppercase()
                && [b, c]
                    .iter()
                    .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
                && rest.first().is_none_or(|&f| f == field)
        }
        _ => false,
    }
}

fn field_path(seg: &str, field: u32, rep: u32, comp: u32, sub: u32) -> FieldPath {
    let mut p = FieldPath::new(seg, field).rep(rep).comp(comp);
    if sub > 1 {
        p = p.sub(sub);
    }
    p
}

/// Which kind of protected health information a field holds, if any.
///
/// Covers the segments SS-MIX2 uses for people: PID (patient), NK1 (next of kin),
/// IN1/ZI1 (insurance), GT1 (guarantor).
pub fn phi_of(segment: &str, field: u32) -> Option<Phi> {
    match (segment, field) {
        ("PID", 5 | 6 | 9) | ("NK1", 2 | 30) | ("IN1" | "ZI1", 16) | ("GT1", 3) => Some(Phi::Name),
        ("PID", 7) | ("IN1" | "ZI1", 18) | ("GT1", 8) => Some(Phi::BirthDate),
        ("PID", 11 | 12) | ("NK1", 4) | ("IN1" | "ZI1", 19) | ("GT1", 5) => Some(Phi::Address),
        ("PID", 13 | 14) | ("NK1", 5 | 6) | ("GT1", 6 | 7) => Some(Phi::Phone),
        ("PID", 19 | 20) | ("IN1" | "ZI1", 3 | 10 | 11 | 36 | 49) => Some(Phi::InsuranceNumber),
        _ => None,
    }
}

/// A message: the segments from one MSH to the next.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    file: &'a Hl7File,
    idx: usize,
}

impl<'a> Message<'a> {
    fn data(&self) -> &'a MsgData {
        &self.file.messages[self.idx]
    }

    /// 0-based position of the message in its file.
    pub fn index(&self) -> usize {
        self.idx
    }

    /// The message's delimiters.
    pub fn delimiters(&self) -> Delimiters {
        self.data().delimiters
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = Segment<'a>> + 'a {
        let file = self.file;
        let d = self.data().delimiters;
        let r = self.data().segments.clone();
        (r.start as usize..r.end as usize).map(move |idx| Segment {
            file,
            idx,
            delimiters: d,
        })
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<Segment<'a>> {
        self.segments().find(|s| s.id() == id)
    }

    /// `MSH-9.1^MSH-9.2`, e.g. `ADT^A08`, when MSH-9 has both parts.
    pub fn message_type(&self) -> Option<String> {
        let msh = self.segment("MSH")?;
        let code = msh.get(9, 1);
        let event = msh.get(9, 2);
        (!code.is_empty() && !event.is_empty()).then(|| format!("{code}^{event}"))
    }

    /// The message as an owned tree of unescaped values (for writing or comparing).
    pub fn to_tree(&self) -> MessageTree {
        MessageTree {
            delimiters: self.delimiters(),
            segments: self.segments().map(|s| s.to_tree()).collect(),
        }
    }
}

/// A segment.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    file: &'a Hl7File,
    idx: usize,
    delimiters: Delimiters,
}

impl<'a> Segment<'a> {
    fn data(&self) -> &'a SegData {
        &self.file.segments[self.idx]
    }

    /// Segment id, e.g. `PID`.
    pub fn id(&self) -> &'a str {
        let f = self.file.fields[self.data().fields.start as usize];
        slice(&self.file.text, f.start, f.end)
    }

    /// 1-based position of the segment in its file.
    pub fn number(&self) -> u32 {
        self.idx as u32 + 1
    }

    /// 1-based line of the segment in its file.
    pub fn line(&self) -> u32 {
        self.data().line
    }

    /// The segment's text as written (escapes not resolved).
    pub fn raw(&self) -> &'a str {
        slice(&self.file.text, self.data().start, self.data().end)
    }

    /// Highest field number present (`PID|1|2` → 2).
    pub fn field_count(&self) -> u32 {
        self.data().fields.len() as u32 - 1
    }

    /// Field `n` (1-based as in HL7; `MSH-1` is the field separator), or `None`
    /// when the segment has fewer fields.
    pub fn field(&self, n: u32) -> Option<Field<'a>> {
        let r = &self.data().fields;
        let idx = r.start + n;
        (n > 0 && idx < r.end).then_some(Field {
            file: self.file,
            idx: idx as usize,
            delimiters: self.delimiters,
        })
    }

    /// Raw text of component `comp` (0 = whole) of the first repetition of field
    /// `field`; empty when absent.
    pub fn get(&self, field: u32, comp: u32) -> &'a str {
        let Some(f) = self.field(field) else {
            return "";
        };
        if comp == 0 {
            return f.rep(1).map_or("", |r| r.raw());
        }
        f.rep(1).and_then(|r| r.comp(comp)).map_or("", |c| c.raw())
    }

    /// Like [`Segment::get`], with escape sequences resolved.
    pub fn value(&self, field: u32, comp: u32) -> Cow<'a, str> {
        unescape(self.get(field, comp), &self.delimiters)
    }

    /// Location of the segment (byte offset, line, segment index).
    pub fn location(&self) -> Location {
        self.file
            .location_at(self.data().start, self.line())
            .segment(self.id(), self.number())
    }

    /// Location of a field of the segment (the start of the field's text).
    pub fn field_location(&self, field: u32, comp: u32) -> Location {
        let mut path = FieldPath::new(self.id(), field);
        if comp > 0 {
            path = path.comp(comp);
        }
        let start = match self.field(field) {
            Some(f) if comp > 0 => f
                .rep(1)
                .and_then(|r| r.comp(comp))
                .map_or(f.node().start, |c| c.node().start),
            Some(f) => f.node().start,
            None => self.data().end,
        };
        self.file
            .location_at(start, self.line())
            .segment(self.id(), self.number())
            .field(path)
    }

    /// Location of one repetition of a field (`PID-5[2]`): the start of its text.
    pub fn rep_location(&self, field: u32, rep: u32) -> Location {
        let path = FieldPath::new(self.id(), field).rep(rep);
        let start = match self.field(field) {
            Some(f) => f.rep(rep).map_or(f.node().start, |r| r.node().start),
            None => self.data().end,
        };
        self.file
            .location_at(start, self.line())
            .segment(self.id(), self.number())
            .field(path)
    }

    fn to_tree(self) -> SegmentTree {
        let mut fields = Vec::new();
        for n in 1..=self.field_count() {
            let Some(f) = self.field(n) else { continue };
            if self.id() == "MSH" && n <= 2 {
                fields.push(vec![vec![vec![f.raw().to_owned()]]]);
                continue;
            }
            fields.push(
                f.reps()
                    .map(|r| {
                        r.comps()
                            .map(|c| c.subs().map(|s| s.value().into_owned()).collect())
                            .collect()
                    })
                    .collect(),
            );
        }
        SegmentTree {
            id: self.id().to_owned(),
            fields,
        }
    }
}

macro_rules! element {
    ($(#[$doc:meta])* $name:ident, $store:ident, $child:ident, $child_store:ident, $childfn:ident, $childrenfn:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a> {
            file: &'a Hl7File,
            idx: usize,
            delimiters: Delimiters,
        }

        impl<'a> $name<'a> {
            fn node(&self) -> Node {
                self.file.$store[self.idx]
            }

            /// The text as written (escapes not resolved).
            pub fn raw(&self) -> &'a str {
                let n = self.node();
                slice(&self.file.text, n.start, n.end)
            }

            /// The text with escape sequences resolved.
            pub fn value(&self) -> Cow<'a, str> {
                unescape(self.raw(), &self.delimiters)
            }

            /// True when the text is empty.
            pub fn is_empty(&self) -> bool {
                let n = self.node();
                n.start == n.end
            }

            /// The parts, in order.
            pub fn $childrenfn(&self) -> impl ExactSizeIterator<Item = $child<'a>> + 'a {
                let n = self.node();
                let (file, d) = (self.file, self.delimiters);
                (n.first as usize..(n.first + n.count) as usize)
                    .map(move |idx| $child { file, idx, delimiters: d })
            }

            /// Part `k` (1-based), or `None` when absent.
            pub fn $childfn(&self, k: u32) -> Option<$child<'a>> {
                let n = self.node();
                (k >= 1 && k <= n.count).then(|| $child {
                    file: self.file,
                    idx: (n.first + k - 1) as usize,
                    delimiters: self.delimiters,
                })
            }
        }
    };
}

element!(
    /// A field: one or more repetitions.
    Field, fields, Rep, reps, rep, reps
);
element!(
    /// One repetition of a field: one or more components.
    Rep, reps, Comp, comps, comp, comps
);

/// A component: one or more sub-components.
#[derive(Clone, Copy)]
pub struct Comp<'a> {
    file: &'a Hl7File,
    idx: usize,
    delimiters: Delimiters,
}

impl<'a> Comp<'a> {
    fn node(&self) -> Node {
        self.file.comps[self.idx]
    }

    /// The text as written (escapes not resolved).
    pub fn raw(&self) -> &'a str {
        let n = self.node();
        slice(&self.file.text, n.start, n.end)
    }

    /// The text with escape sequences resolved.
    pub fn value(&self) -> Cow<'a, str> {
        unescape(self.raw(), &self.delimiters)
    }

    /// The sub-components, in order.
    pub fn subs(&self) -> impl ExactSizeIterator<Item = Sub<'a>> + 'a {
        let n = self.node();
        let (file, d) = (self.file, self.delimiters);
        (n.first as usize..(n.first + n.count) as usize).map(move |idx| Sub {
            file,
            idx,
            delimiters: d,
        })
    }

    /// Sub-component `k` (1-based), or `None` when absent.
    pub fn sub(&self, k: u32) -> Option<Sub<'a>> {
        self.subs().nth((k as usize).checked_sub(1)?)
    }
}

/// A sub-component.
#[derive(Clone, Copy)]
pub struct Sub<'a> {
    file: &'a Hl7File,
    idx: usize,
    delimiters: Delimiters,
}

impl<'a> Sub<'a> {
    /// The text as written (escapes not resolved).
    pub fn raw(&self) -> &'a str {
        let s = self.file.subs[self.idx];
        slice(&self.file.text, s.start, s.end)
    }

    /// The text with escape sequences resolved.
    pub fn value(&self) -> Cow<'a, str> {
        unescape(self.raw(), &self.delimiters)
    }
}

#[cfg(test)]
mod tests;
