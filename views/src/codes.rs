//! Diagnostic codes of the analysis tables (`X`, export). A code never changes meaning.

use diagnostics::{Code, Severity};

/// A ViewDefinition file is not JSON, or not a ViewDefinition.
pub const VIEW_UNREADABLE: Code = Code::new(
    "X001",
    Severity::Error,
    "ViewDefinition is not readable JSON (or not a ViewDefinition); the view is not run",
);
/// A ViewDefinition breaks a rule of SQL on FHIR v2 (missing resource, bad name,
/// a path that does not compile, unionAll branches with other columns …).
pub const VIEW_MALFORMED: Code = Code::new(
    "X002",
    Severity::Error,
    "malformed ViewDefinition; the view is not run",
);
/// A column declares a type that is not a FHIR primitive type.
pub const UNKNOWN_COLUMN_TYPE: Code = Code::new(
    "X003",
    Severity::Error,
    "column type is not a FHIR primitive type; the view is not run",
);
/// Two views (shipped or the user's) write the same table.
pub const DUPLICATE_VIEW: Code = Code::new(
    "X004",
    Severity::Error,
    "two views have the same name; the later one is not run",
);
/// A view could not be evaluated on one resource (a path failed, a column that is
/// not a collection gave several values, a value that does not fit the column's
/// type, a `where` that is not boolean): that resource gives no rows in the view.
pub const NOT_EVALUABLE: Code = Code::new(
    "X005",
    Severity::Error,
    "view cannot be evaluated on this resource; it gives no rows in that table (counted)",
);
/// An input line or file is not a FHIR resource (not JSON, no `resourceType`).
pub const RESOURCE_UNREADABLE: Code = Code::new(
    "X006",
    Severity::Error,
    "input is not a FHIR resource in JSON; it is skipped (counted)",
);
/// A resource has neither id nor identifier: it cannot be matched with another
/// copy and is used as read.
pub const NO_ID: Code = Code::new(
    "X007",
    Severity::Warning,
    "resource has neither id nor identifier; it is used as read (not deduplicated)",
);
/// A column has no type: it is written as text.
pub const UNTYPED_COLUMN: Code = Code::new(
    "X008",
    Severity::Info,
    "column has no type; it is written as text",
);

/// Every code of this stage, in id order.
pub const ALL: &[&Code] = &[
    &VIEW_UNREADABLE,
    &VIEW_MALFORMED,
    &UNKNOWN_COLUMN_TYPE,
    &DUPLICATE_VIEW,
    &NOT_EVALUABLE,
    &RESOURCE_UNREADABLE,
    &NO_ID,
    &UNTYPED_COLUMN,
];
