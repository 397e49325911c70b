//! Today's outputs of `kakehashi convert`, one [`Sink`] each, in one folder `DIR`:
//!
//! ```text
//! DIR/bundles/<unit>.json            valid bundles (the full current state)    UnitFolders
//! DIR/quarantine/<unit>.json         invalid bundles, each with                UnitFolders
//! DIR/quarantine/<unit>.outcome.json its OperationOutcome
//! DIR/ndjson/<Type>.ndjson           every submitted resource (Bulk Data)      Ndjson
//! DIR/lineage.jsonl                  resource → source file, segment, field,   LineageFile
//!                                    table rows (PHI)
//! DIR/diagnostics.jsonl              every diagnostic (PHI masked unless       DiagnosticsFile
//!                                    show_phi)
//! DIR/plan.jsonl                     what to send                              PlanFile
//! DIR/receipts.jsonl                 receipt records → patients (PHI)          ReceiptsFile
//! DIR/report.json                    the run report                            ReportFile
//! ```
//!
//! Unit files are written by the workers ([`Sink::prepare`], one name each);
//! every other file is appended in patient order ([`Sink::accept`]) or written at
//! the end ([`Sink::finish`]). [`folder`] makes the whole set.

use crate::convert::{PatientResult, uuid_of};
use crate::receipts::Receipts;
use crate::sink::{RunEnd, Sink, SinkError};
use diagnostics::{Diagnostics, RenderOptions, Severity};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends `v` as one compact JSON line (keys as the value holds them).
fn push_line(buf: &mut Vec<u8>, v: &Value) {
    // Writing to a Vec fails only for a value serde_json cannot write (a
    // non-string map key), which a `Value` cannot hold.
    if serde_json::to_writer(&mut *buf, v).is_ok() {
        buf.push(b'\n');
    }
}

/// Appends `v` as compact JSON with every object's keys in byte order — the
/// bytes `sort_all_objects` then `to_writer` give — without copying the value,
/// with `patch` applied on the way.
fn write_sorted(v: &Value, buf: &mut Vec<u8>, patch: Patch<'_>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
            if matches!(patch, Patch::Resource(_)) && !m.contains_key("id") {
                keys.push("id");
            }
            keys.sort_unstable();
            buf.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_json(k, buf);
                buf.push(b':');
                match (&patch, k) {
                    (Patch::Resource(t), "id") => write_json(t.id, buf),
                    (
                        Patch::Resource(Top {
                            subject: Some(r), ..
                        }),
                        "subject",
                    )
                    | (
                        Patch::Resource(Top {
                            patient: Some(r), ..
                        }),
                        "patient",
                    ) => write_sorted(&m[k], buf, Patch::Reference(r)),
                    (Patch::Reference(r), "reference") => write_json(*r, buf),
                    _ => write_sorted(&m[k], buf, Patch::None),
                }
            }
            buf.push(b'}');
        }
        Value::Array(a) => {
            buf.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_sorted(x, buf, Patch::None);
            }
            buf.push(b']');
        }
        scalar => write_json(scalar, buf),
    }
}

/// What [`write_sorted`] replaces in the object it writes.
enum Patch<'a> {
    None,
    /// A resource: its `id`, added when missing, and the `reference` of
    /// `subject` / `patient` where the [`Top`] names one.
    Resource(&'a Top<'a>),
    /// A reference element: its `reference`.
    Reference(&'a str),
}

/// Appends `v` as compact JSON (a scalar, or a struct of scalars).
fn write_json<T: serde::Serialize + ?Sized>(v: &T, buf: &mut Vec<u8>) {
    // Writing to a Vec fails only for a map with non-string keys, which
    // neither a scalar `Value` nor the structs written here hold.
    let _ = serde_json::to_writer(&mut *buf, v);
}

/// The id and patient references [`Patch::Resource`] writes.
struct Top<'a> {
    id: &'a str,
    subject: Option<&'a str>,
    patient: Option<&'a str>,
}

