//! HYBRID.md §4.5: the raw legacy advertising data a phone broadcasts.
//!
//! ```text
//! 03 03 f9 ff                    complete list of 16-bit service UUIDs: 0xFFF9
//! 17 16 f9 ff <20-byte advert>   service data, 16-bit UUID 0xFFF9 (little-endian)
//! ```
//!
//! 28 bytes, leaving room for the 3-byte flags AD a stack may add within the 31-byte limit.

use crate::codec::ADVERT_LEN;
use crate::UUID_FIDO;

/// AD type: complete list of 16-bit service UUIDs.
pub const AD_TYPE_COMPLETE_UUID16_LIST: u8 = 0x03;
/// AD type: service data with a 16-bit UUID.
pub const AD_TYPE_SERVICE_DATA_UUID16: u8 = 0x16;

/// The advertising data of a phone broadcasting `advert` under 0xFFF9, as Chrome-Android does.
pub fn ad_structures(advert: &[u8; ADVERT_LEN]) -> Vec<u8> {
    let uuid = UUID_FIDO.to_le_bytes();
    let mut out = Vec::with_capacity(8 + ADVERT_LEN);
    // Each AD structure is length (of type + data), type, data.
    out.extend_from_slice(&[3, AD_TYPE_COMPLETE_UUID16_LIST, uuid[0], uuid[1]]);
    out.extend_from_slice(&[
        (1 + 2 + ADVERT_LEN) as u8,
        AD_TYPE_SERVICE_DATA_UUID16,
        uuid[0],
        uuid[1],
    ]);
    out.extend_from_slice(advert);
    out
}
