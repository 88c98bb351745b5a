//! Plain domain types, closed lists and validation. No I/O, no egui.
//!
//! A record kind is a plain data struct (`Client`, `Contact`, ...). A saved
//! record is `Saved<T>`: the data plus its [`Meta`] (id, timestamps, who and
//! which device wrote it, tombstone).

mod enums;
mod error;
mod records;

pub use enums::*;
pub use error::ValidationError;
pub use records::*;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bookkeeping every saved record carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The user who made the last change (none for records written by the system).
    pub updated_by: Option<Uuid>,
    /// The device (database) that made the last change.
    pub device_id: String,
    /// Tombstone: deleted records stay for sync but are never shown or counted.
    pub deleted: bool,
}

/// A record as stored: its data and its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved<T> {
    pub meta: Meta,
    pub data: T,
}

impl<T> Saved<T> {
    pub fn id(&self) -> Uuid {
        self.meta.id
    }
}

impl<T> std::ops::Deref for Saved<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

/// Something the store checks the acting user's role for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create and edit clients, contacts, arrests, detentions, services, follow-ups.
    EditRecords,
    /// Tombstone a record.
    Delete,
    /// Add, deactivate and change users and their passwords.
    ManageUsers,
    /// Edit the detention-location registry and settings.
    ManageRegistry,
    /// Aggregate (de-identified) reports and line lists.
    Export,
    /// Exports that carry names, nicknames or phone numbers.
    ExportIdentifiable,
    /// Bulk import and demo data.
    Import,
    /// Backups and restores.
    Backup,
    /// Read the audit log.
    ViewAudit,
    /// Send and merge sync bundles.
    Sync,
    /// Resolve sync conflicts and merge duplicate clients.
    ResolveConflicts,
    /// Set the organisation's sync passphrase.
    SyncSetup,
    /// Correct or remove records someone else entered, or one's own after
    /// [`OWN_CORRECTION_DAYS`].
    CorrectAnyRecord,
}

/// Days in which whoever entered a record may still correct or remove it
/// themselves (coordinators and admins may at any time).
pub const OWN_CORRECTION_DAYS: i64 = 7;

impl Permission {
    /// Plain words for refusals: "… may not {}".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::EditRecords => "edit records",
            Permission::Delete => "delete records",
            Permission::ManageUsers => "manage user accounts",
            Permission::ManageRegistry => "edit the detention-location registry or settings",
            Permission::Export => "export reports",
            Permission::ExportIdentifiable => "export identifiable data",
            Permission::Import => "import data",
            Permission::Backup => "make or restore backups",
            Permission::ViewAudit => "read the audit log",
            Permission::Sync => "sync with other laptops",
            Permission::ResolveConflicts => "resolve sync conflicts or merge clients",
            Permission::SyncSetup => "set the sync passphrase",
            Permission::CorrectAnyRecord => {
                "correct or remove a record someone else entered, or their own after 7 days"
            }
        }
    }
}

impl Role {
    /// Whether this role may do `permission`. The store calls this before every write.
    /// The correction rule, decided here only: who may correct or remove a
    /// record entered by `entered_by_me` (this user or not) at
    /// `entered_at_ms`, at `now_ms`. Coordinators and admins: any record.
    /// Everyone else: what they entered themselves, within
    /// [`OWN_CORRECTION_DAYS`] (a record dated ahead of the clock counts as
    /// just entered).
    pub fn may_correct(self, entered_by_me: bool, entered_at_ms: i64, now_ms: i64) -> bool {
        self.can(Permission::CorrectAnyRecord)
            || (self.can(Permission::EditRecords)
                && entered_by_me
                && now_ms.saturating_sub(entered_at_ms) <= OWN_CORRECTION_DAYS * 86_400_000)
    }

    pub fn can(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Coordinator => !matches!(permission, P::ManageUsers | P::Backup | P::SyncSetup),
            Role::Manager => matches!(
                permission,
                P::EditRecords | P::Export | P::ExportIdentifiable | P::ViewAudit | P::Sync
            ),
            // Outreach laptops send their contacts and take back the registry.
            Role::Outreach => matches!(permission, P::EditRecords | P::Sync),
        }
    }
}

/// Normalises a client code: trimmed and upper-case, so `pp-0001` and `PP-0001` are one client.
pub fn normalize_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// Age in whole years at `day`, as the reports count it (year minus birth year).
pub fn age_at(birth_year: Option<i32>, day: NaiveDate) -> Option<i32> {
    use chrono::Datelike;
    birth_year.map(|y| day.year() - y)
}

/// Parses a date as `YYYY-MM-DD` or `DD/MM/YYYY`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y"))
        .ok()
}

/// `date` moved by `days` (negative: back), saturating at the first or last
/// representable date instead of panicking: stored values come from
/// forms, imports and other laptops, and an absurd one must never bring
/// the program down.
pub fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    chrono::TimeDelta::try_days(days)
        .and_then(|d| date.checked_add_signed(d))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}
