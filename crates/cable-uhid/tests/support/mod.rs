//! A fake kernel (SOCK_SEQPACKET listener, one uhid_event per packet), a fake cabled (the
//! stream socket) and the cable-uhid process between them. Every wait has a deadline, so a
//! broken daemon fails a test instead of hanging it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cable_uhid::abi::{KernelEvent, UserEvent, UHID_EVENT_SIZE};
use cable_uhid::relay::{Decoder, Frame};

pub const WAIT: Duration = Duration::from_secs(10);

fn check(rc: libc::c_int, what: &str) {
    assert!(rc >= 0, "{what}: {}", std::io::Error::last_os_error());
}

fn addr(path: &Path) -> libc::sockaddr_un {
    // SAFETY: plain old data.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in a.sun_path.iter_mut().zip(path.as_os_str().as_bytes()) {
        *d = *s as libc::c_char;
    }
    a
}

/// Waits until `fd` is readable; false on timeout.
fn readable(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as libc::c_int) };
    check(rc, "poll");
    rc > 0
}

/// Plays /dev/uhid: cable-uhid connects once per attached cabled.
pub struct FakeKernel {
    fd: OwnedFd,
    pub path: PathBuf,
}

impl FakeKernel {
    pub fn listen(path: PathBuf) -> FakeKernel {
        // SAFETY: socket/bind/listen on our own fd with a valid address.
        unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
            check(fd, "socket");
            let fd = OwnedFd::from_raw_fd(fd);
            let a = addr(&path);
            check(
                libc::bind(
                    fd.as_raw_fd(),
                    &a as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
                ),
                "bind",
            );
            check(libc::listen(fd.as_raw_fd(), 8), "listen");
            FakeKernel { fd, path }
        }
    }

    /// The next connection of cable-uhid, if one comes within `timeout`.
    pub fn accept(&self, timeout: Duration) -> Option<KernelConn> {
        if !readable(&self.fd, timeout) {
            return None;
        }
        // SAFETY: accept on our listening fd.
        let c = unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        check(c, "accept");
        // SAFETY: c is a new fd.
        Some(KernelConn {
            fd: unsafe { OwnedFd::from_raw_fd(c) },
        })
    }
}

pub struct KernelConn {
    fd: OwnedFd,
}

impl KernelConn {
    /// One whole record cable-uhid wrote; `None` at EOF. Panics after [`WAIT`].
    pub fn recv_raw(&self) -> Option<Vec<u8>> {
        assert!(
            readable(&self.fd, WAIT),
            "cable-uhid wrote no uhid event within {WAIT:?}"
        );
        let mut buf = vec![0u8; UHID_EVENT_SIZE + 16];
        // SAFETY: valid buffer.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        check(n as libc::c_int, "recv");
        if n == 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(buf)
    }

    pub fn recv(&self) -> Option<UserEvent> {
        let raw = self.recv_raw()?;
        assert_eq!(
            raw.len(),
            UHID_EVENT_SIZE,
            "cable-uhid must write whole uhid_event records"
        );
        Some(UserEvent::decode(&raw).expect("cable-uhid wrote a record user space may write"))
    }

    /// Nothing more arrives within `d` (and the connection is still open).
    pub fn quiet_for(&self, d: Duration) -> bool {
        !readable(&self.fd, d)
    }

    pub fn send(&self, ev: &KernelEvent) {
        let rec = ev.encode().unwrap();
        // SAFETY: valid buffer.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                rec.as_ptr().cast(),
                rec.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        assert_eq!(
            n as usize,
            rec.len(),
            "send: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// A cabled on the stream socket.
pub struct FakeCabled {
    pub stream: UnixStream,
    decoder: Decoder,
}

impl FakeCabled {
    pub fn connect(path: &Path) -> FakeCabled {
        let stream = UnixStream::connect(path).expect("connect to cable-uhid");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        FakeCabled {
            stream,
            decoder: Decoder::new(),
        }
    }

    pub fn send(&mut self, f: &Frame) {
        self.send_raw(&f.encode());
    }

    /// A write to a cable-uhid that already refused and closed fails; what it said is read
    /// with [`FakeCabled::recv`], so that failure is not the test's business.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => panic!("writing to cable-uhid: {e}"),
        }
    }

    /// The next frame; `None` at EOF. Panics after [`WAIT`].
    pub fn recv(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 2048];
        loop {
            if let Some(f) = self
                .decoder
                .next_frame()
                .expect("cable-uhid sent a malformed frame")
            {
                return Some(f);
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&buf[..n]),
                // A reset after REFUSED counts as the close it is.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("no frame from cable-uhid within {WAIT:?}: {e}"),
            }
        }
    }

    /// HELLO, then READY expected.
    pub fn attach(path: &Path) -> FakeCabled {
        let mut c = FakeCabled::connect(path);
        c.send(&Frame::Hello { version: 1 });
        assert_eq!(c.recv(), Some(Frame::Ready));
        c
    }
}

/// The cable-uhid process; killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub socket: PathBuf,
}

impl Daemon {
    pub fn start(device: &Path, socket: PathBuf, user: &str) -> Daemon {
        Daemon::start_with(device, socket, &["--user", user])
    }

    /// With `seat_args` saying whose cabled may attach (`--user X` or `--loginctl FAKE`).
    pub fn start_with(device: &Path, socket: PathBuf, seat_args: &[&str]) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_cable-uhid"))
            .arg("--device")
            .arg(device)
            .arg("--socket")
            .arg(&socket)
            .args(seat_args)
            .env("CABLE_UHID_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cable-uhid");
        let mut d = Daemon { child, socket };
        let deadline = Instant::now() + WAIT;
        while UnixStream::connect(&d.socket).is_err() {
            if let Some(status) = d.child.try_wait().unwrap() {
                panic!("cable-uhid exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "cable-uhid did not listen within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn my_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// A fresh directory with a fake kernel and a running cable-uhid pinned to `user`.
pub fn setup(user: &str) -> (tempfile::TempDir, FakeKernel, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let kernel = FakeKernel::listen(dir.path().join("uhid"));
    let daemon = Daemon::start(&kernel.path, dir.path().join("uhid.sock"), user);
    (dir, kernel, daemon)
}
