//! House-code import: a declarative TOML profile describes a vendor's master
//! export (CSV/TSV with any delimiter, fixed-width, XML, or an `.xlsx` worksheet;
//! CP932, Shift_JIS, EUC-JP or UTF-8 with or without BOM), [`read_export`] turns
//! the export's bytes into source keys, and [`merge`] adds `unreviewed` rows for
//! new keys without touching reviewed rows.
//!
//! ```toml
//! format = "csv"            # csv | fixed | xml | xlsx
//! encoding = "cp932"        # any WHATWG label: cp932, shift_jis, euc-jp, utf-8 (not used by xlsx)
//! author = "import"         # author_label of new rows
//! [csv]
//! delimiter = ","           # one character; "\t" for TSV
//! quote = "\""              # "" for no quoting
//! header = true             # fields may then be named by header
//! [fields]                  # csv: header name or 1-based column; fixed: { start, length } in bytes;
//! code = "検査コード"         # xml: path below the record element, "@attr" or "child@attr"
//! display = "検査名称"
//! kana = 3
//! specimen = "材料"
//! unit = "単位"
//! ```
//!
//! An `.xlsx` worksheet (format = "xlsx") is read like CSV: fields are 1-based
//! column numbers (A = 1) or header names, records are worksheet rows.
//!
//! ```toml
//! format = "xlsx"
//! skip_blank_code = true    # rows without a code are headings: counted (T061), not errors
//! [xlsx]
//! sheet = "例外コード品目対照表"  # exact worksheet name
//! skip_rows = 2             # title rows above the header
//! header = true
//! fill_down = [1, 2, 3]     # merged cells: an empty cell takes the value above
//! ```
//!
//! Decoded text is normalised like every other kakehashi input: the six JIS
//! X 0208 characters decoders disagree on are folded to their CP932 forms.

use crate::codes;
use crate::delimited;
use crate::table::{Row, SourceKey, Status, Table};
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where a field comes from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FieldSpec {
    /// CSV: 1-based column number.
    Column(usize),
    /// CSV: header name; XML: relative path (`name`, `@code`, `unit@code`).
    Name(String),
    /// Fixed width: 1-based byte start and byte length (in the export's encoding).
    Span {
        /// 1-based start byte.
        start: usize,
        /// Length in bytes.
        length: usize,
    },
}

/// CSV options.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field delimiter (one character).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character, or empty for none.
    #[serde(default = "dquote")]
    pub quote: String,
    /// The first record is a header.
    #[serde(default)]
    pub header: bool,
    /// Lines to skip before the header / first record.
    #[serde(default)]
    pub skip_lines: usize,
}

fn comma() -> String {
    ",".into()
}
fn dquote() -> String {
    "\"".into()
}

/// XML options.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct XmlOptions {
    /// Path of the record element, matched as a suffix of the element path
    /// (`item`, `master/item`).
    pub record: String,
}

/// `.xlsx` options.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct XlsxOptions {
    /// Exact name of the worksheet to read.
    pub sheet: String,
    /// The first row after `skip_rows` is a header.
    #[serde(default)]
    pub header: bool,
    /// Rows to skip before the header / first record (titles, dates).
    #[serde(default)]
    pub skip_rows: usize,
    /// 1-based columns whose empty cells take the value of the record above
    /// (vertically merged cells keep their value in the top cell only).
    #[serde(default)]
    pub fill_down: Vec<usize>,
}

/// The key fields.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    /// The house code (required).
    pub code: FieldSpec,
    /// Display name.
    pub display: Option<FieldSpec>,
    /// Reading (kana).
    pub kana: Option<FieldSpec>,
    /// Specimen (labs).
    pub specimen: Option<FieldSpec>,
    /// Unit (labs).
    pub unit: Option<FieldSpec>,
    /// Free-text name as a key part.
    pub text: Option<FieldSpec>,
    /// A standard code the export already carries (e.g. a JLAC10 column): imported
    /// as a `suggested` target of [`Profile::target_system`], never as approved.
    pub target_code: Option<FieldSpec>,
    /// Display of that standard code.
    pub target_display: Option<FieldSpec>,
    /// When the file is read as a master ([`to_master`]): the code that replaces
    /// this one (e.g. MEDIS 移行先病名管理番号); a non-empty value marks the code retired.
    pub replaced_by: Option<FieldSpec>,
}

/// An import profile.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short description.
    #[serde(default)]
    pub description: String,
    /// `csv`, `fixed`, `xml` or `xlsx`.
    pub format: String,
    /// Encoding label (WHATWG: `shift_jis` = CP932, `euc-jp`, `iso-2022-jp`, `utf-8`);
    /// required except for `xlsx` (whose text is always Unicode).
    #[serde(default)]
    pub encoding: String,
    /// author_label of new rows.
    #[serde(default = "import_author")]
    pub author: String,
    /// System URI of `fields.target_code` (required when that field is given).
    #[serde(default)]
    pub target_system: String,
    /// Justification written on rows with a target (e.g. `vendor master column JLAC10`,
    /// or `official crosswalk: …` for a standard master's own crosswalk column).
    #[serde(default)]
    pub justification: String,
    /// System URI of the file's own codes, for reading it as a master to check,
    /// suggest or migrate against ([`to_master`]).
    #[serde(default)]
    pub master_system: String,
    /// Citation of the public source the layout was verified against.
    #[serde(default)]
    pub layout_source: String,
    /// Rows with an empty code are headings of the master (e.g. category rows of a
    /// code table), not records: skip them and report their number (T061, info)
    /// instead of one error each.
    #[serde(default)]
    pub skip_blank_code: bool,
    /// CSV options (format = csv).
    pub csv: Option<CsvOptions>,
    /// XML options (format = xml).
    pub xml: Option<XmlOptions>,
    /// `.xlsx` options (format = xlsx).
    pub xlsx: Option<XlsxOptions>,
    /// Fields.
    pub fields: Fields,
}

/// The encoding for a label: WHATWG labels plus `cp932` (= WHATWG Shift_JIS,
/// which is Microsoft's CP932).
pub fn encoding(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let l = if l == "cp932" {
        "shift_jis"
    } else {
        l.as_str()
    };
    encoding_rs::Encoding::for_label(l.as_bytes())
}

fn import_author() -> String {
    "kakehashi import".into()
}

