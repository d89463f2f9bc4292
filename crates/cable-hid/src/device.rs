//! The authenticator side of CTAP-HID (CTAP 2.2 §11.2), sans-IO.
//!
//! Reports and time go in ([`Device::handle_report`], [`Device::handle_timeout`], and the
//! caller's answers through [`Device::respond`]); reports, events and the next deadline come
//! out ([`Device::poll_report`], [`Device::poll_event`], [`Device::poll_timeout`]). The device
//! runs one transaction at a time, like every single-threaded security key: while one
//! channel's message is being assembled or its CBOR request is waiting for the phone, other
//! channels get ERR_CHANNEL_BUSY (§11.2.5.3), except INIT, which is always answered.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::channels::Channels;
use crate::config::{Capabilities, DeviceConfig};
use crate::error::HidError;
use crate::packet::{
    cmd, fragment, ErrorCode, Packet, BROADCAST_CID, INIT_DATA, MAX_MESSAGE_LEN, REPORT_LEN,
};

/// CTAP2_ERR_KEEPALIVE_CANCEL, the answer to a cancelled CBOR request (§11.2.9.1.5).
const KEEPALIVE_CANCEL: u8 = 0x2D;
/// The CTAPHID protocol version of INIT responses (§11.2.9.1.3).
const PROTOCOL_VERSION: u8 = 2;
/// Keeps a zero interval from asking to be woken at once, forever.
const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_millis(1);

/// The status byte of a KEEPALIVE (§11.2.9.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Keepalive {
    /// STATUS_PROCESSING: working on it (waiting for the phone).
    Processing = 1,
    /// STATUS_UPNEEDED: waiting for the person (browsers then say "touch your key").
    UpNeeded = 2,
}

/// Why a waiting CBOR request ended without an answer from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// CTAPHID_CANCEL on the request's channel (§11.2.9.1.5); the device already answered
    /// CTAP2_ERR_KEEPALIVE_CANCEL.
    Host,
    /// CTAPHID_INIT on the request's channel: the host re-synchronised and no longer wants
    /// the answer (§11.2.9.1.3).
    Resync,
}

/// What the host asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A CTAP2 request (`command ‖ CBOR`); answer it with [`Device::respond`]. Until then the
    /// device sends KEEPALIVE on its own.
    Cbor { cid: u32, request: Vec<u8> },
    /// The waiting request on `cid` is over: stop working on it (end the phone session) and
    /// drop its answer. Events come in order, so this arrives before any next request on
    /// the same channel, whose answer `respond` would otherwise take.
    Cancel { cid: u32, reason: CancelReason },
    /// CTAPHID_WINK: show the person which device this is, if there is a way to.
    Wink { cid: u32 },
}

#[derive(Debug, Clone)]
enum Transaction {
    Idle,
    /// A message longer than one packet is arriving on `cid`.
    Assembling {
        cid: u32,
        cmd: u8,
        len: usize,
        buf: Vec<u8>,
        next_seq: u8,
        deadline: Instant,
    },
    /// A CBOR request on `cid` waits for [`Device::respond`].
    Waiting {
        cid: u32,
        status: Keepalive,
        next_keepalive: Instant,
    },
}

/// A virtual security key's CTAP-HID state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Device {
    config: DeviceConfig,
    channels: Channels,
    transaction: Transaction,
    /// The channel whose request was last cancelled, so a late answer gets a clear error.
    cancelled: Option<u32>,
    reports: VecDeque<[u8; REPORT_LEN]>,
    events: VecDeque<DeviceEvent>,
}

impl Device {
    pub fn new(mut config: DeviceConfig) -> Self {
        config.capabilities = config.capabilities | Capabilities::NMSG;
        config.keepalive_interval = config.keepalive_interval.clamp(
            MIN_KEEPALIVE_INTERVAL,
            crate::config::MAX_KEEPALIVE_INTERVAL,
        );
        Device {
            channels: Channels::new(config.channel_seed),
            config,
            transaction: Transaction::Idle,
            cancelled: None,
            reports: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// One output report from the host. Anything the host gets wrong is answered on the wire;
    /// only a report of the wrong size (a relay bug) is refused here.
    pub fn handle_report(&mut self, now: Instant, report: &[u8]) -> Result<(), HidError> {
        let report: &[u8; REPORT_LEN] = report
            .try_into()
            .map_err(|_| HidError::ReportSize { len: report.len() })?;
        // A late packet must not complete a message that already timed out.
        self.handle_timeout(now);
        match Packet::parse(report) {
            Packet::Init {
                cid,
                cmd,
                len,
                data,
            } => self.on_init_packet(now, cid, cmd, len, data),
            Packet::Cont { cid, seq, data } => self.on_cont_packet(now, cid, seq, data),
        }
        Ok(())
    }

    /// Runs the timers: the message-assembly timeout and the keepalives. Early calls are
    /// harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.transaction {
            Transaction::Assembling { cid, deadline, .. } if now >= *deadline => {
                let cid = *cid;
                self.transaction = Transaction::Idle;
                self.error(cid, ErrorCode::MsgTimeout);
            }
            Transaction::Waiting {
                cid,
                status,
                next_keepalive,
            } if now >= *next_keepalive => {
                let (cid, status) = (*cid, *status);
                // One keepalive however late we are: a burst would tell the host nothing.
                *next_keepalive = now + self.config.keepalive_interval;
                self.send(cid, cmd::KEEPALIVE, &[status as u8]);
            }
            _ => {}
        }
    }

