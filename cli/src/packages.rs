//! The FHIR package cache and `kakehashi packages add|install|list|remove|diff`.
//!
//! Packages live where the FHIR tool ecosystem keeps them: one folder per
//! package, `<cache>/<name>#<version>/package/…`, the package's files unpacked
//! unmodified. The cache is `$KAKEHASHI_PACKAGE_CACHE` when set, else
//! `~/.fhir/packages` (the HL7 validator's, SUSHI's and Firely's cache). Next to
//! `package/`, kakehashi writes `.kakehashi.json` (where the file came from, its
//! sha256, the version `package.json` declares when the cache name differs).
//!
//! Every command that validates loads exactly the packages its set pins
//! (`fhir::conformance::PackageSet`: the site's `[packages.sets]` or the built-in
//! defaults): a pinned package missing from the cache is an error naming it and the
//! command that installs it, unless the site's `packages.sources` names where it
//! may be installed from. `hl7.fhir.r4.core#4.0.1` is built in (the subset of the
//! R4 definitions kakehashi needs, `vendor/fhir-profiles/r4-core`).
//!
//! Installing is atomic: a package is unpacked into a temporary folder of the
//! cache and renamed into place, so a killed install leaves no half package and
//! two processes installing the same file agree.

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use fhir::conformance::{PackageSet, SetError};
use fhir::package::{Naming, Package, PackageRef, name_package};
use sha2::Digest;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub mod codes;

/// The environment variable that moves the package cache.
pub const CACHE_ENV: &str = "KAKEHASHI_PACKAGE_CACHE";

// The R4 base definitions built into the binary.
use fhir::conformance::BUILT_IN_R4;

/// Largest package file accepted (the full R4 core is about 60 MB unpacked).
const MAX_PACKAGE_BYTES: u64 = 256 * 1024 * 1024;

/// Registries `packages install` asks when neither `--from` nor the site's
/// `packages.sources` names one.
pub const DEFAULT_REGISTRIES: &[&str] = &[
    "https://packages.fhir.org",
    "https://packages.simplifier.net",
];

/// The cache folder the process environment names: `$KAKEHASHI_PACKAGE_CACHE`,
/// else `$HOME/.fhir/packages`, else `.fhir/packages` in the working directory.
pub fn cache_from_env() -> PathBuf {
    if let Some(p) = std::env::var_os(CACHE_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".fhir").join("packages"),
        None => PathBuf::from(".fhir").join("packages"),
    }
}

