//! HYBRID.md §5.2–5.3: tunnel endpoints, their paths and URLs, and the handshake header names.
//!
//! Builders and parsers live side by side so they are tested against each other: clients build
//! paths ([`new_path`], [`TunnelPath::to_path`]), the local tunnel server parses them
//! ([`TunnelPath::parse_bounded`]). Besides the three HYBRID endpoints there is the local
//! server's push stand-in, `/cable/push/<contact ID>` ([`TunnelPath::Push`]); no real tunnel
//! service has it.

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
/// The value clients send (and servers echo) in [`SIGNAL_CONNECTION_HEADER`], as Chromium.
pub const SIGNAL_CONNECTION_VALUE: &str = "true";
/// Request header offering [`WEBSOCKET_PROTOCOL`]; the response's selects it.
pub const PROTOCOL_HEADER: &str = "Sec-WebSocket-Protocol";
/// Request header carrying the origin Chromium derives from the tunnel URL.
pub const ORIGIN_HEADER: &str = "Origin";

/// The longest contact ID a path may carry. Contact IDs are opaque (an FCM token for
/// Chrome-Android, about 160 bytes); this bound only keeps a server from parsing unbounded paths.
pub const MAX_CONTACT_ID_LEN: usize = 1024;

const NEW_PREFIX: &str = "/cable/new/";
const CONNECT_PREFIX: &str = "/cable/connect/";
const CONTACT_PREFIX: &str = "/cable/contact/";
const PUSH_PREFIX: &str = "/cable/push/";

/// The longest valid path: a contact path carrying [`MAX_CONTACT_ID_LEN`] bytes.
pub const MAX_PATH_LEN: usize = max_path_len(MAX_CONTACT_ID_LEN);

/// The longest valid path when contact IDs may be at most `max_contact_id_len` bytes: the
/// longer of a connect path and a contact path carrying that many bytes.
pub const fn max_path_len(max_contact_id_len: usize) -> usize {
    // "/cable/connect/" + 6 + "/" + 32.
    const CONNECT_LEN: usize = CONNECT_PREFIX.len() + 6 + 1 + 32;
    let contact = CONTACT_PREFIX.len() + base64_len(max_contact_id_len);
    if contact > CONNECT_LEN {
        contact
    } else {
        CONNECT_LEN
    }
}

/// Characters of unpadded base64 for `bytes` bytes.
const fn base64_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

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

/// `/cable/push/<base64url without padding of the contact ID>`: the local tunnel server's push
/// stand-in, where a software phone registers for wake-ups ([`crate::push`]).
pub fn push_path(contact_id: &[u8]) -> String {
    format!("{PUSH_PREFIX}{}", URL_SAFE_NO_PAD.encode(contact_id))
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

/// Full push stand-in URL (local tunnel server only).
pub fn push_url(base: &TunnelBase, contact_id: &[u8]) -> Result<String> {
    Ok(base.base_url()? + &push_path(contact_id))
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
    /// The local tunnel server's push stand-in: a software phone registers `contact_id`.
    Push {
        contact_id: Vec<u8>,
    },
}

impl TunnelPath {
    /// Parses a request path (no query string) with contact IDs of up to
    /// [`MAX_CONTACT_ID_LEN`] bytes.
    pub fn parse(path: &str) -> Result<Self> {
        Self::parse_bounded(path, MAX_CONTACT_ID_LEN)
    }

    /// Parses a request path (no query string) whose contact ID, if any, is 1 to
    /// `max_contact_id_len` bytes. Hex may be upper or lower case; a path longer than
    /// [`max_path_len`] allows is rejected before it is looked at.
    pub fn parse_bounded(path: &str, max_contact_id_len: usize) -> Result<Self> {
        let max = max_path_len(max_contact_id_len);
        if path.len() > max {
            return Err(Error::PathTooLong {
                len: path.len(),
                max,
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
            return Ok(Self::Contact {
                contact_id: parse_contact_id(rest, max_contact_id_len)?,
            });
        }
        if let Some(rest) = path.strip_prefix(PUSH_PREFIX) {
            return Ok(Self::Push {
                contact_id: parse_contact_id(rest, max_contact_id_len)?,
            });
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
            Self::Push { contact_id } => push_path(contact_id),
        }
    }

    /// `base` followed by the canonical path.
    pub fn url(&self, base: &TunnelBase) -> Result<String> {
        Ok(base.base_url()? + &self.to_path())
    }
}

/// Decodes a base64url (no padding) contact ID of 1 to `max_len` bytes.
fn parse_contact_id(text: &str, max_len: usize) -> Result<Vec<u8>> {
    // Unpadded base64 of n bytes has exactly base64_len(n) characters.
    let len = text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1);
    if text.is_empty() || len > max_len {
        return Err(Error::ContactIdLength { len, max: max_len });
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::InvalidContactId)
}

/// Parses the `X-caBLE-Routing-ID` value: exactly 6 hex digits, either case.
pub fn parse_routing_id_header(value: &str) -> Result<[u8; 3]> {
    parse_hex_id(value.trim(), "routing ID")
}

/// The `X-caBLE-Routing-ID` value for `routing_id` (upper-case hex).
pub fn routing_id_header_value(routing_id: &[u8; 3]) -> String {
    hex::encode_upper(routing_id)
}

/// The `X-caBLE-Client-Payload` value for client-payload bytes: upper-case hex, as Chromium.
pub fn client_payload_header_value(payload: &[u8]) -> String {
    hex::encode_upper(payload)
}

/// Parses an `X-caBLE-Client-Payload` value (hex, either case, surrounding blanks ignored)
/// into 1 to `max_len` bytes. The bytes are not interpreted: a tunnel server relays them.
pub fn parse_client_payload_header(value: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let value = value.trim_ascii();
    let len = value.len() / 2;
    if value.is_empty() || len > max_len {
        return Err(Error::ClientPayloadLength { len, max: max_len });
    }
    hex::decode(value).map_err(|_| Error::ClientPayloadHex)
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
    fn push_paths_and_contact_bounds() {
        let push = push_path(&[0xfb, 0xff]);
        assert_eq!(push, "/cable/push/-_8");
        assert_eq!(
            TunnelPath::parse(&push).unwrap(),
            TunnelPath::Push {
                contact_id: vec![0xfb, 0xff]
            }
        );
        assert!(matches!(
            TunnelPath::parse("/cable/push/"),
            Err(Error::ContactIdLength { len: 0, .. })
        ));
        assert!(matches!(
            TunnelPath::parse("/cable/push/a+b"),
            Err(Error::InvalidContactId)
        ));
        // A server's own bound, below the crate's: exact at the bound.
        assert!(TunnelPath::parse_bounded(&push_path(&[1; 512]), 512).is_ok());
        assert_eq!(
            TunnelPath::parse_bounded(&push_path(&[1; 513]), 512),
            Err(Error::ContactIdLength { len: 513, max: 512 })
        );
        assert_eq!(
            push_url(&TunnelBase::Override("ws://h:1".into()), &[1]).unwrap(),
            "ws://h:1/cable/push/AQ"
        );
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
