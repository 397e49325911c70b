//! The registry of standard code systems kakehashi emits: FHIR URI (URL form),
//! legacy OIDs, code shape, and the HL7 v2 coding-system names (CWE.3) that point
//! to each. Sources: standards.md §1.7 and §3 (JP Core 1.2 / JP-CLINS 1.5 alias
//! files and OID→URL tables).

/// What a code of a system looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Exactly `n` ASCII digits.
    Digits(usize),
    /// Exactly `n` ASCII upper-case letters or digits.
    Alnum(usize),
    /// Between `min` and `max` ASCII upper-case letters or digits.
    AlnumRange(usize, usize),
    /// JLAC10 17 characters: analyte (5, contains a letter), identification (4),
    /// specimen (3 digits), method (3), result (2).
    Jlac10,
    /// ICD-10 without dot: a letter, two digits, up to two more letters/digits.
    Icd10,
    /// JFAGY: 3-character meta code plus a core code of the length the meta code's
    /// second character gives (base 36); group codes are 3 characters.
    Jfagy,
    /// A JFAGY code (as [`Shape::Jfagy`]) of one of the allergen code systems: the
    /// meta code's first character is one of `first` and its third is `domain`
    /// (F food, N non-food/non-medication, M medication).
    JfagyIn {
        /// Allowed first characters of the meta code (`J` JFAGY, `D` dummy, `0`
        /// group, `Y` YJ, `G` 成分).
        first: &'static str,
        /// The domain character (third character of the meta code).
        domain: u8,
    },
    /// JP-CLINS local lab code: `<local>_<specimen>`.
    ClinsLocalLab,
    /// Exactly this code.
    Fixed(&'static str),
    /// Not checked (the shape is not published in the cited sources).
    Any,
}

/// Why a code does not have its system's [`Shape`] (no input text in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// [`Shape::Digits`]: not exactly `expected` digits.
    Digits {
        /// The number of digits the system takes.
        expected: usize,
        /// The number of characters of the code.
        found: usize,
    },
    /// [`Shape::Alnum`]: not exactly `expected` upper-case letters or digits.
    Alnum {
        /// The number of characters the system takes.
        expected: usize,
        /// The number of characters of the code.
        found: usize,
    },
    /// [`Shape::AlnumRange`]: not `min` to `max` upper-case letters or digits.
    AlnumRange {
        /// The fewest characters the system takes.
        min: usize,
        /// The most characters the system takes.
        max: usize,
        /// The number of characters of the code.
        found: usize,
    },
    /// [`Shape::Jlac10`]: not 17 upper-case letters or digits.
    Jlac10Length {
        /// The number of characters of the code.
        found: usize,
    },
    /// [`Shape::Jlac10`]: the analyte part (first 5 characters) has no letter.
    Jlac10Analyte,
    /// [`Shape::Jlac10`]: the specimen part (characters 10-12) is not 3 digits.
    Jlac10Specimen,
    /// [`Shape::Icd10`]: not an ICD-10 code without dot.
    Icd10,
    /// [`Shape::Jfagy`]: not a 3-character meta code plus a core code.
    Jfagy {
        /// The number of characters of the code.
        found: usize,
    },
    /// [`Shape::Jfagy`]: the core code is not as long as the meta code announces.
    JfagyCore {
        /// The core code's length the meta code announces.
        announced: usize,
        /// The core code's length.
        found: usize,
    },
    /// [`Shape::JfagyIn`]: a JFAGY code of another allergen system.
    JfagyOtherSystem {
        /// Allowed first characters of the meta code.
        first: &'static str,
        /// The domain character the system takes.
        domain: char,
    },
    /// [`Shape::ClinsLocalLab`]: not `<local code>_<specimen code>`.
    ClinsLocalLab,
    /// [`Shape::Fixed`]: not the system's single code.
    Fixed(&'static str),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShapeError::Digits { expected, found } => {
                write!(f, "expected {expected} digits, found {found} characters")
            }
            ShapeError::Alnum { expected, found } => write!(
                f,
                "expected {expected} upper-case letters or digits, found {found} characters"
            ),
            ShapeError::AlnumRange { min, max, found } => write!(
                f,
                "expected {min} to {max} upper-case letters or digits, found {found} characters"
            ),
            ShapeError::Jlac10Length { found } => write!(
                f,
                "expected 17 upper-case letters or digits (JLAC10), found {found} characters"
            ),
            ShapeError::Jlac10Analyte => {
                write!(f, "JLAC10 analyte part (first 5 characters) has no letter")
            }
            ShapeError::Jlac10Specimen => {
                write!(f, "JLAC10 specimen part (characters 10-12) is not 3 digits")
            }
            ShapeError::Icd10 => write!(f, "expected an ICD-10 code without dot (e.g. K297)"),
            ShapeError::Jfagy { found } => write!(
                f,
                "expected a JFAGY code (3-character meta code + core code), found {found} characters"
            ),
            ShapeError::JfagyCore { announced, found } => write!(
                f,
                "JFAGY meta code announces a {announced}-character core code, found {found}"
            ),
            ShapeError::JfagyOtherSystem { first, domain } => write!(
                f,
                "JFAGY meta code of another allergen system (this one takes {first}?{domain})"
            ),
            ShapeError::ClinsLocalLab => write!(f, "expected <local code>_<specimen code>"),
            ShapeError::Fixed(c) => write!(f, "this system has the single code {c}"),
        }
    }
}

