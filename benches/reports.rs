//! Report benchmarks on the 100,000-client demo database (about a million
//! contacts): the period report for a full year (target under 1 s) and the
//! line-list XLSX export of every client (target under 5 s). The database
//! is generated once into `target/bench-data/` and reused.

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tether::store::Store;

#[path = "common/mod.rs"]
mod common;
use common::{PASSWORD, bench_db};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn benches(c: &mut Criterion) {
    let path = bench_db();
    let mut store = Store::open(&path, "admin", PASSWORD).expect("open");
    let (from, to) = (date(2025, 11, 1), date(2026, 10, 31));
    let never = AtomicBool::new(false);

    let mut group = c.benchmark_group("reports");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    // As the window does it: a new job (new connections, cold page caches)
    // for each report.
    group.bench_function("period_report_full_year", |b| {
        b.iter(|| {
            let job = store.report_job(from, to).expect("report job");
            black_box(job.run(&|_, _| {}, &never).expect("report"))
        })
    });
    // The same job run again: its connections' caches are warm.
    let job = store.report_job(from, to).expect("report job");
    group.bench_function("period_report_full_year_warm", |b| {
        b.iter(|| black_box(job.run(&|_, _| {}, &never).expect("report")))
    });
    drop(job);

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("clients.xlsx");
    let day = date(2026, 11, 1);
    group.bench_function("line_list_xlsx_100000", |b| {
        b.iter(|| {
            let job = store.export_job(false, day).expect("export job");
            black_box(job.run(&out, &|_, _| {}, &never).expect("export"))
        })
    });
    group.finish();
    store.close().expect("close");
}

criterion_group!(reports, benches);
criterion_main!(reports);
