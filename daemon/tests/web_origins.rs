//! What a browser extension relies on cabled for: a cross-origin iframe's client data
//! (`top_origin` → `"crossOrigin":true,"topOrigin":…`, signed by the phone), and stable codes
//! for every refusal it turns into a DOMException: `origin_refused` (SecurityError) for the
//! origin and RP ID rules, `credential_excluded` (InvalidStateError) for an excluded
//! credential.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cable_ctap::CborMessage;
use cable_phone::{PhoneConfig, PhoneReport};
use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use common::{error_of, Cabled, Conn, Options};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;
use tokio::task::JoinHandle;

const ORIGIN: &str = "https://frame.cable.example";
const RP_ID: &str = "frame.cable.example";

struct Rig {
    _server: ServerHandle,
    tunnel_url: String,
    daemon: Cabled,
}

impl Rig {
    async fn new() -> Self {
        let server = TunnelServer::bind("127.0.0.1:0".parse().unwrap(), ServerLimits::default())
            .await
            .expect("tunnel server")
            .spawn();
        let tunnel_url = server.base_url();
        let config = "[timeouts]\nadvert = 20\ntunnel_connect = 10\nhandshake = 10\n\
                      post_handshake = 10\nctap = 20\nlinking_wait = 1\n";
        let daemon = Cabled::start_with(Options {
            config: Some(config),
            args: vec!["--tunnel-url".into(), tunnel_url.clone()],
            ..Options::default()
        });
        Self {
            _server: server,
            tunnel_url,
            daemon,
        }
    }

