//! Fixed vocabularies for the generator: fictitious names and addresses, and the
//! clinical codes it draws from. Codes marked *(sample)* are copied from the NHO
//! SS-MIX2 sample storage or the JP-CLINS examples; everything else that is not a
//! code (names, addresses, phone numbers) is invented.
//!
//! Several entries are chosen because their JIS X 0208 bytes equal HL7 delimiters:
//! ウ 0x2526 (`&`), マ 0x255E (`^`), ボ 0x255C (`\`), 京 0x357E (`~`), 美 0x487E
//! (`~`), 本 0x4B5C (`\`), 宮 0x355C (`\`), 愛 0x3026 (`&`), 陸 0x4E26 (`&`),
//! 日 0x467C (`|`), 奥 0x317C (`|`), 糖 0x457C (`|`), 骨 0x397C (`|`), 五 0x385E
//! (`^`), 剤 0x3A5E (`^`), 府 0x495C (`\`). A parser that splits the raw bytes
//! before decoding breaks on them.

/// Family names: (kanji, katakana reading).
pub const FAMILY_NAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("宇野", "ウノ"),
    ("宮崎", "ミヤザキ"),
    ("奥村", "オクムラ"),
    ("五十嵐", "イガラシ"),
    ("内田", "ウチダ"),
    ("上野", "ウエノ"),
    ("京極", "キョウゴク"),
    ("本田", "ホンダ"),
    ("日高", "ヒダカ"),
    ("大塚", "オオツカ"),
];

/// Female given names: (kanji, katakana reading).
pub const FEMALE_NAMES: &[(&str, &str)] = &[
    ("京子", "キョウコ"),
    ("美咲", "ミサキ"),
    ("愛", "アイ"),
    ("陽子", "ヨウコ"),
    ("花子", "ハナコ"),
    ("結衣", "ユイ"),
    ("優子", "ユウコ"),
    ("真由美", "マユミ"),
    ("恵美", "エミ"),
    ("千尋", "チヒロ"),
    ("奈々", "ナナ"),
    ("桜", "サクラ"),
];

/// Male given names: (kanji, katakana reading).
pub const MALE_NAMES: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("勇", "イサム"),
    ("陸", "リク"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("誠", "マコト"),
    ("健一", "ケンイチ"),
    ("裕也", "ユウヤ"),
    ("浩二", "コウジ"),
    ("一郎", "イチロウ"),
    ("拓海", "タクミ"),
    ("悠真", "ユウマ"),
];

/// Fictitious addresses: (postal code, prefecture + city, street prefix), with
/// an area-code prefix for the phone number.
pub const ADDRESSES: &[(&str, &str, &str)] = &[
    ("100-0005", "東京都千代田区丸の内", "03"),
    ("105-0001", "東京都港区虎ノ門", "03"),
    ("604-8571", "京都府京都市中京区寺町通", "075"),
    ("530-0001", "大阪府大阪市北区梅田", "06"),
    ("422-8033", "静岡県静岡市駿河区登呂", "054"),
    ("980-0811", "宮城県仙台市青葉区一番町", "022"),
    ("880-0805", "宮崎県宮崎市橘通東", "0985"),
    ("060-0001", "北海道札幌市中央区北一条西", "011"),
    ("812-0011", "福岡県福岡市博多区博多駅前", "092"),
    ("460-0008", "愛知県名古屋市中区栄", "052"),
];

/// Health-insurance plan types (JHSD0001) and whether the insurer number has
/// 8 digits (employee plans) or 6 (national health insurance).
pub const INSURANCE_PLANS: &[(&str, &str, bool)] = &[
    ("01", "全国健康保険協会管掌健康保険", true), // (sample)
    ("06", "組合管掌健康保険", true),
    ("31", "国家公務員共済組合", true),
    ("39", "後期高齢者医療", true),
    ("67", "国民健康保険退職者", true), // (sample)
];

/// Clinical departments (SS-MIX2 file-name 診療科 code, name).
pub const DEPARTMENTS: &[(&str, &str)] = &[
    ("01", "内科"),
    ("05", "呼吸器科"),
    ("06", "消化器科"),
    ("08", "循環器科"),
    ("09", "小児科"),
    ("10", "外科"),
    ("11", "整形外科"),
    ("19", "皮膚科"),
    ("20", "泌尿器科"),
    ("26", "眼科"),
];

/// Doctors: (id, family, given) — fictitious.
pub const DOCTORS: &[(&str, &str, &str)] = &[
    ("D1001", "医師", "一郎"),
    ("D1002", "本宮", "美和"),
    ("D1003", "京田", "勇"),
    ("D1004", "日野", "五郎"),
    ("D1005", "奥田", "愛子"),
];

/// A disease: MEDIS 病名管理番号 (keyNumber), 病名交換用コード (exCode, empty if not
/// known), name, ICD-10 code. Codes *(sample)* are from the NHO sample or the
/// JP-CLINS examples; `99…` codes are local (a hospital's own), with system `99DIS`.
pub struct Disease {
    /// 病名管理番号, or a local code starting with `L`.
    pub key: &'static str,
    /// 病名交換用コード (empty if unknown).
    pub ex: &'static str,
    /// 病名.
    pub name: &'static str,
    /// ICD-10.
    pub icd10: &'static str,
}

