//! The command line: scripted office work and tests. Every subcommand exits
//! non-zero with one plain line on stderr when it refuses or fails.

mod args;
mod sync;
mod users;

pub use args::*;

use crate::demo::{self, DemoConfig};
use crate::domain::{Permission, Role, Saved, User};
use crate::import::{Control, ImportKind, ImportOptions, Mapping, Outcome};
use crate::store::{Store, StoreError, today};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// A refusal or failure to show as one line.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError(e.to_string())
    }
}

fn need_db(db: &Option<PathBuf>) -> Result<&Path, CliError> {
    db.as_deref()
        .ok_or_else(|| CliError("--db PATH is required".into()))
}

fn need_user(user: &Option<String>) -> Result<String, CliError> {
    user.clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| CliError("--user NAME (or TETHER_USER) is required".into()))
}

/// A secret kept in the file that the environment variable `var` names,
/// for unattended runs (a scheduled `tether sync folder` on the office's
/// hub): its first line. The file must be small, and on Unix readable by
/// its owner only, or it is refused and nothing runs. `None` when `var`
/// is not set.
fn secret_from_file(var: &str) -> Option<Result<String, CliError>> {
    let path = std::env::var_os(var)?;
    let path = std::path::PathBuf::from(path);
    let read = || -> Result<String, CliError> {
        let fail = |why: String| CliError(format!("{var} {}: {why}", path.display()));
        let meta = std::fs::metadata(&path).map_err(|e| fail(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "other accounts can read it (mode {mode:o}); make it readable by its owner only (chmod 600)"
                )));
            }
        }
        if meta.len() > 4096 {
            return Err(fail("it is over 4 KiB; it should hold one line".into()));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
        let line = text.lines().next().unwrap_or("").to_owned();
        if line.is_empty() {
            return Err(fail("its first line is empty".into()));
        }
        Ok(line)
    };
    Some(read())
}

/// The password from TETHER_PASSWORD, the file TETHER_PASSWORD_FILE
/// names, or a prompt on the terminal.
fn password(prompt: &str) -> Result<String, CliError> {
    if let Ok(p) = std::env::var("TETHER_PASSWORD") {
        return Ok(p);
    }
    if let Some(p) = secret_from_file("TETHER_PASSWORD_FILE") {
        return p;
    }
    rpassword::prompt_password(prompt)
        .map_err(|e| CliError(format!("could not read the password: {e}")))
}

/// A new password: from TETHER_PASSWORD, or typed twice.
fn new_password(who: &str) -> Result<String, CliError> {
    if let Ok(p) = std::env::var("TETHER_PASSWORD") {
        return Ok(p);
    }
    let first = password(&format!("New password for {who}: "))?;
    let second = password("Again: ")?;
    if first != second {
        return Err(CliError("the two passwords differ".into()));
    }
    Ok(first)
}

/// A new password for someone else: TETHER_NEW_PASSWORD, or typed twice.
fn other_new_password(who: &str) -> Result<zeroize::Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var("TETHER_NEW_PASSWORD") {
        return Ok(zeroize::Zeroizing::new(p));
    }
    let read = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| CliError(format!("could not read the password: {e}")))
    };
    let first = read(format!("New password for {who}: "))?;
    let again = read("Again: ".into())?;
    if *first != *again {
        return Err(CliError("the two passwords differ".into()));
    }
    Ok(first)
}

fn user_named(store: &Store, username: &str) -> Result<Saved<User>, CliError> {
    store
        .user_by_name(username)?
        .ok_or_else(|| CliError(format!("no user named {username}")))
}

/// The organisation's sync passphrase: TETHER_SYNC_KEY, or a prompt.
fn sync_key() -> Result<crate::sync::bundle::SyncKey, CliError> {
    let passphrase = match std::env::var("TETHER_SYNC_KEY") {
        Ok(p) => p,
        Err(_) => match secret_from_file("TETHER_SYNC_KEY_FILE") {
            Some(p) => p?,
            None => rpassword::prompt_password("Sync passphrase: ")
                .map_err(|e| CliError(format!("could not read the sync passphrase: {e}")))?,
        },
    };
    crate::sync::bundle::SyncKey::new(&passphrase)
        .map_err(|e| CliError(format!("TETHER_SYNC_KEY: {e}")))
}

/// Progress of a sync on stderr: a bar on a terminal, plain lines otherwise.
fn sync_progress() -> impl FnMut(crate::store::SyncStep, usize, usize) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    move |step: crate::store::SyncStep, done: usize, total: usize| {
        let stage = step.to_string();
        if terminal {
            bar.set_message(stage.to_owned());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if total > 0 && done == total {
                bar.finish_and_clear();
            }
        } else if total > 0 {
            eprintln!("{stage}: {done} of {total} records");
        }
    }
}

