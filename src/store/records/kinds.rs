//! Each record kind as a table row: its columns, how it is read, what it
//! checks against the database, and what else its writes change.

use super::*;

impl Record for Client {
    const TABLE: &'static str = "clients";
    const KIND: &'static str = "client";
    const COLUMNS: &'static [&'static str] = &[
        "code",
        "nickname",
        "name",
        "sex",
        "gender",
        "birth_year",
        "phone",
        "province",
        "district",
        "commune",
        "key_populations",
        "substances",
        "hiv_status",
        "hiv_last_test",
        "consent_date",
        "consent_scope",
        "assigned_worker",
        "status",
        "registered_on",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(normalize_code(&self.code)),
            b(&self.nickname),
            b(&self.name),
            b(self.sex),
            b(&self.gender),
            b(self.birth_year),
            b(&self.phone),
            b(&self.province),
            b(&self.district),
            b(&self.commune),
            b(list(&self.key_populations, KeyPopulation::as_str)),
            b(list(&self.substances, Substance::as_str)),
            b(self.hiv_status),
            b(self.hiv_last_test),
            b(self.consent_date),
            b(&self.consent_scope),
            b(self.assigned_worker),
            b(self.status),
            b(self.registered_on),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Client {
            code: r.get(i)?,
            nickname: r.get(i + 1)?,
            name: r.get(i + 2)?,
            sex: r.get(i + 3)?,
            gender: r.get(i + 4)?,
            birth_year: r.get(i + 5)?,
            phone: r.get(i + 6)?,
            province: r.get(i + 7)?,
            district: r.get(i + 8)?,
            commune: r.get(i + 9)?,
            key_populations: parse_list_col(r, i + 10, KeyPopulation::parse)?,
            substances: parse_list_col(r, i + 11, Substance::parse)?,
            hiv_status: r.get(i + 12)?,
            hiv_last_test: r.get(i + 13)?,
            consent_date: r.get(i + 14)?,
            consent_scope: r.get(i + 15)?,
            assigned_worker: r.get(i + 16)?,
            status: r.get(i + 17)?,
            registered_on: r.get(i + 18)?,
            notes: r.get(i + 19)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let code = normalize_code(&self.code);
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM clients WHERE code = ?1 AND deleted = 0")?
            .query_row([&code], |r| r.get(0))
            .optional()?;
        if let Some(other) = other
            && Some(other) != id
        {
            return Err(ValidationError::DuplicateCode {
                field: "code",
                code,
            }
            .into());
        }
        if let Some(worker) = self.assigned_worker {
            ensure_live(tx, "users", "user", "assigned_worker", worker)?;
        }
        Ok(())
    }
}

impl Record for Contact {
    const TABLE: &'static str = "contacts";
    const KIND: &'static str = "contact";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "date",
        "worker_id",
        "kind",
        "place",
        "needles_syringes",
        "condoms",
        "naloxone",
        "hiv_test",
        "hiv_result",
        "referrals",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.date),
            b(self.worker_id),
            b(self.kind),
            b(&self.place),
            b(self.needles_syringes),
            b(self.condoms),
            b(self.naloxone),
            b(self.hiv_test),
            b(self.hiv_result),
            b(list(&self.referrals, Referral::as_str)),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Contact {
            client_id: r.get(i)?,
            date: r.get(i + 1)?,
            worker_id: r.get(i + 2)?,
            kind: r.get(i + 3)?,
            place: r.get(i + 4)?,
            needles_syringes: r.get(i + 5)?,
            condoms: r.get(i + 6)?,
            naloxone: r.get(i + 7)?,
            hiv_test: r.get(i + 8)?,
            hiv_result: r.get(i + 9)?,
            referrals: parse_list_col(r, i + 10, Referral::parse)?,
            notes: r.get(i + 11)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        if let Some(worker) = self.worker_id {
            ensure_live(tx, "users", "user", "worker", worker)?;
        }
        Ok(())
    }
    /// A contact closes the open detention-visit follow-up it answers. A
    /// client lost to follow-up is active again by the rule itself, which
    /// reads the contacts; no status is written.
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        crate::store::continuity::contact_closes_followups(tx, ctx, self)
    }
}

