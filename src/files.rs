//! Files Tether writes are private to the account that runs it (on Unix:
//! files 0600, folders 0700; elsewhere the platform's defaults, which on
//! Windows already limit a user's profile folders to that user), and a
//! file written whole goes through a temporary file beside it that is
//! flushed to disk and then renamed into place, so a crash leaves either
//! the old file or the new one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Creates (or truncates) `path` for writing, readable only by its owner.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // An existing file keeps its mode through `open`: set it.
    make_private(path)?;
    Ok(file)
}

/// Makes an existing file readable only by its owner.
pub fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a folder (and its parents) and makes it private to its owner.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The temporary file a whole-file write goes through.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `bytes` as the whole of `path`, privately and crash-safely:
/// temporary file, flushed, renamed over `path`, folder flushed.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary(path);
    let result = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Flushes the folder that holds `path`, so a rename into it survives a
/// power cut (Unix; elsewhere the rename is flushed with the file).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Renames `from` to `to` (replacing `to`). On Windows a file cannot be
/// renamed while any handle to it is open, and a worker thread of the
/// window that was just told to stop may still be closing its read-only
/// connection: there the rename is tried again for up to two seconds
/// before the error is returned. Elsewhere it is one `rename`.
pub fn rename_when_closed(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        let mut tries = 0;
        loop {
            match std::fs::rename(from, to) {
                Err(e) if tries < 20 && e.kind() != io::ErrorKind::NotFound => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }
    #[cfg(not(windows))]
    std::fs::rename(from, to)
}
