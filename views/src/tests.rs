#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

use crate::eval::{Cell, rows};
use crate::sink::{Format, Shared};
use crate::{Exporter, view};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

use testkit::shared;

/// A value with every number as f64 text, so `1.0` and `1` compare equal.
fn norm(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{}", n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(a) => format!("[{}]", a.iter().map(norm).collect::<Vec<_>>().join(",")),
        Value::Object(o) => {
            let mut kv: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{k:?}:{}", norm(x)))
                .collect();
            kv.sort();
            format!("{{{}}}", kv.join(","))
        }
        other => other.to_string(),
    }
}

/// Runs one conformance test; `Err` says why it failed.
fn run_case(resources: &[Value], case: &Value) -> Result<(), String> {
    let compiled = view::compile("test", &case["view"]);
    let outcome: Result<(Vec<String>, Vec<Value>), String> = match compiled {
        Err(d) => Err(format!("view rejected: {}", d[0].message)),
        Ok(v) => {
            let names: Vec<String> = v.columns.iter().map(|c| c.name.clone()).collect();
            let mut out = Vec::new();
            let mut err = None;
            for r in resources {
                match rows(&v, r, None, None) {
                    Ok(rs) => out.extend(rs.into_iter().map(|row| {
                        Value::Object(
                            names
                                .iter()
                                .cloned()
                                .zip(row.iter().map(Cell::to_json))
                                .collect(),
                        )
                    })),
                    Err(e) => {
                        err = Some(format!("not evaluable: {e}"));
                        break;
                    }
                }
            }
            match err {
                Some(e) => Err(e),
                None => Ok((names, out)),
            }
        }
    };
    if case.get("expectError").and_then(Value::as_bool) == Some(true) {
        return match outcome {
            Err(_) => Ok(()),
            Ok(_) => Err("expected an error, got rows".into()),
        };
    }
    let (names, got) = outcome?;
    if let Some(cols) = case.get("expectColumns").and_then(Value::as_array) {
        let want: Vec<&str> = cols.iter().filter_map(Value::as_str).collect();
        if want != names {
            return Err(format!("columns {names:?}, expected {want:?}"));
        }
    }
    if let Some(n) = case.get("expectCount").and_then(Value::as_u64) {
        if got.len() as u64 != n {
            return Err(format!("{} rows, expected {n}", got.len()));
        }
        return Ok(());
    }
    let want = case["expect"].as_array().cloned().unwrap_or_default();
    let mut a: Vec<String> = got.iter().map(norm).collect();
    let mut b: Vec<String> = want.iter().map(norm).collect();
    a.sort();
    b.sort();
    if a != b {
        return Err(format!("rows {a:?}, expected {b:?}"));
    }
    Ok(())
}

/// The SQL on FHIR v2 conformance suite (`../shared/data/sql-on-fhir-v2-tests`,
/// MIT): prints the pass count per file; every failing test must be listed in
/// `views/conformance-known-failures.tsv` with its reason, and every listed test
/// must still fail, so the list stays true.
#[test]
fn sql_on_fhir_v2_conformance_suite() {
    let dir = shared("data/sql-on-fhir-v2-tests/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let listed_text = include_str!("../conformance-known-failures.tsv");
    let listed: BTreeSet<(String, String)> = listed_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let file = f.next().unwrap_or("").to_owned();
            let title = f.next().unwrap_or("").to_owned();
            assert!(
                f.next().is_some_and(|r| !r.trim().is_empty()),
                "known failure without a reason: {l}"
            );
            (file, title)
        })
        .collect();
    let (mut total, mut passed) = (0, 0);
    let mut failing = BTreeSet::new();
    let mut unexpected = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let resources = doc["resources"].as_array().cloned().unwrap_or_default();
        let (mut n, mut ok) = (0, 0);
        for case in doc["tests"].as_array().unwrap() {
            let title = case["title"].as_str().unwrap_or("").to_owned();
            n += 1;
            match run_case(&resources, case) {
                Ok(()) => ok += 1,
                Err(why) => {
                    if !listed.contains(&(name.clone(), title.clone())) {
                        unexpected.push(format!("{name}\t{title}\t{why}"));
                    }
                    failing.insert((name.clone(), title));
                }
            }
        }
        println!("{name}: {ok}/{n} passed");
        total += n;
        passed += ok;
    }
    println!("SQL on FHIR v2 conformance: {passed}/{total} passed");
    let now_pass: Vec<_> = listed.difference(&failing).collect();
    assert!(
        unexpected.is_empty(),
        "failing tests not in conformance-known-failures.tsv:\n{}",
        unexpected.join("\n")
    );
    assert!(
        now_pass.is_empty(),
        "listed as known failures but now passing (remove them from the list): {now_pass:?}"
    );
}

