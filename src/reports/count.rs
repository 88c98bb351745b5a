//! The counting of INDICATORS.md's indicators, by sex and age band: every
//! decision of what counts where. The store streams facts out of SQL
//! (`store::reports`) and hands them here one row or one client at a time;
//! nothing here reads a database, so a count can be checked on facts made
//! by hand.

use super::period::{
    self, AGE_BANDS, INDICATORS, Indicator, PeriodReport, RELINK_DAYS, age_band, art_interrupted,
    covered_together, distinct_days,
};
use crate::domain::{Availability, HivResult, HivTest, Referral, Sex};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A record id as stored (a UUID's 16 bytes).
pub type Key = [u8; 16];

/// Hashes record ids by their random bytes (UUID v7 ids are random after
/// the timestamp), which is much quicker than the default hasher for the
/// million lookups of a year's contacts.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// A map keyed by record ids.
pub type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

/// Sex keys × age bands: the groups every indicator is counted in.
const BANDS: usize = AGE_BANDS.len();
const GROUPS: usize = Sex::ALL.len() * BANDS;

/// One indicator's counts by group (sex × age band).
type Sums = [i64; GROUPS];

/// A live client: their group, and what the streams found about them.
#[derive(Clone, Copy)]
struct Person {
    group: u8,
    flags: u8,
}

/// A contact before the period.
const SEEN_BEFORE: u8 = 1;
/// An arrest in the period.
const ARRESTED: u8 = 2;

/// The group index of a client with `sex` (as stored) born in `birth_year`.
fn group_of(sex: &str, birth_year: Option<i32>, to: NaiveDate) -> u8 {
    let sex = Sex::parse(sex).unwrap_or(Sex::Unknown);
    let s = Sex::ALL.iter().position(|x| *x == sex).unwrap_or(0);
    let band = age_band(birth_year, to);
    let b = AGE_BANDS
        .iter()
        .position(|x| *x == band)
        .unwrap_or(BANDS - 1);
    (s * BANDS + b) as u8
}

/// The indicators being filled in, by key.
struct Tally {
    sums: BTreeMap<&'static str, Sums>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            sums: INDICATORS.iter().map(|d| (d.key, [0; GROUPS])).collect(),
        }
    }

    fn add(&mut self, key: &'static str, group: u8, n: i64) {
        self.sums.entry(key).or_insert([0; GROUPS])[usize::from(group)] += n;
    }

    fn into_indicators(self) -> BTreeMap<String, Indicator> {
        self.sums
            .into_iter()
            .map(|(key, sums)| {
                let mut ind = Indicator::default();
                for (g, n) in sums.iter().enumerate() {
                    ind.add(Sex::ALL[g / BANDS].as_str(), AGE_BANDS[g % BANDS], *n);
                }
                (key.to_owned(), ind)
            })
            .collect()
    }
}

/// A detention location as the report needs it.
pub struct Place {
    pub name: String,
    pub methadone: Availability,
    pub art: Availability,
}

/// A methadone (or else ART) enrollment's span.
pub struct Treatment {
    pub methadone: bool,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// One stay of a client.
pub struct Stay {
    pub location: Option<Key>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// Whether its end (if any) is a release.
    pub release: bool,
}

/// One client's stays touching the period (sorted by start) and what they
/// are judged with.
pub struct ClientStays<'a> {
    pub id: Key,
    pub stays: &'a [Stay],
    pub treatments: &'a [Treatment],
    pub places: &'a KeyMap<Place>,
}

/// One ART refill of an enrollment active in the period, read in order of
/// enrollment and date.
pub struct Refill {
    pub enrollment: Key,
    pub client: Key,
    /// The enrollment's active days within the period.
    pub active: (NaiveDate, NaiveDate),
    pub date: NaiveDate,
    pub days: Option<i64>,
}

/// One client's contacts in the period, summed.
#[derive(Default)]
pub struct Reach {
    contacts: i64,
    needles: i64,
    condoms: i64,
    naloxone: i64,
    tests: i64,
    positive: i64,
    referred: i64,
    /// Contacts with each referral kind, in [`Referral::ALL`] order.
    kinds: [i64; Referral::ALL.len()],
}

impl Reach {
    /// Adds one contact: its supplies, its HIV test (`hiv_test` and
    /// `hiv_result` as stored keys) and its referrals (stored `;`-separated).
    pub fn add(
        &mut self,
        supplies: [i64; 3],
        hiv_test: &[u8],
        hiv_result: &[u8],
        referrals: &[u8],
    ) {
        self.contacts += 1;
        self.needles += supplies[0];
        self.condoms += supplies[1];
        self.naloxone += supplies[2];
        if hiv_test == HivTest::Done.as_str().as_bytes() {
            self.tests += 1;
            if hiv_result == HivResult::Positive.as_str().as_bytes() {
                self.positive += 1;
            }
        }
        if !referrals.trim_ascii().is_empty() {
            self.referred += 1;
            let mut seen = [false; Referral::ALL.len()];
            for kind in String::from_utf8_lossy(referrals)
                .split(';')
                .filter_map(Referral::parse)
            {
                if let Some(i) = Referral::ALL.iter().position(|k| *k == kind) {
                    seen[i] = true;
                }
            }
            for (count, seen) in self.kinds.iter_mut().zip(seen) {
                *count += i64::from(seen);
            }
        }
    }
}

