//! `kakehashi demo`: the main job on the bundled sample data. For now it inspects
//! the bundled SS-MIX2 sample storage (conversion arrives with the mappers).

use crate::walk::bundled_storage;
use crate::{CmdResult, Context, inspect};

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON Lines instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Runs `demo`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let storage = bundled_storage();
    // Show the storage relative to the working directory when it lies below it.
    let shown = match (storage.canonicalize(), ctx.cwd.canonicalize()) {
        (Ok(s), Ok(c)) => s.strip_prefix(&c).map(|r| r.to_path_buf()).unwrap_or(s),
        (Ok(s), Err(_)) => s,
        (Err(_), _) => storage.clone(),
    };
    writeln!(
        ctx.stdout,
        "kakehashi demo: inspecting the bundled SS-MIX2 sample storage (NHO sample, Apache-2.0)\n"
    )?;
    // The sample holds intentionally broken files, so input errors are expected;
    // the demo itself succeeds when it could read everything.
    let code = inspect::run(
        inspect::Args {
            paths: vec![shown],
            json: args.json,
            show_phi: false,
        },
        ctx,
    )?;
    Ok(if code == crate::EXIT_USAGE {
        code
    } else {
        crate::EXIT_OK
    })
}
