//! Sealing a bundle's content key to each laptop allowed to read it, with
//! HPKE (RFC 9180) rather than a key schedule of our own: DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305, in PSK mode with the
//! organisation's passphrase key (Argon2id) as the pre-shared key. Opening
//! a copy therefore needs both the recipient laptop's private sealing key
//! and the passphrase; the `info` names the writer and the recipient, so a
//! copy cannot be moved to another laptop's entry.
//!
//! A laptop's sealing key (X25519) is its own, apart from its signing key
//! (Ed25519): its public half travels in the signed header of every bundle
//! it writes, and is believed once that header's signature is checked
//! against the signing key an admin enrolled. Until a laptop's sealing key
//! has been seen, its copy is sealed (with the same HPKE) to its signing
//! key's X25519 form, and marked so.

use super::SyncError;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, PskBundle, Serializable};
use zeroize::Zeroizing;

type Suite = X25519HkdfSha256;

/// Which pre-shared key: the organisation's sync passphrase.
const PSK_ID: &[u8] = b"tether-sync organisation passphrase";

fn info(from: &str, to: &str) -> Vec<u8> {
    let mut info = b"tether-sync-5 content key\0".to_vec();
    info.extend_from_slice(from.as_bytes());
    info.push(0);
    info.extend_from_slice(to.as_bytes());
    info
}

fn sealing_failed() -> SyncError {
    SyncError::Damaged("sealing failed".into())
}

/// Seals `content` for laptop `to` (its X25519 public key), written by
/// `from`: the encapsulated key and the sealed content key.
pub(super) fn seal_content(
    content: &[u8; 32],
    psk: &[u8; 32],
    from: &str,
    to: &str,
    recipient: &[u8; 32],
) -> Result<(Vec<u8>, Vec<u8>), SyncError> {
    let public = <Suite as Kem>::PublicKey::from_bytes(recipient).map_err(|_| {
        SyncError::Damaged(format!(
            "laptop {}'s key is not a valid key",
            super::bundle::short(to)
        ))
    })?;
    let bundle = PskBundle::new(psk, PSK_ID).map_err(|_| sealing_failed())?;
    let (enc, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Suite, _>(
        &OpModeS::Psk(bundle),
        &public,
        &info(from, to),
        content,
        to.as_bytes(),
        &mut rand::rng(),
    )
    .map_err(|_| sealing_failed())?;
    Ok((enc.to_bytes().to_vec(), sealed))
}

/// Opens laptop `to`'s copy of the content key with its X25519 `secret`.
pub(super) fn open_content(
    enc: &[u8],
    sealed: &[u8],
    psk: &[u8; 32],
    from: &str,
    to: &str,
    secret: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, SyncError> {
    let wrong = || SyncError::WrongKeyOrTampered;
    let private = <Suite as Kem>::PrivateKey::from_bytes(secret).map_err(|_| wrong())?;
    let enc = <Suite as Kem>::EncappedKey::from_bytes(enc).map_err(|_| wrong())?;
    let bundle = PskBundle::new(psk, PSK_ID).map_err(|_| wrong())?;
    let plain = Zeroizing::new(
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Suite>(
            &OpModeR::Psk(bundle),
            &private,
            &enc,
            &info(from, to),
            sealed,
            to.as_bytes(),
        )
        .map_err(|_| wrong())?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(wrong());
    }
    out.copy_from_slice(&plain);
    Ok(out)
}

/// Whether `public_hex` is an X25519 public key a bundle can be sealed to.
pub fn is_valid_sealing_key(public_hex: &str) -> bool {
    hex::decode(public_hex.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .is_some_and(|b| b != [0u8; 32] && <Suite as Kem>::PublicKey::from_bytes(&b).is_ok())
}

// Format 4 (still read, and written by tests that check it is): the
// content key wrapped with a key schedule of our own (X25519 to the
// signing key's Montgomery form, BLAKE2b), and the body's key a BLAKE2b of
// the content key and the passphrase's key.

use super::bundle::Reader;
use super::frame::{Header, Recipient};
use super::limits::MAX_RECIPIENTS;
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// A laptop's public device key (Ed25519, hex) in its X25519 form.
pub(crate) fn montgomery_of(public_hex: &str) -> Option<x25519_dalek::PublicKey> {
    let bytes: [u8; 32] = hex::decode(public_hex.trim()).ok()?.try_into().ok()?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
    Some(x25519_dalek::PublicKey::from(
        key.to_montgomery().to_bytes(),
    ))
}

/// The key one recipient's copy of the content key is wrapped with.
pub(crate) fn wrap_key(
    shared: &[u8],
    ephemeral: &[u8],
    recipient: &[u8],
    device: &str,
) -> Zeroizing<[u8; 32]> {
    use blake2::Digest;
    let mut h = blake2::Blake2b512::new();
    h.update(b"tether-sync-4 wrap\0");
    h.update(shared);
    h.update(ephemeral);
    h.update(recipient);
    h.update(device.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize()[..32]);
    out
}

/// The body's key: the content key and the passphrase's key together.
pub(crate) fn body_key(content: &[u8; 32], passphrase_key: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    use blake2::Digest;
    let mut h = blake2::Blake2b512::new();
    h.update(b"tether-sync-4 body\0");
    h.update(content);
    h.update(passphrase_key);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize()[..32]);
    out
}

/// `reader`'s entry among a bundle's recipients.
pub(crate) fn mine_of<'h>(
    header: &'h Header,
    reader: &Reader<'_>,
) -> Result<&'h Recipient, SyncError> {
    if header.recipients.len() > MAX_RECIPIENTS {
        return Err(SyncError::Damaged(
            "it is sealed for too many laptops".into(),
        ));
    }
    header
        .recipients
        .iter()
        .find(|r| r.device == reader.device)
        .ok_or(SyncError::NotForThisLaptop)
}

/// Unwraps the content key of a format-4 bundle for `reader`.
pub(crate) fn content_key_for(
    header: &Header,
    reader: &Reader<'_>,
) -> Result<Zeroizing<[u8; 32]>, SyncError> {
    let mine = mine_of(header, reader)?;
    let ephemeral: [u8; 32] = header
        .ephemeral
        .as_deref()
        .and_then(|e| hex::decode(e).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(SyncError::WrongKeyOrTampered)?;
    let wrapped = hex::decode(&mine.wrapped).map_err(|_| SyncError::WrongKeyOrTampered)?;
    if wrapped.len() != 48 {
        return Err(SyncError::WrongKeyOrTampered);
    }
    let secret = reader.key.x25519_secret();
    let own = x25519_dalek::PublicKey::from(&secret);
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral));
    if !shared.was_contributory() {
        return Err(SyncError::WrongKeyOrTampered);
    }
    let wrap = wrap_key(shared.as_bytes(), &ephemeral, own.as_bytes(), reader.device);
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new_from_slice(wrap.as_ref())
            .map_err(|e| SyncError::Damaged(e.to_string()))?
            .decrypt(
                XNonce::from_slice(&[0u8; 24]),
                AeadPayload {
                    msg: &wrapped,
                    aad: reader.device.as_bytes(),
                },
            )
            .map_err(|_| SyncError::WrongKeyOrTampered)?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&plain);
    Ok(out)
}
