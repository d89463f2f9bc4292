//! The crate's one error type: everything a client can get wrong in a path or a push message, and
//! limits that cannot work.

/// What is wrong with a path, a push message or a [`ServerLimits`](crate::ServerLimits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path names none of `/cable/new`, `/cable/connect`, `/cable/contact`, `/cable/push`.
    #[error("the path is not a tunnel server endpoint (expected /cable/new/, /cable/connect/, /cable/contact/ or /cable/push/)")]
    UnknownEndpoint,
    /// A tunnel ID segment is not exactly 32 hex digits.
    #[error(
        "the tunnel ID must be 32 hex digits (16 bytes), got {0} characters that are not that"
    )]
    BadTunnelId(usize),
    /// A routing ID segment is not exactly 6 hex digits.
    #[error("the routing ID must be 6 hex digits (3 bytes), got {0} characters that are not that")]
    BadRoutingId(usize),
    /// A contact ID segment is empty.
    #[error("the contact ID is empty")]
    EmptyContactId,
    /// A contact ID segment is not base64url without padding.
    #[error("the contact ID is not base64url without padding")]
    BadContactId,
    /// A contact ID decodes to more bytes than the server accepts.
    #[error("the contact ID is {len} bytes long; this server accepts at most {max}")]
    ContactIdTooLong {
        /// Decoded length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A push message is not the JSON object the push stand-in sends.
    #[error("the push message is not valid JSON of the expected shape: {0}")]
    BadPushMessage(String),
    /// A hex field of a push message has the wrong length or is not hex.
    #[error("the push message field `{field}` must be hex of {expected} bytes")]
    BadPushField {
        /// The JSON key.
        field: &'static str,
        /// Expected decoded length in bytes (0 means any length).
        expected: usize,
    },
    /// A limit is set to a value the server cannot work with.
    #[error("invalid server limit: {0}")]
    InvalidLimit(&'static str),
}
