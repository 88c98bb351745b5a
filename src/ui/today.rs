//! Today: the worker's follow-ups due and overdue, clients detained now, and
//! detained clients at risk of losing methadone or ART.

use super::forms::{self, CloseFollowUpForm, Outcome};
use super::i18n::{t, tf};
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;
use crate::store::{DetainedRow, FollowUpRow, Store};
use uuid::Uuid;

/// Whose work the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Mine,
    Everyone,
    Worker(Uuid),
}

pub struct TodayScreen {
    pub scope: Scope,
    loaded: Option<(Scope, u64)>,
    pub followups: Vec<FollowUpRow>,
    pub detained: Vec<DetainedRow>,
    pub error: Option<String>,
    form: Option<CloseFollowUpForm>,
    form_error: Option<String>,
}

impl TodayScreen {
    pub fn new(store: &Store) -> Self {
        // Office roles see everyone's work by default; outreach workers their own.
        let scope = if store.user().role == Role::Outreach {
            Scope::Mine
        } else {
            Scope::Everyone
        };
        TodayScreen {
            scope,
            loaded: None,
            followups: Vec::new(),
            detained: Vec::new(),
            error: None,
            form: None,
            form_error: None,
        }
    }

    fn worker(&self, env: &Env<'_>) -> Option<Uuid> {
        match self.scope {
            Scope::Mine => Some(env.store.user().id),
            Scope::Everyone => None,
            Scope::Worker(w) => Some(w),
        }
    }

    fn reload(&mut self, env: &Env<'_>) {
        let key = (self.scope, env.generation);
        if self.loaded == Some(key) {
            return;
        }
        let worker = self.worker(env);
        let result = env
            .store
            .followups_due(env.today + chrono::Duration::days(7), worker)
            .and_then(|f| {
                env.store
                    .detained_on(env.today, worker, None)
                    .map(|d| (f, d))
            });
        match result {
            Ok((f, d)) => {
                self.followups = f;
                self.detained = d;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        self.loaded = Some(key);
    }

    pub fn after_save(&mut self, result: &Result<(), String>) {
        match result {
            Ok(()) => {
                self.form = None;
                self.form_error = None;
            }
            Err(e) => self.form_error = Some(e.clone()),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        ui.horizontal(|ui| {
            ui.heading(t("Today"));
            ui.label(env.today.format("%Y-%m-%d").to_string());
            if env.store.user().role != Role::Outreach {
                let id = ui.label(t("Show work of")).id;
                let current = match self.scope {
                    Scope::Mine => t("Me").to_owned(),
                    Scope::Everyone => t("Everyone").to_owned(),
                    Scope::Worker(w) => env
                        .forms
                        .workers
                        .iter()
                        .find(|x| x.0 == w)
                        .map(|x| x.1.clone())
                        .unwrap_or_default(),
                };
                egui::ComboBox::from_id_salt("today_scope")
                    .selected_text(current)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.scope, Scope::Mine, t("Me"));
                        ui.selectable_value(&mut self.scope, Scope::Everyone, t("Everyone"));
                        for (wid, name) in &env.forms.workers {
                            ui.selectable_value(&mut self.scope, Scope::Worker(*wid), name);
                        }
                    })
                    .response
                    .labelled_by(id);
            }
        });
        self.reload(env);
        error_text(ui, self.error.as_deref());
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            let at_risk: Vec<&DetainedRow> = self.detained.iter().filter(|d| d.at_risk()).collect();
            ui.add_space(6.0);
            ui.strong(tf("At risk of losing methadone or ART in detention ({n})", &[("n", &at_risk.len())]));
            if at_risk.is_empty() {
                ui.weak(t("No detained client is on methadone or ART at a place where it is not known to be available."));
            }
            egui::Grid::new("at_risk").num_columns(5).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
                for d in &at_risk {
                    if ui.link(&d.code).clicked() {
                        action = Action::OpenClient(d.client_id);
                    }
                    ui.label(shown_name(d.nickname.as_deref(), env.hide_names));
                    ui.label(&d.location);
                    ui.label(tf("{n} days", &[("n", &d.days)]));
                    let mut missing = Vec::new();
                    if d.on_methadone && d.methadone_here != Availability::Yes {
                        missing.push(t("methadone"));
                    }
                    if d.on_art && d.art_here != Availability::Yes {
                        missing.push(t("ART"));
                    }
                    ui.colored_label(RED, tf("no known {what} there", &[("what", &missing.join(" + "))]));
                    ui.end_row();
                }
            });
            ui.separator();
            ui.strong(tf("Follow-ups due this week and overdue ({n})", &[("n", &self.followups.len())]));
            if self.followups.is_empty() {
                ui.weak(t("Nothing due. Follow-ups you add on a client's profile appear here; re-linkage and detention visits will be added automatically by the continuity rules."));
            }
            let mut close = None;
            for f in &self.followups {
                ui.horizontal(|ui| {
                    ui.monospace(f.followup.due.to_string());
                    if f.followup.due < env.today {
                        ui.colored_label(ORANGE, t("Overdue"));
                    }
                    if ui.link(&f.code).clicked() {
                        action = Action::OpenClient(f.followup.client_id);
                    }
                    ui.label(shown_name(f.nickname.as_deref(), env.hide_names));
                    ui.label(&f.followup.reason);
                    if ui.small_button(t("Close")).clicked() {
                        close = Some(f.followup.clone());
                    }
                });
            }
            if let Some(f) = close {
                self.form = Some(CloseFollowUpForm { id: f.id(), followup: f.data, done_on: env.today.to_string(), outcome: String::new() });
                self.form_error = None;
            }
            ui.separator();
            ui.strong(tf("Detained now ({n})", &[("n", &self.detained.len())]));
            if self.detained.is_empty() {
                ui.weak(t("No client is in an open detention."));
            }
            egui::Grid::new("detained_now").num_columns(5).striped(true).show(ui, |ui| {
                for d in &self.detained {
                    if ui.link(&d.code).clicked() {
                        action = Action::OpenClient(d.client_id);
                    }
                    ui.label(shown_name(d.nickname.as_deref(), env.hide_names));
                    ui.label(&d.location);
                    ui.label(tf("{n} days", &[("n", &d.days)]));
                    let mut on = Vec::new();
                    if d.on_methadone {
                        on.push(t("methadone"));
                    }
                    if d.on_art {
                        on.push(t("ART"));
                    }
                    ui.label(on.join(", "));
                    ui.end_row();
                }
            });
        });
        if let Some(form) = &mut self.form {
            match forms::show(ui, form, env.forms, self.form_error.as_deref()) {
                Outcome::Editing => {}
                Outcome::Cancel => self.form = None,
                Outcome::Save((id, f)) => action = Action::Write(Write::CloseFollowUp(id, f)),
            }
        }
        action
    }
}
