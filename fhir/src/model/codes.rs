//! Diagnostic codes of the FHIR R4 model reader and writer (stage `V`, `V1xx`).

use diagnostics::{Code, Severity};

/// The bytes are not UTF-8 (FHIR JSON is UTF-8).
pub const NOT_UTF8: Code = Code::new("V101", Severity::Error, "resource bytes are not UTF-8");
/// Not well-formed JSON (or truncated).
pub const SYNTAX: Code = Code::new("V102", Severity::Error, "not well-formed JSON");
/// An element the FHIR R4 model does not define at this place (strict mode).
pub const UNKNOWN_ELEMENT: Code = Code::new(
    "V103",
    Severity::Error,
    "element not defined by the FHIR R4 model",
);
/// A value of the wrong JSON type (a string where a number, an object where an array…).
pub const WRONG_TYPE: Code = Code::new(
    "V104",
    Severity::Error,
    "value of the wrong JSON type for the element",
);
/// The same element given twice in one object.
pub const DUPLICATE_ELEMENT: Code =
    Code::new("V105", Severity::Error, "element given twice in one object");
/// `resourceType` missing or not an R4 resource type.
pub const UNKNOWN_RESOURCE_TYPE: Code = Code::new(
    "V106",
    Severity::Error,
    "missing or unknown resourceType for the FHIR R4 model",
);
/// An element the model cannot do without (e.g. `Extension.url`).
pub const MISSING_ELEMENT: Code = Code::new(
    "V107",
    Severity::Error,
    "element required by the FHIR R4 model is missing",
);
/// Any other reason the JSON does not fit the model.
pub const NOT_IN_MODEL: Code = Code::new(
    "V108",
    Severity::Error,
    "JSON does not fit the FHIR R4 model",
);
/// A resource value that cannot be written as FHIR JSON (a mapper bug, e.g. an
/// `Invalid` choice value).
pub const NOT_WRITABLE: Code = Code::new(
    "V109",
    Severity::Error,
    "resource cannot be written as FHIR JSON",
);

/// Every code of the model, in id order.
pub const ALL: &[&Code] = &[
    &NOT_UTF8,
    &SYNTAX,
    &UNKNOWN_ELEMENT,
    &WRONG_TYPE,
    &DUPLICATE_ELEMENT,
    &UNKNOWN_RESOURCE_TYPE,
    &MISSING_ELEMENT,
    &NOT_IN_MODEL,
    &NOT_WRITABLE,
];
