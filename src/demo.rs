//! Realistic, deterministic demo data for Cambodia's crackdown context
//! (see shared/CONTEXT.md): a detention-location registry, outreach workers,
//! clients with Khmer and romanised nicknames, two years of contacts with a
//! crackdown wave from January, arrests, detentions with transfers, and
//! methadone and ART enrollments with refills, missed doses and
//! interruptions in detention.
//!
//! Each client is generated from the seed and its index alone
//! ([`generate_client`]), so any client can be generated again to check what
//! was written; clients are written in batches, each client with all its
//! records in the same transaction.

use crate::domain::*;
use crate::store::{Batch, Store, StoreError};
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Clients per transaction.
pub const BATCH_CLIENTS: usize = 500;

/// The registry every demo database starts with:
/// (name, kind, province, methadone, art, ngo access).
const REGISTRY: &[(
    &str,
    LocationKind,
    &str,
    Availability,
    Availability,
    NgoAccess,
)] = {
    use Availability::{No, Unknown as U, Yes};
    use LocationKind::*;
    use NgoAccess::{Allowed, None as NoAccess, Restricted, Unknown as UA};
    &[
        (
            "Prey Sar Correctional Centre 1 (CC1)",
            Prison,
            "Phnom Penh",
            Yes,
            Yes,
            Restricted,
        ),
        (
            "Prey Sar Correctional Centre 2 (CC2, women)",
            Prison,
            "Phnom Penh",
            No,
            Yes,
            Restricted,
        ),
        (
            "Prey Speu social affairs centre",
            SocialAffairsCentre,
            "Phnom Penh",
            No,
            No,
            Restricted,
        ),
        (
            "Orgkas Khnhom youth rehabilitation centre",
            TreatmentCentre,
            "Phnom Penh",
            No,
            U,
            NoAccess,
        ),
        (
            "Daun Penh district police station",
            PoliceStation,
            "Phnom Penh",
            No,
            U,
            Allowed,
        ),
        (
            "Meanchey district police station",
            PoliceStation,
            "Phnom Penh",
            No,
            U,
            Allowed,
        ),
        (
            "Tuol Kork district police station",
            PoliceStation,
            "Phnom Penh",
            No,
            U,
            Restricted,
        ),
        (
            "Chbar Ampov district police station",
            PoliceStation,
            "Phnom Penh",
            No,
            U,
            Restricted,
        ),
        (
            "Sen Sok district police station",
            PoliceStation,
            "Phnom Penh",
            No,
            U,
            UA,
        ),
        (
            "Phnom Penh municipal anti-drug police office",
            PoliceStation,
            "Phnom Penh",
            No,
            No,
            NoAccess,
        ),
        (
            "Poipet city police station",
            PoliceStation,
            "Banteay Meanchey",
            No,
            U,
            UA,
        ),
        (
            "Serei Saophoan police station",
            PoliceStation,
            "Banteay Meanchey",
            No,
            U,
            UA,
        ),
        (
            "Banteay Meanchey provincial prison",
            Prison,
            "Banteay Meanchey",
            No,
            Yes,
            Restricted,
        ),
        (
            "Banteay Meanchey drug rehabilitation centre",
            TreatmentCentre,
            "Banteay Meanchey",
            No,
            U,
            NoAccess,
        ),
        (
            "Battambang city police station",
            PoliceStation,
            "Battambang",
            No,
            U,
            Allowed,
        ),
        (
            "Battambang provincial prison",
            Prison,
            "Battambang",
            U,
            Yes,
            Restricted,
        ),
        (
            "Battambang drug rehabilitation centre",
            TreatmentCentre,
            "Battambang",
            No,
            U,
            UA,
        ),
        (
            "Sihanoukville city police station",
            PoliceStation,
            "Preah Sihanouk",
            No,
            U,
            UA,
        ),
        (
            "Preah Sihanouk provincial prison",
            Prison,
            "Preah Sihanouk",
            U,
            U,
            Restricted,
        ),
        (
            "National drug treatment and rehabilitation centre (Preah Sihanouk)",
            TreatmentCentre,
            "Preah Sihanouk",
            U,
            U,
            Restricted,
        ),
        (
            "Siem Reap city police station",
            PoliceStation,
            "Siem Reap",
            No,
            U,
            UA,
        ),
        (
            "Siem Reap provincial prison",
            Prison,
            "Siem Reap",
            No,
            Yes,
            UA,
        ),
        (
            "Ta Khmau police station",
            PoliceStation,
            "Kandal",
            No,
            U,
            UA,
        ),
        ("Kandal provincial prison", Prison, "Kandal", U, U, UA),
        (
            "Correctional Centre 3 (Kampong Cham)",
            Prison,
            "Kampong Cham",
            No,
            Yes,
            Restricted,
        ),
        (
            "Koh Kong drug rehabilitation centre",
            TreatmentCentre,
            "Koh Kong",
            No,
            No,
            NoAccess,
        ),
    ]
};

