//! The period report of `shared/INDICATORS.md`: its types, the list of
//! indicators with their sections and definitions, the disaggregation keys,
//! small-count suppression, and the pure arithmetic the store's queries
//! hand their facts to (distinct detention days, ART interruptions).
//!
//! The store computes a [`PeriodReport`] (`Store::period_report`,
//! `Store::report_job`); [`publish`] turns it into the form every output
//! file is written from, with or without suppression.

use crate::continuity::Thresholds;
use crate::domain::Sex;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The three sections of the report, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Reach,
    ArrestAndDetention,
    Continuity,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Section; 3] = [
        Section::Reach,
        Section::ArrestAndDetention,
        Section::Continuity,
    ];

    /// The heading used in INDICATORS.md and as the XLSX sheet name.
    pub fn title(self) -> &'static str {
        match self {
            Section::Reach => "Reach",
            Section::ArrestAndDetention => "Arrest and detention",
            Section::Continuity => "Continuity",
        }
    }
}

/// One indicator: its key in the files, its section, a short label and
/// its definition in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorDef {
    /// The key in `indicators` (JSON), the `indicator` column (CSV).
    pub key: &'static str,
    pub section: Section,
    /// A short name for tables and charts.
    pub label: &'static str,
    /// What is counted, in plain words (the XLSX definitions sheet, the GUI).
    pub definition: &'static str,
}

const fn def(
    key: &'static str,
    section: Section,
    label: &'static str,
    definition: &'static str,
) -> IndicatorDef {
    IndicatorDef {
        key,
        section,
        label,
        definition,
    }
}

/// Every indicator of INDICATORS.md, in report order.
pub const INDICATORS: &[IndicatorDef] = &[
    def(
        "clients_reached",
        Section::Reach,
        "Clients reached",
        "Distinct clients with at least one contact in the period.",
    ),
    def(
        "new_clients",
        Section::Reach,
        "New clients",
        "Clients whose first-ever contact is in the period.",
    ),
    def(
        "contacts",
        Section::Reach,
        "Contacts",
        "Contacts in the period.",
    ),
    def(
        "needles_syringes",
        Section::Reach,
        "Needles and syringes",
        "Needles and syringes given at contacts in the period (an empty count adds 0).",
    ),
    def(
        "condoms",
        Section::Reach,
        "Condoms",
        "Condoms given at contacts in the period (an empty count adds 0).",
    ),
    def(
        "naloxone",
        Section::Reach,
        "Naloxone",
        "Naloxone given at contacts in the period (an empty count adds 0).",
    ),
    def(
        "hiv_tests",
        Section::Reach,
        "HIV tests",
        "Contacts in the period with an HIV test done.",
    ),
    def(
        "hiv_positive",
        Section::Reach,
        "HIV tests positive",
        "Of the contacts with an HIV test done, those with a positive result.",
    ),
    def(
        "referrals",
        Section::Reach,
        "Contacts with a referral",
        "Contacts in the period with at least one referral (see also referrals by kind: contacts with that referral, not disaggregated).",
    ),
    def(
        "arrests",
        Section::ArrestAndDetention,
        "Arrests",
        "Arrests dated in the period.",
    ),
    def(
        "clients_arrested",
        Section::ArrestAndDetention,
        "Clients arrested",
        "Distinct clients with an arrest in the period.",
    ),
    def(
        "arrests_with_abuse",
        Section::ArrestAndDetention,
        "Arrests with abuse",
        "Arrests in the period with any abuse reported (extortion, violence, threats, medication confiscated).",
    ),
    def(
        "detentions_started",
        Section::ArrestAndDetention,
        "Detentions started",
        "Detentions whose start is in the period.",
    ),
    def(
        "clients_detained_at_end",
        Section::ArrestAndDetention,
        "Clients detained at the end",
        "Distinct clients with a detention that covers the last day of the period and does not end on it (see also detained at end by location, not disaggregated).",
    ),
    def(
        "detention_days",
        Section::ArrestAndDetention,
        "Days in detention",
        "For each client, the number of distinct days in the period covered by any of their detentions (start to end, both included; an open detention to the end of the period), summed over clients.",
    ),
    def(
        "detained_on_methadone",
        Section::Continuity,
        "Detained while on methadone",
        "Distinct clients for whom some day in the period is covered by one of their detentions while their methadone enrollment is active.",
    ),
    def(
        "detained_on_art",
        Section::Continuity,
        "Detained while on ART",
        "Distinct clients for whom some day in the period is covered by one of their detentions while their ART enrollment is active.",
    ),
    def(
        "detained_without_service",
        Section::Continuity,
        "Detained without their service",
        "Distinct clients who, on such a day, were in a detention whose location has that service (methadone or ART) marked no or unknown.",
    ),
    def(
        "releases",
        Section::Continuity,
        "Releases",
        "Detentions that ended in the period with a reason other than transferred or died.",
    ),
    def(
        "relinked_within_7_days",
        Section::Continuity,
        "Re-linked within 7 days",
        "Of the releases needing re-linkage, those whose client has a methadone or ART dose or refill dated from the release day to 7 days after it (the window may run past the end of the period).",
    ),
    def(
        "releases_needing_relinkage",
        Section::Continuity,
        "Releases needing re-linkage",
        "Releases whose client had a methadone or ART enrollment active on the release day.",
    ),
    def(
        "art_interruptions",
        Section::Continuity,
        "ART interruptions",
        "Distinct clients with an ART enrollment that, on some day in the period when it is active, is more than 28 days past the cover of its latest refill on or before that day (refill date + days supplied + 28 < day; a refill without days supplied covers 30 days; enrollments with no refill yet do not count).",
    ),
];

