//! Delivery to a FHIR server: the sink that sends what a finished `convert` run
//! planned, exactly once under faults.
//!
//! # What is sent
//!
//! The ledger says what each unit's current bundle is (`unit`: live with its hash,
//! or deleted); its `delivery` table ([`crate::ledger::delivery`]) says what the
//! server acknowledged. [`plan`] compares the two, after checking that the output
//! folder is a finished run that matches the ledger ([`read_output`]):
//!
//! | ledger | delivered to this server | sent |
//! | --- | --- | --- |
//! | live, bundle in `bundles/` | same hash, `delivered` | nothing (unchanged) |
//! | live, bundle in `bundles/` | nothing, other hash, `in_flight` | one transaction: `PUT Type/id` per resource, `DELETE` of what the unit delivered before and no longer has |
//! | live, bundle in `bundles/` | same hash, `refused` | nothing (`C401`), unless `resend_refused` |
//! | deleted | resources | one transaction of `DELETE Type/id`, exactly what the unit delivered |
//! | held (no bundle this run) | anything | nothing (`C403` when never delivered) |
//!
//! A resource another unit still holds is never deleted (every unit's resources
//! are its own today, UUID v5 ids scoped by the unit, but the rule does not rely
//! on it).
//!
//! # Exactly once
//!
//! Each unit is one transaction: the server applies all of it or none. Before a
//! request leaves, the unit is recorded `in_flight` with the union of what it
//! delivered before and what the request puts; after a 2xx it is `delivered`
//! with exactly the new resources, after a refusal `refused` with the old ones.
//! Killed at any moment, the ledger says of each unit either what the server
//! acknowledged or `in_flight`, and an `in_flight` unit is sent again: the
//! request `PUT`s the same resources to the same ids (an update to the same
//! content) and deletes what may be left (a conditional `DELETE Type?_id=…`
//! that matches nothing succeeds), so the server ends with the resources of an undisturbed run
//! whichever way the lost request went. Retries of one request are the same
//! reasoning within a run.

pub mod codes;
pub mod http;
pub mod transaction;

use crate::ledger::{Delivery, DeliveryState, KnownUnit, LedgerError, LedgerStore};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, Phi};
use http::{Answer, Client, Failure};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Why a delivery could not start or had to stop.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeliverError {
    /// The output folder is not a finished convert run (`C404`).
    Unfinished(String),
    /// The output folder and the ledger disagree (`C405`).
    Mismatch(String),
    /// The server is not a FHIR R4 server taking transactions (`C406`).
    NotAServer(String),
    /// The ledger store failed.
    Ledger(LedgerError),
    /// The server could not be reached, refused the credentials, or TLS failed.
    Server(Failure),
}

impl DeliverError {
    /// The diagnostic code, where the error has one of its own.
    pub fn code(&self) -> Option<&'static diagnostics::Code> {
        match self {
            DeliverError::Unfinished(_) => Some(&codes::UNFINISHED_OUTPUT),
            DeliverError::Mismatch(_) => Some(&codes::LEDGER_MISMATCH),
            DeliverError::NotAServer(_) => Some(&codes::NOT_A_SERVER),
            DeliverError::Ledger(e) => Some(e.code()),
            DeliverError::Server(_) => None,
        }
    }
}

