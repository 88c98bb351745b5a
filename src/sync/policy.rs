//! Who may change what: the whole trust decision of a merge, in one place,
//! as pure functions over facts the store gathers (`store::sync::check`
//! reads them; nothing here touches the database).
//!
//! - [`Trust`]: what an admin enrolled another laptop as.
//! - [`judge`]: whether one incoming change is taken, by who sent it and
//!   who made it.
//! - [`client_change_in_scope`], [`record_change_in_scope`]: whether a
//!   field laptop's change stays within its scope.
//! - [`version_claim_holds`]: whether a field laptop can have seen the
//!   version it says its change descends from.
//! - [`scope_word`]: whether a scope (and the purge it brings) is taken.
//! - [`leaves_an_admin`]: no bundle leaves a laptop without an admin.
//!
//! A seized field laptop speaks only for its own users: its changes are
//! believed only in the names of its scope's workers, under the window's
//! rules (`Role::may_correct`: their own records, within 7 days), never for
//! the registry, accounts, or a client's deletion. An office laptop's key
//! is powerful (its changes are an office's), but it never sets a hub's
//! scope, nor a field laptop's that another office scoped.

use super::{ScopeRefusal, SyncError};
use crate::domain::{OWN_CORRECTION_DAYS, Permission, Role};
use std::collections::HashSet;
use uuid::Uuid;

/// What an admin enrolled another laptop as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Seen (a bundle signed with its key) but not enrolled: refused.
    Pending,
    /// A field laptop: its own changes, in its workers' names.
    Member,
    /// An office laptop: may also pass on other laptops' changes and
    /// change users (made by an admin).
    Office,
    /// Refused from now on (a lost or seized laptop).
    Retired,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Pending => "pending",
            Trust::Member => "member",
            Trust::Office => "office",
            Trust::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<Trust> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pending" => Some(Trust::Pending),
            "member" | "field" => Some(Trust::Member),
            "office" => Some(Trust::Office),
            "retired" => Some(Trust::Retired),
            _ => None,
        }
    }
}

/// The kinds of record a bundle carries (its tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    User,
    Client,
    Contact,
    Location,
    Arrest,
    Detention,
    Enrollment,
    ServiceEvent,
    FollowUp,
}

impl RecordKind {
    pub const ALL: [RecordKind; 9] = [
        RecordKind::User,
        RecordKind::Client,
        RecordKind::Contact,
        RecordKind::Location,
        RecordKind::Arrest,
        RecordKind::Detention,
        RecordKind::Enrollment,
        RecordKind::ServiceEvent,
        RecordKind::FollowUp,
    ];

    /// The kind of a table's records (None: not a record table).
    pub fn of_table(table: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.table() == table)
    }

    pub fn table(self) -> &'static str {
        match self {
            RecordKind::User => "users",
            RecordKind::Client => "clients",
            RecordKind::Contact => "contacts",
            RecordKind::Location => "locations",
            RecordKind::Arrest => "arrests",
            RecordKind::Detention => "detentions",
            RecordKind::Enrollment => "enrollments",
            RecordKind::ServiceEvent => "service_events",
            RecordKind::FollowUp => "followups",
        }
    }

    /// The audit's word for it.
    pub fn audit_kind(self) -> &'static str {
        match self {
            RecordKind::User => "user",
            RecordKind::Client => "client",
            RecordKind::Contact => "contact",
            RecordKind::Location => "location",
            RecordKind::Arrest => "arrest",
            RecordKind::Detention => "detention",
            RecordKind::Enrollment => "enrollment",
            RecordKind::ServiceEvent => "service_event",
            RecordKind::FollowUp => "followup",
        }
    }

    /// A record about one client (it has a `client_id`).
    pub fn of_a_client(self) -> bool {
        matches!(
            self,
            RecordKind::Contact
                | RecordKind::Arrest
                | RecordKind::Detention
                | RecordKind::Enrollment
                | RecordKind::ServiceEvent
                | RecordKind::FollowUp
        )
    }

    /// Changed in the window only through a correction (`Role::may_correct`).
    /// Clients' details, the end of a stay and the closing of a follow-up
    /// are changed by any worker of the client.
    fn corrected(self) -> bool {
        matches!(
            self,
            RecordKind::Contact
                | RecordKind::Arrest
                | RecordKind::Enrollment
                | RecordKind::ServiceEvent
        )
    }

    /// Deleted only with the permission to delete (other records are
    /// removed as entered in error, under the correction rule).
    fn deleted_with_permission(self) -> bool {
        matches!(self, RecordKind::Client | RecordKind::Location)
    }
}

