//! Web origins and RP IDs as browsers check them (WebAuthn L3 §5.1.3/§5.1.4, HTML "is a
//! registrable domain suffix of or is equal to", Chromium's `webauthn_security_utils.cc`).
//!
//! Hosts go through the WHATWG URL host parser (`url`, which applies UTS 46 IDNA), so
//! comparisons are between lowercase punycode names; registrable domains come from the Public
//! Suffix List (`psl`, private section included, as in browsers).

use crate::error::CtapError;
pub use crate::origin_error::{OriginError, RpIdError};
use url::{Host, ParseError, Url};

/// An origin that may use WebAuthn: `https`, or `http` on `localhost` / `*.localhost`, with a
/// domain host (never an IP address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOrigin {
    /// `scheme://host[:port]`: lowercase, punycode, default port dropped.
    serialized: String,
    /// ASCII host; a trailing dot is kept, as browsers keep it in the origin.
    host: String,
}

impl WebOrigin {
    /// Parses and checks an origin as a caller reports it (`https://example.com:8443`).
    pub fn parse(origin: &str) -> Result<Self, OriginError> {
        if origin.is_empty() {
            return Err(OriginError::Empty);
        }
        // The URL parser silently strips spaces and removes tabs and newlines; an origin
        // holding them was not copied from a browser, so it is refused rather than repaired.
        if let Some(character) = origin.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(OriginError::BadCharacter {
                origin: origin.to_owned(),
                character,
            });
        }
        let owned = || origin.to_owned();
        let Some((scheme, authority)) = origin.split_once("://") else {
            return Err(without_slashes(origin));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(OriginError::Scheme {
                origin: owned(),
                scheme,
            });
        }
        if let Some(at) = authority.find(['/', '\\', '?', '#']) {
            let part = match &authority[at..] {
                "/" => "trailing '/'",
                rest if rest.starts_with(['/', '\\']) => "path",
                rest if rest.starts_with('?') => "query",
                _ => "fragment",
            };
            return Err(OriginError::NotBare {
                origin: owned(),
                part,
            });
        }
        if authority.contains('@') {
            return Err(OriginError::UserInfo { origin: owned() });
        }
        let url = Url::parse(origin).map_err(|e| url_error(origin, e))?;
        let host = match url.host() {
            Some(Host::Domain(host)) => host.to_owned(),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
                return Err(OriginError::IpAddress { origin: owned() })
            }
            None => return Err(OriginError::NotAnOrigin { origin: owned() }),
        };
        if let Some(reason) = domain_problem(host.strip_suffix('.').unwrap_or(&host)) {
            return Err(OriginError::invalid_domain(origin, reason));
        }
        if scheme == "http" && !is_localhost(&host) {
            return Err(OriginError::InsecureHttp { origin: owned() });
        }
        Ok(WebOrigin {
            serialized: url.origin().ascii_serialization(),
            host,
        })
    }

    /// The canonical serialization, as `clientDataJSON.origin` carries it.
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// The ASCII (punycode) host, lowercase, a trailing dot kept.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The RP ID a request without one uses: the host, without a trailing dot (a name with
    /// the dot would hash to a different RP ID than the site's own name).
    pub fn default_rp_id(&self) -> Result<RpId, RpIdError> {
        RpId::parse(self.host.strip_suffix('.').unwrap_or(&self.host))
    }

    /// Whether this origin may claim `rp_id`: equal to its host, or a registrable-domain
    /// suffix of it that does not reach into the host's public suffix.
    pub fn check_rp_id(&self, rp_id: &RpId) -> Result<(), CtapError> {
        let host = self.host.strip_suffix('.').unwrap_or(&self.host);
        let rp = rp_id.as_str();
        // Chromium (`OriginIsAllowedToClaimRelyingPartyId`) accepts the origin's own host
        // first, even when that host is a listed public suffix (`https://github.io`).
        if host == rp {
            return Ok(());
        }
        if is_listed_public_suffix(rp) {
            return Err(CtapError::RpId(RpIdError::PublicSuffix {
                rp_id: rp.to_owned(),
            }));
        }
        if !host.ends_with(&format!(".{rp}")) {
            return Err(CtapError::RpIdMismatch {
                origin: self.serialized.clone(),
                rp_id: rp.to_owned(),
            });
        }
        // An unlisted top-level name (`localhost`, an intranet TLD) is its own public suffix
        // by the PSL's default rule, so `foo.localhost` cannot claim `localhost` (Chromium
        // agrees); listed suffixes were already refused by `RpId::parse`.
        let suffix = psl::suffix_str(host).unwrap_or(host);
        if suffix == rp || suffix.ends_with(&format!(".{rp}")) {
            return Err(CtapError::RpIdInsidePublicSuffix {
                origin: self.serialized.clone(),
                rp_id: rp.to_owned(),
                suffix: suffix.to_owned(),
                registrable: psl::domain_str(host).unwrap_or(host).to_owned(),
            });
        }
        Ok(())
    }
}

