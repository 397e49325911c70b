//! Tracked mapping tables: the model and its SSSOM TSV form.
//!
//! A table maps codes of one source system (for local codes: one site's system)
//! to codes of one or more target systems. On disk it is an SSSOM TSV file: a
//! `#`-prefixed YAML metadata header, then a tab-separated header row and one row
//! per mapping. Standard SSSOM columns carry what SSSOM defines (`subject_id`,
//! `predicate_id`, `object_id`, `mapping_justification`, `author_label`,
//! `reviewer_label`, `confidence`, `comment` …); kakehashi's own columns are
//! declared as SSSOM `extension_definitions` (`equivalence`, `status`, `specimen`,
//! `unit`, `source_text`, `subject_kana`, `review_date`, `justification`,
//! `observed_frequency`, `row_id`).
//!
//! FHIR R4 equivalence maps onto SKOS predicates: equivalent/equal →
//! `skos:exactMatch`, wider/subsumes → `skos:broadMatch`, narrower/specializes →
//! `skos:narrowMatch`, inexact → `skos:closeMatch`, relatedto →
//! `skos:relatedMatch`; unmatched and disjoint are SSSOM's negated match
//! (`predicate_modifier: Not`), unmatched with object `sssom:NoTermFound`. A row
//! not mapped yet has object `sssom:NoTermFound`, no modifier and no equivalence.

use crate::codes;
use crate::system;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// FHIR R4 `ConceptMapEquivalence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Equivalence {
    /// relatedto
    RelatedTo,
    /// equivalent
    Equivalent,
    /// equal
    Equal,
    /// wider (the target is wider)
    Wider,
    /// subsumes (the target subsumes the source)
    Subsumes,
    /// narrower (the target is narrower)
    Narrower,
    /// specializes (the target specializes the source)
    Specializes,
    /// inexact
    Inexact,
    /// unmatched (there is no match)
    Unmatched,
    /// disjoint
    Disjoint,
}

impl Equivalence {
    /// Every value, in FHIR's order.
    pub const ALL: [Equivalence; 10] = [
        Equivalence::RelatedTo,
        Equivalence::Equivalent,
        Equivalence::Equal,
        Equivalence::Wider,
        Equivalence::Subsumes,
        Equivalence::Narrower,
        Equivalence::Specializes,
        Equivalence::Inexact,
        Equivalence::Unmatched,
        Equivalence::Disjoint,
    ];

    /// The FHIR code.
    pub fn as_str(self) -> &'static str {
        match self {
            Equivalence::RelatedTo => "relatedto",
            Equivalence::Equivalent => "equivalent",
            Equivalence::Equal => "equal",
            Equivalence::Wider => "wider",
            Equivalence::Subsumes => "subsumes",
            Equivalence::Narrower => "narrower",
            Equivalence::Specializes => "specializes",
            Equivalence::Inexact => "inexact",
            Equivalence::Unmatched => "unmatched",
            Equivalence::Disjoint => "disjoint",
        }
    }

    /// Parses a FHIR code.
    pub fn parse(s: &str) -> Option<Equivalence> {
        Equivalence::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The SKOS predicate and whether SSSOM's `Not` modifier applies.
    pub fn predicate(self) -> (&'static str, bool) {
        match self {
            Equivalence::Equivalent | Equivalence::Equal => ("skos:exactMatch", false),
            Equivalence::Wider | Equivalence::Subsumes => ("skos:broadMatch", false),
            Equivalence::Narrower | Equivalence::Specializes => ("skos:narrowMatch", false),
            Equivalence::Inexact => ("skos:closeMatch", false),
            Equivalence::RelatedTo => ("skos:relatedMatch", false),
            Equivalence::Unmatched | Equivalence::Disjoint => ("skos:exactMatch", true),
        }
    }

    /// True for values that say there is no usable mapping.
    pub fn is_negative(self) -> bool {
        matches!(self, Equivalence::Unmatched | Equivalence::Disjoint)
    }
}

/// Review status of a row (OHDSI Usagi's workflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Imported or proposed, nobody looked yet.
    #[default]
    Unreviewed,
    /// A person or tool suggested a target; not reviewed.
    Suggested,
    /// Reviewed and approved: used by default.
    Approved,
    /// Reviewed and rejected.
    Rejected,
    /// Needs discussion.
    Flagged,
    /// The target was checked and is not valid (e.g. retired in the master).
    InvalidTarget,
    /// No longer used.
    Retired,
}

impl Status {
    /// Every value.
    pub const ALL: [Status; 7] = [
        Status::Unreviewed,
        Status::Suggested,
        Status::Approved,
        Status::Rejected,
        Status::Flagged,
        Status::InvalidTarget,
        Status::Retired,
    ];

    /// The name used in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreviewed => "unreviewed",
            Status::Suggested => "suggested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Flagged => "flagged",
            Status::InvalidTarget => "invalid-target",
            Status::Retired => "retired",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// True once a person reviewed the row (import never touches these).
    pub fn is_reviewed(self) -> bool {
        !matches!(self, Status::Unreviewed | Status::Suggested)
    }
}