/// Parses a profile; errors are diagnostics.
pub fn parse_profile(text: &str) -> Result<Profile, Box<Diagnostic>> {
    parse_profile_inner(text).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // private; boxed by parse_profile
fn parse_profile_inner(text: &str) -> Result<Profile, Diagnostic> {
    let p: Profile = toml::from_str(text).map_err(|e| {
        let mut d = Diagnostic::new(&codes::BAD_PROFILE, e.message().to_owned());
        if let Some(span) = e.span() {
            let line = text
                .get(..span.start)
                .map(|s| s.matches('\n').count() as u32 + 1)
                .unwrap_or(1);
            d = d.at(Location::default().byte(span.start as u64).line(line));
        }
        d
    })?;
    if p.format != "xlsx" && encoding(&p.encoding).is_none() {
        return Err(
            Diagnostic::new(&codes::BAD_PROFILE, "unknown encoding label")
                .excerpt(Excerpt::text(&p.encoding)),
        );
    }
    if p.fields.target_code.is_some() && p.target_system.is_empty() {
        return Err(Diagnostic::new(
            &codes::BAD_PROFILE,
            "fields.target_code needs target_system",
        ));
    }
    match p.format.as_str() {
        "csv" => {
            let c = p.csv.as_ref().ok_or_else(|| {
                Diagnostic::new(&codes::BAD_PROFILE, "format csv needs a [csv] table")
            })?;
            if c.delimiter.chars().count() != 1 || c.quote.chars().count() > 1 {
                return Err(Diagnostic::new(
                    &codes::BAD_PROFILE,
                    "csv delimiter must be one character, quote at most one",
                ));
            }
        }
        "xml" => {
            if p.xml.is_none() {
                return Err(Diagnostic::new(
                    &codes::BAD_PROFILE,
                    "format xml needs an [xml] table with record",
                ));
            }
        }
        "xlsx" => match &p.xlsx {
            Some(x) if !x.sheet.is_empty() && !x.fill_down.contains(&0) => {}
            _ => {
                return Err(Diagnostic::new(
                    &codes::BAD_PROFILE,
                    "format xlsx needs an [xlsx] table with a sheet name (fill_down columns are 1-based)",
                ));
            }
        },
        "fixed" => {}
        other => {
            return Err(Diagnostic::new(
                &codes::BAD_PROFILE,
                "format must be csv, fixed, xml or xlsx",
            )
            .excerpt(Excerpt::text(other)));
        }
    }
    Ok(p)
}

/// One record of the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseCode {
    /// Key.
    pub key: SourceKey,
    /// Display.
    pub display: String,
    /// Kana.
    pub kana: String,
    /// Standard code the export carries (empty if none).
    pub target_code: String,
    /// Its display.
    pub target_display: String,
    /// The code replacing this one (empty if none).
    pub replaced_by: String,
    /// 1-based line where the record starts.
    pub line: u32,
}

/// Decodes bytes; undecodable bytes become one error each (hex, byte offset) and a
/// U+FFFD beside it, which makes the record containing it be skipped.
pub(crate) fn decode(
    bytes: &[u8],
    enc: &'static encoding_rs::Encoding,
    base: usize,
    d: &mut Diagnostics,
) -> String {
    let (bytes, enc) = match encoding_rs::Encoding::for_bom(bytes) {
        Some((bom_enc, n)) if bom_enc == enc || enc == encoding_rs::UTF_8 => (&bytes[n..], bom_enc),
        _ => (bytes, enc),
    };
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut pos = 0;
    loop {
        out.reserve(
            decoder
                .max_utf8_buffer_length_without_replacement(bytes.len() - pos)
                .unwrap_or(16)
                + 16,
        );
        let (res, read) =
            decoder.decode_to_string_without_replacement(&bytes[pos..], &mut out, true);
        pos += read;
        match res {
            encoding_rs::DecoderResult::InputEmpty => break,
            encoding_rs::DecoderResult::OutputFull => continue,
            encoding_rs::DecoderResult::Malformed(len, extra) => {
                let bad_end = pos - usize::from(extra);
                let bad_start = bad_end.saturating_sub(usize::from(len));
                d.push(
                    Diagnostic::new(
                        &codes::UNDECODABLE,
                        format!("bytes cannot be decoded as {}", enc.name()),
                    )
                    .at(Location::default().byte((base + bad_start) as u64))
                    .excerpt(Excerpt::bytes(&bytes[bad_start..bad_end])),
                );
                out.push('\u{FFFD}');
            }
        }
    }
    match diagnostics::text::fold_jis_variants(&out) {
        std::borrow::Cow::Borrowed(_) => out,
        std::borrow::Cow::Owned(folded) => folded,
    }
}

fn clean(s: &str) -> String {
    s.trim_matches(|c: char| c == ' ' || c == '\u{3000}' || c == '\t')
        .to_owned()
}

