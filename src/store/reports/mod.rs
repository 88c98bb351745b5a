//! The period report of `shared/INDICATORS.md` and the client line list,
//! computed by streaming rows out of SQL: nothing loads the whole database.
//! Both can run on a worker thread with their own read-only connection
//! ([`ReportJob`], [`ExportJob`]), with progress and cancelling.
//!
//! The report first reads every live client's sex and year of birth into a
//! small map (a few bytes per client), then streams the contacts before
//! the period (to know who is new), arrests, detentions and ART refills,
//! each row counted under its client's group, while a second thread sums
//! the period's contacts per client on a second connection. Rows of
//! tombstoned records are never read; rows of tombstoned clients find no
//! group and are skipped. The decisions on spans of days are the pure
//! functions of [`crate::reports::period`]. The covering indexes of the
//! schema's `REPORT_INDEXES` keep a full year over 100,000 clients under a
//! second.
//!
//! Writing a report or a line list to a file is an export: it needs
//! [`Permission::Export`] (and [`Permission::ExportIdentifiable`] for
//! names and phones) and writes an audit entry.

mod count;
mod linelist;

use linelist::partial_path;

pub use linelist::ExportJob;

use crate::domain::*;
use crate::reports::linelist::{LineListRow, LineListWriter};
use crate::reports::output::{FileFormat, write_report};
use crate::reports::period::{
    self, AGE_BANDS, INDICATORS, Indicator, PeriodReport, RELINK_DAYS, age_band, art_interrupted,
    covered_together, distinct_days,
};
use crate::store::sql::date_at;
use crate::store::{Store, StoreError, open_connection};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// A record id as stored (a UUID's 16 bytes).
type Key = [u8; 16];

/// Hashes record ids by their random bytes (UUID v7 ids are random after
/// the timestamp), which is much quicker than the default hasher for the
/// million lookups of a year's contacts.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

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

/// Sex keys × age bands: the groups every indicator is counted in.
const BANDS: usize = AGE_BANDS.len();
const GROUPS: usize = Sex::ALL.len() * BANDS;

/// One indicator's counts by group (sex × age band).
type Sums = [i64; GROUPS];

/// A live client: their group, and what the streams found about them.
#[derive(Clone, Copy)]
struct Person {
    group: u8,
    flags: u8,
}

/// A contact before the period.
const SEEN_BEFORE: u8 = 1;
/// An arrest in the period.
const ARRESTED: u8 = 2;

/// The group index of a client with `sex` (as stored) born in `birth_year`.
fn group_of(sex: &str, birth_year: Option<i32>, to: NaiveDate) -> u8 {
    let sex = Sex::parse(sex).unwrap_or(Sex::Unknown);
    let s = Sex::ALL.iter().position(|x| *x == sex).unwrap_or(0);
    let band = age_band(birth_year, to);
    let b = AGE_BANDS
        .iter()
        .position(|x| *x == band)
        .unwrap_or(BANDS - 1);
    (s * BANDS + b) as u8
}

/// The indicators being filled in, by key.
struct Tally {
    sums: BTreeMap<&'static str, Sums>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            sums: INDICATORS.iter().map(|d| (d.key, [0; GROUPS])).collect(),
        }
    }

    fn sums(&mut self, key: &'static str) -> &mut Sums {
        self.sums.entry(key).or_insert([0; GROUPS])
    }

    fn add(&mut self, key: &'static str, group: u8, n: i64) {
        self.sums(key)[usize::from(group)] += n;
    }

    fn into_indicators(self) -> BTreeMap<String, Indicator> {
        self.sums
            .into_iter()
            .map(|(key, sums)| {
                let mut ind = Indicator::default();
                for (g, n) in sums.iter().enumerate() {
                    ind.add(Sex::ALL[g / BANDS].as_str(), AGE_BANDS[g % BANDS], *n);
                }
                (key.to_owned(), ind)
            })
            .collect()
    }
}

/// What the report's steps share: the period, the live clients, the tally.
struct Run<'a> {
    conn: &'a Connection,
    from: NaiveDate,
    to: NaiveDate,
    stop: &'a dyn Fn() -> bool,
    people: KeyMap<Person>,
    tally: Tally,
    detained_at_end_by_location: BTreeMap<String, i64>,
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
    let (people, mut tally, detained_at_end_by_location) = rest?;
    let referrals_by_kind = add_reach(&mut tally, &people, &reach?);
    progress(REPORT_STEPS, REPORT_STEPS);
    Ok(PeriodReport {
        from,
        to,
        made_at,
        device_id: device_id.to_owned(),
        suppressed_below: None,
        indicators: tally.into_indicators(),
        referrals_by_kind,
        detained_at_end_by_location,
    })
}