impl fmt::Display for DeliverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .code()
            .map(|c| format!("{}: ", c.id))
            .unwrap_or_default();
        match self {
            DeliverError::Unfinished(e) => write!(
                f,
                "{code}not a finished convert run: {e} (run `kakehashi convert` to the end first); nothing was sent"
            ),
            DeliverError::Mismatch(e) => write!(
                f,
                "{code}the output folder and the ledger disagree: {e}; nothing was sent"
            ),
            DeliverError::NotAServer(e) => write!(f, "{code}{e}; nothing was sent"),
            DeliverError::Ledger(e) => write!(f, "{code}{e}"),
            DeliverError::Server(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DeliverError {}

impl From<LedgerError> for DeliverError {
    fn from(e: LedgerError) -> DeliverError {
        DeliverError::Ledger(e)
    }
}

/// One line of `plan.jsonl` (what delivery needs of it).
#[derive(Clone, Debug)]
pub struct PlanLine {
    /// `create` | `replace` | `unchanged` | `delete` | `held`.
    pub action: String,
    /// The unit id.
    pub unit_id: String,
    /// `機関番号^year^unit_id`.
    pub identifier: String,
}

/// A finished convert run's output folder: its plan and institution.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The folder.
    pub dir: PathBuf,
    /// The 医療機関番号 of the run (`report.json`).
    pub institution_number: String,
    /// The plan, in file order.
    pub plan: Vec<PlanLine>,
}

/// Reads what a finished `convert` run left in `dir`: `report.json` (written
/// last of the outputs) and `plan.jsonl`. Anything missing or unreadable is
/// [`DeliverError::Unfinished`].
pub fn read_output(dir: &Path) -> Result<Finished, DeliverError> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| DeliverError::Unfinished(format!("{}: {e}", dir.join(name).display())))
    };
    let report: Value = serde_json::from_slice(&read("report.json")?).map_err(|e| {
        DeliverError::Unfinished(format!("{}: {e}", dir.join("report.json").display()))
    })?;
    let institution_number = report
        .get("institution_number")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            DeliverError::Unfinished(format!(
                "{}: no institution_number",
                dir.join("report.json").display()
            ))
        })?
        .to_owned();
    let text = read("plan.jsonl")?;
    let mut plan = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| {
            DeliverError::Unfinished(format!(
                "{} line {}: {why}",
                dir.join("plan.jsonl").display(),
                n + 1
            ))
        };
        let v: Value = serde_json::from_slice(line).map_err(|e| bad(&e.to_string()))?;
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("no {k}")))
        };
        plan.push(PlanLine {
            action: s("action")?,
            unit_id: s("unit_id")?,
            identifier: s("identifier")?,
        });
    }
    if !text.is_empty() && !text.ends_with(b"\n") {
        return Err(DeliverError::Unfinished(format!(
            "{} ends in the middle of a line",
            dir.join("plan.jsonl").display()
        )));
    }
    Ok(Finished {
        dir: dir.to_path_buf(),
        institution_number,
        plan,
    })
}

/// What a job does to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobKind {
    /// The unit's first delivery to this server.
    Create,
    /// The unit again: another bundle, or a request whose answer was lost.
    Replace,
    /// Removal of what the unit delivered.
    Delete,
}

impl JobKind {
    /// `create` | `replace` | `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Create => "create",
            JobKind::Replace => "replace",
            JobKind::Delete => "delete",
        }
    }
}

/// One unit's request.
#[derive(Clone, Debug)]
pub struct Job {
    /// The unit id.
    pub unit_id: String,
    /// What it does.
    pub kind: JobKind,
    /// The bundle file (`None` for a deletion).
    pub bundle: Option<PathBuf>,
    /// The bundle's content hash (`''` for a deletion).
    pub hash: String,
    /// `Type/id` put.
    pub put: Vec<String>,
    /// `Type/id` deleted.
    pub delete: Vec<String>,
    /// What the unit may have delivered before (`Type/id`).
    pub previous: Vec<String>,
}

/// What a push will do: the jobs, and what it will not send.
#[derive(Debug)]
pub struct Work {
    /// The server's base URL (its key in the ledger).
    pub server: String,
    /// The requests, by unit id.
    pub jobs: Vec<Job>,
    /// Units already delivered as they are.
    pub unchanged: usize,
    /// Units refused before with the same bundle, not sent again.
    pub refused_before: usize,
    /// `C401`, `C403` warnings.
    pub diagnostics: Diagnostics,
}

fn bundle_shown(dir: &Path, unit_id: &str) -> String {
    dir.join("bundles")
        .join(format!("{unit_id}.json"))
        .display()
        .to_string()
}

