//! Synthetic SS-MIX2 standardized storage.
//!
//! [`generate`] returns a streaming iterator of `(relative path, bytes)`: one
//! patient's files at a time, so memory stays flat at 100 000 patients. Paths follow
//! the storage layout `<id[0:3]>/<id[3:6]>/<id>/<診療日|->/<データ種別>/<file>` with
//! the 7-part file name
//! `<患者ID>_<診療日>_<データ種別>_<オーダNo>_<発生日時>_<診療科>_<condition flag>`.
//! Messages are HL7 v2.5 in ISO-2022-JP (`encoding_rs`), segments ended by CR.
//!
//! Per patient (ids `0000000001`, `0000000002`, … zero-padded to 10 digits):
//!
//! | data type | message | how often |
//! |---|---|---|
//! | ADT-00 | ADT^A08: EVN, PID (漢字/カナ names, address, phone), PV1, OBX 身長/体重/血液型, AL1, IN1 | every patient; 8 % also have a superseded `_2` version |
//! | ADT-61 | ADT^A60: IAM drug (HOT9), food and environment (JLAC10 or local) allergens | 45 % |
//! | PPR-01 | PPR^ZD1: PRB + ZPR per disease (MEDIS 病名管理番号/交換用コード, ICD-10; some suspected, some ended; cancers marked 未告知 in PRB-25 = `V`) | 70 % |
//! | OMP-01 | RDE^O11: ORC/RXE/TQ1/RXR per drug (HOT9, JAMI 用法コード) | 70 % of visits |
//! | OML-11 | OUL^R22: SPM/OBR/ORC + about 10 OBX (JLAC10 codes from the JP-CLINS code systems) | 60 % of visits |
//! | ADT-22 / ADT-52 | ADT^A01 admission / ADT^A03 discharge | 15 % of patients have a stay |
//! | ADT-42 | ADT^A02 transfer: out to the ICU ward and back (PV1-3 new bed, PV1-6 prior bed, EVN-6 time) | 40 % of stays of 5 days or more |
//!
//! Codes come from the NHO sample storage and the JP-CLINS examples (see
//! `tables`); two conventions are local because no public table was at hand: a
//! suspected diagnosis has PRB-13 `S^疑い^99PCS`, and diseases without a known
//! MEDIS code use `L000n^…^99DIS` (no ZPR). OML-11 uses, per storage, one JLAC10
//! code per JP-CLINS lab group (the "hospital's method"), SPM-4 taken from the
//! code's specimen digits.
//!
//! 5 % of orders are corrected (an older `_2` file and a newer `_1` with the same
//! order number) and 3 % are deleted (`_0`).
//!
//! The same seed gives the same bytes, and patient *n* does not depend on the
//! number of patients (each patient draws from its own stream, [`Rng::derive`]).
//! Transfers draw from a stream of their own and come last in a patient's files,
//! so adding them left every other file of a seed byte for byte as it was.
//!
//! **Faults.** With [`Options::fault_rate`] > 0, that share of message files gets
//! one realistic fault ([`FaultKind`]) and the storage root gets a manifest,
//! `faults.tsv` (`path<TAB>fault<TAB>detail`, one line per faulty file, after a
//! header line), so tests can check that a reader reports each one. The manifest
//! is not a message file: move it out (or skip it) before reading the storage.
//!
//! Everything is fictitious; no person in the output exists.

mod message;
mod tables;
mod time;

use crate::rng::Rng;
use message::{Msg, Seg};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
pub use time::{Date, Stamp};

/// File name of the fault manifest at the storage root.
pub const FAULT_MANIFEST: &str = "faults.tsv";

/// The order number used for data that is not order-based (ADT, PPR).
pub const NO_ORDER: &str = "999999999999999";

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of patients.
    pub patients: u64,
    /// Share of message files (0.0–1.0) that get one injected fault.
    pub fault_rate: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            patients: 10,
            fault_rate: 0.0,
        }
    }
}

/// Which JP-CLINS code system a lab code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabSet {
    /// `JP_CLINS_ObsLabResult_CoreLabo_CS` (core lab tests).
    Core,
    /// `JP_CLINS_ObsLabResult_InfectionLabo_CS` (infection tests).
    Infection,
}

/// A JLAC10 lab code, as listed in the JP-CLINS lab code systems.
#[derive(Clone, Debug)]
pub struct LabCode {
    /// The 17-character JLAC10 code.
    pub code: String,
    /// Japanese name (the `ja` designation, else the display).
    pub name: String,
    /// The parent concept's code, e.g. `ALB`, `HBs-AG-RESULT`.
    pub group: String,
    /// The code system.
    pub set: LabSet,
}

impl LabCode {
    /// The JLAC10 specimen (材料) code: characters 10–12 of the code.
    pub fn material(&self) -> &str {
        self.code.get(9..12).unwrap_or("")
    }
}

/// A kind of injected fault. [`FaultKind::as_str`] is the token in `faults.tsv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// PID-3 names another patient than the folder.
    PidMismatch,
    /// The message's care-date field (SS-MIX2 §1.4) is a day before the folder's date.
    CareDateMismatch,
    /// A segment ends (CR) while the JIS X 0208 escape is still open: the
    /// `ESC ( B` before the CR is missing.
    UnterminatedEscape,
    /// One kanji run is written as raw CP932 (Shift_JIS) bytes instead of JIS.
    Cp932Leak,
    /// A stray 0x1C byte after the first segment.
    StrayFs,
    /// A UTF-8 byte-order mark at the start of the file.
    Bom,
    /// A required segment is missing (every occurrence of it).
    MissingSegment,
    /// The order number is 13 digits (file name and ORC-2/OBR-2).
    ShortOrderNumber,
    /// The file name's 発生日時 has month 13.
    BadDateInName,
    /// PID-7 (birth date) is the 30th of February.
    BadDateInField,
}

impl FaultKind {
    /// Every kind, in manifest order.
    pub const ALL: [FaultKind; 10] = [
        FaultKind::PidMismatch,
        FaultKind::CareDateMismatch,
        FaultKind::UnterminatedEscape,
        FaultKind::Cp932Leak,
        FaultKind::StrayFs,
        FaultKind::Bom,
        FaultKind::MissingSegment,
        FaultKind::ShortOrderNumber,
        FaultKind::BadDateInName,
        FaultKind::BadDateInField,
    ];

    /// The stable token used in `faults.tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::PidMismatch => "pid-mismatch",
            FaultKind::CareDateMismatch => "care-date-mismatch",
            FaultKind::UnterminatedEscape => "unterminated-escape",
            FaultKind::Cp932Leak => "cp932-leak",
            FaultKind::StrayFs => "stray-fs",
            FaultKind::Bom => "bom",
            FaultKind::MissingSegment => "missing-segment",
            FaultKind::ShortOrderNumber => "short-order-number",
            FaultKind::BadDateInName => "bad-date-in-name",
            FaultKind::BadDateInField => "bad-date-in-field",
        }
    }

    /// The kind for a manifest token.
    pub fn from_token(token: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.as_str() == token)
    }
}

