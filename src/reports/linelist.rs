//! The line list: one row per client, written as the rows are read (CSV, or
//! XLSX in constant-memory mode), so that 100,000 clients never sit in
//! memory. De-identified unless made identifiable: then the nickname, name
//! and phone columns are added.

use super::output::{FileFormat, OutputError, csv_text};
use crate::domain::Service;
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// One client in the line list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineListRow {
    pub code: String,
    /// Only in identifiable exports.
    pub nickname: Option<String>,
    /// Only in identifiable exports.
    pub name: Option<String>,
    /// Only in identifiable exports.
    pub phone: Option<String>,
    pub sex: String,
    /// Age band at the export day (see `period::age_band`).
    pub age_band: &'static str,
    pub province: Option<String>,
    /// Case status key.
    pub status: String,
    /// Where the client is detained on the export day, and since when.
    pub detention_location: Option<String>,
    pub detained_since: Option<NaiveDate>,
    /// Services with an enrollment active on the export day.
    pub enrollments: Vec<Service>,
    pub contacts: i64,
    pub arrests: i64,
    pub detentions: i64,
}

/// The column names, in order: identifiable exports add `nickname`, `name`
/// and `phone` after `code`.
pub fn columns(identifiable: bool) -> Vec<&'static str> {
    let mut c = vec!["code"];
    if identifiable {
        c.extend(["nickname", "name", "phone"]);
    }
    c.extend([
        "sex",
        "age_band",
        "province",
        "status",
        "detention_location",
        "detained_since",
        "enrollments",
        "contacts",
        "arrests",
        "detentions",
    ]);
    c
}

/// One cell of a row, before it is written.
enum Cell<'a> {
    Text(&'a str),
    Date(Option<NaiveDate>),
    Number(i64),
}

impl LineListRow {
    fn cells<'a>(&'a self, identifiable: bool, enrollments: &'a str) -> Vec<Cell<'a>> {
        let text = |t: &'a Option<String>| -> &'a str { t.as_deref().unwrap_or("") };
        let mut out = vec![Cell::Text(&self.code)];
        if identifiable {
            out.extend([
                Cell::Text(text(&self.nickname)),
                Cell::Text(text(&self.name)),
                Cell::Text(text(&self.phone)),
            ]);
        }
        out.extend([
            Cell::Text(&self.sex),
            Cell::Text(self.age_band),
            Cell::Text(text(&self.province)),
            Cell::Text(&self.status),
            Cell::Text(text(&self.detention_location)),
            Cell::Date(self.detained_since),
            Cell::Text(enrollments),
            Cell::Number(self.contacts),
            Cell::Number(self.arrests),
            Cell::Number(self.detentions),
        ]);
        out
    }
}

/// Joins services with `;` in their display order.
pub fn join_services(services: &[Service]) -> String {
    crate::domain::join_list(services, Service::as_str)
}

enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    Xlsx {
        workbook: Box<Workbook>,
        path: PathBuf,
        row: u32,
        date: Format,
        count: Format,
    },
}

/// Writes a line list row by row to one file.
pub struct LineListWriter {
    sink: Sink,
    identifiable: bool,
}

const CLIENTS_SHEET: &str = "Clients";

impl LineListWriter {
    /// Starts a line list at `path` (the final file is complete only after
    /// [`LineListWriter::finish`]). `day` is the export day, shown on the
    /// XLSX's "About" sheet.
    pub fn create(
        path: &Path,
        format: FileFormat,
        identifiable: bool,
        day: NaiveDate,
    ) -> Result<LineListWriter, OutputError> {
        let header = columns(identifiable);
        let sink = match format {
            FileFormat::Xlsx => Self::xlsx(path, &header, identifiable, day)?,
            FileFormat::Csv => {
                let mut w =
                    csv::Writer::from_writer(BufWriter::new(crate::files::create_private(path)?));
                for name in &header {
                    w.write_field(csv_text(name).as_ref())?;
                }
                w.write_record(None::<&[u8]>)?;
                Sink::Csv(w)
            }
            FileFormat::Json => {
                return Err(OutputError::Format {
                    path: path.to_owned(),
                    allowed: ".csv or .xlsx",
                });
            }
        };
        Ok(LineListWriter { sink, identifiable })
    }

