//! Repository rules no compiler checks: diagnostic codes are unique and documented,
//! every crate states its job, the crates depend on each other only one way, data
//! taken from other projects is used from `../shared`, not copied in, and no public
//! function returns a string as its error.

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
        ("testkit", &[]),
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

/// `testkit` (test support: paths into the source tree and `../shared`) is a
/// dev-dependency only, so it never reaches a build of the binary.
#[test]
fn testkit_is_only_a_dev_dependency() {
    for m in members() {
        let manifest = fs::read_to_string(repo().join(&m).join("Cargo.toml")).unwrap();
        for section in manifest.split("\n[").skip(1) {
            let (head, body) = section.split_once(']').unwrap_or((section, ""));
            let uses = body
                .lines()
                .any(|l| l.split(['=', '.', ' ']).next() == Some("testkit"));
            assert!(
                !uses || head == "dev-dependencies",
                "{m}/Cargo.toml lists testkit under [{head}]: it may only be a dev-dependency"
            );
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

/// The Rust files below `member/src`, with their text.
fn rust_sources(member: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    files_under(&repo().join(member).join("src"), &mut files);
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| {
            let text = fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
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
/// every crate (not `tests/`, `benches/`, `examples/`, not the harness crate `tests` nor `testkit`), `CARGO_MANIFEST_DIR` and
/// `repository_root` appear only in test code, i.e. after a `#[cfg(test)]` line
/// (a test module or a test helper), or in the doc-hidden `packages::test_cache`.
/// `cli/tests/portable.rs` runs a copied binary; this keeps the paths out of it.
#[test]
fn the_binary_finds_nothing_through_the_source_tree() {
    let mut bad = Vec::new();
    // `tests` is the golden harness and `testkit` test support (a dev-dependency
    // only, checked above): test code as a whole.
    for member in members()
        .into_iter()
        .filter(|m| m != "tests" && m != "testkit")
    {
        let src = repo().join(&member).join("src");
        for (path, text) in rust_sources(&member) {
            let f = &path;
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

/// `text` with comments, string and character literals blanked out (line breaks
/// kept), so braces and `fn` inside them do not count.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                out.push(blank(b[i]));
                i += 1;
            }
            out.push_str("  ");
            i += 2;
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !b[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len()
                && !(b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')))
            {
                j += 1;
            }
            let end = (j + 1 + hashes).min(b.len());
            out.extend(b[i..end].iter().map(|&c| blank(c)));
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || b.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{…}'), not a lifetime.
            let mut j = i + 1;
            if b[j] == '\\' {
                j += 1;
            }
            j += 1;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.extend(b[i..=j.min(b.len() - 1)].iter().map(|&c| blank(c)));
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The public functions of a source file (comments and literals blanked) whose
/// return type is `Result<_, String>` or `Result<_, Box<dyn …Error…>>`: `pub fn`
/// anywhere, and every method of a `pub trait`. Each as `(line, signature)`; the
/// second value counts every public function seen.
fn string_errors(code: &str) -> (Vec<(usize, String)>, usize) {
    // The byte ranges of `pub trait` bodies.
    let mut traits = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("pub trait ") {
        let start = from + k;
        let Some(open) = code[start..].find('{').map(|o| start + o) else {
            break;
        };
        let mut depth = 0;
        let mut end = code.len();
        for (j, ch) in code[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        traits.push(open..end);
        from = open + 1;
    }
    let mut found = Vec::new();
    let mut public = 0;
    let mut from = 0;
    while let Some(k) = code[from..].find("fn ") {
        let at = from + k;
        from = at + 3;
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `…fn ` inside a longer word
        }
        let before = code[..at].trim_end();
        let is_pub = before.ends_with("pub")
            || before.ends_with("pub const")
            || before.ends_with("pub unsafe")
            || before.ends_with("pub async");
        if !(is_pub || traits.iter().any(|r| r.contains(&at))) {
            continue;
        }
        public += 1;
        let sig_end = code[at..].find(['{', ';']).map_or(code.len(), |e| at + e);
        let sig: String = code[at..sig_end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let Some((_, ret)) = sig.split_once("->") else {
            continue;
        };
        let ret = ret
            .split(" where ")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .replace(",>", ">");
        let stringly = ret.starts_with("Result<")
            && (ret.ends_with(",String>")
                || ret.ends_with(",std::string::String>")
                || (ret.contains(",Box<dyn") && ret.contains("Error")));
        if stringly {
            found.push((code[..at].lines().count(), sig));
        }
    }
    (found, public)
}

/// The checker finds what it must: `pub fn` and `pub trait` methods returning
/// `Result<_, String>` or a boxed error, not private functions, not text in
/// comments or strings.
#[test]
fn the_string_error_check_sees_what_it_must() {
    let sample = r#####"
pub fn a(x: &str) -> Result<(), String> { let _ = "}"; Ok(()) }
fn private() -> Result<(), String> { Ok(()) }
pub(crate) fn crate_only() -> Result<(), String> { Ok(()) }
// pub fn in_comment() -> Result<(), String>
const S: &str = "pub fn in_string() -> Result<(), String> {";
pub fn b<T>(
    t: T,
) -> Result<
    Vec<T>,
    String,
> where T: Clone {
    let c = '{';
    Ok(vec![t])
}
pub fn boxed() -> Result<u8, Box<dyn std::error::Error + Send>> { Ok(1) }
pub fn typed() -> Result<u8, MyError> { Ok(1) }
pub trait Store {
    fn load(&self) -> Result<Vec<u8>, String>;
    fn ok(&self) -> Result<(), MyError> { let s = r#"}"#; Ok(()) }
}
pub fn after_trait() -> Option<String> { None }
"#####;
    let (found, public) = string_errors(&code_only(sample));
    let names: Vec<&str> = found
        .iter()
        .map(|(_, s)| {
            s.trim_start_matches("fn ")
                .split(['(', '<'])
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(names, ["a", "b", "boxed", "load"], "{found:?}");
    assert_eq!(public, 7);
    assert_eq!(found[0].0, 2);
}

/// No public function of a library crate returns `Result<_, String>` (or a boxed
/// error standing in for one): errors that cross a crate boundary are enums
/// implementing `std::error::Error`, which callers can match (missing vs.
/// malformed), and I/O errors carry the path and the operation.
#[test]
fn no_public_function_returns_a_string_error() {
    let mut bad = Vec::new();
    let mut public = 0;
    for member in members() {
        for (f, text) in rust_sources(&member) {
            let (found, n) = string_errors(&code_only(&text));
            public += n;
            for (line, sig) in found {
                let rel = f.strip_prefix(repo()).unwrap_or(&f);
                bad.push(format!("{}:{line}: {sig}", rel.display()));
            }
        }
    }
    // A check that sees nothing proves nothing.
    assert!(public > 500, "only {public} public functions seen");
    assert!(
        bad.is_empty(),
        "public functions returning a string as their error (use an error enum \
         implementing std::error::Error):\n{}",
        bad.join("\n")
    );
}
