//! Import a spreadsheet (shared/IMPORT.md): choose the kind and a CSV or
//! XLSX file, see its first rows, map the columns whose headers differ from
//! the template, check every row (all problems with row and column), then
//! import after a confirmation. Reading, checking and importing run on a
//! worker thread with progress and cancel; the window never freezes.

use super::i18n::{t, tf};
use super::job::{Job, Polled};
use super::widgets::*;
use super::{Action, Env};
use crate::import::limits::{SHOWN_PROBLEMS, echo};
use crate::import::{
    self, Assign, Control, ImportKind, ImportOptions, ImportReport, Mapping, Outcome, Table,
};
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 8;

/// The kinds' names for people.
pub fn kind_label(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Locations => t("Detention locations"),
        ImportKind::Clients => t("Clients"),
        ImportKind::Contacts => t("Contacts"),
        ImportKind::Arrests => t("Arrests"),
        ImportKind::Detentions => t("Detentions"),
        ImportKind::Enrollments => t("Enrollments"),
        ImportKind::ServiceEvents => t("Service events"),
    }
}

/// What the worker thread sends back.
enum Reply {
    Read(Result<Table, String>),
    Ran(Result<ImportReport, String>),
}

/// Work under way on the worker thread.
struct Running {
    what: Work,
    job: Job<Reply>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Reading,
    Checking,
    Importing,
}

/// The import screen.
pub struct ImportScreen {
    pub kind: ImportKind,
    pub file: Option<PathBuf>,
    pub table: Option<Arc<Table>>,
    pub mapping: Option<Mapping>,
    /// The last check or import, with the mapping it ran with.
    pub report: Option<(ImportReport, Mapping)>,
    pub error: Option<String>,
    confirm: bool,
    running: Option<Running>,
}

impl Default for ImportScreen {
    fn default() -> Self {
        ImportScreen {
            kind: ImportKind::Clients,
            file: None,
            table: None,
            mapping: None,
            report: None,
            error: None,
            confirm: false,
            running: None,
        }
    }
}

impl ImportScreen {
    /// Whether work runs on the worker thread.
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

    /// Reads `path` on the worker thread (the file chooser calls this).
    pub fn open_file(&mut self, path: PathBuf) {
        if self.busy() {
            return;
        }
        self.file = Some(path.clone());
        self.table = None;
        self.mapping = None;
        self.report = None;
        self.error = None;
        let job = Job::spawn(move |w| {
            w.send(Reply::Read(
                import::read_file(&path).map_err(|e| e.to_string()),
            ));
        });
        self.running = Some(Running {
            what: Work::Reading,
            job,
            done: Arc::default(),
            total: Arc::default(),
        });
    }

