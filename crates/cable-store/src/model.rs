//! What a linked phone is, as handed to the store and as read back.

use cable_keys::{LinkSecret, PublicKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The store's name for a linked phone: 16 hex digits of SHA-256(uncompressed phone public key).
///
/// Derived from the phone's key, so it stays the same when the phone links again (the store is
/// keyed by that key) and people can keep using the id they saw in `devices list`. It is not
/// the protocol's 8-byte link ID, which the phone may change on every link.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(String);

impl DeviceId {
    pub fn for_phone(phone_public_key: &PublicKey) -> Self {
        let digest = Sha256::digest(phone_public_key.uncompressed());
        Self(hex::encode(&digest[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an id read back from the store.
    pub(crate) fn from_stored(id: String) -> Self {
        Self(id)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.0)
    }
}

/// What a phone hands over when it links (HYBRID.md §9.3), plus the tunnel domain of the session.
#[derive(Debug, Clone)]
pub struct NewLink {
    /// Opaque bytes the tunnel server routes a contact request by.
    pub contact_id: Vec<u8>,
    pub link_id: [u8; 8],
    pub secret: LinkSecret,
    pub phone_public_key: PublicKey,
    pub name: String,
    /// The tunnel domain ID (HYBRID.md §5.1) the phone used for the session that linked.
    pub tunnel_domain_id: u16,
}

/// A stored link with its decrypted secret: what a contact request needs.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: DeviceId,
    pub contact_id: Vec<u8>,
    pub link_id: [u8; 8],
    pub secret: LinkSecret,
    pub phone_public_key: PublicKey,
    pub name: String,
    pub tunnel_domain_id: u16,
    /// Unix seconds when this link was stored (a re-link sets it anew).
    pub created: u64,
    /// Unix seconds of the last use (`touch`), or `created`.
    pub last_used: u64,
}

/// What lists show: no secret, no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSummary {
    pub id: DeviceId,
    pub name: String,
    pub created: u64,
    pub last_used: u64,
    pub tunnel_domain_id: u16,
}
