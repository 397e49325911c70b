//! Diagnostic codes of the tables stage (`T`). A code never changes meaning.

use diagnostics::{Code, Severity};

/// A code does not have the shape its code system requires.
pub const BAD_SHAPE: Code = Code::new(
    "T001",
    Severity::Error,
    "code does not have the shape of its code system",
);
/// An HL7 v2 coding-system name is not known; the code is treated as local.
pub const UNKNOWN_V2_NAME: Code = Code::new(
    "T002",
    Severity::Warning,
    "unknown HL7 v2 coding-system name; treated as local",
);
/// A spelling variant of an SS-MIX2 coding-system name whose code fits exactly
/// one system: read as that system.
pub const NAME_VARIANT: Code = Code::new(
    "T003",
    Severity::Info,
    "coding-system name is a spelling variant (e.g. J-FAGY, JLAC10, HOT); the code fits exactly one system and is read as it",
);
/// A spelling variant whose code fits several systems (JLAC10 and JLAC11) or none.
pub const AMBIGUOUS_VARIANT: Code = Code::new(
    "T004",
    Severity::Warning,
    "coding-system name is a spelling variant, but the code fits several systems or none; treated as local",
);
/// The table's metadata header is malformed.
pub const BAD_HEADER: Code = Code::new("T010", Severity::Error, "malformed table metadata header");
/// A required metadata key is missing.
pub const MISSING_METADATA: Code = Code::new(
    "T011",
    Severity::Error,
    "required table metadata is missing",
);
/// The column header row is missing a required column or names one twice.
pub const BAD_COLUMNS: Code = Code::new(
    "T012",
    Severity::Error,
    "missing, unknown or repeated column",
);
/// A row has a different number of cells than the header.
pub const BAD_ROW_WIDTH: Code =
    Code::new("T013", Severity::Error, "row has the wrong number of cells");
/// A cell holds a value its column does not allow.
pub const BAD_CELL: Code = Code::new(
    "T014",
    Severity::Error,
    "cell value not allowed in its column",
);
/// The table is not valid UTF-8.
pub const NOT_UTF8: Code = Code::new("T015", Severity::Error, "table is not valid UTF-8");
/// Two rows have the same key.
pub const DUPLICATE_KEY: Code = Code::new(
    "T020",
    Severity::Error,
    "two rows map the same source key to the same target",
);
/// Two rows have the same row id.
pub const DUPLICATE_ROW_ID: Code =
    Code::new("T021", Severity::Error, "two rows have the same row id");
/// An approved row has no reviewer or review date.
pub const APPROVED_WITHOUT_REVIEWER: Code = Code::new(
    "T022",
    Severity::Error,
    "approved row has no reviewer or review date",
);
/// A row's predicate disagrees with its FHIR equivalence.
pub const PREDICATE_MISMATCH: Code = Code::new(
    "T023",
    Severity::Error,
    "predicate disagrees with the equivalence",
);
/// A row maps to a target but has no target code, or is unmatched but names one.
pub const TARGET_INCONSISTENT: Code = Code::new(
    "T024",
    Severity::Error,
    "target code presence disagrees with the equivalence",
);
/// A target code is not in the loaded master of its system.
pub const TARGET_NOT_IN_MASTER: Code = Code::new(
    "T025",
    Severity::Error,
    "target code is not in the loaded master",
);
/// A row's target system is not a known code system (shape not checked).
pub const UNKNOWN_TARGET_SYSTEM: Code = Code::new(
    "T026",
    Severity::Info,
    "target system is not in the registry; shape not checked",
);
/// A row has no author.
pub const NO_AUTHOR: Code = Code::new("T027", Severity::Warning, "row has no author");
/// A source key maps to several approved exact targets in the same system.
pub const AMBIGUOUS_EXACT: Code = Code::new(
    "T028",
    Severity::Warning,
    "source key has several approved exact matches in one system",
);
/// A source code was not found in any loaded table.
pub const UNMAPPED: Code = Code::new(
    "T030",
    Severity::Warning,
    "code is not mapped by any approved table row",
);
/// A translation used rows that are not approved (draft output).
pub const DRAFT_MAPPING: Code = Code::new(
    "T031",
    Severity::Warning,
    "translation used an unreviewed mapping (draft)",
);
/// A ConceptMap is a structural field map, not a code map.
pub const NOT_A_CODE_MAP: Code = Code::new(
    "T040",
    Severity::Warning,
    "ConceptMap is a structural map, not a code map; not imported",
);
/// A ConceptMap is malformed.
pub const BAD_CONCEPTMAP: Code = Code::new("T041", Severity::Error, "malformed ConceptMap");
/// A ConceptMap element that a table cannot carry was dropped.
pub const CONCEPTMAP_DROPPED: Code = Code::new(
    "T042",
    Severity::Info,
    "ConceptMap element not carried into the table",
);
/// The import profile is malformed.
pub const BAD_PROFILE: Code = Code::new("T050", Severity::Error, "malformed import profile");
/// Bytes of a vendor export could not be decoded.
pub const UNDECODABLE: Code = Code::new(
    "T051",
    Severity::Error,
    "bytes cannot be decoded in the profile's encoding",
);
/// A vendor export record is malformed (skipped).
pub const BAD_RECORD: Code = Code::new(
    "T052",
    Severity::Error,
    "export record is malformed; skipped",
);
/// A code-system resource or master file could not be read.
pub const BAD_MASTER: Code = Code::new(
    "T060",
    Severity::Error,
    "code-system resource or master file is malformed",
);
/// Rows of a master that were deliberately not loaded (counted).
pub const MASTER_SKIPPED: Code =
    Code::new("T061", Severity::Info, "master rows not loaded (counted)");
