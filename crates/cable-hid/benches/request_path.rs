//! What cabled spends on a security-key request before the phone sees it: the relay frames
//! from cable-uhid decoded, the reports reassembled by the device, the request classified
//! (relay to the phone), and for getInfo the local answer fragmented and framed back. The
//! tunnel send that follows is the engine's (benchmarked in cabled's e2e bench).

use std::time::Instant;

use cable_hid::packet::{cmd, fragment};
use cable_hid::{Device, DeviceConfig, DeviceEvent, Handling, LocalAnswers, BROADCAST_CID};
use cable_keys::cbor::{self, Value};
use cable_uhid::relay::{Decoder, Frame};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// A makeCredential as a browser sends it: clientDataHash, rp, user, ES256, options.
fn make_credential() -> Vec<u8> {
    let text = |s: &str| Value::Text(s.into());
    let map = Value::Map(vec![
        (Value::Integer(1.into()), Value::Bytes(vec![0xCD; 32])),
        (
            Value::Integer(2.into()),
            Value::Map(vec![
                (text("id"), text("example.com")),
                (text("name"), text("Example")),
            ]),
        ),
        (
            Value::Integer(3.into()),
            Value::Map(vec![
                (text("id"), Value::Bytes(vec![7; 16])),
                (text("name"), text("alice@example.com")),
                (text("displayName"), text("Alice")),
            ]),
        ),
        (
            Value::Integer(4.into()),
            Value::Array(vec![Value::Map(vec![
                (text("alg"), Value::Integer((-7).into())),
                (text("type"), text("public-key")),
            ])]),
        ),
        (
            Value::Integer(7.into()),
            Value::Map(vec![(text("rk"), Value::Bool(true))]),
        ),
    ]);
    let mut request = vec![0x01];
    request.extend(cbor::to_canonical_vec(&map));
    request
}

/// cable-uhid's OUTPUT frames carrying `message` on `cid`.
fn frames(cid: u32, message: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    fragment(cid, cmd::CBOR, message, |report| {
        Frame::Output(report).encode_into(&mut wire)
    });
    wire
}

fn allocated(now: Instant) -> (Device, u32) {
    let mut device = Device::new(DeviceConfig::default());
    let mut init = [0u8; 64];
    init[..4].copy_from_slice(&BROADCAST_CID.to_be_bytes());
    init[4..7].copy_from_slice(&[0x86, 0x00, 0x08]);
    device.handle_report(now, &init).unwrap();
    let answer = device.poll_report().unwrap();
    (
        device,
        u32::from_be_bytes(answer[15..19].try_into().unwrap()),
    )
}

/// Frames in → reports → device → the decision, as `daemon/src/security_key/key.rs` does.
fn decide(
    now: Instant,
    device: &mut Device,
    local: &mut LocalAnswers,
    wire: &[u8],
) -> (u32, Handling) {
    let mut decoder = Decoder::new();
    decoder.push(wire);
    while let Some(frame) = decoder.next_frame().unwrap() {
        if let Frame::Output(report) = frame {
            device.handle_report(now, &report).unwrap();
        }
    }
    let Some(DeviceEvent::Cbor { cid, request }) = device.poll_event() else {
        panic!("a CBOR request")
    };
    (cid, local.handle(&request))
}

fn request_path(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("security_key");

    let (mut device, cid) = allocated(now);
    let mut local = LocalAnswers::new();
    let wire = frames(cid, &make_credential());
    group.bench_function("make_credential_frames_to_relay_decision", |b| {
        b.iter(|| {
            let (cid, handling) = decide(now, &mut device, &mut local, black_box(&wire));
            assert!(matches!(handling, Handling::Relay { .. }));
            // Free the device for the next round (the phone's answer, one report).
            device.respond(now, cid, &[0x00]).unwrap();
            device.poll_report();
        })
    });

    let (mut device, cid) = allocated(now);
    let wire = frames(cid, &[0x04]);
    group.bench_function("get_info_frames_in_local_answer_frames_out", |b| {
        b.iter(|| {
            let (cid, handling) = decide(now, &mut device, &mut local, black_box(&wire));
            let Handling::Reply { response, .. } = handling else {
                panic!("a local answer")
            };
            device.respond(now, cid, &response).unwrap();
            let mut out = Vec::new();
            while let Some(report) = device.poll_report() {
                Frame::Input(report).encode_into(&mut out);
            }
            black_box(out);
        })
    });
    group.finish();
}

criterion_group!(benches, request_path);
criterion_main!(benches);
