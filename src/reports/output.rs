//! The period report's files: `.json` (the shape of INDICATORS.md), `.csv`
//! (one row per indicator and disaggregation) and `.xlsx` (a summary, one
//! sheet per section, the definitions), all written from a published
//! report ([`super::period::publish`]), so that suppression applies to
//! every format alike.

use super::period::{
    AGE_BANDS, Count, INDICATORS, Indicator, PeriodReport, Section, sex_keys, suppression_note,
};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Why a report or line-list file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: use a file name ending in {allowed}", .path.display())]
    Format {
        path: std::path::PathBuf,
        allowed: &'static str,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Csv(#[from] csv::Error),
    #[error("spreadsheet: {0}")]
    Xlsx(#[from] XlsxError),
}

/// A file format, chosen by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    Csv,
    Xlsx,
}

impl FileFormat {
    /// The extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    fn of(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(FileFormat::Json),
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    /// The format of a period-report file: `.json`, `.csv` or `.xlsx`.
    pub fn for_report(path: &Path) -> Result<FileFormat, OutputError> {
        FileFormat::of(path).ok_or_else(|| OutputError::Format {
            path: path.to_owned(),
            allowed: ".json, .csv or .xlsx",
        })
    }

    /// The format of a line-list file: `.csv` or `.xlsx`.
    pub fn for_line_list(path: &Path) -> Result<FileFormat, OutputError> {
        match FileFormat::of(path) {
            Some(f @ (FileFormat::Csv | FileFormat::Xlsx)) => Ok(f),
            _ => Err(OutputError::Format {
                path: path.to_owned(),
                allowed: ".csv or .xlsx",
            }),
        }
    }
}

/// A text cell as every CSV file of Tether writes it. Excel and
/// LibreOffice run a cell that starts with `=`, `+`, `-` or `@` as a
/// formula (and treat a leading tab or carriage return alike), so such a
/// cell, which can come from any imported spreadsheet or synced bundle,
/// gets a leading `'` and shows as the text it is. Numbers Tether writes
/// itself (counts, days) are written as numbers and never pass here.
pub fn csv_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// The JSON text of a published report (INDICATORS.md's shape).
pub fn to_json(report: &PeriodReport<Count>) -> Result<String, OutputError> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// The CSV header.
pub const CSV_HEADER: [&str; 4] = ["indicator", "dimension", "value", "count"];