/// What a row maps from: the source code plus the key parts a domain needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    /// Source code (empty for ワープロ病名, which have only a name).
    pub code: String,
    /// Specimen (labs): the local or JLAC10 specimen code.
    pub specimen: String,
    /// Unit (labs).
    pub unit: String,
    /// Free-text name (diseases without a code).
    pub text: String,
}

impl SourceKey {
    /// A key with only a code.
    pub fn code(code: impl Into<String>) -> SourceKey {
        SourceKey {
            code: code.into(),
            ..SourceKey::default()
        }
    }
}

/// One mapping row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Stable row id (lineage), unique in the table.
    pub id: String,
    /// Source key.
    pub source: SourceKey,
    /// Source display.
    pub source_display: String,
    /// Source display reading (kana).
    pub source_kana: String,
    /// Target system URI (empty when there is no target).
    pub target_system: String,
    /// Target code (empty when there is no target).
    pub target_code: String,
    /// Target display.
    pub target_display: String,
    /// FHIR equivalence (`None` only for rows not mapped yet).
    pub equivalence: Option<Equivalence>,
    /// Review status.
    pub status: Status,
    /// SSSOM `mapping_justification` (a `semapv:` CURIE).
    pub method: String,
    /// Free-text justification (e.g. `official crosswalk: …`).
    pub justification: String,
    /// Author.
    pub author: String,
    /// Author date (`YYYY-MM-DD`).
    pub author_date: String,
    /// Reviewer.
    pub reviewer: String,
    /// Review date (`YYYY-MM-DD`).
    pub review_date: String,
    /// Confidence, 0 to 1, as written.
    pub confidence: String,
    /// Comment.
    pub comment: String,
    /// How often the source code was seen (e.g. in the export or the storage).
    pub frequency: Option<u64>,
    /// Cells of columns kakehashi does not know, in the table's extra-column order.
    pub extra: Vec<String>,
    /// 1-based line of the row in the file it was read from (0 if built in memory).
    pub line: u32,
}

impl Row {
    /// True when the row names a target code.
    pub fn has_target(&self) -> bool {
        !self.target_code.is_empty()
    }
}

/// Table metadata (the SSSOM mapping-set slots plus kakehashi's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Short table id (`table_id`), e.g. `nho-sample-lab-99X03`.
    pub id: String,
    /// Canonical URI (`mapping_set_id`; the ConceptMap `url`).
    pub uri: String,
    /// Version (`mapping_set_version`).
    pub version: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Source system URI (`subject_source`); for local codes
    /// `urn:kakehashi:local:<site>:<v2 name>`.
    pub source_system: String,
    /// Site whose local codes these are (empty for standard sources).
    pub site: String,
    /// Target system URIs.
    pub target_systems: Vec<String>,
    /// Publisher (`creator_label`).
    pub publisher: String,
    /// Licence URI.
    pub license: String,
    /// Master versions used, e.g. `MEDIS 標準病名マスター 5.11`.
    pub master_versions: Vec<String>,
    /// Publication status for ConceptMap export: draft, active, retired.
    pub status: String,
    /// Date of this version (`publication_date`, `YYYY-MM-DD`).
    pub date: String,
    /// Computer-friendly name (the ConceptMap `name`).
    pub name: String,
    /// What a consumer does with unmapped codes (ConceptMap `group.unmapped.mode`:
    /// `provided` keeps the source code); empty when not stated.
    pub unmapped_mode: String,
    /// CURIE prefix → URI prefix (`curie_map`).
    pub curie_map: BTreeMap<String, String>,
    /// Metadata keys kakehashi does not know, kept verbatim (key, raw lines).
    pub extra: Vec<(String, Vec<String>)>,
}

/// A mapping table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Metadata.
    pub meta: Metadata,
    /// Rows, in file order.
    pub rows: Vec<Row>,
    /// Names of columns kakehashi does not know, kept and written back.
    pub extra_columns: Vec<String>,
}

/// kakehashi's columns, in the order they are written.
pub const COLUMNS: [&str; 22] = [
    "row_id",
    "subject_id",
    "subject_label",
    "subject_kana",
    "specimen",
    "unit",
    "source_text",
    "predicate_id",
    "predicate_modifier",
    "object_id",
    "object_label",
    "equivalence",
    "status",
    "mapping_justification",
    "justification",
    "author_label",
    "mapping_date",
    "reviewer_label",
    "review_date",
    "confidence",
    "comment",
    "observed_frequency",
];

/// The extension columns (SSSOM `extension_definitions`).
const EXTENSIONS: [&str; 10] = [
    "row_id",
    "subject_kana",
    "specimen",
    "unit",
    "source_text",
    "equivalence",
    "status",
    "justification",
    "review_date",
    "observed_frequency",
];

/// The CURIE-prefix of the source system in `subject_id`.
pub const SOURCE_PREFIX: &str = "source";
/// `sssom:NoTermFound`: the object of rows with no target.
pub const NO_TERM: &str = "sssom:NoTermFound";
/// URI prefix of kakehashi's SSSOM extension slots.
pub const EXT_PREFIX: &str = "urn:kakehashi:sssom:";

const REQUIRED_COLUMNS: [&str; 4] = [
    "subject_id",
    "predicate_id",
    "object_id",
    "mapping_justification",
];

