//! `kakehashi tables suggest | review | diff | migrate`: table governance.
//!
//! Every command that rewrites a table checks that no row was lost and writes
//! atomically (a temporary file beside the table, then a rename), or prints the
//! table with `--stdout`.

use crate::tables::{emit, emit_to, load_masters, load_table};
use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, Failure};
use clap::Args;
use diagnostics::Diagnostics;
use std::path::{Path, PathBuf};
use terminologies::check::Master;
use terminologies::governance::{self, Action, Change, Filter};
use terminologies::reading::Dictionary;
use terminologies::suggest::{self, Matcher};
use terminologies::table::{Row, Status, Table};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then
/// a rename over the target.
pub(crate) fn write_atomic(ctx: &Context<'_>, p: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let path = ctx.resolve(p);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.kakehashi-tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Failure::write(p, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::replace(p, e)
    })
}

/// Saves a rewritten table (or prints it with `stdout`) after proving no row of
/// `before` is missing.
fn save(
    ctx: &mut Context<'_>,
    p: &Path,
    before: &Table,
    after: &Table,
    stdout: bool,
) -> Result<(), Failure> {
    let lost = governance::lost_rows(before, after);
    if !lost.is_empty() {
        return Err(Failure(format!(
            "{}: refusing to save, rows would be lost: {}",
            p.display(),
            lost.join(", ")
        )));
    }
    let bytes = after.to_sssom().map_err(|e| Failure::write(p, e))?;
    if stdout {
        ctx.stdout.write_all(&bytes)?;
        Ok(())
    } else {
        write_atomic(ctx, p, &bytes)
    }
}

/// Reads masters described by import profiles: `PROFILE.toml=FILE` (the profile
/// names `master_system`; the version is the file's name without extension).
pub(crate) fn load_profiled_masters(
    ctx: &Context<'_>,
    specs: &[String],
    diags: &mut Diagnostics,
) -> Result<Vec<Master>, Failure> {
    let mut out = Vec::new();
    for spec in specs {
        let (pp, fp) = spec.split_once('=').ok_or_else(|| {
            Failure(format!(
                "--master-profile {spec}: expected PROFILE.toml=FILE"
            ))
        })?;
        let (pp, fp) = (Path::new(pp), Path::new(fp));
        let text = String::from_utf8(crate::tables::read(ctx, pp)?)
            .map_err(|_| Failure(format!("{}: profile is not UTF-8", pp.display())))?;
        let profile = terminologies::import::parse_profile(&text)
            .map_err(|d| Failure(format!("{}: {}", pp.display(), d.message)))?;
        if profile.master_system.is_empty() {
            return Err(Failure(format!(
                "{}: the profile names no master_system",
                pp.display()
            )));
        }
        let bytes = crate::tables::read(ctx, fp)?;
        let (codes, mut d) = terminologies::import::read_export(&profile, &bytes);
        d.set_file(&fp.display().to_string());
        diags.extend(d);
        let version = fp
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(terminologies::import::to_master(&profile, &codes, &version));
    }
    Ok(out)
}

fn check_date(d: &str) -> Result<(), Failure> {
    if d.is_empty() || terminologies::table::is_date(d) {
        Ok(())
    } else {
        Err(Failure("--date must be YYYY-MM-DD".into()))
    }
}

/// `tables suggest` arguments.
#[derive(Args)]
pub struct SuggestArgs {
    /// The table whose unmapped, unreviewed keys get candidates (rewritten unless --stdout).
    #[arg(long)]
    table: PathBuf,
    /// Target masters: CodeSystem JSON, a FHIR package (.tgz) or the J-FAGY CSV.
    #[arg(long, required_unless_present = "master_profile")]
    master: Vec<PathBuf>,
    /// A master read through an import profile: PROFILE.toml=FILE (e.g. a MEDIS master).
    #[arg(long)]
    master_profile: Vec<String>,
    /// Candidates per source key.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Minimum score (0 to 1).
    #[arg(long, default_value_t = 0.35)]
    min_score: f32,
    /// author_label of suggested rows.
    #[arg(long, default_value = "kakehashi suggest")]
    author: String,
    /// mapping_date of suggested rows (YYYY-MM-DD); never taken from the clock.
    #[arg(long, default_value = "")]
    date: String,
    /// Print the resulting table instead of rewriting it.
    #[arg(long)]
    stdout: bool,
    /// Folder of the reading dictionary's lexicon (IPADIC's *.csv files); default
    /// $KAKEHASHI_DICTIONARY, else /usr/share/mecab/dic/ipadic (Debian/Ubuntu:
    /// apt-get install mecab-ipadic).
    #[arg(long, conflicts_with = "no_readings")]
    dictionary: Option<PathBuf>,
    /// Match spellings and the masters' own readings only (no dictionary).
    #[arg(long)]
    no_readings: bool,
}