fn create(p: &Path) -> Result<BufWriter<File>, SinkError> {
    File::create(p)
        .map(BufWriter::new)
        .map_err(|e| SinkError::create(p, e))
}

/// Empties (or creates) a managed folder.
fn fresh_dir(d: &Path) -> Result<(), SinkError> {
    if d.exists() {
        std::fs::remove_dir_all(d).map_err(|e| SinkError::remove(d, e))?;
    }
    std::fs::create_dir_all(d).map_err(|e| SinkError::create_dir(d, e))
}

/// `bundles/` and `quarantine/`: each unit's bundle (valid) or the bundle and its
/// OperationOutcome (invalid), written by the worker. Both folders are emptied
/// when the sink is made.
pub struct UnitFolders {
    out: PathBuf,
}

impl UnitFolders {
    /// The unit folders below `out`, emptied.
    pub fn create(out: &Path) -> Result<UnitFolders, SinkError> {
        for sub in ["bundles", "quarantine"] {
            fresh_dir(&out.join(sub))?;
        }
        Ok(UnitFolders {
            out: out.to_path_buf(),
        })
    }
}

impl Sink for UnitFolders {
    type Worker = PathBuf;
    type Prepared = ();
    fn worker(&self) -> PathBuf {
        self.out.clone()
    }
    fn prepare(out: &PathBuf, p: &PatientResult) -> Result<(), SinkError> {
        for u in &p.units {
            let dir = if u.outcome.is_none() {
                "bundles"
            } else {
                "quarantine"
            };
            let path = out.join(dir).join(format!("{}.json", u.unit_id));
            std::fs::write(&path, &u.json).map_err(|e| SinkError::io(&path, e))?;
            if let Some(o) = &u.outcome {
                // A serde_json::Value always serialises.
                let mut bytes = serde_json::to_vec_pretty(o).unwrap_or_default();
                bytes.push(b'\n');
                let path = out.join(dir).join(format!("{}.outcome.json", u.unit_id));
                std::fs::write(&path, bytes).map_err(|e| SinkError::io(&path, e))?;
            }
        }
        Ok(())
    }
    fn accept(&mut self, (): ()) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Calls `f` with every resource of a patient's results that Bulk Data exports,
/// in order: the Patient (once), each valid bundle's resources other than the
/// Patient, each exported prescription; with its type, its fullUrl, and which
/// references name the patient: the bundle's Patient fullUrls (`Some`), or any
/// patient reference (`None`: a lone prescription).
fn bulk_resources<'a>(
    p: &'a PatientResult,
    mut f: impl FnMut(&'static str, &'a Value, &'a str, Option<&[&'a str]>),
) {
    if let Some(v) = &p.patient {
        f("Patient", v, &p.patient_url, Some(&[]));
    }
    for u in p.units.iter().filter(|u| u.outcome.is_none()) {
        if u.resource.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            continue;
        }
        let entries: Vec<(&str, &Value)> = u
            .resource
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let url = e.get("fullUrl").and_then(Value::as_str).unwrap_or_default();
                e.get("resource").map(|r| (url, r))
            })
            .collect();
        let patients: Vec<&str> = entries
            .iter()
            .filter(|(_, r)| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
            .map(|(url, _)| *url)
            .collect();
        for (url, r) in entries {
            let t = match r.get("resourceType").and_then(Value::as_str) {
                Some("Condition") => "Condition",
                Some("AllergyIntolerance") => "AllergyIntolerance",
                Some("Observation") => "Observation",
                Some("MedicationRequest") => "MedicationRequest",
                _ => continue,
            };
            f(t, r, url, Some(&patients));
        }
    }
    for m in &p.medications {
        f("MedicationRequest", &m.resource, &m.full_url, None);
    }
}

