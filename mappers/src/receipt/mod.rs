//! Receipts (レセ電 UKE, 医科) → links to storage patients and what they add to the
//! Patient: pure, no I/O. The CLI reads the files ([`parsers::uke::parse`]) and the
//! storage patients, calls [`link`], applies each [`Patch`] with [`apply`] before the
//! bundles are built, and counts every record by its [`RecordFate`].
//!
//! # Linking a receipt (RE + its HO/KO/SN/…) to a storage patient
//!
//! 1. **カルテ番号** (RE-14 カルテ番号等): compared with the storage patient ids after
//!    trimming spaces and, unless the site says its leading zeros count
//!    (`policy.karte_zeros = "keep"`), leading zeros on both sides (`0000001234` = `1234`). Exactly
//!    one patient → linked, unless the receipt's birth date (RE-7) or sex (RE-6) differ
//!    from that patient's (when both sides have them): then it is **not** linked (`M402`),
//!    since a reused or mistyped number would give one person's claims to another.
//!    Several patients → not linked (`M401`).
//! 2. **Fallback** when no patient has the カルテ番号 (or the receipt has none): HO
//!    保険者番号 (6-digit 国保 numbers zero-padded to 8) + 記号 + 番号 + birth date + sex,
//!    all equal to a storage patient's 被保険者個人識別子 (from IN1/ZI1) and PID-7/PID-8.
//!    番号, birth date and sex are required (an insurer number alone is shared by
//!    millions); 記号・番号 are compared without spaces, full-width ASCII folded to half
//!    width. Exactly one patient → linked (`M403`); several → `M401`; none → `M400`.
//!
//! A link is never guessed: an unlinked receipt's records are still counted.
//!
//! # What a linked receipt adds (per patient, over all its linked receipts)
//!
//! - **枝番** (SN-7, only SN exists for it): taken from SN records of 負担者種別 1 (医保)
//!   whose 保険者番号・記号・番号 (SN-4..6; an empty column means the receipt's HO value)
//!   equal the storage's identifier. Receipts of another insurance (an old one, say) are
//!   not used (`M406`). If the storage has no 枝番 and the receipts give exactly one,
//!   it fills the identifier (`M404`). **If the sources disagree** (the storage's 枝番
//!   and a receipt's, or two receipts), the patient is **withheld** (`M405`, naming every
//!   source): a wrong 枝番 names another member of the same family, and neither source
//!   outranks the other, so neither wins.
//! - **Identifier the storage lacks** (no IN1/ZI1 at all, patient not otherwise withheld):
//!   the linked receipts of the latest 診療年月 give it (`M407`): HO → `保険者番号8:記号:番号:枝番`;
//!   no HO and a 生活保護 KO (公費負担者番号 法別 `12`) → the public-payer form
//!   `公費負担者番号8::受給者番号7:` (`JP_PublicPayer_memberID`). Different candidates → withheld (`M405`).
//! - **A 枝番 learnt earlier**: the ledger keeps the identifier a receipt completed
//!   ([`learnt_branch`]), so a later run without receipts (or whose receipts no longer
//!   reach the patient) completes it again ([`remember_branch`], `M410`) instead of
//!   sending the patient's units under a shorter identifier (a delete + create at the
//!   service). Only for the same patient (local id) and the same 保険者番号・記号・番号:
//!   another insurance leaves the identifier as the storage gives it (`M411`).
//! - A patient the storage's rules withhold (自費, no valid insurance) stays withheld;
//!   receipts do not override the storage's insurance (validity on the as-of date is the
//!   storage's to say).
//!
//! # SY records are not Conditions
//!
//! Receipt 傷病名 cannot tell 保険病名 (claim-only diagnoses) apart, so SY records never
//! become CLINS Conditions: each is counted (linked or not) and feeds the coverage
//! analytics and worklists (`kakehashi tables coverage`). Every other record is counted too.

pub mod codes;

use crate::config::KarteZeros;
use crate::record::{Lineage, MemberId, PatientRecord, Submission};
use crate::uri;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location, Phi};
use parsers::uke::{Kind, Record, UkeFile, date, keys};
use std::collections::BTreeMap;

/// The 生活保護 identifier system (`公費負担者番号8::受給者番号7:`).
pub const PUBLIC_PAYER_MEMBER_ID: &str =
    "http://jpfhir.jp/fhir/clins/Idsystem/JP_PublicPayer_memberID";

/// Why a patient is withheld when the sources disagree.
pub const CONFLICT_REASON: &str = "conflicting 枝番 or identifier between the storage and receipts";

