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
