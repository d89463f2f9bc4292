//! Why a session ended badly. Each variant says what failed; a lower-level cause is kept as
//! the error's `source()`, not repeated in its text, so a report that walks the chain prints
//! every cause once.

use crate::Phase;
use std::time::Duration;

/// Why a session failed. `Clone`, so a shell can hand the same failure to several waiters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("timed out after {} waiting for {}", seconds(.after), .phase.waiting_for())]
    Timeout { phase: Phase, after: Duration },
    #[error("the tunnel closed while waiting for {}", .phase.waiting_for())]
    Disconnected { phase: Phase },
    #[error("the phone sent shutdown while this side waited for {}", .phase.waiting_for())]
    PeerShutdown { phase: Phase },
    #[error("the Noise handshake failed")]
    Handshake(#[source] cable_tunnel::Error),
    #[error("a message from the peer could not be decrypted or parsed")]
    Protocol(#[source] cable_tunnel::Error),
    #[error("the peer broke the protocol")]
    Violation(#[source] Violation),
    #[error("the desktop's CTAP request does not parse")]
    InvalidRequest(#[source] cable_ctap::CtapError),
    #[error("the session was cancelled")]
    Cancelled,
}

/// A message that decoded but may not be sent where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("the phone does not support CTAP (features: {0:?})")]
    NoCtap(Vec<String>),
    #[error("the post-handshake message carries no getInfo")]
    MissingGetInfo,
    #[error("{0} arrived where none may")]
    Unexpected(&'static str),
    #[error("the connect signal must be exactly 00, got {0} bytes")]
    BadConnectSignal(usize),
    #[error("the CTAP message is empty; it must start with a command byte")]
    EmptyRequest,
    #[error("command 0x{0:02x} is not one a phone answers over hybrid")]
    UnsupportedCommand(u8),
    #[error("{command} takes no parameters, but {len} bytes followed the command byte")]
    UnexpectedParameters { command: &'static str, len: usize },
    #[error("the desktop's update message is not CBOR")]
    InvalidUpdate,
}

/// Why a request could not be sent now. The session goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the channel is not open yet (waiting for {})", .0.waiting_for())]
    NotReady(Phase),
    #[error("a phone accepts one makeCredential/getAssertion per session; this session already sent one")]
    SecondRequest,
    #[error("the session is over")]
    Closed,
    #[error("the request could not be encrypted")]
    Encrypt(#[source] cable_tunnel::Error),
}

/// "120 s", or "0.5 s" for the short timeouts tests configure.
pub(crate) fn seconds(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