/// Who sent a bundle, as this laptop believes.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub device: &'a str,
    pub trust: Trust,
    /// A field laptop's workers: the only people in whose names it speaks
    /// (None: no such limit; a field laptop whose clients no admin chose
    /// has none).
    pub workers: Option<&'a HashSet<Uuid>>,
    /// This laptop's clock (the correction window).
    pub now_ms: i64,
}

/// One incoming change, as the store knows it.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub kind: RecordKind,
    pub id: Uuid,
    /// Made on another laptop than the sender (passed on).
    pub relayed: bool,
    /// Who made it (None: the row names nobody).
    pub author: Option<Uuid>,
    /// The author's role as this laptop knows it (None: unknown here).
    pub author_role: Option<Role>,
    /// Users: the author is an active admin the same bundle brings.
    pub author_admin_in_bundle: bool,
    /// Users: the record is an active admin the same bundle brings.
    pub admin_in_bundle: bool,
    /// The change removes it.
    pub deleted: bool,
    /// Whether this laptop holds it, and removed (None: new here).
    pub local_deleted: Option<bool>,
}

/// Who entered a record here and when, as its history says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entered {
    pub by: Option<Uuid>,
    pub at_ms: Option<i64>,
}

/// What becomes of a change that would alter something here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    /// Passed on by a field laptop, or a field laptop's own account: left
    /// for the laptop that made it, or kept on it.
    Ignore,
    /// Refused, and the whole bundle with it.
    Refuse(String),
}

/// Whether one change is taken. `entered` is asked only when the rule
/// needs who entered the record (a field laptop's correction or removal).
pub fn judge<E>(
    sender: &Sender<'_>,
    change: &Change,
    entered: impl FnOnce() -> Result<Entered, E>,
) -> Result<Verdict, E> {
    let refuse = |why: String| Ok(Verdict::Refuse(why));
    if change.relayed && sender.trust != Trust::Office {
        return Ok(Verdict::Ignore);
    }
    if change.kind == RecordKind::User {
        if sender.trust != Trust::Office {
            // A field laptop's own new accounts stay on it; changing an
            // account here is an office laptop's admin's work.
            return if change.local_deleted.is_none() {
                Ok(Verdict::Ignore)
            } else {
                refuse(
                    "it changes a user account, which only a laptop enrolled as an office laptop may send"
                        .into(),
                )
            };
        }
        // The author's role as this laptop knows it; an author new here
        // must be an admin of the same bundle (not the row itself); the
        // first admin of a laptop (made by `init`, no author) is new here.
        let by_admin = match change.author {
            Some(a) => match change.author_role {
                Some(role) => role == Role::Admin,
                None => a != change.id && change.author_admin_in_bundle,
            },
            None => change.local_deleted.is_none() && change.admin_in_bundle,
        };
        return if by_admin {
            Ok(Verdict::Apply)
        } else {
            refuse("it changes a user account but was not made by an admin".into())
        };
    }
    let Some(author) = change.author else {
        return refuse("it does not say which user made it".into());
    };
    let Some(role) = change.author_role else {
        return refuse(
            "it was made by a user this laptop does not know (users are added by an admin on the office laptop)"
                .into(),
        );
    };
    if role == Role::Admin && sender.trust != Trust::Office {
        // A seized field laptop must not borrow the office admin's id.
        return refuse(
            "it is in an admin's name, which only a laptop enrolled as an office laptop may send"
                .into(),
        );
    }
    let field = sender.trust == Trust::Member;
    if field {
        if let Some(workers) = sender.workers
            && !workers.contains(&author)
        {
            return refuse(format!(
                "it is in the name of a user who does not work on laptop {}",
                sender.device
            ));
        }
        if change.kind == RecordKind::Location {
            return refuse(
                "the registry of places is kept on the office laptop, not changed from a field laptop"
                    .into(),
            );
        }
    }
    let need = if change.kind == RecordKind::Location {
        Permission::ManageRegistry
    } else {
        Permission::EditRecords
    };
    let deletes = change.deleted && change.local_deleted != Some(true);
    for permission in [need, Permission::Delete] {
        if permission == Permission::Delete && !(deletes && change.kind.deleted_with_permission()) {
            continue;
        }
        if !role.can(permission) {
            return refuse(format!(
                "it was made by a user with the {role} role, who may not {}",
                permission.describe()
            ));
        }
    }
    // A field laptop's correction or removal: only as the window allows.
    let removes = change.deleted && change.local_deleted == Some(false);
    if field && change.local_deleted.is_some() && (change.kind.corrected() || removes) {
        let e = entered()?;
        let own = e.by == Some(author);
        if !role.may_correct(own, e.at_ms.unwrap_or(i64::MIN), sender.now_ms) {
            return refuse(format!(
                "it changes a record that its author, with the {role} role, may not correct: only their own, within {OWN_CORRECTION_DAYS} days of entering it"
            ));
        }
    }
    Ok(Verdict::Apply)
}

