//! The receipts' part of a conversion (`kakehashi convert --receipts`).
//!
//! Before the patients are converted, [`Receipts::read`] reads and decodes each UKE
//! file ([`parsers::uke::parse`]: Shift_JIS/CP932, every U-code), maps the current
//! ADT-00 of every storage patient through the patient source
//! ([`crate::source::read_patient`], diagnostics dropped: the run reports them) and
//! links the receipts to those patients with [`mappers::receipt::link`] (rules in
//! that module). The per-patient conversion then calls [`Receipts::apply`] on each
//! patient before its bundles are built: a filled 枝番 (or an identifier the storage
//! lacked) is in every bundle, and a patient whose sources disagree is withheld. A
//! member id that changes because its 枝番 became known is planned by the ledger like
//! any other member-id change: delete under the old, create under the new, same
//! identifier (`C109`).
//!
//! For the outputs: a `receipts` section of the run report ([`Receipts::section`]:
//! every record of every file by record id and outcome; the counts add up to the
//! records read) and `receipts.jsonl` ([`Receipts::lines`]), one line per record:
//! file, line, record id, receipt, linked patient id, outcome, and for SY the
//! 傷病名コード and 修飾語コード (the receipts' diagnoses feed linking, coverage and
//! worklists, never CLINS Conditions). `receipts.jsonl` links receipts to patients:
//! it holds PHI.

use diagnostics::{Diagnostic, Diagnostics, Location};
use mappers::receipt::{self, KnownPatient, Linked, Patch, ReceiptFile};
use mappers::record::PatientRecord;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::source::{PatientFiles, SourceFile, Storage};

/// What the receipts of a run give the per-patient pipeline and the report.
#[derive(Default)]
pub struct Receipts {
    /// False when no receipts were given (nothing changes, no report section).
    active: bool,
    /// Files as given.
    files: Vec<String>,
    /// Records read per file (parser count).
    records_read: u64,
    /// Per patient local id: the change to make.
    patches: BTreeMap<String, Patch>,
    /// Parser and linking diagnostics, for diagnostics.jsonl.
    pub diagnostics: Diagnostics,
    /// Counts by record id and outcome.
    tally: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Patients by what the receipts did to them.
    patients: BTreeMap<&'static str, usize>,
    /// receipts.jsonl lines.
    lines: Vec<String>,
}

impl Receipts {
    /// Reads, decodes and links the receipt files (`(shown, path)` pairs) to the
    /// patients of `storage`; `mctx` is the run's mapper context. A file that
    /// cannot be read is a `C001` error in [`Receipts::diagnostics`].
    pub fn read(
        files: &[(String, PathBuf)],
        storage: &Storage,
        mctx: &mappers::Context<'_>,
    ) -> Receipts {
        let mut r = Receipts::default();
        if files.is_empty() {
            return r;
        }
        r.active = true;
        let mut read = Vec::new();
        for (shown, path) in files {
            match std::fs::read(path) {
                Ok(bytes) => {
                    let f = parsers::uke::parse(&bytes);
                    let mut d = Diagnostics::default();
                    d.extend(f.all_diagnostics().cloned());
                    d.set_file(shown);
                    r.diagnostics.extend(d);
                    r.records_read += f.summary.records;
                    read.push((shown.clone(), f));
                }
                Err(e) => r.diagnostics.push(
                    Diagnostic::new(&crate::codes::UNREADABLE, format!("cannot read: {e}"))
                        .at(Location::default().file(shown.clone())),
                ),
            }
            r.files.push(shown.clone());
        }
        let known: Vec<KnownPatient> = storage
            .patients()
            .iter()
            .filter_map(|p| storage_patient(storage, p, mctx))
            .map(|p| KnownPatient::from_record(&p))
            .collect();
        let refs: Vec<ReceiptFile<'_>> = read
            .iter()
            .map(|(name, f)| ReceiptFile { file: name, uke: f })
            .collect();
        let linked = receipt::link(&refs, &known, mctx.config.policy.karte_zeros);
        r.tally = receipt::tally(&linked);
        for outcome in linked.patients.values() {
            *r.patients.entry(outcome).or_default() += 1;
        }
        r.lines = lineage(&linked, &read);
        r.diagnostics.extend(linked.diagnostics);
        r.patches = linked.patches;
        r
    }

    /// Applies the receipts' patch for this patient (if any) before its bundles
    /// are built.
    pub fn apply(&self, patient: &mut Option<PatientRecord>, diags: &mut Diagnostics) {
        let Some(p) = patient.as_mut() else { return };
        let Some(patch) = self.patches.get(&p.local_id) else {
            return;
        };
        if !receipt::apply(patch, p) {
            diags.push(Diagnostic::new(
                &crate::codes::RECEIPT_PATCH_STALE,
                "the patient differs from the one its receipts were linked to; the receipts' change is not applied",
            ));
        }
    }

    /// The `receipts` section of the run report (keys sorted); `None` when no
    /// receipts were given.
    pub fn section(&self) -> Option<Value> {
        if !self.active {
            return None;
        }
        let counted: usize = self.tally.values().flat_map(|m| m.values()).sum();
        let receipts_n: usize = self.tally.get("RE").map(|m| m.values().sum()).unwrap_or(0);
        let mut section = json!({
            "files": self.files,
            "records_read": self.records_read,
            "records_counted": counted,
            "receipts": receipts_n,
            "records": self.tally,
            "patients": self.patients,
            "lineage": "receipts.jsonl (holds PHI: links receipts to patient ids)",
        });
        section.sort_all_objects();
        Some(section)
    }

    /// The text of `receipts.jsonl` (one JSON line per record; holds PHI);
    /// `None` when no receipts were given.
    pub fn lines(&self) -> Option<String> {
        if !self.active {
            return None;
        }
        let mut text = self.lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Some(text)
    }
}

/// The patient of a storage folder as the run maps it: its ADT-00 files through
/// the patient source, current version assembled (diagnostics dropped).
fn storage_patient(
    storage: &Storage,
    p: &PatientFiles,
    mctx: &mappers::Context<'_>,
) -> Option<PatientRecord> {
    let read = crate::source::read_patient(
        storage,
        p,
        mctx,
        |e| SourceFile::named_type(e, "ADT-00"),
        |_| {},
        &mut |_| {},
    );
    if read.messages.is_empty() {
        return None;
    }
    let local_id = read.local_id.clone();
    read.assemble(&local_id).0.assembled.patient
}

fn lineage(linked: &Linked, files: &[(String, parsers::uke::UkeFile)]) -> Vec<String> {
    let mut out = Vec::new();
    for ((name, f), fates) in files.iter().zip(&linked.fates) {
        for (pr, fate) in f.records.iter().zip(fates) {
            let mut v = json!({
                "file": name,
                "line": fate.line,
                "record": fate.record,
                "receipt": fate.receipt,
                "patient": fate.patient,
                "outcome": fate.outcome,
            });
            if fate.record == "SY"
                && let Some(o) = v.as_object_mut()
            {
                let col = |c: usize| pr.record.field(c).unwrap_or("").trim().to_owned();
                o.insert("code".into(), Value::String(col(2)));
                o.insert("modifiers".into(), Value::String(col(5)));
            }
            v.sort_all_objects();
            out.push(v.to_string());
        }
    }
    out
}
