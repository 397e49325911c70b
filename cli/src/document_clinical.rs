//! `kakehashi document referral|discharge|summary --storage DIR --request FILE.toml
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
//!    Each result removes the other's files of an earlier run (a valid document
//!    its stale quarantined copy; a quarantined one the earlier `FILE` and lineage,
//!    so an old version is never sent as if it were this one).
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
use mappers::assemble;
use mappers::document::request::{DocumentRequest, Kind};
use mappers::document::{self, DocumentBundle, Sources};
use mappers::{Findings, LabSets};
use parsers::ssmix2;
use pipeline::source::Storage;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The outcome line of messages `convert` skips as carrying none of the items.
const SKIPPED_NO_ITEM: &str = "skipped: data type carries none of the 5 items";

/// One patient's storage, read and mapped as `convert` maps it.
pub(crate) struct PatientStorage {
    /// The assembled records.
    pub assembled: assemble::Assembled,
    /// Mapping and parsing diagnostics.
    pub diagnostics: Diagnostics,
    /// Files read.
    pub files: usize,
    /// Messages by outcome (`mapped`, `skipped: …`), as `convert` counts them.
    pub messages: BTreeMap<String, usize>,
    /// ADT-22 / ADT-42 / ADT-52 events (the stays of a discharge summary).
    pub adt: Vec<mappers::admission::AdtMessage>,
    /// What mapping those events said (reported for discharge summaries only).
    pub adt_diagnostics: Diagnostics,
}

