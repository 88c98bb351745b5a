//! Reading the first worksheet of an Excel workbook (`.xlsx`, `.xlsm`) as
//! a stream of cells, each checked against the caps of [`super::limits`]
//! as it comes, after the workbook's parts that calamine reads whole when
//! it opens the file have been checked too.

use super::limits::{MAX_CELLS, MAX_COLUMNS, MAX_REASON_CHARS, MAX_ROWS, cell_name, cut, echo};
use super::table::{ReadError, Table, too_long, trim_ascii};
use calamine::{Data, DataRef, Reader};
use std::io::Read;
use std::path::Path;

/// Reads the first worksheet of an Excel workbook (`.xlsx`, `.xlsm`).
/// Date cells become `YYYY-MM-DD`, whole numbers lose their `.0`.
///
/// The cells are read as a stream and each is checked against the caps of
/// [`super::limits`] as it comes, so a sheet that declares (or has) a cell
/// far away is refused, naming that cell, without building its grid.
/// The header row is the first row with a non-blank cell; columns count
/// from `A`.
pub fn read_spreadsheet(path: &Path) -> Result<Table, ReadError> {
    check_parts(path)?;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(spreadsheet_error)?;
    let sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(ReadError::NoSheet)?;
    let mut cells =
        guarded(|| workbook.worksheet_cells_reader(&sheet))?.map_err(spreadsheet_error)?;
    let mut grid = Grid::new(echo(&sheet));
    while let Some(cell) = guarded(|| cells.next_cell())?.map_err(spreadsheet_error)? {
        let (row, column) = cell.get_position();
        let value = cell.get_value();
        if matches!(value, DataRef::Empty) {
            continue;
        }
        let text = cell_text(&Data::from(value.clone()));
        grid.put(row, column, text)?;
    }
    grid.finish()
}

/// Runs a step of calamine's sheet reader, turning a panic into a refusal.
/// calamine 0.38 reads cell references and the sheet's dimension with
/// unchecked arithmetic (tafia/calamine#709, #692): a reference with too
/// many letters or digits, or a dimension that ends before it starts,
/// overflows. Overflow checks are on for calamine in every profile
/// (Cargo.toml), so that is a panic here, never a wrong cell position.
fn guarded<T>(step: impl FnOnce() -> T) -> Result<T, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).map_err(|_| {
        ReadError::Spreadsheet(
            "a cell reference or the sheet's dimension in the file is not valid".into(),
        )
    })
}

fn spreadsheet_error(e: impl std::fmt::Display) -> ReadError {
    ReadError::Spreadsheet(cut(&e.to_string(), MAX_REASON_CHARS))
}

/// Bytes the list of shared texts may unpack to (calamine keeps it all).
const MAX_SHARED_BYTES: u64 = 256 << 20;

/// Bytes the workbook's other parts that calamine reads whole when it opens
/// a file (styles, list of sheets, relationships) may unpack to.
const MAX_PART_BYTES: u64 = 32 << 20;

/// Bytes of one XML event (a text, a tag, a comment): calamine and its XML
/// reader hold one whole in memory. A cell's text is at most 32,767
/// characters, 6 bytes each when escaped.
const MAX_EVENT_BYTES: u64 = 1 << 20;

/// Checks, before calamine opens a workbook, what it would otherwise hold
/// in memory whatever its size: the parts it reads whole (the list of
/// shared texts, styles, list of sheets, relationships) unpack to a
/// bounded size; the list of texts claims no more entries than it holds
/// (calamine reserves memory for the number it claims, and a claim of
/// 10^15 ends the process); and no XML event of those parts or of the
/// worksheets (read cell by cell) is longer than [`MAX_EVENT_BYTES`].
/// Parts calamine does not read (pictures, charts) are not unpacked.
fn check_parts(path: &Path) -> Result<(), ReadError> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        // Not a zip file (or a password-protected one): calamine says which.
        return Ok(());
    };
    for index in 0..zip.len() {
        let mut part = zip.by_index(index).map_err(spreadsheet_error)?;
        let name = part
            .name()
            .map_err(spreadsheet_error)?
            .replace('\\', "/")
            .to_ascii_lowercase();
        let shared = name.ends_with("sharedstrings.xml");
        let limit = if shared {
            MAX_SHARED_BYTES
        } else if name.contains("worksheets/") {
            u64::MAX
        } else if name.ends_with(".rels")
            || name.ends_with("workbook.xml")
            || name.ends_with("styles.xml")
        {
            MAX_PART_BYTES
        } else {
            continue;
        };
        let mut claims = ClaimScanner::default();
        let mut events = EventScanner::default();
        let mut size: u64 = 0;
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = part.read(&mut buf).map_err(spreadsheet_error)?;
            if n == 0 {
                break;
            }
            let bytes = buf.get(..n).unwrap_or_default();
            size += n as u64;
            if size > limit {
                return Err(ReadError::Spreadsheet(format!(
                    "its part {} unpacks to more than {} MB; open the file in Excel or LibreOffice and save it again, or save it as CSV UTF-8",
                    echo(&name),
                    limit >> 20
                )));
            }
            if !events.scan(bytes) {
                return Err(ReadError::Spreadsheet(format!(
                    "its part {} holds a text or tag longer than any cell can be, so the file is damaged or was not made by a spreadsheet program; open it in Excel or LibreOffice and save it again",
                    echo(&name)
                )));
            }
            if shared {
                claims.scan(bytes);
            }
        }
        // Every text takes at least `<si/>`: 5 bytes.
        let room = (size / 5).min(MAX_CELLS as u64);
        if claims.largest > room {
            return Err(ReadError::Spreadsheet(
                "its list of texts claims more entries than it holds, so the file is damaged or was not made by a spreadsheet program; open it in Excel or LibreOffice and save it again".into(),
            ));
        }
    }
    Ok(())
}

