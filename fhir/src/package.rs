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
        Package::from_files(files)
    }

    /// A package from its files, keyed by their path inside the package
    /// (`package/…`), as a package cache folder holds them unpacked. Name and
    /// version come from `package/package.json` (empty when it is absent).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Result<Package, PackageError> {
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

    /// The `version` its ImplementationGuide resource states, when the package
    /// holds one (JP packages published with a placeholder `package.json` version
    /// sometimes state the real one there).
    pub fn ig_version(&self) -> Option<String> {
        self.json_resources()
            .filter(|(path, _)| {
                path.rsplit('/')
                    .next()
                    .is_some_and(|f| f.starts_with("ImplementationGuide"))
            })
            .find_map(|(_, bytes)| {
                let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
                (v.get("resourceType")?.as_str()? == "ImplementationGuide")
                    .then(|| v.get("version")?.as_str().map(str::to_owned))
                    .flatten()
            })
    }

    /// `dependsOn` of its ImplementationGuide resource as `packageId#version`
    /// references (the JP IGs state their JP Core and terminology dependencies
    /// there, not in `package.json`).
    pub fn ig_depends_on(&self) -> Vec<PackageRef> {
        self.json_resources()
            .filter(|(path, _)| {
                path.rsplit('/')
                    .next()
                    .is_some_and(|f| f.starts_with("ImplementationGuide"))
            })
            .filter_map(|(_, bytes)| serde_json::from_slice::<serde_json::Value>(bytes).ok())
            .filter(|v| {
                v.get("resourceType").and_then(|t| t.as_str()) == Some("ImplementationGuide")
            })
            .flat_map(|v| {
                v.get("dependsOn")
                    .and_then(|d| d.as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|d| {
                let name = d.get("packageId")?.as_str()?;
                let version = d.get("version")?.as_str()?;
                PackageRef::parse(&format!("{name}#{version}")).ok()
            })
            .collect()
    }

    /// `dependencies` of `package.json` as `name#version` references, in file order.
    pub fn dependencies(&self) -> Vec<PackageRef> {
        let Some(v) = self
            .files
            .get("package/package.json")
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        else {
            return Vec::new();
        };
        let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) else {
            return Vec::new();
        };
        deps.iter()
            .filter_map(|(name, version)| {
                Some(PackageRef {
                    name: name.clone(),
                    version: version.as_str()?.to_owned(),
                })
            })
            .collect()
    }

    /// StructureDefinitions (by file) that have no snapshot: kakehashi validates
    /// against snapshots, so a differential-only package cannot be used.
    pub fn without_snapshot(&self) -> Vec<String> {
        self.json_resources()
            .filter(|(path, _)| {
                path.rsplit('/')
                    .next()
                    .is_some_and(|f| f.starts_with("StructureDefinition"))
            })
            .filter_map(|(path, bytes)| {
                let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
                if v.get("resourceType")?.as_str()? != "StructureDefinition" {
                    return None;
                }
                let has = v
                    .get("snapshot")
                    .and_then(|s| s.get("element"))
                    .and_then(|e| e.as_array())
                    .is_some_and(|e| !e.is_empty());
                (!has).then(|| path.to_owned())
            })
            .collect()
    }
}

/// A package named by `name#version`, the form FHIR package caches and
/// dependency lists use (`jp-eCSCLINS.r4#1.10.0`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageRef {
    /// Package name (`jp-core.r4`).
    pub name: String,
    /// Exact version (`1.1.2-url`).
    pub version: String,
}

