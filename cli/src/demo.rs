//! `kakehashi demo [--sample DIR] [--out DIR] [--jobs N]`: the main job end to end,
//! on data anyone may use.
//!
//! The demo needs nothing beside the binary but the package cache: the files of the
//! repository it uses (the two site configurations, the mapping tables they name,
//! the document requests and a 特定健診 XML) are built into the binary ([`SETUP`])
//! and written into `OUT/setup/` on every run (only files whose bytes differ), with
//! the relative paths the configurations use. Each configuration's first package
//! source, the IG packages beside the clone, is rewritten to `../shared/fhir-profiles`
//! of the working directory (so `cargo run -- demo` in a clone still installs missing
//! pins from there; elsewhere that folder is absent and the registry is asked).
//!
//! Without `--sample`, the demo generates its storage: `synth ssmix2` with
//! [`PATIENTS`] patients and seed [`SEED`] (fictitious people) into `OUT/storage`.
//! Files already there with the same bytes are left alone, so a second run converts
//! the same storage and plans `unchanged`. It converts that storage with
//! `demo/synth.kakehashi.toml` exactly as `kakehashi convert` would and prints where
//! the bundles, the plan and the run report are. Then it writes one document of each
//! kind into `OUT/documents/`: a 診療情報提供書 and a 退院時サマリー for the generated
//! patient [`PATIENT`] (the fictitious requests of `demo/requests/`), and a
//! 健康診断結果報告書 from the fictitious 特定健診 XML of `golden/checkup/data`.
//! Last, the analysis tables of all it wrote (`export tables`, the shipped views,
//! Parquet) into `OUT/tables/`.
//!
//! With `--sample DIR`, it converts that storage instead, with the repository's
//! `kakehashi.toml` (the configuration of the NHO SS-MIX2 sample,
//! `../shared/data/ssmix2-nho-sample/sampleData`), and writes the documents for the
//! sample's patient 9999013 (the requests of the golden cases
//! `golden/document/{referral,discharge}-nho`).

use crate::{CmdResult, Context, EXIT_USAGE, convert, document_checkup, document_clinical, export};
use mappers::document::request::Kind;
use std::path::{Path, PathBuf};

/// Patients of the generated storage.
pub const PATIENTS: u64 = 30;
/// Seed of the generated storage.
pub const SEED: u64 = 2;
/// The generated patient the documents are written for. With [`SEED`] 2, patient
/// 0000000030 has conditions in PPR-01 (胃癌, 上腹部痛) and a discharged stay:
/// ADT-22 on 2023-12-27, two ADT-42 transfers (to the ICU on 12-28 and back on
/// 12-31) and ADT-52 on 2024-01-01, which the discharge summary needs.
pub const PATIENT: &str = "0000000030";

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Convert this SS-MIX2 storage with the repository's kakehashi.toml (the NHO
    /// sample's configuration, e.g. ../shared/data/ssmix2-nho-sample/sampleData) and
    /// write the documents for the sample patient, instead of a generated storage.
    #[arg(long, value_name = "DIR")]
    pub sample: Option<PathBuf>,
    /// Output folder (with the generated storage in `storage/`).
    #[arg(long, default_value = "kakehashi-demo")]
    pub out: PathBuf,
    /// Worker threads (0 = the machine's parallelism).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
}

/// `path` relative to the working directory when it lies below it.
fn shown(path: &Path, cwd: &Path) -> PathBuf {
    match (path.canonicalize(), cwd.canonicalize()) {
        (Ok(s), Ok(c)) => s.strip_prefix(&c).map(|r| r.to_path_buf()).unwrap_or(s),
        (Ok(s), Err(_)) => s,
        (Err(_), _) => path.to_path_buf(),
    }
}

