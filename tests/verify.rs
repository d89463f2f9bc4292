//! What the phone signed, checked from the specs with p256, sha2 and ciborium only: no cable
//! crate parses or verifies here, so a bug shared by cable-ctap (which both the phone and the
//! desktop use) cannot make its own output look right.
//!
//! * authenticator data (WebAuthn §6.1): `rpIdHash(32) || flags(1) || signCount(BE32) ||
//!   [aaguid(16) || credIdLen(BE16) || credId || COSE_Key] || [extensions]`;
//! * signatures: ECDSA P-256 with SHA-256 over `authData || SHA-256(clientDataJSON)`, DER.
//!
//! Failures panic with what is wrong: these are test assertions.

use crate::requests::{b64, Ceremony, Expected};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const FLAG_UP: u8 = 0x01;
pub const FLAG_UV: u8 = 0x04;
pub const FLAG_AT: u8 = 0x40;
pub const FLAG_ED: u8 = 0x80;

/// COSE: kty EC2, alg ES256, crv P-256 (RFC 9053).
const COSE_KTY_EC2: i128 = 2;
const COSE_ALG_ES256: i128 = -7;
const COSE_CRV_P256: i128 = 1;

/// Parsed authenticator data.
#[derive(Debug, Clone)]
pub struct AuthData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
    pub extensions: Option<Cbor>,
}

#[derive(Debug, Clone)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    pub public_key: VerifyingKey,
}

/// A passkey as the relying party stores it after a verified registration.
#[derive(Debug, Clone)]
pub struct Passkey {
    pub credential_id: Vec<u8>,
    pub public_key: VerifyingKey,
    pub aaguid: [u8; 16],
    pub sign_count: u32,
    pub user_id: Option<Vec<u8>>,
}

/// Parses authenticator data; every length is checked, nothing may follow the last field.
pub fn parse_auth_data(bytes: &[u8]) -> Result<AuthData, String> {
    let (rp_id_hash, rest) = bytes
        .split_first_chunk::<32>()
        .ok_or("shorter than the 32-byte RP ID hash")?;
    let (&flags, rest) = rest.split_first().ok_or("no flags byte")?;
    let (counter, mut rest) = rest
        .split_first_chunk::<4>()
        .ok_or("no 4-byte signature counter")?;
    let attested = if flags & FLAG_AT != 0 {
        let (aaguid, after) = rest.split_first_chunk::<16>().ok_or("no AAGUID")?;
        let (len, after) = after
            .split_first_chunk::<2>()
            .ok_or("no credential ID length")?;
        let len = usize::from(u16::from_be_bytes(*len));
        if after.len() < len {
            return Err(format!(
                "the credential ID is said to be {len} bytes; {} remain",
                after.len()
            ));
        }
        let (credential_id, mut after) = after.split_at(len);
        let cose: Cbor = ciborium::de::from_reader(&mut after)
            .map_err(|e| format!("the credential public key is not CBOR: {e}"))?;
        rest = after;
        Some(AttestedCredential {
            aaguid: *aaguid,
            credential_id: credential_id.to_vec(),
            public_key: cose_es256_key(&cose)?,
        })
    } else {
        None
    };
    let extensions = if flags & FLAG_ED != 0 {
        let value: Cbor = ciborium::de::from_reader(&mut rest)
            .map_err(|e| format!("the extensions are not CBOR: {e}"))?;
        Some(value)
    } else {
        None
    };
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the last field", rest.len()));
    }
    Ok(AuthData {
        rp_id_hash: *rp_id_hash,
        flags,
        sign_count: u32::from_be_bytes(*counter),
        attested,
        extensions,
    })
}

/// An ES256 COSE_Key: `{1: 2, 3: -7, -1: 1, -2: x(32), -3: y(32)}`.
pub fn cose_es256_key(cose: &Cbor) -> Result<VerifyingKey, String> {
    let map = cose.as_map().ok_or("the COSE key is not a map")?;
    let get = |label: i128| {
        map.iter()
            .find(|(k, _)| k.as_integer().map(i128::from) == Some(label))
            .map(|(_, v)| v)
    };
    let int = |label: i128| get(label).and_then(Cbor::as_integer).map(i128::from);
    let coordinate = |label: i128| {
        get(label)
            .and_then(Cbor::as_bytes)
            .filter(|b| b.len() == 32)
            .ok_or(format!("COSE label {label} is not a 32-byte coordinate"))
    };
    if int(1) != Some(COSE_KTY_EC2) || int(3) != Some(COSE_ALG_ES256) {
        return Err(format!(
            "the key is not EC2/ES256: kty {:?}, alg {:?}",
            int(1),
            int(3)
        ));
    }
    if int(-1) != Some(COSE_CRV_P256) {
        return Err(format!("the curve is {:?}, not P-256 (1)", int(-1)));
    }
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(coordinate(-2)?);
    sec1.extend_from_slice(coordinate(-3)?);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|e| format!("not a P-256 point: {e}"))
}