/// Why a package could not be had from the cache or installed into it.
#[derive(Debug)]
pub enum CacheError {
    /// The pinned package is not in the cache.
    Missing {
        /// The package.
        package: PackageRef,
        /// The cache folder.
        cache: PathBuf,
    },
    /// The cache holds something under this name that is not the package.
    Damaged {
        /// The package.
        package: PackageRef,
        /// What is wrong.
        reason: String,
    },
    /// A package file could not be read as a FHIR package.
    BadPackage {
        /// Where it came from.
        source: String,
        /// Why.
        reason: String,
    },
    /// The package has StructureDefinitions without snapshots.
    NoSnapshot {
        /// Where it came from.
        source: String,
        /// The package.
        package: PackageRef,
        /// How many definitions lack one.
        count: usize,
    },
    /// Another file is already installed under this name.
    Conflict {
        /// The package.
        package: PackageRef,
        /// sha256 of the installed file.
        installed: String,
        /// sha256 of the new one.
        new: String,
    },
    /// A package fetched or found for a name turned out to be another package.
    NameMismatch {
        /// What was asked for.
        wanted: PackageRef,
        /// What the package says it is.
        found: String,
        /// Where it came from.
        source: String,
    },
    /// No source had the package.
    NotFound {
        /// The package.
        package: PackageRef,
        /// What was tried, and why each failed.
        tried: Vec<String>,
    },
    /// A file system error.
    Io {
        /// What could not be done (`read`, `write`, `create folder` …).
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::Missing { package, cache } => write!(
                f,
                "package {package} is not installed (cache {}); install it with \
                 `kakehashi packages add FILE.tgz` (a file you downloaded) or \
                 `kakehashi packages install {package}`",
                cache.display()
            ),
            CacheError::Damaged { package, reason } => write!(
                f,
                "the cache entry {package} is damaged ({reason}); remove it with \
                 `kakehashi packages remove {package}` and install it again"
            ),
            CacheError::BadPackage { source, reason } => {
                write!(f, "{source}: not a usable FHIR package: {reason}")
            }
            CacheError::NoSnapshot {
                source,
                package,
                count,
            } => write!(
                f,
                "{source}: {package} has {count} StructureDefinition(s) without a snapshot; \
                 kakehashi validates against snapshots: use the package's snapshot \
                 edition (for JP IGs the file named …-snap.tgz)"
            ),
            CacheError::Conflict {
                package,
                installed,
                new,
            } => write!(
                f,
                "{package} is already installed from another file (sha256 {} there, {} here); \
                 remove it first (`kakehashi packages remove {package}`) or name this one \
                 with --as VERSION",
                short(installed),
                short(new)
            ),
            CacheError::NameMismatch {
                wanted,
                found,
                source,
            } => write!(
                f,
                "{source}: asked for {wanted}, but the package is {found}"
            ),
            CacheError::NotFound { package, tried } => {
                write!(f, "package {package} could not be installed:")?;
                for t in tried {
                    write!(f, "\n  {t}")?;
                }
                if tried.is_empty() {
                    write!(f, " no source to install it from")?;
                }
                Ok(())
            }
            CacheError::Io { op, path, error } => {
                write!(f, "cannot {op} {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for CacheError {}

impl CacheError {
    /// The stable diagnostic code of this error ([`codes`]).
    pub fn code(&self) -> &'static diagnostics::Code {
        match self {
            CacheError::Missing { .. } => &codes::MISSING,
            CacheError::Damaged { .. } => &codes::DAMAGED,
            CacheError::BadPackage { .. } => &codes::BAD_PACKAGE,
            CacheError::NoSnapshot { .. } => &codes::NO_SNAPSHOT,
            CacheError::Conflict { .. } => &codes::CONFLICT,
            CacheError::NameMismatch { .. } => &codes::NAME_MISMATCH,
            CacheError::NotFound { .. } => &codes::NOT_FOUND,
            CacheError::Io { .. } => &codes::IO,
        }
    }

    /// The error as the command line shows it, with its code:
    /// `error[C200]: package … is not installed …`.
    pub fn render(&self) -> String {
        self.render_as(&self.to_string())
    }

    /// `message` (the error said in a context) with the error's code.
    fn render_as(&self, message: &str) -> String {
        format!("{}[{}]: {message}", self.code().severity, self.code().id)
    }
}

/// The command stops with the error and its code ([`CacheError::render`]).
impl From<CacheError> for Failure {
    fn from(e: CacheError) -> Failure {
        Failure(e.render())
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn io(op: &'static str, path: &Path, error: std::io::Error) -> CacheError {
    CacheError::Io {
        op,
        path: path.to_path_buf(),
        error,
    }
}

/// sha256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `.kakehashi.json` of a cache entry says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// sha256 of the package file installed.
    pub sha256: String,
    /// Where it came from (a path as given, or a URL).
    pub source: String,
    /// The version `package.json` declares, when the cache name differs.
    pub declared: Option<String>,
    /// Why the package has its cache name (see [`fhir::package::Naming`]).
    pub named_by: String,
}

impl Origin {
    fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::json!({
            "sha256": self.sha256,
            "source": self.source,
            "named_by": self.named_by,
        });
        if let (Some(d), Some(o)) = (&self.declared, v.as_object_mut()) {
            o.insert("declared_version".into(), d.clone().into());
        }
        v.sort_all_objects();
        let mut b = serde_json::to_vec_pretty(&v).unwrap_or_default();
        b.push(b'\n');
        b
    }

    fn from_json(bytes: &[u8]) -> Option<Origin> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        Some(Origin {
            sha256: s("sha256")?,
            source: s("source").unwrap_or_default(),
            declared: s("declared_version"),
            named_by: s("named_by").unwrap_or_default(),
        })
    }
}

/// One package the cache holds.
#[derive(Clone, Debug)]
pub struct Installed {
    /// Its cache name.
    pub id: PackageRef,
    /// What kakehashi recorded when it installed it (`None` when another tool did).
    pub origin: Option<Origin>,
}

/// What [`Cache::add`] did.
#[derive(Clone, Debug)]
pub struct Added {
    /// How the package was named.
    pub naming: Naming,
    /// False when the same file was installed already.
    pub new: bool,
}

/// A FHIR package cache folder.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at `root` (created when something is installed).
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry(&self, id: &PackageRef) -> PathBuf {
        self.root.join(format!("{}#{}", id.name, id.version))
    }

    /// True when `id` can be loaded without installing anything.
    pub fn has(&self, id: &PackageRef) -> bool {
        is_built_in(id) || self.entry(id).join("package").is_dir()
    }

    /// Installs a package file (`bytes`, read from `source`), named by `alias`
    /// when given (see [`fhir::package::name_package`]).
    pub fn add(
        &self,
        bytes: &[u8],
        source: &str,
        alias: Option<&str>,
    ) -> Result<Added, CacheError> {
        let pkg = Package::from_tgz(bytes).map_err(|e| CacheError::BadPackage {
            source: source.to_owned(),
            reason: e.to_string(),
        })?;
        let sha = sha256_hex(bytes);
        let naming = name_package(&pkg, &sha, alias).map_err(|e| CacheError::BadPackage {
            source: source.to_owned(),
            reason: e.to_string(),
        })?;
        let missing = pkg.without_snapshot();
        if !missing.is_empty() {
            return Err(CacheError::NoSnapshot {
                source: source.to_owned(),
                package: naming.id.clone(),
                count: missing.len(),
            });
        }
        let origin = Origin {
            sha256: sha.clone(),
            source: source.to_owned(),
            declared: naming.declared.clone(),
            named_by: naming.named_by.to_owned(),
        };
        let dest = self.entry(&naming.id);
        if dest.exists() {
            return self.same_or_conflict(&naming, &sha);
        }
        std::fs::create_dir_all(&self.root).map_err(|e| io("create folder", &self.root, e))?;
        let tmp = self.root.join(format!(
            ".tmp-{}#{}-{}-{}",
            naming.id.name,
            naming.id.version,
            std::process::id(),
            unique()
        ));
        let written = write_entry(&tmp, &pkg, &origin, source);
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => Ok(Added { naming, new: true }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                if dest.exists() {
                    // another process installed it meanwhile
                    self.same_or_conflict(&naming, &sha)
                } else {
                    Err(io("move into place", &dest, e))
                }
            }
        }
    }

