//! The encrypted store against real SQLCipher files.

use crate::support::*;
use tether::domain::*;
use tether::store::{
    Batch, ClientFilter, KeyFile, Store, StoreError, TimelineItem, key_file_path, schema,
};

#[test]
fn migrations_are_valid_and_run_on_an_empty_file() {
    schema::MIGRATIONS.validate().expect("migrations validate");
    let (db, store) = fresh();
    assert_eq!(store.count_live("clients").unwrap(), 0);
    assert_eq!(store.users().unwrap().len(), 1);
    store.close().unwrap();
    assert!(db.path.exists());
}

#[test]
fn the_file_on_disk_is_not_plain_sqlite() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-0001", Some("Sokha"));
    store.close().unwrap();
    let bytes = std::fs::read(&db.path).unwrap();
    assert_ne!(&bytes[..16], b"SQLite format 3\0");
    // Neither the code nor the nickname appears anywhere in the file.
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("PP-0001") && !text.contains("Sokha"));
    let keys = std::fs::read_to_string(key_file_path(&db.path)).unwrap();
    assert!(!keys.contains("admin"), "the key file must not name users");
}

#[test]
fn reopen_after_close_keeps_everything() {
    let (db, mut store) = fresh();
    let c = client(&mut store, "BTB-000007", Some("ដារ៉ា"));
    let device = store.device_id().to_owned();
    store.close().unwrap();
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let again = store.get::<Client>(c.id()).unwrap();
    assert_eq!(again.data, c.data);
    assert_eq!(again.nickname.as_deref(), Some("ដារ៉ា"));
    assert_eq!(store.device_id(), device);
    assert_eq!(again.meta.device_id, device);
}

#[test]
fn wrong_password_and_unknown_user_are_refused_alike() {
    let (db, store) = fresh();
    store.close().unwrap();
    let before = std::fs::read(&db.path).unwrap();
    assert!(matches!(
        Store::open(&db.path, "admin", "not the password"),
        Err(StoreError::WrongPassword)
    ));
    assert!(matches!(
        Store::open(&db.path, "nobody", PASSWORD),
        Err(StoreError::WrongPassword)
    ));
    assert_eq!(
        std::fs::read(&db.path).unwrap(),
        before,
        "a refused login changes nothing"
    );
}

#[test]
fn recovery_key_opens_the_database_without_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let init = Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
    let key = init.recovery_key.clone();
    init.store.close().unwrap();
    std::fs::remove_file(key_file_path(&path)).unwrap();
    assert!(matches!(
        Store::open(&path, "admin", PASSWORD),
        Err(StoreError::NotTether(_))
    ));
    let store = Store::open_with_recovery_key(&path, &key.to_lowercase(), "admin").unwrap();
    assert_eq!(store.user().role, Role::Admin);
    assert!(matches!(
        Store::open_with_recovery_key(&path, "AAAA-BBBB", "admin"),
        Err(StoreError::BadRecoveryKey)
    ));
}

#[test]
fn init_refuses_an_existing_file_and_weak_passwords() {
    let (db, store) = fresh();
    store.close().unwrap();
    assert!(matches!(
        Store::init(&db.path, "x", "x", PASSWORD),
        Err(StoreError::AlreadyExists(_))
    ));
    let other = db.dir.path().join("other.db");
    assert!(matches!(
        Store::init(&other, "x", "x", "short"),
        Err(StoreError::WeakPassword(_))
    ));
    assert!(!other.exists());
}

#[test]
fn each_user_unlocks_with_their_own_password_and_deactivation_revokes_it() {
    let (db, mut store) = fresh();
    let worker = add_user(&mut store, "sokha", Role::Outreach);
    store
        .set_password(worker.id(), "another long password")
        .unwrap();
    let mut update = worker.data.clone();
    update.active = false;
    store.close().unwrap();

    let w = Store::open(&db.path, "sokha", "another long password").unwrap();
    assert_eq!(w.user().role, Role::Outreach);
    w.close().unwrap();
    assert!(matches!(
        Store::open(&db.path, "sokha", PASSWORD),
        Err(StoreError::WrongPassword)
    ));

    let mut admin = Store::open(&db.path, "admin", PASSWORD).unwrap();
    admin.update_user(worker.id(), update).unwrap();
    admin.close().unwrap();
    assert!(Store::open(&db.path, "sokha", "another long password").is_err());
}

fn forbidden(r: Result<impl std::fmt::Debug, StoreError>, what: Permission) {
    match r {
        Err(StoreError::Forbidden { permission, .. }) => assert_eq!(permission, what),
        other => panic!("expected a refusal to {what:?}, got {other:?}"),
    }
}

