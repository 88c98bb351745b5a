//! Spreadsheet import: every row of a file checked (cells, the domain's
//! validation, references, overlaps), every problem reported, and the
//! whole file written in one transaction or nothing.
//!
//! Each record gets an id derived from its content (clients from their
//! code, locations from their name), so a file imported twice finds its
//! records already there and adds nothing. Rows are written as they are
//! checked, a batch per statement; the first problem stops the writing
//! and the transaction is rolled back at the end, after the remaining
//! rows have been checked.

mod kinds;

use kinds::location_key;

use crate::domain::*;
use crate::import::limits::echo;
use crate::import::parse::{self, Cells, Parsed};
use crate::import::{
    Columns, Control, ImportKind, ImportOptions, ImportReport, Mapping, Outcome, Problem, Problems,
    Row, Table,
};
use crate::store::records::{insert_new_in_tx, saved_from_row, select_sql};
use crate::store::{Record, Store, StoreError, WriteCtx, clock_tick};
use blake2::{Blake2b512, Digest};
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// How often (in rows) progress is reported and the cancel flag read.
const PROGRESS_EVERY: usize = 1024;

/// Rows written per statement: one statement journal, one set of open
/// cursors and one full-text flush for the whole batch.
const BATCH_ROWS: usize = 1000;

impl Store {
    /// Imports `table`, read with `mapping`, as one kind of record
    /// (shared/IMPORT.md). Every problem is in the report; when there is
    /// any, or on a dry run, or when cancelled, nothing is written.
    /// Otherwise the new records are written in one transaction with one
    /// `import` audit entry (kind, file name, counts); rows already in the
    /// database are counted, not written again.
    pub fn import(
        &mut self,
        table: &Table,
        mapping: &Mapping,
        options: &ImportOptions,
        control: &Control<'_>,
    ) -> Result<ImportReport, StoreError> {
        if options.dry_run {
            return self.import_in_tx(table, mapping, options, control);
        }
        // Every reference an import writes comes from a lookup in its own
        // transaction (a client by code, a worker by username, a location by
        // name, an enrollment by client and service), so the database's own
        // foreign-key checks add nothing but cost: with them, SQLite keeps a
        // statement journal of every page each batch touches. They are off
        // for the import's transaction (the setting is this connection's,
        // and cannot change inside a transaction) and on again after it,
        // whatever happened.
        self.conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let result = self.with_bulk_cache(|s| s.import_in_tx(table, mapping, options, control));
        let restored = self.conn.execute_batch("PRAGMA foreign_keys = ON;");
        let report = result?;
        restored?;
        self.optimize();
        Ok(report)
    }

    fn import_in_tx(
        &mut self,
        table: &Table,
        mapping: &Mapping,
        options: &ImportOptions,
        control: &Control<'_>,
    ) -> Result<ImportReport, StoreError> {
        use ImportKind as K;
        let kind = mapping.kind();
        self.require(Permission::Import)?;
        if kind == K::Locations {
            self.require(Location::WRITE)?;
        }
        let header_problems = mapping.problems(table.headers());
        if !header_problems.is_empty() {
            let mut report = ImportReport::new(kind);
            report.problems = header_problems;
            return Ok(report);
        }
        let columns = mapping.columns(table.headers());
        let release_window = self.thresholds().release_window_days;
        let behavior = if options.dry_run {
            TransactionBehavior::Deferred
        } else {
            TransactionBehavior::Immediate
        };
        let (wall, today) = (self.now_ms(), self.today());
        let tx = self.conn.transaction_with_behavior(behavior)?;
        let now = if options.dry_run {
            wall
        } else {
            clock_tick(&tx, wall)?
        };
        let setup = Setup {
            ctx: WriteCtx {
                user_id: self.user.id,
                device_id: self.device_id.clone(),
                now,
                today,
            },
            columns: &columns,
            write: !options.dry_run,
            release_window,
            file_name: &options.file_name,
        };
        let mut report = match kind {
            K::Locations => read_rows::<Location>(&tx, &setup, table, control)?,
            K::Clients => read_rows::<Client>(&tx, &setup, table, control)?,
            K::Contacts => read_rows::<Contact>(&tx, &setup, table, control)?,
            K::Arrests => read_rows::<Arrest>(&tx, &setup, table, control)?,
            K::Detentions => read_rows::<Detention>(&tx, &setup, table, control)?,
            K::Enrollments => read_rows::<Enrollment>(&tx, &setup, table, control)?,
            K::ServiceEvents => read_rows::<ServiceEvent>(&tx, &setup, table, control)?,
        };
        report
            .problems
            .sort_by_key(|p| (p.row, columns.order(&p.column)));
        if report.outcome == Outcome::Imported {
            tx.commit()?;
        }
        Ok(report)
    }
}

