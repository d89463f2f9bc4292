//! What an engine needs to know: where tunnels are, which radio to listen on, how long to wait.

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub tunnel: TunnelConfig,
    pub radio: RadioConfig,
    pub timeouts: Timeouts,
    /// Offer linking ("remember this computer") in QR key 4. Only true once links are stored.
    pub linking: bool,
    /// Return the credential at once and wait for the phone's linking data in the background
    /// (the daemon); otherwise the wait happens before returning (the CLI, which says so).
    pub link_wait_in_background: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            tunnel: TunnelConfig::Real,
            radio: RadioConfig::Bluetooth { adapter: None },
            timeouts: Timeouts::default(),
            linking: false,
            link_wait_in_background: false,
        }
    }
}

/// Which tunnel servers to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelConfig {
    /// The real servers, named by the domain ID in the phone's advert (`wss://host`).
    Real,
    /// One base URL (e.g. `ws://127.0.0.1:8080`) standing in for every tunnel domain.
    Override(String),
}

impl TunnelConfig {
    /// The base for a tunnel on `domain_id` (from the advert, or stored with a link).
    pub fn base(&self, domain_id: u16) -> cable_tunnel::TunnelBase {
        match self {
            Self::Real => cable_tunnel::TunnelBase::Domain(domain_id),
            Self::Override(url) => cable_tunnel::TunnelBase::Override(url.clone()),
        }
    }
}

/// Where phones' adverts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioConfig {
    /// Bluetooth LE through BlueZ (btleplug); `adapter` picks one by name, else the first powered.
    Bluetooth { adapter: Option<String> },
    /// The loopback virtual radio: adverts arrive as UDP datagrams on this address.
    Virtual(SocketAddr),
}

impl RadioConfig {
    /// Parses `bluetooth`, `bluetooth:hci1` or `udp:HOST:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "bluetooth" || text == "ble" {
            return Ok(Self::Bluetooth { adapter: None });
        }
        if let Some(adapter) = text.strip_prefix("bluetooth:") {
            return Ok(Self::Bluetooth {
                adapter: Some(adapter.to_string()),
            });
        }
        if let Some(addr) = text.strip_prefix("udp:") {
            return addr.parse().map(Self::Virtual).map_err(|_| {
                format!("{addr:?} is not a UDP address: use udp:HOST:PORT, e.g. udp:127.0.0.1:7999")
            });
        }
        Err(format!(
            "unknown radio {text:?}: use bluetooth, bluetooth:ADAPTER or udp:HOST:PORT"
        ))
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Bluetooth { adapter: None } => "Bluetooth".into(),
            Self::Bluetooth {
                adapter: Some(name),
            } => format!("Bluetooth adapter {name}"),
            Self::Virtual(addr) => format!("virtual radio udp:{addr}"),
        }
    }
}

/// One timeout per phase. Defaults follow HYBRID.md §11: a WebAuthn request's usual 120 s for
/// the person to scan and confirm, seconds for network steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From showing the QR (or contacting a linked phone) until the advert is seen.
    pub advert: Duration,
    /// Opening the websocket to the tunnel server.
    pub tunnel_connect: Duration,
    /// Noise message 2 after message 1.
    pub handshake: Duration,
    /// The post-handshake message after the handshake.
    pub post_handshake: Duration,
    /// The phone's CTAP answer: the person confirms on the phone meanwhile.
    pub ctap: Duration,
    /// After the CTAP answer, how long a session that offered linking waits for linking data.
    pub linking_wait: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            advert: Duration::from_secs(120),
            tunnel_connect: Duration::from_secs(15),
            handshake: Duration::from_secs(15),
            post_handshake: Duration::from_secs(15),
            ctap: Duration::from_secs(120),
            linking_wait: Duration::from_secs(5),
        }
    }
}