#[test]
fn outreach_workers_are_refused_in_the_store() {
    let (db, mut admin) = fresh();
    let c = client(&mut admin, "PP-1", None);
    let admin_id = admin.user().id;
    add_user(&mut admin, "worker", Role::Outreach);
    admin.close().unwrap();
    let mut w = Store::open(&db.path, "worker", PASSWORD).unwrap();

    // Allowed: everyday records.
    let mut contact = Contact::new(c.id(), day("2026-01-05"), ContactKind::Street);
    contact.needles_syringes = 10;
    w.create(contact).unwrap();

    // Refused: users, deletes, identifiable exports, registry, imports, backups.
    let new_user = User {
        username: "x".into(),
        display_name: "X".into(),
        role: Role::Admin,
        active: true,
        language: "en".into(),
    };
    forbidden(w.add_user(new_user, PASSWORD), Permission::ManageUsers);
    forbidden(
        w.set_password(admin_id, "a long new password"),
        Permission::ManageUsers,
    );
    forbidden(w.delete::<Client>(c.id()), Permission::Delete);
    forbidden(
        w.require(Permission::ExportIdentifiable),
        Permission::ExportIdentifiable,
    );
    forbidden(
        w.create(Location::new("Somewhere", LocationKind::Prison)),
        Permission::ManageRegistry,
    );
    forbidden(w.write_batch(&Batch::default(), "test"), Permission::Import);
    forbidden(w.backup_to(&db.dir.path().join("b.db")), Permission::Backup);
    forbidden(w.audit_log(10), Permission::ViewAudit);
    assert_eq!(w.count_live("clients").unwrap(), 1, "nothing was deleted");
}

#[test]
fn coordinators_and_managers_export_but_do_not_manage_users() {
    let (db, mut admin) = fresh();
    add_user(&mut admin, "coord", Role::Coordinator);
    add_user(&mut admin, "manager", Role::Manager);
    admin.close().unwrap();
    let mut coord = Store::open(&db.path, "coord", PASSWORD).unwrap();
    coord.require(Permission::ExportIdentifiable).unwrap();
    coord
        .create(Location::new("Prey Sar CC1", LocationKind::Prison))
        .unwrap();
    let u = User {
        username: "y".into(),
        display_name: "Y".into(),
        role: Role::Outreach,
        active: true,
        language: "en".into(),
    };
    forbidden(coord.add_user(u, PASSWORD), Permission::ManageUsers);
    forbidden(
        coord.backup_to(&db.dir.path().join("b.db")),
        Permission::Backup,
    );
    coord.close().unwrap();
    let manager = Store::open(&db.path, "manager", PASSWORD).unwrap();
    manager.require(Permission::Export).unwrap();
    forbidden(manager.require(Permission::Delete), Permission::Delete);
}

#[test]
fn audit_entries_for_create_update_delete_in_the_same_transaction() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-42", Some("Dara"));
    let mut changed = c.data.clone();
    changed.nickname = Some("Bong Dara".into());
    changed.birth_year = Some(1990);
    store.update(c.id(), changed).unwrap();
    store.delete::<Client>(c.id()).unwrap();
    let entries = store.audit_for_record(c.id()).unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Delete,
            AuditAction::Update,
            AuditAction::Create
        ]
    );
    let update = &entries[1];
    assert_eq!(
        update.detail, "birth_year,nickname",
        "changed field names, not values"
    );
    assert_eq!(update.user_id, Some(store.user().id));
    assert_eq!(update.device_id, store.device_id());
    assert_eq!(update.record_kind.as_deref(), Some("client"));
    // A refused write leaves no audit entry and no record.
    let before = store.audit_log(1000).unwrap().len();
    let mut bad = Client::with_code("PP-43");
    bad.birth_year = Some(2999);
    assert!(matches!(
        store.create(bad),
        Err(StoreError::Invalid(ValidationError::InFuture {
            field: "birth_year",
            ..
        }))
    ));
    assert_eq!(store.audit_log(1000).unwrap().len(), before);
    assert!(store.client_by_code("PP-43").unwrap().is_none());
}

#[test]
fn the_audit_log_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let init = Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
    init.store.close().unwrap();
    let key = KeyFile::load(&path)
        .unwrap()
        .unlock("admin", PASSWORD)
        .unwrap();
    // Plain SQLite cannot read the file at all.
    let plain = rusqlite::Connection::open(&path).unwrap();
    assert!(
        plain
            .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    drop(plain);
    // Even with the key, SQL cannot change or remove audit rows.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = {};", key.pragma_value().as_str()))
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 1);
    let update = conn
        .execute("UPDATE audit SET detail = 'edited'", [])
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    assert!(conn.execute("DELETE FROM audit", []).is_err());
}

