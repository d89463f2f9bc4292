//! The phone as a security key, end to end: python-fido2 (its CTAP-HID client and its
//! relying party, `Fido2Server`) plays the program and, under it, the kernel's side of uhid on
//! a SOCK_SEQPACKET socket; the real `cable-uhid` relays to the real `cabled` (local tunnel
//! server, virtual radio); `cablectl agent --display json` shows the prompt, and the software
//! phone scans the QR code the agent printed.
//!
//! Needs python3 with `fido2` (scripts/setup installs it) and the cabled, cablectl and
//! cable-uhid binaries (`cargo test --workspace` builds them).

use cable_e2e::cabled_process::{locate, CabledProcess, Home};
use cable_e2e::process::{phone_mode, self_phone, PhoneArgs};
use cable_e2e::rig::{within, Rig};
use cable_phone::PhoneProfile;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const PHONE_ENTRY: &str = "phone_process";

#[test]
fn phone_process() {
    phone_mode();
}

/// A process whose stdout is JSON lines.
struct JsonLines {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stdin: Option<ChildStdin>,
    name: &'static str,
}

impl JsonLines {
    fn spawn(name: &'static str, mut command: Command) -> Self {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let stdin = child.stdin.take();
        Self {
            child,
            lines,
            stdin,
            name,
        }
    }

    async fn next(&mut self) -> Value {
        let name = self.name;
        let line = within(&format!("{name}: the next line"), self.lines.next_line())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name} ended"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{name} printed {line:?}: {e}"))
    }

    /// Lines until one satisfies `wanted`; the skipped ones are returned too.
    async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut skipped = Vec::new();
        loop {
            let line = self.next().await;
            if wanted(&line) {
                return (line, skipped);
            }
            skipped.push(line);
        }
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }
}

fn method(line: &Value) -> &str {
    line["method"].as_str().unwrap_or_default()
}

fn event(line: &Value) -> &str {
    line["params"]["event"].as_str().unwrap_or_default()
}

/// How the prompts are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Agent {
    None,
    Json,
    /// The prompt window, on this X display.
    Window(String),
}

struct Desk {
    rig: Rig,
    _dir: tempfile::TempDir,
    program: JsonLines,
    /// `None`: no prompt agent runs.
    agent: Option<JsonLines>,
    _uhid: Child,
    cabled: CabledProcess,
    store: PathBuf,
}

impl Desk {
    async fn new(advert_timeout: u32) -> Self {
        Self::with_agent(advert_timeout, Agent::Json).await
    }

