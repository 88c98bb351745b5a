//! The bundle file: what one database sends to the others.
//!
//! The file's framing is [`super::frame`]; its bounds [`super::limits`];
//! the sealing of each recipient's copy of the content key [`super::seal`].
//!
//! Format 5 seals each bundle to the laptops allowed to read it with HPKE
//! (RFC 9180; [`super::seal`]): a random content key, the body's key, is
//! sealed once per recipient to that laptop's own X25519 sealing key (kept
//! apart from its Ed25519 signing key, and published in its signed
//! header), in PSK mode with the passphrase's key: opening one needs both
//! the passphrase and that laptop's private key. Before a laptop's sealing
//! key is known, its copy is sealed the same way to its signing key's
//! X25519 form (marked so).
//!
//! Format 4 (still read) sealed each bundle to the laptops allowed to read it: a random
//! content key is wrapped once per recipient (X25519 between a fresh
//! ephemeral key and the recipient's enrolled device key, taken to its
//! Curve25519 form; XChaCha20-Poly1305 under a BLAKE2b of the shared
//! secret), and the body key is a BLAKE2b of the content key and the
//! passphrase's key: opening one needs both the passphrase and the private
//! key of a laptop it was sealed for. A retired laptop is sealed for no
//! more, so its key opens nothing new.
//!
//! The passphrase's key is derived with Argon2id and the header's salt. The header is readable without the key (so a sync
//! folder can be scanned) but authenticated: a changed byte anywhere, a
//! wrong passphrase or a cut-short file is refused whole.
//!
//! Everything is bounded before work is done: the file's size, the header's
//! length, the key-derivation cost (only the one this program writes), the
//! signature (checked before any key is derived), the decompressed size
//! (64 times the compressed size, and an absolute cap) and the shape of the
//! payload (tables, columns, rows, text lengths).

use super::SyncError;
pub use super::frame::{Header, Recipient, peek, signed_header};
use super::frame::{MAGIC, Parts, SIGNATURE_LEN, aad, signed_by, split};
use super::limits::*;
pub use super::limits::{
    MAX_BUNDLE_BYTES, MAX_DECODED, MAX_RECIPIENTS, MAX_ROWS_PER_TABLE, MIN_PASSPHRASE_CHARS,
};
pub use super::payload::{Payload, TableRows, TableWriter, Value};
use super::seal::{body_key, content_key_for, mine_of, montgomery_of, wrap_key};
use argon2::{Algorithm, Argon2, Params};
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// This build's bundle format (2: signed by the sending device; 3: the
/// payload in MessagePack instead of JSON, a third of the size and five
/// times quicker to read). Format 2 is still read, so a laptop updated
/// first takes bundles from those not updated yet.
/// 4: sealed per recipient laptop (see above).
/// 5: each recipient's copy of the content key sealed with HPKE (RFC 9180,
/// PSK mode with the passphrase key; see [`super::seal`]) to that laptop's
/// own X25519 sealing key, apart from its Ed25519 signing key; the body's
/// key is the content key. Format 4 is still read during the upgrade.
pub const FORMAT: u32 = 5;
/// The oldest format read.
pub(crate) const OLDEST_FORMAT: u32 = 2;

/// Who is opening a bundle: this laptop's device id and key.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub device: &'a str,
    pub key: &'a DeviceKey,
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
        // Only the cost this program writes: a header cannot make us
        // spend memory or time (checked before anything is derived).
        check_kdf(kdf)?;
        let [m, t, p] = kdf;
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

/// A laptop's own signing key (Ed25519): every bundle it writes is signed
/// with it, and an admin enrolls its public half on the other laptops.
pub struct DeviceKey {
    key: ed25519_dalek::SigningKey,
    /// Its own X25519 key that bundles are sealed to (format 5).
    sealing: Option<x25519_dalek::StaticSecret>,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({})", fingerprint(&self.public_hex()))
    }
}

impl DeviceKey {
    /// A new random key.
    pub fn generate() -> DeviceKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        let mut sealing = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(sealing.as_mut());
        DeviceKey {
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
            sealing: Some(x25519_dalek::StaticSecret::from(*sealing)),
        }
    }

    /// The key from its stored secret (hex of 32 bytes).
    pub fn from_secret_hex(text: &str) -> Option<DeviceKey> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).ok()?);
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().ok()?);
        Some(DeviceKey {
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
            sealing: None,
        })
    }

    /// With its sealing key, from its stored secret (hex of 32 bytes).
    pub fn with_sealing_hex(mut self, text: &str) -> Option<DeviceKey> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).ok()?);
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().ok()?);
        self.sealing = Some(x25519_dalek::StaticSecret::from(*secret));
        Some(self)
    }

    /// A new random sealing secret, hex (stored inside the encrypted
    /// database only).
    pub fn new_sealing_hex() -> Zeroizing<String> {
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(secret.as_mut());
        Zeroizing::new(hex::encode(secret.as_ref()))
    }

    /// The sealing key's public half, hex (None for a key without one).
    pub fn sealing_public_hex(&self) -> Option<String> {
        self.sealing
            .as_ref()
            .map(|s| hex::encode(x25519_dalek::PublicKey::from(s).as_bytes()))
    }

    /// The secret, as stored (inside the encrypted database only).
    pub fn secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.to_bytes()))
    }

    /// The public half, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The key's Curve25519 (X25519) form, for opening sealed bundles.
    pub(crate) fn x25519_secret(&self) -> x25519_dalek::StaticSecret {
        x25519_dalek::StaticSecret::from(self.key.to_scalar_bytes())
    }

    fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }
}