/// Provinces, their code prefix and weight (heavy enforcement weighted up).
const PROVINCES: &[(&str, &str, u32)] = &[
    ("Phnom Penh", "PP", 40),
    ("Banteay Meanchey", "BMC", 14),
    ("Battambang", "BTB", 12),
    ("Preah Sihanouk", "SHV", 11),
    ("Siem Reap", "SRP", 8),
    ("Kandal", "KDL", 8),
    ("Kampong Cham", "KCM", 4),
    ("Koh Kong", "KKG", 3),
];

const DISTRICTS: &[(&str, &[&str])] = &[
    (
        "Phnom Penh",
        &[
            "Daun Penh",
            "Meanchey",
            "Tuol Kork",
            "Chbar Ampov",
            "Sen Sok",
            "Russey Keo",
            "Chamkar Mon",
            "Por Senchey",
        ],
    ),
    ("Banteay Meanchey", &["Poipet", "Serei Saophoan", "Malai"]),
    ("Battambang", &["Battambang", "Sangkae", "Moung Ruessei"]),
    ("Preah Sihanouk", &["Sihanoukville", "Prey Nob"]),
    ("Siem Reap", &["Siem Reap", "Puok"]),
    ("Kandal", &["Ta Khmau", "Kien Svay", "Ang Snuol"]),
    ("Kampong Cham", &["Kampong Cham", "Cheung Prey"]),
    ("Koh Kong", &["Khemarak Phoumin", "Mondol Seima"]),
];

const NICKNAMES_KM: &[&str] = &[
    "សុខា",
    "ដារ៉ា",
    "វណ្ណា",
    "សុភា",
    "ចាន់ធី",
    "រតនា",
    "ពិសី",
    "សំណាង",
    "បូរ៉ា",
    "ស្រីនាង",
    "វិបុល",
    "កុសល",
    "រិទ្ធី",
    "ពិសិដ្ឋ",
    "មករា",
    "ចិន្តា",
    "ធីតា",
    "ស្រីមុំ",
    "វិសាល",
    "គីមសាន",
    "ខ្មៅ",
    "តូច",
    "អាពៅ",
    "ស្រីពៅ",
];
const NICKNAMES_LATIN: &[&str] = &[
    "Sokha",
    "Dara",
    "Vanna",
    "Sophea",
    "Chanthy",
    "Ratana",
    "Pisey",
    "Samnang",
    "Bora",
    "Srey Neang",
    "Vibol",
    "Kosal",
    "Rithy",
    "Piseth",
    "Makara",
    "Chenda",
    "Thida",
    "Sreymom",
    "Visal",
    "Kimsan",
    "Khmao",
    "Touch",
    "A Pov",
    "Srey Pov",
    "Nak",
    "Mab",
    "Ah Lek",
    "Bong Thom",
];
const FAMILY_KM: &[&str] = &[
    "សុខ",
    "ចាន់",
    "គីម",
    "ហេង",
    "លីម",
    "លី",
    "មាស",
    "ជា",
    "កែវ",
    "ប្រាក់",
    "ញឹម",
    "ទូច",
];
const FAMILY_LATIN: &[&str] = &[
    "Sok", "Chan", "Kim", "Heng", "Lim", "Ly", "Meas", "Chea", "Keo", "Prak", "Nhem", "Touch",
    "Sam", "Ouk", "Phan",
];
const GIVEN_KM: &[&str] = &[
    "សុភាព",
    "វណ្ណៈ",
    "ដារ៉ា",
    "ស្រីលក្ខណ៍",
    "សុខុម",
    "ពិសី",
    "បុប្ផា",
    "វិចិត្រ",
    "រដ្ឋា",
    "សុផល",
];
const GIVEN_LATIN: &[&str] = &[
    "Sopheap", "Vannak", "Dara", "Sreyleak", "Sokhom", "Pisey", "Bopha", "Vichet", "Ratha",
    "Sophal", "Chantrea", "Kimheng",
];
const PHONE_PREFIXES: &[&str] = &[
    "012", "015", "016", "017", "077", "078", "089", "092", "096", "097", "098", "070",
];