/// Plans a push of `out` to `server` against `store` (see the module
/// documentation). Reads and checks every planned bundle (its hash must be the
/// ledger's) before anything is sent.
pub fn plan(
    store: &dyn LedgerStore,
    out: &Finished,
    server: &str,
    resend_refused: bool,
) -> Result<Work, DeliverError> {
    if out.institution_number != store.institution_number() {
        return Err(DeliverError::Mismatch(format!(
            "the folder was converted for institution {}, the ledger belongs to {}",
            out.institution_number,
            store.institution_number()
        )));
    }
    let units: BTreeMap<String, KnownUnit> = store.units()?;
    let delivered = store.deliveries(server)?;
    let mismatch =
        |unit_id: &str, why: &str| DeliverError::Mismatch(format!("unit {unit_id}: {why}"));
    // What each live unit should have on the server: Some(path, hash) when this
    // run has its bundle, None when it is held.
    let mut wanted: BTreeMap<&str, Option<(PathBuf, String)>> = BTreeMap::new();
    let mut planned: BTreeSet<&str> = BTreeSet::new();
    for line in &out.plan {
        planned.insert(&line.unit_id);
        let known = units.get(&line.unit_id);
        if let Some(k) = known {
            let want = format!(
                "{}^{:04}^{}",
                store.institution_number(),
                k.year,
                line.unit_id
            );
            if want != line.identifier {
                return Err(mismatch(
                    &line.unit_id,
                    "the plan's bundle identifier is not the ledger's",
                ));
            }
        }
        match line.action.as_str() {
            "create" | "replace" | "unchanged" => {
                let Some(k) = known.filter(|k| k.live) else {
                    return Err(mismatch(
                        &line.unit_id,
                        "planned, but not live in the ledger",
                    ));
                };
                let path = out
                    .dir
                    .join("bundles")
                    .join(format!("{}.json", line.unit_id));
                let bytes = std::fs::read(&path)
                    .map_err(|e| DeliverError::Unfinished(format!("{}: {e}", path.display())))?;
                let hash = fhir::model::id::sha1_hex(&bytes);
                if hash != k.hash {
                    return Err(mismatch(
                        &line.unit_id,
                        "its bundle is not the one the ledger recorded",
                    ));
                }
                wanted.insert(&line.unit_id, Some((path, hash)));
            }
            "delete" => {
                // A delete + create pair (a new member id) leaves the unit live.
                if known.is_none_or(|k| k.live) && !wanted.contains_key(line.unit_id.as_str()) {
                    let after = out
                        .plan
                        .iter()
                        .any(|l| l.unit_id == line.unit_id && l.action == "create");
                    if !after {
                        return Err(mismatch(
                            &line.unit_id,
                            "planned as deleted, but the ledger does not say so",
                        ));
                    }
                }
            }
            "held" => {
                if known.is_some_and(|k| k.live) {
                    wanted.entry(&line.unit_id).or_insert(None);
                }
            }
            other => {
                return Err(DeliverError::Unfinished(format!(
                    "plan.jsonl: unknown action {other}"
                )));
            }
        }
    }
    if let Some((id, _)) = units
        .iter()
        .find(|(id, k)| k.live && !planned.contains(id.as_str()))
    {
        return Err(mismatch(id, "live in the ledger, absent from the plan"));
    }

    // Resources no deletion may touch: every live unit's, as it will be.
    let mut jobs = Vec::new();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<(&str, PathBuf, String, Vec<String>)> = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let (mut unchanged, mut refused_before) = (0, 0);
    for (&unit_id, want) in &wanted {
        let d = delivered.get(unit_id);
        match want {
            None => {
                match d {
                    Some(d) => keep.extend(d.resources.iter().cloned()),
                    None => diagnostics.push(
                        Diagnostic::new(
                            &codes::HELD_UNDELIVERED,
                            format!(
                                "unit {unit_id} is held (no valid bundle in this run) and was never delivered to {server}"
                            ),
                        ),
                    ),
                }
            }
            Some((path, hash)) => {
                let same = d.is_some_and(|d| &d.hash == hash);
                match d.map(|d| d.state) {
                    Some(DeliveryState::Delivered) if same => {
                        unchanged += 1;
                        keep.extend(d.into_iter().flat_map(|d| d.resources.iter().cloned()));
                    }
                    Some(DeliveryState::Refused) if same && !resend_refused => {
                        refused_before += 1;
                        diagnostics.push(
                            Diagnostic::new(
                                &codes::REFUSED_BEFORE,
                                format!(
                                    "unit {unit_id} was refused by {server} (HTTP {}) with this bundle; not sent again",
                                    d.and_then(|d| d.status).unwrap_or(0)
                                ),
                            )
                            .at(Location::default().file(bundle_shown(&out.dir, unit_id))),
                        );
                        keep.extend(d.into_iter().flat_map(|d| d.resources.iter().cloned()));
                    }
                    _ => {
                        let bytes = std::fs::read(path).map_err(|e| {
                            DeliverError::Unfinished(format!("{}: {e}", path.display()))
                        })?;
                        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                            DeliverError::Unfinished(format!("{}: {e}", path.display()))
                        })?;
                        let put = transaction::resources(&v);
                        keep.extend(put.iter().cloned());
                        pending.push((unit_id, path.clone(), hash.clone(), put));
                    }
                }
            }
        }
    }
    let previous = |unit_id: &str| -> Vec<String> {
        delivered
            .get(unit_id)
            .filter(|d| d.state != DeliveryState::Deleted)
            .map(|d| d.resources.clone())
            .unwrap_or_default()
    };
    for (unit_id, path, hash, put) in pending {
        let previous = previous(unit_id);
        let delete = previous
            .iter()
            .filter(|r| !keep.contains(*r))
            .cloned()
            .collect();
        let kind = if previous.is_empty() {
            JobKind::Create
        } else {
            JobKind::Replace
        };
        jobs.push(Job {
            unit_id: unit_id.to_owned(),
            kind,
            bundle: Some(path),
            hash,
            put,
            delete,
            previous,
        });
    }
    // Units the ledger has deleted (this run or an earlier one) whose resources
    // the server may still hold.
    for (unit_id, d) in &delivered {
        let live = units.get(unit_id).is_some_and(|k| k.live);
        if live || d.state == DeliveryState::Deleted || d.resources.is_empty() {
            continue;
        }
        let delete: Vec<String> = d
            .resources
            .iter()
            .filter(|r| !keep.contains(*r))
            .cloned()
            .collect();
        jobs.push(Job {
            unit_id: unit_id.clone(),
            kind: JobKind::Delete,
            bundle: None,
            hash: String::new(),
            put: Vec::new(),
            delete,
            previous: d.resources.clone(),
        });
    }
    jobs.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    Ok(Work {
        server: server.to_owned(),
        jobs,
        unchanged,
        refused_before,
        diagnostics,
    })
}

