//! `devices.*`: the linked phones in the engine's link book. A book that cannot be read is
//! `device_store_error` with the store's words, never an empty list.

use crate::engine::{LinkBookError, StoredLink};
use crate::ipc::api::{Device, Devices, Forgotten, IdParams, RenameParams, Renamed};
use crate::ipc::error::{codes, RpcError};
use crate::ipc::server::Daemon;

pub fn list(daemon: &Daemon) -> Result<Devices, RpcError> {
    let summaries = match daemon.engine.links() {
        None => Vec::new(),
        Some(book) => book.summaries().map_err(store_error)?,
    };
    let devices = summaries
        .into_iter()
        .map(|link| Device {
            tunnel_domain: cable_tunnel::domain_name(link.tunnel_domain_id),
            id: link.id,
            name: link.name,
            created: link.created,
            last_used: link.last_used,
            tunnel_domain_id: link.tunnel_domain_id,
        })
        .collect();
    Ok(Devices { devices })
}

pub fn rename(daemon: &Daemon, p: RenameParams) -> Result<Renamed, RpcError> {
    let renamed = match daemon.engine.links() {
        None => false,
        Some(book) => book.rename(&p.id, &p.name).map_err(store_error)?,
    };
    if !renamed {
        return Err(not_found(&p.id));
    }
    Ok(Renamed {
        id: p.id,
        name: p.name,
    })
}

pub fn forget(daemon: &Daemon, p: IdParams) -> Result<Forgotten, RpcError> {
    let forgotten = match daemon.engine.links() {
        None => false,
        Some(book) => book.forget(&p.id).map_err(store_error)?,
    };
    if !forgotten {
        return Err(not_found(&p.id));
    }
    tracing::info!(device = %p.id, "linked phone forgotten");
    Ok(Forgotten {
        id: p.id,
        forgotten: true,
    })
}

/// The linked phones (none when the engine has no link book).
pub fn linked(daemon: &Daemon) -> Result<Vec<StoredLink>, RpcError> {
    match daemon.engine.links() {
        None => Ok(Vec::new()),
        Some(book) => book.links().map_err(store_error),
    }
}

fn not_found(id: &str) -> RpcError {
    RpcError::server(
        codes::DEVICE_NOT_FOUND,
        format!("no linked phone has the id {id:?}; devices.list shows the linked phones"),
    )
}

