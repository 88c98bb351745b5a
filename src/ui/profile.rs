//! A client's profile: header with status badges, one timeline of
//! everything newest first, details, follow-ups, and the record forms.

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
            badge(ui, c.status.label(), BLUE);
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

    /// Moves a contact logged on the wrong client (the raid mistake): the
    /// right client's code, looked up when "Move" is pressed.
    fn move_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Option<Write> {
        let (what, mut code, mut problem) = self.moving.clone()?;
        let mut write = None;
        let mut close = false;
        egui::Modal::new(egui::Id::unique("move-record")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading(match what {
                Movable::Contact(_) => t("Move this contact to another client?"),
                Movable::Arrest(_) => t("Move this arrest to another client?"),
                Movable::Stay(_) => t("Move this detention stay to another client?"),
            });
            ui.label(t("For a record logged on the wrong person. The move is kept in both clients' history."));
            ui.add_space(4.0);
            let label = ui.label(t("The right client's code")).id;
            ui.text_edit_singleline(&mut code).labelled_by(label);
            error_text(ui, problem.as_deref());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Move")).clicked() {
                    match env.store.client_by_code(&code) {
                        Ok(Some(to)) if to.id() == self.client.id() => {
                            problem = Some(t("That is this client.").to_owned());
                        }
                        Ok(Some(to)) => {
                            write = Some(match what {
                                Movable::Contact(id) => Write::MoveContact(id, to.id()),
                                Movable::Arrest(id) => Write::MoveArrest(id, to.id()),
                                Movable::Stay(id) => Write::MoveStay(id, to.id()),
                            });
                            close = true;
                        }
                        Ok(None) => {
                            problem = Some(tf("No client has the code {code}", &[("code", &code.trim())]));
                        }
                        Err(e) => problem = Some(e.to_string()),
                    }
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        self.moving = if close {
            None
        } else {
            Some((what, code, problem))
        };
        write
    }

    /// Asks for the reason before a contact is removed; says that it is
    /// kept in the history.
    fn removal_ui(&mut self, ui: &mut egui::Ui) -> Option<Write> {
        let (what, mut reason, effects) = self.removing.clone()?;
        let mut write = None;
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("remove-record")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading(match what {
                Removable::Contact(_) => t("Remove this contact?"),
                Removable::Arrest(_) => t("Remove this arrest?"),
                Removable::Event(_) => t("Remove this service event?"),
                Removable::Stay(_) => t("Remove this detention stay?"),
                Removable::Enrollment(_) => t("Remove this enrollment?"),
            });
            ui.label(t("It leaves the timeline, the worklists and the reports. It is not erased: the removal and its reason stay in the history."));
            for effect in &effects {
                use crate::store::RemovalEffect as E;
                let text = match effect {
                    E::StaysUnlinked(n) => tf(
                        "{n} detention stay(s) record this arrest; they stay, no longer linked to it",
                        &[("n", n)],
                    ),
                    E::FollowUpsRemoved(n) => tf(
                        "{n} open follow-up(s) the rules opened for this stay are removed with it",
                        &[("n", n)],
                    ),
                    E::EventsRemoved(n) => tf(
                        "{n} dose(s), refill(s) or other event(s) of this enrollment are removed with it",
                        &[("n", n)],
                    ),
                };
                ui.colored_label(ui.visuals().warn_fg_color, text);
            }
            ui.add_space(4.0);
            let id_label = ui.label(t("Reason")).id;
            super::widgets::choice(ui, id_label, &mut reason);
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Remove")).clicked() {
                    write = Some(match what {
                        Removable::Contact(id) => Write::RemoveContact(id, reason),
                        Removable::Arrest(id) => Write::RemoveArrest(id, reason),
                        Removable::Event(id) => Write::RemoveEvent(id, reason),
                        Removable::Stay(id) => Write::RemoveStay(id, reason),
                        Removable::Enrollment(id) => Write::RemoveEnrollment(id, reason),
                    });
                    close = true;
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        // Escape (or a click outside) cancels, as in the forms.
        if modal.should_close() && write.is_none() {
            close = true;
        }
        self.removing = if close {
            None
        } else {
            Some((what, reason, effects))
        };
        write
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

    fn timeline_ui(&self, ui: &mut egui::Ui, env: &Env<'_>) -> Option<RowAction> {
        let mut picked = None;
        if self.timeline.is_empty() {
            ui.label(t(
                "Nothing recorded yet. Log a contact to start the timeline.",
            ));
            return None;
        }
        let worker_name = |id: Option<Uuid>| {
            id.and_then(|w| env.forms.workers.iter().find(|x| x.0 == w))
                .map(|w| w.1.clone())
                .unwrap_or_default()
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, 22.0, self.timeline.len(), |ui, range| {
                for entry in &self.timeline[range] {
                    ui.horizontal(|ui| {
                        ui.monospace(entry.date.to_string());
                        match &entry.item {
                            TimelineItem::Contact(c) => {
                                ui.colored_label(BLUE, c.kind.label());
                                let mut parts = Vec::new();
                                if c.needles_syringes > 0 {
                                    parts.push(tf("{n} needles", &[("n", &c.needles_syringes)]));
                                }
                                if c.condoms > 0 {
                                    parts.push(tf("{n} condoms", &[("n", &c.condoms)]));
                                }
                                if c.naloxone > 0 {
                                    parts.push(tf("{n} naloxone", &[("n", &c.naloxone)]));
                                }
                                if c.hiv_test != HivTest::None {
                                    parts.push(c.hiv_test.label().to_owned());
                                }
                                for r in &c.referrals {
                                    parts.push(tf("referred to {x}", &[("x", &r.label())]));
                                }
                                ui.label(parts.join(", "));
                                ui.weak(worker_name(c.worker_id));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::Correct(c.id(), c.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Contact(c.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Contact(c.id())));
                                }
                            }
                            TimelineItem::Arrest(a) => {
                                ui.colored_label(RED, t("Arrest"));
                                let reasons: Vec<&str> =
                                    a.reasons.iter().map(|r| r.label()).collect();
                                ui.label(format!(
                                    "{} · {} · {}",
                                    a.authority.label(),
                                    reasons.join(", "),
                                    a.outcome.label()
                                ));
                                if !a.abuse.is_empty() {
                                    let abuse: Vec<&str> =
                                        a.abuse.iter().map(|r| r.label()).collect();
                                    ui.colored_label(ORANGE, abuse.join(", "));
                                }
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectArrest(a.id(), a.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Arrest(a.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Arrest(a.id())));
                                }
                            }
                            TimelineItem::Detention {
                                detention,
                                location,
                            } => {
                                ui.colored_label(RED, t("Detention"));
                                let end = match (detention.end, detention.release_reason) {
                                    (Some(e), Some(r)) => tf(
                                        "until {date} ({reason})",
                                        &[("date", &e), ("reason", &r.label())],
                                    ),
                                    _ => t("open").to_owned(),
                                };
                                ui.label(format!("{location} {end}"));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectStay(
                                        detention.id(),
                                        detention.data.clone(),
                                    ));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked =
                                        Some(RowAction::Remove(Removable::Stay(detention.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Stay(detention.id())));
                                }
                            }
                            TimelineItem::Enrollment(e) => {
                                ui.colored_label(
                                    GREEN,
                                    tf("Enrolled: {service}", &[("service", &e.service.label())]),
                                );
                                ui.label(format!(
                                    "{} {}",
                                    e.provider.as_deref().unwrap_or(""),
                                    e.status.label()
                                ));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked =
                                        Some(RowAction::CorrectEnrollment(e.id(), e.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Enrollment(e.id())));
                                }
                            }
                            TimelineItem::ServiceEvent { event, service } => {
                                ui.colored_label(GREEN, service.label());
                                let mut text = event.kind.label().to_owned();
                                if let Some(d) = event.days_supplied {
                                    text.push_str(&format!(" · {}", tf("{n} days", &[("n", &d)])));
                                }
                                if let Some(mg) = event.dose_mg {
                                    text.push_str(&format!(" · {mg} mg"));
                                }
                                if let Some(c) = event.cause {
                                    text.push_str(&format!(" · {}", c.label()));
                                }
                                ui.label(text);
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectEvent(
                                        event.id(),
                                        event.data.clone(),
                                    ));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Event(event.id())));
                                }
                            }
                            TimelineItem::FollowUp(f) => {
                                ui.colored_label(ORANGE, t("Follow-up"));
                                ui.label(followup_reason(&f.reason));
                                if let Some(done) = f.done_on {
                                    ui.weak(tf("done {date}", &[("date", &done)]));
                                }
                            }
                        }
                    });
                }
            });
        picked
    }

    /// Who did what to this client's records, when and on which laptop:
    /// the audit log's field names, never values.
    fn history_ui(&self, ui: &mut egui::Ui) {
        if self.history.is_empty() {
            ui.weak(t("Nothing in the history yet."));
            return;
        }
        let action = |a: AuditAction| match a {
            AuditAction::Create => t("created"),
            AuditAction::Update => t("changed"),
            AuditAction::Delete => t("removed"),
            _ => a.as_str(),
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, 22.0, self.history.len(), |ui, range| {
                for e in &self.history[range] {
                    ui.horizontal(|ui| {
                        ui.monospace(
                            e.at.with_timezone(&chrono::Local)
                                .format("%Y-%m-%d %H:%M")
                                .to_string(),
                        );
                        ui.add_sized([70.0, 18.0], egui::Label::new(action(e.action)));
                        ui.add_sized(
                            [90.0, 18.0],
                            egui::Label::new(kind_label(e.record_kind.as_deref().unwrap_or(""))),
                        );
                        let who = e
                            .user_id
                            .and_then(|u| self.usernames.get(&u).cloned())
                            .unwrap_or_else(|| t("another laptop").to_owned());
                        ui.add_sized([110.0, 18.0], egui::Label::new(who).truncate());
                        ui.weak(tf("laptop {id}", &[("id", &short_id(&e.device_id))]));
                        ui.label(history_detail(&e.detail));
                    });
                }
            });
    }

    fn details_ui(&self, ui: &mut egui::Ui, env: &Env<'_>) {
        let c = &self.client;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        let date = |v: Option<NaiveDate>| v.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
        egui::Grid::new("details")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let rows: Vec<(&str, String)> = vec![
                    (t("Client code"), c.code.clone()),
                    (
                        t("Nickname"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.nickname)
                        },
                    ),
                    (
                        t("Name (optional, sensitive)"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.name)
                        },
                    ),
                    (t("Sex"), c.sex.label().into()),
                    (
                        t("Birth year"),
                        c.birth_year
                            .map(|y| y.to_string())
                            .unwrap_or_else(|| "—".into()),
                    ),
                    (
                        t("Phone"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.phone)
                        },
                    ),
                    (t("Province"), opt(&c.province)),
                    (t("District"), opt(&c.district)),
                    (
                        t("Key populations"),
                        c.key_populations
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (
                        t("Substances"),
                        c.substances
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (t("HIV status"), c.hiv_status.label().into()),
                    (t("Last HIV test"), date(c.hiv_last_test)),
                    (t("Consent date"), date(c.consent_date)),
                    (t("Registered on"), date(c.registered_on)),
                    (t("Case status"), c.status.label().into()),
                ];
                for (k, v) in rows {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        ui.strong(t("Services"));
        for e in &self.enrollments {
            let active = if e.active_on(env.today) {
                t("active")
            } else {
                t("ended")
            };
            ui.label(format!(
                "{} · {} · {} {} · {active}",
                e.service.label(),
                e.provider.as_deref().unwrap_or(""),
                t("since"),
                e.start
            ));
        }
    }

    fn followups_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        if self.followups.is_empty() {
            ui.label(t("No follow-ups."));
        }
        let mut close: Option<Saved<FollowUp>> = None;
        let mut correct: Option<Saved<FollowUp>> = None;
        for f in &self.followups {
            ui.horizontal(|ui| {
                ui.monospace(f.due.to_string());
                ui.label(followup_reason(&f.reason));
                if ui.small_button(t("Correct")).clicked() {
                    correct = Some(f.clone());
                }
                match f.done_on {
                    Some(d) => {
                        ui.weak(tf("done {date}", &[("date", &d)]));
                        ui.weak(f.outcome.clone().unwrap_or_default());
                    }
                    None => {
                        if f.due < env.today {
                            ui.colored_label(ORANGE, t("Overdue"));
                        }
                        if ui.button(t("Close")).clicked() {
                            close = Some(f.clone());
                        }
                    }
                }
            });
        }
        if let Some(f) = close {
            self.form = Some(OpenForm::CloseFollowUp(CloseFollowUpForm {
                id: f.id(),
                followup: f.data,
                done_on: env.today.to_string(),
                outcome: String::new(),
            }));
        }
        if let Some(f) = correct {
            self.form = Some(OpenForm::FollowUp(FollowUpForm::correcting(
                f.id(),
                &f.data,
            )));
            self.form_error = None;
        }
    }
}

/// The first eight characters of a laptop's id, enough to tell laptops apart.
fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// An audit detail in the UI language: a removal's reason by its label;
/// field names as they are (they name columns, not words).
fn history_detail(detail: &str) -> String {
    match detail
        .strip_prefix("removed: ")
        .and_then(RemovalReason::parse)
    {
        Some(reason) => tf("removed: {reason}", &[("reason", &reason.label())]),
        None => detail.to_owned(),
    }
}
