//! Opening the encrypted file: the key, the settings every connection
//! runs with, its page cache by use, SQL functions, and the hybrid clock's
//! stamp in the file.

use super::*;

pub(crate) const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

pub(crate) fn open_connection(
    path: &Path,
    key: &DbKey,
    create: bool,
) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
        // SQLite gives the WAL and shared-memory files the database's own
        // mode, so an owner-only empty file makes all three private.
        if !path.exists() {
            crate::files::create_private(path)?;
        }
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher would otherwise print its own errors on stderr; ours are typed.
    let _ = conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()));
    let pragma = key.pragma("key");
    conn.execute_batch(&pragma)?;
    // The first read proves the key (or shows the file is not ours, or damaged).
    let probe: Result<i64, _> =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
    if let Err(e) = probe {
        let head = std::fs::read(path)
            .map(|b| b.get(..16).map(<[u8]>::to_vec))
            .ok()
            .flatten();
        if head.as_deref() == Some(SQLITE_HEADER) {
            return Err(StoreError::NotTether(
                "it is a plain, unencrypted SQLite file".into(),
            ));
        }
        return Err(StoreError::Damaged(format!(
            "it cannot be decrypted with its key ({}); the file is damaged or belongs to another key file",
            plain_sqlite_error(&e)
        )));
    }
    register_functions(&conn)?;
    set_cache(&conn, Cache::Main)?;
    conn.execute_batch(
        // secure_delete: what a deleted row leaves on its page is zeroed
        // (a purge on a field laptop must leave nothing to read).
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON;",
    )?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Damaged(format!(
            "could not switch to WAL (journal mode {mode})"
        )));
    }
    Ok(conn)
}

/// How many decrypted pages a connection keeps. SQLCipher decrypts every
/// page it reads; the cache spares that for pages read again. Connections
/// that read the file once from end to end (the check, backups and their
/// verification) keep almost none, so that they do not hold hundreds of
/// megabytes while the window runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cache {
    /// The window's connection: 64 MiB.
    Main,
    /// A screen's reading thread, or a report's: 16 MiB.
    Reader,
    /// One pass over the file: 2 MiB.
    Stream,
    /// Bulk work for a while (import, merge, demo, reports): 256 MiB,
    /// given back when it ends.
    Bulk,
}

pub(crate) fn set_cache(conn: &Connection, cache: Cache) -> Result<(), StoreError> {
    let kib = match cache {
        Cache::Main => 64 * 1024,
        Cache::Reader => 16 * 1024,
        Cache::Stream => 2 * 1024,
        Cache::Bulk => 256 * 1024,
    };
    conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))?;
    Ok(())
}

/// SQL functions the store's statements use: `tether_vv` (see
/// [`crate::sync::vv_after_change`]) keeps a record's version vector on
/// every local change.
pub(crate) fn register_functions(conn: &Connection) -> Result<(), StoreError> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "tether_vv",
        5,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let old: Option<String> = ctx.get(0)?;
            let old_device: String = ctx.get(1)?;
            let old_clock: i64 = ctx.get(2)?;
            let device: String = ctx.get(3)?;
            let clock: i64 = ctx.get(4)?;
            Ok(crate::sync::vv_after_change(
                old.as_deref(),
                &old_device,
                old_clock,
                &device,
                clock,
            ))
        },
    )?;
    Ok(())
}

/// The next stamp of this database's clock (see [`crate::sync`]): later
/// than every stamp it has made or merged, kept in `meta` in the same
/// transaction as the write that uses it.
pub(crate) fn clock_tick(tx: &Transaction<'_>, wall_ms: i64) -> Result<i64, StoreError> {
    let last = clock_last(tx)?;
    let now = crate::sync::tick(last, wall_ms);
    tx.prepare_cached(
        "INSERT INTO meta(key, value) VALUES ('clock', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([now.to_string()])?;
    Ok(now)
}

/// The last stamp of this database's clock (0 before the first).
pub(crate) fn clock_last(conn: &Connection) -> Result<i64, StoreError> {
    let last: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'clock'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(last.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub(crate) fn plain_sqlite_error(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(err, _) => match err.code {
            rusqlite::ErrorCode::NotADatabase => "not a database".into(),
            rusqlite::ErrorCode::DatabaseCorrupt => "corrupt".into(),
            _ => err.to_string(),
        },
        other => other.to_string(),
    }
}
