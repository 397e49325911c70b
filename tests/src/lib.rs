//! The golden-test harness: one [`check`] per case, one test that walks `golden/`.
//!
//! A case is a folder under `golden/` holding a file named `cmd`. Each non-empty
//! line not starting with `#` is a `kakehashi` command line (arguments separated by
//! spaces; paths relative to the case folder). The harness runs them in order,
//! in-process through [`cli::run`], with the case folder as working directory and
//! compares:
//!
//! - standard output with `expected.out` (with several commands, each command's
//!   output follows a `$ <command>` line),
//! - the exit code with `expected.exit` (one number per command),
//! - standard error with `expected.err` when that file exists,
//! - when the case has an `expected/` folder: every file the commands wrote under
//!   `actual/` with the file of the same path under `expected/` (both ways; files
//!   ending in `.sqlite` are state, not output, and are skipped). `actual/` is
//!   removed before the commands run.
//!
//! With `UPDATE_EXPECT=1` the expected files are rewritten instead (review the diff
//! before committing; CI never sets it). Input files of a case may sit anywhere in
//! its folder; data taken from other projects is read from `../shared` beside the
//! repository ([`shared_root`]) through relative paths, so expected outputs stay
//! machine-independent.

#![deny(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's `golden/` folder.
pub fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("golden")
}

