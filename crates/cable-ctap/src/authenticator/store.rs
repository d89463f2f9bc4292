//! The software authenticator's credentials: in memory, saved as JSON by the caller.
//! Private keys and PRF seeds live in [`Secret`]s (zeroized on drop, printed as `[redacted]`).

use crate::b64::Base64Url;
use crate::error::CtapError;
use crate::Result;
use cable_keys::Secret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One passkey.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredential {
    pub credential_id: Base64Url,
    pub rp_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_name: Option<String>,
    pub user_id: Base64Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_display_name: Option<String>,
    /// Found without an allow list (`rk`).
    pub discoverable: bool,
    /// Signature counter: the value in the last authenticator data this credential signed.
    pub sign_count: u32,
    /// The P-256 private scalar, big-endian.
    #[serde(with = "secret_b64")]
    pub(crate) private_key: Secret<32>,
    /// The HMAC key of the PRF extension.
    #[serde(with = "secret_b64")]
    pub(crate) prf_seed: Secret<32>,
}

impl StoredCredential {
    pub(crate) fn signing_key(&self) -> Result<p256::ecdsa::SigningKey> {
        p256::ecdsa::SigningKey::from_bytes(self.private_key.expose().into()).map_err(|_| {
            CtapError::Store(format!(
                "the private key of credential {} is not a valid P-256 key",
                Base64Url::encode(&self.credential_id.0)
            ))
        })
    }
}

/// All credentials of one authenticator, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CredentialStore {
    credentials: Vec<StoredCredential>,
}

impl CredentialStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredCredential> {
        self.credentials.iter()
    }

    /// The JSON file form. It contains private keys: the returned string zeroizes on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        // Serializing plain data into a String cannot fail.
        Zeroizing::new(serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Reads the JSON file form, checking every private key is a valid P-256 key.
    pub fn from_json(text: &str) -> Result<Self> {
        let store: Self =
            serde_json::from_str(text).map_err(|e| CtapError::Store(e.to_string()))?;
        for credential in &store.credentials {
            credential.signing_key()?;
        }
        Ok(store)
    }

    /// The credential `id` of `rp_id`, if stored.
    pub fn find(&self, rp_id: &str, id: &[u8]) -> Option<&StoredCredential> {
        self.credentials
            .iter()
            .find(|c| c.rp_id == rp_id && c.credential_id.0 == id)
    }

    pub(crate) fn find_mut(&mut self, rp_id: &str, id: &[u8]) -> Option<&mut StoredCredential> {
        self.credentials
            .iter_mut()
            .find(|c| c.rp_id == rp_id && c.credential_id.0 == id)
    }

    /// Discoverable credentials of `rp_id`, most recently created first (CTAP §6.2.2).
    pub fn discoverable_for(&self, rp_id: &str) -> Vec<&StoredCredential> {
        self.credentials
            .iter()
            .rev()
            .filter(|c| c.discoverable && c.rp_id == rp_id)
            .collect()
    }

    /// Adds a credential. A discoverable one replaces the discoverable credential of the same
    /// RP and user (CTAP: one discoverable credential per account).
    pub fn insert(&mut self, credential: StoredCredential) {
        if credential.discoverable {
            self.credentials.retain(|c| {
                !(c.discoverable && c.rp_id == credential.rp_id && c.user_id == credential.user_id)
            });
        }
        self.credentials.push(credential);
    }

    /// Removes credential `id` of `rp_id`; true if it was there.
    pub fn remove(&mut self, rp_id: &str, id: &[u8]) -> bool {
        let before = self.credentials.len();
        self.credentials
            .retain(|c| !(c.rp_id == rp_id && c.credential_id.0 == id));
        self.credentials.len() != before
    }
}

/// Serde for secrets as base64url, without leaving copies of the text or bytes behind
/// (`#[serde(with = "cable_ctap::authenticator::secret_b64")]`; the phone's state file uses it
/// too).
pub mod secret_b64 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        secret: &Secret<32>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let text = Zeroizing::new(Base64Url::encode(secret.expose()));
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Secret<32>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let bytes = Zeroizing::new(
            Base64Url::decode(&text)
                .ok_or_else(|| serde::de::Error::custom("a secret is not valid base64url"))?,
        );
        Secret::from_slice(&bytes).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a secret is {} bytes long; it must be 32",
                bytes.len()
            ))
        })
    }
}