/// Checks that `client`'s server answers `GET /metadata` as a FHIR R4 server
/// that takes transactions (when its CapabilityStatement lists interactions).
pub fn check_server(client: &Client) -> Result<(), DeliverError> {
    let body = match client.metadata() {
        Answer::Ok(_, body) => body,
        Answer::Refused(s, _) => {
            return Err(DeliverError::NotAServer(format!(
                "{}/metadata answered HTTP {s}",
                client.base()
            )));
        }
        Answer::Failed(f) => return Err(DeliverError::Server(f)),
    };
    let not = |why: &str| DeliverError::NotAServer(format!("{}/metadata: {why}", client.base()));
    let v: Value = serde_json::from_slice(&body).map_err(|_| not("not JSON"))?;
    if v.get("resourceType").and_then(Value::as_str) != Some("CapabilityStatement") {
        return Err(not("not a CapabilityStatement"));
    }
    let version = v.get("fhirVersion").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("4.0") {
        return Err(not(&format!("FHIR version {version:?}, not R4 (4.0.x)")));
    }
    let listed: Vec<&str> = v
        .get("rest")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r.get("interaction")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|i| i.get("code").and_then(Value::as_str))
        .collect();
    if !listed.is_empty() && !listed.contains(&"transaction") {
        return Err(not(
            "its CapabilityStatement lists no transaction interaction",
        ));
    }
    Ok(())
}

/// How one unit's delivery ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// 2xx: the status.
    Delivered(u16),
    /// Refused: the status.
    Refused(u16),
    /// No answer to judge by (the unit stays `in_flight`).
    Failed(String),
}

/// What a push did.
#[derive(Debug, Default)]
pub struct Report {
    /// Units delivered, by kind.
    pub delivered: BTreeMap<&'static str, usize>,
    /// Resources put in delivered units.
    pub resources_put: usize,
    /// Resources deleted in delivered units.
    pub resources_deleted: usize,
    /// Units refused now.
    pub refused: usize,
    /// Units not delivered (they stay in flight).
    pub failed: usize,
    /// Jobs not started because the push stopped.
    pub not_started: usize,
    /// Why the push stopped early, if it did (unreachable, TLS, credentials).
    pub stopped: Option<Failure>,
    /// Per unit: the unit id, the job's kind and its outcome, in unit order.
    pub units: Vec<(String, JobKind, Outcome)>,
    /// `C400`, `C402` diagnostics, in unit order.
    pub diagnostics: Diagnostics,
}

