//! HYBRID.md §7.1–7.2: the encrypted channel after the handshake ("Crypter").
//!
//! Each direction has its own key and a 32-bit counter. Plaintexts are padded to a multiple of
//! 32 bytes (zeros, then a byte counting them) and sealed with AES-256-GCM. Two nonce
//! constructions exist: the current one (standard Noise: 8 zero bytes then the big-endian
//! counter, no associated data) and a legacy one (little-endian counter then 8 zero bytes,
//! associated data `02`) that early Chrome releases used. snow's transport mode cannot do the
//! legacy form or this padding, so the channel is built on `aes-gcm` directly.

use crate::error::{Error, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use cable_keys::Secret;
use std::fmt;

/// Chromium refuses counters above this (`kMaxSequence`).
pub const MAX_SEQUENCE: u32 = (1 << 24) - 1;
/// Plaintexts are padded to a multiple of this.
pub const PADDING_GRANULARITY: usize = 32;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

const LEGACY_AAD: &[u8] = &[2];

/// Which end of the channel this is. Only the desktop may fall back to the legacy construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Desktop,
    Phone,
}

/// The nonce/associated-data construction in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Construction {
    /// `00×8 || BE32(counter)`, empty associated data: current Chromium, Play services, iOS.
    New,
    /// `LE32(counter) || 00×8`, associated data `02`: early Chromium and Chrome-Android.
    Legacy,
}

/// One session's traffic keys and counters. Keys zeroize on drop; `Debug` shows no key bytes.
pub struct Crypter {
    role: Role,
    read_key: Secret<32>,
    write_key: Secret<32>,
    read_counter: u32,
    write_counter: u32,
    construction: Construction,
    received_any: bool,
}

impl Crypter {
    /// A channel in the new construction. The desktop reads with `k2` and writes with `k1`
    /// of the Noise split; the phone the reverse (§6.5).
    pub fn new(role: Role, read_key: Secret<32>, write_key: Secret<32>) -> Self {
        Self {
            role,
            read_key,
            write_key,
            read_counter: 0,
            write_counter: 0,
            construction: Construction::New,
            received_any: false,
        }
    }

    /// Uses `construction` from now on (e.g. a virtual phone imitating an early Chrome release).
    pub fn with_construction(mut self, construction: Construction) -> Self {
        self.construction = construction;
        self
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn construction(&self) -> Construction {
        self.construction
    }

    /// Pads, encrypts and advances the write counter.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        if self.write_counter > MAX_SEQUENCE {
            return Err(Error::SequenceExhausted);
        }
        let padded = pad(plaintext)?;
        let ciphertext = seal(
            &self.write_key,
            self.construction,
            self.write_counter,
            &padded,
        )?;
        self.write_counter += 1;
        Ok(ciphertext)
    }

    /// Decrypts, advances the read counter and strips the padding.
    ///
    /// On the desktop, if the very first message received fails in the new construction, the
    /// legacy one is tried; if that succeeds the whole session (both directions) switches to
    /// legacy, as webauthn-rs does for early Chrome-Android phones. The phone never falls back.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        if self.read_counter > MAX_SEQUENCE {
            return Err(Error::SequenceExhausted);
        }
        let opened = match open(
            &self.read_key,
            self.construction,
            self.read_counter,
            ciphertext,
        ) {
            Some(p) => p,
            None if self.may_fall_back() => {
                let p = open(
                    &self.read_key,
                    Construction::Legacy,
                    self.read_counter,
                    ciphertext,
                )
                .ok_or(Error::DecryptFailed)?;
                tracing::debug!("peer uses the legacy transport construction; switching");
                self.construction = Construction::Legacy;
                p
            }
            None => return Err(Error::DecryptFailed),
        };
        self.received_any = true;
        self.read_counter += 1;
        // Chromium counts the message as received before it checks the padding.
        Ok(unpad(&opened)?.to_vec())
    }

    fn may_fall_back(&self) -> bool {
        self.role == Role::Desktop && !self.received_any && self.construction == Construction::New
    }

    /// True if `other` reads what `self` writes and vice versa (tests of both roles).
    pub fn is_counterpart_of(&self, other: &Crypter) -> bool {
        self.read_key == other.write_key && self.write_key == other.read_key
    }

    /// Sets both counters, to test the 2^24 limit without sending 16 million messages.
    #[doc(hidden)]
    pub fn set_counters_for_testing(&mut self, read: u32, write: u32) {
        self.read_counter = read;
        self.write_counter = write;
    }

    /// The raw keys, for checking transcripts against vectors.
    #[doc(hidden)]
    pub fn keys_for_testing(&self) -> (&[u8; 32], &[u8; 32]) {
        (self.read_key.expose(), self.write_key.expose())
    }
}

