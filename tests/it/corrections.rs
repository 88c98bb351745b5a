//! Correcting, removing and moving records; who may; and the history.

use crate::support::*;
use tether::domain::*;
use tether::store::{Store, StoreError};

fn refused_correction<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::Forbidden { permission, .. }) => {
            assert_eq!(permission, Permission::CorrectAnyRecord)
        }
        other => panic!("expected a refusal to correct, got {other:?}"),
    }
}

#[test]
fn the_correction_rule_in_days() {
    let day = 86_400_000;
    let entered = 1_000 * day;
    for (role, mine, after, allowed) in [
        (Role::Outreach, true, 0, true),
        (Role::Outreach, true, 7 * day, true),
        (Role::Outreach, true, 7 * day + 1, false),
        (Role::Outreach, false, 0, false),
        (Role::Manager, true, day, true),
        (Role::Manager, false, day, false),
        (Role::Coordinator, false, 400 * day, true),
        (Role::Admin, false, 400 * day, true),
        // Dated ahead of the clock: as if just entered.
        (Role::Outreach, true, -day, true),
    ] {
        assert_eq!(
            role.may_correct(mine, entered, entered + after),
            allowed,
            "{role:?} mine={mine} after={after}"
        );
    }
}

#[test]
fn an_outreach_worker_corrects_their_own_contact_but_not_another_workers() {
    let (db, mut admin) = fresh();
    add_user(&mut admin, "sokha", Role::Outreach);
    add_user(&mut admin, "dara", Role::Outreach);
    let c = client(&mut admin, "PP-0001", Some("Vibol"));
    admin.close().unwrap();

    let mut sokha = Store::open(&db.path, "sokha", PASSWORD).unwrap();
    let mine = sokha
        .create(Contact::new(c.id(), day("2026-11-20"), ContactKind::Street))
        .unwrap();
    let mut fixed = mine.data.clone();
    fixed.needles_syringes = 30;
    let saved = sokha.correct(mine.id(), fixed).unwrap();
    assert_eq!(saved.needles_syringes, 30);
    let audit = sokha.audit_for_record(mine.id()).unwrap();
    assert_eq!(audit[0].action, AuditAction::Update);
    assert!(
        audit[0].detail.contains("needles_syringes"),
        "{}",
        audit[0].detail
    );
    sokha.close().unwrap();

    // Dara may not correct or remove Sokha's contact, by any path.
    let mut dara = Store::open(&db.path, "dara", PASSWORD).unwrap();
    let mut wrong = saved.data.clone();
    wrong.condoms = 99;
    refused_correction(dara.correct(mine.id(), wrong.clone()));
    refused_correction(dara.update(mine.id(), wrong));
    refused_correction(dara.remove::<Contact>(mine.id(), RemovalReason::Duplicate, true));
    refused_correction(dara.move_to_client::<Contact>(mine.id(), c.id()));
    assert_eq!(dara.get::<Contact>(mine.id()).unwrap().condoms, 0);
    dara.close().unwrap();

    // A coordinator may.
    let mut coord = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let mut by_coord = saved.data.clone();
    by_coord.condoms = 4;
    assert_eq!(coord.correct(mine.id(), by_coord).unwrap().condoms, 4);
}

