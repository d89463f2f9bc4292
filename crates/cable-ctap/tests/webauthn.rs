//! WebAuthn JSON → CTAP mapping: each phone-compat rule of HYBRID.md §8/§12, the client data
//! bytes, origin checks, PRF salt hashing, and response checks.

mod common;

use cable_ctap::authenticator::Profile;
use cable_ctap::client_data::origin_host;
use cable_ctap::prf::{prf_salt, PrfInputs};
use cable_ctap::webauthn_json::from_json;
use cable_ctap::{
    check_origin, client_data_json, CborMessage, ClientDataType, CtapError, GetAssertionResponse,
    MakeCredentialResponse, OriginError,
};
use cable_keys::cbor::{self, Value};
use common::*;
use sha2::{Digest, Sha256};

/// The top-level integer keys of an encoded request.
fn top_keys(cbor_bytes: &[u8]) -> Vec<u64> {
    let Value::Map(entries) = cbor::from_slice(cbor_bytes).unwrap() else {
        panic!()
    };
    entries
        .iter()
        .map(|(k, _)| u64::try_from(k.as_integer().unwrap()).unwrap())
        .collect()
}

fn options_of(cbor_bytes: &[u8], key: u64) -> Vec<(String, bool)> {
    let Value::Map(entries) = cbor::from_slice(cbor_bytes).unwrap() else {
        panic!()
    };
    let Some(Value::Map(opts)) = cbor::map_get(&entries, key) else {
        return vec![];
    };
    opts.iter()
        .map(|(k, v)| (k.as_text().unwrap().to_owned(), v.as_bool().unwrap()))
        .collect()
}

fn pair(k: &str, v: bool) -> (String, bool) {
    (k.to_owned(), v)
}

#[test]
fn make_credential_sets_uv_always_and_rk_for_required_or_preferred() {
    let cases = [
        (
            r#", "authenticatorSelection": {"residentKey": "required"}"#,
            true,
        ),
        (
            r#", "authenticatorSelection": {"residentKey": "preferred"}"#,
            true,
        ),
        (
            r#", "authenticatorSelection": {"residentKey": "discouraged"}"#,
            false,
        ),
        (
            r#", "authenticatorSelection": {"requireResidentKey": true}"#,
            true,
        ),
        (
            r#", "authenticatorSelection": {"userVerification": "discouraged"}"#,
            false,
        ),
        ("", false),
    ];
    for (extra, rk) in cases {
        let pending = creation_options(extra).to_ctap(ORIGIN).unwrap();
        let bytes = pending.request.to_cbor();
        let expected = if rk {
            vec![pair("rk", true), pair("uv", true)]
        } else {
            vec![pair("uv", true)]
        };
        assert_eq!(options_of(&bytes, 7), expected, "{extra}");
        assert_eq!(pending.resident_key, rk);
    }
}

#[test]
fn requests_never_carry_pin_uv_auth_or_up_false() {
    let mc = creation_options("")
        .to_ctap(ORIGIN)
        .unwrap()
        .request
        .to_cbor();
    assert_eq!(top_keys(&mc), vec![1, 2, 3, 4, 7]);
    let ga = request_options(r#", "userVerification": "discouraged""#)
        .to_ctap(ORIGIN)
        .unwrap();
    let bytes = ga.request.to_cbor();
    assert_eq!(top_keys(&bytes), vec![1, 2, 5]);
    assert_eq!(
        options_of(&bytes, 5),
        vec![pair("uv", true)],
        "uv only, no up key"
    );
}

#[test]
fn rp_name_and_display_name_are_always_present() {
    let options: cable_ctap::webauthn_json::PublicKeyCredentialCreationOptionsJSON = from_json(
        r#"{"rp": {"id": "example.com"}, "user": {"id": "AQ", "name": "bob"},
            "challenge": "AAAA", "pubKeyCredParams": [{"type": "public-key", "alg": -7}]}"#,
    )
    .unwrap();
    let req = options.to_ctap(ORIGIN).unwrap().request;
    assert_eq!(req.rp.name.as_deref(), Some("example.com"));
    assert_eq!(req.user.display_name.as_deref(), Some("bob"));
    assert_eq!(req.user.name.as_deref(), Some("bob"));

    let mut options = creation_options("");
    options.rp.name = Some(String::new());
    options.user.display_name = Some(String::new());
    let req = options.to_ctap(ORIGIN).unwrap().request;
    assert_eq!(req.rp.name.as_deref(), Some("example.com"));
    assert_eq!(req.user.display_name.as_deref(), Some("alice@example.com"));
}

