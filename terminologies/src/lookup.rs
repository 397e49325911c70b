//! The lookup API mappers consume: (source system, key) → targets with
//! equivalence and lineage (table id@version, row id). Pure: built from tables
//! already parsed, no I/O.
//!
//! Only approved rows are used unless [`Options::allow_unreviewed`] is set, in which
//! case unreviewed and suggested rows are used too and every result they produce is
//! marked draft. Rejected, flagged, invalid-target and retired rows are never
//! used. A key that no usable row maps is *unmapped*: the mapper keeps the local
//! coding, reports [`unmapped_diagnostic`] and adds the key to a [`Worklist`] —
//! a code is never invented.
//!
//! ```
//! use terminologies::lookup::{Index, Options, Query, Terminology};
//! use terminologies::{Equivalence, Row, SourceKey, Status, Table};
//! let mut t = Table::default();
//! t.meta.id = "demo".into();
//! t.meta.version = "1".into();
//! t.meta.source_system = "urn:kakehashi:local:site:99X03".into();
//! t.rows.push(Row {
//!     id: "r00001".into(),
//!     source: SourceKey::code("10222"),
//!     target_system: "http://medis.or.jp/CodeSystem/master-JLAC10-17digits".into(),
//!     target_code: "3A010000002327101".into(),
//!     equivalence: Some(Equivalence::Equivalent),
//!     status: Status::Approved,
//!     ..Row::default()
//! });
//! let index = Index::new(&[t]);
//! let r = index.translate(&Query::code("urn:kakehashi:local:site:99X03", "10222"), Options::default());
//! let first = r.targets().next().unwrap();
//! assert_eq!(first.code, "3A010000002327101");
//! assert_eq!(first.lineage(), "demo@1#r00001");
//! ```

use crate::codes;
use crate::table::{Equivalence, SourceKey, Status, Table};
use diagnostics::{Diagnostic, Excerpt};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// What a mapper asks: a source system and the key parts it has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<'a> {
    /// Source system URI (for local codes `urn:kakehashi:local:<site>:<name>`).
    pub system: &'a str,
    /// Source code (empty for a name-only disease).
    pub code: &'a str,
    /// Specimen (labs), empty if none.
    pub specimen: &'a str,
    /// Unit (labs), empty if none.
    pub unit: &'a str,
    /// Free-text name (diseases without a code), empty if none.
    pub text: &'a str,
}

impl<'a> Query<'a> {
    /// A query by code only.
    pub fn code(system: &'a str, code: &'a str) -> Query<'a> {
        Query {
            system,
            code,
            ..Query::default()
        }
    }
}

/// Lookup options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Use unreviewed and suggested rows too; their results are marked draft.
    pub allow_unreviewed: bool,
}

/// One target of a translation, with its lineage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation<'t> {
    /// Target system URI.
    pub system: &'t str,
    /// Target code.
    pub code: &'t str,
    /// Target display.
    pub display: &'t str,
    /// Equivalence of the target to the source.
    pub equivalence: Equivalence,
    /// True when the row is not approved (only with `allow_unreviewed`).
    pub draft: bool,
    /// Table id.
    pub table_id: &'t str,
    /// Table version.
    pub table_version: &'t str,
    /// Row id.
    pub row_id: &'t str,
}

impl Translation<'_> {
    /// `table@version#row`.
    pub fn lineage(&self) -> String {
        format!("{}@{}#{}", self.table_id, self.table_version, self.row_id)
    }
}

#[derive(Debug)]
struct Entry {
    specimen: String,
    unit: String,
    text: String,
    target_system: u32,
    target_code: String,
    target_display: String,
    equivalence: Option<Equivalence>,
    status: Status,
    table: usize,
    row_id: String,
}

impl Entry {
    /// How specifically the entry matches the query (`None`: it does not).
    #[inline]
    fn score(&self, q: &Query<'_>) -> Option<u8> {
        let mut s = 0;
        for (e, q) in [
            (&self.specimen, q.specimen),
            (&self.unit, q.unit),
            (&self.text, q.text),
        ] {
            if !e.is_empty() {
                if e != q {
                    return None;
                }
                s += 1;
            }
        }
        Some(s)
    }

    #[inline]
    fn usable(&self, opts: Options) -> bool {
        match self.status {
            Status::Approved => true,
            Status::Unreviewed | Status::Suggested => opts.allow_unreviewed,
            _ => false,
        }
    }
}

/// FxHash (rustc's hasher): fast for short keys; no DoS concern for tables we load.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// What mappers depend on: a narrow, pure translation interface.
pub trait Terminology {
    /// Translates a source key.
    fn translate<'s, 'q>(&'s self, q: &Query<'q>, opts: Options) -> Resolution<'s, 'q>;
}

