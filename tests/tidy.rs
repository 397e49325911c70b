//! Repository rules no compiler checks: diagnostic codes are unique and documented,
//! every crate states its job, the crates depend on each other only one way, and
//! data taken from other projects is used from `../shared`, not copied in.

#![allow(clippy::unwrap_used, clippy::string_slice)] // test code over ASCII manifests

use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn render_codes_doc() -> String {
    let mut s = String::from(
        "# Diagnostic codes\n\n\
         Generated from the code tables (`UPDATE_EXPECT=1 cargo test -p tests --test tidy`).\n\
         A code never changes meaning; its severity is the default (policies may change it,\n\
         and say so).\n\n\
         Stage letters: `E` character decoding, `H` HL7 v2, `S` SS-MIX2 storage, `U` UKE\n\
         receipts, `K` 健診 (特定健診 CDA XML), `T` tables, `M` mappers, `V` validator, `C` CLI, `A` coverage analytics,\n\
         `X` analysis tables (SQL on FHIR views), `R` research release.\n\n\
         | code | severity | meaning |\n|---|---|---|\n",
    );
    for c in cli::all_codes() {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.id,
            c.severity,
            c.summary.replace('|', "\\|")
        ));
    }
    s
}

#[test]
fn diagnostic_codes_are_unique_well_formed_and_documented() {
    let codes = cli::all_codes();
    assert!(codes.len() > 20);
    for w in codes.windows(2) {
        assert_ne!(w[0].id, w[1].id, "duplicate diagnostic code");
    }
    for c in &codes {
        let b = c.id.as_bytes();
        assert!(
            b.len() == 4
                && b"EHSUKTMVCYAXR".contains(&b[0])
                && b[1..].iter().all(u8::is_ascii_digit),
            "code id {} must be a stage letter and three digits",
            c.id
        );
        assert!(!c.summary.is_empty());
    }
    let path = repo().join("docs/diagnostics.md");
    let want = render_codes_doc();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(&path, &want).unwrap();
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/diagnostics.md is stale: run UPDATE_EXPECT=1 cargo test -p tests --test tidy"
    );
}