/// What a scope check knows of the client a field laptop's change is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFacts {
    /// Assigned to a worker of the laptop's scope.
    pub in_scope: bool,
    /// Sent to the laptop (or registered by it) and not yet purged by it.
    pub held: bool,
}

/// Whether a field laptop's change to a client's own row stays within
/// its scope: a client it registers is assigned to one of its workers; a
/// client it holds may not be moved to another laptop's worker.
/// `before`: the client as this laptop holds it (None: new here);
/// `after_in_scope`: the change assigns it to one of the laptop's workers;
/// `unmoved`: the change leaves its worker as it was.
pub fn client_change_in_scope(
    before: Option<ClientFacts>,
    after_in_scope: bool,
    unmoved: bool,
) -> bool {
    match before {
        None => after_in_scope,
        Some(b) => (b.in_scope || b.held) && (after_in_scope || unmoved),
    }
}

/// Whether a field laptop's change to a record about a client stays within
/// its scope: the record's client, before and after, is one it holds.
pub fn record_change_in_scope(before: Option<ClientFacts>, after: ClientFacts) -> bool {
    (after.in_scope || after.held) && before.is_none_or(|b| b.in_scope || b.held)
}

/// Whether a field laptop's version can descend, as it claims, from the
/// one this laptop holds: yes if this laptop holds the sender's own last
/// version, or sent it the one it holds (stamped no later than what the
/// sender can have merged of ours, `cap`). Otherwise the change was made
/// apart, and is kept as a conflict for review.
pub fn version_claim_holds(
    sender: &Sender<'_>,
    local_device: &str,
    local_stamp: i64,
    cap: Option<i64>,
) -> bool {
    match cap {
        Some(cap) if sender.trust == Trust::Member => {
            local_device == sender.device || local_stamp <= cap
        }
        _ => true,
    }
}

/// What a bundle's scope asks of this laptop.
#[derive(Debug, Clone, Copy)]
pub struct ScopeFacts<'a> {
    /// The bundle carries a scope.
    pub carried: bool,
    /// "Every client", and no client named as leaving.
    pub everything: bool,
    /// This laptop has field laptops of its own.
    pub hub: bool,
    /// The office whose scopes this laptop takes, once one has.
    pub office: Option<&'a str>,
    pub sender: &'a str,
    /// Sealed for this laptop alone (and its writer).
    pub addressed: bool,
}

/// What becomes of the scope a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeWord {
    /// None carried, or one this laptop has no use for: the rows are merged.
    Ignore,
    /// Kept, and the clients outside it purged.
    Apply,
}

/// Whether a scope is taken: only by a laptop that is no hub, only from
/// the office that scoped it first, and only in a bundle sealed for it
/// alone. Anything else that would narrow what this laptop holds refuses
/// the bundle.
pub fn scope_word(f: &ScopeFacts<'_>) -> Result<ScopeWord, ScopeRefusal> {
    if !f.carried {
        return Ok(ScopeWord::Ignore);
    }
    let ours = f.office.is_none_or(|o| o == f.sender);
    if f.everything {
        return Ok(if ours && !f.hub {
            ScopeWord::Apply
        } else {
            ScopeWord::Ignore
        });
    }
    if f.hub {
        return Err(ScopeRefusal::Hub);
    }
    if !ours {
        return Err(ScopeRefusal::NotItsOffice);
    }
    if !f.addressed {
        return Err(ScopeRefusal::NotAddressed);
    }
    Ok(ScopeWord::Apply)
}

