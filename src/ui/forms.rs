//! Record forms. Each parses its text fields and runs the domain's own
//! validation as the user types; errors show next to their field, Save is
//! disabled while anything is wrong, Enter saves and Escape cancels.

use super::i18n::t;
use super::labels::{Labelled, followup_reason};
use super::widgets::*;
use crate::domain::*;
use chrono::NaiveDate;
use uuid::Uuid;

/// Problems by field name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Errors(pub Vec<(&'static str, String)>);

/// What the store said when a save failed: its words, and the field they
/// are about when the store knows it (a duplicate code, an overlapping
/// stay), so that a form shows them beside that field.
#[derive(Debug, Clone, PartialEq)]
pub struct SaveError {
    pub field: Option<&'static str>,
    pub message: String,
}

impl SaveError {
    pub fn from_store(e: &crate::store::StoreError) -> Self {
        SaveError {
            field: match e {
                crate::store::StoreError::Invalid(v) => Some(v.field()),
                _ => None,
            },
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A save's outcome as screens hear it.
pub type SaveResult = Result<(), SaveError>;

impl Errors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }
    fn add(&mut self, field: &'static str, msg: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, msg.into()));
        }
    }
    fn domain(&mut self, problems: Vec<ValidationError>) {
        for p in problems {
            self.add(p.field(), p.to_string());
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What forms need to know that is not theirs.
#[derive(Debug, Clone, Default)]
pub struct FormCtx {
    pub today: NaiveDate,
    /// (id, name) of live detention locations.
    pub locations: Vec<(Uuid, String)>,
    /// (id, display name) of active users.
    pub workers: Vec<(Uuid, String)>,
    /// (id, service, start) of the client's enrollments.
    pub enrollments: Vec<(Uuid, Service, NaiveDate)>,
    /// Whom the form is about (a client code), shown under its title.
    pub subject: String,
}

/// What a form asks for after a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    Editing,
    Cancel,
    Save(T),
}

/// A form over one kind of value.
pub trait Form {
    type Output;
    fn title(&self) -> &'static str;
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, errors: &Errors);
    fn build(&self, ctx: &FormCtx) -> Result<Self::Output, Errors>;
}

/// Shows a form in a modal window. `save_error` is what the store said
/// about the last attempt (overlaps, duplicates), shown above the buttons.
pub fn show<F: Form>(
    ui: &mut egui::Ui,
    form: &mut F,
    ctx: &FormCtx,
    save_error: Option<&SaveError>,
) -> Outcome<F::Output> {
    let built = form.build(ctx);
    let mut errors = built.as_ref().err().cloned().unwrap_or_default();
    // The store's refusal beside its field, when the form has that field
    // and nothing else is said there; otherwise below the form.
    let mut below = save_error.map(|e| e.message.as_str());
    if let Some(SaveError {
        field: Some(field),
        message,
    }) = save_error
        && errors.get(field).is_none()
    {
        errors.0.push((field, message.clone()));
        below = None;
    }
    let mut outcome = Outcome::Editing;
    egui::Modal::new(egui::Id::unique(("form", form.title()))).show(ui.ctx(), |ui| {
        ui.set_min_width(520.0);
        ui.horizontal(|ui| {
            ui.heading(form.title());
            if !ctx.subject.is_empty() {
                ui.heading(egui::RichText::new(&ctx.subject).strong());
            }
        });
        ui.add_space(6.0);
        egui::ScrollArea::vertical()
            .max_height(520.0)
            .show(ui, |ui| {
                egui::Grid::new(("form_grid", form.title()))
                    .num_columns(2)
                    .spacing([12.0, 6.0])
                    .show(ui, |ui| {
                        form.fields(ui, ctx, &errors);
                    });
            });
        ui.add_space(6.0);
        error_text(ui, below);
        ui.horizontal(|ui| {
            let save = ui.add_enabled(built.is_ok(), egui::Button::new(t("Save")));
            if save.clicked() {
                outcome = Outcome::Save(());
            }
            if ui.button(t("Cancel")).clicked() {
                outcome = Outcome::Cancel;
            }
            if built.is_err() {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    t("Fix the fields marked in red to save."),
                );
            }
        });
    });
    let (enter, escape) = ui.input(|i| {
        (
            i.key_pressed(egui::Key::Enter),
            i.key_pressed(egui::Key::Escape),
        )
    });
    // Escape cancels; a click outside the form does not (it would lose typing).
    if escape {
        return Outcome::Cancel;
    }
    match (outcome, built) {
        (Outcome::Cancel, _) => Outcome::Cancel,
        (Outcome::Save(()), Ok(v)) => Outcome::Save(v),
        (Outcome::Editing, Ok(v)) if enter => Outcome::Save(v),
        _ => Outcome::Editing,
    }
}