    async fn with_agent(advert_timeout: u32, mode: Agent) -> Self {
        let rig = Rig::new().await;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let home = Home::new(&dir.path().join("home"));
        std::fs::create_dir_all(&home.root).expect("the home folder");
        let kernel = dir.path().join("kernel.sock");
        let relay = dir.path().join("uhid.sock");

        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("security_key/fido2_kernel.py");
        let mut python = Command::new("python3");
        python.arg(&script).arg(&kernel);
        let mut program = JsonLines::spawn("the python-fido2 program", python);
        assert!(program.next().await["listening"].is_string());

        let mut uhid = Command::new(locate("cable-uhid"));
        uhid.arg("--device")
            .arg(&kernel)
            .arg("--socket")
            .arg(&relay)
            .arg("--user")
            .arg(own_uid().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let uhid = uhid.spawn().expect("cable-uhid starts");
        within("cable-uhid listens", async {
            while !relay.exists() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;

        let config = format!(
            "[timeouts]\nadvert = {advert_timeout}\n\n[security_key]\nsocket = {:?}\n",
            relay.display().to_string()
        );
        let cabled =
            CabledProcess::start_with_config(&home, &rig.tunnel_url, rig.radio, &config, "info")
                .await;
        // cabled attaches; cable-uhid creates the one FIDO device on the "kernel".
        let created = program.next().await;
        assert_eq!(
            created["created"]["name"],
            "cable: phone as security key",
            "{created}\n{}",
            cabled.log()
        );

        let agent = match &mode {
            Agent::None => None,
            Agent::Json => Some(start_agent(&home, &cabled, &["--display", "json"], None).await),
            Agent::Window(display) => {
                Some(start_agent(&home, &cabled, &["--display", "window"], Some(display)).await)
            }
        };
        let store = dir.path().join("passkeys.json");
        Self {
            rig,
            _dir: dir,
            program,
            agent,
            _uhid: uhid,
            cabled,
            store,
        }
    }

    fn phone(&self, qr: String) -> cable_e2e::process::PhoneProcess {
        self.phone_taking(qr, None)
    }

    /// A phone whose person takes `delay_ms` to confirm.
    fn phone_taking(&self, qr: String, delay_ms: Option<u64>) -> cable_e2e::process::PhoneProcess {
        self_phone(
            PHONE_ENTRY,
            &PhoneArgs {
                qr,
                tunnel_url: self.rig.tunnel_url.clone(),
                radio: self.rig.radio,
                store: Some(self.store.clone()),
                profile: PhoneProfile::Ios,
                answer_delay_ms: delay_ms,
            },
        )
    }

    /// Runs program `command`, the phone scanning the agent's QR code; answers the prompt,
    /// the program's result and the phone's report, once the prompt ended well.
    async fn through_the_phone(&mut self, command: &str) -> (Value, Value, Value) {
        self.program.send(command).await;
        let (prompt, qr) = self.prompt().await;
        let phone = self.phone(qr);
        let result = self.program.next().await;
        let report = phone.report().await;
        let ended = self.ended().await;
        assert_eq!(ended["outcome"], "ok", "{ended}\n{}", self.cabled.log());
        (prompt, result, report)
    }

    /// Runs program `command` (`cancel` or `abandon`) and lets the program interrupt it once
    /// the request is on the phone, whose person is slow to confirm.
    async fn interrupted_on_the_phone(
        &mut self,
        command: &str,
    ) -> cable_e2e::process::PhoneProcess {
        self.program.send(command).await;
        let (_, qr) = self.prompt().await;
        let phone = self.phone_taking(qr, Some(3000));
        self.agent().until(|l| event(l) == "ctap_request").await;
        self.program.send("now").await;
        phone
    }

    fn agent(&mut self) -> &mut JsonLines {
        self.agent.as_mut().expect("this desk runs a prompt agent")
    }

    /// The agent's prompt for the next request, and the QR code it shows.
    async fn prompt(&mut self) -> (Value, String) {
        let (opened, _) = self.agent().until(|l| method(l) == "prompt.opened").await;
        let (qr, _) = self.agent().until(|l| event(l) == "qr").await;
        assert_eq!(qr["params"]["session"], opened["params"]["session"]);
        let url = qr["params"]["url"].as_str().expect("a QR URL").to_string();
        (opened["params"].clone(), url)
    }

    async fn ended(&mut self) -> Value {
        let (ended, _) = self.agent().until(|l| method(l) == "prompt.ended").await;
        ended["params"].clone()
    }
}

/// `cablectl agent ARGS` against `cabled`, once it has subscribed.
async fn start_agent(
    home: &Home,
    cabled: &CabledProcess,
    args: &[&str],
    display: Option<&str>,
) -> JsonLines {
    let mut command = Command::new(locate("cablectl"));
    command
        .args(["agent", "--socket"])
        .arg(&cabled.socket)
        .args(args)
        .stderr(Stdio::piped());
    home.apply(&mut command);
    if let Some(display) = display {
        command.env("DISPLAY", display);
    }
    let mut agent = JsonLines::spawn("cablectl agent", command);
    let stderr = agent.child.stderr.take().expect("stderr");
    within("the agent subscribes", async {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("showing cabled's prompts") {
                return;
            }
        }
        panic!("the agent ended before subscribing");
    })
    .await;
    agent
}

impl Drop for Desk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("cabled's log:\n{}", self.cabled.log());
        }
    }
}

/// Our own uid, which cable-uhid is told to admit (no logind here).
fn own_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .expect("/proc/self")
}

#[tokio::test]
async fn python_fido2_registers_and_signs_in_through_the_virtual_key() {
    let mut desk = Desk::new(20).await;
    let status = desk
        .cabled
        .client()
        .await
        .call::<cabled::ipc::api::DaemonStatus>(cabled::ipc::api::NoParams {})
        .await
        .expect("daemon.status");
    assert_eq!(status.security_key.state, "ready", "{status:?}");
    assert_eq!(status.security_key.agents, 1, "{status:?}");

    let (prompt, registered, report) = desk.through_the_phone("register alice").await;
    assert_eq!(prompt["front_door"], "security_key");
    assert_eq!(prompt["rp_id"], "example.com");
    assert_eq!(prompt["operation"], "create");
    assert_eq!(registered["registered"], true, "{registered}");
    assert_eq!(report["credential"]["action"], "created", "{report}");

    let (prompt, signed_in, report) = desk.through_the_phone("sign_in").await;
    assert_eq!(prompt["operation"], "get");
    assert_eq!(signed_in["signed_in"], true, "{signed_in}");
    assert_eq!(signed_in["credential_id"], registered["credential_id"]);
    assert_eq!(report["credential"]["action"], "used", "{report}");
}

