//! `kakehashi document checkup INPUT... --out DIR`: MHLW 特定健診 CDA XML (hc08)
//! files, folders of them, or submission archives (ZIP with `DATA/*.xml`) →
//! eCheckup document Bundles (`JP_Bundle_eCheckupGeneral`), each validated in
//! process against the `echeckup` package set (with the errata file) before it is
//! written:
//!
//! - valid → `DIR/<source stem>.json`;
//! - invalid → `DIR/quarantine/<source stem>.json` and
//!   `DIR/quarantine/<source stem>.outcome.json` (the OperationOutcome);
//! - unreadable (not UTF-8, not well-formed or truncated, not a CDA document) →
//!   nothing written, the diagnostics say why.
//!
//! Archive members outside `DATA/` (CLAIMS, XSD, index, summary) are listed as
//! skipped. Every input file and archive member is accounted for in the summary.
//! `--out -` prints the bundles (and outcomes) to standard output instead of
//! writing files (what the golden tests compare).

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::Args as ClapArgs;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, RenderOptions, Severity};
use fhir::errata::Errata;
use fhir::model::{IntoResource, json};
use fhir::validate::Validator;
use parsers::checkup::codes as kcodes;
use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Arguments of `document checkup`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// hc08 XML files, folders (searched recursively for `.xml` and `.zip`) or submission ZIPs.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder (created); `-` prints the bundles to standard output instead.
    #[arg(long)]
    pub out: PathBuf,
    /// Do not apply the errata file when validating.
    #[arg(long)]
    pub no_errata: bool,
    /// Show protected health information in excerpts.
    #[arg(long)]
    pub show_phi: bool,
    /// Site configuration whose `echeckup` package pins and sources apply
    /// (default: the built-in `echeckup` set).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Largest archive member read (64 MiB).
const MAX_MEMBER: u64 = 64 << 20;

/// One document to convert: where it came from and its bytes.
struct Source {
    shown: String,
    stem: String,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Tally {
    converted: usize,
    quarantined: usize,
    unreadable: usize,
    skipped: usize,
    observations: usize,
}

enum Output {
    Stdout,
    Dir(PathBuf),
}

fn is_ext(name: &str, ext: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
}

fn stem_of(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s.to_owned(),
        _ => base.to_owned(),
    }
}

/// Members of a submission archive: `DATA/…/*.xml` become sources, the rest are
/// reported as skipped.
fn unzip(
    shown: &str,
    bytes: Vec<u8>,
    sources: &mut Vec<Source>,
    d: &mut Diagnostics,
    tally: &mut Tally,
    lines: &mut Vec<String>,
) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            d.push(
                Diagnostic::new(
                    &kcodes::ARCHIVE_UNREADABLE,
                    "submission archive (ZIP) cannot be read; nothing in it is converted",
                )
                .at(Location::default().file(shown))
                .excerpt(Excerpt::text(e.to_string())),
            );
            tally.unreadable += 1;
            lines.push(format!("unreadable {shown} (K016)"));
            return;
        }
    };
    let mut members: Vec<(String, usize)> = Vec::new();
    for i in 0..archive.len() {
        let name = match archive.by_index(i) {
            Ok(f) => {
                if f.is_dir() {
                    continue;
                }
                member_name(f.name_raw())
            }
            Err(e) => {
                let at = format!("{shown}!#{i}");
                d.push(
                    Diagnostic::new(
                        &kcodes::ARCHIVE_MEMBER_UNREADABLE,
                        "archive member cannot be read",
                    )
                    .at(Location::default().file(at.clone()))
                    .excerpt(Excerpt::text(e.to_string())),
                );
                tally.unreadable += 1;
                lines.push(format!("unreadable {at} (K018)"));
                continue;
            }
        };
        members.push((name, i));
    }
    members.sort();
    for (name, i) in members {
        let at = format!("{shown}!{name}");
        let in_data = name.split('/').any(|c| c == "DATA");
        if !(in_data && is_ext(&name, "xml")) {
            d.push(
                Diagnostic::new(
                    &kcodes::ARCHIVE_MEMBER_SKIPPED,
                    "archive member is not a DATA/ hc08 file; not converted",
                )
                .at(Location::default().file(at.clone())),
            );
            tally.skipped += 1;
            lines.push(format!("skipped {at} (not a DATA/ hc08 file)"));
            continue;
        }
        let mut buf = Vec::new();
        // A member larger than any checkup file is refused rather than inflated
        // (hc08 files are tens of kilobytes; this guards against ZIP bombs).
        let read = archive
            .by_index(i)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                f.take(MAX_MEMBER + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| e.to_string())
            })
            .and_then(|n| {
                if n as u64 > MAX_MEMBER {
                    Err(format!("larger than {MAX_MEMBER} bytes"))
                } else {
                    Ok(n)
                }
            });
        match read {
            Ok(_) => sources.push(Source {
                shown: at,
                stem: stem_of(&name),
                bytes: buf,
            }),
            Err(e) => {
                d.push(
                    Diagnostic::new(
                        &kcodes::ARCHIVE_MEMBER_UNREADABLE,
                        "archive member cannot be decompressed",
                    )
                    .at(Location::default().file(at.clone()))
                    .excerpt(Excerpt::text(e)),
                );
                tally.unreadable += 1;
                lines.push(format!("unreadable {at} (K018)"));
            }
        }
    }
}

