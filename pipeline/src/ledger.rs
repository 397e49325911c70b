//! The submission ledger of `kakehashi convert`: what was submitted to the
//! 電子カルテ情報共有サービス, so a re-run emits only what changed, and the **plan**
//! that says what to send.
//!
//! # What the ledger holds
//!
//! One SQLite file (rusqlite, SQLite compiled in; rollback journal, no WAL, so the
//! ledger is exactly one file when no run is writing it) per site:
//!
//! - `meta`: the site's 医療機関番号. A ledger serves one institution: opening it
//!   with another number is an error naming both ([`LedgerError::OtherInstitution`],
//!   `C103`), because a unit id means nothing outside its hospital.
//! - `unit`: per submission unit (`UnitKey::id()`, e.g. `C-9999013`): its resource
//!   type, the **year of its first submission** (the identifier
//!   `機関番号^year^id` keeps it for life, across deletions), the content hash of
//!   the last bundle sent, the 被保険者個人識別子 it was sent under, its state
//!   (`live` | `deleted`) and the runs that first saw it, last saw it and last
//!   changed it.
//! - `run`: one row per committed run: its label (the caller's as-of time; the
//!   ledger never reads the wall clock) and the counts of its plan.
//! - `branch` (schema 2): per patient (local id), the 被保険者個人識別子 whose 枝番 a
//!   linked receipt supplied, and the run that learnt it: a later run without
//!   receipts completes the identifier with it again (`M410`) instead of
//!   re-creating the patient's units under a shorter one. A schema-1 ledger gains
//!   the table when it is first opened (nothing else changes).
//! - `unit.packages` (schema 3): the FHIR packages (`name#version, …`, the pinned
//!   set) the unit's last bundle was validated under. When a site moves its pins
//!   (JP-CLINS 1.5.2 → 1.10.0), every live unit recorded under other packages is
//!   planned as a [`Action::Replace`] even when its bytes did not change, and the
//!   plan says why, so nothing validated under the old version stays submitted.
//!   A ledger of schema 1 or 2 gets, for every unit, the set all releases before
//!   schema 3 validated under (JP-CLINS 1.5.2 with JP Core 1.1.2-url). A unit
//!   with no packages recorded (`''`: a run that did not say) is not replaced for
//!   that reason.
//! - `delivery` (schema 4): per FHIR server (base URL) and unit, what `kakehashi
//!   push` sent there and what the server answered ([`delivery`]): in flight,
//!   delivered (the resources, per-entry `Location` / ETag, time), refused (the
//!   OperationOutcome) or deleted. A ledger of schema 1–3 gains the empty table
//!   when it is first opened.
//!
//! **The ledger holds PHI**: the 被保険者個人識別子 (insurer number, symbol, number,
//! branch) of every patient ever submitted. Keep it like the source data (same
//! access control, backup and disposal); never attach it to a bug report. The plan
//! file ([`write_plan`]) holds them too. Diagnostics and errors of this module never
//! contain a member id.
//!
//! # The plan
//!
//! [`Ledger::plan`] compares this run's units ([`Observed`]) with the ledger,
//! without writing:
//!
//! | ledger | this run | action |
//! | --- | --- | --- |
//! | unknown | bundle | [`Action::Create`] with the as-of year |
//! | deleted | bundle | [`Action::Create`] with the **old** year (identifier kept) |
//! | live, same hash | bundle | [`Action::Unchanged`] |
//! | live, other hash | bundle | [`Action::Replace`]: the whole unit, same identifier |
//! | live, same hash, other packages | bundle | [`Action::Replace`], reason: the package set changed |
//! | live, other member id | bundle | [`Action::Delete`] under the old member id, then [`Action::Create`] under the new, same identifier (`C109`): CLINS keys a bundle by member id + identifier |
//! | live | absent | [`Action::Delete`]: a command naming member id + identifier, not a bundle |
//! | any | no valid bundle (quarantined) | [`Action::Held`]: the ledger entry stays as it is, nothing is sent |
//! | deleted | absent | nothing |
//!
//! [`Plan::new`] makes the plan of a run from a [`LedgerStore`] (SQLite,
//! [`Ledger`], is the default store) and what the run observed
//! ([`Observations`]): its units (a unit whose bundle was quarantined is
//! [`Observed`] with no hash: held, not deleted) and the member ids of the
//! patients it produced. Absence means deletion only for those patients (a `_0`
//! file, a unit that became empty) and for the old member id of a unit re-created
//! under a new one: a live unit of a patient the run did not see at all (a run
//! over part of the storage), or saw but withheld whole, is [`Action::Held`] with
//! a `C002` warning, so a partial run is safe. [`Ledger::plan`] alone treats its
//! input as the whole storage.
//!
//! Items are sorted by unit id (a delete before the create of the same unit), so
//! the plan is a function of the ledger and the observed units only.
//! [`Ledger::commit`] records a plan once its outputs are written, in one
//! transaction, and refuses a plan that does not match the ledger (`C108`).
//!
//! A ledger is opened in SQLite's exclusive locking mode: a second run on the same
//! file fails at once (`C104`) instead of interleaving plans.

