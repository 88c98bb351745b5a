//! Sync between laptops: bundles, merge, conflicts, duplicates, folders,
//! refusals and a killed import, on real encrypted databases.

use crate::support::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tether::domain::*;
use tether::store::{Resolution, Store, StoreError};
use tether::sync::bundle::{self, SyncKey};
use tether::sync::{Decision, SyncError, Version, decide, vv_after_change};
use uuid::Uuid;

const ORG_KEY: &str = "mekong river outreach 2026";

fn key() -> SyncKey {
    SyncKey::new(ORG_KEY).unwrap()
}

/// One clock for two laptops that moves only when told: a test orders
/// their changes by advancing it, instead of sleeping.
fn one_clock(a: &mut Store, b: &mut Store) -> std::sync::Arc<tether::clock::ManualClock> {
    let clock = std::sync::Arc::new(tether::clock::ManualClock::new(chrono::Utc::now()));
    a.set_clock(clock.clone());
    b.set_clock(clock.clone());
    clock
}

fn quiet() -> impl FnMut(tether::store::SyncStep, usize, usize) {
    |_: tether::store::SyncStep, _: usize, _: usize| {}
}

/// Sends everything `from` holds to `to`.
fn send(key: &SyncKey, from: &Store, to: &mut Store) -> tether::store::Merged {
    let bundle = from.sync_export(key, 0).unwrap();
    to.sync_import(key, &bundle.bytes, &mut quiet()).unwrap()
}

/// Two laptops of one organisation: each enrolled on the other by its admin.
fn meet(a: &mut Store, b: &mut Store) {
    enroll(a, b);
    enroll(b, a);
}

fn audit_count(store: &Store) -> usize {
    store.audit_log(1_000_000).unwrap().len()
}

#[test]
fn version_vectors_order_versions() {
    let a1 = Version::new(None, "a", 1);
    let a2_text = vv_after_change(None, "a", 1, "a", 2);
    assert_eq!(a2_text, None, "one device's own history needs no vector");
    let a2 = Version::new(None, "a", 2);
    assert_eq!(decide(Some(&a2), &a1), Decision::Keep);
    assert_eq!(decide(Some(&a1), &a2), Decision::Replace);
    assert_eq!(decide(None, &a1), Decision::Insert);
    let b3_text = vv_after_change(None, "a", 1, "b", 3);
    assert_eq!(b3_text.as_deref(), Some("a=1,b=3"));
    let b3 = Version::new(b3_text.as_deref(), "b", 3);
    assert_eq!(
        decide(Some(&a1), &b3),
        Decision::Replace,
        "b edited a's version"
    );
    match decide(Some(&a2), &b3) {
        Decision::Conflict {
            incoming_wins,
            vector,
        } => {
            assert!(incoming_wins, "the later clock wins");
            assert_eq!(vector.to_column("b", 3).as_deref(), Some("a=2,b=3"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(tether::sync::tick(10, 5), 11, "the clock never goes back");
    assert_eq!(tether::sync::tick(10, 50), 50);
}

#[test]
fn a_laptop_receives_everything_and_a_second_import_changes_nothing() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0001", Some("សុខា"));
    let mut contact = Contact::new(c.id(), day("2026-03-01"), ContactKind::Street);
    contact.needles_syringes = 20;
    let contact = a.create(contact).unwrap();
    let bundle = a.sync_export(&k, 0).unwrap();
    let before_audit = audit_count(&b);
    let merged = b.sync_import(&k, &bundle.bytes, &mut quiet()).unwrap();
    assert_eq!(merged.conflicts, 0);
    assert_eq!(merged.added, 3, "a's admin, the client and the contact");
    let got: Saved<Contact> = b.get(contact.id()).unwrap();
    assert_eq!(got.data.needles_syringes, 20);
    let got: Saved<Client> = b.get(c.id()).unwrap();
    assert_eq!(
        got.data.nickname.as_deref(),
        Some("សុខា"),
        "Khmer kept exactly"
    );
    assert_eq!(
        b.search_clients("PP-0001", 10).unwrap().rows.len(),
        1,
        "search sees it"
    );
    // The import is audited: who, from which device, how many.
    let entry = &b.audit_log(1).unwrap()[0];
    assert_eq!(entry.action, AuditAction::Sync);
    assert!(entry.detail.contains(a.device_id()) && entry.detail.contains("3 new"));
    // ...and each record taken in is in its history: who made it, on which
    // laptop, in which bundle.
    assert_eq!(audit_count(&b), before_audit + 4);
    let history = b.audit_for_record(contact.id()).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].action, AuditAction::Create);
    assert_eq!(history[0].device_id, a.device_id());
    assert_eq!(history[0].user_id, Some(a.user().id));
    assert!(
        history[0]
            .detail
            .contains(&format!("merged from laptop {}", a.device_id()))
    );
    let dump = b.canonical_dump().unwrap();
    let again = b.sync_import(&k, &bundle.bytes, &mut quiet()).unwrap();
    assert_eq!((again.added, again.updated, again.conflicts), (0, 0, 0));
    assert_eq!(b.canonical_dump().unwrap(), dump);
    // And back: a ends with the same records.
    send(&k, &b, &mut a);
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
}

#[test]
fn an_edit_on_both_laptops_is_a_conflict_the_later_wins_and_the_loser_is_kept() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let clock = one_clock(&mut a, &mut b);
    let c = client(&mut a, "PP-0002", None);
    send(&k, &a, &mut b);
    let mut on_a = c.data.clone();
    on_a.notes = Some("moved to Poipet".into());
    a.update(c.id(), on_a).unwrap();
    clock.advance(chrono::Duration::seconds(1)); // b's change is the later one
    let mut on_b = c.data.clone();
    on_b.notes = Some("held at Prey Speu".into());
    on_b.phone = Some("012 345 678".into());
    b.update(c.id(), on_b).unwrap();
    let into_a = send(&k, &b, &mut a);
    let into_b = send(&k, &a, &mut b);
    // Found once, where the two versions met; b then simply takes the
    // merged record, which has seen both.
    assert_eq!((into_a.conflicts, into_b.conflicts), (1, 0));
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
    let now: Saved<Client> = a.get(c.id()).unwrap();
    assert_eq!(
        now.data.notes.as_deref(),
        Some("held at Prey Speu"),
        "later wins"
    );
    let conflicts = a.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1);
    let conflict = &conflicts[0];
    assert_eq!(conflict.label.to_string(), "client PP-0002");
    let notes = conflict.fields.iter().find(|f| f.field == "notes").unwrap();
    assert_eq!(
        (notes.current.as_str(), notes.other.as_str()),
        ("held at Prey Speu", "moved to Poipet")
    );
    // Another exchange finds nothing new.
    assert_eq!(send(&k, &b, &mut a).conflicts, 0);
    assert_eq!(a.conflicts(false).unwrap().len(), 1);

    // The coordinator takes the other notes but keeps the phone.
    a.resolve_conflict(conflict.id, &Resolution::TakeFields(vec!["notes".into()]))
        .unwrap();
    assert!(a.conflicts(false).unwrap().is_empty());
    let now: Saved<Client> = a.get(c.id()).unwrap();
    assert_eq!(now.data.notes.as_deref(), Some("moved to Poipet"));
    assert_eq!(now.data.phone.as_deref(), Some("012 345 678"));
    // The resolution is a new version that wins on the other laptop with no new conflict.
    let merged = send(&k, &a, &mut b);
    assert_eq!((merged.updated, merged.conflicts), (1, 0));
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
    assert!(
        a.resolve_conflict(conflict.id, &Resolution::KeepCurrent)
            .is_err(),
        "a resolved conflict cannot be resolved again"
    );
}

