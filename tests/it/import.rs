//! Spreadsheet import (shared/IMPORT.md): reading CSV and XLSX, mapping
//! columns, every problem at once, all or nothing, idempotency, the CLI.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tether::domain::*;
use tether::import::{
    Assign, Control, ImportKind, ImportOptions, ImportReport, Mapping, Outcome, Table, columns,
    read_csv, read_file, template_csv,
};
use tether::store::{Store, StoreError};

const TABLES: &[&str] = &[
    "users",
    "clients",
    "contacts",
    "locations",
    "arrests",
    "detentions",
    "enrollments",
    "service_events",
    "followups",
];

fn table(csv: &str) -> Table {
    read_csv(csv.as_bytes()).expect("readable CSV")
}

fn run(store: &mut Store, kind: ImportKind, csv: &str, dry_run: bool) -> ImportReport {
    let table = table(csv);
    let mapping = Mapping::auto(kind, table.headers());
    let options = ImportOptions {
        file_name: format!("{kind}.csv"),
        dry_run,
    };
    store
        .import(&table, &mapping, &options, &Control::none())
        .expect("import runs")
}

/// Imports and expects success.
fn import(store: &mut Store, kind: ImportKind, csv: &str) -> ImportReport {
    let report = run(store, kind, csv, false);
    assert_eq!(
        report.outcome,
        Outcome::Imported,
        "problems: {:#?}",
        report.problems
    );
    report
}

/// Live rows of every record table, and audit entries.
fn counts(store: &Store) -> Vec<i64> {
    let mut out: Vec<i64> = TABLES
        .iter()
        .map(|t| store.count_live(t).unwrap())
        .collect();
    out.push(store.audit_log(usize::MAX).unwrap().len() as i64);
    out
}

fn problem_lines(report: &ImportReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

/// Alternates the case of closed values, to show they are case-insensitive.
fn shout(i: usize, text: &str) -> String {
    if i % 2 == 1 {
        text.to_uppercase()
    } else {
        text.to_owned()
    }
}

fn with_clients(store: &mut Store, codes: &[&str]) {
    let mut csv = String::from("code,sex\n");
    for code in codes {
        csv.push_str(&format!("{code},unknown\n"));
    }
    import(store, ImportKind::Clients, &csv);
}

fn client_id(store: &Store, code: &str) -> uuid::Uuid {
    store.client_by_code(code).unwrap().expect("client").id()
}

#[test]
fn kinds_columns_and_templates_follow_import_md() {
    let names: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "locations",
            "clients",
            "contacts",
            "arrests",
            "detentions",
            "enrollments",
            "service_events"
        ]
    );
    for kind in ImportKind::ALL {
        assert_eq!(
            ImportKind::parse(&kind.as_str().to_uppercase()),
            Some(*kind)
        );
    }
    assert_eq!(
        ImportKind::parse("Service Events"),
        Some(ImportKind::ServiceEvents)
    );
    assert_eq!(ImportKind::parse("people"), None);
    assert_eq!(
        template_csv(ImportKind::Detentions),
        "client_code,location,start,end,basis,release_reason\n"
    );
    assert_eq!(
        template_csv(ImportKind::Contacts),
        "client_code,date,kind,worker,needles_syringes,condoms,naloxone,hiv_test,hiv_result,referrals,notes\n"
    );
    let required: Vec<&str> = columns(ImportKind::ServiceEvents)
        .iter()
        .filter(|(_, r)| *r)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(required, ["client_code", "service", "date", "kind"]);
    let required: Vec<&str> = columns(ImportKind::Clients)
        .iter()
        .filter(|(_, r)| *r)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(required, ["code", "sex"]);
    // A template is a valid, empty file of its kind.
    let (_db, mut store) = fresh();
    for kind in ImportKind::ALL {
        let report = import(&mut store, *kind, &template_csv(*kind));
        assert_eq!((report.rows, report.added), (0, 0));
    }
}

#[test]
fn locations_every_column_and_value() {
    let (_db, mut store) = fresh();
    let mut csv = String::from("name,kind,province,methadone,art,ngo_access\n");
    let n = LocationKind::ALL.len().max(NgoAccess::ALL.len());
    for i in 0..n {
        csv.push_str(&format!(
            "Place {i},{},Province {i},{},{},{}\n",
            shout(i, LocationKind::ALL[i % LocationKind::ALL.len()].as_str()),
            shout(i, Availability::ALL[i % 3].as_str()),
            Availability::ALL[(i + 1) % 3].as_str(),
            shout(i, NgoAccess::ALL[i % NgoAccess::ALL.len()].as_str()),
        ));
    }
    csv.push_str("Bare,prison,,,,\n");
    let report = import(&mut store, ImportKind::Locations, &csv);
    assert_eq!((report.added, report.already_present), (n + 1, 0));
    let stored = store.list_all::<Location>().unwrap();
    for i in 0..n {
        let l = stored
            .iter()
            .find(|l| l.name == format!("Place {i}"))
            .unwrap();
        assert_eq!(l.kind, LocationKind::ALL[i % LocationKind::ALL.len()]);
        assert_eq!(
            l.province.as_deref(),
            Some(format!("Province {i}").as_str())
        );
        assert_eq!(l.methadone, Availability::ALL[i % 3]);
        assert_eq!(l.art, Availability::ALL[(i + 1) % 3]);
        assert_eq!(l.ngo_access, NgoAccess::ALL[i % NgoAccess::ALL.len()]);
    }
    let bare = stored.iter().find(|l| l.name == "Bare").unwrap();
    assert_eq!(bare.data, Location::new("Bare", LocationKind::Prison));
}

#[test]
fn clients_every_column_and_value() {
    let (_db, mut store) = fresh();
    let worker = add_user(&mut store, "sokha", Role::Outreach);
    let mut csv = String::from(
        "code,nickname,sex,birth_year,phone,province,district,key_populations,hiv_status,assigned_worker,registered_on\n",
    );
    let n = KeyPopulation::ALL.len();
    for i in 0..n {
        let pops: Vec<&str> = KeyPopulation::ALL[..=i]
            .iter()
            .map(|k| k.as_str())
            .collect();
        csv.push_str(&format!(
            "pp-{i},Nick {i},{},{},012 345 {i},Phnom Penh,Khan {i},{},{},{},2024-0{}-15\n",
            shout(i, Sex::ALL[i % Sex::ALL.len()].as_str()),
            1980 + i,
            shout(i, &pops.join(";")),
            HivStatus::ALL[i % HivStatus::ALL.len()].as_str(),
            if i % 2 == 0 { "sokha" } else { "SOKHA" },
            i + 1,
        ));
    }
    csv.push_str("PP-BARE,,unknown,,,,,,,,\n");
    let report = import(&mut store, ImportKind::Clients, &csv);
    assert_eq!(report.added, n + 1);
    for i in 0..n {
        let c = store.client_by_code(&format!("PP-{i}")).unwrap().unwrap();
        assert_eq!(c.code, format!("PP-{i}"));
        assert_eq!(c.nickname.as_deref(), Some(format!("Nick {i}").as_str()));
        assert_eq!(c.sex, Sex::ALL[i % Sex::ALL.len()]);
        assert_eq!(c.birth_year, Some(1980 + i as i32));
        assert_eq!(c.phone.as_deref(), Some(format!("012 345 {i}").as_str()));
        assert_eq!(c.province.as_deref(), Some("Phnom Penh"));
        assert_eq!(c.district.as_deref(), Some(format!("Khan {i}").as_str()));
        assert_eq!(c.key_populations, KeyPopulation::ALL[..=i].to_vec());
        assert_eq!(c.hiv_status, HivStatus::ALL[i % HivStatus::ALL.len()]);
        assert_eq!(c.assigned_worker, Some(worker.id()));
        assert_eq!(c.registered_on, Some(day(&format!("2024-0{}-15", i + 1))));
    }
    let bare = store.client_by_code("PP-BARE").unwrap().unwrap();
    assert_eq!(bare.data, Client::with_code("PP-BARE"));
    // Both sexes' and every HIV status' values were used.
    assert!(n >= Sex::ALL.len() && n >= HivStatus::ALL.len());
}