    fn same_or_conflict(&self, naming: &Naming, sha: &str) -> Result<Added, CacheError> {
        let installed = self
            .origin(&naming.id)
            .map(|o| o.sha256)
            .unwrap_or_else(|| "(installed by another tool)".to_owned());
        if installed == sha {
            Ok(Added {
                naming: naming.clone(),
                new: false,
            })
        } else {
            Err(CacheError::Conflict {
                package: naming.id.clone(),
                installed,
                new: sha.to_owned(),
            })
        }
    }

    /// What kakehashi recorded of an installed package.
    pub fn origin(&self, id: &PackageRef) -> Option<Origin> {
        let b = std::fs::read(self.entry(id).join(".kakehashi.json")).ok()?;
        Origin::from_json(&b)
    }

    /// Loads an installed package (or the built-in R4 base).
    pub fn load(&self, id: &PackageRef) -> Result<Package, CacheError> {
        if is_built_in(id) {
            return Package::from_tgz(BUILT_IN_R4).map_err(|e| CacheError::Damaged {
                package: id.clone(),
                reason: format!("the built-in R4 package: {e}"),
            });
        }
        let dir = self.entry(id);
        let pkg_dir = dir.join("package");
        if !pkg_dir.is_dir() {
            return Err(CacheError::Missing {
                package: id.clone(),
                cache: self.root.clone(),
            });
        }
        let mut files = BTreeMap::new();
        read_tree(&pkg_dir, "package", &mut files)?;
        let damaged = |reason: String| CacheError::Damaged {
            package: id.clone(),
            reason,
        };
        let pkg = Package::from_files(files).map_err(|e| damaged(e.to_string()))?;
        if pkg.name.is_empty() {
            return Err(damaged("no package/package.json naming the package".into()));
        }
        if pkg.name != id.name {
            return Err(damaged(format!("its package.json names {}", pkg.name)));
        }
        let origin = self.origin(id);
        let declared_ok = pkg.version == id.version
            || origin
                .as_ref()
                .and_then(|o| o.declared.as_deref())
                .is_some_and(|d| d == pkg.version);
        if !declared_ok {
            return Err(damaged(format!(
                "its package.json says version {}",
                pkg.version
            )));
        }
        if origin.is_none() {
            // installed by another tool: kakehashi did not check it for snapshots
            let missing = pkg.without_snapshot();
            if !missing.is_empty() {
                return Err(CacheError::NoSnapshot {
                    source: dir.display().to_string(),
                    package: id.clone(),
                    count: missing.len(),
                });
            }
        }
        // Known by its cache name from here on (a placeholder package.json version
        // would say nothing in reports).
        let mut pkg = pkg;
        pkg.version = id.version.clone();
        Ok(pkg)
    }

