//! Diagnostic codes of the UKE receipt reader (stage letter `U`). Ids never change meaning.

use diagnostics::{Code, Severity};

/// The file is UTF-8, not Shift_JIS; read anyway.
pub const UTF8_FILE: Code = Code::new(
    "U001",
    Severity::Warning,
    "UKE file is UTF-8, not Shift_JIS",
);
/// Bytes that are not valid Shift_JIS (CP932); shown as hex.
pub const UNDECODABLE: Code = Code::new(
    "U002",
    Severity::Error,
    "bytes that are not valid Shift_JIS",
);
/// A CP932 vendor extension (NEC/IBM rows, user-defined area) outside JIS X 0208.
pub const VENDOR_EXTENSION: Code = Code::new(
    "U003",
    Severity::Warning,
    "character outside JIS X 0208 (CP932 vendor extension or user-defined area)",
);
/// A record ends with LF instead of CR LF.
pub const LF_ONLY: Code = Code::new("U004", Severity::Warning, "record ends with LF, not CR LF");
/// The last record has no line break.
pub const NO_FINAL_NEWLINE: Code =
    Code::new("U005", Severity::Warning, "last record has no line break");
/// The file does not end with the 0x1A end-of-file byte.
pub const NO_EOF_MARK: Code = Code::new("U006", Severity::Warning, "file does not end with 0x1A");
/// Bytes after the 0x1A end-of-file byte.
pub const AFTER_EOF_MARK: Code = Code::new(
    "U007",
    Severity::Warning,
    "data after the 0x1A end-of-file byte",
);
/// An empty line.
pub const EMPTY_LINE: Code = Code::new("U008", Severity::Warning, "empty line");
/// A control character inside a record.
pub const CONTROL_CHAR: Code =
    Code::new("U009", Severity::Error, "control character inside a record");
/// A record id that is not known.
pub const UNKNOWN_RECORD: Code = Code::new("U010", Severity::Error, "unknown record id");
/// Fewer fields than the layout has.
pub const TOO_FEW_FIELDS: Code = Code::new(
    "U011",
    Severity::Error,
    "record has fewer fields than its layout",
);
/// More fields than the layout has.
pub const TOO_MANY_FIELDS: Code = Code::new(
    "U012",
    Severity::Error,
    "record has more fields than its layout",
);
/// Field longer than its maximum (in Shift_JIS bytes).
pub const FIELD_TOO_LONG: Code = Code::new(
    "U013",
    Severity::Error,
    "field longer than its maximum (Shift_JIS bytes)",
);
/// Fixed-length field with the wrong length.
pub const FIXED_LENGTH: Code = Code::new(
    "U014",
    Severity::Error,
    "fixed-length field has the wrong length",
);
/// 数字 field with a character other than a digit.
pub const NOT_DIGITS: Code = Code::new("U015", Severity::Error, "数字 field holds a non-digit");
/// 英数 field with a full-width character.
pub const FULLWIDTH_IN_ALNUM: Code = Code::new(
    "U016",
    Severity::Warning,
    "英数 field holds a full-width character",
);
/// 漢字 field with half-width kana.
pub const HALFWIDTH_KANA_IN_KANJI: Code = Code::new(
    "U017",
    Severity::Warning,
    "漢字 field holds half-width kana",
);
/// 漢字 field with a half-width (ASCII) character.
pub const HALFWIDTH_IN_KANJI: Code = Code::new(
    "U018",
    Severity::Warning,
    "漢字 field holds a half-width character",
);
/// 英数-or-漢字 field mixing both.
pub const MIXED_MODES: Code = Code::new(
    "U019",
    Severity::Warning,
    "field mixes half-width and full-width characters",
);
/// Concatenated repeating codes whose length is not a multiple of the unit.
pub const REPEAT_UNIT: Code = Code::new(
    "U020",
    Severity::Error,
    "repeating code list length is not a multiple of its unit",
);
/// A date that cannot be read (wrong width or not digits).
pub const BAD_DATE: Code = Code::new("U021", Severity::Error, "date field cannot be read");
/// A date that does not exist (e.g. 2023-02-30, unknown era).
pub const IMPOSSIBLE_DATE: Code = Code::new("U022", Severity::Error, "date does not exist");
/// An era date outside its era (e.g. 平成31-05-01).
pub const DATE_OUTSIDE_ERA: Code =
    Code::new("U023", Severity::Warning, "era date falls outside its era");
