//! Continuity of methadone and ARV: the rules of DESIGN.md ("Continuity
//! rules") as pure functions over domain values. No I/O, no egui: the store
//! gathers the facts, these functions decide, and the screens, the command
//! line and the reports all use the same answers.

mod followups;

pub use followups::*;

use crate::domain::*;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rule thresholds; settings stored in the database, with these defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// ART more than this many days past the cover of its latest refill is interrupted.
    pub art_interruption_days: i64,
    /// Methadone: this many missed days in a row means the dose must be reviewed.
    pub methadone_review_days: i64,
    /// Methadone: this many missed days in a row means re-induction.
    pub methadone_reinduction_days: i64,
    /// Releases this recent are checked for re-linkage.
    pub release_window_days: i64,
    /// Re-linkage is due within this many days of release.
    pub relink_days: i64,
    /// No contact for more than this many days: lost to follow-up.
    pub lost_after_days: i64,
    /// A refill without days supplied covers this many days.
    pub default_refill_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            art_interruption_days: 28,
            methadone_review_days: 3,
            methadone_reinduction_days: 5,
            release_window_days: 14,
            relink_days: 7,
            lost_after_days: 90,
            default_refill_days: 30,
        }
    }
}

/// The last day a methadone take-home refill covers: refill date + days
/// supplied − 1 (a refill of 7 doses on Monday covers Monday to Sunday).
/// ART's [`art_cover`] is one day later on purpose: INDICATORS.md counts an
/// ART refill's cover as refill date + days supplied.
pub fn refill_cover_end(date: NaiveDate, days_supplied: Option<i64>, t: &Thresholds) -> NaiveDate {
    let days = days_supplied.unwrap_or(t.default_refill_days).max(1);
    crate::domain::add_days(date, days - 1)
}

/// Where an ART enrollment stands on a day, from its latest refill on or before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArtStatus {
    /// No refill recorded yet: the rules say nothing.
    NoRefill,
    /// Covered through `covered_until`.
    Covered { covered_until: NaiveDate },
    /// Past the cover by `days` (1 to the interruption threshold).
    Overdue { days: i64 },
    /// More than the threshold past the cover: an interruption in treatment.
    Interrupted { days: i64 },
}

/// ART on `day` given its latest refill on or before that day. The cover
/// runs to refill date + days supplied; overdue after it, interrupted when
/// refill date + days supplied + 28 < day (INDICATORS.md).
pub fn art_status(
    latest_refill: Option<(NaiveDate, Option<i64>)>,
    day: NaiveDate,
    t: &Thresholds,
) -> ArtStatus {
    let Some((date, days)) = latest_refill else {
        return ArtStatus::NoRefill;
    };
    let covered_until = art_cover(date, days, t);
    let past = (day - covered_until).num_days();
    if past > t.art_interruption_days {
        ArtStatus::Interrupted { days: past }
    } else if past > 0 {
        ArtStatus::Overdue { days: past }
    } else {
        ArtStatus::Covered { covered_until }
    }
}

/// The date an ART refill covers up to: refill date + days supplied (see
/// [`refill_cover_end`] for methadone's, one day shorter). The period
/// report's interruption count uses this too.
pub fn art_cover(date: NaiveDate, days_supplied: Option<i64>, t: &Thresholds) -> NaiveDate {
    crate::domain::add_days(date, days_supplied.unwrap_or(t.default_refill_days).max(0))
}

/// What missed methadone days call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MethadoneAction {
    OnTrack,
    /// Missed days in a row below the review threshold.
    Missed {
        days: i64,
    },
    /// Dose review before the next dose.
    DoseReview {
        days: i64,
    },
    /// Re-induction.
    Reinduction {
        days: i64,
    },
}

/// Missed methadone days in a row before `day`, counted from the last `dose`
/// event or from the end of a take-home refill's cover, whichever is later.
/// `None` when nothing has been dispensed yet.
pub fn methadone_missed_days(
    last_dose: Option<NaiveDate>,
    last_refill: Option<(NaiveDate, Option<i64>)>,
    day: NaiveDate,
    t: &Thresholds,
) -> Option<i64> {
    let refill_end = last_refill.map(|(d, n)| refill_cover_end(d, n, t));
    let covered = match (last_dose, refill_end) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return None,
    };
    // Days strictly between the last covered day and `day`.
    Some(((day - covered).num_days() - 1).max(0))
}

