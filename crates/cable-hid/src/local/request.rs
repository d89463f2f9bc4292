//! Just enough of makeCredential and getAssertion (CTAP 2.2 §6.1, §6.2) to decide who answers.
//!
//! Only the fields the decision needs are read and checked; everything else goes to the phone
//! untouched, and the phone validates it. A field that is present but of the wrong type is
//! still an error here, with the status a key would give.

use cable_ctap::CtapStatus;
use cable_keys::cbor::{self, Value};

/// What a makeCredential request says that matters locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MakeCredential {
    pub rp_id: String,
    /// options.up, if given (it defaults to true).
    pub up: Option<bool>,
}

/// What a getAssertion request says that matters locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetAssertion {
    pub rp_id: String,
    /// The credential IDs of the allowList, in order.
    pub allow_list: Vec<Vec<u8>>,
    pub up: Option<bool>,
}

type Entries = Vec<(Value, Value)>;

/// The request's parameter map.
fn params(bytes: &[u8]) -> Result<Entries, CtapStatus> {
    match cbor::from_slice(bytes).map_err(|_| CtapStatus::InvalidCbor)? {
        Value::Map(entries) => Ok(entries),
        _ => Err(CtapStatus::CborUnexpectedType),
    }
}

fn require(entries: &Entries, key: u64) -> Result<&Value, CtapStatus> {
    cbor::map_get(entries, key).ok_or(CtapStatus::MissingParameter)
}

fn text(value: &Value) -> Result<&str, CtapStatus> {
    value.as_text().ok_or(CtapStatus::CborUnexpectedType)
}

fn bytes(value: &Value) -> Result<&[u8], CtapStatus> {
    value
        .as_bytes()
        .map(Vec::as_slice)
        .ok_or(CtapStatus::CborUnexpectedType)
}

fn map(value: &Value) -> Result<&Entries, CtapStatus> {
    value.as_map().ok_or(CtapStatus::CborUnexpectedType)
}

/// options.up: absent, or a boolean (§6.1, §6.2: every option value is a boolean).
fn up_option(entries: &Entries, key: u64) -> Result<Option<bool>, CtapStatus> {
    let Some(options) = cbor::map_get(entries, key) else {
        return Ok(None);
    };
    let options = map(options)?;
    for (name, value) in options {
        text(name)?;
        value.as_bool().ok_or(CtapStatus::CborUnexpectedType)?;
    }
    Ok(cbor::map_get_text(options, "up").and_then(Value::as_bool))
}

impl MakeCredential {
    /// Reads the CBOR after the command byte.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtapStatus> {
        let entries = params(bytes)?;
        self::bytes(require(&entries, 1)?)?; // clientDataHash
        let rp = map(require(&entries, 2)?)?;
        let rp_id = text(cbor::map_get_text(rp, "id").ok_or(CtapStatus::MissingParameter)?)?;
        map(require(&entries, 3)?)?; // user
        require(&entries, 4)?
            .as_array()
            .ok_or(CtapStatus::CborUnexpectedType)?; // pubKeyCredParams
        Ok(MakeCredential {
            rp_id: rp_id.to_owned(),
            up: up_option(&entries, 7)?,
        })
    }
}

impl GetAssertion {
    /// Reads the CBOR after the command byte.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtapStatus> {
        let entries = params(bytes)?;
        let rp_id = text(require(&entries, 1)?)?;
        self::bytes(require(&entries, 2)?)?; // clientDataHash
        let allow_list = match cbor::map_get(&entries, 3) {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or(CtapStatus::CborUnexpectedType)?
                .iter()
                .map(|descriptor| {
                    let descriptor = map(descriptor)?;
                    let id =
                        cbor::map_get_text(descriptor, "id").ok_or(CtapStatus::MissingParameter)?;
                    let kind = cbor::map_get_text(descriptor, "type")
                        .ok_or(CtapStatus::MissingParameter)?;
                    text(kind)?;
                    Ok(self::bytes(id)?.to_vec())
                })
                .collect::<Result<_, CtapStatus>>()?,
        };
        Ok(GetAssertion {
            rp_id: rp_id.to_owned(),
            allow_list,
            up: up_option(&entries, 5)?,
        })
    }
}