#[test]
fn a_delete_on_one_laptop_and_an_edit_on_the_other_is_a_conflict() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let clock = one_clock(&mut a, &mut b);
    let c = client(&mut a, "PP-0003", None);
    let contact = a
        .create(Contact::new(c.id(), day("2026-02-01"), ContactKind::Street))
        .unwrap();
    send(&k, &a, &mut b);
    a.delete::<Contact>(contact.id()).unwrap();
    clock.advance(chrono::Duration::seconds(1));
    let mut edited = contact.data.clone();
    edited.condoms = 12;
    b.update(contact.id(), edited).unwrap();
    send(&k, &b, &mut a);
    send(&k, &a, &mut b);
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
    let conflicts = a.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1, "not a silent loss");
    assert!(
        conflicts[0]
            .label
            .to_string()
            .starts_with("contact with PP-0003")
    );
    // The edit came later and won; keeping the other version deletes it again.
    let got: Saved<Contact> = a.get(contact.id()).unwrap();
    assert!(!got.meta.deleted);
    a.resolve_conflict(conflicts[0].id, &Resolution::KeepOther)
        .unwrap();
    let got: Saved<Contact> = a.get(contact.id()).unwrap();
    assert!(got.meta.deleted);
    send(&k, &a, &mut b);
    let got: Saved<Contact> = b.get(contact.id()).unwrap();
    assert!(got.meta.deleted);
}

#[test]
fn one_code_registered_on_two_laptops_is_flagged_and_merged_with_its_records() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let on_a = client(&mut a, "BB-0100", Some("Dara"));
    a.create(Contact::new(
        on_a.id(),
        day("2026-01-10"),
        ContactKind::Street,
    ))
    .unwrap();
    let on_b = client(&mut b, "bb-0100", None);
    for d in ["2026-01-11", "2026-01-12"] {
        b.create(Contact::new(on_b.id(), day(d), ContactKind::Phone))
            .unwrap();
    }
    send(&k, &b, &mut a);
    let groups = a.probable_duplicates().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].len(), 2);
    assert!(groups[0].iter().all(|c| c.code == "BB-0100"));
    let coordinator = {
        add_user(&mut a, "coord", Role::Coordinator);
        let path = a.path().to_owned();
        Store::open(&path, "coord", PASSWORD).unwrap()
    };
    let mut coordinator = coordinator;
    let moved = coordinator.merge_clients(on_a.id(), &[on_b.id()]).unwrap();
    assert_eq!(moved, 2);
    assert!(coordinator.probable_duplicates().unwrap().is_empty());
    let contacts = coordinator.list_for_client::<Contact>(on_a.id()).unwrap();
    assert_eq!(contacts.len(), 3);
    let gone: Saved<Client> = coordinator.get(on_b.id()).unwrap();
    assert!(gone.meta.deleted);
    let audit = coordinator.audit_for_record(on_a.id()).unwrap();
    assert!(audit[0].detail.starts_with("merged client BB-0100"));
    // The merge travels back to b.
    let path = a.path().to_owned();
    drop(coordinator);
    let a = Store::open(&path, "admin", PASSWORD).unwrap();
    send(&k, &a, &mut b);
    assert!(b.probable_duplicates().unwrap().is_empty());
    assert_eq!(b.list_for_client::<Contact>(on_a.id()).unwrap().len(), 3);
}

#[test]
fn bad_bundles_are_refused_whole_and_change_nothing() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    for i in 0..20 {
        client(&mut a, &format!("PP-{i:04}"), None);
    }
    client(&mut b, "BB-0001", None);
    let good = a.sync_export(&k, 0).unwrap().bytes;
    let dump = b.canonical_dump().unwrap();
    let mut audit = audit_count(&b);
    let file_before = std::fs::read(b.path()).unwrap();

    let mut tampered = good.clone();
    let at = tampered.len() - 40;
    tampered[at] ^= 0x01;
    let mut tampered_header = good.clone();
    let pos = tampered_header
        .windows(7)
        .position(|w| w == b"\"since\"")
        .unwrap();
    tampered_header[pos + 8] = b'9';
    let truncated = good[..good.len() - 100].to_vec();
    let other_org = SyncKey::new("another organisation's phrase").unwrap();
    let theirs = {
        let (_c_db, c) = fresh();
        c.sync_export(&other_org, 0).unwrap().bytes
    };
    let cases: Vec<(&str, Vec<u8>, &SyncKey)> = vec![
        ("tampered byte", tampered, &k),
        ("tampered header", tampered_header, &k),
        ("truncated", truncated, &k),
        ("wrong key", good.clone(), &other_org),
        ("another organisation's bundle", theirs, &k),
        ("not a bundle", b"name,code\nx,y\n".to_vec(), &k),
    ];
    for (what, bytes, key) in cases {
        let err = b.sync_import(key, &bytes, &mut quiet()).unwrap_err();
        let text = err.to_string();
        match what {
            "truncated" => assert!(
                matches!(err, StoreError::Sync(SyncError::Truncated { .. })),
                "{what}: {text}"
            ),
            "not a bundle" => assert!(
                matches!(err, StoreError::Sync(SyncError::NotABundle)),
                "{what}: {text}"
            ),
            "tampered byte" | "tampered header" => assert!(
                matches!(err, StoreError::Sync(SyncError::BadSignature)),
                "{what}: {text}"
            ),
            // A laptop of another organisation is one never enrolled here.
            "another organisation's bundle" => assert!(
                matches!(err, StoreError::Sync(SyncError::NotEnrolled { .. })),
                "{what}: {text}"
            ),
            _ => assert!(
                matches!(err, StoreError::Sync(SyncError::WrongKeyOrTampered)),
                "{what}: {text}"
            ),
        }
        assert_eq!(b.canonical_dump().unwrap(), dump, "{what} changed records");
        if what == "another organisation's bundle" {
            // Its laptop is noted (once, audited) for an admin to judge.
            assert_eq!(audit_count(&b), audit + 1, "{what}: noted once");
            audit += 1;
        } else {
            assert_eq!(audit_count(&b), audit, "{what} wrote to the audit log");
        }
    }
    // A bundle from a newer Tether, properly sealed with the right key.
    let newer = bundle::seal(
        &bundle::Sealing {
            key: &k,
            signer: &a.device_key().unwrap(),
            schema: tether::store::schema::MIGRATIONS_COUNT + 1,
            device: a.device_id(),
            since: 0,
            top: 1,
            created_at: 1,
            recipients: &a.main_recipients().unwrap(),
            sealers: &[],
        },
        &bundle::Payload::default(),
    )
    .unwrap();
    let err = b.sync_import(&k, &newer, &mut quiet()).unwrap_err();
    assert!(
        matches!(err, StoreError::Sync(SyncError::NewerSchema { .. })),
        "{err}"
    );
    // A bundle that continues one never merged here.
    let partial = a.sync_export(&k, 5).unwrap().bytes;
    let err = b.sync_import(&k, &partial, &mut quiet()).unwrap_err();
    assert!(
        matches!(err, StoreError::Sync(SyncError::Gap { .. })),
        "{err}"
    );
    assert_eq!(b.canonical_dump().unwrap(), dump);
    assert_eq!(audit_count(&b), audit);
    let path = b.path().to_owned();
    b.close().unwrap();
    let b = Store::open(&path, "admin", PASSWORD).unwrap();
    assert_eq!(b.canonical_dump().unwrap(), dump);
    drop(file_before);
    assert!(b.check().unwrap().is_ok());
}

