//! The kakehashi command line: the only crate that touches argv, files, stdout and
//! exit codes. Every command is a module with an `Args` (clap) and a `run` function;
//! [`run`] dispatches and maps outcomes to exit codes:
//!
//! - `0`: done, no error-severity diagnostic;
//! - `1`: done, but the input had errors (see the diagnostics);
//! - `2`: usage or I/O failure (nothing useful was produced).
//!
//! [`run`] takes a [`Context`] (working directory and output streams) instead of the
//! process's, so the golden-test harness drives exactly what the binary runs.

#![deny(missing_docs)]

mod tables;
mod tables_coverage;
mod tables_governance;
mod tables_import;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub mod packages;
pub mod progress;
pub mod validate;

/// Exit code: success, no error-severity diagnostics.
pub const EXIT_OK: u8 = 0;
/// Exit code: the input had error-severity diagnostics.
pub const EXIT_INPUT_ERRORS: u8 = 1;
/// Exit code: usage or I/O failure.
pub const EXIT_USAGE: u8 = 2;

/// Where a command runs: its working directory and output streams.
pub struct Context<'a> {
    /// Relative paths on the command line are resolved against this directory
    /// (and shown as given).
    pub cwd: PathBuf,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
    /// The FHIR package cache ([`packages::cache_from_env`] for the binary).
    pub package_cache: PathBuf,
    /// Warnings already written in this run (each is said once per command).
    pub warned: std::collections::BTreeSet<String>,
}

impl Context<'_> {
    /// Resolves a path given on the command line.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }
}

/// A failure that stops a command (exit code 2): bad usage or an I/O error.
#[derive(Debug)]
pub struct Failure(String);

/// Marker message of a failure to write output because the reader went away
/// (`kakehashi … | head`): not worth a message.
const BROKEN_PIPE: &str = "\0broken pipe";

impl Failure {
    /// An I/O error, naming the operation and the path: `cannot {op} {path}: {e}`.
    fn io(op: &str, what: &Path, e: impl std::fmt::Display) -> Failure {
        Failure(format!("cannot {op} {}: {e}", what.display()))
    }
    /// Reading a file (or finding a path given on the command line) failed: an
    /// I/O error, or content that cannot be read as what it should be.
    pub(crate) fn read(what: &Path, e: impl std::fmt::Display) -> Failure {
        Failure::io("read", what, e)
    }
    /// Writing (creating or replacing) a file failed: an I/O error, or content the
    /// file's format cannot carry.
    pub(crate) fn write(what: &Path, e: impl std::fmt::Display) -> Failure {
        Failure::io("write", what, e)
    }
    /// Creating a folder (and its parents) failed.
    pub(crate) fn create_dir(what: &Path, e: io::Error) -> Failure {
        Failure::io("create folder", what, e)
    }
    /// Listing a folder failed.
    pub(crate) fn list(what: &Path, e: io::Error) -> Failure {
        Failure::io("list folder", what, e)
    }
    /// Removing a file or folder failed.
    pub(crate) fn remove(what: &Path, e: io::Error) -> Failure {
        Failure::io("remove", what, e)
    }
    /// Moving a finished temporary file over its target failed.
    pub(crate) fn replace(what: &Path, e: io::Error) -> Failure {
        Failure::io("replace", what, e)
    }
}

/// Creates the folder `dir` (given as `shown` on the command line) and its
/// parents when missing: every output folder named by `--out` / `--out-dir`.
pub(crate) fn create_out_dir(dir: &Path, shown: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::create_dir(shown, e))
}

/// Creates the folder a file named by `--out` goes into when missing.
pub(crate) fn create_parent_dir(file: &Path) -> Result<(), Failure> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => create_out_dir(dir, dir),
        _ => Ok(()),
    }
}

/// What `?` on a write to [`Context::stdout`] or [`Context::stderr`] gives: every
/// file the commands write names its path through [`Failure::write`] and its
/// kin, so an I/O error left over is one of the standard streams' (and one on
/// standard error cannot be shown anyway).
impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Failure(BROKEN_PIPE.to_owned());
        }
        Failure(format!("cannot write standard output: {e}"))
    }
}

type CmdResult = Result<u8, Failure>;

mod convert;
mod convert_receipts;
mod demo;
mod document_checkup;
mod document_clinical;
mod export;
mod export_research;
mod inspect;
mod inspect_uke;
mod push;
mod synth_ssmix2;
mod synth_uke;
mod walk;

#[derive(Parser)]
#[command(
    name = "kakehashi",
    version,
    about = "Bridge from vendor formats, SS-MIX2 storage and UKE receipts to validated JP-CLINS FHIR"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tracked mapping tables: check, translate, import house codes, ConceptMap I/O.
    Tables(tables::Args),
    /// Inspect SS-MIX2 storage, folders of message files, single message files or UKE receipt files: one report per file plus diagnostics.
    Inspect(inspect::Args),
    /// Validate FHIR JSON resources and Bundles against the pinned JP profiles (package cache).
    Validate(validate::Args),
    /// Convert SS-MIX2 storage to validated JP-CLINS bundles (+ NDJSON, lineage, plan, run report).
    Convert(convert::Args),
    /// Deliver what a finished `convert` run planned to a FHIR server (one transaction per unit, exactly once).
    Push(push::Args),
    /// Run the main job on a generated SS-MIX2 storage (or on --sample DIR): convert, then one document of each kind.
    Demo(demo::Args),
    /// FHIR packages: install them into the package cache, list, remove, diff versions.
    Packages(packages::Args),
    /// Generate synthetic test data.
    #[command(subcommand)]
    Synth(SynthCommand),
    /// Build validated FHIR document bundles.
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Analysis tables from converted output (SQL on FHIR v2 views → Parquet / CSV).
    #[command(subcommand)]
    Export(export::Command),
}

