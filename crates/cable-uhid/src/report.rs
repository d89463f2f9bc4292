//! The report-ID byte, in and out.
//!
//! **Out (host → key).** hidraw's `write()` takes the report number as the first byte, and
//! for a device without report IDs a program writes `0` there: libfido2 writes 65 bytes,
//! `0x00` then the 64-byte CTAPHID packet. `hidraw_send_report` (drivers/hid/hidraw.c) hands
//! that buffer unchanged to the low-level driver's `output_report`, and uhid's
//! `uhid_hid_output_raw` (drivers/hid/uhid.c) copies it unchanged into `UHID_OUTPUT`
//! (`size = 65`). Unlike usbhid, which drops a leading 0 before the USB transfer, uhid leaves
//! it to user space: we strip exactly that byte here.
//!
//! **In (key → host).** `UHID_INPUT2` carries the report as the device would send it: no
//! report-ID byte for this device, 64 bytes. hidraw readers then get those 64 bytes.

use thiserror::Error;

/// A CTAPHID packet: the size of both reports of [`crate::descriptor::REPORT_DESCRIPTOR`].
pub const REPORT_LEN: usize = 64;

/// Why an `UHID_OUTPUT` is not a report of our device. The caller logs it and drops it, as a
/// USB key would drop a malformed transfer; the program that wrote it gets no answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OutputError {
    #[error("the host wrote an empty report")]
    Empty,
    #[error("the host wrote report number {0}, but this device has no report IDs (a program must write 0 first)")]
    NumberedReport(u8),
    #[error(
        "the host wrote {len} bytes after the report number, a report is at most {REPORT_LEN}"
    )]
    TooLong { len: usize },
}

/// The 64-byte report of an `UHID_OUTPUT` payload: the leading report number 0 is stripped,
/// and a short write is zero-padded (CTAPHID packets are always 64 bytes; the padding is what
/// a key sees for unsent bytes and CTAPHID's length field makes it harmless).
pub fn output_report(data: &[u8]) -> Result<[u8; REPORT_LEN], OutputError> {
    let (&number, report) = data.split_first().ok_or(OutputError::Empty)?;
    if number != 0 {
        return Err(OutputError::NumberedReport(number));
    }
    if report.len() > REPORT_LEN {
        return Err(OutputError::TooLong { len: report.len() });
    }
    let mut out = [0u8; REPORT_LEN];
    out[..report.len()].copy_from_slice(report);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfido2s_65_bytes_become_the_64_byte_packet() {
        let mut written = vec![0u8];
        written.extend((1..=64).map(|i| i as u8));
        let r = output_report(&written).unwrap();
        assert_eq!(r[0], 1);
        assert_eq!(r[63], 64);
    }

    #[test]
    fn short_writes_are_padded_and_bad_ones_refused() {
        assert_eq!(output_report(&[0, 0xff]).unwrap()[..2], [0xff, 0]);
        assert_eq!(output_report(&[]), Err(OutputError::Empty));
        assert_eq!(output_report(&[3; 65]), Err(OutputError::NumberedReport(3)));
        assert_eq!(
            output_report(&[0; 66]),
            Err(OutputError::TooLong { len: 65 })
        );
    }
}
