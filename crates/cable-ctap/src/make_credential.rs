//! authenticatorMakeCredential (0x01): request and response (CTAP 2.2 §6.1).

use crate::cbor_util::{self as cu, as_bool, as_bytes, as_text, as_u64, IntMap};
use crate::entities::{
    CborMessage, CredentialDescriptor, CredentialParameter, Extensions, Options, RelyingParty, User,
};
use crate::Result;
use cable_keys::cbor::Value;

/// The makeCredential parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeCredentialRequest {
    /// 1: SHA-256 of the clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// 2
    pub rp: RelyingParty,
    /// 3
    pub user: User,
    /// 4: acceptable key types, most preferred first.
    pub pub_key_cred_params: Vec<CredentialParameter>,
    /// 5: credentials the account already has (omitted when empty).
    pub exclude_list: Vec<CredentialDescriptor>,
    /// 6: extension inputs (omitted when empty).
    pub extensions: Extensions,
    /// 7: `rk`, `up`, `uv` (omitted when none is set).
    pub options: Options,
    /// 8: never sent to phones (§8); decoded so an authenticator can refuse it.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 9
    pub pin_uv_auth_protocol: Option<u64>,
    /// 10
    pub enterprise_attestation: Option<u64>,
}

impl CborMessage for MakeCredentialRequest {
    const CONTEXT: &'static str = "makeCredential request";

    fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::uint(1), Some(cu::bytes(&self.client_data_hash))),
            (cu::uint(2), Some(self.rp.to_value())),
            (cu::uint(3), Some(self.user.to_value())),
            (
                cu::uint(4),
                Some(Value::Array(
                    self.pub_key_cred_params
                        .iter()
                        .map(CredentialParameter::to_value)
                        .collect(),
                )),
            ),
            (
                cu::uint(5),
                CredentialDescriptor::list_to_value(&self.exclude_list),
            ),
            (cu::uint(6), self.extensions.to_value()),
            (cu::uint(7), self.options.to_value()),
            (
                cu::uint(8),
                self.pin_uv_auth_param.as_deref().map(cu::bytes),
            ),
            (cu::uint(9), self.pin_uv_auth_protocol.map(cu::uint)),
            (cu::uint(10), self.enterprise_attestation.map(cu::uint)),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = IntMap::new(value, Self::CONTEXT)?;
        Ok(Self {
            client_data_hash: cu::as_array32(
                m.require(1, "clientDataHash")?,
                &m.field(1, "clientDataHash"),
            )?,
            rp: RelyingParty::from_value(m.require(2, "rp")?, &m.field(2, "rp"))?,
            user: User::from_value(m.require(3, "user")?, &m.field(3, "user"))?,
            pub_key_cred_params: CredentialParameter::list_from_value(
                m.require(4, "pubKeyCredParams")?,
                &m.field(4, "pubKeyCredParams"),
            )?,
            exclude_list: CredentialDescriptor::list_from_value(
                m.get(5),
                &m.field(5, "excludeList"),
            )?,
            extensions: Extensions::from_value(m.get(6), &m.field(6, "extensions"))?,
            options: Options::from_value(m.get(7), &m.field(7, "options"))?,
            pin_uv_auth_param: m
                .get(8)
                .map(|v| as_bytes(v, &m.field(8, "pinUvAuthParam")).map(<[u8]>::to_vec))
                .transpose()?,
            pin_uv_auth_protocol: m
                .get(9)
                .map(|v| as_u64(v, &m.field(9, "pinUvAuthProtocol")))
                .transpose()?,
            enterprise_attestation: m
                .get(10)
                .map(|v| as_u64(v, &m.field(10, "enterpriseAttestation")))
                .transpose()?,
        })
    }
}

/// The makeCredential response (the CBOR after the status byte).
#[derive(Debug, Clone, PartialEq)]
pub struct MakeCredentialResponse {
    /// 1: attestation statement format, e.g. `"packed"` or `"none"`.
    pub fmt: String,
    /// 2: the raw authenticator data (kept as bytes: signatures cover these exact bytes).
    pub auth_data: Vec<u8>,
    /// 3: the attestation statement, a map whose shape depends on `fmt`.
    pub att_stmt: Value,
    /// 4: enterprise attestation returned.
    pub ep_att: Option<bool>,
    /// 5
    pub large_blob_key: Option<Vec<u8>>,
    /// 6: unsigned extension outputs, e.g. `{"prf": {"enabled": true}}` from phones.
    pub unsigned_extension_outputs: Extensions,
}

impl CborMessage for MakeCredentialResponse {
    const CONTEXT: &'static str = "makeCredential response";

    fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::uint(1), Some(cu::text(&self.fmt))),
            (cu::uint(2), Some(cu::bytes(&self.auth_data))),
            (cu::uint(3), Some(self.att_stmt.clone())),
            (cu::uint(4), self.ep_att.map(Value::Bool)),
            (cu::uint(5), self.large_blob_key.as_deref().map(cu::bytes)),
            (cu::uint(6), self.unsigned_extension_outputs.to_value()),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = IntMap::new(value, Self::CONTEXT)?;
        let att_stmt = m.require(3, "attStmt")?;
        cu::as_map(att_stmt, &m.field(3, "attStmt"))?;
        Ok(Self {
            fmt: as_text(m.require(1, "fmt")?, &m.field(1, "fmt"))?.to_owned(),
            auth_data: as_bytes(m.require(2, "authData")?, &m.field(2, "authData"))?.to_vec(),
            att_stmt: att_stmt.clone(),
            ep_att: m
                .get(4)
                .map(|v| as_bool(v, &m.field(4, "epAtt")))
                .transpose()?,
            large_blob_key: m
                .get(5)
                .map(|v| as_bytes(v, &m.field(5, "largeBlobKey")).map(<[u8]>::to_vec))
                .transpose()?,
            unsigned_extension_outputs: Extensions::from_value(
                m.get(6),
                &m.field(6, "unsignedExtensionOutputs"),
            )?,
        })
    }
}
