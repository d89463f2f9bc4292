//! What the caller of [`crate::Device`] did that the device cannot do.
//!
//! A misbehaving host never produces one of these: the device answers it on the wire with a
//! CTAPHID_ERROR, as a real key would. These are mistakes of the program driving the device.

use crate::packet::{MAX_MESSAGE_LEN, REPORT_LEN};

/// Why a call on [`crate::Device`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HidError {
    #[error(
        "a CTAP-HID output report must be {REPORT_LEN} bytes, this one has {len}; if it has 65, \
         the relay passed the report-ID byte along and must strip it"
    )]
    ReportSize { len: usize },
    #[error(
        "channel {cid:#010x} has no CBOR request waiting for an answer; the request was already \
         answered, or the host re-initialised the channel or the device was reset since"
    )]
    NoRequest { cid: u32 },
    #[error(
        "the host cancelled the request on channel {cid:#010x}, and the device already answered \
         it with CTAP2_ERR_KEEPALIVE_CANCEL; drop this answer"
    )]
    Cancelled { cid: u32 },
    #[error(
        "a response needs at least its status byte; send e.g. [0x7F] (CTAP1_ERR_OTHER) if the \
         phone gave nothing"
    )]
    EmptyResponse,
    #[error(
        "a {len}-byte response does not fit one CTAP-HID message (at most {MAX_MESSAGE_LEN} \
         bytes); answer with CTAP2_ERR_REQUEST_TOO_LARGE or CTAP1_ERR_OTHER instead"
    )]
    ResponseTooLong { len: usize },
}