#[test]
fn search_finds_updated_nicknames_and_never_deleted_clients() {
    let (_db, mut store) = fresh();
    let a = client(&mut store, "PP-000101", Some("Sokha"));
    let b = client(&mut store, "PP-000102", Some("សុភា"));
    client(&mut store, "BTB-000001", Some("Dara"));
    let mut phone = Client::with_code("SHV-000001");
    phone.phone = Some("012 345 678".into());
    store.create(phone).unwrap();

    let codes = |store: &Store, q: &str| -> Vec<String> {
        store
            .search_clients(q, 50)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.code)
            .collect()
    };
    assert_eq!(codes(&store, "pp-0001"), ["PP-000101", "PP-000102"]);
    assert_eq!(codes(&store, "okh"), ["PP-000101"]);
    assert_eq!(codes(&store, "សុភា"), ["PP-000102"]);
    assert_eq!(codes(&store, "345 6"), ["SHV-000001"]);
    assert_eq!(
        codes(&store, "Da"),
        ["BTB-000001"],
        "short queries match the start of a nickname"
    );

    let mut renamed = a.data.clone();
    renamed.nickname = Some("Vibol".into());
    store.update(a.id(), renamed).unwrap();
    assert!(
        codes(&store, "okh").is_empty(),
        "the old nickname is gone from the index"
    );
    assert_eq!(codes(&store, "ibo"), ["PP-000101"]);

    store.delete::<Client>(b.id()).unwrap();
    assert!(codes(&store, "សុភា").is_empty());
    assert_eq!(codes(&store, "PP-"), ["PP-000101"]);
    let all = store.search_clients("", 2).unwrap();
    assert_eq!(all.rows.len(), 2);
    assert!(all.truncated);
}

#[test]
fn codes_are_unique_among_live_clients_and_unknown_codes_are_named() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-7", None);
    let err = store.create(Client::with_code("pp-7")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid(ValidationError::DuplicateCode { field: "code", .. })
        ),
        "{err}"
    );
    assert!(matches!(
        store.client_id_for_code("client_code", "PP-8"),
        Err(StoreError::Invalid(ValidationError::UnknownClientCode {
            field: "client_code",
            ..
        }))
    ));
    store.delete::<Client>(c.id()).unwrap();
    // A deleted client's code can be used again.
    store.create(Client::with_code("PP-7")).unwrap();
}

fn location(store: &mut Store, name: &str, art: Availability) -> Saved<Location> {
    let mut l = Location::new(name, LocationKind::PoliceStation);
    l.art = art;
    store.create(l).unwrap()
}

#[test]
fn overlapping_detentions_are_refused_by_the_store_and_transfers_allowed() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-9", None);
    let station = location(&mut store, "Daun Penh police", Availability::Unknown);
    let prison = location(&mut store, "Prey Sar CC1", Availability::Yes);
    let first = store
        .create(Detention {
            client_id: c.id(),
            location_id: station.id(),
            start: day("2026-01-10"),
            end: Some(day("2026-01-13")),
            basis: Some(DetentionBasis::PoliceCustody),
            arrest_id: None,
            release_reason: Some(ReleaseReason::Transferred),
            notes: None,
        })
        .unwrap();
    let transfer = Detention {
        client_id: c.id(),
        location_id: prison.id(),
        start: day("2026-01-13"),
        end: None,
        basis: Some(DetentionBasis::PreTrial),
        arrest_id: None,
        release_reason: None,
        notes: None,
    };
    store.create(transfer.clone()).unwrap();
    let overlap = Detention {
        start: day("2026-01-12"),
        location_id: station.id(),
        ..transfer.clone()
    };
    let err = store.create(overlap).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid(ValidationError::OverlappingDetention { .. })
        ),
        "{err}"
    );
    // Editing a stay is checked against the others, not itself.
    let mut longer = first.data.clone();
    longer.end = Some(day("2026-01-20"));
    assert!(store.update(first.id(), longer).is_err());
    assert_eq!(
        store.open_detention(c.id()).unwrap().unwrap().location_id,
        prison.id()
    );
    assert_eq!(store.list_for_client::<Detention>(c.id()).unwrap().len(), 2);
}

