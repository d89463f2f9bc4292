//! The security-key front door: the phone as a USB security key for every program that
//! knows only those (Firefox without the extension, ssh, pam-u2f, libfido2 tools).
//!
//! The privileged `cable-uhid` process owns `/dev/uhid` and relays the raw 64-byte reports of
//! its one FIDO device; cabled attaches to it (`attach`), runs the CTAP-HID device machine
//! over those reports (`key`), answers what a key answers alone (getInfo, probes) and relays
//! each real makeCredential / getAssertion to the phone as a session no connection owns,
//! shown to the person by a prompt agent (`request`).

mod attach;
mod key;
mod request;
mod status;

pub use attach::{run, SecurityKeyConfig, DEFAULT_SOCKET};

/// Whether the key is attached to cable-uhid, for `daemon.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    Attached,
    /// Why not (cable-uhid absent, refused, …).
    Detached(String),
}

impl Default for KeyState {
    fn default() -> Self {
        KeyState::Detached("cabled has not tried to attach yet".into())
    }
}
