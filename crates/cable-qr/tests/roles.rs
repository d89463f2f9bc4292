//! Desktop (generate) against phone (parse), and the parser's rules for malformed maps.

use cable_keys::cbor::{self, Value};
use cable_qr::{QrError, QrHandshake, QrPayload, RequestType, KNOWN_DOMAINS};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn handshake(seed: u64) -> QrHandshake {
    QrHandshake::generate(
        &mut StdRng::seed_from_u64(seed),
        RequestType::GetAssertion,
        false,
        1_700_000_000,
    )
}

fn int(n: i64) -> Value {
    Value::Integer(n.into())
}

/// A valid map from a generated handshake, with `edit` applied to its entries.
fn edited(edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Result<QrPayload, QrError> {
    let Value::Map(mut entries) = cbor::from_slice(&handshake(7).payload().to_cbor()).unwrap()
    else {
        unreachable!()
    };
    edit(&mut entries);
    QrPayload::from_cbor(&cbor::to_canonical_vec(&Value::Map(entries)))
}

fn set(entries: &mut Vec<(Value, Value)>, key: i64, value: Value) {
    entries.retain(|(k, _)| *k != int(key));
    entries.push((int(key), value));
}

#[test]
fn phone_reads_what_the_desktop_shows() {
    let hs = QrHandshake::generate(
        &mut StdRng::seed_from_u64(1),
        RequestType::MakeCredential,
        true,
        1_666_589_051,
    );
    let url = hs.url();
    assert!(url.starts_with("FIDO:/"));
    let phone = QrPayload::parse_url(&url).unwrap();
    assert_eq!(&phone, hs.payload());
    assert_eq!(phone.public_key, hs.identity().public_key());
    assert_eq!(phone.secret, hs.payload().secret);
    assert_eq!(phone.eid_key(), hs.payload().eid_key());
    assert_eq!(phone.tunnel_id(), hs.payload().tunnel_id());
    let eid = [9u8; 16];
    assert_eq!(phone.psk(&eid), hs.payload().psk(&eid));
    assert_eq!(phone.known_domains, KNOWN_DOMAINS);
    assert_eq!(phone.timestamp, Some(1_666_589_051));
    assert_eq!(phone.supports_linking, Some(true));
    assert_eq!(phone.request_type.as_deref(), Some("mc"));
    assert_eq!(phone.request_type(), RequestType::MakeCredential);
    assert!(!phone.ble_data_channel);
    // Chrome's QR for the same shape of map is 168 digits.
    assert_eq!(url.len(), 6 + 168);

    // The desktop's private key pairs with the public key the phone got: ECDH agrees.
    let phone_key = cable_keys::IdentityKey::generate(&mut StdRng::seed_from_u64(2));
    assert_eq!(
        hs.identity().ecdh(&phone_key.public_key()),
        phone_key.ecdh(&phone.public_key)
    );
}

#[test]
fn generation_is_seeded_and_fresh() {
    assert_eq!(handshake(3).url(), handshake(3).url());
    assert_ne!(handshake(3).url(), handshake(4).url());
}

#[test]
fn generated_map_has_keys_0_to_5_in_order_and_no_key_6() {
    let Value::Map(entries) = cbor::from_slice(&handshake(5).payload().to_cbor()).unwrap() else {
        unreachable!()
    };
    let keys: Vec<Value> = entries.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, (0..=5).map(int).collect::<Vec<_>>());
    // Key 4 is sent even when false.
    assert_eq!(entries[4].1, Value::Bool(false));
}

#[test]
fn ble_data_channel_is_the_ctap23_array() {
    let hs = handshake(6).with_ble_data_channel(true);
    let Value::Map(entries) = cbor::from_slice(&hs.payload().to_cbor()).unwrap() else {
        unreachable!()
    };
    assert_eq!(
        cbor::map_get(&entries, 6),
        Some(&Value::Array(vec![int(0), int(1)]))
    );
    let phone = QrPayload::parse_url(&hs.url()).unwrap();
    assert!(phone.ble_data_channel);
    assert_eq!(&phone, hs.payload());
    // An array without channel 1 offers no BLE channel; other types are ignored.
    assert!(
        !edited(|e| set(e, 6, Value::Array(vec![int(0)])))
            .unwrap()
            .ble_data_channel
    );
    assert!(
        !edited(|e| set(e, 6, Value::Text("x".into())))
            .unwrap()
            .ble_data_channel
    );
}

