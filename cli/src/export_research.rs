//! `kakehashi export research --from DIR... --key KEYFILE --out DIR [--opt-out FILE]
//! [--views DIR]... [--format parquet|csv] [--shift-dates] [--birth-date
//! year-month|year] [--keep-free-text] [--k N] [--quasi NAME=FHIRPATH]...
//! [--generalise NAME=HOW]...`: the analysis tables of `export tables` as a
//! research release (仮名加工医療情報), through crate `research`.
//!
//! Order of work, so that nothing is written half: the key, the output folder (new
//! or empty), the views, the opt-out list and every input file are checked first
//! (pass 1 also finds the patients and takes each file's SHA-256); then the tables,
//! `dictionary.csv`, `risk-report.json` and `processing-record.json` are written
//! into a temporary folder beside `--out` (pass 2: each resource transformed before
//! any view sees it; a file whose digest changed between the passes fails the run)
//! and the folder is renamed to `--out` at the end. On any failure the temporary
//! folder is removed.

use crate::export::{failed, inputs};
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::{Args, ValueEnum};
use diagnostics::{Diagnostic, Location, Severity};
use research::dates::BirthPrecision;
use research::key::{Key, sha256_hex};
use research::risk::{Generalisation, Named};
use research::transform::{Options, Pseudonymiser, Quasi, RULES};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BirthArg {
    YearMonth,
    Year,
}

/// Arguments of `export research`.
#[derive(Args)]
pub struct ResearchArgs {
    /// Folders `convert` or a document command wrote (or single NDJSON / JSON files).
    #[arg(long = "from", required = true, num_args = 1..)]
    pub(crate) from: Vec<PathBuf>,
    /// File holding the release key: at least 32 random bytes (`head -c 32 /dev/urandom > release.key`), one key per recipient or release; never written anywhere.
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The release folder (must not exist, or be empty); written whole or not at all.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Opt-out list: `patient,<local id>` or `insurance,<insurer:symbol:number[:branch]>` per line.
    #[arg(long = "opt-out")]
    pub(crate) opt_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) views: crate::export::ViewArgs,
    /// Shift every date of a patient by a keyed per-patient offset (±1–180 days).
    #[arg(long)]
    pub(crate) shift_dates: bool,
    /// How much of the birth date is released.
    #[arg(long = "birth-date", value_enum, default_value = "year-month")]
    pub(crate) birth_date: BirthArg,
    /// Keep free text (narrative, notes, comments, descriptions, text-only concepts).
    #[arg(long)]
    pub(crate) keep_free_text: bool,
    /// The k of the risk report: equivalence classes smaller than this are reported.
    #[arg(long, default_value_t = 5)]
    pub(crate) k: usize,
    /// A further quasi-identifier for the risk report, `NAME=FHIRPATH` on the released Patient (birth, sex and prefecture are the defaults; the same name replaces one).
    #[arg(long)]
    pub(crate) quasi: Vec<String>,
    /// Coarsen a quasi-identifier in the risk report: `NAME=year|year-month|decade|suppress|none` (the release itself is not changed).
    #[arg(long)]
    pub(crate) generalise: Vec<String>,
    /// Diagnostics as JSON Lines.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The temporary release folder; removed unless [`Staging::commit`] renamed it.
struct Staging {
    dir: PathBuf,
    done: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Staging {
    fn commit(mut self, out: &Path, shown: &Path) -> Result<(), Failure> {
        if out.is_dir() {
            std::fs::remove_dir(out).map_err(|e| Failure::remove(shown, e))?;
        }
        std::fs::rename(&self.dir, out).map_err(|e| Failure::replace(shown, e))?;
        self.done = true;
        Ok(())
    }
}

/// One input file: shown path, resolved path, NDJSON?, SHA-256 and size (pass 1).
struct Input {
    shown: PathBuf,
    path: PathBuf,
    ndjson: bool,
    from: usize,
    sha256: String,
    bytes: u64,
}

fn not_fhir(file: &str, line: Option<u32>, why: String) -> Diagnostic {
    let mut l = Location::default().file(file);
    if let Some(n) = line {
        l = l.line(n);
    }
    Diagnostic::new(&research::codes::NOT_FHIR, why).at(l)
}

/// Parses one NDJSON line or JSON file as a FHIR resource.
fn parse(bytes: &[u8], file: &str, line: Option<u32>) -> Result<Value, Box<Diagnostic>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) if views::source::is_resource(&v) => Ok(v),
        Ok(_) => Err(Box::new(not_fhir(file, line, "no resourceType".into()))),
        Err(e) => Err(Box::new(not_fhir(
            file,
            line.or(u32::try_from(e.line()).ok()),
            format!("not JSON: {e}"),
        ))),
    }
}