/// A form that may be open over a screen, with what the store said about
/// the last attempt to save it.
pub struct Dialog<F> {
    pub form: Option<F>,
    pub error: Option<SaveError>,
}

impl<F> Default for Dialog<F> {
    fn default() -> Self {
        Dialog {
            form: None,
            error: None,
        }
    }
}

impl<F: Form> Dialog<F> {
    pub fn open(&mut self, form: F) {
        self.form = Some(form);
        self.error = None;
    }

    pub fn is_open(&self) -> bool {
        self.form.is_some()
    }

    /// Closes the form when the save went through; keeps it open with the
    /// store's message when it did not.
    pub fn after_save(&mut self, result: &SaveResult) {
        match result {
            Ok(()) => {
                self.form = None;
                self.error = None;
            }
            Err(e) => self.error = Some(e.clone()),
        }
    }

    /// Shows the form if it is open; returns the value when the user saves.
    pub fn show(&mut self, ui: &mut egui::Ui, ctx: &FormCtx) -> Option<F::Output> {
        let form = self.form.as_mut()?;
        match show(ui, form, ctx, self.error.as_ref()) {
            Outcome::Editing => None,
            Outcome::Cancel => {
                self.form = None;
                self.error = None;
                None
            }
            Outcome::Save(value) => Some(value),
        }
    }
}

fn opt_text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn pick_row(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<Uuid>,
    options: &[(Uuid, String)],
    error: Option<&str>,
) {
    let id = field_label(ui, label);
    ui.horizontal(|ui| {
        let current = value
            .and_then(|v| options.iter().find(|o| o.0 == v))
            .map(|o| o.1.as_str())
            .unwrap_or("—");
        egui::ComboBox::from_id_salt(id)
            .selected_text(current)
            .width(320.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(value, None, "—");
                for (oid, name) in options {
                    ui.selectable_value(value, Some(*oid), name);
                }
            })
            .response
            .labelled_by(id);
        error_text(ui, error);
    });
    ui.end_row();
}

// ---------------------------------------------------------------- contact

/// Log a contact: built for speed by keyboard.
#[derive(Debug, Clone)]
pub struct ContactForm {
    pub client_id: Uuid,
    pub date: String,
    pub kind: ContactKind,
    pub worker: Option<Uuid>,
    pub needles: String,
    pub condoms: String,
    pub naloxone: String,
    pub hiv_test: HivTest,
    pub hiv_result: Option<HivResult>,
    pub referrals: Vec<Referral>,
    pub place: String,
    pub notes: String,
    /// Focus the first count field on the first frame.
    pub focus_pending: bool,
    /// The contact being corrected (None: a new one).
    pub editing: Option<Uuid>,
}

impl ContactForm {
    /// The form filled in with a saved contact, to correct it.
    pub fn correcting(id: Uuid, c: &Contact) -> Self {
        let count = |n: i64| if n == 0 { String::new() } else { n.to_string() };
        ContactForm {
            client_id: c.client_id,
            date: c.date.to_string(),
            kind: c.kind,
            worker: c.worker_id,
            needles: count(c.needles_syringes),
            condoms: count(c.condoms),
            naloxone: count(c.naloxone),
            hiv_test: c.hiv_test,
            hiv_result: c.hiv_result,
            referrals: c.referrals.clone(),
            place: c.place.clone().unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
            focus_pending: true,
            editing: Some(id),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, worker: Option<Uuid>) -> Self {
        ContactForm {
            client_id,
            date: today.to_string(),
            kind: ContactKind::Street,
            worker,
            needles: String::new(),
            condoms: String::new(),
            naloxone: String::new(),
            hiv_test: HivTest::None,
            hiv_result: None,
            referrals: Vec::new(),
            place: String::new(),
            notes: String::new(),
            focus_pending: true,
            editing: None,
        }
    }
}

impl Form for ContactForm {
    type Output = Contact;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct contact")
        } else {
            t("Log contact")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        field_label(ui, t("Kind"));
        ui.vertical(|ui| {
            for row in ContactKind::ALL.chunks(4) {
                ui.horizontal(|ui| {
                    for k in row {
                        ui.selectable_value(&mut self.kind, *k, k.label());
                    }
                });
            }
        });
        ui.end_row();
        pick_row(ui, t("Worker"), &mut self.worker, &ctx.workers, None);
        let needles = text_row(
            ui,
            t("Needles and syringes"),
            &mut self.needles,
            e.get("needles_syringes"),
        );
        if self.focus_pending {
            needles.request_focus();
            self.focus_pending = false;
        }
        text_row(ui, t("Condoms"), &mut self.condoms, e.get("condoms"));
        text_row(ui, t("Naloxone"), &mut self.naloxone, e.get("naloxone"));
        choice_row(ui, t("HIV test"), &mut self.hiv_test);
        if self.hiv_test == HivTest::Done {
            opt_choice_row(ui, t("HIV test result"), &mut self.hiv_result);
        }
        error_text(ui, e.get("hiv_result"));
        multi_row(ui, t("Referrals"), &mut self.referrals);
        text_row(ui, t("Place"), &mut self.place, None);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Contact, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        let count = |e: &mut Errors, field: &'static str, text: &str| {
            parse_count(text).map_err(|m| e.add(field, m)).unwrap_or(0)
        };
        let needles = count(&mut e, "needles_syringes", &self.needles);
        let condoms = count(&mut e, "condoms", &self.condoms);
        let naloxone = count(&mut e, "naloxone", &self.naloxone);
        let Some(date) = date else { return Err(e) };
        let mut c = Contact::new(self.client_id, date, self.kind);
        c.worker_id = self.worker;
        c.needles_syringes = needles;
        c.condoms = condoms;
        c.naloxone = naloxone;
        c.hiv_test = self.hiv_test;
        c.hiv_result = if self.hiv_test == HivTest::Done {
            self.hiv_result
        } else {
            None
        };
        c.referrals = self.referrals.clone();
        c.place = opt_text(&self.place);
        c.notes = opt_text(&self.notes);
        e.domain(c.problems(ctx.today));
        if e.is_empty() { Ok(c) } else { Err(e) }
    }
}

