//! Desktop and phone against each other: WebAuthn JSON → CTAP request → software authenticator
//! → CTAP response → WebAuthn JSON, then the signatures checked with p256 directly, reading the
//! JSON and CBOR by hand rather than through this crate's decoders.

mod common;

use cable_ctap::authenticator::{AlwaysApprove, Authenticator, CredentialStore, Profile};
use cable_ctap::verify_packed_self_attestation;
use cable_keys::cbor::{self, Value};
use common::*;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

fn unb64(json: &Json) -> Vec<u8> {
    cable_ctap::Base64Url::decode(json.as_str().unwrap()).unwrap()
}

fn verify_p256(spki: &[u8], auth_data: &[u8], client_data_json: &[u8], der_sig: &[u8]) {
    let key = VerifyingKey::from_public_key_der(spki).unwrap();
    let mut message = auth_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data_json));
    key.verify(&message, &Signature::from_der(der_sig).unwrap())
        .unwrap();
}

struct Registered {
    credential_id: Vec<u8>,
    spki: Vec<u8>,
    prf_first: Vec<u8>,
}

fn register(phone: &mut Authenticator, rng: &mut rand::rngs::StdRng) -> Registered {
    let options = creation_options(
        r#", "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "extensions": {"credProps": true, "prf": {"eval": {"first": "c2FsdC0x"}}}"#,
    );
    let mut pending = options.to_ctap(ORIGIN).unwrap();
    pending.adapt_to(&phone.get_info()).unwrap();
    let answer = phone.handle(&pending.command().encode(), rng, &AlwaysApprove);
    assert_eq!(answer[0], 0x00, "status");
    let json: Json = serde_json::to_value(pending.finish_bytes(&answer).unwrap()).unwrap();

    assert_eq!(json["type"], "public-key");
    assert_eq!(json["authenticatorAttachment"], "cross-platform");
    assert_eq!(json["id"], json["rawId"]);
    assert_eq!(
        json["response"]["transports"],
        serde_json::json!(["hybrid", "internal"])
    );
    assert_eq!(json["response"]["publicKeyAlgorithm"], -7);
    let client_data = unb64(&json["response"]["clientDataJSON"]);
    assert_eq!(
        String::from_utf8(client_data.clone()).unwrap(),
        r#"{"type":"webauthn.create","challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZS0xMjM0","origin":"https://example.com","crossOrigin":false}"#
    );

    // The attestation object, read with the generic CBOR decoder.
    let object = unb64(&json["response"]["attestationObject"]);
    let Value::Map(entries) = cbor::from_slice(&object).unwrap() else {
        panic!()
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_text().unwrap()).collect();
    assert_eq!(keys, ["fmt", "attStmt", "authData"], "canonical order");
    assert_eq!(
        cbor::map_get_text(&entries, "fmt"),
        Some(&Value::Text("packed".into()))
    );
    let Some(Value::Map(stmt)) = cbor::map_get_text(&entries, "attStmt") else {
        panic!()
    };
    assert_eq!(
        cbor::map_get_text(stmt, "alg"),
        Some(&Value::Integer((-7).into()))
    );
    assert!(
        cbor::map_get_text(stmt, "x5c").is_none(),
        "self attestation"
    );
    let Some(Value::Bytes(sig)) = cbor::map_get_text(stmt, "sig") else {
        panic!()
    };
    let Some(Value::Bytes(auth_data)) = cbor::map_get_text(&entries, "authData") else {
        panic!()
    };
    assert_eq!(auth_data, &unb64(&json["response"]["authenticatorData"]));

    // authData by hand: rpIdHash, flags UP|UV|BE|BS|AT, counter 0, AAGUID, credential ID.
    assert_eq!(auth_data[..32], Sha256::digest(b"example.com")[..]);
    assert_eq!(auth_data[32], 0x5D);
    assert_eq!(auth_data[33..37], [0, 0, 0, 0]);
    assert_eq!(auth_data[37..53], phone.get_info().aaguid);
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let credential_id = auth_data[55..55 + id_len].to_vec();
    assert_eq!(credential_id, unb64(&json["rawId"]));

    let spki = unb64(&json["response"]["publicKey"]);
    verify_p256(&spki, auth_data, &client_data, sig);
    verify_packed_self_attestation(&object, &Sha256::digest(&client_data).into()).unwrap();

    let ext = &json["clientExtensionResults"];
    assert_eq!(ext["credProps"]["rk"], true);
    assert_eq!(ext["prf"]["enabled"], true);
    let prf_first = unb64(&ext["prf"]["results"]["first"]);
    assert_eq!(prf_first.len(), 32);
    Registered {
        credential_id,
        spki,
        prf_first,
    }
}

