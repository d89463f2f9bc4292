//! Secret bytes: zeroized when dropped, printed as `[redacted]`, compared in constant time.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `N` secret bytes. `Debug` never shows them; `expose` is the one way out.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret<const N: usize>([u8; N]);

impl<const N: usize> Secret<N> {
    pub fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Copies a slice of exactly `N` bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; N]>::try_from(bytes).ok().map(Self)
    }

    /// Fresh random bytes from `rng`.
    pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut bytes = [0u8; N];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<const N: usize> PartialEq for Secret<N> {
    fn eq(&self, other: &Self) -> bool {
        use p256::elliptic_curve::subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl<const N: usize> Eq for Secret<N> {}
