//! Finding the inputs of a command: the walk over files, folders and SS-MIX2
//! storage trees ([`pipeline::walk`]), the repository's own files, and file lists.

pub(crate) use pipeline::walk::{Step, Walk};
use std::fs;
use std::path::{Path, PathBuf};

/// The repository the tests were built from (`kakehashi.toml`, `demo/`, the
/// tables). Tests only: the binary finds nothing through the source tree.
#[cfg(test)]
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Collects the files under `given` (a file, or a folder searched recursively),
/// sorted by path, keeping those whose file name `keep` accepts: `(shown, path)`
/// pairs, `shown` being `given` joined with the path below it.
pub(crate) fn collect_files(
    ctx: &crate::Context<'_>,
    given: &Path,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), crate::Failure> {
    let full = ctx.resolve(given);
    let meta = fs::metadata(&full).map_err(|e| crate::Failure::read(given, e))?;
    if meta.is_file() {
        out.push((given.display().to_string(), full));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(&full)
        .map_err(|e| crate::Failure::list(given, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let shown = given.join(&name);
        if p.is_dir() {
            collect_files(ctx, &shown, keep, out)?;
        } else if keep(&name) {
            out.push((shown.display().to_string(), p));
        }
    }
    Ok(())
}
