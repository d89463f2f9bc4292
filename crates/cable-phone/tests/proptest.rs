//! Property tests: the phone never panics on what the tunnel delivers, everything it sends
//! decodes on the desktop, and the passkey file round-trips.

mod common;

use cable_ctap::{Authenticator, Command, CredentialStore, Profile};
use cable_phone::store_file::{load_store, save_store};
use cable_phone::{Outgoing, PhoneBehavior, PhoneChannel, PhoneProfile, UserChoice};
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
