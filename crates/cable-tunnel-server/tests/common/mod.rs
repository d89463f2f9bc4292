//! Test clients: tokio-tungstenite sockets speaking to a real server on loopback.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const WAIT: Duration = Duration::from_secs(5);
pub const FIDO: (&str, &str) = ("Sec-WebSocket-Protocol", "fido.cable");

pub async fn start(limits: ServerLimits) -> ServerHandle {
    TunnelServer::bind("127.0.0.1:0".parse().unwrap(), limits)
        .await
        .unwrap()
        .spawn()
}

pub async fn start_default() -> ServerHandle {
    start(ServerLimits::default()).await
}

/// Opens `base + path` with the given request headers.
pub async fn open(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Client, Response), WsError> {
    let mut request = format!("{base}{path}").into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    timeout(WAIT, connect_async(request))
        .await
        .expect("upgrade timed out")
}

/// Opens `path` offering `fido.cable`, expecting 101.
pub async fn cable(base: &str, path: &str) -> (Client, Response) {
    let (ws, resp) = open(base, path, &[FIDO]).await.expect("upgrade failed");
    assert_eq!(resp.status(), 101);
    assert_eq!(
        header(&resp, "Sec-WebSocket-Protocol").as_deref(),
        Some("fido.cable")
    );
    (ws, resp)
}

pub fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The HTTP status of a refused upgrade.
pub fn status(result: Result<(Client, Response), WsError>) -> u16 {
    match result {
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(other) => panic!("expected an HTTP error, got {other}"),
        Ok((_, resp)) => panic!("expected an HTTP error, got {}", resp.status()),
    }
}

/// Opens a `new` tunnel and returns the socket and the assigned routing ID.
pub async fn open_new(base: &str, tunnel_id: &[u8; 16]) -> (Client, [u8; 3]) {
    let (ws, resp) = cable(base, &cable_tunnel::urls::new_path(tunnel_id)).await;
    let rid = header(&resp, "X-caBLE-Routing-ID").expect("routing ID header");
    assert_eq!(rid.len(), 6);
    assert_eq!(rid, rid.to_ascii_uppercase());
    let mut routing_id = [0u8; 3];
    hex::decode_to_slice(&rid, &mut routing_id).unwrap();
    (ws, routing_id)
}

/// A paired tunnel: (phone = `new` side, desktop = `connect` side).
pub async fn pair(base: &str, tunnel_id: &[u8; 16]) -> (Client, Client) {
    let (phone, routing_id) = open_new(base, tunnel_id).await;
    let (desktop, _) = cable(
        base,
        &cable_tunnel::urls::connect_path(&routing_id, tunnel_id),
    )
    .await;
    (phone, desktop)
}

pub async fn send(ws: &mut Client, data: &[u8]) {
    ws.send(Message::binary(data.to_vec())).await.unwrap();
}

/// The next data message (pings and pongs skipped).
pub async fn recv(ws: &mut Client) -> Message {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("timed out waiting for a message")
            .expect("socket ended")
            .expect("socket error");
        if !matches!(msg, Message::Ping(_) | Message::Pong(_)) {
            return msg;
        }
    }
}

pub async fn recv_binary(ws: &mut Client) -> Vec<u8> {
    match recv(ws).await {
        Message::Binary(b) => b.to_vec(),
        other => panic!("expected binary, got {other:?}"),
    }
}

/// Reads until the server's close frame; returns (code, reason).
pub async fn expect_close(ws: &mut Client) -> (u16, String) {
    loop {
        match timeout(WAIT, ws.next())
            .await
            .expect("timed out waiting for close")
        {
            Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                return (code.into(), reason.to_string())
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(Message::Binary(b))) => panic!("expected close, got {} bytes", b.len()),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("expected close, got error {e}"),
            None => panic!("socket ended without a close frame"),
        }
    }
}

/// Writes raw bytes and reads the answer until EOF (or `WAIT`).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tcp.write_all(request).await;
    read_to_end(&mut tcp).await
}

pub async fn read_to_end(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = timeout(WAIT, tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A handwritten upgrade request head.
pub fn upgrade_head(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: fido.cable\r\n\r\n"
    )
}

/// A masked client binary frame (payload < 126 bytes).
pub fn masked_binary_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut frame = vec![0x82, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Polls `f` until it holds (or panics after `WAIT`).
pub async fn eventually(mut f: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < WAIT, "condition never held");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
