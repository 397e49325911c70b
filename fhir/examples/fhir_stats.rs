//! Figures for the FHIR validator: cold start of loading each package set, and how
//! many invariant expressions of the loaded packages the FHIRPath evaluator can
//! run (with the functions it lacks).
//!
//! `cargo run --release -p fhir --example fhir_stats` (the JP-CLINS examples are read
//! from `../shared/fhir-profiles/jp-clins/examples` beside the repository)
//!
//! Environment: `FHIR_STATS_REPS=N` (lab bundle repetitions, default 200),
//! `FHIR_STATS_ONLY_THROUGHPUT=1` (skip the per-set figures: for profiling and
//! `bench/validator.sh`), `FHIR_STATS_NO_BIG=1`, `FHIR_STATS_NO_ORACLE=1`,
//! `FHIR_STATS_ORACLE_100K=1`. Times are wall clock and CPU time of this thread
//! (`/proc/thread-self/schedstat`, so a busy machine shows in the gap between
//! the two). Allocations: run under `heaptrack` (unsafe code, hence a counting
//! allocator, is forbidden in the workspace).

use fhir::conformance::{Conformance, PackageSet, default_sets};
use fhir::fhirpath::Expression;
use fhir::package::Package;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// CPU time of this thread in seconds (0 where /proc is unavailable).
fn cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// The JP-CLINS example instances: `../shared/fhir-profiles/jp-clins/examples` beside
/// the repository.
fn clins_examples() -> Result<std::path::PathBuf, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fhir-profiles/jp-clins/examples");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "{}: missing (the JP-CLINS examples are read from ../shared beside the repository)",
            dir.display()
        ))
    }
}

/// A wall + CPU stopwatch.
struct Clock(Instant, f64);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu())
    }
    /// (wall, cpu) seconds since start.
    fn lap(&self) -> (f64, f64) {
        (self.0.elapsed().as_secs_f64(), cpu() - self.1)
    }
}

/// The package file of a built-in pin: the R4 base in `vendor/`, the IG packages
/// beside the repository (`../shared/fhir-profiles`, as the tests use them).
fn package_file(r: &fhir::package::PackageRef) -> Result<std::path::PathBuf, String> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../../shared/fhir-profiles");
    let rel = match (r.name.as_str(), r.version.as_str()) {
        ("hl7.fhir.r4.core", "4.0.1") => {
            return Ok(manifest
                .join("../vendor/fhir-profiles/r4-core/hl7.fhir.r4.examples-4.0.1-subset.tgz"));
        }
        ("jp-core.r4", v) => format!("jp-core/jp-core.r4-{v}.tgz"),
        ("jp-eCSCLINS.r4", "1.5.2") => "jp-clins/jp-clins.r4-1.5.2-snap.tgz".to_owned(),
        ("jp-eCSCLINS.r4", v) => format!("jp-clins/jp-eCSCLINS.r4-{v}-snap.tgz"),
        ("jp-eReferral.r4", _) => "ereferral/jp-eReferral.r4.tgz".to_owned(),
        ("jp-eDischargeSummary.r4", _) => "edischarge/jp-eDischargeSummary.r4.tgz".to_owned(),
        ("jp-eCheckupReport.r4", "1.1.3") => "echeckup/jp-eCheckupReport.r4.tgz".to_owned(),
        ("jp-eCheckupReport.r4", v) => format!("echeckup/jp-eCheckupReport.r4-{v}-snap.tgz"),
        _ => return Err(format!("no file known for {r}")),
    };
    Ok(shared.join(rel))
}

