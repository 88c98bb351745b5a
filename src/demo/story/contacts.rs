//! A client's contacts with outreach, and their case status.

use super::*;

/// Contacts: about ten over their time in the programme, fewer in the crackdown, only visits while detained; then their case status.
pub(in crate::demo) fn contacts(s: &mut Story<'_>) {
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
