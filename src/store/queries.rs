//! Read models for the screens: filtered client lists fetched by id pages,
//! who is detained now and where, follow-ups due, settings.

use super::records::{saved_from_row, select_sql};
use super::search::{ClientRow, rows_by_rid};
use super::{Store, StoreError};
use crate::continuity as rules;
use crate::domain::*;
use chrono::NaiveDate;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use uuid::Uuid;

/// What the client list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFilter {
    /// Code prefix, or a substring of code, nickname or phone (3+ characters).
    pub text: String,
    pub status: Option<CaseStatus>,
    pub province: Option<String>,
    pub worker: Option<Uuid>,
    pub detained_now: bool,
    pub on_methadone: bool,
    pub on_art: bool,
}

/// A client in an open detention, with what they need.
#[derive(Debug, Clone, PartialEq)]
pub struct DetainedRow {
    pub client_id: Uuid,
    pub code: String,
    pub nickname: Option<String>,
    pub assigned_worker: Option<Uuid>,
    pub detention_id: Uuid,
    pub location_id: Uuid,
    pub location: String,
    pub since: NaiveDate,
    /// Days from the start of the stay to `day` (the start day counts as day 1).
    pub days: i64,
    pub on_methadone: bool,
    pub on_art: bool,
    pub methadone_here: Availability,
    pub art_here: Availability,
}

impl DetainedRow {
    /// On methadone or ART where that service is not known to be available.
    pub fn at_risk(&self) -> bool {
        use crate::continuity::at_risk_in_detention;
        at_risk_in_detention(self.on_methadone, self.methadone_here)
            || at_risk_in_detention(self.on_art, self.art_here)
    }
}

/// A follow-up with its client's code, for worklists.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpRow {
    pub followup: Saved<FollowUp>,
    pub code: String,
    pub nickname: Option<String>,
}

const ACTIVE_ENROLLMENT: &str = "EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = c.id AND e.deleted = 0 AND e.service = ?{n} AND e.started_on <= ?{d} AND (e.ended_on IS NULL OR e.ended_on >= ?{d}))";

/// Settings kept in the database, with their defaults.
pub mod settings {
    /// Minutes of inactivity before the window locks itself.
    pub const AUTO_LOCK_MINUTES: (&str, i64) = ("auto_lock_minutes", 5);
    /// How far ahead of this laptop's clock a synced change may be dated.
    pub const SYNC_CLOCK_MARGIN_HOURS: (&str, i64) = ("sync_clock_margin_hours", 24);
}

impl Store {
    /// Row ids (`rid`) of the clients that match, in code order. Cheap to
    /// hold for 100,000 clients; rows are then fetched a page at a time with
    /// [`Store::client_rows`]. [`Reader::client_ids`] runs the same query on
    /// another thread.
    pub fn client_ids(
        &self,
        filter: &ClientFilter,
        day: NaiveDate,
    ) -> Result<Vec<i64>, StoreError> {
        client_ids_on(self.conn(), filter, day)
    }

    /// The list rows for some row ids, in the order given, with their case
    /// status on the store's today: one statement
    /// for the lot (the ids as a JSON array), then put in that order.
    pub fn client_rows(&self, rids: &[i64]) -> Result<Vec<ClientRow>, StoreError> {
        let mut found: std::collections::HashMap<i64, ClientRow> =
            rows_by_rid(self.conn(), rids, "", self.today())?
                .into_iter()
                .collect();
        Ok(rids.iter().filter_map(|rid| found.remove(rid)).collect())
    }

