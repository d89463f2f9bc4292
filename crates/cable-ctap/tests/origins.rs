//! Origins and RP IDs (WebAuthn L3 §5.1.3/§5.1.4, HTML "is a registrable domain suffix of or
//! is equal to"): one table, each answer taken from the spec or from Chromium's
//! `webauthn_security_utils` tests, plus the rules cable adds (marked "cable").

mod common;

use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::{
    canonical_origin, client_data_json, client_data_json_embedded, validate_origin, ClientDataType,
    CtapError, CtapStatus, Embedding, OriginError, RpIdError,
};
use common::*;
use proptest::prelude::*;

/// Why a case is refused: one name per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Empty,
    Character,
    NotAnOrigin,
    Scheme,
    Http,
    NotBare,
    UserInfo,
    Port,
    Ip,
    Domain,
    RpEmpty,
    RpNotDomain,
    RpIp,
    RpTrailingDot,
    RpPublicSuffix,
    Mismatch,
    InsidePublicSuffix,
}

fn why(error: &CtapError) -> Why {
    match error {
        CtapError::Origin(e) => match e {
            OriginError::Empty => Why::Empty,
            OriginError::BadCharacter { .. } => Why::Character,
            OriginError::NotAnOrigin { .. } => Why::NotAnOrigin,
            OriginError::Scheme { .. } => Why::Scheme,
            OriginError::InsecureHttp { .. } => Why::Http,
            OriginError::NotBare { .. } => Why::NotBare,
            OriginError::UserInfo { .. } => Why::UserInfo,
            OriginError::Port { .. } => Why::Port,
            OriginError::IpAddress { .. } => Why::Ip,
            OriginError::InvalidDomain { .. } => Why::Domain,
        },
        CtapError::RpId(e) => match e {
            RpIdError::Empty => Why::RpEmpty,
            RpIdError::NotADomain { .. } => Why::RpNotDomain,
            RpIdError::IpAddress { .. } => Why::RpIp,
            RpIdError::TrailingDot { .. } => Why::RpTrailingDot,
            RpIdError::PublicSuffix { .. } => Why::RpPublicSuffix,
        },
        CtapError::RpIdMismatch { .. } => Why::Mismatch,
        CtapError::RpIdInsidePublicSuffix { .. } => Why::InsidePublicSuffix,
        other => panic!("not an origin error: {other:?}"),
    }
}

enum Expect {
    /// Accepted, with the canonical origin and RP ID.
    Ok(&'static str, &'static str),
    No(Why),
}
use Expect::{No, Ok};

