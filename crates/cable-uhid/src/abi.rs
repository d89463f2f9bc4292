//! `struct uhid_event` of `linux/uhid.h`, byte for byte.
//!
//! Layout (checked against the header with a C compiler, see the tests): `__u32 type`, then a
//! union whose largest member is `uhid_create2_req` (4372 bytes). The union holds
//! `uhid_start_req { __u64 }`, which is not packed, so the union is 8-aligned and its size is
//! rounded up to 4376; the outer struct is packed, so the record is 4 + 4376 = **4380** bytes.
//! Every field is in host byte order (the kernel copies the struct as is).
//!
//! [`UserEvent`] is what user space writes (create, destroy, input, replies); [`KernelEvent`]
//! is what the kernel writes (start, stop, open, close, output, report requests). Both encode
//! and decode, so a test can play either side. Short records are zero-extended on decode, as
//! the header says user space shall do.

use thiserror::Error;

/// `sizeof(struct uhid_event)`.
pub const UHID_EVENT_SIZE: usize = 4380;
/// `UHID_DATA_MAX`: the largest report either way.
pub const UHID_DATA_MAX: usize = 4096;
/// `HID_MAX_DESCRIPTOR_SIZE`: the largest report descriptor in `UHID_CREATE2`.
pub const HID_MAX_DESCRIPTOR_SIZE: usize = 4096;

/// `enum uhid_event_type` (only the non-legacy values).
pub mod event_type {
    pub const DESTROY: u32 = 1;
    pub const START: u32 = 2;
    pub const STOP: u32 = 3;
    pub const OPEN: u32 = 4;
    pub const CLOSE: u32 = 5;
    pub const OUTPUT: u32 = 6;
    pub const GET_REPORT: u32 = 9;
    pub const GET_REPORT_REPLY: u32 = 10;
    pub const CREATE2: u32 = 11;
    pub const INPUT2: u32 = 12;
    pub const SET_REPORT: u32 = 13;
    pub const SET_REPORT_REPLY: u32 = 14;
}

// Offsets inside the record (type is at 0, the union at 4).
const U: usize = 4;
const NAME_LEN: usize = 128;
const PHYS_LEN: usize = 64;
const UNIQ_LEN: usize = 64;
const C2_RD_SIZE: usize = U + NAME_LEN + PHYS_LEN + UNIQ_LEN; // 260
const C2_BUS: usize = C2_RD_SIZE + 2;
const C2_VENDOR: usize = C2_BUS + 2;
const C2_PRODUCT: usize = C2_VENDOR + 4;
const C2_VERSION: usize = C2_PRODUCT + 4;
const C2_COUNTRY: usize = C2_VERSION + 4;
const C2_RD_DATA: usize = C2_COUNTRY + 4; // 280
const OUTPUT_SIZE: usize = U + UHID_DATA_MAX; // 4100
const OUTPUT_RTYPE: usize = OUTPUT_SIZE + 2;
// get_report / set_report / their replies: id u32 at U.
const REQ_RNUM: usize = U + 4;
const REQ_RTYPE: usize = U + 5;
const SET_SIZE: usize = U + 6;
const SET_DATA: usize = U + 8;
const REPLY_ERR: usize = U + 4;
const REPLY_SIZE: usize = U + 6;
const REPLY_DATA: usize = U + 8;

/// `enum uhid_report_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportType {
    Feature,
    Output,
    Input,
    /// A value this code does not know; kept so decoding never fails on it.
    Other(u8),
}

impl ReportType {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Feature,
            1 => Self::Output,
            2 => Self::Input,
            o => Self::Other(o),
        }
    }
    fn to_u8(self) -> u8 {
        match self {
            Self::Feature => 0,
            Self::Output => 1,
            Self::Input => 2,
            Self::Other(o) => o,
        }
    }
}

/// The fields of `UHID_CREATE2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create2 {
    /// At most 127 bytes (NUL-terminated in a 128-byte field).
    pub name: String,
    /// At most 63 bytes.
    pub phys: String,
    /// At most 63 bytes.
    pub uniq: String,
    /// `BUS_USB` (3), `BUS_VIRTUAL` (6), ... from `linux/input.h`.
    pub bus: u16,
    pub vendor: u32,
    pub product: u32,
    pub version: u32,
    pub country: u32,
    /// The report descriptor, at most [`HID_MAX_DESCRIPTOR_SIZE`] bytes.
    pub rd_data: Vec<u8>,
}

