//! `kakehashi convert STORAGE --receipts FILE...`: the receipts' part of a run.
//!
//! Before the patients are converted, [`prepare`] reads and decodes each UKE file
//! ([`parsers::uke::parse`]: Shift_JIS/CP932, every U-code), maps the current ADT-00 of
//! every storage patient once more (the same mappers the run uses, diagnostics dropped:
//! the run reports them) and links the receipts to those patients with
//! [`mappers::receipt::link`] (rules in that module). The per-patient pipeline then
//! calls [`apply`] on each patient before its bundles are built: a filled 枝番 (or an
//! identifier the storage lacked) is in every bundle, and a patient whose sources
//! disagree is withheld. A member id that changes because its 枝番 became known is
//! planned by the ledger like any other member-id change: delete under the old, create
//! under the new, same identifier (`C109`).
//!
//! Outputs: a `receipts` section of `report.json` (every record of every file by
//! record id and outcome; the counts add up to the records read), its lines in the
//! printed summary, and `DIR/receipts.jsonl`, one line per record: file, line, record id,
//! receipt, linked patient id, outcome, and for SY the 傷病名コード and 修飾語コード (the
//! receipts' diagnoses feed linking, coverage and worklists, never CLINS Conditions).
//! `receipts.jsonl` links receipts to patients: it holds PHI.

use crate::walk::Entry;
use crate::{Context, Failure};
use diagnostics::{Diagnostic, Diagnostics, Location};
use mappers::assemble::{self, SourceMessage};
use mappers::receipt::{self, KnownPatient, Linked, Patch, ReceiptFile};
use mappers::record::PatientRecord;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the receipts of a run give the per-patient pipeline and the report.
#[derive(Default)]
pub(crate) struct Receipts {
    /// False when no receipts were given (nothing changes, no report section).
    active: bool,
    /// Files as given.
    files: Vec<String>,
    /// Records read per file (parser count).
    records_read: u64,
    /// Per patient local id: the change to make.
    patches: BTreeMap<String, Patch>,
    /// Parser and linking diagnostics, for diagnostics.jsonl.
    pub(crate) diagnostics: Diagnostics,
    /// Counts by record id and outcome.
    tally: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Patients by what the receipts did to them.
    patients: BTreeMap<&'static str, usize>,
    /// receipts.jsonl lines.
    lines: Vec<String>,
}

/// Reads, decodes and links the receipt files. `patients` are the run's patient jobs
/// (each a patient folder's files); `mctx` the run's mapper context.
pub(crate) fn prepare(
    paths: &[PathBuf],
    ctx: &mut Context<'_>,
    patients: impl Iterator<Item = Vec<Entry>>,
    mctx: &mappers::Context<'_>,
) -> Result<Receipts, Failure> {
    let mut r = Receipts::default();
    if paths.is_empty() {
        return Ok(r);
    }
    r.active = true;
    let mut files = Vec::new();
    for p in paths {
        let shown = p.display().to_string();
        match std::fs::read(ctx.resolve(p)) {
            Ok(bytes) => {
                let f = parsers::uke::parse(&bytes);
                let mut d = Diagnostics::default();
                d.extend(f.all_diagnostics().cloned());
                d.set_file(&shown);
                r.diagnostics.extend(d);
                r.records_read += f.summary.records;
                files.push((shown.clone(), f));
            }
            Err(e) => r.diagnostics.push(
                Diagnostic::new(&crate::codes::UNREADABLE, format!("cannot read: {e}"))
                    .at(Location::default().file(shown.clone())),
            ),
        }
        r.files.push(shown);
    }
    let known: Vec<KnownPatient> = patients
        .filter_map(|files| storage_patient(&files, mctx))
        .map(|p| KnownPatient::from_record(&p))
        .collect();
    let refs: Vec<ReceiptFile<'_>> = files
        .iter()
        .map(|(name, f)| ReceiptFile { file: name, uke: f })
        .collect();
    let linked = receipt::link(&refs, &known, mctx.config.policy.karte_zeros);
    r.tally = receipt::tally(&linked);
    for outcome in linked.patients.values() {
        *r.patients.entry(outcome).or_default() += 1;
    }
    r.lines = lineage(&linked, &files);
    r.diagnostics.extend(linked.diagnostics);
    r.patches = linked.patches;
    Ok(r)
}