#[test]
fn transports_are_stripped_from_allow_and_exclude_lists() {
    let mc = creation_options(
        r#", "excludeCredentials": [{"type": "public-key", "id": "AQID", "transports": ["internal", "hybrid"]},
                                    {"type": "future-type", "id": "BAU"}]"#,
    )
    .to_ctap(ORIGIN)
    .unwrap()
    .request;
    assert_eq!(
        mc.exclude_list.len(),
        1,
        "unknown credential types are skipped"
    );
    assert_eq!(mc.exclude_list[0].id, vec![1, 2, 3]);
    assert_eq!(mc.exclude_list[0].transports, None);

    let ga = request_options(
        r#", "allowCredentials": [{"type": "public-key", "id": "AQID", "transports": ["hybrid"]}]"#,
    )
    .to_ctap(ORIGIN)
    .unwrap()
    .request;
    assert_eq!(ga.allow_list[0].transports, None);
    let bytes = ga.to_cbor();
    let Value::Map(entries) = cbor::from_slice(&bytes).unwrap() else {
        panic!()
    };
    let Some(Value::Array(list)) = cbor::map_get(&entries, 3) else {
        panic!()
    };
    let Value::Map(d) = &list[0] else { panic!() };
    let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_text().unwrap()).collect();
    assert_eq!(keys, ["id", "type"]);
}

#[test]
fn prf_salts_are_hashed_per_webauthn_l3() {
    let salt = b"salt-1";
    let mut manual = Sha256::new();
    manual.update(b"WebAuthn PRF\x00");
    manual.update(salt);
    let expected: [u8; 32] = manual.finalize().into();
    assert_eq!(prf_salt(salt), expected);

    let ga = request_options(&format!(
        r#", "allowCredentials": [{{"type": "public-key", "id": "AQID"}}],
            "extensions": {{"prf": {{"eval": {{"first": "{}"}},
                                     "evalByCredential": {{"AQID": {{"first": "AA", "second": "AQ"}}}}}}}}"#,
        b64(salt)
    ))
    .to_ctap(ORIGIN)
    .unwrap();
    assert!(ga.prf_requested);
    let prf = PrfInputs::from_value(ga.request.extensions.get("prf").unwrap(), "prf").unwrap();
    assert_eq!(prf.eval.as_ref().unwrap().first, expected.to_vec());
    assert_eq!(prf.eval.as_ref().unwrap().second, None);
    let (id, values) = &prf.eval_by_credential[0];
    assert_eq!(
        id,
        &vec![1, 2, 3],
        "evalByCredential keys are byte strings in CTAP"
    );
    assert_eq!(values.first, prf_salt(&[0]).to_vec());
    assert_eq!(values.second, Some(prf_salt(&[1]).to_vec()));
    assert_eq!(prf.for_credential(&[1, 2, 3]), Some(values));
    assert_eq!(prf.for_credential(&[9]), prf.eval.as_ref());

    // Create: {"prf": {}} without eval, {"prf": {"eval": …}} with.
    let mc = creation_options(r#", "extensions": {"prf": {}}"#)
        .to_ctap(ORIGIN)
        .unwrap();
    assert_eq!(mc.request.extensions.get("prf"), Some(&Value::Map(vec![])));
}

#[test]
fn prf_eval_by_credential_errors() {
    let err = request_options(
        r#", "extensions": {"prf": {"evalByCredential": {"AQID": {"first": "AA"}}}}"#,
    )
    .to_ctap(ORIGIN)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "extensions.prf.evalByCredential: needs a non-empty allowCredentials"
    );
    let err = request_options(
        r#", "allowCredentials": [{"type": "public-key", "id": "BAU"}],
            "extensions": {"prf": {"evalByCredential": {"AQID": {"first": "AA"}}}}"#,
    )
    .to_ctap(ORIGIN)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "extensions.prf.evalByCredential: \"AQID\" is not in allowCredentials"
    );
    let err = creation_options(
        r#", "extensions": {"prf": {"evalByCredential": {"AQID": {"first": "AA"}}}}"#,
    )
    .to_ctap(ORIGIN)
    .unwrap_err();
    assert!(
        err.to_string().contains("not allowed when creating"),
        "{err}"
    );
}

