//! Why a session failed, in words for the person and a stable code for programs.

use crate::engine::channel::ChannelError;
use crate::engine::links::LinkBookError;
use cable_ble::scan::ScanError;
use cable_ctap::CtapStatus;
use std::time::Duration;

/// The phase a session was in, for timeouts and disconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Advert,
    TunnelConnect,
    Handshake,
    PostHandshake,
    Ctap,
}

impl Phase {
    fn waiting_for(self) -> &'static str {
        match self {
            Phase::Advert => "the phone's Bluetooth advert",
            Phase::TunnelConnect => "the tunnel server",
            Phase::Handshake => "the phone's handshake answer",
            Phase::PostHandshake => "the phone's first message",
            Phase::Ctap => "the phone's answer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Radio(#[from] ScanError),
    #[error("no phone answered within {}: scan the QR code with the phone's camera, keep the phone near this computer with Bluetooth on, and try again", seconds(.after))]
    NoPhone { after: Duration },
    #[error("timed out after {} waiting for {}; check the phone and the network, then try again", seconds(.after), .phase.waiting_for())]
    Timeout { phase: Phase, after: Duration },
    #[error("{0}")]
    Tunnel(cable_tunnel::client::ConnectError),
    #[error("the tunnel closed while waiting for {}: the phone or the tunnel server ended the session", .0.waiting_for())]
    Disconnected(Phase),
    #[error("the tunnel connection failed: {0}")]
    TunnelIo(String),
    #[error("the phone broke the protocol: {0}")]
    Channel(#[from] ChannelError),
    #[error("the phone answered {}: {}", .0.name(), .0.meaning())]
    Phone(CtapStatus),
    #[error("the session was cancelled")]
    Cancelled,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("the phone's answer could not be used: {0}")]
    BadResponse(String),
    #[error("the session has already finished")]
    Finished,
    /// The linked phones could not be read (only an explicit `device` route needs them).
    #[error("the linked phones cannot be read: {0}")]
    DeviceStore(LinkBookError),
    /// A failure reported again to a later caller of the same session (raw relay).
    #[error("{message}")]
    Failed { code: &'static str, message: String },
}

impl SessionError {
    /// A stable machine code for IPC clients and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Radio(e) => match e {
                ScanError::BluezUnreachable { .. } => "bluetooth_unavailable",
                ScanError::NoAdapter { .. } => "no_bluetooth_adapter",
                ScanError::PoweredOff { .. } => "bluetooth_off",
                ScanError::PermissionDenied { .. } => "bluetooth_permission_denied",
                _ => "radio_error",
            },
            Self::NoPhone { .. } => "no_phone",
            Self::Timeout { .. } => "timeout",
            Self::Tunnel(e) => tunnel_code(e),
            Self::Disconnected(_) => "phone_disconnected",
            Self::TunnelIo(_) => "tunnel_error",
            Self::Channel(ChannelError::Handshake(_)) => "handshake_failed",
            Self::Channel(_) => "protocol_error",
            Self::Phone(status) => status.machine_code(),
            Self::Cancelled => "cancelled",
            Self::InvalidRequest(_) => "invalid_request",
            Self::BadResponse(_) => "bad_response",
            Self::Finished => "session_finished",
            Self::DeviceStore(_) => "device_store_error",
            Self::Failed { code, .. } => code,
        }
    }
}

fn tunnel_code(e: &cable_tunnel::client::ConnectError) -> &'static str {
    use cable_tunnel::client::ConnectError as E;
    match e {
        E::Unreachable { .. } | E::Tls { .. } | E::Timeout(_) => "tunnel_unreachable",
        E::Gone => "link_gone",
        E::BadRequest | E::NotFound | E::TooLate | E::Status(_) => "tunnel_rejected",
        _ => "tunnel_error",
    }
}

/// "120 s", or "0.5 s" for the short timeouts tests configure.
fn seconds(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
