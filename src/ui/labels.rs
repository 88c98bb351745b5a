//! Words for the closed lists of the domain, in the UI language.

use super::i18n::{t, tf};
use crate::domain::*;
use crate::store::RecordLabel;

/// A closed-list value that has a label for people.
pub trait Labelled: Copy + PartialEq + 'static {
    fn label(self) -> &'static str;
    fn all() -> &'static [Self];
}

macro_rules! labels {
    ($ty:ident { $($v:ident => $text:literal),+ $(,)? }) => {
        impl Labelled for $ty {
            fn label(self) -> &'static str {
                match self { $($ty::$v => t($text)),+ }
            }
            fn all() -> &'static [Self] { $ty::ALL }
        }
    };
}

labels!(Role { Outreach => "Outreach worker", Coordinator => "Coordinator", Manager => "Program manager", Admin => "Admin" });
labels!(Sex { Male => "Male", Female => "Female", Other => "Other", Unknown => "Unknown" });
labels!(HivStatus { Positive => "HIV positive", Negative => "HIV negative", Unknown => "HIV status unknown" });
labels!(CaseStatus { Active => "Active", LostToFollowUp => "Lost to follow-up", Moved => "Moved", Deceased => "Deceased", Exited => "Exited" });
labels!(ContactKind { Street => "Street outreach", DropIn => "Drop-in centre", Home => "Home visit", Phone => "Phone", DetentionVisit => "Detention visit", Legal => "Court / legal support", Clinic => "Clinic accompaniment" });
labels!(HivTest { None => "No test", Offered => "Test offered", Done => "Test done" });
labels!(HivResult { Positive => "Positive", Negative => "Negative", Indeterminate => "Indeterminate" });
labels!(Referral { Methadone => "Methadone", Art => "ART", Tb => "TB", Hcv => "Hepatitis C", LegalAid => "Legal aid", Shelter => "Shelter" });
labels!(Authority { NationalPolice => "National police", AntiDrugPolice => "Anti-drug police", MilitaryPolice => "Military police", CommunePolice => "Commune police", Other => "Other authority", Unknown => "Unknown authority" });
labels!(ArrestReason { Use => "Drug use", Possession => "Possession", Trafficking => "Trafficking", Equipment => "Injecting equipment found", Sweep => "Sweep", Unknown => "Reason unknown" });
labels!(Abuse { Extortion => "Extortion", Violence => "Violence", Threats => "Threats", MedicationConfiscated => "Medication confiscated" });
labels!(ArrestOutcome { Released => "Released without charge", ReleasedAfterPayment => "Released after payment", TreatmentCentre => "Compulsory treatment centre", PreTrial => "Pre-trial detention", Convicted => "Convicted", Unknown => "Outcome unknown" });
labels!(LocationKind { PoliceStation => "Police station", Prison => "Prison", TreatmentCentre => "Compulsory treatment centre", SocialAffairsCentre => "Social affairs centre", Other => "Other place" });
labels!(Availability { Yes => "Available", No => "Not available", Unknown => "Not known" });
labels!(NgoAccess { Allowed => "Access allowed", Restricted => "Access restricted", None => "No access", Unknown => "Access unknown" });
labels!(DetentionBasis { PoliceCustody => "Police custody", PreTrial => "Pre-trial", Sentenced => "Sentenced", CompulsoryTreatment => "Compulsory treatment", Administrative => "Administrative" });
labels!(ReleaseReason { Released => "Released", Bail => "Bail", SentenceCompleted => "Sentence completed", Transferred => "Transferred", Escaped => "Escaped", Died => "Died", Unknown => "Reason unknown" });
labels!(RemovalReason { EnteredInError => "Entered in error", Duplicate => "Duplicate", WrongClient => "Wrong client" });
labels!(Service { Methadone => "Methadone", Art => "ART", Prep => "PrEP", Tb => "TB treatment", Hcv => "Hepatitis C treatment" });
labels!(EnrollmentStatus { Active => "Active", Interrupted => "Interrupted", Completed => "Completed", TransferredOut => "Transferred out", Stopped => "Stopped" });
labels!(ServiceEventKind { Dose => "Dose observed", Refill => "Refill dispensed", Missed => "Missed dose", Interruption => "Interruption started", Resumed => "Resumed", DoseChange => "Dose changed" });
labels!(InterruptionCause { Detention => "Detention", StockOut => "Stock-out", ClinicClosed => "Clinic closed", ClientChoice => "Client's choice", Unknown => "Cause unknown" });
labels!(KeyPopulation { Pwid => "Injects drugs", Pwud => "Uses drugs (not injecting)", SexWorker => "Sex worker", Msm => "MSM", Transgender => "Transgender" });
labels!(Substance { Heroin => "Heroin", Methamphetamine => "Methamphetamine (ice)", Yama => "Yama pills", Cannabis => "Cannabis", Inhalants => "Inhalants", Other => "Other substance" });

/// Every label of every closed list, in the current language (for the
/// translation-completeness test).
pub fn all_labels() -> Vec<&'static str> {
    fn of<T: Labelled>(out: &mut Vec<&'static str>) {
        out.extend(T::all().iter().map(|v| v.label()));
    }
    let mut out = Vec::new();
    of::<Role>(&mut out);
    of::<Sex>(&mut out);
    of::<HivStatus>(&mut out);
    of::<CaseStatus>(&mut out);
    of::<ContactKind>(&mut out);
    of::<HivTest>(&mut out);
    of::<HivResult>(&mut out);
    of::<Referral>(&mut out);
    of::<Authority>(&mut out);
    of::<ArrestReason>(&mut out);
    of::<Abuse>(&mut out);
    of::<ArrestOutcome>(&mut out);
    of::<LocationKind>(&mut out);
    of::<Availability>(&mut out);
    of::<NgoAccess>(&mut out);
    of::<DetentionBasis>(&mut out);
    of::<ReleaseReason>(&mut out);
    of::<Service>(&mut out);
    of::<RemovalReason>(&mut out);
    of::<EnrollmentStatus>(&mut out);
    of::<ServiceEventKind>(&mut out);
    of::<InterruptionCause>(&mut out);
    of::<KeyPopulation>(&mut out);
    of::<Substance>(&mut out);
    out
}