/// What every row of one import needs to know.
struct Setup<'a> {
    ctx: WriteCtx,
    columns: &'a Columns,
    /// Not a dry run.
    write: bool,
    release_window: i64,
    file_name: &'a str,
}

/// Reads every row of `table` as records of kind `R`; writes them (unless
/// a dry run) while no problem has been found. The caller commits when
/// the outcome is [`Outcome::Imported`].
fn read_rows<R: Importable>(
    tx: &Transaction<'_>,
    setup: &Setup<'_>,
    table: &Table,
    control: &Control<'_>,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::new(setup.columns.kind);
    let mut run = Run::<R>::start(tx, setup)?;
    let total = table.len();
    for (i, row) in table.rows().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            (control.progress)(i, total);
            if control.cancel.load(Ordering::Relaxed) {
                report.outcome = Outcome::Cancelled;
                return Ok(report);
            }
        }
        run.row(i + 2, row)?;
    }
    run.flush()?;
    (control.progress)(total, total);
    report.outcome = if !run.problems.is_empty() {
        Outcome::Refused
    } else if !setup.write {
        Outcome::Checked
    } else {
        run.finish()?;
        Outcome::Imported
    };
    report.rows = run.rows;
    report.added = run.added;
    report.already_present = run.present;
    (report.problems, report.more_problems) = run.problems.into_parts();
    Ok(report)
}

/// A record kind an import file can hold: how a row is read, checked
/// against the database and the rest of the file, and what follows its
/// writing.
trait Importable: Record {
    /// Reads a row's cells.
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self>;

    /// Resolves the row's references and checks it against the database
    /// and the file's earlier rows. Returns the record and its id, or none
    /// when the row has a problem (noted) or is already present (counted).
    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError>;

