//! Reading a spreadsheet into a [`Table`] of text cells: CSV (UTF-8, with
//! or without a byte-order mark) or an Excel workbook's first worksheet
//! (`.xlsx`). Both are read as a stream and refused, naming the row and
//! column, as soon as they pass a cap of [`super::limits`].

use super::limits::{
    MAX_CELL_CHARS, MAX_CELLS, MAX_COLUMNS, MAX_REASON_CHARS, MAX_ROWS, cut, echo, thousands,
};
use std::io::Read;
use std::path::Path;

/// Why a file could not be read as a table.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line} is not UTF-8 text; save the file as \"CSV UTF-8\"")]
    NotUtf8 { line: u64 },
    #[error("not a readable CSV file: {0}")]
    Csv(String),
    #[error("not a readable spreadsheet: {0}")]
    Spreadsheet(String),
    #[error("the workbook has no worksheet")]
    NoSheet,
    #[error("the file is empty: its first row must name the columns")]
    Empty,
    #[error("cannot read .{0} files: use .csv or .xlsx")]
    UnknownType(String),
    #[error(
        "cannot read .{0} files: open the file in Excel or LibreOffice and save it as .xlsx or as CSV UTF-8"
    )]
    OtherSpreadsheet(String),
    #[error(
        "{at}: the {what} is {} columns wide; an import file has at most {} columns",
        thousands(*.width),
        MAX_COLUMNS
    )]
    TooWide {
        at: String,
        what: &'static str,
        width: usize,
    },
    #[error(
        "{at}: the {what} has more than {} rows under its header row; an import file has at most that many, so split it into smaller files",
        thousands(MAX_ROWS)
    )]
    TooLong { at: String, what: &'static str },
    #[error(
        "{at}: the {what} has more than {} cells; an import file has at most that many (for example 1,000,000 rows of 20 columns), so split it into smaller files",
        thousands(MAX_CELLS)
    )]
    TooManyCells { at: String, what: &'static str },
    #[error(
        "{at}: the cell is {} characters long; a cell holds at most {} characters",
        thousands(*.chars),
        thousands(MAX_CELL_CHARS)
    )]
    CellTooLong { at: String, chars: usize },
    #[error(
        "row {}: the row is longer than 16 MB; a row of an import file has at most {} cells of {} characters",
        thousands(*.row),
        MAX_COLUMNS,
        thousands(MAX_CELL_CHARS)
    )]
    LineTooLong { row: usize },
    #[error(
        "{at}: the sheet's cells are not in order; open the file in Excel or LibreOffice and save it again"
    )]
    OutOfOrder { at: String },
}

/// A header row and the data rows under it, as text. Rows are stored in one
/// buffer, so a million-row file costs little more than its own size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    headers: Vec<String>,
    text: String,
    /// End offset in `text` of every cell, row after row.
    cell_ends: Vec<usize>,
    /// End index in `cell_ends` of every row.
    row_ends: Vec<usize>,
}

/// One data row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    text: &'a str,
    start: usize,
    ends: &'a [usize],
}

impl<'a> Row<'a> {
    /// Number of cells in the row (may differ from the number of headers).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell at `index` as read (empty past the row's end).
    pub fn get(&self, index: usize) -> &'a str {
        let Some(&end) = self.ends.get(index) else {
            return "";
        };
        let start = match index {
            0 => self.start,
            i => self.ends[i - 1],
        };
        &self.text[start..end]
    }

    /// Every cell, in order.
    pub fn cells(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether every cell is empty or white space (such rows are skipped).
    pub fn is_blank(&self) -> bool {
        self.cells().all(|c| trim_ascii(c).is_empty())
    }
}

/// Trims ASCII white space only: text in other scripts is kept exactly.
pub(crate) fn trim_ascii(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

impl Table {
    /// An empty table with these column headers (a leading byte-order mark is dropped).
    pub fn new(mut headers: Vec<String>) -> Self {
        if let Some(first) = headers.first_mut()
            && let Some(rest) = first.strip_prefix('\u{feff}')
        {
            *first = rest.to_owned();
        }
        Table {
            headers,
            ..Table::default()
        }
    }

    /// Appends a data row.
    pub fn push_row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for cell in cells {
            self.text.push_str(cell.as_ref());
            self.cell_ends.push(self.text.len());
        }
        self.row_ends.push(self.cell_ends.len());
    }

    /// The header row as read.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Number of data rows (the header excluded).
    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    /// Data row `index` (0 is the row under the header, row 2 of the file).
    pub fn row(&self, index: usize) -> Option<Row<'_>> {
        let end = *self.row_ends.get(index)?;
        let first = if index == 0 {
            0
        } else {
            self.row_ends[index - 1]
        };
        let start = first.checked_sub(1).map_or(0, |i| self.cell_ends[i]);
        Some(Row {
            text: &self.text,
            start,
            ends: &self.cell_ends[first..end],
        })
    }

    /// Every data row, in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.row(i))
    }
}

/// Reads a CSV or spreadsheet file, by its extension.
pub fn read_file(path: &Path) -> Result<Table, ReadError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" => read_csv(std::io::BufReader::new(std::fs::File::open(path)?)),
        "xlsx" | "xlsm" => super::xlsx::read_spreadsheet(path),
        "xls" | "xlsb" | "ods" => Err(ReadError::OtherSpreadsheet(ext)),
        _ => Err(ReadError::UnknownType(echo(&ext))),
    }
}

