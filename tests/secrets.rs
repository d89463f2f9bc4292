//! What a session's secrets look like where they must not appear (logs, the history, the debug
//! report): each secret with the spellings a line could use for it, and the pieces of a
//! session the wiretaps kept from which a test derives them.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cable_ble::{decrypt_advert, scan::decode_datagram, DomainCheck};
use cable_keys::EidKey;

use crate::wiretap::{header, request_path, TcpTap, UdpTap};

/// A secret and the spellings a text could use for it.
pub struct Secret {
    pub name: String,
    pub spellings: Vec<String>,
}

impl Secret {
    /// Bytes: hex either case, base64url and base64 without padding (a padded form contains
    /// these), and Rust's `Debug` of a byte slice.
    pub fn new(name: impl Into<String>, bytes: &[u8]) -> Self {
        let mut secret = Self::short(name, bytes);
        secret.spellings.push(URL_SAFE_NO_PAD.encode(bytes));
        secret.spellings.push(STANDARD_NO_PAD.encode(bytes));
        secret
    }

    /// Too short for base64 to mean anything (3 bytes are 4 letters, found in any prose):
    /// hex and `Debug` only.
    pub fn short(name: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            name: name.into(),
            spellings: vec![
                hex::encode(bytes),
                hex::encode_upper(bytes),
                format!("{bytes:?}"),
            ],
        }
    }

    /// Text that is secret as it stands (the QR code's digits).
    pub fn text(name: impl Into<String>, text: &str) -> Self {
        Self {
            name: name.into(),
            spellings: vec![text.to_string()],
        }
    }
}

/// Each secret that `text` (from `what`) contains, with the first line it is on.
pub fn leaks(what: &str, text: &str, secrets: &[Secret]) -> Vec<String> {
    let mut leaks = Vec::new();
    for secret in secrets {
        for spelling in &secret.spellings {
            if let Some(line) = text.lines().find(|line| line.contains(spelling.as_str())) {
                leaks.push(format!(
                    "{what}: {} as {spelling:?} in: {line}",
                    secret.name
                ));
            }
        }
    }
    leaks
}

/// What a contact request (linked flow, HYBRID.md §9.5) sent.
pub struct Contact {
    pub path: String,
    pub payload: Vec<u8>,
    pub link_id: Vec<u8>,
    pub client_nonce: Vec<u8>,
}

/// Every contact request the tap saw, with its client payload decoded.
pub fn contacts(tap: &TcpTap) -> Vec<Contact> {
    tap.request_heads()
        .iter()
        .filter_map(|head| {
            let path = request_path(head)?;
            path.starts_with("/cable/contact/").then(|| {
                let payload_hex = header(head, "X-caBLE-Client-Payload")
                    .unwrap_or_else(|| panic!("a contact request without client payload: {head}"));
                let payload = hex::decode(payload_hex).expect("the client payload is hex");
                let (link_id, client_nonce) = link_and_nonce(&payload);
                Contact {
                    path: path.to_string(),
                    payload,
                    link_id,
                    client_nonce,
                }
            })
        })
        .collect()
}

/// Keys 1 (link ID) and 2 (client nonce) of a client payload.
fn link_and_nonce(payload: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let value: ciborium::Value = ciborium::from_reader(payload).expect("the payload is CBOR");
    let entries = value.into_map().expect("the payload is a map");
    let bytes = |key: u8| {
        entries
            .iter()
            .find(|(k, _)| k.as_integer() == Some(key.into()))
            .and_then(|(_, v)| v.as_bytes().cloned())
            .unwrap_or_else(|| panic!("client payload key {key} is missing or not bytes"))
    };
    (bytes(1), bytes(2))
}

/// The plaintexts of the adverts in `tap` that authenticate under `key`.
pub fn plaintexts(tap: &UdpTap, key: &EidKey, check: DomainCheck) -> Vec<[u8; 16]> {
    let mut found: Vec<[u8; 16]> = Vec::new();
    for datagram in tap.datagrams() {
        let Some((_, service_data)) = decode_datagram(&datagram) else {
            continue;
        };
        if let Ok(advert) = decrypt_advert(key, service_data, check) {
            if !found.contains(&advert.plaintext) {
                found.push(advert.plaintext);
            }
        }
    }
    found
}
