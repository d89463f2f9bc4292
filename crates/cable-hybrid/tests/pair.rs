//! Desktop and phone state machines against each other on virtual time, through every
//! network fault the harness can make.

mod support;

use std::time::Duration;

use cable_hybrid::pair::{Direction, Fate};
use cable_hybrid::{
    DesktopEvent, Endpoint, Error, LinkRejected, Phase, PhoneEnd, PhoneEvent, RequestError, Sent,
    Transmit, Violation,
};
use cable_keys::IdentityKey;
use cable_tunnel::{Frame, PostHandshake, Revision};
use support::*;

const OK_ANSWER: &[u8] = &[0x00, 0xa0];

#[test]
fn qr_session_relays_one_request_answers_get_info_locally_and_shuts_down() {
    let mut pair = qr_pair(1, false, false);
    assert_eq!(pair.desktop.phase(), Phase::Advert);
    pair.advertise(advert());
    pair.run();
    assert!(is_ready(&pair.desktop_events), "{:?}", pair.desktop_events);
    assert_eq!(pair.desktop.phase(), Phase::Ready);
    assert!(matches!(
        pair.desktop_events[0],
        DesktopEvent::OpenTunnel(ref open) if open.domain_id == 0
    ));

    // getInfo never reaches the phone.
    let sent_before = pair.sent_to_phone.len();
    let Sent::Local(info) = pair.desktop.send_request(pair.now, &[0x04]).unwrap() else {
        panic!("getInfo must be answered locally");
    };
    assert_eq!(info[0], 0);
    assert_eq!(&info[1..], phone_config(false).get_info.as_slice());
    pair.run();
    assert_eq!(pair.sent_to_phone.len(), sent_before);

    let request = get_assertion();
    assert!(pair.desktop.accepts_request(&request));
    assert_eq!(
        pair.desktop.send_request(pair.now, &request).unwrap(),
        Sent::Phone
    );
    assert_eq!(pair.desktop.phase(), Phase::Ctap);
    assert_eq!(
        pair.desktop.send_request(pair.now, &request),
        Err(RequestError::SecondRequest)
    );
    pair.run();
    assert_eq!(pair.phone.phase(), Phase::Ctap);
    answer_requests(&mut pair, OK_ANSWER);
    assert!(pair
        .desktop_events
        .contains(&DesktopEvent::CtapResponse(OK_ANSWER.to_vec())));
    assert!(
        !pair.desktop.accepts_request(&request),
        "one operation per session"
    );
    assert!(pair.desktop.accepts_request(&[0x04]));

    pair.desktop.finish(pair.now);
    pair.run();
    assert_eq!(closed(&pair.desktop_events), Some(&Ok(())));
    assert_eq!(
        phone_closed(&pair.phone_events),
        Some(&Ok(PhoneEnd::DesktopShutdown))
    );
    assert!(pair.desktop.is_closed() && pair.phone.is_closed());
}

#[test]
fn verified_linking_is_reported_and_a_forged_one_is_dropped() {
    for forge in [false, true] {
        let identity = IdentityKey::generate(&mut rng(77));
        let mut pair = qr_pair_with(2, true, true, Some(Links { identity, forge }), None);
        pair.advertise(advert());
        pair.run();
        let linked = pair
            .desktop_events
            .iter()
            .any(|e| matches!(e, DesktopEvent::Linked(info) if info.name == "test phone"));
        let rejected = pair
            .desktop_events
            .contains(&DesktopEvent::LinkRejected(LinkRejected::BadSignature));
        assert_eq!((linked, rejected), (!forge, forge), "forge = {forge}");
        assert!(is_ready(&pair.desktop_events), "the session goes on");
    }
}

#[test]
fn linking_is_ignored_when_not_offered() {
    let identity = IdentityKey::generate(&mut rng(78));
    // The phone offers linking data although the QR code did not ask: a misbehaving phone.
    let links = Links {
        identity,
        forge: false,
    };
    let mut pair = qr_pair_with(4, false, true, Some(links), Some(true));
    pair.advertise(advert());
    pair.run();
    assert!(pair
        .desktop_events
        .contains(&DesktopEvent::LinkRejected(LinkRejected::NotOffered)));
    assert!(!pair
        .desktop_events
        .iter()
        .any(|e| matches!(e, DesktopEvent::Linked(_))));
}

