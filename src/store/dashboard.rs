//! The manager's dashboard: caseload per worker and the trends behind the
//! charts, computed in SQL on a read-only connection (the window asks a
//! [`super::Reader`] on a worker thread).

use super::queries::detained_on;
use super::{Reader, StoreError};
use crate::domain::*;
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Arrests of one month counted by reason.
pub type ByReason = BTreeMap<ArrestReason, i64>;

/// One worker's caseload on a day. `worker` None: clients with no worker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkerLoad {
    pub worker: Option<Uuid>,
    pub name: String,
    /// Assigned clients whose case is open (not moved, deceased or exited).
    pub active_clients: i64,
    /// Contacts this worker logged in the 30 days up to the day.
    pub contacts_30_days: i64,
    /// Open follow-ups of this worker due before the day.
    pub overdue_followups: i64,
    /// Assigned clients detained on the day.
    pub detained_now: i64,
    /// Of those, on methadone or ART where it is not known to be available
    /// (the Today screen's at-risk list).
    pub at_risk: i64,
}

/// Releases of one month and how many were re-linked within the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Relinkage {
    /// First day of the month.
    pub month: NaiveDate,
    /// Releases of clients with methadone or ART active on the release day.
    pub needing: i64,
    /// Of those, with a dose or refill within 7 days of release.
    pub relinked: i64,
}

/// Everything the dashboard shows for a day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dashboard {
    pub day: NaiveDate,
    /// Workers by name; the unassigned clients last.
    pub workers: Vec<WorkerLoad>,
    /// Contacts per week (weeks start on Monday), oldest first.
    pub contacts_per_week: Vec<(NaiveDate, i64)>,
    /// Arrests per month (first day) and reason, oldest first. An arrest
    /// with several reasons counts once under each.
    pub arrests_per_month: Vec<(NaiveDate, ByReason)>,
    /// Clients detained on the day per location, most first.
    pub detained_by_location: Vec<(String, i64)>,
    /// Re-linkage after release per month, oldest first.
    pub relinkage: Vec<Relinkage>,
}

/// Weeks of contacts and months of arrests and releases shown.
pub const WEEKS: usize = 26;
pub const MONTHS: usize = 12;

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn months_back(day: NaiveDate, n: usize) -> NaiveDate {
    let mut m = month_start(day);
    for _ in 0..n {
        m = month_start(crate::domain::add_days(m, -1));
    }
    m
}

fn week_start(day: NaiveDate) -> NaiveDate {
    crate::domain::add_days(day, -i64::from(day.weekday().num_days_from_monday()))
}

