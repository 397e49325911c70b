//! The parse benchmark's Rust side: builds the shared corpus (every message file of
//! a storage decoded once to UTF-8, one message per line) and times kakehashi's
//! HL7 parser over it. `bench/parse.sh` drives it next to the peers (python-hl7,
//! `@medplum/core`), which read the same corpus; see `bench/README.md`.
//!
//! The corpus format: UTF-8, one message per line. Segments inside a message end
//! with CR, as in the storage; the generator never writes LF, so LF separates
//! messages unambiguously.

#![deny(missing_docs)]

use std::time::Instant;

/// What a parser saw in the corpus, so runs and peers can be checked against each
/// other: the totals must agree for the comparison to be fair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages parsed.
    pub messages: u64,
    /// Segments.
    pub segments: u64,
    /// Fields, numbered as HL7 numbers them (MSH-1 is the field separator), up to
    /// the last one present in each segment.
    pub fields: u64,
    /// Components, over every repetition of every field (MSH-1 and MSH-2 count as
    /// one component each).
    pub components: u64,
}

/// **The adapter**: parses one message with kakehashi's parser. Everything the
/// benchmark knows about our parser's API is in this function and [`count`].
///
/// `Hl7File::parse_str` indexes every field, repetition, component and
/// sub-component eagerly (flat arrays, no per-value allocation).
pub fn parse_ours(text: &str) -> parsers::hl7::Hl7File {
    parsers::hl7::Hl7File::parse_str(text)
}

/// Decodes raw ISO-2022-JP bytes and parses them (the figure "including
/// decoding").
pub fn parse_ours_raw(raw: &[u8]) -> parsers::hl7::Hl7File {
    parsers::hl7::Hl7File::parse(raw)
}

/// Adds what a parsed file holds to `counts`.
pub fn count(file: &parsers::hl7::Hl7File, counts: &mut Counts) {
    for m in file.messages() {
        counts.messages += 1;
        for s in m.segments() {
            counts.segments += 1;
            let n = s.field_count();
            counts.fields += u64::from(n);
            for k in 1..=n {
                let Some(f) = s.field(k) else { continue };
                if s.id() == "MSH" && k <= 2 {
                    counts.components += 1;
                    continue;
                }
                for r in f.reps() {
                    counts.components += r.comps().len() as u64;
                }
            }
        }
    }
}

/// Decodes one storage file to the corpus form: our ISO-2022-JP decoder, trailing
/// framing bytes and line ends trimmed. `None` when the text contains LF (it could
/// not be one line of the corpus).
pub fn corpus_line(raw: &[u8]) -> Option<String> {
    let decoded = parsers::text::iso2022jp::decode(raw);
    let text = decoded
        .text
        .trim_end_matches(['\u{1C}', '\u{0B}', '\n'])
        .to_owned();
    (!text.contains('\n')).then_some(text)
}

/// One timing, as the peers do it: a first pass parses and counts (untimed, it
/// also warms caches up), then `runs` timed passes only parse; the best pass
/// counts. The parsed values go through [`std::hint::black_box`] so no pass can
/// be optimised away.
pub fn time<T: ?Sized, R>(
    items: &[&T],
    runs: u32,
    parse: impl Fn(&T) -> R,
    count: impl Fn(&R, &mut Counts),
) -> (f64, Counts) {
    let mut counts = Counts::default();
    for item in items {
        count(&parse(item), &mut counts);
    }
    let mut best = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        for item in items {
            std::hint::black_box(parse(std::hint::black_box(item)));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "MSH|^~\\&|HIS123|SEND|GW|RCV|20111220224447.339||ADT^A08^ADT_A01|1|P|2.5\rPID|0001||9999013^^^^PI||患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P||19480405|M\r";

    #[test]
    fn counts_follow_hl7_numbering() {
        let mut c = Counts::default();
        count(&parse_ours(MSG), &mut c);
        assert_eq!(c.messages, 1);
        assert_eq!(c.segments, 2);
        // MSH-1..MSH-12 and PID-1..PID-8.
        assert_eq!(c.fields, 12 + 8);
        // MSH: 1+1 (MSH-1, MSH-2), 3..8 one each except MSH-9 (3) → 2 + 9 + 2;
        // PID: 1,2,4,6 one each (empty), 3 → 5, 5 → 8 + 8, 7, 8 → 1 each.
        assert_eq!(c.components, (2 + 10 + 2) + (4 + 5 + 16 + 2));
    }

    #[test]
    fn raw_and_decoded_parse_alike() {
        let raw = {
            // ISO-2022-JP by hand: ESC $ B … ESC ( B around the kanji/kana runs.
            let mut v = Vec::new();
            let mut jis = false;
            for ch in MSG.chars() {
                let ascii = ch.is_ascii();
                if ascii == jis {
                    v.extend_from_slice(if ascii { b"\x1b(B" } else { b"\x1b$B" });
                    jis = !ascii;
                }
                if ascii {
                    v.push(ch as u8);
                } else {
                    let code = match ch {
                        '患' => [0x34, 0x35],
                        '者' => [0x3C, 0x54],
                        '太' => [0x42, 0x40],
                        '郎' => [0x4F, 0x3A],
                        'カ' => [0x25, 0x2B],
                        'ン' => [0x25, 0x73],
                        'ジ' => [0x25, 0x38],
                        'ャ' => [0x25, 0x63],
                        'タ' => [0x25, 0x3F],
                        'ロ' => [0x25, 0x6D],
                        _ => [0x25, 0x26], // ウ
                    };
                    v.extend_from_slice(&code);
                }
            }
            v
        };
        assert_eq!(corpus_line(&raw).as_deref(), Some(MSG));
        let (mut a, mut b) = (Counts::default(), Counts::default());
        count(&parse_ours(MSG), &mut a);
        count(&parse_ours_raw(&raw), &mut b);
        assert_eq!(a, b);
        let (secs, c) = time(&[MSG], 2, parse_ours, count);
        assert_eq!(c, a);
        assert!(secs.is_finite());
    }
}