pub fn methadone_action(missed: Option<i64>, t: &Thresholds) -> MethadoneAction {
    match missed {
        None | Some(0) => MethadoneAction::OnTrack,
        Some(d) if d >= t.methadone_reinduction_days => MethadoneAction::Reinduction { days: d },
        Some(d) if d >= t.methadone_review_days => MethadoneAction::DoseReview { days: d },
        Some(d) => MethadoneAction::Missed { days: d },
    }
}

/// A detention stay with the availability of services where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub detention: Detention,
    pub location: String,
    pub methadone: Availability,
    pub art: Availability,
}

impl Stay {
    pub fn availability(&self, service: Service) -> Availability {
        match service {
            Service::Methadone => self.methadone,
            Service::Art => self.art,
            _ => Availability::Unknown,
        }
    }
}

/// Everything the rules look at for one client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub enrollments: Vec<(Uuid, Enrollment)>,
    pub events: Vec<ServiceEvent>,
    pub stays: Vec<Stay>,
    /// Dates of the client's contacts (any order).
    pub contacts: Vec<NaiveDate>,
    /// When the client joined (counts as a contact for lost-to-follow-up).
    pub registered_on: Option<NaiveDate>,
    pub status: Option<CaseStatus>,
}

/// One active enrollment's state on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub enrollment_id: Uuid,
    pub service: Service,
    pub last_dose: Option<NaiveDate>,
    pub last_refill: Option<NaiveDate>,
    /// The last day the latest refill covers.
    pub supply_ends: Option<NaiveDate>,
    pub art: Option<ArtStatus>,
    pub methadone: Option<MethadoneAction>,
    /// Detained where this service is not known to be available.
    pub at_risk_in_detention: bool,
}

/// A client's continuity on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuityState {
    pub day: NaiveDate,
    pub services: Vec<ServiceState>,
    /// The stay that holds the client on the day, if any.
    pub detained: Option<Stay>,
    /// The latest release within the window, if re-linkage is still open.
    pub needs_relinkage: Option<Release>,
    pub lost_to_follow_up: Option<i64>,
}

/// A release that needs re-linkage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub ended_on: NaiveDate,
    pub location: String,
    pub days_since: i64,
}

fn latest_on<'a>(
    events: impl Iterator<Item = &'a ServiceEvent>,
    kind: ServiceEventKind,
    day: NaiveDate,
) -> Option<&'a ServiceEvent> {
    events
        .filter(|e| e.kind == kind && e.date <= day)
        .max_by_key(|e| e.date)
}

/// The at-risk rule, decided here and nowhere else: a client who needs a
/// service (methadone or ART) is at risk in detention where that service is
/// not known to be available; "unknown" counts as not available. The
/// worklist, the dashboard, Locations and the period report all ask this.
pub fn at_risk_in_detention(needs_service: bool, here: Availability) -> bool {
    needs_service && here != Availability::Yes
}

/// The client's continuity state on `day`.
pub fn assess(h: &History, day: NaiveDate, t: &Thresholds) -> ContinuityState {
    let detained = h
        .stays
        .iter()
        .find(|s| s.detention.detained_on(day))
        .cloned();
    let mut services = Vec::new();
    for (id, e) in &h.enrollments {
        if !e.active_on(day) || !matches!(e.service, Service::Methadone | Service::Art) {
            continue;
        }
        let events = || h.events.iter().filter(|ev| ev.enrollment_id == *id);
        let dose = latest_on(events(), ServiceEventKind::Dose, day).map(|e| e.date);
        let refill =
            latest_on(events(), ServiceEventKind::Refill, day).map(|e| (e.date, e.days_supplied));
        let at_risk = detained
            .as_ref()
            .is_some_and(|s| at_risk_in_detention(true, s.availability(e.service)));
        let (art, methadone) = match e.service {
            Service::Art => (Some(art_status(refill, day, t)), None),
            _ => (
                None,
                Some(methadone_action(
                    methadone_missed_days(dose, refill, day, t),
                    t,
                )),
            ),
        };
        services.push(ServiceState {
            enrollment_id: *id,
            service: e.service,
            last_dose: dose,
            last_refill: refill.map(|r| r.0),
            supply_ends: refill.map(|(d, n)| match e.service {
                Service::Art => art_cover(d, n, t),
                _ => refill_cover_end(d, n, t),
            }),
            art,
            methadone,
            at_risk_in_detention: at_risk,
        });
    }
    ContinuityState {
        day,
        needs_relinkage: relinkage(h, day, t),
        lost_to_follow_up: lost_to_follow_up(h, day, t),
        services,
        detained,
    }
}