// ---------------------------------------------------------------- arrest

#[derive(Debug, Clone)]
pub struct ArrestForm {
    pub client_id: Uuid,
    pub date: String,
    pub province: String,
    pub district: String,
    pub place: String,
    pub authority: Authority,
    pub reasons: Vec<ArrestReason>,
    pub informer: bool,
    pub abuse: Vec<Abuse>,
    pub legal_aid: bool,
    pub outcome: ArrestOutcome,
    pub notes: String,
    /// The arrest being corrected (None: a new one), and the raid it was
    /// recorded with, kept through a correction.
    pub editing: Option<Uuid>,
    pub raid_id: Option<Uuid>,
}

impl ArrestForm {
    /// The form filled in with a saved arrest, to correct it.
    pub fn correcting(id: Uuid, a: &Arrest) -> Self {
        ArrestForm {
            client_id: a.client_id,
            date: a.date.to_string(),
            province: a.province.clone().unwrap_or_default(),
            district: a.district.clone().unwrap_or_default(),
            place: a.place.clone().unwrap_or_default(),
            authority: a.authority,
            reasons: a.reasons.clone(),
            informer: a.informer_suspected,
            abuse: a.abuse.clone(),
            legal_aid: a.legal_aid,
            outcome: a.outcome,
            notes: a.notes.clone().unwrap_or_default(),
            editing: Some(id),
            raid_id: a.raid_id,
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, province: Option<String>) -> Self {
        ArrestForm {
            client_id,
            date: today.to_string(),
            province: province.unwrap_or_default(),
            district: String::new(),
            place: String::new(),
            authority: Authority::Unknown,
            reasons: Vec::new(),
            informer: false,
            abuse: Vec::new(),
            legal_aid: false,
            outcome: ArrestOutcome::Unknown,
            notes: String::new(),
            editing: None,
            raid_id: None,
        }
    }

    /// The arrest fields shared with raid intake.
    pub fn arrest_fields(&mut self, ui: &mut egui::Ui, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        text_row(ui, t("Province"), &mut self.province, None);
        text_row(ui, t("District"), &mut self.district, None);
        text_row(ui, t("Place"), &mut self.place, None);
        choice_row(ui, t("Authority"), &mut self.authority);
        multi_row(ui, t("Reasons"), &mut self.reasons);
        let id = field_label(ui, t("Informer or set-up suspected"));
        ui.checkbox(&mut self.informer, "").labelled_by(id);
        ui.end_row();
        multi_row(ui, t("Abuse reported"), &mut self.abuse);
        let id = field_label(ui, t("Legal aid"));
        ui.checkbox(&mut self.legal_aid, "").labelled_by(id);
        ui.end_row();
        choice_row(ui, t("Outcome"), &mut self.outcome);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }

    pub fn build_arrest(&self, today: NaiveDate) -> Result<Arrest, Errors> {
        let mut e = Errors::default();
        let Some(date) = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok()
        else {
            return Err(e);
        };
        let a = Arrest {
            client_id: self.client_id,
            date,
            province: opt_text(&self.province),
            district: opt_text(&self.district),
            place: opt_text(&self.place),
            authority: self.authority,
            reasons: self.reasons.clone(),
            informer_suspected: self.informer,
            abuse: self.abuse.clone(),
            legal_aid: self.legal_aid,
            outcome: self.outcome,
            raid_id: self.raid_id,
            notes: opt_text(&self.notes),
        };
        e.domain(a.problems(today));
        if e.is_empty() { Ok(a) } else { Err(e) }
    }
}

impl Form for ArrestForm {
    type Output = Arrest;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct arrest")
        } else {
            t("Record arrest")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        self.arrest_fields(ui, e);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Arrest, Errors> {
        self.build_arrest(ctx.today)
    }
}

// ---------------------------------------------------------------- detention

#[derive(Debug, Clone)]
pub struct DetentionForm {
    pub client_id: Uuid,
    pub location: Option<Uuid>,
    pub start: String,
    pub basis: Option<DetentionBasis>,
    pub arrest_id: Option<Uuid>,
    pub notes: String,
    /// The stay being corrected (None: a new one), with its end and
    /// release reason, which a correction keeps.
    pub editing: Option<(Uuid, Option<NaiveDate>, Option<ReleaseReason>)>,
}

impl DetentionForm {
    /// The form filled in with a saved stay, to correct where and since
    /// when (its end is corrected by ending or transferring it).
    pub fn correcting(id: Uuid, d: &Detention) -> Self {
        DetentionForm {
            client_id: d.client_id,
            location: Some(d.location_id),
            start: d.start.to_string(),
            basis: d.basis,
            arrest_id: d.arrest_id,
            notes: d.notes.clone().unwrap_or_default(),
            editing: Some((id, d.end, d.release_reason)),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, arrest_id: Option<Uuid>) -> Self {
        DetentionForm {
            client_id,
            location: None,
            start: today.to_string(),
            basis: None,
            arrest_id,
            notes: String::new(),
            editing: None,
        }
    }
}

impl Form for DetentionForm {
    type Output = Detention;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            return t("Correct detention stay");
        }
        t("Start detention")
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        pick_row(
            ui,
            t("Location"),
            &mut self.location,
            &ctx.locations,
            e.get("location"),
        );
        date_row(ui, t("Start"), &mut self.start, e.get("start"));
        opt_choice_row(ui, t("Basis"), &mut self.basis);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Detention, Errors> {
        let mut e = Errors::default();
        let start = parse_date_field(&self.start)
            .map_err(|m| e.add("start", m))
            .ok();
        if self.location.is_none() {
            e.add("location", t("Required"));
        }
        let (Some(start), Some(location_id)) = (start, self.location) else {
            return Err(e);
        };
        let d = Detention {
            client_id: self.client_id,
            location_id,
            start,
            end: self.editing.and_then(|e| e.1),
            basis: self.basis,
            arrest_id: self.arrest_id,
            release_reason: self.editing.and_then(|e| e.2),
            notes: opt_text(&self.notes),
        };
        e.domain(d.problems(ctx.today));
        if e.is_empty() { Ok(d) } else { Err(e) }
    }
}

/// End an open stay (release, escape, death...).
#[derive(Debug, Clone)]
pub struct EndDetentionForm {
    pub id: Uuid,
    pub stay: Detention,
    pub end: String,
    pub reason: ReleaseReason,
}

impl Form for EndDetentionForm {
    type Output = (Uuid, Detention);
    fn title(&self) -> &'static str {
        t("End detention")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("End"), &mut self.end, e.get("end"));
        choice_row(ui, t("Release reason"), &mut self.reason);
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Uuid, Detention), Errors> {
        let mut e = Errors::default();
        let Some(end) = parse_date_field(&self.end)
            .map_err(|m| e.add("end", m))
            .ok()
        else {
            return Err(e);
        };
        let mut d = self.stay.clone();
        d.end = Some(end);
        d.release_reason = Some(self.reason);
        e.domain(d.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, d))
        } else {
            Err(e)
        }
    }
}

