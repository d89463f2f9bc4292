//! messages.json, every section but `getinfo` (checked by cable-ctap): post-handshake captures,
//! revision-0 padding, frames, and the (empty) update section.

mod common;
use cable_keys::cbor::{self, Value};
use cable_tunnel::post_handshake::{decode_padded, pad_512};
use cable_tunnel::{Error, Frame, PostHandshake, Revision};
use common::*;

/// The getInfo fields each capture's description names.
fn check_get_info(get_info: &[u8], versions: &[&str], aaguid: &str, transports: &[&str]) {
    let Value::Map(m) = cbor::from_slice(get_info).unwrap() else {
        panic!("getInfo not a map")
    };
    let texts = |key| -> Vec<String> {
        match cbor::map_get(&m, key) {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_text().unwrap().to_string()).collect(),
            _ => panic!("getInfo key {key} missing"),
        }
    };
    assert_eq!(texts(1), versions);
    assert_eq!(texts(9), transports);
    assert_eq!(
        cbor::map_get(&m, 3),
        Some(&Value::Bytes(hex::decode(aaguid).unwrap()))
    );
    let Some(Value::Map(options)) = cbor::map_get(&m, 4) else {
        panic!("no options")
    };
    for opt in ["rk", "uv"] {
        assert_eq!(cbor::map_get_text(options, opt), Some(&Value::Bool(true)));
    }
}

