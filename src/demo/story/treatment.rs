//! A client's methadone and ART.

use super::*;

/// Methadone for some who inject heroin (one clinic in Phnom Penh).
pub(in crate::demo) fn methadone(s: &mut Story<'_>) {
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
pub(in crate::demo) fn art(s: &mut Story<'_>) {
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
