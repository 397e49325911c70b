//! The analytics, with polars: classified rows → the coverage frame, a per-table
//! summary (distinct codes and occurrences by status), the unmapped worklist (most
//! frequent first, ties broken by system, code, specimen, unit, name), and their CSV
//! and Parquet bytes. Every sort is total over unique keys, so the output is the
//! same bytes on every run whatever the thread count.

use crate::{Row, Status, codes};
use diagnostics::Diagnostic;
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetWriter, SerWriter};

/// Key columns, in tie-breaking order.
const KEY: [&str; 5] = ["system", "code", "specimen", "unit", "text"];

/// One line of the summary: a table (or the keys of a system no table covers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSummary {
    /// Table id(s); empty when no table covers the system.
    pub table: String,
    /// Source system.
    pub system: String,
    /// Distinct keys.
    pub codes: u64,
    /// Occurrences.
    pub occurrences: u64,
    /// Per status (in [`Status::ALL`] order): (distinct keys, occurrences).
    pub by_status: [(u64, u64); 4],
}

impl TableSummary {
    /// Share of occurrences with the status, in tenths of a percent (rounded down).
    pub fn per_mille(&self, s: Status) -> u64 {
        let i = Status::ALL.iter().position(|x| *x == s).unwrap_or(0);
        let occ = self.by_status.get(i).map(|p| p.1).unwrap_or(0);
        (occ * 1000).checked_div(self.occurrences).unwrap_or(0)
    }
}

/// The result of [`analyse`].
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Per (table, system), sorted by table then system.
    pub summary: Vec<TableSummary>,
    /// Every distinct key: by table, most frequent first, then by key.
    pub coverage: DataFrame,
    /// Unmapped keys only: most frequent first, then by key.
    pub worklist: DataFrame,
}

fn failed(e: PolarsError) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(
        &codes::ANALYTICS_FAILED,
        format!("polars: {e}"),
    ))
}

/// Builds the coverage frame (one row per key, unsorted) from classified rows.
pub fn to_frame(rows: &[Row]) -> PolarsResult<DataFrame> {
    fn text<'r>(rows: &'r [Row], f: impl Fn(&'r Row) -> &'r str) -> Vec<&'r str> {
        rows.iter().map(f).collect()
    }
    let cols = vec![
        Column::new("table".into(), text(rows, |r| &r.table)),
        Column::new("system".into(), text(rows, |r| &r.key.system)),
        Column::new("code".into(), text(rows, |r| &r.key.code)),
        Column::new("specimen".into(), text(rows, |r| &r.key.specimen)),
        Column::new("unit".into(), text(rows, |r| &r.key.unit)),
        Column::new("text".into(), text(rows, |r| &r.key.text)),
        Column::new("display".into(), text(rows, |r| &r.key.display)),
        Column::new("status".into(), text(rows, |r| r.status.as_str())),
        Column::new(
            "occurrences".into(),
            rows.iter().map(Row::occurrences).collect::<Vec<u64>>(),
        ),
        Column::new(
            "ssmix2".into(),
            rows.iter().map(|r| r.key.ssmix2).collect::<Vec<u64>>(),
        ),
        Column::new(
            "receipts".into(),
            rows.iter().map(|r| r.key.receipts).collect::<Vec<u64>>(),
        ),
        Column::new("seen_in".into(), text(rows, |r| &r.seen_in)),
        Column::new("target_system".into(), text(rows, |r| &r.target_system)),
        Column::new("target_code".into(), text(rows, |r| &r.target_code)),
        Column::new("target_display".into(), text(rows, |r| &r.target_display)),
        Column::new("lineage".into(), text(rows, |r| &r.lineage)),
    ];
    DataFrame::new(rows.len(), cols)
}

/// Sort options: `descending` per column, stable, nulls (none occur) last.
fn order(descending: Vec<bool>) -> SortMultipleOptions {
    SortMultipleOptions::new()
        .with_order_descending_multi(descending)
        .with_maintain_order(true)
}

