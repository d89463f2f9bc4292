//! Why the server refused an upgrade (an HTTP status) or closed a WebSocket (a close code), in
//! words a person debugging a failed pairing can act on. Both feed [`Stats`](crate::StatsSnapshot).

use std::fmt;

/// Why an upgrade request was answered with an HTTP error instead of `101`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RejectReason {
    /// `max_connections` sockets are already open (503).
    TooManyConnections,
    /// The upgrade request did not arrive within `handshake_timeout` (408, or just closed).
    HandshakeTimeout,
    /// The client closed the connection before sending a whole request head (no response).
    IncompleteRequest,
    /// Not parseable as HTTP/1.x (400).
    MalformedRequest,
    /// The request head is larger than `max_request_head` or has too many headers (431).
    RequestTooLarge,
    /// The path is longer than `max_path_len` (414).
    PathTooLong,
    /// Not a `GET` (405).
    MethodNotAllowed,
    /// The path is not one of the server's endpoints, or its IDs are malformed (404).
    UnknownEndpoint,
    /// A `GET` without the WebSocket upgrade headers, or not HTTP/1.1 (400).
    NotWebSocket,
    /// `Sec-WebSocket-Version` is not 13 (426).
    UnsupportedWebSocketVersion,
    /// `Sec-WebSocket-Protocol` does not offer `fido.cable` (400, like Google's server).
    MissingSubprotocol,
    /// `contact` without a valid hex `X-caBLE-Client-Payload` (400).
    BadClientPayload,
    /// `new` for a tunnel ID that is already waiting for its peer (409).
    TunnelAlreadyWaiting,
    /// `max_pending_tunnels` tunnels are already waiting (503).
    TooManyPendingTunnels,
    /// `connect` for a tunnel that is not waiting (404).
    UnknownTunnel,
    /// `connect` with a routing ID other than the one assigned to the tunnel (404).
    RoutingIdMismatch,
    /// `contact` for a contact ID no phone is registered for (410 Gone).
    UnknownContact,
    /// The registered phone has `max_pending_wakeups` wake-ups it has not read yet (503).
    WakeUpQueueFull,
}

impl RejectReason {
    /// Every reason, in declaration order (indexes the stats counters).
    pub const ALL: [RejectReason; 18] = [
        Self::TooManyConnections,
        Self::HandshakeTimeout,
        Self::IncompleteRequest,
        Self::MalformedRequest,
        Self::RequestTooLarge,
        Self::PathTooLong,
        Self::MethodNotAllowed,
        Self::UnknownEndpoint,
        Self::NotWebSocket,
        Self::UnsupportedWebSocketVersion,
        Self::MissingSubprotocol,
        Self::BadClientPayload,
        Self::TunnelAlreadyWaiting,
        Self::TooManyPendingTunnels,
        Self::UnknownTunnel,
        Self::RoutingIdMismatch,
        Self::UnknownContact,
        Self::WakeUpQueueFull,
    ];

    /// The HTTP status the client receives.
    pub fn status(self) -> u16 {
        match self {
            Self::TooManyConnections | Self::TooManyPendingTunnels | Self::WakeUpQueueFull => 503,
            Self::HandshakeTimeout => 408,
            Self::IncompleteRequest
            | Self::MalformedRequest
            | Self::NotWebSocket
            | Self::MissingSubprotocol
            | Self::BadClientPayload => 400,
            Self::RequestTooLarge => 431,
            Self::PathTooLong => 414,
            Self::MethodNotAllowed => 405,
            Self::UnknownEndpoint | Self::UnknownTunnel | Self::RoutingIdMismatch => 404,
            Self::UnsupportedWebSocketVersion => 426,
            Self::TunnelAlreadyWaiting => 409,
            Self::UnknownContact => 410,
        }
    }

    /// A one-line explanation, sent as the response body.
    pub fn message(self) -> &'static str {
        match self {
            Self::TooManyConnections => "the tunnel server has too many open connections",
            Self::HandshakeTimeout => "the upgrade request took too long to arrive",
            Self::IncompleteRequest => "the connection closed before a whole request arrived",
            Self::MalformedRequest => "the request is not valid HTTP/1.1",
            Self::RequestTooLarge => "the request head is too large",
            Self::PathTooLong => "the request path is too long",
            Self::MethodNotAllowed => "only GET (a WebSocket upgrade) is supported",
            Self::UnknownEndpoint => {
                "no such endpoint: use /cable/new/<32 hex>, /cable/connect/<6 hex>/<32 hex>, \
                 /cable/contact/<base64url> or /cable/push/<base64url>"
            }
            Self::NotWebSocket => "the request is not an HTTP/1.1 WebSocket upgrade",
            Self::UnsupportedWebSocketVersion => "only WebSocket version 13 is supported",
            Self::MissingSubprotocol => "Sec-WebSocket-Protocol must offer fido.cable",
            Self::BadClientPayload => {
                "X-caBLE-Client-Payload must be present once, as hex of a small CBOR map"
            }
            Self::TunnelAlreadyWaiting => "a tunnel with this ID is already waiting for its peer",
            Self::TooManyPendingTunnels => "too many tunnels are waiting for their peer",
            Self::UnknownTunnel => "no tunnel with this ID is waiting",
            Self::RoutingIdMismatch => "the routing ID does not match the tunnel",
            Self::UnknownContact => "no phone is registered for this contact ID",
            Self::WakeUpQueueFull => "the phone has too many wake-ups it has not read yet",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.status())
    }
}

