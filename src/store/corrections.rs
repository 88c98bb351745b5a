//! Correcting, removing and moving records, and reading who changed what.
//!
//! Whether someone may correct a record is `Role::may_correct` (domain):
//! coordinators and admins any record, everyone else what they entered
//! themselves within seven days. Who entered a record, and when, is its
//! first audit entry on this laptop (for a record that came from another
//! laptop: nobody here, at its creation time). A correction is an update
//! like any other (validated, version-stamped for sync, audited, continuity
//! re-evaluated); a removal is a tombstone with its reason in the audit log.

use super::records::Record;
use super::{Store, StoreError};
use crate::domain::*;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

/// Who entered a record here, and when (unix ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entered {
    pub by: Option<Uuid>,
    pub at_ms: i64,
}

/// What else a removal changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalEffect {
    /// This many detention stays record the arrest: they stay, no longer
    /// linked to it.
    StaysUnlinked(i64),
    /// This many open follow-ups the rules opened for the stay (a visit, a
    /// re-linkage) go with it.
    FollowUpsRemoved(i64),
    /// This many doses, refills and other events of the enrollment go with it.
    EventsRemoved(i64),
}

impl std::fmt::Display for RemovalEffect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemovalEffect::StaysUnlinked(n) => write!(
                f,
                "{n} detention stay(s) record this arrest; they stay, no longer linked to it"
            ),
            RemovalEffect::FollowUpsRemoved(n) => write!(
                f,
                "{n} open follow-up(s) the rules opened for this stay are removed with it"
            ),
            RemovalEffect::EventsRemoved(n) => write!(
                f,
                "{n} dose(s), refill(s) or other event(s) of this enrollment are removed with it"
            ),
        }
    }
}

/// Open follow-ups the rules opened for a stay: removed with it.
const DEPENDENT_FOLLOWUPS: &str = "SELECT id FROM followups WHERE source_id = ?1 AND rule IS NOT NULL AND done_on IS NULL AND deleted = 0";
const DEPENDENT_FOLLOWUPS_COUNT: &str = "SELECT count(*) FROM followups WHERE source_id = ?1 AND rule IS NOT NULL AND done_on IS NULL AND deleted = 0";
/// An enrollment's events: removed with it.
const DEPENDENT_EVENTS: &str =
    "SELECT id FROM service_events WHERE enrollment_id = ?1 AND deleted = 0";
const DEPENDENT_EVENTS_COUNT: &str =
    "SELECT count(*) FROM service_events WHERE enrollment_id = ?1 AND deleted = 0";

/// Records that belong to one client and can be moved to another.
pub trait ClientRecord: Record {
    fn client(&self) -> Uuid;
    fn set_client(&mut self, client_id: Uuid);
}

macro_rules! client_record {
    ($($t:ty),+) => {$(
        impl ClientRecord for $t {
            fn client(&self) -> Uuid {
                self.client_id
            }
            fn set_client(&mut self, client_id: Uuid) {
                self.client_id = client_id;
            }
        }
    )+};
}
client_record!(Contact, Arrest, Detention);

/// The audit's first creation entry of a record (made here, or merged from
/// the laptop where it was made): who, and when (ms).
pub(crate) fn first_created(
    conn: &rusqlite::Connection,
    id: Uuid,
) -> Result<Option<(Option<Uuid>, i64)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id, at FROM audit WHERE record_id = ?1 AND action = 'create' ORDER BY seq LIMIT 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

impl Store {
    /// Who entered the record `id` of kind `R`, and when.
    pub fn entered<R: Record>(&self, id: Uuid) -> Result<Entered, StoreError> {
        match first_created(self.conn(), id)? {
            Some((by, at_ms)) => Ok(Entered { by, at_ms }),
            None => {
                let saved: Saved<R> = self.get(id)?;
                Ok(Entered {
                    by: None,
                    at_ms: saved.meta.created_at.timestamp_millis(),
                })
            }
        }
    }

    /// Refuses unless the logged-in user may correct or remove this record.
    pub(crate) fn require_correction<R: Record>(&self, id: Uuid) -> Result<(), StoreError> {
        self.require(R::WRITE)?;
        let entered = self.entered::<R>(id)?;
        let me = self.user();
        if me
            .role
            .may_correct(entered.by == Some(me.id), entered.at_ms, self.now_ms())
        {
            Ok(())
        } else {
            Err(StoreError::Forbidden {
                role: me.role,
                permission: Permission::CorrectAnyRecord,
            })
        }
    }

    /// Corrects a record: the correction rule, then the same validation and
    /// write as [`Store::update`].
    pub fn correct<R: Record>(&mut self, id: Uuid, data: R) -> Result<Saved<R>, StoreError> {
        self.require_correction::<R>(id)?;
        self.update(id, data)
    }

    /// What else removing the record `id` of kind `R` changes, for the
    /// screen to say (in its language) and ask first.
    pub fn removal_effects<R: Record>(&self, id: Uuid) -> Result<Vec<RemovalEffect>, StoreError> {
        let (sql, effect): (&str, fn(i64) -> RemovalEffect) = match R::TABLE {
            "arrests" => (
                "SELECT count(*) FROM detentions WHERE arrest_id = ?1 AND deleted = 0",
                RemovalEffect::StaysUnlinked,
            ),
            "detentions" => (DEPENDENT_FOLLOWUPS_COUNT, RemovalEffect::FollowUpsRemoved),
            "enrollments" => (DEPENDENT_EVENTS_COUNT, RemovalEffect::EventsRemoved),
            _ => return Ok(Vec::new()),
        };
        let n: i64 = self.conn().query_row(sql, [id], |r| r.get(0))?;
        Ok(if n > 0 { vec![effect(n)] } else { Vec::new() })
    }

