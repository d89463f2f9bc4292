//! Every status byte maps to a status and back, and every named code has the spec's number.

use cable_ctap::command::{response_body, split_response};
use cable_ctap::{CtapError, CtapStatus};

/// CTAP 2.2 §8.2 (plus the CTAP 2.0 codes 0x16, 0x29, 0x2A, 0x38), typed from the spec table.
const SPEC: &[(u8, &str)] = &[
    (0x00, "CTAP2_OK"),
    (0x01, "CTAP1_ERR_INVALID_COMMAND"),
    (0x02, "CTAP1_ERR_INVALID_PARAMETER"),
    (0x03, "CTAP1_ERR_INVALID_LENGTH"),
    (0x04, "CTAP1_ERR_INVALID_SEQ"),
    (0x05, "CTAP1_ERR_TIMEOUT"),
    (0x06, "CTAP1_ERR_CHANNEL_BUSY"),
    (0x0A, "CTAP1_ERR_LOCK_REQUIRED"),
    (0x0B, "CTAP1_ERR_INVALID_CHANNEL"),
    (0x11, "CTAP2_ERR_CBOR_UNEXPECTED_TYPE"),
    (0x12, "CTAP2_ERR_INVALID_CBOR"),
    (0x14, "CTAP2_ERR_MISSING_PARAMETER"),
    (0x15, "CTAP2_ERR_LIMIT_EXCEEDED"),
    (0x16, "CTAP2_ERR_UNSUPPORTED_EXTENSION"),
    (0x17, "CTAP2_ERR_FP_DATABASE_FULL"),
    (0x18, "CTAP2_ERR_LARGE_BLOB_STORAGE_FULL"),
    (0x19, "CTAP2_ERR_CREDENTIAL_EXCLUDED"),
    (0x21, "CTAP2_ERR_PROCESSING"),
    (0x22, "CTAP2_ERR_INVALID_CREDENTIAL"),
    (0x23, "CTAP2_ERR_USER_ACTION_PENDING"),
    (0x24, "CTAP2_ERR_OPERATION_PENDING"),
    (0x25, "CTAP2_ERR_NO_OPERATIONS"),
    (0x26, "CTAP2_ERR_UNSUPPORTED_ALGORITHM"),
    (0x27, "CTAP2_ERR_OPERATION_DENIED"),
    (0x28, "CTAP2_ERR_KEY_STORE_FULL"),
    (0x29, "CTAP2_ERR_NOT_BUSY"),
    (0x2A, "CTAP2_ERR_NO_OPERATION_PENDING"),
    (0x2B, "CTAP2_ERR_UNSUPPORTED_OPTION"),
    (0x2C, "CTAP2_ERR_INVALID_OPTION"),
    (0x2D, "CTAP2_ERR_KEEPALIVE_CANCEL"),
    (0x2E, "CTAP2_ERR_NO_CREDENTIALS"),
    (0x2F, "CTAP2_ERR_USER_ACTION_TIMEOUT"),
    (0x30, "CTAP2_ERR_NOT_ALLOWED"),
    (0x31, "CTAP2_ERR_PIN_INVALID"),
    (0x32, "CTAP2_ERR_PIN_BLOCKED"),
    (0x33, "CTAP2_ERR_PIN_AUTH_INVALID"),
    (0x34, "CTAP2_ERR_PIN_AUTH_BLOCKED"),
    (0x35, "CTAP2_ERR_PIN_NOT_SET"),
    (0x36, "CTAP2_ERR_PUAT_REQUIRED"),
    (0x37, "CTAP2_ERR_PIN_POLICY_VIOLATION"),
    (0x38, "CTAP2_ERR_PIN_TOKEN_EXPIRED"),
    (0x39, "CTAP2_ERR_REQUEST_TOO_LARGE"),
    (0x3A, "CTAP2_ERR_ACTION_TIMEOUT"),
    (0x3B, "CTAP2_ERR_UP_REQUIRED"),
    (0x3C, "CTAP2_ERR_UV_BLOCKED"),
    (0x3D, "CTAP2_ERR_INTEGRITY_FAILURE"),
    (0x3E, "CTAP2_ERR_INVALID_SUBCOMMAND"),
    (0x3F, "CTAP2_ERR_UV_INVALID"),
    (0x40, "CTAP2_ERR_UNAUTHORIZED_PERMISSION"),
    (0x7F, "CTAP1_ERR_OTHER"),
    (0xDF, "CTAP2_ERR_SPEC_LAST"),
];

