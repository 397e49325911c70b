//! `kakehashi demo [--out DIR]`: the main job on the bundled sample data. Converts
//! the bundled SS-MIX2 sample storage (NHO sample, Apache-2.0) with the repository's
//! `kakehashi.toml` and demo tables, exactly as `kakehashi convert` would, and
//! prints where the bundles, the plan and the run report are. Then writes one
//! document of each kind into `DIR/documents/`: a 診療情報提供書 and a 退院時サマリー
//! for the sample patient (the fictitious requests of the golden cases
//! `golden/document/{referral,discharge}-nho`), and a 健康診断結果報告書 from the
//! fictitious 特定健診 XML of `golden/checkup/data`.

use crate::walk::{bundled_storage, repository_root};
use crate::{CmdResult, Context, EXIT_USAGE, convert, document_checkup, document_clinical};
use mappers::document::request::Kind;
use std::path::{Path, PathBuf};

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "kakehashi-demo")]
    pub out: PathBuf,
    /// Worker threads (0 = the machine's parallelism).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
}

/// `path` relative to the working directory when it lies below it.
fn shown(path: &Path, cwd: &Path) -> PathBuf {
    match (path.canonicalize(), cwd.canonicalize()) {
        (Ok(s), Ok(c)) => s.strip_prefix(&c).map(|r| r.to_path_buf()).unwrap_or(s),
        (Ok(s), Err(_)) => s,
        (Err(_), _) => path.to_path_buf(),
    }
}

/// Runs `demo`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let storage = shown(&bundled_storage(), &ctx.cwd);
    let config = shown(
        &crate::walk::repository_root().join("kakehashi.toml"),
        &ctx.cwd,
    );
    writeln!(
        ctx.stdout,
        "kakehashi demo: converting the bundled SS-MIX2 sample storage (NHO sample, Apache-2.0)\n\
         storage: {}\nconfig:  {}\n",
        storage.display(),
        config.display()
    )?;
    // The sample holds intentionally broken files, so input errors are expected;
    // the demo itself succeeds when it could read everything and wrote its outputs.
    let code = convert::run(
        convert::Args {
            storage: storage.clone(),
            config: config.clone(),
            out: args.out.clone(),
            as_of: None,
            jobs: args.jobs,
            ledger: None,
            no_ledger: false,
            show_phi: false,
            receipts: Vec::new(),
        },
        ctx,
    )?;
    if code == EXIT_USAGE {
        return Ok(code);
    }
    let code = documents(&args.out, &storage, &config, ctx)?;
    Ok(if code == EXIT_USAGE {
        code
    } else {
        crate::EXIT_OK
    })
}

/// One document of each kind into `out/documents/`; prints each command's
/// result lines (the full diagnostics are what the commands themselves print).
fn documents(out: &Path, storage: &Path, config: &Path, ctx: &mut Context<'_>) -> CmdResult {
    let root = repository_root();
    let docs = out.join("documents");
    writeln!(
        ctx.stdout,
        "\ndocuments (one of each kind) in {}:",
        docs.display()
    )?;
    let mut worst = crate::EXIT_OK;
    for (kind, name) in [(Kind::Referral, "referral"), (Kind::Discharge, "discharge")] {
        let request = shown(
            &root.join(format!("golden/document/{name}-nho/request.toml")),
            &ctx.cwd,
        );
        let args = document_clinical::Args {
            storage: storage.to_path_buf(),
            request,
            config: config.to_path_buf(),
            out: docs.join(format!("{name}.json")),
            no_errata: false,
            show_phi: false,
        };
        let (code, text) = captured(ctx, |sub| document_clinical::run(kind, args, sub))?;
        worst = worst.max(code);
        for line in text
            .lines()
            .filter(|l| l.starts_with(name) || l.starts_with("note:"))
        {
            writeln!(ctx.stdout, "  {line}")?;
        }
    }
    let args = document_checkup::Args {
        inputs: vec![shown(&root.join("golden/checkup/data"), &ctx.cwd)],
        out: docs.join("checkup"),
        no_errata: false,
        show_phi: false,
        config: Some(config.to_path_buf()),
    };
    let (code, text) = captured(ctx, |sub| document_checkup::run(args, sub))?;
    worst = worst.max(code);
    for line in text.lines().filter(|l| {
        l.starts_with("converted") || l.starts_with("quarantined") || l.starts_with("checkup:")
    }) {
        writeln!(ctx.stdout, "  {line}")?;
    }
    Ok(worst)
}

/// Runs `f` with its standard output captured; its standard error passes through.
fn captured(
    ctx: &mut Context<'_>,
    f: impl FnOnce(&mut Context<'_>) -> CmdResult,
) -> Result<(u8, String), crate::Failure> {
    let mut buf = Vec::new();
    let code = {
        let mut sub = Context {
            cwd: ctx.cwd.clone(),
            stdout: &mut buf,
            stderr: &mut *ctx.stderr,
            package_cache: ctx.package_cache.clone(),
        };
        f(&mut sub)?
    };
    Ok((code, String::from_utf8_lossy(&buf).into_owned()))
}