#[test]
fn contacts_every_column_and_value() {
    let (_db, mut store) = fresh();
    let worker = add_user(&mut store, "dara", Role::Outreach);
    with_clients(&mut store, &["PP-1"]);
    let mut csv = String::from(
        "client_code,date,kind,worker,needles_syringes,condoms,naloxone,hiv_test,hiv_result,referrals,notes\n",
    );
    let n = ContactKind::ALL.len();
    for i in 0..n {
        let test = HivTest::ALL[i % HivTest::ALL.len()];
        let result = if test == HivTest::Done {
            HivResult::ALL[(i / 3) % HivResult::ALL.len()].as_str()
        } else {
            ""
        };
        let refs: Vec<&str> = Referral::ALL[..=(i % Referral::ALL.len())]
            .iter()
            .map(|r| r.as_str())
            .collect();
        csv.push_str(&format!(
            "pp-1,2025-01-{:02},{},dara,{},{},{},{},{},{},note {i}\n",
            i + 1,
            shout(i, ContactKind::ALL[i].as_str()),
            10 * i,
            i,
            i % 2,
            shout(i, test.as_str()),
            result,
            refs.join(";"),
        ));
    }
    csv.push_str("PP-1,2025-02-01,street,,,,,,,,\n");
    let report = import(&mut store, ImportKind::Contacts, &csv);
    assert_eq!(report.added, n + 1);
    let id = client_id(&store, "PP-1");
    let stored = store.list_for_client::<Contact>(id).unwrap();
    assert_eq!(stored.len(), n + 1);
    let mut results = Vec::new();
    for (i, c) in stored.iter().take(n).enumerate() {
        assert_eq!(c.date, day(&format!("2025-01-{:02}", i + 1)));
        assert_eq!(c.kind, ContactKind::ALL[i]);
        assert_eq!(c.worker_id, Some(worker.id()));
        assert_eq!(
            (c.needles_syringes, c.condoms, c.naloxone),
            (10 * i as i64, i as i64, (i % 2) as i64)
        );
        assert_eq!(c.hiv_test, HivTest::ALL[i % HivTest::ALL.len()]);
        results.extend(c.hiv_result);
        assert_eq!(
            c.referrals,
            Referral::ALL[..=(i % Referral::ALL.len())].to_vec()
        );
        assert_eq!(c.notes.as_deref(), Some(format!("note {i}").as_str()));
    }
    results.sort();
    results.dedup();
    assert_eq!(results, [HivResult::Positive, HivResult::Negative]);
    let bare = &stored[n];
    assert_eq!(
        bare.data,
        Contact::new(id, day("2025-02-01"), ContactKind::Street)
    );
    // The worklists count days without contact from the newest imported one.
    let lost = |store: &Store, on: &str| {
        store
            .worklist(day(on), None)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == tether::continuity::EntryKind::LostToFollowUp)
            .map(|e| e.days)
            .collect::<Vec<_>>()
    };
    assert_eq!(lost(&store, "2025-03-01"), Vec::<i64>::new());
    assert_eq!(lost(&store, "2025-06-15"), [134]);
}

#[test]
fn indeterminate_hiv_result_and_a_result_without_a_test() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let report = import(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind,hiv_test,hiv_result\nPP-1,2025-01-01,clinic,done,Indeterminate\n",
    );
    assert_eq!(report.added, 1);
    let report = run(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind,hiv_test,hiv_result\nPP-1,2025-01-02,clinic,offered,positive\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        ["row 2, column \"hiv_result\": a result needs the HIV test to be marked done"]
    );
}

#[test]
fn arrests_every_column_and_value() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let mut csv = String::from("client_code,date,province,place,authority,reasons,abuse,outcome\n");
    let n = Authority::ALL.len();
    for i in 0..n {
        let reasons: Vec<&str> = ArrestReason::ALL[i..].iter().map(|r| r.as_str()).collect();
        let abuse: Vec<&str> = Abuse::ALL[..(i % 5)].iter().map(|a| a.as_str()).collect();
        csv.push_str(&format!(
            "PP-1,0{}/03/2025,Province {i},Market {i},{},{},{},{}\n",
            i + 1,
            shout(i, Authority::ALL[i].as_str()),
            reasons.join(" ; "),
            shout(i, &abuse.join(";")),
            ArrestOutcome::ALL[i].as_str(),
        ));
    }
    csv.push_str("PP-1,2025-04-01,,,,,,\n");
    import(&mut store, ImportKind::Arrests, &csv);
    let id = client_id(&store, "PP-1");
    let stored = store.list_for_client::<Arrest>(id).unwrap();
    assert_eq!(stored.len(), n + 1);
    for (i, a) in stored.iter().take(n).enumerate() {
        assert_eq!(a.date, day(&format!("2025-03-0{}", i + 1)));
        assert_eq!(
            a.province.as_deref(),
            Some(format!("Province {i}").as_str())
        );
        assert_eq!(a.place.as_deref(), Some(format!("Market {i}").as_str()));
        assert_eq!(a.authority, Authority::ALL[i]);
        assert_eq!(a.reasons, ArrestReason::ALL[i..].to_vec());
        assert_eq!(a.abuse, Abuse::ALL[..(i % 5)].to_vec());
        assert_eq!(a.outcome, ArrestOutcome::ALL[i]);
    }
    assert_eq!(stored[n].data, Arrest::new(id, day("2025-04-01")));
    assert_eq!(ArrestOutcome::ALL.len(), n);
}

#[test]
fn detentions_every_column_and_value_with_transfers() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPrey Sar,prison\nOrkas Khnhom,treatment_centre\n",
    );
    let mut csv = String::from("client_code,location,start,end,basis,release_reason\n");
    let n = ReleaseReason::ALL.len();
    // Back-to-back stays: each ends on the day the next starts (a transfer day).
    for i in 0..n {
        csv.push_str(&format!(
            "PP-1,{},2024-0{}-01,2024-0{}-01,{},{}\n",
            if i % 2 == 0 {
                "prey sar"
            } else {
                "Orkas Khnhom"
            },
            i + 1,
            i + 2,
            shout(
                i,
                DetentionBasis::ALL[i % DetentionBasis::ALL.len()].as_str()
            ),
            shout(i, ReleaseReason::ALL[i].as_str()),
        ));
    }
    csv.push_str(&format!("PP-1,Prey Sar,2024-0{}-01,,,\n", n + 1));
    import(&mut store, ImportKind::Detentions, &csv);
    let id = client_id(&store, "PP-1");
    let prey_sar = store.location_by_name("Prey Sar").unwrap().unwrap().id();
    let stored = store.list_for_client::<Detention>(id).unwrap();
    assert_eq!(stored.len(), n + 1);
    for (i, d) in stored.iter().take(n).enumerate() {
        assert_eq!(d.start, day(&format!("2024-0{}-01", i + 1)));
        assert_eq!(d.end, Some(day(&format!("2024-0{}-01", i + 2))));
        assert_eq!(
            d.basis,
            Some(DetentionBasis::ALL[i % DetentionBasis::ALL.len()])
        );
        assert_eq!(d.release_reason, Some(ReleaseReason::ALL[i]));
        assert_eq!(d.location_id == prey_sar, i % 2 == 0);
    }
    assert_eq!(stored[n].end, None);
    assert_eq!(stored[n].basis, None);
    assert!(store.open_detention(id).unwrap().is_some());
}

#[test]
fn enrollments_and_service_events_every_column_and_value() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let mut csv = String::from("client_code,service,provider,number,start,end,status\n");
    for (i, service) in Service::ALL.iter().enumerate() {
        csv.push_str(&format!(
            "PP-1,{},Clinic {i},N-{i},2024-01-01,,{}\n",
            shout(i, service.as_str()),
            EnrollmentStatus::ALL[i].as_str(),
        ));
    }
    csv.push_str("PP-1,methadone,,,2023-01-01,2023-06-30,\n");
    import(&mut store, ImportKind::Enrollments, &csv);
    let id = client_id(&store, "PP-1");
    let enrollments = store.list_for_client::<Enrollment>(id).unwrap();
    assert_eq!(enrollments.len(), Service::ALL.len() + 1);
    for (i, e) in enrollments.iter().take(Service::ALL.len()).enumerate() {
        assert_eq!(e.service, Service::ALL[i]);
        assert_eq!(e.provider.as_deref(), Some(format!("Clinic {i}").as_str()));
        assert_eq!(e.number.as_deref(), Some(format!("N-{i}").as_str()));
        assert_eq!((e.start, e.end), (day("2024-01-01"), None));
        assert_eq!(e.status, EnrollmentStatus::ALL[i]);
    }
    let old = enrollments.last().unwrap();
    assert_eq!(old.status, EnrollmentStatus::Active);
    assert_eq!(old.end, Some(day("2023-06-30")));

    let mut csv = String::from("client_code,service,date,kind,days_supplied,dose_mg,cause\n");
    let n = ServiceEventKind::ALL.len();
    for i in 0..n {
        csv.push_str(&format!(
            "PP-1,{},2024-02-{:02},{},{},{},{}\n",
            Service::ALL[i % Service::ALL.len()].as_str(),
            i + 1,
            shout(i, ServiceEventKind::ALL[i].as_str()),
            i * 7,
            if i == 0 {
                "62.5".to_owned()
            } else {
                format!("{}", 40 + i)
            },
            InterruptionCause::ALL[i % InterruptionCause::ALL.len()].as_str(),
        ));
    }
    // Inside the old methadone enrollment: it goes there.
    csv.push_str("PP-1,methadone,2023-03-01,dose,,,\n");
    import(&mut store, ImportKind::ServiceEvents, &csv);
    let events = store.list_for_client::<ServiceEvent>(id).unwrap();
    assert_eq!(events.len(), n + 1);
    for (i, e) in events.iter().take(n).enumerate() {
        let service = Service::ALL[i % Service::ALL.len()];
        let enrollment = enrollments
            .iter()
            .find(|x| x.service == service && x.end.is_none())
            .unwrap();
        assert_eq!(e.enrollment_id, enrollment.id());
        assert_eq!(e.client_id, id);
        assert_eq!(e.date, day(&format!("2024-02-{:02}", i + 1)));
        assert_eq!(e.kind, ServiceEventKind::ALL[i]);
        assert_eq!(e.days_supplied, Some(i as i64 * 7));
        assert_eq!(e.dose_mg, Some(if i == 0 { 62.5 } else { 40.0 + i as f64 }));
        assert_eq!(
            e.cause,
            Some(InterruptionCause::ALL[i % InterruptionCause::ALL.len()])
        );
    }
    assert!(n >= InterruptionCause::ALL.len());
    assert_eq!(events[n].enrollment_id, old.id());
}

