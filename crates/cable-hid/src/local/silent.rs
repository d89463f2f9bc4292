//! Answers to silent (`up: false`) getAssertion pre-flights.
//!
//! Firefox (authenticator-rs `ctap2/preflight.rs`) asks every key, before each real
//! makeCredential and getAssertion that has a list, "which of these credentials are yours?"
//! with getAssertion `up: false`, an allowList chunk of maxCredentialCountInList entries and a
//! dummy clientDataHash. It keeps only the credentials the key's assertions name (the first
//! response plus `numberOfCredentials − 1` getNextAssertion answers) and then:
//! * getAssertion: if none are left it blinks the key (a dummy makeCredential), waits for a
//!   touch and fails with NoCredentials without ever sending the real request; otherwise it sends the real request
//!   with the credentials found;
//! * makeCredential: it sends the real request with the excludeList cut down to them (empty
//!   when none were found, so an existing credential would no longer be excluded).
//!
//! The phone cannot be asked silently, and a key that says "none" makes a sign-in with an
//! allowList impossible. So we claim *every* listed credential: one assertion per ID, the
//! first with numberOfCredentials. The real request then reaches the phone with the list
//! intact, and the phone decides. (A spec key answers a request with an allowList with one
//! assertion and no numberOfCredentials, §6.2.2; with just one, Firefox would cut the list
//! down to that one credential, and the phone might hold another. Chromium refuses
//! numberOfCredentials here, but never sends us a pre-flight: with our
//! maxCredentialCountInList every list is one chunk, which it sends as is.) The assertions are placeholders: authData has neither UP
//! nor UV set and the signature is 64 zero bytes, which no verifier accepts. Firefox does not
//! verify pre-flight assertions, and a program that asks for a real silent assertion gets
//! one that fails verification, never one that passes.

use cable_ctap::PUBLIC_KEY;
use cable_keys::cbor::{to_canonical_vec, Value};
use sha2::{Digest, Sha256};

use crate::packet::MAX_MESSAGE_LEN;

/// The placeholder signature (an ECDSA signature is never all zero).
const PLACEHOLDER_SIGNATURE: [u8; 64] = [0; 64];

/// The longest credential ID whose assertion still fits one CTAP-HID message: everything
/// around the ID takes under 160 bytes. Longer IDs are not claimed (no phone makes them).
pub(crate) const MAX_CLAIMED_ID_LEN: usize = MAX_MESSAGE_LEN - 256;

/// One `CTAP2_OK ‖ getAssertion response` per credential ID, in the allowList's order; IDs
/// over [`MAX_CLAIMED_ID_LEN`] are skipped.
pub(crate) fn assertions(rp_id: &str, ids: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let ids: Vec<&Vec<u8>> = ids
        .iter()
        .filter(|id| id.len() <= MAX_CLAIMED_ID_LEN)
        .collect();
    // authData: rpIdHash ‖ flags (no UP, no UV) ‖ signCount 0 (§6.1 authenticator data).
    let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
    auth_data.extend_from_slice(&[0x00, 0, 0, 0, 0]);
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let mut entries = vec![
                (
                    Value::Integer(1.into()),
                    Value::Map(vec![
                        (Value::Text("id".into()), Value::Bytes(id.to_vec())),
                        (Value::Text("type".into()), Value::Text(PUBLIC_KEY.into())),
                    ]),
                ),
                (Value::Integer(2.into()), Value::Bytes(auth_data.clone())),
                (
                    Value::Integer(3.into()),
                    Value::Bytes(PLACEHOLDER_SIGNATURE.to_vec()),
                ),
            ];
            if i == 0 && ids.len() > 1 {
                // numberOfCredentials: only in the first response (§6.2.2).
                entries.push((Value::Integer(5.into()), Value::Integer(ids.len().into())));
            }
            let mut out = vec![0x00];
            out.extend(to_canonical_vec(&Value::Map(entries)));
            out
        })
        .collect()
}
