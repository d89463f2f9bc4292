//! The websocket client against a tiny in-test server built on `accept_hdr_async`: headers,
//! subprotocol negotiation, the 400 without it, redirects, 404/410/418, text-frame and
//! oversize rejection, pings, and the routing-ID header.

// tungstenite's server callback must return its (large) `ErrorResponse` by value.
#![allow(clippy::result_large_err)]
// Only the `client` feature has a client to test.
#![cfg(feature = "client")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cable_tunnel::client::{connect, ClientOptions, ConnectError, TunnelRequest, TunnelSocket};
use cable_tunnel::{ClientPayload, TunnelBase, TunnelPath};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::Message;

/// Headers the server saw, per request.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

const TUNNEL_ID: [u8; 16] = [0x3e; 16];
/// A tunnel ID for which the test server "forgets" the routing ID header.
const NO_ROUTING_TUNNEL: [u8; 16] = [0xff; 16];
/// A routing ID the server does not know (404).
const UNKNOWN_ROUTING: [u8; 3] = [0xba, 0xd0, 0x00];
/// A routing ID for which the server selects no subprotocol.
const NO_PROTOCOL_ROUTING: [u8; 3] = [0, 0, 0];
/// Connect requests to this routing ID get 410, which only means "forget" for contacts.
const GONE_ROUTING: [u8; 3] = [4, 1, 0];

fn error(status: StatusCode, location: Option<&str>) -> ErrorResponse {
    let mut r = ErrorResponse::new(None);
    *r.status_mut() = status;
    if let Some(l) = location {
        r.headers_mut()
            .insert("Location", HeaderValue::from_str(l).unwrap());
    }
    r
}

fn contact(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(name)
}

/// Decides the handshake answer the way a tunnel server would (§5.6), plus test behaviours.
fn answer(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let offered = req
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !offered.split(',').any(|p| p.trim() == "fido.cable") {
        return Err(error(StatusCode::BAD_REQUEST, None));
    }
    let path =
        TunnelPath::parse(req.uri().path()).map_err(|_| error(StatusCode::NOT_FOUND, None))?;
    let select = |resp: &mut Response| {
        resp.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("fido.cable"),
        );
    };
    match path {
        TunnelPath::New { tunnel_id } => {
            select(&mut resp);
            if tunnel_id != NO_ROUTING_TUNNEL {
                // Lower-case hex and header name: both must be accepted.
                resp.headers_mut()
                    .insert("x-cable-routing-id", HeaderValue::from_static("0a0b0c"));
            }
        }
        TunnelPath::Connect { routing_id, .. } if routing_id == UNKNOWN_ROUTING => {
            return Err(error(StatusCode::NOT_FOUND, None))
        }
        TunnelPath::Connect { routing_id, .. } if routing_id == GONE_ROUTING => {
            return Err(error(StatusCode::GONE, None))
        }
        TunnelPath::Connect { routing_id, .. } => {
            if routing_id != NO_PROTOCOL_ROUTING {
                select(&mut resp);
            }
        }
        TunnelPath::Contact { contact_id } => match contact_id.as_slice() {
            b"gone" => return Err(error(StatusCode::GONE, None)),
            b"late" => return Err(error(StatusCode::IM_A_TEAPOT, None)),
            b"teapot-500" => return Err(error(StatusCode::INTERNAL_SERVER_ERROR, None)),
            b"hop" => {
                let to = format!("/cable/contact/{}", contact("phone"));
                return Err(error(StatusCode::FOUND, Some(&to)));
            }
            b"loop" => {
                let to = format!("/cable/contact/{}", contact("loop"));
                return Err(error(StatusCode::TEMPORARY_REDIRECT, Some(&to)));
            }
            b"phone" => {
                if req.headers().get("X-caBLE-Client-Payload").is_none() {
                    return Err(error(StatusCode::BAD_REQUEST, None));
                }
                select(&mut resp);
                if req.headers().contains_key("X-caBLE-Signal-Connection") {
                    resp.headers_mut().insert(
                        "X-caBLE-Signal-Connection",
                        HeaderValue::from_static("true"),
                    );
                }
            }
            _ => return Err(error(StatusCode::GONE, None)),
        },
        // The client never opens the push stand-in.
        TunnelPath::Push { .. } => return Err(error(StatusCode::NOT_FOUND, None)),
    }
    Ok(resp)
}

