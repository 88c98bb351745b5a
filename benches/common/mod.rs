//! The benchmark database: the 100,000-client demo, generated once into
//! `target/bench-data/` and reused (delete it to regenerate).
#![allow(dead_code)]

use chrono::NaiveDate;
use std::path::PathBuf;
use tether::demo::{self, DemoConfig};
use tether::store::Store;

pub const PASSWORD: &str = "bench password 1";

pub fn bench_db() -> PathBuf {
    let clients: usize = std::env::var("TETHER_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    demo_db(clients)
}

/// A demo database of `clients` clients (seed 1), generated once.
pub fn demo_db(clients: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("demo-{clients}.db"));
    if !path.exists() {
        eprintln!(
            "generating {clients} demo clients into {} ...",
            path.display()
        );
        let started = std::time::Instant::now();
        let mut store = Store::init(&path, "admin", "Admin", PASSWORD)
            .expect("init")
            .store;
        let config = DemoConfig {
            clients,
            seed: 1,
            today: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        };
        let summary = demo::run(&mut store, &config, |_, _| {}).expect("demo");
        store.close().expect("close");
        eprintln!(
            "generated {summary:?} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    path
}
