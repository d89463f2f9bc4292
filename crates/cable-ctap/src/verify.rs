//! The desktop's checks of what a phone signed, independent of the software authenticator:
//! ECDSA P-256 / SHA-256 over `authenticatorData || clientDataHash`, DER signatures.

use crate::attestation_object::{AttestationObject, PackedStatement};
use crate::auth_data::AuthenticatorData;
use crate::cose::CoseKey;
use crate::entities::{CborMessage, ES256};
use crate::error::CtapError;
use crate::Result;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::Signature;

/// Verifies an assertion signature with the credential's COSE public key (as stored at
/// registration).
pub fn verify_assertion(
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    signature: &[u8],
    cose_public_key: &[u8],
) -> Result<()> {
    verify_signature(
        &CoseKey::from_bytes(cose_public_key)?,
        auth_data,
        client_data_hash,
        signature,
    )
}

/// Verifies a DER ECDSA signature over `auth_data || client_data_hash`.
pub fn verify_signature(
    key: &CoseKey,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    signature: &[u8],
) -> Result<()> {
    let signature = Signature::from_der(signature)
        .map_err(|_| CtapError::Signature("the signature is not a DER ECDSA signature".into()))?;
    let mut message = Vec::with_capacity(auth_data.len() + 32);
    message.extend_from_slice(auth_data);
    message.extend_from_slice(client_data_hash);
    key.verifying_key()?
        .verify(&message, &signature)
        .map_err(|_| CtapError::Signature("the signature does not match the key and data".into()))
}

/// Verifies a `packed` self attestation (no certificate chain): `attStmt.sig` must be made by
/// the attested credential key over `authData || clientDataHash`. Returns the parsed
/// authenticator data.
pub fn verify_packed_self_attestation(
    attestation_object: &[u8],
    client_data_hash: &[u8; 32],
) -> Result<AuthenticatorData> {
    let object = AttestationObject::from_cbor(attestation_object)?;
    if object.fmt != "packed" {
        return Err(CtapError::Attestation(format!(
            "the format is {:?}, not \"packed\"",
            object.fmt
        )));
    }
    let statement = PackedStatement::from_value(&object.att_stmt)?;
    if !statement.x5c.is_empty() {
        return Err(CtapError::Attestation(
            "the statement has a certificate chain (x5c); only self attestation is verified here"
                .into(),
        ));
    }
    let auth_data = AuthenticatorData::parse(&object.auth_data)?;
    let attested = auth_data.attested_credential.as_ref().ok_or_else(|| {
        CtapError::Attestation("the authenticator data has no attested credential".into())
    })?;
    let key = attested.credential_public_key()?;
    if statement.alg != ES256 || statement.alg != key.alg() {
        return Err(CtapError::Attestation(format!(
            "alg {} does not match the credential key's algorithm {}",
            statement.alg,
            key.alg()
        )));
    }
    verify_signature(&key, &object.auth_data, client_data_hash, &statement.sig)?;
    Ok(auth_data)
}
