//! Inpatient stays from SS-MIX2 ADT messages: ADT-22 入院実施 (ADT^A01, cancelled
//! by ADT^A11), ADT-42 転科・転棟実施 (ADT^A02 / cancel ADT^A12) and ADT-52 退院実施
//! (ADT^A03 / cancel ADT^A13) (standards.md §1.4). Pure: the CLI reads the files,
//! [`event`] maps one message, [`stays`] assembles one patient's events and
//! [`select`] picks the stay a document request names.
//!
//! Event times (the field SS-MIX2 takes the 診療日 from): admission PV1-44,
//! transfer EVN-6, discharge PV1-45; a cancellation names the event it cancels by
//! the same field. Planned events (ADT-21 / ADT-41 / ADT-51) are not stays and
//! are not read here.
//!
//! Versions (as [`crate::assemble`] treats messages that are not order-based):
//! every `_1` file is a current event, `_2` is history and `_0` is a deletion; a
//! cancellation message removes the current event of its kind with the same time.
//!
//! Assembly walks the events in time order (admission before transfer before
//! discharge at equal times): an admission opens a stay, transfers join the open
//! stay, a discharge closes it. What cannot be assembled is said with its place
//! (file, segment, field): a discharge without an admission (M352) or dated before
//! the admission it names (M353), an admission while a stay is open (M354: the
//! earlier stay is kept without a discharge), a transfer outside any stay (M355). A stay
//! still open at the end is in progress (no discharge), which is no error until a
//! document asks for its summary (M361).

use crate::assemble::Fate;
use crate::record::{Coding, Prescriber};
use crate::{Context, Findings, Input, codes};
use diagnostics::{Diagnostic, Excerpt, Location};
use parsers::hl7::Segment;
use parsers::ssmix2::ConditionFlag;

/// What an ADT message records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// 入院実施 (ADT-22, ADT^A01).
    Admission,
    /// 転科・転棟実施 (ADT-42, ADT^A02).
    Transfer,
    /// 退院実施 (ADT-52, ADT^A03).
    Discharge,
}

impl EventKind {
    /// Stable text for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Admission => "admission",
            EventKind::Transfer => "transfer",
            EventKind::Discharge => "discharge",
        }
    }

    /// The field the event time comes from (segment, field).
    pub fn time_field(self) -> (&'static str, u32) {
        match self {
            EventKind::Admission => ("PV1", 44),
            EventKind::Transfer => ("EVN", 6),
            EventKind::Discharge => ("PV1", 45),
        }
    }
}

/// The kind a data type records, and its (event, cancellation) HL7 trigger events.
pub fn kind_of(data_type: &str) -> Option<(EventKind, &'static str, &'static str)> {
    match data_type {
        "ADT-22" => Some((EventKind::Admission, "A01", "A11")),
        "ADT-42" => Some((EventKind::Transfer, "A02", "A12")),
        "ADT-52" => Some((EventKind::Discharge, "A03", "A13")),
        _ => None,
    }
}

/// A bed: PV1-3 (PL) 病棟 ^ 病室 ^ 病床.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bed {
    /// PL-1 point of care (病棟).
    pub ward: String,
    /// PL-2 room (病室).
    pub room: String,
    /// PL-3 bed (病床).
    pub bed: String,
}

impl Bed {
    fn read(seg: &Segment<'_>, field: u32) -> Option<Bed> {
        let b = Bed {
            ward: seg.value(field, 1).trim().to_owned(),
            room: seg.value(field, 2).trim().to_owned(),
            bed: seg.value(field, 3).trim().to_owned(),
        };
        (!b.ward.is_empty() || !b.room.is_empty() || !b.bed.is_empty()).then_some(b)
    }

    /// `病棟 <ward> 病室 <room> 病床 <bed>` (the parts that are known).
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        for (label, v) in [
            ("病棟", &self.ward),
            ("病室", &self.room),
            ("病床", &self.bed),
        ] {
            if !v.is_empty() {
                parts.push(format!("{label} {v}"));
            }
        }
        parts.join(" ")
    }
}

