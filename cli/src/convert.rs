//! `kakehashi convert STORAGE --config kakehashi.toml --out DIR [--as-of DATE] [--jobs N]`:
//! SS-MIX2 storage → validated JP_Bundle_CLINS submission units.
//!
//! Per patient (in parallel; output in patient order, so the bytes do not depend
//! on the thread count): read and map every message file
//! ([`mappers::message::map`]), keep the current versions and group the records
//! into units ([`mappers::assemble`]), build each unit's bundle, validate it in
//! process against the `clins` package set (with the errata file), and write it:
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

use crate::ledger::{self, Ledger, Observed};
use crate::walk::{Step, Walk};
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, Failure};
use diagnostics::{Diagnostic, Diagnostics, Location, RenderOptions, Severity};
use fhir::errata::Errata;
use fhir::model::IntoResource;
use fhir::validate::Validator;
use mappers::assemble::{self, Fate, SourceMessage, Unit};
use mappers::config::SiteConfig;
use mappers::record::{Coding, Lineage, Submission};
use mappers::unit::UnitKey;
use mappers::{LabSets, Sink, bundle, receipt};
use parsers::ssmix2;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
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
}

/// Everything a worker needs, shared read-only.
struct Shared<'a> {
    /// The storage the packed file names of the jobs are under.
    root: &'a crate::walk::Root,
    config: &'a SiteConfig,
    index: &'a Index,
    lab_sets: &'a LabSets,
    conformance: &'a fhir::conformance::Conformance,
    errata: &'a Errata,
    as_of: &'a str,
    years: &'a BTreeMap<String, u16>,
    /// Per patient, the member id whose 枝番 receipts gave in an earlier run.
    branches: &'a BTreeMap<String, String>,
    /// The ledger as the user named it (diagnostics' location).
    ledger_shown: &'a str,
    default_year: u16,
    receipts: &'a crate::convert_receipts::Receipts,
    /// The output folder: workers write the unit files themselves (each to its
    /// own name, so the order does not matter).
    out: &'a Path,
    opts: RenderOptions,
    /// Per-phase timers on (`KAKEHASHI_TIMINGS`, for the benchmark).
    timings: bool,
}

/// The phases a worker spends its time in (`KAKEHASHI_TIMINGS=1` prints them).
#[derive(Clone, Copy)]
enum Phase {
    Read,
    ParseMap,
    Assemble,
    Build,
    WriteJson,
    Validate,
    Ndjson,
    Diagnostics,
    Files,
    /// A worker waiting for the lock on the reorder buffer.
    Blocked,
    /// A worker handing finished patients to the writer, in order.
    Sink,
}

const PHASES: [&str; 11] = [
    "read",
    "parse+map",
    "assemble",
    "build",
    "fhir-json",
    "validate",
    "ndjson",
    "diagnostics",
    "files",
    "lock-wait",
    "write-in-order",
];

/// Per-phase timers of one thread; they cost nothing when off. For the
/// benchmark only: printed on stderr, never in an output.
struct Laps {
    last: Option<std::time::Instant>,
    spent: [std::time::Duration; PHASES.len()],
}

impl Laps {
    fn new(on: bool) -> Laps {
        Laps {
            last: on.then(std::time::Instant::now),
            spent: Default::default(),
        }
    }
    /// Charges the time since the previous lap to `phase`.
    fn lap(&mut self, phase: Phase) {
        if let Some(last) = &mut self.last {
            let now = std::time::Instant::now();
            self.spent[phase as usize] += now - *last;
            *last = now;
        }
    }
    fn line(&self, who: &str) -> String {
        let busy: f64 = self
            .spent
            .iter()
            .zip(PHASES)
            .filter(|(_, p)| *p != "lock-wait")
            .map(|(d, _)| d.as_secs_f64())
            .sum();
        let parts: Vec<String> = self
            .spent
            .iter()
            .zip(PHASES)
            .filter(|(d, _)| !d.is_zero())
            .map(|(d, p)| format!("{p} {:.2}", d.as_secs_f64()))
            .collect();
        format!("timings: {who}: busy {busy:.2} s ({})", parts.join(", "))
    }
}

/// One patient's files.
struct PatientJob {
    files: Vec<crate::walk::Packed>,
}

/// A unit's outcome.
struct UnitOut {
    unit_id: String,
    resource_type: &'static str,
    bytes: Vec<u8>,
    /// `None` when valid.
    outcome: Option<Vec<u8>>,
}

/// What one patient produced. The worker writes the unit files and renders the
/// diagnostics, NDJSON and lineage lines to bytes; the writer only appends them
/// in patient order and adds up the tallies.
#[derive(Default)]
struct PatientOut {
    diagnostics: Diagnostics,
    /// `diagnostics` rendered, one JSON line each, and their tallies.
    diagnostic_lines: Vec<u8>,
    by_code: BTreeMap<&'static str, usize>,
    by_severity: BTreeMap<&'static str, usize>,
    /// Units written (to bundles/ or quarantine/), by resource type.
    written: BTreeMap<&'static str, usize>,
    quarantined: BTreeMap<&'static str, usize>,
    /// The first unit file that could not be written.
    write_error: Option<Failure>,
    files: usize,
    unreadable: usize,
    empty_files: usize,
    messages: BTreeMap<String, usize>,
    records: BTreeMap<(String, String), usize>,
    empty_units: BTreeMap<String, usize>,
    /// NDJSON lines by resource type: the bytes and the number of lines.
    ndjson: BTreeMap<&'static str, (Vec<u8>, usize)>,
    /// Lineage lines.
    lineage: Vec<u8>,
    /// Units the ledger knows that this run saw (for the plan), with their member id.
    observed: Vec<Observed>,
    /// The patient's 被保険者個人識別子, when a current ADT-00 gives one.
    member_seen: Option<String>,
    /// (local id, member id) when a receipt completed the 枝番 this run (the
    /// ledger keeps it for later runs).
    learnt: Option<(String, String)>,
}