/// Reads a vendor export with a profile. Every record becomes a [`HouseCode`] or
/// a diagnostic saying why it was skipped.
pub fn read_export(p: &Profile, bytes: &[u8]) -> (Vec<HouseCode>, Diagnostics) {
    let mut d = Diagnostics::default();
    let enc = encoding(&p.encoding).unwrap_or(encoding_rs::UTF_8);
    let mut out = Vec::new();
    let mut headings = 0usize;
    let mut emit = |line: u32, get: &dyn Fn(&FieldSpec) -> Option<String>, d: &mut Diagnostics| {
        let opt = |f: &Option<FieldSpec>| {
            f.as_ref()
                .and_then(get)
                .map(|s| clean(&s))
                .unwrap_or_default()
        };
        let code = get(&p.fields.code).map(|s| clean(&s));
        let Some(code) = code else {
            d.push(
                Diagnostic::new(&codes::BAD_RECORD, "record has no code field; skipped")
                    .at(Location::default().line(line)),
            );
            return;
        };
        let h = HouseCode {
            key: SourceKey {
                code,
                specimen: opt(&p.fields.specimen),
                unit: opt(&p.fields.unit),
                text: opt(&p.fields.text),
            },
            display: opt(&p.fields.display),
            kana: opt(&p.fields.kana),
            target_code: opt(&p.fields.target_code),
            target_display: opt(&p.fields.target_display),
            replaced_by: opt(&p.fields.replaced_by),
            line,
        };
        let all = [
            &h.key.code,
            &h.key.specimen,
            &h.key.unit,
            &h.key.text,
            &h.display,
            &h.kana,
            &h.target_code,
            &h.target_display,
        ];
        if all.iter().any(|s| s.contains('\u{FFFD}')) {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    "record has undecodable bytes (reported above); skipped",
                )
                .at(Location::default().line(line)),
            );
        } else if all.iter().any(|s| s.contains(['\t', '\r', '\n'])) {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    "record has a tab or line break inside a field; skipped",
                )
                .at(Location::default().line(line)),
            );
        } else if h.key.code.is_empty() && h.key.text.is_empty() && p.skip_blank_code {
            headings += 1;
        } else if h.key.code.is_empty() && h.key.text.is_empty() {
            d.push(
                Diagnostic::new(&codes::BAD_RECORD, "record has an empty code; skipped")
                    .at(Location::default().line(line)),
            );
        } else {
            out.push(h);
        }
    };
    match p.format.as_str() {
        "fixed" => {
            let mut off = 0;
            for (i, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
                let base = off;
                off += raw.len();
                let line = raw.strip_suffix(b"\n").unwrap_or(raw);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(|b| *b == b' ' || *b == 0x1a) {
                    continue;
                }
                let mut local = Diagnostics::default();
                let get = |f: &FieldSpec| -> Option<String> {
                    let FieldSpec::Span { start, length } = f else {
                        return None;
                    };
                    let s = start.checked_sub(1)?;
                    let slice = line.get(s..(s + length).min(line.len()))?;
                    let mut dd = Diagnostics::default();
                    let text = decode(slice, enc, base + s, &mut dd);
                    if !dd.is_empty() {
                        return Some("\u{FFFD}".into());
                    }
                    Some(text)
                };
                // Report undecodable bytes of the whole line once, at their offsets.
                let _ = decode(line, enc, base, &mut local);
                for x in local.iter_mut() {
                    x.location.line = Some(i as u32 + 1);
                }
                d.extend(local);
                emit(i as u32 + 1, &get, &mut d);
            }
        }
        "xml" => {
            let text = decode(bytes, enc, 0, &mut d);
            let record = p.xml.as_ref().map(|x| x.record.clone()).unwrap_or_default();
            let (records, xd) = xml_records(&text, &record);
            d.extend(xd);
            for (n, map) in records {
                let get = |f: &FieldSpec| match f {
                    FieldSpec::Name(path) => map.get(path.as_str()).cloned(),
                    _ => None,
                };
                emit(n, &get, &mut d);
            }
        }
        "xlsx" => {
            let Some(x) = &p.xlsx else { return (out, d) };
            match xlsx_rows(bytes, &x.sheet) {
                Ok((rows, bad)) => {
                    let rows = rows
                        .into_iter()
                        .filter(|r| r.line as usize > x.skip_rows)
                        .collect();
                    tabular(p, x.header, &x.fill_down, rows, bad, &mut d, &mut emit);
                }
                Err(e) => d.push(*e),
            }
        }
        _ => {
            let Some(c) = &p.csv else { return (out, d) };
            let text = decode(bytes, enc, 0, &mut d);
            let delim = c.delimiter.chars().next().unwrap_or(',');
            let quote = c.quote.chars().next();
            let (recs, bad) = delimited::records(&text, delim, quote);
            for b in bad {
                d.push(
                    Diagnostic::new(&codes::BAD_RECORD, b.message)
                        .at(Location::default().line(b.line)),
                );
            }
            let recs = recs
                .into_iter()
                .filter(|r| r.line as usize > c.skip_lines)
                .collect();
            tabular(p, c.header, &[], recs, BTreeMap::new(), &mut d, &mut emit);
        }
    }
    if headings > 0 {
        d.push(Diagnostic::new(
            &codes::MASTER_SKIPPED,
            format!("{headings} rows without a code (headings) skipped, as the profile says"),
        ));
    }
    (out, d)
}

type Emit<'a> = dyn FnMut(u32, &dyn Fn(&FieldSpec) -> Option<String>, &mut Diagnostics) + 'a;

