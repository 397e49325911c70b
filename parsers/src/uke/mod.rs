//! レセ電 UKE receipt files (診療報酬請求書等の記録条件仕様).
//!
//! # What is supported
//!
//! - **Physical format**: Shift_JIS decoded as CP932 (vendor extensions — NEC row 13, NEC-selected and
//!   IBM extensions, the user-defined area — are decoded but flagged `U003`; undecodable bytes are
//!   reported as hex, `U002`), UTF-8 exports (read with `U001`), CR LF records (LF alone `U004`,
//!   missing final line break `U005`), the trailing 0x1A (`U006` when missing), comma fields without
//!   quoting. Decoded text goes through [`crate::text::fold_jis_variants`].
//! - **医科 records, fully typed** (named columns, 数字/英数/漢字 modes, maximum lengths in Shift_JIS
//!   bytes, fixed lengths, concatenated repeating codes, dates): IR, RE, HO, KO, SN, JD, MF, SY, SI,
//!   IY, TO, CO, SJ, GO — see [`layout::IKA`].
//! - **医科 records known by id only** (first column named, the rest kept as `列N` without checks,
//!   because their column layouts are not verified from the sources at hand): KH, GR, NI, TI, TR, TS.
//! - **Both date layouts**: the older era form (`GYYMMDD` / `GYYMM`, 年号区分 1 明治 … 5 令和) and the
//!   current Western form (`YYYYMMDD` / `YYYYMM`), detected per file from IR 請求年月 (or the first
//!   RE 診療年月) and reported (`U025`); dates in the other form are reported (`U024`) and still read.
//! - **Structure**: IR first, RE opens a receipt, GO last, HO/KO and SY per receipt, usual record
//!   order, unknown ids, multi-volume ids, GO totals (総件数 = HO + KO records; 総合計点数 = sum of HO
//!   合計点数; mismatches are warnings).
//! - **Patient keys** ([`keys`]): カルテ番号 with configurable normalisation, insurance numbers,
//!   a fallback key, and ambiguity diagnostics when linking to known SS-MIX2 patient ids.
//!
//! # Recognised only
//!
//! DPC (BU, SB, KK, SK, GA, HH, GT, CD), 歯科 (UK first, HS, SS, …) and 調剤 (IR 点数表 4) files are
//! recognised from IR-4 点数表 and the record ids (never from the file name) and read to record level:
//! their records are split into fields but not named or checked, and the file gets one `U026`
//! "layout not supported yet" diagnostic. 医科 records inside a DPC file are still typed.
//!
//! # Streaming
//!
//! [`Parser`] reads one record at a time into a reused [`Record`]; [`parse`] collects everything
//! for callers that want the whole file. [`looks_like_uke`] sniffs content for `inspect`.
//!
//! # PHI
//!
//! Columns that identify a person (氏名, カタカナ氏名, 生年月日, 保険者番号, 記号, 番号, 枝番,
//! 受給者番号) carry a [`diagnostics::Phi`] kind in [`layout`]; excerpts from them, and from any
//! column no layout names, are masked by the renderers. カルテ番号 is not PHI.
//!
//! # Limits
//!
//! Field tables follow the project's standards reference §2 (older spec as quoted by open-source
//! readers, current layout as written by live clinic software); JD/MF meanings for 医科 and the
//! KH/GR/NI/TI/TR/TS column layouts are unverified against the official 記録条件仕様.

pub mod check;
pub mod codes;
pub mod date;
pub mod keys;
pub mod layout;
pub mod reader;

use check::{col_loc, rec_loc};
use date::DateForm;
use diagnostics::{Diagnostic, Diagnostics, Location, Phi};
use layout::{Mode, Spec};
pub use reader::{Encoding, Reader, Record};
use std::collections::BTreeMap;

/// What kind of receipt file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 医科 (IR 点数表 1).
    Ika,
    /// DPC (医科 with DPC records).
    Dpc,
    /// 歯科 (UK first record, or IR 点数表 3).
    Dental,
    /// 調剤 (IR 点数表 4).
    Pharmacy,
    /// Another 点数表 (老健, 訪看, 介護医療院 …).
    Other,
}

impl Kind {
    /// Japanese name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ika => "医科",
            Kind::Dpc => "DPC",
            Kind::Dental => "歯科",
            Kind::Pharmacy => "調剤",
            Kind::Other => "その他",
        }
    }
}

