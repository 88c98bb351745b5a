//! The client list: search as you type over code, nickname and phone,
//! filters, and a virtualised table that fetches rows a page at a time.
//! The query runs when the search or a filter changes, never per frame.

use super::forms::{ClientForm, Dialog};
use super::i18n::{t, tf};
use super::job::Job;
use super::labels::Labelled;
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;
use crate::store::{ClientFilter, ClientRow};
use chrono::NaiveDate;
use egui_extras::{Column, TableBuilder};
use std::collections::HashMap;
use uuid::Uuid;

type Request = (u64, ClientFilter, NaiveDate);
type Reply = (u64, Result<Vec<i64>, String>);

/// Runs client-list queries on a thread of its own with a second,
/// read-only connection, so typing never waits for the database; only the
/// newest of the filters typed meanwhile is run. It ends with the screen.
pub type SearchWorker = Job<Reply, Request>;

fn search_worker(reader: crate::store::Reader) -> SearchWorker {
    Job::spawn(move |w| {
        while let Some((seq, filter, day)) = w.newest_request() {
            let result = reader.client_ids(&filter, day).map_err(|e| e.to_string());
            if !w.send((seq, result)) {
                break;
            }
        }
    })
}

/// Rows fetched per page.
pub const PAGE: usize = 100;

#[derive(Default)]
pub struct ClientsScreen {
    /// Off-thread queries; without one (no second connection) queries run inline.
    worker: Option<SearchWorker>,
    /// Sequence number of the newest request, and of the result shown.
    sent: u64,
    shown: u64,
    pub filter: ClientFilter,
    /// The filter the ids below were loaded for, and the data generation.
    loaded: Option<(ClientFilter, u64)>,
    /// Matching row ids in code order.
    pub rids: Vec<i64>,
    pages: HashMap<usize, Vec<ClientRow>>,
    provinces: Option<Vec<String>>,
    pub form: Dialog<ClientForm>,
    pub error: Option<String>,
    /// Queries run so far (for tests: typing runs one per change, scrolling none per frame).
    pub queries: u64,
    /// Whether the search box had the cursor put in it since the screen was shown.
    pub focused_once: bool,
}

impl ClientsScreen {
    /// A screen whose searches run on a worker thread.
    pub fn new(store: &crate::store::Store) -> Self {
        ClientsScreen {
            worker: store.reader().ok().map(search_worker),
            ..Default::default()
        }
    }

    /// Whether a search is still running.
    pub fn searching(&self) -> bool {
        self.shown < self.sent
    }

