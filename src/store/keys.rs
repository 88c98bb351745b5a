//! Key slots: how each user's password (and the recovery key) unlocks the
//! database key.
//!
//! The database is encrypted by SQLCipher with a random 256-bit key. That key
//! is never stored in the clear: for each user, a slot holds it encrypted
//! (XChaCha20-Poly1305) under a key derived from the user's password with
//! Argon2id. The slots live in a small file beside the database
//! (`tether.db.keys`); it holds no client data and no usernames (only a keyed
//! hash of each).
//!
//! Each slot (format 2) is an X25519 key pair: its secret half is wrapped
//! under the password, and the database key is sealed to its public half.
//! So the database key can be changed (`PRAGMA rekey`) and sealed again to
//! every slot without anyone's password, and a removed slot, or an old copy
//! of this file, opens nothing once the key has changed.
//!
//! The recovery key shown once at `init` is the secret half of one more
//! pair, the recovery slot; it is replaced together with a change of the
//! database key, so that old copies of this file (in backups), which still
//! hold the old recovery slot, open nothing current. Slots
//! of format 1 (the database key wrapped directly) are still read, and made
//! format 2 at their user's next login; in files of format 1 the recovery
//! key is the database key itself.

use super::StoreError;
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::{Blake2b512, Digest};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};
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

    /// `PRAGMA {name} = "x'…'";` (`key` or `rekey`), in a wiped buffer.
    pub(crate) fn pragma(&self, name: &str) -> Zeroizing<String> {
        let mut sql = Zeroizing::new(String::with_capacity(96));
        sql.push_str("PRAGMA ");
        sql.push_str(name);
        sql.push_str(" = ");
        sql.push_str(self.pragma_value().as_str());
        sql.push(';');
        sql
    }

    /// The SQLCipher raw-key pragma value, `"x'…'"`, in a wiped buffer.
    pub fn pragma_value(&self) -> Zeroizing<String> {
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

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Four-letter groups of base32, as a recovery key is shown to people.
fn in_groups(bytes: &[u8]) -> String {
    let text = Zeroizing::new(BASE32_NOPAD.encode(bytes));
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The recovery key: 32 random bytes, the secret half of the recovery
/// slot's X25519 pair, wiped from memory when dropped.
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

impl RecoveryKey {
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(k.as_mut());
        RecoveryKey(k)
    }

    /// Reads a recovery key as written by [`RecoveryKey::to_text`] (case,
    /// spaces and dashes do not matter).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let mut bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| StoreError::BadRecoveryKey)?;
        let arr: Result<[u8; 32], _> = bytes.as_slice().try_into();
        bytes.zeroize();
        Ok(RecoveryKey(Zeroizing::new(
            arr.map_err(|_| StoreError::BadRecoveryKey)?,
        )))
    }

    /// The key for people: base32 in groups of four letters or digits.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(in_groups(self.0.as_ref()))
    }

    fn secret(&self) -> StaticSecret {
        StaticSecret::from(*self.0)
    }

    fn public(&self) -> PublicKey {
        PublicKey::from(&self.secret())
    }

    /// The same bytes read as a database key: what a recovery key was for
    /// databases whose key file has no recovery slot (format 1).
    pub(crate) fn as_legacy_db_key(&self) -> DbKey {
        DbKey(self.0.clone())
    }
}

/// What the recovery slot keeps: the public half of the recovery key's
/// pair, and the database key sealed to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecoverySlot {
    public: String,
    sealed: String,
}

const SEAL_CONTEXT: &[u8] = b"tether-keys sealed database key v2";
/// Ephemeral public key, nonce, then the 32-byte key and its 16-byte tag.
const SEALED_LEN: usize = 32 + 24 + 32 + 16;

fn seal_cipher(shared: &[u8; 32], ephemeral: &PublicKey, to: &PublicKey) -> XChaCha20Poly1305 {
    let mut h = Blake2b512::new();
    h.update(SEAL_CONTEXT);
    h.update(shared);
    h.update(ephemeral.as_bytes());
    h.update(to.as_bytes());
    let mut digest = h.finalize();
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&digest[..32]));
    digest.zeroize();
    cipher
}

