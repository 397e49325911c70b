//! `kakehashi tables …`: check, translate with, import into, convert, suggest
//! for, review, diff and migrate tracked mapping tables (SSSOM TSV).

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::{Args as ClapArgs, Subcommand};
use diagnostics::{Diagnostic, Diagnostics, RenderOptions};
use std::path::{Path, PathBuf};
use terminologies::check::{self, Master};
use terminologies::conceptmap::{self, Imported};
use terminologies::lookup::{Index, Options, Query, Terminology};
use terminologies::table::{self, Row, Table};

/// `tables` arguments.
#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    /// Print diagnostics as JSON Lines.
    #[arg(long, global = true)]
    json: bool,
    /// Show protected health information in diagnostics.
    #[arg(long, global = true)]
    show_phi: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check tables: duplicate keys, reviewers of approved rows, target shapes,
    /// targets present in the given masters.
    Check {
        /// SSSOM TSV tables.
        #[arg(required = true)]
        tables: Vec<PathBuf>,
        /// A master to check targets against: CodeSystem JSON (`.json`), a FHIR
        /// package (`.tgz`, every CodeSystem in it) or the J-FAGY CSV (`.csv`).
        #[arg(long)]
        master: Vec<PathBuf>,
        /// A master read through an import profile: PROFILE.toml=FILE (e.g. a MEDIS master).
        #[arg(long)]
        master_profile: Vec<String>,
    },
    /// Translate one code through tables (approved rows only unless --allow-unreviewed).
    Translate {
        /// Tables to use.
        #[arg(long = "table", required = true)]
        tables: Vec<PathBuf>,
        /// Source system URI (local: urn:kakehashi:local:<site>:<v2 name>).
        #[arg(long)]
        system: String,
        /// Source code.
        code: String,
        /// Specimen key part.
        #[arg(long, default_value = "")]
        specimen: String,
        /// Unit key part.
        #[arg(long, default_value = "")]
        unit: String,
        /// Use unreviewed and suggested rows (results marked draft).
        #[arg(long)]
        allow_unreviewed: bool,
    },
    /// List what still needs a person: rows not approved (unreviewed, suggested,
    /// flagged, invalid-target), most frequent first.
    Worklist {
        /// SSSOM TSV tables.
        #[arg(required = true)]
        tables: Vec<PathBuf>,
    },
    /// Rewrite tables in kakehashi's canonical SSSOM form (stable bytes).
    Fmt {
        /// SSSOM TSV tables.
        #[arg(required = true)]
        tables: Vec<PathBuf>,
    },
    /// Export a table as a FHIR R4 ConceptMap (JSON on standard output).
    ExportConceptmap {
        /// The SSSOM TSV table.
        table: PathBuf,
    },
    /// Import FHIR ConceptMaps as tables; structural maps are reported, not imported.
    FromConceptmap {
        /// ConceptMap JSON files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write `<id>.sssom.tsv` files here (otherwise only a summary is printed).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Licence URI for maps that state none (ConceptMap `copyright`).
        #[arg(long, default_value = "")]
        license: String,
    },
    /// Add `unreviewed` rows for the codes of a vendor master export, leaving
    /// reviewed rows untouched.
    Import(crate::tables_import::ImportArgs),
    /// Suggest targets for unmapped, unreviewed keys from target masters
    /// (Japanese-aware lexical ranking); rows become `suggested`, never approved.
    Suggest(crate::tables_governance::SuggestArgs),
    /// Approve, reject or flag rows (singly or by filter), split rows between
    /// reviewers, and print a review summary by status and reviewer.
    Review(crate::tables_governance::ReviewArgs),
    /// Row-level differences between two versions of a table.
    Diff(crate::tables_governance::DiffArgs),
    /// Re-check targets against a new master: retired, missing or changed targets
    /// become `invalid-target` with the reason; named replacements are suggested.
    Migrate(crate::tables_governance::MigrateArgs),
    /// Which source codes occur in SS-MIX2 storage and receipts, how often, and
    /// how the site's tables cover them (mapped / draft / unmapped), per table.
    Coverage(crate::tables_coverage::CoverageArgs),
}

pub(crate) fn read(ctx: &Context<'_>, p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(ctx.resolve(p)).map_err(|e| Failure::read(p, e))
}

pub(crate) fn emit<'a>(
    ctx: &mut Context<'_>,
    diags: impl IntoIterator<Item = &'a Diagnostic>,
    json: bool,
    show_phi: bool,
) -> Result<(), Failure> {
    emit_to(ctx.stdout, diags, json, show_phi)
}

/// Writes diagnostics to a stream (standard error when standard output carries data).
pub(crate) fn emit_to<'a>(
    out: &mut dyn std::io::Write,
    diags: impl IntoIterator<Item = &'a Diagnostic>,
    json: bool,
    show_phi: bool,
) -> Result<(), Failure> {
    let opts = RenderOptions { show_phi };
    for d in diags {
        if json {
            writeln!(out, "{}", d.to_json(opts))?;
        } else {
            writeln!(out, "{}", d.render_human(opts))?;
        }
    }
    Ok(())
}

