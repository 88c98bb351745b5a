//! Writing this database's changes as a bundle.

use super::scope::{fill_scope, leaving_ids, own_scope_on, purged_hashes, record_holdings};
use super::*;

/// A bundle for one scoped (field) laptop: its workers, and how far it has
/// merged our changes.
pub(super) struct Addressed<'a> {
    pub device: &'a str,
    pub workers: &'a [Uuid],
    pub acked: i64,
}

/// Columns of a record that name a user: the users a bundle's rows name
/// go with it (a merge refuses a change by a user it does not know).
const USER_COLUMNS: &[&str] = &["updated_by", "assigned_worker", "worker_id"];

/// Writes the bundle of every change after `since` (0: everything), sealed
/// for `recipients`; for a scoped laptop, only its clients (see
/// [`super::scope`]).
pub(super) fn export_on(
    conn: &Connection,
    key: &SyncKey,
    device: &str,
    since: i64,
    now: i64,
    recipients: &[(String, String)],
    addressed: Option<&Addressed<'_>>,
) -> Result<Exported, StoreError> {
    // One read transaction: the rows and `top` are one moment's.
    let tx = conn.unchecked_transaction()?;
    let top = clock_last(&tx)?;
    if let Some(a) = addressed {
        fill_scope(&tx, a.device, a.workers, a.acked)?;
    }
    let mut tables = Vec::new();
    let mut records = 0;
    let mut named_users: HashSet<Vec<u8>> = HashSet::new();
    // A field laptop sends no user accounts: an office laptop takes none
    // from it (its own accounts stay on it; a password set there is its own).
    let field = addressed.is_none() && !own_scope_on(&tx)?.is_all();
    for table in schema::RECORD_TABLES {
        if field && *table == "users" {
            continue;
        }
        let columns = synced_columns(&tx, table)?;
        let list = columns
            .iter()
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        if addressed.is_some() && *table == "users" {
            // Written last (below), once every row has named its users.
            continue;
        }
        let changed = "max(coalesce(t.sync_seq, 0), t.updated_at) > ?1";
        let sql = match (addressed, *table) {
            // A field laptop sends only its own changes: the office takes
            // no other from it, and it need not hand back what it was sent.
            (None, _) if field => format!(
                "SELECT {list} FROM {table} t WHERE (?1 = 0 OR {changed}) AND t.device_id = ?2 ORDER BY t.rowid"
            ),
            (None, _) | (Some(_), "locations") => {
                format!(
                    "SELECT {list} FROM {table} t WHERE (?1 = 0 OR {changed}) AND ?2 = ?2 ORDER BY t.rowid"
                )
            }
            // Those leaving are named in the bundle's list, not sent.
            // From the scope's clients to their rows by each table's
            // client index (CROSS JOIN keeps that order: a hundred clients'
            // records, not a scan of a million contacts).
            (Some(_), "clients") => format!(
                "SELECT {list} FROM temp.scope_clients s CROSS JOIN clients t ON t.id = s.id
                 WHERE s.leaving = 0 AND (s.whole = 1 OR {changed}) AND ?2 = ?2 ORDER BY t.rowid"
            ),
            // (The contacts' client index holds live rows only; removed
            // ones have one of their own: two halves, each by its index.)
            (Some(_), "contacts") => format!(
                "SELECT {list} FROM temp.scope_clients s CROSS JOIN contacts t ON t.client_id = s.id AND t.deleted = 0
                 WHERE s.leaving = 0 AND (s.whole = 1 OR {changed}) AND ?2 = ?2
                 UNION ALL
                 SELECT {list} FROM temp.scope_clients s CROSS JOIN contacts t ON t.client_id = s.id AND t.deleted <> 0
                 WHERE s.leaving = 0 AND (s.whole = 1 OR {changed})"
            ),
            (Some(_), _) => format!(
                "SELECT {list} FROM temp.scope_clients s CROSS JOIN {table} t ON t.client_id = s.id
                 WHERE s.leaving = 0 AND (s.whole = 1 OR {changed}) AND ?2 = ?2 ORDER BY t.rowid"
            ),
        };
        let out = write_table(&tx, table, columns, &sql, since, device, &mut named_users)?;
        if !out.is_empty() {
            records += out.rows();
            tables.push(out);
        }
    }
    if addressed.is_some() {
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS named_users(id BLOB PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.named_users;",
        )?;
        let mut add =
            tx.prepare_cached("INSERT OR IGNORE INTO temp.named_users(id) VALUES (?1)")?;
        for u in &named_users {
            add.execute([u])?;
        }
        drop(add);
        let columns = synced_columns(&tx, "users")?;
        let list = columns
            .iter()
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {list} FROM users t WHERE ?1 = ?1 AND ?2 = ?2 AND (t.id IN (SELECT id FROM temp.named_users)
             OR t.id IN (SELECT id FROM temp.scope_workers)
             OR (t.role = 'admin' AND t.active = 1 AND t.deleted = 0)) ORDER BY t.rowid"
        );
        let mut none = HashSet::new();
        let out = write_table(&tx, "users", columns, &sql, since, device, &mut none)?;
        if !out.is_empty() {
            records += out.rows();
            tables.insert(0, out);
        }
    }
    let mut stmt = tx.prepare(
        "SELECT device_id, merged_up_to FROM sync_peers WHERE merged_up_to > 0 ORDER BY device_id",
    )?;
    let merged: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, i64)>, _>>()?
        .into_iter()
        // A scoped laptop's bundle names no other laptop.
        .filter(|(d, _)| addressed.is_none_or(|a| a.device == d))
        .collect();
    drop(stmt);
    // To a field laptop: the clients that left its scope; from one: the
    // clients it purged (hashes).
    let leaving = if addressed.is_some() {
        leaving_ids(&tx)?
    } else if field {
        purged_hashes(&tx)?
    } else {
        Vec::new()
    };
    // Committed, not rolled back: the temporary tables a scoped bundle
    // filled are read again below (nothing else was written).
    tx.commit()?;
    let signer = device_key_on(conn)?;
    // The writer can always open its own bundle again.
    let mut recipients = recipients.to_vec();
    if !recipients.iter().any(|(d, _)| d == device) {
        recipients.push((device.to_owned(), signer.public_hex()));
    }
    let recipients = recipients.as_slice();
    // Their own sealing keys, as their signed bundles gave them.
    let mut sealers: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT device_id, sealing_key FROM sync_devices WHERE sealing_key IS NOT NULL",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    if let Some(own) = signer.sealing_public_hex() {
        sealers.push((device.to_owned(), own));
    }
    let sealing = bundle::Sealing {
        key,
        signer: &signer,
        schema: schema::MIGRATIONS_COUNT,
        device,
        since,
        top,
        created_at: now,
        recipients,
        sealers: &sealers,
    };
    // The readers' scope: a scoped laptop's own; every client for those
    // an office laptop's own bundle is sealed for; none from a field laptop.
    let scope: Option<Vec<String>> = match addressed {
        Some(a) => Some(a.workers.iter().map(|w| w.simple().to_string()).collect()),
        None if !field => Some(vec![bundle::SCOPE_ALL.to_owned()]),
        None => None,
    };
    let bytes = bundle::seal_tables(&sealing, &merged, &tables, scope.as_deref(), &leaving)?;
    // Each laptop it is sealed for may say it merged up to `top`, no more.
    for (d, _) in recipients.iter().filter(|(d, _)| d != device) {
        conn.prepare_cached(
            "INSERT INTO meta(key, value) VALUES (?1 || ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
        )?
        .execute(params![super::scope::WRITTEN_FOR, d, top])?;
    }
    if let Some(a) = addressed {
        record_holdings(conn, a.device, top)?;
    }
    Ok(Exported {
        bytes,
        records,
        since,
        top,
    })
}

