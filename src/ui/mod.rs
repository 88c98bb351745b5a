//! The eframe window: unlock screen, then the workspace. Screens return
//! commands that the App applies after the frame; the UI never writes SQL.

pub mod fonts;
pub mod unlock;

use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use unlock::{UnlockCommand, UnlockScreen};
use zeroize::Zeroize;

/// Idle time after which the window locks itself.
pub const AUTO_LOCK_AFTER: Duration = Duration::from_secs(5 * 60);

/// The default database: `tether.db` in the OS data folder.
pub fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Tether", "Tether")
        .map(|d| d.data_dir().join("tether.db"))
        .unwrap_or_else(|| PathBuf::from("tether.db"))
}

/// What is on screen: the unlock screen, or an open database.
pub enum Session {
    Locked(Box<UnlockScreen>),
    Open(Box<Workspace>),
}

/// An unlocked database and the screens over it.
pub struct Workspace {
    pub store: Store,
    /// Live record counts, read once after unlocking.
    pub counts: Vec<(String, i64)>,
    pub error: Option<String>,
}

/// The application.
pub struct TetherApp {
    pub session: Session,
    last_activity: Instant,
}

impl TetherApp {
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        db: Option<PathBuf>,
        user: Option<String>,
    ) -> Self {
        fonts::install(&cc.egui_ctx);
        TetherApp {
            session: Session::Locked(Box::new(UnlockScreen::new(
                db.unwrap_or_else(default_db_path),
                user,
            ))),
            last_activity: Instant::now(),
        }
    }

    /// Whether a database is open.
    pub fn is_unlocked(&self) -> bool {
        matches!(self.session, Session::Open(_))
    }

    /// Closes the database and returns to the unlock screen. Nothing about
    /// clients stays in memory: the workspace is dropped whole.
    pub fn lock(&mut self) {
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
    }

    fn apply(&mut self, command: UnlockCommand) {
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
                    let _ = std::fs::create_dir_all(dir);
                }
                let r = Store::init(&path, &username, &display_name, &password)
                    .map(|i| (i.store, Some(i.recovery_key)));
                password.zeroize();
                r
            }
        };
        match result {
            Ok((store, recovery_key)) => {
                let counts = store.check_counts_quick().unwrap_or_default();
                if let Some(key) = recovery_key {
                    // Show the recovery key once, on a screen of its own, before the workspace.
                    screen.recovery_key = Some(key);
                    screen.mode = unlock::Mode::Login;
                    screen.error = None;
                    let _ = store.close();
                    return;
                }
                self.session = Session::Open(Box::new(Workspace {
                    store,
                    counts,
                    error: None,
                }));
            }
            Err(e) => screen.error = Some(e.to_string()),
        }
        self.last_activity = Instant::now();
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
        if self.is_unlocked() && (lock_key || self.last_activity.elapsed() >= AUTO_LOCK_AFTER) {
            self.lock();
        }
        if self.is_unlocked() {
            ctx.request_repaint_after(Duration::from_secs(5));
        }
        let mut lock_now = false;
        let mut command = UnlockCommand::None;
        match &mut self.session {
            Session::Locked(screen) => {
                egui::CentralPanel::default_margins().show(ui, |ui| {
                    command = screen.ui(ui);
                });
            }
            Session::Open(ws) => {
                egui::Panel::top("top_bar").show(ui, |ui| {
                    ui.horizontal(|ui| {
                        let name = ws
                            .store
                            .path()
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        ui.strong("Tether");
                        ui.separator();
                        ui.label(format!("Database: {name}"));
                        ui.separator();
                        ui.label(format!(
                            "{} ({})",
                            ws.store.user().display_name,
                            ws.store.user().role
                        ));
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if ui.button("Lock (Ctrl+L)").clicked() {
                                lock_now = true;
                            }
                        });
                    });
                });
                egui::CentralPanel::default_margins().show(ui, |ui| {
                    ui.heading("Database unlocked");
                    egui::Grid::new("counts")
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            for (table, n) in &ws.counts {
                                ui.label(table.replace('_', " "));
                                ui.label(n.to_string());
                                ui.end_row();
                            }
                        });
                    if let Some(e) = &ws.error {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                });
            }
        }
        if lock_now {
            self.lock();
        }
        self.apply(command);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.lock();
    }
}

/// Opens the window.
pub fn run(db: Option<PathBuf>, user: Option<String>) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tether")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([720.0, 480.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Tether",
        options,
        Box::new(move |cc| Ok(Box::new(TetherApp::new(cc, db, user)))),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
