//! Today: the continuity worklists (at risk in detention, re-linkage after
//! release, ART overdue and interrupted, missed methadone, lost to
//! follow-up), follow-ups due, and who is detained now — for the logged-in
//! worker, or (coordinators and managers) any worker or everyone.

use super::forms::{CloseFollowUpForm, Dialog};
use super::i18n::{t, tf};
use super::job::Job;
use super::labels::followup_reason;
use super::widgets::*;
use super::{Action, Env, Write};
use crate::continuity::{Entry, EntryKind, MethadoneAction};
use crate::domain::*;
use crate::store::{DetainedRow, FollowUpRow, Reader, Store};
use chrono::NaiveDate;
use uuid::Uuid;

type Request = (u64, NaiveDate, Option<Uuid>);
type Reply = (u64, Result<Vec<Entry>, String>);

/// Computes worklists on a thread of its own with a read-only connection:
/// everyone's worklist on a large database takes longer than a frame.
pub type WorklistWorker = Job<Reply, Request>;

fn worklist_worker(reader: Reader) -> WorklistWorker {
    Job::spawn(move |w| {
        while let Some((seq, day, worker)) = w.newest_request() {
            let result = reader.worklist(day, worker).map_err(|e| e.to_string());
            if !w.send((seq, result)) {
                break;
            }
        }
    })
}

/// Whose work the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Mine,
    Everyone,
    Worker(Uuid),
}

pub struct TodayScreen {
    pub scope: Scope,
    worker_thread: Option<WorklistWorker>,
    sent: u64,
    shown: u64,
    loaded: Option<(Scope, u64)>,
    pub worklist: Vec<Entry>,
    /// Positions in `worklist` of each kind's entries (in `KINDS` order),
    /// grouped once when the list arrives, not on every frame.
    by_kind: Vec<Vec<usize>>,
    pub followups: Vec<FollowUpRow>,
    pub detained: Vec<DetainedRow>,
    pub error: Option<String>,
    form: Dialog<CloseFollowUpForm>,
}

/// Words for one worklist entry, in the UI language.
pub fn entry_text(e: &Entry) -> String {
    let place = e.location.clone().unwrap_or_default();
    match e.kind {
        EntryKind::AtRiskDetained => {
            let what = match e.service {
                Some(Service::Methadone) => t("methadone"),
                _ => t("ART"),
            };
            tf(
                "{days} days at {place}, which has no known {what}",
                &[("days", &e.days), ("place", &place), ("what", &what)],
            )
        }
        EntryKind::ReleaseRelinkage => tf(
            "Released {n} days ago from {place}; no dose or refill since",
            &[("n", &e.days), ("place", &place)],
        ),
        EntryKind::ArtInterrupted => tf(
            "ART interrupted: {n} days past the refill's supply",
            &[("n", &e.days)],
        ),
        EntryKind::ArtOverdue => tf("ART refill overdue by {n} days", &[("n", &e.days)]),
        EntryKind::MethadoneMissed
            if matches!(e.methadone, Some(MethadoneAction::Reinduction { .. })) =>
        {
            tf(
                "Missed methadone {n} days in a row: re-induction",
                &[("n", &e.days)],
            )
        }
        EntryKind::MethadoneMissed => tf(
            "Missed methadone {n} days in a row: dose review",
            &[("n", &e.days)],
        ),
        EntryKind::LostToFollowUp => tf("No contact for {n} days", &[("n", &e.days)]),
    }
}

/// The heading of a worklist section.
pub fn kind_title(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::AtRiskDetained => t("At risk of losing methadone or ART in detention"),
        EntryKind::ReleaseRelinkage => t("Released, not yet re-linked"),
        EntryKind::ArtInterrupted => t("ART interrupted"),
        EntryKind::ArtOverdue => t("ART refill overdue"),
        EntryKind::MethadoneMissed => t("Missed methadone"),
        EntryKind::LostToFollowUp => t("Lost to follow-up"),
    }
}

