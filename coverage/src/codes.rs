//! Diagnostic codes of the coverage stage (`A`, analytics). A code never changes meaning.

use diagnostics::{Code, Severity};

/// A receipt record's code column is empty: there is nothing to count.
pub const EMPTY_CODE: Code = Code::new(
    "A001",
    Severity::Warning,
    "coded receipt column is empty; the occurrence is not counted",
);
/// A receipt disease is uncoded (未コード化傷病名 `0000999`): it is counted by its name.
pub const UNCODED_DISEASE: Code = Code::new(
    "A002",
    Severity::Info,
    "uncoded receipt disease (0000999); counted by its name",
);
/// The analytics (aggregation, CSV or Parquet writing) failed.
pub const ANALYTICS_FAILED: Code = Code::new(
    "A003",
    Severity::Error,
    "coverage analytics failed; no tables were written",
);

/// Every code of this stage, in id order.
pub const ALL: &[&Code] = &[&EMPTY_CODE, &UNCODED_DISEASE, &ANALYTICS_FAILED];
