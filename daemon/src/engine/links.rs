//! Linked phones as the engine sees them: a book it can read, add to and forget from. The
//! daemon backs it with the persistent store; tests and the CLI may use any implementation.

use cable_keys::{LinkSecret, PublicKey};
use cable_tunnel::LinkingInfo;
use std::error::Error;
use std::sync::Arc;

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

/// Why a link book could not do what was asked. The store's own words are kept: they name
/// the file, what broke and what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkBookError {
    /// The store failed (damaged, unreadable, busy, its key missing, …).
    #[error(transparent)]
    Store(Arc<dyn Error + Send + Sync>),
    /// An earlier failure in this process left the book unusable.
    #[error(
        "the linked-phone store is unavailable after an earlier failure in this program; \
         restart it"
    )]
    Unavailable,
    /// Linking data a phone sent cannot be stored.
    #[error("the phone's linking data cannot be used: {0}")]
    BadLink(Arc<dyn Error + Send + Sync>),
}

impl LinkBookError {
    pub fn store(e: impl Error + Send + Sync + 'static) -> Self {
        Self::Store(Arc::new(e))
    }

    pub fn bad_link(e: impl Error + Send + Sync + 'static) -> Self {
        Self::BadLink(Arc::new(e))
    }
}

/// Where links live.
pub trait LinkBook: Send + Sync + 'static {
    fn links(&self) -> Result<Vec<StoredLink>, LinkBookError>;
    /// Saves verified linking data from a QR session; returns the device ID. A phone that
    /// links again replaces its old entry.
    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, LinkBookError>;
    /// Records that the link was used now.
    fn touch(&self, id: &str);
    /// Forgets a link; `Ok(true)` if it existed.
    fn forget(&self, id: &str) -> Result<bool, LinkBookError>;
    /// What lists show (no secrets), most recently used first.
    fn summaries(&self) -> Result<Vec<LinkSummary>, LinkBookError>;
    /// Renames a link; `Ok(false)` if there is none with this ID.
    fn rename(&self, id: &str, name: &str) -> Result<bool, LinkBookError>;
    /// Where the links are kept, for status reports (`None`: in memory).
    fn location(&self) -> Option<std::path::PathBuf> {
        None
    }
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
    fn links(&self) -> Result<Vec<StoredLink>, LinkBookError> {
        Ok(self.0.lock().map(|l| l.clone()).unwrap_or_default())
    }

    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, LinkBookError> {
        let phone_public_key = info.phone_public().map_err(LinkBookError::bad_link)?;
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
        let mut links = self.0.lock().map_err(|_| LinkBookError::Unavailable)?;
        links.retain(|l| l.id != id);
        links.push(link);
        Ok(id)
    }

    fn touch(&self, _id: &str) {}

    fn summaries(&self) -> Result<Vec<LinkSummary>, LinkBookError> {
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

    fn rename(&self, id: &str, name: &str) -> Result<bool, LinkBookError> {
        let mut links = self.0.lock().map_err(|_| LinkBookError::Unavailable)?;
        Ok(links
            .iter_mut()
            .find(|l| l.id == id)
            .map(|l| l.name = name.to_string())
            .is_some())
    }

    fn forget(&self, id: &str) -> Result<bool, LinkBookError> {
        let mut links = self.0.lock().map_err(|_| LinkBookError::Unavailable)?;
        let before = links.len();
        links.retain(|l| l.id != id);
        Ok(links.len() != before)
    }
}
