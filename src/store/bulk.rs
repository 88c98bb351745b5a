//! Bulk writes (demo data, and later imports): many records in one
//! transaction with one audit entry, through prepared statements.

use super::records::insert_in_tx;
use super::{Record, Store, StoreError};
use crate::domain::*;
use uuid::Uuid;

/// Records to write together, each with its id chosen by the caller.
/// Written in dependency order: users, locations, clients, then the rest.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    pub users: Vec<(Uuid, User)>,
    pub locations: Vec<(Uuid, Location)>,
    pub clients: Vec<(Uuid, Client)>,
    pub contacts: Vec<(Uuid, Contact)>,
    pub arrests: Vec<(Uuid, Arrest)>,
    pub detentions: Vec<(Uuid, Detention)>,
    pub enrollments: Vec<(Uuid, Enrollment)>,
    pub service_events: Vec<(Uuid, ServiceEvent)>,
    pub followups: Vec<(Uuid, FollowUp)>,
}

impl Batch {
    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.users.len()
            + self.locations.len()
            + self.clients.len()
            + self.contacts.len()
            + self.arrests.len()
            + self.detentions.len()
            + self.enrollments.len()
            + self.service_events.len()
            + self.followups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn summary(&self) -> String {
        format!(
            "users={} locations={} clients={} contacts={} arrests={} detentions={} enrollments={} service_events={} followups={}",
            self.users.len(),
            self.locations.len(),
            self.clients.len(),
            self.contacts.len(),
            self.arrests.len(),
            self.detentions.len(),
            self.enrollments.len(),
            self.service_events.len(),
            self.followups.len()
        )
    }
}

fn validate_all<R: Record>(
    records: &[(Uuid, R)],
    today: chrono::NaiveDate,
) -> Result<(), StoreError> {
    for (_, r) in records {
        r.validate(today)?;
    }
    Ok(())
}

fn insert_all<R: Record>(
    tx: &rusqlite::Transaction<'_>,
    ctx: &super::WriteCtx,
    records: &[(Uuid, R)],
) -> Result<(), StoreError> {
    for (id, r) in records {
        insert_in_tx(tx, ctx, *id, r)?;
    }
    Ok(())
}

impl Store {
    /// Writes a whole batch in one transaction, or nothing. Every record is
    /// validated; references are enforced by the database's foreign keys and
    /// code/name uniqueness by its unique indexes. One audit entry (`import`)
    /// records what was written and why (`source`).
    pub fn write_batch(&mut self, batch: &Batch, source: &str) -> Result<(), StoreError> {
        self.require(Permission::Import)?;
        if !batch.users.is_empty() {
            self.require(Permission::ManageUsers)?;
        }
        self.write(|tx, ctx| {
            validate_all(&batch.users, ctx.today)?;
            validate_all(&batch.locations, ctx.today)?;
            validate_all(&batch.clients, ctx.today)?;
            validate_all(&batch.contacts, ctx.today)?;
            validate_all(&batch.arrests, ctx.today)?;
            validate_all(&batch.detentions, ctx.today)?;
            validate_all(&batch.enrollments, ctx.today)?;
            validate_all(&batch.service_events, ctx.today)?;
            validate_all(&batch.followups, ctx.today)?;
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('bulk_write', '1')", [])?;
            insert_all(tx, ctx, &batch.users)?;
            insert_all(tx, ctx, &batch.locations)?;
            insert_all(tx, ctx, &batch.clients)?;
            insert_all(tx, ctx, &batch.contacts)?;
            insert_all(tx, ctx, &batch.arrests)?;
            insert_all(tx, ctx, &batch.detentions)?;
            insert_all(tx, ctx, &batch.enrollments)?;
            insert_all(tx, ctx, &batch.service_events)?;
            insert_all(tx, ctx, &batch.followups)?;
            // Each client's latest contact, once per client.
            let mut latest: std::collections::HashMap<Uuid, chrono::NaiveDate> = std::collections::HashMap::new();
            for (_, c) in &batch.contacts {
                let e = latest.entry(c.client_id).or_insert(c.date);
                if c.date > *e {
                    *e = c.date;
                }
            }
            let mut update = tx.prepare_cached(
                "UPDATE client_activity SET last_contact = ?2 WHERE client_id = ?1 AND (last_contact IS NULL OR last_contact < ?2)",
            )?;
            for (client, date) in latest {
                update.execute(rusqlite::params![client, date])?;
            }
            tx.execute("DELETE FROM meta WHERE key = 'bulk_write'", [])?;
            ctx.audit(
                tx,
                AuditAction::Import,
                None,
                None,
                &format!("{source}: {}", batch.summary()),
            )?;
            Ok(())
        })
    }
}
