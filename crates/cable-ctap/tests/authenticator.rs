//! The software authenticator's CTAP behaviour: exclude/allow lists, statuses, multiple
//! accounts, PRF, and the saved credential store.

mod common;

use cable_ctap::authenticator::{
    AccountInfo, AlwaysApprove, AlwaysDeny, Authenticator, CredentialStore, Profile, Prompt,
    UserAction,
};
use cable_ctap::command::decode_response;
use cable_ctap::prf::{PrfInputs, PrfOutputs, PrfValues};
use cable_ctap::{
    CborMessage, Command, CredentialDescriptor, CredentialParameter, Extensions,
    GetAssertionRequest, GetAssertionResponse, MakeCredentialRequest, MakeCredentialResponse,
    Options, RelyingParty, User,
};
use cable_keys::cbor::Value;
use common::rng;
use rand::rngs::StdRng;
use std::cell::RefCell;

fn mc(rp: &str, user_id: &[u8], rk: bool) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: [1; 32],
        rp: RelyingParty {
            id: rp.into(),
            name: Some(rp.into()),
        },
        user: User {
            id: user_id.to_vec(),
            name: Some(format!("user-{}", user_id[0])),
            display_name: Some("User".into()),
        },
        pub_key_cred_params: vec![CredentialParameter::public_key(-7)],
        exclude_list: vec![],
        extensions: Extensions::new(),
        options: Options {
            rk: rk.then_some(true),
            up: None,
            uv: Some(true),
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
    }
}

fn ga(rp: &str, allow: &[&[u8]]) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: rp.into(),
        client_data_hash: [2; 32],
        allow_list: allow
            .iter()
            .map(|id| CredentialDescriptor::public_key(id.to_vec()))
            .collect(),
        extensions: Extensions::new(),
        options: Options {
            uv: Some(true),
            ..Options::default()
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    }
}

fn send(
    phone: &mut Authenticator,
    rng: &mut StdRng,
    command: Command,
    user: &dyn UserAction,
) -> Vec<u8> {
    phone.handle(&command.encode(), rng, user)
}

/// Registers and returns the new credential ID.
fn register(phone: &mut Authenticator, rng: &mut StdRng, req: MakeCredentialRequest) -> Vec<u8> {
    let answer = send(phone, rng, Command::MakeCredential(req), &AlwaysApprove);
    let resp: MakeCredentialResponse = decode_response(&answer).unwrap();
    let auth = cable_ctap::AuthenticatorData::parse(&resp.auth_data).unwrap();
    auth.attested_credential.unwrap().credential_id().to_vec()
}

fn assertion(answer: &[u8]) -> GetAssertionResponse {
    decode_response(answer).unwrap()
}

fn phone() -> Authenticator {
    Authenticator::new(Profile::Android, CredentialStore::new())
}

#[test]
fn exclude_list_match_answers_credential_excluded() {
    let (mut rng, mut phone) = (rng(), phone());
    let id = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    let mut again = mc("example.com", b"u1", true);
    again.exclude_list = vec![
        CredentialDescriptor::public_key(vec![9; 32]),
        CredentialDescriptor::public_key(id.clone()),
    ];
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(again.clone()),
            &AlwaysApprove
        ),
        vec![0x19]
    );
    // The same ID under another RP does not exclude.
    again.rp.id = "other.example".into();
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(again),
            &AlwaysApprove
        )[0],
        0x00
    );
    assert_eq!(phone.store().len(), 2);
}

#[test]
fn allow_list_selects_only_listed_credentials_of_the_rp() {
    let (mut rng, mut phone) = (rng(), phone());
    let a = register(&mut phone, &mut rng, mc("example.com", b"u1", false));
    let b = register(&mut phone, &mut rng, mc("example.com", b"u2", true));
    let answer = send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[&[7; 32], &b])),
        &AlwaysApprove,
    );
    let r = assertion(&answer);
    assert_eq!(r.credential.unwrap().id, b);
    assert_eq!(r.number_of_credentials, None);
    // Non-discoverable credentials work through the allow list only.
    let r = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[&a])),
        &AlwaysApprove,
    ));
    assert_eq!(r.credential.unwrap().id, a);
    assert_eq!(r.user.unwrap().id, b"u1");
    let r = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &AlwaysApprove,
    ));
    assert_eq!(r.credential.unwrap().id, b, "only the discoverable one");
    // Listed but for another RP, or not stored at all.
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(ga("other.example", &[&a])),
            &AlwaysApprove
        ),
        vec![0x2E]
    );
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(ga("example.com", &[&[7; 32]])),
            &AlwaysApprove
        ),
        vec![0x2E]
    );
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(ga("nobody.example", &[])),
            &AlwaysApprove
        ),
        vec![0x2E]
    );
}

