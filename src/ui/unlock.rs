//! The unlock / first-run screen: choose or create a database file, log in.

use super::i18n::t;
use std::path::PathBuf;
use zeroize::Zeroize;

/// What the unlock screen asks the app to do after the frame.
#[must_use]
#[derive(PartialEq)]
pub enum UnlockCommand {
    None,
    Open {
        path: PathBuf,
        username: String,
        password: String,
    },
    Create {
        path: PathBuf,
        username: String,
        display_name: String,
        password: String,
    },
    /// A new laptop joins its organisation: create this laptop's database,
    /// then keep the office's sync passphrase and folder in it.
    Join {
        path: PathBuf,
        username: String,
        display_name: String,
        password: String,
        sync_passphrase: String,
        sync_folder: PathBuf,
    },
    /// Every password lost or the key file gone: set a new password with
    /// the recovery key, then open.
    Recover {
        path: PathBuf,
        username: String,
        recovery_key: String,
        password: String,
    },
    /// The file is damaged: put the newest good backup in its place, then open it.
    RestoreNewest {
        path: PathBuf,
        username: String,
        password: String,
    },
}

/// The command's kind only: passwords and keys are never printed.
impl std::fmt::Debug for UnlockCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnlockCommand::None => "None",
            UnlockCommand::Open { .. } => "Open",
            UnlockCommand::Create { .. } => "Create",
            UnlockCommand::Join { .. } => "Join",
            UnlockCommand::Recover { .. } => "Recover",
            UnlockCommand::RestoreNewest { .. } => "RestoreNewest",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Login,
    Create,
    /// "Join my organisation": create, with the office's sync passphrase and folder.
    Join,
    /// "Forgot password or lost key file?": the recovery key and a new password.
    Recover,
}

/// State of the unlock screen. The password is wiped when it is used or dropped.
pub struct UnlockScreen {
    pub db_path: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub confirm: String,
    /// The recovery key as typed (Recover mode).
    pub recovery_input: String,
    /// The organisation's sync passphrase (Join mode).
    pub sync_passphrase: String,
    /// The sync folder the office gave (Join mode).
    pub sync_folder: String,
    pub mode: Mode,
    pub error: Option<String>,
    /// Put the cursor in the first empty field on the first frame.
    focus_pending: bool,
    /// Shown once after a database is created.
    pub recovery_key: Option<String>,
    /// A message that is not an error (after a restore).
    pub info: Option<String>,
    /// The last open found the file damaged: offer its backups.
    pub damaged: bool,
}

impl Drop for UnlockScreen {
    fn drop(&mut self) {
        self.password.zeroize();
        self.confirm.zeroize();
        self.recovery_input.zeroize();
        self.sync_passphrase.zeroize();
    }
}

impl UnlockScreen {
    pub fn new(db_path: PathBuf, username: Option<String>) -> Self {
        let mode = if db_path.exists() {
            Mode::Login
        } else {
            Mode::Create
        };
        UnlockScreen {
            db_path: db_path.display().to_string(),
            username: username.unwrap_or_default(),
            display_name: String::new(),
            password: String::new(),
            confirm: String::new(),
            recovery_input: String::new(),
            sync_passphrase: String::new(),
            sync_folder: String::new(),
            mode,
            error: None,
            recovery_key: None,
            info: None,
            damaged: false,
            focus_pending: true,
        }
    }

