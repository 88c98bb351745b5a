//! Key slots: how each user's password (and the recovery key) unlocks the
//! database key.
//!
//! The database is encrypted by SQLCipher with a random 256-bit key. That key
//! is never stored in the clear: for each user, a slot holds it encrypted
//! (XChaCha20-Poly1305) under a key derived from the user's password with
//! Argon2id. The slots live in a small file beside the database
//! (`tether.db.keys`); it holds no client data and no usernames (only a keyed
//! hash of each). The recovery key shown once at `init` is the database key
//! itself, so the database can be opened even if the slot file is lost.

use super::StoreError;
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::{Blake2b512, Digest};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// Argon2id cost used for new slots: 64 MiB, 3 passes, 1 lane.
pub const KDF_MEMORY_KIB: u32 = 64 * 1024;
pub const KDF_PASSES: u32 = 3;
pub const KDF_LANES: u32 = 1;

/// The 32-byte database key, wiped from memory when dropped.
#[derive(Clone)]
pub struct DbKey(Zeroizing<[u8; 32]>);

impl DbKey {
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(k.as_mut());
        DbKey(k)
    }

    /// The SQLCipher raw-key pragma value, `x'…'`.
    pub(crate) fn pragma_value(&self) -> Zeroizing<String> {
        // Built in one wiped buffer: no intermediate copy of the hex key.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = Zeroizing::new(String::with_capacity(64 + 5));
        out.push_str("\"x'");
        for b in self.0.iter() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out.push_str("'\"");
        out
    }

    /// The key as a recovery key for people: base32 in groups of four.
    pub fn to_recovery_key(&self) -> String {
        let text = BASE32_NOPAD.encode(self.0.as_ref());
        text.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Reads a recovery key as written by [`DbKey::to_recovery_key`]
    /// (case, spaces and dashes do not matter).
    pub fn from_recovery_key(text: &str) -> Result<Self, StoreError> {
        let cleaned: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| StoreError::BadRecoveryKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| StoreError::BadRecoveryKey)?;
        Ok(DbKey(Zeroizing::new(arr)))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    /// Keyed hash of the lower-case username (hex).
    user: String,
    m_kib: u32,
    passes: u32,
    lanes: u32,
    salt: String,
    nonce: String,
    wrapped: String,
}

/// The slot file beside a database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    format: String,
    version: u32,
    /// Random per-database value that keys the username hashes.
    db_salt: String,
    slots: Vec<Slot>,
    /// Failed logins since an admin last logged in (no username is kept:
    /// the file must not say who uses this laptop).
    #[serde(default)]
    failed_logins: u32,
    /// When the first of them happened (unix ms).
    #[serde(default)]
    first_failed_at: Option<i64>,
    /// How many of them are already in the audit log.
    #[serde(default)]
    failed_reported: u32,
}

/// Failed logins waiting to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogins {
    pub count: u32,
    /// When the first one happened (unix ms).
    pub since_ms: i64,
}

const FORMAT: &str = "tether-keys";
/// A key file longer than this is not ours (a slot is about 300 bytes).
const MAX_KEY_FILE: usize = 1024 * 1024;

impl Slot {
    /// Whether the slot asks for the Argon2id cost this program writes:
    /// an untrusted file must not choose how much memory or time the key
    /// derivation takes.
    fn has_our_settings(&self) -> bool {
        (self.m_kib, self.passes, self.lanes) == (KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES)
    }
}

/// Where the slot file of a database lives.
pub fn key_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

fn derive(
    password: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| StoreError::KeyFile(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password.as_bytes(), salt, out.as_mut())
        .map_err(|e| StoreError::KeyFile(e.to_string()))?;
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, StoreError> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map_err(|_| StoreError::KeyFile("a key slot is not valid base64".into()))
}

