//! Integrity checks, encrypted backups (by hand and automatic, with
//! rotation) and restore.

mod restore;

pub use restore::*;

use crate::domain::{AuditAction, Permission};
use crate::store::{
    DbKey, KeyFile, Store, StoreError, key_file_path, now_ms, open_connection, schema,
};
use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    /// Live records holding values the forms would refuse (absurd days
    /// supplied, dates before 1900 or in the future), one line per kind:
    /// the file is sound, but these need correcting.
    pub out_of_range: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.cipher_errors.is_empty()
            && self.integrity_errors.is_empty()
            && self.foreign_key_errors == 0
    }
}

/// Checks every page's authentication code, SQLite's integrity and the
/// foreign keys on any connection (a [`super::Reader`] runs it off the UI thread).
pub(crate) fn check_on(conn: &Connection) -> Result<CheckReport, StoreError> {
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
    let counts = match live_counts(conn) {
        Ok(counts) => counts,
        Err(e) => {
            integrity_errors.push(e.to_string());
            Vec::new()
        }
    };
    let mut out_of_range = Vec::new();
    let today = super::today();
    for (what, sql) in OUT_OF_RANGE {
        match conn.query_row(sql, [today], |r| r.get::<_, i64>(0)) {
            Ok(0) => {}
            Ok(n) => out_of_range.push(format!("{n} {what}")),
            Err(e) => integrity_errors.push(e.to_string()),
        }
    }
    // Every stored version vector as a merge would take it: a value that
    // does not parse (stored as sent before merges parsed them) is named.
    for table in super::schema::RECORD_TABLES {
        match unparsed_versions(conn, table) {
            Ok(0) => {}
            Ok(n) => out_of_range.push(format!(
                "{n} {table} records whose version vector or laptop id does not parse"
            )),
            Err(e) => integrity_errors.push(e.to_string()),
        }
    }
    Ok(CheckReport {
        cipher_errors,
        integrity_errors,
        foreign_key_errors,
        counts,
        out_of_range,
    })
}

/// Rows of `table` whose laptop id, or version vector, a merge would refuse.
fn unparsed_versions(conn: &Connection, table: &str) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT device_id, updated_at, vv FROM {table}"))?;
    let mut rows = stmt.query([])?;
    let mut bad = 0;
    while let Some(row) = rows.next()? {
        let device: String = row.get(0)?;
        let clock: i64 = row.get(1)?;
        let vv: Option<String> = row.get(2)?;
        let ok = crate::sync::device_id_problem(&device).is_none()
            && vv.as_deref().is_none_or(|t| {
                crate::sync::VersionVector::parse(t)
                    .is_ok_and(|v| v.to_column(&device, clock).as_deref() == Some(t))
            });
        if !ok {
            bad += 1;
        }
    }
    Ok(bad)
}

/// Values the forms refuse, counted among live records (`?1` is today).
const OUT_OF_RANGE: &[(&str, &str)] = &[
    (
        "service events with days supplied outside 0 to 366",
        "SELECT count(*) FROM service_events WHERE deleted = 0 AND (days_supplied < 0 OR days_supplied > 366) AND ?1 IS NOT NULL",
    ),
    (
        "service events dated before 1900 or in the future",
        "SELECT count(*) FROM service_events WHERE deleted = 0 AND (date < '1900-01-01' OR date > ?1)",
    ),
    (
        "contacts dated before 1900 or in the future",
        "SELECT count(*) FROM contacts WHERE deleted = 0 AND (date < '1900-01-01' OR date > ?1)",
    ),
    (
        "detention stays starting before 1900 or in the future",
        "SELECT count(*) FROM detentions WHERE deleted = 0 AND (started_on < '1900-01-01' OR started_on > ?1)",
    ),
    (
        "enrollments starting before 1900 or in the future",
        "SELECT count(*) FROM enrollments WHERE deleted = 0 AND (started_on < '1900-01-01' OR started_on > ?1)",
    ),
];

impl Store {
    /// Checks every page's authentication code, SQLite's integrity and the
    /// foreign keys. Writes nothing.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        check_on(self.conn())
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
            let counts = copy_database(self.conn(), self.key(), out)?;
            sync_file(out)?;
            KeyFile::load(self.path())?.save(out)?;
            verify_copy(out, self.key(), &self.user().username, Some(&counts))
        })();
        match result {
            Ok(report) => {
                let detail = out.display().to_string();
                self.write(|tx, ctx| ctx.audit(tx, AuditAction::Backup, None, None, &detail))?;
                Ok(report)
            }
            Err(e) => {
                remove_with_keys(out);
                Err(e)
            }
        }
    }
}