    fn phone(&self, url: &str, store: &Path) -> JoinHandle<PhoneReport> {
        let radio = format!("127.0.0.1:{}", self.daemon.radio_port)
            .parse()
            .unwrap();
        let config = PhoneConfig::new(url, self.tunnel_url.clone(), radio)
            .with_advert_interval(Duration::from_millis(20))
            .with_total_timeout(Duration::from_secs(60))
            .with_store_path(store);
        tokio::spawn(async move { cable_phone::run_qr(config).await.expect("the phone's run") })
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

fn create_options(rp_id: &str, user: &str, challenge: &[u8]) -> Value {
    json!({
        "rp": {"id": rp_id, "name": "cross-origin tests"},
        "user": {"id": b64(user.as_bytes()), "name": user, "displayName": user},
        "challenge": b64(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
    })
}

/// Sends `method` and returns the request id and the session's QR URL.
async fn start(conn: &mut Conn, method: &str, params: Value) -> (u64, String) {
    let id = conn.request(method, params).await;
    loop {
        let event = conn.next_event().await["params"].clone();
        if event["event"] == "qr" {
            return (id, event["url"].as_str().unwrap().to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_origin_iframe_gets_top_origin_in_the_client_data_the_phone_signs() {
    let rig = Rig::new().await;
    let store = rig.daemon.dir.path().join("phone.json");
    let mut c = rig.daemon.connect().await;

    let challenge = b"cross-origin registration".to_vec();
    let params = json!({
        "origin": ORIGIN,
        "top_origin": "https://Top.Cable.Example:443",
        "options": create_options(RP_ID, "ivy", &challenge),
    });
    let (id, url) = start(&mut c, "webauthn.create", params).await;
    let phone = rig.phone(&url, &store);
    let response = c.response(id).await;
    let credential = &response["result"];
    let client_data = unb64(&credential["response"]["clientDataJSON"]);
    let expected = format!(
        "{{\"type\":\"webauthn.create\",\"challenge\":\"{}\",\"origin\":\"{ORIGIN}\",\
         \"crossOrigin\":true,\"topOrigin\":\"https://top.cable.example\"}}",
        b64(&challenge)
    );
    assert_eq!(
        String::from_utf8_lossy(&client_data),
        expected,
        "{response}"
    );
    let attestation = unb64(&credential["response"]["attestationObject"]);
    let object = cable_ctap::AttestationObject::from_cbor(&attestation).unwrap();
    let auth_data = cable_ctap::AuthenticatorData::parse(&object.auth_data).unwrap();
    let public_key = auth_data
        .attested_credential
        .expect("an attested credential")
        .credential_public_key_bytes()
        .to_vec();
    phone.await.unwrap();

    // The sign-in: the phone signs the hash of the cross-origin client data.
    let challenge = b"cross-origin sign-in".to_vec();
    let params = json!({
        "origin": ORIGIN,
        "top_origin": "https://top.cable.example",
        "options": {"rpId": RP_ID, "challenge": b64(&challenge), "userVerification": "required"},
    });
    let (id, url) = start(&mut c, "webauthn.get", params).await;
    let phone = rig.phone(&url, &store);
    let response = c.response(id).await;
    let assertion = &response["result"];
    let client_data = unb64(&assertion["response"]["clientDataJSON"]);
    let parsed: Value = serde_json::from_slice(&client_data).unwrap();
    assert_eq!(parsed["crossOrigin"], true, "{parsed}");
    assert_eq!(parsed["topOrigin"], "https://top.cable.example");
    let hash: [u8; 32] = Sha256::digest(&client_data).into();
    cable_ctap::verify_assertion(
        &unb64(&assertion["response"]["authenticatorData"]),
        &hash,
        &unb64(&assertion["response"]["signature"]),
        &public_key,
    )
    .expect("the phone signed the cross-origin client data");
    phone.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn origin_and_rp_id_refusals_are_origin_refused_before_any_qr_code() {
    let rig = Rig::new().await;
    let mut c = rig.daemon.connect().await;
    let get = |origin: &str, rp_id: &str| json!({"origin": origin, "options": {"rpId": rp_id, "challenge": b64(b"challenge")}});
    let cases = [
        (
            "a public suffix as RP ID",
            json!({"origin": "https://foo.github.io",
            "options": create_options("github.io", "u", b"challenge")}),
        ),
        (
            "an IP-address origin",
            get("https://192.168.1.10", "192.168.1.10"),
        ),
        (
            "an IP-address RP ID",
            get("https://example.com", "93.184.216.34"),
        ),
        (
            "http other than localhost",
            get("http://example.com", "example.com"),
        ),
        (
            "an RP ID of another site",
            get("https://example.com", "example.org"),
        ),
        (
            "an insecure top-level page",
            json!({"origin": "https://example.com",
            "top_origin": "http://top.example", "options": {"rpId": "example.com", "challenge": b64(b"c")}}),
        ),
    ];
    for (what, params) in cases {
        let method = if params["options"]["rp"].is_object() {
            "webauthn.create"
        } else {
            "webauthn.get"
        };
        let answer = c.call(method, params).await;
        assert_eq!(error_of(&answer), "origin_refused", "{what}: {answer}");
        assert_eq!(answer["error"]["code"], -32602, "{what}: {answer}");
    }
    // Options unusable for other reasons keep invalid_request.
    let answer = c
        .call(
            "webauthn.get",
            json!({"origin": "https://example.com", "options": {"rpId": "example.com"}}),
        )
        .await;
    assert_eq!(error_of(&answer), "invalid_request", "{answer}");
    assert!(
        c.notifications.is_empty(),
        "no session started: {:?}",
        c.notifications
    );

    // http://localhost is a secure context: its ceremony starts (and is cancelled here).
    let id = c
        .request("webauthn.get", get("http://localhost:8080", "localhost"))
        .await;
    let qr = c.next_event().await;
    assert_eq!(qr["params"]["event"], "qr", "{qr}");
    let session = qr["params"]["session"].clone();
    c.ok("session.cancel", json!({"session": session})).await;
    assert_eq!(error_of(&c.response(id).await), "cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_a_credential_the_phone_already_has_is_credential_excluded() {
    let rig = Rig::new().await;
    let store = rig.daemon.dir.path().join("phone.json");
    let mut c = rig.daemon.connect().await;
    let params = json!({"origin": ORIGIN, "options": create_options(RP_ID, "jo", b"first")});
    let (id, url) = start(&mut c, "webauthn.create", params).await;
    let phone = rig.phone(&url, &store);
    let first = c.response(id).await;
    let credential_id = first["result"]["id"].clone();
    assert!(credential_id.is_string(), "{first}");
    phone.await.unwrap();

    let mut options = create_options(RP_ID, "jo", b"second");
    options["excludeCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let (id, url) = start(
        &mut c,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": options}),
    )
    .await;
    let phone = rig.phone(&url, &store);
    let answer = c.response(id).await;
    assert_eq!(error_of(&answer), "credential_excluded", "{answer}");
    assert_eq!(answer["error"]["code"], -32000);
    let _ = phone.await;
}