#[test]
fn every_spec_code_has_its_name() {
    for &(code, name) in SPEC {
        let status = CtapStatus::from_u8(code);
        assert_eq!(status.name(), name, "0x{code:02x}");
        assert_eq!(status.code(), code);
        assert!(!matches!(status, CtapStatus::Unknown(_)), "0x{code:02x}");
    }
    assert_eq!(CtapStatus::NAMED.len(), SPEC.len());
}

#[test]
fn every_byte_round_trips_and_has_a_meaning_and_machine_code() {
    for byte in 0..=255u8 {
        let status = CtapStatus::from_u8(byte);
        assert_eq!(status.code(), byte);
        assert_eq!(u8::from(status), byte);
        assert!(!status.meaning().is_empty());
        let machine = status.machine_code();
        assert!(!machine.is_empty());
        assert!(
            machine.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{machine}"
        );
        let in_spec = SPEC.iter().any(|(c, _)| *c == byte);
        match byte {
            0xE0..=0xEF => assert_eq!(status, CtapStatus::Extension(byte)),
            0xF0..=0xFF => assert_eq!(status, CtapStatus::Vendor(byte)),
            _ if in_spec => {}
            _ => assert_eq!(status, CtapStatus::Unknown(byte), "0x{byte:02x}"),
        }
    }
}

#[test]
fn ranges_are_named_at_their_ends() {
    assert_eq!(
        CtapStatus::from_u8(0xE0).name(),
        "CTAP2_ERR_EXTENSION_FIRST"
    );
    assert_eq!(CtapStatus::from_u8(0xEF).name(), "CTAP2_ERR_EXTENSION_LAST");
    assert_eq!(CtapStatus::from_u8(0xE5).name(), "CTAP2_ERR_EXTENSION");
    assert_eq!(CtapStatus::from_u8(0xF0).name(), "CTAP2_ERR_VENDOR_FIRST");
    assert_eq!(CtapStatus::from_u8(0xFF).name(), "CTAP2_ERR_VENDOR_LAST");
    assert_eq!(CtapStatus::from_u8(0xE5).machine_code(), "extension_error");
    assert_eq!(CtapStatus::from_u8(0xF3).machine_code(), "vendor_error");
    assert_eq!(CtapStatus::from_u8(0x07).machine_code(), "unknown_status");
}

#[test]
fn hybrid_relevant_statuses_read_well() {
    let cases = [
        (
            0x27,
            "operation_denied",
            "You declined on the phone, or the phone refused the request",
        ),
        (
            0x2E,
            "no_credentials",
            "The phone has no passkey for this site",
        ),
        (
            0x19,
            "credential_excluded",
            "This phone already has a passkey for this account",
        ),
        (
            0x26,
            "unsupported_algorithm",
            "The phone supports none of the key types this site accepts",
        ),
        (0x2D, "cancelled", "The request was cancelled"),
        (0x2F, "timeout", "The phone waited too long for you to act"),
        (0x3A, "timeout", "The phone's operation timed out"),
        (
            0x05,
            "timeout",
            "The phone timed out waiting for the rest of the request",
        ),
        (
            0x2B,
            "unsupported_option",
            "The phone does not support an option the request asked for",
        ),
        (0x00, "ok", "The phone completed the request"),
    ];
    for (code, machine, meaning) in cases {
        let s = CtapStatus::from_u8(code);
        assert_eq!(s.machine_code(), machine, "0x{code:02x}");
        assert_eq!(s.meaning(), meaning, "0x{code:02x}");
    }
    assert_eq!(
        CtapStatus::NoCredentials.to_string(),
        "The phone has no passkey for this site (CTAP2_ERR_NO_CREDENTIALS, 0x2e)"
    );
    assert!(CtapStatus::Ok.is_ok() && !CtapStatus::OperationDenied.is_ok());
}

#[test]
fn error_responses_become_status_errors() {
    assert_eq!(
        response_body(&[0x2E]),
        Err(CtapError::Status(CtapStatus::NoCredentials))
    );
    assert_eq!(response_body(&[0x00, 0xA0]), Ok(&[0xA0][..]));
    assert_eq!(
        split_response(&[0xF2, 1]).unwrap(),
        (CtapStatus::Vendor(0xF2), &[1u8][..])
    );
    assert!(matches!(response_body(&[]), Err(CtapError::Empty(_))));
    assert_eq!(
        CtapError::Status(CtapStatus::OperationDenied).to_string(),
        "You declined on the phone, or the phone refused the request (CTAP2_ERR_OPERATION_DENIED, 0x27)"
    );
}