/// The latest release in the window that still needs re-linkage: ended
/// within the window up to `day` with a reason that is a release, client not
/// detained on `day`, a methadone or ART enrollment active on the end date,
/// and no dose or refill of such an enrollment from the end date to `day`.
pub fn relinkage(h: &History, day: NaiveDate, t: &Thresholds) -> Option<Release> {
    if h.stays.iter().any(|s| s.detention.detained_on(day)) {
        return None;
    }
    let from = crate::domain::add_days(day, -t.release_window_days);
    let stay = h
        .stays
        .iter()
        .filter(|s| match (s.detention.end, s.detention.release_reason) {
            (Some(end), Some(reason)) => reason.is_release() && end >= from && end <= day,
            _ => false,
        })
        .max_by_key(|s| s.detention.end)?;
    let end = stay.detention.end?;
    let relevant: Vec<Uuid> = h
        .enrollments
        .iter()
        .filter(|(_, e)| matches!(e.service, Service::Methadone | Service::Art) && e.active_on(end))
        .map(|(id, _)| *id)
        .collect();
    if relevant.is_empty() {
        return None;
    }
    let relinked = h.events.iter().any(|e| {
        relevant.contains(&e.enrollment_id)
            && matches!(e.kind, ServiceEventKind::Dose | ServiceEventKind::Refill)
            && e.date >= end
            && e.date <= day
    });
    (!relinked).then(|| Release {
        ended_on: end,
        location: stay.location.clone(),
        days_since: (day - end).num_days(),
    })
}

/// Days since the last contact (or registration) when more than the
/// threshold, for clients whose case is open.
pub fn lost_to_follow_up(h: &History, day: NaiveDate, t: &Thresholds) -> Option<i64> {
    let last_contact = h.contacts.iter().filter(|c| **c <= day).max().copied();
    days_unseen(h.status, last_contact, h.registered_on, day, t)
}

/// The one lost-to-follow-up rule: a client whose case is open (not moved,
/// deceased or exited) and who has not been met for more than
/// `lost_after_days` since their last contact on or before `day` (or their
/// registration, when later or when there is no contact) is lost to
/// follow-up, for that many days. A client with neither date, or
/// registered after `day`, is not.
pub fn days_unseen(
    recorded: Option<CaseStatus>,
    last_contact: Option<NaiveDate>,
    registered_on: Option<NaiveDate>,
    day: NaiveDate,
    t: &Thresholds,
) -> Option<i64> {
    if recorded.is_some_and(|s| !s.is_open()) {
        return None;
    }
    if registered_on.is_some_and(|r| r > day) {
        return None;
    }
    let last = match (last_contact, registered_on) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b)?,
    };
    let days = (day - last).num_days();
    (days > t.lost_after_days).then_some(days)
}

/// The last day of being seen that leaves a client lost to follow-up on
/// `day`: [`days_unseen`] is `Some` exactly when the later of the last
/// contact and the registration falls before this date. The store's
/// client filter asks its index for that range.
pub fn lost_before(day: NaiveDate, t: &Thresholds) -> NaiveDate {
    day.checked_sub_days(chrono::Days::new(t.lost_after_days.max(0).unsigned_abs()))
        .unwrap_or(NaiveDate::MIN)
}

/// The case status a client is shown and filtered with. Moved, deceased and
/// exited are recorded by a worker; "lost to follow-up" is never typed in
/// (DESIGN.md): it is [`days_unseen`]'s answer for an open case, and a
/// recorded one (from data written before it was derived) counts as active.
pub fn case_status(recorded: CaseStatus, unseen: Option<i64>) -> CaseStatus {
    match recorded {
        CaseStatus::Moved | CaseStatus::Deceased | CaseStatus::Exited => recorded,
        CaseStatus::Active | CaseStatus::LostToFollowUp if unseen.is_some() => {
            CaseStatus::LostToFollowUp
        }
        CaseStatus::Active | CaseStatus::LostToFollowUp => CaseStatus::Active,
    }
}

