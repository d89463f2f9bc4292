//! The CBOR map inside a QR code (HYBRID.md §2.4) and the `FIDO:/` URL around it.
//!
//! Encoding follows the desktop recipe (§2.7); decoding follows Chromium's phone-side
//! `qr::Parse`: keys 0 and 1 are required, a known key of the wrong type rejects the whole
//! code, unknown keys are ignored.

use cable_keys::cbor::{self, Value};
use cable_keys::{EidKey, Psk, PublicKey, QrSecret};

use crate::{digits, QrError, RequestType, PREFIX};

/// Compressed P-256 point length (key 0).
const PUBLIC_KEY_LEN: usize = 33;
/// QR secret length (key 1).
const SECRET_LEN: usize = 16;
/// CTAP 2.3 data-transfer channel ids offered in key 6: WebSocket tunnel and BLE L2CAP.
const CHANNEL_TUNNEL: u64 = 0;
const CHANNEL_BLE: u64 = 1;

/// The contents of a hybrid QR code. `Debug` never shows the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrPayload {
    /// Key 0: the desktop's QR identity public key.
    pub public_key: PublicKey,
    /// Key 1: the 16-byte QR secret every other key is derived from.
    pub secret: QrSecret,
    /// Key 2: how many assigned tunnel-server domains the desktop knows (absent means 0).
    pub known_domains: u64,
    /// Key 3: when the code was made, Unix seconds.
    pub timestamp: Option<u64>,
    /// Key 4: whether the desktop will store linking data. Desktops should always send it:
    /// older phones use its presence to pick protocol revision 1.
    pub supports_linking: Option<bool>,
    /// Key 5: the request-type hint exactly as sent; see [`QrPayload::request_type`].
    pub request_type: Option<String>,
    /// Key 6 as the CTAP 2.3 channel array `[0, 1]`: the desktop offers the BLE data channel.
    /// Play services before CTAP 2.3 rejects an array here, so it is sent only when true.
    pub ble_data_channel: bool,
}

impl QrPayload {
    /// The canonical CBOR map (keys in CTAP2 order).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut map = vec![
            (uint(0), Value::Bytes(self.public_key.compressed().to_vec())),
            (uint(1), Value::Bytes(self.secret.expose().to_vec())),
            (uint(2), uint(self.known_domains)),
        ];
        if let Some(ts) = self.timestamp {
            map.push((uint(3), uint(ts)));
        }
        if let Some(linking) = self.supports_linking {
            map.push((uint(4), Value::Bool(linking)));
        }
        if let Some(hint) = &self.request_type {
            map.push((uint(5), Value::Text(hint.clone())));
        }
        if self.ble_data_channel {
            let channels = vec![uint(CHANNEL_TUNNEL), uint(CHANNEL_BLE)];
            map.push((uint(6), Value::Array(channels)));
        }
        cbor::to_canonical_vec(&Value::Map(map))
    }

    /// Parses the CBOR map with Chromium's rules (HYBRID.md §2.4).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, QrError> {
        let Value::Map(entries) = cbor::from_slice(bytes).map_err(QrError::Cbor)? else {
            return Err(QrError::NotAMap);
        };
        reject_duplicate_known_keys(&entries)?;

        // Same order as Chromium: both keys must be byte strings before lengths are checked.
        let key0 = required_bytes(&entries, 0)?;
        let key1 = required_bytes(&entries, 1)?;
        let secret = QrSecret::from_slice(key1).ok_or(QrError::WrongLength {
            key: 1,
            expected: SECRET_LEN,
            actual: key1.len(),
        })?;
        if key0.len() != PUBLIC_KEY_LEN {
            return Err(QrError::WrongLength {
                key: 0,
                expected: PUBLIC_KEY_LEN,
                actual: key0.len(),
            });
        }
        // Only the SEC1 compressed tags: the p256 crate would also take 0x05 ("compact"), which
        // BoringSSL, and so Chromium, rejects.
        if !matches!(key0.first(), Some(0x02 | 0x03)) {
            return Err(QrError::InvalidPoint);
        }
        let public_key = PublicKey::from_sec1(key0).map_err(|_| QrError::InvalidPoint)?;

        Ok(Self {
            public_key,
            secret,
            known_domains: known_domains(cbor::map_get(&entries, 2))?,
            // Chromium ignores key 3; keep it when it is a time, refuse a negative one.
            timestamp: match cbor::map_get(&entries, 3) {
                Some(Value::Integer(i)) => Some(non_negative(3, i128::from(*i))?),
                _ => None,
            },
            supports_linking: match cbor::map_get(&entries, 4) {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(wrong_type(4, "true or false")),
            },
            request_type: match cbor::map_get(&entries, 5) {
                None => None,
                Some(Value::Text(s)) => Some(s.clone()),
                Some(_) => return Err(wrong_type(5, "a text string")),
            },
            ble_data_channel: offers_ble(cbor::map_get(&entries, 6)),
        })
    }

    /// The text of the QR code: `FIDO:/` then the digits of the CBOR map.
    pub fn to_url(&self) -> String {
        let mut url = String::from(PREFIX);
        url.push_str(&digits::encode(&self.to_cbor()));
        url
    }

    /// Parses scanned text. Surrounding ASCII whitespace is dropped (scanners often append a
    /// newline) and the prefix may be in any case, as in Chromium.
    pub fn parse_url(text: &str) -> Result<Self, QrError> {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let rest = match text.split_at_checked(PREFIX.len()) {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case(PREFIX) => rest,
            _ => return Err(QrError::BadPrefix),
        };
        if rest.is_empty() {
            return Err(QrError::Empty);
        }
        Self::from_cbor(&digits::decode(rest)?)
    }

    /// The request-type hint as Chromium reads it: absent or unknown means getAssertion.
    pub fn request_type(&self) -> RequestType {
        self.request_type
            .as_deref()
            .map_or(RequestType::GetAssertion, RequestType::parse)
    }

    /// EID key (purpose 1): decrypts and authenticates the phone's BLE advert.
    pub fn eid_key(&self) -> EidKey {
        cable_keys::eid_key(self.secret.expose(), &[])
    }

    /// Tunnel ID (purpose 2): where the phone opens its tunnel.
    pub fn tunnel_id(&self) -> [u8; 16] {
        cable_keys::tunnel_id(&self.secret)
    }

    /// Noise PSK (purpose 3) for the advert plaintext the phone sent.
    pub fn psk(&self, eid_plaintext: &[u8; 16]) -> Psk {
        cable_keys::psk(self.secret.expose(), eid_plaintext)
    }
}

fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

fn wrong_type(key: u64, expected: &'static str) -> QrError {
    QrError::WrongType { key, expected }
}

/// CBOR allows a key twice; then which value counts is ambiguous, so (like Chromium's reader)
/// refuse. Only the keys we read are checked, which keeps this linear in the map size.
fn reject_duplicate_known_keys(entries: &[(Value, Value)]) -> Result<(), QrError> {
    let mut seen = [false; 7];
    for (key, _) in entries {
        let Value::Integer(i) = key else { continue };
        let Ok(k) = u64::try_from(*i) else { continue };
        let Some(slot) = usize::try_from(k).ok().and_then(|k| seen.get_mut(k)) else {
            continue;
        };
        if *slot {
            return Err(QrError::DuplicateKey { key: k });
        }
        *slot = true;
    }
    Ok(())
}

fn required_bytes(entries: &[(Value, Value)], key: u64) -> Result<&[u8], QrError> {
    match cbor::map_get(entries, key) {
        None => Err(QrError::MissingKey { key }),
        Some(Value::Bytes(b)) => Ok(b),
        Some(_) => Err(wrong_type(key, "a byte string")),
    }
}

/// Key 2. Chromium reads a negative count as none known; a count cannot be negative, so a
/// code that says so was made wrongly and is refused (docs/protocol-notes.md).
fn known_domains(value: Option<&Value>) -> Result<u64, QrError> {
    match value {
        None => Ok(0),
        Some(Value::Integer(i)) => non_negative(2, i128::from(*i)),
        Some(_) => Err(wrong_type(2, "an integer")),
    }
}

/// A CBOR integer as `u64`, or [`QrError::Negative`]. (CBOR integers fit `u64` or are
/// negative, so nothing else can fail.)
fn non_negative(key: u64, value: i128) -> Result<u64, QrError> {
    u64::try_from(value).map_err(|_| QrError::Negative { key, value })
}

/// Key 6 has two meanings in the wild (HYBRID.md §2.6): webauthn-rs sends a bool
/// ("non-discoverable makeCredential"), CTAP 2.3 an array of channel ids. Only the array can
/// offer the BLE channel; anything else is ignored, as Chromium ignores the key entirely.
fn offers_ble(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Array(items)) => items.iter().any(
            |item| matches!(item, Value::Integer(i) if u64::try_from(*i).ok() == Some(CHANNEL_BLE)),
        ),
        _ => false,
    }
}
