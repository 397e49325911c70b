//! `kakehashi convert STORAGE --receipts FILE...`: the receipts' lines of the
//! printed summary. Reading, linking and patching live in
//! [`pipeline::receipts`]; the report's `receipts` section and `receipts.jsonl`
//! are written by the run's outputs ([`pipeline::outputs`]).

use crate::{Context, Failure};
use serde_json::Value;

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
