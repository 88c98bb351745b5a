//! Restoring a backup: checked first, the current file kept beside it,
//! and the audit trail carried across.

use super::*;

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// Where the database that was replaced now is (None if there was none).
    pub kept_as: Option<PathBuf>,
    /// Live rows per table in the restored database.
    pub counts: Vec<(String, i64)>,
}

/// Replaces the database at `db` with the backup `from`, after verifying
/// the backup fully. The current file (and its key file) is first renamed
/// to a dated copy beside it, never overwritten; the backup is copied, not
/// moved. `username`/`password` unlock the backup's own key file, and that
/// user must be allowed to restore. Writes an audit entry in the restored
/// database.
pub fn restore(
    db: &Path,
    from: &Path,
    username: &str,
    password: &str,
) -> Result<RestoreReport, StoreError> {
    if !from.is_file() {
        return Err(StoreError::NotFound(from.to_owned()));
    }
    let key = KeyFile::load(from)?.unlock(username, password)?;
    // The credentials must open this database too, and the backup must be
    // of it: a database made elsewhere never takes its place by accident,
    // and one made to look like it never takes its place at all.
    if db.exists() {
        let current = match KeyFile::load(db) {
            Ok(file) => file.unlock(username, password)?,
            Err(_) => {
                return Err(StoreError::KeyFile(format!(
                    "the key file of {} cannot be read, so the backup cannot be checked against it: use `tether recover` first, or restore with --other-database",
                    db.display()
                )));
            }
        };
        check_same_database(db, &current, from, &key)?;
        return restore_with_key(db, from, key, Some(current), username);
    }
    restore_with_key(db, from, key, None, username)
}

/// Whether the backup `from` (opened with `key`) is of the database `db`
/// (opened with `current`), proven with what only its own copies hold.
///
/// Its id (`meta.device_id`) is no proof: every sync bundle shows it, and
/// anyone can give it to a database of their own and seal that one's key
/// to the public keys of a copy of our key file, so that our own
/// passwords open it. What proves it is this database's own secret
/// signing key, kept only inside the encrypted file (and so in its
/// backups), which stays the same through changes of key; or the backup
/// opening with this database's current key itself. A damaged current
/// file that cannot be read is matched by its key alone.
fn check_same_database(
    db: &Path,
    current: &DbKey,
    from: &Path,
    key: &DbKey,
) -> Result<(), StoreError> {
    let same_key = current.bytes() == key.bytes();
    let Ok(ours) = identity(db, current) else {
        return if same_key {
            Ok(())
        } else {
            Err(StoreError::OtherDatabase(from.to_owned()))
        };
    };
    let theirs = identity(from, key)?;
    if theirs.device_id != ours.device_id {
        return Err(StoreError::OtherDatabase(from.to_owned()));
    }
    let same_secret = match (&ours.signing_key, &theirs.signing_key) {
        (Some(a), Some(b)) => same_bytes(a.as_bytes(), b.as_bytes()),
        _ => false,
    };
    if same_secret || same_key {
        Ok(())
    } else {
        Err(StoreError::UnprovenBackup(from.to_owned()))
    }
}

/// Compares two secrets without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a database says it is: its id, and its secret signing key.
struct Identity {
    device_id: String,
    signing_key: Option<zeroize::Zeroizing<String>>,
}

/// Reads the identity of the file at `path` with `key`, writing nothing
/// (not even the journal mode of a backup, as a full open would).
fn identity(path: &Path, key: &DbKey) -> Result<Identity, StoreError> {
    use rusqlite::OptionalExtension;
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let _ = conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()));
    conn.execute_batch(&key.pragma("key"))?;
    if conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_err()
    {
        return Err(StoreError::Damaged(format!(
            "{} cannot be read with its key",
            path.display()
        )));
    }
    let meta = |name: &str| {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [name], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    };
    let device_id = meta("device_id")
        .ok()
        .flatten()
        .ok_or_else(|| StoreError::NotTether("it has no Tether marker".into()))?;
    let signing_key = meta("device.signing_key")
        .map_err(|_| StoreError::NotTether("it has no Tether marker".into()))?
        .map(zeroize::Zeroizing::new);
    Ok(Identity {
        device_id,
        signing_key,
    })
}

/// Whether `key` opens the file at `path`. Nothing is written; the
/// connection is read-write only so that closing it removes the WAL and
/// shared-memory files a WAL-mode file gets when read (a read-only
/// connection would leave them behind).
pub(super) fn opens_with(path: &Path, key: &DbKey) -> bool {
    let Ok(conn) = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    let _ = conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()));
    let pragma = key.pragma("key");
    conn.execute_batch(&pragma).is_ok()
        && conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok()
}

/// Puts a backup of another database in place of `db`: an admin's
/// deliberate choice (`--other-database`), never made for them. Nothing
/// proves such a backup is this database's: it is taken as it is, with
/// every password and the key its own key file holds, so it must come
/// from someone the admin trusts. When this database's key file can be
/// read, the same name and password must open it too (only a user of
/// this database replaces it); the backup's own copy of that user must be
/// allowed to restore. The current file is kept beside it.
pub fn restore_other_database(
    db: &Path,
    from: &Path,
    username: &str,
    password: &str,
) -> Result<RestoreReport, StoreError> {
    if !from.is_file() {
        return Err(StoreError::NotFound(from.to_owned()));
    }
    let key = KeyFile::load(from)?.unlock(username, password)?;
    let current = match KeyFile::load(db) {
        Ok(file) if db.exists() => Some(file.unlock(username, password)?),
        _ => None,
    };
    restore_with_key(db, from, key, current, username)
}

