//! The sans-IO phone session against the desktop side built from the same codecs.

mod common;

use cable_ctap::attestation_object::AttestationObject;
use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::command::split_response;
use cable_ctap::{
    verify_assertion, verify_packed_self_attestation, CborMessage, Command, CredentialStore,
    CtapStatus, GetAssertionResponse, GetInfoResponse, MakeCredentialResponse,
};
use cable_keys::IdentityKey;
use cable_phone::{
    LinkIdentity, Outgoing, PhoneBehavior, PhoneChannel, PhoneError, PhoneEvent, PhoneProfile,
    SessionEnd, Stage, UserChoice,
};
use cable_qr::RequestType;
use cable_tunnel::{Construction, Frame, HandshakeInitiator, UpdateMessage};
use common::*;

fn phone(desktop: &Desktop, profile: PhoneProfile, behavior: PhoneBehavior) -> PhoneChannel {
    PhoneChannel::qr(&desktop.qr, &eid([1, 2, 3], 0), profile, behavior)
        .with_rng(rng(desktop.seed + 1000))
}

/// Handshake plus the messages every session starts with; returns the desktop channel.
fn established(desktop: &mut Desktop, phone: &mut PhoneChannel) -> DesktopChannel {
    let (mut channel, rest) = connect(desktop, phone, &eid([1, 2, 3], 0));
    let post = channel.post_handshake(&rest[0]);
    assert!(post.supports_ctap());
    let expected_updates = usize::from(phone.profile().sends_update());
    assert_eq!(rest.len(), 1 + expected_updates);
    if expected_updates == 1 {
        assert!(matches!(channel.frame(&rest[1]), Frame::Update(_)));
    }
    channel
}

/// Sends `command` and returns the phone's `status || CBOR` answer and whether it closed.
fn transact(
    channel: &mut DesktopChannel,
    phone: &mut PhoneChannel,
    command: &Command,
) -> (Option<Vec<u8>>, bool) {
    let (sent, closed) = split(phone.on_message(&channel.request(command)).unwrap());
    assert!(sent.len() <= 1, "one answer at most");
    (sent.first().map(|wire| channel.ctap(wire)), closed)
}

fn shutdown(channel: &mut DesktopChannel, phone: &mut PhoneChannel) {
    let out = phone.on_message(&channel.seal(&Frame::Shutdown)).unwrap();
    assert_eq!(out, vec![Outgoing::Close]);
    assert_eq!(phone.end(), Some(&SessionEnd::DesktopShutdown));
}

fn status(response: &[u8]) -> CtapStatus {
    split_response(response).unwrap().0
}