#[test]
fn timeline_lists_everything_newest_first() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-10", None);
    let station = location(&mut store, "Meanchey police", Availability::No);
    store
        .create(Contact::new(c.id(), day("2026-01-02"), ContactKind::Street))
        .unwrap();
    let arrest = store
        .create(Arrest::new(c.id(), day("2026-01-05")))
        .unwrap();
    store
        .create(Detention {
            client_id: c.id(),
            location_id: station.id(),
            start: day("2026-01-05"),
            end: Some(day("2026-01-07")),
            basis: None,
            arrest_id: Some(arrest.id()),
            release_reason: Some(ReleaseReason::Released),
            notes: None,
        })
        .unwrap();
    let enr = store
        .create(Enrollment {
            client_id: c.id(),
            service: Service::Art,
            provider: None,
            number: None,
            start: day("2025-06-01"),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: Some("TLD".into()),
        })
        .unwrap();
    store
        .create(ServiceEvent {
            enrollment_id: enr.id(),
            client_id: c.id(),
            date: day("2026-01-09"),
            kind: ServiceEventKind::Refill,
            days_supplied: Some(30),
            dose_mg: None,
            cause: None,
            notes: None,
        })
        .unwrap();
    let timeline = store.timeline(c.id()).unwrap();
    let dates: Vec<String> = timeline.iter().map(|e| e.date.to_string()).collect();
    assert_eq!(
        dates,
        [
            "2026-01-09",
            "2026-01-05",
            "2026-01-05",
            "2026-01-02",
            "2025-06-01"
        ]
    );
    assert!(
        matches!(&timeline[2].item, TimelineItem::Detention { location, .. } if location == "Meanchey police")
    );
    assert!(matches!(
        &timeline[0].item,
        TimelineItem::ServiceEvent {
            service: Service::Art,
            ..
        }
    ));
    // A service event before its enrollment started is refused.
    let early = ServiceEvent {
        enrollment_id: enr.id(),
        client_id: c.id(),
        date: day("2025-05-01"),
        kind: ServiceEventKind::Refill,
        days_supplied: Some(30),
        dose_mg: None,
        cause: None,
        notes: None,
    };
    assert!(matches!(
        store.create(early),
        Err(StoreError::Invalid(ValidationError::OutOfRange {
            field: "date",
            ..
        }))
    ));
}

#[test]
fn deleting_a_client_tombstones_their_records() {
    let (_db, mut store) = fresh();
    let c = client(&mut store, "PP-11", None);
    store
        .create(Contact::new(c.id(), day("2026-01-02"), ContactKind::Street))
        .unwrap();
    store.delete::<Client>(c.id()).unwrap();
    assert_eq!(store.count_live("contacts").unwrap(), 0);
    let saved = store.get::<Client>(c.id()).unwrap();
    assert!(saved.meta.deleted, "a tombstone, not a hard delete");
    assert!(store.timeline(c.id()).unwrap().is_empty());
}

#[test]
fn check_passes_a_good_file_and_reports_overwritten_bytes() {
    let (db, mut store) = fresh();
    for i in 0..400 {
        let mut c = Client::with_code(&format!("PP-{i:05}"));
        c.notes = Some("x".repeat(200));
        store.create(c).unwrap();
    }
    assert!(store.check().unwrap().is_ok());
    store.close().unwrap();
    let mut bytes = std::fs::read(&db.path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&db.path, &bytes).unwrap();
    let store = Store::open_to_inspect(&db.path, "admin", PASSWORD).unwrap();
    let report = store.check().unwrap();
    assert!(!report.is_ok(), "{report:?}");
    assert!(!report.cipher_errors.is_empty());
}

#[test]
fn backup_writes_a_verified_encrypted_copy() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-1", Some("Sokha"));
    let out = db.dir.path().join("copy.db");
    let report = store.backup_to(&out).unwrap();
    assert!(report.is_ok());
    assert!(matches!(
        store.backup_to(&out),
        Err(StoreError::AlreadyExists(_))
    ));
    store.close().unwrap();
    assert_ne!(&std::fs::read(&out).unwrap()[..16], b"SQLite format 3\0");
    let copy = Store::open(&out, "admin", PASSWORD).unwrap();
    assert_eq!(
        copy.client_by_code("PP-1")
            .unwrap()
            .unwrap()
            .nickname
            .as_deref(),
        Some("Sokha")
    );
}

#[test]
fn lost_to_follow_up_is_derived_from_contacts_and_never_stored() {
    let (_db, mut store) = fresh();
    let today = store.today();
    let mut c = Client::with_code("PP-12");
    c.registered_on = Some(today - chrono::Duration::days(200));
    let c = store.create(c).unwrap();
    let shown = |store: &Store, id: uuid::Uuid| {
        let rids = store.client_ids(&ClientFilter::default(), today).unwrap();
        store
            .client_rows(&rids)
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap()
            .status
    };
    assert_eq!(shown(&store, c.id()), CaseStatus::LostToFollowUp);
    assert_eq!(
        store.continuity(c.id(), today).unwrap().lost_to_follow_up,
        Some(200)
    );
    // A contact makes the case active again, and writes no status.
    store
        .create(Contact::new(
            c.id(),
            today - chrono::Duration::days(3),
            ContactKind::Street,
        ))
        .unwrap();
    assert_eq!(shown(&store, c.id()), CaseStatus::Active);
    assert_eq!(
        store.get::<Client>(c.id()).unwrap().status,
        CaseStatus::Active
    );
    assert!(
        store
            .audit_for_record(c.id())
            .unwrap()
            .iter()
            .all(|e| e.detail != "status"),
        "no status update is audited"
    );
    // A status stored by an older Tether reads as active once met.
    let mut old = Client::with_code("PP-14");
    old.status = CaseStatus::LostToFollowUp;
    old.registered_on = Some(today - chrono::Duration::days(10));
    let old = store.create(old).unwrap();
    assert_eq!(shown(&store, old.id()), CaseStatus::Active);
    // Moved, deceased and exited are recorded, and stay as they are.
    let mut m = Client::with_code("PP-13");
    m.status = CaseStatus::Moved;
    m.registered_on = Some(today - chrono::Duration::days(200));
    let m = store.create(m).unwrap();
    assert_eq!(shown(&store, m.id()), CaseStatus::Moved);
    store
        .create(Contact::new(m.id(), today, ContactKind::Phone))
        .unwrap();
    assert_eq!(shown(&store, m.id()), CaseStatus::Moved);
    // The line list derives it by the same rule, on its own day.
    let csv = _db.dir.path().join("list.csv");
    let lines = |store: &mut Store, on| {
        let job = store.export_job(false, on).unwrap();
        job.run(&csv, &|_, _| {}, &std::sync::atomic::AtomicBool::new(false))
            .unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut rows: Vec<(String, String)> = csv::Reader::from_reader(text.as_bytes())
            .deserialize::<std::collections::HashMap<String, String>>()
            .map(|r| {
                let r = r.unwrap();
                (r["code"].clone(), r["status"].clone())
            })
            .collect();
        rows.sort();
        rows
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        lines(&mut store, today),
        [
            pair("PP-12", "active"),
            pair("PP-13", "moved"),
            pair("PP-14", "active")
        ]
    );
    // Before the contact, PP-12 had been unseen since registration.
    assert_eq!(
        lines(&mut store, today - chrono::Duration::days(4))[0],
        pair("PP-12", "lost_to_follow_up")
    );
}

