//! Who may attach, with a fake `loginctl` whose answers the test changes: the seat switching
//! away drops the attached cabled; the new active user's cabled replaces it.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cable_uhid::abi::UserEvent;
use cable_uhid::relay::Frame;
use support::*;

/// A loginctl that answers from two files: `session` (seat0's active session, may be empty)
/// and `uid` (that session's user). `fail` makes it exit 1.
struct FakeLogind {
    dir: PathBuf,
}

impl FakeLogind {
    fn new(dir: &Path) -> FakeLogind {
        let script = format!(
            "#!/bin/sh\nd='{}'\necho \"$1\" >> \"$d/calls\"\n[ -e \"$d/fail\" ] && {{ echo 'Failed to connect to bus' >&2; exit 1; }}\n\
             case \"$1\" in show-seat) cat \"$d/session\";; show-session) cat \"$d/uid\";; *) exit 2;; esac\n",
            dir.display()
        );
        let path = dir.join("loginctl");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeLogind {
            dir: dir.to_owned(),
        }
    }

    fn active(&self, uid: Option<u32>) {
        let (session, uid) = match uid {
            Some(u) => ("c1\n".to_string(), format!("{u}\n")),
            None => ("\n".to_string(), String::new()),
        };
        std::fs::write(self.dir.join("session"), session).unwrap();
        std::fs::write(self.dir.join("uid"), uid).unwrap();
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--loginctl".into(),
            self.dir.join("loginctl").display().to_string(),
        ]
    }
}

fn setup_logind(active: Option<u32>) -> (tempfile::TempDir, FakeLogind, FakeKernel, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    // Other users (the helper below) must reach the socket inside.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let logind = FakeLogind::new(dir.path());
    logind.active(active);
    let kernel = FakeKernel::listen(dir.path().join("uhid"));
    let args = logind.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start_with(&kernel.path, dir.path().join("uhid.sock"), &args);
    (dir, logind, kernel, daemon)
}

fn refused(c: &mut FakeCabled) -> String {
    match c.recv() {
        Some(Frame::Refused(why)) => why,
        other => panic!("expected REFUSED, got {other:?}"),
    }
}

#[test]
fn the_active_users_cabled_gets_in_and_loses_the_key_when_the_seat_switches_away() {
    let (_dir, logind, kernel, _daemon) = setup_logind(Some(my_uid()));
    let mut c = FakeCabled::attach(&_daemon.socket);
    let k = kernel.accept(WAIT).unwrap();
    assert!(matches!(k.recv(), Some(UserEvent::Create2(_))));

    logind.active(Some(my_uid() + 1)); // re-checked every 5 s
    let why = refused(&mut c);
    assert!(why.contains("not the user of the active session"), "{why}");
    assert_eq!(k.recv(), Some(UserEvent::Destroy));
    assert_eq!(k.recv_raw(), None);
}

#[test]
fn nobody_at_the_seat_or_no_answer_from_logind_refuses() {
    let (_dir, logind, kernel, daemon) = setup_logind(None);
    let mut c = FakeCabled::connect(&daemon.socket);
    let why = refused(&mut c);
    assert!(why.contains("no session is active on seat0"), "{why}");

    std::fs::write(logind.dir.join("fail"), "").unwrap();
    let mut c = FakeCabled::connect(&daemon.socket);
    let why = refused(&mut c);
    assert!(
        why.contains("Failed to connect to bus") && why.contains("--user"),
        "{why}"
    );
    assert!(kernel.accept(Duration::from_millis(300)).is_none());
}

#[test]
fn a_flood_of_connections_shares_loginctl_runs() {
    let other = my_uid() + 1;
    let (_dir, logind, _kernel, daemon) = setup_logind(Some(other));
    std::fs::remove_file(logind.dir.join("calls")).ok();
    const N: usize = 30;
    let mut all: Vec<FakeCabled> = (0..N)
        .map(|_| FakeCabled::connect(&daemon.socket))
        .collect();
    for c in &mut all {
        let why = refused(c);
        assert!(why.contains("not the user"), "{why}");
    }
    let calls = std::fs::read_to_string(logind.dir.join("calls")).unwrap();
    let seat_queries = calls.lines().filter(|l| *l == "show-seat").count();
    assert!(
        seat_queries < N / 3,
        "{seat_queries} loginctl runs for {N} simultaneous connections"
    );
}

const HELPER_SOCKET: &str = "CABLE_UHID_TEST_HELPER_SOCKET";

/// Not a test: the cabled of another user, run by the test below as that user. Exits 0 if
/// its HELLO is answered with READY (an exit status needs no output capture to pass).
#[test]
#[ignore]
fn helper_cabled() {
    let Ok(path) = std::env::var(HELPER_SOCKET) else {
        return;
    };
    let mut c = FakeCabled::connect(Path::new(&path));
    c.send(&Frame::Hello { version: 1 });
    let first = c.recv();
    std::process::exit(if first == Some(Frame::Ready) { 0 } else { 1 });
}

#[test]
fn fast_user_switching_hands_the_key_to_the_new_users_cabled() {
    if my_uid() != 0 {
        eprintln!("skipped: needs root to run a cabled as a second user");
        return;
    }
    const OTHER: u32 = 4242;
    let (_dir, logind, kernel, daemon) = setup_logind(Some(0));
    let mut first = FakeCabled::attach(&daemon.socket);
    let k1 = kernel.accept(WAIT).unwrap();
    assert!(matches!(k1.recv(), Some(UserEvent::Create2(_))));

    logind.active(Some(OTHER));
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_cabled",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_SOCKET, &daemon.socket)
        .uid(OTHER)
        .gid(OTHER)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let why = refused(&mut first);
    assert!(why.contains("switched to uid 4242"), "{why}");
    // The old device goes first, then the new user's appears.
    assert_eq!(k1.recv(), Some(UserEvent::Destroy));
    assert_eq!(k1.recv_raw(), None);
    let k2 = kernel.accept(WAIT).expect("a device for the new user");
    assert!(matches!(k2.recv(), Some(UserEvent::Create2(_))));
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = helper.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the helper cabled hangs"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "the new user's cabled did not get READY: {status}"
    );
}
