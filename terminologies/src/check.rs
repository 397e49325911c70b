//! The rules a tracked table must satisfy (`kakehashi tables check`).

use crate::codes;
use crate::system;
use crate::table::{Equivalence, Row, Status, Table};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location};
use std::collections::{BTreeMap, HashMap};

/// The codes of one system, as loaded from a master or CodeSystem resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Master {
    /// System URI.
    pub system: String,
    /// Version of the master.
    pub version: String,
    /// Code → display.
    pub codes: HashMap<String, String>,
    /// Code → other names: readings (kana), English names, synonyms (for `tables suggest`).
    pub names: HashMap<String, Vec<String>>,
    /// Codes the master lists as retired or deleted → the replacement it names
    /// (empty when none); they are not in [`Master::codes`].
    pub retired: HashMap<String, String>,
}

impl Master {
    /// True when the master has the code.
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains_key(code)
    }
}

fn at(row: &Row, column: &'static str) -> Location {
    let i = crate::table::COLUMNS
        .iter()
        .position(|c| *c == column)
        .unwrap_or(0) as u32
        + 1;
    let mut l = Location::default().field(FieldPath::new("TSV", i).named(column));
    if row.line > 0 {
        l = l.line(row.line);
    }
    l
}

/// Checks a table: duplicate keys and row ids, reviewer on approved rows,
/// equivalence/target consistency, target shape for its system, and (when a
/// master of the target system is given) that the target exists.
pub fn check(table: &Table, masters: &[Master]) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut keys: HashMap<(&crate::SourceKey, &str, &str), u32> = HashMap::new();
    let mut exact: BTreeMap<(&crate::SourceKey, &str), Vec<&str>> = BTreeMap::new();
    let source_cs = system::by_uri(&table.meta.source_system);
    let mut unknown_reported = std::collections::BTreeSet::new();
    for r in &table.rows {
        if r.id.is_empty() {
            d.push(Diagnostic::new(&codes::BAD_CELL, "row has no row id").at(at(r, "row_id")));
        } else if let Some(first) = ids.insert(&r.id, r.line) {
            d.push(
                Diagnostic::new(
                    &codes::DUPLICATE_ROW_ID,
                    format!("row id also used on line {first}"),
                )
                .at(at(r, "row_id"))
                .excerpt(Excerpt::text(&r.id)),
            );
        }
        if let Some(first) = keys.insert((&r.source, &r.target_system, &r.target_code), r.line) {
            d.push(
                Diagnostic::new(
                    &codes::DUPLICATE_KEY,
                    format!("same source key and target as line {first}"),
                )
                .at(at(r, "subject_id"))
                .excerpt(Excerpt::text(&r.source.code)),
            );
        }
        if r.status == Status::Approved && (r.reviewer.is_empty() || r.review_date.is_empty()) {
            d.push(
                Diagnostic::new(
                    &codes::APPROVED_WITHOUT_REVIEWER,
                    "approved row needs reviewer_label and review_date",
                )
                .at(at(r, "reviewer_label")),
            );
        }
        if r.author.is_empty() && r.status.is_reviewed() {
            d.push(
                Diagnostic::new(&codes::NO_AUTHOR, "reviewed row has no author_label")
                    .at(at(r, "author_label")),
            );
        }
        match (r.equivalence, r.has_target()) {
            (None, true) => d.push(
                Diagnostic::new(
                    &codes::TARGET_INCONSISTENT,
                    "row names a target but no equivalence",
                )
                .at(at(r, "equivalence")),
            ),
            (None, false)
                if r.status.is_reviewed()
                    && r.status != Status::Rejected
                    && r.status != Status::Retired =>
            {
                d.push(
                    Diagnostic::new(
                        &codes::TARGET_INCONSISTENT,
                        "reviewed row has neither a target nor an equivalence (use unmatched)",
                    )
                    .at(at(r, "equivalence")),
                )
            }
            (Some(Equivalence::Unmatched), true) => d.push(
                Diagnostic::new(
                    &codes::TARGET_INCONSISTENT,
                    "unmatched row must not name a target",
                )
                .at(at(r, "object_id")),
            ),
            (Some(e), false) if e != Equivalence::Unmatched => d.push(
                Diagnostic::new(
                    &codes::TARGET_INCONSISTENT,
                    format!("equivalence {} needs a target code", e.as_str()),
                )
                .at(at(r, "object_id")),
            ),
            _ => {}
        }
        if let Some(cs) = source_cs
            && !r.source.code.is_empty()
            && let Err(why) = cs.shape.check(&r.source.code)
        {
            d.push(
                Diagnostic::new(
                    &codes::BAD_SHAPE,
                    format!("source code is not a {} code: {why}", cs.key),
                )
                .at(at(r, "subject_id"))
                .excerpt(Excerpt::text(&r.source.code)),
            );
        }
        let settled = matches!(
            r.status,
            Status::InvalidTarget | Status::Rejected | Status::Retired
        );
        if r.has_target() && !settled {
            match system::by_uri(&r.target_system) {
                Some(cs) => {
                    if let Err(why) = cs.shape.check(&r.target_code) {
                        d.push(
                            Diagnostic::new(
                                &codes::BAD_SHAPE,
                                format!("target is not a {} code: {why}", cs.key),
                            )
                            .at(at(r, "object_id"))
                            .excerpt(Excerpt::text(&r.target_code)),
                        );
                    }
                }
                                None if !unknown_reported.insert(r.target_system.as_str()) => {}
                None => d.push(
                    Diagnostic::new(
                        &codes::UNKNOWN_TARGET_SYSTEM,
                        "target system is not in the registry; shape not checked (reported once per system)",
                    )
                    .at(at(r, "object_id"))
                    .excerpt(Excerpt::text(&r.target_system)),
                ),
            }
            let uri = system::by_uri(&r.target_system)
                .map(|c| c.uri)
                .unwrap_or(&r.target_system);
            if let Some(m) = masters
                .iter()
                .find(|m| m.system == uri || m.system == r.target_system)
                && !m.contains(&r.target_code)
                && matches!(
                    r.status,
                    Status::Approved | Status::Suggested | Status::Unreviewed | Status::Flagged
                )
            {
                d.push(
                    Diagnostic::new(
                        &codes::TARGET_NOT_IN_MASTER,
                        format!(
                            "target code is not in the loaded master (version {})",
                            m.version
                        ),
                    )
                    .at(at(r, "object_id"))
                    .excerpt(Excerpt::text(&r.target_code)),
                );
            }
            if r.status == Status::Approved
                && matches!(
                    r.equivalence,
                    Some(Equivalence::Equivalent | Equivalence::Equal)
                )
            {
                exact
                    .entry((&r.source, &r.target_system))
                    .or_default()
                    .push(&r.id);
            }
        }
    }
    for ((key, _), rows) in exact {
        if rows.len() > 1 {
            d.push(
                Diagnostic::new(
                    &codes::AMBIGUOUS_EXACT,
                    format!(
                        "rows {} are all approved exact matches in one system",
                        rows.join(", ")
                    ),
                )
                .excerpt(Excerpt::text(&key.code)),
            );
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{SourceKey, Table};

    const JLAC: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";

    fn row(id: &str, code: &str, target: &str, status: Status) -> Row {
        Row {
            id: id.into(),
            source: SourceKey::code(code),
            target_system: JLAC.into(),
            target_code: target.into(),
            equivalence: Some(Equivalence::Equivalent),
            status,
            author: "a".into(),
            reviewer: "r".into(),
            review_date: "2026-11-23".into(),
            line: 5,
            ..Row::default()
        }
    }

    fn ids(d: &Diagnostics) -> Vec<&str> {
        d.iter().map(|d| d.code.id).collect()
    }

    #[test]
    fn clean_table_has_no_findings() {
        let t = Table {
            rows: vec![row("r1", "A", "3A010000002327101", Status::Approved)],
            ..Table::default()
        };
        assert!(check(&t, &[]).is_empty());
    }

    #[test]
    fn each_rule_fires() {
        let mut t = Table::default();
        let mut no_rev = row("r3", "B", "3A015000002327101", Status::Approved);
        no_rev.reviewer.clear();
        let mut unm = row("r4", "C", "3A015000002327101", Status::Approved);
        unm.equivalence = Some(Equivalence::Unmatched);
        t.rows = vec![
            row("r1", "A", "3A010000002327101", Status::Approved),
            row("r1", "A", "3A010000002327101", Status::Unreviewed),
            no_rev,
            unm,
            row("r5", "D", "30100000002327101", Status::Unreviewed),
            row("r6", "A", "3A010000002327102", Status::Approved),
        ];
        let mut m = Master {
            system: JLAC.into(),
            version: "x".into(),
            ..Master::default()
        };
        m.codes.insert("3A010000002327101".into(), "総蛋白".into());
        let d = check(&t, &[m]);
        let got = ids(&d);
        for want in ["T021", "T020", "T022", "T024", "T001", "T025", "T028"] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        assert!(
            d.iter()
                .all(|d| d.location.line == Some(5) || d.code.id == "T028")
        );
    }
}