#[test]
fn the_recovery_key_sets_a_new_password_and_rebuilds_a_lost_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("office.db");
    let init = Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
    let recovery = init.recovery_key.clone();
    let mut store = init.store;
    add_user(&mut store, "sokha", Role::Outreach);
    client(&mut store, "PP-0001", Some("Dara"));
    let dump = store.canonical_dump().unwrap();
    store.close().unwrap();

    // Every password forgotten: a wrong key is refused, the right one works.
    let wrong = tether::store::RecoveryKey::random().to_text().to_string();
    assert!(matches!(
        Store::recover(&path, &wrong, "admin", "a brand new password"),
        Err(StoreError::BadRecoveryKey)
    ));
    assert!(
        matches!(
            Store::recover(&path, &recovery, "sokha", "a brand new password"),
            Err(StoreError::Invalid(_))
        ),
        "an outreach account is not reset with the recovery key"
    );
    let (store, done) = Store::recover(&path, &recovery, "admin", "a brand new password").unwrap();
    assert_eq!(
        done,
        tether::store::Recovered {
            created_admin: false,
            key_file_rebuilt: false
        }
    );
    assert_eq!(
        store.canonical_dump().unwrap(),
        dump,
        "nothing else changed"
    );
    let entry = &store.audit_log(5).unwrap()[0];
    assert!(entry.detail.contains("recovery key"), "{}", entry.detail);
    store.close().unwrap();
    assert!(matches!(
        Store::open(&path, "admin", PASSWORD),
        Err(StoreError::WrongPassword)
    ));
    Store::open(&path, "admin", "a brand new password")
        .unwrap()
        .close()
        .unwrap();
    Store::open(&path, "sokha", PASSWORD)
        .unwrap()
        .close()
        .unwrap();

    // The key file deleted: rebuilt, with a new admin; the others must be
    // given new passwords.
    std::fs::remove_file(tether::store::key_file_path(&path)).unwrap();
    assert!(Store::open(&path, "admin", "a brand new password").is_err());
    let (store, done) = Store::recover(&path, &recovery, "rescue", "rescue password 1").unwrap();
    assert_eq!(
        done,
        tether::store::Recovered {
            created_admin: true,
            key_file_rebuilt: true
        }
    );
    assert_eq!(store.user().role, Role::Admin);
    assert_eq!(store.count_live("clients").unwrap(), 1);
    store.close().unwrap();
    Store::open(&path, "rescue", "rescue password 1")
        .unwrap()
        .close()
        .unwrap();
    assert!(
        Store::open(&path, "sokha", PASSWORD).is_err(),
        "other slots went with the file"
    );
}