pub fn store_error(e: LinkBookError) -> RpcError {
    RpcError::server(
        codes::DEVICE_STORE_ERROR,
        format!("the linked phones cannot be read: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, LinkBook, LinkSummary, Route};
    use crate::ipc::config::DaemonConfig;
    use crate::ipc::methods::session::route;
    use std::sync::{Arc, Mutex};

    /// A link book in memory.
    struct Book(Mutex<Vec<StoredLink>>);

    impl LinkBook for Book {
        fn links(&self) -> Result<Vec<StoredLink>, LinkBookError> {
            Ok(self.0.lock().unwrap().clone())
        }
        fn save(&self, _: &cable_tunnel::LinkingInfo, _: u16) -> Result<String, LinkBookError> {
            Err(LinkBookError::Unavailable)
        }
        fn touch(&self, _: &str) {}
        fn summaries(&self) -> Result<Vec<LinkSummary>, LinkBookError> {
            let links = self.0.lock().unwrap();
            Ok(links
                .iter()
                .map(|l| LinkSummary {
                    id: l.id.clone(),
                    name: l.name.clone(),
                    created: 1,
                    last_used: 2,
                    tunnel_domain_id: l.tunnel_domain_id,
                })
                .collect())
        }
        fn rename(&self, id: &str, name: &str) -> Result<bool, LinkBookError> {
            let mut links = self.0.lock().unwrap();
            Ok(links
                .iter_mut()
                .find(|l| l.id == id)
                .map(|l| l.name = name.into())
                .is_some())
        }
        fn forget(&self, id: &str) -> Result<bool, LinkBookError> {
            let mut links = self.0.lock().unwrap();
            let before = links.len();
            links.retain(|l| l.id != id);
            Ok(links.len() != before)
        }
    }

    fn link(id: &str) -> StoredLink {
        let key = cable_keys::IdentityKey::generate(&mut rand_core::OsRng);
        StoredLink {
            id: id.into(),
            name: format!("Phone {id}"),
            contact_id: vec![1, 2, 3],
            link_id: [0; 8],
            link_secret: cable_keys::Secret::new([7; 32]),
            phone_public_key: key.public_key(),
            tunnel_domain_id: 0,
        }
    }

    fn id(id: &str) -> IdParams {
        IdParams { id: id.into() }
    }

    fn rename_to(id: &str, name: &str) -> RenameParams {
        RenameParams {
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn devices_come_from_the_engines_link_book() {
        let book = Arc::new(Book(Mutex::new(vec![link("aa11"), link("bb22")])));
        let config = DaemonConfig::default();
        let daemon = Daemon::with_engine(Engine::with_links(config.engine.clone(), book), config);
        let listed = list(&daemon).unwrap().devices;
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, "aa11");
        assert_eq!(listed[0].name, "Phone aa11");
        assert_eq!(listed[0].tunnel_domain.as_deref(), Some("cable.ua5v.com"));
        assert_eq!((listed[0].created, listed[0].last_used), (1, 2));

        assert_eq!(route(&daemon, None, None).unwrap(), Route::Any);
        assert_eq!(route(&daemon, None, Some(true)).unwrap(), Route::QrOnly);
        assert_eq!(
            route(&daemon, Some("bb".into()), Some(false)).unwrap(),
            Route::Device("bb22".into())
        );
        assert_eq!(
            route(&daemon, Some("bb22".into()), Some(true))
                .unwrap_err()
                .code,
            "invalid_params"
        );
        assert_eq!(
            route(&daemon, Some("cc33".into()), None).unwrap_err().code,
            "unknown_device"
        );

        assert_eq!(
            rename(&daemon, rename_to("bb22", "Work phone")).unwrap(),
            Renamed {
                id: "bb22".into(),
                name: "Work phone".into()
            }
        );
        assert_eq!(list(&daemon).unwrap().devices[1].name, "Work phone");
        assert_eq!(
            rename(&daemon, rename_to("zz99", "x")).unwrap_err().code,
            "device_not_found"
        );
        assert!(forget(&daemon, id("aa11")).unwrap().forgotten);
        assert_eq!(
            forget(&daemon, id("aa11")).unwrap_err().code,
            "device_not_found"
        );
        assert_eq!(list(&daemon).unwrap().devices.len(), 1);
    }

    #[test]
    fn without_a_link_book_there_are_no_devices() {
        let daemon = Daemon::new(DaemonConfig::default());
        assert!(list(&daemon).unwrap().devices.is_empty());
        assert_eq!(
            route(&daemon, Some("aa11".into()), None).unwrap_err().code,
            "unknown_device"
        );
    }

    #[test]
    fn a_broken_book_is_a_store_error_everywhere() {
        let broken = cable_store::StoreError::Corrupt {
            path: "/tmp/links.db".into(),
            reason: "file is not a database".into(),
        };
        let words = broken.to_string();
        let book = Arc::new(crate::store_book::BrokenBook::new(broken));
        let config = DaemonConfig::default();
        let daemon = Daemon::with_engine(Engine::with_links(config.engine.clone(), book), config);
        let errors = [
            list(&daemon).unwrap_err(),
            rename(&daemon, rename_to("aa", "x")).unwrap_err(),
            forget(&daemon, id("aa")).unwrap_err(),
            route(&daemon, Some("aa".into()), None).unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.code, "device_store_error", "{e}");
            assert!(e.message.contains(&words), "{e}");
        }
        // The QR path needs no store.
        assert_eq!(route(&daemon, None, None).unwrap(), Route::Any);
    }
}
