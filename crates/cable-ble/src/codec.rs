//! HYBRID.md §4.2/§4.4: the 20-byte advert, both roles.
//!
//! ```text
//! advert     = AES-256(eid_key[0..32], plaintext) || tag
//! tag        = HMAC-SHA256(eid_key[32..64], ciphertext)[0..4]
//! ```
//!
//! The phone encrypts ([`encrypt_advert`]); the desktop checks the tag first (cheap, and it tells
//! whether the advert is ours at all) and only then decrypts ([`decrypt_advert`]).

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes256, Block};
use cable_keys::EidKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{AdvertError, AdvertSuffix, DomainCheck, EidPlaintext};

/// Length of the advert proper: 16-byte ciphertext and 4-byte tag.
pub const ADVERT_LEN: usize = 20;
const CIPHERTEXT_LEN: usize = 16;
const TAG_LEN: usize = 4;

/// What the desktop learns from an advert that matched its EID key.
#[derive(Debug, Clone, PartialEq)]
pub struct DecryptedAdvert {
    /// The raw 16 plaintext bytes: the PSK is derived from exactly these.
    pub plaintext: [u8; 16],
    /// The decoded plaintext fields.
    pub eid: EidPlaintext,
    /// The CTAP 2.3 suffix, if the phone appended a well-formed one.
    pub suffix: Option<AdvertSuffix>,
    /// Why the bytes after the advert were ignored, if a suffix was present but malformed
    /// (always [`AdvertError::BadSuffix`]). The advert itself stays usable: the suffix only
    /// offers an optional BLE channel, and the tunnel is always available.
    pub suffix_error: Option<AdvertError>,
}

/// Phone side: encrypts a 16-byte plaintext into the 20-byte advert.
pub fn encrypt_advert(key: &EidKey, plaintext: &[u8; 16]) -> [u8; ADVERT_LEN] {
    let (aes_key, mac_key) = split_key(key);
    let mut block = Block::from(*plaintext);
    Aes256::new(aes_key.into()).encrypt_block(&mut block);
    let ciphertext: [u8; CIPHERTEXT_LEN] = block.into();
    let mut advert = [0u8; ADVERT_LEN];
    let (ct_out, tag_out) = advert.split_at_mut(CIPHERTEXT_LEN);
    ct_out.copy_from_slice(&ciphertext);
    tag_out.copy_from_slice(&tag(mac_key, &ciphertext));
    advert
}

/// Desktop side: checks, decrypts and validates service data seen under a hybrid UUID.
///
/// Accepts 20 bytes or more (CTAP 2.3 phones append a suffix); the advert is the first 20.
/// A malformed suffix is reported in [`DecryptedAdvert::suffix_error`], not as an error.
pub fn decrypt_advert(
    key: &EidKey,
    service_data: &[u8],
    check: DomainCheck,
) -> Result<DecryptedAdvert, AdvertError> {
    let (advert, rest) = split_service_data(service_data)?;
    let plaintext = open(key, advert)?;
    let eid = EidPlaintext::from_bytes_with(&plaintext, check)?;
    let (suffix, suffix_error) = match rest {
        [] => (None, None),
        bytes => match AdvertSuffix::parse(bytes) {
            Ok(suffix) => (Some(suffix), None),
            Err(e) => (None, Some(e)),
        },
    };
    Ok(DecryptedAdvert {
        plaintext,
        eid,
        suffix,
        suffix_error,
    })
}

/// Splits service data into the 20-byte advert and whatever follows it.
pub(crate) fn split_service_data(
    service_data: &[u8],
) -> Result<(&[u8; ADVERT_LEN], &[u8]), AdvertError> {
    match service_data.split_first_chunk::<ADVERT_LEN>() {
        Some((advert, rest)) => Ok((advert, rest)),
        None => Err(AdvertError::TooShort(service_data.len())),
    }
}

/// Verifies the tag (constant time) and decrypts; no plaintext validation.
fn open(key: &EidKey, advert: &[u8; ADVERT_LEN]) -> Result<[u8; 16], AdvertError> {
    let (aes_key, mac_key) = split_key(key);
    let (ciphertext, received_tag) = split_advert(advert);
    if !bool::from(tag(mac_key, ciphertext).ct_eq(received_tag)) {
        return Err(AdvertError::BadTag);
    }
    let mut block = Block::from(*ciphertext);
    Aes256::new(aes_key.into()).decrypt_block(&mut block);
    Ok(block.into())
}

/// Splits the EID key into its AES-256 key and its HMAC key.
fn split_key(key: &EidKey) -> (&[u8; 32], &[u8; 32]) {
    let (aes_key, mac_key) = key.expose().split_at(32);
    (as_array(aes_key), as_array(mac_key))
}

fn split_advert(advert: &[u8; ADVERT_LEN]) -> (&[u8; CIPHERTEXT_LEN], &[u8; TAG_LEN]) {
    let (ciphertext, tag) = advert.split_at(CIPHERTEXT_LEN);
    (as_array(ciphertext), as_array(tag))
}

/// Views a slice whose length is fixed by the caller's types as an array.
fn as_array<const N: usize>(bytes: &[u8]) -> &[u8; N] {
    bytes
        .try_into()
        .expect("split at a constant offset of a fixed-size array")
}

fn tag(mac_key: &[u8; 32], ciphertext: &[u8; CIPHERTEXT_LEN]) -> [u8; TAG_LEN] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("HMAC accepts keys of any length");
    mac.update(ciphertext);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}
