//! Which CTAP2 requests the key answers itself, with requests built the way browsers build
//! them (authenticator-rs `preflight.rs` and `dummy_make_credentials_cmd`, Chromium's touch
//! request).

use cable_ctap::{CborMessage, GetInfoResponse};
use cable_hid::local::{get_info_response, AAGUID};
use cable_hid::{classify, Handling, LocalAnswers, Probe};
use cable_keys::cbor::{self, Value};
use cable_qr::RequestType;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn int(n: i64) -> Value {
    Value::Integer(n.into())
}
fn text(s: &str) -> Value {
    Value::Text(s.into())
}
fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

fn request(command: u8, entries: Vec<(Value, Value)>) -> Vec<u8> {
    let mut out = vec![command];
    out.extend(cbor::to_canonical_vec(&Value::Map(entries)));
    out
}

fn make_credential(rp_id: &str, extra: Vec<(Value, Value)>) -> Vec<u8> {
    let mut entries = vec![
        (int(1), bytes(&[0xCD; 32])),
        (int(2), Value::Map(vec![(text("id"), text(rp_id))])),
        (
            int(3),
            Value::Map(vec![(text("id"), bytes(&[0])), (text("name"), text(rp_id))]),
        ),
        (
            int(4),
            Value::Array(vec![Value::Map(vec![
                (text("alg"), int(-7)),
                (text("type"), text("public-key")),
            ])]),
        ),
    ];
    entries.extend(extra);
    request(0x01, entries)
}

fn descriptor(id: &[u8]) -> Value {
    Value::Map(vec![
        (text("id"), bytes(id)),
        (text("type"), text("public-key")),
    ])
}

fn get_assertion(rp_id: &str, allow: &[&[u8]], options: Option<Value>) -> Vec<u8> {
    let mut entries = vec![(int(1), text(rp_id)), (int(2), bytes(&[0xAB; 32]))];
    if !allow.is_empty() {
        entries.push((
            int(3),
            Value::Array(allow.iter().map(|id| descriptor(id)).collect()),
        ));
    }
    if let Some(options) = options {
        entries.push((int(5), options));
    }
    request(0x02, entries)
}

fn up(value: bool) -> Option<Value> {
    Some(Value::Map(vec![(text("up"), Value::Bool(value))]))
}

fn status(code: u8) -> Handling {
    Handling::Reply {
        response: vec![code],
        next_assertions: vec![],
    }
}

