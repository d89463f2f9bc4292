//! Every bound the server enforces, so that nothing a client does makes it hold unbounded memory,
//! sockets or time (HYBRID.md §5.6, §11).

use std::time::Duration;

use crate::Error;

/// Limits of a [`TunnelServer`](crate::TunnelServer). Start from [`ServerLimits::default`] and
/// change single fields; [`ServerLimits::validate`] rejects values that cannot work.
///
/// Worst-case memory is roughly `max_connections × (max_request_head + 2 × max_message_size)`
/// plus `max_pending_tunnels × max_buffered_bytes`: a few tens of MiB with the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open TCP connections (upgrading, tunnel sockets and push sockets together). A connection
    /// over the limit gets `503 Service Unavailable` and is closed at once. Default 256.
    pub max_connections: usize,
    /// Tunnels waiting for their second side (`new` and `contact` sockets not yet joined). Over
    /// the limit a `new`/`contact` request gets `503`. Default 128.
    pub max_pending_tunnels: usize,
    /// Largest WebSocket message (after reassembly of fragments). A larger one closes its sender
    /// with 1009 "message too big". Default 64 KiB, not webauthn-rs' 16 KiB: hybrid carries whole
    /// CTAP messages, and a makeCredential with a long excludeList, a getAssertion with a long
    /// allowList or a response with an attestation certificate chain or large blob can exceed
    /// 16 KiB once encrypted and padded; Chromium accepts up to 1 MiB. 64 KiB covers real requests
    /// while keeping per-connection memory small.
    pub max_message_size: usize,
    /// Binary messages one side may send through one tunnel. One more closes the tunnel (1008).
    /// Default 64: a transaction needs about five per side (Noise, post-handshake, request or
    /// response, update, shutdown); webauthn-rs allows 16, but Chromium can run several CTAP
    /// operations over one tunnel (PIN/UV steps, getNextAssertion, credential management), so 64
    /// leaves room without letting a client stream forever.
    pub max_messages_per_peer: u32,
    /// Bytes buffered for a side that has not joined yet (messages sent early are delivered in
    /// order once it joins). Over the limit the sender is closed (1008). Default 128 KiB.
    pub max_buffered_bytes: usize,
    /// Bytes of the HTTP upgrade request head (request line and headers). Larger → `431`.
    /// Default 8 KiB.
    pub max_request_head: usize,
    /// Length of the request path. Longer → `414`. Default 1024: the longest valid path is a
    /// contact or push path with a contact ID of `max_contact_id_len` bytes (698 characters for
    /// 512 bytes); `new` and `connect` paths are at most 54 characters.
    pub max_path_len: usize,
    /// Decoded contact ID bytes on `contact` and `push` paths. Longer → `404`. Default 512.
    pub max_contact_id_len: usize,
    /// Decoded bytes of `X-caBLE-Client-Payload` (a small CBOR map, about 40 bytes in practice).
    /// Longer → `400`. Default 1024.
    pub max_client_payload_len: usize,
    /// Wake-ups queued for one contact (registered, or away) that its phone has not yet
    /// received; those of desktops that stopped waiting do not count. Over the limit a
    /// `contact` request gets `503`. Default 16.
    pub max_pending_wakeups: usize,
    /// Time allowed from TCP accept until the upgrade request head has been read and answered.
    /// Over it the connection is closed (`408` when possible). Default 10 s.
    pub handshake_timeout: Duration,
    /// Time a tunnel may pass with no binary message in either direction (waiting or paired).
    /// Over it both sides are closed (1001). Default 120 s.
    pub idle_timeout: Duration,
    /// Total life of a tunnel from the first side's upgrade, including the wait for the second
    /// side. Over it both sides are closed (1001). Default 120 s (webauthn-rs' tunnel TTL).
    pub tunnel_lifetime: Duration,
    /// How long the server waits for a client to answer its close frame before dropping the TCP
    /// connection. Default 2 s.
    pub close_linger: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_pending_tunnels: 128,
            max_message_size: 64 * 1024,
            max_messages_per_peer: 64,
            max_buffered_bytes: 128 * 1024,
            max_request_head: 8 * 1024,
            max_path_len: 1024,
            max_contact_id_len: 512,
            max_client_payload_len: 1024,
            max_pending_wakeups: 16,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            tunnel_lifetime: Duration::from_secs(120),
            close_linger: Duration::from_secs(2),
        }
    }
}

impl ServerLimits {
    /// Checks that every limit is usable (non-zero, and fits where it must).
    pub fn validate(&self) -> Result<(), Error> {
        let checks: [(bool, &'static str); 12] = [
            (
                self.max_connections > 0,
                "max_connections must be at least 1",
            ),
            (
                u32::try_from(self.max_connections).is_ok(),
                "max_connections must fit in 32 bits",
            ),
            (
                self.max_pending_tunnels > 0,
                "max_pending_tunnels must be at least 1",
            ),
            (
                self.max_message_size > 0,
                "max_message_size must be at least 1",
            ),
            (
                self.max_messages_per_peer > 0,
                "max_messages_per_peer must be at least 1",
            ),
            // The smallest real upgrade request is well over 128 bytes.
            (
                self.max_request_head >= 128,
                "max_request_head must be at least 128 bytes",
            ),
            (
                self.max_path_len >= 54,
                "max_path_len must admit a connect path (54 characters)",
            ),
            (
                self.max_contact_id_len > 0,
                "max_contact_id_len must be at least 1",
            ),
            (
                self.max_pending_wakeups > 0,
                "max_pending_wakeups must be at least 1",
            ),
            (
                !self.handshake_timeout.is_zero(),
                "handshake_timeout must be non-zero",
            ),
            (
                !self.idle_timeout.is_zero(),
                "idle_timeout must be non-zero",
            ),
            (
                !self.tunnel_lifetime.is_zero(),
                "tunnel_lifetime must be non-zero",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(Error::InvalidLimit(what)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let l = ServerLimits::default();
        assert_eq!(l.validate(), Ok(()));
        assert_eq!(l.max_message_size, 65536);
        assert_eq!(l.tunnel_lifetime, Duration::from_secs(120));
        assert_eq!(l.handshake_timeout, Duration::from_secs(10));
        assert_eq!(l.max_messages_per_peer, 64);
        // The longest valid path fits the path limit.
        let longest = cable_tunnel::contact_path(&vec![0xff; l.max_contact_id_len]);
        assert!(longest.len() <= l.max_path_len, "{}", longest.len());
    }

    #[test]
    fn zero_limits_are_rejected() {
        let l = ServerLimits {
            max_connections: 0,
            ..ServerLimits::default()
        };
        assert!(matches!(l.validate(), Err(Error::InvalidLimit(_))));
        let l = ServerLimits {
            idle_timeout: Duration::ZERO,
            ..ServerLimits::default()
        };
        assert!(matches!(l.validate(), Err(Error::InvalidLimit(_))));
    }
}
