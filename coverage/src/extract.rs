//! Counting source keys in parsed inputs.
//!
//! - SS-MIX2: [`count_message`] runs [`mappers::message::map`] with a [`Recorder`]
//!   as the terminology. The recorder counts every query the mappers make (PID-8
//!   gender, PV1-2 class, PRB-3 diseases, AL1-2/AL1-3/AL1-4 and IAM-3 allergies,
//!   OBX-3 lab codes with their SPM-4 specimen, SPM-4 specimens, chained lookups
//!   such as YJ → J-FAGY) and answers from the real tables, so what is counted is
//!   what a conversion would ask, with the same system and key choices (OMP-01
//!   prescriptions included: `mappers::medication` looks up RXE-2, TQ1-3, RXR-1 …).
//!   Injection orders and administrations (OMP-02/OMP-12), which the mappers do not
//!   convert, add their RXE-2 drug codes.
//! - Receipts: [`count_receipts`] reads a UKE file with [`parsers::uke::Parser`] and
//!   counts SY 傷病名コード (and 修飾語コード), SI 診療行為コード, IY 医薬品コード
//!   and TO 特定器材コード.

use crate::{Counter, Source, codes};
use diagnostics::{Diagnostic, Diagnostics, Excerpt};
use mappers::config::SiteConfig;
use mappers::{Context, Findings, Input, LabSets};
use parsers::hl7::Message;
use parsers::uke::{self, Record, check::col_loc};
use std::cell::RefCell;
use terminologies::lookup::{Options, Query, Resolution, Terminology};
use terminologies::system;

/// Receipt disease codes (支払基金 傷病名マスター).
pub const RECEIPT_DISEASE: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease";
/// Receipt modifier codes (修飾語マスター).
pub const RECEIPT_MODIFIER: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier";
/// Receipt procedure codes (医科診療行為マスター).
pub const RECEIPT_PROCEDURE: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterS-medicalProcedure";
/// Receipt drug codes (医薬品マスター): no FHIR URI is defined yet; the OID JP-CLINS lists.
pub const RECEIPT_DRUG: &str = "urn:oid:1.2.392.100495.20.2.71";
/// Receipt device codes (特定器材マスター): no FHIR URI or OID is known; a kakehashi name.
pub const RECEIPT_DEVICE: &str = "urn:kakehashi:receipt:TO";
/// The 傷病名コード of an uncoded disease (未コード化傷病名).
pub const UNCODED_DISEASE: &str = "0000999";

/// A [`Terminology`] that counts every query and answers from the real tables.
pub struct Recorder<'a> {
    inner: &'a dyn Terminology,
    counter: RefCell<Counter>,
    context: RefCell<String>,
}

impl<'a> Recorder<'a> {
    /// Wraps the tables the answers come from.
    pub fn new(inner: &'a dyn Terminology) -> Recorder<'a> {
        Recorder {
            inner,
            counter: RefCell::new(Counter::default()),
            context: RefCell::new(String::new()),
        }
    }

    /// What was counted so far.
    pub fn into_counter(self) -> Counter {
        self.counter.into_inner()
    }

    /// Counts an occurrence directly (keys the mappers do not look up).
    pub fn add(&self, q: &Query<'_>, source: Source, context: &str, display: &str) {
        self.counter.borrow_mut().add(q, source, context, display);
    }

    /// Runs `f` over the counter (receipts, tests).
    pub fn with_counter<T>(&self, f: impl FnOnce(&mut Counter) -> T) -> T {
        f(&mut self.counter.borrow_mut())
    }
}

impl Terminology for Recorder<'_> {
    fn translate<'s, 'q>(&'s self, q: &Query<'q>, opts: Options) -> Resolution<'s, 'q> {
        // A query without code or name asks for nothing a table could hold.
        if !q.code.is_empty() || !q.text.is_empty() {
            let context = self.context.borrow();
            self.counter
                .borrow_mut()
                .add(q, Source::Ssmix2, context.as_str(), "");
        }
        self.inner.translate(q, opts)
    }
}

/// What the mappers need besides the tables.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// Site configuration (site name for local systems, policies).
    pub config: &'a SiteConfig,
    /// Lab sets (only decide set membership after translation; may be empty).
    pub lab_sets: &'a LabSets,
    /// As-of date `YYYYMMDD`.
    pub as_of: &'a str,
}

/// What one message contributed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageTally {
    /// Keys counted from the message.
    pub keys: u64,
    /// True when the message's data type carries no key the mappers look up.
    pub skipped: bool,
}

