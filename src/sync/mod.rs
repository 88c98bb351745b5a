//! Sync between laptops without a server: encrypted bundle files carried by
//! USB stick or a shared folder.
//!
//! This module holds the pure parts: the hybrid logical clock, version
//! vectors, the merge decision for one record, and the bundle file format
//! with its encryption ([`bundle`]). The store applies the decisions in one
//! transaction (`store::sync`).
//!
//! How it fits together:
//! - Every write stamps its records with the database's clock: the larger
//!   of the wall clock in milliseconds and one past the last stamp this
//!   database has made or seen, so stamps only grow even when a laptop's
//!   clock is behind another's.
//! - Every record carries a version vector: for each device that changed
//!   it, the clock of that device's latest change it descends from. Two
//!   versions are compared by their vectors: one descends from the other
//!   (take the newer, no conflict), they are the same, or they were changed
//!   apart (a conflict: the later clock wins, the loser is kept for review).

pub mod bundle;
mod frame;
mod limits;
pub mod payload;
pub mod policy;
pub mod seal;

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Why a device id cannot be one (None: it can). A laptop's id is a UUID;
/// any id names files in the sync folder, so only letters, digits and
/// hyphens, 1 to 64 of them.
pub fn device_id_problem(device: &str) -> Option<&'static str> {
    if device.is_empty() || device.len() > 64 {
        Some("a laptop id has 1 to 64 characters")
    } else if !device
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Some("a laptop id has only letters, digits and hyphens")
    } else {
        None
    }
}

/// The next clock value: the wall clock, or one past the last value if the
/// wall clock is not ahead of it.
pub fn tick(last: i64, wall_ms: i64) -> i64 {
    wall_ms.max(last.saturating_add(1))
}

/// A version vector: device id to the clock of its latest change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionVector(BTreeMap<String, i64>);

/// How two versions of one record relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same version.
    Same,
    /// The first is an ancestor of the second.
    Before,
    /// The first descends from the second.
    After,
    /// Changed apart: neither has seen the other.
    Concurrent,
}

impl VersionVector {
    /// The vector stored in a row: its `vv` column, or (when that is empty)
    /// just the device and clock of its last change.
    pub fn of_row(vv: Option<&str>, device: &str, clock: i64) -> VersionVector {
        let mut map = BTreeMap::new();
        if let Some(text) = vv {
            for pair in text.split(',') {
                if let Some((d, c)) = pair.split_once('=')
                    && let Ok(c) = c.parse::<i64>()
                {
                    map.insert(d.to_owned(), c);
                }
            }
        }
        let entry = map.entry(device.to_owned()).or_insert(clock);
        *entry = (*entry).max(clock);
        VersionVector(map)
    }

