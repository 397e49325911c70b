//! `kakehashi export tables --from DIR... --out DIR [--views DIR]... [--format
//! parquet|csv]`: analysis tables from converted output (crate `views`): the
//! shipped SQL on FHIR ViewDefinitions and the user's, evaluated over the FHIR
//! resources `convert` and the document commands wrote, one table per view plus
//! `dictionary.csv`.
//!
//! What is read in each `--from` folder, in this order (the first copy of a
//! resource read wins, see `views::source`): `ndjson/*.ndjson` by file name, then
//! `bundles/*.json` by file name, then the other `*.json` files directly in the
//! folder (document bundles; `report.json` is a run report, not FHIR, and is
//! passed over). Never `lineage.jsonl` or any `.jsonl`, never `quarantine/`. A
//! `--from` that is a file is read as NDJSON (`.ndjson`) or JSON.

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::{Args, Subcommand, ValueEnum};
use diagnostics::{Diagnostic, Severity};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use views::sink::Format;

/// `kakehashi export …`.
#[derive(Subcommand)]
pub enum Command {
    /// Analysis tables (Parquet or CSV) from converted output through SQL on FHIR v2 views, with a data dictionary.
    Tables(TablesArgs),
    /// The same tables as a research release (仮名加工医療情報): identifiers deleted, every id keyed, opt-out applied, with a processing record and a risk report.
    Research(crate::export_research::ResearchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Parquet,
    Csv,
}

/// Which views run and the tables' format: the same for `export tables` and
/// `export research`.
#[derive(Args)]
pub struct ViewArgs {
    /// Folders of the site's ViewDefinitions (`*.json`), run besides the shipped ones.
    #[arg(long)]
    pub(crate) views: Vec<PathBuf>,
    /// Only the views of `--views`, not the shipped ones.
    #[arg(long)]
    pub(crate) no_shipped: bool,
    /// Table format.
    #[arg(long, value_enum, default_value = "parquet")]
    pub(crate) format: FormatArg,
}

impl ViewArgs {
    /// The tables' format.
    pub(crate) fn format(&self) -> Format {
        match self.format {
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Csv => Format::Csv,
        }
    }

