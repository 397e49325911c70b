//! `kakehashi synth ssmix2`: writes a synthetic SS-MIX2 standardized storage.
//!
//! The generator ([`synth::ssmix2`]) is pure; this command supplies the JLAC10 lab
//! codes (from the JP-CLINS package's CoreLabo and InfectionLabo code systems),
//! writes the files and prints one summary line.

use crate::{CmdResult, Context, EXIT_OK, EXIT_USAGE, Failure};
use std::path::{Path, PathBuf};
use synth::ssmix2::{LabCode, LabSet, Options};

/// Arguments of `kakehashi synth ssmix2`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of patients.
    #[arg(long)]
    patients: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Storage root to create (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Share of message files (0–1) that get one injected fault, listed in
    /// `<out>.faults.tsv` beside the storage (not inside it: it is no message).
    #[arg(long, default_value_t = 0.0)]
    faults: f64,
    /// Read the lab codes from this FHIR package (.tgz) instead of the JP-CLINS
    /// package of the built-in `clins-1.5.2` set (from the package cache).
    #[arg(long, value_name = "TGZ")]
    package: Option<PathBuf>,
    /// Write only the files of these data types (comma-separated, e.g.
    /// `ADT-00,OML-11` for a storage of patients and lab results). The generator
    /// still draws every file, so each file written is byte for byte the one a
    /// full storage of the same seed holds. Not with `--faults`.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    only: Vec<String>,
}

/// The built-in set whose JP-CLINS package gives the generator its lab codes:
/// fixed, so a seed gives the same storage whatever IG a site pins.
pub(crate) const LAB_CODE_SET: &str = "clins-1.5.2";

/// The data type of a generated file (the third part of its SS-MIX2 name).
fn data_type(rel: &Path) -> Option<&str> {
    rel.file_name()?.to_str()?.split('_').nth(2)
}

/// Runs the command.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    if !(0.0..=1.0).contains(&args.faults) {
        writeln!(ctx.stderr, "kakehashi: --faults must be between 0 and 1")?;
        return Ok(EXIT_USAGE);
    }
    if !args.only.is_empty() && args.faults > 0.0 {
        writeln!(
            ctx.stderr,
            "kakehashi: --only and --faults cannot be combined"
        )?;
        return Ok(EXIT_USAGE);
    }
    let lab_codes = match &args.package {
        Some(p) => {
            let package = ctx.resolve(p);
            let tgz = std::fs::read(&package).map_err(|e| Failure::read(&package, e))?;
            lab_codes_from_package(&tgz).map_err(|e| Failure::read(p, e))?
        }
        None => {
            let (_, pkgs) = crate::packages::load_named_set(ctx, None, LAB_CODE_SET)?;
            let clins = pkgs
                .iter()
                .find(|p| p.name.to_ascii_lowercase().contains("clins"))
                .ok_or_else(|| Failure("the clins package set has no JP-CLINS package".into()))?;
            lab_codes(clins).map_err(|e| Failure::read(Path::new(&clins.name), e))?
        }
    };
    let manifest = manifest_path(&args.out);
    let out = ctx.resolve(&args.out);
    if out.exists() {
        let mut entries = std::fs::read_dir(&out).map_err(|e| Failure::list(&out, e))?;
        if entries.next().is_some() {
            return Err(Failure(format!(
                "{}: exists and is not empty; give a new folder",
                args.out.display()
            )));
        }
    }
    let options = Options {
        patients: args.patients,
        fault_rate: args.faults,
    };
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut made: Option<PathBuf> = None;
    for (rel, data) in synth::ssmix2::generate(&options, args.seed, &lab_codes) {
        if rel == Path::new(synth::ssmix2::FAULT_MANIFEST) {
            let m = ctx.resolve(&manifest);
            std::fs::write(&m, &data).map_err(|e| Failure::write(&m, e))?;
            continue;
        }
        if !args.only.is_empty()
            && !data_type(&rel).is_some_and(|t| args.only.iter().any(|o| o == t))
        {
            continue;
        }
        let path = out.join(&rel);
        if let Some(dir) = path.parent()
            && made.as_deref() != Some(dir)
        {
            std::fs::create_dir_all(dir).map_err(|e| Failure::create_dir(dir, e))?;
            made = Some(dir.to_path_buf());
        }
        std::fs::write(&path, &data).map_err(|e| Failure::write(&path, e))?;
        files += 1;
        bytes += data.len() as u64;
    }
    writeln!(
        ctx.stdout,
        "synth ssmix2: {} patients, {files} message files, {bytes} bytes, seed {}{} -> {}",
        args.patients,
        args.seed,
        if args.faults > 0.0 {
            format!(", faults listed in {}", manifest.display())
        } else {
            String::new()
        },
        args.out.display()
    )?;
    Ok(EXIT_OK)
}