/// A record user space writes to `/dev/uhid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEvent {
    Create2(Create2),
    Destroy,
    /// An input report for the host (what programs read from hidraw).
    Input2(Vec<u8>),
    /// Answer to [`KernelEvent::GetReport`]; `err` is an errno (0 = success), `data` the report.
    GetReportReply {
        id: u32,
        err: u16,
        data: Vec<u8>,
    },
    /// Answer to [`KernelEvent::SetReport`]; `err` is an errno (0 = success).
    SetReportReply {
        id: u32,
        err: u16,
    },
}

/// A record the kernel writes to `/dev/uhid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// The HID driver bound the device; `dev_flags` are `UHID_DEV_NUMBERED_*`.
    Start {
        dev_flags: u64,
    },
    Stop,
    /// The first program opened the hidraw node (or another HID user started).
    Open,
    /// The last one closed it.
    Close,
    /// A report the host wrote, exactly as hidraw got it: for a device without report IDs,
    /// `data[0]` is the report number 0 that the program put in front (see [`crate::report`]).
    Output {
        data: Vec<u8>,
        rtype: ReportType,
    },
    GetReport {
        id: u32,
        rnum: u8,
        rtype: ReportType,
    },
    SetReport {
        id: u32,
        rnum: u8,
        rtype: ReportType,
        data: Vec<u8>,
    },
    /// A type this code does not handle (legacy or future); the caller logs and ignores it.
    Unknown(u32),
}

/// Why a record could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AbiError {
    #[error("uhid record too short: {len} bytes, need at least 4 for the event type")]
    Truncated { len: usize },
    #[error("uhid record too long: {len} bytes, struct uhid_event is {UHID_EVENT_SIZE}")]
    TooLong { len: usize },
    #[error("uhid {field} is {len} bytes, the field holds at most {max}")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("uhid event type {0} is one the kernel writes, not user space")]
    NotUserEvent(u32),
}

/// A zero-filled record with `type` set.
fn record(kind: u32) -> Vec<u8> {
    let mut r = vec![0u8; UHID_EVENT_SIZE];
    r[..4].copy_from_slice(&kind.to_ne_bytes());
    r
}

fn put(r: &mut [u8], at: usize, bytes: &[u8]) {
    r[at..at + bytes.len()].copy_from_slice(bytes);
}

fn check(field: &'static str, len: usize, max: usize) -> Result<(), AbiError> {
    if len > max {
        return Err(AbiError::FieldTooLong { field, len, max });
    }
    Ok(())
}

/// A NUL-terminated string in a fixed field; `max` excludes the NUL.
fn put_str(
    r: &mut [u8],
    at: usize,
    field: &'static str,
    s: &str,
    max: usize,
) -> Result<(), AbiError> {
    check(field, s.len(), max)?;
    put(r, at, s.as_bytes());
    Ok(())
}

fn get_str(r: &[u8], at: usize, len: usize) -> String {
    let f = &r[at..at + len];
    let end = f.iter().position(|&b| b == 0).unwrap_or(len);
    String::from_utf8_lossy(&f[..end]).into_owned()
}

fn u16_at(r: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([r[at], r[at + 1]])
}

fn u32_at(r: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]])
}

/// Copies `size` bytes of a data field, clamped to the field (the size is not trusted).
fn data_at(r: &[u8], at: usize, size: u16) -> Vec<u8> {
    let n = usize::from(size).min(UHID_DATA_MAX);
    r[at..at + n].to_vec()
}

/// Zero-extends a record read from a peer, rejecting ones that cannot be a `uhid_event`.
fn full_record(bytes: &[u8]) -> Result<(u32, Vec<u8>), AbiError> {
    if bytes.len() < 4 {
        return Err(AbiError::Truncated { len: bytes.len() });
    }
    if bytes.len() > UHID_EVENT_SIZE {
        return Err(AbiError::TooLong { len: bytes.len() });
    }
    let mut r = bytes.to_vec();
    r.resize(UHID_EVENT_SIZE, 0);
    Ok((u32_at(&r, 0), r))
}