#[test]
fn service_events_need_an_enrollment_that_covers_their_date() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    import(
        &mut store,
        ImportKind::Enrollments,
        "client_code,service,start,end\nPP-1,art,2024-01-01,2024-06-30\n",
    );
    let before = counts(&store);
    let report = run(
        &mut store,
        ImportKind::ServiceEvents,
        "client_code,service,date,kind\nPP-1,art,2024-07-01,refill\nPP-1,methadone,2024-02-01,dose\nPP-1,art,2023-12-31,refill\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        [
            "row 2, column \"service\": client PP-1 has no art enrollment that covers 2024-07-01; import the enrollments first",
            "row 3, column \"service\": client PP-1 has no methadone enrollment that covers 2024-02-01; import the enrollments first",
            "row 4, column \"service\": client PP-1 has no art enrollment that covers 2023-12-31; import the enrollments first",
        ]
    );
    assert_eq!(counts(&store), before);
}

#[test]
fn iso_and_day_month_year_dates_are_the_same_day() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1", "PP-2"]);
    import(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind\nPP-1,2025-03-07,street\nPP-2,07/03/2025,street\n",
    );
    for code in ["PP-1", "PP-2"] {
        let c = store
            .list_for_client::<Contact>(client_id(&store, code))
            .unwrap();
        assert_eq!(c[0].date, day("2025-03-07"));
    }
    // The same contact written both ways is one record.
    let report = import(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind\nPP-1,07/03/2025,street\n",
    );
    assert_eq!((report.added, report.already_present), (0, 1));
}

#[test]
fn five_different_errors_are_all_reported_and_nothing_is_written() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let before = counts(&store);
    let csv = "client_code,date,kind,needles_syringes,worker\n\
               PP-1,2025-01-01,street,5,\n\
               PP-1,31/02/2025,street,5,\n\
               PP-1,2025-01-02,bus stop,5,\n\
               PP-1,2025-01-03,street,-4,\n\
               PP-1,2025-01-04,street,5,\n\
               PP-404,2025-01-05,street,5,\n\
               PP-1,2099-01-01,home,,\n\
               PP-1,2025-01-06,street,,nobody\n";
    let report = run(&mut store, ImportKind::Contacts, csv, false);
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(
        problem_lines(&report),
        [
            "row 3, column \"date\": \"31/02/2025\" is not a date (YYYY-MM-DD or DD/MM/YYYY)",
            "row 4, column \"kind\": \"bus stop\" is not one of: street, drop_in, home, phone, detention_visit, legal, clinic",
            "row 5, column \"needles_syringes\": \"-4\" is negative; counts cannot be below 0",
            "row 7, column \"client_code\": client code PP-404 does not exist",
            "row 8, column \"date\": 2099-01-01 is in the future",
            "row 9, column \"worker\": no user named \"nobody\"",
        ]
    );
    assert_eq!(report.rows, 8);
    assert_eq!(
        counts(&store),
        before,
        "nothing written, not even an audit entry"
    );
    assert!(report.summary().contains("6 problems"));
}

#[test]
fn every_problem_of_one_row_is_reported_left_to_right() {
    let (_db, mut store) = fresh();
    let report = run(
        &mut store,
        ImportKind::Clients,
        "sex,code,birth_year,key_populations,registered_on\nboth,,nineteen,pwid;cats,2024-13-01\n",
        false,
    );
    let columns: Vec<&str> = report.problems.iter().map(|p| p.column.as_str()).collect();
    assert_eq!(
        columns,
        [
            "sex",
            "code",
            "birth_year",
            "key_populations",
            "registered_on"
        ]
    );
    assert!(report.problems.iter().all(|p| p.row == 2));
    assert_eq!(
        report.problems[3].reason,
        "\"cats\" is not one of: pwid, pwud, sex_worker, msm, transgender"
    );
}

#[test]
fn domain_validation_applies_to_every_row() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPrey Sar,prison\n",
    );
    let report = run(
        &mut store,
        ImportKind::Detentions,
        "client_code,location,start,end,release_reason\n\
         PP-1,Prey Sar,2024-05-01,2024-04-01,released\n\
         PP-1,Prey Sar,2024-06-01,2024-06-10,\n\
         PP-1,Prey Sar,2024-07-01,,bail\n\
         PP-1,Nowhere,2024-08-01,,\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        [
            "row 2, column \"end\": 2024-04-01 is before the start 2024-05-01",
            "row 3, column \"release_reason\": required, but the cell is empty",
            "row 4, column \"release_reason\": a release reason needs an end date",
            "row 5, column \"location\": no location named \"Nowhere\"; import the locations first",
        ]
    );
    let report = run(
        &mut store,
        ImportKind::Clients,
        "code,sex,birth_year\nPP 9,male,1850\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        [
            "row 2, column \"code\": use up to 32 letters, digits, dashes, dots or slashes, no spaces",
            "row 2, column \"birth_year\": 1850 is more than 110 years ago",
        ]
    );
}

#[test]
fn csv_with_and_without_byte_order_mark() {
    let (_db, mut store) = fresh();
    let plain = "code,sex\nPP-1,male\n";
    let bom = format!("\u{feff}{plain}");
    assert_eq!(table(&bom).headers(), ["code", "sex"]);
    assert_eq!(table(&bom), table(plain));
    // The BOM kept on a header (a reader that does not strip it) is dropped too.
    assert_eq!(Table::new(vec!["\u{feff}code".into()]).headers(), ["code"]);
    let report = import(&mut store, ImportKind::Clients, &bom);
    assert_eq!(report.added, 1);
    let report = import(&mut store, ImportKind::Clients, plain);
    assert_eq!((report.added, report.already_present), (0, 1));
}

#[test]
fn khmer_text_round_trips_exactly() {
    let (db, mut store) = fresh();
    let names = ["សុខា", "ដារ៉ា", " ស្រីពៅ ", "ចន្ទ\u{200b}ធីតា"];
    let mut csv = String::from("code,nickname,sex,province,district\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("KH-{i},{name},female,ភ្នំពេញ,ខណ្ឌ\u{200b}ដូនពេញ\n"));
    }
    import(&mut store, ImportKind::Clients, &csv);
    store.close().unwrap();
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    for (i, name) in names.iter().enumerate() {
        let c = store.client_by_code(&format!("KH-{i}")).unwrap().unwrap();
        // Only ASCII white space is trimmed; Khmer (and its zero-width space) is kept.
        assert_eq!(c.nickname.as_deref(), Some(name.trim_matches(' ')));
        assert_eq!(c.province.as_deref(), Some("ភ្នំពេញ"));
        assert_eq!(c.district.as_deref(), Some("ខណ្ឌ\u{200b}ដូនពេញ"));
    }
    let found = store.search_clients("សុខា", 10).unwrap();
    assert_eq!(found.rows.len(), 1);
}

