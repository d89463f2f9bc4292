//! Linked phones ("remember this computer"), end to end on loopback: a QR session that links,
//! sign-ins through the link with no QR code, re-linking, forgetting, the tunnel server's 410 (and a phone that is only away)
//! for a phone that stopped listening, linking data that does not verify, an iPhone (which
//! never links), and the daemon and the command line sharing the store.
//!
//! The store is always a real `cable_store::LinkStore` (SQLite file and 0600 key file in a
//! temporary folder), behind the daemon's `StoreBook`, so the persistent path is exercised.
//! The daemon tests (from section 7 on) run the `cabled` and `cablectl` binaries:
//! `cargo build -p cabled -p cablectl` first (see `cable_e2e::cabled_process`).

use cable_e2e::cabled_process::{
    self, cablectl, cablectl_ok, call_with_events, CabledProcess, Home,
};
use cable_e2e::links_rig::{
    events_named, hand_driven_phone, linked, one_event, path, seed_link, verify_sign_in,
    woken_phone, ForgedLinking, LinkRig, ReplayedLinking, ANDROID_DOMAIN,
};
use cable_e2e::requests::{self, ORIGIN};
use cable_e2e::rig::{phone_result, spawn_phone, within, ADVERT_INTERVAL};
use cable_e2e::verify;
use cable_phone::store_file::load_state;
use cable_phone::{LinkIdentity, PhoneEvent, PhoneProfile, SessionFlow};
use cable_qr::QrPayload;
use cabled::engine::{LinkBook, Route, WebAuthnRequest};
use serde_json::{json, Value};
use std::time::Duration;

const LINKED_HANDSHAKE: &str = "Noise_NKpsk0_P256_AESGCM_SHA256";

fn hex_id(link_id: [u8; 8]) -> String {
    hex::encode(link_id)
}

/// The phone's linking identity from its state file.
fn identity_of(state: &std::path::Path) -> LinkIdentity {
    load_state(state)
        .expect("the phone's state file reads")
        .linking
        .expect("the phone has a linking identity")
        .identity
}

// --- 1. a QR session links; later sign-ins go through the link ---

#[tokio::test]
async fn a_qr_registration_links_and_later_sign_ins_need_no_qr_code() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel of Alice", "alice").await;

    // The QR code offered linking; the phone's update message carried the linking data.
    let qr = events_named(&first.outcome, "qr")[0]["url"]
        .as_str()
        .expect("the QR URL")
        .to_string();
    let offered = QrPayload::parse_url(&qr).expect("the QR code parses");
    assert_eq!(offered.supports_linking, Some(true), "QR key 4");
    assert_eq!(first.report.update_sent, Some(true));
    assert_eq!(path(&first.outcome), ("qr".to_string(), None));

    // The store lists the phone under the ID the event named, with the phone's name...
    let listed = rig.listed();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id.as_str(), first.device);
    assert_eq!(listed[0].name, "Pixel of Alice");
    assert_eq!(listed[0].tunnel_domain_id, ANDROID_DOMAIN);
    assert!(listed[0].created > 0 && listed[0].last_used >= listed[0].created);
    // ...and keeps exactly what the phone gave out: its contact ID, the link ID it recorded,
    // the link secret it derives from that ID, and its identity key.
    let link = rig.link(&first.device);
    let identity = identity_of(&phone);
    assert_eq!(first.report.link_id, Some(hex_id(link.link_id)));
    assert_eq!(link.contact_id, identity.contact_id());
    assert_eq!(
        link.secret.expose(),
        identity.link_secret(&link.link_id).expose()
    );
    assert_eq!(
        link.phone_public_key.uncompressed(),
        identity.identity().public_key().uncompressed()
    );

    // Only this phone, no QR code: the phone is woken through the tunnel server.
    let device = Route::Device(first.device.clone());
    let (outcome, expected, report) = rig.linked_sign_in(&phone, device).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(
        path(&outcome),
        ("linked".into(), Some(first.device.clone()))
    );
    assert!(!outcome.names().contains(&"qr"), "{:?}", outcome.names());
    let contacting = one_event(&outcome, "contacting");
    assert_eq!(contacting["device"], first.device.as_str());
    assert_eq!(contacting["name"], "Pixel of Alice");
    assert_eq!(
        one_event(&outcome, "handshake")["protocol"],
        LINKED_HANDSHAKE
    );
    let report = report.expect("the woken phone reports");
    assert_eq!(report.flow, SessionFlow::Linked);
    assert_eq!(report.link_id, Some(hex_id(link.link_id)));

    // Any way: the QR code is shown but no phone scans it; the linked phone answers.
    let (outcome, expected, report) = rig.linked_sign_in(&phone, Route::Any).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(
        path(&outcome),
        ("linked".into(), Some(first.device.clone()))
    );
    assert!(outcome.names().contains(&"qr"), "{:?}", outcome.names());
    assert!(events_named(&outcome, "link_failed").is_empty());
    assert_eq!(
        report.expect("the woken phone reports").flow,
        SessionFlow::Linked
    );

    // Using the link changed nothing but its last use.
    let after = rig.listed();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].name, "Pixel of Alice");
    assert_eq!(rig.link(&first.device).link_id, link.link_id);
    assert!(after[0].last_used >= listed[0].last_used);
}