/// A member name as shown: `\\` read as `/` (archives made on Windows), bytes that
/// are not UTF-8 written as `\\xNN` (never a silent U+FFFD).
fn member_name(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "/"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::create_dir(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::write(path, e))
}

/// Runs `document checkup`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let opts = RenderOptions {
        show_phi: args.show_phi,
    };
    let output = if args.out.as_os_str() == "-" {
        Output::Stdout
    } else {
        Output::Dir(ctx.resolve(&args.out))
    };
    let site = match &args.config {
        Some(c) => Some(crate::convert::read_config(ctx, c)?),
        None => None,
    };
    let (_, packages) = crate::packages::load_named_set(
        ctx,
        site.as_ref().map(|(c, b)| (c, b.as_path())),
        "echeckup",
    )?;
    let refs: Vec<&fhir::package::Package> = packages.iter().collect();
    let conf = fhir::conformance::Conformance::load(&refs);
    // Where eCheckupReport versions differ, the mapper reads the rule from the
    // pinned package (mappers::checkup::Rules), never from its version number.
    let echeckup_pkg = packages
        .iter()
        .find(|p| p.name.to_ascii_lowercase().contains("echeckup"))
        .ok_or_else(|| Failure("the echeckup package set has no eCheckupReport package".into()))?;
    let rules = mappers::checkup::Rules::from_package(echeckup_pkg);
    let mut validator = Validator::new(&conf);
    let errata;
    if !args.no_errata {
        errata = Errata::builtin().map_err(|e| Failure(format!("errata file: {e}")))?;
        validator = validator.with_errata(&errata);
    }

    let mut files = Vec::new();
    for p in &args.inputs {
        crate::walk::collect_files(ctx, p, &|_| true, &mut files)?;
    }
    let mut tally = Tally::default();
    let mut any_error = false;
    let mut used_stems: BTreeSet<String> = BTreeSet::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut d = Diagnostics::default();
    let mut lines: Vec<String> = Vec::new();
    for (shown, path) in files {
        let bytes = std::fs::read(&path).map_err(|e| Failure::read(Path::new(&shown), e))?;
        if is_ext(&shown, "zip") {
            unzip(&shown, bytes, &mut sources, &mut d, &mut tally, &mut lines);
        } else if is_ext(&shown, "xml") {
            let stem = stem_of(&shown);
            sources.push(Source { shown, stem, bytes });
        } else {
            // Accounted for by the `skipped` line (no diagnostic: a folder may hold notes).
            tally.skipped += 1;
            lines.push(format!("skipped {shown} (not .xml or .zip)"));
        }
        // Archive and skip diagnostics first, in input order.
        any_error |= d.has_errors();
        for x in d.iter() {
            writeln!(ctx.stdout, "{}", x.render_human(opts))?;
        }
        d = Diagnostics::default();
        for l in lines.drain(..) {
            writeln!(ctx.stdout, "{l}")?;
        }
        for s in sources.drain(..) {
            any_error |= convert(
                s,
                &Stages {
                    rules: &rules,
                    validator: &validator,
                },
                &output,
                &mut used_stems,
                &mut tally,
                opts,
                ctx,
            )?;
        }
    }
    writeln!(
        ctx.stdout,
        "checkup: {} inputs: {} converted, {} quarantined, {} unreadable, {} skipped; {} observations written",
        tally.converted + tally.quarantined + tally.unreadable + tally.skipped,
        tally.converted,
        tally.quarantined,
        tally.unreadable,
        tally.skipped,
        tally.observations
    )?;
    Ok(if any_error {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

/// What every document goes through: the mapping rules read from the pinned
/// eCheckupReport package and the validator loaded with the same set.
struct Stages<'a> {
    rules: &'a mappers::checkup::Rules,
    validator: &'a Validator<'a>,
}

/// Reads, maps, validates and writes one document; true if it had errors.
fn convert(
    s: Source,
    stages: &Stages<'_>,
    output: &Output,
    used: &mut BTreeSet<String>,
    tally: &mut Tally,
    opts: RenderOptions,
    ctx: &mut Context<'_>,
) -> Result<bool, Failure> {
    let (doc, mut d) = parsers::checkup::read(&s.bytes);
    let Some(doc) = doc else {
        d.set_file(&s.shown);
        for x in d.iter() {
            writeln!(ctx.stdout, "{}", x.render_human(opts))?;
        }
        let first = d
            .iter()
            .find(|x| x.severity == Severity::Error)
            .map(|x| x.code.id)
            .unwrap_or("");
        writeln!(ctx.stdout, "unreadable {} ({first})", s.shown)?;
        tally.unreadable += 1;
        return Ok(true);
    };
    let mapped = mappers::checkup::map(&doc, stages.rules);
    d.extend(mapped.diagnostics);
    d.set_file(&s.shown);
    for x in d.iter() {
        writeln!(ctx.stdout, "{}", x.render_human(opts))?;
    }
    let bytes = match json::to_vec(&mapped.bundle.into_resource()) {
        Ok(b) => b,
        Err(e) => {
            // Not expected (the mapper normalises numbers), but never abort the run.
            let mut x = *e;
            x.location.file = Some(s.shown.clone());
            writeln!(ctx.stdout, "{}", x.render_human(opts))?;
            writeln!(ctx.stdout, "unreadable {} ({})", s.shown, x.code.id)?;
            tally.unreadable += 1;
            return Ok(true);
        }
    };
    let report = stages.validator.validate_json(&bytes, &[]);
    let errors = report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let mut name = s.stem.clone();
    let mut n = 1;
    while !used.insert(name.clone()) {
        n += 1;
        name = format!("{}-{n}", s.stem);
    }
    let errata = if report.errata_applied.is_empty() {
        String::new()
    } else {
        format!(", errata applied: {}", report.errata_list())
    };
    if errors == 0 {
        tally.converted += 1;
        tally.observations += mapped.observations;
        let rel = format!("{name}.json");
        writeln!(
            ctx.stdout,
            "converted {} -> {rel} ({} observations, {}{errata})",
            s.shown, mapped.observations, mapped.identifier
        )?;
        match output {
            Output::Stdout => ctx.stdout.write_all(&bytes)?,
            Output::Dir(dir) => write(&dir.join(&rel), &bytes)?,
        }
        return Ok(d.has_errors());
    }
    tally.quarantined += 1;
    for i in &report.issues {
        if i.severity == Severity::Error {
            let mut x = i.to_diagnostic();
            x.location.file = Some(format!("{} (bundle)", s.shown));
            writeln!(ctx.stdout, "{}", x.render_human(opts))?;
        }
    }
    let rel = format!("quarantine/{name}.json");
    let outcome_rel = format!("quarantine/{name}.outcome.json");
    writeln!(
        ctx.stdout,
        "quarantined {} -> {rel} ({errors} validation errors{errata})",
        s.shown
    )?;
    let outcome_bytes = crate::validate::outcome_bytes(&report);
    match output {
        Output::Stdout => {
            ctx.stdout.write_all(&bytes)?;
            ctx.stdout.write_all(&outcome_bytes)?;
        }
        Output::Dir(dir) => {
            write(&dir.join(&rel), &bytes)?;
            write(&dir.join(&outcome_rel), &outcome_bytes)?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../golden/checkup")
            .join(p)
    }

    #[test]
    fn member_names_never_hide_bytes() {
        assert_eq!(member_name(b"ROOT\\DATA\\h1.xml"), "ROOT/DATA/h1.xml");
        assert_eq!(member_name(b"DATA/\x82\xa0.xml"), "DATA/\\x82\\xA0.xml");
    }

    #[test]
    fn writes_valid_bundles_and_quarantines_invalid_ones() {
        let out = crate::scratch_dir("checkup");
        let (mut so, mut se) = (Vec::new(), Vec::new());
        let mut ctx = Context {
            cwd: golden(""),
            stdout: &mut so,
            stderr: &mut se,
            package_cache: crate::packages::test_cache(),
            warned: Default::default(),
        };
        let args = [
            "kakehashi",
            "document",
            "checkup",
            "folder/input",
            "data",
            "--out",
        ];
        let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        argv.push(out.display().to_string());
        let code = crate::run(argv, &mut ctx);
        let text = String::from_utf8_lossy(&so).into_owned();
        assert_eq!(code, EXIT_INPUT_ERRORS, "{text}");
        assert!(
            text.contains("checkup: 6 inputs: 3 converted, 0 quarantined, 2 unreadable, 1 skipped"),
            "{text}"
        );
        let conf = crate::validate::load_for_test("echeckup");
        let errata = Errata::builtin().unwrap_or_else(|e| panic!("{e}"));
        let v = Validator::new(&conf).with_errata(&errata);
        // 0003 names no doctor: under eCheckupReport 1.5.0 its author is an unnamed
        // Practitioner (M220), and it is valid.
        for name in [
            "h1311234567_20240405_0001.json",
            "h1311234567_20240405_0002.json",
            "h1311234567_20240405_0003.json",
        ] {
            let bytes = std::fs::read(out.join(name)).unwrap_or_default();
            let r = v.validate_json(&bytes, &[]);
            let errors: Vec<_> = r
                .issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            assert!(
                r.errata_applied.is_empty(),
                "{name}: errata {:?}",
                r.errata_applied
            );
        }
        assert!(text.contains("warning[M220]"), "{text}");
        // Unreadable inputs leave nothing behind.
        assert!(!out.join("h1311234567_20240405_0004.json").exists());
        assert!(!out.join("quarantine").exists());
        let _ = std::fs::remove_dir_all(&out);
    }

    /// A file without an address is quarantined with its OperationOutcome and the
    /// mapper's finding naming the rule (M219); nothing is written as valid.
    #[test]
    fn a_patient_without_address_is_quarantined() {
        let out = crate::scratch_dir("checkup-addr");
        let (mut so, mut se) = (Vec::new(), Vec::new());
        let mut ctx = Context {
            cwd: golden(""),
            stdout: &mut so,
            stderr: &mut se,
            package_cache: crate::packages::test_cache(),
            warned: Default::default(),
        };
        let mut argv: Vec<String> = [
            "kakehashi",
            "document",
            "checkup",
            "no-address/input",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.push(out.display().to_string());
        let code = crate::run(argv, &mut ctx);
        let text = String::from_utf8_lossy(&so).into_owned();
        assert_eq!(code, EXIT_INPUT_ERRORS, "{text}");
        assert!(text.contains("error[M219]"), "{text}");
        assert!(text.contains("1 quarantined"), "{text}");
        let q = std::fs::read(out.join("quarantine/h4312345678_20250905_0001.json"))
            .unwrap_or_default();
        let conf = crate::validate::load_for_test("echeckup");
        assert!(!Validator::new(&conf).validate_json(&q, &[]).is_valid());
        let outcome =
            std::fs::read_to_string(out.join("quarantine/h4312345678_20250905_0001.outcome.json"))
                .unwrap_or_default();
        assert!(outcome.contains("Patient.address"), "{outcome}");
        assert!(!out.join("h4312345678_20250905_0001.json").exists());
        let _ = std::fs::remove_dir_all(&out);
    }
}
