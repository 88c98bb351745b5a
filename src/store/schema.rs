//! The schema, as one list of migrations. Never edit a migration that has shipped.

use rusqlite_migration::{M, Migrations};

/// Every migration, oldest first.
pub static MIGRATIONS: std::sync::LazyLock<Migrations<'static>> =
    std::sync::LazyLock::new(|| Migrations::from_slice(MIGRATION_LIST));

const MIGRATION_LIST: &[M<'static>] = &[
    M::up(INITIAL).foreign_key_check(),
    M::up(LIVE_INDEXES),
    M::up(ACTIVITY_FACTS),
    M::up(REPORT_INDEXES),
    M::up(SYNC),
    M::up(SYNC_TRUST),
    M::up(OPEN_FOLLOWUPS),
    M::up(DERIVED_LOST),
    M::up(SCOPES),
    M::up(WRITTEN_FOR),
];

/// Migration 10: what each laptop may say it merged of ours is bounded by
/// the bundles this laptop sealed for it (`meta` `sync.written_for.<id>`,
/// kept by every export; laptops synced before: what they said so far);
/// `sync_devices.sealing_key`: each laptop's own X25519 sealing key, as its
/// signed bundles give it (format 5).
const WRITTEN_FOR: &str = "
INSERT OR IGNORE INTO meta(key, value)
    SELECT 'sync.written_for.' || device_id, acked_ours FROM sync_peers WHERE acked_ours > 0;
ALTER TABLE sync_devices ADD COLUMN sealing_key TEXT;
";

