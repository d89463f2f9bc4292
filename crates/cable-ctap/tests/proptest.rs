//! Round trips of every encode/decode pair, canonical form of every encoding, and decoders
//! (and the software authenticator) never panicking on arbitrary or mutated bytes.

use cable_ctap::auth_data::{AttestedCredentialData, AuthenticatorData, Flags};
use cable_ctap::authenticator::{AlwaysApprove, Authenticator, CredentialStore, Profile};
use cable_ctap::prf::{PrfInputs, PrfOutputs, PrfValues};
use cable_ctap::webauthn_json::{
    from_json, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON,
    RegistrationResponseJSON,
};
use cable_ctap::{
    AttestationObject, CborMessage, Command, CoseKey, CredentialDescriptor, CredentialParameter,
    Extensions, GetAssertionRequest, GetAssertionResponse, GetInfoResponse, MakeCredentialRequest,
    MakeCredentialResponse, Options, RelyingParty, User,
};
use cable_keys::cbor::{self, Value};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use rand::SeedableRng;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._@-]{0,20}"
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn descriptor() -> impl Strategy<Value = CredentialDescriptor> {
    (
        vec(any::<u8>(), 1..40),
        "[a-z-]{1,12}",
        option::of(vec("[a-z]{1,8}", 0..3)),
    )
        .prop_map(|(id, cred_type, transports)| CredentialDescriptor {
            id,
            cred_type,
            transports,
        })
}

fn scalar_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| Value::Integer(i.into())),
        bytes(16).prop_map(Value::Bytes),
        text().prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// Extension maps in canonical key order, as a decoder returns them.
fn extensions() -> impl Strategy<Value = Extensions> {
    btree_map(
        "[a-zA-Z]{1,12}",
        prop_oneof![
            scalar_value(),
            vec(scalar_value(), 0..3).prop_map(Value::Array)
        ],
        0..4,
    )
    .prop_map(|m| {
        let mut entries: Vec<(String, Value)> = m.into_iter().collect();
        entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
        Extensions(entries)
    })
}

fn options() -> impl Strategy<Value = Options> {
    (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    )
        .prop_map(|(rk, up, uv)| Options { rk, up, uv })
}

fn user() -> impl Strategy<Value = User> {
    (
        vec(any::<u8>(), 1..64),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(id, name, display_name)| User {
            id,
            name,
            display_name,
        })
}

