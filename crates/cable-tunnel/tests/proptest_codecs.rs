//! Round trips for every encode/decode pair, and decoders fed arbitrary bytes never panic.

use cable_keys::{IdentityKey, LinkSecret, Psk, Secret};
use cable_tunnel::crypter::{pad, unpad};
use cable_tunnel::l2cap::{encode_crlf, CrLfDecoder};
use cable_tunnel::post_handshake::decode_padded;
use cable_tunnel::{
    parse_routing_id_header, respond_linked, respond_qr, ClientPayload, Crypter, Frame,
    HandshakeInitiator, LinkingInfo, PostHandshake, Revision, Role, TunnelPath, UpdateMessage,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        Just(Frame::Shutdown),
        any::<Vec<u8>>().prop_map(Frame::Ctap),
        any::<Vec<u8>>().prop_map(Frame::Update),
        ".*".prop_map(Frame::Json),
    ]
}

fn identity() -> impl Strategy<Value = IdentityKey> {
    any::<[u8; 32]>().prop_filter_map("valid scalar", |b| IdentityKey::from_bytes(&b).ok())
}

fn linking() -> impl Strategy<Value = LinkingInfo> {
    (
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<[u8; 8]>(),
        any::<[u8; 32]>(),
        identity(),
        ".{0,40}",
        any::<[u8; 32]>(),
        any::<bool>(),
    )
        .prop_map(
            |(contact_id, link_id, secret, key, name, signature, play_services)| LinkingInfo {
                contact_id,
                link_id,
                link_secret: LinkSecret::new(secret),
                phone_public_key: key.public_key().uncompressed(),
                name,
                signature,
                play_services,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn frame_round_trip(f in frame()) {
        prop_assert_eq!(Frame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn frame_decoders_never_panic(bytes in any::<Vec<u8>>()) {
        let _ = Frame::decode(&bytes);
        prop_assert!(Frame::decode_for(&bytes, Revision::Zero).is_ok());
    }

    #[test]
    fn pad_round_trip(bytes in any::<Vec<u8>>()) {
        let padded = pad(&bytes).unwrap();
        prop_assert_eq!(padded.len() % 32, 0);
        prop_assert!(padded.len() > bytes.len() && padded.len() <= bytes.len() + 32);
        prop_assert_eq!(unpad(&padded).unwrap(), &bytes[..]);
    }

    #[test]
    fn unpad_never_panics(bytes in any::<Vec<u8>>()) {
        let _ = unpad(&bytes);
    }

    #[test]
    fn crypter_round_trip(messages in proptest::collection::vec(any::<Vec<u8>>(), 1..6), k1 in any::<[u8; 32]>(), k2 in any::<[u8; 32]>()) {
        let mut d = Crypter::new(Role::Desktop, Secret::new(k2), Secret::new(k1));
        let mut p = Crypter::new(Role::Phone, Secret::new(k1), Secret::new(k2));
        for m in &messages {
            let c = d.encrypt(m).unwrap();
            prop_assert_eq!(c.len(), pad(m).unwrap().len() + 16);
            prop_assert_eq!(&p.decrypt(&c).unwrap(), m);
            let c = p.encrypt(m).unwrap();
            prop_assert_eq!(&d.decrypt(&c).unwrap(), m);
        }
    }

    #[test]
    fn crypter_decrypt_never_panics(bytes in any::<Vec<u8>>()) {
        let mut d = Crypter::new(Role::Desktop, Secret::new([1; 32]), Secret::new([2; 32]));
        prop_assert!(d.decrypt(&bytes).is_err());
    }

    #[test]
    fn post_handshake_round_trip(
        get_info in proptest::option::of(any::<Vec<u8>>()),
        link in proptest::option::of(linking()),
        extra in proptest::collection::vec("[a-z]{1,6}", 0..3),
        rev0 in any::<bool>(),
    ) {
        let mut features = extra;
        if get_info.is_some() {
            features.push("ctap".into());
        }
        features.retain(|f| get_info.is_some() || f != "ctap");
        if features.is_empty() {
            features.push("dc".into());
        }
        let msg = PostHandshake { get_info, linking: link, features };
        let revision = if rev0 { Revision::Zero } else { Revision::One };
        let bytes = msg.encode(revision);
        if rev0 {
            prop_assert_eq!(bytes.len() % 512, 0);
        }
        prop_assert_eq!(PostHandshake::decode(&bytes).unwrap(), (msg, revision));
    }

    #[test]
    fn post_handshake_decoders_never_panic(bytes in any::<Vec<u8>>()) {
        let _ = PostHandshake::decode(&bytes);
        let _ = decode_padded(&bytes);
    }

    #[test]
    fn linking_round_trip(info in linking()) {
        prop_assert_eq!(LinkingInfo::decode(&info.encode()).unwrap(), info);
    }

    #[test]
    fn update_round_trip(info in proptest::option::of(linking())) {
        let msg = UpdateMessage { linking: info };
        let frame = Frame::Update(msg.encode()).encode();
        // Chrome-Android's padding: 512 bytes after the Crypter pads, for small linking data.
        prop_assert_eq!(pad(&frame).unwrap().len(), 512);
        let Frame::Update(payload) = Frame::decode(&frame).unwrap() else { unreachable!() };
        prop_assert_eq!(UpdateMessage::decode(&payload).unwrap(), msg);
    }

    #[test]
    fn cbor_decoders_never_panic(bytes in any::<Vec<u8>>()) {
        let _ = UpdateMessage::decode(&bytes);
        let _ = LinkingInfo::decode(&bytes);
        let _ = ClientPayload::decode(&bytes);
    }

    #[test]
    fn client_payload_round_trip(link_id in any::<[u8; 8]>(), nonce in any::<[u8; 16]>(), ga in any::<bool>()) {
        let p = ClientPayload { link_id, client_nonce: nonce, request_type: if ga { "ga" } else { "mc" }.into() };
        prop_assert_eq!(ClientPayload::decode(&p.encode()).unwrap(), p.clone());
        let header = p.header_value();
        prop_assert_eq!(header.to_uppercase(), header.clone());
        prop_assert_eq!(ClientPayload::from_header_value(&header).unwrap(), p);
    }

    #[test]
    fn tunnel_path_round_trip(tunnel_id in any::<[u8; 16]>(), routing_id in any::<[u8; 3]>(), contact_id in proptest::collection::vec(any::<u8>(), 1..300), lower in any::<bool>()) {
        for path in [
            TunnelPath::New { tunnel_id },
            TunnelPath::Connect { routing_id, tunnel_id },
            TunnelPath::Contact { contact_id: contact_id.clone() },
            TunnelPath::Push { contact_id: contact_id.clone() },
        ] {
            let mut text = path.to_path();
            if lower && !matches!(path, TunnelPath::Contact { .. } | TunnelPath::Push { .. }) {
                text = text.to_lowercase();
            }
            prop_assert_eq!(TunnelPath::parse(&text).unwrap(), path);
        }
        let header = cable_tunnel::urls::routing_id_header_value(&routing_id);
        prop_assert_eq!(parse_routing_id_header(&header.to_lowercase()).unwrap(), routing_id);
    }

    #[test]
    fn path_parsers_never_panic(text in ".*") {
        let _ = TunnelPath::parse(&text);
        let _ = parse_routing_id_header(&text);
        let _ = ClientPayload::from_header_value(&text);
    }

    #[test]
    fn crlf_round_trip(messages in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no CR", |b| *b != b'\r'), 0..50), 0..5), split in 1usize..10) {
        let stream: Vec<u8> = messages.iter().flat_map(|m| encode_crlf(m)).collect();
        let mut dec = CrLfDecoder::new();
        let mut got = Vec::new();
        for piece in stream.chunks(split) {
            dec.push(piece);
            while let Some(m) = dec.next_message() {
                got.push(m);
            }
        }
        prop_assert_eq!(got, messages);
        prop_assert!(dec.remaining().is_empty());
    }

    #[test]
    fn handshake_responders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = IdentityKey::generate(&mut rng);
        let psk = Psk::random(&mut rng);
        prop_assert!(respond_qr(&psk, &id.public_key(), &bytes, &mut rng).is_err());
        prop_assert!(respond_linked(&psk, &id, &bytes, &mut rng).is_err());
        let (init, _) = HandshakeInitiator::qr(&psk, &id, &mut rng).unwrap();
        prop_assert!(init.finish(&bytes).is_err());
    }

    #[test]
    fn handshake_with_valid_point_prefix_never_panics(key in identity(), tail in proptest::collection::vec(any::<u8>(), 0..40), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut msg = key.public_key().uncompressed().to_vec();
        msg.extend_from_slice(&tail);
        let id = IdentityKey::generate(&mut rng);
        let psk = Psk::random(&mut rng);
        prop_assert!(respond_qr(&psk, &id.public_key(), &msg, &mut rng).is_err());
        let (init, _) = HandshakeInitiator::linked(&psk, &id.public_key(), &mut rng).unwrap();
        prop_assert!(init.finish(&msg).is_err());
    }
}
