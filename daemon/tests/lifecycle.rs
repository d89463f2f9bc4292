//! A real cabled's life: its socket, a stale socket, a second daemon, signals, socket
//! activation, configuration errors, other users.

mod common;

use cabled::ipc::api::{DaemonStatus, NoParams};

/// Lifecycle tests need no linked phones: a store path that cannot exist keeps the user's away.
const NO_STORE: &str = "/nonexistent/cable-tests";

use common::{error_of, Cabled, Options};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_is_private() {
    let daemon = Cabled::start();
    assert_eq!(mode(&daemon.socket), 0o600);
    assert_eq!(mode(daemon.socket.parent().unwrap()), 0o700);
    assert!(std::fs::symlink_metadata(&daemon.socket)
        .unwrap()
        .file_type()
        .is_socket_like());
    let mut c = daemon.connect().await;
    assert_eq!(c.ok("daemon.status", json!({})).await["pid"], daemon.pid());
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reports_the_radio_and_checks_bluetooth_when_asked() {
    let virtual_radio = Cabled::start();
    let mut c = virtual_radio.connect().await;
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["radio"]["backend"], "virtual");
    assert_eq!(status["bluetooth"]["state"], "not_used");

    // With Bluetooth configured and no BlueZ reachable, the state names the cause.
    let bluetooth = Cabled::start_with(Options {
        args: vec!["--radio".into(), "bluetooth".into()],
        ..Options::default()
    });
    let mut c = bluetooth.connect().await;
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["radio"]["backend"], "bluetooth");
    assert_eq!(status["radio"]["scanning"], false);
    assert_eq!(status["bluetooth"]["state"], "bluetooth_unavailable");
    assert!(status["bluetooth"]["message"]
        .as_str()
        .unwrap()
        .contains("BlueZ"));
}

trait SocketLike {
    fn is_socket_like(&self) -> bool;
}