    /// Provinces that clients live in, for filters.
    pub fn client_provinces(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT province FROM clients WHERE deleted = 0 AND province IS NOT NULL ORDER BY province",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Everyone detained on `day` (a stay covers it and does not end on it),
    /// longest first; optionally only one worker's clients or one location.
    pub fn detained_on(
        &self,
        day: NaiveDate,
        worker: Option<Uuid>,
        location: Option<Uuid>,
    ) -> Result<Vec<DetainedRow>, StoreError> {
        detained_on(self.conn(), day, worker, location)
    }

    /// Open follow-ups due on or before `until`, oldest first; optionally one worker's.
    pub fn followups_due(
        &self,
        until: NaiveDate,
        worker: Option<Uuid>,
    ) -> Result<Vec<FollowUpRow>, StoreError> {
        // Two statements, so that each has one index to go through.
        let sql = format!(
            "SELECT f.id, f.created_at, f.updated_at, f.updated_by, f.device_id, f.deleted, {cols}, c.code, c.nickname
             FROM followups f JOIN clients c ON c.id = f.client_id AND c.deleted = 0
             WHERE f.deleted = 0 AND f.done_on IS NULL AND f.due <= ?1 AND {worker}
             ORDER BY f.due, c.code",
            cols = FollowUp_COLUMNS_PREFIXED,
            worker = if worker.is_some() {
                "f.worker_id = ?2"
            } else {
                "?2 IS NULL"
            }
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![until, worker], |r| {
            let followup = saved_from_row::<FollowUp>(r)?;
            let n = 6 + 8;
            Ok(FollowUpRow {
                followup,
                code: r.get(n)?,
                nickname: r.get(n + 1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Active enrollments of a client on `day`.
    pub fn active_enrollments(
        &self,
        client_id: Uuid,
        day: NaiveDate,
    ) -> Result<Vec<Saved<Enrollment>>, StoreError> {
        Ok(self
            .list_for_client::<Enrollment>(client_id)?
            .into_iter()
            .filter(|e| e.active_on(day))
            .collect())
    }

    /// A setting's value, or its default.
    pub fn setting(&self, key: (&str, i64)) -> i64 {
        setting_on(self.conn(), key)
    }

    /// Changes a setting (coordinators and admins); audited.
    pub fn set_setting(&mut self, (key, _): (&str, i64), value: i64) -> Result<(), StoreError> {
        self.require(Permission::ManageRegistry)?;
        let key = key.to_owned();
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![format!("setting.{key}"), value.to_string()],
            )?;
            ctx.audit(tx, AuditAction::Update, Some("setting"), None, &format!("{key}={value}"))
        })
    }

    /// The live detentions of a client, newest first.
    pub fn detentions_of(&self, client_id: Uuid) -> Result<Vec<Saved<Detention>>, StoreError> {
        let sql = format!(
            "{} WHERE client_id = ?1 AND deleted = 0 ORDER BY started_on DESC",
            select_sql::<Detention>()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([client_id], saved_from_row::<Detention>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[allow(non_upper_case_globals)]
const FollowUp_COLUMNS_PREFIXED: &str =
    "f.client_id, f.worker_id, f.due, f.reason, f.rule, f.source_id, f.done_on, f.outcome";

/// The client-list query, on any connection.
pub(crate) fn client_ids_on(
    conn: &rusqlite::Connection,
    filter: &ClientFilter,
    day: NaiveDate,
) -> Result<Vec<i64>, StoreError> {
    let mut clauses = vec!["c.deleted = 0".to_owned()];
    let mut values: Vec<Value> = Vec::new();
    let mut push = |v: Value| {
        values.push(v);
        values.len()
    };
    let q = filter.text.trim();
    if !q.is_empty() {
        let code = normalize_code(q);
        let mut end = code.clone();
        end.push(char::MAX);
        let a = push(Value::Text(code));
        let b = push(Value::Text(end));
        // The matching row ids first, each part through its own index;
        // then the rows by id (an OR here made SQLite read every code).
        let mut alt =
            format!("SELECT rid FROM clients WHERE code >= ?{a} AND code < ?{b} AND deleted = 0");
        if q.chars().count() >= 3 {
            let m = push(Value::Text(format!("\"{}\"", q.replace('"', "\"\""))));
            alt.push_str(&format!(
                " UNION SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?{m}"
            ));
        } else {
            let mut nend = q.to_owned();
            nend.push(char::MAX);
            let x = push(Value::Text(q.to_owned()));
            let y = push(Value::Text(nend));
            alt.push_str(&format!(
                " UNION SELECT rid FROM clients WHERE nickname >= ?{x} AND nickname < ?{y} AND deleted = 0"
            ));
        }
        clauses.push(format!("c.rid IN ({alt})"));
    }
    if let Some(status) = filter.status {
        // Moved, deceased and exited are recorded; active and lost to
        // follow-up are open cases told apart by the rule's date
        // (`continuity::lost_before`), over the same facts it reads.
        if status.is_open() {
            let before = rules::lost_before(day, &super::continuity::thresholds_on(conn));
            let n = push(Value::Text(before.to_string()));
            let d = push(Value::Text(day.to_string()));
            let lost = format!(
                "c.id IN (SELECT a.client_id FROM client_activity a WHERE a.open = 1
                 AND coalesce(max(a.last_contact, a.registered_on), a.last_contact, a.registered_on) < ?{n}
                 AND coalesce(a.registered_on <= ?{d}, 1))"
            );
            clauses.push("c.status IN ('active', 'lost_to_follow_up')".into());
            if status == CaseStatus::LostToFollowUp {
                clauses.push(lost);
            } else {
                clauses.push(format!("NOT {lost}"));
            }
        } else {
            let n = push(Value::Text(status.as_str().into()));
            clauses.push(format!("c.status = ?{n}"));
        }
    }
    if let Some(province) = &filter.province {
        let n = push(Value::Text(province.clone()));
        clauses.push(format!("c.province = ?{n}"));
    }
    if let Some(worker) = filter.worker {
        let n = push(Value::Blob(worker.as_bytes().to_vec()));
        clauses.push(format!("c.assigned_worker = ?{n}"));
    }
    let d = if filter.detained_now || filter.on_methadone || filter.on_art {
        push(Value::Text(day.to_string()))
    } else {
        0
    };
    if filter.detained_now {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM detentions x WHERE x.client_id = c.id AND x.deleted = 0 AND x.started_on <= ?{d} AND (x.ended_on IS NULL OR x.ended_on > ?{d}))"
        ));
    }
    for (wanted, service) in [
        (filter.on_methadone, Service::Methadone),
        (filter.on_art, Service::Art),
    ] {
        if wanted {
            let n = push(Value::Text(service.as_str().into()));
            clauses.push(
                ACTIVE_ENROLLMENT
                    .replace("{n}", &n.to_string())
                    .replace("{d}", &d.to_string()),
            );
        }
    }
    let sql = format!(
        "SELECT c.rid FROM clients c WHERE {} ORDER BY c.code",
        clauses.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(values.iter()), |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A setting's value on any connection, or its default.
pub(crate) fn setting_on(conn: &rusqlite::Connection, (key, default): (&str, i64)) -> i64 {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([format!("setting.{key}")], |r| r.get::<_, String>(0))
                .optional()
        })
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// See [`Store::detained_on`], on any connection.
pub(crate) fn detained_on(
    conn: &rusqlite::Connection,
    day: NaiveDate,
    worker: Option<Uuid>,
    location: Option<Uuid>,
) -> Result<Vec<DetainedRow>, StoreError> {
    let sql = "SELECT c.id, c.code, c.nickname, c.assigned_worker, d.id, l.id, l.name, d.started_on,
            EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = c.id AND e.deleted = 0 AND e.service = 'methadone' AND e.started_on <= ?1 AND (e.ended_on IS NULL OR e.ended_on >= ?1)),
            EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = c.id AND e.deleted = 0 AND e.service = 'art' AND e.started_on <= ?1 AND (e.ended_on IS NULL OR e.ended_on >= ?1)),
            l.methadone, l.art
        FROM detentions d
        JOIN clients c ON c.id = d.client_id AND c.deleted = 0
        JOIN locations l ON l.id = d.location_id
        WHERE d.rowid IN (
            SELECT rowid FROM detentions WHERE ended_on IS NULL AND started_on <= ?1 AND deleted = 0
            UNION ALL
            SELECT rowid FROM detentions WHERE ended_on > ?1 AND started_on <= ?1 AND deleted = 0)
          AND (?2 IS NULL OR c.assigned_worker = ?2)
          AND (?3 IS NULL OR d.location_id = ?3)
        ORDER BY d.started_on, c.code";
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![day, worker, location], |r| {
        let since: NaiveDate = r.get(7)?;
        Ok(DetainedRow {
            client_id: r.get(0)?,
            code: r.get(1)?,
            nickname: r.get(2)?,
            assigned_worker: r.get(3)?,
            detention_id: r.get(4)?,
            location_id: r.get(5)?,
            location: r.get(6)?,
            since,
            days: (day - since).num_days() + 1,
            on_methadone: r.get(8)?,
            on_art: r.get(9)?,
            methadone_here: r.get(10)?,
            art_here: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