#[test]
fn declining_answers_operation_denied_and_stores_nothing() {
    let (mut rng, mut phone) = (rng(), phone());
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(mc("example.com", b"u1", true)),
            &AlwaysDeny
        ),
        vec![0x27]
    );
    assert!(phone.store().is_empty());
    register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(ga("example.com", &[])),
            &AlwaysDeny
        ),
        vec![0x27]
    );
    assert_eq!(
        send(&mut phone, &mut rng, Command::Selection, &AlwaysDeny),
        vec![0x27]
    );
    assert_eq!(
        send(&mut phone, &mut rng, Command::Selection, &AlwaysApprove),
        vec![0x00]
    );
}

#[test]
fn prompts_describe_the_request() {
    let (mut rng, mut phone) = (rng(), phone());
    let seen = RefCell::new(Vec::new());
    let recorder = |p: &Prompt<'_>| {
        seen.borrow_mut().push(format!("{p:?}"));
        true
    };
    let id = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    phone.handle(
        &Command::MakeCredential(mc("example.com", b"u2", true)).encode(),
        &mut rng,
        &recorder,
    );
    phone.handle(
        &Command::GetAssertion(ga("example.com", &[&id])).encode(),
        &mut rng,
        &recorder,
    );
    let seen = seen.into_inner();
    assert!(
        seen[0].starts_with("Register { rp_id: \"example.com\""),
        "{}",
        seen[0]
    );
    assert!(
        seen[0].contains("user_name: Some(\"user-117\")"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].starts_with("SignIn { rp_id: \"example.com\", accounts: [AccountInfo"),
        "{}",
        seen[1]
    );
}

#[test]
fn request_errors_map_to_ctap_statuses() {
    let (mut rng, mut phone) = (rng(), phone());
    let mut rsa_only = mc("example.com", b"u1", true);
    rsa_only.pub_key_cred_params = vec![
        CredentialParameter::public_key(-257),
        CredentialParameter {
            alg: -7,
            cred_type: "other".into(),
        },
    ];
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(rsa_only),
            &AlwaysApprove
        ),
        vec![0x26]
    );

    let mut up_false = mc("example.com", b"u1", true);
    up_false.options.up = Some(false);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(up_false),
            &AlwaysApprove
        ),
        vec![0x2C]
    );

    let mut pin = mc("example.com", b"u1", true);
    pin.pin_uv_auth_param = Some(vec![0; 16]);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(pin.clone()),
            &AlwaysApprove
        ),
        vec![0x14]
    );
    pin.pin_uv_auth_protocol = Some(2);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::MakeCredential(pin),
            &AlwaysApprove
        ),
        vec![0x02]
    );

    let id = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    let mut probe = ga("example.com", &[&id]);
    probe.options.up = Some(false);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(probe),
            &AlwaysApprove
        ),
        vec![0x2B]
    );
    let mut rk = ga("example.com", &[]);
    rk.options.rk = Some(true);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(rk),
            &AlwaysApprove
        ),
        vec![0x2B]
    );

    let raw = |bytes: &[u8], phone: &mut Authenticator, rng: &mut StdRng| {
        phone.handle(bytes, rng, &AlwaysApprove)
    };
    assert_eq!(
        raw(&[0x01, 0xff], &mut phone, &mut rng),
        vec![0x12],
        "invalid CBOR"
    );
    assert_eq!(
        raw(&[0x01, 0xa1, 0x01, 0x01], &mut phone, &mut rng),
        vec![0x11],
        "clientDataHash is an integer"
    );
    assert_eq!(
        raw(&[0x02, 0xa0], &mut phone, &mut rng),
        vec![0x14],
        "missing rpId"
    );
    assert_eq!(
        raw(&[0x07], &mut phone, &mut rng),
        vec![0x01],
        "unknown command"
    );
    assert_eq!(raw(&[], &mut phone, &mut rng), vec![0x03], "empty request");
    assert_eq!(
        raw(&[0x04, 0x00], &mut phone, &mut rng),
        vec![0x03],
        "getInfo with a payload"
    );
    let info = raw(&[0x04], &mut phone, &mut rng);
    assert_eq!(info[0], 0x00);
    assert_eq!(&info[1..], &Profile::Android.get_info().to_cbor()[..]);
}