/// Seals the database key to `to` (an X25519 sealed box: an ephemeral key
/// pair, BLAKE2b over the shared secret and both public keys, then
/// XChaCha20-Poly1305 with `aad`). No secret of the slot is needed.
fn seal(key: &DbKey, to: &PublicKey, aad: &[u8]) -> Result<String, StoreError> {
    let mut e = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(e.as_mut());
    let ephemeral = StaticSecret::from(*e);
    let ephemeral_public = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(to);
    if !shared.was_contributory() {
        return Err(StoreError::KeyFile(
            "a key slot's public key is not valid".into(),
        ));
    }
    let cipher = seal_cipher(shared.as_bytes(), &ephemeral_public, to);
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key.bytes(),
                aad,
            },
        )
        .map_err(|_| StoreError::KeyFile("could not seal the key".into()))?;
    let mut out = Vec::with_capacity(SEALED_LEN);
    out.extend_from_slice(ephemeral_public.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(b64(&out))
}

/// Opens what [`seal`] made with the slot's secret half.
fn unseal(sealed: &str, secret: &StaticSecret, aad: &[u8]) -> Result<DbKey, StoreError> {
    let damaged = || StoreError::KeyFile("a key slot is damaged".into());
    let bytes = unb64(sealed)?;
    if bytes.len() != SEALED_LEN {
        return Err(damaged());
    }
    let ephemeral: [u8; 32] = bytes[..32].try_into().map_err(|_| damaged())?;
    let ephemeral = PublicKey::from(ephemeral);
    let shared = secret.diffie_hellman(&ephemeral);
    if !shared.was_contributory() {
        return Err(damaged());
    }
    let cipher = seal_cipher(shared.as_bytes(), &ephemeral, &PublicKey::from(secret));
    let mut plain = cipher
        .decrypt(
            XNonce::from_slice(&bytes[32..56]),
            Payload {
                msg: &bytes[56..],
                aad,
            },
        )
        .map_err(|_| damaged())?;
    let arr: Result<[u8; 32], _> = plain.as_slice().try_into();
    plain.zeroize();
    Ok(DbKey(Zeroizing::new(arr.map_err(|_| damaged())?)))
}