impl KeyFile {
    pub fn new() -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        KeyFile {
            format: FORMAT.into(),
            version: 1,
            db_salt: b64(&salt),
            slots: Vec::new(),
            failed_logins: 0,
            first_failed_at: None,
            failed_reported: 0,
        }
    }

    /// Reads the slot file beside `db`.
    pub fn load(db: &Path) -> Result<Self, StoreError> {
        let path = key_file_path(db);
        let missing =
            || StoreError::NotTether(format!("its key file {} is missing", path.display()));
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(StoreError::Io(e)),
        };
        if size > MAX_KEY_FILE as u64 {
            return Err(StoreError::KeyFile(format!(
                "{} is too large to be a Tether key file",
                path.display()
            )));
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(StoreError::Io(e)),
        };
        Self::read(&bytes).map_err(|why| StoreError::KeyFile(format!("{} {why}", path.display())))
    }

    /// Reads a slot file's contents. Refuses a file that is too large, is
    /// not a Tether key file, or has a slot whose Argon2id cost is not the
    /// one this program writes.
    pub fn parse(bytes: &[u8]) -> Result<Self, StoreError> {
        Self::read(bytes).map_err(|why| StoreError::KeyFile(format!("the key file {why}")))
    }

    /// [`KeyFile::parse`], with what is wrong as the end of a sentence.
    fn read(bytes: &[u8]) -> Result<Self, &'static str> {
        if bytes.len() > MAX_KEY_FILE {
            return Err("is too large to be a Tether key file");
        }
        let file: KeyFile = serde_json::from_slice(bytes).map_err(|_| "is damaged")?;
        if file.format != FORMAT {
            return Err("is not a Tether key file");
        }
        if !file.slots.iter().all(Slot::has_our_settings) {
            return Err("has a key slot with key settings this version of Tether does not use");
        }
        Ok(file)
    }

    /// Writes the slot file beside `db` atomically (temporary file, then rename).
    pub fn save(&self, db: &Path) -> Result<(), StoreError> {
        let path = key_file_path(db);
        let tmp = path.with_extension("keys.tmp");
        let text =
            serde_json::to_string_pretty(self).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        {
            use std::io::Write;
            let mut f = crate::files::create_private(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        crate::files::sync_dir(&path)?;
        Ok(())
    }

    fn user_tag(&self, username: &str) -> String {
        let mut h = Blake2b512::new();
        h.update(self.db_salt.as_bytes());
        h.update(username.trim().to_lowercase().as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    fn aad(&self, tag: &str) -> Vec<u8> {
        format!("{FORMAT}:{}:{tag}", self.db_salt).into_bytes()
    }

    /// Adds or replaces the slot of `username`, wrapping `key` under `password`.
    pub fn set_slot(
        &mut self,
        username: &str,
        password: &str,
        key: &DbKey,
    ) -> Result<(), StoreError> {
        let tag = self.user_tag(username);
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut salt);
        rand::rng().fill_bytes(&mut nonce);
        let mut kek = derive(password, &salt, KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES)?;
        let cipher = XChaCha20Poly1305::new_from_slice(kek.as_ref())
            .map_err(|e| StoreError::KeyFile(e.to_string()))?;
        kek.zeroize();
        let wrapped = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key.bytes(),
                    aad: &self.aad(&tag),
                },
            )
            .map_err(|_| StoreError::KeyFile("could not wrap the key".into()))?;
        self.slots.retain(|s| s.user != tag);
        self.slots.push(Slot {
            user: tag,
            m_kib: KDF_MEMORY_KIB,
            passes: KDF_PASSES,
            lanes: KDF_LANES,
            salt: b64(&salt),
            nonce: b64(&nonce),
            wrapped: b64(&wrapped),
        });
        Ok(())
    }

    /// Removes a user's slot (deactivation): that password no longer unlocks anything.
    pub fn remove_slot(&mut self, username: &str) -> bool {
        let tag = self.user_tag(username);
        let before = self.slots.len();
        self.slots.retain(|s| s.user != tag);
        before != self.slots.len()
    }

    /// Counts a failed login (wrong password or unknown user).
    pub fn note_failed_login(&mut self, now_ms: i64) {
        self.failed_logins = self.failed_logins.saturating_add(1);
        self.first_failed_at.get_or_insert(now_ms);
    }

    /// Failed logins not yet written to the audit log; marks them written.
    pub fn take_unreported(&mut self) -> Option<u32> {
        let new = self.failed_logins.saturating_sub(self.failed_reported);
        self.failed_reported = self.failed_logins;
        (new > 0).then_some(new)
    }

    /// Failed logins since an admin last logged in; clears them.
    pub fn take_for_admin(&mut self) -> Option<FailedLogins> {
        let found = (self.failed_logins > 0).then(|| FailedLogins {
            count: self.failed_logins,
            since_ms: self.first_failed_at.unwrap_or_default(),
        });
        self.failed_logins = 0;
        self.failed_reported = 0;
        self.first_failed_at = None;
        found
    }

    pub fn has_slot(&self, username: &str) -> bool {
        let tag = self.user_tag(username);
        self.slots.iter().any(|s| s.user == tag)
    }

    /// Unwraps the database key with a user's password. An unknown user costs
    /// the same key derivation as a wrong password, so neither is told apart.
    pub fn unlock(&self, username: &str, password: &str) -> Result<DbKey, StoreError> {
        let tag = self.user_tag(username);
        let Some(index) = self.slots.iter().position(|s| s.user == tag) else {
            let _ = derive(password, &[0u8; 16], KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES);
            return Err(StoreError::WrongPassword);
        };
        let slot = &self.slots[index];
        // Checked before any work, however this value was made.
        if !slot.has_our_settings() {
            return Err(StoreError::KeyFile("a key slot is damaged".into()));
        }
        let salt = unb64(&slot.salt)?;
        let nonce = unb64(&slot.nonce)?;
        let wrapped = unb64(&slot.wrapped)?;
        if nonce.len() != 24 {
            return Err(StoreError::KeyFile("a key slot is damaged".into()));
        }
        let kek = derive(password, &salt, slot.m_kib, slot.passes, slot.lanes)?;
        let cipher = XChaCha20Poly1305::new_from_slice(kek.as_ref())
            .map_err(|e| StoreError::KeyFile(e.to_string()))?;
        match cipher.decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &wrapped,
                aad: &self.aad(&tag),
            },
        ) {
            Ok(mut plain) => {
                let arr: Result<[u8; 32], _> = plain.as_slice().try_into();
                plain.zeroize();
                let arr = arr.map_err(|_| StoreError::KeyFile("a key slot is damaged".into()))?;
                Ok(DbKey(Zeroizing::new(arr)))
            }
            Err(_) => Err(StoreError::WrongPassword),
        }
    }
}

impl Default for KeyFile {
    fn default() -> Self {
        Self::new()
    }
}
