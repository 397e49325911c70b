//! Running the pipeline: patients on N workers, results to a sink in patient
//! order through a **bounded** reorder buffer, then the plan, the sinks' end and
//! the ledger's commit.
//!
//! Workers take the next patient index from a shared counter, convert the
//! patient ([`Converter::patient`]) and prepare every sink's part
//! ([`Sink::prepare`]); the typed result is dropped there, so the buffer holds
//! only prepared parts. The worker that completes the patient the sink waits for
//! hands it on ([`Sink::accept`]), and any queued behind it, under one lock: no
//! thread sleeps and wakes per patient. A worker whose next index is
//! [`Run::window`] or more ahead of the awaited one parks until the sink catches
//! up, so at most `window` patients are ever buffered whatever the order in which
//! workers finish (the worker holding the awaited patient is never parked, so
//! the run always progresses).
//!
//! [`finish`] makes the plan from the ledger store and the run's observations
//! (the plan holds units of unseen patients), gives the sinks the plan's
//! diagnostics and the end of the run, and commits the ledger only after every
//! sink finished: a failed run changes nothing in the ledger.

use crate::convert::{Converter, PatientResult};
use crate::ledger::{LedgerError, LedgerStore, Observations, Plan};
use crate::sink::{RunEnd, Sink, SinkError};
use crate::source::Storage;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why a run stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum PipelineError {
    /// A sink failed.
    Sink(SinkError),
    /// The ledger store failed (or refused the plan).
    Ledger(LedgerError),
    /// A worker failed while holding the reorder buffer.
    Poisoned,
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Sink(e) => write!(f, "{e}"),
            PipelineError::Ledger(e) => write!(f, "{e}"),
            PipelineError::Poisoned => write!(f, "a worker failed while writing outputs"),
        }
    }
}

impl std::error::Error for PipelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PipelineError::Sink(e) => Some(e),
            PipelineError::Ledger(e) => Some(e),
            PipelineError::Poisoned => None,
        }
    }
}

impl From<SinkError> for PipelineError {
    fn from(e: SinkError) -> PipelineError {
        PipelineError::Sink(e)
    }
}

impl From<LedgerError> for PipelineError {
    fn from(e: LedgerError) -> PipelineError {
        PipelineError::Ledger(e)
    }
}

/// The phases a worker spends its time in (phase timers, for the benchmark).
#[derive(Clone, Copy, Debug)]
pub enum Phase {
    /// Reading files.
    Read,
    /// Parsing and mapping messages.
    ParseMap,
    /// Assembling units.
    Assemble,
    /// Building bundles.
    Build,
    /// Writing FHIR JSON values and bytes.
    WriteJson,
    /// Validating.
    Validate,
    /// The sinks' per-patient part (rendering, unit files).
    Prepare,
    /// Waiting for the reorder buffer's lock, or parked ahead of it.
    Blocked,
    /// Handing finished patients to the sinks, in order.
    Sink,
}

const PHASES: [&str; 9] = [
    "read",
    "parse+map",
    "assemble",
    "build",
    "fhir-json",
    "validate",
    "sinks-prepare",
    "lock-wait",
    "write-in-order",
];

/// Per-phase timers of one thread; they cost nothing when off.
pub struct Laps {
    last: Option<Instant>,
    spent: [Duration; PHASES.len()],
}

impl Laps {
    /// Timers, running when `on`.
    pub fn new(on: bool) -> Laps {
        Laps {
            last: on.then(Instant::now),
            spent: Default::default(),
        }
    }
    /// Charges the time since the previous lap to `phase`.
    pub fn lap(&mut self, phase: Phase) {
        if let Some(last) = &mut self.last {
            let now = Instant::now();
            self.spent[phase as usize] += now - *last;
            *last = now;
        }
    }
    /// `timings: <who>: busy … s (phase s, …)`.
    pub fn line(&self, who: &str) -> String {
        let busy: f64 = self
            .spent
            .iter()
            .zip(PHASES)
            .filter(|(_, p)| *p != "lock-wait")
            .map(|(d, _)| d.as_secs_f64())
            .sum();
        let parts: Vec<String> = self
            .spent
            .iter()
            .zip(PHASES)
            .filter(|(d, _)| !d.is_zero())
            .map(|(d, p)| format!("{p} {:.2}", d.as_secs_f64()))
            .collect();
        format!("timings: {who}: busy {busy:.2} s ({})", parts.join(", "))
    }
}

/// What the patients of a run gave, besides the sinks' outputs.
#[derive(Debug, Default)]
pub struct Converted {
    /// For the plan.
    pub observations: Observations,
    /// The number of patients converted.
    pub patients: usize,
    /// The most patients the reorder buffer held at once.
    pub peak_buffered: usize,
    /// One timing line per worker (empty unless timers were on).
    pub timings: Vec<String>,
}

/// One run over a storage.
pub struct Run<'a> {
    /// The per-patient conversion.
    pub converter: &'a Converter<'a>,
    /// The patients.
    pub storage: &'a Storage,
    /// Worker threads (at least 1; never more than patients).
    pub threads: usize,
    /// The most patients the reorder buffer may hold (at least 1).
    pub window: usize,
    /// Phase timers on.
    pub timings: bool,
}

