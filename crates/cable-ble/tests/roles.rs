//! Phone (encrypt_advert) against desktop (decrypt_advert), tampering, and hostile input.

use cable_ble::{decrypt_advert, encrypt_advert, AdvertError, DomainCheck, EidPlaintext};
use cable_keys::EidKey;
use proptest::prelude::*;

fn eid_strategy() -> impl Strategy<Value = EidPlaintext> {
    (any::<[u8; 10]>(), any::<[u8; 3]>(), any::<u16>()).prop_map(
        |(nonce, routing_id, tunnel_domain_id)| EidPlaintext {
            nonce,
            routing_id,
            tunnel_domain_id,
        },
    )
}

fn key_strategy() -> impl Strategy<Value = EidKey> {
    proptest::collection::vec(any::<u8>(), 64).prop_map(|bytes| EidKey::from_slice(&bytes).unwrap())
}

proptest! {
    #[test]
    fn phone_advert_decrypts_on_the_desktop(key in key_strategy(), eid in eid_strategy()) {
        let advert = encrypt_advert(&key, &eid.to_bytes());
        let linked = decrypt_advert(&key, &advert, DomainCheck::Linked).unwrap();
        prop_assert_eq!(linked.plaintext, eid.to_bytes());
        prop_assert_eq!(linked.eid, eid);
        prop_assert_eq!(linked.suffix, None);
        let qr = decrypt_advert(&key, &advert, DomainCheck::Qr);
        if cable_ble::is_valid_domain(eid.tunnel_domain_id) {
            prop_assert_eq!(qr.unwrap().eid, eid);
        } else {
            prop_assert_eq!(qr, Err(AdvertError::UnknownDomain(eid.tunnel_domain_id)));
        }
    }

    #[test]
    fn another_key_never_matches(a in key_strategy(), b in key_strategy(), eid in eid_strategy()) {
        prop_assume!(a != b);
        let advert = encrypt_advert(&a, &eid.to_bytes());
        prop_assert_eq!(decrypt_advert(&b, &advert, DomainCheck::Linked), Err(AdvertError::BadTag));
    }

    #[test]
    fn every_tampered_byte_breaks_the_tag(
        key in key_strategy(),
        eid in eid_strategy(),
        flip in 1u8..=255,
    ) {
        let advert = encrypt_advert(&key, &eid.to_bytes());
        for i in 0..advert.len() {
            let mut tampered = advert;
            tampered[i] ^= flip;
            prop_assert_eq!(
                decrypt_advert(&key, &tampered, DomainCheck::Linked),
                Err(AdvertError::BadTag),
                "byte {} ^ {:#04x}", i, flip
            );
        }
    }

    #[test]
    fn arbitrary_service_data_never_panics(
        key in key_strategy(),
        data in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        for check in [DomainCheck::Qr, DomainCheck::Linked] {
            match decrypt_advert(&key, &data, check) {
                Err(AdvertError::TooShort(n)) => prop_assert!(n < 20 && n == data.len()),
                Err(_) => prop_assert!(data.len() >= 20),
                Ok(_) => prop_assert!(data.len() >= 20),
            }
        }
    }

    #[test]
    fn arbitrary_suffix_never_disturbs_a_valid_advert(
        key in key_strategy(),
        eid in eid_strategy(),
        suffix in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let mut data = encrypt_advert(&key, &eid.to_bytes()).to_vec();
        data.extend_from_slice(&suffix);
        let got = decrypt_advert(&key, &data, DomainCheck::Linked).unwrap();
        prop_assert_eq!(got.eid, eid);
        prop_assert!(got.suffix.is_some() != got.suffix_error.is_some());
    }
}

#[test]
fn every_byte_of_a_fixed_advert_is_covered_by_the_tag() {
    let key = EidKey::new([0x42; 64]);
    let eid = EidPlaintext {
        nonce: [1; 10],
        routing_id: [2; 3],
        tunnel_domain_id: 0,
    };
    let advert = encrypt_advert(&key, &eid.to_bytes());
    for i in 0..20 {
        for bit in 0..8 {
            let mut tampered = advert;
            tampered[i] ^= 1 << bit;
            assert_eq!(
                decrypt_advert(&key, &tampered, DomainCheck::Qr),
                Err(AdvertError::BadTag),
                "byte {i} bit {bit}"
            );
        }
    }
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        AdvertError::TooShort(19).to_string(),
        "service data is 19 bytes long; a hybrid advert needs at least 20"
    );
    assert_eq!(
        AdvertError::ReservedByte(1).to_string(),
        "decrypted advert has reserved byte 0x01; it must be 0"
    );
    assert!(AdvertError::UnknownDomain(255).to_string().contains("255"));
}

#[test]
fn secrets_do_not_leak_through_debug() {
    let key = EidKey::new([0xab; 64]);
    assert_eq!(format!("{key:?}"), "[redacted]");
}
