//! The command line, run as a real process.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tether::demo;
use tether::domain::*;
use tether::store::{Store, key_file_path};

fn tether(args: &[&str], password: &str) -> Output {
    tether_with(args, password, None)
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn init_creates_an_encrypted_database_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    let o = tether(&["init", "--db", db_s, "--admin", "coord"], PASSWORD);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Recovery key"), "{out}");
    assert!(key_file_path(&db).exists());
    let before = snapshot(dir.path());
    let again = tether(&["init", "--db", db_s, "--admin", "other"], PASSWORD);
    assert_refused(&again, "already exists");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn bad_opens_give_one_line_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap().to_owned();
    assert!(
        tether(&["init", "--db", &db_s, "--admin", "admin"], PASSWORD)
            .status
            .success()
    );
    let before = snapshot(dir.path());

    // Wrong password.
    assert_refused(
        &tether(
            &["check", "--db", &db_s, "--user", "admin"],
            "wrong password!",
        ),
        "wrong username or password",
    );
    // Missing file.
    let missing = dir.path().join("missing.db");
    assert_refused(
        &tether(
            &[
                "check",
                "--db",
                missing.to_str().unwrap(),
                "--user",
                "admin",
            ],
            PASSWORD,
        ),
        "there is no database",
    );
    assert!(!missing.exists(), "opening must not create a file");
    assert_eq!(snapshot(dir.path()), before);

    // A file that is not a Tether database (no key file beside it).
    let other_dir = tempfile::tempdir().unwrap();
    let text = other_dir.path().join("notes.db");
    std::fs::write(&text, "just some notes").unwrap();
    let before_other = snapshot(other_dir.path());
    assert_refused(
        &tether(
            &["check", "--db", text.to_str().unwrap(), "--user", "admin"],
            PASSWORD,
        ),
        "not a Tether database",
    );
    // A plain SQLite file, even with a key file beside it.
    let plain = other_dir.path().join("plain.db");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    std::fs::copy(key_file_path(&db), key_file_path(&plain)).unwrap();
    let before_plain = snapshot(other_dir.path());
    assert_refused(
        &tether(
            &[
                "backup",
                "--db",
                plain.to_str().unwrap(),
                "--user",
                "admin",
                "--out",
                "x.db",
            ],
            PASSWORD,
        ),
        "not a Tether database",
    );
    assert_eq!(snapshot(other_dir.path()), before_plain);
    assert!(before_other.len() < before_plain.len());

    // A corrupt file: the first page overwritten.
    let mut bytes = std::fs::read(&db).unwrap();
    let first_page = 4096.min(bytes.len());
    bytes[..first_page].fill(0xAB);
    std::fs::write(&db, &bytes).unwrap();
    let corrupt = snapshot(dir.path());
    let out = dir.path().join("b.db");
    assert_refused(
        &tether(
            &[
                "backup",
                "--db",
                &db_s,
                "--user",
                "admin",
                "--out",
                out.to_str().unwrap(),
            ],
            PASSWORD,
        ),
        "damaged",
    );
    assert_refused(
        &tether(
            &["demo", "--db", &db_s, "--user", "admin", "--clients", "5"],
            PASSWORD,
        ),
        "damaged",
    );
    assert_refused(
        &tether(&["check", "--db", &db_s, "--user", "admin"], PASSWORD),
        "damaged",
    );
    assert_eq!(snapshot(dir.path()), corrupt);
}

#[test]
fn check_reports_bytes_overwritten_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    let o = tether(
        &[
            "demo",
            "--db",
            db_s,
            "--user",
            "admin",
            "--clients",
            "300",
            "--seed",
            "3",
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ok = tether(&["check", "--db", db_s, "--user", "admin"], PASSWORD);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok:"));

    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 100].fill(0);
    std::fs::write(&db, &bytes).unwrap();
    assert_refused(
        &tether(&["check", "--db", db_s, "--user", "admin"], PASSWORD),
        "damaged",
    );
}

