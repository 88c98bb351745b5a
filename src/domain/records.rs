//! The record kinds of the domain and their validation rules.

use super::ValidationError as E;
use super::*;
use chrono::Datelike;

/// Collects the problems of a record; `validate` returns the first one.
pub trait Validate {
    /// Every problem with this record on `today`, in field order.
    fn problems(&self, today: NaiveDate) -> Vec<ValidationError>;

    /// `Ok` when the record can be saved on `today`.
    fn validate(&self, today: NaiveDate) -> Result<(), ValidationError> {
        match self.problems(today).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn not_future(out: &mut Vec<E>, field: &'static str, date: Option<NaiveDate>, today: NaiveDate) {
    if let Some(date) = date
        && date > today
    {
        out.push(E::InFuture { field, date });
    }
}

fn not_negative(out: &mut Vec<E>, field: &'static str, value: f64) {
    if value < 0.0 {
        out.push(E::Negative { field, value });
    }
}

fn end_after_start(out: &mut Vec<E>, start: NaiveDate, end: Option<NaiveDate>) {
    if let Some(end) = end
        && end < start
    {
        out.push(E::EndBeforeStart {
            field: "end",
            start,
            end,
        });
    }
}

/// Longest text each kind of field may hold, in characters: the same for
/// forms, imports and sync bundles, so a value one accepts the others do.
pub mod limits {
    /// Client codes and usernames.
    pub const CODE: usize = 32;
    /// Names, nicknames, display names, places, provinces, providers.
    pub const NAME: usize = 120;
    /// Phone numbers, programme numbers.
    pub const SHORT: usize = 40;
    /// Follow-up reasons and outcomes, consent scope, contact details.
    pub const LINE: usize = 500;
    /// Notes.
    pub const NOTES: usize = 4000;
    /// The earliest date any record may carry.
    pub const FIRST_YEAR: i32 = 1900;
}

fn max_chars(out: &mut Vec<E>, field: &'static str, text: Option<&str>, max: usize) {
    if let Some(text) = text
        && text.chars().count() > max
    {
        out.push(E::TooLong { field, max });
    }
}

fn plausible(out: &mut Vec<E>, field: &'static str, date: Option<NaiveDate>) {
    if let Some(date) = date
        && date.year() < limits::FIRST_YEAR
    {
        out.push(E::OutOfRange {
            field,
            reason: format!("{date} is before {}", limits::FIRST_YEAR),
        });
    }
}

fn required(out: &mut Vec<E>, field: &'static str, text: &str) {
    if text.trim().is_empty() {
        out.push(E::Required { field });
    }
}

/// A user account. The password never lives here: it unlocks a key slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// UI language, `en` or `km`.
    pub language: String,
}

impl Validate for User {
    fn problems(&self, _today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        required(&mut out, "username", &self.username);
        if !self
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            || self.username.len() > 32
        {
            out.push(E::OutOfRange {
                field: "username",
                reason: "use up to 32 letters, digits, dots, dashes or underscores".into(),
            });
        }
        required(&mut out, "display_name", &self.display_name);
        max_chars(
            &mut out,
            "display_name",
            Some(&self.display_name),
            limits::NAME,
        );
        if !matches!(self.language.as_str(), "en" | "km") {
            out.push(E::InvalidValue {
                field: "language",
                value: self.language.chars().take(8).collect(),
                allowed: "en, km".into(),
            });
        }
        out
    }
}

/// A person the programme serves, known by a code; names are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub code: String,
    pub nickname: Option<String>,
    pub name: Option<String>,
    pub sex: Sex,
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub commune: Option<String>,
    pub key_populations: Vec<KeyPopulation>,
    pub substances: Vec<Substance>,
    pub hiv_status: HivStatus,
    pub hiv_last_test: Option<NaiveDate>,
    pub consent_date: Option<NaiveDate>,
    pub consent_scope: Option<String>,
    pub assigned_worker: Option<Uuid>,
    pub status: CaseStatus,
    pub registered_on: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl Client {
    /// A client with only a code; everything else unknown.
    pub fn with_code(code: &str) -> Self {
        Client {
            code: normalize_code(code),
            nickname: None,
            name: None,
            sex: Sex::Unknown,
            gender: None,
            birth_year: None,
            phone: None,
            province: None,
            district: None,
            commune: None,
            key_populations: Vec::new(),
            substances: Vec::new(),
            hiv_status: HivStatus::Unknown,
            hiv_last_test: None,
            consent_date: None,
            consent_scope: None,
            assigned_worker: None,
            status: CaseStatus::Active,
            registered_on: None,
            notes: None,
        }
    }
}

impl Validate for Client {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        required(&mut out, "code", &self.code);
        if !self.code.is_empty()
            && (self.code.chars().count() > 32
                || !self
                    .code
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')))
        {
            out.push(E::OutOfRange {
                field: "code",
                reason: "use up to 32 letters, digits, dashes, dots or slashes, no spaces".into(),
            });
        }
        if let Some(year) = self.birth_year {
            if year > today.year() {
                out.push(E::InFuture {
                    field: "birth_year",
                    date: NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today),
                });
            } else if year < today.year() - 110 {
                out.push(E::OutOfRange {
                    field: "birth_year",
                    reason: format!("{year} is more than 110 years ago"),
                });
            }
        }
        not_future(&mut out, "hiv_last_test", self.hiv_last_test, today);
        not_future(&mut out, "consent_date", self.consent_date, today);
        not_future(&mut out, "registered_on", self.registered_on, today);
        for (field, value, max) in [
            ("nickname", &self.nickname, limits::NAME),
            ("name", &self.name, limits::NAME),
            ("gender", &self.gender, limits::NAME),
            ("phone", &self.phone, limits::SHORT),
            ("province", &self.province, limits::NAME),
            ("district", &self.district, limits::NAME),
            ("commune", &self.commune, limits::NAME),
            ("consent_scope", &self.consent_scope, limits::LINE),
            ("notes", &self.notes, limits::NOTES),
        ] {
            max_chars(&mut out, field, value.as_deref(), max);
        }
        for (field, date) in [
            ("hiv_last_test", self.hiv_last_test),
            ("consent_date", self.consent_date),
            ("registered_on", self.registered_on),
        ] {
            plausible(&mut out, field, date);
        }
        out
    }
}

