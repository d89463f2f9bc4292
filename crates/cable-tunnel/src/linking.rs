//! HYBRID.md §9.2–9.3: the linking information a phone offers ("remember this computer") and
//! the handshake signature that binds it to this QR session.

use crate::error::{Error, Result};
use cable_keys::cbor::{self, Value};
use cable_keys::{IdentityKey, LinkSecret, PublicKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const MAP: &str = "linking map";
const PLAY_SERVICES_KEY: u64 = 999;

/// The linking map (§9.2). Parsing follows Chromium's `Pairing::Parse`: keys 1–4 and 6 must be
/// byte strings, key 5 text, key 4 a 65-byte point; key 999 `true` marks Play services; other
/// keys are ignored. Two deliberate tightenings, because the rest of cable types these values:
/// the link ID must be 8 bytes and the link secret 32 (every known phone sends exactly that),
/// and the signature must be 32 bytes (Chromium would fail its verification anyway).
#[derive(Clone, PartialEq, Eq)]
pub struct LinkingInfo {
    /// Key 1: opaque ID the tunnel service uses to wake the phone.
    pub contact_id: Vec<u8>,
    /// Key 2: the link ("pairing") ID the desktop echoes in its client payload.
    pub link_id: [u8; 8],
    /// Key 3: the shared secret future linked sessions derive their keys from.
    pub link_secret: LinkSecret,
    /// Key 4: the phone's long-term identity key, uncompressed, checked to be on the curve.
    pub phone_public_key: [u8; 65],
    /// Key 5: the phone's display name.
    pub name: String,
    /// Key 6: HMAC proving the phone owns key 4 (§9.3).
    pub signature: [u8; 32],
    /// Key 999: sent `true` by Google Play services.
    pub play_services: bool,
}

impl std::fmt::Debug for LinkingInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkingInfo")
            .field("contact_id_len", &self.contact_id.len())
            .field("link_id", &hex::encode(self.link_id))
            .field("link_secret", &self.link_secret)
            .field("phone_public_key", &hex::encode(self.phone_public_key))
            .field("name", &self.name)
            .field("play_services", &self.play_services)
            .finish()
    }
}

impl LinkingInfo {
    /// The phone's identity key (already validated when this value was built by a decoder).
    pub fn phone_public(&self) -> Result<PublicKey> {
        PublicKey::from_sec1(&self.phone_public_key).map_err(|_| Error::LinkingPublicKeyInvalid)
    }

    /// The CBOR map value (to nest in an update or post-handshake message).
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            (int(1), Value::Bytes(self.contact_id.clone())),
            (int(2), Value::Bytes(self.link_id.to_vec())),
            (int(3), Value::Bytes(self.link_secret.expose().to_vec())),
            (int(4), Value::Bytes(self.phone_public_key.to_vec())),
            (int(5), Value::Text(self.name.clone())),
            (int(6), Value::Bytes(self.signature.to_vec())),
        ];
        if self.play_services {
            entries.push((int(PLAY_SERVICES_KEY), Value::Bool(true)));
        }
        Value::Map(entries)
    }

    /// Canonical CBOR of the map.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical_vec(&self.to_value())
    }

    /// Parses canonical or non-canonical CBOR bytes of the map.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let value = cbor::from_slice(bytes).map_err(|e| Error::cbor(MAP, e))?;
        Self::from_value(&value)
    }

    /// Parses the map value. The signature is not checked here: see [`Self::verify`].
    pub fn from_value(value: &Value) -> Result<Self> {
        let Value::Map(entries) = value else {
            return Err(Error::NotAMap(MAP));
        };
        let bytes = |key: u64| -> Result<&Vec<u8>> {
            match cbor::map_get(entries, key) {
                Some(Value::Bytes(b)) => Ok(b),
                Some(_) => Err(field(key, "must be a byte string")),
                None => Err(field(key, "is missing")),
            }
        };
        let contact_id = bytes(1)?.clone();
        let link_id = bytes(2)?
            .as_slice()
            .try_into()
            .map_err(|_| field(2, "(link ID) must be 8 bytes"))?;
        let link_secret = LinkSecret::from_slice(bytes(3)?)
            .ok_or_else(|| field(3, "(link secret) must be 32 bytes"))?;
        let phone_public_key: [u8; 65] = bytes(4)?
            .as_slice()
            .try_into()
            .map_err(|_| field(4, "(phone public key) must be 65 bytes"))?;
        PublicKey::from_sec1(&phone_public_key).map_err(|_| Error::LinkingPublicKeyInvalid)?;
        let name = match cbor::map_get(entries, 5) {
            Some(Value::Text(t)) => t.clone(),
            Some(_) => return Err(field(5, "(name) must be a text string")),
            None => return Err(field(5, "(name) is missing")),
        };
        let signature = bytes(6)?
            .as_slice()
            .try_into()
            .map_err(|_| field(6, "(handshake signature) must be 32 bytes"))?;
        let play_services = matches!(
            cbor::map_get(entries, PLAY_SERVICES_KEY),
            Some(Value::Bool(true))
        );
        Ok(Self {
            contact_id,
            link_id,
            link_secret,
            phone_public_key,
            name,
            signature,
            play_services,
        })
    }

    /// Desktop side: does key 6 prove the phone holds key 4, for this QR session?
    pub fn verify(&self, qr_identity: &IdentityKey, handshake_hash: &[u8; 32]) -> bool {
        match self.phone_public() {
            Ok(phone) => {
                verify_handshake_signature(qr_identity, &phone, handshake_hash, &self.signature)
            }
            Err(_) => false,
        }
    }
}

/// Phone side (§9.3): `HMAC-SHA256(ECDH(identity, peer).x, handshake_hash)`, where `identity`
/// is the phone's long-term key and `peer` the desktop's QR identity.
pub fn handshake_signature(
    identity: &IdentityKey,
    peer: &PublicKey,
    handshake_hash: &[u8; 32],
) -> [u8; 32] {
    let shared = identity.ecdh(peer);
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(shared.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(handshake_hash);
    mac.finalize().into_bytes().into()
}

/// Desktop side: recomputes the signature with its QR identity and the phone's key, and
/// compares in constant time.
pub fn verify_handshake_signature(
    qr_identity: &IdentityKey,
    phone: &PublicKey,
    handshake_hash: &[u8; 32],
    signature: &[u8],
) -> bool {
    let expected = handshake_signature(qr_identity, phone, handshake_hash);
    expected.as_slice().ct_eq(signature).into()
}

fn int(n: u64) -> Value {
    Value::Integer(n.into())
}

fn field(key: u64, problem: &'static str) -> Error {
    Error::Field {
        map: MAP,
        key,
        problem,
    }
}
