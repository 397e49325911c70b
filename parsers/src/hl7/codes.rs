//! Diagnostic codes of the HL7 v2.5 parser (`H…`) and of character decoding (`E…`).

use diagnostics::{Code, Severity::*};

/// Bytes that could not be decoded in the current mode.
pub const UNDECODABLE: Code = Code::new("E001", Error, "bytes that cannot be decoded");
/// A JIS X 0208 run was still open at a line end.
pub const ESCAPE_LEFT_OPEN: Code = Code::new(
    "E002",
    Warning,
    "JIS X 0208 escape left open at end of line; state reset to ASCII",
);
/// A JIS X 0208 run ended inside a two-byte character.
pub const TRUNCATED_CHARACTER: Code = Code::new("E003", Error, "JIS X 0208 character cut in half");
/// An unsupported ISO-2022 escape sequence.
pub const UNSUPPORTED_ESCAPE: Code = Code::new(
    "E004",
    Error,
    "unsupported ISO-2022 escape sequence (e.g. JIS X 0212)",
);
/// CP932 bytes in an ISO-2022-JP file.
pub const CP932_LEAK: Code = Code::new(
    "E005",
    Warning,
    "Shift_JIS (CP932) bytes in ISO-2022-JP text, decoded as CP932",
);
/// UTF-8 bytes in an ISO-2022-JP file.
pub const UTF8_LEAK: Code = Code::new(
    "E006",
    Warning,
    "UTF-8 bytes in ISO-2022-JP text, decoded as UTF-8",
);
/// Half-width katakana escape.
pub const HALFWIDTH_KATAKANA: Code = Code::new(
    "E007",
    Warning,
    "half-width katakana (ESC ( I); SS-MIX2 requires full-width",
);
/// JIS-Roman escape.
pub const JIS_ROMAN: Code = Code::new("E008", Info, "JIS-Roman (ESC ( J) read as ASCII");
/// Vendor-extension character.
pub const VENDOR_EXTENSION: Code = Code::new(
    "E009",
    Warning,
    "character outside JIS X 0208 (NEC/IBM extension)",
);
/// UTF-8 byte-order mark.
pub const BOM: Code = Code::new("E010", Warning, "UTF-8 byte-order mark at start of file");

/// The input holds no segment at all.
pub const EMPTY: Code = Code::new("H001", Error, "no HL7 segments in the input");
/// Segments before the first MSH.
pub const OUTSIDE_MESSAGE: Code = Code::new(
    "H002",
    Error,
    "segment before the first MSH belongs to no message",
);
/// MSH-1 / MSH-2 unusable.
pub const BAD_DELIMITERS: Code = Code::new(
    "H003",
    Error,
    "MSH-1/MSH-2 do not define usable delimiters; HL7 defaults assumed",
);
/// Non-default delimiters.
pub const NONSTANDARD_DELIMITERS: Code = Code::new(
    "H004",
    Info,
    "delimiters other than the HL7 defaults |^~\\&",
);
/// Segment id not three upper-case letters/digits.
pub const BAD_SEGMENT_ID: Code = Code::new(
    "H005",
    Warning,
    "segment id is not three upper-case letters or digits",
);
/// Escape sequence without its closing escape character.
pub const UNTERMINATED_ESCAPE: Code = Code::new(
    "H006",
    Warning,
    "escape sequence without closing escape character; kept as text",
);
/// Escape sequence kakehashi does not interpret.
pub const UNKNOWN_ESCAPE: Code = Code::new(
    "H007",
    Warning,
    "escape sequence not interpreted (\\Z, \\C, \\M or unknown); kept as text",
);
/// Segments terminated by LF or CRLF.
pub const LF_TERMINATORS: Code = Code::new(
    "H008",
    Info,
    "segments terminated by LF or CR LF instead of CR",
);
/// Blank lines between segments.
pub const BLANK_LINES: Code = Code::new("H009", Info, "blank lines between segments skipped");
/// Framing bytes (0x0B / 0x1C) inside the message.
pub const STRAY_FRAMING: Code = Code::new(
    "H010",
    Warning,
    "MLLP framing byte (0x0B or 0x1C) inside the message; skipped",
);
/// Control characters inside a segment.
pub const CONTROL_CHARACTER: Code =
    Code::new("H011", Warning, "control character inside a segment");
/// A yen sign named as the escape character in MSH-2.
pub const YEN_ESCAPE: Code = Code::new(
    "H012",
    Warning,
    "yen sign (U+00A5, or full-width U+FFE5) as the escape character in MSH-2; read as the escape character",
);
/// A line that does not start with a segment id (a segment broken across lines?).
pub const NOT_A_SEGMENT: Code = Code::new(
    "H013",
    Error,
    "line does not start with a segment id (a segment broken across lines?); not read",
);

/// Every code of this module, for the documentation and the uniqueness check.
pub const ALL: &[&Code] = &[
    &UNDECODABLE,
    &ESCAPE_LEFT_OPEN,
    &TRUNCATED_CHARACTER,
    &UNSUPPORTED_ESCAPE,
    &CP932_LEAK,
    &UTF8_LEAK,
    &HALFWIDTH_KATAKANA,
    &JIS_ROMAN,
    &VENDOR_EXTENSION,
    &BOM,
    &EMPTY,
    &OUTSIDE_MESSAGE,
    &BAD_DELIMITERS,
    &NONSTANDARD_DELIMITERS,
    &BAD_SEGMENT_ID,
    &UNTERMINATED_ESCAPE,
    &UNKNOWN_ESCAPE,
    &LF_TERMINATORS,
    &BLANK_LINES,
    &STRAY_FRAMING,
    &CONTROL_CHARACTER,
    &YEN_ESCAPE,
    &NOT_A_SEGMENT,
];
