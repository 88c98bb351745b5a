//! Writes the seed corpus under `fuzz/seeds/<target>/`. Not a test: run it
//! by hand after a format change, from `fuzz/`:
//!
//! ```text
//! cargo test --test seeds -- --ignored --nocapture
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tether::store::{Store, schema};
use tether::sync::bundle::{self, Payload, SyncKey, TableRows, Value};
use tether_fuzz::*;

fn seeds(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("seed dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
    println!("{:>8} {}", bytes.len(), dir.join(name).display());
}

/// Everything a demo database holds, as a bundle's payload.
fn payload_of(store: &Store) -> Payload {
    let key = sync_key();
    let exported = store.sync_export(key, 0).expect("export");
    bundle::open(key, schema::MIGRATIONS_COUNT, &exported.bytes)
        .expect("open own bundle")
        .payload
}

fn table<'a>(payload: &'a Payload, name: &str) -> &'a TableRows {
    payload
        .tables
        .iter()
        .find(|t| t.table == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn text(rows: &TableRows, row: usize, column: &str) -> String {
    let i = rows
        .columns
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    match &rows.rows[row][i] {
        Value::Text(t) => t.clone(),
        other => panic!("{column} is {other:?}"),
    }
}

fn seal(key: &SyncKey, payload: &Payload) -> Vec<u8> {
    bundle::seal(
        key,
        tether_fuzz::peer_key(),
        schema::MIGRATIONS_COUNT,
        PEER_DEVICE,
        0,
        1_774_915_200_000,
        1_774_915_200_000,
        payload,
    )
    .expect("seal")
}

/// The same zip archive with every member stored uncompressed, so the
/// fuzzer can change the XML itself.
fn stored(xlsx: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).expect("member");
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).expect("read member");
        let name = member.name().expect("member name").into_owned();
        out.start_file(name, options).expect("start member");
        out.write_all(&bytes).expect("write member");
    }
    out.finish().expect("finish zip").into_inner()
}

