//! The conversion pipeline as a library: SS-MIX2 storage → validated JP-CLINS
//! submission units, with the submission ledger. Sources, transforms, sinks:
//!
//! - [`source`]: the patient source — a storage walk ([`walk`]) grouped into one
//!   unit per patient, and the one read of a patient's files (read, parse, map
//!   every message version, assemble) that conversion, the clinical documents,
//!   the receipts' linking and coverage share;
//! - [`convert`]: per-patient conversion to typed results ([`PatientResult`]:
//!   bundle values and their validation outcomes, Bulk Data resources, lineage
//!   records, diagnostics, accounting, ledger observations) — no output layout;
//! - [`sink`]: the [`Sink`] trait (per-patient work on the workers, in-order
//!   appends, run-level diagnostics, the end of the run); [`outputs`]: today's
//!   folder outputs (unit folders and quarantine, NDJSON, lineage, diagnostics,
//!   plan, receipts, report);
//! - [`ledger`]: the submission ledger behind [`LedgerStore`] (SQLite by
//!   default) and the [`Plan`], which holds units of patients a run did not see;
//! - [`run`]: workers with a bounded reorder buffer ([`run::Run`]) and the end of
//!   a run ([`run::finish`]: plan, sinks, then the ledger's commit);
//! - [`receipts`]: UKE receipts linked to the storage's patients;
//! - [`deliver`]: the FHIR server sink — what a finished run planned, sent as
//!   one `transaction` per unit, exactly once under faults, recorded in the
//!   ledger.
//!
//! Front ends (the `kakehashi` command line) parse arguments, load the site's
//! configuration, tables and packages, draw progress and print summaries.
//!
//! ```no_run
//! use pipeline::source::Storage;
//! let storage = Storage::walk("storage".into(), "storage");
//! for p in storage.patients() {
//!     println!("{}: {} files", p.key, p.len());
//! }
//! ```

#![deny(missing_docs)]

pub mod codes;
pub mod convert;
pub mod deliver;
pub mod ledger;
pub mod outputs;
pub mod receipts;
pub mod run;
pub mod sink;
pub mod source;
pub mod walk;

pub use convert::{Converter, PatientResult, Settings};
pub use ledger::{Ledger, LedgerStore, Plan};
pub use sink::{Sink, SinkError};

#[cfg(test)]
mod tests;
