//! Diagnostic codes of the research release (`R`). A code never changes meaning.

use diagnostics::{Code, Severity};

/// A line of the opt-out list is not `patient,<id>` or `insurance,<insurer:symbol:number[:branch]>`.
pub const OPT_OUT_MALFORMED: Code = Code::new(
    "R001",
    Severity::Error,
    "malformed opt-out list line; nothing is written",
);
/// An input line or file is not a FHIR resource in JSON.
pub const NOT_FHIR: Code = Code::new(
    "R002",
    Severity::Error,
    "input is not a FHIR resource in JSON; nothing is written",
);
/// Patients sit in equivalence classes smaller than k over the quasi-identifiers.
pub const BELOW_K: Code = Code::new(
    "R003",
    Severity::Warning,
    "patients in equivalence classes below k over the quasi-identifiers (see risk-report.json)",
);

/// Every code of this stage, in id order.
pub const ALL: &[&Code] = &[&OPT_OUT_MALFORMED, &NOT_FHIR, &BELOW_K];
