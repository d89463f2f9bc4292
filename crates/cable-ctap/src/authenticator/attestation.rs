//! Signing for the software authenticator: assertion signatures and `packed` self attestation
//! (the new credential's key signs `authData || clientDataHash`; no certificate).

use crate::attestation_object::PackedStatement;
use crate::entities::ES256;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

/// DER ECDSA P-256/SHA-256 signature over `auth_data || client_data_hash`.
pub(crate) fn sign(key: &SigningKey, auth_data: &[u8], client_data_hash: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(auth_data.len() + 32);
    message.extend_from_slice(auth_data);
    message.extend_from_slice(client_data_hash);
    let signature: Signature = key.sign(&message);
    signature.to_der().as_bytes().to_vec()
}

/// The packed self-attestation statement for a new credential.
pub(crate) fn packed_self(
    key: &SigningKey,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
) -> PackedStatement {
    PackedStatement {
        alg: ES256,
        sig: sign(key, auth_data, client_data_hash),
        x5c: Vec::new(),
    }
}