    /// Every package the cache holds, sorted by name and version.
    pub fn list(&self) -> Result<Vec<Installed>, CacheError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("list folder", &self.root, e)),
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().join("package").is_dir() {
                continue;
            }
            let Ok(id) = PackageRef::parse(&name) else {
                continue;
            };
            let origin = self.origin(&id);
            out.push(Installed { id, origin });
        }
        out.sort_by(|a, b| {
            (a.id.name.as_str(), a.id.version.as_str())
                .cmp(&(b.id.name.as_str(), b.id.version.as_str()))
        });
        Ok(out)
    }

    /// Removes an installed package; false when it was not installed.
    pub fn remove(&self, id: &PackageRef) -> Result<bool, CacheError> {
        let dir = self.entry(id);
        if !dir.exists() {
            return Ok(false);
        }
        // Renamed away first, so a reader never sees a half-removed package.
        let gone = self.root.join(format!(
            ".rm-{}#{}-{}-{}",
            id.name,
            id.version,
            std::process::id(),
            unique()
        ));
        std::fs::rename(&dir, &gone).map_err(|e| io("move aside", &dir, e))?;
        std::fs::remove_dir_all(&gone).map_err(|e| io("remove", &gone, e))?;
        Ok(true)
    }

    /// The packages of a set, in load order.
    pub fn load_set(&self, set: &PackageSet) -> Result<Vec<Package>, CacheError> {
        set.packages.iter().map(|id| self.load(id)).collect()
    }
}

/// The package kakehashi carries itself.
pub fn is_built_in(id: &PackageRef) -> bool {
    id.name == fhir::conformance::BASE_PACKAGE && id.version == fhir::conformance::BASE_VERSION
}

/// A number unique within the process (temporary folder names).
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Writes a package's files (only those under `package/`) and its origin into `dir`.
fn write_entry(dir: &Path, pkg: &Package, origin: &Origin, source: &str) -> Result<(), CacheError> {
    for (path, data) in &pkg.files {
        let Some(rel) = path.strip_prefix("package/") else {
            continue; // not part of a FHIR package's content
        };
        let parts: Vec<&str> = rel.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\') || p.contains(':'))
        {
            return Err(CacheError::BadPackage {
                source: source.to_owned(),
                reason: format!("unsafe path in archive: {path}"),
            });
        }
        let to = dir.join("package").join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create folder", parent, e))?;
        }
        std::fs::write(&to, data).map_err(|e| io("write", &to, e))?;
    }
    if !pkg.files.contains_key("package/package.json") {
        return Err(CacheError::BadPackage {
            source: source.to_owned(),
            reason: "no package/package.json".into(),
        });
    }
    let meta = dir.join(".kakehashi.json");
    std::fs::write(&meta, origin.to_json()).map_err(|e| io("write", &meta, e))
}

/// Reads every regular file under `dir` into `files`, keyed `prefix/relative path`.
fn read_tree(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), CacheError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io("list folder", dir, e))?;
    for e in entries {
        let e = e.map_err(|e| io("list folder", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let key = format!("{prefix}/{name}");
        let kind = e.file_type().map_err(|er| io("read", &path, er))?;
        if kind.is_dir() {
            read_tree(&path, &key, files)?;
        } else if kind.is_file() {
            let data = std::fs::read(&path).map_err(|er| io("read", &path, er))?;
            files.insert(key, data);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Installing from sources: folders of package files and HTTP(S) registries.

/// Where packages may be installed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A folder searched (recursively) for `.tgz` package files.
    Folder(PathBuf),
    /// A FHIR package registry (`{base}/{name}/{version}`) or, when the URL ends
    /// in `.tgz`, one package file.
    Url(String),
}

impl Source {
    /// A source as a configuration or `--from` names it: `http://` / `https://`
    /// URLs, else a folder (relative paths against `base`).
    pub fn parse(s: &str, base: &Path) -> Source {
        if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.trim_end_matches('/').to_owned())
        } else {
            let p = Path::new(s);
            Source::Folder(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Folder(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(&redact_url(u)),
        }
    }
}

/// Installs `id` from the first source that has it; returns where it came from.
pub fn install_from(
    cache: &Cache,
    id: &PackageRef,
    sources: &[Source],
) -> Result<(Added, String), CacheError> {
    let mut tried = Vec::new();
    for s in sources {
        let found = match s {
            Source::Folder(dir) => find_in_folder(dir, id, &mut tried),
            Source::Url(url) => fetch(url, id, &mut tried),
        };
        let Some((bytes, from)) = found else {
            continue;
        };
        match add_as(cache, &bytes, &from, id) {
            Ok(added) => return Ok((added, from)),
            Err(e) => tried.push(e.to_string()),
        }
    }
    Err(CacheError::NotFound {
        package: id.clone(),
        tried,
    })
}

/// Adds a file that was found or fetched for `id`: it must be that package.
fn add_as(cache: &Cache, bytes: &[u8], from: &str, id: &PackageRef) -> Result<Added, CacheError> {
    let pkg = Package::from_tgz(bytes).map_err(|e| CacheError::BadPackage {
        source: from.to_owned(),
        reason: e.to_string(),
    })?;
    if pkg.name != id.name {
        return Err(CacheError::NameMismatch {
            wanted: id.clone(),
            found: format!("{}#{}", pkg.name, pkg.version),
            source: from.to_owned(),
        });
    }
    let sha = sha256_hex(bytes);
    let naming = name_package(&pkg, &sha, None).map_err(|e| CacheError::BadPackage {
        source: from.to_owned(),
        reason: e.to_string(),
    })?;
    if naming.id != *id {
        // A placeholder version the pin names: the pin is the alias.
        if fhir::package::is_placeholder_version(&pkg.version) && naming.named_by == "placeholder" {
            return cache.add(bytes, from, Some(&id.version));
        }
        return Err(CacheError::NameMismatch {
            wanted: id.clone(),
            found: naming.id.to_string(),
            source: from.to_owned(),
        });
    }
    cache.add(bytes, from, None)
}

/// The `.tgz` files under `dir`, sorted.
fn tgz_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            tgz_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "tgz") {
            out.push(p);
        }
    }
}

