//! Desktop and phone run against each other: both handshakes, the channel in both directions
//! (including the legacy fallback), post-handshake, update and linking signature.

use cable_keys::{IdentityKey, LinkSecret, Psk};
use cable_tunnel::{
    respond_linked, respond_qr, Construction, Error, Frame, HandshakeInitiator, HandshakeResult,
    LinkingInfo, PostHandshake, Revision, UpdateMessage,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn qr_session(rng: &mut StdRng, desktop_id: &IdentityKey) -> (HandshakeResult, HandshakeResult) {
    let psk = Psk::random(rng);
    let (init, m1) = HandshakeInitiator::qr(&psk, desktop_id, rng).unwrap();
    assert_eq!(m1.len(), 81);
    let (m2, phone) = respond_qr(&psk, &desktop_id.public_key(), &m1, rng).unwrap();
    assert_eq!(m2.len(), 81);
    let desktop = init.finish(&m2).unwrap();
    (desktop, phone)
}

#[test]
fn qr_handshake_agrees() {
    let mut r = rng(1);
    let id = IdentityKey::generate(&mut r);
    let (d, p) = qr_session(&mut r, &id);
    assert_eq!(d.handshake_hash, p.handshake_hash);
    assert!(d.crypter.is_counterpart_of(&p.crypter));
    // Fresh ephemerals each time: a second session has other keys.
    let (d2, _) = qr_session(&mut r, &id);
    assert_ne!(d.handshake_hash, d2.handshake_hash);
    assert!(!format!("{d:?}").contains(&hex::encode(d.crypter.keys_for_testing().0)));
}

#[test]
fn linked_handshake_agrees() {
    let mut r = rng(2);
    let phone_id = IdentityKey::generate(&mut r);
    let psk = Psk::random(&mut r);
    let (init, m1) = HandshakeInitiator::linked(&psk, &phone_id.public_key(), &mut r).unwrap();
    let (m2, p) = respond_linked(&psk, &phone_id, &m1, &mut r).unwrap();
    let d = init.finish(&m2).unwrap();
    assert_eq!(d.handshake_hash, p.handshake_hash);
    assert!(d.crypter.is_counterpart_of(&p.crypter));
}

#[test]
fn wrong_psk_or_static_key_fails_clearly() {
    let mut r = rng(3);
    let desktop_id = IdentityKey::generate(&mut r);
    let other = IdentityKey::generate(&mut r);
    let psk = Psk::random(&mut r);
    let wrong_psk = Psk::random(&mut r);

    // QR: the phone holds another PSK, or another desktop key from a different QR code.
    let (_, m1) = HandshakeInitiator::qr(&psk, &desktop_id, &mut r).unwrap();
    let err = respond_qr(&wrong_psk, &desktop_id.public_key(), &m1, &mut r).unwrap_err();
    assert_eq!(err, Error::HandshakeAuthFailed);
    assert!(err.to_string().contains("PSK"));
    assert_eq!(
        respond_qr(&psk, &other.public_key(), &m1, &mut r).unwrap_err(),
        Error::HandshakeAuthFailed
    );

    // Linked: the desktop's stored phone key is not the phone's.
    let (_, m1) = HandshakeInitiator::linked(&psk, &other.public_key(), &mut r).unwrap();
    assert_eq!(
        respond_linked(&psk, &desktop_id, &m1, &mut r).unwrap_err(),
        Error::HandshakeAuthFailed
    );
    let (_, m1) = HandshakeInitiator::linked(&psk, &desktop_id.public_key(), &mut r).unwrap();
    assert_eq!(
        respond_linked(&wrong_psk, &desktop_id, &m1, &mut r).unwrap_err(),
        Error::HandshakeAuthFailed
    );
}

#[test]
fn malformed_handshake_messages() {
    let mut r = rng(4);
    let id = IdentityKey::generate(&mut r);
    let psk = Psk::random(&mut r);
    let (_, m1) = HandshakeInitiator::qr(&psk, &id, &mut r).unwrap();
    let (m2, _) = respond_qr(&psk, &id.public_key(), &m1, &mut r).unwrap();

    let fresh = |r: &mut StdRng| HandshakeInitiator::qr(&psk, &id, r).unwrap().0;
    assert!(matches!(
        fresh(&mut r).finish(&m2[..80]),
        Err(Error::HandshakeLength { got: 80, .. })
    ));
    assert!(matches!(
        fresh(&mut r).finish(&[m2.clone(), vec![0]].concat()),
        Err(Error::HandshakeLength { got: 82, .. })
    ));
    let mut bad_point = m2.clone();
    bad_point[1] ^= 1;
    assert_eq!(
        fresh(&mut r).finish(&bad_point).unwrap_err(),
        Error::HandshakePointInvalid
    );
    let mut compressed_tag = m2.clone();
    compressed_tag[0] = 2;
    assert_eq!(
        fresh(&mut r).finish(&compressed_tag).unwrap_err(),
        Error::HandshakePointInvalid
    );
    // Message 2 answers another message 1 (other ephemeral), so it does not authenticate.
    assert_eq!(
        fresh(&mut r).finish(&m2).unwrap_err(),
        Error::HandshakeAuthFailed
    );

    assert!(matches!(
        respond_qr(&psk, &id.public_key(), &m1[..64], &mut r),
        Err(Error::HandshakeLength { got: 64, .. })
    ));
    assert_eq!(
        respond_qr(&psk, &id.public_key(), &m1[..65], &mut r).unwrap_err(),
        Error::HandshakeAuthFailed
    );
    let mut tampered = m1.clone();
    tampered[80] ^= 1;
    assert_eq!(
        respond_qr(&psk, &id.public_key(), &tampered, &mut r).unwrap_err(),
        Error::HandshakeAuthFailed
    );
    let mut off_curve = m1.clone();
    off_curve[64] ^= 1;
    assert_eq!(
        respond_qr(&psk, &id.public_key(), &off_curve, &mut r).unwrap_err(),
        Error::HandshakePointInvalid
    );
}

#[test]
fn non_empty_handshake_payload_is_rejected() {
    // A peer built on plain snow that puts a payload in message 1.
    let mut r = rng(5);
    let id = IdentityKey::generate(&mut r);
    let psk = Psk::random(&mut r);
    let local = id.to_bytes();
    let mut state = snow::Builder::new("Noise_KNpsk0_P256_AESGCM_SHA256".parse().unwrap())
        .prologue(&[1])
        .unwrap()
        .psk(0, psk.expose())
        .unwrap()
        .local_private_key(local.expose())
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut m1 = vec![0u8; 100];
    let n = state.write_message(b"hi", &mut m1).unwrap();
    m1.truncate(n);
    assert_eq!(
        respond_qr(&psk, &id.public_key(), &m1, &mut r).unwrap_err(),
        Error::HandshakePayloadNotEmpty(2)
    );
}

/// The whole QR session after the handshake, as §7.3 orders it.
#[test]
fn session_with_linking_both_directions() {
    let mut r = rng(6);
    let desktop_id = IdentityKey::generate(&mut r);
    let phone_id = IdentityKey::generate(&mut r);
    for legacy_phone in [false, true] {
        let (mut d, mut p) = qr_session(&mut r, &desktop_id);
        if legacy_phone {
            p.crypter = p.crypter.with_construction(Construction::Legacy);
        }

        // Phone: post-handshake message, then an update with linking data.
        let post = PostHandshake {
            get_info: Some(vec![0xa1, 0x01, 0x81, 0x68]),
            linking: None,
            features: vec!["ctap".into()],
        };
        let wire = p.crypter.encrypt(&post.encode(Revision::One)).unwrap();
        let (got, rev) = PostHandshake::decode(&d.crypter.decrypt(&wire).unwrap()).unwrap();
        assert_eq!((got, rev), (post, Revision::One));
        let expected = if legacy_phone {
            Construction::Legacy
        } else {
            Construction::New
        };
        assert_eq!(d.crypter.construction(), expected);

        let linking = LinkingInfo {
            contact_id: b"fcm-token".to_vec(),
            link_id: [8; 8],
            link_secret: LinkSecret::random(&mut r),
            phone_public_key: phone_id.public_key().uncompressed(),
            name: "Pixel".into(),
            signature: cable_tunnel::handshake_signature(
                &phone_id,
                &desktop_id.public_key(),
                &p.handshake_hash,
            ),
            play_services: true,
        };
        let update = Frame::Update(
            UpdateMessage {
                linking: Some(linking.clone()),
            }
            .encode(),
        );
        let wire = p.crypter.encrypt(&update.encode()).unwrap();
        assert_eq!(wire.len(), 528);
        let Frame::Update(payload) = Frame::decode(&d.crypter.decrypt(&wire).unwrap()).unwrap()
        else {
            panic!("expected update")
        };
        let got = UpdateMessage::decode(&payload).unwrap().linking.unwrap();
        assert_eq!(got, linking);
        assert!(got.verify(&desktop_id, &d.handshake_hash));
        // Another session's hash, or another QR key, does not verify.
        assert!(!got.verify(&desktop_id, &[0; 32]));
        assert!(!got.verify(&phone_id, &d.handshake_hash));

        // Desktop: one CTAP request; phone: the response; desktop: shutdown.
        let request = Frame::Ctap(vec![0x02, 0xa0]);
        let wire = d.crypter.encrypt(&request.encode()).unwrap();
        assert_eq!(
            Frame::decode(&p.crypter.decrypt(&wire).unwrap()).unwrap(),
            request
        );
        let response = Frame::Ctap(vec![0x00, 0xa0]);
        let wire = p.crypter.encrypt(&response.encode()).unwrap();
        assert_eq!(
            Frame::decode(&d.crypter.decrypt(&wire).unwrap()).unwrap(),
            response
        );
        let wire = d.crypter.encrypt(&Frame::Shutdown.encode()).unwrap();
        assert_eq!(
            Frame::decode(&p.crypter.decrypt(&wire).unwrap()).unwrap(),
            Frame::Shutdown
        );
    }
}

#[test]
fn revision_zero_session() {
    let mut r = rng(7);
    let id = IdentityKey::generate(&mut r);
    let (mut d, mut p) = qr_session(&mut r, &id);
    let post = PostHandshake {
        get_info: Some(vec![0xa0]),
        linking: None,
        features: vec![],
    };
    let plaintext = post.encode(Revision::Zero);
    assert_eq!(plaintext.len(), 512);
    let wire = p.crypter.encrypt(&plaintext).unwrap();
    let (got, rev) = PostHandshake::decode(&d.crypter.decrypt(&wire).unwrap()).unwrap();
    assert_eq!(rev, Revision::Zero);
    assert_eq!(got.features, ["ctap"]);
    let req = Frame::Ctap(vec![0x01, 0xa0]);
    let wire = d.crypter.encrypt(&req.encode_for(rev).unwrap()).unwrap();
    let plain = p.crypter.decrypt(&wire).unwrap();
    assert_eq!(plain, [0x01, 0xa0]);
    assert_eq!(Frame::decode_for(&plain, rev).unwrap(), req);
}