    /// Removes a record with a reason: a tombstone, never a hard delete,
    /// audited with the reason. When other records point to it (see
    /// [`Store::removal_effects`]) `confirmed` must be true; they are then
    /// unlinked, each audited. Clients are deleted with [`Store::delete`].
    pub fn remove<R: Record>(
        &mut self,
        id: Uuid,
        reason: RemovalReason,
        confirmed: bool,
    ) -> Result<(), StoreError> {
        if R::TABLE == "clients" {
            return Err(ValidationError::Inconsistent {
                field: "id",
                reason: "a client is deleted from their profile by a coordinator, not removed as a record".into(),
            }
            .into());
        }
        self.require_correction::<R>(id)?;
        let effects = self.removal_effects::<R>(id)?;
        if !effects.is_empty() && !confirmed {
            return Err(ValidationError::Inconsistent {
                field: "id",
                reason: format!(
                    "removing it changes more: {}",
                    effects
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }
            .into());
        }
        self.write(|tx, ctx| {
            // What goes with a stay or an enrollment entered in error.
            let (dependents, kind) = match R::TABLE {
                "detentions" => (Some(DEPENDENT_FOLLOWUPS), "followup"),
                "enrollments" => (Some(DEPENDENT_EVENTS), "service_event"),
                _ => (None, ""),
            };
            if let Some(sql) = dependents {
                let ids: Vec<Uuid> = tx
                    .prepare_cached(sql)?
                    .query_map([id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let table = if kind == "followup" { "followups" } else { "service_events" };
                for dependent in ids {
                    tx.execute(
                        &format!("UPDATE {table} SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1"),
                        params![dependent, ctx.now, ctx.user_id, ctx.device_id],
                    )?;
                    ctx.audit(
                        tx,
                        AuditAction::Delete,
                        Some(kind),
                        Some(dependent),
                        &format!("removed with its {}: {}", R::KIND, reason.as_str()),
                    )?;
                }
            }
            if R::TABLE == "arrests" {
                let linked: Vec<Uuid> = tx
                    .prepare_cached(
                        "SELECT id FROM detentions WHERE arrest_id = ?1 AND deleted = 0",
                    )?
                    .query_map([id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for stay in linked {
                    tx.execute(
                        "UPDATE detentions SET arrest_id = NULL, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1",
                        params![stay, ctx.now, ctx.user_id, ctx.device_id],
                    )?;
                    ctx.audit(tx, AuditAction::Update, Some("detention"), Some(stay), "arrest_id")?;
                }
            }
            let n = tx.execute(
                &format!("UPDATE {} SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2), updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1 AND deleted = 0", R::TABLE),
                params![id, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            if n != 1 {
                return Err(StoreError::NoSuchRecord { kind: R::KIND, id });
            }
            ctx.audit(
                tx,
                AuditAction::Delete,
                Some(R::KIND),
                Some(id),
                &format!("removed: {}", reason.as_str()),
            )
        })
    }

    /// Moves a contact, arrest or stay to another client (the raid mistake:
    /// logged on the wrong person): a correction of its client, checked
    /// against that client's other records as a new one would be.
    pub fn move_to_client<R: ClientRecord>(
        &mut self,
        id: Uuid,
        to: Uuid,
    ) -> Result<Saved<R>, StoreError> {
        self.require_correction::<R>(id)?;
        let client: Saved<Client> = self.get(to)?;
        if client.meta.deleted {
            return Err(StoreError::NoSuchRecord {
                kind: "client",
                id: to,
            });
        }
        let old: Saved<R> = self.get(id)?;
        let from = old.data.client();
        if from == to {
            return Err(ValidationError::Inconsistent {
                field: "client_id",
                reason: "it already belongs to that client".into(),
            }
            .into());
        }
        let mut data = old.data.clone();
        data.set_client(to);
        // One transaction: the correction, and a line in the history of
        // the client it leaves (whose records no longer include it).
        self.write(|tx, ctx| {
            super::records::update_in_tx(tx, ctx, id, &old.data, &data)?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("client"),
                Some(from),
                &format!("{} {id} moved to client {to}", R::KIND),
            )
        })?;
        self.get(id)
    }

    /// Who created and changed a client and every record about them, when
    /// and on which laptop (the audit log; field names, never values),
    /// oldest first. Coordinators, managers and admins.
    pub fn client_history(&self, client_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        self.require(Permission::ViewAudit)?;
        let mut entries = self.audit_where(
            "record_id = ?1 OR record_id IN (
                SELECT id FROM contacts WHERE client_id = ?1
                UNION ALL SELECT id FROM arrests WHERE client_id = ?1
                UNION ALL SELECT id FROM detentions WHERE client_id = ?1
                UNION ALL SELECT id FROM enrollments WHERE client_id = ?1
                UNION ALL SELECT id FROM service_events WHERE client_id = ?1
                UNION ALL SELECT id FROM followups WHERE client_id = ?1)",
            client_id,
        )?;
        entries.reverse();
        Ok(entries)
    }
}