/// Counts the keys of one SS-MIX2 message of `data_type` (from the file name).
/// The mappers' own diagnostics are dropped: coverage is their aggregate.
pub fn count_message(
    rec: &Recorder<'_>,
    set: Setting<'_>,
    file: &str,
    folder_patient_id: &str,
    data_type: &str,
    message: Message<'_>,
) -> MessageTally {
    let before = rec.with_counter(|c| c.occurrences());
    data_type.clone_into(&mut rec.context.borrow_mut());
    let ctx = Context {
        config: set.config,
        terms: rec,
        lab_sets: set.lab_sets,
        as_of: set.as_of,
    };
    let input = Input {
        file,
        folder_patient_id,
        message,
    };
    let mut sink = Findings::default();
    let mapped = mappers::message::map(&ctx, &input, data_type, &mut sink);
    // Displays of keys the mappers could not map (they keep them on the worklist).
    rec.with_counter(|c| {
        for w in sink.worklist.items() {
            let q = Query {
                system: &w.system,
                code: &w.key.code,
                specimen: &w.key.specimen,
                unit: &w.key.unit,
                text: &w.key.text,
            };
            c.set_display(&q, &w.display);
        }
    });
    let mut drugs = false;
    if matches!(data_type, "OMP-02" | "OMP-12") {
        for seg in message.segments().filter(|s| s.id() == "RXE") {
            let code = seg.value(2, 1);
            let code = code.trim();
            if code.is_empty() {
                continue;
            }
            let name = seg.value(2, 3);
            let (sys, _) = system::source_uri_for_v2(name.trim(), code, &set.config.site);
            let q = Query::code(&sys, code);
            rec.add(&q, Source::Ssmix2, data_type, seg.value(2, 2).trim());
            drugs = true;
        }
    }
    let after = rec.with_counter(|c| c.occurrences());
    MessageTally {
        keys: after - before,
        skipped: mapped.skipped.is_some() && !drugs,
    }
}

/// What one receipt file contributed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptTally {
    /// Records read.
    pub records: u64,
    /// Keys counted.
    pub keys: u64,
}

/// Counts the coded columns of a UKE receipt file. Parser diagnostics and this
/// stage's (`A001` empty code, `A002` uncoded disease) go to `diags`; locations
/// carry no file (the caller sets it).
pub fn count_receipts(
    bytes: &[u8],
    counter: &mut Counter,
    diags: &mut Diagnostics,
) -> ReceiptTally {
    let mut p = uke::Parser::new(bytes, diags);
    let mut rec = Record::default();
    let mut tally = ReceiptTally::default();
    let before = counter.occurrences();
    while p.next(&mut rec, diags) {
        tally.records += 1;
        // Only records of a typed (医科) layout have known columns.
        let Some(spec) = p.spec(rec.id()) else {
            continue;
        };
        let (system, column, context) = match spec.id {
            "SY" => (RECEIPT_DISEASE, 2, "UKE SY"),
            "SI" => (RECEIPT_PROCEDURE, 4, "UKE SI"),
            "IY" => (RECEIPT_DRUG, 4, "UKE IY"),
            "TO" => (RECEIPT_DEVICE, 4, "UKE TO"),
            _ => continue,
        };
        let code = rec.field(column).unwrap_or("").trim();
        if code.is_empty() {
            diags.push(
                Diagnostic::new(
                    &codes::EMPTY_CODE,
                    format!("{} record without a code", spec.id),
                )
                .at(col_loc(&rec, column, spec.col(column).map(|c| c.name))),
            );
            continue;
        }
        if spec.id == "SY" {
            let name = rec.field(6).unwrap_or("").trim();
            if code == UNCODED_DISEASE {
                diags.push(
                    Diagnostic::new(&codes::UNCODED_DISEASE, "disease counted by its name")
                        .at(col_loc(&rec, 6, Some("傷病名称")))
                        .excerpt(Excerpt::text(name)),
                );
                let q = Query {
                    system,
                    text: name,
                    ..Query::default()
                };
                counter.add(&q, Source::Receipt, context, name);
            } else {
                counter.add(&Query::code(system, code), Source::Receipt, context, "");
            }
            // 修飾語コード: 4 characters each, concatenated.
            let mods = rec.field(5).unwrap_or("").trim();
            let chars: Vec<char> = mods.chars().collect();
            for m in chars.chunks(4) {
                let m: String = m.iter().collect();
                counter.add(
                    &Query::code(RECEIPT_MODIFIER, &m),
                    Source::Receipt,
                    "UKE SY 修飾語",
                    "",
                );
            }
        } else {
            let display = if spec.id == "TO" {
                rec.field(10).unwrap_or("").trim()
            } else {
                ""
            };
            counter.add(
                &Query::code(system, code),
                Source::Receipt,
                context,
                display,
            );
        }
    }
    p.finish(diags);
    tally.keys = counter.occurrences() - before;
    tally
}