pub mod codes;
pub mod delivery;

pub use delivery::{Delivery, DeliveryState};

use diagnostics::{Diagnostic, Diagnostics, Location};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The schema version this release reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 4;

/// `PRAGMA application_id` of a kakehashi ledger ("KKHL"): tells our file from
/// another program's SQLite database.
const APPLICATION_ID: i64 = 0x4B4B_484C;

/// Years a bundle identifier may carry (R2152: `20[2-3][0-9]`).
const YEARS: std::ops::RangeInclusive<u16> = 2020..=2039;

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE run (
    number    INTEGER PRIMARY KEY NOT NULL,
    label     TEXT NOT NULL,
    created   INTEGER NOT NULL,
    replaced  INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    deleted   INTEGER NOT NULL,
    held      INTEGER NOT NULL
) STRICT;
CREATE TABLE unit (
    unit_id       TEXT PRIMARY KEY NOT NULL,
    resource_type TEXT NOT NULL,
    year          INTEGER NOT NULL,
    member_id     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('live', 'deleted')),
    first_run     INTEGER NOT NULL REFERENCES run(number),
    last_run      INTEGER NOT NULL REFERENCES run(number),
    changed_run   INTEGER NOT NULL REFERENCES run(number)
) STRICT;
";

/// Schema 2: the 枝番 learnt from receipts, per patient.
const SCHEMA_2: &str = "
CREATE TABLE branch (
    patient    TEXT PRIMARY KEY NOT NULL,
    member_id  TEXT NOT NULL,
    learnt_run INTEGER NOT NULL REFERENCES run(number)
) STRICT;
";

/// Schema 3: per unit, the FHIR packages its last bundle was validated under.
const SCHEMA_3: &str = "ALTER TABLE unit ADD COLUMN packages TEXT NOT NULL DEFAULT '';";

/// Schema 4: per FHIR server and unit, what was delivered there (`kakehashi push`).
const SCHEMA_4: &str = "
CREATE TABLE IF NOT EXISTS delivery (
    server       TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'delivered', 'refused', 'deleted')),
    hash         TEXT NOT NULL,
    resources    TEXT NOT NULL,
    status       INTEGER,
    acknowledged TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT '',
    time         TEXT NOT NULL,
    PRIMARY KEY (server, unit_id)
) STRICT;
";

/// The packages every release before schema 3 validated under (their only set,
/// JP-CLINS 1.5.2 with JP Core 1.1.2-url): what a migrated ledger's units were
/// submitted under, so a site moving its pins replans them too.
const PRE_SCHEMA_3_PACKAGES: &str =
    "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-url, jp-eCSCLINS.r4#1.5.2";

/// One submission unit as the current run sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `UnitKey::id()`, e.g. `C-9999013`, `L-9999013-000000011000354`: the unit's
    /// stable identity.
    pub unit_id: String,
    /// `Condition` | `AllergyIntolerance` | `Observation` (the bundle's tag).
    pub resource_type: String,
    /// 被保険者個人識別子 the bundle names (PHI: stored in the ledger and printed in
    /// the plan file only).
    pub member_id: String,
    /// Hex digest of the bundle bytes built with the unit's ledger year
    /// ([`Ledger::year_of`], else the as-of year); `None` when this run has no
    /// valid bundle for the unit (quarantined): the unit is held, not deleted.
    pub hash: Option<String>,
}

/// What the plan does with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// A command deleting the bundle sent under (member id, identifier).
    /// Sorted first, so a delete precedes the create of the same unit.
    Delete,
    /// Send the bundle: new unit, or a deleted one back (with its old year).
    Create,
    /// Send the whole unit again under the same identifier.
    Replace,
    /// Already sent as it is: nothing to send.
    Unchanged,
    /// No valid bundle this run: nothing is sent and the ledger entry is kept.
    Held,
}

