//! Where the daemon listens: a Unix socket only its user can reach. Finds the socket path,
//! makes the folder private, refuses a second daemon, replaces a stale socket left by a
//! crashed one, and takes over a socket handed in by systemd (socket activation).

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const SD_LISTEN_FDS_START: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "XDG_RUNTIME_DIR is not set, so there is no private per-user folder for the socket; \
         log in through a session that sets it, or pass --socket PATH"
    )]
    NoRuntimeDir,
    #[error("cannot create the folder {}: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make {} private (mode {mode:o}): {source}", .path.display())]
    Permissions {
        path: PathBuf,
        mode: u32,
        source: std::io::Error,
    },
    #[error(
        "another cabled{} is already serving {}; stop it first (for the systemd units: \
         systemctl --user stop cabled.socket cabled.service) or pass another --socket",
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), .path.display()
    )]
    AlreadyRunning { path: PathBuf, pid: Option<u32> },
    #[error("{} exists and is not a socket; remove it or pass another --socket", .path.display())]
    NotASocket { path: PathBuf },
    #[error("cannot use the lock file {}: {source}", .path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {}: {source}", .path.display())]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("socket activation: {0}")]
    Activation(String),
}

/// `$XDG_RUNTIME_DIR/cable/cabled.sock`, the path daemon and clients agree on.
pub fn default_socket_path() -> Result<PathBuf, SocketError> {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .ok_or(SocketError::NoRuntimeDir)?;
    Ok(PathBuf::from(dir).join("cable").join("cabled.sock"))
}

/// A listening socket and what must be cleaned up when the daemon stops.
#[derive(Debug)]
pub struct BoundSocket {
    pub listener: UnixListener,
    pub guard: SocketGuard,
}

/// Removes the socket file the daemon created, and holds the lock while the daemon runs.
#[derive(Debug)]
pub struct SocketGuard {
    /// The socket file we created (none under socket activation: systemd owns it).
    path: Option<PathBuf>,
    /// Held (flock) for as long as the daemon runs; never deleted, so two daemons can never
    /// hold locks on different files.
    _lock: Option<File>,
}

impl SocketGuard {
    /// The socket file's path, when the daemon created it.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Removes the socket file (while still holding the lock), then releases the lock.
    pub fn remove(self) {
        if let Some(path) = &self.path {
            match std::fs::remove_file(path) {
                Ok(()) => tracing::debug!(path = %path.display(), "socket removed"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove the socket")
                }
            }
        }
    }
}

/// Creates the socket at `path`. `private_parent`: also set the parent folder to 0700 when it
/// already exists (done for the default folder; a folder named by `--socket` is only created
/// 0700 when missing, never changed).
pub fn bind(path: &Path, private_parent: bool) -> Result<BoundSocket, SocketError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare_parent(parent, private_parent)?;
    }
    let lock = take_lock(path)?;
    replace_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|source| SocketError::Bind {
        path: path.to_path_buf(),
        source,
    })?;
    set_mode(path, 0o600)?;
    listener
        .set_nonblocking(true)
        .map_err(|source| SocketError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(BoundSocket {
        listener,
        guard: SocketGuard {
            path: Some(path.to_path_buf()),
            _lock: Some(lock),
        },
    })
}

fn prepare_parent(parent: &Path, private: bool) -> Result<(), SocketError> {
    if !parent.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|source| SocketError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        // The mode given to mkdir is filtered by the umask; set it exactly.
        return set_mode(parent, 0o700);
    }
    if private {
        set_mode(parent, 0o700)?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), SocketError> {
    std::fs::set_permissions(path, Permissions::from_mode(mode)).map_err(|source| {
        SocketError::Permissions {
            path: path.to_path_buf(),
            mode,
            source,
        }
    })
}

/// `PATH.lock`, locked with flock: the one daemon allowed on this socket.
fn take_lock(socket: &Path) -> Result<File, SocketError> {
    let mut name = socket.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let lock_error = |source| SocketError::Lock {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(lock_error)?;
    // SAFETY: flock on a descriptor this function owns; no memory is involved.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            return Err(SocketError::AlreadyRunning {
                path: socket.to_path_buf(),
                pid,
            });
        }
        return Err(lock_error(err));
    }
    // Record our pid so a second daemon can say who holds the socket.
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| write!(file, "{}", std::process::id()))
        .map_err(lock_error)?;
    Ok(file)
}

