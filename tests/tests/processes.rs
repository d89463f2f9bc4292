//! Whole transactions across processes: the phone as a process of its own (this test binary
//! in phone mode, or `cablectl phone`), the desktop as `cablectl register` / `cablectl sign-in
//! --json`, and what the phone signed verified independently of cable-ctap and cable-phone
//! (see `cable_e2e::verify`).
//!
//! The cablectl tests need `target/<profile>/cablectl` (`cargo build -p cablectl`); see
//! `cable_e2e::process` for why cargo does not build it for these tests.

use cable_e2e::process::{event_names, phone_mode, self_phone, Cablectl, PhoneArgs};
use cable_e2e::requests::{self, b64, Ceremony, Expected, ORIGIN, RP_ID};
use cable_e2e::rig::{self, phone_result, spawn_phone, Rig, ADVERT_INTERVAL};
use cable_e2e::verify;
use cable_phone::{CredentialAction, PhoneConfig, PhoneProfile, SessionEnd};
use cabled::engine::EventKind;
use serde_json::Value;

/// The name of the test that is the phone process's body.
const PHONE_ENTRY: &str = "phone_process";

/// The timeline `cablectl --json` prints for a successful QR ceremony, in order.
const QR_TIMELINE: [&str; 12] = [
    "qr",
    "scanning",
    "advert",
    "tunnel_connecting",
    "tunnel_connected",
    "handshake",
    "phone_ready",
    "path",
    "ctap_request",
    "ctap_response",
    "closed",
    "credential",
];

/// Not a test of its own: in a normal run it returns at once; in a process started by
/// `self_phone` it plays the phone.
#[test]
fn phone_process() {
    phone_mode();
}

#[tokio::test]
async fn registration_then_sign_in_with_the_phone_in_another_process() {
    let rig = Rig::new().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = dir.path().join("passkeys.json");
    let phone_args = |qr: String| PhoneArgs {
        qr,
        tunnel_url: rig.tunnel_url.clone(),
        radio: rig.radio,
        store: Some(store.clone()),
        profile: PhoneProfile::Android,
        answer_delay_ms: None,
    };

    // Registration: the phone process creates the passkey and saves it to the store file.
    let (request, expected) = requests::create("alice");
    let mut session = rig.start(request);
    let qr = session.qr().await;
    let phone = self_phone(PHONE_ENTRY, &phone_args(qr));
    let outcome = session.outcome().await;
    let report = phone.report().await;
    let passkey = verify::registration(outcome.credential(), &expected);
    assert_eq!(report["credential"]["action"], "created");
    assert_eq!(
        report["credential"]["credential_id"],
        b64(&passkey.credential_id)
    );
    assert_eq!(report["credential"]["rp_id"], RP_ID);
    assert_eq!(report["end"]["kind"], "desktop_shutdown", "{report}");
    assert!(store.is_file(), "the phone saved no store file");
    // The AAGUID the phone announced before the request is the one in the credential.
    let announced = outcome.events.iter().find_map(|e| match &e.kind {
        EventKind::PhoneReady { aaguid, .. } => Some(aaguid.clone()),
        _ => None,
    });
    assert_eq!(announced, Some(hex::encode(passkey.aaguid)));

    // Sign-in: a new phone process, the same store file; no credential ID is given.
    let (request, expected) = requests::get();
    let mut session = rig.start(request);
    let qr = session.qr().await;
    let phone = self_phone(PHONE_ENTRY, &phone_args(qr));
    let outcome = session.outcome().await;
    let report = phone.report().await;
    verify::assertion(outcome.credential(), &expected, &passkey);
    assert_eq!(report["credential"]["action"], "used");
    assert_eq!(
        report["credential"]["credential_id"],
        b64(&passkey.credential_id)
    );
    assert_eq!(report["end"]["kind"], "desktop_shutdown", "{report}");
}