/// A date written in the other layout's form.
pub const DATE_FORM_MISMATCH: Code = Code::new(
    "U024",
    Severity::Warning,
    "date form differs from the file's layout",
);
/// The layout (era or Western dates) detected for the file.
pub const LAYOUT_DETECTED: Code = Code::new("U025", Severity::Info, "layout detected");
/// The file kind (医科, DPC, 歯科, 調剤) detected; layout not supported yet.
pub const KIND_UNSUPPORTED: Code = Code::new(
    "U026",
    Severity::Warning,
    "file kind recognised, layout not supported yet",
);
/// The file kind could not be determined.
pub const KIND_UNKNOWN: Code = Code::new("U027", Severity::Error, "file kind cannot be determined");
/// The first record is not IR (or UK for 歯科).
pub const FIRST_NOT_IR: Code = Code::new("U028", Severity::Error, "first record is not IR");
/// A receipt record before any RE.
pub const OUTSIDE_RECEIPT: Code = Code::new(
    "U029",
    Severity::Error,
    "receipt record outside a receipt (before any RE)",
);
/// The file has no GO record.
pub const MISSING_GO: Code = Code::new("U030", Severity::Error, "file has no GO record");
/// Records after GO.
pub const AFTER_GO: Code = Code::new("U031", Severity::Error, "record after GO");
/// A receipt without HO or KO.
pub const NO_PAYER: Code = Code::new("U032", Severity::Error, "receipt has neither HO nor KO");
/// A receipt without SY.
pub const NO_DIAGNOSIS: Code = Code::new(
    "U033",
    Severity::Warning,
    "receipt has no SY (傷病名) record",
);
/// Record out of the order IR, RE, HO, KO, …, GO.
pub const ORDER: Code = Code::new("U034", Severity::Warning, "record out of the usual order");
/// GO 総件数 differs from the number of HO + KO records.
pub const GO_COUNT: Code = Code::new(
    "U035",
    Severity::Warning,
    "GO 総件数 differs from the number of HO and KO records",
);
/// GO 総合計点数 differs from the sum of HO 合計点数.
pub const GO_POINTS: Code = Code::new(
    "U036",
    Severity::Warning,
    "GO 総合計点数 differs from the sum of HO 合計点数",
);
/// Multi-volume identifiers disagree.
pub const VOLUME: Code = Code::new(
    "U037",
    Severity::Warning,
    "multi-volume identifiers disagree",
);
/// A second IR record.
pub const REPEATED_IR: Code = Code::new("U038", Severity::Error, "IR record repeated");
/// A receipt links to more than one known patient, or several receipts share a fallback key.
pub const AMBIGUOUS_LINK: Code = Code::new(
    "U039",
    Severity::Warning,
    "ambiguous patient link; not guessed",
);
/// A receipt has no key to link it to a patient.
pub const NO_LINK_KEY: Code = Code::new("U040", Severity::Warning, "receipt has no patient key");
/// The file is empty.
pub const EMPTY_FILE: Code = Code::new("U041", Severity::Error, "file is empty");
/// A numeric total field that cannot be read.
pub const BAD_NUMBER: Code = Code::new("U042", Severity::Error, "number cannot be read");
/// The record's kind differs from the file kind (e.g. a DPC record in a 医科 file).
pub const FOREIGN_RECORD: Code = Code::new(
    "U043",
    Severity::Warning,
    "record belongs to another file kind",
);
/// No known patient matches the receipt's カルテ番号.
pub const NO_MATCH: Code = Code::new(
    "U044",
    Severity::Info,
    "no known patient matches the receipt",
);

/// Every code of this module, in id order (for `docs/diagnostics.md`).
pub const ALL: &[&Code] = &[
    &UTF8_FILE,
    &UNDECODABLE,
    &VENDOR_EXTENSION,
    &LF_ONLY,
    &NO_FINAL_NEWLINE,
    &NO_EOF_MARK,
    &AFTER_EOF_MARK,
    &EMPTY_LINE,
    &CONTROL_CHAR,
    &UNKNOWN_RECORD,
    &TOO_FEW_FIELDS,
    &TOO_MANY_FIELDS,
    &FIELD_TOO_LONG,
    &FIXED_LENGTH,
    &NOT_DIGITS,
    &FULLWIDTH_IN_ALNUM,
    &HALFWIDTH_KANA_IN_KANJI,
    &HALFWIDTH_IN_KANJI,
    &MIXED_MODES,
    &REPEAT_UNIT,
    &BAD_DATE,
    &IMPOSSIBLE_DATE,
    &DATE_OUTSIDE_ERA,
    &DATE_FORM_MISMATCH,
    &LAYOUT_DETECTED,
    &KIND_UNSUPPORTED,
    &KIND_UNKNOWN,
    &FIRST_NOT_IR,
    &OUTSIDE_RECEIPT,
    &MISSING_GO,
    &AFTER_GO,
    &NO_PAYER,
    &NO_DIAGNOSIS,
    &ORDER,
    &GO_COUNT,
    &GO_POINTS,
    &VOLUME,
    &REPEATED_IR,
    &AMBIGUOUS_LINK,
    &NO_LINK_KEY,
    &EMPTY_FILE,
    &BAD_NUMBER,
    &FOREIGN_RECORD,
    &NO_MATCH,
];

#[cfg(test)]
mod tests {
    #[test]
    fn all_lists_every_code_once_in_order() {
        let ids: Vec<&str> = super::ALL.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert_eq!(ids.len(), 44);
        assert!(ids.iter().all(|i| i.starts_with('U') && i.len() == 4));
    }
}
