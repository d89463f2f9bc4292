//! Linked phones as the engine sees them: a book it can read, add to and forget from. The
//! daemon backs it with the persistent store; tests and the CLI may use any implementation.

use cable_keys::{LinkSecret, PublicKey};
use cable_tunnel::LinkingInfo;

/// One phone that said "remember this computer".
#[derive(Clone)]
pub struct StoredLink {
    /// Stable short ID shown to people (`cablectl devices list`).
    pub id: String,
    pub name: String,
    pub contact_id: Vec<u8>,
    pub link_id: [u8; 8],
    pub link_secret: LinkSecret,
    pub phone_public_key: PublicKey,
    pub tunnel_domain_id: u16,
}

impl std::fmt::Debug for StoredLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLink")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("tunnel_domain_id", &self.tunnel_domain_id)
            .finish_non_exhaustive()
    }
}

/// Where links live. Errors are person-facing strings (the store explains itself).
pub trait LinkBook: Send + Sync + 'static {
    fn links(&self) -> Result<Vec<StoredLink>, String>;
    /// Saves verified linking data from a QR session; returns the device ID. A phone that
    /// links again replaces its old entry.
    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, String>;
    /// Records that the link was used now.
    fn touch(&self, id: &str);
    /// Forgets a link; true if it existed.
    fn forget(&self, id: &str) -> bool;
}

/// Which way a session may reach the phone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Route {
    /// Show the QR code and try every linked phone at once; the first phone that answers wins.
    #[default]
    Any,
    /// Only the QR code.
    QrOnly,
    /// Only this linked phone, no QR code.
    Device(String),
}