/// Outreach workers and office staff the demo assigns work to:
/// (username, display name, role, province).
const STAFF: &[(&str, &str, Role, &str)] = &[
    ("sokha.ou", "Ou Sokha", Role::Outreach, "Phnom Penh"),
    ("dara.chea", "Chea Dara", Role::Outreach, "Phnom Penh"),
    ("pisey.lim", "Lim Pisey", Role::Outreach, "Phnom Penh"),
    ("vibol.keo", "Keo Vibol", Role::Outreach, "Phnom Penh"),
    ("ratha.sam", "Sam Ratha", Role::Outreach, "Banteay Meanchey"),
    ("chenda.ly", "Ly Chenda", Role::Outreach, "Banteay Meanchey"),
    ("kosal.heng", "Heng Kosal", Role::Outreach, "Battambang"),
    ("thida.prak", "Prak Thida", Role::Outreach, "Preah Sihanouk"),
    ("visal.meas", "Meas Visal", Role::Outreach, "Siem Reap"),
    ("makara.kim", "Kim Makara", Role::Outreach, "Kandal"),
    ("bopha.nhem", "Nhem Bopha", Role::Outreach, "Kampong Cham"),
    ("rithy.touch", "Touch Rithy", Role::Outreach, "Koh Kong"),
    (
        "sophal.chan",
        "Chan Sophal",
        Role::Coordinator,
        "Phnom Penh",
    ),
    ("vannak.sok", "Sok Vannak", Role::Manager, "Phnom Penh"),
];

const METHADONE_CLINIC: &str = "Khmer-Soviet Friendship Hospital MMT clinic";
const ART_PROVIDERS: &[&str] = &[
    "Khmer-Soviet Friendship Hospital ART clinic",
    "Calmette Hospital ART clinic",
    "Chhouk Sar clinic",
    "Battambang Referral Hospital ART clinic",
    "Poipet Referral Hospital ART clinic",
    "Sihanoukville Referral Hospital ART clinic",
];

/// The staff and registry ids the generated clients refer to.
#[derive(Debug, Clone)]
pub struct DemoContext {
    /// (user id, province) of outreach workers.
    pub workers: Vec<(Uuid, String)>,
    /// (location id, location).
    pub locations: Vec<(Uuid, Location)>,
}

/// What a demo run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    pub clients: usize,
    pub contacts: usize,
    pub arrests: usize,
    pub detentions: usize,
    pub enrollments: usize,
    pub service_events: usize,
}

/// Parameters of a demo run.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub clients: usize,
    pub seed: u64,
    /// The last day of the generated history (normally today).
    pub today: NaiveDate,
}

/// A deterministic UUID v7. Its time part is the generation order (the day
/// the data is generated for, plus one millisecond per client), so new ids
/// append to the end of every index instead of landing at random: that is
/// what keeps a 100,000-client run fast.
fn uuid_at(rng: &mut ChaCha8Rng, stamp_ms: u64) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    uuid::Builder::from_unix_timestamp_millis(stamp_ms, &bytes).into_uuid()
}

/// Milliseconds of midnight (UTC) of `day`.
fn day_ms(day: NaiveDate) -> u64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis().max(0) as u64)
        .unwrap_or(0)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if roll < *w {
            return *item;
        }
        roll -= w;
    }
    items[0].0
}

/// The first day of the crackdown wave: January of this year.
fn crackdown_start(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
}

/// Ensures the staff and the registry exist (created once, found by name
/// afterwards) and returns their ids.
pub fn prepare(store: &mut Store, seed: u64, today: NaiveDate) -> Result<DemoContext, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let mut batch = Batch::default();
    let mut workers = Vec::new();
    for (username, display, role, province) in STAFF {
        let id = match store.user_by_name(username)? {
            Some(u) => u.id(),
            None => {
                let id = uuid_at(&mut rng, day_ms(today));
                batch.users.push((
                    id,
                    User {
                        username: (*username).into(),
                        display_name: (*display).into(),
                        role: *role,
                        active: true,
                        language: "en".into(),
                    },
                ));
                id
            }
        };
        if *role == Role::Outreach {
            workers.push((id, (*province).to_owned()));
        }
    }
    let mut locations = Vec::new();
    for (i, (name, kind, province, methadone, art, access)) in REGISTRY.iter().enumerate() {
        let location = Location {
            name: (*name).into(),
            kind: *kind,
            province: Some((*province).into()),
            methadone: *methadone,
            art: *art,
            ngo_access: *access,
            contact: None,
            last_verified: Some(today - Duration::days(20 + 9 * i as i64)),
            notes: None,
        };
        match store.location_by_name(name)? {
            Some(saved) => locations.push((saved.id(), saved.data)),
            None => {
                let id = uuid_at(&mut rng, day_ms(today));
                batch.locations.push((id, location.clone()));
                locations.push((id, location));
            }
        }
    }
    if !batch.is_empty() {
        store.write_batch(&batch, "demo staff and registry")?;
    }
    Ok(DemoContext { workers, locations })
}