impl PackageRef {
    /// Parses `name#version`. Both parts are required; neither may hold `#`, a
    /// path separator, white space or a control character, nor be `.` or `..`
    /// (the reference names a folder of the package cache).
    pub fn parse(s: &str) -> Result<PackageRef, PackageError> {
        let Some((name, version)) = s.split_once('#') else {
            return Err(PackageError(format!(
                "'{s}' is not NAME#VERSION (for example jp-eCSCLINS.r4#1.10.0)"
            )));
        };
        check_part("package name", name, s)?;
        check_part("version", version, s)?;
        Ok(PackageRef {
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }
}

fn check_part(what: &str, part: &str, whole: &str) -> Result<(), PackageError> {
    let bad = part.is_empty()
        || part == "."
        || part == ".."
        || part
            .chars()
            .any(|c| c == '#' || c == '/' || c == '\\' || c.is_whitespace() || c.is_control());
    if bad {
        return Err(PackageError(format!(
            "'{whole}': the {what} '{part}' is empty or holds a character a package name cannot have"
        )));
    }
    Ok(())
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.version)
    }
}

/// True for versions that are placeholders rather than releases: `1.x.x-temp`,
/// `1.0.0-temp`, `current`, `dev` (JP IG snapshots were published so).
pub fn is_placeholder_version(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    lower.is_empty()
        || lower.contains("temp")
        || matches!(lower.as_str(), "current" | "dev")
        || lower.split(['.', '-']).any(|p| p == "x")
}

/// Published package files whose `package.json` carries a placeholder version,
/// with the version their IG text states: `(sha256 of the .tgz, name, version,
/// where the version is stated)`. `packages add` names such a file by this
/// table when the user gives no `--as`.
pub const KNOWN_PLACEHOLDERS: &[(&str, &str, &str, &str)] = &[(
    "aa16b398eac4d8e12d6fee6fb8a67cb9042456e2f569fba51d4a2b1e4a43420c",
    "jp-eCSCLINS.r4",
    "1.5.2",
    "jami-fhir-jp-wg/clinical-core @ ad5ab68, packages_snapshot/: package.json and the IG resource say 1.x.x-temp, the IG text v1.5.2",
)];

/// How a package file is named in the cache, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    /// The cache name (`name#version`).
    pub id: PackageRef,
    /// The version `package.json` declares, when the cache name differs from it.
    pub declared: Option<String>,
    /// Why this version: `package.json`, `--as`, `known package file`, `ImplementationGuide.version`,
    /// or `placeholder` (kept as declared; a warning for the user).
    pub named_by: &'static str,
}

