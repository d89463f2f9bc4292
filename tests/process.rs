//! Separate processes: the `cablectl` command line (desktop `register`/`sign-in --json`, one
//! JSON event per line; `phone --json`, one report) and a software phone run by the test
//! binary itself.
//!
//! Cargo builds another package's binary only for that package's own integration tests; cli
//! has some, so `cargo test --workspace` links `target/debug/cablectl`, but `cargo test -p
//! cable-e2e` alone may find it missing or stale. [`Cablectl::locate`] finds it next to the test
//! binary and refuses one older than its sources (per cargo's dep-info), telling the person to
//! run `cargo build -p cablectl`. A phone process needs no other binary: [`self_phone`] re-runs the
//! test binary with [`PHONE_MODE`] set, and the test file's [`phone_mode`] entry plays the phone.

use crate::rig::within;
use cable_phone::{PhoneConfig, PhoneProfile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::SystemTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// The environment variable that turns a test binary into a phone process (its value: the
/// phone's [`PhoneArgs`] as JSON).
pub const PHONE_MODE: &str = "CABLE_E2E_PHONE";
/// The line prefix of the phone process's report.
const REPORT_MARK: &str = "cable-e2e phone report: ";

/// The command line under test, with a home of its own.
#[derive(Debug, Clone)]
pub struct Cablectl {
    exe: PathBuf,
    home: PathBuf,
}

impl Cablectl {
    /// `target/<profile>/cablectl`, built no earlier than every source it is made from; fails
    /// the test with what to do otherwise. Its processes get `home` as HOME and XDG folders,
    /// so they neither see nor change the linked phones of the person running the tests.
    pub fn locate(home: &Path) -> Self {
        let exe = locate_binary("cablectl", "run `cargo build -p cablectl`");
        Self {
            exe,
            home: home.to_path_buf(),
        }
    }

    /// A command with piped output, killed if the test drops it, logging off (so stderr holds
    /// only what cablectl itself says), and the private home.
    fn command(&self, args: &[String]) -> Command {
        let mut command = command(&self.exe, args);
        command.env("HOME", &self.home);
        for (var, dir) in [
            ("XDG_DATA_HOME", "data"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_RUNTIME_DIR", "runtime"),
        ] {
            command.env(var, self.home.join(dir));
        }
        command
    }

    /// `cablectl phone --qr URL --tunnel-url URL --radio ADDR [--store FILE] [extra] --json`.
    pub fn phone(
        &self,
        qr: &str,
        tunnel_url: &str,
        radio: SocketAddr,
        store: Option<&Path>,
        extra: &[&str],
    ) -> PhoneProcess {
        let mut args: Vec<String> = vec![
            "phone".into(),
            "--qr".into(),
            qr.into(),
            "--tunnel-url".into(),
            tunnel_url.into(),
            "--radio".into(),
            radio.to_string(),
            "--json".into(),
        ];
        if let Some(store) = store {
            args.push("--store".into());
            args.push(store.display().to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = self
            .command(&args)
            .spawn()
            .expect("the cablectl phone process starts");
        PhoneProcess { child, mark: None }
    }

    /// A desktop command (`register ...` or `sign-in ...`); `--json` is added.
    pub fn desktop(&self, args: &[String]) -> DesktopProcess {
        let mut args = args.to_vec();
        args.push("--json".into());
        let mut child = self
            .command(&args)
            .spawn()
            .expect("the cablectl desktop process starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = read_all(child.stderr.take().expect("piped stderr"));
        DesktopProcess {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr,
            events: Vec::new(),
        }
    }
}

/// `target/<profile>/<name>` next to the test binary, built no earlier than every source it is
/// made from; fails the test saying `rebuild` otherwise (`cargo test` builds other packages'
/// binaries only when those packages have integration tests of their own).
pub fn locate_binary(name: &str, rebuild: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test binary>
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let exe = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&exe)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {rebuild} first", exe.display()));
    if let Some(newer) = newer_source(&exe, built) {
        panic!(
            "{} is older than {}: {rebuild} so the tests run the current code",
            exe.display(),
            newer.display()
        );
    }
    exe
}

/// The first source file of `exe` modified after it was built, per cargo's dep-info file
/// (`<exe>.d`, written by `cargo build`). Without one the binary was built by `cargo test`
/// (cli and daemon have integration tests, so `cargo test --workspace` links both afresh),
/// and it is taken as current: guessing its sources would flag binaries cargo rightly left
/// alone.
fn newer_source(exe: &Path, built: SystemTime) -> Option<PathBuf> {
    let dep_info = std::fs::read_to_string(exe.with_extension("d")).ok()?;
    dep_info_sources(&dep_info).into_iter().find(|file| {
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified > built)
    })
}

/// The prerequisites in a Makefile-style dep-info file (`target: dep dep ...`, spaces in
/// paths escaped as `\ `).
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    dep_info
        .lines()
        .filter_map(|line| line.split_once(": "))
        .flat_map(|(_, deps)| {
            deps.replace("\\ ", "\0")
                .split_whitespace()
                .map(|d| PathBuf::from(d.replace('\0', " ")))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A command with piped output, killed if the test drops it, and logging off (so stderr
/// holds only what the program itself says).
fn command(exe: &Path, args: &[String]) -> Command {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What a phone process is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhoneArgs {
    pub qr: String,
    pub tunnel_url: String,
    pub radio: SocketAddr,
    pub store: Option<PathBuf>,
    pub profile: PhoneProfile,
    /// How long the person takes to confirm on the phone.
    #[serde(default)]
    pub answer_delay_ms: Option<u64>,
}

impl PhoneArgs {
    fn config(&self) -> PhoneConfig {
        let mut config = PhoneConfig::new(&self.qr, &self.tunnel_url, self.radio)
            .with_profile(self.profile)
            .with_advert_interval(crate::rig::ADVERT_INTERVAL)
            .with_timeouts(cable_phone::Timeouts::all(std::time::Duration::from_secs(
                10,
            )));
        if let Some(store) = &self.store {
            config = config.with_store_path(store);
        }
        if let Some(ms) = self.answer_delay_ms {
            config = config.with_answer_delay(std::time::Duration::from_millis(ms));
        }
        config
    }
}

/// Starts this test binary as a phone process: it runs only the test named `entry`, which must
/// call [`phone_mode`].
pub fn self_phone(entry: &str, args: &PhoneArgs) -> PhoneProcess {
    let exe = std::env::current_exe().expect("the test binary's path");
    let harness: Vec<String> = [entry, "--exact", "--nocapture", "--test-threads=1"]
        .map(String::from)
        .to_vec();
    let mut command = command(&exe, &harness);
    command.env(
        PHONE_MODE,
        serde_json::to_string(args).expect("phone arguments as JSON"),
    );
    let child = command.spawn().expect("the phone process starts");
    PhoneProcess {
        child,
        mark: Some(REPORT_MARK),
    }
}

/// The body of a phone process: if [`PHONE_MODE`] is set, plays the phone and prints its
/// report; otherwise (a normal test run) does nothing. Returns whether it played the phone.
pub fn phone_mode() -> bool {
    let Ok(args) = std::env::var(PHONE_MODE) else {
        return false;
    };
    let args: PhoneArgs = serde_json::from_str(&args).expect("phone arguments");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the phone");
    match runtime.block_on(cable_phone::run_qr(args.config())) {
        Ok(report) => {
            let json = serde_json::to_string(&report).expect("the report as JSON");
            // On a line of its own: the harness has just printed "test NAME ... ".
            println!("\n{REPORT_MARK}{json}");
        }
        Err(e) => panic!("the phone failed: {e} [{}]", e.code()),
    }
    true
}

/// What a process left behind.
#[derive(Debug)]
pub struct Exit {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A running phone process.
pub struct PhoneProcess {
    child: Child,
    /// The report line's prefix (a test binary also prints its harness lines).
    mark: Option<&'static str>,
}

impl PhoneProcess {
    /// Waits for the phone to exit.
    pub async fn exit(self) -> Exit {
        let output = within("the phone process exits", self.child.wait_with_output())
            .await
            .expect("the phone process can be waited for");
        Exit {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Waits for a successful exit and returns the JSON report.
    pub async fn report(self) -> Value {
        let mark = self.mark;
        let exit = self.exit().await;
        assert!(
            exit.status.success(),
            "the phone process failed ({}):\n{}\n{}",
            exit.status,
            exit.stdout,
            exit.stderr
        );
        let line = match mark {
            Some(mark) => exit
                .stdout
                .lines()
                .find_map(|l| l.split_once(mark).map(|(_, report)| report))
                .unwrap_or_else(|| panic!("no report line in: {}", exit.stdout)),
            None => exit.stdout.trim(),
        };
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("the phone's report is not JSON ({e}): {line}"))
    }
}

/// A running `cablectl register|sign-in --json`.
pub struct DesktopProcess {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    /// Every event line read so far.
    pub events: Vec<Value>,
}

impl DesktopProcess {
    /// The next event line; `None` at the end of the output.
    pub async fn next_event(&mut self) -> Option<Value> {
        let line = within("the desktop process's next line", self.lines.next_line())
            .await
            .expect("the desktop's stdout is readable")?;
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a --json line that is not JSON ({e}): {line}"));
        assert!(
            event["event"].is_string(),
            "an event line without \"event\": {line}"
        );
        self.events.push(event.clone());
        Some(event)
    }

    /// Reads up to the next event named `name`.
    pub async fn wait_for(&mut self, name: &str) -> Value {
        loop {
            match self.next_event().await {
                Some(event) if event["event"] == name => return event,
                Some(_) => {}
                None => {
                    // Say why: the exit status and stderr tell a crash from a refusal.
                    let status = within("the desktop process exits", self.child.wait()).await;
                    let stderr = within("the desktop's stderr closes", &mut self.stderr).await;
                    panic!(
                        "the desktop's output ended before a {name} event ({status:?}); events: \
                         {:?}; stderr: {}",
                        self.events,
                        stderr.unwrap_or_default()
                    )
                }
            }
        }
    }

    /// Reads the rest of the output and waits for the exit.
    pub async fn finish(mut self) -> (Vec<Value>, Exit) {
        while self.next_event().await.is_some() {}
        let status = within("the desktop process exits", self.child.wait())
            .await
            .expect("the desktop process can be waited for");
        let stderr = within("the desktop's stderr closes", self.stderr)
            .await
            .unwrap_or_default();
        let exit = Exit {
            status,
            stdout: String::new(),
            stderr,
        };
        (self.events, exit)
    }
}

fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text).await;
        text
    })
}

/// The names of event lines, in order.
pub fn event_names(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["event"].as_str()).collect()
}
