//! COSE_Key for EC2 P-256 / ES256 (RFC 9053 §7.1, WebAuthn §6.5.1.1): the only credential
//! public key phones create for passkeys.
//!
//! `{1: 2 (kty EC2), 3: -7 (alg ES256), -1: 1 (crv P-256), -2: x, -3: y}`.

use crate::cbor_util::{self as cu, as_bytes, as_i64};
use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::{self, Value};
use p256::ecdsa::VerifyingKey;
use p256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint};
use p256::pkcs8::EncodePublicKey;

const KTY_EC2: i64 = 2;
const CRV_P256: i64 = 1;

/// A P-256 public key as a COSE_Key. Construction checks the point is on the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoseKey {
    x: [u8; 32],
    y: [u8; 32],
}

impl CoseKey {
    /// From affine coordinates; fails if the point is not on P-256.
    pub fn from_coordinates(x: [u8; 32], y: [u8; 32]) -> Result<Self> {
        let key = Self { x, y };
        key.public_key()?;
        Ok(key)
    }

    pub fn from_public_key(key: &p256::PublicKey) -> Self {
        let point = key.to_encoded_point(false);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // An uncompressed point of a valid key always has both coordinates.
        if let (Some(px), Some(py)) = (point.x(), point.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        Self { x, y }
    }

    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        Self::from_public_key(&p256::PublicKey::from(key))
    }

    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }

    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// The COSE algorithm of this key: always ES256 (-7).
    pub fn alg(&self) -> i64 {
        crate::entities::ES256
    }

    pub fn public_key(&self) -> Result<p256::PublicKey> {
        let point = EncodedPoint::<p256::NistP256>::from_affine_coordinates(
            (&self.x).into(),
            (&self.y).into(),
            false,
        );
        Option::from(p256::PublicKey::from_encoded_point(&point))
            .ok_or_else(|| CtapError::CoseKey("the point is not on the P-256 curve".into()))
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        Ok(VerifyingKey::from(self.public_key()?))
    }

    /// X9.62 uncompressed point `04 || x || y`.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[0] = 0x04;
        out[1..33].copy_from_slice(&self.x);
        out[33..].copy_from_slice(&self.y);
        out
    }

    /// DER SubjectPublicKeyInfo, the `publicKey` of a WebAuthn registration response.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        self.public_key()?
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|e| CtapError::CoseKey(format!("cannot encode as SubjectPublicKeyInfo: {e}")))
    }

    pub fn to_value(&self) -> Value {
        Value::Map(vec![
            (cu::int(1), cu::int(KTY_EC2)),
            (cu::int(3), cu::int(crate::entities::ES256)),
            (cu::int(-1), cu::int(CRV_P256)),
            (cu::int(-2), cu::bytes(&self.x)),
            (cu::int(-3), cu::bytes(&self.y)),
        ])
    }

    /// Canonical CBOR bytes (`a5 01 02 03 26 20 01 21 58 20 … 22 58 20 …`).
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_canonical_vec(&self.to_value())
    }

    pub fn from_value(value: &Value) -> Result<Self> {
        let entries = match value {
            Value::Map(entries) => entries,
            other => {
                return Err(CtapError::CoseKey(format!(
                    "expected a map, found {}",
                    cu::kind(other)
                )))
            }
        };
        let get = |label: i64, name: &str| -> Result<&Value> {
            entries
                .iter()
                .find_map(|(k, v)| match k {
                    Value::Integer(i) if i128::from(*i) == i128::from(label) => Some(v),
                    _ => None,
                })
                .ok_or_else(|| CtapError::CoseKey(format!("{name} (label {label}) is missing")))
        };
        let int = |label: i64, name: &str, want: i64, meaning: &str| -> Result<()> {
            let found = as_i64(get(label, name)?, &format!("COSE key {name}"))?;
            if found == want {
                Ok(())
            } else {
                Err(CtapError::CoseKey(format!(
                    "{name} is {found}; only {want} ({meaning}) is supported"
                )))
            }
        };
        int(1, "kty", KTY_EC2, "EC2")?;
        int(3, "alg", crate::entities::ES256, "ES256")?;
        int(-1, "crv", CRV_P256, "P-256")?;
        let coord = |label: i64, name: &str| -> Result<[u8; 32]> {
            let b = as_bytes(get(label, name)?, &format!("COSE key {name}"))?;
            <[u8; 32]>::try_from(b).map_err(|_| {
                CtapError::CoseKey(format!("{name} is {} bytes long; it must be 32", b.len()))
            })
        };
        Self::from_coordinates(coord(-2, "x")?, coord(-3, "y")?)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_value(&cu::decode(bytes, "COSE key")?)
    }
}
