//! The HTTP side of an upgrade, as pure functions: request head bytes in, a routed
//! [`UpgradeRequest`] or a [`RejectReason`] out; response bytes built for either outcome.
//!
//! The server does the upgrade itself (rather than through tungstenite's accept) so that it
//! decides every status code and header, and so that reading the request is bounded by
//! `max_request_head` before anything else happens. Paths, header names and header values are
//! parsed and built by cable-tunnel, the code clients build their requests with.

use cable_tunnel::urls::{
    parse_client_payload_header, routing_id_header_value, PROTOCOL_HEADER, SIGNAL_CONNECTION_VALUE,
};
use cable_tunnel::{
    TunnelPath as Route, CLIENT_PAYLOAD_HEADER, ROUTING_ID_HEADER, SIGNAL_CONNECTION_HEADER,
    WEBSOCKET_PROTOCOL,
};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::reasons::RejectReason;
use crate::ServerLimits;

/// Headers a request may carry; more → 431.
const MAX_HEADERS: usize = 64;

/// A request that passed every check that does not depend on server state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpgradeRequest {
    pub route: Route,
    /// `Sec-WebSocket-Key`, for the accept hash.
    pub ws_key: String,
    /// `X-caBLE-Signal-Connection: true` on a `contact`.
    pub signal_connection: bool,
    /// Decoded `X-caBLE-Client-Payload` of a `contact`; empty elsewhere.
    pub client_payload: Vec<u8>,
}

/// Parses the bytes read so far. `Ok(None)` means the head is not complete yet; `Ok(Some((n, r)))`
/// means the head is the first `n` bytes (anything after belongs to the WebSocket).
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &ServerLimits,
) -> Result<Option<(usize, UpgradeRequest)>, RejectReason> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_request_head => {
            return Err(RejectReason::RequestTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RejectReason::RequestTooLarge),
        Err(_) => return Err(RejectReason::MalformedRequest),
    };
    if head_len > limits.max_request_head {
        return Err(RejectReason::RequestTooLarge);
    }
    let request = check_request(&req, limits)?;
    Ok(Some((head_len, request)))
}

fn check_request(
    req: &httparse::Request<'_, '_>,
    limits: &ServerLimits,
) -> Result<UpgradeRequest, RejectReason> {
    if req.method != Some("GET") {
        return Err(RejectReason::MethodNotAllowed);
    }
    let path = req.path.unwrap_or_default();
    if path.len() > limits.max_path_len {
        return Err(RejectReason::PathTooLong);
    }
    let route = Route::parse_bounded(path, limits.max_contact_id_len)
        .map_err(|_| RejectReason::UnknownEndpoint)?;

    let headers: &[httparse::Header<'_>] = req.headers;
    let is_upgrade = req.version == Some(1)
        && has_token(headers, "Upgrade", "websocket", false)
        && has_token(headers, "Connection", "upgrade", false);
    let ws_key = single_value(headers, "Sec-WebSocket-Key")
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let (true, Some(ws_key)) = (is_upgrade, ws_key) else {
        return Err(RejectReason::NotWebSocket);
    };
    if single_value(headers, "Sec-WebSocket-Version").map(<[u8]>::trim_ascii) != Some(b"13") {
        return Err(RejectReason::UnsupportedWebSocketVersion);
    }
    // Subprotocol names are case-sensitive (RFC 6455 §4.1).
    if !has_token(headers, PROTOCOL_HEADER, WEBSOCKET_PROTOCOL, true) {
        return Err(RejectReason::MissingSubprotocol);
    }

    let (signal_connection, client_payload) = match route {
        Route::Contact { .. } => (
            has_token(
                headers,
                SIGNAL_CONNECTION_HEADER,
                SIGNAL_CONNECTION_VALUE,
                false,
            ),
            client_payload(headers, limits.max_client_payload_len)?,
        ),
        _ => (false, Vec::new()),
    };
    Ok(UpgradeRequest {
        route,
        ws_key: ws_key.to_owned(),
        signal_connection,
        client_payload,
    })
}

fn client_payload(
    headers: &[httparse::Header<'_>],
    max_len: usize,
) -> Result<Vec<u8>, RejectReason> {
    let value =
        single_value(headers, CLIENT_PAYLOAD_HEADER).ok_or(RejectReason::BadClientPayload)?;
    parse_client_payload_header(value, max_len).map_err(|_| RejectReason::BadClientPayload)
}

fn values<'h>(
    headers: &'h [httparse::Header<'_>],
    name: &'static str,
) -> impl Iterator<Item = &'h [u8]> {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// The value of a header that must appear exactly once.
fn single_value<'h>(headers: &'h [httparse::Header<'_>], name: &'static str) -> Option<&'h [u8]> {
    let mut all = values(headers, name);
    match (all.next(), all.next()) {
        (Some(v), None) => Some(v),
        _ => None,
    }
}