#[test]
fn without_linking_data_the_desktop_waits_linking_wait_then_closes_cleanly() {
    // A QR code that offers linking, a phone that sends no update (iOS): the desktop waits
    // linking_wait after the answer, then closes cleanly.
    let mut pair = requested(8, true, false);
    answer_requests(&mut pair, OK_ANSWER);
    let start = pair.now;
    pair.desktop.finish(pair.now);
    pair.run();
    assert_eq!(pair.desktop.phase(), Phase::AwaitingLink);
    assert!(pair
        .desktop_events
        .iter()
        .any(|e| matches!(e, DesktopEvent::AwaitingLink { .. })));
    pair.advance(Duration::from_secs(10));
    assert_eq!(closed(&pair.desktop_events), Some(&Ok(())));
    let waited = pair.now - start;
    assert!(waited >= Duration::from_secs(5), "waited {waited:?}");
}

#[test]
fn linked_session_expects_the_connect_signal_then_the_handshake() {
    let identity = IdentityKey::generate(&mut rng(9));
    let mut pair = linked_pair(10, &identity, [3; 32]);
    // The contact request is made at once, before any advert.
    assert!(matches!(
        pair.desktop.poll_event(),
        Some(DesktopEvent::OpenTunnel(ref open)) if open.domain_id == 1
    ));
    pair.desktop.handle_tunnel_open(pair.now, true);
    pair.desktop.handle_message(pair.now, &[0]);
    assert_eq!(pair.desktop.poll_event(), Some(DesktopEvent::PhoneJoined));
    pair.advertise(advert());
    pair.run();
    assert!(is_ready(&pair.desktop_events), "{:?}", pair.desktop_events);
    assert!(pair.desktop_events.contains(&DesktopEvent::HandshakeDone {
        protocol: "Noise_NKpsk0_P256_AESGCM_SHA256"
    }));
}

#[test]
fn a_bad_connect_signal_fails_the_linked_session() {
    let identity = IdentityKey::generate(&mut rng(11));
    let mut pair = linked_pair(12, &identity, [3; 32]);
    pair.advertise(advert());
    // The server never sends 00; the phone's message 2 (65-byte point + 16-byte tag) comes
    // first.
    pair.run();
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Violation(Violation::BadConnectSignal(81))))
    );
}

#[test]
fn wrong_psk_fails_the_handshake_on_both_sides() {
    let mut pair = qr_pair(13, false, false);
    let mut other = advert();
    other.plaintext[5] ^= 1;
    pair.advertise(other);
    pair.run();
    assert!(matches!(
        phone_closed(&pair.phone_events),
        Some(Err(Error::Handshake(_)))
    ));
    // The phone closes; the desktop learns the tunnel closed during the handshake.
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Disconnected {
            phase: Phase::Handshake
        }))
    );
}

#[test]
fn a_dropped_handshake_answer_times_out_in_the_handshake_phase() {
    let mut pair = qr_pair(14, false, false);
    pair.set_hook(|direction, _| match direction {
        Direction::ToDesktop => Fate::Drop,
        Direction::ToPhone => Fate::Deliver,
    });
    pair.advertise(advert());
    pair.advance(Duration::from_secs(60));
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Timeout {
            phase: Phase::Handshake,
            after: Duration::from_secs(15)
        }))
    );
}

#[test]
fn delays_within_the_limits_succeed_and_beyond_them_time_out() {
    for (delay, ok) in [
        (Duration::from_secs(10), true),
        (Duration::from_secs(20), false),
    ] {
        let mut pair = qr_pair(15, false, false);
        pair.set_hook(move |direction, _| match direction {
            Direction::ToDesktop => Fate::Delay(delay),
            Direction::ToPhone => Fate::Deliver,
        });
        pair.advertise(advert());
        pair.advance(Duration::from_secs(60));
        assert_eq!(is_ready(&pair.desktop_events), ok, "delay {delay:?}");
    }
}