    /// The next input report for the host, in order.
    pub fn poll_report(&mut self) -> Option<[u8; REPORT_LEN]> {
        self.reports.pop_front()
    }

    /// The next thing the host asked for, oldest first.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    /// When [`Device::handle_timeout`] must next run; `None` while idle (no idle timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.transaction {
            Transaction::Idle => None,
            Transaction::Assembling { deadline, .. } => Some(*deadline),
            Transaction::Waiting { next_keepalive, .. } => Some(*next_keepalive),
        }
    }

    /// Answers the CBOR request waiting on `cid` with `status ‖ CBOR`.
    pub fn respond(&mut self, _now: Instant, cid: u32, response: &[u8]) -> Result<(), HidError> {
        match self.transaction {
            Transaction::Waiting { cid: waiting, .. } if waiting == cid => {}
            _ if self.cancelled == Some(cid) => {
                self.cancelled = None;
                return Err(HidError::Cancelled { cid });
            }
            _ => return Err(HidError::NoRequest { cid }),
        }
        if response.is_empty() {
            return Err(HidError::EmptyResponse);
        }
        if response.len() > MAX_MESSAGE_LEN {
            return Err(HidError::ResponseTooLong {
                len: response.len(),
            });
        }
        self.transaction = Transaction::Idle;
        self.send(cid, cmd::CBOR, response);
        Ok(())
    }

    /// What the KEEPALIVEs of the request waiting on `cid` say from now on (ignored when no
    /// request waits there).
    pub fn set_keepalive(&mut self, cid: u32, status: Keepalive) {
        if let Transaction::Waiting {
            cid: waiting,
            status: current,
            ..
        } = &mut self.transaction
        {
            if *waiting == cid {
                *current = status;
            }
        }
    }

    /// The channel whose CBOR request waits for an answer, if any.
    pub fn waiting_request(&self) -> Option<u32> {
        match self.transaction {
            Transaction::Waiting { cid, .. } => Some(cid),
            _ => None,
        }
    }

    /// The device was closed or the host went away: every channel, the transaction and every
    /// queued report and event are dropped. No event is raised: the caller asked for this.
    pub fn reset(&mut self) {
        self.channels.clear();
        self.transaction = Transaction::Idle;
        self.cancelled = None;
        self.reports.clear();
        self.events.clear();
    }

    fn on_init_packet(
        &mut self,
        now: Instant,
        cid: u32,
        command: u8,
        len: usize,
        data: &[u8; INIT_DATA],
    ) {
        if command == cmd::INIT {
            return self.on_init_command(cid, len, data);
        }
        let allocated = cid != 0 && cid != BROADCAST_CID && self.channels.contains(cid);
        if command == cmd::CANCEL {
            // §11.2.9.1.5: a CANCEL with nothing to cancel, or on another channel, is ignored.
            if allocated {
                self.on_cancel(cid);
            }
            return;
        }
        if !allocated {
            return self.error(cid, ErrorCode::InvalidChannel);
        }
        match self.transaction {
            Transaction::Idle => {}
            // A new message on the channel that is still sending one: its packets are out of
            // order (§11.2.5.4). The unfinished message is dropped.
            Transaction::Assembling { cid: busy, .. } if busy == cid => {
                self.transaction = Transaction::Idle;
                return self.error(cid, ErrorCode::InvalidSeq);
            }
            // Another channel's transaction, or this channel's own request still waiting: one
            // transaction at a time (§11.2.5.3).
            Transaction::Assembling { .. } | Transaction::Waiting { .. } => {
                return self.error(cid, ErrorCode::ChannelBusy);
            }
        }
        self.channels.touch(cid);
        if len > MAX_MESSAGE_LEN {
            return self.error(cid, ErrorCode::InvalidLen);
        }
        if len <= INIT_DATA {
            return self.complete(now, cid, command, data[..len].to_vec());
        }
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(data);
        self.transaction = Transaction::Assembling {
            cid,
            cmd: command,
            len,
            buf,
            next_seq: 0,
            deadline: now + self.config.transaction_timeout,
        };
    }

    fn on_cont_packet(&mut self, now: Instant, cid: u32, seq: u8, data: &[u8]) {
        let (assembling, expected) = match &self.transaction {
            Transaction::Assembling { cid, next_seq, .. } => (*cid, *next_seq),
            // §11.2.5.4: spurious continuation packets are ignored.
            _ => return,
        };
        if assembling != cid {
            // Another host interleaving with the one we are listening to: it is busy. A
            // channel nobody allocated gets no answer, as for any spurious packet.
            if cid != BROADCAST_CID && self.channels.contains(cid) {
                self.error(cid, ErrorCode::ChannelBusy);
            }
            return;
        }
        if seq != expected {
            self.transaction = Transaction::Idle;
            return self.error(cid, ErrorCode::InvalidSeq);
        }
        let mut finished = None;
        if let Transaction::Assembling {
            cmd: command,
            len,
            buf,
            next_seq,
            ..
        } = &mut self.transaction
        {
            *next_seq += 1;
            let take = (*len - buf.len()).min(data.len());
            buf.extend_from_slice(&data[..take]);
            if buf.len() == *len {
                finished = Some((*command, std::mem::take(buf)));
            }
        }
        if let Some((command, message)) = finished {
            self.transaction = Transaction::Idle;
            self.complete(now, cid, command, message);
        }
    }

    /// CTAPHID_INIT (§11.2.9.1.3): on the broadcast channel it allocates a channel; on an
    /// allocated one it re-synchronises it, aborting that channel's transaction.
    fn on_init_command(&mut self, cid: u32, len: usize, data: &[u8; INIT_DATA]) {
        if cid == 0 {
            return self.error(cid, ErrorCode::InvalidChannel);
        }
        if len != 8 {
            return self.error(cid, ErrorCode::InvalidLen);
        }
        let answered_cid = if cid == BROADCAST_CID {
            let busy = self.busy_channel();
            self.channels.allocate(busy)
        } else if self.channels.contains(cid) {
            if self.busy_channel() == Some(cid) {
                if matches!(self.transaction, Transaction::Waiting { .. }) {
                    self.events.push_back(DeviceEvent::Cancel {
                        cid,
                        reason: CancelReason::Resync,
                    });
                }
                self.transaction = Transaction::Idle;
            }
            self.channels.touch(cid);
            cid
        } else {
            return self.error(cid, ErrorCode::InvalidChannel);
        };
        let version = self.config.version;
        let mut payload = [0u8; 17];
        payload[..8].copy_from_slice(&data[..8]);
        payload[8..12].copy_from_slice(&answered_cid.to_be_bytes());
        payload[12] = PROTOCOL_VERSION;
        payload[13] = version.major;
        payload[14] = version.minor;
        payload[15] = version.build;
        payload[16] = self.config.capabilities.bits();
        self.send(cid, cmd::INIT, &payload);
    }

    fn on_cancel(&mut self, cid: u32) {
        if self.waiting_request() != Some(cid) {
            return;
        }
        self.transaction = Transaction::Idle;
        self.cancelled = Some(cid);
        self.send(cid, cmd::CBOR, &[KEEPALIVE_CANCEL]);
        self.events.push_back(DeviceEvent::Cancel {
            cid,
            reason: CancelReason::Host,
        });
    }

    /// A whole message arrived on `cid` (§11.2.9).
    fn complete(&mut self, now: Instant, cid: u32, command: u8, message: Vec<u8>) {
        let caps = self.config.capabilities;
        match command {
            cmd::PING => self.send(cid, cmd::PING, &message),
            cmd::WINK if caps.contains(Capabilities::WINK) => {
                if !message.is_empty() {
                    return self.error(cid, ErrorCode::InvalidLen);
                }
                self.send(cid, cmd::WINK, &[]);
                self.events.push_back(DeviceEvent::Wink { cid });
            }
            cmd::CBOR if caps.contains(Capabilities::CBOR) => {
                if message.is_empty() {
                    // Not even a CTAP2 command byte.
                    return self.error(cid, ErrorCode::InvalidLen);
                }
                if self.cancelled == Some(cid) {
                    self.cancelled = None;
                }
                self.transaction = Transaction::Waiting {
                    cid,
                    status: Keepalive::Processing,
                    next_keepalive: now + self.config.keepalive_interval,
                };
                self.events.push_back(DeviceEvent::Cbor {
                    cid,
                    request: message,
                });
            }
            // MSG (U2F) and LOCK are not implemented; KEEPALIVE and ERROR are device-to-host
            // only; everything else is unknown or vendor-defined.
            _ => self.error(cid, ErrorCode::InvalidCmd),
        }
    }

    fn busy_channel(&self) -> Option<u32> {
        match self.transaction {
            Transaction::Idle => None,
            Transaction::Assembling { cid, .. } | Transaction::Waiting { cid, .. } => Some(cid),
        }
    }

    fn error(&mut self, cid: u32, code: ErrorCode) {
        self.send(cid, cmd::ERROR, &[code as u8]);
    }

    fn send(&mut self, cid: u32, command: u8, payload: &[u8]) {
        fragment(cid, command, payload, |report| {
            self.reports.push_back(report)
        });
    }
}