/// A storage patient as the linker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownPatient {
    /// Local patient id (the storage folder's, by default).
    pub local_id: String,
    /// 被保険者個人識別子 from IN1/ZI1, when any.
    pub member_id: Option<MemberId>,
    /// FHIR date.
    pub birth_date: Option<String>,
    /// FHIR gender.
    pub gender: Option<String>,
    /// True when the storage's rules withhold the patient.
    pub withheld: bool,
}

impl KnownPatient {
    /// The linker's view of a mapped patient.
    pub fn from_record(p: &PatientRecord) -> KnownPatient {
        KnownPatient {
            local_id: p.local_id.clone(),
            member_id: p.member_id.clone(),
            birth_date: p.birth_date.clone(),
            gender: p.gender.clone(),
            withheld: matches!(p.submission, Some(Submission::Withheld(_))),
        }
    }
}

/// One receipt file, read.
#[derive(Clone, Copy)]
pub struct ReceiptFile<'a> {
    /// The file as shown in reports.
    pub file: &'a str,
    /// Its records.
    pub uke: &'a UkeFile,
}

/// What happens to one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFate {
    /// Record id (`RE`, `SY`, …).
    pub record: String,
    /// Line in the file.
    pub line: u32,
    /// Receipt number in the file (1-based), for records of a receipt.
    pub receipt: Option<u32>,
    /// The linked patient's local id.
    pub patient: Option<String>,
    /// Outcome (stable text, the run report's key).
    pub outcome: &'static str,
}

/// A change to a storage patient, applied by [`apply`] to the patient the pipeline maps
/// (which is the one [`link`] saw: `expected` guards that).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Patch {
    /// Set the identifier (a filled 枝番, or an identifier the storage lacked).
    Identifier {
        /// The member id value the storage gave (`None`: none).
        expected: Option<String>,
        /// The new identifier.
        member_id: MemberId,
        /// Where it came from.
        lineage: Lineage,
    },
    /// Withhold the patient.
    Withhold {
        /// The member id value the storage gave.
        expected: Option<String>,
        /// Why.
        reason: &'static str,
    },
}

/// The outcome of linking every receipt file.
#[derive(Debug, Default)]
pub struct Linked {
    /// Per file, per record (file order): its fate.
    pub fates: Vec<Vec<RecordFate>>,
    /// Per patient local id: the change to make.
    pub patches: BTreeMap<String, Patch>,
    /// Per patient with linked receipts: what the receipts did (stable text).
    pub patients: BTreeMap<String, &'static str>,
    /// Linking diagnostics (`M4xx`).
    pub diagnostics: Diagnostics,
}

/// Applies a patch; false (and nothing changed) when the patient is not the one the
/// patch was made for (its identifier changed since).
pub fn apply(patch: &Patch, p: &mut PatientRecord) -> bool {
    let current = p.member_id.as_ref().map(|m| m.value.clone());
    match patch {
        Patch::Identifier {
            expected,
            member_id,
            lineage,
        } => {
            if &current != expected || matches!(p.submission, Some(Submission::Withheld(_))) {
                return false;
            }
            p.member_id = Some(member_id.clone());
            p.lineage.push(lineage.clone());
            true
        }
        Patch::Withhold { expected, reason } => {
            if &current != expected {
                return false;
            }
            p.submission = Some(Submission::Withheld(reason));
            true
        }
    }
}

/// The member id to remember for the patient after this run's [`apply`]: its
/// 被保険者個人識別子 when it has a 枝番 the storage did not give (`storage` is the
/// value the storage gave, before any patch). `None` otherwise.
pub fn learnt_branch(storage: Option<&str>, p: &PatientRecord) -> Option<String> {
    let m = p.member_id.as_ref()?;
    if m.system != uri::INSURANCE_MEMBER_ID {
        return None;
    }
    // The storage gave the identifier without its 枝番 …
    let (prefix, branch) = storage?.rsplit_once(':')?;
    if !branch.is_empty() {
        return None;
    }
    // … and this run completed it (same insurance, a 枝番 now).
    let (now_prefix, now_branch) = m.value.rsplit_once(':')?;
    (now_prefix == prefix && !now_branch.is_empty()).then(|| m.value.clone())
}

