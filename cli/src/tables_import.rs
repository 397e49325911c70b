//! `kakehashi tables import --profile P.toml --table T.tsv EXPORT`.

use crate::tables::{emit, load_table, read};
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::Args;
use diagnostics::{Diagnostics, Severity};
use std::path::PathBuf;
use terminologies::import;

/// `tables import` arguments.
#[derive(Args)]
pub struct ImportArgs {
    /// The import profile (TOML).
    #[arg(long)]
    profile: PathBuf,
    /// The table to add rows to (SSSOM TSV; rewritten in place unless --stdout).
    #[arg(long)]
    table: PathBuf,
    /// The vendor master export.
    export: PathBuf,
    /// Author date of new rows (YYYY-MM-DD); never taken from the clock.
    #[arg(long, default_value = "")]
    date: String,
    /// Print the resulting table instead of rewriting it.
    #[arg(long)]
    stdout: bool,
}

/// Runs `tables import`.
pub fn run(a: ImportArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    let mut diags = Diagnostics::default();
    let ptext = read(ctx, &a.profile)?;
    let ptext = String::from_utf8(ptext)
        .map_err(|_| Failure(format!("{}: profile is not UTF-8", a.profile.display())))?;
    let profile = match import::parse_profile(&ptext) {
        Ok(p) => p,
        Err(d) => {
            let mut ds = Diagnostics::from(vec![*d]);
            ds.set_file(&a.profile.display().to_string());
            emit(ctx, &ds, json, phi)?;
            return Ok(EXIT_INPUT_ERRORS);
        }
    };
    if !a.date.is_empty() && !terminologies::table::is_date(&a.date) {
        return Err(Failure("--date must be YYYY-MM-DD".into()));
    }
    let mut table = load_table(ctx, &a.table, &mut diags)?;
    if diags.has_errors() {
        emit(ctx, &diags, json, phi)?;
        return Ok(EXIT_INPUT_ERRORS);
    }
    let bytes = read(ctx, &a.export)?;
    let (codes, mut d) = import::read_export(&profile, &bytes);
    d.set_file(&a.export.display().to_string());
    let cw = import::Crosswalk {
        system: profile.target_system.clone(),
        justification: profile.justification.clone(),
    };
    let summary = import::merge_with(&mut table, &codes, &cw, &profile.author, &a.date);
    diags.extend(d);
    if a.stdout {
        // Standard output carries the table; diagnostics go to standard error.
        crate::tables::emit_to(ctx.stderr, &diags, json, phi)?;
    } else {
        emit(ctx, &diags, json, phi)?;
    }
    let out = table.to_sssom().map_err(|e| Failure::write(&a.table, e))?;
    if a.stdout {
        ctx.stdout.write_all(&out)?;
    } else {
        crate::tables_governance::write_atomic(ctx, &a.table, &out)?;
    }
    let skipped = diags
        .iter()
        .filter(|d| d.code.id == "T052" && d.severity == Severity::Error)
        .count();
    writeln!(
        ctx.stderr,
        "{}: {} records used, {} skipped; {} rows added, {} refreshed, {} keys left to their reviewed rows",
        a.export.display(),
        summary.records,
        skipped,
        summary.added,
        summary.refreshed,
        summary.kept
    )?;
    Ok(if diags.has_errors() {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}
