//! Integrity checks and encrypted backups.

use super::{KeyFile, Store, StoreError, key_file_path, open_connection, schema};
use crate::domain::{AuditAction, Permission};
use std::path::Path;

/// What `check` found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Pages whose authentication code does not match (SQLCipher): bytes changed on disk.
    pub cipher_errors: Vec<String>,
    /// Problems SQLite's own integrity check found.
    pub integrity_errors: Vec<String>,
    /// Rows that point at records that do not exist.
    pub foreign_key_errors: usize,
    /// Live rows per record table.
    pub counts: Vec<(String, i64)>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.cipher_errors.is_empty()
            && self.integrity_errors.is_empty()
            && self.foreign_key_errors == 0
    }
}

impl Store {
    /// Checks every page's authentication code, SQLite's integrity and the
    /// foreign keys. Writes nothing.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let conn = self.conn();
        let mut cipher_errors = Vec::new();
        {
            let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                cipher_errors.push(row.get::<_, String>(0)?);
            }
        }
        let mut integrity_errors = Vec::new();
        match conn.prepare("PRAGMA integrity_check") {
            Ok(mut stmt) => match stmt.query_map([], |r| r.get::<_, String>(0)) {
                Ok(rows) => {
                    for row in rows {
                        match row {
                            Ok(line) if line == "ok" => {}
                            Ok(line) => integrity_errors.push(line),
                            Err(e) => integrity_errors.push(e.to_string()),
                        }
                    }
                }
                Err(e) => integrity_errors.push(e.to_string()),
            },
            Err(e) => integrity_errors.push(e.to_string()),
        }
        let foreign_key_errors = match conn.prepare("PRAGMA foreign_key_check") {
            Ok(mut stmt) => stmt.query_map([], |_| Ok(()))?.count(),
            Err(e) => {
                integrity_errors.push(e.to_string());
                0
            }
        };
        let mut counts = Vec::new();
        for table in schema::RECORD_TABLES {
            match self.count_live(table) {
                Ok(n) => counts.push(((*table).to_owned(), n)),
                Err(e) => integrity_errors.push(format!("{table}: {e}")),
            }
        }
        Ok(CheckReport {
            cipher_errors,
            integrity_errors,
            foreign_key_errors,
            counts,
        })
    }

    /// Writes an encrypted copy of the database to `out` with SQLite's online
    /// backup API (same key), copies the key file beside it, then verifies the
    /// copy: it opens with the key, passes the integrity check, and has the
    /// same row counts. Refuses to overwrite an existing file.
    pub fn backup_to(&mut self, out: &Path) -> Result<CheckReport, StoreError> {
        self.require(Permission::Backup)?;
        if out.exists() {
            return Err(StoreError::AlreadyExists(out.to_owned()));
        }
        let result = (|| {
            let mut dest = open_connection(out, self.key(), true)?;
            {
                let backup = rusqlite::backup::Backup::new(self.conn(), &mut dest)?;
                backup.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
            }
            dest.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            drop(dest);
            let keyfile = KeyFile::load(self.path())?;
            keyfile.save(out)?;
            let copy = Store::open_with_key(
                out,
                self.key().clone(),
                &self.user().username.clone(),
                super::Access::Inspect,
            )?;
            let report = copy.check()?;
            let mine = self.check_counts_quick()?;
            drop(copy);
            if !report.is_ok() {
                return Err(StoreError::Damaged(
                    "the backup copy failed its integrity check".into(),
                ));
            }
            if report.counts != mine {
                return Err(StoreError::Damaged(
                    "the backup copy's row counts differ from the database".into(),
                ));
            }
            Ok(report)
        })();
        match result {
            Ok(report) => {
                let detail = out.display().to_string();
                self.write(|tx, ctx| ctx.audit(tx, AuditAction::Backup, None, None, &detail))?;
                Ok(report)
            }
            Err(e) => {
                for p in [out.to_owned(), key_file_path(out)] {
                    let _ = std::fs::remove_file(p);
                }
                Err(e)
            }
        }
    }

    /// Live rows per record table.
    pub fn check_counts_quick(&self) -> Result<Vec<(String, i64)>, StoreError> {
        schema::RECORD_TABLES
            .iter()
            .map(|t| Ok(((*t).to_owned(), self.count_live(t)?)))
            .collect()
    }
}
