//! Table governance: review (approve / reject / flag by filter, even split of
//! rows between reviewers, summary), row-level diff of two versions of a table,
//! and migration when a master changes. Every function edits a [`Table`] in
//! memory and never removes a row; [`lost_rows`] lets the caller prove it before
//! saving.

use crate::check::Master;
use crate::codes;
use crate::table::{Row, SourceKey, Status, Table};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which rows a review action applies to. Empty criteria match every row.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Row ids.
    pub rows: Vec<String>,
    /// Statuses.
    pub status: Vec<Status>,
    /// Source codes starting with this.
    pub code_prefix: String,
    /// Target system URI.
    pub target_system: String,
    /// Minimum confidence (rows without a numeric confidence do not match).
    pub min_confidence: Option<f64>,
    /// `mapping_justification` (e.g. `semapv:LexicalMatching`).
    pub method: String,
}

impl Filter {
    /// True when the row meets every criterion.
    pub fn matches(&self, r: &Row) -> bool {
        (self.rows.is_empty() || self.rows.contains(&r.id))
            && (self.status.is_empty() || self.status.contains(&r.status))
            && r.source.code.starts_with(&self.code_prefix)
            && (self.target_system.is_empty() || r.target_system == self.target_system)
            && self
                .min_confidence
                .is_none_or(|m| r.confidence.parse::<f64>().map(|c| c >= m).unwrap_or(false))
            && (self.method.is_empty() || r.method == self.method)
    }
}

/// A review decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// → approved (needs a target or a negative equivalence).
    Approve,
    /// → rejected.
    Reject,
    /// → flagged (needs discussion).
    Flag,
}

impl Action {
    fn status(self) -> Status {
        match self {
            Action::Approve => Status::Approved,
            Action::Reject => Status::Rejected,
            Action::Flag => Status::Flagged,
        }
    }
}

fn row_loc(r: &Row) -> Location {
    let mut l = Location::default().field(FieldPath::new("TSV", 1).named("row_id"));
    if r.line > 0 {
        l = l.line(r.line);
    }
    l
}

/// Applies `action` by `reviewer` on `date` to every row the filter matches.
/// Rows that cannot take the action (approving a row with neither a target nor
/// an equivalence, or one whose target is invalid) are left as they were and
/// reported. Returns the ids of the rows changed.
pub fn review(
    table: &mut Table,
    filter: &Filter,
    action: Action,
    reviewer: &str,
    date: &str,
    comment: &str,
) -> (Vec<String>, Diagnostics) {
    let mut d = Diagnostics::default();
    let mut changed = Vec::new();
    for r in table.rows.iter_mut().filter(|r| filter.matches(r)) {
        if action == Action::Approve {
            let why = if r.status == Status::InvalidTarget {
                Some("its target is invalid; fix the target first")
            } else if r.equivalence.is_none() {
                Some("it has no target and no equivalence (use unmatched for a reviewed no-match)")
            } else {
                None
            };
            if let Some(why) = why {
                d.push(
                    Diagnostic::new(&codes::REVIEW_SKIPPED, format!("row not approved: {why}"))
                        .at(row_loc(r))
                        .excerpt(Excerpt::text(&r.id)),
                );
                continue;
            }
        }
        r.status = action.status();
        r.reviewer = reviewer.to_owned();
        r.review_date = date.to_owned();
        if !comment.is_empty() {
            if r.comment.is_empty() {
                r.comment = comment.to_owned();
            } else {
                r.comment = format!("{}; {comment}", r.comment);
            }
        }
        changed.push(r.id.clone());
    }
    (changed, d)
}

/// The column that records who a row is assigned to for review.
pub const ASSIGNED_COLUMN: &str = "assigned_to";

