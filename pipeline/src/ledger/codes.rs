//! Diagnostic codes of the submission ledger (`C100`–`C119`).

use diagnostics::{Code, Severity::*};

/// The ledger file cannot be opened, read or written (I/O or an SQLite failure).
pub const IO: Code = Code::new(
    "C100",
    Error,
    "ledger file cannot be opened, read or written",
);
/// The file is corrupt, not an SQLite database, or a database of another program.
pub const CORRUPT: Code = Code::new(
    "C101",
    Error,
    "ledger file is corrupt or is not a kakehashi ledger",
);
/// The ledger was written by a release with another schema version.
pub const SCHEMA_VERSION: Code = Code::new(
    "C102",
    Error,
    "ledger schema version is not the one this release uses",
);
/// The ledger belongs to another 医療機関番号.
pub const OTHER_INSTITUTION: Code = Code::new(
    "C103",
    Error,
    "ledger belongs to another institution number",
);
/// Another run holds the ledger.
pub const LOCKED: Code = Code::new("C104", Error, "ledger is in use by another run");
/// Two units of one run share a unit id.
pub const DUPLICATE_UNIT: Code = Code::new("C105", Error, "two units of this run have one unit id");
/// A unit id the ledger knows with another resource type.
pub const TYPE_CHANGED: Code = Code::new(
    "C106",
    Error,
    "unit id is recorded in the ledger with another resource type",
);
/// The as-of year cannot start a bundle identifier (R2152 allows 2020–2039).
pub const YEAR_RANGE: Code = Code::new(
    "C107",
    Error,
    "as-of year is outside the bundle identifier's range 2020-2039",
);
/// A plan committed against a ledger that changed since it was made.
pub const STALE_PLAN: Code = Code::new(
    "C108",
    Error,
    "plan does not match the ledger it is committed to",
);
/// A submitted unit's 被保険者個人識別子 changed: deleted under the old one, created under the new.
pub const MEMBER_CHANGED: Code = Code::new(
    "C109",
    Warning,
    "insured-person id of a submitted unit changed: deleted under the old, created under the new",
);

/// Every code of the ledger, in id order.
pub const ALL: &[&Code] = &[
    &IO,
    &CORRUPT,
    &SCHEMA_VERSION,
    &OTHER_INSTITUTION,
    &LOCKED,
    &DUPLICATE_UNIT,
    &TYPE_CHANGED,
    &YEAR_RANGE,
    &STALE_PLAN,
    &MEMBER_CHANGED,
];
