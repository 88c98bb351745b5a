//! The store against hand-written SQL, on the same 100,000-client demo in
//! the same run: for each hot call, the median time of the store's call and
//! of the best plain SQL that reads (or writes) the same rows on a second
//! connection with the same key and settings, and their ratio. Target: every
//! ratio ≤ 1.5×. Samples of the two alternate, so drift hits both alike.
//!
//!     cargo bench --bench ratio
//!
//! Prints a Markdown table (also written to `target/bench-data/ratio.md`).
//!
//! The two bulk writes (merging a first full bundle, importing 100,000
//! contacts) run on a 10,000-client demo: each of their samples writes into
//! a fresh copy of a database, set up untimed, five samples a side.

#[path = "common/mod.rs"]
mod common;

use common::{PASSWORD, bench_db, demo_db};
use rusqlite::{Connection, params, params_from_iter};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use tether::domain::*;
use tether::store::{ClientFilter, KeyFile, Store};

/// Median time of one call of `f`, from 21 samples of about 40 ms each,
/// alternating with `g` (so the two see the same machine).
fn medians(mut f: impl FnMut(), mut g: impl FnMut()) -> (Duration, Duration) {
    let per_sample = |h: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_millis(40) || n < 3 {
            h();
            n += 1;
        }
        n
    };
    // Warm up, and learn how many calls make a sample.
    let nf = per_sample(&mut f);
    let ng = per_sample(&mut g);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        let t = Instant::now();
        for _ in 0..nf {
            f();
        }
        a.push(t.elapsed() / nf);
        let t = Instant::now();
        for _ in 0..ng {
            g();
        }
        b.push(t.elapsed() / ng);
    }
    a.sort();
    b.sort();
    (a[a.len() / 2], b[b.len() / 2])
}

const ROW: &str = "c.id, c.code, c.nickname, c.sex, c.birth_year, c.province, c.status,
    EXISTS (SELECT 1 FROM detentions d INDEXED BY detentions_client WHERE d.client_id = c.id AND d.deleted = 0 AND d.ended_on IS NULL),
    a.last_contact, c.registered_on";

/// The clients and their last contact: the list's status is derived from
/// it (lost to follow-up), so the raw side reads it too.
const FROM: &str = "clients c LEFT JOIN client_activity a ON a.client_id = c.id";

type RawRow = (
    uuid::Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    bool,
    Option<String>,
    Option<String>,
);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn prefix_end(s: &str) -> String {
    let mut e = s.to_owned();
    e.push(char::MAX);
    e
}