    fn problem(&self) -> Option<&'static str> {
        if self.db_path.trim().is_empty() {
            return Some(t("Choose a database file."));
        }
        if self.username.trim().is_empty() {
            return Some(t("Enter a username."));
        }
        if self.mode == Mode::Recover && self.recovery_input.trim().is_empty() {
            return Some(t("Enter the recovery key."));
        }
        if self.mode == Mode::Join {
            if self.sync_passphrase.trim().chars().count()
                < crate::sync::bundle::MIN_PASSPHRASE_CHARS
            {
                return Some(t(
                    "Enter the sync passphrase your office gave you (12 characters or more).",
                ));
            }
            if !PathBuf::from(self.sync_folder.trim()).is_dir() {
                return Some(t(
                    "Choose the sync folder your office gave you (a USB stick or a shared folder).",
                ));
            }
        }
        if matches!(self.mode, Mode::Create | Mode::Join | Mode::Recover) {
            if self.password.chars().count() < crate::store::MIN_PASSWORD_CHARS {
                return Some(t("Use a password of at least 10 characters."));
            }
            if self.password != self.confirm {
                return Some(t("The two passwords differ."));
            }
        } else if self.password.is_empty() {
            return Some(t("Enter your password."));
        }
        None
    }

    /// For a path with no database yet: joining stays joining.
    fn new_mode(&self) -> Mode {
        if self.mode == Mode::Join {
            Mode::Join
        } else {
            Mode::Create
        }
    }

    /// The name to show for a new admin: as typed, or the username.
    fn display_name(&self) -> String {
        if self.display_name.trim().is_empty() {
            self.username.trim().to_owned()
        } else {
            self.display_name.trim().to_owned()
        }
    }

    /// Draws the screen; returns what to do.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> UnlockCommand {
        let mut command = UnlockCommand::None;
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            ui.heading("Tether");
            ui.label(t(
                "Offline case management for outreach. Everything stays encrypted on this laptop.",
            ));
            ui.add_space(16.0);
        });
        if let Some(key) = &self.recovery_key {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.strong(t("Recovery key — shown only once"));
                ui.label(t("Write it down and keep it offline, away from this laptop. It opens the database if every password is lost."));
                ui.add(egui::Label::new(egui::RichText::new(key).monospace().size(16.0)).selectable(true));
            });
            ui.add_space(8.0);
        }
        if matches!(self.mode, Mode::Create | Mode::Join) {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.mode, Mode::Create, t("Create a new database"));
                ui.selectable_value(&mut self.mode, Mode::Join, t("Join my organisation"));
            });
            ui.label(if self.mode == Mode::Join {
                t("For a laptop of an organisation that already uses Tether. Use the sync passphrase and the sync folder (a USB stick or a shared folder) your office gave you. Tether makes this laptop's own encrypted database, with you as its admin. After you log in, open Settings and press Sync now: the office's laptop appears there, not enrolled; check its key with the office, enroll it as office laptop, and press Sync now again to receive your organisation's records.")
            } else {
                t("For the first laptop of an organisation: an empty encrypted database, with you as its admin.")
            });
            ui.add_space(8.0);
        }
        let mut submit = false;
        egui::Grid::new("unlock_form")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                let label = ui.label(t("Database file"));
                ui.horizontal(|ui| {
                    let changed = ui
                        .add(egui::TextEdit::singleline(&mut self.db_path).desired_width(380.0))
                        .labelled_by(label.id)
                        .changed();
                    if changed {
                        self.mode = if PathBuf::from(self.db_path.trim()).exists() {
                            Mode::Login
                        } else {
                            self.new_mode()
                        };
                    }
                    if ui.button(t("Choose…")).clicked()
                        && let Some(path) = rfd::FileDialog::new()
                            .add_filter("Tether database", &["db"])
                            .pick_file()
                    {
                        self.db_path = path.display().to_string();
                        self.mode = Mode::Login;
                    }
                    if ui.button(t("New…")).clicked()
                        && let Some(path) = rfd::FileDialog::new()
                            .set_file_name("tether.db")
                            .save_file()
                    {
                        self.db_path = path.display().to_string();
                        self.mode = self.new_mode();
                    }
                });
                ui.end_row();

                let label = ui.label(t("Username"));
                let user = ui
                    .add(egui::TextEdit::singleline(&mut self.username))
                    .labelled_by(label.id);
                if self.focus_pending && self.username.is_empty() {
                    user.request_focus();
                    self.focus_pending = false;
                }
                ui.end_row();

                if matches!(self.mode, Mode::Create | Mode::Join) {
                    let label = ui.label(t("Your name"));
                    ui.add(egui::TextEdit::singleline(&mut self.display_name))
                        .labelled_by(label.id);
                    ui.end_row();
                }

                if self.mode == Mode::Recover {
                    let label = ui.label(t("Recovery key"));
                    ui.add(
                        egui::TextEdit::singleline(&mut self.recovery_input)
                            .password(true)
                            .desired_width(380.0),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                }

                let label = ui.label(if self.mode == Mode::Recover {
                    t("New password")
                } else {
                    t("Password")
                });
                let pw = ui
                    .add(egui::TextEdit::singleline(&mut self.password).password(true))
                    .labelled_by(label.id);
                if self.focus_pending && !self.username.is_empty() {
                    pw.request_focus();
                    self.focus_pending = false;
                }
                if pw.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    submit = true;
                }
                ui.end_row();

                if matches!(self.mode, Mode::Create | Mode::Join | Mode::Recover) {
                    let label = ui.label(t("Password again"));
                    let again = ui
                        .add(egui::TextEdit::singleline(&mut self.confirm).password(true))
                        .labelled_by(label.id);
                    if again.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        submit = true;
                    }
                    ui.end_row();
                }
                if self.mode == Mode::Join {
                    let label = ui.label(t("Sync passphrase"));
                    ui.add(
                        egui::TextEdit::singleline(&mut self.sync_passphrase)
                            .password(true)
                            .desired_width(380.0),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                    let label = ui.label(t("Sync folder"));
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut self.sync_folder).desired_width(380.0),
                        )
                        .labelled_by(label.id);
                        if ui.button(t("Choose folder…")).clicked()
                            && let Some(dir) = rfd::FileDialog::new().pick_folder()
                        {
                            self.sync_folder = dir.display().to_string();
                        }
                    });
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        let problem = self.problem();
        let action = match self.mode {
            Mode::Create => t("Create database"),
            Mode::Join => t("Create and join"),
            Mode::Login => t("Unlock"),
            Mode::Recover => t("Recover and open"),
        };
        let clicked = ui
            .add_enabled(problem.is_none(), egui::Button::new(action))
            .clicked();
        match self.mode {
            Mode::Create | Mode::Join => {
                ui.label(t(
                    "No database at this path yet: Tether will create one, with you as its admin.",
                ));
            }
            Mode::Login => {
                if ui.link(t("Forgot password or lost key file?")).clicked() {
                    self.mode = Mode::Recover;
                    self.error = None;
                    self.password.zeroize();
                    self.password.clear();
                }
            }
            Mode::Recover => {
                ui.label(t("Type the recovery key that was shown once when this database was created. It sets a new password for this username (an admin, or a new admin if the name is new) and rebuilds a lost key file."));
                if ui.link(t("Back to log in")).clicked() {
                    self.mode = Mode::Login;
                    self.error = None;
                    self.recovery_input.zeroize();
                    self.recovery_input.clear();
                }
            }
        }
        if let Some(info) = &self.info {
            ui.colored_label(super::widgets::GREEN, info);
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        } else if let Some(p) = problem
            && (!self.password.is_empty() || self.mode != Mode::Login && !self.confirm.is_empty())
        {
            ui.colored_label(ui.visuals().warn_fg_color, p);
        }
        if self.damaged && self.mode == Mode::Login {
            command = self.damaged_ui(ui, problem.is_none());
        }
        if (clicked || submit) && problem.is_none() {
            let path = PathBuf::from(self.db_path.trim());
            let password = std::mem::take(&mut self.password);
            self.confirm.zeroize();
            self.confirm.clear();
            command = match self.mode {
                Mode::Login => UnlockCommand::Open {
                    path,
                    username: self.username.trim().to_owned(),
                    password,
                },
                Mode::Recover => UnlockCommand::Recover {
                    path,
                    username: self.username.trim().to_owned(),
                    recovery_key: std::mem::take(&mut self.recovery_input),
                    password,
                },
                Mode::Create => UnlockCommand::Create {
                    path,
                    username: self.username.trim().to_owned(),
                    display_name: self.display_name(),
                    password,
                },
                Mode::Join => UnlockCommand::Join {
                    path,
                    username: self.username.trim().to_owned(),
                    display_name: self.display_name(),
                    password,
                    sync_passphrase: std::mem::take(&mut self.sync_passphrase),
                    sync_folder: PathBuf::from(self.sync_folder.trim()),
                },
            };
        }
        command
    }

    /// The damaged-file panel: the backups found beside the database, and
    /// a button that restores the newest one that passes verification.
    fn damaged_ui(&mut self, ui: &mut egui::Ui, ready: bool) -> UnlockCommand {
        let path = PathBuf::from(self.db_path.trim());
        let dir = crate::store::default_backup_dir(&path);
        let backups = crate::store::backups_in(&dir).unwrap_or_default();
        let mut command = UnlockCommand::None;
        ui.add_space(8.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(t("This database file is damaged."));
            ui.label(t("Some of its pages no longer match what Tether wrote: the disk, a crash or a copy went wrong. Nothing more will be written to it."));
            match backups.first() {
                Some(newest) => {
                    ui.label(super::i18n::tf(
                        "{n} backups in {dir}; the newest is of {day}.",
                        &[("n", &backups.len()), ("dir", &dir.display()), ("day", &newest.day)],
                    ));
                    ui.label(t("Restoring keeps the damaged file beside it, renamed with today's date. Records written after the backup are not in it."));
                    let button = ui.add_enabled(
                        ready,
                        egui::Button::new(t("Restore the newest good backup")),
                    );
                    if !ready {
                        ui.weak(t("Enter your username and password first."));
                    }
                    if button.clicked() {
                        command = UnlockCommand::RestoreNewest {
                            path: path.clone(),
                            username: self.username.trim().to_owned(),
                            password: std::mem::take(&mut self.password),
                        };
                    }
                }
                None => {
                    ui.label(super::i18n::tf(
                        "No backups were found in {dir}. Copy a backup and its .keys file into that folder, then try again.",
                        &[("dir", &dir.display())],
                    ));
                }
            }
        });
        command
    }
}
