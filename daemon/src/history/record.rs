//! One finished session as it is kept on disk: what a person debugging a pairing needs (the
//! site, the front door, the path, the phone's kind, each stage with its time, the outcome)
//! and nothing that could reach a phone or replay a session. The types hold no field that
//! could carry a QR URL, a tunnel URL, a routing or tunnel ID, a contact ID or a key: the
//! redaction is the shape of the record, not a filter over text (see `redact.rs`).

use serde::{Deserialize, Serialize};

/// The record layout's version; readers skip records of other versions.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub format: u32,
    /// 12 hex digits, random; `cablectl history show` takes it or a unique prefix.
    pub id: String,
    /// When the session began, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub front_door: FrontDoor,
    pub operation: Operation,
    /// The site (relying party ID), when the request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Which way reached the phone, once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathTaken>,
    /// What the phone said it is, once it was ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneInfo>,
    /// The session's timeline, in order.
    pub stages: Vec<Stage>,
    /// Stages left out because the record reached its size limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_dropped: usize,
    pub outcome: Outcome,
    /// The stable error code (`daemon/src/engine/error.rs`) of a failed or cancelled session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// From start to the end of the session, milliseconds.
    pub duration_ms: u64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Who asked for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontDoor {
    /// A program over cabled's socket (`webauthn.*`, `hybrid.start`).
    Ipc,
    /// The virtual USB security key.
    SecurityKey,
    /// `cablectl register` / `sign-in` run in-process.
    Cli,
}

impl FrontDoor {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ipc => "ipc",
            Self::SecurityKey => "security_key",
            Self::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A registration (makeCredential).
    Create,
    /// A sign-in (getAssertion).
    Get,
    /// A raw CTAP relay whose operation the caller chooses.
    Raw,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get",
            Self::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathTaken {
    Qr,
    Linked,
}

impl PathTaken {
    pub fn name(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Linked => "linked",
        }
    }
}

/// What the phone's getInfo says it is; `profile` is a guess from the AAGUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneInfo {
    pub profile: PhoneProfile,
    /// The getInfo AAGUID, 32 hex digits (it names a model of authenticator, not a phone).
    pub aaguid: String,
    pub versions: Vec<String>,
}

/// The kind of phone, as far as its getInfo tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneProfile {
    /// Google Play services: the zero AAGUID.
    Android,
    /// iOS: Apple's getInfo AAGUID.
    Ios,
    /// Any other AAGUID (see `aaguid`).
    Unknown,
}

impl PhoneProfile {
    pub fn name(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::Ios => "ios",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    Cancelled,
    /// The daemon lost track of the session (its caller went away without an answer).
    Unfinished,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unfinished => "unfinished",
        }
    }
}

/// One step of the timeline, stamped with milliseconds since the session began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(flatten)]
    pub kind: StageKind,
    pub t_ms: u64,
}

/// The engine's events (`engine::EventKind`) with only what may be kept: names match the
/// events', fields are a safe subset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum StageKind {
    /// The QR code was shown (its URL is not kept).
    Qr,
    Scanning {
        radio: String,
    },
    /// A linked phone was contacted (which one is not kept).
    Contacting,
    /// The phone's advert was seen (its routing ID is not kept).
    Advert {
        uuid: String,
        source: String,
        tunnel_domain: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rssi: Option<i16>,
    },
    /// No Bluetooth adapter could listen; the session waited (`bluetooth_off`, …).
    BluetoothWaiting {
        code: String,
    },
    /// Listening again with these adapters.
    BluetoothReady {
        adapters: Vec<String>,
    },
    /// Opening the tunnel: only the server's host, not the path with its IDs.
    TunnelConnecting {
        host: String,
    },
    TunnelConnected {
        http_status: u16,
    },
    Handshake {
        protocol: String,
    },
    PhoneReady {
        versions: Vec<String>,
        features: Vec<String>,
        revision: u8,
    },
    CtapRequest {
        command: String,
    },
    CtapResponse {
        status: String,
    },
    /// The phone will remember this computer (its name and ID are not kept).
    Linked,
    LinkRejected,
    Path {
        path: PathTaken,
    },
    LinkFailed {
        code: String,
        forgotten: bool,
    },
    AwaitingLink {
        seconds: u64,
    },
    Closed,
    Error {
        code: String,
    },
}

impl StageKind {
    /// The event name (`advert`, `tunnel_connected`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Scanning { .. } => "scanning",
            Self::Contacting => "contacting",
            Self::Advert { .. } => "advert",
            Self::BluetoothWaiting { .. } => "bluetooth_waiting",
            Self::BluetoothReady { .. } => "bluetooth_ready",
            Self::TunnelConnecting { .. } => "tunnel_connecting",
            Self::TunnelConnected { .. } => "tunnel_connected",
            Self::Handshake { .. } => "handshake",
            Self::PhoneReady { .. } => "phone_ready",
            Self::CtapRequest { .. } => "ctap_request",
            Self::CtapResponse { .. } => "ctap_response",
            Self::Linked => "linked",
            Self::LinkRejected => "link_rejected",
            Self::Path { .. } => "path",
            Self::LinkFailed { .. } => "link_failed",
            Self::AwaitingLink { .. } => "awaiting_link",
            Self::Closed => "closed",
            Self::Error { .. } => "error",
        }
    }

    /// What the stage says, for people (empty when the name says it all).
    pub fn detail(&self) -> String {
        match self {
            Self::Scanning { radio } => radio.clone(),
            Self::Advert {
                uuid,
                source,
                tunnel_domain,
                rssi,
            } => format!(
                "UUID {uuid} via {source}, tunnel {tunnel_domain}{}",
                rssi.map(|r| format!(", RSSI {r} dBm")).unwrap_or_default()
            ),
            Self::BluetoothWaiting { code } => format!("{code}: {}", crate::engine::advice(code)),
            Self::BluetoothReady { adapters } => adapters.join(", "),
            Self::TunnelConnecting { host } => host.clone(),
            Self::TunnelConnected { http_status } => format!("HTTP {http_status}"),
            Self::Handshake { protocol } => protocol.clone(),
            Self::PhoneReady {
                versions,
                features,
                revision,
            } => format!(
                "{} (features {}, revision {revision})",
                versions.join(", "),
                features.join(", ")
            ),
            Self::CtapRequest { command } => command.clone(),
            Self::CtapResponse { status } => status.clone(),
            Self::Path { path } => path.name().to_string(),
            Self::LinkFailed { code, forgotten } => {
                format!(
                    "{code}{}",
                    if *forgotten { " (link forgotten)" } else { "" }
                )
            }
            Self::AwaitingLink { seconds } => format!("up to {seconds} s"),
            Self::Error { code } => code.clone(),
            Self::Qr | Self::Contacting | Self::Linked | Self::LinkRejected | Self::Closed => {
                String::new()
            }
        }
    }
}