/// Automatic backups are named `tether-YYYY-MM-DD.db`, one per day.
const AUTO_PREFIX: &str = "tether-";
const AUTO_SUFFIX: &str = ".db";
/// Daily and weekly automatic backups kept.
pub const KEEP_DAILY: usize = 7;
pub const KEEP_WEEKLY: usize = 4;
/// Where the result of each backup's verification is kept (meta table).
const VERIFIED_PREFIX: &str = "backup.verified.";
/// The setting that moves the backups folder.
const BACKUP_DIR_KEY: &str = "setting.backup_dir";

/// The days whose automatic backups to keep: the `daily` newest days, and
/// the newest day of each of the `weekly` newest ISO weeks. A pure rule.
pub fn backups_to_keep(days: &[NaiveDate], daily: usize, weekly: usize) -> BTreeSet<NaiveDate> {
    let mut sorted: Vec<NaiveDate> = days.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    let mut keep: BTreeSet<NaiveDate> = sorted.iter().take(daily).copied().collect();
    let mut weeks = BTreeSet::new();
    for day in &sorted {
        let week = day.iso_week();
        if weeks.len() == weekly && !weeks.contains(&(week.year(), week.week())) {
            break;
        }
        if weeks.insert((week.year(), week.week())) {
            keep.insert(*day);
        }
    }
    keep
}

/// The file name of the automatic backup of `day`.
pub fn auto_backup_name(day: NaiveDate) -> String {
    format!("{AUTO_PREFIX}{}{AUTO_SUFFIX}", day.format("%Y-%m-%d"))
}

fn auto_backup_day(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix(AUTO_PREFIX)?.strip_suffix(AUTO_SUFFIX)?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// How a backup's verification went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// When it was verified (unix milliseconds).
    pub at: i64,
    pub ok: bool,
    /// Plain words: records copied, or what was wrong.
    pub detail: String,
}

/// One automatic backup in the backups folder.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub day: NaiveDate,
    pub size: u64,
    /// The verification made when it was written, if this database knows it.
    pub verified: Option<Verification>,
    /// It does not open with the database's current key: it was made before
    /// the key changed, and opens with the passwords (and recovery key) of
    /// that time, a deactivated user's included.
    pub old_key: bool,
}

/// What an automatic backup did.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub path: PathBuf,
    pub verification: Verification,
    /// Older automatic backups removed by the rotation.
    pub removed: Vec<PathBuf>,
}

/// Everything a backup needs, to run on another thread while the window
/// goes on: it opens its own connection to the database.
pub struct BackupJob {
    source: PathBuf,
    key: DbKey,
    username: String,
    dir: PathBuf,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn remove_with_keys(path: &Path) {
    for p in [path.to_owned(), key_file_path(path)] {
        let _ = std::fs::remove_file(p);
    }
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    // Windows flushes only through a handle opened for writing.
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .sync_all()?;
    Ok(())
}

/// Copies the database behind `src` into a new file at `out` with the
/// online backup API, in one step inside one read transaction, so the copy
/// and the counts returned are of the same moment.
fn copy_database(
    src: &Connection,
    key: &DbKey,
    out: &Path,
) -> Result<Vec<(String, i64)>, StoreError> {
    src.execute_batch("BEGIN")?;
    let result = (|| {
        let counts = live_counts(src)?;
        let mut dest = open_connection(out, key, true)?;
        super::set_cache(&dest, super::Cache::Stream)?;
        {
            let backup = rusqlite::backup::Backup::new(src, &mut dest)?;
            // All pages in one step, so the copy is of one moment.
            let mut tries = 0;
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    _ => {
                        return Err(StoreError::Damaged(
                            "the database stayed busy; the backup was not made".into(),
                        ));
                    }
                }
            }
        }
        dest.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")?;
        Ok(counts)
    })();
    let _ = src.execute_batch("COMMIT");
    result
}

fn live_counts(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    schema::RECORD_TABLES
        .iter()
        .map(|t| {
            let n = conn.query_row(
                &format!("SELECT count(*) FROM {t} WHERE deleted = 0"),
                [],
                |r| r.get(0),
            )?;
            Ok(((*t).to_owned(), n))
        })
        .collect()
}

/// Opens a copy with `key` and checks it fully: every page's authentication
/// code, SQLite's integrity check, foreign keys; then compares row counts.
fn verify_copy(
    path: &Path,
    key: &DbKey,
    username: &str,
    expected: Option<&[(String, i64)]>,
) -> Result<CheckReport, StoreError> {
    let copy = Store::open_with_key(path, key.clone(), username, super::Access::Inspect)?;
    super::set_cache(copy.conn(), super::Cache::Stream)?;
    let report = copy.check()?;
    if !report.is_ok() {
        return Err(StoreError::Damaged(describe_problems(&report)));
    }
    if let Some(expected) = expected
        && report.counts != expected
    {
        return Err(StoreError::Damaged(
            "the copy's row counts differ from the database".into(),
        ));
    }
    Ok(report)
}

