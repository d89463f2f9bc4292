//! `clientDataJSON` (WebAuthn L3 §5.8.1) and the origin rules the desktop enforces before it
//! asks a phone to act for a website.

use crate::b64::Base64Url;
use crate::origin::{RpId, WebOrigin};
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

/// How the calling frame sits relative to the top-level page (WebAuthn L3 §5.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding<'a> {
    /// The caller is the top-level page or same-origin with all its ancestors.
    SameOrigin,
    /// The caller is a cross-origin iframe; `top_origin` is the top-level page's origin when
    /// known (browsers always know it; WebAuthn L3 then adds `topOrigin`).
    CrossOrigin { top_origin: Option<&'a str> },
}

/// The exact bytes browsers produce (WebAuthn L3 §5.8.1.1 "limited verification" form):
/// `{"type":…,"challenge":…,"origin":…,"crossOrigin":…}` in that order, no spaces, the
/// challenge base64url-encoded without padding. `origin` is written as given: pass the
/// [`canonical_origin`] of what the caller reported.
pub fn client_data_json(
    ty: ClientDataType,
    challenge: &[u8],
    origin: &str,
    cross_origin: bool,
) -> Vec<u8> {
    let embedding = if cross_origin {
        Embedding::CrossOrigin { top_origin: None }
    } else {
        Embedding::SameOrigin
    };
    client_data_json_embedded(ty, challenge, origin, embedding)
}

/// [`client_data_json`] for any [`Embedding`]: a cross-origin call with a known top-level
/// origin gets `"topOrigin":…` right after `"crossOrigin":true` (WebAuthn L3 §5.8.1.1).
pub fn client_data_json_embedded(
    ty: ClientDataType,
    challenge: &[u8],
    origin: &str,
    embedding: Embedding<'_>,
) -> Vec<u8> {
    let mut out = String::from("{\"type\":");
    push_ccd_string(&mut out, ty.as_str());
    out.push_str(",\"challenge\":");
    push_ccd_string(&mut out, &Base64Url::encode(challenge));
    out.push_str(",\"origin\":");
    push_ccd_string(&mut out, origin);
    out.push_str(",\"crossOrigin\":");
    match embedding {
        Embedding::SameOrigin => out.push_str("false"),
        Embedding::CrossOrigin { top_origin } => {
            out.push_str("true");
            if let Some(top) = top_origin {
                out.push_str(",\"topOrigin\":");
                push_ccd_string(&mut out, top);
            }
        }
    }
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

/// An origin and the RP ID it may use, both canonical: what the client data and the CTAP
/// request carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrigin {
    /// `scheme://host[:port]`, lowercase punycode, default port dropped.
    pub origin: String,
    /// The RP ID as the phone hashes it: lowercase punycode.
    pub rp_id: String,
}

/// Checks `origin` and the RP ID it claims (the origin's host when `rp_id` is `None`), and
/// returns both in canonical form.
pub fn validate_origin(origin: &str, rp_id: Option<&str>) -> Result<CheckedOrigin> {
    let origin = WebOrigin::parse(origin)?;
    let rp_id = match rp_id {
        Some(id) => RpId::parse(id)?,
        None => origin.default_rp_id()?,
    };
    origin.check_rp_id(&rp_id)?;
    Ok(CheckedOrigin {
        origin: origin.as_str().to_owned(),
        rp_id: rp_id.as_str().to_owned(),
    })
}

/// The canonical serialization of a web origin usable for WebAuthn (`HTTPS://Bücher.example:443`
/// → `https://xn--bcher-kva.example`), or why it is not usable.
pub fn canonical_origin(origin: &str) -> Result<String> {
    Ok(WebOrigin::parse(origin)?.as_str().to_owned())
}

/// The host of a web origin usable for WebAuthn: lowercase punycode, a trailing dot kept.
pub fn origin_host(origin: &str) -> Result<String> {
    Ok(WebOrigin::parse(origin)?.host().to_owned())
}

/// Checks that `origin` may act for relying party `rp_id`: its host equals the RP ID or the
/// RP ID is a registrable-domain suffix of it (Public Suffix List), compared after IDNA.
pub fn check_origin(origin: &str, rp_id: &str) -> Result<()> {
    validate_origin(origin, Some(rp_id)).map(|_| ())
}
