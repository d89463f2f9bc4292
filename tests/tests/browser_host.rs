//! Issue 9: `cable-browser-host` between a (simulated) browser and the real `cabled`, as the
//! extension uses it: one host process per ceremony, native frames on its stdin/stdout. A
//! registration and a sign-in with the software phone (which reads the QR URL from the `qr`
//! event here; the browser tests read it from a screenshot), a ceremony whose port closes
//! mid-way (cabled cancels it), malformed frames (the host ends, cabled does not), and a cabled
//! that is down.
//!
//! Needs current binaries: `cargo build -p cabled -p cablectl -p cable-browser-host` first.

use cable_e2e::cabled_process::{CabledProcess, Home};
use cable_e2e::process::locate_binary;
use cable_e2e::requests::{self, ORIGIN};
use cable_e2e::rig::{loopback, phone_result, spawn_phone, within, ADVERT_INTERVAL};
use cable_e2e::verify;
use cabled::engine::WebAuthnRequest;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const CHROMIUM: &str = "chrome-extension://cpljglomlfjdmdmkoikijgaiomcikked/";
const FIREFOX_ID: &str = "cable@cable-hybrid.invalid";
const TIMEOUTS: &str = "advert = 10\ntunnel_connect = 10\nhandshake = 10\npost_handshake = 10\n\
                        ctap = 30\nlinking_wait = 1";

/// A host as a browser starts it (`args` as that browser passes them), for cabled at `socket`.
struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl Host {
    fn start(socket: &Path, args: &[&str]) -> Self {
        let exe = locate_binary(
            "cable-browser-host",
            "run `cargo build -p cabled -p cable-browser-host`",
        );
        let mut child = Command::new(exe)
            .args(args)
            .env("CABLE_SOCKET", socket)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the host starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        Self {
            child,
            stdin,
            stdout,
        }
    }

    async fn write_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        // The host may already have ended on an earlier bad frame.
        let _ = stdin.write_all(bytes).await;
    }

    async fn send(&mut self, message: &Value) {
        let body = message.to_string();
        let mut bytes = (body.len() as u32).to_ne_bytes().to_vec();
        bytes.extend_from_slice(body.as_bytes());
        self.write_raw(&bytes).await;
    }

    async fn receive(&mut self) -> Value {
        within("a native message from the host", async {
            let mut len = [0u8; 4];
            self.stdout
                .read_exact(&mut len)
                .await
                .expect("a frame header");
            let len = u32::from_ne_bytes(len) as usize;
            assert!(
                len <= 1024 * 1024,
                "a frame of {len} bytes exceeds the browsers' limit"
            );
            let mut body = vec![0u8; len];
            self.stdout
                .read_exact(&mut body)
                .await
                .expect("a frame body");
            serde_json::from_slice(&body).expect("the host sends JSON")
        })
        .await
    }

    /// Messages until the answer to `id`, handing each `session.event` to `on_event`.
    async fn answer(&mut self, id: u64, mut on_event: impl FnMut(&Value)) -> (Value, Vec<Value>) {
        let mut events = Vec::new();
        loop {
            let message = self.receive().await;
            if message["method"] == "session.event" {
                on_event(&message["params"]);
                events.push(message["params"].clone());
            } else if message["id"] == id {
                return (message, events);
            }
        }
    }

    /// Closes stdin (the browser closed the port) and waits for the host to end.
    async fn close(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let status = within("the host exits", self.child.wait()).await.unwrap();
        let mut stderr = String::new();
        let mut pipe = self.child.stderr.take().unwrap();
        let _ = pipe.read_to_string(&mut stderr).await;
        (status.code(), stderr)
    }
}