impl std::error::Error for ShapeError {}

impl Shape {
    /// Checks a code; `Err` says what is wrong (no input text in it).
    pub fn check(self, code: &str) -> Result<(), ShapeError> {
        let upper_alnum = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase();
        let len = code.chars().count();
        match self {
            Shape::Digits(n) => {
                if len != n || !code.chars().all(|c| c.is_ascii_digit()) {
                    return Err(ShapeError::Digits {
                        expected: n,
                        found: len,
                    });
                }
            }
            Shape::Alnum(n) => {
                if len != n || !code.chars().all(upper_alnum) {
                    return Err(ShapeError::Alnum {
                        expected: n,
                        found: len,
                    });
                }
            }
            Shape::AlnumRange(min, max) => {
                if len < min || len > max || !code.chars().all(upper_alnum) {
                    return Err(ShapeError::AlnumRange {
                        min,
                        max,
                        found: len,
                    });
                }
            }
            Shape::Jlac10 => {
                if len != 17 || !code.chars().all(upper_alnum) {
                    return Err(ShapeError::Jlac10Length { found: len });
                }
                let b = code.as_bytes();
                if !b[..5].iter().any(u8::is_ascii_uppercase) {
                    return Err(ShapeError::Jlac10Analyte);
                }
                if !b[9..12].iter().all(u8::is_ascii_digit) {
                    return Err(ShapeError::Jlac10Specimen);
                }
            }
            Shape::Icd10 => {
                let b = code.as_bytes();
                let ok = (3..=5).contains(&b.len())
                    && b[0].is_ascii_uppercase()
                    && b[1].is_ascii_digit()
                    && b[2].is_ascii_digit()
                    && b[3..]
                        .iter()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
                if !ok {
                    return Err(ShapeError::Icd10);
                }
            }
            Shape::Jfagy => {
                let b = code.as_bytes();
                if b.len() < 3 || !code.chars().all(upper_alnum) {
                    return Err(ShapeError::Jfagy { found: len });
                }
                if b.len() == 3 {
                    return Ok(()); // group code
                }
                let core = char::from(b[1]).to_digit(36).unwrap_or(0) as usize;
                if b.len() != 3 + core {
                    return Err(ShapeError::JfagyCore {
                        announced: core,
                        found: b.len() - 3,
                    });
                }
            }
            Shape::JfagyIn { first, domain } => {
                Shape::Jfagy.check(code)?;
                let b = code.as_bytes();
                if !first.as_bytes().contains(&b[0]) || b[2] != domain {
                    return Err(ShapeError::JfagyOtherSystem {
                        first,
                        domain: char::from(domain),
                    });
                }
            }
            Shape::ClinsLocalLab => match code.rsplit_once('_') {
                Some((local, specimen)) if !local.is_empty() && !specimen.is_empty() => {}
                _ => return Err(ShapeError::ClinsLocalLab),
            },
            Shape::Fixed(c) => {
                if code != c {
                    return Err(ShapeError::Fixed(c));
                }
            }
            Shape::Any => {}
        }
        Ok(())
    }
}

/// One standard code system.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeSystem {
    /// Short stable key, also the CURIE prefix in tables (e.g. `JLAC10`).
    pub key: &'static str,
    /// Name for people.
    pub title: &'static str,
    /// The FHIR system URI to emit (URL form).
    pub uri: &'static str,
    /// Legacy OIDs and older URIs accepted as aliases (bare OIDs, without `urn:oid:`).
    pub aliases: &'static [&'static str],
    /// Code shape.
    pub shape: Shape,
    /// HL7 v2 coding-system names (CWE.3) that may point to this system; when
    /// several systems share a name, [`resolve_v2`] tells them apart by shape.
    pub v2_names: &'static [&'static str],
}

macro_rules! cs {
    ($key:expr, $title:expr, $uri:expr, [$($a:expr),*], $shape:expr, [$($v:expr),*]) => {
        CodeSystem { key: $key, title: $title, uri: $uri, aliases: &[$($a),*], shape: $shape, v2_names: &[$($v),*] }
    };
}

