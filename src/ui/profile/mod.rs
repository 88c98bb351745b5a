//! A client's profile: header with status badges, one timeline of
//! everything newest first, details, follow-ups, and the record forms.

mod dialogs;
mod tabs;

use super::forms::{self, *};
use super::i18n::{t, tf};
use super::labels::{Labelled, followup_reason, kind_label};
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;
use crate::store::{Store, StoreError, TimelineEntry, TimelineItem};
use chrono::NaiveDate;
use uuid::Uuid;

/// Which form is open over the profile.
#[allow(clippy::large_enum_variant)] // one per user action; size does not matter
pub enum OpenForm {
    Contact(ContactForm),
    Arrest(ArrestForm),
    Detention(DetentionForm),
    EndDetention(EndDetentionForm),
    Transfer(TransferForm),
    Enrollment(EnrollmentForm),
    Event(ServiceEventForm),
    FollowUp(FollowUpForm),
    CloseFollowUp(CloseFollowUpForm),
    Client(ClientForm),
}

/// What a timeline row asked for.
enum RowAction {
    Correct(Uuid, Contact),
    CorrectArrest(Uuid, Arrest),
    CorrectEvent(Uuid, ServiceEvent),
    CorrectStay(Uuid, Detention),
    CorrectEnrollment(Uuid, Enrollment),
    Remove(Removable),
    Move(Movable),
}

/// A record that a timeline row can move to another client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Movable {
    Contact(Uuid),
    Arrest(Uuid),
    Stay(Uuid),
}

/// A record that a timeline row can remove.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Removable {
    Contact(Uuid),
    Arrest(Uuid),
    Event(Uuid),
    Stay(Uuid),
    Enrollment(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Timeline,
    Details,
    FollowUps,
    History,
}

pub struct ProfileScreen {
    pub client: Saved<Client>,
    pub timeline: Vec<TimelineEntry>,
    /// The open stay and its place's name.
    pub detention: Option<(Saved<Detention>, String)>,
    pub enrollments: Vec<Saved<Enrollment>>,
    pub followups: Vec<Saved<FollowUp>>,
    pub latest_arrest: Option<Uuid>,
    /// The continuity rules' verdict today (the same functions as the worklists).
    pub continuity: Option<crate::continuity::ContinuityState>,
    pub form: Option<OpenForm>,
    pub form_error: Option<super::forms::SaveError>,
    pub tab: Tab,
    /// A record about to be removed, the reason chosen so far, and what
    /// else the removal changes (read once, when asked).
    pub removing: Option<(Removable, RemovalReason, Vec<crate::store::RemovalEffect>)>,
    /// A contact being moved to another client: (contact, the code typed,
    /// what the store said of the last try).
    pub moving: Option<(Movable, String, Option<String>)>,
    /// Who created and changed this client and their records (for those
    /// who may read the audit log), oldest first.
    pub history: Vec<AuditEntry>,
    /// Usernames by id, for the history.
    usernames: std::collections::HashMap<Uuid, String>,
    ctx: FormCtx,
    generation: u64,
}

impl ProfileScreen {
    pub fn open(
        store: &Store,
        id: Uuid,
        shared: &FormCtx,
        today: NaiveDate,
    ) -> Result<Self, StoreError> {
        let mut p = ProfileScreen {
            client: store.get::<Client>(id)?,
            timeline: Vec::new(),
            detention: None,
            enrollments: Vec::new(),
            followups: Vec::new(),
            latest_arrest: None,
            continuity: None,
            form: None,
            form_error: None,
            removing: None,
            moving: None,
            history: Vec::new(),
            usernames: Default::default(),
            tab: Tab::Timeline,
            ctx: shared.clone(),
            generation: 0,
        };
        p.reload(store, shared, today)?;
        Ok(p)
    }

    fn reload(
        &mut self,
        store: &Store,
        shared: &FormCtx,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let id = self.client.id();
        self.client = store.get::<Client>(id)?;
        self.timeline = store.timeline(id)?;
        self.detention = match store.open_detention(id)? {
            Some(d) => {
                let name = store.get::<Location>(d.location_id)?.data.name;
                Some((d, name))
            }
            None => None,
        };
        self.enrollments = store.list_for_client::<Enrollment>(id)?;
        self.followups = store.list_for_client::<FollowUp>(id)?;
        self.continuity = Some(store.continuity(id, today)?);
        if store.user().role.can(Permission::ViewAudit) {
            self.history = store.client_history(id)?;
            self.usernames = store
                .users()?
                .into_iter()
                .map(|u| (u.id(), u.data.username.clone()))
                .collect();
        }
        self.latest_arrest = store
            .list_for_client::<Arrest>(id)?
            .into_iter()
            .max_by_key(|a| a.date)
            .map(|a| a.id());
        self.ctx = FormCtx {
            today,
            subject: self.client.code.clone(),
            enrollments: self
                .enrollments
                .iter()
                .map(|e| (e.id(), e.service, e.start))
                .collect(),
            ..shared.clone()
        };
        Ok(())
    }