/// Sends the jobs of `work` to `client`'s server on `concurrency` threads,
/// recording each unit in `store` before (`in_flight`) and after (the answer).
/// Writes a refused unit's OperationOutcome to `out/refused/<unit>.outcome.json`.
/// `progress` is called once per finished job. A failure that concerns the
/// server rather than a unit (unreachable through every retry, TLS, refused
/// credentials) stops the push: jobs not started stay as they were.
pub fn deliver(
    store: &mut (dyn LedgerStore + Send),
    client: &Client,
    out: &Path,
    work: &Work,
    concurrency: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Report, DeliverError> {
    let store = Mutex::new(store);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Outcome, Option<Diagnostic>)>> = Mutex::new(Vec::new());
    let stopped: Mutex<Option<Failure>> = Mutex::new(None);
    let ledger_failed: Mutex<Option<LedgerError>> = Mutex::new(None);
    let threads = concurrency.clamp(1, work.jobs.len().max(1));
    let server = work.server.as_str();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = work.jobs.get(i) else { break };
                    let record = |d: &Delivery| -> bool {
                        let r = match store.lock() {
                            Ok(mut s) => s.record_delivery(server, &job.unit_id, d),
                            Err(_) => Err(LedgerError::Sqlite("a worker failed".into())),
                        };
                        match r {
                            Ok(()) => true,
                            Err(e) => {
                                if let Ok(mut l) = ledger_failed.lock() {
                                    l.get_or_insert(e);
                                }
                                stop.store(true, Ordering::Relaxed);
                                false
                            }
                        }
                    };
                    let (outcome, diag) = run_job(job, client, out, &record, &stop, &stopped);
                    if let Some(o) = outcome
                        && let Ok(mut r) = results.lock()
                    {
                        r.push((i, o, diag));
                    }
                    progress();
                }
            });
        }
    });
    if let Some(e) = ledger_failed.into_inner().ok().flatten() {
        return Err(DeliverError::Ledger(e));
    }
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _, _)| *i);
    let mut report = Report {
        stopped: stopped.into_inner().ok().flatten(),
        ..Report::default()
    };
    report.not_started = work.jobs.len() - results.len();
    for (i, outcome, diag) in results {
        let job = &work.jobs[i];
        match &outcome {
            Outcome::Delivered(_) => {
                *report.delivered.entry(job.kind.as_str()).or_default() += 1;
                report.resources_put += job.put.len();
                report.resources_deleted += job.delete.len();
            }
            Outcome::Refused(_) => report.refused += 1,
            Outcome::Failed(_) => report.failed += 1,
        }
        if let Some(d) = diag {
            report.diagnostics.push(d);
        }
        report.units.push((job.unit_id.clone(), job.kind, outcome));
    }
    Ok(report)
}

fn union(a: &[String], b: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = a.iter().chain(b).collect();
    set.into_iter().cloned().collect()
}