/// Migration 9: need-to-know sync (`store::sync::scope`).
///
/// - `sync_devices.scope`: which clients another laptop holds, as an admin
///   chose: `all`, or a JSON list of the worker ids whose clients it holds;
///   NULL: not chosen yet (a field laptop then receives nothing).
/// - `sync_holdings` (office side): which clients each scoped laptop was
///   sent whole, at which stamp of this laptop's clock, or has left.
/// - `sync_leaving` (field side): clients the office said left this
///   laptop's scope, kept until this laptop's changes to them reach the
///   office and they are purged; `sync_purged`: a hash (BLAKE2b) of each
///   client purged, sent to the office (which then forgets that this laptop
///   holds it) until the office has said it merged that bundle.
const SCOPES: &str = "
ALTER TABLE sync_devices ADD COLUMN scope TEXT;
CREATE TABLE sync_holdings (
    device_id TEXT NOT NULL,
    client_id BLOB NOT NULL,
    sent_top INTEGER NOT NULL,
    left_top INTEGER,
    PRIMARY KEY (device_id, client_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE sync_leaving (
    client_id BLOB PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;
-- A field laptop's bundle reads its clients' records by client; the
-- contacts' client index holds live rows only, so removed ones get theirs.
CREATE INDEX contacts_removed ON contacts(client_id) WHERE deleted <> 0;
CREATE TABLE sync_purged (
    hash BLOB PRIMARY KEY NOT NULL,
    purged_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// Which laptops this one believes (`store::sync`, "Trust"): each other
/// laptop's public signing key as first seen, and what an admin enrolled
/// it as: `pending` (seen, not enrolled: its bundles are refused),
/// `member` (a field laptop: its own changes, checked against its users'
/// roles), `office` (may also relay other laptops' changes and change
/// users), `retired` (refused from now on). This laptop's own signing key
/// is in `meta` (`device.signing_key`).
const SYNC_TRUST: &str = r#"
CREATE TABLE sync_devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    public_key TEXT NOT NULL,
    trust TEXT NOT NULL CHECK (trust IN ('pending','member','office','retired')),
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    changed_by BLOB,
    changed_at INTEGER
) STRICT;
"#;

/// Sync between laptops (`store::sync`).
///
/// - `vv`: the record's version vector, as `device=clock` pairs sorted by
///   device; NULL means just `{device_id: updated_at}`, true of every record
///   only one laptop has changed, so it costs nothing until two have.
/// - `sync_seq`: when this database last took in a version of the row from
///   a bundle (its own clock); local, never sent. A row's change stamp is
///   the larger of it and `updated_at`.
/// - Codes, usernames, location names and rule follow-ups are unique on
///   each laptop, but two laptops can each make one; a merge must keep both
///   (the coordinator merges duplicate clients), so those indexes become
///   plain ones and the uniqueness checks stay in the write paths.
/// - `sync_peers`: per other device, the highest change stamp of theirs
///   merged here, and the highest stamp of ours they said they had merged.
/// - `sync_conflicts`: the losing version of every record changed on two
///   laptops at once, until a coordinator resolves it.
const SYNC: &str = r#"
ALTER TABLE users ADD COLUMN vv TEXT;
ALTER TABLE users ADD COLUMN sync_seq INTEGER;
ALTER TABLE clients ADD COLUMN vv TEXT;
ALTER TABLE clients ADD COLUMN sync_seq INTEGER;
ALTER TABLE contacts ADD COLUMN vv TEXT;
ALTER TABLE contacts ADD COLUMN sync_seq INTEGER;
ALTER TABLE locations ADD COLUMN vv TEXT;
ALTER TABLE locations ADD COLUMN sync_seq INTEGER;
ALTER TABLE arrests ADD COLUMN vv TEXT;
ALTER TABLE arrests ADD COLUMN sync_seq INTEGER;
ALTER TABLE detentions ADD COLUMN vv TEXT;
ALTER TABLE detentions ADD COLUMN sync_seq INTEGER;
ALTER TABLE enrollments ADD COLUMN vv TEXT;
ALTER TABLE enrollments ADD COLUMN sync_seq INTEGER;
ALTER TABLE service_events ADD COLUMN vv TEXT;
ALTER TABLE service_events ADD COLUMN sync_seq INTEGER;
ALTER TABLE followups ADD COLUMN vv TEXT;
ALTER TABLE followups ADD COLUMN sync_seq INTEGER;

DROP INDEX clients_code;
CREATE INDEX clients_code ON clients(code) WHERE deleted = 0;
DROP INDEX users_username;
CREATE INDEX users_username ON users(username) WHERE deleted = 0;
DROP INDEX locations_name;
CREATE INDEX locations_name ON locations(name) WHERE deleted = 0;
DROP INDEX followups_rule;
CREATE INDEX followups_rule ON followups(rule, source_id) WHERE rule IS NOT NULL AND deleted = 0;

CREATE TABLE sync_peers (
    device_id TEXT PRIMARY KEY NOT NULL,
    merged_up_to INTEGER NOT NULL DEFAULT 0,
    acked_ours INTEGER NOT NULL DEFAULT 0,
    last_merged_at INTEGER
) STRICT;

CREATE TABLE sync_conflicts (
    id INTEGER PRIMARY KEY,
    record_table TEXT NOT NULL,
    record_id BLOB NOT NULL,
    found_at INTEGER NOT NULL,
    from_device TEXT NOT NULL,
    loser_clock INTEGER NOT NULL,
    loser_device TEXT NOT NULL,
    loser TEXT NOT NULL,
    resolved_at INTEGER,
    resolved_by BLOB,
    resolution TEXT,
    UNIQUE (record_table, record_id, loser_clock, loser_device)
) STRICT;
CREATE INDEX sync_conflicts_open ON sync_conflicts(resolved_at, found_at);
"#;

/// The period report (INDICATORS.md) reads a year of contacts, every
/// client's sex and year of birth, and the ART refills. Covering indexes
/// over live rows let it read them from small indexes instead of the wide
/// tables (a year of contacts is a fifth of the pages), which also serves
/// the dashboard's contacts per week.
const REPORT_INDEXES: &str = r#"
CREATE INDEX contacts_period ON contacts(date, client_id, needles_syringes, condoms, naloxone, hiv_test, hiv_result, referrals)
    WHERE deleted = 0;
CREATE INDEX clients_group ON clients(id, sex, birth_year) WHERE deleted = 0;
CREATE INDEX service_events_refills ON service_events(enrollment_id, date, days_supplied)
    WHERE deleted = 0 AND kind = 'refill';
"#;

/// The client facts the worklists read (live, code, status, date of
/// registration, assigned worker) copied into `client_activity`, with one
/// covering index: the lost-to-follow-up list becomes one index range
/// instead of a lookup in `clients` for each of tens of thousands of
/// clients, and the other lists find a client's code and worker in one
/// small row. Kept by triggers; derived, never synced.
const ACTIVITY_FACTS: &str = r#"
DROP TRIGGER client_activity_new_client;
DROP INDEX client_activity_last;
ALTER TABLE client_activity ADD COLUMN live INTEGER NOT NULL DEFAULT 1;
ALTER TABLE client_activity ADD COLUMN open INTEGER NOT NULL DEFAULT 1;
ALTER TABLE client_activity ADD COLUMN code TEXT NOT NULL DEFAULT '';
ALTER TABLE client_activity ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE client_activity ADD COLUMN registered_on TEXT;
ALTER TABLE client_activity ADD COLUMN worker BLOB;
UPDATE client_activity SET (live, open, code, status, registered_on, worker) = (
    SELECT c.deleted = 0, c.deleted = 0 AND c.status NOT IN ('moved', 'deceased', 'exited'),
           c.code, c.status, c.registered_on, c.assigned_worker
    FROM clients c WHERE c.id = client_activity.client_id);
CREATE INDEX client_activity_open
    ON client_activity(open, last_contact, worker, registered_on, status, code);
-- Stays that hold someone or ended lately, with their client, from the index alone.
DROP INDEX detentions_open;
CREATE INDEX detentions_open ON detentions(ended_on, started_on, client_id) WHERE deleted = 0;

-- Each enrollment's dates and its latest live dose and refill (the refill's
-- supply with it; of several refills on one day, the last recorded), kept
-- by triggers: the worklists read one small row per enrollment instead of
-- searching its events. Derived, local, never synced.
CREATE TABLE enrollment_activity (
    enrollment_id BLOB PRIMARY KEY NOT NULL REFERENCES enrollments(id),
    client_id BLOB NOT NULL,
    live INTEGER NOT NULL,
    service TEXT NOT NULL,
    started_on TEXT NOT NULL,
    ended_on TEXT,
    last_dose TEXT,
    last_refill TEXT,
    last_refill_days INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO enrollment_activity(enrollment_id, client_id, live, service, started_on, ended_on)
    SELECT id, client_id, deleted = 0, service, started_on, ended_on FROM enrollments;
CREATE TRIGGER enrollment_activity_new AFTER INSERT ON enrollments BEGIN
    INSERT INTO enrollment_activity(enrollment_id, client_id, live, service, started_on, ended_on)
    VALUES (new.id, new.client_id, new.deleted = 0, new.service, new.started_on, new.ended_on)
    ON CONFLICT(enrollment_id) DO UPDATE SET client_id = excluded.client_id, live = excluded.live,
        service = excluded.service, started_on = excluded.started_on, ended_on = excluded.ended_on;
END;
CREATE TRIGGER enrollment_activity_changed
AFTER UPDATE OF client_id, deleted, service, started_on, ended_on ON enrollments BEGIN
    UPDATE enrollment_activity SET client_id = new.client_id, live = new.deleted = 0,
        service = new.service, started_on = new.started_on, ended_on = new.ended_on
    WHERE enrollment_id = new.id;
END;
CREATE TRIGGER enrollment_activity_new_dose AFTER INSERT ON service_events
WHEN new.deleted = 0 AND new.kind = 'dose' BEGIN
    UPDATE enrollment_activity SET last_dose = new.date
    WHERE enrollment_id = new.enrollment_id AND (last_dose IS NULL OR last_dose < new.date);
END;
CREATE TRIGGER enrollment_activity_new_refill AFTER INSERT ON service_events
WHEN new.deleted = 0 AND new.kind = 'refill' BEGIN
    UPDATE enrollment_activity SET last_refill = new.date, last_refill_days = new.days_supplied
    WHERE enrollment_id = new.enrollment_id AND (last_refill IS NULL OR last_refill <= new.date);
END;
CREATE TRIGGER enrollment_activity_changed_event
AFTER UPDATE OF enrollment_id, deleted, kind, date, days_supplied ON service_events BEGIN
    UPDATE enrollment_activity SET
        last_dose = (SELECT max(x.date) FROM service_events x
                     WHERE x.enrollment_id = enrollment_activity.enrollment_id AND x.deleted = 0 AND x.kind = 'dose'),
        (last_refill, last_refill_days) = (SELECT x.date, x.days_supplied FROM service_events x
                     WHERE x.enrollment_id = enrollment_activity.enrollment_id AND x.deleted = 0 AND x.kind = 'refill'
                     ORDER BY x.date DESC, x.rowid DESC LIMIT 1)
    WHERE enrollment_id IN (old.enrollment_id, new.enrollment_id);
END;
UPDATE enrollment_activity SET
    last_dose = (SELECT max(x.date) FROM service_events x
                 WHERE x.enrollment_id = enrollment_activity.enrollment_id AND x.deleted = 0 AND x.kind = 'dose'),
    (last_refill, last_refill_days) = (SELECT x.date, x.days_supplied FROM service_events x
                 WHERE x.enrollment_id = enrollment_activity.enrollment_id AND x.deleted = 0 AND x.kind = 'refill'
                 ORDER BY x.date DESC, x.rowid DESC LIMIT 1);
CREATE TRIGGER client_activity_new_client AFTER INSERT ON clients BEGIN
    INSERT INTO client_activity(client_id, last_contact, live, open, code, status, registered_on, worker)
    VALUES (new.id, NULL, new.deleted = 0, new.deleted = 0 AND new.status NOT IN ('moved', 'deceased', 'exited'),
            new.code, new.status, new.registered_on, new.assigned_worker)
    ON CONFLICT(client_id) DO UPDATE SET live = excluded.live, open = excluded.open, code = excluded.code,
        status = excluded.status, registered_on = excluded.registered_on, worker = excluded.worker;
END;
CREATE TRIGGER client_activity_changed_client
AFTER UPDATE OF code, status, registered_on, assigned_worker, deleted ON clients BEGIN
    UPDATE client_activity SET
        live = new.deleted = 0,
        open = new.deleted = 0 AND new.status NOT IN ('moved', 'deceased', 'exited'),
        code = new.code, status = new.status, registered_on = new.registered_on,
        worker = new.assigned_worker
    WHERE client_id = new.id;
END;
"#;

/// Indexes over live rows only, so that "latest contact of each client" and
/// "latest dose or refill of each enrollment" are answered from the index
/// alone (the worklists ask them for every client). Records are never
/// hard-deleted, so foreign keys never need the full index.
const LIVE_INDEXES: &str = r#"
DROP INDEX contacts_client;
CREATE INDEX contacts_client ON contacts(client_id, date) WHERE deleted = 0;
DROP INDEX service_events_enrollment;
CREATE INDEX service_events_enrollment ON service_events(enrollment_id, kind, date) WHERE deleted = 0;

-- Each client's latest live contact, kept by triggers: "no contact for 90
-- days" then reads a range of one small index instead of every client's
-- contacts. Local to this database (derived, never synced).
CREATE TABLE client_activity (
    client_id BLOB PRIMARY KEY NOT NULL REFERENCES clients(id),
    last_contact TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX client_activity_last ON client_activity(last_contact);
INSERT INTO client_activity(client_id, last_contact)
    SELECT c.id, (SELECT max(x.date) FROM contacts x WHERE x.client_id = c.id AND x.deleted = 0) FROM clients c;
CREATE TRIGGER client_activity_new_client AFTER INSERT ON clients BEGIN
    INSERT OR IGNORE INTO client_activity(client_id, last_contact) VALUES (new.id, NULL);
END;
-- Bulk writes (demo, import) mark themselves in meta and update the
-- activity once per client instead of once per contact.
CREATE TRIGGER client_activity_new_contact AFTER INSERT ON contacts
WHEN new.deleted = 0 AND (SELECT value FROM meta WHERE key = 'bulk_write') IS NULL BEGIN
    UPDATE client_activity SET last_contact = new.date
    WHERE client_id = new.client_id AND (last_contact IS NULL OR last_contact < new.date);
END;
CREATE TRIGGER client_activity_changed_contact AFTER UPDATE OF date, deleted, client_id ON contacts BEGIN
    UPDATE client_activity SET last_contact =
        (SELECT max(x.date) FROM contacts x WHERE x.client_id = old.client_id AND x.deleted = 0)
    WHERE client_id = old.client_id;
    UPDATE client_activity SET last_contact =
        (SELECT max(x.date) FROM contacts x WHERE x.client_id = new.client_id AND x.deleted = 0)
    WHERE client_id = new.client_id;
END;
"#;

/// Columns every record table starts with (see `store::records`).
/// id, created_at (unix ms), updated_at (unix ms), updated_by, device_id, deleted.
const INITIAL: &str = r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    username TEXT NOT NULL COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('outreach','coordinator','manager','admin')),
    active INTEGER NOT NULL DEFAULT 1,
    language TEXT NOT NULL DEFAULT 'en',
    password_set_at INTEGER
) STRICT;
CREATE UNIQUE INDEX users_username ON users(username) WHERE deleted = 0;

CREATE TABLE clients (
    rid INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    code TEXT NOT NULL,
    nickname TEXT, name TEXT,
    sex TEXT NOT NULL, gender TEXT, birth_year INTEGER, phone TEXT,
    province TEXT, district TEXT, commune TEXT,
    key_populations TEXT NOT NULL DEFAULT '', substances TEXT NOT NULL DEFAULT '',
    hiv_status TEXT NOT NULL, hiv_last_test TEXT,
    consent_date TEXT, consent_scope TEXT,
    assigned_worker BLOB REFERENCES users(id),
    status TEXT NOT NULL,
    registered_on TEXT,
    notes TEXT
) STRICT;
CREATE UNIQUE INDEX clients_code ON clients(code) WHERE deleted = 0;
CREATE INDEX clients_worker ON clients(assigned_worker);
CREATE INDEX clients_nickname ON clients(nickname) WHERE deleted = 0;

-- Substring search over code, nickname and phone. External content, kept in
-- step by triggers; deleted (tombstoned) clients are taken out.
CREATE VIRTUAL TABLE clients_fts USING fts5(
    code, nickname, phone, content='clients', content_rowid='rid', tokenize='trigram'
);
CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients WHEN new.deleted = 0 BEGIN
    INSERT INTO clients_fts(rowid, code, nickname, phone) VALUES (new.rid, new.code, new.nickname, new.phone);
END;
CREATE TRIGGER clients_fts_update_old AFTER UPDATE ON clients WHEN old.deleted = 0 BEGIN
    INSERT INTO clients_fts(clients_fts, rowid, code, nickname, phone) VALUES ('delete', old.rid, old.code, old.nickname, old.phone);
END;
CREATE TRIGGER clients_fts_update_new AFTER UPDATE ON clients WHEN new.deleted = 0 BEGIN
    INSERT INTO clients_fts(rowid, code, nickname, phone) VALUES (new.rid, new.code, new.nickname, new.phone);
END;
CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients WHEN old.deleted = 0 BEGIN
    INSERT INTO clients_fts(clients_fts, rowid, code, nickname, phone) VALUES ('delete', old.rid, old.code, old.nickname, old.phone);
END;

CREATE TABLE contacts (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    client_id BLOB NOT NULL REFERENCES clients(id),
    date TEXT NOT NULL,
    worker_id BLOB REFERENCES users(id),
    kind TEXT NOT NULL, place TEXT,
    needles_syringes INTEGER NOT NULL DEFAULT 0 CHECK (needles_syringes >= 0),
    condoms INTEGER NOT NULL DEFAULT 0 CHECK (condoms >= 0),
    naloxone INTEGER NOT NULL DEFAULT 0 CHECK (naloxone >= 0),
    hiv_test TEXT NOT NULL, hiv_result TEXT,
    referrals TEXT NOT NULL DEFAULT '',
    notes TEXT
) STRICT;
CREATE INDEX contacts_client ON contacts(client_id, date);
CREATE INDEX contacts_date ON contacts(date);
CREATE INDEX contacts_worker ON contacts(worker_id);

CREATE TABLE locations (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL COLLATE NOCASE,
    kind TEXT NOT NULL, province TEXT,
    methadone TEXT NOT NULL, art TEXT NOT NULL, ngo_access TEXT NOT NULL,
    contact TEXT, last_verified TEXT, notes TEXT
) STRICT;
CREATE UNIQUE INDEX locations_name ON locations(name) WHERE deleted = 0;

CREATE TABLE arrests (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    client_id BLOB NOT NULL REFERENCES clients(id),
    date TEXT NOT NULL,
    province TEXT, district TEXT, place TEXT,
    authority TEXT NOT NULL, reasons TEXT NOT NULL DEFAULT '',
    informer_suspected INTEGER NOT NULL DEFAULT 0,
    abuse TEXT NOT NULL DEFAULT '',
    legal_aid INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    raid_id BLOB,
    notes TEXT
) STRICT;
CREATE INDEX arrests_client ON arrests(client_id, date);
CREATE INDEX arrests_date ON arrests(date);
CREATE INDEX arrests_raid ON arrests(raid_id) WHERE raid_id IS NOT NULL;

CREATE TABLE detentions (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    client_id BLOB NOT NULL REFERENCES clients(id),
    location_id BLOB NOT NULL REFERENCES locations(id),
    started_on TEXT NOT NULL, ended_on TEXT,
    basis TEXT,
    arrest_id BLOB REFERENCES arrests(id),
    release_reason TEXT,
    notes TEXT,
    CHECK (ended_on IS NULL OR ended_on >= started_on)
) STRICT;
CREATE INDEX detentions_client ON detentions(client_id, started_on);
CREATE INDEX detentions_location ON detentions(location_id);
CREATE INDEX detentions_arrest ON detentions(arrest_id);
CREATE INDEX detentions_open ON detentions(ended_on, started_on);

CREATE TABLE enrollments (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    client_id BLOB NOT NULL REFERENCES clients(id),
    service TEXT NOT NULL, provider TEXT, number TEXT,
    started_on TEXT NOT NULL, ended_on TEXT,
    status TEXT NOT NULL,
    dose_mg REAL, regimen TEXT,
    CHECK (ended_on IS NULL OR ended_on >= started_on)
) STRICT;
CREATE INDEX enrollments_client ON enrollments(client_id, service);

CREATE TABLE service_events (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    enrollment_id BLOB NOT NULL REFERENCES enrollments(id),
    client_id BLOB NOT NULL REFERENCES clients(id),
    date TEXT NOT NULL,
    kind TEXT NOT NULL,
    days_supplied INTEGER CHECK (days_supplied IS NULL OR days_supplied >= 0),
    dose_mg REAL, cause TEXT, notes TEXT
) STRICT;
CREATE INDEX service_events_enrollment ON service_events(enrollment_id, date);
CREATE INDEX service_events_client ON service_events(client_id, date);

CREATE TABLE followups (
    id BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    updated_by BLOB, device_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    client_id BLOB NOT NULL REFERENCES clients(id),
    worker_id BLOB REFERENCES users(id),
    due TEXT NOT NULL, reason TEXT NOT NULL,
    rule TEXT, source_id BLOB,
    done_on TEXT, outcome TEXT
) STRICT;
CREATE INDEX followups_client ON followups(client_id);
CREATE INDEX followups_worker ON followups(worker_id, done_on, due);
CREATE UNIQUE INDEX followups_rule ON followups(rule, source_id) WHERE rule IS NOT NULL AND deleted = 0;

-- Append-only: rows can be added, never changed or removed.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user_id BLOB,
    device_id TEXT NOT NULL,
    action TEXT NOT NULL,
    record_kind TEXT,
    record_id BLOB,
    detail TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_record ON audit(record_id);
CREATE INDEX audit_user ON audit(user_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
"#;

/// How many migrations this build knows; a database past this is from a newer Tether.
/// Migration 7: open follow-ups by due date, for everyone's list (the
/// worker's list has `followups_worker`); found by the plan test.
const OPEN_FOLLOWUPS: &str = "
CREATE INDEX followups_open ON followups(due, client_id) WHERE deleted = 0 AND done_on IS NULL;
";

/// Migration 8: "lost to follow-up" is derived from the contacts
/// (`continuity::case_status`), never stored. A status written by an
/// earlier Tether becomes active here, on every laptop alike as it
/// updates; one still arriving in an older laptop's bundle reads as active.
const DERIVED_LOST: &str = "
UPDATE clients SET status = 'active' WHERE status = 'lost_to_follow_up';
";

pub const MIGRATIONS_COUNT: usize = MIGRATION_LIST.len();

/// Tables of records that carry the common bookkeeping columns.
pub const RECORD_TABLES: &[&str] = &[
    "users",
    "clients",
    "contacts",
    "locations",
    "arrests",
    "detentions",
    "enrollments",
    "service_events",
    "followups",
];
