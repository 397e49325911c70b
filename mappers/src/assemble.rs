//! One patient's mapped messages → the current version of everything → submission
//! units. Pure: the CLI reads and maps the files, this module decides which
//! versions count and how records group into units.
//!
//! Version rules (SS-MIX2 condition flags, standards.md §1.3):
//! - files group by (data type, order number); within a group the newest
//!   `_1` (by 発生日時, then file name) is current; older `_1` files and every `_2`
//!   are history (superseded); when the newest file of a group is `_0` the group
//!   is deleted (its records leave their units, and the ledger plans a deletion
//!   when a unit becomes empty);
//! - groups that are not order-based (order number `999999999999999`: ADT-00,
//!   ADT-61, PPR-01) hold one patient-level message per file, each a current
//!   registration: PPR-01 problems are merged across current files by problem id
//!   (PRB-4) and allergies across ADT-61 / ADT-00 files by allergen, the newest
//!   message winning; the patient comes from the newest current ADT-00.
//!
//! Units (standards.md §4.3): one Conditions and one Allergies unit per patient,
//! one LabReport unit per order number. A unit's timestamp is the newest
//! 発生日時 among the files that contributed to it.

use crate::message::Mapped;
use crate::record::{
    AllergyRecord, ConditionRecord, MedicationRecord, ObservationRecord, PatientRecord,
};
use crate::unit::UnitKey;
use parsers::ssmix2::ConditionFlag;
use std::collections::BTreeMap;

/// The order number of messages that are not order-based.
pub const NO_ORDER: &str = "999999999999999";

/// One mapped message and where it came from.
#[derive(Debug)]
pub struct SourceMessage {
    /// The file, as shown in reports.
    pub file: String,
    /// データ種別 from the file name.
    pub data_type: String,
    /// オーダNo from the file name.
    pub order_no: String,
    /// 発生日時 `YYYYMMDDHHMMSSfff` from the file name.
    pub written_at: String,
    /// コンディションフラグ.
    pub condition: ConditionFlag,
    /// What the message mapped to (mapped for every version: history is mapped
    /// too, so its diagnostics are seen, but only current versions are used).
    pub mapped: Mapped,
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    /// The current version: its records were used.
    Current,
    /// An older version (`_2`, or a `_1` with a newer version).
    Superseded,
    /// A deletion (`_0`), or a version of a deleted order.
    Deleted,
}

impl Fate {
    /// Stable text for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Current => "current",
            Fate::Superseded => "superseded by a newer version",
            Fate::Deleted => "deleted at the source (_0)",
        }
    }
}

/// One submission unit with its records (submitted and withheld).
#[derive(Debug)]
pub struct Unit {
    /// Identity.
    pub key: UnitKey,
    /// Newest 発生日時 of the contributing files (`YYYYMMDDHHMMSSfff`).
    pub written_at: String,
    /// Conditions (Conditions unit).
    pub conditions: Vec<ConditionRecord>,
    /// Allergies (Allergies unit).
    pub allergies: Vec<AllergyRecord>,
    /// Observations (LabReport unit).
    pub observations: Vec<ObservationRecord>,
    /// Contributing files, sorted.
    pub files: Vec<String>,
}

/// A patient's current state.
#[derive(Debug, Default)]
pub struct Assembled {
    /// The patient (newest current ADT-00), if any.
    pub patient: Option<PatientRecord>,
    /// The file the patient came from.
    pub patient_file: Option<String>,
    /// Units in key order.
    pub units: Vec<Unit>,
    /// Current prescriptions (NDJSON and documents; CLINS takes no prescription bundle).
    pub medications: Vec<(String, MedicationRecord)>,
    /// The fate of every message, in input order.
    pub fates: Vec<Fate>,
}