/// Completes the patient's identifier with the 枝番 of `remembered` (a member id
/// [`learnt_branch`] gave in an earlier run) when this run's identifier has none
/// and the same 保険者番号・記号・番号. Returns the diagnostic saying what was done
/// (`M410`), or why not (`M411`); `None` when there was nothing to complete.
pub fn remember_branch(p: &mut PatientRecord, remembered: &str) -> Option<Diagnostic> {
    if matches!(p.submission, Some(Submission::Withheld(_))) {
        return None;
    }
    let m = p.member_id.as_mut()?;
    if m.system != uri::INSURANCE_MEMBER_ID {
        return None;
    }
    let (prefix, branch) = m.value.rsplit_once(':')?;
    if !branch.is_empty() {
        return None;
    }
    let (old_prefix, old_branch) = remembered.rsplit_once(':')?;
    if old_branch.is_empty() {
        return None;
    }
    if old_prefix != prefix {
        return Some(Diagnostic::new(
            &codes::BRANCH_REMEMBERED_OTHER,
            "the 枝番 the ledger keeps for this patient was learnt for another insurance; the identifier stays without it",
        ));
    }
    m.value = remembered.to_owned();
    p.lineage.push(Lineage {
        element: "Patient.identifier",
        file: "ledger".into(),
        segment: String::new(),
        field: "枝番".into(),
    });
    Some(
        Diagnostic::new(
            &codes::BRANCH_REMEMBERED,
            "枝番 from the ledger (a linked receipt gave it in an earlier run) completes the identifier",
        )
        .excerpt(Excerpt::phi_text(old_branch.to_owned(), Phi::InsuranceNumber)),
    )
}

// Record outcomes.
const IR: &str = "file header (医療機関情報), not used";
const GO: &str = "file trailer (診療報酬請求書), not used";
const OUTSIDE: &str = "outside any receipt, not used";
const UNSUPPORTED: &str = "file kind not supported (医科 only), not used";
const RE_KARTE: &str = "linked by カルテ番号";
const RE_INSURANCE: &str = "linked by insurance number, birth date and sex";
const RE_NONE: &str = "unlinked: no storage patient matches";
const RE_AMBIGUOUS: &str = "unlinked: several storage patients match";
const RE_CONFLICT: &str = "unlinked: カルテ番号 matches a patient whose birth date or sex differ";
const RE_NO_KEY: &str = "unlinked: no カルテ番号 and no usable insurance key";
const SY_LINKED: &str = "linked: not a CLINS Condition (coverage and worklists)";
const SY_UNLINKED: &str = "unlinked: not a CLINS Condition (coverage and worklists)";
const UNLINKED: &str = "unlinked: not used";
const DETAIL: &str = "linked: claim detail, not converted";
const PAYER_FILLED: &str = "linked: 枝番 applied to the identifier";
const PAYER_GIVES: &str = "linked: gives the identifier the storage lacks";
const PAYER_CONFIRMS: &str = "linked: agrees with the storage's identifier";
const PAYER_CONFLICT: &str = "linked: conflicting identifier, patient withheld";
const PAYER_OTHER: &str = "linked: other insurance than the storage's, not used";
const PAYER_NOTHING: &str = "linked: nothing to add to the identifier";
const PAYER_WITHHELD: &str = "linked: patient withheld by the storage's rules, not used";
const PAYER_KEPT: &str = "linked: public-payer identifier kept as the storage gives it";
const KO_PUBLIC: &str = "linked: 公費, not part of the 被保険者個人識別子";

// Patient outcomes.
const P_FILLED: &str = "枝番 filled from receipts";
const P_GIVEN: &str = "identifier given by receipts";
const P_CONFIRMED: &str = "identifier agrees with receipts";
const P_CONFLICT: &str = "withheld: conflicting 枝番 or identifier";
const P_NOTHING: &str = "nothing to add";
const P_WITHHELD: &str = "already withheld by the storage's rules";

fn karte_options(zeros: KarteZeros) -> keys::KarteOptions {
    keys::KarteOptions {
        trim: true,
        zeros: match zeros {
            KarteZeros::Strip => keys::Zeros::Strip,
            KarteZeros::Keep => keys::Zeros::Keep,
        },
    }
}

/// 記号・番号 for comparison: no spaces, full-width ASCII folded to half width.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ' ' && *c != '\u{3000}')
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// An insurance as (保険者番号 8, 記号, 番号), compared folded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Insurance {
    insurer: String,
    symbol: String,
    number: String,
}

impl Insurance {
    fn same(&self, o: &Insurance) -> bool {
        self.insurer == o.insurer
            && fold(&self.symbol) == fold(&o.symbol)
            && fold(&self.number) == fold(&o.number)
    }
}

/// The storage's identifier, split.
enum Storage {
    None,
    Insured(Insurance, String),
    Other,
}

