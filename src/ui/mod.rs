//! The eframe window: unlock screen, then the workspace (top bar, left
//! navigation, central screen). Screens read through the store's query
//! functions and return a [`Write`] that the workspace applies after the
//! frame; the UI never writes SQL.

pub mod clients;
pub mod dashboard;
pub mod fonts;
pub mod forms;
pub mod i18n;
pub mod import;
pub mod job;
pub mod labels;
pub mod locations;
pub mod maintenance;
pub mod profile;
pub mod raid;
pub mod reports;
pub mod settings;
mod strings_km;
pub mod sync;
pub mod today;
pub mod unlock;
pub mod users;
pub mod widgets;
mod workspace;

pub use workspace::*;

use crate::domain::*;
use crate::store::{Raid, Store, StoreError, settings as keys};
use chrono::NaiveDate;
use i18n::{Lang, t};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use unlock::{UnlockCommand, UnlockScreen};
use uuid::Uuid;
use zeroize::Zeroize;

/// The default database: `tether.db` in the OS data folder.
pub fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Tether", "Tether")
        .map(|d| d.data_dir().join("tether.db"))
        .unwrap_or_else(|| PathBuf::from("tether.db"))
}

/// The screens of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Today,
    Clients,
    Dashboard,
    Reports,
    Import,
    Profile,
    Raid,
    Locations,
    Users,
    Settings,
    /// Sync conflicts and probable duplicate clients.
    Review,
}

/// A change a screen asks for; the workspace applies it through the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Client(Option<Uuid>, Client),
    Contact(Contact),
    /// Correct a saved contact.
    CorrectContact(Uuid, Contact),
    /// Remove a contact, with the reason.
    RemoveContact(Uuid, RemovalReason),
    /// Correct a saved arrest.
    CorrectArrest(Uuid, Arrest),
    /// Remove an arrest (stays that record it are unlinked; the screen
    /// said so first).
    RemoveArrest(Uuid, RemovalReason),
    /// Correct an enrollment (its end kept).
    CorrectEnrollment(Uuid, Enrollment),
    /// Correct where and since when a stay held someone.
    /// Remove a stay entered in error, with the follow-ups the rules
    /// opened for it.
    RemoveStay(Uuid, RemovalReason),
    /// Remove an enrollment entered in error, with its events.
    RemoveEnrollment(Uuid, RemovalReason),
    CorrectStay(Uuid, Detention),
    /// Move a contact to another client (id).
    MoveContact(Uuid, Uuid),
    /// Move an arrest to another client (id).
    MoveArrest(Uuid, Uuid),
    /// Move a stay to another client (id), checked against their stays.
    MoveStay(Uuid, Uuid),
    /// Correct a saved dose, refill or other service event.
    CorrectEvent(Uuid, ServiceEvent),
    /// Remove a service event.
    RemoveEvent(Uuid, RemovalReason),
    /// Undo the last save.
    Undo(Undo),
    Arrest(Arrest),
    StartDetention(Detention),
    EndDetention(Uuid, Detention),
    Transfer(Uuid, NaiveDate, Uuid, Option<DetentionBasis>),
    Enrollment(Enrollment),
    Event(ServiceEvent),
    FollowUp(FollowUp),
    /// Correct a follow-up's reason, due date or worker (its rule and its
    /// closing kept).
    CorrectFollowUp(Uuid, FollowUp),
    CloseFollowUp(Uuid, FollowUp),
    Location(Option<Uuid>, Location),
    AddUser(User, String),
    UpdateUser(Uuid, User),
    Password(Uuid, String),
    Raid(Raid),
    AutoLockMinutes(i64),
    Thresholds(crate::continuity::Thresholds),
    Language(Lang),
    /// Move the automatic backups (None: back beside the database).
    BackupDir(Option<PathBuf>),
    SyncPassphrase(String),
    SyncFolder(Option<PathBuf>),
    /// Enroll another laptop (device id) as a field or office laptop, or retire it.
    EnrollDevice(String, crate::store::Trust),
    /// Forget a laptop seen but not enrolled, or retired (device id).
    ForgetDevice(String),
    /// Which clients a field laptop (device id) holds.
    DeviceScope(String, crate::store::Scope),
    ResolveConflict(i64, crate::store::Resolution),
    /// Keep the first client; merge the others into it.
    MergeClients(Uuid, Vec<Uuid>),
}