/// Reads every resource of one input (NDJSON lines or one JSON file) into `each`,
/// returning the file's SHA-256 and size.
fn read_input(
    input: (&Path, &Path, bool),
    mut each: impl FnMut(Option<u32>, Value) -> Result<(), Failure>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(String, u64), Failure> {
    let (shown, path, ndjson) = input;
    let name = shown.display().to_string();
    let mut h = sha2::Sha256::new();
    let mut size = 0u64;
    if ndjson {
        let f = File::open(path).map_err(|e| Failure::read(shown, e))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        let mut line = Vec::new();
        let mut n: u32 = 0;
        loop {
            line.clear();
            let got = r
                .read_until(b'\n', &mut line)
                .map_err(|e| Failure::read(shown, e))?;
            if got == 0 {
                break;
            }
            h.update(&line);
            size += got as u64;
            n += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse(&line, &name, Some(n)) {
                Ok(v) => each(Some(n), v)?,
                Err(d) => diags.push(*d),
            }
        }
    } else {
        let bytes = std::fs::read(path).map_err(|e| Failure::read(shown, e))?;
        h.update(&bytes);
        size = bytes.len() as u64;
        match parse(&bytes, &name, None) {
            Ok(v) => each(None, v)?,
            Err(d) => diags.push(*d),
        }
    }
    Ok((research::key::hex(&h.finalize()), size))
}

/// Whether a folder looks like what `convert` or a document command wrote.
fn is_kakehashi_output(dir: &Path) -> bool {
    if dir.join("report.json").is_file()
        || dir.join("ndjson").is_dir()
        || dir.join("bundles").is_dir()
    {
        return true;
    }
    // a folder of document bundles (`document …`): a JSON file opening as a Bundle
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        p.extension().is_some_and(|x| x == "json")
            && std::fs::read(&p).is_ok_and(|b| {
                serde_json::from_slice::<Value>(&b)
                    .is_ok_and(|v| v.get("resourceType").and_then(Value::as_str) == Some("Bundle"))
            })
    })
}

/// Quasi-identifiers compiled, and their (name, FHIRPath).
type QuasiList = (Vec<Quasi>, Vec<(String, String)>);

fn quasi_list(a: &ResearchArgs) -> Result<QuasiList, Failure> {
    let mut named: Vec<(String, String)> = vec![
        ("birth".into(), "birthDate".into()),
        ("sex".into(), "gender".into()),
        ("prefecture".into(), "address.state.first()".into()),
    ];
    for q in &a.quasi {
        let Some((n, p)) = q.split_once('=') else {
            return Err(Failure(format!(
                "--quasi {q}: expected NAME=FHIRPATH (e.g. --quasi marital=maritalStatus.coding.code.first())"
            )));
        };
        let (n, p) = (n.trim().to_owned(), p.trim().to_owned());
        match named.iter_mut().find(|(x, _)| *x == n) {
            Some(e) => e.1 = p,
            None => named.push((n, p)),
        }
    }
    let mut out = Vec::new();
    for (n, p) in &named {
        out.push(Quasi::new(n, p).map_err(|e| Failure(e.to_string()))?);
    }
    Ok((out, named))
}

fn generalisations(
    a: &ResearchArgs,
    names: &[(String, String)],
) -> Result<Vec<Generalisation>, Failure> {
    let mut g = vec![Generalisation::None; names.len()];
    for x in &a.generalise {
        let parsed = x
            .split_once('=')
            .and_then(|(n, h)| Some((n.trim(), Generalisation::parse(h.trim())?)));
        let Some((n, how)) = parsed else {
            return Err(Failure(format!(
                "--generalise {x}: expected NAME=year|year-month|decade|suppress|none"
            )));
        };
        let Some(i) = names.iter().position(|(m, _)| m == n) else {
            return Err(Failure(format!(
                "--generalise {x}: no quasi-identifier named {n} (the defaults are birth, sex, prefecture; add others with --quasi)"
            )));
        };
        g[i] = how;
    }
    Ok(g)
}

