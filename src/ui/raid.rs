//! Raid intake: during a crackdown many clients are arrested at once. One
//! form records the raid and adds people by code (or registers an unknown
//! person with a minimal record); saving writes one arrest per person, and
//! optionally a detention each, in one transaction.

use super::forms::{ArrestForm, Errors, FormCtx};
use super::i18n::{t, tf};
use super::labels::Labelled;
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;
use crate::store::{Raid, RaidPerson};
use chrono::NaiveDate;
use uuid::Uuid;

/// Someone added to the raid.
#[derive(Debug, Clone, PartialEq)]
pub struct RaidEntry {
    pub code: String,
    /// Known client, or none for a new minimal record.
    pub client_id: Option<Uuid>,
    pub nickname: Option<String>,
}

pub struct RaidScreen {
    pub arrest: ArrestForm,
    pub code: String,
    pub people: Vec<RaidEntry>,
    pub detain: bool,
    pub location: Option<Uuid>,
    pub basis: DetentionBasis,
    pub message: Option<String>,
    pub error: Option<String>,
}

impl RaidScreen {
    pub fn new(today: NaiveDate) -> Self {
        RaidScreen {
            arrest: ArrestForm::new(Uuid::nil(), today, None),
            code: String::new(),
            people: Vec::new(),
            detain: false,
            location: None,
            basis: DetentionBasis::PoliceCustody,
            message: None,
            error: None,
        }
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        match result {
            Ok(()) => {
                let today = self.arrest.date.clone();
                *self = RaidScreen::new(crate::store::today());
                self.arrest.date = today;
            }
            Err(e) => self.error = Some(e.message.clone()),
        }
    }

    fn add_code(&mut self, env: &Env<'_>) {
        let code = normalize_code(&self.code);
        if code.is_empty() {
            return;
        }
        if self.people.iter().any(|p| p.code == code) {
            self.message = Some(tf("{code} is already in this raid", &[("code", &code)]));
            return;
        }
        match env.store.client_by_code(&code) {
            Ok(Some(c)) => {
                self.people.push(RaidEntry {
                    code,
                    client_id: Some(c.id()),
                    nickname: c.data.nickname,
                });
                self.message = None;
            }
            Ok(None) => {
                let problems = Client::with_code(&code).problems(env.today);
                if let Some(p) = problems.first() {
                    self.message = Some(p.to_string());
                    return;
                }
                self.message = Some(tf(
                    "{code} is not registered: a new client will be created with this code",
                    &[("code", &code)],
                ));
                self.people.push(RaidEntry {
                    code,
                    client_id: None,
                    nickname: None,
                });
            }
            Err(e) => self.message = Some(e.to_string()),
        }
        self.code.clear();
    }

    fn build(&self, ctx: &FormCtx) -> Result<Raid, Errors> {
        let mut errors = match self.arrest.build_arrest(ctx.today) {
            Ok(_) => Errors::default(),
            Err(e) => e,
        };
        if self.people.is_empty() {
            errors
                .0
                .push(("clients", t("Add at least one person").to_owned()));
        }
        if self.detain && self.location.is_none() {
            errors.0.push(("location", t("Required").to_owned()));
        }
        let arrest = self.arrest.build_arrest(ctx.today);
        match arrest {
            Ok(arrest) if errors.is_empty() => Ok(Raid {
                arrest,
                people: self
                    .people
                    .iter()
                    .map(|p| match p.client_id {
                        Some(id) => RaidPerson::Existing(id),
                        None => {
                            let mut c = Client::with_code(&p.code);
                            let province = self.arrest.province.trim();
                            c.province = (!province.is_empty()).then(|| province.to_owned());
                            c.registered_on = Some(ctx.today);
                            RaidPerson::New(c)
                        }
                    })
                    .collect(),
                detain_at: if self.detain {
                    self.location.map(|l| (l, self.basis))
                } else {
                    None
                },
            }),
            _ => Err(errors),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        ui.heading(t("Raid intake"));
        ui.label(t("Record one raid and everyone arrested in it. Each person gets their own arrest record."));
        let built = self.build(env.forms);
        let errors = built.as_ref().err().cloned().unwrap_or_default();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("raid")
                    .num_columns(2)
                    .spacing([12.0, 6.0])
                    .show(ui, |ui| {
                        self.arrest.arrest_fields(ui, &errors);
                        let id = field_label(ui, t("Taken to"));
                        ui.horizontal(|ui| {
                            ui.checkbox(&mut self.detain, t("Record a detention for each"))
                                .labelled_by(id);
                            if self.detain {
                                let current = self
                                    .location
                                    .and_then(|l| env.forms.locations.iter().find(|x| x.0 == l))
                                    .map(|l| l.1.clone())
                                    .unwrap_or_else(|| "—".into());
                                egui::ComboBox::from_id_salt("raid_location")
                                    .selected_text(current)
                                    .width(280.0)
                                    .show_ui(ui, |ui| {
                                        for (lid, name) in &env.forms.locations {
                                            ui.selectable_value(
                                                &mut self.location,
                                                Some(*lid),
                                                name,
                                            );
                                        }
                                    })
                                    .response
                                    .labelled_by(id);
                                let basis = ui.label(t("Basis")).id;
                                choice(ui, basis, &mut self.basis);
                                error_text(ui, errors.get("location"));
                            }
                        });
                        ui.end_row();
                    });
                ui.separator();
                ui.strong(tf(
                    "People in this raid ({n})",
                    &[("n", &self.people.len())],
                ));
                ui.horizontal(|ui| {
                    let id = ui.label(t("Client code")).id;
                    let r = ui
                        .add(egui::TextEdit::singleline(&mut self.code).desired_width(160.0))
                        .labelled_by(id);
                    let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if ui.button(t("Add")).clicked() || enter {
                        self.add_code(env);
                        r.request_focus();
                    }
                });
                if let Some(m) = &self.message {
                    ui.label(m);
                }
                error_text(ui, errors.get("clients"));
                let mut remove = None;
                for (i, p) in self.people.iter().enumerate() {
                    ui.horizontal(|ui| {
                        ui.monospace(&p.code);
                        match p.client_id {
                            Some(_) => {
                                ui.label(shown_name(p.nickname.as_deref(), env.hide_names));
                            }
                            None => {
                                ui.colored_label(ORANGE, t("new client"));
                            }
                        }
                        if ui.small_button(t("Remove")).clicked() {
                            remove = Some(i);
                        }
                    });
                }
                if let Some(i) = remove {
                    self.people.remove(i);
                }
                ui.separator();
                error_text(ui, self.error.as_deref());
                let label = tf("Save raid: {n} arrests", &[("n", &self.people.len())]);
                if ui
                    .add_enabled(built.is_ok(), egui::Button::new(label))
                    .clicked()
                    && let Ok(raid) = &built
                {
                    self.error = None;
                    action = Action::Write(Write::Raid(raid.clone()));
                }
                if self.detain {
                    ui.weak(tf(
                        "Each person also gets a detention ({basis}) starting on the raid's date.",
                        &[("basis", &self.basis.label())],
                    ));
                }
            });
        action
    }
}
