//! The patient source: a storage walk grouped into one unit per patient, and the
//! one read of a patient's files (read, SS-MIX2 name and content checks, HL7
//! parsing, mapping of every message version) that `convert`, the clinical
//! documents, the receipts' linking and coverage all go through.
//!
//! - [`Storage::walk`] walks an input (a storage root, a plain folder of message
//!   files, one file), sorted, and groups the files by patient: the storage
//!   folder `aaa/bbb/<id>`, else the patient id of an SS-MIX2 file name, else the
//!   file itself. [`Storage::one_patient`] is the walk of one patient folder.
//! - [`Storage::files`] reads a patient's files one at a time ([`SourceFile`]:
//!   the entry, its bytes or the I/O error, its patient id), optionally only those
//!   whose name a filter keeps.
//! - [`read_patient`] maps every message of a patient's files
//!   ([`mappers::message::map`]) into [`SourceMessage`]s, with the diagnostics in
//!   input order and the accounting of every file and message ([`FileTally`]);
//!   [`PatientMessages::assemble`] keeps the current versions
//!   ([`mappers::assemble`]) and says what became of each message.
//!
//! The patient id a message is mapped under is always the storage folder's
//! (`aaa/bbb/<id>`), else the id in the file's SS-MIX2 name.

use crate::walk::{Entry, Packed, Root, Step, Walk};
use diagnostics::{Diagnostic, Diagnostics, Location};
use mappers::assemble::{self, Assembled, Fate, SourceMessage};
use parsers::ssmix2::{self, FileName};
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// One patient's files, in walk (path) order.
#[derive(Debug)]
pub struct PatientFiles {
    /// The patient key: `aaa/bbb/<id>` for a storage folder, else the SS-MIX2
    /// name's patient id, else the file name.
    pub key: String,
    files: Vec<Packed>,
}

impl PatientFiles {
    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the patient has no file (never, for a walked storage).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// An input walked and grouped by patient. The file list of a whole storage is
/// the one input-sized structure of a run, so it is held packed (one string per
/// file).
pub struct Storage {
    root: Root,
    patients: Vec<PatientFiles>,
    /// Extended-storage folders found (not converted): one `S` diagnostic each.
    pub extended: Diagnostics,
    /// Paths that could not be listed, in walk order (the walk went on).
    pub errors: Vec<(String, io::Error)>,
}

/// The patient a file belongs to: its storage folder (`aaa/bbb/<id>`), else the
/// id in its SS-MIX2 name, else the file itself.
fn patient_key(components: &[String]) -> String {
    if components.len() >= 4 {
        return components[..3].join("/");
    }
    let name = components.last().map(String::as_str).unwrap_or_default();
    match name.split('_').next() {
        Some(id) if name.split('_').count() == 7 => id.to_owned(),
        _ => name.to_owned(),
    }
}

impl Storage {
    /// Walks the input at `path` (resolved), shown as `display`, and groups its
    /// files by patient (sorted by patient key; files in walk order).
    pub fn walk(path: PathBuf, display: &str) -> Storage {
        let root = Root::new(path.clone(), display);
        Storage::group(root, Walk::new(path, display))
    }

    /// The folder of patient `id` below the storage root `path` (`aaa/bbb/<id>`,
    /// shown below `display`) as a storage of one patient; `None` when there is no
    /// such folder.
    pub fn one_patient(path: PathBuf, display: &str, id: &str) -> Option<Storage> {
        let (Some(l1), Some(l2)) = (id.get(..3), id.get(3..6)) else {
            return None;
        };
        if !path.join(l1).join(l2).join(id).is_dir() {
            return None;
        }
        let prefix = [l1.to_owned(), l2.to_owned(), id.to_owned()];
        let root = Root::new(path.clone(), display);
        Some(Storage::group(root, Walk::below(path, display, &prefix)))
    }

