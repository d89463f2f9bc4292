//! The tunnel layer of the FIDO hybrid transport (caBLE v2), HYBRID.md §5–§7, §9, §11–§12.
//!
//! Read top-down along a session:
//! * [`domain`] and [`urls`]: which tunnel server, which endpoint path, which header names, as
//!   builders and the parsers a tunnel server needs (§5);
//! * [`request`]: a client's [`TunnelRequest`], its URL and headers (§5.2–5.3);
//! * [`push`]: the local tunnel server's push message, which wakes a linked software phone;
//! * [`handshake`]: Noise KNpsk0 (QR) and NKpsk0 (linked), both roles (§6);
//! * [`crypter`]: the padded AES-GCM channel, with the desktop's legacy fallback (§7.1–7.2);
//! * [`post_handshake`], [`frame`], [`update`]: the messages inside the channel (§7.4–7.6);
//! * [`linking`] and [`client_payload`]: linked devices (§9);
//! * [`l2cap`]: the CTAP 2.3 BLE channel's CR LF framing (§10);
//! * `client` (cargo feature `client`, on by default): the websocket client, the crate's only
//!   I/O and its only use of tokio.
//!
//! Everything except `client` is sans-IO: bytes in, bytes out, randomness from the caller. A
//! tunnel server or a phone that brings its own I/O depends on the crate with
//! `default-features = false`.

#[cfg(feature = "client")]
pub mod client;
pub mod client_payload;
pub mod crypter;
pub mod domain;
mod error;
pub mod frame;
pub mod handshake;
pub mod l2cap;
pub mod linking;
pub mod post_handshake;
pub mod push;
pub mod request;
pub mod update;
pub mod urls;

pub use client_payload::ClientPayload;
pub use crypter::{Construction, Crypter, Role};
pub use domain::{domain_name, ASSIGNED_DOMAINS};
pub use error::{Error, Result};
pub use frame::{Frame, MessageType, Revision};
pub use handshake::{respond_linked, respond_qr, Flow, HandshakeInitiator, HandshakeResult};
pub use linking::{handshake_signature, verify_handshake_signature, LinkingInfo};
pub use post_handshake::PostHandshake;
pub use push::PushMessage;
pub use request::TunnelRequest;
pub use update::UpdateMessage;
pub use urls::{
    connect_path, connect_url, contact_path, contact_url, new_path, new_url,
    parse_routing_id_header, push_path, push_url, TunnelBase, TunnelPath, CLIENT_PAYLOAD_HEADER,
    ROUTING_ID_HEADER, SIGNAL_CONNECTION_HEADER, WEBSOCKET_PROTOCOL,
};
