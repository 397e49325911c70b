//! `kakehashi convert STORAGE --config kakehashi.toml --out DIR [--as-of DATE] [--jobs N]`:
//! SS-MIX2 storage → validated JP_Bundle_CLINS submission units.
//!
//! The front end of [`pipeline`]: loads the configuration, tables and the `clins`
//! package set, walks the storage ([`pipeline::source::Storage`]), opens the
//! ledger, runs the patients ([`pipeline::run::Run`]) into today's folder outputs
//! ([`pipeline::outputs::folder`]) with a progress bar, ends the run
//! ([`pipeline::run::finish`]: plan, outputs, ledger commit) and prints the
//! summary. Output bytes do not depend on the thread count:
//!
//! ```text
//! DIR/bundles/<unit>.json            valid bundles (the full current state)
//! DIR/quarantine/<unit>.json         invalid bundles, each with
//! DIR/quarantine/<unit>.outcome.json its OperationOutcome
//! DIR/ndjson/<Type>.ndjson           every submitted resource (Bulk Data NDJSON),
//!                                    MedicationRequests included
//! DIR/lineage.jsonl                  resource → source file, segment, field, table rows (PHI)
//! DIR/diagnostics.jsonl              every diagnostic (PHI masked unless --show-phi)
//! DIR/plan.jsonl                     what to send: create / replace / unchanged / delete / held
//! DIR/ledger.sqlite                  the submission ledger (default place; --ledger, --no-ledger)
//! DIR/report.json                    the run report: every file, message and record accounted for
//! ```
//!
//! The summary printed on stdout says first which safety policies applied.
//!
//! For the benchmark (`bench/convert.sh`), `KAKEHASHI_TIMINGS=1` prints each
//! worker's busy time per phase on stderr (never in an output file).

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, Failure};
use diagnostics::{Diagnostics, RenderOptions, Severity};
use fhir::errata::Errata;
use mappers::LabSets;
use mappers::config::SiteConfig;
use pipeline::ledger::{Ledger, LedgerError, LedgerStore};
use pipeline::outputs::{self, ReportHeader};
use pipeline::receipts::Receipts;
use pipeline::run::{PipelineError, Run};
use pipeline::source::Storage;
use pipeline::{Converter, Settings, Sink, SinkError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use terminologies::lookup::Index;

/// Arguments of `convert`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SS-MIX2 standardized storage root (or a folder of message files).
    pub storage: PathBuf,
    /// Site configuration.
    #[arg(long, default_value = "kakehashi.toml")]
    pub config: PathBuf,
    /// Output folder (its bundles/, quarantine/ and ndjson/ are rewritten).
    #[arg(long)]
    pub out: PathBuf,
    /// The date the data is judged on (insurance validity, the 5-year window, the
    /// identifier year), `YYYY-MM-DD`; overrides `policy.as_of`. Never the clock.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Worker threads (0 = the machine's parallelism). Output does not depend on it.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// The submission ledger (SQLite; default DIR/ledger.sqlite). It holds
    /// 被保険者個人識別子: keep it like the source data.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Use no ledger: every unit is planned as new and nothing is remembered.
    #[arg(long)]
    pub no_ledger: bool,
    /// Show protected health information in diagnostics.
    #[arg(long)]
    pub show_phi: bool,
    /// UKE receipt files (レセ電, 医科) of the same hospital: linked to the patients (枝番), counted, never Conditions.
    #[arg(long, num_args = 1..)]
    pub receipts: Vec<PathBuf>,
    /// After the run, deliver what it planned to this FHIR server (as `kakehashi push DIR --server URL`).
    #[arg(long)]
    pub server: Option<String>,
    #[command(flatten)]
    pub delivery: crate::push::Delivery,
}

/// Reads the site configuration; returns it and the folder its tables are relative to.
pub(crate) fn read_config(
    ctx: &mut Context<'_>,
    path: &Path,
) -> Result<(SiteConfig, PathBuf), Failure> {
    let full = ctx.resolve(path);
    let text = std::fs::read_to_string(&full).map_err(|e| Failure::read(path, e))?;
    match SiteConfig::parse(&text) {
        Ok(c) => Ok((c, full.parent().map(Path::to_path_buf).unwrap_or_default())),
        Err(d) => {
            let mut d = *d;
            d.location.file = Some(path.display().to_string());
            Err(Failure(format!(
                "site configuration is not usable:\n{}",
                d.render_human(RenderOptions::default())
            )))
        }
    }
}