#[tokio::test]
async fn a_device_id_prefix_reaches_the_one_phone_it_names() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel", "dave").await;
    let prefix = first.device[..6].to_string();
    let (outcome, expected, _) = rig.linked_sign_in(&phone, Route::Device(prefix)).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(
        path(&outcome),
        ("linked".into(), Some(first.device.clone()))
    );
}

// --- 2. linking again replaces the old link ---

#[tokio::test]
async fn linking_again_replaces_the_link_and_the_new_one_works() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel", "bob").await;
    let before = rig.link(&first.device);

    // A second QR session with the same phone (a sign-in this time) links again.
    let (request, expected) = requests::get();
    let (outcome, report) = rig
        .qr_ceremony(request, |qr| rig.qr_phone(qr, &phone, "Pixel"))
        .await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    let report = report.expect("the phone reports");
    let (device, name) = linked(&outcome).expect("the phone links again");
    assert_eq!(
        device, first.device,
        "the device ID follows the phone's key"
    );
    assert_eq!(name, "Pixel");

    let listed = rig.listed();
    assert_eq!(
        listed.len(),
        1,
        "a re-link must replace, not add: {listed:?}"
    );
    assert_eq!(listed[0].id.as_str(), first.device);
    let after = rig.link(&first.device);
    assert_ne!(
        after.link_id, before.link_id,
        "the phone gave a new link ID"
    );
    assert_eq!(report.link_id, Some(hex_id(after.link_id)));
    assert_ne!(after.secret.expose(), before.secret.expose());
    assert_eq!(
        after.phone_public_key.uncompressed(),
        before.phone_public_key.uncompressed()
    );
    assert_eq!(after.contact_id, before.contact_id);

    // The desktop now wakes the phone with the new link.
    let route = Route::Device(first.device.clone());
    let (outcome, expected, report) = rig.linked_sign_in(&phone, route).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(path(&outcome).0, "linked");
    let report = report.expect("the woken phone reports");
    assert_eq!(report.link_id, Some(hex_id(after.link_id)));

    // Another phone is another entry: the store is keyed by phone, not emptied by a link.
    let other = rig
        .link_phone(&rig.phone_file("galaxy"), "Galaxy", "bob")
        .await;
    assert_ne!(other.device, first.device);
    let mut ids: Vec<String> = rig.listed().iter().map(|l| l.id.to_string()).collect();
    ids.sort();
    let mut expected_ids = vec![first.device.clone(), other.device.clone()];
    expected_ids.sort();
    assert_eq!(ids, expected_ids);
}

