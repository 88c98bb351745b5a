//! Work on the database file that runs beside the window: the full
//! integrity check after unlocking, and the automatic daily backup (checked
//! once a minute). Both run on a worker thread with their own connection;
//! the window only records the results, and picks them up on its next
//! frame (it repaints at least every few seconds for the auto-lock).

use super::i18n::tf;
use super::job::{Job, Polled};
use crate::store::{BackupOutcome, CheckReport, Store};
use chrono::NaiveDate;
use std::time::{Duration, Instant};

/// What the worker reports.
enum Report {
    Checked(Result<CheckReport, String>),
    BackedUp(Result<BackupOutcome, String>),
}

/// The work under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    Check,
    Backup,
}

/// The state of the background work, as the screens show it.
pub struct Maintenance {
    rx: Option<Job<Report>>,
    /// What is running now, for a status line.
    pub running: Option<Running>,
    /// Whether a backup follows the running check.
    then_backup: bool,
    /// Why the database file is damaged, when the check found it so.
    pub damaged: Option<String>,
    /// The last backup made while the window was open.
    pub last_backup: Option<Result<BackupOutcome, String>>,
    /// Bumped whenever a report arrives (the backups list then reloads).
    pub version: u64,
    next_look: Instant,
    /// A backup asked for while other work ran (after a change of key).
    backup_wanted: bool,
}

impl Default for Maintenance {
    fn default() -> Self {
        Maintenance {
            rx: None,
            running: None,
            then_backup: false,
            damaged: None,
            last_backup: None,
            version: 0,
            next_look: Instant::now(),
            backup_wanted: false,
        }
    }
}

/// What the check found, in the UI language (the store's report is typed).
fn describe(report: &CheckReport) -> String {
    let mut parts = Vec::new();
    if !report.cipher_errors.is_empty() {
        parts.push(tf(
            "{n} pages fail their authentication check",
            &[("n", &report.cipher_errors.len())],
        ));
    }
    if !report.integrity_errors.is_empty() {
        parts.push(tf(
            "{n} integrity problems",
            &[("n", &report.integrity_errors.len())],
        ));
    }
    if report.foreign_key_errors > 0 {
        parts.push(tf(
            "{n} broken references",
            &[("n", &report.foreign_key_errors)],
        ));
    }
    parts.join("; ")
}

impl Maintenance {
    /// Starts the work: the full check (`check`), then today's backup when
    /// one is due (`backup`). Does nothing while earlier work runs.
    pub fn start(&mut self, store: &Store, day: NaiveDate, check: bool, backup: bool) {
        if self.rx.is_some() || !(check || backup) {
            return;
        }
        let reader = if check {
            store.stream_reader().ok()
        } else {
            None
        };
        let job = backup.then(|| store.backup_job());
        self.running = Some(if check {
            Running::Check
        } else {
            Running::Backup
        });
        self.then_backup = check && backup;
        self.rx = Some(Job::spawn(move |w| {
            if let Some(reader) = reader {
                let result = reader.check().map_err(|e| e.to_string());
                let damaged = !matches!(&result, Ok(r) if r.is_ok());
                if !w.send(Report::Checked(result)) || damaged {
                    return; // never back up a damaged file over good backups
                }
            }
            if let Some(job) = job {
                w.send(Report::BackedUp(job.run(day).map_err(|e| e.to_string())));
            }
        }));
    }

    /// A backup now, or as soon as the running work ends (a backup that
    /// started before a change of key copies the old one, or fails).
    pub fn request_backup(&mut self, store: &Store, day: NaiveDate) {
        if self.rx.is_some() {
            self.backup_wanted = true;
        } else {
            self.start(store, day, false, true);
        }
    }

    /// Once a minute: start today's automatic backup if none is made yet;
    /// at once, a backup asked for while other work ran.
    pub fn tick(&mut self, store: &Store, day: NaiveDate) {
        if self.rx.is_none() && self.backup_wanted && self.damaged.is_none() {
            self.backup_wanted = false;
            self.start(store, day, false, true);
            return;
        }
        if self.rx.is_some() || Instant::now() < self.next_look || self.damaged.is_some() {
            return;
        }
        self.next_look = Instant::now() + Duration::from_secs(60);
        if store.auto_backup_due(day) {
            self.start(store, day, false, true);
        }
    }

    /// Takes what the worker reported; records a finished backup in the
    /// store. Returns whether anything changed.
    pub fn poll(&mut self, store: &mut Store) -> bool {
        let Some(rx) = &mut self.rx else {
            return false;
        };
        let mut changed = false;
        loop {
            match rx.poll() {
                Polled::Message(Report::Checked(Ok(report))) => {
                    if !report.is_ok() {
                        self.damaged = Some(describe(&report));
                    }
                    if self.then_backup && self.damaged.is_none() {
                        self.running = Some(Running::Backup);
                    }
                    changed = true;
                }
                Polled::Message(Report::Checked(Err(e))) => {
                    self.damaged = Some(e);
                    changed = true;
                }
                Polled::Message(Report::BackedUp(result)) => {
                    let result = result.and_then(|outcome| {
                        store
                            .record_backup(&outcome)
                            .map(|()| outcome)
                            .map_err(|e| e.to_string())
                    });
                    self.last_backup = Some(result);
                    changed = true;
                }
                Polled::Pending => break,
                Polled::Finished => {
                    self.rx = None;
                    self.running = None;
                    changed = true;
                    crate::memory::give_back();
                    break;
                }
            }
        }
        if changed {
            self.version += 1;
        }
        changed
    }

    /// Whether work is under way.
    pub fn busy(&self) -> bool {
        self.rx.is_some()
    }

    /// Waits (up to `timeout`) until the background work has something
    /// to show; for tests, which would otherwise sleep.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) {
        if let Some(job) = &mut self.rx {
            job.wait_ready(timeout);
        }
    }
}
