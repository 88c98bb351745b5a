//! One demo client's story, written part by part from one random stream:
//! who they are, their arrests and stays, their contacts, methadone, ART
//! and follow-ups. The order of the parts (and of every draw in them) is
//! the data: a part moved or a draw added changes every client after it.

use super::data::*;
use super::{DemoContext, crackdown_start, day_ms, pick, uuid_at, weighted};
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

/// Arrests, police custody and transfers: first, since contacts and services bend around them.
pub(super) fn custody(s: &mut Story<'_>) {
    let (ctx, today, stamp, crackdown, client_id, province, injects, registered) = (
        s.ctx,
        s.today,
        s.stamp,
        s.crackdown,
        s.client_id,
        s.province,
        s.injects,
        s.registered,
    );
    let Story {
        rng,
        b,
        client,
        stays,
        ..
    } = s;
    // Arrests and detentions come first: contacts and services bend around them.
    let arrest_chance = |day: NaiveDate| if day >= crackdown { 0.17 } else { 0.03 };
    let mut cursor = registered;
    for _ in 0..3 {
        // One draw per period: before and during the crackdown.
        let (from, to, p) = if cursor < crackdown {
            (cursor, crackdown - Duration::days(1), arrest_chance(cursor))
        } else {
            (cursor, today, arrest_chance(cursor))
        };
        if from >= to {
            if cursor < crackdown {
                cursor = crackdown;
                continue;
            }
            break;
        }
        if !rng.random_bool(p) {
            if cursor < crackdown {
                cursor = crackdown;
                continue;
            }
            break;
        }
        let span = (to - from).num_days().max(1);
        // During the crackdown most arrests come in its first months.
        let offset = if from >= crackdown {
            (rng.random::<f64>().powf(2.2) * span as f64) as i64
        } else {
            rng.random_range(0..span)
        };
        let date = from + Duration::days(offset);
        let arrest_id = uuid_at(rng, stamp);
        let outcome = weighted(
            rng,
            &[
                (ArrestOutcome::Released, 22),
                (ArrestOutcome::ReleasedAfterPayment, 18),
                (ArrestOutcome::TreatmentCentre, 33),
                (ArrestOutcome::PreTrial, 20),
                (ArrestOutcome::Convicted, 4),
                (ArrestOutcome::Unknown, 3),
            ],
        );
        let mut reasons = vec![weighted(
            rng,
            &[
                (ArrestReason::Use, 45),
                (ArrestReason::Possession, 30),
                (ArrestReason::Sweep, 18),
                (ArrestReason::Trafficking, 4),
                (ArrestReason::Unknown, 3),
            ],
        )];
        if injects && rng.random_bool(0.2) {
            reasons.push(ArrestReason::Equipment);
        }
        let mut abuse = Vec::new();
        for (kind, p) in [
            (Abuse::Extortion, 0.2),
            (Abuse::Threats, 0.15),
            (Abuse::Violence, 0.1),
            (Abuse::MedicationConfiscated, 0.05),
        ] {
            if rng.random_bool(p) {
                abuse.push(kind);
            }
        }
        b.arrests.push((
            arrest_id,
            Arrest {
                client_id,
                date,
                province: Some(province.to_owned()),
                district: client.district.clone(),
                place: Some(
                    pick(
                        rng,
                        &[
                            "guesthouse raid",
                            "street sweep",
                            "hotspot under the bridge",
                            "market",
                            "home",
                            "checkpoint",
                        ],
                    )
                    .to_string(),
                ),
                authority: weighted(
                    rng,
                    &[
                        (Authority::AntiDrugPolice, 45),
                        (Authority::NationalPolice, 28),
                        (Authority::CommunePolice, 15),
                        (Authority::MilitaryPolice, 5),
                        (Authority::Unknown, 7),
                    ],
                ),
                reasons,
                informer_suspected: rng.random_bool(0.45),
                abuse,
                legal_aid: rng.random_bool(0.15),
                outcome,
                raid_id: None,
                notes: None,
            },
        ));
        // Police custody, then a transfer for most outcomes.
        let local: Vec<&(Uuid, Location)> = ctx
            .locations
            .iter()
            .filter(|l| l.1.province.as_deref() == Some(province))
            .collect();
        let any: Vec<&(Uuid, Location)> = ctx.locations.iter().collect();
        let choose = |rng: &mut ChaCha8Rng, kind: LocationKind| -> Option<Uuid> {
            let local_kind: Vec<_> = local.iter().filter(|l| l.1.kind == kind).collect();
            if let Some(l) = (!local_kind.is_empty()).then(|| pick(rng, &local_kind)) {
                return Some(l.0);
            }
            let any_kind: Vec<_> = any.iter().filter(|l| l.1.kind == kind).collect();
            (!any_kind.is_empty()).then(|| pick(rng, &any_kind).0)
        };
        let custody_days = rng.random_range(1..5);
        let custody_end = date + Duration::days(custody_days);
        let Some(station) = choose(rng, LocationKind::PoliceStation) else {
            break;
        };
        let next_place = match outcome {
            ArrestOutcome::TreatmentCentre => Some((
                if rng.random_bool(0.8) {
                    LocationKind::TreatmentCentre
                } else {
                    LocationKind::SocialAffairsCentre
                },
                DetentionBasis::CompulsoryTreatment,
                rng.random_range(60..365),
            )),
            ArrestOutcome::PreTrial => Some((
                LocationKind::Prison,
                DetentionBasis::PreTrial,
                rng.random_range(30..300),
            )),
            ArrestOutcome::Convicted => Some((
                LocationKind::Prison,
                DetentionBasis::Sentenced,
                rng.random_range(180..900),
            )),
            _ => None,
        };
        let close =
            |end: NaiveDate, reason: ReleaseReason| -> (Option<NaiveDate>, Option<ReleaseReason>) {
                if end > today {
                    (None, None)
                } else {
                    (Some(end), Some(reason))
                }
            };
        let (end1, reason1) = close(
            custody_end,
            if next_place.is_some() {
                ReleaseReason::Transferred
            } else {
                ReleaseReason::Released
            },
        );
        b.detentions.push((
            uuid_at(rng, stamp),
            Detention {
                client_id,
                location_id: station,
                start: date,
                end: end1,
                basis: Some(DetentionBasis::PoliceCustody),
                arrest_id: Some(arrest_id),
                release_reason: reason1,
                notes: None,
            },
        ));
        stays.push((date, end1));
        let mut last_end = end1;
        if let (Some((kind, basis, days)), Some(start2)) = (next_place, end1) {
            let loc = if kind == LocationKind::SocialAffairsCentre {
                ctx.locations.iter().find(|l| l.1.kind == kind).map(|l| l.0)
            } else {
                choose(rng, kind)
            };
            if let Some(loc) = loc {
                let end = start2 + Duration::days(days);
                let reason = weighted(
                    rng,
                    &[
                        (ReleaseReason::Released, 70),
                        (ReleaseReason::SentenceCompleted, 15),
                        (ReleaseReason::Bail, 8),
                        (ReleaseReason::Escaped, 4),
                        (ReleaseReason::Unknown, 3),
                    ],
                );
                let (end2, reason2) = close(end, reason);
                b.detentions.push((
                    uuid_at(rng, stamp),
                    Detention {
                        client_id,
                        location_id: loc,
                        start: start2,
                        end: end2,
                        basis: Some(basis),
                        arrest_id: Some(arrest_id),
                        release_reason: reason2,
                        notes: None,
                    },
                ));
                stays.push((start2, end2));
                last_end = end2;
            } else if let Some(last) = b.detentions.last_mut()
                && last.1.end.is_some()
            {
                // Nowhere to transfer to: released from police custody instead.
                last.1.release_reason = Some(ReleaseReason::Released);
            }
        }
        match last_end {
            Some(end) if end < today => cursor = end + Duration::days(rng.random_range(20..120)),
            _ => break,
        }
        if cursor >= today {
            break;
        }
    }
}