/// What [`refresh`] found and did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refreshed {
    /// Message files of the storage.
    pub files: u64,
    /// Files written (missing, or holding other bytes); the others were left alone.
    pub written: u64,
}

/// Makes `out` (a resolved path) hold exactly the storage of `patients` and `seed`
/// (no faults, lab codes of the bundled JP-CLINS package): writes the files that
/// are missing or hold other bytes and leaves the others untouched, so a storage
/// written by an earlier run is reused as it is. A folder holding files the
/// generator does not write is refused before anything is written (nothing is
/// ever deleted).
pub(crate) fn refresh(
    out: &Path,
    patients: u64,
    seed: u64,
    clins: &fhir::package::Package,
) -> Result<Refreshed, Failure> {
    let lab_codes = lab_codes(clins).map_err(|e| Failure::read(Path::new(&clins.name), e))?;
    let options = Options {
        patients,
        fault_rate: 0.0,
    };
    let files: std::collections::BTreeMap<PathBuf, Vec<u8>> =
        synth::ssmix2::generate(&options, seed, &lab_codes)
            .filter(|(rel, _)| rel != Path::new(synth::ssmix2::FAULT_MANIFEST))
            .collect();
    let mut present = Vec::new();
    if out.exists() {
        list_files(out, out, &mut present)?;
    }
    let stray: Vec<&PathBuf> = present.iter().filter(|p| !files.contains_key(*p)).collect();
    if let Some(first) = stray.first() {
        return Err(Failure(format!(
            "{}: holds {} file(s) the generated storage does not (first: {}); \
             remove the folder or give another --out",
            out.display(),
            stray.len(),
            first.display()
        )));
    }
    let mut written = 0u64;
    for (rel, data) in &files {
        let path = out.join(rel);
        if std::fs::read(&path).is_ok_and(|old| old == *data) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Failure::create_dir(dir, e))?;
        }
        std::fs::write(&path, data).map_err(|e| Failure::write(&path, e))?;
        written += 1;
    }
    Ok(Refreshed {
        files: files.len() as u64,
        written,
    })
}

/// Every file below `dir`, as paths relative to `root`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    for e in std::fs::read_dir(dir).map_err(|e| Failure::list(dir, e))? {
        let path = e.map_err(|e| Failure::list(dir, e))?.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// Where the fault manifest goes: beside the storage folder, `<out>.faults.tsv`.
fn manifest_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".faults.tsv");
    PathBuf::from(name)
}

/// The JLAC10 codes of the JP-CLINS lab code systems (`…_CoreLabo_CS` and
/// `…_InfectionLabo_CS`) in a FHIR package: every child concept, with its parent
/// as the group and its `ja` designation (else display) as the name.
pub fn lab_codes_from_package(tgz: &[u8]) -> Result<Vec<LabCode>, LabCodesError> {
    let package = fhir::package::Package::from_tgz(tgz).map_err(LabCodesError::Package)?;
    lab_codes(&package)
}

/// Why a package's lab codes cannot be had.
#[derive(Debug)]
pub enum LabCodesError {
    /// The file is not a FHIR package.
    Package(fhir::package::PackageError),
    /// A CodeSystem file of the package is not JSON.
    Json {
        /// The file's path inside the package.
        file: String,
        /// The error.
        error: serde_json::Error,
    },
    /// The package has no JP-CLINS CoreLabo code system.
    NoCoreLabo,
}

impl std::fmt::Display for LabCodesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabCodesError::Package(e) => write!(f, "package: {e}"),
            LabCodesError::Json { file, error } => write!(f, "{file}: {error}"),
            LabCodesError::NoCoreLabo => write!(f, "package: no CoreLabo lab code system"),
        }
    }
}

impl std::error::Error for LabCodesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabCodesError::Package(e) => Some(e),
            LabCodesError::Json { error, .. } => Some(error),
            LabCodesError::NoCoreLabo => None,
        }
    }
}