/// The report being counted over `from..=to`: fed the live clients first
/// ([`Counter::person`]), then any of the other facts in any order, then
/// finished with the period's contacts ([`Counter::finish`]).
pub struct Counter {
    from: NaiveDate,
    to: NaiveDate,
    people: KeyMap<Person>,
    tally: Tally,
    detained_at_end_by_location: BTreeMap<String, i64>,
    /// The ART refill waiting to learn the date of the next one.
    pending: Option<Refill>,
    /// Clients with an interrupted ART enrollment, and their group.
    interrupted: KeyMap<u8>,
}

impl Counter {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Counter {
        Counter {
            from,
            to,
            people: KeyMap::default(),
            tally: Tally::new(),
            detained_at_end_by_location: BTreeMap::new(),
            pending: None,
            interrupted: KeyMap::default(),
        }
    }

    /// A live client, with their sex (as stored) and year of birth: the age
    /// band is their age at the end of the period. Facts of clients never
    /// given here (tombstoned ones) are not counted.
    pub fn person(&mut self, id: Key, sex: &str, birth_year: Option<i32>) {
        let group = group_of(sex, birth_year, self.to);
        self.people.insert(id, Person { group, flags: 0 });
    }

    /// A client with a live contact before the period: not new if reached.
    pub fn seen_before(&mut self, id: Key) {
        if let Some(person) = self.people.get_mut(&id) {
            person.flags |= SEEN_BEFORE;
        }
    }

    /// An arrest in the period, with abuse reported or not.
    pub fn arrest(&mut self, id: Key, abuse: bool) {
        let Some(person) = self.people.get_mut(&id) else {
            return;
        };
        person.flags |= ARRESTED;
        let group = person.group;
        self.tally.add("arrests", group, 1);
        self.tally
            .add("arrests_with_abuse", group, i64::from(abuse));
    }

    /// Counts the distinct clients arrested; once all arrests are in.
    pub fn arrests_done(&mut self) {
        let arrested: Vec<u8> = self
            .people
            .values()
            .filter(|p| p.flags & ARRESTED != 0)
            .map(|p| p.group)
            .collect();
        for group in arrested {
            self.tally.add("clients_arrested", group, 1);
        }
    }

    /// One client's stays against the detention, continuity-in-detention
    /// and release indicators. `dosed(end, window_end)` says whether the
    /// client had a methadone dose or ART refill from a release on `end` to
    /// `window_end` (re-linkage within [`RELINK_DAYS`]).
    pub fn client_stays<E>(
        &mut self,
        c: &ClientStays<'_>,
        mut dosed: impl FnMut(NaiveDate, NaiveDate) -> Result<bool, E>,
    ) -> Result<(), E> {
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
                    // The same rule as the worklist and the dashboard.
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
                    let relinked = dosed(end, window)?;
                    self.tally
                        .add("relinked_within_7_days", group, i64::from(relinked));
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

    /// The next ART refill in order of enrollment and date, or `None` after
    /// the last. Of several refills of one enrollment on one day the longest
    /// supply counts; a client counts once however many enrollments were
    /// interrupted. Uses INDICATORS.md's literal 28 and 30 days
    /// ([`period::report_thresholds`]), not the continuity settings, so that
    /// reports mean the same everywhere.
    pub fn art_refill(&mut self, next: Option<Refill>) {
        if let Some(mut p) = self.pending.take() {
            if let Some(n) = &next
                && n.enrollment == p.enrollment
                && n.date == p.date
            {
                let days =
                    |d: Option<i64>| d.unwrap_or(period::report_thresholds().default_refill_days);
                if days(n.days) > days(p.days) {
                    p.days = n.days;
                }
                self.pending = Some(p);
                return;
            }
            let next_date = next
                .as_ref()
                .filter(|n| n.enrollment == p.enrollment)
                .map(|n| n.date);
            if art_interrupted(p.date, p.days, next_date, p.active)
                && let Some(person) = self.people.get(&p.client)
            {
                self.interrupted.insert(p.client, person.group);
            }
        }
        match next {
            Some(r) => self.pending = Some(r),
            None => {
                for group in std::mem::take(&mut self.interrupted).into_values() {
                    self.tally.add("art_interruptions", group, 1);
                }
            }
        }
    }

    /// The report, with the period's contacts summed per client: reach,
    /// clients reached and new clients, and referrals by kind.
    pub fn finish(
        mut self,
        reach: &KeyMap<Reach>,
        made_at: DateTime<Utc>,
        device_id: &str,
    ) -> PeriodReport {
        let mut kinds = [0i64; Referral::ALL.len()];
        for (id, c) in reach {
            let Some(p) = self.people.get(id) else {
                continue;
            };
            let g = p.group;
            self.tally.add("clients_reached", g, 1);
            if p.flags & SEEN_BEFORE == 0 {
                self.tally.add("new_clients", g, 1);
            }
            for (key, n) in [
                ("contacts", c.contacts),
                ("needles_syringes", c.needles),
                ("condoms", c.condoms),
                ("naloxone", c.naloxone),
                ("hiv_tests", c.tests),
                ("hiv_positive", c.positive),
                ("referrals", c.referred),
            ] {
                self.tally.add(key, g, n);
            }
            for (total, n) in kinds.iter_mut().zip(c.kinds) {
                *total += n;
            }
        }
        PeriodReport {
            from: self.from,
            to: self.to,
            made_at,
            device_id: device_id.to_owned(),
            suppressed_below: None,
            indicators: self.tally.into_indicators(),
            referrals_by_kind: Referral::ALL
                .iter()
                .zip(kinds)
                .map(|(k, n)| (k.as_str().to_owned(), n))
                .collect(),
            detained_at_end_by_location: self.detained_at_end_by_location,
        }
    }
}