/// A tab or line break inside imported text was replaced by a space (TSV cannot carry it).
pub const TEXT_FLATTENED: Code = Code::new(
    "T043",
    Severity::Warning,
    "tab or line break in imported text replaced by a space",
);

/// A review action was not applied to a row (e.g. approving a row with no target).
pub const REVIEW_SKIPPED: Code = Code::new(
    "T070",
    Severity::Warning,
    "review action not applied to a row",
);
/// Migration: the row's target is retired in or missing from the new master.
pub const TARGET_RETIRED: Code = Code::new(
    "T071",
    Severity::Warning,
    "target retired in or missing from the new master; row marked invalid-target",
);
/// Migration: the new master changed the target's display.
pub const TARGET_CHANGED: Code = Code::new(
    "T072",
    Severity::Warning,
    "target's display changed in the new master; row marked invalid-target",
);
/// An `.xlsx` export could not be opened, or lacks the profile's worksheet.
pub const BAD_WORKBOOK: Code = Code::new(
    "T080",
    Severity::Error,
    "workbook cannot be read or lacks the profile's worksheet",
);
/// A modifier's code range and its 修飾語区分 disagree on prefix / postfix.
pub const MODIFIER_POSITION: Code = Code::new(
    "T081",
    Severity::Warning,
    "modifier code range and 修飾語区分 disagree on prefix/postfix; the code range is used",
);

/// Every code of this module, in id order (for `docs/diagnostics.md`).
pub const ALL: &[&Code] = &[
    &BAD_SHAPE,
    &UNKNOWN_V2_NAME,
    &NAME_VARIANT,
    &AMBIGUOUS_VARIANT,
    &BAD_HEADER,
    &MISSING_METADATA,
    &BAD_COLUMNS,
    &BAD_ROW_WIDTH,
    &BAD_CELL,
    &NOT_UTF8,
    &DUPLICATE_KEY,
    &DUPLICATE_ROW_ID,
    &APPROVED_WITHOUT_REVIEWER,
    &PREDICATE_MISMATCH,
    &TARGET_INCONSISTENT,
    &TARGET_NOT_IN_MASTER,
    &UNKNOWN_TARGET_SYSTEM,
    &NO_AUTHOR,
    &AMBIGUOUS_EXACT,
    &UNMAPPED,
    &DRAFT_MAPPING,
    &NOT_A_CODE_MAP,
    &BAD_CONCEPTMAP,
    &CONCEPTMAP_DROPPED,
    &TEXT_FLATTENED,
    &BAD_PROFILE,
    &UNDECODABLE,
    &BAD_RECORD,
    &BAD_MASTER,
    &MASTER_SKIPPED,
    &REVIEW_SKIPPED,
    &TARGET_RETIRED,
    &TARGET_CHANGED,
    &BAD_WORKBOOK,
    &MODIFIER_POSITION,
];

#[cfg(test)]
mod tests {
    #[test]
    fn all_is_sorted_and_complete() {
        let src = include_str!("codes.rs");
        let declared = src
            .lines()
            .filter(|l| l.starts_with("pub const") && l.contains(": Code"))
            .count();
        assert_eq!(super::ALL.len(), declared);
        assert!(super::ALL.windows(2).all(|w| w[0].id < w[1].id));
    }
}
