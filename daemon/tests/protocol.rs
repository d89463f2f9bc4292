//! A real cabled driven over its socket: JSON-RPC framing, hostile clients, limits, policy.

mod common;

use common::{error_of, Cabled, Conn};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn create_params() -> Value {
    json!({
        "origin": "https://example.com",
        "options": {
            "rp": {"id": "example.com", "name": "Example"},
            "user": {"id": "dXNlcg", "name": "user", "displayName": "User"},
            "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZQ",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_clients_do_not_disturb_others() {
    let daemon = Cabled::with_config("[limits]\nmax_line_bytes = 4096\n");
    let mut good = daemon.connect().await;
    assert_eq!(
        good.ok("devices.list", json!({})).await,
        json!({"devices": []})
    );

    // Garbage: a parse error with a null id, and the connection stays usable.
    let mut garbage = daemon.connect().await;
    garbage.send_raw(b"hello there\n\xff\xfe\n").await;
    for _ in 0..2 {
        let answer = garbage.next().await.expect("an answer");
        assert_eq!(answer["id"], Value::Null);
        assert_eq!(answer["error"]["code"], -32700);
        assert_eq!(error_of(&answer), "parse_error");
    }
    garbage
        .send_raw(b"[]\n{\"id\":5,\"method\":\"daemon.status\"}\n")
        .await;
    let answer = garbage.next().await.unwrap();
    assert_eq!(
        (error_of(&answer), &answer["error"]["code"]),
        ("invalid_request".into(), &json!(-32600))
    );
    let answer = garbage.next().await.unwrap();
    assert_eq!(answer["id"], 5);
    assert_eq!(error_of(&answer), "invalid_request");
    assert_eq!(
        garbage.ok("daemon.status", json!({})).await["version"],
        env!("CARGO_PKG_VERSION")
    );

    // Unknown method.
    let response = garbage.call("webauthn.register", json!({})).await;
    assert_eq!(response["error"]["code"], -32601);
    assert_eq!(error_of(&response), "method_not_found");

    // Wrong params, each named.
    let wrong: Vec<(&str, Value, &str)> = vec![
        ("webauthn.create", json!({"options": {}}), "\"origin\""),
        (
            "webauthn.create",
            json!({"origin": "https://a.example", "options": "x"}),
            "\"options\"",
        ),
        (
            "webauthn.get",
            json!({"origin": 1, "options": {}}),
            "\"origin\"",
        ),
        (
            "webauthn.get",
            json!({"origin": "https://a.example", "options": {}, "extra": 1}),
            "\"extra\"",
        ),
        ("hybrid.start", json!({}), "\"request_type\""),
        (
            "hybrid.start",
            json!({"request_type": "register"}),
            "\"request_type\"",
        ),
        (
            "ctap.send",
            json!({"session": "x", "request": "*not base64*"}),
            "\"request\"",
        ),
        (
            "ctap.send",
            json!({"session": "x", "request": ""}),
            "\"request\"",
        ),
        ("ctap.send", json!({"request": "BA"}), "\"session\""),
        ("session.cancel", json!({"session": 3}), "\"session\""),
        ("devices.forget", json!({}), "\"id\""),
        ("devices.list", json!({"all": true}), "\"all\""),
        ("daemon.status", json!({"verbose": true}), "\"verbose\""),
    ];
    for (method, params, names) in wrong {
        let response = garbage.call(method, params.clone()).await;
        assert_eq!(
            response["error"]["code"], -32602,
            "{method} {params}: {response}"
        );
        assert_eq!(error_of(&response), "invalid_params");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{method}: {message}");
    }
    // Positional params.
    garbage
        .send(&json!({"jsonrpc": "2.0", "id": 99, "method": "daemon.status", "params": [1]}))
        .await;
    assert_eq!(error_of(&garbage.response(99).await), "invalid_params");
    // WebAuthn options the engine cannot use are invalid params too, before any QR is shown.
    let response = garbage
        .call(
            "webauthn.create",
            json!({"origin": "https://example.com", "options": {"rp": 1}}),
        )
        .await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(garbage.notifications.is_empty());

    // A line over the limit: an error, then the connection is closed, and the daemon stops
    // reading: writing 64 MiB fails long before it is all sent.
    let mut big = Conn::connect(&daemon.socket).await;
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..64 {
            if big.write.write_all(&chunk).await.is_err() {
                return (true, big);
            }
        }
        (false, big)
    });
    let (write_failed, mut big) = tokio::time::timeout(common::WAIT, writer)
        .await
        .expect("the writer stopped")
        .unwrap();
    assert!(write_failed, "cabled read 64 MiB of one line");
    let answer = big.next().await.expect("the error before the close");
    assert_eq!(error_of(&answer), "line_too_long");
    assert_eq!(answer["id"], Value::Null);
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("4096"));
    assert!(big.next().await.is_none(), "the connection is closed");

    // A line of exactly the limit is fine.
    let mut exact = daemon.connect().await;
    let mut line = json!({"jsonrpc": "2.0", "id": 1, "method": "devices.list"}).to_string();
    let pad = 4096 - line.len();
    line.insert_str(
        line.len() - 1,
        &format!(",\"x\":\"{}\"", "a".repeat(pad - 7)),
    );
    assert_eq!(line.len(), 4096);
    exact.send_raw(format!("{line}\n").as_bytes()).await;
    assert_eq!(exact.next().await.unwrap()["id"], 1);

    // Everyone else is still served.
    assert_eq!(
        good.ok("devices.list", json!({})).await,
        json!({"devices": []})
    );
    let mut fresh = daemon.connect().await;
    let status = fresh.ok("daemon.status", json!({})).await;
    assert_eq!(status["hybrid_enabled"], true);
    assert_eq!(status["radio"]["backend"], "virtual");
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_without_id_get_no_answer() {
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    c.send(&json!({"jsonrpc": "2.0", "method": "devices.list"}))
        .await;
    c.send(&json!({"jsonrpc": "2.0", "method": "no.such.method"}))
        .await;
    c.send(&json!({"jsonrpc": "2.0", "method": "session.cancel", "params": [1]}))
        .await;
    c.send_raw(b"\n\r\n   \n").await;
    let id = c.request("devices.list", json!({})).await;
    let first = c.next().await.unwrap();
    assert_eq!(first["id"], id, "{first}");
    // String ids are echoed.
    c.send(&json!({"jsonrpc": "2.0", "id": "abc", "method": "devices.list"}))
        .await;
    assert_eq!(c.next().await.unwrap()["id"], "abc");
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_linking_placeholders() {
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    assert_eq!(
        c.ok("devices.list", json!({})).await,
        json!({"devices": []})
    );
    let response = c.call("devices.forget", json!({"id": "abc"})).await;
    assert_eq!(response["error"]["code"], -32000);
    assert_eq!(error_of(&response), "device_not_found");
    let mut params = create_params();
    params["device"] = json!("0011223344556677");
    assert_eq!(
        c.error_code("webauthn.create", params).await,
        "unknown_device"
    );
    assert!(c.notifications.is_empty(), "no session was started");
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_session_answers_before_its_events_and_is_cancelled() {
    let daemon = Cabled::start();
    let mut c = daemon.connect().await;
    let id = c
        .request("hybrid.start", json!({"request_type": "mc"}))
        .await;
    // The response comes first, then the QR event.
    let first = c.next().await.unwrap();
    assert_eq!(first["id"], id, "{first}");
    let session = first["result"]["session"].as_str().unwrap().to_string();
    let qr = c.next_event().await["params"].clone();
    assert_eq!(qr["session"], session.as_str());
    assert_eq!(qr["event"], "qr");
    assert!(qr["url"].as_str().unwrap().starts_with("FIDO:/"), "{qr}");
    assert!(qr["svg"].as_str().unwrap().contains("<svg"));
    assert!(qr["t_ms"].is_u64());
    let scanning = c.wait_event(&session, "scanning").await;
    assert!(scanning["radio"].as_str().unwrap().contains("virtual"));

    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["sessions"]["open"], 1);
    assert_eq!(status["sessions"]["this_client"], 1);
    assert_eq!(status["radio"]["scanning"], true);

    // Another client can neither see nor cancel it.
    let mut other = daemon.connect().await;
    assert_eq!(
        other
            .error_code("session.cancel", json!({"session": session}))
            .await,
        "session_not_found"
    );
    assert_eq!(
        other
            .error_code("ctap.send", json!({"session": session, "request": "BA"}))
            .await,
        "session_not_found"
    );
    assert_eq!(
        other.ok("daemon.status", json!({})).await["sessions"]["this_client"],
        0
    );

    let cancelled = c.ok("session.cancel", json!({"session": session})).await;
    assert_eq!(cancelled, json!({"session": session, "cancelled": true}));
    let error = c.wait_event(&session, "error").await;
    assert_eq!(error["code"], "cancelled");
    // A cancelled session is gone and the radio goes quiet again.
    wait_until(&mut c, |s| {
        s["sessions"]["open"] == 0 && s["radio"]["scanning"] == false
    })
    .await;
    assert_eq!(
        c.error_code("ctap.send", json!({"session": session, "request": "BA"}))
            .await,
        "session_not_found"
    );
    assert!(
        !daemon.log_text().contains("FIDO:/"),
        "the QR URL (it holds the secret) reached the log"
    );
}

/// Polls daemon.status until `done` holds.
async fn wait_until(c: &mut Conn, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let status = c.ok("daemon.status", json!({})).await;
        if done(&status) {
            return status;
        }
        assert!(
            start.elapsed() < common::WAIT,
            "status never matched: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn session_limits_are_errors_and_a_disconnect_cancels() {
    let daemon = Cabled::with_config("[limits]\nmax_sessions = 3\nmax_sessions_per_client = 2\n");
    let mut a = daemon.connect().await;
    let mut b = daemon.connect().await;
    let a1 = a.ok("hybrid.start", json!({"request_type": "ga"})).await["session"].clone();
    // webauthn.create does not answer until the phone does: issue it without waiting.
    let pending = a.request("webauthn.create", create_params()).await;
    let qr = loop {
        let event = a.next_event().await;
        if event["params"]["event"] == "qr" && event["params"]["session"] != a1 {
            break event;
        }
    };
    let a2 = qr["params"]["session"].clone();
    let response = a.call("hybrid.start", json!({"request_type": "mc"})).await;
    assert_eq!(error_of(&response), "too_many_client_sessions");
    assert_eq!(response["error"]["code"], -32000);
    b.ok("hybrid.start", json!({"request_type": "mc"})).await;
    let response = b.call("hybrid.start", json!({"request_type": "mc"})).await;
    assert_eq!(error_of(&response), "too_many_sessions");

    // Cancelling the webauthn session answers its call with `cancelled` and frees a place.
    a.ok("session.cancel", json!({"session": a2})).await;
    let answer = a.response(pending).await;
    assert_eq!(error_of(&answer), "cancelled");
    b.ok("hybrid.start", json!({"request_type": "mc"})).await;

    // b goes away mid-session: its two sessions are cancelled, a's stay.
    drop(b);
    let status = wait_until(&mut a, |s| s["sessions"]["open"] == 1).await;
    assert_eq!(status["sessions"]["this_client"], 1);
    assert_eq!(status["clients"], 1);
    let _ = a1;
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_clients_is_an_error() {
    let daemon = Cabled::with_config("[limits]\nmax_clients = 2\n");
    // Connect `a` once the start-up probe's connection is gone, so two places are free.
    let mut a = loop {
        let mut a = daemon.connect().await;
        let _ = a
            .write
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}\n")
            .await;
        if let Some(answer) = a.next().await {
            if answer["id"] == 1 {
                break a;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    wait_until(&mut a, |s| s["clients"] == 1).await;
    let mut b = daemon.connect().await;
    b.ok("daemon.status", json!({})).await;
    let mut c = daemon.connect().await;
    let refused = c.next().await.expect("an error line");
    assert_eq!(error_of(&refused), "too_many_clients");
    assert!(c.next().await.is_none());
    drop(b);
    // The place is free again once b's connection is gone.
    let start = std::time::Instant::now();
    loop {
        let mut d = daemon.connect().await;
        // A refused connection may be closed before the request is written.
        let request = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"devices.list\"}\n";
        let _ = d.write.write_all(request).await;
        let answer = d.next().await.expect("an answer");
        if answer["id"] == 1 {
            break;
        }
        assert_eq!(error_of(&answer), "too_many_clients");
        assert!(start.elapsed() < common::WAIT);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_switch_refuses_every_session_method() {
    let daemon = Cabled::with_config("hybrid_enabled = false\n");
    let mut c = daemon.connect().await;
    let calls = [
        ("webauthn.create", create_params()),
        (
            "webauthn.get",
            json!({"origin": "https://example.com", "options": {"challenge": "AA"}}),
        ),
        ("hybrid.start", json!({"request_type": "mc"})),
        ("ctap.send", json!({"session": "0011", "request": "BA"})),
        ("session.cancel", json!({"session": "0011"})),
    ];
    for (method, params) in calls {
        let response = c.call(method, params).await;
        assert_eq!(error_of(&response), "hybrid_disabled", "{method}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains("turned off"), "{message}");
    }
    assert!(c.notifications.is_empty());
    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["hybrid_enabled"], false);
    assert!(status["config_file"]
        .as_str()
        .unwrap()
        .ends_with("cabled.toml"));
    assert_eq!(
        c.ok("devices.list", json!({})).await,
        json!({"devices": []})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_library_calls_and_streams_events() {
    use cabled::ipc::api::{
        DaemonStatus, HybridStart, HybridStartParams, NoParams, RequestTypeName, SessionCancel,
        SessionParams, WebAuthnCreate, WebAuthnParams,
    };
    use cabled::ipc::client::{Client, ClientError};
    let daemon = Cabled::start();
    let client = Client::connect(&daemon.socket).await.unwrap();
    let status = client.call::<DaemonStatus>(NoParams {}).await.unwrap();
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    match client.call_value("nope", &json!({})).await {
        Err(e @ ClientError::Rpc { .. }) => {
            assert_eq!(e.code(), "method_not_found");
            assert!(e.to_string().contains("nope"));
        }
        other => panic!("{other:?}"),
    }
    let started = client
        .call::<HybridStart>(HybridStartParams {
            request_type: RequestTypeName::GetAssertion,
            device: None,
            qr_only: None,
        })
        .await
        .unwrap();
    let session = started.session;
    let qr = client.next_notification().await.unwrap();
    assert!(qr.is_session_event());
    assert_eq!(
        (qr.session(), qr.event()),
        (Some(session.as_str()), Some("qr"))
    );
    let typed = qr.session_event().unwrap().unwrap();
    assert_eq!(typed.session, session);
    assert!(typed.svg.unwrap().contains("<svg"));

    // A webauthn call streams its events to the callback before the result; a concurrent
    // call on the same connection cancels it.
    let webauthn_session = std::sync::Mutex::new(None::<String>);
    let mut seen = Vec::new();
    let params: WebAuthnParams = serde_json::from_value(create_params()).unwrap();
    let create = client.call_with_events::<WebAuthnCreate>(params, |n| {
        if n.event() == Some("scanning") && n.session() != Some(session.as_str()) {
            *webauthn_session.lock().unwrap() = n.session().map(str::to_string);
        }
        seen.push(n);
    });
    let cancel = async {
        let id = loop {
            if let Some(id) = webauthn_session.lock().unwrap().clone() {
                break id;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        for session in [id, session.clone()] {
            let cancelled = client
                .call::<SessionCancel>(SessionParams { session })
                .await
                .unwrap();
            assert!(cancelled.cancelled);
        }
    };
    let (result, ()) = tokio::time::timeout(common::WAIT, async { tokio::join!(create, cancel) })
        .await
        .expect("the call ended");
    assert_eq!(result.unwrap_err().code(), "cancelled");
    let names: Vec<_> = seen
        .iter()
        .filter(|n| n.session() != Some(session.as_str()))
        .map(|n| n.event().unwrap_or("?").to_string())
        .collect();
    assert_eq!(names[..2], ["qr".to_string(), "scanning".to_string()]);
    let status = client.call::<DaemonStatus>(NoParams {}).await.unwrap();
    assert!(status.sessions.open <= 1);

    let missing = Client::connect(daemon.dir.path().join("nothing.sock")).await;
    assert_eq!(
        missing.err().map(|e| e.code().to_string()).as_deref(),
        Some("daemon_not_running")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_does_not_read_is_not_buffered_for() {
    const N: u64 = 20_000;
    let daemon = Cabled::with_config("[limits]\nmax_requests_per_client = 4\n");
    let lazy = daemon.connect().await;
    let Conn {
        mut lines,
        mut write,
        ..
    } = lazy;
    let sender = tokio::spawn(async move {
        for id in 1..=N {
            let line =
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"daemon.status\"}}\n");
            write.write_all(line.as_bytes()).await.unwrap();
        }
        write
    });
    // The daemon stops reading once the unread answers fill the socket: the sender blocks.
    let sender = tokio::time::timeout(Duration::from_secs(2), sender)
        .await
        .ok();
    assert!(
        sender.is_none(),
        "cabled read {N} requests whose answers nobody read"
    );

    // Others are served meanwhile.
    let mut other = daemon.connect().await;
    other.ok("devices.list", json!({})).await;

    // Once the client reads, every request is answered.
    let mut seen = std::collections::HashSet::new();
    while (seen.len() as u64) < N {
        let line = tokio::time::timeout(common::WAIT, lines.next_line())
            .await
            .expect("answers keep coming")
            .unwrap()
            .expect("connection open");
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert!(answer["result"]["version"].is_string(), "{answer}");
        seen.insert(answer["id"].as_u64().unwrap());
    }
}
