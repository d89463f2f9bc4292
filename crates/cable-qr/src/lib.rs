//! The QR layer of the FIDO hybrid transport (caBLE v2), HYBRID.md §2 and §3.
//!
//! Both roles use the same types:
//! * the desktop calls [`QrHandshake::generate`], shows [`QrHandshake::url`] (rendered with
//!   [`render`]) and keeps the [`IdentityKey`] for the Noise handshake;
//! * the phone calls [`QrPayload::parse_url`] on the scanned text.
//!
//! Either side then derives the EID key, tunnel ID and PSK through [`QrPayload`], which
//! delegates to `cable_keys`. A QR code is `"FIDO:/" || digits(canonical CBOR map)`:
//! [`digits`] is the base-10 codec, [`payload`] the CBOR map.
//!
//! Everything here is sans-IO: time is an argument and randomness comes from the caller's RNG.

#![forbid(unsafe_code)]

pub mod digits;
mod error;
mod handshake;
pub mod payload;
pub mod render;
mod request_type;

pub use cable_keys::{EidKey, IdentityKey, Psk, PublicKey, QrSecret};
pub use error::{DigitsError, QrError, RenderError};
pub use handshake::QrHandshake;
pub use payload::QrPayload;
pub use request_type::RequestType;

/// The text every hybrid QR code starts with. We emit it in upper case so QR encoders can use
/// alphanumeric mode for it (and numeric mode for the digits); parsers accept any case.
pub const PREFIX: &str = "FIDO:/";

/// Number of assigned tunnel-server domains a current desktop knows (key 2 of the payload).
pub const KNOWN_DOMAINS: u64 = 2;
