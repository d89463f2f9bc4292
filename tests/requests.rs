//! WebAuthn Level 3 JSON options for the engine, with the values a test checks the phone's
//! answer against.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cabled::engine::WebAuthnRequest;
use rand_core::{OsRng, RngCore};
use serde_json::json;

pub const RP_ID: &str = "e2e.cable.example";
pub const ORIGIN: &str = "https://e2e.cable.example";

/// Which ceremony a credential answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Create,
    Get,
}

impl Ceremony {
    /// `clientDataJSON.type`.
    pub fn client_data_type(self) -> &'static str {
        match self {
            Self::Create => "webauthn.create",
            Self::Get => "webauthn.get",
        }
    }
}

/// What the credential must say.
#[derive(Debug, Clone)]
pub struct Expected {
    pub ceremony: Ceremony,
    pub rp_id: String,
    pub origin: String,
    /// `None` when another program chose it (cablectl): then only its form is checked.
    pub challenge: Option<Vec<u8>>,
    /// The user handle given at registration.
    pub user_id: Option<Vec<u8>>,
}

/// A registration of a discoverable passkey for `user` on [`RP_ID`], user verification
/// required, ES256.
pub fn create(user: &str) -> (WebAuthnRequest, Expected) {
    let challenge = random(32);
    let user_id = format!("user:{user}").into_bytes();
    let options = json!({
        "rp": { "id": RP_ID, "name": "cable end-to-end tests" },
        "user": {
            "id": b64(&user_id),
            "name": format!("{user}@{RP_ID}"),
            "displayName": user,
        },
        "challenge": b64(&challenge),
        "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
        "authenticatorSelection": { "residentKey": "required", "userVerification": "required" },
    });
    let request = WebAuthnRequest::Create {
        origin: ORIGIN.into(),
        options,
    };
    let expected = Expected {
        ceremony: Ceremony::Create,
        rp_id: RP_ID.into(),
        origin: ORIGIN.into(),
        challenge: Some(challenge),
        user_id: Some(user_id),
    };
    (request, expected)
}

/// A sign-in on [`RP_ID`] with any passkey (empty allow list), user verification required.
pub fn get() -> (WebAuthnRequest, Expected) {
    let challenge = random(32);
    let options = json!({
        "rpId": RP_ID,
        "challenge": b64(&challenge),
        "userVerification": "required",
    });
    let request = WebAuthnRequest::Get {
        origin: ORIGIN.into(),
        options,
    };
    let expected = Expected {
        ceremony: Ceremony::Get,
        rp_id: RP_ID.into(),
        origin: ORIGIN.into(),
        challenge: Some(challenge),
        user_id: None,
    };
    (request, expected)
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    OsRng.fill_bytes(&mut bytes);
    bytes
}
