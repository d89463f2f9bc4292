//! Progress events: one per phase, stamped with milliseconds since the session began. The
//! same JSON objects are printed by `cablectl --json` and sent by `cabled` as
//! `session.event` notifications, so a person debugging a failed pairing sees one timeline.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionEvent {
    #[serde(flatten)]
    pub kind: EventKind,
    pub t_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Show this QR code to the user.
    Qr { url: String },
    /// Waiting for the phone's Bluetooth advert.
    Scanning { radio: String },
    /// A linked phone is being contacted through its tunnel server.
    Contacting { device: String, name: String },
    /// The phone's advert was seen and decrypted.
    Advert {
        uuid: String,
        source: String,
        routing_id: String,
        tunnel_domain_id: u16,
        tunnel_domain: String,
        rssi: Option<i16>,
        /// The Bluetooth adapter that heard it (`hci0`); null for the virtual radio.
        #[serde(default)]
        adapter: Option<String>,
    },
    /// No Bluetooth adapter can listen (off, rfkill-blocked, none plugged in): the session
    /// keeps waiting for the advert. `code` is the error the session ends with if the advert
    /// timeout passes first (`bluetooth_off`, `bluetooth_blocked`, `no_bluetooth_adapter`).
    BluetoothWaiting { code: String, message: String },
    /// After `bluetooth_waiting`: these adapters listen again.
    BluetoothReady { adapters: Vec<String> },
    /// Opening the websocket to the tunnel server.
    TunnelConnecting { url: String },
    /// The tunnel server accepted (HTTP 101).
    TunnelConnected { http_status: u16 },
    /// The Noise handshake completed.
    Handshake { protocol: String },
    /// The phone's post-handshake message: what it supports.
    PhoneReady {
        versions: Vec<String>,
        aaguid: String,
        features: Vec<String>,
        revision: u8,
    },
    /// A CTAP request went to the phone (the user now confirms on the phone).
    CtapRequest { command: String },
    /// The phone answered.
    CtapResponse { status: String, status_code: u8 },
    /// The phone offered to remember this computer and its data verified.
    Linked { name: String, device: String },
    /// Linking data arrived but was dropped.
    LinkRejected { reason: String },
    /// Which path reached the phone first: `qr` or `linked` (then `device` says which).
    Path {
        path: String,
        device: Option<String>,
    },
    /// A linked phone could not be reached; the session goes on with the other paths.
    LinkFailed {
        device: String,
        code: String,
        message: String,
        forgotten: bool,
    },
    /// The CTAP answer is in; waiting a little for the phone's offer to remember this computer.
    AwaitingLink { seconds: u64 },
    /// The session ended: we sent shutdown and closed the tunnel.
    Closed,
    /// The final result (emitted by front ends, not the engine).
    Credential { credential: Value },
    /// The session failed.
    Error { code: String, message: String },
}