/// Kinds of worklist entries (the `kind` of `tether worklist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    AtRiskDetained,
    ReleaseRelinkage,
    ArtInterrupted,
    ArtOverdue,
    MethadoneMissed,
    LostToFollowUp,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::AtRiskDetained => "at_risk_detained",
            EntryKind::ReleaseRelinkage => "release_relinkage",
            EntryKind::ArtInterrupted => "art_interrupted",
            EntryKind::ArtOverdue => "art_overdue",
            EntryKind::MethadoneMissed => "methadone_missed",
            EntryKind::LostToFollowUp => "lost_to_follow_up",
        }
    }
}

/// One line of a worklist: who, what, why in plain words, and the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub client_id: Uuid,
    pub client_code: String,
    pub kind: EntryKind,
    pub reason: String,
    /// Days detained, days since release, days overdue, missed days or days without contact.
    pub days: i64,
    pub service: Option<Service>,
    pub location: Option<String>,
    /// For missed methadone: what the missed days call for (the rule's
    /// answer, so no screen decides review against re-induction itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methadone: Option<MethadoneAction>,
}

/// The worklist entries that a client's state calls for, in priority order.
pub fn entries(client_id: Uuid, code: &str, s: &ContinuityState) -> Vec<Entry> {
    let mut out = Vec::new();
    let entry = |kind, reason: String, days, service, location: Option<String>| Entry {
        client_id,
        client_code: code.to_owned(),
        kind,
        reason,
        days,
        service,
        location,
        methadone: None,
    };
    if let Some(stay) = &s.detained {
        let missing: Vec<&str> = s
            .services
            .iter()
            .filter(|x| x.at_risk_in_detention)
            .map(|x| service_word(x.service))
            .collect();
        if !missing.is_empty() {
            let days = (s.day - stay.detention.start).num_days() + 1;
            out.push(entry(
                EntryKind::AtRiskDetained,
                format!(
                    "Detained {days} days at {} where {} is not known to be available; visit and negotiate access",
                    stay.location,
                    missing.join(" and ")
                ),
                days,
                s.services.iter().find(|x| x.at_risk_in_detention).map(|x| x.service),
                Some(stay.location.clone()),
            ));
        }
    }
    if let Some(r) = &s.needs_relinkage {
        out.push(entry(
            EntryKind::ReleaseRelinkage,
            format!(
                "Released {} days ago from {}; no methadone dose or ART refill since: re-link within 7 days of release",
                r.days_since, r.location
            ),
            r.days_since,
            None,
            Some(r.location.clone()),
        ));
    }
    for x in &s.services {
        match x.art {
            Some(ArtStatus::Interrupted { days }) => out.push(entry(
                EntryKind::ArtInterrupted,
                format!(
                    "ART interrupted: {days} days past the last refill's supply; trace and re-start"
                ),
                days,
                Some(Service::Art),
                None,
            )),
            Some(ArtStatus::Overdue { days }) => out.push(entry(
                EntryKind::ArtOverdue,
                format!("ART refill overdue by {days} days"),
                days,
                Some(Service::Art),
                None,
            )),
            _ => {}
        }
        match x.methadone {
            Some(action @ MethadoneAction::DoseReview { days }) => out.push(Entry {
                methadone: Some(action),
                ..entry(
                    EntryKind::MethadoneMissed,
                    format!(
                        "Missed methadone {days} days in a row: dose review before the next dose"
                    ),
                    days,
                    Some(Service::Methadone),
                    None,
                )
            }),
            Some(action @ MethadoneAction::Reinduction { days }) => out.push(Entry {
                methadone: Some(action),
                ..entry(
                    EntryKind::MethadoneMissed,
                    format!("Missed methadone {days} days in a row: re-induction needed"),
                    days,
                    Some(Service::Methadone),
                    None,
                )
            }),
            _ => {}
        }
    }
    if let Some(days) = s.lost_to_follow_up {
        out.push(entry(
            EntryKind::LostToFollowUp,
            format!("No contact for {days} days"),
            days,
            None,
            None,
        ));
    }
    out
}

fn service_word(s: Service) -> &'static str {
    match s {
        Service::Methadone => "methadone",
        Service::Art => "ART",
        Service::Prep => "PrEP",
        Service::Tb => "TB treatment",
        Service::Hcv => "hepatitis C treatment",
    }
}
