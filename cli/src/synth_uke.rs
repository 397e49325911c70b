//! `kakehashi synth uke`: writes a synthetic UKE (医科) file.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use synth::uke::{Layout, Options, generate};

/// Date layout on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum LayoutArg {
    /// `GYYMMDD` / `GYYMM`.
    Era,
    /// `YYYYMMDD` / `YYYYMM`.
    Western,
}

/// Arguments of `synth uke`.
#[derive(Args, Debug)]
pub(crate) struct SynthUkeArgs {
    /// Number of receipts.
    #[arg(long)]
    receipts: u32,
    /// Seed (same seed → same bytes).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Date layout.
    #[arg(long, value_enum, default_value_t = LayoutArg::Western)]
    layout: LayoutArg,
}

/// Runs `synth uke`.
pub(crate) fn run(args: SynthUkeArgs, ctx: &mut crate::Context<'_>) -> Result<u8, crate::Failure> {
    let layout = match args.layout {
        LayoutArg::Era => Layout::Era,
        LayoutArg::Western => Layout::Western,
    };
    let bytes = generate(
        &Options {
            receipts: args.receipts,
            layout,
        },
        args.seed,
    );
    let path = ctx.resolve(&args.out);
    std::fs::write(&path, &bytes).map_err(|e| crate::Failure::io(&args.out, e))?;
    writeln!(
        ctx.stdout,
        "wrote {} ({} bytes, {} receipts)",
        args.out.display(),
        bytes.len(),
        args.receipts
    )?;
    Ok(crate::EXIT_OK)
}