pub(crate) fn load_table(
    ctx: &Context<'_>,
    p: &Path,
    diags: &mut Diagnostics,
) -> Result<Table, Failure> {
    let bytes = read(ctx, p)?;
    let (t, mut d) = table::parse_sssom(&bytes);
    d.set_file(&p.display().to_string());
    diags.extend(d);
    Ok(t)
}

pub(crate) fn load_masters(
    ctx: &Context<'_>,
    paths: &[PathBuf],
    diags: &mut Diagnostics,
) -> Result<Vec<Master>, Failure> {
    let mut out = Vec::new();
    for p in paths {
        let bytes = read(ctx, p)?;
        let name = p.display().to_string();
        let mut d = Diagnostics::default();
        if name.ends_with(".tgz") {
            let pkg = fhir::package::Package::from_tgz(&bytes)
                .map_err(|e| Failure(format!("{name}: {e}")))?;
            for (path, data) in pkg.json_resources() {
                if !path.contains("CodeSystem") {
                    continue;
                }
                let (m, _) = terminologies::master::from_codesystem_json(data);
                out.extend(m);
            }
        } else if name.ends_with(".csv") {
            // The J-FAGY file names carry the release date (JFAGY_J9FN_20250401_R01.csv).
            let file = p
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default();
            let version = file
                .split(|c: char| !c.is_ascii_digit())
                .find(|run| run.len() == 8)
                .unwrap_or("");
            let (ms, d2) = terminologies::master::from_jfagy_csv(&bytes, version);
            out.extend(ms);
            d = d2;
        } else {
            let (m, d2) = terminologies::master::from_codesystem_json(&bytes);
            out.extend(m);
            d = d2;
        }
        d.set_file(&name);
        diags.extend(d);
    }
    Ok(out)
}

fn outcome(diags: &Diagnostics) -> u8 {
    if diags.has_errors() {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    }
}

