//! `tether sync …`: bundles, the shared folder, laptops and their enrolment.

use super::*;

pub(super) fn run(cli: &Cli, action: &SyncCommand) -> Result<bool, CliError> {
    let db = need_db(&cli.db)?;
    let mut store = open(db, &cli.user)?;
    match action {
        SyncCommand::Devices => {
            let users = store.users()?;
            let scope_text = |scope: &crate::store::Scope| match scope {
                crate::store::Scope::All => "every client".to_owned(),
                crate::store::Scope::NotChosen => "nothing yet (no clients chosen)".to_owned(),
                crate::store::Scope::Workers(w) => {
                    let names: Vec<String> = w
                        .iter()
                        .map(|id| {
                            users.iter().find(|u| u.id() == *id).map_or_else(
                                || id.simple().to_string(),
                                |u| u.data.username.clone(),
                            )
                        })
                        .collect();
                    if names.is_empty() {
                        "no client yet (no workers)".to_owned()
                    } else {
                        format!("clients of {}", names.join(","))
                    }
                }
            };
            for d in store.sync_devices()? {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or_else(
                        || "never".to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M").to_string(),
                    )
                };
                if d.this_laptop {
                    println!(
                        "{}  this laptop  holds {}  key {}  ({})",
                        d.device_id,
                        scope_text(&d.scope),
                        d.fingerprint,
                        d.public_key
                    );
                } else {
                    let holds = match (&d.scope, d.trust) {
                        (crate::store::Scope::Workers(_), _) => {
                            format!("  holds {} client(s)", store.clients_held_by(&d.device_id)?)
                        }
                        _ => String::new(),
                    };
                    println!(
                        "{}  {}  scope {}{holds}  key {}  last seen {}  last merged {}",
                        d.device_id,
                        d.trust.as_str(),
                        scope_text(&d.scope),
                        d.fingerprint,
                        when(d.last_seen),
                        when(d.last_merged)
                    );
                }
            }
        }
        SyncCommand::Scope {
            device,
            workers,
            all,
        } => {
            let scope = if *all {
                crate::store::Scope::All
            } else {
                let mut ids = Vec::new();
                for name in workers.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
                    let user = store.user_by_name(name)?.ok_or_else(|| {
                        CliError(format!("--workers: no user {name:?} on this laptop"))
                    })?;
                    ids.push(user.id());
                }
                crate::store::Scope::Workers(ids)
            };
            store.set_device_scope(device, &scope)?;
            if *all {
                println!("Laptop {device} now holds every client");
            } else {
                println!(
                    "Laptop {device} now holds the clients of {}; at its next sync it receives them and removes every other",
                    workers.join(", ")
                );
            }
        }
        SyncCommand::Enroll { device, trust, key } => {
            let Some(trust) =
                crate::store::Trust::parse(trust).filter(|t| *t != crate::store::Trust::Pending)
            else {
                return Err(CliError(format!(
                    "--as {trust}: use member, office or retired"
                )));
            };
            store.enroll_device(device, key.as_deref(), trust)?;
            println!("Laptop {device} is now enrolled as {}", trust.as_str());
        }
        SyncCommand::Forget { device } => {
            store.forget_device(device)?;
            println!("Laptop {device} is forgotten here");
        }
        SyncCommand::ClockMargin { hours } => {
            store.set_sync_clock_margin_hours(*hours)?;
            println!(
                "Changes dated more than {hours} hours ahead of this laptop's clock are refused"
            );
        }
        SyncCommand::Export { out, for_device } => {
            let key = sync_key()?;
            let exported = match for_device {
                Some(d) => store.sync_export_for(&key, d)?,
                None => store.sync_export(&key, 0)?,
            };
            crate::files::write_private(out, &exported.bytes)
                .map_err(|e| CliError(format!("{}: {e}", out.display())))?;
            println!(
                "{} records written to {} (device {})",
                exported.records,
                out.display(),
                store.device_id()
            );
        }
        SyncCommand::Import { file } => {
            let key = sync_key()?;
            let bytes = crate::store::read_bundle_file(file)
                .map_err(|e| CliError(format!("{}: {e}", file.display())))?;
            let mut progress = sync_progress();
            let merged = store
                .sync_import(&key, &bytes, &mut progress)
                .map_err(|e| CliError(format!("{}: {e}", file.display())))?;
            println!(
                "Merged {} from device {}: {} records, {} new, {} updated, {} conflicts to review, {} passed on by it and not taken",
                file.display(),
                merged.from_device,
                merged.records,
                merged.added,
                merged.updated,
                merged.conflicts,
                merged.ignored
            );
        }
        SyncCommand::Folder { dir } => {
            let key = sync_key()?;
            let mut progress = sync_progress();
            let done = store.sync_with_folder(&key, dir, &mut progress)?;
            for note in &done.skipped {
                eprintln!("skipped {note}");
            }
            println!(
                "Synced with {}: {} records received from {} bundle(s), {} sent, {} conflicts to review",
                dir.display(),
                done.received(),
                done.merged.len(),
                done.sent,
                done.conflicts()
            );
            if done.purged() > 0 {
                println!(
                    "{} client(s) no longer in this laptop's scope removed from it, with all their records",
                    done.purged()
                );
            }
        }
    }
    store.close()?;
    Ok(true)
}