/// Splits the rows the filter matches evenly (contiguous blocks in file order,
/// sizes differing by at most one) between reviewers, recording each in the
/// `assigned_to` column. Returns (reviewer, row count) in the given order.
pub fn assign(table: &mut Table, filter: &Filter, reviewers: &[String]) -> Vec<(String, usize)> {
    if reviewers.is_empty() {
        return Vec::new();
    }
    let col = match table
        .extra_columns
        .iter()
        .position(|c| c == ASSIGNED_COLUMN)
    {
        Some(i) => i,
        None => {
            table.extra_columns.push(ASSIGNED_COLUMN.to_owned());
            for r in &mut table.rows {
                r.extra.push(String::new());
            }
            table.extra_columns.len() - 1
        }
    };
    let idx: Vec<usize> = (0..table.rows.len())
        .filter(|&i| filter.matches(&table.rows[i]))
        .collect();
    let n = reviewers.len();
    let (base, rest) = (idx.len() / n, idx.len() % n);
    let mut out = Vec::new();
    let mut at = 0;
    for (j, who) in reviewers.iter().enumerate() {
        let take = base + usize::from(j < rest);
        for &i in &idx[at..at + take] {
            let r = &mut table.rows[i];
            if r.extra.len() <= col {
                r.extra.resize(col + 1, String::new());
            }
            r.extra[col] = who.clone();
        }
        at += take;
        out.push((who.clone(), take));
    }
    out
}

/// Row counts by status, and by reviewer and status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReviewSummary {
    /// Status → rows.
    pub by_status: BTreeMap<&'static str, usize>,
    /// Reviewer (empty: none) → status → rows.
    pub by_reviewer: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Assignee → rows still waiting (unreviewed or suggested).
    pub open_by_assignee: BTreeMap<String, usize>,
}

/// Counts rows by status and reviewer.
pub fn summary(table: &Table) -> ReviewSummary {
    let mut s = ReviewSummary::default();
    let col = table
        .extra_columns
        .iter()
        .position(|c| c == ASSIGNED_COLUMN);
    for r in &table.rows {
        *s.by_status.entry(r.status.as_str()).or_default() += 1;
        *s.by_reviewer
            .entry(r.reviewer.clone())
            .or_default()
            .entry(r.status.as_str())
            .or_default() += 1;
        if let Some(c) = col
            && !r.status.is_reviewed()
            && let Some(who) = r.extra.get(c).filter(|w| !w.is_empty())
        {
            *s.open_by_assignee.entry(who.clone()).or_default() += 1;
        }
    }
    s
}

/// One row-level difference between two versions of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Only in the new version.
    Added(Row),
    /// Only in the old version.
    Removed(Row),
    /// Same row, another target (old, new).
    Retargeted(Row, Row),
    /// Same row and target, another status (old, new).
    StatusChanged(Row, Row),
    /// Same row, target and status; other cells differ (old, new).
    Edited(Row, Row),
}

fn same_cells(a: &Row, b: &Row) -> bool {
    let mut x = a.clone();
    x.line = b.line;
    x == *b
}

/// Compares two versions of a table row by row. Rows pair by row id when both
/// have it with the same source key, then by source key in file order; what
/// stays unpaired is added or removed.
pub fn diff(old: &Table, new: &Table) -> Vec<Change> {
    let mut paired_new: BTreeSet<usize> = BTreeSet::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let new_by_id: HashMap<&str, usize> = new
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut unpaired_old = Vec::new();
    for (i, r) in old.rows.iter().enumerate() {
        match new_by_id.get(r.id.as_str()) {
            Some(&j) if new.rows[j].source == r.source && paired_new.insert(j) => {
                pairs.push((i, j))
            }
            _ => unpaired_old.push(i),
        }
    }
    let mut by_key: BTreeMap<&SourceKey, Vec<usize>> = BTreeMap::new();
    for (j, r) in new.rows.iter().enumerate() {
        if !paired_new.contains(&j) {
            by_key.entry(&r.source).or_default().push(j);
        }
    }
    let mut removed = Vec::new();
    for i in unpaired_old {
        let r = &old.rows[i];
        let cands = by_key.get_mut(&r.source);
        // Prefer a row with the same target, else the first with that key.
        let pick = cands.and_then(|c| {
            let k = c
                .iter()
                .position(|&j| {
                    new.rows[j].target_system == r.target_system
                        && new.rows[j].target_code == r.target_code
                })
                .or(if c.is_empty() { None } else { Some(0) })?;
            Some(c.remove(k))
        });
        match pick {
            Some(j) => {
                paired_new.insert(j);
                pairs.push((i, j));
            }
            None => removed.push(i),
        }
    }
    pairs.sort();
    let mut out = Vec::new();
    for (i, j) in pairs {
        let (a, b) = (&old.rows[i], &new.rows[j]);
        if a.target_system != b.target_system || a.target_code != b.target_code {
            out.push(Change::Retargeted(a.clone(), b.clone()));
        } else if a.status != b.status {
            out.push(Change::StatusChanged(a.clone(), b.clone()));
        } else if !same_cells(a, b) {
            out.push(Change::Edited(a.clone(), b.clone()));
        }
    }
    out.extend(
        removed
            .into_iter()
            .map(|i| Change::Removed(old.rows[i].clone())),
    );
    out.extend(
        (0..new.rows.len())
            .filter(|j| !paired_new.contains(j))
            .map(|j| Change::Added(new.rows[j].clone())),
    );
    out
}