/// Every standard system kakehashi emits or reads (standards.md §3.1).
pub static SYSTEMS: &[CodeSystem] = &[
    cs!(
        "MEDIS-DISEASE",
        "MEDIS 標準病名マスター 病名管理番号",
        "http://medis.or.jp/CodeSystem/master-disease-keyNumber",
        ["1.2.392.200119.4.101.2"],
        Shape::Digits(8),
        ["MDCDX2"]
    ),
    cs!(
        "MEDIS-DISEASE-EX",
        "MEDIS 標準病名マスター 病名交換用コード",
        "http://medis.or.jp/CodeSystem/master-disease-exCode",
        ["1.2.392.200119.4.101.6"],
        Shape::Alnum(4),
        ["MDCDX2"]
    ),
    cs!(
        "MEDIS-MODIFIER",
        "MEDIS 修飾語管理番号",
        "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber",
        ["1.2.392.200119.4.201.2"],
        // 8 digits: JP Core's modKeyNumber examples (27000267 過敏性) and the MEDIS
        // 修飾語テーブル field list (修飾語管理番号, length 8).
        Shape::Digits(8),
        []
    ),
    cs!(
        "MEDIS-MODIFIER-EX",
        "MEDIS 修飾語交換用コード",
        "http://medis.or.jp/CodeSystem/master-disease-modExCode",
        ["1.2.392.200119.4.201.5"],
        Shape::Alnum(4),
        []
    ),
    cs!(
        "RECEIPT-DISEASE",
        "レセ電 傷病名コード",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease",
        [],
        Shape::Digits(7),
        []
    ),
    cs!(
        "RECEIPT-MODIFIER",
        "レセ電 修飾語コード",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier",
        [],
        Shape::Alnum(4),
        []
    ),
    // No URL-form URI is published for the レセ電 医薬品コード (JP-CLINS history.md lists
    // it as 関係者調整中; no JP Core 1.1.2 / JP-CLINS 1.5.2 CodeSystem or NamingSystem
    // names it). The MHLW 電子処方箋 CDA code table 別表15 "医薬品コード（レセ電算医薬品
    // マスター）" has the OID 1.2.392.100495.20.2.71, and FHIR allows `urn:oid:` as a
    // Coding.system, so that is the URI emitted until a URL is published (the URL form
    // will then become the uri and this one an alias).
    cs!(
        "RECEIPT-DRUG",
        "レセ電 医薬品コード (支払基金 医薬品マスター)",
        "urn:oid:1.2.392.100495.20.2.71",
        [],
        Shape::Digits(9),
        []
    ),
    // 薬価基準収載医薬品コード: same situation (OID 20.2.72, URL 関係者調整中).
    cs!(
        "DRUG-PRICE-LIST",
        "薬価基準収載医薬品コード",
        "urn:oid:1.2.392.100495.20.2.72",
        [],
        Shape::Alnum(12),
        []
    ),
    cs!(
        "RECEIPT-PROCEDURE",
        "レセ電 医科診療行為コード",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterS-medicalProcedure",
        [],
        Shape::Digits(9),
        []
    ),
    cs!(
        "ICD10",
        "ICD-10 (2013, MHLW) full",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full",
        ["2.16.840.1.113883.6.3.1"],
        Shape::Icd10,
        ["I10"]
    ),
    cs!(
        "ICD10-3",
        "ICD-10 (2013, MHLW) 3 digits",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-3digits",
        [],
        Shape::Icd10,
        []
    ),
    cs!(
        "JLAC10",
        "JLAC10 17桁",
        "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
        ["1.2.392.200119.4.504"],
        Shape::Jlac10,
        ["JC10"]
    ),
    cs!(
        "JLAC10-SPECIMEN",
        "JLAC10 材料コード",
        "http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationSampleMaterialCode_CS",
        [],
        Shape::Digits(3),
        ["JC10"]
    ),
    cs!(
        "CLINS-CORELABO",
        "JP-CLINS 検査 コア項目 (JLAC10)",
        "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS",
        [],
        Shape::Any,
        []
    ),
    cs!(
        "CLINS-INFECTIONLABO",
        "JP-CLINS 検査 感染症項目 (JLAC10)",
        "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS",
        [],
        Shape::Any,
        []
    ),
    cs!(
        "CLINS-LAB-UNCODED",
        "JP-CLINS 未標準化コード項目(JLAC)",
        "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS",
        [],
        Shape::Fixed("99999999999999999"),
        []
    ),
    cs!(
        "CLINS-LAB-LOCAL",
        "JP-CLINS 検査 ローカルコード",
        "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS",
        [],
        Shape::ClinsLocalLab,
        []
    ),
    cs!(
        "YJ",
        "YJコード (個別医薬品)",
        "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code",
        ["1.2.392.100495.20.2.73", "1.2.392.100495.20.1.73"],
        Shape::Alnum(12),
        []
    ),
    cs!(
        "YJ9ZZZ",
        "規格別薬剤成分 (YJ 9桁 + ZZZ)",
        "http://capstandard.jp/CodeSystem/KikakubetsuYakuzaiSeibun",
        ["http://jpfhir.jp/fhir/core/mhlw/CodeSystem/YJ9ZZZ"],
        Shape::Alnum(12),
        []
    ),
    cs!(
        "GENERAL-ORDER",
        "一般名処方マスタ",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode",
        ["1.2.392.100495.20.2.81", "1.2.392.100495.20.1.81"],
        Shape::Alnum(12),
        []
    ),
    cs!(
        "HOT13",
        "MEDIS HOT13",
        "http://medis.or.jp/CodeSystem/master-HOT13",
        ["1.2.392.200119.4.402.1"],
        Shape::Digits(13),
        []
    ),
    cs!(
        "HOT9",
        "MEDIS HOT9",
        "http://medis.or.jp/CodeSystem/master-HOT9",
        ["1.2.392.200119.4.403.1", "1.2.392.100495.20.2.74"],
        Shape::Digits(9),
        ["HOT9"]
    ),
    cs!(
        "HOT7",
        "MEDIS HOT7",
        "http://medis.or.jp/CodeSystem/master-HOT7",
        ["1.2.392.200119.4.403.2"],
        Shape::Digits(7),
        []
    ),
    cs!(
        "MED-NOCODED",
        "JP-CLINS 医薬品未標準化",
        "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS",
        [],
        Shape::Fixed("NOCODED"),
        []
    ),
    cs!(
        "JAMI-USAGE",
        "JAMI 標準用法コード 16桁",
        "http://jami.jp/CodeSystem/MedicationUsage",
        ["1.2.392.200250.2.2.20", "1.2.392.200250.2.2.20.20"],
        Shape::Alnum(16),
        ["JAMISDP01"]
    ),
    cs!(
        "EPRESC-USAGE",
        "電子処方箋用法",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription",
        [],
        Shape::AlnumRange(1, 16),
        []
    ),
    cs!(
        "CLINS-USAGE-UNCODED",
        "JP-CLINS 用法ダミー",
        "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS",
        [],
        Shape::Fixed("0X0XXXXXXXXX0000"),
        []
    ),
    cs!(
        "MERIT9-UNIT",
        "MERIT-9 単位",
        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUnitMERIT9Code",
        ["1.2.392.100495.20.2.101"],
        Shape::Any,
        []
    ),
    cs!(
        "JFAGY-FOOD",
        "JFAGY 食品アレルゲン",
        "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS",
        [],
        Shape::JfagyIn {
            first: "JD0",
            domain: b'F'
        },
        ["JFAGY"]
    ),
    cs!(
        "JFAGY-NONFOOD",
        "JFAGY 非食品・非医薬品アレルゲン",
        "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS",
        [],
        Shape::JfagyIn {
            first: "JD0",
            domain: b'N'
        },
        ["JFAGY"]
    ),
    cs!(
        "JFAGY-MED-YCM",
        "JFAGY 医薬品アレルゲン (YJ)",
        "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS",
        ["http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyMedicationAllergen_CS"],
        Shape::JfagyIn {
            first: "YD",
            domain: b'M'
        },
        ["JFAGY"]
    ),
    cs!(
        "JFAGY-MED-GCM",
        "JFAGY 医薬品アレルゲン (薬剤成分)",
        "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS",
        [],
        Shape::JfagyIn {
            first: "G",
            domain: b'M'
        },
        ["JFAGY"]
    ),
    cs!(
        "JANIS-AGENT",
        "JANIS 菌名",
        "urn:oid:1.2.392.100495.10.3.100.5.27.6.1",
        [],
        Shape::Any,
        ["JANIS"]
    ),
    cs!(
        "SSMIX2-DEPT",
        "SS-MIX2 統一診療科コード",
        "http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment",
        ["1.2.392.200250.2.2.2"],
        Shape::AlnumRange(2, 3),
        []
    ),
];