fn main() {
    let path = bench_db();
    let key = KeyFile::load(&path)
        .expect("key file")
        .unlock("admin", PASSWORD)
        .expect("unlock");
    let mut store = Store::open(&path, "admin", PASSWORD).expect("open");
    let raw = Connection::open(&path).expect("raw open");
    raw.execute_batch(&format!(
        "PRAGMA key = {}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -262144; PRAGMA journal_mode = WAL;",
        key.pragma_value().as_str()
    ))
    .expect("raw key");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let mut table: Vec<(String, Duration, Duration)> = Vec::new();

    let codes: Vec<(String, uuid::Uuid)> = store
        .search_clients("PP-00", 400)
        .expect("search")
        .rows
        .into_iter()
        .map(|r| (r.code, r.id))
        .collect();
    assert!(codes.len() > 100, "bench database has clients");

    // Code prefix: the store's search against one statement.
    {
        let mut i = 0;
        let mut j = 0;
        // The same answer as the store's: codes that start with it, and
        // (3 characters or more) codes, nicknames or phones that hold it.
        let mut stmt = raw
            .prepare(&format!(
                "SELECT {ROW} FROM {FROM} WHERE c.rid IN (
                    SELECT rid FROM (SELECT rid FROM clients WHERE code >= ?1 AND code < ?2 AND deleted = 0 ORDER BY code LIMIT 51)
                    UNION SELECT rowid FROM (SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?3 LIMIT 51))
                 AND c.deleted = 0 ORDER BY c.code LIMIT 51"
            ))
            .expect("sql");
        let (s, r) = medians(
            || {
                i = (i + 1) % codes.len();
                let p = &codes[i].0[..codes[i].0.len() - 1];
                black_box(store.search_clients(p, 50).expect("search"));
            },
            || {
                j = (j + 1) % codes.len();
                let p = &codes[j].0[..codes[j].0.len() - 1];
                let phrase = format!("\"{p}\"");
                let rows: Vec<RawRow> = stmt
                    .query_map(params![p, prefix_end(p), phrase], raw_row)
                    .expect("q")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                black_box(rows);
            },
        );
        table.push(("search by code prefix (50 rows)".into(), s, r));
    }

    // Nickname or phone substring: FTS5 trigram rowids and code prefix, then the rows.
    {
        let words = ["ophe", "Dara", "សុខា", "anth", "012 3", "Srey"];
        let (mut i, mut j) = (0, 0);
        let mut stmt = raw
            .prepare(&format!(
                "SELECT {ROW} FROM {FROM} WHERE c.rid IN (
                    SELECT rid FROM (SELECT rid FROM clients WHERE code >= ?1 AND code < ?2 AND deleted = 0 ORDER BY code LIMIT 51)
                    UNION SELECT rowid FROM (SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?3 LIMIT 51))
                 AND c.deleted = 0 ORDER BY c.code LIMIT 51"
            ))
            .expect("sql");
        let (s, r) = medians(
            || {
                i = (i + 1) % words.len();
                black_box(store.search_clients(words[i], 50).expect("search"));
            },
            || {
                j = (j + 1) % words.len();
                let w = words[j];
                let code = w.to_uppercase();
                let phrase = format!("\"{}\"", w.replace('"', "\"\""));
                let rows: Vec<RawRow> = stmt
                    .query_map(params![code, prefix_end(&code), phrase], raw_row)
                    .expect("q")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                black_box(rows);
            },
        );
        table.push(("search by nickname/phone substring".into(), s, r));
    }

    // A page of 100 rows of the Clients list, by row id.
    {
        let rids = store
            .client_ids(&ClientFilter::default(), today)
            .expect("ids");
        let pages = rids.len() / 100;
        let (mut i, mut j) = (0, 0);
        let placeholders = (1..=100)
            .map(|n| format!("?{n}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut stmt = raw
            .prepare(&format!(
                "SELECT {ROW} FROM {FROM} WHERE c.rid IN ({placeholders}) ORDER BY c.code"
            ))
            .expect("sql");
        let (s, r) = medians(
            || {
                i = (i + 7) % pages;
                black_box(
                    store
                        .client_rows(&rids[i * 100..i * 100 + 100])
                        .expect("rows"),
                );
            },
            || {
                j = (j + 7) % pages;
                let rows: Vec<RawRow> = stmt
                    .query_map(params_from_iter(&rids[j * 100..j * 100 + 100]), raw_row)
                    .expect("q")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                black_box(rows);
            },
        );
        table.push(("a page of 100 rows of the Clients list".into(), s, r));
    }

    // One client's timeline: every record of theirs, read whole.
    {
        let (mut i, mut j) = (0, 0);
        // Each with its date first, to sort the lot by.
        let sqls = [
            "SELECT date, * FROM contacts WHERE client_id = ?1 AND deleted = 0",
            "SELECT date, * FROM arrests WHERE client_id = ?1 AND deleted = 0",
            "SELECT d.started_on, d.*, l.name FROM detentions d JOIN locations l ON l.id = d.location_id WHERE d.client_id = ?1 AND d.deleted = 0",
            "SELECT started_on, * FROM enrollments WHERE client_id = ?1 AND deleted = 0",
            "SELECT date, * FROM service_events WHERE client_id = ?1 AND deleted = 0",
            "SELECT due, * FROM followups WHERE client_id = ?1 AND deleted = 0",
        ];
        let mut stmts: Vec<_> = sqls.iter().map(|s| raw.prepare(s).expect("sql")).collect();
        let (s, r) = medians(
            || {
                i = (i + 1) % codes.len();
                black_box(store.timeline(codes[i].1).expect("timeline"));
            },
            || {
                // Owned values, newest first: what a screen can keep.
                j = (j + 1) % codes.len();
                let mut all: Vec<(String, Vec<rusqlite::types::Value>)> = Vec::new();
                for stmt in &mut stmts {
                    let cols = stmt.column_count();
                    let mut rows = stmt.query([codes[j].1]).expect("q");
                    while let Some(row) = rows.next().expect("row") {
                        all.push((
                            row.get(0).expect("date"),
                            (1..cols).map(|c| row.get(c).expect("col")).collect(),
                        ));
                    }
                }
                all.sort_by(|a, b| b.0.cmp(&a.0));
                black_box(all);
            },
        );
        table.push(("one client's timeline".into(), s, r));
    }

    // One worker's worklist: the store decides every rule; the raw side
    // only reads the rows those rules start from (its clients' stays now
    // or lately, of those with methadone or ART; its active methadone and
    // ART enrollments; its clients without a recent contact), so this
    // ratio includes the rules themselves.
    {
        let worker = store
            .user_by_name("sokha.ou")
            .expect("user")
            .map(|u| u.id());
        let cutoff = tether::domain::add_days(today, -90);
        let window = tether::domain::add_days(today, -30);
        let mut a = raw
            .prepare(
                "SELECT a.client_id, a.code FROM (
                    SELECT client_id FROM detentions WHERE ended_on IS NULL AND started_on <= ?1 AND deleted = 0
                    UNION SELECT client_id FROM detentions WHERE ended_on >= ?2 AND started_on <= ?1 AND deleted = 0
                 ) d CROSS JOIN client_activity a ON a.client_id = d.client_id AND a.live = 1 WHERE a.worker = ?3
                   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = d.client_id AND e.deleted = 0
                               AND e.service IN ('methadone', 'art'))",
            )
            .expect("sql");
        let mut b = raw
            .prepare(
                "SELECT e.enrollment_id, e.last_dose, e.last_refill, e.last_refill_days, c.code
                 FROM enrollment_activity e CROSS JOIN client_activity c ON c.client_id = e.client_id AND c.live = 1
                 WHERE e.live = 1 AND e.service IN ('methadone', 'art') AND e.started_on <= ?1
                   AND (e.ended_on IS NULL OR e.ended_on >= ?1) AND c.worker = ?2",
            )
            .expect("sql");
        let mut c = raw
            .prepare(
                "SELECT client_id, code, status, registered_on, last_contact FROM client_activity
                 WHERE open = 1 AND last_contact IS NULL AND worker = ?2
                 UNION ALL
                 SELECT client_id, code, status, registered_on, last_contact FROM client_activity
                 WHERE open = 1 AND last_contact < ?1 AND worker = ?2",
            )
            .expect("sql");
        let (s, r) = medians(
            || {
                black_box(store.worklist(today, worker).expect("worklist"));
            },
            || {
                let mut n = 0usize;
                let mut rows = a.query(params![today, window, worker]).expect("q");
                while rows.next().expect("row").is_some() {
                    n += 1;
                }
                let mut rows = b.query(params![today, worker]).expect("q");
                while let Some(row) = rows.next().expect("row") {
                    black_box(row.get_ref(4).expect("col"));
                    n += 1;
                }
                let mut rows = c.query(params![cutoff, worker]).expect("q");
                while let Some(row) = rows.next().expect("row") {
                    black_box(row.get_ref(1).expect("col"));
                    n += 1;
                }
                black_box(n);
            },
        );
        table.push((
            "one worker's worklist for a day (raw: its input rows only)".into(),
            s,
            r,
        ));
    }

    // Inserting a contact: validated, version-stamped, audited, committed,
    // against the same two rows written by hand in one transaction (the
    // tables' triggers run for both).
    {
        let (mut i, mut j) = (0, 0);
        let device: String = raw
            .query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
                r.get(0)
            })
            .expect("device");
        let admin = store.user().id;
        let (s, r) = medians(
            || {
                i = (i + 1) % codes.len();
                let mut contact = Contact::new(codes[i].1, today, ContactKind::Street);
                contact.needles_syringes = 20;
                contact.condoms = 5;
                black_box(store.create(contact).expect("insert"));
            },
            || {
                j = (j + 1) % codes.len();
                let now = chrono::Utc::now().timestamp_millis();
                let id = uuid::Uuid::now_v7();
                let tx = raw.unchecked_transaction().expect("tx");
                tx.prepare_cached(
                    "INSERT INTO contacts(id, created_at, updated_at, updated_by, device_id, client_id, date, worker_id, kind, needles_syringes, condoms, naloxone, hiv_test, referrals)
                     VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?3, 'street', 20, 5, 0, 'none', '')",
                )
                .expect("sql")
                .execute(params![id, now, admin, device, codes[j].1, today])
                .expect("insert");
                tx.prepare_cached(
                    "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail) VALUES (?1, ?2, ?3, 'create', 'contact', ?4, '')",
                )
                .expect("sql")
                .execute(params![now, admin, device, id])
                .expect("audit");
                tx.commit().expect("commit");
            },
        );
        table.push(("insert one contact".into(), s, r));
    }

    store.close().expect("close");
    if std::env::var_os("TETHER_BENCH_SKIP_BULK").is_none() {
        bulk_writes(&mut table);
    }

    let mut out =
        String::from("| call | store | hand-written SQL | ratio |\n| --- | --- | --- | --- |\n");
    for (name, s, r) in &table {
        out.push_str(&format!(
            "| {name} | {:.3} ms | {:.3} ms | {:.2}× |\n",
            s.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            s.as_secs_f64() / r.as_secs_f64()
        ));
    }
    println!("{out}");
    let _ = std::fs::write(path.with_file_name("ratio.md"), &out);
}

