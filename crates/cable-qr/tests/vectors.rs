//! Every entry of tests/vectors/qr.json, checked against both roles.

use cable_qr::{digits, DigitsError, QrError, QrPayload, RequestType};
use serde_json::Value as Json;

const QR_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/qr.json"
));

fn vectors() -> Json {
    serde_json::from_str(QR_JSON).unwrap()
}

fn section<'a>(v: &'a Json, name: &str) -> &'a Vec<Json> {
    v[name]
        .as_array()
        .unwrap_or_else(|| panic!("section {name}"))
}

fn s<'a>(entry: &'a Json, field: &str) -> &'a str {
    entry[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} in {entry}"))
}

fn bytes(entry: &Json, field: &str) -> Vec<u8> {
    hex::decode(s(entry, field)).unwrap()
}

fn digits_of(url: &str) -> &str {
    url.strip_prefix("FIDO:/").unwrap()
}

#[test]
fn digit_encoding() {
    let v = vectors();
    let entries = section(&v, "digit_encoding");
    for e in entries {
        let (b, d) = (bytes(e, "bytes"), s(e, "digits"));
        assert_eq!(digits::encode(&b), d, "{e}");
        assert_eq!(digits::decode(d).unwrap(), b, "{e}");
        assert_eq!(digits::encoded_len(b.len()), d.len(), "{e}");
    }
    assert_eq!(entries.len(), 16);
}

#[test]
fn digit_decoding_invalid() {
    let v = vectors();
    let entries = section(&v, "digit_decoding_invalid");
    for e in entries {
        let reason = s(e, "reason");
        let err = digits::decode(s(e, "digits")).unwrap_err();
        let ok = if reason.contains("non-digit") || reason.contains("not ASCII digits") {
            matches!(err, DigitsError::NonDigit { .. })
        } else if reason.contains("length") {
            matches!(err, DigitsError::BadLength { .. })
        } else if reason.contains("exceeds") {
            matches!(err, DigitsError::ChunkOutOfRange { .. })
        } else {
            panic!("reason not mapped to an error: {e}")
        };
        assert!(ok, "{e}: got {err:?}");
    }
    // Spot checks of the details the reasons give.
    assert_eq!(
        digits::decode("\u{ff11}\u{ff12}\u{ff13}"),
        Err(DigitsError::NonDigit {
            position: 0,
            character: '\u{ff11}'
        })
    );
    assert_eq!(
        digits::decode("999"),
        Err(DigitsError::ChunkOutOfRange {
            position: 0,
            bytes: 1
        })
    );
    assert_eq!(
        digits::decode("99999999999999999"),
        Err(DigitsError::ChunkOutOfRange {
            position: 0,
            bytes: 7
        })
    );
    assert_eq!(entries.len(), 11);
}

#[test]
fn chrome_url() {
    let v = vectors();
    let entries = section(&v, "urls");
    for e in entries {
        let url = s(e, "url");
        let cbor = bytes(e, "cbor");
        assert_eq!(digits::decode(digits_of(url)).unwrap(), cbor);

        // Phone role: parse what Chrome showed.
        let p = QrPayload::parse_url(url).unwrap();
        assert_eq!(p, QrPayload::from_cbor(&cbor).unwrap());
        let d = &e["decoded"];
        assert_eq!(
            hex::encode(p.public_key.compressed()),
            s(d, "0_public_key_compressed")
        );
        assert_eq!(
            hex::encode(p.public_key.uncompressed()),
            s(e, "public_key_uncompressed")
        );
        assert_eq!(hex::encode(p.secret.expose()), s(d, "1_qr_secret"));
        assert_eq!(Some(p.known_domains), d["2_num_known_domains"].as_u64());
        assert_eq!(p.timestamp, d["3_timestamp_unix_seconds"].as_u64());
        assert_eq!(p.supports_linking, d["4_supports_linking"].as_bool());
        assert_eq!(p.request_type.as_deref(), d["5_request_type"].as_str());
        assert_eq!(p.request_type(), RequestType::MakeCredential);
        assert!(!p.ble_data_channel);
        assert_eq!(hex::encode(p.tunnel_id()), s(e, "tunnel_id"));
        assert_eq!(hex::encode(p.eid_key().expose()), s(e, "eid_key"));

        // Desktop role: our encoder reproduces Chrome's bytes and text exactly.
        assert_eq!(p.to_cbor(), cbor);
        assert_eq!(p.to_url(), url);
    }
    assert_eq!(entries.len(), 1);
}