/// The number of NDJSON lines a patient's results give, by resource type.
pub fn ndjson_lines(p: &PatientResult) -> BTreeMap<&'static str, usize> {
    let mut n = BTreeMap::new();
    bulk_resources(p, |t, _, _, _| *n.entry(t).or_default() += 1);
    n
}

/// `ndjson/<Type>.ndjson`: every submitted resource as Bulk Data wants it: each
/// with an `id` (its fullUrl's UUID), references to the patient rewritten to
/// `Patient/<id>`, keys sorted; the Patient once per patient. A type's file
/// exists once it has a line.
pub struct Ndjson {
    dir: PathBuf,
    files: BTreeMap<&'static str, BufWriter<File>>,
}

impl Ndjson {
    /// The NDJSON folder `out/ndjson`, emptied.
    pub fn create(out: &Path) -> Result<Ndjson, SinkError> {
        let dir = out.join("ndjson");
        fresh_dir(&dir)?;
        Ok(Ndjson {
            dir,
            files: BTreeMap::new(),
        })
    }
}

impl Sink for Ndjson {
    type Worker = ();
    type Prepared = BTreeMap<&'static str, Vec<u8>>;
    fn worker(&self) {}
    fn prepare((): &(), p: &PatientResult) -> Result<Self::Prepared, SinkError> {
        let mut out: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
        let patient_ref = format!("Patient/{}", uuid_of(&p.patient_url));
        bulk_resources(p, |t, r, url, patients| {
            // References to the patient are rewritten field by field: a
            // resource whose subject names another patient keeps it.
            let to_patient = |field: &str| {
                t != "Patient"
                    && r.get(field)
                        .and_then(|s| s.get("reference"))
                        .and_then(Value::as_str)
                        .is_some_and(|s| patients.is_none_or(|ps| ps.contains(&s)))
            };
            let rewrite = |field: &str| Some(patient_ref.as_str()).filter(|_| to_patient(field));
            let top = Top {
                id: uuid_of(url),
                subject: rewrite("subject"),
                patient: rewrite("patient"),
            };
            let buf = out.entry(t).or_default();
            write_sorted(r, buf, Patch::Resource(&top));
            buf.push(b'\n');
        });
        Ok(out)
    }
    fn accept(&mut self, lines: Self::Prepared) -> Result<(), SinkError> {
        for (t, bytes) in lines {
            if !self.files.contains_key(t) {
                let w = create(&self.dir.join(format!("{t}.ndjson")))?;
                self.files.insert(t, w);
            }
            if let Some(w) = self.files.get_mut(t) {
                w.write_all(&bytes)
                    .map_err(|e| SinkError::io(self.dir.join(format!("{t}.ndjson")), e))?;
            }
        }
        Ok(())
    }
    fn finish(&mut self, _: &RunEnd<'_>) -> Result<(), SinkError> {
        for (t, w) in &mut self.files {
            w.flush()
                .map_err(|e| SinkError::io(self.dir.join(format!("{t}.ndjson")), e))?;
        }
        Ok(())
    }
}

/// A JSON Lines file appended in patient order.
struct Lines {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Lines {
    fn create(path: PathBuf) -> Result<Lines, SinkError> {
        Ok(Lines {
            w: create(&path)?,
            path,
        })
    }
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.w
            .write_all(bytes)
            .map_err(|e| SinkError::io(&self.path, e))
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        self.w.flush().map_err(|e| SinkError::io(&self.path, e))
    }
}

/// `lineage.jsonl`: one line per submitted resource: bundle identifier, fullUrl,
/// type, source elements (file, segment, field) and table rows. Holds PHI.
pub struct LineageFile(Lines);

impl LineageFile {
    /// Creates `out/lineage.jsonl`.
    pub fn create(out: &Path) -> Result<LineageFile, SinkError> {
        Ok(LineageFile(Lines::create(out.join("lineage.jsonl"))?))
    }
}

