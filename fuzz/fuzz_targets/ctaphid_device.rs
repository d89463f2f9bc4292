//! The virtual key's CTAP-HID machine (cable-hid `Device`) and its local answers, driven by a
//! hostile host and a sloppy caller.
//!
//! The input is a list of operations, each one byte `op` and its operands:
//! * op % 8 = 0: a raw 64-byte report (the bytes that follow, zero-padded);
//! * 1: the same, sent on the last channel the device allocated;
//! * 2: the same, sent on the broadcast channel;
//! * 3 / 4: `n` (one byte) × 4 ms / × 100 ms pass, then the timers run;
//! * 5: the caller answers the waiting request (or the last channel) with `len` (u16 LE,
//!   mod 8000) bytes;
//! * 6: the caller sets the keepalive status; 7: the device is reset.
//! Every CBOR request goes through `LocalAnswers` and a local reply is sent back at once.
//! Checked: nothing panics; every report the device sends frames correctly (INIT then CONT in
//! sequence, BCNT at most 7609, zero padding); events name real requests; `respond` succeeds
//! exactly when it should; a local reply always fits; no deadline lies in the past after the
//! timers ran; and once every request is answered and the timers ran out, `poll_timeout` is
//! None (no idle timer) and a freshly allocated channel answers a PING.

#![no_main]

use std::time::{Duration, Instant};

use cable_hid::{Device, DeviceConfig, DeviceEvent, Handling, Keepalive, LocalAnswers};
use libfuzzer_sys::fuzz_target;

const BROADCAST: u32 = 0xFFFF_FFFF;

struct Harness {
    device: Device,
    local: LocalAnswers,
    now: Instant,
    last_cid: u32,
    /// The INIT of the message the device is in the middle of sending: (cid, len, got, seq).
    open: Option<(u32, usize, usize, u8)>,
    pings_seen: Vec<Vec<u8>>,
}

fuzz_target!(|data: &[u8]| {
    let mut h = Harness {
        device: Device::new(DeviceConfig::default()),
        local: LocalAnswers::new(),
        now: Instant::now(),
        last_cid: BROADCAST,
        open: None,
        pings_seen: Vec::new(),
    };
    let mut input = data;
    let mut take = |n: usize| {
        let (head, tail) = input.split_at(n.min(input.len()));
        input = tail;
        head
    };
    loop {
        let Some(&op) = take(1).first() else { break };
        match op % 8 {
            kind @ 0..=2 => {
                let mut report = [0u8; 64];
                let body = take(64);
                report[..body.len()].copy_from_slice(body);
                match kind {
                    1 => report[..4].copy_from_slice(&h.last_cid.to_be_bytes()),
                    2 => report[..4].copy_from_slice(&BROADCAST.to_be_bytes()),
                    _ => {}
                }
                h.device.handle_report(h.now, &report).expect("64 bytes");
            }
            kind @ (3 | 4) => {
                let n = u64::from(take(1).first().copied().unwrap_or(1));
                let unit = if kind == 3 { 4 } else { 100 };
                h.now += Duration::from_millis(n * unit);
                h.device.handle_timeout(h.now);
                if let Some(deadline) = h.device.poll_timeout() {
                    assert!(
                        deadline > h.now,
                        "a deadline already passed after the timers ran"
                    );
                }
            }
            5 => {
                let len = take(2);
                let len = usize::from(u16::from_le_bytes([
                    len.first().copied().unwrap_or(0),
                    len.get(1).copied().unwrap_or(0),
                ])) % 8000;
                let response = vec![0x00; len];
                let cid = h.device.waiting_request().unwrap_or(h.last_cid);
                let should = h.device.waiting_request() == Some(cid) && (1..=7609).contains(&len);
                let result = h.device.respond(h.now, cid, &response);
                assert_eq!(result.is_ok(), should, "respond: {result:?}");
            }
            6 => {
                let status = if take(1).first().copied().unwrap_or(0) % 2 == 0 {
                    Keepalive::Processing
                } else {
                    Keepalive::UpNeeded
                };
                let cid = h.device.waiting_request().unwrap_or(h.last_cid);
                h.device.set_keepalive(cid, status);
            }
            _ => {
                h.device.reset();
                h.local.reset();
                h.open = None;
                assert!(h.device.poll_report().is_none() && h.device.poll_timeout().is_none());
            }
        }
        h.check();
    }
    // Answer what waits, let every timer run out: the device must be idle and still serve.
    if let Some(cid) = h.device.waiting_request() {
        h.device
            .respond(h.now, cid, &[0x7F])
            .expect("the waiting request");
    }
    h.now += Duration::from_secs(60);
    h.device.handle_timeout(h.now);
    h.check();
    assert_eq!(h.device.poll_timeout(), None, "an idle device has no timer");
    // A fresh channel answers a PING: nothing the host did left the device stuck.
    let mut init = [0u8; 64];
    init[..7].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x08]);
    h.last_cid = BROADCAST;
    h.device.handle_report(h.now, &init).unwrap();
    h.check();
    assert_ne!(
        h.last_cid, BROADCAST,
        "INIT on broadcast is always answered"
    );
    let mut ping = [0u8; 64];
    ping[..4].copy_from_slice(&h.last_cid.to_be_bytes());
    ping[4..9].copy_from_slice(&[0x81, 0x00, 0x02, b'o', b'k']);
    h.pings_seen.clear();
    h.device.handle_report(h.now, &ping).unwrap();
    h.check();
    assert_eq!(h.pings_seen, [b"ok".to_vec()]);
});