/// Runs the analytics over classified rows.
pub fn analyse(rows: &[Row]) -> Result<Analysis, Box<Diagnostic>> {
    let df = to_frame(rows).map_err(failed)?;

    // Coverage: by table, most frequent first, ties by key (keys are unique).
    let mut by: Vec<&str> = vec!["table", "occurrences"];
    by.extend(KEY);
    let mut desc = vec![false, true];
    desc.extend([false; 5]);
    let coverage = df
        .clone()
        .lazy()
        .sort(by, order(desc))
        .collect()
        .map_err(failed)?;

    // Worklist: unmapped keys, most frequent first, ties by key.
    let mut by: Vec<&str> = vec!["occurrences"];
    by.extend(KEY);
    let mut desc = vec![true];
    desc.extend([false; 5]);
    let worklist = df
        .clone()
        .lazy()
        .filter(col("status").eq(lit(Status::Unmapped.as_str())))
        .select([
            col("occurrences"),
            col("system"),
            col("code"),
            col("specimen"),
            col("unit"),
            col("text"),
            col("display"),
            col("table"),
            col("seen_in"),
        ])
        .sort(by, order(desc))
        .collect()
        .map_err(failed)?;

    // Summary per (table, system): distinct keys and occurrences, in total and by status.
    let mut aggs = vec![
        col("code").len().cast(DataType::UInt64).alias("codes"),
        col("occurrences").sum().cast(DataType::UInt64).alias("occ"),
    ];
    for (i, s) in Status::ALL.iter().enumerate() {
        let is = col("status").eq(lit(s.as_str()));
        aggs.push(
            is.clone()
                .sum()
                .cast(DataType::UInt64)
                .alias(format!("codes_{i}")),
        );
        aggs.push(
            col("occurrences")
                .filter(is)
                .sum()
                .cast(DataType::UInt64)
                .alias(format!("occ_{i}")),
        );
    }
    let summary_df = df
        .lazy()
        .group_by([col("table"), col("system")])
        .agg(aggs)
        .sort(["table", "system"], order(vec![false, false]))
        .collect()
        .map_err(failed)?;
    let summary = read_summary(&summary_df).map_err(failed)?;
    Ok(Analysis {
        summary,
        coverage,
        worklist,
    })
}

fn read_summary(df: &DataFrame) -> PolarsResult<Vec<TableSummary>> {
    let s = |name: &str| -> PolarsResult<StringChunked> {
        Ok(df.column(name)?.as_materialized_series().str()?.clone())
    };
    let n = |name: &str| -> PolarsResult<UInt64Chunked> {
        Ok(df.column(name)?.as_materialized_series().u64()?.clone())
    };
    let (table, system, codes, occ) = (s("table")?, s("system")?, n("codes")?, n("occ")?);
    let mut by = Vec::new();
    for i in 0..Status::ALL.len() {
        by.push((n(&format!("codes_{i}"))?, n(&format!("occ_{i}"))?));
    }
    let mut out = Vec::with_capacity(df.height());
    for r in 0..df.height() {
        let mut t = TableSummary {
            table: table.get(r).unwrap_or("").to_owned(),
            system: system.get(r).unwrap_or("").to_owned(),
            codes: codes.get(r).unwrap_or(0),
            occurrences: occ.get(r).unwrap_or(0),
            ..TableSummary::default()
        };
        for (slot, (c, o)) in t.by_status.iter_mut().zip(&by) {
            *slot = (c.get(r).unwrap_or(0), o.get(r).unwrap_or(0));
        }
        out.push(t);
    }
    Ok(out)
}

/// CSV bytes of a frame (header line, comma separated, quoted where needed).
pub fn csv(df: &DataFrame) -> Result<Vec<u8>, Box<Diagnostic>> {
    let mut out = Vec::new();
    let mut df = df.clone();
    CsvWriter::new(&mut out).finish(&mut df).map_err(failed)?;
    Ok(out)
}

