//! The engine's `LinkBook` backed by the persistent store (`cable-store`).

use crate::engine::{LinkBook, LinkSummary, StoredLink};
use cable_store::{LinkStore, NewLink};
use cable_tunnel::LinkingInfo;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The store behind a mutex: SQLite connections are `Send` but not `Sync`.
pub struct StoreBook(Mutex<LinkStore>);

impl StoreBook {
    pub fn new(store: LinkStore) -> Self {
        Self(Mutex::new(store))
    }

    fn with<T>(&self, f: impl FnOnce(&LinkStore) -> T) -> Result<T, String> {
        let store = self
            .0
            .lock()
            .map_err(|_| "the link store is unavailable after an earlier failure".to_string())?;
        Ok(f(&store))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl LinkBook for StoreBook {
    fn links(&self) -> Result<Vec<StoredLink>, String> {
        let links = self.with(|s| s.all_links())?.map_err(|e| e.to_string())?;
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

    fn save(&self, info: &LinkingInfo, tunnel_domain_id: u16) -> Result<String, String> {
        let phone_public_key = info.phone_public().map_err(|e| e.to_string())?;
        let link = NewLink {
            contact_id: info.contact_id.clone(),
            link_id: info.link_id,
            secret: info.link_secret.clone(),
            phone_public_key,
            name: info.name.clone(),
            tunnel_domain_id,
        };
        let id = self
            .with(|s| s.upsert(&link, now()))?
            .map_err(|e| e.to_string())?;
        Ok(id.to_string())
    }

    fn touch(&self, id: &str) {
        if let Ok(Err(e)) = self.with(|s| s.touch(id, now())) {
            tracing::warn!(error = %e, "could not record the use of a linked phone");
        }
    }

    fn forget(&self, id: &str) -> bool {
        matches!(self.with(|s| s.forget(id)), Ok(Ok(true)))
    }

    fn summaries(&self) -> Result<Vec<LinkSummary>, String> {
        let list = self.with(|s| s.list())?.map_err(|e| e.to_string())?;
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

    fn rename(&self, id: &str, name: &str) -> Result<bool, String> {
        self.with(|s| s.rename(id, name))?
            .map_err(|e| e.to_string())
    }
}
