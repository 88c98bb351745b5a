//! Realistic, deterministic demo data for Cambodia's crackdown context
//! (see shared/CONTEXT.md): a detention-location registry, outreach workers,
//! clients with Khmer and romanised nicknames, two years of contacts with a
//! crackdown wave from January, arrests, detentions with transfers, and
//! methadone and ART enrollments with refills, missed doses and
//! interruptions in detention.
//!
//! Each client is generated from the seed and its index alone
//! ([`generate_client`]), so any client can be generated again to check what
//! was written; clients are written in batches, each client with all its
//! records in the same transaction.

mod data;
mod story;

use crate::domain::*;
use crate::store::{Batch, Store, StoreError};
use chrono::{Datelike, Duration, NaiveDate};
use data::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Clients per transaction.
pub const BATCH_CLIENTS: usize = 500;

/// The staff and registry ids the generated clients refer to.
#[derive(Debug, Clone)]
pub struct DemoContext {
    /// (user id, province) of outreach workers.
    pub workers: Vec<(Uuid, String)>,
    /// (location id, location).
    pub locations: Vec<(Uuid, Location)>,
}

/// What a demo run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    pub clients: usize,
    pub contacts: usize,
    pub arrests: usize,
    pub detentions: usize,
    pub enrollments: usize,
    pub service_events: usize,
}

/// Parameters of a demo run.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub clients: usize,
    pub seed: u64,
    /// The last day of the generated history (normally today).
    pub today: NaiveDate,
}

/// A deterministic UUID v7. Its time part is the generation order (the day
/// the data is generated for, plus one millisecond per client), so new ids
/// append to the end of every index instead of landing at random: that is
/// what keeps a 100,000-client run fast.
fn uuid_at(rng: &mut ChaCha8Rng, stamp_ms: u64) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    uuid::Builder::from_unix_timestamp_millis(stamp_ms, &bytes).into_uuid()
}

/// Milliseconds of midnight (UTC) of `day`.
fn day_ms(day: NaiveDate) -> u64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis().max(0) as u64)
        .unwrap_or(0)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if roll < *w {
            return *item;
        }
        roll -= w;
    }
    items[0].0
}

/// The first day of the crackdown wave: January of this year.
fn crackdown_start(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
}

/// Ensures the staff and the registry exist (created once, found by name
/// afterwards) and returns their ids.
pub fn prepare(store: &mut Store, seed: u64, today: NaiveDate) -> Result<DemoContext, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let mut batch = Batch::default();
    let mut workers = Vec::new();
    for (username, display, role, province) in STAFF {
        let id = match store.user_by_name(username)? {
            Some(u) => u.id(),
            None => {
                let id = uuid_at(&mut rng, day_ms(today));
                batch.users.push((
                    id,
                    User {
                        username: (*username).into(),
                        display_name: (*display).into(),
                        role: *role,
                        active: true,
                        language: "en".into(),
                    },
                ));
                id
            }
        };
        if *role == Role::Outreach {
            workers.push((id, (*province).to_owned()));
        }
    }
    let mut locations = Vec::new();
    for (i, (name, kind, province, methadone, art, access)) in REGISTRY.iter().enumerate() {
        let location = Location {
            name: (*name).into(),
            kind: *kind,
            province: Some((*province).into()),
            methadone: *methadone,
            art: *art,
            ngo_access: *access,
            contact: None,
            last_verified: Some(today - Duration::days(20 + 9 * i as i64)),
            notes: None,
        };
        match store.location_by_name(name)? {
            Some(saved) => locations.push((saved.id(), saved.data)),
            None => {
                let id = uuid_at(&mut rng, day_ms(today));
                batch.locations.push((id, location.clone()));
                locations.push((id, location));
            }
        }
    }
    if !batch.is_empty() {
        store.write_batch(&batch, "demo staff and registry")?;
    }
    Ok(DemoContext { workers, locations })
}

/// Generates client number `index` and everything about them, from the seed alone.
pub fn generate_client(seed: u64, index: u64, ctx: &DemoContext, today: NaiveDate) -> Batch {
    let mut s = story::person(seed, index, ctx, today);
    story::custody(&mut s);
    story::contacts(&mut s);
    story::methadone(&mut s);
    story::art(&mut s);
    story::followups(&mut s);
    story::finish(s)
}

fn merge(into: &mut Batch, from: Batch) {
    into.clients.extend(from.clients);
    into.contacts.extend(from.contacts);
    into.arrests.extend(from.arrests);
    into.detentions.extend(from.detentions);
    into.enrollments.extend(from.enrollments);
    into.service_events.extend(from.service_events);
    into.followups.extend(from.followups);
}

/// The index the next demo client gets: after every client already in the database.
pub fn first_index(store: &Store) -> Result<u64, StoreError> {
    store.client_rows_ever().map(|n| n as u64)
}

/// Generates and writes `config.clients` clients, `BATCH_CLIENTS` per
/// transaction; `progress(done, total)` is called after each batch.
pub fn run(
    store: &mut Store,
    config: &DemoConfig,
    progress: impl FnMut(usize, usize),
) -> Result<DemoSummary, StoreError> {
    store.with_bulk_cache(|store| generate(store, config, progress))
}

fn generate(
    store: &mut Store,
    config: &DemoConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<DemoSummary, StoreError> {
    let ctx = prepare(store, config.seed, config.today)?;
    let first = first_index(store)?;
    let mut summary = DemoSummary::default();
    let mut done = 0usize;
    while done < config.clients {
        let n = BATCH_CLIENTS.min(config.clients - done);
        let mut batch = Batch::default();
        for i in 0..n {
            merge(
                &mut batch,
                generate_client(config.seed, first + (done + i) as u64, &ctx, config.today),
            );
        }
        summary.clients += batch.clients.len();
        summary.contacts += batch.contacts.len();
        summary.arrests += batch.arrests.len();
        summary.detentions += batch.detentions.len();
        summary.enrollments += batch.enrollments.len();
        summary.service_events += batch.service_events.len();
        store.write_batch(&batch, "demo data")?;
        done += n;
        progress(done, config.clients);
    }
    // The follow-ups the continuity rules call for on the last day.
    store.sync_rule_followups(config.today)?;
    store.optimize();
    Ok(summary)
}
