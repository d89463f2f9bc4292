//! `clientDataJSON` (WebAuthn L3 §5.8.1) and the origin rules the desktop enforces before it
//! asks a phone to act for a website.

use crate::b64::Base64Url;
use crate::error::CtapError;
use crate::Result;
use sha2::{Digest, Sha256};

/// The `type` member of client data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDataType {
    /// `webauthn.create`, for registration.
    Create,
    /// `webauthn.get`, for sign-in.
    Get,
}

impl ClientDataType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientDataType::Create => "webauthn.create",
            ClientDataType::Get => "webauthn.get",
        }
    }
}

/// The exact bytes browsers produce (WebAuthn L3 §5.8.1.1 "limited verification" form):
/// `{"type":…,"challenge":…,"origin":…,"crossOrigin":…}` in that order, no spaces, the
/// challenge base64url-encoded without padding.
pub fn client_data_json(
    ty: ClientDataType,
    challenge: &[u8],
    origin: &str,
    cross_origin: bool,
) -> Vec<u8> {
    let mut out = String::from("{\"type\":");
    push_ccd_string(&mut out, ty.as_str());
    out.push_str(",\"challenge\":");
    push_ccd_string(&mut out, &Base64Url::encode(challenge));
    out.push_str(",\"origin\":");
    push_ccd_string(&mut out, origin);
    out.push_str(",\"crossOrigin\":");
    out.push_str(if cross_origin { "true" } else { "false" });
    out.push('}');
    out.into_bytes()
}

/// SHA-256 of the client data: the `clientDataHash` of CTAP requests.
pub fn client_data_hash(client_data_json: &[u8]) -> [u8; 32] {
    Sha256::digest(client_data_json).into()
}

/// WebAuthn's CCDToString: `"` and `\` escaped with a backslash, other code points below
/// U+0020 as `\u00xx`, everything else verbatim.
fn push_ccd_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The host of a web origin, lower-cased, checking the scheme is `https` (or `http` for
/// `localhost`, as browsers treat it as a secure context).
pub fn origin_host(origin: &str) -> Result<String> {
    let bad = |reason: &str| CtapError::Origin {
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or_else(|| bad("it must look like https://example.com"))?;
    if rest.contains(['/', '?', '#']) {
        return Err(bad(
            "an origin has no path, query or fragment (https://host[:port] only)",
        ));
    }
    if rest.contains('@') {
        return Err(bad("an origin has no user name or password"));
    }
    // `[v6]:port` keeps its colons inside the brackets.
    let split_at = match rest.rfind(']') {
        Some(end) => rest[end..].find(':').map(|i| end + i),
        None => rest.rfind(':'),
    };
    let host = match split_at {
        Some(i) => {
            let port = &rest[i + 1..];
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the port must be a number"));
            }
            &rest[..i]
        }
        None => rest,
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let host = host.to_ascii_lowercase();
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(host),
        "http" if host == "localhost" || host.ends_with(".localhost") => Ok(host),
        "http" => Err(bad(
            "WebAuthn needs https (plain http is only allowed for localhost)",
        )),
        _ => Err(bad("WebAuthn needs an https origin")),
    }
}

/// Checks that `origin` may act for relying party `rp_id`: its host equals the RP ID or is a
/// subdomain of it. (No public-suffix list: a caller passing `rp_id = "com"` is not stopped.)
pub fn check_origin(origin: &str, rp_id: &str) -> Result<()> {
    let host = origin_host(origin)?;
    let rp = rp_id.to_ascii_lowercase();
    if rp.is_empty() || rp.contains([':', '/']) || rp.starts_with('.') {
        return Err(CtapError::invalid(
            "rp.id",
            format!("{rp_id:?} is not a domain name (no scheme, port or path)"),
        ));
    }
    if host == rp || host.ends_with(&format!(".{rp}")) {
        Ok(())
    } else {
        Err(CtapError::RpIdMismatch {
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
        })
    }
}
