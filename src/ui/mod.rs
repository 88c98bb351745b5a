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
    CorrectStay(Uuid, Detention),
    /// Move a contact to another client (id).
    MoveContact(Uuid, Uuid),
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

/// An unlocked database and the screens over it.
pub struct Workspace {
    pub store: Store,
    pub screen: Screen,
    pub today: today::TodayScreen,
    pub clients: clients::ClientsScreen,
    pub dashboard: dashboard::DashboardScreen,
    pub import: import::ImportScreen,
    pub reports: reports::ReportsScreen,
    pub profile: Option<profile::ProfileScreen>,
    pub raid: raid::RaidScreen,
    pub locations: locations::LocationsScreen,
    pub users: users::UsersScreen,
    pub settings: settings::SettingsScreen,
    pub review: sync::ReviewScreen,
    pub generation: u64,
    pub form_ctx: forms::FormCtx,
    /// A message for the banner: (text, is_error).
    pub notice: Option<(String, bool)>,
    /// The last save, undoable for a few seconds from the notice.
    pub undo: Option<(Instant, Undo)>,
    pub auto_lock: Duration,
    /// The integrity check and automatic backups beside the window.
    pub maintenance: maintenance::Maintenance,
    /// A restore asked for: the app closes the workspace to carry it out.
    pub restore_request: Option<RestoreRequest>,
    /// Open sync conflicts, for the navigation's label: (data generation
    /// it was counted at, count), read on change, not every frame.
    open_conflicts: Option<(u64, usize)>,
}

/// How long "Undo" stays in the notice after a save.
pub const UNDO_SECONDS: u64 = 10;

/// Undoing a save is a correction of its own, never a deletion of history.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    /// A contact just logged: removed as entered in error.
    LoggedContact(Uuid),
    /// A contact just corrected: corrected back.
    CorrectedContact(Uuid, Contact),
}

/// Which backup to restore.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreRequest {
    /// The newest automatic backup that passes verification.
    Newest,
    From(PathBuf),
}

impl Workspace {
    pub fn new(store: Store) -> Self {
        let auto_lock =
            Duration::from_secs(60 * store.setting(keys::AUTO_LOCK_MINUTES).clamp(1, 240) as u64);
        i18n::set_lang(Lang::from_code(&store.user().language));
        let mut ws = Workspace {
            screen: Screen::Today,
            today: today::TodayScreen::new(&store),
            clients: clients::ClientsScreen::new(&store),
            dashboard: dashboard::DashboardScreen::default(),
            import: import::ImportScreen::default(),
            reports: reports::ReportsScreen::default(),
            profile: None,
            raid: raid::RaidScreen::new(crate::store::today()),
            locations: locations::LocationsScreen::default(),
            users: users::UsersScreen::default(),
            settings: settings::SettingsScreen::default(),
            review: sync::ReviewScreen::default(),
            generation: 1,
            form_ctx: forms::FormCtx::default(),
            notice: None,
            auto_lock,
            maintenance: maintenance::Maintenance::default(),
            restore_request: None,
            open_conflicts: None,
            undo: None,
            store,
        };
        ws.refresh_form_ctx();
        if let Some(failed) = ws.store.failed_logins() {
            let since = chrono::DateTime::from_timestamp_millis(failed.since_ms)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            ws.notice = Some((
                i18n::tf(
                    "{n} failed logins on this laptop since {when}. If that was not someone you know mistyping, change the passwords and check the audit log.",
                    &[("n", &failed.count), ("when", &since)],
                ),
                true,
            ));
        }
        // Check every page of the file, then make today's backup if due.
        let day = crate::store::today();
        let due = ws.store.auto_backup_due(day);
        ws.maintenance.start(&ws.store, day, true, due);
        ws
    }

    fn refresh_form_ctx(&mut self) {
        let today = crate::store::today();
        let locations = self
            .store
            .list_all::<Location>()
            .map(|ls| ls.into_iter().map(|l| (l.id(), l.data.name)).collect())
            .unwrap_or_default();
        let workers = self
            .store
            .users()
            .map(|us| {
                us.into_iter()
                    .filter(|u| u.active)
                    .map(|u| (u.id(), u.data.display_name))
                    .collect()
            })
            .unwrap_or_default();
        self.form_ctx = forms::FormCtx {
            today,
            locations,
            workers,
            ..Default::default()
        };
    }

    fn can(&self, p: Permission) -> bool {
        self.store.user().role.can(p)
    }