    /// Waits (up to `timeout`) until the background work has something
    /// to show; for tests, which would otherwise sleep.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) {
        if let Some(w) = &mut self.worker {
            w.wait_ready(timeout);
        }
    }

    fn show_result(&mut self, result: Result<Vec<i64>, String>) {
        match result {
            Ok(rids) => {
                self.rids = rids;
                self.error = None;
            }
            Err(e) => {
                self.rids.clear();
                self.error = Some(e);
            }
        }
        self.pages.clear();
    }

    fn reload_if_needed(&mut self, env: &Env<'_>) {
        if let Some(worker) = &mut self.worker {
            let (replies, _) = worker.drain();
            let newest = replies.into_iter().last();
            if let Some((seq, result)) = newest
                && seq >= self.shown
            {
                self.shown = seq;
                self.show_result(result);
            }
        }
        let key = (self.filter.clone(), env.generation);
        if self.loaded.as_ref() == Some(&key) {
            return;
        }
        self.queries += 1;
        self.sent += 1;
        self.loaded = Some(key);
        let sent = match &self.worker {
            Some(worker) => worker.ask((self.sent, self.filter.clone(), env.today)),
            None => false,
        };
        if !sent {
            self.worker = None;
            let result = env
                .store
                .client_ids(&self.filter, env.today)
                .map_err(|e| e.to_string());
            self.shown = self.sent;
            self.show_result(result);
        }
    }

    /// The row at `index`, fetching its page when needed.
    pub fn row(&mut self, env: &Env<'_>, index: usize) -> Option<&ClientRow> {
        let page = index / PAGE;
        if !self.pages.contains_key(&page) {
            let start = page * PAGE;
            let end = (start + PAGE).min(self.rids.len());
            let rows = env
                .store
                .client_rows(&self.rids[start..end])
                .unwrap_or_default();
            self.pages.insert(page, rows);
        }
        self.pages
            .get(&page)
            .and_then(|rows| rows.get(index % PAGE))
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        self.form.after_save(result);
    }

    fn filters_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        let provinces = self
            .provinces
            .get_or_insert_with(|| env.store.client_provinces().unwrap_or_default())
            .clone();
        ui.horizontal_wrapped(|ui| {
            let id = ui.label(t("Status")).id;
            egui::ComboBox::from_id_salt("status_filter")
                .selected_text(self.filter.status.map(|s| s.label()).unwrap_or(t("Any")))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.status, None, t("Any"));
                    for s in CaseStatus::ALL {
                        ui.selectable_value(&mut self.filter.status, Some(*s), s.label());
                    }
                })
                .response
                .labelled_by(id);
            let id = ui.label(t("Province")).id;
            egui::ComboBox::from_id_salt("province_filter")
                .selected_text(
                    self.filter
                        .province
                        .clone()
                        .unwrap_or_else(|| t("Any").to_owned()),
                )
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.province, None, t("Any"));
                    for p in &provinces {
                        ui.selectable_value(&mut self.filter.province, Some(p.clone()), p);
                    }
                })
                .response
                .labelled_by(id);
            let id = ui.label(t("Worker")).id;
            let current = self
                .filter
                .worker
                .and_then(|w| env.forms.workers.iter().find(|x| x.0 == w))
                .map(|w| w.1.clone())
                .unwrap_or_else(|| t("Any").to_owned());
            egui::ComboBox::from_id_salt("worker_filter")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.worker, None, t("Any"));
                    for (wid, name) in &env.forms.workers {
                        ui.selectable_value(&mut self.filter.worker, Some(*wid), name);
                    }
                })
                .response
                .labelled_by(id);
            ui.checkbox(&mut self.filter.detained_now, t("Detained now"));
            ui.checkbox(&mut self.filter.on_methadone, t("On methadone"));
            ui.checkbox(&mut self.filter.on_art, t("On ART"));
        });
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        ui.horizontal(|ui| {
            ui.heading(t("Clients"));
            if ui.button(t("Register client")).clicked() {
                // An outreach worker registers their own clients (on a
                // field laptop, the ones it keeps).
                let mut new = Client::with_code("");
                let me = env.store.user();
                if me.role == crate::domain::Role::Outreach {
                    new.assigned_worker = Some(me.id);
                }
                self.form.open(ClientForm::new(None, new));
            }
        });
        let search_id = ui.label(t("Search by code, nickname or phone")).id;
        let search = ui.add(
            egui::TextEdit::singleline(&mut self.filter.text)
                .desired_width(360.0)
                .hint_text(t("Type a code, e.g. PP-0012")),
        );
        let search = search.labelled_by(search_id);
        if !self.focused_once {
            search.request_focus();
            self.focused_once = true;
        }
        self.filters_ui(ui, env);
        self.reload_if_needed(env);
        if search.lost_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter))
            && !self.rids.is_empty()
            && let Some(first) = self.row(env, 0)
        {
            action = Action::LogContact(first.id);
        }
        ui.horizontal(|ui| {
            ui.label(tf("{n} clients", &[("n", &self.rids.len())]));
            if self.searching() {
                ui.spinner();
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(30));
            }
        });
        error_text(ui, self.error.as_deref());
        ui.separator();
        if let Some(a) = self.table_ui(ui, env) {
            action = a;
        }
        if let Some((id, c)) = self.form.show(ui, env.forms) {
            action = Action::Write(Write::Client(id, c));
        }
        action
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Option<Action> {
        let mut clicked: Option<Uuid> = None;
        let total = self.rids.len();
        TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::exact(120.0))
            .column(Column::initial(180.0).at_least(80.0))
            .column(Column::exact(70.0))
            .column(Column::exact(50.0))
            .column(Column::initial(140.0))
            .column(Column::initial(130.0))
            .column(Column::remainder())
            .header(22.0, |mut header| {
                for h in [
                    t("Code"),
                    t("Nickname"),
                    t("Sex"),
                    t("Age"),
                    t("Province"),
                    t("Status"),
                    t("Detained"),
                ] {
                    header.col(|ui| {
                        ui.strong(h);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, total, |mut row| {
                    let index = row.index();
                    let Some(r) = self.row(env, index).cloned() else {
                        return;
                    };
                    row.col(|ui| {
                        if ui.link(&r.code).clicked() {
                            clicked = Some(r.id);
                        }
                    });
                    row.col(|ui| {
                        ui.label(shown_name(r.nickname.as_deref(), env.hide_names));
                    });
                    row.col(|ui| {
                        ui.label(r.sex.label());
                    });
                    row.col(|ui| {
                        ui.label(age_text(r.birth_year, env.today));
                    });
                    row.col(|ui| {
                        ui.label(r.province.as_deref().unwrap_or(""));
                    });
                    row.col(|ui| {
                        ui.label(r.status.label());
                    });
                    row.col(|ui| {
                        if r.detained {
                            ui.colored_label(RED, t("Detained"));
                        }
                    });
                });
            });
        clicked.map(Action::OpenClient)
    }
}
