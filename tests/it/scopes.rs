//! Need-to-know sync: a field laptop holds only its workers' clients, in
//! bundles sealed for it alone; a client reassigned away is purged from it
//! without a trace in the file; a retired laptop is shut out.

use super::support::*;
use std::path::{Path, PathBuf};
use tether::domain::*;
use tether::store::{FolderSync, KeyFile, Scope, Store, StoreError, Trust};
use tether::sync::SyncError;
use tether::sync::bundle::{self, SyncKey};
use uuid::Uuid;

const ORG_KEY: &str = "mekong river outreach 2026";

fn key() -> SyncKey {
    SyncKey::new(ORG_KEY).unwrap()
}

/// An office laptop with two outreach workers, and a field laptop for each.
pub(crate) struct Org {
    pub(crate) _o_db: TestDb,
    pub(crate) o: Store,
    pub(crate) _f1_db: TestDb,
    pub(crate) f1: Store,
    pub(crate) _f2_db: TestDb,
    pub(crate) f2: Store,
    pub(crate) sokha: Saved<User>,
    pub(crate) dara: Saved<User>,
    pub(crate) folder: tempfile::TempDir,
    pub(crate) k: SyncKey,
}

impl Org {
    pub(crate) fn new() -> Org {
        let (o_db, mut o) = fresh();
        let (f1_db, mut f1) = fresh();
        let (f2_db, mut f2) = fresh();
        let (sokha, dara) = join(&mut o, &mut f1, &mut f2);
        Org {
            _o_db: o_db,
            o,
            _f1_db: f1_db,
            f1,
            _f2_db: f2_db,
            f2,
            sokha,
            dara,
            folder: tempfile::tempdir().unwrap(),
            k: key(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.folder.path()
    }

    fn laptop(&mut self, which: usize) -> &mut Store {
        match which {
            0 => &mut self.o,
            1 => &mut self.f1,
            _ => &mut self.f2,
        }
    }

    pub(crate) fn sync(&mut self, which: usize) -> FolderSync {
        let dir = self.folder.path().to_owned();
        let store = match which {
            0 => &mut self.o,
            1 => &mut self.f1,
            _ => &mut self.f2,
        };
        store
            .sync_with_folder(&self.k, &dir, &mut |_, _, _| {})
            .unwrap()
    }

    /// Office, both field laptops, office again.
    pub(crate) fn round(&mut self) {
        self.sync(0);
        self.sync(1);
        self.sync(2);
        self.sync(0);
    }

    pub(crate) fn office_bundle_for(&self, field: &Store) -> PathBuf {
        self.dir().join(format!(
            "{}-for-{}.tether-sync",
            self.o.device_id(),
            field.device_id()
        ))
    }
}

/// The office's two outreach workers, sokha and dara, and a field laptop
/// for each (enrolled both ways), whose clients the office chooses.
fn join(o: &mut Store, f1: &mut Store, f2: &mut Store) -> (Saved<User>, Saved<User>) {
    let sokha = add_user(o, "sokha", Role::Outreach);
    let dara = add_user(o, "dara", Role::Outreach);
    for f in [&mut *f1, &mut *f2] {
        enroll_as(o, f, Trust::Member);
        enroll_as(f, o, Trust::Office);
    }
    o.set_device_scope(f1.device_id(), &Scope::Workers(vec![sokha.id()]))
        .unwrap();
    o.set_device_scope(f2.device_id(), &Scope::Workers(vec![dara.id()]))
        .unwrap();
    (sokha, dara)
}

/// A client of `worker`'s with a nickname, phone, a contact and an arrest.
pub(crate) fn case(s: &mut Store, code: &str, worker: Uuid) -> Saved<Client> {
    let mut c = Client::with_code(code);
    c.nickname = Some(format!("Nick{code}"));
    c.phone = Some(format!("0979{}", &code[3..]));
    c.assigned_worker = Some(worker);
    let c = s.create(c).unwrap();
    s.create(Contact::new(c.id(), day("2026-10-01"), ContactKind::Street))
        .unwrap();
    s.create(Arrest::new(c.id(), day("2026-10-02"))).unwrap();
    c
}

pub(crate) fn holds(s: &Store, code: &str) -> bool {
    s.search_clients(code, 5)
        .unwrap()
        .rows
        .iter()
        .any(|r| r.code == code)
}

/// Opens a bundle file as `s` would.
pub(crate) fn open_as(k: &SyncKey, s: &Store, file: &Path) -> Result<bundle::Bundle, SyncError> {
    let key = s.device_key().unwrap();
    bundle::open(
        k,
        &bundle::Reader {
            device: s.device_id(),
            key: &key,
        },
        tether::store::schema::MIGRATIONS_COUNT,
        &std::fs::read(file).unwrap(),
    )
}

fn ids_in(b: &bundle::Bundle, table: &str) -> Vec<Uuid> {
    let Some(t) = b.payload.tables.iter().find(|t| t.table == table) else {
        return Vec::new();
    };
    let at = t.columns.iter().position(|c| c == "id").unwrap();
    t.rows
        .iter()
        .map(|r| match &r[at] {
            bundle::Value::Blob(b) => Uuid::from_slice(b).unwrap(),
            v => panic!("an id is a blob: {v:?}"),
        })
        .collect()
}

#[test]
fn a_field_laptop_gets_only_its_workers_clients_in_a_bundle_only_it_can_open() {
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    let mine = case(&mut org.o, "PP-0001", sokha);
    let also_mine = case(&mut org.o, "PP-0002", sokha);
    let theirs = case(&mut org.o, "PP-0003", dara);
    let nobodys = org.o.create(Client::with_code("PP-0004")).unwrap();
    org.sync(0);
    let for_f1 = org.office_bundle_for(&org.f1);
    let main = org.dir().join(format!("{}.tether-sync", org.o.device_id()));
    assert!(for_f1.exists() && main.exists());
    // Opened with the field laptop's own key: its clients, and nothing else.
    let opened = open_as(&org.k, &org.f1, &for_f1).unwrap();
    let mut clients = ids_in(&opened, "clients");
    clients.sort();
    let mut want = vec![mine.id(), also_mine.id()];
    want.sort();
    assert_eq!(clients, want, "only sokha's clients");
    let contacts = opened
        .payload
        .tables
        .iter()
        .find(|t| t.table == "contacts")
        .unwrap();
    assert_eq!(contacts.rows.len(), 2, "their contacts, not dara's");
    assert_eq!(ids_in(&opened, "arrests").len(), 2);
    let users = ids_in(&opened, "users");
    assert!(users.contains(&sokha), "its own worker");
    assert!(!users.contains(&dara), "not the other worker");
    assert_eq!(
        opened.payload.scope,
        Some(vec![sokha.simple().to_string()]),
        "the bundle tells the laptop its scope"
    );
    assert!(!ids_in(&opened, "clients").contains(&theirs.id()));
    assert!(!ids_in(&opened, "clients").contains(&nobodys.id()));
    // Nobody else can open it, and the field laptop cannot open the
    // office's bundle for office laptops, nor the other field laptop's.
    assert!(matches!(
        open_as(&org.k, &org.f2, &for_f1),
        Err(SyncError::NotForThisLaptop)
    ));
    assert!(matches!(
        open_as(&org.k, &org.f1, &main),
        Err(SyncError::NotForThisLaptop)
    ));
    let for_f2 = org.office_bundle_for(&org.f2);
    assert!(matches!(
        open_as(&org.k, &org.f1, &for_f2),
        Err(SyncError::NotForThisLaptop)
    ));
    // The right key but the wrong passphrase opens nothing either.
    assert!(matches!(
        open_as(
            &SyncKey::new("another organisation 2026").unwrap(),
            &org.f1,
            &for_f1
        ),
        Err(SyncError::WrongKeyOrTampered)
    ));
    // Synced: each field laptop holds its own workers' clients.
    org.round();
    assert!(holds(&org.f1, "PP-0001") && holds(&org.f1, "PP-0002"));
    assert!(!holds(&org.f1, "PP-0003") && !holds(&org.f1, "PP-0004"));
    assert!(holds(&org.f2, "PP-0003") && !holds(&org.f2, "PP-0001"));
    assert_eq!(org.f1.count_live("clients").unwrap(), 2);
    assert_eq!(org.f2.count_live("clients").unwrap(), 1);
    assert_eq!(
        org.f1.own_scope().unwrap(),
        Scope::Workers(vec![sokha]),
        "the field laptop knows its scope"
    );
    assert_eq!(org.o.own_scope().unwrap(), Scope::All);
    assert_eq!(org.o.clients_held_by(org.f1.device_id()).unwrap(), 2);
    assert!(org.o.count_live("locations").unwrap() == org.f1.count_live("locations").unwrap());
}

#[test]
fn a_reassigned_client_leaves_the_old_laptop_after_its_changes_reach_the_office_and_arrives_whole()
{
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    let moving = case(&mut org.o, "PP-0101", sokha);
    case(&mut org.o, "PP-0102", sokha);
    org.round();
    assert!(holds(&org.f1, "PP-0101"));
    assert!(!holds(&org.f2, "PP-0101"));
    // Sokha logs a contact on the field laptop; the office moves the client
    // to dara before that contact has reached it.
    org.f1.set_password(sokha, PASSWORD).unwrap();
    let mut worker = Store::open(org.f1.path(), "sokha", PASSWORD).unwrap();
    let late = worker
        .create(Contact::new(
            moving.id(),
            day("2026-11-20"),
            ContactKind::Phone,
        ))
        .unwrap();
    drop(worker);
    let mut moved = moving.data.clone();
    moved.assigned_worker = Some(dara);
    org.o.update(moving.id(), moved).unwrap();
    org.sync(0);
    // The old laptop is told the client left, by id; its new details are
    // not sent to it.
    let told = open_as(&org.k, &org.f1, &org.office_bundle_for(&org.f1)).unwrap();
    assert!(!ids_in(&told, "clients").contains(&moving.id()));
    assert_eq!(
        told.payload.leaving,
        vec![hex::encode(moving.id().as_bytes())]
    );
    let first = org.sync(1);
    let purged: usize = first.merged.iter().map(|m| m.purged.waiting).sum();
    assert_eq!(purged, 1, "kept until the office has its contact");
    assert_eq!(first.purged(), 0);
    assert!(holds(&org.f1, "PP-0101"));
    // The office takes the contact; the field laptop then lets the client go.
    let took = org.sync(0);
    assert!(took.skipped.is_empty(), "{:?}", took.skipped);
    assert!(
        org.o.get::<Contact>(late.id()).is_ok(),
        "what the old laptop changed reached the office first"
    );
    let second = org.sync(1);
    assert_eq!(second.purged(), 1);
    assert!(!holds(&org.f1, "PP-0101"));
    assert!(holds(&org.f1, "PP-0102"));
    assert!(
        org.f1.get::<Contact>(late.id()).is_err(),
        "gone with the client"
    );
    // Once the office knows it was purged, the client is no longer named
    // to the old laptop, and its later changes never reach it.
    org.sync(0);
    let mut renamed: Client = org.o.get::<Client>(moving.id()).unwrap().data;
    renamed.nickname = Some("Later nickname".into());
    org.o.update(moving.id(), renamed).unwrap();
    org.sync(0);
    let told = open_as(&org.k, &org.f1, &org.office_bundle_for(&org.f1)).unwrap();
    assert!(told.payload.leaving.is_empty());
    assert!(!ids_in(&told, "clients").contains(&moving.id()));
    // The new laptop receives the client whole: both contacts (the one made
    // before it held the client, and the field one) and the arrest.
    org.sync(2);
    assert!(holds(&org.f2, "PP-0101"));
    let timeline = org.f2.timeline(moving.id()).unwrap();
    let contacts = timeline
        .iter()
        .filter(|e| matches!(e.item, tether::store::TimelineItem::Contact(_)))
        .count();
    let arrests = timeline
        .iter()
        .filter(|e| matches!(e.item, tether::store::TimelineItem::Arrest(_)))
        .count();
    assert_eq!((contacts, arrests), (2, 1), "every record of the client");
    // Moved back: it returns to the first laptop whole.
    let mut back: Client = org.o.get::<Client>(moving.id()).unwrap().data;
    back.assigned_worker = Some(sokha);
    org.o.update(moving.id(), back).unwrap();
    org.round();
    org.round();
    assert!(holds(&org.f1, "PP-0101") && !holds(&org.f2, "PP-0101"));
    assert_eq!(
        org.f1
            .timeline(moving.id())
            .unwrap()
            .iter()
            .filter(|e| matches!(e.item, tether::store::TimelineItem::Contact(_)))
            .count(),
        2
    );
}

/// The raw database key of `path` (the drill opens the file as the police
/// would, with the password forced out of its user).
fn raw_key(path: &Path) -> [u8; 32] {
    let key = KeyFile::load(path)
        .unwrap()
        .unlock("admin", PASSWORD)
        .unwrap();
    let text = key.pragma_value();
    let hex_key = text.trim_matches(|c| c == '"' || c == '\'' || c == 'x');
    hex::decode(hex_key).unwrap().try_into().unwrap()
}

/// Every page of a SQLCipher file (and its write-ahead log) decrypted:
/// AES-256-CBC under the raw key, 4,096-byte pages ending in 80 reserved
/// bytes (the page's IV, then its HMAC); page 1 starts with the salt.
fn decrypted(path: &Path, key: &[u8; 32]) -> Vec<u8> {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    const PAGE: usize = 4096;
    const RESERVE: usize = 80;
    let page = |n: u32, bytes: &[u8], out: &mut Vec<u8>| {
        let start = if n == 1 { 16 } else { 0 };
        let iv = &bytes[PAGE - RESERVE..PAGE - RESERVE + 16];
        let mut data = bytes[start..PAGE - RESERVE].to_vec();
        cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .unwrap()
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .unwrap();
        if n == 1 {
            // The SQLite header after the salt: page size 4096, 80 reserved bytes.
            assert_eq!(
                &data[..2],
                &[0x10, 0x00],
                "page 1 decrypts to a SQLite header"
            );
            assert_eq!(data[4], 80);
        }
        out.extend_from_slice(&data);
    };
    let mut out = Vec::new();
    let file = std::fs::read(path).unwrap();
    assert_eq!(file.len() % PAGE, 0);
    for (i, p) in file.chunks(PAGE).enumerate() {
        page(i as u32 + 1, p, &mut out);
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(log) = std::fs::read(PathBuf::from(wal))
        && log.len() > 32
    {
        for frame in log[32..].chunks(24 + PAGE) {
            if frame.len() == 24 + PAGE {
                let n = u32::from_be_bytes(frame[..4].try_into().unwrap());
                page(n, &frame[24..], &mut out);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_seized_field_laptop_holds_no_trace_of_a_client_outside_its_scope() {
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    // Sokha's caseload fills several pages; half of it moves to dara.
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for i in 0..40 {
        let code = format!("PP-{:04}", 200 + i);
        let c = case(&mut org.o, &code, sokha);
        // A long note (past one page: its end lies on an overflow page,
        // which a delete frees whole).
        let mut note = Contact::new(c.id(), day("2026-10-05"), ContactKind::Home);
        note.notes = Some(format!(
            "{} end of the note on {code}",
            "seen at the market; ".repeat(180)
        ));
        org.o.create(note).unwrap();
        if i % 2 == 0 {
            kept.push(c)
        } else {
            gone.push(c)
        }
    }
    let never = case(&mut org.o, "PP-0299", dara);
    org.round();
    let needles = |cs: &[Saved<Client>]| {
        let mut out = Vec::new();
        for c in cs {
            out.push(("nickname", c.data.nickname.clone().unwrap().into_bytes()));
            out.push(("phone", c.data.phone.clone().unwrap().into_bytes()));
            out.push(("id", c.id().as_bytes().to_vec()));
            out.push((
                "note",
                format!("end of the note on {}", c.data.code).into_bytes(),
            ));
        }
        out
    };
    let path = org.f1.path().to_owned();
    let key = raw_key(&path);
    // Before: the scanner sees what it should (the test can fail).
    let before = decrypted(&path, &key);
    for (what, n) in needles(&kept).iter().chain(needles(&gone).iter()) {
        assert!(contains(&before, n), "the drill reads every {what}");
    }
    for (what, n) in needles(std::slice::from_ref(&never)) {
        assert!(!contains(&before, &n), "{what} never sent to this laptop");
    }
    // An automatic backup from before holds them too.
    let old_backup = org.f1.auto_backup(day("2026-11-01")).unwrap().path;
    assert!(contains(
        &decrypted(&old_backup, &key),
        &needles(&gone)[0].1
    ));
    // Half the clients move to dara; the field laptop purges them at its
    // next sync.
    for c in &gone {
        let mut moved = c.data.clone();
        moved.assigned_worker = Some(dara);
        org.o.update(c.id(), moved).unwrap();
    }
    org.sync(0);
    assert_eq!(org.sync(1).purged(), gone.len());
    let backups = org.f1.backups().unwrap();
    let Org { f1, .. } = org;
    f1.close().unwrap();
    assert!(!old_backup.exists(), "the older backup is gone");
    assert_eq!(backups.len(), 1, "a fresh backup replaces them");
    let mut after = decrypted(&path, &key);
    after.extend(decrypted(&backups[0].path, &key));
    for (what, n) in needles(&kept) {
        assert!(
            contains(&after, &n),
            "its own clients' {what}s are still there"
        );
    }
    for (what, n) in needles(&gone) {
        assert!(
            !contains(&after, &n),
            "a purged client's {what} is nowhere in the file"
        );
    }
    for (what, n) in needles(std::slice::from_ref(&never)) {
        assert!(!contains(&after, &n), "{what}");
    }
}

#[test]
fn a_retired_laptop_is_refused_and_sealed_for_no_more() {
    let mut org = Org::new();
    case(&mut org.o, "PP-0301", org.dara.id());
    org.round();
    assert!(org.office_bundle_for(&org.f2).exists());
    let f2_id = org.f2.device_id().to_owned();
    org.o.enroll_device(&f2_id, None, Trust::Retired).unwrap();
    case(&mut org.o, "PP-0302", org.dara.id());
    org.sync(0);
    assert!(
        !org.office_bundle_for(&org.f2).exists(),
        "its bundle is taken out of the folder"
    );
    let main = org.dir().join(format!("{}.tether-sync", org.o.device_id()));
    assert!(matches!(
        open_as(&org.k, &org.f2, &main),
        Err(SyncError::NotForThisLaptop)
    ));
    // Its own bundle is refused at the office.
    let f2_bundle = org.dir().join(format!("{f2_id}.tether-sync"));
    let bytes = std::fs::read(&f2_bundle).unwrap();
    let err = org
        .o
        .sync_import(&org.k, &bytes, &mut |_, _, _| {})
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Sync(SyncError::Retired { .. })),
        "{err}"
    );
    // And it gets nothing new.
    org.sync(2);
    assert!(!holds(&org.f2, "PP-0302"));
}

#[test]
fn only_an_admin_sets_a_scope_and_only_for_a_field_laptop() {
    let mut org = Org::new();
    let f1 = org.f1.device_id().to_owned();
    let mut worker = Store::open(org.o.path(), "sokha", PASSWORD).unwrap();
    assert!(matches!(
        worker.set_device_scope(&f1, &Scope::All),
        Err(StoreError::Forbidden { .. })
    ));
    drop(worker);
    // Office laptops hold everything.
    let (_x_db, x) = fresh();
    enroll_as(&mut org.o, &x, Trust::Office);
    assert!(
        org.o
            .set_device_scope(x.device_id(), &Scope::Workers(vec![org.sokha.id()]))
            .is_err()
    );
    assert!(
        org.o
            .set_device_scope("no-such-laptop", &Scope::All)
            .is_err()
    );
    assert!(
        org.o
            .set_device_scope(&f1, &Scope::Workers(vec![Uuid::now_v7()]))
            .is_err(),
        "a worker unknown here"
    );
    assert_eq!(
        org.o.device_scope(&f1).unwrap(),
        Scope::Workers(vec![org.sokha.id()]),
        "unchanged by the refusals"
    );
}

#[test]
fn the_command_line_sets_a_scope_and_lists_the_laptops() {
    let org = Org::new();
    let path = org.o.path().to_owned();
    let f1 = org.f1.device_id().to_owned();
    let Org { o, .. } = org;
    o.close().unwrap();
    let db = path.to_str().unwrap();
    let scope = |user: &str, workers: &str| {
        tether_with(
            &[
                "sync",
                "scope",
                "--db",
                db,
                "--device",
                &f1,
                "--workers",
                workers,
            ],
            PASSWORD,
            Some(user),
        )
    };
    let out = scope("sokha", "sokha,dara");
    assert!(!out.status.success(), "an outreach worker cannot");
    let out = scope("admin", "sokha,dara");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = scope("admin", "nobody");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("nobody"), "{err}");
    let out = tether_with(
        &["sync", "scope", "--db", db, "--device", &f1],
        PASSWORD,
        Some("admin"),
    );
    assert!(!out.status.success(), "--workers or --all");
    let out = tether_with(&["sync", "devices", "--db", db], PASSWORD, Some("admin"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("this laptop  holds every client"), "{text}");
    let line = text.lines().find(|l| l.starts_with(&f1)).unwrap();
    assert!(
        line.contains("member") && line.contains("clients of sokha,dara"),
        "{line}"
    );
}

/// A change made on one laptop, or a sync, in the scoped property test.
#[derive(Debug, Clone)]
enum Op {
    /// Office: a client of any of the three workers; field: of its own.
    NewClient {
        db: usize,
        worker: usize,
        code: u8,
    },
    EditClient {
        db: usize,
        pick: usize,
        note: u8,
    },
    NewContact {
        db: usize,
        pick: usize,
        day: u8,
    },
    /// Office only: the client moves to another worker.
    Reassign {
        pick: usize,
        worker: usize,
    },
    /// Office only.
    DeleteClient {
        pick: usize,
    },
    Sync {
        db: usize,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3usize, 0..3usize, 0..12u8).prop_map(|(db, worker, code)| Op::NewClient { db, worker, code }),
        2 => (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(db, pick, note)| Op::EditClient { db, pick, note }),
        3 => (0..3usize, any::<usize>(), 0..60u8).prop_map(|(db, pick, day)| Op::NewContact { db, pick, day }),
        3 => (any::<usize>(), 0..3usize).prop_map(|(pick, worker)| Op::Reassign { pick, worker }),
        1 => any::<usize>().prop_map(|pick| Op::DeleteClient { pick }),
        5 => (0..3usize).prop_map(|db| Op::Sync { db }),
    ]
}

/// Each record's version: (table, id) to (clock, device).
fn versions(store: &Store) -> std::collections::BTreeMap<(String, String), (String, String)> {
    store
        .canonical_dump()
        .unwrap()
        .lines()
        .map(|line| {
            let (table, rest) = line.split_once(':').unwrap();
            let field = |name: &str| {
                rest.split(' ')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .to_owned()
            };
            (
                (table.to_owned(), field("id")),
                (
                    field("updated_at"),
                    field("device_id").trim_matches('"').to_owned(),
                ),
            )
        })
        .collect()
}

/// The live clients a laptop holds, oldest first.
fn live_clients(store: &Store) -> Vec<Uuid> {
    store
        .canonical_dump()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("clients:") && l.contains(" deleted=0"))
        .map(|l| {
            let hexid = l
                .split(" id=x'")
                .nth(1)
                .unwrap()
                .split('\'')
                .next()
                .unwrap();
            Uuid::from_slice(&hex::decode(hexid).unwrap()).unwrap()
        })
        .collect()
}

/// A laptop's records of the clients assigned to `worker` (every client
/// when None) and the location registry, as dump lines; users left out.
fn restricted(store: &Store, worker: Option<Uuid>) -> std::collections::BTreeSet<String> {
    let dump = store.canonical_dump().unwrap();
    let hexid = |u: Uuid| format!("x'{}'", hex::encode_upper(u.as_bytes()));
    let hexid_lower = |u: Uuid| format!("x'{}'", hex::encode(u.as_bytes()));
    let scoped: std::collections::BTreeSet<String> = dump
        .lines()
        .filter(|l| l.starts_with("clients:"))
        .filter(|l| {
            worker.is_none_or(|w| {
                l.contains(&format!(" assigned_worker={}", hexid(w)))
                    || l.contains(&format!(" assigned_worker={}", hexid_lower(w)))
            })
        })
        .map(|l| {
            l.split(" id=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    dump.lines()
        .filter(|l| {
            let table = l.split(':').next().unwrap();
            match table {
                "users" => false,
                "locations" => true,
                "clients" => {
                    scoped.contains(l.split(" id=").nth(1).unwrap().split(' ').next().unwrap())
                }
                _ => l
                    .split(" client_id=")
                    .nth(1)
                    .is_some_and(|c| scoped.contains(c.split(' ').next().unwrap())),
            }
        })
        .map(str::to_owned)
        .collect()
}

/// The three laptops after their first round (users on the field
/// laptops), made once: each case starts from copies, opened with their
/// recovery keys (no password hashing per case). Field laptops are used by
/// their workers: sokha on the first, dara on the second.
struct Template {
    _dir: tempfile::TempDir,
    paths: [PathBuf; 3],
    recovery: [String; 3],
    workers: [Uuid; 3],
}

fn template() -> &'static Template {
    static TEMPLATE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        let mut recovery = Vec::new();
        let mut stores = Vec::new();
        for name in ["office", "field-1", "field-2"] {
            let path = dir.path().join(format!("{name}.db"));
            let init = Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
            paths.push(path);
            recovery.push(init.recovery_key);
            stores.push(init.store);
        }
        let mut f2 = stores.pop().unwrap();
        let mut f1 = stores.pop().unwrap();
        let mut o = stores.pop().unwrap();
        let (sokha, dara) = join(&mut o, &mut f1, &mut f2);
        let vanna = add_user(&mut o, "vanna", Role::Outreach);
        let folder = tempfile::tempdir().unwrap();
        let k = key();
        for which in [0, 1, 2, 0] {
            let s = match which {
                0 => &mut o,
                1 => &mut f1,
                _ => &mut f2,
            };
            s.sync_with_folder(&k, folder.path(), &mut |_, _, _| {})
                .unwrap();
        }
        for s in [o, f1, f2] {
            s.close().unwrap();
        }
        Template {
            _dir: dir,
            paths: paths.try_into().unwrap(),
            recovery: recovery.try_into().unwrap(),
            workers: [sokha.id(), dara.id(), vanna.id()],
        }
    })
}

impl Org {
    /// Copies of the template's laptops, each in a directory of its own.
    fn from_template() -> (Org, [Uuid; 3]) {
        let t = template();
        let mut dbs = Vec::new();
        let mut stores = Vec::new();
        for (i, user) in ["admin", "sokha", "dara"].iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tether.db");
            std::fs::copy(&t.paths[i], &path).unwrap();
            std::fs::copy(
                tether::store::key_file_path(&t.paths[i]),
                tether::store::key_file_path(&path),
            )
            .unwrap();
            stores.push(Store::open_with_recovery_key(&path, &t.recovery[i], user).unwrap());
            dbs.push(TestDb { dir, path });
        }
        let f2 = stores.pop().unwrap();
        let f1 = stores.pop().unwrap();
        let o = stores.pop().unwrap();
        let f2_db = dbs.pop().unwrap();
        let f1_db = dbs.pop().unwrap();
        let o_db = dbs.pop().unwrap();
        let sokha = o.get::<User>(t.workers[0]).unwrap();
        let dara = o.get::<User>(t.workers[1]).unwrap();
        (
            Org {
                _o_db: o_db,
                o,
                _f1_db: f1_db,
                f1,
                _f2_db: f2_db,
                f2,
                sokha,
                dara,
                // The template's folder is gone: every laptop has merged
                // every bundle in it, and the next syncs write them anew.
                folder: tempfile::tempdir().unwrap(),
                k: key(),
            },
            t.workers,
        )
    }
}

fn scoped_laptops(ops: &[Op]) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::prelude::*;
    let (mut org, workers) = Org::from_template();
    type Key = ((String, String), (String, String));
    let mut seen: std::collections::BTreeSet<Key> = std::collections::BTreeSet::new();
    let mut edited_over: std::collections::BTreeSet<Key> = std::collections::BTreeSet::new();
    for op in ops {
        let db = match *op {
            Op::NewClient { db, .. } | Op::EditClient { db, .. } | Op::NewContact { db, .. } => db,
            Op::Reassign { .. } | Op::DeleteClient { .. } => 0,
            Op::Sync { db } => {
                org.sync(db);
                for s in [&org.o, &org.f1, &org.f2] {
                    seen.extend(versions(s));
                }
                continue;
            }
        };
        let s = org.laptop(db);
        let before = versions(s);
        let clients = live_clients(s);
        let pick = |p: usize| clients.get(p % clients.len().max(1)).copied();
        match *op {
            Op::NewClient { worker, code, .. } => {
                let mut c = Client::with_code(&format!("PP-{code:04}"));
                c.assigned_worker = Some(if db == 0 {
                    workers[worker]
                } else {
                    workers[db - 1]
                });
                // A code already used on this laptop is refused.
                let _ = s.create(c);
            }
            Op::EditClient { pick: p, note, .. } => {
                if let Some(id) = pick(p) {
                    let mut c: Saved<Client> = s.get(id).unwrap();
                    c.data.notes = Some(format!("note {note}"));
                    let _ = s.update(id, c.data);
                }
            }
            Op::NewContact {
                pick: p, day: d, ..
            } => {
                if let Some(id) = pick(p) {
                    let date = day("2026-01-01") + chrono::Days::new(u64::from(d));
                    s.create(Contact::new(id, date, ContactKind::Street))
                        .unwrap();
                }
            }
            Op::Reassign { pick: p, worker } => {
                if let Some(id) = pick(p) {
                    let mut c: Saved<Client> = s.get(id).unwrap();
                    c.data.assigned_worker = Some(workers[worker]);
                    let _ = s.update(id, c.data);
                }
            }
            Op::DeleteClient { pick: p } => {
                if let Some(id) = pick(p) {
                    s.delete::<Client>(id).unwrap();
                }
            }
            Op::Sync { .. } => unreachable!(),
        }
        let after = versions(s);
        for (k, v) in &before {
            if after.get(k) != Some(v) {
                edited_over.insert((k.clone(), v.clone()));
            }
        }
        seen.extend(after);
    }
    for _ in 0..4 {
        org.round();
    }
    // Each field laptop holds exactly the office's records of its worker's
    // clients (and the registry); nothing else.
    prop_assert_eq!(
        restricted(&org.f1, None),
        restricted(&org.o, Some(workers[0]))
    );
    prop_assert_eq!(
        restricted(&org.f2, None),
        restricted(&org.o, Some(workers[1]))
    );
    // The office holds every change made anywhere: as the final version,
    // one replaced by a later edit where it was held, or a conflict it keeps.
    let finals = versions(&org.o);
    let conflicts: std::collections::BTreeSet<(String, String)> = org
        .o
        .conflicts(true)
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.other_changed_at.timestamp_millis().to_string(),
                c.other_device,
            )
        })
        .collect();
    for (k, v) in &seen {
        if k.0 == "users" {
            continue;
        }
        prop_assert!(
            finals.get(k) == Some(v)
                || edited_over.contains(&(k.clone(), v.clone()))
                || conflicts.contains(v),
            "a change is missing at the office: {:?} {:?}",
            k,
            v
        );
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, max_shrink_iters: 32, ..proptest::prelude::ProptestConfig::default() })]
    #[test]
    fn office_and_two_field_laptops_converge_within_their_scopes(ops in proptest::collection::vec(op(), 10..45)) {
        scoped_laptops(&ops)?;
    }
}

