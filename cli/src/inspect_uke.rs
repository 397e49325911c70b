//! `inspect` for UKE receipt files: a summary, or one JSON object per record.

use diagnostics::{Diagnostic, RenderOptions, Severity};
use parsers::uke::{self, Encoding, keys};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

fn with_file(d: &Diagnostic, file: &str) -> Diagnostic {
    let mut d = d.clone();
    if d.location.file.is_none() {
        d.location.file = Some(file.to_owned());
    }
    d
}

/// Inspects the bytes of a UKE file; returns the exit code (0, or 1 when the input had errors).
pub(crate) fn inspect_uke(
    display_path: &str,
    bytes: &[u8],
    json: bool,
    show_phi: bool,
    ctx: &mut crate::Context<'_>,
) -> Result<u8, crate::Failure> {
    let file = uke::parse(bytes);
    let opts = RenderOptions { show_phi };
    let has_errors = file
        .all_diagnostics()
        .any(|d| d.severity == Severity::Error);
    if json {
        for pr in &file.records {
            let r = &pr.record;
            let spec = uke::spec_for(file.summary.kind, r.id());
            let mut fields = Vec::new();
            for f in uke::named_fields(r, spec) {
                let mut m = Map::new();
                m.insert("column".into(), json!(f.column));
                if let Some(n) = f.name {
                    m.insert("name".into(), json!(n));
                }
                // Columns no layout names (records known only by id, other file kinds) may hold
                // anything, names and birth dates included: masked like PHI.
                let phi = match (f.phi, f.name) {
                    (Some(kind), _) => Some(kind),
                    (None, None) if f.column > 1 => Some(diagnostics::Phi::Other),
                    (None, _) => None,
                };
                match phi {
                    Some(kind) if !show_phi && !f.value.is_empty() => {
                        m.insert(
                            "value".into(),
                            json!({"masked": kind.as_str(), "length": f.value.chars().count()}),
                        );
                    }
                    _ => {
                        m.insert("value".into(), json!(f.value));
                        if let Some(iso) = f.iso {
                            m.insert("iso".into(), json!(iso));
                        }
                        if let Some(items) = f.items {
                            m.insert("items".into(), json!(items));
                        }
                    }
                }
                fields.push(Value::Object(m));
            }
            let diags: Vec<Value> = pr
                .diagnostics
                .iter()
                .map(|d| with_file(d, display_path).to_json(opts))
                .collect();
            let mut obj = json!({
                "file": display_path,
                "line": r.line,
                "byte": r.byte,
                "record_type": r.id(),
                "record_name": spec.map(|s| s.name),
                "receipt_index": r.receipt,
                "fields": fields,
                "diagnostics": diags,
            });
            obj.sort_all_objects();
            writeln!(ctx.stdout, "{obj}")?;
        }
        if !file.diagnostics.is_empty() {
            let diags: Vec<Value> = file
                .diagnostics
                .iter()
                .map(|d| with_file(d, display_path).to_json(opts))
                .collect();
            writeln!(
                ctx.stdout,
                "{}",
                json!({"file": display_path, "line": null, "record_type": null, "receipt_index": null, "fields": [], "diagnostics": diags})
            )?;
        }
    } else {
        let s = &file.summary;
        let ko = keys::KarteOptions::default();
        let rk = keys::receipt_keys(&file, &ko);
        let patients: BTreeSet<String> = rk
            .iter()
            .filter_map(|k| {
                k.karte.clone().map(|c| format!("k:{c}")).or_else(|| {
                    k.fallback
                        .as_ref()
                        .map(|f| format!("f:{}|{}|{}|{}", f.kana, f.birth, f.sex, f.insurer))
                })
            })
            .collect();
        let out = &mut *ctx.stdout;
        writeln!(out, "file: {display_path}")?;
        writeln!(
            out,
            "kind: {}",
            s.kind.map(|k| k.name()).unwrap_or("unknown")
        )?;
        writeln!(out, "layout: {}", uke::layout_name(s.form))?;
        let enc = match s.encoding {
            Some(Encoding::Utf8) => "UTF-8",
            _ => "Shift_JIS (CP932)",
        };
        writeln!(out, "encoding: {enc}")?;
        writeln!(out, "records: {}", s.records)?;
        writeln!(out, "receipts: {}", s.receipts)?;
        writeln!(
            out,
            "patients: {} (distinct カルテ番号, or fallback key when absent)",
            patients.len()
        )?;
        writeln!(out, "records per type:")?;
        for (id, n) in &s.per_type {
            writeln!(out, "  {id} {n}")?;
        }
        let all: Vec<&Diagnostic> = file.all_diagnostics().collect();
        let count = |sev| all.iter().filter(|d| d.severity == sev).count();
        writeln!(
            out,
            "diagnostics: {} ({} errors, {} warnings, {} info)",
            all.len(),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        )?;
        for d in all {
            writeln!(out, "{}", with_file(d, display_path).render_human(opts))?;
        }
    }
    Ok(if has_errors {
        crate::EXIT_INPUT_ERRORS
    } else {
        crate::EXIT_OK
    })
}