// --- 3. a forgotten phone cannot be contacted ---

#[tokio::test]
async fn a_forgotten_phone_is_not_contacted() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let first = rig.link_phone(&phone, "Pixel", "erin").await;

    // Forgotten through the engine's book, as `devices.forget` does.
    assert!(rig.book.forget(&first.device).expect("the book forgets"));
    assert!(rig.listed().is_empty());
    assert!(
        !rig.book.forget(&first.device).expect("the book forgets"),
        "forgotten twice"
    );
    assert!(rig.book.links().expect("the book reads").is_empty());

    // Only that phone: refused at once, naming the device; nothing is shown or contacted.
    let (request, _) = requests::get();
    let outcome = rig
        .start(request, Route::Device(first.device.clone()))
        .outcome()
        .await;
    outcome.assert_failed("invalid_request");
    assert!(
        outcome.message().contains(&first.device),
        "{}",
        outcome.message()
    );
    assert!(outcome.events.is_empty(), "{:?}", outcome.names());

    // Any way: the phone is still waiting to be woken, yet only the QR code is used.
    let waiting = rig.woken_phone(&phone).await;
    let (request, expected) = requests::get();
    let mut session = rig.start(request, Route::Any);
    let qr = session.qr().await;
    let scanner = spawn_phone(rig.qr_phone(&qr, &phone, "Pixel"));
    let outcome = session.outcome().await;
    let mut passkey = first.passkey;
    verify_sign_in(&outcome, &expected, &mut passkey);
    assert!(
        !outcome.names().contains(&"contacting"),
        "{:?}",
        outcome.names()
    );
    assert_eq!(path(&outcome), ("qr".to_string(), None));
    phone_result(scanner).await.expect("the QR phone reports");
    waiting.abort();

    // The phone offered to link again in that QR session: it is back, under the same ID.
    assert_eq!(linked(&outcome).map(|l| l.0), Some(first.device.clone()));
    assert_eq!(rig.listed().len(), 1);
}

#[tokio::test]
async fn a_phone_forgotten_in_another_connection_to_the_store_is_not_contacted() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let first = rig.link_phone(&phone, "Pixel", "erin").await;

    // `cablectl devices forget` opens the store on its own; the engine's book must see it.
    assert!(rig.store().forget(&first.device).expect("forget"));
    assert!(rig.book.links().expect("the book reads").is_empty());
    let (request, _) = requests::get();
    let outcome = rig
        .start(request, Route::Device(first.device.clone()))
        .outcome()
        .await;
    outcome.assert_failed("invalid_request");
    assert!(outcome.message().contains(&first.device));
}

// --- 4. A phone that is away keeps its link; 410 Gone forgets it ---

#[tokio::test]
async fn a_phone_that_is_away_keeps_its_link_and_the_qr_code_still_works() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel", "erin").await;
    let route = Route::Device(first.device.clone());
    let (outcome, expected, report) = rig.linked_sign_in(&phone, route.clone()).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    report.expect("the woken phone reports");
    // The phone is now away (its run ended, its push socket closed). The tunnel server holds
    // the wake-up as a push service would, and the QR code shown meanwhile wins.
    let (request, expected) = requests::get();
    let mut session = rig.start(request, Route::Any);
    let qr = session.qr().await;
    let scanner = spawn_phone(rig.qr_phone(&qr, &phone, "Pixel").with_linking(false));
    let outcome = session.outcome().await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(path(&outcome), ("qr".to_string(), None));
    phone_result(scanner).await.expect("the QR phone reports");
    // Being away is no reason to forget a phone.
    assert_eq!(rig.listed().len(), 1, "{:?}", rig.listed());
    assert!(events_named(&outcome, "link_failed")
        .iter()
        .all(|e| e["forgotten"] != true));
    // Back, it is reached through its link again; the held wake-up of the session the QR code
    // won is not delivered to it.
    let (outcome, expected, report) = rig.linked_sign_in(&phone, route).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    report.expect("the woken phone reports");
}

