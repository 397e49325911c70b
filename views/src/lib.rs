//! Analysis tables: SQL on FHIR v2 ViewDefinitions evaluated over FHIR resources
//! (NDJSON lines, Bundles) with the project's FHIRPath engine, written as Parquet
//! or CSV tables with a data dictionary. No file I/O: the caller hands in bytes and
//! `io::Write` sinks.
//!
//! - [`view`]: a ViewDefinition (JSON) → a compiled [`View`], or located
//!   diagnostics for every rule it breaks (X001–X003).
//! - [`eval`]: a view × a resource → rows ([`eval::rows`]).
//! - [`source`]: resources from NDJSON lines and Bundles, one copy of each
//!   (type/id; first read wins).
//! - [`sink`]: streaming CSV / Parquet [`sink::TableWriter`]s, the dictionary.
//! - [`Exporter`]: the three together, counting every resource and row.
//!
//! ```
//! use views::{Exporter, sink::Format};
//! let v = views::view::read("patient.json", br#"{"resourceType":"ViewDefinition",
//!   "name":"patient","resource":"Patient","status":"active",
//!   "select":[{"column":[{"name":"id","path":"getResourceKey()","type":"string"},
//!                        {"name":"gender","path":"gender","type":"code"}]}]}"#).unwrap();
//! let table = views::sink::Shared::default();
//! let mut ex = Exporter::new(vec![v], Format::Csv, |_| Ok(table.clone())).unwrap();
//! let line = br#"{"resourceType":"Patient","id":"p1","gender":"female"}"#;
//! assert!(ex.ndjson_line("Patient.ndjson", 1, line).unwrap().is_empty());
//! let summary = ex.finish().unwrap();
//! assert_eq!(table.text(), "id,gender\nPatient/p1,female\n");
//! assert_eq!(summary.views[0].rows, 1);
//! ```

#![deny(missing_docs)]

pub mod codes;
pub mod eval;
pub mod sink;
pub mod source;
pub mod view;

pub use view::View;

use diagnostics::{Diagnostic, Location};
use serde_json::Value;
use sink::{Format, TableWriter, WriteError};
use source::{Admit, BundleIndex, Seen};
use std::collections::HashMap;
use std::io::Write;

/// Counts of one view's table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewTally {
    /// The view's name.
    pub name: String,
    /// Resources of the view's type it was evaluated on.
    pub resources: u64,
    /// Rows written.
    pub rows: u64,
    /// Resources it could not be evaluated on (X005): they gave no rows.
    pub not_evaluable: u64,
}

/// What an export read and wrote: every resource is counted once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Resources used (first copies, and resources with neither id nor identifier).
    pub resources: u64,
    /// Later copies of a resource already read (skipped).
    pub duplicates: u64,
    /// Lines or files that were not a FHIR resource (X006).
    pub unreadable: u64,
    /// Used resources whose type no view reads.
    pub no_view: u64,
    /// Per view, in view order.
    pub views: Vec<ViewTally>,
}

/// Writing one view's table failed: the view (its table) and why.
#[derive(Debug)]
pub struct TableError {
    /// The view whose table could not be opened, written or closed.
    pub view: String,
    /// What failed.
    pub error: WriteError,
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "table of view {}: {}", self.view, self.error)
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

fn table_error(view: &View) -> impl FnOnce(WriteError) -> TableError + '_ {
    move |error| TableError {
        view: view.name.clone(),
        error,
    }
}

/// Evaluates views over resources and streams their rows into one table each.
pub struct Exporter<W: Write> {
    views: Vec<View>,
    writers: Vec<TableWriter<W>>,
    by_type: HashMap<String, Vec<usize>>,
    seen: Seen,
    summary: Summary,
}

fn at(file: &str, line: Option<u32>, element: Option<&str>) -> Location {
    let mut l = Location::default().file(file);
    if let Some(n) = line {
        l = l.line(n);
    }
    if let Some(e) = element {
        l = l.element(e);
    }
    l
}

impl<W: Write> Exporter<W> {
    /// One table per view, each written to the sink `open(view)` gives.
    pub fn new(
        views: Vec<View>,
        format: Format,
        mut open: impl FnMut(&View) -> std::io::Result<W>,
    ) -> Result<Exporter<W>, TableError> {
        let mut writers = Vec::with_capacity(views.len());
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        let mut summary = Summary::default();
        for (i, v) in views.iter().enumerate() {
            let sink = open(v).map_err(|e| table_error(v)(WriteError::Io(e)))?;
            writers.push(TableWriter::new(v, format, sink).map_err(table_error(v))?);
            by_type.entry(v.resource.clone()).or_default().push(i);
            summary.views.push(ViewTally {
                name: v.name.clone(),
                ..ViewTally::default()
            });
        }
        Ok(Exporter {
            views,
            writers,
            by_type,
            seen: Seen::default(),
            summary,
        })
    }