/// Measures the XML events of a stream of bytes, across reads, as an XML
/// reader cuts them: text up to `<`; a tag up to `>` outside quotes; a
/// comment up to `-->`, CDATA up to `]]>`, a processing instruction up to
/// `?>`, a declaration up to `>` outside brackets and quotes. Where unsure
/// it measures longer, never shorter.
#[derive(Debug, Default)]
struct EventScanner {
    state: EventState,
    /// Bytes of the current event so far.
    len: u64,
    /// The last three bytes, for the end markers and the `<!` kinds.
    last: [u8; 3],
    /// Bytes since `<!`, to tell a comment or CDATA from a declaration.
    opened: u8,
    quote: Option<u8>,
    depth: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum EventState {
    #[default]
    Text,
    /// After `<`.
    Open,
    Tag,
    /// After `<!`, deciding.
    Bang,
    Comment,
    CData,
    Pi,
    Declaration,
}

impl EventScanner {
    /// Reads more bytes; `false` when an event is too long.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            self.step(b);
            if self.len > MAX_EVENT_BYTES {
                return false;
            }
        }
        true
    }

    fn end(&mut self) {
        self.state = EventState::Text;
        self.len = 0;
        self.quote = None;
        self.depth = 0;
    }

    fn step(&mut self, b: u8) {
        self.len += 1;
        self.last = [self.last[1], self.last[2], b];
        match self.state {
            EventState::Text if b == b'<' => {
                self.state = EventState::Open;
                self.len = 1;
            }
            EventState::Text => {}
            EventState::Open => {
                self.state = match b {
                    b'!' => {
                        self.opened = 0;
                        EventState::Bang
                    }
                    b'?' => EventState::Pi,
                    _ => EventState::Tag,
                };
                self.step_tag_quote(b);
            }
            EventState::Tag => {
                if self.step_tag_quote(b) {
                    self.end();
                }
            }
            EventState::Bang => {
                self.opened += 1;
                if self.opened == 2 && self.last[1..] == *b"--" {
                    self.state = EventState::Comment;
                    // `<!-->` is not an end: the `--` of the end comes after.
                    self.last = [0; 3];
                } else if self.opened == 7 && self.last == *b"TA[" {
                    self.state = EventState::CData;
                    self.last = [0; 3];
                } else if self.opened >= 7 || (self.opened == 1 && b != b'-' && b != b'[') {
                    self.state = EventState::Declaration;
                    self.step_declaration(b);
                }
            }
            EventState::Comment if self.last == *b"-->" => self.end(),
            EventState::CData if self.last == *b"]]>" => self.end(),
            EventState::Pi if self.last[1..] == *b"?>" => self.end(),
            EventState::Comment | EventState::CData | EventState::Pi => {}
            EventState::Declaration => self.step_declaration(b),
        }
    }

    /// A byte of a tag: quotes open and close; `true` at a `>` outside them.
    fn step_tag_quote(&mut self, b: u8) -> bool {
        match (self.quote, b) {
            (None, b'"' | b'\'') => self.quote = Some(b),
            (Some(q), _) if q == b => self.quote = None,
            (None, b'>') => return true,
            _ => {}
        }
        false
    }

    fn step_declaration(&mut self, b: u8) {
        match (self.quote, b) {
            (None, b'[') => self.depth += 1,
            (None, b']') => self.depth = self.depth.saturating_sub(1),
            (None, b'>') if self.depth == 0 => self.end(),
            _ => {
                self.step_tag_quote(b);
            }
        }
    }
}

