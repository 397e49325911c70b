//! Lazy, sorted walk over an input: a file, a plain folder of message files or an
//! SS-MIX2 storage tree. One entry at a time; directory entries are sorted by name
//! so every run visits files in the same order.

use std::fs;
use std::io;
use std::path::PathBuf;

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
    /// A path that could not be read.
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
            Err(e) => w.pending_error = Some((display.to_owned(), e)),
        }
        w
    }

    /// Starts a walk at the folder `prefix` below `root` (resolved), shown as
    /// `display`: entries carry their components from `root` (`prefix`
    /// included), as a walk of the whole of `root` would give them.
    pub fn below(root: PathBuf, display: &str, prefix: &[String]) -> Walk {
        let mut w = Walk {
            display_root: display.trim_end_matches('/').to_owned(),
            pending_file: None,
            stack: Vec::new(),
            pending_error: None,
        };
        let mut dir = root;
        for c in prefix {
            dir.push(c);
        }
        w.enter(dir, prefix.to_vec());
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
            Err(e) => self.pending_error = Some((self.show(&components), e)),
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
        let dir = testkit::scratch_dir("walk");
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
