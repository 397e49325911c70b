//! Per-patient conversion: a patient's files (from the [`crate::source`]) →
//! typed results ([`PatientResult`]): the unit bundles as FHIR JSON values with
//! their validation outcomes, the patient and prescriptions for Bulk Data, the
//! lineage records, the diagnostics, the accounting of every file, message and
//! record, and what the ledger needs to plan ([`PatientObservations`]). No
//! output layout is known here: sinks render and write ([`crate::sink`]).
//!
//! Steps: read and map every message ([`crate::source::read_patient`]), keep the
//! current versions and group the records into units ([`mappers::assemble`]),
//! apply the receipts' patch and the 枝番 the ledger remembers, build each unit's
//! bundle ([`mappers::bundle`], year from the ledger, else the as-of year),
//! validate it in process (clins + errata + the caller's code-system oracle), and
//! validate each prescription alone (JP_MedicationRequest_eCS).

use crate::ledger::Observed;
use crate::receipts::Receipts;
use crate::run::{Laps, Phase};
use crate::source::{PatientFiles, ReadPhase, Storage};
use diagnostics::{Diagnostics, Location};
use fhir::errata::Errata;
use fhir::model::IntoResource;
use fhir::validate::{CodeSystemOracle, Validator};
use mappers::assemble::{self, Unit};
use mappers::config::SiteConfig;
use mappers::record::{Coding, Lineage, Submission};
use mappers::unit::UnitKey;
use mappers::{LabSets, bundle, receipt};
use serde_json::Value;
use std::collections::BTreeMap;
use terminologies::lookup::Index;

/// What every patient's conversion shares, read-only.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    /// The site configuration.
    pub config: &'a SiteConfig,
    /// The mapping tables.
    pub index: &'a Index,
    /// The lab sets of the pinned JP-CLINS package.
    pub lab_sets: &'a LabSets,
    /// The pinned package set, loaded.
    pub conformance: &'a fhir::conformance::Conformance,
    /// The errata applied when validating.
    pub errata: &'a Errata,
    /// Judges codes of systems the packages cannot expand.
    pub oracle: &'a (dyn CodeSystemOracle + Sync),
    /// The as-of date, `YYYYMMDD`.
    pub as_of: &'a str,
    /// The receipts linked to the storage's patients (empty without receipts).
    pub receipts: &'a Receipts,
    /// The ledger as the user named it (location of `M410`).
    pub ledger_shown: &'a str,
}

impl Settings<'_> {
    /// A validator for one worker (its caches are not shared).
    pub fn validator(&self) -> Validator<'_> {
        Validator::new(self.conformance)
            .with_errata(self.errata)
            .with_code_systems(self.oracle)
    }
}

/// The per-patient conversion: [`Settings`] and what the ledger says before a run.
pub struct Converter<'a> {
    /// What every patient shares.
    pub settings: Settings<'a>,
    /// The first year of every unit the ledger knows (identifiers keep it for life).
    pub years: BTreeMap<String, u16>,
    /// Per patient, the member id whose 枝番 receipts gave in an earlier run.
    pub branches: BTreeMap<String, String>,
    /// The year of a unit the ledger does not know (the as-of year).
    pub default_year: u16,
}

/// One unit's bundle (or a quarantined prescription) with its verdict.
#[derive(Debug)]
pub struct UnitResult {
    /// `UnitKey::id()` (`M-<uuid>` for a quarantined prescription).
    pub unit_id: String,
    /// `Condition` | `AllergyIntolerance` | `Observation` | `MedicationRequest`.
    pub resource_type: &'static str,
    /// The bundle (or the lone prescription) as FHIR JSON.
    pub resource: Value,
    /// Its canonical JSON text ([`fhir::model::json::value_bytes`]): what is
    /// sent, and what the ledger's hash is of.
    pub json: Vec<u8>,
    /// `None` when valid; else the OperationOutcome (keys sorted).
    pub outcome: Option<Value>,
}

