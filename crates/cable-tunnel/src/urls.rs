//! HYBRID.md §5.2–5.3: tunnel endpoints, their URLs, and the handshake header names.
//!
//! Both sides use this module: clients build URLs, the tunnel server parses paths with
//! [`TunnelPath::parse`]. The path helpers are the stable surface the local tunnel server
//! depends on.

use crate::domain::domain_name;
use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The websocket subprotocol every request must offer and every server must select.
pub const WEBSOCKET_PROTOCOL: &str = "fido.cable";
/// Response header of `new`: the 3-byte routing ID as 6 hex digits.
pub const ROUTING_ID_HEADER: &str = "X-caBLE-Routing-ID";
/// Request header of `contact`: hex of the client-payload CBOR (§9.5).
pub const CLIENT_PAYLOAD_HEADER: &str = "X-caBLE-Client-Payload";
/// Request header of `contact` asking for the connect signal; echoed when the server agrees.
pub const SIGNAL_CONNECTION_HEADER: &str = "X-caBLE-Signal-Connection";

/// The longest contact ID a path may carry. Contact IDs are opaque (an FCM token for
/// Chrome-Android, about 160 bytes); this bound only keeps a server from parsing unbounded paths.
pub const MAX_CONTACT_ID_LEN: usize = 1024;

const NEW_PREFIX: &str = "/cable/new/";
const CONNECT_PREFIX: &str = "/cable/connect/";
const CONTACT_PREFIX: &str = "/cable/contact/";

/// The longest valid path: a contact path carrying [`MAX_CONTACT_ID_LEN`] bytes.
pub const MAX_PATH_LEN: usize = CONTACT_PREFIX.len() + (MAX_CONTACT_ID_LEN * 4).div_ceil(3);

/// `/cable/new/<TUNNEL_ID>` (upper-case hex, as Chromium emits).
pub fn new_path(tunnel_id: &[u8; 16]) -> String {
    format!("{NEW_PREFIX}{}", hex::encode_upper(tunnel_id))
}

/// `/cable/connect/<ROUTING_ID>/<TUNNEL_ID>`.
pub fn connect_path(routing_id: &[u8; 3], tunnel_id: &[u8; 16]) -> String {
    format!(
        "{CONNECT_PREFIX}{}/{}",
        hex::encode_upper(routing_id),
        hex::encode_upper(tunnel_id)
    )
}

/// `/cable/contact/<base64url without padding of the contact ID>`.
pub fn contact_path(contact_id: &[u8]) -> String {
    format!("{CONTACT_PREFIX}{}", URL_SAFE_NO_PAD.encode(contact_id))
}

/// Where tunnel URLs point: a domain ID from an advert or link, or one base URL for every domain
/// (a local test server such as `ws://127.0.0.1:PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelBase {
    Domain(u16),
    Override(String),
}

impl TunnelBase {
    /// The scheme and authority URLs start with: `wss://host` or the override without a
    /// trailing slash.
    pub fn base_url(&self) -> Result<String> {
        match self {
            Self::Domain(id) => domain_name(*id)
                .map(|host| format!("wss://{host}"))
                .ok_or(Error::UnknownDomain(*id)),
            Self::Override(url) => {
                let trimmed = url.trim_end_matches('/');
                let rest = trimmed
                    .strip_prefix("wss://")
                    .or_else(|| trimmed.strip_prefix("ws://"));
                match rest {
                    Some(authority) if !authority.is_empty() && !authority.contains('/') => {
                        Ok(trimmed.to_string())
                    }
                    _ => Err(Error::InvalidBaseUrl(url.clone())),
                }
            }
        }
    }

    /// The `Origin` header value Chromium derives from the tunnel URL (`wss://host`).
    pub fn origin(&self) -> Result<String> {
        self.base_url()
    }
}

/// Full `new` URL.
pub fn new_url(base: &TunnelBase, tunnel_id: &[u8; 16]) -> Result<String> {
    Ok(base.base_url()? + &new_path(tunnel_id))
}

/// Full `connect` URL.
pub fn connect_url(
    base: &TunnelBase,
    routing_id: &[u8; 3],
    tunnel_id: &[u8; 16],
) -> Result<String> {
    Ok(base.base_url()? + &connect_path(routing_id, tunnel_id))
}

/// Full `contact` URL.
pub fn contact_url(base: &TunnelBase, contact_id: &[u8]) -> Result<String> {
    Ok(base.base_url()? + &contact_path(contact_id))
}

/// A parsed request path, as a tunnel server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelPath {
    New {
        tunnel_id: [u8; 16],
    },
    Connect {
        routing_id: [u8; 3],
        tunnel_id: [u8; 16],
    },
    Contact {
        contact_id: Vec<u8>,
    },
}

