//! Record kinds as table rows, and the generic create / update / delete / get
//! that every kind shares: validate, check against the database, write in
//! one transaction, audit.

use super::sql::{Columns, list, parse_list_col};
use super::{Store, StoreError, WriteCtx, ms_to_time};
use crate::domain::*;
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

impl Record for Client {
    const TABLE: &'static str = "clients";
    const KIND: &'static str = "client";
    const COLUMNS: &'static [&'static str] = &[
        "code",
        "nickname",
        "name",
        "sex",
        "gender",
        "birth_year",
        "phone",
        "province",
        "district",
        "commune",
        "key_populations",
        "substances",
        "hiv_status",
        "hiv_last_test",
        "consent_date",
        "consent_scope",
        "assigned_worker",
        "status",
        "registered_on",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(normalize_code(&self.code)),
            b(&self.nickname),
            b(&self.name),
            b(self.sex),
            b(&self.gender),
            b(self.birth_year),
            b(&self.phone),
            b(&self.province),
            b(&self.district),
            b(&self.commune),
            b(list(&self.key_populations, KeyPopulation::as_str)),
            b(list(&self.substances, Substance::as_str)),
            b(self.hiv_status),
            b(self.hiv_last_test),
            b(self.consent_date),
            b(&self.consent_scope),
            b(self.assigned_worker),
            b(self.status),
            b(self.registered_on),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Client {
            code: r.get(i)?,
            nickname: r.get(i + 1)?,
            name: r.get(i + 2)?,
            sex: r.get(i + 3)?,
            gender: r.get(i + 4)?,
            birth_year: r.get(i + 5)?,
            phone: r.get(i + 6)?,
            province: r.get(i + 7)?,
            district: r.get(i + 8)?,
            commune: r.get(i + 9)?,
            key_populations: parse_list_col(r, i + 10, KeyPopulation::parse)?,
            substances: parse_list_col(r, i + 11, Substance::parse)?,
            hiv_status: r.get(i + 12)?,
            hiv_last_test: r.get(i + 13)?,
            consent_date: r.get(i + 14)?,
            consent_scope: r.get(i + 15)?,
            assigned_worker: r.get(i + 16)?,
            status: r.get(i + 17)?,
            registered_on: r.get(i + 18)?,
            notes: r.get(i + 19)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let code = normalize_code(&self.code);
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM clients WHERE code = ?1 AND deleted = 0")?
            .query_row([&code], |r| r.get(0))
            .optional()?;
        if let Some(other) = other
            && Some(other) != id
        {
            return Err(ValidationError::DuplicateCode {
                field: "code",
                code,
            }
            .into());
        }
        if let Some(worker) = self.assigned_worker {
            ensure_live(tx, "users", "user", "assigned_worker", worker)?;
        }
        Ok(())
    }
}

impl Record for Contact {
    const TABLE: &'static str = "contacts";
    const KIND: &'static str = "contact";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "date",
        "worker_id",
        "kind",
        "place",
        "needles_syringes",
        "condoms",
        "naloxone",
        "hiv_test",
        "hiv_result",
        "referrals",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.date),
            b(self.worker_id),
            b(self.kind),
            b(&self.place),
            b(self.needles_syringes),
            b(self.condoms),
            b(self.naloxone),
            b(self.hiv_test),
            b(self.hiv_result),
            b(list(&self.referrals, Referral::as_str)),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Contact {
            client_id: r.get(i)?,
            date: r.get(i + 1)?,
            worker_id: r.get(i + 2)?,
            kind: r.get(i + 3)?,
            place: r.get(i + 4)?,
            needles_syringes: r.get(i + 5)?,
            condoms: r.get(i + 6)?,
            naloxone: r.get(i + 7)?,
            hiv_test: r.get(i + 8)?,
            hiv_result: r.get(i + 9)?,
            referrals: parse_list_col(r, i + 10, Referral::parse)?,
            notes: r.get(i + 11)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        if let Some(worker) = self.worker_id {
            ensure_live(tx, "users", "user", "worker", worker)?;
        }
        Ok(())
    }
    /// A client who was lost to follow-up and is met again is active again.
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        super::continuity::contact_closes_followups(tx, ctx, self)?;
        let n = tx
            .prepare_cached(
                "UPDATE clients SET status = 'active', vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4
                 WHERE id = ?1 AND status = 'lost_to_follow_up' AND deleted = 0",
            )?
            .execute(params![self.client_id, ctx.now, ctx.user_id, ctx.device_id])?;
        if n > 0 {
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("client"),
                Some(self.client_id),
                "status",
            )?;
        }
        Ok(())
    }
}

