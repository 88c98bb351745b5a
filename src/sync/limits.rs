//! How much a bundle may be and cost, checked before the work it would
//! take: the file, the header, the key derivation, the decompression, the
//! memory its decoded values take and the shape of its payload.

use super::SyncError;
use super::bundle::{Payload, Value, short};

/// Recipients of one bundle, at most.
pub const MAX_RECIPIENTS: usize = 200;

/// Shortest sync passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Argon2id cost for bundle keys: 19 MiB, 2 passes, 1 lane (the OWASP
/// minimum); a key is derived once per salt and remembered.
pub(crate) const KDF_MEMORY_KIB: u32 = 19 * 1024;

pub(crate) const KDF_PASSES: u32 = 2;

pub(crate) const KDF_LANES: u32 = 1;

/// A header longer than this is not ours.
pub(crate) const MAX_HEADER: usize = 64 * 1024;

/// The longest bundle file read: a full bundle of a 100,000-client office
/// database is about 80 MB.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// The decompressed payload may be at most this many times the compressed
/// body (real bundles are 5 to 6 times: a 10,000-client office's full
/// bundle is 4.5 MB, 24 MB decompressed; notes that repeat themselves
/// compress further)...
pub(crate) const MAX_INFLATE_RATIO: u64 = 32;

/// ...or this much, for small bundles (whose ratio says little)...
pub(crate) const MIN_INFLATE_LIMIT: u64 = 8 * 1024 * 1024;

/// ...and never more than this (a 100,000-client office's, about 240 MB).
pub(crate) const MAX_INFLATED: u64 = 512 * 1024 * 1024;

/// Its values, decoded, may take at most this many times its decompressed
/// size in memory (real bundles 4.3 times: the 10,000-client one's values
/// take 103 MB)...
pub(crate) const MAX_DECODED_RATIO: u64 = 6;

/// ...and never more than this.
pub const MAX_DECODED: u64 = 1536 * 1024 * 1024;

/// Tables in one payload (there are nine kinds of record).
pub(crate) const MAX_TABLES: usize = 16;

/// Columns of one table.
pub(crate) const MAX_COLUMNS: usize = 64;

/// Rows of one table in one bundle.
pub const MAX_ROWS_PER_TABLE: usize = 5_000_000;

/// The longest text value (the longest field, notes, is 4,000 characters).
pub(crate) const MAX_TEXT_BYTES: usize = 64 * 1024;

pub(crate) fn check_kdf(kdf: [u32; 3]) -> Result<(), SyncError> {
    if kdf == [KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES] {
        Ok(())
    } else {
        Err(SyncError::Damaged(
            "its key settings are not the ones Tether writes".into(),
        ))
    }
}

/// Bounds on what a payload may hold, checked before any row is looked at.
pub(crate) fn check_shape(payload: &Payload) -> Result<(), SyncError> {
    if payload.tables.len() > MAX_TABLES {
        return Err(SyncError::Damaged(format!(
            "it has {} tables",
            payload.tables.len()
        )));
    }
    if payload.merged.len() > 100_000 {
        return Err(SyncError::Damaged("its list of devices is too long".into()));
    }
    if payload.leaving.len() > MAX_ROWS_PER_TABLE || payload.leaving.iter().any(|c| c.len() > 64) {
        return Err(SyncError::Damaged(
            "its list of clients leaving is not one".into(),
        ));
    }
    if let Some(scope) = &payload.scope
        && (scope.len() > 10_000 || scope.iter().any(|w| w.len() > 64))
    {
        return Err(SyncError::Damaged(
            "its scope is not a list of workers".into(),
        ));
    }
    for (i, t) in payload.tables.iter().enumerate() {
        if payload.tables[..i].iter().any(|o| o.table == t.table) {
            return Err(SyncError::Damaged(format!(
                "it has the table {} twice",
                short(&t.table)
            )));
        }
        if t.columns.len() > MAX_COLUMNS {
            return Err(SyncError::Damaged(format!(
                "{} has {} columns",
                short(&t.table),
                t.columns.len()
            )));
        }
        if t.rows.len() > MAX_ROWS_PER_TABLE {
            return Err(SyncError::TooLarge {
                what: "the rows of one table",
                limit: MAX_ROWS_PER_TABLE as u64,
            });
        }
        for row in &t.rows {
            if row.len() != t.columns.len() {
                return Err(SyncError::Damaged(format!(
                    "a row of {} has the wrong number of values",
                    short(&t.table)
                )));
            }
            for v in row {
                let len = match v {
                    Value::Text(text) => text.len(),
                    Value::Blob(b) => b.len(),
                    _ => 0,
                };
                if len > MAX_TEXT_BYTES {
                    return Err(SyncError::TooLarge {
                        what: "the length of one value in bytes",
                        limit: MAX_TEXT_BYTES as u64,
                    });
                }
            }
        }
    }
    Ok(())
}