#[test]
fn importing_the_same_files_twice_adds_nothing() {
    let (_db, mut store) = fresh();
    add_user(&mut store, "dara", Role::Outreach);
    let files = [
        (
            ImportKind::Locations,
            "name,kind,methadone\nPrey Sar,prison,no\n",
        ),
        (
            ImportKind::Clients,
            "code,sex,nickname,assigned_worker\nPP-1,male,Sokha,dara\nPP-2,female,,\n",
        ),
        (
            ImportKind::Contacts,
            // Two identical rows are two contacts (two meetings that day).
            "client_code,date,kind,condoms\nPP-1,2025-01-01,street,5\nPP-1,2025-01-01,street,5\nPP-2,2025-01-02,phone,\n",
        ),
        (
            ImportKind::Arrests,
            "client_code,date,reasons\nPP-1,2025-01-03,use;sweep\n",
        ),
        (
            ImportKind::Detentions,
            "client_code,location,start,end,release_reason\nPP-1,Prey Sar,2025-01-03,2025-01-20,released\nPP-1,Prey Sar,2025-02-01,,\n",
        ),
        (
            ImportKind::Enrollments,
            "client_code,service,start\nPP-2,art,2024-06-01\n",
        ),
        (
            ImportKind::ServiceEvents,
            "client_code,service,date,kind,days_supplied\nPP-2,art,2025-01-05,refill,30\n",
        ),
    ];
    let mut added = Vec::new();
    for (kind, csv) in files {
        added.push(import(&mut store, kind, csv).added);
    }
    assert_eq!(added, [1, 2, 3, 1, 2, 1, 1]);
    let after_first = counts(&store);
    for (kind, csv) in files {
        let report = import(&mut store, kind, csv);
        assert_eq!(report.added, 0, "{kind}");
        assert_eq!(report.already_present, report.rows, "{kind}");
    }
    let after_second = counts(&store);
    // Only the seven audit entries of the second round are new.
    assert_eq!(after_second[..TABLES.len()], after_first[..TABLES.len()]);
    assert_eq!(after_second[TABLES.len()], after_first[TABLES.len()] + 7);
    // A file with old and new rows adds only the new ones.
    let report = import(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind,condoms\nPP-1,2025-01-01,street,5\nPP-1,2025-01-01,street,5\nPP-1,2025-01-01,street,5\n",
    );
    assert_eq!((report.added, report.already_present), (1, 2));
    // Imports write with the database's reference checks off (they look
    // every reference up themselves): every reference they wrote holds.
    let check = store.check().unwrap();
    assert_eq!(check.foreign_key_errors, 0);
    assert!(check.is_ok());
    // And the checks are on again for everything else: a batch write
    // (which leaves references to the database) with a contact for a
    // client that does not exist is refused.
    let mut batch = tether::store::Batch::default();
    let ghost = Contact::new(uuid::Uuid::now_v7(), day("2025-01-05"), ContactKind::Street);
    batch.contacts.push((uuid::Uuid::now_v7(), ghost));
    assert!(store.write_batch(&batch, "test").is_err());
}

#[test]
fn an_existing_client_or_location_with_other_details_is_a_problem() {
    let (_db, mut store) = fresh();
    client(&mut store, "PP-1", Some("Sokha"));
    let mut l = Location::new("Prey Sar", LocationKind::Prison);
    l.methadone = Availability::Yes;
    store.create(l).unwrap();
    // Same details (only the file's columns count): already present.
    let report = import(
        &mut store,
        ImportKind::Clients,
        "code,nickname,sex\npp-1,Sokha,unknown\n",
    );
    assert_eq!((report.added, report.already_present), (0, 1));
    let report = import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPREY SAR,prison\n",
    );
    assert_eq!((report.added, report.already_present), (0, 1));
    let report = run(
        &mut store,
        ImportKind::Clients,
        "code,nickname,sex\nPP-1,Dara,male\nPP-2,A,male\nPP-2,B,male\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        [
            "row 2, column \"code\": client code PP-1 already exists with a different nickname, sex",
            "row 4, column \"code\": client code PP-2 is also in row 3, with different details",
        ]
    );
    let report = run(
        &mut store,
        ImportKind::Locations,
        "name,kind,methadone\nPrey Sar,prison,no\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        ["row 2, column \"name\": location \"Prey Sar\" already exists with a different methadone"]
    );
    assert!(store.client_by_code("PP-2").unwrap().is_none());
}

#[test]
fn a_contact_for_a_client_code_that_does_not_exist_is_reported() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let before = counts(&store);
    let report = run(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind\nPP-1,2025-01-01,street\npp-77,2025-01-01,street\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        ["row 3, column \"client_code\": client code PP-77 does not exist"]
    );
    assert_eq!(counts(&store), before);
}

#[test]
fn overlapping_detentions_in_the_file_and_with_the_store_are_reported() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1", "PP-2"]);
    import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPrey Sar,prison\nT3,police_station\n",
    );
    let pp1 = client_id(&store, "PP-1");
    let prey_sar = store.location_by_name("Prey Sar").unwrap().unwrap().id();
    store
        .create(Detention {
            client_id: pp1,
            location_id: prey_sar,
            start: day("2024-01-01"),
            end: Some(day("2024-02-01")),
            basis: None,
            arrest_id: None,
            release_reason: Some(ReleaseReason::Transferred),
            notes: None,
        })
        .unwrap();
    let before = counts(&store);
    let report = run(
        &mut store,
        ImportKind::Detentions,
        "client_code,location,start,end,release_reason\n\
         PP-1,T3,2024-01-15,2024-01-20,released\n\
         PP-1,T3,2024-02-01,2024-03-01,transferred\n\
         PP-2,T3,2024-01-01,,\n\
         PP-2,Prey Sar,2024-05-01,2024-05-10,released\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        [
            "row 2, column \"start\": this stay overlaps another detention of the same client (2024-01-01 to 2024-02-01); stays may share only a transfer day",
            "row 5, column \"start\": this stay overlaps the stay in row 4 (open since 2024-01-01); stays may share only a transfer day",
        ]
    );
    assert_eq!(counts(&store), before);
    // Without the bad rows: the transfer on 2024-02-01 shares its boundary day.
    let report = import(
        &mut store,
        ImportKind::Detentions,
        "client_code,location,start,end,release_reason\nPP-1,T3,2024-02-01,2024-03-01,transferred\nPP-2,T3,2024-01-01,,\n",
    );
    assert_eq!(report.added, 2);
    // And again: already present, not overlapping themselves.
    let report = import(
        &mut store,
        ImportKind::Detentions,
        "client_code,location,start,end,release_reason\nPP-1,T3,2024-02-01,2024-03-01,transferred\nPP-2,T3,2024-01-01,,\n",
    );
    assert_eq!((report.added, report.already_present), (0, 2));
}

#[test]
fn a_current_stay_gets_the_rules_follow_ups_and_an_old_one_does_not() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1", "PP-2"]);
    import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPrey Sar,prison\n",
    );
    import(
        &mut store,
        ImportKind::Enrollments,
        "client_code,service,start\nPP-1,methadone,2020-01-01\nPP-2,methadone,2020-01-01\n",
    );
    let recent = tether::store::today() - chrono::Duration::days(3);
    import(
        &mut store,
        ImportKind::Detentions,
        &format!(
            "client_code,location,start,end,release_reason\nPP-1,Prey Sar,2021-01-01,2021-02-01,released\nPP-2,Prey Sar,{recent},,\n"
        ),
    );
    let old = store
        .list_for_client::<FollowUp>(client_id(&store, "PP-1"))
        .unwrap();
    assert!(old.is_empty(), "{old:?}");
    let current = store
        .list_for_client::<FollowUp>(client_id(&store, "PP-2"))
        .unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].rule.as_deref(), Some("detention_visit"));
}

#[test]
fn a_dry_run_checks_everything_and_writes_nothing() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let csv = "client_code,date,kind\nPP-1,2025-01-01,street\nPP-1,2025-01-02,street\n";
    let before = counts(&store);
    let report = run(&mut store, ImportKind::Contacts, csv, true);
    assert_eq!(report.outcome, Outcome::Checked);
    assert_eq!((report.added, report.already_present), (2, 0));
    assert!(report.summary().starts_with("dry run"));
    assert_eq!(counts(&store), before);
    import(&mut store, ImportKind::Contacts, csv);
    let report = run(&mut store, ImportKind::Contacts, csv, true);
    assert_eq!((report.added, report.already_present), (0, 2));
    let report = run(
        &mut store,
        ImportKind::Contacts,
        "client_code,date,kind\nPP-2,2025-01-01,street\n",
        true,
    );
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(report.problems.len(), 1);
}

#[test]
fn xlsx_first_sheet_with_dates_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    for (col, name) in ["Client Code", "date", "kind", "needles-syringes", "notes"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "pp-1").unwrap();
    let when = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 3, 14).unwrap();
    sheet
        .write_datetime_with_format(1, 1, &when, &date)
        .unwrap();
    sheet.write_string(1, 2, "Street").unwrap();
    sheet.write_number(1, 3, 20.0).unwrap();
    sheet.write_string(1, 4, "ជួបនៅផ្សារ").unwrap();
    sheet.write_string(2, 0, "PP-1").unwrap();
    sheet.write_string(2, 1, "2025-03-15").unwrap();
    sheet.write_string(2, 2, "phone").unwrap();
    sheet.write_number(2, 3, 2.5).unwrap();
    book.add_worksheet().write_string(0, 0, "ignored").unwrap();
    book.save(&path).unwrap();

    let table = read_file(&path).unwrap();
    assert_eq!(
        table.headers(),
        ["Client Code", "date", "kind", "needles-syringes", "notes"]
    );
    let first: Vec<&str> = table.row(0).unwrap().cells().collect();
    assert_eq!(first, ["pp-1", "2025-03-14", "Street", "20", "ជួបនៅផ្សារ"]);
    assert_eq!(table.row(1).unwrap().get(3), "2.5");

    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let mapping = Mapping::auto(ImportKind::Contacts, table.headers());
    let options = ImportOptions {
        file_name: "contacts.xlsx".into(),
        dry_run: false,
    };
    let report = store
        .import(&table, &mapping, &options, &Control::none())
        .unwrap();
    assert_eq!(
        problem_lines(&report),
        ["row 3, column \"needles-syringes\": \"2.5\" is not a whole number"]
    );
    let fixed = {
        let mut t = Table::new(table.headers().to_vec());
        t.push_row(table.row(0).unwrap().cells());
        t
    };
    let report = store
        .import(&fixed, &mapping, &options, &Control::none())
        .unwrap();
    assert_eq!(report.outcome, Outcome::Imported);
    let c = store
        .list_for_client::<Contact>(client_id(&store, "PP-1"))
        .unwrap();
    assert_eq!(c[0].date, day("2025-03-14"));
    assert_eq!(c[0].needles_syringes, 20);
    assert_eq!(c[0].notes.as_deref(), Some("ជួបនៅផ្សារ"));
}