/// Move a detained client to another place: ends this stay, starts the next.
#[derive(Debug, Clone)]
pub struct TransferForm {
    pub id: Uuid,
    pub since: NaiveDate,
    pub date: String,
    pub to: Option<Uuid>,
    pub basis: Option<DetentionBasis>,
}

impl Form for TransferForm {
    type Output = (Uuid, NaiveDate, Uuid, Option<DetentionBasis>);
    fn title(&self) -> &'static str {
        t("Transfer to another place")
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        pick_row(ui, t("To"), &mut self.to, &ctx.locations, e.get("to"));
        opt_choice_row(ui, t("Basis"), &mut self.basis);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Self::Output, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        if self.to.is_none() {
            e.add("to", t("Required"));
        }
        if let Some(d) = date {
            if d < self.since {
                e.add("date", t("Before the stay started"));
            }
            if d > ctx.today {
                e.add("date", t("In the future"));
            }
        }
        match (date, self.to) {
            (Some(d), Some(to)) if e.is_empty() => Ok((self.id, d, to, self.basis)),
            _ => Err(e),
        }
    }
}

// ---------------------------------------------------------------- services

#[derive(Debug, Clone)]
pub struct EnrollmentForm {
    pub client_id: Uuid,
    pub service: Service,
    pub provider: String,
    pub number: String,
    pub start: String,
    pub status: EnrollmentStatus,
    pub dose: String,
    pub regimen: String,
    /// The enrollment being corrected (None: a new one), with its end,
    /// which a correction keeps.
    pub editing: Option<(Uuid, Option<NaiveDate>)>,
}