/// What [`migrate`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrateSummary {
    /// Rows whose target system one of the masters covers.
    pub checked: usize,
    /// Rows marked invalid-target because the target is retired or missing.
    pub retired: usize,
    /// Rows marked invalid-target because the target's display changed.
    pub changed: usize,
    /// Suggested rows added for replacements the master names.
    pub replacements: usize,
}

fn note(r: &mut Row, s: &str) {
    if r.comment.is_empty() {
        r.comment = s.to_owned();
    } else {
        r.comment = format!("{}; {s}", r.comment);
    }
}

/// Checks every live row's target against the masters of its system: a target
/// retired in or missing from the master, or whose display the master changed,
/// makes the row `invalid-target` with the reason in its comment; where the master
/// names a replacement, a `suggested` row with it is added (never approved).
/// Rows already rejected, retired or invalid are left alone. The masters' versions
/// are added to the table's `master_versions`.
pub fn migrate(
    table: &mut Table,
    masters: &[Master],
    author: &str,
    date: &str,
) -> (MigrateSummary, Diagnostics) {
    let mut s = MigrateSummary::default();
    let mut d = Diagnostics::default();
    let by_system: HashMap<&str, &Master> =
        masters.iter().map(|m| (m.system.as_str(), m)).collect();
    let mut next = table
        .next_row_id()
        .trim_start_matches('r')
        .parse::<u64>()
        .unwrap_or(1);
    let existing: BTreeSet<(SourceKey, String, String)> = table
        .rows
        .iter()
        .map(|r| {
            (
                r.source.clone(),
                r.target_system.clone(),
                r.target_code.clone(),
            )
        })
        .collect();
    let mut added = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for r in &mut table.rows {
        if !r.has_target()
            || matches!(
                r.status,
                Status::Rejected | Status::Retired | Status::InvalidTarget
            )
        {
            continue;
        }
        let Some(m) = by_system.get(r.target_system.as_str()) else {
            continue;
        };
        s.checked += 1;
        used.insert(m.system.clone());
        let version = if m.version.is_empty() {
            String::new()
        } else {
            format!(" {}", m.version)
        };
        match m.codes.get(&r.target_code) {
            Some(display) if r.target_display.is_empty() || display == &r.target_display => {}
            Some(display) => {
                s.changed += 1;
                d.push(
                    Diagnostic::new(
                        &codes::TARGET_CHANGED,
                        format!("row {}: the master{version} changed the display", r.id),
                    )
                    .at(row_loc(r))
                    .excerpt(Excerpt::text(display)),
                );
                note(
                    r,
                    &format!(
                        "migrate: master{version} changed the display from {} to {display}",
                        r.target_display
                    ),
                );
                r.status = Status::InvalidTarget;
            }
            None => {
                s.retired += 1;
                let replacement = m.retired.get(&r.target_code).filter(|c| !c.is_empty());
                let why = match (m.retired.contains_key(&r.target_code), replacement) {
                    (true, Some(by)) => format!("retired in master{version}, replaced by {by}"),
                    (true, None) => format!("retired in master{version}"),
                    (false, _) => format!("not in master{version}"),
                };
                d.push(
                    Diagnostic::new(&codes::TARGET_RETIRED, format!("row {}: {why}", r.id))
                        .at(row_loc(r))
                        .excerpt(Excerpt::text(&r.target_code)),
                );
                note(r, &format!("migrate: {why}"));
                let old_code = r.target_code.clone();
                r.status = Status::InvalidTarget;
                if let Some(by) = replacement
                    && !existing.contains(&(r.source.clone(), r.target_system.clone(), by.clone()))
                {
                    let mut n = r.clone();
                    n.id = format!("r{next:05}");
                    next += 1;
                    n.line = 0;
                    n.target_code = by.clone();
                    n.target_display = m.codes.get(by).cloned().unwrap_or_default();
                    n.status = Status::Suggested;
                    n.method = "semapv:MappingChaining".into();
                    n.justification = format!(
                        "master replacement: {old_code} replaced by {by} in master{version}"
                    );
                    n.reviewer.clear();
                    n.review_date.clear();
                    n.comment.clear();
                    n.confidence.clear();
                    n.author = author.to_owned();
                    n.author_date = date.to_owned();
                    added.push(n);
                    s.replacements += 1;
                }
            }
        }
    }
    table.rows.extend(added);
    for m in masters {
        let v = format!("{} {}", m.system, m.version).trim().to_owned();
        if used.contains(&m.system) && !table.meta.master_versions.contains(&v) {
            table.meta.master_versions.push(v);
        }
    }
    (s, d)
}

