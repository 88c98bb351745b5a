//! Sync between laptops: bundles, merge, conflicts, duplicates, folders,
//! refusals and a killed import, on real encrypted databases.

mod common;

use common::*;
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

fn quiet() -> impl FnMut(&str, usize, usize) {
    |_: &str, _: usize, _: usize| {}
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
    assert_eq!(audit_count(&b), before_audit + 1);
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
    let c = client(&mut a, "PP-0002", None);
    send(&k, &a, &mut b);
    let mut on_a = c.data.clone();
    on_a.notes = Some("moved to Poipet".into());
    a.update(c.id(), on_a).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
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
    assert_eq!(conflict.label, "client PP-0002");
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
    let c = client(&mut a, "PP-0003", None);
    let contact = a
        .create(Contact::new(c.id(), day("2026-02-01"), ContactKind::Street))
        .unwrap();
    send(&k, &a, &mut b);
    a.delete::<Contact>(contact.id()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    let mut edited = contact.data.clone();
    edited.condoms = 12;
    b.update(contact.id(), edited).unwrap();
    send(&k, &b, &mut a);
    send(&k, &a, &mut b);
    assert_eq!(a.canonical_dump().unwrap(), b.canonical_dump().unwrap());
    let conflicts = a.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1, "not a silent loss");
    assert!(conflicts[0].label.starts_with("contact with PP-0003"));
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
    let audit = audit_count(&b);
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
            _ => assert!(
                matches!(err, StoreError::Sync(SyncError::WrongKeyOrTampered)),
                "{what}: {text}"
            ),
        }
        assert_eq!(b.canonical_dump().unwrap(), dump, "{what} changed records");
        assert_eq!(audit_count(&b), audit, "{what} wrote to the audit log");
    }
    // A bundle from a newer Tether, properly sealed with the right key.
    let newer = bundle::seal(
        &k,
        &a.device_key().unwrap(),
        tether::store::schema::MIGRATIONS_COUNT + 1,
        a.device_id(),
        0,
        1,
        1,
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
        done.skipped[0].contains("another key"),
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
    let bundle = a.sync_export(&k, 0).unwrap();
    let (b_db, mut b) = fresh();
    enroll(&mut b, &a);
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
        if line.starts_with("merging: ") && !line.starts_with("merging: 0 of") {
            saw = Some(line);
            break;
        }
    }
    let saw = saw.expect("the import reports progress");
    assert!(
        !saw.starts_with("merging: 12001"),
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
