//! Why a session failed, in words for the person and a stable code for programs.
//!
//! `SessionError` is where a chain of causes reaches a person: its text names every cause
//! once (lower layers keep theirs as `source()` and do not repeat them), and it is `Clone`,
//! so one failure can be handed to every waiter of a session.

use crate::engine::links::LinkBookError;
use cable_ble::scan::ScanError;
use cable_ctap::CtapStatus;
use cable_tunnel::client::ConnectError;
use std::sync::Arc;
use std::time::Duration;

pub use cable_hybrid::Phase;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Radio(Arc<ScanError>),
    #[error("no phone answered within {}: scan the QR code with the phone's camera, keep the phone near this computer with Bluetooth on, and try again", seconds(.after))]
    NoPhone { after: Duration },
    #[error("timed out after {} waiting for {}; check the phone and the network, then try again", seconds(.after), .phase.waiting_for())]
    Timeout { phase: Phase, after: Duration },
    /// Opening the tunnel failed.
    #[error("{0}")]
    Tunnel(Arc<ConnectError>),
    #[error("the tunnel closed while waiting for {}: the phone or the tunnel server ended the session", .0.waiting_for())]
    Disconnected(Phase),
    /// The open tunnel failed under us.
    #[error("{0}")]
    TunnelIo(Arc<ConnectError>),
    #[error("the phone broke the protocol: {}", with_causes(.0))]
    Channel(cable_hybrid::Error),
    /// The caller asked for something the channel does not accept now.
    #[error("{}", with_causes(.0))]
    Request(cable_hybrid::RequestError),
    #[error("the phone answered {}: {}", .0.name(), .0.meaning())]
    Phone(CtapStatus),
    #[error("the session was cancelled")]
    Cancelled,
    #[error("invalid request: {0}")]
    InvalidRequest(RequestProblem),
    #[error("the phone's answer could not be used: {0}")]
    BadResponse(ResponseProblem),
    #[error("the session has already finished")]
    Finished,
    /// A bug or a crashed task, not something the person or the phone did.
    #[error("internal error: {0}")]
    Internal(String),
    /// The linked phones could not be read (only an explicit `device` route needs them).
    #[error("the linked phones cannot be read: {0}")]
    DeviceStore(LinkBookError),
}

/// What is wrong with a caller's request. Each cause is kept typed; its text is shown once.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestProblem {
    /// The WebAuthn options are not valid JSON of the right shape.
    #[error("{0}")]
    Options(Arc<serde_json::Error>),
    /// The options, origin or RP ID break a WebAuthn rule.
    #[error("{0}")]
    WebAuthn(cable_ctap::CtapError),
    #[error("no linked phone has ID {0}: see `cablectl devices list`")]
    UnknownDevice(String),
    #[error("{0} matches several linked phones: give more of the ID")]
    AmbiguousDevice(String),
    #[error("no way to reach a phone")]
    NoRoute,
}

/// Why the phone's answer could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResponseProblem {
    #[error("the phone's getInfo: {0}")]
    GetInfo(cable_ctap::CtapError),
    #[error("{0}")]
    Ctap(cable_ctap::CtapError),
    #[error("{0}")]
    Json(Arc<serde_json::Error>),
}

impl From<ScanError> for SessionError {
    fn from(e: ScanError) -> Self {
        Self::Radio(Arc::new(e))
    }
}

impl From<cable_hybrid::Error> for SessionError {
    /// The machine's failures, in the engine's words: an advert timeout is "no phone".
    fn from(e: cable_hybrid::Error) -> Self {
        use cable_hybrid::Error as E;
        match e {
            E::Timeout {
                phase: Phase::Advert,
                after,
            } => Self::NoPhone { after },
            E::Timeout { phase, after } => Self::Timeout { phase, after },
            E::Disconnected { phase } | E::PeerShutdown { phase } => Self::Disconnected(phase),
            E::Cancelled => Self::Cancelled,
            other => Self::Channel(other),
        }
    }
}

impl SessionError {
    /// A stable machine code for IPC clients and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Radio(e) => match **e {
                ScanError::BluezUnreachable { .. } => "bluetooth_unavailable",
                ScanError::NoAdapter { .. } => "no_bluetooth_adapter",
                ScanError::PoweredOff { .. } => "bluetooth_off",
                ScanError::Blocked { .. } => "bluetooth_blocked",
                ScanError::PermissionDenied { .. } => "bluetooth_permission_denied",
                _ => "radio_error",
            },
            Self::NoPhone { .. } => "no_phone",
            Self::Timeout { .. } => "timeout",
            Self::Tunnel(e) => tunnel_code(e),
            Self::Disconnected(_) => "phone_disconnected",
            Self::TunnelIo(_) => "tunnel_error",
            Self::Channel(cable_hybrid::Error::Handshake(_)) => "handshake_failed",
            Self::Channel(_) | Self::Request(_) => "protocol_error",
            Self::Phone(status) => status.machine_code(),
            Self::Cancelled => "cancelled",
            Self::InvalidRequest(_) => "invalid_request",
            Self::BadResponse(_) => "bad_response",
            Self::Finished => "session_finished",
            Self::Internal(_) => "internal_error",
            Self::DeviceStore(_) => "device_store_error",
        }
    }

    /// True when the tunnel server said the phone withdrew the link for good (410).
    pub fn is_link_gone(&self) -> bool {
        matches!(self, Self::Tunnel(e) if matches!(**e, ConnectError::Gone))
    }
}

