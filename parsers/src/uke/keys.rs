//! Receipt grouping and patient keys: what a mapper needs to link a receipt to an SS-MIX2 patient.
//!
//! Links are never guessed: a receipt whose カルテ番号 matches several known patient ids (after
//! normalisation), or whose fallback key is shared by receipts with different カルテ番号, is reported
//! as ambiguous and left unlinked.

use super::codes;
use super::date;
use super::{ParsedRecord, UkeFile};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location, Phi};
use std::collections::{BTreeMap, BTreeSet};

/// How カルテ番号 (RE-14) and patient ids are normalised before comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zeros {
    /// Leave leading zeros.
    Keep,
    /// Remove leading zeros (`0001234` → `1234`; `000` → `0`).
    Strip,
    /// Left-pad with zeros to this width (longer values are kept).
    PadTo(usize),
}

/// Normalisation of カルテ番号 and patient ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KarteOptions {
    /// Trim spaces (half- and full-width) at both ends.
    pub trim: bool,
    /// Leading-zero policy.
    pub zeros: Zeros,
}

impl Default for KarteOptions {
    fn default() -> KarteOptions {
        KarteOptions {
            trim: true,
            zeros: Zeros::Keep,
        }
    }
}

impl KarteOptions {
    /// Normalises an id; `None` when nothing is left.
    pub fn normalise(&self, id: &str) -> Option<String> {
        let s = if self.trim {
            id.trim_matches(|c| c == ' ' || c == '\u{3000}')
        } else {
            id
        };
        if s.is_empty() {
            return None;
        }
        let out = match self.zeros {
            Zeros::Keep => s.to_owned(),
            Zeros::Strip => {
                let t = s.trim_start_matches('0');
                if t.is_empty() {
                    "0".to_owned()
                } else {
                    t.to_owned()
                }
            }
            Zeros::PadTo(n) => format!("{s:0>n$}"),
        };
        Some(out)
    }
}

/// Normalises an HO 保険者番号: trims; a 6-digit 国保 number becomes 8 digits with leading zeros.
pub fn normalise_insurer(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("00{t}"))
    } else {
        Some(t.to_owned())
    }
}

/// The fallback key: カナ氏名 + 生年月日 (ISO) + 性別 + 保険者番号.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FallbackKey {
    /// カタカナ氏名 (RE-37), spaces removed.
    pub kana: String,
    /// 生年月日 (RE-7) in ISO form.
    pub birth: String,
    /// 男女区分 (RE-6).
    pub sex: String,
    /// Normalised 保険者番号 (HO-2), or empty.
    pub insurer: String,
}

/// The keys of one receipt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptKeys {
    /// Receipt index (1-based).
    pub receipt: u32,
    /// Line of the RE record.
    pub line: u32,
    /// Normalised カルテ番号 (RE-14).
    pub karte: Option<String>,
    /// Normalised 保険者番号 (HO-2).
    pub insurer: Option<String>,
    /// 記号 (HO-3).
    pub kigo: Option<String>,
    /// 番号 (HO-4).
    pub bango: Option<String>,
    /// 枝番 (SN-7).
    pub edaban: Option<String>,
    /// Fallback key, when カナ氏名 and 生年月日 are present.
    pub fallback: Option<FallbackKey>,
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Groups the records of a file into receipts (RE … next RE) and extracts their keys.
pub fn receipt_keys(file: &UkeFile, opts: &KarteOptions) -> Vec<ReceiptKeys> {
    let mut out: Vec<ReceiptKeys> = Vec::new();
    let mut re: Option<&ParsedRecord> = None;
    for pr in &file.records {
        let r = &pr.record;
        let Some(idx) = r.receipt else { continue };
        if r.id() == "RE" {
            finish(&mut out, re);
            re = Some(pr);
            out.push(ReceiptKeys {
                receipt: idx,
                line: r.line,
                karte: r.field(14).and_then(|k| opts.normalise(k)),
                ..ReceiptKeys::default()
            });
            continue;
        }
        let Some(k) = out.last_mut() else { continue };
        match r.id() {
            "HO" if k.insurer.is_none() => {
                k.insurer = r.field(2).and_then(normalise_insurer);
                k.kigo = nonempty(r.field(3));
                k.bango = nonempty(r.field(4));
            }
            "SN" if k.edaban.is_none() => k.edaban = nonempty(r.field(7)),
            _ => {}
        }
    }
    finish(&mut out, re);
    out
}

fn finish(out: &mut [ReceiptKeys], re: Option<&ParsedRecord>) {
    let (Some(k), Some(re)) = (out.last_mut(), re) else {
        return;
    };
    let r = &re.record;
    let kana: String = r
        .field(37)
        .unwrap_or("")
        .chars()
        .filter(|c| *c != ' ' && *c != '\u{3000}')
        .collect();
    let birth = r
        .field(7)
        .and_then(|b| date::parse(b, true).ok())
        .map(|(_, d)| d.to_string());
    if let (false, Some(birth)) = (kana.is_empty(), birth) {
        k.fallback = Some(FallbackKey {
            kana,
            birth,
            sex: r.field(6).unwrap_or("").to_owned(),
            insurer: k.insurer.clone().unwrap_or_default(),
        });
    }
}

/// Outcome of linking one receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Exactly one known patient matches the カルテ番号.
    Patient(String),
    /// Several known patients match; not linked.
    Ambiguous(Vec<String>),
    /// No known patient matches (or no カルテ番号).
    None,
}