fn code(answer: &Value) -> &str {
    answer["error"]["data"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_registration_and_a_sign_in_through_the_host_with_the_software_phone() {
    let (_server, server_url, radio) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let daemon = CabledProcess::start(&home, &server_url, radio, TIMEOUTS).await;
    let store = dir.path().join("phone.json");
    let phone_config = |qr: &str| {
        cable_phone::PhoneConfig::new(qr, server_url.clone(), radio)
            .with_advert_interval(ADVERT_INTERVAL)
            .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
            .with_store_path(&store)
    };

    // Chromium's ceremony: one host process.
    let (request, expected) = requests::create("nina");
    let WebAuthnRequest::Create { options, .. } = request else {
        unreachable!()
    };
    let mut host = Host::start(&daemon.socket, &[CHROMIUM]);
    host.send(&json!({"id": 1, "method": "webauthn.create",
        "params": {"origin": ORIGIN, "options": options, "qr_only": true}}))
        .await;
    let mut phone = None;
    let (answer, events) = host
        .answer(1, |event| {
            if event["event"] == "qr" {
                let qr = event["url"].as_str().expect("the QR URL");
                phone = Some(spawn_phone(phone_config(qr)));
            }
        })
        .await;
    assert!(answer["result"].is_object(), "{answer}\n{}", daemon.log());
    let passkey = verify::registration(&answer["result"], &expected);
    phone_result(phone.expect("a qr event"))
        .await
        .expect("the phone's run");
    assert!(
        events.iter().any(|e| e["event"] == "ctap_response"),
        "{events:?}"
    );
    let (status, stderr) = host.close().await;
    assert_eq!(status, Some(0), "{stderr}");

    // Firefox's: another host process, started with the manifest path and the add-on ID.
    let (request, expected) = requests::get();
    let WebAuthnRequest::Get { options, .. } = request else {
        unreachable!()
    };
    let manifest = dir.path().join("org.cable.hybrid.json");
    let mut host = Host::start(&daemon.socket, &[manifest.to_str().unwrap(), FIREFOX_ID]);
    host.send(&json!({"id": 2, "method": "webauthn.get",
        "params": {"origin": ORIGIN, "options": options, "qr_only": true}}))
        .await;
    let mut phone = None;
    let (answer, _) = host
        .answer(2, |event| {
            if event["event"] == "qr" {
                phone = Some(spawn_phone(phone_config(event["url"].as_str().unwrap())));
            }
        })
        .await;
    assert!(answer["result"].is_object(), "{answer}\n{}", daemon.log());
    verify::assertion(&answer["result"], &expected, &passkey);
    phone_result(phone.unwrap()).await.expect("the phone's run");
    host.close().await;
    daemon.stop().await;
}

#[tokio::test]
async fn closing_the_port_mid_ceremony_cancels_the_session_in_cabled() {
    let (_server, server_url, radio) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let daemon = CabledProcess::start(&home, &server_url, radio, TIMEOUTS).await;

    let (request, _) = requests::create("otto");
    let WebAuthnRequest::Create { options, .. } = request else {
        unreachable!()
    };
    let mut host = Host::start(&daemon.socket, &[CHROMIUM]);
    host.send(&json!({"id": 1, "method": "webauthn.create",
        "params": {"origin": ORIGIN, "options": options, "qr_only": true}}))
        .await;
    // A phone that takes its time on the prompt: the page navigates away meanwhile.
    let mut phone = None;
    loop {
        let message = host.receive().await;
        let event = &message["params"];
        if event["event"] == "qr" {
            let config = cable_phone::PhoneConfig::new(
                event["url"].as_str().unwrap(),
                server_url.clone(),
                radio,
            )
            .with_advert_interval(ADVERT_INTERVAL)
            .with_answer_delay(Duration::from_secs(60));
            phone = Some(spawn_phone(config));
        }
        if event["event"] == "ctap_request" && event["command"] == "makeCredential" {
            break;
        }
        assert!(message.get("id").is_none(), "answered early: {message}");
    }
    let (status, stderr) = host.close().await;
    assert_eq!(status, Some(0), "{stderr}");

    // cabled recorded the session as cancelled, and has none open.
    let client = daemon.client().await;
    let record = within("cabled records the cancelled session", async {
        loop {
            let list = client
                .call_value("history.list", &json!({"last": 1}))
                .await
                .expect("history.list");
            let newest = list["sessions"][0].clone();
            if newest["outcome"].is_string() && newest["outcome"] != "unfinished" {
                return newest;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(record["outcome"], "cancelled", "{record}");
    let status = client
        .call_value("daemon.status", &json!({}))
        .await
        .unwrap();
    assert_eq!(status["sessions"]["open"], 0, "{status}");
    // The phone was told while the person was still deciding: no answer went out.
    let report = phone_result(phone.expect("the QR code was shown"))
        .await
        .expect("the phone's run");
    assert_eq!(report.end, cable_phone::SessionEnd::DesktopShutdown);
    assert_eq!(report.requests[0].status, None, "{:?}", report.requests);
    daemon.stop().await;
}

#[tokio::test]
async fn malformed_frames_end_the_host_and_never_cabled() {
    let (_server, server_url, radio) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let daemon = CabledProcess::start(&home, &server_url, radio, TIMEOUTS).await;
    let over = ((64 * 1024 * 1024 + 1) as u32).to_ne_bytes().to_vec();
    let mut not_json = 8u32.to_ne_bytes().to_vec();
    not_json.extend_from_slice(b"{\"id\":1,");
    let mut truncated = 100u32.to_ne_bytes().to_vec();
    truncated.extend_from_slice(b"{\"id\"");
    for (what, bytes, reason) in [
        ("a length over 64 MiB", over, "more than the"),
        ("invalid JSON", not_json, "not JSON"),
        ("a frame cut short", truncated, "in the middle of a message"),
    ] {
        // The host has a connection to cabled when the bad frame comes.
        let mut host = Host::start(&daemon.socket, &[CHROMIUM]);
        host.send(&json!({"id": 1, "method": "daemon.status"}))
            .await;
        let status = host.receive().await;
        assert!(status["result"].is_object(), "{what}: {status}");
        host.write_raw(&bytes).await;
        let (code, stderr) = host.close().await;
        assert_eq!(code, Some(1), "{what}: {stderr}");
        assert!(stderr.contains(reason), "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");

        let client = daemon.client().await;
        let answer = client
            .call_value("daemon.status", &json!({}))
            .await
            .unwrap_or_else(|e| panic!("{what}: cabled no longer answers: {e}"));
        assert!(answer["version"].is_string(), "{what}: {answer}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn with_cabled_down_the_host_answers_daemon_unavailable_and_keeps_serving() {
    let (_server, server_url, radio) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let daemon = CabledProcess::start(&home, &server_url, radio, TIMEOUTS).await;
    let socket = daemon.socket.clone();
    daemon.stop().await;

    let mut host = Host::start(&socket, &[CHROMIUM]);
    for id in [1, 2] {
        host.send(&json!({"id": id, "method": "webauthn.get", "params": {"origin": ORIGIN}}))
            .await;
        let answer = host.receive().await;
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(code(&answer), "daemon_unavailable", "{answer}");
    }
    let (status, stderr) = host.close().await;
    assert_eq!(status, Some(0), "{stderr}");
}