/// The patient of a storage folder as the run maps it: its current ADT-00 through
/// [`mappers::message::map`] and [`assemble::assemble`] (diagnostics dropped).
fn storage_patient(files: &[Entry], mctx: &mappers::Context<'_>) -> Option<PatientRecord> {
    let mut messages = Vec::new();
    let mut local_id = String::new();
    for entry in files {
        let is_adt00 = entry
            .components
            .last()
            .is_some_and(|n| n.split('_').nth(2) == Some("ADT-00"));
        if !is_adt00 {
            continue;
        }
        let Ok(bytes) = std::fs::read(&entry.path) else {
            continue;
        };
        let comps: Vec<&str> = entry.components.iter().map(String::as_str).collect();
        let f = parsers::ssmix2::read_file(&comps, &bytes);
        let Some(name) = f.name.clone() else { continue };
        let folder_id = if entry.components.len() >= 4 {
            entry.components[2].clone()
        } else {
            name.patient_id.clone()
        };
        if local_id.is_empty() {
            local_id = folder_id.clone();
        }
        for m in f.hl7.messages() {
            let input = mappers::Input {
                file: &entry.display,
                folder_patient_id: &folder_id,
                message: m,
            };
            let mut sink = mappers::Sink::default();
            let mapped = mappers::message::map(mctx, &input, &name.data_type, &mut sink);
            messages.push(SourceMessage {
                file: entry.display.clone(),
                data_type: name.data_type.clone(),
                order_no: name.order_no.clone(),
                written_at: name.written_at.clone(),
                condition: name.condition,
                mapped,
            });
        }
    }
    if messages.is_empty() {
        return None;
    }
    assemble::assemble(&local_id, messages).patient
}

