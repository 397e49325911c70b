//! Synthetic test data: realistic SS-MIX2 storage and UKE receipt files, generated
//! deterministically from a seed (same seed → same bytes), with optional injected
//! faults. Pure: generators return paths and bytes; the CLI writes them. Feeds the
//! tests, fuzzing and the benchmarks. Every person in the output is fictitious.

#![deny(missing_docs)]

pub mod rng;
pub mod ssmix2;
pub mod uke;