#[test]
fn roles_decide_who_syncs_resolves_and_sets_the_passphrase() {
    let (_a_db, mut a) = fresh();
    add_user(&mut a, "worker", Role::Outreach);
    assert!(matches!(
        a.set_sync_passphrase("short"),
        Err(StoreError::Sync(SyncError::WeakPassphrase { .. }))
    ));
    a.set_sync_passphrase(ORG_KEY).unwrap();
    let path = a.path().to_owned();
    let mut worker = Store::open(&path, "worker", PASSWORD).unwrap();
    let k = worker
        .sync_key()
        .unwrap()
        .expect("the passphrase is stored");
    assert!(worker.sync_export(&k, 0).is_ok(), "outreach laptops sync");
    assert!(matches!(
        worker.set_sync_passphrase("a new one for everybody"),
        Err(StoreError::Forbidden { .. })
    ));
    assert!(matches!(
        worker.resolve_conflict(1, &Resolution::KeepCurrent),
        Err(StoreError::Forbidden { .. })
    ));
    assert!(matches!(
        worker.merge_clients(Uuid::now_v7(), &[Uuid::now_v7()]),
        Err(StoreError::Forbidden { .. })
    ));
}

#[test]
fn a_sync_folder_exchanges_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    let (_c_db, mut c) = fresh();
    meet(&mut a, &mut b);
    meet(&mut a, &mut c);
    meet(&mut b, &mut c);
    let k = key();
    for i in 0..30 {
        client(&mut a, &format!("AA-{i:04}"), None);
    }
    client(&mut b, "BB-0001", None);
    let first = a.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert_eq!(first.sent, 31, "30 clients and a's admin");
    assert!(first.bundle.exists());
    b.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    let c_first = c.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert_eq!(c_first.received(), 33, "a's 31 and b's 2");
    // a merges b and c, then a's next bundle holds only what is new to them.
    let again = a.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert_eq!(again.received(), 3, "b's admin and client, c's admin");
    b.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    c.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    let quiet_round = a.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert!(
        quiet_round.sent < 31,
        "a's bundle shrinks once everyone has merged it (sent {})",
        quiet_round.sent
    );
    b.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    c.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    let dumps: BTreeSet<String> = [&a, &b, &c]
        .iter()
        .map(|s| s.canonical_dump().unwrap())
        .collect();
    assert_eq!(dumps.len(), 1, "all three laptops hold the same records");
    assert_eq!(a.count_live("clients").unwrap(), 31);
    // A bundle from another organisation in the folder is skipped with a reason.
    let (_d_db, d) = fresh();
    let stranger = d
        .sync_export(&SyncKey::new("not our organisation!").unwrap(), 0)
        .unwrap();
    std::fs::write(
        folder.join(format!("{}.tether-sync", d.device_id())),
        stranger.bytes,
    )
    .unwrap();
    let done = a.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert_eq!(done.skipped.len(), 1);
    assert!(
        done.skipped[0].contains("not enrolled"),
        "{}",
        done.skipped[0]
    );
    // ...and does not hold a's bundle back to everything.
    assert!(done.sent < 31, "sent {}", done.sent);
}

/// A local change made by the test, on one database.
#[derive(Debug, Clone)]
enum Op {
    NewClient { db: usize, code: u8 },
    EditClient { db: usize, pick: usize, note: u8 },
    DeleteClient { db: usize, pick: usize },
    NewContact { db: usize, pick: usize, day: u8 },
    EditContact { db: usize, pick: usize, count: u8 },
    DeleteContact { db: usize, pick: usize },
    Exchange { from: usize, to: usize, delta: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..8u8).prop_map(|(db, code)| Op::NewClient { db, code }),
        3 => (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(db, pick, note)| Op::EditClient { db, pick, note }),
        1 => (0..3usize, any::<usize>()).prop_map(|(db, pick)| Op::DeleteClient { db, pick }),
        3 => (0..3usize, any::<usize>(), 0..60u8).prop_map(|(db, pick, day)| Op::NewContact { db, pick, day }),
        2 => (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(db, pick, count)| Op::EditContact { db, pick, count }),
        1 => (0..3usize, any::<usize>()).prop_map(|(db, pick)| Op::DeleteContact { db, pick }),
        4 => (0..3usize, 0..3usize, any::<bool>()).prop_map(|(from, to, delta)| Op::Exchange { from, to, delta }),
    ]
}

/// (table, id, clock, device): one version of one record.
type VersionKey = (String, Uuid, i64, String);

fn versions(store: &Store) -> BTreeMap<(String, Uuid), (i64, String)> {
    let mut out = BTreeMap::new();
    for line in store.canonical_dump().unwrap().lines() {
        let (table, rest) = line.split_once(':').unwrap();
        let field = |name: &str| {
            rest.split(' ')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_owned()
        };
        let id = Uuid::from_slice(
            &hex::decode(field("id").trim_start_matches("x'").trim_end_matches('\'')).unwrap(),
        )
        .unwrap();
        let clock: i64 = field("updated_at").parse().unwrap();
        let device = field("device_id").trim_matches('"').to_owned();
        out.insert((table.to_owned(), id), (clock, device));
    }
    out
}

fn live_ids(store: &Store, table: &str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = store
        .canonical_dump()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("{table}:")) && l.contains(" deleted=0"))
        .map(|l| {
            let hexid = l
                .split(" id=x'")
                .nth(1)
                .unwrap()
                .split('\'')
                .next()
                .unwrap();
            Uuid::from_slice(&hex::decode(hexid).unwrap()).unwrap()
        })
        .collect();
    ids.sort();
    ids
}

fn apply_local(store: &mut Store, op: &Op) {
    match *op {
        Op::NewClient { code, .. } => {
            // Two laptops may register the same code; one laptop refuses a second.
            let _ = store.create(Client::with_code(&format!("PP-{code:04}")));
        }
        Op::EditClient { pick, note, .. } => {
            let ids = live_ids(store, "clients");
            if let Some(id) = ids.get(pick % ids.len().max(1)) {
                let mut c: Saved<Client> = store.get(*id).unwrap();
                c.data.notes = Some(format!("note {note}"));
                // Refused while its code is shared with another client.
                let _ = store.update(*id, c.data);
            }
        }
        Op::DeleteClient { pick, .. } => {
            let ids = live_ids(store, "clients");
            if let Some(id) = ids.get(pick % ids.len().max(1)) {
                store.delete::<Client>(*id).unwrap();
            }
        }
        Op::NewContact { pick, day: d, .. } => {
            let ids = live_ids(store, "clients");
            if let Some(id) = ids.get(pick % ids.len().max(1)) {
                let date = day("2026-01-01") + chrono::Days::new(u64::from(d));
                store
                    .create(Contact::new(*id, date, ContactKind::Street))
                    .unwrap();
            }
        }
        Op::EditContact { pick, count, .. } => {
            let ids = live_ids(store, "contacts");
            if let Some(id) = ids.get(pick % ids.len().max(1)) {
                let mut c: Saved<Contact> = store.get(*id).unwrap();
                c.data.needles_syringes = i64::from(count);
                // Refused when its client was deleted on another laptop meanwhile.
                let _ = store.update(*id, c.data);
            }
        }
        Op::DeleteContact { pick, .. } => {
            let ids = live_ids(store, "contacts");
            if let Some(id) = ids.get(pick % ids.len().max(1)) {
                store.delete::<Contact>(*id).unwrap();
            }
        }
        Op::Exchange { .. } => unreachable!(),
    }
}

fn conflict_keys(stores: &[Store]) -> BTreeSet<VersionKey> {
    let mut out = BTreeSet::new();
    for s in stores {
        for c in s.conflicts(true).unwrap() {
            out.insert((
                c.table.clone(),
                c.record_id,
                c.other_changed_at.timestamp_millis(),
                c.other_device.clone(),
            ));
        }
    }
    out
}

