use crate::domain::{Permission, Role, ValidationError};
use std::path::PathBuf;

/// Everything the store can refuse or fail with, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("there is no database at {}", .0.display())]
    NotFound(PathBuf),
    #[error("{} already exists; Tether will not overwrite it", .0.display())]
    AlreadyExists(PathBuf),
    #[error("this is not a Tether database: {0}")]
    NotTether(String),
    #[error("wrong username or password")]
    WrongPassword,
    #[error("this account is deactivated; ask an admin")]
    Inactive,
    #[error("the database file is damaged: {0}")]
    Damaged(String),
    #[error("this database was made by a newer version of Tether; update Tether to open it")]
    NewerSchema,
    #[error(
        "the backup {} is of another database, not this one; nothing was changed (an admin can put it in place of this one with --other-database)",
        .0.display()
    )]
    OtherDatabase(PathBuf),
    #[error(
        "the backup {} was not made from this database: it carries this database's id but not its secret signing key, so it may have been forged; nothing was changed",
        .0.display()
    )]
    UnprovenBackup(PathBuf),
    #[error("that is not a valid recovery key")]
    BadRecoveryKey,
    #[error("key file problem: {0}")]
    KeyFile(String),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("a user with the {role} role may not {}", .permission.describe())]
    Forbidden { role: Role, permission: Permission },
    #[error("no {kind} with id {id}")]
    NoSuchRecord { kind: &'static str, id: uuid::Uuid },
    #[error("no table named {0}")]
    NoSuchTable(String),
    #[error("the password is too weak: {0}")]
    WeakPassword(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database upgrade failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Sync(#[from] crate::sync::SyncError),
    #[error("{0}")]
    Output(#[from] crate::reports::output::OutputError),
}
