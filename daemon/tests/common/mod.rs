//! Test helpers: a real `cabled` process in a temporary folder, and a raw line client.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A UDP port nobody uses right now (for the virtual radio).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

pub struct Cabled {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub radio_port: u16,
}

pub struct Options<'a> {
    pub config: Option<&'a str>,
    pub args: Vec<String>,
    /// Socket path relative to the temp folder.
    pub socket: &'a str,
    /// Runs with the socket path before cabled starts (e.g. to leave a stale socket there).
    pub before: Option<fn(&Path)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            config: None,
            args: Vec::new(),
            socket: "run/cable/cabled.sock",
            before: None,
        }
    }
}

impl Cabled {
    /// Starts cabled on a virtual radio with defaults, and waits until it serves.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn with_config(config: &str) -> Self {
        Self::start_with(Options {
            config: Some(config),
            ..Options::default()
        })
    }

    pub fn start_with(options: Options<'_>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join(options.socket);
        if let Some(before) = options.before {
            before(&socket);
        }
        let (child, log, radio_port) = spawn_in(dir.path(), &socket, &options);
        let mut daemon = Self {
            child,
            dir,
            socket,
            log,
            radio_port,
        };
        daemon.wait_ready();
        daemon
    }

    /// Starts another cabled on the same socket; returns once it exits (it should refuse).
    pub fn second(&self) -> (ExitStatus, String) {
        let log = self.dir.path().join("second.log");
        let status = Command::new(env!("CARGO_BIN_EXE_cabled"))
            .arg("--socket")
            .arg(&self.socket)
            .arg("--radio")
            .arg(format!("udp:127.0.0.1:{}", free_udp_port()))
            .env("XDG_CONFIG_HOME", self.dir.path().join("no-config"))
            // Never the user's linked phones: each daemon gets an empty store of its own.
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .stderr(std::fs::File::create(&log).expect("log file"))
            .status()
            .expect("run cabled");
        (status, std::fs::read_to_string(&log).unwrap_or_default())
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "cabled exited ({status}) before serving:\n{}",
                    self.log_text()
                );
            }
            assert!(
                start.elapsed() < WAIT,
                "cabled did not start serving:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits for the daemon to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                start.elapsed() < WAIT,
                "cabled did not exit:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub async fn connect(&self) -> Conn {
        Conn::connect(&self.socket).await
    }

    pub fn radio(&self) -> String {
        format!("udp:127.0.0.1:{}", self.radio_port)
    }
}

impl Drop for Cabled {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn_in(dir: &Path, socket: &Path, options: &Options<'_>) -> (Child, PathBuf, u16) {
    let log = dir.join("cabled.log");
    let radio_port = free_udp_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cabled"));
    cmd.arg("--socket").arg(socket);
    if let Some(config) = options.config {
        let path = dir.join("cabled.toml");
        std::fs::write(&path, config).expect("write config");
        cmd.arg("--config").arg(path);
    }
    if !options.args.iter().any(|a| a == "--radio") {
        cmd.arg("--radio")
            .arg(format!("udp:127.0.0.1:{radio_port}"));
    }
    cmd.args(&options.args)
        // No stray user configuration.
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        // BlueZ is never this machine's: status checks of Bluetooth give one known answer.
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"));
    (cmd.spawn().expect("spawn cabled"), log, radio_port)
}

/// A raw connection: bytes and JSON lines, no client library.
pub struct Conn {
    pub lines: Lines<BufReader<OwnedReadHalf>>,
    pub write: OwnedWriteHalf,
    next_id: u64,
    /// Notifications read while waiting for a response.
    pub notifications: Vec<Value>,
}

impl Conn {
    pub async fn connect(path: &Path) -> Self {
        let stream = UnixStream::connect(path).await.expect("connect to cabled");
        let (read, write) = stream.into_split();
        Self {
            lines: BufReader::new(read).lines(),
            write,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
    }

    pub async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.send_raw(line.as_bytes()).await;
    }

    /// The next line as JSON; `None` at end of stream.
    pub async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("cabled answered in time")
            .ok()
            .flatten()?;
        Some(serde_json::from_str(&line).expect("cabled sends JSON lines"))
    }

    /// Sends a request; returns its id.
    pub async fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Reads until the response with `id`, keeping notifications aside.
    pub async fn response(&mut self, id: u64) -> Value {
        loop {
            let message = self.next().await.expect("connection open");
            if message.get("method").is_some() {
                self.notifications.push(message);
                continue;
            }
            assert_eq!(message["jsonrpc"], "2.0", "{message}");
            if message["id"] == json!(id) {
                return message;
            }
            panic!("unexpected message while waiting for {id}: {message}");
        }
    }

    /// Calls and returns the whole response.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params).await;
        self.response(id).await
    }

    /// Calls and returns the result, failing on an error.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params).await;
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// Calls and returns the error's stable code after checking the error's shape.
    pub async fn error_code(&mut self, method: &str, params: Value) -> String {
        let response = self.call(method, params).await;
        error_of(&response)
    }

    /// The next `session.event` (from those kept aside first).
    pub async fn next_event(&mut self) -> Value {
        if !self.notifications.is_empty() {
            return self.notifications.remove(0);
        }
        let message = self.next().await.expect("connection open");
        assert_eq!(message["method"], "session.event", "{message}");
        message
    }

    /// Waits for the event named `name` of `session`, skipping others.
    pub async fn wait_event(&mut self, session: &str, name: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["params"]["session"] == session && event["params"]["event"] == name {
                return event["params"].clone();
            }
        }
    }
}

/// Checks an error response's shape and returns `error.data.code`.
pub fn error_of(response: &Value) -> String {
    let error = &response["error"];
    assert!(error.is_object(), "expected an error: {response}");
    assert!(error["code"].is_i64(), "{response}");
    let message = error["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    error["data"]["code"]
        .as_str()
        .expect("a stable code")
        .to_string()
}
