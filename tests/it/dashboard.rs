//! The manager's dashboard over a hand-built database with known answers.

use crate::support::*;
use tether::domain::*;

fn enrollment(client_id: uuid::Uuid, service: Service, start: &str) -> Enrollment {
    Enrollment {
        client_id,
        service,
        provider: None,
        number: None,
        start: day(start),
        end: None,
        status: EnrollmentStatus::Active,
        dose_mg: None,
        regimen: None,
    }
}

fn stay(client_id: uuid::Uuid, location_id: uuid::Uuid, start: &str) -> Detention {
    Detention {
        client_id,
        location_id,
        start: day(start),
        end: None,
        basis: None,
        arrest_id: None,
        release_reason: None,
        notes: None,
    }
}

#[test]
fn dashboard_counts_caseload_and_trends() {
    let (_db, mut store) = fresh();
    let sokha = add_user(&mut store, "sokha", Role::Outreach).id();
    let dara = add_user(&mut store, "dara", Role::Outreach).id();
    let mut no_art = Location::new("Daun Penh police station", LocationKind::PoliceStation);
    no_art.art = Availability::No;
    let station = store.create(no_art).unwrap().id();
    let mut with_all = Location::new("Prey Sar prison", LocationKind::Prison);
    with_all.art = Availability::Yes;
    with_all.methadone = Availability::Yes;
    let prison = store.create(with_all).unwrap().id();

    let assigned = |store: &mut tether::store::Store, code: &str, worker: Option<uuid::Uuid>| {
        let mut c = Client::with_code(code);
        c.assigned_worker = worker;
        store.create(c).unwrap().id()
    };
    let a = assigned(&mut store, "PP-A", Some(sokha));
    let b = assigned(&mut store, "PP-B", Some(sokha));
    let c = assigned(&mut store, "PP-C", None);
    let closed = assigned(&mut store, "PP-D", Some(dara));
    let mut d: Client = store.get::<Client>(closed).unwrap().data;
    d.status = CaseStatus::Moved;
    store.update(closed, d).unwrap();

    // Contacts by sokha: three in the 30 days up to 2026-10-31, one before.
    for date in ["2026-10-02", "2026-10-15", "2026-10-31", "2026-09-30"] {
        let mut contact = Contact::new(a, day(date), ContactKind::Street);
        contact.worker_id = Some(sokha);
        store.create(contact).unwrap();
    }
    let mut by_dara = Contact::new(c, day("2026-10-20"), ContactKind::Phone);
    by_dara.worker_id = Some(dara);
    store.create(by_dara).unwrap();

    // A on ART, detained at a station without ART since 2026-10-20.
    store
        .create(enrollment(a, Service::Art, "2026-01-01"))
        .unwrap();
    store.create(stay(a, station, "2026-10-20")).unwrap();
    // C detained at the prison (no service: not at risk).
    store.create(stay(c, prison, "2026-10-25")).unwrap();
    // B on methadone, released on 2026-10-21, dosed three days later.
    let methadone = store
        .create(enrollment(b, Service::Methadone, "2026-01-01"))
        .unwrap()
        .id();
    let mut october = stay(b, station, "2026-10-01");
    october.end = Some(day("2026-10-21"));
    october.release_reason = Some(ReleaseReason::Released);
    store.create(october).unwrap();
    store
        .create(ServiceEvent {
            enrollment_id: methadone,
            client_id: b,
            date: day("2026-10-24"),
            kind: ServiceEventKind::Dose,
            days_supplied: None,
            dose_mg: Some(60.0),
            cause: None,
            notes: None,
        })
        .unwrap();
    // A release in September with no service afterwards.
    let mut sept = stay(b, station, "2026-09-01");
    sept.end = Some(day("2026-09-10"));
    sept.release_reason = Some(ReleaseReason::Bail);
    store.create(sept).unwrap();

    // Follow-ups: one overdue by hand, one due later, one done.
    for (due, done) in [
        ("2026-10-10", None),
        ("2026-11-05", None),
        ("2026-10-01", Some("2026-10-02")),
    ] {
        store
            .create(FollowUp {
                client_id: b,
                worker_id: Some(sokha),
                due: day(due),
                reason: "check in".into(),
                rule: None,
                source_id: None,
                done_on: done.map(day),
                outcome: done.map(|_| "seen".into()),
            })
            .unwrap();
    }
    // Arrests: October (use + possession; no reason), August (sweep); one deleted.
    let mut arrest = Arrest::new(a, day("2026-10-19"));
    arrest.reasons = vec![ArrestReason::Use, ArrestReason::Possession];
    store.create(arrest).unwrap();
    store.create(Arrest::new(c, day("2026-10-24"))).unwrap();
    let mut sweep = Arrest::new(b, day("2026-08-30"));
    sweep.reasons = vec![ArrestReason::Sweep];
    store.create(sweep).unwrap();
    let gone = store
        .create(Arrest::new(b, day("2026-10-02")))
        .unwrap()
        .id();
    store.delete::<Arrest>(gone).unwrap();

    let dash = store
        .reader()
        .unwrap()
        .dashboard(day("2026-10-31"))
        .unwrap();

    let load = |name: &str| {
        dash.workers
            .iter()
            .find(|w| w.name == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", dash.workers))
            .clone()
    };
    let s = load("sokha");
    assert_eq!(s.active_clients, 2);
    assert_eq!(s.contacts_30_days, 3);
    // The hand-made one; the rules' "visit in detention" for A (due the
    // day the stay began); and the re-linkage of B's September release
    // (recorded after the October dose, so nothing closed it). B's October
    // visit closed with the stay, its re-linkage with the dose.
    assert_eq!(s.overdue_followups, 3);
    assert_eq!(s.detained_now, 1);
    assert_eq!(s.at_risk, 1);
    let d = load("dara");
    assert_eq!(d.active_clients, 0, "a moved client is not active");
    assert_eq!(d.contacts_30_days, 1);
    let unassigned = dash.workers.last().unwrap();
    assert_eq!(unassigned.worker, None);
    assert_eq!(unassigned.active_clients, 1);
    assert_eq!(unassigned.detained_now, 1);
    assert_eq!(unassigned.at_risk, 0);

    // Contacts per week: 26 weeks ending with the week of 2026-10-31
    // (Monday 2026-10-26).
    assert_eq!(dash.contacts_per_week.len(), 26);
    assert_eq!(
        dash.contacts_per_week.last().unwrap(),
        &(day("2026-10-26"), 1)
    );
    let total: i64 = dash.contacts_per_week.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 5);
    let week_of = |d: &str| {
        dash.contacts_per_week
            .iter()
            .find(|(w, _)| *w == day(d))
            .map(|(_, n)| *n)
    };
    assert_eq!(week_of("2026-09-28"), Some(2), "30 Sep and 2 Oct");

    // Arrests per month by reason, 12 months to October.
    assert_eq!(dash.arrests_per_month.len(), 12);
    let (month, october) = dash.arrests_per_month.last().unwrap();
    assert_eq!(*month, day("2026-10-01"));
    assert_eq!(october.get(&ArrestReason::Use), Some(&1));
    assert_eq!(october.get(&ArrestReason::Possession), Some(&1));
    assert_eq!(october.get(&ArrestReason::Unknown), Some(&1));
    assert_eq!(
        october.values().sum::<i64>(),
        3,
        "the deleted arrest is not counted"
    );
    let august = &dash.arrests_per_month[dash.arrests_per_month.len() - 3];
    assert_eq!(august.0, day("2026-08-01"));
    assert_eq!(august.1.get(&ArrestReason::Sweep), Some(&1));

    // Detained now by location.
    assert_eq!(
        dash.detained_by_location,
        vec![
            ("Daun Penh police station".to_string(), 1),
            ("Prey Sar prison".to_string(), 1)
        ]
    );

    // Re-linkage: October's release re-linked in 3 days; September's not.
    let month = |d: &str| {
        dash.relinkage
            .iter()
            .find(|r| r.month == day(d))
            .unwrap()
            .clone()
    };
    let oct = month("2026-10-01");
    assert_eq!((oct.needing, oct.relinked), (1, 1));
    let sep = month("2026-09-01");
    assert_eq!((sep.needing, sep.relinked), (1, 0));
}