    /// What else changes once the record is written.
    fn written(_run: &mut Run<'_, Self>, _id: Uuid, _record: &Self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The state of one import while its rows are read.
struct Run<'a, R> {
    tx: &'a Transaction<'a>,
    ctx: &'a WriteCtx,
    columns: &'a Columns,
    kind: ImportKind,
    write: bool,
    release_window: i64,
    file_name: &'a str,
    /// The first problems found, and how many there are.
    problems: Problems,
    rows: usize,
    added: usize,
    present: usize,
    /// Checked records waiting to be written, with their ids.
    pending: Vec<(Uuid, R)>,
    /// Usernames (lower-case) to user ids.
    users: HashMap<String, Uuid>,
    /// Live client codes to client ids.
    codes: HashMap<String, Uuid>,
    /// Live locations by lower-case name.
    locations: HashMap<String, (Uuid, Location)>,
    /// Live enrollments by client and service.
    enrollments: Enrollments,
    /// Clients whose follow-ups or status a new record can change.
    affected: HashSet<Uuid>,
    /// Each client's stays in the database, read when first needed.
    stays: HashMap<Uuid, Vec<Detention>>,
    /// Each client's new stays from this file, with their rows.
    new_stays: HashMap<Uuid, Vec<(usize, Detention)>>,
    /// Clients (by code) or locations (by name) seen in this file: row and content hash.
    seen: HashMap<String, (usize, [u8; 16])>,
    /// How often each content hash has been seen (identical rows are distinct records).
    occurrences: HashMap<[u8; 16], u32>,
    /// Each client's latest new contact, for the activity table.
    latest_contact: HashMap<Uuid, NaiveDate>,
    /// Reused buffer for canonical record text.
    buffer: Vec<u8>,
}

/// Enrollments with their ids, by client and service.
type Enrollments = HashMap<(Uuid, Service), Vec<(Uuid, Enrollment)>>;

/// The first 16 bytes of a BLAKE2b hash of `parts`.
pub(crate) fn hash16(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Blake2b512::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

pub(crate) fn derived_id(bytes: [u8; 16]) -> Uuid {
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Reads `(key, id)` pairs with a query.
fn id_map<K>(tx: &Transaction<'_>, sql: &str) -> Result<HashMap<K, Uuid>, StoreError>
where
    K: rusqlite::types::FromSql + std::hash::Hash + Eq,
{
    let mut stmt = tx.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids from a one-column query.
fn id_set(tx: &Transaction<'_>, sql: &str) -> Result<HashSet<Uuid>, StoreError> {
    let mut stmt = tx.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl<'a, R: Importable> Run<'a, R> {
    fn start(tx: &'a Transaction<'a>, setup: &'a Setup<'a>) -> Result<Self, StoreError> {
        use ImportKind as K;
        let kind = setup.columns.kind;
        let mut run = Run {
            tx,
            ctx: &setup.ctx,
            columns: setup.columns,
            kind,
            write: setup.write,
            release_window: setup.release_window,
            file_name: setup.file_name,
            problems: Problems::new(),
            rows: 0,
            added: 0,
            present: 0,
            pending: Vec::with_capacity(BATCH_ROWS),
            users: HashMap::new(),
            codes: HashMap::new(),
            locations: HashMap::new(),
            enrollments: HashMap::new(),
            affected: HashSet::new(),
            stays: HashMap::new(),
            new_stays: HashMap::new(),
            seen: HashMap::new(),
            occurrences: HashMap::new(),
            latest_contact: HashMap::new(),
            buffer: Vec::new(),
        };
        if matches!(kind, K::Clients | K::Contacts) {
            let users: HashMap<String, Uuid> =
                id_map(tx, "SELECT username, id FROM users WHERE deleted = 0")?;
            run.users = users
                .into_iter()
                .map(|(name, id)| (name.to_ascii_lowercase(), id))
                .collect();
        }
        if kind != K::Locations {
            run.codes = id_map(tx, "SELECT code, id FROM clients WHERE deleted = 0")?;
        }
        if matches!(kind, K::Locations | K::Detentions) {
            run.locations = run.load_locations()?;
        }
        if kind == K::ServiceEvents {
            run.enrollments = run.load_enrollments()?;
        }
        // What the records' own hooks can change: a contact closes an open
        // detention-visit follow-up; a dose or refill closes open rule
        // follow-ups.
        if setup.write && kind == K::Contacts {
            run.affected = id_set(
                tx,
                "SELECT client_id FROM followups
                 WHERE rule = 'detention_visit' AND done_on IS NULL AND deleted = 0",
            )?;
            // Contacts update each client's activity once, at the end.
            tx.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('bulk_write', '1')",
                [],
            )?;
        }
        if setup.write && kind == K::ServiceEvents {
            run.affected = id_set(
                tx,
                "SELECT client_id FROM followups WHERE rule IS NOT NULL AND done_on IS NULL AND deleted = 0",
            )?;
        }
        Ok(run)
    }

    fn load_locations(&self) -> Result<HashMap<String, (Uuid, Location)>, StoreError> {
        let sql = format!("{} WHERE deleted = 0", select_sql::<Location>());
        let mut stmt = self.tx.prepare(&sql)?;
        let rows = stmt.query_map([], saved_from_row::<Location>)?;
        let mut out = HashMap::new();
        for saved in rows {
            let saved = saved?;
            out.insert(location_key(&saved.name), (saved.id(), saved.data));
        }
        Ok(out)
    }

    fn load_enrollments(&self) -> Result<Enrollments, StoreError> {
        let sql = format!("{} WHERE deleted = 0", select_sql::<Enrollment>());
        let mut stmt = self.tx.prepare(&sql)?;
        let rows = stmt.query_map([], saved_from_row::<Enrollment>)?;
        let mut out: Enrollments = HashMap::new();
        for saved in rows {
            let saved = saved?;
            out.entry((saved.client_id, saved.service))
                .or_default()
                .push((saved.id(), saved.data));
        }
        Ok(out)
    }

    /// Checks and (while writing) writes one data row, `number` of the file.
    fn row(&mut self, number: usize, row: Row<'_>) -> Result<(), StoreError> {
        if row.is_blank() {
            return Ok(());
        }
        self.rows += 1;
        let mut cells = Cells::new(
            row,
            number,
            self.columns,
            self.ctx.today,
            &mut self.problems,
        );
        let parsed = R::parse(&mut cells);
        if let Some((id, record)) = R::resolve(self, number, parsed)? {
            self.put(id, record)?;
        }
        Ok(())
    }

    /// Whether rows are being written: not a dry run, and no problem so far.
    fn writing(&self) -> bool {
        self.write && self.problems.is_empty()
    }

    /// Queues a checked record; a full batch is written (or, once nothing
    /// will be written, counted).
    fn put(&mut self, id: Uuid, record: R) -> Result<(), StoreError> {
        self.pending.push((id, record));
        if self.pending.len() >= BATCH_ROWS || !self.writing() {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the queued records and runs their hooks, counting the ones
    /// already present; when nothing will be written, only counts them.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        if self.writing() {
            let mut inserted: Vec<Uuid> = insert_new_in_tx(self.tx, self.ctx, &pending)?;
            inserted.sort_unstable();
            self.added += inserted.len();
            self.present += pending.len() - inserted.len();
            for (id, record) in &pending {
                if inserted.binary_search(id).is_ok() {
                    R::written(self, *id, record)?;
                }
            }
        } else {
            for (id, _) in &pending {
                let exists = self.exists(*id)?;
                self.count(!exists);
            }
        }
        pending.clear();
        self.pending = pending;
        Ok(())
    }

    fn count(&mut self, new: bool) {
        if new {
            self.added += 1;
        } else {
            self.present += 1;
        }
    }

    /// Whether a record of this kind with this id exists, deleted or not.
    fn exists(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", R::TABLE))?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn problem(&mut self, row: usize, column: &str, reason: String) {
        self.problems
            .push(Problem::new(row, self.columns.shown(column), reason));
    }

    /// The id of the client named by the row's `client_code`, or a problem.
    fn client_id(&mut self, row: usize, parsed: &Parsed<R>) -> Option<Uuid> {
        let code = parsed.client_code.as_deref()?;
        let id = self.codes.get(code).copied();
        if id.is_none() {
            self.problem(
                row,
                "client_code",
                format!("client code {} does not exist", echo(code)),
            );
        }
        id
    }

    /// The user named in `column` (none when the cell is empty), or a problem.
    fn user_id(&mut self, row: usize, column: &str, parsed: &Parsed<R>) -> Option<Option<Uuid>> {
        let Some(name) = parsed.user.as_deref() else {
            return Some(None);
        };
        let id = self.users.get(&name.to_ascii_lowercase()).copied();
        if id.is_none() {
            self.problem(row, column, format!("no user named \"{}\"", echo(name)));
        }
        id.map(Some)
    }

    /// A hash of a record's canonical form, for ids and comparisons.
    fn content_hash(&mut self, record: &R) -> Result<[u8; 16], StoreError> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, record).map_err(std::io::Error::from)?;
        Ok(hash16(&[self.kind.as_str().as_bytes(), &self.buffer]))
    }

    /// The id of a record known by its content: identical rows of one file
    /// are told apart by how many came before.
    fn content_id(&mut self, record: &R) -> Result<Uuid, StoreError> {
        let hash = self.content_hash(record)?;
        let seen = self.occurrences.entry(hash).or_insert(0);
        let occurrence = *seen;
        *seen += 1;
        Ok(derived_id(hash16(&[&hash, &occurrence.to_le_bytes()])))
    }

    /// The id of a record known by a key (a client's code, a location's name).
    fn key_id(&self, key: &str) -> Uuid {
        derived_id(hash16(&[self.kind.as_str().as_bytes(), key.as_bytes()]))
    }

    /// For a client or location known by `key`: whether this is its first
    /// row in the file. A repeated identical row is counted as present, a
    /// repeated different one is a problem.
    fn first_in_file(
        &mut self,
        row: usize,
        column: &str,
        key: &str,
        what: &str,
        record: &R,
    ) -> Result<bool, StoreError> {
        let hash = self.content_hash(record)?;
        match self.seen.get(key) {
            Some(&(_, first)) if first == hash => {
                self.present += 1;
                Ok(false)
            }
            Some(&(first_row, _)) => {
                self.problem(
                    row,
                    column,
                    format!("{what} is also in row {first_row}, with different details"),
                );
                Ok(false)
            }
            None => {
                self.seen.insert(key.to_owned(), (row, hash));
                Ok(true)
            }
        }
    }

    /// After a clean run: the clients' activity, and the audit entry.
    fn finish(&mut self) -> Result<(), StoreError> {
        if self.kind == ImportKind::Contacts {
            let mut update = self.tx.prepare_cached(
                "UPDATE client_activity SET last_contact = ?2 WHERE client_id = ?1 AND (last_contact IS NULL OR last_contact < ?2)",
            )?;
            for (client, date) in &self.latest_contact {
                update.execute(rusqlite::params![client, date])?;
            }
            self.tx
                .execute("DELETE FROM meta WHERE key = 'bulk_write'", [])?;
        }
        self.ctx.audit(
            self.tx,
            AuditAction::Import,
            None,
            None,
            &format!(
                "{} from {}: added {}, already present {}",
                self.kind, self.file_name, self.added, self.present
            ),
        )
    }
}