/// Generates a storage: `(path relative to the storage root, file bytes)` for every
/// message file, patient by patient, then `faults.tsv` when faults are injected.
///
/// `lab_codes` are the JLAC10 codes OML-11 results use (from the JP-CLINS
/// CoreLabo/InfectionLabo code systems); when empty, the handful of codes in the
/// NHO sample is used.
pub fn generate(options: &Options, seed: u64, lab_codes: &[LabCode]) -> Generator {
    Generator::new(options, seed, lab_codes)
}

/// The streaming iterator [`generate`] returns.
pub struct Generator {
    ctx: Ctx,
    next_patient: u64,
    pending: VecDeque<(PathBuf, Vec<u8>)>,
    manifest: String,
    manifest_done: bool,
}

impl Iterator for Generator {
    type Item = (PathBuf, Vec<u8>);

    fn next(&mut self) -> Option<(PathBuf, Vec<u8>)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.next_patient < self.ctx.options.patients {
                let index = self.next_patient;
                self.next_patient += 1;
                self.patient_files(index);
                continue;
            }
            if self.ctx.options.fault_rate > 0.0 && !self.manifest_done {
                self.manifest_done = true;
                let text = std::mem::take(&mut self.manifest);
                return Some((PathBuf::from(FAULT_MANIFEST), text.into_bytes()));
            }
            return None;
        }
    }
}

/// Storage-wide settings.
struct Ctx {
    options: Options,
    seed: u64,
    /// One code per lab group (the hospital's method), core tests.
    core_panel: Vec<LabCode>,
    /// One code per group, infection tests.
    infection_panel: Vec<LabCode>,
    /// MSH-18 / MSH-20 spellings this "hospital" uses.
    charset: (&'static str, &'static str),
}

/// A fictitious patient.
struct Patient {
    index: u64,
    id: String,
    family: (&'static str, &'static str),
    given: (&'static str, &'static str),
    sex: &'static str,
    birth: Date,
    zip: &'static str,
    address: String,
    phone: String,
    plan: usize,
    insurer: String,
    insured_from: Date,
    height: f64,
    weight: f64,
    abo: &'static str,
}

impl Patient {
    fn xpn(&self) -> String {
        format!(
            "{}^{}^^^^^L^I~{}^{}^^^^^L^P",
            self.family.0, self.given.0, self.family.1, self.given.1
        )
    }

    fn pid(&self, full: bool) -> Seg {
        let mut s = Seg::new("PID")
            .f(1, "0001")
            .f(3, format!("{}^^^^PI", self.id))
            .f(5, self.xpn())
            .f(7, self.birth.yyyymmdd())
            .f(8, self.sex);
        if full {
            s = s
                .f(11, format!("^^^^{}^JPN^H^{}", self.zip, self.address))
                .f(13, format!("^PRN^PH^^^^^^^^^{}", self.phone));
        }
        s
    }
}

/// A message file before faults, encoding and naming.
struct Draft {
    care_date: Option<Date>,
    data_type: &'static str,
    order_no: String,
    occurred: Stamp,
    dept: &'static str,
    flag: u8,
    msg: Msg,
}

const FULLWIDTH_DIGITS: [&str; 10] = ["０", "１", "２", "３", "４", "５", "６", "７", "８", "９"];

fn fullwidth(n: u64) -> String {
    n.to_string()
        .bytes()
        .map(|b| FULLWIDTH_DIGITS[usize::from(b - b'0')])
        .collect()
}

/// 保険者番号 check digit: digits from the right weighted 2, 1, 2, …, digit sums
/// of the products added, 10 minus the last digit.
fn insurer_check_digit(digits: &str) -> u32 {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
        sum += d / 10 + d % 10;
    }
    (10 - sum % 10) % 10
}

fn fallback_lab_codes() -> Vec<LabCode> {
    // (sample) NHO OML-11 codes.
    [
        ("3A016000002327102", "A/G比", "AG"),
        ("3A010000002327101", "総蛋白", "TP"),
        ("3A015000002327101", "アルブミン", "ALB"),
        ("3B035000002327201", "AST", "AST"),
        ("3B050000002327201", "LDH", "LD"),
    ]
    .into_iter()
    .map(|(code, name, group)| LabCode {
        code: code.to_owned(),
        name: name.to_owned(),
        group: group.to_owned(),
        set: LabSet::Core,
    })
    .collect()
}

/// Kangxi radicals that code-system text uses in place of the ideograph (the
/// JP-CLINS lab names contain ⾎ U+2F8E and ⽩ U+2F69), mapped to the ideograph.
const KANGXI: &[(char, char)] = &[
    ('\u{2F08}', '人'),
    ('\u{2F1D}', '口'),
    ('\u{2F3C}', '心'),
    ('\u{2F47}', '日'),
    ('\u{2F49}', '月'),
    ('\u{2F4A}', '木'),
    ('\u{2F54}', '水'),
    ('\u{2F69}', '白'),
    ('\u{2F6C}', '目'),
    ('\u{2F81}', '肉'),
    ('\u{2F8E}', '血'),
    ('\u{2FA6}', '金'),
    ('\u{2FBB}', '骨'),
];

/// Text that ISO-2022-JP can carry: Kangxi radicals become their ideographs and
/// any other character outside ASCII and JIS X 0208 becomes ■ (the NHO rule for
/// 外字), so the encoder never has to fall back to numeric character references.
pub fn jis_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            let c = KANGXI.iter().find(|(k, _)| *k == c).map_or(c, |(_, v)| *v);
            let mut buf = [0u8; 4];
            let (_, _, unmappable) = encoding_rs::ISO_2022_JP.encode(c.encode_utf8(&mut buf));
            if unmappable || c == '\u{1B}' {
                '■'
            } else {
                c
            }
        })
        .collect()
}