impl Action {
    /// Lower-case name used in the plan file and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Unchanged => "unchanged",
            Action::Held => "held",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanItem {
    /// What to do.
    pub action: Action,
    /// The unit id.
    pub unit_id: String,
    /// The bundle identifier `機関番号^year^unit_id`.
    pub identifier: String,
    /// The year in the identifier (the unit's first submission, else the as-of year).
    pub year: u16,
    /// 被保険者個人識別子 (PHI): for a delete, the one the bundle was sent under;
    /// otherwise the one of this run's bundle.
    pub member_id: String,
    /// The unit's resource type.
    pub resource_type: String,
    /// Set on the delete + create pair of a unit whose member id changed (`C109`).
    pub member_changed: bool,
    /// Why a unit is replaced: `None` when its content changed; the package
    /// change (`jp-eCSCLINS.r4 1.5.2 → 1.10.0`) when it was validated under other
    /// packages before.
    pub reason: Option<String>,
}

/// Why the ledger could not do what was asked. Messages never contain a member id.
#[derive(Debug)]
pub enum LedgerError {
    /// I/O or SQLite failure (`C100`).
    Sqlite(String),
    /// Corrupt file, not a database, or another program's database (`C101`).
    Corrupt(String),
    /// Written by a release with another schema (`C102`).
    SchemaVersion {
        /// The file's `user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`].
        expected: i64,
    },
    /// The ledger belongs to another institution (`C103`).
    OtherInstitution {
        /// The number stored in the ledger.
        ledger: String,
        /// The number this run was configured with.
        requested: String,
    },
    /// Another run holds the ledger (`C104`).
    Locked,
    /// Two observed units share a unit id (`C105`).
    DuplicateUnit(String),
    /// A unit id recorded with another resource type (`C106`).
    TypeChanged {
        /// The unit id.
        unit_id: String,
        /// Type in the ledger.
        ledger: String,
        /// Type this run.
        observed: String,
    },
    /// The as-of year cannot start an identifier (`C107`).
    YearRange(u16),
    /// The plan does not match the ledger (`C108`): made from another state, or
    /// observed units missing.
    StalePlan {
        /// The first unit that does not match.
        unit_id: String,
        /// What does not match.
        why: &'static str,
    },
}

impl LedgerError {
    /// The diagnostic code of this error.
    pub fn code(&self) -> &'static diagnostics::Code {
        match self {
            LedgerError::Sqlite(_) => &codes::IO,
            LedgerError::Corrupt(_) => &codes::CORRUPT,
            LedgerError::SchemaVersion { .. } => &codes::SCHEMA_VERSION,
            LedgerError::OtherInstitution { .. } => &codes::OTHER_INSTITUTION,
            LedgerError::Locked => &codes::LOCKED,
            LedgerError::DuplicateUnit(_) => &codes::DUPLICATE_UNIT,
            LedgerError::TypeChanged { .. } => &codes::TYPE_CHANGED,
            LedgerError::YearRange(_) => &codes::YEAR_RANGE,
            LedgerError::StalePlan { .. } => &codes::STALE_PLAN,
        }
    }

    /// The error as a diagnostic located at the ledger file.
    pub fn to_diagnostic(&self, ledger_file: &str) -> Diagnostic {
        Diagnostic::new(self.code(), self.to_string()).at(Location::default().file(ledger_file))
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::Sqlite(e) => write!(f, "ledger: {e}"),
            LedgerError::Corrupt(e) => {
                write!(f, "ledger is corrupt or not a kakehashi ledger: {e}")
            }
            LedgerError::SchemaVersion { found, expected } => write!(
                f,
                "ledger schema version {found}, this release uses {expected}: \
                 use the release that wrote it, or start a new ledger (every unit is then created anew)"
            ),
            LedgerError::OtherInstitution { ledger, requested } => write!(
                f,
                "ledger belongs to institution {ledger}, this run is configured for {requested}"
            ),
            LedgerError::Locked => write!(f, "ledger is in use by another run"),
            LedgerError::DuplicateUnit(id) => write!(f, "unit {id} appears twice in this run"),
            LedgerError::TypeChanged {
                unit_id,
                ledger,
                observed,
            } => write!(
                f,
                "unit {unit_id} is recorded as {ledger}, this run has it as {observed}"
            ),
            LedgerError::YearRange(y) => write!(
                f,
                "as-of year {y} cannot start a bundle identifier (2020-2039)"
            ),
            LedgerError::StalePlan { unit_id, why } => {
                write!(f, "plan does not match the ledger at unit {unit_id}: {why}")
            }
        }
    }
}

impl std::error::Error for LedgerError {}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> LedgerError {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                LedgerError::Corrupt(e.to_string())
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Locked,
            _ => LedgerError::Sqlite(e.to_string()),
        }
    }
}

/// A unit as a ledger store has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownUnit {
    /// The unit's resource type.
    pub resource_type: String,
    /// The year of its first submission (kept for life, across deletions).
    pub year: u16,
    /// 被保険者個人識別子 of its last submission (PHI).
    pub member_id: String,
    /// Content hash of the last bundle sent.
    pub hash: String,
    /// `false` once deleted.
    pub live: bool,
    /// The packages its last bundle was validated under (`''`: not recorded).
    pub packages: String,
}

/// The submission ledger of one site. See the module documentation.
pub struct Ledger {
    conn: Connection,
    institution_number: String,
    /// The package set this run validates under (`''`: not tracked).
    packages: String,
    /// The file, for messages (`None` in memory).
    path: Option<PathBuf>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("institution_number", &self.institution_number)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the ledger file of the institution, creating it (and its schema) when
    /// the file does not exist or is empty. Checks that it is a kakehashi ledger
    /// of this schema version and institution, that SQLite finds it intact
    /// (`quick_check`), and holds it exclusively until dropped.
    pub fn open(path: &Path, institution_number: &str) -> Result<Ledger, LedgerError> {
        let conn = Connection::open(path)?;
        Ledger::init(conn, institution_number, Some(path.to_path_buf()))
    }

