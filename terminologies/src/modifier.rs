//! The 支払基金 修飾語マスター (`z_*.csv`, the receipt "Z" master) read as the
//! modifier list a mapper needs for JP Core's Condition modifier extensions:
//! each レセ電 修飾語コード with its name, kana, MEDIS 修飾語管理番号 and 修飾語交換用コード
//! (the master's own crosswalk columns) and whether it is written before the disease
//! name (prefix → `JP_Condition_DiseasePrefixModifier`) or after it (postfix →
//! `JP_Condition_DiseasePostfixModifier`). JP-CLINS requires the 修飾語管理番号
//! coding in those extensions (slice `medisRecordNo` 1..1), so a receipt modifier
//! code alone is not enough; this master supplies the pair.
//!
//! Layout (CP932, no header, 19 columns, 1-based): 1 変更区分, 2 マスター種別 (`Z`),
//! 3 修飾語コード, 4-5 予備, 6 修飾語名称桁数, 7 修飾語名称, 8 予備, 9 修飾語カナ名称桁数,
//! 10 修飾語カナ名称, 11 予備, 12-13 変更情報, 14 収載年月日, 15 変更年月日, 16 廃止年月日,
//! 17 修飾語管理番号, 18 修飾語交換用コード, 19 修飾語区分. Verified against three public
//! importers that agree column for column (see `tables/profiles/ssk-modifier-medis.toml`).
//!
//! Prefix or postfix: the code range (8000–8999 接尾語, 0001–7999 接頭語, 9000–9999
//! 歯科部位) and the second character of 修飾語区分 (`8` = 接尾語); when they disagree the
//! code range wins and a warning (T081) says so.

use crate::check::Master;
use crate::codes;
use crate::delimited;
use crate::system::Shape;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location};

/// Where a modifier goes relative to the disease name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Before the name (接頭語, e.g. 左, 急性): the prefix-modifier extension.
    Prefix,
    /// After the name (接尾語, e.g. の疑い): the postfix-modifier extension.
    Postfix,
    /// 歯科部位 (9000–9999): not a Condition modifier extension.
    DentalSite,
}

impl Position {
    /// The JP Core extension URL a modifier in this position goes in (`None` for
    /// dental sites).
    pub fn extension_url(self) -> Option<&'static str> {
        match self {
            Position::Prefix => Some(PREFIX_EXTENSION),
            Position::Postfix => Some(POSTFIX_EXTENSION),
            Position::DentalSite => None,
        }
    }
}

/// JP Core `JP_Condition_DiseasePrefixModifier`.
pub const PREFIX_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePrefixModifier";
/// JP Core `JP_Condition_DiseasePostfixModifier`.
pub const POSTFIX_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePostfixModifier";
/// The receipt modifier code system (支払基金 修飾語コード).
pub const RECEIPT_MODIFIER: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier";
/// MEDIS 修飾語管理番号.
pub const MEDIS_KEY_NUMBER: &str = "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber";
/// MEDIS 修飾語交換用コード.
pub const MEDIS_EX_CODE: &str = "http://medis.or.jp/CodeSystem/master-disease-modExCode";

/// The position a receipt modifier code's range gives (`None` if the code is not
/// four digits or is `0000`).
pub fn position_of_code(code: &str) -> Option<Position> {
    if Shape::Digits(4).check(code).is_err() {
        return None;
    }
    match code.parse::<u32>().ok()? {
        1..=7999 => Some(Position::Prefix),
        8000..=8999 => Some(Position::Postfix),
        9000..=9999 => Some(Position::DentalSite),
        _ => None,
    }
}

/// One modifier of the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modifier {
    /// レセ電 修飾語コード (4 digits).
    pub code: String,
    /// 修飾語名称.
    pub name: String,
    /// 修飾語カナ名称.
    pub kana: String,
    /// MEDIS 修飾語管理番号 (8 digits; empty if the master gives none).
    pub key_number: String,
    /// MEDIS 修飾語交換用コード (4 characters; empty if none).
    pub ex_code: String,
    /// 修飾語区分 as written.
    pub category: String,
    /// Prefix, postfix or dental site.
    pub position: Position,
    /// 廃止年月日 (`YYYYMMDD`; empty or `99999999` when current).
    pub abolished: String,
    /// 1-based line of the record.
    pub line: u32,
}

