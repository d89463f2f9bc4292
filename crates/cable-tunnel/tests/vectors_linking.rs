//! linking.json: handshake signature, linking map, update message, client payload, contact URL,
//! linked-flow derivations, phone-side derivations, the push data, and Chromium's parse cases.
//!
//! Left for a cross-crate test (needs cable-ble's advert cipher): entry "linked-flow advert",
//! field `advert` = AES-256-ECB(eid_key[..32], eid_plaintext) || HMAC-SHA256(eid_key[32..],
//! that block)[..4], and its decryption back to `eid_plaintext`.

mod common;
use cable_keys::cbor::{self, Value};
use cable_keys::{derive_array, IdentityKey, LinkSecret, Purpose};
use cable_tunnel::crypter::pad;
use cable_tunnel::update::UPDATE_PADDING_TARGET;
use cable_tunnel::{
    connect_path, contact_url, handshake_signature, verify_handshake_signature, ClientPayload,
    Crypter, Error, Frame, LinkingInfo, Role, TunnelBase, UpdateMessage, CLIENT_PAYLOAD_HEADER,
    SIGNAL_CONNECTION_HEADER, WEBSOCKET_PROTOCOL,
};
use common::*;

fn entry<'a>(v: &'a serde_json::Value, name_prefix: &str) -> &'a serde_json::Value {
    list(v, "vectors")
        .iter()
        .find(|e| str_of(e, "name").starts_with(name_prefix))
        .unwrap_or_else(|| panic!("no entry {name_prefix}"))
}

