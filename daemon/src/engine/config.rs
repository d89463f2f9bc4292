//! What an engine needs to know: where tunnels are, which radio to listen on, how long to wait.

use std::net::SocketAddr;

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

/// A radio setting that names no radio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RadioSpecError {
    #[error("{0:?} is not a UDP address: use udp:HOST:PORT, e.g. udp:127.0.0.1:7999")]
    BadUdpAddress(String),
    #[error("unknown radio {0:?}: use bluetooth, bluetooth:ADAPTER or udp:HOST:PORT")]
    Unknown(String),
}

impl RadioConfig {
    /// Parses `bluetooth`, `bluetooth:hci1` or `udp:HOST:PORT`.
    pub fn parse(text: &str) -> Result<Self, RadioSpecError> {
        if text == "bluetooth" || text == "ble" {
            return Ok(Self::Bluetooth { adapter: None });
        }
        if let Some(adapter) = text.strip_prefix("bluetooth:") {
            return Ok(Self::Bluetooth {
                adapter: Some(adapter.to_string()),
            });
        }
        if let Some(addr) = text.strip_prefix("udp:") {
            return addr
                .parse()
                .map(Self::Virtual)
                .map_err(|_| RadioSpecError::BadUdpAddress(addr.to_string()));
        }
        Err(RadioSpecError::Unknown(text.to_string()))
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

/// One timeout per phase: the session state machine's, which decides them.
pub use cable_hybrid::Timeouts;