#[test]
fn reordered_messages_fail_to_decrypt_and_close_both_sides() {
    let mut pair = qr_pair(16, false, true);
    let mut seen = 0;
    // Hold the post-handshake message so the update overtakes it.
    pair.set_hook(move |direction, _| {
        if direction == Direction::ToDesktop {
            seen += 1;
            if seen == 2 {
                return Fate::Hold;
            }
        }
        Fate::Deliver
    });
    pair.advertise(advert());
    pair.run();
    pair.release_held();
    pair.run();
    assert!(matches!(
        closed(&pair.desktop_events),
        Some(Err(Error::Protocol(_)))
    ));
    assert!(!is_ready(&pair.desktop_events));
}

#[test]
fn a_corrupted_request_ends_the_phone_session_without_a_reply() {
    let mut pair = qr_pair(17, false, false);
    pair.advertise(advert());
    pair.run();
    pair.set_hook(|direction, bytes| {
        if direction == Direction::ToPhone {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x40;
        }
        Fate::Deliver
    });
    pair.desktop
        .send_request(pair.now, &get_assertion())
        .unwrap();
    pair.run();
    assert!(matches!(
        phone_closed(&pair.phone_events),
        Some(Err(Error::Protocol(_)))
    ));
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Disconnected { phase: Phase::Ctap }))
    );
}

#[test]
fn cancel_reaches_the_phone_as_shutdown_in_every_open_phase() {
    // Before the answer, and while the phone's person decides.
    for answer_first in [false, true] {
        let mut pair = requested(18, false, false);
        if answer_first {
            answer_requests(&mut pair, OK_ANSWER);
        }
        pair.desktop.cancel();
        pair.run();
        assert_eq!(closed(&pair.desktop_events), Some(&Err(Error::Cancelled)));
        assert_eq!(
            phone_closed(&pair.phone_events),
            Some(&Ok(PhoneEnd::DesktopShutdown))
        );
    }
}

#[test]
fn no_advert_times_out_in_the_advert_phase_and_a_slow_tunnel_in_its_own() {
    let mut pair = qr_pair(19, false, false);
    pair.advance(Duration::from_secs(200));
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Timeout {
            phase: Phase::Advert,
            after: Duration::from_secs(120)
        }))
    );

    let mut pair = qr_pair(20, false, false);
    pair.auto_open_tunnel = false;
    pair.advertise(advert());
    pair.advance(Duration::from_secs(60));
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Timeout {
            phase: Phase::TunnelConnect,
            after: Duration::from_secs(15)
        }))
    );
    // A closed session sends nothing but the close.
    assert_eq!(pair.desktop.poll_transmit(), None);
}

#[test]
fn phone_shutdown_and_unexpected_frames_end_the_desktop_session() {
    let mut pair = qr_pair(21, false, false);
    pair.advertise(advert());
    pair.run();
    // The phone closes the tunnel before answering: the desktop names the phase.
    pair.phone.close();
    pair.run();
    assert_eq!(
        closed(&pair.desktop_events),
        Some(&Err(Error::Disconnected {
            phase: Phase::Ready
        }))
    );
}

#[test]
fn a_second_operation_is_refused_by_the_phone_with_not_allowed() {
    // Our desktop never sends a second operation, so play one that does with the raw codecs.
    let now = std::time::Instant::now();
    let keys = || {
        (
            cable_keys::Secret::new([1; 32]),
            cable_keys::Secret::new([2; 32]),
        )
    };
    let (k1, k2) = keys();
    let mut desktop = cable_tunnel::Crypter::new(cable_tunnel::Role::Desktop, k2, k1);
    let (k1, k2) = keys();
    let crypter = cable_tunnel::Crypter::new(cable_tunnel::Role::Phone, k1, k2);
    let identity = IdentityKey::generate(&mut rng(22));
    let mut phone = cable_hybrid::Phone::open_for_fuzzing(
        now,
        crypter,
        identity.public_key(),
        phone_config(false),
        identity.clone(),
    );
    let request = desktop
        .encrypt(&Frame::Ctap(get_assertion()).encode())
        .unwrap();
    phone.handle_message(now, &request);
    assert!(matches!(
        drain(&mut phone)[..],
        [PhoneEvent::Request { .. }]
    ));
    phone.respond(now, OK_ANSWER.to_vec()).unwrap();
    let again = desktop
        .encrypt(&Frame::Ctap(get_assertion()).encode())
        .unwrap();
    phone.handle_message(now, &again);
    assert_eq!(
        drain(&mut phone),
        vec![PhoneEvent::RequestRefused {
            command: cable_ctap::CommandCode::GetAssertion
        }]
    );
    let answers: Vec<_> = std::iter::from_fn(|| phone.poll_transmit())
        .map(|t| match t {
            Transmit::Message(wire) => desktop.decrypt(&wire).unwrap(),
            Transmit::Close => panic!("the phone waits for shutdown"),
        })
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(
        Frame::decode(&answers[1]).unwrap(),
        Frame::Ctap(vec![cable_ctap::CtapStatus::NotAllowed.code()])
    );
    assert!(!phone.is_closed());
}

