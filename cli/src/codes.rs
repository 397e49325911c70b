//! Diagnostic codes of the command line itself (stage `C`).

use diagnostics::Code;
use diagnostics::Severity::Error;

/// An input file that could not be read.
pub const UNREADABLE: Code = Code::new("C001", Error, "input file cannot be read");

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[&UNREADABLE];