/// A prescription exported for Bulk Data (validated alone).
#[derive(Debug)]
pub struct MedicationResult {
    /// Its fullUrl (`urn:uuid:…`).
    pub full_url: String,
    /// The MedicationRequest.
    pub resource: Value,
}

/// Where a submitted resource came from (PHI: file names hold patient ids).
#[derive(Debug)]
pub struct LineageRecord {
    /// The bundle identifier (or the patient scope for a prescription).
    pub bundle: String,
    /// The resource's fullUrl.
    pub full_url: String,
    /// Its type.
    pub resource_type: &'static str,
    /// Source file, segment and field of each element.
    pub sources: Vec<Lineage>,
    /// Table rows used (`table@version#row`), sorted, once each.
    pub table_rows: Vec<String>,
}

/// The accounting of one patient: every file, message and record.
#[derive(Debug, Default)]
pub struct Tally {
    /// Files read.
    pub files: usize,
    /// Files that could not be read.
    pub unreadable: usize,
    /// Files without messages.
    pub empty_files: usize,
    /// Messages by outcome.
    pub messages: BTreeMap<String, usize>,
    /// Records by (resource type, outcome).
    pub records: BTreeMap<(String, String), usize>,
    /// Units with nothing to submit, by reason.
    pub empty_units: BTreeMap<String, usize>,
}

impl Tally {
    fn message(&mut self, outcome: &str) {
        *self.messages.entry(outcome.to_owned()).or_default() += 1;
    }
    fn record(&mut self, kind: &str, outcome: &str, n: usize) {
        if n > 0 {
            *self
                .records
                .entry((kind.to_owned(), outcome.to_owned()))
                .or_default() += n;
        }
    }
}

/// What the ledger's plan needs from one patient.
#[derive(Debug, Default)]
pub struct PatientObservations {
    /// The units built this run (a quarantined one without a hash).
    pub observed: Vec<Observed>,
    /// The patient's 被保険者個人識別子, when the patient was produced (not withheld whole).
    pub member_seen: Option<String>,
    /// (local id, member id) when a receipt completed the 枝番 this run.
    pub learnt: Option<(String, String)>,
}

/// Everything one patient produced, typed.
#[derive(Debug, Default)]
pub struct PatientResult {
    /// The patient's place in the run (patient order).
    pub index: usize,
    /// Diagnostics in input order.
    pub diagnostics: Diagnostics,
    /// The accounting.
    pub tally: Tally,
    /// Unit bundles (valid and quarantined) in unit order, then quarantined prescriptions.
    pub units: Vec<UnitResult>,
    /// The patient's fullUrl (`urn:uuid:…`, from the institution and local id),
    /// when the patient was produced.
    pub patient_url: String,
    /// The Patient resource as the first valid unit carries it: present when
    /// some unit is valid.
    pub patient: Option<Value>,
    /// Prescriptions exported (valid), in order.
    pub medications: Vec<MedicationResult>,
    /// Lineage of every submitted record, in order.
    pub lineage: Vec<LineageRecord>,
    /// For the ledger.
    pub observations: PatientObservations,
}

