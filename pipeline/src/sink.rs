//! Sinks: where a run's results go. A [`Sink`] receives each patient's typed
//! results ([`PatientResult`]) in two steps:
//!
//! 1. [`Sink::prepare`], on the worker that converted the patient, concurrently
//!    and in any order: render bytes, write files under names of the patient's
//!    own (unit files), count. It sees only the sink's [`Sink::Worker`] part
//!    (settings shared by all workers), never the sink itself.
//! 2. [`Sink::accept`], in patient order, one patient at a time: append what
//!    `prepare` made to the run-wide outputs. Output bytes therefore do not depend
//!    on the number of workers.
//!
//! Run-level diagnostics (tables, the walk, receipts, the plan) reach
//! [`Sink::diagnostics`] in the order the run gives them; [`Sink::finish`] comes
//! once, after every patient and the plan, before the ledger commits (so a sink
//! that fails in `finish` leaves the ledger as it was).
//!
//! Tuples of sinks are sinks (each part gets everything, in tuple order), so a
//! front end composes today's outputs ([`crate::outputs`]) with its own.

use crate::convert::PatientResult;
use crate::ledger::Plan;
use diagnostics::Diagnostics;
use std::fmt;
use std::path::PathBuf;

/// Why a sink could not take a result.
#[derive(Debug)]
#[non_exhaustive]
pub enum SinkError {
    /// A file or folder could not be created, written or removed.
    Io {
        /// What could not be done (`write`, `create`, `create folder`, `remove`).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another failure of a sink (a destination of its own).
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl SinkError {
    /// Writing to the file `path` failed.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SinkError {
        SinkError::io_op("write", path, source)
    }

    /// Creating the file `path` failed.
    pub fn create(path: impl Into<PathBuf>, source: std::io::Error) -> SinkError {
        SinkError::io_op("create", path, source)
    }

    /// Creating the folder `path` (and its parents) failed.
    pub fn create_dir(path: impl Into<PathBuf>, source: std::io::Error) -> SinkError {
        SinkError::io_op("create folder", path, source)
    }

    /// Removing the file or folder `path` failed.
    pub fn remove(path: impl Into<PathBuf>, source: std::io::Error) -> SinkError {
        SinkError::io_op("remove", path, source)
    }

    /// The I/O operation `op` (`write`, `read` …) on `path` failed.
    pub fn io_op(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> SinkError {
        SinkError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            SinkError::Other(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SinkError::Io { source, .. } => Some(source),
            SinkError::Other(e) => Some(&**e),
        }
    }
}

/// What a sink learns at the end of a run.
pub struct RunEnd<'a> {
    /// The plan (what to send), not yet committed.
    pub plan: &'a Plan,
    /// The number of patients the run converted.
    pub patients: usize,
}

/// A destination of a run's results. See the module documentation.
pub trait Sink: Send {
    /// The part of the sink every worker shares in [`Sink::prepare`] (settings
    /// such as an output folder).
    type Worker: Sync;
    /// What [`Sink::prepare`] hands to [`Sink::accept`] (bytes, counts): the
    /// reorder buffer holds it, so it should be small.
    type Prepared: Send;
    /// The shared worker part (made once per run).
    fn worker(&self) -> Self::Worker;
    /// On a worker, in any order: whatever can be done per patient.
    fn prepare(worker: &Self::Worker, patient: &PatientResult)
    -> Result<Self::Prepared, SinkError>;
    /// In patient order.
    fn accept(&mut self, prepared: Self::Prepared) -> Result<(), SinkError>;
    /// Run-level diagnostics, in run order (default: ignored).
    fn diagnostics(&mut self, _d: &Diagnostics) -> Result<(), SinkError> {
        Ok(())
    }
    /// After every patient and the plan, before the ledger commits (default: nothing).
    fn finish(&mut self, _end: &RunEnd<'_>) -> Result<(), SinkError> {
        Ok(())
    }
}

macro_rules! tuple_sink {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Sink),+> Sink for ($($t,)+) {
            type Worker = ($($t::Worker,)+);
            type Prepared = ($($t::Prepared,)+);
            fn worker(&self) -> Self::Worker {
                ($(self.$i.worker(),)+)
            }
            fn prepare(
                worker: &Self::Worker,
                patient: &PatientResult,
            ) -> Result<Self::Prepared, SinkError> {
                Ok(($($t::prepare(&worker.$i, patient)?,)+))
            }
            fn accept(&mut self, prepared: Self::Prepared) -> Result<(), SinkError> {
                $(self.$i.accept(prepared.$i)?;)+
                Ok(())
            }
            fn diagnostics(&mut self, d: &Diagnostics) -> Result<(), SinkError> {
                $(self.$i.diagnostics(d)?;)+
                Ok(())
            }
            fn finish(&mut self, end: &RunEnd<'_>) -> Result<(), SinkError> {
                $(self.$i.finish(end)?;)+
                Ok(())
            }
        }
    };
}

tuple_sink!(A 0, B 1);
tuple_sink!(A 0, B 1, C 2);
tuple_sink!(A 0, B 1, C 2, D 3);
tuple_sink!(A 0, B 1, C 2, D 3, E 4);
tuple_sink!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_sink!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_sink!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