/// Applies the receipts' patch for this patient (if any) before its bundles are built.
pub(crate) fn apply(
    receipts: &Receipts,
    patient: &mut Option<PatientRecord>,
    diags: &mut Diagnostics,
) {
    let Some(p) = patient.as_mut() else { return };
    let Some(patch) = receipts.patches.get(&p.local_id) else {
        return;
    };
    if !receipt::apply(patch, p) {
        diags.push(Diagnostic::new(
            &crate::codes::RECEIPT_PATCH_STALE,
            "the patient differs from the one its receipts were linked to; the receipts' change is not applied",
        ));
    }
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

/// Adds the `receipts` section to the report (and rewrites `report.json`), writes
/// `receipts.jsonl`. Nothing when no receipts were given.
pub(crate) fn report(receipts: &Receipts, out: &Path, mut report: Value) -> Result<Value, Failure> {
    if !receipts.active {
        return Ok(report);
    }
    let mut text = receipts.lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let p = out.join("receipts.jsonl");
    std::fs::write(&p, text).map_err(|e| Failure::write(&p, e))?;
    let counted: usize = receipts.tally.values().flat_map(|m| m.values()).sum();
    let receipts_n: usize = receipts
        .tally
        .get("RE")
        .map(|m| m.values().sum())
        .unwrap_or(0);
    if let Some(o) = report.as_object_mut() {
        let mut section = json!({
            "files": receipts.files,
            "records_read": receipts.records_read,
            "records_counted": counted,
            "receipts": receipts_n,
            "records": receipts.tally,
            "patients": receipts.patients,
            "lineage": "receipts.jsonl (holds PHI: links receipts to patient ids)",
        });
        section.sort_all_objects();
        o.insert("receipts".into(), section);
    }
    report.sort_all_objects();
    let mut bytes = serde_json::to_vec_pretty(&report).map_err(|e| Failure(e.to_string()))?;
    bytes.push(b'\n');
    let p = out.join("report.json");
    std::fs::write(&p, bytes).map_err(|e| Failure::write(&p, e))?;
    Ok(report)
}

/// The summary lines of the `receipts` section (none without receipts).
pub(crate) fn print(report: &Value, ctx: &mut Context<'_>) -> Result<(), Failure> {
    let r = &report["receipts"];
    if r.is_null() {
        return Ok(());
    }
    writeln!(
        ctx.stdout,
        "receipts: {} files, {} receipts, {} records (every record below; SY records are never CLINS Conditions)",
        r["files"].as_array().map_or(0, Vec::len),
        r["receipts"],
        r["records_read"]
    )?;
    if let Some(rs) = r["records"].as_object() {
        for (id, outcomes) in rs {
            if let Some(o) = outcomes.as_object() {
                let total: u64 = o.values().filter_map(Value::as_u64).sum();
                writeln!(ctx.stdout, "  {id}: {total} records")?;
                for (k, n) in o {
                    writeln!(ctx.stdout, "    {k}: {n}")?;
                }
            }
        }
    }
    writeln!(
        ctx.stdout,
        "  record by record: receipts.jsonl in the output folder (holds PHI)"
    )?;
    if let Some(ps) = r["patients"].as_object() {
        let total: u64 = ps.values().filter_map(Value::as_u64).sum();
        writeln!(ctx.stdout, "  patients with linked receipts: {total}")?;
        for (k, n) in ps {
            writeln!(ctx.stdout, "    {k}: {n}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::path::Path;

    use crate::run_cli;

    fn total(v: &Value) -> u64 {
        v.as_object()
            .map(|o| o.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    /// Every receipt record is accounted for (counted here from the bytes, independently
    /// of the parser), receipts add no Condition, and the output does not depend on the
    /// thread count.
    #[test]
    fn receipts_are_accounted_for_and_never_conditions() {
        let dir = crate::scratch_dir("receipts");
        let synth = [
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "5",
            "--seed",
            "4",
            "--out",
            "st",
        ];
        assert_eq!(run_cli(&synth, &dir).0, 0);
        let uke = [
            "kakehashi",
            "synth",
            "uke",
            "--storage-patients",
            "4",
            "--storage-seed",
            "4",
            "--conflicting-branch",
            "--receipts",
            "2",
            "--seed",
            "1",
            "--out",
            "r.UKE",
        ];
        assert_eq!(run_cli(&uke, &dir).0, 0);
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/synth.kakehashi.toml");
        let config = config.to_str().unwrap();
        let convert = |out: &str, jobs: &str, receipts: bool| {
            let mut a = vec![
                "kakehashi",
                "convert",
                "st",
                "--config",
                config,
                "--out",
                out,
                "--as-of",
                "2026-11-23",
                "--no-ledger",
                "--jobs",
                jobs,
            ];
            if receipts {
                a.extend(["--receipts", "r.UKE"]);
            }
            let (code, text) = run_cli(&a, &dir);
            assert!(code < 2, "{text}");
            let report: Value =
                serde_json::from_slice(&std::fs::read(dir.join(out).join("report.json")).unwrap())
                    .unwrap();
            (report, text)
        };
        let (with, text) = convert("a", "1", true);
        let (with3, text3) = convert("b", "3", true);
        let (without, _) = convert("c", "2", false);
        assert_eq!(with, with3);
        assert_eq!(text.replace("b/", "a/"), text3.replace("b/", "a/"));
        for f in ["receipts.jsonl", "lineage.jsonl", "diagnostics.jsonl"] {
            assert_eq!(
                std::fs::read(dir.join("a").join(f)).unwrap(),
                std::fs::read(dir.join("b").join(f)).unwrap(),
                "{f}"
            );
        }
        // Records in the file: CR LF lines before the 0x1A end mark.
        let bytes = std::fs::read(dir.join("r.UKE")).unwrap();
        let lines = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && *l != b"\x1a")
            .count() as u64;
        let r = &with["receipts"];
        let counted: u64 = r["records"].as_object().unwrap().values().map(total).sum();
        assert_eq!(counted, lines);
        assert_eq!(r["records_read"].as_u64(), Some(lines));
        assert_eq!(
            std::fs::read_to_string(dir.join("a/receipts.jsonl"))
                .unwrap()
                .lines()
                .count() as u64,
            lines
        );
        // 5 storage receipts (4 + the conflicting one) and 2 unknown people.
        assert_eq!(r["receipts"].as_u64(), Some(7));
        assert_eq!(total(&r["records"]["RE"]), 7);
        assert_eq!(r["records"]["RE"]["linked by カルテ番号"].as_u64(), Some(5));
        // Receipts add no Condition: the same Condition records with and without them,
        // and no Condition's lineage names a receipt file.
        assert_eq!(
            total(&with["records"]["Condition"]),
            total(&without["records"]["Condition"])
        );
        let lineage = std::fs::read_to_string(dir.join("a/lineage.jsonl")).unwrap();
        assert!(!lineage.contains("r.UKE"));
        // The 枝番 reached the bundles.
        let bundles = std::fs::read_dir(dir.join("a/bundles")).unwrap();
        let with_branch = bundles
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .filter(|t| t.contains("JP_Insurance_memberID"))
            .filter(|t| {
                t.split("\"value\": \"").skip(1).any(|v| {
                    v.split('"')
                        .next()
                        .is_some_and(|v| v.matches(':').count() == 3 && !v.ends_with(':'))
                })
            })
            .count();
        assert!(with_branch > 0);
        assert!(without["receipts"].is_null());
        // A receipt file that cannot be read is an input error (C001), not a silent skip.
        let a = [
            "kakehashi",
            "convert",
            "st",
            "--config",
            config,
            "--out",
            "d",
            "--as-of",
            "2026-11-23",
            "--no-ledger",
            "--receipts",
            "missing.UKE",
        ];
        let (code, text) = run_cli(&a, &dir);
        assert_eq!(code, 1, "{text}");
        let diags = std::fs::read_to_string(dir.join("d/diagnostics.jsonl")).unwrap();
        assert!(diags.contains("\"C001\"") && diags.contains("missing.UKE"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
