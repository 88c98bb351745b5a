//! What each fuzz target runs on one input. `tests/it/fuzz_regressions.rs` in
//! the main crate includes this file by path, so the saved inputs are
//! replayed through exactly the code the fuzzer ran.
//!
//! Every function takes untrusted bytes and must return whatever they hold
//! (an `Err` is fine); a panic or an abort is a bug.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use tether::demo::{self, DemoConfig};
use tether::import::{self, Control, ImportKind, ImportOptions, ImportReport, Mapping, ReadError};
use tether::store::{ClientFilter, KeyFile, Merged, Store, StoreError, key_file_path, schema};
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

/// A directory for this process's files (databases, `.xlsx` inputs): in
/// the regression test, under cargo's `target/tmp`; when fuzzing, under
/// `TMPDIR`, which the fuzz script points at a folder it clears afterwards.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base =
            option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        tempfile::Builder::new()
            .prefix("tether-fuzz-")
            .tempdir_in(base)
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
    /// Its device id and key (every copy's): bundles are sealed for it.
    device: String,
    key: bundle::DeviceKey,
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
        let device = store.device_id().to_owned();
        let key = store.device_key().expect("device key");
        store.close().expect("close template");
        Template {
            path,
            recovery_key,
            device,
            key,
        }
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
    // The recovery slot is in the key file (no Argon2id per input).
    std::fs::copy(key_file_path(&t.path), key_file_path(&path)).expect("copy key file");
    Store::open_with_recovery_key(&path, &t.recovery_key, USER).expect("open scratch copy")
}

/// `bundle_open`: the header alone, then the whole bundle with the key.
pub fn bundle_open(data: &[u8]) {
    let _ = bundle::peek(data);
    let t = template();
    let reader = bundle::Reader {
        device: &t.device,
        key: &t.key,
    };
    let _ = bundle::open(sync_key(), &reader, schema::MIGRATIONS_COUNT, data);
}

/// `bundle_merge`: the bytes as a payload's JSON, sealed as a bundle from
/// [`PEER_DEVICE`] and merged into a copy of the demo database.
pub fn bundle_merge(data: &[u8]) {
    let _ = merge_payload_json(data);
}

/// What [`bundle_merge`] gets: nothing when the bytes are no payload.
pub fn merge_payload_json(data: &[u8]) -> Option<Result<Merged, StoreError>> {
    let payload = serde_json::from_slice::<Payload>(data).ok()?;
    let t = template();
    let recipients = [(t.device.clone(), t.key.public_hex())];
    let bytes = bundle::seal(
        &bundle::Sealing {
            key: sync_key(),
            signer: peer_key(),
            schema: schema::MIGRATIONS_COUNT,
            device: PEER_DEVICE,
            since: 0,
            top: i64::from(u32::MAX),
            created_at: 1_774_915_200_000,
            recipients: &recipients,
            sealers: &[],
        },
        &payload,
    )
    .ok()?;
    let mut store = scratch_store();
    let merged = store.sync_import(sync_key(), &bytes, &mut |_, _, _| {});
    if merged.is_ok() {
        read_back(&store);
    }
    Some(merged)
}

/// Reads what a merge let in the way the screens and reports do: each may
/// refuse a value it cannot read, none may panic.
fn read_back(store: &Store) {
    let day = demo_day();
    let _ = store.users();
    if let Ok(ids) = store.client_ids(&ClientFilter::default(), day)
        && let Ok(rows) = store.client_rows(&ids)
    {
        for row in rows {
            let _ = store.timeline(row.id);
        }
    }
    let _ = store.search_clients("PP", 20);
    let _ = store.worklist(day, None);
    if let Ok(reader) = store.reader() {
        let _ = reader.dashboard(day);
    }
    let _ = store.conflicts(true);
    let _ = store.probable_duplicates();
    let _ = store.canonical_dump();
    let _ = store.check();
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
    // One file per call: the regression tests run side by side.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = work_dir().join(format!("input-{n}.xlsx"));
    std::fs::write(&path, data).expect("write input");
    let _ = import::read_spreadsheet(&path);
    let _ = std::fs::remove_file(&path);
}

/// `xlsx_sheet`: the bytes as the first worksheet's XML inside an
/// otherwise valid workbook (with shared strings and a date style), read as
/// a table. In `xlsx_parse` most changes stop at the archive's checksums;
/// here they reach the worksheet reader.
pub fn xlsx_sheet(data: &[u8]) {
    xlsx_parse(&workbook_with_sheet(data));
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="46" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#;
const SHARED_STRINGS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="11" uniqueCount="11"><si><t>code</t></si><si><t>sex</t></si><si><t>birth_year</t></si><si><t>registered_on</t></si><si><t>active</t></si><si><t>note</t></si><si><t>XL-0001</t></si><si><t>female</t></si><si><t>XL-0002</t></si><si><t>XL-0003</t></si><si><t>ភ្នំពេញ</t></si></sst>"#;

/// A workbook (zip archive, members stored) whose first worksheet is `sheet`.
pub fn workbook_with_sheet(sheet: &[u8]) -> Vec<u8> {
    let members: [(&str, &[u8]); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/styles.xml", STYLES.as_bytes()),
        ("xl/sharedStrings.xml", SHARED_STRINGS.as_bytes()),
    ];
    let mut out = Vec::new();
    let mut directory = Vec::new();
    let mut count = 0u16;
    let mut add = |name: &str, data: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let (crc, size) = (crc.sum(), u32::try_from(data.len()).unwrap_or(u32::MAX));
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Version 2.0, no flags, stored, 1980-01-01 00:00.
        let common = |v: &mut Vec<u8>| {
            for half in [20u16, 0, 0, 0, 0x21] {
                v.extend_from_slice(&half.to_le_bytes());
            }
            for word in [crc, size, size] {
                v.extend_from_slice(&word.to_le_bytes());
            }
            v.extend_from_slice(&name_len.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        directory.extend_from_slice(&20u16.to_le_bytes());
        common(&mut directory);
        // Comment length, disk, internal and external attributes.
        directory.extend_from_slice(&[0u8; 10]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
        count += 1;
    };
    for (name, data) in members {
        add(name, data);
    }
    add("xl/worksheets/sheet1.xml", sheet);
    let directory_at = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let directory_len = u32::try_from(directory.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&directory_len.to_le_bytes());
    out.extend_from_slice(&directory_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// `keyfile_parse`: the bytes as a key file, then unlocking it as [`USER`].
pub fn keyfile_parse(data: &[u8]) {
    if let Ok(file) = KeyFile::parse(data) {
        let _ = file.unlock(USER, PASSWORD);
    }
}