/// A file of the repository the demo uses, built into the binary.
pub(crate) struct Embedded {
    /// Where the demo writes it, relative to `OUT/setup/` (the configurations'
    /// relative table paths hold there as in the repository).
    pub path: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Builds an [`Embedded`] from a path in the repository (`$from`), written to `$to`.
macro_rules! embed {
    ($from:literal => $to:literal) => {
        Embedded {
            path: $to,
            bytes: include_bytes!(concat!("../../", $from)),
        }
    };
    ($path:literal) => {
        embed!($path => $path)
    };
}

/// The site configuration of generated storages (`demo/synth.kakehashi.toml`).
const SYNTH_CONFIG: Embedded = embed!("demo/synth.kakehashi.toml");
/// The NHO sample's configuration (the repository's `kakehashi.toml`).
const SAMPLE_CONFIG: Embedded = embed!("kakehashi.toml");
/// The requests for the generated patient [`PATIENT`].
const REQUESTS: [Embedded; 2] = [
    embed!("demo/requests/referral.toml"),
    embed!("demo/requests/discharge.toml"),
];
/// The patient summary's request: generated patient [`SUMMARY_PATIENT`], whose
/// conditions include ones told of (２型糖尿病, 狭心症) and one not (胃癌).
const SUMMARY_REQUEST: Embedded = embed!("demo/requests/summary.toml");
/// The patient of the patient summary.
pub const SUMMARY_PATIENT: &str = "0000000001";
/// The requests for the NHO sample's patient (those of `golden/document/*-nho`).
const SAMPLE_REQUESTS: [Embedded; 2] = [
    embed!("golden/document/referral-nho/request.toml" => "demo/requests/nho-referral.toml"),
    embed!("golden/document/discharge-nho/request.toml" => "demo/requests/nho-discharge.toml"),
];
/// The fictitious 特定健診 XML of the checkup document (the golden fixture).
const CHECKUP: Embedded = embed!(
    "golden/checkup/data/h1311234567_20240405_0001.xml" => "checkup/h1311234567_20240405_0001.xml"
);
/// The mapping tables both configurations name (`[tables] files`).
const TABLES: [Embedded; 10] = [
    embed!("tables/medis-disease-crosswalk.sssom.tsv"),
    embed!("tables/nho-sample-lab-99X03.sssom.tsv"),
    embed!("tables/nho-sample-specimen-99Z01.sssom.tsv"),
    embed!("tables/nho-sample-allergen-jc10.sssom.tsv"),
    embed!("tables/nho-sample-drug-hot9.sssom.tsv"),
    embed!("tables/table-v2-0001-to-administrativegender.sssom.tsv"),
    embed!("tables/table-v2-0004-to-v3-actcode.sssom.tsv"),
    embed!("tables/table-v2-0482-to-v3-actcode.sssom.tsv"),
    embed!("tables/table-v2-0127-to-allergyintolerancecategory.sssom.tsv"),
    embed!("tables/table-v2-0128-to-reactioneventseverity.sssom.tsv"),
];

/// The package source each built-in configuration names first, relative to its
/// own folder in the repository: the IG packages beside the clone.
const SHARED_SOURCE: [(&str, &str); 2] = [
    (
        "demo/synth.kakehashi.toml",
        "\"../../shared/fhir-profiles\"",
    ),
    ("kakehashi.toml", "\"../shared/fhir-profiles\""),
];

/// `../shared/fhir-profiles` of the working directory as seen from the folder of
/// `file` (a path below `OUT/setup`): relative when `out` is a plain relative
/// path, else absolute.
fn shared_source(out: &Path, file: &str, ctx: &Context<'_>) -> String {
    use std::path::Component;
    let plain = out
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let target = if plain {
        // `OUT/setup/<file>`: one `..` for each folder between the file and the
        // working directory, then one more for the working directory's parent.
        let up = out
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count()
            + Path::new(file).components().count()
            + 1;
        let mut p = PathBuf::new();
        for _ in 0..up {
            p.push("..");
        }
        p.join("shared").join("fhir-profiles")
    } else {
        ctx.cwd.join("..").join("shared").join("fhir-profiles")
    };
    format!("{:?}", target.display().to_string())
}

/// Writes `files` into `OUT/setup/` (those whose bytes differ; parents created),
/// the configurations' first package source rewritten (see the module comment).
fn write_setup(out: &Path, files: &[&Embedded], ctx: &Context<'_>) -> Result<(), crate::Failure> {
    let setup = ctx.resolve(out).join("setup");
    for f in files {
        let path = setup.join(f.path);
        let bytes: std::borrow::Cow<'_, [u8]> =
            match SHARED_SOURCE.iter().find(|(p, _)| *p == f.path) {
                Some((_, literal)) => {
                    let text = String::from_utf8_lossy(f.bytes);
                    text.replacen(literal, &shared_source(out, f.path, ctx), 1)
                        .into_bytes()
                        .into()
                }
                None => f.bytes.into(),
            };
        if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::Failure::create_dir(dir, e))?;
        }
        std::fs::write(&path, &bytes).map_err(|e| crate::Failure::write(&path, e))?;
    }
    Ok(())
}