fn caseload(conn: &Connection, day: NaiveDate) -> Result<Vec<WorkerLoad>, StoreError> {
    let mut loads: BTreeMap<Option<Uuid>, WorkerLoad> = BTreeMap::new();
    let mut names: HashMap<Uuid, String> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, display_name FROM users WHERE deleted = 0 AND active = 1 AND role IN ('outreach', 'coordinator')",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            loads.insert(
                Some(id),
                WorkerLoad {
                    worker: Some(id),
                    name: name.clone(),
                    ..Default::default()
                },
            );
            names.insert(id, name);
        }
    }
    fn entry<'a>(
        loads: &'a mut BTreeMap<Option<Uuid>, WorkerLoad>,
        names: &HashMap<Uuid, String>,
        w: Option<Uuid>,
    ) -> &'a mut WorkerLoad {
        loads.entry(w).or_insert_with(|| WorkerLoad {
            worker: w,
            name: w.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
            ..Default::default()
        })
    }
    let mut stmt = conn.prepare_cached(
        "SELECT worker, count(*) FROM client_activity WHERE open = 1 GROUP BY worker",
    )?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, Option<Uuid>>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (w, n) = row?;
        entry(&mut loads, &names, w).active_clients = n;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT worker_id, count(*) FROM contacts WHERE date > ?1 AND date <= ?2 AND deleted = 0 GROUP BY worker_id",
    )?;
    for row in stmt.query_map(params![crate::domain::add_days(day, -30), day], |r| {
        Ok((r.get::<_, Option<Uuid>>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (w, n) = row?;
        if w.is_some() {
            entry(&mut loads, &names, w).contacts_30_days = n;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT worker_id, count(*) FROM followups WHERE deleted = 0 AND done_on IS NULL AND due < ?1 GROUP BY worker_id",
    )?;
    for row in stmt.query_map([day], |r| {
        Ok((r.get::<_, Option<Uuid>>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (w, n) = row?;
        entry(&mut loads, &names, w).overdue_followups = n;
    }
    for row in detained_on(conn, day, None, None)? {
        let load = entry(&mut loads, &names, row.assigned_worker);
        load.detained_now += 1;
        if row.at_risk() {
            load.at_risk += 1;
        }
    }
    let mut out: Vec<WorkerLoad> = loads.into_values().collect();
    out.sort_by(|a, b| {
        a.worker
            .is_none()
            .cmp(&b.worker.is_none())
            .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(out)
}

fn contacts_per_week(
    conn: &Connection,
    day: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
    let first = week_start(day) - Duration::weeks(WEEKS as i64 - 1);
    let mut weeks: BTreeMap<NaiveDate, i64> = (0..WEEKS as i64)
        .map(|i| (first + Duration::weeks(i), 0))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT date, count(*) FROM contacts WHERE date >= ?1 AND date <= ?2 AND deleted = 0 GROUP BY date",
    )?;
    for row in stmt.query_map(params![first, day], |r| {
        Ok((r.get::<_, NaiveDate>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (d, n) = row?;
        *weeks.entry(week_start(d)).or_default() += n;
    }
    Ok(weeks.into_iter().collect())
}

fn arrests_per_month(
    conn: &Connection,
    day: NaiveDate,
) -> Result<Vec<(NaiveDate, ByReason)>, StoreError> {
    let first = months_back(day, MONTHS - 1);
    let mut months: BTreeMap<NaiveDate, ByReason> = BTreeMap::new();
    let mut m = first;
    while m <= day {
        months.insert(m, BTreeMap::new());
        m = month_start(crate::domain::add_days(m, 32));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT date, reasons FROM arrests WHERE date >= ?1 AND date <= ?2 AND deleted = 0",
    )?;
    for row in stmt.query_map(params![first, day], |r| {
        Ok((r.get::<_, NaiveDate>(0)?, r.get::<_, String>(1)?))
    })? {
        let (d, reasons) = row?;
        let month = months.entry(month_start(d)).or_default();
        let parsed = parse_list(&reasons, ArrestReason::parse).unwrap_or_default();
        if parsed.is_empty() {
            *month.entry(ArrestReason::Unknown).or_default() += 1;
        }
        for reason in parsed {
            *month.entry(reason).or_default() += 1;
        }
    }
    Ok(months.into_iter().collect())
}

fn detained_by_location(
    conn: &Connection,
    day: NaiveDate,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in detained_on(conn, day, None, None)? {
        *counts.entry(row.location).or_default() += 1;
    }
    let mut out: Vec<(String, i64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Releases (a stay ended for a reason other than transfer or death) by
/// month, as INDICATORS.md counts `releases_needing_relinkage` and
/// `relinked_within_7_days`.
fn relinkage(conn: &Connection, day: NaiveDate) -> Result<Vec<Relinkage>, StoreError> {
    let first = months_back(day, MONTHS - 1);
    let mut months: BTreeMap<NaiveDate, Relinkage> = BTreeMap::new();
    let mut m = first;
    while m <= day {
        months.insert(
            m,
            Relinkage {
                month: m,
                ..Default::default()
            },
        );
        m = month_start(crate::domain::add_days(m, 32));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT d.ended_on,
            EXISTS (SELECT 1 FROM service_events x JOIN enrollments e ON e.id = x.enrollment_id
                    WHERE x.client_id = d.client_id AND x.deleted = 0 AND x.kind IN ('dose', 'refill')
                      AND e.service IN ('methadone', 'art')
                      AND x.date >= d.ended_on AND x.date <= date(d.ended_on, '+7 days'))
         FROM detentions d
         WHERE d.deleted = 0 AND d.ended_on >= ?1 AND d.ended_on <= ?2
           AND d.release_reason NOT IN ('transferred', 'died')
           AND EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = d.client_id AND e.deleted = 0
                       AND e.service IN ('methadone', 'art') AND e.started_on <= d.ended_on
                       AND (e.ended_on IS NULL OR e.ended_on >= d.ended_on))",
    )?;
    for row in stmt.query_map(params![first, day], |r| {
        Ok((r.get::<_, NaiveDate>(0)?, r.get::<_, bool>(1)?))
    })? {
        let (ended, relinked) = row?;
        let month = months
            .entry(month_start(ended))
            .or_insert_with(|| Relinkage {
                month: month_start(ended),
                ..Default::default()
            });
        month.needing += 1;
        if relinked {
            month.relinked += 1;
        }
    }
    Ok(months.into_values().collect())
}

/// The dashboard for `day`, on any connection.
pub(crate) fn dashboard_on(conn: &Connection, day: NaiveDate) -> Result<Dashboard, StoreError> {
    let workers = caseload(conn, day)?;
    Ok(Dashboard {
        day,
        workers,
        contacts_per_week: contacts_per_week(conn, day)?,
        arrests_per_month: arrests_per_month(conn, day)?,
        detained_by_location: detained_by_location(conn, day)?,
        relinkage: relinkage(conn, day)?,
    })
}

impl Reader {
    /// The manager's dashboard for `day` (see [`Dashboard`]).
    pub fn dashboard(&self, day: NaiveDate) -> Result<Dashboard, StoreError> {
        dashboard_on(&self.conn, day)
    }
}
