//! Every way a QR code, its digits or its rendering can fail, in words a person can act on.
//!
//! Errors never carry the QR secret or digits that might encode it.
//!
//! One pattern throughout: a message that wraps another error includes its text, and
//! `source()` is `None`. Reporters that walk the source chain (anyhow's `{:#}`) would otherwise
//! print the cause twice ("damaged: character 5 is 'a'…: character 5 is 'a'…"). `From` for
//! wrapped errors is written by hand for the same reason: thiserror's `#[from]` implies
//! `#[source]`.

use cable_keys::cbor::CborError;

/// Why a string of digits is not a valid base-10 payload (HYBRID.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitsError {
    #[error(
        "character {position} is {character:?}, but only the ASCII digits 0-9 may follow FIDO:/"
    )]
    NonDigit { position: usize, character: char },
    #[error(
        "{len} digits leave {remainder} after the 17-digit groups; only 0, 3, 5, 8, 10, 13 or 15 \
         can be left over (the code may have been cut short)"
    )]
    BadLength { len: usize, remainder: usize },
    #[error("the digit group at position {position} is too large to stand for {bytes} bytes")]
    ChunkOutOfRange { position: usize, bytes: usize },
}

/// Why text is not a usable FIDO hybrid QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("this is not a FIDO QR code: it does not start with FIDO:/")]
    BadPrefix,
    #[error("this FIDO QR code is empty: nothing follows FIDO:/")]
    Empty,
    #[error("this FIDO QR code is damaged: {0}")]
    Digits(DigitsError),
    #[error("the contents of this FIDO QR code are unreadable: {0}")]
    Cbor(CborError),
    #[error("this FIDO QR code does not hold a CBOR map")]
    NotAMap,
    #[error("this FIDO QR code lacks {} (key {key})", key_name(*.key))]
    MissingKey { key: u64 },
    #[error("this FIDO QR code holds key {key} ({}) more than once", key_name(*.key))]
    DuplicateKey { key: u64 },
    #[error("in this FIDO QR code, {} (key {key}) should be {expected}", key_name(*.key))]
    WrongType { key: u64, expected: &'static str },
    #[error(
        "in this FIDO QR code, {} (key {key}) has {actual} bytes instead of {expected}",
        key_name(*.key)
    )]
    WrongLength {
        key: u64,
        expected: usize,
        actual: usize,
    },
    #[error(
        "in this FIDO QR code, {} (key {key}) is {value}, but it cannot be negative: the \
         program that showed the code made it wrongly",
        key_name(*.key)
    )]
    Negative { key: u64, value: i128 },
    #[error("the desktop's public key in this FIDO QR code (key 0) is not a valid P-256 point")]
    InvalidPoint,
}

impl From<DigitsError> for QrError {
    fn from(e: DigitsError) -> Self {
        Self::Digits(e)
    }
}

/// What each payload key means, for error messages.
fn key_name(key: u64) -> &'static str {
    match key {
        0 => "the desktop's public key",
        1 => "the QR secret",
        2 => "the number of known tunnel domains",
        3 => "the timestamp",
        4 => "the linking flag",
        5 => "the request type",
        6 => "the data-channel list",
        _ => "an unknown field",
    }
}

/// Why a QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot make a QR code of this text: {0}")]
    Encode(qrcode::types::QrError),
    #[error("a QR module must be at least one pixel wide")]
    ZeroModuleSize,
    #[error("a PNG with {module_px}-pixel modules would be wider than {max} pixels")]
    ImageTooLarge { module_px: u32, max: u32 },
    #[error("could not write the PNG: {0}")]
    Png(png::EncodingError),
}

impl From<png::EncodingError> for RenderError {
    fn from(e: png::EncodingError) -> Self {
        Self::Png(e)
    }
}
