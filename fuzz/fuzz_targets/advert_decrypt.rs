//! BLE adverts come from any radio in range (HYBRID.md §4). Three checks per input:
//!
//! 1. `decrypt_advert` with a fixed EID key (the all-zero QR secret of eid.json, whose adverts
//!    are the seeds) on the raw bytes, in both `DomainCheck` modes. A successful decryption
//!    must re-encrypt to the same 20 bytes.
//! 2. The fuzz bytes as a *plaintext* (first 16 bytes) plus suffix (the rest), encrypted with
//!    `encrypt_advert` and decrypted again: random bytes almost never pass the tag, so this is
//!    what reaches the plaintext and CTAP 2.3 suffix parsers.
//! 3. An `AdvertMatcher` with three keys (two QR, one linked) and small bounds, fed a sequence
//!    of adverts cut from the input: each record is `uuid (LE16) || len (u8) || service data`,
//!    so the first advert's UUID is the input's first 2 bytes. Keys are added before and after
//!    the adverts (exercising the queue), and the stats must add up.

#![no_main]

use std::sync::OnceLock;

use cable_ble::{
    decrypt_advert, encrypt_advert, Advert, AdvertError, AdvertMatcher, AdvertSource, DomainCheck,
    EidPlaintext, ADVERT_LEN,
};
use cable_keys::EidKey;
use libfuzzer_sys::fuzz_target;

struct Keys {
    /// eid.json: QR secret 00…00 (vectors 2–6).
    zero_qr: EidKey,
    /// eid.json: QR secret 01fea6f7… (vector 1, a real-world advert).
    real_qr: EidKey,
    /// linking.json "linked-flow advert": link secret 31cb2f…, client nonce 0011…ff.
    linked: EidKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        zero_qr: cable_keys::eid_key(&[0u8; 16], &[]),
        real_qr: cable_keys::eid_key(&hex16("01fea6f7c4807493dc256f9eacf756c9"), &[]),
        linked: cable_keys::eid_key(
            &hex32("31cb2fa5108d602f9648e489dc03c3203a5ac88c733113902cf35d99853d94da"),
            &hex16("00112233445566778899aabbccddeeff"),
        ),
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();

    // 1. Raw service data under the fixed key.
    for check in [DomainCheck::Qr, DomainCheck::Linked] {
        let outcome = decrypt_advert(&keys.zero_qr, data, check);
        match &outcome {
            Ok(decrypted) => {
                let advert: [u8; ADVERT_LEN] = data[..ADVERT_LEN].try_into().unwrap();
                assert_eq!(encrypt_advert(&keys.zero_qr, &decrypted.plaintext), advert);
                assert_eq!(decrypted.eid.to_bytes(), decrypted.plaintext);
                assert_eq!(
                    decrypted.suffix.is_some(),
                    data.len() > ADVERT_LEN && decrypted.suffix_error.is_none()
                );
            }
            Err(AdvertError::TooShort(n)) => assert!(*n < ADVERT_LEN && *n == data.len()),
            Err(_) => assert!(data.len() >= ADVERT_LEN),
        }
    }

    // 2. Encrypt-then-decrypt with the fuzz bytes as plaintext and suffix.
    if let Some((plaintext, suffix)) = data.split_first_chunk::<16>() {
        let mut service_data = encrypt_advert(&keys.real_qr, plaintext).to_vec();
        service_data.extend_from_slice(suffix);
        for check in [DomainCheck::Qr, DomainCheck::Linked] {
            let expected = EidPlaintext::from_bytes_with(plaintext, check);
            match decrypt_advert(&keys.real_qr, &service_data, check) {
                Ok(decrypted) => {
                    assert_eq!(&decrypted.plaintext, plaintext);
                    assert_eq!(Ok(decrypted.eid), expected);
                    if let Some(s) = &decrypted.suffix {
                        assert!(!suffix.is_empty());
                        // Whatever parsed must survive its own encoding.
                        let reparsed = cable_ble::AdvertSuffix::parse(&s.to_bytes());
                        assert_eq!(
                            reparsed.as_ref().map(|r| r.channels.len()),
                            Ok(s.channels.len())
                        );
                    }
                }
                Err(AdvertError::BadTag) => panic!("an advert we encrypted failed its tag"),
                Err(e) => assert_eq!(Err(e), expected),
            }
        }
    }

    // 3. The matcher.
    run_matcher(keys, data);
});

fn run_matcher(keys: &Keys, data: &[u8]) {
    let adverts = records(data);
    let mut matcher: AdvertMatcher<u8> = AdvertMatcher::with_capacities(4, 2);
    let mut matched_by_offer = 0u64;
    let mut matched_by_add = 0u64;

    // Key 0 waits from the start; keys 1 and 2 arrive halfway, to be tried against the queue.
    if matcher
        .add(0, keys.zero_qr.clone(), DomainCheck::Qr)
        .is_some()
    {
        matched_by_add += 1;
    }
    let half = adverts.len() / 2;
    for (i, advert) in adverts.iter().enumerate() {
        if i == half {
            if matcher
                .add(1, keys.real_qr.clone(), DomainCheck::Qr)
                .is_some()
            {
                matched_by_add += 1;
            }
            if matcher
                .add(2, keys.linked.clone(), DomainCheck::Linked)
                .is_some()
            {
                matched_by_add += 1;
            }
        }
        if let Some((id, decrypted, uuid)) = matcher.offer(advert) {
            matched_by_offer += 1;
            assert_eq!(uuid, advert.uuid);
            assert!(cable_ble::is_hybrid_uuid(uuid));
            // The key that matched must be the one that made these 20 bytes.
            assert_eq!(
                &advert.service_data[..ADVERT_LEN],
                &encrypt_with(keys, id, &decrypted.plaintext)
            );
        }
        assert!(matcher.queued_adverts() <= 2);
    }
    let stats = matcher.stats();
    assert_eq!(stats.received, adverts.len() as u64);
    assert_eq!(
        stats.received,
        stats.foreign_uuid
            + stats.too_short
            + stats.duplicate
            + stats.unmatched
            + stats.rejected
            + matched_by_offer
    );
    assert_eq!(stats.matched, matched_by_offer + matched_by_add);
    assert!(matcher.pending_keys() <= 3);
}

/// The advert key `id` makes of `plaintext`.
fn encrypt_with(keys: &Keys, id: u8, plaintext: &[u8; 16]) -> [u8; ADVERT_LEN] {
    let key = match id {
        0 => &keys.zero_qr,
        1 => &keys.real_qr,
        _ => &keys.linked,
    };
    encrypt_advert(key, plaintext)
}

/// Splits the input into `uuid (LE16) || len (u8) || data` records; a short last record takes
/// what is left.
fn records(mut data: &[u8]) -> Vec<Advert> {
    let mut out = Vec::new();
    while let Some((&[lo, hi, len], rest)) = data.split_first_chunk::<3>() {
        let take = usize::from(len).min(rest.len());
        let (service_data, rest) = rest.split_at(take);
        out.push(Advert::new(
            u16::from_le_bytes([lo, hi]),
            service_data.to_vec(),
            AdvertSource::VirtualRadio,
        ));
        data = rest;
    }
    out
}

fn hex16(s: &str) -> [u8; 16] {
    hex_array(s)
}

fn hex32(s: &str) -> [u8; 32] {
    hex_array(s)
}

fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}