impl Modifier {
    /// The codings a JP Core modifier extension carries for this modifier, in the
    /// order of its slices: MEDIS 修飾語交換用コード, 修飾語管理番号, レセ電 修飾語コード
    /// (codes the master leaves empty are left out).
    pub fn codings(&self) -> Vec<(&'static str, &str)> {
        [
            (MEDIS_EX_CODE, self.ex_code.as_str()),
            (MEDIS_KEY_NUMBER, self.key_number.as_str()),
            (RECEIPT_MODIFIER, self.code.as_str()),
        ]
        .into_iter()
        .filter(|(_, c)| !c.is_empty())
        .collect()
    }

    /// True if the master gives an abolition date (not the `99999999` placeholder).
    pub fn is_abolished(&self) -> bool {
        !self.abolished.is_empty() && self.abolished != "99999999" && self.abolished != "0"
    }
}

const COLUMNS: usize = 19;

/// Reads the master's bytes (CP932). Every record becomes a [`Modifier`] or a
/// diagnostic saying why it was skipped.
pub fn read_ssk_modifiers(bytes: &[u8]) -> (Vec<Modifier>, Diagnostics) {
    let mut d = Diagnostics::default();
    let text = crate::import::decode(bytes, encoding_rs::SHIFT_JIS, 0, &mut d);
    let (recs, bad) = delimited::records(&text, ',', Some('"'));
    for b in bad {
        d.push(
            Diagnostic::new(&codes::BAD_RECORD, b.message)
                .at(Location::default().line(b.line).byte(b.offset as u64)),
        );
    }
    let mut out = Vec::new();
    let at = |line: u32, col: usize, name: &'static str| {
        Location::default()
            .line(line)
            .field(FieldPath::new("Z", col as u32).named(name))
    };
    for r in recs {
        if r.fields.iter().all(|f| f.trim().is_empty()) || r.fields == ["\u{1a}"] {
            continue;
        }
        if r.fields.len() < COLUMNS {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    format!(
                        "修飾語マスター record has {} fields, the layout has {COLUMNS}; skipped",
                        r.fields.len()
                    ),
                )
                .at(Location::default().line(r.line)),
            );
            continue;
        }
        if r.fields.iter().any(|f| f.contains('\u{FFFD}')) {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    "record has undecodable bytes (reported above); skipped",
                )
                .at(Location::default().line(r.line)),
            );
            continue;
        }
        let f = |i: usize| r.fields[i - 1].trim().to_owned();
        if f(2) != "Z" {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    "マスター種別 is not Z (not a 修飾語マスター record); skipped",
                )
                .at(at(r.line, 2, "マスター種別"))
                .excerpt(Excerpt::text(f(2))),
            );
            continue;
        }
        let code = f(3);
        let Some(by_code) = position_of_code(&code) else {
            d.push(
                Diagnostic::new(
                    &codes::BAD_SHAPE,
                    "修飾語コード is not a 4-digit code from 0001 to 9999; skipped",
                )
                .at(at(r.line, 3, "修飾語コード"))
                .excerpt(Excerpt::text(&code)),
            );
            continue;
        };
        let key_number = f(17);
        if !key_number.is_empty() && Shape::Digits(8).check(&key_number).is_err() {
            d.push(
                Diagnostic::new(
                    &codes::BAD_SHAPE,
                    "修飾語管理番号 is not 8 digits; record kept without it",
                )
                .at(at(r.line, 17, "修飾語管理番号"))
                .excerpt(Excerpt::text(&key_number)),
            );
        }
        let category = f(19);
        let by_category = match category.chars().nth(1) {
            Some('8') => Some(Position::Postfix),
            Some('9') => Some(Position::DentalSite),
            Some('1'..='7') => Some(Position::Prefix),
            _ => None,
        };
        if by_category.is_some_and(|c| c != by_code) {
            d.push(
                Diagnostic::new(
                    &codes::MODIFIER_POSITION,
                    format!(
                        "修飾語コード range says {by_code:?}, 修飾語区分 says {:?}",
                        by_category.unwrap_or(by_code)
                    ),
                )
                .at(at(r.line, 19, "修飾語区分"))
                .excerpt(Excerpt::text(&category)),
            );
        }
        out.push(Modifier {
            key_number: if Shape::Digits(8).check(&key_number).is_ok() {
                key_number
            } else {
                String::new()
            },
            ex_code: f(18),
            name: f(7),
            kana: f(10),
            category,
            position: by_code,
            abolished: f(16),
            line: r.line,
            code,
        });
    }
    (out, d)
}