/// A package file under `dir` that is `id` with snapshots.
fn find_in_folder(
    dir: &Path,
    id: &PackageRef,
    tried: &mut Vec<String>,
) -> Option<(Vec<u8>, String)> {
    if !dir.is_dir() {
        tried.push(format!("{}: no such folder", dir.display()));
        return None;
    }
    let mut files = Vec::new();
    tgz_files(dir, &mut files);
    let mut fallback: Option<(Vec<u8>, String)> = None;
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let Ok(pkg) = Package::from_tgz(&bytes) else {
            continue;
        };
        if pkg.name != id.name {
            continue;
        }
        let shown = f.display().to_string();
        let Ok(naming) = name_package(&pkg, &sha256_hex(&bytes), None) else {
            continue;
        };
        let matches = naming.id == *id;
        let placeholder_match = naming.named_by == "placeholder" && fallback.is_none();
        if !(matches || placeholder_match) {
            continue;
        }
        if !pkg.without_snapshot().is_empty() {
            tried.push(format!("{shown}: {id} without snapshots, passed over"));
            continue;
        }
        if matches {
            return Some((bytes, shown));
        }
        fallback = Some((bytes, shown));
    }
    if fallback.is_none() {
        tried.push(format!("{}: no package file for {id}", dir.display()));
    }
    fallback
}

/// A URL as it may be shown and recorded: without user info (`user:token@`), query
/// or fragment, where credentials travel (secrets are never written or logged).
pub fn redact_url(url: &str) -> String {
    let cut = url.split(['?', '#']).next().unwrap_or(url);
    match cut.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            if path.is_empty() && !rest.contains('/') {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => cut.to_owned(),
    }
}

/// Fetches `id` from a registry (`{url}/{name}/{version}`: the package file, or
/// npm-style metadata whose `dist.tarball` is fetched) or a `.tgz` URL.
fn fetch(url: &str, id: &PackageRef, tried: &mut Vec<String>) -> Option<(Vec<u8>, String)> {
    let target = if url.ends_with(".tgz") {
        url.to_owned()
    } else {
        format!("{url}/{}/{}", id.name, id.version)
    };
    let shown = redact_url(&target);
    match http_get(&target) {
        Ok(body) if body.starts_with(&[0x1f, 0x8b]) => Some((body, shown)),
        Ok(body) => {
            let tarball = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.pointer("/dist/tarball")
                        .and_then(|t| t.as_str())
                        .map(str::to_owned)
                });
            match tarball {
                Some(t) => match http_get(&t) {
                    Ok(b) => Some((b, redact_url(&t))),
                    Err(e) => {
                        tried.push(format!("{}: {e}", redact_url(&t)));
                        None
                    }
                },
                None => {
                    tried.push(format!(
                        "{shown}: neither a package file nor package metadata"
                    ));
                    None
                }
            }
        }
        Err(e) => {
            tried.push(format!("{shown}: {e}"));
            None
        }
    }
}

/// Why an HTTP GET failed.
#[derive(Debug)]
enum FetchError {
    /// The server answered with this status.
    Status(u16),
    /// The request or the body failed (connection, TLS, timeout, size limit …).
    Transport(ureq::Error),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(c) => write!(f, "HTTP {c}"),
            FetchError::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Status(_) => None,
            FetchError::Transport(e) => Some(e),
        }
    }
}

/// One HTTP GET with timeouts and a size limit.
fn http_get(url: &str) -> Result<Vec<u8>, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .user_agent(concat!("kakehashi/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(c) => FetchError::Status(c),
        other => FetchError::Transport(other),
    })?;
    resp.body_mut()
        .with_config()
        .limit(MAX_PACKAGE_BYTES)
        .read_to_vec()
        .map_err(FetchError::Transport)
}

