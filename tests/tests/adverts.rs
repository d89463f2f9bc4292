//! What reaches the desktop's radio that is not its phone: adverts under a key from another QR
//! secret, adverts for another session of the same engine, foreign UUIDs and garbage.

use cable_ble::{
    decrypt_advert, encrypt_advert, AdvertError, DomainCheck, EidPlaintext, VirtualRadioAdvertiser,
    UUID_FIDO, UUID_GOOGLE,
};
use cable_e2e::requests::{self, random};
use cable_e2e::rig::{fast_timeouts, phone_result, spawn_phone, within, Rig, ADVERT_INTERVAL};
use cable_e2e::verify;
use cable_keys::{EidKey, QrSecret};
use cable_phone::{PhoneProfile, PhoneReport, SessionEnd};
use cable_qr::QrPayload;
use cabled::engine::{EventKind, SessionEvent, Timeouts};
use std::net::SocketAddr;
use std::time::Duration;

/// The desktop gives up on adverts after this long in the tests where no phone matches.
const SHORT_ADVERT: Duration = Duration::from_millis(1500);

fn short_advert() -> Timeouts {
    Timeouts {
        advert: SHORT_ADVERT,
        ..fast_timeouts()
    }
}

/// A well-formed QR-flow advert under an EID key derived from a QR secret nobody showed.
fn advert_from_another_secret() -> (EidKey, EidPlaintext, [u8; 20]) {
    let other_secret = QrSecret::from_slice(&random(16)).expect("16 bytes");
    let key = cable_keys::eid_key(other_secret.expose(), &[]);
    let mut nonce = [0u8; 10];
    nonce.copy_from_slice(&random(10));
    let eid = EidPlaintext {
        nonce,
        routing_id: [0x0a, 0x0b, 0x0c],
        tunnel_domain_id: 0,
    };
    let advert = encrypt_advert(&key, &eid.to_bytes());
    (key, eid, advert)
}

async fn advertise(radio: SocketAddr, uuid: u16, service_data: &[u8]) -> VirtualRadioAdvertiser {
    VirtualRadioAdvertiser::start(radio, uuid, service_data.to_vec(), ADVERT_INTERVAL)
        .await
        .expect("a UDP socket to advertise from")
}

#[tokio::test]
async fn adverts_under_another_qr_secret_are_ignored_until_the_desktop_gives_up() {
    let rig = Rig::with_timeouts(short_advert()).await;
    let (request, _) = requests::create("mallory");
    let mut session = rig.start(request);
    let qr = QrPayload::parse_url(&session.qr().await).expect("the desktop's QR code parses");
    session.wait_for("scanning").await;

    let (wrong_key, eid, advert) = advert_from_another_secret();
    // Well-formed (it opens under its own key) but not for this QR code.
    let opened = decrypt_advert(&wrong_key, &advert, DomainCheck::Qr).expect("a valid advert");
    assert_eq!(opened.eid, eid);
    assert_eq!(
        decrypt_advert(&qr.eid_key(), &advert, DomainCheck::Qr),
        Err(AdvertError::BadTag)
    );
    let advertiser = advertise(rig.radio, UUID_FIDO, &advert).await;

    let outcome = session.outcome().await;
    outcome.assert_failed("no_phone");
    assert!(outcome.elapsed >= SHORT_ADVERT, "{:?}", outcome.elapsed);
    assert!(
        advertiser.sent() > 0,
        "the wrong advert was never sent, so the test proves nothing"
    );
    assert!(!outcome.names().contains(&"advert"));
    assert!(
        !rig.engine.is_scanning().await,
        "the radio still scans after the session gave up"
    );
    advertiser.stop().await;
}

#[tokio::test]
async fn a_phone_that_scanned_a_code_with_another_secret_never_reaches_the_desktop() {
    let rig = Rig::with_timeouts(short_advert()).await;
    let (request, _) = requests::create("mallory");
    let mut session = rig.start(request);
    let mut qr = QrPayload::parse_url(&session.qr().await).expect("the desktop's QR code parses");
    // Same desktop key, another secret: the phone derives another EID key and tunnel ID.
    qr.secret = QrSecret::from_slice(&random(16)).expect("16 bytes");
    let phone = spawn_phone(
        rig.phone(&qr.to_url())
            .with_timeouts(cable_phone::Timeouts {
                handshake: SHORT_ADVERT * 2,
                ..cable_phone::Timeouts::all(SHORT_ADVERT * 4)
            }),
    );

    let outcome = session.outcome().await;
    outcome.assert_failed("no_phone");
    // The phone advertised into the void and gave up waiting for the handshake.
    let error = phone_result(phone)
        .await
        .expect_err("nobody answers the phone");
    assert_eq!(error.code(), "desktop_never_connected", "{error}");
}