/// Generates client number `index` and everything about them, from the seed alone.
pub fn generate_client(seed: u64, index: u64, ctx: &DemoContext, today: NaiveDate) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let mut b = Batch::default();
    let stamp = day_ms(today) + 1 + index;
    let window_start = today - Duration::days(730);
    let crackdown = crackdown_start(today);

    let weights: Vec<(usize, u32)> = PROVINCES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.2))
        .collect();
    let (province, prefix, _) = PROVINCES[weighted(&mut rng, &weights)];
    let districts = DISTRICTS
        .iter()
        .find(|d| d.0 == province)
        .map(|d| d.1)
        .unwrap_or(&[]);
    let district = if districts.is_empty() {
        None
    } else {
        Some((*pick(&mut rng, districts)).to_owned())
    };
    let sex = weighted(
        &mut rng,
        &[
            (Sex::Male, 80),
            (Sex::Female, 16),
            (Sex::Other, 3),
            (Sex::Unknown, 1),
        ],
    );
    let injects = rng.random_bool(0.45);
    let mut key_populations = vec![if injects {
        KeyPopulation::Pwid
    } else {
        KeyPopulation::Pwud
    }];
    if sex == Sex::Female && rng.random_bool(0.3) {
        key_populations.push(KeyPopulation::SexWorker);
    }
    if sex == Sex::Male && rng.random_bool(0.07) {
        key_populations.push(KeyPopulation::Msm);
    }
    if sex == Sex::Other {
        key_populations.push(KeyPopulation::Transgender);
    }
    let mut substances = Vec::new();
    if injects {
        substances.push(Substance::Heroin);
        if rng.random_bool(0.4) {
            substances.push(Substance::Methamphetamine);
        }
    } else {
        substances.push(if rng.random_bool(0.65) {
            Substance::Methamphetamine
        } else {
            Substance::Yama
        });
        if rng.random_bool(0.25) {
            substances.push(Substance::Yama);
        }
        if rng.random_bool(0.08) {
            substances.push(Substance::Cannabis);
        }
        if rng.random_bool(0.03) {
            substances.push(Substance::Inhalants);
        }
    }
    substances.dedup();
    let hiv_positive = rng.random_bool(if injects { 0.24 } else { 0.05 });
    let hiv_status = if hiv_positive {
        HivStatus::Positive
    } else if rng.random_bool(0.6) {
        HivStatus::Negative
    } else {
        HivStatus::Unknown
    };

    // Registered somewhere in the two years, more of them early on.
    let reg_offset = (rng.random::<f64>().powf(1.6) * 700.0) as i64;
    let registered = window_start + Duration::days(reg_offset);
    let khmer = rng.random_bool(0.5);
    let nickname = rng.random_bool(0.75).then(|| {
        if khmer {
            (*pick(&mut rng, NICKNAMES_KM)).to_owned()
        } else {
            (*pick(&mut rng, NICKNAMES_LATIN)).to_owned()
        }
    });
    let name = rng.random_bool(0.3).then(|| {
        if khmer {
            format!("{} {}", pick(&mut rng, FAMILY_KM), pick(&mut rng, GIVEN_KM))
        } else {
            format!(
                "{} {}",
                pick(&mut rng, FAMILY_LATIN),
                pick(&mut rng, GIVEN_LATIN)
            )
        }
    });
    let phone = rng.random_bool(0.4).then(|| {
        format!(
            "{} {:03} {:03}",
            pick(&mut rng, PHONE_PREFIXES),
            rng.random_range(0..1000),
            rng.random_range(0..1000)
        )
    });
    let local_workers: Vec<Uuid> = ctx
        .workers
        .iter()
        .filter(|w| w.1 == province)
        .map(|w| w.0)
        .collect();
    let worker = if local_workers.is_empty() {
        ctx.workers.first().map(|w| w.0)
    } else {
        Some(*pick(&mut rng, &local_workers))
    };
    let birth_year = rng
        .random_bool(0.95)
        .then(|| today.year() - rng.random_range(17..56));
    let client_id = uuid_at(&mut rng, stamp);
    let mut client = Client {
        code: format!("{prefix}-{:06}", index + 1),
        nickname,
        name,
        sex,
        gender: (sex == Sex::Other).then(|| "transgender woman".to_owned()),
        birth_year,
        phone,
        province: Some(province.to_owned()),
        district,
        commune: None,
        key_populations,
        substances: substances.clone(),
        hiv_status,
        hiv_last_test: None,
        consent_date: Some(registered),
        consent_scope: Some("services and case follow-up".into()),
        assigned_worker: worker,
        status: CaseStatus::Active,
        registered_on: Some(registered),
        notes: None,
    };

    // Arrests and detentions come first: contacts and services bend around them.
    let mut stays: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    let arrest_chance = |day: NaiveDate| if day >= crackdown { 0.17 } else { 0.03 };
    let mut cursor = registered;
    for _ in 0..3 {
        // One draw per period: before and during the crackdown.
        let (from, to, p) = if cursor < crackdown {
            (cursor, crackdown - Duration::days(1), arrest_chance(cursor))
        } else {
            (cursor, today, arrest_chance(cursor))
        };
        if from >= to {
            if cursor < crackdown {
                cursor = crackdown;
                continue;
            }
            break;
        }
        if !rng.random_bool(p) {
            if cursor < crackdown {
                cursor = crackdown;
                continue;
            }
            break;
        }
        let span = (to - from).num_days().max(1);
        // During the crackdown most arrests come in its first months.
        let offset = if from >= crackdown {
            (rng.random::<f64>().powf(2.2) * span as f64) as i64
        } else {
            rng.random_range(0..span)
        };
        let date = from + Duration::days(offset);
        let arrest_id = uuid_at(&mut rng, stamp);
        let outcome = weighted(
            &mut rng,
            &[
                (ArrestOutcome::Released, 22),
                (ArrestOutcome::ReleasedAfterPayment, 18),
                (ArrestOutcome::TreatmentCentre, 33),
                (ArrestOutcome::PreTrial, 20),
                (ArrestOutcome::Convicted, 4),
                (ArrestOutcome::Unknown, 3),
            ],
        );
        let mut reasons = vec![weighted(
            &mut rng,
            &[
                (ArrestReason::Use, 45),
                (ArrestReason::Possession, 30),
                (ArrestReason::Sweep, 18),
                (ArrestReason::Trafficking, 4),
                (ArrestReason::Unknown, 3),
            ],
        )];
        if injects && rng.random_bool(0.2) {
            reasons.push(ArrestReason::Equipment);
        }
        let mut abuse = Vec::new();
        for (kind, p) in [
            (Abuse::Extortion, 0.2),
            (Abuse::Threats, 0.15),
            (Abuse::Violence, 0.1),
            (Abuse::MedicationConfiscated, 0.05),
        ] {
            if rng.random_bool(p) {
                abuse.push(kind);
            }
        }
        b.arrests.push((
            arrest_id,
            Arrest {
                client_id,
                date,
                province: Some(province.to_owned()),
                district: client.district.clone(),
                place: Some(
                    pick(
                        &mut rng,
                        &[
                            "guesthouse raid",
                            "street sweep",
                            "hotspot under the bridge",
                            "market",
                            "home",
                            "checkpoint",
                        ],
                    )
                    .to_string(),
                ),
                authority: weighted(
                    &mut rng,
                    &[
                        (Authority::AntiDrugPolice, 45),
                        (Authority::NationalPolice, 28),
                        (Authority::CommunePolice, 15),
                        (Authority::MilitaryPolice, 5),
                        (Authority::Unknown, 7),
                    ],
                ),
                reasons,
                informer_suspected: rng.random_bool(0.45),
                abuse,
                legal_aid: rng.random_bool(0.15),
                outcome,
                raid_id: None,
                notes: None,
            },
        ));
        // Police custody, then a transfer for most outcomes.
        let local: Vec<&(Uuid, Location)> = ctx
            .locations
            .iter()
            .filter(|l| l.1.province.as_deref() == Some(province))
            .collect();
        let any: Vec<&(Uuid, Location)> = ctx.locations.iter().collect();
        let choose = |rng: &mut ChaCha8Rng, kind: LocationKind| -> Option<Uuid> {
            let local_kind: Vec<_> = local.iter().filter(|l| l.1.kind == kind).collect();
            if let Some(l) = (!local_kind.is_empty()).then(|| pick(rng, &local_kind)) {
                return Some(l.0);
            }
            let any_kind: Vec<_> = any.iter().filter(|l| l.1.kind == kind).collect();
            (!any_kind.is_empty()).then(|| pick(rng, &any_kind).0)
        };
        let custody_days = rng.random_range(1..5);
        let custody_end = date + Duration::days(custody_days);
        let Some(station) = choose(&mut rng, LocationKind::PoliceStation) else {
            break;
        };
        let next_place = match outcome {
            ArrestOutcome::TreatmentCentre => Some((
                if rng.random_bool(0.8) {
                    LocationKind::TreatmentCentre
                } else {
                    LocationKind::SocialAffairsCentre
                },
                DetentionBasis::CompulsoryTreatment,
                rng.random_range(60..365),
            )),
            ArrestOutcome::PreTrial => Some((
                LocationKind::Prison,
                DetentionBasis::PreTrial,
                rng.random_range(30..300),
            )),
            ArrestOutcome::Convicted => Some((
                LocationKind::Prison,
                DetentionBasis::Sentenced,
                rng.random_range(180..900),
            )),
            _ => None,
        };
        let close =
            |end: NaiveDate, reason: ReleaseReason| -> (Option<NaiveDate>, Option<ReleaseReason>) {
                if end > today {
                    (None, None)
                } else {
                    (Some(end), Some(reason))
                }
            };
        let (end1, reason1) = close(
            custody_end,
            if next_place.is_some() {
                ReleaseReason::Transferred
            } else {
                ReleaseReason::Released
            },
        );
        b.detentions.push((
            uuid_at(&mut rng, stamp),
            Detention {
                client_id,
                location_id: station,
                start: date,
                end: end1,
                basis: Some(DetentionBasis::PoliceCustody),
                arrest_id: Some(arrest_id),
                release_reason: reason1,
                notes: None,
            },
        ));
        stays.push((date, end1));
        let mut last_end = end1;
        if let (Some((kind, basis, days)), Some(start2)) = (next_place, end1) {
            let loc = if kind == LocationKind::SocialAffairsCentre {
                ctx.locations.iter().find(|l| l.1.kind == kind).map(|l| l.0)
            } else {
                choose(&mut rng, kind)
            };
            if let Some(loc) = loc {
                let end = start2 + Duration::days(days);
                let reason = weighted(
                    &mut rng,
                    &[
                        (ReleaseReason::Released, 70),
                        (ReleaseReason::SentenceCompleted, 15),
                        (ReleaseReason::Bail, 8),
                        (ReleaseReason::Escaped, 4),
                        (ReleaseReason::Unknown, 3),
                    ],
                );
                let (end2, reason2) = close(end, reason);
                b.detentions.push((
                    uuid_at(&mut rng, stamp),
                    Detention {
                        client_id,
                        location_id: loc,
                        start: start2,
                        end: end2,
                        basis: Some(basis),
                        arrest_id: Some(arrest_id),
                        release_reason: reason2,
                        notes: None,
                    },
                ));
                stays.push((start2, end2));
                last_end = end2;
            } else if let Some(last) = b.detentions.last_mut()
                && last.1.end.is_some()
            {
                // Nowhere to transfer to: released from police custody instead.
                last.1.release_reason = Some(ReleaseReason::Released);
            }
        }
        match last_end {
            Some(end) if end < today => cursor = end + Duration::days(rng.random_range(20..120)),
            _ => break,
        }
        if cursor >= today {
            break;
        }
    }
    let detained_on = |day: NaiveDate| {
        stays
            .iter()
            .any(|(s, e)| *s <= day && e.is_none_or(|e| e > day))
    };

    // Contacts: about ten per client over their time in the programme, fewer
    // during the crackdown (clients hide), none while detained except visits.
    let n_contacts = rng.random_range(1..20);
    let active_days = (today - registered).num_days().max(1);
    let lost = rng.random_bool(0.12);
    let last_possible = if lost {
        registered + Duration::days((active_days / 2).max(1))
    } else {
        today
    };
    let span = (last_possible - registered).num_days().max(1);
    let mut dates = Vec::with_capacity(n_contacts);
    dates.push(registered);
    let mut tries = 0;
    while dates.len() < n_contacts && tries < n_contacts * 4 {
        tries += 1;
        let day = registered + Duration::days(rng.random_range(0..=span));
        if day >= crackdown && !rng.random_bool(0.55) {
            continue;
        }
        dates.push(day);
    }
    dates.sort_unstable();
    for day in dates {
        let detained = detained_on(day);
        if detained && !rng.random_bool(0.3) {
            continue;
        }
        let kind = if detained {
            ContactKind::DetentionVisit
        } else {
            weighted(
                &mut rng,
                &[
                    (ContactKind::Street, 50),
                    (ContactKind::DropIn, 25),
                    (ContactKind::Phone, 10),
                    (ContactKind::Home, 5),
                    (ContactKind::Clinic, 7),
                    (ContactKind::Legal, 3),
                ],
            )
        };
        let mut contact = Contact::new(client_id, day, kind);
        contact.worker_id = if rng.random_bool(0.85) {
            worker
        } else {
            ctx.workers
                .get(rng.random_range(0..ctx.workers.len().max(1)))
                .map(|w| w.0)
        };
        if matches!(
            kind,
            ContactKind::Street | ContactKind::DropIn | ContactKind::Home
        ) {
            if injects {
                contact.needles_syringes = rng.random_range(5..31);
                if rng.random_bool(0.1) {
                    contact.naloxone = rng.random_range(1..3);
                }
            }
            contact.condoms = rng.random_range(0..11);
        }
        if !detained && rng.random_bool(0.1) {
            contact.hiv_test = HivTest::Done;
            contact.hiv_result = Some(if hiv_positive && day >= registered + Duration::days(30) {
                HivResult::Positive
            } else {
                HivResult::Negative
            });
            client.hiv_last_test = Some(day);
        } else if rng.random_bool(0.1) {
            contact.hiv_test = HivTest::Offered;
        }
        if rng.random_bool(0.1) {
            let referral = if injects && rng.random_bool(0.4) {
                Referral::Methadone
            } else if hiv_positive && rng.random_bool(0.5) {
                Referral::Art
            } else {
                *pick(
                    &mut rng,
                    &[
                        Referral::Tb,
                        Referral::Hcv,
                        Referral::LegalAid,
                        Referral::Shelter,
                    ],
                )
            };
            contact.referrals.push(referral);
        }
        if matches!(kind, ContactKind::Street | ContactKind::Home) {
            contact.place = client.district.clone();
        }
        let id = uuid_at(&mut rng, stamp);
        b.contacts.push((id, contact));
    }
    let last_contact = b.contacts.last().map(|c| c.1.date).unwrap_or(registered);
    if (today - last_contact).num_days() > 90 {
        client.status = CaseStatus::LostToFollowUp;
    }
    if rng.random_bool(0.01) {
        client.status = weighted(
            &mut rng,
            &[
                (CaseStatus::Moved, 50),
                (CaseStatus::Exited, 35),
                (CaseStatus::Deceased, 15),
            ],
        );
    }

    // Methadone for some who inject heroin (one clinic in Phnom Penh).
    if injects && province == "Phnom Penh" && rng.random_bool(0.18) {
        let start = registered + Duration::days(rng.random_range(14..120));
        if start < today {
            let enrollment_id = uuid_at(&mut rng, stamp);
            let mut dose = f64::from(rng.random_range(6..16u32) * 5);
            b.enrollments.push((
                enrollment_id,
                Enrollment {
                    client_id,
                    service: Service::Methadone,
                    provider: Some(METHADONE_CLINIC.into()),
                    number: Some(format!("MMT-{:05}", index + 1)),
                    start,
                    end: None,
                    status: EnrollmentStatus::Active,
                    dose_mg: Some(dose),
                    regimen: None,
                },
            ));
            // Daily observed doses for the last 45 days (earlier history stays
            // in the clinic's own register); missed days and detention gaps.
            let from = (today - Duration::days(45)).max(start);
            let mut day = from;
            let mut interrupted = false;
            while day <= today {
                if detained_on(day) {
                    if !interrupted {
                        b.service_events.push((
                            uuid_at(&mut rng, stamp),
                            ServiceEvent {
                                enrollment_id,
                                client_id,
                                date: day,
                                kind: ServiceEventKind::Interruption,
                                days_supplied: None,
                                dose_mg: None,
                                cause: Some(InterruptionCause::Detention),
                                notes: None,
                            },
                        ));
                        interrupted = true;
                    }
                } else if rng.random_bool(0.06) {
                    let gap = rng.random_range(1..6);
                    for g in 0..gap {
                        let d = day + Duration::days(g);
                        if d <= today && !detained_on(d) {
                            b.service_events.push((
                                uuid_at(&mut rng, stamp),
                                ServiceEvent {
                                    enrollment_id,
                                    client_id,
                                    date: d,
                                    kind: ServiceEventKind::Missed,
                                    days_supplied: None,
                                    dose_mg: None,
                                    cause: None,
                                    notes: None,
                                },
                            ));
                        }
                    }
                    day += Duration::days(gap - 1);
                } else {
                    if interrupted {
                        b.service_events.push((
                            uuid_at(&mut rng, stamp),
                            ServiceEvent {
                                enrollment_id,
                                client_id,
                                date: day,
                                kind: ServiceEventKind::Resumed,
                                days_supplied: None,
                                dose_mg: None,
                                cause: None,
                                notes: None,
                            },
                        ));
                        interrupted = false;
                    }
                    let kind = if rng.random_bool(0.01) {
                        dose += 5.0;
                        ServiceEventKind::DoseChange
                    } else {
                        ServiceEventKind::Dose
                    };
                    b.service_events.push((
                        uuid_at(&mut rng, stamp),
                        ServiceEvent {
                            enrollment_id,
                            client_id,
                            date: day,
                            kind,
                            days_supplied: None,
                            dose_mg: Some(dose),
                            cause: None,
                            notes: None,
                        },
                    ));
                }
                day += Duration::days(1);
            }
        }
    }

    // ART for most people living with HIV: refills of 30 to 90 days.
    if hiv_positive && rng.random_bool(0.7) {
        let start = registered + Duration::days(rng.random_range(0..60));
        if start < today {
            let enrollment_id = uuid_at(&mut rng, stamp);
            b.enrollments.push((
                enrollment_id,
                Enrollment {
                    client_id,
                    service: Service::Art,
                    provider: Some((*pick(&mut rng, ART_PROVIDERS)).into()),
                    number: Some(format!("ART-{:05}", index + 1)),
                    start,
                    end: None,
                    status: EnrollmentStatus::Active,
                    dose_mg: None,
                    regimen: Some("TLD".into()),
                },
            ));
            let mut day = start;
            while day <= today {
                if detained_on(day) {
                    // In detention only where ART is available; otherwise the cover runs out.
                    day += Duration::days(7);
                    continue;
                }
                let days = *pick(&mut rng, &[30i64, 30, 30, 60, 90]);
                b.service_events.push((
                    uuid_at(&mut rng, stamp),
                    ServiceEvent {
                        enrollment_id,
                        client_id,
                        date: day,
                        kind: ServiceEventKind::Refill,
                        days_supplied: Some(days),
                        dose_mg: None,
                        cause: None,
                        notes: None,
                    },
                ));
                // Most come back on time; some late.
                let late = if rng.random_bool(0.8) {
                    rng.random_range(-3..3)
                } else {
                    rng.random_range(3..40)
                };
                day += Duration::days((days + late).max(1));
            }
        }
    }

    // A few open follow-ups by hand.
    if rng.random_bool(0.05) {
        let due = today + Duration::days(rng.random_range(-10..14));
        b.followups.push((
            uuid_at(&mut rng, stamp),
            FollowUp {
                client_id,
                worker_id: worker,
                due,
                reason: (*pick(
                    &mut rng,
                    &[
                        "Bring HIV test result",
                        "Accompany to TB screening",
                        "Check on after release",
                        "Help with ID card for clinic",
                    ],
                ))
                .into(),
                rule: None,
                source_id: None,
                done_on: None,
                outcome: None,
            },
        ));
    }

    b.clients.push((client_id, client));
    b
}

