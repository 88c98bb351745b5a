//! Store benchmarks on the 100,000-client demo database (about a million
//! contacts): open+unlock, client search, one client's timeline, inserting
//! a contact. The database is generated once into `target/bench-data/` and
//! reused; delete it to regenerate. `TETHER_BENCH_CLIENTS` changes the size.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tether::domain::*;
use tether::store::Store;

#[path = "common/mod.rs"]
mod common;
use common::{PASSWORD, bench_db};

fn benches(c: &mut Criterion) {
    let path = bench_db();

    let mut group = c.benchmark_group("open");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("open_unlock", |b| {
        b.iter(|| {
            let store = Store::open(&path, "admin", PASSWORD).expect("open");
            black_box(store.user().id);
            store.close().expect("close");
        })
    });
    group.finish();

    let mut store = Store::open(&path, "admin", PASSWORD).expect("open");
    let codes: Vec<(String, uuid::Uuid)> = store
        .search_clients("PP-00", 200)
        .expect("search")
        .rows
        .into_iter()
        .map(|r| (r.code, r.id))
        .collect();
    assert!(!codes.is_empty(), "bench database has clients");

    let mut i = 0usize;
    c.bench_function("search_code_prefix", |b| {
        b.iter(|| {
            i = (i + 1) % codes.len();
            let prefix = &codes[i].0[..codes[i].0.len() - 1];
            black_box(store.search_clients(prefix, 50).expect("search"))
        })
    });
    let words = ["ophe", "Dara", "សុខា", "anth", "012 3", "Srey"];
    let mut w = 0usize;
    c.bench_function("search_nickname_substring", |b| {
        b.iter(|| {
            w = (w + 1) % words.len();
            black_box(store.search_clients(words[w], 50).expect("search"))
        })
    });
    let mut t = 0usize;
    c.bench_function("client_timeline", |b| {
        b.iter(|| {
            t = (t + 1) % codes.len();
            black_box(store.timeline(codes[t].1).expect("timeline"))
        })
    });
    let today = tether::store::today();
    let mut k = 0usize;
    c.bench_function("insert_contact", |b| {
        b.iter(|| {
            k = (k + 1) % codes.len();
            let mut contact = Contact::new(codes[k].1, today, ContactKind::Street);
            contact.needles_syringes = 20;
            contact.condoms = 5;
            black_box(store.create(contact).expect("insert"))
        })
    });
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let mut group = c.benchmark_group("continuity");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("worklist_all_clients_one_day", |b| {
        b.iter(|| black_box(store.worklist(day, None).expect("worklist").len()))
    });
    let worker = store
        .user_by_name("sokha.ou")
        .expect("user")
        .map(|u| u.id());
    group.bench_function("worklist_one_worker_one_day", |b| {
        b.iter(|| black_box(store.worklist(day, worker).expect("worklist").len()))
    });
    group.finish();
    eprintln!(
        "worklist entries on {day}: {}",
        store.worklist(day, None).expect("worklist").len()
    );
    store.close().expect("close");
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
