//! Need-to-know sync: what each laptop holds.
//!
//! An office laptop holds every client. A field laptop holds the clients
//! of the outreach workers in its **scope**, set by an admin on the office
//! laptop (`sync_devices.scope`, a JSON list of worker ids; NULL: every
//! client). The office writes each scoped laptop a bundle of its own,
//! sealed for it alone, with that scope inside; the field laptop keeps the
//! scope (`meta` `sync.scope`) and **purges** every client outside it, with
//! all their records, once the office has its changes to them: the rows
//! are deleted (not tombstoned), `secure_delete` zeroes what they leave,
//! the search index is rebuilt and the file vacuumed.
//!
//! `sync_holdings` (office side) remembers which clients each scoped
//! laptop was sent whole, and at which stamp of the office's clock: a
//! client that enters a scope is sent with every record of theirs, not only
//! what changed since the laptop last synced, until the laptop says it has
//! merged that bundle; one that leaves it is sent its last change (the
//! reassignment) until then, so that the laptop knows to purge it.

use super::*;

/// Which clients a laptop holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every client (office laptops).
    #[default]
    All,
    /// The clients assigned to these outreach workers (user ids).
    Workers(Vec<Uuid>),
    /// A field laptop whose clients no admin has chosen here yet: it
    /// receives nothing from this laptop.
    NotChosen,
}

impl Scope {
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// As stored: `all`, a JSON list of ids, or NULL for not chosen.
    fn to_column(&self) -> Option<String> {
        match self {
            Scope::All => Some(bundle::SCOPE_ALL.to_owned()),
            Scope::Workers(w) => Some(
                serde_json::Value::from(
                    w.iter().map(|u| u.simple().to_string()).collect::<Vec<_>>(),
                )
                .to_string(),
            ),
            Scope::NotChosen => None,
        }
    }

    pub(crate) fn from_column(text: Option<&str>) -> Scope {
        match text {
            None => Scope::NotChosen,
            Some(t) if t == bundle::SCOPE_ALL => Scope::All,
            Some(t) => Scope::Workers(
                serde_json::from_str::<Vec<String>>(t)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect(),
            ),
        }
    }
}

/// Meta key of this laptop's own scope, as the office last sent it.
const OWN_SCOPE: &str = "sync.scope";

/// Meta key of the office laptop whose scopes this laptop takes: the first
/// that gave it one (or, joined by invitation, the one that invited it).
const SCOPE_OFFICE: &str = "sync.scope_office";

/// Meta key (with the laptop's id after it) of the highest `top` of a
/// bundle this laptop has sealed for that laptop: it cannot have merged
/// more of ours than that, whatever its bundle says.
pub(super) const WRITTEN_FOR: &str = "sync.written_for.";

/// The tables of a client's records, children before parents (the order
/// a purge deletes them in).
const CLIENT_TABLES: &[&str] = &[
    "followups",
    "service_events",
    "detentions",
    "enrollments",
    "arrests",
    "contacts",
];

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Clients removed from this laptop, with every record of theirs.
    pub clients: usize,
    /// Clients outside the scope kept until the office has this laptop's
    /// changes to them.
    pub waiting: usize,
}

/// This laptop's own scope, as the office last set it (All until then).
pub(super) fn own_scope_on(conn: &Connection) -> Result<Scope, StoreError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([OWN_SCOPE], |r| r.get(0))
        .optional()?;
    Ok(match text {
        None => Scope::All,
        Some(t) => Scope::from_column(Some(&t)),
    })
}

/// Fills `temp.scope_clients` with what a bundle for `device` (scope
/// `workers`, which has merged our changes up to `acked`) carries: its
/// clients (`whole` when the laptop may not have every record of theirs
/// yet) and those it holds that have left it (`leaving`).
pub(super) fn fill_scope(
    conn: &Connection,
    device: &str,
    workers: &[Uuid],
    acked: i64,
) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS scope_workers(id BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS scope_clients(id BLOB PRIMARY KEY, whole INTEGER NOT NULL, leaving INTEGER NOT NULL) WITHOUT ROWID;
         DELETE FROM temp.scope_workers; DELETE FROM temp.scope_clients;",
    )?;
    let mut add =
        conn.prepare_cached("INSERT OR IGNORE INTO temp.scope_workers(id) VALUES (?1)")?;
    for w in workers {
        add.execute([w])?;
    }
    conn.execute(
        "INSERT INTO temp.scope_clients(id, whole, leaving)
         SELECT c.id, NOT EXISTS (SELECT 1 FROM sync_holdings h WHERE h.device_id = ?1
                 AND h.client_id = c.id AND h.sent_top <= ?2 AND h.left_top IS NULL), 0
         FROM clients c WHERE c.assigned_worker IN (SELECT id FROM temp.scope_workers)",
        params![device, acked],
    )?;
    // Held and no longer in the scope: the laptop is told until it says it
    // has purged the client (its changes to it are taken until then).
    conn.execute(
        "INSERT OR IGNORE INTO temp.scope_clients(id, whole, leaving)
         SELECT client_id, 0, 1 FROM sync_holdings WHERE device_id = ?1",
        [device],
    )?;
    Ok(())
}

