//! Diagnostic codes of delivery to a FHIR server (`C400`–`C419`).

use diagnostics::{Code, Severity::*};

/// The server refused a unit's transaction (4xx); its OperationOutcome is kept.
pub const REFUSED: Code = Code::new(
    "C400",
    Error,
    "FHIR server refused a unit's transaction (its OperationOutcome is kept in the ledger and beside the bundle)",
);
/// A unit refused before with the same bundle is not sent again unless asked.
pub const REFUSED_BEFORE: Code = Code::new(
    "C401",
    Warning,
    "unit refused by the server before with the same bundle: not sent again (--resend-refused sends it)",
);
/// A unit could not be delivered (no answer to judge it by): the next push sends it.
pub const NOT_DELIVERED: Code = Code::new(
    "C402",
    Error,
    "unit not delivered: the server could not be reached or kept failing; the next push sends it",
);
/// A held unit the server never received: this output folder has no bundle to send.
pub const HELD_UNDELIVERED: Code = Code::new(
    "C403",
    Warning,
    "held unit was never delivered to this server and this output folder has no bundle for it",
);
/// The output folder is not the result of a finished convert run.
pub const UNFINISHED_OUTPUT: Code = Code::new(
    "C404",
    Error,
    "output folder is not a finished convert run (plan, report or a planned bundle missing or unreadable)",
);
/// The output folder and the ledger do not describe the same run.
pub const LEDGER_MISMATCH: Code = Code::new(
    "C405",
    Error,
    "output folder and ledger disagree (a ledger of another storage or run, or a folder changed since)",
);
/// The server is not a FHIR R4 server that takes transactions.
pub const NOT_A_SERVER: Code = Code::new(
    "C406",
    Error,
    "server does not answer as a FHIR R4 server accepting transactions",
);

/// Every code of delivery, in id order.
pub const ALL: &[&Code] = &[
    &REFUSED,
    &REFUSED_BEFORE,
    &NOT_DELIVERED,
    &HELD_UNDELIVERED,
    &UNFINISHED_OUTPUT,
    &LEDGER_MISMATCH,
    &NOT_A_SERVER,
];