#[test]
fn post_handshake_captures() {
    let v = load(MESSAGES);
    let entries = list(&v, "post_handshake");
    for (i, e) in entries.iter().enumerate() {
        let plaintext = hexf(e, "plaintext");
        let (msg, revision) = PostHandshake::decode(&plaintext).unwrap();
        assert_eq!(revision, Revision::One);
        assert_eq!(msg.features, ["ctap"]);
        assert!(msg.supports_ctap());
        assert_eq!(msg.linking, None);
        // Re-encoding gives the captured bytes: they are canonical. The two older captures
        // have no key 3 (features absent means "ctap"); encode omits key 3 when it is empty.
        let sent_features = i == 2;
        let reencoded = PostHandshake {
            features: if sent_features {
                msg.features.clone()
            } else {
                vec![]
            },
            ..msg.clone()
        };
        assert_eq!(reencoded.encode(Revision::One), plaintext, "entry {i}");
        let get_info = msg.get_info.as_deref().unwrap();
        let zero = "00000000000000000000000000000000";
        match i {
            0 => {
                check_get_info(
                    get_info,
                    &["FIDO_2_0", "FIDO_2_1"],
                    zero,
                    &["cable", "hybrid", "internal"],
                );
                assert!(str_of(&e["decoded"], "1").contains("devicePubKey, prf"));
            }
            1 => check_get_info(
                get_info,
                &["FIDO_2_0"],
                &str_of(&e["decoded"], "1").split("aaguid ").nth(1).unwrap()[..36].replace('-', ""),
                &["internal", "hybrid"],
            ),
            2 => {
                // Current Chromium phone: features present (key 3) and sorted.
                let Value::Map(m) = cbor::from_slice(&plaintext).unwrap() else {
                    panic!()
                };
                assert!(cbor::map_get(&m, 3).is_some());
                check_get_info(
                    get_info,
                    &["FIDO_2_0", "FIDO_2_1"],
                    zero,
                    &["cable", "hybrid", "internal"],
                );
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(entries.len(), 3);
}

#[test]
fn revision_zero_padding() {
    let v = load(MESSAGES);
    let entries = list(&v, "padded_cbor_map");
    assert_eq!(entries.len(), 3);

    let empty = &entries[0];
    let padded = pad_512(hexf(empty, "cbor"));
    assert_eq!(
        padded.len() as u64,
        empty["padded_length"].as_u64().unwrap()
    );
    assert!(padded.ends_with(&hexf(empty, "padded_tail")));
    assert_eq!(decode_padded(&padded), Some(Value::Map(vec![])));

    let blob = &entries[1];
    let map = cbor::to_canonical_vec(&Value::Map(vec![(
        Value::Integer(1.into()),
        Value::Bytes(vec![0; 512]),
    )]));
    assert_eq!(map.len() as u64, blob["cbor_length"].as_u64().unwrap());
    let padded = pad_512(map);
    assert_eq!(padded.len() as u64, blob["padded_length"].as_u64().unwrap());
    assert!(matches!(decode_padded(&padded), Some(Value::Map(m)) if m.len() == 1));

    // Oldest form: multiple of 256, final byte = number of zeros. Decode only.
    let oldest = &entries[2];
    assert!(str_of(oldest, "rule").contains("multiple of 256"));
    let info = PostHandshake {
        get_info: Some(vec![0xa0]),
        linking: None,
        features: vec!["ctap".into()],
    };
    let mut bytes = info.encode(Revision::One);
    let zeros = 256 - bytes.len() - 1;
    bytes.resize(255, 0);
    bytes.push(zeros as u8);
    assert_eq!(
        PostHandshake::decode(&bytes).unwrap(),
        (info.clone(), Revision::Zero)
    );
    // And the current revision-0 form round-trips through the decoder.
    assert_eq!(
        PostHandshake::decode(&info.encode(Revision::Zero)).unwrap(),
        (info, Revision::Zero)
    );
}

#[test]
fn frames() {
    let v = load(MESSAGES);
    let entries = list(&v, "frames");
    for (i, e) in entries.iter().enumerate() {
        match i {
            0 => {
                let bytes = hexf(e, "frame");
                let Frame::Ctap(p) = Frame::decode(&bytes).unwrap() else {
                    panic!()
                };
                assert_eq!(p[0], 0x01, "makeCredential");
                assert!(cbor::from_slice(&p[1..]).is_ok());
                assert_eq!(Frame::Ctap(p).encode(), bytes);
            }
            1 => {
                // Framing test without status byte: the body is CBOR right after the type.
                let bytes = hexf(e, "frame");
                let Frame::Ctap(p) = Frame::decode(&bytes).unwrap() else {
                    panic!()
                };
                assert!(cbor::from_slice(&p).is_ok());
                assert_eq!(Frame::Ctap(p).encode(), bytes);
            }
            2 => {
                let bytes = hexf(e, "frame");
                let Frame::Ctap(p) = Frame::decode(&bytes).unwrap() else {
                    panic!()
                };
                assert_eq!(p[0], 0x00, "status OK");
                assert_eq!(p[1..], hexf(&entries[1], "frame")[1..]);
            }
            3 => {
                assert_eq!(Frame::decode(&hexf(e, "frame")).unwrap(), Frame::Shutdown);
                assert_eq!(Frame::Shutdown.encode(), hexf(e, "frame"));
            }
            4 => {
                let frame = Frame::decode(&hexf(e, "frame")).unwrap();
                assert_eq!(frame, Frame::Update(vec![1, 2, 3, 4]));
                assert_eq!(frame.encode(), hexf(e, "frame"));
            }
            5 => {
                assert!(str_of(e, "note").contains("without the leading type byte"));
                let rev1 = hexf(&entries[0], "frame");
                let ctap = rev1[1..].to_vec();
                let frame = Frame::Ctap(ctap.clone());
                assert_eq!(frame.encode_for(Revision::Zero).unwrap(), ctap);
                assert_eq!(frame.encode_for(Revision::One).unwrap(), rev1);
                assert_eq!(Frame::decode_for(&ctap, Revision::Zero).unwrap(), frame);
            }
            6 => {
                assert!(str_of(e, "result").contains("fatal for Chromium"));
                assert_eq!(
                    Frame::decode(&hexf(e, "frame")),
                    Err(Error::UnknownFrameType(0xff))
                );
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(entries.len(), 7);
}

#[test]
fn update_section_is_empty() {
    // Update vectors live in linking.json; this section has no entries to check.
    let v = load(MESSAGES);
    assert_eq!(list(&v, "update").len(), 0);
}