impl Record for Arrest {
    const TABLE: &'static str = "arrests";
    const KIND: &'static str = "arrest";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "date",
        "province",
        "district",
        "place",
        "authority",
        "reasons",
        "informer_suspected",
        "abuse",
        "legal_aid",
        "outcome",
        "raid_id",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.date),
            b(&self.province),
            b(&self.district),
            b(&self.place),
            b(self.authority),
            b(list(&self.reasons, ArrestReason::as_str)),
            b(self.informer_suspected),
            b(list(&self.abuse, Abuse::as_str)),
            b(self.legal_aid),
            b(self.outcome),
            b(self.raid_id),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Arrest {
            client_id: r.get(i)?,
            date: r.get(i + 1)?,
            province: r.get(i + 2)?,
            district: r.get(i + 3)?,
            place: r.get(i + 4)?,
            authority: r.get(i + 5)?,
            reasons: parse_list_col(r, i + 6, ArrestReason::parse)?,
            informer_suspected: r.get(i + 7)?,
            abuse: parse_list_col(r, i + 8, Abuse::parse)?,
            legal_aid: r.get(i + 9)?,
            outcome: r.get(i + 10)?,
            raid_id: r.get(i + 11)?,
            notes: r.get(i + 12)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)
    }
}

impl Record for Location {
    const TABLE: &'static str = "locations";
    const KIND: &'static str = "location";
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "kind",
        "province",
        "methadone",
        "art",
        "ngo_access",
        "contact",
        "last_verified",
        "notes",
    ];
    const WRITE: Permission = Permission::ManageRegistry;
    fn values(&self) -> Values<'_> {
        vec![
            b(self.name.trim()),
            b(self.kind),
            b(&self.province),
            b(self.methadone),
            b(self.art),
            b(self.ngo_access),
            b(&self.contact),
            b(self.last_verified),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Location {
            name: r.get(i)?,
            kind: r.get(i + 1)?,
            province: r.get(i + 2)?,
            methadone: r.get(i + 3)?,
            art: r.get(i + 4)?,
            ngo_access: r.get(i + 5)?,
            contact: r.get(i + 6)?,
            last_verified: r.get(i + 7)?,
            notes: r.get(i + 8)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM locations WHERE name = ?1 AND deleted = 0")?
            .query_row([self.name.trim()], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) if Some(other) != id => Err(ValidationError::Inconsistent {
                field: "name",
                reason: format!("another location is already named {}", self.name.trim()),
            }
            .into()),
            _ => Ok(()),
        }
    }
}

impl Record for Detention {
    const TABLE: &'static str = "detentions";
    const KIND: &'static str = "detention";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "location_id",
        "started_on",
        "ended_on",
        "basis",
        "arrest_id",
        "release_reason",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.location_id),
            b(self.start),
            b(self.end),
            b(self.basis),
            b(self.arrest_id),
            b(self.release_reason),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Detention {
            client_id: r.get(i)?,
            location_id: r.get(i + 1)?,
            start: r.get(i + 2)?,
            end: r.get(i + 3)?,
            basis: r.get(i + 4)?,
            arrest_id: r.get(i + 5)?,
            release_reason: r.get(i + 6)?,
            notes: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        ensure_live(tx, "locations", "location", "location", self.location_id)?;
        if let Some(arrest) = self.arrest_id {
            ensure_live(tx, "arrests", "arrest", "arrest", arrest)?;
        }
        let sql = format!(
            "{} WHERE client_id = ?1 AND deleted = 0 AND id IS NOT ?2",
            select_sql::<Detention>()
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let others = stmt
            .query_map(params![self.client_id, id], |r| {
                Detention::from_row(r, META_LEN)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        check_no_overlap(self, &others)?;
        Ok(())
    }
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        id: Uuid,
    ) -> Result<(), StoreError> {
        let t = super::continuity::thresholds_on(tx);
        super::continuity::detention_followups(tx, ctx, id, self, &t).map(|_| ())
    }
    /// A changed stay (ended, released) calls for the same rules as a new one.
    fn after_update(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        id: Uuid,
    ) -> Result<(), StoreError> {
        self.after_create(tx, ctx, id)
    }
}

impl Record for Enrollment {
    const TABLE: &'static str = "enrollments";
    const KIND: &'static str = "enrollment";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "service",
        "provider",
        "number",
        "started_on",
        "ended_on",
        "status",
        "dose_mg",
        "regimen",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.service),
            b(&self.provider),
            b(&self.number),
            b(self.start),
            b(self.end),
            b(self.status),
            b(self.dose_mg),
            b(&self.regimen),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Enrollment {
            client_id: r.get(i)?,
            service: r.get(i + 1)?,
            provider: r.get(i + 2)?,
            number: r.get(i + 3)?,
            start: r.get(i + 4)?,
            end: r.get(i + 5)?,
            status: r.get(i + 6)?,
            dose_mg: r.get(i + 7)?,
            regimen: r.get(i + 8)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)
    }
}