/// What the demo converts and the requests of its documents.
struct Setup {
    storage: PathBuf,
    config: PathBuf,
    /// The patient the requests name.
    patient: &'static str,
    /// (kind, name, request file)
    requests: Vec<(Kind, &'static str, PathBuf)>,
}

/// Runs `demo`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let setup = match &args.sample {
        Some(dir) => sample(dir, &args.out, ctx)?,
        None => generated(&args.out, ctx)?,
    };
    // A storage may hold broken files (the NHO sample does, on purpose), so input
    // errors are expected; the demo itself succeeds when it could read everything
    // and wrote its outputs.
    let code = convert::run(
        convert::Args {
            storage: setup.storage.clone(),
            config: setup.config.clone(),
            out: args.out.clone(),
            as_of: None,
            jobs: args.jobs,
            ledger: None,
            no_ledger: false,
            show_phi: false,
            receipts: Vec::new(),
            server: None,
            delivery: crate::push::Delivery::default(),
        },
        ctx,
    )?;
    if code == EXIT_USAGE {
        return Ok(code);
    }
    let code = documents(&args.out, &setup, ctx)?;
    if code == EXIT_USAGE {
        return Ok(code);
    }
    let code = tables(&args.out, ctx)?;
    Ok(if code == EXIT_USAGE {
        code
    } else {
        crate::EXIT_OK
    })
}

/// The generated storage in `out/storage`, written or reused, with the
/// configuration and requests of `demo/`.
fn generated(out: &Path, ctx: &mut Context<'_>) -> Result<Setup, crate::Failure> {
    write_setup(
        out,
        &[
            &SYNTH_CONFIG,
            &REQUESTS[0],
            &REQUESTS[1],
            &SUMMARY_REQUEST,
            &CHECKUP,
        ],
        ctx,
    )?;
    write_setup(out, &TABLES.iter().collect::<Vec<_>>(), ctx)?;
    let setup = ctx.resolve(out).join("setup");
    let storage = out.join("storage");
    let config = shown(&setup.join(SYNTH_CONFIG.path), &ctx.cwd);
    // The generator draws its lab codes from JP-CLINS 1.5.2 (a fixed list, so the
    // storage does not change with the pins); installed from the configuration's
    // sources when the cache lacks it.
    let (site, base) = crate::convert::read_config(ctx, &config)?;
    let (_, packages) = crate::packages::load_named_set(
        ctx,
        Some((&site, &base)),
        crate::synth_ssmix2::LAB_CODE_SET,
    )?;
    let clins = packages
        .iter()
        .find(|p| p.name.to_ascii_lowercase().contains("clins"))
        .ok_or_else(|| crate::Failure("the clins package set has no JP-CLINS package".into()))?;
    let made = crate::synth_ssmix2::refresh(&ctx.resolve(&storage), PATIENTS, SEED, clins)?;
    writeln!(
        ctx.stdout,
        "kakehashi demo: converting a generated SS-MIX2 storage \
         (synth ssmix2 --patients {PATIENTS} --seed {SEED}; fictitious patients)\n\
         storage: {} ({} message files, {} written now)\nconfig:  {}\n",
        storage.display(),
        made.files,
        made.written,
        config.display()
    )?;
    let request = |e: &Embedded| shown(&setup.join(e.path), &ctx.cwd);
    Ok(Setup {
        requests: vec![
            (Kind::Referral, "referral", request(&REQUESTS[0])),
            (Kind::Discharge, "discharge", request(&REQUESTS[1])),
            (Kind::Summary, "summary", request(&SUMMARY_REQUEST)),
        ],
        storage,
        config,
        patient: PATIENT,
    })
}

/// The storage `dir` with the repository's `kakehashi.toml` and the NHO sample
/// patient's requests.
fn sample(dir: &Path, out: &Path, ctx: &mut Context<'_>) -> Result<Setup, crate::Failure> {
    write_setup(
        out,
        &[
            &SAMPLE_CONFIG,
            &SAMPLE_REQUESTS[0],
            &SAMPLE_REQUESTS[1],
            &CHECKUP,
        ],
        ctx,
    )?;
    write_setup(out, &TABLES.iter().collect::<Vec<_>>(), ctx)?;
    let setup = ctx.resolve(out).join("setup");
    let config = shown(&setup.join(SAMPLE_CONFIG.path), &ctx.cwd);
    writeln!(
        ctx.stdout,
        "kakehashi demo: converting the SS-MIX2 storage given with --sample \
         (the repository's kakehashi.toml is the NHO sample's configuration)\n\
         storage: {}\nconfig:  {}\n",
        dir.display(),
        config.display()
    )?;
    let request = |e: &Embedded| shown(&setup.join(e.path), &ctx.cwd);
    Ok(Setup {
        // No patient summary: the sample's site declares no disclosure source, so
        // every condition is 未告知 and a summary would be refused (M320).
        requests: vec![
            (Kind::Referral, "referral", request(&SAMPLE_REQUESTS[0])),
            (Kind::Discharge, "discharge", request(&SAMPLE_REQUESTS[1])),
        ],
        storage: dir.to_path_buf(),
        config,
        patient: "9999013",
    })
}