/// The site's sources as configured (relative folders against the configuration's folder).
pub fn configured_sources(config: &mappers::config::SiteConfig, base: &Path) -> Vec<Source> {
    config
        .packages
        .sources
        .iter()
        .map(|s| Source::parse(s, base))
        .collect()
}

/// The packages of `set`, installing missing ones from `sources` first (one line
/// each on `ctx.stderr`: what was installed, from where).
pub fn load_set_installing(
    ctx: &mut Context<'_>,
    set: &PackageSet,
    sources: &[Source],
) -> Result<Vec<Package>, Failure> {
    let cache = Cache::new(ctx.package_cache.clone());
    let missing: Vec<&PackageRef> = set.packages.iter().filter(|p| !cache.has(p)).collect();
    if !missing.is_empty() && !sources.is_empty() {
        let bar = crate::progress::bar(missing.len() as u64, "installing FHIR packages");
        for id in missing {
            let (added, from) = install_from(&cache, id, sources)?;
            bar.inc(1);
            bar.suspend(|| {
                writeln!(
                    ctx.stderr,
                    "kakehashi: installed {} from {}{}",
                    added.naming.id,
                    from,
                    named_note(&added.naming)
                )
            })?;
        }
        bar.finish_and_clear();
    }
    let pkgs = cache.load_set(set).map_err(|e| match e {
        CacheError::Missing { .. } => {
            Failure(e.render_as(&format!("package set {}: {e}", set.name)))
        }
        other => other.into(),
    })?;
    warn_once(ctx, dependency_warnings(set, &pkgs))?;
    Ok(pkgs)
}

/// What the packages of a set depend on (their ImplementationGuide's `dependsOn`)
/// that the set does not hold at that version: another version than the one
/// pinned, or a package the set lacks (such as `jpfhir-terminology.r4`, which is
/// not published where kakehashi can install it: bindings to its code systems are
/// then checked by code shape, and membership only against masters given). One
/// line per package depended on.
pub fn dependency_warnings(set: &PackageSet, pkgs: &[Package]) -> Vec<String> {
    // dependency name → [(package that names it, version it names)]
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for (id, p) in set.packages.iter().zip(pkgs) {
        for dep in p.ig_depends_on() {
            if dep.name == fhir::conformance::BASE_PACKAGE {
                continue;
            }
            match set.packages.iter().find(|s| s.name == dep.name) {
                Some(pinned) if pinned.version == dep.version => {}
                Some(pinned) => out.push(format!(
                    "package set {}: {id} depends on {dep}, the set pins {pinned}",
                    set.name
                )),
                None => missing
                    .entry(dep.name.clone())
                    .or_default()
                    .push(format!("{} names {}", id.name, dep.version)),
            }
        }
    }
    for (name, by) in missing {
        out.push(format!(
            "package set {}: {name} is not in the set ({}): bindings to its value sets \
             are checked by code shape and against masters given only",
            set.name,
            by.join(", ")
        ));
    }
    out
}

/// ` (package.json says X; named by …)` when the cache name differs from the declared version.
fn named_note(n: &Naming) -> String {
    match &n.declared {
        Some(d) => format!(" (package.json says {d}; named by {})", n.named_by),
        None => String::new(),
    }
}

