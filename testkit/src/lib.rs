//! Test support for the workspace's tests, in one place instead of a copy per
//! crate: where the data taken from other projects is (`../shared` beside the
//! repository), the repository root, and scratch folders.
//!
//! A dev-dependency only: no crate lists it among its `[dependencies]`
//! (`tests/tidy.rs` checks), so nothing here reaches a build of the binary, which
//! must find nothing through the source tree.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// The repository's root folder (this crate's parent).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `rel` inside `../shared`, the folder beside the repository that holds the data
/// taken from other projects (the NHO SS-MIX2 sample, J-FAGY, the JAMI ConceptMaps,
/// the SQL on FHIR tests, the JP IG packages and examples); CI always has it.
///
/// # Panics
/// When `rel` is missing, naming the path: tests that need it fail, never skip.
pub fn shared(rel: &str) -> PathBuf {
    let path = repository().join("../shared").join(rel);
    assert!(
        path.exists(),
        "{} is missing: tests read data taken from other projects from ../shared beside the repository",
        path.display()
    );
    path
}

/// An empty scratch folder for a test, `<temp>/kakehashi-<name>-<pid>` (emptied
/// if a previous run left it).
///
/// # Panics
/// When the folder cannot be made.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kakehashi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create folder {}: {e}", dir.display());
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_holds_this_crate() {
        assert!(repository().join("testkit/Cargo.toml").is_file());
    }

    #[test]
    #[should_panic(expected = "is missing")]
    fn a_missing_shared_file_fails_naming_it() {
        shared("no/such/file");
    }

    #[test]
    fn a_scratch_dir_starts_empty() {
        let d = scratch_dir("testkit-self");
        std::fs::write(d.join("x"), b"x").unwrap();
        let d = scratch_dir("testkit-self");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
