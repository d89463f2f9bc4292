//! HYBRID.md §5.2–5.3 as data: which endpoint a client opens, its URL and the headers it sends.
//!
//! Sans-IO so that the websocket client, the daemon's timeline and tests all derive a request's
//! URL and headers in one place; `client` only adds the socket.

use crate::client_payload::ClientPayload;
use crate::error::Result;
use crate::urls::{
    TunnelBase, TunnelPath, CLIENT_PAYLOAD_HEADER, ORIGIN_HEADER, PROTOCOL_HEADER,
    SIGNAL_CONNECTION_HEADER, SIGNAL_CONNECTION_VALUE, WEBSOCKET_PROTOCOL,
};

/// Which endpoint to open (§5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelRequest {
    /// Phone, QR flow: `/cable/new/<tunnel ID>`; the server answers with a routing ID.
    New { tunnel_id: [u8; 16] },
    /// Desktop, QR flow (and Chrome-Android phones in the linked flow).
    Connect {
        routing_id: [u8; 3],
        tunnel_id: [u8; 16],
    },
    /// Desktop, linked flow: wake the phone behind `contact_id`.
    Contact {
        contact_id: Vec<u8>,
        client_payload: ClientPayload,
        /// Ask the server to send `00` when the phone joins (§5.4).
        signal_connection: bool,
    },
}

impl TunnelRequest {
    /// The endpoint path this request opens.
    pub fn path(&self) -> TunnelPath {
        match self {
            Self::New { tunnel_id } => TunnelPath::New {
                tunnel_id: *tunnel_id,
            },
            Self::Connect {
                routing_id,
                tunnel_id,
            } => TunnelPath::Connect {
                routing_id: *routing_id,
                tunnel_id: *tunnel_id,
            },
            Self::Contact { contact_id, .. } => TunnelPath::Contact {
                contact_id: contact_id.clone(),
            },
        }
    }

    /// The full URL on `base` (upper-case hex, unpadded base64url, as Chromium).
    pub fn url(&self, base: &TunnelBase) -> Result<String> {
        self.path().url(base)
    }

    /// Every header the request sends besides the websocket handshake's own: the `fido.cable`
    /// subprotocol, the `Origin` of `base`, and for `contact` the client payload and, if asked
    /// for, the connect-signal request.
    pub fn headers(&self, base: &TunnelBase) -> Result<Vec<(&'static str, String)>> {
        let mut headers = vec![
            (PROTOCOL_HEADER, WEBSOCKET_PROTOCOL.to_string()),
            (ORIGIN_HEADER, base.origin()?),
        ];
        if let Self::Contact {
            client_payload,
            signal_connection,
            ..
        } = self
        {
            headers.push((CLIENT_PAYLOAD_HEADER, client_payload.header_value()));
            if *signal_connection {
                headers.push((
                    SIGNAL_CONNECTION_HEADER,
                    SIGNAL_CONNECTION_VALUE.to_string(),
                ));
            }
        }
        Ok(headers)
    }

    /// True for `new`: its answer must carry exactly one `X-caBLE-Routing-ID`.
    pub fn expects_routing_id(&self) -> bool {
        matches!(self, Self::New { .. })
    }

    /// True for a `contact` that asks for the connect signal; only then may the answer's echo of
    /// `X-caBLE-Signal-Connection` count.
    pub fn asks_for_signal(&self) -> bool {
        matches!(
            self,
            Self::Contact {
                signal_connection: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn contact(signal_connection: bool) -> TunnelRequest {
        TunnelRequest::Contact {
            contact_id: vec![0xfb, 0xff],
            client_payload: ClientPayload {
                link_id: [1; 8],
                client_nonce: [2; 16],
                request_type: "ga".into(),
            },
            signal_connection,
        }
    }

    #[test]
    fn urls_follow_the_path_builders() {
        let base = TunnelBase::Override("ws://127.0.0.1:9/".into());
        let new = TunnelRequest::New {
            tunnel_id: [0xab; 16],
        };
        assert_eq!(
            new.url(&base).unwrap(),
            format!("ws://127.0.0.1:9/cable/new/{}", "AB".repeat(16))
        );
        let connect = TunnelRequest::Connect {
            routing_id: [1, 2, 3],
            tunnel_id: [0; 16],
        };
        assert_eq!(
            connect.url(&TunnelBase::Domain(1)).unwrap(),
            format!(
                "wss://cable.auth.com/cable/connect/010203/{}",
                "00".repeat(16)
            )
        );
        assert_eq!(
            contact(false).url(&base).unwrap(),
            "ws://127.0.0.1:9/cable/contact/-_8"
        );
        assert_eq!(
            new.url(&TunnelBase::Domain(2)),
            Err(Error::UnknownDomain(2))
        );
    }

    #[test]
    fn headers_per_endpoint() {
        let base = TunnelBase::Domain(0);
        let connect = TunnelRequest::Connect {
            routing_id: [0; 3],
            tunnel_id: [0; 16],
        };
        let common = vec![
            ("Sec-WebSocket-Protocol", "fido.cable".to_string()),
            ("Origin", "wss://cable.ua5v.com".to_string()),
        ];
        assert_eq!(connect.headers(&base).unwrap(), common);
        assert!(!connect.expects_routing_id() && !connect.asks_for_signal());
        assert!(TunnelRequest::New { tunnel_id: [0; 16] }.expects_routing_id());

        let payload = match contact(false) {
            TunnelRequest::Contact { client_payload, .. } => client_payload.header_value(),
            _ => unreachable!(),
        };
        let mut quiet = common.clone();
        quiet.push(("X-caBLE-Client-Payload", payload));
        assert_eq!(contact(false).headers(&base).unwrap(), quiet);
        assert!(!contact(false).asks_for_signal());

        let mut loud = quiet.clone();
        loud.push(("X-caBLE-Signal-Connection", "true".to_string()));
        assert_eq!(contact(true).headers(&base).unwrap(), loud);
        assert!(contact(true).asks_for_signal());

        assert!(connect
            .headers(&TunnelBase::Override("http://x".into()))
            .is_err());
    }
}
