//! The server's own view of the tunnel URL paths (HYBRID.md §5.2), plus the push stand-in path.
//!
//! Parsing is pure and total: every path maps to a [`Route`] or a precise [`Error`]. Hex is
//! accepted in either case (Chromium sends upper case, libwebauthn lower case); the formatters
//! emit upper case like Chromium.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::Error;

/// Bytes in a tunnel ID.
pub const TUNNEL_ID_LEN: usize = 16;
/// Bytes in a routing ID.
pub const ROUTING_ID_LEN: usize = 3;

const NEW_PREFIX: &str = "/cable/new/";
const CONNECT_PREFIX: &str = "/cable/connect/";
const CONTACT_PREFIX: &str = "/cable/contact/";
const PUSH_PREFIX: &str = "/cable/push/";

/// An endpoint of the server, with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/cable/new/<32 hex>`: the phone opens a tunnel (QR flow).
    New {
        /// The tunnel ID the phone derived from the QR secret.
        tunnel_id: [u8; TUNNEL_ID_LEN],
    },
    /// `/cable/connect/<6 hex>/<32 hex>`: the other side joins an open tunnel.
    Connect {
        /// The routing ID the server assigned to the tunnel.
        routing_id: [u8; ROUTING_ID_LEN],
        /// The tunnel to join.
        tunnel_id: [u8; TUNNEL_ID_LEN],
    },
    /// `/cable/contact/<base64url>`: the desktop asks the server to wake a linked phone.
    Contact {
        /// The contact ID the phone gave the desktop when linking.
        contact_id: Vec<u8>,
    },
    /// `/cable/push/<base64url>`: a software phone registers for wake-ups (push stand-in).
    Push {
        /// The contact ID the phone wants wake-ups for.
        contact_id: Vec<u8>,
    },
}

/// Parses a request path (no query, no fragment) into a [`Route`].
///
/// `max_contact_id_len` bounds the decoded contact ID of `contact` and `push` paths.
pub fn parse_path(path: &str, max_contact_id_len: usize) -> Result<Route, Error> {
    if let Some(rest) = path.strip_prefix(NEW_PREFIX) {
        return Ok(Route::New {
            tunnel_id: parse_tunnel_id(rest)?,
        });
    }
    if let Some(rest) = path.strip_prefix(CONNECT_PREFIX) {
        let (routing, tunnel) = rest.split_once('/').ok_or(Error::UnknownEndpoint)?;
        return Ok(Route::Connect {
            routing_id: parse_routing_id(routing)?,
            tunnel_id: parse_tunnel_id(tunnel)?,
        });
    }
    if let Some(rest) = path.strip_prefix(CONTACT_PREFIX) {
        return Ok(Route::Contact {
            contact_id: parse_contact_id(rest, max_contact_id_len)?,
        });
    }
    if let Some(rest) = path.strip_prefix(PUSH_PREFIX) {
        return Ok(Route::Push {
            contact_id: parse_contact_id(rest, max_contact_id_len)?,
        });
    }
    Err(Error::UnknownEndpoint)
}

/// Decodes exactly 32 hex digits (either case).
pub fn parse_tunnel_id(text: &str) -> Result<[u8; TUNNEL_ID_LEN], Error> {
    parse_hex_array(text).ok_or(Error::BadTunnelId(text.len()))
}

/// Decodes exactly 6 hex digits (either case).
pub fn parse_routing_id(text: &str) -> Result<[u8; ROUTING_ID_LEN], Error> {
    parse_hex_array(text).ok_or(Error::BadRoutingId(text.len()))
}

/// Decodes a base64url (no padding) contact ID of 1..=`max_len` bytes.
pub fn parse_contact_id(text: &str, max_len: usize) -> Result<Vec<u8>, Error> {
    if text.is_empty() {
        return Err(Error::EmptyContactId);
    }
    // Reject before decoding so a huge segment costs nothing (4 chars carry 3 bytes).
    let decoded_len = text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1);
    if decoded_len > max_len {
        return Err(Error::ContactIdTooLong {
            len: decoded_len,
            max: max_len,
        });
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::BadContactId)
}

fn parse_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// `/cable/new/<TUNNEL_ID>` in upper-case hex.
pub fn new_path(tunnel_id: &[u8; TUNNEL_ID_LEN]) -> String {
    format!("{NEW_PREFIX}{}", hex::encode_upper(tunnel_id))
}

/// `/cable/connect/<ROUTING_ID>/<TUNNEL_ID>` in upper-case hex.
pub fn connect_path(routing_id: &[u8; ROUTING_ID_LEN], tunnel_id: &[u8; TUNNEL_ID_LEN]) -> String {
    format!(
        "{CONNECT_PREFIX}{}/{}",
        hex::encode_upper(routing_id),
        hex::encode_upper(tunnel_id)
    )
}