/// Appends `v` as one compact JSON line (keys as the value holds them).
fn push_line(buf: &mut Vec<u8>, v: &Value) {
    // Writing to a Vec fails only for a value serde_json cannot write (a
    // non-string map key), which a `Value` cannot hold.
    if serde_json::to_writer(&mut *buf, v).is_ok() {
        buf.push(b'\n');
    }
}

/// Renders diagnostics as sorted JSON lines and tallies them by code and severity.
fn render_diagnostics(
    d: &Diagnostics,
    opts: RenderOptions,
    buf: &mut Vec<u8>,
    by_code: &mut BTreeMap<&'static str, usize>,
    by_severity: &mut BTreeMap<&'static str, usize>,
) {
    for x in d.iter() {
        *by_code.entry(x.code.id).or_default() += 1;
        *by_severity
            .entry(match x.code.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            })
            .or_default() += 1;
        let mut v = x.to_json(opts);
        v.sort_all_objects();
        push_line(buf, &v);
    }
}

impl PatientOut {
    fn push_ndjson(&mut self, t: &'static str, v: &Value) {
        let (buf, n) = self.ndjson.entry(t).or_default();
        push_line(buf, v);
        *n += 1;
    }
    fn message(&mut self, outcome: &str) {
        *self.messages.entry(outcome.to_owned()).or_default() += 1;
    }
    fn record(&mut self, kind: &str, outcome: &str, n: usize) {
        if n > 0 {
            *self
                .records
                .entry((kind.to_owned(), outcome.to_owned()))
                .or_default() += n;
        }
    }
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

/// The patient a file belongs to: its storage folder (`aaa/bbb/<id>`), else the
/// id in its SS-MIX2 name, else the file itself.
fn patient_key(components: &[String]) -> String {
    if components.len() >= 4 {
        return components[..3].join("/");
    }
    let name = components.last().map(String::as_str).unwrap_or_default();
    match name.split('_').next() {
        Some(id) if name.split('_').count() == 7 => id.to_owned(),
        _ => name.to_owned(),
    }
}

/// Runs `convert`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let (config, base) = read_config(ctx, &args.config)?;
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
    let clins_pkg = packages
        .iter()
        .find(|p| p.name.to_ascii_lowercase().contains("clins"))
        .ok_or_else(|| Failure("the clins package set has no JP-CLINS package".into()))?;
    let (lab_sets, lab_diags) = LabSets::from_package(clins_pkg);
    let errata = Errata::builtin().map_err(|e| Failure(format!("errata file: {e}")))?;

