//! Deterministic links and small file helpers shared by the store's tests.
#![allow(dead_code)]

use cable_keys::{IdentityKey, LinkSecret};
use cable_store::{KeySource, LinkStore, NewLink};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Link number `n`: every field derived from `n`, so a parent process can check what a child
/// wrote. `version` changes everything but the phone key (a re-link).
pub fn link_v(n: u64, version: u8) -> NewLink {
    let phone = IdentityKey::from_bytes(&bytes(b"phone", n, 0)).expect("a valid scalar");
    NewLink {
        contact_id: format!("contact-{n}-{version}").into_bytes(),
        link_id: bytes(b"link id", n, version)[..8]
            .try_into()
            .expect("8 bytes"),
        secret: secret(n, version),
        phone_public_key: phone.public_key(),
        name: format!("Phone {n} v{version}"),
        tunnel_domain_id: (n % 300) as u16,
    }
}

pub fn link(n: u64) -> NewLink {
    link_v(n, 0)
}

pub fn secret(n: u64, version: u8) -> LinkSecret {
    LinkSecret::new(bytes(b"secret", n, version))
}

fn bytes(label: &[u8], n: u64, version: u8) -> [u8; 32] {
    Sha256::new()
        .chain_update(label)
        .chain_update(n.to_le_bytes())
        .chain_update([version])
        .finalize()
        .into()
}

pub fn open(path: &Path) -> LinkStore {
    LinkStore::open_with(path, KeySource::File).expect("store opens")
}

pub fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("links.db")
}

/// True when `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