impl Sink for LineageFile {
    type Worker = ();
    type Prepared = Vec<u8>;
    fn worker(&self) {}
    fn prepare((): &(), p: &PatientResult) -> Result<Vec<u8>, SinkError> {
        // Fields in byte order, as every JSON line this crate writes.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            bundle: &'a str,
            #[serde(rename = "fullUrl")]
            full_url: &'a str,
            #[serde(rename = "resourceType")]
            resource_type: &'a str,
            sources: Vec<Source<'a>>,
            #[serde(rename = "tableRows")]
            table_rows: &'a [String],
        }
        #[derive(serde::Serialize)]
        struct Source<'a> {
            element: &'a str,
            field: &'a str,
            file: &'a str,
            segment: &'a str,
        }
        let mut buf = Vec::new();
        for l in &p.lineage {
            let line = Line {
                bundle: &l.bundle,
                full_url: &l.full_url,
                resource_type: l.resource_type,
                sources: l
                    .sources
                    .iter()
                    .map(|s| Source {
                        element: s.element,
                        field: &s.field,
                        file: &s.file,
                        segment: &s.segment,
                    })
                    .collect(),
                table_rows: &l.table_rows,
            };
            write_json(&line, &mut buf);
            buf.push(b'\n');
        }
        Ok(buf)
    }
    fn accept(&mut self, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.0.write(&bytes)
    }
    fn finish(&mut self, _: &RunEnd<'_>) -> Result<(), SinkError> {
        self.0.flush()
    }
}

/// Renders diagnostics as sorted JSON lines.
fn render_diagnostics(d: &Diagnostics, opts: RenderOptions, buf: &mut Vec<u8>) {
    for x in d.iter() {
        let mut v = x.to_json(opts);
        v.sort_all_objects();
        push_line(buf, &v);
    }
}

/// `diagnostics.jsonl`: every diagnostic of the run, one JSON line each (PHI
/// masked unless `show_phi`): run-level ones where the run gives them, each
/// patient's in patient order.
pub struct DiagnosticsFile {
    lines: Lines,
    opts: RenderOptions,
}

impl DiagnosticsFile {
    /// Creates `out/diagnostics.jsonl`.
    pub fn create(out: &Path, opts: RenderOptions) -> Result<DiagnosticsFile, SinkError> {
        Ok(DiagnosticsFile {
            lines: Lines::create(out.join("diagnostics.jsonl"))?,
            opts,
        })
    }
}

impl Sink for DiagnosticsFile {
    type Worker = RenderOptions;
    type Prepared = Vec<u8>;
    fn worker(&self) -> RenderOptions {
        self.opts
    }
    fn prepare(opts: &RenderOptions, p: &PatientResult) -> Result<Vec<u8>, SinkError> {
        let mut buf = Vec::new();
        render_diagnostics(&p.diagnostics, *opts, &mut buf);
        Ok(buf)
    }
    fn accept(&mut self, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.lines.write(&bytes)
    }
    fn diagnostics(&mut self, d: &Diagnostics) -> Result<(), SinkError> {
        let mut buf = Vec::new();
        render_diagnostics(d, self.opts, &mut buf);
        self.lines.write(&buf)
    }
    fn finish(&mut self, _: &RunEnd<'_>) -> Result<(), SinkError> {
        self.lines.flush()
    }
}

/// `plan.jsonl` ([`crate::ledger::write_plan`]; holds PHI).
pub struct PlanFile {
    path: PathBuf,
}

impl PlanFile {
    /// `out/plan.jsonl`, written at the end of the run.
    pub fn new(out: &Path) -> PlanFile {
        PlanFile {
            path: out.join("plan.jsonl"),
        }
    }
}

