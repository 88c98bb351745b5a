//! The bundle file: what one database sends to the others.
//!
//! ```text
//! "TETHER-SYNC\n"            12 bytes
//! header length              4 bytes, little-endian
//! header                     JSON: format, database version, device, range of
//!                            changes, salt, nonce, Argon2id cost, body length
//! body                       XChaCha20-Poly1305 of the deflated JSON payload,
//!                            with the magic and header as associated data
//! ```
//!
//! The key is derived from the organisation's sync passphrase with Argon2id
//! and the header's salt. The header is readable without the key (so a sync
//! folder can be scanned) but authenticated: a changed byte anywhere, a
//! wrong passphrase or a cut-short file is refused whole.

use super::SyncError;
use argon2::{Algorithm, Argon2, Params};
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Mutex;
use zeroize::Zeroizing;

const MAGIC: &[u8] = b"TETHER-SYNC\n";
/// This build's bundle format.
pub const FORMAT: u32 = 1;
/// Shortest sync passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Argon2id cost for bundle keys: 19 MiB, 2 passes, 1 lane (the OWASP
/// minimum); a key is derived once per salt and remembered.
const KDF_MEMORY_KIB: u32 = 19 * 1024;
const KDF_PASSES: u32 = 2;
const KDF_LANES: u32 = 1;
/// A header longer than this is not ours.
const MAX_HEADER: usize = 64 * 1024;

/// The readable part of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// The sender's number of database migrations.
    pub schema: usize,
    /// The sender's device id.
    pub device: String,
    /// The bundle holds every change the sender made or took in after this
    /// stamp of its clock (0: everything)...
    pub since: i64,
    /// ...up to this one.
    pub top: i64,
    /// When it was written (unix ms).
    pub created_at: i64,
    pub salt: String,
    pub nonce: String,
    pub kdf: [u32; 3],
    pub body_len: u64,
}

/// One SQLite value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The rows of one table: the column names, then each row's values in that order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Payload {
    /// For each device the sender has merged from: the highest stamp of
    /// that device's it has merged (so the device can send less next time).
    pub merged: Vec<(String, i64)>,
    pub tables: Vec<TableRows>,
}

impl Payload {
    /// How many records it carries.
    pub fn records(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// A bundle read and opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub header: Header,
    pub payload: Payload,
}

/// The organisation's sync key: the passphrase, and the keys derived from
/// it so far (one Argon2id run per salt).
pub struct SyncKey {
    passphrase: Zeroizing<String>,
    salt: [u8; 16],
    derived: Mutex<HashMap<Vec<u8>, Zeroizing<[u8; 32]>>>,
}

impl std::fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncKey(..)")
    }
}

impl SyncKey {
    /// A key from the passphrase; refuses one that is too short.
    pub fn new(passphrase: &str) -> Result<SyncKey, SyncError> {
        if passphrase.trim().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(SyncError::WeakPassphrase {
                min: MIN_PASSPHRASE_CHARS,
            });
        }
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Ok(SyncKey {
            passphrase: Zeroizing::new(passphrase.trim().to_owned()),
            salt,
            derived: Mutex::new(HashMap::new()),
        })
    }

    fn key_for(&self, salt: &[u8], kdf: [u32; 3]) -> Result<Zeroizing<[u8; 32]>, SyncError> {
        let mut cache = self
            .derived
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.get(salt) {
            return Ok(k.clone());
        }
        // A header asking for an absurd cost is not ours (and must not
        // make us allocate gigabytes).
        let [m, t, p] = kdf;
        if !(8..=256 * 1024).contains(&m) || !(1..=16).contains(&t) || !(1..=8).contains(&p) {
            return Err(SyncError::Damaged(
                "its key settings are out of range".into(),
            ));
        }
        let params =
            Params::new(m, t, p, Some(32)).map_err(|e| SyncError::Damaged(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(self.passphrase.as_bytes(), salt, out.as_mut())
            .map_err(|e| SyncError::Damaged(e.to_string()))?;
        cache.insert(salt.to_vec(), out.clone());
        Ok(out)
    }
}

fn aad(header: &[u8]) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(header);
    aad
}