#[test]
fn failed_logins_are_counted_without_names_audited_and_shown_to_the_next_admin() {
    let (db, mut store) = fresh();
    add_user(&mut store, "sokha", Role::Outreach);
    store.close().unwrap();
    for (user, pw) in [
        ("admin", "guess one!!"),
        ("nobody", "guess two!!"),
        ("sokha", "x"),
    ] {
        assert!(matches!(
            Store::open(&db.path, user, pw),
            Err(StoreError::WrongPassword)
        ));
    }
    let keys = std::fs::read_to_string(key_file_path(&db.path)).unwrap();
    assert!(keys.contains("\"failed_logins\": 3"), "{keys}");
    assert!(
        !keys.contains("nobody") && !keys.contains("sokha"),
        "no usernames in the key file"
    );
    // The worker logs in: the attempts reach the audit log, the admin is not yet told.
    let worker = Store::open(&db.path, "sokha", PASSWORD).unwrap();
    assert_eq!(worker.failed_logins(), None);
    worker.close().unwrap();
    let admin = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let failed = admin.failed_logins().expect("told at login");
    assert_eq!(failed.count, 3);
    let entries: Vec<_> = admin
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::FailedLogin)
        .collect();
    assert_eq!(entries.len(), 1, "written once");
    assert!(entries[0].detail.contains('3'), "{}", entries[0].detail);
    admin.close().unwrap();
    // Told once.
    let again = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(again.failed_logins(), None);
}

#[test]
fn a_key_file_cannot_choose_its_own_key_derivation_cost() {
    let (db, store) = fresh();
    store.close().unwrap();
    let path = key_file_path(&db.path);
    let good = std::fs::read_to_string(&path).unwrap();
    assert!(tether::store::KeyFile::parse(good.as_bytes()).is_ok());
    // 4 GiB of Argon2 memory, 2^32 - 1 passes, 8 lanes: each refused
    // before any key is derived, on parsing and on opening.
    for (from, to) in [
        ("\"m_kib\": 65536", "\"m_kib\": 4194304"),
        ("\"passes\": 3", "\"passes\": 4294967295"),
        ("\"lanes\": 1", "\"lanes\": 8"),
        ("\"m_kib\": 65536", "\"m_kib\": 8"),
    ] {
        assert!(good.contains(from), "{from}");
        let bad = good.replace(from, to);
        let err = tether::store::KeyFile::parse(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("key settings"), "{to}: {err}");
        std::fs::write(&path, &bad).unwrap();
        let Err(err) = Store::open(&db.path, "admin", PASSWORD) else {
            panic!("{to}: opened");
        };
        assert!(matches!(err, StoreError::KeyFile(_)), "{to}: {err}");
    }
    // Too large to be ours: refused before it is read.
    std::fs::write(&path, vec![b' '; 2 * 1024 * 1024]).unwrap();
    let Err(err) = Store::open(&db.path, "admin", PASSWORD) else {
        panic!("a 2 MiB key file opened");
    };
    assert!(err.to_string().contains("too large"), "{err}");
}

/// Copies a file aside (an "old copy" an attacker or a backup might hold).
fn copy_aside(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).unwrap();
}

#[test]
fn deactivation_changes_the_key_so_an_old_key_file_copy_opens_nothing_current() {
    let (db, mut store) = fresh();
    let worker = add_user(&mut store, "sokha", Role::Outreach);
    add_user(&mut store, "dara", Role::Coordinator);
    client(&mut store, "PP-0001", Some("Dara"));
    let keys = key_file_path(&db.path);
    let old_copy = db.dir.path().join("old.keys");
    copy_aside(&keys, &old_copy);

    let mut update = worker.data.clone();
    update.active = false;
    store.update_user(worker.id(), update).unwrap();
    assert!(
        store.take_new_recovery_key().is_none(),
        "the recovery slot was sealed again"
    );
    assert!(store.key_changed_at().unwrap().is_some());
    let entry = &store.audit_log(3).unwrap()[0];
    assert!(
        entry
            .detail
            .contains("database key changed (sokha deactivated)"),
        "{}",
        entry.detail
    );
    // The session goes on with the new key.
    assert_eq!(store.count_live("clients").unwrap(), 1);
    store.close().unwrap();

    // The old copy still unwraps sokha's old key, but that key opens nothing.
    assert!(
        KeyFile::load_from(&old_copy)
            .unwrap()
            .unlock("sokha", PASSWORD)
            .is_ok()
    );
    std::fs::rename(&keys, db.dir.path().join("current.keys")).unwrap();
    copy_aside(&old_copy, &keys);
    assert!(
        matches!(
            Store::open(&db.path, "sokha", PASSWORD),
            Err(StoreError::Damaged(_))
        ),
        "an old key file copy plus the deactivated user's password must not open the database"
    );
    std::fs::rename(db.dir.path().join("current.keys"), &keys).unwrap();
    // Everyone else keeps their password; sokha is refused.
    for who in ["admin", "dara"] {
        Store::open(&db.path, who, PASSWORD)
            .unwrap()
            .close()
            .unwrap();
    }
    assert!(matches!(
        Store::open(&db.path, "sokha", PASSWORD),
        Err(StoreError::WrongPassword)
    ));
}