#[tokio::test]
async fn a_phone_after_wrong_adverts_still_gets_through() {
    let rig = Rig::new().await;
    let (request, expected) = requests::create("trent");
    let mut session = rig.start(request);
    let qr = session.qr().await;
    session.wait_for("scanning").await;
    let (_, _, advert) = advert_from_another_secret();
    let wrong = advertise(rig.radio, UUID_FIDO, &advert).await;

    let phone = spawn_phone(rig.phone(&qr));
    let outcome = session.outcome().await;
    let report = phone_result(phone).await.expect("the phone succeeds");
    verify::registration(outcome.credential(), &expected);
    assert!(wrong.sent() > 0);
    // The session connected to the real phone's tunnel, not the wrong advert's.
    assert_eq!(advert_routing_id(&outcome.events), report.routing_id);
    wrong.stop().await;
}

#[tokio::test]
async fn two_sessions_on_one_engine_each_get_their_own_phone_despite_radio_noise() {
    let rig = Rig::new().await;
    let (request_a, expected_a) = requests::create("carol");
    let (request_b, expected_b) = requests::create("dave");
    let mut a = rig.start(request_a);
    let mut b = rig.start(request_b);
    let qr_a = a.qr().await;
    let qr_b = b.qr().await;
    a.wait_for("scanning").await;
    b.wait_for("scanning").await;

    // Noise for the whole ceremony: a foreign UUID carrying advert-sized data, hybrid UUIDs
    // carrying garbage of several lengths, a bare UUID, a datagram too short for a UUID, and a
    // well-formed advert for a QR code nobody showed.
    let mut noise = vec![
        advertise(rig.radio, 0x1234, &random(20)).await,
        advertise(rig.radio, UUID_FIDO, &random(20)).await,
        advertise(rig.radio, UUID_GOOGLE, &random(26)).await,
        advertise(rig.radio, UUID_FIDO, &random(7)).await,
        advertise(rig.radio, UUID_FIDO, &[]).await,
        advertise(rig.radio, UUID_FIDO, &advert_from_another_secret().2).await,
    ];
    let runt = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a UDP socket");
    runt.send_to(&[0x42], rig.radio)
        .await
        .expect("a one-byte datagram");

    // The phones start in the other order than the sessions; B plays an iPhone.
    let phone_b = spawn_phone(rig.phone(&qr_b).with_profile(PhoneProfile::Ios));
    let phone_a = spawn_phone(rig.phone(&qr_a));
    let (outcome_a, outcome_b) = within("both sessions end", async {
        tokio::join!(a.outcome(), b.outcome())
    })
    .await;
    let report_a = phone_result(phone_a).await.expect("phone A succeeds");
    let report_b = phone_result(phone_b).await.expect("phone B succeeds");

    // Each credential answers its own session's challenge, from its own phone.
    let passkey_a = verify::registration(outcome_a.credential(), &expected_a);
    let passkey_b = verify::registration(outcome_b.credential(), &expected_b);
    check_phone(&report_a, &passkey_a, &outcome_a.events);
    check_phone(&report_b, &passkey_b, &outcome_b.events);
    assert_ne!(report_a.routing_id, report_b.routing_id);
    assert!(noise.iter().all(|n| n.sent() > 0));
    for n in noise.drain(..) {
        n.stop().await;
    }
}

fn check_phone(report: &PhoneReport, passkey: &verify::Passkey, events: &[SessionEvent]) {
    let made = report.credential().expect("the phone made a passkey");
    assert_eq!(made.credential_id, requests::b64(&passkey.credential_id));
    assert_eq!(advert_routing_id(events), report.routing_id);
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
}

/// The routing ID of the advert the session accepted, upper-case hex as phone reports print it.
fn advert_routing_id(events: &[SessionEvent]) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Advert { routing_id, .. } => Some(routing_id.to_uppercase()),
            _ => None,
        })
        .expect("the session accepted an advert")
}