/// A bundle from `from` with `tables`, sealed for `to` (as a seized field
/// laptop, with its own key, could write one).
fn forge(k: &SyncKey, from: &Store, to: &Store, tables: Vec<bundle::TableRows>) -> Vec<u8> {
    super::attacks::forge(
        k,
        from,
        to,
        bundle::Payload {
            tables,
            ..bundle::Payload::default()
        },
    )
}

/// `row` of `t` as changed on `device` by `author` just now, with `edits`.
pub(crate) fn edited(
    t: &bundle::TableRows,
    row: &[bundle::Value],
    device: &str,
    author: Uuid,
    edits: &[(&str, bundle::Value)],
) -> Vec<bundle::Value> {
    let mut row = row.to_vec();
    let at = |n: &str| t.columns.iter().position(|c| c == n).unwrap();
    for (c, v) in edits {
        row[at(c)] = v.clone();
    }
    row[at("updated_at")] = bundle::Value::Int(chrono::Utc::now().timestamp_millis());
    row[at("device_id")] = bundle::Value::Text(device.to_owned());
    row[at("updated_by")] = bundle::Value::Blob(author.as_bytes().to_vec());
    row[at("vv")] = bundle::Value::Null;
    row
}

#[test]
fn a_field_laptop_can_neither_reach_nor_take_a_client_outside_its_scope() {
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    let theirs = case(&mut org.o, "PP-0401", dara);
    case(&mut org.o, "PP-0402", sokha);
    org.round();
    let tables = super::attacks::office_tables(&org);
    let table = |name: &str| tables.iter().find(|t| t.table == name).unwrap().clone();
    let blob = |u: Uuid| bundle::Value::Blob(u.as_bytes().to_vec());
    let f1 = org.f1.device_id().to_owned();
    let before = org.o.canonical_dump().unwrap();
    // Another laptop's client taken into its own worker's caseload.
    let clients = table("clients");
    let row = clients
        .rows
        .iter()
        .find(|r| r.contains(&blob(theirs.id())))
        .unwrap();
    let take = bundle::TableRows {
        rows: vec![edited(
            &clients,
            row,
            &f1,
            sokha,
            &[("assigned_worker", blob(sokha))],
        )],
        ..clients.clone()
    };
    // A contact logged on it.
    let contacts = table("contacts");
    let row = contacts
        .rows
        .iter()
        .find(|r| r.contains(&blob(theirs.id())))
        .unwrap();
    let reach = bundle::TableRows {
        rows: vec![edited(
            &contacts,
            row,
            &f1,
            sokha,
            &[
                ("id", blob(Uuid::now_v7())),
                ("needles_syringes", bundle::Value::Int(99)),
            ],
        )],
        ..contacts.clone()
    };
    for (what, tables) in [("take", vec![take]), ("reach", vec![reach])] {
        let bytes = forge(&org.k, &org.f1, &org.o, tables);
        let err = org
            .o
            .sync_import(&org.k, &bytes, &mut |_, _, _| {})
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Sync(SyncError::NotAllowed { reason, .. }) if reason.contains("outside the scope")),
            "{what}: {err}"
        );
        assert_eq!(
            org.o.canonical_dump().unwrap(),
            before,
            "{what} changed nothing"
        );
    }
    // A laptop key that is not a valid point is not enrolled, nor an id
    // that would name a file outside the sync folder.
    assert!(
        org.o
            .enroll_device("laptop-x", Some(&"00".repeat(32)), Trust::Member)
            .is_err()
    );
    let good = org.f1.device_key().unwrap().public_hex();
    assert!(
        org.o
            .enroll_device("../../etc", Some(&good), Trust::Member)
            .is_err()
    );
}

/// A field laptop's bundle reads its clients' records by each table's
/// client index, not by scanning every record of the office (a plan that
/// once took 1.4 s a laptop on the 100,000-client demo).
#[test]
fn a_scoped_bundle_reads_its_clients_records_by_index() {
    let mut org = Org::new();
    let (sokha, dara) = (org.sokha.id(), org.dara.id());
    for i in 0..30 {
        let worker = if i % 3 == 0 { sokha } else { dara };
        case(&mut org.o, &format!("PP-{:04}", 600 + i), worker);
    }
    let f1 = org.f1.device_id().to_owned();
    let k = key();
    let plans = org
        .o
        .query_plans_of(|s| s.sync_export_for(&k, &f1).map(|_| ()))
        .unwrap();
    let scoped: Vec<_> = plans
        .iter()
        .filter(|p| p.sql.contains("CROSS JOIN"))
        .collect();
    assert_eq!(scoped.len(), 7, "clients and their six kinds of record");
    for p in scoped {
        assert!(
            p.plan.iter().any(|l| l.contains("SEARCH t USING"))
                && !p.plan.iter().any(|l| l.contains("SCAN t")),
            "{}\n{:?}",
            p.sql,
            p.plan
        );
    }
}