#[tokio::test]
async fn cablectl_register_and_sign_in_print_the_whole_timeline() {
    let (_server, tunnel_url, radio) = rig::loopback().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cablectl = Cablectl::locate(dir.path());
    let store = dir.path().join("passkeys.json");
    let session_flags = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(
            [
                "--rp-id",
                RP_ID,
                "--origin",
                ORIGIN,
                "--tunnel-url",
                &tunnel_url,
                "--radio",
                &format!("udp:{radio}"),
                "--timeout",
                "5",
            ]
            .map(String::from),
        );
        all
    };

    // Registration: cablectl is the desktop, offering linking by default (a fresh home has
    // no linked phones); an in-process Android phone answers and offers to be remembered.
    let mut desktop = cablectl.desktop(&session_flags(&["register", "--user-name", "bob"]));
    let qr = desktop.wait_for("qr").await;
    let qr = qr["url"].as_str().expect("the qr event has a url");
    let phone = spawn_phone(
        PhoneConfig::new(qr, tunnel_url.clone(), radio)
            .with_store_path(&store)
            .with_advert_interval(ADVERT_INTERVAL),
    );
    let (events, exit) = desktop.finish().await;
    assert!(exit.status.success(), "cablectl register: {}", exit.stderr);
    assert_eq!(exit.stderr, "", "a successful run says nothing on stderr");
    // Android sends its linking data right after the post-handshake message, so it is read
    // while the desktop waits for the answer.
    let mut linked_timeline = QR_TIMELINE.to_vec();
    linked_timeline.insert(9, "linked");
    check_timeline(&events, &linked_timeline);
    check_advert(event(&events, "advert"), "FFF9", 0);
    let expected = Expected {
        ceremony: Ceremony::Create,
        rp_id: RP_ID.into(),
        origin: ORIGIN.into(),
        challenge: None,
        user_id: None,
    };
    let passkey = verify::registration(&event(&events, "credential")["credential"], &expected);
    let report = phone_result(phone).await.expect("the phone succeeds");
    let created = report
        .credential
        .as_ref()
        .expect("the phone made a passkey");
    assert_eq!(created.action, CredentialAction::Created);
    assert_eq!(
        created.credential.credential_id,
        b64(&passkey.credential_id)
    );
    assert_eq!(created.credential.user_name.as_deref(), Some("bob"));
    assert_eq!(report.end, SessionEnd::DesktopShutdown);

    // Sign-in naming the credential, QR code only and no linking: cablectl is the desktop;
    // the phone is a `cablectl phone` process that plays an iPhone with the same store.
    let id = b64(&passkey.credential_id);
    let mut desktop = cablectl.desktop(&session_flags(&[
        "sign-in",
        "--credential-id",
        &id,
        "--no-link",
    ]));
    let qr = desktop.wait_for("qr").await;
    let qr = qr["url"].as_str().expect("the qr event has a url");
    let phone = cablectl.phone(qr, &tunnel_url, radio, Some(&store), &["--profile", "ios"]);
    let (events, exit) = desktop.finish().await;
    assert!(exit.status.success(), "cablectl sign-in: {}", exit.stderr);
    check_timeline(&events, &QR_TIMELINE);
    check_advert(event(&events, "advert"), "FDE2", 1);
    let expected = Expected {
        ceremony: Ceremony::Get,
        ..expected
    };
    verify::assertion(
        &event(&events, "credential")["credential"],
        &expected,
        &passkey,
    );
    let report = phone.report().await;
    assert_eq!(report["profile"], "ios");
    assert_eq!(report["credential"]["action"], "used");
    assert_eq!(report["credential"]["credential_id"], id.as_str());
}

