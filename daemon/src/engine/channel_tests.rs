//! DesktopChannel against the phone's side of the same codecs (cable-tunnel's responder and
//! Crypter), message by message.

use super::channel::{ChannelError, ChannelEvent, CtapRoute, DesktopChannel};
use cable_keys::{IdentityKey, Psk, Secret};
use cable_tunnel::{
    handshake_signature, respond_linked, respond_qr, Crypter, Frame, LinkingInfo, PostHandshake,
    Revision, UpdateMessage,
};
use rand_core::OsRng;

struct Phone {
    crypter: Crypter,
    hash: [u8; 32],
}

fn psk() -> Psk {
    Secret::new([7u8; 32])
}

fn start(offer_linking: bool) -> (DesktopChannel, Phone, IdentityKey) {
    let desktop_identity = IdentityKey::generate(&mut OsRng);
    let (mut desktop, msg1) =
        DesktopChannel::start_qr(&psk(), &desktop_identity, offer_linking, &mut OsRng).unwrap();
    let (msg2, result) =
        respond_qr(&psk(), &desktop_identity.public_key(), &msg1, &mut OsRng).unwrap();
    let events = desktop.receive(&msg2).unwrap();
    assert!(matches!(events[..], [ChannelEvent::HandshakeDone]));
    let phone = Phone {
        crypter: result.crypter,
        hash: result.handshake_hash,
    };
    (desktop, phone, desktop_identity)
}

fn post_handshake(phone: &mut Phone, linking: Option<LinkingInfo>) -> Vec<u8> {
    let post = PostHandshake {
        get_info: Some(vec![0xa1, 0x01, 0x81, 0x68]),
        linking,
        features: vec!["ctap".into()],
    };
    phone.crypter.encrypt(&post.encode(Revision::One)).unwrap()
}

fn linking_info(phone_key: &IdentityKey, desktop: &IdentityKey, hash: &[u8; 32]) -> LinkingInfo {
    LinkingInfo {
        contact_id: vec![1, 2, 3],
        link_id: [4; 8],
        link_secret: Secret::new([5; 32]),
        phone_public_key: phone_key.public_key().uncompressed(),
        name: "Pixel".into(),
        signature: handshake_signature(phone_key, &desktop.public_key(), hash),
        play_services: true,
    }
}

#[test]
fn qr_session_relays_one_request_and_answers_get_info_locally() {
    let (mut desktop, mut phone, _) = start(false);
    let ready = desktop.receive(&post_handshake(&mut phone, None)).unwrap();
    assert!(
        matches!(&ready[..], [ChannelEvent::Ready { get_info, .. }] if get_info == &[0xa1, 0x01, 0x81, 0x68])
    );

    let CtapRoute::Local(info) = desktop.ctap_request(&[0x04]).unwrap() else {
        panic!("getInfo must be answered locally");
    };
    assert_eq!(info, [0x00, 0xa1, 0x01, 0x81, 0x68]);

    let CtapRoute::Phone(wire) = desktop.ctap_request(&[0x02, 0xa0]).unwrap() else {
        panic!("getAssertion goes to the phone");
    };
    let seen = Frame::decode(&phone.crypter.decrypt(&wire).unwrap()).unwrap();
    assert_eq!(seen, Frame::Ctap(vec![0x02, 0xa0]));
    assert!(matches!(
        desktop.ctap_request(&[0x01, 0xa0]),
        Err(ChannelError::SecondRequest)
    ));

    let answer = phone
        .crypter
        .encrypt(&Frame::Ctap(vec![0x2e]).encode())
        .unwrap();
    let events = desktop.receive(&answer).unwrap();
    assert!(matches!(&events[..], [ChannelEvent::CtapResponse(r)] if r == &[0x2e]));

    let shutdown = desktop.shutdown().unwrap();
    assert_eq!(
        Frame::decode(&phone.crypter.decrypt(&shutdown).unwrap()).unwrap(),
        Frame::Shutdown
    );
    assert!(desktop.shutdown().is_none(), "shutdown is sent once");
}

#[test]
fn verified_linking_is_reported_and_a_forged_one_is_dropped() {
    let (mut desktop, mut phone, desktop_identity) = start(true);
    desktop.receive(&post_handshake(&mut phone, None)).unwrap();
    let phone_key = IdentityKey::generate(&mut OsRng);

    let good = linking_info(&phone_key, &desktop_identity, &phone.hash);
    let frame = Frame::Update(
        UpdateMessage {
            linking: Some(good),
        }
        .encode(),
    )
    .encode();
    let events = desktop
        .receive(&phone.crypter.encrypt(&frame).unwrap())
        .unwrap();
    assert!(matches!(&events[..], [ChannelEvent::Linked(info)] if info.name == "Pixel"));

    let forged = linking_info(&phone_key, &desktop_identity, &[0u8; 32]);
    let frame = Frame::Update(
        UpdateMessage {
            linking: Some(forged),
        }
        .encode(),
    )
    .encode();
    let events = desktop
        .receive(&phone.crypter.encrypt(&frame).unwrap())
        .unwrap();
    assert!(matches!(&events[..], [ChannelEvent::LinkingRejected(_)]));

    // Garbage in an update is dropped too, and the channel keeps working.
    let frame = Frame::Update(vec![0xff, 0x00]).encode();
    let events = desktop
        .receive(&phone.crypter.encrypt(&frame).unwrap())
        .unwrap();
    assert!(matches!(&events[..], [ChannelEvent::LinkingRejected(_)]));
    assert!(matches!(
        desktop.ctap_request(&[0x02, 0xa0]),
        Ok(CtapRoute::Phone(_))
    ));
}