/// One meeting between a worker and a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub client_id: Uuid,
    pub date: NaiveDate,
    pub worker_id: Option<Uuid>,
    pub kind: ContactKind,
    pub place: Option<String>,
    pub needles_syringes: i64,
    pub condoms: i64,
    pub naloxone: i64,
    pub hiv_test: HivTest,
    pub hiv_result: Option<HivResult>,
    pub referrals: Vec<Referral>,
    pub notes: Option<String>,
}

impl Contact {
    pub fn new(client_id: Uuid, date: NaiveDate, kind: ContactKind) -> Self {
        Contact {
            client_id,
            date,
            worker_id: None,
            kind,
            place: None,
            needles_syringes: 0,
            condoms: 0,
            naloxone: 0,
            hiv_test: HivTest::None,
            hiv_result: None,
            referrals: Vec::new(),
            notes: None,
        }
    }
}

impl Validate for Contact {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        not_future(&mut out, "date", Some(self.date), today);
        plausible(&mut out, "date", Some(self.date));
        max_chars(&mut out, "place", self.place.as_deref(), limits::NAME);
        max_chars(&mut out, "notes", self.notes.as_deref(), limits::NOTES);
        for (field, value) in [
            ("needles_syringes", self.needles_syringes),
            ("condoms", self.condoms),
            ("naloxone", self.naloxone),
        ] {
            not_negative(&mut out, field, value as f64);
            if value > 10_000 {
                out.push(E::OutOfRange {
                    field,
                    reason: format!("{value} is more than 10000 in one contact"),
                });
            }
        }
        if self.hiv_result.is_some() && self.hiv_test != HivTest::Done {
            out.push(E::Inconsistent {
                field: "hiv_result",
                reason: "a result needs the HIV test to be marked done".into(),
            });
        }
        out
    }
}

/// An arrest of a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrest {
    pub client_id: Uuid,
    pub date: NaiveDate,
    pub province: Option<String>,
    pub district: Option<String>,
    pub place: Option<String>,
    pub authority: Authority,
    pub reasons: Vec<ArrestReason>,
    pub informer_suspected: bool,
    pub abuse: Vec<Abuse>,
    pub legal_aid: bool,
    pub outcome: ArrestOutcome,
    /// Arrests recorded together from one raid share this id.
    pub raid_id: Option<Uuid>,
    pub notes: Option<String>,
}