#[test]
fn register_then_sign_in_across_two_sessions_sharing_one_store() {
    // Session 1: makeCredential.
    let mut desktop = Desktop::new(1, RequestType::MakeCredential, false);
    let mut phone1 = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut phone1);
    let request = make_credential("alice", true);
    let (response, closed) = transact(
        &mut channel,
        &mut phone1,
        &Command::MakeCredential(request.clone()),
    );
    assert!(!closed);
    let response = response.unwrap();
    assert_eq!(status(&response), CtapStatus::Ok);
    let made: MakeCredentialResponse = body(&response);
    assert_eq!(made.fmt, "packed");
    let attestation = AttestationObject::from_response(&made).to_cbor();
    let auth_data =
        verify_packed_self_attestation(&attestation, &request.client_data_hash).unwrap();
    assert_eq!(auth_data.rp_id_hash, AuthenticatorData::rp_id_hash(RP_ID));
    assert!(auth_data.flags.user_present() && auth_data.flags.user_verified());
    let attested = auth_data.attested_credential.unwrap();
    assert_eq!(
        attested.aaguid(),
        &[0u8; 16],
        "Play services reports a zero AAGUID"
    );
    let credential_id = attested.credential_id().to_vec();
    let public_key = attested.credential_public_key_bytes().to_vec();
    assert!(phone1.store_changed());
    let events = phone1.take_events();
    let created = events.iter().find_map(|e| match e {
        PhoneEvent::CredentialCreated(c) => Some(c.clone()),
        _ => None,
    });
    let created = created.expect("a CredentialCreated event");
    assert_eq!(
        created.credential_id,
        cable_ctap::Base64Url::encode(&credential_id)
    );
    assert_eq!(created.user_name.as_deref(), Some("alice@example.com"));
    assert!(created.discoverable);
    assert!(events.contains(&PhoneEvent::UserPrompted {
        prompt: "create a passkey for alice@example.com on example.com".into(),
        approved: true
    }));
    shutdown(&mut channel, &mut phone1);
    let store = phone1.into_store();
    assert_eq!(store.len(), 1);

    // The store survives its JSON form, as the runner keeps it on disk.
    let store = CredentialStore::from_json(&store.to_json()).unwrap();

    // Session 2: a new QR code, a discoverable getAssertion.
    let mut desktop = Desktop::new(2, RequestType::GetAssertion, false);
    let mut phone2 =
        phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve()).with_store(store);
    let mut channel = established(&mut desktop, &mut phone2);
    let request = get_assertion(&[]);
    let (response, _) = transact(
        &mut channel,
        &mut phone2,
        &Command::GetAssertion(request.clone()),
    );
    let response = response.unwrap();
    assert_eq!(status(&response), CtapStatus::Ok);
    let asserted: GetAssertionResponse = body(&response);
    assert_eq!(asserted.credential.as_ref().unwrap().id, credential_id);
    assert_eq!(asserted.user.as_ref().unwrap().id, b"alice");
    verify_assertion(
        &asserted.auth_data,
        &request.client_data_hash,
        &asserted.signature,
        &public_key,
    )
    .unwrap();
    assert_eq!(
        AuthenticatorData::parse(&asserted.auth_data)
            .unwrap()
            .sign_count,
        1
    );
    let used = phone2.take_events().into_iter().find_map(|e| match e {
        PhoneEvent::CredentialUsed(c) => Some(c),
        _ => None,
    });
    assert_eq!(used.unwrap().sign_count, 1);
    shutdown(&mut channel, &mut phone2);
    assert_eq!(phone2.store().iter().next().unwrap().sign_count, 1);
}

#[test]
fn several_accounts_are_picked_on_the_phone_not_paged_by_get_next_assertion() {
    let mut store = None;
    for (seed, user) in [(10, "alice"), (11, "bob")] {
        let mut desktop = Desktop::new(seed, RequestType::MakeCredential, false);
        let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve())
            .with_store(store.take().unwrap_or_default());
        let mut channel = established(&mut desktop, &mut p);
        let (r, _) = transact(
            &mut channel,
            &mut p,
            &Command::MakeCredential(make_credential(user, true)),
        );
        assert_eq!(status(&r.unwrap()), CtapStatus::Ok);
        store = Some(p.into_store());
    }
    let mut desktop = Desktop::new(12, RequestType::GetAssertion, false);
    let mut p =
        phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve()).with_store(store.unwrap());
    let mut channel = established(&mut desktop, &mut p);
    let (r, _) = transact(
        &mut channel,
        &mut p,
        &Command::GetAssertion(get_assertion(&[])),
    );
    let asserted: GetAssertionResponse = body(&r.unwrap());
    assert_eq!(asserted.user_selected, Some(true));
    assert_eq!(asserted.number_of_credentials, None);
    // The most recent account comes first.
    assert_eq!(asserted.user.unwrap().id, b"bob");
}

#[test]
fn post_handshake_carries_the_profiles_get_info_and_ctap_feature() {
    for profile in PhoneProfile::ALL {
        let mut desktop = Desktop::new(3, RequestType::GetAssertion, true);
        let mut p = phone(&desktop, profile, PhoneBehavior::approve());
        let (mut channel, rest) = connect(&mut desktop, &mut p, &eid([1, 2, 3], 0));
        let post = channel.post_handshake(&rest[0]);
        assert_eq!(post.features, vec!["ctap".to_string()]);
        assert_eq!(post.linking, None);
        let info = GetInfoResponse::from_cbor(post.get_info.as_ref().unwrap()).unwrap();
        assert_eq!(info, profile.ctap_profile().get_info());
        // Phones have no PIN protocol and always verify the user.
        assert!(info.pin_uv_auth_protocols.is_empty());
        assert_eq!(info.option("uv"), Some(true));
        assert_eq!(p.handshake_hash(), Some(channel.handshake_hash));
        // Phones send the new transport construction only.
        assert_eq!(channel.crypter.construction(), Construction::New);
    }
}