/// The files of a set's packages, in load order.
fn set_files(set: &PackageSet) -> Result<Vec<std::path::PathBuf>, String> {
    set.packages.iter().map(package_file).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("FHIR_STATS_ONLY_THROUGHPUT").is_some() {
        return throughput();
    }
    let mut all_exprs: BTreeMap<String, (String, bool)> = BTreeMap::new(); // expr -> (key, jp)
    let mut instances = 0usize;
    let mut jp_instances = 0usize;
    for set in default_sets() {
        let t0 = Instant::now();
        let mut owned = Vec::new();
        for (f, r) in set_files(&set)?.into_iter().zip(&set.packages) {
            let mut p = Package::from_tgz(&std::fs::read(&f)?)?;
            p.version = r.version.clone(); // the cache name, as the CLI knows it
            owned.push(p);
        }
        let t1 = Instant::now();
        let pkgs: Vec<&Package> = owned.iter().collect();
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
    throughput()?;
    Ok(())
}

/// Validation throughput on the CLINS lab bundle, and a large bundle with cross
/// references at two sizes (linear time shows as equal resources/s).
fn throughput() -> Result<(), Box<dyn std::error::Error>> {
    use fhir::validate::Validator;
    // cold start from the package files (the CLI reads the unpacked cache instead)
    let cold = Clock::start();
    let set = fhir::conformance::resolve_set(&default_sets(), "clins")?;
    let mut owned = Vec::new();
    let mut unzip = (0.0, 0.0);
    for (f, r) in set_files(&set)?.into_iter().zip(&set.packages) {
        let bytes = std::fs::read(&f)?;
        let u = Clock::start();
        let mut p = Package::from_tgz(&bytes)?;
        p.version = r.version.clone(); // the cache name, as the CLI knows it
        owned.push(p);
        let (w, c) = u.lap();
        unzip = (unzip.0 + w, unzip.1 + c);
    }
    let read = cold.lap();
    let pkgs: Vec<&Package> = owned.iter().collect();
    let conf = Conformance::load(&pkgs);
    let indexed = cold.lap();
    let v = Validator::new(&conf);
    let lab_file = clins_examples()?.join("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let lab_bytes = std::fs::read(&lab_file)?;
    let lab: serde_json::Value = serde_json::from_slice(&lab_bytes)?;
    if let Some(out) = std::env::var_os("FHIR_STATS_DIGEST") {
        // every finding on the JP-CLINS examples and on a 2000-entry bundle, to diff
        // two builds (same verdicts, same messages, same invariant counts)
        use std::fmt::Write as _;
        let mut text = String::new();
        let dir = clins_examples()?;
        let mut files: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let mut inputs: Vec<(String, serde_json::Value)> = Vec::new();
        for f in files {
            inputs.push((
                f.display().to_string(),
                serde_json::from_slice(&std::fs::read(&f)?)?,
            ));
        }
        inputs.push(("big".into(), big_bundle(&lab, 2000)?));
        for (name, value) in &inputs {
            let r = v.validate(value, &[]);
            writeln!(
                text,
                "{name}: valid {} resources {} invariants {} not evaluable {}",
                r.is_valid(),
                r.resources,
                r.invariants_evaluated,
                r.invariants_not_evaluable
            )?;
            for i in &r.issues {
                writeln!(
                    text,
                    "  {} {:?} {} {}",
                    i.code.id, i.severity, i.expression, i.message
                )?;
            }
        }
        std::fs::write(out, text)?;
        return Ok(());
    }
    let first = v.validate(&lab, &[]); // warms the caches
    let (w, c) = cold.lap();
    println!(
        "cold start (clins, as the CLI loads it): {:.1} ms wall / {:.1} ms CPU = read+unzip {:.1}/{:.1} (unzip alone {:.1}/{:.1}) + index {:.1}/{:.1} + first validation of the lab bundle {:.1}/{:.1} ({} issues)",
        w * 1e3,
        c * 1e3,
        read.0 * 1e3,
        read.1 * 1e3,
        unzip.0 * 1e3,
        unzip.1 * 1e3,
        (indexed.0 - read.0) * 1e3,
        (indexed.1 - read.1) * 1e3,
        (w - indexed.0) * 1e3,
        (c - indexed.1) * 1e3,
        first.issues.len()
    );
    // FHIR_STATS_REPS=N repeats more (for profiling: `perf record`; FHIR_STATS_NO_BIG=1
    // skips the large bundles)
    let reps: usize = std::env::var("FHIR_STATS_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let t = Clock::start();
    let mut resources = 0;
    for _ in 0..reps {
        resources += v.validate(&lab, &[]).resources;
    }
    let (secs, cpu_secs) = t.lap();
    println!(
        "CLINS lab bundle x{reps}: {resources} resources in {:.1} ms wall / {:.1} ms CPU = {:.0} resources/s wall, {:.0} resources/s CPU (invariants on)",
        secs * 1e3,
        cpu_secs * 1e3,
        resources as f64 / secs,
        resources as f64 / cpu_secs,
    );
    let t = Clock::start();
    for _ in 0..reps {
        resources += v.validate_json(&lab_bytes, &[]).resources;
    }
    let (secs2, cpu2) = t.lap();
    println!(
        "CLINS lab bundle from bytes (JSON parse included) x{reps}: {:.0} resources/s wall, {:.0} resources/s CPU",
        (resources / 2) as f64 / secs2,
        (resources / 2) as f64 / cpu2,
    );
    oracle(&lab_file, "CLINS lab bundle (once)", resources / 2 / reps);
    if std::env::var_os("FHIR_STATS_NO_BIG").is_some() {
        return Ok(()); // profiling the lab bundle alone
    }
    // large bundles: the lab bundle's observations repeated, each referencing the patient
    for n in [10_000usize, 100_000] {
        let big = big_bundle(&lab, n)?;
        let t = Clock::start();
        let r = v.validate(&big, &[]);
        let (secs, cpu_secs) = t.lap();
        println!(
            "bundle with {n} entries: {:.0} ms wall / {:.0} ms CPU, {:.0} resources/s wall, {:.0} resources/s CPU, {} issues ({} errors)",
            secs * 1e3,
            cpu_secs * 1e3,
            r.resources as f64 / secs,
            r.resources as f64 / cpu_secs,
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
    let c0 = children_cpu();
    let out = std::process::Command::new(&tool)
        .arg("--no-fhirkit")
        .arg(file)
        .output();
    let secs = t.elapsed().as_secs_f64();
    let csecs = children_cpu() - c0;
    match out {
        Ok(o) => println!(
            "  fhir-oracle on the {what}: {:.0} ms wall / {:.0} ms CPU ({:.0} resources/s wall incl. start-up), exit {}",
            secs * 1e3,
            csecs * 1e3,
            resources as f64 / secs,
            o.status.code().unwrap_or(-1)
        ),
        Err(e) => println!("  fhir-oracle could not run: {e}"),
    }
}

/// CPU seconds of waited-for children (`cutime + cstime` of /proc/self/stat).
fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // fields after the command name (which is in parentheses)
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): cutime is field 16, cstime 17
    let tick = |i: usize| {
        f.get(i - 3)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(16) + tick(17)) / 100.0 // USER_HZ is 100 on Linux
}

/// The lab bundle's observations repeated `n` times (fresh fullUrls), each
/// referencing the patient of the first entry.
fn big_bundle(
    lab: &serde_json::Value,
    n: usize,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let entries = lab["entry"].as_array().ok_or("no entries")?;
    let mut big = lab.clone();
    let mut out = vec![entries[0].clone()];
    let obs: Vec<_> = entries.iter().skip(1).collect();
    for i in 0..n {
        let mut e = obs[i % obs.len()].clone();
        e["fullUrl"] = serde_json::json!(format!("urn:uuid:00000000-0000-4000-8000-{i:012}"));
        out.push(e);
    }
    big["entry"] = serde_json::Value::Array(out);
    Ok(big)
}