/// The answer to one query: the most specific usable rows for the key.
#[derive(Clone, Copy, Debug)]
pub struct Resolution<'t, 'q> {
    entries: &'t [Entry],
    query: Query<'q>,
    score: u8,
    opts: Options,
    tables: &'t [(String, String)],
    systems: &'t [String],
    /// Unreviewed or suggested rows for the key that were not used (because
    /// `allow_unreviewed` was off): work waiting for a reviewer.
    pub pending: usize,
}

impl<'t> Resolution<'t, '_> {
    fn chosen(&self) -> impl Iterator<Item = &'t Entry> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.usable(self.opts) && e.score(&self.query) == Some(self.score))
    }

    /// The targets (positive equivalences only), in table order.
    pub fn targets(&self) -> impl Iterator<Item = Translation<'t>> + '_ {
        let tables = self.tables;
        let systems = self.systems;
        self.chosen().filter_map(move |e| {
            let eq = e.equivalence?;
            if eq.is_negative() || e.target_code.is_empty() {
                return None;
            }
            let (id, version) = tables
                .get(e.table)
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .unwrap_or(("", ""));
            Some(Translation {
                system: systems
                    .get(e.target_system as usize)
                    .map(String::as_str)
                    .unwrap_or(""),
                code: &e.target_code,
                display: &e.target_display,
                equivalence: eq,
                draft: e.status != Status::Approved,
                table_id: id,
                table_version: version,
                row_id: &e.row_id,
            })
        })
    }

    /// True when at least one target was found.
    pub fn is_mapped(&self) -> bool {
        self.targets().next().is_some()
    }

    /// True when a usable row says there is no match (unmatched / disjoint): the
    /// key was reviewed and has no target; it belongs on no worklist.
    pub fn is_known_unmatched(&self) -> bool {
        !self.is_mapped()
            && self
                .chosen()
                .any(|e| e.equivalence.is_some_and(Equivalence::is_negative))
    }

    /// True when any target used is draft.
    pub fn is_draft(&self) -> bool {
        self.targets().any(|t| t.draft)
    }
}

/// An in-memory index over tables. Rows for one (system, code) are contiguous, so
/// a query is a short scan of the source systems, one hash lookup and a scan of a
/// few entries.
#[derive(Debug, Default)]
pub struct Index {
    tables: Vec<(String, String)>,
    /// Target systems, interned (entries hold an index).
    systems: Vec<String>,
    /// Source system → (code or `\0text` → entry range). Few systems: a vector.
    map: Vec<(String, Buckets)>,
    entries: Vec<Entry>,
}

/// Code (or `\0text`) → range of entries.
type Buckets = HashMap<Box<str>, (u32, u32), Fx>;

fn bucket_key(k: &SourceKey) -> Box<str> {
    if k.code.is_empty() {
        format!("\u{0}{}", k.text).into_boxed_str()
    } else {
        k.code.as_str().into()
    }
}