/// One document of each kind into `out/documents/`; prints each command's
/// result lines (the full diagnostics are what the commands themselves print).
fn documents(out: &Path, setup: &Setup, ctx: &mut Context<'_>) -> CmdResult {
    let docs = out.join("documents");
    writeln!(
        ctx.stdout,
        "\ndocuments (one of each kind; referral and discharge for patient {}{}) in {}:",
        setup.patient,
        if setup.requests.iter().any(|(k, _, _)| *k == Kind::Summary) {
            format!(", the patient summary for {SUMMARY_PATIENT}")
        } else {
            String::new()
        },
        docs.display()
    )?;
    let mut worst = crate::EXIT_OK;
    for (kind, name, request) in &setup.requests {
        let args = document_clinical::Args {
            storage: setup.storage.clone(),
            request: request.clone(),
            config: setup.config.clone(),
            out: docs.join(format!("{name}.json")),
            no_errata: false,
            show_phi: false,
        };
        let (code, text) = captured(ctx, |sub| document_clinical::run(*kind, args, sub))?;
        worst = worst.max(code);
        for line in text
            .lines()
            .filter(|l| l.starts_with(name) || l.starts_with("note:"))
        {
            writeln!(ctx.stdout, "  {line}")?;
        }
    }
    let args = document_checkup::Args {
        inputs: vec![shown(
            &ctx.resolve(out).join("setup").join(CHECKUP.path),
            &ctx.cwd,
        )],
        out: docs.join("checkup"),
        no_errata: false,
        show_phi: false,
        config: Some(setup.config.clone()),
    };
    let (code, text) = captured(ctx, |sub| document_checkup::run(args, sub))?;
    worst = worst.max(code);
    for line in text.lines().filter(|l| {
        l.starts_with("converted") || l.starts_with("quarantined") || l.starts_with("checkup:")
    }) {
        writeln!(ctx.stdout, "  {line}")?;
    }
    Ok(worst)
}

/// The analysis tables (`export tables`, shipped views, Parquet) of everything the
/// demo wrote, into `out/tables/`; prints the per-table lines.
fn tables(out: &Path, ctx: &mut Context<'_>) -> CmdResult {
    let docs = out.join("documents");
    let args = export::TablesArgs {
        from: vec![out.to_path_buf(), docs.clone(), docs.join("checkup")],
        out: out.join("tables"),
        views: export::ViewArgs {
            views: Vec::new(),
            no_shipped: false,
            format: export::FormatArg::Parquet,
        },
        json: false,
    };
    let (code, text) = captured(ctx, |sub| export::run(export::Command::Tables(args), sub))?;
    writeln!(
        ctx.stdout,
        "\nanalysis tables (SQL on FHIR views, `export tables`) in {}:",
        out.join("tables").display()
    )?;
    for line in text.lines().filter(|l| l.contains(".parquet: ")) {
        writeln!(ctx.stdout, "  {line}")?;
    }
    Ok(code)
}