/// Looks a system up by key, URI, legacy URI or OID (with or without `urn:oid:`).
pub fn by_uri(uri: &str) -> Option<&'static CodeSystem> {
    let bare = uri.strip_prefix("urn:oid:").unwrap_or(uri);
    SYSTEMS.iter().find(|s| {
        s.uri == uri
            || s.uri.strip_prefix("urn:oid:") == Some(bare)
            || s.key == uri
            || s.aliases.contains(&bare)
            || s.aliases.contains(&uri)
    })
}

/// Looks a system up by its short key (e.g. `JLAC10`).
pub fn by_key(key: &str) -> Option<&'static CodeSystem> {
    SYSTEMS.iter().find(|s| s.key == key)
}

/// What an HL7 v2 coding-system name (CWE.3) with a given code points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V2System {
    /// A standard system, chosen by name and (for shared names) code shape.
    Standard(&'static CodeSystem),
    /// An HL7 v2 table (`HL7nnnn`): `http://terminology.hl7.org/CodeSystem/v2-nnnn`.
    Hl7Table(String),
    /// A local system (`99xxx`, HL7 table 0396 convention); local names are per site.
    Local {
        /// The v2 name as written (e.g. `99XYZ`).
        name: String,
    },
    /// The name is known but the code fits none of its systems' shapes.
    BadShape {
        /// The systems the name may point to.
        candidates: Vec<&'static CodeSystem>,
    },
    /// A spelling variant of a known name (`J-FAGY`, `JLAC10`, `HOT`) whose code
    /// fits exactly one system: read as that system, with an info diagnostic.
    Variant {
        /// The system the code fits.
        system: &'static CodeSystem,
        /// The name as written.
        written: String,
        /// The SS-MIX2 name it is a variant of (e.g. `JFAGY`, `JC10`, `HOT9`).
        canonical: &'static str,
    },
    /// A spelling variant of known names whose code fits several of their systems
    /// (JLAC10 and JLAC11), or none: treated as local, never guessed.
    AmbiguousVariant {
        /// The systems (keys or names) the code fits; empty when it fits none.
        fits: Vec<&'static str>,
    },
    /// The name is not known (the caller treats the code as local and reports it).
    Unknown,
}