#[tokio::test]
async fn a_phone_the_push_service_no_longer_knows_is_forgotten_and_the_qr_code_still_works() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel", "frank").await;
    // The link works while the phone listens...
    let route = Route::Device(first.device.clone());
    let (outcome, expected, report) = rig.linked_sign_in(&phone, route).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    report.expect("the woken phone reports");
    // ...until the push service no longer knows the phone (the app was removed): the tunnel
    // server answers the next contact with 410 Gone.
    let state = cable_phone::store_file::load_state(&phone).expect("the phone's state file");
    let contact_id = state
        .linking
        .expect("the phone linked")
        .identity
        .contact_id()
        .to_vec();
    assert!(rig.rig.forget_contact(&contact_id));

    let (request, expected) = requests::get();
    let mut session = rig.start(request, Route::Any);
    let qr = session.qr().await;
    let failed = session.wait_for("link_failed").await.to_json();
    assert_eq!(failed["device"], first.device.as_str());
    assert_eq!(failed["code"], "link_gone", "{failed}");
    assert_eq!(failed["forgotten"], true, "{failed}");
    // Forgotten at once, before any phone scanned the QR code.
    assert!(rig.listed().is_empty(), "{:?}", rig.listed());

    // The QR code still completes the sign-in (this time the phone does not offer to link).
    let scanner = spawn_phone(rig.qr_phone(&qr, &phone, "Pixel").with_linking(false));
    let outcome = session.outcome().await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(path(&outcome), ("qr".to_string(), None));
    phone_result(scanner).await.expect("the QR phone reports");
    assert!(rig.listed().is_empty(), "{:?}", rig.listed());
    assert!(linked(&outcome).is_none());
}

#[tokio::test]
async fn a_phone_the_tunnel_server_never_saw_is_forgotten_when_asked_for_by_id() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    // The phone links but never registers for wake-ups.
    let first = rig.link_phone(&phone, "Pixel", "grace").await;
    let (request, _) = requests::get();
    let outcome = rig
        .start(request, Route::Device(first.device.clone()))
        .outcome()
        .await;
    outcome.assert_failed("link_gone");
    let failed = one_event(&outcome, "link_failed");
    assert_eq!(failed["device"], first.device.as_str());
    assert_eq!(failed["forgotten"], true);
    assert!(!outcome.names().contains(&"qr"));
    assert!(rig.listed().is_empty(), "{:?}", rig.listed());
    // Asking again names the device as unknown.
    let (request, _) = requests::get();
    let again = rig
        .start(request, Route::Device(first.device.clone()))
        .outcome()
        .await;
    again.assert_failed("invalid_request");
}

// --- 5. linking data that does not verify is dropped; stored links stay as they were ---

#[tokio::test]
async fn linking_data_that_does_not_verify_is_ignored_and_other_links_stay_intact() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("pixel");
    let mut first = rig.link_phone(&phone, "Pixel", "heidi").await;
    let listed = rig.listed();
    let stored = rig.link(&first.device);

    // Someone without the phone's key claims it, to take over its entry...
    let forged = ForgedLinking {
        phone_public_key: stored.phone_public_key.clone(),
        name: "impostor".into(),
        contact_id: vec![0xee; 32],
    };
    bad_linking_session(&rig, forged).await;
    // ...and a genuine phone's linking data signed for another session is replayed.
    let replayed = ReplayedLinking(LinkIdentity::generate_random(
        &mut rand_core::OsRng,
        "replay",
    ));
    bad_linking_session(&rig, replayed).await;

    // The store holds exactly the first link, unchanged.
    assert_eq!(rig.listed(), listed);
    let after = rig.link(&first.device);
    assert_eq!(after.name, "Pixel");
    assert_eq!(after.link_id, stored.link_id);
    assert_eq!(after.contact_id, stored.contact_id);
    assert_eq!(after.secret.expose(), stored.secret.expose());

    // And it still works.
    let route = Route::Device(first.device.clone());
    let (outcome, expected, _) = rig.linked_sign_in(&phone, route).await;
    verify_sign_in(&outcome, &expected, &mut first.passkey);
    assert_eq!(path(&outcome).0, "linked");
}

