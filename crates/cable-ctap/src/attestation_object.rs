//! The WebAuthn attestation object `{"fmt", "attStmt", "authData"}` (WebAuthn §6.5) and the
//! `packed` statement `{"alg", "sig", "x5c"?}` (§8.2).

use crate::cbor_util::{self as cu, as_bytes, as_i64, as_text, TextMap};
use crate::entities::CborMessage;
use crate::make_credential::MakeCredentialResponse;
use crate::Result;
use cable_keys::cbor::Value;

/// The attestation object a registration response carries, built from a makeCredential
/// response by renaming its integer keys.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationObject {
    pub fmt: String,
    pub att_stmt: Value,
    pub auth_data: Vec<u8>,
}

impl AttestationObject {
    pub fn from_response(response: &MakeCredentialResponse) -> Self {
        Self {
            fmt: response.fmt.clone(),
            att_stmt: response.att_stmt.clone(),
            auth_data: response.auth_data.clone(),
        }
    }
}

impl CborMessage for AttestationObject {
    const CONTEXT: &'static str = "attestation object";

    fn to_value(&self) -> Value {
        Value::Map(vec![
            (cu::text("fmt"), cu::text(&self.fmt)),
            (cu::text("attStmt"), self.att_stmt.clone()),
            (cu::text("authData"), cu::bytes(&self.auth_data)),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = TextMap::new(value, Self::CONTEXT)?;
        let att_stmt = m.require("attStmt")?;
        cu::as_map(att_stmt, &m.field("attStmt"))?;
        Ok(Self {
            fmt: as_text(m.require("fmt")?, &m.field("fmt"))?.to_owned(),
            att_stmt: att_stmt.clone(),
            auth_data: as_bytes(m.require("authData")?, &m.field("authData"))?.to_vec(),
        })
    }
}

/// A `packed` attestation statement. Without `x5c` it is self attestation: `sig` is made with
/// the credential's own key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedStatement {
    pub alg: i64,
    pub sig: Vec<u8>,
    pub x5c: Vec<Vec<u8>>,
}

impl PackedStatement {
    pub fn to_value(&self) -> Value {
        let x5c = (!self.x5c.is_empty())
            .then(|| Value::Array(self.x5c.iter().map(|c| cu::bytes(c)).collect()));
        cu::map(vec![
            (cu::text("alg"), Some(cu::int(self.alg))),
            (cu::text("sig"), Some(cu::bytes(&self.sig))),
            (cu::text("x5c"), x5c),
        ])
    }

    pub fn from_value(value: &Value) -> Result<Self> {
        let m = TextMap::new(value, "packed attStmt")?;
        let x5c = match m.get("x5c") {
            Some(v) => cu::as_array(v, &m.field("x5c"))?
                .iter()
                .map(|c| as_bytes(c, &m.field("x5c")).map(<[u8]>::to_vec))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            alg: as_i64(m.require("alg")?, &m.field("alg"))?,
            sig: as_bytes(m.require("sig")?, &m.field("sig"))?.to_vec(),
            x5c,
        })
    }
}