impl TunnelPath {
    /// Parses a request path (no query string). Hex may be upper or lower case; anything
    /// longer than [`MAX_PATH_LEN`] is rejected before it is looked at.
    pub fn parse(path: &str) -> Result<Self> {
        if path.len() > MAX_PATH_LEN {
            return Err(Error::PathTooLong {
                len: path.len(),
                max: MAX_PATH_LEN,
            });
        }
        if let Some(rest) = path.strip_prefix(NEW_PREFIX) {
            return Ok(Self::New {
                tunnel_id: parse_hex_id(rest, "tunnel ID")?,
            });
        }
        if let Some(rest) = path.strip_prefix(CONNECT_PREFIX) {
            let (routing, tunnel) = rest
                .split_once('/')
                .ok_or_else(|| Error::UnknownEndpoint(path.to_string()))?;
            return Ok(Self::Connect {
                routing_id: parse_hex_id(routing, "routing ID")?,
                tunnel_id: parse_hex_id(tunnel, "tunnel ID")?,
            });
        }
        if let Some(rest) = path.strip_prefix(CONTACT_PREFIX) {
            let contact_id = URL_SAFE_NO_PAD
                .decode(rest)
                .map_err(|_| Error::InvalidContactId)?;
            if contact_id.is_empty() || contact_id.len() > MAX_CONTACT_ID_LEN {
                return Err(Error::ContactIdLength {
                    len: contact_id.len(),
                    max: MAX_CONTACT_ID_LEN,
                });
            }
            return Ok(Self::Contact { contact_id });
        }
        Err(Error::UnknownEndpoint(path.to_string()))
    }

    /// The canonical (upper-case hex) path.
    pub fn to_path(&self) -> String {
        match self {
            Self::New { tunnel_id } => new_path(tunnel_id),
            Self::Connect {
                routing_id,
                tunnel_id,
            } => connect_path(routing_id, tunnel_id),
            Self::Contact { contact_id } => contact_path(contact_id),
        }
    }
}

/// Parses the `X-caBLE-Routing-ID` value: exactly 6 hex digits, either case.
pub fn parse_routing_id_header(value: &str) -> Result<[u8; 3]> {
    parse_hex_id(value.trim(), "routing ID")
}

/// The `X-caBLE-Routing-ID` value for `routing_id` (upper-case hex).
pub fn routing_id_header_value(routing_id: &[u8; 3]) -> String {
    hex::encode_upper(routing_id)
}

fn parse_hex_id<const N: usize>(text: &str, field: &'static str) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    // `hex` accepts both cases; it rejects wrong lengths and non-hex characters.
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::InvalidHexId {
        field,
        digits: 2 * N,
        got: text.chars().take(2 * N + 8).collect(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_accept_lower_case() {
        let p =
            TunnelPath::parse("/cable/connect/0a0b0c/3eef97097986413b059eaa2a30d653d4").unwrap();
        assert_eq!(
            p.to_path(),
            "/cable/connect/0A0B0C/3EEF97097986413B059EAA2A30D653D4"
        );
        assert!(matches!(
            TunnelPath::parse("/cable/new/00"),
            Err(Error::InvalidHexId { .. })
        ));
        assert!(matches!(
            TunnelPath::parse("/cable/other/00"),
            Err(Error::UnknownEndpoint(_))
        ));
        assert!(matches!(
            TunnelPath::parse("/cable/connect/0a0b0c"),
            Err(Error::UnknownEndpoint(_))
        ));
        assert!(matches!(
            TunnelPath::parse("/cable/contact/"),
            Err(Error::ContactIdLength { len: 0, .. })
        ));
        assert!(matches!(
            TunnelPath::parse("/cable/contact/AA=="),
            Err(Error::InvalidContactId)
        ));
        let long = format!("/cable/contact/{}", "A".repeat(MAX_PATH_LEN));
        assert!(matches!(
            TunnelPath::parse(&long),
            Err(Error::PathTooLong { .. })
        ));
        // The longest contact ID fits exactly.
        let max = contact_path(&[7u8; MAX_CONTACT_ID_LEN]);
        assert_eq!(max.len(), MAX_PATH_LEN);
        assert!(TunnelPath::parse(&max).is_ok());
    }

    #[test]
    fn routing_header() {
        assert_eq!(parse_routing_id_header("0a0B0c").unwrap(), [10, 11, 12]);
        assert!(parse_routing_id_header("0a0b").is_err());
        assert!(parse_routing_id_header("0a0b0c0d").is_err());
        assert!(parse_routing_id_header("zz0b0c").is_err());
        assert_eq!(routing_id_header_value(&[10, 11, 12]), "0A0B0C");
    }

    #[test]
    fn bases() {
        let o = TunnelBase::Override("ws://127.0.0.1:8080/".into());
        assert_eq!(o.base_url().unwrap(), "ws://127.0.0.1:8080");
        assert!(TunnelBase::Override("http://x".into()).base_url().is_err());
        assert!(TunnelBase::Override("ws://".into()).base_url().is_err());
        assert!(TunnelBase::Override("ws://h/p".into()).base_url().is_err());
        assert_eq!(
            TunnelBase::Domain(7).base_url(),
            Err(Error::UnknownDomain(7))
        );
        assert_eq!(
            TunnelBase::Domain(0).origin().unwrap(),
            "wss://cable.ua5v.com"
        );
    }
}
