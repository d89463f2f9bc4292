//! CTAP status codes (CTAP 2.2 §8.2 "Status codes", plus the CTAP 2.0 codes later retired).
//!
//! A response is `status || CBOR`; this module names the status byte three ways: the spec's
//! name (`CTAP2_ERR_NO_CREDENTIALS`) for logs, a stable machine code (`no_credentials`) for IPC
//! clients, and a sentence a person understands, written for the hybrid case where the
//! authenticator is a phone.

use std::fmt;

macro_rules! statuses {
    ($( $variant:ident = $code:literal, $name:literal, $machine:literal, $meaning:literal; )*) => {
        /// One CTAP status byte. Every byte maps to exactly one value, so
        /// `CtapStatus::from_u8(b).code() == b` for all `b`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CtapStatus {
            $( #[doc = $meaning] $variant, )*
            /// `CTAP2_ERR_EXTENSION_FIRST..=LAST` (0xE0..=0xEF); holds the whole byte.
            Extension(u8),
            /// `CTAP2_ERR_VENDOR_FIRST..=LAST` (0xF0..=0xFF); holds the whole byte.
            Vendor(u8),
            /// A byte the spec does not assign; holds the whole byte.
            Unknown(u8),
        }

        impl CtapStatus {
            /// Every named status, in code order (the ranges and unknown bytes excluded).
            pub const NAMED: &'static [CtapStatus] = &[ $( CtapStatus::$variant, )* ];

            /// The status for a byte; never fails (unassigned bytes become [`CtapStatus::Unknown`]).
            pub fn from_u8(byte: u8) -> Self {
                match byte {
                    $( $code => CtapStatus::$variant, )*
                    0xE0..=0xEF => CtapStatus::Extension(byte),
                    0xF0..=0xFF => CtapStatus::Vendor(byte),
                    other => CtapStatus::Unknown(other),
                }
            }

            /// The status byte.
            pub fn code(self) -> u8 {
                match self {
                    $( CtapStatus::$variant => $code, )*
                    CtapStatus::Extension(b) | CtapStatus::Vendor(b) | CtapStatus::Unknown(b) => b,
                }
            }

            /// The spec's name, e.g. `CTAP2_ERR_NO_CREDENTIALS`.
            pub fn name(self) -> &'static str {
                match self {
                    $( CtapStatus::$variant => $name, )*
                    CtapStatus::Extension(0xE0) => "CTAP2_ERR_EXTENSION_FIRST",
                    CtapStatus::Extension(0xEF) => "CTAP2_ERR_EXTENSION_LAST",
                    CtapStatus::Extension(_) => "CTAP2_ERR_EXTENSION",
                    CtapStatus::Vendor(0xF0) => "CTAP2_ERR_VENDOR_FIRST",
                    CtapStatus::Vendor(0xFF) => "CTAP2_ERR_VENDOR_LAST",
                    CtapStatus::Vendor(_) => "CTAP2_ERR_VENDOR",
                    CtapStatus::Unknown(_) => "UNASSIGNED_STATUS",
                }
            }

            /// A stable lower-case code for programs (IPC clients, scripts), e.g. `no_credentials`.
            /// Several statuses share one code where a program would treat them alike
            /// (`timeout` for 0x05, 0x2F and 0x3A).
            pub fn machine_code(self) -> &'static str {
                match self {
                    $( CtapStatus::$variant => $machine, )*
                    CtapStatus::Extension(_) => "extension_error",
                    CtapStatus::Vendor(_) => "vendor_error",
                    CtapStatus::Unknown(_) => "unknown_status",
                }
            }

            /// What happened, in words for the person holding the phone.
            pub fn meaning(self) -> &'static str {
                match self {
                    $( CtapStatus::$variant => $meaning, )*
                    CtapStatus::Extension(_) => "An extension on the phone failed",
                    CtapStatus::Vendor(_) => "The phone reported a vendor-specific error",
                    CtapStatus::Unknown(_) => "The phone answered with a status code the CTAP specification does not define",
                }
            }
        }
    };
}

