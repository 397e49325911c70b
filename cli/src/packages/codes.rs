//! Diagnostic codes of the FHIR package cache (`C200`–`C219`): what
//! `packages add|install|list|remove` and every command loading a pinned set
//! report when a package cannot be had.

use diagnostics::{Code, Severity::Error};

/// A pinned package is not in the cache.
pub const MISSING: Code = Code::new(
    "C200",
    Error,
    "pinned FHIR package is not in the package cache",
);
/// The cache holds something under the package's name that is not the package.
pub const DAMAGED: Code = Code::new("C201", Error, "package cache entry is damaged");
/// A package file cannot be read as a FHIR package.
pub const BAD_PACKAGE: Code = Code::new("C202", Error, "file is not a usable FHIR package");
/// A package's StructureDefinitions lack snapshots.
pub const NO_SNAPSHOT: Code = Code::new(
    "C203",
    Error,
    "FHIR package has StructureDefinitions without a snapshot",
);
/// Another file is already installed under the package's name.
pub const CONFLICT: Code = Code::new(
    "C204",
    Error,
    "another file is already installed under this package name and version",
);
/// A package fetched or found for a name is another package.
pub const NAME_MISMATCH: Code = Code::new(
    "C205",
    Error,
    "package fetched or found for a name is another package",
);
/// No source had the package.
pub const NOT_FOUND: Code = Code::new(
    "C206",
    Error,
    "FHIR package could not be installed from any source",
);
/// The cache folder cannot be read or written.
pub const IO: Code = Code::new("C207", Error, "package cache cannot be read or written");

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[
    &MISSING,
    &DAMAGED,
    &BAD_PACKAGE,
    &NO_SNAPSHOT,
    &CONFLICT,
    &NAME_MISMATCH,
    &NOT_FOUND,
    &IO,
];
