//! Byte-exact encodings of small hand-computed requests, canonical order, tolerant decoding of
//! unknown keys, and precise errors for wrong types.

use cable_ctap::auth_data::{AuthenticatorData, Flags};
use cable_ctap::{
    CborMessage, Command, CoseKey, CredentialDescriptor, CredentialParameter, CtapError,
    CtapStatus, Extensions, GetAssertionRequest, MakeCredentialRequest, Options, RelyingParty,
    User,
};
use cable_keys::cbor::Value;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).unwrap()
}

const PUBLIC_KEY_HEX: &str = "6a 7075626c69632d6b6579";

fn small_get_assertion() -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: "a".into(),
        client_data_hash: [0; 32],
        allow_list: vec![CredentialDescriptor::public_key(vec![0xAA])],
        extensions: Extensions::new(),
        options: Options {
            uv: Some(true),
            ..Options::default()
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    }
}

#[test]
fn get_assertion_encodes_byte_exact() {
    let expected = h(&format!(
        "02 a4 01 6161 02 5820 {zeros} 03 81 a2 626964 41aa 6474797065 {PUBLIC_KEY_HEX} 05 a1 627576 f5",
        zeros = "00".repeat(32)
    ));
    let command = Command::GetAssertion(small_get_assertion());
    assert_eq!(command.encode(), expected);
    assert_eq!(Command::decode(&expected).unwrap(), command);
}

