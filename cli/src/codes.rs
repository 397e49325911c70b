//! Diagnostic codes of the command line itself (stage `C`).

use diagnostics::Code;
use diagnostics::Severity::{Error, Warning};

/// An input file that could not be read.
pub const UNREADABLE: Code = Code::new("C001", Error, "input file cannot be read");

/// A unit the ledger holds live whose patient this run did not see at all.
pub const UNSEEN_NOT_DELETED: Code = Code::new(
    "C002",
    Warning,
    "submitted unit of a patient absent from this run's input: held, not deleted",
);

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[&UNREADABLE, &UNSEEN_NOT_DELETED];