/// Date layout of a file.
pub fn layout_name(form: Option<DateForm>) -> &'static str {
    match form {
        Some(DateForm::Era) => "era dates (GYYMMDD/GYYMM)",
        Some(DateForm::Western) => "Western dates (YYYYMMDD/YYYYMM)",
        None => "undetermined",
    }
}

/// Receipt-phase of a record id, for the order check.
fn phase(id: &str) -> Option<u8> {
    Some(match id {
        "RE" => 0,
        "HO" | "KO" | "KH" => 1,
        "SN" | "JD" | "MF" => 2,
        "GR" | "SY" => 3,
        "SI" | "IY" | "TO" | "CO" | "NI" | "SJ" => 4,
        "TI" | "TR" | "TS" => 5,
        _ => return None,
    })
}

#[derive(Default)]
struct Open {
    index: u32,
    loc: Location,
    payer: bool,
    sy: bool,
    phase: u8,
}

/// Counts and detections of a file, available during and after reading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// File kind, when determined.
    pub kind: Option<Kind>,
    /// Date layout, when determined.
    pub form: Option<DateForm>,
    /// Encoding.
    pub encoding: Option<Encoding>,
    /// Records read.
    pub records: u64,
    /// Receipts (RE records).
    pub receipts: u32,
    /// Records per id.
    pub per_type: BTreeMap<String, u64>,
}

/// Streaming reader with field and structure checks.
pub struct Parser<'a> {
    reader: Reader<'a>,
    summary: Summary,
    first: bool,
    ir_volume: Option<String>,
    go: Option<Location>,
    go_seen_after: bool,
    open: Option<Open>,
    ho_ko: u64,
    ho_points: u64,
    unsupported_reported: bool,
    go_rec: Option<(Location, String, String, Location, Location)>,
    id_buf: String,
}

impl<'a> Parser<'a> {
    /// A parser over a whole file; file-level findings go to `diags`.
    pub fn new(bytes: &'a [u8], diags: &mut Diagnostics) -> Parser<'a> {
        let reader = Reader::new(bytes, diags);
        let summary = Summary {
            encoding: Some(reader.encoding()),
            ..Summary::default()
        };
        Parser {
            reader,
            summary,
            first: true,
            ir_volume: None,
            go: None,
            go_seen_after: false,
            open: None,
            ho_ko: 0,
            ho_points: 0,
            unsupported_reported: false,
            go_rec: None,
            id_buf: String::new(),
        }
    }

    /// What is known so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The layout used for a record id in this file (`None` = record level only).
    pub fn spec(&self, id: &str) -> Option<&'static Spec> {
        spec_for(self.summary.kind, id)
    }

