//! User accounts and passwords.

use super::*;

pub struct UserForm {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    pub confirm: String,
}

impl Default for UserForm {
    fn default() -> Self {
        UserForm {
            username: String::new(),
            display_name: String::new(),
            role: Role::Outreach,
            password: String::new(),
            confirm: String::new(),
        }
    }
}

fn password_errors(e: &mut Errors, password: &str, confirm: &str) {
    if password.chars().count() < crate::store::MIN_PASSWORD_CHARS {
        e.add("password", t("At least 10 characters"));
    } else if password != confirm {
        e.add("confirm", t("The two passwords differ."));
    }
}

fn password_rows(ui: &mut egui::Ui, password: &mut String, confirm: &mut String, e: &Errors) {
    let id = field_label(ui, t("Password"));
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(password).password(true))
            .labelled_by(id);
        error_text(ui, e.get("password"));
    });
    ui.end_row();
    let id = field_label(ui, t("Password again"));
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(confirm).password(true))
            .labelled_by(id);
        error_text(ui, e.get("confirm"));
    });
    ui.end_row();
}

impl Form for UserForm {
    type Output = (User, String);
    fn title(&self) -> &'static str {
        t("Add user")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Username"), &mut self.username, e.get("username"));
        text_row(
            ui,
            t("Display name"),
            &mut self.display_name,
            e.get("display_name"),
        );
        choice_row(ui, t("Role"), &mut self.role);
        password_rows(ui, &mut self.password, &mut self.confirm, e);
    }
    fn build(&self, ctx: &FormCtx) -> Result<(User, String), Errors> {
        let mut e = Errors::default();
        let u = User {
            username: self.username.trim().to_owned(),
            display_name: self.display_name.trim().to_owned(),
            role: self.role,
            active: true,
            language: "en".into(),
        };
        e.domain(u.problems(ctx.today));
        password_errors(&mut e, &self.password, &self.confirm);
        if e.is_empty() {
            Ok((u, self.password.clone()))
        } else {
            Err(e)
        }
    }
}

pub struct PasswordForm {
    pub user_id: Uuid,
    pub username: String,
    pub password: String,
    pub confirm: String,
}

impl PasswordForm {
    /// An empty password form for one user.
    pub fn for_user(user_id: Uuid, username: &str) -> Self {
        PasswordForm {
            user_id,
            username: username.to_owned(),
            password: String::new(),
            confirm: String::new(),
        }
    }
}

impl Form for PasswordForm {
    type Output = (Uuid, String);
    fn title(&self) -> &'static str {
        t("Reset password")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        ui.label(t("Username"));
        ui.label(&self.username);
        ui.end_row();
        password_rows(ui, &mut self.password, &mut self.confirm, e);
    }
    fn build(&self, _ctx: &FormCtx) -> Result<(Uuid, String), Errors> {
        let mut e = Errors::default();
        password_errors(&mut e, &self.password, &self.confirm);
        if e.is_empty() {
            Ok((self.user_id, self.password.clone()))
        } else {
            Err(e)
        }
    }
}

// Forms that hold a password print no field of it, and are never cloned.
impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordForm").finish_non_exhaustive()
    }
}