impl SocketLike for std::fs::FileType {
    fn is_socket_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_socket(self)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_socket_is_replaced() {
    fn leave_stale_socket(path: &std::path::Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // What a crashed daemon leaves behind: a socket file nobody listens on.
        drop(std::os::unix::net::UnixListener::bind(path).unwrap());
        assert!(path.exists());
    }
    let daemon = Cabled::start_with(Options {
        before: Some(leave_stale_socket),
        ..Options::default()
    });
    let mut c = daemon.connect().await;
    assert_eq!(c.ok("daemon.status", json!({})).await["pid"], daemon.pid());
    assert!(
        daemon.log_text().contains("stale socket"),
        "{}",
        daemon.log_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn second_daemon_refuses_and_the_first_keeps_serving() {
    let daemon = Cabled::start();
    let (status, log) = daemon.second();
    assert!(!status.success());
    assert!(log.contains("already serving"), "{log}");
    assert!(log.contains(&format!("pid {}", daemon.pid())), "{log}");
    let mut c = daemon.connect().await;
    assert_eq!(c.ok("daemon.status", json!({})).await["pid"], daemon.pid());
    assert!(
        daemon.socket.exists(),
        "the refused daemon must not remove the socket"
    );
}

#[test]
fn a_file_that_is_not_a_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cabled.sock");
    std::fs::write(&path, "precious").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cabled"))
        .env("XDG_DATA_HOME", NO_STORE)
        .arg("--socket")
        .arg(&path)
        .arg("--radio")
        .arg("udp:127.0.0.1:9")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a socket"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn configuration_mistakes_stop_the_start_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cabled.sock");
    let config = dir.path().join("cabled.toml");
    std::fs::write(&config, "[timeouts]\nadvert = \"soon\"\n").unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cabled"))
            .env("XDG_DATA_HOME", NO_STORE)
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path())
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let e = run(&["--config", config.to_str().unwrap()]);
    assert!(e.contains("cabled.toml") && e.contains("advert"), "{e}");
    let e = run(&[
        "--config",
        dir.path().join("missing.toml").to_str().unwrap(),
    ]);
    assert!(e.contains("missing.toml"), "{e}");
    let e = run(&["--radio", "wifi"]);
    assert!(e.contains("unknown radio"), "{e}");
    let e = run(&["--tunnel-url", "https://example.com/x"]);
    assert!(e.contains("ws://HOST:PORT"), "{e}");
    assert!(!socket.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_in_the_xdg_folder_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cable")).unwrap();
    std::fs::write(
        dir.path().join("cable/cabled.toml"),
        "hybrid_enabled = false\ntunnel_url = \"ws://127.0.0.1:9\"\n",
    )
    .unwrap();
    let socket = dir.path().join("cabled.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cabled"))
        .env("XDG_DATA_HOME", NO_STORE)
        .arg("--socket")
        .arg(&socket)
        .arg("--radio")
        .arg("udp:127.0.0.1:9")
        .arg("--tunnel-url")
        .arg("ws://127.0.0.1:10")
        .env("XDG_CONFIG_HOME", dir.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < common::WAIT);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let client = cabled::ipc::Client::connect(&socket).await.unwrap();
    let status = client.call::<DaemonStatus>(NoParams {}).await.unwrap();
    assert!(!status.hybrid_enabled);
    // The command line beats the file.
    assert_eq!(status.tunnel_override.as_deref(), Some("ws://127.0.0.1:10"));
    assert_eq!(status.radio.description, "virtual radio udp:127.0.0.1:9");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sigint_exit_cleanly_and_remove_the_socket() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut daemon = Cabled::start();
        let mut c = daemon.connect().await;
        c.ok("daemon.status", json!({})).await;
        daemon.signal(signal);
        let status = daemon.wait_exit();
        assert!(status.success(), "{status}: {}", daemon.log_text());
        assert!(!daemon.socket.exists(), "socket left behind");
        assert!(c.next().await.is_none(), "connections are closed");
        // The folder can be reused at once by a new daemon.
        let again = Command::new(env!("CARGO_BIN_EXE_cabled"))
            .env("XDG_DATA_HOME", NO_STORE)
            .arg("--socket")
            .arg(&daemon.socket)
            .arg("--radio")
            .arg("udp:127.0.0.1:9")
            .env("XDG_CONFIG_HOME", daemon.dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut again = KillOnDrop(again);
        let start = std::time::Instant::now();
        while std::os::unix::net::UnixStream::connect(&daemon.socket).is_err() {
            assert!(start.elapsed() < common::WAIT);
            assert!(
                again.0.try_wait().unwrap().is_none(),
                "the new daemon did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_sessions_answers_callers_and_exits() {
    let mut daemon = Cabled::start();
    let mut c = daemon.connect().await;
    let raw = c.ok("hybrid.start", json!({"request_type": "mc"})).await["session"].clone();
    let pending = c
        .request(
            "webauthn.get",
            json!({"origin": "https://example.com", "options": {"challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZQ", "rpId": "example.com"}}),
        )
        .await;
    // Both sessions are waiting for a phone.
    let mut scanning = 0;
    while scanning < 2 {
        if c.next_event().await["params"]["event"] == "scanning" {
            scanning += 1;
        }
    }
    daemon.signal(libc::SIGTERM);
    let answer = c.response(pending).await;
    assert_eq!(error_of(&answer), "shutting_down");
    let status = daemon.wait_exit();
    assert!(status.success(), "{status}");
    assert!(!daemon.socket.exists());
    let _ = raw;
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_activation_takes_the_passed_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&listener);
    let mut cmd = Command::new("/bin/sh");
    // systemd's protocol: the socket is descriptor 3 and LISTEN_PID names the daemon, which
    // `exec` makes the shell's own pid.
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_cabled"))
        .arg("--radio")
        .arg("udp:127.0.0.1:9")
        .env("XDG_CONFIG_HOME", dir.path())
        .stderr(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    drop(listener);
    let client = cabled::ipc::Client::connect(&path).await.unwrap();
    let status = client.call::<DaemonStatus>(NoParams {}).await.unwrap();
    assert_eq!(status.pid, child.0.id());
    drop(client);
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = child.0.wait().unwrap();
    assert!(status.success());
    // systemd owns the socket file: the daemon leaves it.
    assert!(path.exists());
}

/// Runs as another user (when the tests run as root): connects and prints what it receives.
/// It does nothing in a normal test run.
#[test]
fn peer_helper() {
    let Ok(path) = std::env::var("CABLED_TEST_PEER_SOCKET") else {
        return;
    };
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).expect("connect");
    let _ = stream.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}\n");
    let mut line = String::new();
    let _ = std::io::BufReader::new(stream).read_line(&mut line);
    println!("PEER-ANSWER {line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_users_are_refused() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: needs root to connect as another user");
        return;
    }
    let daemon = Cabled::start();
    // Open the folder so that only the peer-credential check stands in the way.
    let open = |p: &std::path::Path, m| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    open(daemon.dir.path(), 0o711);
    open(&daemon.dir.path().join("run"), 0o711);
    open(daemon.socket.parent().unwrap(), 0o711);
    open(&daemon.socket, 0o666);
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "peer_helper", "--nocapture", "--test-threads=1"])
        .env("CABLED_TEST_PEER_SOCKET", &daemon.socket)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("PEER-ANSWER ").map(|(_, answer)| answer))
        .unwrap_or_else(|| {
            panic!(
                "the helper did not run: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let answer: serde_json::Value = serde_json::from_str(line).expect("a JSON answer");
    assert_eq!(error_of(&answer), "permission_denied");
    assert!(daemon.log_text().contains("another user"));
    // The owner is still served.
    let mut c = daemon.connect().await;
    c.ok("daemon.status", json!({})).await;
}

/// Context switches of every thread of `pid` so far (each one is a wake-up).
fn wake_ups(pid: i32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches")
                || line.starts_with("nonvoluntary_ctxt_switches")
            {
                total += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_daemon_never_wakes_up() {
    let daemon = Cabled::start();
    // Nothing runs while idle: no timers, no polling, no scanning. Start-up or a cancelled
    // session's wind-down may still be finishing on a loaded machine, so look at consecutive
    // 2 s windows: a daemon that is really idle has one with at most one wake-up soon; one
    // that keeps waking never does.
    let quiet = |what: &str| {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let before = wake_ups(daemon.pid());
            std::thread::sleep(std::time::Duration::from_secs(2));
            let woke = wake_ups(daemon.pid()) - before;
            if woke <= 1 {
                return;
            }
            seen.push(woke);
        }
        panic!("{what}: never idle; wake-ups per 2 s window: {seen:?}");
    };
    quiet("after start");

    // A session starts the radio; once it is cancelled and its client gone, all is quiet again.
    let mut c = daemon.connect().await;
    let session = c.ok("hybrid.start", json!({"request_type": "ga"})).await["session"].clone();
    c.wait_event(session.as_str().unwrap(), "scanning").await;
    c.ok("session.cancel", json!({"session": session})).await;
    c.wait_event(session.as_str().unwrap(), "error").await;
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["radio"]["scanning"], false);
    drop(c);
    quiet("after a session");
}

#[tokio::test(flavor = "multi_thread")]
async fn default_socket_lives_in_the_private_runtime_folder() {
    let runtime_dir = tempfile::tempdir().unwrap();
    let folder = runtime_dir.path().join("cable");
    // A folder left too open (by hand, or an old version) is made private again.
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_cabled"))
            .env("XDG_DATA_HOME", NO_STORE)
            .arg("--radio")
            .arg("udp:127.0.0.1:9")
            .env("XDG_RUNTIME_DIR", runtime_dir.path())
            .env("XDG_CONFIG_HOME", runtime_dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = folder.join("cabled.sock");
    let start = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            start.elapsed() < common::WAIT,
            "no socket at {}",
            socket.display()
        );
        assert!(child.0.try_wait().unwrap().is_none(), "cabled exited");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&socket), 0o600);
    // Without XDG_RUNTIME_DIR and --socket there is nowhere private to listen.
    let output = Command::new(env!("CARGO_BIN_EXE_cabled"))
        .env("XDG_DATA_HOME", NO_STORE)
        .arg("--radio")
        .arg("udp:127.0.0.1:9")
        .env_remove("XDG_RUNTIME_DIR")
        .env("XDG_CONFIG_HOME", runtime_dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("XDG_RUNTIME_DIR") && stderr.contains("--socket"),
        "{stderr}"
    );
}
