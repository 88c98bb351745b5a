//! Merging a bundle: every row checked, decided, written in batches, in
//! one transaction.

use super::*;

/// Rows to insert into one table, written [`Inserts::ROWS`] to a statement.
pub(super) struct Inserts<'a> {
    table: &'a str,
    columns: &'a [String],
    rows: Vec<&'a [Value]>,
    /// The statement of a full batch, built once per table.
    full_sql: String,
}

impl<'a> Inserts<'a> {
    /// Rows per statement (SQLite allows 32,766 parameters; a table has
    /// at most 64 columns here).
    const ROWS: usize = 128;

    pub(super) fn new(table: &'a str, columns: &'a [String]) -> Inserts<'a> {
        Inserts {
            table,
            columns,
            rows: Vec::with_capacity(Self::ROWS),
            full_sql: Self::sql(table, columns, Self::ROWS),
        }
    }

    /// `INSERT OR FAIL` of `rows` rows, the stamp as `?1`.
    fn sql(table: &str, columns: &[String], rows: usize) -> String {
        let n = columns.len();
        let row_marks = |r: usize| {
            let marks: Vec<String> = (0..n).map(|c| format!("?{}", 2 + r * n + c)).collect();
            format!("({}, ?1)", marks.join(", "))
        };
        format!(
            "INSERT OR FAIL INTO {}({}, sync_seq) VALUES {}",
            table,
            columns.join(", "),
            (0..rows).map(row_marks).collect::<Vec<_>>().join(", ")
        )
    }

    pub(super) fn push(
        &mut self,
        tx: &Transaction<'_>,
        row: &'a [Value],
        stamp: i64,
    ) -> Result<(), StoreError> {
        self.rows.push(row);
        if self.rows.len() == Self::ROWS {
            self.flush(tx, stamp)?;
        }
        Ok(())
    }

    /// Writes the rows held. `OR FAIL`: a refused row fails the whole
    /// merge (one transaction), so SQLite need not be ready to undo one
    /// statement alone.
    pub(super) fn flush(&mut self, tx: &Transaction<'_>, stamp: i64) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.columns.len();
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(1 + n * self.rows.len());
        params.push(&stamp);
        for row in &self.rows {
            params.extend(row.iter().map(|v| v as &dyn ToSql));
        }
        // Full batches reuse one cached statement; the last, shorter one
        // of a table is prepared once.
        if self.rows.len() == Self::ROWS {
            tx.prepare_cached(&self.full_sql)?
                .execute(params.as_slice())?;
        } else {
            tx.prepare(&Self::sql(self.table, self.columns, self.rows.len()))?
                .execute(params.as_slice())?;
        }
        self.rows.clear();
        Ok(())
    }
}

