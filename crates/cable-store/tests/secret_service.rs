//! The store key in a real Secret Service. Ignored by default: it needs a session bus with an
//! unlocked keyring. To run it in a throwaway session (gnome-keyring installed):
//!
//! ```sh
//! HOME=$(mktemp -d) dbus-run-session -- sh -c \
//!   'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
//!    cargo test -p cable-store --test secret_service -- --ignored'
//! ```
#![cfg(feature = "secret-service")]

mod common;

use cable_store::{key_file_path, KeySource, LinkStore};
use common::{contains, link};
use std::fs;

#[test]
#[ignore = "needs a reachable Secret Service with an unlocked keyring"]
fn the_key_lives_in_the_secret_service() {
    let dir = tempfile::tempdir().unwrap();

    // Auto on a new store prefers the Secret Service and writes no key file.
    let path = dir.path().join("auto/links.db");
    let store = LinkStore::open(&path).unwrap();
    assert_eq!(store.key_source(), KeySource::SecretService);
    let id = store.upsert(&link(1), 1).unwrap();
    drop(store);
    assert!(!key_file_path(&path).exists());
    let store = LinkStore::open(&path).unwrap();
    assert_eq!(store.key_source(), KeySource::SecretService);
    assert_eq!(
        store.get(id.as_str()).unwrap().unwrap().secret,
        link(1).secret
    );
    drop(store);
    assert!(!contains(
        &fs::read(&path).unwrap(),
        link(1).secret.expose()
    ));

    // Forcing the key file on a store whose key is in the Secret Service: no key file, an error.
    assert!(LinkStore::open_with(&path, KeySource::File).is_err());
    assert!(!key_file_path(&path).exists());

    // Each store path has its own key.
    let other = dir.path().join("other/links.db");
    let store = LinkStore::open_with(&other, KeySource::SecretService).unwrap();
    store.upsert(&link(2), 2).unwrap();
    assert!(store.get(id.as_str()).unwrap().is_none());
}
