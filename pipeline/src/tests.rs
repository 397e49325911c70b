//! The pipeline driven as a library: a synthetic storage, a sink defined here.

use crate::convert::{Converter, PatientResult, Settings};
use crate::ledger::{Action, Ledger};
use crate::outputs::{self, ReportHeader};
use crate::receipts::Receipts;
use crate::run::Run;
use crate::sink::{Sink, SinkError};
use crate::source::Storage;
use diagnostics::RenderOptions;
use fhir::package::Package;
use mappers::config::SiteConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A code-system oracle that knows nothing (every code of an unknown system passes).
struct NoOracle;

impl fhir::validate::CodeSystemOracle for NoOracle {
    fn knows(&self, _: &str) -> bool {
        false
    }
    fn check(&self, _: &str, _: &str) -> fhir::validate::Validity {
        fhir::validate::Validity::Unknown
    }
    fn describe(&self) -> String {
        "none".into()
    }
}

/// The `clins` set's packages: the vendored R4 subset and the JP packages in
/// `../shared/fhir-profiles` (known by their pins' versions, as the package cache
/// names them).
fn clins_packages() -> Vec<Package> {
    let shared = testkit::shared("fhir-profiles");
    [
        (
            testkit::repository()
                .join("vendor/fhir-profiles/r4-core/hl7.fhir.r4.examples-4.0.1-subset.tgz"),
            None,
        ),
        (
            shared.join("jp-core/jp-core.r4-1.1.2-clins.tgz"),
            Some("1.1.2-clins"),
        ),
        (
            shared.join("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz"),
            Some("1.10.0"),
        ),
    ]
    .into_iter()
    .map(|(f, version)| {
        let bytes = std::fs::read(&f)
            .unwrap_or_else(|e| panic!("{}: {e} (tests need ../shared)", f.display()));
        let mut p = Package::from_tgz(&bytes).unwrap();
        if let Some(v) = version {
            p.version = v.to_owned();
        }
        p
    })
    .collect()
}

/// A synthetic storage of `patients` patients in a fresh folder.
fn storage(name: &str, patients: u64) -> PathBuf {
    let dir = testkit::scratch_dir(&format!("pipeline-{name}"));
    let options = synth::ssmix2::Options {
        patients,
        fault_rate: 0.0,
    };
    for (rel, bytes) in synth::ssmix2::generate(&options, 7, &[]) {
        let path = dir.join("st").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// The new sink of the issue: counts the resources of valid bundles by type,
/// and the patients it saw, in the order it saw them.
#[derive(Default)]
struct CountByType {
    resources: BTreeMap<String, usize>,
    order: Vec<usize>,
}

impl Sink for CountByType {
    type Worker = ();
    type Prepared = (usize, BTreeMap<String, usize>);
    fn worker(&self) {}
    fn prepare((): &(), p: &PatientResult) -> Result<Self::Prepared, SinkError> {
        let mut n = BTreeMap::new();
        for u in p.units.iter().filter(|u| u.outcome.is_none()) {
            for e in u.resource["entry"].as_array().into_iter().flatten() {
                if let Some(t) = e["resource"]["resourceType"].as_str() {
                    *n.entry(t.to_owned()).or_default() += 1;
                }
            }
        }
        Ok((p.index, n))
    }
    fn accept(&mut self, (index, n): Self::Prepared) -> Result<(), SinkError> {
        self.order.push(index);
        for (t, k) in n {
            *self.resources.entry(t).or_default() += k;
        }
        Ok(())
    }
}

#[test]
fn a_sink_defined_outside_counts_resources_by_type_over_a_storage() {
    let dir = storage("count", 8);
    let config_path = testkit::repository().join("demo/synth.kakehashi.toml");
    let config = SiteConfig::parse(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    let tables: Vec<_> = config
        .tables
        .iter()
        .map(|rel| {
            let bytes = std::fs::read(testkit::repository().join("demo").join(rel)).unwrap();
            terminologies::table::parse_sssom(&bytes).0
        })
        .collect();
    let index = terminologies::lookup::Index::new(&tables);
    let packages = clins_packages();
    let refs: Vec<&Package> = packages.iter().collect();
    let conformance = fhir::conformance::Conformance::load(&refs);
    let (lab_sets, _) = mappers::LabSets::from_package(&packages[2]);
    let errata = fhir::errata::Errata::builtin().unwrap();
    let receipts = Receipts::default();
    let converter = Converter {
        settings: Settings {
            config: &config,
            index: &index,
            lab_sets: &lab_sets,
            conformance: &conformance,
            errata: &errata,
            oracle: &NoOracle,
            as_of: "20261123",
            receipts: &receipts,
            ledger_shown: "ledger",
        },
        years: BTreeMap::new(),
        branches: BTreeMap::new(),
        default_year: 2026,
    };
    let storage = Storage::walk(dir.join("st"), "st");
    assert_eq!(storage.patients().len(), 8);

    // The new sink alone, 3 workers, a window of 2: patients arrive in order.
    let mut count = CountByType::default();
    let run = Run {
        converter: &converter,
        storage: &storage,
        threads: 3,
        window: 2,
        timings: false,
    };
    let done = run.patients(&mut count, &|| {}).unwrap();
    assert_eq!(count.order, (0..8).collect::<Vec<_>>());
    assert!(done.peak_buffered <= 2, "{}", done.peak_buffered);
    assert!(count.resources["Observation"] > 0, "{:?}", count.resources);
    assert!(count.resources["Patient"] > 0);

    // Beside today's outputs: the same counts as the NDJSON lines (resources of
    // valid bundles; the Patient once per patient there, once per bundle here).
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let header = ReportHeader {
        as_of: "20261123".into(),
        institution_number: config.institution_number.clone(),
        notes: Vec::new(),
        tables: Vec::new(),
        lab_sets: Vec::new(),
        validation: String::new(),
        receipts: None,
    };
    let folder = outputs::folder(&out, RenderOptions::default(), header, &receipts).unwrap();
    let mut both = (folder, CountByType::default());
    let done = Run { window: 1, ..run }
        .patients(&mut both, &|| {})
        .unwrap();
    let mut ledger = Ledger::in_memory(&config.institution_number).unwrap();
    let plan = crate::run::finish(&mut ledger, 2026, "", done, &mut both, "r1").unwrap();
    assert!(plan.items.iter().all(|i| i.action == Action::Create));
    let report: &Value = both.0.6.report().unwrap();
    for t in ["Condition", "AllergyIntolerance", "Observation"] {
        assert_eq!(
            report["ndjson"][t].as_u64(),
            both.1.resources.get(t).map(|&n| n as u64),
            "{t}"
        );
    }
    assert_eq!(both.1.resources, count.resources);
    let _ = std::fs::remove_dir_all(&dir);
}
