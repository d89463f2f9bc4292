//! Whole sessions through a real cabled: a local tunnel server, the virtual radio and the
//! software phone, driven over the socket the way a browser would.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cable_ctap::webauthn_json::PublicKeyCredentialCreationOptionsJSON;
use cable_ctap::{CborMessage, GetInfoResponse};
use cable_phone::{PhoneConfig, PhoneReport, SessionEnd, UserChoice};
use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use common::{error_of, Cabled, Conn, Options};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;

const ORIGIN: &str = "https://ipc.cable.example";
const RP_ID: &str = "ipc.cable.example";

/// A tunnel server and a cabled that uses it, with a virtual radio.
struct Rig {
    _server: ServerHandle,
    tunnel_url: String,
    daemon: Cabled,
}

impl Rig {
    async fn new() -> Self {
        Self::with_config("").await
    }

    async fn with_config(extra: &str) -> Self {
        let server = TunnelServer::bind("127.0.0.1:0".parse().unwrap(), ServerLimits::default())
            .await
            .expect("tunnel server")
            .spawn();
        let tunnel_url = server.base_url();
        let config = format!(
            "[timeouts]\nadvert = 20\ntunnel_connect = 10\nhandshake = 10\npost_handshake = 10\nctap = 20\nlinking_wait = 1\n{extra}"
        );
        let daemon = Cabled::start_with(Options {
            config: Some(&config),
            args: vec!["--tunnel-url".into(), tunnel_url.clone()],
            ..Options::default()
        });
        Self {
            _server: server,
            tunnel_url,
            daemon,
        }
    }

    fn radio(&self) -> SocketAddr {
        format!("127.0.0.1:{}", self.daemon.radio_port)
            .parse()
            .unwrap()
    }

    /// A software phone that scans `url`.
    fn phone(
        &self,
        url: &str,
        tweak: impl FnOnce(PhoneConfig) -> PhoneConfig,
    ) -> JoinHandle<PhoneReport> {
        let config = PhoneConfig::new(url, self.tunnel_url.clone(), self.radio())
            .with_advert_interval(Duration::from_millis(20))
            .with_total_timeout(Duration::from_secs(60));
        let config = tweak(config);
        tokio::spawn(async move { cable_phone::run_qr(config).await.expect("the phone's run") })
    }

    fn store(&self) -> PathBuf {
        self.daemon.dir.path().join("phone-passkeys.json")
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("a base64url string"))
        .expect("base64url")
}

