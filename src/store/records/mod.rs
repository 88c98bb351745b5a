//! Record kinds as table rows, and the generic create / update / delete / get
//! that every kind shares: validate, check against the database, write in
//! one transaction, audit.

mod kinds;

use crate::domain::*;
use crate::store::sql::{Columns, list, parse_list_col};
use crate::store::{Store, StoreError, WriteCtx, ms_to_time};
use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

/// The bookkeeping columns every record table starts with.
pub(crate) const META_COLUMNS: &str = "id, created_at, updated_at, updated_by, device_id, deleted";
const META_LEN: usize = 6;

type Values<'a> = Vec<Box<dyn ToSql + 'a>>;

fn b<'a, T: ToSql + 'a>(v: T) -> Box<dyn ToSql + 'a> {
    Box::new(v)
}

/// A domain record kind stored in one table.
pub trait Record: Validate + Clone + serde::Serialize + Sized {
    /// The table that holds it.
    const TABLE: &'static str;
    /// Its name in audit entries and messages.
    const KIND: &'static str;
    /// Its data columns, in the order of `values` and `from_row`.
    const COLUMNS: &'static [&'static str];
    /// What the acting user needs to create or change it.
    const WRITE: Permission = Permission::EditRecords;

    /// The data columns' values.
    fn values(&self) -> Values<'_>;
    /// Reads the data columns starting at column `i`.
    fn from_row(row: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self>;
    /// Checks that need the database (existence, uniqueness, overlaps).
    fn check(&self, _tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        Ok(())
    }
    /// What else changes, in the same transaction, when one is created.
    fn after_create(
        &self,
        _tx: &Transaction<'_>,
        _ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    /// What else changes, in the same transaction, when one is changed.
    fn after_update(
        &self,
        _tx: &Transaction<'_>,
        _ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

pub(crate) fn meta_from_row(row: &(impl Columns + ?Sized)) -> rusqlite::Result<Meta> {
    Ok(Meta {
        id: row.get(0)?,
        created_at: ms_to_time(row.get(1)?),
        updated_at: ms_to_time(row.get(2)?),
        updated_by: row.get(3)?,
        device_id: row.get(4)?,
        deleted: row.get(5)?,
    })
}

pub(crate) fn saved_from_row<R: Record>(row: &Row<'_>) -> rusqlite::Result<Saved<R>> {
    saved_from_columns(row)
}

/// [`saved_from_row`] from any source of columns.
pub(crate) fn saved_from_columns<R: Record>(
    row: &(impl Columns + ?Sized),
) -> rusqlite::Result<Saved<R>> {
    Ok(Saved {
        meta: meta_from_row(row)?,
        data: R::from_row(row, META_LEN)?,
    })
}

/// `SELECT <meta>, <columns> FROM <table>` for a record kind.
pub(crate) fn select_sql<R: Record>() -> String {
    format!(
        "SELECT {META_COLUMNS}, {} FROM {}",
        R::COLUMNS.join(", "),
        R::TABLE
    )
}

fn ensure_live(
    tx: &Transaction<'_>,
    table: &str,
    kind: &'static str,
    field: &'static str,
    id: Uuid,
) -> Result<(), StoreError> {
    let deleted: Option<bool> = tx
        .prepare_cached(&format!("SELECT deleted FROM {table} WHERE id = ?1"))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match deleted {
        Some(false) => Ok(()),
        Some(true) => Err(ValidationError::Inconsistent {
            field,
            reason: format!("that {kind} has been deleted"),
        }
        .into()),
        None => Err(ValidationError::Inconsistent {
            field,
            reason: format!("no such {kind}"),
        }
        .into()),
    }
}

fn changed_fields<T: serde::Serialize>(old: &T, new: &T) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return String::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn insert_in_tx<R: Record>(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    id: Uuid,
    data: &R,
) -> Result<(), StoreError> {
    let values = row_values(ctx, id, data);
    let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    tx.prepare_cached(&insert_sql::<R>(1, ""))?
        .execute(refs.as_slice())?;
    Ok(())
}

/// Inserts records in one statement, each unless a record with its id
/// exists (deleted or not). Returns the ids inserted. Validation and checks
/// are the caller's: `OR IGNORE` (rather than `ON CONFLICT(id) DO NOTHING`)
/// would also skip a row that broke a NOT NULL or CHECK constraint, and
/// lets SQLite do without a statement journal for the batch.
pub(crate) fn insert_new_in_tx<R: Record>(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    records: &[(Uuid, R)],
) -> Result<Vec<Uuid>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let values: Values<'_> = records
        .iter()
        .flat_map(|(id, data)| row_values(ctx, *id, data))
        .collect();
    let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let sql =
        insert_sql::<R>(records.len(), " RETURNING id").replacen("INSERT", "INSERT OR IGNORE", 1);
    let mut stmt = tx.prepare_cached(&sql)?;
    let ids = stmt.query_map(refs.as_slice(), |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// `INSERT` of `rows` rows of a record kind, with a tail (upsert, returning) or none.
fn insert_sql<R: Record>(rows: usize, tail: &str) -> String {
    let cols = R::COLUMNS.join(", ");
    let marks = vec!["?"; R::COLUMNS.len() + 5].join(", ");
    let tuples = vec![format!("({marks})"); rows].join(", ");
    format!(
        "INSERT INTO {}(id, created_at, updated_at, updated_by, device_id, {cols}) VALUES {tuples}{tail}",
        R::TABLE
    )
}

/// The values of one new row: its bookkeeping, then its data columns.
fn row_values<'a, R: Record>(ctx: &'a WriteCtx, id: Uuid, data: &'a R) -> Values<'a> {
    let mut values: Values<'a> = vec![
        b(id),
        b(ctx.now),
        b(ctx.now),
        b(ctx.user_id),
        b(ctx.device_id.as_str()),
    ];
    values.extend(data.values());
    values
}

/// Validates, checks, inserts and audits one new record inside a transaction.
pub(crate) fn create_in_tx<R: Record>(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    data: &R,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    data.validate(ctx.today)?;
    data.check(tx, None)?;
    insert_in_tx(tx, ctx, id, data)?;
    ctx.audit(tx, AuditAction::Create, Some(R::KIND), Some(id), "")?;
    data.after_create(tx, ctx, id)?;
    Ok(id)
}

/// Validates, checks, replaces and audits one record inside a transaction.
pub(crate) fn update_in_tx<R: Record>(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    id: Uuid,
    old: &R,
    data: &R,
) -> Result<(), StoreError> {
    data.validate(ctx.today)?;
    data.check(tx, Some(id))?;
    let sets = R::COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE {} SET vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4, {sets} WHERE id = ?1 AND deleted = 0",
        R::TABLE
    );
    let mut values: Values<'_> = vec![b(id), b(ctx.now), b(ctx.user_id), b(ctx.device_id.as_str())];
    values.extend(data.values());
    let refs: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let n = tx.prepare_cached(&sql)?.execute(refs.as_slice())?;
    if n != 1 {
        return Err(StoreError::NoSuchRecord { kind: R::KIND, id });
    }
    ctx.audit(
        tx,
        AuditAction::Update,
        Some(R::KIND),
        Some(id),
        &changed_fields(old, data),
    )?;
    data.after_update(tx, ctx, id)
}

impl Store {
    /// Creates a record: validates, checks, writes and audits in one transaction.
    pub fn create<R: Record>(&mut self, data: R) -> Result<Saved<R>, StoreError> {
        self.require(R::WRITE)?;
        let id = self.write(|tx, ctx| create_in_tx(tx, ctx, &data))?;
        self.get(id)
    }

    /// Replaces a record's data; the audit entry names the fields that changed.
    pub fn update<R: Record>(&mut self, id: Uuid, data: R) -> Result<Saved<R>, StoreError> {
        self.require(R::WRITE)?;
        // Contacts, arrests and service events only change when they were
        // wrong: every change of them is a correction, under its rule.
        // (Clients, stays, enrollments and follow-ups also change as work
        // goes on: a stay ends, a follow-up is closed.)
        if matches!(R::TABLE, "contacts" | "arrests" | "service_events") {
            self.require_correction::<R>(id)?;
        }
        let old: Saved<R> = self.get(id)?;
        self.write(|tx, ctx| update_in_tx(tx, ctx, id, &old.data, &data))?;
        self.get(id)
    }

    /// Tombstones a record (and, for a client, every record about them).
    pub fn delete<R: Record>(&mut self, id: Uuid) -> Result<(), StoreError> {
        self.require(Permission::Delete)?;
        self.require(R::WRITE)?;
        self.write(|tx, ctx| {
            let n = tx.execute(
                &format!("UPDATE {} SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1 AND deleted = 0", R::TABLE),
                params![id, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            if n != 1 {
                return Err(StoreError::NoSuchRecord { kind: R::KIND, id });
            }
            let mut detail = String::new();
            if R::TABLE == "clients" {
                let mut parts = Vec::new();
                for table in ["contacts", "arrests", "detentions", "enrollments", "service_events", "followups"] {
                    let n = tx.execute(
                        &format!("UPDATE {table} SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE client_id = ?1 AND deleted = 0"),
                        params![id, ctx.now, ctx.user_id, ctx.device_id],
                    )?;
                    if n > 0 {
                        parts.push(format!("{table}={n}"));
                    }
                }
                detail = parts.join(",");
            }
            ctx.audit(tx, AuditAction::Delete, Some(R::KIND), Some(id), &detail)?;
            Ok(())
        })
    }

    /// One record by id, deleted or not.
    pub fn get<R: Record>(&self, id: Uuid) -> Result<Saved<R>, StoreError> {
        let sql = format!("{} WHERE id = ?1", select_sql::<R>());
        self.conn()
            .prepare_cached(&sql)?
            .query_row([id], saved_from_row::<R>)
            .optional()?
            .ok_or(StoreError::NoSuchRecord { kind: R::KIND, id })
    }

    /// Live records of a kind that belong to a client, oldest first.
    pub fn list_for_client<R: Record>(&self, client_id: Uuid) -> Result<Vec<Saved<R>>, StoreError> {
        if !R::COLUMNS.contains(&"client_id") {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} WHERE client_id = ?1 AND deleted = 0 ORDER BY rowid",
            select_sql::<R>()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([client_id], saved_from_row::<R>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every live record of a kind (for small tables: locations, users).
    pub fn list_all<R: Record>(&self) -> Result<Vec<Saved<R>>, StoreError> {
        let sql = format!("{} WHERE deleted = 0 ORDER BY rowid", select_sql::<R>());
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([], saved_from_row::<R>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Client rows ever written here, deleted ones included.
    pub fn client_rows_ever(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM clients", [], |r| r.get(0))?)
    }

    /// The live client with this code (codes are case-insensitive).
    pub fn client_by_code(&self, code: &str) -> Result<Option<Saved<Client>>, StoreError> {
        let sql = format!("{} WHERE code = ?1 AND deleted = 0", select_sql::<Client>());
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([normalize_code(code)], saved_from_row::<Client>)
            .optional()?)
    }

    /// The id of the live client with this code, or an error naming `field`.
    pub fn client_id_for_code(&self, field: &'static str, code: &str) -> Result<Uuid, StoreError> {
        match self.client_by_code(code)? {
            Some(c) => Ok(c.id()),
            None => Err(ValidationError::UnknownClientCode {
                field,
                code: normalize_code(code),
            }
            .into()),
        }
    }

    /// The live location with this name (case-insensitive).
    pub fn location_by_name(&self, name: &str) -> Result<Option<Saved<Location>>, StoreError> {
        let sql = format!(
            "{} WHERE name = ?1 AND deleted = 0",
            select_sql::<Location>()
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([name.trim()], saved_from_row::<Location>)
            .optional()?)
    }

    /// The client's current open detention, if any (the "detained" state is derived from it).
    pub fn open_detention(&self, client_id: Uuid) -> Result<Option<Saved<Detention>>, StoreError> {
        let sql = format!(
            "{} WHERE client_id = ?1 AND deleted = 0 AND ended_on IS NULL ORDER BY started_on DESC LIMIT 1",
            select_sql::<Detention>()
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([client_id], saved_from_row::<Detention>)
            .optional()?)
    }
}
