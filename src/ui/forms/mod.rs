//! Record forms. Each parses its text fields and runs the domain's own
//! validation as the user types; errors show next to their field, Save is
//! disabled while anything is wrong, Enter saves and Escape cancels.

mod arrest;
mod client;
mod contact;
mod custody;
mod followup;
mod registry;
mod services;
mod users;

pub use arrest::*;
pub use client::*;
pub use contact::*;
pub use custody::*;
pub use followup::*;
pub use registry::*;
pub use services::*;
pub use users::*;

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
