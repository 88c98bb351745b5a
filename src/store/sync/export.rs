//! Writing this database's changes as a bundle.

use super::*;

/// Writes the bundle of every change after `since` (0: everything).
pub(super) fn export_on(
    conn: &Connection,
    key: &SyncKey,
    device: &str,
    since: i64,
    now: i64,
) -> Result<Exported, StoreError> {
    // One read transaction: the rows and `top` are one moment's.
    let tx = conn.unchecked_transaction()?;
    let top = clock_last(&tx)?;
    let mut tables = Vec::new();
    let mut records = 0;
    for table in schema::RECORD_TABLES {
        let columns = synced_columns(&tx, table)?;
        let sql = format!(
            "SELECT {} FROM {table} WHERE ?1 = 0 OR max(coalesce(sync_seq, 0), updated_at) > ?1 ORDER BY rowid",
            columns.join(", ")
        );
        let n = columns.len();
        let mut out = bundle::TableWriter::new(table, columns);
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query([since])?;
        while let Some(row) = rows.next()? {
            out.row();
            for i in 0..n {
                match row.get_ref(i)? {
                    ValueRef::Null => out.null(),
                    ValueRef::Integer(v) => out.int(v),
                    ValueRef::Real(v) => out.real(v),
                    ValueRef::Text(t) => out.text(&String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => out.blob(b),
                }
            }
        }
        if !out.is_empty() {
            records += out.rows();
            tables.push(out);
        }
    }
    let mut stmt = tx.prepare(
        "SELECT device_id, merged_up_to FROM sync_peers WHERE merged_up_to > 0 ORDER BY device_id",
    )?;
    let merged: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    tx.finish()?;
    let signer = device_key_on(conn)?;
    let sealing = bundle::Sealing {
        key,
        signer: &signer,
        schema: schema::MIGRATIONS_COUNT,
        device,
        since,
        top,
        created_at: now,
    };
    let bytes = bundle::seal_tables(&sealing, &merged, &tables)?;
    Ok(Exported {
        bytes,
        records,
        since,
        top,
    })
}

impl Store {
    /// A bundle of every change after `since` on this database's clock
    /// (0: everything it holds).
    pub fn sync_export(&self, key: &SyncKey, since: i64) -> Result<Exported, StoreError> {
        self.require(Permission::Sync)?;
        export_on(self.conn(), key, self.device_id(), since, self.now_ms())
    }

    /// A bundle for one other device: the changes it has not said it merged.
    pub fn sync_export_for(&self, key: &SyncKey, device: &str) -> Result<Exported, StoreError> {
        let since = self.acked_by(device)?;
        self.sync_export(key, since)
    }

    /// The highest stamp of ours `device` has said it merged (0: none).
    pub(super) fn acked_by(&self, device: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT acked_ours FROM sync_peers WHERE device_id = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
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
