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

/// The temporary file a whole-file write goes through: beside `path`,
/// under a name nobody can guess (the folder may be shared with others,
/// who could otherwise place a link at the name first).
fn temporary(path: &Path) -> PathBuf {
    use rand::Rng;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce: u128 = rand::rng().random();
    path.with_file_name(format!(".{name}.{nonce:032x}.tmp"))
}

/// Creates a new file that did not exist, readable only by its owner:
/// `O_CREAT | O_EXCL`, which never follows a link and never opens what
/// someone else placed at the name.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `bytes` as the whole of `path`, privately and crash-safely:
/// a new temporary file of an unguessable name created exclusively,
/// flushed, renamed over `path` (a rename replaces a link at `path`, never
/// what it points to), folder flushed.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = temporary(path);
        match create_new_private(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
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

/// Opens a file to read only if it is a regular file: a link, a FIFO, a
/// device or a folder at the name is refused (`NotRegular`), without
/// blocking on a FIFO. For files in a folder other people can write.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, NotRegular);
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(not_regular());
    }
    let mut options = OpenOptions::new();
    options.read(true);
    // Swapped for a link or a FIFO since: not followed, not waited on.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        if e.raw_os_error().is_some() && e.raw_os_error() == LINK_REFUSED {
            not_regular()
        } else {
            e
        }
    })?;
    if !file.metadata()?.file_type().is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// The error `O_NOFOLLOW` gives for a link.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const LINK_REFUSED: Option<i32> = Some(libc::ELOOP);
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const LINK_REFUSED: Option<i32> = None;

/// What [`open_regular`] refuses.
#[derive(Debug)]
pub struct NotRegular;

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it is not a regular file (a link, a folder or a pipe), so it was not read")
    }
}

impl std::error::Error for NotRegular {}

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
