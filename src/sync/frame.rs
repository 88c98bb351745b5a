//! The bundle file's framing: the magic, the header (readable, and
//! authenticated with the rest), the body and the signature at the end,
//! with every length checked before anything is read.
//!
//! ```text
//! "TETHER-SYNC\n"            12 bytes
//! header length              4 bytes, little-endian
//! header                     JSON: format, database version, device, its
//!                            signing key (and format 5: its sealing key),
//!                            range of changes, salt, nonce, Argon2id cost,
//!                            body length, the recipients' sealed copies
//! body                       XChaCha20-Poly1305 of the deflated payload
//!                            (MessagePack; JSON in format 2), with the magic
//!                            and header as associated data
//! signature                  64 bytes: Ed25519 of everything before it, by
//!                            the sending laptop's own device key
//! ```

use super::SyncError;
use super::bundle::{FORMAT, OLDEST_FORMAT};
use super::limits::{MAX_BUNDLE_BYTES, MAX_HEADER, check_kdf};
use serde::{Deserialize, Serialize};

pub(crate) const MAGIC: &[u8] = b"TETHER-SYNC\n";

/// Length of the signature at the end of the file.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// The readable part of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// The sender's number of database migrations.
    pub schema: usize,
    /// The sender's device id.
    pub device: String,
    /// The sender's public signing key (hex): the signature at the end of
    /// the file is checked against it, and the receiver checks that it is
    /// the key it enrolled for this device.
    pub signer: String,
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
    /// Format 4: the ephemeral X25519 public key (hex) the content key is
    /// wrapped with...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<String>,
    /// ...and the laptops it is sealed for, each with its wrapped copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
    /// Format 5: the writer's own X25519 sealing key (hex), signed with
    /// the rest, for the others to seal their bundles to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealer: Option<String>,
}

impl Header {
    /// Whether `device` may open it (bundles before format 4 were sealed
    /// with the passphrase alone, for every laptop).
    pub fn is_for(&self, device: &str) -> bool {
        self.format < 4 || self.recipients.iter().any(|r| r.device == device)
    }
}

/// A laptop a bundle is sealed for: its device id, and the content key
/// wrapped for its key (hex: 32 bytes and a 16-byte tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub device: String,
    pub wrapped: String,
    /// Format 5: HPKE's encapsulated key (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
    /// Format 5: sealed to the laptop's own sealing key (otherwise to its
    /// signing key's X25519 form, before its sealing key was known).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealing: bool,
}

/// Whether `signature` over `message` was made by the key `public_hex`.
pub(crate) fn signed_by(public_hex: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(public) = hex::decode(public_hex) else {
        return false;
    };
    let (Ok(public), Ok(signature)) = (
        <[u8; 32]>::try_from(public.as_slice()),
        <[u8; SIGNATURE_LEN]>::try_from(signature),
    ) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
        .is_ok()
}

pub(crate) fn aad(header: &[u8]) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(header);
    aad
}

/// A bundle file cut into its parts.
pub(crate) struct Parts<'a> {
    pub(crate) header: Header,
    pub(crate) header_bytes: &'a [u8],
    pub(crate) body: &'a [u8],
    /// Everything the signature covers.
    pub(crate) signed: &'a [u8],
    pub(crate) signature: &'a [u8],
}

/// Splits a file into its header (parsed), the header's bytes, the body and
/// the signature, checking every length first.
pub(crate) fn split(bytes: &[u8]) -> Result<Parts<'_>, SyncError> {
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(SyncError::TooLarge {
            what: "the file's size in bytes",
            limit: MAX_BUNDLE_BYTES,
        });
    }
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
    if !(OLDEST_FORMAT..=FORMAT).contains(&header.format) {
        return Err(if header.format > FORMAT {
            SyncError::Damaged(
                "it was written by a newer Tether, in a format this one cannot read; update Tether first".into(),
            )
        } else {
            SyncError::Damaged(
                "it was written by an older Tether, before bundles were signed; update Tether on the laptop that wrote it".into(),
            )
        });
    }
    // The header is not authenticated yet: its length may be anything.
    if header.body_len > MAX_BUNDLE_BYTES {
        return Err(SyncError::Damaged(
            "its header gives an impossible length".into(),
        ));
    }
    let want = (want_header as u64)
        .saturating_add(header.body_len)
        .saturating_add(SIGNATURE_LEN as u64);
    if (bytes.len() as u64) < want {
        return Err(SyncError::Truncated {
            have: bytes.len(),
            want: usize::try_from(want).unwrap_or(usize::MAX),
        });
    }
    if (bytes.len() as u64) > want {
        return Err(SyncError::Damaged("it has extra bytes at the end".into()));
    }
    let signed_len = bytes.len() - SIGNATURE_LEN;
    Ok(Parts {
        header,
        header_bytes,
        body: &bytes[want_header..signed_len],
        signed: &bytes[..signed_len],
        signature: &bytes[signed_len..],
    })
}

/// Reads the header only (no key needed): who sent it and which changes it
/// holds. Nothing in it is to be believed before [`open`] succeeds.
pub fn peek(bytes: &[u8]) -> Result<Header, SyncError> {
    split(bytes).map(|p| p.header)
}

/// The header, once the signature at the end is checked against the key
/// it names (no passphrase or recipient key needed): who wrote it, in that
/// laptop's own words, so that an unknown laptop can be listed for an admin
/// to enroll even though it could not seal a bundle for this one yet.
pub fn signed_header(bytes: &[u8]) -> Result<Header, SyncError> {
    let parts = split(bytes)?;
    check_kdf(parts.header.kdf)?;
    if !signed_by(&parts.header.signer, parts.signed, parts.signature) {
        return Err(SyncError::BadSignature);
    }
    Ok(parts.header)
}