impl Index {
    /// Builds an index over tables (earlier tables come first in results).
    pub fn new(tables: &[Table]) -> Index {
        let mut index = Index {
            tables: tables
                .iter()
                .map(|t| (t.meta.id.clone(), t.meta.version.clone()))
                .collect(),
            ..Index::default()
        };
        // (source system, bucket key, table, row): sorted stably, so rows of one
        // key stay in table order.
        let mut order: Vec<(u32, Box<str>, u32, u32)> =
            Vec::with_capacity(tables.iter().map(|t| t.rows.len()).sum());
        for (ti, t) in tables.iter().enumerate() {
            let si = match index
                .map
                .iter()
                .position(|(s, _)| *s == t.meta.source_system)
            {
                Some(i) => i,
                None => {
                    index
                        .map
                        .push((t.meta.source_system.clone(), HashMap::default()));
                    index.map.len() - 1
                }
            };
            for (ri, r) in t.rows.iter().enumerate() {
                order.push((si as u32, bucket_key(&r.source), ti as u32, ri as u32));
            }
        }
        order.sort();
        index.entries.reserve(order.len());
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j < order.len() && order[j].0 == order[i].0 && order[j].1 == order[i].1 {
                j += 1;
            }
            let start = index.entries.len() as u32;
            for (_, _, ti, ri) in &order[i..j] {
                let t = &tables[*ti as usize];
                let r = &t.rows[*ri as usize];
                let sys = match index.systems.iter().position(|s| *s == r.target_system) {
                    Some(p) => p,
                    None => {
                        index.systems.push(r.target_system.clone());
                        index.systems.len() - 1
                    }
                } as u32;
                index.entries.push(Entry {
                    specimen: r.source.specimen.clone(),
                    unit: r.source.unit.clone(),
                    text: if r.source.code.is_empty() {
                        String::new()
                    } else {
                        r.source.text.clone()
                    },
                    target_system: sys,
                    target_code: r.target_code.clone(),
                    target_display: r.target_display.clone(),
                    equivalence: r.equivalence,
                    status: r.status,
                    table: *ti as usize,
                    row_id: r.id.clone(),
                });
            }
            let end = index.entries.len() as u32;
            let (si, key) = (order[i].0 as usize, order[i].1.clone());
            if let Some((_, m)) = index.map.get_mut(si) {
                m.insert(key, (start, end));
            }
            i = j;
        }
        index
    }

    /// Number of rows indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no row is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Terminology for Index {
    fn translate<'s, 'q>(&'s self, q: &Query<'q>, opts: Options) -> Resolution<'s, 'q> {
        // A name-only query matches rows keyed by text; the text is then not a key part.
        let query = if q.code.is_empty() {
            Query { text: "", ..*q }
        } else {
            *q
        };
        let empty = Resolution {
            entries: &[],
            query,
            score: 0,
            opts,
            tables: &self.tables,
            systems: &self.systems,
            pending: 0,
        };
        let Some((_, sys)) = self.map.iter().find(|(s, _)| s == q.system) else {
            return empty;
        };
        let found = if q.code.is_empty() {
            sys.get(format!("\u{0}{}", q.text).as_str())
        } else {
            sys.get(q.code)
        };
        let Some(&(start, end)) = found else {
            return empty;
        };
        let all = &self.entries[start as usize..end as usize];
        let mut best: Option<u8> = None;
        let mut pending = 0;
        for e in all {
            let Some(s) = e.score(&query) else { continue };
            if !e.usable(opts) {
                if matches!(e.status, Status::Unreviewed | Status::Suggested) {
                    pending += 1;
                }
            } else if best.is_none_or(|b| s > b) {
                best = Some(s);
            }
        }
        Resolution {
            entries: if best.is_some() { all } else { &[] },
            score: best.unwrap_or(0),
            pending,
            ..empty
        }
    }
}

/// The diagnostic a mapper reports for an unmapped key (the source code goes in
/// the excerpt; it is not PHI).
pub fn unmapped_diagnostic(q: &Query<'_>) -> Diagnostic {
    let mut key = q.code.to_owned();
    for (name, v) in [("specimen", q.specimen), ("unit", q.unit)] {
        if !v.is_empty() {
            key.push_str(&format!(" {name}={v}"));
        }
    }
    Diagnostic::new(
        &codes::UNMAPPED,
        format!("no approved mapping for a code of {}", q.system),
    )
    .excerpt(Excerpt::text(key))
}

/// The diagnostic a mapper reports when it used a draft (not approved) target.
pub fn draft_diagnostic(t: &Translation<'_>) -> Diagnostic {
    Diagnostic::new(
        &codes::DRAFT_MAPPING,
        format!("target from an unreviewed row ({})", t.lineage()),
    )
    .excerpt(Excerpt::text(t.code))
}

/// One key to map, with how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkItem {
    /// Source system URI.
    pub system: String,
    /// Source key.
    pub key: SourceKey,
    /// A display seen with the code (first seen).
    pub display: String,
    /// Number of times seen.
    pub count: u64,
}

/// Unmapped keys collected during a run (sorted output, deterministic).
#[derive(Clone, Debug, Default)]
pub struct Worklist {
    items: BTreeMap<(String, SourceKey), (String, u64)>,
}

impl Worklist {
    /// Records one unmapped occurrence.
    pub fn add(&mut self, q: &Query<'_>, display: &str) {
        let key = SourceKey {
            code: q.code.into(),
            specimen: q.specimen.into(),
            unit: q.unit.into(),
            text: q.text.into(),
        };
        let e = self
            .items
            .entry((q.system.into(), key))
            .or_insert_with(|| (display.into(), 0));
        e.1 += 1;
    }