impl EnrollmentForm {
    /// The form filled in with a saved enrollment, to correct it.
    pub fn correcting(id: Uuid, en: &Enrollment) -> Self {
        EnrollmentForm {
            client_id: en.client_id,
            service: en.service,
            provider: en.provider.clone().unwrap_or_default(),
            number: en.number.clone().unwrap_or_default(),
            start: en.start.to_string(),
            status: en.status,
            dose: en.dose_mg.map(|d| d.to_string()).unwrap_or_default(),
            regimen: en.regimen.clone().unwrap_or_default(),
            editing: Some((id, en.end)),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate) -> Self {
        EnrollmentForm {
            client_id,
            service: Service::Methadone,
            provider: String::new(),
            number: String::new(),
            start: today.to_string(),
            status: EnrollmentStatus::Active,
            dose: String::new(),
            regimen: String::new(),
            editing: None,
        }
    }
}

impl Form for EnrollmentForm {
    type Output = Enrollment;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            return t("Correct enrollment");
        }
        t("Enrol in a service")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        choice_row(ui, t("Service"), &mut self.service);
        text_row(ui, t("Provider"), &mut self.provider, None);
        text_row(ui, t("Programme number"), &mut self.number, None);
        date_row(ui, t("Start"), &mut self.start, e.get("start"));
        choice_row(ui, t("Status"), &mut self.status);
        if self.service == Service::Methadone {
            text_row(ui, t("Dose (mg)"), &mut self.dose, e.get("dose_mg"));
        } else {
            text_row(ui, t("Regimen"), &mut self.regimen, None);
        }
    }
    fn build(&self, ctx: &FormCtx) -> Result<Enrollment, Errors> {
        let mut e = Errors::default();
        let start = parse_date_field(&self.start)
            .map_err(|m| e.add("start", m))
            .ok();
        let dose = if self.dose.trim().is_empty() {
            None
        } else {
            self.dose
                .trim()
                .parse::<f64>()
                .map_err(|_| e.add("dose_mg", t("Not a number")))
                .ok()
        };
        let Some(start) = start else { return Err(e) };
        let en = Enrollment {
            client_id: self.client_id,
            service: self.service,
            provider: opt_text(&self.provider),
            number: opt_text(&self.number),
            start,
            end: self.editing.and_then(|e| e.1),
            status: self.status,
            dose_mg: if self.service == Service::Methadone {
                dose
            } else {
                None
            },
            regimen: if self.service == Service::Methadone {
                None
            } else {
                opt_text(&self.regimen)
            },
        };
        e.domain(en.problems(ctx.today));
        if e.is_empty() { Ok(en) } else { Err(e) }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceEventForm {
    pub client_id: Uuid,
    pub enrollment: Option<Uuid>,
    pub date: String,
    pub kind: ServiceEventKind,
    pub days_supplied: String,
    pub dose: String,
    pub cause: Option<InterruptionCause>,
    pub notes: String,
    /// The event being corrected (None: a new one).
    pub editing: Option<Uuid>,
}

impl ServiceEventForm {
    /// The form filled in with a saved event, to correct it.
    pub fn correcting(id: Uuid, ev: &ServiceEvent) -> Self {
        ServiceEventForm {
            client_id: ev.client_id,
            enrollment: Some(ev.enrollment_id),
            date: ev.date.to_string(),
            kind: ev.kind,
            days_supplied: ev.days_supplied.map(|d| d.to_string()).unwrap_or_default(),
            dose: ev.dose_mg.map(|d| d.to_string()).unwrap_or_default(),
            cause: ev.cause,
            notes: ev.notes.clone().unwrap_or_default(),
            editing: Some(id),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, enrollment: Option<Uuid>) -> Self {
        ServiceEventForm {
            client_id,
            enrollment,
            date: today.to_string(),
            kind: ServiceEventKind::Refill,
            days_supplied: "30".into(),
            dose: String::new(),
            cause: None,
            notes: String::new(),
            editing: None,
        }
    }
}

impl Form for ServiceEventForm {
    type Output = ServiceEvent;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct service event")
        } else {
            t("Record service event")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        let options: Vec<(Uuid, String)> = ctx
            .enrollments
            .iter()
            .map(|(id, s, start)| (*id, format!("{} ({} {start})", s.label(), t("since"))))
            .collect();
        pick_row(
            ui,
            t("Enrollment"),
            &mut self.enrollment,
            &options,
            e.get("enrollment"),
        );
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        choice_row(ui, t("Event"), &mut self.kind);
        if self.kind == ServiceEventKind::Refill {
            text_row(
                ui,
                t("Days supplied"),
                &mut self.days_supplied,
                e.get("days_supplied"),
            );
        }
        if matches!(
            self.kind,
            ServiceEventKind::Dose | ServiceEventKind::DoseChange
        ) {
            text_row(ui, t("Dose (mg)"), &mut self.dose, e.get("dose_mg"));
        }
        if matches!(
            self.kind,
            ServiceEventKind::Interruption | ServiceEventKind::Missed
        ) {
            opt_choice_row(ui, t("Cause"), &mut self.cause);
        }
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<ServiceEvent, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        let days = if self.kind == ServiceEventKind::Refill && !self.days_supplied.trim().is_empty()
        {
            parse_count(&self.days_supplied)
                .map_err(|m| e.add("days_supplied", m))
                .ok()
        } else {
            None
        };
        let dose = if self.dose.trim().is_empty() {
            None
        } else {
            self.dose
                .trim()
                .parse::<f64>()
                .map_err(|_| e.add("dose_mg", t("Not a number")))
                .ok()
        };
        if self.enrollment.is_none() {
            e.add("enrollment", t("Required"));
        }
        let (Some(date), Some(enrollment_id)) = (date, self.enrollment) else {
            return Err(e);
        };
        let ev = ServiceEvent {
            enrollment_id,
            client_id: self.client_id,
            date,
            kind: self.kind,
            days_supplied: days,
            dose_mg: dose,
            cause: self.cause,
            notes: opt_text(&self.notes),
        };
        e.domain(ev.problems(ctx.today));
        if let Some((_, _, start)) = ctx.enrollments.iter().find(|x| x.0 == enrollment_id)
            && date < *start
        {
            e.add("date", t("Before the enrollment started"));
        }
        if e.is_empty() { Ok(ev) } else { Err(e) }
    }
}

// ---------------------------------------------------------------- follow-up

#[derive(Debug, Clone)]
pub struct FollowUpForm {
    pub client_id: Uuid,
    pub worker: Option<Uuid>,
    pub due: String,
    pub reason: String,
}

impl Form for FollowUpForm {
    type Output = FollowUp;
    fn title(&self) -> &'static str {
        t("Add follow-up")
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Reason"), &mut self.reason, e.get("reason"));
        date_row(ui, t("Due"), &mut self.due, e.get("due"));
        pick_row(ui, t("Worker"), &mut self.worker, &ctx.workers, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<FollowUp, Errors> {
        let mut e = Errors::default();
        let Some(due) = parse_date_field(&self.due)
            .map_err(|m| e.add("due", m))
            .ok()
        else {
            return Err(e);
        };
        let f = FollowUp {
            client_id: self.client_id,
            worker_id: self.worker,
            due,
            reason: self.reason.trim().to_owned(),
            rule: None,
            source_id: None,
            done_on: None,
            outcome: None,
        };
        e.domain(f.problems(ctx.today));
        if e.is_empty() { Ok(f) } else { Err(e) }
    }
}

/// Close a follow-up with its outcome.
#[derive(Debug, Clone)]
pub struct CloseFollowUpForm {
    pub id: Uuid,
    pub followup: FollowUp,
    pub done_on: String,
    pub outcome: String,
}

impl Form for CloseFollowUpForm {
    type Output = (Uuid, FollowUp);
    fn title(&self) -> &'static str {
        t("Close follow-up")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        ui.label(t("Reason"));
        ui.label(followup_reason(&self.followup.reason));
        ui.end_row();
        date_row(ui, t("Done on"), &mut self.done_on, e.get("done_on"));
        text_row(ui, t("Outcome"), &mut self.outcome, e.get("outcome"));
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Uuid, FollowUp), Errors> {
        let mut e = Errors::default();
        let Some(done) = parse_date_field(&self.done_on)
            .map_err(|m| e.add("done_on", m))
            .ok()
        else {
            return Err(e);
        };
        if self.outcome.trim().is_empty() {
            e.add("outcome", t("Required"));
        }
        let mut f = self.followup.clone();
        f.done_on = Some(done);
        f.outcome = opt_text(&self.outcome);
        e.domain(f.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, f))
        } else {
            Err(e)
        }
    }
}