    fn xlsx(
        path: &Path,
        header: &[&str],
        identifiable: bool,
        day: NaiveDate,
    ) -> Result<Sink, OutputError> {
        let mut workbook = Box::new(Workbook::new());
        // Constant memory spills rows to temporary files: keep them beside
        // the output rather than in a shared temporary folder.
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        workbook.set_tempdir(dir)?;
        let bold = Format::new()
            .set_bold()
            .set_background_color(0xD9E1F2)
            .set_border_bottom(FormatBorder::Thin);
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(CLIENTS_SHEET)?;
        for (col, name) in header.iter().enumerate() {
            let width = match *name {
                "code" | "nickname" | "name" | "phone" | "province" => 16,
                "detention_location" => 30,
                "enrollments" | "status" => 18,
                "detained_since" => 14,
                _ => 11,
            };
            sheet.set_column_width(col as u16, width)?;
            sheet.write_string_with_format(0, col as u16, *name, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let about = workbook.add_worksheet();
        about.set_name("About")?;
        about.set_column_width(0, 16)?;
        about.set_column_width(1, 70)?;
        let facts = [
            (
                "Line list",
                "One row per client; deleted clients are left out.".to_owned(),
            ),
            (
                "Day",
                format!("{day}: age band, current detention and active enrollments are as of this day."),
            ),
            (
                "Identifiable",
                if identifiable {
                    "Yes: names, nicknames and phone numbers are included. Keep this file encrypted and delete it when done."
                } else {
                    "No: names, nicknames and phone numbers are left out."
                }
                .to_owned(),
            ),
        ];
        for (row, (label, text)) in facts.iter().enumerate() {
            about.write_string_with_format(row as u32, 0, *label, &bold)?;
            about.write_string(row as u32, 1, text)?;
        }
        Ok(Sink::Xlsx {
            workbook,
            path: path.to_owned(),
            row: 1,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            count: Format::new().set_num_format("0"),
        })
    }

    /// Appends one client.
    pub fn write(&mut self, row: &LineListRow) -> Result<(), OutputError> {
        let enrollments = join_services(&row.enrollments);
        let cells = row.cells(self.identifiable, &enrollments);
        match &mut self.sink {
            Sink::Csv(w) => {
                for cell in &cells {
                    match cell {
                        // Names, places and codes come from people: a
                        // cell that looks like a formula stays text.
                        Cell::Text(t) => w.write_field(csv_text(t).as_ref())?,
                        Cell::Date(d) => {
                            w.write_field(d.map(|d| d.to_string()).unwrap_or_default())?;
                        }
                        Cell::Number(n) => w.write_field(n.to_string())?,
                    }
                }
                w.write_record(None::<&[u8]>)?;
            }
            Sink::Xlsx {
                workbook,
                row: r,
                date,
                count,
                ..
            } => {
                let sheet = workbook.worksheet_from_index(0)?;
                for (col, cell) in cells.iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Text("") | Cell::Date(None) => {}
                        Cell::Text(t) => {
                            sheet.write_string(*r, col, *t)?;
                        }
                        Cell::Date(Some(d)) => {
                            sheet.write_datetime_with_format(*r, col, excel_date(*d)?, date)?;
                        }
                        Cell::Number(n) => {
                            sheet.write_number_with_format(*r, col, *n as f64, count)?;
                        }
                    }
                }
                *r += 1;
            }
        }
        Ok(())
    }

    /// Completes the file.
    pub fn finish(self) -> Result<(), OutputError> {
        match self.sink {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Xlsx {
                mut workbook,
                path,
                row,
                ..
            } => {
                let sheet = workbook.worksheet_from_index(0)?;
                let last_col = columns(self.identifiable).len() as u16 - 1;
                sheet.autofilter(0, 0, row.saturating_sub(1).max(1), last_col)?;
                // Created owner-only first: saving keeps the mode.
                drop(crate::files::create_private(&path)?);
                workbook.save(&path)?;
            }
        }
        Ok(())
    }
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}
