//! The software phone's passkeys on disk: one JSON file (cable-ctap's `CredentialStore` form).
//!
//! The file holds private keys, so it is written owner-only (0600 on Unix) and atomically: a
//! temporary file in the same folder, flushed, then renamed over the old one, so a crash never
//! leaves half a file and a reader never sees one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cable_ctap::CredentialStore;

use crate::{PhoneError, Result};

/// Reads the store at `path`; a missing file is an empty store (the phone's first run).
pub fn load_store(path: &Path) -> Result<CredentialStore> {
    let text = match fs::read_to_string(path) {
        Ok(text) => zeroize_on_drop(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CredentialStore::new()),
        Err(e) => return Err(store_error(path, format!("cannot read it: {e}"))),
    };
    CredentialStore::from_json(&text)
        .map_err(|e| store_error(path, format!("it is not a valid passkey file: {e}")))
}

/// Writes `store` to `path` atomically with owner-only permissions.
pub fn save_store(path: &Path, store: &CredentialStore) -> Result<()> {
    let json = store.to_json();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| store_error(path, "the path does not name a file".into()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(temp_name);

    let written = write_private(&temp, json.as_bytes()).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(store_error(path, format!("cannot write it: {e}")));
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // The mode applies only to a file this call created; tighten a leftover one too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

fn zeroize_on_drop(text: String) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(text)
}

fn store_error(path: &Path, cause: String) -> PhoneError {
    PhoneError::Store {
        path: path.to_path_buf(),
        cause,
    }
}
