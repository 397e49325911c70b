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

/// `rel` inside `../shared`, the folder beside the repository that holds the data
/// taken from other projects (the JP-CLINS examples, …); CI always has it. A missing
/// file fails the test, naming the path: such tests never skip.
#[cfg(test)]
pub(crate) fn shared(rel: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel);
    assert!(
        path.exists(),
        "{} is missing: tests read data taken from other projects from ../shared beside the repository",
        path.display()
    );
    path
}

/// The JP-CLINS 1.5.2 example instances in `../shared` (tests).
#[cfg(test)]
pub(crate) const CLINS_EXAMPLES: &str = "fhir-profiles/jp-clins/examples";