/// Serves until the test ends. After the handshake it plays by the message it receives:
/// `text` → a text message; `big` → 2 MiB; `ping` → a ping then `pong-test`; `bye` → close;
/// anything else is echoed.
async fn server() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen2.clone();
            tokio::spawn(async move {
                let callback = |req: &Request, resp: Response| {
                    seen.lock().unwrap().push(
                        req.headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                    );
                    answer(req, resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let reply = match msg {
                        Message::Binary(b) if &b[..] == b"text" => Message::text("hello"),
                        Message::Binary(b) if &b[..] == b"big" => {
                            Message::binary(vec![0u8; 2 << 20])
                        }
                        Message::Binary(b) if &b[..] == b"ping" => {
                            ws.send(Message::Ping(b"p".to_vec().into())).await.ok();
                            continue;
                        }
                        Message::Pong(_) => Message::binary(b"pong-test".to_vec()),
                        Message::Binary(b) if &b[..] == b"bye" => {
                            ws.close(None).await.ok();
                            return;
                        }
                        Message::Binary(b) => Message::Binary(b),
                        _ => continue,
                    };
                    if ws.send(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

fn opts(port: u16) -> ClientOptions {
    ClientOptions {
        base: TunnelBase::Override(format!("ws://127.0.0.1:{port}")),
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn payload() -> ClientPayload {
    ClientPayload {
        link_id: [1; 8],
        client_nonce: [2; 16],
        request_type: "ga".into(),
    }
}

async fn contact_request(
    port: u16,
    name: &str,
    signal: bool,
) -> Result<TunnelSocket, ConnectError> {
    connect(
        TunnelRequest::Contact {
            contact_id: name.as_bytes().to_vec(),
            client_payload: payload(),
            signal_connection: signal,
        },
        &opts(port),
    )
    .await
}

#[tokio::test]
async fn new_tunnel_returns_routing_id_and_sends_headers() {
    let (port, seen) = server().await;
    let mut socket = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap();
    assert_eq!(socket.routing_id(), Some([0x0a, 0x0b, 0x0c]));
    assert!(!socket.signal_connection());
    let headers = seen.lock().unwrap()[0].clone();
    assert_eq!(
        header(&headers, "Sec-WebSocket-Protocol"),
        Some("fido.cable")
    );
    assert_eq!(
        header(&headers, "Origin"),
        Some(format!("ws://127.0.0.1:{port}").as_str())
    );
    assert_eq!(header(&headers, "X-caBLE-Client-Payload"), None);

    socket.send(b"\x01\x02").await.unwrap();
    assert_eq!(socket.recv().await.unwrap(), Some(vec![1, 2]));
    socket.send(b"bye").await.unwrap();
    assert_eq!(socket.recv().await.unwrap(), None);
}

#[tokio::test]
async fn new_tunnel_without_routing_id_is_refused() {
    let (port, _) = server().await;
    let err = connect(
        TunnelRequest::New {
            tunnel_id: NO_ROUTING_TUNNEL,
        },
        &opts(port),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::MissingRoutingId), "{err}");
}

#[tokio::test]
async fn connect_and_status_codes() {
    let (port, _) = server().await;
    let ok = connect(
        TunnelRequest::Connect {
            routing_id: [1, 2, 3],
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap();
    assert_eq!(ok.routing_id(), None);

    let err = connect(
        TunnelRequest::Connect {
            routing_id: UNKNOWN_ROUTING,
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::NotFound), "{err}");

    let err = connect(
        TunnelRequest::Connect {
            routing_id: NO_PROTOCOL_ROUTING,
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::SubprotocolNotSelected), "{err}");

    let err = contact_request(port, "gone", false).await.unwrap_err();
    assert!(matches!(err, ConnectError::Gone));
    assert!(err.to_string().contains("forget"));
    // The same status on a QR connect is not about a linked device.
    let err = connect(
        TunnelRequest::Connect {
            routing_id: GONE_ROUTING,
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::Status(410)), "{err}");
    assert!(!err.to_string().contains("linked"), "{err}");
    let err = contact_request(port, "late", false).await.unwrap_err();
    assert!(matches!(err, ConnectError::TooLate), "{err}");
    let err = contact_request(port, "teapot-500", false)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Status(500)), "{err}");
}

#[tokio::test]
async fn server_answers_400_without_subprotocol() {
    // A client that forgets fido.cable gets 400; our message explains the likely cause.
    let (port, _) = server().await;
    let url = format!("ws://127.0.0.1:{port}/cable/new/{}", hex::encode(TUNNEL_ID));
    let err = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(resp) = err else {
        panic!("{err}")
    };
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let ours = ConnectError::BadRequest.to_string();
    assert!(ours.contains("fido.cable"), "{ours}");
}

#[tokio::test]
async fn contact_sends_payload_and_signal_and_follows_redirects() {
    let (port, seen) = server().await;
    let socket = contact_request(port, "hop", true).await.unwrap();
    assert!(socket.signal_connection());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one redirect, then the tunnel");
    for headers in &seen {
        // Every header is re-sent after the redirect.
        assert_eq!(
            header(headers, "Sec-WebSocket-Protocol"),
            Some("fido.cable")
        );
        assert_eq!(
            header(headers, "X-caBLE-Client-Payload"),
            Some(payload().header_value().as_str())
        );
        assert_eq!(header(headers, "X-caBLE-Signal-Connection"), Some("true"));
        assert!(header(headers, "Origin").is_some());
    }

    let socket = contact_request(port, "phone", false).await.unwrap();
    assert!(!socket.signal_connection());

    let err = contact_request(port, "loop", false).await.unwrap_err();
    assert!(matches!(err, ConnectError::TooManyRedirects(5)), "{err}");
}

#[tokio::test]
async fn text_oversize_and_ping() {
    let (port, _) = server().await;
    let mut socket = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap();
    socket.send(b"ping").await.unwrap();
    // The server only says `pong-test` once it has our pong.
    assert_eq!(socket.recv().await.unwrap(), Some(b"pong-test".to_vec()));
    socket.send(b"text").await.unwrap();
    assert!(matches!(
        socket.recv().await,
        Err(ConnectError::TextMessage)
    ));

    let mut socket = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap();
    socket.send(&vec![7u8; 1 << 20]).await.unwrap();
    assert_eq!(socket.recv().await.unwrap().map(|m| m.len()), Some(1 << 20));
    socket.send(b"big").await.unwrap();
    let err = socket.recv().await.unwrap_err();
    assert!(matches!(err, ConnectError::MessageTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn unreachable_timeout_and_tls_failures() {
    // Nothing listens on a port we bound and released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &opts(port),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("check the network"));

    // A server that accepts TCP and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut o = opts(silent_port);
    o.connect_timeout = Duration::from_millis(300);
    let err = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &o,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::Timeout(_)), "{err}");
    hold.abort();

    // wss:// to a plain-HTTP server: the TLS handshake fails.
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = plain.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let o = ClientOptions {
        base: TunnelBase::Override(format!("wss://127.0.0.1:{plain_port}")),
        ..opts(0)
    };
    let err = connect(
        TunnelRequest::New {
            tunnel_id: TUNNEL_ID,
        },
        &o,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::Tls { .. }), "{err}");

    // A bad override is reported before any I/O.
    let o = ClientOptions {
        base: TunnelBase::Override("http://x".into()),
        ..opts(0)
    };
    assert!(matches!(
        connect(
            TunnelRequest::New {
                tunnel_id: TUNNEL_ID
            },
            &o
        )
        .await,
        Err(ConnectError::Url(_))
    ));
}