/// Contacts: about ten over their time in the programme, fewer in the crackdown, only visits while detained; then their case status.
pub(super) fn contacts(s: &mut Story<'_>) {
    let (ctx, today, stamp, crackdown, client_id, injects, hiv_positive, registered, worker) = (
        s.ctx,
        s.today,
        s.stamp,
        s.crackdown,
        s.client_id,
        s.injects,
        s.hiv_positive,
        s.registered,
        s.worker,
    );
    let Story {
        rng,
        b,
        client,
        stays,
        ..
    } = s;
    let detained_on = |day: NaiveDate| Story::detained_on(stays, day);
    // Contacts: about ten per client over their time in the programme, fewer
    // during the crackdown (clients hide), none while detained except visits.
    let n_contacts = rng.random_range(1..20);
    let active_days = (today - registered).num_days().max(1);
    let lost = rng.random_bool(0.12);
    let last_possible = if lost {
        registered + Duration::days((active_days / 2).max(1))
    } else {
        today
    };
    let span = (last_possible - registered).num_days().max(1);
    let mut dates = Vec::with_capacity(n_contacts);
    dates.push(registered);
    let mut tries = 0;
    while dates.len() < n_contacts && tries < n_contacts * 4 {
        tries += 1;
        let day = registered + Duration::days(rng.random_range(0..=span));
        if day >= crackdown && !rng.random_bool(0.55) {
            continue;
        }
        dates.push(day);
    }
    dates.sort_unstable();
    for day in dates {
        let detained = detained_on(day);
        if detained && !rng.random_bool(0.3) {
            continue;
        }
        let kind = if detained {
            ContactKind::DetentionVisit
        } else {
            weighted(
                rng,
                &[
                    (ContactKind::Street, 50),
                    (ContactKind::DropIn, 25),
                    (ContactKind::Phone, 10),
                    (ContactKind::Home, 5),
                    (ContactKind::Clinic, 7),
                    (ContactKind::Legal, 3),
                ],
            )
        };
        let mut contact = Contact::new(client_id, day, kind);
        contact.worker_id = if rng.random_bool(0.85) {
            worker
        } else {
            ctx.workers
                .get(rng.random_range(0..ctx.workers.len().max(1)))
                .map(|w| w.0)
        };
        if matches!(
            kind,
            ContactKind::Street | ContactKind::DropIn | ContactKind::Home
        ) {
            if injects {
                contact.needles_syringes = rng.random_range(5..31);
                if rng.random_bool(0.1) {
                    contact.naloxone = rng.random_range(1..3);
                }
            }
            contact.condoms = rng.random_range(0..11);
        }
        if !detained && rng.random_bool(0.1) {
            contact.hiv_test = HivTest::Done;
            contact.hiv_result = Some(if hiv_positive && day >= registered + Duration::days(30) {
                HivResult::Positive
            } else {
                HivResult::Negative
            });
            client.hiv_last_test = Some(day);
        } else if rng.random_bool(0.1) {
            contact.hiv_test = HivTest::Offered;
        }
        if rng.random_bool(0.1) {
            let referral = if injects && rng.random_bool(0.4) {
                Referral::Methadone
            } else if hiv_positive && rng.random_bool(0.5) {
                Referral::Art
            } else {
                *pick(
                    rng,
                    &[
                        Referral::Tb,
                        Referral::Hcv,
                        Referral::LegalAid,
                        Referral::Shelter,
                    ],
                )
            };
            contact.referrals.push(referral);
        }
        if matches!(kind, ContactKind::Street | ContactKind::Home) {
            contact.place = client.district.clone();
        }
        let id = uuid_at(rng, stamp);
        b.contacts.push((id, contact));
    }
    let last_contact = b.contacts.last().map(|c| c.1.date).unwrap_or(registered);
    if (today - last_contact).num_days() > 90 {
        client.status = CaseStatus::LostToFollowUp;
    }
    if rng.random_bool(0.01) {
        client.status = weighted(
            rng,
            &[
                (CaseStatus::Moved, 50),
                (CaseStatus::Exited, 35),
                (CaseStatus::Deceased, 15),
            ],
        );
    }
}