    /// Checks (`dry_run`) or imports the file on the worker thread, with a
    /// second handle on the database.
    pub fn run(&mut self, store: &Store, dry_run: bool) {
        let (Some(table), Some(mapping)) = (self.table.clone(), self.mapping.clone()) else {
            return;
        };
        if self.busy() {
            return;
        }
        let mut handle = match store.second_handle() {
            Ok(h) => h,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let file_name = self
            .file
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (done, total) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(table.len())),
        );
        let (d, tt) = (done.clone(), total.clone());
        let job = Job::spawn(move |w| {
            let progress = move |n: usize, of: usize| {
                d.store(n, Ordering::Relaxed);
                tt.store(of, Ordering::Relaxed);
            };
            let control = Control {
                progress: &progress,
                cancel: w.cancel_flag(),
            };
            let options = ImportOptions { file_name, dry_run };
            let result = handle
                .import(&table, &mapping, &options, &control)
                .map_err(|e| e.to_string());
            let _ = handle.close();
            w.send(Reply::Ran(result));
        });
        self.error = None;
        self.running = Some(Running {
            what: if dry_run {
                Work::Checking
            } else {
                Work::Importing
            },
            job,
            done,
            total,
        });
    }

    /// Takes the worker's answer. Returns the summary of a finished import.
    fn receive(&mut self) -> Option<String> {
        let running = self.running.as_mut()?;
        let reply = match running.job.poll() {
            Polled::Message(reply) => reply,
            Polled::Pending => return None,
            Polled::Finished => {
                self.running = None;
                self.error =
                    Some(t("The import stopped unexpectedly; nothing was written.").into());
                return None;
            }
        };
        let what = running.what;
        self.running = None;
        crate::memory::give_back();
        match reply {
            Reply::Read(Ok(table)) => {
                self.mapping = Some(Mapping::auto(self.kind, table.headers()));
                self.table = Some(Arc::new(table));
                None
            }
            Reply::Read(Err(e)) | Reply::Ran(Err(e)) => {
                self.error = Some(e);
                None
            }
            Reply::Ran(Ok(report)) => {
                let imported = what == Work::Importing && report.outcome == Outcome::Imported;
                let summary = imported.then(|| {
                    tf(
                        "Imported: {n} added, {m} already present",
                        &[("n", &report.added), ("m", &report.already_present)],
                    )
                });
                let mapping = self
                    .mapping
                    .clone()
                    .unwrap_or_else(|| Mapping::auto(self.kind, &[]));
                self.report = Some((report, mapping));
                summary
            }
        }
    }

    /// Whether the last check found nothing wrong with the mapping in use.
    fn checked_clean(&self) -> bool {
        matches!(
            (&self.report, &self.mapping),
            (Some((r, m)), Some(now)) if r.outcome == Outcome::Checked && m == now && r.problems.is_empty()
        )
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        if let Some(summary) = self.receive() {
            action = Action::Imported(summary);
        }
        ui.heading(t("Import a spreadsheet"));
        ui.label(t("One file per kind, with a header row (CSV or Excel). Import locations and clients first, then their contacts, arrests, detentions, enrollments, then service events. A file is imported whole or not at all; importing it again adds nothing."));
        ui.add_space(6.0);
        let busy = self.busy();
        ui.add_enabled_ui(!busy, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(t("Kind:"));
                for kind in ImportKind::ALL {
                    if ui
                        .selectable_label(self.kind == *kind, kind_label(*kind))
                        .clicked()
                        && self.kind != *kind
                    {
                        self.kind = *kind;
                        self.report = None;
                        if let Some(table) = &self.table {
                            self.mapping = Some(Mapping::auto(*kind, table.headers()));
                        }
                    }
                }
            });
            ui.horizontal(|ui| {
                if ui.button(t("Choose file…")).clicked()
                    && let Some(path) = rfd::FileDialog::new()
                        .add_filter("CSV / Excel", &["csv", "xlsx", "xlsm"])
                        .pick_file()
                {
                    self.open_file(path);
                }
                if ui.button(t("Download template")).clicked()
                    && let Some(path) = rfd::FileDialog::new()
                        .set_file_name(format!("{}.csv", self.kind.as_str()))
                        .save_file()
                {
                    self.error = crate::files::write_private(
                        &path,
                        import::template_csv(self.kind).as_bytes(),
                    )
                    .err()
                    .map(|e| format!("{}: {e}", path.display()));
                }
                if let Some(file) = &self.file {
                    ui.monospace(file.display().to_string());
                }
            });
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(running) = &self.running {
            self.progress_ui(ui, running.what, running);
        }
        let Some(table) = self.table.clone() else {
            return action;
        };
        ui.add_space(6.0);
        ui.label(tf(
            "{n} rows, {m} columns",
            &[("n", &table.len()), ("m", &table.headers().len())],
        ));
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.add_enabled_ui(!busy, |ui| self.mapping_ui(ui, &table));
                ui.add_space(8.0);
                preview_ui(ui, &table);
                ui.add_space(8.0);
                let header_problems = self
                    .mapping
                    .as_ref()
                    .map(|m| m.problems(table.headers()))
                    .unwrap_or_default();
                for p in header_problems.iter().take(SHOWN_PROBLEMS) {
                    ui.colored_label(ui.visuals().error_fg_color, p.to_string());
                }
                if header_problems.len() > SHOWN_PROBLEMS {
                    ui.weak(tf(
                        "…and {n} more",
                        &[("n", &(header_problems.len() - SHOWN_PROBLEMS))],
                    ));
                }
                ui.horizontal(|ui| {
                    let ready = !busy && header_problems.is_empty();
                    if ui
                        .add_enabled(ready, egui::Button::new(t("Check every row")))
                        .clicked()
                    {
                        self.run(env.store, true);
                    }
                    let can_import = ready && self.checked_clean();
                    if ui
                        .add_enabled(can_import, egui::Button::new(t("Import…")))
                        .clicked()
                    {
                        self.confirm = true;
                    }
                    if !self.checked_clean() && header_problems.is_empty() {
                        ui.weak(t(
                            "Check every row first; Import is possible when nothing is wrong.",
                        ));
                    }
                });
                self.report_ui(ui);
            });
        if self.confirm {
            self.confirm_ui(ui, env);
        }
        action
    }

    fn progress_ui(&self, ui: &mut egui::Ui, what: Work, running: &Running) {
        ui.horizontal(|ui| {
            ui.spinner();
            let text = match what {
                Work::Reading => t("Reading the file…"),
                Work::Checking => t("Checking every row…"),
                Work::Importing => t("Importing…"),
            };
            ui.label(text);
            let total = running.total.load(Ordering::Relaxed);
            if what != Work::Reading && total > 0 {
                let done = running.done.load(Ordering::Relaxed).min(total);
                ui.add(
                    egui::ProgressBar::new(done as f32 / total as f32)
                        .desired_width(260.0)
                        .text(format!("{done} / {total}")),
                );
                if ui.button(t("Cancel")).clicked() {
                    running.job.cancel();
                }
            }
        });
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }

    fn mapping_ui(&mut self, ui: &mut egui::Ui, table: &Table) {
        let Some(mapping) = &mut self.mapping else {
            return;
        };
        let kind = self.kind;
        ui.strong(t("Columns"));
        egui::Grid::new("import_mapping")
            .num_columns(2)
            .spacing([12.0, 4.0])
            .striped(true)
            .show(ui, |ui| {
                ui.strong(t("In the file"));
                ui.strong(t("Imported as"));
                ui.end_row();
                for (i, header) in table.headers().iter().enumerate() {
                    let label = ui.label(echo(header));
                    let current = mapping.get(i);
                    let text = match current {
                        Assign::Column(name) => name.to_owned(),
                        Assign::Skip => t("(skip this column)").to_owned(),
                        Assign::Unmatched => t("(choose a column or skip)").to_owned(),
                    };
                    let mut chosen = current;
                    egui::ComboBox::from_id_salt(("import_column", i))
                        .selected_text(text)
                        .show_ui(ui, |ui| {
                            for (name, required) in import::columns(kind) {
                                let shown = if *required {
                                    format!("{name} *")
                                } else {
                                    (*name).to_owned()
                                };
                                ui.selectable_value(&mut chosen, Assign::Column(name), shown);
                            }
                            ui.selectable_value(&mut chosen, Assign::Skip, t("(skip this column)"));
                        })
                        .response
                        .labelled_by(label.id);
                    if chosen != current {
                        mapping.set(i, chosen);
                    }
                    ui.end_row();
                }
            });
        ui.weak(t("* required. Columns are matched by name; choose for the ones that differ from the template."));
    }

    fn report_ui(&self, ui: &mut egui::Ui) {
        let Some((report, _)) = &self.report else {
            return;
        };
        ui.add_space(6.0);
        let (text, ok) = match report.outcome {
            Outcome::Imported => (
                tf(
                    "Imported: {n} added, {m} already present",
                    &[("n", &report.added), ("m", &report.already_present)],
                ),
                true,
            ),
            Outcome::Checked => (
                tf(
                    "Every row is fine: {n} would be added, {m} are already present. Nothing is written yet.",
                    &[("n", &report.added), ("m", &report.already_present)],
                ),
                true,
            ),
            Outcome::Refused => (
                tf(
                    "{n} problems: nothing was written. Correct the file and check again.",
                    &[("n", &report.problem_count())],
                ),
                false,
            ),
            Outcome::Cancelled => (t("Cancelled: nothing was written.").to_owned(), false),
        };
        if ok {
            ui.colored_label(GREEN, text);
        } else {
            ui.colored_label(ui.visuals().error_fg_color, text);
        }
        if report.problems.is_empty() {
            return;
        }
        egui::Grid::new("import_problems")
            .num_columns(3)
            .striped(true)
            .spacing([12.0, 2.0])
            .show(ui, |ui| {
                ui.strong(t("Row"));
                ui.strong(t("Column"));
                ui.strong(t("Problem"));
                ui.end_row();
                for p in report.shown_problems() {
                    ui.label(p.row.to_string());
                    ui.label(&p.column);
                    ui.label(&p.reason);
                    ui.end_row();
                }
            });
        if report.unshown_problems() > 0 {
            ui.weak(tf("…and {n} more", &[("n", &report.unshown_problems())]));
        }
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        let added = self.report.as_ref().map_or(0, |(r, _)| r.added);
        let mut close = false;
        egui::Window::new(t("Confirm the import"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ui.ctx(), |ui| {
                ui.label(tf(
                    "Add {n} {kind} records to the database? The import is recorded in the audit log.",
                    &[("n", &added), ("kind", &kind_label(self.kind))],
                ));
                ui.horizontal(|ui| {
                    if ui.button(t("Import now")).clicked() {
                        self.run(env.store, false);
                        close = true;
                    }
                    if ui.button(t("Cancel")).clicked()
                        || ui.input(|i| i.key_pressed(egui::Key::Escape))
                    {
                        close = true;
                    }
                });
            });
        if close {
            self.confirm = false;
        }
    }
}

/// The first rows of the file as they are.
fn preview_ui(ui: &mut egui::Ui, table: &Table) {
    ui.strong(tf(
        "First {n} rows",
        &[("n", &PREVIEW_ROWS.min(table.len()))],
    ));
    egui::ScrollArea::horizontal()
        .id_salt("import_preview")
        .show(ui, |ui| {
            egui::Grid::new("import_preview_grid")
                .striped(true)
                .spacing([12.0, 2.0])
                .show(ui, |ui| {
                    ui.strong("1");
                    for h in table.headers() {
                        ui.strong(echo(h));
                    }
                    ui.end_row();
                    for i in 0..PREVIEW_ROWS.min(table.len()) {
                        if let Some(row) = table.row(i) {
                            ui.weak((i + 2).to_string());
                            for j in 0..table.headers().len() {
                                ui.label(echo(row.get(j)));
                            }
                            ui.end_row();
                        }
                    }
                });
        });
}
