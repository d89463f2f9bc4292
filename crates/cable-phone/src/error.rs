//! The crate's one error type. Every message says what failed and why, in words a person
//! running the software phone (or debugging a desktop against it) can act on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cable_qr::QrError;

/// Why a phone session failed.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    // --- before the session ---
    #[error("the QR code cannot be used: {0}")]
    InvalidQr(#[from] QrError),
    #[error("the tunnel server address is not usable: {0}")]
    InvalidTunnelUrl(#[source] cable_tunnel::Error),
    #[error("cannot open the tunnel at {url}: {cause}")]
    TunnelUnreachable { url: String, cause: String },
    #[error("cannot advertise on the virtual radio at udp://{target}: {source}")]
    Radio {
        target: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("credential store {path}: {cause}")]
    Store { path: PathBuf, cause: String },

    // --- waiting to be woken for a linked session ---
    #[error(
        "cannot register for wake-ups at {url}: {cause} (only the local tunnel server offers \
         the push stand-in)"
    )]
    PushUnavailable { url: String, cause: String },
    #[error("the tunnel server ended this phone's wake-up registration: {reason}")]
    PushClosed { reason: String },
    #[error("no desktop woke this phone within {} s", .waited.as_secs_f32())]
    NoWakeUp { waited: Duration },
    #[error("a wake-up could not be read: {0}")]
    InvalidWakeUp(String),
    #[error(
        "a desktop asked for link {link_id}, which this phone never gave out (or has forgotten)"
    )]
    UnknownLink { link_id: String },
    #[error(
        "the state file no longer holds the linking identity this phone registered with \
         (was it deleted or replaced?)"
    )]
    IdentityChanged,

    // --- waiting for the desktop ---
    #[error(
        "the desktop never connected: no handshake arrived within {} s of advertising \
         (is the desktop scanning the virtual radio this phone sends to, and using the same \
         tunnel server?)",
        .waited.as_secs_f32()
    )]
    DesktopNeverConnected { waited: Duration },
    #[error("the desktop closed the tunnel {during}")]
    DesktopClosed { during: &'static str },
    #[error("the desktop sent nothing for {} s {during}", .waited.as_secs_f32())]
    DesktopSilent {
        waited: Duration,
        during: &'static str,
    },
    #[error("the session did not finish within {} s", .0.as_secs_f32())]
    TotalTimeout(Duration),
    #[error("{0}")]
    Tunnel(cable_tunnel::client::ConnectError),

    // --- the desktop's messages ---
    #[error("the handshake with the desktop failed: {0}")]
    Handshake(#[source] cable_tunnel::Error),
    #[error("a message from the desktop could not be read: {0}")]
    Channel(#[source] cable_tunnel::Error),
    #[error("the desktop sent an invalid CTAP request: {0}")]
    InvalidRequest(String),
    #[error("the desktop sent CTAP command 0x{0:02x}, which phones do not handle (only 0x01 makeCredential, 0x02 getAssertion, 0x04 getInfo and 0x0b authenticatorSelection)")]
    UnsupportedCommand(u8),
    #[error("the desktop sent a {0} message, which this phone does not accept")]
    UnsupportedMessage(&'static str),
    #[error("the desktop sent an update message that is not valid CBOR: {0}")]
    InvalidUpdate(String),
    #[error("a message arrived after the session had ended")]
    SessionEnded,
}

impl PhoneError {
    /// A stable lower-case code for scripts and test assertions.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidQr(_) => "invalid_qr",
            Self::InvalidTunnelUrl(_) => "invalid_tunnel_url",
            Self::TunnelUnreachable { .. } => "tunnel_unreachable",
            Self::Radio { .. } => "radio",
            Self::Store { .. } => "store",
            Self::PushUnavailable { .. } => "push_unavailable",
            Self::PushClosed { .. } => "push_closed",
            Self::NoWakeUp { .. } => "no_wake_up",
            Self::InvalidWakeUp(_) => "invalid_wake_up",
            Self::UnknownLink { .. } => "unknown_link",
            Self::IdentityChanged => "identity_changed",
            Self::DesktopNeverConnected { .. } => "desktop_never_connected",
            Self::DesktopClosed { .. } => "desktop_closed",
            Self::DesktopSilent { .. } => "desktop_silent",
            Self::TotalTimeout(_) => "timeout",
            Self::Tunnel(_) => "tunnel",
            Self::Handshake(_) => "handshake_failed",
            Self::Channel(_) => "channel",
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnsupportedCommand(_) => "unsupported_command",
            Self::UnsupportedMessage(_) => "unsupported_message",
            Self::InvalidUpdate(_) => "invalid_update",
            Self::SessionEnded => "session_ended",
        }
    }
}

pub type Result<T, E = PhoneError> = std::result::Result<T, E>;
