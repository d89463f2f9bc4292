//! The phone's side of the FIDO hybrid transport (caBLE v2), HYBRID.md §13.3: a software phone
//! for the demo (a user without a phone runs it), the tests (in-process or as a separate
//! process) and developers debugging a desktop.
//!
//! Read top-down along a session:
//! * [`PhoneProfile`] and [`PhoneBehavior`]: which phone to imitate and how its user acts;
//! * [`advert`]: the EID the phone advertises (§4);
//! * [`PhoneChannel`]: the sans-IO session: Noise handshake answer, post-handshake and update
//!   messages, one CTAP operation, shutdown (§6–§8);
//! * [`linking`]: the phone's linking identity and the linking data it offers in the update
//!   message (§9);
//! * [`run_qr`]: the async runner that opens the tunnel, advertises on the virtual radio,
//!   drives the channel and keeps the state file ([`store_file`], [`PhoneState`]), returning
//!   a [`PhoneReport`];
//! * [`wakeup`] and [`run_linked`]: a linked phone registered with the local tunnel server's
//!   push stand-in, woken by desktops holding one of its links (§9.6).
//!
//! The software authenticator itself is cable-ctap's; the handshake and channel are
//! cable-tunnel's; the advert codec and radio are cable-ble's. This crate only wires them as a
//! phone does.

#![forbid(unsafe_code)]

pub mod advert;
mod behavior;
mod channel;
mod config;
mod error;
mod events;
mod linked;
pub mod linking;
mod profile;
mod push;
mod report;
mod runner;
mod state;
pub mod store_file;
pub mod wakeup;

pub use behavior::{PhoneBehavior, Stage, UserChoice};
pub use channel::{Outgoing, PhoneChannel};
pub use config::{LinkedConfig, PhoneConfig, Timeouts, DEFAULT_ADVERT_INTERVAL};
pub use error::{PhoneError, Result};
pub use events::{CredentialRecord, PhoneEvent, SessionEnd, StatusRecord};
pub use linked::{run_linked, run_linked_with_events, LinkedEvent};
pub use linking::{LinkIdentity, LinkingProvider, NoLinking, DEFAULT_PHONE_NAME};
pub use profile::{CancelStyle, PhoneProfile, UnknownProfile};
pub use report::{CredentialAction, CredentialOutcome, ExchangeRecord, PhoneReport, SessionFlow};
pub use runner::run_qr;
pub use state::{merge_passkeys, LinkRecord, LinkState, PhoneState};
