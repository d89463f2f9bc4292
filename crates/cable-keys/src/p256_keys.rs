//! P-256 keys in the encodings hybrid uses: compressed (33 bytes) in the QR code, uncompressed
//! (65 bytes) in Noise and linking data; ECDH output is the raw 32-byte X coordinate.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use std::fmt;

/// Why bytes are not a usable P-256 key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("public key has {0} bytes; expected 33 (compressed) or 65 (uncompressed)")]
    PublicKeyLength(usize),
    #[error("public key is not a point on the P-256 curve")]
    NotOnCurve,
    #[error("private key is not a valid P-256 scalar")]
    InvalidPrivateKey,
}

/// A P-256 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(p256::PublicKey);

impl PublicKey {
    /// Parses a SEC1 point, compressed (33 bytes) or uncompressed (65 bytes).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        // Only the two X9.62 forms hybrid uses; BoringSSL (so Chromium) rejects the rest,
        // such as SEC1 "compact" points that p256 would otherwise accept.
        match (bytes.len(), bytes.first()) {
            (33, Some(2 | 3)) | (65, Some(4)) => {}
            (33 | 65, _) => return Err(KeyError::NotOnCurve),
            (len, _) => return Err(KeyError::PublicKeyLength(len)),
        }
        p256::PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::NotOnCurve)
    }

    pub fn compressed(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(point.as_bytes());
        out
    }

    pub fn uncompressed(&self) -> [u8; 65] {
        let point = self.0.to_encoded_point(false);
        let mut out = [0u8; 65];
        out.copy_from_slice(point.as_bytes());
        out
    }

    pub fn inner(&self) -> &p256::PublicKey {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(")?;
        for b in self.compressed() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A P-256 private key (the desktop's QR identity, or a phone's long-term identity).
/// The inner key zeroizes itself on drop.
#[derive(Clone)]
pub struct IdentityKey(p256::SecretKey);

impl IdentityKey {
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        Self(p256::SecretKey::random(rng))
    }

    /// From a 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        p256::SecretKey::from_slice(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPrivateKey)
    }

    /// The 32-byte big-endian scalar, wrapped so that it zeroizes.
    pub fn to_bytes(&self) -> crate::Secret<32> {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.to_bytes());
        crate::Secret::new(out)
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key())
    }

    /// Raw ECDH: the X coordinate of `self · peer`.
    pub fn ecdh(&self, peer: &PublicKey) -> crate::Secret<32> {
        let shared = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), peer.0.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        crate::Secret::new(out)
    }

    pub fn inner(&self) -> &p256::SecretKey {
        &self.0
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey([redacted], public={:?})", self.public_key())
    }
}