/// `/cable/contact/<base64url-nopad(contact_id)>`.
pub fn contact_path(contact_id: &[u8]) -> String {
    format!("{CONTACT_PREFIX}{}", URL_SAFE_NO_PAD.encode(contact_id))
}

/// `/cable/push/<base64url-nopad(contact_id)>` (push stand-in registration).
pub fn push_path(contact_id: &[u8]) -> String {
    format!("{PUSH_PREFIX}{}", URL_SAFE_NO_PAD.encode(contact_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 512;

    #[test]
    fn new_accepts_both_cases() {
        let id = [0xABu8; 16];
        let upper = new_path(&id);
        assert_eq!(upper, format!("/cable/new/{}", "AB".repeat(16)));
        assert_eq!(parse_path(&upper, MAX), Ok(Route::New { tunnel_id: id }));
        let lower = upper.to_ascii_lowercase();
        assert_eq!(parse_path(&lower, MAX), Ok(Route::New { tunnel_id: id }));
    }

    #[test]
    fn connect_parses_both_ids() {
        let path = format!("/cable/connect/0a0B0c/{}", "01".repeat(16));
        assert_eq!(
            parse_path(&path, MAX),
            Ok(Route::Connect {
                routing_id: [0x0a, 0x0b, 0x0c],
                tunnel_id: [1; 16]
            })
        );
    }

    #[test]
    fn malformed_ids_are_precise_errors() {
        assert_eq!(
            parse_path("/cable/new/abc", MAX),
            Err(Error::BadTunnelId(3))
        );
        assert_eq!(
            parse_path(&format!("/cable/new/{}", "zz".repeat(16)), MAX),
            Err(Error::BadTunnelId(32))
        );
        assert_eq!(
            parse_path(&format!("/cable/connect/12345/{}", "00".repeat(16)), MAX),
            Err(Error::BadRoutingId(5))
        );
        assert_eq!(
            parse_path("/cable/connect/123456", MAX),
            Err(Error::UnknownEndpoint)
        );
        assert_eq!(
            parse_path(&format!("/cable/connect/123456/{}/", "00".repeat(16)), MAX),
            Err(Error::BadTunnelId(33))
        );
        assert_eq!(parse_path("/", MAX), Err(Error::UnknownEndpoint));
        assert_eq!(
            parse_path("/cable/other/x", MAX),
            Err(Error::UnknownEndpoint)
        );
        assert_eq!(
            parse_path("/cable/contact/", MAX),
            Err(Error::EmptyContactId)
        );
        assert_eq!(
            parse_path("/cable/push/a+b/", MAX),
            Err(Error::BadContactId)
        );
        // Padding is not base64url-without-padding.
        assert_eq!(
            parse_path("/cable/contact/AA==", MAX),
            Err(Error::BadContactId)
        );
        assert!(matches!(
            parse_path(&format!("/cable/contact/{}", "A".repeat(1000)), MAX),
            Err(Error::ContactIdTooLong { max: MAX, .. })
        ));
    }

    #[test]
    fn contact_length_bound_is_exact() {
        let at_max = contact_path(&[7u8; MAX]);
        assert!(parse_path(&at_max, MAX).is_ok());
        let over = contact_path(&[7u8; MAX + 1]);
        assert_eq!(
            parse_path(&over, MAX),
            Err(Error::ContactIdTooLong {
                len: MAX + 1,
                max: MAX
            })
        );
    }

    proptest! {
        #[test]
        fn new_round_trips(id in any::<[u8; 16]>()) {
            prop_assert_eq!(parse_path(&new_path(&id), MAX), Ok(Route::New { tunnel_id: id }));
        }

        #[test]
        fn connect_round_trips(r in any::<[u8; 3]>(), t in any::<[u8; 16]>()) {
            prop_assert_eq!(
                parse_path(&connect_path(&r, &t), MAX),
                Ok(Route::Connect { routing_id: r, tunnel_id: t })
            );
        }

        #[test]
        fn contact_and_push_round_trip(c in proptest::collection::vec(any::<u8>(), 1..=MAX)) {
            prop_assert_eq!(
                parse_path(&contact_path(&c), MAX),
                Ok(Route::Contact { contact_id: c.clone() })
            );
            prop_assert_eq!(parse_path(&push_path(&c), MAX), Ok(Route::Push { contact_id: c }));
        }

        #[test]
        fn any_path_parses_or_errors(path in ".{0,200}") {
            let _ = parse_path(&path, MAX);
        }
    }
}