    /// The items, sorted by system and key.
    pub fn items(&self) -> Vec<WorkItem> {
        self.items
            .iter()
            .map(|((system, key), (display, count))| WorkItem {
                system: system.clone(),
                key: key.clone(),
                display: display.clone(),
                count: *count,
            })
            .collect()
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is unmapped.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Row;

    const SYS: &str = "urn:kakehashi:local:s:99X03";
    const JLAC: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";

    fn row(
        id: &str,
        code: &str,
        specimen: &str,
        target: &str,
        eq: Equivalence,
        status: Status,
    ) -> Row {
        Row {
            id: id.into(),
            source: SourceKey {
                code: code.into(),
                specimen: specimen.into(),
                ..SourceKey::default()
            },
            target_system: if target.is_empty() {
                String::new()
            } else {
                JLAC.into()
            },
            target_code: target.into(),
            equivalence: Some(eq),
            status,
            ..Row::default()
        }
    }

    fn table(rows: Vec<Row>) -> Table {
        let mut t = Table::default();
        t.meta.id = "t".into();
        t.meta.version = "2".into();
        t.meta.source_system = SYS.into();
        t.rows = rows;
        t
    }

    #[test]
    fn approved_only_by_default_and_draft_when_allowed() {
        let t = table(vec![
            row(
                "r1",
                "A",
                "",
                "3A010000002327101",
                Equivalence::Equivalent,
                Status::Approved,
            ),
            row(
                "r2",
                "B",
                "",
                "3A015000002327101",
                Equivalence::Equivalent,
                Status::Unreviewed,
            ),
            row(
                "r3",
                "C",
                "",
                "3A015000002327101",
                Equivalence::Equivalent,
                Status::Rejected,
            ),
        ]);
        let ix = Index::new(&[t]);
        let d = Options::default();
        let a = ix.translate(&Query::code(SYS, "A"), d);
        assert_eq!(
            a.targets().map(|t| t.lineage()).collect::<Vec<_>>(),
            ["t@2#r1"]
        );
        assert!(!a.is_draft());
        let b = ix.translate(&Query::code(SYS, "B"), d);
        assert!(!b.is_mapped());
        assert_eq!(b.pending, 1);
        let b2 = ix.translate(
            &Query::code(SYS, "B"),
            Options {
                allow_unreviewed: true,
            },
        );
        assert!(b2.is_mapped() && b2.is_draft());
        let c = ix.translate(
            &Query::code(SYS, "C"),
            Options {
                allow_unreviewed: true,
            },
        );
        assert!(!c.is_mapped());
        assert_eq!(
            ix.translate(&Query::code(SYS, "C"), d).pending,
            0,
            "rejected rows are not pending"
        );
        assert!(!ix.translate(&Query::code(SYS, "Z"), d).is_mapped());
        assert!(!ix.translate(&Query::code("other", "A"), d).is_mapped());
    }

    #[test]
    fn specific_specimen_wins_over_generic() {
        let t = table(vec![
            row(
                "g",
                "A",
                "",
                "3A010000002327101",
                Equivalence::Equivalent,
                Status::Approved,
            ),
            row(
                "s",
                "A",
                "023",
                "3A010000002327102",
                Equivalence::Equivalent,
                Status::Approved,
            ),
            row(
                "p",
                "A",
                "022",
                "3A010000002227101",
                Equivalence::Equivalent,
                Status::Approved,
            ),
        ]);
        let ix = Index::new(&[t]);
        let q = |sp| Query {
            system: SYS,
            code: "A",
            specimen: sp,
            ..Query::default()
        };
        let codes = |sp| {
            ix.translate(&q(sp), Options::default())
                .targets()
                .map(|t| t.row_id.to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("023"), ["s"]);
        assert_eq!(codes("022"), ["p"]);
        assert_eq!(codes("001"), ["g"]);
        assert_eq!(codes(""), ["g"]);
    }

    #[test]
    fn known_unmatched_is_not_a_target() {
        let t = table(vec![row(
            "u",
            "X",
            "",
            "",
            Equivalence::Unmatched,
            Status::Approved,
        )]);
        let ix = Index::new(&[t]);
        let r = ix.translate(&Query::code(SYS, "X"), Options::default());
        assert!(!r.is_mapped());
        assert!(r.is_known_unmatched());
    }

    #[test]
    fn name_only_diseases_are_keyed_by_text() {
        let mut r = row(
            "n",
            "",
            "",
            "3A010000002327101",
            Equivalence::Equivalent,
            Status::Approved,
        );
        r.source.text = "かぜ".into();
        let ix = Index::new(&[table(vec![r])]);
        let q = Query {
            system: SYS,
            text: "かぜ",
            ..Query::default()
        };
        assert!(ix.translate(&q, Options::default()).is_mapped());
        let q = Query {
            system: SYS,
            text: "せき",
            ..Query::default()
        };
        assert!(!ix.translate(&q, Options::default()).is_mapped());
    }

    #[test]
    fn worklist_counts_and_sorts() {
        let mut w = Worklist::default();
        w.add(&Query::code(SYS, "B"), "b");
        w.add(&Query::code(SYS, "A"), "a");
        w.add(&Query::code(SYS, "B"), "b2");
        let items = w.items();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].key.code.as_str(), items[0].count), ("A", 1));
        assert_eq!(
            (
                items[1].key.code.as_str(),
                items[1].count,
                items[1].display.as_str()
            ),
            ("B", 2, "b")
        );
        assert_eq!(unmapped_diagnostic(&Query::code(SYS, "B")).code.id, "T030");
    }
}
