//! Settings: language (kept per user), auto-lock time, own password.

use super::forms::{Dialog, PasswordForm};
use super::i18n::{Lang, lang, t, tf};
use super::maintenance::{Maintenance, Running};
use super::widgets::*;
use super::{Action, Env, Write};
use super::{RestoreRequest, i18n};
use crate::domain::Permission;
use crate::store::BackupInfo;
use std::time::Duration;

/// The backups folder as read, or why it could not be.
type Listing = Result<Vec<BackupInfo>, String>;

#[derive(Default)]
pub struct SettingsScreen {
    auto_lock_minutes: Option<i64>,
    thresholds: Option<crate::continuity::Thresholds>,
    password: Dialog<PasswordForm>,
    /// The backups folder's listing, with the (data, maintenance) versions
    /// it was read at.
    backups: Option<((u64, u64), Listing)>,
    /// A restore waiting for its confirmation.
    confirm_restore: Option<BackupInfo>,
    /// Sync with other laptops.
    pub sync: super::sync::SyncPanel,
    /// The stored thresholds and the backups folder, read once per change
    /// of the data (generation), not while drawing.
    facts: Option<(u64, crate::continuity::Thresholds, std::path::PathBuf)>,
}

impl SettingsScreen {
    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        self.password.after_save(result);
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        env: &Env<'_>,
        auto_lock: Duration,
        maintenance: &Maintenance,
    ) -> Action {
        let mut action = Action::None;
        if !matches!(&self.facts, Some((g, ..)) if *g == env.generation) {
            self.facts = Some((
                env.generation,
                env.store.thresholds(),
                env.store.backup_dir(),
            ));
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                action = self.settings_ui(ui, env, auto_lock);
                ui.add_space(12.0);
                let backups = self.backups_ui(ui, env, maintenance);
                if backups != Action::None {
                    action = backups;
                }
                ui.add_space(12.0);
                let sync = self.sync.ui(ui, env);
                if sync != Action::None {
                    action = sync;
                }
            });
        action
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>, auto_lock: Duration) -> Action {
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
        let stored = self.facts.as_ref().map(|f| f.1).unwrap_or_default();
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

    /// Backups: the folder, "Back up now", and every automatic backup with
    /// its size and verification; admins restore one after a confirmation.
    fn backups_ui(
        &mut self,
        ui: &mut egui::Ui,
        env: &Env<'_>,
        maintenance: &Maintenance,
    ) -> Action {
        let mut action = Action::None;
        let can = env.store.user().role.can(Permission::Backup);
        ui.heading(t("Backups"));
        ui.label(t("Tether makes an encrypted, verified copy of the database once a day while it runs and when it closes, and keeps the last 7 daily and 4 weekly copies."));
        ui.add_space(4.0);
        let dir = self.facts.as_ref().map(|f| f.2.clone()).unwrap_or_default();
        ui.horizontal(|ui| {
            ui.label(t("Folder:"));
            ui.monospace(dir.display().to_string());
        });
        if can {
            ui.horizontal(|ui| {
                if ui.button(t("Choose folder…")).clicked()
                    && let Some(folder) = rfd::FileDialog::new().set_directory(&dir).pick_folder()
                {
                    action = Action::Write(Write::BackupDir(Some(folder)));
                }
                if ui.button(t("Beside the database")).clicked() {
                    action = Action::Write(Write::BackupDir(None));
                }
                if ui
                    .add_enabled(!maintenance.busy(), egui::Button::new(t("Back up now")))
                    .clicked()
                {
                    action = Action::BackupNow;
                }
            });
        }
        match maintenance.running {
            Some(Running::Check) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t("Checking every page of the database file…"));
                });
            }
            Some(Running::Backup) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t("Making today's backup…"));
                });
            }
            None => {}
        }
        match &maintenance.last_backup {
            Some(Ok(outcome)) => {
                ui.colored_label(
                    GREEN,
                    i18n::tf(
                        "Last backup: {file}, {detail}",
                        &[
                            ("file", &outcome.path.display()),
                            ("detail", &outcome.verification.detail),
                        ],
                    ),
                );
            }
            Some(Err(e)) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    i18n::tf("The last backup failed: {why}", &[("why", e)]),
                );
            }
            None => {}
        }
        let version = (env.generation, maintenance.version);
        let stale = !matches!(&self.backups, Some((v, _)) if *v == version);
        if stale {
            self.backups = Some((version, env.store.backups().map_err(|e| e.to_string())));
        }
        let Some((_, listing)) = &self.backups else {
            return action;
        };
        match listing {
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Ok(list) if list.is_empty() => {
                ui.weak(t("No backups yet."));
            }
            Ok(list) => {
                egui::Grid::new("backups")
                    .num_columns(4)
                    .striped(true)
                    .spacing([16.0, 4.0])
                    .show(ui, |ui| {
                        ui.strong(t("Date"));
                        ui.strong(t("Size"));
                        ui.strong(t("Verification"));
                        ui.label("");
                        ui.end_row();
                        for b in list {
                            ui.label(b.day.to_string());
                            ui.label(format!("{:.1} MB", b.size as f64 / 1_048_576.0));
                            match &b.verified {
                                _ if b.old_key => {
                                    ui.colored_label(
                                        ui.visuals().warn_fg_color,
                                        t("old key: opens with the passwords of its day, a deactivated user's too"),
                                    );
                                }
                                Some(v) if v.ok => {
                                    ui.colored_label(GREEN, &v.detail);
                                }
                                Some(v) => {
                                    ui.colored_label(ui.visuals().error_fg_color, &v.detail);
                                }
                                None => {
                                    ui.weak(t("not verified by this database"));
                                }
                            }
                            if can
                                && ui
                                    .add_enabled(!b.old_key, egui::Button::new(t("Restore…")))
                                    .on_disabled_hover_text(t("Made before the database key changed: restore it with `tether restore` and a password of its day."))
                                    .clicked()
                            {
                                self.confirm_restore = Some(b.clone());
                            }
                            ui.end_row();
                        }
                    });
            }
        }
        if let Some(b) = self.confirm_restore.clone() {
            let mut close = false;
            egui::Window::new(t("Restore a backup"))
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ui.ctx(), |ui| {
                    ui.label(i18n::tf(
                        "Replace the database with the backup of {day}? Everything recorded after that backup will be gone from the database; the current file is kept beside it, renamed with today's date. Everyone is logged out.",
                        &[("day", &b.day)],
                    ));
                    ui.horizontal(|ui| {
                        if ui.button(t("Restore")).clicked() {
                            action = Action::Restore(RestoreRequest::From(b.path.clone()));
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
                self.confirm_restore = None;
            }
        }
        action
    }
}
