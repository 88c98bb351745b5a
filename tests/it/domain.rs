//! Validation rules of the domain: every error names its field.

use chrono::NaiveDate;
use tether::domain::*;
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    parse_date(s).expect("test date")
}

const TODAY: &str = "2026-06-15";

fn detention(start: &str, end: Option<&str>) -> Detention {
    Detention {
        client_id: Uuid::nil(),
        location_id: Uuid::nil(),
        start: d(start),
        end: end.map(d),
        basis: None,
        arrest_id: None,
        release_reason: end.map(|_| ReleaseReason::Released),
        notes: None,
    }
}

#[test]
fn client_code_is_required_and_shaped() {
    let c = Client::with_code("  ");
    assert_eq!(
        c.validate(d(TODAY)),
        Err(ValidationError::Required { field: "code" })
    );
    let c = Client::with_code("PP 001");
    let err = c.validate(d(TODAY)).unwrap_err();
    assert_eq!(err.field(), "code");
    assert!(matches!(err, ValidationError::OutOfRange { .. }));
    assert!(Client::with_code("pp-0001").validate(d(TODAY)).is_ok());
    assert_eq!(Client::with_code(" pp-0001 ").code, "PP-0001");
}

#[test]
fn birth_year_in_the_future_is_refused() {
    let mut c = Client::with_code("PP-1");
    c.birth_year = Some(2027);
    let err = c.validate(d(TODAY)).unwrap_err();
    assert_eq!(err.field(), "birth_year");
    assert!(matches!(err, ValidationError::InFuture { .. }));
    assert!(err.to_string().contains("in the future"), "{err}");
    c.birth_year = Some(1900);
    assert!(matches!(
        c.validate(d(TODAY)),
        Err(ValidationError::OutOfRange {
            field: "birth_year",
            ..
        })
    ));
    c.birth_year = Some(2026);
    assert!(c.validate(d(TODAY)).is_ok());
}

#[test]
fn client_dates_in_the_future_are_refused() {
    let mut c = Client::with_code("PP-1");
    c.hiv_last_test = Some(d("2026-06-16"));
    c.consent_date = Some(d("2026-07-01"));
    let fields: Vec<_> = c.problems(d(TODAY)).iter().map(|e| e.field()).collect();
    assert_eq!(fields, ["hiv_last_test", "consent_date"]);
}

#[test]
fn negative_counts_are_refused_by_field() {
    let mut c = Contact::new(Uuid::nil(), d(TODAY), ContactKind::Street);
    c.needles_syringes = -1;
    c.naloxone = -3;
    let problems = c.problems(d(TODAY));
    assert_eq!(
        problems,
        vec![
            ValidationError::Negative {
                field: "needles_syringes",
                value: -1.0
            },
            ValidationError::Negative {
                field: "naloxone",
                value: -3.0
            },
        ]
    );
    c.needles_syringes = 20_000;
    c.naloxone = 0;
    assert!(matches!(
        c.validate(d(TODAY)),
        Err(ValidationError::OutOfRange {
            field: "needles_syringes",
            ..
        })
    ));
}

#[test]
fn contact_in_the_future_and_result_without_test() {
    let mut c = Contact::new(Uuid::nil(), d("2026-06-16"), ContactKind::DropIn);
    assert_eq!(
        c.validate(d(TODAY)),
        Err(ValidationError::InFuture {
            field: "date",
            date: d("2026-06-16")
        })
    );
    c.date = d(TODAY);
    c.hiv_result = Some(HivResult::Positive);
    assert!(matches!(
        c.validate(d(TODAY)),
        Err(ValidationError::Inconsistent {
            field: "hiv_result",
            ..
        })
    ));
    c.hiv_test = HivTest::Done;
    assert!(c.validate(d(TODAY)).is_ok());
}

#[test]
fn detention_ending_before_it_starts_is_refused() {
    let stay = detention("2026-03-10", Some("2026-03-09"));
    assert_eq!(
        stay.validate(d(TODAY)),
        Err(ValidationError::EndBeforeStart {
            field: "end",
            start: d("2026-03-10"),
            end: d("2026-03-09")
        })
    );
}

#[test]
fn detention_release_reason_goes_with_end() {
    let mut stay = detention("2026-03-10", Some("2026-03-12"));
    stay.release_reason = None;
    assert_eq!(
        stay.validate(d(TODAY)),
        Err(ValidationError::Required {
            field: "release_reason"
        })
    );
    let mut open = detention("2026-03-10", None);
    open.release_reason = Some(ReleaseReason::Bail);
    assert!(matches!(
        open.validate(d(TODAY)),
        Err(ValidationError::Inconsistent {
            field: "release_reason",
            ..
        })
    ));
}