/// (origin, rp.id or None for "use the origin's host", expected answer)
#[rustfmt::skip]
const CASES: &[(&str, Option<&str>, Expect)] = &[
    // Chromium OriginIsAllowedToClaimRelyingPartyId: exact match and registrable suffixes.
    ("https://example.com", Some("example.com"), Ok("https://example.com", "example.com")),
    ("https://foo.example.com", Some("example.com"), Ok("https://foo.example.com", "example.com")),
    ("https://bar.foo.example.com", Some("example.com"), Ok("https://bar.foo.example.com", "example.com")),
    ("https://example.com", Some("google.com"), No(Why::Mismatch)),
    ("https://notexample.com", Some("example.com"), No(Why::Mismatch)),
    ("https://evilexample.com", Some("example.com"), No(Why::Mismatch)),
    ("https://example.com", Some("login.example.com"), No(Why::Mismatch)),
    ("https://example.com", Some(""), No(Why::RpEmpty)),
    // Localhost: http allowed (a secure context), but `localhost` is a top-level name, so
    // only `localhost` itself may claim it (Chromium: foo.localhost claiming localhost fails).
    ("http://localhost", Some("localhost"), Ok("http://localhost", "localhost")),
    ("https://localhost", Some("localhost"), Ok("https://localhost", "localhost")),
    ("https://localhost", Some("example.com"), No(Why::Mismatch)),
    ("http://localhost:8080", None, Ok("http://localhost:8080", "localhost")),
    ("http://localhost:80", None, Ok("http://localhost", "localhost")),
    ("http://foo.localhost", Some("localhost"), No(Why::InsidePublicSuffix)),
    ("http://foo.localhost", Some("foo.localhost"), Ok("http://foo.localhost", "foo.localhost")),
    ("http://foo.localhost:3000", None, Ok("http://foo.localhost:3000", "foo.localhost")),
    ("http://localhost.example.com", None, No(Why::Http)),
    ("http://example.com", Some("example.com"), No(Why::Http)),
    // Unlisted top-level names behave like localhost (Chromium: login.awesomecompany
    // cannot claim awesomecompany; the host itself may, by the equality rule).
    ("https://login.awesomecompany", Some("awesomecompany"), No(Why::InsidePublicSuffix)),
    ("https://awesomecompany", Some("awesomecompany"), Ok("https://awesomecompany", "awesomecompany")),
    // Public suffixes (PSL, private section included, as in browsers).
    ("https://example.com", Some("com"), No(Why::RpPublicSuffix)),
    ("https://evil.co.uk", Some("co.uk"), No(Why::RpPublicSuffix)),
    ("https://example.co.uk", Some("uk"), No(Why::RpPublicSuffix)),
    ("https://login.example.co.uk", Some("example.co.uk"), Ok("https://login.example.co.uk", "example.co.uk")),
    ("https://example.co.uk", None, Ok("https://example.co.uk", "example.co.uk")),
    ("https://foo.github.io", Some("github.io"), No(Why::RpPublicSuffix)),
    ("https://foo.github.io", Some("foo.github.io"), Ok("https://foo.github.io", "foo.github.io")),
    ("https://a.foo.github.io", Some("foo.github.io"), Ok("https://a.foo.github.io", "foo.github.io")),
    ("https://foo.appspot.com", Some("appspot.com"), No(Why::RpPublicSuffix)),
    ("https://myapp.appspot.com", None, Ok("https://myapp.appspot.com", "myapp.appspot.com")),
    // Chromium's OriginIsAllowedToClaimRelyingPartyId accepts the caller's own host before
    // any registrable-domain check, even when that host is a listed public suffix.
    ("https://github.io", Some("github.io"), Ok("https://github.io", "github.io")),
    ("https://co.uk", None, Ok("https://co.uk", "co.uk")),
    // Chromium kRejectRpIdsInsideCallersPublicSuffix: up.railway.app is on the PSL, so its
    // subdomains cannot claim railway.app although railway.app is registrable.
    ("https://foo.up.railway.app", Some("railway.app"), No(Why::InsidePublicSuffix)),
    // IP addresses (url::HostIsIPAddress): never an origin host nor an RP ID; `1.1` and
    // `0x7f000001` are IPv4 to the URL parser.
    ("https://127.0.0.1", Some("127.0.0.1"), No(Why::Ip)),
    ("https://192.168.1.1", Some("192.168.1.1"), No(Why::Ip)),
    ("http://127.0.0.1:8080", None, No(Why::Ip)),
    ("https://1.1", Some("1.1"), No(Why::Ip)),
    ("https://0x7f000001", None, No(Why::Ip)),
    ("https://[::1]", None, No(Why::Ip)),
    ("https://[::1]:8443", Some("[::1]"), No(Why::Ip)),
    ("https://example.com", Some("1.1"), No(Why::RpIp)),
    ("https://example.com", Some("192.168.1.1"), No(Why::RpIp)),
    ("https://example.com", Some("[::1]"), No(Why::RpIp)),
    ("https://example.com", Some("::1"), No(Why::RpIp)),
    // Schemes (Chromium OriginAllowedToMakeWebAuthnRequests: http(s) only).
    ("file:///etc/passwd", Some("example.com"), No(Why::Scheme)),
    ("data:text/html,hello", None, No(Why::Scheme)),
    ("about:blank", None, No(Why::Scheme)),
    ("chrome-extension://abcdef", None, No(Why::Scheme)),
    ("wss://example.com", Some("example.com"), No(Why::Scheme)),
    ("", None, No(Why::Empty)),
    ("example.com", Some("example.com"), No(Why::NotAnOrigin)),
    ("localhost:8080", None, No(Why::NotAnOrigin)),
    ("https:example.com", Some("example.com"), No(Why::NotAnOrigin)),
    // Canonical serialization: lowercase, default port dropped, punycode.
    ("https://example.com:443", Some("example.com"), Ok("https://example.com", "example.com")),
    ("https://example.com:8443", Some("example.com"), Ok("https://example.com:8443", "example.com")),
    ("https://example.com:08443", None, Ok("https://example.com:8443", "example.com")),
    ("https://example.com:", None, Ok("https://example.com", "example.com")),
    ("HTTPS://EXAMPLE.COM", Some("Example.COM"), Ok("https://example.com", "example.com")),
    ("https://ex%61mple.com", Some("example.com"), Ok("https://example.com", "example.com")),
    ("https://my_site.example.com", Some("example.com"), Ok("https://my_site.example.com", "example.com")),
    // A trailing dot stays in the origin (as browsers keep it) and is ignored when matching
    // (Chromium's DomainIs); the default RP ID drops it.
    ("https://example.com.", Some("example.com"), Ok("https://example.com.", "example.com")),
    ("https://login.example.com.", None, Ok("https://login.example.com.", "login.example.com")),
    ("https://example.com", Some("example.com."), No(Why::RpTrailingDot)),
    // IDNA (UTS 46): Unicode and punycode forms of one name are the same name.
    ("https://bücher.example", Some("xn--bcher-kva.example"), Ok("https://xn--bcher-kva.example", "xn--bcher-kva.example")),
    ("https://xn--bcher-kva.example", Some("bücher.example"), Ok("https://xn--bcher-kva.example", "xn--bcher-kva.example")),
    ("https://BÜCHER.example", None, Ok("https://xn--bcher-kva.example", "xn--bcher-kva.example")),
    ("https://xn--bcher-kva.example", Some("bucher.example"), No(Why::Mismatch)),
    ("https://xn--a.example", None, No(Why::Domain)),
    // Hosts that are not domain names.
    ("https://a..example.com", Some("example.com"), No(Why::Domain)),
    ("https://.example.com", Some("example.com"), No(Why::Domain)),
    ("https://*.example.com", Some("example.com"), No(Why::Domain)),
    ("https://", None, No(Why::Domain)),
    ("https://exa mple.com", Some("example.com"), No(Why::Character)),
    ("https://example.com\0", Some("example.com"), No(Why::Character)),
    (" https://example.com", Some("example.com"), No(Why::Character)),
    ("https://example.com\n", Some("example.com"), No(Why::Character)),
    ("https://exa\tmple.com", Some("example.com"), No(Why::Character)),
    // Ports.
    ("https://example.com:99999", Some("example.com"), No(Why::Port)),
    ("https://example.com:x", Some("example.com"), No(Why::Port)),
    // A browser's origin never has a path, query, fragment or user info: refused, since a
    // caller passing one likely passed a page URL by mistake (cable).
    ("https://example.com/path", Some("example.com"), No(Why::NotBare)),
    ("https://example.com/", Some("example.com"), No(Why::NotBare)),
    ("https://example.com?x=1", Some("example.com"), No(Why::NotBare)),
    ("https://example.com#top", Some("example.com"), No(Why::NotBare)),
    ("https://example.com\\path", Some("example.com"), No(Why::NotBare)),
    ("https://user:pw@example.com", Some("example.com"), No(Why::UserInfo)),
    ("https://user@example.com", Some("example.com"), No(Why::UserInfo)),
    // RP IDs are bare domain names.
    ("https://example.com", Some("https://example.com"), No(Why::RpNotDomain)),
    ("https://example.com", Some("example.com:443"), No(Why::RpNotDomain)),
    ("https://example.com", Some("example.com/"), No(Why::RpNotDomain)),
    ("https://example.com", Some("*.example.com"), No(Why::RpNotDomain)),
    ("https://example.com", Some(".example.com"), No(Why::RpNotDomain)),
    ("https://example.com", Some("exa%6dple.com"), No(Why::RpNotDomain)),
    ("https://example.com", Some("exa mple.com"), No(Why::RpNotDomain)),
    ("https://example.com", Some("user@example.com"), No(Why::RpNotDomain)),
];

