//! Readings (katakana) of Japanese names written in kanji, from the lexicon of a
//! MeCab-format dictionary: IPADIC's CSV files (`Noun.csv`, `Verb.csv`, …; EUC-JP
//! as shipped, or UTF-8), as Debian's `mecab-ipadic` installs them under
//! `/usr/share/mecab/dic/ipadic`.
//!
//! No analyser and no connection matrix: every lexicon entry whose surface holds a
//! kanji becomes `normalised surface → (reading, word cost)` (the cheapest entry of
//! a surface wins, the first in file order on a tie; personal names are left out),
//! and a name is read by the cheapest segmentation into such entries plus single
//! characters that pass through as they are ([`Dictionary::read`]): a unigram
//! lattice over word costs with a per-word penalty, so a compound the lexicon holds
//! (帆立貝 ホタテガイ) is read as one word. Without a connection matrix, position
//! stands in for it: a suffix entry (名詞,接尾: 病 ビョウ, 炎 エン, 症 ショウ) is preferred
//! right after a kanji word and a prefix entry (接頭詞: 高 コウ) right before one, so
//! 糖尿病 reads トウニョウビョウ, not トウニョウヤマイ. A kanji no entry covers stays as
//! it is.
//!
//! Names are read after [`crate::suggest::normalize`], so the keys are the same
//! normalised text the matcher uses; the result is given both as katakana (for
//! people: the justification of a suggestion) and normalised (for matching).
//!
//! No file I/O: the caller reads the files ([`Dictionary::from_lexicons`] takes
//! their names and bytes).

use crate::suggest::normalize;
use std::collections::HashMap;

/// Why a dictionary could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DictionaryError {
    /// No `.csv` lexicon file was given.
    NoLexicon,
    /// A file is neither UTF-8 nor EUC-JP.
    Encoding {
        /// The file's name as given.
        file: String,
    },
    /// The files hold no entry in the IPADIC layout (13 fields, reading 12th).
    NoEntries,
}

impl std::fmt::Display for DictionaryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DictionaryError::NoLexicon => write!(f, "no lexicon file (*.csv) in the dictionary"),
            DictionaryError::Encoding { file } => {
                write!(f, "{file}: neither UTF-8 nor EUC-JP")
            }
            DictionaryError::NoEntries => write!(
                f,
                "the lexicon files hold no entry in the IPADIC layout (surface,left,right,cost,…,reading,pronunciation)"
            ),
        }
    }
}

impl std::error::Error for DictionaryError {}

/// A name's reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Katakana, as the lexicon gives it (characters no entry covers as they are,
    /// kana in katakana).
    pub kana: String,
    /// The same, normalised for matching ([`crate::suggest::normalize`]).
    pub normalized: String,
}

/// Readings of kanji words, indexed by normalised surface.
#[derive(Debug, Default)]
pub struct Dictionary {
    words: HashMap<String, Word>,
    /// Longest surface, in characters.
    longest: usize,
}

/// One surface's readings: the cheapest entry, and the cheapest suffix and prefix
/// entries.
#[derive(Debug, Default)]
struct Word {
    any: Option<(String, i32)>,
    suffix: Option<(String, i32)>,
    prefix: Option<(String, i32)>,
}

fn keep_cheapest(slot: &mut Option<(String, i32)>, reading: &str, cost: i32) {
    if slot.as_ref().is_none_or(|(_, c)| cost < *c) {
        *slot = Some((reading.to_owned(), cost));
    }
}

/// What a suffix entry right after a kanji word, or a prefix entry right before
/// one, is spared (standing in for the connection cost MeCab would find).
const IN_PLACE: i64 = 3000;
/// Per-word penalty added to the lexicon's word cost: favours fewer, longer words.
const WORD: i64 = 3000;
/// A character no entry covers (kana, Latin, digits): passes through.
const PASS: i64 = 4000;
/// A kanji no entry covers: passes through, dearly.
const UNKNOWN: i64 = 30000;

/// True for the characters a reading replaces: CJK ideographs (unified, extension
/// A, compatibility) and the iteration mark 々.
pub fn is_kanji(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x3005)
}

fn to_katakana(c: char) -> char {
    match c as u32 {
        0x3041..=0x3096 => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

fn decode(file: &str, bytes: &[u8]) -> Result<String, DictionaryError> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    encoding_rs::EUC_JP
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| s.into_owned())
        .ok_or_else(|| DictionaryError::Encoding {
            file: file.to_owned(),
        })
}