/// Where a CSV cell is, for messages: `row 2, column 5 ("notes")`.
fn csv_cell(row: usize, column: usize, headers: &[String]) -> String {
    match headers.get(column).map(|h| trim_ascii(h)) {
        Some(h) if !h.is_empty() => format!(
            "row {}, column {} (\"{}\")",
            thousands(row),
            column + 1,
            echo(h)
        ),
        _ => format!("row {}, column {}", thousands(row), thousands(column + 1)),
    }
}

/// Number of cells up to the last one that is not blank.
fn used_width(record: &csv::StringRecord) -> usize {
    let trailing = record
        .iter()
        .rev()
        .take_while(|c| trim_ascii(c).is_empty())
        .count();
    record.len() - trailing
}

/// The number of characters of `text` when it has more than a cell may hold.
pub(crate) fn too_long(text: &str) -> Option<usize> {
    if text.len() <= MAX_CELL_CHARS {
        return None;
    }
    let chars = text.chars().count();
    (chars > MAX_CELL_CHARS).then_some(chars)
}

/// Reads CSV text (comma-separated, UTF-8, with or without a byte-order
/// mark). The caps of [`super::limits`] are checked as the rows stream in,
/// so an oversized file is refused (naming its row and column) before it
/// takes much memory. Blank cells at the end of a data row are not kept.
pub fn read_csv(reader: impl Read) -> Result<Table, ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineLimit::new(reader));
    let mut record = csv::StringRecord::new();
    if !read_record(&mut csv, &mut record)? {
        return Err(ReadError::Empty);
    }
    let width = used_width(&record);
    check_csv_row(&record, 1, width, &[])?;
    // The header is kept as written (a blank header is a column to skip),
    // unless it is wider than a file may be only by blank cells.
    let kept = if record.len() <= MAX_COLUMNS {
        record.len()
    } else {
        width
    };
    let mut table = Table::new(record.iter().take(kept).map(str::to_owned).collect());
    if table.headers.iter().all(|h| trim_ascii(h).is_empty()) {
        return Err(ReadError::Empty);
    }
    while read_record(&mut csv, &mut record)? {
        let row = table.len() + 2;
        if table.len() >= MAX_ROWS {
            return Err(ReadError::TooLong {
                at: format!("row {}", thousands(row)),
                what: "file",
            });
        }
        let width = used_width(&record);
        check_csv_row(&record, row, width, &table.headers)?;
        if table.cell_ends.len() + width > MAX_CELLS {
            return Err(ReadError::TooManyCells {
                at: format!("row {}", thousands(row)),
                what: "file",
            });
        }
        table.push_row(record.iter().take(width));
    }
    Ok(table)
}

/// Checks a CSV row's width and its cells' lengths.
fn check_csv_row(
    record: &csv::StringRecord,
    row: usize,
    width: usize,
    headers: &[String],
) -> Result<(), ReadError> {
    if width > MAX_COLUMNS {
        return Err(ReadError::TooWide {
            at: csv_cell(row, width - 1, headers),
            what: "file",
            width,
        });
    }
    for (column, cell) in record.iter().take(width).enumerate() {
        if let Some(chars) = too_long(cell) {
            return Err(ReadError::CellTooLong {
                at: csv_cell(row, column, headers),
                chars,
            });
        }
    }
    Ok(())
}

fn read_record<R: Read>(
    csv: &mut csv::Reader<LineLimit<R>>,
    record: &mut csv::StringRecord,
) -> Result<bool, ReadError> {
    csv.read_record(record).map_err(|e| {
        // The row being read when the error came: records count from 0.
        let row = csv.position().record() as usize + 1;
        csv_error(e, row)
    })
}

fn csv_error(e: csv::Error, row: usize) -> ReadError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Utf8 { pos, .. } => ReadError::NotUtf8 {
            line: pos.as_ref().map_or(0, csv::Position::line),
        },
        csv::ErrorKind::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<LineTooLong>().is_some()) =>
        {
            ReadError::LineTooLong { row }
        }
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        _ => ReadError::Csv(cut(&message, MAX_REASON_CHARS)),
    }
}

/// Bytes a CSV line may have: 100 cells of 32,767 characters of up to 4
/// bytes each, quoted, fit.
const MAX_LINE_BYTES: usize = 16 << 20;

/// The error a [`LineLimit`] stops with.
#[derive(Debug)]
struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a line is too long")
    }
}

impl std::error::Error for LineTooLong {}

/// Fails a read once a line (ended by `\n` or `\r`) grows past
/// [`MAX_LINE_BYTES`], so that one endless row cannot fill memory before
/// the CSV reader hands it over.
struct LineLimit<R> {
    inner: R,
    since_break: usize,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit {
            inner,
            since_break: 0,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        match read.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(last) => self.since_break = n - last - 1,
            None => self.since_break += n,
        }
        if self.since_break > MAX_LINE_BYTES {
            return Err(std::io::Error::other(LineTooLong));
        }
        Ok(n)
    }
}