/// What a record is, in the UI language (the sync review's conflicts).
pub fn record_label(label: &RecordLabel) -> String {
    match label {
        RecordLabel::Client { code } => tf("client {code}", &[("code", code)]),
        RecordLabel::User { username } => tf("user {username}", &[("username", username)]),
        RecordLabel::Location { name } => tf("location {name}", &[("name", name)]),
        RecordLabel::Contact { client, date } => tf(
            "contact with {client} on {date}",
            &[("client", client), ("date", date)],
        ),
        RecordLabel::Arrest { client, date } => tf(
            "arrest of {client} on {date}",
            &[("client", client), ("date", date)],
        ),
        RecordLabel::Detention { client, from } => tf(
            "detention of {client} from {date}",
            &[("client", client), ("date", from)],
        ),
        RecordLabel::Enrollment { service, client } => tf(
            "{service} enrollment of {client}",
            &[
                ("service", &service.map_or(t("Enrollment"), |s| s.label())),
                ("client", client),
            ],
        ),
        RecordLabel::ServiceEvent { kind, client, date } => tf(
            "{event} of {client} on {date}",
            &[
                ("event", &kind.map_or(t("Event"), |k| k.label())),
                ("client", client),
                ("date", date),
            ],
        ),
        RecordLabel::FollowUp { client, due } => tf(
            "follow-up of {client} due {date}",
            &[("client", client), ("date", due)],
        ),
        RecordLabel::Other { table, id } => format!("{table} {id}"),
    }
}

/// A record column's name as the forms call it, in the UI language.
pub fn column_label(column: &str) -> String {
    let en = match column {
        "code" => "Client code",
        "nickname" => "Nickname",
        "name" => "Name",
        "sex" => "Sex",
        "gender" => "Gender",
        "birth_year" => "Birth year",
        "phone" => "Phone",
        "province" => "Province",
        "district" => "District",
        "commune" => "Commune",
        "key_populations" => "Key populations",
        "substances" => "Substances",
        "hiv_status" => "HIV status",
        "hiv_last_test" => "Last HIV test",
        "consent_date" => "Consent date",
        "consent_scope" => "Consent scope",
        "assigned_worker" => "Assigned worker",
        "status" => "Status",
        "registered_on" => "Registered on",
        "notes" => "Notes",
        "client_id" => "Client code",
        "date" => "Date",
        "worker_id" => "Worker",
        "kind" => "Kind",
        "place" => "Place",
        "needles_syringes" => "Needles and syringes",
        "condoms" => "Condoms",
        "naloxone" => "Naloxone",
        "hiv_test" => "HIV test",
        "hiv_result" => "HIV test result",
        "referrals" => "Referrals",
        "authority" => "Authority",
        "reasons" => "Reasons",
        "abuse" => "Abuse reported",
        "informer_suspected" => "Informer or set-up suspected",
        "legal_aid" => "Legal aid",
        "outcome" => "Outcome",
        "raid_id" => "Raid intake",
        "location_id" => "Location",
        "arrest_id" => "Arrest",
        "started_on" => "Start",
        "ended_on" => "End",
        "basis" => "Basis",
        "release_reason" => "Release reason",
        "service" => "Service",
        "provider" => "Provider",
        "number" => "Programme number",
        "regimen" => "Regimen",
        "enrollment_id" => "Enrollment",
        "days_supplied" => "Days supplied",
        "dose_mg" => "Dose (mg)",
        "cause" => "Cause",
        "due" => "Due",
        "reason" => "Reason",
        "done_on" => "Done on",
        "rule" => "Rule",
        "source_id" => "Source record",
        "methadone" => "Methadone",
        "art" => "ART",
        "ngo_access" => "NGO access",
        "contact" => "Contact",
        "last_verified" => "Last verified",
        "username" => "Username",
        "display_name" => "Display name",
        "role" => "Role",
        "active" => "Active",
        "language" => "Language",
        "deleted" => "Removed",
        other => return other.replace('_', " "),
    };
    t(en).to_owned()
}

/// A follow-up's reason in the UI language when a rule wrote it (the
/// rules save it in English, for exports and the other laptops); as
/// written otherwise, e.g. after someone has edited it.
pub fn followup_reason(text: &str) -> String {
    for &template in crate::continuity::RULE_REASONS {
        if let Some(values) = crate::continuity::unfill(template, text) {
            let args: Vec<(&str, &dyn std::fmt::Display)> = values
                .iter()
                .map(|(name, value)| (name.as_str(), value as &dyn std::fmt::Display))
                .collect();
            return tf(template, &args);
        }
    }
    text.to_owned()
}

/// A record kind's name as the audit log writes it, in the UI language.
pub fn kind_label(kind: &str) -> String {
    let en = match kind {
        "client" => "Client",
        "contact" => "Contact",
        "arrest" => "Arrest",
        "location" => "Location",
        "detention" => "Detention",
        "enrollment" => "Enrollment",
        "service_event" => "Service event",
        "followup" => "Follow-up",
        "user" => "User",
        other => return other.replace('_', " "),
    };
    t(en).to_owned()
}
