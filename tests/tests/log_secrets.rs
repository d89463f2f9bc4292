//! Issue 12 item 5: no log level shows a session's secrets. The `cabled` and `cablectl`
//! binaries run with `RUST_LOG=trace` through a QR registration that links a phone, then a
//! linked sign-in each; taps in front of the tunnel server and the radios keep what the
//! desktops sent, so the test knows every secret exactly (QR secret, contact ID, link ID,
//! client nonces, link secret, EID keys, PSKs) and looks for each, in several spellings, in
//! everything both programs logged.
//!
//! The software phones run in this test process, which installs no subscriber: the phone is a
//! test stand-in, and what it logs is not what a desktop user pastes into a bug report.
//!
//! Needs current binaries: `cargo build -p cabled -p cablectl` first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cable_ble::DomainCheck;
use cable_e2e::cabled_process::{self, cablectl_logging, call_with_events, CabledProcess, Home};
use cable_e2e::links_rig::woken_phone;
use cable_e2e::requests::{self, ORIGIN, RP_ID};
use cable_e2e::rig::{free_udp_addr, loopback, phone_result, spawn_phone, ADVERT_INTERVAL};
use cable_e2e::secrets::{contacts, leaks, plaintexts, Secret};
use cable_e2e::verify;
use cable_e2e::wiretap::{TcpTap, UdpTap};
use cable_qr::QrPayload;
use cabled::engine::WebAuthnRequest;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn trace_logs_of_linking_and_linked_sign_ins_hold_no_secret() {
    let (server, server_url, _) = loopback().await;
    let tunnel = TcpTap::new(server.local_addr()).await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let daemon_radio = free_udp_addr();
    let daemon_adverts = UdpTap::new(daemon_radio).await;
    let timeouts = "advert = 10\ntunnel_connect = 10\nhandshake = 10\npost_handshake = 10\n\
                    ctap = 10\nlinking_wait = 1";
    let daemon =
        CabledProcess::start_logging(&home, &tunnel.url(), daemon_radio, timeouts, "trace").await;
    let client = daemon.client().await;

    // A QR registration through the daemon; the phone links.
    let phone = dir.path().join("pixel.json");
    let (request, expected) = requests::create("lena");
    let WebAuthnRequest::Create { options, .. } = request else {
        unreachable!("requests::create makes a registration")
    };
    let mut scanner = None;
    let mut qr_url = None;
    let (result, events) = call_with_events(
        &client,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": options}),
        |event| {
            if event["event"] == "qr" {
                let qr = event["url"].as_str().expect("the QR URL").to_string();
                let config =
                    cable_phone::PhoneConfig::new(&qr, server_url.clone(), daemon_adverts.addr)
                        .with_advert_interval(ADVERT_INTERVAL)
                        .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
                        .with_store_path(&phone);
                scanner = Some(spawn_phone(config));
                qr_url = Some(qr);
            }
        },
    )
    .await;
    let credential = result.unwrap_or_else(|e| panic!("webauthn.create: {e}\n{}", daemon.log()));
    let passkey = verify::registration(&credential, &expected);
    phone_result(scanner.expect("a QR code was shown"))
        .await
        .expect("the phone reports");
    let device = events
        .iter()
        .find(|e| e["event"] == "linked")
        .and_then(|e| e["device"].as_str())
        .unwrap_or_else(|| panic!("no linked event: {:?}", cabled_process::names(&events)))
        .to_string();

    // A linked sign-in through the daemon.
    let woken = woken_phone(&phone, &server_url, daemon_adverts.addr).await;
    let (request, expected) = requests::get();
    let WebAuthnRequest::Get { options, .. } = request else {
        unreachable!("requests::get makes a sign-in")
    };
    let params = json!({"origin": ORIGIN, "options": options, "device": device});
    let (result, _) = call_with_events(&client, "webauthn.get", params, |_| {}).await;
    let credential = result.unwrap_or_else(|e| panic!("webauthn.get: {e}\n{}", daemon.log()));
    verify::assertion(&credential, &expected, &passkey);
    woken.result().await.expect("the woken phone's session");
    let daemon_log = daemon.stop_and_log().await;

    // A linked sign-in by cablectl itself (no daemon), on a radio of its own.
    let cli_radio = free_udp_addr();
    let cli_adverts = UdpTap::new(cli_radio).await;
    let woken = woken_phone(&phone, &server_url, cli_adverts.addr).await;
    let radio_arg = format!("udp:{cli_radio}");
    let tunnel_url = tunnel.url();
    let args = [
        "sign-in",
        "--rp-id",
        RP_ID,
        "--origin",
        ORIGIN,
        "--device",
        &device,
        "--no-daemon",
        "--tunnel-url",
        &tunnel_url,
        "--radio",
        &radio_arg,
        "--link-wait",
        "1",
        "--json",
    ];
    let cli = cablectl_logging(&home, &args, Some("trace")).await;
    assert!(
        cli.status.success(),
        "cablectl sign-in failed ({}):\n{}\n{}",
        cli.status,
        cli.stdout,
        cli.stderr
    );
    woken.result().await.expect("the woken phone's session");

    // What the desktops sent, hence what must not be logged.
    let qr = QrPayload::parse_url(qr_url.as_deref().expect("a QR URL")).expect("the QR parses");
    let state = cable_phone::store_file::load_state(&phone).expect("the phone's state file");
    let identity = state.linking.expect("the phone linked").identity;
    let contact_id = identity.contact_id().to_vec();
    let mut secrets = vec![
        Secret::text("the QR code's digits", &qr_url.as_deref().unwrap()[6..]),
        Secret::new("the QR secret", qr.secret.expose()),
        Secret::new("the QR EID key", qr.eid_key().expose()),
        Secret::new("the contact ID", &contact_id),
    ];
    let qr_adverts = plaintexts(&daemon_adverts, &qr.eid_key(), DomainCheck::Qr);
    assert!(!qr_adverts.is_empty(), "no QR-flow advert passed the tap");
    for plaintext in &qr_adverts {
        secrets.push(Secret::new("a QR-flow PSK", qr.psk(plaintext).expose()));
        secrets.push(Secret::new("a QR-flow advert plaintext", plaintext));
    }
    let contacts = contacts(&tunnel);
    assert_eq!(contacts.len(), 2, "one contact request per linked sign-in");
    for (contact, adverts) in contacts.iter().zip([&daemon_adverts, &cli_adverts]) {
        // The tap saw the secrets on the wire: the contact ID in the path, the payload in
        // the header. Those are exactly what tungstenite logs at debug and trace.
        assert_eq!(
            contact.path,
            format!("/cable/contact/{}", URL_SAFE_NO_PAD.encode(&contact_id))
        );
        let link_id: [u8; 8] = contact
            .link_id
            .as_slice()
            .try_into()
            .expect("an 8-byte link ID");
        let link_secret = identity.link_secret(&link_id);
        let eid_key = cable_keys::eid_key(link_secret.expose(), &contact.client_nonce);
        let linked_adverts = plaintexts(adverts, &eid_key, DomainCheck::Linked);
        assert!(
            !linked_adverts.is_empty(),
            "no linked advert passed the tap"
        );
        for plaintext in &linked_adverts {
            let psk = cable_keys::psk(link_secret.expose(), plaintext);
            secrets.push(Secret::new("a linked PSK", psk.expose()));
        }
        secrets.push(Secret::new("the link ID", &contact.link_id));
        secrets.push(Secret::new("a client nonce", &contact.client_nonce));
        secrets.push(Secret::new("the link secret", link_secret.expose()));
        secrets.push(Secret::new("a linked EID key", eid_key.expose()));
        secrets.push(Secret::new("a client payload", &contact.payload));
    }

    // Trace was on: our own debug lines are there, so silence is not why nothing leaked.
    assert!(
        daemon_log.contains("DEBUG"),
        "cabled logged no debug line:\n{daemon_log}"
    );
    let mut found = leaks("cabled", &daemon_log, &secrets);
    found.extend(leaks("cablectl", &cli.stderr, &secrets));
    assert!(
        found.is_empty(),
        "logs under RUST_LOG=trace show secrets:\n{}",
        found.join("\n")
    );
    let _ = server.shutdown().await;
}