const KINDS: [EntryKind; 6] = [
    EntryKind::AtRiskDetained,
    EntryKind::ReleaseRelinkage,
    EntryKind::ArtInterrupted,
    EntryKind::MethadoneMissed,
    EntryKind::ArtOverdue,
    EntryKind::LostToFollowUp,
];

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
            worker_thread: store.reader().ok().map(worklist_worker),
            sent: 0,
            shown: 0,
            loaded: None,
            worklist: Vec::new(),
            by_kind: vec![Vec::new(); KINDS.len()],
            followups: Vec::new(),
            detained: Vec::new(),
            error: None,
            form: Dialog::default(),
        }
    }

    fn worker(&self, env: &Env<'_>) -> Option<Uuid> {
        match self.scope {
            Scope::Mine => Some(env.store.user().id),
            Scope::Everyone => None,
            Scope::Worker(w) => Some(w),
        }
    }

    /// Whether the worklist is still being computed.
    pub fn computing(&self) -> bool {
        self.shown < self.sent
    }

    fn reload(&mut self, env: &Env<'_>) {
        if let Some(w) = &mut self.worker_thread {
            let (replies, _) = w.drain();
            let newest = replies.into_iter().last();
            if let Some((seq, result)) = newest
                && seq >= self.shown
            {
                self.shown = seq;
                match result {
                    Ok(list) => self.set_worklist(list),
                    Err(e) => self.error = Some(e),
                }
            }
        }
        let key = (self.scope, env.generation);
        if self.loaded == Some(key) {
            return;
        }
        self.loaded = Some(key);
        let worker = self.worker(env);
        self.sent += 1;
        let sent = match &self.worker_thread {
            Some(w) => w.ask((self.sent, env.today, worker)),
            None => false,
        };
        if !sent {
            self.worker_thread = None;
            self.shown = self.sent;
            match env.store.worklist(env.today, worker) {
                Ok(list) => self.set_worklist(list),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        let result = env
            .store
            .followups_due(env.today + chrono::Duration::days(7), worker)
            .and_then(|f| {
                let d = env.store.detained_on(env.today, worker, None)?;
                Ok((f, d))
            });
        match result {
            Ok((f, d)) => {
                self.followups = f;
                self.detained = d;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        self.form.after_save(result);
    }

    fn set_worklist(&mut self, list: Vec<Entry>) {
        self.by_kind = KINDS
            .iter()
            .map(|kind| {
                list.iter()
                    .enumerate()
                    .filter(|(_, e)| e.kind == *kind)
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        self.worklist = list;
    }

    fn scope_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        if env.store.user().role == Role::Outreach {
            return;
        }
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

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        ui.horizontal(|ui| {
            ui.heading(t("Today"));
            ui.label(env.today.format("%Y-%m-%d").to_string());
            self.scope_ui(ui, env);
        });
        self.reload(env);
        if self.computing() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t("Working out today's lists…"));
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        error_text(ui, self.error.as_deref());
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (k, kind) in KINDS.into_iter().enumerate() {
                    let rows = &self.by_kind[k];
                    let color = match kind {
                        EntryKind::AtRiskDetained
                        | EntryKind::ArtInterrupted
                        | EntryKind::ReleaseRelinkage => RED,
                        EntryKind::LostToFollowUp => BLUE,
                        _ => ORANGE,
                    };
                    let title =
                        egui::RichText::new(format!("{} ({})", kind_title(kind), rows.len()))
                            .strong()
                            .color(color);
                    egui::CollapsingHeader::new(title)
                        .id_salt(kind.as_str())
                        .default_open(kind != EntryKind::LostToFollowUp)
                        .show(ui, |ui| {
                            if rows.is_empty() {
                                ui.weak(t("Nobody today."));
                                return;
                            }
                            egui::ScrollArea::vertical()
                                .id_salt(kind.as_str())
                                .max_height(260.0)
                                .show_rows(ui, 20.0, rows.len(), |ui, range| {
                                    for e in rows[range].iter().map(|&i| &self.worklist[i]) {
                                        ui.horizontal(|ui| {
                                            if ui.link(&e.client_code).clicked() {
                                                action = Action::OpenClient(e.client_id);
                                            }
                                            ui.label(entry_text(e));
                                        });
                                    }
                                });
                        });
                }
                ui.separator();
                let title = tf(
                    "Follow-ups due this week and overdue ({n})",
                    &[("n", &self.followups.len())],
                );
                let mut close = None;
                egui::CollapsingHeader::new(egui::RichText::new(title).strong())
                    .id_salt("followups")
                    .default_open(true)
                    .show(ui, |ui| {
                        if self.followups.is_empty() {
                            ui.weak(t("Nothing due."));
                        }
                        egui::ScrollArea::vertical()
                            .id_salt("followups_rows")
                            .max_height(260.0)
                            .show_rows(ui, 20.0, self.followups.len(), |ui, range| {
                                for f in &self.followups[range] {
                                    ui.horizontal(|ui| {
                                        ui.monospace(f.followup.due.to_string());
                                        if f.followup.due < env.today {
                                            ui.colored_label(ORANGE, t("Overdue"));
                                        }
                                        if ui.link(&f.code).clicked() {
                                            action = Action::OpenClient(f.followup.client_id);
                                        }
                                        ui.label(shown_name(f.nickname.as_deref(), env.hide_names));
                                        ui.label(followup_reason(&f.followup.reason));
                                        if ui.small_button(t("Close")).clicked() {
                                            close = Some(f.followup.clone());
                                        }
                                    });
                                }
                            });
                    });
                if let Some(f) = close {
                    self.form.open(CloseFollowUpForm {
                        id: f.id(),
                        followup: f.data,
                        done_on: env.today.to_string(),
                        outcome: String::new(),
                    });
                }
                let title = tf("Detained now ({n})", &[("n", &self.detained.len())]);
                egui::CollapsingHeader::new(egui::RichText::new(title).strong())
                    .id_salt("detained")
                    .default_open(false)
                    .show(ui, |ui| {
                        if self.detained.is_empty() {
                            ui.weak(t("No client is in an open detention."));
                        }
                        // Only the rows in view are laid out (and in the
                        // accessibility tree): thousands may be detained.
                        egui::ScrollArea::vertical()
                            .id_salt("detained_rows")
                            .max_height(300.0)
                            .show_rows(ui, 20.0, self.detained.len(), |ui, range| {
                                for d in &self.detained[range] {
                                    ui.horizontal(|ui| {
                                        let cell = |ui: &mut egui::Ui, width: f32, text: &str| {
                                            ui.add_sized(
                                                [width, 18.0],
                                                egui::Label::new(text).truncate(),
                                            );
                                        };
                                        if ui
                                            .add_sized([110.0, 18.0], egui::Link::new(&d.code))
                                            .clicked()
                                        {
                                            action = Action::OpenClient(d.client_id);
                                        }
                                        cell(
                                            ui,
                                            120.0,
                                            &shown_name(d.nickname.as_deref(), env.hide_names),
                                        );
                                        cell(ui, 220.0, &d.location);
                                        cell(ui, 80.0, &tf("{n} days", &[("n", &d.days)]));
                                        let mut on = Vec::new();
                                        if d.on_methadone {
                                            on.push(t("methadone"));
                                        }
                                        if d.on_art {
                                            on.push(t("ART"));
                                        }
                                        ui.label(on.join(", "));
                                    });
                                }
                            });
                    });
            });
        if let Some((id, f)) = self.form.show(ui, env.forms) {
            action = Action::Write(Write::CloseFollowUp(id, f));
        }
        action
    }
}
