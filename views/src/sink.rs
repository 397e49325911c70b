//! Table writers (CSV, Parquet) into any `io::Write`, streaming: rows are
//! buffered up to [`BATCH`] rows or [`BUDGET`] bytes, whichever comes first, and
//! written as one Parquet row group (or CSV lines), so memory stays flat in the
//! input size. And the data dictionary.

use crate::eval::{Cell, Row};
use crate::view::{Kind, View};
use polars::prelude::*;
use polars_io::parquet::write::BatchedWriter;
use polars_io::prelude::ParquetWriter;
use std::io::Write;

/// At most this many rows per Parquet row group (and per flush).
pub const BATCH: usize = 65_536;

/// A table's buffer is written once its rows hold this many bytes (cells and
/// their text, as counted by `cell_bytes`): a table of wide rows flushes long
/// before [`BATCH`] rows, so its buffer, and the frame and encoded row group
/// made from it, stay within a few times this bound whatever the input size
/// (measured: about three times, with the frame and the encoder's pages).
/// It depends only on the rows, so the row groups (and the bytes of the file)
/// are the same on every machine.
pub const BUDGET: usize = 4 << 20;

/// Bytes a cell holds: the enum and its text (by length, not capacity, so that
/// the count, and with it the row groups, depends on the rows only) or items.
fn cell_bytes(c: &Cell) -> usize {
    std::mem::size_of::<Cell>()
        + match c {
            Cell::Null | Cell::Bool(_) | Cell::Int(_) => 0,
            Cell::Dec(t) | Cell::Text(t) => t.len(),
            Cell::List(l) => l.iter().map(cell_bytes).sum(),
        }
}

/// An in-memory sink that can be cloned (tests, examples): every clone writes
/// to the same bytes.
#[derive(Clone, Debug, Default)]
pub struct Shared(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Shared {
    /// The bytes written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }

    /// The bytes written so far, as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Output format of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (zstd, with statistics).
    Parquet,
    /// CSV (RFC 4180, header line, UTF-8).
    Csv,
}

impl Format {
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// Why a table could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing the bytes failed.
    Io(std::io::Error),
    /// The Parquet encoder failed.
    Parquet(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "{e}"),
            WriteError::Parquet(e) => write!(f, "parquet: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> WriteError {
        WriteError::Io(e)
    }
}

impl From<PolarsError> for WriteError {
    fn from(e: PolarsError) -> WriteError {
        WriteError::Parquet(e.to_string())
    }
}

enum Out<W: Write> {
    Csv(W),
    Parquet(Box<BatchedWriter<W>>),
}

/// Writes one view's table.
pub struct TableWriter<W: Write> {
    columns: Vec<(String, Kind, bool)>,
    out: Out<W>,
    buffer: Vec<Row>,
    /// `cell_bytes` of the buffered rows.
    buffered: usize,
    rows: u64,
}

fn dtype(kind: Kind, collection: bool) -> DataType {
    let inner = match kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int64,
        Kind::Dec => DataType::Float64,
        Kind::Text => DataType::String,
    };
    if collection {
        DataType::List(Box::new(inner))
    } else {
        inner
    }
}

fn csv_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn text(c: &Cell) -> Option<String> {
    match c {
        Cell::Null => None,
        Cell::Bool(b) => Some(b.to_string()),
        Cell::Int(i) => Some(i.to_string()),
        Cell::Dec(t) | Cell::Text(t) => Some(t.clone()),
        Cell::List(_) => Some(c.to_json().to_string()),
    }
}