/// One code per group, preferring serum (023), then whole blood with additive
/// (019), urine (001), then anything; the choice within a material is seeded.
fn panel(codes: &[LabCode], set: LabSet, rng: &mut Rng) -> Vec<LabCode> {
    let mut groups: Vec<&str> = Vec::new();
    for c in codes.iter().filter(|c| c.set == set) {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    let mut out = Vec::new();
    for g in groups {
        let members: Vec<&LabCode> = codes
            .iter()
            .filter(|c| c.set == set && c.group == g && c.code.len() == 17)
            .collect();
        let chosen = ["023", "019", "001"]
            .iter()
            .map(|m| {
                members
                    .iter()
                    .filter(|c| c.material() == *m)
                    .copied()
                    .collect::<Vec<_>>()
            })
            .find(|v| !v.is_empty())
            .unwrap_or(members);
        if let Some(c) = rng.choose(&chosen) {
            let mut c = (*c).clone();
            c.name = jis_text(&c.name);
            out.push(c);
        }
    }
    out
}

impl Generator {
    fn new(options: &Options, seed: u64, lab_codes: &[LabCode]) -> Generator {
        let mut rng = Rng::derive(seed, u64::MAX);
        let fallback;
        let codes = if lab_codes.is_empty() {
            fallback = fallback_lab_codes();
            &fallback[..]
        } else {
            lab_codes
        };
        let core_panel = panel(codes, LabSet::Core, &mut rng);
        let infection_panel = panel(codes, LabSet::Infection, &mut rng);
        let charset = *rng
            .choose(&[
                ("~ISO IR87", "ISO 2022-1994"),
                ("~ISO IR87", "ISO2022-1994"),
                ("~ISOIR87", "ISO 2022-1994"),
            ])
            .unwrap_or(&("~ISO IR87", "ISO 2022-1994"));
        let mut manifest = String::new();
        if options.fault_rate > 0.0 {
            manifest.push_str("path\tfault\tdetail\n");
        }
        Generator {
            ctx: Ctx {
                options: Options {
                    patients: options.patients,
                    fault_rate: options.fault_rate.clamp(0.0, 1.0),
                },
                seed,
                core_panel,
                infection_panel,
                charset,
            },
            next_patient: 0,
            pending: VecDeque::new(),
            manifest,
            manifest_done: false,
        }
    }

    fn patient_files(&mut self, index: u64) {
        let mut rng = Rng::derive(self.ctx.seed, index);
        let patient = make_patient(index, &mut rng);
        let drafts = self.ctx.drafts(&patient, &mut rng);
        for draft in drafts {
            let (path, bytes, fault) = self.ctx.finish(&patient, draft, &mut rng);
            if let Some((kind, detail)) = fault {
                let _ = writeln!(
                    self.manifest,
                    "{}\t{}\t{}",
                    path.to_string_lossy().replace('\\', "/"),
                    kind.as_str(),
                    detail
                );
            }
            self.pending.push_back((path, bytes));
        }
    }
}

/// The identity of generated patient `index` (0-based) of a storage generated with
/// `seed`: what the same hospital's receipts carry (for [`crate::uke`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Patient id (the storage folder, PID-3.1; the receipts' カルテ番号).
    pub id: String,
    /// Family name (漢字, カナ).
    pub family: (&'static str, &'static str),
    /// Given name (漢字, カナ).
    pub given: (&'static str, &'static str),
    /// True for a woman.
    pub female: bool,
    /// Birth date (year, month, day).
    pub birth: (i64, u32, u32),
    /// 保険者番号 of the IN1 (8 digits).
    pub insurer: String,
}

/// The identity of patient `index` of the storage [`generate`] makes with `seed`
/// (the same values its PID and IN1 carry).
pub fn person(seed: u64, index: u64) -> Person {
    let mut rng = Rng::derive(seed, index);
    let p = make_patient(index, &mut rng);
    Person {
        id: p.id,
        family: p.family,
        given: p.given,
        female: p.sex == "F",
        birth: p.birth.parts(),
        insurer: p.insurer,
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T], default: T) -> T {
    rng.choose(items).copied().unwrap_or(default)
}

fn make_patient(index: u64, rng: &mut Rng) -> Patient {
    let id = format!("{:010}", index + 1);
    let female = rng.chance(0.5);
    let family = pick(rng, tables::FAMILY_NAMES, ("山田", "ヤマダ"));
    let given = if female {
        pick(rng, tables::FEMALE_NAMES, ("花子", "ハナコ"))
    } else {
        pick(rng, tables::MALE_NAMES, ("太郎", "タロウ"))
    };
    let birth = Date::ymd(1935, 1, 1).plus(rng.range(0, 365 * 85) as i64);
    let (zip, city, area) = pick(
        rng,
        tables::ADDRESSES,
        ("105-0001", "東京都港区虎ノ門", "03"),
    );
    let address = format!(
        "{}{}－{}－{}",
        city,
        fullwidth(rng.range(1, 9)),
        fullwidth(rng.range(1, 30)),
        fullwidth(rng.range(1, 20))
    );
    // Ten digits in all: area code, exchange, line.
    let w = 6 - area.len().min(4);
    let exchange = rng.range(10u64.pow(w as u32 - 1), 10u64.pow(w as u32) - 1);
    let phone = format!("{area}-{exchange}-{:04}", rng.range(0, 9999));
    let plan = rng.below(tables::INSURANCE_PLANS.len() as u64) as usize;
    let base = format!(
        "{}{:02}{:03}",
        tables::INSURANCE_PLANS[plan].0,
        rng.range(1, 47),
        rng.range(1, 999)
    );
    let insurer = format!("{base}{}", insurer_check_digit(&base));
    let height = if female {
        rng.normal(156.0, 6.0)
    } else {
        rng.normal(169.0, 6.5)
    };
    let bmi = rng.normal(22.5, 3.0);
    Patient {
        index,
        id,
        family,
        given,
        sex: if female { "F" } else { "M" },
        birth,
        zip,
        address,
        phone,
        plan,
        insurer,
        insured_from: Date::ymd(2015, 4, 1).plus(rng.range(0, 2500) as i64),
        height,
        weight: bmi * (height / 100.0) * (height / 100.0),
        abo: pick(rng, &["A", "A", "A", "O", "O", "B", "AB"], "A"),
    }
}

/// The seed mix of the transfer stream (ASCII "transfer").
const TRANSFER_STREAM: u64 = 0x7472_616e_7366_6572;

/// A patient's ward, room and bed during a stay.
fn stay_bed(p: &Patient) -> (u64, u64, u64) {
    let ward = 30 + (p.index % 8);
    (ward, ward * 10 + (p.index % 7), 1 + p.index % 4)
}

fn xcn(doc: (&str, &str, &str)) -> String {
    format!("{}^{}^{}^^^^^^^L^^^^^I", doc.0, doc.1, doc.2)
}

impl Ctx {
    fn msh(&self, msg_type: &str, at: Stamp, control: String) -> Seg {
        Seg::new("MSH")
            .f(1, "^~\\&")
            .f(2, "HIS123")
            .f(3, "SEND")
            .f(4, "GW")
            .f(5, "RCV")
            .f(6, at.msh7())
            .f(8, msg_type)
            .f(9, control)
            .f(10, "P")
            .f(11, "2.5")
            .f(17, self.charset.0)
            .f(19, self.charset.1)
            .f(
                20,
                "SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO",
            )
    }

