//! The structures shared by several CTAP messages: relying party, user, credential descriptors
//! and parameters, extension maps and option maps (CTAP 2.2 §6.1, §6.2).

use crate::cbor_util::{self as cu, as_array, as_bool, as_bytes, as_i64, as_text, TextMap};
use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::{self, Value};

/// The only credential type WebAuthn defines.
pub const PUBLIC_KEY: &str = "public-key";
/// COSE algorithm ES256 (ECDSA P-256 with SHA-256), the one algorithm phones use for passkeys.
pub const ES256: i64 = -7;

/// A message that encodes to canonical CBOR and decodes from any valid CBOR.
pub trait CborMessage: Sized {
    /// Names the message in decoding errors.
    const CONTEXT: &'static str;

    /// The message as a CBOR value (maps in any order; [`CborMessage::to_cbor`] sorts them).
    fn to_value(&self) -> Value;

    /// Reads the message from a CBOR value, ignoring unknown keys.
    fn from_value(value: &Value) -> Result<Self>;

    /// Canonical CBOR bytes (CTAP2 key order at every depth).
    fn to_cbor(&self) -> Vec<u8> {
        cbor::to_canonical_vec(&self.to_value())
    }

    /// Decodes exactly one CBOR item filling `bytes`.
    fn from_cbor(bytes: &[u8]) -> Result<Self> {
        Self::from_value(&cu::decode(bytes, Self::CONTEXT)?)
    }
}

/// `PublicKeyCredentialRpEntity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub name: Option<String>,
}

impl RelyingParty {
    pub(crate) fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::text("id"), Some(cu::text(&self.id))),
            (cu::text("name"), self.name.as_deref().map(cu::text)),
        ])
    }

    pub(crate) fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        Ok(Self {
            id: as_text(m.require("id")?, &m.field("id"))?.to_owned(),
            name: m.text("name")?,
        })
    }
}

/// `PublicKeyCredentialUserEntity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Vec<u8>,
    pub name: Option<String>,
    pub display_name: Option<String>,
}

impl User {
    pub(crate) fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::text("id"), Some(cu::bytes(&self.id))),
            (cu::text("name"), self.name.as_deref().map(cu::text)),
            (
                cu::text("displayName"),
                self.display_name.as_deref().map(cu::text),
            ),
        ])
    }

    pub(crate) fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        Ok(Self {
            id: as_bytes(m.require("id")?, &m.field("id"))?.to_vec(),
            name: m.text("name")?,
            display_name: m.text("displayName")?,
        })
    }
}

/// `PublicKeyCredentialDescriptor`: an entry of an allow or exclude list, or the credential of
/// an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDescriptor {
    pub id: Vec<u8>,
    pub cred_type: String,
    /// Kept when decoding; the WebAuthn mapping never sends them (iOS answers "no passkeys"
    /// when allow-list entries carry transports).
    pub transports: Option<Vec<String>>,
}

impl CredentialDescriptor {
    /// A `public-key` descriptor without transports.
    pub fn public_key(id: impl Into<Vec<u8>>) -> Self {
        Self {
            id: id.into(),
            cred_type: PUBLIC_KEY.to_owned(),
            transports: None,
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::text("id"), Some(cu::bytes(&self.id))),
            (cu::text("type"), Some(cu::text(&self.cred_type))),
            (
                cu::text("transports"),
                self.transports
                    .as_ref()
                    .map(|t| Value::Array(t.iter().map(|s| cu::text(s)).collect())),
            ),
        ])
    }

    pub(crate) fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        let transports = match m.get("transports") {
            Some(v) => Some(cu::as_text_list(v, &m.field("transports"))?),
            None => None,
        };
        Ok(Self {
            id: as_bytes(m.require("id")?, &m.field("id"))?.to_vec(),
            cred_type: as_text(m.require("type")?, &m.field("type"))?.to_owned(),
            transports,
        })
    }

    pub(crate) fn list_to_value(list: &[Self]) -> Option<Value> {
        (!list.is_empty()).then(|| Value::Array(list.iter().map(Self::to_value).collect()))
    }

    pub(crate) fn list_from_value(value: Option<&Value>, context: &str) -> Result<Vec<Self>> {
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        as_array(value, context)?
            .iter()
            .enumerate()
            .map(|(i, item)| Self::from_value(item, &format!("{context}[{i}]")))
            .collect()
    }
}

/// `PublicKeyCredentialParameters`: one acceptable key type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialParameter {
    pub alg: i64,
    pub cred_type: String,
}

impl CredentialParameter {
    /// A `public-key` parameter for COSE algorithm `alg`.
    pub fn public_key(alg: i64) -> Self {
        Self {
            alg,
            cred_type: PUBLIC_KEY.to_owned(),
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::Map(vec![
            (cu::text("alg"), cu::int(self.alg)),
            (cu::text("type"), cu::text(&self.cred_type)),
        ])
    }

    pub(crate) fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        Ok(Self {
            alg: as_i64(m.require("alg")?, &m.field("alg"))?,
            cred_type: as_text(m.require("type")?, &m.field("type"))?.to_owned(),
        })
    }

    pub(crate) fn list_from_value(value: &Value, context: &str) -> Result<Vec<Self>> {
        as_array(value, context)?
            .iter()
            .enumerate()
            .map(|(i, item)| Self::from_value(item, &format!("{context}[{i}]")))
            .collect()
    }
}

/// An extension map (`{"prf": …, "credProtect": 2}`): names to CBOR values, passed through
/// as they are. Encoded only when non-empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extensions(pub Vec<(String, Value)>);

impl Extensions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Sets `name`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub(crate) fn to_value(&self) -> Option<Value> {
        (!self.is_empty()).then(|| {
            Value::Map(
                self.0
                    .iter()
                    .map(|(k, v)| (cu::text(k), v.clone()))
                    .collect(),
            )
        })
    }

    pub(crate) fn from_value(value: Option<&Value>, context: &str) -> Result<Self> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let entries = cu::as_map(value, context)?;
        entries
            .iter()
            .map(|(k, v)| match k {
                Value::Text(name) => Ok((name.clone(), v.clone())),
                other => Err(CtapError::wrong_type(
                    format!("{context} key"),
                    "a text string",
                    cu::kind(other),
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }
}

/// The option map of makeCredential (key 7) and getAssertion (key 5). Absent means "not sent";
/// unknown option names are ignored when decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    pub rk: Option<bool>,
    pub up: Option<bool>,
    pub uv: Option<bool>,
}

impl Options {
    pub(crate) fn to_value(self) -> Option<Value> {
        let v = cu::map(vec![
            (cu::text("rk"), self.rk.map(Value::Bool)),
            (cu::text("up"), self.up.map(Value::Bool)),
            (cu::text("uv"), self.uv.map(Value::Bool)),
        ]);
        matches!(&v, Value::Map(m) if !m.is_empty()).then_some(v)
    }

    pub(crate) fn from_value(value: Option<&Value>, context: &str) -> Result<Self> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let m = TextMap::new(value, context)?;
        let flag = |name: &str| -> Result<Option<bool>> {
            m.get(name).map(|v| as_bool(v, &m.field(name))).transpose()
        };
        Ok(Self {
            rk: flag("rk")?,
            up: flag("up")?,
            uv: flag("uv")?,
        })
    }
}
