//! Diagnostic codes of the 特定健診 CDA XML reader (stage letter `K`, 健診). Ids never
//! change meaning.

use diagnostics::{Code, Severity::*};

/// Bytes that are not UTF-8 (the format is UTF-8); shown as hex.
pub const NOT_UTF8: Code = Code::new("K001", Error, "bytes that are not valid UTF-8");
/// The XML is not well-formed (including truncation); the document is not read.
pub const MALFORMED: Code = Code::new("K002", Error, "XML is not well-formed");
/// The root element is not `ClinicalDocument` in the HL7 v3 namespace.
pub const NOT_CDA: Code = Code::new(
    "K003",
    Error,
    "root element is not ClinicalDocument in namespace urn:hl7-org:v3",
);
/// The XML declaration names an encoding other than UTF-8.
pub const DECLARED_ENCODING: Code = Code::new(
    "K004",
    Error,
    "XML declaration names an encoding other than UTF-8",
);
/// An element the XSD requires is missing.
pub const MISSING_ELEMENT: Code = Code::new("K005", Error, "required element is missing");
/// An attribute the XSD or the 特定健診 rules require is missing or empty.
pub const MISSING_ATTRIBUTE: Code = Code::new("K006", Error, "required attribute is missing");
/// A date is not `YYYYMMDD` or not a calendar date.
pub const BAD_DATE: Code = Code::new("K007", Error, "date is not a YYYYMMDD calendar date");
/// A fixed value of the hc08 schema differs (typeId, code systems).
pub const FIXED_VALUE: Code = Code::new(
    "K008",
    Warning,
    "value differs from the one the hc08 schema fixes",
);
/// An observation value has no or an unsupported `xsi:type`.
pub const VALUE_TYPE: Code = Code::new(
    "K009",
    Error,
    "observation value has no or an unsupported xsi:type",
);
/// A PQ value is not a decimal number.
pub const BAD_NUMBER: Code = Code::new("K010", Error, "PQ value is not a decimal number");
/// A section code outside 1.2.392.200119.6.1010 01010/01990.
pub const UNKNOWN_SECTION: Code = Code::new(
    "K011",
    Warning,
    "section code is not 01010 or 01990 (system 1.2.392.200119.6.1010)",
);
/// An observation marked 未実施 (negationInd) also carries a value.
pub const NEGATED_WITH_VALUE: Code = Code::new(
    "K012",
    Warning,
    "observation marked 未実施 (negationInd) also has a value; the value is ignored",
);
/// An element of the body that the reader does not use (only `observation` is allowed).
pub const UNEXPECTED_ELEMENT: Code = Code::new(
    "K013",
    Warning,
    "element not allowed by the hc08 schema here; ignored",
);
/// The document has no observation at all.
pub const NO_OBSERVATIONS: Code = Code::new("K014", Warning, "document has no observation");
/// A group wrapper (`code nullFlavor="NA"`) without member observations.
pub const EMPTY_GROUP: Code = Code::new(
    "K015",
    Warning,
    "group observation (code nullFlavor=NA) has no member observations",
);
/// The submission archive (ZIP) cannot be read (truncated, not a ZIP).
pub const ARCHIVE_UNREADABLE: Code =
    Code::new("K016", Error, "submission archive (ZIP) cannot be read");
/// An archive member that is not a `DATA/*.xml` file (CLAIMS, XSD, index, summary).
pub const ARCHIVE_MEMBER_SKIPPED: Code = Code::new(
    "K017",
    Info,
    "archive member is not a DATA/ hc08 file; not converted",
);
/// An archive member cannot be decompressed.
pub const ARCHIVE_MEMBER_UNREADABLE: Code =
    Code::new("K018", Error, "archive member cannot be decompressed");

/// Every code of this module.
pub const ALL: &[&Code] = &[
    &NOT_UTF8,
    &MALFORMED,
    &NOT_CDA,
    &DECLARED_ENCODING,
    &MISSING_ELEMENT,
    &MISSING_ATTRIBUTE,
    &BAD_DATE,
    &FIXED_VALUE,
    &VALUE_TYPE,
    &BAD_NUMBER,
    &UNKNOWN_SECTION,
    &NEGATED_WITH_VALUE,
    &UNEXPECTED_ELEMENT,
    &NO_OBSERVATIONS,
    &EMPTY_GROUP,
    &ARCHIVE_UNREADABLE,
    &ARCHIVE_MEMBER_SKIPPED,
    &ARCHIVE_MEMBER_UNREADABLE,
];
