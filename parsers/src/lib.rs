//! Parsers: bytes in, records plus diagnostics out. No FHIR, no tables, no file I/O.
//!
//! Each format has a module:
//! - [`text`]: character decoding (ISO-2022-JP with byte-offset maps, the
//!   normalisation of characters decoders disagree on).
//! - [`hl7`]: HL7 v2.5 messages (delimiters, escapes, segments, fields).
//! - [`ssmix2`]: SS-MIX2 standardized-storage paths, file names and per-data-type checks.
//! - [`uke`]: レセ電 UKE receipt files (医科 typed; DPC, 歯科, 調剤 recognised).
//! - [`checkup`]: 特定健診 CDA XML (MHLW hc08) read with quick-xml.
//!
//! Parsing never fails wholesale: every function returns what it could read plus
//! [`diagnostics::Diagnostics`] with precise locations.

#![deny(missing_docs)]

pub mod checkup;
pub mod hl7;
pub mod ssmix2;
pub mod text;
pub mod uke;

#[cfg(test)]
pub(crate) use testkit::shared;
