//! Where a session is, and how long each wait may last.

use std::time::Duration;

/// The phase a session is in: what it waits for next. Timeouts and disconnects name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the phone's Bluetooth advert.
    Advert,
    /// Waiting for the shell to open the websocket to the tunnel server.
    TunnelConnect,
    /// Waiting for Noise message 2 (linked flow: or the connect signal before it).
    Handshake,
    /// Waiting for the phone's post-handshake message.
    PostHandshake,
    /// The channel is open; no operation sent yet.
    Ready,
    /// An operation was sent; waiting for the phone's answer.
    Ctap,
    /// The answer came; waiting briefly for linking data the session offered to accept.
    AwaitingLink,
    /// Over.
    Closed,
}

impl Phase {
    /// What the session waits for in this phase, for messages to a person.
    pub fn waiting_for(self) -> &'static str {
        match self {
            Phase::Advert => "the phone's Bluetooth advert",
            Phase::TunnelConnect => "the tunnel server",
            Phase::Handshake => "the phone's handshake answer",
            Phase::PostHandshake => "the phone's first message",
            Phase::Ready => "the request to be sent to the phone",
            Phase::Ctap => "the phone's answer",
            Phase::AwaitingLink => "the phone's linking data",
            Phase::Closed => "nothing (the session is over)",
        }
    }

    /// The stable name used in logs and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Advert => "advert",
            Phase::TunnelConnect => "tunnel_connect",
            Phase::Handshake => "handshake",
            Phase::PostHandshake => "post_handshake",
            Phase::Ready => "ready",
            Phase::Ctap => "ctap",
            Phase::AwaitingLink => "awaiting_link",
            Phase::Closed => "closed",
        }
    }
}

/// One timeout per waiting phase. Defaults follow HYBRID.md §11: a WebAuthn request's usual
/// 120 s for the person to scan and confirm, seconds for network steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From showing the QR (or contacting a linked phone) until the advert is seen.
    pub advert: Duration,
    /// Opening the websocket to the tunnel server.
    pub tunnel_connect: Duration,
    /// Noise message 2 after message 1.
    pub handshake: Duration,
    /// The post-handshake message after the handshake.
    pub post_handshake: Duration,
    /// The phone's CTAP answer: the person confirms on the phone meanwhile.
    pub ctap: Duration,
    /// After the CTAP answer, how long a session that offered linking waits for linking data.
    pub linking_wait: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            advert: Duration::from_secs(120),
            tunnel_connect: Duration::from_secs(15),
            handshake: Duration::from_secs(15),
            post_handshake: Duration::from_secs(15),
            ctap: Duration::from_secs(120),
            linking_wait: Duration::from_secs(5),
        }
    }
}

impl Timeouts {
    /// The limit of a waiting phase; `None` for phases that wait for the caller, not the phone.
    pub fn limit(&self, phase: Phase) -> Option<Duration> {
        match phase {
            Phase::Advert => Some(self.advert),
            Phase::TunnelConnect => Some(self.tunnel_connect),
            Phase::Handshake => Some(self.handshake),
            Phase::PostHandshake => Some(self.post_handshake),
            Phase::Ctap => Some(self.ctap),
            Phase::AwaitingLink => Some(self.linking_wait),
            Phase::Ready | Phase::Closed => None,
        }
    }
}