/// Removes a socket file nobody listens on (left by a crashed daemon); refuses when a
/// listener answers (e.g. systemd's socket unit) or the path is not a socket.
fn replace_stale(path: &Path) -> Result<(), SocketError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(_) => return Ok(()),
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    match UnixStream::connect(path) {
        Ok(stream) => {
            let pid = peer_pid(&stream);
            Err(SocketError::AlreadyRunning {
                path: path.to_path_buf(),
                pid,
            })
        }
        Err(_) => {
            tracing::info!(path = %path.display(), "replacing a stale socket");
            std::fs::remove_file(path).map_err(|source| SocketError::Bind {
                path: path.to_path_buf(),
                source,
            })
        }
    }
}

fn peer_pid(stream: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes at most `len` bytes into `cred`, which is that large.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0 && cred.pid > 0).then_some(cred.pid as u32)
}

/// The listening socket systemd passed (`LISTEN_PID` is us, `LISTEN_FDS` = 1), if any. Call
/// before starting threads: it clears the variables so children do not inherit them.
pub fn take_activated() -> Result<Option<BoundSocket>, SocketError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(None);
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    match fds.trim().parse::<i32>() {
        Ok(1) => {}
        Ok(n) => {
            return Err(SocketError::Activation(format!(
                "systemd passed {n} sockets, cabled takes exactly one (ListenStream= once in cabled.socket)"
            )))
        }
        Err(_) => {
            return Err(SocketError::Activation(format!(
                "LISTEN_FDS={fds:?} is not a number"
            )))
        }
    }
    let fd = SD_LISTEN_FDS_START;
    // SAFETY: systemd hands descriptor 3 to this process (LISTEN_PID matched); nothing else in
    // the process owns it, and it is taken exactly once because the variables are cleared.
    let listener = unsafe { UnixListener::from_raw_fd(fd) };
    // SAFETY: fcntl on the descriptor just taken; marks it close-on-exec.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    listener.local_addr().map_err(|e| {
        SocketError::Activation(format!(
            "descriptor 3 is not a Unix socket ({e}); use ListenStream=%t/cable/cabled.sock"
        ))
    })?;
    listener.set_nonblocking(true).map_err(|e| {
        SocketError::Activation(format!("cannot make the socket non-blocking: {e}"))
    })?;
    Ok(Some(BoundSocket {
        listener,
        guard: SocketGuard {
            path: None,
            _lock: None,
        },
    }))
}

/// This process's user id.
pub fn own_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn binds_privately_and_refuses_a_second_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cable/cabled.sock");
        let bound = bind(&path, false).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        match bind(&path, false) {
            Err(SocketError::AlreadyRunning { pid, .. }) => {
                assert_eq!(pid, Some(std::process::id()))
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        bound.guard.remove();
        assert!(!path.exists());
        // The lock went with it: binding again works.
        bind(&path, false).unwrap().guard.remove();
    }

    #[test]
    fn replaces_a_stale_socket_and_refuses_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cabled.sock");
        // A socket file with nobody listening: what a crashed daemon leaves.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let bound = bind(&path, false).unwrap();
        assert!(UnixStream::connect(&path).is_ok());
        bound.guard.remove();

        std::fs::write(&path, b"not a socket").unwrap();
        assert!(matches!(
            bind(&path, false),
            Err(SocketError::NotASocket { .. })
        ));
    }

    #[test]
    fn a_live_listener_without_the_lock_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cabled.sock");
        let _other = UnixListener::bind(&path).unwrap();
        match bind(&path, false) {
            Err(SocketError::AlreadyRunning { pid, .. }) => {
                assert_eq!(pid, Some(std::process::id()))
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
    }

    #[test]
    fn private_parent_is_enforced_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().join("shared");
        std::fs::create_dir(&parent).unwrap();
        std::fs::set_permissions(&parent, Permissions::from_mode(0o755)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        bind(&parent.join("a.sock"), false).unwrap().guard.remove();
        assert_eq!(mode(&parent), 0o755);
        bind(&parent.join("b.sock"), true).unwrap().guard.remove();
        assert_eq!(mode(&parent), 0o700);
    }

    #[test]
    fn default_path_needs_xdg_runtime_dir() {
        // Read-only check of the formatting; the variable itself belongs to the test runner.
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            assert_eq!(
                default_socket_path().unwrap(),
                PathBuf::from(dir).join("cable/cabled.sock")
            );
        } else {
            assert!(matches!(
                default_socket_path(),
                Err(SocketError::NoRuntimeDir)
            ));
        }
    }
}
