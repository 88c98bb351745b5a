//! What a merge checks of each incoming row: its shape, its values as a
//! form would, and who sent it and who made it (the facts read here, the
//! decision in [`crate::sync::policy`]).

use super::*;

/// A row of a bundle, with its bookkeeping read out.
pub(super) struct Incoming<'a> {
    pub(super) id: Uuid,
    pub(super) version: Version,
    pub(super) values: &'a [Value],
}

pub(super) fn read_incoming<'a>(
    table: &str,
    values: &'a [Value],
    at: &Positions,
    n: usize,
) -> Result<Incoming<'a>, StoreError> {
    if values.len() != n {
        return Err(damaged(format!(
            "a row of {table} has the wrong number of values"
        )));
    }
    let id = match &values[at.id] {
        Value::Blob(b) => {
            Uuid::from_slice(b).map_err(|_| damaged(format!("a {table} id is not an id")))?
        }
        _ => return Err(damaged(format!("a {table} id is not an id"))),
    };
    let Value::Int(clock) = values[at.updated_at] else {
        return Err(damaged(format!("a {table} row has no change time")));
    };
    let Value::Text(device) = &values[at.device] else {
        return Err(damaged(format!("a {table} row has no device")));
    };
    if crate::sync::device_id_problem(device).is_some() {
        return Err(damaged(format!(
            "a {table} row names a laptop id that is not one"
        )));
    }
    if clock < 0 {
        return Err(damaged(format!(
            "a {table} row has a change time before 1970"
        )));
    }
    // Parsed strictly and stored only as this module writes it.
    let vv = match &values[at.vv] {
        Value::Text(t) => {
            let parsed = crate::sync::VersionVector::parse(t)
                .map_err(|why| damaged(format!("a {table} row's version: {why}")))?;
            if parsed.to_column(device, clock).as_deref() != Some(t.as_str()) {
                return Err(damaged(format!(
                    "a {table} row's version is not written as Tether writes one"
                )));
            }
            Some(t.as_str())
        }
        Value::Null => None,
        _ => return Err(damaged(format!("a {table} row has a bad version"))),
    };
    Ok(Incoming {
        id,
        version: Version::new(vv, device, clock),
        values,
    })
}

/// Where the bookkeeping columns are in a bundle's table.
pub(super) struct Positions {
    pub(super) id: usize,
    pub(super) updated_at: usize,
    pub(super) updated_by: usize,
    pub(super) device: usize,
    pub(super) deleted: usize,
    pub(super) vv: usize,
}

pub(super) fn positions(table: &TableRows, local: &[String]) -> Result<Positions, StoreError> {
    for (i, c) in table.columns.iter().enumerate() {
        if !local.contains(c) {
            return Err(damaged(format!(
                "{} has an unknown column {}",
                table.table,
                bundle::short(c)
            )));
        }
        if table.columns[..i].contains(c) {
            return Err(damaged(format!("{} has the column {c} twice", table.table)));
        }
    }
    let find = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| damaged(format!("{} has no {name} column", table.table)))
    };
    Ok(Positions {
        id: find("id")?,
        updated_at: find("updated_at")?,
        updated_by: find("updated_by")?,
        device: find("device_id")?,
        deleted: find("deleted")?,
        vv: find("vv")?,
    })
}

/// The bookkeeping columns every record kind starts with, in `from_row` order.
pub(super) const META_NAMES: [&str; 6] = [
    "id",
    "created_at",
    "updated_at",
    "updated_by",
    "device_id",
    "deleted",
];

/// Checks a bundle's rows of one table as a form would check them, before
/// anything is written: every value is read into the record kind's domain
/// type (a value outside a closed list is refused) and validated.
pub(super) struct RowCheck {
    table: &'static str,
    /// Where each of the kind's columns (bookkeeping first) is in a row.
    order: Vec<usize>,
    names: Vec<&'static str>,
    check: CheckFn,
}

pub(super) type CheckFn =
    fn(&BundleRow<'_>, NaiveDate) -> rusqlite::Result<Result<(), ValidationError>>;

pub(super) fn typed_check<R: Record>(
    row: &BundleRow<'_>,
    today: NaiveDate,
) -> rusqlite::Result<Result<(), ValidationError>> {
    let saved = saved_from_columns::<R>(row)?;
    Ok(saved.data.validate(today))
}

/// A bundle's row read as a record's columns (`order`: the bundle column
/// of each of the record's columns).
pub(super) struct BundleRow<'a> {
    values: &'a [Value],
    order: &'a [usize],
}

impl Columns for BundleRow<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, idx: usize) -> rusqlite::Result<T> {
        let value = match &self.values[self.order[idx]] {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        };
        column_from(value, idx)
    }
}