/// A registration with a hand-driven phone whose update message carries `linking`: the
/// registration succeeds and the linking data is rejected.
async fn bad_linking_session(rig: &LinkRig, linking: impl cable_phone::LinkingProvider + 'static) {
    let (request, expected) = requests::create("mallory");
    let mut session = rig.start(request, Route::QrOnly);
    let qr = session.qr().await;
    let phone = tokio::spawn(hand_driven_phone(
        qr,
        rig.rig.tunnel_url.clone(),
        rig.rig.radio,
        linking,
    ));
    let outcome = session.outcome().await;
    verify::registration(outcome.credential(), &expected);
    let phone_events = within("the hand-driven phone ends", phone)
        .await
        .expect("the hand-driven phone's task")
        .expect("the hand-driven phone's session");
    assert!(
        phone_events.contains(&PhoneEvent::UpdateSent { linking: true }),
        "the phone sent no linking data: {phone_events:?}"
    );
    let rejected = one_event(&outcome, "link_rejected");
    assert!(
        rejected["reason"]
            .as_str()
            .is_some_and(|r| r.contains("signature")),
        "{rejected}"
    );
    assert!(linked(&outcome).is_none(), "{:?}", outcome.names());
}

// --- 6. an iPhone never links ---

#[tokio::test]
async fn an_iphone_signs_in_with_linking_offered_and_nothing_is_stored() {
    let rig = LinkRig::new().await;
    let phone = rig.phone_file("iphone");
    let (request, expected) = requests::create("ivan");
    let mut session = rig.start(request, Route::Any);
    let qr = session.qr().await;
    assert_eq!(
        QrPayload::parse_url(&qr)
            .expect("the QR code")
            .supports_linking,
        Some(true)
    );
    let scanner = spawn_phone(
        rig.qr_phone(&qr, &phone, "iPhone")
            .with_profile(PhoneProfile::Ios),
    );
    let outcome = session.outcome().await;
    verify::registration(outcome.credential(), &expected);
    let report = phone_result(scanner).await.expect("the iPhone reports");
    assert!(report.linking_offered);
    assert_eq!(report.update_sent, None, "iPhones send no update message");
    assert!(linked(&outcome).is_none(), "{:?}", outcome.names());
    assert!(events_named(&outcome, "link_rejected").is_empty());
    assert_eq!(path(&outcome), ("qr".to_string(), None));
    assert!(rig.listed().is_empty(), "{:?}", rig.listed());
    let state = load_state(&phone).expect("the iPhone's state file");
    assert!(
        state.linking.is_none(),
        "the iPhone made a linking identity"
    );
}

// --- 7. the daemon and the command line share the store ---

