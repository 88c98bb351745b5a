//! Reports: the period report of shared/INDICATORS.md for a date range
//! (presets: last month, last quarter, this year), shown as a table and
//! saved as JSON, CSV or XLSX, optionally with small counts suppressed; and
//! the client line list, de-identified unless a coordinator asks otherwise
//! after a warning. Both run on a worker thread with progress and cancel.

use super::i18n::{t, tf};
use super::widgets::*;
use super::{Action, Env};

/// What the screen asks the workspace to do with the store (writes audit).
#[derive(Debug, Clone, PartialEq)]
pub enum ReportsCommand {
    /// Save the report shown to this file.
    Save(PathBuf),
    /// Export the line list to this file, identifiable or not.
    Export(PathBuf, bool),
}
use super::job::{Job, Polled};
use crate::domain::{Permission, parse_date};
use crate::reports::period::{INDICATORS, PeriodReport, Section};
use crate::store::{ExportJob, ReportJob, Store};
use chrono::{Datelike, Duration, NaiveDate};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

enum Reply {
    Report(Result<PeriodReport, String>),
    Exported(Result<(usize, PathBuf), String>),
}

struct Running {
    job: Job<Reply>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    exporting: bool,
}

/// The reports screen.
pub struct ReportsScreen {
    pub from: String,
    pub to: String,
    pub report: Option<PeriodReport>,
    pub suppress: bool,
    pub suppress_below: i64,
    pub identifiable: bool,
    confirm_identifiable: bool,
    pub message: Option<(String, bool)>,
    running: Option<Running>,
}

impl Default for ReportsScreen {
    fn default() -> Self {
        let (from, to) = last_month(crate::store::today());
        ReportsScreen {
            from: from.to_string(),
            to: to.to_string(),
            report: None,
            suppress: false,
            suppress_below: 5,
            identifiable: false,
            confirm_identifiable: false,
            message: None,
            running: None,
        }
    }
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The calendar month before `today`'s.
pub fn last_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = month_start(today) - Duration::days(1);
    (month_start(end), end)
}

/// The calendar quarter before `today`'s.
pub fn last_quarter(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let q_month = (today.month0() / 3) * 3 + 1;
    let this_quarter = NaiveDate::from_ymd_opt(today.year(), q_month, 1).unwrap_or(today);
    let end = this_quarter - Duration::days(1);
    let start_month = (end.month0() / 3) * 3 + 1;
    (
        NaiveDate::from_ymd_opt(end.year(), start_month, 1).unwrap_or(end),
        end,
    )
}

/// 1 January of `today`'s year to today.
pub fn this_year(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
        today,
    )
}

