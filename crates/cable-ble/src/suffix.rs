//! HYBRID.md §10: the CTAP 2.3 advert suffix, a CBOR map `{channel_id: channel_extra}` that
//! phones offering a BLE data channel append after the 20-byte advert (e.g. `{1: psm}`).
//!
//! Decoding follows libwebauthn, the one implementation that reads it: keys that are not
//! unsigned integers are ignored, unknown channels are kept but have no meaning to us, and a BLE
//! channel whose extra is not a `u16` yields no PSM.

use cable_keys::cbor::{self, Value};

use crate::AdvertError;

/// Channel ID of the WebSocket tunnel.
pub const CHANNEL_TUNNEL: u64 = 0;
/// Channel ID of the BLE L2CAP data channel; its extra is the L2CAP PSM.
pub const CHANNEL_BLE: u64 = 1;

/// A decoded advert suffix.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvertSuffix {
    /// Every `(channel_id, channel_extra)` pair whose key is an unsigned integer, in wire order.
    pub channels: Vec<(u64, Value)>,
}

impl AdvertSuffix {
    /// A suffix offering the BLE channel on `psm` (what a CTAP 2.3 phone appends).
    pub fn ble(psm: u16) -> Self {
        Self {
            channels: vec![(CHANNEL_BLE, Value::Integer(psm.into()))],
        }
    }

    /// Decodes suffix bytes: exactly one CBOR map, no trailing bytes, no repeated channel.
    pub fn parse(bytes: &[u8]) -> Result<Self, AdvertError> {
        let value = cbor::from_slice(bytes).map_err(|e| AdvertError::BadSuffix(e.to_string()))?;
        let Value::Map(entries) = value else {
            return Err(AdvertError::BadSuffix(format!(
                "expected a map of channel ID to channel data, found {}",
                kind(&value)
            )));
        };
        let mut channels: Vec<(u64, Value)> = Vec::with_capacity(entries.len());
        for (key, extra) in entries {
            let Value::Integer(id) = key else { continue };
            let Ok(id) = u64::try_from(id) else { continue };
            if channels.iter().any(|(seen, _)| *seen == id) {
                return Err(AdvertError::BadSuffix(format!(
                    "channel {id} appears twice"
                )));
            }
            channels.push((id, extra));
        }
        Ok(Self { channels })
    }

    /// Canonical CBOR encoding of the suffix.
    pub fn to_bytes(&self) -> Vec<u8> {
        let map = self
            .channels
            .iter()
            .map(|(id, extra)| (Value::Integer((*id).into()), extra.clone()))
            .collect();
        cbor::to_canonical_vec(&Value::Map(map))
    }

    /// The extra data of `channel`, if offered.
    pub fn channel(&self, channel: u64) -> Option<&Value> {
        self.channels
            .iter()
            .find_map(|(id, extra)| (*id == channel).then_some(extra))
    }

    /// The L2CAP PSM of the BLE channel, if offered and a valid `u16`.
    pub fn ble_psm(&self) -> Option<u16> {
        match self.channel(CHANNEL_BLE)? {
            Value::Integer(psm) => u16::try_from(*psm).ok(),
            _ => None,
        }
    }
}

/// What a person reads: each channel by name, e.g. `BLE data channel (PSM 130)`.
impl std::fmt::Display for AdvertSuffix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.channels.is_empty() {
            return f.write_str("no channels");
        }
        for (i, (id, extra)) in self.channels.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match (*id, extra) {
                (CHANNEL_TUNNEL, _) => f.write_str("tunnel (channel 0)")?,
                (CHANNEL_BLE, Value::Integer(psm)) => match u16::try_from(*psm) {
                    Ok(psm) => write!(f, "BLE data channel (PSM {psm})")?,
                    Err(_) => f.write_str("BLE data channel with an out-of-range PSM")?,
                },
                (CHANNEL_BLE, other) => {
                    write!(f, "BLE data channel with {} instead of a PSM", kind(other))?
                }
                (id, _) => write!(f, "unknown channel {id}")?,
            }
        }
        Ok(())
    }
}

/// A person-readable name for a CBOR item's type.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "an integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Tag(..) => "a tagged item",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown CBOR item",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn malformed_suffixes_are_errors_not_panics() {
        for (bytes, why) in [
            (&[][..], "not valid CBOR"),
            (&[0xff, 0x00, 0x13][..], "not valid CBOR"),
            (&[0x01][..], "found an integer"),
            (&[0x80][..], "found an array"),
            (&[0xa0, 0x00][..], "trailing"),
            (
                &[0xa2, 0x01, 0x01, 0x01, 0x02][..],
                "channel 1 appears twice",
            ),
        ] {
            match AdvertSuffix::parse(bytes) {
                Err(AdvertError::BadSuffix(reason)) => {
                    assert!(reason.contains(why), "{bytes:02x?}: {reason}")
                }
                other => panic!("{bytes:02x?}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_that_are_not_channel_ids_are_ignored() {
        // {-1: 5, "x": 6, 1: 7}
        let suffix =
            AdvertSuffix::parse(&[0xa3, 0x20, 0x05, 0x61, 0x78, 0x06, 0x01, 0x07]).unwrap();
        assert_eq!(suffix.channels, vec![(1, Value::Integer(7.into()))]);
        assert_eq!(suffix.ble_psm(), Some(7));
    }

    #[test]
    fn display_names_each_channel() {
        assert_eq!(
            AdvertSuffix::ble(130).to_string(),
            "BLE data channel (PSM 130)"
        );
        // {0: null, 1: "x", 9: 1}
        let mixed = AdvertSuffix::parse(&[0xa3, 0x00, 0xf6, 0x01, 0x61, 0x78, 0x09, 0x01]).unwrap();
        assert_eq!(
            mixed.to_string(),
            "tunnel (channel 0), BLE data channel with a text string instead of a PSM, \
             unknown channel 9"
        );
        // {1: 70000}
        let big = AdvertSuffix::parse(&[0xa1, 0x01, 0x1a, 0x00, 0x01, 0x11, 0x70]).unwrap();
        assert_eq!(big.to_string(), "BLE data channel with an out-of-range PSM");
        assert_eq!(
            AdvertSuffix::parse(&[0xa0]).unwrap().to_string(),
            "no channels"
        );
    }

    #[test]
    fn ble_constructor_encodes_as_play_services_does() {
        assert_eq!(AdvertSuffix::ble(130).to_bytes(), [0xa1, 0x01, 0x18, 0x82]);
    }

    proptest! {
        #[test]
        fn round_trips(psm: u16, other in proptest::option::of((2u64..1000, any::<i64>()))) {
            let mut suffix = AdvertSuffix::ble(psm);
            if let Some((id, extra)) = other {
                suffix.channels.push((id, Value::Integer(extra.into())));
            }
            let parsed = AdvertSuffix::parse(&suffix.to_bytes()).unwrap();
            prop_assert_eq!(parsed.ble_psm(), Some(psm));
            let mut want = suffix.channels.clone();
            want.sort_by_key(|(id, _)| *id);
            prop_assert_eq!(parsed.channels, want);
        }

        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = AdvertSuffix::parse(&bytes);
        }
    }
}