fn storage_member(m: Option<&MemberId>) -> Storage {
    let Some(m) = m else { return Storage::None };
    let parts: Vec<&str> = m.value.split(':').collect();
    match (m.system.as_str(), parts.as_slice()) {
        (uri::INSURANCE_MEMBER_ID, [i, s, n, b]) => Storage::Insured(
            Insurance {
                insurer: (*i).to_owned(),
                symbol: (*s).to_owned(),
                number: (*n).to_owned(),
            },
            (*b).to_owned(),
        ),
        _ => Storage::Other,
    }
}

fn field(r: &Record, col: usize) -> &str {
    r.field(col).map(str::trim).unwrap_or("")
}

fn loc(file: &str, r: &Record, col: usize, name: &'static str) -> Location {
    let mut l = Location::default()
        .file(file)
        .line(r.line)
        .record(r.id(), r.line)
        .field(FieldPath::new(r.id(), col as u32).named(name));
    if let Some(b) = r.field_byte(col) {
        l = l.byte(b);
    }
    l
}

/// One receipt of a file.
struct Receipt<'a> {
    file: usize,
    name: &'a str,
    re: &'a Record,
    /// Indexes of its records (RE included) in the file.
    records: Vec<usize>,
    ho: Option<&'a Record>,
    kos: Vec<&'a Record>,
    sns: Vec<&'a Record>,
}

impl Receipt<'_> {
    fn month(&self) -> String {
        date::parse(field(self.re, 4), false)
            .map(|(_, d)| d.to_string())
            .unwrap_or_default()
    }
    fn birth(&self) -> Option<String> {
        date::parse(field(self.re, 7), true)
            .ok()
            .map(|(_, d)| d.to_string())
    }
    fn gender(&self) -> Option<&'static str> {
        match field(self.re, 6) {
            "1" => Some("male"),
            "2" => Some("female"),
            _ => None,
        }
    }
    fn insurance(&self) -> Option<Insurance> {
        let ho = self.ho?;
        Some(Insurance {
            insurer: keys::normalise_insurer(field(ho, 2))?,
            symbol: field(ho, 3).to_owned(),
            number: field(ho, 4).to_owned(),
        })
    }
    /// 枝番 candidates of SN records (医保) for `ins`: (branch, record).
    fn branches(&self, ins: &Insurance, diags: &mut Diagnostics) -> Vec<(String, &Record)> {
        let ho = self.insurance();
        let mut out = Vec::new();
        for sn in &self.sns {
            if field(sn, 2) != "1" {
                continue;
            }
            let pick = |col: usize, from_ho: Option<&str>| -> String {
                let v = field(sn, col);
                if v.is_empty() {
                    from_ho.unwrap_or("").to_owned()
                } else {
                    v.to_owned()
                }
            };
            let insurer = match field(sn, 4) {
                "" => ho.as_ref().map(|h| h.insurer.clone()).unwrap_or_default(),
                v => keys::normalise_insurer(v).unwrap_or_default(),
            };
            let eff = Insurance {
                insurer,
                symbol: pick(5, ho.as_ref().map(|h| h.symbol.as_str())),
                number: pick(6, ho.as_ref().map(|h| h.number.as_str())),
            };
            if !eff.same(ins) {
                continue;
            }
            let b = field(sn, 7);
            if b.is_empty() {
                continue;
            }
            if b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()) {
                out.push((b.to_owned(), *sn));
            } else {
                diags.push(
                    Diagnostic::new(&codes::BRANCH_SHAPE, "SN 枝番 is not two digits; not used")
                        .at(loc(self.name, sn, 7, "枝番"))
                        .excerpt(Excerpt::phi_text(b, Phi::InsuranceNumber)),
                );
            }
        }
        out
    }
    /// The identifier this receipt gives on its own (HO + a single SN 枝番, or 生活保護 KO).
    fn identifier(&self, diags: &mut Diagnostics) -> Option<(MemberId, &Record, usize)> {
        if let Some(ins) = self.insurance() {
            let ho = self.ho?;
            let mut b: Vec<(String, &Record)> = self.branches(&ins, diags);
            b.sort_by(|x, y| x.0.cmp(&y.0));
            b.dedup_by(|x, y| x.0 == y.0);
            let (branch, rec, col) = match b.as_slice() {
                [(br, sn)] => (br.clone(), *sn, 7),
                _ => (String::new(), ho, 2),
            };
            let insurer = ins.insurer;
            if insurer.len() != 8 || !insurer.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            return Some((
                MemberId {
                    system: uri::INSURANCE_MEMBER_ID.to_owned(),
                    value: format!(
                        "{insurer}:{}:{}:{branch}",
                        fold(&ins.symbol),
                        fold(&ins.number)
                    ),
                },
                rec,
                col,
            ));
        }
        let ko = self.kos.iter().find(|k| field(k, 2).starts_with("12"))?;
        let (payer, recipient) = (field(ko, 2), field(ko, 3));
        (payer.len() == 8 && !recipient.is_empty()).then(|| {
            (
                MemberId {
                    system: PUBLIC_PAYER_MEMBER_ID.to_owned(),
                    value: format!("{payer}::{recipient}:"),
                },
                *ko,
                2,
            )
        })
    }
}

