//! One demo client's story, written part by part from one random stream:
//! who they are, their arrests and stays, their contacts, methadone, ART
//! and follow-ups. The order of the parts (and of every draw in them) is
//! the data: a part moved or a draw added changes every client after it.

mod contacts;
mod custody;
mod treatment;

pub(super) use contacts::contacts;
pub(super) use custody::custody;
pub(super) use treatment::{art, methadone};

use crate::demo::data::*;
use crate::demo::{DemoContext, crackdown_start, day_ms, pick, uuid_at, weighted};
use crate::domain::*;
use crate::store::Batch;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// A client being generated: the random stream, the records written so
/// far, and the facts the later parts bend around.
pub(super) struct Story<'a> {
    rng: ChaCha8Rng,
    b: Batch,
    ctx: &'a DemoContext,
    index: u64,
    today: NaiveDate,
    stamp: u64,
    crackdown: NaiveDate,
    client_id: Uuid,
    client: Client,
    province: &'static str,
    injects: bool,
    hiv_positive: bool,
    registered: NaiveDate,
    worker: Option<Uuid>,
    /// (start, end) of every stay.
    stays: Vec<(NaiveDate, Option<NaiveDate>)>,
}

impl Story<'_> {
    /// Whether a stay holds the client on `day`.
    fn detained_on(stays: &[(NaiveDate, Option<NaiveDate>)], day: NaiveDate) -> bool {
        stays
            .iter()
            .any(|(s, e)| *s <= day && e.is_none_or(|e| e > day))
    }
}

/// Who the client is: place, sex, key populations, substances, HIV status,
/// registration, names and worker.
pub(super) fn person<'a>(
    seed: u64,
    index: u64,
    ctx: &'a DemoContext,
    today: NaiveDate,
) -> Story<'a> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rng = &mut rng;
    rng.set_stream(index);
    let stamp = day_ms(today) + 1 + index;
    let window_start = today - Duration::days(730);
    let crackdown = crackdown_start(today);

    let weights: Vec<(usize, u32)> = PROVINCES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.2))
        .collect();
    let (province, prefix, _) = PROVINCES[weighted(rng, &weights)];
    let districts = DISTRICTS
        .iter()
        .find(|d| d.0 == province)
        .map(|d| d.1)
        .unwrap_or(&[]);
    let district = if districts.is_empty() {
        None
    } else {
        Some((*pick(rng, districts)).to_owned())
    };
    let sex = weighted(
        rng,
        &[
            (Sex::Male, 80),
            (Sex::Female, 16),
            (Sex::Other, 3),
            (Sex::Unknown, 1),
        ],
    );
    let injects = rng.random_bool(0.45);
    let mut key_populations = vec![if injects {
        KeyPopulation::Pwid
    } else {
        KeyPopulation::Pwud
    }];
    if sex == Sex::Female && rng.random_bool(0.3) {
        key_populations.push(KeyPopulation::SexWorker);
    }
    if sex == Sex::Male && rng.random_bool(0.07) {
        key_populations.push(KeyPopulation::Msm);
    }
    if sex == Sex::Other {
        key_populations.push(KeyPopulation::Transgender);
    }
    let mut substances = Vec::new();
    if injects {
        substances.push(Substance::Heroin);
        if rng.random_bool(0.4) {
            substances.push(Substance::Methamphetamine);
        }
    } else {
        substances.push(if rng.random_bool(0.65) {
            Substance::Methamphetamine
        } else {
            Substance::Yama
        });
        if rng.random_bool(0.25) {
            substances.push(Substance::Yama);
        }
        if rng.random_bool(0.08) {
            substances.push(Substance::Cannabis);
        }
        if rng.random_bool(0.03) {
            substances.push(Substance::Inhalants);
        }
    }
    substances.dedup();
    let hiv_positive = rng.random_bool(if injects { 0.24 } else { 0.05 });
    let hiv_status = if hiv_positive {
        HivStatus::Positive
    } else if rng.random_bool(0.6) {
        HivStatus::Negative
    } else {
        HivStatus::Unknown
    };

    // Registered somewhere in the two years, more of them early on.
    let reg_offset = (rng.random::<f64>().powf(1.6) * 700.0) as i64;
    let registered = window_start + Duration::days(reg_offset);
    let khmer = rng.random_bool(0.5);
    let nickname = rng.random_bool(0.75).then(|| {
        if khmer {
            (*pick(rng, NICKNAMES_KM)).to_owned()
        } else {
            (*pick(rng, NICKNAMES_LATIN)).to_owned()
        }
    });
    let name = rng.random_bool(0.3).then(|| {
        if khmer {
            format!("{} {}", pick(rng, FAMILY_KM), pick(rng, GIVEN_KM))
        } else {
            format!("{} {}", pick(rng, FAMILY_LATIN), pick(rng, GIVEN_LATIN))
        }
    });
    let phone = rng.random_bool(0.4).then(|| {
        format!(
            "{} {:03} {:03}",
            pick(rng, PHONE_PREFIXES),
            rng.random_range(0..1000),
            rng.random_range(0..1000)
        )
    });
    let local_workers: Vec<Uuid> = ctx
        .workers
        .iter()
        .filter(|w| w.1 == province)
        .map(|w| w.0)
        .collect();
    let worker = if local_workers.is_empty() {
        ctx.workers.first().map(|w| w.0)
    } else {
        Some(*pick(rng, &local_workers))
    };
    let birth_year = rng
        .random_bool(0.95)
        .then(|| today.year() - rng.random_range(17..56));
    let client_id = uuid_at(rng, stamp);
    let client = Client {
        code: format!("{prefix}-{:06}", index + 1),
        nickname,
        name,
        sex,
        gender: (sex == Sex::Other).then(|| "transgender woman".to_owned()),
        birth_year,
        phone,
        province: Some(province.to_owned()),
        district,
        commune: None,
        key_populations,
        substances: substances.clone(),
        hiv_status,
        hiv_last_test: None,
        consent_date: Some(registered),
        consent_scope: Some("services and case follow-up".into()),
        assigned_worker: worker,
        status: CaseStatus::Active,
        registered_on: Some(registered),
        notes: None,
    };
    Story {
        rng: rng.clone(),
        b: Batch::default(),
        ctx,
        index,
        today,
        stamp,
        crackdown,
        client_id,
        client,
        province,
        injects,
        hiv_positive,
        registered,
        worker,
        stays: Vec::new(),
    }
}

/// A few open follow-ups by hand.
pub(super) fn followups(s: &mut Story<'_>) {
    let (today, stamp, client_id, worker) = (s.today, s.stamp, s.client_id, s.worker);
    let Story { rng, b, .. } = s;
    // A few open follow-ups by hand.
    if rng.random_bool(0.05) {
        let due = today + Duration::days(rng.random_range(-10..14));
        b.followups.push((
            uuid_at(rng, stamp),
            FollowUp {
                client_id,
                worker_id: worker,
                due,
                reason: (*pick(
                    rng,
                    &[
                        "Bring HIV test result",
                        "Accompany to TB screening",
                        "Check on after release",
                        "Help with ID card for clinic",
                    ],
                ))
                .into(),
                rule: None,
                source_id: None,
                done_on: None,
                outcome: None,
            },
        ));
    }
}

/// The records written, the client last.
pub(super) fn finish(s: Story<'_>) -> Batch {
    let mut b = s.b;
    b.clients.push((s.client_id, s.client));
    b
}
