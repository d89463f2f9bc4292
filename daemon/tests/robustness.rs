//! What must hold whatever the client or the disk does: a damaged store is an error (never an
//! empty list), a cancel is never stuck behind a connection's queue, refused clients read
//! why, every client call ends, and ids come back exactly as sent.

mod common;

use cabled::ipc::api::{DaemonStatus, NoParams};
use cabled::ipc::client::Client;
use common::{error_of, Cabled, Conn, Options, WAIT};
use serde_json::{json, Value};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Plants a damaged links.db where the daemon will look (`$XDG_DATA_HOME/cable/links.db`;
/// the test harness sets XDG_DATA_HOME to `data` beside the socket's `run` folder).
fn damage_store(socket: &Path) {
    let root = socket.ancestors().nth(3).expect("the temp folder");
    let folder = root.join("data/cable");
    std::fs::create_dir_all(&folder).unwrap();
    // SQLite's magic followed by garbage, as crates/cable-store/tests/corruption.rs does.
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(folder.join("links.db"), bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_store_is_an_error_not_an_empty_list() {
    let daemon = Cabled::start_with(Options {
        before: Some(damage_store),
        ..Options::default()
    });
    let mut c = daemon.connect().await;
    let calls = [
        ("devices.list", json!({})),
        ("devices.rename", json!({"id": "abcd", "name": "x"})),
        ("devices.forget", json!({"id": "abcd"})),
        (
            "hybrid.start",
            json!({"request_type": "mc", "device": "abcd"}),
        ),
    ];
    for (method, params) in calls {
        let response = c.call(method, params).await;
        assert_eq!(error_of(&response), "device_store_error", "{method}");
        let message = response["error"]["message"].as_str().unwrap();
        // The store's own words: which file, and what to do.
        assert!(message.contains("links.db"), "{message}");
        assert!(message.contains("move it aside"), "{message}");
    }
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["store"]["state"], "device_store_error", "{status}");
    assert!(status["store"]["message"]
        .as_str()
        .unwrap()
        .contains("links.db"));

    // QR sessions still work.
    let started = c.ok("hybrid.start", json!({"request_type": "mc"})).await;
    let session = started["session"].as_str().unwrap().to_string();
    let qr = c.wait_event(&session, "qr").await;
    assert!(qr["url"].as_str().unwrap().starts_with("FIDO:/"));
    c.ok("session.cancel", json!({"session": session})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_store_is_reported_ready() {
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["store"]["state"], "ready", "{status}");
    assert_eq!(status["store"]["linked"], 0);
    assert!(status["store"]["path"]
        .as_str()
        .unwrap()
        .ends_with("links.db"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_is_answered_behind_a_hundred_pending_requests() {
    const PENDING: u64 = 100;
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    let session = c.ok("hybrid.start", json!({"request_type": "mc"})).await["session"]
        .as_str()
        .unwrap()
        .to_string();
    // No phone ever comes: every ctap.send waits (until the 2-minute advert timeout).
    let mut batch = String::new();
    for id in 1000..1000 + PENDING {
        batch += &json!({"jsonrpc": "2.0", "id": id, "method": "ctap.send",
            "params": {"session": session, "request": "BA"}})
        .to_string();
        batch.push('\n');
    }
    c.send_raw(batch.as_bytes()).await;
    let cancel = c
        .request("session.cancel", json!({"session": session}))
        .await;
    let status = c.request("daemon.status", json!({})).await;
    let (mut refused, mut answered) = (0, Vec::new());
    while answered.len() < 2 {
        let message = c.next().await.expect("connection open");
        if message.get("method").is_some() {
            continue;
        }
        let id = message["id"].as_u64().unwrap();
        if id == cancel || id == status {
            assert!(message.get("result").is_some(), "{message}");
            answered.push(id);
        } else if message.get("error").is_some() {
            let code = error_of(&message);
            if code == "too_many_requests" {
                refused += 1;
            }
        }
    }
    // 32 ran (the default max_requests_per_client); the rest were refused at once.
    assert!(refused >= PENDING - 32, "{refused} refused");
}

/// A connection in the daemon's one place (`max_clients = 1`), once the start-up probe's
/// connection has gone.
async fn hold_the_only_place(daemon: &Cabled) -> Conn {
    loop {
        let mut c = daemon.connect().await;
        let id = c.request("daemon.status", json!({})).await;
        if let Some(answer) = c.next().await {
            if answer["id"] == id {
                return c;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_client_that_writes_first_still_reads_why() {
    let daemon = Cabled::with_config("[limits]\nmax_clients = 1\n");
    let mut holder = hold_the_only_place(&daemon).await;
    for _ in 0..20 {
        let mut c = Conn::connect(&daemon.socket).await;
        // Written before reading, as `cablectl daemon status` does: no reset, no EPIPE.
        c.write
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}\n")
            .await
            .expect("the request is written");
        let refused = c.next().await.expect("the error line");
        assert_eq!(error_of(&refused), "too_many_clients");
        assert!(refused["id"].is_null());
        assert!(c.next().await.is_none(), "then end of stream");
    }
    holder.ok("daemon.status", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_calls_end_when_the_daemon_refused_the_connection() {
    let daemon = Cabled::with_config("[limits]\nmax_clients = 1\n");
    let mut holder = hold_the_only_place(&daemon).await;
    // A call sent at once gets the daemon's error.
    let client = Client::connect(&daemon.socket).await.unwrap();
    let call = client.call::<DaemonStatus>(NoParams {});
    let error = tokio::time::timeout(WAIT, call)
        .await
        .expect("the call ended")
        .unwrap_err();
    assert_eq!(error.code(), "too_many_clients", "{error}");

    // A call made after the connection has ended (its read loop is gone) ends too.
    let client = Client::connect(&daemon.socket).await.unwrap();
    let end = tokio::time::timeout(WAIT, client.next_notification()).await;
    assert!(end.expect("the connection ended").is_none());
    let call = client.call::<DaemonStatus>(NoParams {});
    let error = tokio::time::timeout(WAIT, call)
        .await
        .expect("the call ended")
        .unwrap_err();
    assert_eq!(error.code(), "too_many_clients", "{error}");
    holder.ok("daemon.status", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_come_back_exactly_as_sent() {
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    for id in [
        "9007199254740993",
        "18446744073709551617",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "\"abc\"",
        "null",
    ] {
        let line = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"devices.list\"}}\n");
        c.send_raw(line.as_bytes()).await;
        let answer = tokio::time::timeout(WAIT, c.lines.next_line())
            .await
            .expect("an answer")
            .unwrap()
            .expect("connection open");
        assert!(
            answer.contains(&format!("\"id\":{id},")),
            "{id} came back as {answer}"
        );
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["result"], json!({"devices": []}), "{answer}");
    }
    // Ids of other kinds are refused (and answered with null).
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"devices.list\"}\n")
        .await;
    let refused = c.next().await.unwrap();
    assert_eq!(error_of(&refused), "invalid_request");
    assert!(refused["id"].is_null());
}

/// The engine itself (as `cablectl` runs it in-process): with a store that did not open, an
/// explicit device route is `device_store_error`, and the default route still shows the QR.
#[tokio::test(flavor = "multi_thread")]
async fn the_engine_routes_around_a_broken_store_only_when_it_may() {
    use cabled::engine::{
        CancellationToken, Engine, EngineConfig, EventKind, EventSink, RadioConfig, Route,
        WebAuthnRequest,
    };
    use cabled::store_book::BrokenBook;
    use std::sync::{Arc, Mutex};

    let broken = cable_store::StoreError::Corrupt {
        path: "/home/u/.local/share/cable/links.db".into(),
        reason: "file is not a database".into(),
    };
    let words = broken.to_string();
    let radio = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = EngineConfig {
        radio: RadioConfig::Virtual(radio.local_addr().unwrap()),
        ..EngineConfig::default()
    };
    drop(radio);
    let engine = Engine::with_links(config, Arc::new(BrokenBook::new(broken)));
    let request = || WebAuthnRequest::Get {
        origin: "https://example.com".into(),
        options: json!({"challenge": "Y2hhbGxlbmdl", "rpId": "example.com"}),
    };
    let error = engine
        .webauthn_via(
            request(),
            Route::Device("abcd".into()),
            EventSink::new(|_| {}),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "device_store_error");
    assert!(error.to_string().contains(&words), "{error}");

    // Route::Any: the QR code is shown; cancel once it is.
    let cancel = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (events, stop) = (seen.clone(), cancel.clone());
    let sink = EventSink::new(move |e| {
        if matches!(e.kind, EventKind::Qr { .. }) {
            stop.cancel();
        }
        events.lock().unwrap().push(e.name());
    });
    let run = engine.webauthn_via(request(), Route::Any, sink, cancel);
    let error = tokio::time::timeout(WAIT, run).await.unwrap().unwrap_err();
    assert_eq!(error.code(), "cancelled");
    assert_eq!(seen.lock().unwrap().first(), Some(&"qr"));
}
