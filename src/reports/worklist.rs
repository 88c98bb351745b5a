//! `tether worklist --out FILE.json|FILE.csv`: the continuity worklists of a day.

use super::output::csv_text;
use crate::continuity::Entry;
use chrono::NaiveDate;
use std::path::Path;

/// Why a worklist file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("use a .json or .csv file name")]
    Format,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Csv(#[from] csv::Error),
}

/// The JSON shape: `{"day": "YYYY-MM-DD", "entries": [{"client_code", "kind", "reason", ...}]}`.
pub fn to_json(day: NaiveDate, entries: &[Entry]) -> serde_json::Value {
    serde_json::json!({
        "day": day.to_string(),
        "entries": entries.iter().map(|e| serde_json::json!({
            "client_code": e.client_code,
            "kind": e.kind.as_str(),
            "reason": e.reason,
            "days": e.days,
            "service": e.service.map(|s| s.as_str()),
            "location": e.location,
        })).collect::<Vec<_>>(),
    })
}

/// One header row, then one row per entry. Text cells go through
/// [`csv_text`], so a client code, reason or location name that looks
/// like a formula stays text in a spreadsheet; `days` is a number.
pub fn to_csv(day: NaiveDate, entries: &[Entry]) -> Result<String, WriteError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "day",
        "client_code",
        "kind",
        "reason",
        "days",
        "service",
        "location",
    ])?;
    let day = day.to_string();
    for e in entries {
        let days = e.days.to_string();
        w.write_record(
            [
                csv_text(&day),
                csv_text(&e.client_code),
                csv_text(e.kind.as_str()),
                csv_text(&e.reason),
                days.as_str().into(),
                csv_text(e.service.map_or("", |s| s.as_str())),
                csv_text(e.location.as_deref().unwrap_or_default()),
            ]
            .iter()
            .map(|c| c.as_ref()),
        )?;
    }
    let bytes = w.into_inner().map_err(|e| WriteError::Io(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes the worklist to `path`, by its extension.
pub fn write(path: &Path, day: NaiveDate, entries: &[Entry]) -> Result<(), WriteError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let text = match ext.as_deref() {
        Some("json") => serde_json::to_string_pretty(&to_json(day, entries))?,
        Some("csv") => to_csv(day, entries)?,
        _ => return Err(WriteError::Format),
    };
    crate::files::write_private(path, text.as_bytes())?;
    Ok(())
}