/// Loads the configuration's mapping tables: the index, `id@version` of each, and
/// their warnings (a table with errors stops the run).
pub(crate) fn load_tables(
    config: &SiteConfig,
    base: &Path,
) -> Result<(Index, Vec<String>, Diagnostics), Failure> {
    let mut tables = Vec::new();
    let mut versions = Vec::new();
    let mut diags = Diagnostics::default();
    for rel in &config.tables {
        let p = base.join(rel);
        let bytes = std::fs::read(&p).map_err(|e| Failure::read(Path::new(rel), e))?;
        let (t, mut d) = terminologies::table::parse_sssom(&bytes);
        d.set_file(rel);
        if d.has_errors() {
            let text: Vec<String> = d
                .iter()
                .filter(|x| x.code.severity == Severity::Error)
                .map(|x| x.render_human(RenderOptions::default()))
                .collect();
            return Err(Failure(format!(
                "table {rel} has errors (run `kakehashi tables check`):\n{}",
                text.join("\n")
            )));
        }
        diags.extend(d);
        versions.push(format!("{}@{}", t.meta.id, t.meta.version));
        tables.push(t);
    }
    Ok((Index::new(&tables), versions, diags))
}

/// The JP-CLINS package of the `clins` set: convert, the documents and coverage
/// all read their lab scope (JLAC10 sets, LTS rule) from it.
pub(crate) fn clins_package(
    packages: &[fhir::package::Package],
) -> Result<&fhir::package::Package, Failure> {
    packages
        .iter()
        .find(|p| p.name.to_ascii_lowercase().contains("clins"))
        .ok_or_else(|| Failure("the clins package set has no JP-CLINS package".into()))
}

