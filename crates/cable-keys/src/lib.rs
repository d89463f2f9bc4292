//! Key material shared by every layer of the hybrid transport.
//!
//! * [`derive`]: the protocol's one KDF, `HKDF-SHA256(secret, salt=nonce, info=LE32(purpose))`
//!   (HYBRID.md §3).
//! * [`Secret`]: fixed-size secret bytes that zeroize on drop and never print.
//! * [`IdentityKey`] / [`PublicKey`]: P-256 keys with the encodings the protocol uses
//!   (compressed in the QR, uncompressed in Noise and linking data) and raw ECDH.
//! * [`cbor`]: CTAP2-canonical CBOR encoding and bounded decoding, used by every codec.
//!
//! Nothing here touches the network or the clock; randomness comes from a caller-supplied RNG
//! wherever a test may want to fix it.

pub mod cbor;
mod derive;
mod p256_keys;
mod secret;

pub use derive::{derive, derive_array, Purpose};
pub use p256_keys::{IdentityKey, KeyError, PublicKey};
pub use secret::Secret;

/// The 16-byte secret carried in a QR code.
pub type QrSecret = Secret<16>;
/// The 64-byte EID key: AES-256 key (bytes 0..32) then HMAC key (bytes 32..64).
pub type EidKey = Secret<64>;
/// The 32-byte Noise pre-shared key.
pub type Psk = Secret<32>;
/// The 32-byte secret a phone hands over when it links to this computer.
pub type LinkSecret = Secret<32>;

/// Derives the EID key (purpose 1) from a QR secret (no salt) or a link secret (client nonce).
pub fn eid_key(secret: &[u8], salt: &[u8]) -> EidKey {
    Secret::new(derive_array(secret, salt, Purpose::EidKey))
}

/// Derives the Noise PSK (purpose 3) from a QR or link secret and the 16-byte EID plaintext.
pub fn psk(secret: &[u8], eid_plaintext: &[u8; 16]) -> Psk {
    Secret::new(derive_array(secret, eid_plaintext, Purpose::Psk))
}

/// Derives the QR flow's tunnel ID (purpose 2). It is not secret: it travels in a URL.
pub fn tunnel_id(qr_secret: &QrSecret) -> [u8; 16] {
    derive_array(qr_secret.expose(), &[], Purpose::TunnelId)
}
