//! A canonical text dump of every record table: the same records give the
//! same text, whichever database or order they were written in. Tests
//! compare databases with it (restore, and later sync).

use super::{Store, StoreError, schema};
use rusqlite::types::ValueRef;
use std::fmt::Write;

/// Columns that belong to one database and are never synced: the local
/// row number, when a row last came in from a bundle, when a password was
/// set on this laptop.
pub(crate) const LOCAL_COLUMNS: &[&str] = &["rid", "sync_seq", "password_set_at"];

fn value_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
    }
}

impl Store {
    /// Every row of every record table (tombstones included), ordered by id,
    /// one line per row; the local columns ([`LOCAL_COLUMNS`]) left out.
    pub fn canonical_dump(&self) -> Result<String, StoreError> {
        let mut out = String::new();
        for table in schema::RECORD_TABLES {
            let mut stmt = self
                .conn()
                .prepare(&format!("SELECT * FROM {table} ORDER BY id"))?;
            let names: Vec<String> = stmt
                .column_names()
                .iter()
                .map(|c| (*c).to_owned())
                .collect();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let _ = write!(out, "{table}:");
                for (i, name) in names.iter().enumerate() {
                    if !LOCAL_COLUMNS.contains(&name.as_str()) {
                        let _ = write!(out, " {name}={}", value_text(row.get_ref(i)?));
                    }
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}