/// Spelling variants that do not simply differ from an SS-MIX2 name by case,
/// hyphens, underscores, spaces or full-width letters: the normalised spelling and
/// the names it may stand for. `JLAC` may be JLAC10 or its successor JLAC11 (same
/// 17-character shape), `HOT` any HOT length.
const VARIANTS: &[(&str, &[&str])] = &[
    ("JLAC10", &["JC10"]),
    ("JLAC", &["JC10", "JLAC11"]),
    ("JC", &["JC10", "JLAC11"]),
    ("JLAC11", &["JLAC11"]),
    ("JC11", &["JLAC11"]),
    ("HOT", &["HOT9", "HOT7", "HOT13"]),
    ("JFAGYCODE", &["JFAGY"]),
];

/// Systems a variant may stand for that have no SS-MIX2 name kakehashi reads, with
/// their shapes: they take part in the "fits exactly one" test, and a code that
/// fits one of them stays local.
const UNNAMED_SYSTEMS: &[(&str, Shape)] = &[
    // JLAC11's segment structure is not published in our sources: 17 characters.
    ("JLAC11", Shape::Alnum(17)),
    ("HOT7", Shape::Digits(7)),
    ("HOT13", Shape::Digits(13)),
];

/// A coding-system name normalised for comparing spellings: ASCII upper case,
/// full-width letters and digits folded, `-` `_` `.` `/` and spaces removed.
fn normalise_name(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c as u32 {
                // Full-width ASCII (U+FF01..U+FF5E) → ASCII.
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            (!matches!(c, '-' | '_' | '.' | '/' | ' ' | '\u{3000}'))
                .then_some(c.to_ascii_uppercase())
        })
        .collect()
}

/// The SS-MIX2 names a name written differently may stand for (empty when it is
/// no known variant). A name that is itself an SS-MIX2 name is not a variant.
fn variant_of(name: &str) -> Vec<&'static str> {
    let norm = normalise_name(name);
    if norm.is_empty() {
        return Vec::new();
    }
    if let Some((_, names)) = VARIANTS.iter().find(|(v, _)| *v == norm) {
        return names.to_vec();
    }
    let mut out: Vec<&'static str> = SYSTEMS
        .iter()
        .flat_map(|s| s.v2_names.iter().copied())
        .filter(|v| normalise_name(v) == norm)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Resolves a spelling variant: the systems of every name it may stand for whose
/// shape the code fits; exactly one (with an SS-MIX2 name) is a [`V2System::Variant`].
fn resolve_variant(name: &str, code: &str) -> Option<V2System> {
    let names = variant_of(name);
    if names.is_empty() {
        return None;
    }
    let mut named: Vec<(&'static CodeSystem, &'static str)> = Vec::new();
    let mut fits: Vec<&'static str> = Vec::new();
    for n in &names {
        for s in SYSTEMS.iter().filter(|s| s.v2_names.contains(n)) {
            if s.shape.check(code).is_ok() {
                named.push((s, *n));
                fits.push(s.key);
            }
        }
        for (key, shape) in UNNAMED_SYSTEMS.iter().filter(|(k, _)| k == n) {
            if shape.check(code).is_ok() {
                fits.push(*key);
            }
        }
    }
    fits.sort_unstable();
    fits.dedup();
    Some(match (named.as_slice(), fits.len()) {
        ([(system, canonical)], 1) => V2System::Variant {
            system,
            written: name.to_owned(),
            canonical,
        },
        _ => V2System::AmbiguousVariant { fits },
    })
}