fn describe_problems(report: &CheckReport) -> String {
    let mut parts = Vec::new();
    if !report.cipher_errors.is_empty() {
        parts.push(format!(
            "{} pages fail their authentication check",
            report.cipher_errors.len()
        ));
    }
    if !report.integrity_errors.is_empty() {
        parts.push(format!(
            "SQLite's integrity check found {} problems",
            report.integrity_errors.len()
        ));
    }
    if report.foreign_key_errors > 0 {
        parts.push(format!(
            "{} rows point at records that do not exist",
            report.foreign_key_errors
        ));
    }
    parts.join("; ")
}

fn records_copied(report: &CheckReport) -> String {
    let total: i64 = report.counts.iter().map(|(_, n)| n).sum();
    let clients = report
        .counts
        .iter()
        .find(|(t, _)| t == "clients")
        .map_or(0, |(_, n)| *n);
    format!(
        "verified: {total} records, {clients} clients; opens with the key, integrity ok, counts match"
    )
}

impl BackupJob {
    /// The folder the backups go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes today's automatic backup (replacing an older one of the same
    /// day only once the new one is verified), then applies the rotation.
    pub fn run(&self, day: NaiveDate) -> Result<BackupOutcome, StoreError> {
        crate::files::private_dir(&self.dir)?;
        let path = self.dir.join(auto_backup_name(day));
        let tmp = sibling(&path, ".tmp");
        remove_with_keys(&tmp);
        let written = self.write_verified(&tmp);
        let report = match written {
            Ok(report) => report,
            Err(e) => {
                remove_with_keys(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(key_file_path(&tmp), key_file_path(&path))?;
        std::fs::rename(&tmp, &path)?;
        let removed = rotate(&self.dir, &path)?;
        Ok(BackupOutcome {
            path,
            verification: Verification {
                at: now_ms(),
                ok: true,
                detail: records_copied(&report),
            },
            removed,
        })
    }

    fn write_verified(&self, out: &Path) -> Result<CheckReport, StoreError> {
        let src = open_connection(&self.source, &self.key, false)?;
        src.execute_batch("PRAGMA query_only = ON;")?;
        super::set_cache(&src, super::Cache::Stream)?;
        let counts = copy_database(&src, &self.key, out)?;
        drop(src);
        sync_file(out)?;
        KeyFile::load(&self.source)?.save(out)?;
        verify_copy(out, &self.key, &self.username, Some(&counts))
    }
}

/// Removes the automatic backups in `dir` that the rotation does not keep.
/// The backup just written and verified is never removed, whatever the
/// dates in the other files' names say (a clock set back, or a file named
/// for a day in the future).
fn rotate(dir: &Path, just_written: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let found = scan(dir)?;
    let days: Vec<NaiveDate> = found.iter().map(|(d, _)| *d).collect();
    let keep = backups_to_keep(&days, KEEP_DAILY, KEEP_WEEKLY);
    let mut removed = Vec::new();
    for (day, path) in found {
        if !keep.contains(&day) && path != just_written {
            remove_with_keys(&path);
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Removes every automatic backup in `dir` but `keep` (after a field
/// laptop's purge: the older ones still hold the clients it removed).
pub(crate) fn remove_auto_backups_except(dir: &Path, keep: &Path) -> Result<(), StoreError> {
    for (_, path) in scan(dir)? {
        if path != keep {
            remove_with_keys(&path);
        }
    }
    Ok(())
}

/// The automatic backups in `dir`, newest first.
fn scan(dir: &Path) -> Result<Vec<(NaiveDate, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if let Some(day) = entry.file_name().to_str().and_then(auto_backup_day) {
            found.push((day, entry.path()));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(found)
}

/// The default backups folder: `<database name>-backups` beside the database.
pub fn default_backup_dir(db: &Path) -> PathBuf {
    let name = db
        .file_stem()
        .map_or_else(|| "tether".into(), |s| s.to_string_lossy().into_owned());
    db.with_file_name(format!("{name}-backups"))
}

/// The automatic backups in `dir`, newest first, without their verification
/// (for a database that cannot be opened).
pub fn backups_in(dir: &Path) -> Result<Vec<BackupInfo>, StoreError> {
    scan(dir)?
        .into_iter()
        .map(|(day, path)| {
            Ok(BackupInfo {
                size: std::fs::metadata(&path)?.len(),
                path,
                day,
                verified: None,
                old_key: false,
            })
        })
        .collect()
}

impl Store {
    /// Closes this database and replaces it with the backup `from` (see
    /// [`restore`]); the user must be allowed to restore. Log in again after.
    pub fn restore_from(self, from: &Path) -> Result<RestoreReport, StoreError> {
        self.require(Permission::Backup)?;
        let (path, key, username) = (
            self.path().to_owned(),
            self.key().clone(),
            self.user().username.clone(),
        );
        // A damaged file may not close cleanly; the restore goes on.
        let _ = self.close();
        restore_with_key(&path, from, key.clone(), Some(key), &username)
    }

    /// Closes this database and replaces it with the newest automatic
    /// backup that passes verification (see [`restore_newest`]).
    pub fn restore_newest(self) -> Result<(BackupInfo, RestoreReport), StoreError> {
        self.require(Permission::Backup)?;
        let (path, key, username, dir) = (
            self.path().to_owned(),
            self.key().clone(),
            self.user().username.clone(),
            self.backup_dir(),
        );
        // A damaged file may not close cleanly; the restore goes on.
        let _ = self.close();
        restore_newest_by(&dir, |from| {
            restore_with_key(&path, from, key.clone(), Some(key.clone()), &username)
        })
    }

    /// The backups folder: the setting, or `<name>-backups` beside the database.
    pub fn backup_dir(&self) -> PathBuf {
        self.conn()
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [BACKUP_DIR_KEY],
                |r| r.get::<_, String>(0),
            )
            .ok()
            .filter(|s| !s.is_empty())
            .map_or_else(|| default_backup_dir(self.path()), PathBuf::from)
    }

    /// Moves the automatic backups to `dir` (None: back to the default).
    pub fn set_backup_dir(&mut self, dir: Option<&Path>) -> Result<(), StoreError> {
        self.require(Permission::Backup)?;
        let value = dir.map(|d| d.display().to_string()).unwrap_or_default();
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![BACKUP_DIR_KEY, value],
            )?;
            ctx.audit(tx, AuditAction::Update, Some("setting"), None, &format!("backup_dir={value}"))
        })
    }

    /// A backup to run on another thread. Automatic backups are made for
    /// every user (they protect the data, and stay under the same key).
    pub fn backup_job(&self) -> BackupJob {
        BackupJob {
            source: self.path().to_owned(),
            key: self.key().clone(),
            username: self.user().username.clone(),
            dir: self.backup_dir(),
        }
    }

    /// The day of the newest automatic backup, if any.
    pub fn last_auto_backup(&self) -> Result<Option<NaiveDate>, StoreError> {
        Ok(scan(&self.backup_dir())?.first().map(|(d, _)| *d))
    }

    /// Whether the once-a-day automatic backup is still to be made on `day`.
    /// Only a backup of that very day counts: one named for a later day
    /// (a clock that was ahead, a copied file) does not stop today's.
    pub fn auto_backup_due(&self, day: NaiveDate) -> bool {
        !matches!(scan(&self.backup_dir()), Ok(found) if found.iter().any(|(d, _)| *d == day))
    }

    /// Records a finished automatic backup: its verification, and an audit entry.
    pub fn record_backup(&mut self, outcome: &BackupOutcome) -> Result<(), StoreError> {
        let name = outcome
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let json = serde_json::to_string(&outcome.verification)
            .map_err(|e| StoreError::Damaged(e.to_string()))?;
        let removed: Vec<String> = outcome
            .removed
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![format!("{VERIFIED_PREFIX}{name}"), json],
            )?;
            for gone in &removed {
                tx.execute("DELETE FROM meta WHERE key = ?1", [format!("{VERIFIED_PREFIX}{gone}")])?;
            }
            ctx.audit(
                tx,
                AuditAction::Backup,
                None,
                None,
                &format!("automatic backup {}; {}", outcome.path.display(), outcome.verification.detail),
            )
        })
    }

    /// Makes and records today's automatic backup here and now (on close,
    /// and for the command line and tests).
    pub fn auto_backup(&mut self, day: NaiveDate) -> Result<BackupOutcome, StoreError> {
        let outcome = self.backup_job().run(day)?;
        self.record_backup(&outcome)?;
        Ok(outcome)
    }

    /// The automatic backups in the backups folder, newest first, with the
    /// verification recorded when each was written.
    pub fn backups(&self) -> Result<Vec<BackupInfo>, StoreError> {
        let mut list = backups_in(&self.backup_dir())?;
        for b in &mut list {
            let name = b
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            b.verified = self
                .conn()
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1",
                    [format!("{VERIFIED_PREFIX}{name}")],
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|j| serde_json::from_str(&j).ok());
            b.old_key = !opens_with(&b.path, self.key());
        }
        Ok(list)
    }
}
