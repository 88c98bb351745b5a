//! The facts the continuity rules need, gathered with queries that touch
//! only the clients that can have an entry, and the follow-ups the rules
//! create and close. The decisions are `crate::continuity`'s pure functions.

use super::records::{saved_from_row, select_sql};
use super::sql::date_at;
use super::{Store, StoreError, WriteCtx};
use crate::continuity::{self as rules, Entry, History, Stay, Thresholds};
use crate::domain::*;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Setting keys of the thresholds, with their defaults.
/// Reads one threshold.
type Getter = fn(&Thresholds) -> i64;

const KEYS: [(&str, Getter); 7] = [
    ("art_interruption_days", |t| t.art_interruption_days),
    ("methadone_review_days", |t| t.methadone_review_days),
    ("methadone_reinduction_days", |t| {
        t.methadone_reinduction_days
    }),
    ("release_window_days", |t| t.release_window_days),
    ("relink_days", |t| t.relink_days),
    ("lost_after_days", |t| t.lost_after_days),
    ("default_refill_days", |t| t.default_refill_days),
];

pub use crate::continuity::{RULE_DETENTION_VISIT, RULE_RELINK};

fn stays_sql() -> &'static str {
    "SELECT d.client_id, d.location_id, d.started_on, d.ended_on, d.basis, d.arrest_id, d.release_reason, d.notes,
            l.name, l.methadone, l.art
     FROM detentions d JOIN locations l ON l.id = d.location_id
     WHERE d.client_id = ?1 AND d.deleted = 0 ORDER BY d.started_on"
}

fn stay_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stay> {
    Ok(Stay {
        detention: Detention {
            client_id: r.get(0)?,
            location_id: r.get(1)?,
            start: r.get(2)?,
            end: r.get(3)?,
            basis: r.get(4)?,
            arrest_id: r.get(5)?,
            release_reason: r.get(6)?,
            notes: r.get(7)?,
        },
        location: r.get(8)?,
        methadone: r.get(9)?,
        art: r.get(10)?,
    })
}

/// The thresholds as stored, read on any connection.
pub(crate) fn thresholds_on(conn: &rusqlite::Connection) -> Thresholds {
    let d = Thresholds::default();
    let get = |i: usize| super::queries::setting_on(conn, (KEYS[i].0, KEYS[i].1(&d)));
    Thresholds {
        art_interruption_days: get(0),
        methadone_review_days: get(1),
        methadone_reinduction_days: get(2),
        release_window_days: get(3),
        relink_days: get(4),
        lost_after_days: get(5),
        default_refill_days: get(6),
    }
}

/// Only the lost-to-follow-up threshold (the client list reads it for
/// every page), on any connection.
pub(crate) fn lost_after_days_on(conn: &rusqlite::Connection) -> Thresholds {
    let d = Thresholds::default();
    Thresholds {
        lost_after_days: super::queries::setting_on(conn, (KEYS[5].0, KEYS[5].1(&d))),
        ..d
    }
}

impl Store {
    /// The continuity thresholds (settings, with the defaults of DESIGN.md).
    pub fn thresholds(&self) -> Thresholds {
        thresholds_on(self.conn())
    }