/// A relying party ID: a domain name, lowercase punycode, not an IP address. (Whether a
/// public suffix may be claimed depends on the origin: see [`WebOrigin::check_rp_id`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpId(String);

impl RpId {
    /// Parses an RP ID as a site gives it; Unicode names become punycode (`bücher.example`
    /// → `xn--bcher-kva.example`), upper case becomes lower case.
    pub fn parse(rp_id: &str) -> Result<Self, RpIdError> {
        if rp_id.is_empty() {
            return Err(RpIdError::Empty);
        }
        let bad = |reason: &str| RpIdError::not_a_domain(rp_id, reason);
        if let Some(c) = rp_id.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(RpIdError::not_a_domain(
                rp_id,
                format!("it contains {c:?}, which domain names cannot contain"),
            ));
        }
        if rp_id.contains("://") {
            return Err(bad(
                "it has a scheme; an RP ID is a bare domain like example.com, not an origin",
            ));
        }
        if rp_id.contains(['/', '\\', '?', '#']) {
            return Err(bad(
                "it has a path; an RP ID is a bare domain like example.com",
            ));
        }
        if rp_id.contains('@') {
            return Err(bad(
                "it contains '@'; an RP ID is a bare domain like example.com",
            ));
        }
        // The host parser would decode `%41` to `A`; a site writes its RP ID plainly.
        if rp_id.contains('%') {
            return Err(bad(
                "it contains '%'; write the domain itself, not percent-encoded",
            ));
        }
        if rp_id.parse::<std::net::Ipv6Addr>().is_ok() {
            return Err(RpIdError::IpAddress {
                rp_id: rp_id.to_owned(),
            });
        }
        if !rp_id.starts_with('[') && rp_id.contains(':') {
            return Err(bad("it has a port; an RP ID never has one"));
        }
        let name = match Host::parse(rp_id) {
            Ok(Host::Domain(name)) => name,
            Ok(Host::Ipv4(_) | Host::Ipv6(_)) => {
                return Err(RpIdError::IpAddress {
                    rp_id: rp_id.to_owned(),
                })
            }
            Err(e) => return Err(bad(host_error_reason(e))),
        };
        if name.ends_with('.') && name.len() > 1 {
            return Err(RpIdError::TrailingDot {
                rp_id: rp_id.to_owned(),
            });
        }
        if let Some(reason) = domain_problem(&name) {
            return Err(RpIdError::not_a_domain(rp_id, reason));
        }
        Ok(RpId(name))
    }

    /// The canonical form, as the phone hashes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_listed_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes()).is_some_and(|s| s.is_known() && s == name.as_bytes())
}

fn is_localhost(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost" || host.ends_with(".localhost")
}

/// The error for text without `://`: a scheme-only origin (`data:…`, `about:blank`) or
/// something that is not an origin at all (`example.com`, `localhost:8080`, `https:x`).
fn without_slashes(origin: &str) -> OriginError {
    match origin.split_once(':') {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
                && !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
                && !rest.bytes().all(|b| b.is_ascii_digit()) =>
        {
            OriginError::Scheme {
                origin: origin.to_owned(),
                scheme: scheme.to_ascii_lowercase(),
            }
        }
        _ => OriginError::NotAnOrigin {
            origin: origin.to_owned(),
        },
    }
}

fn url_error(origin: &str, error: ParseError) -> OriginError {
    match error {
        ParseError::InvalidPort => OriginError::Port {
            origin: origin.to_owned(),
        },
        ParseError::EmptyHost
        | ParseError::IdnaError
        | ParseError::InvalidIpv4Address
        | ParseError::InvalidIpv6Address
        | ParseError::InvalidDomainCharacter => {
            OriginError::invalid_domain(origin, host_error_reason(error))
        }
        _ => OriginError::NotAnOrigin {
            origin: origin.to_owned(),
        },
    }
}

fn host_error_reason(error: ParseError) -> &'static str {
    match error {
        ParseError::EmptyHost => "it is empty",
        ParseError::IdnaError => "it is not a valid internationalized domain name (IDNA)",
        ParseError::InvalidIpv4Address => {
            "it ends in a number, so it reads as an IPv4 address, but it is not a valid one"
        }
        ParseError::InvalidIpv6Address => "its [brackets] do not hold a valid IPv6 address",
        ParseError::InvalidDomainCharacter => "it contains a character domain names cannot hold",
        _ => "it cannot be read as a host name",
    }
}

/// What makes an ASCII name (already through IDNA) not a DNS domain name, if anything.
/// Underscores are let through, as Chromium's host rules do; `*`, empty labels and
/// over-long names are not.
fn domain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 253 {
        return Some(format!(
            "it is {} characters long; a domain name has at most 253",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (a leading dot, or two dots in a row)".into());
        }
        if label.len() > 63 {
            return Some(format!(
                "a label is {} characters long; labels have at most 63",
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')))
        {
            return Some(format!(
                "the label {label:?} contains {c:?}; labels hold only letters, digits, '-' and '_'"
            ));
        }
    }
    None
}
