//! Settings: language (kept per user), auto-lock time, own password.

use super::forms::{Dialog, PasswordForm};
use super::i18n::{Lang, lang, t, tf};
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::Permission;
use std::time::Duration;

#[derive(Default)]
pub struct SettingsScreen {
    auto_lock_minutes: Option<i64>,
    thresholds: Option<crate::continuity::Thresholds>,
    password: Dialog<PasswordForm>,
}

impl SettingsScreen {
    pub fn after_save(&mut self, result: &Result<(), String>) {
        self.password.after_save(result);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>, auto_lock: Duration) -> Action {
        let mut action = Action::None;
        ui.heading(t("Settings"));
        ui.add_space(6.0);
        egui::Grid::new("settings")
            .num_columns(2)
            .spacing([12.0, 10.0])
            .show(ui, |ui| {
                field_label(ui, t("Language"));
                ui.horizontal(|ui| {
                    let current = lang();
                    for (l, name) in [(Lang::En, "English"), (Lang::Km, "ខ្មែរ")] {
                        if ui.selectable_label(current == l, name).clicked() && current != l {
                            action = Action::Write(Write::Language(l));
                        }
                    }
                });
                ui.end_row();

                let id = field_label(ui, t("Lock after idle (minutes)"));
                let minutes = self
                    .auto_lock_minutes
                    .get_or_insert((auto_lock.as_secs() / 60) as i64);
                if env.store.user().role.can(Permission::ManageRegistry) {
                    ui.horizontal(|ui| {
                        ui.add(egui::DragValue::new(minutes).range(1..=240))
                            .labelled_by(id);
                        if *minutes as u64 != auto_lock.as_secs() / 60
                            && ui.button(t("Save")).clicked()
                        {
                            action = Action::Write(Write::AutoLockMinutes(*minutes));
                        }
                    });
                } else {
                    ui.label(tf(
                        "{n} minutes (set by a coordinator)",
                        &[("n", &(auto_lock.as_secs() / 60))],
                    ));
                }
                ui.end_row();

                field_label(ui, t("Theme"));
                ui.label(t("Follows the system (light or dark)"));
                ui.end_row();

                field_label(ui, t("Your password"));
                if ui.button(t("Change password")).clicked() {
                    let me = env.store.user();
                    self.password
                        .open(PasswordForm::for_user(me.id, &me.username));
                }
                ui.end_row();
            });
        ui.add_space(12.0);
        ui.heading(t("Continuity rules"));
        let stored = env.store.thresholds();
        let th = self.thresholds.get_or_insert(stored);
        let editable = env.store.user().role.can(Permission::ManageRegistry);
        ui.add_enabled_ui(editable, |ui| {
            egui::Grid::new("thresholds")
                .num_columns(2)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    for (label, value) in [
                        (
                            t("ART interrupted after days past the supply"),
                            &mut th.art_interruption_days,
                        ),
                        (
                            t("Methadone: dose review after missed days"),
                            &mut th.methadone_review_days,
                        ),
                        (
                            t("Methadone: re-induction after missed days"),
                            &mut th.methadone_reinduction_days,
                        ),
                        (
                            t("Releases checked for re-linkage (days)"),
                            &mut th.release_window_days,
                        ),
                        (t("Re-link within days of release"), &mut th.relink_days),
                        (
                            t("Lost to follow-up after days without contact"),
                            &mut th.lost_after_days,
                        ),
                        (
                            t("A refill without days supplied covers (days)"),
                            &mut th.default_refill_days,
                        ),
                    ] {
                        let id = field_label(ui, label);
                        ui.add(egui::DragValue::new(value).range(1..=3650))
                            .labelled_by(id);
                        ui.end_row();
                    }
                });
        });
        let edited = *th;
        if editable && edited != stored {
            let mut reset = false;
            ui.horizontal(|ui| {
                if ui.button(t("Save rules")).clicked() {
                    action = Action::Write(Write::Thresholds(edited));
                }
                reset = ui.button(t("Cancel")).clicked();
            });
            if reset {
                self.thresholds = Some(stored);
            }
        }
        if !editable {
            ui.weak(t("Only coordinators and admins change the rules."));
        }
        ui.add_space(12.0);
        ui.weak(t("Ctrl+L locks the window at once. \"Hide names\" in the top bar shows codes only, for work in public places."));
        if let Some((id, p)) = self.password.show(ui, env.forms) {
            action = Action::Write(Write::Password(id, p));
        }
        action
    }
}
