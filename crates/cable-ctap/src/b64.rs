//! Binary fields of WebAuthn JSON: base64url without padding (WebAuthn L3 §5.1.8).

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes that serialize as unpadded base64url. Decoding also accepts padded input, since some
/// relying-party libraries emit it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Url(pub Vec<u8>);

impl Base64Url {
    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if text.ends_with('=') {
            URL_SAFE.decode(text).ok()
        } else {
            URL_SAFE_NO_PAD.decode(text).ok()
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Base64Url {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Base64Url {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl Serialize for Base64Url {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Self::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::decode(&text).map(Self).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not base64url (letters, digits, '-' and '_', no padding)"
            ))
        })
    }
}