/// Diseases.
pub const DISEASES: &[Disease] = &[
    Disease {
        key: "20054174",
        ex: "TSQF",
        name: "胃炎",
        icd10: "K297",
    }, // (sample)
    Disease {
        key: "20054178",
        ex: "",
        name: "胃癌",
        icd10: "C169",
    },
    Disease {
        key: "20058911",
        ex: "",
        name: "狭心症",
        icd10: "I209",
    },
    Disease {
        key: "20061593",
        ex: "",
        name: "高血圧症",
        icd10: "I10",
    },
    Disease {
        key: "20064049",
        ex: "",
        name: "十二指腸潰瘍",
        icd10: "K269",
    },
    Disease {
        key: "20065011",
        ex: "",
        name: "上腹部痛",
        icd10: "R101",
    },
    Disease {
        key: "20075383",
        ex: "",
        name: "腹痛症",
        icd10: "R104",
    },
    Disease {
        key: "20075639",
        ex: "L3RF",
        name: "噴門癌",
        icd10: "C160",
    },
    Disease {
        key: "20080427",
        ex: "",
        name: "前腕骨折",
        icd10: "S529",
    },
    Disease {
        key: "L0001",
        ex: "",
        name: "２型糖尿病",
        icd10: "E119",
    },
    Disease {
        key: "L0002",
        ex: "",
        name: "骨粗鬆症",
        icd10: "M8199",
    },
    Disease {
        key: "L0003",
        ex: "",
        name: "脂質異常症",
        icd10: "E785",
    },
];

/// A drug: HOT9 code, name, dose unit (MERIT-9), dosage form (MERIT-9), per-dose
/// amount.
pub struct Drug {
    /// HOT9.
    pub hot9: &'static str,
    /// Name as printed.
    pub name: &'static str,
    /// Unit code and name (MR9P).
    pub unit: (&'static str, &'static str),
    /// Dose per administration.
    pub dose: &'static str,
}

/// Drugs *(sample: NHO sample storage and JP-CLINS examples)*.
pub const DRUGS: &[Drug] = &[
    Drug {
        hot9: "108665201",
        name: "ダーゼン錠（５mg)",
        unit: ("TAB", "錠"),
        dose: "1",
    },
    Drug {
        hot9: "110626901",
        name: "パンスポリンＴ錠（１００mg)",
        unit: ("TAB", "錠"),
        dose: "2",
    },
    Drug {
        hot9: "100607002",
        name: "アレピアチン１０倍散",
        unit: ("MG", "ミリグラム"),
        dose: "50",
    },
    Drug {
        hot9: "103831601",
        name: "カルボシステイン錠２５０ｍｇ「サワイ」",
        unit: ("TAB", "錠"),
        dose: "1",
    },
    Drug {
        hot9: "104195801",
        name: "ミヤＢＭ錠",
        unit: ("TAB", "錠"),
        dose: "1",
    },
    Drug {
        hot9: "105271807",
        name: "プレドニン錠５ｍｇ",
        unit: ("TAB", "錠"),
        dose: "1",
    },
    Drug {
        hot9: "121431401",
        name: "アムロジピンＯＤ錠１０ｍｇ",
        unit: ("TAB", "錠"),
        dose: "1",
    },
    Drug {
        hot9: "123812902",
        name: "カロナール錠５００",
        unit: ("TAB", "錠"),
        dose: "1",
    },
];

/// Usages (JAMI 16-digit 用法コード, JAMISDP01): code, text, times a day.
/// The first two are *(sample)*; the once-a-day ones follow the same digit
/// pattern (meal slots) and are not checked against the JAMI table.
pub const USAGES: &[(&str, &str, u32)] = &[
    ("1013044400000000", "内服・経口・１日３回朝昼夕食後", 3),
    ("1012040400000000", "内服・経口・１日２回朝夕食後", 2),
    ("1011040000000000", "内服・経口・１日１回朝食後", 1),
    ("1011000400000000", "内服・経口・１日１回夕食後", 1),
];

/// An allergen for ADT-61: category (HL7 0127), code, name, system, reaction text.
pub struct Allergen {
    /// IAM-2 category code and name.
    pub category: (&'static str, &'static str),
    /// IAM-3 code.
    pub code: &'static str,
    /// IAM-3 name.
    pub name: &'static str,
    /// IAM-3 coding system (`HOT9`, `JC10`, or local `99ALG`).
    pub system: &'static str,
    /// IAM-5 reaction.
    pub reaction: &'static str,
}