impl Harness {
    fn check(&mut self) {
        while let Some(event) = self.device.poll_event() {
            match event {
                DeviceEvent::Cbor { cid, request } => {
                    assert!(!request.is_empty() && request.len() <= 7609);
                    assert_eq!(self.device.waiting_request(), Some(cid));
                    match self.local.handle(&request) {
                        Handling::Reply {
                            response,
                            next_assertions,
                        } => {
                            assert!(next_assertions.is_empty());
                            self.device
                                .respond(self.now, cid, &response)
                                .expect("a local reply always fits");
                        }
                        Handling::AwaitTouch { on_touch, .. } => assert!(!on_touch.is_empty()),
                        Handling::Relay { .. } => {}
                    }
                }
                DeviceEvent::Cancel { cid, .. } => {
                    assert_ne!(self.device.waiting_request(), Some(cid));
                }
                DeviceEvent::Wink { .. } => {}
            }
        }
        while let Some(report) = self.device.poll_report() {
            let cid = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
            if report[4] & 0x80 != 0 {
                assert!(
                    self.open.is_none(),
                    "a new message before the last one ended"
                );
                let len = (usize::from(report[5]) << 8) | usize::from(report[6]);
                assert!(len <= 7609);
                let n = len.min(57);
                assert!(report[7 + n..].iter().all(|&b| b == 0), "zero padding");
                if report[4] == 0x86 && cid == BROADCAST {
                    self.last_cid = u32::from_be_bytes(report[15..19].try_into().unwrap());
                    assert!(self.last_cid != 0 && self.last_cid != BROADCAST);
                }
                if report[4] == 0x81 && len <= 57 {
                    self.pings_seen.push(report[7..7 + n].to_vec());
                }
                if n < len {
                    self.open = Some((cid, len, n, 0));
                }
            } else {
                let (open_cid, len, got, seq) = self.open.take().expect("CONT without INIT");
                assert_eq!((cid, report[4]), (open_cid, seq), "CONT order");
                let n = (len - got).min(59);
                assert!(report[5 + n..].iter().all(|&b| b == 0), "zero padding");
                if got + n < len {
                    self.open = Some((cid, len, got + n, seq + 1));
                }
            }
        }
        assert!(self.open.is_none(), "a message left half-sent in the queue");
    }
}