fn open(db: &Path, user: &Option<String>) -> Result<Store, CliError> {
    let user = need_user(user)?;
    let pw = password(&format!("Password for {user}: "))?;
    Ok(Store::open(db, &user, &pw)?)
}

/// What a change of the database key asks of the admin.
fn report_rotation(rotation: &crate::store::Rotation) {
    if let Some(recovery) = &rotation.new_recovery_key {
        println!("This database had no recovery slot: the old recovery key no longer opens it.");
        print_recovery_key(&recovery.to_text());
    }
    report_dropped_passwords(rotation);
}

/// Users whose slot could not get the new key.
fn report_dropped_passwords(rotation: &crate::store::Rotation) {
    if rotation.passwords_dropped > 0 {
        println!(
            "{} user(s) had not logged in since Tether was updated and need a new password (tether user passwd).",
            rotation.passwords_dropped
        );
    }
}

/// After a change of key: a backup with the new key, and what older ones still open.
fn fresh_backup(store: &mut Store) -> Result<(), CliError> {
    match store.auto_backup(today()) {
        Ok(outcome) => println!("Fresh backup: {}", outcome.path.display()),
        Err(e) => println!("No fresh backup could be made ({e}); make one with `tether backup`."),
    }
    let old = store.backups()?.into_iter().filter(|b| b.old_key).count();
    if old > 0 {
        println!(
            "{old} older backup(s) hold the old key: they still open with the passwords and recovery key of their day, a deactivated user's included. Delete them once the fresh backup is safe elsewhere."
        );
    }
    Ok(())
}

fn print_recovery_key(key: &str) {
    println!(
        "Recovery key (shown once; write it down and keep it offline, apart from the laptop):"
    );
    println!("  {key}");
}

