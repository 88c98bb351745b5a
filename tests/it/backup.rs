//! Automatic backups, rotation, verification and restore, on real encrypted files.

use crate::support::*;
use std::path::Path;
use tether::domain::*;
use tether::store::{self, Store, StoreError};

fn fill(store: &mut Store, from: usize, to: usize) {
    for i in from..to {
        let mut c = Client::with_code(&format!("PP-{i:05}"));
        c.nickname = Some(format!("សុខា {i}"));
        c.notes = Some("x".repeat(300));
        let c = store.create(c).unwrap();
        store
            .create(Contact::new(c.id(), day("2026-01-02"), ContactKind::Street))
            .unwrap();
    }
}

fn overwrite_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(path, &bytes).unwrap();
}

#[test]
fn rotation_keeps_seven_daily_and_four_weekly() {
    // A pure rule: 30 consecutive days, 2026-11-01 (a Sunday) to 2026-11-30.
    let days: Vec<_> = (1..=30).map(|d| day(&format!("2026-11-{d:02}"))).collect();
    let keep = store::backups_to_keep(&days, 7, 4);
    let mut expected: Vec<_> = (24..=30).map(|d| day(&format!("2026-11-{d:02}"))).collect();
    // Newest day of each of the 4 newest ISO weeks: weeks of the 30th (a
    // Monday, already kept), the 29th, the 22nd and the 15th (Sundays).
    expected.extend([day("2026-11-15"), day("2026-11-22")]);
    expected.sort();
    assert_eq!(keep.into_iter().collect::<Vec<_>>(), expected);
    // Gaps: only the days that exist are kept, never more than asked.
    let sparse = [day("2026-01-05"), day("2026-03-01"), day("2026-03-02")];
    assert_eq!(store::backups_to_keep(&sparse, 2, 1).len(), 2);
    assert_eq!(store::backups_to_keep(&sparse, 0, 4).len(), 3);
    assert!(store::backups_to_keep(&[], 7, 4).is_empty());
}

#[test]
fn thirty_days_of_automatic_backups_are_verified_and_rotated() {
    let (db, mut store) = fresh();
    fill(&mut store, 0, 5);
    assert_eq!(
        store.backup_dir(),
        db.dir.path().join("tether-backups"),
        "the default folder is beside the database"
    );
    assert!(store.auto_backup_due(day("2026-11-01")));
    let mut made = Vec::new();
    for d in 1..=30 {
        let today = day(&format!("2026-11-{d:02}"));
        let outcome = store.auto_backup(today).unwrap();
        assert!(outcome.verification.ok);
        assert!(
            outcome.verification.detail.contains("6 records")
                || outcome.verification.detail.contains("records"),
            "{}",
            outcome.verification.detail
        );
        made.push(today);
        assert!(!store.auto_backup_due(today));
    }
    let expected = store::backups_to_keep(&made, store::KEEP_DAILY, store::KEEP_WEEKLY);
    let list = store.backups().unwrap();
    let days: std::collections::BTreeSet<_> = list.iter().map(|b| b.day).collect();
    assert_eq!(days, expected);
    assert_eq!(list.len(), 9);
    assert!(list.windows(2).all(|w| w[0].day > w[1].day), "newest first");
    for b in &list {
        assert!(b.size > 0);
        let v = b.verified.as_ref().expect("verification recorded");
        assert!(v.ok, "{v:?}");
        assert!(
            tether::store::key_file_path(&b.path).exists(),
            "each backup has its key file"
        );
    }
    // Nothing but the kept backups and their key files is left behind.
    let files: Vec<String> = std::fs::read_dir(store.backup_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 18, "{files:?}");
    // Every backup is audited.
    let audited = store
        .audit_log(100)
        .unwrap()
        .iter()
        .filter(|a| a.action == AuditAction::Backup)
        .count();
    assert_eq!(audited, 30);
}

