//! The desktop matcher: UUID filter, de-duplication, queueing, many keys, linked mode.

use cable_ble::{
    encrypt_advert, Advert, AdvertMatcher, AdvertSource, AdvertSuffix, DomainCheck, EidPlaintext,
    MatcherStats, UUID_FIDO, UUID_GOOGLE,
};
use cable_keys::EidKey;
use rand::{rngs::StdRng, RngCore, SeedableRng};

fn key(n: u8) -> EidKey {
    EidKey::new([n; 64])
}

fn eid(seed: u8, domain: u16) -> EidPlaintext {
    EidPlaintext {
        nonce: [seed; 10],
        routing_id: [seed, 1, 2],
        tunnel_domain_id: domain,
    }
}

fn advert(key: &EidKey, eid: &EidPlaintext, uuid: u16) -> Advert {
    Advert::new(
        uuid,
        encrypt_advert(key, &eid.to_bytes()).to_vec(),
        AdvertSource::VirtualRadio,
    )
}

fn stats(
    received: u64,
    foreign: u64,
    short: u64,
    dup: u64,
    unmatched: u64,
    matched: u64,
) -> MatcherStats {
    MatcherStats {
        received,
        foreign_uuid: foreign,
        too_short: short,
        duplicate: dup,
        unmatched,
        rejected: 0,
        matched,
    }
}

#[test]
fn matches_under_both_uuids() {
    for uuid in [UUID_FIDO, UUID_GOOGLE] {
        let mut m = AdvertMatcher::new();
        assert!(m.add("session", key(1), DomainCheck::Qr).is_none());
        let (id, decrypted, seen_uuid) = m.offer(&advert(&key(1), &eid(9, 0), uuid)).unwrap();
        assert_eq!((id, seen_uuid), ("session", uuid));
        assert_eq!(decrypted.eid, eid(9, 0));
        assert_eq!(decrypted.plaintext, eid(9, 0).to_bytes());
        assert_eq!(m.pending_keys(), 0, "a key matches once");
        assert_eq!(m.stats(), stats(1, 0, 0, 0, 0, 1));
    }
}

#[test]
fn foreign_uuids_and_short_data_are_dropped_and_counted() {
    let mut m = AdvertMatcher::new();
    m.add(1, key(1), DomainCheck::Qr);
    let good = advert(&key(1), &eid(1, 0), UUID_FIDO);
    // Same bytes under a foreign UUID (e.g. 0xFCF1 from HYBRID.md §15) are not considered.
    assert!(m
        .offer(&Advert {
            uuid: 0xFCF1,
            ..good.clone()
        })
        .is_none());
    let short = Advert::new(
        UUID_FIDO,
        good.service_data[..19].to_vec(),
        AdvertSource::Bluetooth,
    );
    assert!(m.offer(&short).is_none());
    assert_eq!(m.stats(), stats(2, 1, 1, 0, 0, 0));
    // Neither was remembered: the real advert still matches.
    assert!(m.offer(&good).is_some());
}

#[test]
fn each_distinct_advert_is_processed_once() {
    let mut m = AdvertMatcher::new();
    m.add(1, key(1), DomainCheck::Qr);
    let other = advert(&key(2), &eid(2, 0), UUID_FIDO);
    assert!(m.offer(&other).is_none());
    // Repeats, also under the other UUID and with a suffix appended, are duplicates.
    assert!(m.offer(&other).is_none());
    assert!(m
        .offer(&Advert {
            uuid: UUID_GOOGLE,
            ..other.clone()
        })
        .is_none());
    let mut with_suffix = other.clone();
    with_suffix
        .service_data
        .extend(AdvertSuffix::ble(130).to_bytes());
    assert!(m.offer(&with_suffix).is_none());
    assert_eq!(m.stats(), stats(4, 0, 0, 3, 1, 0));
}

#[test]
fn a_duplicate_of_a_match_does_not_match_again() {
    let mut m = AdvertMatcher::new();
    m.add(1, key(1), DomainCheck::Qr);
    let a = advert(&key(1), &eid(1, 0), UUID_FIDO);
    assert!(m.offer(&a).is_some());
    m.add(2, key(1), DomainCheck::Qr);
    assert!(m.offer(&a).is_none());
    assert_eq!(m.stats().duplicate, 1);
}

#[test]
fn dedup_set_is_bounded_and_forgets_the_oldest() {
    let mut m: AdvertMatcher<u8> = AdvertMatcher::with_capacities(4, 0);
    let adverts: Vec<Advert> = (0..5)
        .map(|i| advert(&key(9), &eid(i, 0), UUID_FIDO))
        .collect();
    for a in &adverts {
        assert!(m.offer(a).is_none());
    }
    // The first was evicted when the fifth arrived: it is processed again; the fifth is not.
    m.offer(&adverts[0]);
    m.offer(&adverts[4]);
    assert_eq!(m.stats().unmatched, 6);
    assert_eq!(m.stats().duplicate, 1);
}