#[test]
fn a_replaced_recovery_key_works_and_the_old_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("office.db");
    let init = Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
    let old = init.recovery_key.clone();
    let mut store = init.store;
    add_user(&mut store, "sokha", Role::Outreach);
    forbidden_as(&path, "sokha", |s| s.replace_recovery_key().map(|_| ()));
    let new = store.replace_recovery_key().unwrap().to_text().to_string();
    assert_ne!(new, old);
    // Changing the database key afterwards keeps the new recovery key.
    store.rotate_key().unwrap();
    store.close().unwrap();
    assert!(matches!(
        Store::recover(&path, &old, "admin", "a brand new password"),
        Err(StoreError::BadRecoveryKey)
    ));
    let (store, _) = Store::recover(&path, &new, "admin", "a brand new password").unwrap();
    store.close().unwrap();
    // With the key file and its copy gone too.
    std::fs::remove_file(key_file_path(&path)).unwrap();
    std::fs::remove_file(tether::store::recovery_file_path(&path)).unwrap();
    assert!(
        matches!(
            Store::recover(&path, &new, "admin", "a brand new password"),
            Err(StoreError::BadRecoveryKey)
        ),
        "no file holds the recovery slot any more"
    );
}

fn forbidden_as(
    path: &std::path::Path,
    who: &str,
    f: impl FnOnce(&mut Store) -> Result<(), StoreError>,
) {
    let mut s = Store::open(path, who, PASSWORD).unwrap();
    forbidden(f(&mut s), Permission::ManageUsers);
    forbidden(s.rotate_key().map(|_| ()), Permission::ManageUsers);
    s.close().unwrap();
}

#[test]
fn the_recovery_key_finds_its_slot_in_a_backup_when_the_key_file_and_its_copy_are_lost() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-0001", Some("Dara"));
    store.rotate_key().unwrap();
    let outcome = store.auto_backup(day("2026-11-30")).unwrap();
    assert!(!store.backups().unwrap()[0].old_key);
    store.close().unwrap();
    // The recovery key of this database: from its own recovery slot.
    let recovery = {
        let mut s = Store::open(&db.path, "admin", PASSWORD).unwrap();
        let r = s.replace_recovery_key().unwrap().to_text().to_string();
        // A backup made now holds the new recovery slot.
        std::fs::remove_file(&outcome.path).unwrap();
        std::fs::remove_file(key_file_path(&outcome.path)).unwrap();
        s.auto_backup(day("2026-11-30")).unwrap();
        s.close().unwrap();
        r
    };
    std::fs::remove_file(key_file_path(&db.path)).unwrap();
    std::fs::remove_file(tether::store::recovery_file_path(&db.path)).unwrap();
    let (store, done) =
        Store::recover(&db.path, &recovery, "admin", "a brand new password").unwrap();
    assert!(done.key_file_rebuilt);
    assert_eq!(store.count_live("clients").unwrap(), 1);
    store.close().unwrap();
    Store::open(&db.path, "admin", "a brand new password")
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn backups_made_before_a_change_of_key_are_marked_and_still_restore_with_their_passwords() {
    let (db, mut store) = fresh();
    let worker = add_user(&mut store, "sokha", Role::Admin);
    client(&mut store, "PP-0001", Some("Dara"));
    let old_backup = db.dir.path().join("before.db");
    store.backup_to(&old_backup).unwrap();
    store.auto_backup(day("2026-11-29")).unwrap();
    let mut update = worker.data.clone();
    update.active = false;
    store.update_user(worker.id(), update).unwrap();
    client(&mut store, "PP-0002", None);
    store.auto_backup(day("2026-11-30")).unwrap();
    let listed = store.backups().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|b| (b.day.to_string(), b.old_key))
            .collect::<Vec<_>>(),
        vec![
            ("2026-11-30".to_string(), false),
            ("2026-11-29".to_string(), true)
        ]
    );
    store.close().unwrap();
    // The old backup opens with the deactivated user's password (that is
    // what "holds the old key" means) and is still this database: restore
    // takes it with a password valid then and now.
    let copy = KeyFile::load(&old_backup).unwrap();
    assert!(copy.unlock("sokha", PASSWORD).is_ok());
    let report = tether::store::restore(&db.path, &old_backup, "admin", PASSWORD).unwrap();
    assert!(report.kept_as.is_some());
    let restored = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(restored.count_live("clients").unwrap(), 1);
    let log = restored.audit_log(200).unwrap();
    assert!(
        log.iter()
            .any(|e| e.detail.contains("database key changed")),
        "the replaced file's later audit entries are carried over"
    );
    restored.close().unwrap();
}