fn re_loc(k: &ReceiptKeys) -> Location {
    Location::default()
        .line(k.line)
        .record("RE", k.line)
        .field(FieldPath::new("RE", 14).named("カルテ番号等"))
}

/// Links receipts to known SS-MIX2 patient ids by normalised カルテ番号; reports ambiguity, never guesses.
///
/// Also reports fallback keys (カナ氏名 + 生年月日 + 性別 + 保険者番号) shared by receipts whose カルテ番号
/// differ: those receipts may be the same person, or different people — a person must decide.
pub fn link_patients(
    keys: &[ReceiptKeys],
    known: &BTreeSet<String>,
    opts: &KarteOptions,
    diags: &mut Diagnostics,
) -> Vec<Link> {
    let mut index: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for id in known {
        if let Some(n) = opts.normalise(id) {
            index.entry(n).or_default().push(id);
        }
    }
    let mut links = Vec::with_capacity(keys.len());
    for k in keys {
        let link = match &k.karte {
            None => {
                diags.push(
                    Diagnostic::new(
                        &codes::NO_LINK_KEY,
                        format!(
                            "receipt {} has no カルテ番号; only the fallback key can link it",
                            k.receipt
                        ),
                    )
                    .at(re_loc(k)),
                );
                Link::None
            }
            Some(karte) => match index.get(karte).map(Vec::as_slice) {
                None | Some([]) => {
                    diags.push(
                        Diagnostic::new(
                            &codes::NO_MATCH,
                            format!(
                                "receipt {}: no known patient has this カルテ番号",
                                k.receipt
                            ),
                        )
                        .at(re_loc(k))
                        .excerpt(Excerpt::text(karte.clone())),
                    );
                    Link::None
                }
                Some([one]) => Link::Patient((*one).clone()),
                Some(many) => {
                    diags.push(
                        Diagnostic::new(
                            &codes::AMBIGUOUS_LINK,
                            format!("receipt {}: カルテ番号 matches {} known patient ids after normalisation", k.receipt, many.len()),
                        )
                        .at(re_loc(k))
                        .excerpt(Excerpt::text(many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))),
                    );
                    Link::Ambiguous(many.iter().map(|s| (*s).clone()).collect())
                }
            },
        };
        links.push(link);
    }
    // Fallback keys shared by receipts with different カルテ番号.
    let mut by_fallback: BTreeMap<&FallbackKey, BTreeSet<Option<&String>>> = BTreeMap::new();
    for k in keys {
        if let Some(f) = &k.fallback {
            by_fallback.entry(f).or_default().insert(k.karte.as_ref());
        }
    }
    for k in keys {
        if let Some(f) = &k.fallback
            && by_fallback.get(f).is_some_and(|s| s.len() > 1)
        {
            diags.push(
                    Diagnostic::new(
                        &codes::AMBIGUOUS_LINK,
                        format!("receipt {}: its fallback key (カナ氏名, 生年月日, 性別, 保険者番号) is shared by receipts with other カルテ番号", k.receipt),
                    )
                    .at(re_loc(k))
                    .excerpt(Excerpt::phi_text(format!("{} {} {} {}", f.kana, f.birth, f.sex, f.insurer), Phi::Name)),
                );
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karte_normalisation() {
        let o = KarteOptions {
            trim: true,
            zeros: Zeros::Strip,
        };
        assert_eq!(o.normalise(" 0001234 ").as_deref(), Some("1234"));
        assert_eq!(o.normalise("000").as_deref(), Some("0"));
        assert_eq!(o.normalise("  "), None);
        let o = KarteOptions {
            trim: true,
            zeros: Zeros::PadTo(10),
        };
        assert_eq!(o.normalise("1234").as_deref(), Some("0000001234"));
        assert_eq!(
            KarteOptions::default().normalise("0012").as_deref(),
            Some("0012")
        );
    }

    #[test]
    fn insurer_normalisation() {
        assert_eq!(normalise_insurer("  133066").as_deref(), Some("00133066"));
        assert_eq!(normalise_insurer("06139999").as_deref(), Some("06139999"));
        assert_eq!(normalise_insurer("        "), None);
    }

    #[test]
    fn ambiguous_links_are_reported_not_guessed() {
        let keys = vec![
            ReceiptKeys {
                receipt: 1,
                line: 2,
                karte: Some("1234".into()),
                ..Default::default()
            },
            ReceiptKeys {
                receipt: 2,
                line: 9,
                karte: Some("77".into()),
                ..Default::default()
            },
            ReceiptKeys {
                receipt: 3,
                line: 12,
                karte: None,
                ..Default::default()
            },
        ];
        let known: BTreeSet<String> = ["0001234", "1234", "77"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = KarteOptions {
            trim: true,
            zeros: Zeros::Strip,
        };
        let mut d = Diagnostics::default();
        let links = link_patients(&keys, &known, &opts, &mut d);
        assert_eq!(
            links[0],
            Link::Ambiguous(vec!["0001234".into(), "1234".into()])
        );
        assert_eq!(links[1], Link::Patient("77".into()));
        assert_eq!(links[2], Link::None);
        let ids: Vec<_> = d.iter().map(|d| d.code.id).collect();
        assert_eq!(ids, vec!["U039", "U040"]);
    }
}