    /// Reads and checks the next record; false at the end of the file.
    pub fn next(&mut self, rec: &mut Record, diags: &mut Diagnostics) -> bool {
        let before = diags.len();
        if !self.reader.read(rec, diags) {
            return false;
        }
        self.summary.records += 1;
        let mut id = std::mem::take(&mut self.id_buf);
        id.clear();
        id.push_str(rec.id());
        match self.summary.per_type.get_mut(id.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.summary.per_type.insert(id.clone(), 1);
            }
        }
        if diags.len() > before {
            self.mark_phi(&id, before, diags);
        }
        self.step(&id, rec, diags);
        self.id_buf = id;
        true
    }

    fn step(&mut self, id: &str, rec: &mut Record, diags: &mut Diagnostics) {
        if self.first {
            self.first = false;
            self.detect(rec, diags);
        }
        if self.go.is_some() && !self.go_seen_after {
            self.go_seen_after = true;
            diags.push(
                Diagnostic::new(&codes::AFTER_GO, format!("{id} record after GO")).at(rec_loc(rec)),
            );
        }
        // Kind refinements from record ids.
        if layout::DPC_IDS.contains(&id) && self.summary.kind == Some(Kind::Ika) {
            self.summary.kind = Some(Kind::Dpc);
            self.unsupported(rec, Kind::Dpc, diags);
        }
        let kind = self.summary.kind;
        let ika_like = matches!(kind, Some(Kind::Ika) | Some(Kind::Dpc));
        match id {
            "IR" => {
                if rec.line != 1 && self.ir_volume.is_some() {
                    diags.push(
                        Diagnostic::new(&codes::REPEATED_IR, "second IR record").at(rec_loc(rec)),
                    );
                }
                self.ir_volume = rec.field(9).map(str::to_owned);
            }
            "RE" => {
                self.close_receipt(diags);
                self.summary.receipts += 1;
                self.open = Some(Open {
                    index: self.summary.receipts,
                    loc: rec_loc(rec),
                    ..Open::default()
                });
            }
            "GO" => {
                self.close_receipt(diags);
                self.go = Some(rec_loc(rec));
                self.go_rec = Some((
                    rec_loc(rec),
                    rec.field(2).unwrap_or("").to_owned(),
                    rec.field(3).unwrap_or("").to_owned(),
                    col_loc(rec, 2, Some("総件数")),
                    col_loc(rec, 3, Some("総合計点数")),
                ));
                if let (Some(v), Some(ir)) = (rec.field(4), &self.ir_volume)
                    && v != "99"
                    && v != ir
                {
                    diags.push(
                        Diagnostic::new(
                            &codes::VOLUME,
                            "GO マルチボリューム識別情報 is neither 99 nor the IR volume",
                        )
                        .at(col_loc(
                            rec,
                            4,
                            Some("マルチボリューム識別情報"),
                        )),
                    );
                }
            }
            _ => {}
        }
        if id == "HO" || id == "KO" {
            self.ho_ko += 1;
        }
        if id == "HO"
            && let Some(p) = rec.field(6).and_then(|t| t.parse::<u64>().ok())
        {
            self.ho_points += p;
        }
        if ika_like {
            if let Some(ph) = phase(id) {
                match &mut self.open {
                    None => diags.push(
                        Diagnostic::new(
                            &codes::OUTSIDE_RECEIPT,
                            format!("{id} record before any RE"),
                        )
                        .at(rec_loc(rec)),
                    ),
                    Some(o) => {
                        rec.receipt = Some(o.index);
                        if ph < o.phase {
                            diags.push(
                                Diagnostic::new(
                                    &codes::ORDER,
                                    format!("{id} record after records that usually follow it"),
                                )
                                .at(rec_loc(rec)),
                            );
                        } else {
                            o.phase = ph;
                        }
                        o.payer |= id == "HO" || id == "KO";
                        o.sy |= id == "SY";
                    }
                }
            }
            match layout::ika(id) {
                Some(spec) => check::check_record(rec, spec, self.summary.form, diags),
                None if layout::DPC_IDS.contains(&id) => {
                    rec.receipt = self.open.as_ref().map(|o| o.index);
                }
                None if layout::DENTAL_IDS.contains(&id) || layout::RETURN_IDS.contains(&id) => {
                    rec.receipt = self.open.as_ref().map(|o| o.index);
                    diags.push(
                        Diagnostic::new(
                            &codes::FOREIGN_RECORD,
                            format!("{id} record does not belong in a 医科 file"),
                        )
                        .at(rec_loc(rec)),
                    );
                }
                None => {
                    rec.receipt = self.open.as_ref().map(|o| o.index);
                    diags.push(
                        Diagnostic::new(
                            &codes::UNKNOWN_RECORD,
                            "unknown record id; record kept unread",
                        )
                        .at(rec_loc(rec))
                        .excerpt(diagnostics::Excerpt::text(id)),
                    );
                }
            }
        } else {
            rec.receipt = if id == "RE"
                || phase(id).is_some()
                || id.len() == 2 && id != "IR" && id != "GO" && id != "UK"
            {
                self.open.as_ref().map(|o| o.index)
            } else {
                None
            };
        }
    }

    /// The reader does not know which columns hold PHI: mark its excerpts from PHI columns now
    /// (and every column of records no layout describes, which may hold anything).
    fn mark_phi(&self, id: &str, from: usize, diags: &mut Diagnostics) {
        let spec = self.spec(id).or_else(|| {
            // The first record is read before the kind is known.
            if self.summary.kind.is_none() {
                layout::ika(id)
            } else {
                None
            }
        });
        for d in diags.iter_mut().skip(from) {
            let Some(column) = d.location.field.as_ref().map(|f| f.field as usize) else {
                continue;
            };
            let phi = match spec.map(|s| s.col(column)) {
                Some(Some(col)) => col.phi,
                _ if column > 1 => Some(Phi::Other),
                _ => None,
            };
            if let Some(e) = d.excerpt.take() {
                d.excerpt = Some(e.with_phi(phi));
            }
        }
    }

    fn unsupported(&mut self, rec: &Record, kind: Kind, diags: &mut Diagnostics) {
        if !self.unsupported_reported {
            self.unsupported_reported = true;
            diags.push(
                Diagnostic::new(
                    &codes::KIND_UNSUPPORTED,
                    format!("{} file: its records are read to record level only; layout not supported yet", kind.name()),
                )
                .at(rec_loc(rec)),
            );
        }
    }

    fn detect(&mut self, rec: &Record, diags: &mut Diagnostics) {
        let id = rec.id();
        let kind = match id {
            "UK" => Some(Kind::Dental),
            "IR" => match rec.field(4) {
                Some("1") => Some(Kind::Ika),
                Some("3") => Some(Kind::Dental),
                Some("4") => Some(Kind::Pharmacy),
                Some(_) => Some(Kind::Other),
                None => None,
            },
            _ => None,
        };
        if id != "IR" && id != "UK" {
            diags.push(
                Diagnostic::new(&codes::FIRST_NOT_IR, "first record is not IR").at(rec_loc(rec)),
            );
        }
        let kind = kind.or_else(|| (id == "RE").then_some(Kind::Ika));
        match kind {
            None => diags.push(
                Diagnostic::new(
                    &codes::KIND_UNKNOWN,
                    "cannot tell the file kind (no IR 点数表); read to record level",
                )
                .at(rec_loc(rec)),
            ),
            Some(k @ (Kind::Dental | Kind::Pharmacy | Kind::Other)) => {
                self.unsupported(rec, k, diags)
            }
            Some(_) => {}
        }
        self.summary.kind = kind;
        if matches!(kind, Some(Kind::Ika)) {
            let (text, column, name) = if id == "IR" {
                (rec.field(8), 8, "請求年月")
            } else {
                (rec.field(4), 4, "診療年月")
            };
            let form = match text.map(str::len) {
                Some(5) => Some(DateForm::Era),
                Some(6) => Some(DateForm::Western),
                _ => None,
            };
            self.summary.form = form;
            diags.push(
                Diagnostic::new(
                    &codes::LAYOUT_DETECTED,
                    format!("{} layout: {}", Kind::Ika.name(), layout_name(form)),
                )
                .at(col_loc(rec, column, Some(name))),
            );
        }
    }

    fn close_receipt(&mut self, diags: &mut Diagnostics) {
        if let Some(o) = self.open.take() {
            if !matches!(self.summary.kind, Some(Kind::Ika) | Some(Kind::Dpc)) {
                return;
            }
            if !o.payer {
                diags.push(
                    Diagnostic::new(
                        &codes::NO_PAYER,
                        format!("receipt {} has neither HO nor KO", o.index),
                    )
                    .at(o.loc.clone()),
                );
            }
            if !o.sy {
                diags.push(
                    Diagnostic::new(
                        &codes::NO_DIAGNOSIS,
                        format!("receipt {} has no SY record", o.index),
                    )
                    .at(o.loc),
                );
            }
        }
    }

    /// Ends the file: receipt and GO checks.
    pub fn finish(mut self, diags: &mut Diagnostics) -> Summary {
        self.close_receipt(diags);
        let ika_like = matches!(self.summary.kind, Some(Kind::Ika) | Some(Kind::Dpc));
        match self.go_rec.take() {
            None if ika_like => diags.push(
                Diagnostic::new(&codes::MISSING_GO, "file has no GO record (truncated?)")
                    .at(Location::default().byte(self.reader.body_len() as u64)),
            ),
            None => {}
            Some((_, count, points, cloc, ploc)) if ika_like => {
                match count.parse::<u64>() {
                    Ok(n) if n != self.ho_ko => diags.push(
                        Diagnostic::new(
                            &codes::GO_COUNT,
                            format!(
                                "GO 総件数 is {n}; the file has {} HO and KO records",
                                self.ho_ko
                            ),
                        )
                        .at(cloc),
                    ),
                    Ok(_) => {}
                    Err(_) => diags.push(
                        Diagnostic::new(&codes::BAD_NUMBER, "GO 総件数 is not a number").at(cloc),
                    ),
                }
                match points.parse::<u64>() {
                    Ok(n) if n != self.ho_points => diags.push(
                        Diagnostic::new(
                            &codes::GO_POINTS,
                            format!(
                                "GO 総合計点数 is {n}; HO 合計点数 sum to {}",
                                self.ho_points
                            ),
                        )
                        .at(ploc),
                    ),
                    Ok(_) => {}
                    Err(_) => diags.push(
                        Diagnostic::new(&codes::BAD_NUMBER, "GO 総合計点数 is not a number")
                            .at(ploc),
                    ),
                }
            }
            Some(_) => {}
        }
        self.summary
    }
}

