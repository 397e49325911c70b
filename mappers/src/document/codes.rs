//! Diagnostic codes of the clinical document mappers (`M300`–`M349`): the
//! document request and the eReferral / eDischargeSummary / ePCS builders.

use diagnostics::{Code, Severity::*};

/// The request file is not TOML, or a value has the wrong type, or a key is unknown.
pub const REQUEST_SYNTAX: Code = Code::new(
    "M300",
    Error,
    "document request is not valid TOML for the request format (syntax, type or unknown key)",
);
/// A part the document needs is missing from the request.
pub const REQUEST_MISSING: Code = Code::new(
    "M301",
    Error,
    "document request lacks a required field; nothing is invented in its place",
);
/// A request value has the wrong shape (date, code, identifier).
pub const REQUEST_BAD_VALUE: Code = Code::new(
    "M302",
    Error,
    "document request value has the wrong shape (date, code or identifier)",
);
/// The requested patient has no current ADT-00 in the storage.
pub const UNKNOWN_PATIENT: Code = Code::new(
    "M303",
    Error,
    "the requested patient has no current patient record (ADT-00) in the storage",
);
/// The patient record is withheld (no document can carry it).
pub const PATIENT_WITHHELD: Code = Code::new(
    "M304",
    Error,
    "the patient record is withheld by its mapper; the document cannot be built",
);
/// A name without a space between family and given name.
pub const NAME_NOT_SPLIT: Code = Code::new(
    "M305",
    Warning,
    "name has no space between family and given name; given name left empty",
);
/// The organisation number in the request differs from the site's.
pub const SITE_NUMBER_DIFFERS: Code = Code::new(
    "M306",
    Error,
    "author organisation number differs from site.institution_number of the configuration",
);
/// A required section has no source data and no narrative: sent with an emptyReason.
pub const SECTION_EMPTY: Code = Code::new(
    "M307",
    Info,
    "a required section has no source data and no narrative; it is sent empty with emptyReason",
);
/// A record the mapper withheld is left out of the document.
pub const RECORD_WITHHELD: Code = Code::new(
    "M308",
    Info,
    "a source record is withheld by its mapper and left out of the document",
);
/// The kind is known but its builder is not available in this build.
pub const KIND_NOT_SUPPORTED: Code =
    Code::new("M309", Error, "this document kind is not supported yet");
/// The request asks for one kind, the command for another.
pub const KIND_MISMATCH: Code = Code::new(
    "M310",
    Error,
    "the request's kind differs from the document command",
);
/// An attachment's content type is not one the document can carry.
pub const ATTACHMENT_TYPE: Code = Code::new(
    "M311",
    Error,
    "attachment content type is not application/pdf",
);

/// An attachment's bytes are not a PDF file.
pub const ATTACHMENT_NOT_PDF: Code = Code::new(
    "M312",
    Error,
    "attachment file does not start with %PDF-; it is not attached and no document is built",
);

/// A patient summary whose plan would address no condition the patient was told of.
pub const SUMMARY_NO_CONDITION: Code = Code::new(
    "M320",
    Error,
    "no condition the patient was told of remains for the plan to address; no patient summary is written",
);
/// `summary.conditions` names a code no current condition of the patient carries.
pub const SUMMARY_UNKNOWN_CONDITION: Code = Code::new(
    "M321",
    Error,
    "`summary.conditions` names a code no current condition of the patient carries",
);
/// `summary.conditions` names a condition the patient was not told of (or that is
/// not to be provided): it is left out of the patient-facing document.
pub const SUMMARY_CONDITION_NOT_TOLD: Code = Code::new(
    "M322",
    Warning,
    "a condition the request names is 未告知 or 未提供: left out of the patient summary",
);

/// Every code of this module.
pub const ALL: &[&Code] = &[
    &REQUEST_SYNTAX,
    &REQUEST_MISSING,
    &REQUEST_BAD_VALUE,
    &UNKNOWN_PATIENT,
    &PATIENT_WITHHELD,
    &NAME_NOT_SPLIT,
    &SITE_NUMBER_DIFFERS,
    &SECTION_EMPTY,
    &RECORD_WITHHELD,
    &KIND_NOT_SUPPORTED,
    &KIND_MISMATCH,
    &ATTACHMENT_TYPE,
    &ATTACHMENT_NOT_PDF,
    &SUMMARY_NO_CONDITION,
    &SUMMARY_UNKNOWN_CONDITION,
    &SUMMARY_CONDITION_NOT_TOLD,
];