    // Output folders: the managed ones are rewritten.
    let out = ctx.resolve(&args.out);
    for sub in ["bundles", "quarantine", "ndjson"] {
        let d = out.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(|e| Failure::remove(&d, e))?;
        }
        std::fs::create_dir_all(&d).map_err(|e| Failure::create_dir(&d, e))?;
    }

    // Inputs, grouped by patient (the walk is sorted, so is the grouping).
    let shown = args.storage.display().to_string();
    // (held packed: the list of a whole storage is the run's one input-sized structure)
    let root = crate::walk::Root::new(ctx.resolve(&args.storage), &shown);
    let mut jobs: BTreeMap<String, Vec<crate::walk::Packed>> = BTreeMap::new();
    let mut io_failed = false;
    let mut extended = Diagnostics::default();
    for step in Walk::new(ctx.resolve(&args.storage), &shown) {
        match step {
            Step::File(e) => jobs
                .entry(patient_key(&e.components))
                .or_default()
                .push(e.pack()),
            Step::Extended(e) => extended.push(
                Diagnostic::new(
                    &parsers::ssmix2::codes::EXTENDED_STORAGE,
                    "extended-storage folder recognised; not converted",
                )
                .at(Location::default().file(e.display)),
            ),
            Step::Error(path, e) => {
                writeln!(ctx.stderr, "kakehashi: {path}: {e}")?;
                io_failed = true;
            }
        }
    }
    let jobs: Vec<PatientJob> = jobs
        .into_values()
        .map(|files| PatientJob { files })
        .collect();

    // The ledger: the first year of every unit it knows (identifiers keep it for life).
    let ledger_err = |e: ledger::LedgerError, p: &Path| {
        Failure(
            e.to_diagnostic(&p.display().to_string())
                .render_human(RenderOptions::default()),
        )
    };
    let mut ledger = if args.no_ledger {
        Ledger::in_memory(&config.institution_number)
            .map_err(|e| ledger_err(e, Path::new(":memory:")))?
    } else {
        let p = args
            .ledger
            .as_ref()
            .map(|p| ctx.resolve(p))
            .unwrap_or_else(|| out.join("ledger.sqlite"));
        Ledger::open(&p, &config.institution_number).map_err(|e| ledger_err(e, &p))?
    };
    // A unit recorded under other packages is replaced even when its bytes match.
    ledger.set_packages(&package_set.describe());
    let years = ledger
        .known_years()
        .map_err(|e| ledger_err(e, Path::new("ledger")))?;
    let branches = ledger
        .branches()
        .map_err(|e| ledger_err(e, Path::new("ledger")))?;
    let mctx = mappers::Context {
        config: &config,
        terms: &index,
        lab_sets: &lab_sets,
        as_of: &as_of,
    };
    let receipts = crate::convert_receipts::prepare(
        &args.receipts,
        ctx,
        jobs.iter()
            .map(|j| j.files.iter().map(|p| root.unpack(p)).collect()),
        &mctx,
    )?;
    let ledger_shown = match &args.ledger {
        Some(p) => p.display().to_string(),
        None => args.out.join("ledger.sqlite").display().to_string(),
    };
    let shared = Shared {
        root: &root,
        branches: &branches,
        ledger_shown: &ledger_shown,
        receipts: &receipts,
        config: &config,
        index: &index,
        lab_sets: &lab_sets,
        conformance: &conformance,
        errata: &errata,
        as_of: &as_of,
        years: &years,
        default_year,
        out: &out,
        opts: RenderOptions {
            show_phi: args.show_phi,
        },
        timings: std::env::var_os("KAKEHASHI_TIMINGS").is_some(),
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

    let mut writer = Writer::new(&out, opts)?;
    writer.diagnostics(&table_diags)?;
    writer.diagnostics(&extended)?;
    writer.diagnostics(&lab_diags)?;
    writer.diagnostics(&receipts.diagnostics)?;
    // A bar on a terminal only (hidden in tests, pipes and golden output).
    let progress = crate::progress::bar(jobs.len() as u64, "patients");
    let laps = run_parallel(&jobs, threads, &shared, |p| {
        progress.inc(1);
        writer.patient(p)
    })?;
    progress.finish_and_clear();
    if shared.timings {
        for l in laps {
            writeln!(ctx.stderr, "{l}")?;
        }
    }
    let plan_input = std::mem::take(&mut writer.observed);
    let learnt = std::mem::take(&mut writer.learnt);
    let mut plan = ledger
        .plan(default_year, &plan_input)
        .map_err(|e| ledger_err(e, Path::new("ledger")))?;
    // When in doubt, withhold: a live unit of a patient this run did not see at all
    // (a run over part of the storage), or saw but withheld whole (conflicting
    // 枝番 sources, no valid insurance), is held, not deleted. Deletions stand for
    // patients the run saw (a `_0` file, a unit that became empty) and for the old
    // member id of a unit re-created under a new one.
    let recreated: std::collections::BTreeSet<String> = plan
        .iter()
        .filter(|i| i.action == ledger::Action::Create)
        .map(|i| i.unit_id.clone())
        .collect();
    let mut held = Diagnostics::default();
    for item in plan.iter_mut() {
        if item.action == ledger::Action::Delete
            && !writer.members_seen.contains(&item.member_id)
            && !recreated.contains(&item.unit_id)
        {
            item.action = ledger::Action::Held;
            held.push(Diagnostic::new(
                &crate::codes::UNSEEN_NOT_DELETED,
                format!(
                    "unit {} is live in the ledger but nothing of its patient's member id came \
                     out of this run (the patient is not in the input, or was withheld); held, \
                     not deleted: a run that sees the patient decides",
                    item.unit_id
                ),
            ));
        }
    }
    writer.diagnostics(&held)?;
    let plan_diags = Diagnostics::from(ledger::plan_diagnostics(&plan));
    writer.diagnostics(&plan_diags)?;
    std::fs::write(out.join("plan.jsonl"), ledger::write_plan(&plan))
        .map_err(|e| Failure::write(&out, e))?;
    let summary = ledger::summary(&plan);
    let provenance = Validator::new(&conformance)
        .with_errata(&errata)
        .with_code_systems(&crate::validate::REGISTRY)
        .provenance();
    let report = writer.finish(
        &config,
        &as_of,
        &table_versions,
        &lab_sets,
        &provenance,
        &summary,
        jobs.len(),
    )?;
    let report = crate::convert_receipts::report(&receipts, &out, report)?;
    // Only after every output is written does the ledger remember the run.
    ledger
        .commit(&plan, &plan_input, &learnt, &as_of)
        .map_err(|e| ledger_err(e, Path::new("ledger")))?;

    // Summary.
    let shown_out = args.out.display().to_string();
    for note in config.report_notes() {
        writeln!(ctx.stdout, "note: {note}")?;
    }
    writeln!(ctx.stdout, "{}", report_lines(&report).join("\n"))?;
    crate::convert_receipts::print(&report, ctx)?;
    writeln!(ctx.stdout, "plan: {summary} ({shown_out}/plan.jsonl)")?;
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in plan.iter().filter_map(|i| i.reason.as_deref()) {
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
    Ok(if io_failed {
        EXIT_USAGE
    } else if quarantined > 0 || report["diagnostics"]["error"].as_u64().unwrap_or(0) > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

/// Patients done but not yet handed on, and the next one the sink wants.
struct Order<S> {
    pending: BTreeMap<usize, PatientOut>,
    want: usize,
    sink: S,
    failed: Option<Failure>,
}

/// Processes patients on `threads` workers and hands each result to `sink` in
/// patient order (a reorder buffer), so output bytes do not depend on scheduling.
/// There is no writer thread: the worker that completes the patient the sink
/// waits for hands it on (and any that were waiting behind it) under a lock, so
/// no thread sleeps and wakes per patient. Returns the per-thread timing lines
/// (empty unless `shared.timings`).
fn run_parallel(
    jobs: &[PatientJob],
    threads: usize,
    shared: &Shared<'_>,
    sink: impl FnMut(PatientOut) -> Result<(), Failure> + Send,
) -> Result<Vec<String>, Failure> {
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let threads = threads.clamp(1, jobs.len().max(1));
    let order = std::sync::Mutex::new(Order {
        pending: BTreeMap::new(),
        want: 0,
        sink,
        failed: None,
    });
    let lines = std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..threads {
            let (next, stop, order) = (&next, &stop, &order);
            workers.push(scope.spawn(move || {
                let validator = Validator::new(shared.conformance)
                    .with_errata(shared.errata)
                    .with_code_systems(&crate::validate::REGISTRY);
                let mut laps = Laps::new(shared.timings);
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let out = patient(job, shared, &validator, &mut laps);
                    // A worker that panicked while holding the lock left the
                    // order half done: stop (the scope re-raises its panic).
                    let Ok(mut o) = order.lock() else { break };
                    laps.lap(Phase::Blocked);
                    let o = &mut *o;
                    o.pending.insert(i, out);
                    while let Some(out) = o.pending.remove(&o.want) {
                        o.want += 1;
                        if let Err(e) = (o.sink)(out) {
                            o.failed.get_or_insert(e);
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    laps.lap(Phase::Sink);
                }
                laps
            }));
        }
        let mut lines = Vec::new();
        for (n, w) in workers.into_iter().enumerate() {
            // A worker's panic is the scope's panic, as if it were not joined here.
            let laps = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            if laps.last.is_some() {
                lines.push(laps.line(&format!("worker {}", n + 1)));
            }
        }
        lines
    });
    let o = order
        .into_inner()
        .map_err(|_| Failure("a worker failed while writing outputs".into()))?;
    if let Some(e) = o.failed {
        return Err(e);
    }
    Ok(lines)
}

/// One patient: read, map, assemble, build, validate ([`convert_patient`]);
/// then write its unit files and render its diagnostics, here on the worker.
fn patient(
    job: &PatientJob,
    sh: &Shared<'_>,
    validator: &Validator<'_>,
    laps: &mut Laps,
) -> PatientOut {
    let mut out = PatientOut::default();
    let units = convert_patient(job, sh, validator, laps, &mut out);
    for u in units {
        let (dir, tally) = match &u.outcome {
            None => ("bundles", &mut out.written),
            Some(_) => ("quarantine", &mut out.quarantined),
        };
        *tally.entry(u.resource_type).or_default() += 1;
        if out.write_error.is_some() {
            continue;
        }
        let path = sh.out.join(dir).join(format!("{}.json", u.unit_id));
        if let Err(e) = std::fs::write(&path, &u.bytes) {
            out.write_error = Some(Failure::write(&path, e));
            continue;
        }
        if let Some(o) = &u.outcome {
            let path = sh.out.join(dir).join(format!("{}.outcome.json", u.unit_id));
            if let Err(e) = std::fs::write(&path, o) {
                out.write_error = Some(Failure::write(&path, e));
            }
        }
    }
    laps.lap(Phase::Files);
    let diagnostics = std::mem::take(&mut out.diagnostics);
    render_diagnostics(
        &diagnostics,
        sh.opts,
        &mut out.diagnostic_lines,
        &mut out.by_code,
        &mut out.by_severity,
    );
    laps.lap(Phase::Diagnostics);
    out
}

/// Reads, maps, assembles, builds and validates one patient's units; tallies
/// into `out` and returns the units to write.
fn convert_patient(
    job: &PatientJob,
    sh: &Shared<'_>,
    validator: &Validator<'_>,
    laps: &mut Laps,
    out: &mut PatientOut,
) -> Vec<UnitOut> {
    let mut units = Vec::new();
    let ctx = mappers::Context {
        config: sh.config,
        terms: sh.index,
        lab_sets: sh.lab_sets,
        as_of: sh.as_of,
    };
    let mut messages: Vec<SourceMessage> = Vec::new();
    let mut local_id = String::new();
    for packed in &job.files {
        let entry = &sh.root.unpack(packed);
        out.files += 1;
        let read = std::fs::read(&entry.path);
        laps.lap(Phase::Read);
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                out.unreadable += 1;
                out.diagnostics.push(
                    Diagnostic::new(&crate::codes::UNREADABLE, format!("cannot read: {e}"))
                        .at(Location::default().file(entry.display.clone())),
                );
                continue;
            }
        };
        if parsers::uke::looks_like_uke(&bytes) {
            out.message("skipped: a receipt file (receipts are linked, not converted)");
            continue;
        }
        let comps: Vec<&str> = entry.components.iter().map(String::as_str).collect();
        let mut f = ssmix2::read_file(&comps, &bytes);
        f.diagnostics.set_file(&entry.display);
        out.diagnostics.extend(std::mem::take(&mut f.diagnostics));
        let Some(name) = f.name.clone() else {
            for _ in f.hl7.messages() {
                out.message("skipped: not an SS-MIX2 file name (no data type, version or order)");
            }
            continue;
        };
        if local_id.is_empty() {
            local_id = if entry.components.len() >= 4 {
                entry.components[2].clone()
            } else {
                name.patient_id.clone()
            };
        }
        let folder_id = if entry.components.len() >= 4 {
            entry.components[2].as_str()
        } else {
            name.patient_id.as_str()
        };
        let mut any = false;
        for m in f.hl7.messages() {
            any = true;
            let input = mappers::Input {
                file: &entry.display,
                folder_patient_id: folder_id,
                message: m,
            };
            let mut sink = Sink::default();
            let mapped = mappers::message::map(&ctx, &input, &name.data_type, &mut sink);
            out.diagnostics.extend(sink.diagnostics);
            messages.push(SourceMessage {
                file: entry.display.clone(),
                data_type: name.data_type.clone(),
                order_no: name.order_no.clone(),
                written_at: name.written_at.clone(),
                condition: name.condition,
                mapped,
            });
        }
        if !any {
            out.empty_files += 1;
        }
        laps.lap(Phase::ParseMap);
    }
    // Fates of messages; records of history are not counted as records.
    let skipped: Vec<Option<&'static str>> = messages.iter().map(|m| m.mapped.skipped).collect();
    let mut assembled = assemble::assemble(&local_id, messages);
    // Receipts may complete the 枝番; the ledger remembers one they gave in an
    // earlier run (mappers::receipt: same patient, same insurance only).
    let storage_member = assembled
        .patient
        .as_ref()
        .and_then(|p| p.member_id.as_ref())
        .map(|m| m.value.clone());
    crate::convert_receipts::apply(sh.receipts, &mut assembled.patient, &mut out.diagnostics);
    if let Some(p) = assembled.patient.as_mut() {
        if let Some(m) = receipt::learnt_branch(storage_member.as_deref(), p) {
            out.learnt = Some((p.local_id.clone(), m));
        } else if let Some(old) = sh.branches.get(&p.local_id)
            && let Some(d) = receipt::remember_branch(p, old)
        {
            out.diagnostics.push(
                d.at(Location::default()
                    .file(sh.ledger_shown)
                    .element("Patient.identifier")),
            );
        }
    }
    for (fate, skip) in assembled.fates.iter().zip(skipped) {
        match (fate, skip) {
            (Fate::Current, Some(reason)) => out.message(&format!("skipped: {reason}")),
            (Fate::Current, None) => out.message("mapped"),
            (f, _) => out.message(&format!("skipped: {}", f.as_str())),
        }
    }
    laps.lap(Phase::Assemble);
    let Some(p) = assembled.patient.as_ref() else {
        for u in &assembled.units {
            count_all(out, u, "skipped: no current ADT-00 (patient) for the unit");
        }
        count_medications(out, &assembled, "skipped: no current ADT-00 (patient)");
        return units;
    };
    if let Some(Submission::Withheld(reason)) = &p.submission {
        out.record("Patient", &format!("withheld: {reason}"), 1);
        let why = format!("skipped: patient not submitted ({reason})");
        for u in &assembled.units {
            count_all(out, u, &why);
        }
        count_medications(out, &assembled, &why);
        return units;
    }
    let member_id = p
        .member_id
        .as_ref()
        .map(|m| m.value.clone())
        .unwrap_or_default();
    out.member_seen = Some(member_id.clone());
    let tz = &sh.config.timezone;
    // The patient's NDJSON resource: one per patient, id from the institution and local id.
    let scope = format!("{}^{}", sh.config.institution_number, local_id);
    let patient_url = bundle::patient_url(&scope);
    let patient_ref = format!("Patient/{}", uuid_of(&patient_url));
    let mut patient_written = false;
    for u in &assembled.units {
        let unit_id = u.key.id();
        let year = sh.years.get(&unit_id).copied().unwrap_or(sh.default_year);
        let ident = u.key.bundle_identifier(&sh.config.institution_number, year);
        let Some(ts) = assemble::instant(&u.written_at, tz) else {
            count_all(out, u, "skipped: no 発生日時 to time the unit");
            continue;
        };
        let (b, submitted) = build_unit(sh, u, year, &ts, p, out, &ident);
        laps.lap(Phase::Build);
        let kind = u.key.resource_type();
        if submitted == 0 {
            *out.empty_units
                .entry(format!("{kind}: nothing to submit"))
                .or_default() += 1;
            continue;
        }
        // The value is built straight from the model and validated; the file's
        // bytes are written from that same value (no JSON text parsed back).
        let value = match fhir::model::json::to_value(b.into_resource()) {
            Ok(v) => v,
            Err(d) => {
                out.diagnostics
                    .push((*d).at(Location::default().file(unit_id.clone())));
                out.record(kind, "quarantined", submitted);
                continue;
            }
        };
        let bytes = fhir::model::json::value_bytes(&value);
        laps.lap(Phase::WriteJson);
        let report = validator.validate(&value, &[]);
        laps.lap(Phase::Validate);
        let valid = report.is_valid();
        out.record(
            kind,
            if valid { "submitted" } else { "quarantined" },
            submitted,
        );
        out.observed.push(Observed {
            unit_id: unit_id.clone(),
            resource_type: kind.to_owned(),
            member_id: member_id.clone(),
            // A quarantined unit is held: nothing is sent, the ledger keeps its last state.
            hash: valid.then(|| fhir::model::id::sha1_hex(&bytes)),
        });
        laps.lap(Phase::WriteJson);
        if valid {
            if !patient_written {
                patient_written = true;
                let r = bundle::patient(p, sh.config, &ts).into_resource();
                if let Ok(mut v) = fhir::model::json::to_value(r) {
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("id".into(), Value::String(uuid_of(&patient_url).to_owned()));
                    }
                    v.sort_all_objects();
                    out.push_ndjson("Patient", &v);
                }
            }
            ndjson(out, value, None, &patient_ref);
            laps.lap(Phase::Ndjson);
        }
        let outcome = (!valid).then(|| crate::validate::outcome_bytes(&report));
        units.push(UnitOut {
            unit_id,
            resource_type: kind,
            bytes,
            outcome,
        });
    }
    out.record(
        "Patient",
        if patient_written {
            "submitted (first entry of its bundles)"
        } else {
            "not submitted: no valid unit to carry it"
        },
        1,
    );
    // Prescriptions: NDJSON only (CLINS takes no prescription bundle), each
    // validated alone against JP_MedicationRequest_eCS first; an invalid one is
    // quarantined with its OperationOutcome like a bundle.
    for (_, m) in &assembled.medications {
        // lastUpdated: the order time as the source gives it (a submitted line has one).
        let last_updated = m.authored_on.clone().unwrap_or_default();
        let Some(r) = mappers::medication::resource(m, sh.config, &patient_url, &last_updated)
        else {
            let why = match &m.submission {
                Some(Submission::Withheld(r)) => format!("withheld: {r}"),
                _ => "withheld".into(),
            };
            out.record("MedicationRequest", &why, 1);
            continue;
        };
        let Ok(value) = fhir::model::json::to_value(r.into_resource()) else {
            out.record("MedicationRequest", "skipped: not writable as FHIR JSON", 1);
            continue;
        };
        let url = mappers::medication::full_url(&scope, m);
        laps.lap(Phase::WriteJson);
        let report = validator.validate(&value, &[]);
        laps.lap(Phase::Validate);
        if report.is_valid() {
            ndjson(out, value, Some(&url), &patient_ref);
            push_line(
                &mut out.lineage,
                &lineage_line(&scope, &url, "MedicationRequest", &m.lineage, &[]),
            );
            laps.lap(Phase::Ndjson);
            out.record("MedicationRequest", "exported (NDJSON)", 1);
        } else {
            out.record("MedicationRequest", "quarantined", 1);
            let bytes = fhir::model::json::value_bytes(&value);
            let o = crate::validate::outcome_bytes(&report);
            units.push(UnitOut {
                unit_id: format!("M-{}", uuid_of(&url)),
                resource_type: "MedicationRequest",
                bytes,
                outcome: Some(o),
            });
        }
    }
    units
}