/// What the main side of a report hands back: the live clients (with what
/// was found about them), the tally so far, detained at end by location.
type Rest = (KeyMap<Person>, Tally, BTreeMap<String, i64>);

/// Everything but the period's contacts, in one read transaction on `conn`.
fn rest_on(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    stop: &dyn Fn() -> bool,
    progress: &dyn Fn(usize, usize),
) -> Result<Rest, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut run = Run {
        conn: &tx,
        from,
        to,
        stop,
        people: KeyMap::default(),
        tally: Tally::new(),
        detained_at_end_by_location: BTreeMap::new(),
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
    let Run {
        people,
        tally,
        detained_at_end_by_location,
        ..
    } = run;
    tx.commit()?;
    Ok((people, tally, detained_at_end_by_location))
}

/// One client's contacts in the period.
#[derive(Default)]
struct Reach {
    contacts: i64,
    needles: i64,
    condoms: i64,
    naloxone: i64,
    tests: i64,
    positive: i64,
    referred: i64,
    /// Contacts with each referral kind, in [`Referral::ALL`] order.
    kinds: [i64; Referral::ALL.len()],
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
    let done = HivTest::Done.as_str().as_bytes();
    let positive = HivResult::Positive.as_str().as_bytes();
    let mut n = 0usize;
    while let Some(r) = rows.next()? {
        n += 1;
        if n.is_multiple_of(CANCEL_EVERY) && stop() {
            return Err(StoreError::Cancelled);
        }
        let Some(id) = key_at(r, 0)? else { continue };
        let c = out.entry(id).or_default();
        c.contacts += 1;
        c.needles += count_at(r, 1)?;
        c.condoms += count_at(r, 2)?;
        c.naloxone += count_at(r, 3)?;
        if bytes_at(r, 4)? == done {
            c.tests += 1;
            if bytes_at(r, 5)? == positive {
                c.positive += 1;
            }
        }
        let list = bytes_at(r, 6)?;
        if !list.trim_ascii().is_empty() {
            c.referred += 1;
            let mut seen = [false; Referral::ALL.len()];
            for kind in String::from_utf8_lossy(list)
                .split(';')
                .filter_map(Referral::parse)
            {
                if let Some(i) = Referral::ALL.iter().position(|k| *k == kind) {
                    seen[i] = true;
                }
            }
            for (count, seen) in c.kinds.iter_mut().zip(seen) {
                *count += i64::from(seen);
            }
        }
    }
    drop(rows);
    drop(stmt);
    tx.commit()?;
    Ok(out)
}

/// Adds the period's contacts of live clients to the tally: Reach, with
/// `clients_reached` and `new_clients`. Returns the referrals by kind.
fn add_reach(
    tally: &mut Tally,
    people: &KeyMap<Person>,
    reach: &KeyMap<Reach>,
) -> BTreeMap<String, i64> {
    let mut kinds = [0i64; Referral::ALL.len()];
    for (id, c) in reach {
        let Some(p) = people.get(id) else { continue };
        let g = p.group;
        tally.add("clients_reached", g, 1);
        if p.flags & SEEN_BEFORE == 0 {
            tally.add("new_clients", g, 1);
        }
        for (key, n) in [
            ("contacts", c.contacts),
            ("needles_syringes", c.needles),
            ("condoms", c.condoms),
            ("naloxone", c.naloxone),
            ("hiv_tests", c.tests),
            ("hiv_positive", c.positive),
            ("referrals", c.referred),
        ] {
            tally.add(key, g, n);
        }
        for (total, n) in kinds.iter_mut().zip(c.kinds) {
            *total += n;
        }
    }
    Referral::ALL
        .iter()
        .zip(kinds)
        .map(|(k, n)| (k.as_str().to_owned(), n))
        .collect()
}

/// A detention location as the report needs it.
struct Place {
    name: String,
    methadone: Availability,
    art: Availability,
}

/// A methadone (or else ART) enrollment's span.
struct Treatment {
    methadone: bool,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

/// One stay of a client.
struct Stay {
    location: Option<Key>,
    start: NaiveDate,
    end: Option<NaiveDate>,
    /// Whether its end (if any) is a release.
    release: bool,
}

/// One client's stays touching the period and what they are judged with.
struct ClientFacts<'a> {
    id: Key,
    stays: &'a [Stay],
    treatments: &'a [Treatment],
    places: &'a KeyMap<Place>,
}

/// One ART refill, waiting to learn the date of the next one.
struct Refill {
    enrollment: Key,
    client: Key,
    active: (NaiveDate, NaiveDate),
    date: NaiveDate,
    days: Option<i64>,
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
