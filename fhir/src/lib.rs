//! FHIR: the R4 resources kakehashi emits, a byte-deterministic JSON writer, FHIR
//! package loading, and the JP profile validator. No file I/O: packages and
//! resources are parsed from bytes the caller read.

#![deny(missing_docs)]

pub mod conformance;
pub mod diff;
pub mod errata;
pub mod fhirpath;
pub mod model;
pub mod package;
pub mod validate;