/// Assembles one patient's messages (`local_id` = the patient id units are keyed by).
pub fn assemble(local_id: &str, messages: Vec<SourceMessage>) -> Assembled {
    let mut out = Assembled {
        fates: vec![Fate::Current; messages.len()],
        ..Assembled::default()
    };
    // Group order-based messages by (data type, order number); pick the newest.
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        if m.order_no != NO_ORDER {
            groups
                .entry((m.data_type.as_str(), m.order_no.as_str()))
                .or_default()
                .push(i);
        } else if m.condition != ConditionFlag::Current {
            out.fates[i] = if m.condition == ConditionFlag::Deleted {
                Fate::Deleted
            } else {
                Fate::Superseded
            };
        }
    }
    for idx in groups.values() {
        let newest = idx.iter().copied().max_by(|&a, &b| {
            let (x, y) = (&messages[a], &messages[b]);
            (
                x.written_at.as_str(),
                flag_rank(x.condition),
                x.file.as_str(),
            )
                .cmp(&(
                    y.written_at.as_str(),
                    flag_rank(y.condition),
                    y.file.as_str(),
                ))
        });
        let Some(newest) = newest else { continue };
        let deleted = messages[newest].condition == ConditionFlag::Deleted;
        for &i in idx {
            out.fates[i] = if deleted {
                Fate::Deleted
            } else if i == newest && messages[i].condition == ConditionFlag::Current {
                Fate::Current
            } else {
                Fate::Superseded
            };
        }
    }
    // Patient-level messages that are current, oldest first (newest wins by overwrite).
    let mut order: Vec<usize> = (0..messages.len())
        .filter(|&i| out.fates[i] == Fate::Current)
        .collect();
    order.sort_by(|&a, &b| {
        (messages[a].written_at.as_str(), messages[a].file.as_str())
            .cmp(&(messages[b].written_at.as_str(), messages[b].file.as_str()))
    });

    let mut conditions: BTreeMap<String, (String, String, ConditionRecord)> = BTreeMap::new();
    let mut allergies: BTreeMap<String, (String, String, AllergyRecord)> = BTreeMap::new();
    let mut labs: BTreeMap<String, Unit> = BTreeMap::new();
    let mut messages = messages;
    for i in order {
        let m = &mut messages[i];
        let mapped = std::mem::take(&mut m.mapped);
        if let Some(p) = mapped.patient {
            out.patient = Some(p);
            out.patient_file = Some(m.file.clone());
        }
        for c in mapped.conditions {
            let key = if c.problem_id.is_empty() {
                format!("{}#{}", m.file, c.code.text)
            } else {
                c.problem_id.clone()
            };
            conditions.insert(key, (m.written_at.clone(), m.file.clone(), c));
        }
        for a in mapped.allergies {
            let key = a.source_key.clone();
            allergies.insert(key, (m.written_at.clone(), m.file.clone(), a));
        }
        for o in mapped.observations {
            let order_no = if o.order_no.is_empty() {
                m.order_no.clone()
            } else {
                o.order_no.clone()
            };
            let unit = labs.entry(order_no.clone()).or_insert_with(|| Unit {
                key: UnitKey::LabReport {
                    patient: local_id.to_owned(),
                    order_no,
                },
                written_at: String::new(),
                conditions: Vec::new(),
                allergies: Vec::new(),
                observations: Vec::new(),
                files: Vec::new(),
            });
            unit.written_at = unit.written_at.clone().max(m.written_at.clone());
            if !unit.files.contains(&m.file) {
                unit.files.push(m.file.clone());
            }
            unit.observations.push(o);
        }
        for med in mapped.medications {
            out.medications.push((m.file.clone(), med));
        }
    }
    if !conditions.is_empty() {
        out.units.push(patient_unit(
            UnitKey::Conditions {
                patient: local_id.to_owned(),
            },
            conditions.into_values(),
            |u, c| u.conditions.push(c),
        ));
    }
    if !allergies.is_empty() {
        out.units.push(patient_unit(
            UnitKey::Allergies {
                patient: local_id.to_owned(),
            },
            allergies.into_values(),
            |u, a| u.allergies.push(a),
        ));
    }
    out.units.extend(labs.into_values().map(|mut u| {
        u.files.sort();
        u
    }));
    out.units.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// `_1` ranks above `_2` above `_0` when two files share a 発生日時 (a rename
/// `_1` → `_0` keeps the time, and then the deletion is what happened last).
fn flag_rank(f: ConditionFlag) -> u8 {
    match f {
        ConditionFlag::Superseded => 0,
        ConditionFlag::Current => 1,
        ConditionFlag::Deleted => 2,
    }
}

fn patient_unit<T>(
    key: UnitKey,
    items: impl Iterator<Item = (String, String, T)>,
    mut push: impl FnMut(&mut Unit, T),
) -> Unit {
    let mut u = Unit {
        key,
        written_at: String::new(),
        conditions: Vec::new(),
        allergies: Vec::new(),
        observations: Vec::new(),
        files: Vec::new(),
    };
    for (written_at, file, item) in items {
        if written_at > u.written_at {
            u.written_at = written_at;
        }
        if !u.files.contains(&file) {
            u.files.push(file);
        }
        push(&mut u, item);
    }
    u.files.sort();
    u
}