#[test]
fn android_sends_a_padded_update_without_linking_and_ios_none() {
    // Android, QR offering linking, no linking identity: an update with no linking data, 528
    // bytes on the wire, as Chrome-Android sends it.
    let mut desktop = Desktop::new(4, RequestType::MakeCredential, true);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let (mut channel, rest) = connect(&mut desktop, &mut p, &eid([1, 2, 3], 0));
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1].len(), 528);
    channel.post_handshake(&rest[0]);
    let Frame::Update(payload) = channel.frame(&rest[1]) else {
        panic!("second message must be an update")
    };
    assert_eq!(UpdateMessage::decode(&payload).unwrap().linking, None);
    assert!(p
        .take_events()
        .contains(&PhoneEvent::UpdateSent { linking: false }));

    // iOS: the post-handshake message only; the next message is the CTAP answer.
    let mut desktop = Desktop::new(5, RequestType::MakeCredential, true);
    let mut p = phone(&desktop, PhoneProfile::Ios, PhoneBehavior::approve());
    let (mut channel, rest) = connect(&mut desktop, &mut p, &eid([1, 2, 3], 0));
    assert_eq!(rest.len(), 1);
    channel.post_handshake(&rest[0]);
    let (r, _) = transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("ann", true)),
    );
    let made: MakeCredentialResponse = body(&r.unwrap());
    let auth = AuthenticatorData::parse(&made.auth_data).unwrap();
    assert_eq!(
        auth.attested_credential.unwrap().aaguid(),
        &cable_ctap::authenticator::IOS_AAGUID
    );
    assert!(!p
        .take_events()
        .iter()
        .any(|e| matches!(e, PhoneEvent::UpdateSent { .. })));
}

#[test]
fn linking_data_is_sent_only_when_offered_and_verifies_on_the_desktop() {
    for offered in [true, false] {
        let mut desktop = Desktop::new(6, RequestType::MakeCredential, offered);
        let identity = LinkIdentity::generate(&mut rng(7), b"contact-1".to_vec(), "Test phone");
        let phone_public = identity.identity().public_key();
        // Derivations are pure: a twin built from the same seed computes the same secrets.
        let twin = LinkIdentity::generate(&mut rng(7), b"contact-1".to_vec(), "Test phone");
        let mut p =
            phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve()).with_linking(identity);
        let (mut channel, rest) = connect(&mut desktop, &mut p, &eid([1, 2, 3], 0));
        channel.post_handshake(&rest[0]);
        let Frame::Update(payload) = channel.frame(&rest[1]) else {
            panic!("expected an update")
        };
        assert_eq!(rest[1].len(), 528, "padded to 512 either way");
        let update = UpdateMessage::decode(&payload).unwrap();
        if !offered {
            assert_eq!(update.linking, None);
            continue;
        }
        let linking = update.linking.expect("linking data");
        assert!(linking.verify(&desktop.identity, &channel.handshake_hash));
        assert!(!linking.verify(&desktop.identity, &[0u8; 32]));
        assert_eq!(linking.phone_public().unwrap(), phone_public);
        assert_eq!(linking.contact_id, b"contact-1");
        assert_eq!(linking.name, "Test phone");
        assert_eq!(linking.link_secret, twin.link_secret(&linking.link_id));
    }
}

#[test]
fn ios_never_links_even_with_an_identity() {
    let mut desktop = Desktop::new(8, RequestType::MakeCredential, true);
    let identity = LinkIdentity::generate(&mut rng(7), b"c".to_vec(), "iPhone");
    let mut p = phone(&desktop, PhoneProfile::Ios, PhoneBehavior::approve()).with_linking(identity);
    let (_, rest) = connect(&mut desktop, &mut p, &eid([1, 2, 3], 0));
    assert_eq!(rest.len(), 1, "post-handshake only");
}

