//! messages.json: every `getinfo` entry, and the getInfo bytes inside every `post_handshake`
//! entry, decoded with this crate's GetInfo decoder and compared with what the file says.

use cable_ctap::authenticator::Profile;
use cable_ctap::get_info::format_aaguid;
use cable_ctap::{CborMessage, Command, GetInfoResponse, MakeCredentialResponse};
use cable_keys::cbor::{self, Value};
use serde_json::Value as Json;

fn messages() -> Json {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/messages.json"
    )))
    .unwrap()
}

fn hex_field(entry: &Json, key: &str) -> Vec<u8> {
    hex::decode(entry[key].as_str().unwrap()).unwrap()
}

/// Options in CTAP2 canonical order (shorter names first), as the vectors list them.
fn canonical_options(info: &GetInfoResponse) -> String {
    let mut names: Vec<&String> = info.options.keys().collect();
    names.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    let parts: Vec<String> = names
        .iter()
        .map(|n| format!("{n}: {}", info.options[*n]))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The notation of the `getinfo` entries' `decoded`.
fn render_keyed(info: &GetInfoResponse) -> String {
    let mut parts = vec![format!("1: [{}]", info.versions.join(", "))];
    if !info.extensions.is_empty() {
        parts.push(format!("2: [{}]", info.extensions.join(", ")));
    }
    parts.push(if info.aaguid == [0; 16] {
        "3: 16 zero bytes".to_owned()
    } else {
        format!("3: {}", format_aaguid(&info.aaguid))
    });
    parts.push(format!("4: {}", canonical_options(info)));
    parts.push(format!("9: [{}]", info.transports.join(", ")));
    format!("{{{}}}", parts.join(", "))
}

/// The notation of the `post_handshake` entries' `decoded["1"]`.
fn render_named(info: &GetInfoResponse) -> String {
    let mut parts = vec![format!("versions [{}]", info.versions.join(", "))];
    if !info.extensions.is_empty() {
        parts.push(format!("extensions [{}]", info.extensions.join(", ")));
    }
    parts.push(if info.aaguid == [0; 16] {
        "aaguid 00..00".to_owned()
    } else {
        format!("aaguid {}", format_aaguid(&info.aaguid))
    });
    parts.push(format!("options {}", canonical_options(info)));
    parts.push(format!("transports [{}]", info.transports.join(", ")));
    format!("getInfo: {}", parts.join(", "))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_getinfo_entry_decodes_to_what_the_file_says_and_reencodes_byte_exact() {
    let m = messages();
    let entries = m["getinfo"].as_array().unwrap();
    let mut checked = 0;
    for entry in entries {
        let name = entry["name"].as_str().unwrap();
        let bytes = hex_field(entry, "cbor");
        let info = GetInfoResponse::from_cbor(&bytes).unwrap();
        assert_eq!(info.to_cbor(), bytes, "{name}: re-encoding differs");
        assert_eq!(
            info.pin_uv_auth_protocols,
            Vec::<u64>::new(),
            "{name}: phones have no PIN protocol"
        );
        match entry.get("decoded") {
            Some(decoded) => {
                assert_eq!(render_keyed(&info), decoded.as_str().unwrap(), "{name}");
                // The Play services entry is exactly the Android profile of the software phone.
                assert!(name.contains("Play services"));
                assert_eq!(Profile::Android.get_info(), info);
                assert_eq!(Profile::Android.get_info().to_cbor(), bytes);
            }
            None => {
                // Chromium's BuildGetInfoResponse: FIDO_2_0/2_1, prf, zero AAGUID, rk/uv,
                // transports cable/hybrid/internal.
                assert!(name.contains("Chromium"));
                assert_eq!(info.versions, strings(&["FIDO_2_0", "FIDO_2_1"]));
                assert_eq!(info.extensions, strings(&["prf"]));
                assert_eq!(info.aaguid, [0; 16]);
                assert_eq!(info.option("rk"), Some(true));
                assert_eq!(info.option("uv"), Some(true));
                assert_eq!(info.options.len(), 2);
                assert_eq!(info.transports, strings(&["cable", "hybrid", "internal"]));
                assert!(info.supports_extension("prf"));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, entries.len());
    assert_eq!(checked, 2);
}

/// Key 1 (getInfo bytes) and key 3 (features) of a post-handshake plaintext.
fn post_handshake_parts(plaintext: &[u8]) -> (Vec<u8>, Option<Vec<String>>) {
    let Value::Map(entries) = cbor::from_slice(plaintext).unwrap() else {
        panic!("not a map")
    };
    let Some(Value::Bytes(info)) = cbor::map_get(&entries, 1) else {
        panic!("no key 1")
    };
    let features = cbor::map_get(&entries, 3).map(|v| match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_text().unwrap().to_owned())
            .collect(),
        _ => panic!("key 3 is not an array"),
    });
    (info.clone(), features)
}

#[test]
fn getinfo_inside_every_post_handshake_entry_decodes() {
    let m = messages();
    let entries = m["post_handshake"].as_array().unwrap();
    let getinfo_chromium = hex_field(&m["getinfo"][0], "cbor");
    let mut checked = 0;
    for entry in entries {
        let name = entry["name"].as_str().unwrap();
        let (bytes, features) = post_handshake_parts(&hex_field(entry, "plaintext"));
        let info = GetInfoResponse::from_cbor(&bytes).unwrap();
        assert_eq!(info.to_cbor(), bytes, "{name}: re-encoding differs");
        match entry.get("decoded") {
            Some(decoded) => {
                assert_eq!(
                    render_named(&info),
                    decoded["1"].as_str().unwrap(),
                    "{name}"
                );
                assert_eq!(features, None, "{name}: old captures carry no feature list");
            }
            None => {
                // Current Chromium phone code: the same getInfo as the `getinfo` entry, plus
                // features ["ctap"].
                assert_eq!(bytes, getinfo_chromium, "{name}");
                assert_eq!(features, Some(vec!["ctap".to_owned()]));
            }
        }
        if name.starts_with("iOS") {
            assert_eq!(Profile::Ios.get_info(), info);
            assert_eq!(Profile::Ios.get_info().to_cbor(), bytes);
            assert!(!info.supports_extension("prf"));
        }
        checked += 1;
    }
    assert_eq!(checked, entries.len());
    assert_eq!(checked, 3);
}

#[test]
fn webauthn_rs_makecredential_frame_decodes_and_reencodes_byte_exact() {
    // Not an assigned entry, but a real desktop request: a good check of the request codec.
    let m = messages();
    let frame = hex_field(&m["frames"][0], "frame");
    assert_eq!(frame[0], 0x01, "CTAP frame type");
    let command = Command::decode(&frame[1..]).unwrap();
    let Command::MakeCredential(req) = &command else {
        panic!("not makeCredential")
    };
    assert_eq!(req.rp.id, "test.ctap");
    assert_eq!(req.user.display_name.as_deref(), Some("Test Ctap"));
    assert_eq!(
        req.pub_key_cred_params
            .iter()
            .map(|p| p.alg)
            .collect::<Vec<_>>(),
        vec![-7, -257, -37]
    );
    assert_eq!(req.options.rk, Some(true));
    assert_eq!(command.encode(), frame[1..]);
}

#[test]
fn webauthn_rs_makecredential_response_decodes() {
    let m = messages();
    let frame = hex_field(&m["frames"][2], "frame");
    assert_eq!(&frame[..2], &[0x01, 0x00], "type CTAP, status OK");
    let resp: MakeCredentialResponse = cable_ctap::command::decode_response(&frame[1..]).unwrap();
    assert_eq!(resp.fmt, "packed");
    let auth = cable_ctap::AuthenticatorData::parse(&resp.auth_data).unwrap();
    assert!(auth.flags.user_present() && auth.flags.user_verified());
    let attested = auth.attested_credential.as_ref().unwrap();
    assert_eq!(attested.credential_id().len(), 16);
    attested.credential_public_key().unwrap();
    assert_eq!(
        auth.extensions.as_ref().unwrap().get("hmac-secret"),
        Some(&Value::Bool(true))
    );
    assert_eq!(auth.to_bytes(), resp.auth_data);
    let stmt = cable_ctap::PackedStatement::from_value(&resp.att_stmt).unwrap();
    assert_eq!(stmt.alg, -7);
    assert_eq!(stmt.x5c.len(), 1);
    assert_eq!(resp.to_cbor(), frame[2..]);
}