/// One table's rows for a bundle; the users its rows name are added to `named`.
fn write_table(
    tx: &Connection,
    table: &str,
    columns: Vec<String>,
    sql: &str,
    since: i64,
    device: &str,
    named: &mut HashSet<Vec<u8>>,
) -> Result<bundle::TableWriter, StoreError> {
    let n = columns.len();
    let user_at: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| USER_COLUMNS.contains(&c.as_str()))
        .map(|(i, _)| i)
        .collect();
    let mut out = bundle::TableWriter::new(table, columns);
    let mut stmt = tx.prepare(sql)?;
    let mut rows = stmt.query(params![since, device])?;
    while let Some(row) = rows.next()? {
        out.row();
        for i in 0..n {
            match row.get_ref(i)? {
                ValueRef::Null => out.null(),
                ValueRef::Integer(v) => out.int(v),
                ValueRef::Real(v) => out.real(v),
                ValueRef::Text(t) => out.text(&String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => {
                    if user_at.contains(&i) {
                        named.insert(b.to_vec());
                    }
                    out.blob(b)
                }
            }
        }
    }
    Ok(out)
}

impl Store {
    /// The laptops a bundle of this one's for every laptop holding every
    /// client is sealed for: device id and key. A field laptop (one the
    /// office gave a scope) writes for the office laptops alone; others for
    /// every laptop enrolled as office, or as a field laptop without a scope.
    pub fn main_recipients(&self) -> Result<Vec<(String, String)>, StoreError> {
        let restricted = !self.own_scope()?.is_all();
        let mut out = Vec::new();
        for d in self.sync_devices()? {
            // A field laptop holds every client only when an admin chose so.
            let reads = match d.trust {
                Trust::Office => true,
                Trust::Member => !restricted && d.scope == Scope::All,
                Trust::Pending | Trust::Retired => false,
            };
            if reads && !d.this_laptop {
                out.push((d.device_id, d.public_key));
            }
        }
        Ok(out)
    }

