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