#[test]
fn unreadable_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_file(&dir.path().join("nope.csv")).unwrap_err();
    assert!(
        missing.to_string().starts_with("cannot open the file"),
        "{missing}"
    );
    let doc = dir.path().join("notes.docx");
    std::fs::write(&doc, "x").unwrap();
    assert_eq!(
        read_file(&doc).unwrap_err().to_string(),
        "cannot read .docx files: use .csv or .xlsx"
    );
    let fake = dir.path().join("fake.xlsx");
    std::fs::write(&fake, "not a zip").unwrap();
    assert!(
        read_file(&fake)
            .unwrap_err()
            .to_string()
            .starts_with("not a readable spreadsheet")
    );
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"code,sex\nPP-1,m\xe2le\n").unwrap();
    assert_eq!(
        read_file(&latin1).unwrap_err().to_string(),
        "line 2 is not UTF-8 text; save the file as \"CSV UTF-8\""
    );
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(read_file(&empty).unwrap_err().to_string().contains("empty"));
}

#[test]
fn unknown_missing_and_doubled_columns_are_reported_on_row_one() {
    let (_db, mut store) = fresh();
    let report = run(
        &mut store,
        ImportKind::Clients,
        "Code,Nick name,Sex,SEX,Ward\nPP-1,Sokha,male,male,7\n",
        false,
    );
    assert_eq!(report.outcome, Outcome::Refused);
    let lines = problem_lines(&report);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("row 1, column \"Nick name\": unknown column \"Nick name\""));
    assert_eq!(
        lines[1],
        "row 1, column \"SEX\": column \"sex\" is already given by column \"Sex\""
    );
    assert!(lines[2].starts_with("row 1, column \"Ward\": unknown column \"Ward\""));
    let report = run(
        &mut store,
        ImportKind::Contacts,
        "client_code,kind\n",
        false,
    );
    assert_eq!(
        problem_lines(&report),
        ["row 1, column \"date\": required column \"date\" is missing"]
    );
}

#[test]
fn a_mapping_maps_or_skips_unknown_columns() {
    let (_db, mut store) = fresh();
    let csv = "Code,Nick name,Sex,Ward,\nPP-1,Sokha,male,7,\nPP-2,Dara,female,8,\n";
    let table = table(csv);
    let mut mapping = Mapping::auto(ImportKind::Clients, table.headers());
    assert_eq!(mapping.get(0), Assign::Column("code"));
    assert_eq!(mapping.get(1), Assign::Unmatched);
    assert_eq!(mapping.get(3), Assign::Unmatched);
    assert_eq!(mapping.get(4), Assign::Skip, "a header without a name");
    assert!(mapping.set_column(1, "nickname"));
    assert!(!mapping.set_column(3, "ward"));
    mapping.set(3, Assign::Skip);
    assert!(mapping.problems(table.headers()).is_empty());
    let options = ImportOptions::default();
    let report = store
        .import(&table, &mapping, &options, &Control::none())
        .unwrap();
    assert_eq!(report.outcome, Outcome::Imported);
    let c = store.client_by_code("PP-2").unwrap().unwrap();
    assert_eq!(c.nickname.as_deref(), Some("Dara"));
    // A value under a column without a name is not silently dropped.
    let table = self::table("code,sex,\nPP-3,male,oops\nPP-4,male\n");
    let mapping = Mapping::auto(ImportKind::Clients, table.headers());
    let report = store
        .import(&table, &mapping, &options, &Control::none())
        .unwrap();
    assert_eq!(
        problem_lines(&report),
        ["row 2, column \"column 3\": this cell has no column name in the header row"]
    );
}

#[test]
fn blank_rows_are_skipped_and_row_numbers_stay_the_files() {
    let (_db, mut store) = fresh();
    let report = run(
        &mut store,
        ImportKind::Clients,
        "code,sex\nPP-1,male\n,\n  ,  \nPP-2,mal\n",
        false,
    );
    assert_eq!(report.rows, 2);
    assert_eq!(
        problem_lines(&report),
        ["row 5, column \"sex\": \"mal\" is not one of: male, female, other, unknown"]
    );
}

#[test]
fn outreach_workers_cannot_import() {
    assert!(!Role::Outreach.can(Permission::Import));
    assert!(!Role::Manager.can(Permission::Import));
    assert!(Role::Coordinator.can(Permission::Import));
    let (db, mut store) = fresh();
    add_user(&mut store, "field", Role::Outreach);
    add_user(&mut store, "coord", Role::Coordinator);
    store.close().unwrap();
    let mut outreach = Store::open(&db.path, "field", PASSWORD).unwrap();
    let table = table("code,sex\nPP-1,male\n");
    let mapping = Mapping::auto(ImportKind::Clients, table.headers());
    let refused = outreach.import(
        &table,
        &mapping,
        &ImportOptions::default(),
        &Control::none(),
    );
    assert!(
        matches!(
            refused,
            Err(StoreError::Forbidden {
                role: Role::Outreach,
                permission: Permission::Import
            })
        ),
        "{refused:?}"
    );
    outreach.close().unwrap();
    let mut coordinator = Store::open(&db.path, "coord", PASSWORD).unwrap();
    let report = coordinator
        .import(
            &table,
            &mapping,
            &ImportOptions::default(),
            &Control::none(),
        )
        .unwrap();
    assert_eq!(report.added, 1);
}