statuses! {
    Ok = 0x00, "CTAP2_OK", "ok", "The phone completed the request";
    InvalidCommand = 0x01, "CTAP1_ERR_INVALID_COMMAND", "invalid_command", "The phone does not support this request";
    InvalidParameter = 0x02, "CTAP1_ERR_INVALID_PARAMETER", "invalid_parameter", "The phone rejected a parameter of the request";
    InvalidLength = 0x03, "CTAP1_ERR_INVALID_LENGTH", "invalid_length", "The request had a length the phone does not accept";
    InvalidSeq = 0x04, "CTAP1_ERR_INVALID_SEQ", "invalid_sequence", "The phone received messages out of order";
    Timeout = 0x05, "CTAP1_ERR_TIMEOUT", "timeout", "The phone timed out waiting for the rest of the request";
    ChannelBusy = 0x06, "CTAP1_ERR_CHANNEL_BUSY", "busy", "The phone is busy with another request";
    LockRequired = 0x0A, "CTAP1_ERR_LOCK_REQUIRED", "lock_required", "The phone needs an exclusive channel for this request";
    InvalidChannel = 0x0B, "CTAP1_ERR_INVALID_CHANNEL", "invalid_channel", "The phone does not accept this request on this channel";
    CborUnexpectedType = 0x11, "CTAP2_ERR_CBOR_UNEXPECTED_TYPE", "invalid_request", "The phone found a field of the wrong type in the request";
    InvalidCbor = 0x12, "CTAP2_ERR_INVALID_CBOR", "invalid_request", "The phone could not parse the request";
    MissingParameter = 0x14, "CTAP2_ERR_MISSING_PARAMETER", "missing_parameter", "The request lacks a field the phone requires";
    LimitExceeded = 0x15, "CTAP2_ERR_LIMIT_EXCEEDED", "limit_exceeded", "The request exceeds a limit of the phone, for example too many credentials in a list";
    UnsupportedExtension = 0x16, "CTAP2_ERR_UNSUPPORTED_EXTENSION", "unsupported_extension", "The phone does not support an extension in the request (a CTAP 2.0 code)";
    FpDatabaseFull = 0x17, "CTAP2_ERR_FP_DATABASE_FULL", "storage_full", "The authenticator's fingerprint storage is full";
    LargeBlobStorageFull = 0x18, "CTAP2_ERR_LARGE_BLOB_STORAGE_FULL", "storage_full", "The authenticator's large-blob storage is full";
    CredentialExcluded = 0x19, "CTAP2_ERR_CREDENTIAL_EXCLUDED", "credential_excluded", "This phone already has a passkey for this account";
    Processing = 0x21, "CTAP2_ERR_PROCESSING", "processing", "The phone is still processing the request";
    InvalidCredential = 0x22, "CTAP2_ERR_INVALID_CREDENTIAL", "invalid_credential", "The phone rejected the credential it was given";
    UserActionPending = 0x23, "CTAP2_ERR_USER_ACTION_PENDING", "user_action_pending", "The phone is waiting for you to act on it";
    OperationPending = 0x24, "CTAP2_ERR_OPERATION_PENDING", "busy", "The phone is busy with an earlier operation";
    NoOperations = 0x25, "CTAP2_ERR_NO_OPERATIONS", "no_operations", "The phone has no operation to continue";
    UnsupportedAlgorithm = 0x26, "CTAP2_ERR_UNSUPPORTED_ALGORITHM", "unsupported_algorithm", "The phone supports none of the key types this site accepts";
    OperationDenied = 0x27, "CTAP2_ERR_OPERATION_DENIED", "operation_denied", "You declined on the phone, or the phone refused the request";
    KeyStoreFull = 0x28, "CTAP2_ERR_KEY_STORE_FULL", "storage_full", "The phone has no room for another passkey";
    NotBusy = 0x29, "CTAP2_ERR_NOT_BUSY", "not_busy", "The phone had no operation to cancel (a CTAP 2.0 code)";
    NoOperationPending = 0x2A, "CTAP2_ERR_NO_OPERATION_PENDING", "no_operations", "The phone has no operation pending (a CTAP 2.0 code)";
    UnsupportedOption = 0x2B, "CTAP2_ERR_UNSUPPORTED_OPTION", "unsupported_option", "The phone does not support an option the request asked for";
    InvalidOption = 0x2C, "CTAP2_ERR_INVALID_OPTION", "invalid_option", "The phone rejected an option of the request";
    KeepaliveCancel = 0x2D, "CTAP2_ERR_KEEPALIVE_CANCEL", "cancelled", "The request was cancelled";
    NoCredentials = 0x2E, "CTAP2_ERR_NO_CREDENTIALS", "no_credentials", "The phone has no passkey for this site";
    UserActionTimeout = 0x2F, "CTAP2_ERR_USER_ACTION_TIMEOUT", "timeout", "The phone waited too long for you to act";
    NotAllowed = 0x30, "CTAP2_ERR_NOT_ALLOWED", "not_allowed", "The phone does not allow this request now";
    PinInvalid = 0x31, "CTAP2_ERR_PIN_INVALID", "pin_invalid", "The PIN was wrong";
    PinBlocked = 0x32, "CTAP2_ERR_PIN_BLOCKED", "pin_blocked", "The PIN is blocked after too many wrong tries";
    PinAuthInvalid = 0x33, "CTAP2_ERR_PIN_AUTH_INVALID", "pin_auth_invalid", "The authenticator rejected the PIN/UV authorisation";
    PinAuthBlocked = 0x34, "CTAP2_ERR_PIN_AUTH_BLOCKED", "pin_blocked", "PIN/UV authorisation is blocked until the authenticator restarts";
    PinNotSet = 0x35, "CTAP2_ERR_PIN_NOT_SET", "pin_not_set", "No PIN is set on the authenticator";
    PuatRequired = 0x36, "CTAP2_ERR_PUAT_REQUIRED", "pin_required", "The authenticator requires a PIN/UV authorisation token for this request";
    PinPolicyViolation = 0x37, "CTAP2_ERR_PIN_POLICY_VIOLATION", "pin_policy_violation", "The new PIN does not meet the authenticator's PIN policy";
    PinTokenExpired = 0x38, "CTAP2_ERR_PIN_TOKEN_EXPIRED", "pin_token_expired", "The PIN token expired (a CTAP 2.0 code)";
    RequestTooLarge = 0x39, "CTAP2_ERR_REQUEST_TOO_LARGE", "request_too_large", "The request is too large for the phone";
    ActionTimeout = 0x3A, "CTAP2_ERR_ACTION_TIMEOUT", "timeout", "The phone's operation timed out";
    UpRequired = 0x3B, "CTAP2_ERR_UP_REQUIRED", "presence_required", "The phone needs you to confirm you are there";
    UvBlocked = 0x3C, "CTAP2_ERR_UV_BLOCKED", "uv_blocked", "Fingerprint or face unlock is blocked on the phone";
    IntegrityFailure = 0x3D, "CTAP2_ERR_INTEGRITY_FAILURE", "integrity_failure", "The phone found a checksum that did not match";
    InvalidSubcommand = 0x3E, "CTAP2_ERR_INVALID_SUBCOMMAND", "invalid_subcommand", "The phone does not support this subcommand";
    UvInvalid = 0x3F, "CTAP2_ERR_UV_INVALID", "uv_invalid", "Fingerprint or face unlock did not succeed; try again";
    UnauthorizedPermission = 0x40, "CTAP2_ERR_UNAUTHORIZED_PERMISSION", "unauthorized_permission", "The request asked for a permission the authenticator does not grant";
    Other = 0x7F, "CTAP1_ERR_OTHER", "other", "The phone reported an unspecified error";
    SpecLast = 0xDF, "CTAP2_ERR_SPEC_LAST", "other", "The phone reported an unspecified error";
}

impl CtapStatus {
    /// True for `CTAP2_OK` (0x00).
    pub fn is_ok(self) -> bool {
        self == CtapStatus::Ok
    }
}

impl From<u8> for CtapStatus {
    fn from(byte: u8) -> Self {
        Self::from_u8(byte)
    }
}

impl From<CtapStatus> for u8 {
    fn from(status: CtapStatus) -> u8 {
        status.code()
    }
}

impl fmt::Display for CtapStatus {
    /// `The phone has no passkey for this site (CTAP2_ERR_NO_CREDENTIALS, 0x2e)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, 0x{:02x})",
            self.meaning(),
            self.name(),
            self.code()
        )
    }
}
