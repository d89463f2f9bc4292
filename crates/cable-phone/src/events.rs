//! What a [`crate::PhoneChannel`] reports about its session, for logs, reports and the driver
//! (which applies the person's answer delay when it sees [`PhoneEvent::UserPrompted`]).

use std::fmt;

use cable_ctap::{Base64Url, StoredCredential};
use serde::Serialize;

use crate::Stage;

/// One thing that happened in a session, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PhoneEvent {
    /// The Noise handshake completed (the answer is about to be sent).
    HandshakeCompleted,
    /// The post-handshake message (getInfo and features) was sent.
    PostHandshakeSent { features: Vec<String> },
    /// The update message was sent, with or without linking information.
    UpdateSent { linking: bool },
    /// A CTAP request arrived.
    RequestReceived { command: String },
    /// The phone asked the person; `approved` is their answer.
    UserPrompted { prompt: String, approved: bool },
    /// The phone answered a CTAP request.
    Responded {
        command: String,
        status: StatusRecord,
    },
    /// A passkey was created.
    CredentialCreated(CredentialRecord),
    /// A passkey signed in.
    CredentialUsed(CredentialRecord),
    /// A makeCredential/getAssertion after the first was refused.
    RequestRefused { command: String },
    /// An update message from the desktop was read and ignored.
    DesktopUpdateIgnored,
    /// The session ended.
    Ended(SessionEnd),
}

/// A CTAP status byte with its names, as reports print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRecord {
    pub code: u8,
    pub name: &'static str,
}

impl From<cable_ctap::CtapStatus> for StatusRecord {
    fn from(status: cable_ctap::CtapStatus) -> Self {
        Self {
            code: status.code(),
            name: status.name(),
        }
    }
}

impl fmt::Display for StatusRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02x})", self.name, self.code)
    }
}

/// A passkey as reports show it (no private material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialRecord {
    pub rp_id: String,
    /// base64url without padding, as WebAuthn JSON spells credential IDs.
    pub credential_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_display_name: Option<String>,
    pub discoverable: bool,
    pub sign_count: u32,
}

impl From<&StoredCredential> for CredentialRecord {
    fn from(c: &StoredCredential) -> Self {
        Self {
            rp_id: c.rp_id.clone(),
            credential_id: Base64Url::encode(&c.credential_id.0),
            user_name: c.user_name.clone(),
            user_display_name: c.user_display_name.clone(),
            discoverable: c.discoverable,
            sign_count: c.sign_count,
        }
    }
}

impl fmt::Display for CredentialRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.credential_id, self.rp_id)?;
        if let Some(name) = &self.user_name {
            write!(f, " for {name}")?;
        }
        write!(f, " (sign count {})", self.sign_count)
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEnd {
    /// The desktop sent the shutdown message (the normal end).
    DesktopShutdown,
    /// The desktop closed the tunnel.
    DesktopClosed,
    /// The person cancelled and the phone closed the tunnel without answering.
    Cancelled,
    /// The phone vanished on purpose (a test behaviour).
    Vanished { after: Stage },
    /// The desktop sent authenticatorSelection; like Chrome-Android, the phone ends there.
    SelectionReceived,
    /// The session failed; the run's error says why.
    Failed { reason: String },
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DesktopShutdown => f.write_str("the desktop sent shutdown"),
            Self::DesktopClosed => f.write_str("the desktop closed the tunnel"),
            Self::Cancelled => {
                f.write_str("the person cancelled; the phone closed the tunnel without answering")
            }
            Self::Vanished { after } => write!(f, "the phone vanished {after}"),
            Self::SelectionReceived => {
                f.write_str("the desktop sent authenticatorSelection; the phone ended the session")
            }
            Self::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}