/// Where `tables suggest` looks for the reading dictionary when not told.
pub const DEFAULT_DICTIONARY: &str = "/usr/share/mecab/dic/ipadic";

/// How to get the dictionary, for the message of a failure to find it.
const DICTIONARY_HELP: &str = "tables suggest reads kanji through IPADIC's lexicon: install it \
(Debian/Ubuntu: apt-get install mecab-ipadic), or name a folder of its .csv files with \
--dictionary DIR or KAKEHASHI_DICTIONARY, or pass --no-readings";

/// Loads the reading dictionary: `--dictionary`, else `$KAKEHASHI_DICTIONARY`,
/// else [`DEFAULT_DICTIONARY`]. Not found or unreadable, a failure says how to
/// install it.
pub(crate) fn load_dictionary(
    ctx: &Context<'_>,
    given: Option<&Path>,
) -> Result<Dictionary, Failure> {
    let dir = match given {
        Some(p) => ctx.resolve(p),
        None => match std::env::var_os("KAKEHASHI_DICTIONARY") {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => PathBuf::from(DEFAULT_DICTIONARY),
        },
    };
    let listing = std::fs::read_dir(&dir)
        .map_err(|e| Failure(format!("{}: {e}; {DICTIONARY_HELP}", dir.display())))?;
    let mut paths = Vec::new();
    for e in listing {
        let p = e
            .map_err(|e| Failure(format!("{}: {e}", dir.display())))?
            .path();
        if p.extension().is_some_and(|x| x == "csv") {
            paths.push(p);
        }
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        let bytes = std::fs::read(p).map_err(|e| Failure(format!("{}: {e}", p.display())))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, bytes));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    Dictionary::from_lexicons(&refs)
        .map_err(|e| Failure(format!("{}: {e}; {DICTIONARY_HELP}", dir.display())))
}

/// `tables review` arguments.
#[derive(Args)]
pub struct ReviewArgs {
    /// The table (rewritten unless --stdout or only --summary).
    table: PathBuf,
    /// Approve the matching rows.
    #[arg(long, group = "action")]
    approve: bool,
    /// Reject the matching rows.
    #[arg(long, group = "action")]
    reject: bool,
    /// Flag the matching rows for discussion.
    #[arg(long, group = "action")]
    flag: bool,
    /// Split the matching rows evenly between these reviewers (comma-separated),
    /// recorded in the assigned_to column.
    #[arg(long, group = "action", value_delimiter = ',')]
    assign: Vec<String>,
    /// Reviewer (required with --approve, --reject, --flag).
    #[arg(long, default_value = "")]
    reviewer: String,
    /// Review date (YYYY-MM-DD; required with --approve, --reject, --flag).
    #[arg(long, default_value = "")]
    date: String,
    /// Comment appended to the rows.
    #[arg(long, default_value = "")]
    comment: String,
    /// Filter: row id (repeatable).
    #[arg(long = "row")]
    rows: Vec<String>,
    /// Filter: status (repeatable).
    #[arg(long)]
    status: Vec<String>,
    /// Filter: source codes starting with this.
    #[arg(long, default_value = "")]
    code_prefix: String,
    /// Filter: target system URI.
    #[arg(long, default_value = "")]
    target_system: String,
    /// Filter: minimum confidence.
    #[arg(long)]
    min_confidence: Option<f64>,
    /// Filter: mapping_justification (e.g. semapv:LexicalMatching).
    #[arg(long, default_value = "")]
    method: String,
    /// Apply the action to every row (without a filter, an action needs this).
    #[arg(long)]
    all: bool,
    /// Print the resulting table instead of rewriting it.
    #[arg(long)]
    stdout: bool,
}

