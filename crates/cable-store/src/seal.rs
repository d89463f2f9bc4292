//! Link secrets at rest: AES-256-GCM under the store key, a fresh random 12-byte nonce each
//! time, stored as `nonce || ciphertext || tag`. The associated data is the phone's public key,
//! so a sealed secret moved to another phone's row no longer opens.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use cable_keys::{LinkSecret, Secret};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// The 32-byte key that encrypts every link secret of one store.
pub type StoreKey = Secret<32>;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Length of a sealed link secret.
pub(crate) const SEALED_LEN: usize = NONCE_LEN + 32 + TAG_LEN;

/// Associated data of the key check value: proves the key is the store's before any row is read.
const KEY_CHECK_AD: &[u8] = b"cable link store key check v1";

pub(crate) fn seal(key: &StoreKey, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new(key.expose().into());
    // AES-GCM refuses only inputs of gigabytes; ours are at most 32 bytes from this process.
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .expect("AES-GCM encrypts a 32-byte secret");
    [nonce.as_slice(), &sealed].concat()
}

/// `None` when the bytes are too short, were altered, or were sealed under another key or AD.
pub(crate) fn open(key: &StoreKey, sealed: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::from(<[u8; NONCE_LEN]>::try_from(nonce).ok()?);
    let cipher = Aes256Gcm::new(key.expose().into());
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: ad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

pub(crate) fn seal_link_secret(key: &StoreKey, secret: &LinkSecret, phone_key: &[u8]) -> Vec<u8> {
    seal(key, secret.expose(), phone_key)
}

pub(crate) fn open_link_secret(
    key: &StoreKey,
    sealed: &[u8],
    phone_key: &[u8],
) -> Option<LinkSecret> {
    LinkSecret::from_slice(&open(key, sealed, phone_key)?)
}

pub(crate) fn key_check(key: &StoreKey) -> Vec<u8> {
    seal(key, &[], KEY_CHECK_AD)
}

pub(crate) fn verify_key_check(key: &StoreKey, check: &[u8]) -> bool {
    open(key, check, KEY_CHECK_AD).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding_to_the_phone_key() {
        let key = StoreKey::new([7; 32]);
        let secret = LinkSecret::new([9; 32]);
        let sealed = seal_link_secret(&key, &secret, b"phone A");
        assert_eq!(sealed.len(), SEALED_LEN);
        assert_eq!(open_link_secret(&key, &sealed, b"phone A"), Some(secret));
        assert!(open_link_secret(&key, &sealed, b"phone B").is_none());
        assert!(open_link_secret(&StoreKey::new([8; 32]), &sealed, b"phone A").is_none());
        assert!(open_link_secret(&key, &sealed[..20], b"phone A").is_none());
        assert!(open_link_secret(&key, &[], b"phone A").is_none());
    }

    #[test]
    fn nonces_are_fresh() {
        let key = StoreKey::new([7; 32]);
        let secret = LinkSecret::new([9; 32]);
        assert_ne!(
            seal_link_secret(&key, &secret, b"A"),
            seal_link_secret(&key, &secret, b"A")
        );
    }

    #[test]
    fn key_check_detects_another_key() {
        let check = key_check(&StoreKey::new([1; 32]));
        assert!(verify_key_check(&StoreKey::new([1; 32]), &check));
        assert!(!verify_key_check(&StoreKey::new([2; 32]), &check));
    }

    proptest::proptest! {
        #[test]
        fn sealing_round_trips_and_any_flipped_bit_is_caught(
            key in proptest::array::uniform32(0u8..),
            secret in proptest::array::uniform32(0u8..),
            ad in proptest::collection::vec(0u8.., 0..80),
            flip in 0usize..SEALED_LEN * 8,
        ) {
            let key = StoreKey::new(key);
            let secret = LinkSecret::new(secret);
            let mut sealed = seal_link_secret(&key, &secret, &ad);
            proptest::prop_assert_eq!(open_link_secret(&key, &sealed, &ad), Some(secret));
            sealed[flip / 8] ^= 1 << (flip % 8);
            proptest::prop_assert!(open_link_secret(&key, &sealed, &ad).is_none());
        }
    }
}