/// One admission, transfer or discharge (or its cancellation), as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdtEvent {
    /// What happened.
    pub kind: EventKind,
    /// True for ADT^A11 / A12 / A13: the event named by `time` is withdrawn.
    pub cancel: bool,
    /// The event time (FHIR dateTime).
    pub time: String,
    /// The event time as a sortable key: HL7 digits padded to 14 (`YYYYMMDDHHMMSS`).
    pub key: String,
    /// How many digits the source gave (8 = a date only … 14 = to the second).
    pub digits: usize,
    /// For a discharge: the admission time it names (PV1-44).
    pub admitted: Option<NamedTime>,
    /// PV1-3 assigned location.
    pub bed: Option<Bed>,
    /// PV1-6 prior location (transfers).
    pub prior_bed: Option<Bed>,
    /// PV1-10 department as sent (local code).
    pub department_local: String,
    /// PV1-10 department when the site maps it (SS-MIX2 診療科).
    pub department: Option<Coding>,
    /// PV1-7 attending doctor.
    pub attending: Option<Prescriber>,
    /// PV1-2 patient class mapped to a v3 ActCode (IMP …), when a table maps it.
    pub class: Option<Coding>,
    /// PV1-4 admission type as sent.
    pub admission_type: Option<String>,
    /// PV1-14 admit source as sent.
    pub admit_source: Option<String>,
    /// PV1-36 discharge disposition as sent.
    pub disposition: Option<String>,
    /// PV1-37 discharged to location as sent.
    pub discharged_to: Option<String>,
    /// The file, as given.
    pub file: String,
    /// Where the event time is (file, segment, field).
    pub at: Location,
}

/// Maps one ADT-22 / ADT-42 / ADT-52 message to its event; `None` (with a
/// diagnostic) when the message cannot give one.
pub fn event(
    ctx: &Context<'_>,
    input: &Input<'_>,
    data_type: &str,
    sink: &mut Findings,
) -> Option<AdtEvent> {
    let (kind, trigger, cancel_trigger) = kind_of(data_type)?;
    let msh = input.message.segment("MSH");
    let trig = msh
        .as_ref()
        .map(|s| s.value(9, 2).trim().to_owned())
        .unwrap_or_default();
    let cancel = if trig == trigger {
        false
    } else if trig == cancel_trigger {
        true
    } else {
        let mut d = Diagnostic::new(
            &codes::ADT_WRONG_MESSAGE,
            format!("{data_type} holds ADT^{trigger} or ADT^{cancel_trigger}"),
        )
        .excerpt(Excerpt::text(trig));
        if let Some(m) = &msh {
            d = d.at(input.at(m, 9, 0));
        }
        sink.push(d);
        return None;
    };
    let pv1 = input.message.segment("PV1");
    let (seg_id, field) = kind.time_field();
    let seg = input.message.segment(seg_id);
    let Some(seg) = seg else {
        sink.push(
            Diagnostic::new(
                &codes::ADT_NO_TIME,
                format!("the message has no {seg_id} segment"),
            )
            .at(Location::default().file(input.file)),
        );
        return None;
    };
    let at = input.at(&seg, field, 0);
    let raw = seg.value(field, 1).trim().to_owned();
    let (time, (key, digits)) = match (
        crate::time(ctx, input, &seg, field, 1, sink),
        sort_key(&raw),
    ) {
        (Some(t), Some(k)) => (t, k),
        _ => {
            sink.push(
                Diagnostic::new(
                    &codes::ADT_NO_TIME,
                    format!("{seg_id}-{field} gives no {} time", kind.as_str()),
                )
                .at(at),
            );
            return None;
        }
    };
    let mut ev = AdtEvent {
        kind,
        cancel,
        time,
        key,
        digits,
        admitted: None,
        bed: None,
        prior_bed: None,
        department_local: String::new(),
        department: None,
        attending: None,
        class: None,
        admission_type: None,
        admit_source: None,
        disposition: None,
        discharged_to: None,
        file: input.file.to_owned(),
        at,
    };
    if let Some(pv1) = pv1 {
        let opt = |f: u32| {
            let v = pv1.value(f, 1).trim().to_owned();
            (!v.is_empty()).then_some(v)
        };
        ev.bed = Bed::read(&pv1, 3);
        ev.prior_bed = Bed::read(&pv1, 6);
        ev.department_local = pv1.value(10, 1).trim().to_owned();
        ev.admission_type = opt(4);
        ev.admit_source = opt(14);
        ev.disposition = opt(36);
        ev.discharged_to = opt(37);
        let id = pv1.value(7, 1).trim().to_owned();
        let name = [pv1.value(7, 2), pv1.value(7, 3)]
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !id.is_empty() || !name.is_empty() {
            ev.attending = Some(Prescriber {
                id,
                name,
                representation: match pv1.value(7, 15).trim() {
                    "I" => Some("IDE"),
                    "P" => Some("SYL"),
                    _ => None,
                },
            });
        }
        if !ev.department_local.is_empty() && !cancel {
            ev.department = crate::department(ctx, &ev.department_local);
            if ev.department.is_none() {
                sink.push(
                    Diagnostic::new(
                        &codes::ADT_NO_DEPARTMENT,
                        "no [departments] entry for this code",
                    )
                    .at(input.at(&pv1, 10, 0))
                    .excerpt(Excerpt::text(ev.department_local.clone())),
                );
            }
        }
        if kind == EventKind::Discharge && !cancel {
            let raw = pv1.value(44, 1).trim().to_owned();
            if !raw.is_empty()
                && let (Some(time), Some((key, digits))) =
                    (crate::time(ctx, input, &pv1, 44, 1, sink), sort_key(&raw))
            {
                ev.admitted = Some(NamedTime {
                    time,
                    key,
                    digits,
                    at: input.at(&pv1, 44, 0),
                });
            }
        }
        if !cancel {
            ev.class = crate::encounter_class(ctx, input, sink);
        }
    }
    Some(ev)
}

