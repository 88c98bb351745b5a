//! "Sync now": a shared folder of bundles, one per laptop.

use super::*;

impl Store {
    /// "Sync now": merges every other device's bundle in `dir` that has
    /// something new, then writes this device's bundle there (under its
    /// device id) with what the others have not said they merged.
    pub fn sync_with_folder(
        &mut self,
        key: &SyncKey,
        dir: &Path,
        progress: Progress<'_>,
    ) -> Result<FolderSync, StoreError> {
        self.require(Permission::Sync)?;
        if !dir.is_dir() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the sync folder {} does not exist", dir.display()),
            )));
        }
        let mut summary = FolderSync::default();
        // Only regular files are read: anyone who can write to a shared
        // folder can place a link, a FIFO or a folder there.
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != BUNDLE_EXTENSION) {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(path);
            } else {
                summary.skipped.push(format!(
                    "{}: {}",
                    entry.file_name().to_string_lossy(),
                    crate::files::NotRegular
                ));
            }
        }
        files.sort();
        // Each laptop's bundle is merged at most once a sync, and only from
        // the names Tether gives it (`<laptop>.tether-sync`, or
        // `<laptop>-for-<this laptop>.tether-sync`): a folder full of copies
        // costs a line each, not a merge each.
        let mut opened: HashSet<String> = HashSet::new();
        let mut peers = Vec::new();
        let count = files.len();
        for (i, file) in files.iter().enumerate() {
            let name = file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            progress(
                SyncStep::Reading {
                    file: i + 1,
                    files: count,
                },
                0,
                0,
            );
            let bytes = match read_bundle_file(file) {
                Ok(b) => b,
                Err(e) => {
                    summary
                        .skipped
                        .push(format!("{name}: cannot be read ({e})"));
                    continue;
                }
            };
            let header = match bundle::peek(&bytes) {
                Ok(h) => h,
                Err(e) => {
                    summary.skipped.push(format!("{name}: {e}"));
                    continue;
                }
            };
            if header.device == self.device_id() {
                continue;
            }
            let named = name == format!("{}.{BUNDLE_EXTENSION}", header.device)
                || name
                    == format!(
                        "{}-for-{}.{BUNDLE_EXTENSION}",
                        header.device,
                        self.device_id()
                    );
            // Sealed for other laptops (an office's bundle for another field
            // laptop, or for the office laptops): not ours to open.
            if !header.is_for(self.device_id()) {
                // An enrolled laptop's bundle for others is none of ours; an
                // unknown one's is noted for an admin to enroll.
                if !self.knows_device(&header.device)?
                    && let Ok(signed) = bundle::signed_header(&bytes)
                    && let Err(e) = self.sender_trust(&signed)
                {
                    summary.skipped.push(format!("{name}: {e}"));
                }
                continue;
            }
            if !named {
                summary.skipped.push(format!(
                    "{name}: not read: a bundle from laptop {} is named {}.{BUNDLE_EXTENSION}",
                    header.device, header.device
                ));
                continue;
            }
            if !opened.insert(header.device.clone()) {
                summary.skipped.push(format!(
                    "{name}: not read: a bundle from laptop {} was already read in this sync",
                    header.device
                ));
                continue;
            }
            // Devices of this organisation share the folder: what each has
            // merged of ours decides what our bundle must hold. A bundle
            // that cannot be opened (another organisation's, damaged) does not.
            if header.top <= self.merged_from(&header.device)? {
                peers.push(header.device.clone());
                continue;
            }
            let mut inner = |step: SyncStep, done: usize, total: usize| {
                progress(step.of(i + 1, count), done, total);
            };
            match self.sync_import(key, &bytes, &mut inner) {
                Ok(m) => {
                    peers.push(header.device.clone());
                    summary.merged.push(m);
                }
                Err(StoreError::Sync(e)) => {
                    if matches!(e, SyncError::Gap { .. }) {
                        peers.push(header.device.clone());
                    }
                    summary.skipped.push(format!("{name}: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        // What every device that shares the folder, and reads this
        // bundle, has said it merged.
        let recipients = self.main_recipients()?;
        let mut since = i64::MAX;
        for p in &peers {
            if recipients.iter().any(|(d, _)| d == p) {
                since = since.min(self.acked_by(p)?);
            }
        }
        if since == i64::MAX {
            since = 0;
        }
        // Sealed for no other laptop (an office laptop with only field
        // laptops): its header alone, so that new laptops see this one in
        // the folder, without rewriting every record for nobody.
        if !recipients.iter().any(|(d, _)| d != self.device_id()) {
            since = super::clock_last(self.conn())?;
        }
        progress(SyncStep::Writing, 0, 0);
        let exported = self.sync_export(key, since)?;
        let target = dir.join(format!("{}.{BUNDLE_EXTENSION}", self.device_id()));
        // Something else at the name (a folder someone made): said, and
        // the rest of the sync goes on.
        match crate::files::write_private(&target, &exported.bytes) {
            Ok(()) => summary.sent = exported.records,
            Err(e) => summary.skipped.push(unwritten(&target, &e)),
        }
        summary.bundle = target;
        // An office laptop writes each field laptop with a scope a bundle
        // of its own: `<this laptop>-for-<that one>.tether-sync`.
        let prefix = format!("{}-for-", self.device_id());
        let mut written = HashSet::new();
        let own = self.own_scope()?;
        if own.is_all() {
            for d in self.sync_devices()? {
                if d.this_laptop
                    || d.trust != Trust::Member
                    || !matches!(d.scope, Scope::Workers(_))
                {
                    continue;
                }
                let name = format!("{prefix}{}.{BUNDLE_EXTENSION}", d.device_id);
                let exported = self.export_for(key, &d, &own)?;
                match crate::files::write_private(&dir.join(&name), &exported.bytes) {
                    Ok(()) => summary.sent += exported.records,
                    Err(e) => summary.skipped.push(unwritten(&dir.join(&name), &e)),
                }
                written.insert(name);
            }
        }
        // One for a laptop retired, or no longer scoped, is taken away.
        for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix)
                && name.ends_with(&format!(".{BUNDLE_EXTENSION}"))
                && !written.contains(&name)
            {
                // A link is removed, not what it points to; a folder stays.
                let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        crate::files::NotRegular,
                    ))
                } else {
                    std::fs::remove_file(entry.path())
                };
                if let Err(e) = removed {
                    summary
                        .skipped
                        .push(format!("{name}: could not be removed ({e})"));
                }
            }
        }
        Ok(summary)
    }
}

/// The line for a bundle this laptop could not write.
fn unwritten(path: &Path, e: &std::io::Error) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!("{name}: this laptop's bundle could not be written there ({e})")
}
