//! Client search: code prefix through the code index, substrings of code,
//! nickname and phone through the FTS5 trigram index.

use super::{Store, StoreError};
use crate::continuity as rules;
use crate::domain::*;
use chrono::NaiveDate;
use rusqlite::params;
use uuid::Uuid;

/// One line of the client list.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    pub id: Uuid,
    pub code: String,
    pub nickname: Option<String>,
    pub sex: Sex,
    pub birth_year: Option<i32>,
    pub province: Option<String>,
    /// The case status as shown: lost to follow-up is derived on the day
    /// the rows are read (`continuity::case_status`).
    pub status: CaseStatus,
    /// Whether the client has an open detention (derived, never typed in).
    pub detained: bool,
}

/// Search results, in code order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResult {
    pub rows: Vec<ClientRow>,
    /// True when there were more matches than the limit.
    pub truncated: bool,
}

/// The smallest string greater than every string that starts with `prefix`.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    end.push(char::MAX);
    end
}

/// An FTS5 phrase for `text`: quoted, with quotes doubled.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// One row of the client list. The open-stay lookup names its index: the
/// partial index of open stays (for the worklists) also matches
/// `ended_on IS NULL`, and without statistics SQLite chose it, reading every
/// open stay for every row (about 1 ms a row on the 100,000-client demo).
/// The plan test (`tests/it/store.rs`) fails if this goes back. The last
/// contact (for the derived status) comes from `client_activity` by its key.
pub(crate) const ROW_SQL: &str = "SELECT c.id, c.code, c.nickname, c.sex, c.birth_year, c.province, c.status,
    EXISTS (SELECT 1 FROM detentions d INDEXED BY detentions_client WHERE d.client_id = c.id AND d.deleted = 0 AND d.ended_on IS NULL),
    c.rid, a.last_contact, c.registered_on
    FROM clients c LEFT JOIN client_activity a ON a.client_id = c.id";

/// The client-list rows of some row ids in one statement (the ids as a
/// JSON array), `tail` adding conditions and an order; each with its rid
/// and its case status on `day`.
pub(crate) fn rows_by_rid(
    conn: &rusqlite::Connection,
    rids: &[i64],
    tail: &str,
    day: NaiveDate,
) -> Result<Vec<(i64, ClientRow)>, StoreError> {
    let ids = serde_json::to_string(rids).map_err(|e| StoreError::Damaged(e.to_string()))?;
    let t = super::continuity::lost_after_days_on(conn);
    let rows = conn
        .prepare_cached(&format!(
            "{ROW_SQL} WHERE c.rid IN (SELECT value FROM json_each(?1)) {tail}"
        ))?
        .query_map([ids], |r| {
            let mut row = map_row(r)?;
            let unseen = rules::days_unseen(
                Some(row.status),
                super::sql::date_at(r, 9)?,
                super::sql::date_at(r, 10)?,
                day,
                &t,
            );
            row.status = rules::case_status(row.status, unseen);
            Ok((r.get::<_, i64>(8)?, row))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn map_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRow> {
    Ok(ClientRow {
        id: r.get(0)?,
        code: r.get(1)?,
        nickname: r.get(2)?,
        sex: r.get(3)?,
        birth_year: r.get(4)?,
        province: r.get(5)?,
        status: r.get(6)?,
        detained: r.get(7)?,
    })
}

impl Store {
    /// Clients whose code starts with `query`, or whose code, nickname or
    /// phone contains it (3 characters or more; shorter queries match the
    /// start of the nickname). Deleted clients never appear.
    pub fn search_clients(&self, query: &str, limit: usize) -> Result<SearchResult, StoreError> {
        let q = query.trim();
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let conn = self.conn();
        let mut rids: Vec<i64> = Vec::new();
        if q.is_empty() {
            let mut stmt = conn.prepare_cached(
                "SELECT rid FROM clients WHERE deleted = 0 ORDER BY code LIMIT ?1",
            )?;
            rids.extend(
                stmt.query_map([fetch], |r| r.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()?,
            );
        } else {
            let code = normalize_code(q);
            let mut stmt = conn.prepare_cached(
                "SELECT rid FROM clients WHERE code >= ?1 AND code < ?2 AND deleted = 0 ORDER BY code LIMIT ?3",
            )?;
            rids.extend(
                stmt.query_map(params![code, prefix_end(&code), fetch], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?,
            );
            if q.chars().count() >= 3 {
                let mut stmt = conn.prepare_cached(
                    "SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?1 LIMIT ?2",
                )?;
                rids.extend(
                    stmt.query_map(params![fts_phrase(q), fetch], |r| r.get::<_, i64>(0))?
                        .collect::<Result<Vec<_>, _>>()?,
                );
            } else {
                let mut stmt = conn.prepare_cached(
                    "SELECT rid FROM clients WHERE nickname >= ?1 AND nickname < ?2 AND deleted = 0 LIMIT ?3",
                )?;
                rids.extend(
                    stmt.query_map(params![q, prefix_end(q), fetch], |r| r.get::<_, i64>(0))?
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            rids.sort_unstable();
            rids.dedup();
        }
        let mut rows: Vec<ClientRow> = rows_by_rid(
            conn,
            &rids,
            "AND c.deleted = 0 ORDER BY c.code",
            self.today(),
        )?
        .into_iter()
        .map(|(_, row)| row)
        .collect();
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        Ok(SearchResult { rows, truncated })
    }
}
