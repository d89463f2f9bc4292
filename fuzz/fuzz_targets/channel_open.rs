//! The encrypted channel after the handshake (HYBRID.md §7.1–7.2): every tunnel message a
//! desktop or phone reads passes `Crypter::decrypt` first.
//!
//! * Arbitrary ciphertexts go to a desktop and a phone crypter holding the QR transcript keys
//!   of noise.json (whose transport.json ciphertexts are the seeds), and to a desktop crypter
//!   holding the transport.json Chromium keys, whose legacy-construction vector takes the
//!   desktop's legacy fallback.
//! * The input as a plaintext goes round trip both ways between counterpart crypters, in the
//!   new construction, through the desktop's fallback to the legacy one, and with one bit of
//!   the ciphertext flipped (which must fail and leave the counter where it was).

#![no_main]

use cable_keys::Secret;
use cable_tunnel::crypter::{Construction, PADDING_GRANULARITY, TAG_LEN};
use cable_tunnel::{Crypter, Role};
use libfuzzer_sys::fuzz_target;

/// noise.json QR transcript: split k1 (desktop writes) and k2 (desktop reads).
const K1: &str = "f6ab29cee1e23de455ab51b416ad7b2ca5120ababf3844a5999518f212be52c5";
const K2: &str = "035d8e4603048c639ce9f4b0e3d9d7b216029112796d80b16c9554e3af43a786";
/// transport.json vectors 1–2: the key Chromium's desktop wrote with, and its read key.
const CHROMIUM_WRITE: &str = "1fba3cce17622c68268d9f75b5a8a3351b517f096fb5e294941af7e3a6a8d6e1";
const CHROMIUM_READ: &str = "e34f1aa3747238c04d3bd25e07ef1b35fef359000d755615cd85be27cfc807d1";

fuzz_target!(|data: &[u8]| {
    // Arbitrary ciphertexts.
    let mut desktop = Crypter::new(Role::Desktop, key(K2), key(K1));
    let mut phone = Crypter::new(Role::Phone, key(K1), key(K2));
    let mut probe = Crypter::new(Role::Desktop, key(CHROMIUM_WRITE), key(CHROMIUM_READ));
    for crypter in [&mut desktop, &mut phone, &mut probe] {
        let role = crypter.role();
        match crypter.decrypt(data) {
            // A valid ciphertext holds a padded plaintext and a tag.
            Ok(plaintext) => assert!(plaintext.len() + 1 + TAG_LEN <= data.len()),
            Err(_) => {
                if role == Role::Phone {
                    assert_eq!(
                        crypter.construction(),
                        Construction::New,
                        "phones never fall back"
                    );
                }
            }
        }
    }

    round_trip(data);
    legacy_fallback(data);
    tampered(data);
});

/// Desktop → phone and phone → desktop, twice each so the counters move.
fn round_trip(plaintext: &[u8]) {
    let (mut desktop, mut phone) = pair();
    assert!(desktop.is_counterpart_of(&phone));
    for _ in 0..2 {
        let sealed = desktop.encrypt(plaintext).unwrap();
        let padded = (plaintext.len() + 1).next_multiple_of(PADDING_GRANULARITY);
        assert_eq!(sealed.len(), padded + TAG_LEN);
        assert_eq!(phone.decrypt(&sealed).unwrap(), plaintext);

        let sealed = phone.encrypt(plaintext).unwrap();
        assert_eq!(desktop.decrypt(&sealed).unwrap(), plaintext);
    }
    assert_eq!(desktop.construction(), Construction::New);
}

/// A phone on the legacy construction: the desktop's first read falls back and sticks.
fn legacy_fallback(plaintext: &[u8]) {
    let (mut desktop, phone) = pair();
    let mut phone = phone.with_construction(Construction::Legacy);
    let sealed = phone.encrypt(plaintext).unwrap();
    assert_eq!(desktop.decrypt(&sealed).unwrap(), plaintext);
    assert_eq!(desktop.construction(), Construction::Legacy);
    let reply = desktop.encrypt(plaintext).unwrap();
    assert_eq!(phone.decrypt(&reply).unwrap(), plaintext);
}

/// One flipped bit (position chosen by the input) is rejected, and the receiver still reads
/// the untouched message afterwards.
fn tampered(plaintext: &[u8]) {
    let (mut desktop, mut phone) = pair();
    let sealed = desktop.encrypt(plaintext).unwrap();
    let bit = plaintext.iter().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(*b))
    }) % (sealed.len() * 8);
    let mut bad = sealed.clone();
    bad[bit / 8] ^= 1 << (bit % 8);
    assert!(
        phone.decrypt(&bad).is_err(),
        "a flipped bit must not authenticate"
    );
    assert!(desktop.decrypt(&bad).is_err());
    assert_eq!(phone.decrypt(&sealed).unwrap(), plaintext);
}

fn pair() -> (Crypter, Crypter) {
    (
        Crypter::new(Role::Desktop, key(K2), key(K1)),
        Crypter::new(Role::Phone, key(K1), key(K2)),
    )
}

fn key(hex: &str) -> Secret<32> {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    Secret::new(out)
}