/// Finds the numbers given as `uniqueCount="N"` (or with single quotes and
/// spaces, as XML allows) anywhere in a stream of bytes, across reads, and
/// keeps the largest (saturating at `u64::MAX`).
#[derive(Debug, Default)]
struct ClaimScanner {
    /// Bytes of `uniqueCount` matched so far, or past it (see `state`).
    matched: usize,
    state: ClaimState,
    value: u64,
    largest: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ClaimState {
    #[default]
    Name,
    /// After the name: spaces, then `=`.
    Equals,
    /// After `=`: spaces, then a quote.
    Quote,
    /// Inside the quotes: digits.
    Digits,
}

impl ClaimScanner {
    const NAME: &'static [u8] = b"uniqueCount";

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.step(b);
        }
    }

    fn step(&mut self, b: u8) {
        match self.state {
            ClaimState::Name => {
                if Self::NAME.get(self.matched) == Some(&b) {
                    self.matched += 1;
                    if self.matched == Self::NAME.len() {
                        self.state = ClaimState::Equals;
                    }
                } else {
                    self.matched = usize::from(Self::NAME.first() == Some(&b));
                }
            }
            ClaimState::Equals if b.is_ascii_whitespace() => {}
            ClaimState::Equals if b == b'=' => self.state = ClaimState::Quote,
            ClaimState::Quote if b.is_ascii_whitespace() => {}
            ClaimState::Quote if b == b'"' || b == b'\'' => {
                self.state = ClaimState::Digits;
                self.value = 0;
            }
            ClaimState::Digits if b.is_ascii_digit() => {
                self.value = self
                    .value
                    .saturating_mul(10)
                    .saturating_add(u64::from(b - b'0'));
                self.largest = self.largest.max(self.value);
            }
            _ => {
                self.state = ClaimState::Name;
                self.matched = usize::from(Self::NAME.first() == Some(&b));
            }
        }
    }
}

/// A worksheet's table, built from its cells in sheet order.
struct Grid {
    sheet: String,
    table: Option<Table>,
    /// The header's row in the sheet (0-based), once found.
    header_row: u32,
    /// The row being filled, and its cells so far.
    row: u32,
    cells: Vec<String>,
    /// The last cell placed, to refuse cells out of order.
    last: Option<(u32, u32)>,
    /// Cells in the table so far.
    total: usize,
}

impl Grid {
    fn new(sheet: String) -> Self {
        Grid {
            sheet,
            table: None,
            header_row: 0,
            row: 0,
            cells: Vec::new(),
            last: None,
            total: 0,
        }
    }

    fn at(&self, row: u32, column: u32) -> String {
        format!("sheet {}, cell {}", self.sheet, cell_name(row, column))
    }

    /// Places a cell's text, checking it first.
    fn put(&mut self, row: u32, column: u32, text: String) -> Result<(), ReadError> {
        if trim_ascii(&text).is_empty() {
            return Ok(());
        }
        if column as usize >= MAX_COLUMNS {
            return Err(ReadError::TooWide {
                at: self.at(row, column),
                what: "sheet",
                width: column as usize + 1,
            });
        }
        if self.last.is_some() && row.saturating_sub(self.header_row) as usize > MAX_ROWS {
            return Err(ReadError::TooLong {
                at: self.at(row, column),
                what: "sheet",
            });
        }
        if let Some((r, c)) = self.last
            && (row < r || (row == r && column <= c))
        {
            return Err(ReadError::OutOfOrder {
                at: self.at(row, column),
            });
        }
        if let Some(chars) = too_long(&text) {
            return Err(ReadError::CellTooLong {
                at: self.at(row, column),
                chars,
            });
        }
        match self.last {
            None => {
                self.header_row = row;
                self.row = row;
            }
            Some(_) if row != self.row => {
                self.end_row()?;
                self.row = row;
            }
            Some(_) => {}
        }
        self.last = Some((row, column));
        self.cells.resize(column as usize, String::new());
        self.cells.push(text);
        Ok(())
    }

    /// Adds the row being filled to the table (the first becomes the
    /// header), after blank rows for the sheet rows in between.
    fn end_row(&mut self) -> Result<(), ReadError> {
        let cells = std::mem::take(&mut self.cells);
        let Some(table) = &mut self.table else {
            self.table = Some(Table::new(cells));
            return Ok(());
        };
        let blank_rows = (self.row.saturating_sub(self.header_row) as usize)
            .saturating_sub(1)
            .saturating_sub(table.len());
        self.total += cells.len();
        if self.total > MAX_CELLS {
            let at = format!("sheet {}, row {}", self.sheet, u64::from(self.row) + 1);
            return Err(ReadError::TooManyCells { at, what: "sheet" });
        }
        for _ in 0..blank_rows {
            table.push_row(std::iter::empty::<&str>());
        }
        table.push_row(cells);
        Ok(())
    }

    fn finish(mut self) -> Result<Table, ReadError> {
        if self.last.is_none() {
            return Err(ReadError::Empty);
        }
        self.end_row()?;
        self.table.ok_or(ReadError::Empty)
    }
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
