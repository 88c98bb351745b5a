//! Sync in the store: write this database's changes as a bundle, merge a
//! bundle from another laptop in one transaction, keep the losing side of
//! every conflict for review, and merge clients registered twice.
//!
//! The decisions are the pure functions of [`crate::sync`]; this module
//! reads and writes rows for them.

use super::dump::LOCAL_COLUMNS;
use super::records::{Record, saved_from_columns, saved_from_row, select_sql};
use super::sql::{Columns, column_from};
use super::trust::{Trust, device_key_on};
use super::{Store, StoreError, clock_last, ms_to_time, now_ms, schema};
use crate::domain::*;
use crate::sync::bundle::{self, Bundle, Payload, SyncKey, TableRows, Value};
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
}

/// How far a sync has got: a stage in words, and rows done of rows.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

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
    /// What the record is, in words ("client PP-0001", "contact with PP-0001 on 2026-03-01").
    pub label: String,
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

/// Writes the bundle of every change after `since` (0: everything).
fn export_on(
    conn: &Connection,
    key: &SyncKey,
    device: &str,
    since: i64,
) -> Result<Exported, StoreError> {
    // One read transaction: the rows and `top` are one moment's.
    let tx = conn.unchecked_transaction()?;
    let top = clock_last(&tx)?;
    let mut tables = Vec::new();
    let mut records = 0;
    for table in schema::RECORD_TABLES {
        let columns = synced_columns(&tx, table)?;
        let sql = format!(
            "SELECT {} FROM {table} WHERE ?1 = 0 OR max(coalesce(sync_seq, 0), updated_at) > ?1 ORDER BY rowid",
            columns.join(", ")
        );
        let n = columns.len();
        let mut out = bundle::TableWriter::new(table, columns);
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query([since])?;
        while let Some(row) = rows.next()? {
            out.row();
            for i in 0..n {
                match row.get_ref(i)? {
                    ValueRef::Null => out.null(),
                    ValueRef::Integer(v) => out.int(v),
                    ValueRef::Real(v) => out.real(v),
                    ValueRef::Text(t) => out.text(&String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => out.blob(b),
                }
            }
        }
        if !out.is_empty() {
            records += out.rows();
            tables.push(out);
        }
    }
    let mut stmt = tx.prepare(
        "SELECT device_id, merged_up_to FROM sync_peers WHERE merged_up_to > 0 ORDER BY device_id",
    )?;
    let merged: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    tx.finish()?;
    let signer = device_key_on(conn)?;
    let bytes = bundle::seal_tables(
        key,
        &signer,
        schema::MIGRATIONS_COUNT,
        device,
        since,
        top,
        now_ms(),
        &merged,
        &tables,
    )?;
    Ok(Exported {
        bytes,
        records,
        since,
        top,
    })
}

/// A row of a bundle, with its bookkeeping read out.
struct Incoming<'a> {
    id: Uuid,
    version: Version,
    values: &'a [Value],
}

fn damaged(what: impl Into<String>) -> StoreError {
    StoreError::Sync(SyncError::Damaged(what.into()))
}

fn read_incoming<'a>(
    table: &str,
    values: &'a [Value],
    at: &Positions,
    n: usize,
) -> Result<Incoming<'a>, StoreError> {
    if values.len() != n {
        return Err(damaged(format!(
            "a row of {table} has the wrong number of values"
        )));
    }
    let id = match &values[at.id] {
        Value::Blob(b) => {
            Uuid::from_slice(b).map_err(|_| damaged(format!("a {table} id is not an id")))?
        }
        _ => return Err(damaged(format!("a {table} id is not an id"))),
    };
    let Value::Int(clock) = values[at.updated_at] else {
        return Err(damaged(format!("a {table} row has no change time")));
    };
    let Value::Text(device) = &values[at.device] else {
        return Err(damaged(format!("a {table} row has no device")));
    };
    let vv = match &values[at.vv] {
        Value::Text(t) => Some(t.as_str()),
        Value::Null => None,
        _ => return Err(damaged(format!("a {table} row has a bad version"))),
    };
    Ok(Incoming {
        id,
        version: Version::new(vv, device, clock),
        values,
    })
}

/// Where the bookkeeping columns are in a bundle's table.
struct Positions {
    id: usize,
    updated_at: usize,
    updated_by: usize,
    device: usize,
    deleted: usize,
    vv: usize,
}

fn positions(table: &TableRows, local: &[String]) -> Result<Positions, StoreError> {
    for (i, c) in table.columns.iter().enumerate() {
        if !local.contains(c) {
            return Err(damaged(format!(
                "{} has an unknown column {}",
                table.table,
                bundle::short(c)
            )));
        }
        if table.columns[..i].contains(c) {
            return Err(damaged(format!("{} has the column {c} twice", table.table)));
        }
    }
    let find = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| damaged(format!("{} has no {name} column", table.table)))
    };
    Ok(Positions {
        id: find("id")?,
        updated_at: find("updated_at")?,
        updated_by: find("updated_by")?,
        device: find("device_id")?,
        deleted: find("deleted")?,
        vv: find("vv")?,
    })
}

/// The bookkeeping columns every record kind starts with, in `from_row` order.
const META_NAMES: [&str; 6] = [
    "id",
    "created_at",
    "updated_at",
    "updated_by",
    "device_id",
    "deleted",
];

/// Checks a bundle's rows of one table as a form would check them, before
/// anything is written: every value is read into the record kind's domain
/// type (a value outside a closed list is refused) and validated.
struct RowCheck {
    table: &'static str,
    /// Where each of the kind's columns (bookkeeping first) is in a row.
    order: Vec<usize>,
    names: Vec<&'static str>,
    check: CheckFn,
}

type CheckFn = fn(&BundleRow<'_>, NaiveDate) -> rusqlite::Result<Result<(), ValidationError>>;

fn typed_check<R: Record>(
    row: &BundleRow<'_>,
    today: NaiveDate,
) -> rusqlite::Result<Result<(), ValidationError>> {
    let saved = saved_from_columns::<R>(row)?;
    Ok(saved.data.validate(today))
}

/// A bundle's row read as a record's columns (`order`: the bundle column
/// of each of the record's columns).
struct BundleRow<'a> {
    values: &'a [Value],
    order: &'a [usize],
}

