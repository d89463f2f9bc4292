//! Desktop-side advert cost: one key, and the matcher with 64 pending keys (match last).

use cable_ble::{
    decrypt_advert, encrypt_advert, Advert, AdvertMatcher, AdvertSource, DomainCheck, EidPlaintext,
    UUID_FIDO,
};
use cable_keys::EidKey;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

fn key(n: u8) -> EidKey {
    EidKey::new([n; 64])
}

fn advert_for(key: &EidKey) -> [u8; 20] {
    let eid = EidPlaintext {
        nonce: [7; 10],
        routing_id: [1, 2, 3],
        tunnel_domain_id: 0,
    };
    encrypt_advert(key, &eid.to_bytes())
}

fn decrypt_one_key(c: &mut Criterion) {
    let key = key(1);
    let advert = advert_for(&key);
    c.bench_function("decrypt_advert (1 key, match)", |b| {
        b.iter(|| decrypt_advert(black_box(&key), black_box(&advert), DomainCheck::Qr))
    });
    let mut foreign = advert;
    foreign[0] ^= 1;
    c.bench_function("decrypt_advert (1 key, bad tag)", |b| {
        b.iter(|| decrypt_advert(black_box(&key), black_box(&foreign), DomainCheck::Qr))
    });
}

fn matcher_64_keys(c: &mut Criterion) {
    let last = key(64);
    let advert = Advert::new(
        UUID_FIDO,
        advert_for(&last).to_vec(),
        AdvertSource::Bluetooth,
    );
    c.bench_function("matcher offer (64 keys, match last)", |b| {
        b.iter_batched(
            || {
                let mut matcher = AdvertMatcher::new();
                for n in 1..=64u8 {
                    assert!(matcher.add(n, key(n), DomainCheck::Qr).is_none());
                }
                matcher
            },
            |mut matcher| {
                let found = matcher.offer(black_box(&advert));
                assert!(matches!(found, Some((64, _, _))));
                matcher
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, decrypt_one_key, matcher_64_keys);
criterion_main!(benches);