#[test]
fn backups_folder_is_configurable() {
    let (db, mut store) = fresh();
    let elsewhere = db.dir.path().join("usb").join("tether");
    store.set_backup_dir(Some(&elsewhere)).unwrap();
    assert_eq!(store.backup_dir(), elsewhere);
    let outcome = store.auto_backup(day("2026-11-02")).unwrap();
    assert!(outcome.path.starts_with(&elsewhere));
    store.set_backup_dir(None).unwrap();
    assert_eq!(store.backup_dir(), db.dir.path().join("tether-backups"));
    // Outreach workers cannot move the backups, but their laptops are backed up.
    add_user(&mut store, "field", Role::Outreach);
    store.close().unwrap();
    let mut field = Store::open(&db.path, "field", PASSWORD).unwrap();
    assert!(matches!(
        field.set_backup_dir(Some(&elsewhere)),
        Err(StoreError::Forbidden { .. })
    ));
    assert!(
        field
            .auto_backup(day("2026-11-03"))
            .unwrap()
            .verification
            .ok
    );
}

#[test]
fn restore_brings_back_the_backup_and_keeps_the_current_file() {
    let (db, mut store) = fresh();
    fill(&mut store, 0, 20);
    let outcome = store.auto_backup(day("2026-11-20")).unwrap();
    let at_backup = store.canonical_dump().unwrap();
    fill(&mut store, 20, 30);
    let later = store.canonical_dump().unwrap();
    store.close().unwrap();

    let report = store::restore(&db.path, &outcome.path, "admin", PASSWORD).unwrap();
    let kept = report.kept_as.expect("the current file is kept");
    assert!(kept.exists());
    let restored = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(restored.canonical_dump().unwrap(), at_backup);
    assert_eq!(restored.count_live("clients").unwrap(), 20);
    assert!(
        restored
            .audit_log(5)
            .unwrap()
            .iter()
            .any(|a| a.action == AuditAction::Restore)
    );
    restored.close().unwrap();
    // The previous file opens with its own key file, with the later records.
    let previous = Store::open(&kept, "admin", PASSWORD).unwrap();
    assert_eq!(previous.canonical_dump().unwrap(), later);
    // The backup itself is untouched (copied, not moved).
    assert!(outcome.path.exists());
}

#[test]
fn a_damaged_database_is_detected_and_the_newest_good_backup_restores_every_record() {
    let (db, mut store) = fresh();
    fill(&mut store, 0, 300);
    store.auto_backup(day("2026-11-19")).unwrap();
    fill(&mut store, 300, 400);
    let newest = store.auto_backup(day("2026-11-20")).unwrap();
    let expected = store.canonical_dump().unwrap();
    let dir = store.backup_dir();
    store.close().unwrap();

    overwrite_middle(&db.path);
    // Detected: opening fails, or the full check (run after opening) fails.
    let detected = match Store::open_to_inspect(&db.path, "admin", PASSWORD) {
        Err(StoreError::Damaged(_)) => true,
        Ok(s) => !s.check().unwrap().is_ok(),
        Err(e) => panic!("unexpected error {e}"),
    };
    assert!(detected, "overwritten bytes must be detected");

    // The backups can be listed without opening the damaged database.
    let found = store::backups_in(&dir).unwrap();
    assert_eq!(found[0].path, newest.path);
    store::restore(&db.path, &found[0].path, "admin", PASSWORD).unwrap();
    let restored = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert!(restored.check().unwrap().is_ok());
    assert_eq!(restored.canonical_dump().unwrap(), expected);
}

#[test]
fn a_backup_that_fails_verification_is_refused_and_nothing_changes() {
    let (db, mut store) = fresh();
    fill(&mut store, 0, 300);
    let outcome = store.auto_backup(day("2026-11-20")).unwrap();
    store.close().unwrap();
    overwrite_middle(&outcome.path);
    let before = std::fs::read(&db.path).unwrap();
    let keys_before = std::fs::read(store::key_file_path(&db.path)).unwrap();
    let err = store::restore(&db.path, &outcome.path, "admin", PASSWORD).unwrap_err();
    assert!(
        matches!(err, StoreError::Damaged(_)),
        "refused as damaged: {err}"
    );
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
    assert_eq!(
        std::fs::read(store::key_file_path(&db.path)).unwrap(),
        keys_before
    );
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring") || n.contains("before-restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A wrong password and an outreach worker are refused too.
    assert!(matches!(
        store::restore(&db.path, &outcome.path, "admin", "not the password at all"),
        Err(StoreError::WrongPassword)
    ));
}