#[test]
fn backup_command_writes_a_copy_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = dir.path().join("backup.db");
    let o = tether(
        &[
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--user",
            "admin",
            "--clients",
            "50",
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let b = tether(
        &[
            "backup",
            "--db",
            db.to_str().unwrap(),
            "--user",
            "admin",
            "--out",
            out.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert!(b.status.success(), "{}", stderr(&b));
    let copy = Store::open(&out, "admin", PASSWORD).unwrap();
    assert_eq!(copy.count_live("clients").unwrap(), 50);
}

/// Counts of what a client has in the database.
fn stored_counts(store: &Store, id: uuid::Uuid) -> [usize; 5] {
    [
        store.list_for_client::<Contact>(id).unwrap().len(),
        store.list_for_client::<Arrest>(id).unwrap().len(),
        store.list_for_client::<Detention>(id).unwrap().len(),
        store.list_for_client::<Enrollment>(id).unwrap().len(),
        store.list_for_client::<ServiceEvent>(id).unwrap().len(),
    ]
}

#[test]
fn demo_killed_midway_leaves_a_sound_database_with_whole_clients() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let today = "2026-11-01";
    let init = Store::init(&db, "admin", "Admin", PASSWORD).unwrap();
    init.store.close().unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args([
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--user",
            "admin",
            "--clients",
            "200000",
            "--seed",
            "11",
            "--today",
            today,
        ])
        .env("TETHER_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a few batches have been committed, then SIGKILL it mid-write.
    let wal = dir.path().join("t.db-wal");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    while size(&db) + size(&wal) < 8_000_000 {
        assert!(
            started.elapsed().as_secs() < 120,
            "demo wrote nothing in two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "demo ended before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let check = tether(
        &["check", "--db", db.to_str().unwrap(), "--user", "admin"],
        PASSWORD,
    );
    assert!(
        check.status.success(),
        "check after kill: {}",
        stderr(&check)
    );

    let mut store = Store::open(&db, "admin", PASSWORD).unwrap();
    let n = store.count_live("clients").unwrap() as usize;
    assert!(n > 0 && n < 200_000, "{n} clients");
    assert_eq!(
        n % demo::BATCH_CLIENTS,
        0,
        "only whole batches are committed"
    );
    let ctx = demo::prepare(&mut store, 11, day(today)).unwrap();
    for index in 0..n as u64 {
        let expected = demo::generate_client(11, index, &ctx, day(today));
        let (id, client) = &expected.clients[0];
        let saved = store
            .client_by_code(&client.code)
            .unwrap()
            .unwrap_or_else(|| panic!("client {} missing", client.code));
        assert_eq!(saved.id(), *id, "demo data is deterministic");
        let want = [
            expected.contacts.len(),
            expected.arrests.len(),
            expected.detentions.len(),
            expected.enrollments.len(),
            expected.service_events.len(),
        ];
        assert_eq!(
            stored_counts(&store, *id),
            want,
            "client {} is whole",
            client.code
        );
    }
    // The next client was never written at all.
    let next = demo::generate_client(11, n as u64, &ctx, day(today));
    assert!(
        store
            .client_by_code(&next.clients[0].1.code)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.count_live("contacts").unwrap() as usize,
        (0..n as u64)
            .map(|i| demo::generate_client(11, i, &ctx, day(today))
                .contacts
                .len())
            .sum::<usize>()
    );
}

#[test]
fn demo_data_looks_like_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = tether(
        &[
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--user",
            "admin",
            "--clients",
            "2000",
            "--seed",
            "5",
            "--today",
            "2026-11-01",
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let store = Store::open(&db, "admin", PASSWORD).unwrap();
    let clients = store.count_live("clients").unwrap();
    let contacts = store.count_live("contacts").unwrap();
    assert_eq!(clients, 2000);
    assert!(
        (15_000..25_000).contains(&contacts),
        "about ten contacts a client: {contacts}"
    );
    let locations = store.list_all::<Location>().unwrap();
    assert!(locations.iter().any(|l| l.kind == LocationKind::Prison));
    assert!(
        locations
            .iter()
            .any(|l| l.kind == LocationKind::TreatmentCentre)
    );
    assert!(
        locations
            .iter()
            .any(|l| l.methadone == Availability::Yes || l.art == Availability::Yes)
    );
    let unknown_or_no = locations
        .iter()
        .filter(|l| l.methadone != Availability::Yes)
        .count();
    assert!(
        unknown_or_no * 10 >= locations.len() * 8,
        "most places have no methadone or are unknown"
    );
    // Khmer nicknames survive the round trip; Phnom Penh has the most clients.
    let pp = store.search_clients("PP-", 5000).unwrap().rows.len();
    let btb = store.search_clients("BTB-", 5000).unwrap().rows.len();
    assert!(pp > 2 * btb, "Phnom Penh {pp} vs Battambang {btb}");
    let rows = store.search_clients("", 3000).unwrap().rows;
    assert!(rows.iter().any(|r| {
        r.nickname
            .as_deref()
            .is_some_and(|n| n.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c)))
    }));
    assert!(
        rows.iter().any(|r| r.detained),
        "some clients are detained now"
    );
    // The crackdown: arrests this year far outnumber last year's.
    let (mut this_year, mut last_year) = (0, 0);
    for r in rows.iter().take(2000) {
        for a in store.list_for_client::<Arrest>(r.id).unwrap() {
            if a.date >= day("2026-01-01") {
                this_year += 1
            } else if a.date >= day("2025-01-01") {
                last_year += 1
            }
        }
    }
    assert!(
        this_year > 3 * last_year,
        "crackdown wave: {this_year} arrests this year vs {last_year}"
    );
    // The same seed gives the same data.
    let again = tempfile::tempdir().unwrap();
    let db2 = again.path().join("t.db");
    assert!(
        tether(
            &[
                "demo",
                "--db",
                db2.to_str().unwrap(),
                "--user",
                "admin",
                "--clients",
                "50",
                "--seed",
                "5",
                "--today",
                "2026-11-01"
            ],
            PASSWORD
        )
        .status
        .success()
    );
    let store2 = Store::open(&db2, "admin", PASSWORD).unwrap();
    for row in store2.search_clients("", 50).unwrap().rows {
        let same = store
            .client_by_code(&row.code)
            .unwrap()
            .expect("same codes");
        assert_eq!(same.id(), row.id);
        assert_eq!(same.nickname, row.nickname);
    }
}

#[test]
fn worklist_command_writes_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    let o = tether(
        &[
            "demo",
            "--db",
            db_s,
            "--user",
            "admin",
            "--clients",
            "800",
            "--seed",
            "4",
            "--today",
            "2026-11-01",
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json = dir.path().join("w.json");
    let o = tether(
        &[
            "worklist",
            "--db",
            db_s,
            "--user",
            "admin",
            "--day",
            "2026-11-01",
            "--out",
            json.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["day"], "2026-11-01");
    let entries = v["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    let kinds = [
        "at_risk_detained",
        "release_relinkage",
        "art_overdue",
        "art_interrupted",
        "methadone_missed",
        "lost_to_follow_up",
    ];
    for e in entries {
        assert!(kinds.contains(&e["kind"].as_str().unwrap()), "{e}");
        assert!(!e["reason"].as_str().unwrap().is_empty());
        assert!(e["client_code"].as_str().unwrap().contains('-'));
    }
    // The same entries as the store computes.
    let store = Store::open(&db, "admin", PASSWORD).unwrap();
    assert_eq!(
        entries.len(),
        store.worklist(day("2026-11-01"), None).unwrap().len()
    );
    drop(store);
    // CSV for one worker, parsed back with the csv crate.
    let csv_path = dir.path().join("w.csv");
    let o = tether(
        &[
            "worklist",
            "--db",
            db_s,
            "--user",
            "admin",
            "--day",
            "2026-11-01",
            "--worker",
            "sokha.ou",
            "--out",
            csv_path.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "day",
            "client_code",
            "kind",
            "reason",
            "days",
            "service",
            "location"
        ]
    );
    let rows = reader.records().count();
    assert!(
        rows > 0 && rows < entries.len(),
        "one worker's part: {rows} of {}",
        entries.len()
    );
    // Refusals: unknown worker, unknown format.
    assert_refused(
        &tether(
            &[
                "worklist", "--db", db_s, "--user", "admin", "--worker", "nobody", "--out",
                "x.json",
            ],
            PASSWORD,
        ),
        "no user named nobody",
    );
    assert_refused(
        &tether(
            &[
                "worklist",
                "--db",
                db_s,
                "--user",
                "admin",
                "--out",
                dir.path().join("w.txt").to_str().unwrap(),
            ],
            PASSWORD,
        ),
        ".json or .csv",
    );
}

/// `tether export` and `tether worklist` write text that a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// after a `'`, so it shows as text; counts stay numbers.
#[test]
fn csv_files_from_the_command_line_hold_formulas_as_text() {
    let formulas = [
        (
            "=HYPERLINK(\"http://x.example\",\"open\")",
            "'=HYPERLINK(\"http://x.example\",\"open\")",
        ),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1+2", "'+1+2"),
        ("-A1", "'-A1"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
    ];
    let (db, mut store) = fresh();
    for (i, (text, _)) in formulas.iter().enumerate() {
        let mut c = Client::with_code(&format!("F-{i}"));
        c.nickname = Some((*text).to_owned());
        let id = store.create(c).unwrap().id();
        let place = store
            .create(Location::new(
                &format!("{text} centre"),
                LocationKind::Prison,
            ))
            .unwrap()
            .id();
        store
            .create(Enrollment {
                client_id: id,
                service: Service::Methadone,
                provider: None,
                number: None,
                start: day("2025-01-01"),
                end: None,
                status: EnrollmentStatus::Active,
                dose_mg: None,
                regimen: None,
            })
            .unwrap();
        store
            .create(Detention {
                client_id: id,
                location_id: place,
                start: day("2025-03-01"),
                end: None,
                basis: None,
                arrest_id: None,
                release_reason: None,
                notes: None,
            })
            .unwrap();
    }
    store.create(Client::with_code("-A1")).unwrap();
    store.close().unwrap();
    let db_s = db.path.to_str().unwrap();
    let read = |path: &Path| -> Vec<Vec<String>> {
        csv::Reader::from_path(path)
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    };

    let out = db.dir.path().join("clients.csv");
    let o = tether(
        &[
            "export",
            "--db",
            db_s,
            "--user",
            "admin",
            "--identifiable",
            "--out",
            out.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read(&out);
    // code, nickname, name, phone, ..., contacts, arrests, detentions
    for (i, (_, safe)) in formulas.iter().enumerate() {
        let row = rows.iter().find(|r| r[0] == format!("F-{i}")).unwrap();
        assert_eq!(row[1], *safe);
        assert_eq!(row[row.len() - 1], "1", "detentions: a number");
    }
    assert!(rows.iter().any(|r| r[0] == "'-A1"));

    let out = db.dir.path().join("worklist.csv");
    let o = tether(
        &[
            "worklist",
            "--db",
            db_s,
            "--user",
            "admin",
            "--day",
            "2025-03-31",
            "--out",
            out.to_str().unwrap(),
        ],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read(&out);
    // day, client_code, kind, reason, days, service, location
    for (i, (text, safe)) in formulas.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r[1] == format!("F-{i}") && r[2] == "at_risk_detained")
            .unwrap();
        // The store trims a location's name: a tab or return first is gone.
        let place = format!("{} centre", text.trim());
        let expected = if i < 4 { format!("'{place}") } else { place };
        assert_eq!(row[6], expected, "{safe:?}");
        assert_eq!(row[4], "31");
    }
}

/// Everything Tether writes is readable by its own account only.
#[cfg(unix)]
#[test]
fn every_file_tether_writes_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let db = d("office.db");
    let dbs = db.to_str().unwrap();
    let ok = |o: Output| assert!(o.status.success(), "{}", stderr(&o));
    ok(tether(
        &["demo", "--db", dbs, "--user", "admin", "--clients", "30"],
        PASSWORD,
    ));
    let out = |name: &str| d(name).to_str().unwrap().to_owned();
    ok(tether(
        &[
            "backup",
            "--db",
            dbs,
            "--user",
            "admin",
            "--out",
            &out("copy.db"),
        ],
        PASSWORD,
    ));
    ok(tether(
        &[
            "report",
            "--db",
            dbs,
            "--user",
            "admin",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--out",
            &out("r.json"),
        ],
        PASSWORD,
    ));
    ok(tether(
        &[
            "report",
            "--db",
            dbs,
            "--user",
            "admin",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--out",
            &out("r.xlsx"),
        ],
        PASSWORD,
    ));
    ok(tether(
        &[
            "export",
            "--db",
            dbs,
            "--user",
            "admin",
            "--out",
            &out("list.csv"),
        ],
        PASSWORD,
    ));
    ok(tether(
        &[
            "export",
            "--db",
            dbs,
            "--user",
            "admin",
            "--out",
            &out("list.xlsx"),
        ],
        PASSWORD,
    ));
    ok(tether(
        &[
            "worklist",
            "--db",
            dbs,
            "--user",
            "admin",
            "--out",
            &out("w.csv"),
        ],
        PASSWORD,
    ));
    let sync = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args([
            "sync",
            "export",
            "--db",
            dbs,
            "--user",
            "admin",
            "--out",
            &out("b.tether-sync"),
        ])
        .env("TETHER_PASSWORD", PASSWORD)
        .env("TETHER_SYNC_KEY", "mekong river outreach 2026")
        .output()
        .unwrap();
    ok(sync);
    let store = Store::open(&db, "admin", PASSWORD).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for name in [
        "office.db",
        "office.db.keys",
        "copy.db",
        "copy.db.keys",
        "r.json",
        "r.xlsx",
        "list.csv",
        "list.xlsx",
        "w.csv",
        "b.tether-sync",
    ] {
        assert_eq!(mode(&d(name)), 0o600, "{name}");
    }
    assert!(d("office.db-wal").exists());
    assert_eq!(mode(&d("office.db-wal")), 0o600, "the WAL");
    let job = store.backup_job();
    job.run(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
        .unwrap();
    assert_eq!(mode(job.dir()), 0o700, "the backups folder");
    for entry in std::fs::read_dir(job.dir()).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn users_are_managed_from_the_command_line_by_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let dbs = db.to_str().unwrap();
    let run = |user: &str, password: &str, new: Option<&str>, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tether"));
        c.args(args)
            .args(["--db", dbs, "--user", user])
            .env("TETHER_PASSWORD", password)
            .stdin(Stdio::null());
        if let Some(n) = new {
            c.env("TETHER_NEW_PASSWORD", n);
        }
        c.output().unwrap()
    };
    assert!(
        tether(&["init", "--db", dbs, "--admin", "admin"], PASSWORD)
            .status
            .success()
    );
    let o = run(
        "admin",
        PASSWORD,
        Some("sokha password 1"),
        &["user", "add", "sokha", "--role", "outreach"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        "admin",
        PASSWORD,
        Some("x"),
        &["user", "add", "weak", "--role", "outreach"],
    );
    assert_refused(&o, "password");
    let o = run(
        "admin",
        PASSWORD,
        Some("a long password"),
        &["user", "add", "odd", "--role", "boss"],
    );
    assert_refused(&o, "--role boss");
    let o = run("sokha", "sokha password 1", None, &["user", "list"]);
    assert_refused(&o, "manage user accounts");
    let o = run("admin", PASSWORD, None, &["user", "list"]);
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains("sokha\toutreach\tactive\tcan log in here"),
        "{listed}"
    );
    let o = run(
        "admin",
        PASSWORD,
        Some("sokha password 2"),
        &["user", "passwd", "sokha"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(Store::open(&db, "sokha", "sokha password 1").is_err());
    Store::open(&db, "sokha", "sokha password 2")
        .unwrap()
        .close()
        .unwrap();
    let o = run("admin", PASSWORD, None, &["user", "deactivate", "sokha"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(Store::open(&db, "sokha", "sokha password 2").is_err());
    let o = run("admin", PASSWORD, None, &["user", "deactivate", "nobody"]);
    assert_refused(&o, "no user named nobody");
    let store = Store::open(&db, "admin", PASSWORD).unwrap();
    let about_users = store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.record_kind.as_deref() == Some("user") && e.action != AuditAction::Login)
        .count();
    assert!(
        about_users >= 4,
        "create, password, deactivate audited: {about_users}"
    );
}

/// A change of the database key killed (SIGKILL) after each of its steps
/// leaves a database that opens with every password and the recovery key,
/// with nothing lost; the next login finishes or undoes the change.
#[cfg(unix)]
#[test]
fn a_change_of_key_killed_at_any_step_leaves_a_database_that_opens() {
    use std::os::unix::process::ExitStatusExt;
    for step in ["next-written", "rekeyed", "checkpointed", "renamed"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("office.db");
        let init = Store::init(&db, "admin", "Admin", PASSWORD).unwrap();
        let recovery = init.recovery_key.clone();
        let mut store = init.store;
        add_user(&mut store, "sokha", Role::Outreach);
        client(&mut store, "PP-0001", Some("Dara"));
        let before = store.canonical_dump().unwrap();
        store.close().unwrap();

        let o = Command::new(env!("CARGO_BIN_EXE_tether"))
            .args([
                "rotate-key",
                "--db",
                db.to_str().unwrap(),
                "--user",
                "admin",
            ])
            .env("TETHER_PASSWORD", PASSWORD)
            .env("TETHER_KILL_AT", step)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(o.status.signal(), Some(9), "{step}: {}", stderr(&o));

        for who in ["sokha", "admin"] {
            let s = Store::open(&db, who, PASSWORD)
                .unwrap_or_else(|e| panic!("{step}: {who} cannot open: {e}"));
            assert_eq!(s.count_live("clients").unwrap(), 1, "{step}");
            s.close().unwrap();
        }
        assert!(
            !tether::store::next_key_file_path(&db).exists(),
            "{step}: the login finished the change"
        );
        let s = Store::open_with_recovery_key(&db, &recovery, "admin")
            .unwrap_or_else(|e| panic!("{step}: the recovery key: {e}"));
        assert_eq!(s.canonical_dump().unwrap(), before, "{step}: nothing lost");
        s.close().unwrap();
        // And the next change goes through.
        let o = tether(
            &[
                "rotate-key",
                "--db",
                db.to_str().unwrap(),
                "--user",
                "admin",
            ],
            PASSWORD,
        );
        assert!(o.status.success(), "{step}: {}", stderr(&o));
        Store::open(&db, "sokha", PASSWORD)
            .unwrap()
            .close()
            .unwrap();
    }
}

#[test]
fn recovery_key_rotation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let dbs = db.to_str().unwrap();
    let init = Store::init(&db, "admin", "Admin", PASSWORD).unwrap();
    let old = init.recovery_key.clone();
    init.store.close().unwrap();
    let o = tether(
        &["recovery-key", "--rotate", "--db", dbs, "--user", "admin"],
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let new = printed_recovery_key(&o);
    assert!(Store::open_with_recovery_key(&db, &old, "admin").is_err());
    std::fs::remove_file(key_file_path(&db)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["recover", "--db", dbs, "--user", "admin"])
        .env("TETHER_RECOVERY_KEY", &new)
        .env("TETHER_NEW_PASSWORD", "a brand new password")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    Store::open(&db, "admin", "a brand new password")
        .unwrap()
        .close()
        .unwrap();
}

/// The office's hub runs `tether sync folder` unattended, with the
/// password and the sync passphrase read from files only its account can
/// read; a file other accounts can read is refused before anything runs.
#[test]
fn a_scheduled_hub_reads_its_secrets_from_private_files_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let dbs = db.to_str().unwrap();
    assert!(
        tether(&["init", "--db", dbs, "--admin", "admin"], PASSWORD)
            .status
            .success()
    );
    let folder = dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    let secret = |name: &str, text: &str, mode: u32| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{text}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    let pw = secret("password", PASSWORD, 0o644);
    let key = secret("sync-key", "mekong river outreach 2026", 0o600);
    let hub = || {
        Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(["sync", "folder", "--db", dbs, "--user", "admin"])
            .arg(&folder)
            .env_remove("TETHER_PASSWORD")
            .env_remove("TETHER_SYNC_KEY")
            .env("TETHER_PASSWORD_FILE", &pw)
            .env("TETHER_SYNC_KEY_FILE", &key)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let audit_before = Store::open(&db, "admin", PASSWORD)
        .unwrap()
        .audit_log(1000)
        .unwrap()
        .len();
    let refused = hub();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("TETHER_PASSWORD_FILE")
            && err.contains("mode 644")
            && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0, "no bundle");
    // Nothing ran: not even a login was written (the check above opened it once).
    assert_eq!(
        Store::open(&db, "admin", PASSWORD)
            .unwrap()
            .audit_log(1000)
            .unwrap()
            .len(),
        audit_before + 1
    );
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ran = hub();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "its bundle");
}