/// `tables diff` arguments.
#[derive(Args)]
pub struct DiffArgs {
    /// The old version.
    old: PathBuf,
    /// The new version.
    new: PathBuf,
}

/// `tables migrate` arguments.
#[derive(Args)]
pub struct MigrateArgs {
    /// The table (rewritten unless --stdout).
    #[arg(long)]
    table: PathBuf,
    /// The new master(s): CodeSystem JSON, a FHIR package (.tgz) or the J-FAGY CSV.
    #[arg(long, required_unless_present = "master_profile")]
    master: Vec<PathBuf>,
    /// A new master read through an import profile: PROFILE.toml=FILE (its
    /// `replaced_by` field names replacements, e.g. MEDIS 移行先病名管理番号).
    #[arg(long)]
    master_profile: Vec<String>,
    /// author_label of replacement rows.
    #[arg(long, default_value = "kakehashi migrate")]
    author: String,
    /// mapping_date of replacement rows (YYYY-MM-DD); never taken from the clock.
    #[arg(long, default_value = "")]
    date: String,
    /// Print the resulting table instead of rewriting it.
    #[arg(long)]
    stdout: bool,
}

fn open_table(
    ctx: &mut Context<'_>,
    p: &Path,
    json: bool,
    phi: bool,
) -> Result<Option<Table>, Failure> {
    let mut d = Diagnostics::default();
    let t = load_table(ctx, p, &mut d)?;
    if d.has_errors() {
        emit(ctx, &d, json, phi)?;
        return Ok(None);
    }
    Ok(Some(t))
}

