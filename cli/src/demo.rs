//! `kakehashi demo [--out DIR]`: the main job on the bundled sample data. Converts
//! the bundled SS-MIX2 sample storage (NHO sample, Apache-2.0) with the repository's
//! `kakehashi.toml` and demo tables, exactly as `kakehashi convert` would, and
//! prints where the bundles, the plan and the run report are.

use crate::walk::bundled_storage;
use crate::{CmdResult, Context, EXIT_USAGE, convert};
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
            storage,
            config,
            out: args.out,
            as_of: None,
            jobs: args.jobs,
            ledger: None,
            no_ledger: false,
            show_phi: false,
            receipts: Vec::new(),
        },
        ctx,
    )?;
    Ok(if code == EXIT_USAGE {
        code
    } else {
        crate::EXIT_OK
    })
}