impl fmt::Debug for Crypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypter")
            .field("role", &self.role)
            .field("keys", &"[redacted]")
            .field("read_counter", &self.read_counter)
            .field("write_counter", &self.write_counter)
            .field("construction", &self.construction)
            .finish()
    }
}

/// Appends zeros and a count byte so the length is the smallest multiple of 32 above `len`.
pub fn pad(message: &[u8]) -> Result<Vec<u8>> {
    let padded_len = message
        .len()
        .checked_add(1)
        .and_then(|n| n.checked_next_multiple_of(PADDING_GRANULARITY))
        .ok_or(Error::MessageTooLarge(message.len()))?;
    let zeros = padded_len - message.len() - 1;
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(message);
    out.resize(padded_len - 1, 0);
    // zeros < 32, so it fits in the count byte.
    out.push(zeros as u8);
    Ok(out)
}

/// Strips padding: the last byte `p` counts the zeros before it; requires `p + 1 <= len`.
/// The zeros themselves are not checked (Chromium does not).
pub fn unpad(padded: &[u8]) -> Result<&[u8]> {
    let (&count, _) = padded.split_last().ok_or(Error::EmptyPlaintext)?;
    let strip = usize::from(count) + 1;
    let keep = padded
        .len()
        .checked_sub(strip)
        .ok_or(Error::PaddingTooLong {
            padding: usize::from(count),
            len: padded.len(),
        })?;
    Ok(&padded[..keep])
}

/// The 12-byte nonce for `counter` in `construction`.
pub fn nonce(construction: Construction, counter: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    match construction {
        Construction::New => n[8..].copy_from_slice(&counter.to_be_bytes()),
        Construction::Legacy => n[..4].copy_from_slice(&counter.to_le_bytes()),
    }
    n
}

fn aad(construction: Construction) -> &'static [u8] {
    match construction {
        Construction::New => &[],
        Construction::Legacy => LEGACY_AAD,
    }
}

fn seal(
    key: &Secret<32>,
    construction: Construction,
    counter: u32,
    padded: &[u8],
) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let n = nonce(construction, counter);
    cipher
        .encrypt(
            &Nonce::from(n),
            Payload {
                msg: padded,
                aad: aad(construction),
            },
        )
        // aes-gcm fails only for plaintexts over 64 GiB.
        .map_err(|_| Error::MessageTooLarge(padded.len()))
}