fn three_laptops(ops: &[Op]) -> Result<(), TestCaseError> {
    let dbs: Vec<(TestDb, Store)> = (0..3).map(|_| fresh()).collect();
    let (_dirs, mut stores): (Vec<TestDb>, Vec<Store>) = dbs.into_iter().unzip();
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                let (to, from) = if i < j {
                    let (l, r) = stores.split_at_mut(j);
                    (&mut l[i], &r[0])
                } else {
                    let (l, r) = stores.split_at_mut(i);
                    (&mut r[0], &l[j])
                };
                enroll(to, from);
            }
        }
    }
    let k = key();
    // Every version any laptop held, and those replaced by that laptop's own edits.
    let mut seen: BTreeSet<VersionKey> = BTreeSet::new();
    let mut edited_over: BTreeSet<VersionKey> = BTreeSet::new();
    let mut bundles: Vec<(usize, Vec<u8>)> = Vec::new();
    let key_of = |(t, id): &(String, Uuid), (c, d): &(i64, String)| (t.clone(), *id, *c, d.clone());
    for op in ops {
        match *op {
            Op::Exchange { from, to, delta } => {
                if from == to {
                    continue;
                }
                let exported = if delta {
                    let to_device = stores[to].device_id().to_owned();
                    stores[from].sync_export_for(&k, &to_device).unwrap()
                } else {
                    stores[from].sync_export(&k, 0).unwrap()
                };
                stores[to]
                    .sync_import(&k, &exported.bytes, &mut quiet())
                    .map_err(|e| TestCaseError::fail(format!("import refused: {e}")))?;
                bundles.push((to, exported.bytes));
            }
            Op::NewClient { db, .. }
            | Op::EditClient { db, .. }
            | Op::DeleteClient { db, .. }
            | Op::NewContact { db, .. }
            | Op::EditContact { db, .. }
            | Op::DeleteContact { db, .. } => {
                let before = versions(&stores[db]);
                apply_local(&mut stores[db], op);
                let after = versions(&stores[db]);
                for (k, v) in &before {
                    if after.get(k) != Some(v) {
                        edited_over.insert(key_of(k, v));
                    }
                }
            }
        }
        for s in &stores {
            for (k, v) in versions(s) {
                seen.insert(key_of(&k, &v));
            }
        }
    }
    // Everyone meets everyone, twice over, with whole bundles.
    for _ in 0..2 {
        for from in 0..3 {
            for to in 0..3 {
                if from != to {
                    let exported = stores[from].sync_export(&k, 0).unwrap();
                    stores[to]
                        .sync_import(&k, &exported.bytes, &mut quiet())
                        .unwrap();
                    bundles.push((to, exported.bytes));
                }
            }
        }
    }
    let dumps: Vec<String> = stores.iter().map(|s| s.canonical_dump().unwrap()).collect();
    prop_assert_eq!(&dumps[0], &dumps[1]);
    prop_assert_eq!(&dumps[1], &dumps[2]);
    // Nothing accepted anywhere is lost: each version is the final one,
    // was replaced by an edit made where it was held, or is kept as a conflict.
    let finals: BTreeSet<VersionKey> = versions(&stores[0])
        .iter()
        .map(|(k, v)| key_of(k, v))
        .collect();
    let conflicts = conflict_keys(&stores);
    for v in &seen {
        prop_assert!(
            finals.contains(v) || edited_over.contains(v) || conflicts.contains(v),
            "version lost: {:?}",
            v
        );
    }
    // Importing any bundle again changes nothing.
    let conflict_count: Vec<usize> = stores
        .iter()
        .map(|s| s.conflicts(true).unwrap().len())
        .collect();
    for (to, bytes) in &bundles {
        stores[*to].sync_import(&k, bytes, &mut quiet()).unwrap();
    }
    for (i, s) in stores.iter().enumerate() {
        prop_assert_eq!(&s.canonical_dump().unwrap(), &dumps[i]);
        prop_assert_eq!(s.conflicts(true).unwrap().len(), conflict_count[i]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]
    #[test]
    fn three_laptops_converge_and_lose_nothing(ops in prop::collection::vec(op(), 8..50)) {
        three_laptops(&ops)?;
    }
}

#[cfg(unix)]
#[test]
fn an_import_killed_halfway_leaves_the_database_as_it_was() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let (_a_db, mut a) = fresh();
    let k = key();
    let mut batch = tether::store::Batch::default();
    for i in 0..6000 {
        let id = Uuid::now_v7();
        let c = Client::with_code(&format!("KK-{i:05}"));
        batch.clients.push((id, c));
        batch.contacts.push((
            Uuid::now_v7(),
            Contact::new(id, day("2026-02-02"), ContactKind::Street),
        ));
    }
    a.write_batch(&batch, "test").unwrap();
    let (b_db, mut b) = fresh();
    enroll(&mut b, &a);
    enroll(&mut a, &b);
    let bundle = a.sync_export(&k, 0).unwrap();
    client(&mut b, "BB-0009", None);
    let before = b.canonical_dump().unwrap();
    let path = b.path().to_owned();
    b.close().unwrap();
    let file = b_db.dir.path().join("from-a.tether-sync");
    std::fs::write(&file, &bundle.bytes).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", "import", "--db"])
        .arg(&path)
        .arg(&file)
        .env("TETHER_USER", "admin")
        .env("TETHER_PASSWORD", PASSWORD)
        .env("TETHER_SYNC_KEY", ORG_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Kill it as soon as it reports records merged inside its transaction.
    let mut saw = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("merging bundle 1 of 1: ")
            && !line.starts_with("merging bundle 1 of 1: 0 of")
        {
            saw = Some(line);
            break;
        }
    }
    let saw = saw.expect("the import reports progress");
    assert!(
        !saw.starts_with("merging bundle 1 of 1: 12001"),
        "killed before the end: {saw}"
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let b = Store::open(&path, "admin", PASSWORD).unwrap();
    assert_eq!(
        b.canonical_dump().unwrap(),
        before,
        "nothing of the killed import remains"
    );
    assert!(b.check().unwrap().is_ok());
    // And the same bundle then merges whole.
    let mut b = b;
    let merged = b.sync_import(&k, &bundle.bytes, &mut quiet()).unwrap();
    assert_eq!(merged.added, 12_001);
}

// ---------------------------------------------------------------------
// Hostile bundles: what a seized laptop, or a stranger who has the
// organisation's passphrase, can try. Every refusal leaves the records
// as they were.

use tether::store::Trust;
use tether::sync::bundle::{Payload, Value};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A bundle as a seized laptop could write it: `from`'s own full export,
/// opened with the passphrase, changed by `edit`, sealed again with
/// `from`'s own signing key.
/// A bundle `s` wrote, opened with its own key (the writer is always one
/// of the laptops a bundle is sealed for).
fn open_own(k: &SyncKey, s: &Store, bytes: &[u8]) -> bundle::Bundle {
    let key = s.device_key().unwrap();
    bundle::open(
        k,
        &bundle::Reader {
            device: s.device_id(),
            key: &key,
        },
        tether::store::schema::MIGRATIONS_COUNT,
        bytes,
    )
    .unwrap()
}

fn forged(k: &SyncKey, from: &Store, edit: impl FnOnce(&mut Payload)) -> Vec<u8> {
    let exported = from.sync_export(k, 0).unwrap();
    let mut opened = open_own(k, from, &exported.bytes);
    edit(&mut opened.payload);
    let h = &opened.header;
    bundle::seal(
        &bundle::Sealing {
            key: k,
            signer: &from.device_key().unwrap(),
            schema: h.schema,
            device: &h.device,
            since: h.since,
            top: h.top,
            created_at: h.created_at,
            recipients: &from.main_recipients().unwrap(),
            sealers: &[],
        },
        &opened.payload,
    )
    .unwrap()
}

fn column(payload: &Payload, table: &str, name: &str) -> usize {
    let t = payload.tables.iter().find(|t| t.table == table).unwrap();
    t.columns.iter().position(|c| c == name).unwrap()
}