/// No bundle may leave a laptop without an active admin.
pub fn leaves_an_admin(active_admins: i64) -> Result<(), SyncError> {
    if active_admins > 0 {
        Ok(())
    } else {
        Err(SyncError::NoAdminLeft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: RecordKind, author: Uuid, role: Role) -> Change {
        Change {
            kind,
            id: Uuid::now_v7(),
            relayed: false,
            author: Some(author),
            author_role: Some(role),
            author_admin_in_bundle: false,
            admin_in_bundle: false,
            deleted: false,
            local_deleted: None,
        }
    }

    fn verdict(sender: &Sender<'_>, c: &Change, e: Entered) -> Verdict {
        judge::<()>(sender, c, || Ok(e)).unwrap()
    }

    #[test]
    fn a_field_laptop_speaks_only_for_its_workers_as_the_window_would() {
        let (sokha, dara) = (Uuid::now_v7(), Uuid::now_v7());
        let workers: HashSet<Uuid> = [sokha].into();
        let now = 100 * 86_400_000;
        let field = Sender {
            device: "field-1",
            trust: Trust::Member,
            workers: Some(&workers),
            now_ms: now,
        };
        let new_contact = change(RecordKind::Contact, sokha, Role::Outreach);
        assert_eq!(
            verdict(&field, &new_contact, Entered::default()),
            Verdict::Apply
        );
        let theirs = change(RecordKind::Contact, dara, Role::Outreach);
        assert!(matches!(
            verdict(&field, &theirs, Entered::default()),
            Verdict::Refuse(_)
        ));
        let place = change(RecordKind::Location, sokha, Role::Outreach);
        assert!(matches!(
            verdict(&field, &place, Entered::default()),
            Verdict::Refuse(_)
        ));
        // A correction: their own within 7 days, nothing else.
        let mut fix = change(RecordKind::Arrest, sokha, Role::Outreach);
        fix.local_deleted = Some(false);
        let mine_recent = Entered {
            by: Some(sokha),
            at_ms: Some(now - 86_400_000),
        };
        assert_eq!(verdict(&field, &fix, mine_recent), Verdict::Apply);
        let mine_old = Entered {
            by: Some(sokha),
            at_ms: Some(now - 30 * 86_400_000),
        };
        assert!(matches!(
            verdict(&field, &fix, mine_old),
            Verdict::Refuse(_)
        ));
        let an_admins = Entered {
            by: Some(dara),
            at_ms: Some(now),
        };
        assert!(matches!(
            verdict(&field, &fix, an_admins),
            Verdict::Refuse(_)
        ));
        // A client's details: any worker of the laptop, as in the window.
        let mut details = change(RecordKind::Client, sokha, Role::Outreach);
        details.local_deleted = Some(false);
        assert_eq!(verdict(&field, &details, an_admins), Verdict::Apply);
        // Relayed: left for its own laptop.
        let mut relayed = new_contact;
        relayed.relayed = true;
        assert_eq!(
            verdict(&field, &relayed, Entered::default()),
            Verdict::Ignore
        );
    }

    #[test]
    fn scopes_come_only_from_the_office_that_set_them_and_never_to_a_hub() {
        let base = ScopeFacts {
            carried: true,
            everything: false,
            hub: false,
            office: Some("office-a"),
            sender: "office-a",
            addressed: true,
        };
        assert_eq!(scope_word(&base), Ok(ScopeWord::Apply));
        assert_eq!(
            scope_word(&ScopeFacts { hub: true, ..base }),
            Err(ScopeRefusal::Hub)
        );
        assert_eq!(
            scope_word(&ScopeFacts {
                sender: "office-b",
                ..base
            }),
            Err(ScopeRefusal::NotItsOffice)
        );
        assert_eq!(
            scope_word(&ScopeFacts {
                addressed: false,
                ..base
            }),
            Err(ScopeRefusal::NotAddressed)
        );
        assert_eq!(
            scope_word(&ScopeFacts {
                everything: true,
                hub: true,
                ..base
            }),
            Ok(ScopeWord::Ignore)
        );
    }
}