// ---------------------------------------------------------------- client

/// Register a client or edit their details.
#[derive(Debug, Clone)]
pub struct ClientForm {
    pub id: Option<Uuid>,
    pub base: Client,
    pub code: String,
    pub nickname: String,
    pub name: String,
    pub birth_year: String,
    pub phone: String,
    pub province: String,
    pub district: String,
    pub commune: String,
    pub hiv_last_test: String,
    pub consent_date: String,
    pub registered_on: String,
}

impl ClientForm {
    pub fn new(id: Option<Uuid>, c: Client) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        ClientForm {
            id,
            code: c.code.clone(),
            nickname: c.nickname.clone().unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
            birth_year: c.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            province: c.province.clone().unwrap_or_default(),
            district: c.district.clone().unwrap_or_default(),
            commune: c.commune.clone().unwrap_or_default(),
            hiv_last_test: date(c.hiv_last_test),
            consent_date: date(c.consent_date),
            registered_on: date(c.registered_on),
            base: c,
        }
    }
}

impl Form for ClientForm {
    type Output = (Option<Uuid>, Client);
    fn title(&self) -> &'static str {
        if self.id.is_some() {
            t("Edit client details")
        } else {
            t("Register client")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Client code"), &mut self.code, e.get("code"));
        text_row(ui, t("Nickname"), &mut self.nickname, None);
        text_row(ui, t("Name (optional, sensitive)"), &mut self.name, None);
        choice_row(ui, t("Sex"), &mut self.base.sex);
        text_row(
            ui,
            t("Birth year"),
            &mut self.birth_year,
            e.get("birth_year"),
        );
        text_row(ui, t("Phone"), &mut self.phone, None);
        text_row(ui, t("Province"), &mut self.province, None);
        text_row(ui, t("District"), &mut self.district, None);
        text_row(ui, t("Commune"), &mut self.commune, None);
        multi_row(ui, t("Key populations"), &mut self.base.key_populations);
        multi_row(ui, t("Substances"), &mut self.base.substances);
        choice_row(ui, t("HIV status"), &mut self.base.hiv_status);
        date_row(
            ui,
            t("Last HIV test"),
            &mut self.hiv_last_test,
            e.get("hiv_last_test"),
        );
        date_row(
            ui,
            t("Consent date"),
            &mut self.consent_date,
            e.get("consent_date"),
        );
        pick_row(
            ui,
            t("Assigned worker"),
            &mut self.base.assigned_worker,
            &ctx.workers,
            e.get("assigned_worker"),
        );
        choice_row(ui, t("Case status"), &mut self.base.status);
        date_row(
            ui,
            t("Registered on"),
            &mut self.registered_on,
            e.get("registered_on"),
        );
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Option<Uuid>, Client), Errors> {
        let mut e = Errors::default();
        let mut c = self.base.clone();
        c.code = normalize_code(&self.code);
        c.nickname = opt_text(&self.nickname);
        c.name = opt_text(&self.name);
        c.birth_year = if self.birth_year.trim().is_empty() {
            None
        } else {
            self.birth_year
                .trim()
                .parse::<i32>()
                .map_err(|_| e.add("birth_year", t("Not a year")))
                .ok()
        };
        c.phone = opt_text(&self.phone);
        c.province = opt_text(&self.province);
        c.district = opt_text(&self.district);
        c.commune = opt_text(&self.commune);
        for (field, text, slot) in [
            ("hiv_last_test", &self.hiv_last_test, &mut c.hiv_last_test),
            ("consent_date", &self.consent_date, &mut c.consent_date),
            ("registered_on", &self.registered_on, &mut c.registered_on),
        ] {
            match parse_opt_date(text) {
                Ok(d) => *slot = d,
                Err(m) => e.add(field, m),
            }
        }
        e.domain(c.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, c))
        } else {
            Err(e)
        }
    }
}