/// Names a package for the cache: `alias` (`--as VERSION`) when given; the
/// `package.json` version when it is a release; else [`KNOWN_PLACEHOLDERS`] by
/// the file's sha256; else the ImplementationGuide resource's version when that is
/// a release; else the placeholder itself (`named_by = "placeholder"`).
pub fn name_package(
    p: &Package,
    sha256_hex: &str,
    alias: Option<&str>,
) -> Result<Naming, PackageError> {
    if p.name.is_empty() {
        return Err(PackageError(
            "package/package.json names no package (no \"name\")".into(),
        ));
    }
    let make = |version: &str, named_by: &'static str| -> Result<Naming, PackageError> {
        let id = PackageRef::parse(&format!("{}#{version}", p.name))?;
        let declared = (p.version != version).then(|| p.version.clone());
        Ok(Naming {
            id,
            declared,
            named_by,
        })
    };
    if let Some(a) = alias {
        return make(a, "--as");
    }
    if !is_placeholder_version(&p.version) {
        return make(&p.version, "package.json");
    }
    if let Some((_, name, version, _)) = KNOWN_PLACEHOLDERS
        .iter()
        .find(|(sha, ..)| *sha == sha256_hex)
    {
        if *name != p.name {
            return Err(PackageError(format!(
                "the file is the known package {name}#{version}, but its package.json names {}",
                p.name
            )));
        }
        return make(version, "known package file");
    }
    if let Some(v) = p.ig_version().filter(|v| !is_placeholder_version(v)) {
        return make(&v, "ImplementationGuide.version");
    }
    if p.version.is_empty() {
        return Err(PackageError(
            "package/package.json states no version; name it with --as VERSION".into(),
        ));
    }
    make(&p.version, "placeholder")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(rel: &str) -> Vec<u8> {
        let p = crate::shared(&format!("fhir-profiles/{rel}"));
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn reads_the_clins_package() {
        let p = Package::from_tgz(&shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz")).unwrap();
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
        assert!(p.without_snapshot().is_empty());
        assert_eq!(p.ig_version().as_deref(), Some("1.x.x-temp"));
        assert_eq!(p.dependencies()[0].to_string(), "hl7.fhir.r4.core#4.0.1");
        let deps: Vec<String> = p.ig_depends_on().iter().map(ToString::to_string).collect();
        assert_eq!(
            deps,
            ["jp-core.r4#1.1.2-url", "jpfhir-terminology.r4#1.2.2-url"]
        );
    }

    #[test]
    fn truncated_archive_is_an_error() {
        let bytes = shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz");
        assert!(Package::from_tgz(&bytes[..bytes.len() / 2]).is_err());
        assert!(Package::from_tgz(b"not a tgz").is_err());
    }

    #[test]
    fn differential_only_packages_are_told_apart() {
        let p = Package::from_tgz(&shared("jp-clins/jp-eCSCLINS.r4-1.10.0.tgz")).unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("jp-eCSCLINS.r4", "1.10.0")
        );
        assert_eq!(p.without_snapshot().len(), 51);
    }

    #[test]
    fn placeholder_versions_are_named() {
        for v in ["1.x.x-temp", "1.0.0-temp", "current", "dev", ""] {
            assert!(is_placeholder_version(v), "{v}");
        }
        for v in ["1.5.2", "1.10.0", "1.1.2-url", "4.0.1", "1.1.2-clins"] {
            assert!(!is_placeholder_version(v), "{v}");
        }
        let sha = |b: &[u8]| -> String {
            use sha2::Digest;
            sha2::Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        // the known 1.5.2 snapshot: named by the table
        let bytes = shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz");
        let p = Package::from_tgz(&bytes).unwrap();
        let n = name_package(&p, &sha(&bytes), None).unwrap();
        assert_eq!(n.id.to_string(), "jp-eCSCLINS.r4#1.5.2");
        assert_eq!(
            (n.declared.as_deref(), n.named_by),
            (Some("1.x.x-temp"), "known package file")
        );
        // --as wins
        let n = name_package(&p, &sha(&bytes), Some("1.5.2-test")).unwrap();
        assert_eq!((n.id.version.as_str(), n.named_by), ("1.5.2-test", "--as"));
        assert!(name_package(&p, &sha(&bytes), Some("a/b")).is_err());
        // eCheckupReport 1.0.0-temp: its IG resource says 1.1.3
        let bytes = shared("echeckup/jp-eCheckupReport.r4.tgz");
        let p = Package::from_tgz(&bytes).unwrap();
        let n = name_package(&p, &sha(&bytes), None).unwrap();
        assert_eq!(
            (n.id.to_string().as_str(), n.named_by),
            ("jp-eCheckupReport.r4#1.1.3", "ImplementationGuide.version")
        );
        // eReferral: nothing better known, kept as declared
        let bytes = shared("ereferral/jp-eReferral.r4.tgz");
        let p = Package::from_tgz(&bytes).unwrap();
        let n = name_package(&p, &sha(&bytes), None).unwrap();
        assert_eq!(
            (n.id.to_string().as_str(), n.named_by),
            ("jp-eReferral.r4#1.0.0-temp", "placeholder")
        );
        // a release is named as it says
        let bytes = shared("jp-core/jp-core.r4-1.1.2-url.tgz");
        let p = Package::from_tgz(&bytes).unwrap();
        let n = name_package(&p, &sha(&bytes), None).unwrap();
        assert_eq!(
            (n.id.to_string().as_str(), n.declared),
            ("jp-core.r4#1.1.2-url", None)
        );
    }
}