fn make_credential_request() -> impl Strategy<Value = MakeCredentialRequest> {
    (
        any::<[u8; 32]>(),
        (text(), option::of(text())).prop_map(|(id, name)| RelyingParty { id, name }),
        user(),
        vec(
            (any::<i64>(), "[a-z-]{1,12}")
                .prop_map(|(alg, cred_type)| CredentialParameter { alg, cred_type }),
            0..4,
        ),
        vec(descriptor(), 0..3),
        extensions(),
        options(),
        (
            option::of(bytes(32)),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(client_data_hash, rp, user, params, exclude_list, extensions, options, pin)| {
                MakeCredentialRequest {
                    client_data_hash,
                    rp,
                    user,
                    pub_key_cred_params: params,
                    exclude_list,
                    extensions,
                    options,
                    pin_uv_auth_param: pin.0,
                    pin_uv_auth_protocol: pin.1,
                    enterprise_attestation: pin.2,
                }
            },
        )
}

fn get_assertion_request() -> impl Strategy<Value = GetAssertionRequest> {
    (
        text(),
        any::<[u8; 32]>(),
        vec(descriptor(), 0..3),
        extensions(),
        options(),
        option::of(bytes(32)),
        option::of(any::<u64>()),
    )
        .prop_map(
            |(rp_id, client_data_hash, allow_list, extensions, options, param, protocol)| {
                GetAssertionRequest {
                    rp_id,
                    client_data_hash,
                    allow_list,
                    extensions,
                    options,
                    pin_uv_auth_param: param,
                    pin_uv_auth_protocol: protocol,
                }
            },
        )
}

fn cose_key() -> impl Strategy<Value = CoseKey> {
    any::<[u8; 32]>().prop_filter_map("valid scalar", |s| {
        p256::SecretKey::from_slice(&s)
            .ok()
            .map(|k| CoseKey::from_public_key(&k.public_key()))
    })
}

fn auth_data() -> impl Strategy<Value = AuthenticatorData> {
    (
        any::<[u8; 32]>(),
        any::<u8>(),
        any::<u32>(),
        option::of((any::<[u8; 16]>(), vec(any::<u8>(), 1..100), cose_key())),
        option::of(extensions()),
    )
        .prop_map(|(rp_id_hash, flags, sign_count, attested, extensions)| {
            let attested_credential = attested
                .map(|(aaguid, id, key)| AttestedCredentialData::new(aaguid, id, &key).unwrap());
            let flags = Flags(flags)
                .with(Flags::AT, attested_credential.is_some())
                .with(Flags::ED, extensions.is_some());
            AuthenticatorData {
                rp_id_hash,
                flags,
                sign_count,
                attested_credential,
                extensions,
            }
        })
}

fn prf_values() -> impl Strategy<Value = PrfValues> {
    (bytes(32), option::of(bytes(32))).prop_map(|(first, second)| PrfValues { first, second })
}

fn get_info() -> impl Strategy<Value = GetInfoResponse> {
    (
        vec("[A-Z0-9_]{1,10}", 1..3),
        vec("[a-zA-Z]{1,10}", 0..3),
        any::<[u8; 16]>(),
        btree_map("[a-zA-Z]{1,8}", any::<bool>(), 0..5),
        option::of(any::<u64>()),
        vec(0..3u64, 0..2),
        vec("[a-z]{1,8}", 0..3),
        vec(any::<i64>().prop_map(CredentialParameter::public_key), 0..3),
        (
            option::of(any::<u64>()),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                versions,
                extensions,
                aaguid,
                options,
                max_msg_size,
                pin,
                transports,
                algorithms,
                more,
            )| {
                GetInfoResponse {
                    versions,
                    extensions,
                    aaguid,
                    options,
                    max_msg_size,
                    pin_uv_auth_protocols: pin,
                    max_credential_count_in_list: more.0,
                    max_credential_id_length: more.1,
                    transports,
                    algorithms,
                    firmware_version: more.2,
                    remaining_discoverable_credentials: None,
                    attestation_formats: vec![],
                }
            },
        )
}

/// Encoded bytes are canonical iff re-sorting the decoded value changes nothing.
fn assert_canonical(bytes: &[u8]) {
    let value = cbor::from_slice(bytes).unwrap();
    assert_eq!(cbor::to_canonical_vec(&value), bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn make_credential_round_trips(req in make_credential_request()) {
        let command = Command::MakeCredential(req);
        let bytes = command.encode();
        assert_canonical(&bytes[1..]);
        prop_assert_eq!(Command::decode(&bytes).unwrap(), command);
    }

    #[test]
    fn get_assertion_round_trips(req in get_assertion_request()) {
        let command = Command::GetAssertion(req);
        let bytes = command.encode();
        assert_canonical(&bytes[1..]);
        prop_assert_eq!(Command::decode(&bytes).unwrap(), command);
    }

    #[test]
    fn make_credential_response_round_trips(
        fmt in text(), auth in bytes(64), alg in any::<i64>(), sig in bytes(72),
        ep in option::of(any::<bool>()), lbk in option::of(bytes(32)), ext in extensions(),
    ) {
        let resp = MakeCredentialResponse {
            fmt,
            auth_data: auth,
            att_stmt: cable_ctap::PackedStatement { alg, sig, x5c: vec![] }.to_value(),
            ep_att: ep,
            large_blob_key: lbk,
            unsigned_extension_outputs: ext,
        };
        let bytes = resp.to_cbor();
        assert_canonical(&bytes);
        let decoded = MakeCredentialResponse::from_cbor(&bytes).unwrap();
        prop_assert_eq!(decoded.to_cbor(), bytes);
        let object = AttestationObject::from_response(&resp).to_cbor();
        assert_canonical(&object);
        prop_assert_eq!(AttestationObject::from_cbor(&object).unwrap().auth_data, resp.auth_data);
    }

    #[test]
    fn get_assertion_response_round_trips(
        credential in option::of(descriptor()), auth in bytes(64), sig in bytes(72), user in option::of(user()),
        n in option::of(any::<u64>()), selected in option::of(any::<bool>()), lbk in option::of(bytes(32)), ext in extensions(),
    ) {
        let resp = GetAssertionResponse {
            credential, auth_data: auth, signature: sig, user, number_of_credentials: n,
            user_selected: selected, large_blob_key: lbk, unsigned_extension_outputs: ext,
        };
        let bytes = resp.to_cbor();
        assert_canonical(&bytes);
        prop_assert_eq!(GetAssertionResponse::from_cbor(&bytes).unwrap(), resp);
    }

    #[test]
    fn get_info_round_trips(info in get_info()) {
        let bytes = info.to_cbor();
        assert_canonical(&bytes);
        prop_assert_eq!(GetInfoResponse::from_cbor(&bytes).unwrap(), info);
    }

    #[test]
    fn auth_data_round_trips(data in auth_data()) {
        let bytes = data.to_bytes();
        prop_assert_eq!(AuthenticatorData::parse(&bytes).unwrap(), data);
    }

    #[test]
    fn cose_key_round_trips(key in cose_key()) {
        let bytes = key.to_bytes();
        assert_canonical(&bytes);
        prop_assert_eq!(CoseKey::from_bytes(&bytes).unwrap(), key);
    }

    #[test]
    fn prf_round_trips(eval in option::of(prf_values()), by in vec((vec(any::<u8>(), 1..20), prf_values()), 0..3),
                       enabled in option::of(any::<bool>()), results in option::of(prf_values())) {
        let mut by = by;
        by.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
        by.dedup_by(|a, b| a.0 == b.0);
        let inputs = PrfInputs { eval, eval_by_credential: by };
        let bytes = cbor::to_canonical_vec(&inputs.to_value());
        prop_assert_eq!(PrfInputs::from_value(&cbor::from_slice(&bytes).unwrap(), "prf").unwrap(), inputs);
        let outputs = PrfOutputs { enabled, results };
        prop_assert_eq!(PrfOutputs::from_value(&outputs.to_value(), "prf").unwrap(), outputs);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(data in bytes(300)) {
        let _ = Command::decode(&data);
        let _ = MakeCredentialRequest::from_cbor(&data);
        let _ = GetAssertionRequest::from_cbor(&data);
        let _ = MakeCredentialResponse::from_cbor(&data);
        let _ = GetAssertionResponse::from_cbor(&data);
        let _ = GetInfoResponse::from_cbor(&data);
        let _ = AttestationObject::from_cbor(&data);
        let _ = AuthenticatorData::parse(&data);
        let _ = CoseKey::from_bytes(&data);
        let _ = cable_ctap::command::decode_response::<GetAssertionResponse>(&data);
        let _ = cable_ctap::verify_packed_self_attestation(&data, &[0; 32]);
        let _ = cable_ctap::verify_assertion(&data, &[0; 32], &data, &data);
        let text = String::from_utf8_lossy(&data);
        let _ = from_json::<PublicKeyCredentialCreationOptionsJSON>(&text);
        let _ = from_json::<PublicKeyCredentialRequestOptionsJSON>(&text);
        let _ = from_json::<RegistrationResponseJSON>(&text);
        let _ = CredentialStore::from_json(&text);
        let _ = cable_ctap::check_origin(&text, &text);
    }

    #[test]
    fn the_authenticator_never_panics_on_arbitrary_requests(cmd in prop::sample::select(vec![1u8, 2, 4, 8, 0x0b]), data in bytes(200)) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut phone = Authenticator::new(Profile::Android, CredentialStore::new());
        let mut request = vec![cmd];
        request.extend(&data);
        let answer = phone.handle(&request, &mut rng, &AlwaysApprove);
        prop_assert!(!answer.is_empty());
    }

    #[test]
    fn mutated_requests_never_panic(req in make_credential_request(), at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let mut bytes = Command::MakeCredential(req).encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        bytes.truncate(1 + cut % bytes.len());
        let _ = Command::decode(&bytes);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let mut phone = Authenticator::new(Profile::Android, CredentialStore::new());
        let answer = phone.handle(&bytes, &mut rng, &AlwaysApprove);
        prop_assert!(!answer.is_empty());
    }

    #[test]
    fn mutated_auth_data_never_panics(data in auth_data(), at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let mut bytes = data.to_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = AuthenticatorData::parse(&bytes);
    }

    #[test]
    fn client_data_json_is_valid_json_for_any_origin(origin in any::<String>(), challenge in bytes(40)) {
        let json = cable_ctap::client_data_json(cable_ctap::ClientDataType::Get, &challenge, &origin, false);
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(parsed["origin"].as_str().unwrap(), origin.as_str());
        prop_assert_eq!(
            cable_ctap::Base64Url::decode(parsed["challenge"].as_str().unwrap()).unwrap(),
            challenge
        );
    }
}