#[test]
fn all_vectors() {
    let v = load(LINKING);
    let mut checked = 0;

    // 1. Handshake signature.
    let sig = entry(&v, "handshake signature");
    let phone = identity(&sig["phone_identity"]);
    let desktop = identity(&sig["desktop_qr_identity"]);
    let hh: [u8; 32] = arr(sig, "handshake_hash");
    let noise = load(NOISE);
    assert_eq!(
        hexf(&list(&noise, "transcripts")[0], "handshake_hash"),
        hh.to_vec()
    );
    assert_eq!(
        phone.ecdh(&desktop.public_key()).expose().to_vec(),
        hexf(sig, "ecdh_x")
    );
    assert_eq!(
        desktop.ecdh(&phone.public_key()).expose().to_vec(),
        hexf(sig, "ecdh_x")
    );
    let signature = handshake_signature(&phone, &desktop.public_key(), &hh);
    assert_eq!(signature.to_vec(), hexf(sig, "signature"));
    assert!(verify_handshake_signature(
        &desktop,
        &phone.public_key(),
        &hh,
        &signature
    ));
    assert!(str_of(sig, "rule").starts_with("signature = HMAC-SHA256"));
    checked += 1;

    // 2. Linking map.
    let map = entry(&v, "linking info map");
    let info = LinkingInfo::decode(&hexf(map, "cbor")).unwrap();
    assert_eq!(info.encode(), hexf(map, "cbor"));
    assert_eq!(info.phone_public_key, phone.public_key().uncompressed());
    assert_eq!(info.signature, signature);
    assert!(info.verify(&desktop, &hh));
    assert!(!info.play_services);
    let keys = map["map_keys"].as_object().unwrap();
    assert_eq!(keys.len(), 7);
    assert!(str_of(&map["map_keys"], "2").contains("8"));
    assert!(str_of(&map["map_keys"], "3").contains("32"));
    assert!(str_of(&map["map_keys"], "4").contains("65"));
    assert!(str_of(&map["map_keys"], "999").contains("Play services"));
    let with_999 = LinkingInfo {
        play_services: true,
        ..info.clone()
    };
    assert!(
        LinkingInfo::decode(&with_999.encode())
            .unwrap()
            .play_services
    );
    checked += 1;

    // 3. Update message carrying the linking map, padded as Chrome-Android does.
    let upd = entry(&v, "update message");
    let plaintext = hexf(upd, "plaintext");
    assert_eq!(
        plaintext.len() as u64,
        upd["plaintext_length"].as_u64().unwrap()
    );
    let Frame::Update(payload) = Frame::decode(&plaintext).unwrap() else {
        panic!()
    };
    let decoded = UpdateMessage::decode(&payload).unwrap();
    assert_eq!(decoded.linking.as_ref(), Some(&info));
    let Value::Map(m) = cbor::from_slice(&payload).unwrap() else {
        panic!()
    };
    assert_eq!(
        cbor::map_get(&m, 0),
        Some(&Value::Bytes(vec![
            0;
            upd["padding_bstr_length"].as_u64().unwrap()
                as usize
        ]))
    );
    let ours = Frame::Update(
        UpdateMessage {
            linking: Some(info.clone()),
        }
        .encode(),
    )
    .encode();
    assert_eq!(ours, plaintext);
    let padded_len = upd["padded_length_after_transport_padding"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(pad(&ours).unwrap().len(), padded_len);
    assert_eq!(padded_len, UPDATE_PADDING_TARGET);
    let mut phone_crypter = Crypter::new(
        Role::Phone,
        cable_keys::Secret::new([1; 32]),
        cable_keys::Secret::new([2; 32]),
    );
    assert_eq!(phone_crypter.encrypt(&ours).unwrap().len(), 528);
    assert!(str_of(upd, "layout").contains("528 bytes on the wire"));
    checked += 1;

    // 4. Client payload.
    let cp = entry(&v, "client payload");
    let payload = ClientPayload {
        link_id: arr(&cp["map"], "1"),
        client_nonce: arr(&cp["map"], "2"),
        request_type: str_of(&cp["map"], "3").to_string(),
    };
    assert_eq!(payload.encode(), hexf(cp, "cbor"));
    assert_eq!(payload.header_value(), str_of(cp, "header_value"));
    assert_eq!(str_of(cp, "header_name"), CLIENT_PAYLOAD_HEADER);
    assert_eq!(ClientPayload::decode(&hexf(cp, "cbor")).unwrap(), payload);
    // Lower case is accepted too (libwebauthn sends it).
    let lower = str_of(cp, "header_value").to_lowercase();
    assert_eq!(ClientPayload::from_header_value(&lower).unwrap(), payload);
    checked += 1;

    // 5. Contact URL and its headers.
    let cu = entry(&v, "contact URL");
    let base = TunnelBase::Domain(cu["domain_id"].as_u64().unwrap() as u16);
    assert_eq!(
        contact_url(&base, &hexf(cu, "contact_id")).unwrap(),
        str_of(cu, "url")
    );
    assert_eq!(hexf(cu, "contact_id"), info.contact_id);
    let headers = &cu["extra_headers"];
    assert_eq!(
        str_of(headers, "Sec-WebSocket-Protocol"),
        WEBSOCKET_PROTOCOL
    );
    assert_eq!(
        str_of(headers, CLIENT_PAYLOAD_HEADER),
        payload.header_value()
    );
    assert_eq!(str_of(headers, SIGNAL_CONNECTION_HEADER), "true");
    assert_eq!(headers.as_object().unwrap().len(), 3);
    checked += 1;

    // 6. Linked-flow advert: EID key and PSK (the advert bytes need cable-ble; see the top).
    let adv = entry(&v, "linked-flow advert");
    let link_secret = LinkSecret::new(arr(adv, "link_secret"));
    assert_eq!(link_secret, info.link_secret);
    let eid_key = cable_keys::eid_key(link_secret.expose(), &hexf(adv, "client_nonce"));
    assert_eq!(eid_key.expose().to_vec(), hexf(adv, "eid_key"));
    let eid: [u8; 16] = arr(adv, "eid_plaintext");
    assert_eq!(eid[0], 0, "only byte 0 is meaningful and must be zero");
    let psk = cable_keys::psk(link_secret.expose(), &eid);
    assert_eq!(psk.expose().to_vec(), hexf(adv, "psk"));
    assert_eq!(hexf(adv, "advert").len(), 20);
    assert_eq!(hexf(adv, "client_nonce"), payload.client_nonce.to_vec());
    checked += 1;

    // 7. Phone-side derivations (Chrome phone implementation).
    let ps = entry(&v, "phone-side secret derivation");
    let root = hexf(ps, "root_secret");
    let per_contact: [u8; 32] =
        derive_array(&root, &hexf(ps, "contact_id"), Purpose::PerContactIdSecret);
    assert_eq!(per_contact.to_vec(), hexf(ps, "per_contact_id_secret"));
    let paired: [u8; 32] =
        derive_array(&per_contact, &hexf(ps, "pairing_id"), Purpose::PairedSecret);
    assert_eq!(paired.to_vec(), hexf(ps, "paired_secret"));
    let seed: [u8; 32] = derive_array(&root, &[], Purpose::IdentityKeySeed);
    assert_eq!(seed.to_vec(), hexf(ps, "identity_key_seed"));
    assert_eq!(hexf(ps, "pairing_id"), info.link_id.to_vec());
    checked += 1;

    // 8. Push data a Chrome-for-Android phone receives.
    let push = entry(&v, "push message data");
    let data = &push["data"];
    let tunnel_id: [u8; 16] = arr(data, "caBLE.tunnelID");
    let routing_id: [u8; 3] = arr(data, "caBLE.routingID");
    assert_eq!(
        connect_path(&routing_id, &tunnel_id),
        "/cable/connect/010203/00000000000000000000000000000000"
    );
    assert_eq!(
        ClientPayload::from_header_value(str_of(data, "caBLE.clientPayload")).unwrap(),
        payload
    );
    checked += 1;

    assert_eq!(checked, 8);
    assert_eq!(checked, list(&v, "vectors").len());
}

/// Chromium's ParseInvalidLinkingInformation cases, rebuilt as the descriptions say.
#[test]
fn parse_cases() {
    let v = load(LINKING);
    let sig = entry(&v, "handshake signature");
    let phone = IdentityKey::from_bytes(&hexf(&sig["phone_identity"], "private_scalar")).unwrap();
    let desktop =
        IdentityKey::from_bytes(&hexf(&sig["desktop_qr_identity"], "private_scalar")).unwrap();
    let hh: [u8; 32] = arr(sig, "handshake_hash");
    let i = |n: u64| Value::Integer(n.into());
    let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
    let valid_map = |signature: &[u8]| {
        Value::Map(vec![
            (i(1), bytes(b"contact")),
            (i(2), bytes(&[2; 8])),
            (i(3), bytes(&[3; 32])),
            (i(4), bytes(&phone.public_key().uncompressed())),
            (i(5), Value::Text("phone".into())),
            (i(6), bytes(signature)),
        ])
    };
    let good_sig = handshake_signature(&phone, &desktop.public_key(), &hh);
    let mut not_a_point = [0u8; 65];
    not_a_point[0] = 4;

    let outcome = |value: Value| -> Result<bool, Error> {
        let info = LinkingInfo::from_value(&value)?;
        Ok(info.verify(&desktop, &hh))
    };
    let cases = list(&v, "parse_cases");
    let mut checked = 0;
    for c in cases {
        let input = str_of(c, "input");
        let value = match input {
            "CBOR integer 1 instead of a map" => i(1),
            "map with only key 1" => Value::Map(vec![(i(1), bytes(&[1; 32]))]),
            "keys 1..6 all 32-byte strings (key 5 not text)" => {
                Value::Map((1..=6).map(|k| (i(k), bytes(&[k as u8; 32]))).collect())
            }
            "keys 1,2,3,6 bstr, 4 = 65 bytes that are not a curve point, 5 = text" => {
                let Value::Map(mut m) = valid_map(&good_sig) else {
                    unreachable!()
                };
                m[3].1 = bytes(&not_a_point);
                Value::Map(m)
            }
            "structurally valid, real public key, wrong signature" => valid_map(&[0u8; 32]),
            "structurally valid with correct signature" => valid_map(&good_sig),
            other => panic!("unknown case {other}"),
        };
        let valid = matches!(outcome(value.clone()), Ok(true));
        assert_eq!(valid, c["valid"].as_bool().unwrap(), "{input}");
        // Structural failures are errors; a bad signature parses but does not verify.
        if input.contains("wrong signature") {
            assert_eq!(outcome(value), Ok(false));
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
    assert_eq!(checked, cases.len());
}
