//! The encrypted case store: SQLCipher through rusqlite, migrations, one
//! module per record kind, search, audit, backup. Never imports egui.
//!
//! Every write goes through [`Store::write`]: it checks the acting user's
//! role, runs in one transaction, and adds an audit entry in that
//! transaction.

mod actions;
mod backup;
mod bulk;
mod connection;
pub mod continuity;
mod corrections;
pub mod dashboard;
mod dump;
mod error;
mod import;
pub mod keys;
mod plans;
mod queries;
mod reader;
mod records;
mod rekey;
mod reports;
pub mod schema;
mod search;
mod sql;
mod sync;
mod timeline;
mod trust;
mod users;

pub use actions::{Raid, RaidPerson, RaidResult};
pub use backup::{
    BackupInfo, BackupJob, BackupOutcome, CheckReport, KEEP_DAILY, KEEP_WEEKLY, RestoreReport,
    Verification, auto_backup_name, backups_in, backups_to_keep, default_backup_dir, restore,
    restore_newest, restore_other_database,
};
pub use bulk::Batch;
pub(crate) use connection::*;
pub use corrections::{ClientRecord, Entered, RemovalEffect};
pub use error::StoreError;
pub use keys::{DbKey, FailedLogins, KeyFile, RecoveryKey, key_file_path, next_key_file_path};
pub use plans::{QueryPlan, plan_problems};
pub use queries::{ClientFilter, DetainedRow, FollowUpRow, settings};
pub use reader::Reader;
pub use records::Record;
pub use rekey::{Rotation, recovery_file_path};
pub use reports::{ExportJob, ReportJob};
pub use search::{ClientRow, SearchResult};
pub use sql::Columns;
pub use sync::{
    BUNDLE_EXTENSION, Conflict, DuplicateClient, Exported, FieldDiff, FolderSync, Merged, Progress,
    Purged, RecordLabel, Resolution, Scope, SyncStep, read_bundle_file,
};
pub use timeline::{TimelineEntry, TimelineItem};
pub use trust::{SyncDevice, Trust};
pub use users::{MIN_PASSWORD_CHARS, Recovered};

use crate::domain::*;
use chrono::{DateTime, Local, NaiveDate, Utc};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Who is logged in.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub language: String,
}

/// An open, unlocked database with a logged-in user.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    key: DbKey,
    user: SessionUser,
    device_id: String,
    /// Failed logins found at this login, for an admin to see.
    failed_logins: Option<FailedLogins>,
    /// A recovery key made by a change of key (databases made before
    /// recovery slots), to be shown once: see [`Store::take_new_recovery_key`].
    new_recovery_key: Option<RecoveryKey>,
    /// Opened only to look (`check`): not even statistics are written.
    inspect: bool,
    /// Where the time comes from (the system's, or a test's).
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

/// What `init` hands back once: the open store and the recovery key.
pub struct Initialized {
    pub store: Store,
    /// The recovery key: shown once, to be written down and kept offline.
    pub recovery_key: String,
}

/// Whether an open may change the file (migrations, the login audit entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Normal,
    /// Open only to look: no migrations, no audit entry (used by `check`).
    Inspect,
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Today's date on this computer: the limit for "no dates in the future".
pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

