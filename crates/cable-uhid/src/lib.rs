//! cable-uhid: the privileged part of cable.
//!
//! uhid can create any HID device, a keyboard too, so `/dev/uhid` stays with a small process
//! that only ever creates one FIDO security key ([`descriptor`]) and relays its raw 64-byte
//! reports to the `cabled` of the active local user ([`policy`]) over a Unix stream socket
//! ([`relay`]). It does not parse CTAP; cabled runs CTAPHID.
//!
//! This library is pure codecs (no I/O): the uhid ABI ([`abi`]), the report-ID rule
//! ([`report`]), the relay wire ([`relay`]) and the admission policy. The `cable-uhid` binary
//! is the I/O around them.

pub mod abi;
pub mod descriptor;
pub mod policy;
pub mod relay;
pub mod report;