/// Resolves a v2 coding-system name and code: `MDCDX2` is the MEDIS keyNumber (8
/// digits) or exCode (4 characters); `JC10` is a JLAC10 17-character code or a
/// 3-digit specimen code; `99…` is local.
pub fn resolve_v2(name: &str, code: &str) -> V2System {
    if name.starts_with("99") {
        return V2System::Local { name: name.into() };
    }
    if let Some(n) = name.strip_prefix("HL7")
        && n.len() == 4
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return V2System::Hl7Table(format!("http://terminology.hl7.org/CodeSystem/v2-{n}"));
    }
    let candidates: Vec<&'static CodeSystem> = SYSTEMS
        .iter()
        .filter(|s| s.v2_names.contains(&name))
        .collect();
    if candidates.is_empty() {
        return resolve_variant(name, code).unwrap_or(V2System::Unknown);
    }
    match candidates.iter().find(|s| s.shape.check(code).is_ok()) {
        Some(s) => V2System::Standard(s),
        None => V2System::BadShape { candidates },
    }
}

/// The diagnostic for a v2 coding-system name [`resolve_v2`] does not know (the
/// caller treats the code as local to the site).
pub fn unknown_v2_diagnostic(name: &str) -> diagnostics::Diagnostic {
    diagnostics::Diagnostic::new(
        &crate::codes::UNKNOWN_V2_NAME,
        "unknown HL7 v2 coding-system name; the code is treated as local",
    )
    .excerpt(diagnostics::Excerpt::text(name))
}

/// The source-system URI a mapper queries tables with, for a code received as
/// CWE `code^…^name` from `site`: the standard system's URI, the HL7 table URI, or
/// the site's local system. Unknown names and codes of the wrong shape are
/// treated as local to the site, with a diagnostic (never guessed into a
/// standard system).
pub fn source_uri_for_v2(
    name: &str,
    code: &str,
    site: &str,
) -> (String, Option<diagnostics::Diagnostic>) {
    match resolve_v2(name, code) {
        V2System::Standard(cs) => (cs.uri.to_owned(), None),
        V2System::Hl7Table(uri) => (uri, None),
        V2System::Local { name } => (local_uri(site, &name), None),
        V2System::Unknown => (local_uri(site, name), Some(unknown_v2_diagnostic(name))),
        V2System::Variant {
            system,
            written,
            canonical,
        } => {
            let d = diagnostics::Diagnostic::new(
                &crate::codes::NAME_VARIANT,
                format!(
                    "coding-system name '{written}' is a spelling variant of {canonical}; \
                     the code fits only {}: read as {canonical}",
                    system.key
                ),
            )
            .excerpt(diagnostics::Excerpt::text(written));
            (system.uri.to_owned(), Some(d))
        }
        V2System::AmbiguousVariant { fits } => {
            let why = if fits.is_empty() {
                "the code fits none of their systems".to_owned()
            } else {
                format!("the code fits {}", fits.join(" and "))
            };
            let d = diagnostics::Diagnostic::new(
                &crate::codes::AMBIGUOUS_VARIANT,
                format!(
                    "coding-system name '{name}' is a spelling variant of known names, but {why}; treated as local"
                ),
            )
            .excerpt(diagnostics::Excerpt::text(code));
            (local_uri(site, name), Some(d))
        }
        V2System::BadShape { candidates } => {
            let keys: Vec<&str> = candidates.iter().map(|c| c.key).collect();
            let d = diagnostics::Diagnostic::new(
                &crate::codes::BAD_SHAPE,
                format!(
                    "code sent as {name} fits none of {}; treated as local",
                    keys.join(", ")
                ),
            )
            .excerpt(diagnostics::Excerpt::text(code));
            (local_uri(site, name), Some(d))
        }
    }
}

