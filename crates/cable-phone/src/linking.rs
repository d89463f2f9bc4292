//! Linking ("remember this computer", HYBRID.md §9) from the phone's side.
//!
//! A QR session may carry linking information in the update message (§7.6) when the QR code
//! offered linking (key 4 true) and the phone has a linking identity. The session asks a
//! [`LinkingProvider`] for it once the handshake hash is known, because the handshake signature
//! (§9.3) binds the information to this session.
//!
//! Chrome-Android without a registered contact ID sends the update message with no linking
//! data; [`NoLinking`] does exactly that and is the default. [`LinkIdentity`] is a phone that
//! can be linked: it derives link secrets the way Chrome-Android does (§3.4), so it can
//! recompute them from the link ID when it is woken for a linked session.

use cable_keys::{derive_array, IdentityKey, LinkSecret, PublicKey, Purpose, Secret};
use cable_tunnel::{handshake_signature, LinkingInfo};
use rand_core::CryptoRngCore;

/// Source of the linking information a QR session offers the desktop.
pub trait LinkingProvider: Send {
    /// The linking map for the desktop whose QR identity is `desktop`, signed over this
    /// session's `handshake_hash`; `None` to offer nothing.
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        handshake_hash: &[u8; 32],
        rng: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo>;
}

/// Offers no linking information (Chrome-Android without a contact ID; every iOS phone).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLinking;

impl LinkingProvider for NoLinking {
    fn linking_info(
        &mut self,
        _: &PublicKey,
        _: &[u8; 32],
        _: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo> {
        None
    }
}

/// A phone that can be linked: a long-term identity key, a root secret link secrets derive
/// from, the contact ID the tunnel service wakes it by, and a display name.
pub struct LinkIdentity {
    root_secret: Secret<32>,
    identity: IdentityKey,
    contact_id: Vec<u8>,
    name: String,
    /// Key 999 of the map: claim to be Google Play services.
    play_services: bool,
}

impl std::fmt::Debug for LinkIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkIdentity")
            .field("root_secret", &self.root_secret)
            .field("identity", &self.identity)
            .field("contact_id_len", &self.contact_id.len())
            .field("name", &self.name)
            .finish()
    }
}

impl LinkIdentity {
    pub fn new(
        root_secret: Secret<32>,
        identity: IdentityKey,
        contact_id: Vec<u8>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            root_secret,
            identity,
            contact_id,
            name: name.into(),
            play_services: false,
        }
    }

    /// A fresh identity with random secrets.
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        contact_id: Vec<u8>,
        name: impl Into<String>,
    ) -> Self {
        let root_secret = Secret::random(rng);
        let identity = IdentityKey::generate(rng);
        Self::new(root_secret, identity, contact_id, name)
    }

    /// Marks the linking map as coming from Google Play services (key 999).
    pub fn as_play_services(mut self, yes: bool) -> Self {
        self.play_services = yes;
        self
    }

    /// The long-term key the linked flow's handshake (NKpsk0) answers with.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    pub fn contact_id(&self) -> &[u8] {
        &self.contact_id
    }

    /// The link secret of `link_id` (§3.4):
    /// `Derive(Derive(root_secret, contact_id, 6), link_id, 4)`.
    pub fn link_secret(&self, link_id: &[u8; 8]) -> LinkSecret {
        let per_contact = Secret::<32>::new(derive_array(
            self.root_secret.expose(),
            &self.contact_id,
            Purpose::PerContactIdSecret,
        ));
        Secret::new(derive_array(
            per_contact.expose(),
            link_id,
            Purpose::PairedSecret,
        ))
    }
}

impl LinkingProvider for LinkIdentity {
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        handshake_hash: &[u8; 32],
        rng: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo> {
        let mut link_id = [0u8; 8];
        rng.fill_bytes(&mut link_id);
        Some(LinkingInfo {
            contact_id: self.contact_id.clone(),
            link_id,
            link_secret: self.link_secret(&link_id),
            phone_public_key: self.identity.public_key().uncompressed(),
            name: self.name.clone(),
            signature: handshake_signature(&self.identity, desktop, handshake_hash),
            play_services: self.play_services,
        })
    }
}
