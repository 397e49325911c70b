//! `kakehashi push OUT_DIR --server URL`: delivers what a finished `convert` run
//! planned to a FHIR server ([`pipeline::deliver`]); `convert … --server URL`
//! calls the same after its run.
//!
//! The bearer token comes from `--token-file FILE` or `$KAKEHASHI_TOKEN`, never
//! from an argument, and is never printed. Nothing printed holds PHI unless
//! `--show-phi` (the server's own words about a refused unit are masked).

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, Failure};
use diagnostics::{Diagnostics, RenderOptions};
use pipeline::deliver::{self, http};
use pipeline::ledger::Ledger;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable a bearer token may come from.
pub const TOKEN_ENV: &str = "KAKEHASHI_TOKEN";

/// How to reach the server (shared by `push` and `convert --server`).
#[derive(clap::Args, Debug, Clone)]
pub struct Delivery {
    /// A file holding the bearer token (else `$KAKEHASHI_TOKEN`; never an argument).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// PEM file of the CA(s) to trust for HTTPS instead of the system's roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Units sent at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds one request may take (connect, send, answer).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Tries again after a connection error, a timeout, 408, 409, 429 or 5xx, this many times per request.
    #[arg(long, default_value_t = 8)]
    pub retries: u32,
    /// The first wait before trying again, in milliseconds (doubles each time, with jitter, up to 30 s; a server's Retry-After is honoured).
    #[arg(long, default_value_t = 500)]
    pub backoff_ms: u64,
    /// Send again the units the server refused before, even when their bundle did not change.
    #[arg(long)]
    pub resend_refused: bool,
}

impl Default for Delivery {
    /// The command line's defaults.
    fn default() -> Delivery {
        Delivery {
            token_file: None,
            ca: None,
            concurrency: 4,
            timeout: 120,
            retries: 8,
            backoff_ms: 500,
            resend_refused: false,
        }
    }
}

/// Arguments of `push`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The output folder of a finished `kakehashi convert` run.
    pub out: PathBuf,
    /// The FHIR server's base URL (`http://…` or `https://…`).
    #[arg(long)]
    pub server: String,
    /// The submission ledger the run used (default OUT_DIR/ledger.sqlite).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Show protected health information in diagnostics.
    #[arg(long)]
    pub show_phi: bool,
    /// Write each unit's transaction into this folder (`<unit>.json`) instead of
    /// sending it; nothing is recorded (to see what would be sent, or to post it with another client).
    #[arg(long, value_name = "DIR")]
    pub write_transactions: Option<PathBuf>,
    #[command(flatten)]
    pub delivery: Delivery,
}

/// Runs `push`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let out = ctx.resolve(&args.out);
    let finished = deliver::read_output(&out).map_err(|e| Failure(e.to_string()))?;
    let ledger_path = args
        .ledger
        .as_ref()
        .map(|p| ctx.resolve(p))
        .unwrap_or_else(|| out.join("ledger.sqlite"));
    if !ledger_path.is_file() {
        return Err(Failure(format!(
            "{}: no ledger (a push needs the ledger of the convert run that wrote {}); nothing was sent",
            ledger_path.display(),
            args.out.display()
        )));
    }
    let mut ledger = Ledger::open(&ledger_path, &finished.institution_number).map_err(|e| {
        Failure(
            e.to_diagnostic(&ledger_path.display().to_string())
                .render_human(RenderOptions::default()),
        )
    })?;
    if let Some(to) = &args.write_transactions {
        let work = deliver::plan(
            &ledger,
            &finished,
            args.server.trim_end_matches('/'),
            args.delivery.resend_refused,
        )
        .map_err(|e| Failure(e.to_string()))?;
        let dir = ctx.resolve(to);
        std::fs::create_dir_all(&dir).map_err(|e| Failure::create_dir(to, e))?;
        for job in &work.jobs {
            let body = deliver::body(job, &work.server).map_err(|e| {
                Failure(format!(
                    "unit {}: the bundle cannot be read: {e}",
                    job.unit_id
                ))
            })?;
            let path = dir.join(format!("{}.json", job.unit_id));
            std::fs::write(&path, body).map_err(|e| Failure::write(&path, e))?;
        }
        writeln!(
            ctx.stdout,
            "push: {} transactions written to {} (nothing sent, nothing recorded)",
            work.jobs.len(),
            to.display()
        )?;
        return Ok(EXIT_OK);
    }
    push(
        ctx,
        &mut ledger,
        &finished,
        &args.out,
        &args.server,
        &args.delivery,
        args.show_phi,
    )
}

