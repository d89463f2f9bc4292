//! Error reports a person reads: negative keys 2 and 3 are refused with a clear message, and
//! every cause is printed once, whether a reporter shows `{e}` or walks the source chain as
//! anyhow's `{:#}` does.

use cable_qr::{digits, render, QrError, QrHandshake, QrPayload, RenderError, RequestType};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::error::Error;

/// What anyhow's `{:#}` prints: the error, then each source after ": ".
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A QR map written byte by byte (not by our encoder): a valid key 0 and key 1, then `tail`
/// (more key/value pairs, `extra` of them).
fn map_with(extra: u8, tail: &[u8]) -> Vec<u8> {
    let handshake = QrHandshake::generate(
        &mut StdRng::seed_from_u64(3),
        RequestType::GetAssertion,
        false,
        0,
    );
    let mut cbor = vec![0xa2 + extra, 0x00, 0x58, 33];
    cbor.extend_from_slice(&handshake.payload().public_key.compressed());
    cbor.extend_from_slice(&[0x01, 0x50]);
    cbor.extend_from_slice(&[7; 16]);
    cbor.extend_from_slice(tail);
    cbor
}

#[test]
fn the_hand_written_map_is_valid_as_it_stands() {
    let payload = QrPayload::from_cbor(&map_with(
        2,
        &[0x02, 0x02, 0x03, 0x1a, 0x65, 0x53, 0xf1, 0x00],
    ))
    .expect("a valid map");
    assert_eq!(payload.known_domains, 2);
    assert_eq!(payload.timestamp, Some(0x6553_f100));
}

#[test]
fn a_negative_count_of_known_domains_is_refused() {
    // {…, 2: -1}, and {…, 2: -1 - 2^64} (CBOR's most negative integer).
    for (tail, value) in [
        (&[0x02, 0x20][..], -1i128),
        (
            &[0x02, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
            -(1i128 << 64),
        ),
    ] {
        let err = QrPayload::from_cbor(&map_with(1, tail)).unwrap_err();
        assert_eq!(err, QrError::Negative { key: 2, value });
        let text = err.to_string();
        assert!(
            text.contains("the number of known tunnel domains (key 2)")
                && text.contains(&value.to_string())
                && text.contains("cannot be negative"),
            "{text}"
        );
    }
}

#[test]
fn a_negative_timestamp_is_refused() {
    // {…, 3: -100}
    let err = QrPayload::from_cbor(&map_with(1, &[0x03, 0x38, 0x63])).unwrap_err();
    assert_eq!(
        err,
        QrError::Negative {
            key: 3,
            value: -100
        }
    );
    assert!(
        err.to_string().contains("the timestamp (key 3) is -100"),
        "{err}"
    );
    // Through the URL as a phone scans it: the same error.
    let url = format!(
        "FIDO:/{}",
        digits::encode(&map_with(1, &[0x03, 0x38, 0x63]))
    );
    assert_eq!(QrPayload::parse_url(&url), Err(err));
}

/// `text` holds `part` exactly once.
fn once(text: &str, part: &str) {
    assert_eq!(text.matches(part).count(), 1, "{part:?} in {text:?}");
}

#[test]
fn damaged_digits_are_reported_once() {
    let err = QrPayload::parse_url("FIDO:/12a").unwrap_err();
    assert!(matches!(err, QrError::Digits(_)));
    assert_eq!(
        err.to_string(),
        "this FIDO QR code is damaged: character 2 is 'a', but only the ASCII digits 0-9 may \
         follow FIDO:/"
    );
    assert_eq!(chain(&err), err.to_string());
    once(&chain(&err), "character 2 is 'a'");
}

#[test]
fn unreadable_cbor_is_reported_once() {
    // A map of one entry with nothing in it.
    let url = format!("FIDO:/{}", digits::encode(&[0xa1]));
    let err = QrPayload::parse_url(&url).unwrap_err();
    assert!(matches!(err, QrError::Cbor(_)));
    assert_eq!(chain(&err), err.to_string());
    once(&chain(&err), "not valid CBOR");
    // Trailing bytes: the count is the cause.
    let err = QrPayload::from_cbor(&[0xa0, 0x00, 0x00]).unwrap_err();
    assert_eq!(
        chain(&err),
        "the contents of this FIDO QR code are unreadable: 2 bytes of trailing data after the \
         CBOR item"
    );
}

#[test]
fn render_errors_are_reported_once() {
    let huge = format!("FIDO:/{}", "1".repeat(8000));
    let err = render::terminal(&huge).unwrap_err();
    assert!(matches!(err, RenderError::Encode(_)));
    let RenderError::Encode(cause) = &err else {
        unreachable!()
    };
    assert_eq!(chain(&err), err.to_string());
    once(&chain(&err), &cause.to_string());
}