/// A time another event names (a discharge's PV1-44).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedTime {
    /// FHIR dateTime.
    pub time: String,
    /// Sortable key (see [`sort_key`]).
    pub key: String,
    /// Digits the source gave.
    pub digits: usize,
    /// Where it is.
    pub at: Location,
}

/// HL7 TS → (`YYYYMMDDHHMMSS`, digits given): missing parts as zeros, fraction
/// and offset dropped; `None` unless it is 8 to 14 digits.
pub fn sort_key(raw: &str) -> Option<(String, usize)> {
    let body: &str = raw.split(['+', '-', '.']).next().unwrap_or_default().trim();
    if body.len() < 8 || body.len() > 14 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut k = body.to_owned();
    while k.len() < 14 {
        k.push('0');
    }
    Some((k, body.len()))
}

/// One ADT file and its mapped event.
#[derive(Clone, Debug)]
pub struct AdtMessage {
    /// The file, as given.
    pub file: String,
    /// データ種別 from the file name (`ADT-22`, `ADT-42`, `ADT-52`).
    pub data_type: String,
    /// 発生日時 from the file name (`YYYYMMDDHHMMSSfff`).
    pub written_at: String,
    /// コンディションフラグ.
    pub condition: ConditionFlag,
    /// The event, when the message gave one.
    pub event: Option<AdtEvent>,
}

/// One inpatient stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stay {
    /// The admission (ADT-22).
    pub admission: AdtEvent,
    /// Transfers during the stay, in time order (ADT-42).
    pub transfers: Vec<AdtEvent>,
    /// The discharge (ADT-52); `None` while the patient is in hospital.
    pub discharge: Option<AdtEvent>,
}

impl Stay {
    /// Admission time (FHIR dateTime).
    pub fn admitted(&self) -> &str {
        &self.admission.time
    }

    /// Discharge time (FHIR dateTime), if discharged.
    pub fn discharged(&self) -> Option<&str> {
        self.discharge.as_ref().map(|d| d.time.as_str())
    }

    /// Every event of the stay in time order.
    pub fn events(&self) -> impl Iterator<Item = &AdtEvent> {
        std::iter::once(&self.admission)
            .chain(self.transfers.iter())
            .chain(self.discharge.iter())
    }

    /// The latest known bed (discharge, else last transfer, else admission).
    pub fn last_bed(&self) -> Option<&Bed> {
        self.events().filter_map(|e| e.bed.as_ref()).last()
    }

    /// The latest mapped department.
    pub fn last_department(&self) -> Option<&Coding> {
        self.events().filter_map(|e| e.department.as_ref()).last()
    }

    /// The latest attending doctor.
    pub fn last_attending(&self) -> Option<&Prescriber> {
        self.events().filter_map(|e| e.attending.as_ref()).last()
    }

    /// The encounter class (first mapped one).
    pub fn class(&self) -> Option<&Coding> {
        self.events().find_map(|e| e.class.as_ref())
    }

    /// The files the stay comes from, sorted.
    pub fn files(&self) -> Vec<&str> {
        let mut f: Vec<&str> = self.events().map(|e| e.file.as_str()).collect();
        f.sort_unstable();
        f.dedup();
        f
    }

