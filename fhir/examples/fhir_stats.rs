//! Figures for the FHIR validator: cold start of loading each package set, and how
//! many invariant expressions of the loaded packages the FHIRPath evaluator can
//! run (with the functions it lacks).
//!
//! `cargo run --release -p fhir --example fhir_stats`

use fhir::conformance::{Conformance, PACKAGE_SETS};
use fhir::fhirpath::Expression;
use fhir::package::Package;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/fhir-profiles");
    let mut all_exprs: BTreeMap<String, (String, bool)> = BTreeMap::new(); // expr -> (key, jp)
    let mut instances = 0usize;
    let mut jp_instances = 0usize;
    for set in PACKAGE_SETS {
        let t0 = Instant::now();
        let mut candidates = Vec::new();
        for folder in set.folders() {
            let mut files: Vec<_> = std::fs::read_dir(root.join(folder))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
                .collect();
            files.sort();
            for f in files {
                candidates.push((folder.to_owned(), Package::from_tgz(&std::fs::read(&f)?)?));
            }
        }
        let t1 = Instant::now();
        let pkgs = set
            .select(&candidates)
            .map_err(|s| format!("{}: no package for {s:?}", set.name))?;
        let c = Conformance::load(&pkgs);
        let t2 = Instant::now();
        let (sd, vs, cs) = c.counts();
        println!(
            "set {:<10} read+unzip {:>6.1} ms  index {:>6.1} ms  total {:>6.1} ms  ({sd} SD, {vs} VS, {cs} CS, {} tolerated)",
            set.name,
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            (t2 - t0).as_secs_f64() * 1e3,
            c.issues().len()
        );
        for sd in c.structure_definitions() {
            let jp = !sd.url.starts_with("http://hl7.org/");
            for e in &sd.elements {
                for k in &e.constraints {
                    if k.expression.is_empty() {
                        continue;
                    }
                    if set.name == "clins" || set.name == "base" {
                        instances += 1;
                        if jp {
                            jp_instances += 1;
                        }
                    }
                    let ent = all_exprs
                        .entry(k.expression.clone())
                        .or_insert((k.key.clone(), jp));
                    ent.1 |= jp;
                }
            }
        }
    }
    let mut ok = (0, 0);
    let mut bad = (0, 0);
    let mut unsupported: BTreeSet<String> = BTreeSet::new();
    for (src, (key, jp)) in &all_exprs {
        let e = Expression::compile(src);
        match e.not_evaluable() {
            None => {
                if *jp {
                    ok.0 += 1
                } else {
                    ok.1 += 1
                }
            }
            Some(why) => {
                if *jp {
                    bad.0 += 1
                } else {
                    bad.1 += 1
                }
                println!("  not evaluable {key}: {why}");
                if let Ok(ast) = fhir::fhirpath::parse(src) {
                    unsupported.extend(fhir::fhirpath::unsupported_functions(&ast));
                }
            }
        }
    }
    println!(
        "invariant instances (clins set + base): {instances}, of which in JP profiles: {jp_instances}"
    );
    println!(
        "distinct invariant expressions over all sets: {} — compiled: JP {} / base {}; not evaluable: JP {} / base {}",
        all_exprs.len(),
        ok.0,
        ok.1,
        bad.0,
        bad.1
    );
    println!("unsupported functions: {unsupported:?}");
    throughput(&root)?;
    Ok(())
}

