//! ISO-2022-JP decoding that remembers where every character came from.
//!
//! SS-MIX2 files are ISO-2022-JP: ASCII plus JIS X 0208 runs between `ESC $ B` and
//! `ESC ( B`. The bytes of a JIS character may equal HL7 delimiters (ウ = `25 26`
//! contains `&`, 京 = `35 7E` contains `~`), so kakehashi decodes a file to text
//! *before* splitting it; a delimiter then only exists where the file was in ASCII
//! mode. [`decode`] keeps an [`OffsetMap`] from decoded text back to raw bytes, so
//! diagnostics still point at byte offsets in the file.
//!
//! Tolerated deviations, each reported (see [`IssueKind`]):
//! - an escape left open at a line end (the state resets to ASCII there);
//! - CP932 (Shift_JIS) or UTF-8 bytes leaking into the file, decoded as such;
//! - JIS X 0201 katakana (`ESC ( I`) and JIS-Roman (`ESC ( J`);
//! - vendor-extension characters (NEC row 13, IBM extensions) that JIS X 0208 lacks;
//! - a UTF-8 byte-order mark.
//!
//! Bytes that cannot be decoded at all are reported with their offset and written to
//! the text as U+FFFD *only* together with an error-severity issue naming the bytes.

use super::fold_jis_variant;

/// What went wrong (or was tolerated) while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueKind {
    /// Bytes that are not valid in the current mode and could not be decoded.
    Undecodable,
    /// A JIS X 0208 run was still open at a line end (state reset to ASCII).
    EscapeLeftOpen,
    /// A JIS X 0208 run ended in the middle of a two-byte character.
    TruncatedCharacter,
    /// An escape sequence kakehashi does not support (e.g. JIS X 0212).
    UnsupportedEscape,
    /// Shift_JIS (CP932) bytes in ISO-2022-JP text, decoded as CP932.
    Cp932Leak,
    /// UTF-8 bytes in ISO-2022-JP text, decoded as UTF-8.
    Utf8Leak,
    /// Half-width katakana via `ESC ( I` (SS-MIX2 requires full-width).
    HalfWidthKatakana,
    /// JIS-Roman via `ESC ( J`, decoded as ASCII.
    JisRoman,
    /// A character outside JIS X 0208 (NEC row 13 / IBM extension), decoded.
    VendorExtension,
    /// A UTF-8 byte-order mark at the start.
    Bom,
}

impl IssueKind {
    /// True for the departures that are decoded anyway (warnings and infos); false
    /// for bytes that could not be decoded (errors).
    pub fn is_tolerated(self) -> bool {
        !matches!(
            self,
            IssueKind::Undecodable | IssueKind::TruncatedCharacter | IssueKind::UnsupportedEscape
        )
    }
}

/// One decoding issue: what, where in the raw bytes, where in the decoded text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// What happened.
    pub kind: IssueKind,
    /// Byte offset of the first affected raw byte.
    pub raw_offset: usize,
    /// The affected raw bytes.
    pub bytes: Vec<u8>,
    /// Byte offset in the decoded text where the affected text starts.
    pub text_offset: usize,
}

/// Maps byte offsets in decoded text back to byte offsets in the raw input.
///
/// Stored as checkpoints `(text offset, raw offset)`: between two checkpoints the
/// text is ASCII copied one-to-one; a multi-byte character has its own checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetMap {
    points: Vec<(u32, u32)>,
}

impl OffsetMap {
    /// The identity map (input was already the text).
    pub fn identity() -> OffsetMap {
        OffsetMap { points: Vec::new() }
    }

    fn mark(&mut self, text: usize, raw: usize) {
        let p = (text as u32, raw as u32);
        if let Some(last) = self.points.last_mut() {
            if last.0 == p.0 {
                *last = p;
                return;
            }
            // Skip a checkpoint that the previous one already implies.
            if p.0 - last.0 == p.1.wrapping_sub(last.1) {
                return;
            }
        }
        self.points.push(p);
    }

    /// Raw byte offset of the character at `text_offset`.
    pub fn raw(&self, text_offset: usize) -> usize {
        let t = text_offset as u32;
        match self.points.partition_point(|&(pt, _)| pt <= t) {
            0 => text_offset,
            i => {
                let (pt, pr) = self.points[i - 1];
                (pr + (t - pt)) as usize
            }
        }
    }
}

/// Decoded text, its offset map and the issues found.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    /// The text, with [`fold_jis_variant`] applied.
    pub text: String,
    /// Text offsets → raw offsets.
    pub map: OffsetMap,
    /// Issues in input order.
    pub issues: Vec<Issue>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ascii,
    Jis0208,
    Katakana,
}

