//! Coverage analytics: which source codes occur in parsed inputs (SS-MIX2 storage,
//! UKE receipts), how often, and how the tracked mapping tables cover them —
//! mapped, draft (only unreviewed rows), unmatched by review, or unmapped — per
//! table and weighted by frequency. No file I/O: callers hand in parsed inputs and
//! get values and bytes (CSV, Parquet) back.
//!
//! Three steps:
//! - [`extract`]: counting. For SS-MIX2 the mappers themselves are run with a
//!   [`extract::Recorder`] in place of the tables, so exactly the keys the mappers
//!   would translate are counted (no mapping logic is repeated here); prescriptions,
//!   which the mappers do not convert, add their RXE-2 drug codes; receipts add
//!   SY/SI/IY/TO codes. Counts go into a [`Counter`].
//! - [`classify`]: each distinct key against the tables ([`terminologies::lookup`]).
//! - [`frame`]: the analytics with polars — per-table summary, the coverage frame,
//!   the unmapped worklist (most frequent first, ties by key), CSV and Parquet bytes.
//!
//! What counts as an occurrence: one look-up the conversion would make (so a code
//! sent in a standard system the mappers pass through unchanged, such as a JLAC10
//! code in OBX-3, is not counted, while a MEDIS 病名 code is, because the mappers
//! look it up in the crosswalk for ICD-10), one RXE segment, one receipt record
//! (SY modifiers each count once). Every file version in the storage is counted, as
//! stored; keys are (system, code, specimen, unit, name).
//!
//! ```
//! use coverage::{Counter, Source, classify};
//! use terminologies::lookup::{Index, Query};
//! let mut c = Counter::default();
//! let q = Query::code("http://terminology.hl7.org/CodeSystem/v2-0001", "F");
//! c.add(&q, Source::Ssmix2, "ADT-00", "");
//! c.add(&q, Source::Ssmix2, "ADT-00", "");
//! let rows = classify(&c, &Index::new(&[]), &[]);
//! assert_eq!((rows[0].occurrences(), rows[0].status), (2, coverage::Status::Unmapped));
//! let a = coverage::frame::analyse(&rows).unwrap();
//! assert_eq!(a.summary[0].occurrences, 2);
//! ```

#![deny(missing_docs)]

pub mod codes;
pub mod extract;
pub mod frame;

use std::collections::{BTreeMap, HashMap};
use terminologies::Table;
use terminologies::lookup::{Index, Options, Query, Terminology};

/// Where an occurrence was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// SS-MIX2 standardized storage (HL7 v2.5 messages).
    Ssmix2,
    /// UKE receipt files.
    Receipt,
}

/// One distinct source key and how often it occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Source system URI.
    pub system: String,
    /// Source code (empty for a name-only key).
    pub code: String,
    /// Specimen key part (labs), empty if none.
    pub specimen: String,
    /// Unit key part, empty if none.
    pub unit: String,
    /// Name key part (name-only diseases), empty if none.
    pub text: String,
    /// First non-empty display seen with the key.
    pub display: String,
    /// Occurrences in SS-MIX2 messages.
    pub ssmix2: u64,
    /// Occurrences in receipt records.
    pub receipts: u64,
    /// Contexts seen (bit i = [`Counter::contexts`]`[i]`).
    seen: u64,
}

/// Counts occurrences of source keys. Adding is one hash lookup; a key's strings
/// are allocated once, when it is first seen.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    by_key: HashMap<String, usize>,
    entries: Vec<Counted>,
    contexts: Vec<String>,
    buf: String,
    total: u64,
}

/// At most this many distinct contexts are told apart; later ones share the last bit.
const MAX_CONTEXTS: usize = 64;