impl UserEvent {
    /// The full [`UHID_EVENT_SIZE`]-byte record.
    pub fn encode(&self) -> Result<Vec<u8>, AbiError> {
        use event_type as t;
        Ok(match self {
            UserEvent::Create2(c) => {
                let mut r = record(t::CREATE2);
                put_str(&mut r, U, "name", &c.name, NAME_LEN - 1)?;
                put_str(&mut r, U + NAME_LEN, "phys", &c.phys, PHYS_LEN - 1)?;
                put_str(
                    &mut r,
                    U + NAME_LEN + PHYS_LEN,
                    "uniq",
                    &c.uniq,
                    UNIQ_LEN - 1,
                )?;
                check("rd_data", c.rd_data.len(), HID_MAX_DESCRIPTOR_SIZE)?;
                // Fits: checked against 4096 above.
                put(&mut r, C2_RD_SIZE, &(c.rd_data.len() as u16).to_ne_bytes());
                put(&mut r, C2_BUS, &c.bus.to_ne_bytes());
                put(&mut r, C2_VENDOR, &c.vendor.to_ne_bytes());
                put(&mut r, C2_PRODUCT, &c.product.to_ne_bytes());
                put(&mut r, C2_VERSION, &c.version.to_ne_bytes());
                put(&mut r, C2_COUNTRY, &c.country.to_ne_bytes());
                put(&mut r, C2_RD_DATA, &c.rd_data);
                r
            }
            UserEvent::Destroy => record(t::DESTROY),
            UserEvent::Input2(data) => {
                check("input2 data", data.len(), UHID_DATA_MAX)?;
                let mut r = record(t::INPUT2);
                put(&mut r, U, &(data.len() as u16).to_ne_bytes());
                put(&mut r, U + 2, data);
                r
            }
            UserEvent::GetReportReply { id, err, data } => {
                check("get_report_reply data", data.len(), UHID_DATA_MAX)?;
                let mut r = record(t::GET_REPORT_REPLY);
                put(&mut r, U, &id.to_ne_bytes());
                put(&mut r, REPLY_ERR, &err.to_ne_bytes());
                put(&mut r, REPLY_SIZE, &(data.len() as u16).to_ne_bytes());
                put(&mut r, REPLY_DATA, data);
                r
            }
            UserEvent::SetReportReply { id, err } => {
                let mut r = record(t::SET_REPORT_REPLY);
                put(&mut r, U, &id.to_ne_bytes());
                put(&mut r, REPLY_ERR, &err.to_ne_bytes());
                r
            }
        })
    }

    /// Reads a record user space wrote (the fake kernel of the tests does this).
    pub fn decode(bytes: &[u8]) -> Result<Self, AbiError> {
        use event_type as t;
        let (kind, r) = full_record(bytes)?;
        Ok(match kind {
            t::CREATE2 => {
                let rd_size = usize::from(u16_at(&r, C2_RD_SIZE)).min(HID_MAX_DESCRIPTOR_SIZE);
                UserEvent::Create2(Create2 {
                    name: get_str(&r, U, NAME_LEN),
                    phys: get_str(&r, U + NAME_LEN, PHYS_LEN),
                    uniq: get_str(&r, U + NAME_LEN + PHYS_LEN, UNIQ_LEN),
                    bus: u16_at(&r, C2_BUS),
                    vendor: u32_at(&r, C2_VENDOR),
                    product: u32_at(&r, C2_PRODUCT),
                    version: u32_at(&r, C2_VERSION),
                    country: u32_at(&r, C2_COUNTRY),
                    rd_data: r[C2_RD_DATA..C2_RD_DATA + rd_size].to_vec(),
                })
            }
            t::DESTROY => UserEvent::Destroy,
            t::INPUT2 => UserEvent::Input2(data_at(&r, U + 2, u16_at(&r, U))),
            t::GET_REPORT_REPLY => UserEvent::GetReportReply {
                id: u32_at(&r, U),
                err: u16_at(&r, REPLY_ERR),
                data: data_at(&r, REPLY_DATA, u16_at(&r, REPLY_SIZE)),
            },
            t::SET_REPORT_REPLY => UserEvent::SetReportReply {
                id: u32_at(&r, U),
                err: u16_at(&r, REPLY_ERR),
            },
            other => return Err(AbiError::NotUserEvent(other)),
        })
    }
}

