//! The period report of `shared/INDICATORS.md` and the client line list,
//! computed by streaming rows out of SQL: nothing loads the whole database.
//! Both can run on a worker thread with their own read-only connection
//! ([`ReportJob`], [`ExportJob`]), with progress and cancelling.
//!
//! The report first reads every live client's sex and year of birth, then
//! streams the contacts before the period (to know who is new), arrests,
//! detentions and ART refills, while a second thread sums the period's
//! contacts per client on a second connection. Every row is handed to
//! [`crate::reports::count::Counter`], which decides what it counts for
//! (this module only reads). Rows of tombstoned records are never read;
//! rows of tombstoned clients are not counted. The covering indexes of the
//! schema's `REPORT_INDEXES` keep a full year over 100,000 clients under a
//! second.
//!
//! Writing a report or a line list to a file is an export: it needs
//! [`Permission::Export`] (and [`Permission::ExportIdentifiable`] for
//! names and phones) and writes an audit entry.

mod linelist;
mod streams;

use linelist::partial_path;

pub use linelist::ExportJob;

use crate::domain::*;
use crate::reports::count::{
    ClientStays, Counter, Key, KeyMap, Place, Reach, Refill, Stay, Treatment,
};
use crate::reports::linelist::{LineListRow, LineListWriter};
use crate::reports::output::{FileFormat, write_report};
use crate::reports::period::{self, PeriodReport, age_band};
use crate::store::sql::date_at;
use crate::store::{Store, StoreError, open_connection};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// Column `i` as a record id, if it is one.
fn key_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Key>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Blob(b) => b.try_into().ok(),
        _ => None,
    })
}

/// Column `i` as text, empty when NULL.
fn text_at<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    Ok(r.get_ref(i)?.as_str_or_null()?.unwrap_or(""))
}

/// Column `i` as the bytes of a text, empty when NULL (no UTF-8 check:
/// for comparing with closed-list keys).
fn bytes_at<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r [u8]> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => t,
        _ => b"",
    })
}

/// Column `i` as a count; NULL (an empty count) is 0.
fn count_at(r: &Row<'_>, i: usize) -> rusqlite::Result<i64> {
    Ok(match r.get_ref(i)? {
        ValueRef::Integer(n) => n,
        _ => 0,
    })
}

/// What the report's streams share: the period, and the counter they feed.
struct Run<'a> {
    conn: &'a Connection,
    from: NaiveDate,
    to: NaiveDate,
    stop: &'a dyn Fn() -> bool,
    counter: Counter,
}

/// Stops with [`StoreError::Cancelled`] once `cancel` is set.
fn check(cancel: &AtomicBool) -> Result<(), StoreError> {
    if cancel.load(Ordering::Relaxed) {
        Err(StoreError::Cancelled)
    } else {
        Ok(())
    }
}

/// `from` after `to` is refused, naming the field.
fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), StoreError> {
    if from > to {
        return Err(ValidationError::Inconsistent {
            field: "from",
            reason: format!("the period starts ({from}) after it ends ({to})"),
        }
        .into());
    }
    Ok(())
}

/// The steps of a report, for progress: clients, contacts before the
/// period, arrests, detentions, ART refills, then the period's contacts.
const REPORT_STEPS: usize = 6;

/// Rows between two looks at the cancel flag in the long streams.
const CANCEL_EVERY: usize = 8192;

/// The whole report. The period's contacts (the longest read) are streamed
/// on `reach_conn` by a second thread while everything else is read on
/// `conn`; each side reads in one read transaction, and the two begin
/// together. `progress` is told (steps done, [`REPORT_STEPS`]).
fn report_on(
    conn: &Connection,
    reach_conn: &Mutex<Connection>,
    from: NaiveDate,
    to: NaiveDate,
    device_id: &str,
    progress: &dyn Fn(usize, usize),
    cancel: &AtomicBool,
) -> Result<PeriodReport, StoreError> {
    check_period(from, to)?;
    let made_at = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
    // Set when one side fails, so that the other stops early too.
    let failed = AtomicBool::new(false);
    let stop = || cancel.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed);
    progress(0, REPORT_STEPS);
    let (rest, reach) = std::thread::scope(|s| {
        let reach = s.spawn(|| {
            let conn = reach_conn.lock().unwrap_or_else(PoisonError::into_inner);
            let reach = reach_on(&conn, from, to, &stop);
            if reach.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            reach
        });
        let rest = rest_on(conn, from, to, &stop, progress);
        if rest.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        let reach = reach
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (rest, reach)
    });
    check(cancel)?;
    let report = rest?.finish(&reach?, made_at, device_id);
    progress(REPORT_STEPS, REPORT_STEPS);
    Ok(report)
}