/// Changes one row of a payload (found by id) as a new change of `device`.
fn change(
    payload: &mut Payload,
    table: &str,
    id: Uuid,
    device: &str,
    author: Option<Uuid>,
    values: &[(&str, Value)],
) {
    let cols: Vec<(String, usize)> = values
        .iter()
        .map(|(c, _)| ((*c).to_owned(), column(payload, table, c)))
        .collect();
    let at = |n: &str| column(payload, table, n);
    let (id_at, upd, by, dev, vv) = (
        at("id"),
        at("updated_at"),
        at("updated_by"),
        at("device_id"),
        at("vv"),
    );
    let t = payload
        .tables
        .iter_mut()
        .find(|t| t.table == table)
        .unwrap();
    let row = t
        .rows
        .iter_mut()
        .find(|r| r[id_at] == Value::Blob(id.as_bytes().to_vec()))
        .expect("row in the bundle");
    for ((_, i), (_, v)) in cols.iter().zip(values) {
        row[*i] = v.clone();
    }
    row[upd] = Value::Int(now_ms());
    row[dev] = Value::Text(device.to_owned());
    row[by] = author.map_or(Value::Null, |a| Value::Blob(a.as_bytes().to_vec()));
    row[vv] = Value::Null;
}

fn assert_refused(
    store: &mut Store,
    k: &SyncKey,
    bytes: &[u8],
    what: &str,
    expect: impl Fn(&SyncError) -> bool,
) -> String {
    let dump = store.canonical_dump().unwrap();
    let err = store.sync_import(k, bytes, &mut quiet()).expect_err(what);
    let text = err.to_string();
    match &err {
        StoreError::Sync(e) => assert!(expect(e), "{what}: unexpected refusal: {text}"),
        other => panic!("{what}: not a sync refusal: {other}"),
    }
    assert!(
        !text.contains('\n') && text.len() < 400,
        "{what}: one short line: {text}"
    );
    assert_eq!(
        store.canonical_dump().unwrap(),
        dump,
        "{what} changed records"
    );
    text
}

/// An office laptop `o` with an outreach worker, a field laptop `f`
/// enrolled on it as a member (and `o` on `f` as the office), after a first
/// exchange.
fn office_and_field() -> (TestDb, Store, TestDb, Store, Saved<User>) {
    let (o_db, mut o) = fresh();
    let (f_db, mut f) = fresh();
    let worker = add_user(&mut o, "sokha", Role::Outreach);
    enroll_as(&mut o, &f, Trust::Member);
    // (Its clients chosen: every one; need-to-know scopes are scopes.rs's.)
    o.set_device_scope(f.device_id(), &tether::store::Scope::All)
        .unwrap();
    enroll_as(&mut f, &o, Trust::Office);
    let k = key();
    send(&k, &o, &mut f);
    (o_db, o, f_db, f, worker)
}

fn admin_of(store: &Store) -> Saved<User> {
    store
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.data.username == "admin" && u.meta.device_id == store.device_id())
        .unwrap()
}

#[test]
fn a_field_laptop_cannot_make_an_admin_or_lock_one_out() {
    let (_o_db, mut o, _f_db, f, worker) = office_and_field();
    let k = key();
    let admin = admin_of(&o);
    let fdev = f.device_id().to_owned();
    // The worker made an admin by the worker's own word.
    let escalate = forged(&k, &f, |p| {
        change(
            p,
            "users",
            worker.id(),
            &fdev,
            Some(worker.id()),
            &[("role", Value::Text("admin".into()))],
        );
    });
    let text = assert_refused(
        &mut o,
        &k,
        &escalate,
        "role escalation",
        |e| matches!(e, SyncError::NotAllowed { table, .. } if table == "users"),
    );
    assert!(text.contains("office laptop"), "{text}");
    // The only admin turned into a deactivated outreach account.
    let lockout = forged(&k, &f, |p| {
        change(
            p,
            "users",
            admin.id(),
            &fdev,
            Some(admin.id()),
            &[
                ("role", Value::Text("outreach".into())),
                ("active", Value::Int(0)),
            ],
        );
    });
    assert_refused(
        &mut o,
        &k,
        &lockout,
        "admin lock-out",
        |e| matches!(e, SyncError::NotAllowed { table, .. } if table == "users"),
    );
    let still: Saved<User> = o.get(admin.id()).unwrap();
    assert_eq!((still.data.role, still.data.active), (Role::Admin, true));
    let worker_now: Saved<User> = o.get(worker.id()).unwrap();
    assert_eq!(worker_now.data.role, Role::Outreach);
    // A delete by an outreach worker's hand is refused too; an ordinary
    // contact by the worker goes through.
    let c = client(&mut o, "PP-0100", None);
    let mut f = f;
    send(&k, &o, &mut f);
    let delete = forged(&k, &f, |p| {
        change(
            p,
            "clients",
            c.id(),
            &fdev,
            Some(worker.id()),
            &[("deleted", Value::Int(1))],
        );
    });
    let text = assert_refused(
        &mut o,
        &k,
        &delete,
        "delete by outreach",
        |e| matches!(e, SyncError::NotAllowed { table, .. } if table == "clients"),
    );
    assert!(text.contains("delete records"), "{text}");
    // ...and so is the same delete in the office admin's name.
    let borrowed = forged(&k, &f, |p| {
        change(
            p,
            "clients",
            c.id(),
            &fdev,
            Some(admin.id()),
            &[("deleted", Value::Int(1))],
        );
    });
    let text = assert_refused(
        &mut o,
        &k,
        &borrowed,
        "delete in the admin's name",
        |e| matches!(e, SyncError::NotAllowed { table, .. } if table == "clients"),
    );
    assert!(text.contains("admin's name"), "{text}");
    let contact = f
        .create(Contact::new(c.id(), day("2026-03-01"), ContactKind::Street))
        .unwrap();
    let honest = forged(&k, &f, |p| {
        change(p, "contacts", contact.id(), &fdev, Some(worker.id()), &[]);
    });
    let merged = o.sync_import(&k, &honest, &mut quiet()).unwrap();
    assert!(merged.added >= 1, "the worker's contact is taken");
}

#[test]
fn an_office_laptop_changes_users_only_by_an_admin_and_never_removes_the_last_one() {
    let (_o_db, mut o) = fresh();
    let (_x_db, x) = fresh();
    let worker = add_user(&mut o, "dara", Role::Outreach);
    let k = key();
    let mut x = x;
    meet(&mut o, &mut x);
    send(&k, &o, &mut x);
    let admin = admin_of(&o);
    let xdev = x.device_id().to_owned();
    let by_worker = forged(&k, &x, |p| {
        change(
            p,
            "users",
            worker.id(),
            &xdev,
            Some(worker.id()),
            &[("role", Value::Text("admin".into()))],
        );
    });
    let text = assert_refused(&mut o, &k, &by_worker, "escalation by a worker", |e| {
        matches!(e, SyncError::NotAllowed { .. })
    });
    assert!(text.contains("not made by an admin"), "{text}");
    // Every admin gone, in the admin's name: the last admin stays.
    let x_admin = admin_of(&x);
    let lockout = forged(&k, &x, |p| {
        for id in [admin.id(), x_admin.id()] {
            change(
                p,
                "users",
                id,
                &xdev,
                Some(admin.id()),
                &[("active", Value::Int(0))],
            );
        }
    });
    assert_refused(&mut o, &k, &lockout, "lock-out", |e| {
        matches!(e, SyncError::NoAdminLeft)
    });
    // An admin's real change from the office laptop is taken.
    let promote = forged(&k, &x, |p| {
        change(
            p,
            "users",
            worker.id(),
            &xdev,
            Some(admin.id()),
            &[("role", Value::Text("coordinator".into()))],
        );
    });
    o.sync_import(&k, &promote, &mut quiet()).unwrap();
    let now: Saved<User> = o.get(worker.id()).unwrap();
    assert_eq!(now.data.role, Role::Coordinator);
}