    fn group(root: Root, walk: Walk) -> Storage {
        let mut by_patient: BTreeMap<String, Vec<Packed>> = BTreeMap::new();
        let mut extended = Diagnostics::default();
        let mut errors = Vec::new();
        for step in walk {
            match step {
                Step::File(e) => by_patient
                    .entry(patient_key(&e.components))
                    .or_default()
                    .push(e.pack()),
                Step::Extended(e) => extended.push(
                    Diagnostic::new(
                        &ssmix2::codes::EXTENDED_STORAGE,
                        "extended-storage folder recognised; not converted",
                    )
                    .at(Location::default().file(e.display)),
                ),
                Step::Error(path, e) => errors.push((path, e)),
            }
        }
        Storage {
            root,
            patients: by_patient
                .into_iter()
                .map(|(key, files)| PatientFiles { key, files })
                .collect(),
            extended,
            errors,
        }
    }

    /// The patients, sorted by key.
    pub fn patients(&self) -> &[PatientFiles] {
        &self.patients
    }

    /// The entries of a patient's files (no file is read).
    pub fn entries<'a>(&'a self, p: &'a PatientFiles) -> impl Iterator<Item = Entry> + 'a {
        p.files.iter().map(|f| self.root.unpack(f))
    }

    /// Reads a patient's files one at a time, in walk order, those whose entry
    /// `keep` accepts.
    pub fn files<'a>(
        &'a self,
        p: &'a PatientFiles,
        keep: impl Fn(&Entry) -> bool + 'a,
    ) -> impl Iterator<Item = SourceFile> + 'a {
        self.entries(p).filter(move |e| keep(e)).map(|entry| {
            let bytes = std::fs::read(&entry.path);
            SourceFile { entry, bytes }
        })
    }
}

/// One file of a patient, read.
pub struct SourceFile {
    /// Where it is and how it is shown.
    pub entry: Entry,
    /// Its bytes, or why they could not be read.
    pub bytes: io::Result<Vec<u8>>,
}

/// What a file holds.
pub enum Content {
    /// A UKE receipt file (recognised by content): receipts are linked, not converted.
    Receipt,
    /// An SS-MIX2 message file, parsed (name, HL7, diagnostics located at the file).
    Messages(Box<ssmix2::MessageFile>),
}

impl SourceFile {
    /// Parses the file's bytes (`None` when they could not be read).
    pub fn content(&self) -> Option<Content> {
        let bytes = self.bytes.as_ref().ok()?;
        if parsers::uke::looks_like_uke(bytes) {
            return Some(Content::Receipt);
        }
        let comps: Vec<&str> = self.entry.components.iter().map(String::as_str).collect();
        let mut f = ssmix2::read_file(&comps, bytes);
        f.diagnostics.set_file(&self.entry.display);
        Some(Content::Messages(Box::new(f)))
    }

    /// The patient id the file's messages are mapped under: the storage folder's
    /// (`aaa/bbb/<id>`), else the id in the SS-MIX2 name.
    pub fn patient_id<'a>(&'a self, name: &'a FileName) -> &'a str {
        if self.entry.components.len() >= 4 {
            &self.entry.components[2]
        } else {
            &name.patient_id
        }
    }

    /// True when the file name says data type `data_type` (before it is read).
    pub fn named_type(entry: &Entry, data_type: &str) -> bool {
        entry
            .components
            .last()
            .is_some_and(|n| n.split('_').nth(2) == Some(data_type))
    }
}

/// The accounting of a patient's files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTally {
    /// Files read (or tried).
    pub files: usize,
    /// Files that could not be read (`C001`).
    pub unreadable: usize,
    /// Message files holding no message.
    pub empty_files: usize,
    /// UKE receipt files among the patient's files.
    pub receipt_files: usize,
    /// Messages of files without an SS-MIX2 name (not mapped).
    pub unnamed_messages: usize,
}

/// One message as [`read_patient`] hands it to a caller's hook, before it is kept.
pub struct MessageRead<'a> {
    /// The mapper input (file, patient id, message).
    pub input: &'a mappers::Input<'a>,
    /// The file's SS-MIX2 name.
    pub name: &'a FileName,
}

/// A patient's messages, mapped, with what reading them said.
#[derive(Default)]
pub struct PatientMessages {
    /// The patient's local id: the storage folder's, else the first SS-MIX2 name's.
    pub local_id: String,
    /// Every message of every version, in file order.
    pub messages: Vec<SourceMessage>,
    /// Parser and mapper diagnostics, in input order (`C001` for unreadable files).
    pub diagnostics: Diagnostics,
    /// The accounting of the files.
    pub tally: FileTally,
    /// The first file that could not be read (its path and error).
    pub first_unreadable: Option<(PathBuf, io::Error)>,
}

