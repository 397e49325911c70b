//! Terminologies: the standard code systems kakehashi emits, tracked mapping tables
//! (status, equivalence, author, reviewer, provenance, version) and the lookup API
//! mappers use. No file I/O: tables are parsed from bytes the caller read.
//!
//! - [`system`]: the registry (FHIR URI, OID aliases, code shapes, HL7 v2 names;
//!   [`system::source_uri_for_v2`] tells a mapper which system a CWE code is in).
//! - [`table`]: [`Table`] and its SSSOM TSV form ([`table::parse_sssom`],
//!   [`Table::to_sssom`]); [`check`]: the rules `kakehashi tables check` enforces.
//! - [`lookup`]: the [`lookup::Terminology`] trait mappers consume, implemented by
//!   [`lookup::Index`]; unmapped keys give a diagnostic and a [`lookup::Worklist`] entry.
//! - [`conceptmap`]: FHIR R4 ConceptMap export/import; [`import`]: house-code
//!   import profiles; [`master`]: CodeSystem JSON and J-FAGY masters;
//!   [`suggest`]: lexical candidates for unmapped codes (with [`reading`]: kanji
//!   readings from a MeCab-format dictionary's lexicon); [`governance`]: review,
//!   diff and migration; [`modifier`]: the 支払基金 修飾語マスター as prefix/postfix
//!   modifiers with their MEDIS codes (JP Core Condition modifier extensions).
//!
//! ```
//! let bytes = include_bytes!("../../tables/nho-sample-lab-99X03.sssom.tsv");
//! let (table, diags) = terminologies::table::parse_sssom(bytes);
//! assert!(diags.is_empty() && terminologies::check::check(&table, &[]).is_empty());
//! use terminologies::lookup::{Index, Options, Query, Terminology};
//! let index = Index::new(&[table]);
//! let q = Query { system: "urn:kakehashi:local:nho-sample:99X03", code: "10222", specimen: "01", ..Query::default() };
//! let t = index.translate(&q, Options::default()).targets().next().unwrap();
//! assert_eq!((t.code, t.lineage().as_str()), ("3A010000002327101", "nho-sample-lab-99X03@1#r00001"));
//! ```

#![deny(missing_docs)]

pub mod check;
pub mod codes;
pub mod conceptmap;
pub mod delimited;
pub mod governance;
pub mod import;
pub mod lookup;
pub mod master;
pub mod modifier;
pub mod reading;
pub mod suggest;
pub mod system;
pub mod table;

pub use system::{CodeSystem, Shape, V2System};
pub use table::{Equivalence, Metadata, Row, SourceKey, Status, Table, WriteError};

#[cfg(test)]
pub(crate) use testkit::shared;

/// The J-FAGY CSV (UTF-8) in `../shared` (tests).
#[cfg(test)]
pub(crate) const JFAGY_CSV: &str = "data/jfagy/utf8/JFAGY_J9FN_20250401_R01.csv";