impl Record for Arrest {
    const TABLE: &'static str = "arrests";
    const KIND: &'static str = "arrest";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "date",
        "province",
        "district",
        "place",
        "authority",
        "reasons",
        "informer_suspected",
        "abuse",
        "legal_aid",
        "outcome",
        "raid_id",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.date),
            b(&self.province),
            b(&self.district),
            b(&self.place),
            b(self.authority),
            b(list(&self.reasons, ArrestReason::as_str)),
            b(self.informer_suspected),
            b(list(&self.abuse, Abuse::as_str)),
            b(self.legal_aid),
            b(self.outcome),
            b(self.raid_id),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Arrest {
            client_id: r.get(i)?,
            date: r.get(i + 1)?,
            province: r.get(i + 2)?,
            district: r.get(i + 3)?,
            place: r.get(i + 4)?,
            authority: r.get(i + 5)?,
            reasons: parse_list_col(r, i + 6, ArrestReason::parse)?,
            informer_suspected: r.get(i + 7)?,
            abuse: parse_list_col(r, i + 8, Abuse::parse)?,
            legal_aid: r.get(i + 9)?,
            outcome: r.get(i + 10)?,
            raid_id: r.get(i + 11)?,
            notes: r.get(i + 12)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)
    }
}

impl Record for Location {
    const TABLE: &'static str = "locations";
    const KIND: &'static str = "location";
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "kind",
        "province",
        "methadone",
        "art",
        "ngo_access",
        "contact",
        "last_verified",
        "notes",
    ];
    const WRITE: Permission = Permission::ManageRegistry;
    fn values(&self) -> Values<'_> {
        vec![
            b(self.name.trim()),
            b(self.kind),
            b(&self.province),
            b(self.methadone),
            b(self.art),
            b(self.ngo_access),
            b(&self.contact),
            b(self.last_verified),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Location {
            name: r.get(i)?,
            kind: r.get(i + 1)?,
            province: r.get(i + 2)?,
            methadone: r.get(i + 3)?,
            art: r.get(i + 4)?,
            ngo_access: r.get(i + 5)?,
            contact: r.get(i + 6)?,
            last_verified: r.get(i + 7)?,
            notes: r.get(i + 8)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM locations WHERE name = ?1 AND deleted = 0")?
            .query_row([self.name.trim()], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) if Some(other) != id => Err(ValidationError::Inconsistent {
                field: "name",
                reason: format!("another location is already named {}", self.name.trim()),
            }
            .into()),
            _ => Ok(()),
        }
    }
}

impl Record for Detention {
    const TABLE: &'static str = "detentions";
    const KIND: &'static str = "detention";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "location_id",
        "started_on",
        "ended_on",
        "basis",
        "arrest_id",
        "release_reason",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.location_id),
            b(self.start),
            b(self.end),
            b(self.basis),
            b(self.arrest_id),
            b(self.release_reason),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Detention {
            client_id: r.get(i)?,
            location_id: r.get(i + 1)?,
            start: r.get(i + 2)?,
            end: r.get(i + 3)?,
            basis: r.get(i + 4)?,
            arrest_id: r.get(i + 5)?,
            release_reason: r.get(i + 6)?,
            notes: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        ensure_live(tx, "locations", "location", "location", self.location_id)?;
        if let Some(arrest) = self.arrest_id {
            ensure_live(tx, "arrests", "arrest", "arrest", arrest)?;
        }
        let sql = format!(
            "{} WHERE client_id = ?1 AND deleted = 0 AND id IS NOT ?2",
            select_sql::<Detention>()
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let others = stmt
            .query_map(params![self.client_id, id], |r| {
                Detention::from_row(r, META_LEN)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        check_no_overlap(self, &others)?;
        Ok(())
    }
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        id: Uuid,
    ) -> Result<(), StoreError> {
        let t = crate::store::continuity::thresholds_on(tx);
        crate::store::continuity::detention_followups(tx, ctx, id, self, &t).map(|_| ())
    }
    /// A changed stay (ended, released) calls for the same rules as a new one.
    fn after_update(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        id: Uuid,
    ) -> Result<(), StoreError> {
        self.after_create(tx, ctx, id)
    }
}

impl Record for Enrollment {
    const TABLE: &'static str = "enrollments";
    const KIND: &'static str = "enrollment";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "service",
        "provider",
        "number",
        "started_on",
        "ended_on",
        "status",
        "dose_mg",
        "regimen",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.service),
            b(&self.provider),
            b(&self.number),
            b(self.start),
            b(self.end),
            b(self.status),
            b(self.dose_mg),
            b(&self.regimen),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(Enrollment {
            client_id: r.get(i)?,
            service: r.get(i + 1)?,
            provider: r.get(i + 2)?,
            number: r.get(i + 3)?,
            start: r.get(i + 4)?,
            end: r.get(i + 5)?,
            status: r.get(i + 6)?,
            dose_mg: r.get(i + 7)?,
            regimen: r.get(i + 8)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)
    }
}