/// Methadone for some who inject heroin (one clinic in Phnom Penh).
pub(super) fn methadone(s: &mut Story<'_>) {
    let (today, stamp, client_id, province, injects, registered, index) = (
        s.today,
        s.stamp,
        s.client_id,
        s.province,
        s.injects,
        s.registered,
        s.index,
    );
    let Story { rng, b, stays, .. } = s;
    let detained_on = |day: NaiveDate| Story::detained_on(stays, day);
    // Methadone for some who inject heroin (one clinic in Phnom Penh).
    if injects && province == "Phnom Penh" && rng.random_bool(0.18) {
        let start = registered + Duration::days(rng.random_range(14..120));
        if start < today {
            let enrollment_id = uuid_at(rng, stamp);
            let mut dose = f64::from(rng.random_range(6..16u32) * 5);
            b.enrollments.push((
                enrollment_id,
                Enrollment {
                    client_id,
                    service: Service::Methadone,
                    provider: Some(METHADONE_CLINIC.into()),
                    number: Some(format!("MMT-{:05}", index + 1)),
                    start,
                    end: None,
                    status: EnrollmentStatus::Active,
                    dose_mg: Some(dose),
                    regimen: None,
                },
            ));
            // Daily observed doses for the last 45 days (earlier history stays
            // in the clinic's own register); missed days and detention gaps.
            let from = (today - Duration::days(45)).max(start);
            let mut day = from;
            let mut interrupted = false;
            while day <= today {
                if detained_on(day) {
                    if !interrupted {
                        b.service_events.push((
                            uuid_at(rng, stamp),
                            ServiceEvent {
                                enrollment_id,
                                client_id,
                                date: day,
                                kind: ServiceEventKind::Interruption,
                                days_supplied: None,
                                dose_mg: None,
                                cause: Some(InterruptionCause::Detention),
                                notes: None,
                            },
                        ));
                        interrupted = true;
                    }
                } else if rng.random_bool(0.06) {
                    let gap = rng.random_range(1..6);
                    for g in 0..gap {
                        let d = day + Duration::days(g);
                        if d <= today && !detained_on(d) {
                            b.service_events.push((
                                uuid_at(rng, stamp),
                                ServiceEvent {
                                    enrollment_id,
                                    client_id,
                                    date: d,
                                    kind: ServiceEventKind::Missed,
                                    days_supplied: None,
                                    dose_mg: None,
                                    cause: None,
                                    notes: None,
                                },
                            ));
                        }
                    }
                    day += Duration::days(gap - 1);
                } else {
                    if interrupted {
                        b.service_events.push((
                            uuid_at(rng, stamp),
                            ServiceEvent {
                                enrollment_id,
                                client_id,
                                date: day,
                                kind: ServiceEventKind::Resumed,
                                days_supplied: None,
                                dose_mg: None,
                                cause: None,
                                notes: None,
                            },
                        ));
                        interrupted = false;
                    }
                    let kind = if rng.random_bool(0.01) {
                        dose += 5.0;
                        ServiceEventKind::DoseChange
                    } else {
                        ServiceEventKind::Dose
                    };
                    b.service_events.push((
                        uuid_at(rng, stamp),
                        ServiceEvent {
                            enrollment_id,
                            client_id,
                            date: day,
                            kind,
                            days_supplied: None,
                            dose_mg: Some(dose),
                            cause: None,
                            notes: None,
                        },
                    ));
                }
                day += Duration::days(1);
            }
        }
    }
}