/// A public key as people compare it on two screens: 20 characters of its
/// BLAKE2b hash in groups of four (`7F3A-09C2-…`).
pub fn fingerprint(public_hex: &str) -> String {
    use blake2::Digest;
    let hash = blake2::Blake2b512::digest(public_hex.trim().to_ascii_lowercase().as_bytes());
    let text = hex::encode_upper(&hash[..10]);
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `public_hex` is a laptop key bundles can be sealed for: an
/// Ed25519 point of full order (not one of the few weak ones).
pub fn is_valid_device_key(public_hex: &str) -> bool {
    let Some(bytes) = hex::decode(public_hex.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
    else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).is_ok_and(|k| !k.is_weak())
}

/// What a bundle's header says of who wrote it and what it holds, and the
/// keys it is sealed with.
#[derive(Clone, Copy)]
pub struct Sealing<'a> {
    pub key: &'a SyncKey,
    pub signer: &'a DeviceKey,
    /// The writer's number of database migrations.
    pub schema: usize,
    pub device: &'a str,
    pub since: i64,
    pub top: i64,
    pub created_at: i64,
    /// The laptops it is sealed for: device id and public device key (hex).
    pub recipients: &'a [(String, String)],
    /// Their own sealing keys (X25519, hex), where known: device id and key.
    pub sealers: &'a [(String, String)],
}

/// Writes a bundle: compresses and encrypts the payload for the
/// recipients, and signs the whole file with this laptop's `signer` key.
pub fn seal(sealing: &Sealing<'_>, payload: &Payload) -> Result<Vec<u8>, SyncError> {
    seal_as(FORMAT, sealing, payload)
}

/// [`seal`] in a given format: the previous one (2, JSON) is kept for the
/// tests that check it is still read.
#[doc(hidden)]
pub fn seal_as(
    format: u32,
    sealing: &Sealing<'_>,
    payload: &Payload,
) -> Result<Vec<u8>, SyncError> {
    let packed = if format == 2 {
        serde_json::to_vec(payload).map_err(|e| SyncError::Damaged(e.to_string()))?
    } else {
        rmp_serde::to_vec(payload).map_err(|e| SyncError::Damaged(e.to_string()))?
    };
    let packed = Zeroizing::new(packed);
    let plain = deflate(packed.len() / 3, |z| z.write_all(&packed))?;
    seal_plain(format, sealing, plain)
}

/// Deflates what `write` writes.
fn deflate(
    capacity: usize,
    write: impl FnOnce(&mut flate2::write::DeflateEncoder<Vec<u8>>) -> std::io::Result<()>,
) -> Result<Zeroizing<Vec<u8>>, SyncError> {
    let mut z = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(capacity),
        flate2::Compression::fast(),
    );
    write(&mut z)
        .and_then(|()| z.flush())
        .map_err(|e| SyncError::Damaged(e.to_string()))?;
    Ok(Zeroizing::new(
        z.finish().map_err(|e| SyncError::Damaged(e.to_string()))?,
    ))
}

/// The scope an office laptop's own bundle gives its readers: every client.
pub const SCOPE_ALL: &str = "all";