/// Imports a file read into `table`, with a progress bar when stderr is a terminal.
fn import(
    store: &mut Store,
    kind: ImportKind,
    file: &Path,
    table: &crate::import::Table,
    dry_run: bool,
) -> Result<crate::import::ImportReport, CliError> {
    use std::io::IsTerminal;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(table.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} import [{bar:40}] {pos}/{len} rows, {elapsed} ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let options = ImportOptions {
        file_name: file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        dry_run,
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let progress = |done: usize, _total: usize| bar.set_position(done as u64);
    let control = Control {
        progress: &progress,
        cancel: &cancel,
    };
    let mapping = Mapping::auto(kind, table.headers());
    let report = store.import(table, &mapping, &options, &control);
    bar.finish_and_clear();
    Ok(report?)
}

/// Runs a subcommand. `Ok(false)` means "done, but report failure" (a damaged `check`).
pub fn run(cli: &Cli, command: &Command) -> Result<bool, CliError> {
    match command {
        Command::Init {
            admin,
            display_name,
        } => {
            let db = need_db(&cli.db)?;
            if db.exists() {
                return Err(StoreError::AlreadyExists(db.to_owned()).into());
            }
            let pw = new_password(admin)?;
            let init = Store::init(db, admin, display_name.as_deref().unwrap_or(admin), &pw)?;
            println!("Created {} with admin {admin}.", db.display());
            print_recovery_key(&init.recovery_key);
            init.store.close()?;
            Ok(true)
        }
        Command::Recover { key_file } => {
            let db = need_db(&cli.db)?;
            let user = need_user(&cli.user)?;
            let recovery = zeroize::Zeroizing::new(match std::env::var("TETHER_RECOVERY_KEY") {
                Ok(k) => k,
                Err(_) => rpassword::prompt_password("Recovery key: ")
                    .map_err(|e| CliError(format!("could not read the recovery key: {e}")))?,
            });
            let pw = zeroize::Zeroizing::new(match std::env::var("TETHER_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let first = zeroize::Zeroizing::new(
                        rpassword::prompt_password(format!("New password for {user}: "))
                            .map_err(|e| CliError(format!("could not read the password: {e}")))?,
                    );
                    let again = zeroize::Zeroizing::new(
                        rpassword::prompt_password("Again: ")
                            .map_err(|e| CliError(format!("could not read the password: {e}")))?,
                    );
                    if *first != *again {
                        return Err(CliError("the two passwords differ".into()));
                    }
                    first.to_string()
                }
            });
            let (store, done) =
                Store::recover_with(db, &recovery, &user, &pw, key_file.as_deref())?;
            if done.created_admin {
                println!(
                    "Created admin {user} with the recovery key; log in with the new password."
                );
            } else {
                println!("New password set for {user}; log in with it.");
            }
            if done.key_file_rebuilt {
                let mut waiting = Vec::new();
                for u in store.users()? {
                    if u.data.active && !store.can_log_in(&u.data.username)? {
                        waiting.push(u.data.username);
                    }
                }
                if waiting.is_empty() {
                    println!("The key file was missing or damaged and has been made anew.");
                } else {
                    println!(
                        "The key file was missing or damaged and has been made anew: these users need a new password from an admin (tether user passwd NAME): {}.",
                        waiting.join(", ")
                    );
                }
            }
            store.close()?;
            Ok(true)
        }
        Command::History { client, json } => {
            let db = need_db(&cli.db)?;
            let store = open(db, &cli.user)?;
            let Some(c) = store.client_by_code(client)? else {
                return Err(CliError(format!("no client with the code {client}")));
            };
            let names: std::collections::HashMap<uuid::Uuid, String> = store
                .users()?
                .into_iter()
                .map(|u| (u.id(), u.data.username.clone()))
                .collect();
            for e in store.client_history(c.id())? {
                let who = e
                    .user_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| "(another laptop)".into());
                if *json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "at": e.at.to_rfc3339(),
                            "action": e.action.as_str(),
                            "kind": e.record_kind,
                            "record": e.record_id.map(|r| r.to_string()),
                            "user": who,
                            "laptop": e.device_id,
                            "detail": e.detail,
                        })
                    );
                } else {
                    println!(
                        "{}  {:<7} {:<13} {}  by {who} on laptop {}{}",
                        e.at.format("%Y-%m-%d %H:%M UTC"),
                        e.action.as_str(),
                        e.record_kind.as_deref().unwrap_or(""),
                        e.record_id.map(|r| r.to_string()).unwrap_or_default(),
                        e.device_id,
                        if e.detail.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", e.detail)
                        }
                    );
                }
            }
            store.close()?;
            Ok(true)
        }
        Command::RotateKey => {
            let db = need_db(&cli.db)?;
            let mut store = open(db, &cli.user)?;
            let rotation = store.rotate_key()?;
            println!("The database key is changed; passwords and the recovery key still work.");
            report_rotation(&rotation);
            fresh_backup(&mut store)?;
            store.close()?;
            Ok(true)
        }
        Command::RecoveryKey { rotate } => {
            let db = need_db(&cli.db)?;
            let mut store = open(db, &cli.user)?;
            store.require(Permission::ManageUsers)?;
            if !rotate {
                return Err(CliError(
                    "the recovery key is shown only when it is made: use --rotate to replace it"
                        .into(),
                ));
            }
            let rotation = store.rotate_recovery_key()?;
            let Some(recovery) = &rotation.new_recovery_key else {
                return Err(CliError("no recovery key was made".into()));
            };
            println!(
                "The recovery key is replaced and the database key changed with it: the old recovery key opens nothing current."
            );
            print_recovery_key(&recovery.to_text());
            report_dropped_passwords(&rotation);
            println!(
                "Backups made before now keep the old key: they still open with the old recovery key and the passwords of their day, but never this database as it is now."
            );
            fresh_backup(&mut store)?;
            store.close()?;
            Ok(true)
        }
        Command::Demo {
            clients,
            seed,
            today: day,
        } => {
            let db = need_db(&cli.db)?;
            let mut store = if db.exists() {
                open(db, &cli.user)?
            } else {
                let user = need_user(&cli.user)?;
                let pw = new_password(&user)?;
                let init = Store::init(db, &user, &user, &pw)?;
                println!("Created {} with admin {user}.", db.display());
                print_recovery_key(&init.recovery_key);
                init.store
            };
            let config = DemoConfig {
                clients: *clients,
                seed: *seed,
                today: day.unwrap_or_else(today),
            };
            let bar = indicatif::ProgressBar::new(*clients as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} demo data [{bar:40}] {pos}/{len} clients, {elapsed} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let started = std::time::Instant::now();
            let summary = demo::run(&mut store, &config, |done, _| bar.set_position(done as u64))?;
            bar.finish_and_clear();
            println!(
                "Added {} clients, {} contacts, {} arrests, {} detentions, {} enrollments, {} service events in {:.1} s.",
                summary.clients,
                summary.contacts,
                summary.arrests,
                summary.detentions,
                summary.enrollments,
                summary.service_events,
                started.elapsed().as_secs_f64()
            );
            store.close()?;
            Ok(true)
        }
        Command::Check => {
            let db = need_db(&cli.db)?;
            let user = need_user(&cli.user)?;
            let pw = password(&format!("Password for {user}: "))?;
            let store = match Store::open_to_inspect(db, &user, &pw) {
                Ok(s) => s,
                Err(StoreError::Damaged(why)) => {
                    return Err(CliError(format!("damaged: {} {why}", db.display())));
                }
                Err(e) => return Err(e.into()),
            };
            let report = store.check()?;
            if report.is_ok() && !report.out_of_range.is_empty() {
                Err(CliError(format!(
                    "the file is sound, but records hold values out of range: {}",
                    report.out_of_range.join("; ")
                )))
            } else if report.is_ok() {
                let counts: Vec<String> = report
                    .counts
                    .iter()
                    .map(|(t, n)| format!("{t}={n}"))
                    .collect();
                println!("ok: {} ({})", db.display(), counts.join(" "));
                Ok(true)
            } else {
                let mut problems: Vec<String> = report.cipher_errors.clone();
                problems.extend(report.integrity_errors.clone());
                if report.foreign_key_errors > 0 {
                    problems.push(format!("{} broken references", report.foreign_key_errors));
                }
                let shown: Vec<String> = problems
                    .iter()
                    .take(2)
                    .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                Err(CliError(format!(
                    "damaged: {}: {} problem(s): {}",
                    db.display(),
                    problems.len(),
                    shown.join("; ")
                )))
            }
        }
        Command::Import {
            kind,
            file,
            dry_run,
        } => {
            let db = need_db(&cli.db)?;
            let table = crate::import::read_file(file)
                .map_err(|e| CliError(format!("{}: {e}", file.display())))?;
            let mut store = open(db, &cli.user)?;
            let report = import(&mut store, *kind, file, &table, *dry_run)?;
            store.close()?;
            // The first problems, then one line counting the rest: a
            // hostile file cannot flood the terminal.
            for line in report.problem_lines() {
                eprintln!("{line}");
            }
            match report.outcome {
                Outcome::Imported | Outcome::Checked => {
                    println!("{}", report.summary());
                    Ok(true)
                }
                Outcome::Refused | Outcome::Cancelled => Err(CliError(format!(
                    "{}: {}",
                    file.display(),
                    report.summary()
                ))),
            }
        }
        Command::Worklist { day, worker, out } => {
            let db = need_db(&cli.db)?;
            let store = open(db, &cli.user)?;
            let day = day.unwrap_or_else(today);
            let worker_id = match worker {
                Some(name) => Some(
                    store
                        .user_by_name(name)?
                        .ok_or_else(|| CliError(format!("--worker: no user named {name}")))?
                        .id(),
                ),
                None => None,
            };
            let entries = store.worklist(day, worker_id)?;
            crate::reports::worklist::write(out, day, &entries)
                .map_err(|e| CliError(format!("{}: {e}", out.display())))?;
            println!(
                "{} entries for {day} written to {}",
                entries.len(),
                out.display()
            );
            store.close()?;
            Ok(true)
        }
        Command::Report {
            from,
            to,
            out,
            suppress_below,
        } => {
            let db = need_db(&cli.db)?;
            crate::reports::output::FileFormat::for_report(out).map_err(StoreError::from)?;
            if suppress_below.is_some_and(|n| n < 2) {
                return Err(CliError("--suppress-below: N must be 2 or more".into()));
            }
            let mut store = open(db, &cli.user)?;
            let report = store.period_report(*from, *to)?;
            store.save_report(&report, out, *suppress_below)?;
            println!("Report {from} to {to} written to {}", out.display());
            store.close()?;
            Ok(true)
        }
        Command::Export { out, identifiable } => {
            let db = need_db(&cli.db)?;
            crate::reports::output::FileFormat::for_line_list(out).map_err(StoreError::from)?;
            let mut store = open(db, &cli.user)?;
            let job = store.export_job(*identifiable, today())?;
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let rows = job.run(out, &|_, _| {}, &cancel)?;
            drop(job);
            println!("{rows} clients written to {}", out.display());
            store.close()?;
            Ok(true)
        }
        Command::Restore {
            from,
            other_database,
        } => {
            let db = need_db(&cli.db)?;
            let user = need_user(&cli.user)?;
            let pw = password(&format!("Password for {user} (as of the backup): "))?;
            let report = if *other_database {
                crate::store::restore_other_database(db, from, &user, &pw)?
            } else {
                crate::store::restore(db, from, &user, &pw)?
            };
            let total: i64 = report.counts.iter().map(|(_, n)| n).sum();
            println!(
                "Restored {} from {} ({total} records).",
                db.display(),
                from.display()
            );
            if let Some(kept) = report.kept_as {
                println!("The previous file is kept as {}.", kept.display());
            }
            if *other_database {
                println!(
                    "It was put in place as you chose, without proof that it is this database's: its users and every password in its key file now open this database. Check them with `tether user list`."
                );
            }
            Ok(true)
        }
        Command::User { action } => users::run(cli, action),
        Command::Sync { action } => sync::run(cli, action),
        Command::Backup { out } => {
            let db = need_db(&cli.db)?;
            let mut store = open(db, &cli.user)?;
            let report = store.backup_to(out)?;
            let total: i64 = report.counts.iter().map(|(_, n)| n).sum();
            println!(
                "Backup written and verified: {} ({total} records)",
                out.display()
            );
            store.close()?;
            Ok(true)
        }
    }
}