/// The CSV text: a header, then rows of `indicator,dimension,value,count`.
/// First come rows about the report itself, with `report` as indicator:
/// `report,from,DATE,`, `report,to,DATE,`, `report,made_at,TIME,`,
/// `report,device_id,ID,` and, when counts are suppressed,
/// `report,suppressed_below,<note>,N`. Then per indicator, in report order:
/// `KEY,total,,N`, `KEY,sex,SEX,N` for each sex and `KEY,age,BAND,N` for
/// each band; then `referrals_by_kind,kind,KIND,N` and
/// `detained_at_end_by_location,location,NAME,N`.
pub fn to_csv(report: &PeriodReport<Count>) -> Result<String, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Every text cell through `csv_text`: keys and dates are safe, but
    // location names and kinds come from people.
    let mut row =
        |fields: [&str; 4]| w.write_record(fields.map(csv_text).iter().map(|f| f.as_ref()));
    row(CSV_HEADER)?;
    let made_at = report.made_at.to_rfc3339();
    for (dimension, value) in [
        ("from", report.from.to_string()),
        ("to", report.to.to_string()),
        ("made_at", made_at),
        ("device_id", report.device_id.clone()),
    ] {
        row(["report", dimension, &value, ""])?;
    }
    if let Some(below) = report.suppressed_below {
        row([
            "report",
            "suppressed_below",
            &suppression_note(below),
            &below.to_string(),
        ])?;
    }
    let zero = Count::default();
    for def in INDICATORS {
        let Some(ind) = report.indicator(def.key) else {
            continue;
        };
        row([def.key, "total", "", &ind.total.to_string()])?;
        for sex in sex_keys() {
            let n = ind.by_sex.get(sex).unwrap_or(&zero);
            row([def.key, "sex", sex, &n.to_string()])?;
        }
        for band in AGE_BANDS {
            let n = ind.by_age.get(band).unwrap_or(&zero);
            row([def.key, "age", band, &n.to_string()])?;
        }
    }
    for (kind, n) in &report.referrals_by_kind {
        row(["referrals_by_kind", "kind", kind, &n.to_string()])?;
    }
    for (name, n) in &report.detained_at_end_by_location {
        row([
            "detained_at_end_by_location",
            "location",
            name,
            &n.to_string(),
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| OutputError::Io(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes a published report to `path` in the format of its extension.
/// The caller picks the path (the store writes to a temporary name first).
pub fn write_report(
    path: &Path,
    format: FileFormat,
    report: &PeriodReport<Count>,
) -> Result<(), OutputError> {
    match format {
        FileFormat::Json => crate::files::write_private(path, to_json(report)?.as_bytes())?,
        FileFormat::Csv => crate::files::write_private(path, to_csv(report)?.as_bytes())?,
        FileFormat::Xlsx => write_xlsx(path, report)?,
    }
    Ok(())
}

/// Names of the XLSX sheets.
pub const SUMMARY_SHEET: &str = "Summary";
pub const DEFINITIONS_SHEET: &str = "Definitions";

/// The header row of each section sheet's table (row 2; row 1 groups the
/// columns under "Sex" and "Age at end of period"): `Indicator`, `Total`,
/// the sex keys, then the age bands (`unknown` appears under both groups).
pub fn section_header() -> Vec<String> {
    let mut h = vec!["Indicator".to_owned(), "Total".to_owned()];
    h.extend(sex_keys().map(str::to_owned));
    h.extend(AGE_BANDS.iter().map(|b| (*b).to_owned()));
    h
}

/// Cell styles shared by the sheets.
struct Styles {
    title: Format,
    header: Format,
    group: Format,
    label: Format,
    count: Format,
    below: Format,
    wrap: Format,
    note: Format,
}

impl Styles {
    fn new() -> Styles {
        let header = Format::new()
            .set_bold()
            .set_background_color(0xD9E1F2)
            .set_border_bottom(FormatBorder::Thin);
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            group: header.clone().set_align(FormatAlign::Center),
            header,
            label: Format::new().set_bold(),
            count: Format::new().set_num_format("#,##0"),
            below: Format::new().set_align(FormatAlign::Right),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            note: Format::new().set_italic().set_font_color(0x9C0006),
        }
    }
}

fn write_count(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    n: Count,
    s: &Styles,
) -> Result<(), XlsxError> {
    match n {
        Count::Exact(n) => sheet.write_number_with_format(row, col, n as f64, &s.count)?,
        Count::Below(_) => sheet.write_string_with_format(row, col, n.to_string(), &s.below)?,
    };
    Ok(())
}

/// The report as a workbook: a summary sheet (period, when made, device,
/// the suppression note, every indicator's total), one sheet per section
/// with the disaggregations (and referrals by kind or detained by location
/// below the table), and a definitions sheet.
pub fn write_xlsx(path: &Path, report: &PeriodReport<Count>) -> Result<(), OutputError> {
    let s = Styles::new();
    let mut wb = Workbook::new();
    summary_sheet(wb.add_worksheet(), report, &s)?;
    for section in Section::ALL {
        section_sheet(wb.add_worksheet(), report, section, &s)?;
    }
    definitions_sheet(wb.add_worksheet(), &s)?;
    let bytes = wb.save_to_buffer()?;
    crate::files::write_private(path, &bytes)?;
    Ok(())
}

fn summary_sheet(
    sheet: &mut Worksheet,
    report: &PeriodReport<Count>,
    s: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(SUMMARY_SHEET)?;
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 34)?;
    sheet.set_column_width(2, 14)?;
    sheet.write_string_with_format(0, 0, "Tether period report", &s.title)?;
    let facts = [
        ("From", report.from.to_string()),
        ("To", report.to.to_string()),
        (
            "Made at",
            report.made_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        ("Device", report.device_id.clone()),
    ];
    let mut row = 2;
    for (label, value) in facts {
        sheet.write_string_with_format(row, 0, label, &s.label)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    if let Some(below) = report.suppressed_below {
        sheet.write_string_with_format(row, 0, "Suppressed below", &s.label)?;
        sheet.write_number(row, 1, below as f64)?;
        row += 1;
        sheet.write_string_with_format(row, 0, suppression_note(below), &s.note)?;
        row += 1;
    }
    row += 1;
    let header_row = row;
    for (col, h) in ["Section", "Indicator", "Total", "Key"].iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *h, &s.header)?;
    }
    sheet.set_column_width(3, 28)?;
    row += 1;
    for def in INDICATORS {
        let Some(ind) = report.indicator(def.key) else {
            continue;
        };
        sheet.write_string(row, 0, def.section.title())?;
        sheet.write_string(row, 1, def.label)?;
        write_count(sheet, row, 2, ind.total, s)?;
        sheet.write_string(row, 3, def.key)?;
        row += 1;
    }
    sheet.set_freeze_panes(header_row + 1, 0)?;
    Ok(())
}

fn section_sheet(
    sheet: &mut Worksheet,
    report: &PeriodReport<Count>,
    section: Section,
    s: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(section.title())?;
    let header = section_header();
    let sexes = sex_keys().count() as u16;
    let bands = AGE_BANDS.len() as u16;
    sheet.set_column_width(0, 28)?;
    for col in 1..header.len() as u16 {
        sheet.set_column_width(col, 10)?;
    }
    sheet.write_blank(0, 0, &s.group)?;
    sheet.write_blank(0, 1, &s.group)?;
    sheet.merge_range(0, 2, 0, 1 + sexes, "Sex", &s.group)?;
    sheet.merge_range(
        0,
        2 + sexes,
        0,
        1 + sexes + bands,
        "Age at end of period",
        &s.group,
    )?;
    for (col, h) in header.iter().enumerate() {
        sheet.write_string_with_format(1, col as u16, h, &s.header)?;
    }
    sheet.set_freeze_panes(2, 1)?;
    let mut row = 2;
    let zero = Count::default();
    for def in INDICATORS.iter().filter(|d| d.section == section) {
        let Some(ind) = report.indicator(def.key) else {
            continue;
        };
        write_indicator_row(sheet, row, def.key, ind, &zero, s)?;
        row += 1;
    }
    let (title, key_header, count_header, extra) = match section {
        Section::Reach => (
            "Referrals by kind",
            "Kind",
            "Contacts",
            &report.referrals_by_kind,
        ),
        Section::ArrestAndDetention => (
            "Detained at end by location",
            "Location",
            "Clients",
            &report.detained_at_end_by_location,
        ),
        Section::Continuity => return Ok(()),
    };
    row += 1;
    sheet.write_string_with_format(row, 0, title, &s.label)?;
    row += 1;
    sheet.write_string_with_format(row, 0, key_header, &s.header)?;
    sheet.write_string_with_format(row, 1, count_header, &s.header)?;
    row += 1;
    for (key, n) in extra {
        sheet.write_string(row, 0, key)?;
        write_count(sheet, row, 1, *n, s)?;
        row += 1;
    }
    Ok(())
}

fn write_indicator_row(
    sheet: &mut Worksheet,
    row: u32,
    key: &str,
    ind: &Indicator<Count>,
    zero: &Count,
    s: &Styles,
) -> Result<(), XlsxError> {
    sheet.write_string(row, 0, key)?;
    write_count(sheet, row, 1, ind.total, s)?;
    let mut col = 2;
    for sex in sex_keys() {
        write_count(sheet, row, col, *ind.by_sex.get(sex).unwrap_or(zero), s)?;
        col += 1;
    }
    for band in AGE_BANDS {
        write_count(sheet, row, col, *ind.by_age.get(band).unwrap_or(zero), s)?;
        col += 1;
    }
    Ok(())
}

fn definitions_sheet(sheet: &mut Worksheet, s: &Styles) -> Result<(), XlsxError> {
    sheet.set_name(DEFINITIONS_SHEET)?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 22)?;
    sheet.set_column_width(2, 30)?;
    sheet.set_column_width(3, 90)?;
    for (col, h) in ["Key", "Section", "Indicator", "Definition"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(0, col as u16, *h, &s.header)?;
    }
    let mut row = 1;
    for def in INDICATORS {
        sheet.write_string_with_format(row, 0, def.key, &s.wrap)?;
        sheet.write_string_with_format(row, 1, def.section.title(), &s.wrap)?;
        sheet.write_string_with_format(row, 2, def.label, &s.wrap)?;
        sheet.write_string_with_format(row, 3, def.definition, &s.wrap)?;
        row += 1;
    }
    let general = [
        "The period is two dates, both included. Deleted records never count.",
        "Every indicator is a total and is disaggregated by the client's sex and by the client's age band at the end of the period (age = year of the last day minus year of birth).",
        "A count of records is disaggregated by the sex and age of each record's client; a sum (needles, days) likewise.",
    ];
    row += 1;
    for text in general {
        sheet.write_string_with_format(row, 3, text, &s.wrap)?;
        row += 1;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}
