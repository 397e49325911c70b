//! Diagnostic codes of the SS-MIX2 storage reader (`S…`).

use diagnostics::{Code, Severity::*};

/// A file name that is not 7 `_`-separated parts or has an unusable flag.
pub const BAD_FILE_NAME: Code = Code::new("S001", Error, "file name is not an SS-MIX2 file name");
/// A file-name part with the wrong shape.
pub const FILE_NAME_FIELD: Code = Code::new(
    "S002",
    Warning,
    "file-name part does not have the SS-MIX2 shape",
);
/// Unknown data type.
pub const UNKNOWN_DATA_TYPE: Code = Code::new(
    "S003",
    Warning,
    "data type is not an SS-MIX2 standardized-storage data type",
);
/// Order number not 15 digits.
pub const ORDER_NO_SHAPE: Code = Code::new("S004", Warning, "order number is not 15 digits");
/// Folder and file name disagree.
pub const PATH_MISMATCH: Code = Code::new("S005", Warning, "folder disagrees with the file name");
/// File not at the standardized-storage depth.
pub const NOT_IN_STORAGE_TREE: Code = Code::new(
    "S006",
    Warning,
    "file is not at the standardized-storage depth",
);
/// Extended storage.
pub const EXTENDED_STORAGE: Code = Code::new(
    "S007",
    Info,
    "extended storage (拡張ストレージ) recognised; not converted yet",
);
/// Several messages in one file.
pub const SEVERAL_MESSAGES: Code = Code::new(
    "S008",
    Warning,
    "several MSH segments in one file; SS-MIX2 stores one message per file",
);
/// MSH-9 missing.
pub const NO_MESSAGE_TYPE: Code = Code::new("S009", Error, "MSH-9 message type is missing");
/// MSH-9 disagrees with the data type.
pub const MESSAGE_TYPE_MISMATCH: Code = Code::new(
    "S010",
    Warning,
    "MSH-9 message type does not belong to the file's data type",
);
/// MSH-12 not 2.5.
pub const VERSION: Code = Code::new("S011", Warning, "MSH-12 version is not 2.5");
/// Accepted spelling variant in MSH-18 / MSH-20.
pub const CHARSET_VARIANT: Code = Code::new(
    "S012",
    Info,
    "MSH-18/MSH-20 spelling variant accepted (~ISOIR87, ISO2022-1994)",
);
/// Unexpected MSH-18 / MSH-20.
pub const CHARSET_DECLARATION: Code = Code::new(
    "S013",
    Warning,
    "MSH-18/MSH-20 do not declare ISO IR87 / ISO 2022-1994",
);
/// PID-3 differs from the patient folder / file name.
pub const PATIENT_ID_MISMATCH: Code = Code::new(
    "S014",
    Warning,
    "PID-3 patient id differs from the file name",
);
/// Care date differs.
pub const CARE_DATE_MISMATCH: Code = Code::new(
    "S015",
    Warning,
    "care-date field differs from the file name's care date",
);
/// Segment order deviates from the message type's grammar.
pub const GRAMMAR: Code = Code::new(
    "S016",
    Warning,
    "segment order deviates from the message type's SS-MIX2 grammar",
);
/// A typed field with a value of the wrong form.
pub const BAD_VALUE: Code = Code::new(
    "S017",
    Error,
    "value does not have the form of its HL7 data type (NM, DT, TS)",
);
/// PID missing.
pub const NO_PID: Code = Code::new("S018", Warning, "message has no PID segment");
/// No grammar for this message type.
pub const NO_GRAMMAR: Code = Code::new(
    "S019",
    Info,
    "message type has no SS-MIX2 grammar; segment order not checked",
);
/// A file that is not a regular message file (unexpected folder level, not readable).
pub const SKIPPED_PATH: Code = Code::new(
    "S020",
    Warning,
    "path is not part of the standardized storage; skipped",
);

/// A lone file without an SS-MIX2 name.
pub const NOT_A_STORAGE_NAME: Code = Code::new(
    "S021",
    Info,
    "file given alone has no SS-MIX2 name; name checks skipped",
);

/// XPN-7 / XPN-8 one component off.
pub const XPN_SHIFTED: Code = Code::new(
    "S022",
    Warning,
    "person name's type and representation codes (XPN-7, XPN-8) are one component off; kanji and kana names cannot be told apart",
);

/// Every code of this module.
pub const ALL: &[&Code] = &[
    &BAD_FILE_NAME,
    &FILE_NAME_FIELD,
    &UNKNOWN_DATA_TYPE,
    &ORDER_NO_SHAPE,
    &PATH_MISMATCH,
    &NOT_IN_STORAGE_TREE,
    &EXTENDED_STORAGE,
    &SEVERAL_MESSAGES,
    &NO_MESSAGE_TYPE,
    &MESSAGE_TYPE_MISMATCH,
    &VERSION,
    &CHARSET_VARIANT,
    &CHARSET_DECLARATION,
    &PATIENT_ID_MISMATCH,
    &CARE_DATE_MISMATCH,
    &GRAMMAR,
    &BAD_VALUE,
    &NO_PID,
    &NO_GRAMMAR,
    &SKIPPED_PATH,
    &NOT_A_STORAGE_NAME,
    &XPN_SHIFTED,
];
