//! `kakehashi tables coverage PATH... [--receipts FILE...] --config kakehashi.toml
//! [--out DIR]`: which source codes occur in SS-MIX2 storage and UKE receipts, how
//! often, and how the site's tables cover them (crate `coverage`).

use crate::progress;
use crate::tables::load_table;
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, Failure};
use clap::Args;
use coverage::extract::{self, Recorder, Setting};
use diagnostics::{Diagnostics, RenderOptions, Severity};
use mappers::config::SiteConfig;
use pipeline::source::{Content, Storage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use terminologies::lookup::Index;

/// Arguments of `tables coverage`.
#[derive(Args)]
pub struct CoverageArgs {
    /// SS-MIX2 storage roots, folders of message files or files (UKE receipt files
    /// among them are recognised by content).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// UKE receipt files.
    #[arg(long)]
    receipts: Vec<PathBuf>,
    /// Site configuration: its `[tables] files` are the tables coverage is measured against.
    #[arg(long)]
    config: PathBuf,
    /// Write `coverage.csv`, `coverage.parquet` and `unmapped-worklist.csv` here
    /// (created if missing); without it only the summary is printed.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How many of the most frequent unmapped codes the summary lists.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Print how long each phase took to standard error (not deterministic).
    #[arg(long)]
    timings: bool,
}

/// Wall time per phase (only printed with `--timings`).
#[derive(Default)]
struct Phases {
    read: Duration,
    parse: Duration,
    extract: Duration,
    receipts: Duration,
    classify: Duration,
    analytics: Duration,
    write: Duration,
}

/// What was read, for the accounting lines.
#[derive(Default)]
struct Read {
    files: u64,
    messages: u64,
    skipped: u64,
    receipt_files: u64,
    receipt_records: u64,
}

fn load_config(ctx: &Context<'_>, p: &Path) -> Result<SiteConfig, Failure> {
    let bytes = crate::tables::read(ctx, p)?;
    let text =
        String::from_utf8(bytes).map_err(|_| Failure(format!("{}: not UTF-8", p.display())))?;
    SiteConfig::parse(&text).map_err(|d| {
        let mut d = *d;
        d.location = d.location.file(p.display().to_string());
        Failure(d.render_human(RenderOptions::default()))
    })
}

/// Runs `tables coverage`.
pub fn run(a: CoverageArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    let mut t = Phases::default();
    let config = load_config(ctx, &a.config)?;
    let base = a.config.parent().unwrap_or(Path::new(""));
    let mut diags = Diagnostics::default();
    let mut tables = Vec::new();
    for f in &config.tables {
        tables.push(load_table(ctx, &base.join(f), &mut diags)?);
    }
    let index = Index::new(&tables);
    // The lab scope convert uses: the sets of the site's pinned JP-CLINS package.
    let (_, packages) = crate::packages::load_named_set(ctx, Some((&config, base)), "clins")?;
    let (lab_sets, lab_diags) =
        mappers::LabSets::from_package(crate::convert::clins_package(&packages)?);
    diags.extend(lab_diags);
    let as_of = config.policy.as_of.clone().unwrap_or_default();
    let set = Setting {
        config: &config,
        lab_sets: &lab_sets,
        as_of: &as_of,
    };
    let rec = Recorder::new(&index);
    let mut read = Read::default();
    let mut io_failed = false;
    let bar = progress::counter("files");

    let mut receipt_files: Vec<(String, PathBuf)> = Vec::new();
    for p in &a.paths {
        let display = p.display().to_string();
        // The patient source, as convert reads a storage (one patient at a time).
        let storage = Storage::walk(ctx.resolve(p), &display);
        for (path, e) in &storage.errors {
            writeln!(ctx.stderr, "kakehashi: {path}: {e}")?;
            io_failed = true;
        }
        // Extended storage is not converted: nothing of it is counted.
        for patient in storage.patients() {
            let mut files = storage.files(patient, |_| true);
            loop {
                let start = Instant::now();
                let Some(file) = files.next() else { break };
                t.read += start.elapsed();
                bar.inc(1);
                if let Err(e) = &file.bytes {
                    writeln!(ctx.stderr, "kakehashi: {}: {e}", file.entry.display)?;
                    io_failed = true;
                    continue;
                }
                let start = Instant::now();
                let f = match file.content() {
                    Some(Content::Messages(f)) => f,
                    Some(Content::Receipt) => {
                        receipt_files.push((file.entry.display.clone(), file.entry.path.clone()));
                        continue;
                    }
                    None => continue,
                };
                t.parse += start.elapsed();
                let start = Instant::now();
                let (patient, data_type) = f
                    .name
                    .as_ref()
                    .map(|n| (file.patient_id(n), n.data_type.as_str()))
                    .unwrap_or_default();
                read.files += 1;
                for m in f.hl7.messages() {
                    read.messages += 1;
                    let tally = extract::count_message(
                        &rec,
                        set,
                        &file.entry.display,
                        patient,
                        data_type,
                        m,
                    );
                    read.skipped += u64::from(tally.skipped);
                }
                diags.extend(f.diagnostics);
                t.extract += start.elapsed();
            }
        }
    }
    for p in &a.receipts {
        receipt_files.push((p.display().to_string(), ctx.resolve(p)));
    }
    for (display, path) in receipt_files {
        bar.inc(1);
        let start = Instant::now();
        let bytes = std::fs::read(&path).map_err(|e| Failure::read(Path::new(&display), e))?;
        t.read += start.elapsed();
        let start = Instant::now();
        let mut d = Diagnostics::default();
        let tally = rec.with_counter(|c| extract::count_receipts(&bytes, c, &mut d));
        d.set_file(&display);
        diags.extend(d);
        read.receipt_files += 1;
        read.receipt_records += tally.records;
        t.receipts += start.elapsed();
    }
    bar.finish_and_clear();

    let start = Instant::now();
    let counter = rec.into_counter();
    let rows = coverage::classify(&counter, &index, &tables);
    t.classify = start.elapsed();
    let start = Instant::now();
    let analysis = match coverage::frame::analyse(&rows) {
        Ok(a) => a,
        Err(d) => {
            diags.push(*d);
            crate::tables::emit(ctx, &diags, json, phi)?;
            return Ok(EXIT_INPUT_ERRORS);
        }
    };
    t.analytics = start.elapsed();

    let out = &mut *ctx.stdout;
    let inputs: Vec<String> = a
        .paths
        .iter()
        .chain(&a.receipts)
        .map(|p| p.display().to_string())
        .collect();
    writeln!(out, "coverage of {}", inputs.join(", "))?;
    writeln!(
        out,
        "read {} message files ({} messages, {} of a data type without coded items) and {} receipt files ({} records)",
        read.files, read.messages, read.skipped, read.receipt_files, read.receipt_records
    )?;
    writeln!(
        out,
        "counted {} occurrences of {} distinct source codes against {} tables",
        counter.occurrences(),
        counter.len(),
        tables.len()
    )?;
    let mut by_code: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_sev: BTreeMap<Severity, u64> = BTreeMap::new();
    for d in &diags {
        *by_code.entry(d.code.id).or_default() += 1;
        *by_sev.entry(d.severity).or_default() += 1;
    }
    if !by_code.is_empty() {
        let list: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        writeln!(
            out,
            "input diagnostics: {} errors, {} warnings, {} infos ({}); `kakehashi inspect` lists them",
            by_sev.get(&Severity::Error).unwrap_or(&0),
            by_sev.get(&Severity::Warning).unwrap_or(&0),
            by_sev.get(&Severity::Info).unwrap_or(&0),
            list.join(", ")
        )?;
    }
    writeln!(out)?;
    out.write_all(coverage::frame::render(&analysis, a.top).as_bytes())?;

    if let Some(dir) = &a.out {
        let start = Instant::now();
        let files = [
            ("coverage.csv", coverage::frame::csv(&analysis.coverage)),
            (
                "coverage.parquet",
                coverage::frame::parquet(&analysis.coverage),
            ),
            (
                "unmapped-worklist.csv",
                coverage::frame::csv(&analysis.worklist),
            ),
        ];
        let resolved = ctx.resolve(dir);
        crate::create_out_dir(&resolved, dir)?;
        for (name, bytes) in files {
            let bytes = bytes.map_err(|d| Failure(d.render_human(RenderOptions::default())))?;
            crate::tables_governance::write_atomic(ctx, &dir.join(name), &bytes)?;
        }
        writeln!(
            ctx.stdout,
            "\nwrote coverage.csv, coverage.parquet, unmapped-worklist.csv to {}",
            dir.display()
        )?;
        t.write = start.elapsed();
    }
    if a.timings {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        writeln!(
            ctx.stderr,
            "timings: read {}, parse (SS-MIX2) {}, extract (mappers + RXE) {}, receipts (parse + count) {}, classify {}, analytics (polars) {}, write {}",
            ms(t.read),
            ms(t.parse),
            ms(t.extract),
            ms(t.receipts),
            ms(t.classify),
            ms(t.analytics),
            ms(t.write)
        )?;
    }
    Ok(if io_failed {
        EXIT_USAGE
    } else if diags.has_errors() {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests

    use std::path::Path;

    fn run(out: &Path) -> (u8, String) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let storage = crate::shared("data/ssmix2-nho-sample/sampleData");
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let code = {
            let mut ctx = crate::Context {
                cwd: root,
                stdout: &mut stdout,
                stderr: &mut stderr,
                package_cache: crate::packages::test_cache(),
                warned: Default::default(),
            };
            crate::run(
                [
                    "kakehashi",
                    "tables",
                    "coverage",
                    storage.to_str().unwrap(),
                    "--config",
                    "kakehashi.toml",
                    "--out",
                    out.to_str().unwrap(),
                ],
                &mut ctx,
            )
        };
        (code, String::from_utf8(stdout).unwrap())
    }

    /// Two runs write the same bytes (CSV and Parquet), and the files say what the summary says.
    #[test]
    fn outputs_are_written_and_identical_across_runs() {
        let base = crate::scratch_dir("coverage");
        let (a, b) = (base.join("a"), base.join("b"));
        let (code_a, out_a) = run(&a);
        let (code_b, _) = run(&b);
        assert_eq!(code_a, code_b);
        assert!(out_a.contains("wrote coverage.csv"), "{out_a}");
        for f in ["coverage.csv", "coverage.parquet", "unmapped-worklist.csv"] {
            let (x, y) = (
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(b.join(f)).unwrap(),
            );
            assert!(!x.is_empty());
            assert_eq!(x, y, "{f} differs between runs");
        }
        let parquet = std::fs::read(a.join("coverage.parquet")).unwrap();
        assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
        let csv = std::fs::read_to_string(a.join("coverage.csv")).unwrap();
        assert!(
            csv.starts_with("table,system,code,specimen,unit,text,display,status,occurrences,")
        );
        let worklist = std::fs::read_to_string(a.join("unmapped-worklist.csv")).unwrap();
        // The summary's worklist count matches the file's rows.
        let n = worklist.lines().count() - 1;
        assert!(
            out_a.contains(&format!("unmapped worklist: {n} codes")),
            "{out_a}"
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
