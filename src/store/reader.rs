//! Read-only handles for the screens' threads, and second handles for
//! work that writes beside the window (imports, sync).

use super::*;

/// A second connection to the same database for queries that run off the UI
/// thread (the client list, the worklists). It can only read.
pub struct Reader {
    pub(super) conn: Connection,
}

impl Reader {
    /// See [`Store::check`]: the full check, off the UI thread.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        backup::check_on(&self.conn)
    }

    /// See [`Store::client_ids`].
    pub fn client_ids(
        &self,
        filter: &ClientFilter,
        day: NaiveDate,
    ) -> Result<Vec<i64>, StoreError> {
        queries::client_ids_on(&self.conn, filter, day)
    }

    /// See [`Store::worklist`].
    pub fn worklist(
        &self,
        day: NaiveDate,
        worker: Option<Uuid>,
    ) -> Result<Vec<crate::continuity::Entry>, StoreError> {
        continuity::worklist_on(&self.conn, day, worker)
    }
}

impl Store {
    /// Opens a read-only second connection with this session's key.
    /// Another handle on this database for the same user, with its own
    /// connection, for long writes on a worker thread (imports) while the
    /// window goes on reading. SQLite lets one write at a time; a write from
    /// the window meanwhile waits up to five seconds, then fails plainly.
    /// Sets where the time comes from (tests); handles made from this one
    /// after it share it.
    pub fn set_clock(&mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) {
        self.clock = clock;
    }

    /// The clock this store stamps its writes with.
    pub fn clock(&self) -> std::sync::Arc<dyn crate::clock::Clock> {
        self.clock.clone()
    }

    /// Today, by this store's clock: the limit for "no dates in the future".
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn second_handle(&self) -> Result<Store, StoreError> {
        Ok(Store {
            conn: open_connection(&self.path, &self.key, false)?,
            path: self.path.clone(),
            key: self.key.clone(),
            user: self.user.clone(),
            device_id: self.device_id.clone(),
            failed_logins: None,
            new_recovery_key: None,
            inspect: self.inspect,
            clock: self.clock.clone(),
        })
    }

    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = open_connection(&self.path, &self.key, false)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        set_cache(&conn, Cache::Reader)?;
        Ok(Reader { conn })
    }

    /// A reader for one pass over the whole file (the full check).
    pub fn stream_reader(&self) -> Result<Reader, StoreError> {
        let reader = self.reader()?;
        set_cache(&reader.conn, Cache::Stream)?;
        Ok(reader)
    }
}