impl Converter<'_> {
    /// Converts one patient of `storage` (see the module documentation).
    pub fn patient(
        &self,
        storage: &Storage,
        job: &PatientFiles,
        validator: &Validator<'_>,
        laps: &mut Laps,
    ) -> PatientResult {
        let sh = &self.settings;
        let mut out = PatientResult::default();
        let ctx = mappers::Context {
            config: sh.config,
            terms: sh.index,
            lab_sets: sh.lab_sets,
            as_of: sh.as_of,
        };
        let read =
            crate::source::read_patient(storage, job, &ctx, |_| true, |_| {}, &mut |phase| {
                laps.lap(match phase {
                    ReadPhase::Read => Phase::Read,
                    ReadPhase::ParseMap => Phase::ParseMap,
                })
            });
        let local_id = read.local_id.clone();
        let (read, diagnostics, files) = read.assemble(&local_id);
        out.diagnostics = diagnostics;
        out.tally.files = files.files;
        out.tally.unreadable = files.unreadable;
        out.tally.empty_files = files.empty_files;
        for _ in 0..files.receipt_files {
            out.tally
                .message("skipped: a receipt file (receipts are linked, not converted)");
        }
        for _ in 0..files.unnamed_messages {
            out.tally
                .message("skipped: not an SS-MIX2 file name (no data type, version or order)");
        }
        let mut assembled = read.assembled;
        // Receipts may complete the 枝番; the ledger remembers one they gave in an
        // earlier run (mappers::receipt: same patient, same insurance only).
        let storage_member = assembled
            .patient
            .as_ref()
            .and_then(|p| p.member_id.as_ref())
            .map(|m| m.value.clone());
        sh.receipts
            .apply(&mut assembled.patient, &mut out.diagnostics);
        if let Some(p) = assembled.patient.as_mut() {
            if let Some(m) = receipt::learnt_branch(storage_member.as_deref(), p) {
                out.observations.learnt = Some((p.local_id.clone(), m));
            } else if let Some(old) = self.branches.get(&p.local_id)
                && let Some(d) = receipt::remember_branch(p, old)
            {
                out.diagnostics.push(
                    d.at(Location::default()
                        .file(sh.ledger_shown)
                        .element("Patient.identifier")),
                );
            }
        }
        for o in &read.outcomes {
            out.tally.message(o);
        }
        laps.lap(Phase::Assemble);
        let Some(p) = assembled.patient.as_ref() else {
            for u in &assembled.units {
                count_all(
                    &mut out.tally,
                    u,
                    "skipped: no current ADT-00 (patient) for the unit",
                );
            }
            count_medications(
                &mut out.tally,
                &assembled,
                "skipped: no current ADT-00 (patient)",
            );
            return out;
        };
        if let Some(Submission::Withheld(reason)) = &p.submission {
            out.tally
                .record("Patient", &format!("withheld: {reason}"), 1);
            let why = format!("skipped: patient not submitted ({reason})");
            for u in &assembled.units {
                count_all(&mut out.tally, u, &why);
            }
            count_medications(&mut out.tally, &assembled, &why);
            return out;
        }
        let member_id = p
            .member_id
            .as_ref()
            .map(|m| m.value.clone())
            .unwrap_or_default();
        out.observations.member_seen = Some(member_id.clone());
        let tz = &sh.config.timezone;
        // The patient's NDJSON resource: one per patient, id from the institution and local id.
        let scope = format!("{}^{}", sh.config.institution_number, local_id);
        let patient_url = bundle::patient_url(&scope);
        out.patient_url.clone_from(&patient_url);
        let mut patient_written = false;
        for u in &assembled.units {
            let unit_id = u.key.id();
            let year = self
                .years
                .get(&unit_id)
                .copied()
                .unwrap_or(self.default_year);
            let ident = u.key.bundle_identifier(&sh.config.institution_number, year);
            let Some(ts) = assemble::instant(&u.written_at, tz) else {
                count_all(&mut out.tally, u, "skipped: no 発生日時 to time the unit");
                continue;
            };
            let (b, submitted) = self.build_unit(u, year, &ts, p, &mut out, &ident);
            laps.lap(Phase::Build);
            let kind = u.key.resource_type();
            if submitted == 0 {
                *out.tally
                    .empty_units
                    .entry(format!("{kind}: nothing to submit"))
                    .or_default() += 1;
                continue;
            }
            // The value is built straight from the model and validated; the
            // bytes are written from that same value (no JSON text parsed back).
            let value = match fhir::model::json::to_value(b.into_resource()) {
                Ok(v) => v,
                Err(d) => {
                    out.diagnostics
                        .push((*d).at(Location::default().file(unit_id.clone())));
                    out.tally.record(kind, "quarantined", submitted);
                    continue;
                }
            };
            let json = fhir::model::json::value_bytes(&value);
            laps.lap(Phase::WriteJson);
            let report = validator.validate(&value, &[]);
            laps.lap(Phase::Validate);
            let valid = report.is_valid();
            out.tally.record(
                kind,
                if valid { "submitted" } else { "quarantined" },
                submitted,
            );
            out.observations.observed.push(Observed {
                unit_id: unit_id.clone(),
                resource_type: kind.to_owned(),
                member_id: member_id.clone(),
                // A quarantined unit is held: nothing is sent, the ledger keeps its last state.
                hash: valid.then(|| fhir::model::id::sha1_hex(&json)),
            });
            if valid && !patient_written {
                patient_written = true;
                let r = bundle::patient(p, sh.config, &ts).into_resource();
                if let Ok(v) = fhir::model::json::to_value(r) {
                    out.patient = Some(v);
                }
            }
            let outcome = (!valid).then(|| {
                let mut v = report.operation_outcome();
                v.sort_all_objects();
                v
            });
            laps.lap(Phase::WriteJson);
            out.units.push(UnitResult {
                unit_id,
                resource_type: kind,
                resource: value,
                json,
                outcome,
            });
        }
        out.tally.record(
            "Patient",
            if patient_written {
                "submitted (first entry of its bundles)"
            } else {
                "not submitted: no valid unit to carry it"
            },
            1,
        );
        // Prescriptions: NDJSON only (CLINS takes no prescription bundle), each
        // validated alone against JP_MedicationRequest_eCS first; an invalid one is
        // quarantined with its OperationOutcome like a bundle.
        for (_, m) in &assembled.medications {
            // lastUpdated: the order time as the source gives it (a submitted line has one).
            let last_updated = m.authored_on.clone().unwrap_or_default();
            let Some(r) = mappers::medication::resource(m, sh.config, &patient_url, &last_updated)
            else {
                let why = match &m.submission {
                    Some(Submission::Withheld(r)) => format!("withheld: {r}"),
                    _ => "withheld".into(),
                };
                out.tally.record("MedicationRequest", &why, 1);
                continue;
            };
            let Ok(value) = fhir::model::json::to_value(r.into_resource()) else {
                out.tally
                    .record("MedicationRequest", "skipped: not writable as FHIR JSON", 1);
                continue;
            };
            let url = mappers::medication::full_url(&scope, m);
            laps.lap(Phase::WriteJson);
            let report = validator.validate(&value, &[]);
            laps.lap(Phase::Validate);
            if report.is_valid() {
                out.lineage.push(LineageRecord {
                    bundle: scope.clone(),
                    full_url: url.clone(),
                    resource_type: "MedicationRequest",
                    sources: m.lineage.clone(),
                    table_rows: Vec::new(),
                });
                out.medications.push(MedicationResult {
                    full_url: url,
                    resource: value,
                });
                out.tally
                    .record("MedicationRequest", "exported (NDJSON)", 1);
            } else {
                out.tally.record("MedicationRequest", "quarantined", 1);
                let json = fhir::model::json::value_bytes(&value);
                let mut o = report.operation_outcome();
                o.sort_all_objects();
                out.units.push(UnitResult {
                    unit_id: format!("M-{}", uuid_of(&url)),
                    resource_type: "MedicationRequest",
                    resource: value,
                    json,
                    outcome: Some(o),
                });
            }
        }
        out
    }

    /// Builds a unit's bundle; counts withheld records and records the lineage
    /// of submitted ones; returns the number submitted.
    fn build_unit(
        &self,
        u: &Unit,
        year: u16,
        ts: &str,
        p: &mappers::record::PatientRecord,
        out: &mut PatientResult,
        ident: &str,
    ) -> (fhir::model::Bundle, usize) {
        let sh = &self.settings;
        let cfg = sh.config;
        let mut submitted = 0;
        let tally = &mut out.tally;
        let lineage = &mut out.lineage;
        let mut trace = |full_url: String, kind: &'static str, l: &[Lineage], rows: Vec<String>| {
            lineage.push(LineageRecord {
                bundle: ident.to_owned(),
                full_url,
                resource_type: kind,
                sources: l.to_vec(),
                table_rows: rows,
            });
        };
        match &u.key {
            UnitKey::Conditions { .. } => {
                for c in &u.conditions {
                    if withheld(tally, "Condition", &c.submission) {
                        continue;
                    }
                    if !mappers::condition::in_reporting_window(c, sh.as_of) {
                        tally.record(
                            "Condition",
                            "withheld: ended more than 5 years before the as-of date",
                            1,
                        );
                        continue;
                    }
                    submitted += 1;
                    let rows = rows(
                        c.code
                            .coding
                            .iter()
                            .chain(c.department.iter())
                            .chain(c.encounter_class.iter())
                            .chain(c.outcome.iter())
                            .chain(c.prefix_modifiers.iter().flat_map(|m| m.coding.iter()))
                            .chain(c.postfix_modifiers.iter().flat_map(|m| m.coding.iter())),
                    );
                    trace(
                        bundle::condition_url(ident, c),
                        "Condition",
                        &c.lineage,
                        rows,
                    );
                }
                (
                    bundle::conditions(cfg, &u.key, year, ts, sh.as_of, p, &u.conditions),
                    submitted,
                )
            }
            UnitKey::Allergies { .. } => {
                for (i, a) in u.allergies.iter().enumerate() {
                    if withheld(tally, "AllergyIntolerance", &a.submission) {
                        continue;
                    }
                    submitted += 1;
                    let rows = rows(
                        a.code
                            .coding
                            .iter()
                            .chain(a.category.iter())
                            .chain(a.severity.iter()),
                    );
                    trace(
                        bundle::allergy_url(ident, i, a),
                        "AllergyIntolerance",
                        &a.lineage,
                        rows,
                    );
                }
                (
                    bundle::allergies(cfg, &u.key, year, ts, p, &u.allergies),
                    submitted,
                )
            }
            UnitKey::LabReport { .. } => {
                for (i, o) in u.observations.iter().enumerate() {
                    if withheld(tally, "Observation", &o.submission) {
                        continue;
                    }
                    submitted += 1;
                    let value_rows: Vec<&Coding> = match &o.value {
                        Some(mappers::record::Value::Concept(c)) => c.coding.iter().collect(),
                        _ => Vec::new(),
                    };
                    let rows = rows(
                        o.code
                            .coding
                            .iter()
                            .chain(o.interpretation.iter())
                            .chain(o.specimen.iter())
                            .chain(o.department.iter())
                            .chain(o.encounter_class.iter())
                            .chain(value_rows),
                    );
                    trace(
                        bundle::observation_url(ident, i, o),
                        "Observation",
                        &o.lineage,
                        rows,
                    );
                }
                (
                    bundle::lab_report(cfg, &u.key, year, ts, p, &u.observations),
                    submitted,
                )
            }
        }
    }
}

fn count_all(t: &mut Tally, u: &Unit, why: &str) {
    t.record("Condition", why, u.conditions.len());
    t.record("AllergyIntolerance", why, u.allergies.len());
    t.record("Observation", why, u.observations.len());
}

fn count_medications(t: &mut Tally, a: &assemble::Assembled, why: &str) {
    t.record("MedicationRequest", why, a.medications.len());
}

fn withheld(t: &mut Tally, kind: &str, s: &Option<Submission>) -> bool {
    match s {
        Some(Submission::Submit) => false,
        Some(Submission::Withheld(r)) => {
            t.record(kind, &format!("withheld: {r}"), 1);
            true
        }
        None => {
            t.record(kind, "withheld: not decided by the mapper", 1);
            true
        }
    }
}

fn rows<'a>(codings: impl Iterator<Item = &'a Coding>) -> Vec<String> {
    let mut v: Vec<String> = codings.filter_map(|c| c.table_row.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// The NDJSON id of a resource: the UUID of its fullUrl.
pub fn uuid_of(full_url: &str) -> &str {
    full_url.strip_prefix("urn:uuid:").unwrap_or(full_url)
}
