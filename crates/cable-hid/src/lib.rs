//! cable's virtual USB security key: the CTAP-HID device state machine (CTAP 2.2 §11.2) and
//! the CTAP2 answers the key gives without the phone. Sans-IO, no async runtime, no clock.
//!
//! A small privileged process relays raw 64-byte reports between Linux uhid and `cabled`;
//! `cabled` feeds them to a [`Device`] and, for each [`DeviceEvent::Cbor`], asks
//! [`LocalAnswers::handle`] (or [`classify`]) who answers: the key itself, or the phone
//! through a hybrid session ([`Handling::Relay`]).
//!
//! ```
//! use std::time::Instant;
//! use cable_hid::{Device, DeviceConfig, DeviceEvent, Handling, LocalAnswers};
//!
//! let mut device = Device::new(DeviceConfig::default());
//! let mut local = LocalAnswers::new();
//! let now = Instant::now();
//! // INIT on the broadcast channel with an 8-byte nonce allocates a channel.
//! let mut init = [0u8; 64];
//! init[..7].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x86, 0x00, 0x08]);
//! device.handle_report(now, &init).unwrap();
//! let answer = device.poll_report().unwrap();
//! let cid = u32::from_be_bytes(answer[15..19].try_into().unwrap());
//! // authenticatorGetInfo on it.
//! let mut get_info = [0u8; 64];
//! get_info[..4].copy_from_slice(&cid.to_be_bytes());
//! get_info[4..8].copy_from_slice(&[0x90, 0x00, 0x01, 0x04]);
//! device.handle_report(now, &get_info).unwrap();
//! let Some(DeviceEvent::Cbor { cid, request }) = device.poll_event() else { panic!() };
//! let Handling::Reply { response, .. } = local.handle(&request) else { panic!() };
//! device.respond(now, cid, &response).unwrap();
//! assert_eq!(device.poll_report().unwrap()[4], 0x90);
//! ```
//!
//! We implement no U2F (CTAP1): CTAPHID_MSG and CTAPHID_LOCK answer ERR_INVALID_CMD, INIT
//! announces NMSG, and getInfo lists no U2F_V2. Phones speak CTAP2 only, so a U2F request
//! could not be relayed anyway.

#![forbid(unsafe_code)]

mod channels;
mod config;
mod device;
mod error;
pub mod local;
pub mod packet;

pub use channels::MAX_CHANNELS;
pub use config::{Capabilities, DeviceConfig, DeviceVersion, MAX_KEEPALIVE_INTERVAL};
pub use device::{CancelReason, Device, DeviceEvent, Keepalive};
pub use error::HidError;
pub use local::{classify, rp_id, Handling, LocalAnswers, Probe};
pub use packet::{ErrorCode, BROADCAST_CID, MAX_MESSAGE_LEN, REPORT_LEN};