/// What a screen asks the workspace to do after the frame.
#[must_use]
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(clippy::large_enum_variant)] // one per user action; size does not matter
pub enum Action {
    #[default]
    None,
    Go(Screen),
    OpenClient(Uuid),
    /// Open a client with the contact form ready (the keyboard flow).
    LogContact(Uuid),
    Write(Write),
    /// Make today's backup now, beside the window.
    BackupNow,
    /// An import finished on the worker thread: reload, and say so.
    Imported(String),
    /// A sync finished on the worker thread: reload, and say so.
    Synced(String),
    /// Save a report or export the line list (both audited).
    Reports(reports::ReportsCommand),
    /// Replace the database with a backup (closes the workspace).
    Restore(RestoreRequest),
}

/// What every screen may read: the store, today, privacy, shared lists.
pub struct Env<'a> {
    pub store: &'a Store,
    pub today: NaiveDate,
    pub hide_names: bool,
    /// Bumped after every successful write; screens reload when it changes.
    pub generation: u64,
    pub forms: &'a forms::FormCtx,
}

/// What is on screen: the unlock screen, or an open database.
pub enum Session {
    Locked(Box<UnlockScreen>),
    Open(Box<Workspace>),
}

/// The application.
pub struct TetherApp {
    pub session: Session,
    /// Show codes only, no nicknames or names (work in public places).
    pub hide_names: bool,
    last_activity: Instant,
}

