//! Diagnostic codes of receipt linking (`M400`–`M449`).

use diagnostics::{Code, Severity::*};

/// No storage patient matches the receipt.
pub const NO_MATCH: Code = Code::new(
    "M400",
    Warning,
    "receipt matches no storage patient; its records are counted, not used",
);
/// Several storage patients match; nothing is guessed.
pub const AMBIGUOUS: Code = Code::new(
    "M401",
    Warning,
    "receipt matches several storage patients; not linked",
);
/// カルテ番号 matches, the demographics do not.
pub const CONFLICTING: Code = Code::new(
    "M402",
    Warning,
    "receipt カルテ番号 matches a patient whose birth date or sex differ; not linked",
);
/// Linked by the fallback key.
pub const LINKED_BY_INSURANCE: Code = Code::new(
    "M403",
    Info,
    "receipt linked by insurance number, birth date and sex (no カルテ番号 match)",
);
/// 枝番 filled from SN.
pub const BRANCH_FILLED: Code = Code::new(
    "M404",
    Info,
    "枝番 from a linked receipt's SN record completes the 被保険者個人識別子",
);
/// Sources disagree on the 枝番 (or on the whole identifier): the patient is withheld.
pub const BRANCH_CONFLICT: Code = Code::new(
    "M405",
    Warning,
    "storage and receipts (or receipts) give different 枝番 or identifiers; patient withheld",
);
/// A linked receipt's insurance is not the storage's.
pub const OTHER_INSURANCE: Code = Code::new(
    "M406",
    Info,
    "linked receipt's insurance differs from the storage's current one; not used for the identifier",
);
/// A receipt gives the identifier the storage lacks.
pub const IDENTIFIER_FROM_RECEIPT: Code = Code::new(
    "M407",
    Info,
    "the storage has no insurance for the patient; a linked receipt of the latest month gives the identifier",
);
/// No link key.
pub const NO_KEY: Code = Code::new(
    "M408",
    Warning,
    "receipt has no カルテ番号 and no insurance number, birth date and sex to link it",
);
/// 枝番 not two digits.
pub const BRANCH_SHAPE: Code = Code::new("M409", Warning, "SN 枝番 is not two digits; not used");

/// A 枝番 a receipt gave in an earlier run, kept by the ledger, completes the identifier.
pub const BRANCH_REMEMBERED: Code = Code::new(
    "M410",
    Info,
    "枝番 from the ledger (a linked receipt gave it in an earlier run) completes the 被保険者個人識別子",
);
/// The ledger's 枝番 belongs to another insurance than the storage's current one.
pub const BRANCH_REMEMBERED_OTHER: Code = Code::new(
    "M411",
    Warning,
    "the ledger's 枝番 was learnt for another insurance (保険者番号・記号・番号 changed); not used",
);

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[
    &NO_MATCH,
    &AMBIGUOUS,
    &CONFLICTING,
    &LINKED_BY_INSURANCE,
    &BRANCH_FILLED,
    &BRANCH_CONFLICT,
    &OTHER_INSURANCE,
    &IDENTIFIER_FROM_RECEIPT,
    &NO_KEY,
    &BRANCH_SHAPE,
    &BRANCH_REMEMBERED,
    &BRANCH_REMEMBERED_OTHER,
];