/// Runs `convert`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let (config, base) = read_config(ctx, &args.config)?;
    if args.server.is_some() && args.no_ledger {
        return Err(Failure(
            "--server needs a ledger (it records what the server acknowledged): drop --no-ledger"
                .into(),
        ));
    }
    let as_of_given = args.as_of.clone().or_else(|| config.policy.as_of.clone());
    let Some(as_of) = as_of_given
        .as_deref()
        .and_then(mappers::config::parse_iso_date)
        .or_else(|| {
            as_of_given
                .as_deref()
                .filter(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
    else {
        return Err(Failure(
            "no as-of date: give --as-of YYYY-MM-DD or set policy.as_of in the configuration"
                .into(),
        ));
    };
    let default_year: u16 = as_of.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let (index, table_versions, table_diags) = load_tables(&config, &base)?;
    let (package_set, packages) =
        crate::packages::load_named_set(ctx, Some((&config, &base)), "clins")?;
    let refs: Vec<&fhir::package::Package> = packages.iter().collect();
    let conformance = fhir::conformance::Conformance::load(&refs);
    let (lab_sets, lab_diags) = LabSets::from_package(clins_package(&packages)?);
    let errata = Errata::builtin().map_err(|e| Failure(format!("errata file: {e}")))?;
    let out = ctx.resolve(&args.out);
    std::fs::create_dir_all(&out).map_err(|e| Failure::create_dir(&args.out, e))?;

    // Inputs, grouped by patient (the walk is sorted, so is the grouping).
    let shown = args.storage.display().to_string();
    let storage = Storage::walk(ctx.resolve(&args.storage), &shown);
    let io_failed = !storage.errors.is_empty();
    for (path, e) in &storage.errors {
        writeln!(ctx.stderr, "kakehashi: {path}: {e}")?;
    }

    // The ledger: the first year of every unit it knows (identifiers keep it for life).
    let ledger_err = |e: LedgerError, p: &Path| {
        Failure(
            e.to_diagnostic(&p.display().to_string())
                .render_human(RenderOptions::default()),
        )
    };
    let ledger_shown = match &args.ledger {
        Some(p) => p.display().to_string(),
        None => args.out.join("ledger.sqlite").display().to_string(),
    };
    // Where ledger errors point: the file as given, or the in-memory ledger.
    let ledger_at = PathBuf::from(if args.no_ledger {
        ":memory:"
    } else {
        &ledger_shown
    });
    let mut ledger = if args.no_ledger {
        Ledger::in_memory(&config.institution_number).map_err(|e| ledger_err(e, &ledger_at))?
    } else {
        let p = args
            .ledger
            .as_ref()
            .map(|p| ctx.resolve(p))
            .unwrap_or_else(|| out.join("ledger.sqlite"));
        Ledger::open(&p, &config.institution_number).map_err(|e| ledger_err(e, &ledger_at))?
    };
    let in_ledger = |e: LedgerError| ledger_err(e, &ledger_at);
    let years = LedgerStore::known_years(&ledger).map_err(in_ledger)?;
    let branches = LedgerStore::branches(&ledger).map_err(in_ledger)?;
    let mctx = mappers::Context {
        config: &config,
        terms: &index,
        lab_sets: &lab_sets,
        as_of: &as_of,
    };
    let receipt_files: Vec<(String, PathBuf)> = args
        .receipts
        .iter()
        .map(|p| (p.display().to_string(), ctx.resolve(p)))
        .collect();
    let receipts = Receipts::read(&receipt_files, &storage, &mctx);
    let converter = Converter {
        settings: Settings {
            config: &config,
            index: &index,
            lab_sets: &lab_sets,
            conformance: &conformance,
            errata: &errata,
            oracle: &crate::validate::REGISTRY,
            as_of: &as_of,
            receipts: &receipts,
            ledger_shown: &ledger_shown,
        },
        years,
        branches,
        default_year,
    };
    let threads = if args.jobs == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        args.jobs
    };
    let opts = RenderOptions {
        show_phi: args.show_phi,
    };
    let header = ReportHeader {
        as_of: as_of.clone(),
        institution_number: config.institution_number.clone(),
        notes: config.report_notes(),
        tables: table_versions,
        lab_sets: lab_sets.versions.clone(),
        validation: converter.settings.validator().provenance(),
        receipts: receipts.section(),
    };
    let sink_err = |e: SinkError| Failure(e.to_string());
    let mut outputs = outputs::folder(&out, opts, header, &receipts).map_err(sink_err)?;
    for d in [
        &table_diags,
        &storage.extended,
        &lab_diags,
        &receipts.diagnostics,
    ] {
        outputs.diagnostics(d).map_err(sink_err)?;
    }
    // A bar on a terminal only (hidden in tests, pipes and golden output).
    let progress = crate::progress::bar(storage.patients().len() as u64, "patients");
    let timings = std::env::var_os("KAKEHASHI_TIMINGS").is_some();
    let run = Run {
        converter: &converter,
        storage: &storage,
        threads,
        window: Run::default_window(threads),
        timings,
    };
    let converted = run
        .patients(&mut outputs, &|| progress.inc(1))
        .map_err(|e| run_err(e, &in_ledger))?;
    progress.finish_and_clear();
    for l in &converted.timings {
        writeln!(ctx.stderr, "{l}")?;
    }
    if timings {
        writeln!(
            ctx.stderr,
            "timings: reorder buffer: at most {} patients (window {})",
            converted.peak_buffered, run.window
        )?;
    }
    let plan = pipeline::run::finish(
        &mut ledger,
        default_year,
        &package_set.describe(),
        converted,
        &mut outputs,
        &as_of,
    )
    .map_err(|e| run_err(e, &in_ledger))?;
    let report = outputs.6.report().cloned().unwrap_or_default();

    // Summary.
    let shown_out = args.out.display().to_string();
    for note in config.report_notes() {
        writeln!(ctx.stdout, "note: {note}")?;
    }
    writeln!(ctx.stdout, "{}", report_lines(&report).join("\n"))?;
    crate::convert_receipts::print(&report, ctx)?;
    let summary = plan.summary();
    writeln!(ctx.stdout, "plan: {summary} ({shown_out}/plan.jsonl)")?;
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in plan.items.iter().filter_map(|i| i.reason.as_deref()) {
        *reasons.entry(r).or_default() += 1;
    }
    for (r, n) in reasons {
        writeln!(ctx.stdout, "note: {n} units replaced: {r}")?;
    }
    writeln!(
        ctx.stdout,
        "outputs: {shown_out}/bundles, {shown_out}/quarantine, {shown_out}/ndjson, {shown_out}/report.json, {shown_out}/lineage.jsonl (holds PHI), {shown_out}/diagnostics.jsonl"
    )?;
    let quarantined = report["units"]["quarantined"].as_u64().unwrap_or(0);
    let converted = if io_failed {
        EXIT_USAGE
    } else if quarantined > 0 || report["diagnostics"]["error"].as_u64().unwrap_or(0) > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    };
    let Some(server) = &args.server else {
        return Ok(converted);
    };
    // The run is committed: deliver what the ledger now says, as `push` would.
    let finished = pipeline::deliver::read_output(&out).map_err(|e| Failure(e.to_string()))?;
    let pushed = crate::push::push(
        ctx,
        &mut ledger,
        &finished,
        &args.out,
        server,
        &args.delivery,
        args.show_phi,
    )?;
    Ok(converted.max(pushed))
}

/// A run's failure as the command reports it (ledger errors as diagnostics at
/// the ledger file).
fn run_err(e: PipelineError, ledger_err: &dyn Fn(LedgerError) -> Failure) -> Failure {
    match e {
        PipelineError::Ledger(e) => ledger_err(e),
        e => Failure(e.to_string()),
    }
}