/// Writes each warning once per command (a command may load a set several times).
fn warn_once(ctx: &mut Context<'_>, warnings: Vec<String>) -> std::io::Result<()> {
    for w in warnings {
        if ctx.warned.insert(w.clone()) {
            writeln!(ctx.stderr, "kakehashi: warning: {w}")?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The command.

/// Arguments of `packages`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Install package files (.tgz) you have (an air-gapped site's downloads).
    Add(AddArgs),
    /// Install NAME#VERSION from a package registry or the publisher's URL.
    Install(InstallArgs),
    /// List the installed packages and the sets pinned to them.
    List(ListArgs),
    /// Remove an installed package.
    Remove(RemoveArgs),
    /// What changed between two versions of a package (profiles, cardinalities,
    /// fixed and pattern values, bindings, invariants, slicing).
    Diff(DiffArgs),
}

#[derive(clap::Args, Debug)]
struct AddArgs {
    /// The version to file the package under, for a package whose package.json
    /// carries a placeholder (`1.x.x-temp`); only with one file.
    #[arg(long = "as", value_name = "VERSION")]
    alias: Option<String>,
    /// Package files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// Where from: a registry base URL, a `.tgz` URL, or a folder of package
    /// files (default: the configuration's `packages.sources`, else packages.fhir.org
    /// and packages.simplifier.net).
    #[arg(long)]
    from: Option<String>,
    /// Site configuration whose `packages.sources` to use.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Packages as NAME#VERSION.
    #[arg(required = true)]
    packages: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Site configuration whose pinned sets to show (default: the built-in sets).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct DiffArgs {
    /// The old package: NAME#VERSION from the cache, or a `.tgz` file.
    old: String,
    /// The new package: NAME#VERSION from the cache, or a `.tgz` file.
    new: String,
    /// JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct RemoveArgs {
    /// Packages as NAME#VERSION.
    #[arg(required = true)]
    packages: Vec<String>,
}

/// Runs `packages`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let cache = Cache::new(ctx.package_cache.clone());
    match args.command {
        Command::Add(a) => add(a, &cache, ctx),
        Command::Install(a) => install(a, &cache, ctx),
        Command::List(a) => list(a, &cache, ctx),
        Command::Remove(a) => remove(a, &cache, ctx),
        Command::Diff(a) => diff(a, &cache, ctx),
    }
}

fn add(a: AddArgs, cache: &Cache, ctx: &mut Context<'_>) -> CmdResult {
    if a.alias.is_some() && a.files.len() != 1 {
        return Err(Failure("--as names one package: give one file".into()));
    }
    let mut worst = EXIT_OK;
    for f in &a.files {
        let shown = f.display().to_string();
        let bytes = match std::fs::read(ctx.resolve(f)) {
            Ok(b) => b,
            Err(e) => {
                writeln!(ctx.stderr, "kakehashi: cannot read {shown}: {e}")?;
                worst = EXIT_INPUT_ERRORS;
                continue;
            }
        };
        match cache.add(&bytes, &shown, a.alias.as_deref()) {
            Ok(added) => {
                let verb = if added.new {
                    "installed"
                } else {
                    "already installed"
                };
                writeln!(
                    ctx.stdout,
                    "{verb} {}{} from {shown}",
                    added.naming.id,
                    named_note(&added.naming)
                )?;
                if added.naming.named_by == "placeholder" {
                    writeln!(
                        ctx.stderr,
                        "kakehashi: warning: {} is a placeholder version; name the package \
                         with --as VERSION (the version its IG text states) so pins can tell \
                         builds apart",
                        added.naming.id
                    )?;
                }
            }
            Err(e) => {
                writeln!(ctx.stderr, "kakehashi: {}", e.render())?;
                worst = EXIT_INPUT_ERRORS;
            }
        }
    }
    Ok(worst)
}

fn install(a: InstallArgs, cache: &Cache, ctx: &mut Context<'_>) -> CmdResult {
    let sources: Vec<Source> = if let Some(from) = &a.from {
        vec![Source::parse(from, &ctx.cwd)]
    } else if let Some(c) = &a.config {
        let (config, base) = crate::convert::read_config(ctx, c)?;
        configured_sources(&config, &base)
    } else {
        DEFAULT_REGISTRIES
            .iter()
            .map(|u| Source::Url((*u).to_owned()))
            .collect()
    };
    let mut worst = EXIT_OK;
    for p in &a.packages {
        let id = PackageRef::parse(p).map_err(|e| Failure(e.to_string()))?;
        if cache.has(&id) {
            writeln!(ctx.stdout, "already installed {id}")?;
            continue;
        }
        match install_from(cache, &id, &sources) {
            Ok((added, from)) => writeln!(
                ctx.stdout,
                "installed {}{} from {from}",
                added.naming.id,
                named_note(&added.naming)
            )?,
            Err(e) => {
                writeln!(ctx.stderr, "kakehashi: {}", e.render())?;
                worst = EXIT_INPUT_ERRORS;
            }
        }
    }
    Ok(worst)
}

fn list(a: ListArgs, cache: &Cache, ctx: &mut Context<'_>) -> CmdResult {
    let sets = match &a.config {
        Some(c) => crate::convert::read_config(ctx, c)?
            .0
            .packages
            .effective_sets(),
        None => fhir::conformance::default_sets(),
    };
    writeln!(ctx.stdout, "cache: {}", cache.root().display())?;
    writeln!(
        ctx.stdout,
        "{}#{}  built in (the R4 definitions kakehashi needs)",
        fhir::conformance::BASE_PACKAGE,
        fhir::conformance::BASE_VERSION
    )?;
    for i in cache.list()? {
        let note = match &i.origin {
            Some(o) => {
                let declared = o
                    .declared
                    .as_ref()
                    .map(|d| format!(", package.json says {d} (named by {})", o.named_by))
                    .unwrap_or_default();
                format!("sha256 {}{declared}, from {}", short(&o.sha256), o.source)
            }
            None => "installed by another tool".to_owned(),
        };
        writeln!(ctx.stdout, "{}  {note}", i.id)?;
    }
    writeln!(ctx.stdout, "\nsets:")?;
    for s in &sets {
        let missing: Vec<String> = s
            .packages
            .iter()
            .filter(|p| !cache.has(p))
            .map(ToString::to_string)
            .collect();
        let state = if missing.is_empty() {
            "ready".to_owned()
        } else {
            format!("missing {}", missing.join(", "))
        };
        writeln!(ctx.stdout, "{}: {} — {state}", s.name, s.describe())?;
    }
    Ok(EXIT_OK)
}

fn remove(a: RemoveArgs, cache: &Cache, ctx: &mut Context<'_>) -> CmdResult {
    let mut worst = EXIT_OK;
    for p in &a.packages {
        let id = PackageRef::parse(p).map_err(|e| Failure(e.to_string()))?;
        if is_built_in(&id) {
            return Err(Failure(format!("{id} is built in; it cannot be removed")));
        }
        if cache.remove(&id)? {
            writeln!(ctx.stdout, "removed {id}")?;
        } else {
            writeln!(ctx.stderr, "kakehashi: {id} is not installed")?;
            worst = EXIT_INPUT_ERRORS;
        }
    }
    Ok(worst)
}

/// A package named on the command line: a `.tgz` file, else NAME#VERSION in the cache.
fn package_arg(s: &str, cache: &Cache, ctx: &Context<'_>) -> Result<Package, Failure> {
    let as_file = ctx.resolve(Path::new(s));
    if s.ends_with(".tgz") || as_file.is_file() {
        let bytes = std::fs::read(&as_file).map_err(|e| Failure::read(Path::new(s), e))?;
        return Package::from_tgz(&bytes).map_err(|e| Failure(format!("{s}: {e}")));
    }
    let id = PackageRef::parse(s).map_err(|e| Failure(e.to_string()))?;
    Ok(cache.load(&id)?)
}

fn diff(a: DiffArgs, cache: &Cache, ctx: &mut Context<'_>) -> CmdResult {
    let old = package_arg(&a.old, cache, ctx)?;
    let new = package_arg(&a.new, cache, ctx)?;
    let d = fhir::diff::diff(&old, &new);
    if a.json {
        let mut v = d.to_json();
        v.sort_all_objects();
        let text = serde_json::to_string_pretty(&v).map_err(|e| Failure(e.to_string()))?;
        writeln!(ctx.stdout, "{text}")?;
    } else {
        ctx.stdout.write_all(d.render_markdown().as_bytes())?;
    }
    Ok(EXIT_OK)
}

/// Maps a set error to a failure.
pub(crate) fn set_failure(e: SetError) -> Failure {
    Failure(e.to_string())
}

/// The set `name` (a set name, or `NAME#VERSION,…`) as the site configuration
/// pins it (the built-in sets without one), its packages loaded, missing ones
/// installed from the configuration's sources first.
pub(crate) fn load_named_set(
    ctx: &mut Context<'_>,
    config: Option<(&mappers::config::SiteConfig, &Path)>,
    name: &str,
) -> Result<(PackageSet, Vec<Package>), Failure> {
    let sets = config
        .map(|(c, _)| c.packages.effective_sets())
        .unwrap_or_else(fhir::conformance::default_sets);
    let set = fhir::conformance::resolve_set(&sets, name).map_err(set_failure)?;
    let sources = config
        .map(|(c, b)| configured_sources(c, b))
        .unwrap_or_default();
    let pkgs = load_set_installing(ctx, &set, &sources)?;
    Ok((set, pkgs))
}

/// A package cache for tests, shared by every test process of the workspace:
/// `<temp>/kakehashi-test-packages`, holding every package the built-in sets pin
/// (plus JP-CLINS 1.10.0 and eCheckupReport 1.5.0), installed from the IG
/// packages beside the repository (`../shared/fhir-profiles`) through the same
/// code as `packages.sources`. Panics when they cannot be had: tests need them.
#[doc(hidden)]
pub fn test_cache() -> PathBuf {
    static DONE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let root = std::env::temp_dir().join("kakehashi-test-packages");
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-profiles");
        assert!(
            shared.is_dir(),
            "{}: the IG packages beside the repository are missing (tests need ../shared)",
            shared.display()
        );
        let cache = Cache::new(root.clone());
        let sources = [Source::Folder(shared)];
        let mut wanted: Vec<PackageRef> = fhir::conformance::default_sets()
            .into_iter()
            .flat_map(|s| s.packages)
            .collect();
        for extra in ["jp-eCSCLINS.r4#1.10.0", "jp-eCheckupReport.r4#1.5.0"] {
            if let Ok(r) = PackageRef::parse(extra) {
                wanted.push(r);
            }
        }
        wanted.sort();
        wanted.dedup();
        for id in wanted {
            if !cache.has(&id)
                && let Err(e) = install_from(&cache, &id, &sources)
            {
                panic!("test package cache {}: {e}", root.display());
            }
        }
        root
    })
    .clone()
}

#[cfg(test)]
mod tests;
