//! The BLE proximity layer of the FIDO hybrid transport (HYBRID.md §4, §10, §12).
//!
//! A phone proves it is near the desktop by broadcasting a 20-byte advert: the EID plaintext
//! (nonce, routing ID, tunnel domain) encrypted and tagged with the EID key. This crate has:
//!
//! * the sans-IO codec, for both roles: [`encrypt_advert`] (phone), [`decrypt_advert`]
//!   (desktop), [`EidPlaintext`], the CTAP 2.3 [`AdvertSuffix`] and the raw [`ad_structures`];
//! * the desktop's [`AdvertMatcher`], which applies Chromium's scanning rules (UUID filter,
//!   de-duplication, queueing, many pending keys) to the [`Advert`]s any scanner yields;
//! * the scanners ([`scan`]): one [`Scanner`] trait, a UDP "virtual radio" for machines without
//!   Bluetooth (with the phone-side [`VirtualRadioAdvertiser`]), and btleplug's Bluetooth LE
//!   scanning behind the default `bluetooth` feature.
//!
//! The crate takes an EID key, never a QR secret or link secret: the session engine derives
//! keys, so QR and linked sessions share this code.

mod ad;
mod advert;
mod codec;
mod error;
mod matcher;
mod plaintext;
pub mod scan;
mod suffix;
mod uuids;

pub use ad::{ad_structures, AD_TYPE_COMPLETE_UUID16_LIST, AD_TYPE_SERVICE_DATA_UUID16};
pub use advert::{Advert, AdvertSource};
pub use codec::{decrypt_advert, encrypt_advert, DecryptedAdvert, ADVERT_LEN};
pub use error::AdvertError;
pub use matcher::{
    AdvertMatcher, Match, MatcherStats, DEFAULT_DEDUP_CAPACITY, DEFAULT_QUEUE_CAPACITY,
};
pub use plaintext::{is_valid_domain, DomainCheck, EidPlaintext};
#[cfg(feature = "bluetooth")]
pub use scan::{AdapterChoice, BluetoothScanner};
pub use scan::{
    RadioDown, RadioState, ScanError, ScanEvent, ScanHandle, ScanStats, Scanner,
    VirtualRadioAdvertiser, VirtualRadioScanner,
};
pub use suffix::{AdvertSuffix, CHANNEL_BLE, CHANNEL_TUNNEL};
pub use uuids::{
    is_hybrid_uuid, uuid128_to_16, uuid16_to_128, HYBRID_UUIDS, UUID_FIDO, UUID_FIDO_128,
    UUID_GOOGLE, UUID_GOOGLE_128,
};
