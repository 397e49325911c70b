//! A kakehashi binary copied away from the build, run from another folder with
//! only a package cache: `packages install`, `demo`, `convert` and `validate` work
//! without the clone (nothing is found through the source tree).
//!
//! The binary is copied into a temporary folder and run as a child process whose
//! working directory is another temporary folder, with `HOME` and
//! `KAKEHASHI_PACKAGE_CACHE` pointing into it. The cache is filled first by the copied
//! binary itself from the IG package files beside the clone (`../shared`, the one
//! thing this test reads from outside the temporary folder; CI always has it), so
//! the demo never needs to install anything: no network, no `../shared`.

#![allow(clippy::unwrap_used)] // test code: a failure is the test's report

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the copied binary in `cwd`; returns its exit code and its standard output
/// followed by its standard error.
fn run(bin: &Path, cwd: &Path, home: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("HOME", home)
        .env("KAKEHASHI_PACKAGE_CACHE", home.join("packages"))
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The `.json` files directly in `dir`.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_copied_binary_runs_from_another_folder_with_only_a_package_cache() {
    let root = testkit::scratch_dir("portable");
    let (bin_dir, work, home) = (root.join("bin"), root.join("work"), root.join("home"));
    for d in [&bin_dir, &work, &home] {
        std::fs::create_dir_all(d).unwrap();
    }
    let bin = bin_dir.join("kakehashi");
    std::fs::copy(env!("CARGO_BIN_EXE_kakehashi"), &bin).unwrap();

    // Every package the built-in sets pin (except the built-in R4 core), installed
    // by the copied binary from the IG package files beside the clone.
    let shared = testkit::shared("fhir-profiles");
    let mut pins: Vec<String> = fhir::conformance::default_sets()
        .into_iter()
        .flat_map(|s| s.packages)
        .filter(|p| !cli::packages::is_built_in(p))
        .map(|p| p.to_string())
        .collect();
    pins.sort();
    pins.dedup();
    let shared = shared.display().to_string();
    let mut args = vec!["packages", "install"];
    args.extend(pins.iter().map(String::as_str));
    args.extend(["--from", &shared]);
    let (code, text) = run(&bin, &work, &home, &args);
    assert_eq!(code, 0, "{text}");

    // The demo: its configuration, tables, requests and checkup input come from
    // the binary; everything it needs is in the cache, so it installs nothing.
    let (code, text) = run(
        &bin,
        &work,
        &home,
        &["demo", "--out", "demo", "--jobs", "2"],
    );
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("installed"), "{text}");
    assert!(text.contains("1 converted, 0 quarantined"), "{text}");
    for kind in ["referral", "discharge"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(kind) && l.contains(", valid (")),
            "{kind}: {text}"
        );
    }
    let demo = work.join("demo");
    for f in [
        "setup/demo/synth.kakehashi.toml",
        "setup/tables/nho-sample-lab-99X03.sssom.tsv",
        "documents/referral.json",
        "documents/discharge.json",
        "documents/summary.json",
        "report.json",
        "plan.jsonl",
    ] {
        assert!(demo.join(f).is_file(), "{f}: {text}");
    }
    assert!(!json_files(&demo.join("bundles")).is_empty(), "{text}");
    assert_eq!(
        json_files(&demo.join("documents/checkup")).len(),
        1,
        "{text}"
    );

    // convert, with the configuration the demo wrote, into a folder that does not
    // exist yet.
    let (code, text) = run(
        &bin,
        &work,
        &home,
        &[
            "convert",
            "demo/storage",
            "--config",
            "demo/setup/demo/synth.kakehashi.toml",
            "--out",
            "converted/nested",
            "--no-ledger",
        ],
    );
    assert!(code <= 1, "{text}");
    let bundles = json_files(&work.join("converted/nested/bundles"));
    assert!(!bundles.is_empty(), "{text}");
    assert!(
        json_files(&work.join("converted/nested/quarantine")).is_empty(),
        "{text}"
    );

    // validate: the converted bundles and the documents against the clins set, the
    // checkup document against echeckup.
    let (code, text) = run(
        &bin,
        &work,
        &home,
        &[
            "validate",
            "converted/nested/bundles",
            "demo/documents/referral.json",
            "demo/documents/discharge.json",
            "demo/documents/summary.json",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("referral.json"), "{text}");
    let (code, text) = run(
        &bin,
        &work,
        &home,
        &["validate", "--ig", "echeckup", "demo/documents/checkup"],
    );
    assert_eq!(code, 0, "{text}");

    std::fs::remove_dir_all(&root).unwrap();
}