/// The error each invalid KnownQRs case must give, by name.
fn expected_error(name: &str) -> QrError {
    match name {
        "invalid compressed point (last byte xor 3)" => QrError::InvalidPoint,
        "key 0 not a byte string" => QrError::WrongType {
            key: 0,
            expected: "a byte string",
        },
        "key 2 not an integer" => QrError::WrongType {
            key: 2,
            expected: "an integer",
        },
        "key 4 not a boolean" => QrError::WrongType {
            key: 4,
            expected: "true or false",
        },
        "key 5 not a string" => QrError::WrongType {
            key: 5,
            expected: "a text string",
        },
        other => panic!("no expected error for invalid case {other:?}"),
    }
}

#[test]
fn chromium_known_qrs() {
    let v = vectors();
    let entries = section(&v, "chromium_known_qr_cbor");
    for e in entries {
        let (name, url, cbor) = (s(e, "name"), s(e, "url"), bytes(e, "cbor"));
        assert_eq!(digits::encode(&cbor), digits_of(url), "{name}");
        let from_cbor = QrPayload::from_cbor(&cbor);
        let from_url = QrPayload::parse_url(url);
        assert_eq!(from_cbor, from_url, "{name}");

        if e["valid"].as_bool().unwrap() {
            let p = from_cbor.unwrap();
            let x = &e["expected"];
            assert_eq!(
                Some(p.known_domains),
                x["num_known_domains"].as_u64(),
                "{name}"
            );
            assert_eq!(
                p.supports_linking,
                x["supports_linking"].as_bool(),
                "{name}"
            );
            let rt = s(x, "request_type");
            match rt.strip_suffix(" (default)") {
                Some(default) => {
                    assert_eq!(p.request_type, None, "{name}");
                    assert_eq!(p.request_type().as_str(), default, "{name}");
                }
                None => assert_eq!(p.request_type().as_str(), rt, "{name}"),
            }
            assert!(!p.ble_data_channel);
            assert_eq!(p.timestamp, None);
            // The phone must agree with the desktop encoding of what it read.
            assert_eq!(QrPayload::parse_url(&p.to_url()).unwrap(), p, "{name}");
        } else {
            assert_eq!(from_cbor.unwrap_err(), expected_error(name), "{name}");
        }
    }
    // Details the names promise.
    let by_name = |n: &str| entries.iter().find(|e| s(e, "name") == n).unwrap();
    let unknown = QrPayload::from_cbor(&bytes(by_name("unknown request type maps to ga"), "cbor"));
    assert_eq!(unknown.unwrap().request_type.as_deref(), Some("XX"));
    assert_eq!(entries.len(), 13);
}

#[test]
fn url_parsing_invalid() {
    let v = vectors();
    let entries = section(&v, "url_parsing_invalid");
    for e in entries {
        let err = QrPayload::parse_url(s(e, "url")).unwrap_err();
        let reason = s(e, "reason");
        let ok = match reason {
            "wrong prefix" => err == QrError::BadPrefix,
            r if r.starts_with("empty payload") => err == QrError::Empty,
            "non-digit character" => matches!(
                err,
                QrError::Digits(DigitsError::NonDigit {
                    position: 0,
                    character: '/'
                })
            ),
            "invalid digit-string length" => {
                matches!(err, QrError::Digits(DigitsError::BadLength { .. }))
            }
            "digit chunk out of range" => {
                matches!(err, QrError::Digits(DigitsError::ChunkOutOfRange { .. }))
            }
            "decodes to CBOR unsigned 0, not a map" => err == QrError::NotAMap,
            other => panic!("reason not mapped to an error: {other:?}"),
        };
        assert!(ok, "{e}: got {err:?}");
    }
    assert_eq!(entries.len(), 7);
}

