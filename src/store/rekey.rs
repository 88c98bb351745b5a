//! Changing the database key, and finding it again with the recovery key.
//!
//! A change of key (after a user is deactivated, or on demand) goes in
//! three steps, each durable before the next:
//! 1. the next key file, with the new key sealed to every slot, is written
//!    beside the current one (`<db>.keys.next`);
//! 2. SQLCipher re-encrypts every page with the new key (`PRAGMA rekey`,
//!    one transaction), and the WAL is checkpointed into the file;
//! 3. the next key file is renamed over the current one.
//!
//! A crash before step 2 commits leaves the old key in use and a stale
//! next file, removed at the next login; a crash after it leaves a
//! database that only the next key file opens, and the next login
//! finishes the rename. Either way one of the two files opens it
//! (`tests/it/cli.rs` kills the process at every step).
//!
//! The recovery slot is also kept in `<db>.recovery`, a key file with no
//! user slots, so that the recovery key still opens the database when the
//! key file is lost or damaged; the key files of backups are tried too.

use super::keys::{RecoveryKey, next_key_file_path};
use super::{Access, DbKey, KeyFile, Store, StoreError, key_file_path, open_connection};
use crate::domain::{AuditAction, Permission};
use std::path::{Path, PathBuf};

/// Where the copy of the recovery slot lives.
pub fn recovery_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".recovery");
    PathBuf::from(name)
}

/// What a change of the database key did.
pub struct Rotation {
    /// The key file had no recovery slot (format 1, whose recovery key was
    /// the old database key): a new recovery key, to show once.
    pub new_recovery_key: Option<RecoveryKey>,
    /// Users whose slot was of format 1 and could not be sealed to: they
    /// need a new password from an admin.
    pub passwords_dropped: usize,
}

/// Stops the process here when `TETHER_KILL_AT` names this step (debug
/// builds only: the tests kill a key change at every step).
fn kill_point(step: &str) {
    #[cfg(all(debug_assertions, unix))]
    if std::env::var("TETHER_KILL_AT").is_ok_and(|s| s == step) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
    #[cfg(not(all(debug_assertions, unix)))]
    let _ = step;
}

/// Whether `key` opens the database at `path`.
fn opens(path: &Path, key: &DbKey) -> bool {
    open_connection(path, key, false).is_ok()
}

/// Writes the copy of the recovery slot beside `db`, when `keyfile` has one.
pub(crate) fn save_recovery_copy(keyfile: &KeyFile, db: &Path) -> Result<(), StoreError> {
    match keyfile.recovery_copy() {
        Some(copy) => copy.save_to(&recovery_file_path(db)),
        None => Ok(()),
    }
}

/// Finishes a key change a crash interrupted, once a user's password has
/// shown which key file opens the database: the next file is renamed into
/// place if only its key opens the database, and removed if the current
/// one still does. Does nothing when there is no next file.
pub(crate) fn finish_interrupted_rotation(
    db: &Path,
    username: &str,
    password: &str,
) -> Result<(), StoreError> {
    let next = next_key_file_path(db);
    if !next.exists() {
        return Ok(());
    }
    if let Ok(key) = KeyFile::load(db).and_then(|k| k.unlock(username, password))
        && opens(db, &key)
    {
        std::fs::remove_file(&next)?;
        return Ok(());
    }
    let Ok(next_file) = KeyFile::load_from(&next) else {
        return Ok(());
    };
    if let Ok(key) = next_file.unlock(username, password)
        && opens(db, &key)
    {
        std::fs::rename(&next, key_file_path(db))?;
        crate::files::sync_dir(&key_file_path(db))?;
        save_recovery_copy(&next_file, db)?;
    }
    Ok(())
}

/// Key files that may hold a recovery slot for `db`, most likely first:
/// its own, the next one of an interrupted change, the copy of the
/// recovery slot, a copy the user names, and those of its automatic
/// backups in the default folder, newest first.
fn candidate_key_files(db: &Path, named: Option<&Path>) -> Vec<PathBuf> {
    let mut found = vec![
        key_file_path(db),
        next_key_file_path(db),
        recovery_file_path(db),
    ];
    found.extend(named.map(Path::to_owned));
    if let Ok(backups) = super::backup::backups_in(&super::backup::default_backup_dir(db)) {
        found.extend(backups.into_iter().map(|b| key_file_path(&b.path)));
    }
    found
}

/// The database key that `recovery` opens `db` with, and the key file it
/// came from (None for a format 1 recovery key, which is the key itself).
pub(crate) fn key_from_recovery(
    db: &Path,
    recovery: &RecoveryKey,
    named: Option<&Path>,
) -> Result<(DbKey, Option<PathBuf>), StoreError> {
    // This database's own files name its current recovery key: its key
    // file, the next one of an interrupted change, the copy of its
    // recovery slot. When any of them names one, a replaced recovery key
    // is refused before any other file is tried (old copies of the key
    // file, in backups, still hold its slot).
    let named_here: Vec<bool> = [
        key_file_path(db),
        next_key_file_path(db),
        recovery_file_path(db),
    ]
    .iter()
    .filter_map(|p| KeyFile::load_from(p).ok()?.recovery_is(recovery))
    .collect();
    if !named_here.is_empty() && !named_here.contains(&true) {
        return Err(StoreError::BadRecoveryKey);
    }
    // A slot found anywhere counts only if the key it holds opens this
    // very file: an old copy's key (from before a change of key) does not.
    for path in candidate_key_files(db, named) {
        let Ok(file) = KeyFile::load_from(&path) else {
            continue;
        };
        if let Ok(Some(key)) = file.unlock_recovery(recovery)
            && opens(db, &key)
        {
            return Ok((key, Some(path)));
        }
    }
    let legacy = recovery.as_legacy_db_key();
    if opens(db, &legacy) {
        return Ok((legacy, None));
    }
    Err(StoreError::BadRecoveryKey)
}