/// Decodes ISO-2022-JP bytes (tolerantly, see the module docs).
pub fn decode(raw: &[u8]) -> Decoded {
    // Fast path: pure 7-bit text without escapes is ASCII as it stands.
    if raw.iter().all(|&b| b < 0x80 && b != 0x1B) {
        // Every byte < 0x80 is a valid one-byte UTF-8 sequence.
        let text = raw.iter().map(|&b| b as char).collect();
        return Decoded {
            text,
            map: OffsetMap::identity(),
            issues: Vec::new(),
        };
    }
    let mut d = Decoder {
        raw,
        out: Decoded {
            text: String::with_capacity(raw.len() + raw.len() / 2),
            ..Decoded::default()
        },
        mode: Mode::Ascii,
        jis_start: 0,
    };
    d.run();
    d.out
}

struct Decoder<'a> {
    raw: &'a [u8],
    out: Decoded,
    mode: Mode,
    jis_start: usize,
}

impl Decoder<'_> {
    fn issue(&mut self, kind: IssueKind, at: usize, len: usize) {
        let end = (at + len).min(self.raw.len());
        // Adjacent bytes with the same problem form one issue (a leaked word is
        // one finding, not one per character).
        if let Some(last) = self.out.issues.last_mut() {
            let mergeable = matches!(
                kind,
                IssueKind::Undecodable
                    | IssueKind::Cp932Leak
                    | IssueKind::Utf8Leak
                    | IssueKind::VendorExtension
            );
            if mergeable && last.kind == kind && last.raw_offset + last.bytes.len() == at {
                last.bytes.extend_from_slice(&self.raw[at..end]);
                return;
            }
        }
        self.out.issues.push(Issue {
            kind,
            raw_offset: at,
            bytes: self.raw[at..end].to_vec(),
            text_offset: self.out.text.len(),
        });
    }

    /// Appends a character decoded from `raw[at..at+len]`.
    fn push(&mut self, c: char, at: usize) {
        self.out.map.mark(self.out.text.len(), at);
        self.out.text.push(fold_jis_variant(c));
    }

    fn run(&mut self) {
        let raw = self.raw;
        let mut i = 0;
        if raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.issue(IssueKind::Bom, 0, 3);
            i = 3;
        }
        while i < raw.len() {
            let b = raw[i];
            if b == 0x1B {
                i = self.escape(i);
                continue;
            }
            if b == b'\r' || b == b'\n' {
                if self.mode == Mode::Jis0208 {
                    self.issue(
                        IssueKind::EscapeLeftOpen,
                        self.jis_start,
                        i - self.jis_start,
                    );
                }
                self.mode = Mode::Ascii;
                self.push(b as char, i);
                i += 1;
                continue;
            }
            match self.mode {
                Mode::Ascii if b < 0x80 => {
                    self.push(b as char, i);
                    i += 1;
                }
                Mode::Ascii => i = self.leak(i),
                Mode::Katakana => {
                    if (0x21..=0x5F).contains(&b) {
                        // JIS X 0201 katakana 0x21..0x5F → U+FF61..U+FF9F.
                        let c = char::from_u32(0xFF61 + u32::from(b - 0x21)).unwrap_or('\u{FFFD}');
                        self.push(c, i);
                        i += 1;
                    } else if b < 0x80 {
                        self.push(b as char, i);
                        i += 1;
                    } else {
                        i = self.leak(i);
                    }
                }
                Mode::Jis0208 => i = self.jis_run(i),
            }
        }
        if self.mode == Mode::Jis0208 {
            self.issue(
                IssueKind::EscapeLeftOpen,
                self.jis_start,
                raw.len() - self.jis_start,
            );
        }
    }

    /// Handles an escape sequence at `i`; returns the next position.
    fn escape(&mut self, i: usize) -> usize {
        let rest = &self.raw[i..];
        let (mode, len) = if rest.starts_with(b"\x1b$B") || rest.starts_with(b"\x1b$@") {
            (Some(Mode::Jis0208), 3)
        } else if rest.starts_with(b"\x1b(B") {
            (Some(Mode::Ascii), 3)
        } else if rest.starts_with(b"\x1b(J") {
            self.issue(IssueKind::JisRoman, i, 3);
            (Some(Mode::Ascii), 3)
        } else if rest.starts_with(b"\x1b(I") {
            self.issue(IssueKind::HalfWidthKatakana, i, 3);
            (Some(Mode::Katakana), 3)
        } else {
            // Unknown or unsupported (e.g. ESC $ ( D for JIS X 0212): report the
            // escape bytes; keep the mode so the text after it stays readable.
            let len = if rest.starts_with(b"\x1b$(") { 4 } else { 3 }.min(rest.len());
            self.issue(IssueKind::UnsupportedEscape, i, len);
            self.out.map.mark(self.out.text.len(), i);
            self.out.text.push('\u{FFFD}');
            (None, len)
        };
        if let Some(m) = mode {
            self.mode = m;
            if m == Mode::Jis0208 {
                self.jis_start = i;
            }
        }
        i + len
    }

    /// Decodes a run of JIS X 0208 pairs starting at `i`; returns the next position.
    fn jis_run(&mut self, start: usize) -> usize {
        let raw = self.raw;
        let mut i = start;
        // Collect complete pairs of graphic bytes.
        while i + 1 < raw.len() && is_jis_byte(raw[i]) && is_jis_byte(raw[i + 1]) {
            i += 2;
        }
        if i > start {
            self.decode_pairs(start, i);
        }
        if i < raw.len() && !matches!(raw[i], 0x1B | b'\r' | b'\n') {
            // A lone graphic byte before a non-graphic one, or a byte outside the
            // JIS range: not decodable in this mode.
            let kind = if is_jis_byte(raw[i]) {
                IssueKind::TruncatedCharacter
            } else {
                IssueKind::Undecodable
            };
            self.issue(kind, i, 1);
            self.out.map.mark(self.out.text.len(), i);
            self.out.text.push('\u{FFFD}');
            i += 1;
        }
        i
    }

    fn decode_pairs(&mut self, start: usize, end: usize) {
        let euc: Vec<u8> = self.raw[start..end].iter().map(|b| b | 0x80).collect();
        for (k, pair) in euc.chunks_exact(2).enumerate() {
            let at = start + 2 * k;
            let (cow, had_errors) = encoding_rs::EUC_JP.decode_without_bom_handling(pair);
            let mut chars = cow.chars();
            match (had_errors, chars.next(), chars.next()) {
                (false, Some(c), None) => {
                    if is_vendor_row(pair[0] & 0x7F) {
                        self.issue(IssueKind::VendorExtension, at, 2);
                    }
                    self.push(c, at);
                }
                _ => {
                    self.issue(IssueKind::Undecodable, at, 2);
                    self.out.map.mark(self.out.text.len(), at);
                    self.out.text.push('\u{FFFD}');
                }
            }
        }
    }

    /// Decodes 8-bit bytes met in ASCII mode: UTF-8 if they form valid UTF-8,
    /// else CP932; returns the next position.
    fn leak(&mut self, i: usize) -> usize {
        let raw = self.raw;
        // UTF-8: a valid multi-byte sequence is very unlikely to be accidental.
        let want = match raw[i] {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        let utf8 = raw
            .get(i..i + want)
            .filter(|_| want > 0)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.chars().next());
        if let Some(c) = utf8 {
            self.issue(IssueKind::Utf8Leak, i, want);
            self.push(c, i);
            return i + want;
        }
        // CP932: a lead byte and a trail byte, or a half-width katakana byte.
        let b = raw[i];
        let len = if (0xA1..=0xDF).contains(&b) {
            1
        } else if matches!(b, 0x81..=0x9F | 0xE0..=0xFC)
            && i + 1 < raw.len()
            && matches!(raw[i + 1], 0x40..=0x7E | 0x80..=0xFC)
        {
            2
        } else {
            0
        };
        if len > 0 {
            let (cow, had_errors) =
                encoding_rs::SHIFT_JIS.decode_without_bom_handling(&raw[i..i + len]);
            let mut chars = cow.chars();
            if let (false, Some(c), None) = (had_errors, chars.next(), chars.next()) {
                self.issue(IssueKind::Cp932Leak, i, len);
                self.push(c, i);
                return i + len;
            }
        }
        self.issue(IssueKind::Undecodable, i, 1);
        self.out.map.mark(self.out.text.len(), i);
        self.out.text.push('\u{FFFD}');
        i + 1
    }
}