#[test]
fn get_info_is_answered_and_the_operation_still_allowed() {
    let mut desktop = Desktop::new(9, RequestType::MakeCredential, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    for _ in 0..2 {
        let (r, closed) = transact(&mut channel, &mut p, &Command::GetInfo);
        assert!(!closed);
        let info: GetInfoResponse = body(&r.unwrap());
        assert_eq!(info, PhoneProfile::Android.ctap_profile().get_info());
    }
    let (r, _) = transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("x", false)),
    );
    assert_eq!(status(&r.unwrap()), CtapStatus::Ok);
    assert!(!p.store().iter().next().unwrap().discoverable);
}

#[test]
fn a_second_operation_is_refused_and_the_session_waits_for_shutdown() {
    let mut desktop = Desktop::new(10, RequestType::MakeCredential, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    let (r, _) = transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("a", true)),
    );
    assert_eq!(status(&r.unwrap()), CtapStatus::Ok);
    for command in [
        Command::MakeCredential(make_credential("b", true)),
        Command::GetAssertion(get_assertion(&[])),
    ] {
        let (r, closed) = transact(&mut channel, &mut p, &command);
        assert!(!closed);
        assert_eq!(r.unwrap(), vec![CtapStatus::NotAllowed.code()]);
    }
    assert_eq!(p.store().len(), 1, "the refused request created nothing");
    assert!(p
        .take_events()
        .iter()
        .any(|e| matches!(e, PhoneEvent::RequestRefused { .. })));
    shutdown(&mut channel, &mut p);
}

#[test]
fn shutdown_before_any_request_ends_the_session() {
    let mut desktop = Desktop::new(11, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Ios, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    shutdown(&mut channel, &mut p);
    assert!(p.is_ended());
    assert!(matches!(
        p.on_message(&[0; 48]),
        Err(PhoneError::SessionEnded)
    ));
    // A close after the end changes nothing.
    p.on_close().unwrap();
    assert_eq!(p.end(), Some(&SessionEnd::DesktopShutdown));
}

#[test]
fn android_answers_a_cancel_with_operation_denied_then_waits() {
    let mut desktop = Desktop::new(12, RequestType::MakeCredential, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::deny());
    let mut channel = established(&mut desktop, &mut p);
    let (r, closed) = transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("a", true)),
    );
    assert!(!closed);
    assert_eq!(r.unwrap(), vec![0x27]);
    assert!(p.store().is_empty());
    assert!(!p.store_changed());
    assert!(p.take_events().iter().any(|e| matches!(
        e,
        PhoneEvent::UserPrompted {
            approved: false,
            ..
        }
    )));
    shutdown(&mut channel, &mut p);
}

#[test]
fn ios_cancel_and_no_answer_close_the_tunnel_without_a_reply() {
    let cases = [
        (PhoneProfile::Ios, UserChoice::Deny),
        (PhoneProfile::Ios, UserChoice::NoAnswer),
        (PhoneProfile::Android, UserChoice::NoAnswer),
    ];
    for (profile, user) in cases {
        let mut desktop = Desktop::new(13, RequestType::MakeCredential, false);
        let behavior = PhoneBehavior::approve().with_user(user);
        let mut p = phone(&desktop, profile, behavior);
        let mut channel = established(&mut desktop, &mut p);
        let (r, closed) = transact(
            &mut channel,
            &mut p,
            &Command::MakeCredential(make_credential("a", true)),
        );
        assert_eq!((r, closed), (None, true), "{profile} {user:?}");
        assert_eq!(p.end(), Some(&SessionEnd::Cancelled));
        assert!(p.store().is_empty());
    }
}

#[test]
fn errors_found_before_the_prompt_are_answered_even_when_the_person_would_cancel() {
    // No passkey for the site: the phone answers NO_CREDENTIALS without asking anyone.
    let mut desktop = Desktop::new(14, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Ios, PhoneBehavior::deny());
    let mut channel = established(&mut desktop, &mut p);
    let (r, closed) = transact(
        &mut channel,
        &mut p,
        &Command::GetAssertion(get_assertion(&[b"nope"])),
    );
    assert!(!closed);
    assert_eq!(status(&r.unwrap()), CtapStatus::NoCredentials);
}