    /// The navigation label: the client's code.
    pub fn title(&self) -> &str {
        &self.client.code
    }

    /// Opens the contact form (the keyboard flow from the client list).
    pub fn start_contact(&mut self, today: NaiveDate, me: Uuid) {
        let worker = self.client.assigned_worker.or(Some(me));
        self.form = Some(OpenForm::Contact(ContactForm::new(
            self.client.id(),
            today,
            worker,
        )));
        self.form_error = None;
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        match result {
            Ok(()) => {
                self.form = None;
                self.form_error = None;
            }
            Err(e) => self.form_error = Some(e.clone()),
        }
    }

    fn active(&self, service: Service, today: NaiveDate) -> bool {
        self.enrollments
            .iter()
            .any(|e| e.service == service && e.active_on(today))
    }

    fn header_ui(&self, ui: &mut egui::Ui, env: &Env<'_>) {
        let c = &self.client;
        ui.horizontal(|ui| {
            ui.heading(&c.code);
            if let Some(n) = &c.nickname {
                ui.heading(shown_name(Some(n), env.hide_names));
            }
            ui.label(format!(
                "{} · {} {} · {}",
                c.sex.label(),
                age_text(c.birth_year, env.today),
                t("years"),
                c.province.as_deref().unwrap_or("")
            ));
        });
        ui.horizontal_wrapped(|ui| {
            badge(ui, self.case_status(c.status).label(), BLUE);
            if let Some((d, place)) = &self.detention {
                let days = (env.today - d.start).num_days() + 1;
                badge(
                    ui,
                    &tf(
                        "Detained at {place} since {date} ({days} days)",
                        &[("place", place), ("date", &d.start), ("days", &days)],
                    ),
                    RED,
                );
            }
            if self.active(Service::Methadone, env.today) {
                badge(ui, t("On methadone"), GREEN);
            }
            if self.active(Service::Art, env.today) {
                badge(ui, t("On ART"), GREEN);
            }
            let overdue = self
                .followups
                .iter()
                .filter(|f| f.done_on.is_none() && f.due < env.today)
                .count();
            if overdue > 0 {
                badge(
                    ui,
                    &tf("{n} follow-ups overdue", &[("n", &overdue)]),
                    ORANGE,
                );
            }
            if c.hiv_status == HivStatus::Positive {
                badge(ui, c.hiv_status.label(), ORANGE);
            }
        });
    }

    /// Per service: status, last dose or refill, days overdue, what to do next.
    /// The case status to show: lost to follow-up as the rules derived it
    /// today, the others as recorded.
    pub(super) fn case_status(&self, recorded: CaseStatus) -> CaseStatus {
        crate::continuity::case_status(
            recorded,
            self.continuity.as_ref().and_then(|s| s.lost_to_follow_up),
        )
    }