impl Store {
    /// Opens with the recovery key, acting as `username` (who must exist
    /// and be active). Finds the recovery slot in the key file, its copy
    /// beside the database, or a backup's key file.
    pub fn open_with_recovery_key(
        path: &Path,
        recovery_key: &str,
        username: &str,
    ) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        let recovery = RecoveryKey::parse(recovery_key)?;
        let (key, _) = key_from_recovery(path, &recovery, None)?;
        Self::open_with_key(path, key, username, Access::Normal)
    }

    /// Changes the database key (admins): every page is re-encrypted and
    /// every slot gets the new key, in the crash-safe steps described in
    /// this module. Backups made before keep the old key, and open with
    /// the passwords and recovery key that were valid when they were made.
    pub fn rotate_key(&mut self) -> Result<Rotation, StoreError> {
        self.require(Permission::ManageUsers)?;
        self.rotate_key_unchecked("on request")
    }

    /// [`Store::rotate_key`] without the role check: deactivation (already
    /// checked) calls it.
    pub(crate) fn rotate_key_unchecked(&mut self, why: &str) -> Result<Rotation, StoreError> {
        self.rotate_key_with(why, None)
    }

    /// A change of key that also gives the recovery slot to `recovery`
    /// when it is given (or to a new recovery key when the file has no
    /// recovery slot), in the same crash-safe steps: the new recovery key
    /// is written with the new database key, in the same file.
    fn rotate_key_with(
        &mut self,
        why: &str,
        recovery: Option<RecoveryKey>,
    ) -> Result<Rotation, StoreError> {
        let path = self.path().to_owned();
        let next_path = next_key_file_path(&path);
        let new_key = DbKey::random();
        // The next key file is made and written under the write lock, so
        // no slot added meanwhile is lost.
        let (next, passwords_dropped, new_recovery_key) = self.write(|_, _| {
            let current = KeyFile::load(&path)?;
            let (mut next, dropped) = current.sealed_again(&new_key)?;
            let new_recovery = match recovery {
                Some(recovery) => {
                    next.set_recovery(&recovery, &new_key)?;
                    Some(recovery)
                }
                None if next.has_recovery_slot() => None,
                None => {
                    let recovery = RecoveryKey::random();
                    next.set_recovery(&recovery, &new_key)?;
                    Some(recovery)
                }
            };
            next.save_to(&next_path)?;
            Ok((next, dropped, new_recovery))
        })?;
        kill_point("next-written");
        let pragma = new_key.pragma("rekey");
        let rekeyed = self
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .and_then(|()| self.conn().execute_batch(&pragma));
        if let Err(e) = rekeyed {
            let _ = std::fs::remove_file(&next_path);
            return Err(e.into());
        }
        kill_point("rekeyed");
        self.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        kill_point("checkpointed");
        std::fs::rename(&next_path, key_file_path(&path))?;
        crate::files::sync_dir(&key_file_path(&path))?;
        kill_point("renamed");
        save_recovery_copy(&next, &path)?;
        self.key = new_key;
        let detail = format!(
            "database key changed ({why}){}{}",
            if passwords_dropped > 0 {
                format!("; {passwords_dropped} old-format password(s) removed")
            } else {
                String::new()
            },
            if new_recovery_key.is_some() {
                "; new recovery key made"
            } else {
                ""
            }
        );
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('key_changed_at', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [ctx.now.to_string()],
            )?;
            ctx.audit(tx, AuditAction::Update, Some("key"), None, &detail)
        })?;
        Ok(Rotation {
            new_recovery_key,
            passwords_dropped,
        })
    }

    /// When the database key last changed (unix ms), if ever: backups made
    /// before hold the old key.
    pub fn key_changed_at(&self) -> Result<Option<i64>, StoreError> {
        use rusqlite::OptionalExtension;
        let v: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'key_changed_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Replaces the recovery key (admins), returning the new one to show
    /// once. The database key changes with it (every page re-encrypted,
    /// every slot sealed again, as [`Store::rotate_key`]), so the old
    /// recovery key opens nothing current: not this database's key file,
    /// and not the copies of it in backups, whose key is the old one (they
    /// still open the backups of their day).
    pub fn replace_recovery_key(&mut self) -> Result<RecoveryKey, StoreError> {
        self.rotate_recovery_key()?
            .new_recovery_key
            .ok_or_else(|| StoreError::KeyFile("no recovery key was made".into()))
    }

    /// [`Store::replace_recovery_key`], with what the change of key did
    /// (its `new_recovery_key` is the new recovery key).
    pub fn rotate_recovery_key(&mut self) -> Result<Rotation, StoreError> {
        self.require(Permission::ManageUsers)?;
        self.rotate_key_with("recovery key replaced", Some(RecoveryKey::random()))
    }
}
