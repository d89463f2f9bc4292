//! The software phone against the real desktop state machine (cable-hybrid's `Desktop`), in
//! one process on virtual time. (`channel.rs` plays a hostile desktop with the raw codecs on
//! purpose: it sends what no correct desktop would.)

mod common;

use std::time::{Duration, Instant};

use cable_ctap::attestation_object::AttestationObject;
use cable_ctap::command::split_response;
use cable_ctap::{
    verify_assertion, verify_packed_self_attestation, CborMessage, Command, CtapStatus,
    GetAssertionResponse, MakeCredentialResponse,
};
use cable_hybrid::pair::Pair;
use cable_hybrid::{Advert, Desktop, DesktopEvent, Error, Phase, Sent, Timeouts};
use cable_phone::{
    LinkIdentity, PhoneBehavior, PhoneChannel, PhoneEvent, PhoneProfile, SessionEnd, Stage,
};
use cable_qr::{QrHandshake, RequestType};
use common::*;

fn advert_of(eid: &cable_ble::EidPlaintext) -> Advert {
    Advert {
        plaintext: eid.to_bytes(),
        routing_id: eid.routing_id,
        tunnel_domain_id: eid.tunnel_domain_id,
    }
}

/// A desktop showing a QR code and a software phone that scanned it, both ready to run.
fn pair(
    seed: u64,
    linking: bool,
    profile: PhoneProfile,
    behavior: PhoneBehavior,
    configure: impl FnOnce(PhoneChannel) -> PhoneChannel,
) -> Pair<PhoneChannel> {
    let now = Instant::now();
    let mut r = rng(seed);
    let qr = QrHandshake::generate(&mut r, RequestType::MakeCredential, linking, 1_700_000_000);
    let payload = qr.payload().clone();
    let desktop = Desktop::qr(now, qr, Timeouts::default(), &mut r);
    let eid = eid([1, 2, 3], 0);
    let phone =
        configure(PhoneChannel::qr(&payload, &eid, profile, behavior).with_rng(rng(seed + 1)));
    let mut pair = Pair::new(now, desktop, phone);
    pair.advertise(advert_of(&eid));
    pair.run();
    pair
}

