//! The crate's one error type. Every message names the field or rule that failed, in words a
//! person debugging a failed sign-in can act on.

use crate::origin_error::{OriginError, RpIdError};
use crate::status::CtapStatus;
use cable_keys::cbor::CborError;

/// Everything that can go wrong while encoding, decoding, mapping or verifying CTAP messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtapError {
    /// The bytes are not one well-formed CBOR item.
    #[error("{context}: {source}")]
    Cbor {
        context: &'static str,
        #[source]
        source: CborError,
    },
    /// A field has the wrong CBOR type.
    #[error("{field} should be {expected}, but it is {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    /// A required field is absent.
    #[error("{field} is missing")]
    Missing { field: String },
    /// A byte string has the wrong length.
    #[error("{field} is {found} bytes long; it must be {expected}")]
    WrongLength {
        field: String,
        expected: usize,
        found: usize,
    },
    /// A field is present and well-typed but its value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A message that must not be empty was empty.
    #[error("the {0} is empty")]
    Empty(&'static str),
    /// The first byte of a request is not a command this crate handles.
    #[error("0x{0:02x} is not a CTAP2 command this implementation handles")]
    UnknownCommand(u8),
    /// A command that takes no parameters was followed by bytes.
    #[error("the {command} command takes no parameters, but {len} bytes followed it")]
    UnexpectedPayload { command: &'static str, len: usize },
    /// The authenticator answered with an error status.
    #[error("{0}")]
    Status(CtapStatus),
    /// Authenticator data is malformed.
    #[error("authenticator data: {0}")]
    AuthData(String),
    /// A COSE key is malformed or not the EC2 P-256 ES256 key this crate handles.
    #[error("COSE key: {0}")]
    CoseKey(String),
    /// WebAuthn JSON could not be read.
    #[error("WebAuthn JSON: {0}")]
    Json(String),
    /// The web origin is not usable for WebAuthn.
    #[error(transparent)]
    Origin(#[from] OriginError),
    /// The relying party ID is not usable by any origin.
    #[error(transparent)]
    RpId(#[from] RpIdError),
    /// The origin may not act for this relying party ID.
    #[error("origin {origin:?} may not use the relying party ID {rp_id:?}: its host must be {rp_id:?} or end with \".{rp_id}\"")]
    RpIdMismatch { origin: String, rp_id: String },
    /// The RP ID is a suffix of the origin's host, but reaches into the host's public suffix,
    /// which unrelated sites share (HTML "is a registrable domain suffix of").
    #[error("origin {origin:?} may not use the relying party ID {rp_id:?}: it lies within {suffix:?}, the public suffix of that host, which unrelated sites share; use {registrable:?} or a name under it")]
    RpIdInsidePublicSuffix {
        origin: String,
        rp_id: String,
        suffix: String,
        registrable: String,
    },
    /// The response does not belong to the request it answers.
    #[error("the phone's response does not match the request: {0}")]
    ResponseMismatch(String),
    /// A signature did not verify.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// An attestation statement is malformed or of a kind this crate does not verify.
    #[error("attestation: {0}")]
    Attestation(String),
    /// A stored credential file could not be read.
    #[error("credential store: {0}")]
    Store(String),
}

impl CtapError {
    pub(crate) fn wrong_type(
        field: impl Into<String>,
        expected: &'static str,
        found: &'static str,
    ) -> Self {
        CtapError::WrongType {
            field: field.into(),
            expected,
            found,
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        CtapError::Missing {
            field: field.into(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CtapError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The status an authenticator answers when decoding a request fails with this error.
    pub fn status(&self) -> CtapStatus {
        match self {
            CtapError::Cbor { .. } => CtapStatus::InvalidCbor,
            CtapError::WrongType { .. } => CtapStatus::CborUnexpectedType,
            CtapError::Missing { .. } => CtapStatus::MissingParameter,
            CtapError::WrongLength { .. } | CtapError::Invalid { .. } | CtapError::RpId(_) => {
                CtapStatus::InvalidParameter
            }
            CtapError::Empty(_) | CtapError::UnexpectedPayload { .. } => CtapStatus::InvalidLength,
            CtapError::UnknownCommand(_) => CtapStatus::InvalidCommand,
            CtapError::Status(status) => *status,
            _ => CtapStatus::Other,
        }
    }
}

/// What an authenticator answers for a request that failed with this error.
impl From<CtapError> for CtapStatus {
    fn from(e: CtapError) -> Self {
        e.status()
    }
}