#[tokio::test]
async fn the_daemon_and_cablectl_use_the_store_at_once() {
    let (server, tunnel_url, radio) = cable_e2e::rig::loopback().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let timeouts = "advert = 5\ntunnel_connect = 3\nhandshake = 3\npost_handshake = 3\n\
                    ctap = 5\nlinking_wait = 1";
    let daemon = CabledProcess::start(&home, &tunnel_url, radio, timeouts).await;
    let client = daemon.client().await;
    assert_eq!(
        client
            .call_value("devices.list", &json!({}))
            .await
            .expect("devices.list"),
        json!({"devices": []})
    );

    // A QR registration through the daemon links the phone.
    let phone = dir.path().join("pixel.json");
    let (request, expected) = requests::create("judy");
    let WebAuthnRequest::Create { options, .. } = request else {
        unreachable!("requests::create makes a registration")
    };
    let mut scanner = None;
    let (result, events) = call_with_events(
        &client,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": options}),
        |event| {
            if event["event"] == "qr" {
                let qr = event["url"].as_str().expect("the QR URL");
                let offered = QrPayload::parse_url(qr).expect("the QR code parses");
                assert_eq!(
                    offered.supports_linking,
                    Some(true),
                    "cabled offers linking"
                );
                let config = cable_phone::PhoneConfig::new(qr, tunnel_url.clone(), radio)
                    .with_advert_interval(ADVERT_INTERVAL)
                    .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
                    .with_store_path(&phone)
                    .with_phone_name("Pixel of Judy");
                scanner = Some(spawn_phone(config));
            }
        },
    )
    .await;
    let credential = result.unwrap_or_else(|e| panic!("webauthn.create: {e}\n{}", daemon.log()));
    let passkey = verify::registration(&credential, &expected);
    phone_result(scanner.expect("a QR code was shown"))
        .await
        .expect("the phone reports");
    let linked_event = events
        .iter()
        .find(|e| e["event"] == "linked")
        .unwrap_or_else(|| panic!("no linked event: {:?}", cabled_process::names(&events)));
    let device = linked_event["device"]
        .as_str()
        .expect("linked.device")
        .to_string();
    assert_eq!(linked_event["name"], "Pixel of Judy");

    // While the daemon runs, cablectl reads the same store.
    let listed = devices_json(&home).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], device.as_str());
    assert_eq!(listed[0]["name"], "Pixel of Judy");
    assert!(listed[0]["created"].as_u64().is_some_and(|t| t > 0));
    assert!(listed[0]["last_used"].as_u64().is_some());

    // A rename by cablectl is what the daemon lists and uses.
    cablectl_ok(&home, &["devices", "rename", &device, "Work phone"]).await;
    assert_eq!(devices_json(&home).await[0]["name"], "Work phone");
    let devices = client
        .call_value("devices.list", &json!({}))
        .await
        .expect("devices.list");
    assert_eq!(
        devices["devices"].as_array().map(Vec::len),
        Some(1),
        "{devices}"
    );
    assert_eq!(devices["devices"][0]["id"], device.as_str());
    assert_eq!(devices["devices"][0]["name"], "Work phone");

    // And a rename by the daemon is what cablectl lists.
    let renamed = client
        .call_value(
            "devices.rename",
            &json!({"id": device, "name": "Work phone (Judy)"}),
        )
        .await;
    assert!(renamed.is_ok(), "devices.rename: {renamed:?}");
    assert_eq!(devices_json(&home).await[0]["name"], "Work phone (Judy)");

    // The daemon signs in through the link (decrypting its secret with the store's key).
    let woken = woken_phone(&phone, &tunnel_url, radio).await;
    assert_eq!(woken.links, 1, "the phone gave out one link");
    let (request, expected) = requests::get();
    let WebAuthnRequest::Get { options, .. } = request else {
        unreachable!("requests::get makes a sign-in")
    };
    let params = json!({"origin": ORIGIN, "options": options, "device": device});
    let (result, events) = call_with_events(&client, "webauthn.get", params.clone(), |_| {}).await;
    let credential = result.unwrap_or_else(|e| panic!("webauthn.get: {e}\n{}", daemon.log()));
    verify::assertion(&credential, &expected, &passkey);
    let names = cabled_process::names(&events);
    assert!(!names.contains(&"qr"), "{names:?}");
    let contacting = events.iter().find(|e| e["event"] == "contacting");
    assert_eq!(
        contacting.map(|e| e["name"].clone()),
        Some(json!("Work phone (Judy)")),
        "{events:?}"
    );
    let path = events
        .iter()
        .find(|e| e["event"] == "path")
        .expect("a path event");
    assert_eq!(path["path"], "linked");
    assert_eq!(path["device"], device.as_str());
    woken.result().await.expect("the woken phone's session");

    // cablectl forgets the phone; the daemon no longer lists it or accepts its ID.
    cablectl_ok(&home, &["devices", "forget", &device]).await;
    assert!(devices_json(&home).await.is_empty());
    assert_eq!(
        client
            .call_value("devices.list", &json!({}))
            .await
            .expect("devices.list"),
        json!({"devices": []})
    );
    let refused = client
        .call_value("webauthn.get", &params)
        .await
        .expect_err("a forgotten device is refused");
    assert_eq!(refused.code(), "unknown_device", "{refused}");
    let unknown = cablectl(&home, &["devices", "forget", &device]).await;
    assert!(!unknown.status.success(), "forgetting twice succeeded");
    assert!(unknown.stderr.contains(&device), "{}", unknown.stderr);

    daemon.stop().await;
    let _ = server.shutdown().await;
}