#[test]
fn outreach_workers_cannot_restore() {
    let (db, mut store) = fresh();
    add_user(&mut store, "field", Role::Outreach);
    let outcome = store.auto_backup(day("2026-11-20")).unwrap();
    store.close().unwrap();
    let before = std::fs::read(&db.path).unwrap();
    assert!(matches!(
        store::restore(&db.path, &outcome.path, "field", PASSWORD),
        Err(StoreError::Forbidden { .. })
    ));
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
}

#[test]
fn restore_command_line() {
    let (db, mut store) = fresh();
    fill(&mut store, 0, 3);
    let outcome = store.auto_backup(day("2026-11-20")).unwrap();
    fill(&mut store, 3, 5);
    store.close().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["restore", "--db"])
        .arg(&db.path)
        .arg("--from")
        .arg(&outcome.path)
        .env("TETHER_USER", "admin")
        .env("TETHER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("previous file is kept"), "{stdout}");
    let restored = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(restored.count_live("clients").unwrap(), 3);
    restored.close().unwrap();
    // A missing backup: one line, non-zero, nothing changed.
    let before = std::fs::read(&db.path).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["restore", "--db"])
        .arg(&db.path)
        .arg("--from")
        .arg(db.dir.path().join("nope.db"))
        .env("TETHER_USER", "admin")
        .env("TETHER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
}

#[test]
fn a_clock_set_back_or_a_future_dated_file_never_costs_the_newest_backup() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-0001", None);
    for d in 10..=20 {
        let outcome = store.auto_backup(day(&format!("2026-11-{d}"))).unwrap();
        assert!(outcome.verification.ok);
    }
    // A file named for a day far ahead does not stop today's backup.
    let dir = store.backup_dir();
    std::fs::copy(
        dir.join("tether-2026-11-20.db"),
        dir.join("tether-2099-01-01.db"),
    )
    .unwrap();
    assert!(store.auto_backup_due(day("2026-11-21")));
    // The clock set back by a month: the backup made is kept, not rotated away.
    let outcome = store.auto_backup(day("2026-10-21")).unwrap();
    assert!(outcome.verification.ok);
    assert!(
        outcome.path.exists(),
        "the fresh backup was removed: {:?}",
        outcome.removed
    );
    assert!(!outcome.removed.contains(&outcome.path));
    drop(db);
}

#[test]
fn restore_refuses_another_database_and_keeps_the_audit_trail() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-0001", None);
    let outcome = store.auto_backup(day("2026-11-20")).unwrap();
    // After the backup: someone's work, audited.
    client(&mut store, "PP-0002", None);
    store.close().unwrap();
    // A database made elsewhere, with an admin of the same name and password.
    let other_dir = tempfile::tempdir().unwrap();
    let other_path = other_dir.path().join("mallory.db");
    let other = Store::init(&other_path, "admin", "Mallory", PASSWORD)
        .unwrap()
        .store;
    let foreign = other_dir.path().join("foreign.db");
    let mut other = other;
    other.backup_to(&foreign).unwrap();
    other.close().unwrap();
    let before = std::fs::read(&db.path).unwrap();
    let err = store::restore(&db.path, &foreign, "admin", PASSWORD).unwrap_err();
    assert!(matches!(err, StoreError::OtherDatabase(_)), "{err}");
    assert!(err.to_string().contains("another database"), "{err}");
    assert_eq!(std::fs::read(&db.path).unwrap(), before, "nothing changed");
    // Its own backup restores, and the audit entries made after it stay.
    store::restore(&db.path, &outcome.path, "admin", PASSWORD).unwrap();
    let restored = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(
        restored.count_live("clients").unwrap(),
        1,
        "the backup's records"
    );
    let log = restored.audit_log(1000).unwrap();
    assert!(
        log.iter().any(|e| e.action == AuditAction::Create
            && e.record_kind.as_deref() == Some("client")
            && e.at > outcome_time(&log)),
        "the later client creation is still in the audit log"
    );
    assert!(
        log.iter()
            .any(|e| e.action == AuditAction::Restore && e.detail.contains("carried over"))
    );
    restored.close().unwrap();
    // On purpose, an admin can put the other database in place.
    store::restore_other_database(&db.path, &foreign, "admin", PASSWORD).unwrap();
    let now = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(now.user().display_name, "Mallory");
}