/// The layout of a record id in a file of `kind` (`None`: record level only).
pub fn spec_for(kind: Option<Kind>, id: &str) -> Option<&'static Spec> {
    match kind {
        Some(Kind::Ika) | Some(Kind::Dpc) => layout::ika(id),
        _ => None,
    }
}

/// True when the bytes look like a UKE file: the first record (after an optional UTF-8 BOM) starts
/// with a two-letter record id that opens UKE files (`IR`, `UK`, or `RE` when IR is missing)
/// followed by a comma. For `inspect`, which dispatches by content, never by file name.
pub fn looks_like_uke(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    matches!(b.get(..3), Some(b"IR,") | Some(b"UK,") | Some(b"RE,"))
}

/// A field with its name, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedField<'r> {
    /// Column (1-based).
    pub column: usize,
    /// Name from the layout, or `None` for columns the layout does not name.
    pub name: Option<&'static str>,
    /// Decoded text.
    pub value: &'r str,
    /// PHI kind of the field.
    pub phi: Option<Phi>,
    /// ISO form of a date field that could be read.
    pub iso: Option<String>,
    /// Codes of a concatenated repeating field.
    pub items: Option<Vec<&'r str>>,
}

/// The fields of a record, named by `spec`.
pub fn named_fields<'r>(rec: &'r Record, spec: Option<&'static Spec>) -> Vec<NamedField<'r>> {
    rec.fields()
        .enumerate()
        .map(|(i, value)| {
            let column = i + 1;
            let col = spec.and_then(|s| s.col(column));
            let iso = match col.map(|c| c.mode) {
                Some(Mode::Date) if !value.is_empty() => {
                    date::parse(value, true).ok().map(|(_, d)| d.to_string())
                }
                Some(Mode::YearMonth) if !value.is_empty() => {
                    date::parse(value, false).ok().map(|(_, d)| d.to_string())
                }
                _ => None,
            };
            let items = match col.map(|c| c.mode) {
                Some(Mode::Repeat { unit, .. }) if !value.is_empty() && value.is_ascii() => Some(
                    (0..value.len())
                        .step_by(unit)
                        .filter_map(|s| value.get(s..(s + unit).min(value.len())))
                        .collect(),
                ),
                _ => None,
            };
            NamedField {
                column,
                name: col.map(|c| c.name),
                value,
                phi: col.and_then(|c| c.phi),
                iso,
                items,
            }
        })
        .collect()
}