/// `YYYYMMDDHHMMSSfff` → FHIR instant with milliseconds and the site's offset
/// (`2011-12-20T22:44:47.339+09:00`); `None` when the value is not 17 digits.
pub fn instant(written_at: &str, tz: &str) -> Option<String> {
    if written_at.len() != 17 || !written_at.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let p = |a: usize, b: usize| written_at.get(a..b).unwrap_or_default();
    Some(format!(
        "{}-{}-{}T{}:{}:{}.{}{tz}",
        p(0, 4),
        p(4, 6),
        p(6, 8),
        p(8, 10),
        p(10, 12),
        p(12, 14),
        p(14, 17)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Concept, Submission};

    fn msg(file: &str, dt: &str, order: &str, at: &str, flag: ConditionFlag) -> SourceMessage {
        SourceMessage {
            file: file.into(),
            data_type: dt.into(),
            order_no: order.into(),
            written_at: at.into(),
            condition: flag,
            mapped: Mapped::default(),
        }
    }

    fn obs(order: &str, set: &str, value: &str) -> ObservationRecord {
        ObservationRecord {
            order_no: order.into(),
            set_id: set.into(),
            code: Concept::default(),
            kind: crate::record::LabKind::Core,
            value: Some(crate::record::Value::String(value.into())),
            range: None,
            interpretation: None,
            specimen: None,
            effective: None,
            issued: None,
            status: "final",
            department: None,
            encounter_class: None,
            orderer: None,
            tags: Vec::new(),
            submission: Some(Submission::Submit),
            lineage: Vec::new(),
        }
    }

    #[test]
    fn newest_current_version_wins_and_history_is_accounted_for() {
        use ConditionFlag::*;
        let mut old = msg("a_2", "OML-11", "1", "20200101000000000", Superseded);
        old.mapped.observations.push(obs("1", "1", "old"));
        let mut new = msg("a_1", "OML-11", "1", "20200102000000000", Current);
        new.mapped.observations.push(obs("1", "1", "new"));
        let mut gone = msg("b_0", "OML-11", "2", "20200103000000000", Deleted);
        gone.mapped.observations.push(obs("2", "1", "x"));
        let a = assemble("42", vec![old, new, gone]);
        assert_eq!(a.fates, [Fate::Superseded, Fate::Current, Fate::Deleted]);
        assert_eq!(a.units.len(), 1);
        let u = &a.units[0];
        assert_eq!(
            u.key,
            UnitKey::LabReport {
                patient: "42".into(),
                order_no: "1".into()
            }
        );
        assert_eq!(u.written_at, "20200102000000000");
        assert_eq!(
            u.observations[0].value,
            Some(crate::record::Value::String("new".into()))
        );
    }

    #[test]
    fn a_newer_deletion_deletes_the_order() {
        use ConditionFlag::*;
        let mut cur = msg("a_1", "OML-11", "1", "20200101000000000", Current);
        cur.mapped.observations.push(obs("1", "1", "v"));
        let del = msg("a_0", "OML-11", "1", "20200101000000000", Deleted);
        let a = assemble("42", vec![cur, del]);
        assert_eq!(a.fates, [Fate::Deleted, Fate::Deleted]);
        assert!(a.units.is_empty());
    }

    #[test]
    fn problems_merge_across_registrations_newest_wins() {
        use ConditionFlag::*;
        let c = |id: &str, text: &str| ConditionRecord {
            problem_id: id.into(),
            code: Concept {
                coding: Vec::new(),
                text: text.into(),
            },
            ..ConditionRecord::default()
        };
        let mut m1 = msg("p1", "PPR-01", NO_ORDER, "20200101000000000", Current);
        m1.mapped.conditions = vec![c("A", "胃炎"), c("B", "高血圧症")];
        let mut m2 = msg("p2", "PPR-01", NO_ORDER, "20200201000000000", Current);
        m2.mapped.conditions = vec![c("A", "慢性胃炎")];
        let m3 = msg("p3", "PPR-01", NO_ORDER, "20200301000000000", Superseded);
        // Input order must not matter: newest first.
        let a = assemble("42", vec![m2, m3, m1]);
        assert_eq!(a.fates, [Fate::Current, Fate::Superseded, Fate::Current]);
        let u = &a.units[0];
        let texts: Vec<&str> = u.conditions.iter().map(|c| c.code.text.as_str()).collect();
        assert_eq!(texts, ["慢性胃炎", "高血圧症"]);
        assert_eq!(u.written_at, "20200201000000000");
        assert_eq!(u.files, ["p1", "p2"]);
    }

    #[test]
    fn instants_from_written_at() {
        assert_eq!(
            instant("20111220224447339", "+09:00").as_deref(),
            Some("2011-12-20T22:44:47.339+09:00")
        );
        assert_eq!(instant("2011122022444733", "+09:00"), None);
        assert_eq!(instant("2011122022444733x", "+09:00"), None);
    }
}