#[tokio::test]
async fn a_cancel_from_the_program_reaches_the_phone_and_the_key_works_on() {
    let mut desk = Desk::new(20).await;
    let phone = desk.interrupted_on_the_phone("cancel").await;
    let outcome = desk.program.next().await;
    assert_eq!(outcome["cancelled"], true, "{outcome}");
    assert!(
        outcome["cause"]
            .as_str()
            .unwrap()
            .contains("KEEPALIVE_CANCEL"),
        "{outcome}"
    );
    let ended = desk.ended().await;
    assert_eq!(ended["outcome"], "cancelled", "{ended}");
    let report = phone.report().await;
    assert_eq!(report["end"]["kind"], "desktop_shutdown", "{report}");

    // The key works on: hostile reports, then a whole registration.
    desk.program.send("garbage 300 7").await;
    let after = desk.program.next().await;
    assert_eq!(after["get_info_status"], 0, "{after}");
    let (_, registered, _) = desk.through_the_phone("register erin").await;
    assert_eq!(registered["registered"], true, "{registered}");
}

#[tokio::test]
async fn no_phone_in_time_is_a_user_action_timeout_and_a_second_client_is_told_busy() {
    let mut desk = Desk::new(3).await;
    desk.program.send("busy").await;
    let _ = desk.prompt().await;
    let busy = desk.program.next().await;
    assert_eq!(busy["busy"], "CHANNEL_BUSY", "{busy}");
    // No phone scans: cabled's advert timeout ends the first client's request.
    let first = desk.program.next().await;
    assert!(
        first["first"]
            .as_str()
            .unwrap()
            .contains("USER_ACTION_TIMEOUT"),
        "{first}"
    );
    let ended = desk.ended().await;
    assert_eq!(
        (ended["outcome"].as_str(), ended["code"].as_str()),
        (Some("failed"), Some("no_phone"))
    );
    assert!(
        ended["message"].as_str().unwrap().contains("scan"),
        "{ended}"
    );
}

#[tokio::test]
async fn without_a_prompt_agent_the_request_is_denied_at_once_and_cabled_says_why() {
    let mut desk = Desk::with_agent(20, Agent::None).await;
    desk.program.send("register frank").await;
    let outcome = desk.program.next().await;
    assert!(
        outcome["cause"]
            .as_str()
            .unwrap_or_default()
            .contains("OPERATION_DENIED"),
        "{outcome}"
    );
    // cabled logged why (its stderr is read by another task: wait for the line).
    within("cabled says no agent runs", async {
        while !desk.cabled.log().contains("no prompt agent is running") {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A virtual X server for the prompt window (held to be killed when dropped), and its display.
struct Xvfb(#[allow(dead_code)] Child, String);

impl Xvfb {
    async fn start() -> Self {
        let n = (300 + std::process::id() % 300..900)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .expect("a free X display");
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("Xvfb starts (scripts/setup-gui installs it)");
        within("Xvfb answers", async {
            loop {
                let answered = Command::new("xwininfo")
                    .args(["-root", "-display", &display])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .await
                    .is_ok_and(|s| s.success());
                if answered {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
        .await;
        // A GTK client in the first moments of a fresh Xvfb (still compiling its keymap)
        // sometimes exits at once; give the server a moment, as a real session's has.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        Self(child, display)
    }

    /// The screen as a PNG file, and what zbarimg reads in it (nothing yet: `None`).
    async fn scan(&self, png: &Path) -> Option<String> {
        let shot = Command::new("import")
            .args(["-display", &self.1, "-window", "root"])
            .arg(png)
            .status()
            .await
            .ok()?;
        if !shot.success() {
            return None;
        }
        let out = Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(png)
            .output()
            .await
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let text = text.trim();
        text.starts_with("FIDO:/").then(|| text.to_string())
    }
}

/// The person's way: the agent opens the prompt window, the phone's camera reads the QR code
/// off the screen (a screenshot, decoded by zbarimg), and python-fido2's registration
/// completes.
#[tokio::test]
async fn the_phone_scans_the_qr_code_off_the_prompt_window() {
    let x = Xvfb::start().await;
    let mut desk = Desk::with_agent(20, Agent::Window(x.1.clone())).await;
    desk.program.send("register grace").await;
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("security-key-window.png");
    let qr = within("the QR code shows in the window", async {
        loop {
            if let Some(qr) = x.scan(&png).await {
                return qr;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    let phone = desk.phone(qr);
    let registered = desk.program.next().await;
    assert_eq!(
        registered["registered"],
        true,
        "{registered}\n{}",
        desk.cabled.log()
    );
    phone.report().await;
}

#[tokio::test]
async fn a_program_that_closes_the_device_mid_request_ends_the_phone_session() {
    let mut desk = Desk::new(20).await;
    let phone = desk.interrupted_on_the_phone("abandon").await;
    assert_eq!(desk.program.next().await["closed"], true);
    let ended = desk.ended().await;
    assert_eq!(ended["outcome"], "cancelled", "{ended}");
    let report = phone.report().await;
    assert_eq!(report["end"]["kind"], "desktop_shutdown", "{report}");
    // The next program gets a working key.
    desk.program.send("garbage 0").await;
    assert_eq!(desk.program.next().await["get_info_status"], 0);
}