/// Patients done but not yet handed on, and the next one the sink wants.
struct Order<'s, S: Sink> {
    pending: BTreeMap<usize, (S::Prepared, crate::convert::PatientObservations)>,
    want: usize,
    sink: &'s mut S,
    observations: Observations,
    peak: usize,
    failed: Option<SinkError>,
}

impl Run<'_> {
    /// The default window: four patients per worker.
    pub fn default_window(threads: usize) -> usize {
        4 * threads.max(1)
    }

    /// Converts every patient and hands the results to `sink` in patient order;
    /// `progress` is called once per patient handed on.
    pub fn patients<S: Sink>(
        &self,
        sink: &mut S,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Converted, PipelineError> {
        let jobs = self.storage.patients();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let threads = self.threads.clamp(1, jobs.len().max(1));
        let window = self.window.max(1);
        let worker_part = sink.worker();
        let order = Mutex::new(Order::<S> {
            pending: BTreeMap::new(),
            want: 0,
            sink,
            observations: Observations::default(),
            peak: 0,
            failed: None,
        });
        let moved = Condvar::new();
        let lines = std::thread::scope(|scope| {
            let mut workers = Vec::new();
            for _ in 0..threads {
                let (next, stop, order, moved, worker_part) =
                    (&next, &stop, &order, &moved, &worker_part);
                workers.push(scope.spawn(move || {
                    // A worker that panics wakes the parked ones and stops the run
                    // (the scope re-raises its panic).
                    let _wake = WakeOnPanic { stop, moved, order };
                    let validator = self.converter.settings.validator();
                    let mut laps = Laps::new(self.timings);
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        // Park while too far ahead of the patient the sink awaits.
                        {
                            let Ok(mut o) = order.lock() else { break };
                            while i >= o.want + window && !stop.load(Ordering::Relaxed) {
                                o = match moved.wait(o) {
                                    Ok(o) => o,
                                    Err(_) => return laps,
                                };
                            }
                        }
                        laps.lap(Phase::Blocked);
                        let mut result: PatientResult =
                            self.converter
                                .patient(self.storage, job, &validator, &mut laps);
                        result.index = i;
                        let prepared = S::prepare(worker_part, &result);
                        let observations = std::mem::take(&mut result.observations);
                        drop(result);
                        laps.lap(Phase::Prepare);
                        // A worker that panicked while holding the lock left the
                        // order half done: stop (the scope re-raises its panic).
                        let Ok(mut o) = order.lock() else { break };
                        laps.lap(Phase::Blocked);
                        let o = &mut *o;
                        match prepared {
                            Ok(p) => {
                                o.pending.insert(i, (p, observations));
                                o.peak = o.peak.max(o.pending.len());
                            }
                            Err(e) => {
                                o.failed.get_or_insert(e);
                                stop.store(true, Ordering::Relaxed);
                                moved.notify_all();
                                break;
                            }
                        }
                        let before = o.want;
                        while let Some((p, obs)) = o.pending.remove(&o.want) {
                            o.want += 1;
                            o.observations.units.extend(obs.observed);
                            o.observations.members_seen.extend(obs.member_seen);
                            o.observations.learnt.extend(obs.learnt);
                            progress();
                            if let Err(e) = o.sink.accept(p) {
                                o.failed.get_or_insert(e);
                                stop.store(true, Ordering::Relaxed);
                                break;
                            }
                        }
                        if o.want != before || stop.load(Ordering::Relaxed) {
                            moved.notify_all();
                        }
                        laps.lap(Phase::Sink);
                    }
                    laps
                }));
            }
            let mut lines = Vec::new();
            for (n, w) in workers.into_iter().enumerate() {
                // A worker's panic is the scope's panic, as if it were not joined here.
                let laps = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                if laps.last.is_some() {
                    lines.push(laps.line(&format!("worker {}", n + 1)));
                }
            }
            lines
        });
        let o = order.into_inner().map_err(|_| PipelineError::Poisoned)?;
        if let Some(e) = o.failed {
            return Err(e.into());
        }
        Ok(Converted {
            observations: o.observations,
            patients: jobs.len(),
            peak_buffered: o.peak,
            timings: lines,
        })
    }
}

/// Stops the run and wakes parked workers when a worker unwinds.
struct WakeOnPanic<'a, T> {
    stop: &'a AtomicBool,
    moved: &'a Condvar,
    order: &'a Mutex<T>,
}

impl<T> Drop for WakeOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Under the lock, so no worker checks `stop` and then misses the wake-up.
            let _held = self.order.lock().unwrap_or_else(|p| p.into_inner());
            self.stop.store(true, Ordering::Relaxed);
            self.moved.notify_all();
        }
    }
}

/// Ends a run: plans it against `store` (the hold rule included), hands the
/// plan's diagnostics and the end of the run to `sink`, and only then commits
/// the plan to the store under `run_label`. Returns the plan.
pub fn finish<S: Sink>(
    store: &mut dyn LedgerStore,
    as_of_year: u16,
    packages: &str,
    converted: Converted,
    sink: &mut S,
    run_label: &str,
) -> Result<Plan, PipelineError> {
    let plan = Plan::new(&*store, as_of_year, packages, converted.observations)?;
    sink.diagnostics(&plan.diagnostics)?;
    sink.finish(&RunEnd {
        plan: &plan,
        patients: converted.patients,
    })?;
    // Only after every output is written does the ledger remember the run.
    store.commit(&plan, run_label)?;
    Ok(plan)
}