fn count_all(out: &mut PatientOut, u: &Unit, why: &str) {
    out.record("Condition", why, u.conditions.len());
    out.record("AllergyIntolerance", why, u.allergies.len());
    out.record("Observation", why, u.observations.len());
}

fn count_medications(out: &mut PatientOut, a: &assemble::Assembled, why: &str) {
    out.record("MedicationRequest", why, a.medications.len());
}

fn withheld(out: &mut PatientOut, kind: &str, s: &Option<Submission>) -> bool {
    match s {
        Some(Submission::Submit) => false,
        Some(Submission::Withheld(r)) => {
            out.record(kind, &format!("withheld: {r}"), 1);
            true
        }
        None => {
            out.record(kind, "withheld: not decided by the mapper", 1);
            true
        }
    }
}

/// Builds a unit's bundle; counts withheld records; returns the number submitted.
fn build_unit(
    sh: &Shared<'_>,
    u: &Unit,
    year: u16,
    ts: &str,
    p: &mappers::record::PatientRecord,
    out: &mut PatientOut,
    ident: &str,
) -> (fhir::model::Bundle, usize) {
    let cfg = sh.config;
    let mut submitted = 0;
    match &u.key {
        UnitKey::Conditions { .. } => {
            for c in &u.conditions {
                if withheld(out, "Condition", &c.submission) {
                    continue;
                }
                if !mappers::condition::in_reporting_window(c, sh.as_of) {
                    out.record(
                        "Condition",
                        "withheld: ended more than 5 years before the as-of date",
                        1,
                    );
                    continue;
                }
                submitted += 1;
                let rows = rows(
                    c.code
                        .coding
                        .iter()
                        .chain(c.department.iter())
                        .chain(c.encounter_class.iter())
                        .chain(c.outcome.iter())
                        .chain(c.prefix_modifiers.iter().flat_map(|m| m.coding.iter()))
                        .chain(c.postfix_modifiers.iter().flat_map(|m| m.coding.iter())),
                );
                push_line(
                    &mut out.lineage,
                    &lineage_line(
                        ident,
                        &bundle::condition_url(ident, c),
                        "Condition",
                        &c.lineage,
                        &rows,
                    ),
                );
            }
            (
                bundle::conditions(cfg, &u.key, year, ts, sh.as_of, p, &u.conditions),
                submitted,
            )
        }
        UnitKey::Allergies { .. } => {
            for (i, a) in u.allergies.iter().enumerate() {
                if withheld(out, "AllergyIntolerance", &a.submission) {
                    continue;
                }
                submitted += 1;
                let rows = rows(
                    a.code
                        .coding
                        .iter()
                        .chain(a.category.iter())
                        .chain(a.severity.iter()),
                );
                push_line(
                    &mut out.lineage,
                    &lineage_line(
                        ident,
                        &bundle::allergy_url(ident, i, a),
                        "AllergyIntolerance",
                        &a.lineage,
                        &rows,
                    ),
                );
            }
            (
                bundle::allergies(cfg, &u.key, year, ts, p, &u.allergies),
                submitted,
            )
        }
        UnitKey::LabReport { .. } => {
            for (i, o) in u.observations.iter().enumerate() {
                if withheld(out, "Observation", &o.submission) {
                    continue;
                }
                submitted += 1;
                let value_rows: Vec<&Coding> = match &o.value {
                    Some(mappers::record::Value::Concept(c)) => c.coding.iter().collect(),
                    _ => Vec::new(),
                };
                let rows = rows(
                    o.code
                        .coding
                        .iter()
                        .chain(o.interpretation.iter())
                        .chain(o.specimen.iter())
                        .chain(o.department.iter())
                        .chain(o.encounter_class.iter())
                        .chain(value_rows),
                );
                push_line(
                    &mut out.lineage,
                    &lineage_line(
                        ident,
                        &bundle::observation_url(ident, i, o),
                        "Observation",
                        &o.lineage,
                        &rows,
                    ),
                );
            }
            (
                bundle::lab_report(cfg, &u.key, year, ts, p, &u.observations),
                submitted,
            )
        }
    }
}

