//! Writes that span several records: a transfer between detention places,
//! and a raid that arrests many clients at once. Each is one transaction.

use super::records::{create_in_tx, update_in_tx};
use super::{Store, StoreError};
use crate::domain::*;
use chrono::NaiveDate;
use uuid::Uuid;

/// Who was caught in a raid: a known client, or a new person with a minimal record.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per user action; size does not matter
pub enum RaidPerson {
    Existing(Uuid),
    New(Client),
}

/// A raid: one arrest template applied to every person, and optionally a
/// detention for each at one place, starting on the raid's date.
#[derive(Debug, Clone, PartialEq)]
pub struct Raid {
    /// Date, place, authority, reasons... (`client_id` is ignored).
    pub arrest: Arrest,
    pub people: Vec<RaidPerson>,
    /// Where they were taken, and on what basis.
    pub detain_at: Option<(Uuid, DetentionBasis)>,
}

/// What a raid wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct RaidResult {
    pub raid_id: Uuid,
    pub arrests: Vec<Uuid>,
    pub detentions: Vec<Uuid>,
    pub new_clients: Vec<Uuid>,
}

fn about(code: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Invalid(v) => StoreError::Invalid(ValidationError::Inconsistent {
            field: v.field(),
            reason: format!("{code}: {v}"),
        }),
        other => other,
    }
}

impl Store {
    /// Ends an open stay on `date` as a transfer and starts the next one at
    /// `to` the same day (the two share that boundary day).
    pub fn transfer(
        &mut self,
        detention_id: Uuid,
        date: NaiveDate,
        to: Uuid,
        basis: Option<DetentionBasis>,
    ) -> Result<Saved<Detention>, StoreError> {
        self.require(Permission::EditRecords)?;
        let current: Saved<Detention> = self.get(detention_id)?;
        if current.end.is_some() {
            return Err(ValidationError::Inconsistent {
                field: "end",
                reason: "this stay has already ended".into(),
            }
            .into());
        }
        let mut ended = current.data.clone();
        ended.end = Some(date);
        ended.release_reason = Some(ReleaseReason::Transferred);
        let next = Detention {
            client_id: current.client_id,
            location_id: to,
            start: date,
            end: None,
            basis: basis.or(current.basis),
            arrest_id: current.arrest_id,
            release_reason: None,
            notes: None,
        };
        let id = self.write(|tx, ctx| {
            update_in_tx(tx, ctx, detention_id, &current.data, &ended)?;
            create_in_tx(tx, ctx, &next)
        })?;
        self.get(id)
    }

    /// Records a raid: new clients, one arrest each, and detentions, all or nothing.
    pub fn record_raid(&mut self, raid: &Raid) -> Result<RaidResult, StoreError> {
        self.require(Permission::EditRecords)?;
        if raid.people.is_empty() {
            return Err(ValidationError::Required { field: "clients" }.into());
        }
        let raid_id = Uuid::now_v7();
        let mut codes = Vec::new();
        for person in &raid.people {
            codes.push(match person {
                RaidPerson::Existing(id) => self.get::<Client>(*id)?.data.code,
                RaidPerson::New(c) => normalize_code(&c.code),
            });
        }
        self.write(|tx, ctx| {
            let mut result = RaidResult {
                raid_id,
                arrests: Vec::new(),
                detentions: Vec::new(),
                new_clients: Vec::new(),
            };
            for (person, code) in raid.people.iter().zip(&codes) {
                let client_id = match person {
                    RaidPerson::Existing(id) => *id,
                    RaidPerson::New(client) => {
                        let id = create_in_tx(tx, ctx, client).map_err(|e| about(code, e))?;
                        result.new_clients.push(id);
                        id
                    }
                };
                let arrest = Arrest {
                    client_id,
                    raid_id: Some(raid_id),
                    ..raid.arrest.clone()
                };
                let arrest_id = create_in_tx(tx, ctx, &arrest).map_err(|e| about(code, e))?;
                result.arrests.push(arrest_id);
                if let Some((location_id, basis)) = raid.detain_at {
                    let stay = Detention {
                        client_id,
                        location_id,
                        start: raid.arrest.date,
                        end: None,
                        basis: Some(basis),
                        arrest_id: Some(arrest_id),
                        release_reason: None,
                        notes: None,
                    };
                    result
                        .detentions
                        .push(create_in_tx(tx, ctx, &stay).map_err(|e| about(code, e))?);
                }
            }
            ctx.audit(
                tx,
                AuditAction::Create,
                Some("raid"),
                Some(raid_id),
                &format!(
                    "arrests={} new_clients={}",
                    result.arrests.len(),
                    result.new_clients.len()
                ),
            )?;
            Ok(result)
        })
    }
}
