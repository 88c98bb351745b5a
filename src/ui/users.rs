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

    pub fn after_save(&mut self, result: &Result<(), String>) {
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
                            let label = if u.active {
                                t("Deactivate")
                            } else {
                                t("Reactivate")
                            };
                            if ui.small_button(label).clicked() {
                                action = Action::Write(Write::UpdateUser(
                                    u.id(),
                                    User {
                                        active: !u.active,
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
        ui.weak(t("Deactivating a user removes their key: their password no longer opens this database. Reactivated users need a new password."));
        if let Some((u, p)) = self.add.show(ui, env.forms) {
            action = Action::Write(Write::AddUser(u, p));
        }
        if let Some((id, p)) = self.password.show(ui, env.forms) {
            action = Action::Write(Write::Password(id, p));
        }
        action
    }
}