    fn continuity_ui(&self, ui: &mut egui::Ui) {
        use crate::continuity::{ArtStatus, MethadoneAction};
        let Some(c) = &self.continuity else { return };
        if c.services.is_empty() && c.needs_relinkage.is_none() && c.lost_to_follow_up.is_none() {
            return;
        }
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(t("Continuity of treatment"));
            for s in &c.services {
                ui.horizontal_wrapped(|ui| {
                    ui.label(egui::RichText::new(s.service.label()).strong());
                    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                    let (status, next, color) = match (s.art, s.methadone) {
                        (Some(ArtStatus::Covered { covered_until }), _) => {
                            (tf("covered until {date}", &[("date", &covered_until)]), String::new(), GREEN)
                        }
                        (Some(ArtStatus::Overdue { days }), _) => {
                            (tf("refill overdue by {n} days", &[("n", &days)]), t("Trace and bring to the clinic for a refill").to_owned(), ORANGE)
                        }
                        (Some(ArtStatus::Interrupted { days }), _) => {
                            (tf("interrupted: {n} days past the supply", &[("n", &days)]), t("Trace, counsel and re-start ART").to_owned(), RED)
                        }
                        (Some(ArtStatus::NoRefill), _) => (t("no refill recorded yet").to_owned(), String::new(), BLUE),
                        (None, Some(MethadoneAction::OnTrack)) => (t("on track").to_owned(), String::new(), GREEN),
                        (None, Some(MethadoneAction::Missed { days })) => {
                            (tf("missed {n} days in a row", &[("n", &days)]), String::new(), ORANGE)
                        }
                        (None, Some(MethadoneAction::DoseReview { days })) => (
                            tf("missed {n} days in a row", &[("n", &days)]),
                            t("Dose review before the next dose").to_owned(),
                            ORANGE,
                        ),
                        (None, Some(MethadoneAction::Reinduction { days })) => {
                            (tf("missed {n} days in a row", &[("n", &days)]), t("Re-induction needed").to_owned(), RED)
                        }
                        (None, None) => (String::new(), String::new(), BLUE),
                    };
                    ui.colored_label(color, status);
                    ui.weak(tf("last dose {a} · last refill {b}", &[("a", &date(s.last_dose)), ("b", &date(s.last_refill))]));
                    if s.at_risk_in_detention {
                        ui.colored_label(RED, t("Detained where it is not known to be available: visit and negotiate access"));
                    }
                    if !next.is_empty() {
                        ui.label(egui::RichText::new(next).strong());
                    }
                });
            }
            if let Some(r) = &c.needs_relinkage {
                ui.colored_label(RED, tf("Released {n} days ago from {place}; no dose or refill since", &[("n", &r.days_since), ("place", &r.location)]));
            }
            if let Some(days) = c.lost_to_follow_up {
                ui.colored_label(BLUE, tf("No contact for {n} days", &[("n", &days)]));
            }
        });
    }

    fn buttons_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        let id = self.client.id();
        let today = env.today;
        let me = env.store.user().id;
        let had_form = self.form.is_some();
        ui.horizontal_wrapped(|ui| {
            if ui.button(t("Log contact")).clicked() {
                self.start_contact(today, me);
            }
            if ui.button(t("Record arrest")).clicked() {
                self.form = Some(OpenForm::Arrest(ArrestForm::new(
                    id,
                    today,
                    self.client.province.clone(),
                )));
            }
            match &self.detention {
                None => {
                    if ui.button(t("Start detention")).clicked() {
                        self.form = Some(OpenForm::Detention(DetentionForm::new(
                            id,
                            today,
                            self.latest_arrest,
                        )));
                    }
                }
                Some((d, _)) => {
                    if ui.button(t("End detention")).clicked() {
                        self.form = Some(OpenForm::EndDetention(EndDetentionForm {
                            id: d.id(),
                            stay: d.data.clone(),
                            end: today.to_string(),
                            reason: ReleaseReason::Released,
                        }));
                    }
                    if ui.button(t("Transfer")).clicked() {
                        self.form = Some(OpenForm::Transfer(TransferForm {
                            id: d.id(),
                            since: d.start,
                            date: today.to_string(),
                            to: None,
                            basis: d.basis,
                        }));
                    }
                }
            }
            if ui.button(t("Enrol in a service")).clicked() {
                self.form = Some(OpenForm::Enrollment(EnrollmentForm::new(id, today)));
            }
            if !self.enrollments.is_empty() && ui.button(t("Record service event")).clicked() {
                let first = self
                    .enrollments
                    .iter()
                    .find(|e| e.active_on(today))
                    .map(|e| e.id());
                self.form = Some(OpenForm::Event(ServiceEventForm::new(id, today, first)));
            }
            if ui.button(t("Add follow-up")).clicked() {
                self.form = Some(OpenForm::FollowUp(FollowUpForm::new(
                    id,
                    self.client.assigned_worker.or(Some(me)),
                    today + chrono::Duration::days(7),
                )));
            }
            if ui.button(t("Edit details")).clicked() {
                self.form = Some(OpenForm::Client(ClientForm::new(
                    Some(id),
                    self.client.data.clone(),
                )));
            }
        });
        if !had_form && self.form.is_some() {
            self.form_error = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        if self.generation != env.generation {
            if let Err(e) = self.reload(env.store, env.forms, env.today) {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
            }
            self.generation = env.generation;
        }
        self.header_ui(ui, env);
        self.continuity_ui(ui);
        ui.add_space(4.0);
        self.buttons_ui(ui, env);
        ui.separator();
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, Tab::Timeline, t("Timeline"));
            ui.selectable_value(&mut self.tab, Tab::Details, t("Details"));
            ui.selectable_value(&mut self.tab, Tab::FollowUps, t("Follow-ups"));
            if env.store.user().role.can(Permission::ViewAudit) {
                ui.selectable_value(&mut self.tab, Tab::History, t("History"));
            }
        });
        ui.separator();
        let mut picked = None;
        match self.tab {
            Tab::Timeline => picked = self.timeline_ui(ui, env),
            Tab::Details => self.details_ui(ui, env),
            Tab::FollowUps => self.followups_ui(ui, env),
            Tab::History => self.history_ui(ui),
        }
        match picked {
            Some(RowAction::Correct(id, c)) => {
                self.form = Some(OpenForm::Contact(ContactForm::correcting(id, &c)));
                self.form_error = None;
            }
            Some(RowAction::CorrectArrest(id, a)) => {
                self.form = Some(OpenForm::Arrest(ArrestForm::correcting(id, &a)));
                self.form_error = None;
            }
            Some(RowAction::CorrectEvent(id, ev)) => {
                self.form = Some(OpenForm::Event(ServiceEventForm::correcting(id, &ev)));
                self.form_error = None;
            }
            Some(RowAction::CorrectStay(id, d)) => {
                self.form = Some(OpenForm::Detention(DetentionForm::correcting(id, &d)));
                self.form_error = None;
            }
            Some(RowAction::CorrectEnrollment(id, en)) => {
                self.form = Some(OpenForm::Enrollment(EnrollmentForm::correcting(id, &en)));
                self.form_error = None;
            }
            Some(RowAction::Move(what)) => {
                self.moving = Some((what, String::new(), None));
            }
            Some(RowAction::Remove(what)) => {
                let effects = match what {
                    Removable::Arrest(id) => env.store.removal_effects::<Arrest>(id),
                    Removable::Stay(id) => env.store.removal_effects::<Detention>(id),
                    Removable::Enrollment(id) => env.store.removal_effects::<Enrollment>(id),
                    Removable::Contact(_) | Removable::Event(_) => Ok(Vec::new()),
                }
                .unwrap_or_default();
                self.removing = Some((what, RemovalReason::EnteredInError, effects));
            }
            None => {}
        }
        if let Some(w) = self.removal_ui(ui) {
            return Action::Write(w);
        }
        if let Some(w) = self.move_ui(ui, env) {
            return Action::Write(w);
        }
        self.form_ui(ui)
    }

    fn form_ui(&mut self, ui: &mut egui::Ui) -> Action {
        let ctx = self.ctx.clone();
        let err = self.form_error.clone();
        let err = err.as_ref();
        let Some(form) = &mut self.form else {
            return Action::None;
        };
        macro_rules! run {
            ($f:expr, $save:expr) => {
                match forms::show(ui, $f, &ctx, err) {
                    Outcome::Editing => None,
                    Outcome::Cancel => Some(None),
                    Outcome::Save(v) => Some(Some($save(v))),
                }
            };
        }
        let result: Option<Option<Write>> = match form {
            OpenForm::Contact(f) => {
                let editing = f.editing;
                run!(f, |c| match editing {
                    Some(id) => Write::CorrectContact(id, c),
                    None => Write::Contact(c),
                })
            }
            OpenForm::Arrest(f) => {
                let editing = f.editing;
                run!(f, |a| match editing {
                    Some(id) => Write::CorrectArrest(id, a),
                    None => Write::Arrest(a),
                })
            }
            OpenForm::Detention(f) => {
                let editing = f.editing.map(|e| e.0);
                run!(f, |d| match editing {
                    Some(id) => Write::CorrectStay(id, d),
                    None => Write::StartDetention(d),
                })
            }
            OpenForm::EndDetention(f) => run!(f, |(id, d)| Write::EndDetention(id, d)),
            OpenForm::Transfer(f) => run!(f, |(id, date, to, basis)| Write::Transfer(
                id, date, to, basis
            )),
            OpenForm::Enrollment(f) => {
                let editing = f.editing.map(|e| e.0);
                run!(f, |en| match editing {
                    Some(id) => Write::CorrectEnrollment(id, en),
                    None => Write::Enrollment(en),
                })
            }
            OpenForm::Event(f) => {
                let editing = f.editing;
                run!(f, |ev| match editing {
                    Some(id) => Write::CorrectEvent(id, ev),
                    None => Write::Event(ev),
                })
            }
            OpenForm::FollowUp(f) => {
                let editing = f.correcting.as_ref().map(|(id, _)| *id);
                run!(f, |fu| match editing {
                    Some(id) => Write::CorrectFollowUp(id, fu),
                    None => Write::FollowUp(fu),
                })
            }
            OpenForm::CloseFollowUp(f) => run!(f, |(id, fu)| Write::CloseFollowUp(id, fu)),
            OpenForm::Client(f) => run!(f, |(id, c)| Write::Client(id, c)),
        };
        match result {
            None => Action::None,
            Some(None) => {
                self.form = None;
                self.form_error = None;
                Action::None
            }
            Some(Some(w)) => Action::Write(w),
        }
    }
}
