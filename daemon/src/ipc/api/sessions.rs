//! The session methods: `webauthn.create`, `webauthn.get`, `hybrid.start`, `ctap.send`,
//! `session.cancel`.

use super::{Base64Url, Method};
use cable_qr::RequestType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `webauthn.create` / `webauthn.get` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebAuthnParams {
    /// The caller's origin, checked against the options' RP ID.
    pub origin: String,
    /// The top-level page's origin, only for a caller in a cross-origin iframe (a browser
    /// extension knows it from the tab): `clientDataJSON` then carries `"crossOrigin":true`
    /// and this as `topOrigin`. Absent: a same-origin call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_origin: Option<String>,
    /// `PublicKeyCredentialCreationOptionsJSON` / `PublicKeyCredentialRequestOptionsJSON`.
    pub options: Map<String, Value>,
    /// Reach only this linked phone (an id or unique prefix from `devices.list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Only the QR code: do not contact linked phones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_only: Option<bool>,
}

/// `webauthn.create`: a registration; answers `RegistrationResponseJSON`.
pub struct WebAuthnCreate;
impl Method for WebAuthnCreate {
    const NAME: &'static str = "webauthn.create";
    type Params = WebAuthnParams;
    /// The WebAuthn Level 3 JSON credential, as the engine built it.
    type Result = Map<String, Value>;
}

method! {
    /// `webauthn.get`: a sign-in; answers `AuthenticationResponseJSON`.
    WebAuthnGet = "webauthn.get" (WebAuthnParams) -> Map<String, Value>
}

/// The request type hint of the QR code, as the wire spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestTypeName {
    #[serde(rename = "mc")]
    MakeCredential,
    #[serde(rename = "ga")]
    GetAssertion,
    #[serde(rename = "dcp")]
    DcPresentation,
    #[serde(rename = "dci")]
    DcIssuance,
}

impl From<RequestTypeName> for RequestType {
    fn from(name: RequestTypeName) -> Self {
        match name {
            RequestTypeName::MakeCredential => RequestType::MakeCredential,
            RequestTypeName::GetAssertion => RequestType::GetAssertion,
            RequestTypeName::DcPresentation => RequestType::DcPresentation,
            RequestTypeName::DcIssuance => RequestType::DcIssuance,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HybridStartParams {
    pub request_type: RequestTypeName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_only: Option<bool>,
}

/// The id of a session just started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub session: String,
}

method! {
    /// `hybrid.start`: a raw CTAP relay session; answers at once with its id.
    HybridStart = "hybrid.start" (HybridStartParams) -> Started
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtapSendParams {
    pub session: String,
    /// `command ‖ CBOR`.
    pub request: Base64Url,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtapResponse {
    /// `status ‖ CBOR`, exactly as the phone sent it.
    pub response: Base64Url,
}

method! {
    /// `ctap.send`: one CTAP2 command to the phone of a `hybrid.start` session.
    CtapSend = "ctap.send" (CtapSendParams) -> CtapResponse
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    pub session: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub session: String,
    pub cancelled: bool,
}

method! {
    /// `session.cancel`: cancels one of this connection's sessions.
    SessionCancel = "session.cancel" (SessionParams) -> Cancelled
}