impl Dictionary {
    /// Reads the lexicon files (name, bytes) of a MeCab dictionary in the IPADIC
    /// layout; files not ending in `.csv` are ignored. Files are taken in name
    /// order, so the result does not depend on the order given.
    pub fn from_lexicons(files: &[(&str, &[u8])]) -> Result<Dictionary, DictionaryError> {
        let mut csv: Vec<&(&str, &[u8])> =
            files.iter().filter(|(n, _)| n.ends_with(".csv")).collect();
        if csv.is_empty() {
            return Err(DictionaryError::NoLexicon);
        }
        csv.sort_by(|a, b| a.0.cmp(b.0));
        let mut d = Dictionary::default();
        for (name, bytes) in csv {
            let text = decode(name, bytes)?;
            for line in text.lines() {
                // A quoted surface holds a comma: punctuation, never a kanji word.
                if line.starts_with('"') {
                    continue;
                }
                let f: Vec<&str> = line.split(',').collect();
                if f.len() < 12 || !f[0].chars().any(is_kanji) || f[6] == "人名" {
                    continue;
                }
                let (Ok(cost), reading) = (f[3].parse::<i32>(), f[11]) else {
                    continue;
                };
                if reading.is_empty() || reading == "*" {
                    continue;
                }
                let key = normalize(f[0]);
                if !key.chars().any(is_kanji) {
                    continue;
                }
                d.longest = d.longest.max(key.chars().count());
                let w = d.words.entry(key).or_default();
                keep_cheapest(&mut w.any, reading, cost);
                if f[4] == "名詞" && f[5] == "接尾" {
                    keep_cheapest(&mut w.suffix, reading, cost);
                } else if f[4] == "接頭詞" {
                    keep_cheapest(&mut w.prefix, reading, cost);
                }
            }
        }
        if d.words.is_empty() {
            return Err(DictionaryError::NoEntries);
        }
        Ok(d)
    }

