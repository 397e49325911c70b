//! FHIR NPM packages (`.tgz`): the files inside, and the package's name and version.
//!
//! Reading is lenient about content (conformance resources are parsed later, as
//! JSON values, not through a strict model) but strict about the archive: a
//! corrupt or truncated archive is an error, never a partial package.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// A FHIR package read from its `.tgz` bytes.
#[derive(Clone, Debug)]
pub struct Package {
    /// `name` from `package/package.json` (empty if absent).
    pub name: String,
    /// `version` from `package/package.json` (empty if absent).
    pub version: String,
    /// Every regular file, keyed by its path inside the archive (`package/…`).
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Why a package could not be read.
#[derive(Debug)]
pub struct PackageError(String);

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackageError {}

impl Package {
    /// Reads a gzip-compressed tar archive.
    pub fn from_tgz(bytes: &[u8]) -> Result<Package, PackageError> {
        let gz = flate2::read::GzDecoder::new(bytes);
        let mut archive = tar::Archive::new(gz);
        let mut files = BTreeMap::new();
        let entries = archive
            .entries()
            .map_err(|e| PackageError(format!("not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| PackageError(format!("corrupt archive: {e}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| PackageError(format!("bad path in archive: {e}")))?
                .to_string_lossy()
                .replace('\\', "/");
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| PackageError(format!("{path}: corrupt archive: {e}")))?;
            files.insert(path, data);
        }
        let (name, version) = match files.get("package/package.json") {
            Some(pj) => {
                let v: serde_json::Value = serde_json::from_slice(pj)
                    .map_err(|e| PackageError(format!("package/package.json: {e}")))?;
                let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
                (s("name"), s("version"))
            }
            None => (String::new(), String::new()),
        };
        Ok(Package {
            name,
            version,
            files,
        })
    }

    /// The JSON resources of the package (files ending in `.json`, except
    /// `package.json` and `.index.json`), in path order.
    pub fn json_resources(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().filter_map(|(path, data)| {
            let file = path.rsplit('/').next().unwrap_or(path);
            (file.ends_with(".json") && file != "package.json" && !file.starts_with('.'))
                .then_some((path.as_str(), data.as_slice()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendored(rel: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vendor/fhir-profiles")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn reads_the_clins_package() {
        let p = Package::from_tgz(&vendored("jp-clins/jp-clins.r4-1.5.2-snap.tgz")).unwrap();
        assert!(!p.name.is_empty());
        assert!(
            p.json_resources().count() > 300,
            "{}",
            p.json_resources().count()
        );
        assert!(
            p.files
                .keys()
                .any(|k| k.contains("JLAC10-corelabo") || k.to_lowercase().contains("corelabo"))
        );
    }

    #[test]
    fn truncated_archive_is_an_error() {
        let bytes = vendored("jp-clins/jp-clins.r4-1.5.2-snap.tgz");
        assert!(Package::from_tgz(&bytes[..bytes.len() / 2]).is_err());
        assert!(Package::from_tgz(b"not a tgz").is_err());
    }
}