/// Header handling, field lookup and width checks shared by CSV and `.xlsx`
/// records (already past the skipped lines). `bad` holds the records (by line)
/// that must be skipped with their diagnostic; they still take part in
/// `fill_down`, so a skipped row never shifts a merged value onto the next group.
fn tabular(
    p: &Profile,
    header: bool,
    fill_down: &[usize],
    recs: Vec<delimited::Record>,
    mut bad: BTreeMap<u32, Diagnostic>,
    d: &mut Diagnostics,
    emit: &mut Emit<'_>,
) {
    let mut recs = recs.into_iter();
    let header: Vec<String> = if header {
        recs.next()
            .map(|r| {
                if let Some(why) = bad.remove(&r.line) {
                    d.push(why);
                }
                r.fields
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let specs = [
        Some(&p.fields.code),
        p.fields.display.as_ref(),
        p.fields.kana.as_ref(),
        p.fields.specimen.as_ref(),
        p.fields.unit.as_ref(),
        p.fields.text.as_ref(),
        p.fields.target_code.as_ref(),
        p.fields.target_display.as_ref(),
        p.fields.replaced_by.as_ref(),
    ];
    for s in specs.into_iter().flatten() {
        if let FieldSpec::Name(n) = s
            && !header.contains(n)
        {
            d.push(
                Diagnostic::new(
                    &codes::BAD_PROFILE,
                    "profile names a column the header does not have",
                )
                .excerpt(Excerpt::text(n)),
            );
            return;
        }
    }
    let xlsx = p.format == "xlsx";
    let mut above: Vec<String> = Vec::new();
    for mut r in recs {
        if !xlsx && !header.is_empty() && r.fields.len() != header.len() {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    format!(
                        "record has {} fields, header has {}; skipped",
                        r.fields.len(),
                        header.len()
                    ),
                )
                .at(Location::default().line(r.line)),
            );
            continue;
        }
        for &col in fill_down {
            let i = col - 1;
            if r.fields.len() <= i {
                r.fields.resize(i + 1, String::new());
            }
            if r.fields[i].is_empty()
                && let Some(v) = above.get(i)
            {
                r.fields[i] = v.clone();
            }
        }
        if !fill_down.is_empty() {
            above.clone_from(&r.fields);
        }
        if let Some(why) = bad.remove(&r.line) {
            d.push(why);
            continue;
        }
        // A worksheet row ends at its last non-empty cell: a column past it is an
        // empty cell, not a missing field.
        let cell = |i: usize| match r.fields.get(i) {
            Some(v) => Some(v.clone()),
            None if xlsx => Some(String::new()),
            None => None,
        };
        let get = |f: &FieldSpec| match f {
            FieldSpec::Column(i) => i.checked_sub(1).and_then(cell),
            FieldSpec::Name(n) => header.iter().position(|h| h == n).and_then(cell),
            FieldSpec::Span { .. } => None,
        };
        emit(r.line, &get, d);
    }
}

/// The column letters of a 0-based column index (`0` → `A`, `27` → `AB`).
fn column_letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Records of an `.xlsx` worksheet, and the rows to skip (by row) with the reason.
type XlsxRows = (Vec<delimited::Record>, BTreeMap<u32, Diagnostic>);

/// The rows of one worksheet as records: `line` is the 1-based worksheet row,
/// field `n` is column `n` (A = 1) whatever the used range's first cell. Empty
/// rows are left out. A row with a cell holding an Excel error value (`#N/A` …) is
/// returned with the diagnostic that skips it.
///
/// calamine 0.38 can panic on damaged workbooks (e.g. an arithmetic overflow on an
/// absurd cell reference, found by the property test below); bad input must never
/// panic kakehashi, so a panic of the reader becomes a T080 diagnostic.
fn xlsx_rows(bytes: &[u8], sheet: &str) -> Result<XlsxRows, Box<Diagnostic>> {
    std::panic::catch_unwind(|| read_xlsx_rows(bytes, sheet)).unwrap_or_else(|_| {
        Err(Box::new(Diagnostic::new(
            &codes::BAD_WORKBOOK,
            "the workbook is damaged: the .xlsx reader failed on it",
        )))
    })
}

fn read_xlsx_rows(bytes: &[u8], sheet: &str) -> Result<XlsxRows, Box<Diagnostic>> {
    use calamine::{Data, Reader};
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| {
        Box::new(Diagnostic::new(
            &codes::BAD_WORKBOOK,
            format!("not a readable .xlsx workbook: {e}"),
        ))
    })?;
    let names = wb.sheet_names();
    if !names.iter().any(|n| n == sheet) {
        return Err(Box::new(
            Diagnostic::new(
                &codes::BAD_WORKBOOK,
                format!(
                    "the workbook has no worksheet named as the profile says (it has: {})",
                    names.join(", ")
                ),
            )
            .excerpt(Excerpt::text(sheet)),
        ));
    }
    let range = wb.worksheet_range(sheet).map_err(|e| {
        Box::new(
            Diagnostic::new(
                &codes::BAD_WORKBOOK,
                format!("worksheet cannot be read: {e}"),
            )
            .excerpt(Excerpt::text(sheet)),
        )
    })?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut out = Vec::new();
    let mut skip = BTreeMap::new();
    for (i, cells) in range.rows().enumerate() {
        let line = row0 + i as u32 + 1;
        let mut fields = vec![String::new(); col0 as usize];
        let mut bad = None;
        for (j, c) in cells.iter().enumerate() {
            let v = match c {
                Data::Error(e) => {
                    bad.get_or_insert((col0 as usize + j, e.to_string()));
                    String::new()
                }
                Data::String(s) => match diagnostics::text::fold_jis_variants(s) {
                    std::borrow::Cow::Borrowed(b) => b.to_owned(),
                    std::borrow::Cow::Owned(o) => o,
                },
                other => other.to_string(),
            };
            fields.push(v);
        }
        while fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
        if let Some((col, err)) = bad {
            skip.insert(
                line,
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    format!(
                        "cell {}{line} holds the Excel error {err}; row skipped",
                        column_letters(col)
                    ),
                )
                .at(Location::default().line(line)),
            );
        } else if fields.is_empty() {
            continue;
        }
        out.push(delimited::Record {
            line,
            offset: 0,
            fields,
        });
    }
    Ok((out, skip))
}

type XmlRecord = (u32, BTreeMap<String, String>);

fn xml_records(text: &str, record: &str) -> (Vec<XmlRecord>, Diagnostics) {
    use quick_xml::events::Event;
    let mut d = Diagnostics::default();
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut cur: Option<(usize, BTreeMap<String, String>)> = None;
    let mut n = 0u32;
    let line_at = |pos: u64| {
        text.get(..pos as usize)
            .map(|s| s.matches('\n').count() as u32 + 1)
            .unwrap_or(0)
    };
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                d.push(
                    Diagnostic::new(
                        &codes::BAD_RECORD,
                        format!("XML error: {e}; rest of the file skipped"),
                    )
                    .at(Location::default().line(line_at(pos))),
                );
                break;
            }
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name: String = AsRef::<str>::as_ref(&e.name()).to_owned();
                let is_empty = matches!(ev, Event::Empty(_));
                stack.push(name);
                let path = stack.join("/");
                if cur.is_none() && (path == record || path.ends_with(&format!("/{record}"))) {
                    n = line_at(pos);
                    cur = Some((stack.len(), BTreeMap::new()));
                }
                if let Some((depth, map)) = &mut cur {
                    let rel = stack[*depth..].join("/");
                    for a in e.attributes().flatten() {
                        let key = format!("{rel}@{}", AsRef::<str>::as_ref(&a.key));
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(|v| v.into_owned())
                            .unwrap_or_default();
                        map.insert(key, v);
                    }
                }
                if is_empty {
                    if let Some((depth, _)) = &cur
                        && stack.len() == *depth
                        && let Some((_, map)) = cur.take()
                    {
                        out.push((n, map));
                    }
                    stack.pop();
                }
            }
            Event::Text(t) => {
                if let Some((depth, map)) = &mut cur {
                    let rel = stack[*depth..].join("/");
                    let v = t.xml10_content().into_owned();
                    map.entry(rel).or_default().push_str(&v);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((depth, map)) = &mut cur {
                    let rel = stack[*depth..].join("/");
                    let name: String = (*r).to_owned();
                    let ch = match name.as_str() {
                        "amp" => "&".to_owned(),
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        _ => r
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .map(String::from)
                            .unwrap_or_default(),
                    };
                    map.entry(rel).or_default().push_str(&ch);
                }
            }
            Event::End(_) => {
                if let Some((depth, _)) = &cur
                    && stack.len() == *depth
                    && let Some((_, map)) = cur.take()
                {
                    out.push((n, map));
                }
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (out, d)
}

/// Puts the export's standard code on a row as a suggestion; true if it did.
fn set_target(r: &mut Row, h: &HouseCode, cw: &Crosswalk) -> bool {
    if h.target_code.is_empty() || cw.system.is_empty() {
        return false;
    }
    r.target_system = cw.system.clone();
    r.target_code = h.target_code.clone();
    r.target_display = h.target_display.clone();
    r.equivalence = Some(crate::table::Equivalence::Equivalent);
    r.status = Status::Suggested;
    r.justification = cw.justification.clone();
    true
}

/// True when a row keyed `row` applies to `key`: same code, and every key part
/// the row names is equal (an empty part applies to any value), as in lookups.
fn covers(row: &SourceKey, key: &SourceKey) -> bool {
    row.code == key.code
        && [
            (&row.specimen, &key.specimen),
            (&row.unit, &key.unit),
            (&row.text, &key.text),
        ]
        .iter()
        .all(|(r, k)| r.is_empty() || r == k)
}

/// What [`merge`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    /// New unreviewed rows.
    pub added: usize,
    /// Unreviewed/suggested rows whose display, kana or frequency were refreshed.
    pub refreshed: usize,
    /// Keys left alone because a reviewed row exists.
    pub kept: usize,
    /// Records read (each key counted once per occurrence).
    pub records: usize,
}