#[test]
fn progress_is_reported_and_cancelling_writes_nothing() {
    let (_db, mut store) = fresh();
    let mut csv = String::from("code,sex\n");
    for i in 0..3000 {
        csv.push_str(&format!("PP-{i},male\n"));
    }
    let table = table(&csv);
    let mapping = Mapping::auto(ImportKind::Clients, table.headers());
    let before = counts(&store);
    let cancel = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let progress = |done: usize, total: usize| {
        assert_eq!(total, 3000);
        if calls.fetch_add(1, Ordering::SeqCst) == 1 {
            assert!(done > 0);
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let control = Control {
        progress: &progress,
        cancel: &cancel,
    };
    let report = store
        .import(&table, &mapping, &ImportOptions::default(), &control)
        .unwrap();
    assert_eq!(report.outcome, Outcome::Cancelled);
    assert_eq!(counts(&store), before);
    let last = AtomicUsize::new(0);
    let progress = |done: usize, _total: usize| last.store(done, Ordering::SeqCst);
    let never = AtomicBool::new(false);
    let control = Control {
        progress: &progress,
        cancel: &never,
    };
    let report = store
        .import(&table, &mapping, &ImportOptions::default(), &control)
        .unwrap();
    assert_eq!(report.added, 3000);
    assert_eq!(last.load(Ordering::SeqCst), 3000);
}

#[test]
fn the_import_is_audited_once_with_kind_file_and_counts() {
    let (_db, mut store) = fresh();
    let table = table("code,sex\nPP-1,male\nPP-2,male\n");
    let mapping = Mapping::auto(ImportKind::Clients, table.headers());
    let options = ImportOptions {
        file_name: "old-register.csv".into(),
        dry_run: false,
    };
    let before = store.audit_log(usize::MAX).unwrap().len();
    store
        .import(&table, &mapping, &options, &Control::none())
        .unwrap();
    let log = store.audit_log(usize::MAX).unwrap();
    assert_eq!(log.len(), before + 1);
    assert_eq!(log[0].action, AuditAction::Import);
    assert_eq!(
        log[0].detail,
        "clients from old-register.csv: added 2, already present 0"
    );
}

fn tether(args: &[&str]) -> Output {
    tether_with(args, PASSWORD, Some("admin"))
}

#[test]
fn command_line_import_summary_and_dry_run() {
    let (db, store) = fresh();
    store.close().unwrap();
    let dir = db.dir.path();
    let file = dir.join("clients.csv");
    std::fs::write(
        &file,
        "\u{feff}code,sex,nickname\nPP-1,male,សុខា\nPP-2,female,\n",
    )
    .unwrap();
    let (db_s, file_s) = (db.path.to_str().unwrap(), file.to_str().unwrap());
    let o = tether(&[
        "import",
        "--db",
        db_s,
        "--kind",
        "clients",
        file_s,
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "dry run, nothing written: would add 2, already present 0\n"
    );
    assert!(
        o.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let o = tether(&["import", "--db", db_s, "--kind", "clients", file_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "added 2, already present 0\n"
    );
    let o = tether(&["import", "--db", db_s, "--kind", "clients", file_s]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "added 0, already present 2\n"
    );
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(
        store
            .client_by_code("PP-1")
            .unwrap()
            .unwrap()
            .nickname
            .as_deref(),
        Some("សុខា")
    );
}

#[test]
fn command_line_import_lists_every_problem_and_writes_nothing() {
    let (db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let before = counts(&store);
    store.close().unwrap();
    let file = db.dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "client_code,date,kind\nPP-1,2025-01-01,street\nPP-9,2025-01-01,street\nPP-1,31/02/2025,street\n",
    )
    .unwrap();
    let (db_s, file_s) = (db.path.to_str().unwrap(), file.to_str().unwrap());
    let o = tether(&["import", "--db", db_s, "--kind", "contacts", file_s]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "row 3, column \"client_code\": client code PP-9 does not exist",
            "row 4, column \"date\": \"31/02/2025\" is not a date (YYYY-MM-DD or DD/MM/YYYY)",
            &format!("tether: {file_s}: nothing imported: 2 problems"),
        ]
    );
    let bad_kind = tether(&["import", "--db", db_s, "--kind", "people", file_s]);
    assert!(!bad_kind.status.success());
    assert!(String::from_utf8_lossy(&bad_kind.stderr).contains("service_events"));
    let missing = tether(&[
        "import",
        "--db",
        db_s,
        "--kind",
        "contacts",
        "/nonexistent/x.csv",
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open the file"));
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let mut after = counts(&store);
    // The only change: the login audit entries of the runs above and this open.
    after.pop();
    let mut expected = before;
    expected.pop();
    assert_eq!(after, expected);
}

#[test]
fn an_import_can_run_on_a_worker_thread() {
    fn movable<T: Send>() {}
    fn shareable<T: Send + Sync>() {}
    movable::<Store>();
    shareable::<Table>();
    shareable::<Mapping>();
    let (_db, mut store) = fresh();
    let table = table("code,sex\nPP-1,male\n");
    let mapping = Mapping::auto(ImportKind::Clients, table.headers());
    let done = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            let progress = |n: usize, _: usize| done.store(n, Ordering::Relaxed);
            let control = Control {
                progress: &progress,
                cancel: &cancel,
            };
            store.import(&table, &mapping, &ImportOptions::default(), &control)
        })
        .join()
        .expect("worker thread")
    })
    .unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(done.load(Ordering::Relaxed), 1);
}

// Hostile files (issue 12): every one refused with one clear line naming
// where, without a panic, without first building the file's whole grid,
// and without changing the database.

/// A workbook with these text cells `(row, column, text)` on its first sheet.
fn xlsx_with(path: &Path, cells: &[(u32, u16, &str)]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, col, text) in cells {
        sheet.write_string(*row, *col, *text).unwrap();
    }
    book.save(path).unwrap();
}

/// A workbook written by hand: `sheet` is the XML inside `<worksheet>`,
/// `shared` the whole shared-strings part when there is one.
fn raw_xlsx(path: &Path, sheet: &str, shared: Option<&str>) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let ns = "http://schemas.openxmlformats.org";
    let mut parts = vec![
        (
            "[Content_Types].xml".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
            ),
        ),
        (
            "_rels/.rels".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/worksheets/sheet1.xml".to_owned(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}/spreadsheetml/2006/main">{sheet}</worksheet>"#
            ),
        ),
    ];
    if let Some(shared) = shared {
        parts.push(("xl/sharedStrings.xml".to_owned(), shared.to_owned()));
    }
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// An inline-string cell for [`raw_xlsx`].
fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// The message of a file that cannot be read.
fn read_error(path: &Path) -> String {
    match read_file(path) {
        Ok(table) => panic!("{} was read: {} rows", path.display(), table.len()),
        Err(e) => e.to_string(),
    }
}

fn csv_error(text: &str) -> String {
    match read_csv(text.as_bytes()) {
        Ok(table) => panic!("the CSV was read: {} rows", table.len()),
        Err(e) => e.to_string(),
    }
}

/// `tether import` as a real process, its address space capped at 3 GB
/// where `ulimit` exists, so that a file that makes it reserve a huge
/// grid fails the test instead of slowing the machine.
fn tether_import(db: &Path, kind: &str, file: &Path) -> Output {
    let args = [
        "import",
        "--db",
        db.to_str().unwrap(),
        "--kind",
        kind,
        file.to_str().unwrap(),
    ];
    let mut command = if cfg!(target_os = "linux") {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"ulimit -v 3000000 && exec "$0" "$@""#)
            .arg(env!("CARGO_BIN_EXE_tether"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_tether"))
    };
    command
        .args(args)
        .env("TETHER_PASSWORD", PASSWORD)
        .env("TETHER_USER", "admin")
        .stdin(Stdio::null())
        .output()
        .expect("run tether")
}

/// A refusal by the command line: exit status 1 (not a signal, not a
/// panic), one short line on stderr that says `needle`.
fn assert_refused_in_one_line(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{:?}: {err}", o.status);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{err:?} should say {needle:?}");
    assert!(err.len() < 400, "a short line: {} bytes", err.len());
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn hostile_a_sparse_xlsx_with_cells_at_a1_and_xfd1048576_is_refused_naming_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.xlsx");
    xlsx_with(&path, &[(0, 0, "code"), (1_048_575, 16_383, "x")]);
    assert!(
        std::fs::metadata(&path).unwrap().len() < 8_000,
        "a small file"
    );
    assert_eq!(
        read_error(&path),
        "sheet Sheet1, cell XFD1048576: the sheet is 16,384 columns wide; an import file has at most 100 columns"
    );
}

#[test]
fn hostile_a_sheet_with_a_cell_at_zz200000_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zz.xlsx");
    xlsx_with(&path, &[(199_999, 701, "x")]);
    assert_eq!(
        read_error(&path),
        "sheet Sheet1, cell ZZ200000: the sheet is 702 columns wide; an import file has at most 100 columns"
    );
    // Within the width, the last cell Excel allows is read, with the blank
    // rows between.
    xlsx_with(&path, &[(0, 0, "code"), (1_048_575, 99, "x")]);
    let table = read_file(&path).unwrap();
    assert_eq!(table.len(), 1_048_575);
    assert_eq!(table.row(1_048_574).unwrap().get(99), "x");
    assert!(table.row(1_000).unwrap().is_blank());
    // Past Excel's rows (a file written by hand), the row cap refuses it.
    let sheet = format!(
        r#"<sheetData><row r="1">{}</row><row r="1100002">{}</row></sheetData>"#,
        inline("A1", "code"),
        inline("B1100002", "x")
    );
    raw_xlsx(&path, &sheet, None);
    assert_eq!(
        read_error(&path),
        "sheet Sheet1, cell B1100002: the sheet has more than 1,100,000 rows under its header row; an import file has at most that many, so split it into smaller files"
    );
}