    /// Changes the thresholds (coordinators and admins); audited.
    pub fn set_thresholds(&mut self, t: &Thresholds) -> Result<(), StoreError> {
        self.require(Permission::ManageRegistry)?;
        let values: Vec<(&str, i64)> = KEYS.iter().map(|(k, f)| (*k, f(t))).collect();
        if let Some((k, v)) = values.iter().find(|(_, v)| *v < 1 || *v > 3650) {
            return Err(ValidationError::OutOfRange {
                field: "thresholds",
                reason: format!("{k}: {v} is not between 1 and 3650 days"),
            }
            .into());
        }
        if t.methadone_reinduction_days < t.methadone_review_days {
            return Err(ValidationError::Inconsistent {
                field: "methadone_reinduction_days",
                reason: "re-induction cannot come before dose review".into(),
            }
            .into());
        }
        self.write(|tx, ctx| {
            for (k, v) in &values {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![format!("setting.{k}"), v.to_string()],
                )?;
            }
            let detail: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            ctx.audit(tx, AuditAction::Update, Some("setting"), None, &detail.join(","))
        })
    }

    /// Everything the rules look at for one client.
    pub fn history(&self, client_id: Uuid) -> Result<History, StoreError> {
        let client: Saved<Client> = self.get(client_id)?;
        let mut h = service_history_on(self.conn(), client_id)?;
        let mut stmt = self.conn().prepare_cached(stays_sql())?;
        h.stays = stmt
            .query_map([client_id], stay_from_row)?
            .collect::<Result<_, _>>()?;
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT date FROM contacts WHERE client_id = ?1 AND deleted = 0")?;
        h.contacts = stmt
            .query_map([client_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        h.registered_on = client.registered_on;
        h.status = Some(client.status);
        Ok(h)
    }

    /// A client's continuity on a day.
    pub fn continuity(
        &self,
        client_id: Uuid,
        day: NaiveDate,
    ) -> Result<rules::ContinuityState, StoreError> {
        Ok(rules::assess(
            &self.history(client_id)?,
            day,
            &self.thresholds(),
        ))
    }

    /// Every worklist entry for `day`, for one worker's clients or everyone's.
    /// Only clients that can have an entry are looked at closely: those
    /// detained with methadone or ART, released in the window, with ART past
    /// its cover, with methadone missed, or without a recent contact.
    pub fn worklist(&self, day: NaiveDate, worker: Option<Uuid>) -> Result<Vec<Entry>, StoreError> {
        worklist_on(self.conn(), day, worker)
    }

    /// Creates the follow-ups the rules call for that do not exist yet: a
    /// detention visit for everyone detained on `day` with methadone or ART,
    /// and re-linkage for releases in the window. Returns how many were made.
    pub fn sync_rule_followups(&mut self, day: NaiveDate) -> Result<usize, StoreError> {
        self.require(Permission::EditRecords)?;
        let t = self.thresholds();
        let window_start = crate::domain::add_days(day, -t.release_window_days);
        let sql = format!(
            "{} WHERE deleted = 0 AND ((started_on <= ?1 AND (ended_on IS NULL OR ended_on > ?1)) OR (ended_on >= ?2 AND ended_on <= ?1))",
            select_sql::<Detention>()
        );
        let stays: Vec<Saved<Detention>> = {
            let mut stmt = self.conn().prepare(&sql)?;
            stmt.query_map(params![day, window_start], saved_from_row::<Detention>)?
                .collect::<Result<_, _>>()?
        };
        self.write(|tx, ctx| {
            let mut made = 0;
            for s in &stays {
                made += detention_followups(tx, ctx, s.id(), &s.data, &t)?;
            }
            Ok(made)
        })
    }
}

fn active_treatment_on(
    tx: &Transaction<'_>,
    client_id: Uuid,
    day: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM enrollments WHERE client_id = ?1 AND deleted = 0 AND service IN ('methadone', 'art')
             AND started_on <= ?2 AND (ended_on IS NULL OR ended_on >= ?2) LIMIT 1",
        )?
        .query_row(params![client_id, day], |_| Ok(()))
        .optional()?
        .is_some())
}

fn rule_followup_exists(
    tx: &Transaction<'_>,
    rule: &str,
    source: Uuid,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM followups WHERE rule = ?1 AND source_id = ?2 AND deleted = 0",
        )?
        .query_row(params![rule, source], |_| Ok(()))
        .optional()?
        .is_some())
}

