//! HYBRID.md §9.5: the client payload a desktop sends in `X-caBLE-Client-Payload` when it
//! contacts a linked phone: `{1: link ID, 2: client nonce, 3: "ga" | "mc"}`.

use crate::error::{Error, Result};
use cable_keys::cbor::{self, Value};

/// Request type for getAssertion.
pub const REQUEST_TYPE_GET_ASSERTION: &str = "ga";
/// Request type for makeCredential.
pub const REQUEST_TYPE_MAKE_CREDENTIAL: &str = "mc";

const MAP: &str = "client payload";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPayload {
    /// Key 1: which link (from the phone's linking data).
    pub link_id: [u8; 8],
    /// Key 2: fresh per request; salts the EID key.
    pub client_nonce: [u8; 16],
    /// Key 3: "ga" or "mc" (Chromium also defines "dcp"/"dci"); kept verbatim.
    pub request_type: String,
}

impl ClientPayload {
    /// Canonical CBOR.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical_vec(&Value::Map(vec![
            (int(1), Value::Bytes(self.link_id.to_vec())),
            (int(2), Value::Bytes(self.client_nonce.to_vec())),
            (int(3), Value::Text(self.request_type.clone())),
        ]))
    }

    /// Phone side: strict lengths (8-byte link ID, 16-byte nonce) and a text request type.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let value = cbor::from_slice(bytes).map_err(|e| Error::cbor(MAP, e))?;
        let Value::Map(entries) = &value else {
            return Err(Error::NotAMap(MAP));
        };
        let bytes = |key: u64, problem: &'static str| match cbor::map_get(entries, key) {
            Some(Value::Bytes(b)) => Ok(b.as_slice()),
            _ => Err(field(key, problem)),
        };
        let link_id = bytes(1, "(link ID) must be 8 bytes")?
            .try_into()
            .map_err(|_| field(1, "(link ID) must be 8 bytes"))?;
        let client_nonce = bytes(2, "(client nonce) must be 16 bytes")?
            .try_into()
            .map_err(|_| field(2, "(client nonce) must be 16 bytes"))?;
        let request_type = match cbor::map_get(entries, 3) {
            Some(Value::Text(t)) => t.clone(),
            _ => return Err(field(3, "(request type) must be a text string")),
        };
        Ok(Self {
            link_id,
            client_nonce,
            request_type,
        })
    }

    /// The header value: upper-case hex of the CBOR, as Chromium sends.
    pub fn header_value(&self) -> String {
        hex::encode_upper(self.encode())
    }

    /// Parses a header value (either hex case).
    pub fn from_header_value(value: &str) -> Result<Self> {
        let bytes = hex::decode(value.trim()).map_err(|_| Error::ClientPayloadHex)?;
        Self::decode(&bytes)
    }
}

fn int(n: u64) -> Value {
    Value::Integer(n.into())
}

fn field(key: u64, problem: &'static str) -> Error {
    Error::Field {
        map: MAP,
        key,
        problem,
    }
}
