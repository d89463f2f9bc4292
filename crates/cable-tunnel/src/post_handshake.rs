//! HYBRID.md §7.4: the phone's first encrypted message (no type byte).
//!
//! `{1: getInfo bytes, 2: linking map (revision 0 only), 3: ["ctap", "dc"]}`. Revision 1 sends
//! plain CBOR; revision 0 padded it (LE16 count of zeros, total a multiple of 512; the oldest
//! form used one count byte and 256). The revision is detected the way Chromium does: plain
//! CBOR first, then the 16-bit padding, then the 8-bit padding.

use crate::error::{Error, Result};
use crate::frame::Revision;
use crate::linking::LinkingInfo;
use cable_keys::cbor::{self, Value};

/// Revision-0 padding granularity (`kPostHandshakeMsgPaddingGranularity`).
pub const POST_HANDSHAKE_PADDING: usize = 512;
/// The feature string for CTAP support.
pub const FEATURE_CTAP: &str = "ctap";
/// The feature string for digital credentials.
pub const FEATURE_DC: &str = "dc";

const WHAT: &str = "post-handshake message";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostHandshake {
    /// Key 1: the authenticatorGetInfo response CBOR (no status byte).
    pub get_info: Option<Vec<u8>>,
    /// Key 2: linking information (revision-0 phones only).
    pub linking: Option<LinkingInfo>,
    /// Key 3: features; `["ctap"]` when the phone sent none.
    pub features: Vec<String>,
}

impl PostHandshake {
    /// True if the phone accepts CTAP messages.
    pub fn supports_ctap(&self) -> bool {
        self.features.iter().any(|f| f == FEATURE_CTAP)
    }

    /// Encodes for `revision`. Key 3 is omitted when `features` is empty. Revision 1 is plain
    /// canonical CBOR; revision 0 adds the 512-byte padding.
    pub fn encode(&self, revision: Revision) -> Vec<u8> {
        let mut entries = Vec::new();
        if let Some(info) = &self.get_info {
            entries.push((Value::Integer(1.into()), Value::Bytes(info.clone())));
        }
        if let Some(linking) = &self.linking {
            entries.push((Value::Integer(2.into()), linking.to_value()));
        }
        if !self.features.is_empty() {
            let features = self.features.iter().cloned().map(Value::Text).collect();
            entries.push((Value::Integer(3.into()), Value::Array(features)));
        }
        let bytes = cbor::to_canonical_vec(&Value::Map(entries));
        match revision {
            Revision::One => bytes,
            Revision::Zero => pad_512(bytes),
        }
    }

    /// Decodes the (Crypter-unpadded) plaintext and reports which revision the phone speaks.
    pub fn decode(plaintext: &[u8]) -> Result<(Self, Revision)> {
        let (value, revision) = match cbor::from_slice(plaintext) {
            Ok(v) => (v, Revision::One),
            Err(_) => (
                decode_padded(plaintext).ok_or(Error::PostHandshakeUndecodable)?,
                Revision::Zero,
            ),
        };
        Ok((Self::from_value(&value)?, revision))
    }