#[test]
fn hostile_xlsx_claims_cells_and_order_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.xlsx");
    let header = format!(
        r#"<row r="1">{}{}</row>"#,
        inline("A1", "code"),
        inline("B1", "sex")
    );
    let shared = |count: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount={count}><si><t>PP-1</t></si></sst>"#
        )
    };
    let data = r#"<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>male</t></is></c></row>"#;
    let sheet = format!("<sheetData>{header}{data}</sheetData>");
    // An honest list of texts is read.
    raw_xlsx(&path, &sheet, Some(&shared(r#""1""#)));
    let table = read_file(&path).unwrap();
    assert_eq!(
        table.row(0).unwrap().cells().collect::<Vec<_>>(),
        ["PP-1", "male"]
    );
    // One that claims 10^15 entries would make calamine reserve them (and
    // end the process); with spaces and single quotes too, as XML allows.
    for count in [r#""1000000000000000""#, "  '99999999999999999999999'"] {
        raw_xlsx(&path, &sheet, Some(&shared(count)));
        let e = read_error(&path);
        assert!(
            e.starts_with(
                "not a readable spreadsheet: its list of texts claims more entries than it holds"
            ),
            "{e}"
        );
    }
    // A cell longer than Excel allows.
    let long = "x".repeat(100_000);
    let sheet = format!(
        r#"<sheetData>{header}<row r="2">{}</row></sheetData>"#,
        inline("C2", &long)
    );
    raw_xlsx(&path, &sheet, None);
    assert_eq!(
        read_error(&path),
        "sheet Sheet1, cell C2: the cell is 100,000 characters long; a cell holds at most 32,767 characters"
    );
    // Cells out of order (a file not made by a spreadsheet program).
    let sheet = format!(
        r#"<sheetData><row r="2">{}</row>{header}</sheetData>"#,
        inline("A2", "PP-1")
    );
    raw_xlsx(&path, &sheet, None);
    let e = read_error(&path);
    assert!(
        e.starts_with("sheet Sheet1, cell A1: the sheet's cells are not in order"),
        "{e}"
    );
    // One text, comment or CDATA section of megabytes (a zip bomb's way to
    // make calamine hold it whole) is refused before calamine reads it.
    let big = "x<>".repeat(700_000);
    for (sheet, shared) in [
        (
            format!(
                "<sheetData>{header}<row r=\"2\">{}</row></sheetData>",
                inline("A2", &"x".repeat(2 << 20))
            ),
            None,
        ),
        (
            format!("<!-- {big} --><sheetData>{header}</sheetData>"),
            None,
        ),
        (
            format!(
                "<sheetData>{header}<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t><![CDATA[{big}]]></t></is></c></row></sheetData>"
            ),
            None,
        ),
        (
            format!("<sheetData>{header}</sheetData>"),
            Some(format!(
                r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="1"><si><t>{}</t></si></sst>"#,
                "y".repeat(2 << 20)
            )),
        ),
    ] {
        raw_xlsx(&path, &sheet, shared.as_deref());
        let e = read_error(&path);
        assert!(
            e.contains("holds a text or tag longer than any cell can be"),
            "{e}"
        );
    }
    // A sheet that declares a huge size but holds a small table is read.
    let sheet = format!(r#"<dimension ref="A1:XFD1048576"/><sheetData>{header}</sheetData>"#);
    raw_xlsx(&path, &sheet, None);
    assert_eq!(read_file(&path).unwrap().headers(), ["code", "sex"]);
}

#[test]
fn hostile_old_excel_and_ods_files_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["xls", "ods", "xlsb"] {
        let path = dir.path().join(format!("old.{ext}"));
        std::fs::write(&path, b"whatever").unwrap();
        assert_eq!(
            read_error(&path),
            format!(
                "cannot read .{ext} files: open the file in Excel or LibreOffice and save it as .xlsx or as CSV UTF-8"
            )
        );
    }
}

#[test]
fn hostile_a_csv_with_10000_columns_is_refused_naming_the_column() {
    let wide: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let header = wide.join(",");
    assert_eq!(
        csv_error(&format!("{header}\n")),
        "row 1, column 10,000: the file is 10,000 columns wide; an import file has at most 100 columns"
    );
    assert_eq!(
        csv_error(&format!("code,sex\nPP-1,male\n{header}\n")),
        "row 3, column 10,000: the file is 10,000 columns wide; an import file has at most 100 columns"
    );
    // Empty cells at the end of a row (as spreadsheets often save) are not columns.
    let commas = ",".repeat(10_000);
    let table = table(&format!("code,sex{commas}\nPP-1,male{commas}\n"));
    assert_eq!(table.headers(), ["code", "sex"]);
    assert_eq!(
        table.row(0).unwrap().cells().collect::<Vec<_>>(),
        ["PP-1", "male"]
    );
    // 100 columns are fine.
    let hundred: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    assert_eq!(
        table_len(&format!("{}\n{}\n", hundred.join(","), hundred.join(","))),
        1
    );
}

fn table_len(csv: &str) -> usize {
    table(csv).len()
}

#[test]
fn hostile_a_cell_of_100000_characters_is_refused_naming_row_and_column() {
    let long = "ក".repeat(100_000);
    let e = csv_error(&format!(
        "code,sex,nickname\nPP-1,male,ok\nPP-2,male,{long}\n"
    ));
    assert_eq!(
        e,
        "row 3, column 3 (\"nickname\"): the cell is 100,000 characters long; a cell holds at most 32,767 characters"
    );
    // Excel's own limit is allowed.
    let most = "ក".repeat(32_767);
    assert_eq!(
        table_len(&format!("code,sex,nickname\nPP-1,male,{most}\n")),
        1
    );
    // One line without end: refused before it fills memory.
    let endless = "x".repeat(17 << 20);
    assert_eq!(
        csv_error(&format!("code,sex\n{endless}")),
        "row 2: the row is longer than 16 MB; a row of an import file has at most 100 cells of 32,767 characters"
    );
}

#[test]
fn hostile_a_csv_longer_than_the_row_cap_is_refused() {
    let mut csv = String::with_capacity(2_300_000);
    csv.push_str("code\n");
    for _ in 0..1_100_000 {
        csv.push_str("x\n");
    }
    assert_eq!(table_len(&csv), 1_100_000, "1,100,000 rows are allowed");
    csv.push_str("x\n");
    assert_eq!(
        csv_error(&csv),
        "row 1,100,002: the file has more than 1,100,000 rows under its header row; an import file has at most that many, so split it into smaller files"
    );
}

#[test]
fn hostile_problems_repeat_at_most_40_characters_of_a_cell() {
    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let long = "9".repeat(30_000);
    let code = "Z".repeat(30_000);
    let csv = format!(
        "client_code,date,kind,{long}\n{code},2025-01-01,street,\nPP-1,{long},street,\nPP-1,2025-01-01,{long},\n"
    );
    let mut report = run(&mut store, ImportKind::Contacts, &csv, false);
    let header = problem_lines(&report);
    assert_eq!(header.len(), 1, "{header:?}");
    let cut = format!("{}…", "9".repeat(39));
    assert_eq!(
        header[0],
        format!(
            "row 1, column \"{cut}\": unknown column \"{cut}\"; map it to a column or skip it (contacts columns are: client_code, date, kind, worker, needles_syringes, condoms, naloxone, hiv_test, hiv_result, referrals, notes)"
        )
    );
    let table = table(&csv);
    let mut mapping = Mapping::auto(ImportKind::Contacts, table.headers());
    mapping.set(3, Assign::Skip);
    report = store
        .import(
            &table,
            &mapping,
            &ImportOptions::default(),
            &Control::none(),
        )
        .unwrap();
    assert_eq!(
        problem_lines(&report),
        [
            format!(
                "row 2, column \"client_code\": client code {}… does not exist",
                "Z".repeat(39)
            ),
            format!("row 3, column \"date\": \"{cut}\" is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
            format!(
                "row 4, column \"kind\": \"{cut}\" is not one of: street, drop_in, home, phone, detention_visit, legal, clinic"
            ),
        ]
    );
}

#[test]
fn hostile_problems_are_kept_to_the_first_10000_and_all_counted() {
    let (_db, mut store) = fresh();
    let before = counts(&store);
    let mut csv = String::from("code,sex\n");
    for i in 0..12_000 {
        csv.push_str(&format!("P-{i},nobody\n"));
    }
    let report = run(&mut store, ImportKind::Clients, &csv, false);
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(report.problems.len(), 10_000);
    assert_eq!(report.more_problems, 2_000);
    assert_eq!(report.problem_count(), 12_000);
    assert_eq!(
        report.problems[9_999].row, 10_001,
        "the first ones, in file order"
    );
    assert_eq!(report.summary(), "nothing imported: 12000 problems");
    let lines = report.problem_lines();
    assert_eq!(lines.len(), 201);
    assert_eq!(
        lines[0],
        "row 2, column \"sex\": \"nobody\" is not one of: male, female, other, unknown"
    );
    assert_eq!(lines[200], "and 11800 more problems");
    assert_eq!(counts(&store), before);
}

#[test]
fn hostile_command_line_refusals_are_one_line_and_change_nothing() {
    let (db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let dump = store.canonical_dump().unwrap();
    store.close().unwrap();
    let dir = db.dir.path();
    let sparse = dir.join("sparse.xlsx");
    xlsx_with(&sparse, &[(0, 0, "code"), (1_048_575, 16_383, "x")]);
    let zz = dir.join("zz.xlsx");
    xlsx_with(&zz, &[(0, 0, "code"), (199_999, 701, "x")]);
    let wide = dir.join("wide.csv");
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    std::fs::write(&wide, format!("{}\n", header.join(","))).unwrap();
    let long = dir.join("long.csv");
    std::fs::write(
        &long,
        format!("code,sex,nickname\nPP-2,male,{}\n", "x".repeat(100_000)),
    )
    .unwrap();
    let claims = dir.join("claims.xlsx");
    raw_xlsx(
        &claims,
        "<sheetData/>",
        Some(
            r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="1000000000000000"></sst>"#,
        ),
    );
    for (file, needle) in [
        (&sparse, "cell XFD1048576: the sheet is 16,384 columns wide"),
        (&zz, "cell ZZ200000: the sheet is 702 columns wide"),
        (
            &wide,
            "row 1, column 10,000: the file is 10,000 columns wide",
        ),
        (
            &long,
            "row 2, column 3 (\"nickname\"): the cell is 100,000 characters long",
        ),
        (
            &claims,
            "its list of texts claims more entries than it holds",
        ),
    ] {
        let o = tether_import(&db.path, "clients", file);
        assert_refused_in_one_line(&o, needle);
    }
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(store.canonical_dump().unwrap(), dump);
}

#[test]
fn hostile_command_line_lists_200_problems_then_counts_the_rest() {
    let (db, mut store) = fresh();
    with_clients(&mut store, &["PP-1"]);
    let dump = store.canonical_dump().unwrap();
    store.close().unwrap();
    // As wide as a file may be: 98 columns without a name, each cell a problem.
    let file = db.dir.path().join("clients.csv");
    let mut csv = format!("code{}sex\n", ",".repeat(99));
    for i in 0..10 {
        csv.push_str(&format!("P-{i},{}male\n", "=1+1,".repeat(98)));
    }
    std::fs::write(&file, csv).unwrap();
    let o = tether_import(&db.path, "clients", &file);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 202, "{err}");
    assert_eq!(
        lines[0],
        "row 2, column \"column 2\": this cell has no column name in the header row"
    );
    assert_eq!(lines[200], "and 780 more problems");
    assert_eq!(
        lines[201],
        format!("tether: {}: nothing imported: 980 problems", file.display())
    );
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    assert_eq!(store.canonical_dump().unwrap(), dump);
}

/// Any small CSV, made of real column names, junk headers and hostile
/// cells, is either read and checked (imported whole, or refused with
/// problems that each name a row and column), or refused at reading with
/// one short line; nothing panics.
#[test]
fn random_csv_files_import_whole_or_are_refused_naming_row_and_column() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    use std::cell::RefCell;

    // Mostly the kind's own columns in any order (the required ones most
    // of the time), sometimes a junk header; cells mostly plausible for
    // their column, and in half the files hostile ones among them.
    let strategy = proptest::sample::select(ImportKind::ALL.to_vec())
        .prop_flat_map(|kind| {
            let all: Vec<&'static str> = columns(kind).iter().map(|(n, _)| *n).collect();
            let n = all.len();
            (
                Just(kind),
                proptest::sample::subsequence(all, 0..=n),
                proptest::option::weighted(0.2, junk_header()),
                proptest::bool::weighted(0.9),
                any::<bool>(),
            )
        })
        .prop_flat_map(|(kind, chosen, junk, with_required, clean)| {
            let mut headers: Vec<String> = chosen.iter().map(|c| (*c).to_owned()).collect();
            for (name, required) in columns(kind) {
                if *required && with_required && !chosen.contains(name) {
                    headers.push((*name).to_owned());
                }
            }
            headers.extend(junk);
            let cells: Vec<BoxedStrategy<String>> =
                headers.iter().map(|h| cell_for(kind, h, clean)).collect();
            (
                Just(kind),
                Just(headers),
                proptest::collection::vec(cells, 0..6),
                any::<bool>(),
            )
        });

    let (_db, mut store) = fresh();
    with_clients(&mut store, &["PP-1", "PP-2"]);
    import(
        &mut store,
        ImportKind::Locations,
        "name,kind\nPrison,prison\n",
    );
    let store = RefCell::new(store);
    let seen = RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let mut runner = TestRunner::new(Config {
        cases: 192,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(kind, headers, rows, dry_run)| {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(&headers).unwrap();
        for row in &rows {
            w.write_record(row).unwrap();
        }
        let text = w.into_inner().unwrap();
        let table = match read_csv(text.as_slice()) {
            Ok(table) => table,
            Err(e) => {
                let message = e.to_string();
                *seen.borrow_mut().entry("read".to_owned()).or_default() += 1;
                prop_assert!(message.len() < 400 && !message.contains('\n'), "{message}");
                if message.contains("characters long") {
                    prop_assert!(message.starts_with("row "), "{message}");
                    prop_assert!(message.contains(", column "), "{message}");
                }
                return Ok(());
            }
        };
        let mut store = store.borrow_mut();
        let before = counts(&store);
        let mapping = Mapping::auto(kind, table.headers());
        let options = ImportOptions {
            file_name: "random.csv".into(),
            dry_run,
        };
        let report = store
            .import(&table, &mapping, &options, &Control::none())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let after = counts(&store);
        *seen
            .borrow_mut()
            .entry(format!("{:?}", report.outcome))
            .or_default() += 1;
        match report.outcome {
            Outcome::Imported => {
                prop_assert!(report.problems.is_empty());
                prop_assert_eq!(report.added + report.already_present, report.rows);
                if dry_run || report.added == 0 {
                    prop_assert_eq!(&after[..TABLES.len()], &before[..TABLES.len()]);
                } else {
                    prop_assert!(after != before, "the new records are written");
                }
            }
            Outcome::Checked => prop_assert_eq!(&after, &before),
            Outcome::Refused => {
                prop_assert_eq!(&after, &before, "a refusal changes nothing");
                prop_assert!(report.problem_count() > 0);
                for p in &report.problems {
                    prop_assert!(p.row >= 1 && p.row <= table.len() + 1, "{p}");
                    prop_assert!(!p.column.trim().is_empty(), "{p}");
                    let line = p.to_string();
                    let start = format!("row {}, column \"", p.row);
                    prop_assert!(line.starts_with(&start), "{}", line);
                    prop_assert!(line.chars().count() < 500 && !line.contains('\n'), "{line}");
                }
            }
            Outcome::Cancelled => prop_assert!(false, "nothing cancelled"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The cases cover every way out.
    let seen = seen.into_inner();
    for way in ["Imported", "Checked", "Refused", "read"] {
        assert!(seen.get(way).is_some_and(|n| *n > 0), "{way} in {seen:?}");
    }
}

fn junk_header() -> proptest::strategy::BoxedStrategy<String> {
    use proptest::prelude::*;
    prop_oneof![
        Just(String::new()),
        Just("=cmd|' /C calc'!A0".to_owned()),
        Just("ឈ្មោះ".to_owned()),
        Just("x".repeat(50_000)),
        "[a-z_ ]{1,12}",
    ]
    .boxed()
}

/// A cell for column `header` of a `kind` file: a plausible value, or in
/// a file that is not `clean` now and then a hostile one (a formula, Khmer
/// text, quotes and line breaks, a cell too long, any text at all).
fn cell_for(
    kind: ImportKind,
    header: &str,
    clean: bool,
) -> proptest::strategy::BoxedStrategy<String> {
    use proptest::prelude::*;
    let good: &[&str] = match (kind, header) {
        (ImportKind::Clients, "code") => &["PP-3", "PP-4", "kh-9"],
        (ImportKind::Locations, "kind") => &["prison", "police_station", "other"],
        (ImportKind::Contacts, "kind") => &["street", "phone", "drop_in"],
        (ImportKind::ServiceEvents, "kind") => &["dose", "refill", "missed"],
        (_, "client_code") => &["PP-1", "pp-2"],
        (_, "name") => &["Prison", "Cell 9", "ប៉ុស្តិ៍ប៉ូលិស"],
        (_, "location") => &["Prison", "prison"],
        (_, "sex") => &["male", "female", "unknown"],
        (_, "birth_year") => &["1990", ""],
        (_, "date" | "start" | "registered_on") => &["2025-01-01", "15/02/2025"],
        (_, "end") => &["", "2025-03-01"],
        (_, "service") => &["methadone", "art"],
        (_, "worker" | "assigned_worker") => &["admin", ""],
        (_, "needles_syringes" | "condoms" | "naloxone" | "days_supplied") => &["0", "3", ""],
        (_, "dose_mg") => &["40", "12.5", ""],
        (_, "hiv_test") => &["none", "offered"],
        (_, "referrals") => &["art;tb", ""],
        (_, "key_populations") => &["pwid;msm", ""],
        (_, "hiv_status") => &["negative", "unknown"],
        (_, "methadone" | "art") => &["yes", "no", "unknown"],
        (_, "ngo_access") => &["allowed", "none"],
        (_, "authority") => &["national_police", "unknown"],
        (_, "reasons") => &["use;possession", ""],
        (_, "abuse") => &["extortion", ""],
        (_, "outcome") => &["released", "unknown"],
        (_, "basis") => &["police_custody", ""],
        (_, "status") => &["active", "completed"],
        (_, "cause") => &["", "detention"],
        (
            _,
            "nickname" | "province" | "district" | "place" | "provider" | "number" | "notes"
            | "phone",
        ) => &["", "ភ្នំពេញ", "=1+1", "Phnom Penh", "-A1"],
        _ => &[""],
    };
    let good = proptest::sample::select(good.to_vec()).prop_map(str::to_owned);
    if clean {
        return good.boxed();
    }
    prop_oneof![
        12 => good,
        1 => Just("=HYPERLINK(\"http://x\",\"y\")".to_owned()),
        1 => Just("@SUM(1+1)".to_owned()),
        1 => Just("ជួបនៅផ្សារ ស្រីពៅ".to_owned()),
        1 => Just("a \"quoted\",\nmulti-line cell".to_owned()),
        1 => (1usize..3).prop_map(|n| "x".repeat(n * 20_000)),
        1 => any::<String>(),
    ]
    .boxed()
}