impl ReportsScreen {
    /// Whether a report or an export is being made.
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Waits (up to `timeout`) until the background work has something
    /// to show; for tests, which would otherwise sleep.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) {
        if let Some(r) = &mut self.running {
            r.job.wait_ready(timeout);
        }
    }

    fn period(&self) -> Result<(NaiveDate, NaiveDate), String> {
        let from = parse_date(&self.from)
            .ok_or_else(|| tf("From: {v} is not a date", &[("v", &self.from)]))?;
        let to =
            parse_date(&self.to).ok_or_else(|| tf("To: {v} is not a date", &[("v", &self.to)]))?;
        if to < from {
            return Err(t("To comes before From.").into());
        }
        Ok((from, to))
    }

    fn spawn(
        &mut self,
        exporting: bool,
        total: usize,
        work: impl FnOnce(&dyn Fn(usize, usize), &AtomicBool) -> Reply + Send + 'static,
    ) {
        let (done, all) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(total)),
        );
        let (d, a) = (done.clone(), all.clone());
        let job = Job::spawn(move |w| {
            let progress = move |n: usize, of: usize| {
                d.store(n, Ordering::Relaxed);
                a.store(of, Ordering::Relaxed);
            };
            w.send(work(&progress, w.cancel_flag()));
        });
        self.running = Some(Running {
            job,
            done,
            total: all,
            exporting,
        });
        self.message = None;
    }

    /// Starts the period report for the chosen dates.
    pub fn make_report(&mut self, store: &Store) {
        let job: ReportJob = match self
            .period()
            .and_then(|(from, to)| store.report_job(from, to).map_err(|e| e.to_string()))
        {
            Ok(job) => job,
            Err(e) => {
                self.message = Some((e, true));
                return;
            }
        };
        self.spawn(false, 6, move |progress, cancel| {
            Reply::Report(job.run(progress, cancel).map_err(|e| e.to_string()))
        });
    }

    /// Starts the line-list export to `out`.
    pub fn export(&mut self, store: &mut Store, out: PathBuf, identifiable: bool) {
        let job: ExportJob = match store.export_job(identifiable, store.today()) {
            Ok(job) => job,
            Err(e) => {
                self.message = Some((e.to_string(), true));
                return;
            }
        };
        self.spawn(true, 0, move |progress, cancel| {
            Reply::Exported(
                job.run(&out, progress, cancel)
                    .map(|n| (n, out.clone()))
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// Saves the report shown to `out` (format from the extension).
    pub fn save(&mut self, store: &mut Store, out: &std::path::Path) {
        let Some(report) = &self.report else {
            return;
        };
        let below = self.suppress.then_some(self.suppress_below);
        self.message = Some(match store.save_report(report, out, below) {
            Ok(()) => (tf("Saved {file}", &[("file", &out.display())]), false),
            Err(e) => (e.to_string(), true),
        });
    }

    fn receive(&mut self) {
        let Some(running) = &mut self.running else {
            return;
        };
        let reply = match running.job.poll() {
            Polled::Message(reply) => reply,
            Polled::Pending => return,
            Polled::Finished => {
                self.running = None;
                return;
            }
        };
        self.running = None;
        crate::memory::give_back();
        match reply {
            Reply::Report(Ok(report)) => self.report = Some(report),
            Reply::Exported(Ok((n, path))) => {
                self.message = Some((
                    tf(
                        "Exported {n} clients to {file}",
                        &[("n", &n), ("file", &path.display())],
                    ),
                    false,
                ));
            }
            Reply::Report(Err(e)) | Reply::Exported(Err(e)) => self.message = Some((e, true)),
        }
    }

    /// Carries out what [`ReportsScreen::ui`] asked for.
    pub fn apply(&mut self, store: &mut Store, command: ReportsCommand) {
        match command {
            ReportsCommand::Save(path) => self.save(store, &path),
            ReportsCommand::Export(path, identifiable) => self.export(store, path, identifiable),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        self.receive();
        let mut action = Action::None;
        ui.heading(t("Reports"));
        let busy = self.busy();
        ui.add_enabled_ui(!busy, |ui| self.period_ui(ui, env.store, &mut action));
        if let Some(running) = &self.running {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if running.exporting {
                    t("Exporting the line list…")
                } else {
                    t("Counting the indicators…")
                });
                let total = running.total.load(Ordering::Relaxed);
                if total > 0 {
                    let done = running.done.load(Ordering::Relaxed).min(total);
                    ui.add(
                        egui::ProgressBar::new(done as f32 / total as f32)
                            .desired_width(220.0)
                            .show_percentage(),
                    );
                }
                if ui.button(t("Cancel")).clicked() {
                    running.job.cancel();
                }
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        if let Some((text, error)) = &self.message {
            if *error {
                ui.colored_label(ui.visuals().error_fg_color, text);
            } else {
                ui.colored_label(GREEN, text);
            }
        }
        ui.separator();
        ui.add_enabled_ui(!busy, |ui| self.line_list_ui(ui, env.store, &mut action));
        ui.separator();
        if let Some(report) = &self.report {
            report_table(ui, report);
        }
        if self.confirm_identifiable {
            self.confirm_ui(ui, &mut action);
        }
        action
    }

    fn period_ui(&mut self, ui: &mut egui::Ui, store: &Store, action: &mut Action) {
        let today = store.today();
        ui.horizontal(|ui| {
            let id = field_label(ui, t("From"));
            ui.add(egui::TextEdit::singleline(&mut self.from).desired_width(100.0))
                .labelled_by(id);
            let id = field_label(ui, t("To"));
            ui.add(egui::TextEdit::singleline(&mut self.to).desired_width(100.0))
                .labelled_by(id);
            for (label, (from, to)) in [
                (t("Last month"), last_month(today)),
                (t("Last quarter"), last_quarter(today)),
                (t("This year"), this_year(today)),
            ] {
                if ui.button(label).clicked() {
                    self.from = from.to_string();
                    self.to = to.to_string();
                }
            }
        });
        let period = self.period();
        if let Err(e) = &period {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(period.is_ok(), egui::Button::new(t("Make report")))
                .clicked()
            {
                self.make_report(store);
            }
            let shown = self.report.is_some();
            let check = ui.checkbox(
                &mut self.suppress,
                t("For sharing outside: show counts below"),
            );
            ui.add_enabled(
                self.suppress,
                egui::DragValue::new(&mut self.suppress_below).range(2..=100),
            )
            .labelled_by(check.id);
            ui.label(t("as <N"));
            for (label, ext) in [("JSON", "json"), ("CSV", "csv"), ("Excel", "xlsx")] {
                let text = tf("Save {format}…", &[("format", &label)]);
                if ui.add_enabled(shown, egui::Button::new(text)).clicked()
                    && let Some(report) = &self.report
                    && let Some(path) = rfd::FileDialog::new()
                        .set_file_name(format!("tether-report-{}-{}.{ext}", report.from, report.to))
                        .save_file()
                {
                    *action = Action::Reports(ReportsCommand::Save(path));
                }
            }
        });
    }

    fn line_list_ui(&mut self, ui: &mut egui::Ui, store: &Store, action: &mut Action) {
        ui.strong(t("Client line list"));
        ui.label(t("One row per client: code, sex, age band, province, status, current detention, services, and counts of contacts, arrests and detentions. No names, nicknames or phone numbers unless you include them below."));
        ui.horizontal(|ui| {
            if store.user().role.can(Permission::ExportIdentifiable) {
                ui.checkbox(
                    &mut self.identifiable,
                    t("Include nicknames, names and phone numbers"),
                );
            }
            for (label, ext) in [("CSV", "csv"), ("Excel", "xlsx")] {
                let text = tf("Export {format}…", &[("format", &label)]);
                if ui.button(text).clicked() {
                    if self.identifiable {
                        self.confirm_identifiable = true;
                    } else if let Some(path) = rfd::FileDialog::new()
                        .set_file_name(format!("tether-clients.{ext}"))
                        .save_file()
                    {
                        *action = Action::Reports(ReportsCommand::Export(path, false));
                    }
                }
            }
        });
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui, action: &mut Action) {
        let mut close = false;
        egui::Window::new(t("Export names and phone numbers?"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ui.ctx(), |ui| {
                ui.label(t("This file will name people who use drugs, some of them wanted or detained. If it is lost, copied or seized it can lead to arrest or worse. Keep it encrypted, share it with no one outside the programme, and delete it when done. The export is recorded in the audit log under your name."));
                ui.horizontal(|ui| {
                    for (label, ext) in [("CSV", "csv"), ("Excel", "xlsx")] {
                        let text = tf("I understand: export {format}…", &[("format", &label)]);
                        if ui.button(text).clicked() {
                            close = true;
                            if let Some(path) = rfd::FileDialog::new()
                                .set_file_name(format!("tether-clients-identifiable.{ext}"))
                                .save_file()
                            {
                                *action = Action::Reports(ReportsCommand::Export(path, true));
                            }
                        }
                    }
                    if ui.button(t("Cancel")).clicked()
                        || ui.input(|i| i.key_pressed(egui::Key::Escape))
                    {
                        close = true;
                    }
                });
            });
        if close {
            self.confirm_identifiable = false;
        }
    }
}

/// The report on screen: each section's indicators with totals by sex.
fn report_table(ui: &mut egui::Ui, report: &PeriodReport) {
    ui.strong(tf(
        "Report for {from} to {to}",
        &[("from", &report.from), ("to", &report.to)],
    ));
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for section in Section::ALL {
                ui.add_space(6.0);
                ui.strong(t(section.title()));
                egui::Grid::new(("report", section.title()))
                    .num_columns(6)
                    .striped(true)
                    .spacing([16.0, 3.0])
                    .show(ui, |ui| {
                        for h in [
                            t("Indicator"),
                            t("Total"),
                            t("Male"),
                            t("Female"),
                            t("Other"),
                            t("Unknown"),
                        ] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for def in INDICATORS.iter().filter(|d| d.section == section) {
                            let Some(ind) = report.indicator(def.key) else {
                                continue;
                            };
                            ui.label(t(def.label)).on_hover_text(t(def.definition));
                            ui.label(ind.total.to_string());
                            for sex in ["male", "female", "other", "unknown"] {
                                ui.label(ind.by_sex.get(sex).copied().unwrap_or(0).to_string());
                            }
                            ui.end_row();
                        }
                    });
            }
            if !report.detained_at_end_by_location.is_empty() {
                ui.add_space(6.0);
                ui.strong(t("Detained at the end of the period, by location"));
                egui::Grid::new("report_locations")
                    .striped(true)
                    .show(ui, |ui| {
                        for (place, n) in &report.detained_at_end_by_location {
                            ui.label(place);
                            ui.label(n.to_string());
                            ui.end_row();
                        }
                    });
            }
        });
}