/// A purged client as a field laptop reports it: a hash of its id, so that
/// the laptop keeps no trace of the id itself.
pub(super) fn purge_hash(id: &[u8]) -> Vec<u8> {
    use blake2::Digest;
    let mut h = blake2::Blake2b512::new();
    h.update(b"tether purged client\0");
    h.update(id);
    h.finalize()[..32].to_vec()
}

/// The office forgets the clients a field laptop says it has purged.
pub(super) fn confirm_purged(
    tx: &Transaction<'_>,
    device: &str,
    hashes: &[String],
) -> Result<(), StoreError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let wanted: HashSet<Vec<u8>> = hashes.iter().filter_map(|h| hex::decode(h).ok()).collect();
    let held: Vec<Vec<u8>> = tx
        .prepare_cached("SELECT client_id FROM sync_holdings WHERE device_id = ?1")?
        .query_map([device], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut forget =
        tx.prepare_cached("DELETE FROM sync_holdings WHERE device_id = ?1 AND client_id = ?2")?;
    for id in held {
        if wanted.contains(&purge_hash(&id)) {
            forget.execute(params![device, id])?;
        }
    }
    Ok(())
}

/// What a field laptop tells the office it has purged (hashes, hex).
pub(super) fn purged_hashes(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT hash FROM sync_purged ORDER BY hash")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(hex::encode(r?));
    }
    Ok(out)
}

/// The clients a bundle for a scoped laptop says have left it (hex ids).
pub(super) fn leaving_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id FROM temp.scope_clients WHERE leaving = 1 ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for id in ids {
        out.push(hex::encode(id?));
    }
    Ok(out)
}

/// After a bundle for `device` was written at `top`: the clients it was
/// sent whole, and those that left it.
pub(super) fn record_holdings(conn: &Connection, device: &str, top: i64) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO sync_holdings(device_id, client_id, sent_top, left_top)
         SELECT ?1, id, ?2, NULL FROM temp.scope_clients WHERE leaving = 0 AND whole = 1
         ON CONFLICT(device_id, client_id) DO UPDATE SET sent_top = excluded.sent_top, left_top = NULL",
        params![device, top],
    )?;
    tx.execute(
        "UPDATE sync_holdings SET left_top = ?2 WHERE device_id = ?1 AND left_top IS NULL
         AND client_id IN (SELECT id FROM temp.scope_clients WHERE leaving = 1)",
        params![device, top],
    )?;
    tx.commit()?;
    Ok(())
}