fn group<'a>(f: usize, rf: &ReceiptFile<'a>, fates: &mut Vec<RecordFate>) -> Vec<Receipt<'a>> {
    let mut out: Vec<Receipt<'a>> = Vec::new();
    let supported = matches!(rf.uke.summary.kind, Some(Kind::Ika) | Some(Kind::Dpc));
    for (i, pr) in rf.uke.records.iter().enumerate() {
        let r = &pr.record;
        let mut fate = RecordFate {
            record: r.id().to_owned(),
            line: r.line,
            receipt: r.receipt,
            patient: None,
            outcome: UNLINKED,
        };
        if !supported {
            fate.outcome = UNSUPPORTED;
            fates.push(fate);
            continue;
        }
        match (r.receipt, r.id()) {
            (_, "RE") => out.push(Receipt {
                file: f,
                name: rf.file,
                re: r,
                records: vec![i],
                ho: None,
                kos: Vec::new(),
                sns: Vec::new(),
            }),
            (None, "IR") => fate.outcome = IR,
            (None, "GO") => fate.outcome = GO,
            (None, _) => fate.outcome = OUTSIDE,
            (Some(n), id) => match out.last_mut() {
                Some(rc) if rc.re.receipt == Some(n) => {
                    rc.records.push(i);
                    match id {
                        "HO" if rc.ho.is_none() => rc.ho = Some(r),
                        "KO" => rc.kos.push(r),
                        "SN" => rc.sns.push(r),
                        _ => {}
                    }
                }
                _ => fate.outcome = OUTSIDE,
            },
        }
        fates.push(fate);
    }
    out
}

/// How a receipt linked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Karte,
    Insurance,
}

