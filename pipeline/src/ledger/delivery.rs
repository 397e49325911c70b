//! What the ledger knows of deliveries to FHIR servers (schema 4, `kakehashi
//! push`): per server and unit, the state of the last delivery, the bundle hash
//! it carried, the resources (`Type/id`) the server may hold for the unit, the
//! server's answer (status, per-entry `Location` / ETag / last-modified, or the
//! OperationOutcome of a refusal) and when.
//!
//! The states, and what each lets a later push conclude:
//!
//! | state | written | the server holds |
//! | --- | --- | --- |
//! | `in_flight` | before a request is sent | unknown: the old or the new resources; `resources` is the union of both, the unit counts as not delivered and is sent again |
//! | `delivered` | after a 2xx | exactly `resources`, from the bundle of `hash` |
//! | `refused` | after a 4xx refusal | what it held before the request (a transaction is all or nothing), `resources`; `outcome` says why; sent again when the unit's hash changes or when asked |
//! | `deleted` | after a 2xx to a deletion | none of the unit's resources |
//!
//! The ledger records what it is told; the clock is read by the caller (the
//! delivery sink), which passes the time as text.

use super::{Ledger, LedgerError};
use rusqlite::params;
use std::collections::BTreeMap;

/// The state of a unit's delivery to one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// A request was (or was about to be) sent; its answer is not known.
    InFlight,
    /// The server acknowledged the unit's bundle with a 2xx.
    Delivered,
    /// The server refused the unit's bundle (a 4xx other than 408 and 429).
    Refused,
    /// The server acknowledged the removal of the unit's resources.
    Deleted,
}

impl DeliveryState {
    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::InFlight => "in_flight",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Refused => "refused",
            DeliveryState::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> Option<DeliveryState> {
        Some(match s {
            "in_flight" => DeliveryState::InFlight,
            "delivered" => DeliveryState::Delivered,
            "refused" => DeliveryState::Refused,
            "deleted" => DeliveryState::Deleted,
            _ => return None,
        })
    }
}

/// A unit's delivery to one server, as the ledger records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// See [`DeliveryState`].
    pub state: DeliveryState,
    /// The content hash of the unit's bundle sent (`''` for a deletion).
    pub hash: String,
    /// The resources (`Type/id`) the server may hold for the unit, sorted.
    pub resources: Vec<String>,
    /// The HTTP status of the last answer (`None` while in flight).
    pub status: Option<u16>,
    /// What the server acknowledged, per entry (JSON: `Location`, ETag, last
    /// modified), `''` when nothing was.
    pub acknowledged: String,
    /// The server's OperationOutcome (JSON) when it refused, else `''`.
    pub outcome: String,
    /// When the record was written (UTC, RFC 3339, from the caller's clock).
    pub time: String,
}

impl Ledger {
    /// Every delivery recorded for `server` (its base URL), by unit id.
    pub fn deliveries(&self, server: &str) -> Result<BTreeMap<String, Delivery>, LedgerError> {
        let mut st = self.conn.prepare(
            "SELECT unit_id, state, hash, resources, status, acknowledged, outcome, time
             FROM delivery WHERE server = ?1 ORDER BY unit_id",
        )?;
        let mut rows = st.query(params![server])?;
        let mut out = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let unit_id: String = r.get(0)?;
            let state: String = r.get(1)?;
            let state = DeliveryState::parse(&state).ok_or_else(|| {
                LedgerError::Corrupt(format!("delivery of unit {unit_id} in state {state}"))
            })?;
            let resources: String = r.get(3)?;
            let resources: Vec<String> = serde_json::from_str(&resources).map_err(|e| {
                LedgerError::Corrupt(format!("delivery of unit {unit_id}: resources: {e}"))
            })?;
            let status: Option<i64> = r.get(4)?;
            out.insert(
                unit_id,
                Delivery {
                    state,
                    hash: r.get(2)?,
                    resources,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    acknowledged: r.get(5)?,
                    outcome: r.get(6)?,
                    time: r.get(7)?,
                },
            );
        }
        Ok(out)
    }

    /// Records (replaces) the delivery of `unit_id` to `server`, durably: it is
    /// on disk when this returns.
    pub fn record_delivery(
        &mut self,
        server: &str,
        unit_id: &str,
        d: &Delivery,
    ) -> Result<(), LedgerError> {
        let resources = serde_json::to_string(&d.resources)
            .map_err(|e| LedgerError::Sqlite(format!("resources of unit {unit_id}: {e}")))?;
        self.conn.execute(
            "INSERT INTO delivery (server, unit_id, state, hash, resources, status, acknowledged,
                                   outcome, time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (server, unit_id) DO UPDATE SET
                state = excluded.state, hash = excluded.hash, resources = excluded.resources,
                status = excluded.status, acknowledged = excluded.acknowledged,
                outcome = excluded.outcome, time = excluded.time",
            params![
                server,
                unit_id,
                d.state.as_str(),
                d.hash,
                resources,
                d.status,
                d.acknowledged,
                d.outcome,
                d.time
            ],
        )?;
        Ok(())
    }
}
