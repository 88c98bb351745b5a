//! Import at scale: 100,000 clients and then 1,000,000 contacts from CSV
//! into a fresh database (target: under 60 s together). The CSV files are
//! generated once into `target/bench-data/` (delete them to regenerate);
//! each run reads and imports both files into a new database, and the
//! median of three runs is printed. `TETHER_BENCH_IMPORT_CLIENTS` and
//! `TETHER_BENCH_IMPORT_CONTACTS` change the sizes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tether::domain::Role;
use tether::domain::User;
use tether::import::{Control, ImportKind, ImportOptions, Mapping, Outcome, read_file};
use tether::store::Store;

const PASSWORD: &str = "bench password 1";
const RUNS: usize = 3;
const WORKERS: usize = 12;

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bench_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A `;` list of a few of `items`, possibly none.
fn some_of(rng: &mut ChaCha8Rng, items: &[&str]) -> String {
    let chosen: Vec<&str> = items
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.25))
        .collect();
    chosen.join(";")
}

fn date(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}-{:02}-{:02}",
        rng.random_range(2023..=2025),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    )
}

fn write_clients(path: &Path, clients: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let nicknames = [
        "Sokha",
        "Dara",
        "សុខា",
        "ដារ៉ា",
        "Srey Pov",
        "ស្រីពៅ",
        "Vuthy",
        "",
    ];
    let provinces = [
        "Phnom Penh",
        "Battambang",
        "Siem Reap",
        "ភ្នំពេញ",
        "Banteay Meanchey",
    ];
    let pops = ["pwid", "pwud", "sex_worker", "msm", "transgender"];
    let mut out = String::from(
        "code,nickname,sex,birth_year,phone,province,district,key_populations,hiv_status,assigned_worker,registered_on\n",
    );
    for i in 0..clients {
        let _ = writeln!(
            out,
            "PP-{i:06},{},{},{},0{}{:07},{},District {},{},{},worker{},{}",
            pick(&mut rng, &nicknames),
            pick(&mut rng, &["male", "female", "other", "unknown"]),
            rng.random_range(1960..2006),
            rng.random_range(10..100),
            rng.random_range(0..10_000_000),
            pick(&mut rng, &provinces),
            rng.random_range(1..15),
            some_of(&mut rng, &pops),
            pick(&mut rng, &["positive", "negative", "unknown"]),
            rng.random_range(0..WORKERS),
            date(&mut rng),
        );
    }
    std::fs::write(path, out).expect("write clients");
}

fn write_contacts(path: &Path, clients: usize, contacts: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let kinds = [
        "street",
        "drop_in",
        "home",
        "phone",
        "detention_visit",
        "legal",
        "clinic",
    ];
    let referrals = ["methadone", "art", "tb", "hcv", "legal_aid", "shelter"];
    let mut out = String::from(
        "client_code,date,kind,worker,needles_syringes,condoms,naloxone,hiv_test,hiv_result,referrals,notes\n",
    );
    for _ in 0..contacts {
        let test = pick(&mut rng, &["none", "none", "offered", "done"]);
        let result = if test == "done" {
            pick(
                &mut rng,
                &["positive", "negative", "negative", "indeterminate"],
            )
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "PP-{:06},{},{},worker{},{},{},{},{test},{result},{},{}",
            rng.random_range(0..clients),
            date(&mut rng),
            pick(&mut rng, &kinds),
            rng.random_range(0..WORKERS),
            rng.random_range(0..40),
            rng.random_range(0..20),
            rng.random_range(0..3),
            some_of(&mut rng, &referrals),
            pick(&mut rng, &["", "", "", "met at the market", "ជួបនៅផ្សារ"]),
        );
    }
    std::fs::write(path, out).expect("write contacts");
}

/// A new database with the workers the files name.
fn fresh_db(dir: &Path) -> PathBuf {
    let path = dir.join("import-run.db");
    for suffix in ["", "-wal", "-shm", ".keys"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let mut store = Store::init(&path, "admin", "Admin", PASSWORD)
        .expect("init")
        .store;
    for w in 0..WORKERS {
        let name = format!("worker{w}");
        let user = User {
            username: name.clone(),
            display_name: name,
            role: Role::Outreach,
            active: true,
            language: "en".into(),
        };
        store.add_user(user, PASSWORD).expect("add worker");
    }
    store.close().expect("close");
    path
}

/// Reads and imports one file; returns the time it took.
fn import(store: &mut Store, kind: ImportKind, file: &Path, expect: usize) -> Duration {
    let started = Instant::now();
    let table = read_file(file).expect("read");
    let mapping = Mapping::auto(kind, table.headers());
    let options = ImportOptions {
        file_name: file.display().to_string(),
        dry_run: false,
    };
    let report = store
        .import(&table, &mapping, &options, &Control::none())
        .expect("import");
    assert_eq!(
        report.outcome,
        Outcome::Imported,
        "{:?}",
        report.problems.first()
    );
    assert_eq!(report.added, expect);
    started.elapsed()
}

fn main() {
    let clients = size("TETHER_BENCH_IMPORT_CLIENTS", 100_000);
    let contacts = size("TETHER_BENCH_IMPORT_CONTACTS", 1_000_000);
    let dir = bench_dir();
    let clients_csv = dir.join(format!("import-clients-{clients}.csv"));
    let contacts_csv = dir.join(format!("import-contacts-{clients}-{contacts}.csv"));
    if !clients_csv.exists() || !contacts_csv.exists() {
        eprintln!(
            "generating {clients} clients and {contacts} contacts into {} ...",
            dir.display()
        );
        write_clients(&clients_csv, clients);
        write_contacts(&contacts_csv, clients, contacts);
    }
    let mut totals = Vec::new();
    for run in 1..=RUNS {
        let path = fresh_db(&dir);
        let mut store = Store::open(&path, "admin", PASSWORD).expect("open");
        let a = import(&mut store, ImportKind::Clients, &clients_csv, clients);
        let b = import(&mut store, ImportKind::Contacts, &contacts_csv, contacts);
        store.close().expect("close");
        let total = a + b;
        println!(
            "run {run}: clients {:.1} s, contacts {:.1} s, total {:.1} s",
            a.as_secs_f64(),
            b.as_secs_f64(),
            total.as_secs_f64()
        );
        totals.push(total);
    }
    totals.sort();
    println!(
        "import {clients} clients + {contacts} contacts from CSV: median {:.1} s of {RUNS} runs",
        totals[RUNS / 2].as_secs_f64()
    );
}