/// When the backup in a log was made.
fn outcome_time(log: &[AuditEntry]) -> chrono::DateTime<chrono::Utc> {
    log.iter()
        .filter(|e| e.action == AuditAction::Backup)
        .map(|e| e.at)
        .max()
        .unwrap()
}

/// What is on disk for the database at `db`: the file, its key file and
/// the copy of its recovery slot (None where there is none).
fn on_disk(db: &Path) -> Vec<Option<Vec<u8>>> {
    [
        db.to_owned(),
        store::key_file_path(db),
        store::recovery_file_path(db),
    ]
    .iter()
    .map(|p| std::fs::read(p).ok())
    .collect()
}

/// Every record, as `user` sees them after logging in.
fn dump_as(db: &Path, user: &str, password: &str) -> String {
    let s = Store::open(db, user, password).unwrap();
    let dump = s.canonical_dump().unwrap();
    s.close().unwrap();
    dump
}

/// Files a refused restore must not leave behind.
fn restore_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring") || n.contains("before-restore"))
        .collect()
}

const HELPDESK_PASSWORD: &str = "helpdesk is here to help";

/// Attack 6: a backup crafted from what an attacker holds — a copy of the
/// hub's key file (every backup has one) and its device id (every sync
/// bundle's header shows it) — is refused by `tether restore`, even with
/// the admin's own password: it names this database but cannot prove it
/// is this database's. The hub's own backups still restore, also after a
/// change of key, and a crafted file in the backups folder does not stand
/// in the way of "restore the newest good backup".
#[test]
fn a_backup_crafted_from_the_key_file_and_device_id_is_refused() {
    let (db, mut hub) = fresh();
    add_user(&mut hub, "sokha", Role::Outreach);
    fill(&mut hub, 0, 3);
    // What the attacker gets hold of: a backup's key file (a USB stick, the
    // shared backups folder) and any bundle the hub wrote.
    let leaked = hub.auto_backup(day("2026-11-20")).unwrap();
    let hub_keys = store::KeyFile::load(&leaked.path).unwrap();
    let sync_key = tether::sync::bundle::SyncKey::new("mekong river outreach 2026").unwrap();
    let bundle = hub.sync_export(&sync_key, 0).unwrap().bytes;
    let hub_id = tether::sync::bundle::peek(&bundle).unwrap().device;
    hub.close().unwrap();

    // The attacker's own database, with an admin of the same name (their
    // password) and a helpdesk admin, given the hub's device id.
    let lab = tempfile::tempdir().unwrap();
    let crafted = lab.path().join("tether-2026-11-21.db");
    let mut theirs = Store::init(&crafted, "admin", "Admin", "the attacker's own one")
        .unwrap()
        .store;
    add_user(&mut theirs, "helpdesk", Role::Admin);
    client(&mut theirs, "EVIL-01", None);
    theirs.close().unwrap();
    let their_key = store::KeyFile::load(&crafted)
        .unwrap()
        .unlock("admin", "the attacker's own one")
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&crafted).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = {};",
            their_key.pragma_value().as_str()
        ))
        .unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'device_id'",
            [&hub_id],
        )
        .unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .unwrap();
    }
    // Its key sealed to every slot of the hub's key file (public keys: no
    // password needed), and a slot of their own.
    let (mut forged, _) = hub_keys.sealed_again(&their_key).unwrap();
    forged
        .set_slot("helpdesk", HELPDESK_PASSWORD, &their_key)
        .unwrap();
    forged.save(&crafted).unwrap();
    assert_eq!(
        forged
            .unlock("admin", PASSWORD)
            .unwrap()
            .pragma_value()
            .as_str(),
        their_key.pragma_value().as_str(),
        "the admin's own password opens the crafted key file"
    );

    let dump = dump_as(&db.path, "admin", PASSWORD);
    let before = on_disk(&db.path);
    let crafted_s = crafted.to_str().unwrap();
    let dbs = db.path.to_str().unwrap();
    let o = tether_with(
        &["restore", "--db", dbs, "--from", crafted_s],
        PASSWORD,
        Some("admin"),
    );
    assert_refused(&o, "was not made from this database");
    assert_eq!(on_disk(&db.path), before, "nothing changed on disk");
    assert!(restore_leftovers(db.dir.path()).is_empty());
    assert!(matches!(
        Store::open(&db.path, "helpdesk", HELPDESK_PASSWORD),
        Err(StoreError::WrongPassword)
    ));
    assert_eq!(dump_as(&db.path, "admin", PASSWORD), dump);
    assert_eq!(dump_as(&db.path, "sokha", PASSWORD), dump);
    // The library refuses it with its own error.
    let err = store::restore(&db.path, &crafted, "admin", PASSWORD).unwrap_err();
    assert!(matches!(err, StoreError::UnprovenBackup(_)), "{err}");

    // Planted in the backups folder as the newest: passed over for the
    // newest backup that is really this database's.
    let dir = store::default_backup_dir(&db.path);
    let planted = dir.join("tether-2099-01-01.db");
    std::fs::copy(&crafted, &planted).unwrap();
    std::fs::copy(
        store::key_file_path(&crafted),
        store::key_file_path(&planted),
    )
    .unwrap();
    let (used, _) = store::restore_newest(&db.path, &dir, "admin", PASSWORD).unwrap();
    assert_eq!(used.path, leaked.path);
    assert_eq!(dump_as(&db.path, "admin", PASSWORD), dump);
    assert!(Store::open(&db.path, "helpdesk", HELPDESK_PASSWORD).is_err());

    // The hub's own backups restore: one made by `tether backup` before a
    // change of key, with a password of its day.
    let mine = db.dir.path().join("mine.db");
    let o = tether_with(
        &["backup", "--db", dbs, "--out", mine.to_str().unwrap()],
        PASSWORD,
        Some("admin"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tether_with(&["rotate-key", "--db", dbs], PASSWORD, Some("admin"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tether_with(
        &["restore", "--db", dbs, "--from", mine.to_str().unwrap()],
        PASSWORD,
        Some("admin"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(dump_as(&db.path, "sokha", PASSWORD), dump);
}

/// Attack 7: after `rotate-key` and `recovery-key --rotate`, the old
/// recovery key opens nothing current, even with a backup's key file that
/// still holds its slot beside it: `tether recover` refuses, and the key
/// file, its copy and the database are as they were; every user still
/// logs in. The new recovery key works and keeps every other user's slot.
#[test]
fn a_replaced_recovery_key_takes_nothing_over_even_with_a_backups_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let dbs = db.to_str().unwrap();
    let init = Store::init(&db, "admin", "Admin", PASSWORD).unwrap();
    let old_recovery = init.recovery_key.clone();
    let mut store = init.store;
    add_user(&mut store, "sokha", Role::Outreach);
    add_user(&mut store, "dara", Role::Coordinator);
    fill(&mut store, 0, 3);
    store.auto_backup(day("2026-11-20")).unwrap();
    store.close().unwrap();
    // The admin changes the key (a fresh backup follows), then the
    // recovery key: the old one is thought lost or seen by someone.
    let o = tether_with(&["rotate-key", "--db", dbs], PASSWORD, Some("admin"));
    assert!(o.status.success(), "{}", stderr(&o));
    // The attacker keeps a copy of the fresh backup's key file (the
    // current database key sealed to the old recovery slot).
    let fresh = &store::backups_in(&store::default_backup_dir(&db)).unwrap()[0];
    let usb = dir.path().join("usb.keys");
    std::fs::copy(store::key_file_path(&fresh.path), &usb).unwrap();
    let o = tether_with(
        &["recovery-key", "--rotate", "--db", dbs],
        PASSWORD,
        Some("admin"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let new_recovery = printed_recovery_key(&o);
    let mut key_files: Vec<_> = store::backups_in(&store::default_backup_dir(&db))
        .unwrap()
        .iter()
        .map(|b| store::key_file_path(&b.path))
        .collect();
    key_files.push(usb.clone());

    let dump = dump_as(&db, "admin", PASSWORD);
    let before = on_disk(&db);
    let recover = |user: &str, key_file: Option<&Path>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tether"));
        c.args(["recover", "--db", dbs, "--user", user])
            .env("TETHER_RECOVERY_KEY", &old_recovery)
            .env("TETHER_NEW_PASSWORD", HELPDESK_PASSWORD)
            .stdin(std::process::Stdio::null());
        if let Some(k) = key_file {
            c.arg("--key-file").arg(k);
        }
        c.output().unwrap()
    };
    // Key files of backups made before the new recovery key still hold
    // the old one's slot: each one, named or found in the backups folder,
    // is refused.
    let old = tether::store::RecoveryKey::parse(&old_recovery).unwrap();
    let mut old_slots = 0;
    for keys in &key_files {
        let file = store::KeyFile::load_from(keys).unwrap();
        if file.unlock_recovery(&old).unwrap().is_some() {
            old_slots += 1;
        }
        for user in ["helpdesk", "admin"] {
            assert_refused(&recover(user, Some(keys)), "recovery key");
            assert_eq!(on_disk(&db), before, "nothing changed on disk");
        }
    }
    assert!(
        old_slots >= 2,
        "the old recovery slot is in {old_slots} key files"
    );
    assert_refused(&recover("helpdesk", None), "recovery key");
    assert_eq!(on_disk(&db), before, "nothing changed on disk");
    // Even with the key file and its copy gone, no backup's key file opens
    // this database with the old recovery key: its key changed too.
    let aside = dir.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    for p in [store::key_file_path(&db), store::recovery_file_path(&db)] {
        std::fs::rename(&p, aside.join(p.file_name().unwrap())).unwrap();
    }
    for named in [None, Some(usb.as_path())] {
        assert_refused(&recover("helpdesk", named), "recovery key");
        assert!(!store::key_file_path(&db).exists(), "no key file was made");
    }
    for p in [store::key_file_path(&db), store::recovery_file_path(&db)] {
        std::fs::rename(aside.join(p.file_name().unwrap()), &p).unwrap();
    }
    assert_eq!(on_disk(&db), before, "nothing changed on disk");
    for who in ["admin", "sokha", "dara"] {
        assert_eq!(dump_as(&db, who, PASSWORD), dump, "{who} logs in");
    }
    assert!(Store::open(&db, "helpdesk", HELPDESK_PASSWORD).is_err());

    // The new recovery key sets the admin a new password and keeps the others.
    let (s, done) = Store::recover(&db, &new_recovery, "admin", "a brand new password").unwrap();
    assert!(!done.key_file_rebuilt);
    s.close().unwrap();
    for who in ["sokha", "dara"] {
        assert_eq!(dump_as(&db, who, PASSWORD), dump, "{who} still logs in");
    }
    assert_eq!(dump_as(&db, "admin", "a brand new password"), dump);
}

/// `recover` never drops the slots of a key file it can read: one that
/// does not give the key (an old copy put back in its place) is refused
/// with nothing changed; moved aside, the key file is made anew and the
/// users who need a new password are named.
#[test]
fn recover_never_replaces_a_readable_key_file_and_names_who_needs_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let dbs = db.to_str().unwrap();
    let init = Store::init(&db, "admin", "Admin", PASSWORD).unwrap();
    let recovery = init.recovery_key.clone();
    let mut store = init.store;
    add_user(&mut store, "sokha", Role::Outreach);
    add_user(&mut store, "dara", Role::Coordinator);
    fill(&mut store, 0, 2);
    let old = store.auto_backup(day("2026-11-20")).unwrap();
    store.rotate_key().unwrap();
    store.close().unwrap();
    // An old copy of the key file put back in place of the current one.
    std::fs::copy(store::key_file_path(&old.path), store::key_file_path(&db)).unwrap();
    let before = on_disk(&db);
    let recover = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(["recover", "--db", dbs, "--user", "admin"])
            .env("TETHER_RECOVERY_KEY", &recovery)
            .env("TETHER_NEW_PASSWORD", "a brand new password")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    assert_refused(&recover(), "move it aside");
    assert_eq!(on_disk(&db), before, "nothing changed on disk");
    // Moved aside: made anew, and who needs a new password is said.
    std::fs::rename(store::key_file_path(&db), dir.path().join("old.keys")).unwrap();
    let o = recover();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("made anew") && out.contains("dara, sokha"),
        "{out}"
    );
    Store::open(&db, "admin", "a brand new password")
        .unwrap()
        .close()
        .unwrap();
}
