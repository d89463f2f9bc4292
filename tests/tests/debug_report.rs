//! Issue 11 items 5–7: the session history and the debug report hold no secret, and say what
//! happened. The real `cabled` and `cablectl` run a QR registration through the daemon (the
//! phone links), a linked sign-in through the daemon, a linked sign-in by cablectl itself and a
//! raw session cancelled before any phone; taps in front of the tunnel server and the radios
//! keep what the desktops sent, so the test knows every secret those sessions had. Then
//! `cablectl debug-report` writes its file, and the file and every history record are searched
//! for each secret in hex, base64(url), `Debug` and base-10 spellings.
//!
//! Needs current binaries: `cargo build -p cabled -p cablectl` first.

use cable_ble::DomainCheck;
use cable_e2e::cabled_process::{self, cablectl_ok, call_with_events, CabledProcess, Home};
use cable_e2e::links_rig::woken_phone;
use cable_e2e::requests::{self, ORIGIN, RP_ID};
use cable_e2e::rig::{free_udp_addr, loopback, phone_result, spawn_phone, within, ADVERT_INTERVAL};
use cable_e2e::secrets::{contacts, leaks, plaintexts, Secret};
use cable_e2e::wiretap::{TcpTap, UdpTap};
use cable_qr::QrPayload;
use cabled::engine::WebAuthnRequest;
use cabled::history::{FrontDoor, Outcome, PathTaken, SessionRecord};
use cabled::ipc::api::{HistoryList, LastParams};
use serde_json::{json, Value};
use std::time::Duration;