/// One job: record in flight, send, record the answer. `None` when the push
/// stopped before the request left.
fn run_job(
    job: &Job,
    client: &Client,
    out: &Path,
    record: &dyn Fn(&Delivery) -> bool,
    stop: &AtomicBool,
    stopped: &Mutex<Option<Failure>>,
) -> (Option<Outcome>, Option<Diagnostic>) {
    let shown = bundle_shown(out, &job.unit_id);
    let located =
        |code, msg: String| Diagnostic::new(code, msg).at(Location::default().file(&shown));
    let body = match body(job, client.base()) {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("unit {}: the bundle cannot be read: {e}", job.unit_id);
            return (
                Some(Outcome::Failed(msg.clone())),
                Some(located(&codes::NOT_DELIVERED, msg)),
            );
        }
    };
    let delivery =
        |state, hash: &str, resources: Vec<String>, status, ack: String, outcome| Delivery {
            state,
            hash: hash.to_owned(),
            resources,
            status,
            acknowledged: ack,
            outcome,
            time: http::now_rfc3339(),
        };
    let after_delete = job.kind == JobKind::Delete;
    if after_delete && job.delete.is_empty() {
        // Nothing of the unit is left on the server that is not another unit's.
        let ok = record(&delivery(
            DeliveryState::Deleted,
            "",
            Vec::new(),
            None,
            String::new(),
            String::new(),
        ));
        return (ok.then_some(Outcome::Delivered(200)), None);
    }
    if stop.load(Ordering::Relaxed) {
        return (None, None);
    }
    // In flight: whatever happens next, the ledger says the server may hold
    // the old resources or the new ones.
    if !record(&delivery(
        DeliveryState::InFlight,
        &job.hash,
        union(&job.previous, &job.put),
        None,
        String::new(),
        String::new(),
    )) {
        return (None, None);
    }
    match client.transaction(&body) {
        Answer::Ok(status, response) => {
            let (ack, all_ok) = transaction::acknowledged(&response);
            if !all_ok {
                // A 2xx whose entries are not all 2xx: not delivered; stays in flight.
                let msg = format!(
                    "unit {}: HTTP {status} but not every entry was accepted; left in flight",
                    job.unit_id
                );
                return (
                    Some(Outcome::Failed(msg.clone())),
                    Some(located(&codes::NOT_DELIVERED, msg)),
                );
            }
            let (state, resources) = if after_delete {
                (DeliveryState::Deleted, Vec::new())
            } else {
                (DeliveryState::Delivered, job.put.clone())
            };
            let ok = record(&delivery(
                state,
                &job.hash,
                resources,
                Some(status),
                ack,
                String::new(),
            ));
            let _ = std::fs::remove_file(
                out.join("refused")
                    .join(format!("{}.outcome.json", job.unit_id)),
            );
            (ok.then_some(Outcome::Delivered(status)), None)
        }
        Answer::Refused(status, response) => {
            let outcome: Value = serde_json::from_slice(&response).unwrap_or(Value::Null);
            let outcome_text = if outcome.is_null() {
                String::new()
            } else {
                serde_json::to_string(&outcome).unwrap_or_default()
            };
            let ok = record(&delivery(
                DeliveryState::Refused,
                &job.hash,
                job.previous.clone(),
                Some(status),
                String::new(),
                outcome_text,
            ));
            let file = out
                .join("refused")
                .join(format!("{}.outcome.json", job.unit_id));
            if !outcome.is_null() {
                let _ = std::fs::create_dir_all(out.join("refused"));
                let mut pretty = serde_json::to_vec_pretty(&outcome).unwrap_or_default();
                pretty.push(b'\n');
                let _ = std::fs::write(&file, pretty);
            }
            let (issues, texts) = issue_summary(&outcome);
            let mut d = located(
                &codes::REFUSED,
                format!(
                    "unit {} ({}): {} refused it with HTTP {status}{}; OperationOutcome in {} and the ledger",
                    job.unit_id,
                    job.kind.as_str(),
                    client.base(),
                    if issues.is_empty() {
                        String::new()
                    } else {
                        format!(" ({issues})")
                    },
                    file.display()
                ),
            );
            if !texts.is_empty() {
                // The server's own words may quote the data: PHI until shown.
                d = d.excerpt(Excerpt::phi_text(texts, Phi::Other));
            }
            (ok.then_some(Outcome::Refused(status)), Some(d))
        }
        Answer::Failed(f) => {
            let fatal = !matches!(f, Failure::Other(_));
            let msg = format!("unit {} not delivered: {f}", job.unit_id);
            if fatal {
                stop.store(true, Ordering::Relaxed);
                if let Ok(mut s) = stopped.lock() {
                    s.get_or_insert(f);
                }
            }
            (
                Some(Outcome::Failed(msg.clone())),
                Some(located(&codes::NOT_DELIVERED, msg)),
            )
        }
    }
}

/// Why a job's bundle cannot be turned into a request body.
#[derive(Debug)]
pub enum BodyError {
    /// The bundle file cannot be read.
    Read(std::io::Error),
    /// The bundle file is not JSON.
    Json(serde_json::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Read(e) => write!(f, "{e}"),
            BodyError::Json(e) => write!(f, "not JSON: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The request body of a job: its transaction bundle (compact JSON) for the
/// server at `base`.
pub fn body(job: &Job, base: &str) -> Result<Vec<u8>, BodyError> {
    let bundle = match &job.bundle {
        Some(path) => std::fs::read(path)
            .map_err(BodyError::Read)
            .and_then(|b| serde_json::from_slice(&b).map_err(BodyError::Json))?,
        None => Value::Null,
    };
    serde_json::to_vec(&transaction::transaction(&bundle, base, &job.delete))
        .map_err(BodyError::Json)
}

/// `severity/code` of each issue (no text), and the issues' texts joined.
fn issue_summary(outcome: &Value) -> (String, String) {
    let issues: Vec<&Value> = outcome
        .get("issue")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let codes: Vec<String> = issues
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i.get("severity").and_then(Value::as_str).unwrap_or("?"),
                i.get("code").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect();
    let texts: Vec<&str> = issues
        .iter()
        .filter_map(|i| {
            i.get("diagnostics")
                .and_then(Value::as_str)
                .or_else(|| i.pointer("/details/text").and_then(Value::as_str))
        })
        .collect();
    (codes.join(", "), texts.join(" | "))
}

#[cfg(test)]
mod tests;