/// Row ids of `before` that `after` no longer has (empty when nothing was lost).
/// Callers check this before saving a table they rewrote.
pub fn lost_rows(before: &Table, after: &Table) -> Vec<String> {
    let have: BTreeSet<&str> = after.rows.iter().map(|r| r.id.as_str()).collect();
    before
        .rows
        .iter()
        .filter(|r| !have.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Equivalence;

    const SYS: &str = "http://example.org/cs";

    fn row(id: &str, code: &str, target: &str, status: Status) -> Row {
        Row {
            id: id.into(),
            source: SourceKey::code(code),
            target_system: if target.is_empty() { "" } else { SYS }.into(),
            target_code: target.into(),
            target_display: if target.is_empty() {
                String::new()
            } else {
                format!("name {target}")
            },
            equivalence: (!target.is_empty()).then_some(Equivalence::Equivalent),
            status,
            method: "semapv:LexicalMatching".into(),
            confidence: "0.9".into(),
            reviewer: if status == Status::Approved {
                "seed"
            } else {
                ""
            }
            .into(),
            review_date: if status == Status::Approved {
                "2026-01-01"
            } else {
                ""
            }
            .into(),
            ..Row::default()
        }
    }

    fn table() -> Table {
        Table {
            rows: vec![
                row("r00001", "A", "X1", Status::Suggested),
                row("r00002", "B", "", Status::Unreviewed),
                row("r00003", "C", "X3", Status::Approved),
                row("r00004", "D", "X4", Status::Suggested),
                row("r00005", "E", "X5", Status::Suggested),
            ],
            ..Table::default()
        }
    }

    #[test]
    fn bulk_approve_by_filter_skips_what_cannot_be_approved() {
        let mut t = table();
        let f = Filter {
            status: vec![Status::Suggested, Status::Unreviewed],
            ..Filter::default()
        };
        let (changed, d) = review(&mut t, &f, Action::Approve, "dr-a", "2026-01-02", "");
        assert_eq!(changed, ["r00001", "r00004", "r00005"]);
        assert_eq!(d.iter().map(|x| x.code.id).collect::<Vec<_>>(), ["T070"]);
        assert_eq!(t.rows[1].status, Status::Unreviewed);
        assert_eq!(
            (t.rows[0].reviewer.as_str(), t.rows[0].review_date.as_str()),
            ("dr-a", "2026-01-02")
        );
        assert!(
            crate::check::check(&t, &[])
                .iter()
                .all(|x| x.code.id != "T022")
        );
        let f = Filter {
            rows: vec!["r00004".into()],
            ..Filter::default()
        };
        review(&mut t, &f, Action::Flag, "dr-b", "2026-01-03", "check unit");
        assert_eq!(t.rows[3].status, Status::Flagged);
        let s = summary(&t);
        assert_eq!(s.by_status["approved"], 3);
        assert_eq!(s.by_reviewer["dr-b"]["flagged"], 1);
    }

    #[test]
    fn even_split_between_reviewers() {
        let mut t = table();
        let who = vec!["a".to_owned(), "b".to_owned()];
        let got = assign(&mut t, &Filter::default(), &who);
        assert_eq!(got, [("a".to_owned(), 3), ("b".to_owned(), 2)]);
        assert_eq!(t.rows[2].extra, ["a"]);
        assert_eq!(t.rows[3].extra, ["b"]);
        let s = summary(&t);
        assert_eq!(s.open_by_assignee["a"], 2);
        // The column survives a round trip through SSSOM.
        t.meta.source_system = "urn:x".into();
        t.meta.uri = "urn:x:t".into();
        t.meta.id = "t".into();
        t.meta.license = "urn:x:l".into();
        let (back, d) = crate::table::parse_sssom(&t.to_sssom().unwrap());
        assert!(!d.has_errors(), "{d:?}");
        assert_eq!(back.rows[4].extra, ["b"]);
    }

    #[test]
    fn diff_reports_added_removed_retargeted_and_status_changes() {
        let old = table();
        let mut new = table();
        new.rows[0].target_code = "X9".into();
        new.rows[2].status = Status::Rejected;
        new.rows[3].comment = "note".into();
        new.rows.remove(4);
        new.rows.push(row("r00006", "F", "X6", Status::Suggested));
        let c = diff(&old, &new);
        let kinds: Vec<&str> = c
            .iter()
            .map(|c| match c {
                Change::Added(_) => "added",
                Change::Removed(_) => "removed",
                Change::Retargeted(..) => "retargeted",
                Change::StatusChanged(..) => "status",
                Change::Edited(..) => "edited",
            })
            .collect();
        assert_eq!(
            kinds,
            ["retargeted", "status", "edited", "removed", "added"]
        );
        assert!(diff(&old, &old).is_empty());
        assert_eq!(lost_rows(&old, &new), ["r00005"]);
    }

    #[test]
    fn migrate_marks_retired_and_changed_targets_and_suggests_replacements() {
        let mut t = table();
        let mut m = Master {
            system: SYS.into(),
            version: "2".into(),
            ..Master::default()
        };
        m.codes.insert("X1".into(), "name X1".into());
        m.codes.insert("X3".into(), "renamed".into());
        m.codes.insert("X7".into(), "name X7".into());
        m.retired.insert("X4".into(), "X7".into());
        let before = t.clone();
        let (s, d) = migrate(&mut t, &[m], "kakehashi migrate", "2026-02-01");
        assert_eq!(
            s,
            MigrateSummary {
                checked: 4,
                retired: 2,
                changed: 1,
                replacements: 1
            }
        );
        assert_eq!(d.len(), 3);
        assert_eq!(t.rows[0].status, Status::Suggested);
        assert_eq!(t.rows[2].status, Status::InvalidTarget);
        assert!(t.rows[3].comment.contains("replaced by X7"));
        let n = t.rows.last().unwrap();
        assert_eq!(
            (n.target_code.as_str(), n.status, n.source.code.as_str()),
            ("X7", Status::Suggested, "D")
        );
        assert!(t.rows[4].comment.contains("not in master 2"));
        assert!(lost_rows(&before, &t).is_empty());
        assert_eq!(t.meta.master_versions, [format!("{SYS} 2")]);
    }
}
