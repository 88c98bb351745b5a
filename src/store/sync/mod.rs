//! Sync in the store: write this database's changes as a bundle, merge a
//! bundle from another laptop in one transaction, keep the losing side of
//! every conflict for review, and merge clients registered twice.
//!
//! The decisions are the pure functions of [`crate::sync`]; this module
//! reads and writes rows for them.

mod check;
mod conflicts;
mod duplicates;
mod export;
mod folder;
mod merge;
mod scope;

use check::*;
use merge::*;
pub use scope::{Purged, Scope};

use super::dump::LOCAL_COLUMNS;
use super::records::{Record, saved_from_columns, saved_from_row, select_sql};
use super::sql::{Columns, column_from};
use super::trust::{SyncDevice, Trust, device_key_on};
use super::{Store, StoreError, clock_last, ms_to_time, schema};
use crate::domain::*;
use crate::sync::bundle::{self, Bundle, Payload, SyncKey, TableRows, Value};
use crate::sync::policy::{self, Change, ClientFacts, Entered, RecordKind, Sender, Verdict};
use crate::sync::{Decision, SyncError, Version, VersionVector, decide};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The file name ending of bundles in a sync folder.
pub const BUNDLE_EXTENSION: &str = "tether-sync";

/// Bookkeeping columns: not the record's content.
const BOOKKEEPING: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "updated_by",
    "device_id",
    "vv",
];

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// A table's synced columns, in table order (the local ones left out).
fn synced_columns(conn: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    let mut out = Vec::new();
    for name in names {
        let name = name?;
        if !LOCAL_COLUMNS.contains(&name.as_str()) {
            out.push(name);
        }
    }
    Ok(out)
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub bytes: Vec<u8>,
    pub records: usize,
    pub since: i64,
    pub top: i64,
}

/// What merging one bundle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    pub from_device: String,
    /// Records in the bundle.
    pub records: usize,
    /// New here.
    pub added: usize,
    /// Taken over a version here.
    pub updated: usize,
    /// Changed on both sides (new conflicts to review).
    pub conflicts: usize,
    /// Changes a field laptop passed on from other laptops: not taken
    /// from it (the laptop that made them, or an office laptop, sends them).
    pub ignored: usize,
    /// Records changed both here and at the office laptop that sent the
    /// bundle: left as they are here until the office, which has both
    /// changes once this laptop's bundle reaches it, decides.
    pub deferred: usize,
    /// Clients this laptop no longer holds (out of the scope the office
    /// set for it), removed with every record of theirs.
    pub purged: Purged,
}

impl Merged {
    /// Records that changed here.
    pub fn changed(&self) -> usize {
        self.added + self.updated
    }
}

/// What a "Sync now" with a folder did.
#[derive(Debug, Clone, Default)]
pub struct FolderSync {
    /// Each bundle merged.
    pub merged: Vec<Merged>,
    /// Bundles left alone, and why (one line each).
    pub skipped: Vec<String>,
    /// Records in this laptop's bundle.
    pub sent: usize,
    /// Where it was written.
    pub bundle: PathBuf,
}

impl FolderSync {
    pub fn received(&self) -> usize {
        self.merged.iter().map(Merged::changed).sum()
    }
    pub fn conflicts(&self) -> usize {
        self.merged.iter().map(|m| m.conflicts).sum()
    }
    /// Clients removed from this laptop (out of its scope).
    pub fn purged(&self) -> usize {
        self.merged.iter().map(|m| m.purged.clients).sum()
    }
}

/// How far a sync has got: its step, and rows done of rows.
pub type Progress<'a> = &'a mut dyn FnMut(SyncStep, usize, usize);

/// The steps of a sync, put in words by whoever shows them. `file` of
/// `files`: which bundle of a folder's (1 of 1 for a single bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStep {
    Reading {
        file: usize,
        files: usize,
    },
    /// Checking and decrypting a bundle.
    Opening {
        file: usize,
        files: usize,
    },
    Merging {
        file: usize,
        files: usize,
    },
    /// Writing this laptop's own bundle to the folder.
    Writing,
}

impl SyncStep {
    /// The same step, as the `file`th bundle of `files`.
    pub fn of(self, file: usize, files: usize) -> SyncStep {
        match self {
            SyncStep::Reading { .. } => SyncStep::Reading { file, files },
            SyncStep::Opening { .. } => SyncStep::Opening { file, files },
            SyncStep::Merging { .. } => SyncStep::Merging { file, files },
            SyncStep::Writing => SyncStep::Writing,
        }
    }
}

/// In English (the command line).
impl std::fmt::Display for SyncStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncStep::Reading { file, files } => write!(f, "reading bundle {file} of {files}"),
            SyncStep::Opening { file, files } => write!(f, "opening bundle {file} of {files}"),
            SyncStep::Merging { file, files } => write!(f, "merging bundle {file} of {files}"),
            SyncStep::Writing => write!(f, "writing this laptop's bundle"),
        }
    }
}

/// One field of a conflict: this laptop's value and the other one.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub current: String,
    pub other: String,
}

/// A record changed on two laptops at once, as a coordinator reviews it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub id: i64,
    pub table: String,
    pub record_id: Uuid,
    /// What the record is (put in words by the screen that shows it).
    pub label: RecordLabel,
    pub found_at: DateTime<Utc>,
    pub from_device: String,
    /// When and where the version not kept was written.
    pub other_changed_at: DateTime<Utc>,
    pub other_device: String,
    pub current_changed_at: DateTime<Utc>,
    pub current_device: String,
    /// The content fields that differ.
    pub fields: Vec<FieldDiff>,
    pub resolution: Option<String>,
}

