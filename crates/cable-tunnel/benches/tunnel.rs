//! A full KNpsk0 handshake (both sides), and the channel's encrypt + decrypt of 1 KiB.

use cable_keys::{IdentityKey, Psk, Secret};
use cable_tunnel::{respond_qr, Crypter, HandshakeInitiator, Role};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::hint::black_box;

fn handshake(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let desktop = IdentityKey::generate(&mut rng);
    let psk = Psk::random(&mut rng);
    c.bench_function("knpsk0_handshake_both_sides", |b| {
        b.iter(|| {
            let (init, m1) = HandshakeInitiator::qr(&psk, &desktop, &mut rng).unwrap();
            let (m2, phone) = respond_qr(&psk, &desktop.public_key(), &m1, &mut rng).unwrap();
            let desk = init.finish(&m2).unwrap();
            black_box((desk.handshake_hash, phone.handshake_hash))
        })
    });
}

fn crypter(c: &mut Criterion) {
    let mut desktop = Crypter::new(Role::Desktop, Secret::new([2; 32]), Secret::new([1; 32]));
    let mut phone = Crypter::new(Role::Phone, Secret::new([1; 32]), Secret::new([2; 32]));
    let message = vec![0x5a; 1024];
    c.bench_function("crypter_encrypt_decrypt_1kib", |b| {
        b.iter(|| {
            let wire = desktop.encrypt(black_box(&message)).unwrap();
            black_box(phone.decrypt(&wire).unwrap())
        })
    });
}

criterion_group!(benches, handshake, crypter);
criterion_main!(benches);