#[tokio::test]
async fn cablectl_without_a_phone_ends_with_a_no_phone_error_line() {
    let (_server, tunnel_url, radio) = rig::loopback().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cablectl = Cablectl::locate(dir.path());
    let args: Vec<String> = [
        "sign-in",
        "--rp-id",
        RP_ID,
        "--origin",
        ORIGIN,
        "--tunnel-url",
        &tunnel_url,
        "--radio",
        &format!("udp:{radio}"),
        "--timeout",
        "1",
    ]
    .map(String::from)
    .to_vec();
    // `finish` fails the test after rig::LIMIT; "within 1 s" below shows --timeout applied.
    let (events, exit) = cablectl.desktop(&args).finish().await;
    assert!(!exit.status.success(), "a failed sign-in exits non-zero");
    assert_eq!(event_names(&events), ["qr", "scanning", "error"]);
    let error = &events[2];
    assert_eq!(error["code"], "no_phone");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("no phone answered within 1 s")),
        "{error}"
    );
    // One line on stderr, ending with the code for scripts.
    let stderr = exit.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("cablectl: ") && stderr.ends_with("[no_phone]"),
        "{stderr}"
    );
}

/// The events of a successful ceremony in order, each stamped no earlier than the one before.
fn check_timeline(events: &[Value], expected: &[&str]) {
    assert_eq!(event_names(events), expected);
    let stamps: Vec<u64> = events
        .iter()
        .map(|e| e["t_ms"].as_u64().unwrap_or_else(|| panic!("no t_ms: {e}")))
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "t_ms goes backwards: {stamps:?}"
    );
    let qr = event(events, "qr")["url"].as_str().expect("qr url");
    assert!(qr.starts_with("FIDO:/"), "{qr}");
    assert_eq!(
        event(events, "handshake")["protocol"],
        "Noise_KNpsk0_P256_AESGCM_SHA256"
    );
    assert_eq!(event(events, "path")["path"], "qr");
    let credential = &event(events, "credential")["credential"];
    assert_eq!(
        event(events, "ctap_request")["command"],
        events_command(credential)
    );
    let response = event(events, "ctap_response");
    assert_eq!(response["status"], "CTAP2_OK");
    assert_eq!(response["status_code"], 0);
}

/// The first event named `name`.
fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:?}"))
}

/// The CTAP command a credential answered.
fn events_command(credential: &Value) -> &'static str {
    if credential["response"].get("attestationObject").is_some() {
        "makeCredential"
    } else {
        "getAssertion"
    }
}

/// The advert event: the UUID and tunnel domain the phone's profile uses.
fn check_advert(event: &Value, uuid: &str, domain: u64) {
    assert_eq!(event["event"], "advert");
    assert_eq!(event["uuid"], uuid, "{event}");
    assert_eq!(event["tunnel_domain_id"], domain, "{event}");
    assert_eq!(event["source"], "VirtualRadio", "{event}");
    let routing_id = event["routing_id"].as_str().expect("routing_id");
    assert_eq!(routing_id.len(), 6, "{event}");
}

/// A base64url credential ID starts with `-` one time in 64; cablectl must take it as the
/// value of --credential-id, not as an unknown flag (this made the timeline test above fail
/// now and then, whatever the machine's load).
#[tokio::test]
async fn a_credential_id_starting_with_a_hyphen_is_a_value() {
    let (_server, tunnel_url, radio) = rig::loopback().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cablectl = Cablectl::locate(dir.path());
    let args: Vec<String> = [
        "sign-in",
        "--credential-id",
        "-Pj4-Pj4-Pj4-Pj4-Pj4-A", // 16 bytes of 0xf8
        "--rp-id",
        RP_ID,
        "--origin",
        ORIGIN,
        "--tunnel-url",
        &tunnel_url,
        "--radio",
        &format!("udp:{radio}"),
        "--no-link",
        "--timeout",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let (events, exit) = cablectl.desktop(&args).finish().await;
    // The session ran (and found no phone): the arguments were accepted.
    assert_eq!(
        event_names(&events),
        ["qr", "scanning", "error"],
        "{}",
        exit.stderr
    );
    assert_eq!(events[2]["code"], "no_phone");
}