/// [`lab_codes_from_package`] of a package already read.
fn lab_codes(package: &fhir::package::Package) -> Result<Vec<LabCode>, LabCodesError> {
    let mut out = Vec::new();
    for (path, data) in package.json_resources() {
        if !path.contains("CodeSystem") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_slice(data).map_err(|error| LabCodesError::Json {
                file: path.to_owned(),
                error,
            })?;
        let url = v.get("url").and_then(|u| u.as_str()).unwrap_or("");
        let set = if url.ends_with("_CoreLabo_CS") {
            LabSet::Core
        } else if url.ends_with("_InfectionLabo_CS") {
            LabSet::Infection
        } else {
            continue;
        };
        let groups = v.get("concept").and_then(|c| c.as_array());
        for g in groups.into_iter().flatten() {
            let group = g.get("code").and_then(|c| c.as_str()).unwrap_or("");
            let children = g.get("concept").and_then(|c| c.as_array());
            for c in children.into_iter().flatten() {
                let Some(code) = c.get("code").and_then(|c| c.as_str()) else {
                    continue;
                };
                let ja = c
                    .get("designation")
                    .and_then(|d| d.as_array())
                    .and_then(|d| {
                        d.iter()
                            .find(|x| x.get("language").and_then(|l| l.as_str()) == Some("ja"))
                    })
                    .and_then(|x| x.get("value"))
                    .and_then(|x| x.as_str());
                let display = c.get("display").and_then(|d| d.as_str());
                out.push(LabCode {
                    code: code.to_owned(),
                    name: ja.or(display).unwrap_or(code).to_owned(),
                    group: group.to_owned(),
                    set,
                });
            }
        }
    }
    if !out.iter().any(|c| c.set == LabSet::Core) {
        return Err(LabCodesError::NoCoreLabo);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_lab_code_systems_of_the_bundled_package() {
        let tgz = std::fs::read(crate::shared(
            "fhir-profiles/jp-clins/jp-clins.r4-1.5.2-snap.tgz",
        ))
        .unwrap();
        let codes = lab_codes_from_package(&tgz).unwrap();
        let core = codes.iter().filter(|c| c.set == LabSet::Core).count();
        let inf = codes.iter().filter(|c| c.set == LabSet::Infection).count();
        assert_eq!((core, inf), (437, 255));
        let alb = codes
            .iter()
            .find(|c| c.code == "3A015000002327101")
            .unwrap();
        assert_eq!(
            (alb.group.as_str(), alb.name.as_str()),
            ("ALB", "アルブミン")
        );
        assert!(codes.iter().all(|c| c.code.len() == 17));
        assert!(matches!(
            lab_codes_from_package(b"not a package"),
            Err(LabCodesError::Package(_))
        ));
        // Some names use Kangxi radicals (⾎); the generator makes every name encodable.
        assert!(codes.iter().any(|c| c.name.contains('\u{2F8E}')));
        for c in &codes {
            let (_, _, unmappable) =
                encoding_rs::ISO_2022_JP.encode(&synth::ssmix2::jis_text(&c.name));
            assert!(!unmappable, "{}", c.name);
        }
    }

    fn run_cli(args: &[&str], cwd: &Path) -> (u8, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = {
            let mut ctx = Context {
                cwd: cwd.to_path_buf(),
                stdout: &mut out,
                stderr: &mut err,
                package_cache: crate::packages::test_cache(),
                warned: Default::default(),
            };
            crate::run(args.iter().copied(), &mut ctx)
        };
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn only_writes_the_chosen_types_as_a_full_storage_has_them() {
        let dir = crate::scratch_dir("synth-only");
        let base = [
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "4",
            "--seed",
            "9",
        ];
        let (code, _, err) = run_cli(&[&base[..], &["--out", "full"]].concat(), &dir);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run_cli(
            &[&base[..], &["--out", "labs", "--only", "ADT-00,OML-11"]].concat(),
            &dir,
        );
        assert_eq!(code, 0, "{err}");
        fn walk(root: &Path, at: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(at).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
        let files = |root: &Path| -> Vec<PathBuf> {
            let mut v = Vec::new();
            walk(root, root, &mut v);
            v.sort();
            v
        };
        let full = files(&dir.join("full"));
        let labs = files(&dir.join("labs"));
        let wanted: Vec<PathBuf> = full
            .iter()
            .filter(|p| matches!(data_type(p), Some("ADT-00" | "OML-11")))
            .cloned()
            .collect();
        assert!(wanted.len() < full.len());
        assert!(wanted.iter().any(|p| data_type(p) == Some("OML-11")));
        assert_eq!(labs, wanted);
        for p in &labs {
            assert_eq!(
                std::fs::read(dir.join("labs").join(p)).unwrap(),
                std::fs::read(dir.join("full").join(p)).unwrap(),
                "{}",
                p.display()
            );
        }
        let (code, _, err) = run_cli(
            &[
                &base[..],
                &["--out", "x", "--only", "OML-11", "--faults", "0.1"],
            ]
            .concat(),
            &dir,
        );
        assert_eq!(code, 2, "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_a_storage_and_refuses_a_non_empty_folder() {
        let dir = crate::scratch_dir("synth");
        let args = [
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "3",
            "--seed",
            "5",
            "--out",
            "st",
            "--faults",
            "0.5",
        ];
        let (code, out, err) = run_cli(&args, &dir);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("synth ssmix2: 3 patients, "), "{out}");
        let root = dir.join("st");
        assert!(dir.join("st.faults.tsv").is_file());
        assert!(!root.join("faults.tsv").exists());
        assert!(root.join("000/000/0000000001/-/ADT-00").is_dir());
        let (code, _, err) = run_cli(&args, &dir);
        assert_eq!(code, 2);
        assert!(err.contains("not empty"), "{err}");
        let (code, _, _) = run_cli(
            &[
                "kakehashi",
                "synth",
                "ssmix2",
                "--patients",
                "1",
                "--out",
                "x",
                "--faults",
                "2",
            ],
            &dir,
        );
        assert_eq!(code, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The diagnostic a reader must give for each injected fault (any of these
    /// codes, at warning or error severity).
    fn expected_codes(fault: &str) -> &'static [&'static str] {
        match fault {
            "pid-mismatch" => &["S014"],
            "care-date-mismatch" => &["S015"],
            "unterminated-escape" => &["E002"],
            "cp932-leak" => &["E005"],
            "stray-fs" => &["H010"],
            "bom" => &["E010"],
            "missing-segment" => &["S016", "S018"],
            "short-order-number" => &["S004"],
            "bad-date-in-name" => &["S002"],
            "bad-date-in-field" => &["S017"],
            _ => &[],
        }
    }

    #[test]
    fn inspect_reports_every_injected_fault_and_nothing_on_clean_files() {
        let dir = crate::scratch_dir("synth-f");
        let gen_args = [
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "80",
            "--seed",
            "3",
            "--out",
            "st",
            "--faults",
            "0.3",
        ];
        assert_eq!(run_cli(&gen_args, &dir).0, 0);
        let (code, out, err) = run_cli(&["kakehashi", "inspect", "st", "--json"], &dir);
        assert_eq!(code, 1, "{err}"); // bad-date-in-field is an error
        let mut reported: std::collections::BTreeMap<String, Vec<(String, String)>> =
            std::collections::BTreeMap::new();
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = v["file"]
                .as_str()
                .unwrap()
                .trim_start_matches("st/")
                .to_owned();
            let diags = v["diagnostics"].as_array().unwrap();
            reported
                .entry(file)
                .or_default()
                .extend(diags.iter().map(|d| {
                    (
                        d["code"].as_str().unwrap().to_owned(),
                        d["severity"].as_str().unwrap().to_owned(),
                    )
                }));
        }
        let manifest = std::fs::read_to_string(dir.join("st.faults.tsv")).unwrap();
        let mut faulty = std::collections::BTreeSet::new();
        let mut kinds = std::collections::BTreeSet::new();
        for line in manifest.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let diags = reported
                .get(cols[0])
                .unwrap_or_else(|| panic!("not inspected: {line}"));
            let want = expected_codes(cols[1]);
            assert!(
                diags
                    .iter()
                    .any(|(c, sev)| want.contains(&c.as_str()) && sev != "info"),
                "{line}: {diags:?}"
            );
            faulty.insert(cols[0].to_owned());
            kinds.insert(cols[1].to_owned());
        }
        assert_eq!(kinds.len(), 10, "{kinds:?}");
        for (file, diags) in &reported {
            if !faulty.contains(file) {
                assert!(
                    diags.iter().all(|(_, sev)| sev == "info"),
                    "{file}: {diags:?}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