/// Why the server closed an upgraded WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CloseReason {
    /// The other side of the tunnel closed or went away (1000). What a peer sees when its partner
    /// hangs up or is thrown out; Chromium reports it as "remote shutdown".
    PeerClosed,
    /// The side that is being closed sent a text message (1003); only binary is relayed.
    TextMessage,
    /// The side sent a message larger than `max_message_size` (1009).
    MessageTooLarge,
    /// The side sent more than `max_messages_per_peer` messages (1008).
    TooManyMessages,
    /// The side sent more than `max_buffered_bytes` before its peer joined (1008).
    BufferFull,
    /// No message in either direction for `idle_timeout` (1001).
    IdleTimeout,
    /// The tunnel outlived `tunnel_lifetime` (1001).
    LifetimeExceeded,
    /// The side broke the WebSocket protocol (1002).
    ProtocolError,
    /// The server is shutting down (1001).
    ServerShutdown,
    /// A push socket sent data; the push channel only carries wake-ups to the phone (1008).
    PushIsOneWay,
    /// A newer push registration for the same contact ID replaced this one (1000).
    PushReplaced,
    /// An in-process `forget_contact` removed this push registration (1000).
    PushForgotten,
}

impl CloseReason {
    /// Every reason, in declaration order (indexes the stats counters).
    pub const ALL: [CloseReason; 12] = [
        Self::PeerClosed,
        Self::TextMessage,
        Self::MessageTooLarge,
        Self::TooManyMessages,
        Self::BufferFull,
        Self::IdleTimeout,
        Self::LifetimeExceeded,
        Self::ProtocolError,
        Self::ServerShutdown,
        Self::PushIsOneWay,
        Self::PushReplaced,
        Self::PushForgotten,
    ];

    /// The WebSocket close code (RFC 6455 §7.4.1).
    pub fn code(self) -> u16 {
        match self {
            Self::PeerClosed | Self::PushReplaced | Self::PushForgotten => 1000,
            Self::IdleTimeout | Self::LifetimeExceeded | Self::ServerShutdown => 1001,
            Self::ProtocolError => 1002,
            Self::TextMessage => 1003,
            Self::TooManyMessages | Self::BufferFull | Self::PushIsOneWay => 1008,
            Self::MessageTooLarge => 1009,
        }
    }

    /// The close reason text (at most 123 bytes, as a close frame allows).
    pub fn message(self) -> &'static str {
        match self {
            Self::PeerClosed => "the other side closed the tunnel",
            Self::TextMessage => "text messages are not allowed on a tunnel",
            Self::MessageTooLarge => "message too big for this tunnel server",
            Self::TooManyMessages => "too many messages on this tunnel",
            Self::BufferFull => "too much data sent before the other side joined",
            Self::IdleTimeout => "tunnel idle timeout",
            Self::LifetimeExceeded => "tunnel lifetime exceeded",
            Self::ProtocolError => "WebSocket protocol error",
            Self::ServerShutdown => "tunnel server shutting down",
            Self::PushIsOneWay => "the push channel only carries wake-ups to the phone",
            Self::PushReplaced => "a newer push registration replaced this one",
            Self::PushForgotten => "the contact ID was unregistered",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_are_in_declaration_order() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert!((400..600).contains(&r.status()));
        }
        for (i, r) in CloseReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert!(r.message().len() <= 123);
            assert!((1000..1012).contains(&r.code()));
        }
    }

    #[test]
    fn statuses_match_the_brief() {
        assert_eq!(RejectReason::MissingSubprotocol.status(), 400);
        assert_eq!(RejectReason::UnknownTunnel.status(), 404);
        assert_eq!(RejectReason::RoutingIdMismatch.status(), 404);
        assert_eq!(RejectReason::UnknownContact.status(), 410);
        assert_eq!(RejectReason::TunnelAlreadyWaiting.status(), 409);
    }
}