    /// True when `key` (a [`sort_key`]) lies within the stay (admission to
    /// discharge, both included; open stays have no end).
    pub fn contains(&self, key: &str) -> bool {
        key >= self.admission.key.as_str()
            && self
                .discharge
                .as_ref()
                .is_none_or(|d| key <= d.key.as_str())
    }
}

/// One patient's stays.
#[derive(Clone, Debug, Default)]
pub struct Stays {
    /// Assembled stays in admission order (any may lack a discharge: the last
    /// when the patient is in hospital, others when an admission followed without
    /// a discharge, M354).
    pub stays: Vec<Stay>,
    /// The fate of every message, in input order.
    pub fates: Vec<Fate>,
}

/// Assembles a patient's stays from its ADT messages (any order).
pub fn stays(messages: Vec<AdtMessage>, sink: &mut Findings) -> Stays {
    let mut fates: Vec<Fate> = messages
        .iter()
        .map(|m| match m.condition {
            ConditionFlag::Current => Fate::Current,
            ConditionFlag::Superseded => Fate::Superseded,
            ConditionFlag::Deleted => Fate::Deleted,
        })
        .collect();
    // Current events, oldest file first.
    let mut order: Vec<usize> = (0..messages.len())
        .filter(|&i| fates[i] == Fate::Current && messages[i].event.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        (messages[a].written_at.as_str(), messages[a].file.as_str())
            .cmp(&(messages[b].written_at.as_str(), messages[b].file.as_str()))
    });
    // Live events; cancellations remove the newest earlier-written event of their
    // kind and time; duplicates (same kind and time) keep the newer file.
    let mut live: Vec<usize> = Vec::new();
    for i in order {
        let Some(ev) = messages[i].event.as_ref() else {
            continue;
        };
        let same = |j: &usize| {
            messages[*j]
                .event
                .as_ref()
                .is_some_and(|e| e.kind == ev.kind && e.key == ev.key)
        };
        if ev.cancel {
            match live.iter().rposition(same) {
                Some(p) => {
                    let j = live.remove(p);
                    fates[j] = Fate::Deleted;
                }
                None => sink.push(
                    Diagnostic::new(
                        &codes::CANCEL_UNMATCHED,
                        format!("no current {} at this time", ev.kind.as_str()),
                    )
                    .at(ev.at.clone())
                    .excerpt(Excerpt::text(ev.time.clone())),
                ),
            }
            continue;
        }
        if let Some(p) = live.iter().position(same) {
            let j = live.remove(p);
            fates[j] = Fate::Superseded;
            sink.push(
                Diagnostic::new(
                    &codes::DUPLICATE_EVENT,
                    format!(
                        "the same {} is also in {}",
                        ev.kind.as_str(),
                        messages[j].file
                    ),
                )
                .at(ev.at.clone()),
            );
        }
        live.push(i);
    }
    let mut events: Vec<&AdtEvent> = live
        .iter()
        .filter_map(|&i| messages[i].event.as_ref())
        .collect();
    events.sort_by(|a, b| {
        (a.key.as_str(), a.kind, a.file.as_str()).cmp(&(b.key.as_str(), b.kind, b.file.as_str()))
    });

    let mut out: Vec<Stay> = Vec::new();
    let mut open: Option<Stay> = None;
    for (n, ev) in events.iter().enumerate() {
        match ev.kind {
            EventKind::Admission => {
                if let Some(prev) = open.take() {
                    sink.push(
                        Diagnostic::new(
                            &codes::OVERLAPPING_STAYS,
                            format!(
                                "the stay admitted at {} ({}) has no discharge before this admission",
                                prev.admission.time, prev.admission.file
                            ),
                        )
                        .at(ev.at.clone())
                        .excerpt(Excerpt::text(ev.time.clone())),
                    );
                    // Kept as it was sent: an admission (with its transfers) and no
                    // discharge; no summary can be written for it (M361).
                    out.push(prev);
                }
                open = Some(Stay {
                    admission: (*ev).clone(),
                    transfers: Vec::new(),
                    discharge: None,
                });
            }
            EventKind::Transfer => match open.as_mut() {
                Some(s) => s.transfers.push((*ev).clone()),
                None => sink.push(
                    Diagnostic::new(
                        &codes::TRANSFER_OUTSIDE_STAY,
                        "no stay is open at the transfer time",
                    )
                    .at(ev.at.clone())
                    .excerpt(Excerpt::text(ev.time.clone())),
                ),
            },
            EventKind::Discharge => match open.take() {
                Some(mut s) => {
                    if let Some(named) = &ev.admitted
                        && !same_time(
                            (&named.key, named.digits),
                            (&s.admission.key, s.admission.digits),
                        )
                    {
                        sink.push(
                            Diagnostic::new(
                                &codes::ADMISSION_TIME_DISAGREES,
                                format!(
                                    "the stay was admitted at {} ({})",
                                    s.admission.time, s.admission.file
                                ),
                            )
                            .at(named.at.clone())
                            .excerpt(Excerpt::text(named.time.clone())),
                        );
                    }
                    s.discharge = Some((*ev).clone());
                    out.push(s);
                }
                None => {
                    // The admission it names, when it is later: dated before it.
                    let later = events[n + 1..].iter().find(|a| {
                        a.kind == EventKind::Admission
                            && ev.admitted.as_ref().is_some_and(|named| {
                                same_time((&named.key, named.digits), (&a.key, a.digits))
                            })
                    });
                    let before_own = ev.admitted.as_ref().is_some_and(|named| named.key > ev.key);
                    match later {
                        Some(a) => sink.push(
                            Diagnostic::new(
                                &codes::DISCHARGE_BEFORE_ADMISSION,
                                format!(
                                    "discharged at {} but admitted at {} ({})",
                                    ev.time, a.time, a.file
                                ),
                            )
                            .at(ev.at.clone())
                            .excerpt(Excerpt::text(ev.time.clone())),
                        ),
                        _ if before_own => sink.push(
                            Diagnostic::new(
                                &codes::DISCHARGE_BEFORE_ADMISSION,
                                "PV1-45 (discharge) is earlier than PV1-44 (admission)",
                            )
                            .at(ev.at.clone())
                            .excerpt(Excerpt::text(ev.time.clone())),
                        ),
                        _ => sink.push(
                            Diagnostic::new(
                                &codes::DISCHARGE_WITHOUT_ADMISSION,
                                "no current admission (ADT-22) precedes this discharge",
                            )
                            .at(ev.at.clone())
                            .excerpt(Excerpt::text(ev.time.clone())),
                        ),
                    }
                }
            },
        }
    }
    if let Some(s) = open {
        out.push(s);
    }
    Stays { stays: out, fates }
}

