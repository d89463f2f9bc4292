//! The session state machines of the FIDO hybrid transport (caBLE v2), both roles, sans-IO.
//!
//! A session is one tunnel between a desktop and a phone: Noise handshake, the phone's
//! post-handshake message, optional linking data, one CTAP operation, shutdown (HYBRID.md
//! §6–§9). [`Desktop`] and [`Phone`] hold that protocol and nothing else: no socket, no clock,
//! no radio. They share one API shape, the [`Endpoint`] trait, after quinn-proto's
//! `Connection`: bytes and time go in (`handle_message`, `handle_close`, `handle_timeout`),
//! bytes, events and the next deadline come out (`poll_transmit`, `poll_event`,
//! `poll_timeout`). The async shells (the daemon's engine, the software phone) only move bytes
//! and sleep until the deadline the machine asks for; every timeout and every policy decision
//! (getInfo answered locally, one operation per session, whether linking data is accepted) is
//! made here, so both roles can run against each other in one process ([`pair::Pair`]) on
//! virtual time.
//!
//! Read top-down: [`Endpoint`] and [`Transmit`]; [`Timeouts`] and [`Phase`]; [`desktop`];
//! [`phone`]; [`pair`].

#![forbid(unsafe_code)]

pub mod desktop;
mod error;
pub mod pair;
pub mod phone;
mod timeouts;

pub use desktop::{Advert, Desktop, DesktopEvent, LinkKeys, LinkRejected, Sent, TunnelOpen};
pub use error::{Error, RequestError, Violation};
pub use phone::{LinkingProvider, Phone, PhoneConfig, PhoneEnd, PhoneEvent};
pub use timeouts::{Phase, Timeouts};

use std::time::Instant;

/// What an endpoint asks its shell to do with the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Send these bytes as one binary websocket message.
    Message(Vec<u8>),
    /// Close the tunnel (after sending every message before this one).
    Close,
}

/// The one API shape both roles share (quinn-proto's `Connection`): feed it what arrived and
/// the time, then drain what it wants sent, what happened, and when to wake it next.
pub trait Endpoint {
    type Event;

    /// One binary message the tunnel delivered.
    fn handle_message(&mut self, now: Instant, message: &[u8]);
    /// The tunnel closed (or broke) under us.
    fn handle_close(&mut self, now: Instant);
    /// The deadline from [`Endpoint::poll_timeout`] has passed (early calls are harmless).
    fn handle_timeout(&mut self, now: Instant);
    /// The next message to send, or the close, in order.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// The next thing that happened, oldest first.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When [`Endpoint::handle_timeout`] must next be called, if ever.
    fn poll_timeout(&self) -> Option<Instant>;
    /// True once the session is over: nothing more will be sent or reported.
    fn is_closed(&self) -> bool;
}