/// `../shared` beside the repository: the data taken from other projects (the NHO
/// SS-MIX2 sample, J-FAGY, the JAMI ConceptMaps, the JP-CLINS examples). Cases reach
/// it as `../../../../shared/...` from their folder; CI always has it.
pub fn shared_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Why the harness cannot run a case.
#[derive(Debug)]
pub enum HarnessError {
    /// `../shared` beside the repository is missing (or lacks `data/` or
    /// `fhir-profiles/`).
    MissingShared(PathBuf),
    /// A file or folder of a case could not be read or removed.
    Io {
        /// What could not be done (`read`, `remove`).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A command wrote something that is not UTF-8 to a stream.
    NotUtf8 {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The error.
        error: std::string::FromUtf8Error,
    },
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::MissingShared(root) => write!(
                f,
                "{} is missing: golden cases read the data taken from other projects \
                 (NHO SS-MIX2 sample, J-FAGY, JAMI ConceptMaps, JP-CLINS examples) from \
                 ../shared beside the repository",
                root.display()
            ),
            HarnessError::Io { op, path, error } => {
                write!(f, "cannot {op} {}: {error}", path.display())
            }
            HarnessError::NotUtf8 { stream, error } => write!(f, "{stream} is not UTF-8: {error}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// [`shared_root`], or an error saying what is missing when it is not there.
pub fn require_shared() -> Result<PathBuf, HarnessError> {
    let root = shared_root();
    if ["data", "fhir-profiles"]
        .iter()
        .all(|d| root.join(d).is_dir())
    {
        Ok(root)
    } else {
        Err(HarnessError::MissingShared(root))
    }
}

/// Every case folder under `root` (folders that contain a `cmd` file), sorted.
pub fn cases(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(root, &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("cmd").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect(&e.path(), out);
        }
    }
}

/// The outcome of running one case.
#[derive(Debug)]
pub struct Outcome {
    /// Exit codes, one per command, space-separated.
    pub exit: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The command lines of a case.
fn command_lines(cmd: &str) -> Vec<&str> {
    cmd.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Runs the case's command lines in-process.
pub fn run_case(case: &Path) -> Result<Outcome, HarnessError> {
    let cmd_file = case.join("cmd");
    let cmd = fs::read_to_string(&cmd_file).map_err(|error| HarnessError::Io {
        op: "read",
        path: cmd_file,
        error,
    })?;
    let lines = command_lines(&cmd);
    let actual = case.join("actual");
    if actual.exists() {
        fs::remove_dir_all(&actual).map_err(|error| HarnessError::Io {
            op: "remove",
            path: actual.clone(),
            error,
        })?;
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut exits = Vec::new();
    for line in &lines {
        if lines.len() > 1 {
            stdout.extend_from_slice(format!("$ {line}\n").as_bytes());
        }
        let mut args = vec!["kakehashi".to_owned()];
        args.extend(line.split_whitespace().map(str::to_owned));
        let mut ctx = cli::Context {
            cwd: case.to_path_buf(),
            stdout: &mut stdout,
            stderr: &mut stderr,
            package_cache: cli::packages::test_cache(),
            warned: Default::default(),
        };
        exits.push(cli::run(args, &mut ctx).to_string());
    }
    Ok(Outcome {
        exit: exits.join(" "),
        stdout: String::from_utf8(stdout).map_err(|error| HarnessError::NotUtf8 {
            stream: "stdout",
            error,
        })?,
        stderr: String::from_utf8(stderr).map_err(|error| HarnessError::NotUtf8 {
            stream: "stderr",
            error,
        })?,
    })
}

/// Every file under `dir`, as paths relative to it, sorted (`.sqlite` skipped).
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_none_or(|x| x != "sqlite")
                && let Ok(rel) = p.strip_prefix(root)
            {
                out.push(rel.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Compares `actual/` with `expected/` (or copies it over with `update`).
fn compare_trees(case: &Path, update: bool, problems: &mut Vec<String>) {
    let (actual, expected) = (case.join("actual"), case.join("expected"));
    if update {
        if expected.exists()
            && let Err(e) = fs::remove_dir_all(&expected)
        {
            problems.push(format!("expected/: cannot clear: {e}"));
            return;
        }
        for rel in tree(&actual) {
            let to = expected.join(&rel);
            let copied = to
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|_| fs::copy(actual.join(&rel), &to).map(|_| ()));
            if let Err(e) = copied {
                problems.push(format!("expected/{}: cannot write: {e}", rel.display()));
            }
        }
        return;
    }
    let (a, e) = (tree(&actual), tree(&expected));
    for rel in e.iter().filter(|r| !a.contains(r)) {
        problems.push(format!("actual/{} was not written", rel.display()));
    }
    for rel in &a {
        let name = rel.display();
        let Ok(got) = fs::read(actual.join(rel)) else {
            problems.push(format!("actual/{name}: unreadable"));
            continue;
        };
        match fs::read(expected.join(rel)) {
            Err(_) => problems.push(format!(
                "actual/{name} is not expected (run with UPDATE_EXPECT=1)"
            )),
            Ok(want) if want != got => problems.push(format!(
                "actual/{name} differs from expected/{name}:\n{}",
                first_difference(
                    &String::from_utf8_lossy(&want),
                    &String::from_utf8_lossy(&got)
                )
            )),
            Ok(_) => {}
        }
    }
}

/// Checks one case; returns a description of every mismatch (empty when it passes).
pub fn check(case: &Path, update: bool) -> Vec<String> {
    let outcome = match run_case(case) {
        Ok(o) => o,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = Vec::new();
    let exit_text = format!("{}\n", outcome.exit);
    compare(
        case,
        "expected.exit",
        &exit_text,
        true,
        update,
        &mut problems,
    );
    compare(
        case,
        "expected.out",
        &outcome.stdout,
        true,
        update,
        &mut problems,
    );
    if case.join("expected").is_dir() || (update && case.join("actual").is_dir()) {
        compare_trees(case, update, &mut problems);
    }
    let err_required = case.join("expected.err").exists();
    compare(
        case,
        "expected.err",
        &outcome.stderr,
        err_required,
        update,
        &mut problems,
    );
    problems
}

fn compare(
    case: &Path,
    name: &str,
    actual: &str,
    required: bool,
    update: bool,
    problems: &mut Vec<String>,
) {
    let path = case.join(name);
    if update {
        if (required || !actual.is_empty())
            && let Err(e) = fs::write(&path, actual)
        {
            problems.push(format!("{name}: cannot write: {e}"));
        }
        return;
    }
    if !required {
        return;
    }
    match fs::read_to_string(&path) {
        Err(e) => problems.push(format!(
            "{name}: cannot read ({e}); run with UPDATE_EXPECT=1"
        )),
        Ok(expected) if expected != actual => problems.push(format!(
            "{name} differs:\n{}",
            first_difference(&expected, actual)
        )),
        Ok(_) => {}
    }
}

/// The first differing line of two texts, for a readable failure.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let mut e = expected.lines();
    let mut a = actual.lines();
    let mut n = 1;
    loop {
        match (e.next(), a.next()) {
            (None, None) => return "(texts differ only in line endings)".to_owned(),
            (x, y) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "  line {n}\n  expected: {}\n  actual:   {}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_skip_comments_and_blanks() {
        assert_eq!(
            command_lines("# setup\ninspect a\n\n  convert b --out actual  \n"),
            ["inspect a", "convert b --out actual"]
        );
    }

    #[test]
    fn trees_compare_both_ways() {
        let dir = std::env::temp_dir().join(format!("kakehashi-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("actual/x")).unwrap();
        fs::create_dir_all(dir.join("expected/x")).unwrap();
        fs::write(dir.join("actual/x/a.json"), "1").unwrap();
        fs::write(dir.join("expected/x/a.json"), "2").unwrap();
        fs::write(dir.join("expected/b.txt"), "b").unwrap();
        fs::write(dir.join("actual/state.sqlite"), "s").unwrap();
        let mut p = Vec::new();
        compare_trees(&dir, false, &mut p);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("b.txt was not written"));
        assert!(p[1].contains("x/a.json differs"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn first_difference_names_the_line() {
        let d = first_difference("a\nb\nc\n", "a\nx\nc\n");
        assert!(d.contains("line 2") && d.contains("expected: b") && d.contains("actual:   x"));
        assert!(first_difference("a\n", "a\nb\n").contains("expected: <end>"));
    }
}
