//! Where the store lives and the permissions it gets: folder 0700, files 0600.

use crate::StoreError;
use std::ffi::OsString;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `$XDG_DATA_HOME/cable/links.db`, else `~/.local/share/cable/links.db`.
pub fn default_path() -> Result<PathBuf, StoreError> {
    default_path_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// The XDG spec says a relative `XDG_DATA_HOME` is invalid and must be ignored.
fn default_path_from(xdg: Option<OsString>, home: Option<OsString>) -> Result<PathBuf, StoreError> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let data = match absolute(xdg) {
        Some(dir) => dir,
        None => absolute(home)
            .ok_or(StoreError::NoDataDir)?
            .join(".local/share"),
    };
    Ok(data.join("cable").join("links.db"))
}

/// The key file kept next to the store when no Secret Service is used: `links.key`.
pub fn key_file_path(store: &Path) -> PathBuf {
    store.with_extension("key")
}

/// Creates the store's folder (0700 for every folder it makes) and the store file (0600) if
/// missing. Never writes file contents, and leaves an existing file's mode alone: it is
/// tightened only once the file proved to be a sound store ([`tighten`]), so a damaged file is
/// left exactly as it was. (SQLite would otherwise create the file with the umask's mode.)
pub(crate) fn prepare(store: &Path) -> Result<(), StoreError> {
    if let Some(dir) = store.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| StoreError::io(dir, e))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(store)
        .map_err(|e| StoreError::io(store, e))?;
    Ok(())
}

/// Sets mode 0600 if the file is readable by anyone but its owner.
pub(crate) fn tighten(path: &Path) -> Result<(), StoreError> {
    let mode = fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, Permissions::from_mode(0o600))
            .map_err(|e| StoreError::io(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(xdg: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
        default_path_from(xdg.map(Into::into), home.map(Into::into)).ok()
    }

    #[test]
    fn xdg_data_home_wins_when_absolute() {
        assert_eq!(
            path(Some("/x/data"), Some("/home/u")),
            Some("/x/data/cable/links.db".into())
        );
        assert_eq!(
            path(None, Some("/home/u")),
            Some("/home/u/.local/share/cable/links.db".into())
        );
        assert_eq!(
            path(Some("relative"), Some("/home/u")),
            Some("/home/u/.local/share/cable/links.db".into())
        );
        assert_eq!(path(Some(""), None), None);
        assert_eq!(path(None, Some("not/absolute")), None);
    }

    #[test]
    fn key_file_sits_next_to_the_store() {
        assert_eq!(
            key_file_path(Path::new("/d/cable/links.db")),
            Path::new("/d/cable/links.key")
        );
    }
}