    /// A bundle of every change after `since` on this database's clock
    /// (0: everything it holds), sealed for every laptop that holds every
    /// client (see [`Store::main_recipients`]).
    pub fn sync_export(&self, key: &SyncKey, since: i64) -> Result<Exported, StoreError> {
        self.require(Permission::Sync)?;
        let recipients = self.main_recipients()?;
        export_on(
            self.conn(),
            key,
            self.device_id(),
            since,
            self.now_ms(),
            &recipients,
            None,
        )
    }

    /// A bundle for one other laptop, sealed for it alone: the changes it
    /// has not said it merged, and for a field laptop with a scope, only its
    /// clients (every record of those new to it).
    pub fn sync_export_for(&self, key: &SyncKey, device: &str) -> Result<Exported, StoreError> {
        self.require(Permission::Sync)?;
        let d = self
            .sync_devices()?
            .into_iter()
            .find(|d| d.device_id == device && !d.this_laptop)
            .filter(|d| matches!(d.trust, Trust::Member | Trust::Office))
            .ok_or_else(|| ValidationError::Inconsistent {
                field: "device",
                reason: format!(
                    "laptop {device} is not enrolled here: a bundle is sealed only for enrolled laptops"
                ),
            })?;
        self.export_for(key, &d, &self.own_scope()?)
    }

    /// [`Store::sync_export_for`] for a laptop already looked up, with this
    /// laptop's own scope (the folder sync writes one for each field laptop).
    pub(super) fn export_for(
        &self,
        key: &SyncKey,
        d: &SyncDevice,
        own: &Scope,
    ) -> Result<Exported, StoreError> {
        let device = d.device_id.as_str();
        let since = self.acked_by(device)?;
        let recipients = [(d.device_id.clone(), d.public_key.clone())];
        let workers = match (d.trust, &d.scope, own) {
            (Trust::Member, Scope::NotChosen, _) => {
                return Err(ValidationError::Inconsistent {
                    field: "device",
                    reason: format!(
                        "no admin has chosen which clients laptop {device} holds: choose them first (sync scope)"
                    ),
                }
                .into());
            }
            (Trust::Member, Scope::Workers(w), Scope::All) => Some(w.clone()),
            _ => None,
        };
        let addressed = workers.as_ref().map(|w| Addressed {
            device,
            workers: w,
            acked: since,
        });
        export_on(
            self.conn(),
            key,
            self.device_id(),
            since,
            self.now_ms(),
            &recipients,
            addressed.as_ref(),
        )
    }

    /// The highest stamp of ours `device` has said it merged (0: none),
    /// and never past the last bundle this laptop sealed for it.
    pub(super) fn acked_by(&self, device: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT min(acked_ours, coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?2 || ?1), 0))
                 FROM sync_peers WHERE device_id = ?1",
            )?
            .query_row(params![device, super::scope::WRITTEN_FOR], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// The highest `top` of a bundle this laptop sealed for `device` (0: none).
    pub(super) fn sent_to(&self, device: &str) -> Result<i64, StoreError> {
        let text: Option<String> = self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1 || ?2")?
            .query_row(params![super::scope::WRITTEN_FOR, device], |r| r.get(0))
            .optional()?;
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    /// The highest stamp of `device`'s this database has merged (0: none).
    pub fn merged_from(&self, device: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT merged_up_to FROM sync_peers WHERE device_id = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }
}