#[test]
fn several_discoverable_accounts_use_get_next_assertion() {
    let (mut rng, mut phone) = (rng(), phone());
    let ids: Vec<Vec<u8>> = (1..=3u8)
        .map(|i| register(&mut phone, &mut rng, mc("example.com", &[i], true)))
        .collect();
    register(&mut phone, &mut rng, mc("other.example", &[9], true));

    let first = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &AlwaysApprove,
    ));
    assert_eq!(first.number_of_credentials, Some(3));
    assert_eq!(first.user_selected, None);
    // Most recently created first.
    assert_eq!(first.credential.unwrap().id, ids[2]);
    let second = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetNextAssertion,
        &AlwaysApprove,
    ));
    let third = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetNextAssertion,
        &AlwaysApprove,
    ));
    assert_eq!(second.credential.unwrap().id, ids[1]);
    assert_eq!(third.credential.unwrap().id, ids[0]);
    assert_eq!(second.number_of_credentials, None);
    assert_eq!(third.user.unwrap().id, vec![1]);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetNextAssertion,
            &AlwaysApprove
        ),
        vec![0x30]
    );

    // Another command in between drops the queue.
    send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &AlwaysApprove,
    );
    send(&mut phone, &mut rng, Command::GetInfo, &AlwaysApprove);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetNextAssertion,
            &AlwaysApprove
        ),
        vec![0x30]
    );
}

struct PicksSecond;

impl UserAction for PicksSecond {
    fn approve(&self, _: &Prompt<'_>) -> bool {
        true
    }
    fn choose_account(&self, accounts: &[AccountInfo]) -> Option<usize> {
        assert_eq!(accounts.len(), 2);
        Some(1)
    }
}

#[test]
fn an_account_picked_on_the_phone_is_user_selected() {
    let (mut rng, mut phone) = (rng(), phone());
    let a = register(&mut phone, &mut rng, mc("example.com", &[1], true));
    register(&mut phone, &mut rng, mc("example.com", &[2], true));
    let r = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &PicksSecond,
    ));
    assert_eq!(r.credential.unwrap().id, a);
    assert_eq!(r.user_selected, Some(true));
    assert_eq!(r.number_of_credentials, None);
    let user = r.user.unwrap();
    assert_eq!((user.id, user.name.as_deref()), (vec![1], Some("user-1")));
}

#[test]
fn a_new_discoverable_credential_replaces_the_accounts_old_one() {
    let (mut rng, mut phone) = (rng(), phone());
    let old = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    let new = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    assert_eq!(phone.store().len(), 1);
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(ga("example.com", &[&old])),
            &AlwaysApprove
        ),
        vec![0x2E]
    );
    let r = assertion(&send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &AlwaysApprove,
    ));
    assert_eq!(r.credential.unwrap().id, new);
}

fn prf_request(values: PrfInputs) -> Extensions {
    let mut e = Extensions::new();
    e.insert("prf", values.to_value());
    e
}

fn prf_results(r: &GetAssertionResponse) -> Option<PrfValues> {
    let v = r.unsigned_extension_outputs.get("prf")?;
    PrfOutputs::from_value(v, "prf").unwrap().results
}