impl Record for ServiceEvent {
    const TABLE: &'static str = "service_events";
    const KIND: &'static str = "service_event";
    const COLUMNS: &'static [&'static str] = &[
        "enrollment_id",
        "client_id",
        "date",
        "kind",
        "days_supplied",
        "dose_mg",
        "cause",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.enrollment_id),
            b(self.client_id),
            b(self.date),
            b(self.kind),
            b(self.days_supplied),
            b(self.dose_mg),
            b(self.cause),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(ServiceEvent {
            enrollment_id: r.get(i)?,
            client_id: r.get(i + 1)?,
            date: r.get(i + 2)?,
            kind: r.get(i + 3)?,
            days_supplied: r.get(i + 4)?,
            dose_mg: r.get(i + 5)?,
            cause: r.get(i + 6)?,
            notes: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(
            tx,
            "enrollments",
            "enrollment",
            "enrollment",
            self.enrollment_id,
        )?;
        let sql = format!("{} WHERE id = ?1", select_sql::<Enrollment>());
        let enrollment = tx
            .prepare_cached(&sql)?
            .query_row([self.enrollment_id], |r| Enrollment::from_row(r, META_LEN))?;
        check_event_in_enrollment(self, &enrollment)?;
        Ok(())
    }
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        super::continuity::event_closes_followups(tx, ctx, self)
    }
}

impl Record for FollowUp {
    const TABLE: &'static str = "followups";
    const KIND: &'static str = "followup";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "worker_id",
        "due",
        "reason",
        "rule",
        "source_id",
        "done_on",
        "outcome",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.worker_id),
            b(self.due),
            b(self.reason.trim()),
            b(&self.rule),
            b(self.source_id),
            b(self.done_on),
            b(&self.outcome),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(FollowUp {
            client_id: r.get(i)?,
            worker_id: r.get(i + 1)?,
            due: r.get(i + 2)?,
            reason: r.get(i + 3)?,
            rule: r.get(i + 4)?,
            source_id: r.get(i + 5)?,
            done_on: r.get(i + 6)?,
            outcome: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        if let Some(worker) = self.worker_id {
            ensure_live(tx, "users", "user", "worker", worker)?;
        }
        Ok(())
    }
}

impl Record for User {
    const TABLE: &'static str = "users";
    const KIND: &'static str = "user";
    const COLUMNS: &'static [&'static str] =
        &["username", "display_name", "role", "active", "language"];
    const WRITE: Permission = Permission::ManageUsers;
    fn values(&self) -> Values<'_> {
        vec![
            b(self.username.trim()),
            b(self.display_name.trim()),
            b(self.role),
            b(self.active),
            b(&self.language),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(User {
            username: r.get(i)?,
            display_name: r.get(i + 1)?,
            role: r.get(i + 2)?,
            active: r.get(i + 3)?,
            language: r.get(i + 4)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM users WHERE username = ?1 AND deleted = 0")?
            .query_row([self.username.trim()], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) if Some(other) != id => Err(ValidationError::Inconsistent {
                field: "username",
                reason: format!("the username {} is taken", self.username.trim()),
            }
            .into()),
            _ => Ok(()),
        }
    }
}