    /// Every message file of one patient, in a stable order.
    fn drafts(&self, p: &Patient, rng: &mut Rng) -> Vec<Draft> {
        let mut out = Vec::new();
        let mut control = 0u32;
        let mut next_control = |at: Stamp| {
            control += 1;
            format!("{}{:04}", at.ts14(), control)
        };
        let mut order_seq = 0u64;
        let mut next_order = || {
            order_seq += 1;
            format!("{:015}", (p.index + 1) * 1000 + order_seq)
        };

        // Visits: outpatient dates in 2023–2025, sorted.
        let first = Date::ymd(2023, 1, 4);
        let mut visits: Vec<Date> = (0..rng.range(1, 8))
            .map(|_| first.plus(rng.range(0, 3 * 365 - 10) as i64))
            .collect();
        visits.sort();
        visits.dedup();
        let registered = visits
            .first()
            .copied()
            .unwrap_or(first)
            .plus(-(rng.range(0, 30) as i64))
            .at(
                rng.range(8, 11) as u32,
                rng.range(0, 59) as u32,
                rng.range(0, 59) as u32,
                rng.range(0, 999) as u32,
            );
        let dept = pick(rng, tables::DEPARTMENTS, ("01", "内科"));
        let doctor = pick(rng, tables::DOCTORS, ("D1001", "医師", "一郎"));

        // ADT-00, possibly with a superseded earlier version.
        if rng.chance(0.08) {
            let mut old = self.adt00(p, registered, next_control(registered), rng);
            // The earlier version had no phone number yet.
            for pid in old.each_mut("PID") {
                pid.set(13, "");
            }
            out.push(Draft {
                care_date: None,
                data_type: "ADT-00",
                order_no: NO_ORDER.into(),
                occurred: registered,
                dept: "-",
                flag: 2,
                msg: old,
            });
            let later = registered
                .date
                .plus(rng.range(30, 400) as i64)
                .at(17, 5, 12, 480);
            out.push(Draft {
                care_date: None,
                data_type: "ADT-00",
                order_no: NO_ORDER.into(),
                occurred: later,
                dept: "-",
                flag: 1,
                msg: self.adt00(p, later, next_control(later), rng),
            });
        } else {
            out.push(Draft {
                care_date: None,
                data_type: "ADT-00",
                order_no: NO_ORDER.into(),
                occurred: registered,
                dept: "-",
                flag: 1,
                msg: self.adt00(p, registered, next_control(registered), rng),
            });
        }

        if rng.chance(0.45) {
            let at = registered.plus_minutes(rng.range(5, 120) as i64);
            out.push(Draft {
                care_date: None,
                data_type: "ADT-61",
                order_no: NO_ORDER.into(),
                occurred: at,
                dept: "-",
                flag: 1,
                msg: self.adt61(p, at, next_control(at), rng),
            });
        }

        if rng.chance(0.7) {
            let last = visits.last().copied().unwrap_or(first);
            let at = last.at(18, rng.range(0, 59) as u32, rng.range(0, 59) as u32, 0);
            out.push(Draft {
                care_date: None,
                data_type: "PPR-01",
                order_no: NO_ORDER.into(),
                occurred: at,
                dept: dept.0,
                flag: 1,
                msg: self.ppr01(p, &visits, at, next_control(at), doctor, dept, rng),
            });
        }

        // An inpatient stay.
        let stay = if rng.chance(0.15) {
            let admit = visits
                .last()
                .copied()
                .unwrap_or(first)
                .plus(rng.range(1, 20) as i64);
            let discharge = admit.plus(rng.range(3, 21) as i64);
            Some((admit, discharge))
        } else {
            None
        };

        let mut encounters: Vec<(Date, bool)> = visits.iter().map(|d| (*d, false)).collect();
        let mut transfers: Vec<Draft> = Vec::new();
        if let Some((admit, discharge)) = stay {
            let a_at = admit.at(rng.range(9, 16) as u32, rng.range(0, 59) as u32, 0, 0);
            let ts = a_at.plus_minutes(rng.range(30, 600) as i64);
            out.push(Draft {
                care_date: Some(admit),
                data_type: "ADT-22",
                order_no: NO_ORDER.into(),
                occurred: ts,
                dept: dept.0,
                flag: 1,
                msg: self.adt_stay(
                    p,
                    "ADT^A01^ADT_A01",
                    a_at,
                    None,
                    ts,
                    next_control(ts),
                    dept.0,
                    doctor,
                ),
            });
            let d_at = discharge.at(rng.range(9, 12) as u32, rng.range(0, 59) as u32, 0, 0);
            let ts = d_at.plus_minutes(rng.range(30, 600) as i64);
            out.push(Draft {
                care_date: Some(discharge),
                data_type: "ADT-52",
                order_no: NO_ORDER.into(),
                occurred: ts,
                dept: dept.0,
                flag: 1,
                msg: self.adt_stay(
                    p,
                    "ADT^A03^ADT_A03",
                    a_at,
                    Some(d_at),
                    ts,
                    next_control(ts),
                    dept.0,
                    doctor,
                ),
            });
            encounters.push((admit, true));
            encounters.push((admit.plus(2), true));
            transfers = self.transfers(p, a_at, d_at, dept.0, doctor);
        }

        for (day, inpatient) in encounters {
            if rng.chance(0.7) {
                let order_no = next_order();
                let ordered = day.at(
                    rng.range(9, 16) as u32,
                    rng.range(0, 59) as u32,
                    rng.range(0, 59) as u32,
                    0,
                );
                let ts = ordered.plus_minutes(rng.range(1, 300) as i64);
                let drugs = rng.range(1, 3) as usize;
                let roll = rng.unit();
                let msg = self.omp01(
                    p,
                    &order_no,
                    ordered,
                    ts,
                    next_control(ts),
                    inpatient,
                    dept,
                    doctor,
                    drugs,
                    rng,
                    "NW",
                );
                if roll < 0.05 {
                    // Corrected: the old file becomes _2, a newer _1 follows.
                    let ts2 = ts.plus_minutes(rng.range(10, 240) as i64);
                    let newer = self.omp01(
                        p,
                        &order_no,
                        ordered,
                        ts2,
                        next_control(ts2),
                        inpatient,
                        dept,
                        doctor,
                        drugs,
                        rng,
                        "XO",
                    );
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OMP-01",
                        order_no: order_no.clone(),
                        occurred: ts,
                        dept: dept.0,
                        flag: 2,
                        msg,
                    });
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OMP-01",
                        order_no,
                        occurred: ts2,
                        dept: dept.0,
                        flag: 1,
                        msg: newer,
                    });
                } else {
                    let flag = if roll < 0.08 { 0 } else { 1 };
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OMP-01",
                        order_no,
                        occurred: ts,
                        dept: dept.0,
                        flag,
                        msg,
                    });
                }
            }
            if rng.chance(0.6) {
                let order_no = next_order();
                let collected = day.at(rng.range(8, 11) as u32, rng.range(0, 59) as u32, 0, 0);
                let reported = collected.plus_minutes(rng.range(60, 600) as i64);
                let ts = reported.plus_minutes(rng.range(1, 30) as i64);
                let infection = inpatient || rng.chance(0.1);
                let roll = rng.unit();
                let msg = self.oml11(
                    p,
                    &order_no,
                    collected,
                    reported,
                    ts,
                    next_control(ts),
                    inpatient,
                    dept,
                    doctor,
                    infection,
                    rng,
                );
                if roll < 0.05 {
                    let ts2 = ts.plus_minutes(rng.range(30, 600) as i64);
                    let newer = self.oml11(
                        p,
                        &order_no,
                        collected,
                        reported.plus_minutes(30),
                        ts2,
                        next_control(ts2),
                        inpatient,
                        dept,
                        doctor,
                        infection,
                        rng,
                    );
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OML-11",
                        order_no: order_no.clone(),
                        occurred: ts,
                        dept: dept.0,
                        flag: 2,
                        msg,
                    });
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OML-11",
                        order_no,
                        occurred: ts2,
                        dept: dept.0,
                        flag: 1,
                        msg: newer,
                    });
                } else {
                    let flag = if roll < 0.08 { 0 } else { 1 };
                    out.push(Draft {
                        care_date: Some(day),
                        data_type: "OML-11",
                        order_no,
                        occurred: ts,
                        dept: dept.0,
                        flag,
                        msg,
                    });
                }
            }
        }
        // Last, so the other files' fault draws are unchanged.
        out.extend(transfers);
        out
    }

    /// ADT-42 transfers of a stay (their own random stream): for 40 % of stays
    /// of at least 5 days, out to the ICU ward the day after admission and back to
    /// the original bed two or three days later.
    fn transfers(
        &self,
        p: &Patient,
        admit: Stamp,
        discharge: Stamp,
        dept: &'static str,
        doctor: (&str, &str, &str),
    ) -> Vec<Draft> {
        let mut rng = Rng::derive(self.seed ^ TRANSFER_STREAM, p.index);
        if discharge.date.since(admit.date) < 5 || !rng.chance(0.4) {
            return Vec::new();
        }
        let (ward, room, bed) = stay_bed(p);
        let home = format!("{ward}^{room}^{bed}^^^N");
        let icu = format!("ICU^{}^{}^^^N", 1 + p.index % 6, 1 + p.index % 2);
        let out_at = admit
            .date
            .plus(1)
            .at(rng.range(9, 17) as u32, rng.range(0, 59) as u32, 0, 0);
        let back_at = out_at.date.plus(rng.range(2, 3) as i64).at(
            rng.range(9, 17) as u32,
            rng.range(0, 59) as u32,
            0,
            0,
        );
        let mut drafts = Vec::new();
        for (n, (at, to, from)) in [(out_at, &icu, &home), (back_at, &home, &icu)]
            .into_iter()
            .enumerate()
        {
            let ts = at.plus_minutes(rng.range(5, 120) as i64);
            // Control ids outside the patient's counter (which stays below 9000).
            let control = format!("{}{:04}", ts.ts14(), 9001 + n);
            let mut m = Msg::default();
            m.push(self.msh("ADT^A02^ADT_A02", ts, control));
            m.push(
                Seg::new("EVN")
                    .f(2, ts.ts12())
                    .f(6, at.ts12())
                    .f(7, "SEND001"),
            );
            m.push(p.pid(false));
            m.push(
                Seg::new("PV1")
                    .f(1, "0001")
                    .f(2, "I")
                    .f(3, to.as_str())
                    .f(6, from.as_str())
                    .f(7, xcn(doctor))
                    .f(10, dept)
                    .f(17, xcn(doctor))
                    .f(44, admit.ts12()),
            );
            drafts.push(Draft {
                care_date: Some(at.date),
                data_type: "ADT-42",
                order_no: NO_ORDER.into(),
                occurred: ts,
                dept,
                flag: 1,
                msg: m,
            });
        }
        drafts
    }

    fn adt00(&self, p: &Patient, at: Stamp, control: String, rng: &mut Rng) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh("ADT^A08^ADT_A01", at, control));
        m.push(Seg::new("EVN").f(2, at.ts12()).f(7, "SEND001"));
        m.push(p.pid(true).f(33, at.ts14()));
        m.push(Seg::new("PV1").f(1, "0001").f(2, "O"));
        m.push(
            Seg::new("OBX")
                .f(1, "1")
                .f(2, "NM")
                .f(3, "9N001000000000001^身長^JC10")
                .f(5, format!("{:.1}", p.height))
                .f(6, "cm^cm^ISO+")
                .f(11, "F"),
        );
        m.push(
            Seg::new("OBX")
                .f(1, "2")
                .f(2, "NM")
                .f(3, "9N006000000000001^体重^JC10")
                .f(5, format!("{:.1}", p.weight))
                .f(6, "kg^kg^ISO+")
                .f(11, "F"),
        );
        m.push(
            Seg::new("OBX")
                .f(1, "3")
                .f(2, "CWE")
                .f(3, "5H010000009199911^血液型-ABO式^JC10")
                .f(5, format!("{0}^{0}^JSHR002", p.abo))
                .f(11, "F"),
        );
        if rng.chance(0.1) {
            m.push(
                Seg::new("AL1")
                    .f(1, "1")
                    .f(2, "DA^薬剤アレルギー^HL70127")
                    .f(3, "1^ペニシリン^99XYZ"),
            );
        }
        let (code, name, _) = tables::INSURANCE_PLANS[p.plan];
        m.push(
            Seg::new("IN1")
                .f(1, "1")
                .f(2, format!("{code}^{name}^JHSD0001"))
                .f(3, p.insurer.as_str())
                .f(12, p.insured_from.yyyymmdd())
                .f(17, "SEL^本人^HL70063"),
        );
        m
    }

    fn adt61(&self, p: &Patient, at: Stamp, control: String, rng: &mut Rng) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh("ADT^A60^ADT_A60", at, control));
        m.push(Seg::new("EVN").f(2, at.ts14()));
        m.push(p.pid(false));
        let n = rng.range(1, 4) as usize;
        let mut used: Vec<usize> = Vec::new();
        for i in 0..n {
            let k = rng.below(tables::ALLERGENS.len() as u64) as usize;
            if used.contains(&k) {
                continue;
            }
            used.push(k);
            let a = &tables::ALLERGENS[k];
            let sev = pick(rng, tables::SEVERITIES, ("MI", "軽度"));
            let mut s = Seg::new("IAM")
                .f(1, (i + 1).to_string())
                .f(2, format!("{}^{}^HL70127", a.category.0, a.category.1))
                .f(3, format!("{}^{}^{}", a.code, a.name, a.system))
                .f(4, format!("{}^{}^HL70128", sev.0, sev.1))
                .f(5, a.reaction)
                .f(6, "A^追加^HL70323");
            if rng.chance(0.5) {
                s = s.f(11, at.date.plus(-(rng.range(100, 5000) as i64)).yyyymmdd());
            } else {
                s = s.f(
                    12,
                    pick(
                        rng,
                        &["小学校低学年の頃", "二十歳頃", "時期不明"],
                        "時期不明",
                    ),
                );
            }
            m.push(s);
        }
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn ppr01(
        &self,
        p: &Patient,
        visits: &[Date],
        at: Stamp,
        control: String,
        doctor: (&str, &str, &str),
        dept: (&str, &str),
        rng: &mut Rng,
    ) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh("PPR^ZD1^PPR_ZD1", at, control));
        m.push(p.pid(false));
        let n = rng.range(1, 5) as usize;
        let mut used: Vec<usize> = Vec::new();
        for i in 0..n {
            let k = rng.below(tables::DISEASES.len() as u64) as usize;
            if used.contains(&k) {
                continue;
            }
            used.push(k);
            let d = &tables::DISEASES[k];
            let start = pick(rng, visits, at.date);
            let local = d.key.starts_with('L');
            let system = if local { "99DIS" } else { "MDCDX2" };
            let mut s = Seg::new("PRB")
                .f(1, "AD")
                .f(2, start.yyyymmdd())
                .f(3, format!("{}^{}^{}", d.key, d.name, system))
                .f(4, format!("{}{:02}", p.id, i + 1))
                .f(7, start.yyyymmdd())
                .f(10, format!("{}^^I10^O^外来時^JHSD0004", d.icd10))
                .f(16, start.plus(-(rng.range(0, 60) as i64)).yyyymmdd())
                .f(17, d.name);
            if i == 0 {
                s = s.f(18, "1^主診断^JHSD0007");
            }
            // The site's 未告知 marker (PRB-25 Security/Sensitivity, HL7 0272 `V`):
            // cancers are not yet told to the patient. No randomness is drawn, so
            // every other byte of a storage stays what the seed gives.
            if d.name.contains('癌') {
                s = s.f(25, "V^very restricted^HL70272");
            }
            if rng.chance(0.15) {
                s = s.f(13, "S^疑い^99PCS");
            }
            if rng.chance(0.25) {
                let end = start.plus(rng.range(7, 120) as i64);
                s = s
                    .f(9, end.yyyymmdd())
                    .f(14, "R^治癒^HL70241")
                    .f(15, end.yyyymmdd());
            }
            m.push(s);
            if !local {
                let mut z = Seg::new("ZPR").f(2, format!("{}^{}^MDCDX2", d.key, d.name));
                if !d.ex.is_empty() {
                    z = z.f(5, format!("{}^{}^MDCDX2", d.ex, d.name));
                }
                m.push(z);
            }
        }
        m.push(
            Seg::new("ORC")
                .f(1, "NW")
                .f(12, xcn(doctor))
                .f(17, format!("{}^{}^99XY1", dept.0, dept.1))
                .f(29, "O^外来患者オーダ^HL70482"),
        );
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn adt_stay(
        &self,
        p: &Patient,
        msg_type: &str,
        admit: Stamp,
        discharge: Option<Stamp>,
        at: Stamp,
        control: String,
        dept: &str,
        doctor: (&str, &str, &str),
    ) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh(msg_type, at, control));
        let mut evn = Seg::new("EVN").f(2, at.ts12()).f(7, "SEND001");
        if let Some(d) = discharge {
            evn = evn.f(6, d.ts12());
        }
        m.push(evn);
        m.push(p.pid(false));
        let (ward, room, bed) = stay_bed(p);
        let mut pv1 = Seg::new("PV1")
            .f(1, "0001")
            .f(2, "I")
            .f(3, format!("{ward}^{room}^{bed}^^^N"))
            .f(7, xcn(doctor))
            .f(10, dept)
            .f(17, xcn(doctor))
            .f(44, admit.ts12());
        if let Some(d) = discharge {
            pv1 = pv1.f(36, "01").f(45, d.ts12());
        }
        m.push(pv1);
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn orc(
        &self,
        control: &str,
        order_no: &str,
        filler: &str,
        rp: &str,
        ordered: Stamp,
        inpatient: bool,
        dept: (&str, &str),
        doctor: (&str, &str, &str),
    ) -> Seg {
        Seg::new("ORC")
            .f(1, control)
            .f(2, order_no)
            .f(3, filler)
            .f(4, rp)
            .f(9, ordered.ts14())
            .f(10, "E0058^入力者^花子^^^^^^^L^^^^^I")
            .f(12, xcn(doctor))
            .f(13, if inpatient { "32^302^^^^N" } else { "01^^^^^C" })
            .f(17, format!("{}^{}^99XY1", dept.0, dept.1))
            .f(21, "架空総合病院")
            .f(
                29,
                if inpatient {
                    "I^入院患者オーダ^HL70482"
                } else {
                    "O^外来患者オーダ^HL70482"
                },
            )
    }

    fn pv1(&self, inpatient: bool, dept: &str, doctor: (&str, &str, &str)) -> Seg {
        Seg::new("PV1")
            .f(1, "0001")
            .f(2, if inpatient { "I" } else { "O" })
            .f(3, if inpatient { "32^302^^^^N" } else { "01^^^^^C" })
            .f(7, xcn(doctor))
            .f(10, dept)
    }

    #[allow(clippy::too_many_arguments)]
    fn omp01(
        &self,
        p: &Patient,
        order_no: &str,
        ordered: Stamp,
        at: Stamp,
        control: String,
        inpatient: bool,
        dept: (&'static str, &'static str),
        doctor: (&str, &str, &str),
        drugs: usize,
        rng: &mut Rng,
        order_control: &str,
    ) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh("RDE^O11^RDE_O11", at, control));
        m.push(p.pid(true));
        m.push(self.pv1(inpatient, dept.0, doctor));
        let days = pick(rng, &[3u64, 5, 7, 14, 28, 30], 7);
        let rx_no = format!("{}{:03}", ordered.date.yyyymmdd(), p.index % 1000);
        for rp in 1..=drugs {
            let drug = &tables::DRUGS[rng.below(tables::DRUGS.len() as u64) as usize];
            let (usage, usage_text, times) = pick(rng, tables::USAGES, tables::USAGES[0]);
            let dose: u64 = drug.dose.parse().unwrap_or(1);
            let daily = dose * u64::from(times);
            m.push(self.orc(
                order_control,
                order_no,
                "",
                &rp.to_string(),
                ordered,
                inpatient,
                dept,
                doctor,
            ));
            m.push(
                Seg::new("RXE")
                    .f(2, format!("{}^{}^HOT9", drug.hot9, drug.name))
                    .f(3, drug.dose)
                    .f(5, format!("{}^{}^MR9P", drug.unit.0, drug.unit.1))
                    .f(10, (daily * days).to_string())
                    .f(11, format!("{}^{}^MR9P", drug.unit.0, drug.unit.1))
                    .f(15, rx_no.as_str())
                    .f(19, format!("{daily}^{}&{}&MR9P", drug.unit.0, drug.unit.1))
                    .f(
                        21,
                        if inpatient {
                            "IHP^入院処方^MR9P~OHI^院内処方^MR9P"
                        } else {
                            "OHP^外来処方^MR9P~OHI^院内処方^MR9P"
                        },
                    ),
            );
            m.push(
                Seg::new("TQ1")
                    .f(1, "1")
                    .f(3, format!("{usage}&{usage_text}&JAMISDP01"))
                    .f(6, format!("{days}^d"))
                    .f(7, format!("{}{:02}", ordered.date.yyyymmdd(), 0)),
            );
            m.push(Seg::new("RXR").f(1, "PO^口^HL70162"));
        }
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn oml11(
        &self,
        p: &Patient,
        order_no: &str,
        collected: Stamp,
        reported: Stamp,
        at: Stamp,
        control: String,
        inpatient: bool,
        dept: (&'static str, &'static str),
        doctor: (&str, &str, &str),
        infection: bool,
        rng: &mut Rng,
    ) -> Msg {
        let mut m = Msg::default();
        m.push(self.msh("OUL^R22^OUL_R22", at, control));
        m.push(p.pid(true));
        m.push(self.pv1(inpatient, dept.0, doctor));
        // Core tests: about 10 from the serum/blood panel, grouped by material.
        let mut chosen: Vec<&LabCode> = Vec::new();
        let want = rng.range(8, 12) as usize;
        for _ in 0..want * 3 {
            if chosen.len() >= want {
                break;
            }
            if let Some(c) = rng.choose(&self.core_panel)
                && !chosen.iter().any(|x| x.group == c.group)
            {
                chosen.push(c);
            }
        }
        if infection {
            for c in &self.infection_panel {
                let g = c.group.as_str();
                if g.ends_with("RESULT") && rng.chance(0.5) {
                    chosen.push(c);
                }
            }
        }
        let mut materials: Vec<&str> = Vec::new();
        for c in &chosen {
            if !materials.contains(&c.material()) {
                materials.push(c.material());
            }
        }
        for (si, mat) in materials.iter().enumerate() {
            let tail = order_no
                .get(order_no.len().saturating_sub(13)..)
                .unwrap_or(order_no);
            let specimen_id = format!("{tail}{:02}", si + 1);
            m.push(
                Seg::new("SPM")
                    .f(1, (si + 1).to_string())
                    .f(2, specimen_id.as_str())
                    .f(4, format!("{mat}^{}^JC10", material_name(mat)))
                    .f(17, collected.ts12()),
            );
            m.push(
                Seg::new("OBR")
                    .f(1, (si + 1).to_string())
                    .f(2, order_no)
                    .f(3, specimen_id.as_str())
                    .f(
                        4,
                        if *mat == "023" {
                            "E002^生化学的検査^99O03"
                        } else {
                            "E001^血液学的検査^99O03"
                        },
                    )
                    .f(7, collected.ts12())
                    .f(8, collected.ts12())
                    .f(16, xcn(doctor))
                    .f(22, reported.ts14()),
            );
            let mut orc = self.orc(
                "SC",
                order_no,
                &specimen_id,
                "",
                reported,
                inpatient,
                dept,
                doctor,
            );
            orc.set(5, "CM");
            m.push(orc);
            let mut set_id = 0;
            for c in chosen.iter().filter(|c| c.material() == *mat) {
                set_id += 1;
                m.push(obx(set_id, c, collected, rng));
            }
        }
        m
    }

    /// Applies a fault (maybe), serialises, encodes and names a draft.
    fn finish(
        &self,
        p: &Patient,
        mut d: Draft,
        rng: &mut Rng,
    ) -> (PathBuf, Vec<u8>, Option<(FaultKind, String)>) {
        let fault = if self.options.fault_rate > 0.0 && rng.chance(self.options.fault_rate) {
            let applicable: Vec<FaultKind> = FaultKind::ALL
                .into_iter()
                .filter(|k| match k {
                    FaultKind::CareDateMismatch => d.care_date.is_some(),
                    FaultKind::ShortOrderNumber => d.order_no != NO_ORDER,
                    _ => true,
                })
                .collect();
            rng.choose(&applicable).copied()
        } else {
            None
        };
        let mut detail = String::new();
        let mut occurred = d.occurred.ts17();
        match fault {
            Some(FaultKind::PidMismatch) => {
                let other = format!("{:010}", p.index + 1 + 500_000);
                for pid in d.msg.each_mut("PID") {
                    pid.set(3, format!("{other}^^^^PI"));
                }
                detail = format!("PID-3 {other}");
            }
            Some(FaultKind::CareDateMismatch) => {
                let (seg, field) = match d.data_type {
                    "OMP-01" => ("ORC", 9),
                    "OML-11" => ("SPM", 17),
                    "ADT-22" => ("PV1", 44),
                    "ADT-42" => ("EVN", 6),
                    _ => ("PV1", 45),
                };
                let mut shown = String::new();
                for s in d.msg.each_mut(seg) {
                    let v = s.get(field).to_owned();
                    if let Some(date) = d.care_date {
                        let new =
                            format!("{}{}", date.plus(-1).yyyymmdd(), v.get(8..).unwrap_or(""));
                        shown.clone_from(&new);
                        s.set(field, new);
                    }
                }
                detail = format!("{seg}-{field} {shown}");
            }
            Some(FaultKind::MissingSegment) => {
                let name = match d.data_type {
                    "ADT-00" | "ADT-61" => "EVN",
                    "ADT-22" | "ADT-42" | "ADT-52" => "PV1",
                    "PPR-01" => "PID",
                    "OMP-01" => "RXR",
                    _ => "SPM",
                };
                // Every occurrence goes: a sender that omits a segment omits it
                // in every group.
                let before = d.msg.segs.len();
                d.msg.segs.retain(|s| s.name() != name);
                detail = format!("{name} ({} dropped)", before - d.msg.segs.len());
            }
            Some(FaultKind::ShortOrderNumber) => {
                let short = d.order_no.get(2..).unwrap_or("").to_owned();
                for name in ["ORC", "OBR"] {
                    for s in d.msg.each_mut(name) {
                        if s.get(2) == d.order_no {
                            s.set(2, short.clone());
                        }
                    }
                }
                detail = format!("order number {short}");
                d.order_no = short;
            }
            Some(FaultKind::BadDateInName) => {
                let ts = d.occurred.ts17();
                occurred = format!(
                    "{}13{}",
                    ts.get(..4).unwrap_or(""),
                    ts.get(6..).unwrap_or("")
                );
                detail = format!("written-at {occurred}");
            }
            Some(FaultKind::BadDateInField) => {
                let bad = format!("{:04}0230", d.occurred.date.parts().0 - 40);
                for pid in d.msg.each_mut("PID") {
                    pid.set(7, bad.clone());
                }
                detail = format!("PID-7 {bad}");
            }
            _ => {}
        }
        let text = d.msg.to_text();
        let (encoded, _, _) = encoding_rs::ISO_2022_JP.encode(&text);
        let mut bytes = encoded.into_owned();
        match fault {
            Some(FaultKind::UnterminatedEscape) => {
                detail = unterminate_escape(&mut bytes);
            }
            Some(FaultKind::Cp932Leak) => {
                detail = leak_cp932(&mut bytes);
            }
            Some(FaultKind::StrayFs) => {
                if let Some(cr) = bytes.iter().position(|b| *b == b'\r') {
                    bytes.insert(cr + 1, 0x1C);
                    detail = format!("byte {}", cr + 1);
                }
            }
            Some(FaultKind::Bom) => {
                bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
                detail = "byte 0".into();
            }
            _ => {}
        }
        let date = d.care_date.map_or_else(|| "-".to_owned(), Date::yyyymmdd);
        let name = format!(
            "{}_{}_{}_{}_{}_{}_{}",
            p.id, date, d.data_type, d.order_no, occurred, d.dept, d.flag
        );
        let path = storage_dir(&p.id).join(&date).join(d.data_type).join(name);
        (path, bytes, fault.map(|k| (k, detail)))
    }
}