impl Store {
    /// Creates a new encrypted database at `path` with its first admin.
    /// Refuses to touch an existing file.
    pub fn init(
        path: &Path,
        admin_username: &str,
        admin_display_name: &str,
        password: &str,
    ) -> Result<Initialized, StoreError> {
        if path.exists() {
            return Err(StoreError::AlreadyExists(path.to_owned()));
        }
        if key_file_path(path).exists() {
            return Err(StoreError::AlreadyExists(key_file_path(path)));
        }
        users::check_password_strength(password)?;
        let admin = User {
            username: admin_username.trim().to_owned(),
            display_name: admin_display_name.trim().to_owned(),
            role: Role::Admin,
            active: true,
            language: "en".into(),
        };
        admin.validate(today()).map_err(StoreError::Invalid)?;
        let key = DbKey::random();
        let recovery = RecoveryKey::random();
        let mut keyfile = KeyFile::new();
        keyfile.set_slot(&admin.username, password, &key)?;
        keyfile.set_recovery(&recovery, &key)?;

        let result = (|| {
            let mut conn = open_connection(path, &key, true)?;
            schema::MIGRATIONS.to_latest(&mut conn)?;
            let device_id = Uuid::now_v7().to_string();
            let admin_id = Uuid::now_v7();
            let now = now_ms();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('app', 'tether'), ('device_id', ?1), ('created_at', ?2), ('clock', ?2)",
                params![device_id, now.to_string()],
            )?;
            tx.execute(
                "INSERT INTO users(id, created_at, updated_at, updated_by, device_id, username, display_name, role, active, language, password_set_at)
                 VALUES (?1, ?2, ?2, NULL, ?3, ?4, ?5, 'admin', 1, 'en', ?2)",
                params![admin_id, now, device_id, admin.username, admin.display_name],
            )?;
            audit_raw(
                &tx,
                now,
                Some(admin_id),
                &device_id,
                AuditAction::Create,
                Some("user"),
                Some(admin_id),
                "database created with its first admin",
            )?;
            tx.commit()?;
            trust::ensure_device_key(&conn)?;
            keyfile.save(path)?;
            rekey::save_recovery_copy(&keyfile, path)?;
            Ok::<_, StoreError>(Store {
                conn,
                path: path.to_owned(),
                key: key.clone(),
                user: SessionUser {
                    id: admin_id,
                    username: admin.username.clone(),
                    display_name: admin.display_name.clone(),
                    role: Role::Admin,
                    language: "en".into(),
                },
                device_id,
                failed_logins: None,
                new_recovery_key: None,
                inspect: false,
                clock: std::sync::Arc::new(crate::clock::SystemClock),
            })
        })();
        match result {
            Ok(store) => Ok(Initialized {
                store,
                recovery_key: recovery.to_text().to_string(),
            }),
            Err(e) => {
                // Leave nothing half-made behind.
                for suffix in ["", "-wal", "-shm", ".keys", ".keys.tmp", ".recovery"] {
                    let mut p = path.as_os_str().to_owned();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
                Err(e)
            }
        }
    }

    /// Opens and unlocks `path` as `username` with `password`. A wrong
    /// password is counted in the key file; the next login writes the
    /// count to the audit log, and the next admin to log in is told.
    pub fn open(path: &Path, username: &str, password: &str) -> Result<Store, StoreError> {
        if path.is_file() {
            rekey::finish_interrupted_rotation(path, username, password)?;
        }
        let key = match Self::unlock_key(path, username, password) {
            Ok(k) => k,
            Err(StoreError::WrongPassword) => {
                if let Ok(mut keyfile) = KeyFile::load(path) {
                    keyfile.note_failed_login(now_ms());
                    let _ = keyfile.save(path);
                }
                return Err(StoreError::WrongPassword);
            }
            Err(e) => return Err(e),
        };
        let mut store = Self::open_with_key(path, key, username, Access::Normal)?;
        store.report_failed_logins()?;
        store.upgrade_slot(password)?;
        Ok(store)
    }

    /// Makes the logged-in user's slot format 2 if it is of format 1, so
    /// that a later change of the database key keeps their password.
    fn upgrade_slot(&mut self, password: &str) -> Result<(), StoreError> {
        if !KeyFile::load(&self.path)?.is_old_slot(&self.user.username) {
            return Ok(());
        }
        let (path, key, username) = (
            self.path.clone(),
            self.key.clone(),
            self.user.username.clone(),
        );
        self.write(|_, _| {
            let mut keyfile = KeyFile::load(&path)?;
            keyfile.set_slot(&username, password, &key)?;
            keyfile.save(&path)
        })
    }

