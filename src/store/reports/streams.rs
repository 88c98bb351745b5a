//! The period report's fact streams: each pass reads one kind of row out of
//! SQL (through the covering indexes of the schema's `REPORT_INDEXES`) and
//! hands it to [`crate::reports::count::Counter`], which decides what
//! counts where.

use super::*;

impl Run<'_> {
    /// Stops with [`StoreError::Cancelled`] once cancelled (or once the
    /// other side of the report failed).
    pub(super) fn check(&self) -> Result<(), StoreError> {
        if (self.stop)() {
            Err(StoreError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Every live client's sex and year of birth, from the covering index
    /// `clients_group`.
    pub(super) fn people(&mut self) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, sex, birth_year FROM clients WHERE deleted = 0")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            self.counter.person(id, text_at(r, 1)?, r.get(2)?);
        }
        Ok(())
    }

    /// The clients with a live contact before the period.
    pub(super) fn seen_before(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT client_id FROM contacts WHERE deleted = 0 AND date < ?1 GROUP BY client_id",
        )?;
        let mut rows = stmt.query([self.from])?;
        let mut n = 0usize;
        while let Some(r) = rows.next()? {
            n += 1;
            if n.is_multiple_of(CANCEL_EVERY) {
                self.check()?;
            }
            if let Some(id) = key_at(r, 0)? {
                self.counter.seen_before(id);
            }
        }
        Ok(())
    }

    /// Arrests in the period, with abuse reported or not.
    pub(super) fn arrests(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT client_id, trim(abuse) <> '' FROM arrests
             WHERE deleted = 0 AND date >= ?1 AND date <= ?2",
        )?;
        let mut rows = stmt.query(params![self.from, self.to])?;
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            self.counter.arrest(id, r.get(1)?);
        }
        self.counter.arrests_done();
        Ok(())
    }

    /// Every location: its name, and whether methadone and ART are known
    /// to be available there.
    fn locations(&self) -> Result<KeyMap<Place>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, methadone, art FROM locations")?;
        let mut rows = stmt.query([])?;
        let mut out = KeyMap::default();
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            let availability =
                |text: &str| Availability::parse(text).unwrap_or(Availability::Unknown);
            out.insert(
                id,
                Place {
                    name: r.get(1)?,
                    methadone: availability(text_at(r, 2)?),
                    art: availability(text_at(r, 3)?),
                },
            );
        }
        Ok(out)
    }

    /// The live methadone and ART enrollments active on some day of the
    /// period, by client.
    fn treatments(&self) -> Result<KeyMap<Vec<Treatment>>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT client_id, service, started_on, ended_on FROM enrollments
             WHERE deleted = 0 AND service IN ('methadone', 'art')
               AND started_on <= ?2 AND (ended_on IS NULL OR ended_on >= ?1)",
        )?;
        let mut rows = stmt.query(params![self.from, self.to])?;
        let mut out: KeyMap<Vec<Treatment>> = KeyMap::default();
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            let Some(start) = date_at(r, 2)? else {
                continue;
            };
            out.entry(id).or_default().push(Treatment {
                methadone: text_at(r, 1)? == Service::Methadone.as_str(),
                start,
                end: date_at(r, 3)?,
            });
        }
        Ok(out)
    }

    /// The stays that touch the period, client by client, each with the
    /// client's treatments and the places.
    pub(super) fn detentions(&mut self) -> Result<(), StoreError> {
        let places = self.locations()?;
        let treatments = self.treatments()?;
        let mut relinked = self.conn.prepare(
            "SELECT 1 FROM service_events x JOIN enrollments e ON e.id = x.enrollment_id
             WHERE x.client_id = ?1 AND x.deleted = 0 AND x.kind IN ('dose', 'refill')
               AND x.date >= ?2 AND x.date <= ?3
               AND e.deleted = 0 AND e.service IN ('methadone', 'art')
             LIMIT 1",
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT client_id, location_id, started_on, ended_on, release_reason FROM detentions
             WHERE deleted = 0 AND started_on <= ?2 AND (ended_on IS NULL OR ended_on >= ?1)
             ORDER BY client_id, started_on",
        )?;
        let mut rows = stmt.query(params![self.from, self.to])?;
        let mut client: Option<(Key, Vec<Stay>)> = None;
        let mut n = 0usize;
        loop {
            let row = rows.next()?;
            n += 1;
            if n.is_multiple_of(CANCEL_EVERY) {
                self.check()?;
            }
            let next = match row {
                Some(r) => {
                    let (Some(id), Some(start)) = (key_at(r, 0)?, date_at(r, 2)?) else {
                        continue;
                    };
                    let reason: Option<String> = r.get(4)?;
                    Some((
                        id,
                        Stay {
                            location: key_at(r, 1)?,
                            start,
                            end: date_at(r, 3)?,
                            // No reason recorded on an ended stay counts as `unknown`.
                            release: reason
                                .map_or(Some(ReleaseReason::Unknown), |r| ReleaseReason::parse(&r))
                                .is_none_or(ReleaseReason::is_release),
                        },
                    ))
                }
                None => None,
            };
            let same = matches!((&client, &next), (Some((a, _)), Some((b, _))) if a == b);
            if !same && let Some((id, stays)) = client.take() {
                let facts = ClientStays {
                    id,
                    stays: &stays,
                    treatments: treatments.get(&id).map_or(&[], Vec::as_slice),
                    places: &places,
                };
                self.counter.client_stays(&facts, |end, window| {
                    Ok::<_, StoreError>(
                        relinked
                            .query_row(params![&id[..], end, window], |_| Ok(()))
                            .optional()?
                            .is_some(),
                    )
                })?;
            }
            match next {
                Some((id, stay)) => client.get_or_insert_with(|| (id, Vec::new())).1.push(stay),
                None => break,
            }
        }
        Ok(())
    }

    /// The ART refills that can decide an interruption in the period. Per
    /// enrollment active in the period, only the refills that can be the
    /// latest on a day of the period are read, from the covering index
    /// `service_events_refills`: the latest on or before `from`, and those
    /// up to `to`.
    pub(super) fn art_interruptions(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.client_id, e.started_on, e.ended_on, x.date, x.days_supplied
             FROM enrollments e
             CROSS JOIN service_events x INDEXED BY service_events_refills ON x.enrollment_id = e.id
             WHERE e.deleted = 0 AND e.service = 'art'
               AND e.started_on <= ?2 AND (e.ended_on IS NULL OR e.ended_on >= ?1)
               AND x.deleted = 0 AND x.kind = 'refill' AND x.date <= ?2
               AND x.date >= coalesce((SELECT max(y.date) FROM service_events y INDEXED BY service_events_refills
                                       WHERE y.enrollment_id = e.id AND y.deleted = 0
                                         AND y.kind = 'refill' AND y.date <= ?1), ?1)
             ORDER BY e.id, x.date",
        )?;
        let mut rows = stmt.query(params![self.from, self.to])?;
        let mut n = 0usize;
        loop {
            let row = rows.next()?;
            n += 1;
            if n.is_multiple_of(CANCEL_EVERY) {
                self.check()?;
            }
            let Some(r) = row else {
                self.counter.art_refill(None);
                break;
            };
            let (Some(enrollment), Some(client), Some(start), Some(date)) =
                (key_at(r, 0)?, key_at(r, 1)?, date_at(r, 2)?, date_at(r, 4)?)
            else {
                continue;
            };
            let end = date_at(r, 3)?;
            self.counter.art_refill(Some(Refill {
                enrollment,
                client,
                active: (
                    start.max(self.from),
                    end.map_or(self.to, |e| e.min(self.to)),
                ),
                date,
                days: r.get(5)?,
            }));
        }
        Ok(())
    }
}