impl TetherApp {
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        db: Option<PathBuf>,
        user: Option<String>,
    ) -> Self {
        fonts::install(&cc.egui_ctx);
        cc.egui_ctx.set_theme(egui::ThemePreference::System);
        TetherApp {
            session: Session::Locked(Box::new(UnlockScreen::new(
                db.unwrap_or_else(default_db_path),
                user,
            ))),
            hide_names: false,
            last_activity: Instant::now(),
        }
    }

    /// Whether a database is open.
    pub fn is_unlocked(&self) -> bool {
        matches!(self.session, Session::Open(_))
    }

    /// The open workspace, if any.
    pub fn workspace(&self) -> Option<&Workspace> {
        match &self.session {
            Session::Open(ws) => Some(ws),
            Session::Locked(_) => None,
        }
    }

    pub fn workspace_mut(&mut self) -> Option<&mut Workspace> {
        match &mut self.session {
            Session::Open(ws) => Some(ws),
            Session::Locked(_) => None,
        }
    }

    /// Closes the database and returns to the unlock screen. The workspace,
    /// with every screen's data, is dropped whole, and egui's own memory
    /// (text-field contents and undo history) is cleared.
    pub fn lock(&mut self, ctx: &egui::Context) {
        let (path, username) = match &self.session {
            Session::Open(ws) => (ws.store.path().to_owned(), ws.store.user().username.clone()),
            Session::Locked(_) => return,
        };
        let previous = std::mem::replace(
            &mut self.session,
            Session::Locked(Box::new(UnlockScreen::new(path, Some(username)))),
        );
        if let Session::Open(ws) = previous {
            let _ = ws.store.lock();
        }
        ctx.memory_mut(|m| m.data = Default::default());
    }

    /// Closes the workspace (every screen and worker with it) and replaces
    /// the database with a backup; then asks to log in again.
    fn restore(&mut self, request: RestoreRequest) {
        let Session::Open(ws) = std::mem::replace(
            &mut self.session,
            Session::Locked(Box::new(UnlockScreen::new(PathBuf::new(), None))),
        ) else {
            return;
        };
        let Workspace { store, .. } = *ws;
        let (path, username) = (store.path().to_owned(), store.user().username.clone());
        let result = match request {
            RestoreRequest::Newest => store.restore_newest().map(|(b, r)| (Some(b.day), r)),
            RestoreRequest::From(from) => store.restore_from(&from).map(|r| (None, r)),
        };
        let mut screen = UnlockScreen::new(path, Some(username));
        match result {
            Ok((day, report)) => {
                let mut text = match day {
                    Some(day) => i18n::tf(
                        "Restored the backup of {day}. Log in again.",
                        &[("day", &day)],
                    ),
                    None => t("Restored the backup. Log in again.").to_owned(),
                };
                if let Some(kept) = report.kept_as {
                    text.push(' ');
                    text.push_str(&i18n::tf(
                        "The previous file is kept as {file}.",
                        &[("file", &kept.display())],
                    ));
                }
                screen.info = Some(text);
            }
            Err(e) => screen.error = Some(e.to_string()),
        }
        self.session = Session::Locked(Box::new(screen));
    }

    fn apply_unlock(&mut self, command: UnlockCommand) {
        /// A new database's folder, private, if it is not there yet (a
        /// failure shows as the database's own error next).
        fn make_parent_folder(path: &std::path::Path) {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = crate::files::private_dir(dir);
            }
        }

        let Session::Locked(screen) = &mut self.session else {
            return;
        };
        let result: Result<(Store, Option<String>), StoreError> = match command {
            UnlockCommand::None => return,
            UnlockCommand::Open {
                path,
                username,
                mut password,
            } => {
                let r = Store::open(&path, &username, &password).map(|s| (s, None));
                password.zeroize();
                r
            }
            UnlockCommand::Create {
                path,
                username,
                display_name,
                mut password,
            } => {
                make_parent_folder(&path);
                let r = Store::init(&path, &username, &display_name, &password)
                    .map(|i| (i.store, Some(i.recovery_key)));
                password.zeroize();
                r
            }
            UnlockCommand::Join {
                path,
                username,
                display_name,
                mut password,
                mut sync_passphrase,
                sync_folder,
            } => {
                make_parent_folder(&path);
                let r = Store::init(&path, &username, &display_name, &password);
                password.zeroize();
                let outcome = r.map(|mut init| {
                    let set = init
                        .store
                        .set_sync_passphrase(&sync_passphrase)
                        .and_then(|()| init.store.set_sync_folder(Some(&sync_folder)));
                    (init, set)
                });
                sync_passphrase.zeroize();
                match outcome {
                    Ok((init, set)) => {
                        // Show the recovery key once, then log in.
                        screen.recovery_key = Some(init.recovery_key);
                        screen.mode = unlock::Mode::Login;
                        match set {
                            Ok(()) => {
                                screen.error = None;
                                screen.info = Some(t("This laptop's database is ready. Log in, open Settings and press Sync now; then enroll your office's laptop after checking its key with the office, and press Sync now again.").to_owned());
                            }
                            Err(e) => {
                                screen.error = Some(format!(
                                    "{}: {e}",
                                    t(
                                        "The database was made, but the sync settings were not kept; log in and set them in Settings"
                                    )
                                ));
                            }
                        }
                        let _ = init.store.close();
                    }
                    Err(e) => screen.error = Some(e.to_string()),
                }
                self.last_activity = Instant::now();
                return;
            }
            UnlockCommand::Recover {
                path,
                username,
                mut recovery_key,
                mut password,
            } => {
                let r = Store::recover(&path, &recovery_key, &username, &password);
                recovery_key.zeroize();
                password.zeroize();
                match r {
                    Ok((store, done)) => {
                        let mut workspace = Workspace::new(store);
                        workspace.notice = Some((
                            if done.key_file_rebuilt {
                                t("New password set with the recovery key. The key file was made anew: every other user needs a new password from an admin (Users).").to_owned()
                            } else {
                                t("New password set with the recovery key.").to_owned()
                            },
                            false,
                        ));
                        self.session = Session::Open(Box::new(workspace));
                        return;
                    }
                    Err(e) => Err(e),
                }
            }
            UnlockCommand::RestoreNewest {
                path,
                username,
                mut password,
            } => {
                let dir = crate::store::default_backup_dir(&path);
                let r = crate::store::restore_newest(&path, &dir, &username, &password)
                    .and_then(|_| Store::open(&path, &username, &password))
                    .map(|s| (s, None));
                password.zeroize();
                if r.is_ok() {
                    screen.damaged = false;
                }
                r
            }
        };
        match result {
            Ok((store, Some(key))) => {
                // Show the recovery key once, before anything else.
                screen.recovery_key = Some(key);
                screen.mode = unlock::Mode::Login;
                screen.error = None;
                let _ = store.close();
            }
            Ok((store, None)) => {
                self.session = Session::Open(Box::new(Workspace::new(store)));
            }
            Err(e) => {
                screen.damaged = matches!(e, StoreError::Damaged(_));
                screen.error = Some(e.to_string());
            }
        }
        self.last_activity = Instant::now();
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) -> bool {
        let Session::Open(ws) = &mut self.session else {
            return false;
        };
        let mut lock_now = false;
        ui.horizontal(|ui| {
            let name = ws
                .store
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ui.strong("Tether");
            ui.separator();
            ui.label(format!("{}: {name}", t("Database")));
            ui.separator();
            ui.label(format!(
                "{} ({})",
                ws.store.user().display_name,
                labels::Labelled::label(ws.store.user().role)
            ));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(t("Lock (Ctrl+L)")).clicked() {
                    lock_now = true;
                }
                ui.checkbox(&mut self.hide_names, t("Hide names"));
            });
        });
        lock_now
    }
}