/// What a record is, as a coordinator recognises it: its kind with its
/// client's code and its date. A typed value, so that the window says it
/// in the user's language; `Display` gives the English (command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordLabel {
    Client {
        code: String,
    },
    User {
        username: String,
    },
    Location {
        name: String,
    },
    Contact {
        client: String,
        date: String,
    },
    Arrest {
        client: String,
        date: String,
    },
    Detention {
        client: String,
        from: String,
    },
    Enrollment {
        service: Option<Service>,
        client: String,
    },
    ServiceEvent {
        kind: Option<ServiceEventKind>,
        client: String,
        date: String,
    },
    FollowUp {
        client: String,
        due: String,
    },
    Other {
        table: String,
        id: Uuid,
    },
}

impl std::fmt::Display for RecordLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordLabel::Client { code } => write!(f, "client {code}"),
            RecordLabel::User { username } => write!(f, "user {username}"),
            RecordLabel::Location { name } => write!(f, "location {name}"),
            RecordLabel::Contact { client, date } => write!(f, "contact with {client} on {date}"),
            RecordLabel::Arrest { client, date } => write!(f, "arrest of {client} on {date}"),
            RecordLabel::Detention { client, from } => {
                write!(f, "detention of {client} from {from}")
            }
            RecordLabel::Enrollment { service, client } => write!(
                f,
                "{} enrollment of {client}",
                service.map_or("unknown", |s| s.as_str())
            ),
            RecordLabel::ServiceEvent { kind, client, date } => write!(
                f,
                "{} of {client} on {date}",
                kind.map_or("event", |k| k.as_str())
            ),
            RecordLabel::FollowUp { client, due } => write!(f, "follow-up of {client} due {due}"),
            RecordLabel::Other { table, id } => write!(f, "{table} {id}"),
        }
    }
}

/// How a coordinator resolves a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The version the database holds stays.
    KeepCurrent,
    /// The other version becomes the record again.
    KeepOther,
    /// An edit: these fields take the other version's values, the rest stay.
    TakeFields(Vec<String>),
}

/// One client of a group that share a code.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateClient {
    pub id: Uuid,
    pub code: String,
    pub nickname: Option<String>,
    pub registered_on: Option<NaiveDate>,
    pub device_id: String,
    /// Live records about them (contacts, arrests, stays, enrollments, events, follow-ups).
    pub records: i64,
}

/// A row of `sync_conflicts`.
struct KeptLoser {
    id: i64,
    table: String,
    record_id: Uuid,
    found_at: i64,
    from_device: String,
    clock: i64,
    device: String,
    loser: String,
    resolution: Option<String>,
}

/// Tables with a `client_id`: what a client merge moves.
const CLIENT_TABLES: &[&str] = &[
    "contacts",
    "arrests",
    "detentions",
    "enrollments",
    "service_events",
    "followups",
];

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn meta_set(tx: &Transaction<'_>, key: &str, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(v) => tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => tx.execute("DELETE FROM meta WHERE key = ?1", [key])?,
    };
    Ok(())
}

fn damaged(what: impl Into<String>) -> StoreError {
    StoreError::Sync(SyncError::Damaged(what.into()))
}

/// Reads a bundle file, refusing one larger than any bundle can be before
/// reading it, and anything but a regular file (a link, a FIFO, a folder:
/// anyone who can write to a shared folder can place one there).
pub fn read_bundle_file(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let file = crate::files::open_regular(path)?;
    let len = file.metadata()?.len();
    if len > bundle::MAX_BUNDLE_BYTES {
        return Err(SyncError::TooLarge {
            what: "the file's size in bytes",
            limit: bundle::MAX_BUNDLE_BYTES,
        }
        .into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(bundle::MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

impl Store {
    /// The organisation's sync passphrase, once an admin has set it here
    /// (kept in the encrypted database).
    pub fn sync_key(&self) -> Result<Option<SyncKey>, StoreError> {
        match meta_get(self.conn(), "sync.passphrase")? {
            Some(p) => Ok(Some(SyncKey::new(&p)?)),
            None => Ok(None),
        }
    }

    /// Whether a sync passphrase is set here.
    pub fn has_sync_key(&self) -> Result<bool, StoreError> {
        Ok(meta_get(self.conn(), "sync.passphrase")?.is_some())
    }

    /// Sets the organisation's sync passphrase (admins only).
    pub fn set_sync_passphrase(&mut self, passphrase: &str) -> Result<(), StoreError> {
        self.require(Permission::SyncSetup)?;
        SyncKey::new(passphrase)?;
        self.write(|tx, ctx| {
            meta_set(tx, "sync.passphrase", Some(passphrase.trim()))?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("setting"),
                None,
                "sync passphrase",
            )
        })
    }

    /// The sync folder chosen in settings.
    pub fn sync_folder(&self) -> Result<Option<PathBuf>, StoreError> {
        Ok(meta_get(self.conn(), "sync.folder")?.map(PathBuf::from))
    }

    pub fn set_sync_folder(&mut self, dir: Option<&Path>) -> Result<(), StoreError> {
        self.require(Permission::Sync)?;
        let text = dir.map(|d| d.display().to_string());
        self.write(|tx, ctx| {
            meta_set(tx, "sync.folder", text.as_deref())?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("setting"),
                None,
                "sync folder",
            )
        })
    }
}