/// `cablectl devices list --json`.
async fn devices_json(home: &Home) -> Vec<Value> {
    let out = cablectl_ok(home, &["devices", "list", "--json"]).await;
    match serde_json::from_str(&out) {
        Ok(Value::Array(items)) => items,
        _ => panic!("devices list --json printed no JSON array: {out}"),
    }
}

/// HYBRID.md / issue 5 item 1: after the CTAP answer, a session that offered linking and got
/// none keeps listening for `linking_wait` — in the daemon in the background, so the caller
/// gets the credential at once.
#[tokio::test]
async fn the_daemon_answers_before_its_linking_wait_ends() {
    let (server, tunnel_url, radio) = cable_e2e::rig::loopback().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    // Long enough that delivering the answer never takes as long on a loaded machine; the
    // bound below is the wait itself, so only a foreground wait can exceed it.
    let linking_wait = Duration::from_secs(4);
    let timeouts = format!(
        "advert = 5\ntunnel_connect = 3\nhandshake = 3\npost_handshake = 3\nctap = 5\n\
         linking_wait = {}",
        linking_wait.as_secs()
    );
    let daemon = CabledProcess::start(&home, &tunnel_url, radio, &timeouts).await;
    let client = daemon.client().await;
    let (request, expected) = requests::create("kim");
    let WebAuthnRequest::Create { options, .. } = request else {
        unreachable!("requests::create makes a registration")
    };
    let mut scanner = None;
    let mut answered_at = None;
    let (result, events) = call_with_events(
        &client,
        "webauthn.create",
        json!({"origin": ORIGIN, "options": options}),
        |event| match event["event"].as_str() {
            Some("qr") => {
                let qr = event["url"].as_str().expect("the QR URL");
                // Chrome-Android without a contact ID: an update message with no linking data.
                let config = cable_phone::PhoneConfig::new(qr, tunnel_url.clone(), radio)
                    .with_advert_interval(ADVERT_INTERVAL)
                    .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
                    .with_linking(false);
                scanner = Some(spawn_phone(config));
            }
            Some("ctap_response") => answered_at = Some(std::time::Instant::now()),
            _ => {}
        },
    )
    .await;
    let returned = answered_at
        .expect("a ctap_response event came before the answer")
        .elapsed();
    let credential = result.unwrap_or_else(|e| panic!("webauthn.create: {e}\n{}", daemon.log()));
    verify::registration(&credential, &expected);
    phone_result(scanner.expect("a QR code was shown"))
        .await
        .expect("the phone reports");
    assert!(
        returned < linking_wait,
        "the credential came {returned:?} after the phone's answer: the daemon waited for \
         linking data in the foreground; events: {:?}",
        cabled_process::names(&events)
    );
    daemon.stop().await;
    let _ = server.shutdown().await;
}