/// Verifies a WebAuthn registration (`RegistrationResponseJSON`) and returns the passkey.
pub fn registration(credential: &Value, expected: &Expected) -> Passkey {
    assert_eq!(expected.ceremony, Ceremony::Create);
    let raw_id = envelope(credential);
    let response = &credential["response"];
    let client_data = field(response, "clientDataJSON");
    check_client_data(&client_data, expected);

    let attestation = attestation_object(&field(response, "attestationObject"));
    let auth = parse_auth_data(&attestation.auth_data)
        .unwrap_or_else(|e| panic!("the registration's authenticator data: {e}"));
    check_auth_data(&auth, expected);
    assert!(auth.flags & FLAG_AT != 0, "AT is not set in a registration");
    let attested = auth
        .attested
        .clone()
        .expect("AT set, so a credential is attested");
    assert_eq!(
        attested.credential_id, raw_id,
        "rawId differs from the attested credential ID"
    );
    assert!(
        (16..=1023).contains(&attested.credential_id.len()),
        "credential ID length {}",
        attested.credential_id.len()
    );

    let signed = signed_bytes(&attestation.auth_data, &client_data);
    match attestation.fmt.as_str() {
        "packed" => {
            let alg = stmt_int(&attestation.statement, "alg");
            assert_eq!(alg, Some(COSE_ALG_ES256), "packed attestation alg");
            assert!(
                stmt(&attestation.statement, "x5c").is_none(),
                "the phone sent an attestation certificate; phones self-attest"
            );
            let sig = stmt(&attestation.statement, "sig")
                .and_then(Cbor::as_bytes)
                .expect("packed attestation has sig (bytes)");
            verify_signature(
                &attested.public_key,
                &signed,
                sig,
                "the packed self-attestation",
            );
        }
        "none" => assert!(
            attestation.statement.is_empty(),
            "fmt none with a non-empty attStmt"
        ),
        other => panic!("unexpected attestation format {other:?}"),
    }

    // The JSON's conveniences must agree with the attestation object.
    if let Some(data) = response.get("authenticatorData") {
        assert_eq!(decode(data, "authenticatorData"), attestation.auth_data);
    }
    if let Some(spki) = response.get("publicKey") {
        let key = p256::PublicKey::from_public_key_der(&decode(spki, "publicKey"))
            .expect("response.publicKey is a P-256 SubjectPublicKeyInfo");
        assert_eq!(
            VerifyingKey::from(&key).to_encoded_point(false),
            attested.public_key.to_encoded_point(false),
            "response.publicKey differs from the attested key"
        );
    }
    if let Some(alg) = response.get("publicKeyAlgorithm") {
        assert_eq!(alg.as_i64(), Some(-7), "publicKeyAlgorithm");
    }
    Passkey {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        aaguid: attested.aaguid,
        sign_count: auth.sign_count,
        user_id: expected.user_id.clone(),
    }
}

/// Verifies a WebAuthn sign-in (`AuthenticationResponseJSON`) with a registered passkey and
/// returns the new signature counter.
pub fn assertion(credential: &Value, expected: &Expected, passkey: &Passkey) -> u32 {
    assert_eq!(expected.ceremony, Ceremony::Get);
    let raw_id = envelope(credential);
    assert_eq!(
        raw_id, passkey.credential_id,
        "the phone signed with another credential"
    );
    let response = &credential["response"];
    let client_data = field(response, "clientDataJSON");
    check_client_data(&client_data, expected);
    let auth_data = field(response, "authenticatorData");
    let auth = parse_auth_data(&auth_data)
        .unwrap_or_else(|e| panic!("the assertion's authenticator data: {e}"));
    check_auth_data(&auth, expected);
    assert!(
        auth.attested.is_none(),
        "an assertion carries no attested credential"
    );
    let signature = field(response, "signature");
    verify_signature(
        &passkey.public_key,
        &signed_bytes(&auth_data, &client_data),
        &signature,
        "the assertion",
    );
    if let (Some(handle), Some(user_id)) = (response.get("userHandle"), &passkey.user_id) {
        if !handle.is_null() {
            assert_eq!(&decode(handle, "userHandle"), user_id, "userHandle");
        }
    }
    if auth.sign_count != 0 || passkey.sign_count != 0 {
        assert!(
            auth.sign_count > passkey.sign_count,
            "the signature counter went from {} to {}",
            passkey.sign_count,
            auth.sign_count
        );
    }
    auth.sign_count
}

