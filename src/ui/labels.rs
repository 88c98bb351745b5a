//! Words for the closed lists of the domain, in the UI language.

use super::i18n::t;
use crate::domain::*;

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