fn rows<'a>(codings: impl Iterator<Item = &'a Coding>) -> Vec<String> {
    let mut v: Vec<String> = codings.filter_map(|c| c.table_row.clone()).collect();
    v.sort();
    v.dedup();
    v
}

fn lineage_line(
    bundle_ident: &str,
    full_url: &str,
    kind: &str,
    lineage: &[Lineage],
    rows: &[String],
) -> Value {
    let sources: Vec<Value> = lineage
        .iter()
        .map(|l| json!({"element": l.element, "file": l.file, "segment": l.segment, "field": l.field}))
        .collect();
    let mut v = json!({
        "bundle": bundle_ident,
        "fullUrl": full_url,
        "resourceType": kind,
        "sources": sources,
        "tableRows": rows,
    });
    v.sort_all_objects();
    v
}

/// The NDJSON id of a resource: the UUID of its fullUrl.
fn uuid_of(full_url: &str) -> &str {
    full_url.strip_prefix("urn:uuid:").unwrap_or(full_url)
}

/// Adds the resources of a bundle (or a lone resource with its fullUrl) to the
/// NDJSON outputs as Bulk Data wants them: each with an `id` (its fullUrl's
/// UUID) and references to the patient rewritten to `Patient/<id>`. Patients are
/// written once per patient (by [`patient`]), not once per bundle.
fn ndjson(out: &mut PatientOut, mut v: Value, full_url: Option<&str>, patient_ref: &str) {
    let mut resources: Vec<(String, Value)> = Vec::new();
    let mut patient_urls: Vec<String> = Vec::new();
    if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
        let entries = v.get_mut("entry").map(Value::take);
        for mut e in entries
            .and_then(|e| match e {
                Value::Array(a) => Some(a),
                _ => None,
            })
            .into_iter()
            .flatten()
        {
            let url = e
                .get("fullUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(r) = e.get_mut("resource").map(Value::take) {
                if r.get("resourceType").and_then(Value::as_str) == Some("Patient") {
                    patient_urls.push(url);
                } else {
                    resources.push((url, r));
                }
            }
        }
    } else if let Some(url) = full_url {
        resources.push((url.to_owned(), v));
    }
    for (url, mut r) in resources {
        let t = match r.get("resourceType").and_then(Value::as_str) {
            Some("Condition") => "Condition",
            Some("AllergyIntolerance") => "AllergyIntolerance",
            Some("Observation") => "Observation",
            Some("MedicationRequest") => "MedicationRequest",
            _ => continue,
        };
        for field in ["subject", "patient"] {
            if let Some(reference) = r.get_mut(field).and_then(|s| s.get_mut("reference"))
                && reference
                    .as_str()
                    .is_some_and(|s| patient_urls.iter().any(|p| p == s) || full_url.is_some())
            {
                *reference = Value::String(patient_ref.to_owned());
            }
        }
        if let Some(obj) = r.as_object_mut() {
            obj.insert("id".into(), Value::String(uuid_of(&url).to_owned()));
        }
        r.sort_all_objects();
        out.push_ndjson(t, &r);
    }
}

