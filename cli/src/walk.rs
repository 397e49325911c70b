//! Lazy, sorted walk over the inputs of a command: files, plain folders of message
//! files and SS-MIX2 storage trees. One entry at a time; directory entries are
//! sorted by name so every run visits files in the same order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One file found under an input.
#[derive(Debug)]
pub struct Entry {
    /// Path to open.
    pub path: PathBuf,
    /// Path components relative to the input folder (just the file name for an
    /// input that is a file).
    pub components: Vec<String>,
    /// Path to show: the input as the user wrote it, joined with the components.
    pub display: String,
}

impl Entry {
    /// The entry in one allocation, for commands that hold the file list of a
    /// whole storage while they work through it ([`Root::unpack`] gives it back).
    pub fn pack(&self) -> Packed {
        Packed(self.components.join("/").into_boxed_str())
    }
}

/// An [`Entry`] packed as its components joined by `/` (a file name never holds
/// one): a tenth of the memory of the entry, which keeps the walk's three
/// copies of the path (path, components, display).
#[derive(Debug)]
pub struct Packed(Box<str>);

/// The input a walk started from, to unpack its [`Packed`] entries.
pub struct Root {
    path: PathBuf,
    display: String,
    is_file: bool,
}

impl Root {
    /// The input at `path` (resolved), shown as `display`, as [`Walk::new`] takes it.
    pub fn new(path: PathBuf, display: &str) -> Root {
        let is_file = fs::metadata(&path).is_ok_and(|m| !m.is_dir());
        Root {
            path,
            display: display.trim_end_matches('/').to_owned(),
            is_file,
        }
    }

    /// The entry the walk gave, rebuilt from its packed form.
    pub fn unpack(&self, p: &Packed) -> Entry {
        let components: Vec<String> = p.0.split('/').map(str::to_owned).collect();
        if self.is_file {
            return Entry {
                path: self.path.clone(),
                components,
                display: self.display.clone(),
            };
        }
        let mut path = self.path.clone();
        for c in &components {
            path.push(c);
        }
        Entry {
            path,
            display: format!("{}/{}", self.display, p.0),
            components,
        }
    }
}

/// A walk step: a file, or a problem with a path (reported, the walk goes on).
pub enum Step {
    /// A regular file.
    File(Entry),
    /// A folder that is SS-MIX2 extended storage (not descended into).
    Extended(Entry),
    /// A path that could not be read: what could not be done to which path
    /// (`cannot read storage/x`, `cannot list folder storage/000`), and why.
    Error(String, io::Error),
}

struct Level {
    dir: PathBuf,
    components: Vec<String>,
    entries: std::vec::IntoIter<(String, bool)>,
}

/// Walks one input given on the command line.
pub struct Walk {
    display_root: String,
    pending_file: Option<Entry>,
    stack: Vec<Level>,
    pending_error: Option<(String, io::Error)>,
}

impl Walk {
    /// Starts a walk at `path` (resolved), shown as `display`.
    pub fn new(path: PathBuf, display: &str) -> Walk {
        let mut w = Walk {
            display_root: display.trim_end_matches('/').to_owned(),
            pending_file: None,
            stack: Vec::new(),
            pending_error: None,
        };
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => w.enter(path, Vec::new()),
            Ok(_) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                w.pending_file = Some(Entry {
                    path,
                    components: vec![name],
                    display: display.to_owned(),
                });
            }
            Err(e) => w.pending_error = Some((format!("cannot read {display}"), e)),
        }
        w
    }

    fn enter(&mut self, dir: PathBuf, components: Vec<String>) {
        let listing = fs::read_dir(&dir).and_then(|rd| {
            let mut v = Vec::new();
            for e in rd {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                // Follow symlinks to files, but never descend into linked folders.
                let is_dir = e.file_type()?.is_dir();
                v.push((name, is_dir));
            }
            v.sort();
            Ok(v)
        });
        match listing {
            Ok(v) => self.stack.push(Level {
                dir,
                components,
                entries: v.into_iter(),
            }),
            Err(e) => {
                self.pending_error =
                    Some((format!("cannot list folder {}", self.show(&components)), e))
            }
        }
    }

    fn show(&self, components: &[String]) -> String {
        if components.is_empty() {
            self.display_root.clone()
        } else {
            format!("{}/{}", self.display_root, components.join("/"))
        }
    }
}

fn is_extended_folder(components: &[String]) -> bool {
    // <l1>/<l2>/<id>/<date>/<data type folder>: a data-type folder with '^' is
    // extended storage (拡張ストレージ).
    components.len() == 5 && components[4].contains('^')
}

impl Iterator for Walk {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if let Some((p, e)) = self.pending_error.take() {
            return Some(Step::Error(p, e));
        }
        if let Some(f) = self.pending_file.take() {
            return Some(Step::File(f));
        }
        loop {
            let level = self.stack.last_mut()?;
            let Some((name, is_dir)) = level.entries.next() else {
                self.stack.pop();
                continue;
            };
            let path = level.dir.join(&name);
            let mut components = level.components.clone();
            components.push(name);
            if is_dir {
                if is_extended_folder(&components) {
                    let display = self.show(&components);
                    return Some(Step::Extended(Entry {
                        path,
                        components,
                        display,
                    }));
                }
                self.enter(path, components);
                if let Some((p, e)) = self.pending_error.take() {
                    return Some(Step::Error(p, e));
                }
                continue;
            }
            let display = self.show(&components);
            return Some(Step::File(Entry {
                path,
                components,
                display,
            }));
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(w: Walk) -> Vec<Entry> {
        w.filter_map(|s| match s {
            Step::File(e) => Some(e),
            _ => None,
        })
        .collect()
    }

    #[test]
    fn packed_entries_unpack_to_what_the_walk_gave() {
        let dir = crate::scratch_dir("walk");
        let deep = dir.join("000/001/0000001/20250101/OML-11");
        fs::create_dir_all(&deep).unwrap();
        fs::write(
            deep.join("0000001_20250101_OML-11_1_20250101120000000_01_1"),
            b"x",
        )
        .unwrap();
        fs::write(dir.join("loose file"), b"y").unwrap();
        for (input, shown) in [
            (dir.clone(), "storage/"),
            (dir.join("loose file"), "one/loose file"),
        ] {
            let root = Root::new(input.clone(), shown);
            let walked = files(Walk::new(input, shown));
            assert!(!walked.is_empty());
            for e in walked {
                let back = root.unpack(&e.pack());
                assert_eq!(back.path, e.path);
                assert_eq!(back.components, e.components);
                assert_eq!(back.display, e.display);
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
