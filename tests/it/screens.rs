//! Store queries behind the screens: filtered client lists, who is detained
//! where, transfers, raids, follow-ups due, settings.

use crate::support::*;
use tether::domain::*;
use tether::store::{ClientFilter, Raid, RaidPerson, Store, StoreError, settings};

fn location(
    store: &mut Store,
    name: &str,
    methadone: Availability,
    art: Availability,
) -> Saved<Location> {
    let mut l = Location::new(name, LocationKind::Prison);
    l.methadone = methadone;
    l.art = art;
    store.create(l).unwrap()
}

fn enrol(
    store: &mut Store,
    client: uuid::Uuid,
    service: Service,
    start: &str,
) -> Saved<Enrollment> {
    store
        .create(Enrollment {
            client_id: client,
            service,
            provider: None,
            number: None,
            start: day(start),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap()
}

fn detain(store: &mut Store, client: uuid::Uuid, at: uuid::Uuid, start: &str) -> Saved<Detention> {
    store
        .create(Detention {
            client_id: client,
            location_id: at,
            start: day(start),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap()
}

#[test]
fn client_list_filters_combine() {
    let (_db, mut store) = fresh();
    let worker = add_user(&mut store, "w1", Role::Outreach);
    let prison = location(
        &mut store,
        "Prey Sar CC1",
        Availability::Yes,
        Availability::Yes,
    );
    let mut a = Client::with_code("PP-1");
    a.province = Some("Phnom Penh".into());
    a.assigned_worker = Some(worker.id());
    let a = store.create(a).unwrap();
    let mut b = Client::with_code("PP-2");
    b.province = Some("Phnom Penh".into());
    // Registered long before the day and never met: lost to follow-up by
    // the rule (the status is derived, not stored).
    b.registered_on = Some(day("2025-10-01"));
    let b = store.create(b).unwrap();
    let mut c = Client::with_code("BTB-1");
    c.province = Some("Battambang".into());
    let c = store.create(c).unwrap();
    enrol(&mut store, a.id(), Service::Methadone, "2026-01-01");
    enrol(&mut store, c.id(), Service::Art, "2026-01-01");
    detain(&mut store, c.id(), prison.id(), "2026-02-01");
    let today = day("2026-03-01");
    let codes_on = |store: &Store, f: ClientFilter, on: chrono::NaiveDate| -> Vec<String> {
        let rids = store.client_ids(&f, on).unwrap();
        store
            .client_rows(&rids)
            .unwrap()
            .into_iter()
            .map(|r| r.code)
            .collect()
    };
    let codes = |store: &Store, f: ClientFilter| codes_on(store, f, today);
    assert_eq!(
        codes(&store, ClientFilter::default()),
        ["BTB-1", "PP-1", "PP-2"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                province: Some("Phnom Penh".into()),
                ..Default::default()
            }
        ),
        ["PP-1", "PP-2"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                status: Some(CaseStatus::LostToFollowUp),
                ..Default::default()
            }
        ),
        ["PP-2"]
    );
    let status = |store: &Store, s: CaseStatus, on: &str| -> Vec<String> {
        let f = ClientFilter {
            status: Some(s),
            ..Default::default()
        };
        codes_on(store, f, day(on))
    };
    assert_eq!(
        status(&store, CaseStatus::Active, "2026-03-01"),
        ["BTB-1", "PP-1"]
    );
    // 90 days after registration PP-2 is not yet lost; on the 91st it is.
    assert!(status(&store, CaseStatus::LostToFollowUp, "2025-12-30").is_empty());
    assert_eq!(
        status(&store, CaseStatus::LostToFollowUp, "2025-12-31"),
        ["PP-2"]
    );
    // The row says so too (the store's today is long after registration).
    assert_eq!(
        store
            .client_rows(&store.client_ids(&ClientFilter::default(), today).unwrap())
            .unwrap()
            .into_iter()
            .map(|r| (r.code, r.status))
            .collect::<Vec<_>>(),
        [
            ("BTB-1".to_owned(), CaseStatus::Active),
            ("PP-1".to_owned(), CaseStatus::Active),
            ("PP-2".to_owned(), CaseStatus::LostToFollowUp),
        ]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                worker: Some(worker.id()),
                ..Default::default()
            }
        ),
        ["PP-1"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                detained_now: true,
                ..Default::default()
            }
        ),
        ["BTB-1"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                on_methadone: true,
                ..Default::default()
            }
        ),
        ["PP-1"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                on_art: true,
                detained_now: true,
                ..Default::default()
            }
        ),
        ["BTB-1"]
    );
    assert_eq!(
        codes(
            &store,
            ClientFilter {
                text: "pp".into(),
                on_methadone: true,
                ..Default::default()
            }
        ),
        ["PP-1"]
    );
    // Before the stay started, nobody was detained.
    assert!(
        store
            .client_ids(
                &ClientFilter {
                    detained_now: true,
                    ..Default::default()
                },
                day("2026-01-15")
            )
            .unwrap()
            .is_empty()
    );
    // Deleted clients never appear.
    store.delete::<Client>(b.id()).unwrap();
    assert_eq!(codes(&store, ClientFilter::default()), ["BTB-1", "PP-1"]);
    assert_eq!(
        store.client_provinces().unwrap(),
        ["Battambang", "Phnom Penh"]
    );
}

