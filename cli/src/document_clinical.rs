//! `kakehashi document referral|discharge --storage DIR --request FILE.toml
//! --config kakehashi.toml --out FILE`: one clinical document for one patient.
//!
//! 1. The request is read and checked ([`mappers::document::request`]); a missing
//!    or malformed part is an `M30x` error naming the key, and nothing is built.
//! 2. The patient's storage folder (`aaa/bbb/<id>` below `--storage`) is read and
//!    mapped exactly as `convert` maps it ([`mappers::message::map`],
//!    [`mappers::assemble`]), with the issue date as the as-of date.
//! 3. The kind's builder makes the document Bundle ([`mappers::document`]); the
//!    attachments are read relative to the request file.
//! 4. The Bundle is validated in process against the `clins` package set (errata
//!    and the code-system registry, as `convert` does):
//!    - valid → `FILE`, and `FILE` with `.lineage.jsonl` for `.json` (every entry →
//!      its source files, segments and fields, and table rows; holds PHI);
//!    - invalid → `quarantine/<name>` and `quarantine/<stem>.outcome.json` next to
//!      `FILE`; nothing at `FILE`.
//!
//! Standard output: the diagnostics, one line per source record kind and fate
//! (the accounting: every record of the patient is included, withheld or left out
//! with its reason), and the result line. `--out -` prints the bundle (or the
//! quarantined bundle and its OperationOutcome) instead of writing files.
//! Exit codes as everywhere: 0, 1 (input errors or quarantine), 2 (usage, I/O).

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::Args as ClapArgs;
use diagnostics::{Diagnostic, Diagnostics, Location, RenderOptions, Severity};
use fhir::errata::Errata;
use fhir::model::{IntoResource, json};
use fhir::validate::Validator;
use mappers::assemble::{self, SourceMessage};
use mappers::config::SiteConfig;
use mappers::document::request::{DocumentRequest, Kind};
use mappers::document::{self, DocumentBundle, Sources};
use mappers::{LabSets, Sink};
use parsers::ssmix2;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use terminologies::lookup::Index;

/// Arguments of `document referral` and `document discharge`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// SS-MIX2 standardized storage root.
    #[arg(long)]
    pub storage: PathBuf,
    /// The document request (TOML; see docs/document-request.md).
    #[arg(long)]
    pub request: PathBuf,
    /// Site configuration.
    #[arg(long, default_value = "kakehashi.toml")]
    pub config: PathBuf,
    /// Output file (`-`: print the bundle to standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// Do not apply the errata file when validating.
    #[arg(long)]
    pub no_errata: bool,
    /// Show protected health information in diagnostics.
    #[arg(long)]
    pub show_phi: bool,
}