fn add_rule_followup(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    client_id: Uuid,
    rule: &str,
    source: Uuid,
    due: NaiveDate,
    reason: String,
) -> Result<usize, StoreError> {
    if rule_followup_exists(tx, rule, source)? {
        return Ok(0);
    }
    // The same rule on the same record gives the same id on every laptop,
    // so two laptops that both raise it merge into one follow-up. One that
    // was deleted by hand stays deleted.
    let id = super::import::derived_id(super::import::hash16(&[
        b"rule followup",
        rule.as_bytes(),
        source.as_bytes(),
    ]));
    let exists = tx
        .prepare_cached("SELECT 1 FROM followups WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(0);
    }
    let worker: Option<Uuid> = tx
        .prepare_cached("SELECT assigned_worker FROM clients WHERE id = ?1")?
        .query_row([client_id], |r| r.get(0))?;
    let f = FollowUp {
        client_id,
        worker_id: worker,
        due,
        reason,
        rule: Some(rule.to_owned()),
        source_id: Some(source),
        done_on: None,
        outcome: None,
    };
    super::records::insert_in_tx(tx, ctx, id, &f)?;
    ctx.audit(tx, AuditAction::Create, Some("followup"), Some(id), rule)?;
    Ok(1)
}

fn location_name(tx: &Transaction<'_>, id: Uuid) -> Result<String, StoreError> {
    Ok(tx
        .prepare_cached("SELECT name FROM locations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

/// Closes the open rule follow-ups of a client for `rule` on `source`,
/// with an outcome.
fn close_rule_followups(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    client_id: Uuid,
    rule: &str,
    source: Uuid,
    done_on: NaiveDate,
    outcome: &str,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM followups WHERE client_id = ?1 AND rule = ?2 AND source_id = ?3
             AND done_on IS NULL AND deleted = 0",
        )?;
        stmt.query_map(params![client_id, rule, source], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    for id in ids {
        tx.prepare_cached(
            "UPDATE followups SET done_on = ?2, outcome = ?3, vv = tether_vv(vv, device_id, updated_at, ?6, ?4), updated_at = ?4, updated_by = ?5, device_id = ?6 WHERE id = ?1",
        )?
        .execute(params![id, done_on, outcome, ctx.now, ctx.user_id, ctx.device_id])?;
        ctx.audit(
            tx,
            AuditAction::Update,
            Some("followup"),
            Some(id),
            "done_on,outcome",
        )?;
    }
    Ok(())
}

/// Applies what the rules decided (`continuity::followup_changes`).
/// Returns how many follow-ups were opened.
fn apply_followup_changes(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    client_id: Uuid,
    changes: Vec<rules::FollowUpChange>,
) -> Result<usize, StoreError> {
    let mut made = 0;
    for change in changes {
        match change {
            rules::FollowUpChange::Open {
                rule,
                source,
                due,
                reason,
            } => made += add_rule_followup(tx, ctx, client_id, rule, source, due, reason)?,
            rules::FollowUpChange::Close {
                rule,
                source,
                on,
                outcome,
            } => close_rule_followups(tx, ctx, client_id, rule, source, on, &outcome)?,
        }
    }
    Ok(made)
}

/// A client's open rule follow-ups with their stays' dates.
fn open_rule_followups(
    tx: &Transaction<'_>,
    client_id: Uuid,
) -> Result<Vec<rules::OpenRuleFollowUp>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT f.rule, f.source_id, d.started_on, d.ended_on FROM followups f JOIN detentions d ON d.id = f.source_id
         WHERE f.client_id = ?1 AND f.rule IS NOT NULL AND f.done_on IS NULL AND f.deleted = 0",
    )?;
    Ok(stmt
        .query_map([client_id], |r| {
            Ok(rules::OpenRuleFollowUp {
                rule: r.get(0)?,
                source: r.get(1)?,
                stay_start: r.get(2)?,
                stay_end: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// The follow-ups a stay calls for (`continuity::followup_changes`), from
/// the facts gathered here. Idempotent.
pub(crate) fn detention_followups(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    id: Uuid,
    d: &Detention,
    t: &Thresholds,
) -> Result<usize, StoreError> {
    let place = location_name(tx, d.location_id)?;
    let treated_at_end = match d.end {
        Some(end) => Some(active_treatment_on(tx, d.client_id, end)?),
        None => None,
    };
    let event = rules::FollowUpEvent::Stay {
        id,
        stay: d,
        place: &place,
        treated_at_start: active_treatment_on(tx, d.client_id, d.start)?,
        treated_at_end,
        relink_days: t.relink_days,
    };
    apply_followup_changes(tx, ctx, d.client_id, rules::followup_changes(&event))
}

/// What a dose or refill does to the client's rule follow-ups.
pub(crate) fn event_closes_followups(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    e: &ServiceEvent,
) -> Result<(), StoreError> {
    if !rules::may_change_followups(rules::FollowUpKind::ServiceEvent(e.kind)) {
        return Ok(());
    }
    let service: Service = tx
        .prepare_cached("SELECT service FROM enrollments WHERE id = ?1")?
        .query_row([e.enrollment_id], |r| r.get(0))?;
    let open = open_rule_followups(tx, e.client_id)?;
    let event = rules::FollowUpEvent::ServiceEvent {
        kind: e.kind,
        service,
        date: e.date,
        open: &open,
    };
    apply_followup_changes(tx, ctx, e.client_id, rules::followup_changes(&event))?;
    Ok(())
}

/// What a contact (a detention visit) does to the client's rule follow-ups.
pub(crate) fn contact_closes_followups(
    tx: &Transaction<'_>,
    ctx: &WriteCtx,
    c: &Contact,
) -> Result<(), StoreError> {
    if !rules::may_change_followups(rules::FollowUpKind::Contact(c.kind)) {
        return Ok(());
    }
    let open = open_rule_followups(tx, c.client_id)?;
    let event = rules::FollowUpEvent::Contact {
        kind: c.kind,
        date: c.date,
        open: &open,
    };
    apply_followup_changes(tx, ctx, c.client_id, rules::followup_changes(&event))?;
    Ok(())
}

/// The services part of a client's history: enrollments, doses and refills.
fn service_history_on(conn: &rusqlite::Connection, client_id: Uuid) -> Result<History, StoreError> {
    let sql = format!(
        "{} WHERE client_id = ?1 AND deleted = 0",
        select_sql::<Enrollment>()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let enrollments = stmt
        .query_map([client_id], saved_from_row::<Enrollment>)?
        .map(|r| r.map(|s| (s.meta.id, s.data)))
        .collect::<Result<_, _>>()?;
    let sql = format!(
        "{} WHERE client_id = ?1 AND deleted = 0 AND kind IN ('dose', 'refill')",
        select_sql::<ServiceEvent>()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let events = stmt
        .query_map([client_id], saved_from_row::<ServiceEvent>)?
        .map(|r| r.map(|s| s.data))
        .collect::<Result<_, _>>()?;
    Ok(History {
        enrollments,
        events,
        ..Default::default()
    })
}

/// Every worklist entry for `day` (see [`Store::worklist`]), on any connection.
pub(crate) fn worklist_on(
    conn: &rusqlite::Connection,
    day: NaiveDate,
    worker: Option<Uuid>,
) -> Result<Vec<Entry>, StoreError> {
    let t = thresholds_on(conn);
    // Clients that need the full history (detention or release involved).
    let mut full: BTreeMap<Uuid, String> = BTreeMap::new();
    // Clients that need their services only.
    let mut services: BTreeMap<Uuid, String> = BTreeMap::new();
    let window_start = crate::domain::add_days(day, -t.release_window_days);
    // Stays that hold someone on `day` or ended in the window: both read
    // from the (ended_on, started_on) index.
    let mut stmt = conn.prepare_cached(
        "SELECT a.client_id, a.code FROM (
            SELECT client_id FROM detentions WHERE ended_on IS NULL AND started_on <= ?1 AND deleted = 0
            UNION
            SELECT client_id FROM detentions WHERE ended_on >= ?2 AND started_on <= ?1 AND deleted = 0
         ) d CROSS JOIN client_activity a ON a.client_id = d.client_id AND a.live = 1
         WHERE (?3 IS NULL OR a.worker = ?3)
           AND EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = d.client_id AND e.deleted = 0
                       AND e.service IN ('methadone', 'art'))",
    )?;
    for row in stmt.query_map(params![day, window_start, worker], |r| {
        Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, code) = row?;
        full.insert(id, code);
    }
    // Active methadone and ART enrollments with their latest dose and
    // refill, from the activity table (the events themselves only when
    // looking back before them): all the service rules read, so the clients
    // flagged here need no search of their events.
    let mut stmt = conn.prepare_cached(
        "SELECT e.enrollment_id, e.client_id, e.service, e.last_dose, e.last_refill, e.last_refill_days, c.code
         FROM enrollment_activity e CROSS JOIN client_activity c ON c.client_id = e.client_id AND c.live = 1
         WHERE e.live = 1 AND e.service IN ('methadone', 'art') AND e.started_on <= ?1
           AND (e.ended_on IS NULL OR e.ended_on >= ?1) AND (?2 IS NULL OR c.worker = ?2)",
    )?;
    let rows = stmt.query_map(params![day, worker], |r| {
        Ok((
            r.get::<_, Uuid>(0)?,
            r.get::<_, Uuid>(1)?,
            r.get::<_, Service>(2)?,
            date_at(r, 3)?,
            date_at(r, 4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut dose_on = conn.prepare_cached(
        "SELECT max(date) FROM service_events WHERE enrollment_id = ?1 AND deleted = 0 AND kind = 'dose' AND date <= ?2",
    )?;
    let mut refill_on = conn.prepare_cached(
        "SELECT date, days_supplied FROM service_events
         WHERE enrollment_id = ?1 AND deleted = 0 AND kind = 'refill' AND date <= ?2
         ORDER BY date DESC, rowid DESC LIMIT 1",
    )?;
    // (enrollment, client, latest dose, latest refill with its supply)
    type Latest = (
        Uuid,
        Uuid,
        Option<NaiveDate>,
        Option<(NaiveDate, Option<i64>)>,
    );
    let mut active: Vec<Latest> = Vec::new();
    for row in rows {
        let (eid, client_id, service, mut dose, refill_date, refill_days, code) = row?;
        if full.contains_key(&client_id) {
            continue; // their whole history is read below
        }
        if dose.is_some_and(|d| d > day) {
            dose = dose_on.query_row(params![eid, day], |r| r.get(0))?;
        }
        let refill = match refill_date {
            Some(d) if d > day => refill_on
                .query_row(params![eid, day], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?,
            Some(d) => Some((d, refill_days)),
            None => None,
        };
        let flagged = match service {
            Service::Art => matches!(
                rules::art_status(refill, day, &t),
                rules::ArtStatus::Overdue { .. } | rules::ArtStatus::Interrupted { .. }
            ),
            _ => !matches!(
                rules::methadone_action(rules::methadone_missed_days(dose, refill, day, &t), &t),
                rules::MethadoneAction::OnTrack | rules::MethadoneAction::Missed { .. }
            ),
        };
        if flagged {
            services.insert(client_id, code);
        }
        active.push((eid, client_id, dose, refill));
    }
    // The flagged clients' active enrollments, with those latest events.
    let sql = format!("{} WHERE id = ?1", select_sql::<Enrollment>());
    let mut enrollment_sql = conn.prepare_cached(&sql)?;
    let mut facts: HashMap<Uuid, History> = HashMap::new();
    for (eid, client_id, dose, refill) in active {
        if !services.contains_key(&client_id) {
            continue;
        }
        let e = enrollment_sql
            .query_row([eid], saved_from_row::<Enrollment>)?
            .data;
        let h = facts.entry(client_id).or_default();
        let event = |date: NaiveDate, kind, days| ServiceEvent {
            enrollment_id: eid,
            client_id,
            date,
            kind,
            days_supplied: days,
            dose_mg: None,
            cause: None,
            notes: None,
        };
        if let Some(d) = dose {
            h.events.push(event(d, ServiceEventKind::Dose, None));
        }
        if let Some((d, days)) = refill {
            h.events.push(event(d, ServiceEventKind::Refill, days));
        }
        h.enrollments.push((eid, e));
    }
    // Clients whose last contact is old enough to be lost to follow-up
    // (or after `day`, when looking back), from the activity index.
    let cutoff = crate::domain::add_days(day, -t.lost_after_days);
    let mut last_contact: HashMap<Uuid, (String, History)> = HashMap::new();
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT client_id, code, status, registered_on, last_contact FROM client_activity
         WHERE open = 1 AND last_contact IS NULL AND (?3 IS NULL OR worker = ?3)
         UNION ALL
         SELECT client_id, code, status, registered_on, last_contact FROM client_activity
         WHERE open = 1 AND last_contact < ?1 AND (?3 IS NULL OR worker = ?3)
         UNION ALL
         SELECT client_id, code, status, registered_on, last_contact FROM client_activity
         WHERE open = 1 AND last_contact > ?2 AND (?3 IS NULL OR worker = ?3)",
    )?;
    let rows = stmt.query_map(params![cutoff, day, worker], |r| {
        Ok((
            r.get::<_, Uuid>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, CaseStatus>(2)?,
            date_at(r, 3)?,
            date_at(r, 4)?,
        ))
    })?;
    let mut before_day = conn.prepare_cached(
        "SELECT max(date) FROM contacts WHERE client_id = ?1 AND deleted = 0 AND date <= ?2",
    )?;
    for row in rows {
        let (id, code, status, registered_on, mut last) = row?;
        if last.is_some_and(|l| l > day) {
            last = before_day.query_row(params![id, day], |r| r.get(0))?;
        }
        let h = History {
            contacts: last.into_iter().collect(),
            registered_on,
            status: Some(status),
            ..Default::default()
        };
        let Some(days) = rules::lost_to_follow_up(&h, day, &t) else {
            continue;
        };
        if full.contains_key(&id) || services.contains_key(&id) {
            last_contact.insert(id, (code, h));
        } else {
            // Nothing else to know of them: with no service or stay to
            // assess, their state is this one rule's answer.
            let state = rules::ContinuityState {
                day,
                services: Vec::new(),
                detained: None,
                needs_relinkage: None,
                lost_to_follow_up: Some(days),
            };
            out.extend(rules::entries(id, &code, &state));
        }
    }
    // Candidates for the other lists need their last contact too.
    for id in full.keys().chain(services.keys()) {
        if last_contact.contains_key(id) {
            continue;
        }
        let (code, status, registered_on): (String, CaseStatus, Option<NaiveDate>) = conn
            .prepare_cached(
                "SELECT code, status, registered_on FROM client_activity WHERE client_id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let last: Option<NaiveDate> = before_day.query_row(params![id, day], |r| r.get(0))?;
        let h = History {
            contacts: last.into_iter().collect(),
            registered_on,
            status: Some(status),
            ..Default::default()
        };
        last_contact.insert(*id, (code, h));
    }
    let mut seen = std::collections::HashSet::new();
    for (id, code) in full.iter().chain(services.iter()) {
        if !seen.insert(*id) {
            continue;
        }
        let mut h = if full.contains_key(id) {
            let mut h = service_history_on(conn, *id)?;
            let mut stmt = conn.prepare_cached(stays_sql())?;
            h.stays = stmt
                .query_map([id], stay_from_row)?
                .collect::<Result<_, _>>()?;
            h
        } else {
            // The latest dose and refill of each active enrollment, read
            // above, are all the service rules look at.
            facts.remove(id).unwrap_or_default()
        };
        // Every candidate's contact facts were read above; without them
        // (no dates at all) the lost-to-follow-up rule has nothing to say.
        if let Some((_, c)) = last_contact.remove(id) {
            h.contacts = c.contacts;
            h.registered_on = c.registered_on;
            h.status = c.status;
        }
        out.extend(rules::entries(*id, code, &rules::assess(&h, day, &t)));
    }
    out.sort_unstable_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(b.days.cmp(&a.days))
            .then(a.client_code.cmp(&b.client_code))
            .then(a.reason.cmp(&b.reason))
    });
    Ok(out)
}
