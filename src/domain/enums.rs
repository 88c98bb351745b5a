//! Every closed list of the domain as an enum with a stable text form.
//!
//! The text form (`as_str`) is what the database, the import files and the
//! command line use; parsing is case-insensitive and tolerant of spaces.

/// Declares a closed list: an enum, its stable keys, and parsing.
macro_rules! closed_list {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable key used in the database and in files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            /// Parses a key, case-insensitive; spaces and dashes count as `_`.
            pub fn parse(text: &str) -> Option<Self> {
                let norm: String = text
                    .trim()
                    .chars()
                    .map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() })
                    .collect();
                match norm.as_str() {
                    $($key => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::domain::ValidationError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text).ok_or_else(|| crate::domain::ValidationError::InvalidValue {
                    field: stringify!($name),
                    value: text.to_owned(),
                    allowed: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    };
}

closed_list!(
    /// What a user may do; enforced by the store.
    Role { Outreach => "outreach", Coordinator => "coordinator", Manager => "manager", Admin => "admin" }
);
closed_list!(Sex { Male => "male", Female => "female", Other => "other", Unknown => "unknown" });
closed_list!(
    /// Key populations a client belongs to.
    KeyPopulation { Pwid => "pwid", Pwud => "pwud", SexWorker => "sex_worker", Msm => "msm", Transgender => "transgender" }
);
closed_list!(Substance { Heroin => "heroin", Methamphetamine => "methamphetamine", Yama => "yama", Cannabis => "cannabis", Inhalants => "inhalants", Other => "other" });
closed_list!(HivStatus { Positive => "positive", Negative => "negative", Unknown => "unknown" });
closed_list!(
    /// A client's case status. "Detained" is derived, never typed in.
    CaseStatus { Active => "active", LostToFollowUp => "lost_to_follow_up", Moved => "moved", Deceased => "deceased", Exited => "exited" }
);

impl CaseStatus {
    /// The statuses a worker records. "Lost to follow-up" is derived from
    /// the contacts (`continuity::case_status`); a stored one, from data
    /// written before it was derived, is read as active.
    pub const RECORDED: &'static [CaseStatus] = &[
        CaseStatus::Active,
        CaseStatus::Moved,
        CaseStatus::Deceased,
        CaseStatus::Exited,
    ];

    /// Whether the case is open: not moved, deceased or exited.
    pub fn is_open(self) -> bool {
        matches!(self, CaseStatus::Active | CaseStatus::LostToFollowUp)
    }
}
closed_list!(ContactKind { Street => "street", DropIn => "drop_in", Home => "home", Phone => "phone", DetentionVisit => "detention_visit", Legal => "legal", Clinic => "clinic" });
closed_list!(HivTest { None => "none", Offered => "offered", Done => "done" });
closed_list!(HivResult { Positive => "positive", Negative => "negative", Indeterminate => "indeterminate" });
closed_list!(Referral { Methadone => "methadone", Art => "art", Tb => "tb", Hcv => "hcv", LegalAid => "legal_aid", Shelter => "shelter" });
closed_list!(Authority { NationalPolice => "national_police", AntiDrugPolice => "anti_drug_police", MilitaryPolice => "military_police", CommunePolice => "commune_police", Other => "other", Unknown => "unknown" });
closed_list!(ArrestReason { Use => "use", Possession => "possession", Trafficking => "trafficking", Equipment => "equipment", Sweep => "sweep", Unknown => "unknown" });
closed_list!(Abuse { Extortion => "extortion", Violence => "violence", Threats => "threats", MedicationConfiscated => "medication_confiscated" });
closed_list!(ArrestOutcome { Released => "released", ReleasedAfterPayment => "released_after_payment", TreatmentCentre => "treatment_centre", PreTrial => "pre_trial", Convicted => "convicted", Unknown => "unknown" });
closed_list!(LocationKind { PoliceStation => "police_station", Prison => "prison", TreatmentCentre => "treatment_centre", SocialAffairsCentre => "social_affairs_centre", Other => "other" });
closed_list!(
    /// Whether a service is available at a detention location.
    Availability { Yes => "yes", No => "no", Unknown => "unknown" }
);
closed_list!(NgoAccess { Allowed => "allowed", Restricted => "restricted", None => "none", Unknown => "unknown" });
closed_list!(DetentionBasis { PoliceCustody => "police_custody", PreTrial => "pre_trial", Sentenced => "sentenced", CompulsoryTreatment => "compulsory_treatment", Administrative => "administrative" });
closed_list!(ReleaseReason { Released => "released", Bail => "bail", SentenceCompleted => "sentence_completed", Transferred => "transferred", Escaped => "escaped", Died => "died", Unknown => "unknown" });
closed_list!(Service { Methadone => "methadone", Art => "art", Prep => "prep", Tb => "tb", Hcv => "hcv" });
closed_list!(EnrollmentStatus { Active => "active", Interrupted => "interrupted", Completed => "completed", TransferredOut => "transferred_out", Stopped => "stopped" });
closed_list!(
    /// Why a record is removed: kept in the audit log with its tombstone.
    RemovalReason { EnteredInError => "entered_in_error", Duplicate => "duplicate", WrongClient => "wrong_client" }
);
closed_list!(ServiceEventKind { Dose => "dose", Refill => "refill", Missed => "missed", Interruption => "interruption", Resumed => "resumed", DoseChange => "dose_change" });
closed_list!(InterruptionCause { Detention => "detention", StockOut => "stock_out", ClinicClosed => "clinic_closed", ClientChoice => "client_choice", Unknown => "unknown" });
closed_list!(
    /// What an audit entry records.
    AuditAction { Create => "create", Update => "update", Delete => "delete", Export => "export", Import => "import", Sync => "sync", Login => "login", FailedLogin => "failed_login", Lock => "lock", Backup => "backup", Restore => "restore" }
);

impl ReleaseReason {
    /// A release in the sense of the reports: the person left detention alive
    /// and was not moved to another place of detention.
    pub fn is_release(self) -> bool {
        !matches!(self, ReleaseReason::Transferred | ReleaseReason::Died)
    }
}

/// Joins a list of closed values with `;`, the form used in files and the database.
pub fn join_list<T: Copy>(items: &[T], key: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| key(*i)).collect::<Vec<_>>().join(";")
}

/// Parses a `;`-separated list, ignoring empty items and duplicates.
pub fn parse_list<T: PartialEq + Copy>(
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let value = parse(part).ok_or_else(|| part.to_owned())?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}
