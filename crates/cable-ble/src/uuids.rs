//! HYBRID.md §4.1: the two 16-bit service UUIDs a hybrid phone advertises under.
//!
//! 0xFFF9 (FIDO Alliance) is the one current phones and our virtual phone advertise; 0xFDE2
//! (Google) is still used by older phones and was reported for iOS 16, so desktops scan both.

/// FIDO Alliance service UUID: current Chrome-Android and Play services phones.
pub const UUID_FIDO: u16 = 0xFFF9;
/// Google service UUID: older phones (and reportedly iOS 16).
pub const UUID_GOOGLE: u16 = 0xFDE2;

/// The Bluetooth base UUID `0000xxxx-0000-1000-8000-00805f9b34fb` with `xxxx` = 0.
const BLUETOOTH_BASE_UUID: u128 = 0x0000_0000_0000_1000_8000_0080_5f9b_34fb;

/// `0000fff9-0000-1000-8000-00805f9b34fb`.
pub const UUID_FIDO_128: u128 = uuid16_to_128(UUID_FIDO);
/// `0000fde2-0000-1000-8000-00805f9b34fb`.
pub const UUID_GOOGLE_128: u128 = uuid16_to_128(UUID_GOOGLE);

/// Both hybrid UUIDs, in the order Chromium prefers when a device carries both (Google first).
pub const HYBRID_UUIDS: [u16; 2] = [UUID_GOOGLE, UUID_FIDO];

/// True for the UUIDs a hybrid phone advertises under.
pub const fn is_hybrid_uuid(uuid: u16) -> bool {
    uuid == UUID_FIDO || uuid == UUID_GOOGLE
}

/// The 128-bit form of a 16-bit Bluetooth SIG UUID.
pub const fn uuid16_to_128(uuid: u16) -> u128 {
    BLUETOOTH_BASE_UUID | ((uuid as u128) << 96)
}

/// The 16-bit form of a 128-bit UUID, if it lies on the Bluetooth base UUID with a 16-bit value.
pub const fn uuid128_to_16(uuid: u128) -> Option<u16> {
    let short = uuid >> 96;
    if uuid & !(0xffff_ffff << 96) == BLUETOOTH_BASE_UUID && short <= 0xffff {
        Some(short as u16)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_forms_match_the_spec_text() {
        assert_eq!(
            format!("{UUID_FIDO_128:032x}"),
            "0000fff900001000800000805f9b34fb"
        );
        assert_eq!(
            format!("{UUID_GOOGLE_128:032x}"),
            "0000fde200001000800000805f9b34fb"
        );
    }

    #[test]
    fn short_and_long_forms_convert_both_ways() {
        assert_eq!(uuid128_to_16(UUID_FIDO_128), Some(UUID_FIDO));
        assert_eq!(uuid128_to_16(UUID_GOOGLE_128), Some(UUID_GOOGLE));
        // A 32-bit SIG UUID and a random vendor UUID have no 16-bit form.
        assert_eq!(uuid128_to_16(UUID_FIDO_128 | (1 << 112)), None);
        assert_eq!(
            uuid128_to_16(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
            None
        );
        assert!(is_hybrid_uuid(0xFFF9) && is_hybrid_uuid(0xFDE2) && !is_hybrid_uuid(0xFCF1));
    }
}