/// What a person can do about a failure with this stable code: the advice of the error's
/// message, without the particulars (names, URLs) it may carry. For the history's failure
/// causes, which keep codes only.
pub fn advice(code: &str) -> &'static str {
    match code {
        "bluetooth_unavailable" => "start BlueZ: `sudo systemctl enable --now bluetooth`",
        "no_bluetooth_adapter" => "plug in a Bluetooth LE adapter, or unblock it: `rfkill unblock bluetooth`",
        "bluetooth_off" => "turn Bluetooth on: `bluetoothctl power on`",
        "bluetooth_blocked" => "unblock Bluetooth: `rfkill unblock bluetooth` (or the laptop's wireless switch)",
        "bluetooth_permission_denied" => "run as a user allowed to use BlueZ",
        "radio_error" => "run `cablectl doctor` to check Bluetooth",
        "no_phone" => "scan the QR code with the phone's camera, keep the phone near this computer with Bluetooth on, and try again",
        "timeout" => "check the phone and the network, then try again",
        "tunnel_unreachable" => "check the network connection, DNS and any proxy or firewall (port 443); `cablectl doctor` tests the tunnel servers",
        "link_gone" => "the phone withdrew the link: sign in with the QR code to link it again",
        "tunnel_rejected" => "the tunnel server refused the tunnel: try again with a fresh QR code",
        "tunnel_error" => "the tunnel connection failed: check the network and try again",
        "phone_disconnected" => "the phone or the tunnel server ended the session: keep the phone unlocked with the screen on, and try again",
        "handshake_failed" => "the phone's keys did not match: scan a fresh QR code; for a linked phone, forget it (`cablectl devices forget`) and link it again",
        "protocol_error" => "the phone broke the protocol: try again; if it repeats, attach `cablectl debug-report` to a bug report",
        "cancelled" => "the session was cancelled; nothing to fix",
        "invalid_request" => "the request itself was refused: check the site's options and origin",
        "bad_response" => "the phone's answer could not be used: update the phone's browser or Play services, and attach `cablectl debug-report` to a bug report",
        "device_store_error" => "move the linked-phone store aside (see `cablectl doctor`); phones can be linked again with a QR code",
        "operation_denied" => "the request was declined on the phone: confirm it there next time",
        "no_credentials" => "the phone has no passkey for this site: register one first",
        "credential_excluded" => "the phone already has a passkey for this account: sign in instead",
        "unsupported_algorithm" => "the phone supports none of the site's key types",
        "internal_error" | "session_finished" => "a bug in cable: attach `cablectl debug-report` to a bug report",
        _ => "see the session's timeline (`cablectl history show ID`) for where it stopped",
    }
}

fn tunnel_code(e: &ConnectError) -> &'static str {
    use cable_tunnel::client::ConnectError as E;
    match e {
        E::Unreachable { .. } | E::Tls { .. } | E::Timeout(_) => "tunnel_unreachable",
        E::Gone => "link_gone",
        E::BadRequest | E::NotFound | E::TooLate | E::Status(_) => "tunnel_rejected",
        _ => "tunnel_error",
    }
}

/// An error's text followed by each of its causes, once each.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// "120 s", or "0.5 s" for the short timeouts tests configure.
fn seconds(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_failures_name_each_cause_once() {
        let e = SessionError::from(cable_hybrid::Error::Handshake(
            cable_tunnel::Error::HandshakeAuthFailed,
        ));
        let text = e.to_string();
        assert_eq!(e.code(), "handshake_failed");
        assert!(text.starts_with("the phone broke the protocol: the Noise handshake failed: "));
        assert_eq!(text.matches("did not authenticate").count(), 1, "{text}");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn every_engine_code_has_its_own_advice() {
        let generic = advice("no_such_code");
        let errors = [
            SessionError::NoPhone {
                after: Duration::from_secs(1),
            },
            SessionError::Timeout {
                phase: Phase::Handshake,
                after: Duration::from_secs(1),
            },
            SessionError::Disconnected(Phase::Ctap),
            SessionError::Cancelled,
            SessionError::Finished,
            SessionError::Internal("x".into()),
            SessionError::Tunnel(Arc::new(ConnectError::Gone)),
            SessionError::Tunnel(Arc::new(ConnectError::NotFound)),
            SessionError::Tunnel(Arc::new(ConnectError::Timeout(Duration::from_secs(1)))),
            SessionError::Phone(CtapStatus::OperationDenied),
            SessionError::Phone(CtapStatus::NoCredentials),
            SessionError::from(ScanError::PoweredOff {
                adapter: "hci0".into(),
            }),
            SessionError::from(ScanError::Blocked {
                adapters: "hci0".into(),
                hard: false,
            }),
            SessionError::from(ScanError::NoAdapter {
                detail: String::new(),
            }),
        ];
        for e in errors {
            assert_ne!(advice(e.code()), generic, "{}", e.code());
        }
    }

    #[test]
    fn an_advert_timeout_is_no_phone_and_shutdown_is_a_disconnect() {
        let e = SessionError::from(cable_hybrid::Error::Timeout {
            phase: Phase::Advert,
            after: Duration::from_secs(120),
        });
        assert_eq!(e.code(), "no_phone");
        let e = SessionError::from(cable_hybrid::Error::PeerShutdown { phase: Phase::Ctap });
        assert_eq!(e.code(), "phone_disconnected");
        assert!(e.to_string().contains("the phone's answer"));
    }
}