/// Links every receipt of `files` to `patients` and decides what each linked patient
/// gains (see the module documentation for the rules); `zeros` is the site's
/// `policy.karte_zeros`.
pub fn link(files: &[ReceiptFile<'_>], patients: &[KnownPatient], zeros: KarteZeros) -> Linked {
    let karte_opts = karte_options(zeros);
    let mut out = Linked::default();
    let mut receipts: Vec<Receipt<'_>> = Vec::new();
    for (f, rf) in files.iter().enumerate() {
        let mut fates = Vec::with_capacity(rf.uke.records.len());
        receipts.extend(group(f, rf, &mut fates));
        out.fates.push(fates);
    }
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in patients.iter().enumerate() {
        if let Some(k) = karte_opts.normalise(&p.local_id) {
            by_id.entry(k).or_default().push(i);
        }
    }
    let diags = &mut out.diagnostics;
    // Per patient: its linked receipts.
    let mut linked: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (ri, rc) in receipts.iter().enumerate() {
        let karte_loc = loc(rc.name, rc.re, 14, "カルテ番号等");
        let karte = karte_opts.normalise(field(rc.re, 14));
        let birth = rc.birth();
        let gender = rc.gender();
        let mut result: Result<(usize, How), &'static str> = Err(RE_NONE);
        let mut tried_karte = false;
        if let Some(k) = &karte {
            match by_id.get(k).map(Vec::as_slice) {
                Some([one]) => {
                    tried_karte = true;
                    let p = &patients[*one];
                    let differs = |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if x != y);
                    if differs(birth.as_deref(), p.birth_date.as_deref())
                        || differs(gender, p.gender.as_deref())
                    {
                        diags.push(
                            Diagnostic::new(
                                &codes::CONFLICTING,
                                format!(
                                    "receipt {}: カルテ番号 matches a storage patient whose birth date or sex differ; not linked",
                                    rc.re.receipt.unwrap_or(0)
                                ),
                            )
                            .at(karte_loc.clone())
                            .excerpt(Excerpt::text(field(rc.re, 14))),
                        );
                        result = Err(RE_CONFLICT);
                    } else {
                        result = Ok((*one, How::Karte));
                    }
                }
                Some(many) if many.len() > 1 => {
                    tried_karte = true;
                    diags.push(
                        Diagnostic::new(
                            &codes::AMBIGUOUS,
                            format!(
                                "receipt {}: カルテ番号 matches {} storage patients after normalisation; not linked",
                                rc.re.receipt.unwrap_or(0),
                                many.len()
                            ),
                        )
                        .at(karte_loc.clone())
                        .excerpt(Excerpt::text(field(rc.re, 14))),
                    );
                    result = Err(RE_AMBIGUOUS);
                }
                _ => {}
            }
        }
        if !tried_karte {
            // Fallback: insurance number + birth date + sex.
            let ins = rc.insurance().filter(|i| !fold(&i.number).is_empty());
            match (ins, &birth, gender) {
                (Some(ins), Some(b), Some(g)) => {
                    let hits: Vec<usize> = patients
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| {
                            p.birth_date.as_deref() == Some(b.as_str())
                                && p.gender.as_deref() == Some(g)
                                && matches!(storage_member(p.member_id.as_ref()), Storage::Insured(s, _) if s.same(&ins))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    let ho_loc = rc
                        .ho
                        .map(|h| loc(rc.name, h, 2, "保険者番号"))
                        .unwrap_or_else(|| karte_loc.clone());
                    match hits.as_slice() {
                        [one] => {
                            diags.push(
                                Diagnostic::new(
                                    &codes::LINKED_BY_INSURANCE,
                                    format!(
                                        "receipt {}: linked by insurance number, birth date and sex",
                                        rc.re.receipt.unwrap_or(0)
                                    ),
                                )
                                .at(ho_loc),
                            );
                            result = Ok((*one, How::Insurance));
                        }
                        [] => {
                            diags.push(
                                Diagnostic::new(
                                    &codes::NO_MATCH,
                                    format!(
                                        "receipt {}: no storage patient has its カルテ番号 or its insurance number, birth date and sex",
                                        rc.re.receipt.unwrap_or(0)
                                    ),
                                )
                                .at(karte_loc.clone())
                                .excerpt(Excerpt::text(field(rc.re, 14))),
                            );
                        }
                        many => {
                            diags.push(
                                Diagnostic::new(
                                    &codes::AMBIGUOUS,
                                    format!(
                                        "receipt {}: insurance number, birth date and sex match {} storage patients; not linked",
                                        rc.re.receipt.unwrap_or(0),
                                        many.len()
                                    ),
                                )
                                .at(ho_loc),
                            );
                            result = Err(RE_AMBIGUOUS);
                        }
                    }
                }
                _ if karte.is_none() => {
                    diags.push(
                        Diagnostic::new(
                            &codes::NO_KEY,
                            format!(
                                "receipt {}: no カルテ番号, and no 番号, birth date or sex for the fallback key",
                                rc.re.receipt.unwrap_or(0)
                            ),
                        )
                        .at(karte_loc.clone()),
                    );
                    result = Err(RE_NO_KEY);
                }
                _ => {
                    diags.push(
                        Diagnostic::new(
                            &codes::NO_MATCH,
                            format!(
                                "receipt {}: no storage patient has its カルテ番号 (and it has no full fallback key)",
                                rc.re.receipt.unwrap_or(0)
                            ),
                        )
                        .at(karte_loc.clone())
                        .excerpt(Excerpt::text(field(rc.re, 14))),
                    );
                }
            }
        }
        let fates = &mut out.fates[rc.file];
        match result {
            Ok((p, how)) => {
                linked.entry(p).or_default().push(ri);
                for &i in &rc.records {
                    let fate = &mut fates[i];
                    fate.patient = Some(patients[p].local_id.clone());
                    fate.outcome = match fate.record.as_str() {
                        "RE" if how == How::Karte => RE_KARTE,
                        "RE" => RE_INSURANCE,
                        "SY" => SY_LINKED,
                        _ => DETAIL,
                    };
                }
            }
            Err(why) => {
                for &i in &rc.records {
                    let fate = &mut fates[i];
                    fate.outcome = match fate.record.as_str() {
                        "RE" => why,
                        "SY" => SY_UNLINKED,
                        _ => UNLINKED,
                    };
                }
            }
        }
    }
    for (p, rs) in linked {
        decide(&patients[p], &rs, &receipts, &mut out);
    }
    out
}

/// Sets the HO/KO/SN fates of a receipt.
fn payer_fates(rc: &Receipt<'_>, fates: &mut [RecordFate], outcome: &'static str) {
    for &i in &rc.records {
        let f = &mut fates[i];
        match f.record.as_str() {
            "HO" | "SN" => f.outcome = outcome,
            "KO" if outcome == PAYER_GIVES && rc.ho.is_none() => f.outcome = outcome,
            "KO" => f.outcome = KO_PUBLIC,
            _ => {}
        }
    }
}

fn source_name(rc: &Receipt<'_>, r: &Record) -> String {
    format!("{} line {}", rc.name, r.line)
}

/// What the linked receipts `rs` add to patient `p`.
fn decide(p: &KnownPatient, rs: &[usize], receipts: &[Receipt<'_>], out: &mut Linked) {
    let id = p.local_id.clone();
    let expected = p.member_id.as_ref().map(|m| m.value.clone());
    if p.withheld {
        for &r in rs {
            payer_fates(
                &receipts[r],
                &mut out.fates[receipts[r].file],
                PAYER_WITHHELD,
            );
        }
        out.patients.insert(id, P_WITHHELD);
        return;
    }
    match storage_member(p.member_id.as_ref()) {
        Storage::Other => {
            for &r in rs {
                payer_fates(&receipts[r], &mut out.fates[receipts[r].file], PAYER_KEPT);
            }
            out.patients.insert(id, P_NOTHING);
        }
        Storage::Insured(ins, branch) => {
            // Receipts of the storage's insurance that give a 枝番.
            let mut same: Vec<usize> = Vec::new();
            // 枝番 → its sources.
            let mut found: BTreeMap<String, Vec<(usize, &Record)>> = BTreeMap::new();
            for &r in rs {
                let rc = &receipts[r];
                match rc.insurance() {
                    Some(h) if h.same(&ins) => {
                        let branches = rc.branches(&ins, &mut out.diagnostics);
                        if branches.is_empty() {
                            payer_fates(rc, &mut out.fates[rc.file], PAYER_NOTHING);
                        } else {
                            same.push(r);
                        }
                        for (b, sn) in branches {
                            found.entry(b).or_default().push((r, sn));
                        }
                    }
                    _ => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                &codes::OTHER_INSURANCE,
                                format!(
                                    "receipt {}: its insurance is not the storage's current one; not used for the identifier",
                                    rc.re.receipt.unwrap_or(0)
                                ),
                            )
                            .at(match rc.ho {
                                Some(h) => loc(rc.name, h, 2, "保険者番号"),
                                None => loc(rc.name, rc.re, 3, "レセプト種別"),
                            }),
                        );
                        payer_fates(rc, &mut out.fates[rc.file], PAYER_OTHER);
                    }
                }
            }
            let conflict = if branch.is_empty() {
                found.len() > 1
            } else {
                found.keys().any(|b| *b != branch)
            };
            let (outcome, patient) = if conflict {
                let mut sources: Vec<String> = Vec::new();
                let mut values: Vec<String> = Vec::new();
                if !branch.is_empty() {
                    sources.push("the storage (IN1/ZI1)".into());
                    values.push(format!("storage {branch}"));
                }
                for (b, srcs) in &found {
                    for (r, sn) in srcs {
                        sources.push(source_name(&receipts[*r], sn));
                        values.push(format!("{}: {b}", source_name(&receipts[*r], sn)));
                    }
                }
                let first = found.values().flatten().next().map(|(r, sn)| (*r, *sn));
                let mut d = Diagnostic::new(
                    &codes::BRANCH_CONFLICT,
                    format!(
                        "枝番 differs between {}; the patient is withheld (a wrong 枝番 names another family member)",
                        sources.join(", ")
                    ),
                )
                .excerpt(Excerpt::phi_text(values.join("; "), Phi::InsuranceNumber));
                if let Some((r, sn)) = first {
                    d = d.at(loc(receipts[r].name, sn, 7, "枝番"));
                }
                out.diagnostics.push(d);
                out.patches.insert(
                    id.clone(),
                    Patch::Withhold {
                        expected: expected.clone(),
                        reason: CONFLICT_REASON,
                    },
                );
                (PAYER_CONFLICT, P_CONFLICT)
            } else if let (true, Some((b, srcs))) = (branch.is_empty(), found.iter().next()) {
                let (r, sn) = srcs[0];
                let rc = &receipts[r];
                out.diagnostics.push(
                    Diagnostic::new(
                        &codes::BRANCH_FILLED,
                        format!(
                            "枝番 from {} completes the storage's 被保険者個人識別子",
                            source_name(rc, sn)
                        ),
                    )
                    .at(loc(rc.name, sn, 7, "枝番"))
                    .excerpt(Excerpt::phi_text(b.clone(), Phi::InsuranceNumber)),
                );
                let value = format!("{}:{}:{}:{b}", ins.insurer, ins.symbol, ins.number);
                out.patches.insert(
                    id.clone(),
                    Patch::Identifier {
                        expected: expected.clone(),
                        member_id: MemberId {
                            system: uri::INSURANCE_MEMBER_ID.to_owned(),
                            value,
                        },
                        lineage: Lineage {
                            element: "Patient.identifier",
                            file: rc.name.to_owned(),
                            segment: format!("SN#{}", sn.line),
                            field: "SN-7".into(),
                        },
                    },
                );
                (PAYER_FILLED, P_FILLED)
            } else if found.is_empty() {
                (PAYER_NOTHING, P_NOTHING)
            } else {
                (PAYER_CONFIRMS, P_CONFIRMED)
            };
            for r in same {
                payer_fates(&receipts[r], &mut out.fates[receipts[r].file], outcome);
            }
            out.patients.insert(id, patient);
        }
        Storage::None => {
            // The latest 診療年月's receipts give the identifier.
            let latest = rs
                .iter()
                .map(|&r| receipts[r].month())
                .max()
                .unwrap_or_default();
            let mut cands: BTreeMap<String, Vec<(usize, MemberId, &Record, usize)>> =
                BTreeMap::new();
            for &r in rs {
                let rc = &receipts[r];
                if rc.month() != latest {
                    payer_fates(rc, &mut out.fates[rc.file], PAYER_OTHER);
                    continue;
                }
                match rc.identifier(&mut out.diagnostics) {
                    Some((m, rec, col)) => cands
                        .entry(format!("{}|{}", m.system, m.value))
                        .or_default()
                        .push((r, m, rec, col)),
                    None => payer_fates(rc, &mut out.fates[rc.file], PAYER_NOTHING),
                }
            }
            let (outcome, patient) = match cands.len() {
                0 => (PAYER_NOTHING, P_NOTHING),
                1 => {
                    let Some((r, m, rec, col)) = cands.values().flatten().next().cloned() else {
                        return;
                    };
                    let rc = &receipts[r];
                    out.diagnostics.push(
                        Diagnostic::new(
                            &codes::IDENTIFIER_FROM_RECEIPT,
                            format!(
                                "the storage has no insurance for the patient; {} gives the identifier",
                                source_name(rc, rec)
                            ),
                        )
                        .at(loc(rc.name, rec, col, "保険者番号等")),
                    );
                    out.patches.insert(
                        id.clone(),
                        Patch::Identifier {
                            expected: None,
                            member_id: m,
                            lineage: Lineage {
                                element: "Patient.identifier",
                                file: rc.name.to_owned(),
                                segment: format!("{}#{}", rec.id(), rec.line),
                                field: format!("{}-{col}", rec.id()),
                            },
                        },
                    );
                    (PAYER_GIVES, P_GIVEN)
                }
                _ => {
                    let sources: Vec<String> = cands
                        .values()
                        .flatten()
                        .map(|(r, _, rec, _)| source_name(&receipts[*r], rec))
                        .collect();
                    let mut d = Diagnostic::new(
                        &codes::BRANCH_CONFLICT,
                        format!(
                            "the storage has no insurance and receipts of the same month give different identifiers ({}); the patient is withheld",
                            sources.join(", ")
                        ),
                    );
                    if let Some((r, _, rec, col)) = cands.values().flatten().next() {
                        d = d.at(loc(receipts[*r].name, rec, *col, "保険者番号等"));
                    }
                    out.diagnostics.push(d);
                    out.patches.insert(
                        id.clone(),
                        Patch::Withhold {
                            expected: None,
                            reason: CONFLICT_REASON,
                        },
                    );
                    (PAYER_CONFLICT, P_CONFLICT)
                }
            };
            for (r, ..) in cands.values().flatten() {
                payer_fates(&receipts[*r], &mut out.fates[receipts[*r].file], outcome);
            }
            out.patients.insert(id, patient);
        }
    }
}

/// Record counts by (record id, outcome) over every file.
pub fn tally(linked: &Linked) -> BTreeMap<String, BTreeMap<&'static str, usize>> {
    let mut t: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for f in linked.fates.iter().flatten() {
        *t.entry(f.record.clone())
            .or_default()
            .entry(f.outcome)
            .or_default() += 1;
    }
    t
}

#[cfg(test)]
mod tests;