#[test]
fn a_removed_contact_leaves_the_timeline_and_the_report_and_stays_in_the_history() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-0002", None);
    let first = store
        .create(Contact::new(c.id(), day("2026-11-10"), ContactKind::Street))
        .unwrap();
    let twice = store
        .create(Contact::new(c.id(), day("2026-11-10"), ContactKind::Street))
        .unwrap();
    let contacts = |s: &Store| {
        s.period_report(day("2026-11-01"), day("2026-11-30"))
            .unwrap()
            .indicators["contacts"]
            .total
    };
    // The line list's count of the client's contacts.
    let listed = |s: &mut Store| -> String {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("clients.csv");
        s.export_job(false, day("2026-11-30"))
            .unwrap()
            .run(&out, &|_, _| {}, &std::sync::atomic::AtomicBool::new(false))
            .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = header.iter().position(|h| *h == "contacts").unwrap();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        row[at].to_owned()
    };
    assert_eq!(contacts(&store), 2);
    assert_eq!(listed(&mut store), "2");
    store
        .remove::<Contact>(twice.id(), RemovalReason::Duplicate, false)
        .unwrap();
    assert_eq!(contacts(&store), 1);
    assert_eq!(listed(&mut store), "1", "gone from the line list too");
    let timeline = store.timeline(c.id()).unwrap();
    assert!(timeline.iter().all(
        |e| !matches!(&e.item, tether::store::TimelineItem::Contact(x) if x.id() == twice.id())
    ));
    assert!(
        store.get::<Contact>(twice.id()).unwrap().meta.deleted,
        "a tombstone"
    );
    assert!(!store.get::<Contact>(first.id()).unwrap().meta.deleted);
    let history = store.client_history(c.id()).unwrap();
    let removal = history
        .iter()
        .find(|e| e.action == AuditAction::Delete)
        .expect("the removal is in the history");
    assert_eq!(removal.record_id, Some(twice.id()));
    assert_eq!(removal.detail, "removed: duplicate");
    assert!(
        history.first().unwrap().action == AuditAction::Create,
        "oldest first"
    );
    // Removing it again: nothing to remove.
    assert!(matches!(
        store.remove::<Contact>(twice.id(), RemovalReason::Duplicate, false),
        Err(StoreError::NoSuchRecord { .. })
    ));
}

#[test]
fn removing_an_arrest_that_a_stay_records_asks_first_then_unlinks_the_stay() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-0003", None);
    let place = store
        .create(Location::new("Prey Sar CC1", LocationKind::Prison))
        .unwrap();
    let arrest = store
        .create(Arrest::new(c.id(), day("2026-11-01")))
        .unwrap();
    let stay = store
        .create(Detention {
            client_id: c.id(),
            location_id: place.id(),
            start: day("2026-11-01"),
            end: None,
            basis: None,
            arrest_id: Some(arrest.id()),
            release_reason: None,
            notes: None,
        })
        .unwrap();
    assert_eq!(
        store.removal_effects::<Arrest>(arrest.id()).unwrap().len(),
        1
    );
    let asked = store
        .remove::<Arrest>(arrest.id(), RemovalReason::EnteredInError, false)
        .unwrap_err();
    assert!(asked.to_string().contains("1 detention stay"), "{asked}");
    assert!(
        !store.get::<Arrest>(arrest.id()).unwrap().meta.deleted,
        "nothing changed"
    );
    store
        .remove::<Arrest>(arrest.id(), RemovalReason::EnteredInError, true)
        .unwrap();
    let kept = store.get::<Detention>(stay.id()).unwrap();
    assert!(!kept.meta.deleted);
    assert_eq!(kept.arrest_id, None);
}

#[test]
fn a_contact_logged_on_the_wrong_client_moves_to_the_right_one() {
    let (_db, mut store) = fresh();
    let wrong = client(&mut store, "PP-0004", None);
    let right = client(&mut store, "PP-0005", None);
    let contact = store
        .create(Contact::new(
            wrong.id(),
            day("2026-11-12"),
            ContactKind::Street,
        ))
        .unwrap();
    let moved = store
        .move_to_client::<Contact>(contact.id(), right.id())
        .unwrap();
    assert_eq!(moved.client_id, right.id());
    assert!(
        store
            .list_for_client::<Contact>(wrong.id())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_for_client::<Contact>(right.id()).unwrap().len(),
        1
    );
    assert!(
        store
            .move_to_client::<Contact>(contact.id(), right.id())
            .is_err()
    );
    // The move is in both clients' history.
    assert!(
        store
            .client_history(right.id())
            .unwrap()
            .iter()
            .any(|e| e.record_id == Some(contact.id()) && e.detail.contains("client_id"))
    );
    assert!(
        store
            .client_history(wrong.id())
            .unwrap()
            .iter()
            .any(|e| e.detail.contains(&format!(
                "{} moved to client {}",
                contact.id(),
                right.id()
            )))
    );
}