#[test]
fn adverts_seen_before_the_key_are_queued_and_matched_on_add() {
    let mut m = AdvertMatcher::new();
    let phone = advert(&key(7), &eid(7, 0), UUID_GOOGLE);
    for n in 0..10 {
        m.offer(&advert(&key(100 + n), &eid(n, 0), UUID_FIDO));
    }
    assert!(m.offer(&phone).is_none());
    assert_eq!(m.queued_adverts(), 11);
    assert!(m.add("other", key(8), DomainCheck::Qr).is_none());
    let (id, decrypted, uuid) = m.add("phone", key(7), DomainCheck::Qr).unwrap();
    assert_eq!((id, uuid), ("phone", UUID_GOOGLE));
    assert_eq!(decrypted.eid, eid(7, 0));
    assert_eq!(m.queued_adverts(), 10);
    assert_eq!(m.pending_keys(), 1, "the matched key is not kept");
    assert_eq!(m.stats(), stats(11, 0, 0, 0, 11, 1));
    // The phone keeps advertising: duplicates now.
    assert!(m.offer(&phone).is_none());
    assert_eq!(m.stats().duplicate, 1);
}

#[test]
fn queue_is_bounded() {
    let mut m = AdvertMatcher::new();
    let early = advert(&key(7), &eid(7, 0), UUID_FIDO);
    m.offer(&early);
    for n in 0..64u8 {
        m.offer(&advert(&key(100), &eid(n, 0), UUID_FIDO));
    }
    assert_eq!(m.queued_adverts(), 64);
    // The earliest advert was pushed out of the queue.
    assert!(m.add(1, key(7), DomainCheck::Qr).is_none());
    // The phone's next advert (new nonce) matches as usual.
    assert!(m.offer(&advert(&key(7), &eid(8, 0), UUID_FIDO)).is_some());
}

#[test]
fn sixty_four_pending_keys_the_last_one_matches() {
    let mut m = AdvertMatcher::new();
    let mut rng = StdRng::seed_from_u64(64);
    let keys: Vec<EidKey> = (0..64)
        .map(|_| {
            let mut k = [0u8; 64];
            rng.fill_bytes(&mut k);
            EidKey::new(k)
        })
        .collect();
    for (i, k) in keys.iter().enumerate() {
        assert!(m.add(i, k.clone(), DomainCheck::Qr).is_none());
    }
    assert_eq!(m.pending_keys(), 64);
    for n in 0..20 {
        assert!(m.offer(&advert(&key(n), &eid(n, 0), UUID_FIDO)).is_none());
    }
    let (id, decrypted, _) = m
        .offer(&advert(&keys[63], &eid(1, 0x1234), UUID_FIDO))
        .unwrap();
    assert_eq!(id, 63);
    assert_eq!(decrypted.eid.tunnel_domain_id, 0x1234);
    assert_eq!(m.pending_keys(), 63);
    // Removing keys works and they no longer match.
    assert!(m.remove(&0));
    assert!(!m.remove(&0));
    assert!(m.offer(&advert(&keys[0], &eid(2, 0), UUID_FIDO)).is_none());
}

#[test]
fn linked_mode_skips_the_domain_check() {
    let unknown_domain = eid(3, 200);
    let mut m = AdvertMatcher::new();
    m.add("qr", key(3), DomainCheck::Qr);
    assert!(m
        .offer(&advert(&key(3), &unknown_domain, UUID_FIDO))
        .is_none());
    assert_eq!(m.stats().rejected, 1);
    assert_eq!(
        m.pending_keys(),
        1,
        "a rejected advert leaves the key waiting"
    );

    let mut m = AdvertMatcher::new();
    m.add("linked", key(3), DomainCheck::Linked);
    let (id, decrypted, _) = m
        .offer(&advert(&key(3), &unknown_domain, UUID_FIDO))
        .unwrap();
    assert_eq!(id, "linked");
    assert_eq!(decrypted.eid.tunnel_domain_id, 200);
}

#[test]
fn a_queued_advert_with_an_invalid_plaintext_is_rejected_on_add() {
    let mut m = AdvertMatcher::new();
    m.offer(&advert(&key(3), &eid(3, 17), UUID_FIDO));
    assert!(m.add(1, key(3), DomainCheck::Qr).is_none());
    assert_eq!(m.stats().rejected, 1);
    assert_eq!(m.queued_adverts(), 0);
    assert_eq!(m.pending_keys(), 1);
}

#[test]
fn adding_an_existing_id_replaces_its_key() {
    let mut m = AdvertMatcher::new();
    m.add(1, key(1), DomainCheck::Qr);
    m.add(1, key(2), DomainCheck::Qr);
    assert_eq!(m.pending_keys(), 1);
    assert!(m.offer(&advert(&key(1), &eid(1, 0), UUID_FIDO)).is_none());
    assert!(m.offer(&advert(&key(2), &eid(1, 0), UUID_FIDO)).is_some());
}

#[test]
fn suffix_reaches_the_match() {
    let mut m = AdvertMatcher::new();
    m.add(1, key(1), DomainCheck::Qr);
    let mut a = advert(&key(1), &eid(1, 0), UUID_FIDO);
    a.service_data.extend(AdvertSuffix::ble(0x85).to_bytes());
    let (_, decrypted, _) = m.offer(&a).unwrap();
    assert_eq!(decrypted.suffix.unwrap().ble_psm(), Some(0x85));
}
