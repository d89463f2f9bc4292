//! The phone's side of the FIDO hybrid transport (caBLE v2), HYBRID.md §13.3: a software phone
//! for the demo (a user without a phone runs it), the tests (in-process or as a separate
//! process) and developers debugging a desktop.
//!
//! Read top-down along a session:
//! * [`PhoneProfile`] and [`PhoneBehavior`]: which phone to imitate and how its user acts;
//! * [`advert`]: the EID the phone advertises (§4);
//! * [`PhoneChannel`]: the sans-IO session: Noise handshake answer, post-handshake and update
//!   messages, one CTAP operation, shutdown (§6–§8);
//! * [`linking`]: the hook that will offer linking data in the update message (§9);
//! * [`run_qr`]: the async runner that opens the tunnel, advertises on the virtual radio,
//!   drives the channel and keeps the passkey file ([`store_file`]), returning a
//!   [`PhoneReport`].
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
pub mod linking;
mod profile;
mod report;
mod runner;
pub mod store_file;

pub use behavior::{PhoneBehavior, Stage, UserChoice};
pub use channel::{Outgoing, PhoneChannel};
pub use config::{PhoneConfig, Timeouts, DEFAULT_ADVERT_INTERVAL};
pub use error::{PhoneError, Result};
pub use events::{CredentialRecord, PhoneEvent, SessionEnd, StatusRecord};
pub use linking::{LinkIdentity, LinkingProvider, NoLinking};
pub use profile::{CancelStyle, PhoneProfile, UnknownProfile};
pub use report::{CredentialAction, CredentialOutcome, ExchangeRecord, PhoneReport};
pub use runner::run_qr;