#[test]
fn vanishing_at_each_stage() {
    let stages = [
        (Stage::HandshakeReceived, 0),
        (Stage::HandshakeSent, 1),
        (Stage::PostHandshakeSent, 3),
        (Stage::RequestReceived, 0),
        (Stage::ResponseSent, 1),
    ];
    for (stage, expected_sends) in stages {
        let mut desktop = Desktop::new(15, RequestType::MakeCredential, false);
        let behavior = PhoneBehavior::approve().vanishing_after(stage);
        let mut p = phone(&desktop, PhoneProfile::Android, behavior);
        let e = eid([1, 2, 3], 0);
        let (initiator, message1) = desktop.start(&e);
        let (sent, closed) = split(p.on_message(&message1).unwrap());
        let (sent, closed) = match stage {
            Stage::RequestReceived | Stage::ResponseSent => {
                assert!(!closed);
                assert_eq!(sent.len(), 3);
                let mut channel = DesktopChannel::finish(initiator, &sent[0]);
                channel.post_handshake(&sent[1]);
                channel.frame(&sent[2]);
                let request = channel.request(&Command::MakeCredential(make_credential("a", true)));
                split(p.on_message(&request).unwrap())
            }
            _ => (sent, closed),
        };
        assert!(closed, "{stage:?}");
        assert_eq!(sent.len(), expected_sends, "{stage:?}");
        assert_eq!(p.end(), Some(&SessionEnd::Vanished { after: stage }));
        assert_eq!(p.store().len(), usize::from(stage == Stage::ResponseSent));
    }
}