/// ART for most people living with HIV: refills of 30 to 90 days.
pub(super) fn art(s: &mut Story<'_>) {
    let (today, stamp, client_id, hiv_positive, registered, index) = (
        s.today,
        s.stamp,
        s.client_id,
        s.hiv_positive,
        s.registered,
        s.index,
    );
    let Story { rng, b, stays, .. } = s;
    let detained_on = |day: NaiveDate| Story::detained_on(stays, day);
    // ART for most people living with HIV: refills of 30 to 90 days.
    if hiv_positive && rng.random_bool(0.7) {
        let start = registered + Duration::days(rng.random_range(0..60));
        if start < today {
            let enrollment_id = uuid_at(rng, stamp);
            b.enrollments.push((
                enrollment_id,
                Enrollment {
                    client_id,
                    service: Service::Art,
                    provider: Some((*pick(rng, ART_PROVIDERS)).into()),
                    number: Some(format!("ART-{:05}", index + 1)),
                    start,
                    end: None,
                    status: EnrollmentStatus::Active,
                    dose_mg: None,
                    regimen: Some("TLD".into()),
                },
            ));
            let mut day = start;
            while day <= today {
                if detained_on(day) {
                    // In detention only where ART is available; otherwise the cover runs out.
                    day += Duration::days(7);
                    continue;
                }
                let days = *pick(rng, &[30i64, 30, 30, 60, 90]);
                b.service_events.push((
                    uuid_at(rng, stamp),
                    ServiceEvent {
                        enrollment_id,
                        client_id,
                        date: day,
                        kind: ServiceEventKind::Refill,
                        days_supplied: Some(days),
                        dose_mg: None,
                        cause: None,
                        notes: None,
                    },
                ));
                // Most come back on time; some late.
                let late = if rng.random_bool(0.8) {
                    rng.random_range(-3..3)
                } else {
                    rng.random_range(3..40)
                };
                day += Duration::days((days + late).max(1));
            }
        }
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