#[test]
fn detained_on_lists_who_is_where_and_who_is_at_risk() {
    let (_db, mut store) = fresh();
    let cc1 = location(&mut store, "CC1", Availability::Yes, Availability::Yes);
    let station = location(
        &mut store,
        "Station",
        Availability::No,
        Availability::Unknown,
    );
    let a = client(&mut store, "A-1", None);
    let b = client(&mut store, "B-1", None);
    enrol(&mut store, a.id(), Service::Art, "2025-01-01");
    enrol(&mut store, b.id(), Service::Methadone, "2025-01-01");
    detain(&mut store, a.id(), station.id(), "2026-01-10");
    let stay_b = detain(&mut store, b.id(), cc1.id(), "2026-01-05");
    let rows = store.detained_on(day("2026-01-20"), None, None).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["B-1", "A-1"],
        "longest first"
    );
    let a_row = rows.iter().find(|r| r.code == "A-1").unwrap();
    assert_eq!(a_row.days, 11);
    assert!(
        a_row.on_art && a_row.at_risk(),
        "ART not known to be available at the station"
    );
    assert!(
        !rows.iter().find(|r| r.code == "B-1").unwrap().at_risk(),
        "methadone is available at CC1"
    );
    // Transfer B to the station: the at-risk state follows the current place.
    store
        .transfer(
            stay_b.id(),
            day("2026-01-21"),
            station.id(),
            Some(DetentionBasis::PreTrial),
        )
        .unwrap();
    let rows = store
        .detained_on(day("2026-01-22"), None, Some(station.id()))
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.at_risk()));
    let history = store.detentions_of(b.id()).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].end, Some(day("2026-01-21")));
    assert_eq!(history[1].release_reason, Some(ReleaseReason::Transferred));
    assert_eq!(history[0].start, day("2026-01-21"));
    // A transfer of a stay that has ended is refused, and changes nothing.
    assert!(
        store
            .transfer(history[1].id(), day("2026-01-22"), cc1.id(), None)
            .is_err()
    );
    assert_eq!(store.detentions_of(b.id()).unwrap().len(), 2);
}

