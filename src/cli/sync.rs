//! `tether sync …`: bundles, the shared folder, laptops and their enrolment.

use super::*;

pub(super) fn run(cli: &Cli, action: &SyncCommand) -> Result<bool, CliError> {
    let db = need_db(&cli.db)?;
    let mut store = open(db, &cli.user)?;
    match action {
        SyncCommand::Devices => {
            for d in store.sync_devices()? {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or_else(
                        || "never".to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M").to_string(),
                    )
                };
                if d.this_laptop {
                    println!(
                        "{}  this laptop  key {}  ({})",
                        d.device_id, d.fingerprint, d.public_key
                    );
                } else {
                    println!(
                        "{}  {}  key {}  last seen {}  last merged {}",
                        d.device_id,
                        d.trust.as_str(),
                        d.fingerprint,
                        when(d.last_seen),
                        when(d.last_merged)
                    );
                }
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
        }
    }
    store.close()?;
    Ok(true)
}
