//! authenticatorGetAssertion (0x02) request and response; the response also answers
//! authenticatorGetNextAssertion (0x08) (CTAP 2.2 §6.2, §6.3).

use crate::cbor_util::{self as cu, as_bool, as_bytes, as_text, as_u64, IntMap};
use crate::entities::{CborMessage, CredentialDescriptor, Extensions, Options, User};
use crate::Result;
use cable_keys::cbor::Value;

/// The getAssertion parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GetAssertionRequest {
    /// 1
    pub rp_id: String,
    /// 2: SHA-256 of the clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// 3: acceptable credentials; empty (omitted) means "any discoverable credential".
    pub allow_list: Vec<CredentialDescriptor>,
    /// 4: extension inputs, e.g. `{"prf": {"eval": …, "evalByCredential": …}}`.
    pub extensions: Extensions,
    /// 5: `up`, `uv` (and `rk`, which authenticators reject).
    pub options: Options,
    /// 6: never sent to phones (§8).
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 7
    pub pin_uv_auth_protocol: Option<u64>,
}

impl CborMessage for GetAssertionRequest {
    const CONTEXT: &'static str = "getAssertion request";

    fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::uint(1), Some(cu::text(&self.rp_id))),
            (cu::uint(2), Some(cu::bytes(&self.client_data_hash))),
            (
                cu::uint(3),
                CredentialDescriptor::list_to_value(&self.allow_list),
            ),
            (cu::uint(4), self.extensions.to_value()),
            (cu::uint(5), self.options.to_value()),
            (
                cu::uint(6),
                self.pin_uv_auth_param.as_deref().map(cu::bytes),
            ),
            (cu::uint(7), self.pin_uv_auth_protocol.map(cu::uint)),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = IntMap::new(value, Self::CONTEXT)?;
        Ok(Self {
            rp_id: as_text(m.require(1, "rpId")?, &m.field(1, "rpId"))?.to_owned(),
            client_data_hash: cu::as_array32(
                m.require(2, "clientDataHash")?,
                &m.field(2, "clientDataHash"),
            )?,
            allow_list: CredentialDescriptor::list_from_value(m.get(3), &m.field(3, "allowList"))?,
            extensions: Extensions::from_value(m.get(4), &m.field(4, "extensions"))?,
            options: Options::from_value(m.get(5), &m.field(5, "options"))?,
            pin_uv_auth_param: m
                .get(6)
                .map(|v| as_bytes(v, &m.field(6, "pinUvAuthParam")).map(<[u8]>::to_vec))
                .transpose()?,
            pin_uv_auth_protocol: m
                .get(7)
                .map(|v| as_u64(v, &m.field(7, "pinUvAuthProtocol")))
                .transpose()?,
        })
    }
}

/// The getAssertion / getNextAssertion response (the CBOR after the status byte).
#[derive(Debug, Clone, PartialEq)]
pub struct GetAssertionResponse {
    /// 1: the credential used; may be omitted when the allow list had exactly one entry.
    pub credential: Option<CredentialDescriptor>,
    /// 2: the raw authenticator data (signed as is).
    pub auth_data: Vec<u8>,
    /// 3: DER ECDSA signature over `authData || clientDataHash`.
    pub signature: Vec<u8>,
    /// 4: the account, required for discoverable credentials.
    pub user: Option<User>,
    /// 5: how many credentials matched (first response only).
    pub number_of_credentials: Option<u64>,
    /// 6: the person picked this account on the authenticator.
    pub user_selected: Option<bool>,
    /// 7
    pub large_blob_key: Option<Vec<u8>>,
    /// 8: unsigned extension outputs, e.g. `{"prf": {"results": {"first": …}}}` from phones.
    pub unsigned_extension_outputs: Extensions,
}

impl CborMessage for GetAssertionResponse {
    const CONTEXT: &'static str = "getAssertion response";

    fn to_value(&self) -> Value {
        cu::map(vec![
            (
                cu::uint(1),
                self.credential.as_ref().map(CredentialDescriptor::to_value),
            ),
            (cu::uint(2), Some(cu::bytes(&self.auth_data))),
            (cu::uint(3), Some(cu::bytes(&self.signature))),
            (cu::uint(4), self.user.as_ref().map(User::to_value)),
            (cu::uint(5), self.number_of_credentials.map(cu::uint)),
            (cu::uint(6), self.user_selected.map(Value::Bool)),
            (cu::uint(7), self.large_blob_key.as_deref().map(cu::bytes)),
            (cu::uint(8), self.unsigned_extension_outputs.to_value()),
        ])
    }

    fn from_value(value: &Value) -> Result<Self> {
        let m = IntMap::new(value, Self::CONTEXT)?;
        Ok(Self {
            credential: m
                .get(1)
                .map(|v| CredentialDescriptor::from_value(v, &m.field(1, "credential")))
                .transpose()?,
            auth_data: as_bytes(m.require(2, "authData")?, &m.field(2, "authData"))?.to_vec(),
            signature: as_bytes(m.require(3, "signature")?, &m.field(3, "signature"))?.to_vec(),
            user: m
                .get(4)
                .map(|v| User::from_value(v, &m.field(4, "user")))
                .transpose()?,
            number_of_credentials: m
                .get(5)
                .map(|v| as_u64(v, &m.field(5, "numberOfCredentials")))
                .transpose()?,
            user_selected: m
                .get(6)
                .map(|v| as_bool(v, &m.field(6, "userSelected")))
                .transpose()?,
            large_blob_key: m
                .get(7)
                .map(|v| as_bytes(v, &m.field(7, "largeBlobKey")).map(<[u8]>::to_vec))
                .transpose()?,
            unsigned_extension_outputs: Extensions::from_value(
                m.get(8),
                &m.field(8, "unsignedExtensionOutputs"),
            )?,
        })
    }
}
