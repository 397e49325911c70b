//! `export research` end to end, in process: over the demo's output (a generated
//! storage with names, addresses, phones and insurance numbers, plus the four
//! documents) and over the NHO sample's converted output (the convert golden case's
//! expected folder).
//!
//! The PHI search collects, field by field, every name, address, phone number,
//! insurance value, patient id (カルテ番号), source id (resource ids, fullUrls,
//! identifier values, the unit ids in the bundle file names) and free-text value of
//! the input, and looks for each in every byte of the release: CSV tables as
//! written, Parquet tables decoded with polars (every cell as text) and their raw
//! bytes, the dictionary, the risk report and the processing record. Values of 3
//! characters or more are searched as substrings everywhere; shorter ones (a given
//! name such as 花子, an identifier `1`) only in the columns whose FHIRPath reads
//! the element they came from, as whole cells.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)] // test code

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TEST_KEY: &[u8] =
    b"kakehashi TEST KEY - not secret, for the research tests only: 0123456789abcdef\n";
const OTHER_KEY: &[u8] =
    b"kakehashi OTHER TEST KEY - not secret, for the research tests: fedcba9876543210\n";

fn repo() -> PathBuf {
    testkit::repository()
}

fn scratch(name: &str) -> PathBuf {
    testkit::scratch_dir(&format!("research-{name}"))
}

/// Runs `kakehashi ARGS` in process in `cwd`: exit code and standard output + error.
fn kakehashi(cwd: &Path, args: &[&str]) -> (u8, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut ctx = cli::Context {
        cwd: cwd.to_path_buf(),
        stdout: &mut out,
        stderr: &mut err,
        package_cache: cli::packages::test_cache(),
        warned: Default::default(),
    };
    let mut argv = vec!["kakehashi"];
    argv.extend(args);
    let code = cli::run(argv, &mut ctx);
    (
        code,
        String::from_utf8_lossy(&out).into_owned() + &String::from_utf8_lossy(&err),
    )
}

/// The demo's output (convert of the generated storage, the documents), made once.
fn demo() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let d = scratch("demo");
        let (code, text) = kakehashi(&repo(), &["demo", "--out", d.join("out").to_str().unwrap()]);
        assert_eq!(code, 0, "{text}");
        d.join("out")
    })
}

fn demo_from() -> Vec<PathBuf> {
    let d = demo();
    vec![
        d.to_path_buf(),
        d.join("documents"),
        d.join("documents/checkup"),
    ]
}

fn nho_from() -> Vec<PathBuf> {
    vec![repo().join("golden/convert/nho-sample/expected")]
}

