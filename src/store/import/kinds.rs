//! Each kind of record as an import reads it: its key, what makes a row
//! already present, and the checks a form would make.

use super::*;

/// Locations are one by name, case-insensitive (as the database compares them).
pub(super) fn location_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl Importable for Location {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::location(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let Some(location) = parsed.record else {
            return Ok(None);
        };
        let key = location_key(&location.name);
        let what = format!("location \"{}\"", echo(&location.name));
        if !run.first_in_file(row, "name", &key, &what, &location)? {
            return Ok(None);
        }
        if let Some((_, stored)) = run.locations.get(&key) {
            let differ = parse::location_differences(run.columns, &location, stored);
            if differ.is_empty() {
                run.present += 1;
            } else {
                run.problem(
                    row,
                    "name",
                    format!(
                        "{what} already exists with a different {}",
                        differ.join(", ")
                    ),
                );
            }
            return Ok(None);
        }
        Ok(Some((run.key_id(&key), location)))
    }
}

impl Importable for Client {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::client(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let worker = run.user_id(row, "assigned_worker", &parsed);
        let (Some(mut client), Some(worker)) = (parsed.record, worker) else {
            return Ok(None);
        };
        client.assigned_worker = worker;
        let code = client.code.clone();
        let what = format!("client code {}", echo(&code));
        if !run.first_in_file(row, "code", &code, &what, &client)? {
            return Ok(None);
        }
        if let Some(&id) = run.codes.get(&code) {
            let sql = format!("{} WHERE id = ?1", select_sql::<Client>());
            let stored = run
                .tx
                .prepare_cached(&sql)?
                .query_row([id], saved_from_row::<Client>)?;
            let differ = parse::client_differences(run.columns, &client, &stored.data);
            if differ.is_empty() {
                run.present += 1;
            } else {
                run.problem(
                    row,
                    "code",
                    format!(
                        "{what} already exists with a different {}",
                        differ.join(", ")
                    ),
                );
            }
            return Ok(None);
        }
        Ok(Some((run.key_id(&code), client)))
    }
}

impl Importable for Contact {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::contact(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let client = run.client_id(row, &parsed);
        let worker = run.user_id(row, "worker", &parsed);
        let (Some(mut contact), Some(client), Some(worker)) = (parsed.record, client, worker)
        else {
            return Ok(None);
        };
        contact.client_id = client;
        contact.worker_id = worker;
        Ok(Some((run.content_id(&contact)?, contact)))
    }

    fn written(run: &mut Run<'_, Self>, id: Uuid, contact: &Self) -> Result<(), StoreError> {
        let latest = run
            .latest_contact
            .entry(contact.client_id)
            .or_insert(contact.date);
        *latest = (*latest).max(contact.date);
        if run.affected.contains(&contact.client_id) {
            contact.after_create(run.tx, run.ctx, id)?;
        }
        Ok(())
    }
}

impl Importable for Arrest {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::arrest(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let client = run.client_id(row, &parsed);
        let (Some(mut arrest), Some(client)) = (parsed.record, client) else {
            return Ok(None);
        };
        arrest.client_id = client;
        Ok(Some((run.content_id(&arrest)?, arrest)))
    }
}