impl Columns for BundleRow<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, idx: usize) -> rusqlite::Result<T> {
        let value = match &self.values[self.order[idx]] {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        };
        column_from(value, idx)
    }
}

impl RowCheck {
    fn new(table: &'static str, columns: &[String]) -> Result<RowCheck, StoreError> {
        fn make<R: Record>(
            table: &'static str,
            columns: &[String],
        ) -> Result<RowCheck, StoreError> {
            let names: Vec<&'static str> = META_NAMES
                .iter()
                .chain(R::COLUMNS.iter())
                .copied()
                .collect();
            let order = names
                .iter()
                .map(|n| {
                    columns
                        .iter()
                        .position(|c| c == n)
                        .ok_or_else(|| damaged(format!("{table} has no {n} column")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RowCheck {
                table,
                order,
                names,
                check: typed_check::<R>,
            })
        }
        match table {
            "users" => make::<User>(table, columns),
            "clients" => make::<Client>(table, columns),
            "contacts" => make::<Contact>(table, columns),
            "locations" => make::<Location>(table, columns),
            "arrests" => make::<Arrest>(table, columns),
            "detentions" => make::<Detention>(table, columns),
            "enrollments" => make::<Enrollment>(table, columns),
            "service_events" => make::<ServiceEvent>(table, columns),
            "followups" => make::<FollowUp>(table, columns),
            other => Err(StoreError::NoSuchTable(other.to_owned())),
        }
    }

    fn check(&self, values: &[Value], id: Uuid, today: NaiveDate) -> Result<(), StoreError> {
        let row = BundleRow {
            values,
            order: &self.order,
        };
        let result = (self.check)(&row, today);
        let error = match result {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(e) => {
                let at = match &e {
                    rusqlite::Error::FromSqlConversionFailure(i, ..)
                    | rusqlite::Error::InvalidColumnType(i, ..)
                    | rusqlite::Error::IntegralValueOutOfRange(i, ..) => Some(*i),
                    _ => None,
                };
                let Some(at) = at else {
                    return Err(e.into());
                };
                let shown = match &values[self.order[at]] {
                    Value::Null => "empty".to_owned(),
                    Value::Int(i) => i.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Text(t) => format!("\"{}\"", bundle::short(t)),
                    Value::Blob(_) => "binary data".to_owned(),
                };
                ValidationError::Inconsistent {
                    field: self.names[at],
                    reason: format!("{shown} is not a value this field takes"),
                }
            }
        };
        Err(SyncError::InvalidRecord {
            table: self.table.to_owned(),
            record: id.to_string(),
            error,
        }
        .into())
    }
}

/// Who sent a bundle and what this laptop lets it change.
struct Policy {
    /// The signing laptop's device id.
    signer: String,
    trust: Trust,
    /// The latest date a record may carry (today, plus the clock margin).
    today: NaiveDate,
}

/// What to do with a row that would change something here.
enum Verdict {
    Apply,
    /// Passed on by a field laptop: left for the laptop that made it.
    Ignore,
}

/// Authors' roles as this laptop knows them (`None`: no such user here).
#[derive(Default)]
struct Roles(HashMap<Uuid, Option<Role>>);

impl Roles {
    fn of(&mut self, tx: &Transaction<'_>, id: Uuid) -> Result<Option<Role>, StoreError> {
        if let Some(r) = self.0.get(&id) {
            return Ok(*r);
        }
        let role: Option<Role> = tx
            .prepare_cached("SELECT role FROM users WHERE id = ?1 AND deleted = 0")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        self.0.insert(id, role);
        Ok(role)
    }
}

fn refuse(table: &str, id: Uuid, reason: impl Into<String>) -> StoreError {
    SyncError::NotAllowed {
        table: table.to_owned(),
        record: id.to_string(),
        reason: reason.into(),
    }
    .into()
}

/// Whether this laptop takes a change, by who sent it and who made it.
#[allow(clippy::too_many_arguments)]
fn judge(
    tx: &Transaction<'_>,
    policy: &Policy,
    roles: &mut Roles,
    bundle_admins: &HashSet<Uuid>,
    table: &str,
    incoming: &Incoming<'_>,
    at: &Positions,
    local_deleted: Option<bool>,
) -> Result<Verdict, StoreError> {
    let id = incoming.id;
    let relayed = incoming.version.device != policy.signer;
    if relayed && policy.trust != Trust::Office {
        return Ok(Verdict::Ignore);
    }
    let author = match &incoming.values[at.updated_by] {
        Value::Null => None,
        Value::Blob(b) => Some(
            Uuid::from_slice(b).map_err(|_| refuse(table, id, "its author is not a user id"))?,
        ),
        _ => return Err(refuse(table, id, "its author is not a user id")),
    };
    let deleted = deleted_flag(&incoming.values[at.deleted]);
    if table == "users" {
        if policy.trust != Trust::Office {
            // A field laptop's own new accounts stay on it; changing an
            // account here is an office laptop's admin's work.
            return match local_deleted {
                None => Ok(Verdict::Ignore),
                Some(_) => Err(refuse(
                    table,
                    id,
                    "it changes a user account, which only a laptop enrolled as an office laptop may send",
                )),
            };
        }
        // The author's role as this laptop knows it; an author new here
        // must be an admin of the same bundle (not the row itself).
        let by_admin = match author {
            Some(a) => match roles.of(tx, a)? {
                Some(role) => role == Role::Admin,
                None => a != id && bundle_admins.contains(&a),
            },
            // The first admin of a laptop, made by `init`: new here.
            None => local_deleted.is_none() && bundle_admins.contains(&id),
        };
        return if by_admin {
            Ok(Verdict::Apply)
        } else {
            Err(refuse(
                table,
                id,
                "it changes a user account but was not made by an admin",
            ))
        };
    }
    let Some(author) = author else {
        return Err(refuse(table, id, "it does not say which user made it"));
    };
    let Some(role) = roles.of(tx, author)? else {
        return Err(refuse(
            table,
            id,
            "it was made by a user this laptop does not know (users are added by an admin on the office laptop)",
        ));
    };
    if role == Role::Admin && policy.trust != Trust::Office {
        // An admin's word comes only from an office laptop: a seized field
        // laptop must not borrow the office admin's id.
        return Err(refuse(
            table,
            id,
            "it is in an admin's name, which only a laptop enrolled as an office laptop may send",
        ));
    }
    let need = if table == "locations" {
        Permission::ManageRegistry
    } else {
        Permission::EditRecords
    };
    let tombstones = deleted && local_deleted != Some(true);
    for permission in [need, Permission::Delete] {
        if permission == Permission::Delete && !tombstones {
            continue;
        }
        if !role.can(permission) {
            return Err(refuse(
                table,
                id,
                format!(
                    "it was made by a user with the {role} role, who may not {}",
                    permission.describe()
                ),
            ));
        }
    }
    Ok(Verdict::Apply)
}

/// Rows to insert into one table, written [`Inserts::ROWS`] to a statement.
struct Inserts<'a> {
    table: &'a str,
    columns: &'a [String],
    rows: Vec<&'a [Value]>,
}

impl<'a> Inserts<'a> {
    /// Rows per statement (SQLite allows 32,766 parameters; a table has
    /// at most 64 columns here).
    const ROWS: usize = 128;

    fn new(table: &'a str, columns: &'a [String]) -> Inserts<'a> {
        Inserts {
            table,
            columns,
            rows: Vec::with_capacity(Self::ROWS),
        }
    }

    fn push(
        &mut self,
        tx: &Transaction<'_>,
        row: &'a [Value],
        stamp: i64,
    ) -> Result<(), StoreError> {
        self.rows.push(row);
        if self.rows.len() == Self::ROWS {
            self.flush(tx, stamp)?;
        }
        Ok(())
    }

    /// Writes the rows held. `OR FAIL`: a refused row fails the whole
    /// merge (one transaction), so SQLite need not be ready to undo one
    /// statement alone.
    fn flush(&mut self, tx: &Transaction<'_>, stamp: i64) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.columns.len();
        let row_marks = |r: usize| {
            let marks: Vec<String> = (0..n).map(|c| format!("?{}", 2 + r * n + c)).collect();
            format!("({}, ?1)", marks.join(", "))
        };
        let sql = format!(
            "INSERT OR FAIL INTO {}({}, sync_seq) VALUES {}",
            self.table,
            self.columns.join(", "),
            (0..self.rows.len())
                .map(row_marks)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(1 + n * self.rows.len());
        params.push(&stamp);
        for row in &self.rows {
            params.extend(row.iter().map(|v| v as &dyn ToSql));
        }
        // Full batches reuse one cached statement; the last, shorter one
        // of a table is prepared once.
        if self.rows.len() == Self::ROWS {
            tx.prepare_cached(&sql)?.execute(params.as_slice())?;
        } else {
            tx.prepare(&sql)?.execute(params.as_slice())?;
        }
        self.rows.clear();
        Ok(())
    }
}

/// A column of a table that refers to a record of another.
struct Reference {
    /// Where it is in the bundle's rows.
    at: usize,
    column: String,
    parent: String,
}

/// A table's references (its foreign keys, all to a record's `id`) and
/// where the bundle has them.
fn references_of(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
) -> Result<Vec<Reference>, StoreError> {
    let mut stmt =
        tx.prepare_cached("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?;
    let keys: Vec<(String, String)> = stmt
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(keys
        .into_iter()
        .filter_map(|(column, parent)| {
            let at = columns.iter().position(|c| *c == column)?;
            Some(Reference { at, column, parent })
        })
        .collect())
}

/// Checks that every reference a merge wrote leads to a record: one this
/// merge brought or left here (`held`), or one in the database. The merge
/// runs with the database's own foreign-key checks off: with them, SQLite
/// keeps a statement journal of every page each insert touches (a sixth
/// of a first full sync).
fn check_references(
    tx: &Transaction<'_>,
    written: &[(&str, Uuid, &[Value])],
    references: &HashMap<&str, Vec<Reference>>,
    held: &HashMap<&str, HashSet<Uuid>>,
) -> Result<(), StoreError> {
    for (table, id, values) in written {
        for r in references.get(table).map(Vec::as_slice).unwrap_or_default() {
            let found = match &values[r.at] {
                Value::Null => true,
                Value::Blob(b) => {
                    Uuid::from_slice(b).is_ok_and(|parent| {
                        held.get(r.parent.as_str())
                            .is_some_and(|h| h.contains(&parent))
                    }) || tx
                        .prepare_cached(&format!(
                            "SELECT EXISTS (SELECT 1 FROM {} WHERE id = ?1)",
                            r.parent
                        ))?
                        .query_row([b], |row| row.get(0))?
                }
                _ => false,
            };
            if !found {
                return Err(damaged(format!(
                    "its {table} record {id} refers through {} to a record that neither it nor this database holds",
                    r.column
                )));
            }
        }
    }
    Ok(())
}

/// Whether a `deleted` value marks a tombstone.
fn deleted_flag(v: &Value) -> bool {
    matches!(v, Value::Int(d) if *d != 0)
}

/// A row as JSON (column to value), the form a conflict keeps its loser in.
fn row_json(columns: &[String], values: &[Value]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = columns
        .iter()
        .zip(values)
        .map(|(c, v)| (c.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn current_row(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
    id: Uuid,
) -> Result<Option<Vec<Value>>, StoreError> {
    let sql = format!("SELECT {} FROM {table} WHERE id = ?1", columns.join(", "));
    Ok(tx
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            (0..columns.len())
                .map(|i| r.get_ref(i).map(to_value))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?)
}

/// Merges a bundle's tables inside the caller's transaction: every table
/// name is checked against the record tables before any SQL is built,
/// every row is validated like a form's save before anything is written,
/// and every change is judged by who sent it and who made it.
fn merge_in_tx(
    tx: &Transaction<'_>,
    payload: &Payload,
    policy: &Policy,
    found_at: i64,
    stamp: i64,
    progress: Progress<'_>,
) -> Result<Merged, StoreError> {
    let from_device = policy.signer.as_str();
    let mut merged = Merged {
        from_device: from_device.to_owned(),
        records: payload.records(),
        ..Merged::default()
    };
    for t in &payload.tables {
        if !schema::RECORD_TABLES.contains(&t.table.as_str()) {
            return Err(damaged(format!(
                "it has an unknown table {}",
                bundle::short(&t.table)
            )));
        }
    }
    let total = merged.records;
    let mut done = 0;
    let mut roles = Roles::default();
    // New contacts leave each client's latest-contact fact to be kept
    // once per client below (as bulk imports do), not once per row.
    let mut latest: HashMap<&[u8], &str> = HashMap::new();
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('bulk_write', '1')",
        [],
    )?;
    // What each written row refers to is checked once every table is in:
    // the records this merge leaves here, by table, and the rows written.
    let mut held: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    let mut written: Vec<(&str, Uuid, &[Value])> = Vec::new();
    let mut references: HashMap<&str, Vec<Reference>> = HashMap::new();
    progress("merging", 0, total);
    // Users first, so that the roles of the changes' authors are known.
    for &table in schema::RECORD_TABLES {
        let Some(t) = payload.tables.iter().find(|t| t.table == table) else {
            continue;
        };
        let local = synced_columns(tx, table)?;
        let at = positions(t, &local)?;
        let check = RowCheck::new(table, &t.columns)?;
        let bundle_admins: HashSet<Uuid> = if table == "users" {
            admins_in(t)
        } else {
            HashSet::new()
        };
        let cols = t.columns.join(", ");
        let marks = vec!["?"; t.columns.len() + 1].join(", ");
        let sets: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.as_str() != "id")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let upsert_sql = format!(
            "INSERT INTO {table}({cols}, sync_seq) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {}, sync_seq = excluded.sync_seq",
            sets.join(", ")
        );
        // Rows new here are inserted many to a statement: SQLite's work per
        // statement (a statement journal, the search index's flush) is
        // then paid once per batch instead of once per row.
        let mut inserts = Inserts::new(table, &t.columns);
        let mut seen: HashSet<Uuid> = HashSet::with_capacity(t.rows.len());
        references.insert(table, references_of(tx, table, &t.columns)?);
        let held_here = held.entry(table).or_default();
        // A table this laptop holds nothing of yet (a first sync): every
        // row is new, with no need to look for it.
        let held_none: bool = tx.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"),
            [],
            |r| r.get(0),
        )?;
        // Contacts: where the client and date columns are, for the
        // latest-contact facts kept once per client after the table.
        let contact_at = if table == "contacts" {
            let find = |name: &str| t.columns.iter().position(|c| c == name);
            find("client_id").zip(find("date"))
        } else {
            None
        };
        let version_sql =
            format!("SELECT updated_at, device_id, vv, deleted FROM {table} WHERE id = ?1");
        let vv_sql = format!("UPDATE {table} SET vv = ?2, sync_seq = ?3 WHERE id = ?1");
        for row in &t.rows {
            let incoming = read_incoming(table, row, &at, t.columns.len())?;
            if !seen.insert(incoming.id) {
                return Err(damaged(format!(
                    "it holds the {table} record {} twice",
                    incoming.id
                )));
            }
            check.check(row, incoming.id, policy.today)?;
            let local_row: Option<(Version, bool)> = if held_none {
                None
            } else {
                tx.prepare_cached(&version_sql)?
                    .query_row([incoming.id], |r| {
                        Ok((
                            Version::new(
                                r.get::<_, Option<String>>(2)?.as_deref(),
                                &r.get::<_, String>(1)?,
                                r.get(0)?,
                            ),
                            r.get::<_, bool>(3)?,
                        ))
                    })
                    .optional()?
            };
            let (local_version, local_deleted) = match local_row {
                Some((v, d)) => {
                    held_here.insert(incoming.id);
                    (Some(v), Some(d))
                }
                None => (None, None),
            };
            let upsert = |values: &[Value]| -> Result<(), StoreError> {
                let mut params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
                params.push(&stamp);
                tx.prepare_cached(&upsert_sql)?.execute(params.as_slice())?;
                Ok(())
            };
            let decision = decide(local_version.as_ref(), &incoming.version);
            if decision != Decision::Keep {
                let verdict = judge(
                    tx,
                    policy,
                    &mut roles,
                    &bundle_admins,
                    table,
                    &incoming,
                    &at,
                    local_deleted,
                )?;
                if matches!(verdict, Verdict::Ignore) {
                    merged.ignored += 1;
                    done += 1;
                    continue;
                }
            }
            match decision {
                Decision::Insert => {
                    // Nothing here has this id: a plain insert.
                    inserts.push(tx, incoming.values, stamp)?;
                    held_here.insert(incoming.id);
                    written.push((table, incoming.id, incoming.values));
                    merged.added += 1;
                    if let Some((client, date)) = contact_at
                        && let (Value::Blob(c), Value::Text(d), false) = (
                            &incoming.values[client],
                            &incoming.values[date],
                            deleted_flag(&incoming.values[at.deleted]),
                        )
                    {
                        let e = latest.entry(c.as_slice()).or_insert(d.as_str());
                        if d.as_str() > *e {
                            *e = d.as_str();
                        }
                    }
                }
                Decision::Replace => {
                    upsert(incoming.values)?;
                    written.push((table, incoming.id, incoming.values));
                    merged.updated += 1;
                }
                Decision::Keep => {}
                Decision::Conflict {
                    incoming_wins,
                    vector,
                } => {
                    let Some(local_version) = local_version else {
                        continue;
                    };
                    if incoming_wins {
                        let loser =
                            current_row(tx, table, &t.columns, incoming.id)?.unwrap_or_default();
                        let added = keep_loser(
                            tx,
                            table,
                            incoming.id,
                            found_at,
                            from_device,
                            &local_version,
                            &row_json(&t.columns, &loser),
                        )?;
                        let mut values = incoming.values.to_vec();
                        values[at.vv] = vector
                            .to_column(&incoming.version.device, incoming.version.clock)
                            .map_or(Value::Null, Value::Text);
                        upsert(&values)?;
                        written.push((table, incoming.id, incoming.values));
                        merged.updated += 1;
                        merged.conflicts += added;
                    } else {
                        let added = keep_loser(
                            tx,
                            table,
                            incoming.id,
                            found_at,
                            from_device,
                            &incoming.version,
                            &row_json(&t.columns, incoming.values),
                        )?;
                        let vv = vector.to_column(&local_version.device, local_version.clock);
                        tx.prepare_cached(&vv_sql)?
                            .execute(params![incoming.id, vv, stamp])?;
                        merged.conflicts += added;
                    }
                }
            }
            done += 1;
            if done % 1000 == 0 {
                progress("merging", done, total);
            }
        }
        inserts.flush(tx, stamp)?;
        if table == "users" {
            // Roles may have changed; and an office laptop's bundle may
            // not leave this laptop without an admin.
            roles = Roles::default();
            let admins: i64 = tx.query_row(
                "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND deleted = 0",
                [],
                |r| r.get(0),
            )?;
            if admins == 0 {
                return Err(SyncError::NoAdminLeft.into());
            }
        }
    }
    check_references(tx, &written, &references, &held)?;
    let mut update = tx.prepare_cached(
        "UPDATE client_activity SET last_contact = ?2 WHERE client_id = ?1 AND (last_contact IS NULL OR last_contact < ?2)",
    )?;
    for (client, date) in latest {
        update.execute(params![client, date])?;
    }
    tx.execute("DELETE FROM meta WHERE key = 'bulk_write'", [])?;
    progress("merging", total, total);
    Ok(merged)
}

/// The ids of the active admins a bundle's users table holds.
fn admins_in(t: &TableRows) -> HashSet<Uuid> {
    let col = |name: &str| t.columns.iter().position(|c| c == name);
    let (Some(id), Some(role), Some(active), Some(deleted)) =
        (col("id"), col("role"), col("active"), col("deleted"))
    else {
        return HashSet::new();
    };
    t.rows
        .iter()
        .filter(|r| {
            matches!(r.get(role), Some(Value::Text(x)) if x == "admin")
                && matches!(r.get(active), Some(Value::Int(1)))
                && matches!(r.get(deleted), Some(Value::Int(0)))
        })
        .filter_map(|r| match r.get(id) {
            Some(Value::Blob(b)) => Uuid::from_slice(b).ok(),
            _ => None,
        })
        .collect()
}

/// Keeps the losing version of a record for review (once). Returns 1 when new.
fn keep_loser(
    tx: &Transaction<'_>,
    table: &str,
    id: Uuid,
    found_at: i64,
    from_device: &str,
    loser: &Version,
    row: &str,
) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO sync_conflicts(record_table, record_id, found_at, from_device, loser_clock, loser_device, loser)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![table, id, found_at, from_device, loser.clock, loser.device, row])?)
}