#[test]
fn cred_protect_maps_to_ctap_levels_and_is_dropped_for_phones_without_it() {
    let mut pending = creation_options(
        r#", "extensions": {"credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList"}"#,
    )
    .to_ctap(ORIGIN)
    .unwrap();
    assert_eq!(
        pending.request.extensions.get("credProtect"),
        Some(&Value::Integer(2.into()))
    );
    pending.adapt_to(&Profile::Android.get_info()).unwrap();
    assert_eq!(pending.request.extensions.get("credProtect"), None);

    let mut enforced = creation_options(
        r#", "extensions": {"credentialProtectionPolicy": "userVerificationRequired",
                            "enforceCredentialProtectionPolicy": true}"#,
    )
    .to_ctap(ORIGIN)
    .unwrap();
    assert!(enforced.adapt_to(&Profile::Android.get_info()).is_err());
    let err = creation_options(r#", "extensions": {"credentialProtectionPolicy": "sometimes"}"#)
        .to_ctap(ORIGIN)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("\"sometimes\" is not a credential protection policy"));
}

#[test]
fn client_data_json_is_byte_exact() {
    let json = client_data_json(
        ClientDataType::Create,
        &[0xfb, 0xff, 0x01],
        "https://example.com",
        false,
    );
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"type":"webauthn.create","challenge":"-_8B","origin":"https://example.com","crossOrigin":false}"#
    );
    let json = client_data_json(ClientDataType::Get, b"", "https://a\"b\\c\n.example", true);
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"type":"webauthn.get","challenge":"","origin":"https://a\"b\\c\u000a.example","crossOrigin":true}"#
    );
    let pending = creation_options("").to_ctap(ORIGIN).unwrap();
    assert_eq!(
        pending.request.client_data_hash,
        <[u8; 32]>::from(Sha256::digest(&pending.client_data_json))
    );
}

#[test]
fn origins_must_be_secure_and_match_the_rp_id() {
    assert!(check_origin("https://example.com", "example.com").is_ok());
    assert!(check_origin("https://login.EXAMPLE.com:8443", "example.com").is_ok());
    assert!(check_origin("http://localhost:8080", "localhost").is_ok());
    assert_eq!(
        check_origin("https://evilexample.com", "example.com"),
        Err(CtapError::RpIdMismatch {
            origin: "https://evilexample.com".into(),
            rp_id: "example.com".into()
        })
    );
    assert!(matches!(
        check_origin("https://example.com", "login.example.com"),
        Err(CtapError::RpIdMismatch { .. })
    ));
    let err = check_origin("http://example.com", "example.com").unwrap_err();
    assert_eq!(
        err.to_string(),
        "origin \"http://example.com\" is plain http: WebAuthn needs https (plain http is only allowed for localhost and *.localhost)"
    );
    assert!(matches!(
        check_origin("https://example.com/path", "example.com"),
        Err(CtapError::Origin { .. })
    ));
    assert!(matches!(
        check_origin("example.com", "example.com"),
        Err(CtapError::Origin { .. })
    ));
    assert!(matches!(
        check_origin("https://example.com:x", "example.com"),
        Err(CtapError::Origin { .. })
    ));
    assert!(matches!(
        check_origin("https://example.com", "https://example.com"),
        Err(CtapError::RpId(_))
    ));
    // WebAuthn needs a domain: IP-address hosts are refused, however written.
    assert!(matches!(
        origin_host("https://[::1]:443"),
        Err(CtapError::Origin(OriginError::IpAddress { .. }))
    ));
    assert_eq!(
        origin_host("https://Bücher.example").unwrap(),
        "xn--bcher-kva.example"
    );

    // A missing rp.id / rpId defaults to the origin's host.
    let mut options = creation_options("");
    options.rp.id = None;
    assert_eq!(
        options.to_ctap("https://Example.com").unwrap().rp_id,
        "example.com"
    );
    let mut options = request_options("");
    options.rp_id = None;
    assert_eq!(
        options.to_ctap(ORIGIN).unwrap().request.rp_id,
        "example.com"
    );
    let err = request_options("")
        .to_ctap("https://example.org")
        .unwrap_err();
    assert!(matches!(err, CtapError::RpIdMismatch { .. }));
}

