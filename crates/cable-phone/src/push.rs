//! The local tunnel server's push stand-in, from the phone's side: hold
//! `GET /cable/push/<base64url-nopad(contact ID)>` (subprotocol `fido.cable`) open and read one
//! JSON text message per wake-up (decoded by [`crate::wakeup::WakeUp::from_push_message`]). The
//! phone never sends on this socket; closing it unregisters the contact ID (desktops then get
//! `410 Gone`). The path and header names are cable-tunnel's, shared with the server.
//!
//! Only plain `ws://` servers are supported: the push stand-in exists only on the local tunnel
//! server, which does not speak TLS.

use std::time::Duration;

use cable_tunnel::urls::PROTOCOL_HEADER;
use cable_tunnel::{TunnelBase, WEBSOCKET_PROTOCOL};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::{PhoneError, Result};

/// Push messages are small JSON objects; anything larger is refused.
const MAX_PUSH_MESSAGE: usize = 16 * 1024;

/// `<base>/cable/push/<base64url-nopad(contact_id)>`.
pub(crate) fn push_url(base: &TunnelBase, contact_id: &[u8]) -> Result<String> {
    cable_tunnel::push_url(base, contact_id).map_err(PhoneError::InvalidTunnelUrl)
}

/// An open push registration.
pub(crate) struct PushSocket {
    ws: WebSocketStream<TcpStream>,
}

impl PushSocket {
    /// Registers `contact_id` for wake-ups; `url` comes from [`push_url`].
    pub(crate) async fn register(url: &str, limit: Duration) -> Result<Self> {
        match tokio::time::timeout(limit, Self::open(url)).await {
            Ok(result) => result.map_err(|cause| PhoneError::PushUnavailable {
                url: redact(url),
                cause,
            }),
            Err(_) => Err(PhoneError::PushUnavailable {
                url: redact(url),
                cause: format!("no answer within {} s", limit.as_secs_f32()),
            }),
        }
    }

    async fn open(url: &str) -> std::result::Result<Self, String> {
        let Some(rest) = url.strip_prefix("ws://") else {
            return Err("the push stand-in needs a ws:// tunnel server URL".into());
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            PROTOCOL_HEADER,
            HeaderValue::from_static(WEBSOCKET_PROTOCOL),
        );
        let tcp = TcpStream::connect(authority)
            .await
            .map_err(|e| format!("cannot reach {authority}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_PUSH_MESSAGE))
            .max_frame_size(Some(MAX_PUSH_MESSAGE));
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
                .await
                .map_err(|e| match e {
                    WsError::Http(response) => {
                        format!("the server answered HTTP {}", response.status())
                    }
                    other => other.to_string(),
                })?;
        let selected = response
            .headers()
            .get(PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok());
        if selected != Some(WEBSOCKET_PROTOCOL) {
            return Err("the server did not select the fido.cable subprotocol".into());
        }
        Ok(Self { ws })
    }

    /// The next wake-up's text. Fails with [`PhoneError::PushClosed`] once the server ends the
    /// registration (shutdown, a newer registration of the same contact ID, a forget).
    pub(crate) async fn next(&mut self) -> Result<String> {
        loop {
            let closed = |reason: String| PhoneError::PushClosed { reason };
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
                Some(Ok(Message::Binary(bytes))) => {
                    tracing::warn!(
                        len = bytes.len(),
                        "phone: ignoring a binary message on the push socket"
                    );
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = match frame {
                        Some(f) if !f.reason.is_empty() => {
                            format!("closed with {} \"{}\"", u16::from(f.code), f.reason)
                        }
                        Some(f) => format!("closed with {}", u16::from(f.code)),
                        None => "closed".into(),
                    };
                    return Err(closed(reason));
                }
                Some(Ok(_)) => {}
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    return Err(closed("the connection ended".into()))
                }
                Some(Err(e)) => return Err(closed(e.to_string())),
            }
        }
    }

    /// Unregisters politely.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), async move {
            let _ = self.ws.close(None).await;
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// The push URL without the contact ID, for messages (contact IDs are not logged).
pub(crate) fn redact(url: &str) -> String {
    match url.rfind('/') {
        Some(i) => format!("{}/<contact ID>", &url[..i]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_url_and_redaction() {
        let base = TunnelBase::Override("ws://127.0.0.1:8080".into());
        let url = push_url(&base, &[0xfb, 0xff]).unwrap();
        assert_eq!(url, "ws://127.0.0.1:8080/cable/push/-_8");
        assert_eq!(redact(&url), "ws://127.0.0.1:8080/cable/push/<contact ID>");
        assert_eq!(
            push_url(&TunnelBase::Override("http://x".into()), &[1])
                .unwrap_err()
                .code(),
            "invalid_tunnel_url"
        );
    }
}