/// Writes outputs as patients complete, in patient order, and tallies the report.
struct Writer {
    out: PathBuf,
    opts: RenderOptions,
    diagnostics: std::io::BufWriter<std::fs::File>,
    lineage: std::io::BufWriter<std::fs::File>,
    ndjson: BTreeMap<&'static str, std::io::BufWriter<std::fs::File>>,
    by_code: BTreeMap<&'static str, usize>,
    by_severity: BTreeMap<&'static str, usize>,
    files: usize,
    unreadable: usize,
    empty_files: usize,
    messages: BTreeMap<String, usize>,
    records: BTreeMap<(String, String), usize>,
    units_written: BTreeMap<String, usize>,
    units_quarantined: BTreeMap<String, usize>,
    empty_units: BTreeMap<String, usize>,
    observed: Vec<Observed>,
    members_seen: std::collections::BTreeSet<String>,
    learnt: Vec<(String, String)>,
    /// Patients whose units were all submitted-or-empty, for the report.
    ndjson_lines: BTreeMap<&'static str, usize>,
}

fn create(p: &Path) -> Result<std::io::BufWriter<std::fs::File>, Failure> {
    std::fs::File::create(p)
        .map(std::io::BufWriter::new)
        .map_err(|e| Failure::write(p, e))
}