impl Counter {
    /// Counts one occurrence of a key, seen in `context` (a data type such as
    /// `OML-11`, or a receipt record such as `UKE SY`), with a display if known.
    pub fn add(&mut self, q: &Query<'_>, source: Source, context: &str, display: &str) {
        self.buf.clear();
        for (i, part) in [q.system, q.code, q.specimen, q.unit, q.text]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                self.buf.push('\u{1f}');
            }
            self.buf.push_str(part);
        }
        let i = match self.by_key.get(self.buf.as_str()) {
            Some(&i) => i,
            None => {
                self.entries.push(Counted {
                    system: q.system.to_owned(),
                    code: q.code.to_owned(),
                    specimen: q.specimen.to_owned(),
                    unit: q.unit.to_owned(),
                    text: q.text.to_owned(),
                    ..Counted::default()
                });
                self.by_key.insert(self.buf.clone(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let bit = self.context_bit(context);
        self.total += 1;
        // `i` came from `by_key`, which only holds indices of `entries`.
        if let Some(e) = self.entries.get_mut(i) {
            match source {
                Source::Ssmix2 => e.ssmix2 += 1,
                Source::Receipt => e.receipts += 1,
            }
            e.seen |= bit;
            if e.display.is_empty() && !display.is_empty() {
                display.clone_into(&mut e.display);
            }
        }
    }

    /// Sets the display of a key already counted, if it has none yet.
    pub fn set_display(&mut self, q: &Query<'_>, display: &str) {
        if display.is_empty() {
            return;
        }
        let key = [q.system, q.code, q.specimen, q.unit, q.text].join("\u{1f}");
        if let Some(e) = self.by_key.get(&key).and_then(|&i| self.entries.get_mut(i))
            && e.display.is_empty()
        {
            display.clone_into(&mut e.display);
        }
    }

    fn context_bit(&mut self, context: &str) -> u64 {
        let i = match self.contexts.iter().position(|c| c == context) {
            Some(i) => i,
            None if self.contexts.len() < MAX_CONTEXTS => {
                self.contexts.push(context.to_owned());
                self.contexts.len() - 1
            }
            None => MAX_CONTEXTS - 1,
        };
        1u64 << i
    }

    /// The distinct keys, in first-seen order.
    pub fn entries(&self) -> &[Counted] {
        &self.entries
    }

    /// The contexts seen, in first-seen order.
    pub fn contexts(&self) -> &[String] {
        &self.contexts
    }

    /// The contexts a key was seen in, sorted, joined by `+`.
    pub fn seen_in(&self, e: &Counted) -> String {
        let mut v: Vec<&str> = (0..self.contexts.len())
            .filter(|i| e.seen & (1u64 << i) != 0)
            .filter_map(|i| self.contexts.get(i).map(String::as_str))
            .collect();
        v.sort_unstable();
        v.join("+")
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total occurrences counted.
    pub fn occurrences(&self) -> u64 {
        self.total
    }
}

/// How the tables cover a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// An approved row maps it.
    Mapped,
    /// Only unreviewed or suggested rows speak for it: waiting for a reviewer.
    Draft,
    /// A reviewer decided there is no target (approved unmatched / disjoint row).
    UnmatchedByReview,
    /// No row of any table maps it.
    Unmapped,
}

impl Status {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Mapped => "mapped",
            Status::Draft => "draft",
            Status::UnmatchedByReview => "unmatched-by-review",
            Status::Unmapped => "unmapped",
        }
    }

    /// Every status, in output order.
    pub const ALL: [Status; 4] = [
        Status::Mapped,
        Status::Draft,
        Status::UnmatchedByReview,
        Status::Unmapped,
    ];
}

/// One distinct key with its classification: a row of the coverage frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The key and its counts.
    pub key: Counted,
    /// Contexts the key was seen in (`ADT-00+OML-11`, `UKE SY`, …).
    pub seen_in: String,
    /// Coverage status.
    pub status: Status,
    /// The table(s) the key belongs to: the table of the row used, else every
    /// table whose source system is the key's (joined by `+`), else empty.
    pub table: String,
    /// Target system of the first target (mapped or draft), else empty.
    pub target_system: String,
    /// Target code, else empty.
    pub target_code: String,
    /// Target display, else empty.
    pub target_display: String,
    /// Lineage `table@version#row` of the first target, else empty.
    pub lineage: String,
}

impl Row {
    /// Occurrences over all sources.
    pub fn occurrences(&self) -> u64 {
        self.key.ssmix2 + self.key.receipts
    }
}

/// Classifies every counted key against the tables: approved targets → mapped; a
/// reviewed "no match" → unmatched by review; only unreviewed or suggested rows →
/// draft; nothing → unmapped. Rows come out in the counter's order.
pub fn classify(counter: &Counter, index: &Index, tables: &[Table]) -> Vec<Row> {
    let mut by_system: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in tables {
        let v = by_system.entry(t.meta.source_system.as_str()).or_default();
        if !v.contains(&t.meta.id.as_str()) {
            v.push(t.meta.id.as_str());
        }
    }
    counter
        .entries()
        .iter()
        .map(|e| {
            let q = Query {
                system: &e.system,
                code: &e.code,
                specimen: &e.specimen,
                unit: &e.unit,
                text: &e.text,
            };
            let approved = index.translate(&q, Options::default());
            let (status, target) = if let Some(t) = approved.targets().next() {
                (Status::Mapped, Some(t))
            } else if approved.is_known_unmatched() {
                (Status::UnmatchedByReview, None)
            } else if approved.pending > 0 {
                let draft = index.translate(
                    &q,
                    Options {
                        allow_unreviewed: true,
                    },
                );
                (Status::Draft, draft.targets().next())
            } else {
                (Status::Unmapped, None)
            };
            let table = match &target {
                Some(t) => t.table_id.to_owned(),
                None => by_system
                    .get(e.system.as_str())
                    .map(|v| v.join("+"))
                    .unwrap_or_default(),
            };
            Row {
                key: e.clone(),
                seen_in: counter.seen_in(e),
                status,
                table,
                target_system: target.map(|t| t.system.to_owned()).unwrap_or_default(),
                target_code: target.map(|t| t.code.to_owned()).unwrap_or_default(),
                target_display: target.map(|t| t.display.to_owned()).unwrap_or_default(),
                lineage: target.map(|t| t.lineage()).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