/// Runs `tables`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let (json, phi) = (args.json, args.show_phi);
    match args.command {
        Cmd::Check {
            tables,
            master,
            master_profile,
        } => {
            let mut diags = Diagnostics::default();
            let mut masters = load_masters(ctx, &master, &mut diags)?;
            masters.extend(crate::tables_governance::load_profiled_masters(
                ctx,
                &master_profile,
                &mut diags,
            )?);
            emit(ctx, &diags, json, phi)?;
            for p in &tables {
                let mut d = Diagnostics::default();
                let t = load_table(ctx, p, &mut d)?;
                let mut c = check::check(&t, &masters);
                c.set_file(&p.display().to_string());
                d.extend(c);
                let errors = d
                    .iter()
                    .filter(|x| x.severity == diagnostics::Severity::Error)
                    .count();
                emit(ctx, &d, json, phi)?;
                if !json {
                    let approved = t
                        .rows
                        .iter()
                        .filter(|r| r.status == table::Status::Approved)
                        .count();
                    writeln!(
                        ctx.stdout,
                        "{}: {} rows ({} approved), {} findings, {} errors",
                        p.display(),
                        t.rows.len(),
                        approved,
                        d.len(),
                        errors
                    )?;
                }
                diags.extend(d);
            }
            Ok(outcome(&diags))
        }
        Cmd::Translate {
            tables,
            system,
            code,
            specimen,
            unit,
            allow_unreviewed,
        } => {
            let mut diags = Diagnostics::default();
            let mut ts = Vec::new();
            for p in &tables {
                ts.push(load_table(ctx, p, &mut diags)?);
            }
            let index = Index::new(&ts);
            let q = Query {
                system: &system,
                code: &code,
                specimen: &specimen,
                unit: &unit,
                text: "",
            };
            let r = index.translate(&q, Options { allow_unreviewed });
            for t in r.targets() {
                if t.draft {
                    diags.push(terminologies::lookup::draft_diagnostic(&t));
                }
                writeln!(
                    ctx.stdout,
                    "{}|{}\t{}\t{}{}\t{}",
                    t.system,
                    t.code,
                    t.display,
                    t.equivalence.as_str(),
                    if t.draft { " (draft)" } else { "" },
                    t.lineage()
                )?;
            }
            if !r.is_mapped() {
                if r.is_known_unmatched() {
                    writeln!(ctx.stdout, "reviewed: no match in the target systems")?;
                } else {
                    diags.push(terminologies::lookup::unmapped_diagnostic(&q));
                    if r.pending > 0 {
                        writeln!(
                            ctx.stdout,
                            "{} unreviewed row(s) exist; --allow-unreviewed uses them as draft",
                            r.pending
                        )?;
                    }
                }
            }
            emit(ctx, &diags, json, phi)?;
            Ok(outcome(&diags))
        }
        Cmd::Worklist { tables } => {
            let mut diags = Diagnostics::default();
            let mut items = Vec::new();
            for p in &tables {
                let t = load_table(ctx, p, &mut diags)?;
                for r in t.rows {
                    if matches!(
                        r.status,
                        table::Status::Unreviewed
                            | table::Status::Suggested
                            | table::Status::Flagged
                            | table::Status::InvalidTarget
                    ) {
                        items.push((t.meta.id.clone(), r));
                    }
                }
            }
            emit(ctx, &diags, json, phi)?;
            items.sort_by(|(ta, a), (tb, b)| {
                b.frequency
                    .unwrap_or(0)
                    .cmp(&a.frequency.unwrap_or(0))
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| a.id.cmp(&b.id))
            });
            writeln!(
                ctx.stdout,
                "table\trow\tstatus\tcode\tspecimen\tunit\ttext\tdisplay\tfrequency\tsuggested target"
            )?;
            for (t, r) in &items {
                writeln!(
                    ctx.stdout,
                    "{t}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.status.as_str(),
                    r.source.code,
                    r.source.specimen,
                    r.source.unit,
                    r.source.text,
                    r.source_display,
                    r.frequency.map(|f| f.to_string()).unwrap_or_default(),
                    r.target_code
                )?;
            }
            Ok(outcome(&diags))
        }
        Cmd::Fmt { tables } => {
            let mut diags = Diagnostics::default();
            for p in &tables {
                let mut d = Diagnostics::default();
                let t = load_table(ctx, p, &mut d)?;
                emit(ctx, &d, json, phi)?;
                if d.has_errors() {
                    diags.extend(d);
                    continue;
                }
                let out = t.to_sssom().map_err(|e| Failure::write(p, e))?;
                crate::tables_governance::write_atomic(ctx, p, &out)?;
            }
            Ok(outcome(&diags))
        }
        Cmd::ExportConceptmap { table } => {
            let mut diags = Diagnostics::default();
            let t = load_table(ctx, &table, &mut diags)?;
            if diags.has_errors() {
                emit(ctx, &diags, json, phi)?;
                return Ok(EXIT_INPUT_ERRORS);
            }
            let mut cm = conceptmap::export(&t);
            cm.sort_all_objects();
            let text =
                serde_json::to_string_pretty(&cm).map_err(|e| Failure(format!("json: {e}")))?;
            writeln!(ctx.stdout, "{text}")?;
            Ok(EXIT_OK)
        }
        Cmd::FromConceptmap {
            files,
            out_dir,
            license,
        } => {
            let mut diags = Diagnostics::default();
            let defaults = Row {
                method: "semapv:UnspecifiedMatching".into(),
                ..Row::default()
            };
            for p in &files {
                let name = p.display().to_string();
                let bytes = read(ctx, p)?;
                let mut d = Diagnostics::default();
                let v: serde_json::Value = match serde_json::from_slice(&bytes) {
                    Ok(v) => v,
                    Err(e) => {
                        d.push(
                            diagnostics::Diagnostic::new(
                                &terminologies::codes::BAD_CONCEPTMAP,
                                format!("not JSON: {e}"),
                            )
                            .at(diagnostics::Location::default().line(e.line() as u32)),
                        );
                        d.set_file(&name);
                        emit(ctx, &d, json, phi)?;
                        diags.extend(d);
                        continue;
                    }
                };
                let (r, d2) = conceptmap::import(&v, &defaults);
                d.extend(d2);
                d.set_file(&name);
                emit(ctx, &d, json, phi)?;
                diags.extend(d);
                if let Imported::Table(mut t) = r {
                    if !json {
                        writeln!(
                            ctx.stdout,
                            "{name}: code map {} with {} rows",
                            t.meta.id,
                            t.rows.len()
                        )?;
                    }
                    if t.meta.license.is_empty() {
                        t.meta.license = license.clone();
                    }
                    if let Some(dir) = &out_dir {
                        let shown = dir.join(format!("{}.sssom.tsv", t.meta.id));
                        let bytes = t.to_sssom().map_err(|e| Failure::write(&shown, e))?;
                        crate::create_out_dir(&ctx.resolve(dir), dir)?;
                        let out = ctx.resolve(&shown);
                        std::fs::write(&out, bytes).map_err(|e| Failure::write(&shown, e))?;
                    }
                } else if !json {
                    writeln!(ctx.stdout, "{name}: not imported")?;
                }
            }
            Ok(outcome(&diags))
        }
        Cmd::Import(a) => crate::tables_import::run(a, json, phi, ctx),
        Cmd::Suggest(a) => crate::tables_governance::run_suggest(a, json, phi, ctx),
        Cmd::Review(a) => crate::tables_governance::run_review(a, json, phi, ctx),
        Cmd::Diff(a) => crate::tables_governance::run_diff(a, json, phi, ctx),
        Cmd::Migrate(a) => crate::tables_governance::run_migrate(a, json, phi, ctx),
        Cmd::Coverage(a) => crate::tables_coverage::run(a, json, phi, ctx),
    }
}
