//! FHIR: the R4 resources kakehashi emits, a byte-deterministic JSON writer, FHIR
//! package loading, and the JP profile validator. No file I/O: packages and
//! resources are parsed from bytes the caller read.

#![deny(missing_docs)]

pub mod calendar;
pub mod conformance;
pub mod diff;
pub mod errata;
pub mod fhirpath;
pub mod model;
pub mod package;
pub mod validate;

#[cfg(test)]
pub(crate) use testkit::shared;

/// The JP-CLINS 1.5.2 example instances in `../shared` (tests).
#[cfg(test)]
pub(crate) const CLINS_EXAMPLES: &str = "fhir-profiles/jp-clins/examples";
