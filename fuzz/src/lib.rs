//! What each fuzz target runs on one input. `tests/fuzz_regressions.rs` in
//! the main crate includes this file by path, so the saved inputs are
//! replayed through exactly the code the fuzzer ran.
//!
//! Every function takes untrusted bytes and must return whatever they hold
//! (an `Err` is fine); a panic or an abort is a bug.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tether::demo::{self, DemoConfig};
use tether::import::{self, Control, ImportKind, ImportOptions, ImportReport, Mapping, ReadError};
use tether::store::{KeyFile, Merged, Store, StoreError, schema};
use tether::sync::bundle::{self, DeviceKey, Payload, SyncKey};

/// The organisation's sync passphrase every target uses.
pub const SYNC_PASSPHRASE: &str = "fuzzing the mekong outreach bundles";
/// The admin of the databases the targets create, and the user
/// `keyfile_parse` unlocks as.
pub const USER: &str = "admin";
pub const PASSWORD: &str = "a long enough password";
/// The device the fuzzed bundles claim to come from.
pub const PEER_DEVICE: &str = "0195f000-0000-7000-8000-00000000f022";
/// Clients of demo data in the database bundles and imports meet.
pub const DEMO_CLIENTS: usize = 3;
pub const DEMO_SEED: u64 = 7;

/// The signing key of [`PEER_DEVICE`] (fixed, so seeds stay valid), which
/// the databases the merges go into have enrolled as an office laptop: the
/// fuzzer reaches the merge itself, not only the enrolment check.
pub fn peer_key() -> &'static DeviceKey {
    static KEY: OnceLock<DeviceKey> = OnceLock::new();
    KEY.get_or_init(|| DeviceKey::from_secret_hex(&"7e".repeat(32)).expect("a 32-byte key"))
}

/// The last day of the demo history (fixed, so seeds stay valid).
pub fn demo_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 31).expect("a real day")
}

/// The sync key, made once per process so derived keys are remembered.
pub fn sync_key() -> &'static SyncKey {
    static KEY: OnceLock<SyncKey> = OnceLock::new();
    KEY.get_or_init(|| SyncKey::new(SYNC_PASSPHRASE).expect("passphrase long enough"))
}

/// A directory for this process's files (databases, the `.xlsx` input).
/// The fuzz script points `TMPDIR` at a folder it clears afterwards; the
/// regression test removes it when done.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("tether-fuzz-")
            .tempdir()
            .expect("temp dir")
            .keep()
    })
}

/// Creates an encrypted database at `path` with admin [`USER`], the sync
/// passphrase set and `clients` demo clients from `seed`; returns it open
/// and its recovery key.
pub fn demo_database(path: &Path, clients: usize, seed: u64) -> (Store, String) {
    let init = Store::init(path, USER, "Admin", PASSWORD).expect("init");
    let mut store = init.store;
    store
        .set_sync_passphrase(SYNC_PASSPHRASE)
        .expect("sync passphrase");
    let config = DemoConfig {
        clients,
        seed,
        today: demo_day(),
    };
    demo::run(&mut store, &config, |_, _| {}).expect("demo data");
    (store, init.recovery_key)
}

/// The database every merge starts from: made once per process, closed,
/// then copied before each merge.
struct Template {
    path: PathBuf,
    recovery_key: String,
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let path = work_dir().join("template.db");
        let (mut store, recovery_key) = demo_database(&path, DEMO_CLIENTS, DEMO_SEED);
        store
            .enroll_device(
                PEER_DEVICE,
                Some(&peer_key().public_hex()),
                tether::store::Trust::Office,
            )
            .expect("enroll the peer");
        store.close().expect("close template");
        Template { path, recovery_key }
    })
}

/// A fresh copy of the template, open: every merge sees the same database,
/// so a crash does not depend on the inputs before it.
fn scratch_store() -> Store {
    let t = template();
    let path = work_dir().join("scratch.db");
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::copy(&t.path, &path).expect("copy template");
    Store::open_with_recovery_key(&path, &t.recovery_key, USER).expect("open scratch copy")
}

/// `bundle_open`: the header alone, then the whole bundle with the key.
pub fn bundle_open(data: &[u8]) {
    let _ = bundle::peek(data);
    let _ = bundle::open(sync_key(), schema::MIGRATIONS_COUNT, data);
}

/// `bundle_merge`: the bytes as a payload's JSON, sealed as a bundle from
/// [`PEER_DEVICE`] and merged into a copy of the demo database.
pub fn bundle_merge(data: &[u8]) {
    let _ = merge_payload_json(data);
}

/// What [`bundle_merge`] gets: nothing when the bytes are no payload.
pub fn merge_payload_json(data: &[u8]) -> Option<Result<Merged, StoreError>> {
    let payload = serde_json::from_slice::<Payload>(data).ok()?;
    let bytes = bundle::seal(
        sync_key(),
        peer_key(),
        schema::MIGRATIONS_COUNT,
        PEER_DEVICE,
        0,
        i64::from(u32::MAX),
        1_774_915_200_000,
        &payload,
    )
    .ok()?;
    let mut store = scratch_store();
    Some(store.sync_import(sync_key(), &bytes, &mut |_, _, _| {}))
}

/// The demo database imports are checked against (dry runs write nothing,
/// so one per process is enough).
fn import_store() -> &'static Mutex<Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(|| {
        let (store, _) = demo_database(&work_dir().join("import.db"), DEMO_CLIENTS, DEMO_SEED);
        Mutex::new(store)
    })
}

/// `csv_parse`: the bytes as a CSV file, then a dry-run import of it as
/// every kind (headers mapped by name).
pub fn csv_parse(data: &[u8]) {
    let _ = check_csv(data);
}

/// What [`csv_parse`] gets: the reading error, or each kind's dry run.
pub fn check_csv(data: &[u8]) -> Result<Vec<Result<ImportReport, StoreError>>, ReadError> {
    let table = import::read_csv(data)?;
    let mut store = import_store()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let options = ImportOptions {
        file_name: "fuzz.csv".into(),
        dry_run: true,
    };
    Ok(ImportKind::ALL
        .iter()
        .map(|&kind| {
            let mapping = Mapping::auto(kind, table.headers());
            store.import(&table, &mapping, &options, &Control::none())
        })
        .collect())
}

/// `xlsx_parse`: the bytes as an `.xlsx` file, read as a table.
pub fn xlsx_parse(data: &[u8]) {
    let path = work_dir().join("input.xlsx");
    std::fs::write(&path, data).expect("write input");
    let _ = import::read_spreadsheet(&path);
}

/// `keyfile_parse`: the bytes as a key file, then unlocking it as [`USER`].
pub fn keyfile_parse(data: &[u8]) {
    if let Ok(file) = KeyFile::parse(data) {
        let _ = file.unlock(USER, PASSWORD);
    }
}
