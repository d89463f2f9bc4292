//! The uhid endpoint: `/dev/uhid`, or a SOCK_SEQPACKET socket that plays the kernel in tests.
//!
//! Both carry one whole `struct uhid_event` per read and per write, so the rest of the
//! program cannot tell them apart. Opened per attached cabled: closing the fd makes the kernel
//! destroy the device even if we never got to write UHID_DESTROY.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cable_uhid::abi::UHID_EVENT_SIZE;
use thiserror::Error;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

#[derive(Debug, Error)]
pub enum DeviceError {
    #[error("{path} does not exist: load the uhid module (`modprobe uhid`; dist/modules-load.d/cable-uhid.conf does it at boot)")]
    Missing { path: PathBuf },
    #[error("permission denied opening {path}: run cable-uhid as root (the systemd unit cable-uhid.service does)")]
    Denied { path: PathBuf },
    #[error("nothing listens on the uhid socket {path} ({source})")]
    SocketRefused { path: PathBuf, source: io::Error },
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
}

fn classify(path: &Path, source: io::Error, socket: bool) -> DeviceError {
    let path = path.to_owned();
    match source.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) if !socket => {
            DeviceError::Missing { path }
        }
        Some(libc::EACCES) | Some(libc::EPERM) => DeviceError::Denied { path },
        Some(libc::ECONNREFUSED) | Some(libc::ENOENT) => {
            DeviceError::SocketRefused { path, source }
        }
        _ => DeviceError::Open { path, source },
    }
}

fn is_socket(path: &Path) -> Result<bool, DeviceError> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.file_type().is_socket()),
        Err(e) => Err(classify(path, e, false)),
    }
}

/// Checks at startup that the device can be opened, so a misconfiguration shows at once
/// instead of at the first cabled. A socket is not probed (a test kernel would see a client).
pub fn probe(path: &Path) -> Result<(), DeviceError> {
    if is_socket(path)? {
        return Ok(());
    }
    open_char(path).map(drop)
}

fn cstr(path: &Path) -> Result<CString, DeviceError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| DeviceError::Open {
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"),
    })
}

fn open_char(path: &Path) -> Result<OwnedFd, DeviceError> {
    let c = cstr(path)?;
    // SAFETY: c is a valid NUL-terminated path; open returns a new fd or -1.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
        )
    };
    if fd < 0 {
        return Err(classify(path, io::Error::last_os_error(), false));
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn connect_seqpacket(path: &Path) -> Result<OwnedFd, DeviceError> {
    let err = |e| classify(path, e, true);
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: plain socket(2); the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    // SAFETY: fd is new and ours.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain old data; zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path too long",
        )));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // Blocking connect (a Unix socket connects at once), then non-blocking I/O.
    // SAFETY: addr is a valid sockaddr_un of the given size.
    let rc = unsafe {
        libc::connect(
            owned.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    // SAFETY: fcntl on our own fd.
    if unsafe { libc::fcntl(owned.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    Ok(owned)
}

/// One open uhid endpoint.
pub struct Device {
    fd: AsyncFd<OwnedFd>,
}

impl Device {
    pub fn open(path: &Path) -> Result<Device, DeviceError> {
        let fd = if is_socket(path)? {
            connect_seqpacket(path)?
        } else {
            open_char(path)?
        };
        // SAFETY: the OwnedFd moves into the AsyncFd, which alone closes it, after deregistering.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
                .map_err(|source| DeviceError::Open {
                    path: path.to_owned(),
                    source: source.into(),
                })?;
        Ok(Device { fd })
    }

    /// Reads one event into `buf`; `Ok(0)` when the other end is gone.
    pub async fn read_event(&self, buf: &mut [u8; UHID_EVENT_SIZE]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|fd| {
                // SAFETY: buf is a valid writable buffer of its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes one whole event record.
    pub async fn write_event(&self, record: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            let res = guard.try_io(|fd| {
                // SAFETY: record is a valid buffer of its length.
                let n =
                    unsafe { libc::write(fd.as_raw_fd(), record.as_ptr().cast(), record.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) if n == record.len() => return Ok(()),
                Ok(Ok(n)) => {
                    return Err(io::Error::other(format!(
                        "uhid took {n} of {} bytes of an event",
                        record.len()
                    )))
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}