fn members() -> Vec<String> {
    let manifest = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let start = manifest.find("members = [").unwrap();
    let end = start + manifest[start..].find(']').unwrap();
    manifest[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_crate_states_its_job() {
    for m in members() {
        let lib = repo().join(&m).join("src/lib.rs");
        let text = fs::read_to_string(&lib).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
        assert!(
            text.starts_with("//! "),
            "{m}/src/lib.rs must open with a //! line stating its job"
        );
        assert!(
            text.contains("#![deny(missing_docs)]"),
            "{m}: #![deny(missing_docs)] missing"
        );
    }
}

#[test]
fn crates_depend_one_way() {
    // Which of our crates each crate may depend on (normal dependencies).
    let allowed: &[(&str, &[&str])] = &[
        ("diagnostics", &[]),
        ("parsers", &["diagnostics"]),
        ("terminologies", &["diagnostics"]),
        ("fhir", &["diagnostics"]),
        ("synth", &["diagnostics"]),
        (
            "mappers",
            &["diagnostics", "parsers", "terminologies", "fhir"],
        ),
        (
            "coverage",
            &["diagnostics", "parsers", "terminologies", "mappers"],
        ),
        ("views", &["diagnostics", "fhir"]),
        ("research", &["diagnostics", "fhir", "views"]),
        (
            "pipeline",
            &["diagnostics", "parsers", "terminologies", "mappers", "fhir"],
        ),
    ];
    let ours = members();
    for (krate, ok) in allowed {
        let manifest = fs::read_to_string(repo().join(krate).join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or("")
            .split("\n[")
            .next()
            .unwrap_or("");
        for line in deps.lines() {
            let name = line.split(['=', '.']).next().unwrap_or("").trim();
            if ours.iter().any(|m| m == name) {
                assert!(ok.contains(&name), "{krate} must not depend on {name}");
            }
        }
    }
}

/// The pipeline is a library any front end can use: nothing of the command line
/// (argument parsing, progress bars, the binary's allocator) or of the analytics
/// stack reaches it, directly or through another crate (read from `Cargo.lock`).
#[test]
fn the_pipeline_pulls_in_no_front_end_or_analytics_crate() {
    let lock = fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let mut deps: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .unwrap()
            .trim_end_matches('"')
            .to_owned();
        let list = block
            .split("dependencies = [")
            .nth(1)
            .map(|d| d.split(']').next().unwrap_or(""))
            .unwrap_or("");
        let names = list
            .split('"')
            .skip(1)
            .step_by(2)
            .map(|d| d.split(' ').next().unwrap_or(d).to_owned());
        deps.entry(name).or_default().extend(names);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec!["pipeline".to_owned()];
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(deps.get(&n).cloned().unwrap_or_default());
        }
    }
    assert!(
        seen.contains("mappers") && seen.contains("rusqlite"),
        "{seen:?}"
    );
    for banned in [
        "clap",
        "indicatif",
        "polars",
        "polars-io",
        "mimalloc",
        "cli",
        "coverage",
    ] {
        assert!(!seen.contains(banned), "pipeline depends on {banned}");
    }
}

/// Every file below `dir`, skipping build outputs, run outputs and dot-folders.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !(name.starts_with('.') || ["target", "actual", "kakehashi-demo"].contains(&&*name))
            {
                files_under(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

/// Data taken from other projects is used from `../shared`, never copied in: no
/// file of the repository is a byte copy of a file there (the FHIR packages
/// included: they are installed into the package cache from there).
#[test]
fn data_from_other_projects_is_used_from_shared_not_copied() {
    let shared = tests::require_shared().unwrap_or_else(|e| panic!("{e}"));
    let mut theirs = Vec::new();
    files_under(&shared.join("data"), &mut theirs);
    files_under(&shared.join("fhir-profiles"), &mut theirs);
    assert!(
        theirs.len() > 100,
        "{} files in {}",
        theirs.len(),
        shared.display()
    );
    let mut by_size: std::collections::HashMap<u64, Vec<PathBuf>> = Default::default();
    for p in theirs {
        let len = fs::metadata(&p).unwrap().len();
        // Tiny files (a few bytes) match by chance; no data set is that small.
        if len >= 64 {
            by_size.entry(len).or_default().push(p);
        }
    }
    let mut ours = Vec::new();
    files_under(&repo(), &mut ours);
    let mut copies = Vec::new();
    for p in &ours {
        let Some(same_size) = by_size.get(&fs::metadata(p).unwrap().len()) else {
            continue;
        };
        let bytes = fs::read(p).unwrap();
        for s in same_size.iter().filter(|s| fs::read(s).unwrap() == bytes) {
            copies.push(format!(
                "{} = {}",
                p.strip_prefix(repo()).unwrap_or(p).display(),
                Path::new("../shared")
                    .join(s.strip_prefix(&shared).unwrap_or(s))
                    .display()
            ));
        }
    }
    assert!(
        copies.is_empty(),
        "byte copies of data in ../shared (read it from there instead):\n{}",
        copies.join("\n")
    );
}

/// The package diffs in `docs/packages-diff/` are what `kakehashi packages diff`
/// prints today: each is the expected output of its golden case
/// (`golden/packages/diff-<name>`), which the golden test checks.
#[test]
fn package_diff_docs_match_their_golden_cases() {
    let docs = repo().join("docs/packages-diff");
    let mut n = 0;
    for e in fs::read_dir(&docs).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let golden = repo().join(format!("golden/packages/diff-{name}/expected.out"));
        assert_eq!(
            fs::read(&path).unwrap(),
            fs::read(&golden).unwrap_or_default(),
            "{} differs from {} (copy the golden output over after UPDATE_EXPECT=1)",
            path.display(),
            golden.display()
        );
        n += 1;
    }
    assert!(n >= 2, "{n} package diffs in docs/packages-diff");
}

/// Nothing is found through the source tree: in the library and binary sources of
/// every crate (not `tests/`, `benches/`, `examples/`, not the harness crate `tests`), `CARGO_MANIFEST_DIR` and
/// `repository_root` appear only in test code, i.e. after a `#[cfg(test)]` line
/// (a test module or a test helper), or in the doc-hidden `packages::test_cache`.
/// `cli/tests/portable.rs` runs a copied binary; this keeps the paths out of it.
#[test]
fn the_binary_finds_nothing_through_the_source_tree() {
    let mut bad = Vec::new();
    // `tests` is the golden harness: test code as a whole.
    for member in members().into_iter().filter(|m| m != "tests") {
        let src = repo().join(&member).join("src");
        let mut files = Vec::new();
        files_under(&src, &mut files);
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        {
            let text = fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let rel = f.strip_prefix(&src).unwrap();
            let in_test_file = rel.file_name().is_some_and(|n| n == "tests.rs")
                || rel.components().any(|c| c.as_os_str() == "tests");
            for (i, line) in lines.iter().enumerate() {
                if in_test_file
                    || !(line.contains("CARGO_MANIFEST_DIR") || line.contains("repository_root"))
                    || line.trim_start().starts_with("//")
                {
                    continue;
                }
                // A test module above, or the attributes of the enclosing top-level item.
                let in_test_module = lines[..i]
                    .iter()
                    .any(|l| l.starts_with("mod tests") || l.starts_with("pub(crate) mod tests"));
                let item = (0..=i).rev().find(|&j| {
                    let l = lines[j];
                    !(l.is_empty()
                        || l.starts_with([' ', '}', ')', ']'])
                        || l.starts_with("//")
                        || l.starts_with("#["))
                });
                let test_code = in_test_module
                    || item.is_some_and(|j| {
                        lines[j].contains("fn test_cache")
                            || lines[..j]
                                .iter()
                                .rev()
                                .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
                                .any(|l| l.starts_with("#[cfg(test)]"))
                    });
                if !test_code {
                    bad.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "found through the source tree:\n{}",
        bad.join("\n")
    );
}