#[test]
fn overlapping_detentions_are_refused_but_transfers_share_a_day() {
    let first = detention("2026-01-10", Some("2026-01-20"));
    // Transfer: the next stay starts the day the first ends.
    assert!(check_no_overlap(&detention("2026-01-20", None), std::slice::from_ref(&first)).is_ok());
    // Entirely after.
    assert!(
        check_no_overlap(
            &detention("2026-02-01", Some("2026-02-03")),
            std::slice::from_ref(&first)
        )
        .is_ok()
    );
    // Starts inside.
    let err =
        check_no_overlap(&detention("2026-01-15", None), std::slice::from_ref(&first)).unwrap_err();
    assert_eq!(err.field(), "start");
    assert!(matches!(err, ValidationError::OverlappingDetention { .. }));
    // Wraps it.
    assert!(
        check_no_overlap(
            &detention("2026-01-01", Some("2026-02-01")),
            std::slice::from_ref(&first)
        )
        .is_err()
    );
    // An open stay covers every later day.
    let open = detention("2026-03-01", None);
    assert!(
        check_no_overlap(
            &detention("2026-04-01", Some("2026-04-02")),
            std::slice::from_ref(&open)
        )
        .is_err()
    );
    // Ends the day the open one starts: a boundary day only.
    assert!(
        check_no_overlap(
            &detention("2026-02-20", Some("2026-03-01")),
            std::slice::from_ref(&open)
        )
        .is_ok()
    );
}

#[test]
fn enrollment_and_event_rules() {
    let e = Enrollment {
        client_id: Uuid::nil(),
        service: Service::Methadone,
        provider: None,
        number: None,
        start: d("2026-02-01"),
        end: Some(d("2026-01-01")),
        status: EnrollmentStatus::Active,
        dose_mg: Some(-5.0),
        regimen: None,
    };
    let fields: Vec<_> = e.problems(d(TODAY)).iter().map(|p| p.field()).collect();
    assert_eq!(fields, ["end", "dose_mg"]);

    let mut ev = ServiceEvent {
        enrollment_id: Uuid::nil(),
        client_id: Uuid::nil(),
        date: d("2026-01-15"),
        kind: ServiceEventKind::Refill,
        days_supplied: Some(-30),
        dose_mg: None,
        cause: None,
        notes: None,
    };
    assert_eq!(
        ev.validate(d(TODAY)),
        Err(ValidationError::Negative {
            field: "days_supplied",
            value: -30.0
        })
    );
    ev.days_supplied = Some(30);
    assert!(ev.validate(d(TODAY)).is_ok());
    let err = check_event_in_enrollment(&ev, &e).unwrap_err();
    assert_eq!(err.field(), "date");
}

#[test]
fn closed_lists_parse_case_insensitively_and_name_the_allowed_values() {
    assert_eq!(Sex::parse("Female"), Some(Sex::Female));
    assert_eq!(ContactKind::parse("Drop-In"), Some(ContactKind::DropIn));
    assert_eq!(
        ReleaseReason::parse(" SENTENCE_COMPLETED "),
        Some(ReleaseReason::SentenceCompleted)
    );
    let err = "sometimes".parse::<Availability>().unwrap_err();
    assert!(matches!(err, ValidationError::InvalidValue { .. }));
    assert!(err.to_string().contains("yes, no, unknown"), "{err}");
    assert_eq!(
        parse_list("pwid; msm;;PWID", KeyPopulation::parse),
        Ok(vec![KeyPopulation::Pwid, KeyPopulation::Msm])
    );
    assert_eq!(
        parse_list("pwid;cats", KeyPopulation::parse),
        Err("cats".to_owned())
    );
    for kind in ServiceEventKind::ALL {
        assert_eq!(ServiceEventKind::parse(kind.as_str()), Some(*kind));
    }
}

#[test]
fn dates_parse_in_both_spreadsheet_forms() {
    assert_eq!(parse_date("2026-01-31"), Some(d("2026-01-31")));
    assert_eq!(parse_date("31/01/2026"), Some(d("2026-01-31")));
    assert_eq!(parse_date("31/02/2026"), None);
    assert_eq!(parse_date("yesterday"), None);
}

#[test]
fn roles_allow_what_the_design_says() {
    use Permission::*;
    assert!(Role::Outreach.can(EditRecords));
    for p in [
        Delete,
        ManageUsers,
        ExportIdentifiable,
        Export,
        Import,
        Backup,
        ManageRegistry,
        ResolveConflicts,
        SyncSetup,
    ] {
        assert!(!Role::Outreach.can(p), "outreach must not {p:?}");
    }
    assert!(Role::Outreach.can(Sync), "outreach laptops sync");
    assert!(Role::Coordinator.can(ResolveConflicts) && !Role::Coordinator.can(SyncSetup));
    assert!(Role::Admin.can(SyncSetup) && !Role::Manager.can(ResolveConflicts));
    assert!(Role::Coordinator.can(ExportIdentifiable) && Role::Coordinator.can(Delete));
    assert!(!Role::Coordinator.can(ManageUsers) && !Role::Coordinator.can(Backup));
    assert!(Role::Manager.can(Export) && !Role::Manager.can(Delete));
    assert!(Role::Admin.can(ManageUsers) && Role::Admin.can(Backup));
}