    /// A `vv` column as a bundle carries it, read strictly: `laptop=clock`
    /// pairs joined by commas, each laptop id valid and named once, each
    /// clock a number from 0, in the order this module writes them (by
    /// laptop id). Anything else is refused with why.
    pub fn parse(text: &str) -> Result<VersionVector, &'static str> {
        let mut map = BTreeMap::new();
        let mut last: Option<&str> = None;
        for pair in text.split(',') {
            let Some((d, c)) = pair.split_once('=') else {
                return Err("a version vector is laptop=clock pairs");
            };
            if device_id_problem(d).is_some() {
                return Err("a version vector names a laptop id that is not one");
            }
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a version vector's clock is not a number");
            }
            let Ok(clock) = c.parse::<i64>() else {
                return Err("a version vector's clock is out of range");
            };
            if last.is_some_and(|l| l >= d) {
                return Err("a version vector names its laptops out of order or twice");
            }
            last = Some(d);
            map.insert(d.to_owned(), clock);
        }
        Ok(VersionVector(map))
    }

    /// The clock of `device`'s latest change this version descends from.
    pub fn clock_of(&self, device: &str) -> Option<i64> {
        self.0.get(device).copied()
    }

    /// The laptops named, with their clocks.
    pub fn entries(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(d, c)| (d.as_str(), *c))
    }

    /// The `vv` column for a row whose last change is `device` at `clock`:
    /// empty when the vector says no more than that.
    pub fn to_column(&self, device: &str, clock: i64) -> Option<String> {
        if self.0.len() == 1 && self.0.get(device) == Some(&clock) {
            return None;
        }
        Some(
            self.0
                .iter()
                .map(|(d, c)| format!("{d}={c}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    }

    /// The vector after `device` changes the record at `clock`.
    pub fn with_change(mut self, device: &str, clock: i64) -> VersionVector {
        let entry = self.0.entry(device.to_owned()).or_insert(clock);
        *entry = (*entry).max(clock);
        self
    }

    /// Each device's later clock of the two.
    pub fn merged(&self, other: &VersionVector) -> VersionVector {
        let mut map = self.0.clone();
        for (d, c) in &other.0 {
            let entry = map.entry(d.clone()).or_insert(*c);
            *entry = (*entry).max(*c);
        }
        VersionVector(map)
    }

    /// How this version relates to `other`.
    pub fn relation(&self, other: &VersionVector) -> Relation {
        let mut less = false;
        let mut more = false;
        for d in self.0.keys().chain(other.0.keys()) {
            let a = self.0.get(d).copied().unwrap_or(i64::MIN);
            let b = other.0.get(d).copied().unwrap_or(i64::MIN);
            match a.cmp(&b) {
                Ordering::Less => less = true,
                Ordering::Greater => more = true,
                Ordering::Equal => {}
            }
        }
        match (less, more) {
            (false, false) => Relation::Same,
            (true, false) => Relation::Before,
            (false, true) => Relation::After,
            (true, true) => Relation::Concurrent,
        }
    }
}

/// The `vv` column after a local change: what an `UPDATE` writes from the
/// row's old `vv`, device and clock and the new device and clock. The store
/// registers it as the SQL function `tether_vv`.
pub fn vv_after_change(
    old_vv: Option<&str>,
    old_device: &str,
    old_clock: i64,
    device: &str,
    clock: i64,
) -> Option<String> {
    VersionVector::of_row(old_vv, old_device, old_clock)
        .with_change(device, clock)
        .to_column(device, clock)
}

/// One version of a record: who last changed it, when, and what it descends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub clock: i64,
    pub device: String,
    pub vector: VersionVector,
}

impl Version {
    pub fn new(vv: Option<&str>, device: &str, clock: i64) -> Version {
        Version {
            clock,
            device: device.to_owned(),
            vector: VersionVector::of_row(vv, device, clock),
        }
    }

    /// Which of two concurrent versions wins: the later clock, then the
    /// larger device id, so every laptop picks the same one.
    fn beats(&self, other: &Version) -> bool {
        (self.clock, &self.device) > (other.clock, &other.device)
    }
}

/// What to do with an incoming version of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A record this database does not have: add it.
    Insert,
    /// This database already has it or a newer version: nothing to do.
    Keep,
    /// The incoming version descends from ours: take it.
    Replace,
    /// Changed on both sides. The winner's content stays or comes in; the
    /// record's vector becomes `vector` (both sides', so the conflict is
    /// met once); the loser goes to the conflicts table.
    Conflict {
        incoming_wins: bool,
        vector: VersionVector,
    },
}

/// The merge rule for one record, as a pure function.
pub fn decide(local: Option<&Version>, incoming: &Version) -> Decision {
    let Some(local) = local else {
        return Decision::Insert;
    };
    match incoming.vector.relation(&local.vector) {
        Relation::Same | Relation::Before => Decision::Keep,
        Relation::After => Decision::Replace,
        Relation::Concurrent => Decision::Conflict {
            incoming_wins: incoming.beats(local),
            vector: incoming.vector.merged(&local.vector),
        },
    }
}

/// The newest clock a bundle carries anywhere: its rows' change and
/// creation times, their version vectors, what it says it merged of other
/// laptops, and its own range.
pub fn newest_clock(header: &bundle::Header, payload: &bundle::Payload) -> i64 {
    use bundle::Value;
    let mut newest = header.top.max(header.since);
    for (_, c) in &payload.merged {
        newest = newest.max(*c);
    }
    for t in &payload.tables {
        for (i, column) in t.columns.iter().enumerate() {
            match column.as_str() {
                "updated_at" | "created_at" => {
                    for row in &t.rows {
                        if let Some(Value::Int(c)) = row.get(i) {
                            newest = newest.max(*c);
                        }
                    }
                }
                "vv" => {
                    for row in &t.rows {
                        if let Some(Value::Text(text)) = row.get(i) {
                            for pair in text.split(',') {
                                if let Some(c) = pair
                                    .split_once('=')
                                    .and_then(|(_, c)| c.parse::<i64>().ok())
                                {
                                    newest = newest.max(c);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    newest
}

/// Why a scope (and the purge it brings) is not taken from a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRefusal {
    /// This laptop has field laptops of its own: it holds every client and
    /// takes a scope from nobody.
    Hub,
    /// Another office laptop set this laptop's scope first: only it may.
    NotItsOffice,
    /// A scope comes only in a bundle sealed for this laptop alone.
    NotAddressed,
}

impl std::fmt::Display for ScopeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScopeRefusal::Hub => {
                "this laptop is an office laptop with field laptops of its own, which holds every client and takes a scope from no other laptop"
            }
            ScopeRefusal::NotItsOffice => {
                "only the office laptop that set this laptop's scope may change it"
            }
            ScopeRefusal::NotAddressed => "a scope comes only in a bundle sealed for this laptop alone",
        })
    }
}

/// The error of every refused bundle, in words a coordinator can act on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SyncError {
    #[error("this is not a Tether sync bundle")]
    NotABundle,
    #[error(
        "the bundle is incomplete (the file was cut short: {have} of {want} bytes); copy it again"
    )]
    Truncated { have: usize, want: usize },
    #[error(
        "the bundle cannot be opened with this organisation's sync key: it was made with another key (another organisation's, or an old passphrase) or it has been altered"
    )]
    WrongKeyOrTampered,
    #[error("the bundle is damaged: {0}")]
    Damaged(String),
    #[error(
        "the bundle is not sealed for this laptop: only the laptops it was written for can open it"
    )]
    NotForThisLaptop,
    #[error(
        "the bundle's signature does not match the laptop key in it: it has been altered or forged"
    )]
    BadSignature,
    #[error("the bundle is too large: {what} is over the limit of {limit}")]
    TooLarge { what: &'static str, limit: u64 },
    #[error(
        "the bundle was made by a newer version of Tether (database version {theirs}, this one {ours}); update Tether first"
    )]
    NewerSchema { theirs: usize, ours: usize },
    #[error(
        "this bundle continues an earlier one from device {device} that has not been merged here; merge that first, or ask for a full bundle"
    )]
    Gap { device: String },
    #[error(
        "the bundle comes from laptop {device} (key {fingerprint}), which is not enrolled on this laptop: an admin compares that key with the one shown in Settings on that laptop, then enrolls it here"
    )]
    NotEnrolled { device: String, fingerprint: String },
    #[error(
        "the bundle says it comes from laptop {device} but is signed with another key ({fingerprint}) than the one enrolled for it: it may be forged, and nothing was merged"
    )]
    KeyMismatch { device: String, fingerprint: String },
    #[error("laptop {device} has been retired: its bundles are no longer accepted")]
    Retired { device: String },
    #[error(
        "the bundle has changes dated {stamp}, more than {margin_hours} hours ahead of this laptop's clock ({now}); check the date and time on both laptops"
    )]
    ClockAhead {
        stamp: String,
        now: String,
        margin_hours: i64,
    },
    #[error("the bundle is refused: {table} record {record}: {error}")]
    InvalidRecord {
        table: String,
        record: String,
        error: crate::domain::ValidationError,
    },
    #[error("the bundle is refused: {table} record {record}: {reason}")]
    NotAllowed {
        table: String,
        record: String,
        reason: String,
    },
    #[error(
        "the bundle from laptop {device} is refused: it sets which clients this laptop holds, but {why}"
    )]
    ScopeRefused { device: String, why: ScopeRefusal },
    #[error("the bundle is refused: it would leave this laptop without an active admin")]
    NoAdminLeft,
    #[error("the sync passphrase must have at least {min} characters")]
    WeakPassphrase { min: usize },
    #[error("no sync passphrase is set; an admin sets it in Settings")]
    NoPassphrase,
}