/// The modifiers as a master of the receipt modifier system (code → name, kana as
/// another name; abolished codes retired without a replacement).
pub fn to_master(mods: &[Modifier], version: &str) -> Master {
    let mut m = Master {
        system: RECEIPT_MODIFIER.into(),
        version: version.into(),
        ..Master::default()
    };
    for x in mods {
        if x.is_abolished() {
            m.retired.insert(x.code.clone(), String::new());
            continue;
        }
        m.codes.insert(x.code.clone(), x.name.clone());
        if !x.kana.is_empty() {
            m.names.insert(x.code.clone(), vec![x.kana.clone()]);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../tables/profiles/fixtures/ssk-modifier-z.csv");

    #[test]
    fn reads_the_fixture_in_the_official_layout() {
        let (mods, d) = read_ssk_modifiers(FIXTURE);
        let ids: Vec<_> = d.iter().map(|d| (d.code.id, d.location.line)).collect();
        // The fixture's last two records are deliberately wrong: a 修飾語区分 that
        // contradicts the code range (kept, warned) and a 3-digit code (skipped).
        assert_eq!(ids, [("T081", Some(5)), ("T001", Some(6))]);
        assert_eq!(mods.len(), 5);
        let left = &mods[0];
        assert_eq!(
            (left.code.as_str(), left.name.as_str(), left.kana.as_str()),
            ("1999", "架空左", "ｶｸｳﾋﾀﾞﾘ")
        );
        assert_eq!(left.position, Position::Prefix);
        assert_eq!(left.position.extension_url(), Some(PREFIX_EXTENSION));
        assert_eq!(
            left.codings(),
            [
                (MEDIS_EX_CODE, "ZX01"),
                (MEDIS_KEY_NUMBER, "29900001"),
                (RECEIPT_MODIFIER, "1999")
            ]
        );
        let doubt = &mods[1];
        assert_eq!(
            (doubt.code.as_str(), doubt.position),
            ("8999", Position::Postfix)
        );
        assert_eq!(doubt.position.extension_url(), Some(POSTFIX_EXTENSION));
        // Abolished modifier: retired in the master view.
        let m = to_master(&mods, "fixture");
        assert!(m.retired.contains_key("1998"));
        assert_eq!(m.codes.get("1999").map(String::as_str), Some("架空左"));
        // Contradicting 修飾語区分: the code range decides.
        assert_eq!(
            (mods[4].code.as_str(), mods[4].position),
            ("8998", Position::Postfix)
        );
    }

    #[test]
    fn code_ranges() {
        assert_eq!(position_of_code("0001"), Some(Position::Prefix));
        assert_eq!(position_of_code("7999"), Some(Position::Prefix));
        assert_eq!(position_of_code("8000"), Some(Position::Postfix));
        assert_eq!(position_of_code("9000"), Some(Position::DentalSite));
        assert_eq!(position_of_code("0000"), None);
        assert_eq!(position_of_code("800"), None);
        assert_eq!(position_of_code("80O2"), None);
    }

    #[test]
    fn short_and_foreign_records_are_reported() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS
            .encode("\"0\",\"Z\",\"8002\"\r\n\"0\",\"B\",\"8002\",,,,,,,,,,,,,,,,\r\n");
        let (mods, d) = read_ssk_modifiers(&bytes);
        assert!(mods.is_empty());
        let ids: Vec<_> = d.iter().map(|d| d.code.id).collect();
        assert_eq!(ids, ["T052", "T052"]);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;
        proptest! {
            #[test]
            fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
                let (mods, _) = read_ssk_modifiers(&bytes);
                for m in mods {
                    prop_assert!(position_of_code(&m.code).is_some());
                }
            }
        }
    }
}
