//! Need-to-know sync at the office's scale: the 100,000-client demo is the
//! office laptop; twenty outreach workers each get 100 of its clients
//! (with all their records) and a field laptop whose scope is that worker.
//!
//! - `field_first_sync_100_of_100000`: the office writes a new field
//!   laptop's first bundle (its 100 clients, whole, out of 100,000) and the
//!   field laptop merges it. Target: under 2 s.
//! - `office_merges_10_field_laptops_1000_each`: the office merges ten
//!   field laptops' bundles of 1,000 new records each. Target: under 10 s.
//! - `hub_cycle_20_field_laptops`: one unattended `sync folder` run of the
//!   office over a folder holding twenty field laptops' bundles (ten of
//!   1,000 new contacts, ten of 100): merges them all, then writes its own
//!   bundle and one sealed bundle per field laptop.
//!
//! Set-up (not measured): a copy of the demo database, the workers, the
//! reassignments, the field laptops (enrolled both ways) and their first
//! syncs. Each measured merge runs on a fresh copy of the office database.

mod common;

use common::{PASSWORD, bench_db};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tether::domain::{Client, Contact, ContactKind, Role, User};
use tether::store::{Scope, Store, Trust};
use tether::sync::bundle::SyncKey;
use uuid::Uuid;

const FIELDS: usize = 20;
const SCOPE: usize = 100;

fn copy_db(from: &Path, to: &Path) {
    for end in ["", "-wal", "-shm"] {
        let mut p = to.as_os_str().to_owned();
        p.push(end);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::copy(from, to).expect("copy db");
    std::fs::copy(
        tether::store::key_file_path(from),
        tether::store::key_file_path(to),
    )
    .expect("copy keys");
}

/// A new field laptop for `worker`, enrolled both ways with its scope.
fn field_laptop(office: &mut Store, path: &Path, worker: Uuid) -> Store {
    let mut field = Store::init(path, "admin", "Admin", PASSWORD)
        .expect("init field")
        .store;
    let office_key = office.device_key().expect("key").public_hex();
    field
        .enroll_device(office.device_id(), Some(&office_key), Trust::Office)
        .expect("enroll office");
    let field_key = field.device_key().expect("key").public_hex();
    office
        .enroll_device(field.device_id(), Some(&field_key), Trust::Member)
        .expect("enroll field");
    office
        .set_device_scope(field.device_id(), &Scope::Workers(vec![worker]))
        .expect("scope");
    field
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = SyncKey::new("mekong river outreach 2026").expect("key");
    let office_path = dir.path().join("office.db");
    copy_db(&bench_db(), &office_path);
    let mut office = Store::open(&office_path, "admin", PASSWORD).expect("open office");
    // Twenty workers, 100 of the demo's clients each (with their records).
    let clients: Vec<_> = office.list_all::<Client>().expect("clients");
    let stride = clients.len() / FIELDS;
    let mut workers = Vec::new();
    for i in 0..FIELDS {
        let worker = office
            .add_user(
                User {
                    username: format!("field.{i:02}"),
                    display_name: format!("Field worker {i:02}"),
                    role: Role::Outreach,
                    active: true,
                    language: "en".into(),
                },
                PASSWORD,
            )
            .expect("worker");
        for saved in clients.iter().skip(i * stride).take(SCOPE) {
            let mut moved = saved.data.clone();
            moved.assigned_worker = Some(worker.id());
            office.update(saved.id(), moved).expect("reassign");
        }
        workers.push(worker);
    }
    // The field laptops, first synced, each with new contacts by its worker.
    let mut bundles_1000 = Vec::new();
    let mut bundles_100 = Vec::new();
    for (i, worker) in workers.iter().enumerate() {
        let path = dir.path().join(format!("field-{i:02}.db"));
        let mut field = field_laptop(&mut office, &path, worker.id());
        let first = office
            .sync_export_for(&key, field.device_id())
            .expect("first bundle");
        field
            .sync_import(&key, &first.bytes, &mut |_, _, _| {})
            .expect("first sync");
        field.set_password(worker.id(), PASSWORD).expect("password");
        field.close().expect("close");
        let mut field = Store::open(&path, &worker.data.username, PASSWORD).expect("worker");
        let held: Vec<Uuid> = field
            .list_all::<Client>()
            .expect("held")
            .iter()
            .map(|c| c.id())
            .collect();
        assert_eq!(held.len(), SCOPE);
        let new = if i < 10 { 1_000 } else { 100 };
        // Logged one by one, as the worker does (an outreach worker does
        // not import).
        for n in 0..new {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 1 + (n % 30) as u32).expect("day");
            let mut contact = Contact::new(held[n % held.len()], day, ContactKind::Street);
            contact.needles_syringes = 20;
            field.create(contact).expect("contact");
        }
        let bundle = field.sync_export(&key, 0).expect("field bundle");
        if i < 10 {
            bundles_1000.push(bundle.bytes.clone());
        }
        // A field laptop's bundle holds its own changes only.
        assert_eq!(bundle.records, new);
        bundles_100.push((field.device_id().to_owned(), bundle.bytes));
        field.close().expect("close field");
    }
    // The first-sync bench gives worker 0's clients to a new laptop each run.
    let spare = workers[0].id();
    office.close().expect("close office");

    let mut group = c.benchmark_group("scoped_sync");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    let run = dir.path().join("run.db");
    let mut n = 0;
    {
        // On a copy: the laptops it enrolls must not weigh on the others.
        let first_path = dir.path().join("office-first.db");
        copy_db(&office_path, &first_path);
        let office = std::cell::RefCell::new(
            Store::open(&first_path, "admin", PASSWORD).expect("open office"),
        );
        group.bench_function("field_first_sync_100_of_100000", |bench| {
            bench.iter_batched(
                || {
                    n += 1;
                    let path = dir.path().join(format!("new-{n}.db"));
                    field_laptop(&mut office.borrow_mut(), &path, spare)
                },
                |mut field| {
                    let bundle = office
                        .borrow()
                        .sync_export_for(&key, field.device_id())
                        .expect("export");
                    let merged = field
                        .sync_import(&key, &bundle.bytes, &mut |_, _, _| {})
                        .expect("merge");
                    assert!(merged.added > SCOPE);
                    black_box(field)
                },
                BatchSize::PerIteration,
            )
        });
        let office = office.into_inner();
        office.close().expect("close office");
    }
    group.bench_function("office_merges_10_field_laptops_1000_each", |bench| {
        bench.iter_batched(
            || {
                copy_db(&office_path, &run);
                Store::open(&run, "admin", PASSWORD).expect("open copy")
            },
            |mut office| {
                for bytes in &bundles_1000 {
                    let merged = office
                        .sync_import(&key, bytes, &mut |_, _, _| {})
                        .expect("merge");
                    assert!(merged.added >= 1_000);
                }
                black_box(office)
            },
            BatchSize::PerIteration,
        )
    });
    let folder = dir.path().join("folder");
    group.bench_function("hub_cycle_20_field_laptops", |bench| {
        bench.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&folder);
                std::fs::create_dir(&folder).expect("folder");
                for (device, bytes) in &bundles_100 {
                    std::fs::write(folder.join(format!("{device}.tether-sync")), bytes)
                        .expect("bundle");
                }
                copy_db(&office_path, &run);
                Store::open(&run, "admin", PASSWORD).expect("open copy")
            },
            |mut office| {
                let done = office
                    .sync_with_folder(&key, &folder, &mut |_, _, _| {})
                    .expect("hub cycle");
                assert_eq!(done.merged.len(), FIELDS);
                black_box(office)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(scoped, benches);
criterion_main!(scoped);
