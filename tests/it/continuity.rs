//! The continuity rules: table-driven over hand-written timelines, then the
//! store's worklist against the rules on a generated database.

use crate::support::*;
use chrono::{Duration, NaiveDate};
use tether::continuity::*;
use tether::domain::*;
use tether::store::Store;
use uuid::Uuid;

const ART: Uuid = Uuid::from_u128(1);
const MMT: Uuid = Uuid::from_u128(2);
const CLIENT: Uuid = Uuid::from_u128(9);

/// One 10,000-client demo (seed 21, as of 2026-11-01) for the tests that
/// only read it, generated once per run of the test binary under Cargo's
/// temporary folder for tests (made anew each run).
fn demo_10k() -> &'static std::path::Path {
    static DB: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DB.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("demo-10k-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("demo.db");
        let mut store = Store::init(&path, "admin", "Admin", PASSWORD)
            .unwrap()
            .store;
        let config = tether::demo::DemoConfig {
            clients: 10_000,
            seed: 21,
            today: d("2026-11-01"),
        };
        tether::demo::run(&mut store, &config, |_, _| {}).unwrap();
        store.close().unwrap();
        path
    })
}

fn d(s: &str) -> NaiveDate {
    day(s)
}

fn plus(s: &str, n: i64) -> NaiveDate {
    d(s) + Duration::days(n)
}

fn enrollment(service: Service, start: &str, end: Option<&str>) -> Enrollment {
    Enrollment {
        client_id: CLIENT,
        service,
        provider: None,
        number: None,
        start: d(start),
        end: end.map(d),
        status: EnrollmentStatus::Active,
        dose_mg: None,
        regimen: None,
    }
}

fn event(
    enrollment: Uuid,
    date: NaiveDate,
    kind: ServiceEventKind,
    days: Option<i64>,
) -> ServiceEvent {
    ServiceEvent {
        enrollment_id: enrollment,
        client_id: CLIENT,
        date,
        kind,
        days_supplied: days,
        dose_mg: None,
        cause: None,
        notes: None,
    }
}

fn stay(
    place: &str,
    start: NaiveDate,
    end: Option<(NaiveDate, ReleaseReason)>,
    methadone: Availability,
    art: Availability,
) -> Stay {
    Stay {
        detention: Detention {
            client_id: CLIENT,
            location_id: Uuid::nil(),
            start,
            end: end.map(|e| e.0),
            basis: None,
            arrest_id: None,
            release_reason: end.map(|e| e.1),
            notes: None,
        },
        location: place.into(),
        methadone,
        art,
    }
}

