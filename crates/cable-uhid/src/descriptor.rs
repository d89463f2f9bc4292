//! The one device cable-uhid ever creates: a FIDO CTAPHID interface, fixed at compile time.
//!
//! Nothing cabled sends reaches these values; [`device`] is the only `UHID_CREATE2` this crate
//! builds.
//!
//! Ids: bus `BUS_USB` because browsers and libfido2 enumerate hidraw nodes of USB (and
//! Bluetooth) keys, and match FIDO keys by the usage page of the descriptor, not by id.
//! Vendor `0x1209` is pid.codes (the open-source vendor id); product `0xCAB1` is **not**
//! allocated there yet: apply for one (or change [`PRODUCT_ID`] and `dist/udev`) before shipping
//! packages. Programs must not special-case these ids; only our udev rule matches them.

use crate::abi::Create2;

/// `BUS_USB` of `linux/input.h`.
pub const BUS_USB: u16 = 0x03;
/// `BUS_VIRTUAL` of `linux/input.h` (not used: see the module docs).
pub const BUS_VIRTUAL: u16 = 0x06;
/// pid.codes.
pub const VENDOR_ID: u32 = 0x1209;
/// "CAB1"; see the module docs.
pub const PRODUCT_ID: u32 = 0xCAB1;
/// Reported as the device's release (bcdDevice-like).
pub const VERSION: u32 = 0x0100;
/// What `HID_NAME` and browsers' device lists show.
pub const NAME: &str = "cable: phone as security key";
/// `HID_PHYS`: says where it comes from to someone reading udevadm output.
pub const PHYS: &str = "cable-uhid";

/// The FIDO report descriptor of the CTAP 2.1 spec (§11.2.8.1): usage page 0xF1D0, usage 1,
/// one 64-byte input report (usage 0x20) and one 64-byte output report (usage 0x21), no
/// report IDs.
pub const REPORT_DESCRIPTOR: [u8; 34] = [
    0x06, 0xD0, 0xF1, // Usage Page (FIDO Alliance)
    0x09, 0x01, //       Usage (CTAPHID)
    0xA1, 0x01, //       Collection (Application)
    0x09, 0x20, //         Usage (Input Report Data)
    0x15, 0x00, //         Logical Minimum (0)
    0x26, 0xFF, 0x00, //   Logical Maximum (255)
    0x75, 0x08, //         Report Size (8)
    0x95, 0x40, //         Report Count (64)
    0x81, 0x02, //         Input (Data, Var, Abs)
    0x09, 0x21, //         Usage (Output Report Data)
    0x15, 0x00, //         Logical Minimum (0)
    0x26, 0xFF, 0x00, //   Logical Maximum (255)
    0x75, 0x08, //         Report Size (8)
    0x95, 0x40, //         Report Count (64)
    0x91, 0x02, //         Output (Data, Var, Abs)
    0xC0, //             End Collection
];

/// The `UHID_CREATE2` fields of the device.
pub fn device() -> Create2 {
    Create2 {
        name: NAME.into(),
        phys: PHYS.into(),
        uniq: String::new(),
        bus: BUS_USB,
        vendor: VENDOR_ID,
        product: PRODUCT_ID,
        version: VERSION,
        country: 0,
        rd_data: REPORT_DESCRIPTOR.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short items of HID 1.11 §6.2.2.2: (tag|type byte without size, value).
    fn items(mut d: &[u8]) -> Vec<(u8, u32)> {
        let mut out = Vec::new();
        while let Some((&prefix, rest)) = d.split_first() {
            let size = [0, 1, 2, 4][usize::from(prefix & 3)];
            assert!(rest.len() >= size, "item cut short");
            let value = rest[..size]
                .iter()
                .rev()
                .fold(0u32, |v, &b| (v << 8) | u32::from(b));
            out.push((prefix & !3, value));
            d = &rest[size..];
        }
        out
    }

    #[test]
    fn descriptor_says_fido_with_two_64_byte_reports_and_no_report_id() {
        let it = items(&REPORT_DESCRIPTOR);
        assert_eq!(it[0], (0x04, 0xF1D0), "usage page");
        assert_eq!(it[1], (0x08, 0x01), "usage CTAPHID");
        const REPORT_ID: u8 = 0x84;
        assert!(it.iter().all(|&(tag, _)| tag != REPORT_ID));
        let counts: Vec<u32> = it.iter().filter(|i| i.0 == 0x94).map(|i| i.1).collect();
        assert_eq!(counts, [64, 64]);
        let sizes: Vec<u32> = it.iter().filter(|i| i.0 == 0x74).map(|i| i.1).collect();
        assert_eq!(sizes, [8, 8]);
        let mains: Vec<(u8, u32)> = it
            .iter()
            .copied()
            .filter(|i| matches!(i.0, 0x80 | 0x90 | 0xA0 | 0xC0))
            .collect();
        assert_eq!(mains, [(0xA0, 1), (0x80, 2), (0x90, 2), (0xC0, 0)]);
        // The usage before each main item: 0x20 for input, 0x21 for output.
        let usages: Vec<u32> = it.iter().filter(|i| i.0 == 0x08).map(|i| i.1).collect();
        assert_eq!(usages, [0x01, 0x20, 0x21]);
    }

    #[test]
    fn device_fits_create2() {
        let d = device();
        let rec = crate::abi::UserEvent::Create2(d.clone()).encode().unwrap();
        assert_eq!(
            crate::abi::UserEvent::decode(&rec).unwrap(),
            crate::abi::UserEvent::Create2(d)
        );
    }
}
