//! The crate's one error type: limits that cannot work. (What a client gets wrong in a request
//! is a [`RejectReason`](crate::RejectReason); paths and push messages are parsed by
//! cable-tunnel, whose `Error` says what is wrong with them.)

/// What is wrong with a [`ServerLimits`](crate::ServerLimits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A limit is set to a value the server cannot work with.
    #[error("invalid server limit: {0}")]
    InvalidLimit(&'static str),
}
