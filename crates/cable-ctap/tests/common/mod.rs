//! Helpers shared by the integration tests.
#![allow(dead_code)]

use cable_ctap::webauthn_json::{
    from_json, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub const ORIGIN: &str = "https://example.com";

pub fn rng() -> StdRng {
    StdRng::seed_from_u64(0x0CAB1E)
}

pub fn creation_options(extra: &str) -> PublicKeyCredentialCreationOptionsJSON {
    from_json(&format!(
        r#"{{
            "rp": {{"id": "example.com", "name": "Example"}},
            "user": {{"id": "dXNlci0x", "name": "alice@example.com", "displayName": "Alice"}},
            "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS0xMjM0",
            "pubKeyCredParams": [{{"type": "public-key", "alg": -7}}, {{"type": "public-key", "alg": -257}}],
            "timeout": 60000
            {extra}
        }}"#
    ))
    .unwrap()
}

pub fn request_options(extra: &str) -> PublicKeyCredentialRequestOptionsJSON {
    from_json(&format!(
        r#"{{
            "challenge": "c2lnbi1pbi1jaGFsbGVuZ2UtNTY3OA",
            "rpId": "example.com",
            "timeout": 60000
            {extra}
        }}"#
    ))
    .unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    cable_ctap::Base64Url::encode(bytes)
}
