//! The engine's `LinkBook` backed by the persistent store (`cable-store`), and the book of a
//! store that could not be opened: it answers every question with the store's own error, so
//! a damaged store never looks like an empty one.

use crate::engine::{LinkBook, LinkBookError, LinkSummary, StoredLink};
use cable_store::{LinkStore, NewLink, StoreError};
use cable_tunnel::LinkingInfo;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The store behind a mutex: SQLite connections are `Send` but not `Sync`.
pub struct StoreBook(Mutex<LinkStore>);

impl StoreBook {
    pub fn new(store: LinkStore) -> Self {
        Self(Mutex::new(store))
    }

    /// Runs `f` on the store; a store error becomes `LinkBookError::Store` with its words.
    fn with<T>(
        &self,
        f: impl FnOnce(&LinkStore) -> Result<T, StoreError>,
    ) -> Result<T, LinkBookError> {
        let store = self.0.lock().map_err(|_| LinkBookError::Unavailable)?;
        f(&store).map_err(LinkBookError::store)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl LinkBook for StoreBook {
    fn links(&self) -> Result<Vec<StoredLink>, LinkBookError> {
        let links = self.with(|s| s.all_links())?;
        Ok(links
            .into_iter()
            .map(|l| StoredLink {
                id: l.id.to_string(),
                name: l.name,
                contact_id: l.contact_id,
                link_id: l.link_id,
                link_secret: l.secret,
                phone_public_key: l.phone_public_key,
                tunnel_domain_id: l.tunnel_domain_id,
            })
            .collect())
    }

    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, LinkBookError> {
        let phone_public_key = info.phone_public().map_err(LinkBookError::bad_link)?;
        let link = NewLink {
            contact_id: info.contact_id.clone(),
            link_id: info.link_id,
            secret: info.link_secret.clone(),
            phone_public_key,
            name: info.name.clone(),
            tunnel_domain_id,
        };
        let id = self.with(|s| s.upsert(&link, now()))?;
        Ok(id.to_string())
    }

    fn touch(&self, id: &str) {
        if let Err(e) = self.with(|s| s.touch(id, now())) {
            tracing::warn!(error = %e, "could not record the use of a linked phone");
        }
    }

    fn forget(&self, id: &str) -> Result<bool, LinkBookError> {
        self.with(|s| s.forget(id))
    }

    fn summaries(&self) -> Result<Vec<LinkSummary>, LinkBookError> {
        let list = self.with(|s| s.list())?;
        Ok(list
            .into_iter()
            .map(|l| LinkSummary {
                id: l.id.to_string(),
                name: l.name,
                created: l.created,
                last_used: l.last_used,
                tunnel_domain_id: l.tunnel_domain_id,
            })
            .collect())
    }

    fn rename(&self, id: &str, name: &str) -> Result<bool, LinkBookError> {
        self.with(|s| s.rename(id, name))
    }

    fn location(&self) -> Option<PathBuf> {
        self.0.lock().ok().map(|s| s.path().to_path_buf())
    }
}

/// A store that did not open (damaged, its key missing, too new, …). Every read or change
/// fails with the error it failed with; QR sessions go on without links (the engine treats a
/// failing book on the `Any` route as "no linked phones" and says so).
pub struct BrokenBook(LinkBookError);

impl BrokenBook {
    pub fn new(error: StoreError) -> Self {
        Self(LinkBookError::store(error))
    }

    pub fn error(&self) -> &LinkBookError {
        &self.0
    }
}

impl LinkBook for BrokenBook {
    fn links(&self) -> Result<Vec<StoredLink>, LinkBookError> {
        Err(self.0.clone())
    }
    fn save(&self, _: &LinkingInfo, _: u16) -> Result<String, LinkBookError> {
        Err(self.0.clone())
    }
    fn touch(&self, _: &str) {}
    fn forget(&self, _: &str) -> Result<bool, LinkBookError> {
        Err(self.0.clone())
    }
    fn summaries(&self) -> Result<Vec<LinkSummary>, LinkBookError> {
        Err(self.0.clone())
    }
    fn rename(&self, _: &str, _: &str) -> Result<bool, LinkBookError> {
        Err(self.0.clone())
    }
}