fn merge(into: &mut Batch, from: Batch) {
    into.clients.extend(from.clients);
    into.contacts.extend(from.contacts);
    into.arrests.extend(from.arrests);
    into.detentions.extend(from.detentions);
    into.enrollments.extend(from.enrollments);
    into.service_events.extend(from.service_events);
    into.followups.extend(from.followups);
}

/// The index the next demo client gets: after every client already in the database.
pub fn first_index(store: &Store) -> Result<u64, StoreError> {
    store.client_rows_ever().map(|n| n as u64)
}

/// Generates and writes `config.clients` clients, `BATCH_CLIENTS` per
/// transaction; `progress(done, total)` is called after each batch.
pub fn run(
    store: &mut Store,
    config: &DemoConfig,
    progress: impl FnMut(usize, usize),
) -> Result<DemoSummary, StoreError> {
    store.with_bulk_cache(|store| generate(store, config, progress))
}

fn generate(
    store: &mut Store,
    config: &DemoConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<DemoSummary, StoreError> {
    let ctx = prepare(store, config.seed, config.today)?;
    let first = first_index(store)?;
    let mut summary = DemoSummary::default();
    let mut done = 0usize;
    while done < config.clients {
        let n = BATCH_CLIENTS.min(config.clients - done);
        let mut batch = Batch::default();
        for i in 0..n {
            merge(
                &mut batch,
                generate_client(config.seed, first + (done + i) as u64, &ctx, config.today),
            );
        }
        summary.clients += batch.clients.len();
        summary.contacts += batch.contacts.len();
        summary.arrests += batch.arrests.len();
        summary.detentions += batch.detentions.len();
        summary.enrollments += batch.enrollments.len();
        summary.service_events += batch.service_events.len();
        store.write_batch(&batch, "demo data")?;
        done += n;
        progress(done, config.clients);
    }
    // The follow-ups the continuity rules call for on the last day.
    store.sync_rule_followups(config.today)?;
    store.optimize();
    Ok(summary)
}