/// The patient folder `<id[0:3]>/<id[3:6]>/<id>` (ids shorter than 6 characters are
/// used as they are for the missing levels).
pub fn storage_dir(id: &str) -> PathBuf {
    let a = id.get(..3).unwrap_or(id);
    let b = id.get(3..6).unwrap_or(id.get(3..).unwrap_or(""));
    PathBuf::from(a).join(b).join(id)
}

fn material_name(code: &str) -> &'static str {
    match code {
        "023" => "血清",
        "022" => "血漿",
        "019" => "全血(添加物入り)",
        "018" => "全血",
        "001" => "尿",
        _ => "その他",
    }
}

fn obx(set_id: u32, c: &LabCode, at: Stamp, rng: &mut Rng) -> Seg {
    let code = format!("{}^{}^JC10", c.code, c.name);
    let seg = Seg::new("OBX")
        .f(1, set_id.to_string())
        .f(3, code)
        .f(11, "F")
        .f(14, at.ts12());
    if let Some(&(_, unit, low, high, dec)) = tables::LAB_RANGES
        .iter()
        .find(|r| r.0.eq_ignore_ascii_case(&c.group))
    {
        let mid = (low + high) / 2.0;
        let v = rng.normal(mid, (high - low) / 3.0).max(0.0);
        let flag = if v < low {
            "L"
        } else if v > high {
            "H"
        } else {
            ""
        };
        let seg = seg.f(2, "NM").f(5, format!("{v:.dec$}"));
        let seg = if unit.is_empty() {
            seg
        } else {
            seg.f(6, format!("{unit}^{unit}^99XYZ"))
        };
        seg.f(7, format!("{low:.dec$}-{high:.dec$}")).f(8, flag)
    } else if c.group.ends_with("RESULT")
        || c.group.to_ascii_lowercase().ends_with("class")
        || c.group.starts_with("U-")
        || c.group.starts_with("BLD")
    {
        let (v, t) = if rng.chance(0.9) {
            tables::QUALITATIVE[0]
        } else {
            pick(rng, tables::QUALITATIVE, tables::QUALITATIVE[0])
        };
        seg.f(2, "CWE").f(5, format!("{v}^{t}^JSHR001"))
    } else {
        seg.f(2, "NM")
            .f(5, format!("{:.1}", rng.normal(1.0, 0.3).max(0.0)))
    }
}