/// Every file of the history folder, as text.
fn history_files(home: &Home) -> Vec<(String, String)> {
    let dir = home.root.join("state").join("cable").join("history");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no history folder {}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).expect("a history file reads");
            (name, text)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn the_history_and_the_debug_report_tell_what_happened_and_hold_no_secret() {
    let (server, server_url, _) = loopback().await;
    let tunnel = TcpTap::new(server.local_addr()).await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let daemon_radio = free_udp_addr();
    let daemon_adverts = UdpTap::new(daemon_radio).await;
    let timeouts = "advert = 10\ntunnel_connect = 10\nhandshake = 10\npost_handshake = 10\n\
                    ctap = 10\nlinking_wait = 1";
    let daemon = CabledProcess::start(&home, &tunnel.url(), daemon_radio, timeouts).await;
    let client = daemon.client().await;

    // 1. A QR registration through the daemon; the phone links.
    let phone = dir.path().join("pixel.json");
    let (request, _) = requests::create("lena");
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
    result.unwrap_or_else(|e| panic!("webauthn.create: {e}\n{}", daemon.log()));
    phone_result(scanner.expect("a QR code was shown"))
        .await
        .expect("the phone reports");
    let event = |name: &str| -> Value {
        events
            .iter()
            .find(|e| e["event"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} event: {:?}", cabled_process::names(&events)))
    };
    let device = event("linked")["device"].as_str().unwrap().to_string();
    let routing_id = hex::decode(event("advert")["routing_id"].as_str().unwrap()).unwrap();
    let tunnel_url = event("tunnel_connecting")["url"]
        .as_str()
        .unwrap()
        .to_string();

    // 2. A linked sign-in through the daemon.
    let woken = woken_phone(&phone, &server_url, daemon_adverts.addr).await;
    let (request, _) = requests::get();
    let WebAuthnRequest::Get { options, .. } = request else {
        unreachable!("requests::get makes a sign-in")
    };
    let params = json!({"origin": ORIGIN, "options": options, "device": device});
    let (result, _) = call_with_events(&client, "webauthn.get", params, |_| {}).await;
    result.unwrap_or_else(|e| panic!("webauthn.get: {e}\n{}", daemon.log()));
    woken.result().await.expect("the woken phone's session");

    // 3. A raw session cancelled while its QR code is shown.
    let (started, _) = call_with_events(
        &client,
        "hybrid.start",
        json!({"request_type": "ga", "qr_only": true}),
        |_| {},
    )
    .await;
    let session = started.expect("hybrid.start")["session"]
        .as_str()
        .unwrap()
        .to_string();
    client
        .call_value("session.cancel", &json!({"session": session}))
        .await
        .expect("session.cancel");

    // 4. A linked sign-in by cablectl itself (no daemon), on a radio of its own.
    let cli_radio = free_udp_addr();
    let cli_adverts = UdpTap::new(cli_radio).await;
    let woken = woken_phone(&phone, &server_url, cli_adverts.addr).await;
    let radio_arg = format!("udp:{cli_radio}");
    let tunnel_arg = tunnel.url();
    cablectl_ok(
        &home,
        &[
            "sign-in",
            "--rp-id",
            RP_ID,
            "--origin",
            ORIGIN,
            "--device",
            &device,
            "--no-daemon",
            "--tunnel-url",
            &tunnel_arg,
            "--radio",
            &radio_arg,
            "--link-wait",
            "1",
            "--json",
        ],
    )
    .await;
    woken.result().await.expect("the woken phone's session");

    // The daemon's records land when its sessions have truly ended (after the linking wait).
    let listing = within("four sessions are recorded", async {
        loop {
            let listing = client
                .call::<HistoryList>(LastParams::default())
                .await
                .expect("history.list");
            if listing.sessions.len() >= 4 {
                return listing;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(listing.enabled);
    let records: Vec<SessionRecord> = listing.sessions;
    // The cancel may come before the QR code is shown: then no path was tried at all.
    let kinds: Vec<(FrontDoor, Option<PathTaken>, Outcome)> = records
        .iter()
        .rev()
        .map(|r| {
            (
                r.front_door,
                r.path.filter(|_| r.outcome == Outcome::Ok),
                r.outcome,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (FrontDoor::Ipc, Some(PathTaken::Qr), Outcome::Ok),
            (FrontDoor::Ipc, Some(PathTaken::Linked), Outcome::Ok),
            (FrontDoor::Ipc, None, Outcome::Cancelled),
            (FrontDoor::Cli, Some(PathTaken::Linked), Outcome::Ok),
        ],
        "{records:#?}"
    );
    assert_ne!(records[1].path, Some(PathTaken::Linked));
    let registration = records.last().unwrap();
    assert_eq!(registration.rp_id.as_deref(), Some(RP_ID));
    assert_eq!(
        registration.phone.as_ref().unwrap().profile.name(),
        "android"
    );
    let stages: Vec<&str> = registration.stages.iter().map(|s| s.kind.name()).collect();
    for stage in [
        "qr",
        "advert",
        "tunnel_connected",
        "handshake",
        "phone_ready",
        "linked",
    ] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
    assert_eq!(records[1].error.as_deref(), Some("cancelled"));

    // What the CLI shows of them.
    let show = cablectl_ok(&home, &["history", "show", &registration.id[..6]]).await;
    assert!(
        show.contains(RP_ID) && show.contains("phone_ready"),
        "{show}"
    );
    let stats: Value =
        serde_json::from_str(&cablectl_ok(&home, &["stats", "--json"]).await).expect("JSON");
    assert_eq!(stats["sessions"], 4);
    assert_eq!(stats["outcomes"]["cancelled"], 1);
    let linked = stats["by_path"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "linked")
        .expect("a linked group");
    assert_eq!(linked["sessions"], 2);
    assert_eq!(linked["stages"][4]["stage"], "ctap_answer");
    assert_eq!(linked["stages"][4]["reached"], 2);

    // The report.
    let report_path = dir.path().join("report.txt");
    let report_arg = report_path.display().to_string();
    cablectl_ok(
        &home,
        &["debug-report", "--offline", "--output", &report_arg],
    )
    .await;
    let report = std::fs::read_to_string(&report_path).expect("the report");
    for section in [
        "== versions ==",
        "== doctor ==",
        "== Bluetooth adapters ==",
        "== configuration ==",
        "== daemon status ==",
        "== statistics",
        "== the last 20 sessions ==",
    ] {
        assert!(report.contains(section), "{section} missing:\n{report}");
    }
    assert!(
        report.contains(&format!("cabled {}", env!("CARGO_PKG_VERSION"))),
        "{report}"
    );
    for r in &records {
        assert!(
            report.contains(&format!("session {}", r.id)),
            "{} missing:\n{report}",
            r.id
        );
    }

    // Every secret those sessions had.
    let qr_url = qr_url.expect("a QR URL");
    let qr = QrPayload::parse_url(&qr_url).expect("the QR parses");
    let digits = &qr_url[6..];
    let mut secrets = vec![
        Secret::text("the QR URL", &qr_url),
        Secret::text("the QR code's digits", digits),
        Secret::new("the QR secret", qr.secret.expose()),
        Secret::new("the QR EID key", qr.eid_key().expose()),
        Secret::new("the QR identity key", &qr.public_key.compressed()),
        Secret::new("the tunnel ID", &qr.tunnel_id()),
        Secret::short("the routing ID", &routing_id),
        Secret::text("the tunnel URL", &tunnel_url),
        Secret::text("the linked phone's ID", &device),
    ];
    // The digits are base 10 in 17-digit chunks (7 bytes each): no chunk may show either.
    for (i, chunk) in digits.as_bytes().chunks(17).enumerate() {
        let chunk = std::str::from_utf8(chunk).unwrap();
        if chunk.len() >= 8 {
            secrets.push(Secret::text(format!("QR digits, chunk {i}"), chunk));
        }
    }
    for plaintext in plaintexts(&daemon_adverts, &qr.eid_key(), DomainCheck::Qr) {
        secrets.push(Secret::new("a QR-flow PSK", qr.psk(&plaintext).expose()));
        secrets.push(Secret::new("a QR-flow advert plaintext", &plaintext));
    }
    let state = cable_phone::store_file::load_state(&phone).expect("the phone's state file");
    let identity = state.linking.expect("the phone linked").identity;
    let contact_id = identity.contact_id().to_vec();
    secrets.push(Secret::new("the contact ID", &contact_id));
    let contacts = contacts(&tunnel);
    for contact in &contacts {
        let (link_id, nonce, payload) = (&contact.link_id, &contact.client_nonce, &contact.payload);
        let link_id8: [u8; 8] = link_id.as_slice().try_into().expect("an 8-byte link ID");
        let link_secret = identity.link_secret(&link_id8);
        secrets.push(Secret::new("the link ID", link_id));
        secrets.push(Secret::new("a client nonce", nonce));
        secrets.push(Secret::new("the link secret", link_secret.expose()));
        secrets.push(Secret::new("a client payload", payload));
        let eid_key = cable_keys::eid_key(link_secret.expose(), nonce);
        secrets.push(Secret::new("a linked EID key", eid_key.expose()));
        for adverts in [&daemon_adverts, &cli_adverts] {
            for plaintext in plaintexts(adverts, &eid_key, DomainCheck::Linked) {
                let psk = cable_keys::psk(link_secret.expose(), &plaintext);
                secrets.push(Secret::new("a linked PSK", psk.expose()));
            }
        }
    }
    assert_eq!(contacts.len(), 2, "one contact request per linked sign-in");

    let mut found = leaks("the debug report", &report, &secrets);
    let files = history_files(&home);
    assert_eq!(files.len(), 4, "one file per session: {files:?}");
    for (name, text) in &files {
        found.extend(leaks(&format!("history file {name}"), text, &secrets));
    }
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
    daemon.stop().await;
    let _ = server.shutdown().await;
}