/// One audit entry as stored: at, user, device, action, kind, record, detail.
pub(super) type AuditRow = (
    i64,
    Option<Vec<u8>>,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    String,
);

/// Audit entries the current database made after the backup's newest one,
/// copied into the restored file so a restore never erases who did what
/// (best effort: a damaged current file is kept beside the restored one).
pub(super) fn carry_audit(
    current: &Path,
    current_key: &DbKey,
    incoming: &Path,
    key: &DbKey,
) -> Result<usize, StoreError> {
    let from = open_connection(current, current_key, false)?;
    let to = open_connection(incoming, key, false)?;
    let since: i64 = to.query_row("SELECT coalesce(max(at), 0) FROM audit", [], |r| r.get(0))?;
    let mut read = from.prepare(
        "SELECT at, user_id, device_id, action, record_kind, record_id, detail FROM audit WHERE at > ?1 ORDER BY seq",
    )?;
    let rows: Vec<AuditRow> = read
        .query_map([since], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let tx = to.unchecked_transaction()?;
    for row in &rows {
        tx.execute(
            "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![row.0, row.1, row.2, row.3, row.4, row.5, row.6],
        )?;
    }
    tx.commit()?;
    Ok(rows.len())
}

/// Restores the newest automatic backup in `dir` that passes verification,
/// trying older ones when a newer one is damaged. Returns the one used.
pub fn restore_newest(
    db: &Path,
    dir: &Path,
    username: &str,
    password: &str,
) -> Result<(BackupInfo, RestoreReport), StoreError> {
    restore_newest_by(dir, |from| restore(db, from, username, password))
}

pub(super) fn restore_newest_by(
    dir: &Path,
    restore: impl Fn(&Path) -> Result<RestoreReport, StoreError>,
) -> Result<(BackupInfo, RestoreReport), StoreError> {
    let mut last_error = None;
    for backup in backups_in(dir)? {
        match restore(&backup.path) {
            Ok(report) => return Ok((backup, report)),
            // A file that names this database without proving it (one
            // planted in the folder) is passed over like a damaged one.
            Err(
                e @ (StoreError::Damaged(_)
                | StoreError::KeyFile(_)
                | StoreError::NotTether(_)
                | StoreError::UnprovenBackup(_)),
            ) => {
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(match last_error {
        Some(e) => StoreError::Damaged(format!(
            "no backup in {} passes verification (the newest: {e})",
            dir.display()
        )),
        None => StoreError::Damaged(format!("there are no backups in {}", dir.display())),
    })
}

/// [`restore`] with the backup's key already known (the open window's),
/// and the current file's key if it is known (to carry its audit log).
pub(super) fn restore_with_key(
    db: &Path,
    from: &Path,
    key: DbKey,
    current_key: Option<DbKey>,
    username: &str,
) -> Result<RestoreReport, StoreError> {
    if !from.is_file() {
        return Err(StoreError::NotFound(from.to_owned()));
    }
    let incoming = sibling(db, ".restoring");
    remove_with_keys(&incoming);
    let staged = (|| {
        std::fs::copy(from, &incoming)?;
        std::fs::copy(key_file_path(from), key_file_path(&incoming))?;
        crate::files::make_private(&incoming)?;
        crate::files::make_private(&key_file_path(&incoming))?;
        sync_file(&incoming)?;
        let copy = Store::open_with_key(
            &incoming,
            key.clone(),
            username,
            crate::store::Access::Inspect,
        )?;
        copy.require(Permission::Backup)?;
        let report = copy.check()?;
        if !report.is_ok() {
            return Err(StoreError::Damaged(format!(
                "the backup {} fails verification ({}); nothing was changed",
                from.display(),
                describe_problems(&report)
            )));
        }
        Ok(report)
    })();
    let report = match staged {
        Ok(report) => report,
        Err(e) => {
            remove_with_keys(&incoming);
            return Err(e);
        }
    };
    let carried = match &current_key {
        Some(current_key) if db.exists() => carry_audit(db, current_key, &incoming, &key).ok(),
        _ => None,
    };
    let kept_as = if db.exists() {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let kept = sibling(db, &format!(".before-restore-{stamp}"));
        // The database was just closed; on Windows a worker's connection
        // may take a moment more to let go of the file. The side files go
        // first, so the restored file never meets the old one's WAL.
        for suffix in ["-wal", "-shm"] {
            let side = sibling(db, suffix);
            if side.exists() {
                crate::files::rename_when_closed(&side, &sibling(&kept, suffix))?;
            }
        }
        if key_file_path(db).exists() {
            std::fs::rename(key_file_path(db), key_file_path(&kept))?;
        }
        crate::files::rename_when_closed(db, &kept)?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(key_file_path(&incoming), key_file_path(db))?;
    std::fs::rename(&incoming, db)?;
    crate::files::sync_dir(db)?;
    // The copy of the recovery slot follows the restored key file.
    let _ = std::fs::remove_file(crate::store::next_key_file_path(db));
    crate::store::rekey::save_recovery_copy(&KeyFile::load(db)?, db)?;
    let mut store = Store::open_with_key(db, key, username, crate::store::Access::Normal)?;
    let detail = format!(
        "restored from {}{}{}",
        from.display(),
        carried
            .map(|n| format!("; {n} later audit entries of the replaced file carried over"))
            .unwrap_or_default(),
        kept_as
            .as_ref()
            .map(|k| format!("; previous file kept as {}", k.display()))
            .unwrap_or_default()
    );
    store.write(|tx, ctx| ctx.audit(tx, AuditAction::Restore, None, None, &detail))?;
    Ok(RestoreReport {
        kept_as,
        counts: report.counts,
    })
}