/// The sex keys of `by_sex`, in display order.
pub fn sex_keys() -> impl Iterator<Item = &'static str> {
    Sex::ALL.iter().map(|s| s.as_str())
}

/// The age-band keys of `by_age`, in display order.
pub const AGE_BANDS: [&str; 10] = [
    "<15", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50+", "unknown",
];

/// The age band of someone born in `birth_year`, at `day` (age = year of
/// `day` minus year of birth; no year of birth is `unknown`).
pub fn age_band(birth_year: Option<i32>, day: NaiveDate) -> &'static str {
    let Some(age) = crate::domain::age_at(birth_year, day) else {
        return "unknown";
    };
    match age {
        i32::MIN..=14 => "<15",
        15..=49 => AGE_BANDS[usize::try_from((age - 15) / 5 + 1).unwrap_or(8)],
        _ => "50+",
    }
}

/// A count as published: exact, or suppressed as `<N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(i64),
    /// A count from 1 to N−1, shown as `<N`.
    Below(i64),
}

impl Count {
    /// `n`, or `<below>` when it is from 1 to `below` − 1.
    pub fn of(n: i64, suppress_below: Option<i64>) -> Count {
        match suppress_below {
            Some(below) if n >= 1 && n < below => Count::Below(below),
            _ => Count::Exact(n),
        }
    }

    /// The exact number, when it is shown.
    pub fn exact(self) -> Option<i64> {
        match self {
            Count::Exact(n) => Some(n),
            Count::Below(_) => None,
        }
    }
}

impl Default for Count {
    fn default() -> Self {
        Count::Exact(0)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Below(n) => write!(f, "<{n}"),
        }
    }
}

/// A number in JSON, or the string `"<N"`.
impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_i64(*n),
            Count::Below(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Count::Exact(n)),
            Raw::Text(t) => t
                .strip_prefix('<')
                .and_then(|n| n.parse().ok())
                .map(Count::Below)
                .ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not a count"))),
        }
    }
}

/// One indicator: its total and its disaggregations. `C` is `i64` in the
/// computed report and [`Count`] in a published one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator<C = i64> {
    pub total: C,
    /// From every sex key (`male`, `female`, `other`, `unknown`) to a count.
    pub by_sex: BTreeMap<String, C>,
    /// From every age-band key ([`AGE_BANDS`]) to a count.
    pub by_age: BTreeMap<String, C>,
}

impl Default for Indicator {
    fn default() -> Self {
        Indicator {
            total: 0,
            by_sex: sex_keys().map(|k| (k.to_owned(), 0)).collect(),
            by_age: AGE_BANDS.iter().map(|k| ((*k).to_owned(), 0)).collect(),
        }
    }
}

impl Indicator {
    /// Adds `n` for a client of `sex` in age band `band`.
    pub fn add(&mut self, sex: &str, band: &str, n: i64) {
        self.total += n;
        *self.by_sex.entry(sex.to_owned()).or_default() += n;
        *self.by_age.entry(band.to_owned()).or_default() += n;
    }
}

/// The period report: every indicator of INDICATORS.md for `from`..=`to`.
/// Serialized, it is the JSON shape of INDICATORS.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodReport<C = i64> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// When the report was made.
    pub made_at: DateTime<Utc>,
    /// The database's device id.
    pub device_id: String,
    /// Set when counts from 1 to N−1 are shown as `<N` (published reports only).
    pub suppressed_below: Option<i64>,
    /// From each key of [`INDICATORS`] to its counts.
    pub indicators: BTreeMap<String, Indicator<C>>,
    /// From each referral kind to the contacts in the period with that referral.
    pub referrals_by_kind: BTreeMap<String, C>,
    /// From location name to the clients detained there at the end of the period.
    pub detained_at_end_by_location: BTreeMap<String, C>,
}

