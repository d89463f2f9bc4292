//! HYBRID.md §7.6: the update message (frame type 2), which carries linking information.
//!
//! Chrome-Android pads it with key 0 (a byte string of zeros) so that the frame, once the
//! Crypter pads it, is exactly 512 bytes whether or not linking data is present; we do the same.

use crate::error::{Error, Result};
use crate::linking::LinkingInfo;
use cable_keys::cbor::{self, Value};

/// Target length of the frame plaintext after Crypter padding (528 bytes on the wire).
pub const UPDATE_PADDING_TARGET: usize = 512;

const WHAT: &str = "update message";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMessage {
    /// Key 1: linking information; absent means the update carries nothing.
    pub linking: Option<LinkingInfo>,
}

impl UpdateMessage {
    /// The CBOR payload (without the frame's type byte), padded with key 0 as Chrome-Android
    /// does: aim 16 bytes short of 512 minus the key and a 3-byte length header, less the size
    /// of `{1: linking}`; the Crypter's 32-byte padding makes up the rest.
    pub fn encode(&self) -> Vec<u8> {
        let mut padding = UPDATE_PADDING_TARGET - 16 - 1 - 3;
        let mut entries = Vec::new();
        if let Some(linking) = &self.linking {
            let linking = linking.to_value();
            let measured =
                cbor::to_canonical_vec(&Value::Map(vec![(int(1), linking.clone())])).len();
            // Oversized linking data cannot be padded down; Chrome then sends it unpadded-ish.
            padding = padding.saturating_sub(measured);
            entries.push((int(1), linking));
        }
        entries.push((int(0), Value::Bytes(vec![0; padding])));
        cbor::to_canonical_vec(&Value::Map(entries))
    }

    /// Parses an update payload. Unknown keys (including the key-0 padding) are ignored; key 1,
    /// if present, must be a valid linking map. The signature is checked separately with
    /// [`LinkingInfo::verify`], and only in a QR session.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let value = cbor::from_slice(payload).map_err(|e| Error::cbor(WHAT, e))?;
        let Value::Map(entries) = &value else {
            return Err(Error::NotAMap(WHAT));
        };
        let linking = match cbor::map_get(entries, 1) {
            None => None,
            Some(v @ Value::Map(_)) => Some(LinkingInfo::from_value(v)?),
            Some(_) => return Err(Error::NotAMap("update key 1 (linking)")),
        };
        Ok(Self { linking })
    }
}

fn int(n: u64) -> Value {
    Value::Integer(n.into())
}