/// Reads and maps every message of a patient's files (those `keep` accepts). The
/// mappers' diagnostics follow each file's parser diagnostics; `hook` sees every
/// message of a named file (the documents read stays from them); `lap` is called
/// after each file is read and after it is mapped (phase timers).
pub fn read_patient<'s>(
    storage: &'s Storage,
    patient: &'s PatientFiles,
    ctx: &mappers::Context<'_>,
    keep: impl Fn(&Entry) -> bool + 's,
    mut hook: impl FnMut(MessageRead<'_>),
    lap: &mut dyn FnMut(ReadPhase),
) -> PatientMessages {
    let mut out = PatientMessages::default();
    for file in storage.files(patient, keep) {
        out.tally.files += 1;
        lap(ReadPhase::Read);
        let content = match &file.bytes {
            Err(e) => {
                out.tally.unreadable += 1;
                out.diagnostics.push(
                    Diagnostic::new(&crate::codes::UNREADABLE, format!("cannot read: {e}"))
                        .at(Location::default().file(file.entry.display.clone())),
                );
                if out.first_unreadable.is_none() {
                    out.first_unreadable = Some((
                        file.entry.path.clone(),
                        io::Error::new(e.kind(), e.to_string()),
                    ));
                }
                continue;
            }
            Ok(_) => file.content(),
        };
        let mut f = match content {
            None => continue,
            Some(Content::Receipt) => {
                out.tally.receipt_files += 1;
                continue;
            }
            Some(Content::Messages(f)) => f,
        };
        out.diagnostics.extend(std::mem::take(&mut f.diagnostics));
        let Some(name) = f.name.as_ref() else {
            out.tally.unnamed_messages += f.hl7.messages().count();
            continue;
        };
        let patient_id = file.patient_id(name);
        if out.local_id.is_empty() {
            patient_id.clone_into(&mut out.local_id);
        }
        let mut any = false;
        for m in f.hl7.messages() {
            any = true;
            let input = mappers::Input {
                file: &file.entry.display,
                folder_patient_id: patient_id,
                message: m,
            };
            let mut collected = mappers::Findings::default();
            let mapped = mappers::message::map(ctx, &input, &name.data_type, &mut collected);
            hook(MessageRead {
                input: &input,
                name,
            });
            out.diagnostics.extend(collected.diagnostics);
            out.messages.push(SourceMessage {
                file: file.entry.display.clone(),
                data_type: name.data_type.clone(),
                order_no: name.order_no.clone(),
                written_at: name.written_at.clone(),
                condition: name.condition,
                mapped,
            });
        }
        if !any {
            out.tally.empty_files += 1;
        }
        lap(ReadPhase::ParseMap);
    }
    out
}

/// The phases of [`read_patient`], for timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPhase {
    /// A file read.
    Read,
    /// A file parsed and its messages mapped.
    ParseMap,
}

/// A patient's records assembled, and what became of each message.
pub struct AssembledPatient {
    /// The current versions grouped into units ([`mappers::assemble`]).
    pub assembled: Assembled,
    /// Each message's outcome, in message order: `mapped`, or `skipped: <why>`
    /// (a data type carrying none of the items, a superseded or deleted version).
    pub outcomes: Vec<String>,
}

impl PatientMessages {
    /// Keeps the current versions ([`mappers::assemble`] under `local_id`) and
    /// says what became of each message.
    pub fn assemble(self, local_id: &str) -> (AssembledPatient, Diagnostics, FileTally) {
        let skipped: Vec<Option<&'static str>> =
            self.messages.iter().map(|m| m.mapped.skipped).collect();
        let assembled = assemble::assemble(local_id, self.messages);
        let outcomes = assembled
            .fates
            .iter()
            .zip(skipped)
            .map(|(fate, skip)| match (fate, skip) {
                (Fate::Current, Some(reason)) => format!("skipped: {reason}"),
                (Fate::Current, None) => "mapped".to_owned(),
                (f, _) => format!("skipped: {}", f.as_str()),
            })
            .collect();
        (
            AssembledPatient {
                assembled,
                outcomes,
            },
            self.diagnostics,
            self.tally,
        )
    }
}