impl SessionEvent {
    pub fn name(&self) -> &'static str {
        match &self.kind {
            EventKind::Qr { .. } => "qr",
            EventKind::Scanning { .. } => "scanning",
            EventKind::Contacting { .. } => "contacting",
            EventKind::Advert { .. } => "advert",
            EventKind::BluetoothWaiting { .. } => "bluetooth_waiting",
            EventKind::BluetoothReady { .. } => "bluetooth_ready",
            EventKind::TunnelConnecting { .. } => "tunnel_connecting",
            EventKind::TunnelConnected { .. } => "tunnel_connected",
            EventKind::Handshake { .. } => "handshake",
            EventKind::PhoneReady { .. } => "phone_ready",
            EventKind::CtapRequest { .. } => "ctap_request",
            EventKind::CtapResponse { .. } => "ctap_response",
            EventKind::Linked { .. } => "linked",
            EventKind::LinkRejected { .. } => "link_rejected",
            EventKind::Path { .. } => "path",
            EventKind::LinkFailed { .. } => "link_failed",
            EventKind::AwaitingLink { .. } => "awaiting_link",
            EventKind::Closed => "closed",
            EventKind::Credential { .. } => "credential",
            EventKind::Error { .. } => "error",
        }
    }

    /// The event as one JSON object (`{"event": ..., ..., "t_ms": ...}`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One readable line for people (the same timeline as the JSON).
    pub fn human(&self) -> String {
        let t = format!("{:>6} ms", self.t_ms);
        let what = match &self.kind {
            EventKind::Qr { .. } => "QR code ready: scan it with your phone's camera".to_string(),
            EventKind::Scanning { radio } => format!("waiting for the phone's Bluetooth advert ({radio})"),
            EventKind::Contacting { name, .. } => format!("contacting linked phone \"{name}\""),
            EventKind::Advert { uuid, source, routing_id, tunnel_domain, rssi, adapter, .. } => format!(
                "advert seen: UUID {uuid} via {source}{}, routing ID {routing_id}, tunnel {tunnel_domain}{}",
                adapter.as_ref().map(|a| format!(" ({a})")).unwrap_or_default(),
                rssi.map(|r| format!(", RSSI {r} dBm")).unwrap_or_default()
            ),
            EventKind::BluetoothWaiting { message, .. } => message.clone(),
            EventKind::BluetoothReady { adapters } => {
                format!("Bluetooth is back: scanning with {}", adapters.join(", "))
            }
            EventKind::TunnelConnecting { url } => format!("connecting to tunnel {url}"),
            EventKind::TunnelConnected { http_status } => format!("tunnel open (HTTP {http_status})"),
            EventKind::Handshake { protocol } => format!("handshake done ({protocol})"),
            EventKind::PhoneReady { versions, features, revision, .. } => format!(
                "phone ready: {} (features {}, protocol revision {revision})",
                versions.join(", "),
                features.join(", ")
            ),
            EventKind::CtapRequest { command } => format!("sent {command}: confirm on your phone"),
            EventKind::CtapResponse { status, .. } => format!("phone answered: {status}"),
            EventKind::Linked { name, .. } => format!("the phone \"{name}\" will remember this computer"),
            EventKind::LinkRejected { reason } => format!("ignored linking data: {reason}"),
            EventKind::Path { path, device } => match device {
                Some(device) => format!("reached the phone via {path} (device {device})"),
                None => format!("reached the phone via {path}"),
            },
            EventKind::LinkFailed { device, message, forgotten, .. } => format!(
                "linked phone {device} unreachable: {message}{}",
                if *forgotten { " (link forgotten)" } else { "" }
            ),
            EventKind::AwaitingLink { seconds } => format!(
                "waiting up to {seconds}s for the phone to offer to remember this computer (Ctrl-C skips)"
            ),
            EventKind::Closed => "session closed".to_string(),
            EventKind::Credential { .. } => "credential received".to_string(),
            EventKind::Error { message, .. } => format!("error: {message}"),
        };
        format!("{t}  {what}")
    }
}

/// Where a session's events go, stamped with the time since the session began.
#[derive(Clone)]
pub struct EventSink {
    start: std::time::Instant,
    deliver: std::sync::Arc<dyn Fn(SessionEvent) + Send + Sync>,
}

impl EventSink {
    pub fn new(deliver: impl Fn(SessionEvent) + Send + Sync + 'static) -> Self {
        Self {
            start: std::time::Instant::now(),
            deliver: std::sync::Arc::new(deliver),
        }
    }

    /// A sink that drops everything.
    pub fn discard() -> Self {
        Self::new(|_| {})
    }

    /// Milliseconds since this sink (the session) began.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The same sink (same clock), also showing each event to `observe` before delivering
    /// it: how the session history records a session (`history::Recording::observe`).
    pub fn observed(self, observe: impl Fn(&SessionEvent) + Send + Sync + 'static) -> Self {
        let deliver = self.deliver;
        Self {
            start: self.start,
            deliver: std::sync::Arc::new(move |event: SessionEvent| {
                observe(&event);
                deliver(event)
            }),
        }
    }

    pub fn emit(&self, kind: EventKind) {
        (self.deliver)(SessionEvent {
            kind,
            t_ms: self.elapsed_ms(),
        });
    }
}