#[test]
fn origins_and_rp_ids_follow_the_browser_rules() {
    assert!(CASES.len() >= 50);
    let mut wrong = Vec::new();
    for (origin, rp_id, expect) in CASES {
        let got = validate_origin(origin, *rp_id);
        let ok = match (expect, &got) {
            (Ok(want_origin, want_rp), Result::Ok(checked)) => {
                checked.origin == *want_origin && checked.rp_id == *want_rp
            }
            (No(want), Err(e)) => why(e) == *want,
            _ => false,
        };
        if !ok {
            wrong.push(format!("{origin:?} claiming {rp_id:?}: got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_refusal_names_what_it_refused() {
    for (origin, rp_id, expect) in CASES {
        let No(why_refused) = expect else { continue };
        let message = validate_origin(origin, *rp_id).unwrap_err().to_string();
        let named = match why_refused {
            Why::Empty | Why::RpEmpty => message.contains("empty"),
            Why::RpNotDomain | Why::RpIp | Why::RpTrailingDot => {
                message.contains(&format!("{:?}", rp_id.unwrap()))
            }
            // Without an rp.id, the origin's host is the one refused.
            Why::RpPublicSuffix => {
                message.contains(&format!("{:?}", rp_id.unwrap_or(&origin[8..])))
            }
            Why::Mismatch | Why::InsidePublicSuffix => {
                message.contains(&format!("{:?}", rp_id.unwrap()))
            }
            _ => message.contains(&format!("{origin:?}")),
        };
        assert!(named, "{origin:?} / {rp_id:?}: {message}");
        assert!(
            !message.contains('\0') && !message.contains('\n'),
            "{message:?}"
        );
    }
}

#[test]
fn canonical_origins_are_fixed_points() {
    for (_, _, expect) in CASES {
        if let Ok(origin, _) = expect {
            assert_eq!(canonical_origin(origin).unwrap(), *origin);
        }
    }
}

#[test]
fn messages_say_what_is_wrong() {
    let err = validate_origin("https://evil.co.uk", Some("co.uk")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rp.id \"co.uk\" is a public suffix: a site cannot claim it, because unrelated sites \
         share it; use the site's own domain"
    );
    assert_eq!(err.status(), CtapStatus::InvalidParameter);
    let err = validate_origin("https://192.168.1.1", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "origin \"https://192.168.1.1\" is an IP address: WebAuthn needs a domain name (use \
         localhost or the site's domain)"
    );
    let err = validate_origin("https://foo.up.railway.app", Some("railway.app")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "origin \"https://foo.up.railway.app\" may not use the relying party ID \
         \"railway.app\": it lies within \"up.railway.app\", the public suffix of that host, \
         which unrelated sites share; use \"foo.up.railway.app\" or a name under it"
    );
    let err = validate_origin("https://example.com/login", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "origin \"https://example.com/login\" has a path: an origin is only \
         scheme://host[:port], so drop everything after the host and port"
    );
}

#[test]
fn client_data_carries_the_canonical_origin_and_the_request_the_canonical_rp_id() {
    let mut options = creation_options("");
    options.rp.id = Some("Bücher.Example".into());
    let pending = options.to_ctap("HTTPS://bücher.example:443").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&pending.client_data_json).unwrap();
    assert_eq!(json["origin"], "https://xn--bcher-kva.example");
    assert_eq!(pending.request.rp.id, "xn--bcher-kva.example");
    assert_eq!(pending.rp_id, "xn--bcher-kva.example");

    let mut options = request_options("");
    options.rp_id = Some("EXAMPLE.com".into());
    let pending = options.to_ctap("https://Login.Example.com:443").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&pending.client_data_json).unwrap();
    assert_eq!(json["origin"], "https://login.example.com");
    assert_eq!(pending.request.rp_id, "example.com");
    assert_eq!(
        AuthenticatorData::rp_id_hash(&pending.rp_id),
        AuthenticatorData::rp_id_hash("example.com")
    );

    let err = creation_options("").to_ctap("https://1.1").unwrap_err();
    assert!(matches!(
        err,
        CtapError::Origin(OriginError::IpAddress { .. })
    ));
}

#[test]
fn cross_origin_client_data_appends_top_origin() {
    let challenge = [0xfb, 0xff, 0x01];
    let ty = ClientDataType::Get;
    let json = client_data_json_embedded(
        ty,
        &challenge,
        "https://idp.example",
        Embedding::CrossOrigin {
            top_origin: Some("https://shop.example"),
        },
    );
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"type":"webauthn.get","challenge":"-_8B","origin":"https://idp.example","crossOrigin":true,"topOrigin":"https://shop.example"}"#
    );
    // Without a known top origin, and same-origin: exactly what the bool form writes.
    let cross = Embedding::CrossOrigin { top_origin: None };
    assert_eq!(
        client_data_json_embedded(ty, &challenge, "https://a.example", cross),
        client_data_json(ty, &challenge, "https://a.example", true)
    );
    let same =
        client_data_json_embedded(ty, &challenge, "https://a.example", Embedding::SameOrigin);
    assert_eq!(
        same,
        client_data_json(ty, &challenge, "https://a.example", false)
    );
    assert!(!String::from_utf8(same).unwrap().contains("topOrigin"));
}

proptest! {
    /// Whatever host text comes in, checking never panics, and an accepted origin with its
    /// RP ID is accepted again unchanged: canonical forms are stable.
    #[test]
    fn accepted_origins_are_stable(
        scheme in prop::sample::select(vec!["https", "http", "HTTPS"]),
        host in "[a-zA-Z0-9\u{fc}\u{df}_*%-]{0,8}(\\.[a-z0-9\u{fc}-]{0,8}){0,3}\\.?",
        port in prop::option::of(0u32..70000),
        claim_parent in any::<bool>(),
    ) {
        let origin = match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        let parent = host.split_once('.').map(|(_, rest)| rest.trim_end_matches('.'));
        let rp_id = if claim_parent { parent } else { None };
        if let Result::Ok(checked) = validate_origin(&origin, rp_id) {
            let again = validate_origin(&checked.origin, Some(&checked.rp_id));
            prop_assert_eq!(again.as_ref(), Result::Ok(&checked));
            prop_assert_eq!(canonical_origin(&checked.origin), Result::Ok(checked.origin.clone()));
        }
    }
}