/// Percent-encodes a code for a CURIE local part (keeps `A-Za-z0-9-._~`).
pub fn curie_escape(code: &str) -> String {
    let mut s = String::with_capacity(code.len());
    for b in code.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// Reverses [`curie_escape`]; `None` for a malformed escape.
pub fn curie_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/:@+".contains(c))
        && !s.starts_with(['-', ':', '@'])
        && !s.contains(": ")
        && !s.ends_with(':')
        && !matches!(
            s,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_owned()
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

impl Table {
    /// A prefix for every target system: the registry key when known, else `T1`, `T2` …
    fn prefixes(&self) -> BTreeMap<String, String> {
        let mut by_uri: BTreeMap<String, String> = BTreeMap::new();
        for (p, u) in &self.meta.curie_map {
            if p != SOURCE_PREFIX {
                by_uri
                    .entry(u.trim_end_matches('/').to_owned())
                    .or_insert_with(|| p.clone());
            }
        }
        let mut systems: Vec<&str> = self
            .meta
            .target_systems
            .iter()
            .map(String::as_str)
            .collect();
        systems.extend(
            self.rows
                .iter()
                .filter(|r| r.has_target())
                .map(|r| r.target_system.as_str()),
        );
        let mut n = 0;
        for s in systems {
            if by_uri.contains_key(s) {
                continue;
            }
            let mut p = system::by_uri(s)
                .map(|cs| cs.key.to_owned())
                .unwrap_or_default();
            while p.is_empty() || p == SOURCE_PREFIX || by_uri.values().any(|v| v == &p) {
                n += 1;
                p = format!("T{n}");
            }
            by_uri.insert(s.to_owned(), p);
        }
        by_uri
    }

    /// Writes the table as SSSOM TSV: same table → same bytes.
    ///
    /// Fails (naming the row and column) if a cell holds a tab, CR or LF, which
    /// TSV cannot carry.
    pub fn to_sssom(&self) -> Result<Vec<u8>, WriteError> {
        let m = &self.meta;
        let prefixes = self.prefixes();
        let mut h = String::new();
        let mut line = |s: &str| {
            h.push('#');
            h.push_str(s);
            h.push('\n');
        };
        line("curie_map:");
        line(&format!(
            "  {SOURCE_PREFIX}: {}",
            yaml_scalar(&format!("{}/", m.source_system))
        ));
        let mut cm: BTreeMap<&str, String> = BTreeMap::new();
        for (uri, p) in &prefixes {
            cm.insert(p, format!("{uri}/"));
        }
        cm.insert("kakehashi", EXT_PREFIX.to_owned());
        cm.insert("semapv", "https://w3id.org/semapv/vocab/".to_owned());
        cm.insert("skos", "http://www.w3.org/2004/02/skos/core#".to_owned());
        cm.insert("sssom", "https://w3id.org/sssom/".to_owned());
        // sssom-py reads `urn:…` URIs (mapping_set_id) as CURIEs; this makes them expand to themselves.
        cm.insert("urn", "urn:".to_owned());
        for (p, u) in &cm {
            line(&format!("  {p}: {}", yaml_scalar(u)));
        }
        line(&format!("mapping_set_id: {}", yaml_scalar(&m.uri)));
        if !m.version.is_empty() {
            line(&format!("mapping_set_version: {}", yaml_scalar(&m.version)));
        }
        line(&format!("mapping_set_title: {}", yaml_scalar(&m.title)));
        if !m.description.is_empty() {
            line(&format!(
                "mapping_set_description: {}",
                yaml_scalar(&m.description)
            ));
        }
        line(&format!("license: {}", yaml_scalar(&m.license)));
        if !m.publisher.is_empty() {
            line("creator_label:");
            line(&format!("  - {}", yaml_scalar(&m.publisher)));
        }
        if !m.date.is_empty() {
            line(&format!("publication_date: {}", yaml_scalar(&m.date)));
        }
        line(&format!("source_system: {}", yaml_scalar(&m.source_system)));
        line(&format!("table_id: {}", yaml_scalar(&m.id)));
        if !m.site.is_empty() {
            line(&format!("site: {}", yaml_scalar(&m.site)));
        }
        if !m.status.is_empty() {
            line(&format!("publication_status: {}", yaml_scalar(&m.status)));
        }
        if !m.name.is_empty() {
            line(&format!("name: {}", yaml_scalar(&m.name)));
        }
        if !m.unmapped_mode.is_empty() {
            line(&format!("unmapped_mode: {}", yaml_scalar(&m.unmapped_mode)));
        }
        if !m.target_systems.is_empty() {
            line("target_systems:");
            for t in &m.target_systems {
                line(&format!("  - {}", yaml_scalar(t)));
            }
        }
        if !m.master_versions.is_empty() {
            line("master_versions:");
            for t in &m.master_versions {
                line(&format!("  - {}", yaml_scalar(t)));
            }
        }
        line("extension_definitions:");
        for e in EXTENSIONS.iter().chain(
            [
                "table_id",
                "source_system",
                "site",
                "publication_status",
                "name",
                "unmapped_mode",
                "target_systems",
                "master_versions",
            ]
            .iter(),
        ) {
            line(&format!("  - slot_name: {e}"));
            line(&format!("    property: kakehashi:{e}"));
            let hint = if *e == "observed_frequency" {
                "xsd:integer"
            } else {
                "xsd:string"
            };
            line(&format!("    type_hint: {hint}"));
        }
        for (_, raw) in &m.extra {
            for r in raw {
                line(r);
            }
        }
        let mut out = h;
        let mut header: Vec<&str> = COLUMNS.to_vec();
        header.extend(self.extra_columns.iter().map(String::as_str));
        out.push_str(&header.join("\t"));
        out.push('\n');
        for (i, r) in self.rows.iter().enumerate() {
            let object = if r.has_target() {
                let p = prefixes.get(&r.target_system).cloned().unwrap_or_default();
                format!("{p}:{}", curie_escape(&r.target_code))
            } else {
                NO_TERM.to_owned()
            };
            let (pred, not) = r
                .equivalence
                .map(Equivalence::predicate)
                .unwrap_or(("skos:exactMatch", false));
            let subject = format!("{SOURCE_PREFIX}:{}", curie_escape(&r.source.code));

            let cells: Vec<String> = vec![
                r.id.clone(),
                subject,
                r.source_display.clone(),
                r.source_kana.clone(),
                r.source.specimen.clone(),
                r.source.unit.clone(),
                r.source.text.clone(),
                pred.to_owned(),
                if not { "Not".to_owned() } else { String::new() },
                object,
                r.target_display.clone(),
                r.equivalence
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                r.status.as_str().to_owned(),
                if r.method.is_empty() {
                    "semapv:UnspecifiedMatching".to_owned()
                } else {
                    r.method.clone()
                },
                r.justification.clone(),
                r.author.clone(),
                r.author_date.clone(),
                r.reviewer.clone(),
                r.review_date.clone(),
                r.confidence.clone(),
                r.comment.clone(),
                r.frequency.map(|f| f.to_string()).unwrap_or_default(),
            ];
            for (j, c) in cells.iter().chain(r.extra.iter()).enumerate() {
                if c.contains(['\t', '\r', '\n']) {
                    return Err(WriteError::LineBreakInCell {
                        row: i + 1,
                        row_id: r.id.clone(),
                        column: header.get(j).copied().unwrap_or("?").to_owned(),
                    });
                }
            }
            let mut all = cells;
            all.extend(r.extra.iter().cloned());
            out.push_str(&all.join("\t"));
            out.push('\n');
        }
        Ok(out.into_bytes())
    }

    /// The target systems named by the metadata or any row, in first-seen order.
    pub fn all_target_systems(&self) -> Vec<String> {
        let mut v: Vec<String> = self.meta.target_systems.clone();
        for r in &self.rows {
            if r.has_target() && !v.contains(&r.target_system) {
                v.push(r.target_system.clone());
            }
        }
        v
    }

    /// The next free row id of the form `r00001`.
    pub fn next_row_id(&self) -> String {
        let max = self
            .rows
            .iter()
            .filter_map(|r| r.id.strip_prefix('r').and_then(|n| n.parse::<u64>().ok()))
            .max()
            .unwrap_or(0);
        format!("r{:05}", max + 1)
    }
}

/// Why a table cannot be written as SSSOM TSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// A cell holds a tab, CR or LF, which TSV cannot carry.
    LineBreakInCell {
        /// The row's position in the table (1-based).
        row: usize,
        /// The row's id.
        row_id: String,
        /// The column's name.
        column: String,
    },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::LineBreakInCell {
                row,
                row_id,
                column,
            } => write!(
                f,
                "row {row} ({row_id}), column {column}: a tab or line break cannot be written to TSV"
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// One parsed metadata entry.
#[derive(Debug)]
enum Yaml {
    Scalar(String),
    List(Vec<String>),
    Map(Vec<(String, String)>),
    Other,
}

/// A YAML scalar; `Err` when a double-quoted one is not a valid string.
fn parse_scalar(s: &str) -> Result<String, serde_json::Error> {
    let s = s.trim();
    if s.starts_with('"') {
        serde_json::from_str::<String>(s)
    } else if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Ok(inner.replace("''", "'"))
    } else {
        Ok(s.split(" #").next().unwrap_or("").trim_end().to_owned())
    }
}

/// Parses an SSSOM TSV table from bytes; every problem is a diagnostic with the
/// line, byte offset and column. Rows that cannot be read are skipped (and
/// reported); the rest are returned.
pub fn parse_sssom(bytes: &[u8]) -> (Table, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut table = Table::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let end = (at + e.error_len().unwrap_or(1)).min(bytes.len());
            diags.push(
                Diagnostic::new(&codes::NOT_UTF8, "table is not valid UTF-8")
                    .at(Location::default().byte(at as u64).line(line))
                    .excerpt(Excerpt::bytes(&bytes[at..end])),
            );
            return (table, diags);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Split into lines with byte offsets.
    let mut lines: Vec<(u32, usize, &str)> = Vec::new();
    let mut off = bytes.len() - text.len();
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let content = l.strip_suffix('\n').unwrap_or(l);
        let content = content.strip_suffix('\r').unwrap_or(content);
        lines.push((i as u32 + 1, off, content));
        off += l.len();
    }
    let header_end = lines
        .iter()
        .position(|(_, _, l)| !l.starts_with('#'))
        .unwrap_or(lines.len());
    let meta_lines: Vec<(u32, usize, &str)> = lines[..header_end]
        .iter()
        .map(|&(n, o, l)| (n, o + 1, l.get(1..).unwrap_or("")))
        .collect();
    let entries = parse_meta(&meta_lines, &mut diags);
    read_meta(entries, &mut table.meta, &mut diags);

    let Some(&(hline, hoff, hrow)) = lines.get(header_end) else {
        diags.push(
            Diagnostic::new(&codes::BAD_COLUMNS, "the table has no column header row")
                .at(Location::default().line(header_end as u32 + 1)),
        );
        return (table, diags);
    };
    let names: Vec<&str> = hrow.split('\t').collect();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut extra_idx: Vec<usize> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if index.insert(n, i).is_some() {
            diags.push(
                Diagnostic::new(&codes::BAD_COLUMNS, format!("column {n} appears twice"))
                    .at(Location::default().line(hline).byte(hoff as u64)),
            );
        }
        if !COLUMNS.contains(n) {
            table.extra_columns.push((*n).to_owned());
            extra_idx.push(i);
        }
    }
    for r in REQUIRED_COLUMNS {
        if !index.contains_key(r) {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_COLUMNS,
                    format!("required column {r} is missing"),
                )
                .at(Location::default().line(hline).byte(hoff as u64)),
            );
        }
    }
    if REQUIRED_COLUMNS.iter().any(|r| !index.contains_key(r)) {
        return (table, diags);
    }
    // prefix → system URI
    let expand: BTreeMap<String, String> = table
        .meta
        .curie_map
        .iter()
        .map(|(p, u)| (p.clone(), u.strip_suffix('/').unwrap_or(u).to_owned()))
        .collect();
    for &(n, o, l) in &lines[header_end + 1..] {
        if l.is_empty() {
            continue;
        }
        let cells: Vec<&str> = l.split('\t').collect();
        let at = Location::default().line(n).byte(o as u64);
        if cells.len() != names.len() {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_ROW_WIDTH,
                    format!(
                        "row has {} cells, the header has {}; row skipped",
                        cells.len(),
                        names.len()
                    ),
                )
                .at(at),
            );
            continue;
        }
        let col_loc = |name: &'static str| {
            let i = index.get(name).copied().unwrap_or(0);
            let byte = o + cells[..i].iter().map(|c| c.len() + 1).sum::<usize>();
            Location::default()
                .line(n)
                .byte(byte as u64)
                .field(FieldPath::new("TSV", i as u32 + 1).named(name))
        };
        let get = |name: &str| index.get(name).map(|&i| cells[i]).unwrap_or("");
        let mut ok = true;
        let bad = |name: &'static str, msg: String, value: &str, diags: &mut Diagnostics| {
            diags.push(
                Diagnostic::new(&codes::BAD_CELL, msg)
                    .at(col_loc(name))
                    .excerpt(Excerpt::text(value)),
            );
        };
        let mut row = Row {
            id: get("row_id").to_owned(),
            source_display: get("subject_label").to_owned(),
            source_kana: get("subject_kana").to_owned(),
            target_display: get("object_label").to_owned(),
            method: get("mapping_justification").to_owned(),
            justification: get("justification").to_owned(),
            author: get("author_label").to_owned(),
            author_date: get("mapping_date").to_owned(),
            reviewer: get("reviewer_label").to_owned(),
            review_date: get("review_date").to_owned(),
            confidence: get("confidence").to_owned(),
            comment: get("comment").to_owned(),
            line: n,
            extra: extra_idx.iter().map(|&i| cells[i].to_owned()).collect(),
            ..Row::default()
        };
        row.source.specimen = get("specimen").to_owned();
        row.source.unit = get("unit").to_owned();
        row.source.text = get("source_text").to_owned();
        // subject
        let subject = get("subject_id");
        match subject.split_once(':') {
            Some((SOURCE_PREFIX, local)) => match curie_unescape(local) {
                Some(c) => row.source.code = c,
                None => {
                    bad(
                        "subject_id",
                        "malformed percent escape in subject_id".into(),
                        subject,
                        &mut diags,
                    );
                    ok = false;
                }
            },
            _ => {
                bad(
                    "subject_id",
                    format!("subject_id must be a {SOURCE_PREFIX}: CURIE"),
                    subject,
                    &mut diags,
                );
                ok = false;
            }
        }
        if row.source.code.is_empty() && row.source.text.is_empty() {
            bad(
                "subject_id",
                "row has neither a source code nor a source text".into(),
                subject,
                &mut diags,
            );
            ok = false;
        }
        // object
        let object = get("object_id");
        if object != NO_TERM {
            match object.split_once(':') {
                Some((p, local)) => match (expand.get(p), curie_unescape(local)) {
                    (Some(sys), Some(code)) if !code.is_empty() => {
                        row.target_system = sys.clone();
                        row.target_code = code;
                    }
                    (None, _) => {
                        bad(
                            "object_id",
                            format!("object_id prefix {p} is not in curie_map"),
                            object,
                            &mut diags,
                        );
                        ok = false;
                    }
                    _ => {
                        bad(
                            "object_id",
                            "malformed object_id code".into(),
                            object,
                            &mut diags,
                        );
                        ok = false;
                    }
                },
                None => {
                    bad(
                        "object_id",
                        "object_id must be a CURIE".into(),
                        object,
                        &mut diags,
                    );
                    ok = false;
                }
            }
        }
        // equivalence / predicate
        let eq = get("equivalence");
        if !eq.is_empty() {
            match Equivalence::parse(eq) {
                Some(e) => row.equivalence = Some(e),
                None => {
                    bad(
                        "equivalence",
                        "not a FHIR R4 ConceptMap equivalence".into(),
                        eq,
                        &mut diags,
                    );
                    ok = false;
                }
            }
        }
        let pred = get("predicate_id");
        let not = get("predicate_modifier");
        if !matches!(not, "" | "Not") {
            bad(
                "predicate_modifier",
                "predicate_modifier must be empty or Not".into(),
                not,
                &mut diags,
            );
            ok = false;
        }
        match row.equivalence {
            Some(e) => {
                let (p, n2) = e.predicate();
                if p != pred || n2 != (not == "Not") {
                    diags.push(
                        Diagnostic::new(
                            &codes::PREDICATE_MISMATCH,
                            format!(
                                "equivalence {} requires predicate {p}{}",
                                e.as_str(),
                                if n2 { " with modifier Not" } else { "" }
                            ),
                        )
                        .at(col_loc("predicate_id"))
                        .excerpt(Excerpt::text(pred)),
                    );
                }
            }
            None if !index.contains_key("equivalence") => {
                // A plain SSSOM file: derive the equivalence from the predicate.
                row.equivalence = match (pred, not == "Not") {
                    ("skos:exactMatch", false) => Some(Equivalence::Equivalent),
                    ("skos:broadMatch", false) => Some(Equivalence::Wider),
                    ("skos:narrowMatch", false) => Some(Equivalence::Narrower),
                    ("skos:closeMatch", false) => Some(Equivalence::Inexact),
                    ("skos:relatedMatch", false) => Some(Equivalence::RelatedTo),
                    (_, true) if object == NO_TERM => Some(Equivalence::Unmatched),
                    (_, true) => Some(Equivalence::Disjoint),
                    _ => None,
                };
                if object == NO_TERM && not != "Not" {
                    row.equivalence = None;
                }
            }
            None => {}
        }
        let st = get("status");
        if st.is_empty() && !index.contains_key("status") {
            row.status = Status::Unreviewed;
        } else {
            match Status::parse(st) {
                Some(s) => row.status = s,
                None => {
                    bad("status", "unknown status".into(), st, &mut diags);
                    ok = false;
                }
            }
        }
        if !row.method.starts_with("semapv:") {
            bad(
                "mapping_justification",
                "mapping_justification must be a semapv: CURIE".into(),
                &row.method.clone(),
                &mut diags,
            );
        }
        let freq = get("observed_frequency");
        if !freq.is_empty() {
            match freq.parse::<u64>() {
                Ok(f) => row.frequency = Some(f),
                Err(_) => bad(
                    "observed_frequency",
                    "observed_frequency must be a whole number".into(),
                    freq,
                    &mut diags,
                ),
            }
        }
        if !row.confidence.is_empty()
            && !row
                .confidence
                .parse::<f64>()
                .is_ok_and(|c| (0.0..=1.0).contains(&c))
        {
            bad(
                "confidence",
                "confidence must be a number from 0 to 1".into(),
                &row.confidence.clone(),
                &mut diags,
            );
        }
        for (name, v) in [
            ("mapping_date", &row.author_date),
            ("review_date", &row.review_date),
        ] {
            if !v.is_empty() && !is_date(v) {
                let name: &'static str = if name == "mapping_date" {
                    "mapping_date"
                } else {
                    "review_date"
                };
                bad(
                    name,
                    "date must be YYYY-MM-DD".into(),
                    &v.clone(),
                    &mut diags,
                );
            }
        }
        if ok {
            table.rows.push(row);
        } else {
            diags.push(
                Diagnostic::new(&codes::BAD_CELL, "row skipped")
                    .at(at)
                    .severity(diagnostics::Severity::Info),
            );
        }
    }
    (table, diags)
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && s.get(5..7)
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| (1..=12).contains(&m))
        && s.get(8..10)
            .and_then(|d| d.parse::<u8>().ok())
            .is_some_and(|d| (1..=31).contains(&d))
}