/// Median of five timed runs of each of two heavy calls, alternating; each
/// run's set-up (a fresh copy of a database) is not timed.
fn heavy_medians<S, T>(
    mut setup_f: impl FnMut() -> S,
    mut f: impl FnMut(S),
    mut setup_g: impl FnMut() -> T,
    mut g: impl FnMut(T),
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let s = setup_f();
        let t = Instant::now();
        f(s);
        a.push(t.elapsed());
        let s = setup_g();
        let t = Instant::now();
        g(s);
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    (a[2], b[2])
}

/// Copies a closed database and its key file.
fn copy_db(from: &Path, to: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut p = to.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::copy(from, to).expect("copy db");
    let mut keys = from.as_os_str().to_owned();
    keys.push(".keys");
    let mut to_keys = to.as_os_str().to_owned();
    to_keys.push(".keys");
    std::fs::copy(&keys, &to_keys).expect("copy keys");
}

/// A raw connection with the store's settings and `key`.
fn raw_open(path: &Path, key: &tether::store::DbKey) -> Connection {
    let raw = Connection::open(path).expect("raw open");
    raw.execute_batch(&format!(
        "PRAGMA key = {}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -262144; PRAGMA journal_mode = WAL;",
        key.pragma_value().as_str()
    ))
    .expect("raw key");
    raw
}