    /// Number of kanji words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when no word is held.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The reading of a normalised name, or `None` when it holds no kanji (its
    /// reading is itself).
    pub fn read(&self, normalized: &str) -> Option<Reading> {
        if !normalized.chars().any(is_kanji) {
            return None;
        }
        let offs: Vec<usize> = normalized
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(normalized.len()))
            .collect();
        let chars: Vec<char> = normalized.chars().collect();
        let n = chars.len();
        // best[i]: cheapest cost of reading chars[..i], and the step that got there
        // (start, Some(reading) for a word or None for a character passing through).
        let mut best: Vec<(i64, usize, Option<&str>)> = vec![(i64::MAX, 0, None); n + 1];
        best[0].0 = 0;
        for i in 0..n {
            let here = best[i].0;
            if here == i64::MAX {
                continue;
            }
            let pass = here + if is_kanji(chars[i]) { UNKNOWN } else { PASS };
            if pass < best[i + 1].0 {
                best[i + 1] = (pass, i, None);
            }
            let after_kanji = i > 0 && is_kanji(chars[i - 1]);
            for len in 1..=self.longest.min(n - i) {
                // offs holds char boundaries, so the range is always a valid &str.
                let Some(w) = normalized
                    .get(offs[i]..offs[i + len])
                    .and_then(|k| self.words.get(k))
                else {
                    continue;
                };
                let before_kanji = i + len < n && is_kanji(chars[i + len]);
                let placed = [
                    (w.any.as_ref(), true),
                    (w.suffix.as_ref(), after_kanji),
                    (w.prefix.as_ref(), before_kanji),
                ];
                for (k, (entry, fits)) in placed.into_iter().enumerate() {
                    let (Some((r, c)), true) = (entry, fits) else {
                        continue;
                    };
                    let spared = if k == 0 { 0 } else { IN_PLACE };
                    let cost = here + i64::from(*c) + WORD - spared;
                    if cost < best[i + len].0 {
                        best[i + len] = (cost, i, Some(r.as_str()));
                    }
                }
            }
        }
        let mut parts: Vec<String> = Vec::new();
        let mut j = n;
        while j > 0 {
            let (_, from, r) = best[j];
            parts.push(match r {
                Some(r) => r.to_owned(),
                None => chars[from..j].iter().map(|&c| to_katakana(c)).collect(),
            });
            j = from;
        }
        parts.reverse();
        let kana: String = parts.concat();
        let normalized = normalize(&kana);
        Some(Reading { kana, normalized })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, OnceLock};

    /// The installed IPADIC lexicon: `$KAKEHASHI_DICTIONARY`, else Debian's
    /// `/usr/share/mecab/dic/ipadic`. Missing, the test fails saying how to install
    /// it (`.ci/run` does): such tests never skip.
    pub(crate) fn ipadic() -> Arc<Dictionary> {
        static D: OnceLock<Arc<Dictionary>> = OnceLock::new();
        D.get_or_init(|| {
            let dir = std::env::var_os("KAKEHASHI_DICTIONARY")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| "/usr/share/mecab/dic/ipadic".into());
            let listing = std::fs::read_dir(&dir).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: tests need IPADIC's lexicon (Debian/Ubuntu: apt-get install mecab-ipadic; \
                     or set KAKEHASHI_DICTIONARY to a folder of its .csv files)",
                    dir.display()
                )
            });
            let mut files = Vec::new();
            for e in listing {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".csv") {
                    files.push((name, std::fs::read(&p).unwrap()));
                }
            }
            let refs: Vec<(&str, &[u8])> =
                files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            Arc::new(Dictionary::from_lexicons(&refs).unwrap())
        })
        .clone()
    }

    #[test]
    fn reads_a_small_lexicon_in_either_encoding() {
        let lex = "胡桃,1285,1285,5648,名詞,一般,*,*,*,*,胡桃,クルミ,クルミ\n\
                   帆立,1285,1285,5000,名詞,一般,*,*,*,*,帆立,ホタテ,ホタテ\n\
                   貝,1285,1285,5000,名詞,一般,*,*,*,*,貝,カイ,カイ\n\
                   帆立貝,1285,1285,5622,名詞,一般,*,*,*,*,帆立貝,ホタテガイ,ホタテガイ\n\
                   鮭,1285,1285,6274,名詞,一般,*,*,*,*,鮭,シャケ,シャケ\n\
                   鮭,1285,1285,4954,名詞,一般,*,*,*,*,鮭,サケ,サケ\n\
                   \"，\",1,1,1,記号,*,*,*,*,*,，,，,，\n\
                   くるみ,1285,1285,5648,名詞,一般,*,*,*,*,くるみ,クルミ,クルミ\n";
        let (euc, _, bad) = encoding_rs::EUC_JP.encode(lex);
        assert!(!bad);
        for bytes in [lex.as_bytes(), &euc[..]] {
            let d = Dictionary::from_lexicons(&[("Noun.csv", bytes), ("README", b"x")]).unwrap();
            assert_eq!(d.len(), 5);
            assert_eq!(d.words["鮭"].any, Some(("サケ".into(), 4954)));
            let r = |s: &str| d.read(&normalize(s)).map(|r| r.kana);
            assert_eq!(r("胡桃"), Some("クルミ".into()));
            assert_eq!(r("帆立貝"), Some("ホタテガイ".into()));
            assert_eq!(r("鮭"), Some("サケ".into()), "the cheapest entry wins");
            assert_eq!(r("胡桃アレルギー"), Some("クルミアレルギー".into()));
            assert_eq!(r("鯖"), Some("鯖".into()), "no entry: the kanji stays");
            assert_eq!(r("くるみ"), None, "no kanji, no reading");
            assert_eq!(
                d.read(&normalize("胡桃")).map(|r| r.normalized),
                Some(normalize("くるみ"))
            );
        }
        assert_eq!(
            Dictionary::from_lexicons(&[("a.csv", b"x,y\n")]).unwrap_err(),
            DictionaryError::NoEntries
        );
        assert_eq!(
            Dictionary::from_lexicons(&[("a.txt", b"")]).unwrap_err(),
            DictionaryError::NoLexicon
        );
        assert!(matches!(
            Dictionary::from_lexicons(&[("a.csv", b"\xff\xff\xff")]),
            Err(DictionaryError::Encoding { .. })
        ));
    }

    #[test]
    fn reads_names_with_ipadic() {
        let d = ipadic();
        let r = |s: &str| d.read(&normalize(s)).map(|r| r.kana).unwrap_or_default();
        assert_eq!(r("胡桃"), "クルミ");
        assert_eq!(r("林檎"), "リンゴ");
        assert_eq!(r("秋刀魚"), "サンマ");
        assert_eq!(r("高血圧症"), "コウケツアツショウ");
        assert_eq!(r("芍薬"), "シャクヤク");
        assert_eq!(r("膀胱炎"), "ボウコウエン");
        assert_eq!(r("鉄欠乏性貧血"), "テツケツボウセイヒンケツ");
        assert_eq!(r("糖尿病"), "トウニョウビョウ");
    }
}