fn kinds(h: &History, day: NaiveDate) -> Vec<EntryKind> {
    entries(CLIENT, "X", &assess(h, day, &Thresholds::default()))
        .iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn art_refill_then_detention_on_day_20_where_art_is_not_available() {
    let h = History {
        enrollments: vec![(ART, enrollment(Service::Art, "2026-01-01", None))],
        events: vec![event(
            ART,
            d("2026-01-01"),
            ServiceEventKind::Refill,
            Some(30),
        )],
        stays: vec![stay(
            "Station",
            plus("2026-01-01", 19),
            None,
            Availability::No,
            Availability::No,
        )],
        contacts: vec![d("2026-01-01")],
        ..Default::default()
    };
    let day20 = plus("2026-01-01", 19);
    let s = assess(&h, day20, &Thresholds::default());
    assert_eq!(s.services.len(), 1);
    assert!(s.services[0].at_risk_in_detention);
    assert_eq!(
        s.services[0].art,
        Some(ArtStatus::Covered {
            covered_until: d("2026-01-31")
        })
    );
    assert_eq!(kinds(&h, day20), [EntryKind::AtRiskDetained]);
    let e = &entries(CLIENT, "PP-1", &s)[0];
    assert_eq!(e.days, 1, "first day in detention");
    assert!(
        e.reason.contains("Station") && e.reason.contains("ART"),
        "{}",
        e.reason
    );
    // Still detained 15 days later: at risk, and the refill is now overdue.
    let later = day20 + Duration::days(15);
    assert_eq!(
        kinds(&h, later),
        [EntryKind::AtRiskDetained, EntryKind::ArtOverdue]
    );
}

#[test]
fn detention_where_methadone_is_available_is_not_at_risk() {
    let h = History {
        enrollments: vec![(MMT, enrollment(Service::Methadone, "2026-01-01", None))],
        events: vec![event(MMT, d("2026-02-01"), ServiceEventKind::Dose, None)],
        stays: vec![stay(
            "CC1",
            d("2026-02-02"),
            None,
            Availability::Yes,
            Availability::Unknown,
        )],
        ..Default::default()
    };
    let s = assess(&h, d("2026-02-02"), &Thresholds::default());
    assert!(!s.services[0].at_risk_in_detention);
    assert!(kinds(&h, d("2026-02-02")).is_empty());
}

#[test]
fn transfer_to_a_place_without_the_service_makes_the_client_at_risk() {
    let h = History {
        enrollments: vec![(MMT, enrollment(Service::Methadone, "2026-01-01", None))],
        events: vec![event(MMT, d("2026-02-01"), ServiceEventKind::Dose, None)],
        stays: vec![
            stay(
                "CC1",
                d("2026-02-02"),
                Some((d("2026-02-10"), ReleaseReason::Transferred)),
                Availability::Yes,
                Availability::Yes,
            ),
            stay(
                "Prey Speu",
                d("2026-02-10"),
                None,
                Availability::No,
                Availability::No,
            ),
        ],
        ..Default::default()
    };
    assert!(!kinds(&h, d("2026-02-09")).contains(&EntryKind::AtRiskDetained));
    let s = assess(&h, d("2026-02-10"), &Thresholds::default());
    assert_eq!(
        s.detained.as_ref().unwrap().location,
        "Prey Speu",
        "the transfer day counts at the new place"
    );
    assert!(kinds(&h, d("2026-02-10")).contains(&EntryKind::AtRiskDetained));
    // A transfer is not a release: no re-linkage entry.
    assert!(relinkage(&h, d("2026-02-12"), &Thresholds::default()).is_none());
}

#[test]
fn relinkage_after_release_dose_on_day_6_or_day_8() {
    let released = d("2026-03-01");
    let base = |dose_day: i64| History {
        enrollments: vec![(MMT, enrollment(Service::Methadone, "2025-06-01", None))],
        events: vec![
            event(MMT, d("2026-02-01"), ServiceEventKind::Dose, None),
            event(
                MMT,
                released + Duration::days(dose_day),
                ServiceEventKind::Dose,
                None,
            ),
        ],
        stays: vec![stay(
            "Station",
            d("2026-02-02"),
            Some((released, ReleaseReason::Released)),
            Availability::No,
            Availability::No,
        )],
        contacts: vec![released],
        ..Default::default()
    };
    let t = Thresholds::default();
    // Dose on day 6 after release: re-linked within 7 days.
    let day7 = released + Duration::days(7);
    assert!(relinkage(&base(6), day7, &t).is_none());
    // Dose on day 8: on day 7 the client still needs re-linkage.
    let r = relinkage(&base(8), day7, &t).expect("needs re-linkage");
    assert_eq!((r.days_since, r.ended_on), (7, released));
    assert!(kinds(&base(8), day7).contains(&EntryKind::ReleaseRelinkage));
    // The window: a release 14 days ago counts, 15 days ago does not.
    let mut h = base(30);
    assert!(relinkage(&h, released + Duration::days(14), &t).is_some());
    assert!(relinkage(&h, released + Duration::days(15), &t).is_none());
    // Released by death is not a release.
    h.stays[0].detention.release_reason = Some(ReleaseReason::Died);
    assert!(relinkage(&h, day7, &t).is_none());
    // Without an enrollment active on the release day, nothing to re-link.
    let mut h = base(30);
    h.enrollments[0].1.end = Some(d("2026-02-15"));
    assert!(relinkage(&h, day7, &t).is_none());
}

#[test]
fn methadone_missed_two_three_and_five_days() {
    let t = Thresholds::default();
    let last = d("2026-04-10");
    let missed =
        |day: NaiveDate| methadone_action(methadone_missed_days(Some(last), None, day, &t), &t);
    assert_eq!(
        missed(last + Duration::days(1)),
        MethadoneAction::OnTrack,
        "dosed yesterday"
    );
    assert_eq!(
        missed(last + Duration::days(3)),
        MethadoneAction::Missed { days: 2 }
    );
    assert_eq!(
        missed(last + Duration::days(4)),
        MethadoneAction::DoseReview { days: 3 }
    );
    assert_eq!(
        missed(last + Duration::days(5)),
        MethadoneAction::DoseReview { days: 4 }
    );
    assert_eq!(
        missed(last + Duration::days(6)),
        MethadoneAction::Reinduction { days: 5 }
    );
    // A take-home refill of 7 days counts from the end of its cover.
    let take_home = Some((d("2026-04-10"), Some(7)));
    assert_eq!(
        methadone_missed_days(Some(d("2026-04-09")), take_home, d("2026-04-17"), &t),
        Some(0)
    );
    assert_eq!(
        methadone_missed_days(Some(d("2026-04-09")), take_home, d("2026-04-20"), &t),
        Some(3)
    );
    assert_eq!(
        methadone_missed_days(None, None, d("2026-04-20"), &t),
        None,
        "nothing dispensed yet"
    );
    let h = History {
        enrollments: vec![(MMT, enrollment(Service::Methadone, "2026-01-01", None))],
        events: vec![event(MMT, last, ServiceEventKind::Dose, None)],
        contacts: vec![last],
        ..Default::default()
    };
    assert!(kinds(&h, last + Duration::days(3)).is_empty());
    assert_eq!(
        kinds(&h, last + Duration::days(4)),
        [EntryKind::MethadoneMissed]
    );
}

#[test]
fn art_boundary_days() {
    let t = Thresholds::default();
    let refill = Some((d("2026-01-01"), Some(30)));
    let on = |n: i64| art_status(refill, plus("2026-01-01", n), &t);
    assert_eq!(
        on(30),
        ArtStatus::Covered {
            covered_until: d("2026-01-31")
        }
    );
    assert_eq!(on(31), ArtStatus::Overdue { days: 1 });
    assert_eq!(on(58), ArtStatus::Overdue { days: 28 });
    assert_eq!(on(59), ArtStatus::Interrupted { days: 29 });
    assert_eq!(art_status(None, d("2026-05-01"), &t), ArtStatus::NoRefill);
    // A refill without days supplied covers 30 days.
    assert_eq!(
        art_status(Some((d("2026-01-01"), None)), plus("2026-01-01", 31), &t),
        ArtStatus::Overdue { days: 1 }
    );
    // Thresholds are settings.
    let strict = Thresholds {
        art_interruption_days: 7,
        ..t
    };
    assert_eq!(
        art_status(refill, plus("2026-01-01", 38), &strict),
        ArtStatus::Interrupted { days: 8 }
    );
}

#[test]
fn overlapping_enrollments_and_no_enrollments() {
    // Moved between ART clinics: the old enrollment ended, the new one counts.
    let new = Uuid::from_u128(3);
    let h = History {
        enrollments: vec![
            (
                ART,
                enrollment(Service::Art, "2025-01-01", Some("2026-02-01")),
            ),
            (new, enrollment(Service::Art, "2026-02-01", None)),
        ],
        events: vec![
            event(ART, d("2026-01-01"), ServiceEventKind::Refill, Some(30)),
            event(new, d("2026-02-01"), ServiceEventKind::Refill, Some(90)),
        ],
        contacts: vec![d("2026-02-01")],
        ..Default::default()
    };
    let s = assess(&h, d("2026-03-01"), &Thresholds::default());
    assert_eq!(s.services.len(), 1);
    assert_eq!(s.services[0].enrollment_id, new);
    assert!(kinds(&h, d("2026-03-01")).is_empty());
    // On the change-over day both are active; the old one's refill ran out.
    assert_eq!(
        assess(&h, d("2026-02-01"), &Thresholds::default())
            .services
            .len(),
        2
    );
    // No enrollments: nothing about services, ever.
    let none = History {
        stays: vec![stay(
            "Station",
            d("2026-01-01"),
            None,
            Availability::No,
            Availability::No,
        )],
        contacts: vec![d("2026-01-01")],
        ..Default::default()
    };
    assert!(kinds(&none, d("2026-01-05")).is_empty());
}

#[test]
fn lost_to_follow_up_after_90_days_for_open_cases() {
    let mut h = History {
        contacts: vec![d("2026-01-01")],
        ..Default::default()
    };
    let t = Thresholds::default();
    assert_eq!(lost_to_follow_up(&h, plus("2026-01-01", 90), &t), None);
    assert_eq!(lost_to_follow_up(&h, plus("2026-01-01", 91), &t), Some(91));
    h.status = Some(CaseStatus::Deceased);
    assert_eq!(lost_to_follow_up(&h, plus("2026-01-01", 200), &t), None);
    // Never contacted: counted from registration.
    let fresh = History {
        registered_on: Some(d("2026-01-01")),
        ..Default::default()
    };
    assert_eq!(
        kinds(&fresh, plus("2026-01-01", 100)),
        [EntryKind::LostToFollowUp]
    );
}

// ------------------------------------------------------------------ store

fn prison(store: &mut Store, art: Availability) -> Saved<Location> {
    let mut l = Location::new(&format!("Prison {art}"), LocationKind::Prison);
    l.art = art;
    store.create(l).unwrap()
}

#[test]
fn rule_followups_are_created_once_and_closed_by_the_right_event() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-30", None);
    let no_art = prison(&mut store, Availability::No);
    let art = store
        .create(Enrollment {
            client_id: c.id(),
            ..enrollment(Service::Art, "2025-01-01", None)
        })
        .unwrap();
    let stay = store
        .create(Detention {
            client_id: c.id(),
            location_id: no_art.id(),
            start: d("2026-01-10"),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap();
    let open = |store: &Store| -> Vec<Saved<FollowUp>> {
        store
            .list_for_client::<FollowUp>(c.id())
            .unwrap()
            .into_iter()
            .filter(|f| f.done_on.is_none())
            .collect()
    };
    let f = open(&store);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule.as_deref(), Some("detention_visit"));
    assert_eq!(f[0].source_id, Some(stay.id()));
    // Running the rules again creates nothing new.
    assert_eq!(store.sync_rule_followups(d("2026-01-12")).unwrap(), 0);
    assert_eq!(store.list_for_client::<FollowUp>(c.id()).unwrap().len(), 1);
    // A detention-visit contact closes it.
    store
        .create(Contact::new(
            c.id(),
            d("2026-01-12"),
            ContactKind::DetentionVisit,
        ))
        .unwrap();
    assert!(open(&store).is_empty());
    // Release: a re-linkage follow-up due 7 days later.
    let mut released = stay.data.clone();
    released.end = Some(d("2026-01-20"));
    released.release_reason = Some(ReleaseReason::Released);
    store.update(stay.id(), released).unwrap();
    let f = open(&store);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule.as_deref(), f[0].due),
        (Some("relink"), d("2026-01-27"))
    );
    assert_eq!(
        store.sync_rule_followups(d("2026-01-21")).unwrap(),
        0,
        "no duplicate"
    );
    // A refill dated before the release does not close it; one after does.
    store
        .create(ServiceEvent {
            client_id: c.id(),
            ..event(
                art.id(),
                d("2026-01-05"),
                ServiceEventKind::Refill,
                Some(30),
            )
        })
        .unwrap();
    assert_eq!(open(&store).len(), 1);
    store
        .create(ServiceEvent {
            client_id: c.id(),
            ..event(
                art.id(),
                d("2026-01-23"),
                ServiceEventKind::Refill,
                Some(30),
            )
        })
        .unwrap();
    let all = store.list_for_client::<FollowUp>(c.id()).unwrap();
    assert!(all.iter().all(|f| f.done_on.is_some()), "{all:?}");
    assert_eq!(all[1].done_on, Some(d("2026-01-23")));
}