/// Reads the folder of patient `id` below the storage root (`aaa/bbb/<id>`)
/// through the patient source ([`pipeline::source`]), as `convert` reads it;
/// `None` when there is no such folder.
pub(crate) fn read_patient(
    ctx: &Context<'_>,
    storage: &Path,
    id: &str,
    mctx: &mappers::Context<'_>,
) -> Result<Option<PatientStorage>, Failure> {
    let shown = storage.display().to_string();
    let Some(st) = Storage::one_patient(ctx.resolve(storage), &shown, id) else {
        return Ok(None);
    };
    if let Some((path, e)) = st.errors.first() {
        return Err(Failure(format!("{path}: {e}")));
    }
    let mut adt: Vec<mappers::admission::AdtMessage> = Vec::new();
    let mut adt_diagnostics = Diagnostics::default();
    let mut d = st.extended.clone();
    let mut files = 0;
    let mut messages = Vec::new();
    for p in st.patients() {
        let read = pipeline::source::read_patient(
            &st,
            p,
            mctx,
            |_| true,
            |m| {
                if mappers::admission::kind_of(&m.name.data_type).is_some() {
                    let mut collected = Findings::default();
                    let event =
                        mappers::admission::event(mctx, m.input, &m.name.data_type, &mut collected);
                    adt_diagnostics.extend(collected.diagnostics);
                    adt.push(mappers::admission::AdtMessage {
                        file: m.input.file.to_owned(),
                        data_type: m.name.data_type.clone(),
                        written_at: m.name.written_at.clone(),
                        condition: m.name.condition,
                        event,
                    });
                }
            },
            &mut |_| {},
        );
        if let Some((path, e)) = read.first_unreadable {
            return Err(Failure::read(&path, e));
        }
        files += read.tally.files;
        d.extend(read.diagnostics);
        messages.extend(read.messages);
    }
    let read = pipeline::source::PatientMessages {
        messages,
        ..Default::default()
    };
    let (read, _, _) = read.assemble(id);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for o in read.outcomes {
        *outcomes.entry(o).or_default() += 1;
    }
    Ok(Some(PatientStorage {
        assembled: read.assembled,
        diagnostics: d,
        files,
        messages: outcomes,
        adt,
        adt_diagnostics,
    }))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| Failure::create_dir(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::write(path, e))
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
    let (config, base) = crate::convert::read_config(ctx, &args.config)?;
    let shown_req = args.request.display().to_string();
    let req_path = ctx.resolve(&args.request);
    let text = std::fs::read(&req_path).map_err(|e| Failure::read(&args.request, e))?;
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
            return finish_without_document(&d, first_error(&d), opts, ctx);
        }
        None => return finish_without_document(&d, first_error(&d), opts, ctx),
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
        let bytes = std::fs::read(ctx.resolve(&p)).map_err(|e| Failure::read(&p, e))?;
        attachment_bytes.push(bytes);
    }

    // Table warnings are `tables check`'s business here; a table with errors stops.
    let (index, _, _) = crate::convert::load_tables(&config, &base)?;
    let (_, packages) = crate::packages::load_named_set(ctx, Some((&config, &base)), "clins")?;
    let refs: Vec<&fhir::package::Package> = packages.iter().collect();
    let conformance = fhir::conformance::Conformance::load(&refs);
    let clins_pkg = crate::convert::clins_package(&packages)?;
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
    let (mut sources, files, mut message_outcomes, adt, adt_diagnostics) = match storage {
        Some(s) => {
            d.extend(s.diagnostics);
            (
                Sources::from_assembled(&s.assembled),
                s.files,
                s.messages,
                s.adt,
                s.adt_diagnostics,
            )
        }
        None => (
            Sources::default(),
            0,
            BTreeMap::new(),
            Vec::new(),
            Diagnostics::default(),
        ),
    };
    // The stays (discharge summaries): ADT-22/42/52 assembled in time order.
    let mut stay_lines = Vec::new();
    if kind == Kind::Discharge {
        // The current ADT-22/42/52 messages convert skips are this document's stays.
        let current = adt
            .iter()
            .filter(|m| m.condition == ssmix2::ConditionFlag::Current)
            .count();
        if let Some(n) = message_outcomes.get_mut(SKIPPED_NO_ITEM)
            && *n >= current
            && current > 0
        {
            *n -= current;
            if *n == 0 {
                message_outcomes.remove(SKIPPED_NO_ITEM);
            }
            message_outcomes.insert("read as stay events (ADT-22/42/52)".to_owned(), current);
        }
        let mut sink = Findings::default();
        sources.stays = mappers::admission::stays(adt, &mut sink).stays;
        sources.discharge_sections = mappers::document::SectionCodes::from_package(
            clins_pkg,
            mappers::document::discharge::DOC_TYPE.composition_profile,
        );
        d.extend(adt_diagnostics);
        d.extend(sink.diagnostics);
        for st in &sources.stays {
            stay_lines.push(format!(
                "stay: admitted {}, {}, {} transfer(s)",
                st.admitted(),
                st.discharged()
                    .map_or("not discharged".to_owned(), |t| format!("discharged {t}")),
                st.transfers.len()
            ));
        }
    }
    let pairs: Vec<_> = req
        .attachments
        .iter()
        .zip(attachment_bytes.iter())
        .map(|(a, b)| (a, b.as_slice()))
        .collect();
    let built = document::build(&req, &config, &sources, &pairs);
    let doc = match built {
        Ok(doc) => doc,
        Err(mut md) => {
            md.set_file(&shown_req);
            // The document's own reason comes first in the summary line, not the storage's.
            let reason = first_error(&md);
            d.extend(md);
            return finish_without_document(&d, reason, opts, ctx);
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
    for (o, n) in &message_outcomes {
        writeln!(ctx.stdout, "messages: {n} {o}")?;
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
            write(&lineage_path(&out), lineage.as_bytes())?;
            // An earlier run's quarantined copy of this document is no longer current.
            let (q, o, _) = quarantine_paths(&out);
            remove_stale(&[q, o])?;
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
        let (q, o, name) = quarantine_paths(&out);
        // When in doubt, withhold: an earlier valid version at --out must not be sent
        // as if it were this one.
        remove_stale(&[lineage_path(&out), out])?;
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

/// `FILE.lineage.jsonl` beside `FILE`.
fn lineage_path(out: &Path) -> PathBuf {
    let mut lin = out.to_path_buf().into_os_string();
    lin.push(".lineage.jsonl");
    PathBuf::from(lin)
}

/// Removes earlier outputs that this run's result replaces (absent ones are fine).
fn remove_stale(paths: &[PathBuf]) -> Result<(), Failure> {
    for p in paths {
        match std::fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::remove(p, e)),
        }
    }
    Ok(())
}

/// Where an invalid document goes: `quarantine/<name>` and
/// `quarantine/<stem>.outcome.json` next to `out`, and the name shown.
fn quarantine_paths(out: &Path) -> (PathBuf, PathBuf, String) {
    let dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document.json".into());
    let stem = name.strip_suffix(".json").unwrap_or(&name).to_owned();
    (
        dir.join("quarantine").join(&name),
        dir.join("quarantine").join(format!("{stem}.outcome.json")),
        name,
    )
}

fn first_error(d: &Diagnostics) -> &'static str {
    d.iter()
        .find(|x| x.severity == Severity::Error)
        .map(|x| x.code.id)
        .unwrap_or("")
}