// ---------------------------------------------------------------- registry

#[derive(Debug, Clone)]
pub struct LocationForm {
    pub id: Option<Uuid>,
    pub base: Location,
    pub name: String,
    pub province: String,
    pub contact: String,
    pub last_verified: String,
}

impl LocationForm {
    pub fn new(id: Option<Uuid>, l: Location) -> Self {
        LocationForm {
            id,
            name: l.name.clone(),
            province: l.province.clone().unwrap_or_default(),
            contact: l.contact.clone().unwrap_or_default(),
            last_verified: l.last_verified.map(|d| d.to_string()).unwrap_or_default(),
            base: l,
        }
    }
}

impl Form for LocationForm {
    type Output = (Option<Uuid>, Location);
    fn title(&self) -> &'static str {
        if self.id.is_some() {
            t("Edit detention location")
        } else {
            t("Add detention location")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Name"), &mut self.name, e.get("name"));
        choice_row(ui, t("Kind"), &mut self.base.kind);
        text_row(ui, t("Province"), &mut self.province, None);
        choice_row(ui, t("Methadone"), &mut self.base.methadone);
        choice_row(ui, t("ART"), &mut self.base.art);
        choice_row(ui, t("NGO access"), &mut self.base.ngo_access);
        text_row(ui, t("Contact"), &mut self.contact, None);
        date_row(
            ui,
            t("Last verified"),
            &mut self.last_verified,
            e.get("last_verified"),
        );
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Option<Uuid>, Location), Errors> {
        let mut e = Errors::default();
        let mut l = self.base.clone();
        l.name = self.name.trim().to_owned();
        l.province = opt_text(&self.province);
        l.contact = opt_text(&self.contact);
        match parse_opt_date(&self.last_verified) {
            Ok(d) => l.last_verified = d,
            Err(m) => e.add("last_verified", m),
        }
        e.domain(l.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, l))
        } else {
            Err(e)
        }
    }
}