#[test]
fn a_stay_moved_onto_a_client_who_was_held_elsewhere_then_is_refused() {
    let (_db, mut store) = fresh();
    let a = client(&mut store, "PP-0006", None);
    let b = client(&mut store, "PP-0007", None);
    let place = store
        .create(Location::new(
            "Daun Penh police station",
            LocationKind::PoliceStation,
        ))
        .unwrap();
    let stay = |client_id| Detention {
        client_id,
        location_id: place.id(),
        start: day("2026-11-01"),
        end: None,
        basis: None,
        arrest_id: None,
        release_reason: None,
        notes: None,
    };
    let held_a = store.create(stay(a.id())).unwrap();
    store.create(stay(b.id())).unwrap();
    let err = store
        .move_to_client::<Detention>(held_a.id(), b.id())
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(
        store.get::<Detention>(held_a.id()).unwrap().client_id,
        a.id()
    );
}

#[test]
fn the_history_is_for_coordinators_and_the_command_line_shows_it() {
    let (db, mut admin) = fresh();
    add_user(&mut admin, "sokha", Role::Outreach);
    let c = client(&mut admin, "PP-0008", None);
    let contact = admin
        .create(Contact::new(c.id(), day("2026-11-15"), ContactKind::Street))
        .unwrap();
    let mut fixed = contact.data.clone();
    fixed.condoms = 12;
    admin.correct(contact.id(), fixed).unwrap();
    admin.close().unwrap();
    let sokha = Store::open(&db.path, "sokha", PASSWORD).unwrap();
    assert!(matches!(
        sokha.client_history(c.id()),
        Err(StoreError::Forbidden { .. })
    ));
    sokha.close().unwrap();

    let dbs = db.path.to_str().unwrap();
    let o = tether_with(
        &["history", "--db", dbs, "--client", "pp-0008"],
        PASSWORD,
        Some("admin"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("create") && lines[0].contains("client"),
        "{text}"
    );
    assert!(
        lines[2].contains("update")
            && lines[2].contains("condoms")
            && lines[2].contains("by admin"),
        "{text}"
    );
    let o = tether_with(
        &["history", "--db", dbs, "--client", "PP-0008", "--json"],
        PASSWORD,
        Some("admin"),
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["action"], "update");
    assert_eq!(last["user"], "admin");
    let o = tether_with(
        &["history", "--db", dbs, "--client", "PP-0008"],
        PASSWORD,
        Some("sokha"),
    );
    assert_refused(&o, "may not read the audit log");
    let o = tether_with(
        &["history", "--db", dbs, "--client", "NOPE"],
        PASSWORD,
        Some("admin"),
    );
    assert_refused(&o, "no client with the code NOPE");
}

#[test]
fn an_outreach_worker_may_not_remove_or_move_a_stay_or_enrollment_another_entered() {
    let (db, mut admin) = fresh();
    add_user(&mut admin, "dara", Role::Outreach);
    let c = client(&mut admin, "PP-0003", None);
    let other = client(&mut admin, "PP-0004", None);
    let place = admin
        .create(Location::new(
            "Daun Penh police station",
            LocationKind::PoliceStation,
        ))
        .unwrap();
    let stay = admin
        .create(Detention {
            client_id: c.id(),
            location_id: place.id(),
            start: day("2026-11-01"),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap();
    let enrollment = admin
        .create(Enrollment {
            client_id: c.id(),
            service: Service::Art,
            provider: None,
            number: None,
            start: day("2026-10-01"),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap();
    admin.close().unwrap();
    let mut dara = Store::open(&db.path, "dara", PASSWORD).unwrap();
    let before = dara.canonical_dump().unwrap();
    refused_correction(dara.remove::<Detention>(stay.id(), RemovalReason::EnteredInError, true));
    refused_correction(dara.remove::<Enrollment>(
        enrollment.id(),
        RemovalReason::EnteredInError,
        true,
    ));
    refused_correction(dara.move_to_client::<Detention>(stay.id(), other.id()));
    assert_eq!(dara.canonical_dump().unwrap(), before, "nothing changed");
}