    fn nav_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        let open = if self.can(Permission::ResolveConflicts) {
            match self.open_conflicts {
                Some((generation, n)) if generation == self.generation => n,
                _ => {
                    let n = self.store.open_conflict_count().unwrap_or(0);
                    self.open_conflicts = Some((self.generation, n));
                    n
                }
            }
        } else {
            0
        };
        let review_label = if open > 0 {
            i18n::tf("Sync review ({n})", &[("n", &open)])
        } else {
            t("Sync review").to_owned()
        };
        let mut items = vec![(Screen::Today, t("Today")), (Screen::Clients, t("Clients"))];
        if let Some(p) = &self.profile {
            items.push((Screen::Profile, p.title()));
        }
        if self.can(Permission::Export) {
            items.push((Screen::Dashboard, t("Dashboard")));
            items.push((Screen::Reports, t("Reports")));
        }
        items.push((Screen::Raid, t("Raid intake")));
        if self.can(Permission::Import) {
            items.push((Screen::Import, t("Import")));
        }
        items.push((Screen::Locations, t("Detention locations")));
        if self.can(Permission::ManageUsers) {
            items.push((Screen::Users, t("Users")));
        }
        if self.can(Permission::ResolveConflicts) {
            items.push((Screen::Review, &review_label));
        }
        items.push((Screen::Settings, t("Settings")));
        for (screen, label) in items {
            let selected = self.screen == screen;
            if ui
                .add_sized(
                    [ui.available_width(), 28.0],
                    egui::Button::selectable(selected, label),
                )
                .clicked()
            {
                self.screen = screen;
            }
        }
    }

    /// Draws the current screen and returns what it asked for.
    fn screen_ui(&mut self, ui: &mut egui::Ui, hide_names: bool) -> Action {
        let env = Env {
            store: &self.store,
            today: crate::store::today(),
            hide_names,
            generation: self.generation,
            forms: &self.form_ctx,
        };
        match self.screen {
            Screen::Today => self.today.ui(ui, &env),
            Screen::Clients => self.clients.ui(ui, &env),
            Screen::Dashboard => self.dashboard.ui(ui, &env),
            Screen::Import => self.import.ui(ui, &env),
            Screen::Reports => self.reports.ui(ui, &env),
            Screen::Profile => match &mut self.profile {
                Some(p) => p.ui(ui, &env),
                None => Action::Go(Screen::Clients),
            },
            Screen::Raid => self.raid.ui(ui, &env),
            Screen::Locations => self.locations.ui(ui, &env),
            Screen::Users => self.users.ui(ui, &env),
            Screen::Settings => self
                .settings
                .ui(ui, &env, self.auto_lock, &self.maintenance),
            Screen::Review => self.review.ui(ui, &env),
        }
    }

    /// After the database key changed: the screens' reading threads hold
    /// connections opened with the old key, so they start again, and a
    /// fresh backup is made with the new key.
    fn after_key_change(&mut self) {
        self.today = today::TodayScreen::new(&self.store);
        self.clients = clients::ClientsScreen::new(&self.store);
        self.maintenance
            .request_backup(&self.store, crate::store::today());
    }

    /// Shows a screen; the client list puts the cursor in its search box.
    pub fn go(&mut self, screen: Screen) {
        if screen == Screen::Clients && self.screen != Screen::Clients {
            self.clients.focused_once = false;
        }
        self.screen = screen;
    }

    /// Applies an action after the frame.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Go(screen) => self.go(screen),
            Action::OpenClient(id) => self.open_client(id, false),
            Action::LogContact(id) => self.open_client(id, true),
            Action::BackupNow => {
                self.maintenance
                    .start(&self.store, crate::store::today(), false, true);
            }
            Action::Restore(request) => self.restore_request = Some(request),
            Action::Reports(command) => self.reports.apply(&mut self.store, command),
            Action::Imported(summary) | Action::Synced(summary) => {
                self.generation += 1;
                self.refresh_form_ctx();
                self.notice = Some((summary, false));
            }
            Action::Write(write) => {
                let result = self.write(write);
                match &result {
                    Ok(message) => {
                        self.generation += 1;
                        self.refresh_form_ctx();
                        self.notice = Some((message.clone(), false));
                    }
                    Err(e) => self.notice = Some((e.to_string(), true)),
                }
                let result = result
                    .map(|_| ())
                    .map_err(|e| forms::SaveError::from_store(&e));
                match self.screen {
                    Screen::Clients => self.clients.after_save(&result),
                    Screen::Profile => {
                        if let Some(p) = &mut self.profile {
                            p.after_save(&result);
                        }
                    }
                    Screen::Today => self.today.after_save(&result),
                    Screen::Dashboard | Screen::Import | Screen::Reports | Screen::Review => {}
                    Screen::Raid => self.raid.after_save(&result),
                    Screen::Locations => self.locations.after_save(&result),
                    Screen::Users => self.users.after_save(&result),
                    Screen::Settings => self.settings.after_save(&result),
                }
            }
        }
    }

    /// The warning shown on every screen when the integrity check found the
    /// file damaged, with the way out.
    fn damaged_banner(&self, ui: &mut egui::Ui, why: &str) -> Action {
        let mut action = Action::None;
        egui::Frame::group(ui.style())
            .fill(ui.visuals().extreme_bg_color)
            .show(ui, |ui| {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    egui::RichText::new(t("This database file is damaged.")).strong(),
                );
                ui.label(why);
                ui.label(t("Automatic backups are paused so that they do not copy the damage. Restore the newest good backup; records written after it must be entered again."));
                if self.can(Permission::Backup) {
                    if ui.button(t("Restore the newest good backup")).clicked() {
                        action = Action::Restore(RestoreRequest::Newest);
                    }
                } else {
                    ui.label(t("Ask an admin to restore the newest good backup."));
                }
            });
        ui.add_space(6.0);
        action
    }

    fn open_client(&mut self, id: Uuid, log_contact: bool) {
        match profile::ProfileScreen::open(&self.store, id, &self.form_ctx, crate::store::today()) {
            Ok(mut p) => {
                if log_contact {
                    p.start_contact(crate::store::today(), self.store.user().id);
                }
                self.profile = Some(p);
                self.screen = Screen::Profile;
            }
            Err(e) => self.notice = Some((e.to_string(), true)),
        }
    }

    fn write(&mut self, write: Write) -> Result<String, StoreError> {
        // "Undo" is for the last save only.
        self.undo = None;
        let s = &mut self.store;
        Ok(match write {
            Write::Client(None, c) => {
                let saved = s.create(c)?;
                // Newly registered: open their profile.
                self.screen = Screen::Profile;
                let p = profile::ProfileScreen::open(
                    s,
                    saved.id(),
                    &self.form_ctx,
                    crate::store::today(),
                )?;
                self.profile = Some(p);
                t("Client registered").to_owned()
            }
            Write::Client(Some(id), c) => {
                s.update(id, c)?;
                t("Client details saved").to_owned()
            }
            Write::Contact(c) => {
                let saved = s.create(c)?;
                self.undo = Some((Instant::now(), Undo::LoggedContact(saved.id())));
                t("Contact logged").to_owned()
            }
            Write::CorrectContact(id, c) => {
                let before: Contact = s.get::<Contact>(id)?.data;
                s.correct(id, c)?;
                self.undo = Some((Instant::now(), Undo::CorrectedContact(id, before)));
                t("Contact corrected").to_owned()
            }
            Write::CorrectArrest(id, a) => {
                s.correct(id, a)?;
                t("Arrest corrected").to_owned()
            }
            Write::RemoveArrest(id, reason) => {
                s.remove::<Arrest>(id, reason, true)?;
                t("Arrest removed; it stays in the history").to_owned()
            }
            Write::CorrectEnrollment(id, en) => {
                s.correct(id, en)?;
                t("Enrollment corrected").to_owned()
            }
            Write::CorrectStay(id, d) => {
                s.correct(id, d)?;
                t("Detention stay corrected").to_owned()
            }
            Write::MoveContact(id, to) => {
                s.move_to_client::<Contact>(id, to)?;
                t("Contact moved to the right client").to_owned()
            }
            Write::CorrectEvent(id, ev) => {
                s.correct(id, ev)?;
                t("Service event corrected").to_owned()
            }
            Write::RemoveEvent(id, reason) => {
                s.remove::<ServiceEvent>(id, reason, true)?;
                t("Service event removed; it stays in the history").to_owned()
            }
            Write::Undo(undo) => {
                self.undo = None;
                match undo {
                    Undo::LoggedContact(id) => {
                        s.remove::<Contact>(id, RemovalReason::EnteredInError, true)?
                    }
                    Undo::CorrectedContact(id, before) => {
                        s.correct(id, before)?;
                    }
                }
                t("Undone").to_owned()
            }
            Write::RemoveContact(id, reason) => {
                s.remove::<Contact>(id, reason, true)?;
                t("Contact removed; it stays in the history").to_owned()
            }
            Write::Arrest(a) => {
                s.create(a)?;
                t("Arrest recorded").to_owned()
            }
            Write::StartDetention(d) => {
                s.create(d)?;
                t("Detention recorded").to_owned()
            }
            Write::EndDetention(id, d) => {
                s.update(id, d)?;
                t("Detention ended").to_owned()
            }
            Write::Transfer(id, date, to, basis) => {
                s.transfer(id, date, to, basis)?;
                t("Transfer recorded").to_owned()
            }
            Write::Enrollment(e) => {
                s.create(e)?;
                t("Enrollment saved").to_owned()
            }
            Write::Event(e) => {
                s.create(e)?;
                t("Service event recorded").to_owned()
            }
            Write::FollowUp(f) => {
                s.create(f)?;
                t("Follow-up added").to_owned()
            }
            Write::CloseFollowUp(id, f) => {
                s.update(id, f)?;
                t("Follow-up closed").to_owned()
            }
            Write::Location(None, l) => {
                s.create(l)?;
                t("Location added").to_owned()
            }
            Write::Location(Some(id), l) => {
                s.update(id, l)?;
                t("Location saved").to_owned()
            }
            Write::AddUser(u, mut password) => {
                let r = s.add_user(u, &password);
                password.zeroize();
                r?;
                t("User added").to_owned()
            }
            Write::UpdateUser(id, u) => {
                let deactivating = !u.active && s.get::<User>(id)?.active;
                let username = u.username.clone();
                s.update_user(id, u)?;
                if deactivating {
                    let recovery_key = s.take_new_recovery_key().map(|k| k.to_text());
                    self.after_key_change();
                    self.users.key_changed = Some(users::KeyChanged {
                        username,
                        recovery_key,
                    });
                    t("User deactivated; the database key is changed").to_owned()
                } else {
                    t("User saved").to_owned()
                }
            }
            Write::Password(id, mut password) => {
                let r = s.set_password(id, &password);
                password.zeroize();
                r?;
                t("Password changed").to_owned()
            }
            Write::Raid(raid) => {
                let r = s.record_raid(&raid)?;
                i18n::tf("Raid recorded: {n} arrests", &[("n", &r.arrests.len())])
            }
            Write::AutoLockMinutes(m) => {
                s.set_setting(keys::AUTO_LOCK_MINUTES, m)?;
                self.auto_lock = Duration::from_secs(60 * m.clamp(1, 240) as u64);
                t("Settings saved").to_owned()
            }
            Write::Thresholds(th) => {
                s.set_thresholds(&th)?;
                t("Settings saved").to_owned()
            }
            Write::BackupDir(dir) => {
                s.set_backup_dir(dir.as_deref())?;
                t("Settings saved").to_owned()
            }
            Write::SyncPassphrase(mut passphrase) => {
                let r = s.set_sync_passphrase(&passphrase);
                passphrase.zeroize();
                r?;
                t("Sync passphrase saved").to_owned()
            }
            Write::SyncFolder(dir) => {
                s.set_sync_folder(dir.as_deref())?;
                t("Settings saved").to_owned()
            }
            Write::EnrollDevice(device, trust) => {
                s.enroll_device(&device, None, trust)?;
                t("Laptop enrolled").to_owned()
            }
            Write::ResolveConflict(id, resolution) => {
                s.resolve_conflict(id, &resolution)?;
                t("Conflict resolved").to_owned()
            }
            Write::MergeClients(keep, others) => {
                let moved = s.merge_clients(keep, &others)?;
                i18n::tf("Clients merged: {n} records moved", &[("n", &moved)])
            }
            Write::Language(lang) => {
                let me = s.user().id;
                let mut user: User = s.get::<User>(me)?.data;
                user.language = lang.code().to_owned();
                s.update_user(me, user)?;
                i18n::set_lang(lang);
                t("Settings saved").to_owned()
            }
        })
    }
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
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = crate::files::private_dir(dir);
                }
                let r = Store::init(&path, &username, &display_name, &password)
                    .map(|i| (i.store, Some(i.recovery_key)));
                password.zeroize();
                r
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
            if ws.form_ctx.today != crate::store::today() {
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
            ws.maintenance.tick(&ws.store, crate::store::today());
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
                    let _ = store.auto_backup(crate::store::today());
                }
                let _ = store.lock();
            }
        }
    }
}

/// Opens the window.
pub fn run(db: Option<PathBuf>, user: Option<String>) -> Result<(), String> {
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