impl eframe::App for TetherApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let (activity, lock_key) = ctx.input(|i| {
            (
                !i.events.is_empty() || i.pointer.is_moving(),
                i.modifiers.command && i.key_pressed(egui::Key::L),
            )
        });
        if activity {
            self.last_activity = Instant::now();
        }
        if let Some(ws) = self.workspace() {
            if lock_key || self.last_activity.elapsed() >= ws.auto_lock {
                self.lock(&ctx);
            } else {
                ctx.request_repaint_after(Duration::from_secs(5));
            }
        }
        let mut command = UnlockCommand::None;
        let hide_names = self.hide_names;
        if self.is_unlocked() {
            let mut lock_now = false;
            egui::Panel::top("top_bar").show(ui, |ui| lock_now = self.top_bar(ui));
            let Session::Open(ws) = &mut self.session else {
                return;
            };
            // Past midnight, forms take the new day as today (their default
            // dates and their "not in the future" check).
            if ws.form_ctx.today != ws.store.today() {
                ws.refresh_form_ctx();
            }
            egui::Panel::left("nav")
                .resizable(false)
                .exact_size(190.0)
                .show(ui, |ui| ws.nav_ui(ui));
            let mut action = Action::None;
            egui::CentralPanel::default_margins().show(ui, |ui| {
                if let Some((text, is_error)) = ws.notice.clone() {
                    ui.horizontal(|ui| {
                        let color = if is_error {
                            ui.visuals().error_fg_color
                        } else {
                            widgets::GREEN
                        };
                        ui.colored_label(color, text);
                        if let Some((at, undo)) = &ws.undo {
                            let left =
                                Duration::from_secs(UNDO_SECONDS).saturating_sub(at.elapsed());
                            if left.is_zero() || is_error {
                                ws.undo = None;
                            } else {
                                if ui.button(t("Undo")).clicked() {
                                    action = Action::Write(Write::Undo(undo.clone()));
                                }
                                ui.ctx().request_repaint_after(left);
                            }
                        }
                        if ui.small_button("×").clicked() {
                            ws.notice = None;
                            ws.undo = None;
                        }
                    });
                    ui.separator();
                }
                if let Some(why) = ws.maintenance.damaged.clone() {
                    action = ws.damaged_banner(ui, &why);
                }
                let screen_action = ws.screen_ui(ui, hide_names);
                if action == Action::None {
                    action = screen_action;
                }
            });
            ws.apply(action);
            ws.maintenance.poll(&mut ws.store);
            let today = ws.store.today();
            ws.maintenance.tick(&ws.store, today);
            if let Some(request) = ws.restore_request.take() {
                self.restore(request);
            } else if lock_now {
                self.lock(&ctx);
            }
        } else if let Session::Locked(screen) = &mut self.session {
            egui::CentralPanel::default_margins().show(ui, |ui| command = screen.ui(ui));
        }
        self.apply_unlock(command);
    }

    fn persist_egui_memory(&self) -> bool {
        // egui's memory can hold text typed into fields: never write it to disk.
        false
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Session::Open(_) = self.session {
            let previous = std::mem::replace(
                &mut self.session,
                Session::Locked(Box::new(UnlockScreen::new(PathBuf::new(), None))),
            );
            if let Session::Open(ws) = previous {
                let Workspace {
                    mut store,
                    mut maintenance,
                    ..
                } = *ws;
                // Let a check or backup under way finish first (a minute at most).
                let started = Instant::now();
                while maintenance.busy() && started.elapsed() < Duration::from_secs(60) {
                    maintenance.poll(&mut store);
                    std::thread::sleep(Duration::from_millis(50));
                }
                // The backup made on closing (never over good backups when
                // the file was found damaged).
                if maintenance.damaged.is_none() {
                    let _ = store.auto_backup(store.today());
                }
                let _ = store.lock();
            }
        }
    }
}

/// Opens the window.
pub fn run(db: Option<PathBuf>, user: Option<String>) -> Result<(), String> {
    crate::memory::limit_arenas();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tether")
            .with_inner_size([1200.0, 760.0])
            .with_min_inner_size([800.0, 520.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Tether",
        options,
        Box::new(move |cc| Ok(Box::new(TetherApp::new(cc, db, user)))),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
