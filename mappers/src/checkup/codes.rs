//! Diagnostic codes of the 特定健診 → eCheckup mapper (`M200`–`M239`).

use diagnostics::{Code, Severity::*};

/// No 文書発行日 nor ファイル作成日: the bundle has no timestamp.
pub const NO_DOCUMENT_DATE: Code = Code::new(
    "M200",
    Error,
    "checkup has no document date (effectiveTime, author/time); the bundle has no timestamp",
);
/// No 健診実施日: no Encounter period, Composition.event period or effective time.
pub const NO_PERFORMED_DATE: Code = Code::new(
    "M201",
    Error,
    "checkup has no 実施日 (serviceEvent/effectiveTime)",
);
/// カナ氏名 without a space between family and given name.
pub const NAME_NOT_SPLIT: Code = Code::new(
    "M202",
    Warning,
    "name has no space between family and given name; given name left empty",
);
/// 性別 code other than 1 / 2.
pub const BAD_GENDER: Code = Code::new("M203", Error, "gender code is not 1 (男) or 2 (女)");
/// No doctor named in the document: no Practitioner (the profile needs 1..2).
pub const NO_PRACTITIONER: Code = Code::new(
    "M204",
    Warning,
    "no doctor is named (observation/author or a 医師の氏名 item): no Practitioner, which the eCheckup bundle requires",
);
/// 作成機関 or its 機関番号 missing.
pub const NO_AUTHOR_ORGANIZATION: Code =
    Code::new("M205", Error, "作成機関 or its 機関番号 is missing");
/// No 保険者番号: no insurer Organization, no Coverage, no member identifier.
pub const NO_INSURER: Code = Code::new(
    "M206",
    Warning,
    "no 保険者番号: no insurer Organization, Coverage or insurance member identifier",
);
/// 受診券 without 整理番号 or insurer: no Coverage.
pub const VOUCHER_INCOMPLETE: Code = Code::new(
    "M207",
    Warning,
    "受診券 has no 整理番号 or no insurer: no Coverage",
);
/// An observation with neither a value nor 未実施/測定不能.
pub const NO_VALUE: Code = Code::new(
    "M208",
    Warning,
    "observation has no value and is not marked 未実施 or 測定不能: dataAbsentReason unknown",
);
/// Values after the first one that the mapping cannot carry.
pub const EXTRA_VALUE: Code = Code::new(
    "M209",
    Warning,
    "observation has more values than one; the extra ones are not mapped",
);
/// A group whose members match no observationGroup code.
pub const GROUP_CODE_UNKNOWN: Code = Code::new(
    "M210",
    Warning,
    "一連検査グループ matches no observationGroup code; the group has a text-only code",
);
/// 入力範囲外 (CD L/H after the PQ) mapped as a comparator.
pub const OUT_OF_INPUT_RANGE: Code = Code::new(
    "M211",
    Info,
    "result outside the input range (CD L/H): value sent with comparator <= or >=",
);
/// 報告区分 outside the eCheckup report-category value set.
pub const REPORT_CATEGORY: Code = Code::new(
    "M212",
    Warning,
    "報告区分 is not one of the report categories the pinned Composition profile binds (eCheckupReport 1.1.3: 10, 40, 90; 1.5.0: 10, 41–44, 60, 70, 80, 99)",
);
/// PQ without unit.
pub const NO_UNIT: Code = Code::new("M213", Warning, "PQ value has no unit");
/// An observation without item code is not mapped.
pub const NO_ITEM_CODE: Code = Code::new(
    "M214",
    Error,
    "observation has no item code and is not mapped",
);
/// The 受診券 insurer differs from the 受診者's insurer.
pub const VOUCHER_INSURER_DIFFERS: Code = Code::new(
    "M215",
    Warning,
    "受診券 insurer differs from the 受診者's 保険者番号; the 受診券's is used as its payor",
);
/// A section code other than 01010/01990: its items are placed by the split rule.
pub const SECTION_PLACED_BY_RULE: Code = Code::new(
    "M216",
    Warning,
    "CDA section is not 01010 or 01990; its items are placed in 01011/01012 by the split rule",
);
/// An answer code (CD/CO) without code system.
pub const NO_ANSWER_SYSTEM: Code = Code::new(
    "M217",
    Error,
    "coded answer has no code system; sent as text",
);

/// カナ氏名 without a space, under a profile that does not require the parts.
pub const NAME_AS_TEXT: Code = Code::new(
    "M218",
    Info,
    "name has no space between family and given name: written as HumanName.text only (the pinned profile requires text, not the parts; no split is guessed)",
);
/// The 受診者 lacks an element the pinned Patient profile requires.
pub const PATIENT_LACKS_REQUIRED: Code = Code::new(
    "M219",
    Error,
    "受診者 lacks an element the pinned Patient profile requires (address and its text, gender, birth date): nothing is filled in, the bundle is quarantined",
);
/// No doctor named, under a package whose Practitioner needs no name.
pub const PRACTITIONER_UNNAMED: Code = Code::new(
    "M220",
    Warning,
    "no doctor is named (observation/author or a 医師の氏名 item): the report's author is written as a Practitioner without a name (the pinned profile requires the entry, not the name)",
);

/// Every code of this module.
pub const ALL: &[&Code] = &[
    &NO_DOCUMENT_DATE,
    &NO_PERFORMED_DATE,
    &NAME_NOT_SPLIT,
    &BAD_GENDER,
    &NO_PRACTITIONER,
    &NO_AUTHOR_ORGANIZATION,
    &NO_INSURER,
    &VOUCHER_INCOMPLETE,
    &NO_VALUE,
    &EXTRA_VALUE,
    &GROUP_CODE_UNKNOWN,
    &OUT_OF_INPUT_RANGE,
    &REPORT_CATEGORY,
    &NO_UNIT,
    &NO_ITEM_CODE,
    &VOUCHER_INSURER_DIFFERS,
    &SECTION_PLACED_BY_RULE,
    &NO_ANSWER_SYSTEM,
    &NAME_AS_TEXT,
    &PATIENT_LACKS_REQUIRED,
    &PRACTITIONER_UNNAMED,
];
