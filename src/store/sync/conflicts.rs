//! The losing side of every conflict, kept for review, and its resolution.

use super::*;

impl Store {
    /// Conflicts waiting for review (or all, with resolved ones), newest first.
    pub fn conflicts(&self, include_resolved: bool) -> Result<Vec<Conflict>, StoreError> {
        let sql = format!(
            "SELECT id, record_table, record_id, found_at, from_device, loser_clock, loser_device, loser, resolution
             FROM sync_conflicts {} ORDER BY found_at DESC, id DESC",
            if include_resolved { "" } else { "WHERE resolved_at IS NULL" }
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows: Vec<KeptLoser> = stmt
            .query_map([], |r| {
                Ok(KeptLoser {
                    id: r.get(0)?,
                    table: r.get(1)?,
                    record_id: r.get(2)?,
                    found_at: r.get(3)?,
                    from_device: r.get(4)?,
                    clock: r.get(5)?,
                    device: r.get(6)?,
                    loser: r.get(7)?,
                    resolution: r.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for KeptLoser {
            id,
            table,
            record_id,
            found_at,
            from_device,
            clock,
            device,
            loser,
            resolution,
        } in rows
        {
            let columns = synced_columns(self.conn(), &table)?;
            let current = current_row_on(self.conn(), &table, &columns, record_id)?;
            let other = loser_values(&loser, &columns)?;
            let get = |vals: &[Value], name: &str| {
                columns
                    .iter()
                    .position(|c| c == name)
                    .and_then(|i| vals.get(i).cloned())
                    .unwrap_or(Value::Null)
            };
            let mut fields = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                if BOOKKEEPING.contains(&c.as_str()) || current.get(i) == other.get(i) {
                    continue;
                }
                fields.push(FieldDiff {
                    field: c.clone(),
                    current: self.shown(c, current.get(i).unwrap_or(&Value::Null))?,
                    other: self.shown(c, other.get(i).unwrap_or(&Value::Null))?,
                });
            }
            let current_clock = match get(&current, "updated_at") {
                Value::Int(c) => c,
                _ => 0,
            };
            let current_device = match get(&current, "device_id") {
                Value::Text(d) => d,
                _ => String::new(),
            };
            out.push(Conflict {
                id,
                label: self.record_label(&table, record_id, &columns, &current)?,
                table,
                record_id,
                found_at: ms_to_time(found_at),
                from_device,
                other_changed_at: ms_to_time(clock),
                other_device: device,
                current_changed_at: ms_to_time(current_clock),
                current_device,
                fields,
                resolution,
            });
        }
        Ok(out)
    }

    /// A value as a coordinator reads it: references by their code or name.
    pub(super) fn shown(&self, column: &str, v: &Value) -> Result<String, StoreError> {
        let conn = self.conn();
        Ok(match v {
            Value::Null => "—".into(),
            Value::Int(i) if column == "deleted" => if *i != 0 { "deleted" } else { "live" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(t) => t.clone(),
            Value::Blob(b) => {
                let Ok(id) = Uuid::from_slice(b) else {
                    return Ok(hex::encode(b));
                };
                let lookup = match column {
                    "client_id" => Some("SELECT code FROM clients WHERE id = ?1"),
                    "location_id" => Some("SELECT name FROM locations WHERE id = ?1"),
                    "worker_id" | "assigned_worker" => {
                        Some("SELECT username FROM users WHERE id = ?1")
                    }
                    _ => None,
                };
                match lookup {
                    Some(sql) => conn
                        .prepare_cached(sql)?
                        .query_row([id], |r| r.get::<_, String>(0))
                        .optional()?
                        .unwrap_or_else(|| id.to_string()),
                    None => id.to_string(),
                }
            }
        })
    }

    pub(super) fn record_label(
        &self,
        table: &str,
        id: Uuid,
        columns: &[String],
        values: &[Value],
    ) -> Result<RecordLabel, StoreError> {
        let get = |name: &str| {
            columns
                .iter()
                .position(|c| c == name)
                .and_then(|i| values.get(i))
        };
        let text = |name: &str| match get(name) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let client = match get("client_id") {
            Some(v) => self.shown("client_id", v)?,
            None => String::new(),
        };
        Ok(match table {
            "clients" => RecordLabel::Client { code: text("code") },
            "users" => RecordLabel::User {
                username: text("username"),
            },
            "locations" => RecordLabel::Location { name: text("name") },
            "contacts" => RecordLabel::Contact {
                client,
                date: text("date"),
            },
            "arrests" => RecordLabel::Arrest {
                client,
                date: text("date"),
            },
            "detentions" => RecordLabel::Detention {
                client,
                from: text("started_on"),
            },
            "enrollments" => RecordLabel::Enrollment {
                service: Service::parse(&text("service")),
                client,
            },
            "service_events" => RecordLabel::ServiceEvent {
                kind: ServiceEventKind::parse(&text("kind")),
                client,
                date: text("date"),
            },
            "followups" => RecordLabel::FollowUp {
                client,
                due: text("due"),
            },
            _ => RecordLabel::Other {
                table: table.to_owned(),
                id,
            },
        })
    }

    /// Resolves a conflict. Keeping the other version, or some of its
    /// fields, writes a new version of the record here (validated like any
    /// edit), which then wins on every laptop when they next sync.
    pub fn resolve_conflict(&mut self, id: i64, resolution: &Resolution) -> Result<(), StoreError> {
        self.require(Permission::ResolveConflicts)?;
        self.write(|tx, ctx| {
            let found: Option<(String, Uuid, i64, String, String)> = tx
                .query_row(
                    "SELECT record_table, record_id, loser_clock, loser_device, loser FROM sync_conflicts
                     WHERE id = ?1 AND resolved_at IS NULL",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((table, record_id, loser_clock, loser_device, loser)) = found else {
                return Err(StoreError::NoSuchRecord {
                    kind: "open conflict",
                    id: Uuid::nil(),
                });
            };
            let columns = synced_columns(tx, &table)?;
            let other = loser_values(&loser, &columns)?;
            let current = current_row(tx, &table, &columns, record_id)?.ok_or(StoreError::NoSuchRecord {
                kind: "record",
                id: record_id,
            })?;
            let take: Vec<String> = match resolution {
                Resolution::KeepCurrent => Vec::new(),
                Resolution::KeepOther => columns
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| !BOOKKEEPING.contains(&c.as_str()) && current.get(*i) != other.get(*i))
                    .map(|(_, c)| c.clone())
                    .collect(),
                Resolution::TakeFields(f) => {
                    for name in f {
                        if BOOKKEEPING.contains(&name.as_str()) || !columns.contains(name) {
                            return Err(ValidationError::Inconsistent {
                                field: "field",
                                reason: format!("{name} is not a field of this record"),
                            }
                            .into());
                        }
                    }
                    f.clone()
                }
            };
            let words = match resolution {
                Resolution::KeepCurrent => "kept this laptop's version".to_owned(),
                Resolution::KeepOther => "kept the other version".to_owned(),
                Resolution::TakeFields(f) => format!("edited: took {} from the other version", f.join(", ")),
            };
            if !take.is_empty() {
                let pos = |name: &str| columns.iter().position(|c| c == name).unwrap_or(0);
                let cur_version = Version::new(
                    match &current[pos("vv")] {
                        Value::Text(t) => Some(t.as_str()),
                        _ => None,
                    },
                    match &current[pos("device_id")] {
                        Value::Text(t) => t,
                        _ => "",
                    },
                    match current[pos("updated_at")] {
                        Value::Int(c) => c,
                        _ => 0,
                    },
                );
                let loser_vv = match &other[pos("vv")] {
                    Value::Text(t) => Some(t.as_str()),
                    _ => None,
                };
                let vv = cur_version
                    .vector
                    .merged(&VersionVector::of_row(loser_vv, &loser_device, loser_clock))
                    .with_change(&ctx.device_id, ctx.now)
                    .to_column(&ctx.device_id, ctx.now);
                let sets: Vec<String> = take
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ?{}", i + 6))
                    .collect();
                let sql = format!(
                    "UPDATE {table} SET vv = ?2, updated_at = ?3, updated_by = ?4, device_id = ?5, {} WHERE id = ?1",
                    sets.join(", ")
                );
                let mut values: Vec<Box<dyn ToSql>> = vec![
                    Box::new(record_id),
                    Box::new(vv),
                    Box::new(ctx.now),
                    Box::new(ctx.user_id),
                    Box::new(ctx.device_id.clone()),
                ];
                for c in &take {
                    values.push(Box::new(other[pos(c)].clone()));
                }
                let refs: Vec<&dyn ToSql> = values.iter().map(AsRef::as_ref).collect();
                tx.execute(&sql, refs.as_slice())?;
                validate_stored(tx, &table, record_id, ctx.today)?;
                ctx.audit(tx, AuditAction::Update, Some(kind_of(&table)), Some(record_id), &format!("sync conflict: {words}"))?;
            } else {
                ctx.audit(tx, AuditAction::Sync, Some(kind_of(&table)), Some(record_id), &format!("sync conflict: {words}"))?;
            }
            tx.execute(
                "UPDATE sync_conflicts SET resolved_at = ?2, resolved_by = ?3, resolution = ?4 WHERE id = ?1",
                params![id, ctx.now, ctx.user_id, words],
            )?;
            Ok(())
        })
    }

    /// Open (unresolved) conflicts.
    pub fn open_conflict_count(&self) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL")?
            .query_row([], |r| r.get::<_, i64>(0))? as usize)
    }
}

pub(super) fn current_row_on(
    conn: &Connection,
    table: &str,
    columns: &[String],
    id: Uuid,
) -> Result<Vec<Value>, StoreError> {
    let sql = format!("SELECT {} FROM {table} WHERE id = ?1", columns.join(", "));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            (0..columns.len())
                .map(|i| r.get_ref(i).map(to_value))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?
        .unwrap_or_else(|| vec![Value::Null; columns.len()]))
}

/// A kept loser's values in `columns` order (a column it lacks is NULL).
pub(super) fn loser_values(json: &str, columns: &[String]) -> Result<Vec<Value>, StoreError> {
    let map: BTreeMap<String, Value> = serde_json::from_str(json)
        .map_err(|e| damaged(format!("a kept conflict cannot be read ({e})")))?;
    Ok(columns
        .iter()
        .map(|c| map.get(c).cloned().unwrap_or(Value::Null))
        .collect())
}

/// The record kind's name in audit entries.
pub(super) fn kind_of(table: &str) -> &'static str {
    match table {
        "users" => User::KIND,
        "clients" => Client::KIND,
        "contacts" => Contact::KIND,
        "locations" => Location::KIND,
        "arrests" => Arrest::KIND,
        "detentions" => Detention::KIND,
        "enrollments" => Enrollment::KIND,
        "service_events" => ServiceEvent::KIND,
        "followups" => FollowUp::KIND,
        _ => "record",
    }
}

