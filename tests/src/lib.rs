//! The golden-test harness: one [`check`] per case, one test that walks `golden/`.
//!
//! A case is a folder under `golden/` holding a file named `cmd`. Its first line is
//! a `kakehashi` command line (arguments separated by spaces; paths relative to the
//! case folder). The harness runs it in-process through [`cli::run`] with the case
//! folder as working directory and compares:
//!
//! - standard output with `expected.out`,
//! - the exit code with `expected.exit` (one number),
//! - standard error with `expected.err` when that file exists.
//!
//! With `UPDATE_EXPECT=1` the expected files are rewritten instead (review the diff
//! before committing; CI never sets it). Input files of a case may sit anywhere in
//! its folder.

#![deny(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's `golden/` folder.
pub fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("golden")
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
    /// Exit code.
    pub exit: u8,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the case's command line in-process.
pub fn run_case(case: &Path) -> Result<Outcome, String> {
    let cmd = fs::read_to_string(case.join("cmd")).map_err(|e| format!("cmd: {e}"))?;
    let line = cmd.lines().next().unwrap_or("").trim();
    let mut args = vec!["kakehashi".to_owned()];
    args.extend(line.split_whitespace().map(str::to_owned));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let exit = {
        let mut ctx = cli::Context {
            cwd: case.to_path_buf(),
            stdout: &mut stdout,
            stderr: &mut stderr,
        };
        cli::run(args, &mut ctx)
    };
    Ok(Outcome {
        exit,
        stdout: String::from_utf8(stdout).map_err(|e| format!("stdout is not UTF-8: {e}"))?,
        stderr: String::from_utf8(stderr).map_err(|e| format!("stderr is not UTF-8: {e}"))?,
    })
}

/// Checks one case; returns a description of every mismatch (empty when it passes).
pub fn check(case: &Path, update: bool) -> Vec<String> {
    let outcome = match run_case(case) {
        Ok(o) => o,
        Err(e) => return vec![e],
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
    fn first_difference_names_the_line() {
        let d = first_difference("a\nb\nc\n", "a\nx\nc\n");
        assert!(d.contains("line 2") && d.contains("expected: b") && d.contains("actual:   x"));
        assert!(first_difference("a\n", "a\nb\n").contains("expected: <end>"));
    }
}
