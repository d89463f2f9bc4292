//! A host side written from the spec's byte layout (CTAP 2.2 §11.2.4), independent of the
//! crate's own packet code, so the device is checked against bytes rather than against itself.

#![allow(dead_code)]

use std::time::Instant;

use cable_hid::Device;

pub const BROADCAST: u32 = 0xFFFF_FFFF;
pub const PING: u8 = 0x81;
pub const MSG: u8 = 0x83;
pub const LOCK: u8 = 0x84;
pub const INIT: u8 = 0x86;
pub const WINK: u8 = 0x88;
pub const CBOR: u8 = 0x90;
pub const CANCEL: u8 = 0x91;
pub const KEEPALIVE: u8 = 0xBB;
pub const ERROR: u8 = 0xBF;

/// An initialization packet claiming `bcnt` bytes and carrying the first 57 of `data`.
pub fn init_packet(cid: u32, cmd: u8, bcnt: u16, data: &[u8]) -> [u8; 64] {
    let mut r = [0u8; 64];
    r[0..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = cmd;
    r[5] = (bcnt >> 8) as u8;
    r[6] = bcnt as u8;
    let n = data.len().min(57);
    r[7..7 + n].copy_from_slice(&data[..n]);
    r
}

/// A continuation packet with the first 59 of `data`.
pub fn cont_packet(cid: u32, seq: u8, data: &[u8]) -> [u8; 64] {
    let mut r = [0u8; 64];
    r[0..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = seq;
    let n = data.len().min(59);
    r[5..5 + n].copy_from_slice(&data[..n]);
    r
}

/// All packets of one message.
pub fn packets(cid: u32, cmd: u8, data: &[u8]) -> Vec<[u8; 64]> {
    let mut out = vec![init_packet(cid, cmd, data.len() as u16, data)];
    let mut rest = &data[data.len().min(57)..];
    let mut seq = 0u8;
    while !rest.is_empty() {
        out.push(cont_packet(cid, seq, rest));
        rest = &rest[rest.len().min(59)..];
        seq += 1;
    }
    out
}

/// One message the device sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub cid: u32,
    pub cmd: u8,
    pub data: Vec<u8>,
}

/// Reads every queued report into messages, checking the framing of each one on the way.
pub fn drain(device: &mut Device) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut open: Option<(Message, usize, u8)> = None;
    while let Some(r) = device.poll_report() {
        let cid = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
        if r[4] & 0x80 != 0 {
            assert!(open.is_none(), "a new message before the last one ended");
            let len = (usize::from(r[5]) << 8) | usize::from(r[6]);
            assert!(len <= 7609, "the device announced {len} bytes");
            let n = len.min(57);
            assert!(r[7 + n..].iter().all(|&b| b == 0), "padding is zero");
            let message = Message {
                cid,
                cmd: r[4],
                data: r[7..7 + n].to_vec(),
            };
            if n == len {
                out.push(message);
            } else {
                open = Some((message, len, 0));
            }
        } else {
            let (mut message, len, seq) = open.take().expect("a continuation with no message");
            assert_eq!((cid, r[4]), (message.cid, seq), "continuation order");
            let n = (len - message.data.len()).min(59);
            assert!(r[5 + n..].iter().all(|&b| b == 0), "padding is zero");
            message.data.extend_from_slice(&r[5..5 + n]);
            if message.data.len() == len {
                out.push(message);
            } else {
                open = Some((message, len, seq + 1));
            }
        }
    }
    assert!(open.is_none(), "the device left a message unfinished");
    out
}

/// Sends every packet of one message.
pub fn send(device: &mut Device, now: Instant, cid: u32, cmd: u8, data: &[u8]) {
    for p in packets(cid, cmd, data) {
        device.handle_report(now, &p).expect("64-byte reports");
    }
}

/// Allocates a channel with `nonce` and returns it.
pub fn allocate(device: &mut Device, now: Instant, nonce: [u8; 8]) -> u32 {
    send(device, now, BROADCAST, INIT, &nonce);
    let answers = drain(device);
    assert_eq!(answers.len(), 1);
    let a = &answers[0];
    assert_eq!((a.cid, a.cmd, a.data.len()), (BROADCAST, INIT, 17));
    assert_eq!(a.data[..8], nonce);
    u32::from_be_bytes(a.data[8..12].try_into().unwrap())
}

/// The one CTAPHID_ERROR message expected on `cid`.
pub fn error_message(cid: u32, code: u8) -> Message {
    Message {
        cid,
        cmd: ERROR,
        data: vec![code],
    }
}