/// Adds `unreviewed` rows (no target) for keys the table does not have;
/// refreshes display, kana and observed frequency of unreviewed/suggested rows;
/// never touches reviewed rows. `date` is the author date of new rows (explicit,
/// never the clock).
pub fn merge(table: &mut Table, codes_in: &[HouseCode], author: &str, date: &str) -> MergeSummary {
    merge_with(table, codes_in, &Crosswalk::default(), author, date)
}

/// Where the standard codes an export carries belong.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Crosswalk {
    /// Target system URI.
    pub system: String,
    /// Justification written on those rows.
    pub justification: String,
}

/// [`merge`], also taking the standard codes the export carries as `suggested`
/// targets (equivalence `equivalent`, as the vendor claims; a person approves).
pub fn merge_with(
    table: &mut Table,
    codes_in: &[HouseCode],
    cw: &Crosswalk,
    author: &str,
    date: &str,
) -> MergeSummary {
    let mut s = MergeSummary {
        records: codes_in.len(),
        ..MergeSummary::default()
    };
    let mut seen: BTreeMap<&SourceKey, (u64, &HouseCode)> = BTreeMap::new();
    let mut order: Vec<&SourceKey> = Vec::new();
    for h in codes_in {
        let e = seen.entry(&h.key).or_insert_with(|| {
            order.push(&h.key);
            (0, h)
        });
        e.0 += 1;
    }
    let mut next = table
        .next_row_id()
        .trim_start_matches('r')
        .parse::<u64>()
        .unwrap_or(1);
    for key in order {
        let Some(&(count, h)) = seen.get(key) else {
            continue;
        };
        let existing: Vec<usize> = table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| covers(&r.source, key))
            .map(|(i, _)| i)
            .collect();
        if existing.iter().any(|&i| table.rows[i].status.is_reviewed()) {
            s.kept += 1;
            continue;
        }
        if existing.is_empty() {
            let id = format!("r{next:05}");
            next += 1;
            table.rows.push(Row {
                id,
                source: key.clone(),
                source_display: h.display.clone(),
                source_kana: h.kana.clone(),
                status: Status::Unreviewed,
                method: "semapv:UnspecifiedMatching".into(),
                author: author.into(),
                author_date: date.into(),
                frequency: Some(count),
                ..Row::default()
            });
            if let Some(r) = table.rows.last_mut() {
                set_target(r, h, cw);
            }
            s.added += 1;
        } else {
            let mut changed = false;
            for i in existing {
                let r = &mut table.rows[i];
                if r.source_display != h.display
                    || r.source_kana != h.kana
                    || r.frequency != Some(count)
                {
                    r.source_display = h.display.clone();
                    r.source_kana = h.kana.clone();
                    r.frequency = Some(count);
                    changed = true;
                }
                if !r.has_target() && set_target(r, h, cw) {
                    changed = true;
                }
            }
            if changed {
                s.refreshed += 1;
            }
        }
    }
    s
}