#[test]
fn no_followup_for_clients_without_treatment() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-31", None);
    let p = prison(&mut store, Availability::No);
    store
        .create(Detention {
            client_id: c.id(),
            location_id: p.id(),
            start: d("2026-01-10"),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap();
    assert!(
        store
            .list_for_client::<FollowUp>(c.id())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_worklist_agrees_with_the_rules_for_every_client() {
    let store = Store::open(demo_10k(), "admin", PASSWORD).unwrap();
    let today = d("2026-11-01");
    let t = store.thresholds();
    for day in [today, d("2026-03-15")] {
        let list = store.worklist(day, None).unwrap();
        assert!(
            list.len() > 500,
            "a crackdown caseload has work: {}",
            list.len()
        );
        let mut by_client: std::collections::HashMap<Uuid, Vec<Entry>> =
            std::collections::HashMap::new();
        for e in &list {
            by_client.entry(e.client_id).or_default().push(e.clone());
        }
        let rids = store.client_ids(&Default::default(), day).unwrap();
        let mut checked = 0;
        for row in store.client_rows(&rids).unwrap() {
            let mut want = entries(
                row.id,
                &row.code,
                &assess(&store.history(row.id).unwrap(), day, &t),
            );
            let mut got = by_client.remove(&row.id).unwrap_or_default();
            want.sort_by_key(|e| (e.kind, e.reason.clone()));
            got.sort_by_key(|e| (e.kind, e.reason.clone()));
            assert_eq!(got, want, "client {} on {day}", row.code);
            checked += 1;
        }
        assert_eq!(checked, 10_000);
        assert!(by_client.is_empty());
        for kind in [
            EntryKind::AtRiskDetained,
            EntryKind::ArtOverdue,
            EntryKind::LostToFollowUp,
        ] {
            assert!(list.iter().any(|e| e.kind == kind), "{kind:?} on {day}");
        }
    }
    // One worker's list is the part of everyone's for their clients.
    let worker = store.user_by_name("sokha.ou").unwrap().unwrap();
    let mine = store.worklist(today, Some(worker.id())).unwrap();
    assert!(!mine.is_empty());
    for e in &mine {
        assert_eq!(
            store.get::<Client>(e.client_id).unwrap().assigned_worker,
            Some(worker.id())
        );
    }
}

#[test]
fn lost_to_follow_up_follows_contacts_as_they_are_added_moved_and_deleted() {
    let (_db, mut store) = fresh();
    let mut c = Client::with_code("PP-40");
    c.registered_on = Some(d("2025-01-01"));
    let c = store.create(c).unwrap();
    let lost = |store: &Store, day: NaiveDate| {
        store
            .worklist(day, None)
            .unwrap()
            .iter()
            .any(|e| e.client_id == c.id() && e.kind == EntryKind::LostToFollowUp)
    };
    let today = d("2026-06-01");
    assert!(lost(&store, today), "registered long ago, never met");
    let recent = store
        .create(Contact::new(c.id(), d("2026-05-20"), ContactKind::Street))
        .unwrap();
    assert!(!lost(&store, today));
    // Looking back to a day before that contact: lost then.
    assert!(lost(&store, d("2026-05-01")));
    // Moving the contact's date back, or deleting it, counts again.
    let mut moved = recent.data.clone();
    moved.date = d("2026-01-01");
    store.update(recent.id(), moved).unwrap();
    assert!(lost(&store, today));
    let other = store
        .create(Contact::new(c.id(), d("2026-05-25"), ContactKind::Phone))
        .unwrap();
    assert!(!lost(&store, today));
    store.delete::<Contact>(other.id()).unwrap();
    assert!(lost(&store, today));
}

/// One at-risk rule: the worklist's at-risk list, the dashboard's at-risk
/// column and the period report's "detained without the service" count,
/// for the same generated clients, say the same.
#[test]
fn the_worklist_the_dashboard_and_the_report_agree_on_who_is_at_risk_in_detention() {
    let store = Store::open(demo_10k(), "admin", PASSWORD).unwrap();
    let on = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let worklist: std::collections::BTreeSet<Uuid> = store
        .worklist(on, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::AtRiskDetained)
        .map(|e| e.client_id)
        .collect();
    assert!(
        !worklist.is_empty(),
        "the demo's crackdown puts people at risk"
    );
    let dashboard: i64 = store
        .reader()
        .unwrap()
        .dashboard(on)
        .unwrap()
        .workers
        .iter()
        .map(|w| w.at_risk)
        .sum();
    let detained_rows: std::collections::BTreeSet<Uuid> = store
        .detained_on(on, None, None)
        .unwrap()
        .into_iter()
        .filter(|d| d.at_risk())
        .map(|d| d.client_id)
        .collect();
    assert_eq!(
        detained_rows, worklist,
        "Locations and Today list the same people"
    );
    assert_eq!(
        dashboard as usize,
        worklist.len(),
        "the dashboard counts them"
    );
    // A one-day period includes its last day, so the report also counts a
    // stay that ends on it; never fewer than the worklist.
    let report = store.period_report(on, on).unwrap().indicators["detained_without_service"].total;
    let ending_today = store
        .detained_on(on - Duration::days(1), None, None)
        .unwrap()
        .len();
    assert!(
        report >= worklist.len() as i64 && report <= (worklist.len() + ending_today) as i64,
        "report {report}, worklist {}",
        worklist.len()
    );
}

#[test]
fn the_follow_up_rules_open_and_close_by_what_happened() {
    let stay_id = Uuid::from_u128(77);
    let mut stay = Detention {
        client_id: CLIENT,
        location_id: Uuid::from_u128(5),
        start: d("2026-03-01"),
        end: None,
        basis: None,
        arrest_id: None,
        release_reason: None,
        notes: None,
    };
    let opened = |changes: &[FollowUpChange]| -> Vec<(&'static str, NaiveDate)> {
        changes
            .iter()
            .filter_map(|c| match c {
                FollowUpChange::Open { rule, due, .. } => Some((*rule, *due)),
                FollowUpChange::Close { .. } => None,
            })
            .collect()
    };
    let closed = |changes: &[FollowUpChange]| -> Vec<(&'static str, NaiveDate)> {
        changes
            .iter()
            .filter_map(|c| match c {
                FollowUpChange::Close { rule, on, .. } => Some((*rule, *on)),
                FollowUpChange::Open { .. } => None,
            })
            .collect()
    };
    let stay_event = |stay: &Detention, start: bool, end: Option<bool>| {
        followup_changes(&FollowUpEvent::Stay {
            id: stay_id,
            stay,
            place: "Prey Sar prison",
            treated_at_start: start,
            treated_at_end: end,
            relink_days: 7,
        })
    };
    // Detained while on treatment: a visit, due the day the stay started,
    // with its place in the reason; not on treatment: nothing.
    let changes = stay_event(&stay, true, None);
    assert_eq!(opened(&changes), [(RULE_DETENTION_VISIT, d("2026-03-01"))]);
    assert!(
        matches!(&changes[0], FollowUpChange::Open { reason, .. } if reason.contains("Prey Sar prison"))
    );
    assert!(stay_event(&stay, false, None).is_empty());
    // Released while treated: the visit closes, a re-linkage opens 7 days on.
    stay.end = Some(d("2026-04-10"));
    stay.release_reason = Some(ReleaseReason::Released);
    let changes = stay_event(&stay, true, Some(true));
    assert_eq!(closed(&changes), [(RULE_DETENTION_VISIT, d("2026-04-10"))]);
    assert_eq!(
        opened(&changes),
        [
            (RULE_DETENTION_VISIT, d("2026-03-01")),
            (RULE_RELINK, d("2026-04-17"))
        ]
    );
    // Transferred: no re-linkage (still held elsewhere).
    stay.release_reason = Some(ReleaseReason::Transferred);
    let changes = stay_event(&stay, true, Some(true));
    assert!(!opened(&changes).iter().any(|(r, _)| *r == RULE_RELINK));
    // A refill on or after the release closes the re-linkage; before it, not.
    let open = [
        OpenRuleFollowUp {
            rule: RULE_RELINK.into(),
            source: stay_id,
            stay_start: d("2026-03-01"),
            stay_end: Some(d("2026-04-10")),
        },
        OpenRuleFollowUp {
            rule: RULE_DETENTION_VISIT.into(),
            source: stay_id,
            stay_start: d("2026-03-01"),
            stay_end: Some(d("2026-04-10")),
        },
    ];
    let service = |kind, service, date| {
        followup_changes(&FollowUpEvent::ServiceEvent {
            kind,
            service,
            date,
            open: &open,
        })
    };
    let refill = service(ServiceEventKind::Refill, Service::Art, d("2026-04-12"));
    assert_eq!(
        closed(&refill),
        [
            (RULE_RELINK, d("2026-04-12")),
            (RULE_DETENTION_VISIT, d("2026-04-12"))
        ]
    );
    let early = service(ServiceEventKind::Dose, Service::Methadone, d("2026-03-15"));
    assert_eq!(closed(&early), [(RULE_DETENTION_VISIT, d("2026-03-15"))]);
    // A missed dose, or a TB event, closes nothing.
    assert!(
        service(
            ServiceEventKind::Missed,
            Service::Methadone,
            d("2026-04-12")
        )
        .is_empty()
    );
    assert!(service(ServiceEventKind::Refill, Service::Tb, d("2026-04-12")).is_empty());
    // A detention visit closes the visit of a stay that had started.
    let visit = |kind, date| {
        followup_changes(&FollowUpEvent::Contact {
            kind,
            date,
            open: &open,
        })
    };
    assert_eq!(
        closed(&visit(ContactKind::DetentionVisit, d("2026-03-20"))),
        [(RULE_DETENTION_VISIT, d("2026-03-20"))]
    );
    assert!(visit(ContactKind::DetentionVisit, d("2026-02-20")).is_empty());
    assert!(visit(ContactKind::Street, d("2026-03-20")).is_empty());
}