#[test]
fn strangers_impersonators_and_retired_laptops_are_refused() {
    let (_o_db, mut o, _f_db, f, _worker) = office_and_field();
    let k = key();
    // A stranger with the passphrase: refused, and listed for an admin to judge.
    let (_s_db, mut s) = fresh();
    client(&mut s, "XX-0001", None);
    let theirs = s.sync_export(&k, 0).unwrap().bytes;
    let text = assert_refused(&mut o, &k, &theirs, "stranger", |e| {
        matches!(e, SyncError::NotEnrolled { .. })
    });
    let fp = s.device_fingerprint().unwrap();
    assert!(
        text.contains(&fp),
        "the refusal shows the key to compare: {text}"
    );
    let listed = o.sync_devices().unwrap();
    assert!(
        listed
            .iter()
            .any(|d| d.device_id == s.device_id() && d.trust == Trust::Pending)
    );
    // Enrolled as a field laptop, its own admin stays its own, and records
    // made by a user the office does not know are refused.
    o.enroll_device(s.device_id(), None, Trust::Member).unwrap();
    // (A bundle is sealed only for laptops its writer has enrolled.)
    let sealed_before = assert_refused(&mut o, &k, &theirs, "not sealed for it", |e| {
        matches!(e, SyncError::NotForThisLaptop)
    });
    assert!(sealed_before.contains("not sealed for this laptop"));
    enroll(&mut s, &o);
    let theirs = s.sync_export(&k, 0).unwrap().bytes;
    let text = assert_refused(
        &mut o,
        &k,
        &theirs,
        "unknown author",
        |e| matches!(e, SyncError::NotAllowed { table, .. } if table == "clients"),
    );
    assert!(text.contains("does not know"), "{text}");
    // Someone else's key under the field laptop's device id.
    let exported = s.sync_export(&k, 0).unwrap();
    let opened = open_own(&k, &s, &exported.bytes);
    let posing = bundle::seal(
        &bundle::Sealing {
            key: &k,
            signer: &s.device_key().unwrap(),
            schema: opened.header.schema,
            device: f.device_id(),
            since: 0,
            top: opened.header.top,
            created_at: opened.header.created_at,
            recipients: &s.main_recipients().unwrap(),
            sealers: &[],
        },
        &opened.payload,
    )
    .unwrap();
    assert_refused(&mut o, &k, &posing, "impersonation", |e| {
        matches!(e, SyncError::KeyMismatch { .. })
    });
    // A retired laptop.
    let from_f = f.sync_export(&k, 0).unwrap().bytes;
    o.enroll_device(f.device_id(), None, Trust::Retired)
        .unwrap();
    assert_refused(&mut o, &k, &from_f, "retired", |e| {
        matches!(e, SyncError::Retired { .. })
    });
    // Only an admin enrolls.
    let mut worker = Store::open(o.path(), "sokha", PASSWORD).unwrap();
    assert!(matches!(
        worker.enroll_device(s.device_id(), None, Trust::Office),
        Err(StoreError::Forbidden { .. })
    ));
}

#[test]
fn invalid_rows_are_refused_whole_naming_table_record_and_field() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0200", None);
    let enrollment = a
        .create(Enrollment {
            client_id: c.id(),
            service: Service::Art,
            provider: None,
            number: None,
            start: day("2026-01-05"),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap();
    let refill = a
        .create(ServiceEvent {
            enrollment_id: enrollment.id(),
            client_id: c.id(),
            date: day("2026-02-01"),
            kind: ServiceEventKind::Refill,
            days_supplied: Some(30),
            dose_mg: None,
            cause: None,
            notes: None,
        })
        .unwrap();
    let admin = admin_of(&a);
    let adev = a.device_id().to_owned();
    let cases: Vec<(&str, &str, Uuid, &str, Value)> = vec![
        (
            "formula code",
            "clients",
            c.id(),
            "code",
            Value::Text("=cmd|' /C calc'!A0".into()),
        ),
        (
            "bogus sex",
            "clients",
            c.id(),
            "sex",
            Value::Text("bogus".into()),
        ),
        (
            "far-future registration",
            "clients",
            c.id(),
            "registered_on",
            Value::Text("9999-12-31".into()),
        ),
        (
            "long nickname",
            "clients",
            c.id(),
            "nickname",
            Value::Text("ស".repeat(5000)),
        ),
        (
            "absurd days supplied",
            "service_events",
            refill.id(),
            "days_supplied",
            Value::Int(1_000_000_000_000),
        ),
        (
            "not a date",
            "service_events",
            refill.id(),
            "date",
            Value::Text("yesterday".into()),
        ),
    ];
    for (what, table, id, field, value) in cases {
        let bytes = forged(&k, &a, |p| {
            change(p, table, id, &adev, Some(admin.id()), &[(field, value)]);
        });
        let text = assert_refused(&mut b, &k, &bytes, what, |e| {
            matches!(e, SyncError::InvalidRecord { .. })
        });
        assert!(
            text.contains(table) && text.contains(&id.to_string()) && text.contains(field),
            "{what}: names table, record and field: {text}"
        );
    }
    // Nothing of `a` was taken by the refusals; the honest bundle still merges.
    send(&k, &a, &mut b);
    let got: Saved<ServiceEvent> = b.get(refill.id()).unwrap();
    assert_eq!(got.data.days_supplied, Some(30));
}

#[test]
fn far_future_stamps_are_refused_and_the_clock_stays() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0300", None);
    let adev = a.device_id().to_owned();
    let admin = admin_of(&a);
    let at = |p: &Payload, n: &str| column(p, "clients", n);
    for (what, stamp) in [
        ("two days ahead", now_ms() + 2 * 86_400_000),
        ("i64::MAX", i64::MAX),
    ] {
        let bytes = forged(&k, &a, |p| {
            change(p, "clients", c.id(), &adev, Some(admin.id()), &[]);
            let u = at(p, "updated_at");
            let t = p.tables.iter_mut().find(|t| t.table == "clients").unwrap();
            for row in &mut t.rows {
                row[u] = Value::Int(stamp);
            }
        });
        let text = assert_refused(&mut b, &k, &bytes, what, |e| {
            matches!(e, SyncError::ClockAhead { .. })
        });
        assert!(text.contains("24 hours"), "{text}");
    }
    let vv_bytes = forged(&k, &a, |p| {
        change(p, "clients", c.id(), &adev, Some(admin.id()), &[]);
        let v = at(p, "vv");
        let t = p.tables.iter_mut().find(|t| t.table == "clients").unwrap();
        t.rows[0][v] = Value::Text(format!("{adev}=1,zz={}", i64::MAX));
    });
    let text = assert_refused(&mut b, &k, &vv_bytes, "a far-future version vector", |e| {
        matches!(e, SyncError::ClockAhead { .. })
    });
    assert!(!text.contains("1970"), "{text}");
    // The local clock did not move: a new record is stamped now.
    let mine = client(&mut b, "BB-0300", None);
    let drift = mine.meta.updated_at.timestamp_millis() - now_ms();
    assert!(drift < 60_000, "the clock ran ahead by {drift} ms");
    // And an honest bundle still merges.
    send(&k, &a, &mut b);
}