/// Checks a record as it now stands in the table like a form's save would
/// (a deleted one needs no checks).
pub(super) fn validate_stored(
    tx: &Transaction<'_>,
    table: &str,
    id: Uuid,
    today: NaiveDate,
) -> Result<(), StoreError> {
    pub(super) fn one<R: Record>(
        tx: &Transaction<'_>,
        id: Uuid,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let sql = format!("{} WHERE id = ?1", select_sql::<R>());
        let saved: Saved<R> = tx.query_row(&sql, [id], saved_from_row::<R>)?;
        if saved.meta.deleted {
            return Ok(());
        }
        saved.data.validate(today)?;
        saved.data.check(tx, Some(id))
    }
    match table {
        "users" => one::<User>(tx, id, today),
        "clients" => one::<Client>(tx, id, today),
        "contacts" => one::<Contact>(tx, id, today),
        "locations" => one::<Location>(tx, id, today),
        "arrests" => one::<Arrest>(tx, id, today),
        "detentions" => one::<Detention>(tx, id, today),
        "enrollments" => one::<Enrollment>(tx, id, today),
        "service_events" => one::<ServiceEvent>(tx, id, today),
        "followups" => one::<FollowUp>(tx, id, today),
        other => Err(StoreError::NoSuchTable(other.to_owned())),
    }
}