impl RowCheck {
    pub(super) fn new(table: &'static str, columns: &[String]) -> Result<RowCheck, StoreError> {
        fn make<R: Record>(
            table: &'static str,
            columns: &[String],
        ) -> Result<RowCheck, StoreError> {
            let names: Vec<&'static str> = META_NAMES
                .iter()
                .chain(R::COLUMNS.iter())
                .copied()
                .collect();
            let order = names
                .iter()
                .map(|n| {
                    columns
                        .iter()
                        .position(|c| c == n)
                        .ok_or_else(|| damaged(format!("{table} has no {n} column")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RowCheck {
                table,
                order,
                names,
                check: typed_check::<R>,
            })
        }
        match table {
            "users" => make::<User>(table, columns),
            "clients" => make::<Client>(table, columns),
            "contacts" => make::<Contact>(table, columns),
            "locations" => make::<Location>(table, columns),
            "arrests" => make::<Arrest>(table, columns),
            "detentions" => make::<Detention>(table, columns),
            "enrollments" => make::<Enrollment>(table, columns),
            "service_events" => make::<ServiceEvent>(table, columns),
            "followups" => make::<FollowUp>(table, columns),
            other => Err(StoreError::NoSuchTable(other.to_owned())),
        }
    }

    pub(super) fn check(
        &self,
        values: &[Value],
        id: Uuid,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let row = BundleRow {
            values,
            order: &self.order,
        };
        let result = (self.check)(&row, today);
        let error = match result {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(e) => {
                let at = match &e {
                    rusqlite::Error::FromSqlConversionFailure(i, ..)
                    | rusqlite::Error::InvalidColumnType(i, ..)
                    | rusqlite::Error::IntegralValueOutOfRange(i, ..) => Some(*i),
                    _ => None,
                };
                let Some(at) = at else {
                    return Err(e.into());
                };
                let shown = match &values[self.order[at]] {
                    Value::Null => "empty".to_owned(),
                    Value::Int(i) => i.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Text(t) => format!("\"{}\"", bundle::short(t)),
                    Value::Blob(_) => "binary data".to_owned(),
                };
                ValidationError::Inconsistent {
                    field: self.names[at],
                    reason: format!("{shown} is not a value this field takes"),
                }
            }
        };
        Err(SyncError::InvalidRecord {
            table: self.table.to_owned(),
            record: id.to_string(),
            error,
        }
        .into())
    }
}

/// Who sent a bundle and what this laptop lets it change.
pub(super) struct Policy {
    /// The signing laptop's device id.
    pub(super) signer: String,
    pub(super) trust: Trust,
    /// The latest date a record may carry (today, plus the clock margin).
    pub(super) today: NaiveDate,
    /// A field laptop (one with a scope) merging an office laptop's bundle:
    /// a record changed on both sides is left as it is here, for the office
    /// to decide once this laptop's change reaches it (the conflict is then
    /// kept there, where every change of the organisation is).
    pub(super) defer_conflicts: bool,
    /// A field laptop with a scope (or none chosen yet, empty): the workers
    /// whose clients its changes may touch, and the only people in whose
    /// names it may speak. None: no limit.
    pub(super) scope: Option<HashSet<Uuid>>,
    /// This laptop's clock now (the correction rule's window).
    pub(super) now: i64,
    /// The bundle's `top`: which bundle of the sender's a change came in.
    pub(super) bundle_top: i64,
    /// From a field laptop: the newest stamp of this laptop's it can have
    /// been sent and merged (what it says, no more than was sealed for it).
    pub(super) sent_cap: Option<i64>,
}

impl Policy {
    /// The sender as [`policy`] judges it.
    pub(super) fn sender(&self) -> Sender<'_> {
        Sender {
            device: &self.signer,
            trust: self.trust,
            workers: self.scope.as_ref(),
            now_ms: self.now,
        }
    }
}

/// Who entered a record here and when: the first audit entry of its
/// creation (made here, or merged from the laptop where it was made). A
/// record merged before merges kept their history: its author as the row
/// says, if it last came from `signer`, and its creation time.
fn entered(
    tx: &Transaction<'_>,
    table: &str,
    id: Uuid,
    signer: &str,
) -> Result<Entered, StoreError> {
    if let Some((by, at)) = super::super::corrections::first_created(tx, id)? {
        return Ok(Entered {
            by,
            at_ms: Some(at),
        });
    }
    let row: Option<(Option<Uuid>, String, i64)> = tx
        .prepare_cached(&format!(
            "SELECT updated_by, device_id, created_at FROM {table} WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(match row {
        Some((by, device, at)) => Entered {
            by: by.filter(|_| device == signer),
            at_ms: Some(at),
        },
        None => Entered::default(),
    })
}

/// Refuses a field laptop's change to a client outside its scope, or to a
/// record of one (the rule is [`policy::client_change_in_scope`] and
/// [`policy::record_change_in_scope`]; this reads its facts).
pub(super) fn check_in_scope(
    tx: &Transaction<'_>,
    allowed: &HashSet<Uuid>,
    kind: RecordKind,
    columns: &[String],
    incoming: &Incoming<'_>,
    from: &str,
) -> Result<(), StoreError> {
    // A client the laptop was sent, or registered, and has not yet said
    // it purged: its changes to it are still taken (made before it left).
    let held = |id: &[u8]| -> Result<bool, StoreError> {
        Ok(tx
            .prepare_cached("SELECT 1 FROM sync_holdings WHERE device_id = ?1 AND client_id = ?2")?
            .query_row(params![from, id], |_| Ok(()))
            .optional()?
            .is_some())
    };
    let worker_of = |client: &[u8]| -> Result<Option<Option<Uuid>>, StoreError> {
        Ok(tx
            .prepare_cached("SELECT assigned_worker FROM clients WHERE id = ?1")?
            .query_row([client], |r| r.get::<_, Option<Uuid>>(0))
            .optional()?)
    };
    let inside = |w: Option<Uuid>| w.is_some_and(|w| allowed.contains(&w));
    let facts = |client: &Value| -> Result<ClientFacts, StoreError> {
        let Value::Blob(id) = client else {
            return Ok(ClientFacts::default());
        };
        Ok(ClientFacts {
            in_scope: inside(worker_of(id)?.flatten()),
            held: held(id)?,
        })
    };
    let at = |name: &str| columns.iter().position(|c| c == name);
    let ok = match kind {
        RecordKind::Client => {
            let after = at("assigned_worker").and_then(|i| match &incoming.values[i] {
                Value::Blob(b) => Uuid::from_slice(b).ok(),
                _ => None,
            });
            let id = incoming.id.as_bytes().as_slice();
            let before = match worker_of(id)? {
                None => None,
                Some(b) => Some((
                    b,
                    ClientFacts {
                        in_scope: inside(b),
                        held: held(id)?,
                    },
                )),
            };
            policy::client_change_in_scope(
                before.map(|(_, f)| f),
                inside(after),
                before.is_some_and(|(b, _)| b == after),
            )
        }
        k if k.of_a_client() => match at("client_id") {
            None => false,
            Some(i) => {
                let after = facts(&incoming.values[i])?;
                let previous: Option<Vec<u8>> = tx
                    .prepare_cached(&format!(
                        "SELECT client_id FROM {} WHERE id = ?1",
                        kind.table()
                    ))?
                    .query_row([incoming.id], |r| r.get(0))
                    .optional()?;
                let before = match previous {
                    Some(c) => Some(facts(&Value::Blob(c))?),
                    None => None,
                };
                policy::record_change_in_scope(before, after)
            }
        },
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(refuse(
            kind.table(),
            incoming.id,
            format!("it is about a client outside the scope of laptop {from}"),
        ))
    }
}

/// Authors' roles as this laptop knows them (`None`: no such user here).
#[derive(Default)]
pub(super) struct Roles(HashMap<Uuid, Option<Role>>);

impl Roles {
    pub(super) fn of(
        &mut self,
        tx: &Transaction<'_>,
        id: Uuid,
    ) -> Result<Option<Role>, StoreError> {
        if let Some(r) = self.0.get(&id) {
            return Ok(*r);
        }
        let role: Option<Role> = tx
            .prepare_cached("SELECT role FROM users WHERE id = ?1 AND deleted = 0")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        self.0.insert(id, role);
        Ok(role)
    }
}

pub(super) fn refuse(table: &str, id: Uuid, reason: impl Into<String>) -> StoreError {
    SyncError::NotAllowed {
        table: table.to_owned(),
        record: id.to_string(),
        reason: reason.into(),
    }
    .into()
}

/// Whether this laptop takes a change: the facts of it, read here, judged
/// by [`policy::judge`].
#[allow(clippy::too_many_arguments)]
pub(super) fn judge(
    tx: &Transaction<'_>,
    policy: &Policy,
    roles: &mut Roles,
    bundle_admins: &HashSet<Uuid>,
    kind: RecordKind,
    incoming: &Incoming<'_>,
    at: &Positions,
    local_deleted: Option<bool>,
) -> Result<Verdict, StoreError> {
    let id = incoming.id;
    let author = match &incoming.values[at.updated_by] {
        Value::Null => None,
        Value::Blob(b) => Some(
            Uuid::from_slice(b)
                .map_err(|_| refuse(kind.table(), id, "its author is not a user id"))?,
        ),
        _ => return Err(refuse(kind.table(), id, "its author is not a user id")),
    };
    let author_role = match author {
        Some(a) => roles.of(tx, a)?,
        None => None,
    };
    let change = Change {
        kind,
        id,
        relayed: incoming.version.device != policy.signer,
        author,
        author_role,
        author_admin_in_bundle: author.is_some_and(|a| bundle_admins.contains(&a)),
        admin_in_bundle: bundle_admins.contains(&id),
        deleted: deleted_flag(&incoming.values[at.deleted]),
        local_deleted,
    };
    let sender = policy.sender();
    let verdict = policy::judge(&sender, &change, || {
        entered(tx, kind.table(), id, &policy.signer)
    })?;
    match verdict {
        Verdict::Refuse(why) => Err(refuse(kind.table(), id, why)),
        v => Ok(v),
    }
}