#[test]
fn url_text_is_forgiving_where_chromium_is() {
    let hs = handshake(8);
    let url = hs.url();
    let lower = format!("fido:/{}", &url[6..]);
    let mixed = format!("FiDo:/{}", &url[6..]);
    let padded = format!(" \t{url}\r\n");
    for text in [lower, mixed, padded] {
        assert_eq!(
            &QrPayload::parse_url(&text).unwrap(),
            hs.payload(),
            "{text:?}"
        );
    }
    // Whitespace inside the digits is damage, not padding.
    let inner = format!("{} {}", &url[..20], &url[20..]);
    assert!(matches!(
        QrPayload::parse_url(&inner),
        Err(QrError::Digits(_))
    ));
    // A multi-byte character straddling the prefix length is a bad prefix, not a panic.
    assert_eq!(
        QrPayload::parse_url("FIDO:\u{e9}123"),
        Err(QrError::BadPrefix)
    );
    assert_eq!(QrPayload::parse_url("FIDO"), Err(QrError::BadPrefix));
}

#[test]
fn required_keys() {
    assert_eq!(
        edited(|e| e.retain(|(k, _)| *k != int(0))),
        Err(QrError::MissingKey { key: 0 })
    );
    assert_eq!(
        edited(|e| e.retain(|(k, _)| *k != int(1))),
        Err(QrError::MissingKey { key: 1 })
    );
    assert_eq!(
        edited(|e| set(e, 1, Value::Bytes(vec![0; 15]))),
        Err(QrError::WrongLength {
            key: 1,
            expected: 16,
            actual: 15
        })
    );
    assert_eq!(
        edited(|e| set(e, 1, Value::Text("secret".into()))),
        Err(QrError::WrongType {
            key: 1,
            expected: "a byte string"
        })
    );
    let uncompressed = handshake(7).payload().public_key.uncompressed().to_vec();
    assert_eq!(
        edited(|e| set(e, 0, Value::Bytes(uncompressed))),
        Err(QrError::WrongLength {
            key: 0,
            expected: 33,
            actual: 65
        })
    );
    // Any tag but 02/03 is refused, including 05 (SEC1 "compact"), which p256 would accept
    // but BoringSSL, and so Chromium, does not.
    for tag in [0x00, 0x04, 0x05, 0x06, 0x07] {
        let mut bad_tag = handshake(7).payload().public_key.compressed().to_vec();
        bad_tag[0] = tag;
        assert_eq!(
            edited(|e| set(e, 0, Value::Bytes(bad_tag))),
            Err(QrError::InvalidPoint),
            "tag {tag:02x}"
        );
    }
    // The other parity of a valid x is also a valid point, and a different key.
    let mut flipped = handshake(7).payload().public_key.compressed().to_vec();
    flipped[0] ^= 1;
    let other = edited(|e| set(e, 0, Value::Bytes(flipped.clone()))).unwrap();
    assert_eq!(other.public_key.compressed().to_vec(), flipped);
}