fn key_file(dir: &Path, bytes: &[u8]) -> PathBuf {
    let p = dir.join("release.key");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `export research` of `from` into `dir/out`: the exit code and output.
fn release(from: &[PathBuf], key: &Path, out: &Path, extra: &[&str]) -> (u8, String) {
    let mut args: Vec<String> = vec!["export".into(), "research".into(), "--from".into()];
    args.extend(from.iter().map(|p| p.display().to_string()));
    args.extend([
        "--key".into(),
        key.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    kakehashi(&repo(), &refs)
}

// ---- the input's identifying values, by field ------------------------------------

#[derive(Default)]
struct Secrets {
    /// value → the element it came from (`name`, `identifier`, `id` …).
    by_value: BTreeMap<String, BTreeSet<String>>,
    /// Labels of codes (Coding.display, a coded concept's text): released on purpose,
    /// so a narrative repeating one (a diagnosis name) is not a leak.
    labels: BTreeSet<String>,
}

impl Secrets {
    fn add(&mut self, field: &str, v: &str) {
        let v = v.trim();
        if !v.is_empty() {
            self.by_value
                .entry(v.to_owned())
                .or_default()
                .insert(field.to_owned());
        }
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn collect(v: &Value, parent: &str, s: &mut Secrets) {
    let Value::Object(m) = v else {
        if let Value::Array(a) = v {
            a.iter().for_each(|x| collect(x, parent, s));
        }
        return;
    };
    let ty = m.get("resourceType").and_then(Value::as_str).unwrap_or("");
    let has_coding = m.contains_key("coding");
    if let Some(d) = m.get("display").and_then(Value::as_str)
        && (m.contains_key("code") || m.contains_key("system"))
    {
        s.labels.insert(d.to_owned());
    }
    if has_coding && let Some(t) = m.get("text").and_then(Value::as_str) {
        s.labels.insert(t.to_owned());
    }
    for (k, x) in m {
        let mut all = Vec::new();
        match k.as_str() {
            // names, addresses, phones
            "name" if !x.is_string() => strings(x, &mut all),
            "address" => {
                for a in x.as_array().cloned().unwrap_or_else(|| vec![x.clone()]) {
                    for f in ["text", "postalCode", "city", "district", "line"] {
                        if let Some(y) = a.get(f) {
                            strings(y, &mut all);
                        }
                    }
                }
            }
            "telecom" => {
                for t in x.as_array().into_iter().flatten() {
                    if let Some(v) = t.get("value") {
                        strings(v, &mut all);
                    }
                }
            }
            "contact" | "photo" | "subscriberId" => strings(x, &mut all),
            // source ids
            // contained resources' ids (`encounter`, `performer`) are labels, not source ids
            "id" if parent == "contained" => {}
            "id" | "fullUrl" | "reference" => {
                if let Some(t) = x.as_str().filter(|t| !t.starts_with('#')) {
                    let id = t.rsplit([':', '/', '#']).next().unwrap_or(t);
                    all.push(id.to_owned());
                }
            }
            "identifier" | "valueIdentifier" | "groupIdentifier" => {
                for i in x.as_array().cloned().unwrap_or_else(|| vec![x.clone()]) {
                    if let Some(y) = i.get("value").and_then(Value::as_str) {
                        all.push(y.to_owned());
                        // JP_Insurance_memberID: insurer:記号:番号:枝番, each part
                        all.extend(y.split(':').map(str::to_owned));
                    }
                }
            }
            // free text
            "note" | "comment" | "description" | "div" => strings(x, &mut all),
            "text" if x.is_object() => strings(x, &mut all),
            "text"
                if !has_coding && parent != "referenceRange" && parent != "dosageInstruction" =>
            {
                if let Some(t) = x.as_str()
                    && m.keys()
                        .all(|k| matches!(k.as_str(), "text" | "extension" | "id"))
                {
                    all.push(t.to_owned());
                }
            }
            "display"
                if m.contains_key("reference")
                    && !["Specimen"]
                        .contains(&m.get("type").and_then(Value::as_str).unwrap_or("")) =>
            {
                strings(x, &mut all)
            }
            "data" if parent == "attachment" => {
                if let Some(b) = x.as_str() {
                    all.push(b.to_owned());
                }
            }
            k if k.ends_with("String") && k.starts_with(|c: char| c.is_ascii_lowercase()) => {
                strings(x, &mut all)
            }
            "extension" => {
                for e in x.as_array().into_iter().flatten() {
                    if e.get("url")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.contains("InsuredPerson"))
                    {
                        strings(e, &mut all);
                    }
                }
            }
            _ => {}
        }
        let field = if k == "text" && parent == "div" {
            "text"
        } else {
            k.as_str()
        };
        for a in all {
            // narrative: the text between tags
            if a.starts_with('<') {
                for piece in a
                    .split(['<', '>'])
                    .filter(|p| !p.contains('=') && !p.starts_with('/'))
                {
                    s.add(field, piece);
                }
            } else {
                s.add(field, &a);
            }
        }
        if ty == "Patient" && k == "birthDate" {
            s.add("birthDate", x.as_str().unwrap_or(""));
        }
        collect(x, k, s);
    }
}

fn input_secrets(from: &[PathBuf]) -> Secrets {
    let mut s = Secrets::default();
    for dir in from {
        let mut files = Vec::new();
        for sub in ["ndjson", "bundles", "."] {
            if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
                for e in rd.flatten() {
                    files.push(e.path());
                }
            }
        }
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let unit = f.parent().is_some_and(|p| p.ends_with("bundles"));
            if name.ends_with(".ndjson") {
                for line in std::fs::read_to_string(&f).unwrap().lines() {
                    collect(&serde_json::from_str(line).unwrap(), "", &mut s);
                }
            } else if name.ends_with(".json") && name != "report.json" {
                collect(
                    &serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap(),
                    "",
                    &mut s,
                );
                // unit ids in the bundle file names (A-<patient>, L-<patient>-<order>)
                if unit {
                    let stem = name.trim_end_matches(".json");
                    s.add("unit", stem);
                    for part in stem.split('-').skip(1) {
                        s.add("unit", part);
                    }
                }
            }
        }
    }
    let labels = std::mem::take(&mut s.labels);
    s.by_value.retain(|v, _| !labels.contains(v));
    // base64 attachment data: its decoded text too
    let data: Vec<String> = s
        .by_value
        .iter()
        .filter(|(_, f)| f.contains("data"))
        .map(|(v, _)| v.clone())
        .collect();
    for d in data {
        if let Some(t) = base64(&d).and_then(|b| String::from_utf8(b).ok()) {
            s.add("data", &t);
        }
    }
    s
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | u32::from(val(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

// ---- the release, every byte ---------------------------------------------------

struct Release {
    /// Every file's text (CSV, JSON) or decoded cells (Parquet), and raw bytes.
    text: String,
    /// Raw bytes of every file (Parquet: compressed), as text where they are UTF-8.
    raw: Vec<String>,
    /// (view column's FHIRPath, cells) of every table.
    columns: Vec<(String, Vec<String>)>,
    files: usize,
    bytes: u64,
}

fn dictionary_paths(dir: &Path) -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(dir.join("dictionary.csv")).unwrap();
    let mut r = polars_csv(&text);
    let header = r.remove(0);
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (v, c, p) = (col("table"), col("column"), col("fhirpath"));
    r.into_iter()
        .map(|row| ((row[v].clone(), row[c].clone()), row[p].clone()))
        .collect()
}

/// A small CSV reader (quotes, doubled quotes, newlines in quotes).
fn polars_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

fn read_release(dir: &Path) -> Release {
    use polars::prelude::*;
    use polars_io::prelude::{ParquetReader, SerReader};
    let paths = dictionary_paths(dir);
    let mut r = Release {
        text: String::new(),
        raw: Vec::new(),
        columns: Vec::new(),
        files: 0,
        bytes: 0,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let bytes = std::fs::read(&p).unwrap();
        r.files += 1;
        r.bytes += bytes.len() as u64;
        let view = p.file_stem().unwrap().to_string_lossy().into_owned();
        match p.extension().and_then(|x| x.to_str()) {
            Some("parquet") => {
                let df = ParquetReader::new(std::io::Cursor::new(bytes.clone()))
                    .finish()
                    .unwrap();
                let names: Vec<String> = df
                    .get_column_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                for name in names {
                    let col = df.column(&name).unwrap();
                    let cells: Vec<String> = match col.cast(&DataType::String) {
                        Ok(s) => {
                            let ca = s.str().unwrap().clone();
                            (0..ca.len())
                                .map(|i| ca.get(i).unwrap_or("").to_owned())
                                .collect()
                        }
                        // lists (e.g. modifiers): each value as polars prints it
                        Err(_) => (0..col.len())
                            .map(|i| col.get(i).unwrap().to_string())
                            .collect(),
                    };
                    for c in &cells {
                        r.text.push_str(c);
                        r.text.push('\n');
                    }
                    let path = paths
                        .get(&(view.clone(), name.clone()))
                        .cloned()
                        .unwrap_or(name);
                    r.columns.push((path, cells));
                }
            }
            Some("csv") if view != "dictionary" => {
                let text = String::from_utf8(bytes.clone()).unwrap();
                let mut rows = polars_csv(&text);
                let header = rows.remove(0);
                for (i, h) in header.iter().enumerate() {
                    let cells = rows
                        .iter()
                        .map(|row| row.get(i).cloned().unwrap_or_default())
                        .collect();
                    let path = paths
                        .get(&(view.clone(), h.clone()))
                        .cloned()
                        .unwrap_or(h.clone());
                    r.columns.push((path, cells));
                }
                r.text.push_str(&text);
            }
            _ => r.text.push_str(&String::from_utf8(bytes.clone()).unwrap()),
        }
        r.raw.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    r
}

/// Whether `v` is a short number (fewer than 8 digits): such values (staff ids,
/// order numbers) occur by chance in codes, values and hex pseudonyms, so they are
/// matched by field like the values shorter than 3 characters.
fn short_number(v: &str) -> bool {
    v.len() < 8 && v.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `hay` holds `v` as a token: where `v` begins or ends with an ASCII letter or
/// digit, the byte beside it must not be one (`0000000001` is not in `9N001000000000001`).
fn holds(hay: &str, v: &str) -> bool {
    let h = hay.as_bytes();
    let n = v.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let (first, last) = (n[0], n[n.len() - 1]);
    hay.match_indices(v).any(|(i, _)| {
        (!alnum(first) || i == 0 || !alnum(h[i - 1]))
            && (!alnum(last) || i + n.len() == h.len() || !alnum(h[i + n.len()]))
    })
}

/// Searches `release` for every secret; returns (values searched, leaks).
fn search(secrets: &Secrets, release: &Release) -> (usize, Vec<String>) {
    let mut leaks = Vec::new();
    let mut n = 0;
    for (v, fields) in &secrets.by_value {
        n += 1;
        if v.chars().count() >= 3 && !short_number(v) {
            if holds(&release.text, v) || release.raw.iter().any(|b| holds(b, v)) {
                leaks.push(format!("{v:?} ({fields:?})"));
            }
        } else {
            for (path, cells) in &release.columns {
                let reads = fields.iter().any(|f| {
                    let f = match f.as_str() {
                        "reference" | "fullUrl" | "unit" => "id",
                        "family" | "given" => "name",
                        x if x.ends_with("String") => "ofType(string)",
                        x => x,
                    };
                    path.contains(f) || (f == "id" && path.contains("Key()"))
                });
                if reads && cells.iter().any(|c| c == v) {
                    leaks.push(format!("{v:?} ({fields:?}) in column {path}"));
                }
            }
        }
    }
    (n, leaks)
}

fn check_no_phi(name: &str, from: &[PathBuf], extra: &[&str]) {
    let secrets = input_secrets(from);
    let by_field = |f: &str| secrets.by_value.values().filter(|x| x.contains(f)).count();
    assert!(by_field("name") > 0 && by_field("identifier") > 0 && by_field("id") > 0);
    for format in ["parquet", "csv"] {
        let d = scratch(&format!("{name}-{format}"));
        let key = key_file(&d, TEST_KEY);
        let mut args = vec!["--format", format];
        args.extend(extra);
        let (code, text) = release(from, &key, &d.join("out"), &args);
        assert_eq!(code, 0, "{text}");
        let r = read_release(&d.join("out"));
        let (n, leaks) = search(&secrets, &r);
        let key_hex: String = TEST_KEY.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !r.text
                .contains(std::str::from_utf8(&TEST_KEY[..40]).unwrap())
        );
        assert!(!r.text.contains(&key_hex[..40]));
        eprintln!(
            "{name} {format} {extra:?}: {n} input values searched ({} shorter than 3 characters or short numbers, by field) in {} files, {} bytes, {} table cells: {} found",
            secrets
                .by_value
                .keys()
                .filter(|v| v.chars().count() < 3 || short_number(v))
                .count(),
            r.files,
            r.bytes,
            r.columns.iter().map(|c| c.1.len()).sum::<usize>(),
            leaks.len()
        );
        assert!(
            leaks.is_empty(),
            "{name} {format}: {} values left in the release:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
        // the tables are not empty: the search saw data
        assert!(
            r.columns.iter().map(|c| c.1.len()).sum::<usize>() > 100,
            "{text}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn no_input_phi_in_any_output_byte_demo() {
    check_no_phi("demo", &demo_from(), &[]);
    check_no_phi(
        "demo",
        &demo_from(),
        &["--shift-dates", "--birth-date", "year"],
    );
}

#[test]
fn no_input_phi_in_any_output_byte_nho_sample() {
    check_no_phi("nho", &nho_from(), &[]);
}

/// The same search finds what is left in when the transform is not applied:
/// `export tables` of the same input leaks (the test can fail).
#[test]
fn the_search_finds_phi_in_plain_tables() {
    let secrets = input_secrets(&demo_from());
    let d = scratch("plain");
    let mut args = vec!["export", "tables", "--from"];
    let from: Vec<String> = demo_from()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    args.extend(from.iter().map(String::as_str));
    let out = d.join("out");
    args.extend(["--out", out.to_str().unwrap()]);
    let (code, text) = kakehashi(&repo(), &args);
    assert_eq!(code, 0, "{text}");
    let (_, leaks) = search(&secrets, &read_release(&out));
    assert!(leaks.len() > 100, "{}", leaks.len());
    std::fs::remove_dir_all(&d).unwrap();
}

fn uuids(r: &Release) -> BTreeSet<String> {
    let t = &r.text;
    let b = t.as_bytes();
    let mut out = BTreeSet::new();
    for i in 0..b.len().saturating_sub(36) {
        let w = &b[i..i + 36];
        if [8, 13, 18, 23].iter().all(|j| w[*j] == b'-')
            && w.iter()
                .enumerate()
                .all(|(j, c)| [8, 13, 18, 23].contains(&j) || c.is_ascii_hexdigit())
        {
            out.insert(String::from_utf8(w.to_vec()).unwrap());
        }
    }
    out
}

#[test]
fn same_key_same_bytes_other_key_unlinkable() {
    for (name, from) in [("nho", nho_from()), ("demo", demo_from())] {
        let d = scratch(&format!("keys-{name}"));
        let k1 = key_file(&d, TEST_KEY);
        let k2 = d.join("other.key");
        std::fs::write(&k2, OTHER_KEY).unwrap();
        let extra = ["--format", "csv", "--shift-dates"];
        assert_eq!(release(&from, &k1, &d.join("a1"), &extra).0, 0);
        assert_eq!(release(&from, &k1, &d.join("a2"), &extra).0, 0);
        assert_eq!(release(&from, &k2, &d.join("b"), &extra).0, 0);
        let files = |p: &Path| {
            let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            files(&d.join("a1")),
            files(&d.join("a2")),
            "{name}: same key, other bytes"
        );
        let (a, b) = (read_release(&d.join("a1")), read_release(&d.join("b")));
        let (ua, ub) = (uuids(&a), uuids(&b));
        assert!(ua.len() > 10, "{name}: {}", ua.len());
        let shared: Vec<_> = ua.intersection(&ub).collect();
        assert!(
            shared.is_empty(),
            "{name}: pseudonyms shared by two keys: {shared:?}"
        );
        // the key ids differ, the patient rows are the same in number
        assert_ne!(a.text.matches("key_id").count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

/// The pseudonym the release gives the patient whose Patient copy holds `needle`
/// (a local id, an insurance identifier) under `key`.
fn pseudonym(from: &[PathBuf], key: &[u8], needle: &str) -> String {
    let key = research::key::Key::from_bytes(key).unwrap();
    let mut people = research::patients::Patients::default();
    let mut copies: Vec<Value> = Vec::new();
    for dir in from {
        let mut files: Vec<PathBuf> = ["ndjson", "bundles", "."]
            .iter()
            .filter_map(|s| std::fs::read_dir(dir.join(s)).ok())
            .flat_map(|rd| rd.flatten().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            let name = f.to_string_lossy().into_owned();
            let values: Vec<Value> = if name.ends_with(".ndjson") {
                std::fs::read_to_string(&f)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            } else if name.ends_with(".json") && !name.ends_with("report.json") {
                vec![serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap()]
            } else {
                continue;
            };
            for mut v in values {
                people.observe(&v);
                if v["resourceType"] == "Bundle" {
                    views::source::fill_ids(&mut v);
                    for e in v["entry"].as_array().unwrap() {
                        if e["resource"]["resourceType"] == "Patient" {
                            copies.push(e["resource"].clone());
                        }
                    }
                } else if v["resourceType"] == "Patient" {
                    copies.push(v);
                }
            }
        }
    }
    let mut p =
        research::transform::Pseudonymiser::new(&key, Default::default(), people, None, vec![]);
    let mut v = copies
        .into_iter()
        .find(|v| v.to_string().contains(needle))
        .unwrap();
    assert!(p.process(&mut v));
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn opted_out_patients_are_absent() {
    let from = demo_from();
    let d = scratch("optout");
    let key = key_file(&d, TEST_KEY);
    // 0000000001 by local id; the checkup's person by insurance (06139999:１２３:４５６:01),
    // without the 枝番 and in half-width digits
    let list = d.join("optout.csv");
    std::fs::write(
        &list,
        "# opted out\nkind,value\npatient,0000000001\ninsurance,06139999:123:456\npatient,9999999999\n",
    )
    .unwrap();
    let (code, all) = release(&from, &key, &d.join("all"), &["--format", "csv"]);
    assert_eq!(code, 0, "{all}");
    let (code, text) = release(
        &from,
        &key,
        &d.join("out"),
        &["--format", "csv", "--opt-out", list.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("3 entries; 2 patients excluded"), "{text}");
    assert!(text.contains("1 entries named nobody"), "{text}");
    let with = read_release(&d.join("all"));
    let without = read_release(&d.join("out"));
    for local in ["\"0000000001\"", "06139999:"] {
        let p = pseudonym(&from, TEST_KEY, local);
        assert!(
            with.text.contains(&p),
            "{local}: {p} not in the full release"
        );
        assert!(
            !without.text.contains(&p),
            "{local}: {p} in the release without them"
        );
    }
    let other = pseudonym(&from, TEST_KEY, "\"0000000003\"");
    assert!(without.text.contains(&other));
    let record: Value =
        serde_json::from_slice(&std::fs::read(d.join("out/processing-record.json")).unwrap())
            .unwrap();
    assert_eq!(record["counts"]["patients_opted_out"], 2);
    assert_eq!(record["opt_out"]["entries_matching_nobody"], 1);
    assert_eq!(
        record["counts"]["patients_released"].as_u64().unwrap() + 2,
        record["counts"]["patients_in"].as_u64().unwrap()
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let d = scratch("bad");
    let good = key_file(&d, TEST_KEY);
    let short = d.join("short.key");
    std::fs::write(&short, b"0123456789").unwrap();
    let zeros = d.join("zeros.key");
    std::fs::write(&zeros, [0u8; 64]).unwrap();
    let optout = d.join("optout.csv");
    std::fs::write(&optout, "patient,0000000001\npatients,0000000002\n").unwrap();
    let notfhir = d.join("notfhir");
    std::fs::create_dir_all(notfhir.join("bundles")).unwrap();
    std::fs::write(notfhir.join("bundles/x.json"), "{\"hello\": 1}").unwrap();
    let storage = repo().join("golden/ssmix2");
    let nho = nho_from();
    type Case<'a> = (&'a str, Vec<PathBuf>, PathBuf, Vec<&'a str>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "missing key",
            nho.clone(),
            d.join("nokey"),
            vec![],
            "cannot read key file",
        ),
        (
            "short key",
            nho.clone(),
            short.clone(),
            vec![],
            "holds 10 bytes",
        ),
        (
            "placeholder key",
            nho.clone(),
            zeros.clone(),
            vec![],
            "placeholder",
        ),
        (
            "malformed opt-out",
            nho.clone(),
            good.clone(),
            vec!["--opt-out", optout.to_str().unwrap()],
            "R001",
        ),
        (
            "not kakehashi output",
            vec![storage],
            good.clone(),
            vec![],
            "not kakehashi output",
        ),
        ("not FHIR", vec![notfhir], good.clone(), vec![], "R002"),
    ];
    for (what, from, key, extra, says) in cases {
        let out = d.join("out");
        let (code, text) = release(&from, &key, &out, &extra);
        assert_ne!(code, 0, "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
        assert!(!out.exists(), "{what}: output written");
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(left.is_empty(), "{what}: temporary folder left");
        assert!(!text.contains("TEST KEY"), "{what}: key in the output");
    }
    // an output folder that holds something is never overwritten
    std::fs::create_dir_all(d.join("full")).unwrap();
    std::fs::write(d.join("full/keep.txt"), "x").unwrap();
    let (code, text) = release(&nho, &good, &d.join("full"), &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not an empty folder"), "{text}");
    assert!(d.join("full/keep.txt").exists());
    std::fs::remove_dir_all(&d).unwrap();
}