#[derive(Subcommand)]
enum DocumentCommand {
    /// 特定健診 CDA XML (hc08) files, folders or submission ZIPs → eCheckup document bundles.
    Checkup(document_checkup::Args),
    /// 診療情報提供書: a request (TOML) + the patient's SS-MIX2 storage → a validated eReferral bundle.
    Referral(document_clinical::Args),
    /// 退院時サマリー: a request (TOML) + the patient's SS-MIX2 storage → an eDischargeSummary bundle.
    Discharge(document_clinical::Args),
    /// 患者サマリー (療養計画書): a request (TOML) with the care plan + the patient's SS-MIX2 storage → an ePCS bundle.
    Summary(document_clinical::Args),
}

#[derive(Subcommand)]
enum SynthCommand {
    /// A synthetic SS-MIX2 standardized storage (ISO-2022-JP HL7 v2.5), optionally with faults.
    Ssmix2(synth_ssmix2::Args),
    /// A synthetic UKE (医科) receipt file.
    Uke(synth_uke::SynthUkeArgs),
}

/// Every diagnostic code kakehashi can report, in id order (for `docs/diagnostics.md`).
pub fn all_codes() -> Vec<&'static diagnostics::Code> {
    let mut all: Vec<&'static diagnostics::Code> = Vec::new();
    all.extend(parsers::hl7::codes::ALL);
    all.extend(parsers::ssmix2::codes::ALL);
    all.extend(parsers::uke::codes::ALL);
    all.extend(parsers::checkup::codes::ALL);
    all.extend(terminologies::codes::ALL);
    all.extend(fhir::validate::codes::ALL);
    all.extend(fhir::model::codes::ALL);
    all.extend(mappers::codes::ALL);
    all.extend(mappers::receipt::codes::ALL);
    all.extend(pipeline::codes::ALL);
    all.extend(mappers::checkup::codes::ALL);
    all.extend(mappers::document::codes::ALL);
    all.extend(pipeline::ledger::codes::ALL);
    all.extend(pipeline::deliver::codes::ALL);
    all.extend(coverage::codes::ALL);
    all.extend(views::codes::ALL);
    all.extend(packages::codes::ALL);
    all.extend(research::codes::ALL);
    all.sort_by_key(|c| c.id);
    all
}

/// Runs the command line `args` (including the program name) and returns the exit code.
pub fn run<I, T>(args: I, ctx: &mut Context<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let text = e.render().to_string();
            let out: &mut dyn Write = if e.use_stderr() {
                ctx.stderr
            } else {
                ctx.stdout
            };
            let _ = out.write_all(text.as_bytes());
            return code;
        }
    };
    let result: CmdResult = match cli.command {
        Command::Tables(a) => tables::run(a, ctx),
        Command::Inspect(a) => inspect::run(a, ctx),
        Command::Validate(a) => validate::run(a, ctx),
        Command::Convert(a) => convert::run(a, ctx),
        Command::Push(a) => push::run(a, ctx),
        Command::Demo(a) => demo::run(a, ctx),
        Command::Packages(a) => packages::run(a, ctx),
        Command::Export(c) => export::run(c, ctx),
        Command::Synth(SynthCommand::Ssmix2(args)) => synth_ssmix2::run(args, ctx),
        Command::Synth(SynthCommand::Uke(args)) => synth_uke::run(args, ctx),
        Command::Document(DocumentCommand::Checkup(args)) => document_checkup::run(args, ctx),
        Command::Document(DocumentCommand::Referral(args)) => {
            document_clinical::run(mappers::document::request::Kind::Referral, args, ctx)
        }
        Command::Document(DocumentCommand::Discharge(args)) => {
            document_clinical::run(mappers::document::request::Kind::Discharge, args, ctx)
        }
        Command::Document(DocumentCommand::Summary(args)) => {
            document_clinical::run(mappers::document::request::Kind::Summary, args, ctx)
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            if msg != BROKEN_PIPE {
                let _ = writeln!(ctx.stderr, "kakehashi: {msg}");
            }
            EXIT_USAGE
        }
    }
}

#[cfg(test)]
pub(crate) use testkit::shared;

#[cfg(test)]
pub(crate) use testkit::scratch_dir;

/// Runs the command line `args` (program name included) in `cwd`; returns the
/// exit code and standard output followed by standard error (tests only).
#[cfg(test)]
pub(crate) fn run_cli(args: &[&str], cwd: &std::path::Path) -> (u8, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = {
        let mut ctx = Context {
            cwd: cwd.to_path_buf(),
            stdout: &mut out,
            stderr: &mut err,
            package_cache: packages::test_cache(),
            warned: Default::default(),
        };
        run(args.iter().copied(), &mut ctx)
    };
    (
        code,
        String::from_utf8_lossy(&out).into_owned() + &String::from_utf8_lossy(&err),
    )
}