fn answer(pair: &mut Pair<PhoneChannel>, command: &Command) -> Vec<u8> {
    assert_eq!(
        pair.desktop
            .send_request(pair.now, &command.encode())
            .unwrap(),
        Sent::Phone
    );
    pair.run();
    pair.desktop_events
        .iter()
        .find_map(|e| match e {
            DesktopEvent::CtapResponse(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the phone answered")
}

fn desktop_end(pair: &Pair<PhoneChannel>) -> Option<&Result<(), Error>> {
    pair.desktop_events.iter().find_map(|e| match e {
        DesktopEvent::Closed(outcome) => Some(outcome),
        _ => None,
    })
}

#[test]
fn a_registration_and_a_sign_in_with_the_real_desktop_machine() {
    let mut first = pair(
        1,
        false,
        PhoneProfile::Android,
        PhoneBehavior::approve(),
        |p| p,
    );
    assert!(first
        .desktop_events
        .iter()
        .any(|e| matches!(e, DesktopEvent::Ready { .. })));
    let request = make_credential("alice", true);
    let response = answer(&mut first, &Command::MakeCredential(request.clone()));
    assert_eq!(split_response(&response).unwrap().0, CtapStatus::Ok);
    let made: MakeCredentialResponse = body(&response);
    let attestation = AttestationObject::from_response(&made).to_cbor();
    let auth_data =
        verify_packed_self_attestation(&attestation, &request.client_data_hash).unwrap();
    let credential = auth_data.attested_credential.unwrap();
    first.desktop.finish(first.now);
    first.run();
    assert_eq!(desktop_end(&first), Some(&Ok(())));
    assert_eq!(first.phone.end(), Some(&SessionEnd::DesktopShutdown));
    let store = first.phone.store().clone();

    let mut second = pair(
        2,
        false,
        PhoneProfile::Android,
        PhoneBehavior::approve(),
        |p| p.with_store(store),
    );
    let request = get_assertion(&[credential.credential_id()]);
    let response = answer(&mut second, &Command::GetAssertion(request.clone()));
    let asserted: GetAssertionResponse = body(&response);
    verify_assertion(
        &asserted.auth_data,
        &request.client_data_hash,
        &asserted.signature,
        credential.credential_public_key_bytes(),
    )
    .unwrap();
}

#[test]
fn a_person_who_cancels_is_heard_the_way_each_phone_says_it() {
    // Android answers "operation denied" and waits; iOS closes the tunnel.
    let mut android = pair(
        3,
        false,
        PhoneProfile::Android,
        PhoneBehavior::deny(),
        |p| p,
    );
    let response = answer(
        &mut android,
        &Command::MakeCredential(make_credential("bob", true)),
    );
    assert_eq!(
        split_response(&response).unwrap().0,
        CtapStatus::OperationDenied
    );

    let mut ios = pair(4, false, PhoneProfile::Ios, PhoneBehavior::deny(), |p| p);
    ios.desktop
        .send_request(
            ios.now,
            &Command::MakeCredential(make_credential("bob", true)).encode(),
        )
        .unwrap();
    ios.run();
    assert_eq!(
        desktop_end(&ios),
        Some(&Err(Error::Disconnected { phase: Phase::Ctap }))
    );
    assert_eq!(ios.phone.end(), Some(&SessionEnd::Cancelled));
}

#[test]
fn a_phone_that_vanishes_leaves_the_desktop_a_named_phase() {
    let cases = [
        (Stage::HandshakeReceived, Phase::Handshake),
        (Stage::HandshakeSent, Phase::PostHandshake),
        (Stage::PostHandshakeSent, Phase::Ready),
        (Stage::RequestReceived, Phase::Ctap),
    ];
    for (stage, phase) in cases {
        let behavior = PhoneBehavior::approve().vanishing_after(stage);
        let mut pair = pair(5, false, PhoneProfile::Android, behavior, |p| p);
        if phase == Phase::Ctap {
            let request = Command::MakeCredential(make_credential("carol", true));
            pair.desktop
                .send_request(pair.now, &request.encode())
                .unwrap();
            pair.run();
        }
        assert_eq!(
            desktop_end(&pair),
            Some(&Err(Error::Disconnected { phase })),
            "vanished after {stage:?}"
        );
        assert_eq!(
            pair.phone.end(),
            Some(&SessionEnd::Vanished { after: stage })
        );
    }
}

#[test]
fn an_answer_lost_on_the_way_times_out_in_the_ctap_phase() {
    let mut pair = pair(
        6,
        false,
        PhoneProfile::Android,
        PhoneBehavior::approve(),
        |p| p,
    );
    // The phone answers and keeps the tunnel open; the network loses the answer.
    pair.set_hook(|direction, _| match direction {
        cable_hybrid::pair::Direction::ToDesktop => cable_hybrid::pair::Fate::Drop,
        _ => cable_hybrid::pair::Fate::Deliver,
    });
    let request = Command::MakeCredential(make_credential("dan", true));
    pair.desktop
        .send_request(pair.now, &request.encode())
        .unwrap();
    pair.advance(Duration::from_secs(200));
    assert_eq!(
        desktop_end(&pair),
        Some(&Err(Error::Timeout {
            phase: Phase::Ctap,
            after: Duration::from_secs(120)
        }))
    );
}

#[test]
fn linking_offered_by_the_qr_code_is_verified_by_the_desktop_machine() {
    let identity = LinkIdentity::generate_random(&mut rng(7), "pair phone");
    let pair = pair(
        8,
        true,
        PhoneProfile::Android,
        PhoneBehavior::approve(),
        |p| p.with_linking(identity),
    );
    let linked = pair.desktop_events.iter().find_map(|e| match e {
        DesktopEvent::Linked(info) => Some(info.link_id),
        _ => None,
    });
    assert_eq!(linked, pair.phone.linking_sent());
    assert!(linked.is_some());
    assert!(pair
        .phone_events
        .contains(&PhoneEvent::UpdateSent { linking: true }));
}