fn parse_meta(
    lines: &[(u32, usize, &str)],
    diags: &mut Diagnostics,
) -> Vec<(String, Yaml, Vec<String>, u32)> {
    let mut out: Vec<(String, Yaml, Vec<String>, u32)> = Vec::new();
    for &(n, off, l) in lines {
        if l.trim().is_empty() {
            continue;
        }
        let at = Location::default().line(n).byte(off as u64);
        if !l.starts_with(' ') {
            let Some((k, v)) = l.split_once(':') else {
                diags.push(
                    Diagnostic::new(&codes::BAD_HEADER, "metadata line is not `key: value`")
                        .at(at)
                        .excerpt(Excerpt::text(l)),
                );
                continue;
            };
            let v = v.trim();
            let y = if v.is_empty() {
                Yaml::Other
            } else {
                match parse_scalar(v) {
                    Ok(s) => Yaml::Scalar(s),
                    Err(e) => {
                        diags.push(
                            Diagnostic::new(
                                &codes::BAD_HEADER,
                                format!("bad double-quoted value: {e}"),
                            )
                            .at(at)
                            .excerpt(Excerpt::text(l)),
                        );
                        Yaml::Scalar(String::new())
                    }
                }
            };
            out.push((k.trim().to_owned(), y, vec![l.to_owned()], n));
            continue;
        }
        let Some(last) = out.last_mut() else {
            diags.push(
                Diagnostic::new(&codes::BAD_HEADER, "indented metadata line before any key").at(at),
            );
            continue;
        };
        last.2.push(l.to_owned());
        let t = l.trim_start();
        let indent = l.len() - t.len();
        match (&mut last.1, t.strip_prefix("- ")) {
            (Yaml::Other, Some(item)) if indent == 2 && !item.contains(": ") => {
                last.1 = Yaml::List(vec![parse_scalar(item).unwrap_or_default()]);
            }
            (Yaml::List(v), Some(item)) if !item.contains(": ") => {
                v.push(parse_scalar(item).unwrap_or_default())
            }
            (Yaml::Other, None) if indent == 2 && last.2.len() == 2 => {
                if let Some((k, v)) = t.split_once(':') {
                    last.1 = Yaml::Map(vec![(
                        k.trim().to_owned(),
                        parse_scalar(v).unwrap_or_default(),
                    )]);
                }
            }
            (Yaml::Map(m), None) if indent == 2 => match t.split_once(':') {
                Some((k, v)) => m.push((k.trim().to_owned(), parse_scalar(v).unwrap_or_default())),
                None => diags.push(
                    Diagnostic::new(&codes::BAD_HEADER, "map entry is not `key: value`")
                        .at(at)
                        .excerpt(Excerpt::text(l)),
                ),
            },
            _ => last.1 = Yaml::Other,
        }
    }
    out
}