#[test]
fn optional_keys() {
    let p = edited(|e| e.retain(|(k, _)| *k == int(0) || *k == int(1))).unwrap();
    assert_eq!(
        (
            p.known_domains,
            p.timestamp,
            p.supports_linking,
            p.request_type.clone()
        ),
        (0, None, None, None)
    );
    assert_eq!(p.request_type(), RequestType::GetAssertion);
    // A count or a time cannot be negative: refused (Chromium would read key 2 as 0).
    assert_eq!(
        edited(|e| set(e, 2, int(-3))),
        Err(QrError::Negative { key: 2, value: -3 })
    );
    // Key 3 is ignored by Chromium: a non-integer there is not an error.
    assert_eq!(
        edited(|e| set(e, 3, Value::Text("now".into())))
            .unwrap()
            .timestamp,
        None
    );
    assert_eq!(
        edited(|e| set(e, 3, int(-1))),
        Err(QrError::Negative { key: 3, value: -1 })
    );
    assert_eq!(
        edited(|e| set(e, 4, int(1))),
        Err(QrError::WrongType {
            key: 4,
            expected: "true or false"
        })
    );
    assert_eq!(
        edited(|e| set(e, 5, Value::Bytes(b"ga".to_vec()))),
        Err(QrError::WrongType {
            key: 5,
            expected: "a text string"
        })
    );
    // Unknown keys of any kind are ignored.
    let with_unknown = edited(|e| {
        e.push((int(7), Value::Null));
        e.push((int(-1), int(0)));
        e.push((Value::Text("x".into()), int(0)));
    });
    assert_eq!(&with_unknown.unwrap(), handshake(7).payload());
}

#[test]
fn malformed_cbor() {
    // Two entries for key 1: which secret counts would be ambiguous.
    let p = handshake(7);
    let mut map = vec![
        (
            int(0),
            Value::Bytes(p.payload().public_key.compressed().to_vec()),
        ),
        (int(1), Value::Bytes(vec![1; 16])),
        (int(1), Value::Bytes(vec![2; 16])),
    ];
    let mut bytes = Vec::new();
    ciborium::into_writer(&Value::Map(map.clone()), &mut bytes).unwrap();
    assert_eq!(
        QrPayload::from_cbor(&bytes),
        Err(QrError::DuplicateKey { key: 1 })
    );
    map.pop();
    assert!(matches!(QrPayload::from_cbor(&[]), Err(QrError::Cbor(_))));
    assert!(matches!(
        QrPayload::from_cbor(&[0xa1, 0x00]),
        Err(QrError::Cbor(_))
    ));
    assert!(matches!(
        QrPayload::from_cbor(&[0xa0, 0x00]),
        Err(QrError::Cbor(_))
    ));
    assert_eq!(QrPayload::from_cbor(&[0x80]), Err(QrError::NotAMap));
    assert_eq!(
        QrPayload::from_cbor(&[0xa0]),
        Err(QrError::MissingKey { key: 0 })
    );
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let hs = handshake(9);
    let secret_hex = hex::encode(hs.payload().secret.expose());
    let private_hex = hex::encode(hs.identity().to_bytes().expose());
    let debug = format!("{hs:?} {:?}", hs.payload());
    assert!(!debug.contains(&secret_hex), "{debug}");
    assert!(!debug.contains(&private_hex), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn messages_speak_to_a_person() {
    assert_eq!(
        QrError::BadPrefix.to_string(),
        "this is not a FIDO QR code: it does not start with FIDO:/"
    );
    assert_eq!(
        QrError::MissingKey { key: 1 }.to_string(),
        "this FIDO QR code lacks the QR secret (key 1)"
    );
    assert_eq!(
        QrError::WrongLength {
            key: 0,
            expected: 33,
            actual: 65
        }
        .to_string(),
        "in this FIDO QR code, the desktop's public key (key 0) has 65 bytes instead of 33"
    );
    let damaged = QrPayload::parse_url("FIDO:/12").unwrap_err().to_string();
    assert!(
        damaged.starts_with("this FIDO QR code is damaged: 2 digits leave 2"),
        "{damaged}"
    );
}

#[test]
fn request_type_round_trips() {
    for rt in RequestType::ALL {
        assert_eq!(RequestType::parse(rt.as_str()), rt);
        assert_eq!(RequestType::from(rt.as_str()), rt);
        assert_eq!(rt.to_string(), rt.as_str());
        let hs = QrHandshake::generate(&mut StdRng::seed_from_u64(1), rt, false, 0);
        assert_eq!(QrPayload::parse_url(&hs.url()).unwrap().request_type(), rt);
    }
    // Case matters, as in Chromium.
    assert_eq!(RequestType::parse("MC"), RequestType::GetAssertion);
}
