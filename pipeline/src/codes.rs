//! Diagnostic codes of the pipeline's own steps (stage `C`: reading the storage,
//! the plan, the receipts' patches).

use diagnostics::Code;
use diagnostics::Severity::{Error, Warning};

/// An input file that could not be read.
pub const UNREADABLE: Code = Code::new("C001", Error, "input file cannot be read");

/// A unit the ledger holds live whose patient's member id this run did not
/// produce: the patient is absent from the input or was withheld whole.
pub const UNSEEN_NOT_DELETED: Code = Code::new(
    "C002",
    Warning,
    "submitted unit of a patient absent from this run's output (not in the input, or withheld): held, not deleted",
);

/// A receipts' patch made for a patient that the run then mapped differently.
pub const RECEIPT_PATCH_STALE: Code = Code::new(
    "C300",
    Warning,
    "receipts' change not applied: the patient differs from the one they were linked to",
);

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[&UNREADABLE, &UNSEEN_NOT_DELETED, &RECEIPT_PATCH_STALE];
