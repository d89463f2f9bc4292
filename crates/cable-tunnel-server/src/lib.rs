//! A local tunnel server for the FIDO hybrid transport (caBLE v2), so the demo, the tests and
//! developers can run the whole hybrid flow on loopback without Google's or Apple's servers.
//! Plain `ws://` (no TLS); everything else follows HYBRID.md §5.
//!
//! # Endpoints
//!
//! Every endpoint is a WebSocket upgrade (`GET`, HTTP/1.1, version 13) that must offer the
//! subprotocol `fido.cable` (`Sec-WebSocket-Protocol`); without it the answer is `400`, like
//! Google's server. A `101` always selects `fido.cable`. Hex in paths may be either case.
//!
//! | request | answer |
//! |---|---|
//! | `GET /cable/new/<32 hex tunnel ID>` | `101` + `X-caBLE-Routing-ID: <6 upper hex>` (random 3 bytes); `409` if that tunnel ID is already waiting; `503` if `max_pending_tunnels` are waiting |
//! | `GET /cable/connect/<6 hex routing ID>/<32 hex tunnel ID>` | `101`, paired with the waiting `new`/`contact` socket; `404` if no such tunnel is waiting or the routing ID is not the one assigned |
//! | `GET /cable/contact/<base64url contact ID>` + `X-caBLE-Client-Payload: <hex>` | `410 Gone` if no phone ever registered the contact ID (or it was forgotten); else `101` (echoing `X-caBLE-Signal-Connection: true` if it was sent), a new random tunnel + routing ID, and a wake-up to the phone |
//! | `GET /cable/push/<base64url contact ID>` | `101`; the push stand-in (below) |
//!
//! Once paired, each binary message from one side is delivered to the other as one binary
//! message (boundaries kept). Messages the first side sends before its peer joins are buffered
//! (bounded) and delivered in order when it does. A text message closes the tunnel. When one
//! side closes or drops, the server sends the other a close frame (1000, "the other side closed
//! the tunnel"), which Chromium reports as "remote shutdown". A `new` or `contact` tunnel is no
//! longer waiting once joined: a second `connect` gets `404`.
//!
//! # Push stand-in
//!
//! The real service wakes a linked phone through a push service (FCM for Android, §5.5). Here a
//! software phone instead holds a WebSocket open:
//!
//! 1. The phone opens `GET /cable/push/<base64url-nopad(contact ID)>` with
//!    `Sec-WebSocket-Protocol: fido.cable` and keeps it open. The contact ID is now registered;
//!    a newer registration of the same ID replaces it (the old socket is closed with 1000
//!    "a newer push registration replaced this one").
//! 2. For each `contact` request for that ID the server sends one **text** message:
//!    `{"tunnel_id":"<32 HEX>","routing_id":"<6 HEX>","client_payload":"<HEX>"}` (upper-case
//!    hex; `client_payload` is the desktop's `X-caBLE-Client-Payload` decoded and re-encoded).
//!    [`PushMessage`] (cable-tunnel's, re-exported) encodes and decodes it; unknown keys are
//!    ignored.
//! 3. The phone joins with `GET /cable/connect/<routing_id>/<tunnel_id>`. If the desktop asked
//!    for the connect signal, the desktop receives one binary message `00` at that moment,
//!    before anything the phone sends.
//! 4. Closing the push socket does not make the contact ID unknown: the phone is away (off, no
//!    network), and as a push service holds messages for it, `contact` requests still get `101`
//!    and their wake-ups wait (at most `max_pending_wakeups`) until the phone registers again.
//!    Wake-ups whose desktop stopped waiting meanwhile are dropped, not delivered. Only
//!    [`TunnelServer::forget_contact`] (the push service saying the phone is gone for good)
//!    makes `contact` answer `410`, on which desktops forget the link, as Chromium does.
//!    The phone must not send messages on the push socket (that closes it with 1008).
//!
//! In-process, [`TunnelServer::register_contact`] returns a receiver of [`WakeUp`]s instead and
//! [`TunnelServer::forget_contact`] unregisters (the same calls exist on [`ServerHandle`]).
//!
//! # Shared with the clients
//!
//! Paths, header names and the push message come from cable-tunnel's sans-IO modules
//! (`cable_tunnel::urls`, `cable_tunnel::push`), the same code the desktop and the software
//! phone build requests with; this crate adds only the HTTP upgrade, the registry and the relay.
//!
//! # Limits
//!
//! Every bound is in [`ServerLimits`] with its default and the reason for it. Violations end in
//! an HTTP status ([`RejectReason`]) or a close frame ([`CloseReason`]), both counted in
//! [`StatsSnapshot`]. Logging goes through `tracing`; message bodies, client payloads and
//! contact IDs are never logged (only lengths).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cable_tunnel_server::{ServerLimits, TunnelServer};
//! let server = TunnelServer::bind("127.0.0.1:0".parse().unwrap(), ServerLimits::default()).await?;
//! println!("tunnel server at {}", server.base_url());
//! let handle = server.spawn();
//! // ... run phones and desktops against handle.base_url() ...
//! handle.shutdown().await
//! # }
//! ```

mod connection;
mod error;
mod handshake;
mod limits;
pub mod push;
mod push_socket;
mod reasons;
mod registry;
mod relay;
mod server;
mod shared;
mod stats;
mod ws;

pub use error::Error;
pub use limits::ServerLimits;
pub use push::{PushMessage, WakeUp};
pub use reasons::{CloseReason, RejectReason};
pub use server::{ServerHandle, TunnelServer};
pub use stats::StatsSnapshot;