#[test]
fn a_raid_is_one_transaction() {
    let (_db, mut store) = fresh();
    let station = location(
        &mut store,
        "Poipet police",
        Availability::No,
        Availability::Unknown,
    );
    let known = client(&mut store, "BMC-1", None);
    let mut arrest = Arrest::new(uuid::Uuid::nil(), day("2026-01-12"));
    arrest.authority = Authority::AntiDrugPolice;
    arrest.reasons = vec![ArrestReason::Sweep];
    let raid = Raid {
        arrest: arrest.clone(),
        people: vec![
            RaidPerson::Existing(known.id()),
            RaidPerson::New(Client::with_code("BMC-2")),
        ],
        detain_at: Some((station.id(), DetentionBasis::PoliceCustody)),
    };
    let result = store.record_raid(&raid).unwrap();
    assert_eq!(
        (
            result.arrests.len(),
            result.detentions.len(),
            result.new_clients.len()
        ),
        (2, 2, 1)
    );
    let arrests = store.list_for_client::<Arrest>(known.id()).unwrap();
    assert_eq!(arrests[0].raid_id, Some(result.raid_id));
    assert_eq!(arrests[0].reasons, [ArrestReason::Sweep]);
    // A second raid where one person is already detained: refused whole.
    let audit_before = store.audit_log(10_000).unwrap().len();
    let raid2 = Raid {
        arrest,
        people: vec![
            RaidPerson::New(Client::with_code("BMC-3")),
            RaidPerson::Existing(known.id()),
        ],
        detain_at: Some((station.id(), DetentionBasis::PoliceCustody)),
    };
    let err = store.record_raid(&raid2).unwrap_err();
    assert!(
        err.to_string().contains("BMC-1"),
        "the error names the person: {err}"
    );
    assert!(
        store.client_by_code("BMC-3").unwrap().is_none(),
        "nothing of the refused raid was written"
    );
    assert_eq!(store.count_live("arrests").unwrap(), 2);
    assert_eq!(store.audit_log(10_000).unwrap().len(), audit_before);
    assert!(matches!(
        store.record_raid(&Raid {
            people: vec![],
            ..raid
        }),
        Err(StoreError::Invalid(ValidationError::Required {
            field: "clients"
        }))
    ));
}

#[test]
fn followups_due_by_worker_and_closing_them() {
    let (_db, mut store) = fresh();
    let w1 = add_user(&mut store, "w1", Role::Outreach);
    let c = client(&mut store, "PP-5", None);
    let make = |due: &str, worker| FollowUp {
        client_id: c.id(),
        worker_id: worker,
        due: day(due),
        reason: "Visit".into(),
        rule: None,
        source_id: None,
        done_on: None,
        outcome: None,
    };
    let f1 = store.create(make("2026-01-05", Some(w1.id()))).unwrap();
    store.create(make("2026-01-20", Some(w1.id()))).unwrap();
    store.create(make("2026-01-06", None)).unwrap();
    let due = store
        .followups_due(day("2026-01-10"), Some(w1.id()))
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].code, "PP-5");
    assert_eq!(
        store.followups_due(day("2026-01-10"), None).unwrap().len(),
        2
    );
    let mut done = f1.data.clone();
    done.done_on = Some(day("2026-01-07"));
    done.outcome = Some("visited".into());
    store.update(f1.id(), done).unwrap();
    assert!(
        store
            .followups_due(day("2026-01-10"), Some(w1.id()))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn settings_default_and_change_with_the_right_role() {
    let (db, mut store) = fresh();
    assert_eq!(store.setting(settings::AUTO_LOCK_MINUTES), 5);
    store.set_setting(settings::AUTO_LOCK_MINUTES, 2).unwrap();
    assert_eq!(store.setting(settings::AUTO_LOCK_MINUTES), 2);
    add_user(&mut store, "w", Role::Outreach);
    store.close().unwrap();
    let mut w = Store::open(&db.path, "w", PASSWORD).unwrap();
    assert_eq!(w.setting(settings::AUTO_LOCK_MINUTES), 2);
    assert!(matches!(
        w.set_setting(settings::AUTO_LOCK_MINUTES, 60),
        Err(StoreError::Forbidden { .. })
    ));
}