fn public_key(text: &str) -> Result<PublicKey, StoreError> {
    let bytes: [u8; 32] = unb64(text)?
        .try_into()
        .map_err(|_| StoreError::KeyFile("a key slot is damaged".into()))?;
    Ok(PublicKey::from(bytes))
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
    /// Format 2: the slot's X25519 secret; format 1: the database key.
    wrapped: String,
    /// Format 2: the public half, and the database key sealed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

/// The slot file beside a database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    format: String,
    version: u32,
    /// Random per-database value that keys the username hashes.
    db_salt: String,
    slots: Vec<Slot>,
    /// The recovery slot (format 2; absent in format 1 files, whose
    /// recovery key is the database key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery: Option<RecoverySlot>,
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
/// The format this program writes (see the module's documentation).
const VERSION: u32 = 2;
/// The tag of the recovery slot in its sealing's associated data.
const RECOVERY_TAG: &str = "recovery";
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

/// Where the next key file waits while the database key is being changed
/// (see `Store::rotate_key`).
pub fn next_key_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys.next");
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
            version: VERSION,
            db_salt: b64(&salt),
            slots: Vec::new(),
            recovery: None,
            failed_logins: 0,
            first_failed_at: None,
            failed_reported: 0,
        }
    }

    /// Reads the slot file beside `db`.
    pub fn load(db: &Path) -> Result<Self, StoreError> {
        Self::load_from(&key_file_path(db))
    }

    /// Reads a slot file at `path` (a copy, or the next one).
    pub fn load_from(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
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
        if file.version > VERSION {
            return Err("was written by a newer version of Tether");
        }
        if !file.slots.iter().all(Slot::has_our_settings) {
            return Err("has a key slot with key settings this version of Tether does not use");
        }
        Ok(file)
    }

    /// Writes the slot file beside `db` atomically (temporary file, then rename).
    pub fn save(&self, db: &Path) -> Result<(), StoreError> {
        self.save_to(&key_file_path(db))
    }

    /// Writes the slot file at `path` atomically: a private temporary file,
    /// flushed to disk, renamed over `path`, and the folder flushed.
    pub fn save_to(&self, path: &Path) -> Result<(), StoreError> {
        let path = path.to_owned();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
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

    fn sealed_aad(&self, tag: &str) -> Vec<u8> {
        format!("{FORMAT}:{}:{tag}:sealed", self.db_salt).into_bytes()
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
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(secret.as_mut());
        let public = PublicKey::from(&StaticSecret::from(*secret));
        let wrapped = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_ref(),
                    aad: &self.aad(&tag),
                },
            )
            .map_err(|_| StoreError::KeyFile("could not wrap the key".into()))?;
        let sealed = seal(key, &public, &self.sealed_aad(&tag))?;
        self.slots.retain(|s| s.user != tag);
        self.slots.push(Slot {
            user: tag,
            m_kib: KDF_MEMORY_KIB,
            passes: KDF_PASSES,
            lanes: KDF_LANES,
            salt: b64(&salt),
            nonce: b64(&nonce),
            wrapped: b64(&wrapped),
            public: Some(b64(public.as_bytes())),
            sealed: Some(sealed),
        });
        Ok(())
    }

    /// Whether `username`'s slot is of format 1 (made format 2 at login).
    pub fn is_old_slot(&self, username: &str) -> bool {
        let tag = self.user_tag(username);
        self.slots
            .iter()
            .any(|s| s.user == tag && (s.public.is_none() || s.sealed.is_none()))
    }

    /// Replaces the recovery slot: `recovery` opens `key` from now on, and
    /// the recovery key before it no longer opens anything from this file.
    pub fn set_recovery(&mut self, recovery: &RecoveryKey, key: &DbKey) -> Result<(), StoreError> {
        let public = recovery.public();
        self.recovery = Some(RecoverySlot {
            public: b64(public.as_bytes()),
            sealed: seal(key, &public, &self.sealed_aad(RECOVERY_TAG))?,
        });
        Ok(())
    }

    /// This file with only its recovery slot (none if it has none), to keep
    /// beside the database in case the key file is lost.
    pub fn recovery_copy(&self) -> Option<KeyFile> {
        self.recovery.as_ref()?;
        Some(KeyFile {
            slots: Vec::new(),
            failed_logins: 0,
            first_failed_at: None,
            failed_reported: 0,
            ..self.clone()
        })
    }

    pub fn has_recovery_slot(&self) -> bool {
        self.recovery.is_some()
    }

    /// Whether this file's recovery slot is `recovery`'s (its public half),
    /// whatever key it is sealed to; None if it has no readable one.
    pub(crate) fn recovery_is(&self, recovery: &RecoveryKey) -> Option<bool> {
        let slot = self.recovery.as_ref()?;
        let public = public_key(&slot.public).ok()?;
        Some(public == recovery.public())
    }

    /// The database key from the recovery slot, if this file has one for
    /// `recovery`.
    pub fn unlock_recovery(&self, recovery: &RecoveryKey) -> Result<Option<DbKey>, StoreError> {
        let Some(slot) = &self.recovery else {
            return Ok(None);
        };
        if public_key(&slot.public)? != recovery.public() {
            return Ok(None);
        }
        unseal(
            &slot.sealed,
            &recovery.secret(),
            &self.sealed_aad(RECOVERY_TAG),
        )
        .map(Some)
    }

    /// This file with `key` sealed to every format 2 slot and to the
    /// recovery slot in place of the current key; no password is needed.
    /// Format 1 slots cannot be sealed to and are left out: returns how
    /// many, whose users need a new password from an admin.
    pub fn sealed_again(&self, key: &DbKey) -> Result<(KeyFile, usize), StoreError> {
        let mut next = self.clone();
        next.version = VERSION;
        next.slots.clear();
        let mut left_out = 0;
        for slot in &self.slots {
            let Some(public) = &slot.public else {
                left_out += 1;
                continue;
            };
            let mut slot = slot.clone();
            slot.sealed = Some(seal(
                key,
                &public_key(public)?,
                &self.sealed_aad(&slot.user),
            )?);
            next.slots.push(slot);
        }
        if let Some(recovery) = &self.recovery {
            next.recovery = Some(RecoverySlot {
                public: recovery.public.clone(),
                sealed: seal(
                    key,
                    &public_key(&recovery.public)?,
                    &self.sealed_aad(RECOVERY_TAG),
                )?,
            });
        }
        Ok((next, left_out))
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
                let arr = Zeroizing::new(
                    arr.map_err(|_| StoreError::KeyFile("a key slot is damaged".into()))?,
                );
                match (&slot.public, &slot.sealed) {
                    (Some(public), Some(sealed)) => {
                        let secret = StaticSecret::from(*arr);
                        if PublicKey::from(&secret) != public_key(public)? {
                            return Err(StoreError::KeyFile("a key slot is damaged".into()));
                        }
                        unseal(sealed, &secret, &self.sealed_aad(&tag))
                    }
                    _ => Ok(DbKey(arr)),
                }
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