/// Validation throughput on the CLINS lab bundle, and a large bundle with cross
/// references at two sizes (linear time shows as equal resources/s).
fn throughput(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use fhir::validate::Validator;
    let set = fhir::conformance::package_set("clins").ok_or("no clins set")?;
    let mut candidates = Vec::new();
    for folder in set.folders() {
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
            .collect();
        files.sort();
        for f in files {
            candidates.push((folder.to_owned(), Package::from_tgz(&std::fs::read(&f)?)?));
        }
    }
    let t_index = Instant::now();
    let pkgs = set.select(&candidates).map_err(|s| format!("{s:?}"))?;
    let conf = Conformance::load(&pkgs);
    let v = Validator::new(&conf);
    let lab: serde_json::Value = serde_json::from_slice(&std::fs::read(
        root.join("jp-clins/examples/Bundle-Bundle-CLINS-Observations-Example-01.json"),
    )?)?;
    let _ = v.validate(&lab, &[]); // warm the caches
    println!(
        "clins: index + first validation of the lab bundle (lazy parsing of the definitions it needs): {:.1} ms",
        t_index.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut resources = 0;
    // FHIR_STATS_REPS=N repeats more (for profiling: `perf record`; FHIR_STATS_NO_BIG=1
    // skips the large bundles)
    let reps: usize = std::env::var("FHIR_STATS_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    for _ in 0..reps {
        resources += v.validate(&lab, &[]).resources;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "CLINS lab bundle x{reps}: {resources} resources in {:.1} ms = {:.0} resources/s (invariants on)",
        secs * 1e3,
        resources as f64 / secs
    );
    oracle(
        &root.join("jp-clins/examples/Bundle-Bundle-CLINS-Observations-Example-01.json"),
        "CLINS lab bundle (once)",
        resources / reps,
    );
    if std::env::var_os("FHIR_STATS_NO_BIG").is_some() {
        return Ok(()); // profiling the lab bundle alone
    }
    // large bundles: the lab bundle's observations repeated, each referencing the patient
    let entries = lab["entry"].as_array().ok_or("no entries")?;
    for n in [10_000usize, 100_000] {
        let mut big = lab.clone();
        let mut out = vec![entries[0].clone()];
        let obs: Vec<_> = entries.iter().skip(1).collect();
        for i in 0..n {
            let mut e = obs[i % obs.len()].clone();
            e["fullUrl"] = serde_json::json!(format!("urn:uuid:00000000-0000-4000-8000-{i:012}"));
            out.push(e);
        }
        big["entry"] = serde_json::Value::Array(out);
        let t = Instant::now();
        let r = v.validate(&big, &[]);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "bundle with {n} entries: {:.0} ms, {:.0} resources/s, {} issues ({} errors)",
            secs * 1e3,
            r.resources as f64 / secs,
            r.issues.len(),
            r.issues
                .iter()
                .filter(|i| i.severity == diagnostics::Severity::Error)
                .count()
        );
        if n <= 10_000 || std::env::var_os("FHIR_STATS_ORACLE_100K").is_some() {
            let file = std::env::temp_dir().join(format!("kakehashi-fhir-stats-{n}.json"));
            std::fs::write(&file, serde_json::to_vec(&big)?)?;
            oracle(&file, &format!("bundle with {n} entries"), r.resources);
            let _ = std::fs::remove_file(&file);
        }
    }
    Ok(())
}

/// Times `fhir-oracle` (../shared/tools/fhir-oracle, if present) on `file`: the
/// independent validator on the same input in the same run (its wall time
/// includes its start-up: node, index loading).
fn oracle(file: &std::path::Path, what: &str, resources: usize) {
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/tools/fhir-oracle/fhir-oracle");
    if std::env::var_os("FHIR_STATS_NO_ORACLE").is_some() {
        return;
    }
    if !tool.exists() {
        println!("fhir-oracle not found at {}: no comparison", tool.display());
        return;
    }
    let t = Instant::now();
    let out = std::process::Command::new(&tool)
        .arg("--no-fhirkit")
        .arg(file)
        .output();
    let secs = t.elapsed().as_secs_f64();
    match out {
        Ok(o) => println!(
            "  fhir-oracle on the {what}: {:.0} ms wall ({:.0} resources/s incl. start-up), exit {}",
            secs * 1e3,
            resources as f64 / secs,
            o.status.code().unwrap_or(-1)
        ),
        Err(e) => println!("  fhir-oracle could not run: {e}"),
    }
}