/// Parquet bytes of a frame (zstd, with statistics; no timestamps are written, so
/// the same frame gives the same bytes).
pub fn parquet(df: &DataFrame) -> Result<Vec<u8>, Box<Diagnostic>> {
    let mut out = Vec::new();
    let mut df = df.clone();
    ParquetWriter::new(&mut out)
        .finish(&mut df)
        .map_err(failed)?;
    Ok(out)
}

/// The readable summary: one line per table with distinct keys and occurrences
/// by status and the frequency-weighted mapped share, a total, then the `top`
/// most frequent unmapped keys.
pub fn render(a: &Analysis, top: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let pct = |pm: u64| format!("{}.{}%", pm / 10, pm % 10);
    let label = |t: &TableSummary| {
        if t.table.is_empty() {
            format!("(no table) {}", t.system)
        } else {
            t.table.clone()
        }
    };
    let width = a
        .summary
        .iter()
        .map(|t| label(t).chars().count())
        .max()
        .unwrap_or(0)
        .max(21);
    let _ = writeln!(
        s,
        "{:<width$} {:>6} {:>9} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "table (source system)",
        "codes",
        "occurr.",
        "mapped",
        "draft",
        "no-match",
        "unmapped",
        "mapped%"
    );
    let mut total = TableSummary {
        table: "total".into(),
        ..TableSummary::default()
    };
    let cell = |p: (u64, u64)| format!("{}/{}", p.0, p.1);
    let line = |s: &mut String, label: &str, t: &TableSummary| {
        let _ = writeln!(
            s,
            "{:<width$} {:>6} {:>9} {:>12} {:>12} {:>12} {:>12} {:>8}",
            label,
            t.codes,
            t.occurrences,
            cell(t.by_status[0]),
            cell(t.by_status[1]),
            cell(t.by_status[2]),
            cell(t.by_status[3]),
            pct(t.per_mille(Status::Mapped)),
        );
    };
    for t in &a.summary {
        line(&mut s, &label(t), t);
        total.codes += t.codes;
        total.occurrences += t.occurrences;
        for (acc, p) in total.by_status.iter_mut().zip(t.by_status) {
            acc.0 += p.0;
            acc.1 += p.1;
        }
    }
    line(&mut s, "total", &total);
    let _ = writeln!(
        s,
        "(cells: distinct codes/occurrences; mapped% is weighted by occurrences)"
    );
    let w = &a.worklist;
    let _ = writeln!(
        s,
        "\nunmapped worklist: {} codes{}",
        w.height(),
        if w.height() > top {
            format!(", the {top} most frequent:")
        } else {
            ":".into()
        }
    );
    let get = |name: &str| -> Vec<String> {
        w.column(name)
            .ok()
            .map(|c| {
                let series = c.as_materialized_series();
                (0..w.height().min(top))
                    .map(|i| match series.get(i) {
                        Ok(AnyValue::String(v)) => v.to_owned(),
                        Ok(v) => v.to_string(),
                        Err(_) => String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let cols: Vec<Vec<String>> = [
        "occurrences",
        "system",
        "code",
        "specimen",
        "text",
        "display",
    ]
    .iter()
    .map(|c| get(c))
    .collect();
    for i in 0..w.height().min(top) {
        let v = |c: usize| {
            cols.get(c)
                .and_then(|v| v.get(i))
                .map(String::as_str)
                .unwrap_or("")
        };
        let mut key = v(2).to_owned();
        if !v(3).is_empty() {
            key.push_str(&format!(" specimen={}", v(3)));
        }
        if !v(4).is_empty() {
            key.push_str(&format!(" name={}", v(4)));
        }
        let l = format!("{:>9}  {}  {}  {}", v(0), v(1), key, v(5));
        let _ = writeln!(s, "{}", l.trim_end());
    }
    s
}
