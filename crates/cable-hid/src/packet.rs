//! CTAP-HID packets on 64-byte reports (CTAP 2.2 §11.2.4 "Message and packet structure").
//!
//! An initialization packet is `CID(4) ‖ CMD(1, bit 7 set) ‖ BCNT(2, big-endian) ‖ DATA(57)`,
//! a continuation packet `CID(4) ‖ SEQ(1, 0..=0x7F) ‖ DATA(59)`. One message is one
//! initialization packet and at most 128 continuation packets: 57 + 128 × 59 = 7609 bytes.

/// The report size of a full-speed FIDO HID device (the descriptor's report count).
pub const REPORT_LEN: usize = 64;
const INIT_HEADER: usize = 7;
const CONT_HEADER: usize = 5;
/// Payload bytes in an initialization packet.
pub const INIT_DATA: usize = REPORT_LEN - INIT_HEADER;
/// Payload bytes in a continuation packet.
pub const CONT_DATA: usize = REPORT_LEN - CONT_HEADER;
/// Continuation sequence numbers run 0..=0x7F (bit 7 marks an initialization packet).
pub const MAX_SEQ: u8 = 0x7F;
/// The longest message 64-byte reports can carry (§11.2.4).
pub const MAX_MESSAGE_LEN: usize = INIT_DATA + (MAX_SEQ as usize + 1) * CONT_DATA;
/// The broadcast channel, used only to allocate a channel with INIT (§11.2.4).
pub const BROADCAST_CID: u32 = 0xFFFF_FFFF;

/// CTAPHID command bytes (§11.2.9), without the initialization bit.
pub mod cmd {
    pub const PING: u8 = 0x01;
    pub const MSG: u8 = 0x03;
    pub const LOCK: u8 = 0x04;
    pub const INIT: u8 = 0x06;
    pub const WINK: u8 = 0x08;
    pub const CBOR: u8 = 0x10;
    pub const CANCEL: u8 = 0x11;
    pub const KEEPALIVE: u8 = 0x3B;
    pub const ERROR: u8 = 0x3F;
}

/// CTAPHID_ERROR codes (§11.2.9.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// The command in the request is invalid (or one we do not implement: MSG, LOCK).
    InvalidCmd = 0x01,
    /// A parameter in the request is invalid.
    InvalidPar = 0x02,
    /// The length field (BCNT) is invalid for the request.
    InvalidLen = 0x03,
    /// A continuation packet came out of sequence.
    InvalidSeq = 0x04,
    /// The message was not complete within the transaction timeout.
    MsgTimeout = 0x05,
    /// Another channel's transaction is running.
    ChannelBusy = 0x06,
    /// The command is not allowed on this channel (0, broadcast, or never allocated).
    InvalidChannel = 0x0B,
    /// Something else went wrong.
    Other = 0x7F,
}

/// One output report from the host, split into its two shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Init {
        cid: u32,
        /// The command without the initialization bit.
        cmd: u8,
        /// The whole message's length (BCNT), which may exceed what this packet holds.
        len: usize,
        /// All 57 payload bytes, padding included.
        data: &'a [u8; INIT_DATA],
    },
    Cont {
        cid: u32,
        seq: u8,
        /// All 59 payload bytes, padding included.
        data: &'a [u8; CONT_DATA],
    },
}

impl<'a> Packet<'a> {
    /// Reads one report; every 64-byte report is either an initialization or a continuation.
    pub fn parse(report: &'a [u8; REPORT_LEN]) -> Self {
        let cid = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
        let kind = report[4];
        if kind & 0x80 != 0 {
            let len = usize::from(u16::from_be_bytes([report[5], report[6]]));
            let data = report[INIT_HEADER..].try_into().expect("57 bytes");
            Packet::Init {
                cid,
                cmd: kind & 0x7F,
                len,
                data,
            }
        } else {
            let data = report[CONT_HEADER..].try_into().expect("59 bytes");
            Packet::Cont {
                cid,
                seq: kind,
                data,
            }
        }
    }

    /// The channel the packet was sent on.
    pub fn cid(&self) -> u32 {
        match self {
            Packet::Init { cid, .. } | Packet::Cont { cid, .. } => *cid,
        }
    }
}

/// Splits one message into reports, zero-padded (§11.2.4). `payload` must be at most
/// [`MAX_MESSAGE_LEN`] bytes; callers check (the device never builds a longer one).
pub fn fragment(cid: u32, cmd: u8, payload: &[u8], mut out: impl FnMut([u8; REPORT_LEN])) {
    debug_assert!(payload.len() <= MAX_MESSAGE_LEN);
    let mut report = [0u8; REPORT_LEN];
    report[..4].copy_from_slice(&cid.to_be_bytes());
    report[4] = cmd | 0x80;
    report[5..7].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    let first = payload.len().min(INIT_DATA);
    report[INIT_HEADER..INIT_HEADER + first].copy_from_slice(&payload[..first]);
    out(report);
    for (seq, chunk) in payload[first..].chunks(CONT_DATA).enumerate() {
        let mut report = [0u8; REPORT_LEN];
        report[..4].copy_from_slice(&cid.to_be_bytes());
        report[4] = seq as u8;
        report[CONT_HEADER..CONT_HEADER + chunk.len()].copy_from_slice(chunk);
        out(report);
    }
}

/// How many reports a message of `len` bytes takes.
pub fn report_count(len: usize) -> usize {
    1 + len.saturating_sub(INIT_DATA).div_ceil(CONT_DATA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_the_specifications() {
        assert_eq!((INIT_DATA, CONT_DATA, MAX_MESSAGE_LEN), (57, 59, 7609));
        assert_eq!(report_count(0), 1);
        assert_eq!(report_count(57), 1);
        assert_eq!(report_count(58), 2);
        assert_eq!(report_count(MAX_MESSAGE_LEN), 129);
    }

    #[test]
    fn fragment_of_a_maximal_message_uses_every_sequence_number() {
        let payload: Vec<u8> = (0..MAX_MESSAGE_LEN).map(|i| i as u8).collect();
        let mut reports = Vec::new();
        fragment(0x0102_0304, cmd::CBOR, &payload, |r| reports.push(r));
        assert_eq!(reports.len(), 129);
        assert_eq!(&reports[0][..7], &[1, 2, 3, 4, 0x90, 0x1D, 0xB9]);
        assert_eq!(reports[128][4], 0x7F);
        let mut back = reports[0][7..].to_vec();
        for r in &reports[1..] {
            back.extend_from_slice(&r[5..]);
        }
        assert_eq!(back, payload);
    }
}
