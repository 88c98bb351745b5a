//! Clients registered twice (on two laptops): found and merged into one.

use super::*;

impl Store {
    /// Clients that share a code: each group is probably one person
    /// registered on two laptops.
    pub fn probable_duplicates(&self) -> Result<Vec<Vec<DuplicateClient>>, StoreError> {
        let conn = self.conn();
        let codes: Vec<String> = conn
            .prepare("SELECT code FROM clients WHERE deleted = 0 GROUP BY code HAVING count(*) > 1 ORDER BY code")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let counts = CLIENT_TABLES
            .iter()
            .map(|t| {
                format!("(SELECT count(*) FROM {t} x WHERE x.client_id = c.id AND x.deleted = 0)")
            })
            .collect::<Vec<_>>()
            .join(" + ");
        let sql = format!(
            "SELECT c.id, c.code, c.nickname, c.registered_on, c.device_id, {counts} FROM clients c
             WHERE c.code = ?1 AND c.deleted = 0 ORDER BY c.created_at, c.id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut groups = Vec::new();
        for code in codes {
            let group = stmt
                .query_map([&code], |r| {
                    Ok(DuplicateClient {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        nickname: r.get(2)?,
                        registered_on: r.get(3)?,
                        device_id: r.get(4)?,
                        records: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(group);
        }
        Ok(groups)
    }

    /// Merges the clients `absorb` into `keep`, all in one transaction:
    /// every record about them moves to `keep`, then they are deleted.
    /// Audited on both sides. Returns how many records moved.
    pub fn merge_clients(&mut self, keep: Uuid, absorb: &[Uuid]) -> Result<usize, StoreError> {
        self.require(Permission::ResolveConflicts)?;
        if absorb.contains(&keep) {
            return Err(ValidationError::Inconsistent {
                field: "client",
                reason: "a client cannot be merged into themselves".into(),
            }
            .into());
        }
        self.write(|tx, ctx| {
            let mut moved = 0;
            for &absorb in absorb {
                moved += merge_one(tx, ctx, keep, absorb)?;
            }
            Ok(moved)
        })
    }
}

/// Moves one client's records to another and deletes the first.
pub(super) fn merge_one(
    tx: &Transaction<'_>,
    ctx: &crate::store::WriteCtx,
    keep: Uuid,
    absorb: Uuid,
) -> Result<usize, StoreError> {
    {
        {
            let live = |id: Uuid| -> Result<Option<String>, StoreError> {
                Ok(tx
                    .query_row(
                        "SELECT code FROM clients WHERE id = ?1 AND deleted = 0",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?)
            };
            let (Some(keep_code), Some(absorb_code)) = (live(keep)?, live(absorb)?) else {
                return Err(ValidationError::Inconsistent {
                    field: "client",
                    reason: "both clients must exist and not be deleted".into(),
                }
                .into());
            };
            let mut moved = 0;
            let mut parts = Vec::new();
            for table in CLIENT_TABLES {
                let n = tx.execute(
                    &format!(
                        "UPDATE {table} SET client_id = ?2, vv = tether_vv(vv, device_id, updated_at, ?5, ?3),
                         updated_at = ?3, updated_by = ?4, device_id = ?5 WHERE client_id = ?1"
                    ),
                    params![absorb, keep, ctx.now, ctx.user_id, ctx.device_id],
                )?;
                if n > 0 {
                    parts.push(format!("{table}={n}"));
                }
                moved += n;
            }
            tx.execute(
                "UPDATE clients SET deleted = 1, vv = tether_vv(vv, device_id, updated_at, ?4, ?2),
                 updated_at = ?2, updated_by = ?3, device_id = ?4 WHERE id = ?1",
                params![absorb, ctx.now, ctx.user_id, ctx.device_id],
            )?;
            let detail = format!(
                "merged client {absorb_code} ({absorb}) into {keep_code}: {}",
                if parts.is_empty() {
                    "no records".to_owned()
                } else {
                    parts.join(",")
                }
            );
            ctx.audit(tx, AuditAction::Update, Some("client"), Some(keep), &detail)?;
            ctx.audit(
                tx,
                AuditAction::Delete,
                Some("client"),
                Some(absorb),
                &detail,
            )?;
            Ok(moved)
        }
    }
}