impl KernelEvent {
    /// Reads a record the kernel wrote. Never fails on an unknown type ([`KernelEvent::Unknown`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, AbiError> {
        use event_type as t;
        let (kind, r) = full_record(bytes)?;
        Ok(match kind {
            t::START => {
                let mut f = [0u8; 8];
                f.copy_from_slice(&r[U..U + 8]);
                KernelEvent::Start {
                    dev_flags: u64::from_ne_bytes(f),
                }
            }
            t::STOP => KernelEvent::Stop,
            t::OPEN => KernelEvent::Open,
            t::CLOSE => KernelEvent::Close,
            t::OUTPUT => KernelEvent::Output {
                data: data_at(&r, U, u16_at(&r, OUTPUT_SIZE)),
                rtype: ReportType::from_u8(r[OUTPUT_RTYPE]),
            },
            t::GET_REPORT => KernelEvent::GetReport {
                id: u32_at(&r, U),
                rnum: r[REQ_RNUM],
                rtype: ReportType::from_u8(r[REQ_RTYPE]),
            },
            t::SET_REPORT => KernelEvent::SetReport {
                id: u32_at(&r, U),
                rnum: r[REQ_RNUM],
                rtype: ReportType::from_u8(r[REQ_RTYPE]),
                data: data_at(&r, SET_DATA, u16_at(&r, SET_SIZE)),
            },
            other => KernelEvent::Unknown(other),
        })
    }

    /// The full record, as the kernel would write it (for tests that play the kernel).
    pub fn encode(&self) -> Result<Vec<u8>, AbiError> {
        use event_type as t;
        Ok(match self {
            KernelEvent::Start { dev_flags } => {
                let mut r = record(t::START);
                put(&mut r, U, &dev_flags.to_ne_bytes());
                r
            }
            KernelEvent::Stop => record(t::STOP),
            KernelEvent::Open => record(t::OPEN),
            KernelEvent::Close => record(t::CLOSE),
            KernelEvent::Output { data, rtype } => {
                check("output data", data.len(), UHID_DATA_MAX)?;
                let mut r = record(t::OUTPUT);
                put(&mut r, U, data);
                put(&mut r, OUTPUT_SIZE, &(data.len() as u16).to_ne_bytes());
                r[OUTPUT_RTYPE] = rtype.to_u8();
                r
            }
            KernelEvent::GetReport { id, rnum, rtype } => {
                let mut r = record(t::GET_REPORT);
                put(&mut r, U, &id.to_ne_bytes());
                r[REQ_RNUM] = *rnum;
                r[REQ_RTYPE] = rtype.to_u8();
                r
            }
            KernelEvent::SetReport {
                id,
                rnum,
                rtype,
                data,
            } => {
                check("set_report data", data.len(), UHID_DATA_MAX)?;
                let mut r = record(t::SET_REPORT);
                put(&mut r, U, &id.to_ne_bytes());
                r[REQ_RNUM] = *rnum;
                r[REQ_RTYPE] = rtype.to_u8();
                put(&mut r, SET_SIZE, &(data.len() as u16).to_ne_bytes());
                put(&mut r, SET_DATA, data);
                r
            }
            KernelEvent::Unknown(kind) => record(*kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Offsets printed by a C program compiled against /usr/include/linux/uhid.h on the build
    // machine (gcc, x86_64): sizeof 4380; create2 rd_size@260 bus@262 vendor@264 product@268
    // version@272 country@276 rd_data@280; output size@4100 rtype@4102; set_report rnum@8
    // rtype@9 size@10 data@12; get_report_reply err@8 size@10.
    #[test]
    fn layout_matches_the_c_header() {
        assert_eq!(UHID_EVENT_SIZE, 4380);
        assert_eq!(
            (C2_RD_SIZE, C2_BUS, C2_VENDOR, C2_PRODUCT),
            (260, 262, 264, 268)
        );
        assert_eq!((C2_VERSION, C2_COUNTRY, C2_RD_DATA), (272, 276, 280));
        assert_eq!(C2_RD_DATA + HID_MAX_DESCRIPTOR_SIZE, 4 + 4372);
        assert_eq!((OUTPUT_SIZE, OUTPUT_RTYPE), (4100, 4102));
        assert_eq!((REQ_RNUM, REQ_RTYPE, SET_SIZE, SET_DATA), (8, 9, 10, 12));
        assert_eq!((REPLY_ERR, REPLY_SIZE, REPLY_DATA), (8, 10, 12));
    }

    #[test]
    fn create2_lands_on_the_c_offsets() {
        let c = Create2 {
            name: "n".into(),
            phys: "p".into(),
            uniq: "u".into(),
            bus: 3,
            vendor: 0x1209,
            product: 0xcab1,
            version: 7,
            country: 0,
            rd_data: vec![0xaa, 0xbb],
        };
        let r = UserEvent::Create2(c.clone()).encode().unwrap();
        assert_eq!(r.len(), UHID_EVENT_SIZE);
        assert_eq!(u32_at(&r, 0), 11);
        assert_eq!((r[4], r[132], r[196]), (b'n', b'p', b'u'));
        assert_eq!(u16_at(&r, 260), 2);
        assert_eq!(u16_at(&r, 262), 3);
        assert_eq!(u32_at(&r, 264), 0x1209);
        assert_eq!(u32_at(&r, 268), 0xcab1);
        assert_eq!(u32_at(&r, 272), 7);
        assert_eq!(&r[280..282], &[0xaa, 0xbb]);
        assert_eq!(UserEvent::decode(&r).unwrap(), UserEvent::Create2(c));
    }

    #[test]
    fn create2_refuses_fields_that_do_not_fit() {
        let c = Create2 {
            name: "x".repeat(128),
            phys: String::new(),
            uniq: String::new(),
            bus: 3,
            vendor: 0,
            product: 0,
            version: 0,
            country: 0,
            rd_data: vec![],
        };
        assert!(matches!(
            UserEvent::Create2(c).encode(),
            Err(AbiError::FieldTooLong { field: "name", .. })
        ));
    }

    #[test]
    fn output_is_read_from_its_offsets() {
        let mut r = record(event_type::OUTPUT);
        r[4] = 0;
        r[5] = 0x42;
        put(&mut r, 4100, &65u16.to_ne_bytes());
        r[4102] = 1;
        let KernelEvent::Output { data, rtype } = KernelEvent::decode(&r).unwrap() else {
            panic!("not an output");
        };
        assert_eq!(
            (data.len(), data[0], data[1], rtype),
            (65, 0, 0x42, ReportType::Output)
        );
    }

    #[test]
    fn short_records_are_zero_extended_and_tiny_ones_refused() {
        assert_eq!(
            KernelEvent::decode(&event_type::OPEN.to_ne_bytes()).unwrap(),
            KernelEvent::Open
        );
        assert_eq!(
            KernelEvent::decode(&[1, 2]),
            Err(AbiError::Truncated { len: 2 })
        );
        assert!(matches!(
            KernelEvent::decode(&vec![0; UHID_EVENT_SIZE + 1]),
            Err(AbiError::TooLong { .. })
        ));
    }

    #[test]
    fn a_lying_size_field_is_clamped() {
        let mut r = record(event_type::OUTPUT);
        put(&mut r, 4100, &u16::MAX.to_ne_bytes());
        let KernelEvent::Output { data, .. } = KernelEvent::decode(&r).unwrap() else {
            panic!("not an output");
        };
        assert_eq!(data.len(), UHID_DATA_MAX);
    }

    #[test]
    fn every_event_round_trips() {
        let kernel = [
            KernelEvent::Start { dev_flags: 5 },
            KernelEvent::Stop,
            KernelEvent::Open,
            KernelEvent::Close,
            KernelEvent::Output {
                data: vec![0, 1, 2],
                rtype: ReportType::Output,
            },
            KernelEvent::GetReport {
                id: 9,
                rnum: 1,
                rtype: ReportType::Feature,
            },
            KernelEvent::SetReport {
                id: 10,
                rnum: 2,
                rtype: ReportType::Other(7),
                data: vec![3; 5],
            },
            KernelEvent::Unknown(99),
        ];
        for e in kernel {
            assert_eq!(KernelEvent::decode(&e.encode().unwrap()).unwrap(), e);
        }
        let user = [
            UserEvent::Destroy,
            UserEvent::Input2(vec![7; 64]),
            UserEvent::GetReportReply {
                id: 3,
                err: 5,
                data: vec![],
            },
            UserEvent::SetReportReply { id: 4, err: 5 },
        ];
        for e in user {
            let r = e.encode().unwrap();
            assert_eq!(r.len(), UHID_EVENT_SIZE);
            assert_eq!(UserEvent::decode(&r).unwrap(), e);
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..UHID_EVENT_SIZE + 8)) {
            let _ = KernelEvent::decode(&bytes);
            let _ = UserEvent::decode(&bytes);
        }
    }
}