fn series(name: &str, kind: Kind, cells: &[&Cell]) -> Series {
    let name: PlSmallStr = name.into();
    match kind {
        Kind::Bool => Series::new(
            name,
            cells
                .iter()
                .map(|c| match c {
                    Cell::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Kind::Int => Series::new(
            name,
            cells
                .iter()
                .map(|c| match c {
                    Cell::Int(i) => Some(*i),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Kind::Dec => Series::new(
            name,
            cells
                .iter()
                .map(|c| match c {
                    Cell::Dec(t) => t.parse::<f64>().ok(),
                    Cell::Int(i) => Some(*i as f64),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Kind::Text => Series::new(
            name,
            cells
                .iter()
                .map(|c| text(c))
                .collect::<Vec<Option<String>>>(),
        ),
    }
}

fn frame(columns: &[(String, Kind, bool)], rows: &[Row]) -> PolarsResult<DataFrame> {
    let mut cols = Vec::with_capacity(columns.len());
    for (i, (name, kind, collection)) in columns.iter().enumerate() {
        let s = if *collection {
            let lists: Vec<Series> = rows
                .iter()
                .map(|r| {
                    let items: Vec<&Cell> = match r.get(i) {
                        Some(Cell::List(l)) => l.iter().collect(),
                        _ => Vec::new(),
                    };
                    series("", *kind, &items)
                })
                .collect();
            if lists.is_empty() {
                Series::new_empty(name.as_str().into(), &dtype(*kind, true))
            } else {
                Series::new(name.as_str().into(), lists)
            }
        } else {
            let cells: Vec<&Cell> = rows
                .iter()
                .map(|r| r.get(i).unwrap_or(&Cell::Null))
                .collect();
            series(name, *kind, &cells)
        };
        cols.push(Column::from(s.cast(&dtype(*kind, *collection))?));
    }
    DataFrame::new(rows.len(), cols)
}

impl<W: Write> TableWriter<W> {
    /// Starts the table of `view` in `format` (the CSV header is written now).
    pub fn new(view: &View, format: Format, mut w: W) -> Result<TableWriter<W>, WriteError> {
        let columns: Vec<(String, Kind, bool)> = view
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind, c.collection))
            .collect();
        let out = match format {
            Format::Csv => {
                let mut line = String::new();
                for (i, (n, _, _)) in columns.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    csv_field(n, &mut line);
                }
                line.push('\n');
                w.write_all(line.as_bytes())?;
                Out::Csv(w)
            }
            Format::Parquet => {
                let empty = frame(&columns, &[])?;
                let writer = ParquetWriter::new(w).batched(empty.schema())?;
                Out::Parquet(Box::new(writer))
            }
        };
        Ok(TableWriter {
            columns,
            out,
            buffer: Vec::new(),
            buffered: 0,
            rows: 0,
        })
    }

    /// Adds rows (written when the buffer is full, or at [`TableWriter::finish`]).
    pub fn push(&mut self, rows: Vec<Row>) -> Result<(), WriteError> {
        self.rows += rows.len() as u64;
        for row in rows {
            self.buffered += std::mem::size_of::<Row>() + row.iter().map(cell_bytes).sum::<usize>();
            self.buffer.push(row);
            if self.buffer.len() >= BATCH || self.buffered >= BUDGET {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        match &mut self.out {
            Out::Csv(w) => {
                let mut s = String::new();
                for row in &self.buffer {
                    for (i, c) in row.iter().enumerate() {
                        if i > 0 {
                            s.push(',');
                        }
                        if let Some(t) = text(c) {
                            csv_field(&t, &mut s);
                        }
                    }
                    s.push('\n');
                }
                w.write_all(s.as_bytes())?;
            }
            Out::Parquet(w) => {
                let df = frame(&self.columns, &self.buffer)?;
                w.write_batch(&df)?;
            }
        }
        self.buffer.clear();
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is buffered and closes the table; returns its row count.
    pub fn finish(mut self) -> Result<u64, WriteError> {
        self.flush()?;
        match &mut self.out {
            Out::Csv(w) => w.flush()?,
            Out::Parquet(w) => {
                w.finish()?;
            }
        }
        Ok(self.rows)
    }
}

/// The data dictionary of `views` as CSV: one line per column (table, column,
/// type, collection, FHIRPath, the forEach context, code system, meaning), tables
/// in the order given.
pub fn dictionary(views: &[&View]) -> String {
    let mut s = String::from(
        "table,resource,column,type,collection,fhirpath,context,code_system,description,table_description\n",
    );
    for v in views {
        let table_desc = v
            .description
            .clone()
            .or_else(|| v.title.clone())
            .unwrap_or_default();
        for c in &v.columns {
            let fields = [
                v.name.as_str(),
                v.resource.as_str(),
                c.name.as_str(),
                c.fhir_type.as_deref().unwrap_or("string (not declared)"),
                if c.collection { "true" } else { "false" },
                c.path.as_str(),
                &c.context.join(" / "),
                c.system.as_deref().unwrap_or(""),
                c.description.as_deref().unwrap_or(""),
                &table_desc,
            ];
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                csv_field(f, &mut s);
            }
            s.push('\n');
        }
    }
    s
}