fn reply(h: Handling) -> Vec<u8> {
    match h {
        Handling::Reply { response, .. } => response,
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn get_info_is_ours_canonical_and_asks_for_no_pin() {
    let response = reply(classify(&[0x04]));
    assert_eq!(response, get_info_response());
    assert_eq!(response[0], 0x00);
    let info = GetInfoResponse::from_cbor(&response[1..]).unwrap();
    assert_eq!(info.versions, ["FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(info.aaguid, AAGUID);
    assert_eq!(info.option("rk"), Some(true));
    assert_eq!(info.option("up"), Some(true));
    assert_eq!(info.option("uv"), Some(true));
    assert_eq!(info.option("plat"), Some(false));
    assert_eq!(
        info.option("clientPin"),
        None,
        "no PIN: clients must not ask for one"
    );
    assert_eq!(info.option("pinUvAuthToken"), None);
    // Listed for python-fido2, which wants a protocol before it uses UV at all.
    assert_eq!(info.pin_uv_auth_protocols, [2, 1]);
    assert_eq!(info.max_msg_size, Some(7609));
    // Every list that fits a message is one chunk: no browser splits it and probes silently.
    assert_eq!(info.max_credential_count_in_list, Some(362));
    assert_eq!(info.max_credential_id_length, Some(1023));
    assert_eq!(info.transports, ["hybrid", "internal"]);
    assert_eq!(info.algorithms.len(), 1);
    assert_eq!(info.algorithms[0].alg, -7);
    // Canonical: decoding and re-encoding in CTAP2 order gives the same bytes.
    let value = cbor::from_slice(&response[1..]).unwrap();
    assert_eq!(cbor::to_canonical_vec(&value), response[1..]);
    // Keys 1, 2, 3, 4, 5, 6, 7, 8, 9, 10: a 10-entry map starting with versions; extensions
    // (2) is there though empty, as python-fido2 requires.
    assert_eq!(&response[1..4], &[0xAA, 0x01, 0x82]);
    assert!(info.extensions.is_empty());
    let cbor::Value::Map(entries) = value else {
        panic!("a map")
    };
    assert!(entries.iter().any(
        |(k, v)| k.as_integer() == Some(2.into()) && v.as_array().is_some_and(|a| a.is_empty())
    ));
}

#[test]
fn real_make_credential_and_get_assertion_go_to_the_phone() {
    assert_eq!(
        classify(&make_credential("example.com", vec![])),
        Handling::Relay {
            request_type: RequestType::MakeCredential
        }
    );
    let with_uv = make_credential(
        "example.com",
        vec![(
            int(7),
            Value::Map(vec![
                (text("rk"), Value::Bool(true)),
                (text("uv"), Value::Bool(true)),
            ]),
        )],
    );
    assert!(matches!(classify(&with_uv), Handling::Relay { .. }));
    for options in [None, up(true)] {
        for allow in [&[][..], &[&b"cred"[..]][..]] {
            assert_eq!(
                classify(&get_assertion("example.com", allow, options.clone())),
                Handling::Relay {
                    request_type: RequestType::GetAssertion
                }
            );
        }
    }
}

#[test]
fn firefox_preflight_claims_every_listed_credential_so_the_phone_gets_the_whole_list() {
    // authenticator-rs: clientDataHash = SHA-256(""), options {up: false}, one chunk.
    let ids: [&[u8]; 3] = [b"first", b"second", b"third"];
    let mut entries = vec![
        (int(1), text("example.com")),
        (int(2), bytes(&Sha256::digest(b""))),
        (
            int(3),
            Value::Array(ids.iter().map(|id| descriptor(id)).collect()),
        ),
        (int(5), Value::Map(vec![(text("up"), Value::Bool(false))])),
    ];
    entries.rotate_left(1); // the order a sloppy client might use; we must not care
    let preflight = request(0x02, entries);

    let mut local = LocalAnswers::new();
    let mut answers = vec![reply(local.handle(&preflight))];
    loop {
        match local.handle(&[0x08]) {
            Handling::Reply { response, .. } if response != [0x30] => answers.push(response),
            other => {
                assert_eq!(other, status(0x30), "then CTAP2_ERR_NOT_ALLOWED");
                break;
            }
        }
    }
    assert_eq!(answers.len(), 3);
    let rp_hash = Sha256::digest(b"example.com");
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer[0], 0x00);
        let Value::Map(m) = cbor::from_slice(&answer[1..]).unwrap() else {
            panic!("a map")
        };
        let credential = cbor::map_get(&m, 1).unwrap().as_map().unwrap();
        assert_eq!(
            cbor::map_get_text(credential, "id")
                .unwrap()
                .as_bytes()
                .unwrap(),
            ids[i]
        );
        let auth_data = cbor::map_get(&m, 2).unwrap().as_bytes().unwrap();
        assert_eq!(&auth_data[..32], &rp_hash[..]);
        assert_eq!(
            &auth_data[32..],
            &[0, 0, 0, 0, 0],
            "no UP, no UV, counter 0"
        );
        let count = cbor::map_get(&m, 5).map(|v| u64::try_from(v.as_integer().unwrap()).unwrap());
        assert_eq!(
            count,
            (i == 0).then_some(3),
            "numberOfCredentials only first"
        );
    }
}

#[test]
fn any_other_request_forgets_the_queued_preflight_assertions() {
    let mut local = LocalAnswers::new();
    let preflight = get_assertion("example.com", &[b"a", b"b"], up(false));
    reply(local.handle(&preflight));
    assert!(matches!(local.handle(&[0x04]), Handling::Reply { .. }));
    assert_eq!(local.handle(&[0x08]), status(0x30));
    // The stateless classify never has any.
    assert_eq!(classify(&[0x08]), status(0x30));
    let Handling::Reply {
        next_assertions, ..
    } = classify(&preflight)
    else {
        panic!()
    };
    assert_eq!(next_assertions.len(), 1);
}

#[test]
fn a_silent_lookup_without_a_list_finds_nothing() {
    assert_eq!(
        classify(&get_assertion("example.com", &[], up(false))),
        status(0x2E)
    );
}

#[test]
fn selection_and_dummy_make_credentials_wait_for_a_touch() {
    assert_eq!(
        classify(&[0x0B]),
        Handling::AwaitTouch {
            probe: Probe::Selection,
            on_touch: vec![0x00]
        }
    );
    // Firefox's blink: rp make.me.blink, zero-length pinUvAuthParam.
    let blink = make_credential(
        "make.me.blink",
        vec![(int(8), bytes(&[])), (int(9), int(1))],
    );
    assert_eq!(
        classify(&blink),
        Handling::AwaitTouch {
            probe: Probe::DummyMakeCredential,
            on_touch: vec![0x35]
        }
    );
    // Chromium's touch request for CTAP 2.0 keys without a PIN: PIN_NOT_SET counts as a
    // touch there too.
    assert_eq!(
        classify(&make_credential(".dummy", vec![])),
        Handling::AwaitTouch {
            probe: Probe::DummyMakeCredential,
            on_touch: vec![0x35]
        }
    );
}

#[test]
fn make_credential_without_user_presence_is_invalid_option() {
    let req = make_credential(
        "example.com",
        vec![(int(7), Value::Map(vec![(text("up"), Value::Bool(false))]))],
    );
    assert_eq!(classify(&req), status(0x2C));
}

#[test]
fn commands_we_do_not_serve_are_invalid_command() {
    // clientPin, reset, bio enrollment, credential management, selection's neighbours, large
    // blobs, config, the prototype codes, vendor.
    for command in [
        0x03, 0x05, 0x06, 0x07, 0x09, 0x0A, 0x0C, 0x0D, 0x40, 0x41, 0xC0, 0xFF,
    ] {
        assert_eq!(classify(&[command, 0xA0]), status(0x01), "{command:#x}");
    }
    assert_eq!(classify(&[]), status(0x03), "not even a command byte");
}

#[test]
fn malformed_requests_get_the_status_a_key_gives() {
    assert_eq!(classify(&[0x01, 0xFF]), status(0x12), "not CBOR");
    assert_eq!(classify(&[0x02]), status(0x12), "no CBOR at all");
    assert_eq!(
        classify(&[0x01, 0xA0, 0x00]),
        status(0x12),
        "trailing bytes"
    );
    assert_eq!(classify(&[0x01, 0x80]), status(0x11), "an array, not a map");
    assert_eq!(classify(&[0x01, 0xA0]), status(0x14), "no parameters");
    assert_eq!(
        classify(&request(0x02, vec![(int(1), text("example.com"))])),
        status(0x14),
        "no clientDataHash"
    );
    assert_eq!(
        classify(&request(
            0x02,
            vec![(int(1), int(5)), (int(2), bytes(&[0; 32]))]
        )),
        status(0x11),
        "rpId not text"
    );
    let up_not_bool = get_assertion(
        "example.com",
        &[],
        Some(Value::Map(vec![(text("up"), int(0))])),
    );
    assert_eq!(classify(&up_not_bool), status(0x11));
    let bad_descriptor = request(
        0x02,
        vec![
            (int(1), text("example.com")),
            (int(2), bytes(&[0; 32])),
            (
                int(3),
                Value::Array(vec![Value::Map(vec![(text("type"), text("public-key"))])]),
            ),
        ],
    );
    assert_eq!(
        classify(&bad_descriptor),
        status(0x14),
        "a descriptor without id"
    );
    let mut deep = vec![0x02];
    deep.extend(std::iter::repeat_n(0x81, 100_000));
    deep.push(0x00);
    assert!(
        matches!(classify(&deep), Handling::Reply { .. }),
        "deep nesting"
    );
}

proptest! {
    #[test]
    fn classify_never_panics(command in any::<u8>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut request = vec![command];
        request.extend(body);
        let mut local = LocalAnswers::new();
        let _ = local.handle(&request);
        let _ = classify(&request);
    }
}

#[test]
fn preflight_answers_always_fit_one_message() {
    let huge = vec![7u8; 7500];
    let small = b"ok".to_vec();
    let preflight = get_assertion("example.com", &[&huge, &small], up(false));
    let Handling::Reply {
        response,
        next_assertions,
    } = classify(&preflight)
    else {
        panic!()
    };
    assert!(response.len() <= 7609);
    assert!(
        next_assertions.is_empty(),
        "the oversized ID is not claimed"
    );
    // The longest ID still claimed: 7609 − 256 bytes.
    let longest = get_assertion("example.com", &[&vec![1u8; 7353]], up(false));
    let Handling::Reply { response, .. } = classify(&longest) else {
        panic!()
    };
    assert_eq!(response[0], 0x00, "claimed");
    assert!(response.len() <= 7609, "{} bytes", response.len());
}
