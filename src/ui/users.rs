//! User accounts (admins): add, deactivate, reset password, change role.

use super::forms::{Dialog, PasswordForm, UserForm};
use super::i18n::t;
use super::labels::Labelled;
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;

#[derive(Default)]
pub struct UsersScreen {
    loaded: Option<u64>,
    /// (user, can log in).
    pub users: Vec<(Saved<User>, bool)>,
    pub error: Option<String>,
    pub add: Dialog<UserForm>,
    pub password: Dialog<PasswordForm>,
    /// A user about to be deactivated, waiting for the admin to confirm.
    pub confirm_deactivate: Option<Saved<User>>,
    /// Shown after the database key changed: whose deactivation, and a new
    /// recovery key if one had to be made.
    pub key_changed: Option<KeyChanged>,
}

/// What the Users screen says after a deactivation changed the key.
pub struct KeyChanged {
    pub username: String,
    pub recovery_key: Option<zeroize::Zeroizing<String>>,
}

impl UsersScreen {
    fn reload(&mut self, env: &Env<'_>) {
        if self.loaded == Some(env.generation) {
            return;
        }
        match env.store.users() {
            Ok(users) => {
                self.users = users
                    .into_iter()
                    .map(|u| {
                        let can = env.store.can_log_in(&u.username).unwrap_or(false);
                        (u, can)
                    })
                    .collect();
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        self.loaded = Some(env.generation);
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        self.add.after_save(result);
        self.password.after_save(result);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        if !env.store.user().role.can(Permission::ManageUsers) {
            ui.label(t("Only admins manage user accounts."));
            return Action::None;
        }
        self.reload(env);
        let mut action = Action::None;
        ui.horizontal(|ui| {
            ui.heading(t("Users"));
            if ui.button(t("Add user")).clicked() {
                self.password = Dialog::default();
                self.add.open(UserForm::default());
            }
        });
        error_text(ui, self.error.as_deref());
        self.key_changed_ui(ui);
        let me = env.store.user().id;
        egui::Grid::new("users")
            .num_columns(6)
            .striped(true)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for h in [
                    t("Username"),
                    t("Display name"),
                    t("Role"),
                    t("Status"),
                    t("Can log in"),
                    "",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for (u, can_log_in) in &self.users {
                    let name_id = ui.label(&u.username).id;
                    ui.label(&u.display_name);
                    let mut role = u.role;
                    if u.id() == me {
                        ui.label(role.label());
                    } else {
                        super::widgets::choice(ui, name_id, &mut role);
                        if role != u.role {
                            action = Action::Write(Write::UpdateUser(
                                u.id(),
                                User {
                                    role,
                                    ..u.data.clone()
                                },
                            ));
                        }
                    }
                    ui.label(if u.active {
                        t("Active")
                    } else {
                        t("Deactivated")
                    });
                    ui.label(if *can_log_in {
                        t("Yes")
                    } else {
                        t("No password set")
                    });
                    ui.horizontal(|ui| {
                        if u.active && ui.small_button(t("Reset password")).clicked() {
                            self.add = Dialog::default();
                            self.password
                                .open(PasswordForm::for_user(u.id(), &u.username));
                        }
                        if u.id() != me {
                            if u.active {
                                if ui.small_button(t("Deactivate")).clicked() {
                                    self.confirm_deactivate = Some(u.clone());
                                }
                            } else if ui.small_button(t("Reactivate")).clicked() {
                                action = Action::Write(Write::UpdateUser(
                                    u.id(),
                                    User {
                                        active: true,
                                        ..u.data.clone()
                                    },
                                ));
                            }
                        }
                    });
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        ui.weak(t("Deactivating a user removes their key and changes the database key: their password no longer opens this database, even with an old copy of the key file. Reactivated users need a new password."));
        if let Some(write) = self.confirm_ui(ui) {
            action = Action::Write(write);
        }
        if let Some((u, p)) = self.add.show(ui, env.forms) {
            action = Action::Write(Write::AddUser(u, p));
        }
        if let Some((id, p)) = self.password.show(ui, env.forms) {
            action = Action::Write(Write::Password(id, p));
        }
        action
    }

    /// Asks before a deactivation, saying what it does to the key and to
    /// the backups already made.
    fn confirm_ui(&mut self, ui: &mut egui::Ui) -> Option<Write> {
        let user = self.confirm_deactivate.as_ref()?;
        let mut write = None;
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("confirm-deactivate")).show(ui.ctx(), |ui| {
            ui.set_max_width(460.0);
            ui.heading(super::i18n::tf(
                "Deactivate {name}?",
                &[("name", &user.username)],
            ));
            ui.label(super::i18n::tf(
                "{name}'s password will no longer open this database, and the database key will be changed, so that an old copy of the key file with that password does not open it either. Everyone else keeps their password.",
                &[("name", &user.username)],
            ));
            ui.label(super::i18n::tf(
                "Backups made before now keep the old key: they still open with {name}'s password. A fresh backup is made at once; delete the older ones when it is safe elsewhere.",
                &[("name", &user.username)],
            ));
            ui.weak(t("On a large database this takes up to a minute; the window waits until it is done."));
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Deactivate and change the key")).clicked() {
                    write = Some(Write::UpdateUser(
                        user.id(),
                        User {
                            active: false,
                            ..user.data.clone()
                        },
                    ));
                    close = true;
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        // Escape (or a click outside) cancels, as in the forms.
        close |= modal.should_close() && write.is_none();
        if close {
            self.confirm_deactivate = None;
        }
        write
    }

    /// After a deactivation: what changed, and a new recovery key once.
    fn key_changed_ui(&mut self, ui: &mut egui::Ui) {
        let Some(changed) = &self.key_changed else {
            return;
        };
        let mut dismiss = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(super::i18n::tf(
                "{name} is deactivated and the database key is changed. A fresh backup is being made; the Backups list in Settings marks the older ones that still open with the old key.",
                &[("name", &changed.username)],
            ));
            if let Some(key) = &changed.recovery_key {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    t("The old recovery key no longer opens this database. Write down the new one and keep it offline, apart from the laptop:"),
                );
                ui.monospace(key.as_str());
            }
            if ui.button(t("Done")).clicked() {
                dismiss = true;
            }
        });
        if dismiss {
            self.key_changed = None;
        }
        ui.add_space(6.0);
    }
}