/// The first full sync's merge and an import of 100,000 contacts, each
/// against plain SQL that writes the same rows.
fn bulk_writes(table: &mut Vec<(String, Duration, Duration)>) {
    use tether::sync::bundle::{self, SyncKey};
    let demo = demo_db(10_000);
    let demo_key = KeyFile::load(&demo)
        .expect("key file")
        .unlock("admin", PASSWORD)
        .expect("unlock");
    let dir = tempfile::tempdir().expect("temp dir");
    let sync_key = SyncKey::new("mekong river outreach 2026").expect("key");
    // A new laptop that has enrolled the demo's as an office laptop, and
    // that the demo's (a copy) has enrolled, so that the bundle is sealed for it.
    let empty = dir.path().join("empty.db");
    let mut new = Store::init(&empty, "admin", "Admin", PASSWORD)
        .expect("init")
        .store;
    let demo_copy = dir.path().join("demo.db");
    copy_db(&demo, &demo_copy);
    let (bytes, opened) = {
        let mut a = Store::open(&demo_copy, "admin", PASSWORD).expect("open demo");
        let key = new.device_key().expect("device key").public_hex();
        a.enroll_device(new.device_id(), Some(&key), tether::store::Trust::Office)
            .expect("enroll the new laptop");
        let a_key = a.device_key().expect("device key").public_hex();
        new.enroll_device(a.device_id(), Some(&a_key), tether::store::Trust::Office)
            .expect("enroll");
        let exported = a.sync_export(&sync_key, 0).expect("export");
        let own = a.device_key().expect("device key");
        let reader = bundle::Reader {
            device: a.device_id(),
            key: &own,
        };
        let opened = bundle::open(
            &sync_key,
            &reader,
            tether::store::schema::MIGRATIONS_COUNT,
            &exported.bytes,
        )
        .expect("open");
        a.close().expect("close demo");
        (exported.bytes, opened)
    };
    new.close().expect("close");
    let empty_key = KeyFile::load(&empty)
        .expect("key file")
        .unlock("admin", PASSWORD)
        .expect("unlock");
    let run = dir.path().join("run.db");
    let (s, r) = heavy_medians(
        || {
            copy_db(&empty, &run);
            Store::open(&run, "admin", PASSWORD).expect("open")
        },
        |mut store| {
            let merged = store
                .sync_import(&sync_key, &bytes, &mut |_, _, _| {})
                .expect("merge");
            assert_eq!(merged.added, merged.records);
            black_box(merged);
            drop(store);
        },
        || {
            copy_db(&empty, &run);
            let raw = raw_open(&run, &empty_key);
            raw.execute_batch(&format!(
                "ATTACH DATABASE '{}' AS a KEY {};",
                demo.display(),
                demo_key.pragma_value().as_str()
            ))
            .expect("attach");
            raw
        },
        |raw| {
            // The same rows (the bundle's columns) copied table by table in
            // one transaction, with the same indexes, triggers and checks.
            let tx = raw.unchecked_transaction().expect("tx");
            tx.execute_batch("PRAGMA defer_foreign_keys = ON;")
                .expect("defer");
            for t in &opened.payload.tables {
                let cols = t.columns.join(", ");
                tx.execute(
                    &format!(
                        "INSERT INTO main.{0}({cols}) SELECT {cols} FROM a.{0}",
                        t.table
                    ),
                    [],
                )
                .expect("copy");
            }
            tx.commit().expect("commit");
        },
    );
    table.push((
        format!(
            "merge a first full bundle ({} records, 10,000 clients; raw: `INSERT … SELECT` from the sender's file)",
            opened.payload.records()
        ),
        s,
        r,
    ));

    // 100,000 contacts from CSV for the demo's clients and workers.
    let (codes, workers): (Vec<String>, Vec<String>) = {
        let raw = raw_open(&demo, &demo_key);
        let codes = raw
            .prepare("SELECT code FROM clients WHERE deleted = 0 ORDER BY code")
            .expect("sql")
            .query_map([], |r| r.get(0))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("codes");
        let workers = raw
            .prepare("SELECT username FROM users WHERE role = 'outreach' AND deleted = 0")
            .expect("sql")
            .query_map([], |r| r.get(0))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("workers");
        (codes, workers)
    };
    let csv_path = dir.path().join("contacts.csv");
    {
        use std::fmt::Write as _;
        let mut out = String::from(
            "client_code,date,kind,worker,needles_syringes,condoms,naloxone,hiv_test,hiv_result,referrals,notes\n",
        );
        let kinds = ["street", "drop_in", "home", "phone", "clinic"];
        for i in 0..100_000usize {
            let (test, result) = match i % 4 {
                0 => ("done", "negative"),
                1 => ("offered", ""),
                _ => ("none", ""),
            };
            let _ = writeln!(
                out,
                "{},2026-{:02}-{:02},{},{},{},{},{},{test},{result},{},{}",
                codes[(i * 7919) % codes.len()],
                1 + i % 10,
                1 + i % 28,
                kinds[i % kinds.len()],
                workers[i % workers.len()],
                i % 40,
                i % 20,
                i % 3,
                if i % 5 == 0 { "methadone;art" } else { "" },
                if i % 9 == 0 { "met at the market" } else { "" },
            );
        }
        std::fs::write(&csv_path, out).expect("write csv");
    }
    let (s, r) = heavy_medians(
        || {
            copy_db(&demo, &run);
            Store::open(&run, "admin", PASSWORD).expect("open")
        },
        |mut store| {
            use tether::import::{Control, ImportKind, ImportOptions, Mapping, Outcome, read_file};
            let t = read_file(&csv_path).expect("read");
            let mapping = Mapping::auto(ImportKind::Contacts, t.headers());
            let options = ImportOptions {
                file_name: "contacts.csv".into(),
                dry_run: false,
            };
            let report = store
                .import(&t, &mapping, &options, &Control::none())
                .expect("import");
            assert_eq!(
                report.outcome,
                Outcome::Imported,
                "{:?}",
                report.problems.first()
            );
            black_box(report);
            drop(store);
        },
        || {
            copy_db(&demo, &run);
            raw_open(&run, &demo_key)
        },
        |raw| {
            // Parse, look up each code and worker, insert each row with one
            // prepared statement, one audit row, one transaction.
            let tx = raw.unchecked_transaction().expect("tx");
            let ids = |sql: &str| -> std::collections::HashMap<String, uuid::Uuid> {
                tx.prepare(sql)
                    .expect("sql")
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .expect("q")
                    .collect::<Result<_, _>>()
                    .expect("ids")
            };
            let clients = ids("SELECT code, id FROM clients WHERE deleted = 0");
            let users = ids("SELECT username, id FROM users WHERE deleted = 0");
            let admin = users["admin"];
            let now = chrono::Utc::now().timestamp_millis();
            let device: String = tx
                .query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
                    r.get(0)
                })
                .expect("device");
            let mut insert = tx
                .prepare(
                    "INSERT INTO contacts(id, created_at, updated_at, updated_by, device_id, client_id, date, worker_id, kind, needles_syringes, condoms, naloxone, hiv_test, hiv_result, referrals, notes)
                     VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .expect("sql");
            let mut reader = csv::Reader::from_path(&csv_path).expect("csv");
            for rec in reader.records() {
                let rec = rec.expect("record");
                let opt = |i: usize| Some(&rec[i]).filter(|s| !s.is_empty());
                let n = |i: usize| rec[i].parse::<i64>().expect("number");
                insert
                    .execute(params![
                        uuid::Uuid::now_v7(),
                        now,
                        admin,
                        device,
                        clients[&rec[0]],
                        &rec[1],
                        users[&rec[3]],
                        &rec[2],
                        n(4),
                        n(5),
                        n(6),
                        &rec[7],
                        opt(8),
                        &rec[9],
                        opt(10),
                    ])
                    .expect("insert");
            }
            drop(insert);
            tx.execute(
                "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail) VALUES (?1, ?2, ?3, 'import', NULL, NULL, 'contacts.csv')",
                params![now, admin, device],
            )
            .expect("audit");
            tx.commit().expect("commit");
        },
    );
    table.push((
        "import 100,000 contacts from CSV (raw: parse, look up, insert each row)".into(),
        s,
        r,
    ));
}