    fn from_value(value: &Value) -> Result<Self> {
        let Value::Map(entries) = value else {
            return Err(Error::NotAMap(WHAT));
        };
        let features = match cbor::map_get(entries, 3) {
            None => vec![FEATURE_CTAP.to_string()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    // Chromium skips entries that are not strings.
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
            Some(_) => return Err(Error::FeaturesNotArray),
        };
        let ctap = features.iter().any(|f| f == FEATURE_CTAP);
        let get_info = match (cbor::map_get(entries, 1), ctap) {
            (Some(Value::Bytes(b)), true) => Some(b.clone()),
            (Some(_), true) => return Err(Error::GetInfoNotBytes),
            (None, true) => return Err(Error::MissingGetInfo),
            (Some(_), false) => return Err(Error::GetInfoWithoutCtap),
            (None, false) => None,
        };
        let linking = match cbor::map_get(entries, 2) {
            None => None,
            Some(v @ Value::Map(_)) => Some(LinkingInfo::from_value(v)?),
            Some(_) => return Err(Error::NotAMap("post-handshake key 2 (linking)")),
        };
        Ok(Self {
            get_info,
            linking,
            features,
        })
    }
}

/// Revision-0 padding: zeros then LE16 count so the total is a multiple of 512.
pub fn pad_512(mut bytes: Vec<u8>) -> Vec<u8> {
    let padded_len = (bytes.len() + 2).next_multiple_of(POST_HANDSHAKE_PADDING);
    let zeros = padded_len - bytes.len() - 2;
    bytes.resize(padded_len - 2, 0);
    // zeros < 512, so it fits in 16 bits.
    bytes.extend_from_slice(&(zeros as u16).to_le_bytes());
    bytes
}

/// Undoes either revision-0 padding, 16-bit count first (Chromium's `DecodePaddedCBORMap`).
/// The total length is not checked against the granularity, as in Chromium.
pub fn decode_padded(input: &[u8]) -> Option<Value> {
    decode_padded16(input).or_else(|| decode_padded8(input))
}

fn decode_padded16(input: &[u8]) -> Option<Value> {
    let split = input.len().checked_sub(2)?;
    let (body, count) = input.split_at(split);
    let zeros = usize::from(u16::from_le_bytes([*count.first()?, *count.get(1)?]));
    map_prefix(body, zeros)
}

fn decode_padded8(input: &[u8]) -> Option<Value> {
    let (&count, body) = input.split_last()?;
    map_prefix(body, usize::from(count))
}

fn map_prefix(body: &[u8], zeros: usize) -> Option<Value> {
    let keep = body.len().checked_sub(zeros)?;
    match cbor::from_slice(body.get(..keep)?) {
        Ok(v @ Value::Map(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let enc = |v: Value| cbor::to_canonical_vec(&v);
        let i = |n: u64| Value::Integer(n.into());
        // Missing features means CTAP, which then needs key 1 as bytes.
        assert_eq!(
            PostHandshake::decode(&enc(Value::Map(vec![]))),
            Err(Error::MissingGetInfo)
        );
        assert_eq!(
            PostHandshake::decode(&enc(Value::Map(vec![(i(1), i(5))]))),
            Err(Error::GetInfoNotBytes)
        );
        // Features without ctap: key 1 must be absent.
        let dc = Value::Array(vec![Value::Text("dc".into()), i(7)]);
        let (m, r) = PostHandshake::decode(&enc(Value::Map(vec![(i(3), dc.clone())]))).unwrap();
        assert_eq!((m.features, r), (vec!["dc".to_string()], Revision::One));
        assert_eq!(
            PostHandshake::decode(&enc(Value::Map(vec![
                (i(1), Value::Bytes(vec![0xa0])),
                (i(3), dc)
            ]))),
            Err(Error::GetInfoWithoutCtap)
        );
        assert_eq!(
            PostHandshake::decode(&enc(Value::Map(vec![(i(3), i(1))]))),
            Err(Error::FeaturesNotArray)
        );
        assert_eq!(
            PostHandshake::decode(&enc(Value::Map(vec![
                (i(1), Value::Bytes(vec![0xa0])),
                (i(2), i(1))
            ]))),
            Err(Error::NotAMap("post-handshake key 2 (linking)"))
        );
        // Key 0 and unknown keys are ignored.
        let (m, _) = PostHandshake::decode(&enc(Value::Map(vec![
            (i(0), Value::Bytes(vec![0; 9])),
            (i(1), Value::Bytes(vec![0xa0])),
            (i(42), Value::Null),
        ])))
        .unwrap();
        assert_eq!(m.get_info, Some(vec![0xa0]));
        // Not a map at all.
        assert_eq!(PostHandshake::decode(&enc(i(1))), Err(Error::NotAMap(WHAT)));
        assert_eq!(
            PostHandshake::decode(&[0xff, 0xff]),
            Err(Error::PostHandshakeUndecodable)
        );
    }

    #[test]
    fn oldest_padding_is_accepted() {
        let mut body = cbor::to_canonical_vec(&Value::Map(vec![(
            Value::Integer(1.into()),
            Value::Bytes(vec![0xa0]),
        )]));
        let zeros = 256 - body.len() - 1;
        body.resize(255, 0);
        body.push(zeros as u8);
        let (m, r) = PostHandshake::decode(&body).unwrap();
        assert_eq!((m.get_info, r), (Some(vec![0xa0]), Revision::Zero));
    }
}
