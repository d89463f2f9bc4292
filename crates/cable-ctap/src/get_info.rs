//! authenticatorGetInfo (0x04) response (CTAP 2.2 §6.4). Over hybrid the desktop never sends
//! getInfo: the phone puts these bytes in the post-handshake message (HYBRID.md §7.4, §8).

use crate::cbor_util::{self as cu, as_array, as_bool, as_text, as_u64, IntMap};
use crate::entities::{CborMessage, CredentialParameter};
use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::Value;
use std::collections::BTreeMap;

/// The getInfo fields this crate reads; unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetInfoResponse {
    /// 1: e.g. `FIDO_2_0`, `FIDO_2_1`.
    pub versions: Vec<String>,
    /// 2: e.g. `prf` (omitted when empty).
    pub extensions: Vec<String>,
    /// 3
    pub aaguid: [u8; 16],
    /// 4: e.g. `rk`, `up`, `uv`, `plat` (omitted when empty).
    pub options: BTreeMap<String, bool>,
    /// 5
    pub max_msg_size: Option<u64>,
    /// 6: phones list none (§8: no PIN/UV protocol).
    pub pin_uv_auth_protocols: Vec<u64>,
    /// 7
    pub max_credential_count_in_list: Option<u64>,
    /// 8
    pub max_credential_id_length: Option<u64>,
    /// 9: e.g. `internal`, `hybrid`.
    pub transports: Vec<String>,
    /// 10
    pub algorithms: Vec<CredentialParameter>,
    /// 14
    pub firmware_version: Option<u64>,
    /// 20
    pub remaining_discoverable_credentials: Option<u64>,
    /// 22
    pub attestation_formats: Vec<String>,
}

impl GetInfoResponse {
    /// The value of option `name`, if the authenticator reports it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options.get(name).copied()
    }

    /// Whether the authenticator lists extension `name`.
    pub fn supports_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }

    /// The AAGUID in the usual 8-4-4-4-12 hex form.
    pub fn aaguid_string(&self) -> String {
        format_aaguid(&self.aaguid)
    }
}

/// Formats 16 bytes as `f24a8e70-d0d3-f82c-2937-32523cc4de5a`.
pub fn format_aaguid(aaguid: &[u8; 16]) -> String {
    let hex: String = aaguid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn text_list(list: &[String]) -> Option<Value> {
    (!list.is_empty()).then(|| Value::Array(list.iter().map(|s| cu::text(s)).collect()))
}

impl CborMessage for GetInfoResponse {
    const CONTEXT: &'static str = "getInfo response";

    fn to_value(&self) -> Value {
        let options = (!self.options.is_empty()).then(|| {
            Value::Map(
                self.options
                    .iter()
                    .map(|(k, v)| (cu::text(k), Value::Bool(*v)))
                    .collect(),
            )
        });
        cu::map(vec![
            (
                cu::uint(1),
                Some(Value::Array(
                    self.versions.iter().map(|s| cu::text(s)).collect(),
                )),
            ),
            (cu::uint(2), text_list(&self.extensions)),
            (cu::uint(3), Some(cu::bytes(&self.aaguid))),
            (cu::uint(4), options),
            (cu::uint(5), self.max_msg_size.map(cu::uint)),
            (
                cu::uint(6),
                (!self.pin_uv_auth_protocols.is_empty()).then(|| {
                    Value::Array(
                        self.pin_uv_auth_protocols
                            .iter()
                            .map(|p| cu::uint(*p))
                            .collect(),
                    )
                }),
            ),
            (cu::uint(7), self.max_credential_count_in_list.map(cu::uint)),
            (cu::uint(8), self.max_credential_id_length.map(cu::uint)),
            (cu::uint(9), text_list(&self.transports)),
            (
                cu::uint(10),
                (!self.algorithms.is_empty()).then(|| {
                    Value::Array(
                        self.algorithms
                            .iter()
                            .map(CredentialParameter::to_value)
                            .collect(),
                    )
                }),
            ),
            (cu::uint(14), self.firmware_version.map(cu::uint)),
            (
                cu::uint(20),
                self.remaining_discoverable_credentials.map(cu::uint),
            ),
            (cu::uint(22), text_list(&self.attestation_formats)),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = IntMap::new(value, Self::CONTEXT)?;
        let list = |key: u64, name: &str| -> Result<Vec<String>> {
            m.get(key)
                .map(|v| cu::as_text_list(v, &m.field(key, name)))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let number = |key: u64, name: &str| -> Result<Option<u64>> {
            m.get(key)
                .map(|v| as_u64(v, &m.field(key, name)))
                .transpose()
        };
        let aaguid_field = m.field(3, "aaguid");
        let aaguid_bytes = cu::as_bytes(m.require(3, "aaguid")?, &aaguid_field)?;
        let aaguid = <[u8; 16]>::try_from(aaguid_bytes).map_err(|_| CtapError::WrongLength {
            field: aaguid_field,
            expected: 16,
            found: aaguid_bytes.len(),
        })?;
        let mut options = BTreeMap::new();
        if let Some(v) = m.get(4) {
            let field = m.field(4, "options");
            for (k, v) in cu::as_map(v, &field)? {
                let name = as_text(k, &format!("{field} key"))?;
                options.insert(name.to_owned(), as_bool(v, &format!("{field}.{name}"))?);
            }
        }
        let pin_uv_auth_protocols = match m.get(6) {
            Some(v) => {
                let field = m.field(6, "pinUvAuthProtocols");
                as_array(v, &field)?
                    .iter()
                    .map(|p| as_u64(p, &field))
                    .collect::<Result<_>>()?
            }
            None => Vec::new(),
        };
        let algorithms = match m.get(10) {
            Some(v) => CredentialParameter::list_from_value(v, &m.field(10, "algorithms"))?,
            None => Vec::new(),
        };
        Ok(Self {
            versions: cu::as_text_list(m.require(1, "versions")?, &m.field(1, "versions"))?,
            extensions: list(2, "extensions")?,
            aaguid,
            options,
            max_msg_size: number(5, "maxMsgSize")?,
            pin_uv_auth_protocols,
            max_credential_count_in_list: number(7, "maxCredentialCountInList")?,
            max_credential_id_length: number(8, "maxCredentialIdLength")?,
            transports: list(9, "transports")?,
            algorithms,
            firmware_version: number(14, "firmwareVersion")?,
            remaining_discoverable_credentials: number(20, "remainingDiscoverableCredentials")?,
            attestation_formats: list(22, "attestationFormats")?,
        })
    }
}
