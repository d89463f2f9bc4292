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
    /// What lists show (no secrets), most recently used first.
    fn summaries(&self) -> Result<Vec<LinkSummary>, String>;
    /// Renames a link; false if there is none with this ID.
    fn rename(&self, id: &str, name: &str) -> Result<bool, String>;
}

/// A linked phone as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSummary {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub last_used: u64,
    pub tunnel_domain_id: u16,
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

/// Links kept in memory for the life of the process: for the demo and tests, which must not
/// touch the user's store.
#[derive(Default)]
pub struct MemoryLinkBook(std::sync::Mutex<Vec<StoredLink>>);

impl LinkBook for MemoryLinkBook {
    fn links(&self) -> Result<Vec<StoredLink>, String> {
        Ok(self.0.lock().map(|l| l.clone()).unwrap_or_default())
    }

    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, String> {
        let phone_public_key = info.phone_public().map_err(|e| e.to_string())?;
        let id = hex::encode(&phone_public_key.compressed()[1..9]);
        let link = StoredLink {
            id: id.clone(),
            name: info.name.clone(),
            contact_id: info.contact_id.clone(),
            link_id: info.link_id,
            link_secret: info.link_secret.clone(),
            phone_public_key,
            tunnel_domain_id,
        };
        let mut links = self
            .0
            .lock()
            .map_err(|_| "link book poisoned".to_string())?;
        links.retain(|l| l.id != id);
        links.push(link);
        Ok(id)
    }

    fn touch(&self, _id: &str) {}

    fn summaries(&self) -> Result<Vec<LinkSummary>, String> {
        Ok(self
            .links()?
            .into_iter()
            .map(|l| LinkSummary {
                id: l.id,
                name: l.name,
                created: 0,
                last_used: 0,
                tunnel_domain_id: l.tunnel_domain_id,
            })
            .collect())
    }

    fn rename(&self, id: &str, name: &str) -> Result<bool, String> {
        let mut links = self
            .0
            .lock()
            .map_err(|_| "link book poisoned".to_string())?;
        Ok(links
            .iter_mut()
            .find(|l| l.id == id)
            .map(|l| l.name = name.to_string())
            .is_some())
    }

    fn forget(&self, id: &str) -> bool {
        let Ok(mut links) = self.0.lock() else {
            return false;
        };
        let before = links.len();
        links.retain(|l| l.id != id);
        links.len() != before
    }
}
