//! Why an origin or an RP ID was refused, one variant per rule of WebAuthn L3 §5.1.3/§5.1.4
//! and HTML's "is a registrable domain suffix of or is equal to".
//!
//! Strings quoted with `{:?}` are the caller's own input: Debug escaping keeps control
//! characters out of logs and terminals.

/// The origin alone cannot be used for WebAuthn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("the origin is empty: pass the site's origin, like https://example.com")]
    Empty,
    #[error("origin {origin:?} contains {character:?}, which no origin can contain: pass the origin exactly as the browser reports it, like https://example.com")]
    BadCharacter { origin: String, character: char },
    #[error(
        "{origin:?} is not an origin: write it as https://host[:port], like https://example.com"
    )]
    NotAnOrigin { origin: String },
    #[error("origin {origin:?} uses the {scheme:?} scheme, but WebAuthn needs https (plain http only for localhost)")]
    Scheme { origin: String, scheme: String },
    #[error("origin {origin:?} is plain http: WebAuthn needs https (plain http is only allowed for localhost and *.localhost)")]
    InsecureHttp { origin: String },
    #[error("origin {origin:?} has a {part}: an origin is only scheme://host[:port], so drop everything after the host and port")]
    NotBare { origin: String, part: &'static str },
    #[error("origin {origin:?} has a user name or password (the part before '@'): an origin is only scheme://host[:port]")]
    UserInfo { origin: String },
    #[error("origin {origin:?} has an invalid port: it must be a number from 0 to 65535")]
    Port { origin: String },
    #[error("origin {origin:?} is an IP address: WebAuthn needs a domain name (use localhost or the site's domain)")]
    IpAddress { origin: String },
    #[error("origin {origin:?}: the host is not a valid domain name: {reason}")]
    InvalidDomain { origin: String, reason: String },
}

/// The RP ID alone cannot name a relying party.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpIdError {
    #[error(
        "rp.id is empty: leave it out to use the origin's host, or give a domain like example.com"
    )]
    Empty,
    #[error("rp.id {rp_id:?} is not a domain name: {reason}")]
    NotADomain { rp_id: String, reason: String },
    #[error("rp.id {rp_id:?} is an IP address: an RP ID must be a domain name")]
    IpAddress { rp_id: String },
    #[error("rp.id {rp_id:?} ends with a dot: write it without the dot, as the site names itself (the RP ID is hashed as written)")]
    TrailingDot { rp_id: String },
    #[error("rp.id {rp_id:?} is a public suffix: a site cannot claim it, because unrelated sites share it; use the site's own domain")]
    PublicSuffix { rp_id: String },
}

impl OriginError {
    pub(crate) fn invalid_domain(origin: &str, reason: impl Into<String>) -> Self {
        OriginError::InvalidDomain {
            origin: origin.to_owned(),
            reason: reason.into(),
        }
    }
}

impl RpIdError {
    pub(crate) fn not_a_domain(rp_id: &str, reason: impl Into<String>) -> Self {
        RpIdError::NotADomain {
            rp_id: rp_id.to_owned(),
            reason: reason.into(),
        }
    }
}