/// Reads the site configuration; returns it and the folder its tables are relative to.
pub(crate) fn read_config(
    ctx: &mut Context<'_>,
    path: &Path,
) -> Result<(SiteConfig, PathBuf), Failure> {
    let full = ctx.resolve(path);
    let text = std::fs::read_to_string(&full).map_err(|e| Failure::io(path, e))?;
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

/// Loads the configuration's mapping tables (a table with errors stops the run).
pub(crate) fn load_tables(config: &SiteConfig, base: &Path) -> Result<Index, Failure> {
    let mut tables = Vec::new();
    for rel in &config.tables {
        let p = base.join(rel);
        let bytes = std::fs::read(&p).map_err(|e| Failure::io(Path::new(rel), e))?;
        let (t, mut d) = terminologies::table::parse_sssom(&bytes);
        d.set_file(rel);
        if d.has_errors() {
            return Err(Failure(format!(
                "table {rel} has errors (run `kakehashi tables check`)"
            )));
        }
        tables.push(t);
    }
    Ok(Index::new(&tables))
}

/// One patient's storage, read and mapped as `convert` maps it.
pub(crate) struct PatientStorage {
    /// The assembled records.
    pub assembled: assemble::Assembled,
    /// Mapping and parsing diagnostics.
    pub diagnostics: Diagnostics,
    /// Files read.
    pub files: usize,
    /// ADT-22 / ADT-42 / ADT-52 events (the stays of a discharge summary).
    pub adt: Vec<mappers::admission::AdtMessage>,
}

/// Reads the folder of patient `id` below the storage root (`aaa/bbb/<id>`);
/// `None` when there is no such folder.
pub(crate) fn read_patient(
    ctx: &Context<'_>,
    storage: &Path,
    id: &str,
    mctx: &mappers::Context<'_>,
) -> Result<Option<PatientStorage>, Failure> {
    let (Some(l1), Some(l2)) = (id.get(..3), id.get(3..6)) else {
        return Ok(None);
    };
    let rel = storage.join(l1).join(l2).join(id);
    let full = ctx.resolve(&rel);
    if !full.is_dir() {
        return Ok(None);
    }
    let shown = rel.display().to_string();
    let mut d = Diagnostics::default();
    let mut messages: Vec<SourceMessage> = Vec::new();
    let mut adt: Vec<mappers::admission::AdtMessage> = Vec::new();
    let mut files = 0;
    for step in crate::walk::Walk::new(full, &shown) {
        let e = match step {
            crate::walk::Step::File(e) => e,
            crate::walk::Step::Extended(e) => {
                d.push(
                    Diagnostic::new(
                        &ssmix2::codes::EXTENDED_STORAGE,
                        "extended-storage folder recognised; not converted",
                    )
                    .at(Location::default().file(e.display)),
                );
                continue;
            }
            crate::walk::Step::Error(path, e) => {
                return Err(Failure(format!("{path}: {e}")));
            }
        };
        files += 1;
        let bytes = std::fs::read(&e.path).map_err(|x| Failure::io(&e.path, x))?;
        if parsers::uke::looks_like_uke(&bytes) {
            continue;
        }
        let mut comps: Vec<&str> = vec![l1, l2, id];
        comps.extend(e.components.iter().map(String::as_str));
        let mut f = ssmix2::read_file(&comps, &bytes);
        f.diagnostics.set_file(&e.display);
        d.extend(std::mem::take(&mut f.diagnostics));
        let Some(name) = f.name.clone() else { continue };
        for m in f.hl7.messages() {
            let input = mappers::Input {
                file: &e.display,
                folder_patient_id: id,
                message: m,
            };
            let mut sink = Sink::default();
            let mapped = mappers::message::map(mctx, &input, &name.data_type, &mut sink);
            if mappers::admission::kind_of(&name.data_type).is_some() {
                let event = mappers::admission::event(mctx, &input, &name.data_type, &mut sink);
                adt.push(mappers::admission::AdtMessage {
                    file: e.display.clone(),
                    data_type: name.data_type.clone(),
                    written_at: name.written_at.clone(),
                    condition: name.condition,
                    event,
                });
            }
            d.extend(sink.diagnostics);
            messages.push(SourceMessage {
                file: e.display.clone(),
                data_type: name.data_type.clone(),
                order_no: name.order_no.clone(),
                written_at: name.written_at.clone(),
                condition: name.condition,
                mapped,
            });
        }
    }
    Ok(Some(PatientStorage {
        assembled: assemble::assemble(id, messages),
        diagnostics: d,
        files,
        adt,
    }))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| Failure::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::io(path, e))
}