/// One merged change: its clock, author, laptop, action, kind and record.
type HistoryRow = (i64, Option<Uuid>, String, AuditAction, &'static str, Uuid);

/// The history of merged changes: one audit entry a record a merge took
/// in (who made the change, on which laptop, when, and in which bundle),
/// as local writes have; written many to a statement.
pub(super) struct MergedHistory {
    rows: Vec<HistoryRow>,
    detail: String,
}

impl MergedHistory {
    const ROWS: usize = 128;

    pub(super) fn new(policy: &Policy) -> MergedHistory {
        MergedHistory {
            rows: Vec::with_capacity(Self::ROWS),
            detail: format!(
                "merged from laptop {}, bundle up to {}",
                policy.signer, policy.bundle_top
            ),
        }
    }

    /// Notes a change to `table`'s record (made at `incoming`'s clock by
    /// its author, on its laptop).
    pub(super) fn push(
        &mut self,
        tx: &Transaction<'_>,
        table: &str,
        incoming: &Incoming<'_>,
        at: &Positions,
        action: AuditAction,
    ) -> Result<(), StoreError> {
        let author = match &incoming.values[at.updated_by] {
            Value::Blob(b) => Uuid::from_slice(b).ok(),
            _ => None,
        };
        self.rows.push((
            incoming.version.clock,
            author,
            incoming.version.device.clone(),
            action,
            RecordKind::of_table(table).map_or("record", RecordKind::audit_kind),
            incoming.id,
        ));
        if self.rows.len() == Self::ROWS {
            self.flush(tx)?;
        }
        Ok(())
    }

    /// Notes every row of `table` that this merge (`stamp`) wrote as new.
    pub(super) fn all_new(
        &mut self,
        tx: &Transaction<'_>,
        table: &str,
        stamp: i64,
    ) -> Result<(), StoreError> {
        self.flush(tx)?;
        let kind = RecordKind::of_table(table).map_or("record", RecordKind::audit_kind);
        tx.execute(
            &format!(
                "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail)
                 SELECT updated_at, updated_by, device_id, 'create', ?1, id, ?2 FROM {table} WHERE sync_seq = ?3 ORDER BY rowid"
            ),
            params![kind, self.detail, stamp],
        )?;
        Ok(())
    }

    pub(super) fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let marks: Vec<String> = (0..self.rows.len())
            .map(|r| {
                let b = 2 + r * 6;
                format!(
                    "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?1)",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit(at, user_id, device_id, action, record_kind, record_id, detail) VALUES {}",
            marks.join(", ")
        );
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(1 + self.rows.len() * 6);
        params.push(&self.detail);
        for (at, user, device, action, kind, id) in &self.rows {
            params.push(at);
            params.push(user);
            params.push(device);
            params.push(action);
            params.push(kind);
            params.push(id);
        }
        tx.prepare_cached(&sql)?.execute(params.as_slice())?;
        self.rows.clear();
        Ok(())
    }
}

/// A column of a table that refers to a record of another.
pub(super) struct Reference {
    /// Where it is in the bundle's rows.
    at: usize,
    column: String,
    parent: String,
    /// Whether the parent table holds a record with an id (built once).
    exists_sql: String,
}

/// A table's references (its foreign keys, all to a record's `id`) and
/// where the bundle has them.
pub(super) fn references_of(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
) -> Result<Vec<Reference>, StoreError> {
    let mut stmt =
        tx.prepare_cached("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?;
    let keys: Vec<(String, String)> = stmt
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(keys
        .into_iter()
        .filter_map(|(column, parent)| {
            let at = columns.iter().position(|c| *c == column)?;
            let exists_sql = format!("SELECT EXISTS (SELECT 1 FROM {parent} WHERE id = ?1)");
            Some(Reference {
                at,
                column,
                parent,
                exists_sql,
            })
        })
        .collect())
}

/// Checks that every reference a merge wrote leads to a record: one this
/// merge brought or left here (`held`), or one in the database. The merge
/// runs with the database's own foreign-key checks off: with them, SQLite
/// keeps a statement journal of every page each insert touches (a sixth
/// of a first full sync).
pub(super) fn check_references(
    tx: &Transaction<'_>,
    written: &[(&str, Uuid, &[Value])],
    references: &HashMap<&str, Vec<Reference>>,
    held: &HashMap<&str, HashSet<Uuid>>,
) -> Result<(), StoreError> {
    for (table, id, values) in written {
        for r in references.get(table).map(Vec::as_slice).unwrap_or_default() {
            let found = match &values[r.at] {
                Value::Null => true,
                Value::Blob(b) => {
                    Uuid::from_slice(b).is_ok_and(|parent| {
                        held.get(r.parent.as_str())
                            .is_some_and(|h| h.contains(&parent))
                    }) || tx
                        .prepare_cached(&r.exists_sql)?
                        .query_row([b], |row| row.get(0))?
                }
                _ => false,
            };
            if !found {
                return Err(damaged(format!(
                    "its {table} record {id} refers through {} to a record that neither it nor this database holds",
                    r.column
                )));
            }
        }
    }
    Ok(())
}

/// Whether a `deleted` value marks a tombstone.
pub(super) fn deleted_flag(v: &Value) -> bool {
    matches!(v, Value::Int(d) if *d != 0)
}

/// A row as JSON (column to value), the form a conflict keeps its loser in.
pub(super) fn row_json(columns: &[String], values: &[Value]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = columns
        .iter()
        .zip(values)
        .map(|(c, v)| (c.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub(super) fn current_row(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
    id: Uuid,
) -> Result<Option<Vec<Value>>, StoreError> {
    let sql = format!("SELECT {} FROM {table} WHERE id = ?1", columns.join(", "));
    Ok(tx
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            (0..columns.len())
                .map(|i| r.get_ref(i).map(to_value))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?)
}

/// What the merge does with one row of a bundle, decided before anything
/// of its table is written (the plan), then carried out.
enum Step {
    /// New here.
    Insert,
    /// Descends from the version here.
    Replace,
    /// The same or an older version: nothing to do.
    Keep,
    /// Changed on both sides, and the incoming version wins: the one here
    /// is kept for review.
    Win {
        vector: VersionVector,
        local: Version,
    },
    /// Changed on both sides, and the version here stays: the incoming one
    /// is kept for review.
    Lose {
        vector: VersionVector,
        local: Version,
    },
    /// Passed on by a field laptop: left for the laptop that made it.
    Ignore,
    /// A field laptop leaves a conflict for its office to decide.
    Defer,
}

/// Merges a bundle's tables inside the caller's transaction: every table
/// name is checked against the record tables before any SQL is built,
/// every row is validated like a form's save before anything is written,
/// and every change is judged by who sent it and who made it.
pub(super) fn merge_in_tx(
    tx: &Transaction<'_>,
    payload: &Payload,
    policy: &Policy,
    found_at: i64,
    stamp: i64,
    progress: Progress<'_>,
) -> Result<Merged, StoreError> {
    let from_device = policy.signer.as_str();
    let mut merged = Merged {
        from_device: from_device.to_owned(),
        records: payload.records(),
        ..Merged::default()
    };
    for t in &payload.tables {
        if !schema::RECORD_TABLES.contains(&t.table.as_str()) {
            return Err(damaged(format!(
                "it has an unknown table {}",
                bundle::short(&t.table)
            )));
        }
    }
    let total = merged.records;
    let mut done = 0;
    let mut roles = Roles::default();
    // New contacts leave each client's latest-contact fact to be kept
    // once per client below (as bulk imports do), not once per row.
    let mut latest: HashMap<&[u8], &str> = HashMap::new();
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('bulk_write', '1')",
        [],
    )?;
    // What each written row refers to is checked once every table is in:
    // the records this merge leaves here, by table, and the rows written.
    let mut held: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    let mut written: Vec<(&str, Uuid, &[Value])> = Vec::new();
    let mut references: HashMap<&str, Vec<Reference>> = HashMap::new();
    let mut history = MergedHistory::new(policy);
    progress(SyncStep::Merging { file: 1, files: 1 }, 0, total);
    // Users first, so that the roles of the changes' authors are known.
    for &table in schema::RECORD_TABLES {
        let Some(t) = payload.tables.iter().find(|t| t.table == table) else {
            continue;
        };
        let kind =
            RecordKind::of_table(table).ok_or_else(|| StoreError::NoSuchTable(table.to_owned()))?;
        let local = synced_columns(tx, table)?;
        let at = positions(t, &local)?;
        let check = RowCheck::new(table, &t.columns)?;
        let bundle_admins: HashSet<Uuid> = if table == "users" {
            admins_in(t)
        } else {
            HashSet::new()
        };
        let cols = t.columns.join(", ");
        let marks = vec!["?"; t.columns.len() + 1].join(", ");
        let sets: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.as_str() != "id")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let upsert_sql = format!(
            "INSERT INTO {table}({cols}, sync_seq) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {}, sync_seq = excluded.sync_seq",
            sets.join(", ")
        );
        // Rows new here are inserted many to a statement: SQLite's work per
        // statement (a statement journal, the search index's flush) is
        // then paid once per batch instead of once per row.
        let mut inserts = Inserts::new(table, &t.columns);
        let mut seen: HashSet<Uuid> = HashSet::with_capacity(t.rows.len());
        references.insert(table, references_of(tx, table, &t.columns)?);
        let held_here = held.entry(table).or_default();
        // A table this laptop holds nothing of yet (a first sync): every
        // row is new, with no need to look for it.
        let held_none: bool = tx.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"),
            [],
            |r| r.get(0),
        )?;
        // Contacts: where the client and date columns are, for the
        // latest-contact facts kept once per client after the table.
        let contact_at = if table == "contacts" {
            let find = |name: &str| t.columns.iter().position(|c| c == name);
            find("client_id").zip(find("date"))
        } else {
            None
        };
        let version_sql = format!(
            "SELECT updated_at, device_id, vv, deleted, max(coalesce(sync_seq, 0), updated_at) FROM {table} WHERE id = ?1"
        );
        let vv_sql = format!("UPDATE {table} SET vv = ?2, sync_seq = ?3 WHERE id = ?1");
        // First the plan: every row of the table checked, decided and
        // judged, nothing written...
        let mut plan: Vec<(usize, Step)> = Vec::with_capacity(t.rows.len());
        for (i, row) in t.rows.iter().enumerate() {
            let incoming = read_incoming(table, row, &at, t.columns.len())?;
            if !seen.insert(incoming.id) {
                return Err(damaged(format!(
                    "it holds the {table} record {} twice",
                    incoming.id
                )));
            }
            check.check(row, incoming.id, policy.today)?;
            let local_row: Option<(Version, bool, i64)> = if held_none {
                None
            } else {
                tx.prepare_cached(&version_sql)?
                    .query_row([incoming.id], |r| {
                        Ok((
                            Version::new(
                                r.get::<_, Option<String>>(2)?.as_deref(),
                                &r.get::<_, String>(1)?,
                                r.get(0)?,
                            ),
                            r.get::<_, bool>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .optional()?
            };
            let (local_version, local_deleted, local_stamp) = match local_row {
                Some((v, d, s)) => {
                    held_here.insert(incoming.id);
                    (Some(v), Some(d), s)
                }
                None => (None, None, 0),
            };
            let mut decision = decide(local_version.as_ref(), &incoming.version);
            // A field laptop's version can descend from one made elsewhere
            // only if this laptop sent it that one: a claim past what it
            // was sent is a change made apart, kept for review.
            if let (Decision::Replace, Some(local)) = (&decision, &local_version)
                && !policy::version_claim_holds(
                    &policy.sender(),
                    &local.device,
                    local_stamp,
                    policy.sent_cap,
                )
            {
                decision = Decision::Conflict {
                    incoming_wins: false,
                    vector: incoming.version.vector.merged(&local.vector),
                };
            }
            if decision != Decision::Keep {
                let verdict = judge(
                    tx,
                    policy,
                    &mut roles,
                    &bundle_admins,
                    kind,
                    &incoming,
                    &at,
                    local_deleted,
                )?;
                if matches!(verdict, Verdict::Ignore) {
                    plan.push((i, Step::Ignore));
                    continue;
                }
                if let Some(allowed) = &policy.scope {
                    check_in_scope(tx, allowed, kind, &t.columns, &incoming, from_device)?;
                }
            }
            let step = match (decision, local_version) {
                (Decision::Conflict { .. }, _) if policy.defer_conflicts => Step::Defer,
                (Decision::Insert, _) => Step::Insert,
                (Decision::Replace, _) => Step::Replace,
                (Decision::Keep, _) | (Decision::Conflict { .. }, None) => Step::Keep,
                (
                    Decision::Conflict {
                        incoming_wins: true,
                        vector,
                    },
                    Some(local),
                ) => Step::Win { vector, local },
                (
                    Decision::Conflict {
                        incoming_wins: false,
                        vector,
                    },
                    Some(local),
                ) => Step::Lose { vector, local },
            };
            plan.push((i, step));
        }
        // ...then the plan carried out.
        for (i, step) in plan {
            let row = &t.rows[i];
            let incoming = read_incoming(table, row, &at, t.columns.len())?;
            let upsert = |values: &[Value]| -> Result<(), StoreError> {
                let mut params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
                params.push(&stamp);
                tx.prepare_cached(&upsert_sql)?.execute(params.as_slice())?;
                Ok(())
            };
            match step {
                Step::Ignore => merged.ignored += 1,
                Step::Defer => merged.deferred += 1,
                Step::Keep => {}
                Step::Insert => {
                    // A client a field laptop registered: it holds it whole.
                    if table == "clients" && policy.scope.is_some() {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO sync_holdings(device_id, client_id, sent_top, left_top) VALUES (?1, ?2, 0, NULL)",
                        )?
                        .execute(params![from_device, incoming.id])?;
                    }
                    // Nothing here has this id: a plain insert.
                    inserts.push(tx, incoming.values, stamp)?;
                    if !held_none {
                        history.push(tx, table, &incoming, &at, AuditAction::Create)?;
                    }
                    held_here.insert(incoming.id);
                    written.push((table, incoming.id, incoming.values));
                    merged.added += 1;
                    if let Some((client, date)) = contact_at
                        && let (Value::Blob(c), Value::Text(d), false) = (
                            &incoming.values[client],
                            &incoming.values[date],
                            deleted_flag(&incoming.values[at.deleted]),
                        )
                    {
                        let e = latest.entry(c.as_slice()).or_insert(d.as_str());
                        if d.as_str() > *e {
                            *e = d.as_str();
                        }
                    }
                }
                Step::Replace => {
                    upsert(incoming.values)?;
                    history.push(tx, table, &incoming, &at, change_of(&incoming, &at))?;
                    written.push((table, incoming.id, incoming.values));
                    merged.updated += 1;
                }
                Step::Win { vector, local } => {
                    let loser =
                        current_row(tx, table, &t.columns, incoming.id)?.unwrap_or_default();
                    let added = keep_loser(
                        tx,
                        table,
                        incoming.id,
                        found_at,
                        from_device,
                        &local,
                        &row_json(&t.columns, &loser),
                    )?;
                    let mut values = incoming.values.to_vec();
                    values[at.vv] = vector
                        .to_column(&incoming.version.device, incoming.version.clock)
                        .map_or(Value::Null, Value::Text);
                    upsert(&values)?;
                    history.push(tx, table, &incoming, &at, change_of(&incoming, &at))?;
                    written.push((table, incoming.id, incoming.values));
                    merged.updated += 1;
                    merged.conflicts += added;
                }
                Step::Lose { vector, local } => {
                    let added = keep_loser(
                        tx,
                        table,
                        incoming.id,
                        found_at,
                        from_device,
                        &incoming.version,
                        &row_json(&t.columns, incoming.values),
                    )?;
                    let vv = vector.to_column(&local.device, local.clock);
                    tx.prepare_cached(&vv_sql)?
                        .execute(params![incoming.id, vv, stamp])?;
                    merged.conflicts += added;
                }
            }
            done += 1;
            if done % 1000 == 0 {
                progress(SyncStep::Merging { file: 1, files: 1 }, done, total);
            }
        }
        inserts.flush(tx, stamp)?;
        // A table this laptop held nothing of: every row with this merge's
        // stamp is new here, and their history is written in one statement.
        if held_none {
            history.all_new(tx, table, stamp)?;
        }
        if table == "users" {
            // Roles may have changed; and an office laptop's bundle may
            // not leave this laptop without an admin.
            roles = Roles::default();
            let admins: i64 = tx.query_row(
                "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND deleted = 0",
                [],
                |r| r.get(0),
            )?;
            policy::leaves_an_admin(admins)?;
        }
    }
    history.flush(tx)?;
    check_references(tx, &written, &references, &held)?;
    let mut update = tx.prepare_cached(
        "UPDATE client_activity SET last_contact = ?2 WHERE client_id = ?1 AND (last_contact IS NULL OR last_contact < ?2)",
    )?;
    for (client, date) in latest {
        update.execute(params![client, date])?;
    }
    tx.execute("DELETE FROM meta WHERE key = 'bulk_write'", [])?;
    progress(SyncStep::Merging { file: 1, files: 1 }, total, total);
    Ok(merged)
}

/// What an incoming version that replaces one here did: a removal or a change.
fn change_of(incoming: &Incoming<'_>, at: &Positions) -> AuditAction {
    if deleted_flag(&incoming.values[at.deleted]) {
        AuditAction::Delete
    } else {
        AuditAction::Update
    }
}

/// The ids of the active admins a bundle's users table holds.
pub(super) fn admins_in(t: &TableRows) -> HashSet<Uuid> {
    let col = |name: &str| t.columns.iter().position(|c| c == name);
    let (Some(id), Some(role), Some(active), Some(deleted)) =
        (col("id"), col("role"), col("active"), col("deleted"))
    else {
        return HashSet::new();
    };
    t.rows
        .iter()
        .filter(|r| {
            matches!(r.get(role), Some(Value::Text(x)) if x == "admin")
                && matches!(r.get(active), Some(Value::Int(1)))
                && matches!(r.get(deleted), Some(Value::Int(0)))
        })
        .filter_map(|r| match r.get(id) {
            Some(Value::Blob(b)) => Uuid::from_slice(b).ok(),
            _ => None,
        })
        .collect()
}

/// Keeps the losing version of a record for review (once). Returns 1 when new.
pub(super) fn keep_loser(
    tx: &Transaction<'_>,
    table: &str,
    id: Uuid,
    found_at: i64,
    from_device: &str,
    loser: &Version,
    row: &str,
) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO sync_conflicts(record_table, record_id, found_at, from_device, loser_clock, loser_device, loser)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![table, id, found_at, from_device, loser.clock, loser.device, row])?)
}

impl Store {
    /// Opens and merges a bundle, all or nothing.
    pub fn sync_import(
        &mut self,
        key: &SyncKey,
        bytes: &[u8],
        progress: Progress<'_>,
    ) -> Result<Merged, StoreError> {
        self.require(Permission::Sync)?;
        progress(SyncStep::Opening { file: 1, files: 1 }, 0, 0);
        // Who sent it first: a laptop not enrolled here (listed for an
        // admin), retired or posing is refused before anything is opened.
        let header = bundle::signed_header(bytes)?;
        self.sender_trust(&header)?;
        let me = self.device_key()?;
        let reader = bundle::Reader {
            device: self.device_id(),
            key: &me,
        };
        let bundle = bundle::open(key, &reader, schema::MIGRATIONS_COUNT, bytes)?;
        self.with_bulk_cache(|s| s.merge_bundle(&bundle, progress))
    }

    pub(super) fn merge_bundle(
        &mut self,
        bundle: &Bundle,
        progress: Progress<'_>,
    ) -> Result<Merged, StoreError> {
        let from = bundle.header.device.clone();
        let own = from == self.device_id();
        let header = &bundle.header;
        let trust = self.sender_trust(header)?;
        // A scope, and the purge it brings, only from this laptop's own
        // office, and never to a hub: decided before anything is merged.
        let scope_word = if trust == Trust::Office && !own {
            match self.scope_word(header, &bundle.payload)? {
                Ok(word) => word,
                Err(why) => {
                    return Err(SyncError::ScopeRefused {
                        device: from.clone(),
                        why,
                    }
                    .into());
                }
            }
        } else {
            policy::ScopeWord::Ignore
        };
        // No stamp may run ahead of this laptop's clock by more than the
        // margin: one forged far-future row would otherwise win every
        // conflict and drag this laptop's clock with it for good.
        let margin_hours = self.sync_clock_margin_hours();
        let wall = self.now_ms();
        let newest = crate::sync::newest_clock(header, &bundle.payload);
        if newest > wall.saturating_add(margin_hours.saturating_mul(3_600_000)) {
            return Err(SyncError::ClockAhead {
                stamp: chrono::DateTime::from_timestamp_millis(newest).map_or_else(
                    || "beyond the year 262000".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
                now: ms_to_time(wall).format("%Y-%m-%d %H:%M UTC").to_string(),
                margin_hours,
            }
            .into());
        }
        let policy = Policy {
            signer: from.clone(),
            trust,
            now: wall,
            bundle_top: header.top,
            sent_cap: if trust == Trust::Member {
                let claimed = bundle
                    .payload
                    .merged
                    .iter()
                    .find(|(d, _)| d == self.device_id())
                    .map_or(0, |(_, c)| *c);
                Some(self.acked_by(&from)?.max(self.sent_to(&from)?.min(claimed)))
            } else {
                None
            },
            today: crate::domain::add_days(self.today(), (margin_hours + 23) / 24),
            defer_conflicts: !own && trust == Trust::Office && !self.own_scope()?.is_all(),
            scope: match (trust, self.device_scope(&from)?) {
                (Trust::Member, Scope::Workers(w)) => Some(w.into_iter().collect()),
                (Trust::Member, Scope::NotChosen) => Some(HashSet::new()),
                _ => None,
            },
        };
        // References are checked by the merge itself (`check_references`);
        // the database's own checks are off for its transaction (the
        // setting is this connection's and cannot change inside one) and
        // on again after it, whatever happened.
        self.conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let result = self.write(|tx, ctx| {
            let merged_up_to: i64 = tx
                .prepare_cached("SELECT merged_up_to FROM sync_peers WHERE device_id = ?1")?
                .query_row([&from], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if !own && header.since > merged_up_to {
                return Err(SyncError::Gap {
                    device: from.clone(),
                }
                .into());
            }
            // Every stamp of this merge is later than every clock it brings.
            let stamp = ctx.now.max(newest.saturating_add(1));
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('clock', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [stamp.to_string()],
            )?;
            let merged = merge_in_tx(tx, &bundle.payload, &policy, ctx.now, stamp, progress)?;
            // A field laptop's report of the clients it purged.
            if policy.scope.is_some() {
                super::scope::confirm_purged(tx, &from, &bundle.payload.leaving)?;
            }
            if !own {
                tx.execute(
                    "INSERT INTO sync_peers(device_id, merged_up_to, last_merged_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(device_id) DO UPDATE SET merged_up_to = max(merged_up_to, excluded.merged_up_to),
                         last_merged_at = excluded.last_merged_at",
                    params![from, header.top, ctx.now],
                )?;
                if let Some((_, ours)) = bundle.payload.merged.iter().find(|(d, _)| d == &ctx.device_id) {
                    tx.execute(
                        "UPDATE sync_peers SET acked_ours = max(acked_ours, ?2) WHERE device_id = ?1",
                        params![from, ours],
                    )?;
                }
            }
            ctx.audit(
                tx,
                AuditAction::Sync,
                None,
                None,
                &format!(
                    "merged a bundle from device {from}: {} records, {} new, {} updated, {} conflicts, {} passed on and not taken",
                    merged.records, merged.added, merged.updated, merged.conflicts, merged.ignored
                ),
            )?;
            Ok(merged)
        });
        let restored = self.conn.execute_batch("PRAGMA foreign_keys = ON;");
        let mut merged = result?;
        restored?;
        // An office laptop's bundle for this laptop alone says which
        // clients it holds: the others go.
        if scope_word == policy::ScopeWord::Apply {
            merged.purged = self.apply_scope(&bundle.payload, &from)?;
        }
        // A first full sync fills the tables: keep the statistics true.
        self.optimize();
        Ok(merged)
    }
}