impl Run<'_, Detention> {
    /// The client's stays in the database (read once per client).
    fn stored_stays(&mut self, client: Uuid) -> Result<&[Detention], StoreError> {
        if !self.stays.contains_key(&client) {
            let sql = format!(
                "{} WHERE client_id = ?1 AND deleted = 0",
                select_sql::<Detention>()
            );
            let mut stmt = self.tx.prepare_cached(&sql)?;
            let stays = stmt
                .query_map([client], saved_from_row::<Detention>)?
                .map(|r| r.map(|saved| saved.data))
                .collect::<Result<Vec<_>, _>>()?;
            self.stays.insert(client, stays);
        }
        Ok(self
            .stays
            .get(&client)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// The file's earlier new stay of the same client that `stay` overlaps.
    fn overlapping_row(&self, stay: &Detention) -> Option<(usize, String)> {
        self.new_stays
            .get(&stay.client_id)?
            .iter()
            .find(|(_, other)| check_no_overlap(stay, std::slice::from_ref(other)).is_err())
            .map(|(row, other)| (*row, describe_stay(other)))
    }

    /// Whether the continuity rules still care about a stay: it is open
    /// today or ended within the release window. Older stays are history
    /// and get no follow-ups.
    fn is_recent(&self, stay: &Detention) -> bool {
        let today = self.ctx.today;
        stay.end
            .is_none_or(|end| end >= crate::domain::add_days(today, -self.release_window))
    }
}

pub(super) fn describe_stay(stay: &Detention) -> String {
    match stay.end {
        Some(end) => format!("{} to {end}", stay.start),
        None => format!("open since {}", stay.start),
    }
}

impl Importable for Detention {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::detention(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let client = run.client_id(row, &parsed);
        let location = parsed.location.as_deref().and_then(|name| {
            let found = run.locations.get(&location_key(name)).map(|(id, _)| *id);
            if found.is_none() {
                run.problem(
                    row,
                    "location",
                    format!(
                        "no location named \"{}\"; import the locations first",
                        echo(name)
                    ),
                );
            }
            found
        });
        let (Some(mut stay), Some(client), Some(location)) = (parsed.record, client, location)
        else {
            return Ok(None);
        };
        stay.client_id = client;
        stay.location_id = location;
        let id = run.content_id(&stay)?;
        // A stay imported before is not checked against itself.
        if run.exists(id)? {
            run.present += 1;
            return Ok(None);
        }
        if let Err(e) = check_no_overlap(&stay, run.stored_stays(client)?) {
            run.problem(row, "start", parse::reason(&e));
            return Ok(None);
        }
        if let Some((other_row, other)) = run.overlapping_row(&stay) {
            run.problem(
                row,
                "start",
                format!(
                    "this stay overlaps the stay in row {other_row} ({other}); stays may share only a transfer day"
                ),
            );
            return Ok(None);
        }
        run.new_stays
            .entry(client)
            .or_default()
            .push((row, stay.clone()));
        Ok(Some((id, stay)))
    }

    fn written(run: &mut Run<'_, Self>, id: Uuid, stay: &Self) -> Result<(), StoreError> {
        if run.is_recent(stay) {
            stay.after_create(run.tx, run.ctx, id)?;
        }
        Ok(())
    }
}

impl Importable for Enrollment {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::enrollment(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let client = run.client_id(row, &parsed);
        let (Some(mut enrollment), Some(client)) = (parsed.record, client) else {
            return Ok(None);
        };
        enrollment.client_id = client;
        Ok(Some((run.content_id(&enrollment)?, enrollment)))
    }
}

impl Importable for ServiceEvent {
    fn parse(cells: &mut Cells<'_>) -> Parsed<Self> {
        parse::service_event(cells)
    }

    fn resolve(
        run: &mut Run<'_, Self>,
        row: usize,
        parsed: Parsed<Self>,
    ) -> Result<Option<(Uuid, Self)>, StoreError> {
        let client = run.client_id(row, &parsed);
        let (Some(mut event), Some(client), Some(service)) =
            (parsed.record, client, parsed.service)
        else {
            return Ok(None);
        };
        event.client_id = client;
        // The client's enrollment in the service that covers the date (the latest, if several).
        let covering = run
            .enrollments
            .get(&(client, service))
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.active_on(event.date))
            .max_by_key(|(_, e)| e.start);
        let Some((enrollment_id, enrollment)) = covering else {
            let code = parsed.client_code.unwrap_or_default();
            run.problem(
                row,
                "service",
                format!(
                    "client {} has no {service} enrollment that covers {}; import the enrollments first",
                    echo(&code),
                    event.date
                ),
            );
            return Ok(None);
        };
        event.enrollment_id = *enrollment_id;
        if let Err(e) = check_event_in_enrollment(&event, enrollment) {
            let column = if e.field() == "date" {
                "date"
            } else {
                "service"
            };
            run.problem(row, column, parse::reason(&e));
            return Ok(None);
        }
        Ok(Some((run.content_id(&event)?, event)))
    }

    fn written(run: &mut Run<'_, Self>, id: Uuid, event: &Self) -> Result<(), StoreError> {
        if run.affected.contains(&event.client_id) {
            event.after_create(run.tx, run.ctx, id)?;
        }
        Ok(())
    }
}
