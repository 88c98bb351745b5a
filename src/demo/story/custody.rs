//! A client's arrests, police custody and transfers.

use super::*;

/// Arrests, police custody and transfers: first, since contacts and services bend around them.
pub(in crate::demo) fn custody(s: &mut Story<'_>) {
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
