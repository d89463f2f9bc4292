//! Small helpers over an upgraded socket: what an incoming item means for the relay, and how the
//! server closes a socket (close frame, then a bounded wait for the client's answer).

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use crate::reasons::CloseReason;
use crate::stats::Stats;
use crate::ServerLimits;

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// What one item read from a socket means for the server.
pub(crate) enum Incoming {
    /// A binary message: relay it.
    Binary(Bytes),
    /// A text message (valid UTF-8 or not): not allowed.
    Text,
    /// Ping or pong: tungstenite answers pings itself; nothing to relay.
    Control,
    /// The client closed (close frame, EOF or a broken connection).
    Closed,
    /// Over `max_message_size`.
    TooBig,
    /// A WebSocket protocol violation.
    Broken,
}

pub(crate) fn classify(item: Option<Result<Message, WsError>>) -> Incoming {
    match item {
        Some(Ok(Message::Binary(b))) => Incoming::Binary(b),
        Some(Ok(Message::Text(_))) | Some(Err(WsError::Utf8(_))) => Incoming::Text,
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Incoming::Control,
        Some(Ok(Message::Close(_))) | None => Incoming::Closed,
        Some(Err(WsError::Capacity(_))) => Incoming::TooBig,
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
            Incoming::Closed
        }
        Some(Err(WsError::Protocol(_))) => Incoming::Broken,
        Some(Err(_)) => Incoming::Closed,
    }
}

/// The tungstenite configuration for every upgraded socket.
pub(crate) fn config(limits: &ServerLimits) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits.max_message_size))
        .max_frame_size(Some(limits.max_message_size))
}

/// Closes a socket. With a reason, the server sends its close frame (counted in the stats); with
/// `None` the client started the close and the server only completes the handshake. Either way it
/// then waits up to `linger` for the client, so the client reads the close frame before the TCP
/// connection goes away.
pub(crate) async fn close(
    ws: &mut Ws,
    reason: Option<CloseReason>,
    linger: Duration,
    stats: &Stats,
) {
    if let Some(reason) = reason {
        stats.closed(reason);
        let frame = CloseFrame {
            code: CloseCode::from(reason.code()),
            reason: reason.message().into(),
        };
        let _ = timeout(linger, ws.close(Some(frame))).await;
    }
    // Reading drives tungstenite's queued close reply and ends at the client's close or EOF;
    // anything else the client still sends is discarded.
    let _ = timeout(linger, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// How sending one message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Ok,
    /// The client is gone (closed or broken connection).
    Gone,
    /// The client did not take the message before the tunnel's deadline.
    TimedOut,
}

/// Sends one binary message, bounded by `deadline`.
pub(crate) async fn send_binary(ws: &mut Ws, data: Bytes, deadline: tokio::time::Instant) -> Sent {
    match tokio::time::timeout_at(deadline, ws.send(Message::Binary(data))).await {
        Ok(Ok(())) => Sent::Ok,
        Ok(Err(_)) => Sent::Gone,
        Err(_) => Sent::TimedOut,
    }
}