#[test]
fn prf_is_per_credential_and_per_salt() {
    let (mut rng, mut phone) = (rng(), phone());
    let mut req = mc("example.com", &[1], true);
    req.extensions = prf_request(PrfInputs::default());
    let answer = send(
        &mut phone,
        &mut rng,
        Command::MakeCredential(req),
        &AlwaysApprove,
    );
    let resp: MakeCredentialResponse = decode_response(&answer).unwrap();
    assert_eq!(
        resp.unsigned_extension_outputs.get("prf"),
        Some(&Value::Map(vec![(
            Value::Text("enabled".into()),
            Value::Bool(true)
        )]))
    );
    let a = cable_ctap::AuthenticatorData::parse(&resp.auth_data)
        .unwrap()
        .attested_credential
        .unwrap()
        .credential_id()
        .to_vec();
    let b = register(&mut phone, &mut rng, mc("example.com", &[2], true));

    let salts = PrfValues {
        first: vec![1; 32],
        second: Some(vec![2; 32]),
    };
    let run = |phone: &mut Authenticator, rng: &mut StdRng, id: &[u8], inputs: PrfInputs| {
        let mut req = ga("example.com", &[id]);
        req.extensions = prf_request(inputs);
        prf_results(&assertion(&send(
            phone,
            rng,
            Command::GetAssertion(req),
            &AlwaysApprove,
        )))
    };
    let eval = PrfInputs {
        eval: Some(salts.clone()),
        eval_by_credential: vec![],
    };
    let ra = run(&mut phone, &mut rng, &a, eval.clone()).unwrap();
    let ra2 = run(&mut phone, &mut rng, &a, eval.clone()).unwrap();
    let rb = run(&mut phone, &mut rng, &b, eval.clone()).unwrap();
    assert_eq!(ra, ra2, "deterministic");
    assert_ne!(ra.first, rb.first, "per credential");
    assert_ne!(ra.first, *ra.second.as_ref().unwrap(), "per salt");
    assert_eq!(ra.first.len(), 32);

    // evalByCredential wins over eval for its credential.
    let by_cred = PrfInputs {
        eval: Some(PrfValues {
            first: vec![9; 32],
            second: None,
        }),
        eval_by_credential: vec![(a.clone(), salts.clone())],
    };
    assert_eq!(run(&mut phone, &mut rng, &a, by_cred.clone()).unwrap(), ra);
    assert_eq!(run(&mut phone, &mut rng, &b, by_cred).unwrap().second, None);

    // Salts must be 32 bytes (already hashed by the client).
    let mut req = ga("example.com", &[&a]);
    req.extensions = prf_request(PrfInputs {
        eval: Some(PrfValues {
            first: vec![1; 5],
            second: None,
        }),
        eval_by_credential: vec![],
    });
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(req),
            &AlwaysApprove
        ),
        vec![0x02]
    );
    let mut req = ga("example.com", &[&a]);
    req.extensions.insert("prf", Value::Text("wrong".into()));
    assert_eq!(
        send(
            &mut phone,
            &mut rng,
            Command::GetAssertion(req),
            &AlwaysApprove
        ),
        vec![0x11]
    );
}

#[test]
fn ios_profile_ignores_prf() {
    let mut rng = rng();
    let mut phone = Authenticator::new(Profile::Ios, CredentialStore::new());
    let mut req = mc("example.com", &[1], true);
    req.extensions = prf_request(PrfInputs::default());
    let resp: MakeCredentialResponse = decode_response(&send(
        &mut phone,
        &mut rng,
        Command::MakeCredential(req),
        &AlwaysApprove,
    ))
    .unwrap();
    assert!(resp.unsigned_extension_outputs.is_empty());
    let auth = cable_ctap::AuthenticatorData::parse(&resp.auth_data).unwrap();
    assert_eq!(
        auth.attested_credential.unwrap().aaguid(),
        &cable_ctap::authenticator::IOS_AAGUID
    );
}

#[test]
fn the_store_survives_a_json_round_trip_and_keeps_secrets_out_of_debug() {
    let (mut rng, mut phone) = (rng(), phone());
    let id = register(&mut phone, &mut rng, mc("example.com", b"u1", true));
    send(
        &mut phone,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[&id])),
        &AlwaysApprove,
    );
    let json = phone.store().to_json();
    let stored = phone.store().find("example.com", &id).unwrap();
    assert_eq!(stored.sign_count, 1);
    assert!(format!("{stored:?}").contains("[redacted]"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let private_key = value["credentials"][0]["privateKey"].as_str().unwrap();
    assert_eq!(private_key.len(), 43, "32 bytes of base64url");
    assert!(!format!("{:?}", phone.store()).contains(private_key));

    let mut reloaded =
        Authenticator::new(Profile::Android, CredentialStore::from_json(&json).unwrap());
    let r = assertion(&send(
        &mut reloaded,
        &mut rng,
        Command::GetAssertion(ga("example.com", &[])),
        &AlwaysApprove,
    ));
    assert_eq!(r.credential.unwrap().id, id);
    let auth = cable_ctap::AuthenticatorData::parse(&r.auth_data).unwrap();
    assert_eq!(auth.sign_count, 2, "the counter continues");

    assert!(CredentialStore::from_json("{").is_err());
    let broken = json.replace(private_key, "AAAA");
    let err = CredentialStore::from_json(&broken).unwrap_err();
    assert!(err.to_string().contains("must be 32"), "{err}");
    let zero_key = json.replace(private_key, &cable_ctap::Base64Url::encode(&[0; 32]));
    let err = CredentialStore::from_json(&zero_key).unwrap_err();
    assert!(err.to_string().contains("not a valid P-256 key"), "{err}");

    let mut store = reloaded.into_store();
    assert!(store.remove("example.com", &id));
    assert!(!store.remove("example.com", &id));
}