/// Allergens: drugs (HOT9), foods and environment (JLAC10 allergen codes
/// *(sample)* or local codes).
pub const ALLERGENS: &[Allergen] = &[
    Allergen {
        category: ("DA", "薬剤アレルギー"),
        code: "106824501",
        name: "アリナミン",
        system: "HOT9",
        reaction: "のどの渇きが止まらない",
    },
    Allergen {
        category: ("DA", "薬剤アレルギー"),
        code: "123812902",
        name: "カロナール錠５００",
        system: "HOT9",
        reaction: "発疹",
    },
    Allergen {
        category: ("DA", "薬剤アレルギー"),
        code: "110626901",
        name: "パンスポリンＴ錠（１００mg)",
        system: "HOT9",
        reaction: "蕁麻疹・呼吸困難",
    },
    Allergen {
        category: ("FA", "食物アレルギー"),
        code: "5A1002411023006",
        name: "ソバ",
        system: "JC10",
        reaction: "湿疹",
    },
    Allergen {
        category: ("FA", "食物アレルギー"),
        code: "F0012",
        name: "卵",
        system: "99ALG",
        reaction: "口の周りの発赤",
    },
    Allergen {
        category: ("FA", "食物アレルギー"),
        code: "F0031",
        name: "サバ",
        system: "99ALG",
        reaction: "蕁麻疹",
    },
    Allergen {
        category: ("LA", "花粉アレルギー"),
        code: "5A1002216023023",
        name: "スギ",
        system: "JC10",
        reaction: "目のかゆみ",
    },
    Allergen {
        category: ("EA", "環境アレルギー"),
        code: "5A1102700023023",
        name: "ハウスダスト",
        system: "JC10",
        reaction: "くしゃみ",
    },
];

/// Severity (HL7 0128).
pub const SEVERITIES: &[(&str, &str)] = &[("MI", "軽度"), ("MO", "中等度"), ("SV", "重度")];

/// Reference data for a lab group (the parent code in the JP-CLINS code systems):
/// unit (empty for ratios, which have none), low, high, decimals. Groups not listed
/// get a unitless value.
pub const LAB_RANGES: &[(&str, &str, f64, f64, usize)] = &[
    ("ALB", "g/dL", 3.8, 5.2, 1),
    ("ALP", "U/L", 38.0, 113.0, 0),
    ("ALT", "U/L", 7.0, 42.0, 0),
    ("AMY", "U/L", 44.0, 132.0, 0),
    ("APTT", "秒", 24.0, 34.0, 1),
    ("AST", "U/L", 13.0, 30.0, 0),
    ("BG", "mg/dL", 73.0, 109.0, 0),
    ("BS", "mg/dL", 73.0, 109.0, 0),
    ("BNP", "pg/mL", 0.0, 18.4, 1),
    ("BUN", "mg/dL", 8.0, 20.0, 1),
    ("Ca", "mg/dL", 8.8, 10.1, 1),
    ("ChE", "U/L", 201.0, 421.0, 0),
    ("CBG", "mg/dL", 73.0, 139.0, 0),
    ("CK", "U/L", 59.0, 248.0, 0),
    ("Cl", "mmol/L", 101.0, 108.0, 0),
    ("Cre", "mg/dL", 0.46, 1.07, 2),
    ("CRP", "mg/dL", 0.0, 0.14, 2),
    ("Cys-C", "mg/L", 0.56, 0.98, 2),
    ("CTG", "mg/dL", 30.0, 149.0, 0),
    ("D-Bil", "mg/dL", 0.0, 0.2, 1),
    ("DD", "ug/mL", 0.0, 1.0, 1),
    ("FTG", "mg/dL", 30.0, 149.0, 0),
    ("GGT", "U/L", 9.0, 64.0, 0),
    ("Hb", "g/dL", 11.6, 16.8, 1),
    ("HbA1c-NGSP", "%", 4.9, 6.0, 1),
    ("HDL-C", "mg/dL", 40.0, 90.0, 0),
    ("K", "mmol/L", 3.6, 4.8, 1),
    ("LD", "U/L", 124.0, 222.0, 0),
    ("LDL-C", "mg/dL", 65.0, 139.0, 0),
    ("Na", "mmol/L", 138.0, 145.0, 0),
    ("NT-proBNP", "pg/mL", 0.0, 125.0, 0),
    ("PLT", "10*4/uL", 15.8, 34.8, 1),
    ("PT-Act", "%", 70.0, 130.0, 0),
    ("PT-INR", "", 0.85, 1.15, 2),
    ("PT-Ratio", "", 0.85, 1.15, 2),
    ("PT-Sec", "秒", 10.5, 13.5, 1),
    ("RBC", "10*6/uL", 3.86, 5.55, 2),
    ("T-Bil", "mg/dL", 0.4, 1.5, 1),
    ("T-CHO", "mg/dL", 142.0, 248.0, 0),
    ("TG", "mg/dL", 40.0, 149.0, 0),
    ("TP", "g/dL", 6.6, 8.1, 1),
    ("UA", "mg/dL", 2.6, 7.0, 1),
    ("WBC", "10*3/uL", 3.3, 8.6, 1),
];

/// Qualitative results (CWE value, text) for groups that are judged rather than
/// measured (urine dipsticks, `-class`, infection `RESULT`).
pub const QUALITATIVE: &[(&str, &str)] = &[("-", "陰性"), ("+-", "偽陽性"), ("+", "陽性")];
