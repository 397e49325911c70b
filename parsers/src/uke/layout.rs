//! Static field tables of the 医科 records: column number, name, mode, maximum bytes, fixed length.

use diagnostics::Phi;

/// How a field's characters are checked (記録条件仕様 モード).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 数字: half-width digits.
    Digits,
    /// 英数: half-width ASCII (and JIS X 0201 kana).
    Alnum,
    /// 漢字: full-width only.
    Kanji,
    /// 英数 or 漢字, but not a mix.
    AlnumOrKanji,
    /// Full date: `GYYMMDD` (era layout) or `YYYYMMDD` (Western layout).
    Date,
    /// Year and month: `GYYMM` or `YYYYMM`.
    YearMonth,
    /// Concatenated repeating codes: `unit` characters each, at most `count`.
    Repeat {
        /// Characters per code.
        unit: usize,
        /// Maximum number of codes.
        count: usize,
    },
    /// Not checked (予備, or a record known only at record level).
    Any,
}

/// One column of a record layout.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    /// Field name as in the specification.
    pub name: &'static str,
    /// Character mode.
    pub mode: Mode,
    /// Maximum length in Shift_JIS bytes (0 = unchecked).
    pub max: usize,
    /// Fixed length: a non-empty value must be exactly `max` bytes.
    pub fixed: bool,
    /// PHI kind, when the field identifies a person.
    pub phi: Option<Phi>,
}

const fn c(name: &'static str, mode: Mode, max: usize) -> Col {
    Col {
        name,
        mode,
        max,
        fixed: false,
        phi: None,
    }
}
const fn fx(name: &'static str, mode: Mode, max: usize) -> Col {
    Col {
        name,
        mode,
        max,
        fixed: true,
        phi: None,
    }
}
const fn p(name: &'static str, mode: Mode, max: usize, phi: Phi) -> Col {
    Col {
        name,
        mode,
        max,
        fixed: false,
        phi: Some(phi),
    }
}

use Mode::*;

const ID: Col = fx("レコード識別情報", Alnum, 2);
const SPARE: Col = c("予備", Any, 0);

/// A record layout: its columns (column 1 is the record id) and how strictly the count is checked.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Record id.
    pub id: &'static str,
    /// Record name.
    pub name: &'static str,
    /// Columns, column 1 first.
    pub cols: &'static [Col],
    /// Fewest columns accepted (older files may lack trailing columns).
    pub min: usize,
    /// True when only the first columns are known: extra columns are kept without a diagnostic.
    pub open: bool,
}

impl Spec {
    /// The column (1-based), if the layout names it.
    pub fn col(&self, column: usize) -> Option<&'static Col> {
        column.checked_sub(1).and_then(|i| self.cols.get(i))
    }
}

const IR: &[Col] = &[
    ID,
    fx("審査支払機関", Digits, 1),
    fx("都道府県", Digits, 2),
    fx("点数表", Alnum, 1),
    fx("医療機関コード", Digits, 7),
    SPARE,
    c("医療機関名称", Kanji, 40),
    c("請求年月", YearMonth, 6),
    fx("マルチボリューム識別情報", Digits, 2),
    c("電話番号", Alnum, 15),
];