    /// The views to run (shipped unless `--no-shipped`, then the site's), each with
    /// its source bytes; what cannot be read or compiled is in `diags`.
    pub(crate) fn load(
        &self,
        ctx: &Context<'_>,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Vec<(views::View, Vec<u8>)>, Failure> {
        load_view_sources(&self.views, self.no_shipped, ctx, diags)
    }
}

/// Arguments of `export tables`.
#[derive(Args)]
pub struct TablesArgs {
    /// Folders `convert` or a document command wrote (or single NDJSON / JSON files).
    #[arg(long = "from", required = true, num_args = 1..)]
    pub(crate) from: Vec<PathBuf>,
    /// Where the tables and `dictionary.csv` go (created if missing).
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) views: ViewArgs,
    /// Diagnostics as JSON Lines.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `export …`.
pub fn run(cmd: Command, ctx: &mut Context<'_>) -> CmdResult {
    match cmd {
        Command::Tables(a) => tables(a, ctx),
        Command::Research(a) => crate::export_research::run(a, ctx),
    }
}

pub(crate) fn sorted_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, Failure> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Failure::list(dir, e)),
    };
    for e in entries {
        let p = e.map_err(|e| Failure::list(dir, e))?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The input files of one `--from`, in reading order: (shown path, resolved, ndjson?).
pub(crate) fn inputs(
    ctx: &Context<'_>,
    from: &Path,
) -> Result<Vec<(PathBuf, PathBuf, bool)>, Failure> {
    let dir = ctx.resolve(from);
    if dir.is_file() {
        let nd = from.extension().is_some_and(|x| x == "ndjson");
        return Ok(vec![(from.to_path_buf(), dir, nd)]);
    }
    if !dir.is_dir() {
        return Err(Failure(format!("{}: no such folder", from.display())));
    }
    let mut out = Vec::new();
    let shown = |p: &Path| from.join(p.strip_prefix(&dir).unwrap_or(p));
    for p in sorted_files(&dir.join("ndjson"), "ndjson")? {
        out.push((shown(&p), p, true));
    }
    for p in sorted_files(&dir.join("bundles"), "json")? {
        out.push((shown(&p), p, false));
    }
    for p in sorted_files(&dir, "json")? {
        if p.file_name().is_some_and(|n| n == "report.json") {
            continue;
        }
        out.push((shown(&p), p, false));
    }
    Ok(out)
}

/// The shipped views (unless `no_shipped`) and those of `dirs`, each with the bytes it was read from.
fn load_view_sources(
    dirs: &[PathBuf],
    no_shipped: bool,
    ctx: &Context<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<(views::View, Vec<u8>)>, Failure> {
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    if !no_shipped {
        for (name, text) in views::shipped() {
            sources.push((format!("(shipped) {name}"), text.as_bytes().to_vec()));
        }
    }
    for d in dirs {
        let dir = ctx.resolve(d);
        if !dir.is_dir() {
            return Err(Failure(format!("{}: no such folder", d.display())));
        }
        for p in sorted_files(&dir, "json")? {
            let bytes = std::fs::read(&p).map_err(|e| Failure::read(&p, e))?;
            let shown = d.join(p.file_name().unwrap_or_default());
            sources.push((shown.display().to_string(), bytes));
        }
    }
    let mut out: Vec<(views::View, Vec<u8>)> = Vec::new();
    for (file, bytes) in sources {
        match views::view::read(&file, &bytes) {
            Ok(v) => {
                if out.iter().any(|(x, _)| x.name == v.name) {
                    diags.push(
                        Diagnostic::new(
                            &views::codes::DUPLICATE_VIEW,
                            format!("a view named {} was read before", v.name),
                        )
                        .at(diagnostics::Location::default().file(&file).element("name")),
                    );
                    continue;
                }
                for c in v.columns.iter().filter(|c| c.fhir_type.is_none()) {
                    diags.push(
                        Diagnostic::new(
                            &views::codes::UNTYPED_COLUMN,
                            format!("view {} column {}", v.name, c.name),
                        )
                        .at(diagnostics::Location::default().file(&file)),
                    );
                }
                out.push((v, bytes));
            }
            Err(d) => diags.extend(d),
        }
    }
    Ok(out)
}

/// One line per table: rows, resources, and those a view could not evaluate.
pub(crate) fn view_lines(
    o: &mut dyn std::io::Write,
    summary: &views::Summary,
    format: Format,
) -> std::io::Result<()> {
    for v in &summary.views {
        let not_evaluable = if v.not_evaluable > 0 {
            format!(
                ", {} resources not evaluable (no rows, X005)",
                v.not_evaluable
            )
        } else {
            String::new()
        };
        writeln!(
            o,
            "{}.{}: {} rows from {} resources{not_evaluable}",
            v.name,
            format.ext(),
            v.rows,
            v.resources
        )?;
    }
    Ok(())
}

/// A table that could not be written, named by its path.
pub(crate) fn failed(out: &Path, format: Format, e: views::TableError) -> Failure {
    let path = out.join(format!("{}.{}", e.view, format.ext()));
    Failure(format!("cannot write {}: {}", path.display(), e.error))
}

fn tables(a: TablesArgs, ctx: &mut Context<'_>) -> CmdResult {
    let format = a.views.format();
    let mut diags: Vec<Diagnostic> = Vec::new();
    let list: Vec<views::View> = a
        .views
        .load(ctx, &mut diags)?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    let mut files = Vec::new();
    for f in &a.from {
        files.extend(inputs(ctx, f)?);
    }
    let out = ctx.resolve(&a.out);
    std::fs::create_dir_all(&out).map_err(|e| Failure::create_dir(&a.out, e))?;
    let mut exporter = views::Exporter::new(list, format, |v| {
        let p = out.join(format!("{}.{}", v.name, format.ext()));
        File::create(&p).map(BufWriter::new)
    })
    .map_err(|e| failed(&a.out, format, e))?;
    let emit = |d: Vec<Diagnostic>,
                ctx: &mut Context<'_>,
                all: &mut BTreeMap<(&'static str, Severity), u64>|
     -> Result<bool, Failure> {
        for x in &d {
            *all.entry((x.code.id, x.severity)).or_default() += 1;
        }
        crate::tables::emit(ctx, &d, a.json, false)?;
        Ok(d.iter().any(|x| x.severity == Severity::Error))
    };
    let mut counts = BTreeMap::new();
    let mut errors = emit(std::mem::take(&mut diags), ctx, &mut counts)?;
    let failed = |e| failed(&a.out, format, e);
    for (shown, path, ndjson) in &files {
        let name = shown.display().to_string();
        if *ndjson {
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
                n += 1;
                let d = exporter.ndjson_line(&name, n, &line).map_err(failed)?;
                errors |= emit(d, ctx, &mut counts)?;
            }
        } else {
            let bytes = std::fs::read(path).map_err(|e| Failure::read(shown, e))?;
            let d = exporter.json_file(&name, &bytes).map_err(failed)?;
            errors |= emit(d, ctx, &mut counts)?;
        }
    }
    let names: Vec<views::View> = exporter.views().to_vec();
    let summary = exporter.finish().map_err(failed)?;
    let refs: Vec<&views::View> = names.iter().collect();
    std::fs::write(out.join("dictionary.csv"), views::sink::dictionary(&refs))
        .map_err(|e| Failure::write(&a.out.join("dictionary.csv"), e))?;
    let o = &mut *ctx.stdout;
    writeln!(
        o,
        "read {} files: {} resources used, {} copies of resources read before skipped, {} unreadable, {} of a type no view reads",
        files.len(),
        summary.resources,
        summary.duplicates,
        summary.unreadable,
        summary.no_view
    )?;
    view_lines(o, &summary, format)?;
    if !counts.is_empty() {
        let list: Vec<String> = counts
            .iter()
            .map(|((c, _), n)| format!("{c}×{n}"))
            .collect();
        writeln!(o, "diagnostics: {}", list.join(", "))?;
    }
    writeln!(
        o,
        "wrote {} tables and dictionary.csv to {}",
        summary.views.len(),
        a.out.display()
    )?;
    Ok(if errors { EXIT_INPUT_ERRORS } else { EXIT_OK })
}