/// Two times are the same to the precision both give (a date-only value
/// matches any time that day).
fn same_time(a: (&str, usize), b: (&str, usize)) -> bool {
    let n = a.1.min(b.1);
    a.0.get(..n) == b.0.get(..n)
}

/// The stay a document request names: `admission` is a FHIR date or dateTime
/// prefix (`2011-11-20`, `2011-11-20T16:00`) of the admission time; without it,
/// the latest discharged stay. The stay must be discharged.
pub fn select<'a>(stays: &'a [Stay], admission: Option<&str>) -> Result<&'a Stay, Box<Diagnostic>> {
    let chosen = match admission {
        Some(want) => {
            let found: Vec<&Stay> = stays
                .iter()
                .filter(|s| s.admission.time.starts_with(want))
                .collect();
            match found.as_slice() {
                [] => {
                    let known: Vec<&str> = stays.iter().map(|s| s.admitted()).collect();
                    return Err(Box::new(
                        Diagnostic::new(
                            &codes::ADMISSION_NOT_FOUND,
                            if known.is_empty() {
                                "the storage holds no assembled stay for the patient".to_owned()
                            } else {
                                format!("stays admitted at: {}", known.join(", "))
                            },
                        )
                        .excerpt(Excerpt::text(want)),
                    ));
                }
                [one] => *one,
                many => {
                    let known: Vec<&str> = many.iter().map(|s| s.admitted()).collect();
                    return Err(Box::new(
                        Diagnostic::new(
                            &codes::ADMISSION_AMBIGUOUS,
                            format!("stays admitted at: {}", known.join(", ")),
                        )
                        .excerpt(Excerpt::text(want)),
                    ));
                }
            }
        }
        None => match stays.iter().rev().find(|s| s.discharge.is_some()) {
            Some(s) => s,
            None => {
                return Err(Box::new(Diagnostic::new(
                    &codes::ADMISSION_NOT_FOUND,
                    "the storage holds no discharged stay for the patient",
                )));
            }
        },
    };
    if chosen.discharge.is_none() {
        return Err(Box::new(
            Diagnostic::new(
                &codes::STAY_NOT_DISCHARGED,
                format!(
                    "admitted at {} ({})",
                    chosen.admitted(),
                    chosen.admission.file
                ),
            )
            .at(chosen.admission.at.clone()),
        ));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests;