/// The human summary of a report.
fn report_lines(r: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let i = &r["inputs"];
    v.push(format!(
        "inputs: {} patients, {} files ({} unreadable, {} without messages), {} messages",
        i["patients"],
        i["files"],
        i["unreadable_files"],
        i["files_without_messages"],
        i["messages"]
    ));
    if let Some(m) = r["messages"].as_object() {
        for (k, n) in m {
            v.push(format!("  messages {k}: {n}"));
        }
    }
    if let Some(rs) = r["records"].as_object() {
        for (kind, outcomes) in rs {
            if let Some(o) = outcomes.as_object() {
                let total: u64 = o.values().filter_map(Value::as_u64).sum();
                v.push(format!("  {kind}: {total} records"));
                for (k, n) in o {
                    v.push(format!("    {k}: {n}"));
                }
            }
        }
    }
    let u = &r["units"];
    v.push(format!(
        "bundles: {} valid, {} quarantined",
        u["written"], u["quarantined"]
    ));
    let d = &r["diagnostics"];
    v.push(format!(
        "diagnostics: {} errors, {} warnings, {} info",
        d["error"], d["warning"], d["info"]
    ));
    v
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::path::{Path, PathBuf};

    use crate::run_cli;

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    fn sum(v: &Value) -> u64 {
        v.as_object()
            .map(|o| o.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    /// The workers hand patients to the writer in patient order whatever their
    /// number: every output file has the same bytes with 1, 2 and 5 threads.
    #[test]
    fn outputs_do_not_depend_on_the_number_of_threads() {
        let dir = crate::scratch_dir("convert-jobs");
        let synth = [
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "9",
            "--seed",
            "7",
            "--out",
            "st",
        ];
        let (code, text) = run_cli(&synth, &dir);
        assert_eq!(code, 0, "{text}");
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/synth.kakehashi.toml");
        let config = config.to_str().unwrap();
        let mut runs = Vec::new();
        for jobs in ["1", "2", "5"] {
            let out = format!("out-{jobs}");
            let args = [
                "kakehashi",
                "convert",
                "st",
                "--config",
                config,
                "--out",
                &out,
                "--as-of",
                "2026-11-23",
                "--no-ledger",
                "--jobs",
                jobs,
            ];
            let (code, text) = run_cli(&args, &dir);
            assert!(code < 2, "{text}");
            let root = dir.join(&out);
            let mut all = Vec::new();
            files(&root, &mut all);
            all.sort();
            let contents: Vec<(PathBuf, Vec<u8>)> = all
                .into_iter()
                .map(|p| {
                    let b = std::fs::read(&p).unwrap();
                    (p.strip_prefix(&root).unwrap().to_path_buf(), b)
                })
                .collect();
            runs.push(contents);
        }
        assert!(runs[0].len() > 10, "{:?}", runs[0].len());
        assert!(
            runs[0]
                .iter()
                .any(|(p, b)| p.ends_with("ndjson/Observation.ndjson") && !b.is_empty())
        );
        assert!(runs[1] == runs[0], "2 threads differ from 1");
        assert!(runs[2] == runs[0], "5 threads differ from 1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every input is accounted for: the report's message outcomes add up to the
    /// messages read, and its Observation outcomes to the OBX segments of the
    /// current lab files, counted here from the bytes, independently of the mappers.
    #[test]
    fn the_run_report_accounts_for_every_message_and_result() {
        let dir = crate::scratch_dir("convert");
        let (code, text) = run_cli(
            &[
                "kakehashi",
                "synth",
                "ssmix2",
                "--patients",
                "12",
                "--seed",
                "4",
                "--out",
                "st",
            ],
            &dir,
        );
        assert_eq!(code, 0, "{text}");
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/synth.kakehashi.toml");
        let config = config.to_str().unwrap();
        let args = [
            "kakehashi",
            "convert",
            "st",
            "--config",
            config,
            "--out",
            "out",
            "--as-of",
            "2026-11-23",
        ];
        let (code, text) = run_cli(&args, &dir);
        assert!(code < 2, "{text}");
        let report: Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/report.json")).unwrap()).unwrap();
        assert_eq!(
            sum(&report["messages"]),
            report["inputs"]["messages"].as_u64().unwrap()
        );

        let mut all = Vec::new();
        files(&dir.join("st"), &mut all);
        let obx: u64 = all
            .iter()
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.contains("_OML-11_") && n.ends_with("_1")
            })
            .map(|p| {
                let b = std::fs::read(p).unwrap();
                b.split(|&c| c == b'\r')
                    .filter(|s| s.starts_with(b"OBX|"))
                    .count() as u64
            })
            .sum();
        assert!(obx > 0);
        assert_eq!(sum(&report["records"]["Observation"]), obx);
        // Written bundles and quarantined ones match the report.
        let written = std::fs::read_dir(dir.join("out/bundles")).unwrap().count() as u64;
        assert_eq!(written, report["units"]["written"].as_u64().unwrap());
        assert_eq!(report["units"]["quarantined"].as_u64(), Some(0));

        // A second run over the same storage plans nothing new.
        let (_, text) = run_cli(&args, &dir);
        assert!(text.contains("create 0, replace 0,"), "{text}");
        assert!(text.contains("delete 0"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