    /// A ledger in memory (tests, dry runs).
    pub fn in_memory(institution_number: &str) -> Result<Ledger, LedgerError> {
        let conn = Connection::open_in_memory()?;
        Ledger::init(conn, institution_number, None)
    }

    fn init(
        conn: Connection,
        institution_number: &str,
        path: Option<PathBuf>,
    ) -> Result<Ledger, LedgerError> {
        // Fail at once rather than wait when another run holds the file.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        // Hold the file for the whole run: the lock taken by the first read and
        // write below is kept until the connection closes.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") && !mode.eq_ignore_ascii_case("memory") {
            return Err(LedgerError::Sqlite(format!(
                "cannot use the rollback journal (journal mode {mode})"
            )));
        }
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")?;
        // quick_check answers one row `ok`, or rows naming the problems (the first
        // may be a `*** in database main ***` header).
        let mut intact = true;
        let mut problems: Vec<String> = Vec::new();
        conn.pragma_query(None, "quick_check", |r| {
            let line: String = r.get(0)?;
            if line != "ok" {
                intact = false;
                if !line.starts_with("***") && problems.len() < 3 {
                    problems.push(line);
                }
            }
            Ok(())
        })?;
        if !intact {
            return Err(LedgerError::Corrupt(format!(
                "integrity check failed: {}",
                problems.join("; ")
            )));
        }
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        let mut ledger = Ledger {
            conn,
            institution_number: institution_number.to_owned(),
            packages: String::new(),
            path,
        };
        if version == 0 && app == 0 && objects == 0 {
            ledger.create_schema()?;
            return Ok(ledger);
        }
        if app != APPLICATION_ID {
            return Err(LedgerError::Corrupt(
                "an SQLite database of another program".to_owned(),
            ));
        }
        if (1..SCHEMA_VERSION).contains(&version) {
            // Schema 1 → 2: one table more; 2 → 3: one column more; 3 → 4: the
            // delivery table (nothing was delivered before it).
            let tx = ledger.conn.transaction()?;
            if version == 1 {
                tx.execute_batch(SCHEMA_2)?;
            }
            let has_packages: i64 = tx.query_row(
                "SELECT count(*) FROM pragma_table_info('unit') WHERE name = 'packages'",
                [],
                |r| r.get(0),
            )?;
            if has_packages == 0 {
                tx.execute_batch(SCHEMA_3)?;
                tx.execute(
                    "UPDATE unit SET packages = ?1",
                    params![PRE_SCHEMA_3_PACKAGES],
                )?;
            }
            tx.execute_batch(SCHEMA_4)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        } else if version != SCHEMA_VERSION {
            return Err(LedgerError::SchemaVersion {
                found: version,
                expected: SCHEMA_VERSION,
            });
        }
        let stored: Option<String> = ledger
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'institution_number'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            None => Err(LedgerError::Corrupt(
                "no institution number recorded".to_owned(),
            )),
            Some(s) if s != institution_number => Err(LedgerError::OtherInstitution {
                ledger: s,
                requested: institution_number.to_owned(),
            }),
            Some(_) => Ok(ledger),
        }
    }

    fn create_schema(&mut self) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(SCHEMA_2)?;
        tx.execute_batch(SCHEMA_3)?;
        tx.execute_batch(SCHEMA_4)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('institution_number', ?1)",
            params![self.institution_number],
        )?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Per patient (local id), the member id whose 枝番 a receipt supplied in an
    /// earlier run (PHI).
    pub fn branches(&self) -> Result<BTreeMap<String, String>, LedgerError> {
        let mut st = self
            .conn
            .prepare("SELECT patient, member_id FROM branch ORDER BY patient")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (k, v): (String, String) = row?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// The package set this run validates under (`name#version, …`,
    /// `fhir::conformance::PackageSet::describe`): [`Ledger::plan`] replaces live
    /// units recorded under other packages, [`Ledger::commit`] records it.
    pub fn set_packages(&mut self, packages: &str) {
        packages.clone_into(&mut self.packages);
    }

    /// The institution number the ledger belongs to.
    pub fn institution_number(&self) -> &str {
        &self.institution_number
    }

    /// The file, if the ledger is not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The year of the unit's first submission, if it was ever submitted (also
    /// when it was deleted since: the identifier keeps its year for life).
    pub fn year_of(&self, unit_id: &str) -> Result<Option<u16>, LedgerError> {
        let year: Option<i64> = self
            .conn
            .query_row(
                "SELECT year FROM unit WHERE unit_id = ?1",
                params![unit_id],
                |r| r.get(0),
            )
            .optional()?;
        year.map(|y| year_from(y, unit_id)).transpose()
    }

    /// The first-submission year of every unit the ledger knows (live or deleted),
    /// read once before a run so workers need no database access.
    pub fn known_years(&self) -> Result<BTreeMap<String, u16>, LedgerError> {
        let mut stmt = self.conn.prepare("SELECT unit_id, year FROM unit")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (unit_id, year) = row?;
            let y = year_from(year, &unit_id)?;
            out.insert(unit_id, y);
        }
        Ok(out)
    }

    /// The number of runs committed so far.
    pub fn runs(&self) -> Result<u32, LedgerError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM run", [], |r| r.get(0))?;
        u32::try_from(n).map_err(|_| LedgerError::Corrupt("run count out of range".to_owned()))
    }

    fn rows(&self) -> Result<BTreeMap<String, KnownUnit>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT unit_id, resource_type, year, member_id, hash, state, packages FROM unit ORDER BY unit_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let unit_id: String = r.get(0)?;
            let year: i64 = r.get(2)?;
            let state: String = r.get(5)?;
            let row = KnownUnit {
                resource_type: r.get(1)?,
                year: year_from(year, &unit_id)?,
                member_id: r.get(3)?,
                hash: r.get(4)?,
                live: state == "live",
                packages: r.get(6)?,
            };
            out.insert(unit_id, row);
        }
        Ok(out)
    }

    /// Compares this run's units with the ledger (see the module documentation
    /// for the rules), `observed` being every unit of the whole storage (absence
    /// means deletion; [`Plan::new`] holds units of patients a run did not see).
    /// Does not write. Items are sorted by unit id, a delete before a create of
    /// the same unit.
    pub fn plan(
        &self,
        as_of_year: u16,
        observed: &[Observed],
    ) -> Result<Vec<PlanItem>, LedgerError> {
        plan_items(
            &self.rows()?,
            &self.institution_number,
            &self.packages,
            as_of_year,
            observed,
        )
    }

    /// Records a plan after its outputs were written, in one transaction: a new
    /// run numbered after the last, labelled `run_label` (the as-of time: the
    /// ledger reads no clock), each unit's year, hash, member id and state, and
    /// the member ids whose 枝番 receipts supplied this run (`learnt`: patient
    /// local id, member id).
    /// `observed` must be the units the plan was made from (their hashes are
    /// stored). A plan that does not match the ledger (made before another
    /// commit, or edited) is refused and nothing is written.
    pub fn commit(
        &mut self,
        plan: &[PlanItem],
        observed: &[Observed],
        learnt: &[(String, String)],
        run_label: &str,
    ) -> Result<(), LedgerError> {
        let hashes: HashMap<&str, &Observed> =
            observed.iter().map(|o| (o.unit_id.as_str(), o)).collect();
        let count = |a: Action| plan.iter().filter(|i| i.action == a).count() as i64;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO run (label, created, replaced, unchanged, deleted, held)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run_label,
                count(Action::Create),
                count(Action::Replace),
                count(Action::Unchanged),
                count(Action::Delete),
                count(Action::Held)
            ],
        )?;
        let run = tx.last_insert_rowid();
        for item in plan {
            apply(&tx, item, &hashes, run)?;
        }
        if !self.packages.is_empty() {
            for item in plan {
                if matches!(
                    item.action,
                    Action::Create | Action::Replace | Action::Unchanged
                ) {
                    tx.execute(
                        "UPDATE unit SET packages = ?2 WHERE unit_id = ?1",
                        params![item.unit_id, self.packages],
                    )?;
                }
            }
        }
        for (patient, member_id) in learnt {
            tx.execute(
                "INSERT INTO branch (patient, member_id, learnt_run) VALUES (?1, ?2, ?3)
                 ON CONFLICT (patient) DO UPDATE SET
                    member_id = excluded.member_id, learnt_run = excluded.learnt_run
                 WHERE member_id != excluded.member_id",
                params![patient, member_id, run],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn identifier(institution_number: &str, year: u16, unit_id: &str) -> String {
    format!("{institution_number}^{year:04}^{unit_id}")
}

/// The plan rules over the units a store knows (see the module documentation).
fn plan_items(
    rows: &BTreeMap<String, KnownUnit>,
    institution_number: &str,
    packages: &str,
    as_of_year: u16,
    observed: &[Observed],
) -> Result<Vec<PlanItem>, LedgerError> {
    if !YEARS.contains(&as_of_year) {
        return Err(LedgerError::YearRange(as_of_year));
    }
    let mut seen: BTreeMap<&str, &Observed> = BTreeMap::new();
    for o in observed {
        if seen.insert(o.unit_id.as_str(), o).is_some() {
            return Err(LedgerError::DuplicateUnit(o.unit_id.clone()));
        }
    }
    let mut plan = Vec::with_capacity(observed.len());
    for (&unit_id, o) in &seen {
        let row = rows.get(unit_id);
        if let Some(row) = row
            && row.resource_type != o.resource_type
        {
            return Err(LedgerError::TypeChanged {
                unit_id: unit_id.to_owned(),
                ledger: row.resource_type.clone(),
                observed: o.resource_type.clone(),
            });
        }
        let year = row.map_or(as_of_year, |r| r.year);
        let item = |action: Action, member_id: &str, member_changed: bool| PlanItem {
            action,
            unit_id: unit_id.to_owned(),
            identifier: identifier(institution_number, year, unit_id),
            year,
            member_id: member_id.to_owned(),
            resource_type: o.resource_type.clone(),
            member_changed,
            reason: None,
        };
        let Some(hash) = &o.hash else {
            plan.push(item(Action::Held, &o.member_id, false));
            continue;
        };
        match row {
            None => plan.push(item(Action::Create, &o.member_id, false)),
            Some(r) if !r.live => plan.push(item(Action::Create, &o.member_id, false)),
            Some(r) if r.member_id != o.member_id => {
                plan.push(item(Action::Delete, &r.member_id, true));
                plan.push(item(Action::Create, &o.member_id, true));
            }
            Some(r) if &r.hash != hash => plan.push(item(Action::Replace, &o.member_id, false)),
            Some(r) if !r.packages.is_empty() && !packages.is_empty() && r.packages != packages => {
                let mut i = item(Action::Replace, &o.member_id, false);
                i.reason = Some(package_change(&r.packages, packages));
                plan.push(i);
            }
            Some(_) => plan.push(item(Action::Unchanged, &o.member_id, false)),
        }
    }
    for (unit_id, r) in rows {
        if r.live && !seen.contains_key(unit_id.as_str()) {
            plan.push(PlanItem {
                action: Action::Delete,
                unit_id: unit_id.clone(),
                identifier: identifier(institution_number, r.year, unit_id),
                year: r.year,
                member_id: r.member_id.clone(),
                resource_type: r.resource_type.clone(),
                member_changed: false,
                reason: None,
            });
        }
    }
    plan.sort_by(|a, b| (&a.unit_id, a.action).cmp(&(&b.unit_id, b.action)));
    Ok(plan)
}

/// What changed between two package sets (`name#version, …`): `jp-eCSCLINS.r4
/// 1.5.2 → 1.10.0; jp-core.r4 1.1.2-url → 1.1.2-clins`, packages added as
/// `+name#version`, dropped as `-name#version`.
pub fn package_change(old: &str, new: &str) -> String {
    let parse = |s: &str| -> BTreeMap<String, String> {
        s.split(", ")
            .filter_map(|p| p.split_once('#'))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    };
    let (a, b) = (parse(old), parse(new));
    let mut parts = Vec::new();
    for (name, v) in &b {
        match a.get(name) {
            Some(old_v) if old_v != v => parts.push(format!("{name} {old_v} → {v}")),
            None => parts.push(format!("+{name}#{v}")),
            _ => {}
        }
    }
    for (name, v) in &a {
        if !b.contains_key(name) {
            parts.push(format!("-{name}#{v}"));
        }
    }
    format!(
        "validated under other packages before: {}",
        parts.join("; ")
    )
}

fn year_from(y: i64, unit_id: &str) -> Result<u16, LedgerError> {
    u16::try_from(y)
        .ok()
        .filter(|y| YEARS.contains(y))
        .ok_or_else(|| LedgerError::Corrupt(format!("unit {unit_id} has year {y}")))
}

/// Applies one plan item inside the commit's transaction.
fn apply(
    tx: &Transaction<'_>,
    item: &PlanItem,
    observed: &HashMap<&str, &Observed>,
    run: i64,
) -> Result<(), LedgerError> {
    let stale = |why: &'static str| LedgerError::StalePlan {
        unit_id: item.unit_id.clone(),
        why,
    };
    let current: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT state, year, hash FROM unit WHERE unit_id = ?1",
            params![item.unit_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let live = current.as_ref().is_some_and(|(s, _, _)| s == "live");
    if let Some((_, year, _)) = &current
        && *year != i64::from(item.year)
    {
        return Err(stale("the identifier's year differs from the ledger's"));
    }
    if item.action == Action::Held {
        return Ok(());
    }
    if item.action == Action::Delete {
        if !live {
            return Err(stale("delete of a unit that is not live"));
        }
        tx.execute(
            "UPDATE unit SET state = 'deleted', last_run = ?2, changed_run = ?2 WHERE unit_id = ?1",
            params![item.unit_id, run],
        )?;
        return Ok(());
    }
    let hash = observed
        .get(item.unit_id.as_str())
        .and_then(|o| o.hash.as_deref())
        .ok_or_else(|| stale("no observed bundle for the unit"))?;
    match item.action {
        Action::Create => {
            if live {
                return Err(stale("create of a unit that is live"));
            }
            tx.execute(
                "INSERT INTO unit (unit_id, resource_type, year, member_id, hash, state,
                                   first_run, last_run, changed_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'live', ?6, ?6, ?6)
                 ON CONFLICT (unit_id) DO UPDATE SET
                    member_id = excluded.member_id, hash = excluded.hash, state = 'live',
                    last_run = excluded.last_run, changed_run = excluded.changed_run",
                params![
                    item.unit_id,
                    item.resource_type,
                    item.year,
                    item.member_id,
                    hash,
                    run
                ],
            )?;
        }
        Action::Replace => {
            if !live {
                return Err(stale("replace of a unit that is not live"));
            }
            tx.execute(
                "UPDATE unit SET member_id = ?2, hash = ?3, last_run = ?4, changed_run = ?4
                 WHERE unit_id = ?1",
                params![item.unit_id, item.member_id, hash, run],
            )?;
        }
        Action::Unchanged => {
            if !live || current.as_ref().is_some_and(|(_, _, h)| h != hash) {
                return Err(stale("unchanged unit whose hash differs from the ledger's"));
            }
            tx.execute(
                "UPDATE unit SET last_run = ?2 WHERE unit_id = ?1",
                params![item.unit_id, run],
            )?;
        }
        Action::Delete | Action::Held => {}
    }
    Ok(())
}

/// Warnings about the plan (no PHI): one `C109` per unit whose member id changed.
pub fn plan_diagnostics(plan: &[PlanItem]) -> Vec<Diagnostic> {
    plan.iter()
        .filter(|i| i.member_changed && i.action == Action::Create)
        .map(|i| {
            Diagnostic::new(
                &codes::MEMBER_CHANGED,
                format!(
                    "unit {}: the insured-person id differs from the one it was submitted under; \
                     the plan deletes {} under the old id and creates it under the new",
                    i.unit_id, i.identifier
                ),
            )
        })
        .collect()
}

/// The plan file: JSON Lines, one item per line with keys in sorted order
/// (`action`, `identifier`, `member_changed` when set, `member_id`, `reason`
/// when a replace is due to a package change, `resource_type`, `unit_id`), in plan order (by unit id). Every observed unit
/// is listed, unchanged and held ones too. Holds PHI (member ids).
pub fn write_plan(plan: &[PlanItem]) -> String {
    let mut items: Vec<&PlanItem> = plan.iter().collect();
    items.sort_by(|a, b| (&a.unit_id, a.action).cmp(&(&b.unit_id, b.action)));
    let mut out = String::new();
    for i in items {
        out.push_str(&format!(
            "{{\"action\":{},\"identifier\":{},{}\"member_id\":{},{}\"resource_type\":{},\"unit_id\":{}}}\n",
            json_str(i.action.as_str()),
            json_str(&i.identifier),
            if i.member_changed {
                "\"member_changed\":true,"
            } else {
                ""
            },
            json_str(&i.member_id),
            match &i.reason {
                Some(r) => format!("\"reason\":{},", json_str(r)),
                None => String::new(),
            },
            json_str(&i.resource_type),
            json_str(&i.unit_id),
        ));
    }
    out
}

fn json_str(s: &str) -> String {
    // Serialising a plain string cannot fail; fall back to an empty string rather
    // than panic if it ever did.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// One line for people: `create 3, replace 1, unchanged 10, delete 2, held 0`
/// (counts of plan items).
pub fn summary(plan: &[PlanItem]) -> String {
    let n = |a: Action| plan.iter().filter(|i| i.action == a).count();
    format!(
        "create {}, replace {}, unchanged {}, delete {}, held {}",
        n(Action::Create),
        n(Action::Replace),
        n(Action::Unchanged),
        n(Action::Delete),
        n(Action::Held)
    )
}

/// Where the ledger lives: what a plan is made from and committed to, and what
/// was delivered to which FHIR server. SQLite ([`Ledger`]) is the default;
/// another store (a server's database, a file per run) implements these calls
/// with the same meaning.
pub trait LedgerStore {
    /// The 医療機関番号 the store belongs to (every identifier starts with it).
    fn institution_number(&self) -> &str;
    /// Every unit the store knows, live or deleted, by unit id.
    fn units(&self) -> Result<BTreeMap<String, KnownUnit>, LedgerError>;
    /// Per patient (local id), the member id whose 枝番 a receipt supplied in an
    /// earlier run (PHI).
    fn branches(&self) -> Result<BTreeMap<String, String>, LedgerError>;
    /// Records a plan once every output of its run is written: all or nothing.
    /// A plan that does not match the store (made before another commit) is
    /// refused and nothing is written (`C108`).
    fn commit(&mut self, plan: &Plan, run_label: &str) -> Result<(), LedgerError>;
    /// Every delivery to `server` (its base URL) the store recorded, by unit id
    /// ([`delivery`]).
    fn deliveries(&self, server: &str) -> Result<BTreeMap<String, Delivery>, LedgerError>;
    /// Records the delivery of a unit to `server`, durably (on disk when it
    /// returns): the delivery sink writes `in_flight` before it sends and the
    /// server's answer after.
    fn record_delivery(
        &mut self,
        server: &str,
        unit_id: &str,
        delivery: &Delivery,
    ) -> Result<(), LedgerError>;
    /// The first-submission year of every unit the store knows (live or
    /// deleted): the workers build identifiers with it.
    fn known_years(&self) -> Result<BTreeMap<String, u16>, LedgerError> {
        Ok(self
            .units()?
            .into_iter()
            .map(|(id, u)| (id, u.year))
            .collect())
    }
}

impl LedgerStore for Ledger {
    fn institution_number(&self) -> &str {
        &self.institution_number
    }
    fn units(&self) -> Result<BTreeMap<String, KnownUnit>, LedgerError> {
        self.rows()
    }
    fn branches(&self) -> Result<BTreeMap<String, String>, LedgerError> {
        Ledger::branches(self)
    }
    fn known_years(&self) -> Result<BTreeMap<String, u16>, LedgerError> {
        Ledger::known_years(self)
    }
    fn deliveries(&self, server: &str) -> Result<BTreeMap<String, Delivery>, LedgerError> {
        Ledger::deliveries(self, server)
    }
    fn record_delivery(
        &mut self,
        server: &str,
        unit_id: &str,
        delivery: &Delivery,
    ) -> Result<(), LedgerError> {
        Ledger::record_delivery(self, server, unit_id, delivery)
    }
    fn commit(&mut self, plan: &Plan, run_label: &str) -> Result<(), LedgerError> {
        self.set_packages(&plan.packages);
        Ledger::commit(self, &plan.items, &plan.observed, &plan.learnt, run_label)
    }
}

/// What a run observed, for its plan: gathered from the patients' results.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    /// Every unit the run built a bundle for (quarantined ones without a hash).
    pub units: Vec<Observed>,
    /// The member ids of the patients the run produced (not withheld whole).
    pub members_seen: BTreeSet<String>,
    /// (patient local id, member id) whose 枝番 a receipt supplied this run.
    pub learnt: Vec<(String, String)>,
}

/// The plan of a run: what to send, with what the store will record on commit.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The items, sorted by unit id (a delete before the create of the same unit).
    pub items: Vec<PlanItem>,
    /// The units the plan was made from (their hashes are recorded on commit).
    pub observed: Vec<Observed>,
    /// The 枝番 learnt this run.
    pub learnt: Vec<(String, String)>,
    /// The package set the run validated under (`''`: not tracked).
    pub packages: String,
    /// Warnings about the plan: `C002` per held unit of an unseen patient, then
    /// `C109` per unit whose member id changed (no PHI).
    pub diagnostics: Diagnostics,
}

