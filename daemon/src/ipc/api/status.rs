//! `daemon.status`.

use super::NoParams;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub uptime_s: u64,
    pub hybrid_enabled: bool,
    pub sessions: SessionCounts,
    /// Connections now.
    pub clients: usize,
    pub radio: RadioStatus,
    pub bluetooth: BluetoothStatus,
    pub store: StoreStatus,
    /// The tunnel base URL standing in for every tunnel server, `null` for the real ones.
    pub tunnel_override: Option<String>,
    pub config_file: Option<String>,
    /// The virtual security key (absent from daemons older than it).
    #[serde(default)]
    pub security_key: SecurityKeyStatus,
}

/// The virtual security key: `state` is `ready` (attached to cable-uhid, the device exists),
/// `not_attached` (with `message`: why) or `off` (by configuration or policy); `agents`
/// counts the prompt agents that can show its QR codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityKeyStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub agents: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounts {
    /// Sessions running now, all clients.
    pub open: usize,
    pub max: usize,
    /// Sessions of the asking connection.
    pub this_client: usize,
    pub max_per_client: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadioStatus {
    /// `bluetooth` or `virtual`.
    pub backend: String,
    pub description: String,
    /// True while some session waits for an advert.
    pub scanning: bool,
}

/// `state` is `ready`, `not_used`, or the radio's error code (then `message` says why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BluetoothStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The linked-phone store: `state` is `ready` (with `path` and `linked`), `not_used`
/// (linking is off) or `device_store_error` (with the store's own words in `message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

method! {
    /// `daemon.status`: how the daemon is.
    DaemonStatus = "daemon.status" (NoParams) -> Status
}
