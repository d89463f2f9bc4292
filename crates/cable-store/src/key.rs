//! The store key: 32 random bytes kept in the desktop's Secret Service when one is reachable,
//! else in a 0600 file `links.key` next to the store.
//!
//! A store remembers (in its `meta` table) where its key lives, and an existing store never gets
//! a new key: a missing key is an error, because a fresh key would make every stored secret
//! unreadable. Only a store that has no key yet may create one.

use crate::paths::{key_file_path, tighten};
use crate::seal::StoreKey;
use crate::StoreError;
use rand_core::OsRng;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Where the store key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Where this store's key already is; a new store uses the Secret Service when reachable
    /// (and no key file is already there), else the key file.
    Auto,
    /// The 0600 file `links.key` next to the store.
    File,
    /// The desktop's Secret Service (GNOME Keyring, KWallet); an error when unreachable.
    SecretService,
}

impl KeySource {
    /// The name written in the store's `meta` table.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            KeySource::Auto => "auto",
            KeySource::File => "file",
            KeySource::SecretService => "secret-service",
        }
    }

    pub(crate) fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "file" => Some(KeySource::File),
            "secret-service" => Some(KeySource::SecretService),
            _ => None,
        }
    }
}

/// Loads the key of an existing store from `source` (never `Auto`); never creates one.
pub(crate) fn load(source: KeySource, store: &Path) -> Result<StoreKey, StoreError> {
    let unavailable = |reason: String| StoreError::KeyUnavailable {
        path: store.into(),
        reason,
    };
    match source {
        KeySource::File | KeySource::Auto => read_key_file(store)?.ok_or_else(|| {
            unavailable(format!(
                "the key file {} is missing, so the stored link secrets cannot be decrypted; \
                 restore it, or move the store aside and link your phones again",
                key_file_path(store).display()
            ))
        }),
        KeySource::SecretService => match secret_service::get(store) {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(unavailable(
                "the Secret Service has no key for this store; restore it, or move the store \
                 aside and link your phones again"
                    .into(),
            )),
            Err(reason) => Err(unavailable(format!(
                "the key is kept in the Secret Service, which did not answer ({reason}); \
                 run this inside your desktop session with the keyring unlocked"
            ))),
        },
    }
}

/// Finds or creates the key of a store that has none recorded; returns where it went.
pub(crate) fn load_or_create(
    requested: KeySource,
    store: &Path,
) -> Result<(KeySource, StoreKey), StoreError> {
    match requested {
        KeySource::File => Ok((KeySource::File, file_key_or_create(store)?)),
        KeySource::SecretService => match secret_service_key_or_create(store) {
            Ok(key) => Ok((KeySource::SecretService, key)),
            Err(reason) => Err(StoreError::KeyUnavailable {
                path: store.into(),
                reason: format!("the Secret Service cannot keep the key: {reason}"),
            }),
        },
        KeySource::Auto => {
            // A key file already there (say, the store was moved aside) is reused, not orphaned.
            if let Some(key) = read_key_file(store)? {
                return Ok((KeySource::File, key));
            }
            match secret_service_key_or_create(store) {
                Ok(key) => Ok((KeySource::SecretService, key)),
                Err(_) => Ok((KeySource::File, file_key_or_create(store)?)),
            }
        }
    }
}

fn secret_service_key_or_create(store: &Path) -> Result<StoreKey, String> {
    if let Some(key) = secret_service::get(store)? {
        return Ok(key);
    }
    let key = StoreKey::random(&mut OsRng);
    secret_service::put(store, &key)?;
    Ok(key)
}

/// `Ok(None)` when the key file does not exist.
fn read_key_file(store: &Path) -> Result<Option<StoreKey>, StoreError> {
    let path = key_file_path(store);
    let bytes = match fs::read(&path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    tighten(&path)?;
    StoreKey::from_slice(&bytes).map(Some).ok_or_else(|| {
        StoreError::corrupt(
            &path,
            format!("the key file holds {} bytes instead of 32", bytes.len()),
        )
    })
}

/// Writes a new key to a private temporary file, then hard-links it into place, which fails
/// if another process got there first; then that process's key is used.
fn file_key_or_create(store: &Path) -> Result<StoreKey, StoreError> {
    if let Some(key) = read_key_file(store)? {
        return Ok(key);
    }
    let path = key_file_path(store);
    let tmp = path.with_extension(format!("key.{}.tmp", std::process::id()));
    let key = StoreKey::random(&mut OsRng);
    let written = write_private(&tmp, key.expose()).and_then(|()| fs::hard_link(&tmp, &path));
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            sync_parent(&path);
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read_key_file(store)?.ok_or_else(|| StoreError::io(&path, ErrorKind::NotFound.into()))
        }
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the new directory entry durable; best effort (a crash only loses a key no row uses).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
}

#[cfg(feature = "secret-service")]
mod secret_service {
    //! The store key as a Secret Service item labelled for cable, one per store path.

    use crate::seal::StoreKey;
    use std::path::Path;
    use zeroize::Zeroizing;

    const SERVICE: &str = "cable linked-phone store";

    fn entry(store: &Path) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, &store.to_string_lossy()).map_err(|e| e.to_string())
    }

    /// `Ok(None)`: the service answered and has no key for this store.
    pub(super) fn get(store: &Path) -> Result<Option<StoreKey>, String> {
        match entry(store)?.get_secret() {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                StoreKey::from_slice(&bytes)
                    .map(Some)
                    .ok_or_else(|| format!("its item holds {} bytes instead of 32", bytes.len()))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(super) fn put(store: &Path, key: &StoreKey) -> Result<(), String> {
        entry(store)?
            .set_secret(key.expose())
            .map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "secret-service"))]
mod secret_service {
    //! Built without Secret Service support: it is never reachable.

    use crate::seal::StoreKey;
    use std::path::Path;

    const NOT_BUILT: &str = "this build of cable has no Secret Service support";

    pub(super) fn get(_store: &Path) -> Result<Option<StoreKey>, String> {
        Err(NOT_BUILT.into())
    }

    pub(super) fn put(_store: &Path, _key: &StoreKey) -> Result<(), String> {
        Err(NOT_BUILT.into())
    }
}