/// A local code system's URI, derived from the site and the v2 name:
/// `urn:kakehashi:local:<site>:<name>` (stable, never sent to the national service).
pub fn local_uri(site: &str, name: &str) -> String {
    format!("urn:kakehashi:local:{site}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_accept_the_published_examples() {
        let ok = [
            ("JLAC10", "3A015000002327101"),
            ("JLAC10", "3A010000002327101"),
            ("MEDIS-DISEASE", "20054174"),
            ("MEDIS-DISEASE-EX", "TSQF"),
            ("RECEIPT-DISEASE", "3721002"),
            ("HOT9", "106824501"),
            ("YJ", "1124001F1020"),
            ("GENERAL-ORDER", "1124001F1ZZZ"),
            ("ICD10", "K297"),
            ("ICD10", "C169"),
            ("JFAGY-FOOD", "J9FA32113200"),
            ("JFAGY-FOOD", "00F"),
            ("JAMI-USAGE", "1013044400000000"),
            ("CLINS-LAB-LOCAL", "E001_023"),
            ("RECEIPT-DRUG", "620098401"),
            ("RECEIPT-MODIFIER", "8002"),
            ("MEDIS-MODIFIER", "27000267"),
            ("MEDIS-MODIFIER-EX", "3216"),
            ("DRUG-PRICE-LIST", "1124001F1022"),
        ];
        for (k, c) in ok {
            let s = by_key(k).unwrap();
            assert_eq!(s.shape.check(c), Ok(()), "{k} {c}");
        }
    }

    #[test]
    fn shapes_reject_wrong_codes() {
        let bad = [
            ("JLAC10", "30150000002327101"), // analyte without a letter
            ("JLAC10", "3A01500000232710"),  // 16 characters
            ("JLAC10", "5A1002411023006"),   // 15 characters (seen in the NHO sample)
            ("MEDIS-DISEASE", "2005417"),
            ("MEDIS-DISEASE-EX", "tsqf"),
            ("HOT9", "10682450A"),
            ("ICD10", "K29.7"),
            ("JFAGY-FOOD", "J9FA321132"),
            ("CLINS-LAB-UNCODED", "9999"),
            ("RECEIPT-DRUG", "62009840"),
            ("RECEIPT-DRUG", "62009840A"),
            ("MEDIS-MODIFIER", "2700026"),
        ];
        for (k, c) in bad {
            let s = by_key(k).unwrap();
            assert!(s.shape.check(c).is_err(), "{k} {c}");
        }
    }

    #[test]
    fn v2_names_resolve_by_shape() {
        assert_eq!(
            resolve_v2("MDCDX2", "20054174"),
            V2System::Standard(by_key("MEDIS-DISEASE").unwrap())
        );
        assert_eq!(
            resolve_v2("MDCDX2", "TSQF"),
            V2System::Standard(by_key("MEDIS-DISEASE-EX").unwrap())
        );
        assert!(matches!(
            resolve_v2("MDCDX2", "123"),
            V2System::BadShape { .. }
        ));
        assert_eq!(
            resolve_v2("JC10", "023"),
            V2System::Standard(by_key("JLAC10-SPECIMEN").unwrap())
        );
        assert_eq!(
            resolve_v2("JC10", "3A015000002327101"),
            V2System::Standard(by_key("JLAC10").unwrap())
        );
        assert_eq!(
            resolve_v2("HOT9", "106824501"),
            V2System::Standard(by_key("HOT9").unwrap())
        );
        assert_eq!(
            resolve_v2("I10", "K297"),
            V2System::Standard(by_key("ICD10").unwrap())
        );
        assert_eq!(
            resolve_v2("JAMISDP01", "1013044400000000"),
            V2System::Standard(by_key("JAMI-USAGE").unwrap())
        );
        assert_eq!(
            resolve_v2("99XYZ", "1"),
            V2System::Local {
                name: "99XYZ".into()
            }
        );
        assert_eq!(
            resolve_v2("HL70127", "DA"),
            V2System::Hl7Table("http://terminology.hl7.org/CodeSystem/v2-0127".into())
        );
        assert_eq!(resolve_v2("MR9X", "x"), V2System::Unknown);
    }

    #[test]
    fn spelling_variants_map_only_when_the_shape_fits_one_system() {
        let variant = |name: &str, code: &str| match resolve_v2(name, code) {
            V2System::Variant {
                system, canonical, ..
            } => Some((system.key, canonical)),
            _ => None,
        };
        // J-FAGY: the meta code tells the four allergen systems apart.
        assert_eq!(
            variant("J-FAGY", "J9FA32113200"),
            Some(("JFAGY-FOOD", "JFAGY"))
        );
        assert_eq!(
            variant("jfagy", "J9NK13320000"),
            Some(("JFAGY-NONFOOD", "JFAGY"))
        );
        assert_eq!(
            variant("J_FAGY", "YCM1124001F1020"),
            Some(("JFAGY-MED-YCM", "JFAGY"))
        );
        assert_eq!(
            variant("ＪＦＡＧＹ", "GCM1124001F1ZZZ"),
            Some(("JFAGY-MED-GCM", "JFAGY"))
        );
        // The canonical name is no variant.
        assert_eq!(
            resolve_v2("JFAGY", "J9FA32113200"),
            V2System::Standard(by_key("JFAGY-FOOD").unwrap())
        );
        // JLAC10 spellings; a bare JLAC code fits JLAC10 and JLAC11: local.
        assert_eq!(
            variant("JLAC10", "3A015000002327101"),
            Some(("JLAC10", "JC10"))
        );
        assert_eq!(variant("JLAC-10", "023"), Some(("JLAC10-SPECIMEN", "JC10")));
        assert_eq!(
            variant("jc10", "3A015000002327101"),
            Some(("JLAC10", "JC10"))
        );
        assert_eq!(
            resolve_v2("JLAC", "3A015000002327101"),
            V2System::AmbiguousVariant {
                fits: vec!["JLAC10", "JLAC11"]
            }
        );
        // HOT: 9 digits fit HOT9 only; 13 digits fit HOT13, which has no SS-MIX2 name.
        assert_eq!(variant("HOT", "106824501"), Some(("HOT9", "HOT9")));
        assert_eq!(variant("HOT-9", "106824501"), Some(("HOT9", "HOT9")));
        assert_eq!(
            resolve_v2("HOT", "1068245010101"),
            V2System::AmbiguousVariant {
                fits: vec!["HOT13"]
            }
        );
        assert_eq!(
            resolve_v2("HOT9", "10682450A"),
            V2System::BadShape {
                candidates: vec![by_key("HOT9").unwrap()]
            }
        );
        assert_eq!(
            resolve_v2("J-FAGY", "X"),
            V2System::AmbiguousVariant { fits: vec![] }
        );
        // Not a variant of anything.
        assert_eq!(resolve_v2("MR9X", "x"), V2System::Unknown);
        assert_eq!(resolve_v2("-", "x"), V2System::Unknown);
        let (u, d) = source_uri_for_v2("J-FAGY", "J9FA32113200", "s");
        assert_eq!(
            u,
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS"
        );
        let d = d.unwrap();
        assert_eq!(d.code.id, "T003");
        assert!(d.message.contains("'J-FAGY'"), "{}", d.message);
        let (u, d) = source_uri_for_v2("JLAC", "3A015000002327101", "s");
        assert_eq!(u, "urn:kakehashi:local:s:JLAC");
        assert_eq!(d.unwrap().code.id, "T004");
    }

    #[test]
    fn jfagy_systems_take_their_own_meta_codes() {
        for (k, ok, bad) in [
            ("JFAGY-FOOD", "D9F000000000", "J9NK13320000"),
            ("JFAGY-NONFOOD", "00N", "00F"),
            ("JFAGY-MED-YCM", "D9M000000000", "GCM1124001F1ZZZ"),
            ("JFAGY-MED-GCM", "GCM1124001F1ZZZ", "YCM1124001F1020"),
        ] {
            let s = by_key(k).unwrap();
            assert_eq!(s.shape.check(ok), Ok(()), "{k} {ok}");
            assert!(s.shape.check(bad).is_err(), "{k} {bad}");
        }
    }

    #[test]
    fn source_uris_for_mappers() {
        let (u, d) = source_uri_for_v2("JC10", "3A010000002327101", "s");
        assert_eq!(
            (u.as_str(), d),
            ("http://medis.or.jp/CodeSystem/master-JLAC10-17digits", None)
        );
        let (u, d) = source_uri_for_v2("99X03", "10222", "nho");
        assert_eq!((u.as_str(), d), ("urn:kakehashi:local:nho:99X03", None));
        let (u, d) = source_uri_for_v2("JC10", "5A1002411023006", "nho");
        assert_eq!(u, "urn:kakehashi:local:nho:JC10");
        assert_eq!(d.unwrap().code.id, "T001");
        let (_, d) = source_uri_for_v2("ZZZ", "1", "nho");
        assert_eq!(d.unwrap().code.id, "T002");
    }

    #[test]
    fn oids_and_legacy_uris_are_aliases() {
        assert_eq!(
            by_uri("urn:oid:1.2.392.200119.4.504").unwrap().key,
            "JLAC10"
        );
        assert_eq!(by_uri("1.2.392.100495.20.1.73").unwrap().key, "YJ");
        assert_eq!(
            by_uri("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/YJ9ZZZ")
                .unwrap()
                .key,
            "YJ9ZZZ"
        );
        assert!(by_uri("http://example.org/x").is_none());
        // A system whose URI is an OID is found with or without `urn:oid:`.
        assert_eq!(
            by_uri("urn:oid:1.2.392.100495.20.2.71").unwrap().key,
            "RECEIPT-DRUG"
        );
        assert_eq!(
            by_uri("1.2.392.100495.20.2.71").unwrap().key,
            "RECEIPT-DRUG"
        );
    }

    #[test]
    fn registry_keys_and_uris_are_unique() {
        for (i, a) in SYSTEMS.iter().enumerate() {
            for b in &SYSTEMS[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.uri, b.uri);
            }
        }
    }
}