/// Runs `tables suggest`.
pub fn run_suggest(a: SuggestArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    check_date(&a.date)?;
    let Some(mut table) = open_table(ctx, &a.table, json, phi)? else {
        return Ok(EXIT_INPUT_ERRORS);
    };
    let mut diags = Diagnostics::default();
    let mut masters = load_masters(ctx, &a.master, &mut diags)?;
    masters.extend(load_profiled_masters(ctx, &a.master_profile, &mut diags)?);
    let dict = if a.no_readings {
        None
    } else {
        Some(std::sync::Arc::new(load_dictionary(
            ctx,
            a.dictionary.as_deref(),
        )?))
    };
    let refs: Vec<&Master> = masters.iter().collect();
    let matcher = Matcher::with_dictionary(&refs, dict);
    let before = table.clone();
    let bar = crate::progress::bar(0, "source keys");
    let s = suggest::suggest_table_with_progress(
        &mut table,
        &matcher,
        &suggest::Options {
            top: a.top,
            min_score: a.min_score,
            author: a.author.clone(),
            date: a.date.clone(),
        },
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    emit_to(
        if a.stdout { ctx.stderr } else { ctx.stdout },
        &diags,
        json,
        phi,
    )?;
    save(ctx, &a.table, &before, &table, a.stdout)?;
    let line = format!(
        "{}: {} open keys, {} with candidates, {} suggested rows (from {} master codes, {}); nothing approved",
        a.table.display(),
        s.keys,
        s.suggested,
        s.rows,
        matcher.len(),
        if a.no_readings {
            "spellings only"
        } else {
            "with dictionary readings"
        }
    );
    if a.stdout {
        writeln!(ctx.stderr, "{line}")?;
    } else {
        writeln!(ctx.stdout, "{line}")?;
    }
    Ok(if diags.has_errors() {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

/// Runs `tables review`.
pub fn run_review(a: ReviewArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    check_date(&a.date)?;
    let mut status = Vec::new();
    for s in &a.status {
        status.push(
            Status::parse(s).ok_or_else(|| Failure(format!("--status: unknown status {s}")))?,
        );
    }
    let filter = Filter {
        rows: a.rows.clone(),
        status,
        code_prefix: a.code_prefix.clone(),
        target_system: a.target_system.clone(),
        min_confidence: a.min_confidence,
        method: a.method.clone(),
    };
    let action = if a.approve {
        Some(Action::Approve)
    } else if a.reject {
        Some(Action::Reject)
    } else if a.flag {
        Some(Action::Flag)
    } else {
        None
    };
    let unfiltered = filter.rows.is_empty()
        && filter.status.is_empty()
        && filter.code_prefix.is_empty()
        && filter.target_system.is_empty()
        && filter.min_confidence.is_none()
        && filter.method.is_empty();
    if (action.is_some() || !a.assign.is_empty()) && unfiltered && !a.all {
        return Err(Failure(
            "a review action without a filter (--row, --status, --code-prefix, --target-system, --min-confidence, --method) needs --all".into(),
        ));
    }
    if action.is_some() && (a.reviewer.is_empty() || a.date.is_empty()) {
        return Err(Failure(
            "--approve, --reject and --flag need --reviewer and --date".into(),
        ));
    }
    let Some(mut table) = open_table(ctx, &a.table, json, phi)? else {
        return Ok(EXIT_INPUT_ERRORS);
    };
    let before = table.clone();
    let mut diags = Diagnostics::default();
    let mut report = Vec::new();
    let mut write = false;
    if let Some(act) = action {
        let (changed, mut d) =
            governance::review(&mut table, &filter, act, &a.reviewer, &a.date, &a.comment);
        d.set_file(&a.table.display().to_string());
        diags.extend(d);
        report.push(format!(
            "{} rows set to {} by {}",
            changed.len(),
            match act {
                Action::Approve => "approved",
                Action::Reject => "rejected",
                Action::Flag => "flagged",
            },
            a.reviewer
        ));
        write = true;
    } else if !a.assign.is_empty() {
        for (who, n) in governance::assign(&mut table, &filter, &a.assign) {
            report.push(format!("assigned {n} rows to {who}"));
        }
        write = true;
    }
    let out: &mut dyn std::io::Write = if a.stdout { ctx.stderr } else { ctx.stdout };
    emit_to(out, &diags, json, phi)?;
    if write {
        save(ctx, &a.table, &before, &table, a.stdout)?;
    }
    let s = governance::summary(&table);
    let mut text = String::new();
    for r in report {
        text.push_str(&r);
        text.push('\n');
    }
    text.push_str("status\trows\n");
    for (st, n) in &s.by_status {
        text.push_str(&format!("{st}\t{n}\n"));
    }
    text.push_str("reviewer\tstatus\trows\n");
    for (who, m) in &s.by_reviewer {
        for (st, n) in m {
            let who = if who.is_empty() { "(none)" } else { who };
            text.push_str(&format!("{who}\t{st}\t{n}\n"));
        }
    }
    if !s.open_by_assignee.is_empty() {
        text.push_str("assignee\topen rows\n");
        for (who, n) in &s.open_by_assignee {
            text.push_str(&format!("{who}\t{n}\n"));
        }
    }
    let out: &mut dyn std::io::Write = if a.stdout { ctx.stderr } else { ctx.stdout };
    out.write_all(text.as_bytes())?;
    Ok(EXIT_OK)
}

fn target(r: &Row) -> String {
    if r.has_target() {
        format!("{}|{}", r.target_system, r.target_code)
    } else {
        "-".into()
    }
}

fn key(r: &Row) -> String {
    let k = &r.source;
    let mut s = k.code.clone();
    for part in [&k.specimen, &k.unit, &k.text] {
        if !part.is_empty() {
            s.push('/');
            s.push_str(part);
        }
    }
    s
}

/// Runs `tables diff`.
pub fn run_diff(a: DiffArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    let Some(old) = open_table(ctx, &a.old, json, phi)? else {
        return Ok(EXIT_INPUT_ERRORS);
    };
    let Some(new) = open_table(ctx, &a.new, json, phi)? else {
        return Ok(EXIT_INPUT_ERRORS);
    };
    let changes = governance::diff(&old, &new);
    let mut counts = [0usize; 5];
    writeln!(ctx.stdout, "change\trow\tkey\told\tnew")?;
    for c in &changes {
        let (i, line) = match c {
            Change::Added(r) => (
                0,
                format!(
                    "added\t{}\t{}\t-\t{} {}",
                    r.id,
                    key(r),
                    target(r),
                    r.status.as_str()
                ),
            ),
            Change::Removed(r) => (
                1,
                format!(
                    "removed\t{}\t{}\t{} {}\t-",
                    r.id,
                    key(r),
                    target(r),
                    r.status.as_str()
                ),
            ),
            Change::Retargeted(x, y) => (
                2,
                format!(
                    "retargeted\t{}\t{}\t{} {}\t{} {}",
                    y.id,
                    key(y),
                    target(x),
                    x.status.as_str(),
                    target(y),
                    y.status.as_str()
                ),
            ),
            Change::StatusChanged(x, y) => (
                3,
                format!(
                    "status\t{}\t{}\t{}\t{}",
                    y.id,
                    key(y),
                    x.status.as_str(),
                    y.status.as_str()
                ),
            ),
            Change::Edited(_, y) => (4, format!("edited\t{}\t{}\t\t", y.id, key(y))),
        };
        counts[i] += 1;
        writeln!(ctx.stdout, "{line}")?;
    }
    writeln!(
        ctx.stdout,
        "{} added, {} removed, {} retargeted, {} status changes, {} other edits",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    )?;
    Ok(EXIT_OK)
}

/// Runs `tables migrate`.
pub fn run_migrate(a: MigrateArgs, json: bool, phi: bool, ctx: &mut Context<'_>) -> CmdResult {
    check_date(&a.date)?;
    let Some(mut table) = open_table(ctx, &a.table, json, phi)? else {
        return Ok(EXIT_INPUT_ERRORS);
    };
    let mut diags = Diagnostics::default();
    let mut masters = load_masters(ctx, &a.master, &mut diags)?;
    masters.extend(load_profiled_masters(ctx, &a.master_profile, &mut diags)?);
    let before = table.clone();
    let (s, mut d) = governance::migrate(&mut table, &masters, &a.author, &a.date);
    d.set_file(&a.table.display().to_string());
    diags.extend(d);
    let out: &mut dyn std::io::Write = if a.stdout { ctx.stderr } else { ctx.stdout };
    emit_to(out, &diags, json, phi)?;
    save(ctx, &a.table, &before, &table, a.stdout)?;
    let line = format!(
        "{}: {} rows checked, {} retired or missing targets, {} changed targets (all now invalid-target), {} replacement rows suggested",
        a.table.display(),
        s.checked,
        s.retired,
        s.changed,
        s.replacements
    );
    let out: &mut dyn std::io::Write = if a.stdout { ctx.stderr } else { ctx.stdout };
    writeln!(out, "{line}")?;
    Ok(if diags.has_errors() {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use terminologies::table::SourceKey;

    fn ctx_in<'a>(dir: &Path, out: &'a mut Vec<u8>, err: &'a mut Vec<u8>) -> Context<'a> {
        Context {
            cwd: dir.to_path_buf(),
            stdout: out,
            stderr: err,
            package_cache: crate::packages::test_cache(),
            warned: Default::default(),
        }
    }

    fn table(n: usize) -> Table {
        let mut t = Table::default();
        t.meta.id = "t".into();
        t.meta.uri = "urn:t".into();
        t.meta.license = "urn:l".into();
        t.meta.source_system = "urn:s".into();
        for i in 0..n {
            t.rows.push(Row {
                id: format!("r{:05}", i + 1),
                source: SourceKey::code(format!("C{i}")),
                ..Row::default()
            });
        }
        t
    }

    #[test]
    fn saving_is_atomic_and_refuses_to_lose_rows() {
        let dir = crate::scratch_dir("save");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = ctx_in(&dir, &mut out, &mut err);
        let p = Path::new("t.sssom.tsv");
        std::fs::write(dir.join(p), b"old").unwrap();
        let (a, b) = (table(3), table(2));
        let e = save(&mut ctx, p, &a, &b, false).unwrap_err();
        assert!(e.0.contains("r00003"), "{}", e.0);
        assert_eq!(std::fs::read(dir.join(p)).unwrap(), b"old");
        save(&mut ctx, p, &b, &a, false).unwrap();
        let (back, d) = terminologies::table::parse_sssom(&std::fs::read(dir.join(p)).unwrap());
        assert!(!d.has_errors(), "{d:?}");
        assert_eq!(back.rows.len(), 3);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "temporary file left behind: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