/// Reads a bundle file, refusing one larger than any bundle can be before
/// reading it.
pub fn read_bundle_file(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
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

    /// A bundle of every change after `since` on this database's clock
    /// (0: everything it holds).
    pub fn sync_export(&self, key: &SyncKey, since: i64) -> Result<Exported, StoreError> {
        self.require(Permission::Sync)?;
        export_on(self.conn(), key, self.device_id(), since)
    }

    /// A bundle for one other device: the changes it has not said it merged.
    pub fn sync_export_for(&self, key: &SyncKey, device: &str) -> Result<Exported, StoreError> {
        let since = self.acked_by(device)?;
        self.sync_export(key, since)
    }

    /// The highest stamp of ours `device` has said it merged (0: none).
    fn acked_by(&self, device: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT acked_ours FROM sync_peers WHERE device_id = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// The highest stamp of `device`'s this database has merged (0: none).
    pub fn merged_from(&self, device: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT merged_up_to FROM sync_peers WHERE device_id = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Opens and merges a bundle, all or nothing.
    pub fn sync_import(
        &mut self,
        key: &SyncKey,
        bytes: &[u8],
        progress: Progress<'_>,
    ) -> Result<Merged, StoreError> {
        self.require(Permission::Sync)?;
        progress("opening", 0, 0);
        let bundle = bundle::open(key, schema::MIGRATIONS_COUNT, bytes)?;
        self.with_bulk_cache(|s| s.merge_bundle(&bundle, progress))
    }

    fn merge_bundle(
        &mut self,
        bundle: &Bundle,
        progress: Progress<'_>,
    ) -> Result<Merged, StoreError> {
        let from = bundle.header.device.clone();
        let own = from == self.device_id();
        let header = &bundle.header;
        let trust = self.sender_trust(header)?;
        // No stamp may run ahead of this laptop's clock by more than the
        // margin: one forged far-future row would otherwise win every
        // conflict and drag this laptop's clock with it for good.
        let margin_hours = self.sync_clock_margin_hours();
        let wall = now_ms();
        let newest = crate::sync::newest_clock(header, &bundle.payload);
        if newest > wall.saturating_add(margin_hours.saturating_mul(3_600_000)) {
            return Err(SyncError::ClockAhead {
                stamp: ms_to_time(newest).format("%Y-%m-%d %H:%M UTC").to_string(),
                now: ms_to_time(wall).format("%Y-%m-%d %H:%M UTC").to_string(),
                margin_hours,
            }
            .into());
        }
        let policy = Policy {
            signer: from.clone(),
            trust,
            today: crate::domain::add_days(super::today(), (margin_hours + 23) / 24),
        };
        // References are checked by the merge itself (`check_references`);
        // the database's own checks are off for its transaction (the
        // setting is this connection's and cannot change inside one) and
        // on again after it, whatever happened.
        self.conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let result = self.write(|tx, ctx| {
            let merged_up_to: i64 = tx
                .prepare_cached("SELECT merged_up_to FROM sync_peers WHERE device_id = ?1")?
                .query_row([&from], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if !own && header.since > merged_up_to {
                return Err(SyncError::Gap {
                    device: from.clone(),
                }
                .into());
            }
            // Every stamp of this merge is later than every clock it brings.
            let stamp = ctx.now.max(newest.saturating_add(1));
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('clock', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [stamp.to_string()],
            )?;
            let merged = merge_in_tx(tx, &bundle.payload, &policy, ctx.now, stamp, progress)?;
            if !own {
                tx.execute(
                    "INSERT INTO sync_peers(device_id, merged_up_to, last_merged_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(device_id) DO UPDATE SET merged_up_to = max(merged_up_to, excluded.merged_up_to),
                         last_merged_at = excluded.last_merged_at",
                    params![from, header.top, ctx.now],
                )?;
                if let Some((_, ours)) = bundle.payload.merged.iter().find(|(d, _)| d == &ctx.device_id) {
                    tx.execute(
                        "UPDATE sync_peers SET acked_ours = max(acked_ours, ?2) WHERE device_id = ?1",
                        params![from, ours],
                    )?;
                }
            }
            ctx.audit(
                tx,
                AuditAction::Sync,
                None,
                None,
                &format!(
                    "merged a bundle from device {from}: {} records, {} new, {} updated, {} conflicts, {} passed on and not taken",
                    merged.records, merged.added, merged.updated, merged.conflicts, merged.ignored
                ),
            )?;
            Ok(merged)
        });
        let restored = self.conn.execute_batch("PRAGMA foreign_keys = ON;");
        let merged = result?;
        restored?;
        // A first full sync fills the tables: keep the statistics true.
        self.optimize();
        Ok(merged)
    }

    /// "Sync now": merges every other device's bundle in `dir` that has
    /// something new, then writes this device's bundle there (under its
    /// device id) with what the others have not said they merged.
    pub fn sync_with_folder(
        &mut self,
        key: &SyncKey,
        dir: &Path,
        progress: Progress<'_>,
    ) -> Result<FolderSync, StoreError> {
        self.require(Permission::Sync)?;
        if !dir.is_dir() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the sync folder {} does not exist", dir.display()),
            )));
        }
        let mut summary = FolderSync::default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == BUNDLE_EXTENSION))
            .collect();
        files.sort();
        let mut peers = Vec::new();
        let count = files.len();
        for (i, file) in files.iter().enumerate() {
            let name = file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            progress(&format!("reading {name} ({} of {count})", i + 1), 0, 0);
            let bytes = match read_bundle_file(file) {
                Ok(b) => b,
                Err(e) => {
                    summary
                        .skipped
                        .push(format!("{name}: cannot be read ({e})"));
                    continue;
                }
            };
            let header = match bundle::peek(&bytes) {
                Ok(h) => h,
                Err(e) => {
                    summary.skipped.push(format!("{name}: {e}"));
                    continue;
                }
            };
            if header.device == self.device_id() {
                continue;
            }
            // Devices of this organisation share the folder: what each has
            // merged of ours decides what our bundle must hold. A bundle
            // that cannot be opened (another organisation's, damaged) does not.
            if header.top <= self.merged_from(&header.device)? {
                peers.push(header.device.clone());
                continue;
            }
            let mut inner = |stage: &str, done: usize, total: usize| {
                progress(
                    &format!("{stage} {name} ({} of {count})", i + 1),
                    done,
                    total,
                );
            };
            match self.sync_import(key, &bytes, &mut inner) {
                Ok(m) => {
                    peers.push(header.device.clone());
                    summary.merged.push(m);
                }
                Err(StoreError::Sync(e)) => {
                    if matches!(e, SyncError::Gap { .. }) {
                        peers.push(header.device.clone());
                    }
                    summary.skipped.push(format!("{name}: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        // What every device that shares the folder has said it merged.
        let mut since = i64::MAX;
        for p in &peers {
            since = since.min(self.acked_by(p)?);
        }
        if since == i64::MAX {
            since = 0;
        }
        progress("writing this laptop's bundle", 0, 0);
        let exported = self.sync_export(key, since)?;
        let target = dir.join(format!("{}.{BUNDLE_EXTENSION}", self.device_id()));
        crate::files::write_private(&target, &exported.bytes)?;
        summary.sent = exported.records;
        summary.bundle = target;
        Ok(summary)
    }

    /// Conflicts waiting for review (or all, with resolved ones), newest first.
    pub fn conflicts(&self, include_resolved: bool) -> Result<Vec<Conflict>, StoreError> {
        let sql = format!(
            "SELECT id, record_table, record_id, found_at, from_device, loser_clock, loser_device, loser, resolution
             FROM sync_conflicts {} ORDER BY found_at DESC, id DESC",
            if include_resolved { "" } else { "WHERE resolved_at IS NULL" }
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows: Vec<KeptLoser> = stmt
            .query_map([], |r| {
                Ok(KeptLoser {
                    id: r.get(0)?,
                    table: r.get(1)?,
                    record_id: r.get(2)?,
                    found_at: r.get(3)?,
                    from_device: r.get(4)?,
                    clock: r.get(5)?,
                    device: r.get(6)?,
                    loser: r.get(7)?,
                    resolution: r.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for KeptLoser {
            id,
            table,
            record_id,
            found_at,
            from_device,
            clock,
            device,
            loser,
            resolution,
        } in rows
        {
            let columns = synced_columns(self.conn(), &table)?;
            let current = current_row_on(self.conn(), &table, &columns, record_id)?;
            let other = loser_values(&loser, &columns)?;
            let get = |vals: &[Value], name: &str| {
                columns
                    .iter()
                    .position(|c| c == name)
                    .and_then(|i| vals.get(i).cloned())
                    .unwrap_or(Value::Null)
            };
            let mut fields = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                if BOOKKEEPING.contains(&c.as_str()) || current.get(i) == other.get(i) {
                    continue;
                }
                fields.push(FieldDiff {
                    field: c.clone(),
                    current: self.shown(c, current.get(i).unwrap_or(&Value::Null))?,
                    other: self.shown(c, other.get(i).unwrap_or(&Value::Null))?,
                });
            }
            let current_clock = match get(&current, "updated_at") {
                Value::Int(c) => c,
                _ => 0,
            };
            let current_device = match get(&current, "device_id") {
                Value::Text(d) => d,
                _ => String::new(),
            };
            out.push(Conflict {
                id,
                label: self.record_label(&table, record_id, &columns, &current)?,
                table,
                record_id,
                found_at: ms_to_time(found_at),
                from_device,
                other_changed_at: ms_to_time(clock),
                other_device: device,
                current_changed_at: ms_to_time(current_clock),
                current_device,
                fields,
                resolution,
            });
        }
        Ok(out)
    }

    /// A value as a coordinator reads it: references by their code or name.
    fn shown(&self, column: &str, v: &Value) -> Result<String, StoreError> {
        let conn = self.conn();
        Ok(match v {
            Value::Null => "—".into(),
            Value::Int(i) if column == "deleted" => if *i != 0 { "deleted" } else { "live" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(t) => t.clone(),
            Value::Blob(b) => {
                let Ok(id) = Uuid::from_slice(b) else {
                    return Ok(hex::encode(b));
                };
                let lookup = match column {
                    "client_id" => Some("SELECT code FROM clients WHERE id = ?1"),
                    "location_id" => Some("SELECT name FROM locations WHERE id = ?1"),
                    "worker_id" | "assigned_worker" => {
                        Some("SELECT username FROM users WHERE id = ?1")
                    }
                    _ => None,
                };
                match lookup {
                    Some(sql) => conn
                        .prepare_cached(sql)?
                        .query_row([id], |r| r.get::<_, String>(0))
                        .optional()?
                        .unwrap_or_else(|| id.to_string()),
                    None => id.to_string(),
                }
            }
        })
    }

    fn record_label(
        &self,
        table: &str,
        id: Uuid,
        columns: &[String],
        values: &[Value],
    ) -> Result<String, StoreError> {
        let get = |name: &str| {
            columns
                .iter()
                .position(|c| c == name)
                .and_then(|i| values.get(i))
        };
        let text = |name: &str| match get(name) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let client = match get("client_id") {
            Some(v) => self.shown("client_id", v)?,
            None => String::new(),
        };
        Ok(match table {
            "clients" => format!("client {}", text("code")),
            "users" => format!("user {}", text("username")),
            "locations" => format!("location {}", text("name")),
            "contacts" => format!("contact with {client} on {}", text("date")),
            "arrests" => format!("arrest of {client} on {}", text("date")),
            "detentions" => format!("detention of {client} from {}", text("started_on")),
            "enrollments" => format!("{} enrollment of {client}", text("service")),
            "service_events" => format!("{} of {client} on {}", text("kind"), text("date")),
            "followups" => format!("follow-up of {client} due {}", text("due")),
            _ => format!("{table} {id}"),
        })
    }

    /// Resolves a conflict. Keeping the other version, or some of its
    /// fields, writes a new version of the record here (validated like any
    /// edit), which then wins on every laptop when they next sync.
    pub fn resolve_conflict(&mut self, id: i64, resolution: &Resolution) -> Result<(), StoreError> {
        self.require(Permission::ResolveConflicts)?;
        self.write(|tx, ctx| {
            let found: Option<(String, Uuid, i64, String, String)> = tx
                .query_row(
                    "SELECT record_table, record_id, loser_clock, loser_device, loser FROM sync_conflicts
                     WHERE id = ?1 AND resolved_at IS NULL",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((table, record_id, loser_clock, loser_device, loser)) = found else {
                return Err(StoreError::NoSuchRecord {
                    kind: "open conflict",
                    id: Uuid::nil(),
                });
            };
            let columns = synced_columns(tx, &table)?;
            let other = loser_values(&loser, &columns)?;
            let current = current_row(tx, &table, &columns, record_id)?.ok_or(StoreError::NoSuchRecord {
                kind: "record",
                id: record_id,
            })?;
            let take: Vec<String> = match resolution {
                Resolution::KeepCurrent => Vec::new(),
                Resolution::KeepOther => columns
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| !BOOKKEEPING.contains(&c.as_str()) && current.get(*i) != other.get(*i))
                    .map(|(_, c)| c.clone())
                    .collect(),
                Resolution::TakeFields(f) => {
                    for name in f {
                        if BOOKKEEPING.contains(&name.as_str()) || !columns.contains(name) {
                            return Err(ValidationError::Inconsistent {
                                field: "field",
                                reason: format!("{name} is not a field of this record"),
                            }
                            .into());
                        }
                    }
                    f.clone()
                }
            };
            let words = match resolution {
                Resolution::KeepCurrent => "kept this laptop's version".to_owned(),
                Resolution::KeepOther => "kept the other version".to_owned(),
                Resolution::TakeFields(f) => format!("edited: took {} from the other version", f.join(", ")),
            };
            if !take.is_empty() {
                let pos = |name: &str| columns.iter().position(|c| c == name).unwrap_or(0);
                let cur_version = Version::new(
                    match &current[pos("vv")] {
                        Value::Text(t) => Some(t.as_str()),
                        _ => None,
                    },
                    match &current[pos("device_id")] {
                        Value::Text(t) => t,
                        _ => "",
                    },
                    match current[pos("updated_at")] {
                        Value::Int(c) => c,
                        _ => 0,
                    },
                );
                let loser_vv = match &other[pos("vv")] {
                    Value::Text(t) => Some(t.as_str()),
                    _ => None,
                };
                let vv = cur_version
                    .vector
                    .merged(&VersionVector::of_row(loser_vv, &loser_device, loser_clock))
                    .with_change(&ctx.device_id, ctx.now)
                    .to_column(&ctx.device_id, ctx.now);
                let sets: Vec<String> = take
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ?{}", i + 6))
                    .collect();
                let sql = format!(
                    "UPDATE {table} SET vv = ?2, updated_at = ?3, updated_by = ?4, device_id = ?5, {} WHERE id = ?1",
                    sets.join(", ")
                );
                let mut values: Vec<Box<dyn ToSql>> = vec![
                    Box::new(record_id),
                    Box::new(vv),
                    Box::new(ctx.now),
                    Box::new(ctx.user_id),
                    Box::new(ctx.device_id.clone()),
                ];
                for c in &take {
                    values.push(Box::new(other[pos(c)].clone()));
                }
                let refs: Vec<&dyn ToSql> = values.iter().map(AsRef::as_ref).collect();
                tx.execute(&sql, refs.as_slice())?;
                validate_stored(tx, &table, record_id, ctx.today)?;
                ctx.audit(tx, AuditAction::Update, Some(kind_of(&table)), Some(record_id), &format!("sync conflict: {words}"))?;
            } else {
                ctx.audit(tx, AuditAction::Sync, Some(kind_of(&table)), Some(record_id), &format!("sync conflict: {words}"))?;
            }
            tx.execute(
                "UPDATE sync_conflicts SET resolved_at = ?2, resolved_by = ?3, resolution = ?4 WHERE id = ?1",
                params![id, ctx.now, ctx.user_id, words],
            )?;
            Ok(())
        })
    }

    /// Clients that share a code: each group is probably one person
    /// registered on two laptops.
    pub fn probable_duplicates(&self) -> Result<Vec<Vec<DuplicateClient>>, StoreError> {
        let conn = self.conn();
        let codes: Vec<String> = conn
            .prepare("SELECT code FROM clients WHERE deleted = 0 GROUP BY code HAVING count(*) > 1 ORDER BY code")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let counts = CLIENT_TABLES
            .iter()
            .map(|t| {
                format!("(SELECT count(*) FROM {t} x WHERE x.client_id = c.id AND x.deleted = 0)")
            })
            .collect::<Vec<_>>()
            .join(" + ");
        let sql = format!(
            "SELECT c.id, c.code, c.nickname, c.registered_on, c.device_id, {counts} FROM clients c
             WHERE c.code = ?1 AND c.deleted = 0 ORDER BY c.created_at, c.id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut groups = Vec::new();
        for code in codes {
            let group = stmt
                .query_map([&code], |r| {
                    Ok(DuplicateClient {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        nickname: r.get(2)?,
                        registered_on: r.get(3)?,
                        device_id: r.get(4)?,
                        records: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(group);
        }
        Ok(groups)
    }

    /// Merges the clients `absorb` into `keep`, all in one transaction:
    /// every record about them moves to `keep`, then they are deleted.
    /// Audited on both sides. Returns how many records moved.
    pub fn merge_clients(&mut self, keep: Uuid, absorb: &[Uuid]) -> Result<usize, StoreError> {
        self.require(Permission::ResolveConflicts)?;
        if absorb.contains(&keep) {
            return Err(ValidationError::Inconsistent {
                field: "client",
                reason: "a client cannot be merged into themselves".into(),
            }
            .into());
        }
        self.write(|tx, ctx| {
            let mut moved = 0;
            for &absorb in absorb {
                moved += merge_one(tx, ctx, keep, absorb)?;
            }
            Ok(moved)
        })
    }

    /// Open (unresolved) conflicts.
    pub fn open_conflict_count(&self) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL")?
            .query_row([], |r| r.get::<_, i64>(0))? as usize)
    }
}

/// Moves one client's records to another and deletes the first.
fn merge_one(
    tx: &Transaction<'_>,
    ctx: &super::WriteCtx,
    keep: Uuid,
    absorb: Uuid,
) -> Result<usize, StoreError> {
    {
        {
            let live = |id: Uuid| -> Result<Option<String>, StoreError> {
                Ok(tx
                    .query_row(
                        "SELECT code FROM clients WHERE id = ?1 AND deleted = 0",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?)
            };
            let (Some(keep_code), Some(absorb_code)) = (live(keep)?, live(absorb)?) else {
                return Err(ValidationError::Inconsistent {
                    field: "client",
                    reason: "both clients must exist and not be deleted".into(),
                }
                .into());
            };
            let mut moved = 0;
            let mut parts = Vec::new();
            for table in CLIENT_TABLES {
                let n = tx.execute(
                    &format!(
                        "UPDATE {table} SET client_id = ?2, vv = tether_vv(vv, device_id, updated_at, ?5, ?3),
                         updated_at = ?3, updated_by = ?4, device_id = ?5 WHERE client_id = ?1"
                    ),
                    params![absorb, keep, ctx.now, ctx.user_id, ctx.device_id],
                )?;
                if n > 0 {
                    parts.push(format!("{table}={n}"));
                }
                moved += n;
            }
            tx.execute(
                "UPDATE clients SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2),
                 updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1",
                params![absorb, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            let detail = format!(
                "merged client {absorb_code} ({absorb}) into {keep_code}: {}",
                if parts.is_empty() {
                    "no records".to_owned()
                } else {
                    parts.join(",")
                }
            );
            ctx.audit(tx, AuditAction::Update, Some("client"), Some(keep), &detail)?;
            ctx.audit(
                tx,
                AuditAction::Delete,
                Some("client"),
                Some(absorb),
                &detail,
            )?;
            Ok(moved)
        }
    }
}

fn current_row_on(
    conn: &Connection,
    table: &str,
    columns: &[String],
    id: Uuid,
) -> Result<Vec<Value>, StoreError> {
    let sql = format!("SELECT {} FROM {table} WHERE id = ?1", columns.join(", "));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            (0..columns.len())
                .map(|i| r.get_ref(i).map(to_value))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?
        .unwrap_or_else(|| vec![Value::Null; columns.len()]))
}

/// A kept loser's values in `columns` order (a column it lacks is NULL).
fn loser_values(json: &str, columns: &[String]) -> Result<Vec<Value>, StoreError> {
    let map: BTreeMap<String, Value> = serde_json::from_str(json)
        .map_err(|e| damaged(format!("a kept conflict cannot be read ({e})")))?;
    Ok(columns
        .iter()
        .map(|c| map.get(c).cloned().unwrap_or(Value::Null))
        .collect())
}

/// The record kind's name in audit entries.
fn kind_of(table: &str) -> &'static str {
    match table {
        "users" => User::KIND,
        "clients" => Client::KIND,
        "contacts" => Contact::KIND,
        "locations" => Location::KIND,
        "arrests" => Arrest::KIND,
        "detentions" => Detention::KIND,
        "enrollments" => Enrollment::KIND,
        "service_events" => ServiceEvent::KIND,
        "followups" => FollowUp::KIND,
        _ => "record",
    }
}

/// Checks a record as it now stands in the table like a form's save would
/// (a deleted one needs no checks).
fn validate_stored(
    tx: &Transaction<'_>,
    table: &str,
    id: Uuid,
    today: NaiveDate,
) -> Result<(), StoreError> {
    fn one<R: Record>(tx: &Transaction<'_>, id: Uuid, today: NaiveDate) -> Result<(), StoreError> {
        let sql = format!("{} WHERE id = ?1", select_sql::<R>());
        let saved: Saved<R> = tx.query_row(&sql, [id], saved_from_row::<R>)?;
        if saved.meta.deleted {
            return Ok(());
        }
        saved.data.validate(today)?;
        saved.data.check(tx, Some(id))
    }
    match table {
        "users" => one::<User>(tx, id, today),
        "clients" => one::<Client>(tx, id, today),
        "contacts" => one::<Contact>(tx, id, today),
        "locations" => one::<Location>(tx, id, today),
        "arrests" => one::<Arrest>(tx, id, today),
        "detentions" => one::<Detention>(tx, id, today),
        "enrollments" => one::<Enrollment>(tx, id, today),
        "service_events" => one::<ServiceEvent>(tx, id, today),
        "followups" => one::<FollowUp>(tx, id, today),
        other => Err(StoreError::NoSuchTable(other.to_owned())),
    }
}