impl Sink for PlanFile {
    type Worker = ();
    type Prepared = ();
    fn worker(&self) {}
    fn prepare((): &(), _: &PatientResult) -> Result<(), SinkError> {
        Ok(())
    }
    fn accept(&mut self, (): ()) -> Result<(), SinkError> {
        Ok(())
    }
    fn finish(&mut self, end: &RunEnd<'_>) -> Result<(), SinkError> {
        std::fs::write(&self.path, crate::ledger::write_plan(&end.plan.items))
            .map_err(|e| SinkError::io(&self.path, e))
    }
}

/// `receipts.jsonl` when the run was given receipts (nothing otherwise).
pub struct ReceiptsFile {
    path: PathBuf,
    text: Option<String>,
}

impl ReceiptsFile {
    /// `out/receipts.jsonl` with the receipts' lines.
    pub fn new(out: &Path, receipts: &Receipts) -> ReceiptsFile {
        ReceiptsFile {
            path: out.join("receipts.jsonl"),
            text: receipts.lines(),
        }
    }
}

impl Sink for ReceiptsFile {
    type Worker = ();
    type Prepared = ();
    fn worker(&self) {}
    fn prepare((): &(), _: &PatientResult) -> Result<(), SinkError> {
        Ok(())
    }
    fn accept(&mut self, (): ()) -> Result<(), SinkError> {
        Ok(())
    }
    fn finish(&mut self, _: &RunEnd<'_>) -> Result<(), SinkError> {
        match &self.text {
            Some(t) => std::fs::write(&self.path, t).map_err(|e| SinkError::io(&self.path, e)),
            None => Ok(()),
        }
    }
}

/// What the run report says besides its tallies.
pub struct ReportHeader {
    /// The as-of date.
    pub as_of: String,
    /// The 医療機関番号.
    pub institution_number: String,
    /// The configuration's notes (safety policies that applied).
    pub notes: Vec<String>,
    /// The tables, `id@version`.
    pub tables: Vec<String>,
    /// The lab sets' versions.
    pub lab_sets: Vec<String>,
    /// The validator's provenance (packages, errata, code systems).
    pub validation: String,
    /// The receipts' section ([`Receipts::section`]), if any.
    pub receipts: Option<Value>,
}

/// One patient's part of the report.
pub struct ReportPart {
    by_code: BTreeMap<&'static str, usize>,
    by_severity: BTreeMap<&'static str, usize>,
    files: usize,
    unreadable: usize,
    empty_files: usize,
    messages: BTreeMap<String, usize>,
    records: BTreeMap<(String, String), usize>,
    empty_units: BTreeMap<String, usize>,
    written: BTreeMap<&'static str, usize>,
    quarantined: BTreeMap<&'static str, usize>,
    ndjson: BTreeMap<&'static str, usize>,
}

fn tally_diagnostics(
    d: &Diagnostics,
    by_code: &mut BTreeMap<&'static str, usize>,
    by_severity: &mut BTreeMap<&'static str, usize>,
) {
    for x in d.iter() {
        *by_code.entry(x.code.id).or_default() += 1;
        *by_severity
            .entry(match x.code.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            })
            .or_default() += 1;
    }
}

/// `report.json`: every file, message and record accounted for, units by type,
/// NDJSON lines, the plan's summary, diagnostics by severity and code (keys
/// sorted, pretty-printed). [`ReportFile::report`] gives it to the front end.
pub struct ReportFile {
    path: PathBuf,
    header: ReportHeader,
    total: ReportPart,
    report: Option<Value>,
}

impl ReportFile {
    /// `out/report.json`, written at the end of the run.
    pub fn new(out: &Path, header: ReportHeader) -> ReportFile {
        ReportFile {
            path: out.join("report.json"),
            header,
            total: ReportPart {
                by_code: BTreeMap::new(),
                by_severity: BTreeMap::new(),
                files: 0,
                unreadable: 0,
                empty_files: 0,
                messages: BTreeMap::new(),
                records: BTreeMap::new(),
                empty_units: BTreeMap::new(),
                written: BTreeMap::new(),
                quarantined: BTreeMap::new(),
                ndjson: BTreeMap::new(),
            },
            report: None,
        }
    }