fn create_options(user: &str, challenge: &[u8]) -> Value {
    json!({
        "rp": {"id": RP_ID, "name": "cabled IPC tests"},
        "user": {"id": b64(user.as_bytes()), "name": user, "displayName": user},
        "challenge": b64(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
    })
}

fn get_options(challenge: &[u8]) -> Value {
    json!({"rpId": RP_ID, "challenge": b64(challenge), "userVerification": "required"})
}

/// Checks clientDataJSON and returns its SHA-256.
fn check_client_data(credential: &Value, kind: &str, challenge: &[u8]) -> [u8; 32] {
    let bytes = unb64(&credential["response"]["clientDataJSON"]);
    let client_data: Value = serde_json::from_slice(&bytes).expect("clientDataJSON");
    assert_eq!(client_data["type"], kind);
    assert_eq!(client_data["origin"], ORIGIN);
    assert_eq!(unb64(&client_data["challenge"]), challenge);
    Sha256::digest(&bytes).into()
}

/// Starts `method` on `conn` and returns (request id, session id, QR URL) from the first event.
async fn start(conn: &mut Conn, method: &str, params: Value) -> (u64, String, String) {
    let id = conn.request(method, params).await;
    // A previous session on this connection may still report its background linking wait
    // and its close after its result; the new session's first event is its QR code.
    let mut qr = conn.next_event().await["params"].clone();
    while matches!(
        qr["event"].as_str(),
        Some("awaiting_link" | "linked" | "link_rejected" | "closed")
    ) {
        qr = conn.next_event().await["params"].clone();
    }
    assert_eq!(qr["event"], "qr", "the first event is the QR code: {qr}");
    assert_eq!(qr["t_ms"].as_u64().map(|t| t < 5_000), Some(true));
    assert!(
        qr["svg"].as_str().unwrap().starts_with("<?xml")
            || qr["svg"].as_str().unwrap().starts_with("<svg")
    );
    (
        id,
        qr["session"].as_str().unwrap().to_string(),
        qr["url"].as_str().unwrap().to_string(),
    )
}

fn event_names(conn: &Conn, session: &str) -> Vec<String> {
    conn.notifications
        .iter()
        .filter(|n| n["params"]["session"] == session)
        .map(|n| n["params"]["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn webauthn_create_then_get_with_the_software_phone() {
    let rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let store = rig.store();

    // Registration.
    let challenge = b"registration challenge 0123456789".to_vec();
    let (id, session, url) = start(
        &mut c,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": create_options("alice", &challenge)}),
    )
    .await;
    let phone = rig.phone(&url, |p| p.with_store_path(&store));
    let response = c.response(id).await;
    let credential = response["result"].clone();
    assert!(credential.is_object(), "{response}");
    assert_eq!(credential["type"], "public-key");
    let credential_id = credential["id"].as_str().unwrap().to_string();
    assert_eq!(credential["rawId"], credential_id.as_str());
    let hash = check_client_data(&credential, "webauthn.create", &challenge);
    let attestation = unb64(&credential["response"]["attestationObject"]);
    let auth_data = match cable_ctap::verify_packed_self_attestation(&attestation, &hash) {
        Ok(auth_data) => auth_data,
        Err(_) => {
            let object = cable_ctap::AttestationObject::from_cbor(&attestation).unwrap();
            cable_ctap::AuthenticatorData::parse(&object.auth_data).unwrap()
        }
    };
    let attested = auth_data
        .attested_credential
        .expect("an attested credential");
    assert_eq!(b64(attested.credential_id()), credential_id);
    let public_key = attested.credential_public_key_bytes().to_vec();

    // Every phase was reported on this connection, in order, before the result.
    let names = event_names(&c, &session);
    let expected = [
        "scanning",
        "advert",
        "tunnel_connecting",
        "tunnel_connected",
        "handshake",
        "phone_ready",
        "ctap_request",
        "ctap_response",
    ];
    let mut at = 0;
    for name in &names {
        if at < expected.len() && name == expected[at] {
            at += 1;
        }
    }
    assert_eq!(at, expected.len(), "events: {names:?}");
    let report = phone.await.unwrap();
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    c.notifications.clear();

    // Sign-in with the passkey just made.
    let challenge = b"sign-in challenge 9876543210".to_vec();
    let (id, _session, url) = start(
        &mut c,
        "webauthn.get",
        json!({"origin": ORIGIN, "options": get_options(&challenge)}),
    )
    .await;
    let phone = rig.phone(&url, |p| p.with_store_path(&store));
    let response = c.response(id).await;
    let assertion = response["result"].clone();
    assert_eq!(assertion["id"], credential_id.as_str(), "{response}");
    assert_eq!(unb64(&assertion["response"]["userHandle"]), b"alice");
    let hash = check_client_data(&assertion, "webauthn.get", &challenge);
    cable_ctap::verify_assertion(
        &unb64(&assertion["response"]["authenticatorData"]),
        &hash,
        &unb64(&assertion["response"]["signature"]),
        &public_key,
    )
    .expect("the assertion verifies with the registered key");
    assert_eq!(phone.await.unwrap().end, SessionEnd::DesktopShutdown);

    let status = c.ok("daemon.status", json!({})).await;
    assert_eq!(status["sessions"]["open"], 0);
    assert_eq!(status["radio"]["scanning"], false);
    assert!(
        !rig.daemon.log_text().contains("FIDO:/"),
        "a QR URL reached the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_ctap_relay_with_the_software_phone() {
    let rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let session = c.ok("hybrid.start", json!({"request_type": "mc"})).await["session"]
        .as_str()
        .unwrap()
        .to_string();
    let qr = c.wait_event(&session, "qr").await;
    let phone = rig.phone(qr["url"].as_str().unwrap(), |p| p);

    // getInfo first, as a browser does; it waits until the phone is ready.
    let info = c
        .ok(
            "ctap.send",
            json!({"session": session, "request": b64(&[0x04])}),
        )
        .await;
    let info = unb64(&info["response"]);
    assert_eq!(info.first(), Some(&0x00), "getInfo status");
    let info = GetInfoResponse::from_cbor(&info[1..]).expect("getInfo CBOR");
    assert!(info.versions.iter().any(|v| v.starts_with("FIDO_2")));

    let challenge = b"raw relay challenge".to_vec();
    let options: PublicKeyCredentialCreationOptionsJSON =
        serde_json::from_value(create_options("bob", &challenge)).unwrap();
    let mut pending = options.to_ctap(ORIGIN).unwrap();
    pending.adapt_to(&info).unwrap();
    let request = pending.command().encode();
    let answer = c
        .ok(
            "ctap.send",
            json!({"session": session, "request": b64(&request)}),
        )
        .await;
    let response = unb64(&answer["response"]);
    assert_eq!(response.first(), Some(&0x00), "makeCredential status");
    let credential = pending.finish_bytes(&response).expect("a registration");
    assert_eq!(credential.cred_type, "public-key");
    // The one operation is done: the session is finished for its caller, even while it
    // waits for the phone's linking data, so it can no longer be cancelled.
    assert_eq!(
        c.error_code("session.cancel", json!({"session": session}))
            .await,
        "session_not_found"
    );
    assert_eq!(phone.await.unwrap().end, SessionEnd::DesktopShutdown);

    // One operation per session: afterwards the session is over.
    let start = std::time::Instant::now();
    loop {
        let response = c
            .call(
                "ctap.send",
                json!({"session": session, "request": b64(&[0x04])}),
            )
            .await;
        let code = error_of(&response);
        assert!(
            code == "session_finished" || code == "session_not_found",
            "{response}"
        );
        if code == "session_not_found" {
            break;
        }
        assert!(start.elapsed() < common::WAIT);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(event_names(&c, &session).contains(&"closed".to_string()));
    assert_eq!(
        c.ok("daemon.status", json!({})).await["sessions"]["open"],
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_refusal_is_a_stable_error() {
    let rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let (id, _, url) = start(
        &mut c,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": create_options("carol", b"deny me please")}),
    )
    .await;
    let phone = rig.phone(&url, |p| p.with_user(UserChoice::Deny));
    let response = c.response(id).await;
    assert_eq!(response["error"]["code"], -32000, "{response}");
    let code = error_of(&response);
    assert!(!code.is_empty() && code != "internal_error", "{response}");
    let _ = phone.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_sessions() {
    const N: usize = 50;
    let rig = Rig::new().await;
    let mut clients = Vec::new();
    let mut phones = Vec::new();
    for i in 0..N {
        let mut c = rig.daemon.connect().await;
        let challenge = format!("challenge number {i:02}").into_bytes();
        let (id, _, url) = start(
            &mut c,
            "webauthn.create",
            json!({"origin": ORIGIN, "options": create_options(&format!("user{i}"), &challenge)}),
        )
        .await;
        phones.push(rig.phone(&url, |p| p));
        clients.push((c, id, challenge));
    }
    let mut ids = std::collections::HashSet::new();
    let answers = clients.into_iter().map(|(mut c, id, challenge)| {
        tokio::spawn(async move {
            let response = c.response(id).await;
            let credential = response["result"].clone();
            assert_eq!(credential["type"], "public-key", "{response}");
            check_client_data(&credential, "webauthn.create", &challenge);
            credential["id"].as_str().unwrap().to_string()
        })
    });
    for answer in answers.collect::<Vec<_>>() {
        ids.insert(answer.await.unwrap());
    }
    assert_eq!(ids.len(), N, "every session got its own credential");
    for phone in phones {
        assert_eq!(phone.await.unwrap().end, SessionEnd::DesktopShutdown);
    }
    let mut c = rig.daemon.connect().await;
    assert_eq!(
        c.ok("daemon.status", json!({})).await["sessions"]["open"],
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_disconnects_mid_session_cancels_only_its_own() {
    let rig = Rig::new().await;
    // The leaver: its phone is slow to approve, so the session is at the CTAP step.
    let mut leaver = rig.daemon.connect().await;
    let (_, session, url) = start(
        &mut leaver,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": create_options("dave", b"leaving early")}),
    )
    .await;
    let slow = rig.phone(&url, |p| p.with_answer_delay(Duration::from_secs(3)));
    leaver.wait_event(&session, "ctap_request").await;

    // Meanwhile another client runs a whole session.
    let mut stayer = rig.daemon.connect().await;
    let (id, _, url) = start(
        &mut stayer,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": create_options("erin", b"staying put")}),
    )
    .await;
    let phone = rig.phone(&url, |p| p);

    drop(leaver);
    // The leaver's phone is told to stop (shutdown over the channel).
    let report = tokio::time::timeout(common::WAIT, slow)
        .await
        .expect("the phone was released")
        .unwrap();
    assert_eq!(report.end, SessionEnd::DesktopShutdown);

    let response = stayer.response(id).await;
    assert_eq!(response["result"]["type"], "public-key", "{response}");
    assert_eq!(phone.await.unwrap().end, SessionEnd::DesktopShutdown);
    let status = stayer.ok("daemon.status", json!({})).await;
    assert_eq!(status["sessions"]["open"], 0);
    assert_eq!(status["clients"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_session_tells_the_phone_and_the_caller() {
    let mut rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let (id, session, url) = start(
        &mut c,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": create_options("frank", b"about to stop")}),
    )
    .await;
    let slow = rig.phone(&url, |p| p.with_answer_delay(Duration::from_secs(3)));
    c.wait_event(&session, "ctap_request").await;

    rig.daemon.signal(libc::SIGTERM);
    let response = c.response(id).await;
    assert_eq!(error_of(&response), "shutting_down");
    let report = tokio::time::timeout(common::WAIT, slow)
        .await
        .expect("the phone was released")
        .unwrap();
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    let status = rig.daemon.wait_exit();
    assert!(status.success(), "{status}");
    assert!(!rig.daemon.socket.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_raw_session_reports_its_error_then_closed() {
    let rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let session = c.ok("hybrid.start", json!({"request_type": "mc"})).await["session"]
        .as_str()
        .unwrap()
        .to_string();
    let qr = c.wait_event(&session, "qr").await;
    let _phone = rig.phone(qr["url"].as_str().unwrap(), |p| p);
    // getInfo is answered once the phone is connected: the tunnel is open now.
    c.ok(
        "ctap.send",
        json!({"session": session, "request": b64(&[0x04])}),
    )
    .await;
    let cancelled = c.ok("session.cancel", json!({"session": session})).await;
    assert_eq!(cancelled["cancelled"], true);
    let mut names = Vec::new();
    while names.last().map(String::as_str) != Some("closed") {
        let event = c.next_event().await;
        if event["params"]["session"] == session.as_str() {
            names.push(event["params"]["event"].as_str().unwrap().to_string());
        }
    }
    let error = names.iter().position(|n| n == "error");
    assert!(error.is_some(), "{names:?}");
    assert_eq!(
        names.last().map(String::as_str),
        Some("closed"),
        "{names:?}"
    );
    assert!(
        error < names.iter().position(|n| n == "closed"),
        "{names:?}"
    );
}
