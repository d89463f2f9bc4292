//! The one error type of the advert codec.

/// Why service data is not a usable hybrid advert. No variant wraps another error: each
/// message is the whole story and `source()` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvertError {
    #[error("service data is {0} bytes long; a hybrid advert needs at least 20")]
    TooShort(usize),
    #[error("advert tag does not match this EID key (it belongs to another session or device)")]
    BadTag,
    #[error("decrypted advert has reserved byte {0:#04x}; it must be 0")]
    ReservedByte(u8),
    #[error(
        "advert names tunnel domain {0}, which is in the assigned range (2..=255) but unknown"
    )]
    UnknownDomain(u16),
    #[error("CTAP 2.3 advert suffix is malformed: {0}")]
    BadSuffix(String),
}
