//! HYBRID.md §6: the Noise handshake, both roles, on snow.
//!
//! * QR flow: `Noise_KNpsk0_P256_AESGCM_SHA256`, prologue `01`. The desktop's QR identity is
//!   the initiator's static key, known to the phone from the QR code (pre-message).
//! * Linked flow: `Noise_NKpsk0_P256_AESGCM_SHA256`, prologue `00`. The phone's long-term
//!   identity is the responder's static key, known to the desktop from the link.
//!
//! Each side sends one 81-byte message (65-byte ephemeral point + 16-byte tag of an empty
//! payload). snow's psk mode mixes the ephemeral key into the chaining key (`MixKey(e.pub)`)
//! exactly as §6.2 says; noise.json's transcripts confirm it byte for byte.
//!
//! Ephemeral keys come from the caller's RNG: we generate the key pair with p256 and hand the
//! scalar to snow (snow would otherwise draw from its own RNG, which a test cannot seed).

use crate::crypter::{Crypter, Role};
use crate::error::{Error, Result};
use cable_keys::{IdentityKey, PublicKey, Secret};
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

/// Length of each handshake message: an uncompressed P-256 point and an AES-GCM tag.
pub const HANDSHAKE_MESSAGE_LEN: usize = POINT_LEN + 16;
const POINT_LEN: usize = 65;
/// snow refuses longer messages; a longer message 1 is rejected before it reaches snow.
const NOISE_MAX_MESSAGE_LEN: usize = 65535;

/// The two handshake patterns hybrid uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// QR-initiated: KNpsk0, prologue `01`.
    Qr,
    /// Linked (state-assisted): NKpsk0, prologue `00`.
    Linked,
}

impl Flow {
    pub fn protocol_name(self) -> &'static str {
        match self {
            Self::Qr => "Noise_KNpsk0_P256_AESGCM_SHA256",
            Self::Linked => "Noise_NKpsk0_P256_AESGCM_SHA256",
        }
    }

    pub fn prologue(self) -> u8 {
        match self {
            Self::Qr => 1,
            Self::Linked => 0,
        }
    }
}

/// What both sides hold after the handshake.
#[derive(Debug)]
pub struct HandshakeResult {
    /// The final Noise `h`; the linking signature (§9.3) is computed over it.
    pub handshake_hash: [u8; 32],
    /// The channel: desktop writes with `k1` and reads with `k2`, the phone the reverse.
    pub crypter: Crypter,
}

/// The desktop's side: builds message 1, then consumes message 2.
pub struct HandshakeInitiator {
    state: snow::HandshakeState,
}

impl std::fmt::Debug for HandshakeInitiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandshakeInitiator([redacted])")
    }
}

impl HandshakeInitiator {
    /// QR flow: `identity` is the desktop's QR identity key. Returns message 1 (81 bytes).
    pub fn qr(
        psk: &cable_keys::Psk,
        identity: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<u8>)> {
        Self::qr_with_ephemeral(psk, identity, &IdentityKey::generate(rng))
    }

    /// Linked flow: `phone_public` is the phone's identity key stored with the link.
    pub fn linked(
        psk: &cable_keys::Psk,
        phone_public: &PublicKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<u8>)> {
        Self::linked_with_ephemeral(psk, phone_public, &IdentityKey::generate(rng))
    }

    /// [`Self::qr`] with a chosen ephemeral key, to reproduce fixed transcripts.
    #[doc(hidden)]
    pub fn qr_with_ephemeral(
        psk: &cable_keys::Psk,
        identity: &IdentityKey,
        ephemeral: &IdentityKey,
    ) -> Result<(Self, Vec<u8>)> {
        let local = identity.to_bytes();
        let e = ephemeral.to_bytes();
        let builder = builder(Flow::Qr, psk, &e)?
            .local_private_key(local.expose())
            .map_err(noise_error)?;
        Self::start(builder)
    }

    /// [`Self::linked`] with a chosen ephemeral key, to reproduce fixed transcripts.
    #[doc(hidden)]
    pub fn linked_with_ephemeral(
        psk: &cable_keys::Psk,
        phone_public: &PublicKey,
        ephemeral: &IdentityKey,
    ) -> Result<(Self, Vec<u8>)> {
        let remote = phone_public.uncompressed();
        let e = ephemeral.to_bytes();
        let builder = builder(Flow::Linked, psk, &e)?
            .remote_public_key(&remote)
            .map_err(noise_error)?;
        Self::start(builder)
    }

    fn start(builder: snow::Builder<'_>) -> Result<(Self, Vec<u8>)> {
        let mut state = builder.build_initiator().map_err(noise_error)?;
        let mut message = vec![0u8; HANDSHAKE_MESSAGE_LEN];
        let n = state
            .write_message(&[], &mut message)
            .map_err(noise_error)?;
        message.truncate(n);
        Ok((Self { state }, message))
    }

    /// Consumes message 2, which must be exactly 81 bytes with an empty payload.
    pub fn finish(mut self, message2: &[u8]) -> Result<HandshakeResult> {
        if message2.len() != HANDSHAKE_MESSAGE_LEN {
            return Err(Error::HandshakeLength {
                message: "response (message 2)",
                expected: "exactly 81",
                got: message2.len(),
            });
        }
        check_point(message2)?;
        let mut payload = vec![0u8; message2.len()];
        let n = self
            .state
            .read_message(message2, &mut payload)
            .map_err(noise_error)?;
        if n != 0 {
            return Err(Error::HandshakePayloadNotEmpty(n));
        }
        into_result(self.state, Role::Desktop)
    }
}