#[test]
fn partial_chunk_digit_widths() {
    let v = vectors();
    let w = &v["partial_chunk_digit_widths"];
    let table = w["bytes_to_digits"].as_object().unwrap();
    for (n, width) in table {
        let n: usize = n.parse().unwrap();
        let width = width.as_u64().unwrap() as usize;
        assert_eq!(digits::chunk_width(n), Some(width));
        assert_eq!(digits::encode(&vec![0xff; n]).len(), width);
        assert_eq!(digits::encode(&vec![0; n]), "0".repeat(width));
    }
    assert_eq!(table.len(), 7);

    // "0x0fda8530 (nibble i = digits for i trailing bytes)"
    let constant = s(w, "packed_constant");
    let hex_digits = constant.split_whitespace().next().unwrap();
    let packed = u32::from_str_radix(hex_digits.trim_start_matches("0x"), 16).unwrap();
    for i in 0..7 {
        assert_eq!(
            digits::chunk_width(i),
            Some((packed >> (4 * i) & 0xf) as usize)
        );
    }
}

#[test]
fn request_type_strings() {
    let v = vectors();
    let entries = section(&v, "request_type_strings");
    for e in entries {
        let string = s(e, "string");
        let meaning = s(e, "meaning");
        let expected =
            if meaning.starts_with("getAssertion") || meaning.contains("treated as getAssertion") {
                RequestType::GetAssertion
            } else if meaning.starts_with("makeCredential") {
                RequestType::MakeCredential
            } else if meaning.starts_with("digital credential presentation") {
                RequestType::DcPresentation
            } else if meaning.starts_with("digital credential issuance") {
                RequestType::DcIssuance
            } else {
                panic!("meaning not mapped: {e}")
            };
        assert_eq!(RequestType::parse(string), expected, "{e}");
        if !meaning.starts_with("treated as") {
            assert_eq!(expected.as_str(), string, "{e}");
        }

        // Through a QR code: the phone reads the hint and keeps the raw string.
        let mut payload = sample_payload();
        payload.request_type = Some(string.to_owned());
        let mut cbor = payload.to_cbor();
        if e["with_key_6_true"].as_bool() == Some(true) {
            // webauthn-rs's key 6 = true ("non-discoverable makeCredential") is a bool, not
            // the CTAP 2.3 channel array: accepted and ignored, as Chromium does.
            cbor = with_extra_key(&cbor, 6, cable_keys::cbor::Value::Bool(true));
        }
        let parsed = QrPayload::from_cbor(&cbor).unwrap();
        assert_eq!(parsed.request_type(), expected, "{e}");
        assert_eq!(parsed.request_type.as_deref(), Some(string));
        assert!(!parsed.ble_data_channel);
    }
    assert_eq!(entries.len(), 7);
}

#[test]
fn every_sourced_entry_is_counted() {
    // HYBRID.md §14: qr.json has 56 entries with a source.
    let v = vectors();
    let sections = [
        "digit_encoding",
        "digit_decoding_invalid",
        "urls",
        "chromium_known_qr_cbor",
        "url_parsing_invalid",
        "request_type_strings",
    ];
    let listed: usize = sections.iter().map(|n| section(&v, n).len()).sum();
    let with_source = listed + usize::from(v["partial_chunk_digit_widths"]["source"].is_string());
    assert_eq!(with_source, 56);
    // No section is left unchecked.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), sections.len() + 2, "{keys:?}"); // + description, widths
}

fn sample_payload() -> QrPayload {
    let v = vectors();
    QrPayload::parse_url(s(&section(&v, "urls")[0], "url")).unwrap()
}

/// Re-encodes `cbor` (a map) with one more entry.
fn with_extra_key(cbor: &[u8], key: u64, value: cable_keys::cbor::Value) -> Vec<u8> {
    use cable_keys::cbor::{self, Value};
    let Value::Map(mut entries) = cbor::from_slice(cbor).unwrap() else {
        panic!("not a map")
    };
    entries.retain(|(k, _)| cbor::map_get(&[(k.clone(), Value::Null)], key).is_none());
    entries.push((Value::Integer(key.into()), value));
    cbor::to_canonical_vec(&Value::Map(entries))
}