fn open(
    key: &Secret<32>,
    construction: Construction,
    counter: u32,
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let n = nonce(construction, counter);
    cipher
        .decrypt(
            &Nonce::from(n),
            Payload {
                msg: ciphertext,
                aad: aad(construction),
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Crypter, Crypter) {
        let k1 = Secret::new([1u8; 32]);
        let k2 = Secret::new([2u8; 32]);
        (
            Crypter::new(Role::Desktop, k2.clone(), k1.clone()),
            Crypter::new(Role::Phone, k1, k2),
        )
    }

    #[test]
    fn padding_examples() {
        assert_eq!(pad(&[]).unwrap(), [vec![0u8; 31], vec![31]].concat());
        assert_eq!(pad(&[9; 31]).unwrap(), [vec![9u8; 31], vec![0]].concat());
        assert_eq!(pad(&[9; 32]).unwrap().len(), 64);
        assert_eq!(unpad(&[]), Err(Error::EmptyPlaintext));
        assert_eq!(
            unpad(&[5]),
            Err(Error::PaddingTooLong { padding: 5, len: 1 })
        );
        assert_eq!(unpad(&[0]).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn both_directions_and_counters() {
        let (mut d, mut p) = pair();
        assert!(d.is_counterpart_of(&p));
        for i in 0..5u8 {
            let c = d.encrypt(&[i; 40]).unwrap();
            assert_eq!(c.len(), 64 + TAG_LEN);
            assert_eq!(p.decrypt(&c).unwrap(), vec![i; 40]);
            let c = p.encrypt(&[i]).unwrap();
            assert_eq!(d.decrypt(&c).unwrap(), vec![i]);
        }
        // Replay is rejected: the counter has moved on.
        let c = d.encrypt(b"x").unwrap();
        assert_eq!(p.decrypt(&c).unwrap(), b"x");
        assert_eq!(p.decrypt(&c), Err(Error::DecryptFailed));
        assert_eq!(format!("{d:?}").matches("[redacted]").count(), 1);
    }

    #[test]
    fn counter_limit() {
        let (mut d, mut p) = pair();
        d.set_counters_for_testing(0, MAX_SEQUENCE);
        p.set_counters_for_testing(MAX_SEQUENCE, 0);
        let c = d.encrypt(b"last").unwrap();
        assert_eq!(p.decrypt(&c).unwrap(), b"last");
        assert_eq!(d.encrypt(b"one more"), Err(Error::SequenceExhausted));
        assert_eq!(p.decrypt(&c), Err(Error::SequenceExhausted));
    }

    #[test]
    fn desktop_falls_back_to_legacy_on_first_message_only() {
        let (mut d, p) = pair();
        let mut p = p.with_construction(Construction::Legacy);
        let c = p.encrypt(b"post-handshake").unwrap();
        assert_eq!(d.decrypt(&c).unwrap(), b"post-handshake");
        assert_eq!(d.construction(), Construction::Legacy);
        // Both directions are legacy now.
        let c = d.encrypt(b"request").unwrap();
        assert_eq!(p.decrypt(&c).unwrap(), b"request");
        let c = p.encrypt(b"response").unwrap();
        assert_eq!(d.decrypt(&c).unwrap(), b"response");
    }

    #[test]
    fn no_fallback_after_first_message_or_on_phone() {
        let (mut d, mut p) = pair();
        let c = p.encrypt(b"first").unwrap();
        d.decrypt(&c).unwrap();
        let mut legacy_p = Crypter::new(Role::Phone, Secret::new([1; 32]), Secret::new([2; 32]))
            .with_construction(Construction::Legacy);
        legacy_p.set_counters_for_testing(0, 1);
        let c = legacy_p.encrypt(b"second").unwrap();
        assert_eq!(d.decrypt(&c), Err(Error::DecryptFailed));
        assert_eq!(d.construction(), Construction::New);

        // A phone never falls back.
        let (mut d, mut p) = pair();
        let mut d_legacy = Crypter::new(Role::Desktop, Secret::new([2; 32]), Secret::new([1; 32]))
            .with_construction(Construction::Legacy);
        let c = d_legacy.encrypt(b"x").unwrap();
        assert_eq!(p.decrypt(&c), Err(Error::DecryptFailed));
        // And a failed first message does not stop the desktop later decrypting new ones.
        let c = p.encrypt(b"ok").unwrap();
        assert_eq!(d.decrypt(&[0u8; 48]), Err(Error::DecryptFailed));
        assert_eq!(d.decrypt(&c).unwrap(), b"ok");
    }
}