fn patient_view() -> view::View {
    view::compile(
        "p.json",
        &json!({"resourceType": "ViewDefinition", "name": "pt", "resource": "Patient",
          "select": [{"column": [
            {"name": "id", "path": "getResourceKey()", "type": "string"},
            {"name": "active", "path": "active", "type": "boolean"},
            {"name": "n", "path": "name.count()", "type": "integer"},
            {"name": "given", "path": "name.given", "type": "string", "collection": true}]}]}),
    )
    .unwrap()
}

#[test]
fn parquet_is_written_streaming_and_reads_back() {
    use polars::prelude::*;
    use polars_io::prelude::{ParquetReader, SerReader};
    let table = Shared::default();
    let mut ex =
        Exporter::new(vec![patient_view()], Format::Parquet, |_| Ok(table.clone())).unwrap();
    for i in 0..3 {
        let line = format!(
            r#"{{"resourceType":"Patient","id":"p{i}","active":{},"name":[{{"given":["A","B"]}}]}}"#,
            i % 2 == 0
        );
        assert!(
            ex.ndjson_line("P.ndjson", i + 1, line.as_bytes())
                .unwrap()
                .is_empty()
        );
    }
    let summary = ex.finish().unwrap();
    assert_eq!(summary.views[0].rows, 3);
    let bytes = table.bytes();
    let df = ParquetReader::new(std::io::Cursor::new(bytes.clone()))
        .finish()
        .unwrap();
    assert_eq!(df.shape(), (3, 4));
    let ids_col = df.column("id").unwrap().str().unwrap();
    let ids: Vec<Option<&str>> = (0..3).map(|i| ids_col.get(i)).collect();
    assert_eq!(
        ids,
        [Some("Patient/p0"), Some("Patient/p1"), Some("Patient/p2")]
    );
    let active_col = df.column("active").unwrap().bool().unwrap();
    let active: Vec<Option<bool>> = (0..3).map(|i| active_col.get(i)).collect();
    assert_eq!(active, [Some(true), Some(false), Some(true)]);
    assert_eq!(df.column("n").unwrap().dtype(), &DataType::Int64);
    assert_eq!(
        df.column("given").unwrap().dtype(),
        &DataType::List(Box::new(DataType::String))
    );
    // same input, same bytes
    let again = Shared::default();
    let mut ex =
        Exporter::new(vec![patient_view()], Format::Parquet, |_| Ok(again.clone())).unwrap();
    for i in 0..3 {
        let line = format!(
            r#"{{"resourceType":"Patient","id":"p{i}","active":{},"name":[{{"given":["A","B"]}}]}}"#,
            i % 2 == 0
        );
        ex.ndjson_line("P.ndjson", i + 1, line.as_bytes()).unwrap();
    }
    ex.finish().unwrap();
    assert_eq!(again.bytes(), bytes);
}

#[test]
fn wide_rows_are_written_when_their_bytes_reach_the_budget() {
    use polars_io::prelude::{ParquetReader, SerReader};
    // Each row holds one 64 KiB name of hex digits (little for zstd to squeeze):
    // the budget is reached long before BATCH rows.
    let mut x: u64 = 1;
    let mut name = || {
        (0..4096)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("{:016x}", x)
            })
            .collect::<String>()
    };
    let rows = (crate::sink::BUDGET / (64 << 10)) * 3;
    assert!(rows < crate::sink::BATCH);
    let names: Vec<String> = (0..rows).map(|_| name()).collect();
    for format in [Format::Csv, Format::Parquet] {
        let table = Shared::default();
        let mut ex = Exporter::new(vec![patient_view()], format, |_| Ok(table.clone())).unwrap();
        let at_start = table.bytes().len();
        let mut before_finish = 0;
        for (i, n) in names.iter().enumerate() {
            let line =
                format!(r#"{{"resourceType":"Patient","id":"p{i}","name":[{{"given":["{n}"]}}]}}"#);
            ex.ndjson_line("P.ndjson", i as u32 + 1, line.as_bytes())
                .unwrap();
            before_finish = table.bytes().len() - at_start;
        }
        // Two full buffers went out before the end: more than a budget's worth
        // of names, even compressed.
        assert!(
            before_finish > crate::sink::BUDGET / 2,
            "{format:?}: {before_finish} bytes written before finish"
        );
        let summary = ex.finish().unwrap();
        assert_eq!(summary.views[0].rows, rows as u64);
        if format == Format::Parquet {
            let df = ParquetReader::new(std::io::Cursor::new(table.bytes()))
                .finish()
                .unwrap();
            assert_eq!(df.height(), rows);
        } else {
            assert_eq!(table.text().lines().count(), rows + 1);
        }
    }
}

