//! The workspace: an unlocked database with its screens, the navigation,
//! and the writes and actions the screens ask for (the app shell in
//! `ui/mod.rs` holds the unlock screen, locking and the window).

use super::*;

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
    pub(super) open_conflicts: Option<(u64, usize)>,
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
    /// A record just made: removed as entered in error (a stay with the
    /// follow-ups its save opened).
    Recorded(Recorded),
    /// An arrest just corrected: corrected back.
    CorrectedArrest(Uuid, Arrest),
    /// A dose, refill or other event just corrected: corrected back.
    CorrectedEvent(Uuid, ServiceEvent),
}

/// A record a save just made, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Arrest(Uuid),
    Stay(Uuid),
    Enrollment(Uuid),
    Event(Uuid),
    FollowUp(Uuid),
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
            raid: raid::RaidScreen::new(store.today()),
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
        let day = ws.store.today();
        let due = ws.store.auto_backup_due(day);
        ws.maintenance.start(&ws.store, day, true, due);
        ws
    }

    pub(super) fn refresh_form_ctx(&mut self) {
        let today = self.store.today();
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

    pub(super) fn can(&self, p: Permission) -> bool {
        self.store.user().role.can(p)
    }

    pub(super) fn nav_ui(&mut self, ui: &mut egui::Ui) {
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
    pub(super) fn screen_ui(&mut self, ui: &mut egui::Ui, hide_names: bool) -> Action {
        let env = Env {
            store: &self.store,
            today: self.store.today(),
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
    pub(super) fn after_key_change(&mut self) {
        self.today = today::TodayScreen::new(&self.store);
        self.clients = clients::ClientsScreen::new(&self.store);
        self.maintenance
            .request_backup(&self.store, self.store.today());
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
                    .start(&self.store, self.store.today(), false, true);
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
    pub(super) fn damaged_banner(&self, ui: &mut egui::Ui, why: &str) -> Action {
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

    pub(super) fn open_client(&mut self, id: Uuid, log_contact: bool) {
        match profile::ProfileScreen::open(&self.store, id, &self.form_ctx, self.store.today()) {
            Ok(mut p) => {
                if log_contact {
                    p.start_contact(self.store.today(), self.store.user().id);
                }
                self.profile = Some(p);
                self.screen = Screen::Profile;
            }
            Err(e) => self.notice = Some((e.to_string(), true)),
        }
    }

    pub(super) fn write(&mut self, write: Write) -> Result<String, StoreError> {
        // "Undo" is for the last save only.
        self.undo = None;
        let s = &mut self.store;
        Ok(match write {
            Write::Client(None, c) => {
                let saved = s.create(c)?;
                // Newly registered: open their profile.
                self.screen = Screen::Profile;
                let p = profile::ProfileScreen::open(s, saved.id(), &self.form_ctx, s.today())?;
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
                let before: Arrest = s.get::<Arrest>(id)?.data;
                s.correct(id, a)?;
                self.undo = Some((Instant::now(), Undo::CorrectedArrest(id, before)));
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
            Write::MoveArrest(id, to) => {
                s.move_to_client::<Arrest>(id, to)?;
                t("Arrest moved to the right client").to_owned()
            }
            Write::MoveStay(id, to) => {
                s.move_to_client::<Detention>(id, to)?;
                t("Detention stay moved to the right client").to_owned()
            }
            Write::CorrectFollowUp(id, fu) => {
                s.correct(id, fu)?;
                t("Follow-up corrected").to_owned()
            }
            Write::RemoveStay(id, reason) => {
                s.remove::<Detention>(id, reason, true)?;
                t("Detention stay removed; it stays in the history").to_owned()
            }
            Write::RemoveEnrollment(id, reason) => {
                s.remove::<Enrollment>(id, reason, true)?;
                t("Enrollment removed; it stays in the history").to_owned()
            }
            Write::CorrectEvent(id, ev) => {
                let before: ServiceEvent = s.get::<ServiceEvent>(id)?.data;
                s.correct(id, ev)?;
                self.undo = Some((Instant::now(), Undo::CorrectedEvent(id, before)));
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
                    Undo::CorrectedArrest(id, before) => {
                        s.correct(id, before)?;
                    }
                    Undo::CorrectedEvent(id, before) => {
                        s.correct(id, before)?;
                    }
                    Undo::Recorded(what) => {
                        let why = RemovalReason::EnteredInError;
                        match what {
                            Recorded::Arrest(id) => s.remove::<Arrest>(id, why, true)?,
                            Recorded::Stay(id) => s.remove::<Detention>(id, why, true)?,
                            Recorded::Enrollment(id) => s.remove::<Enrollment>(id, why, true)?,
                            Recorded::Event(id) => s.remove::<ServiceEvent>(id, why, true)?,
                            Recorded::FollowUp(id) => s.remove::<FollowUp>(id, why, true)?,
                        }
                    }
                }
                t("Undone").to_owned()
            }
            Write::RemoveContact(id, reason) => {
                s.remove::<Contact>(id, reason, true)?;
                t("Contact removed; it stays in the history").to_owned()
            }
            Write::Arrest(a) => {
                let saved = s.create(a)?;
                self.undo = Some((Instant::now(), Undo::Recorded(Recorded::Arrest(saved.id()))));
                t("Arrest recorded").to_owned()
            }
            Write::StartDetention(d) => {
                let saved = s.create(d)?;
                self.undo = Some((Instant::now(), Undo::Recorded(Recorded::Stay(saved.id()))));
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
                let saved = s.create(e)?;
                self.undo = Some((
                    Instant::now(),
                    Undo::Recorded(Recorded::Enrollment(saved.id())),
                ));
                t("Enrollment saved").to_owned()
            }
            Write::Event(e) => {
                let saved = s.create(e)?;
                self.undo = Some((Instant::now(), Undo::Recorded(Recorded::Event(saved.id()))));
                t("Service event recorded").to_owned()
            }
            Write::FollowUp(f) => {
                let saved = s.create(f)?;
                self.undo = Some((
                    Instant::now(),
                    Undo::Recorded(Recorded::FollowUp(saved.id())),
                ));
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
            Write::ForgetDevice(device) => {
                s.forget_device(&device)?;
                t("Laptop forgotten").to_owned()
            }
            Write::DeviceScope(device, scope) => {
                s.set_device_scope(&device, &scope)?;
                t("Laptop's clients changed: it receives them, and removes every other, at its next sync").to_owned()
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
