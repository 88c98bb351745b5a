//! Sync benchmark: laptop A sends laptop B a bundle of 10,000 changed
//! records (5,000 edited clients and 5,000 new contacts) on top of a
//! 10,000-client demo database both already share; B merges it. Target:
//! export plus import under 2 s.
//!
//! Set-up (not measured): A gets the demo data, B is a new database that
//! merges A's full bundle, then A makes its changes. Each measured run
//! exports A's changes since B's copy and merges them into a fresh copy of
//! B.
//!
//! Also measured: the first full sync (A's whole database, about 139,000
//! records, exported and merged into a new laptop). Target: under 3 s.

use chrono::NaiveDate;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use tether::demo::{self, DemoConfig};
use tether::domain::{Client, Contact, ContactKind, Saved};
use tether::store::{Batch, Store};
use tether::sync::bundle::SyncKey;
use uuid::Uuid;

const PASSWORD: &str = "bench password 1";
const CHANGED: usize = 10_000;

fn copy_db(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy db");
    let mut keys = from.as_os_str().to_owned();
    keys.push(".keys");
    let mut to_keys = to.as_os_str().to_owned();
    to_keys.push(".keys");
    std::fs::copy(&keys, &to_keys).expect("copy keys");
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = SyncKey::new("mekong river outreach 2026").expect("key");
    let day = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");

    let a_path = dir.path().join("a.db");
    let mut a = Store::init(&a_path, "admin", "Admin", PASSWORD)
        .expect("init a")
        .store;
    let config = DemoConfig {
        clients: 10_000,
        seed: 7,
        today: day,
    };
    demo::run(&mut a, &config, |_, _| {}).expect("demo");

    let b_path = dir.path().join("b.db");
    let mut b = Store::init(&b_path, "admin", "Admin", PASSWORD)
        .expect("init b")
        .store;
    // b's admin enrolls a, once, as an office laptop, and a's enrolls b
    // (a bundle is sealed for the laptops its writer has enrolled).
    let a_key = a.device_key().expect("a's key").public_hex();
    b.enroll_device(a.device_id(), Some(&a_key), tether::store::Trust::Office)
        .expect("enroll a");
    let b_key = b.device_key().expect("b's key").public_hex();
    a.enroll_device(b.device_id(), Some(&b_key), tether::store::Trust::Office)
        .expect("enroll b");
    let started = Instant::now();
    let base = a.sync_export(&key, 0).expect("full export");
    let merged = b
        .sync_import(&key, &base.bytes, &mut |_, _, _| {})
        .expect("full import");
    eprintln!(
        "first sync of the whole demo database: {} records ({:.1} MB bundle) in {:.2} s",
        merged.records,
        base.bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    b.close().expect("close b");

    // A's changes after that sync: 5,000 clients edited, 5,000 contacts added.
    let clients: Vec<Saved<Client>> = a.list_all::<Client>().expect("clients");
    for saved in clients.iter().take(CHANGED / 2) {
        let mut edited = saved.data.clone();
        edited.notes = Some("seen at the drop-in centre".into());
        a.update(saved.id(), edited).expect("edit");
    }
    let mut batch = Batch::default();
    for saved in clients.iter().cycle().take(CHANGED / 2) {
        let mut contact = Contact::new(saved.id(), day, ContactKind::DropIn);
        contact.needles_syringes = 10;
        batch.contacts.push((Uuid::now_v7(), contact));
    }
    a.write_batch(&batch, "bench").expect("contacts");

    // Borrowed by the set-up (enrolling each new laptop) and the measured part.
    let a = std::cell::RefCell::new(a);
    let mut group = c.benchmark_group("sync");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let mut n = 0;
    // The first full sync of the whole demo into a new, enrolled laptop.
    let mut fresh = 0;
    group.bench_function("first_full_sync_10000_clients", |bench| {
        bench.iter_batched(
            || {
                fresh += 1;
                let path = dir.path().join(format!("new-{fresh}.db"));
                let mut new = Store::init(&path, "admin", "Admin", PASSWORD)
                    .expect("init new")
                    .store;
                let a_id = a.borrow().device_id().to_owned();
                new.enroll_device(&a_id, Some(&a_key), tether::store::Trust::Office)
                    .expect("enroll a");
                let new_key = new.device_key().expect("key").public_hex();
                a.borrow_mut()
                    .enroll_device(
                        new.device_id(),
                        Some(&new_key),
                        tether::store::Trust::Office,
                    )
                    .expect("enroll the new laptop");
                new
            },
            |mut new| {
                let bundle = a.borrow().sync_export(&key, 0).expect("export");
                let merged = new
                    .sync_import(&key, &bundle.bytes, &mut |_, _, _| {})
                    .expect("import");
                assert_eq!(merged.added, merged.records);
                black_box(new)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("export_and_import_10000_changed", |bench| {
        bench.iter_batched(
            || {
                for end in [".db", ".db.keys", ".db-wal", ".db-shm"] {
                    let _ = std::fs::remove_file(dir.path().join(format!("b-{n}{end}")));
                }
                n += 1;
                let copy = dir.path().join(format!("b-{n}.db"));
                copy_db(&b_path, &copy);
                Store::open(&copy, "admin", PASSWORD).expect("open b copy")
            },
            |mut b| {
                let bundle = a.borrow().sync_export(&key, base.top).expect("export");
                let merged = b
                    .sync_import(&key, &bundle.bytes, &mut |_, _, _| {})
                    .expect("import");
                assert!(merged.records >= CHANGED);
                assert_eq!(merged.changed(), merged.records);
                black_box(b)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(sync, benches);
criterion_main!(sync);