#[test]
fn oversized_costly_and_misshapen_bundles_are_refused_before_work() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0400", None);
    a.create(Contact::new(c.id(), day("2026-11-20"), ContactKind::Street))
        .unwrap();
    // A decompression bomb: 20 MB of JSON that deflates to a few KB.
    let bomb = forged(&k, &a, |p| {
        let t = p.tables.iter_mut().find(|t| t.table == "clients").unwrap();
        let n = t.columns.len();
        t.rows = (0..400)
            .map(|_| {
                let mut row = vec![Value::Null; n];
                row[1] = Value::Text("a".repeat(50_000));
                row
            })
            .collect();
    });
    assert!(bomb.len() < 1_000_000, "the bomb is small: {}", bomb.len());
    let text = assert_refused(&mut b, &k, &bomb, "decompression bomb", |e| {
        matches!(e, SyncError::TooLarge { .. })
    });
    assert!(text.contains("decompressed"), "{text}");
    // A header asking for a costly key derivation: refused before any is done.
    let good = a.sync_export(&k, 0).unwrap().bytes;
    let header_len = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[16..16 + header_len]).unwrap();
    let costly = header.replace("\"kdf\":[19456,2,1]", "\"kdf\":[4194304,64,8]");
    assert_ne!(costly, header);
    let mut bytes = good[..12].to_vec();
    bytes.extend_from_slice(&(costly.len() as u32).to_le_bytes());
    bytes.extend_from_slice(costly.as_bytes());
    bytes.extend_from_slice(&good[16 + header_len..]);
    let text = assert_refused(&mut b, &k, &bytes, "costly key header", |e| {
        matches!(e, SyncError::Damaged(_))
    });
    assert!(text.contains("key settings"), "{text}");
    // Table and column names are checked before any SQL is built.
    for name in ["meta", "users; DROP TABLE clients", "sync_devices"] {
        let bytes = forged(&k, &a, |p| {
            p.tables[0].table = name.to_owned();
        });
        let text = assert_refused(&mut b, &k, &bytes, name, |e| {
            matches!(e, SyncError::Damaged(_))
        });
        assert!(text.contains("unknown table"), "{text}");
    }
    let bytes = forged(&k, &a, |p| {
        let t = p.tables.iter_mut().find(|t| t.table == "clients").unwrap();
        t.columns[1] = "code = 'x', role".into();
    });
    assert_refused(&mut b, &k, &bytes, "a column name", |e| {
        matches!(e, SyncError::Damaged(_))
    });
    // A reference to a record nobody holds (a contact of a client neither
    // laptop has), and one to a record of the wrong kind: refused whole,
    // naming the record and the column.
    for (name, target) in [
        ("an unknown client", uuid::Uuid::now_v7()),
        ("a user as a client", a.user().id),
    ] {
        let bytes = forged(&k, &a, |p| {
            let at = column(p, "contacts", "client_id");
            let t = p.tables.iter_mut().find(|t| t.table == "contacts").unwrap();
            t.rows[0][at] = Value::Blob(target.as_bytes().to_vec());
        });
        let text = assert_refused(&mut b, &k, &bytes, name, |e| {
            matches!(e, SyncError::Damaged(_))
        });
        assert!(text.contains("client_id"), "{name}: {text}");
    }
    // One record twice, in the same table: refused by name, not left to
    // whichever copy is written last.
    let bytes = forged(&k, &a, |p| {
        let t = p.tables.iter_mut().find(|t| t.table == "clients").unwrap();
        let twice = t.rows[0].clone();
        t.rows.push(twice);
    });
    let text = assert_refused(&mut b, &k, &bytes, "a record twice", |e| {
        matches!(e, SyncError::Damaged(_))
    });
    assert!(text.contains("twice"), "{text}");
    // A file larger than any bundle is not even read.
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.tether-sync");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(tether::sync::bundle::MAX_BUNDLE_BYTES + 1)
        .unwrap();
    assert!(matches!(
        tether::store::read_bundle_file(&huge),
        Err(StoreError::Sync(SyncError::TooLarge { .. }))
    ));
    // Junk and strangers' files in the shared folder cost little and are skipped.
    let folder = dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..5 {
        std::fs::write(
            folder.join(format!("junk{i}.tether-sync")),
            &bytes[..bytes.len() / 2],
        )
        .unwrap();
    }
    let done = b.sync_with_folder(&k, &folder, &mut quiet()).unwrap();
    assert_eq!(done.skipped.len(), 5, "{:?}", done.skipped);
}

#[test]
fn random_changes_to_a_real_bundle_never_panic_and_change_nothing_when_refused() {
    use proptest::test_runner::{Config, TestRunner};
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0500", Some("Sokha"));
    a.create(Contact::new(c.id(), day("2026-03-03"), ContactKind::DropIn))
        .unwrap();
    let base = a.sync_export(&k, 0).unwrap();
    let opened = open_own(&k, &a, &base.bytes);
    let signer = a.device_key().unwrap();
    let recipients = a.main_recipients().unwrap();
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::Int),
        (-1e12f64..1e12).prop_map(Value::Real),
        ".{0,40}".prop_map(Value::Text),
        "(=|\\+|-|@)[A-Z0-9(]{0,10}".prop_map(Value::Text),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Blob),
    ];
    let edits = prop::collection::vec((0usize..8, 0usize..64, 0usize..64, value), 1..6);
    let b = std::cell::RefCell::new(b);
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&edits, |edits| {
            let mut payload = opened.payload.clone();
            for (t, r, col, v) in edits {
                let n = payload.tables.len();
                let table = &mut payload.tables[t % n];
                if table.rows.is_empty() {
                    continue;
                }
                let rows = table.rows.len();
                let row = &mut table.rows[r % rows];
                let cols = row.len();
                row[col % cols] = v;
            }
            let h = &opened.header;
            let bytes = bundle::seal(
                &bundle::Sealing {
                    key: &k,
                    signer: &signer,
                    schema: h.schema,
                    device: &h.device,
                    since: 0,
                    top: h.top,
                    created_at: h.created_at,
                    recipients: &recipients,
                    sealers: &[],
                },
                &payload,
            )
            .unwrap();
            let mut b = b.borrow_mut();
            let dump = b.canonical_dump().unwrap();
            match b.sync_import(&k, &bytes, &mut quiet()) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    prop_assert_eq!(b.canonical_dump().unwrap(), dump);
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(b.borrow().check().unwrap().is_ok());
}

#[test]
fn demo_data_syncs_whole_through_every_check() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let config = tether::demo::DemoConfig {
        clients: 150,
        seed: 3,
        today: tether::store::today(),
    };
    tether::demo::run(&mut a, &config, |_, _| {}).unwrap();
    let k = key();
    let merged = send(&k, &a, &mut b);
    assert_eq!(merged.records, merged.added, "every record taken");
    send(&k, &b, &mut a);
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
}

