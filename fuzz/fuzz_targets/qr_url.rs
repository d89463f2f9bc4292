//! Scanned QR text is the first thing a phone reads from outside (HYBRID.md §2).
//!
//! Each input is tried three ways:
//! * as text (lossy UTF-8) through `QrPayload::parse_url`;
//! * as text through `digits::decode`; any digits it accepts must re-encode to the same text,
//!   because every byte string has exactly one digit encoding;
//! * as the CBOR payload itself, wrapped as `FIDO:/` + digits, so the fuzzer reaches the CBOR
//!   rules without having to invent valid digit groups.
//!
//! Whenever a payload parses, `to_url` and `parse_url` again must give an equal payload.

#![no_main]

use cable_qr::{digits, QrPayload, PREFIX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Ok(payload) = QrPayload::parse_url(&text) {
        check_round_trip(&payload);
    }

    if let Ok(bytes) = digits::decode(&text) {
        assert_eq!(digits::encoded_len(bytes.len()), text.len());
        assert_eq!(
            digits::encode(&bytes),
            text,
            "digits must re-encode to themselves"
        );
    }

    let wrapped = format!("{PREFIX}{}", digits::encode(data));
    let from_url = QrPayload::parse_url(&wrapped);
    // The URL path and the CBOR path are the same parser behind a bijective codec (an empty
    // payload is the one case the URL parser reports on its own).
    if !data.is_empty() {
        assert_eq!(from_url, QrPayload::from_cbor(data));
    }
    if let Ok(payload) = from_url {
        check_round_trip(&payload);
    }
});

fn check_round_trip(payload: &QrPayload) {
    let url = payload.to_url();
    assert!(url.starts_with(PREFIX));
    let again = QrPayload::parse_url(&url).expect("a payload we encoded must parse");
    assert_eq!(&again, payload, "to_url then parse_url changed the payload");
    assert_eq!(again.to_cbor(), payload.to_cbor());
}