/// One record with the diagnostics raised while reading it.
#[derive(Clone, Debug)]
pub struct ParsedRecord {
    /// The record.
    pub record: Record,
    /// Its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// A whole file, read.
#[derive(Clone, Debug)]
pub struct UkeFile {
    /// Every record, in file order.
    pub records: Vec<ParsedRecord>,
    /// Diagnostics not tied to one record (encoding, end mark, layout …).
    pub diagnostics: Vec<Diagnostic>,
    /// Counts and detections.
    pub summary: Summary,
}

impl UkeFile {
    /// Every diagnostic, record ones first in file order, then file-level ones.
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.records
            .iter()
            .flat_map(|r| r.diagnostics.iter())
            .chain(self.diagnostics.iter())
    }
}

/// Reads a whole file.
pub fn parse(bytes: &[u8]) -> UkeFile {
    let mut file_diags = Diagnostics::default();
    let mut parser = Parser::new(bytes, &mut file_diags);
    let mut records: Vec<ParsedRecord> = Vec::new();
    let mut by_line: BTreeMap<u32, usize> = BTreeMap::new();
    let mut rec = Record::default();
    let mut diags = Diagnostics::default();
    let mut loose: Vec<Diagnostic> = file_diags.into_vec();
    while parser.next(&mut rec, &mut diags) {
        let mut mine = Vec::new();
        for d in std::mem::take(&mut diags) {
            if d.location.line == Some(rec.line) {
                mine.push(d);
            } else if let Some(&i) = d.location.line.and_then(|l| by_line.get(&l)) {
                records[i].diagnostics.push(d);
            } else {
                loose.push(d);
            }
        }
        by_line.insert(rec.line, records.len());
        records.push(ParsedRecord {
            record: rec.clone(),
            diagnostics: mine,
        });
    }
    let mut end = Diagnostics::default();
    let summary = parser.finish(&mut end);
    for d in diags.into_iter().chain(end) {
        match d.location.line.and_then(|l| by_line.get(&l)) {
            Some(&i) => records[i].diagnostics.push(d),
            None => loose.push(d),
        }
    }
    UkeFile {
        records,
        diagnostics: loose,
        summary,
    }
}

#[cfg(test)]
mod tests;
