//! The attacks of a rogue or seized laptop, or of anyone who can write to
//! the shared folder, each forged as the attacker would with the keys they
//! hold, and shown refused or harmless: nothing lost, one line saying why.

use super::scopes::{Org, case, edited, holds};
use super::support::*;
use std::path::Path;
use tether::domain::*;
use tether::store::{Store, StoreError, Trust};
use tether::sync::bundle::{self, DeviceKey, Payload, SyncKey, TableRows, Value};
use tether::sync::{ScopeRefusal, SyncError, VersionVector};
use uuid::Uuid;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A bundle signed with `signer` in the name of laptop `device`, sealed
/// for `to`, carrying `payload`.
fn forge_as(
    k: &SyncKey,
    signer: &DeviceKey,
    device: &str,
    to: &Store,
    payload: Payload,
) -> Vec<u8> {
    let to = recipient(to);
    bundle::seal(&sealing(k, signer, device, &to), &payload).unwrap()
}

/// `to` as a recipient: its device id and key.
fn recipient(to: &Store) -> [(String, String); 1] {
    [(
        to.device_id().to_owned(),
        to.device_key().unwrap().public_hex(),
    )]
}

/// How a bundle written now by `device` with `signer` is sealed for `to`.
fn sealing<'a>(
    k: &'a SyncKey,
    signer: &'a DeviceKey,
    device: &'a str,
    to: &'a [(String, String)],
) -> bundle::Sealing<'a> {
    let now = now_ms();
    bundle::Sealing {
        key: k,
        signer,
        schema: tether::store::schema::MIGRATIONS_COUNT,
        device,
        since: 0,
        top: now,
        created_at: now,
        recipients: to,
        sealers: &[],
    }
}

/// A bundle from `from` (with its own key) for `to`.
pub(crate) fn forge(k: &SyncKey, from: &Store, to: &Store, payload: Payload) -> Vec<u8> {
    forge_as(
        k,
        &from.device_key().unwrap(),
        from.device_id(),
        to,
        payload,
    )
}

fn tables(tables: Vec<TableRows>) -> Payload {
    Payload {
        tables,
        ..Payload::default()
    }
}

/// Every table the office holds, as its own bundle carries it.
pub(crate) fn office_tables(org: &Org) -> Vec<TableRows> {
    let all = org.o.sync_export(&org.k, 0).unwrap();
    let key = org.o.device_key().unwrap();
    bundle::open(
        &org.k,
        &bundle::Reader {
            device: org.o.device_id(),
            key: &key,
        },
        tether::store::schema::MIGRATIONS_COUNT,
        &all.bytes,
    )
    .unwrap()
    .payload
    .tables
}

fn table(all: &[TableRows], name: &str) -> TableRows {
    all.iter().find(|t| t.table == name).unwrap().clone()
}

fn blob(u: Uuid) -> Value {
    Value::Blob(u.as_bytes().to_vec())
}

/// `t` with only the row of record `id`, changed by `edit`.
fn one(
    t: &TableRows,
    id: Uuid,
    edit: impl FnOnce(&TableRows, &[Value]) -> Vec<Value>,
) -> TableRows {
    let row = t.rows.iter().find(|r| r.contains(&blob(id))).unwrap();
    TableRows {
        rows: vec![edit(t, row)],
        ..t.clone()
    }
}