#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seeds() {
    let dir = tempfile::tempdir().expect("temp dir");

    // The same demo data as the database the targets merge into and
    // import against (same seed: same clients, same ids), and another.
    let (same, _) = demo_database(&dir.path().join("same.db"), DEMO_CLIENTS, DEMO_SEED);
    let (other, _) = demo_database(&dir.path().join("other.db"), 2, DEMO_SEED + 1);
    let same_payload = payload_of(&same);
    let other_payload = payload_of(&other);

    // bundle_merge: payloads as JSON.
    let out = seeds("bundle_merge");
    write(&out, "empty.json", br#"{"merged":[],"tables":[]}"#);
    let json = |p: &Payload| serde_json::to_vec(p).expect("json");
    write(&out, "same_demo.json", &json(&same_payload));
    write(&out, "other_demo.json", &json(&other_payload));
    // One table each: new records (their references may be missing) and
    // the template's own records seen from another device (conflicts).
    for (prefix, payload) in [("other", &other_payload), ("same", &same_payload)] {
        for t in &payload.tables {
            if t.rows.is_empty() {
                continue;
            }
            let one = Payload {
                merged: vec![(same.device_id().to_owned(), 1)],
                tables: vec![TableRows {
                    table: t.table.clone(),
                    columns: t.columns.clone(),
                    rows: t.rows.iter().take(2).cloned().collect(),
                }],
            };
            write(&out, &format!("{prefix}_{}.json", t.table), &json(&one));
        }
    }
    for name in std::fs::read_dir(&out).expect("list") {
        let path = name.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        println!(
            "  merge {}: {:?}",
            path.file_name().expect("name").display(),
            merge_payload_json(&bytes).map(|r| r.map_err(|e| e.to_string()))
        );
    }

    // bundle_open: real bundles.
    let out = seeds("bundle_open");
    let key = sync_key();
    write(&out, "empty.bundle", &seal(key, &Payload::default()));
    write(
        &out,
        "demo.bundle",
        &other.sync_export(key, 0).expect("export").bytes,
    );
    let clients = Payload {
        merged: vec![("some-device".into(), 42)],
        tables: vec![table(&other_payload, "clients").clone()],
    };
    write(&out, "clients.bundle", &seal(key, &clients));
    let stranger = SyncKey::new("another organisation's passphrase").expect("key");
    write(&out, "other_key.bundle", &seal(&stranger, &clients));
    write(
        &out,
        "header_only.bundle",
        b"TETHER-SYNC\n\x02\x00\x00\x00{}",
    );
    for name in std::fs::read_dir(&out).expect("list") {
        let path = name.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        println!(
            "  open {}: {:?}",
            path.file_name().expect("name").display(),
            bundle::open(key, schema::MIGRATIONS_COUNT, &bytes).map(|b| b.payload.records())
        );
    }

    // csv_parse: one file per kind, about the demo data the targets hold.
    let clients = table(&same_payload, "clients");
    let code = text(clients, 0, "code");
    let code2 = text(clients, 1, "code");
    let location = text(table(&same_payload, "locations"), 0, "name");
    let worker = "sokha.ou";
    let out = seeds("csv_parse");
    let files = [
        (
            "locations.csv",
            format!(
                "name,kind,province,methadone,art,ngo_access\n\
                 Fuzz Police Station,police_station,Kandal,no,unknown,restricted\n\
                 \"{location}\",prison,,yes,yes,allowed\n"
            ),
        ),
        (
            "clients.csv",
            format!(
                "\u{feff}code,nickname,sex,birth_year,phone,province,district,key_populations,hiv_status,assigned_worker,registered_on\n\
                 FZ-0001,សុខា,male,1990,012345678,Phnom Penh,Daun Penh,pwid;msm,positive,{worker},2025-01-02\n\
                 FZ-0002,,female,,,,,,unknown,,02/01/2025\n\
                 {code},\"Nick, \"\"the\"\" name\",other,2001,,,,sex_worker,negative,{worker},\n"
            ),
        ),
        (
            "contacts.csv",
            format!(
                "client_code,date,kind,worker,needles_syringes,condoms,naloxone,hiv_test,hiv_result,referrals,notes\n\
                 {code},2026-03-01,street,{worker},20,10,1,done,negative,methadone;art,met at the hotspot\n\
                 {code2},15/03/2026,detention_visit,,0,0,0,offered,,legal_aid,\n"
            ),
        ),
        (
            "arrests.csv",
            format!(
                "client_code,date,province,place,authority,reasons,abuse,outcome\n\
                 {code},2026-02-10,Phnom Penh,market,anti_drug_police,use;sweep,extortion,pre_trial\n"
            ),
        ),
        (
            "detentions.csv",
            format!(
                "client_code,location,start,end,basis,release_reason\n\
                 {code},\"{location}\",2026-02-11,2026-02-20,pre_trial,released\n\
                 {code2},\"{location}\",2026-03-01,,police_custody,\n"
            ),
        ),
        (
            "enrollments.csv",
            format!(
                "client_code,service,provider,number,start,end,status\n\
                 {code},methadone,Khmer-Soviet Hospital,MMT-0042,2025-06-01,,active\n\
                 {code2},art,NCHADS,ART-7,2024-01-01,2025-01-01,completed\n"
            ),
        ),
        (
            "service_events.csv",
            format!(
                "client_code,service,date,kind,days_supplied,dose_mg,cause\n\
                 {code},methadone,2026-03-02,dose,,60,\n\
                 {code},methadone,2026-03-05,interruption,,,detention\n\
                 {code2},art,2026-03-03,refill,30,,\n"
            ),
        ),
    ];
    for (name, text) in &files {
        write(&out, name, text.as_bytes());
        let checks = check_csv(text.as_bytes()).expect("readable");
        for (kind, check) in tether::import::ImportKind::ALL.iter().zip(checks) {
            if name.starts_with(kind.as_str()) {
                println!(
                    "  check {name} as {kind}: {:?}",
                    check.map(|r| (r.outcome, r.added, r.problems))
                );
            }
        }
    }

    // xlsx_parse: small workbooks written the way a spreadsheet program would.
    let out = seeds("xlsx_parse");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let headers = [
        "code",
        "sex",
        "birth_year",
        "registered_on",
        "active",
        "note",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("cell");
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for r in 1..4u32 {
        sheet
            .write_string(r, 0, format!("XL-{r:04}"))
            .expect("cell");
        sheet.write_string(r, 1, "female").expect("cell");
        sheet
            .write_number(r, 2, 1990.0 + f64::from(r))
            .expect("cell");
        sheet
            .write_datetime_with_format(
                r,
                3,
                rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 1, r as u8).expect("date"),
                &date,
            )
            .expect("cell");
        sheet.write_boolean(r, 4, r % 2 == 0).expect("cell");
        sheet.write_number(r, 5, 0.25 * f64::from(r)).expect("cell");
    }
    sheet
        .write_formula(4, 2, rust_xlsxwriter::Formula::new("=C2+C3"))
        .expect("cell");
    sheet.write_string(5, 0, "ភ្នំពេញ").expect("cell");
    let clients = book.save_to_buffer().expect("xlsx");
    write(&out, "clients.xlsx", &clients);
    write(&out, "clients_stored.xlsx", &stored(&clients));

    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("empty").expect("name");
    let second = book.add_worksheet();
    second.write_string(0, 0, "name").expect("cell");
    second.write_string(2, 3, "far").expect("cell");
    let two = book.save_to_buffer().expect("xlsx");
    write(&out, "empty_first_sheet.xlsx", &two);
    write(&out, "empty_first_sheet_stored.xlsx", &stored(&two));
    for name in std::fs::read_dir(&out).expect("list") {
        let path = name.expect("entry").path();
        println!(
            "  read {}: {:?}",
            path.file_name().expect("name").display(),
            tether::import::read_spreadsheet(&path).map(|t| (t.headers().to_vec(), t.len()))
        );
    }

    // xlsx_sheet: worksheet XML only (the target wraps it in a workbook
    // whose shared strings are those of clients.xlsx above).
    let out = seeds("xlsx_sheet");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&clients)).expect("zip");
    let mut sheet = Vec::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .expect("sheet")
        .read_to_end(&mut sheet)
        .expect("read sheet");
    write(&out, "clients.xml", &sheet);
    let ns = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;
    write(
        &out,
        "mixed.xml",
        format!(
            r#"{ns}<dimension ref="A1:H3"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>date</t></is></c><c r="C1" t="str"><f>"x"&amp;"y"</f><v>xy</v></c><c r="D1" t="e"><v>#DIV/0!</v></c><c r="E1" t="b"><v>1</v></c><c r="F1" t="d"><v>2026-03-01T10:00:00</v></c><c r="G1" s="2"><v>1.5</v></c><c r="H1"><v>-0</v></c></row><row r="3"><c r="A3"><v>12345678901234567890</v></c><c r="B3" s="1"><v>45000.75</v></c><c r="C3" s="1"><v>-1</v></c><c r="D3"><v>1E+308</v></c><c r="E3" t="n"><v>2.5e-3</v></c></row></sheetData></worksheet>"#
        )
        .as_bytes(),
    );
    write(
        &out,
        "empty.xml",
        format!("{ns}<sheetData/></worksheet>").as_bytes(),
    );
    for name in std::fs::read_dir(&out).expect("list") {
        let path = name.expect("entry").path();
        let book = dir.path().join("sheet.xlsx");
        std::fs::write(
            &book,
            workbook_with_sheet(&std::fs::read(&path).expect("read")),
        )
        .expect("write workbook");
        println!(
            "  read {}: {:?}",
            path.file_name().expect("name").display(),
            tether::import::read_spreadsheet(&book).map(|t| (
                t.headers().to_vec(),
                t.rows()
                    .map(|r| r.cells().map(str::to_owned).collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            ))
        );
    }

    // keyfile_parse: real key files (the admin's slot, then two slots).
    let out = seeds("keyfile_parse");
    let db = dir.path().join("keys.db");
    let init = Store::init(&db, USER, "Admin", PASSWORD).expect("init");
    let mut store = init.store;
    let keys = tether::store::key_file_path(&db);
    write(&out, "admin.json", &std::fs::read(&keys).expect("key file"));
    store
        .add_user(
            tether::domain::User {
                username: "sokha.ou".into(),
                display_name: "Ou Sokha".into(),
                role: tether::domain::Role::Outreach,
                active: true,
                language: "km".into(),
            },
            "another long password",
        )
        .expect("add user");
    write(
        &out,
        "two_users.json",
        &std::fs::read(&keys).expect("key file"),
    );
    write(
        &out,
        "no_slots.json",
        br#"{"format":"tether-keys","version":1,"db_salt":"AAAAAAAAAAAAAAAAAAAAAA==","slots":[]}"#,
    );
    for name in std::fs::read_dir(&out).expect("list") {
        let path = name.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        println!(
            "  unlock {}: {:?}",
            path.file_name().expect("name").display(),
            tether::store::KeyFile::parse(&bytes)
                .and_then(|k| k.unlock(USER, PASSWORD))
                .map(|_| "unlocked")
                .map_err(|e| e.to_string())
        );
    }
    let _ = std::fs::remove_dir_all(work_dir());
}