#[test]
fn copies_in_ndjson_and_bundles_are_used_once() {
    let table = Shared::default();
    let mut ex = Exporter::new(vec![patient_view()], Format::Csv, |_| Ok(table.clone())).unwrap();
    let p = br#"{"resourceType":"Patient","id":"p1","active":true,"identifier":[{"system":"s","value":"1"}]}"#;
    assert!(ex.ndjson_line("P.ndjson", 1, p).unwrap().is_empty());
    // the Bundle's copy: no id, another fullUrl, the same identifier; then a new one
    let bundle = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"fullUrl":"urn:uuid:u1","resource":{"resourceType":"Patient","active":true,"identifier":[{"system":"s","value":"1"}]}},
        {"fullUrl":"urn:uuid:u2","resource":{"resourceType":"Patient","active":false}}]}"#;
    assert!(ex.json_file("b.json", bundle).unwrap().is_empty());
    let s = ex.finish().unwrap();
    assert_eq!((s.resources, s.duplicates), (2, 1));
    assert_eq!(
        table.text(),
        "id,active,n,given\nPatient/p1,true,0,[]\nPatient/u2,false,0,[]\n"
    );
}

#[test]
fn bad_views_and_resources_give_located_diagnostics() {
    let d = view::read("v.json", b"{ not json").unwrap_err();
    assert_eq!((d[0].code.id, d[0].location.line), ("X001", Some(1)));
    let d = view::compile(
        "v.json",
        &json!({"resourceType": "ViewDefinition", "name": "x", "resource": "Patient",
          "select": [{"column": [{"name": "a", "path": "id", "type": "varchar"},
                                  {"name": "b", "path": "name.frobnicate()"}]}]}),
    )
    .unwrap_err();
    let got: Vec<(&str, Option<&str>)> = d
        .iter()
        .map(|x| (x.code.id, x.location.element.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("X003", Some("select[0].column[0].type")),
            ("X002", Some("select[0].column[1].path"))
        ]
    );
    // a resource the view cannot evaluate: several values in a non-collection column
    let v = view::compile(
        "v.json",
        &json!({"name": "x", "resource": "Patient",
          "select": [{"column": [{"name": "family", "path": "name.family", "type": "string"}]}]}),
    )
    .unwrap();
    let table = Shared::default();
    let mut ex = Exporter::new(vec![v], Format::Csv, |_| Ok(table.clone())).unwrap();
    let d = ex
        .ndjson_line(
            "P.ndjson",
            7,
            br#"{"resourceType":"Patient","id":"p","name":[{"family":"A"},{"family":"B"}]}"#,
        )
        .unwrap();
    assert_eq!((d[0].code.id, d[0].location.line), ("X005", Some(7)));
    let d = ex.ndjson_line("P.ndjson", 8, b"[1]").unwrap();
    assert_eq!((d[0].code.id, d[0].location.line), ("X006", Some(8)));
    let s = ex.finish().unwrap();
    assert_eq!((s.views[0].not_evaluable, s.unreadable), (1, 1));
}

#[test]
fn shipped_views_compile() {
    for (file, text) in crate::shipped() {
        let v = view::read(file, text.as_bytes()).unwrap_or_else(|d| panic!("{file}: {d:?}"));
        assert_eq!(format!("{}.json", v.name), file);
        assert!(
            v.columns
                .iter()
                .all(|c| c.fhir_type.is_some() && c.description.is_some())
        );
    }
}