/// Reads the bearer token: `--token-file`, else `$KAKEHASHI_TOKEN`, else none.
fn token(ctx: &Context<'_>, d: &Delivery) -> Result<Option<String>, Failure> {
    if let Some(p) = &d.token_file {
        let text = std::fs::read_to_string(ctx.resolve(p)).map_err(|e| Failure::read(p, e))?;
        let t = text.trim();
        if t.is_empty() {
            return Err(Failure(format!("{}: the token file is empty", p.display())));
        }
        return Ok(Some(t.to_owned()));
    }
    Ok(std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty()))
}

/// Delivers `finished` (an output folder shown as `shown`) to `server` with the
/// ledger it was converted with; prints a summary and every diagnostic.
pub(crate) fn push(
    ctx: &mut Context<'_>,
    ledger: &mut Ledger,
    finished: &deliver::Finished,
    shown: &Path,
    server: &str,
    d: &Delivery,
    show_phi: bool,
) -> CmdResult {
    let roots = match &d.ca {
        Some(p) => {
            http::Roots::Pem(std::fs::read(ctx.resolve(p)).map_err(|e| Failure::read(p, e))?)
        }
        None => http::Roots::System,
    };
    let retry = http::Retry {
        retries: d.retries,
        initial: Duration::from_millis(d.backoff_ms.max(1)),
        ..http::Retry::default()
    };
    let client = http::Client::new(
        server,
        token(ctx, d)?,
        &roots,
        Duration::from_secs(d.timeout.max(1)),
        retry,
    )
    .map_err(|e| Failure(e.to_string()))?;
    let err = |e: deliver::DeliverError| Failure(e.to_string());
    let work = deliver::plan(&*ledger, finished, client.base(), d.resend_refused).map_err(err)?;
    let opts = RenderOptions { show_phi };
    render(&work.diagnostics, ctx, opts)?;
    if work.jobs.is_empty() {
        writeln!(
            ctx.stdout,
            "push: nothing to send to {} ({} units delivered as they are, {} refused before)",
            client.base(),
            work.unchanged,
            work.refused_before
        )?;
        return Ok(if work.refused_before > 0 {
            EXIT_INPUT_ERRORS
        } else {
            EXIT_OK
        });
    }
    deliver::check_server(&client).map_err(err)?;
    let progress = crate::progress::bar(work.jobs.len() as u64, "units");
    let started = std::time::Instant::now();
    let report = deliver::deliver(
        ledger,
        &client,
        &finished.dir,
        &work,
        d.concurrency,
        &|| progress.inc(1),
    )
    .map_err(err)?;
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    render(&report.diagnostics, ctx, opts)?;
    let n = |k: &str| report.delivered.get(k).copied().unwrap_or(0);
    writeln!(
        ctx.stdout,
        "push: {} units to {} in {secs:.1} s: create {}, replace {}, delete {} ({} resources put, {} deleted); unchanged {}, refused {} (before: {}), not delivered {}",
        work.jobs.len(),
        client.base(),
        n("create"),
        n("replace"),
        n("delete"),
        report.resources_put,
        report.resources_deleted,
        work.unchanged,
        report.refused,
        work.refused_before,
        report.failed + report.not_started,
    )?;
    if let Some(f) = &report.stopped {
        writeln!(
            ctx.stderr,
            "kakehashi: push stopped: {f}; {} units not delivered stay as they were: run `kakehashi push {}` again",
            report.failed + report.not_started,
            shown.display()
        )?;
        return Ok(EXIT_USAGE);
    }
    Ok(if report.failed + report.not_started > 0 {
        EXIT_USAGE
    } else if report.refused + work.refused_before > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

/// Prints diagnostics, one human line each.
fn render(ds: &Diagnostics, ctx: &mut Context<'_>, opts: RenderOptions) -> Result<(), Failure> {
    crate::tables::emit(ctx, ds, false, opts.show_phi)
}