/// [`seal`] for a payload written by [`TableWriter`]s: `merged`, the
/// tables, the reader's scope and the clients leaving it, in the format of
/// this build.
pub fn seal_tables(
    sealing: &Sealing<'_>,
    merged: &[(String, i64)],
    tables: &[TableWriter],
    scope: Option<&[String]>,
    leaving: &[String],
) -> Result<Vec<u8>, SyncError> {
    use rmp::encode::{write_array_len, write_sint, write_str};
    let size: usize = tables.iter().map(|t| t.bytes.len()).sum();
    let plain = deflate(size / 3, |z| {
        let mut head = Vec::new();
        let e = |e: rmp::encode::ValueWriteError| std::io::Error::other(e.to_string());
        // Payload { merged, tables, scope, leaving }, a struct as an array.
        write_array_len(&mut head, 4)?;
        write_array_len(&mut head, merged.len() as u32)?;
        for (device, stamp) in merged {
            write_array_len(&mut head, 2)?;
            write_str(&mut head, device).map_err(e)?;
            write_sint(&mut head, *stamp).map_err(e)?;
        }
        write_array_len(&mut head, tables.len() as u32)?;
        z.write_all(&head)?;
        for t in tables {
            head.clear();
            // TableRows { table, columns, rows }.
            write_array_len(&mut head, 3)?;
            write_str(&mut head, &t.table).map_err(e)?;
            write_array_len(&mut head, t.columns.len() as u32)?;
            for c in &t.columns {
                write_str(&mut head, c).map_err(e)?;
            }
            write_array_len(&mut head, t.rows)?;
            z.write_all(&head)?;
            z.write_all(&t.bytes)?;
        }
        head.clear();
        match scope {
            None => {
                let _ = rmp::encode::write_nil(&mut head);
            }
            Some(workers) => {
                write_array_len(&mut head, workers.len() as u32)?;
                for w in workers {
                    write_str(&mut head, w).map_err(e)?;
                }
            }
        }
        write_array_len(&mut head, leaving.len() as u32)?;
        for id in leaving {
            write_str(&mut head, id).map_err(e)?;
        }
        z.write_all(&head)?;
        Ok(())
    })?;
    seal_plain(FORMAT, sealing, plain)
}

