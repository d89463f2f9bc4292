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
//!
//! The software phone offers Chrome-Android's linking map: without key 999 (only Google Play
//! services sends it), since its link secrets and contact ID follow Chrome-Android's recipe.
//! [`LinkIdentity::as_play_services`] turns it on to imitate Play services.

use cable_keys::{derive_array, IdentityKey, LinkSecret, PublicKey, Purpose, Secret};
use cable_tunnel::{handshake_signature, LinkingInfo};
use rand_core::CryptoRngCore;

/// Source of the linking information a QR session offers the desktop: the session state
/// machine's trait.
pub use cable_hybrid::LinkingProvider;

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

/// The name a software phone gives itself in the linking map (key 5) unless told otherwise.
pub const DEFAULT_PHONE_NAME: &str = "cable software phone (android)";

/// Length of the contact IDs [`LinkIdentity::generate_random`] makes. Chrome-Android's contact
/// ID is its FCM registration token (about 150 bytes); any opaque bytes will do.
pub const CONTACT_ID_LEN: usize = 32;

/// A phone that can be linked: a long-term identity key, a root secret link secrets derive
/// from, the contact ID the tunnel service wakes it by, and a display name.
#[derive(Clone)]
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
            .field("play_services", &self.play_services)
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

    /// A fresh identity with a random contact ID of [`CONTACT_ID_LEN`] bytes.
    pub fn generate_random(rng: &mut impl CryptoRngCore, name: impl Into<String>) -> Self {
        let mut contact_id = vec![0u8; CONTACT_ID_LEN];
        rng.fill_bytes(&mut contact_id);
        Self::generate(rng, contact_id, name)
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

    /// The display name sent as linking key 5.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if the linking map carries key 999 (Google Play services).
    pub fn is_play_services(&self) -> bool {
        self.play_services
    }

    /// The secret every link secret derives from (for the state file only).
    pub(crate) fn root_secret(&self) -> &Secret<32> {
        &self.root_secret
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
