//! `kakehashi synth uke`: writes a synthetic UKE (医科) file.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use synth::uke::{Layout, Options, Storage, generate_for};

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
    /// Number of receipts for fictitious people (after those of `--storage-patients`).
    #[arg(long, default_value_t = 0)]
    receipts: u32,
    /// Also write one receipt for each of the first N patients of the storage that
    /// `kakehashi synth ssmix2 --seed <--storage-seed>` makes (same ids as カルテ番号,
    /// names, birth dates, sex, insurers; an SN 枝番 in the Western layout), first.
    #[arg(long, default_value_t = 0)]
    storage_patients: u64,
    /// Seed of that storage.
    #[arg(long, default_value_t = 0)]
    storage_seed: u64,
    /// Give the last storage patient a second receipt with a different SN 枝番.
    #[arg(long)]
    conflicting_branch: bool,
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
    let storage = (args.storage_patients > 0).then_some(Storage {
        seed: args.storage_seed,
        patients: args.storage_patients,
        conflicting_branch: args.conflicting_branch,
    });
    let bytes = generate_for(
        &Options {
            receipts: args.receipts,
            layout,
        },
        storage.as_ref(),
        args.seed,
    );
    let count = u64::from(args.receipts)
        + args.storage_patients
        + u64::from(args.conflicting_branch && args.storage_patients > 0);
    let path = ctx.resolve(&args.out);
    crate::create_parent_dir(&path)?;
    std::fs::write(&path, &bytes).map_err(|e| crate::Failure::write(&args.out, e))?;
    writeln!(
        ctx.stdout,
        "wrote {} ({} bytes, {} receipts)",
        args.out.display(),
        bytes.len(),
        count
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
                package_cache: crate::packages::test_cache(),
                warned: Default::default(),
            };
            let mut argv = vec!["kakehashi"];
            argv.extend_from_slice(args);
            run(argv, &mut ctx)
        };
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn synth_then_inspect_is_clean_and_deterministic() {
        let dir = crate::scratch_dir("synth-uke");
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