impl Arrest {
    pub fn new(client_id: Uuid, date: NaiveDate) -> Self {
        Arrest {
            client_id,
            date,
            province: None,
            district: None,
            place: None,
            authority: Authority::Unknown,
            reasons: Vec::new(),
            informer_suspected: false,
            abuse: Vec::new(),
            legal_aid: false,
            outcome: ArrestOutcome::Unknown,
            raid_id: None,
            notes: None,
        }
    }
}

impl Validate for Arrest {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        not_future(&mut out, "date", Some(self.date), today);
        plausible(&mut out, "date", Some(self.date));
        for (field, value) in [
            ("province", &self.province),
            ("district", &self.district),
            ("place", &self.place),
        ] {
            max_chars(&mut out, field, value.as_deref(), limits::NAME);
        }
        max_chars(&mut out, "notes", self.notes.as_deref(), limits::NOTES);
        out
    }
}

/// A place where people are held, in the organisation's registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub name: String,
    pub kind: LocationKind,
    pub province: Option<String>,
    pub methadone: Availability,
    pub art: Availability,
    pub ngo_access: NgoAccess,
    pub contact: Option<String>,
    pub last_verified: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl Location {
    pub fn new(name: &str, kind: LocationKind) -> Self {
        Location {
            name: name.trim().to_owned(),
            kind,
            province: None,
            methadone: Availability::Unknown,
            art: Availability::Unknown,
            ngo_access: NgoAccess::Unknown,
            contact: None,
            last_verified: None,
            notes: None,
        }
    }

    /// Availability of a service here; services other than methadone and ART are unknown.
    pub fn availability(&self, service: Service) -> Availability {
        match service {
            Service::Methadone => self.methadone,
            Service::Art => self.art,
            _ => Availability::Unknown,
        }
    }
}

impl Validate for Location {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        required(&mut out, "name", &self.name);
        max_chars(&mut out, "name", Some(&self.name), limits::NAME);
        max_chars(&mut out, "province", self.province.as_deref(), limits::NAME);
        max_chars(&mut out, "contact", self.contact.as_deref(), limits::LINE);
        max_chars(&mut out, "notes", self.notes.as_deref(), limits::NOTES);
        not_future(&mut out, "last_verified", self.last_verified, today);
        plausible(&mut out, "last_verified", self.last_verified);
        out
    }
}

/// One stay of a client at a detention location; open while `end` is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detention {
    pub client_id: Uuid,
    pub location_id: Uuid,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub basis: Option<DetentionBasis>,
    pub arrest_id: Option<Uuid>,
    pub release_reason: Option<ReleaseReason>,
    pub notes: Option<String>,
}

impl Detention {
    /// Whether the stay covers `day` and does not end on it ("detained on the day").
    pub fn detained_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| end > day)
    }
}

impl Validate for Detention {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        not_future(&mut out, "start", Some(self.start), today);
        not_future(&mut out, "end", self.end, today);
        plausible(&mut out, "start", Some(self.start));
        end_after_start(&mut out, self.start, self.end);
        max_chars(&mut out, "notes", self.notes.as_deref(), limits::NOTES);
        match (self.end, self.release_reason) {
            (Some(_), None) => out.push(E::Required {
                field: "release_reason",
            }),
            (None, Some(_)) => out.push(E::Inconsistent {
                field: "release_reason",
                reason: "a release reason needs an end date".into(),
            }),
            _ => {}
        }
        out
    }
}

/// Checks that `stay` does not overlap any of `others` (the same client's
/// other stays, excluding the one being edited). Two stays may share only a
/// boundary day: one ends on the day the next starts (a transfer).
pub fn check_no_overlap(stay: &Detention, others: &[Detention]) -> Result<(), ValidationError> {
    let end = |d: &Detention| d.end.unwrap_or(NaiveDate::MAX);
    for other in others {
        if stay.start < end(other) && other.start < end(stay) {
            let other_desc = match other.end {
                Some(e) => format!("{} to {}", other.start, e),
                None => format!("open since {}", other.start),
            };
            return Err(E::OverlappingDetention {
                field: "start",
                other: other_desc,
            });
        }
    }
    Ok(())
}

/// A client in a programme (methadone, ART, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub client_id: Uuid,
    pub service: Service,
    pub provider: Option<String>,
    pub number: Option<String>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub status: EnrollmentStatus,
    /// Current methadone dose.
    pub dose_mg: Option<f64>,
    /// Current ARV regimen.
    pub regimen: Option<String>,
}

