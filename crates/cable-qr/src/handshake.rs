//! The desktop's side of the QR code (HYBRID.md §2.7): a fresh identity key and secret.

use cable_keys::{IdentityKey, QrSecret};
use rand_core::CryptoRngCore;

use crate::{QrPayload, RequestType, KNOWN_DOMAINS};

/// What the desktop holds while its QR code is on screen: the private key for the Noise
/// handshake (and for checking linking data) and the payload shown to the phone.
#[derive(Clone, Debug)]
pub struct QrHandshake {
    identity: IdentityKey,
    payload: QrPayload,
}

impl QrHandshake {
    /// A new QR code for one transaction. Key 4 is always sent (older phones pick protocol
    /// revision 1 by its presence); pass `supports_linking = true` only if links are stored.
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        request_type: RequestType,
        supports_linking: bool,
        now_unix_secs: u64,
    ) -> Self {
        let identity = IdentityKey::generate(rng);
        let payload = QrPayload {
            public_key: identity.public_key(),
            secret: QrSecret::random(rng),
            known_domains: KNOWN_DOMAINS,
            timestamp: Some(now_unix_secs),
            supports_linking: Some(supports_linking),
            request_type: Some(request_type.as_str().to_owned()),
            ble_data_channel: false,
        };
        Self { identity, payload }
    }

    /// Also offers the CTAP 2.3 BLE data channel (QR key 6 = `[0, 1]`). Phones running Play
    /// services older than CTAP 2.3 reject such codes, so offer it deliberately.
    pub fn with_ble_data_channel(mut self, offer: bool) -> Self {
        self.payload.ble_data_channel = offer;
        self
    }

    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    pub fn payload(&self) -> &QrPayload {
        &self.payload
    }

    /// The text to put in the QR code.
    pub fn url(&self) -> String {
        self.payload.to_url()
    }

    pub fn into_parts(self) -> (IdentityKey, QrPayload) {
        (self.identity, self.payload)
    }
}
