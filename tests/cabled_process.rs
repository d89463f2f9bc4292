//! The real `cabled` daemon and `cablectl devices` as processes sharing one private home, so
//! both open the same link store (`$XDG_DATA_HOME/cable/links.db`).
//!
//! [`locate`] finds `target/<profile>/NAME` (`cargo test --workspace` links both binaries,
//! since cli and daemon have integration tests) and refuses one older than its sources,
//! telling the person to run `cargo build -p cabled -p cablectl`.

use crate::rig::within;
use cabled::ipc::client::{Client, Notification};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// `target/<profile>/<name>`, current with its sources (see [`crate::process::locate_binary`]).
pub fn locate(name: &str) -> PathBuf {
    crate::process::locate_binary(name, "run `cargo build -p cabled -p cablectl`")
}

/// A private home: HOME and the XDG folders under one temporary folder, and a session bus
/// address where nothing listens, so the store keeps its key in a file and the Secret Service
/// of the person running the tests is never touched.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// `$XDG_DATA_HOME/cable/links.db`, where both programs keep the linked phones.
    pub fn store_path(&self) -> PathBuf {
        self.root.join("data").join("cable").join("links.db")
    }

    pub fn apply(&self, command: &mut Command) {
        command.env("HOME", &self.root);
        for (var, dir) in [
            ("XDG_DATA_HOME", "data"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_RUNTIME_DIR", "runtime"),
        ] {
            command.env(var, self.root.join(dir));
        }
        command
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.root.join("no-bus").display()),
            )
            .env_remove("DISPLAY");
    }
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cablectl ARGS` in `home` and waits for it.
pub async fn cablectl(home: &Home, args: &[&str]) -> Output {
    cablectl_logging(home, args, None).await
}

/// [`cablectl`] with `RUST_LOG` set to `rust_log` (`None`: unset, so stderr holds only what
/// cablectl itself says).
pub async fn cablectl_logging(home: &Home, args: &[&str], rust_log: Option<&str>) -> Output {
    let mut command = Command::new(locate("cablectl"));
    match rust_log {
        Some(directives) => command.env("RUST_LOG", directives),
        None => command.env_remove("RUST_LOG"),
    };
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    home.apply(&mut command);
    let output = within(&format!("cablectl {}", args.join(" ")), command.output())
        .await
        .expect("cablectl runs");
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `cablectl ARGS` and fails the test unless it succeeds; returns its standard output.
pub async fn cablectl_ok(home: &Home, args: &[&str]) -> String {
    let out = cablectl(home, args).await;
    assert!(
        out.status.success(),
        "cablectl {} failed ({}):\n{}\n{}",
        args.join(" "),
        out.status,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// A running `cabled` on a virtual radio and a local tunnel server, in `home`.
pub struct CabledProcess {
    child: Child,
    pub socket: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    /// Reads stderr into `log`; ends when cabled closes it.
    reader: JoinHandle<()>,
}

impl CabledProcess {
    /// Starts cabled with `timeouts` (the `[timeouts]` table of cabled.toml, in seconds) and
    /// returns once it says it is ready; by then its socket listens.
    pub async fn start(home: &Home, tunnel_url: &str, radio: SocketAddr, timeouts: &str) -> Self {
        Self::start_logging(home, tunnel_url, radio, timeouts, "info").await
    }

    /// [`Self::start`] with `RUST_LOG` set to `rust_log`.
    pub async fn start_logging(
        home: &Home,
        tunnel_url: &str,
        radio: SocketAddr,
        timeouts: &str,
        rust_log: &str,
    ) -> Self {
        let config = format!("[timeouts]\n{timeouts}\n");
        Self::start_with_config(home, tunnel_url, radio, &config, rust_log).await
    }

    /// Starts cabled with `config` as its whole cabled.toml.
    pub async fn start_with_config(
        home: &Home,
        tunnel_url: &str,
        radio: SocketAddr,
        config_text: &str,
        rust_log: &str,
    ) -> Self {
        let config = home.root.join("cabled.toml");
        std::fs::write(&config, config_text).expect("cabled.toml");
        let socket = home.root.join("runtime").join("cable").join("cabled.sock");
        let mut command = Command::new(locate("cabled"));
        command
            .arg("--socket")
            .arg(&socket)
            .arg("--config")
            .arg(&config)
            .arg("--tunnel-url")
            .arg(tunnel_url)
            .arg("--radio")
            .arg(format!("udp:{radio}"))
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        home.apply(&mut command);
        let mut child = command.spawn().expect("cabled starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (lines_tx, mut lines) = mpsc::unbounded_channel();
        let kept = log.clone();
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                kept.lock().expect("the log").push(line.clone());
                let _ = lines_tx.send(line);
            }
        });
        let daemon = Self {
            child,
            socket,
            log,
            reader,
        };
        // The socket is bound before cabled logs that it is ready.
        let ready = within("cabled says it is ready", async {
            while let Some(line) = lines.recv().await {
                if line.contains("cabled ready") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(ready, "cabled ended before serving:\n{}", daemon.log());
        daemon
    }

    /// Everything cabled has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("the log").join("\n")
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.socket)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to cabled: {e}\n{}", self.log()))
    }

    /// Stops cabled (SIGKILL; the store's durability under kill -9 is cable-store's to test).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = within("cabled exits", self.child.wait()).await;
    }

    /// Stops cabled as [`Self::stop`] does and returns everything it logged, up to its last line.
    pub async fn stop_and_log(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = within("cabled exits", self.child.wait()).await;
        let _ = within("cabled's stderr closes", &mut self.reader).await;
        self.log()
    }
}

/// Calls `method` on `client`, handing each `session.event` to `on_event` as it arrives;
/// returns the result and every event's params, in order.
pub async fn call_with_events(
    client: &Client,
    method: &str,
    params: Value,
    mut on_event: impl FnMut(&Value),
) -> (Result<Value, cabled::ipc::client::ClientError>, Vec<Value>) {
    let mut events = Vec::new();
    let result = within(
        &format!("cabled answers {method}"),
        client.call_value_with_events(method, &params, |n: Notification| {
            if n.is_session_event() {
                on_event(&n.params);
                events.push(n.params);
            }
        }),
    )
    .await;
    (result, events)
}

/// The names of events, in order.
pub fn names(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["event"].as_str()).collect()
}