#[test]
fn register_then_sign_in_with_allow_list_and_prf() {
    let mut rng = rng();
    let mut phone = Authenticator::new(Profile::Android, CredentialStore::new());
    let reg = register(&mut phone, &mut rng);

    for expected_counter in [1u32, 2] {
        let options = request_options(&format!(
            r#", "allowCredentials": [{{"type": "public-key", "id": "{}", "transports": ["hybrid", "internal"]}}],
                "userVerification": "preferred",
                "extensions": {{"prf": {{"eval": {{"first": "c2FsdC0x", "second": "c2FsdC0y"}}}}}}"#,
            b64(&reg.credential_id)
        ));
        let mut pending = options.to_ctap(ORIGIN).unwrap();
        pending.adapt_to(&phone.get_info());
        let request = pending.command().encode();
        assert!(
            !request
                .windows(b"transports".len())
                .any(|w| w == b"transports"),
            "transports are stripped"
        );
        let answer = phone.handle(&request, &mut rng, &AlwaysApprove);
        assert_eq!(answer[0], 0x00);
        let json: Json = serde_json::to_value(pending.finish_bytes(&answer).unwrap()).unwrap();

        assert_eq!(unb64(&json["rawId"]), reg.credential_id);
        assert_eq!(unb64(&json["response"]["userHandle"]), b"user-1");
        let client_data = unb64(&json["response"]["clientDataJSON"]);
        assert!(client_data.starts_with(
            br#"{"type":"webauthn.get","challenge":"c2lnbi1pbi1jaGFsbGVuZ2UtNTY3OA""#
        ));
        let auth_data = unb64(&json["response"]["authenticatorData"]);
        assert_eq!(auth_data.len(), 37);
        assert_eq!(auth_data[32], 0x1D, "UP|UV|BE|BS");
        assert_eq!(
            u32::from_be_bytes(auth_data[33..37].try_into().unwrap()),
            expected_counter
        );
        verify_p256(
            &reg.spki,
            &auth_data,
            &client_data,
            &unb64(&json["response"]["signature"]),
        );

        // Same credential and salt as at registration: same PRF output.
        let results = &json["clientExtensionResults"]["prf"]["results"];
        assert_eq!(unb64(&results["first"]), reg.prf_first);
        assert_ne!(unb64(&results["second"]), reg.prf_first);
    }
}

#[test]
fn discoverable_sign_in_returns_the_user_handle() {
    let mut rng = rng();
    let mut phone = Authenticator::new(Profile::Ios, CredentialStore::new());
    let reg = register_ios(&mut phone, &mut rng);
    let pending = request_options("").to_ctap(ORIGIN).unwrap();
    let answer = phone.handle(&pending.command().encode(), &mut rng, &AlwaysApprove);
    let json: Json = serde_json::to_value(pending.finish_bytes(&answer).unwrap()).unwrap();
    assert_eq!(unb64(&json["rawId"]), reg.0);
    assert_eq!(unb64(&json["response"]["userHandle"]), b"user-1");
    let client_data = unb64(&json["response"]["clientDataJSON"]);
    let auth_data = unb64(&json["response"]["authenticatorData"]);
    verify_p256(
        &reg.1,
        &auth_data,
        &client_data,
        &unb64(&json["response"]["signature"]),
    );
    // The crate's own helper agrees.
    let cose = cable_ctap::CoseKey::from_public_key(
        &p256::PublicKey::from_public_key_der(&reg.1).unwrap(),
    );
    cable_ctap::verify_assertion(
        &auth_data,
        &Sha256::digest(&client_data).into(),
        &unb64(&json["response"]["signature"]),
        &cose.to_bytes(),
    )
    .unwrap();
}

/// iOS profile: no PRF advertised, so the desktop drops it and reports `enabled: false`.
fn register_ios(phone: &mut Authenticator, rng: &mut rand::rngs::StdRng) -> (Vec<u8>, Vec<u8>) {
    let options = creation_options(
        r#", "authenticatorSelection": {"residentKey": "preferred"}, "extensions": {"prf": {}}"#,
    );
    let mut pending = options.to_ctap(ORIGIN).unwrap();
    pending.adapt_to(&phone.get_info()).unwrap();
    assert!(pending.request.extensions.is_empty());
    let answer = phone.handle(&pending.command().encode(), rng, &AlwaysApprove);
    let json: Json = serde_json::to_value(pending.finish_bytes(&answer).unwrap()).unwrap();
    assert_eq!(json["clientExtensionResults"]["prf"]["enabled"], false);
    assert!(json["clientExtensionResults"].get("credProps").is_none());
    (unb64(&json["rawId"]), unb64(&json["response"]["publicKey"]))
}

#[test]
fn tampered_assertions_fail_verification() {
    let mut rng = rng();
    let mut phone = Authenticator::new(Profile::Ios, CredentialStore::new());
    let (_, spki) = register_ios(&mut phone, &mut rng);
    let pending = request_options("").to_ctap(ORIGIN).unwrap();
    let answer = phone.handle(&pending.command().encode(), &mut rng, &AlwaysApprove);
    let json = pending.finish_bytes(&answer).unwrap();
    let cose =
        cable_ctap::CoseKey::from_public_key(&p256::PublicKey::from_public_key_der(&spki).unwrap());
    let hash: [u8; 32] = Sha256::digest(&json.response.client_data_json.0).into();
    let mut auth_data = json.response.authenticator_data.0.clone();
    auth_data[36] ^= 1;
    let err = cable_ctap::verify_assertion(
        &auth_data,
        &hash,
        &json.response.signature.0,
        &cose.to_bytes(),
    )
    .unwrap_err();
    assert!(matches!(err, cable_ctap::CtapError::Signature(_)), "{err}");
    let err = cable_ctap::verify_assertion(
        &json.response.authenticator_data.0,
        &hash,
        &[0x30, 0x00],
        &cose.to_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "signature check failed: the signature is not a DER ECDSA signature"
    );
}
