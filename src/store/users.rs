//! User accounts and their key slots. Only admins manage users; a user may
//! change their own password.

use super::records::{insert_in_tx, saved_from_row, select_sql};
use super::{KeyFile, Record, Store, StoreError};
use crate::domain::*;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

/// Minimum password length; the database key is only as safe as the weakest password.
pub const MIN_PASSWORD_CHARS: usize = 10;

pub(crate) fn check_password_strength(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::WeakPassword(format!(
            "use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

impl Store {
    /// Adds a user who can log in with `password`.
    pub fn add_user(&mut self, user: User, password: &str) -> Result<Saved<User>, StoreError> {
        self.require(Permission::ManageUsers)?;
        check_password_strength(password)?;
        let id = Uuid::now_v7();
        let path = self.path().to_owned();
        let key = self.key().clone();
        self.write(|tx, ctx| {
            // Read under the database's write lock, so a window and a
            // command line at once cannot lose or bring back a slot.
            let mut keyfile = KeyFile::load(&path)?;
            user.validate(ctx.today)?;
            user.check(tx, None)?;
            insert_in_tx(tx, ctx, id, &user)?;
            tx.execute(
                "UPDATE users SET password_set_at = ?2 WHERE id = ?1",
                params![id, ctx.now],
            )?;
            ctx.audit(tx, AuditAction::Create, Some("user"), Some(id), "")?;
            // The slot file is written last, inside the transaction: if it
            // cannot be written, the user is not created.
            if user.active {
                keyfile.set_slot(&user.username, password, &key)?;
                keyfile.save(&path)?;
            }
            Ok(())
        })?;
        self.get(id)
    }

    /// Sets a user's password (admins for anyone; anyone for themselves).
    pub fn set_password(&mut self, user_id: Uuid, password: &str) -> Result<(), StoreError> {
        if user_id != self.user().id {
            self.require(Permission::ManageUsers)?;
        }
        check_password_strength(password)?;
        let user: Saved<User> = self.get(user_id)?;
        if user.meta.deleted || !user.active {
            return Err(StoreError::Inactive);
        }
        let path = self.path().to_owned();
        let key = self.key().clone();
        self.write(|tx, ctx| {
            let mut keyfile = KeyFile::load(&path)?;
            tx.execute(
                "UPDATE users SET password_set_at = ?2, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1",
                params![user_id, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            ctx.audit(tx, AuditAction::Update, Some("user"), Some(user_id), "password")?;
            keyfile.set_slot(&user.username, password, &key)?;
            keyfile.save(&path)?;
            Ok(())
        })
    }

    /// Changes role, display name, language or active flag. Deactivating removes
    /// the user's key slot, so their password no longer opens the database.
    pub fn update_user(&mut self, user_id: Uuid, user: User) -> Result<Saved<User>, StoreError> {
        let own_language_only = {
            let current: Saved<User> = self.get(user_id)?;
            user_id == self.user().id
                && User {
                    language: current.language.clone(),
                    ..user.clone()
                } == current.data
        };
        if !own_language_only {
            self.require(Permission::ManageUsers)?;
        }
        if user_id == self.user().id
            && (!user.active || user.role != self.user().role)
            && !own_language_only
        {
            return Err(ValidationError::Inconsistent {
                field: "role",
                reason: "you cannot deactivate yourself or change your own role".into(),
            }
            .into());
        }
        let old: Saved<User> = self.get(user_id)?;
        if old.username != user.username {
            return Err(ValidationError::Inconsistent {
                field: "username",
                reason: "a username cannot be changed; add a new user instead".into(),
            }
            .into());
        }
        let path = self.path().to_owned();
        let saved = self.write(|tx, ctx| {
            user.validate(ctx.today)?;
            tx.execute(
                "UPDATE users SET display_name = ?2, role = ?3, active = ?4, language = ?5, vv = tether_vv(vv, device_id, updated_at, ?8, ?6), updated_at = ?6, updated_by = ?7, device_id = ?8 WHERE id = ?1",
                params![user_id, user.display_name.trim(), user.role, user.active, user.language, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            let mut changed = Vec::new();
            if old.role != user.role { changed.push("role"); }
            if old.active != user.active { changed.push("active"); }
            if old.display_name != user.display_name { changed.push("display_name"); }
            if old.language != user.language { changed.push("language"); }
            ctx.audit(tx, AuditAction::Update, Some("user"), Some(user_id), &changed.join(","))?;
            if old.active && !user.active {
                let mut keyfile = KeyFile::load(&path)?;
                keyfile.remove_slot(&user.username);
                keyfile.save(&path)?;
            }
            Ok(())
        });
        saved?;
        if old.active && !user.active {
            // An old copy of the key file (a backup's) still holds their
            // slot: only a new database key makes it open nothing current.
            let rotation = self
                .rotate_key_unchecked(&format!("{} deactivated", user.username))
                .map_err(|e| {
                    StoreError::KeyFile(format!(
                        "{} is deactivated, but the database key could not be changed ({e}); change it with `tether rotate-key`",
                        user.username
                    ))
                })?;
            self.new_recovery_key = rotation.new_recovery_key;
        }
        if user_id == self.user().id {
            self.user.language = user.language.clone();
        }
        self.get(user_id)
    }

    /// Every user account, active or not, by username.
    pub fn users(&self) -> Result<Vec<Saved<User>>, StoreError> {
        let sql = format!(
            "{} WHERE deleted = 0 ORDER BY username",
            select_sql::<User>()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([], saved_from_row::<User>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A user by username.
    pub fn user_by_name(&self, username: &str) -> Result<Option<Saved<User>>, StoreError> {
        let sql = format!(
            // Two laptops may each have made a user of this name before
            // they synced: the one with a password here comes first.
            "{} WHERE username = ?1 AND deleted = 0 ORDER BY password_set_at IS NULL, active DESC, created_at, id LIMIT 1",
            select_sql::<User>()
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([username.trim()], saved_from_row::<User>)
            .optional()?)
    }

    /// Whether a user has a password set (a key slot) and so can log in.
    pub fn can_log_in(&self, username: &str) -> Result<bool, StoreError> {
        Ok(KeyFile::load(self.path())?.has_slot(username))
    }
}

/// What a recovery did, besides opening the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The name was new: an admin was created for it.
    pub created_admin: bool,
    /// The key file was missing or damaged and was made anew: every other
    /// user needs a new password from an admin before they can log in.
    pub key_file_rebuilt: bool,
}

impl Store {
    /// Opens the database with its recovery key when every password is
    /// lost or the key file is gone: sets `new_password` for `username`
    /// (an existing admin, or a new admin if the name is new), rebuilding a
    /// missing or damaged key file, and logs in as them. Audited.
    pub fn recover(
        path: &std::path::Path,
        recovery_key: &str,
        username: &str,
        new_password: &str,
    ) -> Result<(Store, Recovered), StoreError> {
        Self::recover_with(path, recovery_key, username, new_password, None)
    }

    /// [`Store::recover`], also trying the recovery slot of a key file the
    /// user names (a copy kept elsewhere, or a backup's).
    pub fn recover_with(
        path: &std::path::Path,
        recovery_key: &str,
        username: &str,
        new_password: &str,
        key_file_copy: Option<&std::path::Path>,
    ) -> Result<(Store, Recovered), StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        check_password_strength(new_password)?;
        let recovery = super::RecoveryKey::parse(recovery_key)?;
        let username = username.trim().to_owned();
        let admin = User {
            username: username.clone(),
            display_name: username.clone(),
            role: Role::Admin,
            active: true,
            language: "en".into(),
        };
        admin
            .validate(super::today())
            .map_err(StoreError::Invalid)?;
        // The key proves itself by opening the file.
        let (key, source) = super::rekey::key_from_recovery(path, &recovery, key_file_copy)?;
        let next = super::next_key_file_path(path);
        let (mut keyfile, key_file_rebuilt) = match source {
            Some(p) if p == super::key_file_path(path) => (KeyFile::load(path)?, false),
            // A key change was interrupted: the next file is the one.
            Some(p) if p == next => (KeyFile::load_from(&p)?, false),
            // Found in the copy of the recovery slot or a backup's key file:
            // a key file that is lost or cannot be read is made anew. One
            // that can be read is never replaced (that would drop every
            // other user's slot): it did not give the key, so it is not
            // this database's current one, and an admin moves it aside.
            Some(_) => match KeyFile::load(path) {
                Err(StoreError::Io(e)) => return Err(StoreError::Io(e)),
                Err(_) => {
                    let mut fresh = KeyFile::new();
                    fresh.set_recovery(&recovery, &key)?;
                    (fresh, true)
                }
                Ok(_) => {
                    return Err(StoreError::KeyFile(format!(
                        "{} does not open this database with the recovery key, so it is not its current key file; nothing was changed (if it is an old or foreign copy, move it aside and recover again: the key file is then made anew)",
                        super::key_file_path(path).display()
                    )));
                }
            },
            // Format 1: the recovery key is the database key.
            None => match KeyFile::load(path) {
                Ok(k) => (k, false),
                Err(StoreError::Io(e)) => return Err(StoreError::Io(e)),
                Err(_) => (KeyFile::new(), true),
            },
        };
        let conn = super::open_connection(path, &key, false)?;
        let existing: Option<(Uuid, Role, bool)> = conn
            .query_row(
                "SELECT id, role, active FROM users WHERE username = ?1 AND deleted = 0
                 ORDER BY role = 'admin' DESC, active DESC, created_at LIMIT 1",
                [&username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|_| StoreError::NotTether("it has no Tether tables".into()))?;
        let created_admin = match existing {
            Some((_, Role::Admin, true)) => false,
            Some((_, Role::Admin, false)) => return Err(StoreError::Inactive),
            Some(_) => {
                return Err(ValidationError::Inconsistent {
                    field: "username",
                    reason: format!(
                        "{username} is not an admin: recover as an admin (or a new name), then set their password in Users"
                    ),
                }
                .into());
            }
            None => true,
        };
        drop(conn);
        if created_admin {
            // A session needs a user: the new admin is written with the
            // database's own device id, audited as made by recovery.
            let mut conn = super::open_connection(path, &key, false)?;
            super::schema::MIGRATIONS.to_latest(&mut conn)?;
            let tx = conn.transaction()?;
            let now = super::clock_tick(&tx, super::now_ms())?;
            let device: String =
                tx.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
                    r.get(0)
                })?;
            let id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO users(id, created_at, updated_at, updated_by, device_id, username, display_name, role, active, language)
                 VALUES (?1, ?2, ?2, NULL, ?3, ?4, ?4, 'admin', 1, 'en')",
                params![id, now, device, username],
            )?;
            super::audit_raw(
                &tx,
                now,
                Some(id),
                &device,
                AuditAction::Create,
                Some("user"),
                Some(id),
                "admin created with the recovery key",
            )?;
            tx.commit()?;
        }
        let mut store = Store::open_with_key(path, key.clone(), &username, super::Access::Normal)?;
        let user_id = store.user().id;
        store.write(|tx, ctx| {
            tx.execute(
                "UPDATE users SET password_set_at = ?2 WHERE id = ?1",
                params![user_id, ctx.now],
            )?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("user"),
                Some(user_id),
                if key_file_rebuilt {
                    "password set with the recovery key; key file rebuilt"
                } else {
                    "password set with the recovery key"
                },
            )?;
            keyfile.set_slot(&username, new_password, &key)?;
            keyfile.save(path)?;
            super::rekey::save_recovery_copy(&keyfile, path)?;
            if next.exists() {
                std::fs::remove_file(&next)?;
            }
            Ok(())
        })?;
        Ok((
            store,
            Recovered {
                created_admin,
                key_file_rebuilt,
            },
        ))
    }
}
