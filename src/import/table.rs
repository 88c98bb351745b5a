//! Reading a spreadsheet into a [`Table`] of text cells: CSV (UTF-8, with
//! or without a byte-order mark) or a workbook's first worksheet (XLSX, and
//! the other formats calamine reads).

use calamine::{Data, Reader};
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
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => read_spreadsheet(path),
        _ => Err(ReadError::UnknownType(ext)),
    }
}

/// Reads CSV text (comma-separated, UTF-8, with or without a byte-order mark).
pub fn read_csv(reader: impl Read) -> Result<Table, ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::StringRecord::new();
    if !csv.read_record(&mut record).map_err(csv_error)? {
        return Err(ReadError::Empty);
    }
    let mut table = Table::new(record.iter().map(str::to_owned).collect());
    if table.headers.iter().all(|h| trim_ascii(h).is_empty()) {
        return Err(ReadError::Empty);
    }
    while csv.read_record(&mut record).map_err(csv_error)? {
        table.push_row(record.iter());
    }
    Ok(table)
}

fn csv_error(e: csv::Error) -> ReadError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Utf8 { pos, .. } => ReadError::NotUtf8 {
            line: pos.as_ref().map_or(0, csv::Position::line),
        },
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        _ => ReadError::Csv(message),
    }
}

/// Reads the first worksheet of a workbook. Date cells become `YYYY-MM-DD`,
/// whole numbers lose their `.0`.
pub fn read_spreadsheet(path: &Path) -> Result<Table, ReadError> {
    let mut workbook =
        calamine::open_workbook_auto(path).map_err(|e| ReadError::Spreadsheet(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(ReadError::NoSheet)?
        .map_err(|e| ReadError::Spreadsheet(e.to_string()))?;
    let mut rows = range.rows();
    let headers = rows.next().ok_or(ReadError::Empty)?;
    let mut table = Table::new(headers.iter().map(cell_text).collect());
    if table.headers.iter().all(|h| trim_ascii(h).is_empty()) {
        return Err(ReadError::Empty);
    }
    for row in rows {
        table.push_row(row.iter().map(cell_text));
    }
    Ok(table)
}

/// A worksheet cell as the text an import reads.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) => s
            .get(..10)
            .filter(|d| crate::domain::parse_date(d).is_some())
            .unwrap_or(s)
            .to_owned(),
        Data::Error(e) => e.to_string(),
    }
}

/// A number as a person wrote it: `12`, not `12.0`.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}
