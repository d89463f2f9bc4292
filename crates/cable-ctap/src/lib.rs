//! CTAP2 as the hybrid transport carries it (HYBRID.md §8, §12), both directions.
//!
//! Read top-down, the crate follows one request from a web page to a phone and back:
//!
//! * [`webauthn_json`]: WebAuthn Level 3 JSON options → CTAP requests (with the phone-compat
//!   rules of §8/§12 applied), and CTAP responses → WebAuthn JSON credentials.
//! * [`client_data`]: the exact `clientDataJSON` bytes, their hash, and the origin/RP ID check
//!   (whose rules live in [`origin`]: URL parsing, IDNA, the Public Suffix List).
//! * [`command`]: `command || CBOR` framing of requests and `status || CBOR` of responses.
//! * [`make_credential`], [`get_assertion`], [`get_info`]: the CTAP2 messages, each with an
//!   encoder (always canonical CBOR, via `cable_keys::cbor`) and a decoder that ignores unknown
//!   keys and names the field that is wrong.
//! * [`auth_data`], [`cose`], [`prf`]: what travels inside those messages.
//! * [`status`]: every CTAP status code, with a person-facing meaning and a stable machine code.
//! * [`verify`]: the desktop's signature checks (assertions, packed self attestation).
//! * [`authenticator`]: a sans-IO software authenticator, the phone side used by the software
//!   phone and the tests.
//!
//! Nothing here does I/O, reads a clock, or draws randomness except from a caller-supplied RNG.

pub mod attestation_object;
pub mod auth_data;
pub mod authenticator;
mod b64;
mod cbor_util;
pub mod client_data;
pub mod command;
pub mod cose;
mod entities;
mod error;
pub mod get_assertion;
pub mod get_info;
pub mod make_credential;
pub mod origin;
mod origin_error;
pub mod prf;
pub mod status;
pub mod verify;
pub mod webauthn_json;

pub use attestation_object::{AttestationObject, PackedStatement};
pub use auth_data::{AttestedCredentialData, AuthenticatorData, Flags};
pub use authenticator::{
    AccountInfo, AlwaysApprove, AlwaysDeny, Authenticator, CredentialStore, Profile, Prompt,
    StoredCredential, UserAction,
};
pub use b64::Base64Url;
pub use client_data::{
    canonical_origin, check_origin, client_data_hash, client_data_json, client_data_json_embedded,
    validate_origin, CheckedOrigin, ClientDataType, Embedding,
};
pub use command::{Command, CommandCode};
pub use cose::CoseKey;
pub use entities::{
    CborMessage, CredentialDescriptor, CredentialParameter, Extensions, Options, RelyingParty,
    User, ES256, PUBLIC_KEY,
};
pub use error::CtapError;
pub use get_assertion::{GetAssertionRequest, GetAssertionResponse};
pub use get_info::GetInfoResponse;
pub use make_credential::{MakeCredentialRequest, MakeCredentialResponse};
pub use origin::{OriginError, RpId, RpIdError, WebOrigin};
pub use status::CtapStatus;
pub use verify::{verify_assertion, verify_packed_self_attestation};

/// Result type of this crate.
pub type Result<T, E = CtapError> = std::result::Result<T, E>;