impl Enrollment {
    /// Active on a day: started on or before it, and no end or an end on or after it.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| end >= day)
    }
}

impl Validate for Enrollment {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        not_future(&mut out, "start", Some(self.start), today);
        not_future(&mut out, "end", self.end, today);
        plausible(&mut out, "start", Some(self.start));
        end_after_start(&mut out, self.start, self.end);
        max_chars(&mut out, "provider", self.provider.as_deref(), limits::NAME);
        max_chars(&mut out, "number", self.number.as_deref(), limits::SHORT);
        max_chars(&mut out, "regimen", self.regimen.as_deref(), limits::NAME);
        if let Some(dose) = self.dose_mg {
            not_negative(&mut out, "dose_mg", dose);
            plausible_dose(&mut out, dose);
        }
        out
    }
}

/// Something that happened in an enrollment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub enrollment_id: Uuid,
    pub client_id: Uuid,
    pub date: NaiveDate,
    pub kind: ServiceEventKind,
    pub days_supplied: Option<i64>,
    pub dose_mg: Option<f64>,
    pub cause: Option<InterruptionCause>,
    pub notes: Option<String>,
}

impl Validate for ServiceEvent {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        not_future(&mut out, "date", Some(self.date), today);
        if let Some(days) = self.days_supplied {
            not_negative(&mut out, "days_supplied", days as f64);
            if days > 366 {
                out.push(E::OutOfRange {
                    field: "days_supplied",
                    reason: format!("{days} days is more than a year"),
                });
            }
        }
        if let Some(dose) = self.dose_mg {
            not_negative(&mut out, "dose_mg", dose);
            plausible_dose(&mut out, dose);
        }
        plausible(&mut out, "date", Some(self.date));
        max_chars(&mut out, "notes", self.notes.as_deref(), limits::NOTES);
        out
    }
}

/// Methadone doses above this many milligrams are a typing mistake.
const MAX_DOSE_MG: f64 = 1000.0;

fn plausible_dose(out: &mut Vec<E>, dose: f64) {
    if !dose.is_finite() || dose > MAX_DOSE_MG {
        out.push(E::OutOfRange {
            field: "dose_mg",
            reason: format!("{dose} mg is more than {MAX_DOSE_MG} mg"),
        });
    }
}

/// Checks that an event falls inside its enrollment's dates.
pub fn check_event_in_enrollment(
    event: &ServiceEvent,
    enrollment: &Enrollment,
) -> Result<(), ValidationError> {
    if event.date < enrollment.start {
        return Err(E::OutOfRange {
            field: "date",
            reason: format!(
                "{} is before the enrollment started ({})",
                event.date, enrollment.start
            ),
        });
    }
    if event.client_id != enrollment.client_id {
        return Err(E::Inconsistent {
            field: "enrollment",
            reason: "the enrollment belongs to another client".into(),
        });
    }
    Ok(())
}

/// A task on a client for a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub client_id: Uuid,
    pub worker_id: Option<Uuid>,
    pub due: NaiveDate,
    pub reason: String,
    /// Set when a continuity rule created it (for de-duplication), e.g. `relink`.
    pub rule: Option<String>,
    /// The record that caused it (a detention for the rules).
    pub source_id: Option<Uuid>,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
}

impl Validate for FollowUp {
    fn problems(&self, today: NaiveDate) -> Vec<E> {
        let mut out = Vec::new();
        required(&mut out, "reason", &self.reason);
        max_chars(&mut out, "reason", Some(&self.reason), limits::LINE);
        max_chars(&mut out, "outcome", self.outcome.as_deref(), limits::LINE);
        max_chars(&mut out, "rule", self.rule.as_deref(), limits::SHORT);
        not_future(&mut out, "done_on", self.done_on, today);
        plausible(&mut out, "due", Some(self.due));
        plausible(&mut out, "done_on", self.done_on);
        if self.due.year() > today.year() + 10 {
            out.push(E::OutOfRange {
                field: "due",
                reason: format!("{} is more than ten years ahead", self.due),
            });
        }
        out
    }
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<Uuid>,
    pub device_id: String,
    pub action: AuditAction,
    pub record_kind: Option<String>,
    pub record_id: Option<Uuid>,
    /// The fields that changed (names only: values stay in their records),
    /// or a short summary for imports and exports.
    pub detail: String,
}
