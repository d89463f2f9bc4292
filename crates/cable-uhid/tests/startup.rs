//! cable-uhid's startup errors are sentences that say what to do.

mod support;

use std::process::Command;

use support::*;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cable-uhid"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_uhid_device_says_load_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("uhid");
    let sock = dir.path().join("s.sock");
    let (ok, err) = run(&[
        "--device",
        dev.to_str().unwrap(),
        "--socket",
        sock.to_str().unwrap(),
        "--user",
        "0",
    ]);
    assert!(!ok);
    assert!(err.contains("modprobe uhid"), "{err}");
    assert!(
        !sock.exists(),
        "nothing is listened on when the device is missing"
    );
}

#[test]
fn an_unknown_user_is_named() {
    let (ok, err) = run(&[
        "--device",
        "/dev/null",
        "--socket",
        "/nonexistent/s",
        "--user",
        "no-such-user-xyz",
    ]);
    assert!(!ok);
    assert!(err.contains("no-such-user-xyz"), "{err}");
}

#[test]
fn a_socket_in_use_is_refused_and_left_alone() {
    let (_dir, kernel, daemon) = setup(&my_uid().to_string());
    let (ok, err) = run(&[
        "--device",
        kernel.path.to_str().unwrap(),
        "--socket",
        daemon.socket.to_str().unwrap(),
        "--user",
        "0",
    ]);
    assert!(!ok);
    assert!(err.contains("in use"), "{err}");
    // The first one still serves.
    let _c = FakeCabled::attach(&daemon.socket);
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = FakeKernel::listen(dir.path().join("uhid"));
    let sock = dir.path().join("uhid.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap()); // leaves the file behind
    let daemon = Daemon::start(&kernel.path, sock, &my_uid().to_string());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&daemon.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666, "anyone may connect; the peer uid decides");
    let _c = FakeCabled::attach(&daemon.socket);
}
