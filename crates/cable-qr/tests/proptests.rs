//! Round trips of every encoder/decoder pair, and no panics on arbitrary input.

use cable_qr::{digits, QrHandshake, QrPayload, RequestType};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn request_type() -> impl Strategy<Value = RequestType> {
    prop::sample::select(RequestType::ALL.to_vec())
}

proptest! {
    #[test]
    fn digits_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let d = digits::encode(&bytes);
        prop_assert_eq!(d.len(), digits::encoded_len(bytes.len()));
        prop_assert!(d.bytes().all(|c| c.is_ascii_digit()));
        prop_assert_eq!(digits::decode(&d).unwrap(), bytes);
    }

    #[test]
    fn digit_decoding_never_panics(s in "\\PC{0,80}") {
        let _ = digits::decode(&s);
    }

    #[test]
    fn digit_strings_decode_iff_canonical(s in "[0-9]{0,60}") {
        // Whatever decodes must encode back to the same digits: one encoding per byte string.
        if let Ok(bytes) = digits::decode(&s) {
            prop_assert_eq!(digits::encode(&bytes), s);
        }
    }

    #[test]
    fn url_parsing_never_panics(s in "\\PC{0,80}", d in "(?i:fido:/)[0-9]{0,200}") {
        let _ = QrPayload::parse_url(&s);
        let _ = QrPayload::parse_url(&d);
    }

    #[test]
    fn cbor_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = QrPayload::from_cbor(&bytes);
    }

    #[test]
    fn generated_handshakes_round_trip(
        seed in any::<u64>(),
        rt in request_type(),
        linking in any::<bool>(),
        now in any::<u64>(),
        ble in any::<bool>(),
    ) {
        let hs = QrHandshake::generate(&mut StdRng::seed_from_u64(seed), rt, linking, now)
            .with_ble_data_channel(ble);
        let p = hs.payload();
        prop_assert_eq!(&QrPayload::from_cbor(&p.to_cbor()).unwrap(), p);
        let phone = QrPayload::parse_url(&hs.url()).unwrap();
        prop_assert_eq!(&phone, p);
        prop_assert_eq!(&phone.public_key, &hs.identity().public_key());
        prop_assert_eq!(phone.request_type(), rt);
        prop_assert_eq!(phone.eid_key(), p.eid_key());
        prop_assert_eq!(phone.tunnel_id(), p.tunnel_id());
    }

    #[test]
    fn any_payload_round_trips(
        seed in any::<u64>(),
        known_domains in any::<u64>(),
        timestamp in any::<Option<u64>>(),
        supports_linking in any::<Option<bool>>(),
        hint in proptest::option::of("\\PC{0,12}"),
        ble in any::<bool>(),
    ) {
        let base = QrHandshake::generate(&mut StdRng::seed_from_u64(seed), RequestType::GetAssertion, false, 0);
        let p = QrPayload {
            known_domains,
            timestamp,
            supports_linking,
            request_type: hint,
            ble_data_channel: ble,
            ..base.payload().clone()
        };
        prop_assert_eq!(&QrPayload::from_cbor(&p.to_cbor()).unwrap(), &p);
        prop_assert_eq!(&QrPayload::parse_url(&p.to_url()).unwrap(), &p);
    }
}
