//! The `cable-browser-host` binary as a browser starts it, against a stand-in for cabled (a
//! Unix listener in a temporary folder): who may start it, what ends it and with which words,
//! and what it answers when cabled is missing or goes away. The real daemon is in
//! tests/tests/browser_host.rs.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const CHROMIUM: &str = "chrome-extension://cpljglomlfjdmdmkoikijgaiomcikked/";
/// A bound on every wait, so a hang fails the test instead of stalling it.
const LIMIT: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {LIMIT:?}"))
}

fn host(socket: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cable-browser-host"))
        .args(args)
        .env("CABLE_SOCKET", socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the host starts")
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_ne_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

async fn send(stdin: &mut ChildStdin, message: &Value) {
    stdin
        .write_all(&frame(message.to_string().as_bytes()))
        .await
        .expect("the host reads");
}

async fn receive(stdout: &mut ChildStdout) -> Value {
    within("a message from the host", async {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).await.expect("a frame header");
        let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
        stdout.read_exact(&mut body).await.expect("a frame body");
        serde_json::from_slice(&body).expect("the host sends JSON")
    })
    .await
}

/// Waits for the host to end; its status and what it said on stderr.
async fn ended(mut child: Child) -> (ExitStatus, String) {
    let status = within("the host exits", child.wait()).await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    (status, stderr)
}

fn code(answer: &Value) -> &str {
    answer["error"]["data"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn only_cables_extension_may_start_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("none.sock");
    for args in [
        vec![],
        vec!["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"],
        vec![
            "/home/u/.mozilla/native-messaging-hosts/org.cable.hybrid.json",
            "other@example.org",
        ],
    ] {
        let (status, stderr) = ended(host(&socket, &args)).await;
        assert_eq!(status.code(), Some(1), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "one line of reason: {stderr}");
        assert!(stderr.starts_with("cable-browser-host: "), "{stderr}");
    }
}

#[tokio::test]
async fn without_cabled_each_request_gets_daemon_unavailable_and_the_host_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = host(&dir.path().join("missing.sock"), &[CHROMIUM]);
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    for id in [1, 2] {
        send(
            &mut stdin,
            &json!({"id": id, "method": "webauthn.get", "params": {}}),
        )
        .await;
        let answer = receive(&mut stdout).await;
        assert_eq!(answer["id"], json!(id));
        assert_eq!(answer["error"]["code"], json!(-32000));
        assert_eq!(code(&answer), "daemon_unavailable", "{answer}");
        assert!(answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("systemctl --user start cabled.socket"));
    }
    // A method outside the whitelist is answered without cabled.
    send(
        &mut stdin,
        &json!({"id": 3, "method": "devices.forget", "params": {}}),
    )
    .await;
    assert_eq!(code(&receive(&mut stdout).await), "method_not_allowed");
    drop(stdin);
    let (status, stderr) = ended(child).await;
    assert!(
        status.success(),
        "a clean end of stream is success: {stderr}"
    );
}

/// Each malformed stream and the reason the host must give for it.
#[tokio::test]
async fn a_malformed_frame_ends_the_host_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("missing.sock");
    let over = ((64 * 1024 * 1024 + 1) as u32).to_ne_bytes().to_vec();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("over 64 MiB", over, "more than the"),
        (
            "truncated",
            [frame(b"{}")[..4].to_vec(), b"{".to_vec()].concat(),
            "in the middle of a message",
        ),
        ("not JSON", frame(b"{\"id\":1,"), "not JSON"),
        ("not UTF-8", frame(b"\"\xff\""), "not UTF-8"),
    ];
    for (what, bytes, reason) in cases {
        let mut child = host(&socket, &[CHROMIUM]);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&bytes).await.unwrap();
        drop(stdin);
        let (status, stderr) = ended(child).await;
        assert_eq!(status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(reason), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    }
}

/// A stand-in cabled: reads one request line, and answers with `reply` lines.
#[tokio::test]
async fn cableds_lines_relay_both_ways_and_closing_stdin_closes_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cabled.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut child = host(&path, &[CHROMIUM]);
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    send(
        &mut stdin,
        &json!({"id": 1, "method": "webauthn.create", "params": {"origin": "https://a.example"}}),
    )
    .await;
    let (peer, _) = within("the host connects", listener.accept())
        .await
        .unwrap();
    let (read, mut write) = peer.into_split();
    let mut lines = BufReader::new(read).lines();
    let line = within("the request line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let request: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        request,
        json!({"jsonrpc": "2.0", "id": 1, "method": "webauthn.create", "params": {"origin": "https://a.example"}})
    );
    let event =
        r#"{"jsonrpc":"2.0","method":"session.event","params":{"session":"s1","event":"qr"}}"#;
    write
        .write_all(format!("{event}\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        receive(&mut stdout).await,
        serde_json::from_str::<Value>(event).unwrap()
    );
    // The browser closes the port mid-ceremony: the host ends and cabled sees its socket close.
    drop(stdin);
    let (status, stderr) = ended(child).await;
    assert!(status.success(), "{stderr}");
    let after = within("the socket closes", lines.next_line())
        .await
        .unwrap();
    assert_eq!(
        after, None,
        "the host's socket is closed once it has exited"
    );
}

#[tokio::test]
async fn when_cabled_goes_away_mid_ceremony_the_pending_request_gets_daemon_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cabled.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut child = host(&path, &[CHROMIUM]);
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    send(
        &mut stdin,
        &json!({"id": 9, "method": "webauthn.get", "params": {}}),
    )
    .await;
    let (peer, _): (UnixStream, _) = within("the host connects", listener.accept())
        .await
        .unwrap();
    let mut lines = BufReader::new(peer).lines();
    within("the request line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    drop(lines);
    let answer = receive(&mut stdout).await;
    assert_eq!(
        (answer["id"].clone(), code(&answer)),
        (json!(9), "daemon_gone"),
        "{answer}"
    );
    // The next request connects afresh.
    send(&mut stdin, &json!({"id": 10, "method": "daemon.status"})).await;
    let (peer, _) = within("the host reconnects", listener.accept())
        .await
        .unwrap();
    let (read, mut write) = peer.into_split();
    let mut lines = BufReader::new(read).lines();
    within("the request line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":{\"version\":\"x\"}}\n")
        .await
        .unwrap();
    assert_eq!(receive(&mut stdout).await["result"]["version"], "x");
}