const ESC_ASCII: [u8; 3] = [0x1B, b'(', b'B'];
const ESC_JIS: [u8; 3] = [0x1B, b'$', b'B'];

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Removes the `ESC ( B` that closes the last JIS run of a segment, preferring one
/// directly before the CR; returns the manifest detail.
fn unterminate_escape(bytes: &mut Vec<u8>) -> String {
    let mut start = 0;
    let mut seg = 0;
    let mut fallback = None;
    while let Some(cr) = bytes
        .get(start..)
        .and_then(|b| b.iter().position(|x| *x == b'\r'))
    {
        let cr = start + cr;
        seg += 1;
        if cr >= 3 && bytes.get(cr - 3..cr) == Some(&ESC_ASCII[..]) {
            bytes.drain(cr - 3..cr);
            return format!("segment {seg} byte {}", cr - 3);
        }
        if fallback.is_none() && seg > 1 {
            let mut last = None;
            let mut i = start;
            while let Some(at) = find(bytes, &ESC_ASCII, i).filter(|at| *at < cr) {
                last = Some(at);
                i = at + 1;
            }
            if let Some(at) = last {
                fallback = Some((seg, at));
            }
        }
        start = cr + 1;
    }
    if let Some((seg, at)) = fallback {
        bytes.drain(at..at + 3);
        return format!("segment {seg} byte {at}");
    }
    String::new()
}

/// Rewrites the last JIS run of the message as CP932 bytes; returns the detail.
fn leak_cp932(bytes: &mut Vec<u8>) -> String {
    let mut last = None;
    let mut i = 0;
    while let Some(at) = find(bytes, &ESC_JIS, i) {
        last = Some(at);
        i = at + 1;
    }
    let Some(open) = last else {
        return String::new();
    };
    let Some(close) = find(bytes, &ESC_ASCII, open) else {
        return String::new();
    };
    let run = bytes.get(open..close + 3).unwrap_or(&[]).to_vec();
    let (text, _) = encoding_rs::ISO_2022_JP.decode_without_bom_handling(&run);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    bytes.splice(open..close + 3, sjis.iter().copied());
    format!("byte {open} length {}", sjis.len())
}

#[cfg(test)]
mod tests;
