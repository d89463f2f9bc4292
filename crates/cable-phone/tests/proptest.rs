//! Property tests: the phone never panics on what the tunnel or the push stand-in delivers,
//! everything it sends decodes on the desktop, and the state file round-trips.

mod common;

use cable_ctap::{Authenticator, Command, CredentialStore, Profile};
use cable_phone::store_file::{encode_state, load_state, load_store, parse_state, save_store};
use cable_phone::wakeup::WakeUp;
use cable_phone::{
    LinkIdentity, LinkState, Outgoing, PhoneBehavior, PhoneChannel, PhoneProfile, PhoneState,
    UserChoice,
};
use cable_qr::RequestType;
use cable_tunnel::Frame;
use common::*;
use proptest::prelude::*;

fn frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Anything at all.
        proptest::collection::vec(any::<u8>(), 0..200),
        // A CTAP frame with a known command byte and random parameters.
        (
            prop::sample::select(vec![0x01u8, 0x02, 0x04, 0x08, 0x0b]),
            proptest::collection::vec(any::<u8>(), 0..120)
        )
            .prop_map(|(cmd, rest)| [vec![1, cmd], rest].concat()),
        // Shutdown and update frames with random payloads.
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|p| [vec![0], p].concat()),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|p| [vec![2], p].concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_message_1_is_rejected_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let desktop = Desktop::new(1, RequestType::GetAssertion, false);
        let mut phone = PhoneChannel::qr(&desktop.qr, &eid([1, 2, 3], 0), PhoneProfile::Android, PhoneBehavior::approve());
        prop_assert!(phone.on_message(&bytes).is_err());
        prop_assert!(phone.is_ended());
    }

    #[test]
    fn any_encrypted_frame_gets_a_decodable_answer_or_a_clean_end(
        plaintexts in proptest::collection::vec(frame(), 1..4),
        user in prop::sample::select(vec![UserChoice::Approve, UserChoice::Deny, UserChoice::NoAnswer]),
        ios in any::<bool>(),
    ) {
        let profile = if ios { PhoneProfile::Ios } else { PhoneProfile::Android };
        let mut desktop = Desktop::new(2, RequestType::GetAssertion, false);
        let mut phone = PhoneChannel::qr(&desktop.qr, &eid([1, 2, 3], 0), profile, PhoneBehavior::approve().with_user(user))
            .with_rng(rng(3));
        let (mut channel, rest) = connect(&mut desktop, &mut phone, &eid([1, 2, 3], 0));
        for wire in &rest {
            channel.crypter.decrypt(wire).unwrap();
        }
        for plaintext in plaintexts {
            if phone.is_ended() {
                break;
            }
            let wire = channel.crypter.encrypt(&plaintext).unwrap();
            let Ok(out) = phone.on_message(&wire) else {
                prop_assert!(phone.is_ended());
                break;
            };
            for o in out {
                if let Outgoing::Send(bytes) = o {
                    // Only CTAP answers flow after the handshake.
                    let frame = channel.frame(&bytes);
                    prop_assert!(matches!(frame, Frame::Ctap(ref b) if !b.is_empty()));
                }
            }
        }
    }

    #[test]
    fn the_passkey_file_round_trips(users in proptest::collection::vec("[a-z]{1,12}", 0..4)) {
        let mut authenticator = Authenticator::new(Profile::Android, CredentialStore::new());
        let mut r = rng(4);
        for user in &users {
            let request = Command::MakeCredential(make_credential(user, true)).encode();
            let response = authenticator.handle(&request, &mut r, &cable_ctap::AlwaysApprove);
            prop_assert_eq!(response.first(), Some(&0u8));
        }
        let store = authenticator.into_store();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passkeys.json");
        save_store(&path, &store).unwrap();
        let loaded = load_store(&path).unwrap();
        prop_assert_eq!(&*loaded.to_json(), &*store.to_json());
        // Saving again replaces the file in place.
        save_store(&path, &loaded).unwrap();
        prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_state_file_round_trips_and_saving_passkeys_keeps_the_linking_identity(
        users in proptest::collection::vec("[a-z]{1,12}", 0..3),
        contact_id in proptest::collection::vec(any::<u8>(), 1..64),
        name in "\\PC{0,24}",
        play_services in any::<bool>(),
        links in proptest::collection::btree_map(any::<[u8; 8]>(), (any::<u64>(), any::<Option<u64>>()), 0..4),
        seed in any::<u64>(),
    ) {
        let mut authenticator = Authenticator::new(Profile::Android, CredentialStore::new());
        let mut r = rng(seed);
        for user in &users {
            let request = Command::MakeCredential(make_credential(user, true)).encode();
            authenticator.handle(&request, &mut r, &cable_ctap::AlwaysApprove);
        }
        let identity = LinkIdentity::generate(&mut r, contact_id, name).as_play_services(play_services);
        let mut linking = LinkState { identity, links: Vec::new() };
        for (link_id, (created, last_used)) in &links {
            linking.record(*link_id, *created);
            if let Some(used) = last_used {
                linking.mark_used(link_id, *used);
            }
        }
        let state = PhoneState { passkeys: authenticator.into_store(), linking: Some(linking) };
        let text = encode_state(&state);
        let back = parse_state(&text).unwrap();
        prop_assert_eq!(&*encode_state(&back), &*text);
        let (a, b) = (state.linking.as_ref().unwrap(), back.linking.as_ref().unwrap());
        prop_assert_eq!(&a.links, &b.links);
        prop_assert_eq!(a.identity.link_secret(&[7; 8]), b.identity.link_secret(&[7; 8]));

        // The passkey-only API leaves the linking section alone.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.json");
        cable_phone::store_file::save_state(&path, &state).unwrap();
        save_store(&path, &CredentialStore::new()).unwrap();
        let reloaded = load_state(&path).unwrap();
        prop_assert!(reloaded.passkeys.is_empty());
        prop_assert_eq!(&reloaded.linking.unwrap().links, &a.links);
    }

    #[test]
    fn wake_ups_round_trip_and_decode_the_servers_push_messages(
        tunnel_id in any::<[u8; 16]>(),
        routing_id in any::<[u8; 3]>(),
        client_payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let wake_up = WakeUp { tunnel_id, routing_id, client_payload: client_payload.clone() };
        prop_assert_eq!(WakeUp::from_push_message(&wake_up.to_push_message()).unwrap(), wake_up.clone());
        let sent_by_server = cable_tunnel_server::PushMessage { tunnel_id, routing_id, client_payload }.encode();
        prop_assert_eq!(&sent_by_server, &wake_up.to_push_message());
        prop_assert_eq!(WakeUp::from_push_message(&sent_by_server).unwrap(), wake_up);
    }

    #[test]
    fn push_messages_and_state_files_never_panic(text in ".{0,300}") {
        let _ = WakeUp::from_push_message(&text);
        let _ = parse_state(&text);
    }

    #[test]
    fn client_payloads_of_any_shape_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let wake_up = WakeUp { tunnel_id: [0; 16], routing_id: [0; 3], client_payload: bytes };
        let mut r = rng(5);
        let linking = PhoneState::default().ensure_linking(&mut r, "p").0.clone();
        let _ = cable_phone::wakeup::answer_wake_up(
            &linking, CredentialStore::new(), &wake_up, PhoneBehavior::approve(), &mut r);
    }
}

#[test]
fn debug_output_of_the_state_holds_no_secrets() {
    let mut r = rng(6);
    let mut state = PhoneState::default();
    state.ensure_linking(&mut r, "p").0.record([1; 8], 1);
    let text = encode_state(&state);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let debug = format!("{state:?}");
    for secret in ["identity_key", "root_secret"] {
        let value = json["linking"][secret].as_str().unwrap();
        let bytes = cable_ctap::Base64Url::decode(value).unwrap();
        assert!(!debug.contains(value), "{secret} leaked");
        assert!(!debug.contains(&hex::encode(&bytes)), "{secret} leaked");
    }
    assert!(debug.contains("[redacted]"), "{debug}");
}

#[test]
fn a_missing_store_file_is_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = load_store(&dir.path().join("absent.json")).unwrap();
    assert!(store.is_empty());
    let err = save_store(&dir.path().join("no/such/dir/x.json"), &store).unwrap_err();
    assert_eq!(err.code(), "store");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
