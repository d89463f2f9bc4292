//! What CTAP-HID framing costs the daemon: a maximal (7609-byte) message in and out, and one
//! INIT round trip (allocate a channel, read the answer).

use std::time::Instant;

use cable_hid::packet::{cmd, fragment};
use cable_hid::{Device, DeviceConfig, DeviceEvent, BROADCAST_CID, MAX_MESSAGE_LEN};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn init_report() -> [u8; 64] {
    let mut r = [0u8; 64];
    r[..4].copy_from_slice(&BROADCAST_CID.to_be_bytes());
    r[4..7].copy_from_slice(&[0x86, 0x00, 0x08]);
    r[7..15].copy_from_slice(b"benchmrk");
    r
}

fn allocated(now: Instant) -> (Device, u32) {
    let mut device = Device::new(DeviceConfig::default());
    device.handle_report(now, &init_report()).unwrap();
    let answer = device.poll_report().unwrap();
    let cid = u32::from_be_bytes(answer[15..19].try_into().unwrap());
    (device, cid)
}

fn reassembly(c: &mut Criterion) {
    let now = Instant::now();
    let request: Vec<u8> = (0..MAX_MESSAGE_LEN).map(|i| i as u8).collect();
    let (mut device, cid) = allocated(now);
    let mut reports = Vec::new();
    fragment(cid, cmd::CBOR, &request, |r| reports.push(r));
    let mut group = c.benchmark_group("ctaphid");
    group.throughput(Throughput::Bytes(MAX_MESSAGE_LEN as u64));
    group.bench_function("reassemble_7609_byte_cbor_request", |b| {
        b.iter(|| {
            for r in &reports {
                device.handle_report(now, black_box(r)).unwrap();
            }
            let Some(DeviceEvent::Cbor { cid, request }) = device.poll_event() else {
                panic!("a request")
            };
            black_box(&request);
            // Free the device for the next round; the one-report answer is dropped.
            device.respond(now, cid, &[0x00]).unwrap();
            device.poll_report();
        })
    });
    let response: Vec<u8> = (0..MAX_MESSAGE_LEN).map(|i| (i * 3) as u8).collect();
    let (mut device, cid) = allocated(now);
    let start = {
        let mut r = [0u8; 64];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4..8].copy_from_slice(&[0x90, 0x00, 0x01, 0x04]);
        r
    };
    group.bench_function("fragment_7609_byte_cbor_response", |b| {
        b.iter(|| {
            device.handle_report(now, &start).unwrap();
            device.poll_event();
            device.respond(now, cid, black_box(&response)).unwrap();
            let mut n = 0;
            while let Some(r) = device.poll_report() {
                black_box(r);
                n += 1;
            }
            assert_eq!(n, 129);
        })
    });
    group.finish();
}

fn init_round_trip(c: &mut Criterion) {
    let now = Instant::now();
    let mut device = Device::new(DeviceConfig::default());
    let init = init_report();
    c.bench_function("ctaphid_init_round_trip", |b| {
        b.iter(|| {
            device.handle_report(now, black_box(&init)).unwrap();
            black_box(device.poll_report().unwrap())
        })
    });
}

criterion_group!(benches, reassembly, init_round_trip);
criterion_main!(benches);
