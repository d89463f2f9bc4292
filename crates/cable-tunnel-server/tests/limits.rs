//! Limits and hostile clients: every violation ends in a clear status or close reason and the
//! server keeps serving everyone else.

mod common;

use std::time::Duration;

use cable_tunnel::urls::{connect_path, new_path};
use cable_tunnel_server::{CloseReason, RejectReason, ServerLimits};
use common::*;
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Proves the server still works: a fresh tunnel relays a message.
async fn still_serving(base: &str, tunnel_byte: u8) {
    let (mut phone, mut desktop) = pair(base, &[tunnel_byte; 16]).await;
    send(&mut desktop, b"ping").await;
    assert_eq!(recv_binary(&mut phone).await, b"ping");
}

#[tokio::test]
async fn oversize_message_closes_the_sender_with_1009() {
    let limits = ServerLimits {
        max_message_size: 1024,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let (mut phone, mut desktop) = pair(&base, &[1; 16]).await;
    send(&mut phone, &[7; 1024]).await;
    assert_eq!(recv_binary(&mut desktop).await.len(), 1024);
    send(&mut phone, &[7; 1025]).await;
    assert_eq!(
        expect_close(&mut phone).await,
        (1009, CloseReason::MessageTooLarge.message().to_owned())
    );
    assert_eq!(expect_close(&mut desktop).await.0, 1000);

    // Also before the peer joins.
    let (mut early, _) = open_new(&base, &[2; 16]).await;
    send(&mut early, &[0; 5000]).await;
    assert_eq!(expect_close(&mut early).await.0, 1009);
    assert_eq!(server.stats().closed(CloseReason::MessageTooLarge), 2);
    still_serving(&base, 3).await;
}

#[tokio::test]
async fn too_many_messages_from_one_side_closes_the_tunnel() {
    let limits = ServerLimits {
        max_messages_per_peer: 3,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let (mut phone, mut desktop) = pair(&base, &[1; 16]).await;
    for i in 0..3u8 {
        send(&mut desktop, &[i]).await;
        assert_eq!(recv_binary(&mut phone).await, [i]);
    }
    // The other side's budget is its own.
    send(&mut phone, b"reply").await;
    assert_eq!(recv_binary(&mut desktop).await, b"reply");
    send(&mut desktop, &[3]).await;
    assert_eq!(
        expect_close(&mut desktop).await,
        (1008, CloseReason::TooManyMessages.message().to_owned())
    );
    assert_eq!(expect_close(&mut phone).await.0, 1000);
}

#[tokio::test]
async fn buffering_before_the_peer_joins_is_bounded() {
    let limits = ServerLimits {
        max_buffered_bytes: 100,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let (mut phone, routing_id) = open_new(&base, &[1; 16]).await;
    send(&mut phone, &[0; 60]).await;
    send(&mut phone, &[0; 60]).await;
    assert_eq!(
        expect_close(&mut phone).await,
        (1008, CloseReason::BufferFull.message().to_owned())
    );
    eventually(|| server.stats().connections_open == 0).await;
    assert_eq!(
        status(open(&base, &connect_path(&routing_id, &[1; 16]), &[FIDO]).await),
        404
    );
}

#[tokio::test]
async fn too_many_connections_get_503_and_capacity_comes_back() {
    let limits = ServerLimits {
        max_connections: 2,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let addr = server.local_addr();
    let (phone, desktop) = pair(&base, &[1; 16]).await;
    eventually(|| server.stats().connections_open == 2).await;

    let answer = raw(addr, upgrade_head(&new_path(&[2; 16])).as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    match open(&base, &new_path(&[2; 16]), &[FIDO]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        // The server may close before the client finishes writing; a reset is a refusal too.
        Err(tokio_tungstenite::tungstenite::Error::Io(_)) => {}
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    assert!(server.stats().rejected(RejectReason::TooManyConnections) >= 2);

    drop((phone, desktop));
    eventually(|| server.stats().connections_open == 0).await;
    still_serving(&base, 3).await;
}

#[tokio::test]
async fn pending_tunnels_are_bounded() {
    let limits = ServerLimits {
        max_pending_tunnels: 2,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let (_a, _) = open_new(&base, &[1; 16]).await;
    let (_b, _) = open_new(&base, &[2; 16]).await;
    assert_eq!(status(open(&base, &new_path(&[3; 16]), &[FIDO]).await), 503);
    assert_eq!(
        server.stats().rejected(RejectReason::TooManyPendingTunnels),
        1
    );
}

/// How long a test waits for a close the server owes it. Only a hang guard, far past every
/// timeout these tests set, so a stalled machine cannot fail a test; a server that never
/// closes still does.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// The server's close frame, waiting up to `CLOSE_WAIT` (pings and pongs skipped).
async fn close_from_server(ws: &mut Client) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(CLOSE_WAIT, ws.next())
            .await
            .expect("the server never closed the tunnel");
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string())
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected the server's close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn idle_tunnels_are_closed_with_1001() {
    // The keep-alive interval is a tenth of the idle timeout: only a stall of most of two
    // seconds between two messages can idle the tunnel out mid-loop.
    let idle = Duration::from_secs(2);
    let keep_alive = idle / 10;
    let limits = ServerLimits {
        idle_timeout: idle,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let paired = Instant::now();
    let (mut phone, mut desktop) = pair(&base, &[1; 16]).await;
    let (mut lonely, _) = open_new(&base, &[2; 16]).await;
    // Traffic keeps a tunnel alive well past one idle period.
    let mut last_sent = Instant::now();
    while paired.elapsed() < idle * 3 / 2 {
        tokio::time::sleep(keep_alive).await;
        last_sent = Instant::now();
        send(&mut desktop, b"k").await;
        assert_eq!(recv_binary(&mut phone).await, b"k");
    }
    // Then silence closes both sides, and the tunnel nobody joined.
    for ws in [&mut phone, &mut desktop, &mut lonely] {
        assert_eq!(
            close_from_server(ws).await,
            (1001, "tunnel idle timeout".to_owned())
        );
    }
    // From below only: the server saw the last message after it was sent.
    assert!(
        last_sent.elapsed() >= idle,
        "closed {:?} after the last message, before the idle timeout",
        last_sent.elapsed()
    );
    assert_eq!(server.stats().closed(CloseReason::IdleTimeout), 3);
}

#[tokio::test]
async fn tunnel_lifetime_is_bounded_even_with_traffic() {
    // Long enough for the three exchanges below on a stalled machine; the idle timeout stays
    // at its default (minutes), so only the lifetime can end this tunnel.
    let lifetime = Duration::from_secs(2);
    let limits = ServerLimits {
        tunnel_lifetime: lifetime,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    // Before pair(): the tunnel's clock starts during it.
    let started = Instant::now();
    let (mut phone, mut desktop) = pair(&base, &[1; 16]).await;
    let mut exchanged = 0;
    let frame = loop {
        send(&mut desktop, b"k").await;
        let msg = tokio::time::timeout(CLOSE_WAIT, phone.next())
            .await
            .expect("the server never ended the tunnel");
        match msg {
            Some(Ok(Message::Binary(_))) => exchanged += 1,
            Some(Ok(Message::Close(Some(frame)))) => break frame,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a relayed message or the close frame, got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(u16::from(frame.code), 1001);
    assert_eq!(frame.reason.as_str(), "tunnel lifetime exceeded");
    assert!(exchanged >= 3, "only {exchanged} messages relayed");
    assert!(
        started.elapsed() >= lifetime,
        "ended after {:?}, before its lifetime",
        started.elapsed()
    );
    // Both sides were told (the desktop's close may be counted a moment after the phone's).
    eventually(|| server.stats().closed(CloseReason::LifetimeExceeded) == 2).await;
}

#[tokio::test]
async fn handshake_timeout_answers_408() {
    let limits = ServerLimits {
        handshake_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let addr = server.local_addr();
    // A slow client that sends half a request and stops.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /cable/new/").await.unwrap();
    let answer = read_to_end(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    // One that sends nothing at all.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let answer = read_to_end(&mut silent).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert_eq!(server.stats().rejected(RejectReason::HandshakeTimeout), 2);
    drop((tcp, silent));
    eventually(|| server.stats().connections_open == 0).await;
}

#[tokio::test]
async fn garbage_requests_get_http_errors_and_others_keep_working() {
    let server = start_default().await;
    let base = server.base_url();
    let addr = server.local_addr();
    // A tunnel that stays up through all of it.
    let (mut phone, mut desktop) = pair(&base, &[0xee; 16]).await;

    let long_path = format!("/cable/contact/{}", "A".repeat(2000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello?\r\n\r\n".to_vec(),
            "400",
        ),
        (b"hello\r\n\r\n".to_vec(), "400"),
        (
            b"POST /cable/new/00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "405",
        ),
        (
            b"GET /cable/new/00000000000000000000000000000000 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "400",
        ),
        (upgrade_head(&long_path).into_bytes(), "414"),
        (
            format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000)).into_bytes(),
            "431",
        ),
        (upgrade_head("/cable/new/zz").into_bytes(), "404"),
        (
            upgrade_head(&new_path(&[1; 16]))
                .replace("Version: 13", "Version: 12")
                .into_bytes(),
            "426",
        ),
    ];
    for (request, code) in &cases {
        let answer = raw(addr, request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {code} ")),
            "expected {code}, got {answer:?}"
        );
    }
    // Clients that hang up mid-request, or right after connecting.
    for partial in [&b""[..], b"GET /cable/new/0", b"\xff\xfe\xfd"] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(partial).await.unwrap();
        drop(tcp);
    }
    // Random bytes.
    let mut seed = 0x2545f491u32;
    for _ in 0..20 {
        let junk: Vec<u8> = (0..300)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let answer = raw(addr, &junk).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "{answer:?}"
        );
    }

    send(&mut phone, b"still relaying").await;
    assert_eq!(recv_binary(&mut desktop).await, b"still relaying");
    still_serving(&base, 0xef).await;
    eventually(|| server.stats().connections_open == 4).await;
    assert!(server.stats().total_rejected() >= cases.len() as u64);
}

#[tokio::test]
async fn a_websocket_protocol_violation_closes_with_1002() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut phone, routing_id) = open_new(&base, &[1; 16]).await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(upgrade_head(&connect_path(&routing_id, &[1; 16])).as_bytes())
        .await
        .unwrap();
    // An unmasked frame from a client is a protocol error (RFC 6455 §5.1).
    tokio::time::sleep(Duration::from_millis(100)).await;
    tcp.write_all(&[0x82, 0x01, 0x00]).await.unwrap();
    assert_eq!(expect_close(&mut phone).await.0, 1000);
    let mut answer = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut answer);
    let _ = tokio::time::timeout(WAIT, read).await;
    assert!(answer.starts_with(b"HTTP/1.1 101 "));
    // After the head: an unmasked close frame carrying 1002 (0x03EA).
    let head_len = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let frame = &answer[head_len..];
    assert_eq!(frame[0], 0x88, "{frame:02x?}");
    assert_eq!(&frame[2..4], &[0x03, 0xea]);
    eventually(|| server.stats().closed(CloseReason::ProtocolError) == 1).await;
}

#[test]
fn invalid_limits_are_refused_at_bind() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = ServerLimits {
        max_messages_per_peer: 0,
        ..ServerLimits::default()
    };
    let err = rt
        .block_on(cable_tunnel_server::TunnelServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            limits,
        ))
        .err()
        .expect("bind must fail");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