/// Writes a bundle: compresses and encrypts the payload under `key`.
pub fn seal(
    key: &SyncKey,
    schema: usize,
    device: &str,
    since: i64,
    top: i64,
    created_at: i64,
    payload: &Payload,
) -> Result<Vec<u8>, SyncError> {
    let json = serde_json::to_vec(payload).map_err(|e| SyncError::Damaged(e.to_string()))?;
    let mut z = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::fast(),
    );
    z.write_all(&json)
        .and_then(|()| z.flush())
        .map_err(|e| SyncError::Damaged(e.to_string()))?;
    let plain = Zeroizing::new(z.finish().map_err(|e| SyncError::Damaged(e.to_string()))?);
    drop(Zeroizing::new(json));
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let kdf = [KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES];
    // AEAD adds a 16-byte tag.
    let header = Header {
        format: FORMAT,
        schema,
        device: device.to_owned(),
        since,
        top,
        created_at,
        salt: hex::encode(key.salt),
        nonce: hex::encode(nonce),
        kdf,
        body_len: plain.len() as u64 + 16,
    };
    let header_bytes =
        serde_json::to_vec(&header).map_err(|e| SyncError::Damaged(e.to_string()))?;
    let k = key.key_for(&key.salt, kdf)?;
    let cipher = XChaCha20Poly1305::new_from_slice(k.as_ref())
        .map_err(|e| SyncError::Damaged(e.to_string()))?;
    let body = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            AeadPayload {
                msg: &plain,
                aad: &aad(&header_bytes),
            },
        )
        .map_err(|_| SyncError::Damaged("encryption failed".into()))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header_bytes.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Splits a file into its header (parsed), the header's bytes and the body.
fn split(bytes: &[u8]) -> Result<(Header, &[u8], &[u8]), SyncError> {
    if bytes.len() < MAGIC.len() {
        return if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            Err(SyncError::Truncated {
                have: bytes.len(),
                want: MAGIC.len() + 4,
            })
        } else {
            Err(SyncError::NotABundle)
        };
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(SyncError::NotABundle);
    }
    let rest = &bytes[MAGIC.len()..];
    let Some(len_bytes) = rest.get(..4) else {
        return Err(SyncError::Truncated {
            have: bytes.len(),
            want: MAGIC.len() + 4,
        });
    };
    let header_len =
        u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
    if header_len > MAX_HEADER {
        return Err(SyncError::Damaged("its header is too long".into()));
    }
    let want_header = MAGIC.len() + 4 + header_len;
    let Some(header_bytes) = rest.get(4..4 + header_len) else {
        return Err(SyncError::Truncated {
            have: bytes.len(),
            want: want_header,
        });
    };
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|_| SyncError::Damaged("its header cannot be read".into()))?;
    let body = &rest[4 + header_len..];
    // The header is not authenticated yet: its length may be anything.
    let Some(want) = (want_header as u64).checked_add(header.body_len) else {
        return Err(SyncError::Damaged(
            "its header gives an impossible length".into(),
        ));
    };
    if (bytes.len() as u64) < want {
        return Err(SyncError::Truncated {
            have: bytes.len(),
            want: usize::try_from(want).unwrap_or(usize::MAX),
        });
    }
    if (bytes.len() as u64) > want {
        return Err(SyncError::Damaged("it has extra bytes at the end".into()));
    }
    Ok((header, header_bytes, body))
}

/// Reads the header only (no key needed): who sent it and which changes it holds.
pub fn peek(bytes: &[u8]) -> Result<Header, SyncError> {
    split(bytes).map(|(h, _, _)| h)
}

/// Opens a bundle: checks the format, decrypts, decompresses and parses.
/// `schema` is this build's number of migrations; a newer bundle is refused.
pub fn open(key: &SyncKey, schema: usize, bytes: &[u8]) -> Result<Bundle, SyncError> {
    let (header, header_bytes, body) = split(bytes)?;
    let salt = hex::decode(&header.salt).map_err(|_| SyncError::WrongKeyOrTampered)?;
    let nonce = hex::decode(&header.nonce).map_err(|_| SyncError::WrongKeyOrTampered)?;
    if nonce.len() != 24 || salt.len() < 8 {
        return Err(SyncError::WrongKeyOrTampered);
    }
    let k = key.key_for(&salt, header.kdf)?;
    let cipher = XChaCha20Poly1305::new_from_slice(k.as_ref())
        .map_err(|e| SyncError::Damaged(e.to_string()))?;
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                AeadPayload {
                    msg: body,
                    aad: &aad(header_bytes),
                },
            )
            .map_err(|_| SyncError::WrongKeyOrTampered)?,
    );
    // Authenticated from here on: the sender's own words.
    if header.format > FORMAT || header.schema > schema {
        return Err(SyncError::NewerSchema {
            theirs: header.schema,
            ours: schema,
        });
    }
    let mut json = Zeroizing::new(Vec::with_capacity(plain.len() * 4));
    flate2::read::DeflateDecoder::new(plain.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| SyncError::Damaged(format!("it cannot be decompressed ({e})")))?;
    let payload: Payload = serde_json::from_slice(&json)
        .map_err(|e| SyncError::Damaged(format!("its contents cannot be read ({e})")))?;
    Ok(Bundle { header, payload })
}