fn is_jis_byte(b: u8) -> bool {
    (0x21..=0x7E).contains(&b)
}

/// Rows (first byte, 7-bit) that JIS X 0208 leaves empty but CP932 fills:
/// NEC special characters (row 13), NEC-selected IBM extensions (rows 89–92) and
/// IBM extensions (rows 115–119 in Shift_JIS terms, not reachable in 7-bit JIS).
fn is_vendor_row(first: u8) -> bool {
    first == 0x2D || (0x79..=0x7C).contains(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jis(s: &str) -> Vec<u8> {
        let (b, _, bad) = encoding_rs::ISO_2022_JP.encode(s);
        assert!(!bad);
        b.into_owned()
    }

    #[test]
    fn ascii_fast_path_is_identity() {
        let d = decode(b"MSH|^~\\&|\r");
        assert_eq!(d.text, "MSH|^~\\&|\r");
        assert!(d.issues.is_empty());
        assert_eq!(d.map.raw(5), 5);
    }

    #[test]
    fn delimiter_bytes_inside_kanji_stay_kanji() {
        // う = 24 26 and ウ = 25 26 (contain '&'), 京 = 35 7E (contains '~').
        let raw = jis("A|うウ京^B");
        assert!(raw.windows(2).any(|w| w == [0x24, 0x26]));
        assert!(raw.windows(2).any(|w| w == [0x25, 0x26]));
        assert!(raw.windows(2).any(|w| w == [0x35, 0x7E]));
        let d = decode(&raw);
        assert_eq!(d.text, "A|うウ京^B");
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        // '^' in the text maps back to its raw byte.
        let caret_text = d.text.find('^').unwrap();
        assert_eq!(raw[d.map.raw(caret_text)], b'^');
        // 京 maps to the start of its pair.
        let kyo = d.text.find('京').unwrap();
        assert_eq!(&raw[d.map.raw(kyo)..d.map.raw(kyo) + 2], &[0x35, 0x7E]);
    }

    #[test]
    fn escape_left_open_resets_at_cr() {
        let raw = b"A\x1b$B%&\rB|C\r".to_vec();
        let d = decode(&raw);
        assert_eq!(d.text, "Aウ\rB|C\r");
        assert_eq!(d.issues.len(), 1);
        assert_eq!(d.issues[0].kind, IssueKind::EscapeLeftOpen);
        assert_eq!(d.issues[0].raw_offset, 1);
    }

    #[test]
    fn the_non_jis_sample_file_is_reported_not_dropped() {
        // The NHO sample's broken file: FB FC (髙 in CP932, an IBM extension).
        let d = decode(&[0xFB, 0xFC]);
        assert_eq!(d.text, "髙");
        assert_eq!(d.issues[0].kind, IssueKind::Cp932Leak);
        assert_eq!(d.issues[0].bytes, vec![0xFB, 0xFC]);
    }

    #[test]
    fn utf8_and_cp932_leaks_are_decoded_with_issues() {
        let mut raw = b"A".to_vec();
        raw.extend("患者".as_bytes());
        raw.push(b'|');
        raw.extend(encoding_rs::SHIFT_JIS.encode("太郎").0.iter());
        let d = decode(&raw);
        assert_eq!(d.text, "A患者|太郎");
        // One issue per leaked word, with all its bytes.
        let kinds: Vec<_> = d.issues.iter().map(|i| (i.kind, i.bytes.len())).collect();
        assert_eq!(
            kinds,
            vec![(IssueKind::Utf8Leak, 6), (IssueKind::Cp932Leak, 4)]
        );
    }

    #[test]
    fn undecodable_bytes_are_reported_with_offsets() {
        let d = decode(b"AB\x80C");
        assert_eq!(d.issues.len(), 1);
        assert_eq!(d.issues[0].kind, IssueKind::Undecodable);
        assert_eq!(d.issues[0].raw_offset, 2);
        assert_eq!(d.issues[0].bytes, vec![0x80]);
        assert_eq!(d.text, "AB\u{FFFD}C");
    }

    #[test]
    fn jis_minus_is_folded_to_the_kakehashi_form() {
        let d = decode(b"\x1b$B!]!A\x1b(B");
        assert_eq!(d.text, "－～");
    }

    #[test]
    fn truncated_pair_and_unsupported_escape() {
        let d = decode(b"\x1b$B%\r");
        assert_eq!(
            d.issues.iter().map(|i| i.kind).collect::<Vec<_>>(),
            vec![IssueKind::TruncatedCharacter, IssueKind::EscapeLeftOpen]
        );
        let d = decode(b"A\x1b$(DBC");
        assert_eq!(d.issues[0].kind, IssueKind::UnsupportedEscape);
    }

    #[test]
    fn halfwidth_katakana_escape() {
        let d = decode(b"\x1b(I1\x1b(B");
        assert_eq!(d.text, "ｱ");
        assert_eq!(d.issues[0].kind, IssueKind::HalfWidthKatakana);
    }
}