    /// Writes failed logins counted in the key file to the audit log, and
    /// keeps them for the session when an admin has logged in.
    fn report_failed_logins(&mut self) -> Result<(), StoreError> {
        let Ok(mut keyfile) = KeyFile::load(&self.path) else {
            return Ok(());
        };
        let unreported = keyfile.take_unreported();
        let for_admin = if self.user.role == Role::Admin {
            keyfile.take_for_admin()
        } else {
            None
        };
        if unreported.is_none() && for_admin.is_none() {
            return Ok(());
        }
        if let Some(n) = unreported {
            self.write(|tx, ctx| {
                audit_raw(
                    tx,
                    ctx.now,
                    None,
                    &ctx.device_id,
                    AuditAction::FailedLogin,
                    Some("user"),
                    None,
                    &format!("{n} failed login(s) since the last login"),
                )
            })?;
        }
        keyfile.save(&self.path)?;
        self.failed_logins = for_admin;
        Ok(())
    }

    /// Failed logins on this laptop since an admin last logged in, when the
    /// logged-in user is that admin.
    pub fn failed_logins(&self) -> Option<FailedLogins> {
        self.failed_logins
    }

    /// Runs bulk work (an import, a merge, generated data) with a large
    /// page cache on this connection, then the window's size again: index
    /// pages stay decrypted across the batches.
    pub fn with_bulk_cache<T>(&mut self, work: impl FnOnce(&mut Store) -> T) -> T {
        let _ = set_cache(&self.conn, Cache::Bulk);
        let out = work(self);
        let _ = set_cache(&self.conn, Cache::Main);
        crate::memory::give_back();
        out
    }

    /// Keeps the planner's statistics true after bulk work (SQLite's
    /// `PRAGMA optimize`, on a bounded sample); run at close too. Failure
    /// only costs speed, so it is not reported.
    pub fn optimize(&self) {
        if self.inspect {
            return;
        }
        let _ = self
            .conn
            .execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;");
    }

    /// The recovery key a change of the database key had to make (the key
    /// file had no recovery slot), once: show it and forget it.
    pub fn take_new_recovery_key(&mut self) -> Option<RecoveryKey> {
        self.new_recovery_key.take()
    }

    /// Opens only to inspect (for `check`): nothing is written.
    pub fn open_to_inspect(
        path: &Path,
        username: &str,
        password: &str,
    ) -> Result<Store, StoreError> {
        let key = Self::unlock_key(path, username, password)?;
        Self::open_with_key(path, key, username, Access::Inspect)
    }