impl Plan {
    /// Plans a run against `store` (see the module documentation): the table's
    /// rules, then the hold rule for patients the run did not see.
    pub fn new(
        store: &dyn LedgerStore,
        as_of_year: u16,
        packages: &str,
        run: Observations,
    ) -> Result<Plan, LedgerError> {
        let mut items = plan_items(
            &store.units()?,
            store.institution_number(),
            packages,
            as_of_year,
            &run.units,
        )?;
        // When in doubt, withhold: a live unit of a patient this run did not see
        // at all, or saw but withheld whole (conflicting 枝番 sources, no valid
        // insurance), is held, not deleted. Deletions stand for patients the run
        // saw (a `_0` file, a unit that became empty) and for the old member id
        // of a unit re-created under a new one.
        let recreated: BTreeSet<String> = items
            .iter()
            .filter(|i| i.action == Action::Create)
            .map(|i| i.unit_id.clone())
            .collect();
        let mut diagnostics = Diagnostics::default();
        for item in &mut items {
            if item.action == Action::Delete
                && !run.members_seen.contains(&item.member_id)
                && !recreated.contains(&item.unit_id)
            {
                item.action = Action::Held;
                diagnostics.push(Diagnostic::new(
                    &crate::codes::UNSEEN_NOT_DELETED,
                    format!(
                        "unit {} is live in the ledger but nothing of its patient's member id came \
                         out of this run (the patient is not in the input, or was withheld); held, \
                         not deleted: a run that sees the patient decides",
                        item.unit_id
                    ),
                ));
            }
        }
        diagnostics.extend(plan_diagnostics(&items));
        Ok(Plan {
            items,
            observed: run.units,
            learnt: run.learnt,
            packages: packages.to_owned(),
            diagnostics,
        })
    }

    /// One line for people: `create 3, replace 1, unchanged 10, delete 2, held 0`.
    pub fn summary(&self) -> String {
        summary(&self.items)
    }
}

#[cfg(test)]
mod tests;