    /// The report, once written.
    pub fn report(&self) -> Option<&Value> {
        self.report.as_ref()
    }
}

fn add<K: Ord>(into: &mut BTreeMap<K, usize>, from: BTreeMap<K, usize>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

impl Sink for ReportFile {
    type Worker = ();
    type Prepared = ReportPart;
    fn worker(&self) {}
    fn prepare((): &(), p: &PatientResult) -> Result<ReportPart, SinkError> {
        let mut by_code = BTreeMap::new();
        let mut by_severity = BTreeMap::new();
        tally_diagnostics(&p.diagnostics, &mut by_code, &mut by_severity);
        let mut written = BTreeMap::new();
        let mut quarantined = BTreeMap::new();
        for u in &p.units {
            let t = if u.outcome.is_none() {
                &mut written
            } else {
                &mut quarantined
            };
            *t.entry(u.resource_type).or_default() += 1;
        }
        Ok(ReportPart {
            by_code,
            by_severity,
            files: p.tally.files,
            unreadable: p.tally.unreadable,
            empty_files: p.tally.empty_files,
            messages: p.tally.messages.clone(),
            records: p.tally.records.clone(),
            empty_units: p.tally.empty_units.clone(),
            written,
            quarantined,
            ndjson: ndjson_lines(p),
        })
    }
    fn accept(&mut self, p: ReportPart) -> Result<(), SinkError> {
        let t = &mut self.total;
        add(&mut t.by_code, p.by_code);
        add(&mut t.by_severity, p.by_severity);
        t.files += p.files;
        t.unreadable += p.unreadable;
        t.empty_files += p.empty_files;
        add(&mut t.messages, p.messages);
        add(&mut t.records, p.records);
        add(&mut t.empty_units, p.empty_units);
        add(&mut t.written, p.written);
        add(&mut t.quarantined, p.quarantined);
        add(&mut t.ndjson, p.ndjson);
        Ok(())
    }
    fn diagnostics(&mut self, d: &Diagnostics) -> Result<(), SinkError> {
        tally_diagnostics(d, &mut self.total.by_code, &mut self.total.by_severity);
        Ok(())
    }
    fn finish(&mut self, end: &RunEnd<'_>) -> Result<(), SinkError> {
        let t = &self.total;
        let h = &self.header;
        let mut records: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for ((kind, outcome), n) in &t.records {
            records
                .entry(kind.clone())
                .or_default()
                .insert(outcome.clone(), *n);
        }
        let total_messages: usize = t.messages.values().sum();
        let mut report = json!({
            "as_of": h.as_of,
            "institution_number": h.institution_number,
            "notes": h.notes,
            "tables": h.tables,
            "lab_sets": h.lab_sets,
            "validation": h.validation,
            "inputs": {"patients": end.patients, "files": t.files, "unreadable_files": t.unreadable, "files_without_messages": t.empty_files, "messages": total_messages},
            "messages": t.messages,
            "records": records,
            "units": {
                "written": t.written.values().sum::<usize>(),
                "written_by_type": t.written,
                "quarantined": t.quarantined.values().sum::<usize>(),
                "quarantined_by_type": t.quarantined,
                "empty": t.empty_units,
            },
            "ndjson": t.ndjson,
            "plan": end.plan.summary(),
            "diagnostics": {
                "error": t.by_severity.get("error").copied().unwrap_or(0),
                "warning": t.by_severity.get("warning").copied().unwrap_or(0),
                "info": t.by_severity.get("info").copied().unwrap_or(0),
                "by_code": t.by_code,
            },
        });
        if let (Some(section), Some(o)) = (&h.receipts, report.as_object_mut()) {
            o.insert("receipts".into(), section.clone());
        }
        report.sort_all_objects();
        // A serde_json::Value always serialises.
        let mut bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
        bytes.push(b'\n');
        std::fs::write(&self.path, bytes).map_err(|e| SinkError::io(&self.path, e))?;
        self.report = Some(report);
        Ok(())
    }
}

/// Today's folder outputs, in one tuple: unit folders, NDJSON, lineage,
/// diagnostics, plan, receipts, report (the last gives the report back).
pub type Folder = (
    UnitFolders,
    Ndjson,
    LineageFile,
    DiagnosticsFile,
    PlanFile,
    ReceiptsFile,
    ReportFile,
);

/// Makes today's outputs in `out` (the managed folders emptied).
pub fn folder(
    out: &Path,
    opts: RenderOptions,
    header: ReportHeader,
    receipts: &Receipts,
) -> Result<Folder, SinkError> {
    Ok((
        UnitFolders::create(out)?,
        Ndjson::create(out)?,
        LineageFile::create(out)?,
        DiagnosticsFile::create(out, opts)?,
        PlanFile::new(out),
        ReceiptsFile::new(out, receipts),
        ReportFile::new(out, header),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the NDJSON sink wrote before `write_sorted`: a copy, patched, keys
    /// sorted, written.
    fn by_copy(r: &Value, id: &str, subject: Option<&str>, patient: Option<&str>) -> Vec<u8> {
        let mut r = r.clone();
        for (field, to) in [("subject", subject), ("patient", patient)] {
            if let (Some(to), Some(reference)) =
                (to, r.get_mut(field).and_then(|s| s.get_mut("reference")))
            {
                *reference = Value::String(to.to_owned());
            }
        }
        if let Some(obj) = r.as_object_mut() {
            obj.insert("id".into(), Value::String(id.to_owned()));
        }
        r.sort_all_objects();
        let mut buf = Vec::new();
        push_line(&mut buf, &r);
        buf
    }

    fn sorted(r: &Value, id: &str, subject: Option<&str>, patient: Option<&str>) -> Vec<u8> {
        let mut buf = Vec::new();
        write_sorted(
            r,
            &mut buf,
            Patch::Resource(&Top {
                id,
                subject,
                patient,
            }),
        );
        buf.push(b'\n');
        buf
    }

    #[test]
    fn write_sorted_gives_the_bytes_of_a_sorted_copy() {
        let resources = [
            json!({"resourceType": "Observation", "status": "final",
                   "subject": {"reference": "urn:uuid:p", "display": "患者"},
                   "valueQuantity": {"value": 1.5, "unit": "mg/dL", "code": "mg/dL"},
                   "code": {"coding": [{"system": "urn:oid:1.2.392.200119.4.504", "code": "3D010", "display": "\"糖\"\n"}]},
                   "component": [{"z": true, "a": null}, [3, {"y": 1, "b": -2}]]}),
            json!({"resourceType": "AllergyIntolerance", "id": "old", "patient": {"reference": "urn:uuid:p"},
                   "recorder": {"reference": "urn:uuid:r"}}),
            json!({"resourceType": "Condition", "subject": "not an object", "patient": [1, 2]}),
            json!({"resourceType": "Patient", "identifier": [], "name": [{}]}),
        ];
        for r in &resources {
            for (subject, patient) in [
                (None, None),
                (Some("Patient/x"), None),
                (None, Some("Patient/x")),
                (Some("Patient/x"), Some("Patient/x")),
            ] {
                // The sink rewrites a field only where a reference string is.
                let has = |f: &str| r.get(f).and_then(|s| s.get("reference")).is_some();
                let (subject, patient) = (
                    subject.filter(|_| has("subject")),
                    patient.filter(|_| has("patient")),
                );
                assert_eq!(
                    String::from_utf8_lossy(&sorted(r, "new-id", subject, patient)),
                    String::from_utf8_lossy(&by_copy(r, "new-id", subject, patient)),
                    "{r}"
                );
            }
        }
    }
}