fn read_meta(
    entries: Vec<(String, Yaml, Vec<String>, u32)>,
    m: &mut Metadata,
    diags: &mut Diagnostics,
) {
    let mut seen = std::collections::BTreeSet::new();
    for (k, v, raw, line) in entries {
        if !seen.insert(k.clone()) {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_HEADER,
                    format!("metadata key {k} appears twice"),
                )
                .at(Location::default().line(line)),
            );
        }
        let scalar = |v: &Yaml| match v {
            Yaml::Scalar(s) => s.clone(),
            Yaml::List(l) => l.join(", "),
            _ => String::new(),
        };
        let list = |v: Yaml| match v {
            Yaml::List(l) => l,
            Yaml::Scalar(s) => vec![s],
            _ => Vec::new(),
        };
        match k.as_str() {
            "curie_map" => {
                if let Yaml::Map(map) = v {
                    m.curie_map = map.into_iter().collect();
                }
            }
            "mapping_set_id" => m.uri = scalar(&v),
            "mapping_set_version" => m.version = scalar(&v),
            "mapping_set_title" => m.title = scalar(&v),
            "mapping_set_description" => m.description = scalar(&v),
            "license" => m.license = scalar(&v),
            "creator_label" => m.publisher = scalar(&v),
            "publication_date" => m.date = scalar(&v),
            "source_system" => m.source_system = scalar(&v),
            "table_id" => m.id = scalar(&v),
            "site" => m.site = scalar(&v),
            "publication_status" => m.status = scalar(&v),
            "name" => m.name = scalar(&v),
            "unmapped_mode" => m.unmapped_mode = scalar(&v),
            "target_systems" => {
                for s in list(v) {
                    if !m.target_systems.contains(&s) {
                        m.target_systems.push(s);
                    }
                }
            }
            "master_versions" => m.master_versions = list(v),
            "extension_definitions" => {}
            _ => m.extra.push((k, raw)),
        }
    }
    for (key, value) in [
        ("mapping_set_id", &m.uri),
        ("license", &m.license),
        ("table_id", &m.id),
        ("source_system", &m.source_system),
    ] {
        if value.is_empty() {
            diags.push(
                Diagnostic::new(
                    &codes::MISSING_METADATA,
                    format!("metadata {key} is missing or empty"),
                )
                .at(Location::default().line(1)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Table {
        let mut meta = Metadata {
            id: "demo-lab".into(),
            uri: "urn:kakehashi:table:demo-lab".into(),
            version: "1".into(),
            title: "デモ検査コード → JLAC10".into(),
            source_system: system::local_uri("nho-sample", "99X03"),
            site: "nho-sample".into(),
            target_systems: vec!["http://medis.or.jp/CodeSystem/master-JLAC10-17digits".into()],
            publisher: "kakehashi".into(),
            license: "https://creativecommons.org/publicdomain/zero/1.0/".into(),
            master_versions: vec!["JLAC10 (as printed in the sample)".into()],
            status: "draft".into(),
            ..Metadata::default()
        };
        meta.date = "2026-11-23".into();
        let r1 = Row {
            id: "r00001".into(),
            source: SourceKey {
                code: "10222".into(),
                specimen: "01".into(),
                unit: "g/dl".into(),
                text: String::new(),
            },
            source_display: "ＴＰ".into(),
            target_system: "http://medis.or.jp/CodeSystem/master-JLAC10-17digits".into(),
            target_code: "3A010000002327101".into(),
            target_display: "総蛋白".into(),
            equivalence: Some(Equivalence::Equivalent),
            status: Status::Approved,
            method: "semapv:ManualMappingCuration".into(),
            justification: "both codes sent together in OBX-3".into(),
            author: "a".into(),
            author_date: "2026-11-23".into(),
            reviewer: "b".into(),
            review_date: "2026-11-23".into(),
            confidence: "0.9".into(),
            frequency: Some(3),
            ..Row::default()
        };
        let r2 = Row {
            id: "r00002".into(),
            source: SourceKey {
                code: "9A100&IMP".into(),
                ..SourceKey::default()
            },
            source_display: "心電図所見".into(),
            method: "semapv:UnspecifiedMatching".into(),
            equivalence: None,
            status: Status::Unreviewed,
            ..Row::default()
        };
        Table {
            meta,
            rows: vec![r1, r2],
            extra_columns: vec![],
        }
    }

    fn strip_lines(mut t: Table) -> Table {
        for r in &mut t.rows {
            r.line = 0;
        }
        t.meta.curie_map.clear();
        t
    }

    #[test]
    fn round_trip_is_byte_stable() {
        let t = sample();
        let bytes = t.to_sssom().unwrap();

        let (back, diags) = parse_sssom(&bytes);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(strip_lines(back.clone()), t);
        assert_eq!(back.to_sssom().unwrap(), bytes);
    }

    #[test]
    fn written_form_has_sssom_columns_and_predicates() {
        let text = String::from_utf8(sample().to_sssom().unwrap()).unwrap();
        assert!(text.contains("#mapping_set_id: urn:kakehashi:table:demo-lab\n"));
        assert!(
            text.contains("#  JLAC10: http://medis.or.jp/CodeSystem/master-JLAC10-17digits/\n")
        );
        assert!(text.contains("\tskos:exactMatch\t\tJLAC10:3A010000002327101\t"));
        assert!(text.contains("source:9A100%26IMP"));
        assert!(text.contains("\tsssom:NoTermFound\t"));
    }

    #[test]
    fn bad_cells_are_located() {
        let mut text = String::from_utf8(sample().to_sssom().unwrap()).unwrap();
        text = text.replace("\tequivalent\t", "\tsame\t");
        let (t, diags) = parse_sssom(text.as_bytes());
        assert_eq!(t.rows.len(), 1);
        let d = diags.iter().find(|d| d.code.id == "T014").unwrap();
        assert_eq!(d.location.field.as_ref().unwrap().name, Some("equivalence"));
        assert!(d.location.line.is_some() && d.location.byte.is_some());
    }

    #[test]
    fn non_utf8_is_reported_as_bytes() {
        let (_, diags) = parse_sssom(b"#mapping_set_id: x\n\xff\xfe");
        let d = diags.iter().next().unwrap();
        assert_eq!(d.code.id, "T015");
        assert_eq!(d.excerpt, Some(Excerpt::bytes(vec![0xff])));
    }

    #[test]
    fn predicates_follow_the_equivalence() {
        assert_eq!(Equivalence::Wider.predicate(), ("skos:broadMatch", false));
        assert_eq!(
            Equivalence::Narrower.predicate(),
            ("skos:narrowMatch", false)
        );
        assert_eq!(Equivalence::Inexact.predicate(), ("skos:closeMatch", false));
        assert_eq!(
            Equivalence::RelatedTo.predicate(),
            ("skos:relatedMatch", false)
        );
        assert_eq!(Equivalence::Disjoint.predicate(), ("skos:exactMatch", true));
        for e in Equivalence::ALL {
            assert_eq!(Equivalence::parse(e.as_str()), Some(e));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn tabs_cannot_be_written() {
        let mut t = sample();
        t.rows[0].comment = "a\tb".into();
        assert!(matches!(
            t.to_sssom().unwrap_err(),
            WriteError::LineBreakInCell { row: 1, column, .. } if column == "comment"
        ));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
                let _ = parse_sssom(&bytes);
            }

            #[test]
            fn truncations_and_flips_never_panic(cut in 0usize..4000, flip in 0usize..4000, b in any::<u8>()) {
                let mut bytes = sample().to_sssom().unwrap();
                let f = flip % bytes.len();
                bytes[f] = b;
                bytes.truncate(cut % (bytes.len() + 1));
                let _ = parse_sssom(&bytes);
            }

            #[test]
            fn any_codes_round_trip(code in "[ -~あ-ん]{1,12}", disp in "[^\t\r\n]{0,12}") {
                let mut t = sample();
                t.rows[1].source.code = code;
                t.rows[1].source_display = disp;
                let bytes = t.to_sssom().unwrap();
                let (back, diags) = parse_sssom(&bytes);
                prop_assert!(diags.is_empty(), "{:?}", diags);
                prop_assert_eq!(strip_lines(back), t);
            }
        }
    }
}
