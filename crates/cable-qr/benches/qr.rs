//! How long the desktop takes to make a QR code, and to draw it in a terminal.

use cable_qr::{render, QrHandshake, RequestType};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn generate(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    c.bench_function("qr_handshake_generate_and_url", |b| {
        b.iter(|| {
            let hs =
                QrHandshake::generate(&mut rng, RequestType::MakeCredential, false, 1_700_000_000);
            black_box(hs.url())
        })
    });
}

fn terminal(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let url =
        QrHandshake::generate(&mut rng, RequestType::GetAssertion, false, 1_700_000_000).url();
    c.bench_function("qr_render_terminal", |b| {
        b.iter(|| black_box(render::terminal(black_box(&url))))
    });
}

criterion_group!(benches, generate, terminal);
criterion_main!(benches);
