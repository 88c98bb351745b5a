//! The period report's counting: each pass over the rows adds to the
//! tally of INDICATORS.md's indicators by sex and age band.

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

    /// Every live client's group (sex, and age band at `to`), from the
    /// covering index `clients_group`.
    pub(super) fn people(&mut self) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, sex, birth_year FROM clients WHERE deleted = 0")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            let group = group_of(text_at(r, 1)?, r.get(2)?, self.to);
            self.people.insert(id, Person { group, flags: 0 });
        }
        Ok(())
    }

    /// Marks the clients with a live contact before the period: those
    /// reached in it are not new.
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
            if let Some(person) = key_at(r, 0)?.and_then(|id| self.people.get_mut(&id)) {
                person.flags |= SEEN_BEFORE;
            }
        }
        Ok(())
    }

    /// Arrests in the period, with abuse, and the distinct clients arrested.
    pub(super) fn arrests(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT client_id, trim(abuse) <> '' FROM arrests
             WHERE deleted = 0 AND date >= ?1 AND date <= ?2",
        )?;
        let mut rows = stmt.query(params![self.from, self.to])?;
        while let Some(r) = rows.next()? {
            let Some(id) = key_at(r, 0)? else { continue };
            let Some(person) = self.people.get_mut(&id) else {
                continue;
            };
            person.flags |= ARRESTED;
            let group = person.group;
            let abuse: bool = r.get(1)?;
            self.tally.add("arrests", group, 1);
            self.tally
                .add("arrests_with_abuse", group, i64::from(abuse));
        }
        let arrested: Vec<u8> = self
            .people
            .values()
            .filter(|p| p.flags & ARRESTED != 0)
            .map(|p| p.group)
            .collect();
        for group in arrested {
            self.tally.add("clients_arrested", group, 1);
        }
        Ok(())
    }

    /// Every location: its name, and whether methadone and ART are known
    /// to be available there.
    pub(super) fn locations(&self) -> Result<KeyMap<Place>, StoreError> {
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
    pub(super) fn treatments(&self) -> Result<KeyMap<Vec<Treatment>>, StoreError> {
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

    /// Everything about detention, continuity in detention and releases,
    /// in one pass over the stays that touch the period, client by client.
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
                let facts = ClientFacts {
                    id,
                    stays: &stays,
                    treatments: treatments.get(&id).map_or(&[], Vec::as_slice),
                    places: &places,
                };
                self.client_detentions(&facts, &mut relinked)?;
            }
            match next {
                Some((id, stay)) => client.get_or_insert_with(|| (id, Vec::new())).1.push(stay),
                None => break,
            }
        }
        Ok(())
    }

    /// One client's stays (sorted by start) against the indicators.
    pub(super) fn client_detentions(
        &mut self,
        c: &ClientFacts<'_>,
        relinked: &mut rusqlite::Statement<'_>,
    ) -> Result<(), StoreError> {
        let Some(group) = self.people.get(&c.id).map(|p| p.group) else {
            return Ok(());
        };
        let (from, to) = (self.from, self.to);
        let spans: Vec<(NaiveDate, Option<NaiveDate>)> =
            c.stays.iter().map(|s| (s.start, s.end)).collect();
        self.tally
            .add("detention_days", group, distinct_days(&spans, from, to));
        let mut at_end: BTreeSet<String> = BTreeSet::new();
        let (mut methadone, mut art, mut without) = (false, false, false);
        for stay in c.stays {
            if stay.start >= from {
                self.tally.add("detentions_started", group, 1);
            }
            let place = stay.location.as_ref().and_then(|l| c.places.get(l));
            if stay.end.is_none_or(|e| e > to) {
                at_end.insert(place.map(|p| p.name.clone()).unwrap_or_default());
            }
            for t in c.treatments {
                if covered_together((stay.start, stay.end), (t.start, t.end), from, to) {
                    let here = place.map_or(Availability::Unknown, |p| {
                        if t.methadone { p.methadone } else { p.art }
                    });
                    methadone |= t.methadone;
                    art |= !t.methadone;
                    without |= crate::continuity::at_risk_in_detention(true, here);
                }
            }
            if let Some(end) = stay.end
                && stay.release
                && end >= from
                && end <= to
            {
                self.tally.add("releases", group, 1);
                let needing = c
                    .treatments
                    .iter()
                    .any(|t| t.start <= end && t.end.is_none_or(|e| e >= end));
                if needing {
                    self.tally.add("releases_needing_relinkage", group, 1);
                    let window = crate::domain::add_days(end, RELINK_DAYS);
                    let dosed = relinked
                        .query_row(params![&c.id[..], end, window], |_| Ok(()))
                        .optional()?
                        .is_some();
                    self.tally
                        .add("relinked_within_7_days", group, i64::from(dosed));
                }
            }
        }
        if !at_end.is_empty() {
            self.tally.add("clients_detained_at_end", group, 1);
            for name in at_end {
                *self.detained_at_end_by_location.entry(name).or_default() += 1;
            }
        }
        for (key, yes) in [
            ("detained_on_methadone", methadone),
            ("detained_on_art", art),
            ("detained_without_service", without),
        ] {
            self.tally.add(key, group, i64::from(yes));
        }
        Ok(())
    }

    /// Clients with an ART enrollment interrupted on some active day of the
    /// period. Per enrollment, only the refills that can be the latest on a
    /// day of the period are read, from the covering index
    /// `service_events_refills`: the latest on or before `from`, and those
    /// up to `to`; of several refills on one day, the longest supply
    /// counts. Uses INDICATORS.md's literal 28 and 30 days
    /// ([`period::report_thresholds`]),
    /// not the continuity settings, so that reports mean the same
    /// everywhere.
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
        let mut interrupted: KeyMap<u8> = KeyMap::default();
        let mut pending: Option<Refill> = None;
        let mut n = 0usize;
        loop {
            let row = rows.next()?;
            n += 1;
            if n.is_multiple_of(CANCEL_EVERY) {
                self.check()?;
            }
            let next = match row {
                Some(r) => {
                    let (Some(enrollment), Some(client), Some(start), Some(date)) =
                        (key_at(r, 0)?, key_at(r, 1)?, date_at(r, 2)?, date_at(r, 4)?)
                    else {
                        continue;
                    };
                    let end = date_at(r, 3)?;
                    Some(Refill {
                        enrollment,
                        client,
                        active: (
                            start.max(self.from),
                            end.map_or(self.to, |e| e.min(self.to)),
                        ),
                        date,
                        days: r.get(5)?,
                    })
                }
                None => None,
            };
            if let Some(mut p) = pending.take() {
                match &next {
                    // Another refill the same day: keep the longest supply.
                    Some(n) if n.enrollment == p.enrollment && n.date == p.date => {
                        let days = |d: Option<i64>| {
                            d.unwrap_or(period::report_thresholds().default_refill_days)
                        };
                        if days(n.days) > days(p.days) {
                            p.days = n.days;
                        }
                        pending = Some(p);
                        continue;
                    }
                    _ => {}
                }
                let next_date = next
                    .as_ref()
                    .filter(|n| n.enrollment == p.enrollment)
                    .map(|n| n.date);
                if art_interrupted(p.date, p.days, next_date, p.active)
                    && let Some(person) = self.people.get(&p.client)
                {
                    interrupted.insert(p.client, person.group);
                }
            }
            match next {
                Some(r) => pending = Some(r),
                None => break,
            }
        }
        for group in interrupted.into_values() {
            self.tally.add("art_interruptions", group, 1);
        }
        Ok(())
    }
}
