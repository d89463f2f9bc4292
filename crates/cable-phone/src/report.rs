//! What a run of the software phone did, for people (`Display`) and programs (`Serialize`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::events::{CredentialRecord, PhoneEvent, SessionEnd, StatusRecord};
use crate::PhoneProfile;

/// One request the desktop sent and the phone's answer (if it answered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeRecord {
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusRecord>,
}

/// Whether a passkey was created or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialAction {
    Created,
    Used,
}

/// The passkey the session created or signed in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialOutcome {
    pub action: CredentialAction,
    #[serde(flatten)]
    pub credential: CredentialRecord,
}

/// How the session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionFlow {
    /// The phone scanned a QR code.
    Qr,
    /// A desktop holding a link woke the phone.
    Linked,
}

/// The report of one session.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneReport {
    pub flow: SessionFlow,
    pub profile: PhoneProfile,
    /// The `new` (QR) or `connect` (linked) URL the phone opened (the tunnel ID in it is
    /// public; secrets never appear).
    pub tunnel_url: String,
    /// The routing ID the tunnel server assigned, upper-case hex.
    pub routing_id: String,
    /// The 16-bit service UUID, e.g. `FFF9`.
    pub advert_uuid: String,
    pub tunnel_domain_id: u16,
    pub radio_target: SocketAddr,
    pub adverts_sent: u64,
    /// QR key 5 or client-payload key 3 as sent (`ga`, `mc`, …), if present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type_hint: Option<String>,
    /// QR key 4: the desktop offered to store linking data.
    pub linking_offered: bool,
    pub handshake_completed: bool,
    /// `Some(with_linking)` if an update message was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_sent: Option<bool>,
    /// Hex. QR flow: the link given to the desktop in the update message; linked flow: the
    /// link the desktop woke the phone for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_id: Option<String>,
    pub requests: Vec<ExchangeRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialOutcome>,
    pub end: SessionEnd,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_saved_to: Option<PathBuf>,
    pub elapsed_ms: u64,
    /// Everything the session did, in order.
    pub events: Vec<PhoneEvent>,
}

/// The run-level facts the session's events do not carry.
#[derive(Debug, Clone)]
pub(crate) struct RunFacts {
    pub flow: SessionFlow,
    pub profile: PhoneProfile,
    pub tunnel_url: String,
    pub routing_id: [u8; 3],
    pub advert_uuid: u16,
    pub tunnel_domain_id: u16,
    pub radio_target: SocketAddr,
    pub request_type_hint: Option<String>,
    pub linking_offered: bool,
    pub link_id: Option<[u8; 8]>,
}

impl PhoneReport {
    pub(crate) fn build(
        facts: RunFacts,
        events: Vec<PhoneEvent>,
        adverts_sent: u64,
        store_saved_to: Option<PathBuf>,
        elapsed: Duration,
    ) -> Self {
        let mut requests: Vec<ExchangeRecord> = Vec::new();
        let mut credential = None;
        let mut update_sent = None;
        let mut handshake_completed = false;
        let mut end = None;
        for event in &events {
            match event {
                PhoneEvent::HandshakeCompleted => handshake_completed = true,
                PhoneEvent::UpdateSent { linking } => update_sent = Some(*linking),
                PhoneEvent::RequestReceived { command } => requests.push(ExchangeRecord {
                    command: command.clone(),
                    status: None,
                }),
                PhoneEvent::Responded { status, .. } => {
                    if let Some(last) = requests.last_mut() {
                        last.status = Some(*status);
                    }
                }
                PhoneEvent::CredentialCreated(c) => {
                    credential = Some(CredentialOutcome {
                        action: CredentialAction::Created,
                        credential: c.clone(),
                    })
                }
                PhoneEvent::CredentialUsed(c) => {
                    credential = Some(CredentialOutcome {
                        action: CredentialAction::Used,
                        credential: c.clone(),
                    })
                }
                PhoneEvent::Ended(e) => end = Some(e.clone()),
                _ => {}
            }
        }
        Self {
            flow: facts.flow,
            profile: facts.profile,
            tunnel_url: facts.tunnel_url,
            routing_id: hex::encode_upper(facts.routing_id),
            advert_uuid: format!("{:04X}", facts.advert_uuid),
            tunnel_domain_id: facts.tunnel_domain_id,
            radio_target: facts.radio_target,
            adverts_sent,
            request_type_hint: facts.request_type_hint,
            linking_offered: facts.linking_offered,
            handshake_completed,
            update_sent,
            link_id: facts.link_id.map(hex::encode),
            requests,
            credential,
            // A run only returns a report once its session has ended.
            end: end.unwrap_or(SessionEnd::DesktopClosed),
            store_saved_to,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            events,
        }
    }

    /// The passkey created or used, if any.
    pub fn credential(&self) -> Option<&CredentialRecord> {
        self.credential.as_ref().map(|c| &c.credential)
    }

    /// The machine-readable form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for PhoneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.flow, &self.link_id) {
            (SessionFlow::Linked, Some(link)) => writeln!(
                f,
                "software phone ({}) session, woken for link {link}",
                self.profile
            )?,
            _ => writeln!(f, "software phone ({}) session", self.profile)?,
        }
        writeln!(
            f,
            "  tunnel:    {} (routing ID {})",
            self.tunnel_url, self.routing_id
        )?;
        writeln!(
            f,
            "  advert:    UUID 0x{}, tunnel domain {}, {} datagram(s) to udp://{}",
            self.advert_uuid, self.tunnel_domain_id, self.adverts_sent, self.radio_target
        )?;
        let hint = self.request_type_hint.as_deref().unwrap_or("none");
        match self.flow {
            SessionFlow::Qr => {
                let linking = if self.linking_offered {
                    "offered"
                } else {
                    "not offered"
                };
                writeln!(f, "  QR code:   request type {hint}, linking {linking}")?;
            }
            SessionFlow::Linked => writeln!(f, "  wake-up:   request type {hint}")?,
        }
        let handshake = if self.handshake_completed {
            "completed"
        } else {
            "not completed"
        };
        writeln!(f, "  handshake: {handshake}")?;
        match (self.update_sent, &self.link_id) {
            (Some(true), Some(link)) => {
                writeln!(f, "  update:    sent, with linking data (link {link})")?
            }
            (Some(true), None) => writeln!(f, "  update:    sent, with linking data")?,
            (Some(false), _) => writeln!(f, "  update:    sent, without linking data")?,
            (None, _) => {}
        }
        for r in &self.requests {
            match &r.status {
                Some(status) => writeln!(f, "  request:   {} -> {status}", r.command)?,
                None => writeln!(f, "  request:   {} -> not answered", r.command)?,
            }
        }
        if let Some(c) = &self.credential {
            let action = match c.action {
                CredentialAction::Created => "created",
                CredentialAction::Used => "used",
            };
            writeln!(f, "  passkey:   {action} {}", c.credential)?;
        }
        if let Some(path) = &self.store_saved_to {
            writeln!(f, "  store:     saved to {}", path.display())?;
        }
        writeln!(f, "  ended:     {}", self.end)?;
        write!(f, "  took:      {:.2} s", self.elapsed_ms as f64 / 1000.0)
    }
}