/// `id`, `rawId` and `type`; returns the raw credential ID.
fn envelope(credential: &Value) -> Vec<u8> {
    assert_eq!(credential["type"], "public-key", "credential type");
    let id = credential["id"].as_str().expect("credential id (string)");
    assert_eq!(credential["rawId"], id, "id and rawId differ");
    URL_SAFE_NO_PAD
        .decode(id)
        .expect("the credential id is base64url")
}

fn check_client_data(bytes: &[u8], expected: &Expected) {
    let client: Value = serde_json::from_slice(bytes).expect("clientDataJSON is JSON");
    assert_eq!(
        client["type"],
        expected.ceremony.client_data_type(),
        "clientDataJSON.type"
    );
    assert_eq!(client["origin"], expected.origin.as_str(), "origin");
    let challenge = client["challenge"].as_str().expect("challenge (string)");
    match &expected.challenge {
        Some(sent) => assert_eq!(challenge, b64(sent), "challenge"),
        None => {
            let bytes = URL_SAFE_NO_PAD
                .decode(challenge)
                .expect("the challenge is base64url without padding");
            assert!(bytes.len() >= 16, "a {}-byte challenge", bytes.len());
        }
    }
    assert!(
        matches!(client.get("crossOrigin"), None | Some(Value::Bool(false))),
        "crossOrigin: {:?}",
        client.get("crossOrigin")
    );
}

fn check_auth_data(auth: &AuthData, expected: &Expected) {
    let rp_id_hash: [u8; 32] = Sha256::digest(expected.rp_id.as_bytes()).into();
    assert_eq!(
        auth.rp_id_hash, rp_id_hash,
        "rpIdHash is not SHA-256({})",
        expected.rp_id
    );
    assert!(auth.flags & FLAG_UP != 0, "UP not set: {:#04x}", auth.flags);
    assert!(auth.flags & FLAG_UV != 0, "UV not set: {:#04x}", auth.flags);
}

/// `authData || SHA-256(clientDataJSON)`.
fn signed_bytes(auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut signed = auth_data.to_vec();
    signed.extend_from_slice(&Sha256::digest(client_data));
    signed
}

fn verify_signature(key: &VerifyingKey, signed: &[u8], der: &[u8], what: &str) {
    let signature =
        Signature::from_der(der).unwrap_or_else(|e| panic!("{what}: not a DER signature: {e}"));
    key.verify(signed, &signature)
        .unwrap_or_else(|e| panic!("{what}: the signature does not verify: {e}"));
}

struct AttestationObject {
    fmt: String,
    statement: Vec<(Cbor, Cbor)>,
    auth_data: Vec<u8>,
}

/// `{"fmt": tstr, "attStmt": map, "authData": bstr}`.
fn attestation_object(bytes: &[u8]) -> AttestationObject {
    let value: Cbor = ciborium::de::from_reader(bytes).expect("the attestation object is CBOR");
    let map = value.as_map().expect("the attestation object is a map");
    let get = |name: &str| {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("the attestation object has no {name:?}"))
    };
    AttestationObject {
        fmt: get("fmt").as_text().expect("fmt is text").to_string(),
        statement: get("attStmt").as_map().expect("attStmt is a map").clone(),
        auth_data: get("authData")
            .as_bytes()
            .expect("authData is bytes")
            .clone(),
    }
}

fn stmt<'a>(statement: &'a [(Cbor, Cbor)], name: &str) -> Option<&'a Cbor> {
    statement
        .iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

fn stmt_int(statement: &[(Cbor, Cbor)], name: &str) -> Option<i128> {
    stmt(statement, name)
        .and_then(Cbor::as_integer)
        .map(i128::from)
}

/// `response[name]`, base64url-decoded.
fn field(response: &Value, name: &str) -> Vec<u8> {
    decode(&response[name], name)
}

fn decode(value: &Value, name: &str) -> Vec<u8> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{name} is missing or not a string: {value}"));
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("{name} is not base64url without padding: {e}"))
}