/// Whether a comma-separated header (possibly repeated) contains `token`.
fn has_token(
    headers: &[httparse::Header<'_>],
    name: &'static str,
    token: &str,
    case_sensitive: bool,
) -> bool {
    values(headers, name)
        .flat_map(|v| v.split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|t| {
            if case_sensitive {
                t == token.as_bytes()
            } else {
                t.eq_ignore_ascii_case(token.as_bytes())
            }
        })
}

/// The `101 Switching Protocols` answer, selecting `fido.cable`, with the routing ID of a `new`
/// tunnel and the echoed signal header of a `contact` that asked for it.
pub(crate) fn switching_protocols(
    ws_key: &str,
    routing_id: Option<[u8; 3]>,
    signal_connection: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\
         {PROTOCOL_HEADER}: {WEBSOCKET_PROTOCOL}\r\n",
        derive_accept_key(ws_key.as_bytes())
    );
    if let Some(id) = routing_id {
        out.push_str(&format!(
            "{ROUTING_ID_HEADER}: {}\r\n",
            routing_id_header_value(&id)
        ));
    }
    if signal_connection {
        out.push_str(&format!(
            "{SIGNAL_CONNECTION_HEADER}: {SIGNAL_CONNECTION_VALUE}\r\n"
        ));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A complete error response that closes the connection; the body says what went wrong.
pub(crate) fn error_response(reason: RejectReason) -> Vec<u8> {
    let status = reason.status();
    let extra = match reason {
        RejectReason::MethodNotAllowed => "Allow: GET\r\n",
        RejectReason::UnsupportedWebSocketVersion => "Sec-WebSocket-Version: 13\r\n",
        _ => "",
    };
    let body = reason.message();
    format!(
        "HTTP/1.1 {status} {}\r\n\
         Connection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}\n",
        status_text(status),
        body.len() + 1
    )
    .into_bytes()
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cable_tunnel::urls;
    use proptest::prelude::*;

    fn request(path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut s = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        for (k, v) in extra {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    fn parse(buf: &[u8]) -> Result<Option<(usize, UpgradeRequest)>, RejectReason> {
        parse_head(buf, &ServerLimits::default())
    }

    const PROTO: (&str, &str) = ("Sec-WebSocket-Protocol", "fido.cable");

    #[test]
    fn new_request_is_routed() {
        let tid = [9u8; 16];
        let buf = request(&urls::new_path(&tid), &[PROTO]);
        let (n, req) = parse(&buf).unwrap().unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(req.route, Route::New { tunnel_id: tid });
        assert_eq!(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert!(!req.signal_connection);
    }

    #[test]
    fn partial_head_asks_for_more_and_keeps_trailing_bytes() {
        let buf = request(&urls::new_path(&[0; 16]), &[PROTO]);
        assert_eq!(parse(&buf[..buf.len() - 1]), Ok(None));
        let mut with_frame = buf.clone();
        with_frame.extend_from_slice(&[0x82, 0x80]);
        let (n, _) = parse(&with_frame).unwrap().unwrap();
        assert_eq!(n, buf.len());
    }

    #[test]
    fn subprotocol_is_required_and_may_be_one_of_several() {
        let path = urls::new_path(&[0; 16]);
        assert_eq!(
            parse(&request(&path, &[])),
            Err(RejectReason::MissingSubprotocol)
        );
        assert_eq!(
            parse(&request(&path, &[("Sec-WebSocket-Protocol", "FIDO.CABLE")])),
            Err(RejectReason::MissingSubprotocol)
        );
        assert!(parse(&request(
            &path,
            &[("Sec-WebSocket-Protocol", "chat, fido.cable")]
        ))
        .is_ok());
        assert!(parse(&request(
            &path,
            &[
                ("Sec-WebSocket-Protocol", "chat"),
                ("sec-websocket-protocol", "fido.cable")
            ]
        ))
        .is_ok());
    }

    #[test]
    fn contact_needs_a_hex_payload_and_reads_the_signal_header() {
        let path = urls::contact_path(b"contact");
        assert_eq!(
            parse(&request(&path, &[PROTO])),
            Err(RejectReason::BadClientPayload)
        );
        assert_eq!(
            parse(&request(&path, &[PROTO, ("X-caBLE-Client-Payload", "xyz")])),
            Err(RejectReason::BadClientPayload)
        );
        assert_eq!(
            parse(&request(
                &path,
                &[
                    PROTO,
                    ("X-caBLE-Client-Payload", "A1"),
                    ("X-caBLE-Client-Payload", "A1")
                ]
            )),
            Err(RejectReason::BadClientPayload)
        );
        let (_, req) = parse(&request(
            &path,
            &[
                PROTO,
                ("x-cable-client-payload", "a1B2"),
                ("X-caBLE-Signal-Connection", "True"),
            ],
        ))
        .unwrap()
        .unwrap();
        assert_eq!(req.client_payload, vec![0xa1, 0xb2]);
        assert!(req.signal_connection);
        assert_eq!(
            req.route,
            Route::Contact {
                contact_id: b"contact".to_vec()
            }
        );
    }

    #[test]
    fn contact_ids_are_bounded_by_the_servers_limit() {
        let limits = ServerLimits {
            max_contact_id_len: 8,
            ..ServerLimits::default()
        };
        for path in [urls::contact_path(&[1; 8]), urls::push_path(&[1; 8])] {
            let buf = request(&path, &[PROTO, ("X-caBLE-Client-Payload", "A1")]);
            assert!(parse_head(&buf, &limits).unwrap().is_some(), "{path}");
        }
        for path in [urls::contact_path(&[1; 9]), urls::push_path(&[1; 9])] {
            let buf = request(&path, &[PROTO, ("X-caBLE-Client-Payload", "A1")]);
            assert_eq!(
                parse_head(&buf, &limits),
                Err(RejectReason::UnknownEndpoint),
                "{path}"
            );
        }
    }

    #[test]
    fn each_rejection_has_its_reason() {
        let good = urls::new_path(&[0; 16]);
        assert_eq!(
            parse(b"\x00\x01\x02garbage\r\n\r\n"),
            Err(RejectReason::MalformedRequest)
        );
        assert_eq!(
            parse(format!("POST {good} HTTP/1.1\r\n\r\n").as_bytes()),
            Err(RejectReason::MethodNotAllowed)
        );
        assert_eq!(
            parse(&request("/cable/nope", &[PROTO])),
            Err(RejectReason::UnknownEndpoint)
        );
        assert_eq!(
            parse(&request(&format!("/{}", "a".repeat(2000)), &[PROTO])),
            Err(RejectReason::PathTooLong)
        );
        assert_eq!(
            parse(format!("GET {good} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()),
            Err(RejectReason::NotWebSocket)
        );
        let old = String::from_utf8(request(&good, &[PROTO]))
            .unwrap()
            .replace("Version: 13", "Version: 8");
        assert_eq!(
            parse(old.as_bytes()),
            Err(RejectReason::UnsupportedWebSocketVersion)
        );
        let many: Vec<(String, String)> = (0..70)
            .map(|i| (format!("X-{i}"), "1".to_owned()))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(
            parse(&request(&good, &many)),
            Err(RejectReason::RequestTooLarge)
        );
        let endless = format!("GET {good} HTTP/1.1\r\nX: {}", "a".repeat(9000));
        assert_eq!(
            parse(endless.as_bytes()),
            Err(RejectReason::RequestTooLarge)
        );
    }

    #[test]
    fn responses_carry_the_right_headers() {
        let ok = String::from_utf8(switching_protocols(
            "dGhlIHNhbXBsZSBub25jZQ==",
            Some([0xab, 1, 2]),
            true,
        ))
        .unwrap();
        assert!(ok.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        // RFC 6455 §1.3 example key and accept value.
        assert!(ok.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(ok.contains("Sec-WebSocket-Protocol: fido.cable\r\n"));
        assert!(ok.contains("X-caBLE-Routing-ID: AB0102\r\n"));
        assert!(ok.contains("X-caBLE-Signal-Connection: true\r\n"));
        assert!(ok.ends_with("\r\n\r\n"));
        let plain = String::from_utf8(switching_protocols("k", None, false)).unwrap();
        assert!(!plain.contains("Routing") && !plain.contains("Signal"));

        for reason in RejectReason::ALL {
            let text = String::from_utf8(error_response(reason)).unwrap();
            let mut headers = [httparse::EMPTY_HEADER; 8];
            let mut resp = httparse::Response::new(&mut headers);
            let n = match resp.parse(text.as_bytes()) {
                Ok(httparse::Status::Complete(n)) => n,
                other => panic!("{reason:?}: {other:?}"),
            };
            assert_eq!(resp.code, Some(reason.status()));
            assert_eq!(&text[n..], format!("{}\n", reason.message()));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&buf);
        }

        #[test]
        fn connect_requests_round_trip(r in any::<[u8; 3]>(), t in any::<[u8; 16]>()) {
            let buf = request(&urls::connect_path(&r, &t), &[PROTO]);
            let (_, req) = parse(&buf).unwrap().unwrap();
            prop_assert_eq!(req.route, Route::Connect { routing_id: r, tunnel_id: t });
        }

        #[test]
        fn contact_payload_round_trips(p in proptest::collection::vec(any::<u8>(), 1..100)) {
            let hexp = hex::encode_upper(&p);
            let buf = request(&urls::contact_path(b"c"), &[PROTO, ("X-caBLE-Client-Payload", &hexp)]);
            let (_, req) = parse(&buf).unwrap().unwrap();
            prop_assert_eq!(req.client_payload, p);
        }
    }
}