#[test]
fn the_command_line_lists_enrolls_and_refuses_in_one_line() {
    use std::process::Command;
    let (o_db, mut o) = fresh();
    add_user(&mut o, "sokha", Role::Outreach);
    let (s_db, mut s) = fresh();
    client(&mut s, "XX-0001", None);
    let k = key();
    let file = s_db.dir.path().join("stranger.tether-sync");
    std::fs::write(&file, s.sync_export(&k, 0).unwrap().bytes).unwrap();
    let before = o.canonical_dump().unwrap();
    let path = o.path().to_owned();
    let (o_id, o_key) = (
        o.device_id().to_owned(),
        o.device_key().unwrap().public_hex(),
    );
    o.close().unwrap();
    let run = |user: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(args)
            .arg("--db")
            .arg(&path)
            .env("TETHER_USER", user)
            .env("TETHER_PASSWORD", PASSWORD)
            .env("TETHER_SYNC_KEY", ORG_KEY)
            .output()
            .unwrap()
    };
    let import = |user: &str| {
        Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(["sync", "import", "--db"])
            .arg(&path)
            .arg(&file)
            .env("TETHER_USER", user)
            .env("TETHER_PASSWORD", PASSWORD)
            .env("TETHER_SYNC_KEY", ORG_KEY)
            .output()
            .unwrap()
    };
    let out = import("admin");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not enrolled"), "{err}");
    let out = run("admin", &["sync", "devices"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("this laptop"), "{listed}");
    assert!(
        listed.contains(s.device_id()) && listed.contains("pending"),
        "{listed}"
    );
    let out = run(
        "sokha",
        &[
            "sync",
            "enroll",
            "--device",
            s.device_id(),
            "--as",
            "office",
        ],
    );
    assert!(!out.status.success(), "an outreach worker cannot enroll");
    let out = run(
        "admin",
        &[
            "sync",
            "enroll",
            "--device",
            s.device_id(),
            "--as",
            "sideways",
        ],
    );
    assert!(!out.status.success());
    let out = run(
        "admin",
        &[
            "sync",
            "enroll",
            "--device",
            s.device_id(),
            "--as",
            "office",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Its admin enrolls the office laptop too: its bundle is sealed for it.
    s.enroll_device(&o_id, Some(&o_key), Trust::Office).unwrap();
    std::fs::write(&file, s.sync_export(&k, 0).unwrap().bytes).unwrap();
    let out = import("admin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = Store::open(&path, "admin", PASSWORD).unwrap();
    assert_ne!(o.canonical_dump().unwrap(), before);
    assert_eq!(o.search_clients("XX-0001", 5).unwrap().rows.len(), 1);
    drop(o_db);
}

#[test]
fn bundle_values_read_back_as_written_and_refuse_what_no_column_holds() {
    use tether::sync::bundle::Value;
    let values = vec![
        Value::Null,
        Value::Int(-42),
        Value::Int(i64::MAX),
        Value::Real(1.5),
        Value::Text("ភ្នំពេញ \"quoted\"".into()),
        Value::Blob(vec![0, 1, 255]),
        Value::Blob(vec![]),
    ];
    let json = serde_json::to_string(&values).unwrap();
    let back: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, values);
    // Beyond i64 a number is a real, as before.
    let big: Value = serde_json::from_str("18446744073709551615").unwrap();
    assert_eq!(big, Value::Real(18446744073709551615.0));
    for bad in ["{}", "[256]", "[-1]", "[\"a\"]", "true"] {
        assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
    }
    // Format 3's MessagePack: a blob is binary, not an array of numbers.
    let packed = rmp_serde::to_vec(&values).unwrap();
    let back: Vec<Value> = rmp_serde::from_slice(&packed).unwrap();
    assert_eq!(back, values);
    let uuid = rmp_serde::to_vec(&Value::Blob(vec![7; 16])).unwrap();
    assert_eq!(uuid.len(), 18, "bin8: marker, length, 16 bytes");
    for bad in [&[0xc1u8][..], &[0x80], &[0xc4, 0x10, 1]] {
        assert!(rmp_serde::from_slice::<Value>(bad).is_err(), "{bad:?}");
    }
    // Export writes rows straight from the database: what it writes reads
    // back as the same payload.
    let columns: Vec<String> = (0..values.len()).map(|i| format!("c{i}")).collect();
    let mut writer = bundle::TableWriter::new("contacts", columns.clone());
    for _ in 0..2 {
        writer.row();
        for v in &values {
            match v {
                Value::Null => writer.null(),
                Value::Int(i) => writer.int(*i),
                Value::Real(f) => writer.real(*f),
                Value::Text(t) => writer.text(t),
                Value::Blob(b) => writer.blob(b),
            }
        }
    }
    let k = key();
    let signer = tether::sync::bundle::DeviceKey::generate();
    let merged = vec![("laptop-a".to_owned(), 42), ("laptop-b".to_owned(), -1)];
    let sealed = bundle::seal_tables(
        &bundle::Sealing {
            key: &k,
            signer: &signer,
            schema: 7,
            device: "laptop-c",
            since: 0,
            top: 9,
            created_at: 10,
            recipients: &[("laptop-c".to_owned(), signer.public_hex())],
            sealers: &[],
        },
        &merged,
        &[writer],
        Some(&["01ab".to_owned()][..]),
        &["02cd".to_owned()],
    )
    .unwrap();
    let opened = bundle::open(
        &k,
        &bundle::Reader {
            device: "laptop-c",
            key: &signer,
        },
        7,
        &sealed,
    )
    .unwrap();
    assert_eq!(
        opened.payload,
        tether::sync::bundle::Payload {
            merged,
            tables: vec![tether::sync::bundle::TableRows {
                table: "contacts".into(),
                columns,
                rows: vec![values.clone(), values],
            }],
            scope: Some(vec!["01ab".to_owned()]),
            leaving: vec!["02cd".to_owned()],
        }
    );
}

#[test]
fn a_bundle_in_the_previous_format_is_still_merged() {
    // A laptop updated first must take bundles from those not updated yet.
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0042", None);
    a.create(Contact::new(c.id(), day("2026-11-20"), ContactKind::Street))
        .unwrap();
    let exported = a.sync_export(&k, 0).unwrap();
    let opened = open_own(&k, &a, &exported.bytes);
    assert_eq!(opened.header.format, bundle::FORMAT);
    let h = &opened.header;
    let old = bundle::seal_as(
        2,
        &bundle::Sealing {
            key: &k,
            signer: &a.device_key().unwrap(),
            schema: h.schema,
            device: &h.device,
            since: h.since,
            top: h.top,
            created_at: h.created_at,
            recipients: &[],
            sealers: &[],
        },
        &opened.payload,
    )
    .unwrap();
    assert!(
        old.windows(8).any(|w| w == b"\"format\"")
            && bundle::peek(&old).unwrap().body_len > h.body_len,
        "a JSON payload, larger than MessagePack's"
    );
    let merged = b.sync_import(&k, &old, &mut |_, _, _| {}).unwrap();
    assert_eq!(merged.records, opened.payload.records());
    assert_eq!(b.get::<Client>(c.id()).unwrap().code, "PP-0042");
    assert_eq!(b.list_for_client::<Contact>(c.id()).unwrap().len(), 1);
    // A format newer than this build's is refused plainly, before the key.
    let mut newer = exported.bytes.clone();
    let at = newer
        .windows(10)
        .position(|w| w == format!("\"format\":{}", bundle::FORMAT).as_bytes())
        .unwrap();
    newer[at + 9] = b'9';
    let err = b.sync_import(&k, &newer, &mut |_, _, _| {}).unwrap_err();
    assert!(err.to_string().contains("newer Tether"), "{err}");
}

#[test]
fn corrections_and_removals_travel_and_concurrent_corrections_are_conflicts() {
    let (_a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    meet(&mut a, &mut b);
    let clock = one_clock(&mut a, &mut b);
    let k = key();
    let c = client(&mut a, "PP-0016", None);
    let mut first = Contact::new(c.id(), day("2026-11-20"), ContactKind::Street);
    first.needles_syringes = 300;
    let first = a.create(first).unwrap();
    let twice = a
        .create(Contact::new(c.id(), day("2026-11-20"), ContactKind::Street))
        .unwrap();
    send(&k, &a, &mut b);
    // On a: the typo corrected, the duplicate removed; b takes both.
    let mut fixed = first.data.clone();
    fixed.needles_syringes = 30;
    a.correct(first.id(), fixed).unwrap();
    a.remove::<Contact>(twice.id(), RemovalReason::Duplicate, false)
        .unwrap();
    let merged = send(&k, &a, &mut b);
    assert_eq!((merged.updated, merged.conflicts), (2, 0));
    assert_eq!(b.get::<Contact>(first.id()).unwrap().needles_syringes, 30);
    assert!(b.get::<Contact>(twice.id()).unwrap().meta.deleted);
    assert_eq!(b.list_for_client::<Contact>(c.id()).unwrap().len(), 1);
    // Corrected on both laptops before they meet: a conflict to review,
    // neither correction lost.
    let mut on_a = a.get::<Contact>(first.id()).unwrap().data;
    on_a.condoms = 10;
    a.correct(first.id(), on_a).unwrap();
    clock.advance(chrono::Duration::seconds(1));
    let mut on_b = b.get::<Contact>(first.id()).unwrap().data;
    on_b.condoms = 12;
    b.correct(first.id(), on_b).unwrap();
    let into_a = send(&k, &b, &mut a);
    assert_eq!(into_a.conflicts, 1);
    let conflicts = a.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1);
    let condoms = conflicts[0]
        .fields
        .iter()
        .find(|f| f.field == "condoms")
        .expect("the field that differs");
    assert_eq!(
        (condoms.current.as_str(), condoms.other.as_str()),
        ("12", "10")
    );
}