/// Runs `export research`.
pub(crate) fn run(a: ResearchArgs, ctx: &mut Context<'_>) -> CmdResult {
    let format = a.views.format();
    let how_to_make = "a release key is a file of at least 32 random bytes, e.g. `head -c 32 /dev/urandom > release.key`";
    let key_bytes = std::fs::read(ctx.resolve(&a.key)).map_err(|e| {
        Failure(format!(
            "cannot read key file {}: {e} ({how_to_make})",
            a.key.display()
        ))
    })?;
    let key = Key::from_bytes(&key_bytes).map_err(|e| {
        Failure(format!(
            "key file {}: {e} (e.g. `head -c 32 /dev/urandom > release.key`)",
            a.key.display()
        ))
    })?;
    drop(key_bytes);
    let out = ctx.resolve(&a.out);
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(&out)
                .map_err(|e| Failure::list(&a.out, e))?
                .next()
                .is_none();
        if !empty {
            return Err(Failure(format!(
                "{} exists and is not an empty folder: a research release is written into a new folder",
                a.out.display()
            )));
        }
    }
    let (quasi, quasi_named) = quasi_list(&a)?;
    let gens = generalisations(&a, &quasi_named)?;
    let opts = Options {
        shift_dates: a.shift_dates,
        birth: match a.birth_date {
            BirthArg::YearMonth => BirthPrecision::YearMonth,
            BirthArg::Year => BirthPrecision::Year,
        },
        keep_free_text: a.keep_free_text,
    };
    let emit = |d: &[Diagnostic], ctx: &mut Context<'_>| -> Result<bool, Failure> {
        crate::tables::emit(ctx, d, a.json, false)?;
        Ok(d.iter().any(|x| x.severity == Severity::Error))
    };
    // views: a view that cannot be run stops the release (it would be a release short of a table)
    let mut diags = Vec::new();
    let view_sources = a.views.load(ctx, &mut diags)?;
    // the opt-out list
    let mut opt_out_digest = None;
    let opt_out = match &a.opt_out {
        None => None,
        Some(p) => {
            let bytes = std::fs::read(ctx.resolve(p)).map_err(|e| Failure::read(p, e))?;
            opt_out_digest = Some(sha256_hex(&bytes));
            match research::optout::OptOut::parse(&p.display().to_string(), &bytes) {
                Ok(l) => Some(l),
                Err(d) => {
                    diags.extend(d);
                    None
                }
            }
        }
    };
    // the inputs
    let mut files: Vec<Input> = Vec::new();
    for (i, f) in a.from.iter().enumerate() {
        let dir = ctx.resolve(f);
        if dir.is_dir() && !is_kakehashi_output(&dir) {
            return Err(Failure(format!(
                "{}: not kakehashi output (no report.json, ndjson/, bundles/ or document bundle); give the folders `convert` or a document command wrote",
                f.display()
            )));
        }
        let list = inputs(ctx, f)?;
        if list.is_empty() {
            return Err(Failure(format!(
                "{}: no FHIR files (ndjson/*.ndjson, bundles/*.json, *.json) to read",
                f.display()
            )));
        }
        for (shown, path, ndjson) in list {
            files.push(Input {
                shown,
                path,
                ndjson,
                from: i + 1,
                sha256: String::new(),
                bytes: 0,
            });
        }
    }
    // pass 1: every file is FHIR; the patients; digests
    let mut patients = research::patients::Patients::default();
    for f in &mut files {
        let (d, n) = read_input(
            (&f.shown, &f.path, f.ndjson),
            |_, v| {
                patients.observe(&v);
                Ok(())
            },
            &mut diags,
        )?;
        f.sha256 = d;
        f.bytes = n;
    }
    if emit(&diags, ctx)? {
        writeln!(
            ctx.stdout,
            "nothing written: the errors above must be fixed first"
        )?;
        return Ok(EXIT_INPUT_ERRORS);
    }
    // pass 2 into a temporary folder beside --out
    let parent = out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ctx.cwd.clone());
    crate::create_out_dir(&parent, &parent)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "release".into());
    let staging = Staging {
        dir: parent.join(format!(".{name}.partial-{}", std::process::id())),
        done: false,
    };
    if staging.dir.exists() {
        std::fs::remove_dir_all(&staging.dir).map_err(|e| Failure::remove(&staging.dir, e))?;
    }
    crate::create_out_dir(&staging.dir, &staging.dir)?;
    let (view_list, view_bytes): (Vec<views::View>, Vec<Vec<u8>>) =
        view_sources.into_iter().unzip();
    let tmp = staging.dir.clone();
    let mut exporter = views::Exporter::new(view_list, format, |v| {
        File::create(tmp.join(format!("{}.{}", v.name, format.ext()))).map(BufWriter::new)
    })
    .map_err(|e| failed(&a.out, format, e))?;
    let mut pseudo = Pseudonymiser::new(&key, opts, patients, opt_out.as_ref(), quasi);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut errors = false;
    for f in &files {
        let name = f.shown.display().to_string();
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        let mut fail = None;
        let (digest, _) = read_input(
            (&f.shown, &f.path, f.ndjson),
            |line, mut v| {
                if !pseudo.process(&mut v) {
                    return Ok(());
                }
                let d = match line {
                    Some(n) => exporter.ndjson_value(&name, n, &v),
                    None => exporter.json_value(&name, v),
                };
                match d {
                    Ok(d) => found.extend(d),
                    Err(e) => fail = Some(e),
                }
                Ok(())
            },
            &mut unreadable,
        )?;
        found.extend(unreadable);
        if let Some(e) = fail {
            return Err(failed(&a.out, format, e));
        }
        if digest != f.sha256 {
            return Err(Failure(format!(
                "{} changed while it was read: nothing written",
                f.shown.display()
            )));
        }
        for d in &found {
            *counts.entry(d.code.id).or_default() += 1;
        }
        errors |= emit(&found, ctx)?;
    }
    let names: Vec<views::View> = exporter.views().to_vec();
    let summary = exporter.finish().map_err(|e| failed(&a.out, format, e))?;
    let refs: Vec<&views::View> = names.iter().collect();
    let dict = views::sink::dictionary(&refs);
    std::fs::write(staging.dir.join("dictionary.csv"), &dict)
        .map_err(|e| Failure::write(&a.out.join("dictionary.csv"), e))?;
    // the risk report
    let named: Vec<Named<'_>> = quasi_named
        .iter()
        .zip(&gens)
        .map(|((n, p), g)| Named {
            name: n,
            path: p,
            generalisation: *g,
        })
        .collect();
    let released = pseudo.released();
    let (risk_json, risk) = research::risk::report(&named, &released, a.k);
    let risk_text = to_pretty(&risk_json);
    std::fs::write(staging.dir.join("risk-report.json"), &risk_text)
        .map_err(|e| Failure::write(&a.out.join("risk-report.json"), e))?;
    // the processing record
    let c = pseudo.counts().clone();
    let mut tables = Vec::new();
    for (v, t) in names.iter().zip(&summary.views) {
        let file = format!("{}.{}", v.name, format.ext());
        let bytes = std::fs::read(staging.dir.join(&file))
            .map_err(|e| Failure::read(&a.out.join(&file), e))?;
        tables.push(json!({"file": file, "rows": t.rows, "resources": t.resources, "sha256": sha256_hex(&bytes)}));
    }
    tables.push(json!({"file": "dictionary.csv", "sha256": sha256_hex(dict.as_bytes())}));
    tables.push(json!({"file": "risk-report.json", "sha256": sha256_hex(risk_text.as_bytes())}));
    let tally = pseudo.tally();
    let record = json!({
        "record": "加工の記録: processing record of a kakehashi research release (仮名加工医療情報)",
        "note": "What kakehashi did to make this release, for the person responsible for it. The rules and the risk report are an aid, not legal advice or a compliance claim; no clock time is recorded (the same input, options and key give the same bytes).",
        "tool": format!("kakehashi {}", env!("CARGO_PKG_VERSION")),
        "key_id": key.id(),
        "options": {
            "format": format.ext(),
            "shift_dates": opts.shift_dates,
            "birth_date": opts.birth.as_str(),
            "keep_free_text": opts.keep_free_text,
        },
        "rules": RULES.iter().filter(|r| r.id != "date-shift" || opts.shift_dates).map(|r| json!({
            "id": r.id,
            "action": if r.id == "free-text" && opts.keep_free_text { "kept" } else { r.action },
            "elements": r.elements,
            "count": tally.get(r.id).copied().unwrap_or(0),
        })).collect::<Vec<_>>(),
        "dates": if opts.shift_dates { "shifted by a keyed per-patient offset of ±1–180 days" } else { "kept as recorded (birth dates generalised)" },
        "opt_out": match (&opt_out, &opt_out_digest) {
            (Some(l), Some(d)) => json!({
                "sha256": d,
                "entries": l.entries,
                "patients_excluded": c.patients_opted_out,
                "entries_matching_nobody": c.opt_out_unmatched,
            }),
            _ => Value::Null,
        },
        "inputs": files.iter().map(|f| json!({
            "from": f.from,
            "kind": if f.ndjson { "ndjson" } else { "json" },
            "bytes": f.bytes,
            "sha256": f.sha256,
        })).collect::<Vec<_>>(),
        "views": names.iter().zip(&view_bytes).map(|(v, b)| {
            let version = serde_json::from_slice::<Value>(b).ok().and_then(|j| j.get("version").cloned()).unwrap_or(Value::Null);
            json!({"name": v.name, "resource": v.resource, "version": version, "sha256": sha256_hex(b)})
        }).collect::<Vec<_>>(),
        "counts": {
            "patients_in": c.patients_in,
            "patients_opted_out": c.patients_opted_out,
            "patients_released": c.patients_out,
            "resources_read": c.resources_in,
            "resources_excluded": c.resources_excluded,
            "bundles_excluded": c.bundles_excluded,
            "resources_released": c.resources_out,
            "resources_used": summary.resources,
            "copies_skipped": summary.duplicates,
            "rows": summary.views.iter().map(|v| v.rows).sum::<u64>(),
        },
        "risk": {
            "k": a.k,
            "quasi_identifiers": quasi_named.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "patients_below_k": risk.patients_below_k,
            "records_below_k": risk.records_below_k,
        },
        "outputs": tables,
    });
    std::fs::write(
        staging.dir.join("processing-record.json"),
        to_pretty(&record),
    )
    .map_err(|e| Failure::write(&a.out.join("processing-record.json"), e))?;
    staging.commit(&out, &a.out)?;
    // the summary
    let o = &mut *ctx.stdout;
    writeln!(o, "key id {}", key.id())?;
    if opt_out.is_some() {
        writeln!(
            o,
            "opt-out list: {} entries; {} patients excluded with {} resources ({} bundles); {} entries named nobody in the input",
            c.opt_out_entries,
            c.patients_opted_out,
            c.resources_excluded,
            c.bundles_excluded,
            c.opt_out_unmatched
        )?;
    }
    writeln!(
        o,
        "read {} files: {} patients, {} released; {} resources read, {} released, {} used, {} copies of resources read before skipped, {} of a type no view reads",
        files.len(),
        c.patients_in,
        c.patients_out,
        c.resources_in,
        c.resources_out,
        summary.resources,
        summary.duplicates,
        summary.no_view
    )?;
    crate::export::view_lines(o, &summary, format)?;
    let qn: Vec<String> = named
        .iter()
        .map(|q| match q.generalisation {
            Generalisation::None => q.name.to_owned(),
            g => format!("{} ({})", q.name, g.as_str()),
        })
        .collect();
    writeln!(
        o,
        "risk (an aid, not a compliance claim): k={} over {}: {} patients in {} classes; {} patients in {} classes below k, {} of {} records",
        a.k,
        qn.join(", "),
        risk.patients,
        risk.classes,
        risk.patients_below_k,
        risk.classes_below_k,
        risk.records_below_k,
        risk.records
    )?;
    if risk.patients_below_k > 0 {
        let d = Diagnostic::new(
            &research::codes::BELOW_K,
            format!(
                "{} of {} released patients are in equivalence classes smaller than {}",
                risk.patients_below_k, risk.patients, a.k
            ),
        )
        .at(Location::default().file(a.out.join("risk-report.json").display().to_string()));
        *counts.entry(d.code.id).or_default() += 1;
        emit(std::slice::from_ref(&d), ctx)?;
    }
    let o = &mut *ctx.stdout;
    if !counts.is_empty() {
        let list: Vec<String> = counts.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        writeln!(o, "diagnostics: {}", list.join(", "))?;
    }
    writeln!(
        o,
        "wrote {} tables, dictionary.csv, risk-report.json and processing-record.json to {}",
        summary.views.len(),
        a.out.display()
    )?;
    Ok(if errors { EXIT_INPUT_ERRORS } else { EXIT_OK })
}

fn to_pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