    fn unlock_key(path: &Path, username: &str, password: &str) -> Result<DbKey, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        if !path.is_file() {
            return Err(StoreError::NotTether("it is not a file".into()));
        }
        let keyfile = KeyFile::load(path)?;
        keyfile.unlock(username, password)
    }

    pub(crate) fn open_with_key(
        path: &Path,
        key: DbKey,
        username: &str,
        access: Access,
    ) -> Result<Store, StoreError> {
        let mut conn = open_connection(path, &key, false)?;
        let app: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'app'", [], |r| r.get(0))
            .optional()
            .map_err(|_| StoreError::NotTether("it has no Tether tables".into()))?;
        if app.as_deref() != Some("tether") {
            return Err(StoreError::NotTether("it has no Tether marker".into()));
        }
        let version = schema::MIGRATIONS.current_version(&conn)?;
        let known = schema::MIGRATIONS_COUNT;
        if let rusqlite_migration::SchemaVersion::Inside(v) = version
            && v.get() > known
        {
            return Err(StoreError::NewerSchema);
        }
        if access == Access::Normal {
            schema::MIGRATIONS.to_latest(&mut conn)?;
            trust::ensure_device_key(&conn)?;
            // As SQLite advises for a long-lived connection: statistics
            // for tables that have none or have grown (a bounded sample).
            let _ = conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;");
        }
        let device_id: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
                r.get(0)
            })?;
        let user = conn
            .query_row(
                "SELECT id, username, display_name, role, active, language FROM users WHERE username = ?1 AND deleted = 0 ORDER BY password_set_at IS NULL, active DESC, created_at, id LIMIT 1",
                [username.trim()],
                |r| {
                    Ok((
                        SessionUser {
                            id: r.get(0)?,
                            username: r.get(1)?,
                            display_name: r.get(2)?,
                            role: r.get(3)?,
                            language: r.get(5)?,
                        },
                        r.get::<_, bool>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, active)) = user else {
            return Err(StoreError::WrongPassword);
        };
        if !active {
            return Err(StoreError::Inactive);
        }
        let mut store = Store {
            conn,
            path: path.to_owned(),
            key,
            user,
            device_id,
            failed_logins: None,
            new_recovery_key: None,
            inspect: access == Access::Inspect,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
        };
        if access == Access::Normal {
            store.write(|tx, ctx| {
                ctx.audit(tx, AuditAction::Login, Some("user"), Some(ctx.user_id), "")
            })?;
        }
        Ok(store)
    }

    /// The logged-in user.
    pub fn user(&self) -> &SessionUser {
        &self.user
    }

    /// This database's device id (every record written here carries it).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses unless the logged-in user's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), StoreError> {
        if self.user.role.can(permission) {
            Ok(())
        } else {
            Err(StoreError::Forbidden {
                role: self.user.role,
                permission,
            })
        }
    }

    /// Runs `f` in one immediate transaction; commits only if it returns `Ok`.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &WriteCtx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ctx = WriteCtx {
            user_id: self.user.id,
            device_id: self.device_id.clone(),
            now: clock_tick(&tx, self.clock.now_ms())?,
            today: self.clock.today(),
        };
        let value = f(&tx, &ctx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Read access for the store's own query modules.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Records that the session was locked, then closes the database.
    pub fn lock(mut self) -> Result<(), StoreError> {
        self.write(|tx, ctx| {
            ctx.audit(tx, AuditAction::Lock, Some("user"), Some(ctx.user_id), "")
        })?;
        self.close()
    }

    /// Closes the database, checkpointing the WAL into the main file.
    pub fn close(self) -> Result<(), StoreError> {
        self.optimize();
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }

    /// The newest audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.require(Permission::ViewAudit)?;
        self.audit_entries("1 = 1", [], limit)
    }

    /// Audit entries about one record, newest first.
    pub fn audit_for_record(&self, record_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries("record_id = ?1", [record_id], usize::MAX)
    }

    /// Audit entries matching `filter` (with `?1` the id), newest first.
    pub(crate) fn audit_where(
        &self,
        filter: &str,
        id: Uuid,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries(filter, [id], usize::MAX)
    }

    fn audit_entries<P: rusqlite::Params>(
        &self,
        filter: &str,
        p: P,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT seq, at, user_id, device_id, action, record_kind, record_id, detail FROM audit WHERE {filter} ORDER BY seq DESC LIMIT {limit}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: ms_to_time(r.get(1)?),
                user_id: r.get(2)?,
                device_id: r.get(3)?,
                action: r.get(4)?,
                record_kind: r.get(5)?,
                record_id: r.get(6)?,
                detail: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Number of live (not deleted) rows in a record table, for summaries and checks.
    pub fn count_live(&self, table: &str) -> Result<i64, StoreError> {
        if !schema::RECORD_TABLES.contains(&table) {
            return Err(StoreError::NoSuchTable(table.to_owned()));
        }
        Ok(self.conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE deleted = 0"),
            [],
            |r| r.get(0),
        )?)
    }

    pub(crate) fn key(&self) -> &DbKey {
        &self.key
    }
}

/// What a write needs to know: who, where, when.
pub struct WriteCtx {
    pub(crate) user_id: Uuid,
    pub(crate) device_id: String,
    pub(crate) now: i64,
    pub(crate) today: NaiveDate,
}

impl WriteCtx {
    /// Appends an audit entry inside the current transaction.
    pub(crate) fn audit(
        &self,
        tx: &Transaction<'_>,
        action: AuditAction,
        kind: Option<&str>,
        record_id: Option<Uuid>,
        detail: &str,
    ) -> Result<(), StoreError> {
        audit_raw(
            tx,
            self.now,
            Some(self.user_id),
            &self.device_id,
            action,
            kind,
            record_id,
            detail,
        )
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn audit_raw(
    tx: &Transaction<'_>,
    at: i64,
    user_id: Option<Uuid>,
    device_id: &str,
    action: AuditAction,
    kind: Option<&str>,
    record_id: Option<Uuid>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![at, user_id, device_id, action, kind, record_id, detail])?;
    Ok(())
}