#[test]
fn selection_ends_the_session_and_unknown_commands_are_errors() {
    let mut desktop = Desktop::new(16, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    let (r, closed) = transact(&mut channel, &mut p, &Command::Selection);
    assert_eq!((r, closed), (None, true));
    assert_eq!(p.end(), Some(&SessionEnd::SelectionReceived));

    for bad in [vec![0x08], vec![0x42, 0xa0], vec![0x06]] {
        let mut desktop = Desktop::new(17, RequestType::GetAssertion, false);
        let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
        let mut channel = established(&mut desktop, &mut p);
        let wire = channel.seal(&Frame::Ctap(bad.clone()));
        let err = p.on_message(&wire).unwrap_err();
        assert!(
            matches!(err, PhoneError::UnsupportedCommand(c) if c == bad[0]),
            "{err}"
        );
        assert!(matches!(p.end(), Some(SessionEnd::Failed { .. })));
    }
}

#[test]
fn malformed_requests_and_messages_end_the_session_with_a_reason() {
    let cases: Vec<(Frame, &str)> = vec![
        (Frame::Ctap(vec![]), "invalid_request"),
        (Frame::Ctap(vec![0x04, 0xa0]), "invalid_request"),
        (Frame::Ctap(vec![0x0b, 0x00]), "invalid_request"),
        (Frame::Ctap(vec![0x01, 0xa0]), "invalid_request"),
        (Frame::Ctap(vec![0x02, 0xff]), "invalid_request"),
        (Frame::Json("{}".into()), "unsupported_message"),
        (Frame::Update(vec![0xff]), "invalid_update"),
    ];
    for (frame, code) in cases {
        let mut desktop = Desktop::new(18, RequestType::GetAssertion, false);
        let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
        let mut channel = established(&mut desktop, &mut p);
        let err = p.on_message(&channel.seal(&frame)).unwrap_err();
        assert_eq!(err.code(), code, "{frame:?}: {err}");
        assert!(p.is_ended());
    }
}

#[test]
fn desktop_updates_are_ignored() {
    let mut desktop = Desktop::new(19, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    let update = channel.seal(&Frame::Update(vec![0xa0]));
    assert_eq!(p.on_message(&update).unwrap(), vec![]);
    assert!(p.take_events().contains(&PhoneEvent::DesktopUpdateIgnored));
    let (r, _) = transact(&mut channel, &mut p, &Command::GetInfo);
    assert_eq!(status(&r.unwrap()), CtapStatus::Ok);
}

#[test]
fn closing_early_is_an_error_closing_after_the_answer_is_not() {
    let mut desktop = Desktop::new(20, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    assert_eq!(p.on_close().unwrap_err().code(), "desktop_closed");

    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let _channel = established(&mut desktop, &mut p);
    let err = p.on_close().unwrap_err();
    assert!(
        err.to_string().contains("before sending a request"),
        "{err}"
    );

    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("a", true)),
    );
    p.on_close().unwrap();
    assert_eq!(p.end(), Some(&SessionEnd::DesktopClosed));
}

#[test]
fn a_wrong_psk_or_tampered_message_fails_cleanly() {
    // The desktop derived its PSK from a different advert.
    let mut desktop = Desktop::new(21, RequestType::GetAssertion, false);
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let (_, message1) = desktop.start(&eid([9, 9, 9], 0));
    let err = p.on_message(&message1).unwrap_err();
    assert_eq!(err.code(), "handshake_failed");
    assert!(err.to_string().contains("PSK"), "{err}");
    assert!(p.is_ended());

    // A short or garbage message 1.
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    assert_eq!(
        p.on_message(&[4; 10]).unwrap_err().code(),
        "handshake_failed"
    );

    // A transport message altered in flight.
    let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let mut channel = established(&mut desktop, &mut p);
    let mut wire = channel.request(&Command::GetInfo);
    wire[3] ^= 1;
    assert_eq!(p.on_message(&wire).unwrap_err().code(), "channel");
}

#[test]
fn linked_flow_answers_nkpsk0_with_the_identity_key_and_sends_no_update() {
    let identity = IdentityKey::generate(&mut rng(30));
    let link_secret = cable_keys::LinkSecret::new([5; 32]);
    let advertised = cable_phone::advert::linked_eid(&mut rng(31));
    let mut p = PhoneChannel::linked(
        &link_secret,
        &advertised,
        identity.clone(),
        PhoneProfile::Android,
        PhoneBehavior::approve(),
    )
    .with_rng(rng(32));

    let psk = cable_keys::psk(link_secret.expose(), &advertised.to_bytes());
    let (initiator, message1) =
        HandshakeInitiator::linked(&psk, &identity.public_key(), &mut rng(33)).unwrap();
    let (sent, closed) = split(p.on_message(&message1).unwrap());
    assert!(!closed);
    assert_eq!(
        sent.len(),
        2,
        "message 2 and post-handshake; no update in the linked flow"
    );
    let mut channel = DesktopChannel::finish(initiator, &sent[0]);
    assert!(channel.post_handshake(&sent[1]).supports_ctap());
    let (r, _) = transact(
        &mut channel,
        &mut p,
        &Command::MakeCredential(make_credential("l", true)),
    );
    assert_eq!(status(&r.unwrap()), CtapStatus::Ok);

    // A desktop holding a different phone key cannot complete the handshake.
    let mut p = PhoneChannel::linked(
        &link_secret,
        &advertised,
        identity,
        PhoneProfile::Android,
        PhoneBehavior::approve(),
    );
    let stranger = IdentityKey::generate(&mut rng(34)).public_key();
    let (_, message1) = HandshakeInitiator::linked(&psk, &stranger, &mut rng(35)).unwrap();
    assert_eq!(
        p.on_message(&message1).unwrap_err().code(),
        "handshake_failed"
    );
}

#[test]
fn the_channel_is_deterministic_under_a_seeded_rng() {
    let run = || {
        let mut desktop = Desktop::new(40, RequestType::MakeCredential, false);
        let mut p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
        let mut channel = established(&mut desktop, &mut p);
        let (r, _) = transact(
            &mut channel,
            &mut p,
            &Command::MakeCredential(make_credential("d", true)),
        );
        let made: MakeCredentialResponse = body(&r.unwrap());
        AuthenticatorData::parse(&made.auth_data)
            .unwrap()
            .attested_credential
            .unwrap()
            .credential_id()
            .to_vec()
    };
    assert_eq!(run(), run());
}

#[test]
fn debug_output_holds_no_secrets() {
    let desktop = Desktop::new(41, RequestType::MakeCredential, false);
    let p = phone(&desktop, PhoneProfile::Android, PhoneBehavior::approve());
    let text = format!("{p:?}");
    let secret_hex: String = desktop
        .qr
        .secret
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!text.contains(&secret_hex));
    assert!(text.contains("awaiting handshake"), "{text}");
    let identity = LinkIdentity::generate(&mut rng(1), vec![1], "n");
    assert!(format!("{identity:?}").contains("[redacted]"));
}