/// Reads an export as a master of `profile.master_system`: code → display, the
/// kana as another name (for suggestions), and codes with a `replaced_by` value
/// as retired with that replacement.
pub fn to_master(profile: &Profile, codes_in: &[HouseCode], version: &str) -> crate::check::Master {
    let mut m = crate::check::Master {
        system: profile.master_system.clone(),
        version: version.to_owned(),
        ..crate::check::Master::default()
    };
    for h in codes_in {
        if h.key.code.is_empty() {
            continue;
        }
        if !h.replaced_by.is_empty() && h.replaced_by != h.key.code {
            m.retired.insert(h.key.code.clone(), h.replaced_by.clone());
            continue;
        }
        m.codes.insert(h.key.code.clone(), h.display.clone());
        if !h.kana.is_empty() {
            m.names.insert(h.key.code.clone(), vec![h.kana.clone()]);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(t: &str) -> Profile {
        parse_profile(t).unwrap()
    }

    #[test]
    fn csv_cp932_with_header_names() {
        let p = profile(
            "format = \"csv\"\nencoding = \"cp932\"\n[csv]\nheader = true\n[fields]\ncode = \"コード\"\ndisplay = \"名称\"\nunit = 3\n",
        );
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(
            "コード,名称,単位\r\n10222,総蛋白～,g/dl\r\n\"10206\",\"ＬＤＨ, 血清\",U/L\r\n",
        );
        let (codes, d) = read_export(&p, &bytes);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].display, "総蛋白～");
        assert_eq!(codes[1].key.unit, "U/L");
        assert_eq!(codes[1].display, "ＬＤＨ, 血清");
    }

    #[test]
    fn utf8_bom_and_jis_variant_folding() {
        let p = profile(
            "format = \"csv\"\nencoding = \"utf-8\"\n[csv]\ndelimiter = \"\\t\"\nquote = \"\"\n[fields]\ncode = 1\ndisplay = 2\n",
        );
        let (codes, d) = read_export(&p, "\u{feff}A1\t〜−\n".as_bytes());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(codes[0].key.code, "A1");
        assert_eq!(codes[0].display, "～－");
    }

    #[test]
    fn undecodable_bytes_skip_the_record_and_name_the_bytes() {
        let p = profile(
            "format = \"csv\"\nencoding = \"utf-8\"\n[csv]\n[fields]\ncode = 1\ndisplay = 2\n",
        );
        let (codes, d) = read_export(&p, b"A,ok\nB,\xff\xfe\n");
        assert_eq!(codes.len(), 1);
        let ids: Vec<_> = d.iter().map(|d| d.code.id).collect();
        assert_eq!(ids, ["T051", "T051", "T052"]);
        assert_eq!(d.iter().next().unwrap().location.byte, Some(7));
    }

    #[test]
    fn fixed_width_byte_spans_in_cp932() {
        let p = profile(
            "format = \"fixed\"\nencoding = \"shift_jis\"\n[fields]\ncode = { start = 1, length = 5 }\ndisplay = { start = 6, length = 10 }\n",
        );
        let mut bytes = Vec::new();
        for (c, n) in [("10222", "総蛋白"), ("30058", "Ｆｉｂ")] {
            bytes.extend_from_slice(c.as_bytes());
            let (b, _, _) = encoding_rs::SHIFT_JIS.encode(n);
            bytes.extend_from_slice(&b);
            bytes.extend(std::iter::repeat_n(b' ', 10 - b.len()));
            bytes.extend_from_slice(b"\r\n");
        }
        let (codes, d) = read_export(&p, &bytes);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            (codes[1].key.code.as_str(), codes[1].display.as_str()),
            ("30058", "Ｆｉｂ")
        );
    }

    #[test]
    fn xml_paths_and_attributes() {
        let p = profile(
            "format = \"xml\"\nencoding = \"utf-8\"\n[xml]\nrecord = \"item\"\n[fields]\ncode = \"@code\"\ndisplay = \"name\"\nunit = \"unit@code\"\n",
        );
        let x = "<?xml version=\"1.0\"?><master><item code=\"10222\"><name>総蛋白 &amp; X</name><unit code=\"g/dl\"/></item><item code=\"E1\"><name>b</name></item></master>";
        let (codes, d) = read_export(&p, x.as_bytes());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].display, "総蛋白 & X");
        assert_eq!(codes[0].key.unit, "g/dl");
        assert_eq!(codes[1].key.unit, "");
    }

    #[test]
    fn bad_profiles_are_diagnostics() {
        assert_eq!(parse_profile("format = 3").unwrap_err().code.id, "T050");
        assert!(
            parse_profile("format = \"csv\"\nencoding = \"klingon\"\n[csv]\n[fields]\ncode = 1\n")
                .is_err()
        );
        assert!(
            parse_profile("format = \"json\"\nencoding = \"utf-8\"\n[fields]\ncode = 1\n").is_err()
        );
    }

    #[test]
    fn merge_keeps_reviewed_rows() {
        let mut t = Table::default();
        t.rows.push(Row {
            id: "r00001".into(),
            source: SourceKey::code("A"),
            status: Status::Approved,
            target_code: "X".into(),
            ..Row::default()
        });
        t.rows.push(Row {
            id: "r00002".into(),
            source: SourceKey::code("B"),
            status: Status::Unreviewed,
            ..Row::default()
        });
        let before = t.rows[0].clone();
        let hc = |c: &str, disp: &str| HouseCode {
            key: SourceKey::code(c),
            display: disp.into(),
            kana: String::new(),
            target_code: String::new(),
            target_display: String::new(),
            replaced_by: String::new(),
            line: 1,
        };
        let s = merge(
            &mut t,
            &[hc("A", "a2"), hc("B", "b"), hc("C", "c"), hc("C", "c")],
            "imp",
            "2026-11-23",
        );
        assert_eq!(
            s,
            MergeSummary {
                added: 1,
                refreshed: 1,
                kept: 1,
                records: 4
            }
        );
        assert_eq!(t.rows[0], before);
        assert_eq!(t.rows[2].id, "r00003");
        assert_eq!(t.rows[2].frequency, Some(2));
        let again = merge(
            &mut t,
            &[hc("A", "a2"), hc("B", "b"), hc("C", "c"), hc("C", "c")],
            "imp",
            "2026-11-23",
        );
        assert_eq!((again.added, again.refreshed), (0, 0));
    }

    #[test]
    fn export_columns_become_suggested_targets() {
        let p = profile(
            "format = \"csv\"\nencoding = \"utf-8\"\ntarget_system = \"http://medis.or.jp/CodeSystem/master-JLAC10-17digits\"\njustification = \"vendor column\"\n[csv]\n[fields]\ncode = 1\ntarget_code = 2\n",
        );
        let (codes, d) = read_export(&p, b"A,3A010000002327101\nB,\n");
        assert!(d.is_empty(), "{d:?}");
        let mut t = Table::default();
        let cw = Crosswalk {
            system: p.target_system.clone(),
            justification: p.justification.clone(),
        };
        merge_with(&mut t, &codes, &cw, "imp", "");
        assert_eq!(t.rows[0].status, Status::Suggested);
        assert_eq!(t.rows[0].target_code, "3A010000002327101");
        assert!(!t.rows[1].has_target());
        assert_eq!(t.rows[1].status, Status::Unreviewed);
        assert!(parse_profile("format = \"csv\"\nencoding = \"utf-8\"\n[csv]\n[fields]\ncode = 1\ntarget_code = 2\n").is_err());
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;
        proptest! {
            #[test]
            fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), fmt in 0usize..4) {
                let p = match fmt {
                    3 => profile("format = \"xlsx\"\n[xlsx]\nsheet = \"s\"\nheader = true\nfill_down = [2]\n[fields]\ncode = 1\n"),
                    0 => profile("format = \"csv\"\nencoding = \"cp932\"\n[csv]\nheader = true\n[fields]\ncode = 1\ndisplay = 2\n"),
                    1 => profile("format = \"fixed\"\nencoding = \"cp932\"\n[fields]\ncode = { start = 1, length = 3 }\ndisplay = { start = 4, length = 4 }\n"),
                    _ => profile("format = \"xml\"\nencoding = \"utf-8\"\n[xml]\nrecord = \"i\"\n[fields]\ncode = \"@c\"\n"),
                };
                let _ = read_export(&p, &bytes);
            }

            #[test]
            fn damaged_workbooks_never_panic(
                flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
                cut in any::<proptest::sample::Index>(),
                truncate in any::<bool>(),
            ) {
                let mut bytes = XLSX.to_vec();
                for (at, b) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] ^= b | 1;
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len()));
                }
                let p = profile(include_str!("../../tables/profiles/mhlw-general-order-exception.toml"));
                let (codes, d) = read_export(&p, &bytes);
                // Whatever survives is either read or reported.
                prop_assert!(!codes.is_empty() || !d.is_empty());
            }
        }
    }

    #[test]
    fn shipped_official_master_profiles_parse_and_read_their_fixtures() {
        let profiles = [
            include_str!("../../tables/profiles/medis-byomei-icd10.toml"),
            include_str!("../../tables/profiles/medis-byomei-excode.toml"),
            include_str!("../../tables/profiles/medis-byomei-receipt.toml"),
            include_str!("../../tables/profiles/medis-hot-yj.toml"),
            include_str!("../../tables/profiles/ssk-disease-icd10.toml"),
            include_str!("../../tables/profiles/ssk-disease-medis.toml"),
            include_str!("../../tables/profiles/ssk-drug-general.toml"),
            include_str!("../../tables/profiles/ssk-modifier-medis.toml"),
            include_str!("../../tables/profiles/ssk-modifier-excode.toml"),
            include_str!("../../tables/profiles/medis-modifier-receipt.toml"),
            include_str!("../../tables/profiles/medis-modifier-excode.toml"),
            include_str!("../../tables/profiles/medis-hot-receipt.toml"),
            include_str!("../../tables/profiles/mhlw-general-order.toml"),
            include_str!("../../tables/profiles/mhlw-general-order-exception.toml"),
            include_str!("../../tables/profiles/jslm-jlac10-material.toml"),
        ];
        for p in profiles {
            let p = parse_profile(p).expect("profile parses");
            // A profile that imports targets says they are the master's own crosswalk;
            // every official profile names its layout source and its own code system,
            // which the registry knows.
            if p.fields.target_code.is_some() {
                assert!(p.justification.starts_with("official crosswalk"), "{p:?}");
                assert!(crate::system::by_uri(&p.target_system).is_some(), "{p:?}");
            }
            assert!(!p.layout_source.is_empty());
            assert!(crate::system::by_uri(&p.master_system).is_some(), "{p:?}");
        }
        let nmain = include_bytes!("../../tables/profiles/fixtures/medis-byomei-nmain.txt");
        for (p, target) in [
            (profiles[0], "K297"),
            (profiles[1], "ZQ01"),
            (profiles[2], "8899001"),
        ] {
            let p = parse_profile(p).expect("profile parses");
            let (codes, d) = read_export(&p, nmain);
            assert!(d.is_empty(), "{d:?}");
            assert_eq!(codes.len(), 5);
            assert_eq!(
                (codes[0].key.code.as_str(), codes[0].target_code.as_str()),
                ("29990001", target)
            );
            let m = to_master(&p, &codes, "fixture");
            assert_eq!(m.codes.len(), 4);
            assert_eq!(
                m.retired.get("29990005").map(String::as_str),
                Some("29990001")
            );
            assert_eq!(m.names["29990001"], ["ｶｸｳｲｴﾝ"]);
        }
        let b = include_bytes!("../../tables/profiles/fixtures/ssk-disease-b.csv");
        let p = parse_profile(profiles[5]).expect("profile parses");
        let (codes, _) = read_export(&p, b);
        assert_eq!(codes[0].target_code, "29990001");
        let m = to_master(&p, &codes, "fixture");
        assert_eq!(
            m.retired.get("8899005").map(String::as_str),
            Some("8899001")
        );
        // 支払基金 医薬品マスター, 42-column layout: 一般名コード is column 37.
        let y = include_bytes!("../../tables/profiles/fixtures/ssk-drug-y.csv");
        let p = parse_profile(profiles[6]).expect("profile parses");
        let (codes, d) = read_export(&p, y);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            (codes[0].key.code.as_str(), codes[0].target_code.as_str()),
            ("699900101", "9999001F1ZZZ")
        );
        assert_eq!(codes[0].target_display, "【般】架空薬錠１０ｍｇ");
    }

    #[test]
    fn modifier_profiles_read_their_fixtures() {
        let z = include_bytes!("../../tables/profiles/fixtures/ssk-modifier-z.csv");
        for (text, targets) in [
            (
                include_str!("../../tables/profiles/ssk-modifier-medis.toml"),
                ["29900001", "29900002"],
            ),
            (
                include_str!("../../tables/profiles/ssk-modifier-excode.toml"),
                ["ZX01", "ZX02"],
            ),
        ] {
            let p = profile(text);
            let (codes, d) = read_export(&p, z);
            assert!(d.is_empty(), "{d:?}");
            assert_eq!(codes.len(), 6);
            let got: Vec<_> = codes
                .iter()
                .take(2)
                .map(|c| {
                    (
                        c.key.code.as_str(),
                        c.display.as_str(),
                        c.target_code.as_str(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("1999", "架空左", targets[0]),
                    ("8999", "の架空疑い", targets[1])
                ]
            );
        }
        let medis = include_bytes!("../../tables/profiles/fixtures/medis-modifier.txt");
        for (text, targets) in [
            (
                include_str!("../../tables/profiles/medis-modifier-receipt.toml"),
                ["1999", "8999", "1998", "2999", "8998", ""],
            ),
            (
                include_str!("../../tables/profiles/medis-modifier-excode.toml"),
                ["ZX01", "ZX02", "ZX03", "ZX04", "ZX05", "ZX07"],
            ),
        ] {
            let p = profile(text);
            let (codes, d) = read_export(&p, medis);
            assert!(d.is_empty(), "{d:?}");
            let got: Vec<_> = codes.iter().map(|c| c.target_code.as_str()).collect();
            assert_eq!(got, targets);
            assert_eq!(codes[0].key.code, "29900001");
            assert_eq!(codes[0].kana, "ｶｸｳﾋﾀﾞﾘ");
        }
    }

    #[test]
    fn medis_hot_to_receipt_drug_code() {
        let p = profile(include_str!("../../tables/profiles/medis-hot-receipt.toml"));
        let hot = include_bytes!("../../tables/profiles/fixtures/medis-hot.txt");
        let (codes, d) = read_export(&p, hot);
        assert!(d.is_empty(), "{d:?}");
        let got: Vec<_> = codes
            .iter()
            .map(|c| (c.key.code.as_str(), c.target_code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("9990001010101", "699900101"),
                ("9990001010201", "699900101"),
                ("9990002010101", "699900201"),
                ("9990003010101", "")
            ]
        );
        let sys = crate::system::by_uri(&p.target_system).expect("registry");
        assert_eq!(sys.key, "RECEIPT-DRUG");
        assert!(
            codes[..3]
                .iter()
                .all(|c| sys.shape.check(&c.target_code).is_ok())
        );
    }

    const XLSX: &[u8] = include_bytes!("../../tables/profiles/fixtures/mhlw-general-order.xlsx");

    #[test]
    fn xlsx_main_sheet_as_a_master() {
        let p = profile(include_str!(
            "../../tables/profiles/mhlw-general-order.toml"
        ));
        let (codes, d) = read_export(&p, XLSX);
        assert!(d.is_empty(), "{d:?}");
        let got: Vec<_> = codes
            .iter()
            .map(|c| (c.line, c.key.code.as_str(), c.display.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "9999001F1ZZZ", "【般】架空薬錠１０ｍｇ"),
                (5, "9999002Q1ZZZ", "【般】架空薬シロップ０．１％"),
                (6, "9999003M1ZZZ", "【般】架空軟膏１％")
            ]
        );
        let m = to_master(&p, &codes, "R8.4.1");
        assert_eq!(
            m.system,
            "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode"
        );
        assert_eq!(m.codes.len(), 3);
    }

    #[test]
    fn xlsx_exception_sheet_fills_merged_cells_and_skips_error_rows() {
        let p = profile(include_str!(
            "../../tables/profiles/mhlw-general-order-exception.toml"
        ));
        let (codes, d) = read_export(&p, XLSX);
        // Row 6 holds #N/A: reported (its cell named) and skipped; row 7 still gets its
        // own group's merged 一般名コード from row 6, not row 4's.
        let msgs: Vec<_> = d
            .iter()
            .map(|x| (x.code.id, x.location.line, x.message.clone()))
            .collect();
        assert_eq!(
            msgs,
            [(
                "T052",
                Some(6),
                "cell O6 holds the Excel error #N/A; row skipped".to_owned()
            )]
        );
        let got: Vec<_> = codes
            .iter()
            .map(|c| {
                (
                    c.key.code.as_str(),
                    c.target_code.as_str(),
                    c.display.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("9999001F1011", "9999001F1ZZZ", "カクウ錠１０ｍｇ"),
                ("9999001F1020", "9999001F1ZZZ", "架空薬錠１０ｍｇ「架空」"),
                ("9999003M1021", "9999003M1ZZZ", "架空軟膏１％「架空」")
            ]
        );
        assert_eq!(codes[1].target_display, "【般】架空薬錠１０ｍｇ");
    }

    #[test]
    fn jlac10_material_sheet_as_the_specimen_master() {
        let p = profile(include_str!(
            "../../tables/profiles/jslm-jlac10-material.toml"
        ));
        let bytes = include_bytes!("../../tables/profiles/fixtures/jslm-jlac10.xlsx");
        let (codes, d) = read_export(&p, bytes);
        // The two category headings are counted, not reported one by one.
        let ds: Vec<_> = d.iter().map(|x| (x.code.id, x.message.as_str())).collect();
        assert_eq!(
            ds,
            [(
                "T061",
                "2 rows without a code (headings) skipped, as the profile says"
            )]
        );
        let got: Vec<_> = codes
            .iter()
            .map(|c| (c.key.code.as_str(), c.display.as_str()))
            .collect();
        assert_eq!(got, [("022", "血漿"), ("023", "血清"), ("990", "架空材料")]);
        let m = to_master(&p, &codes, "fixture");
        let shape = crate::system::by_uri(&m.system).expect("registry").shape;
        assert!(m.codes.keys().all(|c| shape.check(c).is_ok()));
        // Without skip_blank_code each heading is an error.
        let mut strict = p.clone();
        strict.skip_blank_code = false;
        let (_, d) = read_export(&strict, bytes);
        assert_eq!(d.iter().filter(|x| x.code.id == "T052").count(), 2);
    }

    #[test]
    fn xlsx_bad_workbooks_and_sheets_are_diagnostics() {
        let mut p = profile(include_str!(
            "../../tables/profiles/mhlw-general-order.toml"
        ));
        let (codes, d) = read_export(&p, b"PK\x03\x04 not really a zip");
        assert!(codes.is_empty());
        assert_eq!(d.iter().next().map(|x| x.code.id), Some("T080"));
        if let Some(x) = p.xlsx.as_mut() {
            x.sheet = "一般名処方マスタ（R9.4.1版） 全体".into();
        }
        let (codes, d) = read_export(&p, XLSX);
        assert!(codes.is_empty());
        let x = d.iter().next().expect("a diagnostic");
        assert_eq!(x.code.id, "T080");
        assert!(x.message.contains("例外コード品目対照表"), "{}", x.message);
        assert!(
            parse_profile("format = \"xlsx\"\n[fields]\ncode = 1\n").is_err(),
            "xlsx without [xlsx]"
        );
        assert!(
            parse_profile(
                "format = \"xlsx\"\n[xlsx]\nsheet = \"s\"\nfill_down = [0]\n[fields]\ncode = 1\n"
            )
            .is_err()
        );
    }

    #[test]
    fn a_workbook_that_makes_the_reader_panic_is_a_diagnostic() {
        let p = profile(include_str!(
            "../../tables/profiles/mhlw-general-order-exception.toml"
        ));
        let bytes = include_bytes!("../../tables/profiles/fixtures/damaged-cellref.xlsx");
        let (codes, d) = read_export(&p, bytes);
        assert!(codes.is_empty());
        let ids: Vec<_> = d.iter().map(|x| (x.code.id, x.message.as_str())).collect();
        assert_eq!(
            ids,
            [(
                "T080",
                "the workbook is damaged: the .xlsx reader failed on it"
            )]
        );
    }

    #[test]
    fn column_letters_are_spreadsheet_names() {
        let got: Vec<_> = [0, 14, 25, 26, 27, 701, 702]
            .iter()
            .map(|&i| column_letters(i))
            .collect();
        assert_eq!(got, ["A", "O", "Z", "AA", "AB", "ZZ", "AAA"]);
    }
}
