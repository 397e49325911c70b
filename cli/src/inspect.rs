//! `kakehashi inspect PATH... [--json] [--show-phi]`: read SS-MIX2 storage, folders
//! of message files or single files; report each file and every diagnostic.

use crate::walk::{Step, Walk};
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE};
use diagnostics::{Diagnostic, Diagnostics, Location, RenderOptions, Severity};
use parsers::ssmix2::{self, codes as scodes};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// SS-MIX2 storage roots, folders of message files, or files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object per file (JSON Lines) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Show protected health information (names, addresses, …) in diagnostics.
    #[arg(long)]
    pub show_phi: bool,
}

/// Diagnostics shown in the human summary; `--json` has them all.
const HUMAN_LIMIT: usize = 200;

/// What one inspected file contributed, for the summary.
#[derive(Default)]
pub(crate) struct Tally {
    files: usize,
    messages: usize,
    segments: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

impl Tally {
    fn add(&mut self, messages: usize, segments: usize, diags: &Diagnostics) {
        self.files += 1;
        self.messages += messages;
        self.segments += segments;
        for d in diags {
            match d.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Info => self.infos += 1,
            }
        }
    }
}

/// Runs `inspect`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let opts = RenderOptions {
        show_phi: args.show_phi,
    };
    let mut by_type: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all_diags: Vec<Diagnostic> = Vec::new();
    let mut any_error = false;
    let mut io_failed = false;
    for p in &args.paths {
        let display = p.display().to_string();
        for step in Walk::new(ctx.resolve(p), &display) {
            match step {
                Step::Error(path, e) => {
                    writeln!(ctx.stderr, "kakehashi: {path}: {e}")?;
                    io_failed = true;
                }
                Step::Extended(entry) => {
                    let mut diags = Diagnostics::default();
                    diags.push(
                        Diagnostic::new(
                            &scodes::EXTENDED_STORAGE,
                            "extended-storage folder recognised; not converted yet",
                        )
                        .at(Location::default().file(entry.display.clone())),
                    );
                    if args.json {
                        let mut obj = json!({
                            "file": entry.display,
                            "kind": "extended-storage",
                            "diagnostics": diags.iter().map(|d| d.to_json(opts)).collect::<Vec<_>>(),
                        });
                        obj.sort_all_objects();
                        writeln!(ctx.stdout, "{obj}")?;
                    }
                    by_type
                        .entry("(extended storage)".into())
                        .or_default()
                        .add(0, 0, &diags);
                    all_diags.extend(diags);
                }
                Step::File(entry) => {
                    let bytes = match std::fs::read(&entry.path) {
                        Ok(b) => b,
                        Err(e) => {
                            writeln!(ctx.stderr, "kakehashi: cannot read {}: {e}", entry.display)?;
                            io_failed = true;
                            continue;
                        }
                    };
                    // Receipt files are told apart by content, never by name.
                    if parsers::uke::looks_like_uke(&bytes) {
                        let code = crate::inspect_uke::inspect_uke(
                            &entry.display,
                            &bytes,
                            args.json,
                            args.show_phi,
                            ctx,
                        )?;
                        any_error |= code == EXIT_INPUT_ERRORS;
                        continue;
                    }
                    let comps: Vec<&str> = entry.components.iter().map(String::as_str).collect();
                    let mut f = ssmix2::read_file(&comps, &bytes);
                    f.diagnostics.set_file(&entry.display);
                    any_error |= f.diagnostics.has_errors();
                    let first = f.hl7.messages().next();
                    let message_type = first.and_then(|m| m.message_type());
                    let patient_id = f.name.as_ref().map(|n| n.patient_id.clone()).or_else(|| {
                        first
                            .and_then(|m| m.segment("PID"))
                            .map(|pid| pid.value(3, 1).into_owned())
                            .filter(|s| !s.is_empty())
                    });
                    let data_type = f.name.as_ref().map(|n| n.data_type.clone());
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for m in f.hl7.messages() {
                        for s in m.segments() {
                            *counts.entry(s.id()).or_default() += 1;
                        }
                    }
                    let segments = f.hl7.segment_count();
                    if args.json {
                        let mut obj = Map::new();
                        obj.insert("file".into(), json!(entry.display));
                        obj.insert("patient_id".into(), json!(patient_id));
                        obj.insert(
                            "care_date".into(),
                            json!(f.name.as_ref().and_then(|n| n.care_date.clone())),
                        );
                        obj.insert("data_type".into(), json!(data_type));
                        obj.insert("message_type".into(), json!(message_type));
                        obj.insert(
                            "condition_flag".into(),
                            json!(f.name.as_ref().map(|n| n.condition.as_str())),
                        );
                        obj.insert("messages".into(), json!(f.hl7.messages().len()));
                        obj.insert("segments".into(), json!(segments));
                        obj.insert("segment_counts".into(), json!(counts));
                        obj.insert(
                            "diagnostics".into(),
                            Value::Array(f.diagnostics.iter().map(|d| d.to_json(opts)).collect()),
                        );
                        let mut obj = Value::Object(obj);
                        obj.sort_all_objects();
                        writeln!(ctx.stdout, "{obj}")?;
                    }
                    let key = data_type
                        .filter(|d| ssmix2::data_type(d).is_some())
                        .or(message_type)
                        .unwrap_or_else(|| "(unknown)".into());
                    by_type.entry(key).or_default().add(
                        f.hl7.messages().len(),
                        segments,
                        &f.diagnostics,
                    );
                    all_diags.extend(f.diagnostics);
                }
            }
        }
    }
    // The SS-MIX2 summary, when any SS-MIX2 input was read (UKE files print their own).
    if !args.json && !by_type.is_empty() {
        write_summary(ctx, &args, &by_type, &all_diags, opts)?;
    }
    Ok(if io_failed {
        EXIT_USAGE
    } else if any_error {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

fn write_summary(
    ctx: &mut Context<'_>,
    args: &Args,
    by_type: &BTreeMap<String, Tally>,
    diags: &[Diagnostic],
    opts: RenderOptions,
) -> std::io::Result<()> {
    let mut total = Tally::default();
    for t in by_type.values() {
        total.files += t.files;
        total.messages += t.messages;
        total.segments += t.segments;
        total.errors += t.errors;
        total.warnings += t.warnings;
        total.infos += t.infos;
    }
    let inputs: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    writeln!(ctx.stdout, "inspected {}", inputs.join(", "))?;
    writeln!(
        ctx.stdout,
        "{:<20} {:>7} {:>9} {:>9} {:>7} {:>9} {:>6}",
        "data type", "files", "messages", "segments", "errors", "warnings", "infos"
    )?;
    for (k, t) in by_type
        .iter()
        .chain(std::iter::once((&"total".to_owned(), &total)))
    {
        writeln!(
            ctx.stdout,
            "{:<20} {:>7} {:>9} {:>9} {:>7} {:>9} {:>6}",
            k, t.files, t.messages, t.segments, t.errors, t.warnings, t.infos
        )?;
    }
    if !diags.is_empty() {
        writeln!(ctx.stdout)?;
    }
    for d in diags.iter().take(HUMAN_LIMIT) {
        writeln!(ctx.stdout, "{}", d.render_human(opts))?;
    }
    if diags.len() > HUMAN_LIMIT {
        writeln!(
            ctx.stdout,
            "… and {} more diagnostics (--json lists them all)",
            diags.len() - HUMAN_LIMIT
        )?;
    }
    Ok(())
}
