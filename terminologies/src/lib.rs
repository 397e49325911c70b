//! Terminologies: the standard code systems kakehashi emits, tracked mapping tables
//! (status, equivalence, author, reviewer, provenance, version) and the lookup API
//! mappers use. No file I/O: tables are parsed from bytes the caller read.

#![deny(missing_docs)]

pub mod check;
pub mod codes;
pub mod conceptmap;
pub mod delimited;
pub mod import;
pub mod lookup;
pub mod master;
pub mod system;
pub mod table;

pub use system::{CodeSystem, Shape, V2System};
pub use table::{Equivalence, Metadata, Row, SourceKey, Status, Table};