#[test]
fn bad_options_are_refused_clearly() {
    let mut options = creation_options("");
    options.user.id.0 = vec![0; 65];
    assert_eq!(
        options.to_ctap(ORIGIN).unwrap_err().to_string(),
        "user.id: it is 65 bytes long; WebAuthn allows 1 to 64"
    );
    let mut options = creation_options("");
    options
        .pub_key_cred_params
        .iter_mut()
        .for_each(|p| p.cred_type = "other".into());
    assert!(options.to_ctap(ORIGIN).is_err());
    let mut options = creation_options("");
    options.pub_key_cred_params.clear();
    let algs: Vec<i64> = options
        .to_ctap(ORIGIN)
        .unwrap()
        .request
        .pub_key_cred_params
        .iter()
        .map(|p| p.alg)
        .collect();
    assert_eq!(algs, vec![-7, -257], "WebAuthn's default list");

    let err = from_json::<cable_ctap::webauthn_json::PublicKeyCredentialRequestOptionsJSON>(
        r#"{"challenge": "not base64!"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("is not base64url"), "{err}");
}

#[test]
fn responses_for_another_site_or_credential_are_rejected() {
    use cable_ctap::auth_data::{AuthenticatorData, Flags};
    let pending =
        request_options(r#", "allowCredentials": [{"type": "public-key", "id": "AQID"}]"#)
            .to_ctap(ORIGIN)
            .unwrap();
    let auth_data = |rp: &str, flags: u8| {
        AuthenticatorData {
            rp_id_hash: AuthenticatorData::rp_id_hash(rp),
            flags: Flags(flags),
            sign_count: 1,
            attested_credential: None,
            extensions: None,
        }
        .to_bytes()
    };
    let response = |id: Option<Vec<u8>>, data: Vec<u8>| GetAssertionResponse {
        credential: id.map(cable_ctap::CredentialDescriptor::public_key),
        auth_data: data,
        signature: vec![],
        user: None,
        number_of_credentials: None,
        user_selected: None,
        large_blob_key: None,
        unsigned_extension_outputs: Default::default(),
    };
    // Credential omitted with a one-entry allow list: that entry is meant.
    let ok = pending
        .finish(&response(None, auth_data("example.com", 0x05)))
        .unwrap();
    assert_eq!(ok.raw_id.0, vec![1, 2, 3]);
    assert_eq!(ok.response.user_handle, None);
    let err = pending
        .finish(&response(Some(vec![9]), auth_data("example.com", 0x05)))
        .unwrap_err();
    assert!(matches!(err, CtapError::ResponseMismatch(_)));
    let err = pending
        .finish(&response(None, auth_data("example.org", 0x05)))
        .unwrap_err();
    assert!(err.to_string().contains("another relying party"), "{err}");
    let err = pending
        .finish(&response(None, auth_data("example.com", 0x04)))
        .unwrap_err();
    assert!(err.to_string().contains("user presence"), "{err}");

    let strict = request_options(r#", "userVerification": "required""#)
        .to_ctap(ORIGIN)
        .unwrap();
    let mut r = response(Some(vec![1]), auth_data("example.com", 0x01));
    r.user = Some(cable_ctap::User {
        id: vec![5],
        name: None,
        display_name: None,
    });
    assert!(strict
        .finish(&r)
        .unwrap_err()
        .to_string()
        .contains("did not verify"));
    r.user = None;
    r.auth_data = auth_data("example.com", 0x05);
    assert!(strict
        .finish(&r)
        .unwrap_err()
        .to_string()
        .contains("no user handle"));

    // An error status from the phone surfaces as that status.
    let reg = creation_options("").to_ctap(ORIGIN).unwrap();
    assert_eq!(
        reg.finish_bytes(&[0x27]),
        Err(CtapError::Status(cable_ctap::CtapStatus::OperationDenied))
    );
    let no_attested = MakeCredentialResponse {
        fmt: "none".into(),
        auth_data: auth_data("example.com", 0x05),
        att_stmt: Value::Map(vec![]),
        ep_att: None,
        large_blob_key: None,
        unsigned_extension_outputs: Default::default(),
    };
    assert!(reg
        .finish(&no_attested)
        .unwrap_err()
        .to_string()
        .contains("no attested credential"));
}

#[test]
fn response_json_uses_webauthn_member_names() {
    let json = serde_json::to_string(&cable_ctap::webauthn_json::AuthenticationResponseJSON {
        id: "AQ".into(),
        raw_id: cable_ctap::Base64Url(vec![1]),
        response: cable_ctap::webauthn_json::AssertionResponseJson {
            client_data_json: cable_ctap::Base64Url(b"{}".to_vec()),
            authenticator_data: cable_ctap::Base64Url(vec![0xff; 2]),
            signature: cable_ctap::Base64Url(vec![]),
            user_handle: Some(cable_ctap::Base64Url(vec![2])),
        },
        authenticator_attachment: Some("cross-platform".into()),
        client_extension_results: Default::default(),
        cred_type: "public-key".into(),
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"id":"AQ","rawId":"AQ","response":{"clientDataJSON":"e30","authenticatorData":"__8","signature":"","userHandle":"Ag"},"authenticatorAttachment":"cross-platform","clientExtensionResults":{},"type":"public-key"}"#
    );
}