/// A daemon in a home whose store already holds one link (to a phone the tunnel server has
/// never seen), and that link's device ID.
async fn daemon_with_a_stored_link(
    home: &Home,
    name: &str,
) -> (CabledProcess, String, cable_tunnel_server::ServerHandle) {
    let device = seed_link(&home.store_path(), name);
    let (server, tunnel_url, radio) = cable_e2e::rig::loopback().await;
    let timeouts = "advert = 3\ntunnel_connect = 3\nhandshake = 3\npost_handshake = 3\n\
                    ctap = 5\nlinking_wait = 1";
    let daemon = CabledProcess::start(home, &tunnel_url, radio, timeouts).await;
    (daemon, device, server)
}

#[tokio::test]
async fn a_link_the_daemon_finds_gone_is_forgotten_for_cablectl_too() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let (daemon, device, server) = daemon_with_a_stored_link(&home, "Old phone").await;
    assert_eq!(devices_json(&home).await.len(), 1);

    let (request, _) = requests::get();
    let WebAuthnRequest::Get { options, .. } = request else {
        unreachable!("requests::get makes a sign-in")
    };
    let client = daemon.client().await;
    let params = json!({"origin": ORIGIN, "options": options, "device": device});
    let (result, events) = call_with_events(&client, "webauthn.get", params, |_| {}).await;
    let error = result.expect_err("the phone is gone");
    assert_eq!(error.code(), "link_gone", "{error}");
    let failed = events
        .iter()
        .find(|e| e["event"] == "link_failed")
        .unwrap_or_else(|| panic!("no link_failed event: {events:?}"));
    assert_eq!(failed["device"], device.as_str());
    assert_eq!(failed["forgotten"], true);
    assert!(
        devices_json(&home).await.is_empty(),
        "cablectl still lists it"
    );
    daemon.stop().await;
    let _ = server.shutdown().await;
}

#[tokio::test]
async fn cablectl_sign_in_with_an_id_prefix_works_through_the_daemon() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let (daemon, device, server) = daemon_with_a_stored_link(&home, "Old phone").await;
    // No radio or tunnel override: cablectl hands the session to the running daemon.
    let out = cablectl(
        &home,
        &[
            "sign-in",
            "--rp-id",
            requests::RP_ID,
            "--origin",
            ORIGIN,
            "--device",
            &device[..6],
            "--json",
        ],
    )
    .await;
    assert!(!out.status.success(), "the phone does not exist");
    // The daemon tried the phone (the tunnel server said 410) rather than refusing the ID.
    assert!(
        out.stdout.contains("link_gone") && !out.stdout.contains("unknown_device"),
        "{}\n{}\n{}",
        out.stdout,
        out.stderr,
        daemon.log()
    );
    daemon.stop().await;
    let _ = server.shutdown().await;
}

#[tokio::test]
async fn the_daemon_renames_a_linked_phone() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let (daemon, device, server) = daemon_with_a_stored_link(&home, "Pixel").await;
    let client = daemon.client().await;
    let renamed = client
        .call_value(
            "devices.rename",
            &json!({"id": device, "name": "Work phone"}),
        )
        .await;
    assert!(renamed.is_ok(), "devices.rename: {renamed:?}");
    assert_eq!(devices_json(&home).await[0]["name"], "Work phone");
    let listed = client
        .call_value("devices.list", &json!({}))
        .await
        .expect("devices.list");
    assert_eq!(listed["devices"][0]["name"], "Work phone");
    daemon.stop().await;
    let _ = server.shutdown().await;
}

#[tokio::test]
async fn the_daemon_lists_phones_as_cablectl_does() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    let (daemon, _device, server) = daemon_with_a_stored_link(&home, "Pixel").await;
    let client = daemon.client().await;
    let listed = client
        .call_value("devices.list", &json!({}))
        .await
        .expect("devices.list");
    let from_cli = devices_json(&home).await;
    for key in ["id", "name", "created", "last_used"] {
        assert_eq!(
            listed["devices"][0][key], from_cli[0][key],
            "{key}: daemon {listed}, cablectl {from_cli:?}"
        );
    }
    daemon.stop().await;
    let _ = server.shutdown().await;
}