fn lineage_lines(doc: &DocumentBundle) -> String {
    let mut out = String::new();
    for l in &doc.lineage {
        let sources: Vec<Value> = l
            .lineage
            .iter()
            .map(|s| json!({"element": s.element, "file": s.file, "segment": s.segment, "field": s.field}))
            .collect();
        let mut v = json!({
            "bundle": doc.identifier,
            "fullUrl": l.full_url,
            "resourceType": l.resource,
            "origin": l.origin,
            "sources": sources,
            "tableRows": l.rows,
        });
        v.sort_all_objects();
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Runs `document <kind>`.
pub fn run(kind: Kind, args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let opts = RenderOptions {
        show_phi: args.show_phi,
    };
    let (config, base) = read_config(ctx, &args.config)?;
    let shown_req = args.request.display().to_string();
    let req_path = ctx.resolve(&args.request);
    let text = std::fs::read(&req_path).map_err(|e| Failure::io(&args.request, e))?;
    let text = match String::from_utf8(text) {
        Ok(t) => t,
        Err(_) => {
            return Err(Failure(format!("{shown_req}: the request is not UTF-8")));
        }
    };
    let (req, mut d) = DocumentRequest::parse(&text, &config);
    d.set_file(&shown_req);
    let req = match req {
        Some(r) if r.kind == kind => r,
        Some(r) => {
            d.push(
                Diagnostic::new(
                    &document::codes::KIND_MISMATCH,
                    format!(
                        "the request is for a {} but the command is `document {}`",
                        r.kind.as_str(),
                        kind.as_str()
                    ),
                )
                .at(Location::default().file(shown_req.clone()).element("kind")),
            );
            return finish_without_document(&d, opts, ctx);
        }
        None => return finish_without_document(&d, opts, ctx),
    };
    // Attachments, relative to the request file.
    let req_dir = args
        .request
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut attachment_bytes: Vec<Vec<u8>> = Vec::new();
    for a in &req.attachments {
        let p = req_dir.join(&a.path);
        let bytes = std::fs::read(ctx.resolve(&p)).map_err(|e| Failure::io(&p, e))?;
        attachment_bytes.push(bytes);
    }

    let index = load_tables(&config, &base)?;
    let packages = crate::validate::load_packages("clins")?;
    let refs: Vec<&fhir::package::Package> = packages.iter().collect();
    let conformance = fhir::conformance::Conformance::load(&refs);
    let clins_pkg = packages
        .iter()
        .find(|p| p.name.to_ascii_lowercase().contains("clins"))
        .ok_or_else(|| Failure("the clins package set has no JP-CLINS package".into()))?;
    let (lab_sets, lab_diags) = LabSets::from_package(clins_pkg);
    d.extend(lab_diags);
    let as_of: String = req
        .issue_date()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let mctx = mappers::Context {
        config: &config,
        terms: &index,
        lab_sets: &lab_sets,
        as_of: &as_of,
    };
    let storage = read_patient(ctx, &args.storage, &req.patient, &mctx)?;
    let (sources, files, adt) = match storage {
        Some(s) => {
            d.extend(s.diagnostics);
            (Sources::from_assembled(&s.assembled), s.files, s.adt)
        }
        None => (Sources::default(), 0, Vec::new()),
    };
    // The stays (discharge summaries): ADT-22/42/52 assembled in time order.
    let mut stay_lines = Vec::new();
    let stays = if kind == Kind::Discharge {
        let mut sink = Sink::default();
        let s = mappers::admission::stays(adt, &mut sink);
        d.extend(sink.diagnostics);
        for st in &s.stays {
            stay_lines.push(format!(
                "stay: admitted {}, {}, {} transfer(s)",
                st.admitted(),
                st.discharged()
                    .map_or("not discharged".to_owned(), |t| format!("discharged {t}")),
                st.transfers.len()
            ));
        }
        s.stays
    } else {
        Vec::new()
    };
    let pairs: Vec<_> = req
        .attachments
        .iter()
        .zip(attachment_bytes.iter())
        .map(|(a, b)| (a, b.as_slice()))
        .collect();
    let built = match kind {
        Kind::Referral => document::referral::build(&req, &config, &sources, &pairs),
        Kind::Discharge => document::discharge::build(&req, &config, &sources, &stays, &pairs),
    };
    let doc = match built {
        Ok(doc) => doc,
        Err(mut md) => {
            md.set_file(&shown_req);
            d.extend(md);
            return finish_without_document(&d, opts, ctx);
        }
    };
    let mut md = doc.diagnostics.clone();
    md.set_file(&shown_req);
    d.extend(md);
    for x in d.iter() {
        writeln!(ctx.stdout, "{}", x.render_human(opts))?;
    }
    // Accounting: every record of the patient with its fate.
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for t in &doc.tally {
        *tally.entry((t.resource, t.outcome.as_str())).or_default() += 1;
    }
    writeln!(ctx.stdout, "read {files} files of patient storage")?;
    for l in &stay_lines {
        writeln!(ctx.stdout, "{l}")?;
    }
    for ((r, o), n) in &tally {
        writeln!(ctx.stdout, "{r}: {n} {o}")?;
    }
    let entries = doc.bundle.entry.len();
    let identifier = doc.identifier.clone();
    let lineage = lineage_lines(&doc);
    let bytes = json::to_vec(&doc.bundle.into_resource()).map_err(|e| {
        Failure(format!(
            "the bundle is not writable as FHIR JSON: {}",
            e.render_human(opts)
        ))
    })?;
    let errata = if args.no_errata {
        None
    } else {
        Some(Errata::builtin().map_err(|e| Failure(format!("errata file: {e}")))?)
    };
    let mut validator = Validator::new(&conformance).with_code_systems(&crate::validate::REGISTRY);
    if let Some(e) = &errata {
        validator = validator.with_errata(e);
    }
    let report = validator.validate_json(&bytes, &[]);
    let errata_note = if report.errata_applied.is_empty() {
        String::new()
    } else {
        format!(", errata applied: {}", report.errata_list())
    };
    let to_stdout = args.out.as_os_str() == "-";
    let shown_out = args.out.display().to_string();
    if report.is_valid() {
        writeln!(
            ctx.stdout,
            "{} {identifier}: {entries} entries, valid ({})",
            kind.as_str(),
            if to_stdout { "stdout" } else { &shown_out },
        )?;
        if !errata_note.is_empty() {
            writeln!(ctx.stdout, "note: {}", errata_note.trim_start_matches(", "))?;
        }
        if to_stdout {
            ctx.stdout.write_all(&bytes)?;
        } else {
            let out = ctx.resolve(&args.out);
            write(&out, &bytes)?;
            let mut lin = out.clone().into_os_string();
            lin.push(".lineage.jsonl");
            write(Path::new(&lin), lineage.as_bytes())?;
        }
        return Ok(if d.has_errors() {
            EXIT_INPUT_ERRORS
        } else {
            EXIT_OK
        });
    }
    let errors = report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    for i in &report.issues {
        if i.severity == Severity::Error {
            let mut x = i.to_diagnostic();
            x.location.file = Some(format!("{shown_out} (bundle)"));
            writeln!(ctx.stdout, "{}", x.render_human(opts))?;
        }
    }
    let outcome = crate::validate::outcome_bytes(&report);
    if to_stdout {
        writeln!(
            ctx.stdout,
            "{} {identifier}: quarantined ({errors} validation errors{errata_note})",
            kind.as_str()
        )?;
        ctx.stdout.write_all(&bytes)?;
        ctx.stdout.write_all(&outcome)?;
    } else {
        let out = ctx.resolve(&args.out);
        let dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document.json".into());
        let stem = name.strip_suffix(".json").unwrap_or(&name).to_owned();
        let q = dir.join("quarantine").join(&name);
        let o = dir.join("quarantine").join(format!("{stem}.outcome.json"));
        write(&q, &bytes)?;
        write(&o, &outcome)?;
        writeln!(
            ctx.stdout,
            "{} {identifier}: quarantined -> quarantine/{name} ({errors} validation errors{errata_note})",
            kind.as_str()
        )?;
    }
    Ok(EXIT_INPUT_ERRORS)
}

/// Prints the diagnostics and the no-document line; exit 1.
fn finish_without_document(
    d: &Diagnostics,
    opts: RenderOptions,
    ctx: &mut Context<'_>,
) -> CmdResult {
    for x in d.iter() {
        writeln!(ctx.stdout, "{}", x.render_human(opts))?;
    }
    // The last error is the one that stopped the document (the storage's own
    // findings come first).
    let last = d
        .iter()
        .rev()
        .find(|x| x.severity == Severity::Error)
        .map(|x| x.code.id)
        .unwrap_or("");
    writeln!(ctx.stdout, "no document written ({last})")?;
    Ok(EXIT_INPUT_ERRORS)
}