/// Encrypts and signs a deflated payload.
fn seal_plain(
    format: u32,
    sealing: &Sealing<'_>,
    plain: Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, SyncError> {
    let &Sealing {
        key,
        signer,
        schema,
        device,
        since,
        top,
        created_at,
        recipients,
        sealers,
    } = sealing;
    if recipients.len() > MAX_RECIPIENTS {
        return Err(SyncError::TooLarge {
            what: "the laptops one bundle is sealed for",
            limit: MAX_RECIPIENTS as u64,
        });
    }
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let kdf = [KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES];
    let mut content = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(content.as_mut());
    let passphrase_key = key.key_for(&key.salt, kdf)?;
    let (ephemeral, wrapped) = if format >= 5 {
        let mut out = Vec::with_capacity(recipients.len());
        for (to, their) in recipients {
            let invalid =
                || SyncError::Damaged(format!("laptop {}'s key is not a valid key", short(to)));
            let own = sealers
                .iter()
                .find(|(d, _)| d == to)
                .and_then(|(_, k)| hex::decode(k).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            let (public, sealing) = match own {
                Some(k) => (k, true),
                None => (*montgomery_of(their).ok_or_else(invalid)?.as_bytes(), false),
            };
            let (enc, sealed) =
                super::seal::seal_content(&content, &passphrase_key, device, to, &public)?;
            out.push(Recipient {
                device: to.clone(),
                wrapped: hex::encode(sealed),
                enc: Some(hex::encode(enc)),
                sealing,
            });
        }
        (None, out)
    } else if format >= 4 {
        let mut e = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(e.as_mut());
        let secret = x25519_dalek::StaticSecret::from(*e);
        let public = x25519_dalek::PublicKey::from(&secret);
        let mut out = Vec::with_capacity(recipients.len());
        for (to, key) in recipients {
            let their = montgomery_of(key).ok_or_else(|| {
                SyncError::Damaged(format!("laptop {}'s key is not a valid key", short(to)))
            })?;
            let shared = secret.diffie_hellman(&their);
            if !shared.was_contributory() {
                return Err(SyncError::Damaged(format!(
                    "laptop {}'s key is not a valid key",
                    short(to)
                )));
            }
            let wrap = wrap_key(shared.as_bytes(), public.as_bytes(), their.as_bytes(), to);
            let sealed = XChaCha20Poly1305::new_from_slice(wrap.as_ref())
                .map_err(|e| SyncError::Damaged(e.to_string()))?
                .encrypt(
                    XNonce::from_slice(&[0u8; 24]),
                    AeadPayload {
                        msg: content.as_ref(),
                        aad: to.as_bytes(),
                    },
                )
                .map_err(|_| SyncError::Damaged("encryption failed".into()))?;
            out.push(Recipient {
                device: to.clone(),
                wrapped: hex::encode(sealed),
                enc: None,
                sealing: false,
            });
        }
        (Some(hex::encode(public.as_bytes())), out)
    } else {
        (None, Vec::new())
    };
    // AEAD adds a 16-byte tag.
    let header = Header {
        format,
        schema,
        device: device.to_owned(),
        signer: signer.public_hex(),
        since,
        top,
        created_at,
        salt: hex::encode(key.salt),
        nonce: hex::encode(nonce),
        kdf,
        body_len: plain.len() as u64 + 16,
        ephemeral,
        recipients: wrapped,
        sealer: if format >= 5 {
            signer.sealing_public_hex()
        } else {
            None
        },
    };
    let header_bytes =
        serde_json::to_vec(&header).map_err(|e| SyncError::Damaged(e.to_string()))?;
    if header_bytes.len() > MAX_HEADER {
        return Err(SyncError::Damaged("its header is too long".into()));
    }
    let k = if format >= 5 {
        content.clone()
    } else if format >= 4 {
        body_key(&content, &passphrase_key)
    } else {
        passphrase_key
    };
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
    let mut out =
        Vec::with_capacity(MAGIC.len() + 4 + header_bytes.len() + body.len() + SIGNATURE_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&body);
    let signature = signer.sign(&out);
    out.extend_from_slice(&signature);
    Ok(out)
}

/// Opens a bundle for `reader`: checks the format, decrypts, decompresses
/// and parses. `schema` is this build's number of migrations; a newer
/// bundle is refused.
pub fn open(
    key: &SyncKey,
    reader: &Reader<'_>,
    schema: usize,
    bytes: &[u8],
) -> Result<Bundle, SyncError> {
    let Parts {
        header,
        header_bytes,
        body,
        signed,
        signature,
    } = split(bytes)?;
    check_kdf(header.kdf)?;
    let salt = hex::decode(&header.salt).map_err(|_| SyncError::WrongKeyOrTampered)?;
    let nonce = hex::decode(&header.nonce).map_err(|_| SyncError::WrongKeyOrTampered)?;
    if nonce.len() != 24 || !(8..=64).contains(&salt.len()) {
        return Err(SyncError::WrongKeyOrTampered);
    }
    // The signature costs microseconds; the key derivation after it, tens
    // of milliseconds.
    if !signed_by(&header.signer, signed, signature) {
        return Err(SyncError::BadSignature);
    }
    // Sealed for this laptop? (Before any key is derived.)
    let k = if header.format >= 5 {
        let mine = mine_of(&header, reader)?;
        let passphrase_key = key.key_for(&salt, header.kdf)?;
        let enc = mine
            .enc
            .as_deref()
            .and_then(|e| hex::decode(e).ok())
            .ok_or(SyncError::WrongKeyOrTampered)?;
        let sealed = hex::decode(&mine.wrapped).map_err(|_| SyncError::WrongKeyOrTampered)?;
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(if mine.sealing {
            reader
                .key
                .sealing
                .as_ref()
                .ok_or(SyncError::WrongKeyOrTampered)?
                .to_bytes()
        } else {
            reader.key.x25519_secret().to_bytes()
        });
        super::seal::open_content(
            &enc,
            &sealed,
            &passphrase_key,
            &header.device,
            reader.device,
            &secret,
        )?
    } else if header.format >= 4 {
        let content = content_key_for(&header, reader)?;
        let passphrase_key = key.key_for(&salt, header.kdf)?;
        body_key(&content, &passphrase_key)
    } else {
        key.key_for(&salt, header.kdf)?
    };
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
    let limit = (plain.len() as u64)
        .saturating_mul(MAX_INFLATE_RATIO)
        .clamp(MIN_INFLATE_LIMIT, MAX_INFLATED);
    let mut inflated = Zeroizing::new(Vec::with_capacity(plain.len().saturating_mul(4)));
    flate2::read::DeflateDecoder::new(plain.as_slice())
        .take(limit.saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|e| SyncError::Damaged(format!("it cannot be decompressed ({e})")))?;
    if inflated.len() as u64 > limit {
        return Err(SyncError::TooLarge {
            what: "its decompressed size in bytes",
            limit,
        });
    }
    // Decoded within a budget in proportion to its size: a payload of
    // tiny values cannot take memory out of proportion to the file.
    let budget = (inflated.len() as u64)
        .saturating_mul(MAX_DECODED_RATIO)
        .saturating_add(32 * 1024 * 1024)
        .min(MAX_DECODED);
    let (payload, over) = super::payload::decode_within(budget, || {
        if header.format == 2 {
            serde_json::from_slice::<Payload>(&inflated).map_err(|e| e.to_string())
        } else {
            rmp_serde::from_slice::<Payload>(&inflated).map_err(|e| e.to_string())
        }
    });
    if over {
        return Err(SyncError::TooLarge {
            what: "the memory its decoded values take, in bytes",
            limit: budget,
        });
    }
    let payload =
        payload.map_err(|e| SyncError::Damaged(format!("its contents cannot be read ({e})")))?;
    check_shape(&payload)?;
    Ok(Bundle { header, payload })
}

/// A name from a bundle, cut short for a message.
pub fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        let mut s: String = text.chars().take(40).collect();
        s.push('…');
        s
    } else {
        text.to_owned()
    }
}