impl Store {
    /// Whether this laptop is an office laptop with field laptops of its
    /// own (one is enrolled here as a member): it holds every client and
    /// never takes a scope or a purge from a bundle.
    pub fn is_hub(&self) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM sync_devices WHERE trust = 'member')",
            [],
            |r| r.get(0),
        )?)
    }

    /// The office laptop whose scopes this laptop takes, once one has.
    pub fn scope_office(&self) -> Result<Option<String>, StoreError> {
        meta_get(self.conn(), SCOPE_OFFICE)
    }

    /// Whether the scope an office laptop's bundle carries is taken (the
    /// rule is [`policy::scope_word`]; this reads its facts).
    pub(super) fn scope_word(
        &self,
        header: &bundle::Header,
        payload: &Payload,
    ) -> Result<Result<policy::ScopeWord, crate::sync::ScopeRefusal>, StoreError> {
        let office = self.scope_office()?;
        let everything = payload
            .scope
            .as_ref()
            .is_some_and(|w| w.len() == 1 && w[0] == bundle::SCOPE_ALL)
            && payload.leaving.is_empty();
        Ok(policy::scope_word(&policy::ScopeFacts {
            carried: payload.scope.is_some(),
            everything,
            hub: self.is_hub()?,
            office: office.as_deref(),
            sender: &header.device,
            addressed: header
                .recipients
                .iter()
                .all(|r| r.device == self.device_id() || r.device == header.device),
        }))
    }

    /// The scope an admin set for another laptop (All when none is set).
    pub fn device_scope(&self, device: &str) -> Result<Scope, StoreError> {
        let text: Option<Option<String>> = self
            .conn()
            .prepare_cached("SELECT scope FROM sync_devices WHERE device_id = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?;
        Ok(Scope::from_column(text.flatten().as_deref()))
    }

    /// This laptop's own scope, as the office last set it (All until then).
    pub fn own_scope(&self) -> Result<Scope, StoreError> {
        own_scope_on(self.conn())
    }

    /// Sets which clients a field laptop holds (admins only, audited): its
    /// next bundle carries exactly those, and it purges the others.
    /// Office laptops hold everything; a laptop must be enrolled as a field
    /// laptop first; every worker must be a user known here.
    pub fn set_device_scope(&mut self, device: &str, scope: &Scope) -> Result<(), StoreError> {
        self.require(Permission::SyncSetup)?;
        let trust = self
            .sync_devices()?
            .into_iter()
            .find(|d| d.device_id == device && !d.this_laptop)
            .map(|d| d.trust);
        match (trust, scope) {
            (None, _) => {
                return Err(ValidationError::Inconsistent {
                    field: "device",
                    reason: format!("no laptop {device} is known here"),
                }
                .into());
            }
            (_, Scope::NotChosen) => {
                return Err(ValidationError::Required { field: "scope" }.into());
            }
            (Some(Trust::Member), _) | (Some(_), Scope::All) => {}
            (Some(t), Scope::Workers(_)) => {
                return Err(ValidationError::Inconsistent {
                    field: "scope",
                    reason: format!(
                        "laptop {device} is enrolled as {}: only a field laptop (member) holds a scope of workers",
                        t.as_str()
                    ),
                }
                .into());
            }
        }
        let mut names = Vec::new();
        if let Scope::Workers(workers) = scope {
            if workers.len() > 200 {
                return Err(ValidationError::OutOfRange {
                    field: "workers",
                    reason: "a laptop's scope names at most 200 workers".into(),
                }
                .into());
            }
            let users = self.users()?;
            for w in workers {
                let user = users.iter().find(|u| u.id() == *w).ok_or_else(|| {
                    ValidationError::Inconsistent {
                        field: "workers",
                        reason: format!("no user {w} is known here"),
                    }
                })?;
                names.push(user.data.username.clone());
            }
        }
        let column = scope.to_column();
        let what = if scope.is_all() {
            "every client".to_owned()
        } else {
            format!("the clients of {}", names.join(", "))
        };
        if let Some(reason) = crate::sync::device_id_problem(device) {
            return Err(ValidationError::Inconsistent {
                field: "device",
                reason: reason.into(),
            }
            .into());
        }
        self.write(|tx, ctx| {
            tx.execute(
                "UPDATE sync_devices SET scope = ?2, changed_by = ?3, changed_at = ?4 WHERE device_id = ?1",
                params![device, column, ctx.user_id, ctx.now],
            )?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("device"),
                None,
                &format!("laptop {device} now holds {what}"),
            )
        })
    }

    /// Clients a scoped laptop holds (sent whole and confirmed by it).
    pub fn clients_held_by(&self, device: &str) -> Result<i64, StoreError> {
        let acked = self.acked_by(device)?;
        Ok(self.conn().query_row(
            "SELECT count(*) FROM sync_holdings WHERE device_id = ?1 AND left_top IS NULL AND sent_top <= ?2",
            params![device, acked],
            |r| r.get(0),
        )?)
    }

    /// Keeps the scope an office's bundle gave this laptop (`["all"]`: every
    /// client), notes the clients it says left it, and purges every client
    /// outside the scope whose changes made here the office has.
    pub(super) fn apply_scope(
        &mut self,
        payload: &Payload,
        office: &str,
    ) -> Result<Purged, StoreError> {
        let Some(workers) = &payload.scope else {
            return Ok(Purged::default());
        };
        let scope = if workers.len() == 1 && workers[0] == bundle::SCOPE_ALL {
            Scope::All
        } else {
            Scope::Workers(
                workers
                    .iter()
                    .filter_map(|w| Uuid::parse_str(w).ok())
                    .collect(),
            )
        };
        let arriving: Vec<Vec<u8>> = payload
            .tables
            .iter()
            .filter(|t| t.table == "clients")
            .flat_map(|t| {
                let at = t.columns.iter().position(|c| c == "id");
                t.rows.iter().filter_map(move |r| match at.map(|i| &r[i]) {
                    Some(Value::Blob(b)) => Some(b.clone()),
                    _ => None,
                })
            })
            .collect();
        let leaving: Vec<Vec<u8>> = payload
            .leaving
            .iter()
            .filter_map(|h| hex::decode(h).ok())
            .filter(|b| b.len() == 16)
            .collect();
        let changed = self.own_scope()? != scope;
        let count = match &scope {
            Scope::Workers(w) => w.len(),
            _ => 0,
        };
        // What the office has said it merged of ours includes our report
        // of the clients purged before: forgotten here.
        let acked = self.acked_by(office)?;
        let pinned = self.scope_office()?.is_some();
        self.write(|tx, ctx| {
            if !pinned && !scope.is_all() {
                meta_set(tx, SCOPE_OFFICE, Some(office))?;
            }
            if changed {
                // Every client: no scope kept (an office laptop's state).
                let column = if scope.is_all() {
                    None
                } else {
                    scope.to_column()
                };
                meta_set(tx, OWN_SCOPE, column.as_deref())?;
                ctx.audit(
                    tx,
                    AuditAction::Sync,
                    Some("device"),
                    None,
                    &if scope.is_all() {
                        format!("office laptop {office} set this laptop to hold every client")
                    } else {
                        format!("office laptop {office} set this laptop's scope: {count} worker(s)")
                    },
                )?;
            }
            tx.execute("DELETE FROM sync_purged WHERE purged_at <= ?1", [acked])?;
            // A client sent again (back in the scope) is not leaving.
            let mut keep = tx.prepare_cached("DELETE FROM sync_leaving WHERE client_id = ?1")?;
            for id in &arriving {
                keep.execute([id])?;
            }
            let mut add =
                tx.prepare_cached("INSERT OR IGNORE INTO sync_leaving(client_id) VALUES (?1)")?;
            for id in &leaving {
                add.execute([id])?;
            }
            Ok(())
        })?;
        match scope {
            Scope::Workers(ids) => self.purge_outside(&ids, office),
            _ => Ok(Purged::default()),
        }
    }

    /// Deletes every client assigned to a worker outside `workers` (and
    /// all their records, conflicts and audit entries) whose changes made
    /// on this laptop `office` has merged; then wipes what they left.
    fn purge_outside(&mut self, workers: &[Uuid], office: &str) -> Result<Purged, StoreError> {
        let acked = self.acked_by(office)?;
        let me = self.device_id().to_owned();
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS scope_workers(id BLOB PRIMARY KEY) WITHOUT ROWID;
             CREATE TEMP TABLE IF NOT EXISTS purge_clients(id BLOB PRIMARY KEY) WITHOUT ROWID;
             CREATE TEMP TABLE IF NOT EXISTS purge_records(id BLOB PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.scope_workers; DELETE FROM temp.purge_clients; DELETE FROM temp.purge_records;",
        )?;
        {
            let mut add = self
                .conn
                .prepare_cached("INSERT OR IGNORE INTO temp.scope_workers(id) VALUES (?1)")?;
            for w in workers {
                add.execute([w])?;
            }
        }
        // Outside the scope: assigned to no worker of it (none included),
        // or said by the office to have left it.
        const OUTSIDE: &str = "(c.assigned_worker IS NULL OR c.assigned_worker NOT IN (SELECT id FROM temp.scope_workers)
             OR c.id IN (SELECT client_id FROM sync_leaving))";
        let outside: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM clients c WHERE {OUTSIDE}"),
            [],
            |r| r.get(0),
        )?;
        if outside == 0 {
            return Ok(Purged::default());
        }
        // Those with a change made here the office has not said it merged wait.
        let mut unsent = vec![format!("(c.device_id = ?1 AND c.updated_at > ?2)")];
        for t in CLIENT_TABLES {
            unsent.push(format!(
                "EXISTS (SELECT 1 FROM {t} x WHERE x.client_id = c.id AND x.device_id = ?1 AND x.updated_at > ?2)"
            ));
        }
        self.conn.execute(
            &format!(
                "INSERT INTO temp.purge_clients(id) SELECT c.id FROM clients c
                 WHERE {OUTSIDE} AND NOT ({})",
                unsent.join(" OR ")
            ),
            params![me, acked],
        )?;
        let clients: i64 =
            self.conn
                .query_row("SELECT count(*) FROM temp.purge_clients", [], |r| r.get(0))?;
        let waiting = usize::try_from(outside - clients).unwrap_or(0);
        if clients == 0 {
            return Ok(Purged {
                clients: 0,
                waiting,
            });
        }
        self.conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let result = self.write(|tx, ctx| {
            tx.execute(
                "INSERT OR IGNORE INTO temp.purge_records(id) SELECT id FROM temp.purge_clients",
                [],
            )?;
            for t in CLIENT_TABLES {
                tx.execute(
                    &format!(
                        "INSERT OR IGNORE INTO temp.purge_records(id) SELECT id FROM {t} WHERE client_id IN (SELECT id FROM temp.purge_clients)"
                    ),
                    [],
                )?;
            }
            // The audit is append-only; its entries about these records go
            // with them, and those about other records that name a purged
            // client in their words (a record moved to it, clients merged):
            // they would tell who was seen, and when.
            let ids: Vec<Vec<u8>> = tx
                .prepare("SELECT id FROM temp.purge_clients")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            tx.execute_batch(
                "DROP TRIGGER audit_no_delete;
                 DELETE FROM audit WHERE record_id IN (SELECT id FROM temp.purge_records);",
            )?;
            {
                let mut drop_named =
                    tx.prepare("DELETE FROM audit WHERE instr(detail, ?1) > 0")?;
                for id in &ids {
                    if let Ok(u) = Uuid::from_slice(id) {
                        drop_named.execute([u.to_string()])?;
                    }
                }
            }
            tx.execute_batch(
                "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
                     SELECT RAISE(ABORT, 'the audit log is append-only');
                 END;
                 DELETE FROM sync_conflicts WHERE record_id IN (SELECT id FROM temp.purge_records);",
            )?;
            for t in CLIENT_TABLES {
                if *t == "enrollments" {
                    tx.execute(
                        "DELETE FROM enrollment_activity WHERE client_id IN (SELECT id FROM temp.purge_clients)",
                        [],
                    )?;
                }
                tx.execute(
                    &format!("DELETE FROM {t} WHERE client_id IN (SELECT id FROM temp.purge_clients)"),
                    [],
                )?;
            }
            // Reported to the office by a hash of each id (not the id).
            {
                let mut note = tx.prepare(
                    "INSERT INTO sync_purged(hash, purged_at) VALUES (?1, ?2)
                     ON CONFLICT(hash) DO UPDATE SET purged_at = excluded.purged_at",
                )?;
                for id in ids {
                    note.execute(params![purge_hash(&id), ctx.now])?;
                }
            }
            tx.execute_batch(
                "DELETE FROM sync_leaving WHERE client_id IN (SELECT id FROM temp.purge_clients);
                 DELETE FROM client_activity WHERE client_id IN (SELECT id FROM temp.purge_clients);
                 DELETE FROM clients WHERE id IN (SELECT id FROM temp.purge_clients);
                 INSERT INTO clients_fts(clients_fts) VALUES ('rebuild');
                 INSERT INTO clients_fts(clients_fts) VALUES ('optimize');
                 DELETE FROM temp.purge_clients; DELETE FROM temp.purge_records;",
            )?;
            ctx.audit(
                tx,
                AuditAction::Sync,
                None,
                None,
                &format!(
                    "removed {clients} client(s) and all their records from this laptop: no longer in its scope ({waiting} waiting for the office to have this laptop's changes)"
                ),
            )
        });
        let restored = self.conn.execute_batch("PRAGMA foreign_keys = ON;");
        result?;
        restored?;
        // Nothing of them left in the file: rewritten whole, and the
        // write-ahead log emptied (a reading thread of the window may hold
        // it for a moment: tried again).
        self.conn.execute_batch("VACUUM;")?;
        for _ in 0..50 {
            let busy: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Nor in the automatic backups: a fresh one replaces them all.
        let backup = self.auto_backup(self.today())?;
        super::super::backup::remove_auto_backups_except(&self.backup_dir(), &backup.path)?;
        Ok(Purged {
            clients: usize::try_from(clients).unwrap_or(0),
            waiting,
        })
    }
}
