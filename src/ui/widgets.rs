//! Shared form widgets. Every input is labelled by its label, so tests and
//! screen readers find it; errors show next to the field.

use super::i18n::t;
use super::labels::Labelled;
use chrono::NaiveDate;

/// A label in the first column of a form grid; returns its id for `labelled_by`.
pub fn field_label(ui: &mut egui::Ui, text: &str) -> egui::Id {
    ui.label(text).id
}

/// An error line under or beside a field.
pub fn error_text(ui: &mut egui::Ui, error: Option<&str>) {
    if let Some(e) = error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}

/// A one-line text field in a form grid row.
pub fn text_row(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    error: Option<&str>,
) -> egui::Response {
    let id = field_label(ui, label);
    let r = ui
        .horizontal(|ui| {
            let r = ui
                .add(egui::TextEdit::singleline(value).desired_width(240.0))
                .labelled_by(id);
            error_text(ui, error);
            r
        })
        .inner;
    ui.end_row();
    r
}

/// A date field (YYYY-MM-DD or DD/MM/YYYY) in a form grid row.
pub fn date_row(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    error: Option<&str>,
) -> egui::Response {
    let id = field_label(ui, label);
    let r = ui
        .horizontal(|ui| {
            let r = ui
                .add(
                    egui::TextEdit::singleline(value)
                        .desired_width(110.0)
                        .hint_text("YYYY-MM-DD"),
                )
                .labelled_by(id);
            error_text(ui, error);
            r
        })
        .inner;
    ui.end_row();
    r
}

/// Parses an optional date field: empty is `Ok(None)`.
pub fn parse_opt_date(text: &str) -> Result<Option<NaiveDate>, &'static str> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::domain::parse_date(text)
        .map(Some)
        .ok_or(t("Not a date: use YYYY-MM-DD or DD/MM/YYYY"))
}

/// Parses a required date field.
pub fn parse_date_field(text: &str) -> Result<NaiveDate, &'static str> {
    match parse_opt_date(text)? {
        Some(d) => Ok(d),
        None => Err(t("Required")),
    }
}

/// Parses a count field: empty is 0.
pub fn parse_count(text: &str) -> Result<i64, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>().map_err(|_| t("Not a whole number"))
}

/// A choice among a closed list, as a combo box in a form grid row.
pub fn choice_row<T: Labelled>(ui: &mut egui::Ui, label: &str, value: &mut T) {
    choice_row_among(ui, label, value, T::all());
}

/// A choice among some values of a closed list (e.g. the case statuses a
/// worker records), as a combo box in a form grid row.
pub fn choice_row_among<T: Labelled>(ui: &mut egui::Ui, label: &str, value: &mut T, options: &[T]) {
    let id = field_label(ui, label);
    choice_among(ui, id, value, options);
    ui.end_row();
}

/// A combo box over a closed list, labelled by `label_id`.
pub fn choice<T: Labelled>(ui: &mut egui::Ui, label_id: egui::Id, value: &mut T) {
    choice_among(ui, label_id, value, T::all());
}

/// A combo box over `options`, labelled by `label_id`.
fn choice_among<T: Labelled>(ui: &mut egui::Ui, label_id: egui::Id, value: &mut T, options: &[T]) {
    egui::ComboBox::from_id_salt(label_id)
        .selected_text(value.label())
        .show_ui(ui, |ui| {
            for v in options {
                ui.selectable_value(value, *v, v.label());
            }
        })
        .response
        .labelled_by(label_id);
}

/// An optional choice: "—" for none.
pub fn opt_choice_row<T: Labelled>(ui: &mut egui::Ui, label: &str, value: &mut Option<T>) {
    let id = field_label(ui, label);
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.map(|v| v.label()).unwrap_or("—"))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "—");
            for v in T::all() {
                ui.selectable_value(value, Some(*v), v.label());
            }
        })
        .response
        .labelled_by(id);
    ui.end_row();
}

/// Check boxes for a multi-valued closed list.
pub fn multi_row<T: Labelled>(ui: &mut egui::Ui, label: &str, values: &mut Vec<T>) {
    field_label(ui, label);
    ui.horizontal_wrapped(|ui| {
        for v in T::all() {
            let mut on = values.contains(v);
            if ui.checkbox(&mut on, v.label()).changed() {
                if on {
                    values.push(*v);
                } else {
                    values.retain(|x| x != v);
                }
            }
        }
    });
    ui.end_row();
}

/// A small coloured badge.
pub fn badge(ui: &mut egui::Ui, text: &str, color: egui::Color32) {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.25))
        .stroke(egui::Stroke::new(1.0, color))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 2))
        .show(ui, |ui| {
            ui.label(egui::RichText::new(text).color(ui.visuals().strong_text_color()));
        });
}

pub const RED: egui::Color32 = egui::Color32::from_rgb(0xd0, 0x3a, 0x3a);
pub const ORANGE: egui::Color32 = egui::Color32::from_rgb(0xe0, 0x8a, 0x1e);
pub const GREEN: egui::Color32 = egui::Color32::from_rgb(0x3a, 0xa0, 0x5a);
pub const BLUE: egui::Color32 = egui::Color32::from_rgb(0x3a, 0x7a, 0xd0);

/// Text shown instead of a name when names are hidden.
pub const HIDDEN: &str = "•••";

/// A nickname as the current privacy setting allows.
pub fn shown_name(name: Option<&str>, hide_names: bool) -> String {
    match name {
        Some(_) if hide_names => HIDDEN.to_owned(),
        Some(n) => n.to_owned(),
        None => String::new(),
    }
}

/// Age in years at `day` from a birth year.
pub fn age_text(birth_year: Option<i32>, day: NaiveDate) -> String {
    crate::domain::age_at(birth_year, day)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "?".into())
}