#[test]
fn hostile_phone_messages_are_errors_not_panics() {
    let hostile: [&[u8]; 6] = [&[], &[0], &[1, 2, 3], &[0xff; 65], &[4; 200], &[0; 1 << 16]];
    for message in hostile {
        let mut pair = qr_pair(23, false, false);
        pair.advertise(advert());
        while pair.desktop.poll_transmit().is_some() {}
        pair.desktop.handle_message(pair.now, message);
        assert!(pair.desktop.is_closed(), "{} bytes", message.len());
        let events = drain(&mut pair.desktop);
        assert!(matches!(events.last(), Some(DesktopEvent::Closed(Err(_)))));
    }
}

#[test]
fn a_revision_zero_phone_is_understood() {
    // Drive the desktop by hand with a phone that answers in revision 0 (bare CBOR post-
    // handshake message, bare CTAP frames, no shutdown).
    let mut pair = qr_pair(24, false, false);
    let phone_config = phone_config(false);
    pair.desktop.handle_advert(pair.now, advert());
    pair.desktop.handle_tunnel_open(pair.now, false);
    let Some(Transmit::Message(message1)) = pair.desktop.poll_transmit() else {
        panic!("message 1");
    };
    let qr = cable_qr::QrHandshake::generate(
        &mut rng(24),
        cable_qr::RequestType::MakeCredential,
        false,
        1_700_000_000,
    );
    let psk = qr.payload().psk(&advert().plaintext);
    let (message2, mut result) =
        cable_tunnel::respond_qr(&psk, &qr.payload().public_key, &message1, &mut rng(99)).unwrap();
    pair.desktop.handle_message(pair.now, &message2);
    let post = PostHandshake {
        get_info: Some(phone_config.get_info.clone()),
        linking: None,
        features: vec!["ctap".into()],
    }
    .encode(Revision::Zero);
    let wire = result.crypter.encrypt(&post).unwrap();
    pair.desktop.handle_message(pair.now, &wire);
    let events = drain(&mut pair.desktop);
    assert!(events.iter().any(|e| matches!(
        e,
        DesktopEvent::Ready {
            revision: Revision::Zero,
            ..
        }
    )));
    pair.desktop
        .send_request(pair.now, &get_assertion())
        .unwrap();
    let Some(Transmit::Message(request)) = pair.desktop.poll_transmit() else {
        panic!("request");
    };
    let plaintext = result.crypter.decrypt(&request).unwrap();
    assert_eq!(
        Frame::decode_for(&plaintext, Revision::Zero).unwrap(),
        Frame::Ctap(get_assertion())
    );
    // Revision 0 has no shutdown message: cancel only closes.
    pair.desktop.cancel();
    assert_eq!(pair.desktop.poll_transmit(), Some(Transmit::Close));
}

#[test]
fn the_transcript_is_deterministic_under_seeded_randomness() {
    let transcript = |seed| {
        let mut pair = qr_pair(seed, true, true);
        pair.advertise(advert());
        pair.run();
        (pair.sent_to_phone.clone(), pair.sent_to_desktop.clone())
    };
    assert_eq!(transcript(30), transcript(30));
    assert_ne!(transcript(30), transcript(31));
}
