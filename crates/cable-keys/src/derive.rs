//! HYBRID.md §3.1: `Derive(secret, nonce, purpose, L)`.

use hkdf::Hkdf;
use sha2::Sha256;

/// The `purpose` argument of `Derive`, sent as `info = LE32(purpose)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    EidKey = 1,
    TunnelId = 2,
    Psk = 3,
    PairedSecret = 4,
    IdentityKeySeed = 5,
    PerContactIdSecret = 6,
}

impl Purpose {
    /// The HKDF `info` bytes: the purpose as a little-endian u32.
    pub fn info(self) -> [u8; 4] {
        (self as u32).to_le_bytes()
    }

    /// The purpose for a raw number, if the protocol defines it.
    pub fn from_u32(n: u32) -> Option<Self> {
        Some(match n {
            1 => Self::EidKey,
            2 => Self::TunnelId,
            3 => Self::Psk,
            4 => Self::PairedSecret,
            5 => Self::IdentityKeySeed,
            6 => Self::PerContactIdSecret,
            _ => return None,
        })
    }
}

/// Fills `out` with `HKDF-SHA256(IKM = secret, salt = salt, info = LE32(purpose))`.
///
/// An empty salt is "no salt" (RFC 5869: 32 zero bytes). Panics only if `out` is longer than
/// HKDF allows (255 × 32 bytes), which no protocol length comes near.
pub fn derive(secret: &[u8], salt: &[u8], purpose: Purpose, out: &mut [u8]) {
    let salt = (!salt.is_empty()).then_some(salt);
    let hk = Hkdf::<Sha256>::new(salt, secret);
    hk.expand(&purpose.info(), out)
        .expect("protocol output lengths are far below the HKDF limit");
}

/// [`derive`] into a fixed-size array.
pub fn derive_array<const N: usize>(secret: &[u8], salt: &[u8], purpose: Purpose) -> [u8; N] {
    let mut out = [0u8; N];
    derive(secret, salt, purpose, &mut out);
    out
}