/// Prints the diagnostics and the no-document line (naming `reason`); exit 1.
fn finish_without_document(
    d: &Diagnostics,
    reason: &str,
    opts: RenderOptions,
    ctx: &mut Context<'_>,
) -> CmdResult {
    for x in d.iter() {
        writeln!(ctx.stdout, "{}", x.render_human(opts))?;
    }
    writeln!(ctx.stdout, "no document written ({reason})")?;
    Ok(EXIT_INPUT_ERRORS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_sits_next_to_the_output() {
        let (q, o, name) = quarantine_paths(Path::new("/x/out/referral.json"));
        assert_eq!(q, Path::new("/x/out/quarantine/referral.json"));
        assert_eq!(o, Path::new("/x/out/quarantine/referral.outcome.json"));
        assert_eq!(name, "referral.json");
    }

    #[test]
    fn the_referral_is_written_valid_with_one_lineage_line_per_entry() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = crate::scratch_dir("referral");
        let file = out.join("r.json");
        // A quarantined copy from an earlier run: stale once this run's is valid.
        let stale = out.join("quarantine/r.json");
        write(&stale, b"{}").unwrap_or_else(|e| panic!("{}", e.0));
        let (mut so, mut se) = (Vec::new(), Vec::new());
        let mut ctx = Context {
            cwd: root.clone(),
            stdout: &mut so,
            stderr: &mut se,
            package_cache: crate::packages::test_cache(),
            warned: Default::default(),
        };
        let storage = crate::shared("data/ssmix2-nho-sample/sampleData");
        let argv = [
            "kakehashi",
            "document",
            "referral",
            "--storage",
            &storage.display().to_string(),
            "--request",
            "golden/document/referral-nho/request.toml",
            "--config",
            "kakehashi.toml",
            "--out",
            &file.display().to_string(),
        ];
        let code = crate::run(argv, &mut ctx);
        let text = String::from_utf8_lossy(&so).into_owned();
        // The sample storage's own T001 findings make the exit 1, the document is valid.
        assert_eq!(code, EXIT_INPUT_ERRORS, "{text}");
        assert!(text.contains(": 20 entries, valid"), "{text}");
        let bytes = std::fs::read(&file).unwrap_or_default();
        let conf = crate::validate::load_for_test("clins");
        let errata = Errata::builtin().unwrap_or_else(|e| panic!("{e}"));
        let v = Validator::new(&conf)
            .with_errata(&errata)
            .with_code_systems(&crate::validate::REGISTRY);
        let r = v.validate_json(&bytes, &[]);
        assert!(r.is_valid(), "{:?}", r.issues);
        let bundle: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let urls: Vec<&str> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .skip(1)
            .map(|e| e["fullUrl"].as_str().unwrap_or(""))
            .collect();
        let mut lin = file.clone().into_os_string();
        lin.push(".lineage.jsonl");
        let lines = std::fs::read_to_string(&lin).unwrap_or_default();
        let lin_urls: Vec<String> = lines
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap_or_default()["fullUrl"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert_eq!(lin_urls, urls);
        assert!(!stale.exists());
        // The same document, now invalid (紹介元 = 紹介先: one Organization where two are
        // required): quarantined, and the earlier valid file and lineage are removed.
        let argv2: Vec<String> = argv
            .iter()
            .map(|a| a.replace("referral-nho", "referral-quarantine"))
            .collect();
        let (mut so2, mut se2) = (Vec::new(), Vec::new());
        let mut ctx2 = Context {
            cwd: root.clone(),
            stdout: &mut so2,
            stderr: &mut se2,
            package_cache: crate::packages::test_cache(),
            warned: Default::default(),
        };
        assert_eq!(crate::run(argv2, &mut ctx2), EXIT_INPUT_ERRORS);
        assert!(!file.exists());
        assert!(!Path::new(&lin).exists());
        assert!(stale.exists());
        assert!(out.join("quarantine/r.outcome.json").exists());
        let _ = std::fs::remove_dir_all(&out);
    }
}