impl Record for ServiceEvent {
    const TABLE: &'static str = "service_events";
    const KIND: &'static str = "service_event";
    const COLUMNS: &'static [&'static str] = &[
        "enrollment_id",
        "client_id",
        "date",
        "kind",
        "days_supplied",
        "dose_mg",
        "cause",
        "notes",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.enrollment_id),
            b(self.client_id),
            b(self.date),
            b(self.kind),
            b(self.days_supplied),
            b(self.dose_mg),
            b(self.cause),
            b(&self.notes),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(ServiceEvent {
            enrollment_id: r.get(i)?,
            client_id: r.get(i + 1)?,
            date: r.get(i + 2)?,
            kind: r.get(i + 3)?,
            days_supplied: r.get(i + 4)?,
            dose_mg: r.get(i + 5)?,
            cause: r.get(i + 6)?,
            notes: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(
            tx,
            "enrollments",
            "enrollment",
            "enrollment",
            self.enrollment_id,
        )?;
        let sql = format!("{} WHERE id = ?1", select_sql::<Enrollment>());
        let enrollment = tx
            .prepare_cached(&sql)?
            .query_row([self.enrollment_id], |r| Enrollment::from_row(r, META_LEN))?;
        check_event_in_enrollment(self, &enrollment)?;
        Ok(())
    }
    fn after_create(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteCtx,
        _id: Uuid,
    ) -> Result<(), StoreError> {
        crate::store::continuity::event_closes_followups(tx, ctx, self)
    }
}

impl Record for FollowUp {
    const TABLE: &'static str = "followups";
    const KIND: &'static str = "followup";
    const COLUMNS: &'static [&'static str] = &[
        "client_id",
        "worker_id",
        "due",
        "reason",
        "rule",
        "source_id",
        "done_on",
        "outcome",
    ];
    fn values(&self) -> Values<'_> {
        vec![
            b(self.client_id),
            b(self.worker_id),
            b(self.due),
            b(self.reason.trim()),
            b(&self.rule),
            b(self.source_id),
            b(self.done_on),
            b(&self.outcome),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(FollowUp {
            client_id: r.get(i)?,
            worker_id: r.get(i + 1)?,
            due: r.get(i + 2)?,
            reason: r.get(i + 3)?,
            rule: r.get(i + 4)?,
            source_id: r.get(i + 5)?,
            done_on: r.get(i + 6)?,
            outcome: r.get(i + 7)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, _id: Option<Uuid>) -> Result<(), StoreError> {
        ensure_live(tx, "clients", "client", "client", self.client_id)?;
        if let Some(worker) = self.worker_id {
            ensure_live(tx, "users", "user", "worker", worker)?;
        }
        Ok(())
    }
}

impl Record for User {
    const TABLE: &'static str = "users";
    const KIND: &'static str = "user";
    const COLUMNS: &'static [&'static str] =
        &["username", "display_name", "role", "active", "language"];
    const WRITE: Permission = Permission::ManageUsers;
    fn values(&self) -> Values<'_> {
        vec![
            b(self.username.trim()),
            b(self.display_name.trim()),
            b(self.role),
            b(self.active),
            b(&self.language),
        ]
    }
    fn from_row(r: &(impl Columns + ?Sized), i: usize) -> rusqlite::Result<Self> {
        Ok(User {
            username: r.get(i)?,
            display_name: r.get(i + 1)?,
            role: r.get(i + 2)?,
            active: r.get(i + 3)?,
            language: r.get(i + 4)?,
        })
    }
    fn check(&self, tx: &Transaction<'_>, id: Option<Uuid>) -> Result<(), StoreError> {
        let other: Option<Uuid> = tx
            .prepare_cached("SELECT id FROM users WHERE username = ?1 AND deleted = 0")?
            .query_row([self.username.trim()], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) if Some(other) != id => Err(ValidationError::Inconsistent {
                field: "username",
                reason: format!("the username {} is taken", self.username.trim()),
            }
            .into()),
            _ => Ok(()),
        }
    }
}
