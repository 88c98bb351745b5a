//! Sync in the window: the settings panel (passphrase, folder, "Sync now"
//! with progress and a summary) and the review screen where a coordinator
//! resolves conflicts and merges clients registered twice.

mod review;

pub use review::ReviewScreen;

use super::i18n::{t, tf};
use super::job::{Job, Polled};
use super::labels::{column_label, record_label};
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::Permission;
use crate::store::{
    Conflict, DuplicateClient, FolderSync, Resolution, Scope, SyncDevice, SyncStep, Trust,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use uuid::Uuid;
use zeroize::Zeroize;

/// How far the worker has got: its step (none yet), rows done, rows in all.
type Shared = Arc<Mutex<(Option<SyncStep>, usize, usize)>>;

struct Running {
    job: Job<Result<FolderSync, String>>,
    progress: Shared,
}

/// The sync part of Settings.
#[derive(Default)]
pub struct SyncPanel {
    /// The folder as typed (a network path, say), before "Use this folder".
    folder_text: Option<String>,
    passphrase: String,
    passphrase_again: String,
    running: Option<Running>,
    /// The last "Sync now": its summary, or why it failed.
    pub last: Option<Result<FolderSync, String>>,
    /// The laptops this one knows, loaded once per change of the data.
    devices: Option<(u64, Result<Vec<SyncDevice>, String>)>,
    /// What each laptop holds, in words (by device id), loaded with them.
    holds: HashMap<String, String>,
    /// The users a scope may name (id, username), loaded with the laptops.
    workers: Vec<(Uuid, String)>,
    /// The scope an admin is choosing: the laptop, every client, the workers.
    editing_scope: Option<(String, bool, BTreeSet<Uuid>)>,
    /// (generation, passphrase set, folder, open conflicts), read once per
    /// change of the data, not while drawing.
    facts: Option<(u64, bool, Option<std::path::PathBuf>, usize)>,
}

impl SyncPanel {
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Waits (up to `timeout`) until the background work has something
    /// to show; for tests, which would otherwise sleep.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) {
        if let Some(r) = &mut self.running {
            r.job.wait_ready(timeout);
        }
    }

    /// Starts "Sync now" on a worker thread with a second handle on the database.
    pub fn start(&mut self, env: &Env<'_>) {
        if self.busy() {
            return;
        }
        let prepared = (|| -> Result<_, String> {
            let key = env
                .store
                .sync_key()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    t("No sync passphrase is set; an admin sets it below.").to_owned()
                })?;
            let dir = env
                .store
                .sync_folder()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| t("Choose a sync folder first.").to_owned())?;
            let handle = env.store.second_handle().map_err(|e| e.to_string())?;
            Ok((key, dir, handle))
        })();
        let (key, dir, mut handle) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.last = Some(Err(e));
                return;
            }
        };
        let progress: Shared = Arc::new(Mutex::new((None, 0, 0)));
        let shared = progress.clone();
        let job = Job::spawn(move |w| {
            let mut report = |step: SyncStep, done: usize, total: usize| {
                if let Ok(mut p) = shared.lock() {
                    *p = (Some(step), done, total);
                }
            };
            let result = handle
                .sync_with_folder(&key, &dir, &mut report)
                .map_err(|e| e.to_string());
            let _ = handle.close();
            w.send(result);
        });
        self.last = None;
        self.running = Some(Running { job, progress });
    }

    /// Takes the worker's answer; a finished sync reloads every screen.
    fn receive(&mut self) -> Action {
        let Some(running) = &mut self.running else {
            return Action::None;
        };
        let result = match running.job.poll() {
            Polled::Message(r) => r,
            Polled::Pending => return Action::None,
            Polled::Finished => {
                Err(t("The sync stopped unexpectedly; nothing was merged.").to_owned())
            }
        };
        self.running = None;
        crate::memory::give_back();
        let action = match &result {
            Ok(done) => Action::Synced(summary(done)),
            Err(_) => Action::None,
        };
        self.last = Some(result);
        action
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = self.receive();
        self.refresh_devices(env);
        let store = env.store;
        ui.heading(t("Sync with other laptops"));
        ui.label(t("Each laptop writes its changes, encrypted with the organisation's sync passphrase, into a shared folder (a USB stick, a network folder, Syncthing or Nextcloud) and merges the other laptops' changes from it."));
        ui.add_space(4.0);
        if !matches!(&self.facts, Some((g, ..)) if *g == env.generation) {
            let conflicts = if store.user().role.can(Permission::ResolveConflicts) {
                store.open_conflict_count().unwrap_or(0)
            } else {
                0
            };
            self.facts = Some((
                env.generation,
                store.has_sync_key().unwrap_or(false),
                store.sync_folder().ok().flatten(),
                conflicts,
            ));
        }
        let (has_key, folder, open_conflicts) = match &self.facts {
            Some((_, k, f, n)) => (*k, f.clone(), *n),
            None => (false, None, 0),
        };
        egui::Grid::new("sync")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                field_label(ui, t("This laptop"));
                ui.monospace(store.device_id());
                ui.end_row();

                field_label(ui, t("This laptop's key"));
                // From the laptops list, loaded on change, not every frame.
                let own = match &self.devices {
                    Some((_, Ok(devices))) => devices
                        .iter()
                        .find(|d| d.this_laptop)
                        .map(|d| d.fingerprint.clone())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                ui.monospace(own);
                ui.end_row();

                field_label(ui, t("This laptop holds"));
                let own_holds = self
                    .holds
                    .get(store.device_id())
                    .cloned()
                    .unwrap_or_default();
                ui.label(own_holds);
                ui.end_row();

                field_label(ui, t("Sync passphrase"));
                if has_key {
                    ui.colored_label(GREEN, t("set"));
                } else {
                    ui.colored_label(ui.visuals().error_fg_color, t("not set"));
                }
                ui.end_row();

                if store.user().role.can(Permission::SyncSetup) {
                    let id = field_label(
                        ui,
                        if has_key {
                            t("New sync passphrase")
                        } else {
                            t("Set sync passphrase")
                        },
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut self.passphrase)
                            .password(true)
                            .desired_width(260.0),
                    )
                    .labelled_by(id);
                    ui.end_row();
                    let id = field_label(ui, t("Passphrase again"));
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut self.passphrase_again)
                                .password(true)
                                .desired_width(260.0),
                        )
                        .labelled_by(id);
                        let ready = !self.passphrase.is_empty();
                        if ui
                            .add_enabled(ready, egui::Button::new(t("Save passphrase")))
                            .clicked()
                        {
                            if self.passphrase == self.passphrase_again {
                                action = Action::Write(Write::SyncPassphrase(std::mem::take(
                                    &mut self.passphrase,
                                )));
                                self.passphrase_again.zeroize();
                            } else {
                                self.last = Some(Err(t("The two passphrases differ.").to_owned()));
                            }
                        }
                    });
                    ui.end_row();
                }

                let id = field_label(ui, t("Sync folder"));
                ui.horizontal(|ui| {
                    let saved = folder
                        .as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default();
                    let text = self.folder_text.get_or_insert_with(|| saved.clone());
                    ui.add(
                        egui::TextEdit::singleline(text)
                            .hint_text(t("none chosen"))
                            .desired_width(360.0),
                    )
                    .labelled_by(id);
                    let typed = text.trim().to_owned();
                    if !typed.is_empty()
                        && typed != saved
                        && ui.button(t("Use this folder")).clicked()
                    {
                        let dir = std::path::PathBuf::from(&typed);
                        if dir.is_dir() {
                            action = Action::Write(Write::SyncFolder(Some(dir)));
                        } else {
                            self.last = Some(Err(tf(
                                "There is no folder {folder}.",
                                &[("folder", &typed)],
                            )));
                        }
                    }
                    if ui.button(t("Choose sync folder…")).clicked()
                        && let Some(dir) = rfd::FileDialog::new().pick_folder()
                    {
                        self.folder_text = Some(dir.display().to_string());
                        action = Action::Write(Write::SyncFolder(Some(dir)));
                    }
                });
                ui.end_row();
            });
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let ready = has_key && folder.is_some() && !self.busy();
            if ui
                .add_enabled(ready, egui::Button::new(t("Sync now")))
                .clicked()
            {
                self.start(env);
            }
            if store.user().role.can(Permission::ResolveConflicts) {
                let open = open_conflicts;
                if open > 0
                    && ui
                        .link(tf("Review {n} conflicts", &[("n", &open)]))
                        .clicked()
                {
                    action = Action::Go(super::Screen::Review);
                }
            }
        });
        if let Some(running) = &self.running {
            let (stage, done, total) = running.progress.lock().map(|p| *p).unwrap_or_default();
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(match stage {
                    None => t("Starting…").to_owned(),
                    Some(SyncStep::Reading { file, files }) => tf(
                        "Reading bundle {file} of {files}…",
                        &[("file", &file), ("files", &files)],
                    ),
                    Some(SyncStep::Opening { file, files }) => tf(
                        "Opening bundle {file} of {files}…",
                        &[("file", &file), ("files", &files)],
                    ),
                    Some(SyncStep::Merging { file, files }) => tf(
                        "Merging bundle {file} of {files}…",
                        &[("file", &file), ("files", &files)],
                    ),
                    Some(SyncStep::Writing) => t("Writing this laptop's bundle…").to_owned(),
                });
            });
            if total > 0 {
                ui.add(egui::ProgressBar::new(done as f32 / total as f32).text(tf(
                    "{done} of {total} records",
                    &[("done", &done), ("total", &total)],
                )));
            }
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        match &self.last {
            Some(Ok(done)) => {
                ui.colored_label(GREEN, summary(done));
                for note in &done.skipped {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        tf("Skipped {note}", &[("note", note)]),
                    );
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        ui.add_space(8.0);
        let devices = self.devices_ui(ui, env);
        if devices != Action::None {
            action = devices;
        }
        action
    }

    /// Loads the laptops list when the data has changed.
    fn refresh_devices(&mut self, env: &Env<'_>) {
        if self
            .devices
            .as_ref()
            .is_none_or(|(g, _)| *g != env.generation)
        {
            let loaded = env.store.sync_devices().map_err(|e| e.to_string());
            self.workers = env
                .store
                .users()
                .map(|users| {
                    users
                        .into_iter()
                        .filter(|u| u.data.active)
                        .map(|u| (u.id(), u.data.username))
                        .collect()
                })
                .unwrap_or_default();
            self.holds.clear();
            if let Ok(devices) = &loaded {
                for d in devices {
                    let held = match (&d.scope, d.this_laptop) {
                        (Scope::Workers(_), false) => env.store.clients_held_by(&d.device_id).ok(),
                        _ => None,
                    };
                    let text = scope_text(&d.scope, &self.workers, held);
                    self.holds.insert(d.device_id.clone(), text);
                }
            }
            self.devices = Some((env.generation, loaded));
        }
    }

    /// This laptop's key, and the other laptops with what each is enrolled as.
    fn devices_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        let Some((_, devices)) = &self.devices else {
            return action;
        };
        let devices = match devices {
            Ok(d) => d,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return action;
            }
        };
        ui.strong(t("Laptops"));
        ui.label(t("Bundles are merged only from laptops an admin has enrolled here. Before enrolling one, check that the key shown here is the one its own Settings show. A field laptop sends its own changes; an office laptop may also pass on other laptops' changes and changes to users."));
        let admin = env.store.user().role.can(Permission::SyncSetup);
        ui.label(t("A field laptop receives and keeps only the clients of the outreach workers an admin chooses for it here; the others are removed from it at its next sync, and what it receives is sealed so that only it can open it. An office laptop holds every client."));
        // Scopes are set on a laptop that holds every client (the office).
        let office = devices.iter().any(|d| d.this_laptop && d.scope.is_all());
        egui::Grid::new("sync-devices")
            .num_columns(6)
            .striped(true)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.strong(t("Laptop"));
                ui.strong(t("Key"));
                ui.strong(t("Enrolled as"));
                ui.strong(t("Holds"));
                ui.strong(t("Last merged"));
                ui.label("");
                ui.end_row();
                for d in devices {
                    ui.monospace(short(&d.device_id));
                    ui.monospace(&d.fingerprint);
                    if d.this_laptop {
                        ui.label(t("this laptop"));
                    } else {
                        let (text, colour) = match d.trust {
                            Trust::Pending => (t("not enrolled"), ui.visuals().warn_fg_color),
                            Trust::Member => (t("field laptop"), GREEN),
                            Trust::Office => (t("office laptop"), GREEN),
                            Trust::Retired => (t("retired"), ui.visuals().error_fg_color),
                        };
                        ui.colored_label(colour, text);
                    }
                    let holds = match d.trust {
                        Trust::Pending | Trust::Retired if !d.this_laptop => "—".to_owned(),
                        _ => self.holds.get(&d.device_id).cloned().unwrap_or_default(),
                    };
                    ui.label(holds);
                    ui.label(
                        d.last_merged
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "—".into()),
                    );
                    // What an admin may do with it, in one menu (the row
                    // stays within the window).
                    if admin && !d.this_laptop {
                        ui.menu_button(t("Change"), |ui| {
                            let choices = [
                                (Trust::Member, t("Enroll as field laptop")),
                                (Trust::Office, t("Enroll as office laptop")),
                                (Trust::Retired, t("Retire")),
                            ];
                            for (trust, label) in choices {
                                if d.trust != trust && ui.button(label).clicked() {
                                    action = Action::Write(Write::EnrollDevice(
                                        d.device_id.clone(),
                                        trust,
                                    ));
                                    // A new field laptop: choose its clients next.
                                    if trust == Trust::Member && office {
                                        self.editing_scope =
                                            Some((d.device_id.clone(), false, BTreeSet::new()));
                                    }
                                    ui.close();
                                }
                            }
                            // A stranger's entry (or a retired laptop's)
                            // leaves the list; it is listed again if it
                            // writes another bundle.
                            if matches!(d.trust, Trust::Pending | Trust::Retired)
                                && ui.button(t("Forget this laptop")).clicked()
                            {
                                action = Action::Write(Write::ForgetDevice(d.device_id.clone()));
                                ui.close();
                            }
                            if office
                                && d.trust == Trust::Member
                                && ui.button(t("Choose its clients")).clicked()
                            {
                                let (all, chosen) = match &d.scope {
                                    Scope::All => (true, BTreeSet::new()),
                                    Scope::NotChosen => (false, BTreeSet::new()),
                                    Scope::Workers(w) => (false, w.iter().copied().collect()),
                                };
                                self.editing_scope = Some((d.device_id.clone(), all, chosen));
                                ui.close();
                            }
                        });
                    } else {
                        ui.label("");
                    }
                    ui.end_row();
                }
            });
        if let Some(write) = self.scope_editor(ui) {
            action = write;
        }
        action
    }

    /// An admin chooses which clients a field laptop holds: every client,
    /// or those of the outreach workers ticked.
    fn scope_editor(&mut self, ui: &mut egui::Ui) -> Option<Action> {
        let (device, all, chosen) = self.editing_scope.as_mut()?;
        let mut action = None;
        let mut close = false;
        ui.add_space(8.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(tf(
                "Which clients laptop {laptop} holds",
                &[("laptop", &short(device))],
            ));
            ui.radio_value(all, true, t("Every client (an office laptop)"));
            ui.radio_value(all, false, t("Only the clients of these outreach workers:"));
            ui.add_enabled_ui(!*all, |ui| {
                ui.horizontal_wrapped(|ui| {
                    for (id, name) in &self.workers {
                        let mut on = chosen.contains(id);
                        if ui.checkbox(&mut on, name).changed() {
                            if on {
                                chosen.insert(*id);
                            } else {
                                chosen.remove(id);
                            }
                        }
                    }
                });
            });
            ui.horizontal(|ui| {
                if ui.button(t("Save")).clicked() {
                    let scope = if *all {
                        Scope::All
                    } else {
                        Scope::Workers(chosen.iter().copied().collect())
                    };
                    action = Some(Action::Write(Write::DeviceScope(device.clone(), scope)));
                    close = true;
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        if close {
            self.editing_scope = None;
        }
        action
    }
}

/// "Received …, sent …, conflicts …" in words.
pub fn summary(done: &FolderSync) -> String {
    let mut text = tf(
        "Sync done: {received} records received from {bundles} laptop(s), {sent} sent, {conflicts} conflicts to review.",
        &[
            ("received", &done.received()),
            ("bundles", &done.merged.len()),
            ("sent", &done.sent),
            ("conflicts", &done.conflicts()),
        ],
    );
    if done.purged() > 0 {
        text.push(' ');
        text.push_str(&tf(
            "{n} client(s) no longer in this laptop's scope were removed from it, with all their records.",
            &[("n", &done.purged())],
        ));
    }
    text
}

/// What a laptop holds, in words: every client, or the clients of its
/// workers (by username), with how many it holds when known.
fn scope_text(scope: &Scope, workers: &[(Uuid, String)], held: Option<i64>) -> String {
    match scope {
        Scope::All => t("every client").to_owned(),
        Scope::NotChosen => t("nothing yet: choose its clients").to_owned(),
        Scope::Workers(w) if w.is_empty() => t("no clients (no workers chosen)").to_owned(),
        Scope::Workers(w) => {
            let names: Vec<String> = w
                .iter()
                .map(|id| {
                    workers
                        .iter()
                        .find(|(u, _)| u == id)
                        .map_or_else(|| short(&id.to_string()), |(_, n)| n.clone())
                })
                .collect();
            let names = names.join(", ");
            match held {
                Some(n) => tf(
                    "the clients of {names} ({n} held)",
                    &[("names", &names), ("n", &n)],
                ),
                None => tf("the clients of {names}", &[("names", &names)]),
            }
        }
    }
}

/// The first part of a device id: enough to tell laptops apart on screen.
fn short(device: &str) -> String {
    device
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}