/// Everything but the period's contacts, in one read transaction on `conn`.
fn rest_on(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    stop: &dyn Fn() -> bool,
    progress: &dyn Fn(usize, usize),
) -> Result<Counter, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut run = Run {
        conn: &tx,
        from,
        to,
        stop,
        counter: Counter::new(from, to),
    };
    for i in 0..REPORT_STEPS - 1 {
        run.check()?;
        match i {
            0 => run.people()?,
            1 => run.seen_before()?,
            2 => run.arrests()?,
            3 => run.detentions()?,
            _ => run.art_interruptions()?,
        }
        progress(i + 1, REPORT_STEPS);
    }
    let counter = run.counter;
    tx.commit()?;
    Ok(counter)
}

/// Every live contact of the period summed per client, read from the
/// covering index `contacts_period` (see the schema) in one transaction.
fn reach_on(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    stop: &dyn Fn() -> bool,
) -> Result<KeyMap<Reach>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut stmt = tx.prepare(
        "SELECT client_id, needles_syringes, condoms, naloxone, hiv_test, hiv_result, referrals
         FROM contacts WHERE deleted = 0 AND date >= ?1 AND date <= ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    let mut out: KeyMap<Reach> = KeyMap::default();
    let mut n = 0usize;
    while let Some(r) = rows.next()? {
        n += 1;
        if n.is_multiple_of(CANCEL_EVERY) && stop() {
            return Err(StoreError::Cancelled);
        }
        let Some(id) = key_at(r, 0)? else { continue };
        out.entry(id).or_default().add(
            [count_at(r, 1)?, count_at(r, 2)?, count_at(r, 3)?],
            bytes_at(r, 4)?,
            bytes_at(r, 5)?,
            bytes_at(r, 6)?,
        );
    }
    drop(rows);
    drop(stmt);
    tx.commit()?;
    Ok(out)
}

/// A period report that runs off the UI thread: it owns its own read-only
/// connections (two: the period's contacts are read on a second thread),
/// so it can be moved to a worker thread.
pub struct ReportJob {
    conn: Connection,
    reach_conn: Mutex<Connection>,
    from: NaiveDate,
    to: NaiveDate,
    device_id: String,
}

impl ReportJob {
    /// The period.
    pub fn period(&self) -> (NaiveDate, NaiveDate) {
        (self.from, self.to)
    }

    /// Computes the report. `progress` is told (steps done, steps); once
    /// `cancel` is set the run stops with [`StoreError::Cancelled`].
    pub fn run(
        &self,
        progress: &dyn Fn(usize, usize),
        cancel: &AtomicBool,
    ) -> Result<PeriodReport, StoreError> {
        report_on(
            &self.conn,
            &self.reach_conn,
            self.from,
            self.to,
            &self.device_id,
            progress,
            cancel,
        )
    }
}

impl Store {
    fn read_only_connection(&self) -> Result<Connection, StoreError> {
        let conn = open_connection(self.path(), self.key(), false)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        super::set_cache(&conn, super::Cache::Bulk)?;
        Ok(conn)
    }

    /// The period report for `from..=to` (both included), computed now on
    /// this thread. Needs [`Permission::Export`]; `from` after `to` is
    /// refused.
    pub fn period_report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<PeriodReport, StoreError> {
        let never = AtomicBool::new(false);
        self.report_job(from, to)?.run(&|_, _| {}, &never)
    }

    /// The period report as a job for a worker thread (see [`ReportJob::run`]).
    /// The permission and the period are checked now.
    pub fn report_job(&self, from: NaiveDate, to: NaiveDate) -> Result<ReportJob, StoreError> {
        self.require(Permission::Export)?;
        check_period(from, to)?;
        Ok(ReportJob {
            conn: self.read_only_connection()?,
            reach_conn: Mutex::new(self.read_only_connection()?),
            from,
            to,
            device_id: self.device_id().to_owned(),
        })
    }

    /// Writes `report` to `out` (`.json`, `.csv` or `.xlsx` by extension),
    /// with counts from 1 to N−1 shown as `<N` when `suppress_below` is
    /// `Some(N)` (N must be 2 or more), and audits the export. The file
    /// appears only once complete and audited.
    pub fn save_report(
        &mut self,
        report: &PeriodReport,
        out: &Path,
        suppress_below: Option<i64>,
    ) -> Result<(), StoreError> {
        self.require(Permission::Export)?;
        let format = FileFormat::for_report(out)?;
        if let Some(n) = suppress_below
            && n < 2
        {
            return Err(ValidationError::OutOfRange {
                field: "suppress_below",
                reason: format!("{n}: suppress counts below 2 or more"),
            }
            .into());
        }
        let published = period::publish(report, suppress_below);
        let tmp = partial_path(out);
        if let Err(e) = write_report(&tmp, format, &published) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        let suppression = suppress_below
            .map(|n| format!(", counts below {n} suppressed"))
            .unwrap_or_default();
        let detail = format!(
            "period report {} to {} as {}{suppression}, identifiable: no",
            report.from,
            report.to,
            format.extension()
        );
        let saved = self.write(|tx, ctx| {
            ctx.audit(tx, AuditAction::Export, Some("report"), None, &detail)?;
            std::fs::rename(&tmp, out)?;
            Ok(())
        });
        if saved.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        saved
    }
}