#[test]
fn release_and_detained_on_follow_the_report_terms() {
    assert!(ReleaseReason::Bail.is_release());
    assert!(!ReleaseReason::Transferred.is_release() && !ReleaseReason::Died.is_release());
    let stay = detention("2026-01-10", Some("2026-01-20"));
    assert!(!stay.detained_on(d("2026-01-09")));
    assert!(stay.detained_on(d("2026-01-10")) && stay.detained_on(d("2026-01-19")));
    assert!(
        !stay.detained_on(d("2026-01-20")),
        "not detained on the day of release"
    );
}

#[test]
fn text_fields_are_capped_alike_for_forms_imports_and_bundles() {
    let today = d(TODAY);
    let mut c = Client::with_code("PP-0001");
    c.nickname = Some("ស".repeat(limits::NAME));
    assert_eq!(c.validate(today), Ok(()), "Khmer counts by character");
    c.nickname = Some("x".repeat(100_000));
    assert_eq!(
        c.validate(today),
        Err(ValidationError::TooLong {
            field: "nickname",
            max: limits::NAME
        })
    );
    assert_eq!(
        c.validate(today).unwrap_err().to_string(),
        format!("nickname: longer than {} characters", limits::NAME)
    );
    let mut c = Client::with_code("PP-0001");
    c.notes = Some("n".repeat(limits::NOTES + 1));
    assert_eq!(c.validate(today).unwrap_err().field(), "notes");
    let mut contact = Contact::new(Uuid::nil(), today, ContactKind::Street);
    contact.place = Some("p".repeat(limits::NAME + 1));
    assert_eq!(contact.validate(today).unwrap_err().field(), "place");
    let mut loc = Location::new("Prey Speu", LocationKind::SocialAffairsCentre);
    loc.name = "L".repeat(limits::NAME + 1);
    assert_eq!(loc.validate(today).unwrap_err().field(), "name");
    let followup = FollowUp {
        client_id: Uuid::nil(),
        worker_id: None,
        due: today,
        reason: "r".repeat(limits::LINE + 1),
        rule: None,
        source_id: None,
        done_on: None,
        outcome: None,
    };
    assert_eq!(followup.validate(today).unwrap_err().field(), "reason");
    let user = User {
        username: "sokha".into(),
        display_name: "Sokha".into(),
        role: Role::Outreach,
        active: true,
        language: "fr".into(),
    };
    assert_eq!(user.validate(today).unwrap_err().field(), "language");
}

#[test]
fn absurd_dates_and_doses_are_refused() {
    let today = d(TODAY);
    let contact = Contact::new(Uuid::nil(), d("0001-01-01"), ContactKind::Street);
    assert_eq!(contact.validate(today).unwrap_err().field(), "date");
    let followup = FollowUp {
        client_id: Uuid::nil(),
        worker_id: None,
        due: d("2062-01-01"),
        reason: "visit".into(),
        rule: None,
        source_id: None,
        done_on: None,
        outcome: None,
    };
    assert_eq!(followup.validate(today).unwrap_err().field(), "due");
    let event = ServiceEvent {
        enrollment_id: Uuid::nil(),
        client_id: Uuid::nil(),
        date: today,
        kind: ServiceEventKind::DoseChange,
        days_supplied: None,
        dose_mg: Some(f64::INFINITY),
        cause: None,
        notes: None,
    };
    assert_eq!(event.validate(today).unwrap_err().field(), "dose_mg");
}

#[test]
fn date_arithmetic_on_stored_values_never_panics() {
    use tether::continuity::*;
    let t = Thresholds::default();
    let day = d(TODAY);
    for days in [i64::MAX, i64::MIN, 1_000_000_000_000, -1_000_000_000_000] {
        let _ = art_cover(day, Some(days), &t);
        let _ = refill_cover_end(day, Some(days), &t);
        let _ = art_status(Some((day, Some(days))), day, &t);
        assert!(!tether::reports::period::art_interrupted(
            day,
            Some(days.max(0)),
            None,
            (day, day)
        ));
    }
    assert_eq!(add_days(day, i64::MAX), NaiveDate::MAX);
    assert_eq!(add_days(day, i64::MIN), NaiveDate::MIN);
    assert_eq!(add_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    assert_eq!(add_days(day, 1), d("2026-06-16"));
    let huge = Thresholds {
        release_window_days: i64::MAX,
        lost_after_days: i64::MAX,
        relink_days: i64::MAX,
        ..t
    };
    let empty = History::default();
    let _ = relinkage(&empty, day, &huge);
}