/// The phone's side of the QR flow: `desktop_public` is the key from the QR code.
/// Returns message 2 and the session.
pub fn respond_qr(
    psk: &cable_keys::Psk,
    desktop_public: &PublicKey,
    message1: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(Vec<u8>, HandshakeResult)> {
    respond_qr_with_ephemeral(psk, desktop_public, message1, &IdentityKey::generate(rng))
}

/// The phone's side of the linked flow: `identity` is the phone's long-term key.
pub fn respond_linked(
    psk: &cable_keys::Psk,
    identity: &IdentityKey,
    message1: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(Vec<u8>, HandshakeResult)> {
    respond_linked_with_ephemeral(psk, identity, message1, &IdentityKey::generate(rng))
}

/// [`respond_qr`] with a chosen ephemeral key, to reproduce fixed transcripts.
#[doc(hidden)]
pub fn respond_qr_with_ephemeral(
    psk: &cable_keys::Psk,
    desktop_public: &PublicKey,
    message1: &[u8],
    ephemeral: &IdentityKey,
) -> Result<(Vec<u8>, HandshakeResult)> {
    let remote = desktop_public.uncompressed();
    let e = ephemeral.to_bytes();
    let builder = builder(Flow::Qr, psk, &e)?
        .remote_public_key(&remote)
        .map_err(noise_error)?;
    respond(builder, message1)
}

/// [`respond_linked`] with a chosen ephemeral key, to reproduce fixed transcripts.
#[doc(hidden)]
pub fn respond_linked_with_ephemeral(
    psk: &cable_keys::Psk,
    identity: &IdentityKey,
    message1: &[u8],
    ephemeral: &IdentityKey,
) -> Result<(Vec<u8>, HandshakeResult)> {
    let local = identity.to_bytes();
    let e = ephemeral.to_bytes();
    let builder = builder(Flow::Linked, psk, &e)?
        .local_private_key(local.expose())
        .map_err(noise_error)?;
    respond(builder, message1)
}

fn respond(builder: snow::Builder<'_>, message1: &[u8]) -> Result<(Vec<u8>, HandshakeResult)> {
    if message1.len() < POINT_LEN || message1.len() > NOISE_MAX_MESSAGE_LEN {
        return Err(Error::HandshakeLength {
            message: "initial message (message 1)",
            expected: "at least 65 (normally 81)",
            got: message1.len(),
        });
    }
    check_point(message1)?;
    let mut state = builder.build_responder().map_err(noise_error)?;
    let mut payload = vec![0u8; message1.len()];
    let n = state
        .read_message(message1, &mut payload)
        .map_err(noise_error)?;
    if n != 0 {
        return Err(Error::HandshakePayloadNotEmpty(n));
    }
    let mut message2 = vec![0u8; HANDSHAKE_MESSAGE_LEN];
    let n = state
        .write_message(&[], &mut message2)
        .map_err(noise_error)?;
    message2.truncate(n);
    Ok((message2, into_result(state, Role::Phone)?))
}

fn builder<'a>(
    flow: Flow,
    psk: &'a cable_keys::Psk,
    ephemeral: &'a Secret<32>,
) -> Result<snow::Builder<'a>> {
    let params: snow::params::NoiseParams = flow.protocol_name().parse().map_err(noise_error)?;
    let prologue: &'static [u8] = match flow {
        Flow::Qr => &[1],
        Flow::Linked => &[0],
    };
    snow::Builder::new(params)
        .prologue(prologue)
        .and_then(|b| b.psk(0, psk.expose()))
        .map(|b| b.fixed_ephemeral_key_for_testing_only(ephemeral.expose()))
        .map_err(noise_error)
}

/// The first 65 bytes of a handshake message must be an uncompressed P-256 point.
fn check_point(message: &[u8]) -> Result<()> {
    let point = message
        .get(..POINT_LEN)
        .ok_or(Error::HandshakePointInvalid)?;
    if point.first() != Some(&0x04) {
        return Err(Error::HandshakePointInvalid);
    }
    PublicKey::from_sec1(point).map_err(|_| Error::HandshakePointInvalid)?;
    Ok(())
}

fn into_result(mut state: snow::HandshakeState, role: Role) -> Result<HandshakeResult> {
    let handshake_hash: [u8; 32] = state
        .get_handshake_hash()
        .try_into()
        .map_err(|_| Error::Noise("handshake hash is not 32 bytes".into()))?;
    let (mut k1, mut k2) = state.dangerously_get_raw_split();
    let (s1, s2) = (Secret::new(k1), Secret::new(k2));
    k1.zeroize();
    k2.zeroize();
    let crypter = match role {
        Role::Desktop => Crypter::new(role, s2, s1),
        Role::Phone => Crypter::new(role, s1, s2),
    };
    Ok(HandshakeResult {
        handshake_hash,
        crypter,
    })
}

fn noise_error(e: snow::Error) -> Error {
    match e {
        snow::Error::Decrypt => Error::HandshakeAuthFailed,
        snow::Error::Dh => Error::HandshakePointInvalid,
        other => Error::Noise(other.to_string()),
    }
}