fn refused(store: &mut Store, k: &SyncKey, bytes: &[u8]) -> SyncError {
    match store.sync_import(k, bytes, &mut |_, _, _| {}) {
        Err(StoreError::Sync(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_office_laptop_never_takes_a_scope_or_a_purge_from_another() {
    let mut org = Org::new();
    let sokha = org.sokha.id();
    for i in 0..5 {
        case(&mut org.o, &format!("PP-08{i:02}"), sokha);
    }
    org.round();
    // A second office laptop, enrolled both ways: rogue, or seized.
    let (_o2_db, mut o2) = fresh();
    enroll_as(&mut org.o, &o2, Trust::Office);
    enroll_as(&mut o2, &org.o, Trust::Office);
    let before = org.o.canonical_dump().unwrap();
    let clients = org.o.count_live("clients").unwrap();
    // No rows, an empty scope, and "everything of yours merged".
    let wipe = Payload {
        scope: Some(vec![]),
        merged: vec![(org.o.device_id().to_owned(), i64::MAX / 2)],
        ..Payload::default()
    };
    let bytes = forge(&org.k, &o2, &org.o, wipe.clone());
    let e = refused(&mut org.o, &org.k, &bytes);
    assert!(
        matches!(
            &e,
            SyncError::ScopeRefused {
                why: ScopeRefusal::Hub,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(o2.device_id()), "{e}");
    assert_eq!(org.o.canonical_dump().unwrap(), before, "nothing changed");
    assert_eq!(org.o.count_live("clients").unwrap(), clients);
    // The hub still writes its field laptop's bundle.
    std::fs::remove_file(org.office_bundle_for(&org.f1)).unwrap();
    org.sync(0);
    assert!(org.office_bundle_for(&org.f1).exists());
    // A field laptop takes a scope only from the office that scoped it.
    enroll_as(&mut org.f1, &o2, Trust::Office);
    let held = org.f1.count_live("clients").unwrap();
    assert!(held > 0);
    let bytes = forge(&org.k, &o2, &org.f1, wipe);
    let e = refused(&mut org.f1, &org.k, &bytes);
    assert!(
        matches!(
            &e,
            SyncError::ScopeRefused {
                why: ScopeRefusal::NotItsOffice,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(org.f1.count_live("clients").unwrap(), held);
}

#[test]
fn a_forged_acknowledgement_never_purges_work_that_was_not_sent() {
    let mut org = Org::new();
    let sokha = org.sokha.id();
    let c = case(&mut org.o, "PP-0701", sokha);
    org.round();
    assert!(holds(&org.f1, "PP-0701"));
    // Sokha logs a contact on the field laptop; it is in no bundle yet.
    org.f1.set_password(sokha, PASSWORD).unwrap();
    let mut worker = Store::open(org.f1.path(), "sokha", PASSWORD).unwrap();
    let unsent = worker
        .create(Contact::new(c.id(), day("2026-11-20"), ContactKind::Phone))
        .unwrap();
    drop(worker);
    // With the office's key (a seized office laptop): an empty scope, the
    // client named as leaving, and "every change of yours merged".
    let fake = Payload {
        scope: Some(vec![]),
        merged: vec![(org.f1.device_id().to_owned(), now_ms())],
        leaving: vec![hex::encode(c.id().as_bytes())],
        ..Payload::default()
    };
    let bytes = forge(&org.k, &org.o, &org.f1, fake);
    let merged = org
        .f1
        .sync_import(&org.k, &bytes, &mut |_, _, _| {})
        .unwrap();
    assert_eq!(merged.purged.clients, 0, "{merged:?}");
    assert_eq!(
        merged.purged.waiting, 1,
        "the client waits for its contact to reach the office"
    );
    assert!(
        org.f1.get::<Contact>(unsent.id()).is_ok(),
        "the unsent contact is kept"
    );
    assert!(holds(&org.f1, "PP-0701"));
    // Once it has been sent and the office says it merged it, it goes.
    org.sync(1);
    org.sync(0);
    assert!(
        org.o.get::<Contact>(unsent.id()).is_ok(),
        "it reached the office"
    );
}

#[test]
fn a_seized_field_laptop_speaks_only_for_its_own_workers_as_the_window_would() {
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    let c = case(&mut org.o, "PP-0901", sokha);
    let place = org
        .o
        .create(Location::new("Prey Sar prison", LocationKind::Prison))
        .unwrap();
    org.round();
    let all = office_tables(&org);
    let f1 = org.f1.device_id().to_owned();
    let before = org.o.canonical_dump().unwrap();
    let contacts = table(&all, "contacts");
    let contact_id =
        match &contacts.rows[0][contacts.columns.iter().position(|x| x == "id").unwrap()] {
            Value::Blob(b) => Uuid::from_slice(b).unwrap(),
            _ => unreachable!(),
        };
    let attacks: Vec<(&str, TableRows, &str)> = vec![
        (
            "a contact in another worker's name",
            one(&contacts, contact_id, |t, r| {
                edited(
                    t,
                    r,
                    &f1,
                    dara,
                    &[
                        ("id", blob(Uuid::now_v7())),
                        (
                            "notes",
                            Value::Text(
                                "client admitted selling; police informed by worker".into(),
                            ),
                        ),
                    ],
                )
            }),
            "does not work on laptop",
        ),
        (
            "a place of the registry removed",
            one(&table(&all, "locations"), place.id(), |t, r| {
                edited(t, r, &f1, sokha, &[("deleted", Value::Int(1))])
            }),
            "registry",
        ),
        (
            "an arrest an admin entered, changed by an outreach worker",
            one(
                &table(&all, "arrests"),
                {
                    let t = table(&all, "arrests");
                    match &t.rows[0][t.columns.iter().position(|x| x == "id").unwrap()] {
                        Value::Blob(b) => Uuid::from_slice(b).unwrap(),
                        _ => unreachable!(),
                    }
                },
                |t, r| {
                    edited(
                        t,
                        r,
                        &f1,
                        sokha,
                        &[("outcome", Value::Text("convicted".into()))],
                    )
                },
            ),
            "may not correct",
        ),
        (
            "a contact an admin entered, removed by an outreach worker",
            one(&contacts, contact_id, |t, r| {
                edited(t, r, &f1, sokha, &[("deleted", Value::Int(1))])
            }),
            "may not correct",
        ),
    ];
    for (what, rows, why) in attacks {
        let bytes = forge(&org.k, &org.f1, &org.o, tables(vec![rows]));
        let e = refused(&mut org.o, &org.k, &bytes);
        assert!(
            matches!(&e, SyncError::NotAllowed { reason, .. } if reason.contains(why)),
            "{what}: {e}"
        );
        assert_eq!(
            org.o.canonical_dump().unwrap(),
            before,
            "{what} changed nothing"
        );
    }
    // Sokha's own new contact goes through, and its history says who made
    // it, on which laptop and in which bundle.
    let mine = Uuid::now_v7();
    let rows = one(&contacts, contact_id, |t, r| {
        edited(t, r, &f1, sokha, &[("id", blob(mine))])
    });
    let bytes = forge(&org.k, &org.f1, &org.o, tables(vec![rows]));
    org.o
        .sync_import(&org.k, &bytes, &mut |_, _, _| {})
        .unwrap();
    let history = org.o.client_history(c.id()).unwrap();
    let entry = history
        .iter()
        .find(|e| e.record_id == Some(mine))
        .expect("the merged contact is in the client's history");
    assert_eq!(entry.user_id, Some(sokha));
    assert_eq!(entry.device_id, f1);
    assert!(
        entry.detail.contains(&format!("merged from laptop {f1}")),
        "{}",
        entry.detail
    );
}

#[test]
fn a_field_laptop_cannot_roll_back_an_office_correction_by_claiming_to_have_seen_it() {
    let mut org = Org::new();
    let sokha = org.sokha.id();
    let c = case(&mut org.o, "PP-0601", sokha);
    org.round();
    // Sokha's own contact, logged on the field laptop, reaches the office.
    org.f1.set_password(sokha, PASSWORD).unwrap();
    let mut worker = Store::open(org.f1.path(), "sokha", PASSWORD).unwrap();
    let mut contact = Contact::new(c.id(), day("2026-11-20"), ContactKind::Street);
    contact.needles_syringes = 20;
    let id = worker.create(contact).unwrap().id();
    drop(worker);
    org.round();
    let all = office_tables(&org);
    let contacts = table(&all, "contacts");
    let at = |n: &str| contacts.columns.iter().position(|c| c == n).unwrap();
    let old_row = contacts
        .rows
        .iter()
        .find(|r| r[at("id")] == blob(id))
        .unwrap()
        .clone();
    // The office corrects it; the field laptop has not been sent that.
    let mut fixed: Contact = org.o.get::<Contact>(id).unwrap().data;
    fixed.needles_syringes = 5;
    let saved = org.o.update(id, fixed).unwrap();
    let office_clock = saved.meta.updated_at.timestamp_millis();
    // The old value back, with a vector that claims the correction.
    let f1 = org.f1.device_id().to_owned();
    let now = now_ms();
    let mut row = edited(&contacts, &old_row, &f1, sokha, &[]);
    row[at("updated_at")] = Value::Int(now);
    let vv = VersionVector::of_row(None, org.o.device_id(), office_clock)
        .with_change(&f1, now)
        .to_column(&f1, now)
        .unwrap();
    row[at("vv")] = Value::Text(vv);
    let rows = TableRows {
        rows: vec![row],
        ..contacts.clone()
    };
    let bytes = forge(&org.k, &org.f1, &org.o, tables(vec![rows]));
    let merged = org
        .o
        .sync_import(&org.k, &bytes, &mut |_, _, _| {})
        .unwrap();
    assert_eq!((merged.updated, merged.conflicts), (0, 1), "{merged:?}");
    let kept: Saved<Contact> = org.o.get(id).unwrap();
    assert_eq!(kept.data.needles_syringes, 5, "the correction stays");
    assert!(
        org.o
            .conflicts(false)
            .unwrap()
            .iter()
            .any(|c| c.record_id == id),
        "the other version is kept for review"
    );
}

#[test]
fn version_vectors_are_parsed_strictly() {
    let mut org = Org::new();
    let sokha = org.sokha.id();
    case(&mut org.o, "PP-0301", sokha);
    org.round();
    let all = office_tables(&org);
    let contacts = table(&all, "contacts");
    let f1 = org.f1.device_id().to_owned();
    let before = org.o.canonical_dump().unwrap();
    let now = now_ms();
    for bad in [
        "not a version vector".to_owned(),
        format!("{f1}=soon"),
        format!("{f1}={now},../x y=1"),
        format!("{f1}={now},=,x=y"),
        format!("{f1}={now},{f1}={now}"),
    ] {
        let mut row = edited(
            &contacts,
            &contacts.rows[0],
            &f1,
            sokha,
            &[("id", blob(Uuid::now_v7()))],
        );
        let at = contacts.columns.iter().position(|c| c == "vv").unwrap();
        row[at] = Value::Text(bad.clone());
        let rows = TableRows {
            rows: vec![row],
            ..contacts.clone()
        };
        let bytes = forge(&org.k, &org.f1, &org.o, tables(vec![rows]));
        let e = refused(&mut org.o, &org.k, &bytes);
        assert!(
            matches!(&e, SyncError::Damaged(why) if why.contains("version")),
            "{bad}: {e}"
        );
        assert_eq!(org.o.canonical_dump().unwrap(), before, "{bad}");
    }
}

#[test]
fn a_squatted_or_flooded_pending_list_never_blocks_a_real_laptop() {
    let (_o_db, mut o) = fresh();
    let (_n_db, n) = fresh();
    let k = SyncKey::new("mekong river outreach 2026").unwrap();
    // A stranger claims the new laptop's id first, with a key of its own.
    let stranger = DeviceKey::generate();
    let bytes = forge_as(&k, &stranger, n.device_id(), &o, Payload::default());
    assert!(matches!(
        refused(&mut o, &k, &bytes),
        SyncError::NotEnrolled { .. }
    ));
    // The admin enrolls the real laptop with the key shown on it.
    let real = n.device_key().unwrap().public_hex();
    o.enroll_device(n.device_id(), Some(&real), Trust::Member)
        .unwrap();
    let listed = o.sync_devices().unwrap();
    let entry = listed
        .iter()
        .find(|d| d.device_id == n.device_id())
        .unwrap();
    assert_eq!(
        (entry.public_key.as_str(), entry.trust),
        (real.as_str(), Trust::Member)
    );
    // The stranger's bundle is now refused as forged.
    assert!(matches!(
        refused(&mut o, &k, &bytes),
        SyncError::KeyMismatch { .. }
    ));
    // A flood of strangers, then a real new laptop: still listed.
    for i in 0..250 {
        let bytes = forge_as(
            &k,
            &DeviceKey::generate(),
            &format!("stranger-{i}"),
            &o,
            Payload::default(),
        );
        refused(&mut o, &k, &bytes);
    }
    let (_m_db, m) = fresh();
    let bytes = forge(&k, &m, &o, Payload::default());
    refused(&mut o, &k, &bytes);
    assert!(
        o.sync_devices()
            .unwrap()
            .iter()
            .any(|d| d.device_id == m.device_id() && d.trust == Trust::Pending)
    );
    // A pending laptop is forgotten; an enrolled one must be retired first.
    o.forget_device("stranger-7").unwrap();
    assert!(
        !o.sync_devices()
            .unwrap()
            .iter()
            .any(|d| d.device_id == "stranger-7")
    );
    assert!(o.forget_device(n.device_id()).is_err());
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
}

#[test]
fn files_placed_in_the_shared_folder_cannot_overwrite_hang_or_stop_a_sync() {
    let mut org = Org::new();
    let sokha = org.sokha.id();
    case(&mut org.o, "PP-1001", sokha);
    org.round();
    let dir = org.dir().to_owned();
    let outside = tempfile::tempdir().unwrap();
    let canary = outside.path().join("canary");
    std::fs::write(&canary, b"do not touch").unwrap();
    let db_len = std::fs::metadata(org.o.path()).unwrap().len();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let name = format!("{}.tether-sync", org.o.device_id());
        // Links at the temporary names a write once used (its pid), and at
        // the bundle's own name, pointing at a file and at the database.
        symlink(
            &canary,
            dir.join(format!(".{name}.{}.tmp", std::process::id())),
        )
        .unwrap();
        std::fs::remove_file(dir.join(&name)).unwrap();
        symlink(org.o.path(), dir.join(&name)).unwrap();
        // A FIFO that would hang a reader, and a folder at the name of the
        // office's bundle for the second field laptop.
        mkfifo(&dir.join("x.tether-sync"));
        let for_f2 = org.office_bundle_for(&org.f2);
        std::fs::remove_file(&for_f2).unwrap();
        std::fs::create_dir(&for_f2).unwrap();
        // Copies of a field laptop's bundle under other names.
        let f1_bundle = dir.join(format!("{}.tether-sync", org.f1.device_id()));
        for i in 0..20 {
            std::fs::copy(&f1_bundle, dir.join(format!("copy-{i}.tether-sync"))).unwrap();
        }
    }
    let started = std::time::Instant::now();
    let done = org.sync(0);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(std::fs::read(&canary).unwrap(), b"do not touch");
    assert!(std::fs::metadata(org.o.path()).unwrap().len() >= db_len);
    assert!(org.o.check().is_ok());
    #[cfg(unix)]
    {
        let lines = done.skipped.join("\n");
        assert!(
            lines.contains("x.tether-sync: it is not a regular file"),
            "{lines}"
        );
        assert!(lines.contains("could not be written"), "{lines}");
        assert!(lines.contains("copy-3.tether-sync: not read"), "{lines}");
        // The office's own bundle replaced the link, and was written.
        let own = dir.join(format!("{}.tether-sync", org.o.device_id()));
        assert!(
            std::fs::symlink_metadata(&own)
                .unwrap()
                .file_type()
                .is_file()
        );
        assert!(org.office_bundle_for(&org.f1).is_file());
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_string_lossy().ends_with(".tmp")
                    && e.file_type().unwrap().is_file()
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    // The field laptop still syncs.
    let f = org.sync(1);
    assert!(
        f.skipped.iter().all(|l| !l.contains("refused")),
        "{:?}",
        f.skipped
    );
}

/// A bundle from `from` for `to` whose one table `contacts` has `rows`
/// rows written by `row`, straight as MessagePack (as an attacker would,
/// without ever holding the rows decoded).
fn flood(
    k: &SyncKey,
    from: &Store,
    to: &Store,
    columns: usize,
    rows: usize,
    row: impl Fn(&mut bundle::TableWriter, usize),
) -> Vec<u8> {
    let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let mut t = bundle::TableWriter::new("contacts", names);
    for i in 0..rows {
        t.row();
        row(&mut t, i);
    }
    let signer = from.device_key().unwrap();
    let to = recipient(to);
    bundle::seal_tables(
        &sealing(k, &signer, from.device_id(), &to),
        &[],
        &[t],
        None,
        &[],
    )
    .unwrap()
}

/// `tether sync import` of `file` into `db` as its admin, with the
/// process's address space limited to `mib` MiB.
fn import_within(db: &Path, file: &Path, mib: u64) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" sync import --db \"$1\" \"$2\"",
            mib * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_tether"))
        .arg(db)
        .arg(file)
        .env("TETHER_PASSWORD", PASSWORD)
        .env("TETHER_USER", "admin")
        .env("TETHER_SYNC_KEY", "mekong river outreach 2026")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_bundle_of_tiny_values_cannot_take_memory_out_of_proportion_to_its_size() {
    let org = Org::new();
    let files = tempfile::tempdir().unwrap();
    let before = org.o.canonical_dump().unwrap();
    // A million rows of 64 nils: 64 MB of one-byte values, a few hundred
    // KB on disk (the tester's five million took 10.5 GB).
    let nils = flood(&org.k, &org.f1, &org.o, 64, 1_000_000, |t, _| {
        for _ in 0..64 {
            t.null();
        }
    });
    // Nils with a little noise, so that it compresses as real bundles do
    // and only its decoded size gives it away.
    let noisy = flood(&org.k, &org.f1, &org.o, 61, 200_000, |t, i| {
        for _ in 0..60 {
            t.null();
        }
        let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        t.blob(&x.to_le_bytes());
    });
    for (what, bytes, refusal) in [
        ("nils", nils, "decompressed size"),
        ("noisy nils", noisy, "decoded values"),
    ] {
        let file = files
            .path()
            .join(format!("{}.tether-sync", org.f1.device_id()));
        std::fs::write(&file, &bytes).unwrap();
        let started = std::time::Instant::now();
        let out = import_within(org.o.path(), &file, 1024);
        assert_refused(&out, refusal);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what}: {:?}",
            started.elapsed()
        );
        assert_eq!(org.o.canonical_dump().unwrap(), before, "{what}");
    }
}

#[test]
fn bundles_are_sealed_with_hpke_to_each_laptops_own_sealing_key() {
    let mut org = Org::new();
    case(&mut org.o, "PP-1101", org.sokha.id());
    // The first round teaches each laptop the other's sealing key (from
    // its signed header); the second seals to it.
    org.round();
    org.round();
    let file = org.office_bundle_for(&org.f1);
    let header = bundle::peek(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(header.format, bundle::FORMAT);
    assert_eq!(header.format, 5);
    let office_key = org.o.device_key().unwrap();
    assert_eq!(header.sealer, office_key.sealing_public_hex());
    let mine = header
        .recipients
        .iter()
        .find(|r| r.device == org.f1.device_id())
        .unwrap();
    assert!(mine.sealing && mine.enc.is_some(), "{mine:?}");
    // The field laptop opens it; its signing key alone does not.
    let f1_key = org.f1.device_key().unwrap();
    let sealing = f1_key.sealing_public_hex().unwrap();
    assert_ne!(sealing, f1_key.public_hex(), "two keys, not one");
    let opened = bundle::open(
        &org.k,
        &bundle::Reader {
            device: org.f1.device_id(),
            key: &f1_key,
        },
        tether::store::schema::MIGRATIONS_COUNT,
        &std::fs::read(&file).unwrap(),
    );
    assert!(opened.is_ok());
    let signing_only = DeviceKey::from_secret_hex(&f1_key.secret_hex()).unwrap();
    let other = SyncKey::new("another organisation's passphrase").unwrap();
    // Nor does the right key with another passphrase.
    for (k, key) in [(&org.k, &signing_only), (&other, &f1_key)] {
        let refused = bundle::open(
            k,
            &bundle::Reader {
                device: org.f1.device_id(),
                key,
            },
            tether::store::schema::MIGRATIONS_COUNT,
            &std::fs::read(&file).unwrap(),
        );
        assert!(
            matches!(refused, Err(SyncError::WrongKeyOrTampered)),
            "{refused:?}"
        );
    }
    // A format-4 bundle (a laptop not updated yet) is still merged.
    let mut c = Client::with_code("PP-1102");
    c.assigned_worker = Some(org.sokha.id());
    let newer = org.o.create(c).unwrap();
    let all = office_tables(&org);
    let now = now_ms();
    let old = bundle::seal_as(
        4,
        &bundle::Sealing {
            key: &org.k,
            signer: &office_key,
            schema: tether::store::schema::MIGRATIONS_COUNT,
            device: org.o.device_id(),
            since: 0,
            top: now,
            created_at: now,
            recipients: &[(org.f1.device_id().to_owned(), f1_key.public_hex())],
            sealers: &[],
        },
        &Payload {
            tables: all,
            ..Payload::default()
        },
    )
    .unwrap();
    assert_eq!(bundle::peek(&old).unwrap().format, 4);
    org.f1.sync_import(&org.k, &old, &mut |_, _, _| {}).unwrap();
    assert!(org.f1.get::<Client>(newer.id()).is_ok());
}