fn small_make_credential() -> MakeCredentialRequest {
    let mut extensions = Extensions::new();
    // Inserted out of canonical order on purpose: "prf" (shorter) must come first.
    extensions.insert("credProtect", Value::Integer(2.into()));
    extensions.insert("prf", Value::Map(vec![]));
    MakeCredentialRequest {
        client_data_hash: [0x11; 32],
        rp: RelyingParty {
            id: "a".into(),
            name: Some("a".into()),
        },
        user: User {
            id: vec![1],
            name: Some("u".into()),
            display_name: Some("u".into()),
        },
        pub_key_cred_params: vec![CredentialParameter::public_key(-7)],
        exclude_list: vec![],
        extensions,
        // uv set before rk in the struct's sense does not matter: the map is sorted.
        options: Options {
            rk: Some(true),
            up: None,
            uv: Some(true),
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
    }
}

#[test]
fn make_credential_encodes_byte_exact_in_canonical_order() {
    let expected = h(&format!(
        "01 a6
         01 5820 {cdh}
         02 a2 626964 6161 646e616d65 6161
         03 a3 626964 4101 646e616d65 6175 6b646973706c61794e616d65 6175
         04 81 a2 63616c67 26 6474797065 {PUBLIC_KEY_HEX}
         06 a2 63707266 a0 6b6372656450726f74656374 02
         07 a2 62726b f5 627576 f5",
        cdh = "11".repeat(32)
    ));
    let command = Command::MakeCredential(small_make_credential());
    assert_eq!(command.encode(), expected);
    let decoded = Command::decode(&expected).unwrap();
    // Decoding keeps wire order, so compare re-encodings rather than extension order.
    assert_eq!(decoded.encode(), expected);
}

#[test]
fn parameterless_commands_are_one_byte() {
    assert_eq!(Command::GetInfo.encode(), vec![0x04]);
    assert_eq!(Command::GetNextAssertion.encode(), vec![0x08]);
    assert_eq!(Command::Selection.encode(), vec![0x0b]);
    assert_eq!(Command::decode(&[0x04]).unwrap(), Command::GetInfo);
    assert_eq!(
        Command::decode(&[0x04, 0xa0]),
        Err(CtapError::UnexpectedPayload {
            command: "authenticatorGetInfo",
            len: 1
        })
    );
    assert_eq!(
        Command::decode(&[0x06, 0xa0]),
        Err(CtapError::UnknownCommand(0x06))
    );
    assert_eq!(Command::decode(&[]), Err(CtapError::Empty("CTAP request")));
}

#[test]
fn cose_key_encodes_byte_exact() {
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let key = CoseKey::from_public_key(&secret.public_key());
    let expected = [
        h("a5 01 02 03 26 20 01 21 5820"),
        key.x().to_vec(),
        h("22 5820"),
        key.y().to_vec(),
    ]
    .concat();
    assert_eq!(key.to_bytes(), expected);
    assert_eq!(CoseKey::from_bytes(&expected).unwrap(), key);
    assert_eq!(key.to_uncompressed()[1..33], key.x()[..]);
    let spki = key.to_spki_der().unwrap();
    use p256::pkcs8::DecodePublicKey;
    assert_eq!(
        p256::PublicKey::from_public_key_der(&spki).unwrap(),
        secret.public_key()
    );
}

#[test]
fn cose_key_rejects_other_algorithms_and_points_off_the_curve() {
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let key = CoseKey::from_public_key(&secret.public_key());
    let mut value = key.to_value();
    if let Value::Map(entries) = &mut value {
        entries[1].1 = Value::Integer((-8).into());
    }
    let err = CoseKey::from_value(&value).unwrap_err();
    assert_eq!(
        err,
        CtapError::CoseKey("alg is -8; only -7 (ES256) is supported".into())
    );
    let mut y = *key.y();
    y[31] ^= 1;
    assert!(CoseKey::from_coordinates(*key.x(), y).is_err());
}

#[test]
fn authenticator_data_layout() {
    let data = AuthenticatorData {
        rp_id_hash: AuthenticatorData::rp_id_hash("example.com"),
        flags: Flags(Flags::UP | Flags::UV),
        sign_count: 0x01020304,
        attested_credential: None,
        extensions: None,
    };
    let bytes = data.to_bytes();
    assert_eq!(
        hex::encode(&bytes),
        "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947 05 01020304"
            .replace(' ', "")
    );
    assert_eq!(AuthenticatorData::parse(&bytes).unwrap(), data);
    // AT set without attested data, and trailing bytes, are errors.
    let mut bad = bytes.clone();
    bad[32] |= Flags::AT;
    assert!(matches!(
        AuthenticatorData::parse(&bad),
        Err(CtapError::AuthData(_))
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        AuthenticatorData::parse(&long),
        Err(CtapError::AuthData(_))
    ));
    assert!(matches!(
        AuthenticatorData::parse(&bytes[..36]),
        Err(CtapError::AuthData(_))
    ));
}

#[test]
fn decoders_ignore_unknown_keys() {
    let mut value = small_get_assertion().to_value();
    if let Value::Map(entries) = &mut value {
        entries.push((Value::Integer(0x20.into()), Value::Text("future".into())));
        // An unknown member inside a descriptor, and an unknown option.
        if let Value::Array(list) = &mut entries[2].1 {
            if let Value::Map(d) = &mut list[0] {
                d.push((Value::Text("future".into()), Value::Null));
            }
        }
        if let Value::Map(opts) = &mut entries[3].1 {
            opts.push((Value::Text("zz".into()), Value::Integer(1.into())));
        }
    }
    let bytes = cable_keys::cbor::to_canonical_vec(&value);
    assert_eq!(
        GetAssertionRequest::from_cbor(&bytes).unwrap(),
        small_get_assertion()
    );
}

#[test]
fn wrong_types_name_the_field() {
    let mut value = small_get_assertion().to_value();
    if let Value::Map(entries) = &mut value {
        entries[0].1 = Value::Bytes(vec![1]);
    }
    let err = GetAssertionRequest::from_value(&value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "getAssertion request key 1 (rpId) should be a text string, but it is a byte string"
    );
    assert_eq!(err.status(), CtapStatus::CborUnexpectedType);

    let mut value = small_get_assertion().to_value();
    if let Value::Map(entries) = &mut value {
        entries[1].1 = Value::Bytes(vec![0; 31]);
    }
    let err = GetAssertionRequest::from_value(&value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "getAssertion request key 2 (clientDataHash) is 31 bytes long; it must be 32"
    );
    assert_eq!(err.status(), CtapStatus::InvalidParameter);

    let mut value = small_make_credential().to_value();
    if let Value::Map(entries) = &mut value {
        entries.retain(|(k, _)| *k != Value::Integer(3.into()));
    }
    let err = MakeCredentialRequest::from_value(&value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "makeCredential request key 3 (user) is missing"
    );
    assert_eq!(err.status(), CtapStatus::MissingParameter);

    let mut value = small_make_credential().to_value();
    if let Value::Map(entries) = &mut value {
        if let Value::Map(user) = &mut entries[2].1 {
            user[0].1 = Value::Text("not bytes".into());
        }
    }
    let err = MakeCredentialRequest::from_value(&value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "makeCredential request key 3 (user).id should be a byte string, but it is a text string"
    );

    let err = GetAssertionRequest::from_cbor(&[0xa1, 0x01]).unwrap_err();
    assert_eq!(err.status(), CtapStatus::InvalidCbor);
    assert!(
        err.to_string()
            .starts_with("getAssertion request: not valid CBOR"),
        "{err}"
    );
    let err = GetAssertionRequest::from_cbor(&[0x01]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "getAssertion request should be a map, but it is an unsigned integer"
    );
}