    /// The views, in table order.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// One NDJSON line (`line` counts from 1).
    /// An error is a failure to write a table (the input's problems are diagnostics).
    pub fn ndjson_line(
        &mut self,
        file: &str,
        line: u32,
        bytes: &[u8],
    ) -> Result<Vec<Diagnostic>, TableError> {
        let mut diags = Vec::new();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(diags);
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if source::is_resource(&v) => return self.ndjson_value(file, line, &v),
            Ok(_) => {
                self.summary.unreadable += 1;
                diags.push(
                    Diagnostic::new(&codes::RESOURCE_UNREADABLE, "the line has no resourceType")
                        .at(at(file, Some(line), None)),
                );
            }
            Err(e) => {
                self.summary.unreadable += 1;
                diags.push(
                    Diagnostic::new(&codes::RESOURCE_UNREADABLE, format!("not JSON: {e}")).at(at(
                        file,
                        Some(line),
                        None,
                    )),
                );
            }
        }
        Ok(diags)
    }

    /// One JSON file: a Bundle (its entries' resources, `urn:uuid:` references
    /// resolved within it) or a single resource.
    /// An error is a failure to write a table.
    pub fn json_file(&mut self, file: &str, bytes: &[u8]) -> Result<Vec<Diagnostic>, TableError> {
        let mut diags = Vec::new();
        let v: Value = match serde_json::from_slice(bytes) {
            Ok(v) if source::is_resource(&v) => v,
            Ok(_) => {
                self.summary.unreadable += 1;
                diags.push(
                    Diagnostic::new(&codes::RESOURCE_UNREADABLE, "the file has no resourceType")
                        .at(at(file, None, None)),
                );
                return Ok(diags);
            }
            Err(e) => {
                self.summary.unreadable += 1;
                diags.push(
                    Diagnostic::new(&codes::RESOURCE_UNREADABLE, format!("not JSON: {e}")).at(at(
                        file,
                        u32::try_from(e.line()).ok(),
                        None,
                    )),
                );
                return Ok(diags);
            }
        };
        self.json_value(file, v)
    }

    /// One resource already parsed from an NDJSON line (`line` counts from 1),
    /// e.g. after a transform (crate `research`). An error is a failure to write a table.
    pub fn ndjson_value(
        &mut self,
        file: &str,
        line: u32,
        v: &Value,
    ) -> Result<Vec<Diagnostic>, TableError> {
        let mut diags = Vec::new();
        self.resource(v, None, None, &mut diags, || at(file, Some(line), None))?;
        Ok(diags)
    }

    /// One resource or Bundle already parsed from a JSON file, as
    /// [`Exporter::json_file`] reads it. An error is a failure to write a table.
    pub fn json_value(&mut self, file: &str, mut v: Value) -> Result<Vec<Diagnostic>, TableError> {
        let mut diags = Vec::new();
        if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            source::fill_ids(&mut v);
            let index = BundleIndex::new(&v);
            for (place, res) in source::bundle_resources(&v) {
                let resolver: &dyn fhir::fhirpath::Resolver<'_> = &index;
                self.resource(res, Some(&v), Some(resolver), &mut diags, || {
                    at(file, None, Some(&place))
                })?;
            }
        } else {
            self.resource(&v, None, None, &mut diags, || at(file, None, None))?;
        }
        Ok(diags)
    }

    fn resource<'a>(
        &mut self,
        res: &'a Value,
        root: Option<&'a Value>,
        resolver: Option<&'a dyn fhir::fhirpath::Resolver<'a>>,
        diags: &mut Vec<Diagnostic>,
        loc: impl Fn() -> Location,
    ) -> Result<(), TableError> {
        let ty = res
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = format!(
            "{ty}/{}",
            res.get("id").and_then(Value::as_str).unwrap_or("(no id)")
        );
        match self.seen.admit(res) {
            Admit::New => {}
            Admit::Unkeyed => diags.push(
                Diagnostic::new(&codes::NO_ID, format!("{ty} without an id or identifier"))
                    .at(loc()),
            ),
            Admit::Duplicate => {
                self.summary.duplicates += 1;
                return Ok(());
            }
        }
        self.summary.resources += 1;
        let Some(which) = self.by_type.get(ty) else {
            self.summary.no_view += 1;
            return Ok(());
        };
        for &i in which {
            let tally = &mut self.summary.views[i];
            tally.resources += 1;
            match eval::rows(&self.views[i], res, root, resolver) {
                Ok(rows) => {
                    tally.rows += rows.len() as u64;
                    self.writers[i]
                        .push(rows)
                        .map_err(table_error(&self.views[i]))?;
                }
                Err(e) => {
                    tally.not_evaluable += 1;
                    diags.push(
                        Diagnostic::new(
                            &codes::NOT_EVALUABLE,
                            format!("view {} on {key}: {e}", self.views[i].name),
                        )
                        .at(loc()),
                    );
                }
            }
        }
        Ok(())
    }

    /// Closes every table; returns the summary.
    pub fn finish(self) -> Result<Summary, TableError> {
        for (w, v) in self.writers.into_iter().zip(&self.views) {
            w.finish().map_err(table_error(v))?;
        }
        Ok(self.summary)
    }
}

/// The shipped ViewDefinitions (`views/definitions/`): file name and JSON text,
/// in table order.
pub fn shipped() -> [(&'static str, &'static str); 6] {
    [
        ("patient.json", include_str!("../definitions/patient.json")),
        (
            "condition.json",
            include_str!("../definitions/condition.json"),
        ),
        (
            "observation.json",
            include_str!("../definitions/observation.json"),
        ),
        (
            "medication_request.json",
            include_str!("../definitions/medication_request.json"),
        ),
        ("allergy.json", include_str!("../definitions/allergy.json")),
        (
            "checkup_result.json",
            include_str!("../definitions/checkup_result.json"),
        ),
    ]
}

#[cfg(test)]
mod tests;