#[test]
fn linking_is_ignored_when_not_offered() {
    let (mut desktop, mut phone, desktop_identity) = start(false);
    let phone_key = IdentityKey::generate(&mut OsRng);
    let info = linking_info(&phone_key, &desktop_identity, &phone.hash);
    let events = desktop
        .receive(&post_handshake(&mut phone, Some(info)))
        .unwrap();
    assert!(matches!(
        &events[..],
        [ChannelEvent::Ready { .. }, ChannelEvent::LinkingRejected(_)]
    ));
}

#[test]
fn linked_session_expects_the_connect_signal_then_the_handshake() {
    let phone_key = IdentityKey::generate(&mut OsRng);
    let (mut desktop, msg1) =
        DesktopChannel::start_linked(&psk(), &phone_key.public_key(), true, &mut OsRng).unwrap();
    assert!(matches!(
        desktop.receive(&[0x00]).unwrap()[..],
        [ChannelEvent::PhoneJoined]
    ));
    let (msg2, _) = respond_linked(&psk(), &phone_key, &msg1, &mut OsRng).unwrap();
    assert!(matches!(
        desktop.receive(&msg2).unwrap()[..],
        [ChannelEvent::HandshakeDone]
    ));

    let (mut other, _) =
        DesktopChannel::start_linked(&psk(), &phone_key.public_key(), true, &mut OsRng).unwrap();
    assert!(matches!(
        other.receive(&[0x01]),
        Err(ChannelError::BadConnectSignal(1))
    ));
}

#[test]
fn hostile_phone_messages_are_errors_not_panics() {
    let (mut desktop, _phone, _) = start(false);
    assert!(matches!(
        desktop.receive(&[0u8; 48]),
        Err(ChannelError::Protocol(_))
    ));
    assert!(matches!(desktop.receive(b"x"), Err(ChannelError::NotOpen)));

    let (mut desktop, mut phone, _) = start(false);
    let no_ctap = PostHandshake {
        get_info: None,
        linking: None,
        features: vec!["dc".into()],
    };
    let wire = phone
        .crypter
        .encrypt(&no_ctap.encode(Revision::One))
        .unwrap();
    assert!(matches!(
        desktop.receive(&wire),
        Err(ChannelError::NoCtap(_))
    ));
}

#[test]
fn wrong_psk_fails_the_handshake() {
    let identity = IdentityKey::generate(&mut OsRng);
    let (mut desktop, msg1) =
        DesktopChannel::start_qr(&psk(), &identity, false, &mut OsRng).unwrap();
    let other_psk: Psk = Secret::new([8u8; 32]);
    assert!(respond_qr(&other_psk, &identity.public_key(), &msg1, &mut OsRng).is_err());
    assert!(matches!(
        desktop.receive(&[4u8; 81]),
        Err(ChannelError::Handshake(_))
    ));
}

#[test]
fn a_revision_zero_phone_links_in_its_post_handshake_message() {
    let (mut desktop, mut phone, desktop_identity) = start(true);
    let phone_key = IdentityKey::generate(&mut OsRng);
    let info = linking_info(&phone_key, &desktop_identity, &phone.hash);
    let post = PostHandshake {
        get_info: Some(vec![0xa1, 0x01, 0x81, 0x68]),
        linking: Some(info),
        features: vec!["ctap".into()],
    };
    let wire = phone.crypter.encrypt(&post.encode(Revision::Zero)).unwrap();
    let events = desktop.receive(&wire).unwrap();
    assert!(matches!(
        &events[..],
        [ChannelEvent::Ready { revision: Revision::Zero, .. }, ChannelEvent::Linked(l)] if l.name == "Pixel"
    ));
    // Revision 0 carries CTAP without a type byte, and has no shutdown message.
    let CtapRoute::Phone(wire) = desktop.ctap_request(&[0x02, 0xa0]).unwrap() else {
        panic!("getAssertion goes to the phone");
    };
    assert_eq!(phone.crypter.decrypt(&wire).unwrap(), [0x02, 0xa0]);
    assert!(desktop.shutdown().is_none());
}