/// The window's hot calls on a realistic demo, every statement they run.
fn hot_plans(store: &mut Store) -> Vec<tether::store::QueryPlan> {
    use tether::store::ClientFilter;
    let on = day("2026-11-01");
    let worker = store
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.role == Role::Outreach)
        .expect("an outreach worker")
        .id();
    store
        .query_plans_of(|s| {
            for q in ["PP", "PP-0001", "Dara", "Da", "012 3"] {
                s.search_clients(q, 50)?;
            }
            let rids = s.client_ids(&ClientFilter::default(), on)?;
            let page = s.client_rows(&rids[..rids.len().min(100)])?;
            for filter in [
                ClientFilter {
                    text: "dara".into(),
                    ..Default::default()
                },
                ClientFilter {
                    detained_now: true,
                    on_methadone: true,
                    on_art: true,
                    worker: Some(worker),
                    ..Default::default()
                },
            ] {
                s.client_ids(&filter, on)?;
            }
            s.timeline(page[0].id)?;
            s.worklist(on, None)?;
            s.worklist(on, Some(worker))?;
            s.detained_on(on, None, None)?;
            s.followups_due(on, Some(worker))?;
            Ok(())
        })
        .unwrap()
}

/// What each hot statement may do beyond index lookups, found by a piece
/// of its text: the tables it reads whole on purpose, and the index a
/// correlated lookup must go through.
type PlanRule = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);
const PLAN_RULES: &[PlanRule] = &[
    // The client list without a filter lists everyone, in code order.
    (
        "FROM clients c WHERE c.deleted = 0 ORDER BY c.code",
        &["c"],
        &[],
    ),
    // Everyone's methadone and ART enrollments: one small derived row each.
    (
        "FROM enrollment_activity e CROSS JOIN client_activity c",
        &["e"],
        &[],
    ),
    // A client-list row: its open stay by the client, never by the
    // partial index of every open stay.
    (
        "EXISTS (SELECT 1 FROM detentions d",
        &[],
        &[("d", "detentions_client")],
    ),
    (
        "FROM detentions x WHERE x.client_id = c.id",
        &[],
        &[("x", "detentions_client")],
    ),
];

fn judge(plans: &[(String, Vec<String>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (sql, plan) in plans {
        let (mut whole, mut expected): (Vec<&str>, Vec<(&str, &str)>) = (vec![], vec![]);
        for (needle, w, e) in PLAN_RULES {
            if sql.contains(needle) {
                whole.extend_from_slice(w);
                expected.extend_from_slice(e);
            }
        }
        for p in tether::store::plan_problems(plan, &expected, &whole) {
            problems.push(format!("{p}\n    in {sql}"));
        }
    }
    problems
}

#[test]
fn hot_queries_use_the_right_indexes_with_and_without_statistics() {
    let (db, mut store) = fresh();
    tether::demo::run(
        &mut store,
        &tether::demo::DemoConfig {
            clients: 300,
            seed: 7,
            today: day("2026-11-01"),
        },
        |_, _| {},
    )
    .unwrap();
    let plans = hot_plans(&mut store);
    assert!(
        plans.len() >= 20,
        "the hot calls ran {} statements",
        plans.len()
    );
    assert!(
        plans
            .iter()
            .any(|p| p.sql.contains("EXISTS (SELECT 1 FROM detentions d")),
        "the client row query was recorded"
    );
    // With the statistics `PRAGMA optimize` keeps (the demo ends with it).
    let with: Vec<(String, Vec<String>)> = plans
        .iter()
        .map(|p| (p.sql.clone(), p.plan.clone()))
        .collect();
    let problems = judge(&with);
    assert!(
        problems.is_empty(),
        "with statistics:\n{}",
        problems.join("\n")
    );
    let key = KeyFile::load(&db.path)
        .unwrap()
        .unlock("admin", PASSWORD)
        .unwrap();
    store.close().unwrap();

    // Without any statistics, as a file that was never analysed: the same
    // statements, explained on a connection that has none.
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute_batch(&format!("PRAGMA key = {};", key.pragma_value().as_str()))
        .unwrap();
    raw.execute_batch("DELETE FROM sqlite_stat1;").unwrap();
    drop(raw);
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute_batch(&format!("PRAGMA key = {};", key.pragma_value().as_str()))
        .unwrap();
    let without: Vec<(String, Vec<String>)> = plans
        .iter()
        .map(|p| {
            let mut stmt = raw
                .prepare(&format!("EXPLAIN QUERY PLAN {}", p.sql))
                .unwrap();
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            let plan = stmt
                .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (p.sql.clone(), plan)
        })
        .collect();
    let problems = judge(&without);
    assert!(
        problems.is_empty(),
        "without statistics:\n{}",
        problems.join("\n")
    );

    // The old client-row query, which chose the partial index of open stays
    // without statistics, fails the same judgement.
    let old_row_sql = "SELECT c.id, EXISTS (SELECT 1 FROM detentions d WHERE d.client_id = c.id AND d.deleted = 0 AND d.ended_on IS NULL) FROM clients c WHERE c.rid = ?1";
    let mut stmt = raw
        .prepare(&format!("EXPLAIN QUERY PLAN {old_row_sql}"))
        .unwrap();
    let plan = stmt
        .query_map([rusqlite::types::Null], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert!(
        !judge(&[(old_row_sql.to_owned(), plan.clone())]).is_empty(),
        "the plan test must catch the old query: {plan:?}"
    );
}
