//! The command line's words: subcommands, options and their help.

use super::*;

#[derive(Debug, Parser)]
#[command(
    name = "tether",
    version,
    about = "Offline case management for harm-reduction outreach"
)]
pub struct Cli {
    /// The database file (the GUI defaults to one in the OS data folder).
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Log in as this user (password from TETHER_PASSWORD or a prompt).
    #[arg(long, global = true, env = "TETHER_USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new encrypted database with its first admin.
    Init {
        /// Username of the first admin.
        #[arg(long)]
        admin: String,
        /// The admin's display name (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Every password lost, or the key file gone: open the database with its
    /// recovery key (TETHER_RECOVERY_KEY or a prompt) and set a new password
    /// (TETHER_NEW_PASSWORD or typed twice) for --user, an existing admin
    /// or a new admin if the name is new. Rebuilds a missing key file. The
    /// recovery slot is looked for in the key file, its copy beside the
    /// database (`<db>.recovery`), --key-file, and the automatic backups.
    Recover {
        /// A copy of the key file to take the recovery slot from (e.g. a
        /// backup's `.keys` file kept elsewhere).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Who created and changed a client and each of their records, when and
    /// on which laptop (field names, never values), oldest first:
    /// coordinators, managers and admins.
    History {
        /// The client's code.
        #[arg(long)]
        client: String,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change the database key (admins): every page is re-encrypted and
    /// every password and the recovery key get the new key, so that old
    /// copies of the key file (in backups) open nothing current. Then makes
    /// a fresh automatic backup.
    RotateKey,
    /// The recovery key (admins).
    RecoveryKey {
        /// Replace it: prints the new one once, and changes the database key
        /// with it (every page re-encrypted), so that the old recovery key
        /// opens nothing current, not even with a backup's key file. Then
        /// makes a fresh automatic backup.
        #[arg(long)]
        rotate: bool,
    },
    /// Add realistic generated data (creates the database if it does not exist).
    Demo {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Last day of the generated history (default today).
        #[arg(long, value_parser = parse_day)]
        today: Option<chrono::NaiveDate>,
    },
    /// Verify the database: page authentication, integrity, references.
    Check,
    /// Write a verified encrypted copy of the database.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the database with a verified backup (the current file is kept
    /// beside it as a dated copy). The password unlocks the backup's key file.
    /// Only a backup that proves it was made from this database is taken:
    /// it holds this database's own secret signing key.
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// Put a backup of another database in place of this one (admins, on
        /// purpose): nothing proves it is this database's, and every
        /// password in its key file opens it after; only for a backup from
        /// someone you trust.
        #[arg(long)]
        other_database: bool,
    },
    /// Import one kind of record from a spreadsheet (CSV or XLSX; see
    /// IMPORT.md): every problem is listed and then nothing is written.
    Import {
        /// locations, clients, contacts, arrests, detentions, enrollments or service_events.
        #[arg(long, value_parser = parse_kind)]
        kind: ImportKind,
        /// The file to import.
        file: PathBuf,
        /// Check everything, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the continuity worklists for a day (JSON or CSV by extension).
    Worklist {
        /// The day (default today).
        #[arg(long, value_parser = parse_day)]
        day: Option<chrono::NaiveDate>,
        /// Only this worker's clients (username).
        #[arg(long)]
        worker: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the period report of INDICATORS.md (JSON, CSV or XLSX by extension).
    Report {
        /// First day of the period (included).
        #[arg(long, value_parser = parse_day)]
        from: chrono::NaiveDate,
        /// Last day of the period (included).
        #[arg(long, value_parser = parse_day)]
        to: chrono::NaiveDate,
        #[arg(long)]
        out: PathBuf,
        /// Show every count from 1 to N-1 as "<N" (for sharing outside the organisation).
        #[arg(long, value_name = "N")]
        suppress_below: Option<i64>,
    },
    /// Write the client line list (CSV or XLSX by extension), de-identified
    /// unless --identifiable (coordinators, managers and admins only).
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Add nicknames, names and phone numbers.
        #[arg(long)]
        identifiable: bool,
    },
    /// User accounts, for offices that set up many laptops (admins; new
    /// passwords from TETHER_NEW_PASSWORD or typed twice). Audited like the
    /// Users screen.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Exchange records with other laptops through encrypted bundles (the
    /// organisation's sync passphrase from TETHER_SYNC_KEY or a prompt).
    Sync {
        #[command(subcommand)]
        action: SyncCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Every account: username, role, active, whether it can log in here.
    List,
    /// Add an account that can log in on this laptop.
    Add {
        username: String,
        #[arg(long, value_name = "outreach|coordinator|manager|admin")]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Set an account's password on this laptop.
    Passwd { username: String },
    /// Deactivate an account: its password no longer opens the database.
    Deactivate { username: String },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Write a bundle of every record this database holds.
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Only what this device (id) has not said it merged yet.
        #[arg(long, value_name = "DEVICE_ID")]
        for_device: Option<String>,
    },
    /// Merge a bundle from another laptop (all or nothing).
    Import { file: PathBuf },
    /// Merge every other laptop's bundle in a shared folder, then write this one's there.
    Folder { dir: PathBuf },
    /// List the laptops this one knows: this laptop (with its key, to be
    /// compared when another laptop enrolls it, and its scope), then every
    /// other one with what it is enrolled as, its scope, what it holds and
    /// when it last synced.
    Devices,
    /// Enroll another laptop (admins): `member` for a field laptop (its own
    /// changes are merged), `office` for an office laptop (may also pass on
    /// other laptops' changes and change users), `retired` to refuse it.
    Enroll {
        #[arg(long, value_name = "DEVICE_ID")]
        device: String,
        #[arg(long = "as", value_name = "member|office|retired")]
        trust: String,
        /// Its public key (64 hex characters, from `sync devices` on that
        /// laptop); not needed once its bundle has been seen here, but if
        /// given it must match.
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
    },
    /// Forget a laptop seen but not enrolled, or retired (admins): it
    /// leaves the list; a bundle it writes later lists it again as pending.
    Forget {
        #[arg(long, value_name = "DEVICE_ID")]
        device: String,
    },
    /// How far ahead of this laptop's clock (hours, 1 to 720; default 24)
    /// a change in a bundle may be dated (admins).
    ClockMargin { hours: i64 },
    /// Which clients a field laptop holds (admins, on the office laptop):
    /// those of the outreach workers named, or every client.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["workers", "all"])))]
    Scope {
        #[arg(long, value_name = "DEVICE_ID")]
        device: String,
        /// Usernames of the outreach workers whose clients it holds, comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "USERNAME,...")]
        workers: Vec<String>,
        /// Every client (an office laptop).
        #[arg(long)]
        all: bool,
    },
}

fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    crate::domain::parse_date(text)
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD or DD/MM/YYYY)"))
}

fn parse_kind(text: &str) -> Result<ImportKind, String> {
    ImportKind::parse(text).ok_or_else(|| {
        let kinds: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("{text:?} is not one of: {}", kinds.join(", "))
    })
}