const RE: &[Col] = &[
    ID,
    c("レセプト番号", Digits, 6),
    fx("レセプト種別", Digits, 4),
    c("診療年月", YearMonth, 6),
    p("氏名", AlnumOrKanji, 40, Phi::Name),
    fx("男女区分", Digits, 1),
    p("生年月日", Date, 8, Phi::BirthDate),
    c("給付割合", Digits, 3),
    c("入院年月日", Date, 8),
    c("病棟区分", Digits, 8),
    c(
        "一部負担金・食事療養費・生活療養費標準負担額区分",
        Digits,
        1,
    ),
    c("レセプト特記事項", Repeat { unit: 2, count: 5 }, 10),
    c("病床数", Digits, 4),
    c("カルテ番号等", Alnum, 20),
    c("割引点数単価", Digits, 2),
    SPARE,
    SPARE,
    SPARE,
    c("検索番号", Alnum, 30),
    c("記録条件仕様年月情報", Any, 6),
    c("請求情報", AlnumOrKanji, 40),
    c("診療科名1", Digits, 2),
    c("人体の部位等1", Digits, 3),
    c("性別等1", Digits, 1),
    c("医学的処置1", Digits, 3),
    c("特定疾病1", Digits, 2),
    c("診療科名2", Digits, 2),
    c("人体の部位等2", Digits, 3),
    c("性別等2", Digits, 1),
    c("医学的処置2", Digits, 3),
    c("特定疾病2", Digits, 2),
    c("診療科名3", Digits, 2),
    c("人体の部位等3", Digits, 3),
    c("性別等3", Digits, 1),
    c("医学的処置3", Digits, 3),
    c("特定疾病3", Digits, 2),
    p("カタカナ氏名", Kanji, 40, Phi::Name),
    c("患者の状態", Repeat { unit: 3, count: 20 }, 60),
];

const HO: &[Col] = &[
    ID,
    p("保険者番号", Alnum, 8, Phi::InsuranceNumber),
    p("被保険者証等の記号", AlnumOrKanji, 38, Phi::InsuranceNumber),
    p("被保険者証等の番号", AlnumOrKanji, 38, Phi::InsuranceNumber),
    c("診療実日数", Digits, 2),
    c("合計点数", Digits, 8),
    SPARE,
    c("食事療養・生活療養回数", Digits, 3),
    c("食事療養・生活療養合計金額", Digits, 8),
    c("職務上の事由", Digits, 1),
    c("証明書番号", Digits, 3),
    c("負担金額（医療保険）", Digits, 8),
    c("減免区分", Digits, 1),
    c("減額割合", Digits, 3),
    c("減額金額", Digits, 6),
];

const KO: &[Col] = &[
    ID,
    fx("公費負担者番号", Digits, 8),
    p("公費受給者番号", Digits, 7, Phi::InsuranceNumber),
    c("任意給付区分", Digits, 1),
    c("診療実日数", Digits, 2),
    c("合計点数", Digits, 8),
    c("負担金額（公費）", Digits, 8),
    c("公費給付対象外来一部負担金", Digits, 8),
    c("公費給付対象入院一部負担金", Digits, 8),
    SPARE,
    c("食事療養・生活療養回数", Digits, 3),
    c("食事療養・生活療養合計金額", Digits, 8),
];

const KH: &[Col] = &[ID, c("国保連固有情報", Any, 0)];

const SN: &[Col] = &[
    ID,
    c("負担者種別", Digits, 1),
    c("確認区分", Digits, 2),
    p("保険者番号等", Alnum, 8, Phi::InsuranceNumber),
    p("被保険者証等の記号", AlnumOrKanji, 38, Phi::InsuranceNumber),
    p("被保険者証等の番号", AlnumOrKanji, 38, Phi::InsuranceNumber),
    p("枝番", Digits, 2, Phi::InsuranceNumber),
    p("受給者番号", Digits, 7, Phi::InsuranceNumber),
    SPARE,
];

macro_rules! days {
    ($mode:expr, $max:expr) => {
        [
            c("1日", $mode, $max),
            c("2日", $mode, $max),
            c("3日", $mode, $max),
            c("4日", $mode, $max),
            c("5日", $mode, $max),
            c("6日", $mode, $max),
            c("7日", $mode, $max),
            c("8日", $mode, $max),
            c("9日", $mode, $max),
            c("10日", $mode, $max),
            c("11日", $mode, $max),
            c("12日", $mode, $max),
            c("13日", $mode, $max),
            c("14日", $mode, $max),
            c("15日", $mode, $max),
            c("16日", $mode, $max),
            c("17日", $mode, $max),
            c("18日", $mode, $max),
            c("19日", $mode, $max),
            c("20日", $mode, $max),
            c("21日", $mode, $max),
            c("22日", $mode, $max),
            c("23日", $mode, $max),
            c("24日", $mode, $max),
            c("25日", $mode, $max),
            c("26日", $mode, $max),
            c("27日", $mode, $max),
            c("28日", $mode, $max),
            c("29日", $mode, $max),
            c("30日", $mode, $max),
            c("31日", $mode, $max),
        ]
    };
}