impl Writer {
    fn new(out: &Path, opts: RenderOptions) -> Result<Writer, Failure> {
        Ok(Writer {
            out: out.to_path_buf(),
            opts,
            diagnostics: create(&out.join("diagnostics.jsonl"))?,
            lineage: create(&out.join("lineage.jsonl"))?,
            ndjson: BTreeMap::new(),
            by_code: BTreeMap::new(),
            by_severity: BTreeMap::new(),
            files: 0,
            unreadable: 0,
            empty_files: 0,
            messages: BTreeMap::new(),
            records: BTreeMap::new(),
            units_written: BTreeMap::new(),
            units_quarantined: BTreeMap::new(),
            empty_units: BTreeMap::new(),
            observed: Vec::new(),
            members_seen: std::collections::BTreeSet::new(),
            learnt: Vec::new(),
            ndjson_lines: BTreeMap::new(),
        })
    }

    fn diagnostics(&mut self, d: &Diagnostics) -> Result<(), Failure> {
        use std::io::Write;
        let mut buf = Vec::new();
        render_diagnostics(
            d,
            self.opts,
            &mut buf,
            &mut self.by_code,
            &mut self.by_severity,
        );
        self.diagnostics.write_all(&buf)?;
        Ok(())
    }

    fn patient(&mut self, p: PatientOut) -> Result<(), Failure> {
        use std::io::Write;
        if let Some(e) = p.write_error {
            return Err(e);
        }
        self.diagnostics.write_all(&p.diagnostic_lines)?;
        for (k, n) in p.by_code {
            *self.by_code.entry(k).or_default() += n;
        }
        for (k, n) in p.by_severity {
            *self.by_severity.entry(k).or_default() += n;
        }
        self.files += p.files;
        self.unreadable += p.unreadable;
        self.empty_files += p.empty_files;
        for (k, n) in p.messages {
            *self.messages.entry(k).or_default() += n;
        }
        for (k, n) in p.records {
            *self.records.entry(k).or_default() += n;
        }
        for (k, n) in p.empty_units {
            *self.empty_units.entry(k).or_default() += n;
        }
        for (k, n) in p.written {
            *self.units_written.entry(k.to_owned()).or_default() += n;
        }
        for (k, n) in p.quarantined {
            *self.units_quarantined.entry(k.to_owned()).or_default() += n;
        }
        for (t, (bytes, lines)) in p.ndjson {
            if !self.ndjson.contains_key(t) {
                let w = create(&self.out.join("ndjson").join(format!("{t}.ndjson")))?;
                self.ndjson.insert(t, w);
            }
            if let Some(w) = self.ndjson.get_mut(t) {
                w.write_all(&bytes)?;
            }
            *self.ndjson_lines.entry(t).or_default() += lines;
        }
        self.lineage.write_all(&p.lineage)?;
        self.observed.extend(p.observed);
        self.members_seen.extend(p.member_seen);
        self.learnt.extend(p.learnt);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        config: &SiteConfig,
        as_of: &str,
        tables: &[String],
        lab_sets: &LabSets,
        provenance: &str,
        plan: &str,
        patients: usize,
    ) -> Result<Value, Failure> {
        use std::io::Write;
        self.diagnostics.flush()?;
        self.lineage.flush()?;
        for w in self.ndjson.values_mut() {
            w.flush()?;
        }
        let mut records: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for ((kind, outcome), n) in &self.records {
            records
                .entry(kind.clone())
                .or_default()
                .insert(outcome.clone(), *n);
        }
        let total_messages: usize = self.messages.values().sum();
        let mut report = json!({
            "as_of": as_of,
            "institution_number": config.institution_number,
            "notes": config.report_notes(),
            "tables": tables,
            "lab_sets": lab_sets.versions,
            "validation": provenance,
            "inputs": {"patients": patients, "files": self.files, "unreadable_files": self.unreadable, "files_without_messages": self.empty_files, "messages": total_messages},
            "messages": self.messages,
            "records": records,
            "units": {
                "written": self.units_written.values().sum::<usize>(),
                "written_by_type": self.units_written,
                "quarantined": self.units_quarantined.values().sum::<usize>(),
                "quarantined_by_type": self.units_quarantined,
                "empty": self.empty_units,
            },
            "ndjson": self.ndjson_lines,
            "plan": plan,
            "diagnostics": {
                "error": self.by_severity.get("error").copied().unwrap_or(0),
                "warning": self.by_severity.get("warning").copied().unwrap_or(0),
                "info": self.by_severity.get("info").copied().unwrap_or(0),
                "by_code": self.by_code,
            },
        });
        report.sort_all_objects();
        let mut bytes = serde_json::to_vec_pretty(&report).map_err(|e| Failure(e.to_string()))?;
        bytes.push(b'\n');
        let p = self.out.join("report.json");
        std::fs::write(&p, bytes).map_err(|e| Failure::write(&p, e))?;
        Ok(report)
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