// ---------------------------------------------------------------- users

pub struct UserForm {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    pub confirm: String,
}

impl Default for UserForm {
    fn default() -> Self {
        UserForm {
            username: String::new(),
            display_name: String::new(),
            role: Role::Outreach,
            password: String::new(),
            confirm: String::new(),
        }
    }
}

fn password_errors(e: &mut Errors, password: &str, confirm: &str) {
    if password.chars().count() < crate::store::MIN_PASSWORD_CHARS {
        e.add("password", t("At least 10 characters"));
    } else if password != confirm {
        e.add("confirm", t("The two passwords differ."));
    }
}

fn password_rows(ui: &mut egui::Ui, password: &mut String, confirm: &mut String, e: &Errors) {
    let id = field_label(ui, t("Password"));
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(password).password(true))
            .labelled_by(id);
        error_text(ui, e.get("password"));
    });
    ui.end_row();
    let id = field_label(ui, t("Password again"));
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(confirm).password(true))
            .labelled_by(id);
        error_text(ui, e.get("confirm"));
    });
    ui.end_row();
}

impl Form for UserForm {
    type Output = (User, String);
    fn title(&self) -> &'static str {
        t("Add user")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Username"), &mut self.username, e.get("username"));
        text_row(
            ui,
            t("Display name"),
            &mut self.display_name,
            e.get("display_name"),
        );
        choice_row(ui, t("Role"), &mut self.role);
        password_rows(ui, &mut self.password, &mut self.confirm, e);
    }
    fn build(&self, ctx: &FormCtx) -> Result<(User, String), Errors> {
        let mut e = Errors::default();
        let u = User {
            username: self.username.trim().to_owned(),
            display_name: self.display_name.trim().to_owned(),
            role: self.role,
            active: true,
            language: "en".into(),
        };
        e.domain(u.problems(ctx.today));
        password_errors(&mut e, &self.password, &self.confirm);
        if e.is_empty() {
            Ok((u, self.password.clone()))
        } else {
            Err(e)
        }
    }
}

pub struct PasswordForm {
    pub user_id: Uuid,
    pub username: String,
    pub password: String,
    pub confirm: String,
}

impl PasswordForm {
    /// An empty password form for one user.
    pub fn for_user(user_id: Uuid, username: &str) -> Self {
        PasswordForm {
            user_id,
            username: username.to_owned(),
            password: String::new(),
            confirm: String::new(),
        }
    }
}

impl Form for PasswordForm {
    type Output = (Uuid, String);
    fn title(&self) -> &'static str {
        t("Reset password")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        ui.label(t("Username"));
        ui.label(&self.username);
        ui.end_row();
        password_rows(ui, &mut self.password, &mut self.confirm, e);
    }
    fn build(&self, _ctx: &FormCtx) -> Result<(Uuid, String), Errors> {
        let mut e = Errors::default();
        password_errors(&mut e, &self.password, &self.confirm);
        if e.is_empty() {
            Ok((self.user_id, self.password.clone()))
        } else {
            Err(e)
        }
    }
}

// Forms that hold a password print no field of it, and are never cloned.
impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordForm").finish_non_exhaustive()
    }
}