/// Runs `f` with its standard output captured; its standard error passes through.
fn captured(
    ctx: &mut Context<'_>,
    f: impl FnOnce(&mut Context<'_>) -> CmdResult,
) -> Result<(u8, String), crate::Failure> {
    let mut buf = Vec::new();
    let warned = std::mem::take(&mut ctx.warned);
    let (code, warned) = {
        let mut sub = Context {
            cwd: ctx.cwd.clone(),
            stdout: &mut buf,
            stderr: &mut *ctx.stderr,
            package_cache: ctx.package_cache.clone(),
            warned,
        };
        let code = f(&mut sub);
        (code, sub.warned)
    };
    ctx.warned = warned;
    Ok((code?, String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_name_the_generated_patient() {
        for e in &REQUESTS {
            let text = std::str::from_utf8(e.bytes).unwrap();
            assert!(
                text.contains(&format!("\npatient = \"{PATIENT}\"\n")),
                "{}",
                e.path
            );
        }
        let text = std::str::from_utf8(SUMMARY_REQUEST.bytes).unwrap();
        assert!(text.contains(&format!("\npatient = \"{SUMMARY_PATIENT}\"\n")));
    }

    /// The built-in tables are exactly those each built-in configuration names,
    /// at the same place relative to it, and each configuration's first package
    /// source is the literal the demo rewrites.
    #[test]
    fn the_built_in_configurations_find_the_built_in_tables() {
        let tables: Vec<&str> = TABLES.iter().map(|t| t.path).collect();
        for config in [&SYNTH_CONFIG, &SAMPLE_CONFIG] {
            let text = std::str::from_utf8(config.bytes).unwrap();
            let site = mappers::config::SiteConfig::parse(text).unwrap();
            let dir = Path::new(config.path).parent().unwrap();
            let named: Vec<String> = site
                .tables
                .iter()
                .map(|rel| normalised(&dir.join(rel)))
                .collect();
            assert_eq!(named, tables, "{}", config.path);
            let (_, literal) = SHARED_SOURCE
                .iter()
                .find(|(p, _)| *p == config.path)
                .unwrap();
            assert_eq!(text.matches(literal).count(), 1, "{}", config.path);
            assert_eq!(
                site.packages.sources.first().map(|s| format!("{s:?}")),
                Some(literal.to_string()),
                "{}",
                config.path
            );
        }
    }

    /// `a/b/../c` → `a/c`.
    fn normalised(p: &Path) -> String {
        let mut out: Vec<&std::ffi::OsStr> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
        out.iter()
            .map(|n| n.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The rewritten source points at the working directory's `../shared`
    /// from where the configuration is written.
    #[test]
    fn the_rewritten_source_is_the_working_directorys_shared_folder() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let ctx = Context {
            cwd: PathBuf::from("/w/clone"),
            stdout: &mut out,
            stderr: &mut err,
            package_cache: PathBuf::new(),
            warned: Default::default(),
        };
        for (o, file, want) in [
            (
                "kakehashi-demo",
                "demo/synth.kakehashi.toml",
                "../../../../shared/fhir-profiles",
            ),
            (
                "kakehashi-demo",
                "kakehashi.toml",
                "../../../shared/fhir-profiles",
            ),
            (
                "./a/b",
                "kakehashi.toml",
                "../../../../shared/fhir-profiles",
            ),
            ("/x/y", "kakehashi.toml", "/w/clone/../shared/fhir-profiles"),
        ] {
            assert_eq!(
                shared_source(Path::new(o), file, &ctx),
                format!("{want:?}"),
                "{o} {file}"
            );
            if !want.starts_with('/') {
                let resolved = normalised(
                    &Path::new("clone")
                        .join(o)
                        .join("setup")
                        .join(file)
                        .parent()
                        .unwrap()
                        .join(want),
                );
                assert_eq!(resolved, "shared/fhir-profiles", "{o} {file}");
            }
        }
    }

    /// Two runs in the same folder: the second reuses the generated storage and
    /// plans every unit `unchanged`; both write valid documents.
    #[test]
    fn a_second_run_reuses_the_storage_and_plans_unchanged() {
        let dir = crate::scratch_dir("demo");
        let argv = ["kakehashi", "demo", "--out", "out", "--jobs", "2"];
        let (code, first) = crate::run_cli(&argv, &dir);
        assert_eq!(code, 0, "{first}");
        assert!(first.contains("written now"), "{first}");
        assert!(!first.contains(", 0 written now"), "{first}");
        assert!(first.contains("plan: create "), "{first}");
        assert!(!first.contains("plan: create 0,"), "{first}");
        let (code, second) = crate::run_cli(&argv, &dir);
        assert_eq!(code, 0, "{second}");
        assert!(second.contains(", 0 written now"), "{second}");
        let plan = second
            .lines()
            .find(|l| l.starts_with("plan: "))
            .unwrap_or_default();
        assert!(
            plan.starts_with("plan: create 0, replace 0, unchanged ")
                && !plan.contains("unchanged 0,"),
            "{plan}"
        );
        for out in [&first, &second] {
            for kind in ["referral", "discharge", "summary"] {
                assert!(
                    out.lines()
                        .any(|l| l.trim_start().starts_with(kind) && l.contains(", valid (")),
                    "{kind}: {out}"
                );
            }
            assert!(out.contains("1 converted, 0 quarantined"), "{out}");
        }
        assert!(dir.join("out/documents/referral.json").is_file());
        assert!(dir.join("out/documents/discharge.json").is_file());
        assert!(dir.join("out/documents/summary.json").is_file());
        // A file the generator does not write: refused, nothing converted.
        std::fs::write(dir.join("out/storage/notes.txt"), "x").unwrap();
        let (code, text) = crate::run_cli(&argv, &dir);
        assert_eq!(code, 2, "{text}");
        assert!(
            text.contains("notes.txt") && text.contains("another --out"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
