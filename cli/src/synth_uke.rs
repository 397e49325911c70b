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

#[cfg(test)]
mod tests {
    use crate::{Context, run};

    fn kakehashi(args: &[&str], cwd: &std::path::Path) -> (u8, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = {
            let mut ctx = Context {
                cwd: cwd.to_path_buf(),
                stdout: &mut out,
                stderr: &mut err,
            };
            let mut argv = vec!["kakehashi"];
            argv.extend_from_slice(args);
            run(argv, &mut ctx)
        };
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn synth_then_inspect_is_clean_and_deterministic() {
        let dir = std::env::temp_dir().join(format!("kakehashi-synth-uke-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for layout in ["era", "western"] {
            let a = format!("{layout}-a.UKE");
            let b = format!("{layout}-b.UKE");
            for f in [&a, &b] {
                let (code, _) = kakehashi(
                    &[
                        "synth",
                        "uke",
                        "--receipts",
                        "7",
                        "--seed",
                        "5",
                        "--layout",
                        layout,
                        "--out",
                        f,
                    ],
                    &dir,
                );
                assert_eq!(code, 0);
            }
            let ba = std::fs::read(dir.join(&a)).expect("read a");
            assert_eq!(ba, std::fs::read(dir.join(&b)).expect("read b"));
            let (code, out) = kakehashi(&["inspect", &a], &dir);
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("receipts: 7"), "{out}");
            assert!(out.contains("(0 errors, 0 warnings, 1 info)"), "{out}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