const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [Col; A],
    b: [Col; B],
) -> [Col; N] {
    let mut out = [SPARE; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

const JD: [Col; 33] = concat([ID, c("負担者種別", Digits, 1)], days!(Digits, 1));
const MF: [Col; 33] = concat([ID, c("窓口負担額区分", Digits, 2)], [SPARE; 31]);

const GR: &[Col] = &[ID, c("包括評価対象外理由", Any, 0)];

const ACT_HEAD_SI: [Col; 13] = [
    ID,
    fx("診療識別", Digits, 2),
    c("負担区分", Alnum, 1),
    fx("診療行為コード", Digits, 9),
    c("数量データ", Digits, 8),
    c("点数", Digits, 7),
    c("回数", Digits, 3),
    fx("コメントコード1", Digits, 9),
    c("文字データ1", AlnumOrKanji, 100),
    fx("コメントコード2", Digits, 9),
    c("文字データ2", AlnumOrKanji, 100),
    fx("コメントコード3", Digits, 9),
    c("文字データ3", AlnumOrKanji, 100),
];
const SI: [Col; 44] = concat(ACT_HEAD_SI, days!(Digits, 3));

const ACT_HEAD_IY: [Col; 13] = [
    ID,
    fx("診療識別", Digits, 2),
    c("負担区分", Alnum, 1),
    fx("医薬品コード", Digits, 9),
    c("使用量", Alnum, 11),
    c("点数", Digits, 7),
    c("回数", Digits, 3),
    fx("コメントコード1", Digits, 9),
    c("文字データ1", AlnumOrKanji, 100),
    fx("コメントコード2", Digits, 9),
    c("文字データ2", AlnumOrKanji, 100),
    fx("コメントコード3", Digits, 9),
    c("文字データ3", AlnumOrKanji, 100),
];
const IY: [Col; 44] = concat(ACT_HEAD_IY, days!(Digits, 3));

const TO_HEAD: [Col; 17] = [
    ID,
    fx("診療識別", Digits, 2),
    c("負担区分", Alnum, 1),
    fx("特定器材コード", Digits, 9),
    c("使用量", Alnum, 9),
    c("点数", Digits, 7),
    c("回数", Digits, 3),
    c("単位コード", Digits, 3),
    c("単価", Alnum, 12),
    c("特定器材名称", AlnumOrKanji, 254),
    c("商品名及び規格又はサイズ", AlnumOrKanji, 300),
    fx("コメントコード1", Digits, 9),
    c("文字データ1", AlnumOrKanji, 100),
    fx("コメントコード2", Digits, 9),
    c("文字データ2", AlnumOrKanji, 100),
    fx("コメントコード3", Digits, 9),
    c("文字データ3", AlnumOrKanji, 100),
];
const TO: [Col; 48] = concat(TO_HEAD, days!(Digits, 3));

const CO: &[Col] = &[
    ID,
    fx("診療識別", Digits, 2),
    c("負担区分", Alnum, 1),
    fx("コメントコード", Digits, 9),
    c("文字データ", AlnumOrKanji, 200),
];

const SY: &[Col] = &[
    ID,
    fx("傷病名コード", Digits, 7),
    c("診療開始日", Date, 8),
    c("転帰区分", Digits, 1),
    c("修飾語コード", Repeat { unit: 4, count: 20 }, 80),
    c("傷病名称", Kanji, 40),
    c("主傷病", Digits, 2),
    c("補足コメント", Kanji, 40),
];

const NI: &[Col] = &[ID, c("日計表", Any, 0)];

const SJ: &[Col] = &[
    ID,
    c("症状詳記区分", Digits, 2),
    c("症状詳記データ", Kanji, 2400),
];

const TI: &[Col] = &[ID, c("臓器提供医療機関情報", Any, 0)];
const TR: &[Col] = &[ID, c("臓器提供者レセプト情報", Any, 0)];
const TS: &[Col] = &[ID, c("臓器提供者請求情報", Any, 0)];

const GO: &[Col] = &[
    ID,
    c("総件数", Digits, 6),
    c("総合計点数", Digits, 11),
    fx("マルチボリューム識別情報", Digits, 2),
];

/// Generic layout for records recognised only at record level.
pub const RAW: &[Col] = &[ID];

/// The 医科 record layouts.
pub static IKA: &[Spec] = &[
    Spec {
        id: "IR",
        name: "医療機関情報",
        cols: IR,
        min: 10,
        open: false,
    },
    Spec {
        id: "RE",
        name: "レセプト共通",
        cols: RE,
        min: 37,
        open: false,
    },
    Spec {
        id: "HO",
        name: "保険者",
        cols: HO,
        min: 15,
        open: false,
    },
    Spec {
        id: "KO",
        name: "公費",
        cols: KO,
        min: 12,
        open: false,
    },
    Spec {
        id: "KH",
        name: "国保連固有情報",
        cols: KH,
        min: 2,
        open: true,
    },
    Spec {
        id: "SN",
        name: "資格確認",
        cols: SN,
        min: 9,
        open: false,
    },
    Spec {
        id: "JD",
        name: "受診日等",
        cols: &JD,
        min: 33,
        open: false,
    },
    Spec {
        id: "MF",
        name: "窓口負担額",
        cols: &MF,
        min: 2,
        open: false,
    },
    Spec {
        id: "GR",
        name: "包括評価対象外理由",
        cols: GR,
        min: 2,
        open: true,
    },
    Spec {
        id: "SY",
        name: "傷病名",
        cols: SY,
        min: 8,
        open: false,
    },
    Spec {
        id: "SI",
        name: "診療行為",
        cols: &SI,
        min: 44,
        open: false,
    },
    Spec {
        id: "IY",
        name: "医薬品",
        cols: &IY,
        min: 44,
        open: false,
    },
    Spec {
        id: "TO",
        name: "特定器材",
        cols: &TO,
        min: 48,
        open: false,
    },
    Spec {
        id: "CO",
        name: "コメント",
        cols: CO,
        min: 5,
        open: false,
    },
    Spec {
        id: "NI",
        name: "日計表",
        cols: NI,
        min: 2,
        open: true,
    },
    Spec {
        id: "SJ",
        name: "症状詳記",
        cols: SJ,
        min: 3,
        open: false,
    },
    Spec {
        id: "TI",
        name: "臓器提供医療機関情報",
        cols: TI,
        min: 2,
        open: true,
    },
    Spec {
        id: "TR",
        name: "臓器提供者レセプト情報",
        cols: TR,
        min: 2,
        open: true,
    },
    Spec {
        id: "TS",
        name: "臓器提供者請求情報",
        cols: TS,
        min: 2,
        open: true,
    },
    Spec {
        id: "GO",
        name: "診療報酬請求書",
        cols: GO,
        min: 4,
        open: false,
    },
];

/// The 医科 layout of a record id.
pub fn ika(id: &str) -> Option<&'static Spec> {
    IKA.iter().find(|s| s.id == id)
}

/// DPC-only record ids (recognised at record level).
pub const DPC_IDS: &[&str] = &["BU", "SB", "KK", "SK", "GA", "HH", "GT", "CD"];
/// 歯科 record ids that do not occur in 医科 files (recognised at record level).
pub const DENTAL_IDS: &[&str] = &["UK", "HS", "SS"];
/// 返戻・再審査 record ids (recognised at record level).
pub const RETURN_IDS: &[&str] = &[
    "HI", "HR", "RC", "HG", "JY", "EX", "MD", "RT", "JR", "MK", "MN",
];