impl<C> PeriodReport<C> {
    /// One indicator by key.
    pub fn indicator(&self, key: &str) -> Option<&Indicator<C>> {
        self.indicators.get(key)
    }
}

/// The report as files show it: every count exact when `suppress_below` is
/// `None`; with `Some(N)` every count from 1 to N−1 (totals, each
/// disaggregation, referrals by kind, detained by location) becomes `<N`,
/// so that small groups cannot be singled out, and `suppressed_below`
/// says so. Zero stays 0.
pub fn publish(report: &PeriodReport, suppress_below: Option<i64>) -> PeriodReport<Count> {
    let c = |n: &i64| Count::of(*n, suppress_below);
    let map = |m: &BTreeMap<String, i64>| -> BTreeMap<String, Count> {
        m.iter().map(|(k, v)| (k.clone(), c(v))).collect()
    };
    PeriodReport {
        from: report.from,
        to: report.to,
        made_at: report.made_at,
        device_id: report.device_id.clone(),
        suppressed_below: suppress_below,
        indicators: report
            .indicators
            .iter()
            .map(|(k, i)| {
                (
                    k.clone(),
                    Indicator {
                        total: c(&i.total),
                        by_sex: map(&i.by_sex),
                        by_age: map(&i.by_age),
                    },
                )
            })
            .collect(),
        referrals_by_kind: map(&report.referrals_by_kind),
        detained_at_end_by_location: map(&report.detained_at_end_by_location),
    }
}

/// The sentence every output carries when counts are suppressed.
pub fn suppression_note(below: i64) -> String {
    format!(
        "Counts from 1 to {} are shown as <{below} so that small groups cannot be singled out; zero is shown as 0.",
        below - 1
    )
}

/// The number of distinct days in `from..=to` covered by `stays` (start,
/// end or `None` while open), which must be sorted by start. Stays that
/// share a day (a transfer) count it once.
pub fn distinct_days(
    stays: &[(NaiveDate, Option<NaiveDate>)],
    from: NaiveDate,
    to: NaiveDate,
) -> i64 {
    let mut days = 0;
    let mut covered_to: Option<NaiveDate> = None;
    for &(start, end) in stays {
        let start = start.max(from);
        let end = end.map_or(to, |e| e.min(to));
        if start > end {
            continue;
        }
        match covered_to {
            Some(c) if start <= c => {
                if end > c {
                    days += (end - c).num_days();
                    covered_to = Some(end);
                }
            }
            _ => {
                days += (end - start).num_days() + 1;
                covered_to = Some(end);
            }
        }
    }
    days
}

/// The thresholds a report counts with: INDICATORS.md's numbers (ART
/// interrupted 28 days past its cover, a refill without days supplied
/// covering 30 days), which are the continuity rules' defaults, never a
/// laptop's own settings, so that reports from different databases mean
/// the same. The rules themselves are `continuity`'s.
pub fn report_thresholds() -> Thresholds {
    Thresholds::default()
}
/// Days after release in which a dose or refill counts as re-linkage.
pub const RELINK_DAYS: i64 = 7;

/// Whether an ART refill dated `refill` with `days_supplied` leaves its
/// enrollment interrupted on some day of `active` (the days in the period
/// when the enrollment is active, both included) while it is the latest
/// refill, that is before `next_refill`. Interrupted on a day when
/// refill date + days supplied + 28 < day.
pub fn art_interrupted(
    refill: NaiveDate,
    days_supplied: Option<i64>,
    next_refill: Option<NaiveDate>,
    active: (NaiveDate, NaiveDate),
) -> bool {
    let t = report_thresholds();
    // The first day `continuity::art_status` calls interrupted.
    let cover = crate::continuity::art_cover(refill, days_supplied, &t);
    let first = crate::domain::add_days(cover, t.art_interruption_days + 1).max(active.0);
    let last = match next_refill {
        Some(next) => (crate::domain::add_days(next, -1)).min(active.1),
        None => active.1,
    };
    first <= last
}

/// Whether some day of `from..=to` is covered by both spans (start, end or
/// `None` while open, both included): a detention and an enrollment that
/// is active then, for `detained_on_methadone` and its kin.
pub fn covered_together(
    a: (NaiveDate, Option<NaiveDate>),
    b: (NaiveDate, Option<NaiveDate>),
    from: NaiveDate,
    to: NaiveDate,
) -> bool {
    let first = a.0.max(b.0).max(from);
    let last = a.1.unwrap_or(to).min(b.1.unwrap_or(to)).min(to);
    first <= last
}
